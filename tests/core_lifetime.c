// SPDX-License-Identifier: GPL-2.0
/*
 * core_lifetime.c - when hpage_map may be unloaded
 *
 * hpage-map-profiles: default
 * hpage-map-tier: core
 *
 * delete_module("hpage_map", O_NONBLOCK) (the raw syscall, to see the errno)
 * must be refused -- EAGAIN/EWOULDBLOCK or EBUSY -- while anything can still
 * reach the module: an open fd (also one a forked child inherited after the
 * parent closed its own), a mapping whose fd was closed, a mapping a forked
 * child inherited after the parent unmapped, the pieces left by a partial
 * munmap, by an mprotect split or by a shrinking mremap, and a mapping moved
 * by mremap.  After each refusal the module is still live and the data
 * intact.  Once the last holder goes, the unload succeeds and every hugetlb
 * counter is exactly what it was before the load.
 *
 * stress: for a few seconds, worker processes (several threads each, forking
 * children, some exiting with everything still mapped) open, map, touch,
 * split, move, populate, drop and unmap, checking their data, while a
 * thread keeps trying to unload (always refused: a guard fd is open) and
 * reads the sysfs mappings count.  Afterwards: no errors, mappings == 0,
 * counters exact, the unload succeeds and gives every page back.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "hpm_test.h"
#include "kselftest_harness.h"

FIXTURE(life) {
	unsigned long ps, nr;
	size_t size;
	struct hpm_counters c0;		/* before the load */
};

FIXTURE_SETUP(life)
{
	char params[128];

	self->ps = hpm_page_size();
	self->nr = hpm_nr_pages();
	self->size = self->ps * self->nr;
	ASSERT_LE(3, self->nr) TH_LOG("these tests split 3-page mappings");
	ASSERT_EQ(0, hpm_ensure_unloaded());
	ASSERT_EQ(0, hpm_counters_read(&self->c0));
	snprintf(params, sizeof(params), "nr_pages=%lu page_size=%s", self->nr,
		 hpm_page_size_str());
	ASSERT_EQ(0, hpm_modprobe(params));
	ASSERT_TRUE(hpm_module_loaded());
}

FIXTURE_TEARDOWN(life)
{
	/* PID 1 unloads after the binary anyway; don't leave it for the next test */
	hpm_ensure_unloaded();
}

/* Refused, and the module still works. */
#define EXPECT_RMMOD_REFUSED(stage) do {					\
	struct hpage_map_info __info;						\
	int __ret = hpm_rmmod(), __fd;						\
	EXPECT_TRUE(hpm_busy_errno(__ret))					\
		TH_LOG("%s: delete_module = %d (%s), expected EAGAIN or EBUSY",	\
		       stage, __ret, strerror(-__ret));				\
	ASSERT_TRUE(hpm_module_loaded()) TH_LOG("%s: module gone", stage);	\
	__fd = hpm_open(O_RDONLY);						\
	ASSERT_LE(0, __fd) TH_LOG("%s: open after refused unload", stage);	\
	EXPECT_EQ(0, hpm_get_info(__fd, &__info));				\
	close(__fd);								\
} while (0)

/* Allowed, and every page is back. */
#define EXPECT_RMMOD_OK(stage) do {						\
	int __ret = hpm_rmmod();						\
	ASSERT_EQ(0, __ret) TH_LOG("%s: delete_module: %s", stage, strerror(-__ret)); \
	EXPECT_FALSE(hpm_module_loaded());					\
	EXPECT_NE(0, access(HPAGE_MAP_DEVICE, F_OK));				\
	HPM_EXPECT_POOL(&self->c0, self->ps, 0, stage);			\
} while (0)

TEST_F(life, unload_when_unused)
{
	char *a;
	int fd;

	HPM_SKIP_GUARD();
	fd = hpm_open(O_RDWR);
	ASSERT_LE(0, fd);
	a = hpm_mmap(fd, 0, self->size, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, a);
	hpm_touch(a, self->size);
	ASSERT_EQ(0, munmap(a, self->size));
	close(fd);
	EXPECT_RMMOD_OK("unload after open, mmap, munmap, close");
}

TEST_F(life, refused_while_fd_open)
{
	int fd, rofd;

	HPM_SKIP_GUARD();
	fd = hpm_open(O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_RMMOD_REFUSED("O_RDWR fd open");
	EXPECT_RMMOD_REFUSED("O_RDWR fd open, second try");
	rofd = hpm_open(O_RDONLY);
	ASSERT_LE(0, rofd);
	close(fd);
	EXPECT_RMMOD_REFUSED("O_RDONLY fd open");
	close(rofd);
	EXPECT_RMMOD_OK("last fd closed");
}

TEST_F(life, refused_while_child_holds_fd)
{
	int to_child[2];
	pid_t pid;
	char c;
	int fd;

	HPM_SKIP_GUARD();
	fd = open(HPAGE_MAP_DEVICE, O_RDWR);	/* no O_CLOEXEC: not that it matters */
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pipe(to_child));
	pid = hpm_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(to_child[1]);
		_exit(read(to_child[0], &c, 1) == 1 ? 0 : 1);
	}
	close(to_child[0]);
	close(fd);
	EXPECT_RMMOD_REFUSED("fd held by a forked child only");
	ASSERT_EQ(1, write(to_child[1], "x", 1));
	EXPECT_EQ(0, hpm_wait(pid));
	close(to_child[1]);
	EXPECT_RMMOD_OK("child exited");
}

TEST_F(life, refused_while_mapped_fd_closed)
{
	char *a;
	int fd;

	HPM_SKIP_GUARD();
	fd = hpm_open(O_RDWR);
	ASSERT_LE(0, fd);
	a = hpm_mmap(fd, 0, self->size, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, a);
	close(fd);
	hpm_fill(a, self->size, 0, 1);
	EXPECT_RMMOD_REFUSED("mapping, fd closed");
	EXPECT_EQ(-1, hpm_check(a, self->size, 0, 1));
	hpm_fill(a, self->size, 0, 2);		/* still faults and writes fine */
	EXPECT_EQ(-1, hpm_check(a, self->size, 0, 2));
	EXPECT_RMMOD_REFUSED("mapping, fd closed, after faults");
	ASSERT_EQ(0, munmap(a, self->size));
	EXPECT_RMMOD_OK("munmap");
}

TEST_F(life, refused_while_child_holds_mapping)
{
	int to_child[2], to_parent[2];
	pid_t pid;
	char c, *a;
	int fd;

	HPM_SKIP_GUARD();
	fd = hpm_open(O_RDWR);
	ASSERT_LE(0, fd);
	a = hpm_mmap(fd, 0, self->size, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, a);
	hpm_fill(a, self->size, 0, 3);
	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));
	pid = hpm_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(fd);
		close(to_child[1]);
		close(to_parent[0]);
		if (write(to_parent[1], "r", 1) != 1 || read(to_child[0], &c, 1) != 1)
			_exit(1);
		if (hpm_check(a, self->size, 0, 3) != -1)
			_exit(2);
		hpm_fill(a, self->size, 0, 4);
		if (write(to_parent[1], "w", 1) != 1 || read(to_child[0], &c, 1) != 1)
			_exit(3);
		_exit(0);
	}
	close(to_child[0]);
	close(to_parent[1]);
	ASSERT_EQ(1, read(to_parent[0], &c, 1));
	ASSERT_EQ(0, munmap(a, self->size));
	close(fd);
	EXPECT_RMMOD_REFUSED("mapping inherited by a child, parent unmapped");
	ASSERT_EQ(1, write(to_child[1], "g", 1));
	ASSERT_EQ(1, read(to_parent[0], &c, 1));	/* child checked and wrote */
	EXPECT_RMMOD_REFUSED("child's mapping after it faulted");
	ASSERT_EQ(1, write(to_child[1], "g", 1));
	EXPECT_EQ(0, hpm_wait(pid));
	close(to_child[1]);
	close(to_parent[0]);

	/* the child's data is in the buffer (checked before the unload) */
	fd = hpm_open(O_RDONLY);
	ASSERT_LE(0, fd);
	a = hpm_mmap(fd, 0, self->size, PROT_READ, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, a);
	EXPECT_EQ(-1, hpm_check(a, self->size, 0, 4));
	munmap(a, self->size);
	close(fd);
	EXPECT_RMMOD_OK("child exited");
}

TEST_F(life, refused_after_partial_munmap)
{
	size_t ps = self->ps;
	char *a;
	int fd;

	HPM_SKIP_GUARD();
	fd = hpm_open(O_RDWR);
	ASSERT_LE(0, fd);
	a = hpm_mmap(fd, 0, 3 * ps, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, a);
	close(fd);
	hpm_fill(a, 3 * ps, 0, 5);
	ASSERT_EQ(0, munmap(a + ps, ps));		/* two pieces */
	EXPECT_EQ(2, hpm_class_mappings());
	EXPECT_RMMOD_REFUSED("two pieces of a split mapping");
	ASSERT_EQ(0, munmap(a, ps));			/* one piece left */
	EXPECT_EQ(1, hpm_class_mappings());
	EXPECT_RMMOD_REFUSED("last piece of a split mapping");
	EXPECT_EQ(-1, hpm_check(a + 2 * ps, ps, 2 * ps, 5));
	ASSERT_EQ(0, munmap(a + 2 * ps, ps));
	EXPECT_EQ(0, hpm_class_mappings());
	EXPECT_RMMOD_OK("last piece unmapped");
}

TEST_F(life, refused_after_mprotect_split)
{
	size_t ps = self->ps;
	char *a;
	int fd;

	HPM_SKIP_GUARD();
	fd = hpm_open(O_RDWR);
	ASSERT_LE(0, fd);
	a = hpm_mmap(fd, 0, 3 * ps, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, a);
	close(fd);
	ASSERT_EQ(0, mprotect(a + ps, ps, PROT_READ));	/* three VMAs */
	EXPECT_EQ(3, hpm_class_mappings());
	EXPECT_RMMOD_REFUSED("mapping split in three by mprotect");
	ASSERT_EQ(0, mprotect(a + ps, ps, PROT_READ | PROT_WRITE));	/* may merge back */
	EXPECT_RMMOD_REFUSED("mapping after mprotect back");
	ASSERT_EQ(0, munmap(a, 3 * ps));
	EXPECT_EQ(0, hpm_class_mappings());
	EXPECT_RMMOD_OK("all pieces unmapped at once");
}

TEST_F(life, refused_after_mremap_move)
{
	char *a, *dst;
	int fd;

	HPM_SKIP_GUARD();
	fd = hpm_open(O_RDWR);
	ASSERT_LE(0, fd);
	a = hpm_mmap(fd, 0, self->size, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, a);
	close(fd);
	hpm_fill(a, self->size, 0, 6);
	dst = hpm_reserve_aligned(self->size, self->ps);
	ASSERT_NE(MAP_FAILED, dst);
	ASSERT_EQ(dst, mremap(a, self->size, self->size, MREMAP_MAYMOVE | MREMAP_FIXED, dst));
	EXPECT_EQ(1, hpm_class_mappings());
	EXPECT_RMMOD_REFUSED("moved mapping");
	EXPECT_EQ(-1, hpm_check(dst, self->size, 0, 6));
	ASSERT_EQ(0, munmap(dst, self->size));
	EXPECT_RMMOD_OK("moved mapping unmapped");
}

TEST_F(life, refused_after_mremap_shrink)
{
	size_t ps = self->ps;
	char *a;
	int fd;

	HPM_SKIP_GUARD();
	fd = hpm_open(O_RDWR);
	ASSERT_LE(0, fd);
	a = hpm_mmap(fd, 0, 3 * ps, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, a);
	close(fd);
	ASSERT_EQ(a, mremap(a, 3 * ps, ps, 0));
	EXPECT_RMMOD_REFUSED("mapping shrunk by mremap");
	ASSERT_EQ(0, munmap(a, ps));
	EXPECT_RMMOD_OK("shrunk mapping unmapped");
}

/* ------------------------------------------------------------------ */
/* stress                                                              */

#define NPROC		4	/* worker processes alive at once */
#define NTHREAD		3	/* threads per worker */
#define STRESS_SECONDS	4	/* at least, and until STRESS_MIN_OPS ran */
#define STRESS_MIN_OPS	200	/* the debug kernel is ~10x slower ... */
#define STRESS_MAX_SECONDS 60	/* ... but not endlessly */

struct shared {
	atomic_int stop;
	atomic_long ops, forks, workers, errors, rmmod_tries;
	char err[256];
};

struct worker {
	struct shared *sh;
	unsigned long ps, nr;
	unsigned int slot;		/* unique among live threads */
	atomic_int *stop;		/* the worker's own stop flag */
	unsigned int seed;
};

static void stress_fail(struct shared *sh, const char *fmt, ...)
{
	if (atomic_fetch_add(&sh->errors, 1) == 0) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(sh->err, sizeof(sh->err), fmt, ap);
		va_end(ap);
	}
}

/*
 * Offset of a thread's slot: spread over the pages, one 4 KiB block each,
 * in its middle (hpm_touch() writes byte 0 of every 4 KiB).
 */
static uint64_t slot_off(const struct worker *w)
{
	return (uint64_t)(w->slot % w->nr) * w->ps + (uint64_t)(w->slot / w->nr) * 4096 + 2048;
}

/*
 * Check the slot holds what this thread last wrote (through another
 * mapping) and write the next value.  @m maps buffer offset @base, @len.
 */
static void slot_step(struct worker *w, char *m, uint64_t base, size_t len,
		      uint64_t *last, const char *op)
{
	uint64_t off = slot_off(w);
	volatile uint64_t *p;

	if (off < base || off >= base + len)
		return;
	p = (volatile uint64_t *)(m + (off - base));
	if (*last && *p != *last)
		stress_fail(w->sh, "%s: slot %u holds %#llx, wrote %#llx", op, w->slot,
			    (unsigned long long)*p, (unsigned long long)*last);
	*last = ((uint64_t)w->slot << 40) | ((*last + 1) & 0xffffffffffULL);
	*p = *last;
}

static void *stress_thread(void *arg)
{
	struct worker *w = arg;
	struct shared *sh = w->sh;
	size_t ps = w->ps, size = w->nr * w->ps;
	uint64_t last = 0;

	while (!atomic_load(&sh->stop) && !atomic_load(w->stop)) {
		unsigned int op = rand_r(&w->seed) % 6;
		unsigned long k = rand_r(&w->seed) % w->nr;
		struct hpage_map_info info;
		char *m, *t;
		int fd = hpm_open(O_RDWR);

		if (fd < 0) {
			stress_fail(sh, "open: %s", strerror(errno));
			break;
		}
		switch (op) {
		case 0:	/* whole buffer, fd kept open */
			if (hpm_get_info(fd, &info) || info.size != size)
				stress_fail(sh, "GET_INFO");
			m = hpm_mmap(fd, 0, size, PROT_READ | PROT_WRITE, MAP_SHARED);
			if (m == MAP_FAILED)
				goto map_failed;
			slot_step(w, m, 0, size, &last, "full");
			munmap(m, size);
			close(fd);
			break;
		case 1:	/* sub-range, fd closed first */
			m = hpm_mmap(fd, k * ps, (w->nr - k) * ps, PROT_READ | PROT_WRITE,
				     MAP_SHARED);
			close(fd);
			if (m == MAP_FAILED)
				goto map_failed;
			hpm_touch(m, ps);
			slot_step(w, m, k * ps, (w->nr - k) * ps, &last, "subrange");
			munmap(m, (w->nr - k) * ps);
			break;
		case 2: {	/* fork: the child checks the slot through the inherited mapping */
			uint64_t expect = last;
			pid_t pid;

			m = hpm_mmap(fd, 0, size, PROT_READ | PROT_WRITE, MAP_SHARED);
			close(fd);
			if (m == MAP_FAILED)
				goto map_failed;
			slot_step(w, m, 0, size, &last, "pre-fork");
			expect = last;
			pid = fork();
			if (pid == 0) {
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				_exit(*(volatile uint64_t *)(m + slot_off(w)) == expect ? 0 : 1);
			}
			if (pid < 0) {
				stress_fail(sh, "fork: %s", strerror(errno));
			} else {
				atomic_fetch_add(&sh->forks, 1);
				if (rand_r(&w->seed) & 1) {
					munmap(m, size);	/* the child keeps its copy */
					m = MAP_FAILED;
				}
				if (hpm_wait(pid) != 0)
					stress_fail(sh, "forked child saw another slot value");
			}
			if (m != MAP_FAILED)
				munmap(m, size);
			break;
		}
		case 3:	/* 3 pages (or fewer), split by munmap and mprotect */
			if (k + 3 > w->nr)
				k = w->nr - 3;
			m = hpm_mmap(fd, k * ps, 3 * ps, PROT_READ | PROT_WRITE, MAP_SHARED);
			close(fd);
			if (m == MAP_FAILED)
				goto map_failed;
			hpm_touch(m, 3 * ps);
			if (munmap(m + ps, ps) || mprotect(m, ps, PROT_READ))
				stress_fail(sh, "split: %s", strerror(errno));
			slot_step(w, m + 2 * ps, (k + 2) * ps, ps, &last, "split");
			munmap(m, 3 * ps);
			break;
		case 4:	/* mremap move */
			m = hpm_mmap(fd, 0, size, PROT_READ | PROT_WRITE, MAP_SHARED);
			close(fd);
			if (m == MAP_FAILED)
				goto map_failed;
			t = hpm_reserve_aligned(size, ps);
			if (t == MAP_FAILED ||
			    mremap(m, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, t) != t) {
				stress_fail(sh, "mremap: %s", strerror(errno));
				munmap(m, size);
				if (t != MAP_FAILED)
					munmap(t, size);
				break;
			}
			slot_step(w, t, 0, size, &last, "moved");
			munmap(t, size);
			break;
		default:	/* populate, drop, refault */
			m = hpm_mmap(fd, 0, size, PROT_READ | PROT_WRITE,
				     MAP_SHARED | MAP_POPULATE);
			close(fd);
			if (m == MAP_FAILED)
				goto map_failed;
			if (madvise(m, size, MADV_DONTNEED))
				stress_fail(sh, "MADV_DONTNEED: %s", strerror(errno));
			slot_step(w, m, 0, size, &last, "refault");
			munmap(m, size);
			break;
		}
		atomic_fetch_add(&sh->ops, 1);
		continue;
map_failed:
		stress_fail(sh, "mmap op %u: %s", op, strerror(errno));
		if (op == 0)
			close(fd);
		break;
	}
	return NULL;
}

/* A worker process: NTHREAD threads for a while, then a clean or an abrupt exit. */
static void stress_worker(struct shared *sh, unsigned long ps, unsigned long nr,
			  unsigned int index, unsigned int seed)
{
	struct worker w[NTHREAD];
	pthread_t th[NTHREAD];
	atomic_int stop = 0;
	struct timespec life;

	for (int i = 0; i < NTHREAD; i++) {
		w[i] = (struct worker){ .sh = sh, .ps = ps, .nr = nr,
					.slot = index * NTHREAD + i, .stop = &stop,
					.seed = seed * 7919 + i };
		if (pthread_create(&th[i], NULL, stress_thread, &w[i])) {
			stress_fail(sh, "pthread_create");
			_exit(1);
		}
	}
	life.tv_sec = 0;
	life.tv_nsec = (200 + rand_r(&seed) % 600) * 1000000L;
	nanosleep(&life, NULL);
	if (rand_r(&seed) % 3 == 0)
		_exit(0);	/* with whatever the threads have open and mapped */
	atomic_store(&stop, 1);
	for (int i = 0; i < NTHREAD; i++)
		pthread_join(th[i], NULL);
	_exit(0);
}

static void *rmmod_thread(void *arg)
{
	struct shared *sh = arg;

	while (!atomic_load(&sh->stop)) {
		int ret = hpm_rmmod();
		long long maps = hpm_class_mappings();

		atomic_fetch_add(&sh->rmmod_tries, 1);
		if (!hpm_busy_errno(ret))
			stress_fail(sh, "delete_module while in use: %d", ret);
		if (maps < 0)
			stress_fail(sh, "reading mappings failed");
		usleep(2000);
	}
	return NULL;
}

TEST_F_TIMEOUT(life, stress, 90)
{
	struct shared *sh;
	pid_t pids[NPROC];
	pthread_t rt;
	struct timespec t0, now;
	unsigned int spawned = 0;
	int guard, status;
	pid_t pid;

	HPM_SKIP_GUARD();
	ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1));	/* orphans come back here */
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	memset(sh, 0, sizeof(*sh));
	guard = hpm_open(O_RDONLY);
	ASSERT_LE(0, guard);
	ASSERT_EQ(0, pthread_create(&rt, NULL, rmmod_thread, sh));

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < NPROC; i++)
		pids[i] = -1;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= STRESS_SECONDS &&
		    (atomic_load(&sh->ops) >= STRESS_MIN_OPS ||
		     now.tv_sec - t0.tv_sec >= STRESS_MAX_SECONDS))
			break;
		for (int i = 0; i < NPROC; i++) {
			if (pids[i] > 0 && waitpid(pids[i], &status, WNOHANG) == pids[i]) {
				if (!WIFEXITED(status) || WEXITSTATUS(status))
					stress_fail(sh, "worker status %#x", status);
				pids[i] = -1;
			}
			if (pids[i] < 0) {
				pids[i] = hpm_fork();
				if (pids[i] == 0)
					stress_worker(sh, self->ps, self->nr, i, spawned * 31 + i);
				ASSERT_LT(0, pids[i]);
				spawned++;
				atomic_fetch_add(&sh->workers, 1);
			}
		}
		usleep(20000);
	}
	atomic_store(&sh->stop, 1);
	pthread_join(rt, NULL);
	/* every descendant, orphaned grandchildren included */
	while ((pid = waitpid(-1, &status, 0)) > 0) {
		for (int i = 0; i < NPROC; i++) {
			if (pid == pids[i] && (!WIFEXITED(status) || WEXITSTATUS(status)))
				stress_fail(sh, "worker status %#x", status);
		}
	}

	TH_LOG("%ld ops, %ld forks, %ld workers, %ld refused unloads", atomic_load(&sh->ops),
	       atomic_load(&sh->forks), atomic_load(&sh->workers),
	       atomic_load(&sh->rmmod_tries));
	EXPECT_EQ(0, atomic_load(&sh->errors)) TH_LOG("first error: %s", sh->err);
	EXPECT_LT(100, atomic_load(&sh->ops)) TH_LOG("the stress hardly ran");
	EXPECT_LT(10, atomic_load(&sh->rmmod_tries));
	EXPECT_EQ(0, hpm_class_mappings());
	HPM_EXPECT_POOL(&self->c0, self->ps, self->nr, "stress");
	EXPECT_RMMOD_REFUSED("guard fd after the stress");
	close(guard);
	EXPECT_RMMOD_OK("after the stress");
	munmap(sh, sizeof(*sh));
}

TEST_HARNESS_MAIN
