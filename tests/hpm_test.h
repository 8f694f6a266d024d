/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hpm_test.h - small shared helpers for the hpage-map kselftests
 *
 * Module load/unload (modprobe, raw finit_module/delete_module so that the
 * errno is visible), hugetlb pool counters (/proc/meminfo and every
 * /sys/kernel/mm/hugepages/hugepages-<kB>kB/), the profile's page size and
 * page count (HPM_PAGE_SIZE, HPM_NR_PAGES), device open/mmap helpers, data
 * patterns, /proc/self/{maps,smaps} lookups and new kernel-log lines from
 * /dev/kmsg.  Everything is static inline.  Include this first: it includes
 * kselftest_harness.h itself, after silencing the warnings that the 6.1
 * harness header and its EXPECT_EQ(literal, unsigned) idiom raise under
 * -Wall -Wextra -Werror.
 */
#ifndef HPM_TEST_H
#define HPM_TEST_H

#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <drm/drm.h>

#include "kselftest_harness.h"
#include "hpage_map.h"

#define HPM_MOD_NAME	"hpage_map"
#define HPM_SYS_MODULE	"/sys/module/hpage_map"
#define HPM_SYS_PARAMS	"/sys/module/hpage_map/parameters"
#define HPM_SYS_CLASS	"/sys/class/misc/hpage_map"
#define HPM_SYS_HPAGES	"/sys/kernel/mm/hugepages"
#define HPM_DEFAULT_NR	8	/* module default nr_pages */

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT	26
#endif
#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE 4
#endif

/* ------------------------------------------------------------------ */
/* sizes, profile                                                      */

/* memparse(): "2M", "1G", "2048K", "2097152"; 0 on a malformed string. */
static inline unsigned long long hpm_parse_size(const char *s)
{
	unsigned long long v = 0;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return 0;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno)
		return 0;
	switch (*end) {
	case 'G': case 'g':
		v <<= 10;
		/* fall through */
	case 'M': case 'm':
		v <<= 10;
		/* fall through */
	case 'K': case 'k':
		v <<= 10;
		end++;
		break;
	default:
		break;
	}
	if (*end == '\n')
		end++;
	return *end ? 0 : v;
}

/* Value of a "Key:   123 kB" line of /proc/meminfo (kB as printed), -1 if absent. */
static inline long long hpm_meminfo(const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	long long v = -1;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			v = strtoll(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

static inline unsigned long hpm_default_hpage_size(void)
{
	long long kb = hpm_meminfo("Hugepagesize");

	return kb > 0 ? (unsigned long)kb * 1024 : 0;
}

/* The page size this profile loads with, as a module parameter string. */
static inline const char *hpm_page_size_str(void)
{
	const char *s = getenv("HPM_PAGE_SIZE");

	return (s && *s) ? s : "2M";
}

static inline unsigned long hpm_page_size(void)
{
	return (unsigned long)hpm_parse_size(hpm_page_size_str());
}

static inline unsigned long hpm_nr_pages(void)
{
	const char *s = getenv("HPM_NR_PAGES");

	if (s && *s)
		return strtoul(s, NULL, 10);
	return hpm_page_size() >= (1UL << 30) ? 2 : 8;
}

/* ------------------------------------------------------------------ */
/* small file helpers                                                  */

/* Read a file into buf (NUL-terminated); returns length or -errno. */
static inline long hpm_read_file(const char *path, char *buf, size_t size)
{
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (len + 1 < size) {
		ssize_t n = read(fd, buf + len, size - 1 - len);
		if (n < 0) {
			n = -errno;
			close(fd);
			return n;
		}
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	close(fd);
	return (long)len;
}

/* Read one unsigned integer (decimal, trailing newline) from a file: 0 or -errno. */
static inline int hpm_read_ull(const char *path, unsigned long long *v)
{
	char buf[64], *end;
	long n = hpm_read_file(path, buf, sizeof(buf));

	if (n < 0)
		return (int)n;
	errno = 0;
	*v = strtoull(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n'))
		return -EINVAL;
	return 0;
}

static inline int hpm_read_ullf(unsigned long long *v, const char *fmt, ...)
{
	char path[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return hpm_read_ull(path, v);
}

/* ------------------------------------------------------------------ */
/* hugetlb pool counters                                               */

#define HPM_MAX_SIZES 8

struct hpm_pool {
	unsigned long kb;		/* page size in kB */
	long long nr, free, resv, surp;
};

struct hpm_counters {
	int n;
	struct hpm_pool pool[HPM_MAX_SIZES];	/* sorted by size */
	long long mi_size_kb, mi_total, mi_free, mi_rsvd, mi_surp;
};

static inline int hpm_counters_read(struct hpm_counters *c)
{
	static const char *const names[] = { "nr_hugepages", "free_hugepages",
					     "resv_hugepages", "surplus_hugepages" };
	struct dirent *de;
	DIR *d = opendir(HPM_SYS_HPAGES);

	memset(c, 0, sizeof(*c));
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		unsigned long kb;
		struct hpm_pool *p;
		int i, j;

		if (sscanf(de->d_name, "hugepages-%lukB", &kb) != 1)
			continue;
		if (c->n == HPM_MAX_SIZES)
			break;
		for (i = c->n; i > 0 && c->pool[i - 1].kb > kb; i--)
			c->pool[i] = c->pool[i - 1];
		p = &c->pool[i];
		c->n++;
		p->kb = kb;
		for (j = 0; j < 4; j++) {
			unsigned long long v = 0;
			long long *dst = j == 0 ? &p->nr : j == 1 ? &p->free :
					 j == 2 ? &p->resv : &p->surp;

			if (hpm_read_ullf(&v, HPM_SYS_HPAGES "/hugepages-%lukB/%s",
					  kb, names[j])) {
				closedir(d);
				return -EIO;
			}
			*dst = (long long)v;
		}
	}
	closedir(d);
	c->mi_size_kb = hpm_meminfo("Hugepagesize");
	c->mi_total = hpm_meminfo("HugePages_Total");
	c->mi_free = hpm_meminfo("HugePages_Free");
	c->mi_rsvd = hpm_meminfo("HugePages_Rsvd");
	c->mi_surp = hpm_meminfo("HugePages_Surp");
	return c->n ? 0 : -ENOENT;
}

static inline const struct hpm_pool *hpm_pool_of(const struct hpm_counters *c,
						 unsigned long page_size)
{
	for (int i = 0; i < c->n; i++)
		if ((unsigned long long)c->pool[i].kb * 1024 == page_size)
			return &c->pool[i];
	return NULL;
}

static inline bool hpm_size_supported(unsigned long page_size)
{
	struct hpm_counters c;

	return !hpm_counters_read(&c) && hpm_pool_of(&c, page_size);
}

/*
 * Compare the current counters with @base, expecting exactly @taken[i] pages
 * of size @page_size[i] (i < @n) to have left the free pool and nothing else
 * to differ.  Returns 0 if so; else the number of mismatches, described in
 * @msg.
 */
static inline int hpm_counters_diff_sizes(const struct hpm_counters *base,
					  const unsigned long *page_size,
					  const long long *taken, int n,
					  char *msg, size_t size)
{
	struct hpm_counters now;
	size_t len = 0;
	int bad = 0;

#define HPM_CMP(what, exp, got) do {					\
	if ((exp) != (got)) {						\
		bad++;							\
		if (len < size)						\
			len += snprintf(msg + len, size - len,		\
					"%s%s expected %lld got %lld",	\
					bad > 1 ? "; " : "", what,	\
					(long long)(exp), (long long)(got)); \
	}								\
} while (0)

	msg[0] = '\0';
	if (hpm_counters_read(&now)) {
		snprintf(msg, size, "cannot read hugetlb counters");
		return 1;
	}
	HPM_CMP("number of hugepage sizes", base->n, now.n);
	for (int i = 0; i < now.n && i < base->n; i++) {
		const struct hpm_pool *b = &base->pool[i], *p = &now.pool[i];
		long long t = 0;
		char what[96];

		for (int j = 0; j < n; j++)
			if ((unsigned long long)b->kb * 1024 == page_size[j])
				t += taken[j];
		HPM_CMP("hugepage size", (long long)b->kb, (long long)p->kb);
		snprintf(what, sizeof(what), "hugepages-%lukB/nr_hugepages", b->kb);
		HPM_CMP(what, b->nr, p->nr);
		snprintf(what, sizeof(what), "hugepages-%lukB/free_hugepages", b->kb);
		HPM_CMP(what, b->free - t, p->free);
		snprintf(what, sizeof(what), "hugepages-%lukB/resv_hugepages", b->kb);
		HPM_CMP(what, b->resv, p->resv);
		snprintf(what, sizeof(what), "hugepages-%lukB/surplus_hugepages", b->kb);
		HPM_CMP(what, b->surp, p->surp);
	}
	{
		long long t = 0;

		for (int j = 0; j < n; j++)
			if ((unsigned long long)base->mi_size_kb * 1024 == page_size[j])
				t += taken[j];
		HPM_CMP("meminfo HugePages_Total", base->mi_total, now.mi_total);
		HPM_CMP("meminfo HugePages_Free", base->mi_free - t, now.mi_free);
		HPM_CMP("meminfo HugePages_Rsvd", base->mi_rsvd, now.mi_rsvd);
		HPM_CMP("meminfo HugePages_Surp", base->mi_surp, now.mi_surp);
	}
#undef HPM_CMP
	return bad;
}

/* As hpm_counters_diff_sizes() for one page size. */
static inline int hpm_counters_diff(const struct hpm_counters *base,
				    unsigned long page_size, long long taken,
				    char *msg, size_t size)
{
	return hpm_counters_diff_sizes(base, &page_size, &taken, 1, msg, size);
}

/* Use inside a test: pool counters are @base minus @taken free pages. */
#define HPM_EXPECT_POOL(base, page_size, taken, stage) do {		\
	char __hpm_msg[1024];						\
	EXPECT_EQ(0, hpm_counters_diff(base, page_size, taken,		\
				       __hpm_msg, sizeof(__hpm_msg)))	\
		TH_LOG("counters after %s: %s", stage, __hpm_msg);	\
} while (0)

/* ------------------------------------------------------------------ */
/* module load / unload                                                */

static inline bool hpm_module_loaded(void)
{
	return access(HPM_SYS_MODULE "/initstate", F_OK) == 0;
}

/* Path of the installed module (DKMS: updates/dkms/), compressed or not. */
static inline int hpm_module_path(char *path, size_t size, bool *compressed)
{
	static const char *const sfx[] = { "", ".xz", ".zst", ".gz" };
	struct utsname u;
	char dep[512], line[256];
	FILE *f;

	if (uname(&u))
		return -errno;
	for (unsigned int i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(path, size, "/lib/modules/%s/updates/dkms/hpage_map.ko%s",
			 u.release, sfx[i]);
		if (!access(path, R_OK)) {
			*compressed = i != 0;
			return 0;
		}
	}
	/* anywhere else modules.dep knows it */
	snprintf(dep, sizeof(dep), "/lib/modules/%s/modules.dep", u.release);
	f = fopen(dep, "re");
	if (!f)
		return -ENOENT;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':'), *base;

		if (!colon)
			continue;
		*colon = '\0';
		base = strrchr(line, '/');
		base = base ? base + 1 : line;
		if (strncmp(base, "hpage_map.ko", 12))
			continue;
		if (line[0] == '/')
			snprintf(path, size, "%s", line);
		else
			snprintf(path, size, "/lib/modules/%s/%s", u.release, line);
		*compressed = strcmp(base, "hpage_map.ko") != 0;
		fclose(f);
		return 0;
	}
	fclose(f);
	return -ENOENT;
}

/* Raw finit_module(2) of the installed module: 0 or -errno. */
static inline int hpm_finit(const char *params)
{
	char path[512];
	bool compressed = false;
	int fd, ret;

	ret = hpm_module_path(path, sizeof(path), &compressed);
	if (ret)
		return ret;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params ? params : "",
		      compressed ? MODULE_INIT_COMPRESSED_FILE : 0);
	ret = ret ? -errno : 0;
	close(fd);
	return ret;
}

/* Raw delete_module(2), O_NONBLOCK: 0 or -errno. */
static inline int hpm_rmmod(void)
{
	return syscall(SYS_delete_module, HPM_MOD_NAME, O_NONBLOCK) ? -errno : 0;
}

/* Refusals of delete_module while the module is in use. */
static inline bool hpm_busy_errno(int err)
{
	return err == -EAGAIN || err == -EWOULDBLOCK || err == -EBUSY;
}

static inline int hpm_wait(pid_t pid);

/*
 * Run a program (argv via execvp, output to stderr) and return its exit
 * status, or 128 + signal.
 */
static inline int hpm_run(char *const argv[])
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(STDERR_FILENO, STDOUT_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	return hpm_wait(pid);
}

/* `modprobe hpage_map <params>` (params: space separated): exit status. */
static inline int hpm_modprobe(const char *params)
{
	char buf[512], *argv[16], *tok, *save = NULL;
	int argc = 0;

	argv[argc++] = (char *)"modprobe";
	argv[argc++] = (char *)HPM_MOD_NAME;
	snprintf(buf, sizeof(buf), "%s", params ? params : "");
	for (tok = strtok_r(buf, " ", &save); tok && argc < 15;
	     tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;
	return hpm_run(argv);
}

/* Unload if loaded, retrying briefly while exiting processes let go. */
static inline int hpm_ensure_unloaded(void)
{
	int ret = 0;

	for (int i = 0; i < 300 && hpm_module_loaded(); i++) {
		ret = hpm_rmmod();
		if (!ret || ret == -ENOENT)
			return 0;
		usleep(10000);
	}
	return hpm_module_loaded() ? ret : 0;
}

/* Open a device node, allowing devtmpfs a moment: the fd or -1 (errno set). */
static inline int hpm_open_path(const char *path, int flags)
{
	int fd = -1;

	/* devtmpfs creates the node synchronously; allow a little slack */
	for (int i = 0; i < 100; i++) {
		fd = open(path, flags | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT)
			break;
		usleep(10000);
	}
	return fd;
}

static inline int hpm_open(int flags)
{
	return hpm_open_path(HPAGE_MAP_DEVICE, flags);
}

static inline int hpm_get_info(int fd, struct hpage_map_info *info)
{
	return ioctl(fd, HPAGE_MAP_IOC_GET_INFO, info) ? -errno : 0;
}

/* EXPORT_DMABUF of [@off, @off + @size), @mode (O_RDONLY/O_RDWR) | O_CLOEXEC: the fd or -errno. */
static inline int hpm_export(int fd, uint64_t off, uint64_t size, uint32_t mode)
{
	struct hpage_map_export req = { .offset = off, .size = size, .flags = mode | O_CLOEXEC };

	return ioctl(fd, HPAGE_MAP_IOC_EXPORT_DMABUF, &req) ? -errno : req.fd;
}

/*
 * Make sure the module is loaded with @page_size_str / @nr: reuse a loaded
 * one with that geometry (a 1G load costs seconds under TCG), else
 * (re)load with modprobe.  0 or a negative error / positive modprobe status.
 */
static inline int hpm_ensure_loaded(const char *page_size_str, unsigned long nr)
{
	unsigned long ps = (unsigned long)hpm_parse_size(page_size_str);
	struct hpage_map_info info;
	char params[128];
	int ret;

	if (hpm_module_loaded()) {
		int fd = hpm_open(O_RDONLY);

		if (fd >= 0) {
			ret = hpm_get_info(fd, &info);
			close(fd);
			if (!ret && info.page_size == ps && info.nr_pages == nr)
				return 0;
		}
		ret = hpm_ensure_unloaded();
		if (ret)
			return ret;
	}
	snprintf(params, sizeof(params), "nr_pages=%lu page_size=%s", nr, page_size_str);
	ret = hpm_modprobe(params);
	if (ret)
		return ret;
	return hpm_module_loaded() ? 0 : -ENOENT;
}

static inline int hpm_ensure_profile_loaded(void)
{
	return hpm_ensure_loaded(hpm_page_size_str(), hpm_nr_pages());
}

/*
 * In a FIXTURE_SETUP whose fixture has fd, ps, nr and size: load the
 * profile's pool, open the device O_RDWR into self->fd and read its
 * geometry.
 */
#define HPM_SETUP_PROFILE_FD() do {					\
	struct hpage_map_info __info;					\
	ASSERT_EQ(0, hpm_ensure_profile_loaded());			\
	self->fd = hpm_open(O_RDWR);					\
	ASSERT_LE(0, self->fd);						\
	ASSERT_EQ(0, hpm_get_info(self->fd, &__info));			\
	self->ps = __info.page_size;					\
	self->nr = __info.nr_pages;					\
	self->size = __info.size;					\
} while (0)

/* ------------------------------------------------------------------ */
/* vgem: a DRM driver that imports dma-bufs (a stand-in for a device)  */

/* The DRM card whose driver is vgem, opened O_RDWR; -1 if none. */
static inline int hpm_vgem_open(void)
{
	for (int i = 0; i < 16; i++) {
		struct drm_version v;
		char path[32], name[64];
		int fd;

		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(&v, 0, sizeof(v));
		memset(name, 0, sizeof(name));
		v.name = name;
		v.name_len = sizeof(name) - 1;
		if (!ioctl(fd, DRM_IOCTL_VERSION, &v) && !strcmp(name, "vgem"))
			return fd;
		close(fd);
	}
	return -1;
}

/* PRIME import: the GEM handle, or -errno. */
static inline long long hpm_vgem_import(int card, int dmabuf)
{
	struct drm_prime_handle h = { .fd = dmabuf };

	return ioctl(card, DRM_IOCTL_PRIME_FD_TO_HANDLE, &h) ? -errno : (long long)h.handle;
}

static inline int hpm_gem_close(int card, uint32_t handle)
{
	struct drm_gem_close c = { .handle = handle };

	return ioctl(card, DRM_IOCTL_GEM_CLOSE, &c) ? -errno : 0;
}

/* ------------------------------------------------------------------ */
/* processes                                                           */

/* fork(); the child dies with the parent (a failed ASSERT aborts the parent). */
static inline pid_t hpm_fork(void)
{
	pid_t parent = getpid(), pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(99);
	}
	return pid;
}

/* Exit status of @pid, 128 + signal if killed, -errno if waitpid failed. */
static inline int hpm_wait(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/* ------------------------------------------------------------------ */
/* mappings and data                                                   */

static inline void *hpm_mmap(int fd, unsigned long long off, size_t len, int prot, int flags)
{
	return mmap(NULL, len, prot, flags, fd, (off_t)off);
}

/* mmap and unmap again: 0 on success, else errno. */
static inline int hpm_mmap_errno(int fd, unsigned long long off, size_t len, int prot, int flags)
{
	void *p = mmap(NULL, len, prot, flags, fd, (off_t)off);

	if (p == MAP_FAILED)
		return errno;
	munmap(p, len);
	return 0;
}

/* A free, @align-aligned address range of @len bytes (reserved PROT_NONE). */
static inline void *hpm_reserve_aligned(size_t len, size_t align)
{
	char *p = mmap(NULL, len + align, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uintptr_t a;

	if (p == MAP_FAILED)
		return MAP_FAILED;
	a = ((uintptr_t)p + align - 1) & ~((uintptr_t)align - 1);
	if (a > (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	if ((uintptr_t)p + len + align > a + len)
		munmap((void *)(a + len), (uintptr_t)p + len + align - (a + len));
	return (void *)a;
}

/* The 64-bit word stored at buffer offset @off for pattern @seed. */
static inline uint64_t hpm_word(uint64_t seed, uint64_t off)
{
	return (seed * 0x9E3779B97F4A7C15ULL) ^ off ^ 0x5a5a000000000000ULL;
}

/*
 * Patterns: two words per 4 KiB (first and last), each a function of the
 * seed and of the *buffer* offset, so any sub-range mapping can be checked.
 * @p maps buffer offset @base for @len bytes.
 */
static inline void hpm_fill(void *p, size_t len, uint64_t base, uint64_t seed)
{
	for (size_t o = 0; o < len; o += 4096) {
		*(volatile uint64_t *)((char *)p + o) = hpm_word(seed, base + o);
		*(volatile uint64_t *)((char *)p + o + 4088) = hpm_word(seed, base + o + 4088);
	}
}

/* -1 if the pattern is intact, else the first bad buffer offset. */
static inline long long hpm_check(const void *p, size_t len, uint64_t base, uint64_t seed)
{
	for (size_t o = 0; o < len; o += 4096) {
		if (*(const volatile uint64_t *)((const char *)p + o) != hpm_word(seed, base + o))
			return (long long)(base + o);
		if (*(const volatile uint64_t *)((const char *)p + o + 4088) !=
		    hpm_word(seed, base + o + 4088))
			return (long long)(base + o + 4088);
	}
	return -1;
}

/*
 * -1 if zero, else the first non-zero offset.  Every word up to 64 MiB,
 * beyond that the words hpm_fill() writes (first and last of each 4 KiB).
 */
static inline long long hpm_check_zero(const void *p, size_t len)
{
	const volatile uint64_t *w = p;

	if (len <= (64UL << 20)) {
		for (size_t i = 0; i < len / 8; i++)
			if (w[i])
				return (long long)i * 8;
		return -1;
	}
	for (size_t o = 0; o < len; o += 4096)
		if (w[o / 8] || w[(o + 4088) / 8])
			return (long long)o;
	return -1;
}

/* Write one byte in every 4 KiB of [p, p + len). */
static inline void hpm_touch(void *p, size_t len)
{
	for (size_t o = 0; o < len; o += 4096)
		((volatile char *)p)[o] = 1;
}

static inline long hpm_minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

static inline long hpm_majflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_majflt;
}

/* ------------------------------------------------------------------ */
/* /proc/self/maps and smaps                                           */

/* The /proc/self/maps line of the VMA containing @addr (no newline): 0 or -ENOENT. */
static inline int hpm_maps_line(const void *addr, char *line, size_t size)
{
	FILE *f = fopen("/proc/self/maps", "re");
	unsigned long s, e, a = (unsigned long)addr;

	if (!f)
		return -errno;
	while (fgets(line, size, f)) {
		if (sscanf(line, "%lx-%lx", &s, &e) == 2 && a >= s && a < e) {
			line[strcspn(line, "\n")] = '\0';
			fclose(f);
			return 0;
		}
	}
	fclose(f);
	return -ENOENT;
}

/* Number of VMAs in /proc/self/maps whose line contains @needle. */
static inline int hpm_count_vmas(const char *needle)
{
	char line[512];
	int n = 0;
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

/* Start and end of the VMA containing @addr: 0 or -ENOENT. */
static inline int hpm_vma_range(const void *addr, unsigned long *start, unsigned long *end)
{
	char line[512];
	int ret = hpm_maps_line(addr, line, sizeof(line));

	if (ret)
		return ret;
	return sscanf(line, "%lx-%lx", start, end) == 2 ? 0 : -EINVAL;
}

/* A "Field:   N kB" value of the smaps entry of the VMA starting at @addr; -1 if none. */
static inline long long hpm_smaps_kb(const void *addr, const char *field)
{
	char line[512], hdr[32];
	bool in = false;
	long long v = -1;
	size_t flen = strlen(field);
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		return -1;
	snprintf(hdr, sizeof(hdr), "%lx-", (unsigned long)addr);
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		char c;

		if (sscanf(line, "%lx-%lx %c", &s, &e, &c) == 3 && strchr(line, ' ') &&
		    strchr(line, '-') < strchr(line, ' ')) {
			if (in)
				break;
			in = !strncmp(line, hdr, strlen(hdr));
			continue;
		}
		if (in && !strncmp(line, field, flen) && line[flen] == ':') {
			v = strtoll(line + flen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* ------------------------------------------------------------------ */
/* kernel log                                                          */

/* /dev/kmsg positioned after the last record: new records only. */
static inline int hpm_kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/*
 * Collect the text of new records with log level <= @max_level (3: pr_err
 * and worse; 7: all) into @buf, one per line.  Returns the record count.
 */
static inline int hpm_kmsg_collect(int fd, int max_level, char *buf, size_t size)
{
	char rec[8192];
	size_t len = 0;
	int count = 0;

	buf[0] = '\0';
	for (;;) {
		ssize_t n = read(fd, rec, sizeof(rec) - 1);
		char *msg, *nl;
		int prio;

		if (n < 0) {
			if (errno == EPIPE)	/* overwritten records: go on */
				continue;
			break;
		}
		rec[n] = '\0';
		if (sscanf(rec, "%d,", &prio) != 1)
			continue;
		msg = strchr(rec, ';');
		if (!msg || (prio & 7) > max_level)
			continue;
		msg++;
		nl = strchr(msg, '\n');
		if (nl)
			*nl = '\0';
		count++;
		if (len < size)
			len += snprintf(buf + len, size - len, "%s\n", msg);
	}
	return count;
}

/* ------------------------------------------------------------------ */
/* sysfs view under the misc device                                    */

static inline int hpm_class_ull(const char *attr, unsigned long long *v)
{
	return hpm_read_ullf(v, HPM_SYS_CLASS "/%s", attr);
}

static inline long long hpm_class_mappings(void)
{
	unsigned long long v = 0;

	return hpm_class_ull("mappings", &v) ? -1 : (long long)v;
}

/* ------------------------------------------------------------------ */
/* several buffers, the control device                                 */

/* Device path of buffer @id: /dev/hpage_map, /dev/hpage_map<id>. */
static inline void hpm_dev_path(char *path, size_t size, unsigned int id)
{
	if (id)
		snprintf(path, size, HPAGE_MAP_DEVICE "%u", id);
	else
		snprintf(path, size, HPAGE_MAP_DEVICE);
}

/* Open buffer @id: the fd or -1 (errno set). */
static inline int hpm_open_id(unsigned int id, int flags)
{
	char path[64];

	hpm_dev_path(path, sizeof(path), id);
	return hpm_open_path(path, flags);
}

/* A sysfs attribute of buffer @id: 0 or -errno. */
static inline int hpm_buf_ull(unsigned int id, const char *attr,
			      unsigned long long *v)
{
	if (id)
		return hpm_read_ullf(v, HPM_SYS_CLASS "%u/%s", id, attr);
	return hpm_read_ullf(v, HPM_SYS_CLASS "/%s", attr);
}

static inline int hpm_ctl_open(void)
{
	return hpm_open_path(HPAGE_MAP_CONTROL_DEVICE, O_RDWR);
}

/* HPAGE_MAP_CTL_ADD through @ctl: the new id, or -errno. */
static inline long long hpm_ctl_add(int ctl, uint64_t nr, uint64_t ps, int node)
{
	struct hpage_map_ctl_add req = {
		.nr_pages = nr, .page_size = ps, .numa_node = node,
	};

	return ioctl(ctl, HPAGE_MAP_CTL_ADD, &req) ? -errno : (long long)req.id;
}

/* HPAGE_MAP_CTL_REMOVE through @ctl: 0 or -errno. */
static inline int hpm_ctl_remove(int ctl, uint32_t id)
{
	return ioctl(ctl, HPAGE_MAP_CTL_REMOVE, &id) ? -errno : 0;
}

/* free_hugepages of @kb-sized pages on @node, -1 if unreadable. */
static inline long long hpm_node_free(int node, unsigned long kb)
{
	unsigned long long v;

	if (hpm_read_ullf(&v, "/sys/devices/system/node/node%d/hugepages/hugepages-%lukB/free_hugepages",
			  node, kb))
		return -1;
	return (long long)v;
}

static inline int hpm_node_set_nr(int node, unsigned long kb, unsigned long nr)
{
	char path[160], val[32];
	int fd, len, ret = 0;

	snprintf(path, sizeof(path),
		 "/sys/devices/system/node/node%d/hugepages/hugepages-%lukB/nr_hugepages",
		 node, kb);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = snprintf(val, sizeof(val), "%lu", nr);
	if (write(fd, val, len) != len)
		ret = -errno;
	close(fd);
	return ret;
}

/* Skip guard: 6.1's harness runs the TEST_F body after SKIP() in FIXTURE_SETUP. */
#define HPM_SKIP_GUARD() do { if (_metadata->skip) return; } while (0)

#endif /* HPM_TEST_H */
