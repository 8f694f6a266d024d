// SPDX-License-Identifier: GPL-2.0
/*
 * core_movable.c - the driver takes no page it could not keep pinned
 *
 * hpage-map-profiles: movable
 * hpage-map-libs: -luring
 *
 * The movable profile boots with movablecore=64M: the hugetlb pool (64
 * pages of 2 MiB, filled after boot) takes ZONE_MOVABLE's pages first and
 * the rest from ZONE_NORMAL.  The driver holds its pages for as long as it
 * is loaded; a page in ZONE_MOVABLE (or CMA) would make every long-term
 * pin of the buffer fail after a futile migration.  Checks:
 *  - the profile does what it says: of the free pages, F in all, an
 *    anonymous MAP_HUGETLB mapping of all F finds M >= 1 in ZONE_MOVABLE
 *    (/proc/zoneinfo) and at least two outside it;
 *  - loading F - M pages works, none of them in ZONE_MOVABLE (GET_PAGES),
 *    and io_uring registers the whole buffer as fixed buffers (a long-term
 *    pin);
 *  - loading F - M + 1 pages fails (there are not that many pinnable
 *    ones), and takes nothing from the pool;
 *  - the pool is what it was before each load.
 */
#include <liburing.h>

#include "hpm_test.h"

#define PS		(2UL << 20)
#define PM_PFN_MASK	((1ULL << 55) - 1)
#define PM_PRESENT	(1ULL << 63)

/* ZONE_MOVABLE's pfn range [*start, *end) on any node; 0 if found. */
static int movable_range(uint64_t *start, uint64_t *end)
{
	FILE *f = fopen("/proc/zoneinfo", "re");
	unsigned long long v;
	bool movable = false;
	uint64_t spanned = 0;
	char line[256];
	int found = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Node ", 5)) {
			movable = strstr(line, "zone") && strstr(line, "Movable");
			spanned = 0;
		} else if (movable && sscanf(line, " spanned %llu", &v) == 1) {
			spanned = v;
		} else if (movable && spanned && sscanf(line, " start_pfn: %llu", &v) == 1) {
			*start = v;
			*end = v + spanned;
			found = 0;
			break;
		}
	}
	fclose(f);
	return found;
}

static bool in_range(uint64_t pfn, uint64_t start, uint64_t end)
{
	return pfn >= start && pfn < end;
}

/*
 * Take every free 2M page with an anonymous MAP_HUGETLB mapping (what the
 * kernel hands out without a pin) and count those in [start, end).
 * Returns the count, or -1.
 */
static long movable_free_pages(unsigned long nr, uint64_t start, uint64_t end)
{
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	long movable = 0;
	char *p;

	if (pm < 0)
		return -1;
	p = mmap(NULL, nr * PS, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED) {
		close(pm);
		return -1;
	}
	for (unsigned long i = 0; i < nr && movable >= 0; i++) {
		uint64_t e = 0;

		if (pread(pm, &e, sizeof(e), (off_t)((uintptr_t)(p + i * PS) / 4096 * 8)) !=
		    sizeof(e) || !(e & PM_PRESENT))
			movable = -1;
		else
			movable += in_range(e & PM_PFN_MASK, start, end);
	}
	munmap(p, nr * PS);
	close(pm);
	return movable;
}

FIXTURE(movable) {
	uint64_t start, end;
	unsigned long free, movable;
	struct hpm_counters c0;
};

FIXTURE_SETUP(movable)
{
	const struct hpm_pool *pool;
	long m;

	ASSERT_EQ(0, hpm_ensure_unloaded());
	ASSERT_EQ(0, movable_range(&self->start, &self->end))
		TH_LOG("no ZONE_MOVABLE in /proc/zoneinfo: is this the movable profile?");
	ASSERT_EQ(0, hpm_counters_read(&self->c0));
	pool = hpm_pool_of(&self->c0, PS);
	ASSERT_NE(NULL, pool);
	self->free = (unsigned long)pool->free;
	m = movable_free_pages(self->free, self->start, self->end);
	ASSERT_LE(0, m) TH_LOG("MAP_HUGETLB of the %lu free pages failed", self->free);
	self->movable = (unsigned long)m;
	TH_LOG("ZONE_MOVABLE pfns [%#llx, %#llx): %lu of %lu free pages there",
	       (unsigned long long)self->start, (unsigned long long)self->end,
	       self->movable, self->free);
	ASSERT_LE(1, self->movable) TH_LOG("profile: no free huge page in ZONE_MOVABLE");
	ASSERT_LE(self->movable + 2, self->free) TH_LOG("profile: fewer than 2 outside it");
	HPM_EXPECT_POOL(&self->c0, PS, 0, "after the MAP_HUGETLB probe");
}

FIXTURE_TEARDOWN(movable)
{
	hpm_ensure_unloaded();
}

TEST_F(movable, load_takes_only_pinnable_pages)
{
	unsigned long nr = self->free - self->movable;
	uint64_t *phys = calloc(nr, sizeof(*phys));
	struct hpage_map_pages req = { .count = nr, .addrs = (uintptr_t)phys };
	struct io_uring ring;
	struct iovec iov;
	int fd, ret;

	ASSERT_NE(NULL, phys);
	ASSERT_EQ(0, hpm_ensure_loaded("2M", nr)) TH_LOG("%lu pinnable pages", nr);
	HPM_EXPECT_POOL(&self->c0, PS, (long long)nr, "after the load");
	fd = hpm_open(O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, HPAGE_MAP_IOC_GET_PAGES, &req)) TH_LOG("%s", strerror(errno));
	for (unsigned long i = 0; i < nr; i++) {
		EXPECT_FALSE(in_range(phys[i] / 4096, self->start, self->end))
			TH_LOG("page %lu at %#llx is in ZONE_MOVABLE", i,
			       (unsigned long long)phys[i]);
	}
	free(phys);

	iov.iov_len = nr * PS;
	iov.iov_base = hpm_mmap(fd, 0, iov.iov_len, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, iov.iov_base);
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	ret = io_uring_register_buffers(&ring, &iov, 1);
	EXPECT_EQ(0, ret) TH_LOG("io_uring_register_buffers: %s", strerror(-ret));
	if (!ret)
		EXPECT_EQ(0, io_uring_unregister_buffers(&ring));
	io_uring_queue_exit(&ring);
	munmap(iov.iov_base, iov.iov_len);
	close(fd);
	EXPECT_EQ(0, hpm_ensure_unloaded());
	HPM_EXPECT_POOL(&self->c0, PS, 0, "after the unload");
}

TEST_F(movable, load_refused_past_the_pinnable_pages)
{
	unsigned long nr = self->free - self->movable + 1;
	int ret = hpm_ensure_loaded("2M", nr);

	EXPECT_NE(0, ret) TH_LOG("loaded %lu pages: %lu free, %lu of them in ZONE_MOVABLE",
				 nr, self->free, self->movable);
	EXPECT_FALSE(hpm_module_loaded());
	hpm_ensure_unloaded();
	HPM_EXPECT_POOL(&self->c0, PS, 0, "after the refused load");
}

TEST_HARNESS_MAIN
