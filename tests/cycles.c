// SPDX-License-Identifier: GPL-2.0
/*
 * cycles.c - load, map from several processes, touch, unmap, unload; again
 *
 * hpage-map-profiles: default
 *
 * Each round: finit_module(hpage_map, "nr_pages=2 page_size=<profile>") (the
 * raw syscall modprobe makes; small pool: TCG zeroes ~270 MiB/s); three
 * long-lived worker processes and this one open /dev/hpage_map and map the
 * whole buffer (every other round with MAP_POPULATE); the first worker finds
 * the whole buffer zeroed (the previous round's data must not survive an
 * unload), each process checks what the others wrote in their own slices
 * and writes a pattern, unique to the round, into its own; sysfs shows 4
 * mappings and 4 open files; everybody unmaps and closes; delete_module
 * succeeds at the first try.  After every round every hugetlb counter is
 * exactly what it was before the first load (after the load: minus the
 * module's pages, nothing else), and the kernel log gained no line matching
 * WARNING|BUG|Oops|Call Trace|leak|UBSAN|KASAN|DMA-API.
 *
 * Rounds: HPM_CYCLES, default 1000; 100 on the debug kernel (KASAN, lockdep
 * and kmemleak make each round ~10x slower; recognised by
 * /sys/kernel/debug/kmemleak).
 */
#include "hpm_test.h"

#define CY_PAGES	2
#define CY_WORKERS	3
#define CY_PROCS	(CY_WORKERS + 1)	/* slice CY_WORKERS: this process */

/* Kernel log lines that fail a round (tests/guest/init's list + sanitizers). */
static const char *const cy_bad[] = {
	"WARNING", "BUG", "Oops", "Call Trace", "leak", "UBSAN", "KASAN", "DMA-API",
};

static bool cy_debug_kernel(void)
{
	return access("/sys/kernel/debug/kmemleak", F_OK) == 0;
}

struct cy_geom {
	unsigned long ps;
	size_t size, slice;
};

static uint64_t cy_seed(unsigned long round, int who)
{
	return ((uint64_t)round << 8) | (unsigned int)who;
}

/* Check the slices of processes 0..who-1 (this round's patterns). */
static int cy_check_before(const struct cy_geom *g, const char *p,
			   unsigned long round, int who, char *msg, size_t len)
{
	for (int i = 0; i < who; i++) {
		long long bad = hpm_check(p + i * g->slice, g->slice,
					  i * g->slice, cy_seed(round, i));

		if (bad >= 0) {
			snprintf(msg, len, "process %d sees process %d's data wrong at offset %lld",
				 who, i, bad);
			return -1;
		}
	}
	return 0;
}

/*
 * A worker: on 'M' open, map, check, fill its slice, answer; on 'U'
 * check everybody's slice, unmap, close, answer; on 'Q' exit.  Answers are
 * 'k' or an error text (up to 200 bytes, first byte not 'k').
 */
static void cy_worker(const struct cy_geom *g, int who, int cmd, int ans)
{
	unsigned long round = 0;
	char c, msg[200];
	char *p = MAP_FAILED;
	int fd = -1;

	while (read(cmd, &c, 1) == 1) {
		msg[0] = 'k';
		msg[1] = '\0';
		if (c == 'M') {
			round++;
			fd = open(HPAGE_MAP_DEVICE, O_RDWR | O_CLOEXEC);
			if (fd < 0) {
				snprintf(msg, sizeof(msg), "worker %d: open: %s", who,
					 strerror(errno));
				goto answer;
			}
			p = mmap(NULL, g->size, PROT_READ | PROT_WRITE,
				 MAP_SHARED | (round % 2 ? MAP_POPULATE : 0), fd, 0);
			if (p == MAP_FAILED) {
				snprintf(msg, sizeof(msg), "worker %d: mmap: %s", who,
					 strerror(errno));
				goto answer;
			}
			if (who == 0) {
				long long nz = hpm_check_zero(p, g->size);

				if (nz >= 0) {
					snprintf(msg, sizeof(msg),
						 "round %lu: fresh buffer not zero at offset %lld",
						 round, nz);
					goto answer;
				}
			}
			if (cy_check_before(g, p, round, who, msg, sizeof(msg)))
				goto answer;
			hpm_fill(p + who * g->slice, g->slice, who * g->slice,
				 cy_seed(round, who));
		} else if (c == 'U') {
			for (int i = 0; i < CY_PROCS; i++) {
				long long bad = p == MAP_FAILED ? 0 :
					hpm_check(p + i * g->slice, g->slice,
						  i * g->slice, cy_seed(round, i));

				if (bad >= 0) {
					snprintf(msg, sizeof(msg),
						 "worker %d before unmap: slice %d wrong at %lld",
						 who, i, bad);
					break;
				}
			}
			if (p != MAP_FAILED && munmap(p, g->size))
				snprintf(msg, sizeof(msg), "worker %d: munmap: %s", who,
					 strerror(errno));
			p = MAP_FAILED;
			if (fd >= 0)
				close(fd);
			fd = -1;
		} else {
			_exit(0);
		}
answer:
		if (write(ans, msg, strlen(msg)) < 0)
			_exit(1);
	}
	_exit(0);
}

FIXTURE(cycles) {
	struct cy_geom g;
	struct hpm_counters c0;
	pid_t pid[CY_WORKERS];
	int cmd[CY_WORKERS], ans[CY_WORKERS];
	int kmsg;
	char params[96];
};

FIXTURE_SETUP(cycles)
{
	self->kmsg = -1;
	for (int i = 0; i < CY_WORKERS; i++)
		self->pid[i] = -1;
	self->g.ps = hpm_page_size();
	self->g.size = self->g.ps * CY_PAGES;
	self->g.slice = self->g.size / CY_PROCS / 4096 * 4096;
	snprintf(self->params, sizeof(self->params), "nr_pages=%d page_size=%s",
		 CY_PAGES, hpm_page_size_str());
	ASSERT_EQ(0, hpm_ensure_unloaded());
	ASSERT_EQ(0, hpm_counters_read(&self->c0));
	{
		const struct hpm_pool *pool = hpm_pool_of(&self->c0, self->g.ps);

		ASSERT_NE(NULL, pool);
		ASSERT_LE(CY_PAGES, pool->free - pool->resv)
			TH_LOG("the %s pool needs %d free pages", hpm_page_size_str(),
			       CY_PAGES);
	}
	for (int i = 0; i < CY_WORKERS; i++) {
		int c[2], a[2];

		ASSERT_EQ(0, pipe(c));
		ASSERT_EQ(0, pipe(a));
		self->pid[i] = hpm_fork();
		ASSERT_LE(0, self->pid[i]);
		if (self->pid[i] == 0) {
			close(c[1]);
			close(a[0]);
			cy_worker(&self->g, i, c[0], a[1]);
		}
		close(c[0]);
		close(a[1]);
		self->cmd[i] = c[1];
		self->ans[i] = a[0];
	}
	self->kmsg = hpm_kmsg_open();
	ASSERT_LE(0, self->kmsg);
}

FIXTURE_TEARDOWN(cycles)
{
	for (int i = 0; i < CY_WORKERS; i++) {
		if (self->pid[i] <= 0)
			continue;
		if (write(self->cmd[i], "Q", 1) != 1)
			kill(self->pid[i], SIGKILL);
		hpm_wait(self->pid[i]);
	}
	if (self->kmsg >= 0)
		close(self->kmsg);
	hpm_ensure_unloaded();
}

/* Send @c to worker @i; 0 if it answered 'k', else its message in @msg. */
static int cy_ask(FIXTURE_DATA(cycles) *self, int i, char c, char *msg, size_t len)
{
	ssize_t n;

	if (write(self->cmd[i], &c, 1) != 1) {
		snprintf(msg, len, "worker %d: gone", i);
		return -1;
	}
	n = read(self->ans[i], msg, len - 1);
	if (n <= 0) {
		snprintf(msg, len, "worker %d: no answer", i);
		return -1;
	}
	msg[n] = '\0';
	return msg[0] == 'k' && n == 1 ? 0 : -1;
}

/* New kernel log records: 0 if none matches cy_bad, else the first in @msg. */
static int cy_kmsg_bad(int kmsg, char *msg, size_t len)
{
	static char buf[1 << 16];
	char *line, *save = NULL;

	hpm_kmsg_collect(kmsg, 7, buf, sizeof(buf));
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		for (size_t i = 0; i < sizeof(cy_bad) / sizeof(cy_bad[0]); i++)
			if (strstr(line, cy_bad[i])) {
				snprintf(msg, len, "%s", line);
				return -1;
			}
	return 0;
}

TEST_F_TIMEOUT(cycles, load_map_unload, 290)
{
	const char *env = getenv("HPM_CYCLES");
	unsigned long rounds = env && *env ? strtoul(env, NULL, 0) :
			       cy_debug_kernel() ? 100 : 1000;
	struct timespec t0, t1;
	char msg[1024];
	unsigned long r, retries = 0;
	double secs;

	HPM_SKIP_GUARD();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (r = 1; r <= rounds; r++) {
		long long mappings = -1;
		unsigned long long open_files = 0;
		char *p;
		int fd, ret, i;

		ret = hpm_finit(self->params);
		ASSERT_EQ(0, ret) TH_LOG("round %lu: finit_module(%s): %s", r,
					 self->params, strerror(-ret));
		{
			char what[64];

			snprintf(what, sizeof(what), "round %lu load", r);
			ASSERT_EQ(0, hpm_counters_diff(&self->c0, self->g.ps, CY_PAGES,
						       msg, sizeof(msg)))
				TH_LOG("%s: %s", what, msg);
		}
		for (i = 0; i < CY_WORKERS; i++)
			ASSERT_EQ(0, cy_ask(self, i, 'M', msg, sizeof(msg)))
				TH_LOG("round %lu: %s", r, msg);

		fd = hpm_open(O_RDWR);
		ASSERT_LE(0, fd) TH_LOG("round %lu: open: %s", r, strerror(errno));
		p = mmap(NULL, self->g.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		ASSERT_NE(MAP_FAILED, p) TH_LOG("round %lu: mmap: %s", r, strerror(errno));
		ASSERT_EQ(0, cy_check_before(&self->g, p, r, CY_WORKERS, msg, sizeof(msg)))
			TH_LOG("round %lu: %s", r, msg);
		hpm_fill(p + CY_WORKERS * self->g.slice, self->g.slice,
			 CY_WORKERS * self->g.slice, cy_seed(r, CY_WORKERS));
		mappings = hpm_class_mappings();
		hpm_class_ull("open_files", &open_files);
		EXPECT_EQ(CY_PROCS, mappings) TH_LOG("round %lu: sysfs mappings", r);
		EXPECT_EQ(CY_PROCS, open_files) TH_LOG("round %lu: sysfs open_files", r);

		for (i = 0; i < CY_WORKERS; i++)
			ASSERT_EQ(0, cy_ask(self, i, 'U', msg, sizeof(msg)))
				TH_LOG("round %lu: %s", r, msg);
		ASSERT_EQ(0, munmap(p, self->g.size));
		ASSERT_EQ(0, close(fd));

		ret = hpm_rmmod();
		EXPECT_EQ(0, ret) TH_LOG("round %lu: delete_module right after the last munmap/close: %s",
					 r, strerror(-ret));
		if (ret) {
			ret = hpm_ensure_unloaded();
			retries++;
			ASSERT_EQ(0, ret) TH_LOG("round %lu: unload: %s", r, strerror(-ret));
		}
		ASSERT_EQ(0, hpm_counters_diff(&self->c0, self->g.ps, 0, msg, sizeof(msg)))
			TH_LOG("round %lu unload: %s", r, msg);
		ASSERT_EQ(0, cy_kmsg_bad(self->kmsg, msg, sizeof(msg)))
			TH_LOG("round %lu: kernel log: %s", r, msg);
		if (_metadata->passed == 0)
			break;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	ksft_print_msg("cycles: %lu of %lu rounds of %d x %s pages, %d processes, in %.1f s (%.1f ms/round), %lu unload retries\n",
		       r - 1, rounds, CY_PAGES, hpm_page_size_str(), CY_PROCS, secs,
		       r > 1 ? secs * 1000 / (r - 1) : 0.0, retries);
}

TEST_HARNESS_MAIN
