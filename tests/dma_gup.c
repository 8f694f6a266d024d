// SPDX-License-Identifier: GPL-2.0
/*
 * dma_gup.c - O_DIRECT and io_uring fixed buffers into /dev/hpage_map (issue 4, part 3)
 *
 * hpage-map-profiles: disk
 * hpage-map-libs: -luring
 *
 * The disk profile attaches /dev/vda (64 MiB) whose every 8-byte
 * little-endian word at byte offset o holds o.  Reads use disk bytes
 * [0, 32 MiB); each write test writes its own region above 32 MiB (36,
 * 40-47, 48-54 MiB), so the order of the tests does not matter.
 *
 * Checks, each on a fresh load of the module with the whole buffer mapped:
 *  - O_DIRECT pread() from the disk into the mapping at a huge-page-aligned
 *    offset (the whole buffer) and at offsets inside a huge page (4 KiB
 *    aligned, crossing into the next huge page): every word holds the
 *    pattern, seen through a second, independent mapping too, and the bytes
 *    around the target are untouched; preadv() with iovecs scattered over
 *    several huge pages;
 *  - O_DIRECT pwrite() from the mapping (aligned and unaligned offsets) to
 *    the disk, read back with O_DIRECT into an ordinary buffer: the data;
 *    from a PROT_READ mapping too, while an O_DIRECT read into one fails
 *    with EFAULT;
 *  - io_uring with the mapping registered as fixed buffers
 *    (io_uring_register_buffers: the whole mapping, and an unaligned
 *    sub-range): IORING_OP_READ_FIXED and IORING_OP_WRITE_FIXED at aligned
 *    and unaligned offsets;
 *  - after all I/O and unmapping (and unregistering): the hugetlb counters
 *    exact while loaded (nr_pages out of the pool, nothing reserved or
 *    surplus), rmmod succeeds and every page is back in the pool, i.e.
 *    every pin was released; and when the ring is torn down without
 *    unregistering, the pages come back once io_uring lets go (polled).
 */
#include "hpm_test.h"

#include <sys/uio.h>
#include <liburing.h>

#define SMALL_PAGE	4096UL
#define MIB		(1UL << 20)
#define DISK		"/dev/vda"
#define DISK_SIZE	(64 * MIB)
#define GARBAGE		0xA5

/* ------------------------------------------------------------------ */
/* helpers                                                             */

/* -1 if every word of @p holds its disk offset (from @disk_off), else the first bad byte. */
static long long check_disk_pattern(const void *p, size_t len, uint64_t disk_off)
{
	const volatile uint64_t *w = p;

	for (size_t i = 0; i < len / 8; i++)
		if (w[i] != disk_off + i * 8)
			return (long long)i * 8;
	return -1;
}

/* The pattern write tests put on the disk: not what the disk held. */
static uint64_t written_word(uint64_t disk_off)
{
	return ~disk_off ^ 0x5757000000000000ULL;
}

static void fill_written(void *p, size_t len, uint64_t disk_off)
{
	uint64_t *w = p;

	for (size_t i = 0; i < len / 8; i++)
		w[i] = written_word(disk_off + i * 8);
}

static long long check_written(const void *p, size_t len, uint64_t disk_off)
{
	const volatile uint64_t *w = p;

	for (size_t i = 0; i < len / 8; i++)
		if (w[i] != written_word(disk_off + i * 8))
			return (long long)i * 8;
	return -1;
}

/* -1 if [p, p + len) is all GARBAGE bytes, else the first other one. */
static long long check_garbage(const void *p, size_t len)
{
	const volatile unsigned char *c = p;

	for (size_t i = 0; i < len; i++)
		if (c[i] != GARBAGE)
			return (long long)i;
	return -1;
}

static bool disk_profile(void)
{
	const char *p = getenv("HPM_PROFILE");

	return p && !strcmp(p, "disk");
}

static int open_disk(void)
{
	int fd = -1;

	/* virtio_blk is loaded by PID 1; the node can lag a little */
	for (int i = 0; i < 200; i++) {
		fd = open(DISK, O_RDWR | O_DIRECT | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT)
			break;
		usleep(10000);
	}
	return fd;
}

/* Read the disk with O_DIRECT into an ordinary aligned buffer. */
static int read_back(int disk, void **buf, size_t len, uint64_t off)
{
	if (posix_memalign(buf, SMALL_PAGE, len))
		return -ENOMEM;
	if (pread(disk, *buf, len, (off_t)off) != (ssize_t)len) {
		int err = errno ? errno : EIO;

		free(*buf);
		*buf = NULL;
		return -err;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* the fixture: a fresh load, the buffer mapped twice, the disk open   */

FIXTURE(gup) {
	struct hpm_counters base;
	unsigned long ps, nr;
	size_t size;
	int fd, disk;
	char *map, *map2;
	bool finished;
};

FIXTURE_SETUP(gup)
{
	struct stat st;

	self->fd = -1;
	self->disk = -1;
	self->map = self->map2 = MAP_FAILED;
	if (!disk_profile() && access(DISK, F_OK))
		SKIP(return, "no %s: disk profile only (HPM_PROFILE=%s)", DISK,
		     getenv("HPM_PROFILE") ?: "unset");
	self->disk = open_disk();
	ASSERT_LE(0, self->disk) TH_LOG("%s: %s", DISK, strerror(errno));
	ASSERT_EQ(0, fstat(self->disk, &st));
	ASSERT_TRUE(S_ISBLK(st.st_mode));
	ASSERT_EQ((off_t)DISK_SIZE, lseek(self->disk, 0, SEEK_END));

	ASSERT_EQ(0, hpm_ensure_unloaded());
	ASSERT_EQ(0, hpm_counters_read(&self->base));
	HPM_SETUP_PROFILE_FD();
	ASSERT_LE(8, self->nr);
	ASSERT_GE(16 * MIB, self->size) TH_LOG("the disk layout assumes <= 16 MiB");
	self->map = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	self->map2 = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED,
			  self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->map2);
	memset(self->map, GARBAGE, self->size);
	HPM_EXPECT_POOL(&self->base, self->ps, self->nr, "load");
}

FIXTURE_TEARDOWN(gup)
{
	if (self->map != MAP_FAILED)
		munmap(self->map, self->size);
	if (self->map2 != MAP_FAILED)
		munmap(self->map2, self->size);
	if (self->fd >= 0)
		close(self->fd);
	if (self->disk >= 0)
		close(self->disk);
}

/*
 * End of every test: counters exact while still loaded and mapped, then
 * unmap and close everything; rmmod works and every page is back.
 */
static void unmap_and_unload(struct __test_metadata *_metadata,
			     FIXTURE_DATA(gup) *self)
{
	HPM_EXPECT_POOL(&self->base, self->ps, self->nr, "the I/O");
	munmap(self->map, self->size);
	munmap(self->map2, self->size);
	self->map = self->map2 = MAP_FAILED;
	close(self->fd);
	self->fd = -1;
	EXPECT_EQ(0, hpm_rmmod());
	EXPECT_FALSE(hpm_module_loaded());
	HPM_EXPECT_POOL(&self->base, self->ps, 0, "unmap and rmmod");
}

/* O_DIRECT read of @len disk bytes at @disk_off into buffer offset @off. */
#define EXPECT_DIRECT_READ(self, off, len, disk_off) do {			\
	ssize_t __n = pread((self)->disk, (self)->map + (off), (len),		\
			    (off_t)(disk_off));					\
	long long __bad;							\
	EXPECT_EQ((ssize_t)(len), __n)						\
		TH_LOG("pread into buffer offset %#lx: %s", (unsigned long)(off), \
		       __n < 0 ? strerror(errno) : "short");			\
	__bad = check_disk_pattern((self)->map2 + (off), (len), (disk_off));	\
	EXPECT_EQ(-1, __bad)							\
		TH_LOG("buffer offset %#lx + %#llx: %#llx, expected %#llx",	\
		       (unsigned long)(off), __bad,				\
		       __bad < 0 ? 0ULL : (unsigned long long)			\
		       *(uint64_t *)((self)->map2 + (off) + __bad),		\
		       (unsigned long long)((disk_off) + __bad));		\
} while (0)

/* The whole buffer from a huge-page-aligned offset (0). */
TEST_F(gup, odirect_read_aligned)
{
	HPM_SKIP_GUARD();
	EXPECT_DIRECT_READ(self, 0, self->size, 4 * MIB);
	/* one huge page at an aligned offset, from another disk place */
	memset(self->map + 2 * self->ps, GARBAGE, self->ps);
	EXPECT_DIRECT_READ(self, 2 * self->ps, self->ps, 24 * MIB);
	EXPECT_EQ(-1, check_disk_pattern(self->map2 + self->ps, self->ps,
					 4 * MIB + self->ps));
	unmap_and_unload(_metadata, self);
}

/* Offsets inside a huge page, crossing into the next one. */
TEST_F(gup, odirect_read_unaligned)
{
	unsigned long off1 = self->ps + 3 * SMALL_PAGE;
	unsigned long off2 = 4 * self->ps - SMALL_PAGE;

	HPM_SKIP_GUARD();
	EXPECT_DIRECT_READ(self, off1, self->ps, 5 * MIB + SMALL_PAGE);
	/* the bytes just around the target are untouched */
	EXPECT_EQ(-1, check_garbage(self->map2 + off1 - SMALL_PAGE, SMALL_PAGE));
	EXPECT_EQ(-1, check_garbage(self->map2 + off1 + self->ps, SMALL_PAGE));

	/* 8 KiB straddling a huge page boundary exactly */
	EXPECT_DIRECT_READ(self, off2, 2 * SMALL_PAGE, 17 * MIB + 5 * SMALL_PAGE);
	EXPECT_EQ(-1, check_garbage(self->map2 + off2 - SMALL_PAGE, SMALL_PAGE));
	EXPECT_EQ(-1, check_garbage(self->map2 + off2 + 2 * SMALL_PAGE, SMALL_PAGE));

	/* the last 4 KiB of the buffer */
	EXPECT_DIRECT_READ(self, self->size - SMALL_PAGE, SMALL_PAGE, 31 * MIB);
	unmap_and_unload(_metadata, self);
}

/* preadv() with iovecs over several huge pages. */
TEST_F(gup, odirect_preadv_scattered)
{
	struct iovec iov[4] = {
		{ self->map + 5 * SMALL_PAGE, 8 * SMALL_PAGE },
		{ self->map + 3 * self->ps - 2 * SMALL_PAGE, 4 * SMALL_PAGE },
		{ self->map + 6 * self->ps, self->ps },
		{ self->map + 7 * self->ps + 100 * SMALL_PAGE, SMALL_PAGE },
	};
	uint64_t disk_off = 12 * MIB + 7 * SMALL_PAGE, total = 0;
	ssize_t n;

	HPM_SKIP_GUARD();
	for (int i = 0; i < 4; i++)
		total += iov[i].iov_len;
	n = preadv(self->disk, iov, 4, (off_t)disk_off);
	EXPECT_EQ((ssize_t)total, n) TH_LOG("preadv: %s", n < 0 ? strerror(errno) : "short");
	for (int i = 0; i < 4; i++) {
		size_t off = (char *)iov[i].iov_base - self->map;

		EXPECT_EQ(-1, check_disk_pattern(self->map2 + off, iov[i].iov_len, disk_off))
			TH_LOG("iovec %d (buffer offset %#zx)", i, off);
		disk_off += iov[i].iov_len;
	}
	unmap_and_unload(_metadata, self);
}

/* O_DIRECT writes from aligned and unaligned offsets, read back. */
TEST_F(gup, odirect_write)
{
	static const struct { unsigned long off_pages, off_small, len_small; uint64_t disk; } w[] = {
		{ 0, 0, 512, 40 * MIB },		/* aligned, one huge page */
		{ 4, 5, 520, 42 * MIB + 12 * 1024 },	/* unaligned, crossing */
		{ 7, 511, 1, 46 * MIB },		/* the last 4 KiB */
	};

	HPM_SKIP_GUARD();
	for (unsigned int i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		unsigned long off = w[i].off_pages * self->ps + w[i].off_small * SMALL_PAGE;
		size_t len = w[i].len_small * SMALL_PAGE;
		void *back = NULL;
		ssize_t n;

		ASSERT_GE(self->size, off + len);
		fill_written(self->map + off, len, w[i].disk);
		n = pwrite(self->disk, self->map2 + off, len, (off_t)w[i].disk);
		EXPECT_EQ((ssize_t)len, n)
			TH_LOG("write %u: pwrite: %s", i, n < 0 ? strerror(errno) : "short");
		ASSERT_EQ(0, read_back(self->disk, &back, len, w[i].disk));
		EXPECT_EQ(-1, check_written(back, len, w[i].disk))
			TH_LOG("write %u: disk does not hold the mapping's data", i);
		/* the source is unchanged */
		EXPECT_EQ(-1, check_written(self->map + off, len, w[i].disk));
		free(back);
		/* and O_DIRECT back into the mapping elsewhere */
		memset(self->map + 5 * self->ps, GARBAGE, len);
		n = pread(self->disk, self->map + 5 * self->ps + SMALL_PAGE * (i == 1),
			  len, (off_t)w[i].disk);
		EXPECT_EQ((ssize_t)len, n);
		EXPECT_EQ(-1, check_written(self->map2 + 5 * self->ps + SMALL_PAGE * (i == 1),
					    len, w[i].disk));
	}
	unmap_and_unload(_metadata, self);
}

/*
 * A read-only mapping (fd opened O_RDONLY): O_DIRECT writes to the disk
 * from it work; O_DIRECT reads into it fail with EFAULT and change nothing.
 */
TEST_F(gup, odirect_readonly_mapping)
{
	unsigned long off = 2 * self->ps + 7 * SMALL_PAGE;
	size_t len = self->ps;
	void *back = NULL;
	char *ro;
	ssize_t n;
	int rofd;

	HPM_SKIP_GUARD();
	rofd = hpm_open(O_RDONLY);
	ASSERT_LE(0, rofd);
	ro = mmap(NULL, self->size, PROT_READ, MAP_SHARED, rofd, 0);
	ASSERT_NE(MAP_FAILED, ro);
	fill_written(self->map + off, len, 36 * MIB);
	n = pwrite(self->disk, ro + off, len, 36 * MIB);
	EXPECT_EQ((ssize_t)len, n) TH_LOG("pwrite from PROT_READ: %s",
					  n < 0 ? strerror(errno) : "short");
	ASSERT_EQ(0, read_back(self->disk, &back, len, 36 * MIB));
	EXPECT_EQ(-1, check_written(back, len, 36 * MIB));
	free(back);

	n = pread(self->disk, ro + off, len, 0);
	EXPECT_EQ(-1, n) TH_LOG("O_DIRECT read into a PROT_READ mapping worked");
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, check_written(self->map2 + off, len, 36 * MIB));
	munmap(ro, self->size);
	close(rofd);
	unmap_and_unload(_metadata, self);
}

/* Submit one fixed read/write and wait for it: cqe->res. */
static int uring_rw_fixed(struct io_uring *ring, bool write, int fd, void *buf,
			  unsigned int len, uint64_t off, int index)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;
	int ret;

	if (!sqe)
		return -EBUSY;
	if (write)
		io_uring_prep_write_fixed(sqe, fd, buf, len, off, index);
	else
		io_uring_prep_read_fixed(sqe, fd, buf, len, off, index);
	ret = io_uring_submit(ring);
	if (ret != 1)
		return ret < 0 ? ret : -EIO;
	ret = io_uring_wait_cqe(ring, &cqe);
	if (ret)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return ret;
}

/* READ_FIXED / WRITE_FIXED with the mapping as registered buffers. */
static void uring_fixed(struct __test_metadata *_metadata,
			FIXTURE_DATA(gup) *self, bool unregister)
{
	/* buffer 0: the whole mapping; buffer 1: an unaligned sub-range */
	struct iovec iov[2] = {
		{ self->map, self->size },
		{ self->map + self->ps + SMALL_PAGE, 2 * self->ps },
	};
	unsigned long ps = self->ps;
	struct io_uring ring;
	void *back = NULL;
	char *p;
	int ret;

	ASSERT_EQ(0, io_uring_queue_init(8, &ring, 0));
	ret = io_uring_register_buffers(&ring, iov, 2);
	ASSERT_EQ(0, ret) TH_LOG("io_uring_register_buffers: %s", strerror(-ret));

	/* READ_FIXED: aligned, buffer 0 */
	ret = uring_rw_fixed(&ring, false, self->disk, self->map + 2 * ps, ps, 2 * MIB, 0);
	EXPECT_EQ((int)ps, ret) TH_LOG("READ_FIXED aligned: %s", strerror(-ret));
	EXPECT_EQ(-1, check_disk_pattern(self->map2 + 2 * ps, ps, 2 * MIB));

	/* READ_FIXED: unaligned, crossing a huge page boundary, buffer 0 */
	p = self->map + 4 * ps - 3 * SMALL_PAGE;
	ret = uring_rw_fixed(&ring, false, self->disk, p, ps, 9 * MIB + SMALL_PAGE, 0);
	EXPECT_EQ((int)ps, ret) TH_LOG("READ_FIXED unaligned: %s", strerror(-ret));
	EXPECT_EQ(-1, check_disk_pattern(self->map2 + 4 * ps - 3 * SMALL_PAGE, ps,
					 9 * MIB + SMALL_PAGE));
	EXPECT_EQ(-1, check_garbage(self->map2 + 4 * ps - 4 * SMALL_PAGE, SMALL_PAGE));

	/* READ_FIXED into buffer 1 (itself unaligned), at its start + 4 KiB */
	p = self->map + ps + 2 * SMALL_PAGE;
	ret = uring_rw_fixed(&ring, false, self->disk, p, ps, 20 * MIB, 1);
	EXPECT_EQ((int)ps, ret) TH_LOG("READ_FIXED buffer 1: %s", strerror(-ret));
	EXPECT_EQ(-1, check_disk_pattern(self->map2 + ps + 2 * SMALL_PAGE, ps, 20 * MIB));

	/* WRITE_FIXED: unaligned source, then aligned, read back */
	p = self->map + 5 * ps + 2 * SMALL_PAGE;
	fill_written(p, ps, 48 * MIB);
	ret = uring_rw_fixed(&ring, true, self->disk, p, ps, 48 * MIB, 0);
	EXPECT_EQ((int)ps, ret) TH_LOG("WRITE_FIXED unaligned: %s", strerror(-ret));
	p = self->map + 7 * ps;
	fill_written(p, ps, 52 * MIB);
	ret = uring_rw_fixed(&ring, true, self->disk, p, ps, 52 * MIB, 0);
	EXPECT_EQ((int)ps, ret) TH_LOG("WRITE_FIXED aligned: %s", strerror(-ret));

	ASSERT_EQ(0, read_back(self->disk, &back, ps, 48 * MIB));
	EXPECT_EQ(-1, check_written(back, ps, 48 * MIB));
	free(back);
	ASSERT_EQ(0, read_back(self->disk, &back, ps, 52 * MIB));
	EXPECT_EQ(-1, check_written(back, ps, 52 * MIB));
	free(back);

	/* and READ_FIXED of what WRITE_FIXED wrote, into the mapping */
	memset(self->map + 6 * ps, GARBAGE, ps);
	ret = uring_rw_fixed(&ring, false, self->disk, self->map + 6 * ps, ps, 48 * MIB, 0);
	EXPECT_EQ((int)ps, ret);
	EXPECT_EQ(-1, check_written(self->map2 + 6 * ps, ps, 48 * MIB));

	if (unregister)
		EXPECT_EQ(0, io_uring_unregister_buffers(&ring));
	io_uring_queue_exit(&ring);
}

TEST_F(gup, io_uring_fixed_buffers)
{
	HPM_SKIP_GUARD();
	uring_fixed(_metadata, self, true);
	unmap_and_unload(_metadata, self);
}

/*
 * The ring is closed with its buffers still registered: io_uring drops
 * its pins from a work item, after close() returns.  The module unloads
 * once unmapped, and the pages reach the pool when the pins go (polled
 * for up to 10 s).
 */
TEST_F_TIMEOUT(gup, io_uring_exit_without_unregister, 60)
{
	char msg[1024];
	int bad = 0;

	HPM_SKIP_GUARD();
	uring_fixed(_metadata, self, false);
	munmap(self->map, self->size);
	munmap(self->map2, self->size);
	self->map = self->map2 = MAP_FAILED;
	close(self->fd);
	self->fd = -1;
	EXPECT_EQ(0, hpm_ensure_unloaded());
	EXPECT_FALSE(hpm_module_loaded());
	for (int i = 0; i < 1000; i++) {
		bad = hpm_counters_diff(&self->base, self->ps, 0, msg, sizeof(msg));
		if (!bad)
			break;
		usleep(10000);
	}
	EXPECT_EQ(0, bad) TH_LOG("10 s after closing the ring: %s", msg);
}

TEST_HARNESS_MAIN
