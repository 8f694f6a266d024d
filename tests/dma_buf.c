// SPDX-License-Identifier: GPL-2.0
/*
 * dma_buf.c - HPAGE_MAP_IOC_EXPORT_DMABUF (issue 4, part 2)
 *
 * hpage-map-profiles: default
 * hpage-map-tier: core
 *
 * Checks:
 *  - export of the whole buffer and of sub-ranges: a dma-buf fd of the
 *    range's size (lseek SEEK_END, /proc/self/fdinfo), the requested access
 *    mode (F_GETFL), exporter "hpage_map";
 *  - EINVAL for an unaligned or past-the-end offset, size 0, an unaligned
 *    size, a range past the end (also wrapping around 2^64), any unknown flag
 *    bit, O_WRONLY (and O_ACCMODE), reserved != 0; EFAULT for a bad argument
 *    pointer; EACCES for an O_RDWR export from an O_RDONLY fd and for any
 *    export from an O_WRONLY fd; no fd is
 *    installed and no dma-buf left by a failed export, also when only
 *    storing the new fd number fails (EFAULT) or no fd is free (EMFILE);
 *  - O_CLOEXEC sets FD_CLOEXEC on the new fd, and it is clear when not asked;
 *  - read-only export: mmap with PROT_WRITE fails with EACCES, mprotect to
 *    PROT_WRITE too (huge and 4 KiB mappings), a PROT_READ mapping sees the
 *    data;
 *  - mmap of the dma-buf shares the pages both ways with a /dev/hpage_map
 *    mapping, at a kernel-chosen address, at a huge-page-aligned hint (a
 *    huge page mapping: KernelPageSize) and at a deliberately unaligned
 *    MAP_FIXED address or with a length that is no multiple of the page
 *    size (the 4 KiB path), also at an offset into the dma-buf, for a
 *    sub-range export and in a forked child; past the end and MAP_PRIVATE
 *    -> EINVAL;
 *  - DMA_BUF_IOCTL_SYNC start/end around CPU access (and invalid flags ->
 *    EINVAL);
 *  - import into vgem (DRM_IOCTL_PRIME_FD_TO_HANDLE on the card whose
 *    driver is "vgem"; the same handle on a second import), CPU access with
 *    SYNC while vgem holds the mapped attachment, DRM_IOCTL_GEM_CLOSE;
 *  - /sys/kernel/debug/dma_buf/bufinfo lists the buffer (exporter
 *    "hpage_map", size, inode) while it lives, with vgem's attachment while
 *    imported, and no more after the last fd is closed;
 *  - rmmod (delete_module, O_NONBLOCK) fails with EAGAIN while a dma-buf fd
 *    lives, while only a vgem handle holds the buffer, while only an mmap of
 *    the dma-buf does (huge and 4 KiB mappings); it succeeds after the last
 *    one goes, with every page back in the hugetlb pool (exact counters);
 *  - 6.12 only: the in-kernel anchor, a hugetlb memfd turned into a dma-buf
 *    with /dev/udmabuf, passes the same mmap, SYNC and vgem checks.
 */
#include "hpm_test.h"

#include <sys/mount.h>
#include <linux/dma-buf.h>
#include <linux/udmabuf.h>
#include <drm/drm.h>

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif
#ifndef F_SEAL_SHRINK
#define F_ADD_SEALS	1033
#define F_SEAL_SHRINK	0x0002
#endif

#define SMALL_PAGE	4096UL
#define BUFINFO		"/sys/kernel/debug/dma_buf/bufinfo"

/* ------------------------------------------------------------------ */
/* helpers                                                             */

/* EXPORT_DMABUF: the new fd, or -errno. */
static int export_range(int fd, uint64_t offset, uint64_t size, uint32_t flags)
{
	struct hpage_map_export req = {
		.offset = offset,
		.size = size,
		.flags = flags,
		.fd = -1,
	};

	if (ioctl(fd, HPAGE_MAP_IOC_EXPORT_DMABUF, &req))
		return -errno;
	return req.fd;
}

/* The fd number the next open() would get. */
static int next_fd(void)
{
	int fd = dup(0);

	if (fd >= 0)
		close(fd);
	return fd;
}

/* An export that must fail with @err, installing no fd. */
#define EXPECT_EXPORT_FAILS(fd, err, off, size, flags) do {			\
	int __next = next_fd(), __ret;						\
	__ret = export_range(fd, off, size, flags);				\
	EXPECT_EQ(-(err), __ret)						\
		TH_LOG("export offset %#llx size %#llx flags %#x",		\
		       (unsigned long long)(off), (unsigned long long)(size),	\
		       (unsigned int)(flags));					\
	if (__ret >= 0)								\
		close(__ret);							\
	EXPECT_EQ(__next, next_fd()) TH_LOG("a failed export left an fd");	\
} while (0)

static int sync_dmabuf(int fd, uint64_t flags)
{
	struct dma_buf_sync s = { .flags = flags };

	return ioctl(fd, DMA_BUF_IOCTL_SYNC, &s) ? -errno : 0;
}

/* The line "Field:\tvalue" of /proc/self/fdinfo/@fd, value copied to @val. */
static int fdinfo_field(int fd, const char *field, char *val, size_t size)
{
	char path[64], buf[4096], *p;
	size_t flen = strlen(field);

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	if (hpm_read_file(path, buf, sizeof(buf)) < 0)
		return -errno;
	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, field, flen) && p[flen] == ':') {
			p += flen + 1;
			p += strspn(p, " \t");
			snprintf(val, size, "%.*s", (int)strcspn(p, "\n"), p);
			return 0;
		}
	}
	return -ENOENT;
}

/* The KernelPageSize of the mapping at @p, in bytes (-1: not found). */
static long long kernel_page_size(const void *p)
{
	unsigned long start, end;
	long long kb;

	if (hpm_vma_range(p, &start, &end))
		return -1;
	kb = hpm_smaps_kb((void *)start, "KernelPageSize");
	return kb < 0 ? -1 : kb * 1024;
}

/*
 * @dev maps buffer offset @base, @buf maps the same @len bytes some other
 * way: data written through either is read back through the other.
 */
static void expect_shared(struct __test_metadata *_metadata, char *dev,
			  char *buf, size_t len, uint64_t base, const char *what)
{
	long long bad;

	hpm_fill(buf, len, base, 0x1111);
	bad = hpm_check(dev, len, base, 0x1111);
	EXPECT_EQ(-1, bad) TH_LOG("%s: written through it, not seen at buffer offset %#llx",
				  what, bad);
	hpm_fill(dev, len, base, 0x2222);
	bad = hpm_check(buf, len, base, 0x2222);
	EXPECT_EQ(-1, bad) TH_LOG("%s: written through /dev/hpage_map, not seen at buffer offset %#llx",
				  what, bad);
}

/* Mount debugfs if bufinfo is not there yet. */
static bool bufinfo_available(void)
{
	if (!access(BUFINFO, R_OK))
		return true;
	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	return !access(BUFINFO, R_OK);
}

struct bufinfo_entry {
	bool found;
	unsigned long long size;
	char exp_name[64];
	int attached;
	char devices[256];
};

/* The bufinfo entry of the dma-buf whose inode is @ino. */
static int bufinfo_lookup(unsigned long ino, struct bufinfo_entry *e)
{
	static char buf[1 << 16];
	char *line, *save = NULL;
	bool in = false;

	memset(e, 0, sizeof(*e));
	e->attached = -1;
	if (hpm_read_file(BUFINFO, buf, sizeof(buf)) < 0)
		return -errno;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long size, count;
		unsigned int flags, mode;
		unsigned long i;
		char name[64];
		int n;

		if (sscanf(line, "%llu\t%x\t%x\t%llu\t%63s\t%lu", &size, &flags,
			   &mode, &count, name, &i) == 6) {
			if (in)
				break;
			if (i == ino) {
				in = true;
				e->found = true;
				e->size = size;
				snprintf(e->exp_name, sizeof(e->exp_name), "%s", name);
			}
			continue;
		}
		if (!in)
			continue;
		if (sscanf(line, "Total %d devices attached", &n) == 1) {
			e->attached = n;
			break;
		}
		if (line[0] == '\t' && !strstr(line, "Attached Devices") &&
		    !strstr(line, "fence") && strlen(e->devices) + strlen(line) + 2 <
		    sizeof(e->devices)) {
			strcat(e->devices, line + 1);
			strcat(e->devices, " ");
		}
	}
	return 0;
}

/* How many dma-bufs of exporter @name bufinfo lists (-1: unreadable). */
static int bufinfo_count(const char *name)
{
	static char buf[1 << 16];
	char *line, *save = NULL;
	int n = 0;

	if (hpm_read_file(BUFINFO, buf, sizeof(buf)) < 0)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long size, count;
		unsigned int flags, mode;
		char exp[64];

		if (sscanf(line, "%llu\t%x\t%x\t%llu\t%63s", &size, &flags, &mode,
			   &count, exp) == 5 && !strcmp(exp, name))
			n++;
	}
	return n;
}

static unsigned long inode_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : (unsigned long)st.st_ino;
}

#define ASSERT_VGEM(fd)								\
	ASSERT_LE(0, fd) TH_LOG("no /dev/dri/card* with DRM driver \"vgem\": "	\
				"vgem must be in tests/guest/modules and loaded by PID 1")

/* ------------------------------------------------------------------ */
/* the fixture: the profile's pool, /dev/hpage_map open read-write and */
/* mapped whole                                                        */

FIXTURE(dmabuf) {
	int fd;
	unsigned long ps, nr;
	size_t size;
	char *dev;
};

FIXTURE_SETUP(dmabuf)
{
	self->dev = MAP_FAILED;
	HPM_SETUP_PROFILE_FD();
	ASSERT_LE(5, self->nr) TH_LOG("the sub-range tests need 5 pages");
	self->dev = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->dev);
}

FIXTURE_TEARDOWN(dmabuf)
{
	if (self->dev != MAP_FAILED)
		munmap(self->dev, self->size);
	close(self->fd);
}

TEST_F(dmabuf, export_whole)
{
	char val[64];
	int dfd;

	dfd = export_range(self->fd, 0, self->size, O_RDWR);
	ASSERT_LE(0, dfd) TH_LOG("export: %s", strerror(-dfd));
	EXPECT_EQ((off_t)self->size, lseek(dfd, 0, SEEK_END));
	EXPECT_EQ(O_RDWR, fcntl(dfd, F_GETFL) & O_ACCMODE);
	ASSERT_EQ(0, fdinfo_field(dfd, "exp_name", val, sizeof(val)));
	EXPECT_STREQ("hpage_map", val);
	ASSERT_EQ(0, fdinfo_field(dfd, "size", val, sizeof(val)));
	EXPECT_EQ(self->size, strtoull(val, NULL, 10));
	close(dfd);
}

/* Sub-ranges: the size of the range; mmap shows the range's pages. */
TEST_F(dmabuf, export_subrange)
{
	static const unsigned long ranges[][2] = { { 2, 3 }, { 0, 1 }, { 1, 1 } };

	for (unsigned int i = 0; i < 4; i++) {
		/* the last entry: the last page of the buffer */
		unsigned long first = i < 3 ? ranges[i][0] : self->nr - 1;
		unsigned long count = i < 3 ? ranges[i][1] : 1;
		size_t len = count * self->ps;
		char what[64], *buf;
		int dfd;

		snprintf(what, sizeof(what), "export of pages %lu..%lu",
			 first, first + count - 1);
		dfd = export_range(self->fd, first * self->ps, len, O_RDWR);
		ASSERT_LE(0, dfd) TH_LOG("%s: %s", what, strerror(-dfd));
		EXPECT_EQ((off_t)len, lseek(dfd, 0, SEEK_END)) TH_LOG("%s", what);
		buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0);
		ASSERT_NE(MAP_FAILED, buf) TH_LOG("%s: mmap: %s", what, strerror(errno));
		expect_shared(_metadata, self->dev + first * self->ps, buf, len,
			      first * self->ps, what);
		munmap(buf, len);
		close(dfd);
	}
}

TEST_F(dmabuf, bad_offset_unaligned)
{
	EXPECT_EXPORT_FAILS(self->fd, EINVAL, 1, self->ps, O_RDWR);
	EXPECT_EXPORT_FAILS(self->fd, EINVAL, SMALL_PAGE, self->ps, O_RDWR);
	EXPECT_EXPORT_FAILS(self->fd, EINVAL, self->ps / 2, self->ps, O_RDWR);
	EXPECT_EXPORT_FAILS(self->fd, EINVAL, self->ps + SMALL_PAGE, self->ps, O_RDWR);
	EXPECT_EXPORT_FAILS(self->fd, EINVAL, self->ps - SMALL_PAGE, self->ps, O_RDONLY);
}

TEST_F(dmabuf, bad_offset_past_end)
{
	EXPECT_EXPORT_FAILS(self->fd, EINVAL, self->size, self->ps, O_RDWR);
	EXPECT_EXPORT_FAILS(self->fd, EINVAL, self->size + self->ps, self->ps, O_RDWR);
	EXPECT_EXPORT_FAILS(self->fd, EINVAL, 1ULL << 62, self->ps, O_RDWR);
	EXPECT_EXPORT_FAILS(self->fd, EINVAL, UINT64_MAX & ~(uint64_t)(self->ps - 1),
			    self->ps, O_RDWR);
}

TEST_F(dmabuf, size_zero)
{
	EXPECT_EXPORT_FAILS(self->fd, EINVAL, 0, 0, O_RDWR);
	EXPECT_EXPORT_FAILS(self->fd, EINVAL, self->ps, 0, O_RDWR);
	EXPECT_EXPORT_FAILS(self->fd, EINVAL, self->size, 0, O_RDONLY);
}

TEST_F(dmabuf, size_unaligned)
{
	EXPECT_EXPORT_FAILS(self->fd, EINVAL, 0, 1, O_RDWR);
	EXPECT_EXPORT_FAILS(self->fd, EINVAL, 0, SMALL_PAGE, O_RDWR);
	EXPECT_EXPORT_FAILS(self->fd, EINVAL, 0, self->ps - SMALL_PAGE, O_RDWR);
	EXPECT_EXPORT_FAILS(self->fd, EINVAL, 0, self->ps + SMALL_PAGE, O_RDWR);
	EXPECT_EXPORT_FAILS(self->fd, EINVAL, self->ps, self->size - self->ps - 1, O_RDWR);
}

/* offset and size aligned, each inside, their sum not */
TEST_F(dmabuf, range_past_end)
{
	EXPECT_EXPORT_FAILS(self->fd, EINVAL, 0, self->size + self->ps, O_RDWR);
	EXPECT_EXPORT_FAILS(self->fd, EINVAL, self->ps, self->size, O_RDWR);
	EXPECT_EXPORT_FAILS(self->fd, EINVAL, (self->nr - 1) * self->ps,
			    2 * self->ps, O_RDWR);
	/* offset + size == 2^64 + ps: inside if it wrapped */
	EXPECT_EXPORT_FAILS(self->fd, EINVAL, 2 * self->ps,
			    0 - (uint64_t)self->ps, O_RDWR);
	EXPECT_EXPORT_FAILS(self->fd, EINVAL, self->ps,
			    UINT64_MAX & ~(uint64_t)(self->ps - 1), O_RDWR);
}

/* every flag bit but the access mode and O_CLOEXEC is unknown */
TEST_F(dmabuf, unknown_flags)
{
	for (int bit = 0; bit < 32; bit++) {
		uint32_t flag = 1U << bit;

		if (flag & (O_ACCMODE | O_CLOEXEC))
			continue;
		EXPECT_EXPORT_FAILS(self->fd, EINVAL, 0, self->ps, O_RDWR | flag);
		EXPECT_EXPORT_FAILS(self->fd, EINVAL, 0, self->ps, O_RDONLY | flag);
	}
	EXPECT_EXPORT_FAILS(self->fd, EINVAL, 0, self->ps, O_RDWR | O_NONBLOCK);
	EXPECT_EXPORT_FAILS(self->fd, EINVAL, 0, self->ps, O_RDWR | O_CLOEXEC | O_APPEND);
	EXPECT_EXPORT_FAILS(self->fd, EINVAL, 0, self->ps, UINT32_MAX);
}

TEST_F(dmabuf, wronly)
{
	EXPECT_EXPORT_FAILS(self->fd, EINVAL, 0, self->ps, O_WRONLY);
	EXPECT_EXPORT_FAILS(self->fd, EINVAL, 0, self->ps, O_WRONLY | O_CLOEXEC);
	EXPECT_EXPORT_FAILS(self->fd, EINVAL, 0, self->ps, O_ACCMODE);
}

TEST_F(dmabuf, reserved_nonzero)
{
	for (int i = 0; i < 2; i++) {
		struct hpage_map_export req = {
			.offset = 0,
			.size = self->ps,
			.flags = O_RDWR,
			.fd = -1,
		};
		int next = next_fd();

		req.reserved[i] = i ? 1ULL << 63 : 1;
		EXPECT_EQ(-1, ioctl(self->fd, HPAGE_MAP_IOC_EXPORT_DMABUF, &req))
			TH_LOG("reserved[%d] = %#llx accepted", i,
			       (unsigned long long)req.reserved[i]);
		EXPECT_EQ(EINVAL, errno);
		EXPECT_EQ(next, next_fd());
	}
}

TEST_F(dmabuf, bad_arg_pointer)
{
	int next = next_fd();

	EXPECT_EQ(-1, ioctl(self->fd, HPAGE_MAP_IOC_EXPORT_DMABUF, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(next, next_fd());
}

/*
 * The result cannot be stored (the argument is in a read-only page): the
 * ioctl fails with EFAULT and leaves no dma-buf fd behind (an fd the
 * caller cannot know of would hold the buffer and the module until exit).
 */
TEST_F(dmabuf, efault_on_result_leaves_no_fd)
{
	struct hpage_map_export *req;
	int next, leaked;

	req = mmap(NULL, SMALL_PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, req);
	memset(req, 0, sizeof(*req));
	req->size = self->ps;
	req->flags = O_RDWR;
	req->fd = -1;
	ASSERT_EQ(0, mprotect(req, SMALL_PAGE, PROT_READ));
	next = next_fd();
	EXPECT_EQ(-1, ioctl(self->fd, HPAGE_MAP_IOC_EXPORT_DMABUF, req));
	EXPECT_EQ(EFAULT, errno);
	leaked = next_fd() != next;
	EXPECT_FALSE(leaked) TH_LOG("fd %d was installed although the ioctl failed", next);
	if (leaked)
		close(next);
	/* and no dma-buf is left behind either */
	if (bufinfo_available())
		EXPECT_EQ(0, bufinfo_count("hpage_map"));
	munmap(req, SMALL_PAGE);
}

/* No fd left for it: EMFILE, and no dma-buf is left behind. */
TEST_F(dmabuf, emfile)
{
	struct rlimit old, lim;
	int next = next_fd(), ret;

	ASSERT_TRUE(bufinfo_available()) TH_LOG("no %s", BUFINFO);
	ASSERT_EQ(0, bufinfo_count("hpage_map"));
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &old));
	lim = old;
	lim.rlim_cur = next;	/* every fd below next is taken */
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &lim));
	ret = export_range(self->fd, 0, self->ps, O_RDWR);
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &old));
	EXPECT_EQ(-EMFILE, ret);
	if (ret >= 0)
		close(ret);
	EXPECT_EQ(next, next_fd());
	EXPECT_EQ(0, bufinfo_count("hpage_map"));
}

/* No more access through the dma-buf than through the fd it came from. */
TEST_F(dmabuf, rdwr_from_rdonly_fd)
{
	int ro = hpm_open(O_RDONLY), dfd;

	ASSERT_LE(0, ro);
	EXPECT_EXPORT_FAILS(ro, EACCES, 0, self->ps, O_RDWR);
	EXPECT_EXPORT_FAILS(ro, EACCES, 0, self->size, O_RDWR | O_CLOEXEC);
	/* read-only is fine */
	dfd = export_range(ro, 0, self->ps, O_RDONLY);
	EXPECT_LE(0, dfd) TH_LOG("O_RDONLY export from O_RDONLY fd: %s", strerror(-dfd));
	if (dfd >= 0) {
		EXPECT_EQ(O_RDONLY, fcntl(dfd, F_GETFL) & O_ACCMODE);
		close(dfd);
	}
	close(ro);
}

/* A write-only fd cannot read the buffer, so it cannot export it either. */
TEST_F(dmabuf, export_from_wronly_fd)
{
	int wo = hpm_open(O_WRONLY);

	ASSERT_LE(0, wo);
	EXPECT_EXPORT_FAILS(wo, EACCES, 0, self->ps, O_RDONLY);
	EXPECT_EXPORT_FAILS(wo, EACCES, 0, self->size, O_RDWR | O_CLOEXEC);
	close(wo);
}

TEST_F(dmabuf, cloexec)
{
	static const uint32_t modes[] = { O_RDWR, O_RDONLY };

	for (unsigned int i = 0; i < 2; i++) {
		int with, without;

		with = export_range(self->fd, 0, self->ps, modes[i] | O_CLOEXEC);
		ASSERT_LE(0, with);
		EXPECT_EQ(FD_CLOEXEC, fcntl(with, F_GETFD) & FD_CLOEXEC)
			TH_LOG("mode %#x: O_CLOEXEC asked, not set", modes[i]);
		without = export_range(self->fd, 0, self->ps, modes[i]);
		ASSERT_LE(0, without);
		EXPECT_EQ(0, fcntl(without, F_GETFD) & FD_CLOEXEC)
			TH_LOG("mode %#x: FD_CLOEXEC set though not asked", modes[i]);
		EXPECT_EQ(modes[i], (uint32_t)fcntl(with, F_GETFL) & O_ACCMODE);
		EXPECT_EQ(modes[i], (uint32_t)fcntl(without, F_GETFL) & O_ACCMODE);
		close(with);
		close(without);
	}
}

/* A read-only export can only be mapped read-only. */
TEST_F(dmabuf, readonly_mmap)
{
	char *hint, *p;
	int dfd;

	dfd = export_range(self->fd, 0, self->size, O_RDONLY);
	ASSERT_LE(0, dfd);
	EXPECT_EQ(O_RDONLY, fcntl(dfd, F_GETFL) & O_ACCMODE);
	EXPECT_EQ(EACCES, hpm_mmap_errno(dfd, 0, self->size, PROT_READ | PROT_WRITE,
					 MAP_SHARED));
	EXPECT_EQ(EACCES, hpm_mmap_errno(dfd, 0, self->ps, PROT_WRITE, MAP_SHARED));

	hpm_fill(self->dev, self->size, 0, 0x3333);
	/*
	 * kernel-chosen address, an aligned one (the huge page path) and one
	 * 4 KiB past a huge page boundary (the 4 KiB path)
	 */
	for (int where = 0; where < 3; where++) {
		hint = NULL;
		if (where) {
			hint = hpm_reserve_aligned(self->size + self->ps, self->ps);
			ASSERT_NE(MAP_FAILED, hint);
			munmap(hint, self->size + self->ps);
			hint += where == 2 ? SMALL_PAGE : 0;
		}
		p = mmap(hint, self->size, PROT_READ, MAP_SHARED, dfd, 0);
		ASSERT_NE(MAP_FAILED, p) TH_LOG("PROT_READ mmap: %s", strerror(errno));
		if (where)
			EXPECT_EQ(hint, p);
		if (where == 2)
			EXPECT_EQ(SMALL_PAGE, kernel_page_size(p));
		EXPECT_EQ(-1, hpm_check(p, self->size, 0, 0x3333));
		EXPECT_EQ(-1, mprotect(p, self->size, PROT_READ | PROT_WRITE))
			TH_LOG("mapping %d at %p: mprotect PROT_WRITE allowed", where, p);
		EXPECT_EQ(EACCES, errno);
		munmap(p, self->size);
	}
	close(dfd);
}

/* mmap at an address the kernel picks (no huge page alignment promised). */
TEST_F(dmabuf, mmap_kernel_address)
{
	long long kps;
	char *p;
	int dfd;

	dfd = export_range(self->fd, 0, self->size, O_RDWR);
	ASSERT_LE(0, dfd);
	p = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap: %s", strerror(errno));
	kps = kernel_page_size(p);
	TH_LOG("dma-buf mapped at %p, KernelPageSize %lld", p, kps);
	if ((uintptr_t)p % self->ps)
		EXPECT_EQ(SMALL_PAGE, kps);
	expect_shared(_metadata, self->dev, p, self->size, 0, "kernel-chosen address");
	munmap(p, self->size);

	/* a length that is no multiple of the page size: the 4 KiB path */
	p = mmap(NULL, self->size - SMALL_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap of size - 4 KiB: %s", strerror(errno));
	EXPECT_EQ(SMALL_PAGE, kernel_page_size(p));
	expect_shared(_metadata, self->dev, p, self->size - SMALL_PAGE, 0,
		      "kernel-chosen address, unaligned length");
	munmap(p, self->size - SMALL_PAGE);
	close(dfd);
}

/* A forked child's copy of a dma-buf mapping (huge and 4 KiB) is shared too. */
TEST_F(dmabuf, mmap_fork)
{
	char *area;
	int dfd;

	dfd = export_range(self->fd, 0, self->size, O_RDWR);
	ASSERT_LE(0, dfd);
	area = hpm_reserve_aligned(self->size + self->ps, self->ps);
	ASSERT_NE(MAP_FAILED, area);
	for (int aligned = 1; aligned >= 0; aligned--) {
		char *p = area + (aligned ? 0 : SMALL_PAGE);
		pid_t pid;

		p = mmap(p, self->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, dfd, 0);
		ASSERT_NE(MAP_FAILED, p);
		pid = hpm_fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			hpm_fill(p, self->size, 0, 0x9999 + aligned);
			_exit(0);
		}
		ASSERT_EQ(0, hpm_wait(pid));
		EXPECT_EQ(-1, hpm_check(self->dev, self->size, 0, 0x9999 + aligned))
			TH_LOG("aligned %d: the child's writes are not in the buffer", aligned);
		EXPECT_EQ(-1, hpm_check(p, self->size, 0, 0x9999 + aligned));
		munmap(p, self->size);
	}
	munmap(area, self->size + self->ps);
	close(dfd);
}

/* An aligned hint: used as given, and a huge page mapping. */
TEST_F(dmabuf, mmap_aligned_hint)
{
	char *hint, *p;
	int dfd;

	dfd = export_range(self->fd, 0, self->size, O_RDWR);
	ASSERT_LE(0, dfd);
	hint = hpm_reserve_aligned(self->size, self->ps);
	ASSERT_NE(MAP_FAILED, hint);
	munmap(hint, self->size);
	p = mmap(hint, self->size, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap: %s", strerror(errno));
	EXPECT_EQ(hint, p);
	EXPECT_EQ((long long)self->ps, kernel_page_size(p));
	expect_shared(_metadata, self->dev, p, self->size, 0, "aligned hint");
	munmap(p, self->size);
	close(dfd);
}

/* MAP_FIXED 4 KiB past a huge page boundary: the 4 KiB path. */
TEST_F(dmabuf, mmap_unaligned_fixed)
{
	char *area, *p;
	int dfd;

	dfd = export_range(self->fd, 0, self->size, O_RDWR);
	ASSERT_LE(0, dfd);
	area = hpm_reserve_aligned(self->size + self->ps, self->ps);
	ASSERT_NE(MAP_FAILED, area);
	p = mmap(area + SMALL_PAGE, self->size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, dfd, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap: %s", strerror(errno));
	EXPECT_EQ(area + SMALL_PAGE, p);
	EXPECT_EQ(SMALL_PAGE, kernel_page_size(p));
	expect_shared(_metadata, self->dev, p, self->size, 0, "unaligned MAP_FIXED");
	munmap(area, self->size + self->ps);
	close(dfd);
}

/*
 * mmap offsets into a sub-range export: an aligned offset at an aligned
 * hint (huge) and a 4 KiB offset (the 4 KiB path), each showing the right
 * pages of the buffer.
 */
TEST_F(dmabuf, mmap_offsets)
{
	unsigned long first = 1, count = 3;
	size_t len;
	char *hint, *p;
	int dfd;

	dfd = export_range(self->fd, first * self->ps, count * self->ps, O_RDWR);
	ASSERT_LE(0, dfd);

	/* dma-buf offset ps, one huge page, aligned hint */
	hint = hpm_reserve_aligned(self->ps, self->ps);
	ASSERT_NE(MAP_FAILED, hint);
	munmap(hint, self->ps);
	p = mmap(hint, self->ps, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, self->ps);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap at offset ps: %s", strerror(errno));
	EXPECT_EQ(hint, p);
	EXPECT_EQ((long long)self->ps, kernel_page_size(p));
	expect_shared(_metadata, self->dev + (first + 1) * self->ps, p, self->ps,
		      (first + 1) * self->ps, "offset ps, aligned");
	munmap(p, self->ps);

	/* dma-buf offset 4 KiB to 4 KiB before its end: crosses both boundaries */
	len = count * self->ps - 2 * SMALL_PAGE;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, SMALL_PAGE);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap at offset 4 KiB: %s", strerror(errno));
	EXPECT_EQ(SMALL_PAGE, kernel_page_size(p));
	expect_shared(_metadata, self->dev + first * self->ps + SMALL_PAGE, p, len,
		      first * self->ps + SMALL_PAGE, "offset 4 KiB");
	munmap(p, len);
	close(dfd);
}

/* Beyond the dma-buf (even if inside the pool), and private mappings. */
TEST_F(dmabuf, mmap_bad)
{
	int dfd;

	dfd = export_range(self->fd, 0, 2 * self->ps, O_RDWR);
	ASSERT_LE(0, dfd);
	EXPECT_EQ(EINVAL, hpm_mmap_errno(dfd, 0, 3 * self->ps, PROT_READ, MAP_SHARED));
	EXPECT_EQ(EINVAL, hpm_mmap_errno(dfd, 0, 2 * self->ps + SMALL_PAGE, PROT_READ,
					 MAP_SHARED));
	EXPECT_EQ(EINVAL, hpm_mmap_errno(dfd, 2 * self->ps, SMALL_PAGE, PROT_READ,
					 MAP_SHARED));
	EXPECT_EQ(EINVAL, hpm_mmap_errno(dfd, self->ps, 2 * self->ps, PROT_READ,
					 MAP_SHARED));
	/* a private copy would not be shared with anyone */
	EXPECT_EQ(EINVAL, hpm_mmap_errno(dfd, 0, self->ps, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE));
	close(dfd);
}

/* DMA_BUF_IOCTL_SYNC brackets CPU access (no importer). */
TEST_F(dmabuf, sync_cpu_access)
{
	char *p;
	int dfd;

	dfd = export_range(self->fd, 0, self->size, O_RDWR);
	ASSERT_LE(0, dfd);
	p = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0);
	ASSERT_NE(MAP_FAILED, p);

	EXPECT_EQ(0, sync_dmabuf(dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE));
	hpm_fill(p, self->size, 0, 0x4444);
	EXPECT_EQ(0, sync_dmabuf(dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE));
	EXPECT_EQ(-1, hpm_check(self->dev, self->size, 0, 0x4444));

	hpm_fill(self->dev, self->size, 0, 0x5555);
	EXPECT_EQ(0, sync_dmabuf(dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_EQ(-1, hpm_check(p, self->size, 0, 0x5555));
	EXPECT_EQ(0, sync_dmabuf(dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));

	EXPECT_EQ(0, sync_dmabuf(dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	EXPECT_EQ(-1, hpm_check(p, self->size, 0, 0x5555));
	hpm_fill(p, self->size, 0, 0x6666);
	EXPECT_EQ(0, sync_dmabuf(dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
	EXPECT_EQ(-1, hpm_check(self->dev, self->size, 0, 0x6666));

	/* no direction, unknown bits */
	EXPECT_EQ(-EINVAL, sync_dmabuf(dfd, DMA_BUF_SYNC_START));
	EXPECT_EQ(-EINVAL, sync_dmabuf(dfd, DMA_BUF_SYNC_END));
	EXPECT_EQ(-EINVAL, sync_dmabuf(dfd, DMA_BUF_SYNC_RW | (1ULL << 3)));
	munmap(p, self->size);
	close(dfd);
}

/* Import into vgem, SYNC around CPU access while imported, close. */
TEST_F(dmabuf, vgem_import)
{
	struct bufinfo_entry e;
	long long handle, again;
	int card, dfd, sub;
	char *p;

	card = hpm_vgem_open();
	ASSERT_VGEM(card);
	ASSERT_TRUE(bufinfo_available()) TH_LOG("no %s", BUFINFO);
	dfd = export_range(self->fd, 0, self->size, O_RDWR);
	ASSERT_LE(0, dfd);
	handle = hpm_vgem_import(card, dfd);
	ASSERT_LT(0, handle) TH_LOG("PRIME_FD_TO_HANDLE: %s", strerror((int)-handle));
	again = hpm_vgem_import(card, dfd);
	EXPECT_EQ(handle, again) TH_LOG("second import of the same dma-buf");

	ASSERT_EQ(0, bufinfo_lookup(inode_of(dfd), &e));
	EXPECT_TRUE(e.found);
	EXPECT_EQ(1, e.attached) TH_LOG("attached devices: %s", e.devices);

	/* CPU access while vgem holds the mapped attachment */
	p = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, sync_dmabuf(dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	hpm_fill(p, self->size, 0, 0x7777);
	EXPECT_EQ(0, sync_dmabuf(dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
	EXPECT_EQ(-1, hpm_check(self->dev, self->size, 0, 0x7777));
	EXPECT_EQ(0, sync_dmabuf(dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_EQ(-1, hpm_check(p, self->size, 0, 0x7777));
	EXPECT_EQ(0, sync_dmabuf(dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	munmap(p, self->size);

	EXPECT_EQ(0, hpm_gem_close(card, (uint32_t)handle));
	EXPECT_EQ(-EINVAL, hpm_gem_close(card, (uint32_t)handle));
	ASSERT_EQ(0, bufinfo_lookup(inode_of(dfd), &e));
	EXPECT_TRUE(e.found);
	EXPECT_EQ(0, e.attached) TH_LOG("after GEM_CLOSE: %s", e.devices);

	/* a sub-range export imports too */
	sub = export_range(self->fd, self->ps, 2 * self->ps, O_RDWR);
	ASSERT_LE(0, sub);
	handle = hpm_vgem_import(card, sub);
	EXPECT_LT(0, handle) TH_LOG("sub-range import: %s", strerror((int)-handle));
	if (handle > 0) {
		EXPECT_EQ(0, sync_dmabuf(sub, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
		EXPECT_EQ(0, sync_dmabuf(sub, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
		EXPECT_EQ(0, hpm_gem_close(card, (uint32_t)handle));
	}
	close(sub);
	close(dfd);
	close(card);
}

/* bufinfo lists the buffer with the exporter's name while it lives. */
TEST_F(dmabuf, bufinfo_exporter)
{
	struct bufinfo_entry e;
	unsigned long ino;
	int dfd;

	ASSERT_TRUE(bufinfo_available()) TH_LOG("no %s", BUFINFO);
	dfd = export_range(self->fd, self->ps, 2 * self->ps, O_RDWR);
	ASSERT_LE(0, dfd);
	ino = inode_of(dfd);
	ASSERT_NE(0, ino);
	ASSERT_EQ(0, bufinfo_lookup(ino, &e));
	EXPECT_TRUE(e.found) TH_LOG("inode %lu not in %s", ino, BUFINFO);
	EXPECT_STREQ("hpage_map", e.exp_name);
	EXPECT_EQ(2 * self->ps, e.size);
	EXPECT_EQ(0, e.attached);
	close(dfd);
	ASSERT_EQ(0, bufinfo_lookup(ino, &e));
	EXPECT_FALSE(e.found) TH_LOG("still listed after its last fd was closed");
}

/* ------------------------------------------------------------------ */
/* unload while a dma-buf lives                                        */

FIXTURE(unload) {
	struct hpm_counters base;
	unsigned long ps, nr;
	size_t size;
	int fd;
};

/* A fresh load, with the counters from before it. */
FIXTURE_SETUP(unload)
{
	ASSERT_EQ(0, hpm_ensure_unloaded());
	ASSERT_EQ(0, hpm_counters_read(&self->base));
	HPM_SETUP_PROFILE_FD();
	HPM_EXPECT_POOL(&self->base, self->ps, self->nr, "load");
}

FIXTURE_TEARDOWN(unload)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* Unload refused (EAGAIN), the pages still out of the pool. */
#define EXPECT_UNLOAD_REFUSED(self, stage) do {					\
	EXPECT_EQ(-EAGAIN, hpm_rmmod()) TH_LOG("rmmod %s", stage);		\
	EXPECT_TRUE(hpm_module_loaded());					\
	HPM_EXPECT_POOL(&(self)->base, (self)->ps, (self)->nr, stage);		\
} while (0)

/* Unload works, every page back in the pool. */
#define EXPECT_UNLOAD_WORKS(self, stage) do {					\
	EXPECT_EQ(0, hpm_rmmod()) TH_LOG("rmmod %s", stage);			\
	EXPECT_FALSE(hpm_module_loaded());					\
	HPM_EXPECT_POOL(&(self)->base, (self)->ps, 0, stage);			\
} while (0)

TEST_F(unload, refused_while_dmabuf_fd)
{
	int dfd;

	dfd = export_range(self->fd, 0, self->size, O_RDWR);
	ASSERT_LE(0, dfd);
	close(self->fd);
	self->fd = -1;
	EXPECT_UNLOAD_REFUSED(self, "with a dma-buf fd open");
	close(dfd);
	EXPECT_UNLOAD_WORKS(self, "after the dma-buf fd was closed");
}

TEST_F(unload, refused_while_vgem_handle)
{
	long long handle;
	int card, dfd;

	card = hpm_vgem_open();
	ASSERT_VGEM(card);
	dfd = export_range(self->fd, 0, self->size, O_RDWR);
	ASSERT_LE(0, dfd);
	handle = hpm_vgem_import(card, dfd);
	ASSERT_LT(0, handle) TH_LOG("PRIME_FD_TO_HANDLE: %s", strerror((int)-handle));
	close(dfd);
	close(self->fd);
	self->fd = -1;
	EXPECT_UNLOAD_REFUSED(self, "with only a vgem handle");
	EXPECT_EQ(0, hpm_gem_close(card, (uint32_t)handle));
	EXPECT_UNLOAD_WORKS(self, "after GEM_CLOSE");
	close(card);
}

/* Only an mmap of the dma-buf: huge (aligned) and 4 KiB (unaligned). */
static void refused_while_mapped(struct __test_metadata *_metadata,
				 FIXTURE_DATA(unload) *self, bool aligned)
{
	char *area, *p;
	int dfd;

	dfd = export_range(self->fd, 0, self->size, O_RDWR);
	ASSERT_LE(0, dfd);
	area = hpm_reserve_aligned(self->size + self->ps, self->ps);
	ASSERT_NE(MAP_FAILED, area);
	p = mmap(area + (aligned ? 0 : SMALL_PAGE), self->size,
		 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, dfd, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap: %s", strerror(errno));
	EXPECT_EQ(aligned ? (long long)self->ps : (long long)SMALL_PAGE,
		  kernel_page_size(p));
	hpm_fill(p, self->size, 0, 0x8888);
	close(dfd);
	close(self->fd);
	self->fd = -1;
	EXPECT_UNLOAD_REFUSED(self, "with only a dma-buf mapping");
	EXPECT_EQ(-1, hpm_check(p, self->size, 0, 0x8888));
	munmap(area, self->size + self->ps);
	EXPECT_UNLOAD_WORKS(self, "after munmap");
}

TEST_F(unload, refused_while_dmabuf_mapped_huge)
{
	refused_while_mapped(_metadata, self, true);
}

TEST_F(unload, refused_while_dmabuf_mapped_4k)
{
	refused_while_mapped(_metadata, self, false);
}

/* ------------------------------------------------------------------ */
/* the in-kernel anchor on 6.12: a hugetlb memfd through /dev/udmabuf  */

TEST(udmabuf_anchor)
{
	const char *kver = getenv("HPM_KVER");
	unsigned long ps = 2UL << 20;
	size_t size = 2 * ps;
	struct udmabuf_create create;
	struct bufinfo_entry e;
	char *mem, *p, val[64];
	long long handle;
	int ufd, mfd, dfd, card;
	struct utsname u;

	if (!kver && !uname(&u))
		kver = u.release;
	/* Debian builds udmabuf in from 6.12 on; 6.1 has none. */
	ufd = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	if (ufd < 0 && errno == ENOENT)
		SKIP(return, "kernel %s has no /dev/udmabuf (Debian's 6.1 has none)",
		     kver ?: "?");
	ASSERT_LE(0, ufd) TH_LOG("/dev/udmabuf: %s", strerror(errno));
	mfd = memfd_create("hpm-anchor", MFD_HUGETLB | MFD_ALLOW_SEALING | MFD_CLOEXEC);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, size));
	ASSERT_EQ(0, fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK));
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, mem);
	hpm_touch(mem, size);

	memset(&create, 0, sizeof(create));
	create.memfd = mfd;
	create.flags = UDMABUF_FLAGS_CLOEXEC;
	create.size = size;
	dfd = ioctl(ufd, UDMABUF_CREATE, &create);
	ASSERT_LE(0, dfd) TH_LOG("UDMABUF_CREATE: %s", strerror(errno));
	EXPECT_EQ(FD_CLOEXEC, fcntl(dfd, F_GETFD) & FD_CLOEXEC);
	ASSERT_EQ(0, fdinfo_field(dfd, "exp_name", val, sizeof(val)));
	EXPECT_STREQ("udmabuf", val);
	EXPECT_EQ((off_t)size, lseek(dfd, 0, SEEK_END));

	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, sync_dmabuf(dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	expect_shared(_metadata, mem, p, size, 0, "udmabuf of a hugetlb memfd");
	EXPECT_EQ(0, sync_dmabuf(dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));

	card = hpm_vgem_open();
	ASSERT_VGEM(card);
	handle = hpm_vgem_import(card, dfd);
	EXPECT_LT(0, handle) TH_LOG("PRIME_FD_TO_HANDLE: %s", strerror((int)-handle));
	if (bufinfo_available() && !bufinfo_lookup(inode_of(dfd), &e)) {
		EXPECT_TRUE(e.found);
		EXPECT_STREQ("udmabuf", e.exp_name);
		EXPECT_EQ(1, e.attached);
	}
	if (handle > 0)
		EXPECT_EQ(0, hpm_gem_close(card, (uint32_t)handle));
	close(card);
	munmap(p, size);
	close(dfd);
	munmap(mem, size);
	close(mfd);
	close(ufd);
}

TEST_HARNESS_MAIN
