// SPDX-License-Identifier: GPL-2.0
/*
 * core_protect.c - users can never free (or swap out) the driver's pages
 *
 * hpage-map-profiles: default
 * hpage-map-tier: core
 *
 * Every attempt below must fail (or, for advice that may succeed, change
 * nothing); afterwards the data is intact -- read through the mapping,
 * again after MADV_DONTNEED forces a refault from the page cache, and
 * through a fresh open + mmap -- and every hugetlb counter is exactly what
 * it was after the load:
 *  - madvise(MADV_REMOVE) through a read-write mapping, a PROT_READ mapping
 *    of a read-write fd, a mapping mprotect()ed to read-only, an mlock()ed
 *    mapping, a mapping whose fd is closed, from a forked child, and through
 *    a read-only fd's mapping;
 *  - MADV_PAGEOUT / MADV_COLD / MADV_FREE (no swap, no freeing);
 *  - as root, through /proc/self/map_files/<range> (the internal hugetlbfs
 *    file): every open fails, for writing (O_RDWR, O_WRONLY, O_TRUNC,
 *    O_APPEND) and O_RDONLY too (EPERM); were an O_RDONLY open allowed,
 *    fallocate punch hole, growing fallocate, ftruncate (shrink and grow)
 *    and FS_IOC_SETFLAGS would fail and posix_fadvise(DONTNEED) change
 *    nothing; truncate() by path fails;
 *  - fallocate/ftruncate on the device fd itself fail;
 *  - MADV_DONTNEED succeeds and the data refaults intact (one minor fault
 *    per hugepage).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hpm_test.h"
#include "kselftest_harness.h"

#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

#define SEED 0x7007

FIXTURE(prot) {
	int fd;
	unsigned long ps, nr;
	size_t size;
	char *a;			/* full read-write mapping, pattern SEED */
	struct hpm_counters c0;		/* after load */
};

FIXTURE_SETUP(prot)
{
	self->fd = -1;
	self->a = MAP_FAILED;
	self->ps = hpm_page_size();
	self->nr = hpm_nr_pages();
	self->size = self->ps * self->nr;
	ASSERT_EQ(0, hpm_ensure_profile_loaded());
	ASSERT_EQ(0, hpm_counters_read(&self->c0));
	self->fd = hpm_open(O_RDWR);
	ASSERT_LE(0, self->fd);
	self->a = hpm_mmap(self->fd, 0, self->size, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, self->a);
	hpm_fill(self->a, self->size, 0, SEED);
}

FIXTURE_TEARDOWN(prot)
{
	if (self->a != MAP_FAILED)
		munmap(self->a, self->size);
	if (self->fd >= 0)
		close(self->fd);
}

/*
 * The data is intact everywhere and no counter moved: through the fixture's
 * mapping, after dropping its page tables (refault from the page cache), and
 * through a new open and mmap.
 */
#define EXPECT_INTACT(stage) do {						\
	long long __bad;							\
	char *__m;								\
	int __fd;								\
	__bad = hpm_check(self->a, self->size, 0, SEED);			\
	EXPECT_EQ(-1, __bad) TH_LOG("%s: mapping differs at %lld", stage, __bad); \
	EXPECT_EQ(0, madvise(self->a, self->size, MADV_DONTNEED));		\
	__bad = hpm_check(self->a, self->size, 0, SEED);			\
	EXPECT_EQ(-1, __bad) TH_LOG("%s: refault differs at %lld", stage, __bad); \
	__fd = hpm_open(O_RDONLY);						\
	ASSERT_LE(0, __fd);							\
	__m = hpm_mmap(__fd, 0, self->size, PROT_READ, MAP_SHARED);		\
	ASSERT_NE(MAP_FAILED, __m);						\
	__bad = hpm_check(__m, self->size, 0, SEED);				\
	EXPECT_EQ(-1, __bad) TH_LOG("%s: new mapping differs at %lld", stage, __bad); \
	munmap(__m, self->size);						\
	close(__fd);								\
	HPM_EXPECT_POOL(&self->c0, self->ps, 0, stage);				\
} while (0)

/* madvise(MADV_REMOVE) over the whole range, the first and the last page must fail. */
static int try_remove(struct __test_metadata *_metadata, char *m, size_t size, size_t ps,
		      const char *what)
{
	int ok = 0;
	const struct { size_t off, len; } r[] = {
		{ 0, size }, { 0, ps }, { size - ps, ps },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(r); i++) {
		errno = 0;
		if (madvise(m + r[i].off, r[i].len, MADV_REMOVE) == 0) {
			TH_LOG("%s: MADV_REMOVE [%#zx, +%#zx) succeeded", what, r[i].off,
			       r[i].len);
			ok++;
		} else {
			TH_LOG("%s: MADV_REMOVE [%#zx, +%#zx): %s", what, r[i].off, r[i].len,
			       strerror(errno));
		}
	}
	return ok;
}

TEST_F(prot, madv_remove_rw)
{
	HPM_SKIP_GUARD();
	EXPECT_EQ(0, try_remove(_metadata, self->a, self->size, self->ps, "rw mapping"));
	EXPECT_INTACT("MADV_REMOVE through a read-write mapping");
}

TEST_F(prot, madv_remove_prot_read)
{
	char *r;

	HPM_SKIP_GUARD();
	r = hpm_mmap(self->fd, 0, self->size, PROT_READ, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, r);
	EXPECT_EQ(0, try_remove(_metadata, r, self->size, self->ps, "PROT_READ mapping"));
	munmap(r, self->size);
	EXPECT_INTACT("MADV_REMOVE through a PROT_READ mapping");
}

TEST_F(prot, madv_remove_mprotect_read)
{
	HPM_SKIP_GUARD();
	ASSERT_EQ(0, mprotect(self->a, self->size, PROT_READ));
	EXPECT_EQ(0, try_remove(_metadata, self->a, self->size, self->ps, "mprotect(PROT_READ)"));
	ASSERT_EQ(0, mprotect(self->a, self->size, PROT_READ | PROT_WRITE));
	EXPECT_INTACT("MADV_REMOVE through an mprotect(PROT_READ) mapping");
}

TEST_F(prot, madv_remove_mlocked)
{
	char *m;

	HPM_SKIP_GUARD();
	m = hpm_mmap(self->fd, 0, self->size, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, m);
	ASSERT_EQ(0, mlock(m, self->size));
	EXPECT_EQ(0, try_remove(_metadata, m, self->size, self->ps, "mlocked"));
	ASSERT_EQ(0, munlock(m, self->size));
	EXPECT_EQ(0, try_remove(_metadata, m, self->size, self->ps, "munlocked"));
	munmap(m, self->size);
	EXPECT_INTACT("MADV_REMOVE through an mlocked mapping");
}

TEST_F(prot, madv_remove_fd_closed)
{
	char *m;
	int fd;

	HPM_SKIP_GUARD();
	fd = hpm_open(O_RDWR);
	ASSERT_LE(0, fd);
	m = hpm_mmap(fd, 0, self->size, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, m);
	close(fd);
	EXPECT_EQ(0, try_remove(_metadata, m, self->size, self->ps, "fd closed"));
	munmap(m, self->size);
	EXPECT_INTACT("MADV_REMOVE after close(fd)");
}

TEST_F(prot, madv_remove_forked_child)
{
	pid_t pid;

	HPM_SKIP_GUARD();
	pid = hpm_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int n = 0;

		close(self->fd);
		n += madvise(self->a, self->size, MADV_REMOVE) == 0;
		n += madvise(self->a, self->ps, MADV_REMOVE) == 0;
		_exit(n);
	}
	EXPECT_EQ(0, hpm_wait(pid)) TH_LOG("MADV_REMOVE calls that succeeded in the child");
	EXPECT_INTACT("MADV_REMOVE from a forked child");
}

TEST_F(prot, madv_remove_rdonly_fd)
{
	char *r;
	int fd;

	HPM_SKIP_GUARD();
	fd = hpm_open(O_RDONLY);
	ASSERT_LE(0, fd);
	r = hpm_mmap(fd, 0, self->size, PROT_READ, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, r);
	EXPECT_EQ(-1, madvise(r, self->size, MADV_REMOVE));
	EXPECT_EQ(EACCES, errno);
	munmap(r, self->size);
	close(fd);
	EXPECT_INTACT("MADV_REMOVE through a read-only fd");
}

/* Advice that may reclaim or swap: whatever it returns, nothing may change. */
TEST_F(prot, madv_pageout_cold_free)
{
	const int advice[] = { MADV_PAGEOUT, MADV_COLD, MADV_FREE };

	HPM_SKIP_GUARD();
	for (unsigned int i = 0; i < ARRAY_SIZE(advice); i++) {
		int ret = madvise(self->a, self->size, advice[i]);

		TH_LOG("madvise(%d) = %d (%s)", advice[i], ret, ret ? strerror(errno) : "ok");
	}
	EXPECT_INTACT("MADV_PAGEOUT/COLD/FREE");
}

TEST_F(prot, madv_dontneed_refaults)
{
	long f0, f1;

	HPM_SKIP_GUARD();
	EXPECT_EQ(0, madvise(self->a, self->size, MADV_DONTNEED));
	HPM_EXPECT_POOL(&self->c0, self->ps, 0, "MADV_DONTNEED");
	f0 = hpm_minflt();
	hpm_touch(self->a, self->size);
	f1 = hpm_minflt();
	EXPECT_EQ((long)self->nr, f1 - f0) TH_LOG("refaults after MADV_DONTNEED");
	/* hpm_touch wrote byte 0 of every 4 KiB: put the pattern's words back */
	hpm_fill(self->a, self->size, 0, SEED);
	EXPECT_EQ(0, madvise(self->a, self->ps, MADV_DONTNEED));
	EXPECT_INTACT("MADV_DONTNEED");
}

/* ------------------------------------------------------------------ */
/* root, through /proc/self/map_files                                  */

static void map_files_path(const void *a, size_t size, char *path, size_t len)
{
	unsigned long start = (unsigned long)a, end = start + (unsigned long)size;

	snprintf(path, len, "/proc/self/map_files/%lx-%lx", start, end);
}

/* Every way to free or grow the file through @fd; returns how many worked. */
static int try_file_ops(struct __test_metadata *_metadata, int fd, size_t size, size_t ps,
			const char *what)
{
	int worked = 0;
	unsigned int flags = 0;

#define TRY(desc, expr) do {						\
	errno = 0;							\
	if ((expr) == 0) {						\
		TH_LOG("%s: %s succeeded", what, desc);			\
		worked++;						\
	} else {							\
		TH_LOG("%s: %s: %s", what, desc, strerror(errno));	\
	}								\
} while (0)
	TRY("fallocate(PUNCH_HOLE) of one page",
	    fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, ps));
	TRY("fallocate(PUNCH_HOLE) of everything",
	    fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, size));
	TRY("growing fallocate", fallocate(fd, 0, size, ps));
	TRY("fallocate(KEEP_SIZE) past the end", fallocate(fd, FALLOC_FL_KEEP_SIZE, size, ps));
	TRY("ftruncate(0)", ftruncate(fd, 0));
	TRY("ftruncate(size - page)", ftruncate(fd, size - ps));
	TRY("growing ftruncate", ftruncate(fd, size + ps));
	TRY("FS_IOC_SETFLAGS(0)", ioctl(fd, FS_IOC_SETFLAGS, &flags));
#undef TRY
	return worked;
}

TEST_F(prot, map_files_open_for_write)
{
	const struct { int flags; const char *name; } modes[] = {
		{ O_RDWR, "O_RDWR" },
		{ O_WRONLY, "O_WRONLY" },
		{ O_RDONLY | O_TRUNC, "O_RDONLY|O_TRUNC" },
		{ O_WRONLY | O_APPEND, "O_WRONLY|O_APPEND" },
	};
	char path[128];

	HPM_SKIP_GUARD();
	map_files_path(self->a, self->size, path, sizeof(path));
	ASSERT_EQ(0, access(path, F_OK)) TH_LOG("%s: %s", path, strerror(errno));
	for (unsigned int i = 0; i < ARRAY_SIZE(modes); i++) {
		int fd = open(path, modes[i].flags | O_CLOEXEC);

		EXPECT_EQ(-1, fd) TH_LOG("%s opened with %s", path, modes[i].name);
		if (fd >= 0) {
			/* record what such an fd can do, for the report */
			EXPECT_EQ(0, try_file_ops(_metadata, fd, self->size, self->ps,
						  modes[i].name));
			close(fd);
		} else {
			TH_LOG("%s: %s", modes[i].name, strerror(errno));
		}
	}
	EXPECT_INTACT("opening map_files for writing");
}

TEST_F(prot, map_files_rdonly_ops)
{
	char path[128];
	int fd;

	HPM_SKIP_GUARD();
	map_files_path(self->a, self->size, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		TH_LOG("O_RDONLY open refused too (%s): nothing more to try", strerror(errno));
	} else {
		EXPECT_EQ(0, try_file_ops(_metadata, fd, self->size, self->ps, "O_RDONLY"));
		EXPECT_EQ(0, posix_fadvise(fd, 0, self->size, POSIX_FADV_DONTNEED));
		close(fd);
	}
	EXPECT_INTACT("file operations through an O_RDONLY map_files fd");
}

/*
 * No new open of the internal file at all, not even O_RDONLY: such a file
 * maps the pool past the driver (no module reference, no count), and
 * MAP_PRIVATE through it draws copy-on-write pages from the system's pool.
 */
TEST_F(prot, map_files_open_refused)
{
	char path[128];
	int fd;

	HPM_SKIP_GUARD();
	map_files_path(self->a, self->size, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	EXPECT_EQ(-1, fd) TH_LOG("%s opened O_RDONLY", path);
	if (fd < 0) {
		EXPECT_EQ(EPERM, errno) TH_LOG("%s: %s", path, strerror(errno));
	} else {
		/* what the fd gives, for the report */
		char *p = mmap(NULL, self->ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
		struct hpm_counters c;

		TH_LOG("MAP_PRIVATE through it: %s",
		       p == MAP_FAILED ? strerror(errno) : "mapped");
		if (p != MAP_FAILED) {
			const struct hpm_pool *pl;

			p[0] ^= 1;
			if (!hpm_counters_read(&c) && (pl = hpm_pool_of(&c, self->ps)))
				TH_LOG("a private write: free pages %lld, reserved %lld",
				       pl->free, pl->resv);
			munmap(p, self->ps);
		}
		close(fd);
	}
	EXPECT_INTACT("opening map_files O_RDONLY");
}

TEST_F(prot, map_files_truncate_path)
{
	char path[128];

	HPM_SKIP_GUARD();
	map_files_path(self->a, self->size, path, sizeof(path));
	EXPECT_EQ(-1, truncate(path, 0));
	TH_LOG("truncate(0): %s", strerror(errno));
	EXPECT_EQ(-1, truncate(path, self->size - self->ps));
	EXPECT_EQ(-1, truncate(path, self->size + self->ps));
	EXPECT_INTACT("truncate() of the map_files path");
}

TEST_F(prot, device_fd_file_ops)
{
	HPM_SKIP_GUARD();
	EXPECT_EQ(-1, fallocate(self->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
				self->ps));
	EXPECT_EQ(-1, fallocate(self->fd, 0, 0, self->size + self->ps));
	EXPECT_EQ(-1, ftruncate(self->fd, 0));
	EXPECT_EQ(-1, ftruncate(self->fd, self->size + self->ps));
	posix_fadvise(self->fd, 0, self->size, POSIX_FADV_DONTNEED);
	EXPECT_INTACT("fallocate/ftruncate/fadvise on the device fd");
}

TEST_HARNESS_MAIN
