// SPDX-License-Identifier: GPL-2.0
/*
 * hpage-bench - /dev/hpage_map against the other ways to get huge pages,
 * measured side by side in one boot
 *
 * Methods (the numbers are the report's):
 *   1 anonymous 4K    MAP_PRIVATE | MAP_ANONYMOUS, MADV_NOHUGEPAGE
 *   2 anonymous THP   MAP_PRIVATE | MAP_ANONYMOUS, MADV_HUGEPAGE
 *   3 MAP_HUGETLB     anonymous hugetlb: pages taken and zeroed at fault
 *   4 hugetlbfs file  a file on a hugetlbfs mount, fallocate'd before any
 *                     timing: the kernel path /dev/hpage_map uses, its limit
 *   5 /dev/hpage_map  loaded (its pages taken and zeroed) before any timing
 *   6 udmabuf         a hugetlb memfd made a dma-buf by /dev/udmabuf, mmap
 *                     of the dma-buf (6.12; 4 KiB PFN mappings)
 * Objects 4, 5 and 6 are created once, at the largest size, and stay; every
 * mapping starts at a 1 GiB-aligned address.
 *
 * Figures: medians and min-max over -r repetitions (default 11); within a
 * repetition every method runs once, and the order rotates by one method
 * from one repetition to the next.
 *   - mmap + first touch (one write per 4 KiB) + munmap, and the minor
 *     faults (getrusage) it took, for each size (-s, default 256 MiB and
 *     1 GiB), without and with MAP_POPULATE; then also the populating mmap
 *     alone.  For 1 and 2, "MAP_POPULATE" is madvise(MADV_POPULATE_WRITE)
 *     right after their madvise: a real MAP_POPULATE would populate before
 *     the madvise (and THP is "always" on Debian).  6 has no MAP_POPULATE
 *     (it is ignored for PFN mappings).
 *   - modprobe hpage_map against a memset, in user space, of the same bytes
 *     (through the freshly loaded device, already populated) and against a
 *     fallocate of a hugetlbfs file of that size, for each size; and
 *     modprobe of a single page, the part of a load that does not scale.
 *   - VmPTE growth of each of 8 processes mapping and touching the same
 *     object of the largest size, and the system's PageTables growth
 *     (/proc/meminfo), which shows hugetlb page-table sharing; 1-3 in their
 *     shareable forms (memfd: shmem, shmem THP, hugetlb).
 *   - O_DIRECT read throughput from a disk (-d, default /dev/vda) into a
 *     buffer of the smallest size of each kind.
 *   - Pinning for DMA: registering and unregistering a populated mapping of
 *     the largest size of 1, 3, 4 and 5 as an io_uring fixed buffer, with
 *     VFIO_IOMMU_MAP_DMA (QEMU's edu device in a type1 container behind
 *     the emulated Intel IOMMU) and with ibv_reg_mr (rxe0, soft RoCE), and
 *     the pins each takes and holds (/proc/vmstat nr_foll_pin_*).
 * -p picks parts: touch, load, pte, odirect, pin (default all).
 * The report, Markdown with ratios against methods 4 and 3 (pinning: 1
 * and 4) and the goals marked PASS or FAIL, goes to stdout and to the -o
 * file; progress goes to stderr.
 *
 * Needs root, hpage_map modprobe-able but not loaded, and free 2 MiB huge
 * pages for methods 3-6 at the largest size at once (4 x 512 for 1 GiB).
 * For the guest of `make bench` (edu, intel_iommu=on, rdma_rxe); it changes
 * shmem_enabled (to "advise") and udmabuf's size_limit_mb for its run and
 * puts them back.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/io_uring.h>
#include <linux/netlink.h>
#include <linux/udmabuf.h>
#include <linux/vfio.h>
#include <net/if.h>
#include <rdma/rdma_netlink.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RDMA_STATIC_PROVIDERS rxe
#include <infiniband/verbs.h>

#include "hpage_map.h"
#include "devices.h"	/* tests/: edu on vfio-pci, rxe0 */

#define MiB		(1UL << 20)
#define GiB		(1UL << 30)
#define HPAGE		(2 * MiB)	/* the only huge page size used */
#define TOUCH_STEP	4096		/* first touch: one write per 4 KiB */
#define MAP_ALIGN	GiB		/* start of every mapping */
#define MAX_REPS	101
#define MAX_SIZES	4
#define NR_PROCS	8		/* VmPTE: processes mapping one object */
#define ODIRECT_IO	(2 * MiB)	/* bytes per O_DIRECT read */
#define PTE_GOAL_KB	64		/* the 8th process adds less than this */

#define HUGETLBFS_DIR	"/tmp/hpage-bench-hugetlbfs"
#define UDMABUF_DEV	"/dev/udmabuf"
#define UDMABUF_LIMIT	"/sys/module/udmabuf/parameters/size_limit_mb"
#define SHMEM_THP	"/sys/kernel/mm/transparent_hugepage/shmem_enabled"
#define POOL_FREE	"/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"
#define DMA_PINNED	"/sys/class/misc/hpage_map/dma_pinned_pages"
#define PIN_IOVA	GiB	/* VFIO: below the MSI window at 0xfee00000 */

/* log2(2 MiB) in the page-size field of MAP_HUGETLB and MFD_HUGETLB */
#define HUGE_2MB	(21U << MAP_HUGE_SHIFT)

enum method {
	ANON_4K, ANON_THP, HUGETLB_ANON, HUGETLBFS_FILE, HPAGE_MAP, UDMABUF,
	NR_METHODS
};

static const char *const method_name[NR_METHODS] = {
	"1 anonymous 4K",
	"2 anonymous THP",
	"3 MAP_HUGETLB",
	"4 hugetlbfs file",
	"5 /dev/hpage_map",
	"6 udmabuf",
};

/* What 1-3 are in the VmPTE test, where processes share one object. */
static const char *const shared_form[NR_METHODS] = {
	"memfd (shmem), MADV_NOHUGEPAGE",
	"memfd (shmem), MADV_HUGEPAGE",
	"hugetlb memfd",
	"the same file",
	"the same device",
	"the same dma-buf",
};

enum variant { PLAIN, POPULATE, NR_VARIANTS };

/* The parts of the run, for -p. */
enum part { PART_TOUCH, PART_LOAD, PART_PTE, PART_ODIRECT, PART_PIN, NR_PARTS };

static const char *const part_name[NR_PARTS] = {
	"touch", "load", "pte", "odirect", "pin",
};

static struct {
	int reps;
	size_t sizes[MAX_SIZES];
	int nr_sizes;
	const char *disk;
	const char *out;
	unsigned int parts;	/* bit per enum part */
} cfg = {
	.reps = 11,
	.sizes = { 256 * MiB, GiB },
	.nr_sizes = 2,
	.disk = "/dev/vda",
	.out = NULL,
	.parts = (1U << NR_PARTS) - 1,
};

static bool part_on(enum part p)
{
	return cfg.parts & (1U << p);
}

/* The objects of methods 4-6, created once at the largest size. */
static struct {
	size_t size;
	bool mounted;
	int file_fd;
	int hpm_fd;
	int memfd;
	int dmabuf_fd;
	const char *no_udmabuf;		/* why method 6 is missing */
} obj = { .file_fd = -1, .hpm_fd = -1, .memfd = -1, .dmabuf_fd = -1 };

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("hpage-bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static long minor_faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

static double start_time;

static void progress(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "hpage-bench [%4.0f s] ", now() - start_time);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* First line of @path into @buf (newline removed); false if unreadable. */
static bool read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	bool ok;

	if (!f)
		return false;
	ok = fgets(buf, len, f) != NULL;
	fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = '\0';
	return ok;
}

static bool write_string(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return false;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s);
}

/* the bracketed word of a sysfs choice file ("always [advise] never") */
static bool read_choice(const char *path, char *buf, size_t len)
{
	char line[256], *a, *b;

	if (!read_line(path, line, sizeof(line)) ||
	    !(a = strchr(line, '[')) || !(b = strchr(a, ']')))
		return false;
	*b = '\0';
	snprintf(buf, len, "%s", a + 1);
	return true;
}

/* sysfs settings this run changes and puts back */
struct knob {
	const char *path;
	char saved[32];
};
static struct knob shmem_thp_knob = { SHMEM_THP, "" };
static struct knob udmabuf_limit_knob = { UDMABUF_LIMIT, "" };

static bool set_knob(struct knob *k, const char *value)
{
	if (!read_choice(k->path, k->saved, sizeof(k->saved)) &&
	    !read_line(k->path, k->saved, sizeof(k->saved)))
		return false;
	if (write_string(k->path, value))
		return true;
	k->saved[0] = '\0';
	return false;
}

static void restore_knob(struct knob *k)
{
	if (k->saved[0])
		write_string(k->path, k->saved);
}

/*
 * The first "@key: value" line of @path (status, meminfo, cpuinfo): the value
 * as a number and, if @text, as text.  -1 if there is no such line.
 */
static long read_field(const char *path, const char *key, char *text, size_t len)
{
	char line[4096];
	size_t klen = strlen(key);
	FILE *f = fopen(path, "r");
	long val = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *v = line + klen;

		if (strncmp(line, key, klen))
			continue;
		v += strspn(v, " \t");
		if (*v++ != ':')
			continue;
		v += strspn(v, " \t");
		v[strcspn(v, "\n")] = '\0';
		if (text)
			snprintf(text, len, "%s", v);
		val = strtol(v, NULL, 10);
		break;
	}
	fclose(f);
	return val;
}

static long kb_field(const char *path, const char *key)
{
	return read_field(path, key, NULL, 0);
}

/* PageTables of /proc/meminfo, exact: per-CPU counter deltas folded first */
static long system_page_tables_kb(void)
{
	write_string("/proc/sys/vm/stat_refresh", "1");
	return kb_field("/proc/meminfo", "PageTables");
}

/* Runs @argv (found in PATH), stdout and stderr left as they are. */
static int run(char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid: %s", strerror(errno));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* modprobe hpage_map with @size bytes of 2 MiB pages; returns seconds. */
static double load_module(size_t size)
{
	char nr[64];
	char *const argv[] = { "modprobe", "hpage_map", nr, "page_size=2M", NULL };
	double t0;

	snprintf(nr, sizeof(nr), "nr_pages=%zu", size / HPAGE);
	t0 = now();
	if (run(argv))
		die("modprobe hpage_map %s page_size=2M failed", nr);
	return now() - t0;
}

static void unload_module(void)
{
	char *const argv[] = { "rmmod", "hpage_map", NULL };

	if (run(argv))
		die("rmmod hpage_map failed");
}

/*
 * An address where @len bytes aligned to @align are free: mmap's hint (the
 * kernel takes it when the range is free and, for hugetlb, aligned).
 */
static void *aligned_address(size_t len, size_t align)
{
	char *p = mmap(NULL, len + align, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uintptr_t a;

	if (p == MAP_FAILED)
		die("mmap of %zu bytes of address space: %s", len + align,
		    strerror(errno));
	a = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
	munmap(p, len + align);
	return (void *)a;
}

static void touch(void *p, size_t len)
{
	volatile char *c = p;
	size_t off;

	for (off = 0; off < len; off += TOUCH_STEP)
		c[off] = 1;
}

static bool method_available(enum method m)
{
	return m != UDMABUF || !obj.no_udmabuf;
}

static bool can_populate(enum method m)
{
	return m != UDMABUF;
}

/*
 * mmap @len bytes of method @m at @hint, read-write; MAP_SHARED for the
 * objects.  MAP_FAILED with errno set on failure.
 */
static void *map_method(enum method m, void *hint, size_t len, bool populate)
{
	int prot = PROT_READ | PROT_WRITE;
	int pop = populate ? MAP_POPULATE : 0;
	int fd = -1;
	void *p;

	switch (m) {
	case ANON_4K:
	case ANON_THP:
		p = mmap(hint, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return p;
		if (madvise(p, len, m == ANON_4K ? MADV_NOHUGEPAGE : MADV_HUGEPAGE) ||
		    (populate && madvise(p, len, MADV_POPULATE_WRITE))) {
			int err = errno;

			munmap(p, len);
			errno = err;
			return MAP_FAILED;
		}
		return p;
	case HUGETLB_ANON:
		return mmap(hint, len, prot,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | HUGE_2MB | pop, -1, 0);
	case HUGETLBFS_FILE:
		fd = obj.file_fd;
		break;
	case HPAGE_MAP:
		fd = obj.hpm_fd;
		break;
	case UDMABUF:
		fd = obj.dmabuf_fd;
		break;
	case NR_METHODS:
		break;
	}
	return mmap(hint, len, prot, MAP_SHARED | pop, fd, 0);
}

/* ------------------------------------------------------------------ */
/* statistics                                                          */

struct series {
	double v[MAX_REPS];
	int n;
};

struct summary {
	double median, min, max;
};

static void add(struct series *s, double v)
{
	if (s->n < MAX_REPS)
		s->v[s->n++] = v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static struct summary summarize(const struct series *s)
{
	struct summary r = { 0, 0, 0 };
	double v[MAX_REPS];

	if (!s->n)
		return r;
	memcpy(v, s->v, s->n * sizeof(v[0]));
	qsort(v, s->n, sizeof(v[0]), cmp_double);
	r.min = v[0];
	r.max = v[s->n - 1];
	r.median = s->n % 2 ? v[s->n / 2] : (v[s->n / 2 - 1] + v[s->n / 2]) / 2;
	return r;
}

static double median(const struct series *s)
{
	return summarize(s).median;
}

/* ------------------------------------------------------------------ */
/* the measurements                                                    */

/* mmap + touch + munmap, per size, method and variant */
struct touch_series {
	struct series total;	/* s: mmap + touch + munmap */
	struct series map;	/* s: mmap alone */
	struct series faults;	/* minor faults, all three steps */
	struct series faults_map;
	struct series faults_touch;
};
static struct touch_series touch_res[MAX_SIZES][NR_METHODS][NR_VARIANTS];

static void first_touch_once(enum method m, size_t len, bool populate,
			     struct touch_series *res)
{
	void *hint = aligned_address(len, MAP_ALIGN);
	long f0, f1, f2, f3;
	double t0, t1, t3;
	void *p;

	f0 = minor_faults();
	t0 = now();
	p = map_method(m, hint, len, populate);
	t1 = now();
	f1 = minor_faults();
	if (p == MAP_FAILED)
		die("%s: mmap of %zu MiB%s: %s", method_name[m], len / MiB,
		    populate ? " with MAP_POPULATE" : "", strerror(errno));
	touch(p, len);
	f2 = minor_faults();
	munmap(p, len);
	t3 = now();
	f3 = minor_faults();

	add(&res->total, t3 - t0);
	add(&res->map, t1 - t0);
	add(&res->faults, f3 - f0);
	add(&res->faults_map, f1 - f0);
	add(&res->faults_touch, f2 - f1);
}

static void bench_first_touch(int si)
{
	size_t len = cfg.sizes[si];
	int r, k, v;

	for (r = 0; r < cfg.reps; r++) {
		progress("first touch, %zu MiB: repetition %d of %d", len / MiB,
			 r + 1, cfg.reps);
		for (k = 0; k < NR_METHODS; k++) {
			enum method m = (r + k) % NR_METHODS;

			if (!method_available(m))
				continue;
			for (v = 0; v < NR_VARIANTS; v++) {
				/* alternate which variant goes first, too */
				bool populate = (v + r) % 2;

				if (populate && !can_populate(m))
					continue;
				first_touch_once(m, len, populate,
						 &touch_res[si][m][populate]);
			}
		}
	}
}

/* modprobe against zeroing the same bytes, in seconds */
static struct {
	struct series fixed;		/* modprobe of a single huge page */
	struct series load[MAX_SIZES];
	struct series zero[MAX_SIZES];	/* memset in user space */
	struct series fallocate[MAX_SIZES];	/* of a hugetlbfs file */
	double udmabuf_create;		/* setting up method 6, once */
} load_res;

/* memset of @len bytes of the loaded device, mapped and populated first */
static double zero_device(int fd, size_t len)
{
	void *p = mmap(aligned_address(len, MAP_ALIGN), len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, fd, 0);
	double t0, t;

	if (p == MAP_FAILED)
		die("mmap of /dev/hpage_map: %s", strerror(errno));
	t0 = now();
	memset(p, 0, len);
	t = now() - t0;
	munmap(p, len);
	return t;
}

/* fallocate of a new file on the hugetlbfs mount: the kernel's zeroing */
static double fallocate_hugetlbfs(size_t len)
{
	int fd = open(HUGETLBFS_DIR "/zeroing", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
		      0600);
	double t0, t;

	if (fd < 0)
		die("create a hugetlbfs file: %s", strerror(errno));
	t0 = now();
	if (fallocate(fd, 0, 0, len))
		die("fallocate of a hugetlbfs file: %s", strerror(errno));
	t = now() - t0;
	close(fd);
	unlink(HUGETLBFS_DIR "/zeroing");
	return t;
}

/*
 * Each repetition, for each size: loads the module, memsets its buffer,
 * unloads it, and fallocates a hugetlbfs file of that size; and loads the
 * module once with a single page: the part of a load that does not scale.
 */
static void bench_module_load(void)
{
	int r, k, si, fd;

	for (r = 0; r < cfg.reps; r++) {
		progress("module load: repetition %d of %d", r + 1, cfg.reps);
		for (k = 0; k <= cfg.nr_sizes; k++) {
			si = (r + k) % (cfg.nr_sizes + 1);
			if (si == cfg.nr_sizes) {
				add(&load_res.fixed, load_module(HPAGE));
				unload_module();
				continue;
			}
			add(&load_res.load[si], load_module(cfg.sizes[si]));
			fd = open(HPAGE_MAP_DEVICE, O_RDWR);
			if (fd < 0)
				die("open %s: %s", HPAGE_MAP_DEVICE, strerror(errno));
			add(&load_res.zero[si], zero_device(fd, cfg.sizes[si]));
			close(fd);
			unload_module();
			add(&load_res.fallocate[si], fallocate_hugetlbfs(cfg.sizes[si]));
		}
	}
}

static void setup_udmabuf(size_t size)
{
	struct udmabuf_create create = { .flags = UDMABUF_FLAGS_CLOEXEC, .size = size };
	char limit[32];
	double t0;
	int dev;

	dev = open(UDMABUF_DEV, O_RDWR);
	if (dev < 0) {
		obj.no_udmabuf = "no /dev/udmabuf on this kernel";
		return;
	}
	/* udmabuf refuses buffers above size_limit_mb (default 64) */
	if (!read_line(UDMABUF_LIMIT, limit, sizeof(limit)))
		die("cannot read %s", UDMABUF_LIMIT);
	if (strtoul(limit, NULL, 10) < size / MiB) {
		snprintf(limit, sizeof(limit), "%zu", size / MiB);
		if (!set_knob(&udmabuf_limit_knob, limit))
			die("cannot raise %s to %s", UDMABUF_LIMIT, limit);
	}
	obj.memfd = memfd_create("hpage-bench", MFD_HUGETLB | HUGE_2MB |
				 MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (obj.memfd < 0 || ftruncate(obj.memfd, size))
		die("hugetlb memfd of %zu MiB: %s", size / MiB, strerror(errno));
	t0 = now();
	if (fallocate(obj.memfd, 0, 0, size) ||
	    fcntl(obj.memfd, F_ADD_SEALS, F_SEAL_SHRINK))
		die("hugetlb memfd fallocate/seal: %s", strerror(errno));
	create.memfd = obj.memfd;
	obj.dmabuf_fd = ioctl(dev, UDMABUF_CREATE, &create);
	if (obj.dmabuf_fd < 0)
		die("UDMABUF_CREATE of %zu MiB: %s", size / MiB, strerror(errno));
	load_res.udmabuf_create = now() - t0;
	close(dev);
}

static void mount_hugetlbfs(void)
{
	if (mkdir(HUGETLBFS_DIR, 0700) && errno != EEXIST)
		die("mkdir %s: %s", HUGETLBFS_DIR, strerror(errno));
	if (mount("none", HUGETLBFS_DIR, "hugetlbfs", 0, "pagesize=2M"))
		die("mount hugetlbfs on %s: %s", HUGETLBFS_DIR, strerror(errno));
	obj.mounted = true;
}

/* Methods 4-6: created once, at the largest size, before any timing. */
static void setup_objects(size_t size)
{
	obj.size = size;
	progress("setting up methods 4-6, %zu MiB each", size / MiB);
	obj.file_fd = open(HUGETLBFS_DIR "/buffer", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (obj.file_fd < 0 || fallocate(obj.file_fd, 0, 0, size))
		die("the hugetlbfs file of %zu MiB: %s", size / MiB, strerror(errno));

	load_module(size);
	obj.hpm_fd = open(HPAGE_MAP_DEVICE, O_RDWR | O_CLOEXEC);
	if (obj.hpm_fd < 0)
		die("open %s: %s", HPAGE_MAP_DEVICE, strerror(errno));

	setup_udmabuf(size);
}

static void teardown_objects(void)
{
	if (obj.dmabuf_fd >= 0)
		close(obj.dmabuf_fd);
	if (obj.memfd >= 0)
		close(obj.memfd);
	if (obj.hpm_fd >= 0) {
		close(obj.hpm_fd);
		unload_module();
	}
	if (obj.file_fd >= 0)
		close(obj.file_fd);
	if (obj.mounted) {
		unlink(HUGETLBFS_DIR "/buffer");
		umount(HUGETLBFS_DIR);
		rmdir(HUGETLBFS_DIR);
	}
}

/* VmPTE and system page tables as NR_PROCS processes map one object */
struct pte_result {
	const char *error;
	long vmpte_kb[NR_PROCS];	/* growth of process k's VmPTE */
	long system_kb[NR_PROCS];	/* PageTables growth, processes 1..k */
};
static struct pte_result pte_res[NR_METHODS];

struct pte_report {
	long vmpte_kb;
	int err;
};

/* Process body: map @fd (@len bytes), touch it all, report VmPTE growth. */
static void pte_child(enum method m, int fd, size_t len, int go, int done)
{
	struct pte_report rep = { 0, 0 };
	long before;
	char c;
	void *p;

	if (read(go, &c, 1) != 1)
		_exit(1);
	before = kb_field("/proc/self/status", "VmPTE");
	p = mmap(aligned_address(len, MAP_ALIGN), len, PROT_READ | PROT_WRITE,
		 MAP_SHARED, fd, 0);
	if (p == MAP_FAILED ||
	    (m <= ANON_THP &&
	     madvise(p, len, m == ANON_4K ? MADV_NOHUGEPAGE : MADV_HUGEPAGE))) {
		rep.err = errno;
	} else {
		touch(p, len);
		rep.vmpte_kb = kb_field("/proc/self/status", "VmPTE") - before;
	}
	if (write(done, &rep, sizeof(rep)) != sizeof(rep))
		_exit(1);
	/* keep the mapping until the parent closes @go */
	while (read(go, &c, 1) > 0)
		;
	_exit(0);
}

static int pte_object(enum method m, size_t len)
{
	int fd;

	switch (m) {
	case ANON_4K:
	case ANON_THP:
	case HUGETLB_ANON:
		fd = memfd_create("hpage-bench-pte", MFD_CLOEXEC |
				  (m == HUGETLB_ANON ? MFD_HUGETLB | HUGE_2MB : 0));
		if (fd < 0 || ftruncate(fd, len))
			die("memfd for the VmPTE test: %s", strerror(errno));
		return fd;
	case HUGETLBFS_FILE:
		return obj.file_fd;
	case HPAGE_MAP:
		return obj.hpm_fd;
	case UDMABUF:
		return obj.dmabuf_fd;
	case NR_METHODS:
		break;
	}
	return -1;
}

static void bench_page_tables(enum method m, size_t len)
{
	struct pte_result *res = &pte_res[m];
	int fd = pte_object(m, len);
	int go[NR_PROCS], done[2];
	pid_t pid[NR_PROCS];
	long base;
	int k, j;

	progress("page tables: %s, %d processes", method_name[m], NR_PROCS);
	if (pipe2(done, O_CLOEXEC))
		die("pipe: %s", strerror(errno));
	for (k = 0; k < NR_PROCS; k++) {
		int p[2];

		if (pipe(p))
			die("pipe: %s", strerror(errno));
		pid[k] = fork();
		if (pid[k] < 0)
			die("fork: %s", strerror(errno));
		if (pid[k] == 0) {
			close(p[1]);
			for (j = 0; j < k; j++)
				close(go[j]);
			pte_child(m, fd, len, p[0], done[1]);
		}
		close(p[0]);
		go[k] = p[1];
	}
	/* every process exists: from here only the mappings add page tables */
	base = system_page_tables_kb();
	for (k = 0; k < NR_PROCS; k++) {
		struct pte_report rep;

		if (write(go[k], "g", 1) != 1 ||
		    read(done[0], &rep, sizeof(rep)) != sizeof(rep))
			die("VmPTE test: lost process %d", k + 1);
		if (rep.err && !res->error)
			res->error = strerror(rep.err);
		res->vmpte_kb[k] = rep.vmpte_kb;
		res->system_kb[k] = system_page_tables_kb() - base;
	}
	for (k = 0; k < NR_PROCS; k++) {
		close(go[k]);
		waitpid(pid[k], NULL, 0);
	}
	close(done[0]);
	close(done[1]);
	if (m <= HUGETLB_ANON)
		close(fd);
}

/* O_DIRECT reads into a buffer of each kind */
static struct {
	size_t len;
	struct series mib_s[NR_METHODS];
	const char *error[NR_METHODS];
	const char *skipped;		/* why the whole test did not run */
} io_res;

/* O_DIRECT reads of the disk's first @len bytes into @buf; NULL or why not */
static const char *read_disk(int fd, char *buf, size_t len)
{
	size_t off;

	for (off = 0; off < len; off += ODIRECT_IO) {
		ssize_t n = pread(fd, buf + off, ODIRECT_IO, off);

		if (n != (ssize_t)ODIRECT_IO)
			return n < 0 ? strerror(errno) : "short read";
	}
	return NULL;
}

static void bench_odirect(size_t len)
{
	void *buf[NR_METHODS] = { NULL };
	const char *why;
	int fd = open(cfg.disk, O_RDONLY | O_DIRECT | O_CLOEXEC);
	off_t disk_size;
	int r, k, m;

	if (fd < 0) {
		io_res.skipped = "cannot open the disk";
		return;
	}
	disk_size = lseek(fd, 0, SEEK_END);
	if (disk_size < (off_t)ODIRECT_IO) {
		io_res.skipped = "the disk is too small";
		close(fd);
		return;
	}
	if ((off_t)len > disk_size)
		len = disk_size / ODIRECT_IO * ODIRECT_IO;
	io_res.len = len;
	progress("O_DIRECT: %zu MiB reads from %s", len / MiB, cfg.disk);
	for (m = 0; m < NR_METHODS; m++) {
		if (!method_available(m))
			continue;
		buf[m] = map_method(m, aligned_address(len, MAP_ALIGN), len,
				    can_populate(m));
		if (buf[m] == MAP_FAILED)
			die("%s: mmap for O_DIRECT: %s", method_name[m], strerror(errno));
		touch(buf[m], len);
	}
	/* once untimed: the host's first read of the image is slower */
	why = read_disk(fd, buf[ANON_4K], len);
	if (why)
		die("O_DIRECT read of %s: %s", cfg.disk, why);
	for (r = 0; r < cfg.reps; r++) {
		for (k = 0; k < NR_METHODS; k++) {
			double t0;

			m = (r + k) % NR_METHODS;
			if (!buf[m] || io_res.error[m])
				continue;
			t0 = now();
			io_res.error[m] = read_disk(fd, buf[m], len);
			if (!io_res.error[m])
				add(&io_res.mib_s[m], len / MiB / (now() - t0));
		}
	}
	for (m = 0; m < NR_METHODS; m++)
		if (buf[m])
			munmap(buf[m], len);
	close(fd);
}

/* Pinning: DMA interfaces registering a populated mapping of each kind */
enum pin_api { PIN_IO_URING, PIN_VFIO, PIN_RDMA, NR_PIN_APIS };

static const char *const pin_api_name[NR_PIN_APIS] = {
	"io_uring fixed buffer",
	"VFIO_IOMMU_MAP_DMA",
	"ibv_reg_mr",
};

/* the methods a DMA interface can pin (udmabuf's PFN mapping: none) */
static const enum method pin_methods[] = {
	ANON_4K, HUGETLB_ANON, HUGETLBFS_FILE, HPAGE_MAP,
};
#define NR_PIN_METHODS (int)(sizeof(pin_methods) / sizeof(pin_methods[0]))

struct pin_series {
	struct series reg, unreg;	/* s */
	struct series taken;	/* nr_foll_pin_acquired growth while registering */
	struct series held;	/* pins held while registered (acquired - released) */
	struct series left;	/* pins held after unregistering: 0 */
	struct series device;	/* 5: the driver's dma_pinned_pages while registered */
	const char *error;
};

static struct {
	size_t len;
	const char *no_api[NR_PIN_APIS];	/* why an interface is missing */
	int ring, container, group;
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_mr *mr;
	void *buf[NR_METHODS];
	long page_kb[NR_METHODS];		/* KernelPageSize of the mapping */
	struct pin_series res[NR_PIN_APIS][NR_METHODS];
} pin = { .ring = -1, .container = -1, .group = -1 };

/* nr_foll_pin_acquired - nr_foll_pin_released, and the first, exact */
static void pin_counters(long *acquired, long *held)
{
	char line[128];
	long acq = -1, rel = -1;
	FILE *f;

	write_string("/proc/sys/vm/stat_refresh", "1");
	f = fopen("/proc/vmstat", "re");
	if (!f)
		die("/proc/vmstat: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "nr_foll_pin_acquired ", 21))
			acq = strtol(line + 21, NULL, 10);
		else if (!strncmp(line, "nr_foll_pin_released ", 21))
			rel = strtol(line + 21, NULL, 10);
	}
	fclose(f);
	if (acq < 0 || rel < 0)
		die("no nr_foll_pin_acquired/released in /proc/vmstat");
	*acquired = acq;
	*held = acq - rel;
}

/* KernelPageSize (KiB) of the mapping at @p, from /proc/self/smaps */
static long kernel_page_kb(const void *p)
{
	char line[512];
	bool in = false;
	long kb = -1;
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		return -1;
	while (kb < 0 && fgets(line, sizeof(line), f)) {
		unsigned long start, end;

		if (sscanf(line, "%lx-%lx ", &start, &end) == 2)
			in = (uintptr_t)p >= start && (uintptr_t)p < end;
		else if (in && !strncmp(line, "KernelPageSize:", 15))
			kb = strtol(line + 15, NULL, 10);
	}
	fclose(f);
	return kb;
}

static void setup_io_uring(void)
{
	struct io_uring_params params = { 0 };

	pin.ring = syscall(__NR_io_uring_setup, 4, &params);
	if (pin.ring < 0)
		pin.no_api[PIN_IO_URING] = "io_uring_setup failed";
}

static void setup_vfio(void)
{
	char bdf[64];
	int nr;

	if (edu_find(bdf, sizeof(bdf))) {
		pin.no_api[PIN_VFIO] = "no edu device";
		return;
	}
	if (vfio_modules()) {
		pin.no_api[PIN_VFIO] = "no vfio-pci in this kernel";
		return;
	}
	nr = edu_bind_vfio(bdf);
	if (nr < 0) {
		pin.no_api[PIN_VFIO] = "edu not on vfio-pci, or no IOMMU group";
		return;
	}
	pin.container = vfio_type1_container(nr, &pin.group);
	if (pin.container < 0)
		pin.no_api[PIN_VFIO] = "no type1 container for edu's group";
}

static void setup_rdma(void)
{
	struct ibv_device **list;
	int i, n;

	if (rxe_setup()) {
		pin.no_api[PIN_RDMA] = "no rxe0 (rdma_rxe over dummy0)";
		return;
	}
	list = ibv_get_device_list(&n);
	for (i = 0; list && i < n && !pin.ctx; i++)
		if (!strcmp(ibv_get_device_name(list[i]), RXE_DEV))
			pin.ctx = ibv_open_device(list[i]);
	if (list)
		ibv_free_device_list(list);
	if (pin.ctx)
		pin.pd = ibv_alloc_pd(pin.ctx);
	if (!pin.pd)
		pin.no_api[PIN_RDMA] = "cannot open " RXE_DEV;
}

static void teardown_pin_apis(void)
{
	if (pin.pd)
		ibv_dealloc_pd(pin.pd);
	if (pin.ctx)
		ibv_close_device(pin.ctx);
	if (pin.group >= 0)
		close(pin.group);
	if (pin.container >= 0)
		close(pin.container);
	if (pin.ring >= 0)
		close(pin.ring);
}

/* Registers @len bytes at @p with @a: NULL, or why not. */
static const char *pin_register(enum pin_api a, void *p, size_t len)
{
	struct iovec iov = { .iov_base = p, .iov_len = len };
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)p, .iova = PIN_IOVA, .size = len,
	};
	int ret = 0;

	switch (a) {
	case PIN_IO_URING:
		ret = syscall(__NR_io_uring_register, pin.ring, IORING_REGISTER_BUFFERS,
			      &iov, 1);
		break;
	case PIN_VFIO:
		ret = ioctl(pin.container, VFIO_IOMMU_MAP_DMA, &map);
		break;
	case PIN_RDMA:
		pin.mr = ibv_reg_mr(pin.pd, p, len, IBV_ACCESS_LOCAL_WRITE |
				    IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ);
		ret = pin.mr ? 0 : -1;
		break;
	case NR_PIN_APIS:
		break;
	}
	return ret ? strerror(errno) : NULL;
}

static void pin_unregister(enum pin_api a, size_t len)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .iova = PIN_IOVA, .size = len,
	};
	int ret = 0;

	switch (a) {
	case PIN_IO_URING:
		ret = syscall(__NR_io_uring_register, pin.ring, IORING_UNREGISTER_BUFFERS,
			      NULL, 0);
		break;
	case PIN_VFIO:
		ret = ioctl(pin.container, VFIO_IOMMU_UNMAP_DMA, &unmap);
		break;
	case PIN_RDMA:
		ret = ibv_dereg_mr(pin.mr);
		pin.mr = NULL;
		break;
	case NR_PIN_APIS:
		break;
	}
	if (ret)
		die("%s: unregistering: %s", pin_api_name[a], strerror(ret > 0 ? ret : errno));
}

static void pin_once(enum pin_api a, enum method m)
{
	struct pin_series *s = &pin.res[a][m];
	long acq0, held0, acq1, held1, acq2, held2;
	char line[64];
	double t0, t1;
	const char *why;

	pin_counters(&acq0, &held0);
	t0 = now();
	why = pin_register(a, pin.buf[m], pin.len);
	t1 = now();
	if (why) {
		s->error = why;
		return;
	}
	add(&s->reg, t1 - t0);
	pin_counters(&acq1, &held1);
	if (m == HPAGE_MAP && read_line(DMA_PINNED, line, sizeof(line)))
		add(&s->device, strtol(line, NULL, 10));
	t0 = now();
	pin_unregister(a, pin.len);
	t1 = now();
	add(&s->unreg, t1 - t0);
	pin_counters(&acq2, &held2);
	add(&s->taken, acq1 - acq0);
	add(&s->held, held1 - held0);
	add(&s->left, held2 - held0);
}

static void bench_pinning(size_t len)
{
	int r, k, i, a;

	pin.len = len;
	progress("pinning: %zu MiB, setting up io_uring, VFIO and RDMA", len / MiB);
	setup_io_uring();
	setup_vfio();
	setup_rdma();
	for (i = 0; i < NR_PIN_METHODS; i++) {
		enum method m = pin_methods[i];

		pin.buf[m] = map_method(m, aligned_address(len, MAP_ALIGN), len, true);
		if (pin.buf[m] == MAP_FAILED)
			die("%s: mmap for pinning: %s", method_name[m], strerror(errno));
		touch(pin.buf[m], len);
		pin.page_kb[m] = kernel_page_kb(pin.buf[m]);
	}
	for (r = 0; r < cfg.reps; r++) {
		progress("pinning: repetition %d of %d", r + 1, cfg.reps);
		for (k = 0; k < NR_PIN_METHODS; k++) {
			enum method m = pin_methods[(r + k) % NR_PIN_METHODS];

			for (i = 0; i < NR_PIN_APIS; i++) {
				a = (r + i) % NR_PIN_APIS;
				if (!pin.no_api[a] && !pin.res[a][m].error)
					pin_once(a, m);
			}
		}
	}
	for (i = 0; i < NR_PIN_METHODS; i++)
		munmap(pin.buf[pin_methods[i]], len);
	teardown_pin_apis();
}

/* ------------------------------------------------------------------ */
/* the report                                                          */

static FILE *out;	/* the report, in memory until the end */

static const char *fmt_num(char *buf, size_t len, double v)
{
	if (v >= 100)
		snprintf(buf, len, "%.0f", v);
	else if (v >= 10)
		snprintf(buf, len, "%.1f", v);
	else
		snprintf(buf, len, "%.2f", v);
	return buf;
}

/* "median (min–max)" of @s times @scale */
static void put_stat(const struct series *s, double scale)
{
	struct summary st = summarize(s);
	char a[32], b[32], c[32];

	fprintf(out, " %s (%s–%s) |", fmt_num(a, sizeof(a), st.median * scale),
		fmt_num(b, sizeof(b), st.min * scale),
		fmt_num(c, sizeof(c), st.max * scale));
}

/* Fault counts are exact: one number when every repetition agrees. */
static void put_count(const struct series *s)
{
	struct summary st = summarize(s);

	if (st.min == st.max)
		fprintf(out, " %.0f |", st.median);
	else
		fprintf(out, " %.0f (%.0f–%.0f) |", st.median, st.min, st.max);
}

static void put_ratio(double num, double den)
{
	if (den <= 0 || num < 0)
		fputs(" — |", out);
	else if (num / den < 0.1)
		fprintf(out, " %.3f× |", num / den);
	else if (num / den < 10)
		fprintf(out, " %.2f× |", num / den);
	else
		fprintf(out, " %.0f× |", num / den);
}

/* ratios of @s's median against the same figure of methods 4 and 3 */
static void put_ratios(const struct series *s, const struct series *m4,
		       const struct series *m3)
{
	put_ratio(median(s), m4->n ? median(m4) : -1);
	put_ratio(median(s), m3->n ? median(m3) : -1);
}

static void put_size_tables(int si)
{
	size_t len = cfg.sizes[si];
	int m;

	fprintf(out, "\n### %zu MiB: mmap + first touch (one write per 4 KiB) + munmap\n\n",
		len / MiB);
	fputs("| method | time, ms | vs 4 | vs 3 | minor faults | faults per 2 MiB |\n"
	      "|---|---:|---:|---:|---:|---:|\n", out);
	for (m = 0; m < NR_METHODS; m++) {
		struct touch_series *t = &touch_res[si][m][PLAIN];

		fprintf(out, "| %s |", method_name[m]);
		if (!method_available(m)) {
			fprintf(out, " n/a: %s | | | | |\n", obj.no_udmabuf);
			continue;
		}
		put_stat(&t->total, 1e3);
		put_ratios(&t->total, &touch_res[si][HUGETLBFS_FILE][PLAIN].total,
			   &touch_res[si][HUGETLB_ANON][PLAIN].total);
		put_count(&t->faults);
		fprintf(out, " %g |\n", median(&t->faults) / (len / HPAGE));
	}

	fprintf(out, "\n### %zu MiB: with MAP_POPULATE\n\n", len / MiB);
	fputs("| method | populating mmap alone, ms | vs 4 | vs 3 | mmap + touch + munmap, ms | vs 4 | vs 3 | faults in mmap | faults in touch |\n"
	      "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n", out);
	for (m = 0; m < NR_METHODS; m++) {
		struct touch_series *t = &touch_res[si][m][POPULATE];
		struct touch_series *t4 = &touch_res[si][HUGETLBFS_FILE][POPULATE];
		struct touch_series *t3 = &touch_res[si][HUGETLB_ANON][POPULATE];

		fprintf(out, "| %s |", method_name[m]);
		if (!method_available(m)) {
			fprintf(out, " n/a: %s | | | | | | | |\n", obj.no_udmabuf);
			continue;
		}
		if (!can_populate(m)) {
			fputs(" n/a: MAP_POPULATE is ignored for its PFN mapping | | | | | | | |\n",
			      out);
			continue;
		}
		put_stat(&t->map, 1e3);
		put_ratios(&t->map, &t4->map, &t3->map);
		put_stat(&t->total, 1e3);
		put_ratios(&t->total, &t4->total, &t3->total);
		put_count(&t->faults_map);
		put_count(&t->faults_touch);
		fputc('\n', out);
	}
}

static void put_load_table(void)
{
	char a[32];
	int si;

	fputs("\n### Module load against zeroing the same bytes\n\n", out);
	fputs("A load is a fallocate of the driver's internal hugetlbfs file, which "
	      "zeroes every page, plus a fixed part (exec of modprobe, module "
	      "loading, mount, pinning).\n\n", out);
	fputs("| what | bytes | time, ms | vs memset of the same bytes "
	      "| vs fallocate of the same bytes |\n"
	      "|---|---:|---:|---:|---:|\n", out);
	fprintf(out, "| modprobe hpage_map nr_pages=1: the part that does not scale "
		"| %lu MiB |", HPAGE / MiB);
	put_stat(&load_res.fixed, 1e3);
	fputs(" | |\n", out);
	for (si = 0; si < cfg.nr_sizes; si++) {
		size_t len = cfg.sizes[si];
		const struct series *zero = &load_res.zero[si];
		const struct series *falloc = &load_res.fallocate[si];

		fprintf(out, "| modprobe hpage_map nr_pages=%zu | %zu MiB |",
			len / HPAGE, len / MiB);
		put_stat(&load_res.load[si], 1e3);
		put_ratio(median(&load_res.load[si]), median(zero));
		put_ratio(median(&load_res.load[si]), median(falloc));
		fprintf(out, "\n| fallocate of a file on a hugetlbfs mount | %zu MiB |",
			len / MiB);
		put_stat(falloc, 1e3);
		put_ratio(median(falloc), median(zero));
		fprintf(out, " 1.00× |\n| memset in user space | %zu MiB |", len / MiB);
		put_stat(zero, 1e3);
		fputs(" 1.00× | |\n", out);
		if (len != obj.size || obj.no_udmabuf)
			continue;
		fprintf(out, "| hugetlb memfd fallocate + UDMABUF_CREATE (method 6's "
			"setup), once | %zu MiB | %s |", len / MiB,
			fmt_num(a, sizeof(a), load_res.udmabuf_create * 1e3));
		put_ratio(load_res.udmabuf_create, median(zero));
		put_ratio(load_res.udmabuf_create, median(falloc));
		fputc('\n', out);
	}
}

static const int pte_counts[] = { 1, 2, 4, 8 };
#define NR_PTE_COUNTS (int)(sizeof(pte_counts) / sizeof(pte_counts[0]))

static void put_pte_table(void)
{
	int m, i;

	fprintf(out, "\n### Page tables of processes mapping the same %zu MiB\n\n",
		obj.size / MiB);
	fputs("Each process maps the object at a 1 GiB-aligned address and writes once "
	      "per 4 KiB. In KiB: VmPTE is the growth of each process's own VmPTE "
	      "(/proc/self/status), summed over the processes; PageTables is the "
	      "growth of the system's (/proc/meminfo, after vm.stat_refresh), where "
	      "page tables shared between processes count once. One run: page-table "
	      "sizes do not vary.\n\n", out);
	fputs("| method | shared as | VmPTE, 1 process | 2 processes | 4 processes "
	      "| 8 processes | PageTables, 1 process | 2 processes | 4 processes "
	      "| 8 processes | the 8th process adds (VmPTE / PageTables) |\n"
	      "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n", out);
	for (m = 0; m < NR_METHODS; m++) {
		struct pte_result *res = &pte_res[m];

		fprintf(out, "| %s | %s |", method_name[m], shared_form[m]);
		if (!method_available(m)) {
			fprintf(out, " n/a: %s | | | | | | | | |\n", obj.no_udmabuf);
			continue;
		}
		if (res->error) {
			fprintf(out, " failed: %s | | | | | | | | |\n", res->error);
			continue;
		}
		for (i = 0; i < NR_PTE_COUNTS; i++) {
			long sum = 0;
			int k;

			for (k = 0; k < pte_counts[i]; k++)
				sum += res->vmpte_kb[k];
			fprintf(out, " %ld |", sum);
		}
		for (i = 0; i < NR_PTE_COUNTS; i++)
			fprintf(out, " %ld |", res->system_kb[pte_counts[i] - 1]);
		fprintf(out, " %ld / %ld |\n", res->vmpte_kb[NR_PROCS - 1],
			res->system_kb[NR_PROCS - 1] - res->system_kb[NR_PROCS - 2]);
	}
}

static void put_io_table(void)
{
	struct series *s1 = &io_res.mib_s[ANON_4K];
	int m;

	fputs("\n### O_DIRECT read throughput into the buffer\n\n", out);
	if (io_res.skipped) {
		fprintf(out, "Not measured: %s (%s).\n", io_res.skipped, cfg.disk);
		return;
	}
	fprintf(out, "%zu MiB read from %s in %lu MiB O_DIRECT preads into a "
		"populated buffer of each kind%s.\n\n", io_res.len / MiB, cfg.disk,
		ODIRECT_IO / MiB, obj.no_udmabuf ? "" : "; udmabuf maps its dma-buf "
		"with VM_PFNMAP, which direct I/O cannot pin");
	fputs("| method | MiB/s | vs 1 (4K anonymous) | vs 4 | vs 3 |\n"
	      "|---|---:|---:|---:|---:|\n", out);
	for (m = 0; m < NR_METHODS; m++) {
		fprintf(out, "| %s |", method_name[m]);
		if (!method_available(m)) {
			fprintf(out, " n/a: %s | | | |\n", obj.no_udmabuf);
			continue;
		}
		if (io_res.error[m]) {
			fprintf(out, " fails: %s | | | |\n", io_res.error[m]);
			continue;
		}
		put_stat(&io_res.mib_s[m], 1);
		put_ratio(median(&io_res.mib_s[m]), s1->n ? median(s1) : -1);
		put_ratios(&io_res.mib_s[m], &io_res.mib_s[HUGETLBFS_FILE],
			   &io_res.mib_s[HUGETLB_ANON]);
		fputc('\n', out);
	}
}


static void put_pin_table(void)
{
	int a, i, m;

	fprintf(out, "\n### Pinning %zu MiB for DMA\n\n", pin.len / MiB);
	fputs("Each interface registers a populated mapping of each kind and "
	      "unregisters it: IORING_REGISTER_BUFFERS with one iovec; "
	      "VFIO_IOMMU_MAP_DMA into a type1 container holding QEMU's edu "
	      "device behind the emulated Intel IOMMU; ibv_reg_mr on rxe0 (soft "
	      "RoCE). Each pins the pages long-term (FOLL_LONGTERM). Pins are "
	      "counted by /proc/vmstat in 4 KiB pages, whatever the page size: "
	      "*taken* is the growth of nr_foll_pin_acquired while registering, "
	      "*held* the pins held once registered (acquired − released), "
	      "*left* those still held after unregistering. Page size: the "
	      "mapping's KernelPageSize (smaps).\n\n", out);
	fputs("| interface | method | page size, KiB | register, ms | vs 1 | vs 4 "
	      "| unregister, ms | vs 1 | vs 4 | pins taken | held | left |\n"
	      "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n", out);
	for (a = 0; a < NR_PIN_APIS; a++) {
		struct pin_series *s1 = &pin.res[a][ANON_4K];
		struct pin_series *s4 = &pin.res[a][HUGETLBFS_FILE];

		for (i = 0; i < NR_PIN_METHODS; i++) {
			struct pin_series *s;

			m = pin_methods[i];
			s = &pin.res[a][m];
			fprintf(out, "| %s | %s | %ld |", pin_api_name[a], method_name[m],
				pin.page_kb[m]);
			if (pin.no_api[a] || s->error) {
				fprintf(out, " n/a: %s | | | | | | | | |\n",
					pin.no_api[a] ? pin.no_api[a] : s->error);
				continue;
			}
			put_stat(&s->reg, 1e3);
			put_ratio(median(&s->reg), s1->reg.n ? median(&s1->reg) : -1);
			put_ratio(median(&s->reg), s4->reg.n ? median(&s4->reg) : -1);
			put_stat(&s->unreg, 1e3);
			put_ratio(median(&s->unreg), s1->unreg.n ? median(&s1->unreg) : -1);
			put_ratio(median(&s->unreg), s4->unreg.n ? median(&s4->unreg) : -1);
			put_count(&s->taken);
			put_count(&s->held);
			put_count(&s->left);
			fputc('\n', out);
		}
	}
	fputs("\n/dev/hpage_map's dma_pinned_pages (huge pages) while registered:", out);
	for (a = 0; a < NR_PIN_APIS; a++) {
		const struct series *d = &pin.res[a][HPAGE_MAP].device;
		struct summary st = summarize(d);

		if (!d->n)
			fprintf(out, "%s %s n/a", a ? ";" : "", pin_api_name[a]);
		else if (st.min == st.max)
			fprintf(out, "%s %s %.0f", a ? ";" : "", pin_api_name[a], st.median);
		else
			fprintf(out, "%s %s %.0f–%.0f", a ? ";" : "", pin_api_name[a],
				st.min, st.max);
	}
	fprintf(out, " (of %zu).\n", pin.len / HPAGE);
}

/* ------------------------------------------------------------------ */
/* the goals                                                           */

static int goals_failed, goals;

static void put_goal(const char *goal, bool pass, const char *measured)
{
	fprintf(out, "| %s | %s | **%s** |\n", goal, measured, pass ? "PASS" : "FAIL");
	goals_failed += !pass;
	goals++;
}

/* appends "label ratio" to @buf, returns the ratio */
static double append_ratio(char *buf, size_t len, const char *label,
			   const struct series *a, const struct series *b)
{
	double r = median(a) / median(b);
	size_t used = strlen(buf);

	snprintf(buf + used, len - used, "%s%s %.3f×", used ? "; " : "", label, r);
	return r;
}

/* every timing figure of 5 within 1.10x of 4; 0.05x of 3; the faults */
static void put_touch_goals(void)
{
	char text[1024], label[128];
	bool pass, populate_counted;
	int si;

	text[0] = '\0';
	pass = true;
	for (si = 0; si < cfg.nr_sizes; si++) {
		struct touch_series *t5 = touch_res[si][HPAGE_MAP];
		struct touch_series *t4 = touch_res[si][HUGETLBFS_FILE];
		size_t mib = cfg.sizes[si] / MiB;

		snprintf(label, sizeof(label), "first touch %zu MiB", mib);
		pass &= append_ratio(text, sizeof(text), label, &t5[PLAIN].total,
				     &t4[PLAIN].total) <= 1.10;
		snprintf(label, sizeof(label), "populating mmap %zu MiB", mib);
		pass &= append_ratio(text, sizeof(text), label, &t5[POPULATE].map,
				     &t4[POPULATE].map) <= 1.10;
		snprintf(label, sizeof(label), "populated total %zu MiB", mib);
		pass &= append_ratio(text, sizeof(text), label, &t5[POPULATE].total,
				     &t4[POPULATE].total) <= 1.10;
	}
	put_goal("5 ≤ 1.10× the fallocated hugetlbfs file (4), every time figure", pass, text);

	/* 2: first touch of 5 within 0.05x of first-touch MAP_HUGETLB */
	text[0] = '\0';
	pass = true;
	for (si = 0; si < cfg.nr_sizes; si++) {
		snprintf(label, sizeof(label), "%zu MiB", cfg.sizes[si] / MiB);
		pass &= append_ratio(text, sizeof(text), label,
				     &touch_res[si][HPAGE_MAP][PLAIN].total,
				     &touch_res[si][HUGETLB_ANON][PLAIN].total) <= 0.05;
	}
	put_goal("5 ≤ 0.05× first-touch MAP_HUGETLB (3), mmap + touch + munmap", pass, text);

	/* 3: exactly one fault per huge page, none after MAP_POPULATE */
	text[0] = '\0';
	pass = true;
	populate_counted = false;
	for (si = 0; si < cfg.nr_sizes; si++) {
		struct touch_series *t5 = touch_res[si][HPAGE_MAP];
		struct summary plain = summarize(&t5[PLAIN].faults);
		struct summary after = summarize(&t5[POPULATE].faults_touch);
		struct summary in_map = summarize(&t5[POPULATE].faults_map);
		double hpages = cfg.sizes[si] / HPAGE;
		size_t used = strlen(text);

		pass &= plain.min == hpages && plain.max == hpages &&
			after.min == 0 && after.max == 0;
		populate_counted |= in_map.max > 0;
		snprintf(text + used, sizeof(text) - used,
			 "%s%zu MiB (%.0f huge pages): %.0f–%.0f faults; after MAP_POPULATE "
			 "%.0f–%.0f (the populating mmap itself: %.0f–%.0f)",
			 used ? "; " : "", cfg.sizes[si] / MiB, hpages, plain.min,
			 plain.max, after.min, after.max, in_map.min, in_map.max);
	}
	if (!populate_counted)
		strncat(text, "; this kernel does not count the faults MAP_POPULATE takes",
			sizeof(text) - strlen(text) - 1);
	put_goal("5 takes exactly one fault per huge page, none after MAP_POPULATE "
		 "(every repetition)", pass, text);
}

/* a load within 1.1x of zeroing the same bytes */
static void put_load_goal(void)
{
	char text[1024];
	bool pass;
	int si;

	text[0] = '\0';
	pass = true;
	for (si = 0; si < cfg.nr_sizes; si++) {
		double zero = median(&load_res.zero[si]);
		double ratio = median(&load_res.load[si]) / zero;
		size_t used = strlen(text);

		pass &= ratio <= 1.10;
		snprintf(text + used, sizeof(text) - used,
			 "%s%zu MiB %.3f× (a hugetlbfs fallocate alone: %.3f×)",
			 used ? "; " : "", cfg.sizes[si] / MiB, ratio,
			 median(&load_res.fallocate[si]) / zero);
	}
	put_goal("modprobe ≤ 1.1× memset of the same bytes in the guest", pass, text);
}

/* the 8th process adds < 64 KiB of page tables */
static void put_pte_goal(void)
{
	char text[256], label[128];
	bool pass;

	if (pte_res[HPAGE_MAP].error) {
		snprintf(text, sizeof(text), "failed: %s", pte_res[HPAGE_MAP].error);
		pass = false;
	} else {
		long vm = pte_res[HPAGE_MAP].vmpte_kb[NR_PROCS - 1];
		long sys = pte_res[HPAGE_MAP].system_kb[NR_PROCS - 1] -
			   pte_res[HPAGE_MAP].system_kb[NR_PROCS - 2];

		snprintf(text, sizeof(text), "its VmPTE grows %ld KiB, the system's "
			 "PageTables %ld KiB", vm, sys);
		pass = vm < PTE_GOAL_KB && sys < PTE_GOAL_KB;
	}
	snprintf(label, sizeof(label), "the 8th process mapping %zu MiB of 5 adds < %d KiB "
		 "of page tables", obj.size / MiB, PTE_GOAL_KB);
	put_goal(label, pass, text);
}

/* Registering 5 with interface @a: ≤ @limit× the same registration of @than. */
static void put_pin_goal(enum pin_api a, enum method than, double limit)
{
	const struct pin_series *s5 = &pin.res[a][HPAGE_MAP];
	const struct pin_series *s = &pin.res[a][than];
	char text[128] = "", goal[256];
	bool pass = false;

	if (s5->reg.n && s->reg.n)
		pass = append_ratio(text, sizeof(text), "", &s5->reg, &s->reg) <= limit;
	else
		snprintf(text, sizeof(text), "not measured: %s", pin.no_api[a] ? pin.no_api[a] :
			 s5->error ? s5->error : s->error ? s->error : "?");
	snprintf(goal, sizeof(goal), "%s: registering %zu MiB of 5 ≤ %.2f× %s",
		 pin_api_name[a], pin.len / MiB, limit, method_name[than]);
	put_goal(goal, pass, text);
}

static void put_pin_goals(void)
{
	int a;

	for (a = 0; a < NR_PIN_APIS; a++) {
		put_pin_goal(a, ANON_4K, 0.05);
		put_pin_goal(a, HUGETLBFS_FILE, 1.10);
	}
}

static void put_touch_tables(void)
{
	int si;

	for (si = 0; si < cfg.nr_sizes; si++)
		put_size_tables(si);
}

/* each part's tables and goals, in the report's order */
static const struct {
	void (*tables)(void);
	void (*goals)(void);
} part_report[NR_PARTS] = {
	[PART_TOUCH] = { put_touch_tables, put_touch_goals },
	[PART_LOAD] = { put_load_table, put_load_goal },
	[PART_PTE] = { put_pte_table, put_pte_goal },
	[PART_ODIRECT] = { put_io_table, NULL },
	[PART_PIN] = { put_pin_table, put_pin_goals },
};

static void put_parts(void)
{
	int p;

	for (p = 0; p < NR_PARTS; p++)
		if (part_on(p))
			part_report[p].tables();
	fputs("\n### Goals\n\n| goal | measured | result |\n|---|---|---|\n", out);
	for (p = 0; p < NR_PARTS; p++)
		if (part_on(p) && part_report[p].goals)
			part_report[p].goals();
}

/* ------------------------------------------------------------------ */
/* environment                                                         */

static void kernel_log_line(const char *needle, char *buf, size_t len)
{
	int size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	char *log;

	snprintf(buf, len, "unknown");
	if (size <= 0 || !(log = malloc(size + 1)))
		return;
	size = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log, size);
	if (size > 0) {
		char *p;

		log[size] = '\0';
		p = strstr(log, needle);
		if (p) {
			char *end = strchr(p, '\n');

			if (end)
				*end = '\0';
			snprintf(buf, len, "%s", p);
		}
	}
	free(log);
}

static void put_environment(const struct utsname *u)
{
	char model[256] = "?", flags[4096] = "?", cmdline[1024] = "?", line[256];

	read_field("/proc/cpuinfo", "model name", model, sizeof(model));
	read_field("/proc/cpuinfo", "flags", flags, sizeof(flags));
	read_line("/proc/cmdline", cmdline, sizeof(cmdline));

	fprintf(out, "- Kernel: %s (%s)\n", u->release, u->version);
	fprintf(out, "- Guest CPU: %s, %ld CPU(s); flags: %s\n", model,
		sysconf(_SC_NPROCESSORS_ONLN), flags);
	fprintf(out, "- Guest memory: %ld MiB; 2 MiB huge pages: %ld\n",
		kb_field("/proc/meminfo", "MemTotal") / 1024,
		kb_field("/proc/meminfo", "HugePages_Total"));
	fprintf(out, "- Kernel command line: `%s`\n", cmdline);
	kernel_log_line("mem auto-init: stack", line, sizeof(line));
	fprintf(out, "- Kernel log: `%s`\n", line);
	read_choice("/sys/kernel/mm/transparent_hugepage/enabled", line, sizeof(line));
	fprintf(out, "- THP: enabled=%s; shmem_enabled=%s%s\n", line,
		shmem_thp_knob.saved[0] ? "advise for this run, was " : "",
		shmem_thp_knob.saved[0] ? shmem_thp_knob.saved : "unchanged");
	fprintf(out, "- %d repetitions per figure unless said otherwise; "
		"each figure is median (min–max); methods take turns within a "
		"repetition and their order rotates between repetitions; ratios "
		"are of medians\n", cfg.reps);
}

/* ------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr,
		"usage: hpage-bench [-r REPS] [-s MiB[,MiB...]] [-d DISK] [-p PART[,PART...]] [-o FILE]\n"
		"  -r  repetitions per figure (default 11, at most %d)\n"
		"  -s  buffer sizes in MiB, multiples of 2 (default 256,1024)\n"
		"  -d  disk for the O_DIRECT test (default /dev/vda)\n"
		"  -p  parts to run: touch, load, pte, odirect, pin (default all)\n"
		"  -o  also write the Markdown report to FILE\n", MAX_REPS);
	exit(2);
}

static void parse_parts(char *arg)
{
	char *tok, *save = NULL;
	int p;

	cfg.parts = 0;
	for (tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (p = 0; p < NR_PARTS && strcmp(tok, part_name[p]); p++)
			;
		if (p == NR_PARTS)
			usage();
		cfg.parts |= 1U << p;
	}
	if (!cfg.parts)
		usage();
}

static void parse_sizes(char *arg)
{
	char *tok, *save = NULL;

	cfg.nr_sizes = 0;
	for (tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned long mib = strtoul(tok, NULL, 10);

		if (!mib || mib % 2 || cfg.nr_sizes == MAX_SIZES)
			usage();
		cfg.sizes[cfg.nr_sizes++] = mib * MiB;
	}
	if (!cfg.nr_sizes)
		usage();
}

static void check_pool(size_t largest)
{
	char line[64];
	unsigned long need = (obj.no_udmabuf ? 3 : 4) * (largest / HPAGE);
	unsigned long free_pages = 0;

	if (read_line(POOL_FREE, line, sizeof(line)))
		free_pages = strtoul(line, NULL, 10);
	if (free_pages < need)
		die("needs %lu free 2 MiB huge pages (methods 3-6 at %zu MiB at once), "
		    "the pool has %lu free", need, largest / MiB, free_pages);
}

int main(int argc, char **argv)
{
	struct utsname u;
	size_t largest = 0, smallest = SIZE_MAX;
	char *report = NULL;
	size_t report_len = 0;
	int opt, si, m;

	while ((opt = getopt(argc, argv, "r:s:d:p:o:h")) != -1) {
		switch (opt) {
		case 'r':
			cfg.reps = atoi(optarg);
			if (cfg.reps < 1 || cfg.reps > MAX_REPS)
				usage();
			break;
		case 's':
			parse_sizes(optarg);
			break;
		case 'd':
			cfg.disk = optarg;
			break;
		case 'p':
			parse_parts(optarg);
			break;
		case 'o':
			cfg.out = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	for (si = 0; si < cfg.nr_sizes; si++) {
		if (cfg.sizes[si] > largest)
			largest = cfg.sizes[si];
		if (cfg.sizes[si] < smallest)
			smallest = cfg.sizes[si];
	}
	if (geteuid())
		die("needs root (mount, modprobe, udmabuf)");
	if (access("/sys/module/hpage_map", F_OK) == 0)
		die("hpage_map is loaded: unload it first");
	if (access(UDMABUF_DEV, F_OK))
		obj.no_udmabuf = "no /dev/udmabuf on this kernel";
	check_pool(largest);
	uname(&u);
	start_time = now();
	out = open_memstream(&report, &report_len);
	if (!out)
		die("open_memstream: %s", strerror(errno));
	setvbuf(stderr, NULL, _IOLBF, 0);

	/* shared THP for the VmPTE test of method 2 */
	set_knob(&shmem_thp_knob, "advise");

	mount_hugetlbfs();
	if (part_on(PART_LOAD))
		bench_module_load();
	setup_objects(largest);
	for (si = 0; si < cfg.nr_sizes && part_on(PART_TOUCH); si++)
		bench_first_touch(si);
	for (m = 0; m < NR_METHODS && part_on(PART_PTE); m++)
		if (method_available(m))
			bench_page_tables(m, largest);
	if (part_on(PART_ODIRECT))
		bench_odirect(smallest);
	if (part_on(PART_PIN))
		bench_pinning(largest);
	teardown_objects();
	restore_knob(&shmem_thp_knob);
	restore_knob(&udmabuf_limit_knob);

	fprintf(out, "## hpage-bench on %s\n\n", u.release);
	put_environment(&u);
	put_parts();
	fprintf(out, "\n%d of %d goals failed; the run took %.0f s.\n", goals_failed,
		goals, now() - start_time);
	fclose(out);

	fputs(report, stdout);
	fflush(stdout);
	if (cfg.out) {
		FILE *f = fopen(cfg.out, "w");

		if (!f || fputs(report, f) == EOF || fclose(f))
			die("cannot write %s", cfg.out);
	}
	free(report);
	return 0;
}
