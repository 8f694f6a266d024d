// SPDX-License-Identifier: GPL-2.0
/*
 * fault_inject.c - every allocation the driver makes can fail, cleanly
 *
 * hpage-map-profiles: default
 *
 * On the debug kernel (failslab and fail_page_alloc with the stack-trace
 * filter; skipped elsewhere): both are limited to allocations made with
 * module code on the stack (require-start=0xffffffffc0000000,
 * require-end=0xffffffffff000000, the x86-64 module area; nothing else is a
 * module on that kernel), also sleeping ones (ignore-gfp-wait=N), also order
 * 0 pages (min-order=0).  For each operation, N = 1, 2, ...: arm
 * /proc/thread-self/fail-nth with N, do the operation once, read fail-nth
 * back (0: the N-th allocation was failed), until the operation succeeds
 * without an injected failure.  The operations:
 *   load       finit_module(hpage_map, "nr_pages=8 page_size=2M"), one call
 *              (busybox insmod would retry a failed load);
 *   export     HPAGE_MAP_IOC_EXPORT_DMABUF of two pages;
 *   attach     import of such a dma-buf into vgem (DRM_IOCTL_PRIME_FD_TO_HANDLE:
 *              the driver's attach and map_dma_buf);
 *   mmap_dmabuf_4k  mmap of a dma-buf at a kernel-chosen (4 KiB) address;
 *   mmap_dev   mmap of /dev/hpage_map;
 *   add        HPAGE_MAP_CTL_ADD of a two-page buffer, then its use and
 *              REMOVE.
 * Each injected failure must give ENOMEM (an operation that survives it must
 * work), and leave no trace: no module, device or new fd, the module's
 * reference count and the dma-buf list as before, every hugetlb counter
 * exact, no new kernel log line but the injection's own reports (stack
 * dumps, allocation-failure warnings) and pr_err.  The point, the failing
 * allocation and its caller are printed for every N.  kmemleak: finally
 * (after 5 s, two scans) no unreferenced object allocated by this program.
 *
 * On every kernel: the preallocation fails at every page.  With the pool N
 * pages short (N = 1 .. nr_pages) -- made so by a smaller nr_hugepages, by
 * pages in use by someone else, by someone else's reservation -- the load
 * fails with ENOMEM, changes no counter, and the log says how many pages
 * are free and the exact `echo M > .../nr_hugepages` that fixes it; doing
 * exactly that makes the load succeed.
 *
 * The injection's stack dumps are expected kernel log lines: this program
 * checks every new record itself, more strictly than PID 1 (a KASAN,
 * lockdep, UBSAN, DEBUG_VM, DMA-API or list-debug report anywhere fails),
 * and clears the log buffer only after a clean case.
 */
#include "hpm_test.h"

#include <sys/klog.h>
#include <linux/dma-buf.h>
#include <drm/drm.h>

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB	(21 << MAP_HUGE_SHIFT)
#endif

#define FI_SLAB		"/sys/kernel/debug/failslab"
#define FI_PAGE		"/sys/kernel/debug/fail_page_alloc"
#define FI_NTH		"/proc/thread-self/fail-nth"
#define FI_KMEMLEAK	"/sys/kernel/debug/kmemleak"
#define FI_BUFINFO	"/sys/kernel/debug/dma_buf/bufinfo"
#define FI_MAX_POINTS	4000
/*
 * A failure injected without a report: a __GFP_NOWARN allocation, made
 * with the driver on the stack by the debugging code (kmemleak's and
 * KASAN's bookkeeping, which fall back) or by an allocation that has a
 * fallback (kvmalloc's kmalloc).
 */
#define FI_NOWARN	"a __GFP_NOWARN allocation (no report)"

/* ------------------------------------------------------------------ */
/* fault attributes                                                    */

struct fi_attr {
	const char *dir, *name, *value;
};

static const struct fi_attr fi_attrs[] = {
	{ FI_SLAB, "require-start", "0xffffffffc0000000" },
	{ FI_SLAB, "require-end", "0xffffffffff000000" },
	{ FI_SLAB, "stacktrace-depth", "32" },
	{ FI_SLAB, "ignore-gfp-wait", "N" },
	{ FI_SLAB, "cache-filter", "N" },
	{ FI_SLAB, "verbose", "2" },
	{ FI_PAGE, "require-start", "0xffffffffc0000000" },
	{ FI_PAGE, "require-end", "0xffffffffff000000" },
	{ FI_PAGE, "stacktrace-depth", "32" },
	{ FI_PAGE, "ignore-gfp-wait", "N" },
	{ FI_PAGE, "ignore-gfp-highmem", "N" },
	{ FI_PAGE, "min-order", "0" },
	{ FI_PAGE, "verbose", "2" },
};
#define FI_NR_ATTRS (sizeof(fi_attrs) / sizeof(fi_attrs[0]))

static int fi_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		ret = -errno;
	close(fd);
	return ret;
}

static int fi_writef(const char *path, const char *fmt, ...)
{
	char val[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	return fi_write(path, val);
}

/* Why fault injection cannot run here, or NULL. */
static const char *fi_unavailable(void)
{
	if (access(FI_SLAB, F_OK) || access(FI_PAGE, F_OK))
		return "no failslab/fail_page_alloc in debugfs (only the debug kernel has them)";
	if (access(FI_SLAB "/require-start", F_OK))
		return "no require-start (CONFIG_FAULT_INJECTION_STACKTRACE_FILTER is off)";
	if (access(FI_NTH, F_OK))
		return "no " FI_NTH " (CONFIG_FAULT_INJECTION_DEBUG_FS is off)";
	return NULL;
}

/* Arm the N-th allocation to fail, for this thread only. */
static int fi_arm(unsigned int n)
{
	return fi_writef(FI_NTH, "%u", n);
}

/* Disarm; true if the armed failure was injected. */
static bool fi_disarm(void)
{
	char buf[32];
	bool injected = hpm_read_file(FI_NTH, buf, sizeof(buf)) > 0 &&
			strtoul(buf, NULL, 10) == 0;

	fi_write(FI_NTH, "0");
	return injected;
}

/* ------------------------------------------------------------------ */
/* kernel log                                                          */

/* PID 1's list, and the sanitizers'. */
static const char *const fi_bad_anywhere[] = {
	"WARNING", "BUG", "Oops", "Call Trace", "leak", "UBSAN", "KASAN", "DMA-API",
};
/* Inside an injection's own report only these are bad. */
static const char *const fi_bad_in_report[] = {
	"BUG:", "WARNING:", "Oops", "UBSAN", "KASAN", "DMA-API", "kmemleak",
	"corruption", "general protection",
};

struct fi_log {
	int injections;		/* "FAULT_INJECTION: forcing a failure" */
	char site[160];		/* "<allocator> <- <driver function>" */
	char bad[512];		/* first bad line, "" if none */
	char text[1 << 15];	/* the records, for a failure's diagnosis */
};

static bool fi_any(const char *line, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(line, list[i]))
			return true;
	return false;
}

/* "func+0x1/0x2 [mod]" -> "func" (or "func [mod]"); skips "? " entries. */
static void fi_frame(const char *line, char *out, size_t size)
{
	const char *p = line;
	size_t n;

	while (*p == ' ' || *p == '\t')
		p++;
	n = strcspn(p, "+ ");
	snprintf(out, size, "%.*s%s", (int)n, p, strstr(p, "[hpage_map]") ? " [hpage_map]" : "");
}

/*
 * Read the new records: count injections, note the first driver frame of
 * the (first) injection's stack and the frame above it, and find bad lines.
 */
static void fi_log_read(int kmsg, struct fi_log *log)
{
	char *line, *save = NULL, prev[96] = "";
	bool in_report = false, in_injection = false;

	memset(log, 0, sizeof(*log) - sizeof(log->text));
	hpm_kmsg_collect(kmsg, 7, log->text, sizeof(log->text));
	{
		/* strtok_r would cut the diagnosis copy: scan a copy */
		static char copy[sizeof(log->text)];

		memcpy(copy, log->text, sizeof(copy));
		for (line = strtok_r(copy, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			bool bad;

			if (strstr(line, "FAULT_INJECTION: forcing a failure")) {
				log->injections++;
				in_report = in_injection = true;
				prev[0] = '\0';
				continue;
			}
			if (strstr(line, "page allocation failure") ||
			    strstr(line, "vmalloc error") ||
			    strstr(line, "SLUB: Unable to allocate"))
				in_report = true;
			/*
			 * A stack frame (" func+0x1/0x2", " ? func+...") is never a
			 * report by itself; the last lines of a dump can come in
			 * the next read (a record is readable once the next one
			 * starts), after its header was seen.
			 */
			if ((line[0] == ' ' || line[0] == '\t') &&
			    (strstr(line, "+0x") || strstr(line, "TASK>") || strstr(line, "IRQ>")))
				bad = false;
			else
				bad = in_report ? fi_any(line, fi_bad_in_report,
							 sizeof(fi_bad_in_report) / sizeof(char *)) :
						  fi_any(line, fi_bad_anywhere,
							 sizeof(fi_bad_anywhere) / sizeof(char *));
			if (bad && !log->bad[0])
				snprintf(log->bad, sizeof(log->bad), "%s", line);
			if (in_injection && !log->site[0] &&
			    (line[0] == ' ' || line[0] == '\t') && !strstr(line, "? ")) {
				char frame[96];

				fi_frame(line, frame, sizeof(frame));
				if (strstr(frame, "[hpage_map]"))
					snprintf(log->site, sizeof(log->site), "%s <- %s",
						 prev[0] ? prev : "?", frame);
				else if (!strstr(frame, "fault") && !strstr(frame, "dump_stack") &&
					 !strstr(frame, "should_fail") && strcmp(frame, "<TASK>"))
					snprintf(prev, sizeof(prev), "%s", frame);
			}
			if (strstr(line, "</TASK>"))
				in_report = in_injection = false;
		}
	}
}

/* ------------------------------------------------------------------ */
/* state that must come back                                           */

static int fi_nr_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static long long fi_refcnt(void)
{
	unsigned long long v = 0;

	return hpm_read_ull(HPM_SYS_MODULE "/refcnt", &v) ? -1 : (long long)v;
}

/* the last bufinfo read, for diagnosis */
static char fi_bufinfo_text[1 << 16];

/* dma-bufs of exporter hpage_map, and devices attached to any dma-buf */
static void fi_bufinfo(int *bufs, int *attached)
{
	static char buf[sizeof(fi_bufinfo_text)];
	char *line, *save = NULL;

	*bufs = *attached = 0;
	if (hpm_read_file(FI_BUFINFO, buf, sizeof(buf)) < 0) {
		*bufs = *attached = -1;
		return;
	}
	memcpy(fi_bufinfo_text, buf, sizeof(buf));
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int n;

		if (strstr(line, "\thpage_map\t"))
			(*bufs)++;
		else if (strstr(line, "devices attached") &&
			 sscanf(line, "Total %d devices attached", &n) == 1)
			*attached += n;
	}
}

/* ------------------------------------------------------------------ */
/* the fixture: attributes set (and restored), the log followed        */

FIXTURE(fault) {
	char saved[FI_NR_ATTRS][64];
	bool set;
	int kmsg;
	unsigned long ps, nr;
	char params[96];
	struct hpm_counters c0;		/* before any load */
	int points;			/* injected failures seen */
	bool log_clean;
};

FIXTURE_SETUP(fault)
{
	const char *why = fi_unavailable();

	self->set = false;
	self->kmsg = -1;
	self->log_clean = true;
	if (why)
		SKIP(return, "%s", why);
	for (size_t i = 0; i < FI_NR_ATTRS; i++) {
		char path[256];

		snprintf(path, sizeof(path), "%s/%s", fi_attrs[i].dir, fi_attrs[i].name);
		ASSERT_LT(0, hpm_read_file(path, self->saved[i], sizeof(self->saved[i])))
			TH_LOG("%s", path);
	}
	self->set = true;
	for (size_t i = 0; i < FI_NR_ATTRS; i++) {
		char path[256];

		snprintf(path, sizeof(path), "%s/%s", fi_attrs[i].dir, fi_attrs[i].name);
		ASSERT_EQ(0, fi_write(path, fi_attrs[i].value)) TH_LOG("%s", path);
	}
	self->ps = hpm_page_size();
	self->nr = hpm_nr_pages();
	snprintf(self->params, sizeof(self->params), "nr_pages=%lu page_size=%s",
		 self->nr, hpm_page_size_str());
	ASSERT_EQ(0, hpm_ensure_unloaded());
	ASSERT_EQ(0, hpm_counters_read(&self->c0));
	self->kmsg = hpm_kmsg_open();
	ASSERT_LE(0, self->kmsg);
}

FIXTURE_TEARDOWN(fault)
{
	fi_write(FI_NTH, "0");
	if (self->set)
		for (size_t i = 0; i < FI_NR_ATTRS; i++) {
			char path[256];

			snprintf(path, sizeof(path), "%s/%s", fi_attrs[i].dir,
				 fi_attrs[i].name);
			fi_write(path, self->saved[i]);
		}
	/*
	 * Every record was checked above; the expected injection reports
	 * would fail PID 1's grep, so clear the buffer -- after a clean case
	 * only.
	 */
	if (self->kmsg >= 0 && self->log_clean && _metadata->passed)
		klogctl(5 /* SYSLOG_ACTION_CLEAR */, NULL, 0);
	if (self->kmsg >= 0)
		close(self->kmsg);
	hpm_ensure_unloaded();
}

/*
 * After fault point @n of @op: log clean, site noted. Returns the site.
 * A record that is bad fails the case (and keeps the log for PID 1).
 */
#define FI_CHECK_LOG(op, n, injected, res) do {				\
	static struct fi_log __log;						\
	fi_log_read(self->kmsg, &__log);					\
	if (__log.bad[0])							\
		self->log_clean = false;					\
	EXPECT_EQ(0, __log.bad[0])						\
		TH_LOG("%s, fault point %u: kernel log: %s\n%s", op, n,	\
		       __log.bad, __log.text);					\
	if (injected) {								\
		self->points++;							\
		EXPECT_GE(1, __log.injections)					\
			TH_LOG("%s, fault point %u: %d injection reports",	\
			       op, n, __log.injections);			\
		ksft_print_msg("%s: fault %u at %s: %s\n", op, n,		\
			       __log.site[0] ? __log.site :			\
			       __log.injections ? "?" : FI_NOWARN, res);	\
	}									\
} while (0)

static const char *fi_errname(int err)
{
	static char buf[32];

	switch (err) {
	case 0: return "succeeded anyway";
	case ENOMEM: return "ENOMEM";
	case ENOSPC: return "ENOSPC";
	case EINVAL: return "EINVAL";
	case EFAULT: return "EFAULT";
	case EIO: return "EIO";
	case EBUSY: return "EBUSY";
	case ENODEV: return "ENODEV";
	default:
		snprintf(buf, sizeof(buf), "errno %d", err);
		return buf;
	}
}

/* Buffer @id works: GET_INFO, map, write, read back. */
static int fi_buffer_works(unsigned int id, unsigned long ps, unsigned long nr)
{
	struct hpage_map_info info;
	int fd = hpm_open_id(id, O_RDWR), ret = -1;
	char *p;

	if (fd < 0)
		return -1;
	if (hpm_get_info(fd, &info) || info.id != id || info.page_size != ps ||
	    info.nr_pages != nr)
		goto out;
	p = mmap(NULL, info.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto out;
	hpm_fill(p, info.size, 0, 9);
	ret = hpm_check(p, info.size, 0, 9) < 0 ? 0 : -1;
	munmap(p, info.size);
out:
	close(fd);
	return ret;
}

/* The loaded module works: buffer 0 as loaded. */
static int fi_module_works(unsigned long ps, unsigned long nr)
{
	return fi_buffer_works(0, ps, nr);
}

static void fi_summary(const char *op, int points, unsigned int n, bool done)
{
	if (done)
		ksft_print_msg("%s: %d fault points, each failed cleanly; succeeded at attempt %u\n",
			       op, points, n);
}

/* ------------------------------------------------------------------ */

TEST_F_TIMEOUT(fault, load, 900)
{
	char path[512];
	bool compressed = false, done = false;
	unsigned int n;

	HPM_SKIP_GUARD();
	ASSERT_EQ(0, hpm_module_path(path, sizeof(path), &compressed));
	for (n = 1; n <= FI_MAX_POINTS && !done; n++) {
		int mfd = open(path, O_RDONLY | O_CLOEXEC), ret, err;
		bool injected;
		char msg[1024];

		ASSERT_LE(0, mfd);
		ASSERT_EQ(0, fi_arm(n));
		ret = syscall(SYS_finit_module, mfd, self->params,
			      compressed ? MODULE_INIT_COMPRESSED_FILE : 0);
		err = ret ? errno : 0;
		injected = fi_disarm();
		close(mfd);
		FI_CHECK_LOG("load", n, injected, fi_errname(err));
		if (err) {
			EXPECT_TRUE(injected) TH_LOG("load failed without injection: %s",
						     strerror(err));
			EXPECT_EQ(ENOMEM, err) TH_LOG("load, fault point %u: %s", n,
						      strerror(err));
			EXPECT_FALSE(hpm_module_loaded()) TH_LOG("fault point %u", n);
			EXPECT_NE(0, access(HPAGE_MAP_DEVICE, F_OK))
				TH_LOG("fault point %u: /dev/hpage_map left", n);
		} else {
			EXPECT_EQ(0, fi_module_works(self->ps, self->nr))
				TH_LOG("load, fault point %u: loaded but broken", n);
			done = !injected;
			ASSERT_EQ(0, hpm_rmmod()) TH_LOG("unload after point %u", n);
		}
		EXPECT_EQ(0, hpm_counters_diff(&self->c0, self->ps, 0, msg, sizeof(msg)))
			TH_LOG("load, fault point %u: %s", n, msg);
		/* a wrong errno is reported; only a wrong state stops the walk */
		if (hpm_module_loaded() || !self->log_clean ||
		    hpm_counters_diff(&self->c0, self->ps, 0, msg, sizeof(msg)))
			break;
	}
	EXPECT_TRUE(done) TH_LOG("load never succeeded in %u attempts", n - 1);
	fi_summary("load", self->points, n - 1, done);
}

/* Loaded, an O_RDWR fd. */
static int fi_setup_loaded(FIXTURE_DATA(fault) *self)
{
	if (hpm_finit(self->params))
		return -1;
	return hpm_open(O_RDWR);
}

TEST_F_TIMEOUT(fault, export, 900)
{
	struct hpage_map_export req;
	int fd, fds0, bufs0, att0, bufs, att;
	long long ref0;
	bool done = false;
	unsigned int n;

	HPM_SKIP_GUARD();
	fd = fi_setup_loaded(self);
	ASSERT_LE(0, fd);
	fds0 = fi_nr_fds();
	ref0 = fi_refcnt();
	fi_bufinfo(&bufs0, &att0);
	for (n = 1; n <= FI_MAX_POINTS && !done; n++) {
		bool injected;
		int ret, err;

		memset(&req, 0, sizeof(req));
		req.offset = self->ps;
		req.size = 2 * self->ps;
		req.flags = O_RDWR | O_CLOEXEC;
		req.fd = -1;
		ASSERT_EQ(0, fi_arm(n));
		ret = ioctl(fd, HPAGE_MAP_IOC_EXPORT_DMABUF, &req);
		err = ret ? errno : 0;
		injected = fi_disarm();
		FI_CHECK_LOG("export", n, injected, fi_errname(err));
		if (err) {
			EXPECT_TRUE(injected) TH_LOG("export failed without injection: %s",
						     strerror(err));
			EXPECT_EQ(ENOMEM, err) TH_LOG("export, fault point %u: %s", n,
						      strerror(err));
		} else {
			EXPECT_EQ((off_t)req.size, lseek(req.fd, 0, SEEK_END))
				TH_LOG("export, fault point %u: dma-buf size", n);
			EXPECT_EQ(ref0 + 1, fi_refcnt()) TH_LOG("fault point %u", n);
			close(req.fd);
			done = !injected;
		}
		EXPECT_EQ(fds0, fi_nr_fds()) TH_LOG("export, fault point %u: fds", n);
		EXPECT_EQ(ref0, fi_refcnt()) TH_LOG("export, fault point %u: module refcnt", n);
		fi_bufinfo(&bufs, &att);
		EXPECT_EQ(bufs0, bufs) TH_LOG("export, fault point %u: dma-bufs in bufinfo", n);
		if (fi_nr_fds() != fds0 || fi_refcnt() != ref0 || bufs != bufs0 ||
		    !self->log_clean)
			break;		/* a wrong errno is reported, a wrong state stops */
	}
	EXPECT_TRUE(done) TH_LOG("export never succeeded in %u attempts", n - 1);
	fi_summary("export", self->points, n - 1, done);
	close(fd);
	EXPECT_EQ(0, hpm_rmmod());
	HPM_EXPECT_POOL(&self->c0, self->ps, 0, "export: unload");
}

/*
 * HPAGE_MAP_CTL_ADD of two pages.  On a node the fallocate runs in a
 * worker, whose allocations fail-nth does not reach; the rest of that add
 * is this one's (a second walk cost 140 s of the binary's 1200).
 */
TEST_F_TIMEOUT(fault, add, 900)
{
	const char *op = "add";
	struct hpm_counters c1;
	bool done = false;
	int ctl, fds0;
	long long ref0;
	unsigned int n;

	HPM_SKIP_GUARD();
	ASSERT_EQ(0, hpm_finit(self->params));
	ctl = hpm_ctl_open();
	ASSERT_LE(0, ctl);
	ASSERT_EQ(0, hpm_counters_read(&c1));
	fds0 = fi_nr_fds();
	ref0 = fi_refcnt();
	for (n = 1; n <= FI_MAX_POINTS && !done; n++) {
		struct hpage_map_ctl_add req = {
			.nr_pages = 2, .page_size = self->ps, .numa_node = -1,
		};
		char msg[1024];
		bool injected;
		int ret, err;

		ASSERT_EQ(0, fi_arm(n));
		ret = ioctl(ctl, HPAGE_MAP_CTL_ADD, &req);
		err = ret ? errno : 0;
		injected = fi_disarm();
		FI_CHECK_LOG(op, n, injected, fi_errname(err));
		if (err) {
			EXPECT_TRUE(injected) TH_LOG("%s failed without injection: %s",
						     op, strerror(err));
			EXPECT_EQ(ENOMEM, err) TH_LOG("%s, fault point %u: %s", op, n,
						      strerror(err));
			EXPECT_NE(0, access(HPAGE_MAP_DEVICE "1", F_OK))
				TH_LOG("%s, fault point %u: /dev/hpage_map1 left", op, n);
			EXPECT_NE(0, access(HPM_SYS_CLASS "1", F_OK))
				TH_LOG("%s, fault point %u: sysfs directory left", op, n);
		} else {
			EXPECT_EQ(1, req.id) TH_LOG("%s, fault point %u", op, n);
			EXPECT_EQ(0, fi_buffer_works(req.id, self->ps, 2))
				TH_LOG("%s, fault point %u: added but broken", op, n);
			EXPECT_EQ(0, hpm_ctl_remove(ctl, req.id))
				TH_LOG("%s, fault point %u: remove", op, n);
			done = !injected;
		}
		EXPECT_EQ(0, hpm_counters_diff(&c1, self->ps, 0, msg, sizeof(msg)))
			TH_LOG("%s, fault point %u: %s", op, n, msg);
		EXPECT_EQ(fds0, fi_nr_fds()) TH_LOG("%s, fault point %u: fds", op, n);
		EXPECT_EQ(ref0, fi_refcnt())
			TH_LOG("%s, fault point %u: module refcnt", op, n);
		if (!self->log_clean || fi_nr_fds() != fds0 ||
		    hpm_counters_diff(&c1, self->ps, 0, msg, sizeof(msg)))
			break;
	}
	EXPECT_TRUE(done) TH_LOG("%s never succeeded in %u attempts", op, n - 1);
	fi_summary(op, self->points, n - 1, done);
	close(ctl);
	EXPECT_EQ(0, hpm_rmmod());
	HPM_EXPECT_POOL(&self->c0, self->ps, 0, "add: unload");
}

TEST_F_TIMEOUT(fault, attach, 900)
{
	struct hpage_map_export req;
	int fd, card, bufs0, att0, bufs, att;
	long long ref0;
	bool done = false;
	unsigned int n;

	HPM_SKIP_GUARD();
	fd = fi_setup_loaded(self);
	ASSERT_LE(0, fd);
	card = hpm_vgem_open();
	ASSERT_LE(0, card) TH_LOG("no vgem card");
	ref0 = fi_refcnt();
	fi_bufinfo(&bufs0, &att0);
	for (n = 1; n <= FI_MAX_POINTS && !done; n++) {
		struct drm_prime_handle h;
		struct dma_buf_sync sync;
		bool injected;
		int ret, err;

		memset(&req, 0, sizeof(req));
		req.size = self->nr * self->ps;
		req.flags = O_RDWR | O_CLOEXEC;
		ASSERT_EQ(0, ioctl(fd, HPAGE_MAP_IOC_EXPORT_DMABUF, &req));
		memset(&h, 0, sizeof(h));
		h.fd = req.fd;
		ASSERT_EQ(0, fi_arm(n));
		ret = ioctl(card, DRM_IOCTL_PRIME_FD_TO_HANDLE, &h);
		err = ret ? errno : 0;
		injected = fi_disarm();
		FI_CHECK_LOG("attach", n, injected, fi_errname(err));
		fi_bufinfo(&bufs, &att);
		if (err) {
			EXPECT_TRUE(injected) TH_LOG("import failed without injection: %s",
						     strerror(err));
			EXPECT_EQ(ENOMEM, err) TH_LOG("attach, fault point %u: %s", n,
						      strerror(err));
			EXPECT_EQ(att0, att) TH_LOG("attach, fault point %u: attachment left:\n%s",
						    n, fi_bufinfo_text);
		} else {
			struct drm_gem_close c = { .handle = h.handle };

			EXPECT_EQ(att0 + 1, att) TH_LOG("attach, fault point %u: attachments", n);
			/* CPU access while vgem holds the mapped attachment */
			sync.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW;
			EXPECT_EQ(0, ioctl(req.fd, DMA_BUF_IOCTL_SYNC, &sync));
			sync.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW;
			EXPECT_EQ(0, ioctl(req.fd, DMA_BUF_IOCTL_SYNC, &sync));
			EXPECT_EQ(0, ioctl(card, DRM_IOCTL_GEM_CLOSE, &c));
			done = !injected;
		}
		close(req.fd);
		EXPECT_EQ(ref0, fi_refcnt()) TH_LOG("attach, fault point %u: module refcnt", n);
		fi_bufinfo(&bufs, &att);
		EXPECT_EQ(bufs0, bufs) TH_LOG("attach, fault point %u: dma-bufs in bufinfo", n);
		if (fi_refcnt() != ref0 || bufs != bufs0 || !self->log_clean)
			break;		/* a wrong errno is reported, a wrong state stops */
	}
	EXPECT_TRUE(done) TH_LOG("attach never succeeded in %u attempts", n - 1);
	fi_summary("attach", self->points, n - 1, done);
	close(card);
	close(fd);
	EXPECT_EQ(0, hpm_rmmod());
	HPM_EXPECT_POOL(&self->c0, self->ps, 0, "attach: unload");
}

/* mmap of @src (the device, or a dma-buf), @len bytes at a kernel-chosen address. */
static void fi_mmap_points(struct __test_metadata *_metadata, FIXTURE_DATA(fault) *self,
			   const char *op, int dev, bool dmabuf, size_t len)
{
	long long ref0 = fi_refcnt(), maps0 = hpm_class_mappings();
	bool done = false;
	unsigned int n;

	for (n = 1; n <= FI_MAX_POINTS && !done; n++) {
		struct hpage_map_export req;
		int src = dev, err;
		bool injected;
		char *p;

		if (dmabuf) {
			memset(&req, 0, sizeof(req));
			req.size = 2 * self->ps;
			req.flags = O_RDWR | O_CLOEXEC;
			ASSERT_EQ(0, ioctl(dev, HPAGE_MAP_IOC_EXPORT_DMABUF, &req));
			src = req.fd;
		}
		ASSERT_EQ(0, fi_arm(n));
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, src, 0);
		err = p == MAP_FAILED ? errno : 0;
		injected = fi_disarm();
		FI_CHECK_LOG(op, n, injected, fi_errname(err));
		if (err) {
			EXPECT_TRUE(injected) TH_LOG("%s failed without injection: %s", op,
						     strerror(err));
			EXPECT_EQ(ENOMEM, err) TH_LOG("%s, fault point %u: %s", op, n,
						      strerror(err));
		} else {
			hpm_fill(p, len, 0, n);
			EXPECT_EQ(-1, hpm_check(p, len, 0, n)) TH_LOG("%s, point %u: data", op, n);
			EXPECT_EQ(0, munmap(p, len));
			done = !injected;
		}
		if (dmabuf)
			close(src);
		EXPECT_EQ(ref0, fi_refcnt()) TH_LOG("%s, fault point %u: module refcnt", op, n);
		EXPECT_EQ(maps0, hpm_class_mappings()) TH_LOG("%s, fault point %u: mappings", op, n);
		if (fi_refcnt() != ref0 || hpm_class_mappings() != maps0 || !self->log_clean)
			break;		/* a wrong errno is reported, a wrong state stops */
	}
	EXPECT_TRUE(done) TH_LOG("%s never succeeded in %u attempts", op, n - 1);
	fi_summary(op, self->points, n - 1, done);
}

TEST_F_TIMEOUT(fault, mmap_dmabuf_4k, 900)
{
	int fd;

	HPM_SKIP_GUARD();
	fd = fi_setup_loaded(self);
	ASSERT_LE(0, fd);
	/* one 4 KiB page short of two huge pages: the 4 KiB (remap) path */
	fi_mmap_points(_metadata, self, "mmap_dmabuf_4k", fd, true, 2 * self->ps - 4096);
	close(fd);
	EXPECT_EQ(0, hpm_rmmod());
}

TEST_F_TIMEOUT(fault, mmap_dev, 900)
{
	int fd;

	HPM_SKIP_GUARD();
	fd = fi_setup_loaded(self);
	ASSERT_LE(0, fd);
	fi_mmap_points(_metadata, self, "mmap_dev", fd, false, self->nr * self->ps);
	close(fd);
	EXPECT_EQ(0, hpm_rmmod());
}

/* ------------------------------------------------------------------ */
/* the preallocation, short by 1 .. nr pages (every kernel)            */

FIXTURE(prealloc) {
	unsigned long ps, nr;
	long long total;	/* nr_hugepages to restore */
	char sysfs[128];
	char params[96];
	int kmsg;
	size_t held_len;
	char *held;
};

FIXTURE_SETUP(prealloc)
{
	unsigned long long v = 0;

	self->kmsg = -1;
	self->held = MAP_FAILED;
	self->total = -1;
	self->ps = hpm_page_size();
	self->nr = hpm_nr_pages();
	if (self->ps != (2UL << 20))
		SKIP(return, "2M pages only (the 1G pool cannot be resized at run time)");
	snprintf(self->sysfs, sizeof(self->sysfs),
		 HPM_SYS_HPAGES "/hugepages-%lukB/nr_hugepages", self->ps >> 10);
	snprintf(self->params, sizeof(self->params), "nr_pages=%lu page_size=%s",
		 self->nr, hpm_page_size_str());
	ASSERT_EQ(0, hpm_ensure_unloaded());
	ASSERT_EQ(0, hpm_read_ull(self->sysfs, &v));
	self->total = (long long)v;
	ASSERT_LE(self->nr + 1, (unsigned long)self->total);
	self->kmsg = hpm_kmsg_open();
	ASSERT_LE(0, self->kmsg);
}

FIXTURE_TEARDOWN(prealloc)
{
	hpm_ensure_unloaded();
	if (self->held != MAP_FAILED)
		munmap(self->held, self->held_len);
	if (self->total >= 0)
		fi_writef(self->sysfs, "%lld", self->total);
	if (self->kmsg >= 0)
		close(self->kmsg);
}

static int fi_set_pool(FIXTURE_DATA(prealloc) *self, long long n)
{
	unsigned long long v = 0;

	if (fi_writef(self->sysfs, "%lld", n) || hpm_read_ull(self->sysfs, &v))
		return -1;
	return (long long)v == n ? 0 : -1;
}

/*
 * One load that must fail: ENOMEM, no counter changed, and the log names
 * @free free pages and "echo @fix > nr_hugepages"; then that echo fixes it.
 */
static void fi_short_load(struct __test_metadata *_metadata,
			  FIXTURE_DATA(prealloc) *self, const char *how,
			  long long short_by, long long free, long long fix)
{
	static char log[1 << 15];
	struct hpm_counters before;
	char want[256], msg[1024];
	int ret;

	ASSERT_EQ(0, hpm_counters_read(&before));
	hpm_kmsg_collect(self->kmsg, 7, log, sizeof(log));
	ret = hpm_finit(self->params);
	EXPECT_EQ(-ENOMEM, ret) TH_LOG("%s, %lld short: load: %s", how, short_by,
				       ret ? strerror(-ret) : "succeeded");
	if (!ret)
		hpm_ensure_unloaded();
	EXPECT_FALSE(hpm_module_loaded());
	EXPECT_EQ(0, hpm_counters_diff(&before, self->ps, 0, msg, sizeof(msg)))
		TH_LOG("%s, %lld short: counters: %s", how, short_by, msg);
	hpm_kmsg_collect(self->kmsg, 7, log, sizeof(log));
	snprintf(want, sizeof(want),
		 "cannot preallocate %lu huge pages of %lu kB: %lld free; grow the pool: echo %lld > /sys/kernel/mm/hugepages/hugepages-%lukB/nr_hugepages",
		 self->nr, self->ps >> 10, free, fix, self->ps >> 10);
	EXPECT_NE(NULL, strstr(log, want))
		TH_LOG("%s, %lld short: log lacks\n%s\nlog:\n%s", how, short_by, want, log);

	/* the advice works */
	ASSERT_EQ(0, fi_set_pool(self, fix));
	ret = hpm_finit(self->params);
	EXPECT_EQ(0, ret) TH_LOG("%s, %lld short: load after 'echo %lld': %s", how,
				 short_by, fix, strerror(-ret));
	EXPECT_EQ(0, hpm_ensure_unloaded());
}

TEST_F_TIMEOUT(prealloc, pool_too_small, 120)
{
	struct hpm_counters c0;
	char msg[1024];

	HPM_SKIP_GUARD();
	for (long long k = 1; k <= (long long)self->nr; k++) {
		ASSERT_EQ(0, fi_set_pool(self, self->nr - k));
		fi_short_load(_metadata, self, "nr_hugepages", k, self->nr - k, self->nr);
	}
	ASSERT_EQ(0, fi_set_pool(self, self->total));
	ASSERT_EQ(0, hpm_counters_read(&c0));
	ASSERT_EQ(0, hpm_finit(self->params));
	ASSERT_EQ(0, hpm_rmmod());
	EXPECT_EQ(0, hpm_counters_diff(&c0, self->ps, 0, msg, sizeof(msg))) TH_LOG("%s", msg);
}

/* Someone else holds (touched) or reserves (untouched) all but nr - k free pages. */
static void fi_held(struct __test_metadata *_metadata, FIXTURE_DATA(prealloc) *self,
		    bool touch)
{
	for (long long k = 1; k <= (long long)self->nr; k++) {
		long long hold = self->total - (long long)self->nr + k;

		ASSERT_EQ(0, fi_set_pool(self, self->total));
		self->held_len = hold * self->ps;
		self->held = mmap(NULL, self->held_len, PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB,
				  -1, 0);
		ASSERT_NE(MAP_FAILED, self->held) TH_LOG("MAP_HUGETLB of %lld pages: %s",
							 hold, strerror(errno));
		if (touch)
			hpm_touch(self->held, self->held_len);
		/* free - resv = nr - k; echo total + k gives nr free */
		fi_short_load(_metadata, self, touch ? "pages in use" : "pages reserved",
			      k, self->nr - k, self->total + k);
		ASSERT_EQ(0, munmap(self->held, self->held_len));
		self->held = MAP_FAILED;
	}
	ASSERT_EQ(0, fi_set_pool(self, self->total));
}

TEST_F_TIMEOUT(prealloc, pages_in_use, 120)
{
	HPM_SKIP_GUARD();
	fi_held(_metadata, self, true);
}

TEST_F_TIMEOUT(prealloc, pages_reserved, 120)
{
	HPM_SKIP_GUARD();
	fi_held(_metadata, self, false);
}

/* ------------------------------------------------------------------ */
/* kmemleak: nothing this program allocated is left unreferenced       */

FIXTURE(leaks) {
	int unused;
};

FIXTURE_SETUP(leaks)
{
	if (access(FI_KMEMLEAK, F_OK))
		SKIP(return, "no kmemleak (only the debug kernel has it)");
}

FIXTURE_TEARDOWN(leaks)
{
}

TEST_F_TIMEOUT(leaks, none_from_this_program, 300)
{
	static char buf[1 << 20];
	char comm[32], *obj, *next;
	int leaks = 0;

	HPM_SKIP_GUARD();
	/* kmemleak reports objects older than 5 s only */
	sleep(6);
	ASSERT_EQ(0, fi_write(FI_KMEMLEAK, "scan"));
	ASSERT_EQ(0, fi_write(FI_KMEMLEAK, "scan"));
	ASSERT_LE(0, hpm_read_file(FI_KMEMLEAK, buf, sizeof(buf)));
	/* each report names the allocating task: comm "<name>", pid N */
	snprintf(comm, sizeof(comm), "comm \"%.15s\"", program_invocation_short_name);
	for (obj = strstr(buf, "unreferenced object"); obj; obj = next) {
		next = strstr(obj + 1, "unreferenced object");
		if (next)
			next[-1] = '\0';
		if (!strstr(obj, comm))
			continue;
		if (leaks++ < 5)
			TH_LOG("kmemleak:\n%s", obj);
	}
	EXPECT_EQ(0, leaks) TH_LOG("%d unreferenced objects allocated by %s", leaks,
				   program_invocation_short_name);
	ksft_print_msg("kmemleak: %d unreferenced objects from %s\n", leaks,
		       program_invocation_short_name);
}

TEST_HARNESS_MAIN
