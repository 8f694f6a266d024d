// SPDX-License-Identifier: GPL-2.0
/*
 * core_map.c - /dev/hpage_map: the node, GET_INFO, mmap semantics, bad input
 *
 * hpage-map-profiles: default 1g
 * hpage-map-tier: core
 *
 * Checks:
 *  - /dev/hpage_map is a misc (major 10) character device, mode 0600, root,
 *    matching /sys/class/misc/hpage_map/dev;
 *  - HPAGE_MAP_IOC_GET_INFO: size, page_size, nr_pages, numa_node (the node
 *    of every page as get_mempolicy() sees it, or -1), flags == 0,
 *    reserved[] == 0; EFAULT for a bad pointer; ENOTTY for unknown commands
 *    (other numbers, sizes, directions, magics, TCGETS); the same through
 *    the 32-bit compat path (int $0x80);
 *  - MAP_SHARED mappings of the whole buffer and of hugepage-aligned offset
 *    sub-ranges: hugepage-aligned addresses, MAP_FIXED at an aligned address,
 *    patterns written through one mapping read back through any other, data
 *    kept across close/reopen;
 *  - sharing: a process that opened the device on its own (forked before
 *    open, and exec'd), a forked child inheriting the mapping;
 *  - O_RDONLY: PROT_READ works, PROT_WRITE and mprotect to write -> EACCES,
 *    a store through the read-only mapping -> SIGSEGV;
 *  - /proc/self/smaps KernelPageSize/MMUPageSize == page size and the touched
 *    pages accounted as hugetlb; /proc/self/maps names the mapping hpage_map,
 *    not "(deleted)", with the right offset;
 *  - getrusage: exactly one minor fault per hugepage touched (every 4 KiB of
 *    it written), none on a second pass, none after MAP_POPULATE;
 *  - bad input -> EINVAL: unaligned length, unaligned offset, ranges past the
 *    end, MAP_PRIVATE, MAP_HUGETLB, MAP_FIXED at an unaligned address;
 *  - mremap: growing fails, moving works and keeps the data, moving to an
 *    unaligned address fails; 4 KiB munmap/mprotect inside a hugepage ->
 *    EINVAL with the mapping intact; hugepage-aligned munmap splits cleanly;
 *  - read()/write() on the device fail without side effects.
 *
 * The module is loaded once (HPM_PAGE_SIZE x HPM_NR_PAGES) and reused by every
 * test: a 1G load costs ~4 s per page under TCG.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/mempolicy.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "hpm_test.h"
#include "kselftest_harness.h"

#define MISC_MAJOR 10

FIXTURE(dev) {
	int fd;
	unsigned long ps, nr;
	size_t size;
};

FIXTURE_SETUP(dev)
{
	struct hpage_map_info info;

	self->fd = -1;
	self->ps = hpm_page_size();
	self->nr = hpm_nr_pages();
	self->size = self->ps * self->nr;
	ASSERT_NE(0, self->ps);
	ASSERT_EQ(0, hpm_ensure_profile_loaded());
	self->fd = hpm_open(O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, hpm_get_info(self->fd, &info));
	ASSERT_EQ(self->ps, info.page_size);
	ASSERT_EQ(self->nr, info.nr_pages);
}

FIXTURE_TEARDOWN(dev)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* ------------------------------------------------------------------ */

TEST_F(dev, device_node)
{
	unsigned int maj = 0, min = 0;
	struct stat st;
	char buf[64];

	HPM_SKIP_GUARD();
	ASSERT_EQ(0, stat(HPAGE_MAP_DEVICE, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 07777) TH_LOG("mode %o", st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(0, st.st_gid);
	EXPECT_EQ(MISC_MAJOR, major(st.st_rdev));
	ASSERT_LE(0, hpm_read_file(HPM_SYS_CLASS "/dev", buf, sizeof(buf)));
	ASSERT_EQ(2, sscanf(buf, "%u:%u", &maj, &min));
	EXPECT_EQ(major(st.st_rdev), maj);
	EXPECT_EQ(minor(st.st_rdev), min);
}

/* Node of the page mapped at @addr (faulting it in), or -errno. */
static int page_node(void *addr)
{
	int node = -1;

	if (syscall(SYS_get_mempolicy, &node, NULL, 0, addr, MPOL_F_NODE | MPOL_F_ADDR))
		return -errno;
	return node;
}

static int nr_online_nodes(void)
{
	char buf[256];
	int a, b, n = 0;
	char *p = buf;

	if (hpm_read_file("/sys/devices/system/node/online", buf, sizeof(buf)) <= 0)
		return 1;
	while (*p) {
		int k = 0;

		if (sscanf(p, "%d-%d%n", &a, &b, &k) == 2 && k)
			n += b - a + 1;
		else if (sscanf(p, "%d%n", &a, &k) == 1 && k)
			n++;
		else
			break;
		p += k;
		if (*p == ',')
			p++;
		else
			break;
	}
	return n ? n : 1;
}

TEST_F(dev, get_info)
{
	struct hpage_map_info info;
	int expect_node = -2, rofd;
	char *a;

	HPM_SKIP_GUARD();
	memset(&info, 0xa5, sizeof(info));
	ASSERT_EQ(0, hpm_get_info(self->fd, &info));
	EXPECT_EQ(self->size, info.size);
	EXPECT_EQ(self->ps, info.page_size);
	EXPECT_EQ(self->nr, info.nr_pages);
	EXPECT_EQ(0, info.flags);
	for (unsigned int i = 0; i < ARRAY_SIZE(info.reserved); i++) {
		EXPECT_EQ(0, info.reserved[i]) TH_LOG("reserved[%u]", i);
	}

	/* numa_node: the node of every page if they share one, else -1 */
	a = hpm_mmap(self->fd, 0, self->size, PROT_READ, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, a);
	for (unsigned long i = 0; i < self->nr; i++) {
		int node = page_node(a + i * self->ps);

		ASSERT_LE(0, node) TH_LOG("get_mempolicy: %s", strerror(-node));
		if (expect_node == -2)
			expect_node = node;
		else if (expect_node != node)
			expect_node = -1;
	}
	munmap(a, self->size);
	if (nr_online_nodes() == 1) {
		EXPECT_EQ(0, expect_node);
	}
	EXPECT_EQ(expect_node, info.numa_node);

	/* a read-only opener gets the same answer */
	rofd = hpm_open(O_RDONLY);
	ASSERT_LE(0, rofd);
	struct hpage_map_info info2;

	memset(&info2, 0x5a, sizeof(info2));
	EXPECT_EQ(0, hpm_get_info(rofd, &info2));
	EXPECT_EQ(0, memcmp(&info, &info2, sizeof(info)));
	close(rofd);
}

TEST_F(dev, get_info_bad_pointer)
{
	void *ro;

	HPM_SKIP_GUARD();
	EXPECT_EQ(-1, ioctl(self->fd, HPAGE_MAP_IOC_GET_INFO, NULL));
	EXPECT_EQ(EFAULT, errno);
	ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_EQ(-1, ioctl(self->fd, HPAGE_MAP_IOC_GET_INFO, ro));
	EXPECT_EQ(EFAULT, errno);
	/* a struct straddling into an unmapped page */
	EXPECT_EQ(-1, ioctl(self->fd, HPAGE_MAP_IOC_GET_INFO, (char *)ro + 4096 - 8));
	EXPECT_EQ(EFAULT, errno);
	munmap(ro, 4096);
}

TEST_F(dev, unknown_ioctl)
{
	const unsigned long cmds[] = {
		_IOR(HPAGE_MAP_IOC_MAGIC, 0x01, struct hpage_map_info),
		_IOR(HPAGE_MAP_IOC_MAGIC, 0x1f, struct hpage_map_info),
		_IOW(HPAGE_MAP_IOC_MAGIC, 0x00, struct hpage_map_info),
		_IOWR(HPAGE_MAP_IOC_MAGIC, 0x00, struct hpage_map_info),
		_IOR(HPAGE_MAP_IOC_MAGIC, 0x00, __u64),
		_IO(HPAGE_MAP_IOC_MAGIC, 0x00),
		_IOR(0xB8, 0x00, struct hpage_map_info),
		FIONREAD,
		0,
		0xffffffff,
	};
	struct hpage_map_info info;

	HPM_SKIP_GUARD();
	for (unsigned int i = 0; i < ARRAY_SIZE(cmds); i++) {
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->fd, cmds[i], &info)) TH_LOG("cmd %#lx", cmds[i]);
		EXPECT_EQ(ENOTTY, errno) TH_LOG("cmd %#lx: %s", cmds[i], strerror(errno));
	}
	EXPECT_EQ(0, isatty(self->fd));
	EXPECT_EQ(ENOTTY, errno);
	/* the fd still works */
	EXPECT_EQ(0, hpm_get_info(self->fd, &info));
}

#ifdef __x86_64__
/* ioctl through the i386 syscall gate: a 32-bit caller, compat_ioctl. */
static int ioctl32(unsigned int fd, unsigned int cmd, unsigned int arg)
{
	long ret;

	asm volatile("int $0x80"
		     : "=a"(ret)
		     : "a"(54 /* __NR_ioctl, i386 */), "b"(fd), "c"(cmd), "d"(arg)
		     : "memory", "r8", "r9", "r10", "r11");
	return (int)ret;
}

TEST_F(dev, compat_ioctl)
{
	struct hpage_map_info *info, native;

	HPM_SKIP_GUARD();
	info = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	ASSERT_NE(MAP_FAILED, info);
	ASSERT_GT(1UL << 32, (unsigned long)info);
	memset(info, 0xa5, sizeof(*info));
	ASSERT_EQ(0, hpm_get_info(self->fd, &native));
	EXPECT_EQ(0, ioctl32(self->fd, HPAGE_MAP_IOC_GET_INFO, (unsigned int)(uintptr_t)info));
	EXPECT_EQ(0, memcmp(&native, info, sizeof(native)));
	EXPECT_EQ(-ENOTTY, ioctl32(self->fd, _IOR(HPAGE_MAP_IOC_MAGIC, 0x01,
						 struct hpage_map_info),
				   (unsigned int)(uintptr_t)info));
	EXPECT_EQ(-EFAULT, ioctl32(self->fd, HPAGE_MAP_IOC_GET_INFO, 0));
	munmap(info, 4096);
}
#endif

/* ------------------------------------------------------------------ */

TEST_F(dev, map_full)
{
	char *a, *b;

	HPM_SKIP_GUARD();
	a = hpm_mmap(self->fd, 0, self->size, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, a);
	EXPECT_EQ(0, (uintptr_t)a % self->ps) TH_LOG("address %p not hugepage aligned", a);
	hpm_fill(a, self->size, 0, 11);
	EXPECT_EQ(-1, hpm_check(a, self->size, 0, 11));

	/* a second mapping of the same buffer sees the same bytes */
	b = hpm_mmap(self->fd, 0, self->size, PROT_READ, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, b);
	EXPECT_NE(a, b);
	EXPECT_EQ(0, (uintptr_t)b % self->ps);
	EXPECT_EQ(-1, hpm_check(b, self->size, 0, 11));
	hpm_fill(a, self->size, 0, 12);
	EXPECT_EQ(-1, hpm_check(b, self->size, 0, 12));
	munmap(a, self->size);
	munmap(b, self->size);
}

TEST_F(dev, map_offset_subranges)
{
	size_t ps = self->ps;
	char *a;

	HPM_SKIP_GUARD();
	a = hpm_mmap(self->fd, 0, self->size, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, a);
	hpm_fill(a, self->size, 0, 21);

	/* every single page at its offset */
	for (unsigned long k = 0; k < self->nr; k++) {
		char *s = hpm_mmap(self->fd, k * ps, ps, PROT_READ | PROT_WRITE, MAP_SHARED);

		ASSERT_NE(MAP_FAILED, s) TH_LOG("page %lu: %s", k, strerror(errno));
		EXPECT_EQ(0, (uintptr_t)s % ps);
		EXPECT_EQ(-1, hpm_check(s, ps, k * ps, 21)) TH_LOG("page %lu", k);
		hpm_fill(s, ps, k * ps, 100 + k);
		EXPECT_EQ(-1, hpm_check(a + k * ps, ps, k * ps, 100 + k)) TH_LOG("page %lu", k);
		munmap(s, ps);
	}
	/* a multi-page range starting at page 1 and one ending at the last page */
	if (self->nr >= 2) {
		size_t len = (self->nr - 1) * ps;
		char *s = hpm_mmap(self->fd, ps, len, PROT_READ | PROT_WRITE, MAP_SHARED);

		ASSERT_NE(MAP_FAILED, s);
		hpm_fill(s, len, ps, 31);
		EXPECT_EQ(-1, hpm_check(a + ps, len, ps, 31));
		EXPECT_EQ(-1, hpm_check(a, ps, 0, 100)) TH_LOG("page 0 touched by a range that starts at 1");
		munmap(s, len);
		s = hpm_mmap(self->fd, 0, len, PROT_READ, MAP_SHARED);
		ASSERT_NE(MAP_FAILED, s);
		EXPECT_EQ(-1, hpm_check(s, ps, 0, 100));
		EXPECT_EQ(-1, hpm_check(s + ps, len - ps, ps, 31));
		munmap(s, len);
	}
	munmap(a, self->size);
}

TEST_F(dev, map_fixed)
{
	char *want, *a;

	HPM_SKIP_GUARD();
	want = hpm_reserve_aligned(self->size + self->ps, self->ps);
	ASSERT_NE(MAP_FAILED, want);

	/* at an aligned address: exactly there */
	a = mmap(want, self->ps, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, self->fd, 0);
	ASSERT_EQ(want, a);
	hpm_fill(a, self->ps, 0, 41);
	munmap(a, self->ps);

	/* 4 KiB-aligned but not hugepage-aligned: EINVAL */
	a = mmap(want + 4096, self->ps, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 self->fd, 0);
	EXPECT_EQ(MAP_FAILED, a);
	EXPECT_EQ(EINVAL, errno);
	if (a != MAP_FAILED)
		munmap(a, self->ps);
	a = mmap(want + self->ps / 2, self->ps, PROT_READ, MAP_SHARED | MAP_FIXED_NOREPLACE,
		 self->fd, 0);
	EXPECT_EQ(MAP_FAILED, a);
	if (a != MAP_FAILED)
		munmap(a, self->ps);
	munmap(want, self->size + self->ps);

	/* the data written at the fixed address is in the buffer */
	a = hpm_mmap(self->fd, 0, self->ps, PROT_READ, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, a);
	EXPECT_EQ(-1, hpm_check(a, self->ps, 0, 41));
	munmap(a, self->ps);
}

TEST_F(dev, data_persists_across_close)
{
	char *a;
	int fd;

	HPM_SKIP_GUARD();
	a = hpm_mmap(self->fd, 0, self->size, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, a);
	hpm_fill(a, self->size, 0, 51);
	munmap(a, self->size);
	close(self->fd);
	self->fd = -1;

	fd = hpm_open(O_RDWR);
	ASSERT_LE(0, fd);
	a = hpm_mmap(fd, 0, self->size, PROT_READ, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, a);
	EXPECT_EQ(-1, hpm_check(a, self->size, 0, 51));
	munmap(a, self->size);
	close(fd);
}

/* ------------------------------------------------------------------ */
/* sharing                                                             */

/* A process that opened the device on its own sees and changes the same memory. */
TEST_F(dev, shared_separate_open)
{
	int to_child[2], to_parent[2];
	size_t ps = self->ps;
	unsigned long last = self->nr - 1;
	char c, *a;
	pid_t pid;

	HPM_SKIP_GUARD();
	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));
	pid = hpm_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd;
		char *m;

		close(self->fd);	/* nothing inherited from the parent's open */
		fd = hpm_open(O_RDWR);
		if (fd < 0)
			_exit(1);
		m = hpm_mmap(fd, 0, self->size, PROT_READ | PROT_WRITE, MAP_SHARED);
		if (m == MAP_FAILED)
			_exit(2);
		if (write(to_parent[1], "m", 1) != 1 || read(to_child[0], &c, 1) != 1)
			_exit(3);
		if (hpm_check(m, self->size, 0, 61) != -1)
			_exit(4);
		hpm_fill(m + last * ps, ps, last * ps, 62);
		if (write(to_parent[1], "w", 1) != 1 || read(to_child[0], &c, 1) != 1)
			_exit(5);
		_exit(hpm_check(m, ps, 0, 63) == -1 ? 0 : 6);
	}
	ASSERT_EQ(1, read(to_parent[0], &c, 1));	/* child mapped first */
	a = hpm_mmap(self->fd, 0, self->size, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, a);
	hpm_fill(a, self->size, 0, 61);
	ASSERT_EQ(1, write(to_child[1], "g", 1));
	ASSERT_EQ(1, read(to_parent[0], &c, 1));
	EXPECT_EQ(-1, hpm_check(a + last * ps, ps, last * ps, 62));
	hpm_fill(a, ps, 0, 63);
	ASSERT_EQ(1, write(to_child[1], "g", 1));
	EXPECT_EQ(0, hpm_wait(pid));
	munmap(a, self->size);
}

/* exec'd helper: HPM_EXEC_HELPER="<offset> <len> <seed to check> <seed to write>" */
static void __attribute__((constructor)) exec_helper(void)
{
	const char *arg = getenv("HPM_EXEC_HELPER");
	unsigned long long off, len, in, out;
	char *m;
	int fd;

	if (!arg)
		return;
	if (sscanf(arg, "%llu %llu %llu %llu", &off, &len, &in, &out) != 4)
		_exit(10);
	fd = open(HPAGE_MAP_DEVICE, O_RDWR);
	if (fd < 0)
		_exit(11);
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
	if (m == MAP_FAILED)
		_exit(12);
	if (hpm_check(m, len, off, in) != -1)
		_exit(13);
	hpm_fill(m, len, off, out);
	_exit(0);
}

/* An exec'd program (new mm, own open) shares the memory. */
TEST_F(dev, shared_exec)
{
	unsigned long long off = (self->nr - 1) * self->ps;
	char env[128], *a;
	pid_t pid;

	HPM_SKIP_GUARD();
	a = hpm_mmap(self->fd, 0, self->size, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, a);
	hpm_fill(a, self->size, 0, 71);
	snprintf(env, sizeof(env), "%llu %lu 71 72", off, self->ps);
	pid = hpm_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		setenv("HPM_EXEC_HELPER", env, 1);
		execl("/proc/self/exe", "hpm-exec-helper", (char *)NULL);
		_exit(20);
	}
	EXPECT_EQ(0, hpm_wait(pid));
	EXPECT_EQ(-1, hpm_check(a + off, self->ps, off, 72));
	EXPECT_EQ(-1, hpm_check(a, off, 0, 71));
	munmap(a, self->size);
}

/* A forked child shares the parent's mapping both ways (MAP_SHARED, no COW). */
TEST_F(dev, fork_shares_mapping)
{
	int to_child[2], to_parent[2];
	char c, *a;
	pid_t pid;

	HPM_SKIP_GUARD();
	a = hpm_mmap(self->fd, 0, self->size, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, a);
	hpm_fill(a, self->size, 0, 81);
	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));
	pid = hpm_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (hpm_check(a, self->size, 0, 81) != -1)
			_exit(1);
		hpm_fill(a, self->size, 0, 82);
		if (write(to_parent[1], "w", 1) != 1 || read(to_child[0], &c, 1) != 1)
			_exit(2);
		_exit(hpm_check(a, self->size, 0, 83) == -1 ? 0 : 3);
	}
	ASSERT_EQ(1, read(to_parent[0], &c, 1));
	EXPECT_EQ(-1, hpm_check(a, self->size, 0, 82));
	hpm_fill(a, self->size, 0, 83);
	ASSERT_EQ(1, write(to_child[1], "g", 1));
	EXPECT_EQ(0, hpm_wait(pid));
	/* the child's exit left the parent's mapping alone */
	EXPECT_EQ(-1, hpm_check(a, self->size, 0, 83));
	munmap(a, self->size);
}

/* ------------------------------------------------------------------ */

TEST_F(dev, rdonly_open)
{
	char *w, *r;
	pid_t pid;
	int fd;

	HPM_SKIP_GUARD();
	w = hpm_mmap(self->fd, 0, self->size, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, w);
	hpm_fill(w, self->size, 0, 91);

	fd = hpm_open(O_RDONLY);
	ASSERT_LE(0, fd);
	r = hpm_mmap(fd, 0, self->size, PROT_READ, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, r);
	EXPECT_EQ(-1, hpm_check(r, self->size, 0, 91));

	EXPECT_EQ(EACCES, hpm_mmap_errno(fd, 0, self->size, PROT_READ | PROT_WRITE, MAP_SHARED));
	EXPECT_EQ(EACCES, hpm_mmap_errno(fd, 0, self->ps, PROT_WRITE, MAP_SHARED));
	EXPECT_EQ(-1, mprotect(r, self->size, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(-1, mprotect(r, self->ps, PROT_WRITE));
	EXPECT_EQ(EACCES, errno);

	/* a store through it faults */
	pid = hpm_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		*(volatile char *)r = 1;
		_exit(0);
	}
	EXPECT_EQ(128 + SIGSEGV, hpm_wait(pid));
	EXPECT_EQ(-1, hpm_check(w, self->size, 0, 91));
	munmap(r, self->size);
	munmap(w, self->size);
	close(fd);
}

TEST_F(dev, smaps_page_size)
{
	long long kps = self->ps >> 10;
	char *a;

	HPM_SKIP_GUARD();
	a = hpm_mmap(self->fd, 0, self->size, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, a);
	hpm_touch(a, self->size);
	EXPECT_EQ(kps, hpm_smaps_kb(a, "KernelPageSize"));
	EXPECT_EQ(kps, hpm_smaps_kb(a, "MMUPageSize"));
	EXPECT_EQ((long long)self->size >> 10, hpm_smaps_kb(a, "Size"));
	EXPECT_EQ((long long)self->size >> 10,
		  hpm_smaps_kb(a, "Shared_Hugetlb") + hpm_smaps_kb(a, "Private_Hugetlb"))
		TH_LOG("touched pages not accounted as hugetlb");
	munmap(a, self->size);
}

TEST_F(dev, maps_name)
{
	unsigned long long off = self->nr >= 2 ? self->ps : 0, got_off = ~0ULL;
	size_t len = self->ps;
	char line[512], perms[8] = "";
	unsigned long s = 0, e = 0;
	char *a;

	HPM_SKIP_GUARD();
	a = hpm_mmap(self->fd, off, len, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, a);
	ASSERT_EQ(0, hpm_maps_line(a, line, sizeof(line)));
	TH_LOG("maps: %s", line);
	EXPECT_NE(NULL, strstr(line, "hpage_map")) TH_LOG("%s", line);
	EXPECT_EQ(NULL, strstr(line, "(deleted)")) TH_LOG("%s", line);
	ASSERT_EQ(4, sscanf(line, "%lx-%lx %7s %llx", &s, &e, perms, &got_off));
	EXPECT_EQ((unsigned long)a, s);
	EXPECT_EQ((unsigned long)a + len, e);
	EXPECT_STREQ("rw-s", perms);
	EXPECT_EQ(off, got_off);
	munmap(a, len);
}

/* ------------------------------------------------------------------ */
/* fault accounting                                                    */

TEST_F(dev, faults_one_per_hugepage)
{
	long f0, f1, f2, m0;
	char *a;

	HPM_SKIP_GUARD();
	a = hpm_mmap(self->fd, 0, self->size, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, a);
	m0 = hpm_majflt();
	f0 = hpm_minflt();
	hpm_touch(a, self->size);	/* every 4 KiB of every hugepage */
	f1 = hpm_minflt();
	hpm_touch(a, self->size);
	f2 = hpm_minflt();
	EXPECT_EQ((long)self->nr, f1 - f0) TH_LOG("first pass");
	EXPECT_EQ(0, f2 - f1) TH_LOG("second pass");
	EXPECT_EQ(0, hpm_majflt() - m0);
	munmap(a, self->size);

	/* a one-page sub-range: one fault, reading counts as touching */
	if (self->nr >= 2) {
		volatile uint64_t sum = 0;

		a = hpm_mmap(self->fd, self->ps, self->ps, PROT_READ, MAP_SHARED);
		ASSERT_NE(MAP_FAILED, a);
		f0 = hpm_minflt();
		for (size_t o = 0; o < self->ps; o += 4096)
			sum += *(volatile uint64_t *)(a + o);
		f1 = hpm_minflt();
		EXPECT_EQ(1, f1 - f0);
		munmap(a, self->ps);
	}
}

TEST_F(dev, faults_none_after_populate)
{
	long f0, f1, f2;
	char *a;

	HPM_SKIP_GUARD();
	f0 = hpm_minflt();
	a = hpm_mmap(self->fd, 0, self->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE);
	f1 = hpm_minflt();
	ASSERT_NE(MAP_FAILED, a);
	hpm_touch(a, self->size);
	f2 = hpm_minflt();
	EXPECT_EQ(0, f2 - f1) TH_LOG("touch after MAP_POPULATE faulted");
	/* 6.1 does not count populate faults on hugetlb, 6.12 counts one per page */
	EXPECT_TRUE(f1 - f0 == 0 || f1 - f0 == (long)self->nr)
		TH_LOG("MAP_POPULATE itself: %ld faults", f1 - f0);
	munmap(a, self->size);
}

/* ------------------------------------------------------------------ */
/* bad input                                                           */

TEST_F(dev, bad_length)
{
	int rw = PROT_READ | PROT_WRITE;

	HPM_SKIP_GUARD();
	EXPECT_EQ(EINVAL, hpm_mmap_errno(self->fd, 0, self->ps / 2, rw, MAP_SHARED));
	EXPECT_EQ(EINVAL, hpm_mmap_errno(self->fd, 0, 4096, rw, MAP_SHARED));
	EXPECT_EQ(EINVAL, hpm_mmap_errno(self->fd, 0, self->ps + 4096, rw, MAP_SHARED));
	EXPECT_EQ(EINVAL, hpm_mmap_errno(self->fd, 0, self->size - 4096, rw, MAP_SHARED));
	EXPECT_EQ(EINVAL, hpm_mmap_errno(self->fd, 0, self->size - 4096, PROT_READ, MAP_SHARED));
}

TEST_F(dev, bad_offset)
{
	int rw = PROT_READ | PROT_WRITE;

	HPM_SKIP_GUARD();
	EXPECT_EQ(EINVAL, hpm_mmap_errno(self->fd, 4096, self->ps, rw, MAP_SHARED));
	EXPECT_EQ(EINVAL, hpm_mmap_errno(self->fd, self->ps / 2, self->ps, rw, MAP_SHARED));
	EXPECT_EQ(EINVAL, hpm_mmap_errno(self->fd, self->ps - 4096, self->ps, PROT_READ,
					 MAP_SHARED));
}

TEST_F(dev, range_past_end)
{
	int rw = PROT_READ | PROT_WRITE;
	size_t ps = self->ps, size = self->size;

	HPM_SKIP_GUARD();
	/* length past the end */
	EXPECT_EQ(EINVAL, hpm_mmap_errno(self->fd, 0, size + ps, rw, MAP_SHARED));
	/* last page plus one */
	EXPECT_EQ(EINVAL, hpm_mmap_errno(self->fd, size - ps, 2 * ps, rw, MAP_SHARED));
	/* offset at and past the end */
	EXPECT_EQ(EINVAL, hpm_mmap_errno(self->fd, size, ps, rw, MAP_SHARED));
	EXPECT_EQ(EINVAL, hpm_mmap_errno(self->fd, size + ps, ps, PROT_READ, MAP_SHARED));
	EXPECT_EQ(EINVAL, hpm_mmap_errno(self->fd, 64 * size, ps, PROT_READ, MAP_SHARED));
	/* the last page alone is fine */
	EXPECT_EQ(0, hpm_mmap_errno(self->fd, size - ps, ps, rw, MAP_SHARED));
}

TEST_F(dev, map_private)
{
	int rofd;

	HPM_SKIP_GUARD();
	EXPECT_EQ(EINVAL, hpm_mmap_errno(self->fd, 0, self->ps, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE));
	EXPECT_EQ(EINVAL, hpm_mmap_errno(self->fd, 0, self->ps, PROT_READ, MAP_PRIVATE));
	rofd = hpm_open(O_RDONLY);
	ASSERT_LE(0, rofd);
	EXPECT_EQ(EINVAL, hpm_mmap_errno(rofd, 0, self->ps, PROT_READ, MAP_PRIVATE));
	EXPECT_EQ(EINVAL, hpm_mmap_errno(rofd, 0, self->ps, PROT_READ | PROT_WRITE, MAP_PRIVATE));
	close(rofd);
}

TEST_F(dev, map_hugetlb)
{
	int huge = __builtin_ctzl(self->ps) << MAP_HUGE_SHIFT;

	HPM_SKIP_GUARD();
	EXPECT_EQ(EINVAL, hpm_mmap_errno(self->fd, 0, self->ps, PROT_READ | PROT_WRITE,
					 MAP_SHARED | MAP_HUGETLB));
	EXPECT_EQ(EINVAL, hpm_mmap_errno(self->fd, 0, self->ps, PROT_READ | PROT_WRITE,
					 MAP_SHARED | MAP_HUGETLB | huge));
}

/* ------------------------------------------------------------------ */
/* mremap, munmap, mprotect                                            */

TEST_F(dev, mremap_grow_fails)
{
	unsigned long s, e;
	char *a, *r;

	HPM_SKIP_GUARD();
	ASSERT_LE(2, self->nr);
	a = hpm_mmap(self->fd, 0, self->ps, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, a);
	hpm_fill(a, self->ps, 0, 101);

	r = mremap(a, self->ps, 2 * self->ps, 0);
	EXPECT_EQ(MAP_FAILED, r) TH_LOG("in-place growth succeeded");
	TH_LOG("in place: %s", strerror(errno));
	r = mremap(a, self->ps, 2 * self->ps, MREMAP_MAYMOVE);
	EXPECT_EQ(MAP_FAILED, r) TH_LOG("moving growth succeeded");
	TH_LOG("may move: %s", strerror(errno));
	if (r != MAP_FAILED) {
		munmap(r, 2 * self->ps);
		return;
	}
	ASSERT_EQ(0, hpm_vma_range(a, &s, &e));
	EXPECT_EQ((unsigned long)a, s);
	EXPECT_EQ((unsigned long)a + self->ps, e);
	EXPECT_EQ(-1, hpm_check(a, self->ps, 0, 101));
	munmap(a, self->ps);
}

TEST_F(dev, mremap_move)
{
	char line[512], *a, *dst, *r, *b;

	HPM_SKIP_GUARD();
	a = hpm_mmap(self->fd, 0, self->size, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, a);
	hpm_fill(a, self->size, 0, 111);
	dst = hpm_reserve_aligned(self->size + self->ps, self->ps);
	ASSERT_NE(MAP_FAILED, dst);

	/* to an unaligned address: EINVAL, nothing moved */
	r = mremap(a, self->size, self->size, MREMAP_MAYMOVE | MREMAP_FIXED, dst + 4096);
	EXPECT_EQ(MAP_FAILED, r);
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, hpm_check(a, self->size, 0, 111));

	r = mremap(a, self->size, self->size, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	ASSERT_EQ(dst, r);
	EXPECT_EQ(-1, hpm_check(dst, self->size, 0, 111));
	/* the old range is gone */
	if (!hpm_maps_line(a, line, sizeof(line))) {
		EXPECT_EQ(NULL, strstr(line, "hpage_map")) TH_LOG("%s", line);
	}
	/* still the shared buffer */
	hpm_fill(dst, self->size, 0, 112);
	b = hpm_mmap(self->fd, 0, self->size, PROT_READ, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, b);
	EXPECT_EQ(-1, hpm_check(b, self->size, 0, 112));
	munmap(b, self->size);
	munmap(dst, self->size + self->ps);
}

TEST_F(dev, munmap_4k_fails)
{
	unsigned long s, e;
	char *a;

	HPM_SKIP_GUARD();
	a = hpm_mmap(self->fd, 0, self->size, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, a);
	hpm_fill(a, self->size, 0, 121);
	EXPECT_EQ(-1, munmap(a + 4096, 4096));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, munmap(a, 4096));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, munmap(a + self->ps - 4096, 4096));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, munmap(a + 4096, self->size - 4096));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, hpm_vma_range(a, &s, &e));
	EXPECT_EQ((unsigned long)a, s);
	EXPECT_EQ((unsigned long)a + self->size, e);
	EXPECT_EQ(-1, hpm_check(a, self->size, 0, 121));
	munmap(a, self->size);
}

TEST_F(dev, mprotect_4k_fails)
{
	unsigned long s, e;
	char line[512];
	char *a;

	HPM_SKIP_GUARD();
	a = hpm_mmap(self->fd, 0, self->size, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, a);
	hpm_fill(a, self->size, 0, 131);
	EXPECT_EQ(-1, mprotect(a + 4096, 4096, PROT_READ));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, mprotect(a, 4096, PROT_READ));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, mprotect(a + self->ps - 4096, 4096, PROT_NONE));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, hpm_vma_range(a, &s, &e));
	EXPECT_EQ((unsigned long)a, s);
	EXPECT_EQ((unsigned long)a + self->size, e);
	ASSERT_EQ(0, hpm_maps_line(a, line, sizeof(line)));
	EXPECT_NE(NULL, strstr(line, " rw-s ")) TH_LOG("%s", line);
	hpm_fill(a, self->size, 0, 132);	/* still writable everywhere */
	EXPECT_EQ(-1, hpm_check(a, self->size, 0, 132));

	/* whole hugepages are fine */
	EXPECT_EQ(0, mprotect(a, self->ps, PROT_READ));
	EXPECT_EQ(0, mprotect(a, self->ps, PROT_READ | PROT_WRITE));
	munmap(a, self->size);
}

/* munmap of a whole hugepage in the middle splits the VMA; the rest keeps its data. */
TEST_F(dev, munmap_hugepage_split)
{
	size_t ps = self->ps;
	unsigned long s, e;
	char *a;

	HPM_SKIP_GUARD();
	ASSERT_LE(2, self->nr);
	a = hpm_mmap(self->fd, 0, self->size, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, a);
	hpm_fill(a, self->size, 0, 141);
	if (self->nr >= 3) {
		ASSERT_EQ(0, munmap(a + ps, ps));
		ASSERT_EQ(0, hpm_vma_range(a, &s, &e));
		EXPECT_EQ((unsigned long)a + ps, e);
		ASSERT_EQ(0, hpm_vma_range(a + 2 * ps, &s, &e));
		EXPECT_EQ((unsigned long)a + 2 * ps, s);
		EXPECT_EQ(-1, hpm_check(a, ps, 0, 141));
		EXPECT_EQ(-1, hpm_check(a + 2 * ps, self->size - 2 * ps, 2 * ps, 141));
		hpm_fill(a + 2 * ps, self->size - 2 * ps, 2 * ps, 142);
		EXPECT_EQ(-1, hpm_check(a + 2 * ps, self->size - 2 * ps, 2 * ps, 142));
		munmap(a, self->size);
	} else {
		ASSERT_EQ(0, munmap(a, ps));
		ASSERT_EQ(0, hpm_vma_range(a + ps, &s, &e));
		EXPECT_EQ((unsigned long)a + ps, s);
		EXPECT_EQ(-1, hpm_check(a + ps, ps, ps, 141));
		munmap(a + ps, ps);
	}
}

TEST_F(dev, read_write_fail)
{
	char buf[64] = "hello";
	struct hpage_map_info info;
	char *a;

	HPM_SKIP_GUARD();
	a = hpm_mmap(self->fd, 0, self->ps, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, a);
	hpm_fill(a, self->ps, 0, 151);
	EXPECT_EQ(-1, read(self->fd, buf, sizeof(buf)));
	TH_LOG("read: %s", strerror(errno));
	EXPECT_EQ(-1, write(self->fd, buf, sizeof(buf)));
	TH_LOG("write: %s", strerror(errno));
	EXPECT_EQ(-1, pread(self->fd, buf, sizeof(buf), 0));
	EXPECT_EQ(-1, pwrite(self->fd, buf, sizeof(buf), 0));
	/* a write of the buffer's own memory back into the device */
	EXPECT_EQ(-1, write(self->fd, a, 4096));
	EXPECT_EQ(-1, read(self->fd, a, 4096));
	EXPECT_EQ(-1, hpm_check(a, self->ps, 0, 151));
	EXPECT_EQ(0, hpm_get_info(self->fd, &info));
	munmap(a, self->ps);
}

TEST_HARNESS_MAIN
