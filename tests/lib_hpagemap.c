// SPDX-License-Identifier: GPL-2.0
/*
 * lib_hpagemap.c - libhpagemap (userspace/lib) against the real driver
 *
 * hpage-map-profiles: default 1g numa
 * hpage-map-debug-profiles: default
 * hpage-map-libs: -Iuserspace/lib userspace/lib/device.c userspace/lib/sysfs.c userspace/lib/util.c
 *
 * The library is compiled into this binary from its sources (the line
 * above), so the test needs nothing but the static binary in the guest.
 *
 *  - without the module: hpagemap_open() is -ENOENT and its message says
 *    `modprobe hpage_map`; hpagemap_sysfs_info() is -ENOENT;
 *  - hpagemap_pools() equals every hugepages-*kB counter, and the per-node
 *    pools add up to the system's;
 *  - hpagemap_pool_check() says -ENOMEM for one page more than the pool
 *    has free, with the same `echo N > .../nr_hugepages` command the driver
 *    logs when that load fails; running the command makes the load work;
 *  - loading takes nr_pages from the free pools, all from info.numa_node
 *    when it is >= 0, and unloading gives them back;
 *  - hpagemap_get_info() agrees with sysfs and the profile; the node is a
 *    0600 root character device;
 *  - hpagemap_map(): whole buffer and single pages, aligned, KernelPageSize
 *    is the huge page size, counted in sysfs `mappings`; argument errors;
 *    data written by one process is read by another after the first exited;
 *  - hpagemap_phys(): aligned, distinct, non-zero; -EPERM without
 *    CAP_SYS_ADMIN even on an open fd; -EINVAL out of range;
 *  - a non-root user without access: -EACCES naming group hpage, while
 *    hpagemap_sysfs_info() still describes the buffer;
 *  - hpagemap_export(): a dma-buf of the buffer or one page, mapped
 *    aligned by hpagemap_map_dmabuf() as a huge page mapping of the same
 *    memory; the module cannot be unloaded while it lives; errors;
 *  - several buffers: nr_pages=2,2 gives two, hpagemap_list() and
 *    hpagemap_open_id() see them with their own memory, counters and
 *    parameters; hpagemap_add() / hpagemap_remove() take and give back
 *    exactly their pages, ids are the lowest free, a remove is -EBUSY
 *    while an fd, a mapping or a dma-buf exists, -ENODEV for an unknown id,
 *    -EPERM for a user; buffer 0 can go too; numa_node= and a node given
 *    to hpagemap_add() put every page on that node.
 */
#include "hpm_test.h"

#include <grp.h>

#include "hpagemap.h"

#define SZ_2M	(2ULL << 20)

static char last_msg[256];

/* Drop every privilege in this (forked) process: uid/gid nobody. */
static int become_nobody(void)
{
	if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
		return -errno;
	return 0;
}

/* The pool of @size with node @node in @pools, or NULL. */
static const struct hpagemap_pool *find_pool(const struct hpagemap_pool *pools,
					     int n, uint64_t size, int node)
{
	for (int i = 0; i < n; i++)
		if (pools[i].page_size == size && pools[i].node == node)
			return &pools[i];
	return NULL;
}

TEST(not_loaded)
{
	struct hpagemap_info info;
	struct hpagemap *hp = (struct hpagemap *)1;

	ASSERT_EQ(0, hpm_ensure_unloaded());
	EXPECT_FALSE(hpagemap_module_loaded(NULL));
	EXPECT_EQ(-ENOENT, hpagemap_open(&hp, NULL, O_RDWR));
	EXPECT_EQ(NULL, hp);
	EXPECT_NE(NULL, strstr(hpagemap_strerror(-ENOENT), "modprobe hpage_map"));
	EXPECT_EQ(-ENOENT, hpagemap_sysfs_info(NULL, &info));
	EXPECT_EQ(-EINVAL, hpagemap_open(&hp, NULL, O_WRONLY));
}

TEST(pools_match_sysfs)
{
	struct hpagemap_pool pools[64];
	struct hpm_counters c;
	int n, nodes = 0;

	ASSERT_EQ(0, hpm_counters_read(&c));
	n = hpagemap_pools(NULL, pools, 64);
	ASSERT_GE(n, c.n);
	ASSERT_LE(n, 64);
	EXPECT_EQ(c.mi_size_kb * 1024, (long long)hpagemap_default_page_size(NULL));

	for (int i = 0; i < c.n; i++) {
		uint64_t size = (uint64_t)c.pool[i].kb * 1024;
		const struct hpagemap_pool *p = find_pool(pools, n, size, -1);
		long long total = 0, free = 0, surplus = 0;
		int per_node = 0;

		ASSERT_NE(NULL, p) TH_LOG("no system pool of %lu kB", c.pool[i].kb);
		EXPECT_EQ(c.pool[i].nr, p->total);
		EXPECT_EQ(c.pool[i].free, p->free);
		EXPECT_EQ(c.pool[i].resv, p->reserved);
		EXPECT_EQ(c.pool[i].surp, p->surplus);
		EXPECT_EQ(c.mi_size_kb == (long long)c.pool[i].kb, p->is_default);
		for (int j = 0; j < n; j++) {
			if (pools[j].page_size != size || pools[j].node < 0)
				continue;
			per_node++;
			total += pools[j].total;
			free += pools[j].free;
			surplus += pools[j].surplus;
			EXPECT_EQ(-1, pools[j].reserved);
		}
		if (per_node) {
			EXPECT_EQ(p->total, total);
			EXPECT_EQ(p->free, free);
			EXPECT_EQ(p->surplus, surplus);
		}
		nodes = per_node;
	}
	/* numa profile: two nodes */
	if (!strcmp(getenv("HPM_PROFILE") ?: "", "numa"))
		EXPECT_EQ(2, nodes);
}

/*
 * The library's command to grow the pool is the driver's: a load of one
 * page more than is free fails with that command in the kernel log.
 * Always 2M pages (every profile has a 2M pool; 1G ones cannot grow).
 */
TEST(pool_check_matches_driver)
{
	char cmd[256], log[4096], params[64], path[128];
	struct hpagemap_pool pool;
	long long avail, want;
	int kmsg;

	ASSERT_EQ(0, hpm_ensure_unloaded());
	ASSERT_EQ(0, hpagemap_pool_of(NULL, SZ_2M, &pool));
	avail = pool.free - pool.reserved;
	ASSERT_GT(avail, 8);
	EXPECT_EQ(0, hpagemap_pool_check(NULL, SZ_2M, avail, cmd, sizeof(cmd)));
	EXPECT_STREQ("", cmd);
	ASSERT_EQ(-ENOMEM, hpagemap_pool_check(NULL, SZ_2M, avail + 1, cmd,
					       sizeof(cmd)));
	want = pool.total + 1;
	snprintf(path, sizeof(path), "echo %lld > /sys/kernel/mm/hugepages/"
		 "hugepages-2048kB/nr_hugepages", want);
	EXPECT_STREQ(path, cmd);
	EXPECT_EQ(-EINVAL, hpagemap_pool_check(NULL, 3 << 20, 1, NULL, 0));

	kmsg = hpm_kmsg_open();
	ASSERT_GE(kmsg, 0);
	snprintf(params, sizeof(params), "nr_pages=%lld page_size=2M", avail + 1);
	EXPECT_EQ(-ENOMEM, hpm_finit(params));
	hpm_kmsg_collect(kmsg, 3, log, sizeof(log));
	close(kmsg);
	EXPECT_NE(NULL, strstr(log, cmd)) TH_LOG("kernel log: %s", log);

	/* the command works */
	ASSERT_EQ(0, system(cmd));
	EXPECT_EQ(0, hpagemap_pool_check(NULL, SZ_2M, avail + 1, NULL, 0));
	EXPECT_EQ(0, hpm_finit(params));
	EXPECT_EQ(0, hpm_ensure_unloaded());
	snprintf(cmd, sizeof(cmd), "echo %lld > /sys/kernel/mm/hugepages/"
		 "hugepages-2048kB/nr_hugepages", pool.total);
	EXPECT_EQ(0, system(cmd));
}

/* Loading takes nr_pages out of the pools, from info.numa_node if >= 0. */
TEST(load_takes_pages_per_node)
{
	struct hpagemap_pool before[64], after[64];
	struct hpagemap_info info;
	unsigned long ps = hpm_page_size(), nr = hpm_nr_pages();
	long long taken = 0;
	int n, m;

	ASSERT_EQ(0, hpm_ensure_unloaded());
	n = hpagemap_pools(NULL, before, 64);
	ASSERT_GT(n, 0);
	ASSERT_EQ(0, hpagemap_pool_check(NULL, ps, nr, NULL, 0));
	ASSERT_EQ(0, hpm_ensure_profile_loaded());
	m = hpagemap_pools(NULL, after, 64);
	ASSERT_EQ(n, m);
	ASSERT_EQ(0, hpagemap_sysfs_info(NULL, &info));
	for (int i = 0; i < n; i++) {
		long long d = before[i].free - after[i].free;

		ASSERT_EQ(before[i].page_size, after[i].page_size);
		ASSERT_EQ(before[i].node, after[i].node);
		EXPECT_EQ(before[i].total, after[i].total);
		if (before[i].page_size != ps) {
			EXPECT_EQ(0, d);
			continue;
		}
		if (before[i].node < 0) {
			EXPECT_EQ((long long)nr, d);
			continue;
		}
		taken += d;
		if (info.numa_node >= 0 && before[i].node != info.numa_node)
			EXPECT_EQ(0, d) TH_LOG("node %d gave %lld pages, but all "
					      "are on node %d", before[i].node,
					      d, info.numa_node);
	}
	if (find_pool(before, n, ps, 0))
		EXPECT_EQ((long long)nr, taken);
}

TEST(open_and_info)
{
	struct hpagemap_info info, sys;
	unsigned long long v;
	struct hpagemap *hp;

	ASSERT_EQ(0, hpm_ensure_profile_loaded());
	ASSERT_EQ(0, hpagemap_open(&hp, NULL, O_RDWR));
	EXPECT_GE(hpagemap_fd(hp), 0);
	EXPECT_EQ(hpm_page_size(), hpagemap_page_size(hp));
	EXPECT_EQ(hpm_nr_pages(), hpagemap_nr_pages(hp));
	EXPECT_EQ(hpm_page_size() * hpm_nr_pages(), hpagemap_size(hp));

	ASSERT_EQ(0, hpagemap_get_info(hp, &info));
	EXPECT_FALSE(info.from_sysfs);
	EXPECT_EQ(hpagemap_size(hp), info.size);
	EXPECT_EQ(hpm_page_size(), info.page_size);
	EXPECT_EQ(hpm_nr_pages(), info.nr_pages);
	ASSERT_EQ(0, hpm_class_ull("numa_node", &v));
	EXPECT_EQ((int)v, info.numa_node);
	EXPECT_EQ(0, info.mappings);
	EXPECT_GE(info.open_files, 1);
	EXPECT_EQ((long long)hpm_nr_pages(), info.param_nr_pages);
	EXPECT_EQ((long long)hpm_page_size(), info.param_page_size);
	EXPECT_STREQ(HPAGE_MAP_DEVICE, info.path);
	EXPECT_TRUE(info.node_present);
	EXPECT_TRUE(S_ISCHR(info.mode));
	EXPECT_EQ(0600, info.mode & 07777);
	EXPECT_EQ(0, info.uid);
	EXPECT_EQ(10, info.major);	/* a misc device */

	ASSERT_EQ(0, hpagemap_sysfs_info(NULL, &sys));
	EXPECT_TRUE(sys.from_sysfs);
	EXPECT_EQ(info.size, sys.size);
	EXPECT_EQ(info.page_size, sys.page_size);
	EXPECT_EQ(info.nr_pages, sys.nr_pages);
	EXPECT_EQ(info.numa_node, sys.numa_node);
	EXPECT_EQ(info.minor, sys.minor);
	EXPECT_EQ(info.open_files, sys.open_files);
	hpagemap_close(hp);
	hpagemap_close(NULL);
}

TEST(map_whole_and_pages)
{
	struct hpagemap *a, *b;
	uint64_t ps, size, nr;
	void *whole, *page;

	ASSERT_EQ(0, hpm_ensure_profile_loaded());
	ASSERT_EQ(0, hpagemap_open(&a, NULL, O_RDWR));
	ASSERT_EQ(0, hpagemap_open(&b, NULL, O_RDONLY));
	ps = hpagemap_page_size(a);
	size = hpagemap_size(a);
	nr = hpagemap_nr_pages(a);

	ASSERT_EQ(0, hpagemap_map(a, 0, 0, PROT_READ | PROT_WRITE, &whole));
	EXPECT_EQ(0, (uintptr_t)whole % ps);
	EXPECT_EQ((long long)ps / 1024, hpm_smaps_kb(whole, "KernelPageSize"));
	hpm_fill(whole, size, 0, 77);
	EXPECT_EQ(1, hpm_class_mappings());

	/* each page alone, read-only, through another open file */
	for (uint64_t i = 0; i < nr; i++) {
		ASSERT_EQ(0, hpagemap_map(b, i * ps, ps, PROT_READ, &page));
		EXPECT_EQ(0, (uintptr_t)page % ps);
		EXPECT_EQ(2, hpm_class_mappings());
		EXPECT_EQ(-1, hpm_check(page, ps, i * ps, 77));
		EXPECT_EQ(0, hpagemap_unmap(page, ps));
	}
	/* the last page, length 0: to the end */
	ASSERT_EQ(0, hpagemap_map(b, size - ps, 0, PROT_READ, &page));
	EXPECT_EQ(-1, hpm_check(page, ps, size - ps, 77));
	EXPECT_EQ(0, hpagemap_unmap(page, ps));

	EXPECT_EQ(0, hpagemap_unmap(whole, size));
	EXPECT_EQ(0, hpm_class_mappings());
	hpagemap_close(a);
	hpagemap_close(b);
}

TEST(map_errors)
{
	struct hpagemap *rw, *ro;
	uint64_t ps, size;
	void *p = (void *)1;

	ASSERT_EQ(0, hpm_ensure_profile_loaded());
	ASSERT_EQ(0, hpagemap_open(&rw, NULL, O_RDWR));
	ASSERT_EQ(0, hpagemap_open(&ro, NULL, O_RDONLY));
	ps = hpagemap_page_size(rw);
	size = hpagemap_size(rw);

	EXPECT_EQ(-EINVAL, hpagemap_map(rw, 4096, 0, PROT_READ, &p));
	EXPECT_EQ(NULL, p);
	EXPECT_EQ(-EINVAL, hpagemap_map(rw, 0, ps + 4096, PROT_READ, &p));
	EXPECT_EQ(-EINVAL, hpagemap_map(rw, 0, size + ps, PROT_READ, &p));
	EXPECT_EQ(-EINVAL, hpagemap_map(rw, size, 0, PROT_READ, &p));
	EXPECT_EQ(-EINVAL, hpagemap_map(rw, size - ps, 2 * ps, PROT_READ, &p));
	EXPECT_EQ(-EBADF, hpagemap_map(ro, 0, ps, PROT_READ | PROT_WRITE, &p));
	EXPECT_NE(NULL, strstr(hpagemap_strerror(-EINVAL), "multiples of the huge page size"));
	EXPECT_NE(NULL, strstr(hpagemap_strerror(-EBADF), "O_RDWR"));
	EXPECT_EQ(0, hpm_class_mappings());
	hpagemap_close(rw);
	hpagemap_close(ro);
}

/* What one process writes, another reads after the first has exited. */
TEST(data_outlives_the_writer)
{
	struct hpagemap *hp;
	void *p;
	pid_t pid;

	ASSERT_EQ(0, hpm_ensure_profile_loaded());
	pid = hpm_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (hpagemap_open(&hp, NULL, O_RDWR) ||
		    hpagemap_map(hp, 0, 0, PROT_READ | PROT_WRITE, &p))
			_exit(1);
		hpm_fill(p, hpagemap_size(hp), 0, 4242);
		_exit(0);	/* no unmap, no close: exit does it */
	}
	ASSERT_EQ(0, hpm_wait(pid));
	ASSERT_EQ(0, hpagemap_open(&hp, NULL, O_RDONLY));
	ASSERT_EQ(0, hpagemap_map(hp, 0, 0, PROT_READ, &p));
	EXPECT_EQ(-1, hpm_check(p, hpagemap_size(hp), 0, 4242));
	EXPECT_EQ(0, hpagemap_unmap(p, hpagemap_size(hp)));
	hpagemap_close(hp);
}

TEST(phys)
{
	uint64_t addrs[64], one, nr, ps;
	struct hpagemap *hp;
	pid_t pid;

	ASSERT_EQ(0, hpm_ensure_profile_loaded());
	ASSERT_EQ(0, hpagemap_open(&hp, NULL, O_RDONLY));
	nr = hpagemap_nr_pages(hp);
	ps = hpagemap_page_size(hp);
	ASSERT_LE(nr, 64);
	memset(addrs, 0, sizeof(addrs));
	ASSERT_EQ(0, hpagemap_phys(hp, 0, nr, addrs));
	for (uint64_t i = 0; i < nr; i++) {
		EXPECT_NE(0, addrs[i]);
		EXPECT_EQ(0, addrs[i] % ps);
		for (uint64_t j = 0; j < i; j++)
			EXPECT_NE(addrs[i], addrs[j]);
	}
	ASSERT_EQ(0, hpagemap_phys(hp, nr - 1, 1, &one));
	EXPECT_EQ(addrs[nr - 1], one);
	EXPECT_EQ(-EINVAL, hpagemap_phys(hp, nr, 1, &one));
	EXPECT_EQ(-EINVAL, hpagemap_phys(hp, 0, nr + 1, addrs));
	EXPECT_EQ(-EINVAL, hpagemap_phys(hp, 0, 0, addrs));

	/* an open fd is not enough: CAP_SYS_ADMIN is checked per call */
	pid = hpm_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (become_nobody())
			_exit(10);
		_exit(hpagemap_phys(hp, 0, 1, &one) == -EPERM ? 0 : 11);
	}
	EXPECT_EQ(0, hpm_wait(pid));
	EXPECT_NE(NULL, strstr(hpagemap_strerror(-EPERM), "CAP_SYS_ADMIN"));
	hpagemap_close(hp);
}

TEST(permission_denied)
{
	int status[2] = { -1, -1 };
	pid_t pid;
	int pipefd[2];

	ASSERT_EQ(0, hpm_ensure_profile_loaded());
	ASSERT_EQ(0, pipe(pipefd));
	pid = hpm_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct hpagemap_info info;
		struct hpagemap *hp;
		int r[2];

		close(pipefd[0]);
		if (become_nobody())
			_exit(10);
		r[0] = hpagemap_open(&hp, NULL, O_RDONLY);
		r[1] = hpagemap_sysfs_info(NULL, &info);
		if (!r[1] && info.size != hpm_page_size() * hpm_nr_pages())
			r[1] = -EIO;
		snprintf(last_msg, sizeof(last_msg), "%s", hpagemap_strerror(r[0]));
		if (write(pipefd[1], r, sizeof(r)) != sizeof(r) ||
		    write(pipefd[1], last_msg, sizeof(last_msg)) != sizeof(last_msg))
			_exit(12);
		_exit(0);
	}
	close(pipefd[1]);
	ASSERT_EQ(sizeof(status), read(pipefd[0], status, sizeof(status)));
	ASSERT_EQ(sizeof(last_msg), read(pipefd[0], last_msg, sizeof(last_msg)));
	close(pipefd[0]);
	EXPECT_EQ(0, hpm_wait(pid));
	EXPECT_EQ(-EACCES, status[0]);
	EXPECT_EQ(0, status[1]);
	EXPECT_NE(NULL, strstr(last_msg, "group 'hpage'")) TH_LOG("%s", last_msg);
}

TEST(export_dmabuf)
{
	struct hpagemap *hp, *ro;
	uint64_t ps, size, nr;
	void *dev, *buf;
	int fd, fd1;

	ASSERT_EQ(0, hpm_ensure_profile_loaded());
	ASSERT_EQ(0, hpagemap_open(&hp, NULL, O_RDWR));
	ps = hpagemap_page_size(hp);
	size = hpagemap_size(hp);
	nr = hpagemap_nr_pages(hp);
	ASSERT_EQ(0, hpagemap_map(hp, 0, 0, PROT_READ | PROT_WRITE, &dev));
	hpm_fill(dev, size, 0, 99);

	fd = hpagemap_export(hp, 0, 0, O_RDWR | O_CLOEXEC);
	ASSERT_GE(fd, 0) TH_LOG("%s", hpagemap_strerror(fd));
	EXPECT_EQ((off_t)size, lseek(fd, 0, SEEK_END));
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	ASSERT_EQ(0, hpagemap_map_dmabuf(fd, size, ps, PROT_READ | PROT_WRITE, &buf));
	EXPECT_EQ(0, (uintptr_t)buf % ps);
	EXPECT_EQ((long long)ps / 1024, hpm_smaps_kb(buf, "KernelPageSize"));
	EXPECT_EQ(-1, hpm_check(buf, size, 0, 99));
	/* written through the dma-buf, read through the device */
	hpm_fill(buf, size, 0, 100);
	EXPECT_EQ(-1, hpm_check(dev, size, 0, 100));

	/* the module is pinned while the dma-buf lives, even with no fd */
	hpagemap_close(hp);
	EXPECT_TRUE(hpm_busy_errno(hpm_rmmod()));

	/* the last page alone */
	ASSERT_EQ(0, hpagemap_open(&hp, NULL, O_RDWR));
	fd1 = hpagemap_export(hp, (nr - 1) * ps, ps, O_RDONLY);
	ASSERT_GE(fd1, 0);
	EXPECT_EQ((off_t)ps, lseek(fd1, 0, SEEK_END));
	EXPECT_EQ(0, fcntl(fd1, F_GETFD) & FD_CLOEXEC);
	{
		void *last;

		ASSERT_EQ(0, hpagemap_map_dmabuf(fd1, ps, ps, PROT_READ, &last));
		EXPECT_EQ(-1, hpm_check(last, ps, (nr - 1) * ps, 100));
		EXPECT_EQ(0, hpagemap_unmap(last, ps));
	}
	close(fd1);

	/* errors */
	EXPECT_EQ(-EINVAL, hpagemap_export(hp, 4096, ps, O_RDWR));
	EXPECT_EQ(-EINVAL, hpagemap_export(hp, 0, ps + 4096, O_RDWR));
	EXPECT_EQ(-EINVAL, hpagemap_export(hp, size, 0, O_RDWR));
	EXPECT_EQ(-EINVAL, hpagemap_export(hp, 0, 0, O_RDWR | O_NONBLOCK));
	ASSERT_EQ(0, hpagemap_open(&ro, NULL, O_RDONLY));
	EXPECT_EQ(-EBADF, hpagemap_export(ro, 0, 0, O_RDWR));
	fd1 = hpagemap_export(ro, 0, ps, O_RDONLY | O_CLOEXEC);
	EXPECT_GE(fd1, 0);
	close(fd1);
	{
		void *b2 = (void *)1;

		EXPECT_EQ(-EINVAL, hpagemap_map_dmabuf(fd, size, 3 * 4096,
						       PROT_READ, &b2));
		EXPECT_EQ(NULL, b2);
	}
	hpagemap_close(ro);
	hpagemap_close(hp);

	EXPECT_EQ(0, hpagemap_unmap(buf, size));
	EXPECT_EQ(0, hpagemap_unmap(dev, size));
	close(fd);
}

/* Two 2M buffers of 2 pages each from the module parameters. */
TEST(two_buffers_from_parameters)
{
	struct hpagemap_buffer bufs[8];
	struct hpagemap_info info;
	struct hpagemap *b0, *b1, *none = (struct hpagemap *)1;
	struct hpm_counters base;
	uint64_t phys0[2], phys1[2];
	void *p0, *p1;
	int n, dmabuf;

	ASSERT_EQ(0, hpm_ensure_unloaded());
	ASSERT_EQ(0, hpm_counters_read(&base));
	ASSERT_EQ(0, hpagemap_pool_check(NULL, SZ_2M, 4, NULL, 0));
	ASSERT_EQ(0, hpm_modprobe("nr_pages=2,2 page_size=2M,2M"));
	HPM_EXPECT_POOL(&base, SZ_2M, 4, "a load of two buffers");

	n = hpagemap_list(NULL, bufs, 8);
	ASSERT_EQ(2, n);
	for (int i = 0; i < n; i++) {
		EXPECT_EQ((unsigned int)i, bufs[i].id);
		EXPECT_EQ(2, bufs[i].nr_pages);
		EXPECT_EQ(SZ_2M, bufs[i].page_size);
		EXPECT_EQ(2 * SZ_2M, bufs[i].size);
		EXPECT_EQ(0, bufs[i].open_files);
		EXPECT_EQ(0, bufs[i].mappings);
		EXPECT_EQ(0, bufs[i].dma_bufs);
		EXPECT_EQ(0, bufs[i].hwpoisoned_pages);
	}
	EXPECT_STREQ(HPAGE_MAP_DEVICE, bufs[0].path);
	EXPECT_STREQ(HPAGE_MAP_DEVICE "1", bufs[1].path);

	ASSERT_EQ(0, hpagemap_open_id(&b0, 0, O_RDWR));
	ASSERT_EQ(0, hpagemap_open_id(&b1, 1, O_RDWR));
	EXPECT_EQ(0, hpagemap_id(b0));
	EXPECT_EQ(1, hpagemap_id(b1));
	EXPECT_EQ(2, hpagemap_nr_pages(b1));
	ASSERT_EQ(0, hpagemap_get_info(b1, &info));
	EXPECT_STREQ(HPAGE_MAP_DEVICE "1", info.path);
	EXPECT_EQ(1, info.open_files);
	EXPECT_EQ(2, info.param_nr_pages);
	EXPECT_EQ((long long)SZ_2M, info.param_page_size);
	ASSERT_EQ(0, hpagemap_sysfs_info_id(NULL, 1, &info));
	EXPECT_EQ(2 * SZ_2M, info.size);
	EXPECT_EQ(1, info.open_files);
	EXPECT_TRUE(info.node_present);
	EXPECT_EQ(-ENODEV, hpagemap_open_id(&none, 5, O_RDWR));
	EXPECT_EQ(NULL, none);
	EXPECT_EQ(-ENODEV, hpagemap_sysfs_info_id(NULL, 5, &info));

	/* two buffers, two memories */
	ASSERT_EQ(0, hpagemap_map(b0, 0, 0, PROT_READ | PROT_WRITE, &p0));
	ASSERT_EQ(0, hpagemap_map(b1, 0, 0, PROT_READ | PROT_WRITE, &p1));
	hpm_fill(p0, 2 * SZ_2M, 0, 10);
	hpm_fill(p1, 2 * SZ_2M, 0, 11);
	EXPECT_EQ(-1, hpm_check(p0, 2 * SZ_2M, 0, 10));
	EXPECT_EQ(-1, hpm_check(p1, 2 * SZ_2M, 0, 11));
	ASSERT_EQ(0, hpagemap_phys(b0, 0, 2, phys0));
	ASSERT_EQ(0, hpagemap_phys(b1, 0, 2, phys1));
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 2; j++)
			EXPECT_NE(phys0[i], phys1[j]);

	/* each buffer counts its own users */
	dmabuf = hpagemap_export(b1, 0, SZ_2M, O_RDWR | O_CLOEXEC);
	ASSERT_GE(dmabuf, 0);
	ASSERT_EQ(2, hpagemap_list(NULL, bufs, 8));
	EXPECT_EQ(1, bufs[0].open_files);
	EXPECT_EQ(1, bufs[0].mappings);
	EXPECT_EQ(0, bufs[0].dma_bufs);
	EXPECT_EQ(1, bufs[1].open_files);
	EXPECT_EQ(1, bufs[1].mappings);
	EXPECT_EQ(1, bufs[1].dma_bufs);
	close(dmabuf);
	EXPECT_EQ(0, hpagemap_unmap(p0, 2 * SZ_2M));
	EXPECT_EQ(0, hpagemap_unmap(p1, 2 * SZ_2M));
	hpagemap_close(b0);
	hpagemap_close(b1);

	ASSERT_EQ(0, hpm_ensure_unloaded());
	HPM_EXPECT_POOL(&base, SZ_2M, 0, "the unload of two buffers");
}

TEST(add_and_remove)
{
	struct hpagemap_buffer bufs[8];
	struct hpm_counters base;
	struct hpagemap_pool pool;
	struct hpagemap *hp;
	unsigned int id = 0, id2 = 0;
	void *p;
	int dmabuf;
	pid_t pid;

	ASSERT_EQ(0, hpm_ensure_unloaded());
	ASSERT_EQ(0, hpm_modprobe("nr_pages=2 page_size=2M"));
	ASSERT_EQ(0, hpm_counters_read(&base));

	ASSERT_EQ(0, hpagemap_add(3, SZ_2M, -1, &id));
	EXPECT_EQ(1, id);
	HPM_EXPECT_POOL(&base, SZ_2M, 3, "an add of 3 pages");
	ASSERT_EQ(2, hpagemap_list(NULL, bufs, 8));
	EXPECT_EQ(1, bufs[1].id);
	EXPECT_EQ(3, bufs[1].nr_pages);
	EXPECT_EQ(SZ_2M, bufs[1].page_size);
	/* page size 0: the default size (which may be 1G: a free page?) */
	if (!hpagemap_pool_check(NULL, 0, 1, NULL, 0)) {
		ASSERT_EQ(0, hpagemap_add(1, 0, -1, &id2));
		ASSERT_EQ(0, hpagemap_buffer_info(NULL, id2, &bufs[0]));
		EXPECT_EQ(hpagemap_default_page_size(NULL), bufs[0].page_size);
	} else {
		ASSERT_EQ(0, hpagemap_add(1, SZ_2M, -1, &id2));
	}
	EXPECT_EQ(2, id2);
	/* ids: the lowest free one */
	EXPECT_EQ(0, hpagemap_remove(1));
	ASSERT_EQ(0, hpagemap_add(3, SZ_2M, -1, &id));
	EXPECT_EQ(1, id);
	EXPECT_EQ(0, hpagemap_remove(2));
	HPM_EXPECT_POOL(&base, SZ_2M, 3, "add, remove, add");

	/* busy while an fd, a mapping or a dma-buf is left */
	ASSERT_EQ(0, hpagemap_open_id(&hp, 1, O_RDWR));
	EXPECT_EQ(-EBUSY, hpagemap_remove(1));
	EXPECT_NE(NULL, strstr(hpagemap_strerror(-EBUSY), "buffer in use"));
	ASSERT_EQ(0, hpagemap_map(hp, 0, SZ_2M, PROT_READ, &p));
	dmabuf = hpagemap_export(hp, 0, SZ_2M, O_RDONLY | O_CLOEXEC);
	ASSERT_GE(dmabuf, 0);
	hpagemap_close(hp);
	EXPECT_EQ(-EBUSY, hpagemap_remove(1));
	EXPECT_EQ(0, hpagemap_unmap(p, SZ_2M));
	EXPECT_EQ(-EBUSY, hpagemap_remove(1));
	close(dmabuf);
	EXPECT_EQ(0, hpagemap_remove(1));
	HPM_EXPECT_POOL(&base, SZ_2M, 0, "a remove");
	EXPECT_EQ(-ENODEV, hpagemap_remove(1));
	EXPECT_EQ(-ENODEV, hpagemap_remove(7));
	EXPECT_NE(NULL, strstr(hpagemap_strerror(-ENODEV), "hpage-map list"));

	/* refusals take nothing */
	EXPECT_EQ(-EINVAL, hpagemap_add(0, SZ_2M, -1, &id));
	EXPECT_EQ(-EINVAL, hpagemap_add(1, 3 << 20, -1, &id));
	EXPECT_EQ(-EINVAL, hpagemap_add(1, SZ_2M, 999, &id));
	ASSERT_EQ(0, hpagemap_pool_of(NULL, SZ_2M, &pool));
	EXPECT_EQ(-ENOMEM, hpagemap_add(pool.free + 1, SZ_2M, -1, &id));
	HPM_EXPECT_POOL(&base, SZ_2M, 0, "refused adds");
	ASSERT_EQ(1, hpagemap_list(NULL, bufs, 8));

	/* a user may neither add nor remove */
	pid = hpm_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (become_nobody())
			_exit(10);
		if (hpagemap_add(1, SZ_2M, -1, &id) != -EPERM)
			_exit(11);
		_exit(hpagemap_remove(0) == -EPERM ? 0 : 12);
	}
	EXPECT_EQ(0, hpm_wait(pid));

	/* buffer 0 too: then there is none, and all pages are back */
	EXPECT_EQ(0, hpagemap_remove(0));
	EXPECT_EQ(0, hpagemap_list(NULL, bufs, 8));
	EXPECT_EQ(-ENODEV, hpagemap_open_id(&hp, 0, O_RDONLY));
	HPM_EXPECT_POOL(&base, SZ_2M, -2, "the remove of buffer 0");
	EXPECT_TRUE(hpagemap_module_loaded(NULL));
	ASSERT_EQ(0, hpagemap_add(1, SZ_2M, -1, &id));
	EXPECT_EQ(1, id);
	ASSERT_EQ(0, hpm_ensure_unloaded());
}

/* numa_node=0,1 and a node for hpagemap_add(): every page there (numa profile). */
TEST(buffers_per_node)
{
	struct hpagemap_pool before[64], after[64];
	struct hpagemap_buffer bufs[8];
	unsigned int id = 0;
	int n;

	if (access("/sys/devices/system/node/node1", F_OK))
		SKIP(return, "one NUMA node");
	ASSERT_EQ(0, hpm_ensure_unloaded());
	n = hpagemap_pools(NULL, before, 64);
	ASSERT_GT(n, 0);
	for (int node = 0; node < 2; node++) {
		const struct hpagemap_pool *p = find_pool(before, n, SZ_2M, node);

		ASSERT_NE(NULL, p);
		if (p->free < 4)
			SKIP(return, "node %d has %lld free 2M pages, 4 needed",
			     node, p->free);
	}
	ASSERT_EQ(0, hpm_modprobe("nr_pages=2,2 page_size=2M,2M numa_node=0,1"));
	ASSERT_EQ(2, hpagemap_list(NULL, bufs, 8));
	EXPECT_EQ(0, bufs[0].numa_node);
	EXPECT_EQ(1, bufs[1].numa_node);
	ASSERT_EQ(0, hpagemap_add(2, SZ_2M, 1, &id));
	ASSERT_EQ(0, hpagemap_buffer_info(NULL, id, &bufs[2]));
	EXPECT_EQ(1, bufs[2].numa_node);
	ASSERT_EQ(n, hpagemap_pools(NULL, after, 64));
	EXPECT_EQ(2, find_pool(before, n, SZ_2M, 0)->free -
		     find_pool(after, n, SZ_2M, 0)->free);
	EXPECT_EQ(4, find_pool(before, n, SZ_2M, 1)->free -
		     find_pool(after, n, SZ_2M, 1)->free);
	/* strict: short on node 1 is ENOMEM, whatever node 0 has */
	EXPECT_EQ(-ENOMEM, hpagemap_add(find_pool(after, n, SZ_2M, 1)->free + 1,
					SZ_2M, 1, &id));
	ASSERT_EQ(0, hpm_ensure_unloaded());
}

/* Last: unloading gives every page back to the pools the library sees. */
TEST(unload_restores_pools)
{
	struct hpagemap_pool loaded[64], now[64];
	int n;

	ASSERT_EQ(0, hpm_ensure_profile_loaded());
	n = hpagemap_pools(NULL, loaded, 64);
	ASSERT_GT(n, 0);
	ASSERT_EQ(0, hpm_ensure_unloaded());
	ASSERT_EQ(n, hpagemap_pools(NULL, now, 64));
	for (int i = 0; i < n; i++) {
		long long back = now[i].free - loaded[i].free;

		if (now[i].page_size == hpm_page_size() && now[i].node < 0)
			EXPECT_EQ((long long)hpm_nr_pages(), back);
		EXPECT_EQ(now[i].total, now[i].free);
		if (now[i].node < 0)
			EXPECT_EQ(0, now[i].reserved);
	}
	EXPECT_FALSE(hpagemap_module_loaded(NULL));
}

TEST_HARNESS_MAIN
