// SPDX-License-Identifier: GPL-2.0
/*
 * unload_race.c - unloading races the last mapping going away
 *
 * hpage-map-profiles: default
 * hpage-map-tier: load
 *
 * A mapping keeps the module loaded after its fd is closed, and the last
 * one to go lets it unload.  Here one thread opens the device, maps one
 * huge page, closes the fd, writes and reads it back, and unmaps it, or
 * forks a child that exits still holding the mapping after the parent
 * unmapped; another thread tries to unload all the while
 * (delete_module(O_NONBLOCK)) and loads the module again whenever the
 * unload succeeds.  So an unload succeeds right as the last mapping's close
 * returns, over and over: on a fully preemptible (PREEMPT_RT) kernel a
 * close that dropped its module reference before returning could be
 * preempted and resumed in freed module text.  It runs on every kernel of
 * the set, the RT ones included.
 *
 * Checks: every unload is either refused (EAGAIN/EBUSY) or succeeds, every
 * load succeeds, open fails only with the module gone (ENOENT/ENODEV/ENXIO),
 * every mapping finds what the last one wrote (or zeroes, after a new
 * load), every child sees its parent's data; both sides ran (unloads did succeed, mappings were made); at the
 * end the unload succeeds and every hugetlb counter is what it was before
 * (PID 1 then checks the kernel log).
 *
 * mappings_hold_one_reference: three mappings with their fd closed hold
 * the module with one reference (refcnt 1), and the unload succeeds right
 * after the last munmap returns.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "hpm_test.h"

#define RACE_SECONDS	8	/* at least, and until RACE_MIN_UNLOADS */
#define RACE_MIN_UNLOADS 20
#define RACE_MAX_SECONDS 60
/* The harness's limit: the race may take RACE_MAX_SECONDS, then joins and unloads. */
#define RACE_TIMEOUT	(RACE_MAX_SECONDS + 60)

struct race {
	unsigned long ps;
	char params[128];
	atomic_int stop;
	atomic_long maps, forks, unloads, refusals, errors;
	char err[256];
};

static void race_fail(struct race *r, const char *fmt, ...)
{
	if (atomic_fetch_add(&r->errors, 1) == 0) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(r->err, sizeof(r->err), fmt, ap);
		va_end(ap);
	}
}

/* One mapping of the first huge page, the fd closed at once. */
static char *race_map(struct race *r)
{
	char *p;
	int fd;

	fd = open(HPAGE_MAP_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT && errno != ENODEV && errno != ENXIO)
			race_fail(r, "open: %s", strerror(errno));
		return NULL;
	}
	p = mmap(NULL, r->ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		race_fail(r, "mmap: %s", strerror(errno));
		p = NULL;
	}
	close(fd);
	return p;
}

static void *race_mapper(void *arg)
{
	struct race *r = arg;
	uint64_t n = 0;

	while (!atomic_load(&r->stop)) {
		volatile uint64_t *p = (volatile uint64_t *)race_map(r);
		pid_t pid;
		int status;

		if (!p)
			continue;
		/* What the last mapping wrote, or zeroes from a new load. */
		if ((p[0] || p[r->ps / 8 - 1]) && (p[0] != n || p[r->ps / 8 - 1] != ~n))
			race_fail(r, "mapping %llu found %#llx, %#llx", (unsigned long long)n + 1,
				  (unsigned long long)p[0], (unsigned long long)p[r->ps / 8 - 1]);
		n++;
		p[0] = n;
		p[r->ps / 8 - 1] = ~n;
		atomic_fetch_add(&r->maps, 1);
		if (n % 4) {
			munmap((void *)p, r->ps);
			continue;
		}
		/* The child's exit closes the last mapping, after our munmap. */
		pid = fork();
		if (pid == 0) {
			usleep(n % 3 * 100);
			_exit(p[0] == n ? 0 : 1);
		}
		munmap((void *)p, r->ps);
		if (pid < 0) {
			race_fail(r, "fork: %s", strerror(errno));
			continue;
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			race_fail(r, "child of mapping %llu: status %#x", (unsigned long long)n,
				  status);
		atomic_fetch_add(&r->forks, 1);
	}
	return NULL;
}

static void *race_unloader(void *arg)
{
	struct race *r = arg;

	while (!atomic_load(&r->stop)) {
		int ret = hpm_rmmod();

		if (hpm_busy_errno(ret)) {
			atomic_fetch_add(&r->refusals, 1);
			continue;
		}
		if (ret) {
			race_fail(r, "delete_module: %s", strerror(-ret));
			break;
		}
		atomic_fetch_add(&r->unloads, 1);
		ret = hpm_finit(r->params);
		if (ret) {
			race_fail(r, "finit_module after unload %ld: %s",
				  atomic_load(&r->unloads), strerror(-ret));
			break;
		}
	}
	return NULL;
}

/*
 * A fixture only for the timeout: on the debug kernel a load and unload
 * take long enough that 20 of them outlast the harness's default 30 s.
 */
FIXTURE(race) {
	int unused;
};

FIXTURE_SETUP(race)
{
}

FIXTURE_TEARDOWN(race)
{
}

TEST_F_TIMEOUT(race, unload_while_last_mapping_goes, RACE_TIMEOUT)
{
	static struct race r;
	struct hpm_counters c0;
	pthread_t mapper, unloader;
	time_t start = time(NULL);
	int ret;

	r.ps = hpm_page_size();
	snprintf(r.params, sizeof(r.params), "nr_pages=1 page_size=%s", hpm_page_size_str());
	ASSERT_EQ(0, hpm_ensure_unloaded());
	ASSERT_EQ(0, hpm_counters_read(&c0));
	ASSERT_EQ(0, hpm_finit(r.params));

	ASSERT_EQ(0, pthread_create(&mapper, NULL, race_mapper, &r));
	ASSERT_EQ(0, pthread_create(&unloader, NULL, race_unloader, &r));
	while (!atomic_load(&r.errors) && time(NULL) - start < RACE_MAX_SECONDS &&
	       (time(NULL) - start < RACE_SECONDS ||
		atomic_load(&r.unloads) < RACE_MIN_UNLOADS))
		usleep(100000);
	atomic_store(&r.stop, 1);
	pthread_join(mapper, NULL);
	pthread_join(unloader, NULL);

	TH_LOG("%ld mappings (%ld forked), %ld unloads, %ld refused, in %ld s",
	       atomic_load(&r.maps), atomic_load(&r.forks), atomic_load(&r.unloads),
	       atomic_load(&r.refusals), (long)(time(NULL) - start));
	EXPECT_EQ(0, atomic_load(&r.errors)) TH_LOG("first error: %s", r.err);
	EXPECT_LT(0, atomic_load(&r.maps));
	EXPECT_LT(0, atomic_load(&r.forks));
	EXPECT_LE(RACE_MIN_UNLOADS, atomic_load(&r.unloads));

	/* Loaded or not, nothing maps it now: the last unload succeeds. */
	ret = hpm_ensure_unloaded();
	EXPECT_EQ(0, ret) TH_LOG("final unload: %s", strerror(-ret));
	HPM_EXPECT_POOL(&c0, r.ps, 0, "the race");
}

/*
 * The mechanism behind it: the mappings hold the module through one
 * internal file, whose last fput() drops the module reference in core
 * code.  So three mappings with their fd closed count as one reference,
 * and the reference is gone once munmap returns.
 */
TEST(mappings_hold_one_reference)
{
	unsigned long long refcnt = 0;
	unsigned long ps = hpm_page_size();
	char params[128], *m[3];
	int fd, i, ret;

	snprintf(params, sizeof(params), "nr_pages=3 page_size=%s", hpm_page_size_str());
	ASSERT_EQ(0, hpm_ensure_unloaded());
	ASSERT_EQ(0, hpm_finit(params));
	fd = hpm_open(O_RDWR);
	ASSERT_LE(0, fd);
	for (i = 0; i < 3; i++) {
		m[i] = hpm_mmap(fd, i * ps, ps, PROT_READ | PROT_WRITE, MAP_SHARED);
		ASSERT_NE(MAP_FAILED, m[i]);
	}
	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(0, hpm_read_ull(HPM_SYS_MODULE "/refcnt", &refcnt));
	EXPECT_EQ(1, refcnt) TH_LOG("three mappings, no fd");
	EXPECT_EQ(3, hpm_class_mappings());
	EXPECT_TRUE(hpm_busy_errno(hpm_rmmod()));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0, munmap(m[i], ps));
	ret = hpm_rmmod();
	EXPECT_EQ(0, ret) TH_LOG("unload right after the last munmap: %s", strerror(-ret));
	hpm_ensure_unloaded();
}

TEST_HARNESS_MAIN
