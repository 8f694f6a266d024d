// SPDX-License-Identifier: GPL-2.0
/*
 * dma_pages.c - HPAGE_MAP_IOC_GET_PAGES and the pages staying put (issue 4, part 1)
 *
 * hpage-map-profiles: default numa
 *
 * Checks:
 *  - GET_PAGES fills one physical address per huge page: each page-size
 *    aligned, all distinct, equal to what /proc/self/pagemap reports (as
 *    root) for every 4 KiB of a MAP_POPULATE mapping of the same pages; any
 *    sub-range gives the matching slice; nothing past @count is written; the
 *    addresses do not change while the module stays loaded; a 40-page pool
 *    (more than GET_PAGES copies at once) with ranges across its chunks;
 *  - EPERM once CAP_SYS_ADMIN is dropped (raw capset() in a forked child;
 *    effective set only, and effective + permitted) and for a child whose
 *    CAP_SYS_ADMIN is only that of a new user namespace, with a child that
 *    keeps it as the control;
 *  - EINVAL for first/count out of range, count 0, first + count wrapping
 *    around, any unknown flag bit, reserved != 0; EFAULT for a bad addrs
 *    pointer (NULL, unmapped, read-only, kernel, partly unmapped) and a bad
 *    argument pointer;
 *  - numa profile only (two nodes, pool of 4 pages loaded under an
 *    interleave policy so that it spans both): move_pages() of every page to
 *    the other node, mbind(MPOL_BIND, MPOL_MF_MOVE | MPOL_MF_STRICT) of every
 *    page to the other node and migrate_pages() of the whole process between
 *    the nodes leave each page on its node, at its physical address
 *    (GET_PAGES and pagemap) and with its data.  A hugetlb memfd page moved
 *    the same way does migrate: the control that shows the kernel would
 *    move an unpinned page.  Skipped outside the numa profile.
 */
#include "hpm_test.h"

#include <sched.h>
#include <linux/capability.h>
#include <linux/mempolicy.h>

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif

#define PM_PFN_MASK	((1ULL << 55) - 1)
#define PM_PRESENT	(1ULL << 63)
#define SMALL_PAGE	4096UL
#define NUMA_NR_PAGES	4
#define MAX_PAGES	64
#define CANARY		0xC0FFEE00DEADBEEFULL

/* ------------------------------------------------------------------ */
/* helpers                                                             */

static bool numa_profile(void)
{
	const char *p = getenv("HPM_PROFILE");

	return p && !strcmp(p, "numa");
}

/* GET_PAGES: 0 or -errno. */
static int get_pages(int fd, uint64_t first, uint64_t count, uint64_t *addrs,
		     uint32_t flags, uint32_t reserved)
{
	struct hpage_map_pages req = {
		.first = first,
		.count = count,
		.addrs = (uintptr_t)addrs,
		.flags = flags,
		.reserved = reserved,
	};

	return ioctl(fd, HPAGE_MAP_IOC_GET_PAGES, &req) ? -errno : 0;
}

/* The pagemap entry of @addr (pagemap opened on /proc/self/pagemap). */
static uint64_t pagemap_entry(int pm, const void *addr)
{
	uint64_t e = 0;
	off_t off = (off_t)((uintptr_t)addr / SMALL_PAGE * sizeof(e));

	if (pread(pm, &e, sizeof(e), off) != sizeof(e))
		return 0;
	return e;
}

/*
 * Compare pagemap over [map, map + nr * ps) with @phys: every 4 KiB present
 * at phys[page] + offset.  Returns -1 if all match, else the first bad byte
 * offset (with the entry in *@entry).  Entries are read 512 at a time: one
 * read per 4 KiB costs seconds on a debug kernel.
 */
static long long pagemap_mismatch(const void *map, unsigned long nr,
				  unsigned long ps, const uint64_t *phys,
				  uint64_t *entry)
{
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	unsigned long first = (uintptr_t)map / SMALL_PAGE;
	unsigned long count = nr * ps / SMALL_PAGE;
	uint64_t batch[512];
	long long bad = -1;

	*entry = 0;
	if (pm < 0)
		return 0;
	for (unsigned long i = 0; i < count && bad < 0; i += 512) {
		unsigned long n = count - i < 512 ? count - i : 512;
		ssize_t got = pread(pm, batch, n * sizeof(batch[0]),
				    (off_t)((first + i) * sizeof(batch[0])));

		if (got != (ssize_t)(n * sizeof(batch[0])))
			memset(batch, 0, sizeof(batch));
		for (unsigned long j = 0; j < n; j++) {
			unsigned long o = (i + j) * SMALL_PAGE;
			uint64_t want = (phys[o / ps] + o % ps) / SMALL_PAGE;

			if (!(batch[j] & PM_PRESENT) ||
			    (batch[j] & PM_PFN_MASK) != want) {
				*entry = batch[j];
				bad = (long long)o;
				break;
			}
		}
	}
	close(pm);
	return bad;
}

/* Parse a sysfs node list ("0-1", "0,2-3") into @nodes; returns the count. */
static int node_list(const char *path, int *nodes, int max)
{
	char buf[256], *p;
	int n = 0;

	if (hpm_read_file(path, buf, sizeof(buf)) <= 0)
		return 0;
	p = buf;
	while (*p && *p != '\n') {
		char *end;
		long a = strtol(p, &end, 10), b = a;

		if (end == p)
			break;
		if (*end == '-')
			b = strtol(end + 1, &end, 10);
		for (long i = a; i <= b && n < max; i++)
			nodes[n++] = (int)i;
		p = *end == ',' ? end + 1 : end;
	}
	return n;
}

/* The node of each page in @pages (move_pages() with no target): 0 or -errno. */
static int page_nodes(void **pages, unsigned long n, int *nodes)
{
	for (unsigned long i = 0; i < n; i++)
		nodes[i] = INT32_MIN;
	if (syscall(SYS_move_pages, 0, n, pages, NULL, nodes, 0) < 0)
		return -errno;
	return 0;
}

/* raw capget/capset: drop CAP_SYS_ADMIN from effective (and permitted). */
static int drop_sys_admin(bool permitted_too)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};
	struct __user_cap_data_struct data[2];
	unsigned int idx = CAP_SYS_ADMIN / 32, bit = 1U << (CAP_SYS_ADMIN % 32);

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[idx].effective &= ~bit;
	if (permitted_too) {
		data[idx].permitted &= ~bit;
		data[idx].inheritable &= ~bit;
	}
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	/* read back: really gone from the effective set */
	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	if (data[idx].effective & bit)
		return -EPERM;
	if (permitted_too && (data[idx].permitted & bit))
		return -EPERM;
	return 0;
}

/*
 * Load the pool this profile's tests use: the profile's geometry, or in
 * the numa profile NUMA_NR_PAGES 2M pages allocated under an interleave
 * policy over every node with memory (the hugetlbfs fallocate done by the
 * module's init runs in this task and follows its policy), so that the
 * pool spans both nodes.  0 or a negative / positive error.
 */
static int load_pool(void)
{
	struct hpage_map_info info;
	unsigned long mask = 0;
	int nodes[8], n, ret;

	if (!numa_profile())
		return hpm_ensure_profile_loaded();

	if (hpm_module_loaded()) {
		int fd = hpm_open(O_RDONLY);

		if (fd >= 0) {
			ret = hpm_get_info(fd, &info);
			close(fd);
			if (!ret && info.nr_pages == NUMA_NR_PAGES &&
			    info.page_size == (2UL << 20) && info.numa_node == -1)
				return 0;
		}
		ret = hpm_ensure_unloaded();
		if (ret)
			return ret;
	}
	n = node_list("/sys/devices/system/node/has_memory", nodes, 8);
	for (int i = 0; i < n; i++)
		if (nodes[i] < 64)
			mask |= 1UL << nodes[i];
	if (n > 1 && syscall(SYS_set_mempolicy, MPOL_INTERLEAVE, &mask,
			     sizeof(mask) * 8))
		return -errno;
	ret = hpm_finit("nr_pages=4 page_size=2M");
	syscall(SYS_set_mempolicy, MPOL_DEFAULT, NULL, 0);
	return ret;
}

/* ------------------------------------------------------------------ */
/* GET_PAGES                                                           */

FIXTURE(pages) {
	int fd;
	struct hpage_map_info info;
	unsigned long ps, nr;
};

FIXTURE_SETUP(pages)
{
	ASSERT_EQ(0, load_pool());
	self->fd = hpm_open(O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, hpm_get_info(self->fd, &self->info));
	self->ps = self->info.page_size;
	self->nr = self->info.nr_pages;
	ASSERT_LE(2, self->nr);
	ASSERT_GE(MAX_PAGES, self->nr);
}

FIXTURE_TEARDOWN(pages)
{
	close(self->fd);
}

/* Page-size aligned, distinct, non-zero; nothing written past count. */
TEST_F(pages, aligned_distinct)
{
	uint64_t addrs[MAX_PAGES + 4];

	for (unsigned int i = 0; i < MAX_PAGES + 4; i++)
		addrs[i] = CANARY;
	ASSERT_EQ(0, get_pages(self->fd, 0, self->nr, addrs, 0, 0));
	for (unsigned long i = 0; i < self->nr; i++) {
		EXPECT_NE(CANARY, addrs[i]) TH_LOG("page %lu not written", i);
		EXPECT_NE(0, addrs[i]) TH_LOG("page %lu at physical 0", i);
		EXPECT_EQ(0, addrs[i] % self->ps)
			TH_LOG("page %lu at %#llx: not %lu-aligned", i,
			       (unsigned long long)addrs[i], self->ps);
		for (unsigned long j = 0; j < i; j++) {
			EXPECT_NE(addrs[j], addrs[i])
				TH_LOG("pages %lu and %lu both at %#llx", j, i,
				       (unsigned long long)addrs[i]);
		}
	}
	EXPECT_EQ(CANARY, addrs[self->nr]) TH_LOG("wrote past count");
}

/* As root, pagemap of a MAP_POPULATE mapping shows the same frames. */
TEST_F(pages, equal_to_pagemap)
{
	size_t len = self->nr * self->ps;
	uint64_t addrs[MAX_PAGES], entry;
	long long bad;
	void *map;

	ASSERT_EQ(0, get_pages(self->fd, 0, self->nr, addrs, 0, 0));
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		   self->fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	bad = pagemap_mismatch(map, self->nr, self->ps, addrs, &entry);
	EXPECT_EQ(-1, bad)
		TH_LOG("buffer offset %#llx: pagemap %#llx (present %d pfn %#llx), GET_PAGES says page at %#llx",
		       bad, (unsigned long long)entry, !!(entry & PM_PRESENT),
		       (unsigned long long)(entry & PM_PFN_MASK),
		       bad >= 0 ? (unsigned long long)addrs[bad / self->ps] : 0ULL);
	munmap(map, len);

	/* a mapping of the upper half at an offset: the same frames again */
	len = (self->nr / 2) * self->ps;
	map = mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_POPULATE, self->fd,
		   (off_t)(self->nr - self->nr / 2) * self->ps);
	ASSERT_NE(MAP_FAILED, map);
	bad = pagemap_mismatch(map, self->nr / 2, self->ps,
			       addrs + (self->nr - self->nr / 2), &entry);
	EXPECT_EQ(-1, bad) TH_LOG("offset mapping: mismatch at %#llx, pagemap %#llx",
				  bad, (unsigned long long)entry);
	munmap(map, len);
}

/* Every sub-range gives the matching slice of the whole list. */
TEST_F(pages, subranges)
{
	uint64_t all[MAX_PAGES], part[MAX_PAGES + 1];

	ASSERT_EQ(0, get_pages(self->fd, 0, self->nr, all, 0, 0));
	for (unsigned long first = 0; first < self->nr; first++) {
		for (unsigned long count = 1; first + count <= self->nr; count++) {
			for (unsigned long i = 0; i <= count; i++)
				part[i] = CANARY;
			ASSERT_EQ(0, get_pages(self->fd, first, count, part, 0, 0))
				TH_LOG("first %lu count %lu", first, count);
			for (unsigned long i = 0; i < count; i++) {
				EXPECT_EQ(all[first + i], part[i])
					TH_LOG("first %lu count %lu: entry %lu", first, count, i);
			}
			EXPECT_EQ(CANARY, part[count])
				TH_LOG("first %lu count %lu: wrote past count", first, count);
		}
	}
}

/* Mapping, touching, unmapping and reopening do not move the pages. */
TEST_F(pages, stable)
{
	size_t len = self->nr * self->ps;
	uint64_t before[MAX_PAGES], after[MAX_PAGES];
	void *map;
	int fd2;

	ASSERT_EQ(0, get_pages(self->fd, 0, self->nr, before, 0, 0));
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	hpm_touch(map, len);
	ASSERT_EQ(0, munmap(map, len));
	fd2 = hpm_open(O_RDONLY);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, get_pages(fd2, 0, self->nr, after, 0, 0));
	close(fd2);
	for (unsigned long i = 0; i < self->nr; i++) {
		EXPECT_EQ(before[i], after[i]) TH_LOG("page %lu moved", i);
	}
}

/*
 * Run GET_PAGES in a forked child after @drop (0: keep CAP_SYS_ADMIN, 1:
 * drop it from the effective set, 2: from effective and permitted, 3: move
 * into a new user namespace, where it has every capability but none in
 * the initial one), on the fixture's fd or (@reopen) on a fd opened after
 * the drop.  Returns the errno GET_PAGES failed with (0: it worked), or
 * >= 200 on a setup error.
 */
static int get_pages_in_child(int fd, unsigned long nr, int drop, bool reopen)
{
	pid_t pid = hpm_fork();

	if (pid == 0) {
		uint64_t addrs[MAX_PAGES];
		int ret;

		if (drop == 3) {
			if (unshare(CLONE_NEWUSER))
				_exit(203);
		} else if (drop && drop_sys_admin(drop == 2)) {
			_exit(200);
		}
		if (reopen) {
			fd = open(HPAGE_MAP_DEVICE, O_RDWR | O_CLOEXEC);
			if (fd < 0)
				_exit(201);
		}
		ret = get_pages(fd, 0, nr, addrs, 0, 0);
		_exit(ret ? -ret : 0);
	}
	if (pid < 0)
		return 202;
	return hpm_wait(pid);
}

TEST_F(pages, eperm_without_cap_sys_admin)
{
	/* control: the same child with the capability succeeds */
	EXPECT_EQ(0, get_pages_in_child(self->fd, self->nr, 0, false));
	EXPECT_EQ(0, get_pages_in_child(self->fd, self->nr, 0, true));
	/* effective set only (still permitted) */
	EXPECT_EQ(EPERM, get_pages_in_child(self->fd, self->nr, 1, false));
	/* effective and permitted, fd opened before / after the drop */
	EXPECT_EQ(EPERM, get_pages_in_child(self->fd, self->nr, 2, false));
	EXPECT_EQ(EPERM, get_pages_in_child(self->fd, self->nr, 2, true));
	/* CAP_SYS_ADMIN only in a user namespace of its own */
	EXPECT_EQ(EPERM, get_pages_in_child(self->fd, self->nr, 3, false));
}

/* first at or beyond the end: EINVAL */
TEST_F(pages, first_out_of_range)
{
	uint64_t addrs[MAX_PAGES];

	EXPECT_EQ(-EINVAL, get_pages(self->fd, self->nr, 1, addrs, 0, 0));
	EXPECT_EQ(-EINVAL, get_pages(self->fd, self->nr + 1, 1, addrs, 0, 0));
	EXPECT_EQ(-EINVAL, get_pages(self->fd, 1ULL << 32, 1, addrs, 0, 0));
	EXPECT_EQ(-EINVAL, get_pages(self->fd, UINT64_MAX, 1, addrs, 0, 0));
}

/* count past the end: EINVAL */
TEST_F(pages, count_out_of_range)
{
	uint64_t addrs[MAX_PAGES + 1];

	EXPECT_EQ(-EINVAL, get_pages(self->fd, 0, self->nr + 1, addrs, 0, 0));
	EXPECT_EQ(-EINVAL, get_pages(self->fd, 1, self->nr, addrs, 0, 0));
	EXPECT_EQ(-EINVAL, get_pages(self->fd, self->nr - 1, 2, addrs, 0, 0));
	EXPECT_EQ(-EINVAL, get_pages(self->fd, 0, 1ULL << 32, addrs, 0, 0));
}

TEST_F(pages, count_zero)
{
	uint64_t addrs[1] = { CANARY };

	EXPECT_EQ(-EINVAL, get_pages(self->fd, 0, 0, addrs, 0, 0));
	EXPECT_EQ(-EINVAL, get_pages(self->fd, 1, 0, addrs, 0, 0));
	EXPECT_EQ(CANARY, addrs[0]);
}

/* first + count wraps around 2^64 to a small value: EINVAL */
TEST_F(pages, first_plus_count_overflows)
{
	uint64_t addrs[MAX_PAGES];

	/* first + count == 2^64 + {0, 1, 2}: "inside" if it wrapped */
	EXPECT_EQ(-EINVAL, get_pages(self->fd, 1, UINT64_MAX, addrs, 0, 0));
	EXPECT_EQ(-EINVAL, get_pages(self->fd, 2, UINT64_MAX, addrs, 0, 0));
	EXPECT_EQ(-EINVAL, get_pages(self->fd, self->nr - 1,
				      UINT64_MAX - self->nr + 4, addrs, 0, 0));
	EXPECT_EQ(-EINVAL, get_pages(self->fd, UINT64_MAX, 2, addrs, 0, 0));
	EXPECT_EQ(-EINVAL, get_pages(self->fd, UINT64_MAX - 1, 3, addrs, 0, 0));
}

/* addrs not writable for count entries: EFAULT */
TEST_F(pages, bad_addrs_pointer)
{
	long pgsz = sysconf(_SC_PAGESIZE);
	char *two;
	uint64_t *tail;

	EXPECT_EQ(-EFAULT, get_pages(self->fd, 0, 1, NULL, 0, 0));
	EXPECT_EQ(-EFAULT, get_pages(self->fd, 0, self->nr,
				     (uint64_t *)0xffff888000000000ULL, 0, 0));

	two = mmap(NULL, 2 * pgsz, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, two);
	/* read-only page */
	ASSERT_EQ(0, mprotect(two, pgsz, PROT_READ));
	EXPECT_EQ(-EFAULT, get_pages(self->fd, 0, 1, (uint64_t *)two, 0, 0));
	/* unmapped page */
	ASSERT_EQ(0, mprotect(two, pgsz, PROT_NONE));
	EXPECT_EQ(-EFAULT, get_pages(self->fd, 0, self->nr, (uint64_t *)two, 0, 0));
	/* the array starts writable and runs into a PROT_NONE page */
	ASSERT_EQ(0, mprotect(two, pgsz, PROT_READ | PROT_WRITE));
	ASSERT_EQ(0, mprotect(two + pgsz, pgsz, PROT_NONE));
	tail = (uint64_t *)(two + pgsz) - 1;
	EXPECT_EQ(-EFAULT, get_pages(self->fd, 0, self->nr, tail, 0, 0));
	/* the single entry that fits works */
	EXPECT_EQ(0, get_pages(self->fd, 0, 1, tail, 0, 0));
	munmap(two, 2 * pgsz);
}

/* the argument itself unreadable: EFAULT */
TEST_F(pages, bad_arg_pointer)
{
	EXPECT_EQ(-1, ioctl(self->fd, HPAGE_MAP_IOC_GET_PAGES, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, HPAGE_MAP_IOC_GET_PAGES, (void *)8));
	EXPECT_EQ(EFAULT, errno);
}

/* every flag bit is unknown today: EINVAL, addrs untouched */
TEST_F(pages, unknown_flags)
{
	uint64_t addrs[MAX_PAGES];

	for (int bit = 0; bit < 32; bit++) {
		addrs[0] = CANARY;
		EXPECT_EQ(-EINVAL, get_pages(self->fd, 0, 1, addrs, 1U << bit, 0))
			TH_LOG("flags %#x", 1U << bit);
		EXPECT_EQ(CANARY, addrs[0]) TH_LOG("flags %#x wrote addrs", 1U << bit);
	}
	EXPECT_EQ(-EINVAL, get_pages(self->fd, 0, 1, addrs, UINT32_MAX, 0));
}

TEST_F(pages, reserved_nonzero)
{
	uint64_t addrs[MAX_PAGES];

	EXPECT_EQ(-EINVAL, get_pages(self->fd, 0, 1, addrs, 0, 1));
	EXPECT_EQ(-EINVAL, get_pages(self->fd, 0, 1, addrs, 0, 1U << 31));
	EXPECT_EQ(-EINVAL, get_pages(self->fd, 0, self->nr, addrs, 0, UINT32_MAX));
}

/*
 * More pages than GET_PAGES copies out at once (it works in chunks): a
 * 40-page pool, checked against pagemap, with ranges across the chunks.
 */
TEST(more_pages_than_a_chunk)
{
	const unsigned long nr = 40, ps = 2UL << 20;
	uint64_t all[MAX_PAGES + 1], part[MAX_PAGES + 1], entry;
	static const unsigned long ranges[][2] = {
		{ 0, 40 }, { 0, 33 }, { 1, 32 }, { 5, 35 }, { 31, 2 }, { 32, 8 },
		{ 31, 9 }, { 39, 1 }, { 7, 31 },
	};
	long long bad;
	char *map;
	int fd;

	ASSERT_EQ(0, hpm_ensure_loaded("2M", nr));
	fd = hpm_open(O_RDWR);
	ASSERT_LE(0, fd);
	for (unsigned int i = 0; i <= MAX_PAGES; i++)
		all[i] = CANARY;
	ASSERT_EQ(0, get_pages(fd, 0, nr, all, 0, 0));
	EXPECT_EQ(CANARY, all[nr]);
	for (unsigned long i = 0; i < nr; i++) {
		EXPECT_EQ(0, all[i] % ps) TH_LOG("page %lu at %#llx", i,
						 (unsigned long long)all[i]);
		for (unsigned long j = 0; j < i; j++) {
			EXPECT_NE(all[j], all[i]) TH_LOG("pages %lu and %lu", j, i);
		}
	}
	map = mmap(NULL, nr * ps, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	bad = pagemap_mismatch(map, nr, ps, all, &entry);
	EXPECT_EQ(-1, bad) TH_LOG("buffer offset %#llx: pagemap %#llx", bad,
				  (unsigned long long)entry);
	munmap(map, nr * ps);

	for (unsigned int r = 0; r < sizeof(ranges) / sizeof(ranges[0]); r++) {
		unsigned long first = ranges[r][0], count = ranges[r][1];

		for (unsigned long i = 0; i <= count; i++)
			part[i] = CANARY;
		ASSERT_EQ(0, get_pages(fd, first, count, part, 0, 0))
			TH_LOG("first %lu count %lu", first, count);
		for (unsigned long i = 0; i < count; i++) {
			EXPECT_EQ(all[first + i], part[i])
				TH_LOG("first %lu count %lu: entry %lu", first, count, i);
		}
		EXPECT_EQ(CANARY, part[count]) TH_LOG("first %lu count %lu", first, count);
	}
	EXPECT_EQ(-EINVAL, get_pages(fd, 1, nr, part, 0, 0));
	EXPECT_EQ(-EINVAL, get_pages(fd, 33, 8, part, 0, 0));
	close(fd);
	/* the next test loads its own pool */
	EXPECT_EQ(0, hpm_ensure_unloaded());
}

/* ------------------------------------------------------------------ */
/* the pages never move (numa profile)                                 */

FIXTURE(numa) {
	int fd;
	unsigned long ps, nr;
	size_t len;
	char *map;
	void *pages[MAX_PAGES];
	uint64_t phys[MAX_PAGES];
	int node[MAX_PAGES];
	int nodes[2];
};

FIXTURE_SETUP(numa)
{
	struct hpage_map_info info;
	int all[8], n;

	self->fd = -1;
	self->map = MAP_FAILED;
	n = node_list("/sys/devices/system/node/has_memory", all, 8);
	if (!numa_profile()) {
		SKIP(return, "numa profile only (HPM_PROFILE=%s)",
		     getenv("HPM_PROFILE") ?: "unset");
	}
	ASSERT_EQ(2, n) TH_LOG("numa profile: expected 2 nodes with memory, found %d", n);
	self->nodes[0] = all[0];
	self->nodes[1] = all[1];

	ASSERT_EQ(0, load_pool());
	self->fd = hpm_open(O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, hpm_get_info(self->fd, &info));
	self->ps = info.page_size;
	self->nr = info.nr_pages;
	ASSERT_EQ(NUMA_NR_PAGES, self->nr);
	self->len = self->nr * self->ps;
	self->map = mmap(NULL, self->len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_POPULATE, self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	for (unsigned long i = 0; i < self->nr; i++)
		self->pages[i] = self->map + i * self->ps;
	hpm_fill(self->map, self->len, 0, 0x4e554d41);	/* "NUMA" */
	ASSERT_EQ(0, get_pages(self->fd, 0, self->nr, self->phys, 0, 0));
	ASSERT_EQ(0, page_nodes(self->pages, self->nr, self->node));
	for (unsigned long i = 0; i < self->nr; i++) {
		ASSERT_TRUE(self->node[i] == self->nodes[0] ||
			    self->node[i] == self->nodes[1])
			TH_LOG("page %lu: node status %d", i, self->node[i]);
	}
}

FIXTURE_TEARDOWN(numa)
{
	if (self->map != MAP_FAILED)
		munmap(self->map, self->len);
	if (self->fd >= 0)
		close(self->fd);
}

static int other_node(const int nodes[2], int node)
{
	return node == nodes[0] ? nodes[1] : nodes[0];
}

/* Every page where it was: node, GET_PAGES, pagemap and data. */
#define EXPECT_PAGES_UNMOVED(self, what) do {					\
	uint64_t __now[MAX_PAGES], __entry;					\
	int __node[MAX_PAGES];							\
	long long __bad;							\
										\
	ASSERT_EQ(0, page_nodes((self)->pages, (self)->nr, __node));		\
	for (unsigned long __i = 0; __i < (self)->nr; __i++) {			\
		EXPECT_EQ((self)->node[__i], __node[__i])			\
			TH_LOG("%s: page %lu moved from node %d to %d", what,	\
			       __i, (self)->node[__i], __node[__i]);		\
	}									\
	ASSERT_EQ(0, get_pages((self)->fd, 0, (self)->nr, __now, 0, 0));	\
	for (unsigned long __i = 0; __i < (self)->nr; __i++) {			\
		EXPECT_EQ((self)->phys[__i], __now[__i])			\
			TH_LOG("%s: GET_PAGES: page %lu was at %#llx, now %#llx", \
			       what, __i, (unsigned long long)(self)->phys[__i], \
			       (unsigned long long)__now[__i]);			\
	}									\
	__bad = pagemap_mismatch((self)->map, (self)->nr, (self)->ps,		\
				 (self)->phys, &__entry);			\
	EXPECT_EQ(-1, __bad)							\
		TH_LOG("%s: pagemap at buffer offset %#llx: %#llx", what,	\
		       __bad, (unsigned long long)__entry);			\
	__bad = hpm_check((self)->map, (self)->len, 0, 0x4e554d41);		\
	EXPECT_EQ(-1, __bad) TH_LOG("%s: data lost at %#llx", what, __bad);	\
} while (0)

/* The pool spans both nodes (so that both directions are tried). */
TEST_F(numa, pool_spans_both_nodes)
{
	struct hpage_map_info info;
	bool seen[2] = { false, false };

	HPM_SKIP_GUARD();
	ASSERT_EQ(0, hpm_get_info(self->fd, &info));
	EXPECT_EQ(-1, info.numa_node);
	for (unsigned long i = 0; i < self->nr; i++)
		seen[self->node[i] == self->nodes[1]] = true;
	EXPECT_TRUE(seen[0] && seen[1])
		TH_LOG("pages on nodes %d %d %d %d", self->node[0], self->node[1],
		       self->node[2], self->node[3]);
}

/*
 * Control: a hugetlbfs page cache page without the driver's reference (a
 * MFD_HUGETLB memfd, mapped shared) does move, so the tests below would
 * see a move.
 */
TEST_F(numa, control_hugetlb_memfd_page_migrates)
{
	int mfd, node, target, status = INT32_MIN;
	uint64_t before, after;
	void *pages[1];
	long ret;
	char *p;
	int pm;

	HPM_SKIP_GUARD();
	mfd = memfd_create("hpm-control", MFD_HUGETLB | MFD_CLOEXEC);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, self->ps));
	p = mmap(NULL, self->ps, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_POPULATE, mfd, 0);
	ASSERT_NE(MAP_FAILED, p);
	hpm_fill(p, self->ps, 0, 7);
	pages[0] = p;
	ASSERT_EQ(0, page_nodes(pages, 1, &node));
	pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, pm);
	before = pagemap_entry(pm, p) & PM_PFN_MASK;

	target = other_node(self->nodes, node);
	ret = syscall(SYS_move_pages, 0, 1, pages, &target, &status, MPOL_MF_MOVE);
	EXPECT_EQ(0, ret) TH_LOG("move_pages: %s", strerror(errno));
	EXPECT_EQ(target, status);
	ASSERT_EQ(0, page_nodes(pages, 1, &node));
	EXPECT_EQ(target, node);
	after = pagemap_entry(pm, p) & PM_PFN_MASK;
	EXPECT_NE(before, after) TH_LOG("pfn %#llx unchanged", (unsigned long long)after);
	EXPECT_EQ(-1, hpm_check(p, self->ps, 0, 7));
	close(pm);
	munmap(p, self->ps);
	close(mfd);
}

/*
 * move_pages() of each page (one call per page, so that every page is
 * tried) to the other node: not moved.  The status is an error or the old
 * node (never the target); a positive return leaves it unwritten.
 */
TEST_F(numa, move_pages_leaves_pages)
{
	HPM_SKIP_GUARD();
	for (unsigned long i = 0; i < self->nr; i++) {
		int target = other_node(self->nodes, self->node[i]);
		int status = INT32_MIN;
		long ret;

		errno = 0;
		ret = syscall(SYS_move_pages, 0, 1, &self->pages[i], &target,
			      &status, MPOL_MF_MOVE);
		TH_LOG("page %lu node %d -> %d: move_pages %ld (%s), status %d",
		       i, self->node[i], target, ret, ret < 0 ? strerror(errno) : "-",
		       status);
		EXPECT_LE(0, ret) TH_LOG("move_pages failed: %s", strerror(errno));
		EXPECT_NE(target, status) TH_LOG("page %lu reported moved", i);
		EXPECT_TRUE(status < 0 || status == self->node[i])
			TH_LOG("page %lu: status %d", i, status);
	}
	EXPECT_PAGES_UNMOVED(self, "move_pages");
}

/*
 * mbind(MPOL_BIND to the other node, MPOL_MF_MOVE | MPOL_MF_STRICT) of
 * each page: the page cannot follow the policy, so EIO, and not moved.
 */
TEST_F(numa, mbind_leaves_pages)
{
	HPM_SKIP_GUARD();
	for (unsigned long i = 0; i < self->nr; i++) {
		unsigned long mask = 1UL << other_node(self->nodes, self->node[i]);
		long ret;

		errno = 0;
		ret = syscall(SYS_mbind, self->pages[i], self->ps, MPOL_BIND, &mask,
			      sizeof(mask) * 8, MPOL_MF_MOVE | MPOL_MF_STRICT);
		EXPECT_EQ(-1, ret) TH_LOG("page %lu: mbind succeeded", i);
		EXPECT_EQ(EIO, errno) TH_LOG("page %lu: mbind: %s", i, strerror(errno));
	}
	EXPECT_PAGES_UNMOVED(self, "mbind");
}

/* migrate_pages() of this whole process, each node to the other. */
TEST_F(numa, migrate_pages_leaves_pages)
{
	HPM_SKIP_GUARD();
	for (int k = 0; k < 2; k++) {
		unsigned long from = 1UL << self->nodes[k];
		unsigned long to = 1UL << self->nodes[!k];
		long ret;

		errno = 0;
		ret = syscall(SYS_migrate_pages, 0, sizeof(from) * 8, &from, &to);
		EXPECT_LE(0, ret) TH_LOG("migrate_pages %d -> %d: %s",
					 self->nodes[k], self->nodes[!k], strerror(errno));
	}
	EXPECT_PAGES_UNMOVED(self, "migrate_pages");
}

TEST_HARNESS_MAIN
