// SPDX-License-Identifier: GPL-2.0
/*
 * core_pool.c - hpage_map module load/unload and the hugetlb pool counters
 *
 * hpage-map-profiles: default 1g
 * hpage-map-tier: core
 *
 * Checks, with exact values from /proc/meminfo and from every
 * /sys/kernel/mm/hugepages/hugepages-<kB>kB/ directory:
 *  - loading takes exactly nr_pages pages of the chosen size out of the free
 *    pool (HugePages_Rsvd/Surp, nr_hugepages and the other sizes unchanged);
 *    opening, mmap, touching, MAP_POPULATE, fork, MADV_DONTNEED, munmap and
 *    close change nothing; unloading gives every page back;
 *  - default parameters (nr_pages=8, the default huge page size);
 *  - the read-only module parameters under /sys/module/hpage_map/parameters;
 *  - the driver's sysfs view under /sys/class/misc/hpage_map/ (nr_pages,
 *    page_size, size, mappings = live VMAs, counted exactly);
 *  - pages are zeroed before user space sees them (the pool is dirtied first);
 *  - failed loads (raw finit_module to see the errno): nr_pages=0 -> EINVAL,
 *    unsupported page_size -> EINVAL with a pr_err naming the supported
 *    sizes, a pool too small (or reserved by someone else) -> ENOMEM with one
 *    pr_err giving needed, free and the exact `echo N > .../nr_hugepages`
 *    command; every failed load leaves every counter as it was.
 *
 * Profile: HPM_PAGE_SIZE / HPM_NR_PAGES (2M x 8 or 1G x 2).  1G loads cost
 * ~3-4 s per page under TCG, so tests that only need *a* load use 2M pages
 * (every profile has a 2M pool), and parameters_read_only and sysfs_view
 * share one load (in that order).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hpm_test.h"
#include "kselftest_harness.h"

#define SZ_2M (2UL << 20)

/* Does @text contain @n as a whole number (not part of a longer one)? */
static bool has_number(const char *text, unsigned long long n)
{
	char num[32];
	size_t len;
	const char *p = text;

	len = snprintf(num, sizeof(num), "%llu", n);
	while ((p = strstr(p, num))) {
		bool left = p == text || !isdigit((unsigned char)p[-1]);
		bool right = !isdigit((unsigned char)p[len]);

		if (left && right)
			return true;
		p += len;
	}
	return false;
}

/* Does @text name page size @bytes in one of the usual spellings? */
static bool names_size(const char *text, unsigned long long bytes)
{
	char s[64];
	unsigned long long kb = bytes >> 10;

	snprintf(s, sizeof(s), "%llukB", kb);
	if (strstr(text, s))
		return true;
	snprintf(s, sizeof(s), "%llu kB", kb);
	if (strstr(text, s))
		return true;
	snprintf(s, sizeof(s), "%lluK", kb);
	if (strstr(text, s))
		return true;
	if (!(bytes & ((1ULL << 20) - 1))) {
		snprintf(s, sizeof(s), "%lluM", bytes >> 20);
		if (strstr(text, s))
			return true;
	}
	if (!(bytes & ((1ULL << 30) - 1))) {
		snprintf(s, sizeof(s), "%lluG", bytes >> 30);
		if (strstr(text, s))
			return true;
	}
	return has_number(text, bytes);
}

static int map_huge_flag(unsigned long ps)
{
	return __builtin_ctzl(ps) << MAP_HUGE_SHIFT;
}

/*
 * Fail to load with @params: expect -@err from finit_module, every counter
 * as before, no module left; the kernel's err-level lines go to @log.
 */
#define EXPECT_LOAD_FAILS(params, err, log, logsize) do {			\
	struct hpm_counters __c0;						\
	int __kfd, __ret;							\
	ASSERT_EQ(0, hpm_counters_read(&__c0));					\
	__kfd = hpm_kmsg_open();						\
	ASSERT_LE(0, __kfd);							\
	__ret = hpm_finit(params);						\
	EXPECT_EQ(-(err), __ret) TH_LOG("finit_module(\"%s\")", params);	\
	hpm_kmsg_collect(__kfd, 3, log, logsize);				\
	close(__kfd);								\
	if (!__ret)								\
		hpm_ensure_unloaded();						\
	EXPECT_FALSE(hpm_module_loaded());					\
	EXPECT_NE(0, access(HPAGE_MAP_DEVICE, F_OK));				\
	HPM_EXPECT_POOL(&__c0, 0, 0, "failed load");				\
} while (0)

/* modprobe without parameters: 8 pages of the default huge page size. */
TEST(default_parameters)
{
	unsigned long dps = hpm_default_hpage_size();
	struct hpm_counters c0;
	struct hpage_map_info info;
	unsigned long long v = 0;
	char buf[64];
	int fd;

	ASSERT_NE(0, dps);
	ASSERT_EQ(0, hpm_ensure_unloaded());
	ASSERT_EQ(0, hpm_counters_read(&c0));
	ASSERT_EQ(0, hpm_modprobe(NULL));
	ASSERT_TRUE(hpm_module_loaded());
	HPM_EXPECT_POOL(&c0, dps, HPM_DEFAULT_NR, "default load");

	fd = hpm_open(O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, hpm_get_info(fd, &info));
	EXPECT_EQ(dps, info.page_size);
	EXPECT_EQ(HPM_DEFAULT_NR, info.nr_pages);
	EXPECT_EQ((unsigned long long)HPM_DEFAULT_NR * dps, info.size);
	close(fd);

	EXPECT_EQ(0, hpm_read_ull(HPM_SYS_PARAMS "/nr_pages", &v));
	EXPECT_EQ(HPM_DEFAULT_NR, v);
	ASSERT_LE(0, hpm_read_file(HPM_SYS_PARAMS "/page_size", buf, sizeof(buf)));
	EXPECT_EQ(dps, hpm_parse_size(buf))
		TH_LOG("parameters/page_size of a default load reads '%s'", buf);

	ASSERT_EQ(0, hpm_rmmod());
	HPM_EXPECT_POOL(&c0, dps, 0, "unload");
}

/* page_size given in bytes (memparse without suffix) works. */
TEST(page_size_in_bytes)
{
	struct hpm_counters c0;
	struct hpage_map_info info;
	int fd;

	ASSERT_EQ(0, hpm_ensure_unloaded());
	ASSERT_EQ(0, hpm_counters_read(&c0));
	ASSERT_EQ(0, hpm_modprobe("nr_pages=3 page_size=2097152"));
	HPM_EXPECT_POOL(&c0, SZ_2M, 3, "load page_size=2097152");
	fd = hpm_open(O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, hpm_get_info(fd, &info));
	EXPECT_EQ(SZ_2M, info.page_size);
	EXPECT_EQ(3, info.nr_pages);
	close(fd);
	ASSERT_EQ(0, hpm_rmmod());
	HPM_EXPECT_POOL(&c0, SZ_2M, 0, "unload");
}

/* Parameters visible, read-only, and reporting what was loaded. */
TEST(parameters_read_only)
{
	const char *params[] = { "nr_pages", "page_size" };
	unsigned long long v = 0;
	struct stat st;
	char buf[64];

	ASSERT_EQ(0, hpm_ensure_profile_loaded());
	EXPECT_EQ(0, hpm_read_ull(HPM_SYS_PARAMS "/nr_pages", &v));
	EXPECT_EQ(hpm_nr_pages(), v);
	ASSERT_LE(0, hpm_read_file(HPM_SYS_PARAMS "/page_size", buf, sizeof(buf)));
	EXPECT_EQ(hpm_page_size(), hpm_parse_size(buf))
		TH_LOG("parameters/page_size reads '%s'", buf);

	for (unsigned int i = 0; i < ARRAY_SIZE(params); i++) {
		char path[128];
		int fd;

		snprintf(path, sizeof(path), HPM_SYS_PARAMS "/%s", params[i]);
		ASSERT_EQ(0, stat(path, &st));
		EXPECT_EQ(0444, st.st_mode & 07777) TH_LOG("%s mode %o", path, st.st_mode);
		fd = open(path, O_WRONLY);
		EXPECT_EQ(-1, fd) TH_LOG("%s opened for writing", path);
		if (fd >= 0) {
			EXPECT_EQ(-1, write(fd, "1", 1));
			close(fd);
		} else {
			EXPECT_EQ(EACCES, errno);
		}
	}
	/* nothing changed */
	EXPECT_EQ(0, hpm_read_ull(HPM_SYS_PARAMS "/nr_pages", &v));
	EXPECT_EQ(hpm_nr_pages(), v);
}

/* /sys/class/misc/hpage_map/: geometry and exact live-VMA count. */
TEST(sysfs_view)
{
	unsigned long ps = hpm_page_size(), nr = hpm_nr_pages();
	const char *attrs[] = { "nr_pages", "page_size", "size", "mappings" };
	unsigned long long v = 0;
	long long pieces = nr >= 3 ? 2 : 1;
	int fd, pfd[2], cfd[2];
	char *a, *b, *dst, c;
	pid_t pid;

	ASSERT_EQ(0, hpm_ensure_profile_loaded());
	for (unsigned int i = 0; i < ARRAY_SIZE(attrs); i++) {
		char path[128];
		struct stat st;

		snprintf(path, sizeof(path), HPM_SYS_CLASS "/%s", attrs[i]);
		ASSERT_EQ(0, stat(path, &st)) TH_LOG("%s missing", path);
		EXPECT_EQ(0, st.st_mode & 0222) TH_LOG("%s is writable (%o)", path, st.st_mode);
	}
	ASSERT_EQ(0, hpm_class_ull("nr_pages", &v));
	EXPECT_EQ(nr, v);
	ASSERT_EQ(0, hpm_class_ull("page_size", &v));
	EXPECT_EQ(ps, v);
	ASSERT_EQ(0, hpm_class_ull("size", &v));
	EXPECT_EQ((unsigned long long)nr * ps, v);
	EXPECT_EQ(0, hpm_class_mappings());

	fd = hpm_open(O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, hpm_class_mappings()) TH_LOG("an open fd is not a mapping");

	a = hpm_mmap(fd, 0, nr * ps, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, a);
	EXPECT_EQ(1, hpm_class_mappings());
	b = hpm_mmap(fd, 0, ps, PROT_READ, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, b);
	EXPECT_EQ(2, hpm_class_mappings());
	hpm_touch(a, nr * ps);
	EXPECT_EQ(2, hpm_class_mappings()) TH_LOG("faults are not mappings");

	/* punch the second page out of a: one or two pieces remain */
	ASSERT_EQ(0, munmap(a + ps, ps));
	EXPECT_EQ(1 + pieces, hpm_class_mappings()) TH_LOG("after split");

	/* a forked child inherits every VMA */
	ASSERT_EQ(0, pipe(pfd));
	ASSERT_EQ(0, pipe(cfd));
	pid = hpm_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(pfd[0]);
		close(cfd[1]);
		if (write(pfd[1], "r", 1) != 1)
			_exit(1);
		if (read(cfd[0], &c, 1) != 1)
			_exit(2);
		_exit(0);
	}
	close(pfd[1]);
	close(cfd[0]);
	ASSERT_EQ(1, read(pfd[0], &c, 1));
	EXPECT_EQ(2 * (1 + pieces), hpm_class_mappings()) TH_LOG("with a forked child");
	ASSERT_EQ(1, write(cfd[1], "x", 1));
	EXPECT_EQ(0, hpm_wait(pid));
	EXPECT_EQ(1 + pieces, hpm_class_mappings()) TH_LOG("after the child exited");
	close(pfd[0]);
	close(cfd[1]);

	/* closing the fd keeps the mappings */
	close(fd);
	EXPECT_EQ(1 + pieces, hpm_class_mappings()) TH_LOG("after close(fd)");

	/* moving one changes nothing */
	dst = hpm_reserve_aligned(ps, ps);
	ASSERT_NE(MAP_FAILED, dst);
	ASSERT_EQ(dst, mremap(b, ps, ps, MREMAP_MAYMOVE | MREMAP_FIXED, dst));
	EXPECT_EQ(1 + pieces, hpm_class_mappings()) TH_LOG("after mremap move");

	ASSERT_EQ(0, munmap(dst, ps));
	EXPECT_EQ(pieces, hpm_class_mappings());
	ASSERT_EQ(0, munmap(a, nr * ps));
	EXPECT_EQ(0, hpm_class_mappings()) TH_LOG("after the last munmap");
}

/*
 * A fixture only for the timeout: loads that zero whole 1 GiB pages (a load
 * and unload twice; failing loads that first take every free page) outlast
 * the harness's 30 s under TCG on a busy machine.
 */
FIXTURE(slow) {
	int unused;
};

FIXTURE_SETUP(slow)
{
}

FIXTURE_TEARDOWN(slow)
{
}

/* Counters at every stage: load, open, mmap, touch, populate, fork, DONTNEED, munmap, close, unload. */
TEST_F_TIMEOUT(slow, load_unload_counters, 120)
{
	unsigned long ps = hpm_page_size(), nr = hpm_nr_pages();
	size_t size = nr * ps;
	struct hpm_counters c0;
	char params[128];
	char *a, *b;
	pid_t pid;
	int fd;

	ASSERT_NE(0, ps);
	ASSERT_EQ(0, hpm_ensure_unloaded());
	ASSERT_EQ(0, hpm_counters_read(&c0));
	ASSERT_NE(NULL, hpm_pool_of(&c0, ps)) TH_LOG("no %lu kB pool", ps >> 10);
	ASSERT_LE((long long)nr, hpm_pool_of(&c0, ps)->free - hpm_pool_of(&c0, ps)->resv);

	snprintf(params, sizeof(params), "nr_pages=%lu page_size=%s", nr, hpm_page_size_str());
	ASSERT_EQ(0, hpm_modprobe(params));
	ASSERT_TRUE(hpm_module_loaded());
	HPM_EXPECT_POOL(&c0, ps, nr, "load");

	fd = hpm_open(O_RDWR);
	ASSERT_LE(0, fd);
	HPM_EXPECT_POOL(&c0, ps, nr, "open");

	a = hpm_mmap(fd, 0, size, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, a);
	HPM_EXPECT_POOL(&c0, ps, nr, "mmap");

	hpm_fill(a, size, 0, 1);
	HPM_EXPECT_POOL(&c0, ps, nr, "touch");

	b = hpm_mmap(fd, 0, size, PROT_READ, MAP_SHARED | MAP_POPULATE);
	ASSERT_NE(MAP_FAILED, b);
	HPM_EXPECT_POOL(&c0, ps, nr, "mmap MAP_POPULATE");
	EXPECT_EQ(-1, hpm_check(b, size, 0, 1));

	pid = hpm_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		hpm_fill(a, size, 0, 2);
		_exit(hpm_check(b, size, 0, 2) == -1 ? 0 : 1);
	}
	EXPECT_EQ(0, hpm_wait(pid));
	HPM_EXPECT_POOL(&c0, ps, nr, "fork, child touch and exit");
	EXPECT_EQ(-1, hpm_check(a, size, 0, 2));

	EXPECT_EQ(0, madvise(a, size, MADV_DONTNEED));
	HPM_EXPECT_POOL(&c0, ps, nr, "MADV_DONTNEED");
	EXPECT_EQ(-1, hpm_check(a, size, 0, 2));
	HPM_EXPECT_POOL(&c0, ps, nr, "refault");

	ASSERT_EQ(0, munmap(a, size));
	ASSERT_EQ(0, munmap(b, size));
	HPM_EXPECT_POOL(&c0, ps, nr, "munmap");
	close(fd);
	HPM_EXPECT_POOL(&c0, ps, nr, "close");

	ASSERT_EQ(0, hpm_rmmod());
	EXPECT_FALSE(hpm_module_loaded());
	HPM_EXPECT_POOL(&c0, ps, 0, "unload");
}

/* Pages are zeroed at load, even when the pool pages were dirty. */
TEST(pages_zeroed_at_load)
{
	unsigned long ps = hpm_page_size(), nr = hpm_nr_pages();
	const struct hpm_pool *p;
	struct hpm_counters c0;
	size_t avail, size = nr * ps;
	long long bad;
	char *d, *a;
	int fd;

	ASSERT_EQ(0, hpm_ensure_unloaded());
	ASSERT_EQ(0, hpm_counters_read(&c0));
	p = hpm_pool_of(&c0, ps);
	ASSERT_NE(NULL, p);
	avail = p->free - p->resv;
	ASSERT_LE(nr, avail);

	/* dirty every free page of this size (hugetlb does not clear on free) */
	d = mmap(NULL, avail * ps, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | map_huge_flag(ps), -1, 0);
	ASSERT_NE(MAP_FAILED, d);
	hpm_fill(d, avail * ps, 0, 0xdead);
	for (size_t o = 0; o < avail * ps; o += 64)
		((volatile char *)d)[o + 1] |= 0x11;
	ASSERT_EQ(0, munmap(d, avail * ps));
	HPM_EXPECT_POOL(&c0, ps, 0, "dirtying the pool");

	ASSERT_EQ(0, hpm_ensure_profile_loaded());
	fd = hpm_open(O_RDONLY);
	ASSERT_LE(0, fd);
	a = hpm_mmap(fd, 0, size, PROT_READ, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, a);
	bad = hpm_check_zero(a, size);
	EXPECT_EQ(-1, bad) TH_LOG("byte offset %lld of the buffer not zero", bad);
	munmap(a, size);
	close(fd);
}

/* nr_pages=0 (and a negative count) fail with EINVAL, nothing taken. */
TEST(load_fails_nr_pages_zero)
{
	char params[128], log[4096];

	ASSERT_EQ(0, hpm_ensure_unloaded());
	snprintf(params, sizeof(params), "nr_pages=0 page_size=%s", hpm_page_size_str());
	EXPECT_LOAD_FAILS(params, EINVAL, log, sizeof(log));
	EXPECT_LOAD_FAILS("nr_pages=0", EINVAL, log, sizeof(log));
	EXPECT_LOAD_FAILS("nr_pages=-1", EINVAL, log, sizeof(log));
}

FIXTURE(bad_page_size) {};
FIXTURE_SETUP(bad_page_size) {}
FIXTURE_TEARDOWN(bad_page_size) {}
/* @is_size: a number, so the pr_err must name the supported sizes */
FIXTURE_VARIANT(bad_page_size) { const char *value; bool is_size; };
FIXTURE_VARIANT_ADD(bad_page_size, size_4M) { .value = "4M", .is_size = true };
FIXTURE_VARIANT_ADD(bad_page_size, size_12345) { .value = "12345", .is_size = true };
FIXTURE_VARIANT_ADD(bad_page_size, size_4K) { .value = "4096", .is_size = true };
FIXTURE_VARIANT_ADD(bad_page_size, size_3G) { .value = "3G", .is_size = true };
FIXTURE_VARIANT_ADD(bad_page_size, size_0) { .value = "0", .is_size = true };
FIXTURE_VARIANT_ADD(bad_page_size, not_a_size) { .value = "huge", .is_size = false };

/*
 * An unsupported page_size fails with EINVAL and a pr_err naming the
 * supported sizes; a malformed one with EINVAL.
 */
TEST_F(bad_page_size, load_fails)
{
	char params[128], log[4096];
	struct hpm_counters c;

	HPM_SKIP_GUARD();
	ASSERT_EQ(0, hpm_ensure_unloaded());
	ASSERT_EQ(0, hpm_counters_read(&c));
	snprintf(params, sizeof(params), "nr_pages=1 page_size=%s", variant->value);
	EXPECT_LOAD_FAILS(params, EINVAL, log, sizeof(log));
	for (int i = 0; variant->is_size && i < c.n; i++) {
		EXPECT_TRUE(names_size(log, (unsigned long long)c.pool[i].kb << 10))
			TH_LOG("err lines do not name supported size %lu kB:\n%s",
			       c.pool[i].kb, log);
	}
}

/*
 * Check an ENOMEM load's single pr_err: how many were needed, how many are
 * available, and the exact command that fixes it.
 */
static void check_enomem_log(struct __test_metadata *_metadata, const char *log, int lines,
			     unsigned long ps, unsigned long long nr,
			     const struct hpm_pool *p)
{
	unsigned long long avail = p->free - p->resv;
	char cmd[160];

	snprintf(cmd, sizeof(cmd),
		 "echo %llu > /sys/kernel/mm/hugepages/hugepages-%lukB/nr_hugepages",
		 (unsigned long long)p->nr + nr - avail, ps >> 10);
	EXPECT_EQ(1, lines) TH_LOG("err-level lines:\n%s", log);
	EXPECT_NE(NULL, strstr(log, cmd)) TH_LOG("no '%s' in:\n%s", cmd, log);
	EXPECT_TRUE(has_number(log, nr)) TH_LOG("needed %llu not in:\n%s", nr, log);
	EXPECT_TRUE(has_number(log, avail)) TH_LOG("free %llu not in:\n%s", avail, log);
}

/* One page more than the pool holds: ENOMEM, one pr_err with the fix, nothing taken. */
TEST_F_TIMEOUT(slow, load_fails_pool_too_small, 120)
{
	unsigned long ps = hpm_page_size();
	struct hpm_counters c0;
	const struct hpm_pool *p;
	unsigned long long nr;
	char params[128], log[4096];
	int kfd, ret, lines;

	ASSERT_EQ(0, hpm_ensure_unloaded());
	ASSERT_EQ(0, hpm_counters_read(&c0));
	p = hpm_pool_of(&c0, ps);
	ASSERT_NE(NULL, p);
	nr = p->free - p->resv + 1;
	snprintf(params, sizeof(params), "nr_pages=%llu page_size=%s", nr, hpm_page_size_str());

	kfd = hpm_kmsg_open();
	ASSERT_LE(0, kfd);
	ret = hpm_finit(params);
	EXPECT_EQ(-ENOMEM, ret) TH_LOG("finit_module(\"%s\")", params);
	lines = hpm_kmsg_collect(kfd, 3, log, sizeof(log));
	close(kfd);
	if (!ret)
		hpm_ensure_unloaded();
	EXPECT_FALSE(hpm_module_loaded());
	HPM_EXPECT_POOL(&c0, ps, 0, "failed load");
	check_enomem_log(_metadata, log, lines, ps, nr, p);
}

/* Absurd nr_pages: ENOMEM (no overflow, no partial allocation kept). */
TEST(load_fails_huge_nr_pages)
{
	char log[4096];

	ASSERT_EQ(0, hpm_ensure_unloaded());
	EXPECT_LOAD_FAILS("nr_pages=1000000 page_size=2M", ENOMEM, log, sizeof(log));
	EXPECT_NE(NULL, strstr(log, "nr_hugepages")) TH_LOG("err lines:\n%s", log);
}

/*
 * Free pages that are reserved by another mapping are not available: the
 * load fails with ENOMEM and the other mapping's reservation survives.
 */
TEST_F_TIMEOUT(slow, load_fails_pool_reserved, 120)
{
	unsigned long ps = hpm_page_size(), nr = hpm_nr_pages();
	struct hpm_counters c_start, c0;
	const struct hpm_pool *p;
	char params[128], log[4096];
	size_t resv;
	int kfd, ret, lines;
	char *r;

	ASSERT_EQ(0, hpm_ensure_unloaded());
	ASSERT_EQ(0, hpm_counters_read(&c_start));
	p = hpm_pool_of(&c_start, ps);
	ASSERT_NE(NULL, p);
	ASSERT_LE((long long)nr, p->free - p->resv);
	resv = p->free - p->resv - nr + 1;	/* leaves nr - 1 available */
	r = mmap(NULL, resv * ps, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | map_huge_flag(ps), -1, 0);
	ASSERT_NE(MAP_FAILED, r);
	ASSERT_EQ(0, hpm_counters_read(&c0));
	p = hpm_pool_of(&c0, ps);
	ASSERT_EQ((long long)nr - 1, p->free - p->resv);

	snprintf(params, sizeof(params), "nr_pages=%lu page_size=%s", nr, hpm_page_size_str());
	kfd = hpm_kmsg_open();
	ASSERT_LE(0, kfd);
	ret = hpm_finit(params);
	EXPECT_EQ(-ENOMEM, ret) TH_LOG("finit_module(\"%s\")", params);
	lines = hpm_kmsg_collect(kfd, 3, log, sizeof(log));
	close(kfd);
	if (!ret)
		hpm_ensure_unloaded();
	EXPECT_FALSE(hpm_module_loaded());
	HPM_EXPECT_POOL(&c0, ps, 0, "failed load with reserved pages");
	check_enomem_log(_metadata, log, lines, ps, nr, p);

	/* the reservation holder still gets its pages (no SIGBUS) */
	hpm_touch(r, resv * ps);
	ASSERT_EQ(0, munmap(r, resv * ps));
	HPM_EXPECT_POOL(&c_start, ps, 0, "releasing the reservation");
}

TEST_HARNESS_MAIN
