// SPDX-License-Identifier: GPL-2.0
/*
 * core_hwpoison.c - a huge page with a memory error is handed to nobody anew
 *
 * hpage-map-profiles: default
 * hpage-map-tier: core
 *
 * madvise(MADV_HWPOISON) (root; CONFIG_MEMORY_FAILURE, which Debian's
 * kernels have and the debug kernel has not) marks one huge page of the
 * buffer as having a memory error, as a machine check would.  Checks:
 *  - /sys/class/misc/hpage_map/hwpoisoned_pages counts it (0 before);
 *  - GET_PAGES of a range with it fails with EHWPOISON, of ranges beside
 *    it works;
 *  - a new export of a range with it fails with EHWPOISON, beside it works;
 *  - an export made before: a device mapping of it (tests/importer) fails
 *    with EHWPOISON, and so does a 4 KiB-entry mmap of it, while one of a
 *    page beside it works;
 *  - touching the page through the device mapping gets SIGBUS (hugetlb's
 *    own handling), the other pages keep their data;
 *  - unload works and every other page comes back; the poisoned one stays
 *    out of HugePages_Free (memory_failure() keeps a reference on it).  The
 *    test then unpoisons it (hwpoison_inject's unpoison-pfn), which gives
 *    it back, for the binaries after it.
 */
#include <sys/wait.h>

#include "hpm_test.h"
#include "importer/hpm_importer.h"

#ifndef MADV_HWPOISON
#define MADV_HWPOISON 100
#endif

#define SEED	0xbad
#define BAD	3	/* the poisoned huge page */
#define SYSFS_POISONED "/sys/class/misc/hpage_map/hwpoisoned_pages"
#define UNPOISON "/sys/kernel/debug/hwpoison/unpoison-pfn"

FIXTURE(poison) {
	int fd, whole;		/* whole: an export made before the poison */
	unsigned long ps, nr;
	size_t size;
	char *map;
	uint64_t bad_pfn;	/* poisoned, once the test has */
};

/* In a child (it may get SIGBUS): madvise(MADV_HWPOISON); its errno or 0. */
static int poison(char *p)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(madvise(p, 4096, MADV_HWPOISON) ? errno : 0);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 0;
}

/* Does reading @p kill a child with SIGBUS? */
static bool read_gets_sigbus(const char *p)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(*(const volatile char *)p == 42);
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) &&
	       WTERMSIG(status) == SIGBUS;
}

static int get_pages(int fd, uint64_t first, uint64_t count)
{
	uint64_t addrs[64];
	struct hpage_map_pages req = { .first = first, .count = count,
				       .addrs = (uintptr_t)addrs };

	return ioctl(fd, HPAGE_MAP_IOC_GET_PAGES, &req) ? -errno : 0;
}

FIXTURE_SETUP(poison)
{
	self->fd = self->whole = -1;
	self->map = MAP_FAILED;
	HPM_SETUP_PROFILE_FD();
	ASSERT_LT(BAD + 1, self->nr);
	ASSERT_GE(64, self->nr);
	self->map = hpm_mmap(self->fd, 0, self->size, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, self->map);
	hpm_fill(self->map, self->size, 0, SEED);
	self->whole = hpm_export(self->fd, 0, self->size, O_RDWR);
	ASSERT_LE(0, self->whole);
	if (access(HPMI_DEVICE, F_OK))
		ASSERT_EQ(0, system("modprobe hpm_importer"));
}

FIXTURE_TEARDOWN(poison)
{
	char cmd[128];

	if (self->whole >= 0)
		close(self->whole);
	if (self->map != MAP_FAILED)
		munmap(self->map, self->size);
	if (self->fd >= 0)
		close(self->fd);
	hpm_ensure_unloaded();
	if (!self->bad_pfn)
		return;
	/* back to the pool (the poisoned memory is fine: the error was injected) */
	snprintf(cmd, sizeof(cmd), "modprobe hwpoison_inject && echo %#llx > " UNPOISON,
		 (unsigned long long)self->bad_pfn);
	EXPECT_EQ(0, system(cmd)) TH_LOG("%s", cmd);
}

TEST_F(poison, nobody_is_handed_the_page)
{
	char *bad = self->map + BAD * self->ps;
	struct hpm_counters before, after;
	unsigned long long n = 0;
	struct hpmi_attach a;
	struct hpmi_map m = { .dir = 0 };
	struct hpage_map_pages req;
	int err, imp, buf;
	uint64_t phys = 0;
	char *p;

	EXPECT_EQ(0, hpm_read_ull(SYSFS_POISONED, &n)) TH_LOG("no " SYSFS_POISONED);
	EXPECT_EQ(0, n);
	req = (struct hpage_map_pages){ .first = BAD, .count = 1, .addrs = (uintptr_t)&phys };
	ASSERT_EQ(0, ioctl(self->fd, HPAGE_MAP_IOC_GET_PAGES, &req));
	err = poison(bad);
	if (err == EINVAL || err == EPERM)
		SKIP(return, "no MADV_HWPOISON here: %s", strerror(err));
	TH_LOG("MADV_HWPOISON: %s", err ? strerror(err) : "done");
	self->bad_pfn = phys / 4096;
	n = 0;
	EXPECT_EQ(0, hpm_read_ull(SYSFS_POISONED, &n));
	EXPECT_EQ(1, n) TH_LOG("%s after MADV_HWPOISON", SYSFS_POISONED);

	/* addresses */
	EXPECT_EQ(-EHWPOISON, get_pages(self->fd, 0, self->nr));
	EXPECT_EQ(-EHWPOISON, get_pages(self->fd, BAD, 1));
	EXPECT_EQ(0, get_pages(self->fd, 0, BAD));
	EXPECT_EQ(0, get_pages(self->fd, BAD + 1, self->nr - BAD - 1));

	/* new exports */
	EXPECT_EQ(-EHWPOISON, hpm_export(self->fd, 0, self->size, O_RDWR));
	EXPECT_EQ(-EHWPOISON, hpm_export(self->fd, BAD * self->ps, self->ps, O_RDONLY));
	buf = hpm_export(self->fd, 0, BAD * self->ps, O_RDWR);
	EXPECT_LE(0, buf);
	if (buf >= 0)
		close(buf);

	/* the export made before: no device mapping, no 4 KiB mapping of it */
	imp = open(HPMI_DEVICE, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, imp);
	a = (struct hpmi_attach){ .fd = self->whole };
	ASSERT_EQ(0, ioctl(imp, HPMI_ATTACH, &a));
	EXPECT_EQ(-1, ioctl(imp, HPMI_MAP, &m));
	EXPECT_EQ(EHWPOISON, errno);
	close(imp);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->whole, (off_t)(BAD * self->ps));
	EXPECT_EQ(MAP_FAILED, p) TH_LOG("a 4 KiB mapping of the poisoned page");
	if (p == MAP_FAILED) {
		EXPECT_EQ(EHWPOISON, errno);
	} else {
		munmap(p, 4096);
	}
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->whole, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("a 4 KiB mapping beside it: %s", strerror(errno));
	EXPECT_EQ(-1, hpm_check(p, 4096, 0, SEED));
	munmap(p, 4096);

	/* the mappings: SIGBUS on the page, the rest intact */
	EXPECT_TRUE(read_gets_sigbus(bad));
	EXPECT_EQ(-1, hpm_check(self->map, BAD * self->ps, 0, SEED));
	EXPECT_EQ(-1, hpm_check(bad + self->ps, self->size - (BAD + 1) * self->ps,
				(BAD + 1) * self->ps, SEED));

	/* unload: every page back but the poisoned one */
	close(self->whole);
	self->whole = -1;
	munmap(self->map, self->size);
	self->map = MAP_FAILED;
	close(self->fd);
	self->fd = -1;
	ASSERT_EQ(0, hpm_counters_read(&before));
	ASSERT_EQ(0, hpm_ensure_unloaded());
	ASSERT_EQ(0, hpm_counters_read(&after));
	EXPECT_EQ(hpm_pool_of(&before, self->ps)->nr, hpm_pool_of(&after, self->ps)->nr);
	EXPECT_EQ(hpm_pool_of(&before, self->ps)->free + (long long)self->nr - 1,
		  hpm_pool_of(&after, self->ps)->free);
}

TEST_HARNESS_MAIN
