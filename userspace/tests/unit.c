// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * unit.c - host unit tests of libhpagemap's and hpage-map's pure parts
 *
 * Size parsing and formatting, error messages, data patterns, the JSON
 * writer, and everything read from sysfs against a fake tree made in a
 * temporary directory: pools per size and node, the module's view, the
 * pool check and its command, user and group names, the info and pools
 * output in text and JSON.  Built with ASan and UBSan by
 * `make -C userspace check-host`.
 *
 *   unit-tests                   run the tests (exit 1 on a failure)
 *   unit-tests --make-sysroot D  only create the fake tree in D (used by
 *                                tests/cli-host.sh)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hpagemap.h"
#include "json.h"
#include "pattern.h"
#include "report.h"

static int failures, checks;

#define CHECK(cond) do {						\
	checks++;							\
	if (!(cond)) {							\
		failures++;						\
		fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__,	\
			__LINE__, #cond);				\
	}								\
} while (0)

#define CHECK_STR(got, want) do {					\
	const char *_g = (got), *_w = (want);				\
	checks++;							\
	if (strcmp(_g, _w)) {						\
		failures++;						\
		fprintf(stderr, "%s:%d: FAILED: %s\n--- got:\n%s\n"	\
			"--- expected:\n%s\n", __FILE__, __LINE__, #got,\
			_g, _w);					\
	}								\
} while (0)

/* ------------------------------------------------------------------ */
/* fake sysfs tree                                                     */

__attribute__((format(printf, 3, 4)))
static void put(const char *root, const char *content, const char *fmt, ...)
{
	char path[1024], *p;
	va_list ap;
	FILE *f;
	int n;

	n = snprintf(path, sizeof(path), "%s/", root);
	va_start(ap, fmt);
	vsnprintf(path + n, sizeof(path) - n, fmt, ap);
	va_end(ap);
	for (p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST) {
			perror(path);
			exit(2);
		}
		*p = '/';
	}
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(2);
	}
	fputs(content, f);
	fclose(f);
}

static void put_pool(const char *root, const char *dir, const char *kb,
		     const char *nr, const char *free, const char *resv,
		     const char *surplus)
{
	put(root, nr, "%s/hugepages-%skB/nr_hugepages", dir, kb);
	put(root, free, "%s/hugepages-%skB/free_hugepages", dir, kb);
	put(root, surplus, "%s/hugepages-%skB/surplus_hugepages", dir, kb);
	if (resv) {
		put(root, resv, "%s/hugepages-%skB/resv_hugepages", dir, kb);
		put(root, "0\n", "%s/hugepages-%skB/nr_overcommit_hugepages",
		    dir, kb);
	}
}

/*
 * A two-node machine with 2 MiB and 1 GiB pools and hpage_map loaded:
 * buffer 0, 8 x 2 MiB on node 0, and buffer 1, 4 x 2 MiB on node 1, from
 * the parameters; buffer 3, 1 x 1 GiB spread, added at run time.
 */
static void make_sysroot(const char *root)
{
	const char *mm = "sys/kernel/mm/hugepages", *n0 =
		"sys/devices/system/node/node0/hugepages", *n1 =
		"sys/devices/system/node/node1/hugepages";

	put_pool(root, mm, "2048", "64\n", "48\n", "2\n", "0\n");
	put_pool(root, mm, "1048576", "2\n", "2\n", "0\n", "0\n");
	put_pool(root, n0, "2048", "32\n", "16\n", NULL, "0\n");
	put_pool(root, n0, "1048576", "1\n", "1\n", NULL, "0\n");
	put_pool(root, n1, "2048", "32\n", "32\n", NULL, "0\n");
	put_pool(root, n1, "1048576", "1\n", "1\n", NULL, "0\n");
	/* not nodes */
	put(root, "0-1\n", "sys/devices/system/node/possible");
	put(root, "0-1\n", "sys/devices/system/node/has_cpu");
	put(root, "MemTotal:        6000000 kB\nHugePages_Total:      64\n"
	    "Hugepagesize:       2048 kB\nHugetlb:         2228224 kB\n",
	    "proc/meminfo");
	put(root, "live\n", "sys/module/hpage_map/initstate");
	put(root, "8,4\n", "sys/module/hpage_map/parameters/nr_pages");
	put(root, "2097152,2097152\n", "sys/module/hpage_map/parameters/page_size");
	put(root, "0,1\n", "sys/module/hpage_map/parameters/numa_node");
	put(root, "0123456789ABCDEF012345\n", "sys/module/hpage_map/srcversion");
	put(root, "8\n", "sys/class/misc/hpage_map/nr_pages");
	put(root, "2097152\n", "sys/class/misc/hpage_map/page_size");
	put(root, "16777216\n", "sys/class/misc/hpage_map/size");
	put(root, "0\n", "sys/class/misc/hpage_map/numa_node");
	put(root, "2\n", "sys/class/misc/hpage_map/mappings");
	put(root, "1\n", "sys/class/misc/hpage_map/open_files");
	put(root, "10:123\n", "sys/class/misc/hpage_map/dev");
	put(root, "0\n", "sys/class/misc/hpage_map/id");
	put(root, "3\n", "sys/class/misc/hpage_map/dma_bufs");
	put(root, "0\n", "sys/class/misc/hpage_map/hwpoisoned_pages");
	/* listed in an order that is not the ids' */
	put(root, "3\n", "sys/class/misc/hpage_map3/id");
	put(root, "1\n", "sys/class/misc/hpage_map3/nr_pages");
	put(root, "1073741824\n", "sys/class/misc/hpage_map3/page_size");
	put(root, "1073741824\n", "sys/class/misc/hpage_map3/size");
	put(root, "-1\n", "sys/class/misc/hpage_map3/numa_node");
	put(root, "0\n", "sys/class/misc/hpage_map3/mappings");
	put(root, "0\n", "sys/class/misc/hpage_map3/open_files");
	put(root, "0\n", "sys/class/misc/hpage_map3/dma_bufs");
	put(root, "1\n", "sys/class/misc/hpage_map3/hwpoisoned_pages");
	put(root, "10:121\n", "sys/class/misc/hpage_map3/dev");
	put(root, "1\n", "sys/class/misc/hpage_map1/id");
	put(root, "4\n", "sys/class/misc/hpage_map1/nr_pages");
	put(root, "2097152\n", "sys/class/misc/hpage_map1/page_size");
	put(root, "8388608\n", "sys/class/misc/hpage_map1/size");
	put(root, "1\n", "sys/class/misc/hpage_map1/numa_node");
	put(root, "1\n", "sys/class/misc/hpage_map1/mappings");
	put(root, "2\n", "sys/class/misc/hpage_map1/open_files");
	put(root, "0\n", "sys/class/misc/hpage_map1/dma_bufs");
	put(root, "0\n", "sys/class/misc/hpage_map1/hwpoisoned_pages");
	put(root, "10:122\n", "sys/class/misc/hpage_map1/dev");
	/* not buffers */
	put(root, "10:120\n", "sys/class/misc/hpage_map-control/dev");
	put(root, "10:229\n", "sys/class/misc/fuse/dev");
	put(root, "10:119\n", "sys/class/misc/hpage_map07/dev");
	put(root, "root:x:0:0:root:/root:/bin/bash\n"
	    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
	    "etc/passwd");
	put(root, "root:x:0:\nbroken line\nhpage:x:990:alice,bob\n"
	    "nogroup:x:65534:\n", "etc/group");
	put(root, "", "dev/hpage_map");
	put(root, "", "dev/hpage_map1");
	put(root, "", "dev/hpage_map3");
	chmod(root, 0755);
}

static char *tmp_root(char *buf, size_t len)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(buf, len, "%s/hpagemap-unit.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(buf)) {
		perror("mkdtemp");
		exit(2);
	}
	return buf;
}

static void rm_tree(const char *root)
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", root);
}

/* Run @fn writing to a memory stream; return the text (free it). */
static char *capture(void (*fn)(FILE *f, const void *arg), const void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fn(f, arg);
	fclose(f);
	return buf;
}

/* ------------------------------------------------------------------ */
/* tests                                                               */

static void test_parse_size(void)
{
	static const struct {
		const char *s;
		int ret;
		uint64_t v;
	} cases[] = {
		{ "0", 0, 0 },
		{ "4096", 0, 4096 },
		{ "0x200000", 0, 2 << 20 },
		{ "2M", 0, 2 << 20 },
		{ "2m", 0, 2 << 20 },
		{ "2MB", 0, 2 << 20 },
		{ "2MiB", 0, 2 << 20 },
		{ "512K", 0, 512 << 10 },
		{ "512kB", 0, 512 << 10 },
		{ "1G", 0, 1ULL << 30 },
		{ "1GiB", 0, 1ULL << 30 },
		{ "3T", 0, 3ULL << 40 },
		{ "100B", 0, 100 },
		{ "1E", 0, 1ULL << 60 },
		{ "16E", -ERANGE, 0 },
		{ "99999999999999999999", -ERANGE, 0 },
		{ "", -EINVAL, 0 },
		{ "M", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ " 2M", -EINVAL, 0 },
		{ "2 M", -EINVAL, 0 },
		{ "2X", -EINVAL, 0 },
		{ "2MM", -EINVAL, 0 },
		{ "2Mx", -EINVAL, 0 },
		{ "1.5G", -EINVAL, 0 },
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret;

		v = 12345;
		ret = hpagemap_parse_size(cases[i].s, &v);
		if (ret != cases[i].ret || (!ret && v != cases[i].v))
			fprintf(stderr, "parse_size(\"%s\") = %d, %" PRIu64 "\n",
				cases[i].s, ret, v);
		CHECK(ret == cases[i].ret);
		CHECK(ret || v == cases[i].v);
	}
	CHECK(hpagemap_parse_size(NULL, &v) == -EINVAL);
}

static void test_format_size(void)
{
	static const struct {
		uint64_t v;
		const char *s;
	} cases[] = {
		{ 0, "0 B" },
		{ 1, "1 B" },
		{ 1023, "1023 B" },
		{ 1024, "1 KiB" },
		{ 1536, "1.5 KiB" },
		{ 2 << 20, "2 MiB" },
		{ 16 << 20, "16 MiB" },
		{ 1ULL << 30, "1 GiB" },
		{ 3ULL << 29, "1.5 GiB" },
		{ (1ULL << 30) + 1, "1 GiB" },
		{ (1ULL << 30) + (1ULL << 30) / 100 * 25, "1.25 GiB" },
		{ (1ULL << 20) - 1, "1 MiB" },	/* rounds up to the next unit */
		{ 1ULL << 40, "1 TiB" },
		{ UINT64_MAX, "16 EiB" },
	};
	char buf[16], tiny[4];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_STR(hpagemap_format_size(cases[i].v, buf, sizeof(buf)),
			  cases[i].s);
	/* truncates, never overflows */
	CHECK_STR(hpagemap_format_size(2 << 20, tiny, sizeof(tiny)), "2 M");
}

static void test_strerror(void)
{
	CHECK(strstr(hpagemap_strerror(-ENOENT), "not loaded"));
	CHECK(strstr(hpagemap_strerror(-ENOENT), "modprobe hpage_map"));
	CHECK(strstr(hpagemap_strerror(-EACCES), "group 'hpage'"));
	CHECK(strstr(hpagemap_strerror(-EACCES), "usermod -aG hpage"));
	CHECK(strstr(hpagemap_strerror(-ENOMEM), "nr_hugepages"));
	CHECK(strstr(hpagemap_strerror(-EPERM), "CAP_SYS_ADMIN"));
	CHECK(strstr(hpagemap_strerror(ENOENT), "not loaded"));
	CHECK(strstr(hpagemap_strerror(-EBUSY), "buffer in use: close its fds, "
		     "mappings and dma-bufs"));
	CHECK(strstr(hpagemap_strerror(-ENODEV), "hpage-map list"));
	CHECK(strstr(hpagemap_strerror(-EPERM), "adding or removing buffers"));
	CHECK(strstr(hpagemap_strerror(-ENOMEM), "kernel log"));
	CHECK_STR(hpagemap_strerror(-EIO), strerror(EIO));
	CHECK(hpagemap_strerror(-100000) != NULL);
	CHECK(hpagemap_strerror(0) != NULL);
}

static void test_patterns(void)
{
	struct pattern p, q;
	unsigned char buf[200];
	uint64_t bad = 0;
	uint8_t exp = 0, got = 0;
	char name[32];

	CHECK(!pattern_parse("offset", &p) && p.kind == PATTERN_OFFSET);
	CHECK(!pattern_parse("zero", &p) && p.kind == PATTERN_ZERO);
	CHECK(!pattern_parse("byte:0xa5", &p) && p.kind == PATTERN_BYTE &&
	      p.value == 0xa5);
	CHECK_STR(pattern_name(&p, name, sizeof(name)), "byte:0xa5");
	CHECK(!pattern_parse("byte:255", &p));
	CHECK(pattern_parse("byte:256", &p) == -EINVAL);
	CHECK(pattern_parse("byte:", &p) == -EINVAL);
	CHECK(pattern_parse("byte:-1", &p) == -EINVAL);
	CHECK(!pattern_parse("seed:42", &p) && p.kind == PATTERN_SEED &&
	      p.value == 42);
	CHECK_STR(pattern_name(&p, name, sizeof(name)), "seed:42");
	CHECK(pattern_parse("seed:x", &p) == -EINVAL);
	CHECK(pattern_parse("random", &p) == -EINVAL);

	/* offset: each little-endian word is its own buffer offset */
	pattern_parse("offset", &p);
	CHECK(pattern_word(&p, 0x200008) == 0x200008);
	CHECK(pattern_byte(&p, 0x200008) == 0x08);
	CHECK(pattern_byte(&p, 0x200009) == 0x00);
	CHECK(pattern_byte(&p, 0x20000a) == 0x20);

	/* seeds differ, and the words depend on the offset */
	pattern_parse("seed:1", &p);
	pattern_parse("seed:2", &q);
	CHECK(pattern_word(&p, 0) != pattern_word(&q, 0));
	CHECK(pattern_word(&p, 0) != pattern_word(&p, 8));

	/* unaligned start and length, offset in the buffer 4093 */
	memset(buf, 0xee, sizeof(buf));
	pattern_fill(&p, buf + 3, 4093, 150);
	CHECK(buf[2] == 0xee && buf[153] == 0xee);
	CHECK(!pattern_verify(&p, buf + 3, 4093, 150, &bad, &exp, &got));
	for (int i = 0; i < 150; i++)
		CHECK(buf[3 + i] == pattern_byte(&p, 4093 + (uint64_t)i));
	/* any sub-range checks against the same offsets */
	CHECK(!pattern_verify(&p, buf + 3 + 17, 4093 + 17, 50, &bad, &exp, &got));
	/* the wrong base does not */
	CHECK(pattern_verify(&p, buf + 3, 4096, 150, &bad, &exp, &got));
	/* a corrupted byte is found exactly */
	buf[3 + 101] ^= 0x10;
	CHECK(pattern_verify(&p, buf + 3, 4093, 150, &bad, &exp, &got) == 1);
	CHECK(bad == 4093 + 101);
	CHECK(exp == pattern_byte(&p, 4093 + 101) && got == (exp ^ 0x10));
	/* the other pattern does not match */
	CHECK(pattern_verify(&q, buf + 3, 4093, 150, &bad, &exp, &got) == 1 &&
	      bad == 4093);
	/* byte and zero */
	pattern_parse("byte:0x5a", &p);
	pattern_fill(&p, buf, 1, 7);
	CHECK(buf[0] == 0x5a && buf[6] == 0x5a && buf[7] != 0x5a);
	pattern_parse("zero", &p);
	memset(buf, 0, sizeof(buf));
	CHECK(!pattern_verify(&p, buf, 0, sizeof(buf), &bad, &exp, &got));
	buf[199] = 1;
	CHECK(pattern_verify(&p, buf, 0, sizeof(buf), &bad, &exp, &got) &&
	      bad == 199 && got == 1 && exp == 0);
}

static void json_sample(FILE *f, const void *arg)
{
	struct json j;

	(void)arg;
	json_init(&j, f);
	json_begin_object(&j, NULL);
	json_string(&j, "s", "a\"b\\c\nd\te\x01");
	json_u64(&j, "u", UINT64_MAX);
	json_i64(&j, "i", -5);
	json_count(&j, "unknown", -1);
	json_bool(&j, "t", true);
	json_begin_array(&j, "empty");
	json_end_array(&j);
	json_begin_object(&j, "o");
	json_begin_array(&j, "a");
	json_u64(&j, NULL, 1);
	json_null(&j, NULL);
	json_end_array(&j);
	json_end_object(&j);
	json_end_object(&j);
	json_finish(&j);
}

static void test_json(void)
{
	char *out = capture(json_sample, NULL);

	CHECK_STR(out,
		  "{\n"
		  "  \"s\": \"a\\\"b\\\\c\\nd\\te\\u0001\",\n"
		  "  \"u\": 18446744073709551615,\n"
		  "  \"i\": -5,\n"
		  "  \"unknown\": null,\n"
		  "  \"t\": true,\n"
		  "  \"empty\": [],\n"
		  "  \"o\": {\n"
		  "    \"a\": [\n"
		  "      1,\n"
		  "      null\n"
		  "    ]\n"
		  "  }\n"
		  "}\n");
	free(out);
}

static void test_pools(const char *root)
{
	struct hpagemap_pool pools[16], pool;
	char cmd[160];
	int n;

	CHECK(hpagemap_default_page_size(root) == 2 << 20);
	n = hpagemap_pools(root, pools, 16);
	CHECK(n == 6);
	if (n != 6)
		return;
	/* 2M all, node 0, node 1; then 1G all, node 0, node 1 */
	CHECK(pools[0].page_size == 2 << 20 && pools[0].node == -1);
	CHECK(pools[0].total == 64 && pools[0].free == 48 &&
	      pools[0].reserved == 2 && pools[0].surplus == 0 &&
	      pools[0].overcommit == 0 && pools[0].is_default);
	CHECK(pools[1].page_size == 2 << 20 && pools[1].node == 0 &&
	      pools[1].total == 32 && pools[1].free == 16 &&
	      pools[1].reserved == -1 && pools[1].overcommit == -1);
	CHECK(pools[2].node == 1 && pools[2].free == 32);
	CHECK(pools[3].page_size == 1ULL << 30 && pools[3].node == -1 &&
	      pools[3].total == 2 && !pools[3].is_default);
	CHECK(pools[4].node == 0 && pools[5].node == 1);
	/* the node pools add up to the system's */
	CHECK(pools[1].total + pools[2].total == pools[0].total);

	/* fewer slots than pools: the count of all, the first ones filled */
	memset(pools, 0, sizeof(pools));
	CHECK(hpagemap_pools(root, pools, 2) == 6);
	CHECK(pools[1].node == 0 && pools[2].page_size == 0);
	CHECK(hpagemap_pools(root, NULL, 0) == 6);

	CHECK(!hpagemap_pool_of(root, 1ULL << 30, &pool) && pool.total == 2);
	CHECK(hpagemap_pool_of(root, 4 << 20, &pool) == -ENOENT);

	/* 48 free, 2 of them reserved: 46 available */
	CHECK(!hpagemap_pool_check(root, 2 << 20, 46, cmd, sizeof(cmd)));
	CHECK_STR(cmd, "");
	CHECK(!hpagemap_pool_check(root, 0, 8, NULL, 0));
	CHECK(hpagemap_pool_check(root, 2 << 20, 47, cmd, sizeof(cmd)) == -ENOMEM);
	CHECK_STR(cmd, "echo 65 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages");
	CHECK(hpagemap_pool_check(root, 0, 100, cmd, sizeof(cmd)) == -ENOMEM);
	CHECK_STR(cmd, "echo 118 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages");
	CHECK(hpagemap_pool_check(root, 1ULL << 30, 3, cmd, sizeof(cmd)) == -ENOMEM);
	CHECK_STR(cmd, "echo 3 > /sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages");
	CHECK(hpagemap_pool_check(root, 4 << 20, 1, cmd, sizeof(cmd)) == -EINVAL);
}

static void test_sysfs_info(const char *root)
{
	struct hpagemap_info info;
	char buf[32];
	gid_t gid = 0;

	CHECK(hpagemap_module_loaded(root));
	CHECK(!hpagemap_sysfs_info(root, &info));
	CHECK(info.size == 16 << 20 && info.page_size == 2 << 20 &&
	      info.nr_pages == 8 && info.numa_node == 0);
	CHECK(info.mappings == 2 && info.open_files == 1);
	CHECK(info.param_nr_pages == 8 && info.param_page_size == 2 << 20);
	CHECK_STR(info.srcversion, "0123456789ABCDEF012345");
	CHECK_STR(info.version, "");
	CHECK_STR(info.path, "/dev/hpage_map");
	CHECK(info.node_present && info.from_sysfs);

	CHECK_STR(hpagemap_user_name(root, 0, buf, sizeof(buf)), "root");
	CHECK_STR(hpagemap_user_name(root, 1234, buf, sizeof(buf)), "1234");
	CHECK_STR(hpagemap_group_name(root, 990, buf, sizeof(buf)), "hpage");
	CHECK_STR(hpagemap_group_name(root, 65534, buf, sizeof(buf)), "nogroup");
	CHECK(!hpagemap_group_id(root, "hpage", &gid) && gid == 990);
	CHECK(hpagemap_group_id(root, "video", &gid) == -ENOENT);
	CHECK(hpagemap_group_id("/nonexistent", "hpage", &gid) == -ENOENT);
}

static void test_buffers(const char *root)
{
	struct hpagemap_buffer bufs[4], one;
	struct hpagemap_info info;
	char path[64];

	CHECK(!hpagemap_device_path(0, path, sizeof(path)));
	CHECK_STR(path, "/dev/hpage_map");
	CHECK(!hpagemap_device_path(12, path, sizeof(path)));
	CHECK_STR(path, "/dev/hpage_map12");
	CHECK(hpagemap_device_path(4000000000U, path, 16) == -ENAMETOOLONG);

	memset(bufs, 0xa5, sizeof(bufs));
	CHECK(hpagemap_list(root, bufs, 4) == 3);
	CHECK(bufs[0].id == 0 && bufs[1].id == 1 && bufs[2].id == 3);
	CHECK_STR(bufs[0].path, "/dev/hpage_map");
	CHECK_STR(bufs[1].path, "/dev/hpage_map1");
	CHECK_STR(bufs[2].path, "/dev/hpage_map3");
	CHECK(bufs[0].size == 16 << 20 && bufs[0].page_size == 2 << 20 &&
	      bufs[0].nr_pages == 8 && bufs[0].numa_node == 0);
	CHECK(bufs[0].open_files == 1 && bufs[0].mappings == 2 &&
	      bufs[0].dma_bufs == 3 && bufs[0].hwpoisoned_pages == 0);
	CHECK(bufs[1].nr_pages == 4 && bufs[1].numa_node == 1 &&
	      bufs[1].open_files == 2 && bufs[1].mappings == 1);
	CHECK(bufs[2].page_size == 1ULL << 30 && bufs[2].numa_node == -1 &&
	      bufs[2].hwpoisoned_pages == 1);
	CHECK(!bufs[2].reserved[0] && !bufs[2].reserved[3]);
	CHECK(bufs[3].id == 0xa5a5a5a5);	/* untouched */
	/* fewer slots: the count of all, the lowest ids */
	memset(bufs, 0, sizeof(bufs));
	CHECK(hpagemap_list(root, bufs, 1) == 3);
	CHECK(bufs[0].id == 0 && bufs[1].size == 0);
	CHECK(hpagemap_list(root, NULL, 0) == 3);

	CHECK(!hpagemap_buffer_info(root, 3, &one));
	CHECK(one.id == 3 && one.nr_pages == 1);
	CHECK(hpagemap_buffer_info(root, 2, &one) == -ENODEV);
	CHECK(hpagemap_buffer_info("/nonexistent", 0, &one) == -ENOENT);
	CHECK(hpagemap_list("/nonexistent", bufs, 4) == -ENOENT);

	/* the module parameters' entry of each buffer */
	CHECK(!hpagemap_sysfs_info_id(root, 1, &info));
	CHECK(info.size == 8 << 20 && info.numa_node == 1);
	CHECK(info.mappings == 1 && info.open_files == 2);
	CHECK(info.param_nr_pages == 4 && info.param_page_size == 2 << 20);
	CHECK_STR(info.path, "/dev/hpage_map1");
	CHECK(info.node_present);
	CHECK(!hpagemap_sysfs_info_id(root, 3, &info));
	CHECK(info.param_nr_pages == -1 && info.param_page_size == -1);
	CHECK(info.mappings == 0);
	CHECK(hpagemap_sysfs_info_id(root, 2, &info) == -ENODEV);
	CHECK_STR(info.path, "/dev/hpage_map2");
}

struct list_arg {
	const char *root;
	bool json;
};

static void list_sample(FILE *f, const void *arg)
{
	const struct list_arg *a = arg;
	struct hpagemap_buffer bufs[8];
	int n = hpagemap_list(a->root, bufs, 8);

	if (a->json)
		report_list_json(f, n >= 0, bufs, n > 0 ? n : 0);
	else
		report_list_text(f, bufs, n > 0 ? n : 0);
}

/* The start of `list --json` of the fake tree: buffer 0 whole. */
static const char first[] =
"{\n"
"  \"loaded\": true,\n"
"  \"buffers\": [\n"
"    {\n"
"      \"id\": 0,\n"
"      \"device\": \"/dev/hpage_map\",\n"
"      \"size\": 16777216,\n"
"      \"size_human\": \"16 MiB\",\n"
"      \"page_size\": 2097152,\n"
"      \"page_size_human\": \"2 MiB\",\n"
"      \"nr_pages\": 8,\n"
"      \"numa_node\": 0,\n"
"      \"open_files\": 1,\n"
"      \"mappings\": 2,\n"
"      \"dma_bufs\": 3,\n"
"      \"hwpoisoned_pages\": 0\n"
"    },\n";

static void test_report_list(const char *root)
{
	struct list_arg a = { root, false };
	char *out;

	out = capture(list_sample, &a);
	CHECK_STR(out,
" ID  Device                  Size Page size  Pages   Node  Users: fds/mappings/dma-bufs\n"
"  0  /dev/hpage_map        16 MiB     2 MiB      8      0  1/2/3\n"
"  1  /dev/hpage_map1        8 MiB     2 MiB      4      1  2/1/0\n"
"  3  /dev/hpage_map3        1 GiB     1 GiB      1 spread  0/0/0\n");
	free(out);
	a.json = true;
	out = capture(list_sample, &a);
	CHECK(!strncmp(out, first, strlen(first)));
	CHECK(strstr(out, "\"numa_node\": null,\n"));
	free(out);
	a.root = "/nonexistent";
	out = capture(list_sample, &a);
	CHECK_STR(out, "{\n  \"loaded\": false,\n  \"buffers\": []\n}\n");
	free(out);
}


/* Every buffer removed: an empty list, not an error. */
static void test_no_buffers(void)
{
	struct hpagemap_buffer bufs[2];
	char root[256];

	tmp_root(root, sizeof(root));
	put(root, "live\n", "sys/module/hpage_map/initstate");
	CHECK(hpagemap_list(root, bufs, 2) == 0);
	put(root, "10:120\n", "sys/class/misc/hpage_map-control/dev");
	CHECK(hpagemap_list(root, bufs, 2) == 0);
	/* a buffer half gone: its directory without attributes */
	put(root, "", "sys/class/misc/hpage_map2/uevent");
	CHECK(hpagemap_list(root, bufs, 2) == 0);
	rm_tree(root);
}

static void test_empty_root(void)
{
	char root[256];
	struct hpagemap_info info;
	struct hpagemap_pool pools[4];

	tmp_root(root, sizeof(root));
	CHECK(!hpagemap_module_loaded(root));
	CHECK(hpagemap_sysfs_info(root, &info) == -ENOENT);
	CHECK(hpagemap_pools(root, pools, 4) == -ENOENT);
	CHECK(hpagemap_default_page_size(root) == 0);
	CHECK(hpagemap_pool_check(root, 0, 1, NULL, 0) == -EINVAL);

	/* no NUMA directory: only the system's pools */
	put_pool(root, "sys/kernel/mm/hugepages", "2048", "4\n", "4\n", "0\n", "1\n");
	CHECK(hpagemap_pools(root, pools, 4) == 1);
	CHECK(pools[0].node == -1 && pools[0].surplus == 1 && !pools[0].is_default);
	/* module loaded, device not registered */
	put(root, "live\n", "sys/module/hpage_map/initstate");
	CHECK(hpagemap_sysfs_info(root, &info) == -ENODEV);
	rm_tree(root);
}

struct report_arg {
	const char *root;
	bool json;
	bool loaded;
};

static void report_sample(FILE *f, const void *arg)
{
	const struct report_arg *a = arg;
	struct hpagemap_pool pools[16];
	struct report r;

	memset(&r, 0, sizeof(r));
	r.root = a->root;
	r.pools = pools;
	r.nr_pools = hpagemap_pools(a->root, pools, 16);
	r.loaded = a->loaded;
	r.have_info = a->loaded && !hpagemap_sysfs_info(a->root, &r.info);
	if (r.have_info) {
		/* what the node in a real /dev would say */
		r.info.mode = S_IFCHR | 0660;
		r.info.uid = 0;
		r.info.gid = 990;
		r.accessible = true;
	}
	if (a->json)
		report_info_json(f, &r);
	else
		report_info_text(f, &r);
}

static void test_report(const char *root)
{
	struct report_arg a = { root, false, true };
	char *out;

	out = capture(report_sample, &a);
	CHECK_STR(out,
"hpage_map: 16 MiB buffer of 8 x 2 MiB huge pages, NUMA node 0\n"
"  device:     /dev/hpage_map  char 0:0  crw-rw---- root:hpage\n"
"  in use:     2 mappings, 1 open file\n"
"  module:     hpage_map (srcversion 0123456789ABCDEF012345)\n"
"  parameters: nr_pages=8 page_size=2097152 (2 MiB)\n"
"\n"
"Huge page pools (in pages, as hugeadm --pool-list; Reserved: promised to mappings):\n"
"     Size  Node    Total     Free Reserved  Surplus     Memory  Default\n"
"    2 MiB   all       64       48        2        0    128 MiB  *\n"
"    2 MiB     0       32       16        -        0     64 MiB\n"
"    2 MiB     1       32       32        -        0     64 MiB\n"
"    1 GiB   all        2        2        0        0      2 GiB\n"
"    1 GiB     0        1        1        -        0      1 GiB\n"
"    1 GiB     1        1        1        -        0      1 GiB\n");
	free(out);

	a.json = true;
	out = capture(report_sample, &a);
	CHECK_STR(out,
"{\n"
"  \"module\": {\n"
"    \"name\": \"hpage_map\",\n"
"    \"loaded\": true,\n"
"    \"version\": \"\",\n"
"    \"srcversion\": \"0123456789ABCDEF012345\",\n"
"    \"parameters\": {\n"
"      \"nr_pages\": 8,\n"
"      \"page_size\": 2097152\n"
"    }\n"
"  },\n"
"  \"device\": {\n"
"    \"path\": \"/dev/hpage_map\",\n"
"    \"present\": true,\n"
"    \"major\": 0,\n"
"    \"minor\": 0,\n"
"    \"mode\": \"0660\",\n"
"    \"owner\": \"root\",\n"
"    \"group\": \"hpage\",\n"
"    \"accessible\": true\n"
"  },\n"
"  \"buffer\": {\n"
"    \"id\": 0,\n"
"    \"size\": 16777216,\n"
"    \"size_human\": \"16 MiB\",\n"
"    \"page_size\": 2097152,\n"
"    \"page_size_human\": \"2 MiB\",\n"
"    \"nr_pages\": 8,\n"
"    \"numa_node\": 0,\n"
"    \"mappings\": 2,\n"
"    \"open_files\": 1,\n"
"    \"source\": \"sysfs\"\n"
"  },\n"
"  \"pools\": [\n"
"    {\n"
"      \"page_size\": 2097152,\n"
"      \"page_size_human\": \"2 MiB\",\n"
"      \"node\": null,\n"
"      \"total\": 64,\n"
"      \"free\": 48,\n"
"      \"reserved\": 2,\n"
"      \"surplus\": 0,\n"
"      \"overcommit\": 0,\n"
"      \"default\": true\n"
"    },\n"
"    {\n"
"      \"page_size\": 2097152,\n"
"      \"page_size_human\": \"2 MiB\",\n"
"      \"node\": 0,\n"
"      \"total\": 32,\n"
"      \"free\": 16,\n"
"      \"reserved\": null,\n"
"      \"surplus\": 0,\n"
"      \"overcommit\": null,\n"
"      \"default\": true\n"
"    },\n"
"    {\n"
"      \"page_size\": 2097152,\n"
"      \"page_size_human\": \"2 MiB\",\n"
"      \"node\": 1,\n"
"      \"total\": 32,\n"
"      \"free\": 32,\n"
"      \"reserved\": null,\n"
"      \"surplus\": 0,\n"
"      \"overcommit\": null,\n"
"      \"default\": true\n"
"    },\n"
"    {\n"
"      \"page_size\": 1073741824,\n"
"      \"page_size_human\": \"1 GiB\",\n"
"      \"node\": null,\n"
"      \"total\": 2,\n"
"      \"free\": 2,\n"
"      \"reserved\": 0,\n"
"      \"surplus\": 0,\n"
"      \"overcommit\": 0,\n"
"      \"default\": false\n"
"    },\n"
"    {\n"
"      \"page_size\": 1073741824,\n"
"      \"page_size_human\": \"1 GiB\",\n"
"      \"node\": 0,\n"
"      \"total\": 1,\n"
"      \"free\": 1,\n"
"      \"reserved\": null,\n"
"      \"surplus\": 0,\n"
"      \"overcommit\": null,\n"
"      \"default\": false\n"
"    },\n"
"    {\n"
"      \"page_size\": 1073741824,\n"
"      \"page_size_human\": \"1 GiB\",\n"
"      \"node\": 1,\n"
"      \"total\": 1,\n"
"      \"free\": 1,\n"
"      \"reserved\": null,\n"
"      \"surplus\": 0,\n"
"      \"overcommit\": null,\n"
"      \"default\": false\n"
"    }\n"
"  ]\n"
"}\n");
	free(out);

	/* not loaded: no device or buffer */
	a.loaded = false;
	out = capture(report_sample, &a);
	CHECK(!strncmp(out, "{\n  \"module\": {\n    \"name\": \"hpage_map\",\n"
		       "    \"loaded\": false\n  },\n  \"device\": null,\n"
		       "  \"buffer\": null,\n  \"pools\": [\n", 95));
	free(out);
	a.json = false;
	out = capture(report_sample, &a);
	CHECK(!strncmp(out, "hpage_map: module not loaded\n\nHuge page pools", 45));
	free(out);
}

int main(int argc, char **argv)
{
	char root[256];

	if (argc == 3 && !strcmp(argv[1], "--make-sysroot")) {
		if (mkdir(argv[2], 0755) && errno != EEXIST) {
			perror(argv[2]);
			return 2;
		}
		make_sysroot(argv[2]);
		return 0;
	}
	if (argc != 1) {
		fprintf(stderr, "usage: %s [--make-sysroot DIR]\n", argv[0]);
		return 2;
	}
	test_parse_size();
	test_format_size();
	test_strerror();
	test_patterns();
	test_json();
	tmp_root(root, sizeof(root));
	make_sysroot(root);
	test_pools(root);
	test_sysfs_info(root);
	test_report(root);
	test_buffers(root);
	test_report_list(root);
	rm_tree(root);
	test_empty_root();
	test_no_buffers();

	printf("unit-tests: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
