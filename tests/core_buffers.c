// SPDX-License-Identifier: GPL-2.0
/*
 * core_buffers.c - several buffers: from parameters, on NUMA nodes, added
 * and removed at run time through /dev/hpage_map-control
 *
 * hpage-map-profiles: numa 1g
 * hpage-map-tier: load
 *
 * Checks, with the hugetlb pool counters exact (every size, and per node in
 * the numa profile) after every step:
 *  - nr_pages, page_size and numa_node lists make one buffer per entry:
 *    /dev/hpage_map, /dev/hpage_map1, ..., each with its own sysfs directory
 *    (id and the attributes of buffer 0), GET_INFO id, its own pages (no
 *    physical page shared, data written to one never seen in another) and
 *    its own name in /proc/PID/maps; missing and empty entries take the
 *    default; 1 GiB and 2 MiB buffers side by side (1g profile);
 *  - a load is all or nothing: one buffer that cannot be had (pool short,
 *    bad page size, nr_pages 0, more page_size or numa_node entries than
 *    nr_pages, more than 8 buffers) fails the load, no counter moves, and
 *    the log names that buffer;
 *  - numa_node=N (numa profile): every page on node N (move_pages()), the
 *    node's free_hugepages lower by exactly the buffer's pages, GET_INFO
 *    and sysfs report N; a node whose pool is short is refused with ENOMEM
 *    and the per-node command while the other node has plenty; with node
 *    1's CPU offline the add is refused with the numactl hint, and works
 *    under a policy bound to node 1; an offline or out-of-range node is
 *    EINVAL;
 *  - /dev/hpage_map-control: root only (0600, CAP_SYS_ADMIN: EPERM
 *    without), ADD returns the lowest free id >= 1 and makes a working
 *    device, REMOVE gives every page back; bad requests (flags, reserved,
 *    nr_pages 0, page size, node, unknown ioctl, unknown id) get EINVAL,
 *    ENOTTY or ENOENT;
 *  - REMOVE is refused with EBUSY while an fd, a mapping only, a forked
 *    child's mapping, a dma-buf or a dma-buf's mapping exists, and works
 *    once it is gone; buffer 0 can be removed; removing one buffer leaves
 *    another one's mappings, data and pages alone; rmmod works after any
 *    adds and removes;
 *  - 1000 add -> map -> write -> remove cycles leave the pool exact.
 *
 * The numa profile runs every test (the ones that need no second node as
 * well); the 1g profile adds 1 GiB buffers beside 2 MiB ones, and leaves
 * out the cycles and what needs two nodes.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "hpm_test.h"
#include "kselftest_harness.h"

#define SZ_2M		(2UL << 20)
#define SZ_1G		(1UL << 30)
#define KB_2M		2048UL

static bool is_1g_profile(void)
{
	return hpm_page_size() == SZ_1G;
}

/* Number of online NUMA nodes with memory (node0, node1, ...). */
static int nr_nodes(void)
{
	char path[64];
	int n = 0;

	for (;;) {
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d", n);
		if (access(path, F_OK))
			return n;
		n++;
	}
}

static bool dev_exists(unsigned int id)
{
	char path[64];

	hpm_dev_path(path, sizeof(path), id);
	return !access(path, F_OK);
}

/* devtmpfs removes the node right after misc_deregister(); allow slack. */
static bool dev_gone(unsigned int id)
{
	for (int i = 0; i < 100; i++) {
		if (!dev_exists(id))
			return true;
		usleep(10000);
	}
	return false;
}

static int get_pages(int fd, uint64_t first, uint64_t count, uint64_t *addrs)
{
	struct hpage_map_pages req = {
		.first = first, .count = count, .addrs = (uintptr_t)addrs,
	};

	return ioctl(fd, HPAGE_MAP_IOC_GET_PAGES, &req) ? -errno : 0;
}

/* Node of each huge page of a mapping (move_pages() queries): 0 or -errno. */
static int page_nodes(void *map, unsigned long ps, unsigned long n, int *nodes)
{
	void *pages[64];

	if (n > 64)
		return -E2BIG;
	for (unsigned long i = 0; i < n; i++)
		pages[i] = (char *)map + i * ps;
	if (syscall(SYS_move_pages, 0, n, pages, NULL, nodes, 0) < 0)
		return -errno;
	return 0;
}

static long long node_free_2m(int node)
{
	return hpm_node_free(node, KB_2M);
}

/* Load with @params (finit_module, to see the errno): 0 or -errno. */
static int load(const char *params)
{
	int ret = hpm_ensure_unloaded();

	return ret ? ret : hpm_finit(params);
}

/*
 * Load failing with -@err: nothing loaded, no device, no counter moved;
 * the err-level log lines go to @log.
 */
#define EXPECT_LOAD_FAILS(params, err, log) do {				\
	struct hpm_counters __c0;						\
	int __kfd, __ret;							\
	ASSERT_EQ(0, hpm_ensure_unloaded());					\
	ASSERT_EQ(0, hpm_counters_read(&__c0));					\
	__kfd = hpm_kmsg_open();						\
	ASSERT_LE(0, __kfd);							\
	__ret = hpm_finit(params);						\
	EXPECT_EQ(-(err), __ret) TH_LOG("finit_module(\"%s\")", params);	\
	hpm_kmsg_collect(__kfd, 3, log, sizeof(log));				\
	close(__kfd);								\
	if (!__ret)								\
		hpm_ensure_unloaded();						\
	EXPECT_FALSE(hpm_module_loaded());					\
	EXPECT_FALSE(dev_exists(0));						\
	EXPECT_FALSE(dev_exists(1));						\
	HPM_EXPECT_POOL(&__c0, 0, 0, "failed load");				\
} while (0)

/* Pool counters: @base minus taken[i] pages of ps[i]. */
#define EXPECT_POOL_SIZES(base, ps, taken, n, stage) do {			\
	char __msg[1024];							\
	EXPECT_EQ(0, hpm_counters_diff_sizes(base, ps, taken, n, __msg,	\
					     sizeof(__msg)))			\
		TH_LOG("counters after %s: %s", stage, __msg);			\
} while (0)

/*
 * Check buffer @id as GET_INFO, sysfs and the device see it: @nr pages of
 * @ps, and its name in /proc/self/maps once mapped.
 */
static int check_buffer(struct __test_metadata *_metadata, unsigned int id,
			unsigned long nr, unsigned long ps)
{
	struct hpage_map_info info;
	unsigned long long v;
	char line[512], name[32];
	void *map;
	int fd;

	fd = hpm_open_id(id, O_RDWR);
	EXPECT_LE(0, fd) TH_LOG("open buffer %u: %s", id, strerror(errno));
	if (fd < 0)
		return -1;
	EXPECT_EQ(0, hpm_get_info(fd, &info));
	EXPECT_EQ(id, info.id);
	EXPECT_EQ(nr, info.nr_pages);
	EXPECT_EQ(ps, info.page_size);
	EXPECT_EQ((unsigned long long)nr * ps, info.size);
	EXPECT_EQ(0, info.flags);
	EXPECT_EQ(0, info.reserved32);
	EXPECT_EQ(0, info.reserved[0] | info.reserved[1] | info.reserved[2]);

	EXPECT_EQ(0, hpm_buf_ull(id, "id", &v));
	EXPECT_EQ(id, v);
	EXPECT_EQ(0, hpm_buf_ull(id, "nr_pages", &v));
	EXPECT_EQ(nr, v);
	EXPECT_EQ(0, hpm_buf_ull(id, "page_size", &v));
	EXPECT_EQ(ps, v);
	EXPECT_EQ(0, hpm_buf_ull(id, "size", &v));
	EXPECT_EQ((unsigned long long)nr * ps, v);
	EXPECT_EQ(0, hpm_buf_ull(id, "open_files", &v));
	EXPECT_EQ(1, v);
	EXPECT_EQ(0, hpm_buf_ull(id, "dma_bufs", &v));
	EXPECT_EQ(0, v);

	map = hpm_mmap(fd, 0, ps, PROT_READ | PROT_WRITE, MAP_SHARED);
	EXPECT_NE(MAP_FAILED, map);
	if (map != MAP_FAILED) {
		EXPECT_EQ(0, hpm_buf_ull(id, "mappings", &v));
		EXPECT_EQ(1, v);
		EXPECT_EQ(0, hpm_maps_line(map, line, sizeof(line)));
		/* The line ends with the name: "/hpage_map", "/hpage_map1" */
		if (id)
			snprintf(name, sizeof(name), "/%s%u", HPM_MOD_NAME, id);
		else
			snprintf(name, sizeof(name), "/%s", HPM_MOD_NAME);
		EXPECT_TRUE(strlen(line) >= strlen(name) &&
			    !strcmp(line + strlen(line) - strlen(name), name))
			TH_LOG("maps: %s", line);
		munmap(map, ps);
	}
	close(fd);
	return 0;
}

/*
 * Fill every buffer (ids 0 .. n - 1) with its own pattern, then check each
 * still holds its own, and that no physical page is in two buffers.
 */
static void check_independent(struct __test_metadata *_metadata,
			      const unsigned int *ids, int n)
{
	struct hpage_map_info info[8];
	uint64_t addrs[8][64];
	void *maps[8];
	int fds[8];

	ASSERT_GE(8, n);
	for (int b = 0; b < n; b++) {
		fds[b] = hpm_open_id(ids[b], O_RDWR);
		ASSERT_LE(0, fds[b]);
		ASSERT_EQ(0, hpm_get_info(fds[b], &info[b]));
		ASSERT_GE(64, info[b].nr_pages);
		maps[b] = hpm_mmap(fds[b], 0, info[b].size,
				   PROT_READ | PROT_WRITE, MAP_SHARED);
		ASSERT_NE(MAP_FAILED, maps[b]);
		hpm_fill(maps[b], info[b].size, 0, 0x1000 + ids[b]);
		ASSERT_EQ(0, get_pages(fds[b], 0, info[b].nr_pages, addrs[b]));
	}
	/* No physical page in two buffers. */
	for (int b = 0; b < n; b++)
		for (int a = 0; a < b; a++)
			for (uint64_t i = 0; i < info[b].nr_pages; i++)
				for (uint64_t j = 0; j < info[a].nr_pages; j++) {
					uint64_t s0 = addrs[b][i], e0 = s0 + info[b].page_size;
					uint64_t s1 = addrs[a][j], e1 = s1 + info[a].page_size;

					EXPECT_TRUE(e0 <= s1 || e1 <= s0)
						TH_LOG("buffer %u page %llu overlaps buffer %u page %llu",
						       ids[b], (unsigned long long)i,
						       ids[a], (unsigned long long)j);
				}
	/* Each kept its own data. */
	for (int b = 0; b < n; b++) {
		EXPECT_EQ(-1, hpm_check(maps[b], info[b].size, 0, 0x1000 + ids[b]))
			TH_LOG("buffer %u lost its data", ids[b]);
		munmap(maps[b], info[b].size);
		close(fds[b]);
	}
}

/* ------------------------------------------------------------------ */
/* buffers from parameters                                             */

/*
 * Three 2M buffers, one with an empty page_size entry; in the 1g profile a
 * 1G buffer beside two 2M ones.
 */
TEST(params_several_buffers)
{
	static const unsigned int ids[] = { 0, 1, 2 };
	unsigned long ps[3], nr[3];
	long long taken[3];
	struct hpm_counters c0;
	char params[160], buf[256];

	if (is_1g_profile()) {
		ps[0] = SZ_1G; ps[1] = SZ_2M; ps[2] = SZ_2M;
		nr[0] = 1; nr[1] = 3; nr[2] = 1;
		snprintf(params, sizeof(params),
			 "nr_pages=1,3,1 page_size=1G,2M,2M");
	} else {
		ps[0] = SZ_2M; ps[1] = SZ_2M; ps[2] = SZ_2M;
		nr[0] = 2; nr[1] = 3; nr[2] = 1;
		snprintf(params, sizeof(params),
			 "nr_pages=2,3,1 page_size=2M,,2M");
	}
	for (int i = 0; i < 3; i++)
		taken[i] = nr[i];
	ASSERT_EQ(0, hpm_ensure_unloaded());
	ASSERT_EQ(0, hpm_counters_read(&c0));
	ASSERT_EQ(0, load(params));
	EXPECT_POOL_SIZES(&c0, ps, taken, 3, "the load");
	for (unsigned int i = 0; i < 3; i++)
		check_buffer(_metadata, i, nr[i], ps[i]);
	EXPECT_FALSE(dev_exists(3));

	/* The parameters read back as given, the sizes as in use. */
	ASSERT_LT(0, hpm_read_file(HPM_SYS_PARAMS "/nr_pages", buf, sizeof(buf)));
	EXPECT_STREQ(is_1g_profile() ? "1,3,1\n" : "2,3,1\n", buf);
	ASSERT_LT(0, hpm_read_file(HPM_SYS_PARAMS "/page_size", buf, sizeof(buf)));
	snprintf(params, sizeof(params), "%lu,%lu,%lu\n", ps[0], ps[1], ps[2]);
	EXPECT_STREQ(params, buf);
	ASSERT_LT(0, hpm_read_file(HPM_SYS_PARAMS "/numa_node", buf, sizeof(buf)));
	EXPECT_STREQ("-1,-1,-1\n", buf);

	check_independent(_metadata, ids, 3);
	EXPECT_POOL_SIZES(&c0, ps, taken, 3, "mapping and writing");
	ASSERT_EQ(0, hpm_ensure_unloaded());
	HPM_EXPECT_POOL(&c0, 0, 0, "unload");
	EXPECT_FALSE(dev_exists(0));
	EXPECT_FALSE(dev_exists(1));
}

/* One entry as before: one device, the default page size, no /dev/hpage_map1. */
TEST(params_one_buffer_as_before)
{
	unsigned long dps = hpm_default_hpage_size();
	struct hpm_counters c0;

	ASSERT_EQ(0, hpm_ensure_unloaded());
	ASSERT_EQ(0, hpm_counters_read(&c0));
	ASSERT_EQ(0, load("nr_pages=2"));
	HPM_EXPECT_POOL(&c0, dps, 2, "the load");
	check_buffer(_metadata, 0, 2, dps);
	EXPECT_FALSE(dev_exists(1));
	EXPECT_EQ(0, access("/sys/class/misc/hpage_map-control", F_OK));
	ASSERT_EQ(0, hpm_ensure_unloaded());
	HPM_EXPECT_POOL(&c0, 0, 0, "unload");
}

/* A fixture only for the timeout: ten loads, slow on the debug kernel. */
FIXTURE(loads) {
	int unused;
};

FIXTURE_SETUP(loads)
{
}

FIXTURE_TEARDOWN(loads)
{
}

TEST_F_TIMEOUT(loads, params_all_or_nothing, 180)
{
	struct hpm_counters c;
	char params[160], log[4096];
	const struct hpm_pool *p;

	ASSERT_EQ(0, hpm_ensure_unloaded());
	ASSERT_EQ(0, hpm_counters_read(&c));
	p = hpm_pool_of(&c, SZ_2M);
	ASSERT_NE(NULL, p);

	/* Buffer 1 wants more than is free, buffer 0 fits. */
	snprintf(params, sizeof(params), "nr_pages=2,%lld page_size=2M,2M",
		 p->free - p->resv);
	EXPECT_LOAD_FAILS(params, ENOMEM, log);
	EXPECT_NE(NULL, strstr(log, "/dev/hpage_map1: cannot preallocate"))
		TH_LOG("log: %s", log);
	EXPECT_NE(NULL, strstr(log, "grow the pool: echo")) TH_LOG("log: %s", log);

	/* Buffer 2's page size does not exist. */
	EXPECT_LOAD_FAILS("nr_pages=1,1,1 page_size=2M,2M,3M", EINVAL, log);
	EXPECT_NE(NULL, strstr(log, "/dev/hpage_map2")) TH_LOG("log: %s", log);

	EXPECT_LOAD_FAILS("nr_pages=1,0", EINVAL, log);
	EXPECT_NE(NULL, strstr(log, "buffer 1")) TH_LOG("log: %s", log);
	EXPECT_LOAD_FAILS("nr_pages=1 page_size=2M,2M", EINVAL, log);
	EXPECT_LOAD_FAILS("nr_pages=1,1 numa_node=-1,-1,-1", EINVAL, log);
	EXPECT_LOAD_FAILS("nr_pages=1,1,1,1,1,1,1,1,1", EINVAL, log);
	EXPECT_LOAD_FAILS("nr_pages=1 numa_node=x", EINVAL, log);
	EXPECT_LOAD_FAILS("nr_pages=1,1 numa_node=0,4096", EINVAL, log);
	EXPECT_NE(NULL, strstr(log, "/dev/hpage_map1: numa_node=4096 is not an online node"))
		TH_LOG("log: %s", log);
	EXPECT_LOAD_FAILS("nr_pages=1 numa_node=-2", EINVAL, log);

	/* Eight buffers is the most parameters make. */
	ASSERT_EQ(0, hpm_counters_read(&c));
	ASSERT_EQ(0, load("nr_pages=1,1,1,1,1,1,1,1"));
	EXPECT_TRUE(dev_exists(7));
	HPM_EXPECT_POOL(&c, SZ_2M, 8, "eight buffers");
	ASSERT_EQ(0, hpm_ensure_unloaded());
	HPM_EXPECT_POOL(&c, 0, 0, "unload");
}

/* ------------------------------------------------------------------ */
/* NUMA placement                                                      */

static int cpu_online_set(int cpu, bool online)
{
	char path[96];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", cpu);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, online ? "1" : "0", 1) != 1)
		ret = -errno;
	close(fd);
	return ret;
}

FIXTURE(numa) {
	int nodes;
	unsigned long long nr1;		/* node 1's 2M nr_hugepages before */
};

FIXTURE_SETUP(numa)
{
	unsigned long long v = 0;

	self->nodes = nr_nodes();
	if (self->nodes < 2)
		SKIP(return, "one NUMA node (numa profile only)");
	ASSERT_EQ(0, hpm_ensure_unloaded());
	ASSERT_EQ(0, hpm_read_ullf(&v, "/sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages"));
	self->nr1 = v;
	ASSERT_LE(8, node_free_2m(0));
	ASSERT_LE(8, node_free_2m(1));
}

FIXTURE_TEARDOWN(numa)
{
	if (self->nodes >= 2) {
		cpu_online_set(1, true);
		hpm_ensure_unloaded();
		hpm_node_set_nr(1, KB_2M, self->nr1);
	}
}

static void check_nodes(struct __test_metadata *_metadata, unsigned int id,
			int node)
{
	struct hpage_map_info info;
	unsigned long long v = 0;
	int nodes[64];
	void *map;
	int fd;

	fd = hpm_open_id(id, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, hpm_get_info(fd, &info));
	EXPECT_EQ(node, info.numa_node);
	ASSERT_EQ(0, hpm_buf_ull(id, "numa_node", &v));
	EXPECT_EQ(node, (int)v);
	ASSERT_GE(64, info.nr_pages);
	map = hpm_mmap(fd, 0, info.size, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, map);
	hpm_touch(map, info.size);
	ASSERT_EQ(0, page_nodes(map, info.page_size, info.nr_pages, nodes));
	for (unsigned long i = 0; i < info.nr_pages; i++) {
		EXPECT_EQ(node, nodes[i]) TH_LOG("buffer %u page %lu", id, i);
	}
	munmap(map, info.size);
	close(fd);
}

TEST_F(numa, strict_placement_from_parameters)
{
	long long f0, f1;
	struct hpm_counters c0;

	HPM_SKIP_GUARD();
	ASSERT_EQ(0, hpm_counters_read(&c0));
	f0 = node_free_2m(0);
	f1 = node_free_2m(1);
	ASSERT_EQ(0, load("nr_pages=3,5 page_size=2M,2M numa_node=1,0"));
	EXPECT_EQ(f0 - 5, node_free_2m(0));
	EXPECT_EQ(f1 - 3, node_free_2m(1));
	HPM_EXPECT_POOL(&c0, SZ_2M, 8, "the load");
	check_nodes(_metadata, 0, 1);
	check_nodes(_metadata, 1, 0);
	EXPECT_EQ(f0 - 5, node_free_2m(0)) TH_LOG("mapping moved node 0's counters");
	ASSERT_EQ(0, hpm_ensure_unloaded());
	EXPECT_EQ(f0, node_free_2m(0));
	EXPECT_EQ(f1, node_free_2m(1));
	HPM_EXPECT_POOL(&c0, 0, 0, "unload");
}

TEST_F(numa, strict_placement_at_run_time)
{
	long long f0, f1, id;
	struct hpm_counters c0;
	int ctl;

	HPM_SKIP_GUARD();
	ASSERT_EQ(0, load("nr_pages=1"));
	ASSERT_EQ(0, hpm_counters_read(&c0));
	f0 = node_free_2m(0);
	f1 = node_free_2m(1);
	ctl = hpm_ctl_open();
	ASSERT_LE(0, ctl);
	id = hpm_ctl_add(ctl, 4, SZ_2M, 1);
	ASSERT_LT(0, id) TH_LOG("ADD: %s", strerror(-id));
	EXPECT_EQ(f0, node_free_2m(0));
	EXPECT_EQ(f1 - 4, node_free_2m(1));
	check_nodes(_metadata, id, 1);
	EXPECT_EQ(0, hpm_ctl_remove(ctl, id));
	EXPECT_EQ(f1, node_free_2m(1));
	HPM_EXPECT_POOL(&c0, 0, 0, "remove");
	close(ctl);
}

/* Node 1 is short while node 0 has plenty: refused, nothing taken. */
TEST_F(numa, short_node_refused)
{
	char log[4096], want[256];
	struct hpm_counters c0;
	long long f0, f1, id;
	int ctl, kfd;

	HPM_SKIP_GUARD();
	ASSERT_EQ(0, hpm_node_set_nr(1, KB_2M, 2));
	ASSERT_EQ(2, node_free_2m(1));
	ASSERT_LE(8, node_free_2m(0));
	f0 = node_free_2m(0);
	f1 = node_free_2m(1);

	EXPECT_LOAD_FAILS("nr_pages=3 numa_node=1", ENOMEM, log);
	snprintf(want, sizeof(want),
		 "grow its pool: echo 3 > /sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages");
	EXPECT_NE(NULL, strstr(log, want)) TH_LOG("log: %s", log);
	EXPECT_NE(NULL, strstr(log, "/dev/hpage_map: ")) TH_LOG("log: %s", log);
	EXPECT_EQ(f0, node_free_2m(0));
	EXPECT_EQ(f1, node_free_2m(1));

	/* Exactly what is free there works. */
	ASSERT_EQ(0, load("nr_pages=2 numa_node=1"));
	EXPECT_EQ(0, node_free_2m(1));
	EXPECT_EQ(f0, node_free_2m(0));
	check_nodes(_metadata, 0, 1);

	/* The control device refuses the same way. */
	ctl = hpm_ctl_open();
	ASSERT_LE(0, ctl);
	ASSERT_EQ(0, hpm_counters_read(&c0));
	kfd = hpm_kmsg_open();
	id = hpm_ctl_add(ctl, 1, SZ_2M, 1);
	EXPECT_EQ(-ENOMEM, id);
	hpm_kmsg_collect(kfd, 3, log, sizeof(log));
	close(kfd);
	snprintf(want, sizeof(want),
		 "grow its pool: echo 3 > /sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages");
	EXPECT_NE(NULL, strstr(log, want)) TH_LOG("log: %s", log);
	EXPECT_NE(NULL, strstr(log, "/dev/hpage_map1: ")) TH_LOG("log: %s", log);
	HPM_EXPECT_POOL(&c0, 0, 0, "refused ADD");
	EXPECT_EQ(f0, node_free_2m(0));
	/* Node 0 still works. */
	id = hpm_ctl_add(ctl, 2, SZ_2M, 0);
	EXPECT_EQ(1, id);
	EXPECT_EQ(f0 - 2, node_free_2m(0));
	if (id > 0)
		check_nodes(_metadata, id, 0);
	close(ctl);
}

/*
 * Node 1 without an online CPU (its one CPU offlined): from node 0 with no
 * policy the pages land on node 0, so the add is refused with the numactl
 * hint; under a policy bound to node 1 it works.
 */
TEST_F(numa, node_without_cpus)
{
	char log[4096];
	struct hpm_counters c0;
	long long f1;
	int ctl, kfd;
	pid_t pid;

	HPM_SKIP_GUARD();
	ASSERT_EQ(0, load("nr_pages=1 numa_node=0"));
	ctl = hpm_ctl_open();
	ASSERT_LE(0, ctl);
	if (cpu_online_set(1, false))
		SKIP(goto out, "cannot offline CPU 1");
	ASSERT_EQ(0, hpm_counters_read(&c0));
	f1 = node_free_2m(1);

	kfd = hpm_kmsg_open();
	EXPECT_EQ(-ENOMEM, hpm_ctl_add(ctl, 2, SZ_2M, 1));
	hpm_kmsg_collect(kfd, 3, log, sizeof(log));
	close(kfd);
	EXPECT_NE(NULL, strstr(log, "node 1 has no online CPU"))
		TH_LOG("log: %s", log);
	EXPECT_NE(NULL, strstr(log, "numactl --membind=1")) TH_LOG("log: %s", log);
	HPM_EXPECT_POOL(&c0, 0, 0, "refused ADD");
	EXPECT_EQ(f1, node_free_2m(1));

	pid = hpm_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		unsigned long mask = 1UL << 1;

		/* MPOL_BIND */
		if (syscall(SYS_set_mempolicy, 2, &mask, 8 * sizeof(mask)))
			_exit(10);
		_exit(hpm_ctl_add(ctl, 2, SZ_2M, 1) == 1 ? 0 : 11);
	}
	EXPECT_EQ(0, hpm_wait(pid));
	EXPECT_EQ(f1 - 2, node_free_2m(1));
	check_nodes(_metadata, 1, 1);
	EXPECT_EQ(0, hpm_ctl_remove(ctl, 1));
	HPM_EXPECT_POOL(&c0, 0, 0, "REMOVE");
out:
	cpu_online_set(1, true);
	close(ctl);
}

/* ------------------------------------------------------------------ */
/* the control device                                                  */

FIXTURE(ctl) {
	int ctl;
	struct hpm_counters c0;		/* after loading buffer 0 */
};

FIXTURE_SETUP(ctl)
{
	ASSERT_EQ(0, load("nr_pages=2 page_size=2M"));
	ASSERT_EQ(0, hpm_counters_read(&self->c0));
	self->ctl = hpm_ctl_open();
	ASSERT_LE(0, self->ctl);
}

FIXTURE_TEARDOWN(ctl)
{
	if (self->ctl >= 0)
		close(self->ctl);
	hpm_ensure_unloaded();
}

TEST_F(ctl, device_is_root_only)
{
	struct stat st;
	pid_t pid;

	ASSERT_EQ(0, stat(HPAGE_MAP_CONTROL_DEVICE, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(0, st.st_gid);

	/* A root fd without CAP_SYS_ADMIN is refused. */
	pid = hpm_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct __user_cap_header_struct hdr = {
			.version = _LINUX_CAPABILITY_VERSION_3,
		};
		struct __user_cap_data_struct data[2];
		uint32_t id = 0;

		memset(data, 0, sizeof(data));
		if (syscall(SYS_capset, &hdr, data))
			_exit(10);
		if (hpm_ctl_add(self->ctl, 1, 0, -1) != -EPERM)
			_exit(11);
		if (ioctl(self->ctl, HPAGE_MAP_CTL_REMOVE, &id) == 0 || errno != EPERM)
			_exit(12);
		_exit(0);
	}
	EXPECT_EQ(0, hpm_wait(pid));
	/* Another user cannot open it. */
	pid = hpm_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (setuid(65534))
			_exit(13);
		if (open(HPAGE_MAP_CONTROL_DEVICE, O_RDWR) >= 0 || errno != EACCES)
			_exit(14);
		_exit(0);
	}
	EXPECT_EQ(0, hpm_wait(pid));
	EXPECT_TRUE(dev_exists(0));
	EXPECT_FALSE(dev_exists(1));
	HPM_EXPECT_POOL(&self->c0, 0, 0, "refused requests");
}

TEST_F(ctl, add_and_remove)
{
	unsigned long dps = hpm_default_hpage_size();
	unsigned long ps[2] = { SZ_2M, SZ_1G };
	long long taken[2] = { 0, 0 };
	long long id;

	id = hpm_ctl_add(self->ctl, 3, 0, -1);
	ASSERT_EQ(1, id);
	check_buffer(_metadata, 1, 3, dps);
	HPM_EXPECT_POOL(&self->c0, dps, 3, "ADD 1");

	id = hpm_ctl_add(self->ctl, 1, SZ_2M, -1);
	ASSERT_EQ(2, id);
	check_buffer(_metadata, 2, 1, SZ_2M);
	taken[0] = 4;
	EXPECT_POOL_SIZES(&self->c0, ps, taken, 1, "ADD 2");

	/* The lowest free id is taken again. */
	EXPECT_EQ(0, hpm_ctl_remove(self->ctl, 1));
	EXPECT_TRUE(dev_gone(1));
	EXPECT_NE(0, access("/sys/class/misc/hpage_map1", F_OK));
	HPM_EXPECT_POOL(&self->c0, SZ_2M, 1, "REMOVE 1");
	EXPECT_EQ(-ENOENT, hpm_ctl_remove(self->ctl, 1));
	id = hpm_ctl_add(self->ctl, 2, SZ_2M, -1);
	EXPECT_EQ(1, id);
	HPM_EXPECT_POOL(&self->c0, SZ_2M, 3, "ADD 1 again");

	/* A 1 GiB buffer beside the 2 MiB ones. */
	if (is_1g_profile()) {
		id = hpm_ctl_add(self->ctl, 1, SZ_1G, -1);
		EXPECT_EQ(3, id);
		check_buffer(_metadata, 3, 1, SZ_1G);
		taken[0] = 3;
		taken[1] = 1;
		EXPECT_POOL_SIZES(&self->c0, ps, taken, 2, "ADD 1G");
		{
			static const unsigned int ids[] = { 0, 1, 2, 3 };

			check_independent(_metadata, ids, 4);
		}
		EXPECT_EQ(0, hpm_ctl_remove(self->ctl, 3));
	} else {
		static const unsigned int ids[] = { 0, 1, 2 };

		check_independent(_metadata, ids, 3);
	}
	HPM_EXPECT_POOL(&self->c0, SZ_2M, 3, "the 1G buffer removed");

	/* Buffer 0 can go too; new ids stay >= 1. */
	EXPECT_EQ(0, hpm_ctl_remove(self->ctl, 0));
	EXPECT_TRUE(dev_gone(0));
	HPM_EXPECT_POOL(&self->c0, SZ_2M, 1, "REMOVE 0");
	id = hpm_ctl_add(self->ctl, 1, SZ_2M, -1);
	EXPECT_EQ(3, id);
	EXPECT_EQ(0, hpm_ctl_remove(self->ctl, 1));
	EXPECT_EQ(0, hpm_ctl_remove(self->ctl, 2));
	EXPECT_EQ(0, hpm_ctl_remove(self->ctl, 3));
	HPM_EXPECT_POOL(&self->c0, SZ_2M, -2, "every buffer removed");

	/* rmmod with no buffer left. */
	close(self->ctl);
	self->ctl = -1;
	EXPECT_EQ(0, hpm_rmmod());
	EXPECT_FALSE(hpm_module_loaded());
	HPM_EXPECT_POOL(&self->c0, SZ_2M, -2, "unload");
}

TEST_F(ctl, bad_requests)
{
	struct hpage_map_ctl_add req;
	struct hpage_map_info info;
	char log[4096];
	int kfd;

	memset(&req, 0, sizeof(req));
	req.nr_pages = 1;
	req.numa_node = -1;
	req.flags = 1;
	EXPECT_EQ(-1, ioctl(self->ctl, HPAGE_MAP_CTL_ADD, &req));
	EXPECT_EQ(EINVAL, errno);
	req.flags = 0;
	for (unsigned int i = 0; i < 5; i++) {
		req.reserved[i] = 1;
		EXPECT_EQ(-1, ioctl(self->ctl, HPAGE_MAP_CTL_ADD, &req));
		EXPECT_EQ(EINVAL, errno) TH_LOG("reserved[%u]", i);
		req.reserved[i] = 0;
	}
	req.id = 77;	/* output only: ignored */
	EXPECT_EQ(0, ioctl(self->ctl, HPAGE_MAP_CTL_ADD, &req));
	EXPECT_EQ(1, req.id);
	EXPECT_EQ(0, hpm_ctl_remove(self->ctl, 1));

	EXPECT_EQ(-EINVAL, hpm_ctl_add(self->ctl, 0, 0, -1));
	EXPECT_EQ(-EINVAL, hpm_ctl_add(self->ctl, 1, 4096, -1));
	kfd = hpm_kmsg_open();
	EXPECT_EQ(-EINVAL, hpm_ctl_add(self->ctl, 1, 3UL << 20, -1));
	hpm_kmsg_collect(kfd, 3, log, sizeof(log));
	close(kfd);
	EXPECT_NE(NULL, strstr(log, "is not a huge page size of this kernel"))
		TH_LOG("log: %s", log);
	EXPECT_EQ(-EINVAL, hpm_ctl_add(self->ctl, 1, 0, -2));
	EXPECT_EQ(-EINVAL, hpm_ctl_add(self->ctl, 1, 0, 4096));
	EXPECT_EQ(-EINVAL, hpm_ctl_add(self->ctl, 1, 0, nr_nodes()));
	/* More than memory holds: the pool is short. */
	EXPECT_EQ(-ENOMEM, hpm_ctl_add(self->ctl, 1ULL << 40, SZ_2M, -1));
	EXPECT_EQ(-ENOMEM, hpm_ctl_add(self->ctl, ~0ULL, SZ_2M, -1));

	EXPECT_EQ(-ENOENT, hpm_ctl_remove(self->ctl, 1));
	EXPECT_EQ(-ENOENT, hpm_ctl_remove(self->ctl, ~0U));
	EXPECT_EQ(-1, ioctl(self->ctl, HPAGE_MAP_CTL_ADD, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->ctl, HPAGE_MAP_CTL_REMOVE, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->ctl, HPAGE_MAP_IOC_GET_INFO, &info));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->ctl, _IO(HPAGE_MAP_IOC_MAGIC, 0x1f)));
	EXPECT_EQ(ENOTTY, errno);
	/* A buffer's device knows no control ioctl. */
	{
		int fd = hpm_open_id(0, O_RDWR);

		ASSERT_LE(0, fd);
		EXPECT_EQ(-ENOTTY, hpm_ctl_add(fd, 1, 0, -1));
		close(fd);
	}
	EXPECT_FALSE(dev_exists(1));
	HPM_EXPECT_POOL(&self->c0, 0, 0, "refused requests");
}

/* ------------------------------------------------------------------ */
/* removal while in use                                                */

enum holder { BY_FD, BY_MAPPING, BY_CHILD, BY_DMABUF, BY_DMABUF_MAP, NR_HOLDERS };

static const char *const holder_name[] = {
	"an fd", "a mapping only", "a forked child's mapping", "a dma-buf",
	"a dma-buf's mapping only",
};

TEST_F(ctl, remove_refused_while_used)
{
	for (int h = 0; h < NR_HOLDERS; h++) {
		int fd, dmabuf = -1, pipefd[2] = { -1, -1 };
		void *map = MAP_FAILED, *dmap = MAP_FAILED;
		unsigned long long v = 0;
		long long id;
		pid_t child = -1;
		char c = 0;

		id = hpm_ctl_add(self->ctl, 2, SZ_2M, -1);
		ASSERT_EQ(1, id);
		fd = hpm_open_id(id, O_RDWR);
		ASSERT_LE(0, fd);
		switch (h) {
		case BY_FD:
			break;
		case BY_MAPPING:
		case BY_CHILD:
			map = hpm_mmap(fd, 0, 2 * SZ_2M, PROT_READ | PROT_WRITE,
				       MAP_SHARED);
			ASSERT_NE(MAP_FAILED, map);
			hpm_fill(map, 2 * SZ_2M, 0, 7);
			close(fd);
			fd = -1;
			if (h == BY_CHILD) {
				ASSERT_EQ(0, pipe(pipefd));
				child = hpm_fork();
				ASSERT_LE(0, child);
				if (child == 0) {
					close(pipefd[1]);
					if (read(pipefd[0], &c, 1) < 0)
						_exit(2);
					_exit(hpm_check(map, 2 * SZ_2M, 0, 7) == -1 ? 0 : 1);
				}
				close(pipefd[0]);
				munmap(map, 2 * SZ_2M);
				map = MAP_FAILED;
			}
			break;
		case BY_DMABUF:
		case BY_DMABUF_MAP:
			dmabuf = hpm_export(fd, 0, SZ_2M, O_RDWR);
			ASSERT_LE(0, dmabuf);
			close(fd);
			fd = -1;
			EXPECT_EQ(0, hpm_buf_ull(id, "dma_bufs", &v));
			EXPECT_EQ(1, v);
			if (h == BY_DMABUF_MAP) {
				dmap = mmap(NULL, SZ_2M, PROT_READ | PROT_WRITE,
					    MAP_SHARED, dmabuf, 0);
				ASSERT_NE(MAP_FAILED, dmap);
				close(dmabuf);
				dmabuf = -1;
			}
			break;
		}
		EXPECT_EQ(-EBUSY, hpm_ctl_remove(self->ctl, id))
			TH_LOG("REMOVE while %s", holder_name[h]);
		EXPECT_TRUE(dev_exists(id));
		HPM_EXPECT_POOL(&self->c0, SZ_2M, 2, "refused REMOVE");

		if (fd >= 0)
			close(fd);
		if (map != MAP_FAILED)
			munmap(map, 2 * SZ_2M);
		if (dmap != MAP_FAILED)
			munmap(dmap, SZ_2M);
		if (dmabuf >= 0)
			close(dmabuf);
		if (child > 0) {
			EXPECT_EQ(-EBUSY, hpm_ctl_remove(self->ctl, id));
			close(pipefd[1]);
			EXPECT_EQ(0, hpm_wait(child)) TH_LOG("child lost data");
		}
		EXPECT_EQ(0, hpm_ctl_remove(self->ctl, id))
			TH_LOG("REMOVE after %s went", holder_name[h]);
		EXPECT_TRUE(dev_gone(id));
		HPM_EXPECT_POOL(&self->c0, 0, 0, "REMOVE");
	}
}

/* Removing one buffer leaves another's mapping, data and pages alone. */
TEST_F(ctl, remove_leaves_others_alone)
{
	uint64_t before[2], after[2];
	long long a, b;
	int fa, fb, dmabuf;
	void *map;

	a = hpm_ctl_add(self->ctl, 2, SZ_2M, -1);
	b = hpm_ctl_add(self->ctl, 2, SZ_2M, -1);
	ASSERT_EQ(1, a);
	ASSERT_EQ(2, b);
	fa = hpm_open_id(a, O_RDWR);
	ASSERT_LE(0, fa);
	map = hpm_mmap(fa, 0, 2 * SZ_2M, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, map);
	hpm_fill(map, 2 * SZ_2M, 0, 11);
	ASSERT_EQ(0, get_pages(fa, 0, 2, before));
	dmabuf = hpm_export(fa, 0, 2 * SZ_2M, O_RDWR);
	ASSERT_LE(0, dmabuf);

	/* b is in use too, then not. */
	fb = hpm_open_id(b, O_RDWR);
	ASSERT_LE(0, fb);
	EXPECT_EQ(-EBUSY, hpm_ctl_remove(self->ctl, b));
	close(fb);
	EXPECT_EQ(-EBUSY, hpm_ctl_remove(self->ctl, a));
	EXPECT_EQ(0, hpm_ctl_remove(self->ctl, b));
	EXPECT_EQ(0, hpm_ctl_remove(self->ctl, 0));
	HPM_EXPECT_POOL(&self->c0, SZ_2M, 0, "two removed");

	EXPECT_EQ(-1, hpm_check(map, 2 * SZ_2M, 0, 11));
	ASSERT_EQ(0, get_pages(fa, 0, 2, after));
	EXPECT_EQ(before[0], after[0]);
	EXPECT_EQ(before[1], after[1]);
	close(dmabuf);
	munmap(map, 2 * SZ_2M);
	close(fa);
	EXPECT_EQ(0, hpm_ctl_remove(self->ctl, a));
	HPM_EXPECT_POOL(&self->c0, SZ_2M, -2, "all removed");
}

/* Unloading removes whatever was added, if nothing uses it. */
TEST_F(ctl, rmmod_after_adds_and_removes)
{
	struct hpm_counters c;
	int fd;

	close(self->ctl);
	ASSERT_EQ(0, hpm_ensure_unloaded());
	ASSERT_EQ(0, hpm_counters_read(&c));
	ASSERT_EQ(0, load("nr_pages=1,1"));
	self->ctl = hpm_ctl_open();
	ASSERT_LE(0, self->ctl);
	EXPECT_EQ(2, hpm_ctl_add(self->ctl, 1, SZ_2M, -1));
	EXPECT_EQ(3, hpm_ctl_add(self->ctl, 2, SZ_2M, -1));
	EXPECT_EQ(0, hpm_ctl_remove(self->ctl, 1));
	EXPECT_EQ(0, hpm_ctl_remove(self->ctl, 2));
	EXPECT_EQ(1, hpm_ctl_add(self->ctl, 1, SZ_2M, -1));

	/* An open buffer keeps the module; so does the control fd. */
	fd = hpm_open_id(3, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_TRUE(hpm_busy_errno(hpm_rmmod()));
	close(fd);
	EXPECT_TRUE(hpm_busy_errno(hpm_rmmod()));
	close(self->ctl);
	self->ctl = -1;
	EXPECT_EQ(0, hpm_ensure_unloaded());
	EXPECT_FALSE(hpm_module_loaded());
	HPM_EXPECT_POOL(&c, 0, 0, "unload");
	for (unsigned int id = 0; id < 4; id++) {
		EXPECT_TRUE(dev_gone(id)) TH_LOG("/dev node of buffer %u left", id);
	}
}

/* 1000 buffers come and go; the pool ends exactly as it began. */
TEST_F_TIMEOUT(ctl, add_map_remove_cycles, 600)
{
	if (is_1g_profile())
		SKIP(return, "2 MiB cycles run in the numa profile");
	for (int i = 0; i < 1000; i++) {
		long long id = hpm_ctl_add(self->ctl, 1, SZ_2M, -1);
		int fd;
		void *map;

		ASSERT_EQ(1, id) TH_LOG("cycle %d: ADD %s", i, strerror(-id));
		fd = hpm_open_id(id, O_RDWR);
		ASSERT_LE(0, fd) TH_LOG("cycle %d", i);
		map = hpm_mmap(fd, 0, SZ_2M, PROT_READ | PROT_WRITE, MAP_SHARED);
		ASSERT_NE(MAP_FAILED, map) TH_LOG("cycle %d", i);
		/* A fresh buffer is zeroed: the last one's data is gone. */
		ASSERT_EQ(-1, hpm_check_zero(map, 4096)) TH_LOG("cycle %d", i);
		memset(map, 0xa5, 4096);
		munmap(map, SZ_2M);
		close(fd);
		ASSERT_EQ(0, hpm_ctl_remove(self->ctl, id)) TH_LOG("cycle %d", i);
	}
	HPM_EXPECT_POOL(&self->c0, 0, 0, "1000 cycles");
}

TEST_HARNESS_MAIN
