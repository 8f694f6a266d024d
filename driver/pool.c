// SPDX-License-Identifier: GPL-2.0
/*
 * pool.c - the huge pages the driver owns
 *
 * Only exported interfaces are used: a private hugetlbfs instance of the
 * chosen page size, one file on it, and vfs_fallocate() to move pages from
 * the system's hugetlb pool into that file's page cache.  Mapping the file
 * later finds the pages there, so mappings never touch the pool counters.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs_context.h>
#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/hugetlb.h>
#include <linux/mount.h>
#include <linux/nodemask.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/workqueue.h>

#include "hpage_map_internal.h"

#ifdef HPM_HAVE_FOLIO_BATCH_H
#include <linux/folio_batch.h>
#else
#include <linux/pagevec.h>
#endif

#define HPM_HSTATE_DIR	"/sys/kernel/mm/hugepages"
#define HPM_MAX_SIZES	8

/* The huge page sizes this kernel supports, read from sysfs. */
struct hpm_page_sizes {
	struct dir_context ctx;
	unsigned long kb[HPM_MAX_SIZES];
	unsigned int nr;
};

static bool hpm_page_sizes_add(struct dir_context *ctx, const char *name,
			       int namelen, loff_t offset, u64 ino,
			       unsigned int d_type)
{
	struct hpm_page_sizes *sizes = container_of(ctx, struct hpm_page_sizes,
						    ctx);
	char entry[32];
	unsigned long kb;

	/* Entries are named hugepages-<size>kB. */
	if (namelen >= (int)sizeof(entry) || sizes->nr == HPM_MAX_SIZES)
		return true;
	memcpy(entry, name, namelen);
	entry[namelen] = '\0';
	if (sscanf(entry, "hugepages-%lukB", &kb) == 1)
		sizes->kb[sizes->nr++] = kb;
	return true;
}

static int hpm_page_sizes_read(struct hpm_page_sizes *sizes)
{
	struct file *dir;
	int ret;

	sizes->ctx.actor = hpm_page_sizes_add;
	sizes->ctx.pos = 0;
	sizes->nr = 0;
	dir = filp_open(HPM_HSTATE_DIR, O_RDONLY | O_DIRECTORY, 0);
	if (IS_ERR(dir))
		return PTR_ERR(dir);
	ret = iterate_dir(dir, &sizes->ctx);
	filp_close(dir, NULL);
	return ret;
}

static bool hpm_page_size_supported(const char *name, unsigned long page_size)
{
	struct hpm_page_sizes sizes;
	char list[HPM_MAX_SIZES * 12] = "";
	unsigned int i;

	/* Without sysfs, let hugetlbfs judge (it logs its own error). */
	if (hpm_page_sizes_read(&sizes) || !sizes.nr)
		return true;
	for (i = 0; i < sizes.nr; i++) {
		unsigned long kb = sizes.kb[i];

		if ((u64)kb * SZ_1K == page_size)
			return true;
		if (kb % SZ_1M == 0)
			scnprintf(list + strlen(list), sizeof(list) - strlen(list),
				  " %luG", kb / SZ_1M);
		else
			scnprintf(list + strlen(list), sizeof(list) - strlen(list),
				  " %luM", kb / SZ_1K);
	}
	pr_err("/dev/%s: page_size=%lu is not a huge page size of this kernel; supported:%s\n",
	       name, page_size, list);
	return false;
}

/* A private hugetlbfs instance: no user can reach it through a path. */
static int hpm_pool_mount(struct hpm_pool *pool, const char *name,
			  unsigned long page_size)
{
	struct file_system_type *type;
	struct fs_context *fc;
	struct vfsmount *mnt;
	char value[24];
	int ret;

	if (page_size && !hpm_page_size_supported(name, page_size))
		return -EINVAL;

	/*
	 * hugetlbfs is built in (bool Kconfig), so get_fs_type() takes no
	 * module reference that would need dropping.
	 */
	type = get_fs_type("hugetlbfs");
	if (!type) {
		pr_err("this kernel has no hugetlbfs: it needs CONFIG_HUGETLBFS=y\n");
		return -ENODEV;
	}
	fc = fs_context_for_mount(type, SB_KERNMOUNT);
	if (IS_ERR(fc))
		return PTR_ERR(fc);
	if (page_size) {
		snprintf(value, sizeof(value), "%lu", page_size);
#ifdef HPM_HAVE_PARSE_FS_STRING_LEN
		ret = vfs_parse_fs_string(fc, "pagesize", value, strlen(value));
#else
		ret = vfs_parse_fs_string(fc, "pagesize", value);
#endif
		if (ret) {
			put_fs_context(fc);
			return ret;
		}
	}
	mnt = fc_mount(fc);
	put_fs_context(fc);
	if (IS_ERR(mnt))
		return PTR_ERR(mnt);
	pool->mnt = mnt;
	/* hugetlbfs sets the block size to its huge page size. */
	pool->page_size = mnt->mnt_sb->s_blocksize;
	return 0;
}

static void hpm_pool_report_short(const struct hpm_pool *pool,
				  struct hstate *h, unsigned long free,
				  unsigned long total)
{
	unsigned long kb = huge_page_size(h) / SZ_1K, needed = pool->nr_pages;

	if (free >= needed)
		pr_err("/dev/%s: cannot preallocate %lu huge pages of %lu kB: %lu are free, but too few outside ZONE_MOVABLE and CMA (movablecore=, kernelcore=, hugetlb_cma=, hotplugged memory), and only those can stay pinned; grow the pool: echo %lu > /sys/kernel/mm/hugepages/hugepages-%lukB/nr_hugepages\n",
		       pool->name, needed, kb, free, total + needed, kb);
	else
		pr_err("/dev/%s: cannot preallocate %lu huge pages of %lu kB: %lu free; grow the pool: echo %lu > /sys/kernel/mm/hugepages/hugepages-%lukB/nr_hugepages\n",
		       pool->name, needed, kb, free, total + needed - free, kb);
}

/*
 * @held of the node's pages are the pool's own at this moment (about to be
 * given back): the node lacks pages that can be pinned.
 */
static void hpm_pool_report_node_short(const struct hpm_pool *pool,
				       struct hstate *h, unsigned long held)
{
	unsigned long kb = huge_page_size(h) / SZ_1K, needed = pool->nr_pages;
	int node = pool->numa_node;
	unsigned long total = READ_ONCE(h->nr_huge_pages_node[node]);
	unsigned long free = READ_ONCE(h->free_huge_pages_node[node]) + held;
	unsigned long more = needed > free ? needed - free : needed - held;

	pr_err("/dev/%s: cannot preallocate %lu huge pages of %lu kB on node %d: %lu free there (only pages outside ZONE_MOVABLE and CMA count); grow its pool: echo %lu > /sys/devices/system/node/node%d/hugepages/hugepages-%lukB/nr_hugepages\n",
	       pool->name, needed, kb, node, free, total + more, node, kb);
}

static long hpm_pool_fallocate(void *arg)
{
	struct hpm_pool *pool = arg;
	unsigned int pin_flags;
	long ret;

	pin_flags = memalloc_pin_save();
	ret = vfs_fallocate(pool->file, 0, 0, hpm_pool_bytes(pool));
	memalloc_pin_restore(pin_flags);
	return ret;
}

/*
 * hugetlb takes a page for a file from the nodes the allocating task's
 * memory policy names, by default the node of the CPU it runs on first and
 * then the others.  A worker on a CPU of the wanted node (with no policy
 * and no cpuset of its own) gets that node's pages first, whoever asks; a
 * node without CPUs can only be had under the caller's own policy
 * (numactl --membind).  hpm_pool_check_node() verifies the outcome.
 */
static long hpm_pool_fallocate_on(struct hpm_pool *pool)
{
	long ret;
	int cpu;

	if (pool->numa_node == NUMA_NO_NODE)
		return hpm_pool_fallocate(pool);
	/* The CPU stays online until the work is done. */
	cpus_read_lock();
	cpu = cpumask_any_and(cpumask_of_node(pool->numa_node),
			      cpu_online_mask);
	if (cpu < nr_cpu_ids)
		ret = work_on_cpu(cpu, hpm_pool_fallocate, pool);
	else
		ret = hpm_pool_fallocate(pool);
	cpus_read_unlock();
	return ret;
}

/*
 * Move the pages from the pool into the file.  hugetlbfs zeroes each page
 * as it allocates it, before anyone can map it.
 *
 * The driver pins its pages for as long as it lives, so it takes only
 * pages that may be pinned long-term: none in ZONE_MOVABLE or CMA.  Those
 * would make every long-term pin of the buffer (VFIO, RDMA, io_uring fixed
 * buffers) fail after a futile migration, and memory offlining spin.
 * hugetlb hands out no such page to a task in a memalloc_pin scope (as
 * for GUP's long-term pins).
 */
static int hpm_pool_fill(struct hpm_pool *pool)
{
	struct hstate *h = hstate_inode(file_inode(pool->file));
	int node = pool->numa_node;
	unsigned long free, total;
	long ret;

	/* Counted before: a failed fallocate holds pages until it is closed. */
	free = READ_ONCE(h->free_huge_pages) - READ_ONCE(h->resv_huge_pages);
	total = READ_ONCE(h->nr_huge_pages);
	/* More than all memory: no pool can ever hold it. */
	if (pool->nr_pages > totalram_pages() >> huge_page_order(h)) {
		hpm_pool_report_short(pool, h, free, total);
		return -ENOMEM;
	}
	/* Short on the node: take nothing, not even for a moment elsewhere. */
	if (node != NUMA_NO_NODE &&
	    READ_ONCE(h->free_huge_pages_node[node]) < pool->nr_pages &&
	    free >= pool->nr_pages) {
		hpm_pool_report_node_short(pool, h, 0);
		return -ENOMEM;
	}

	ret = hpm_pool_fallocate_on(pool);
	if (ret == -ENOSPC) {
		hpm_pool_report_short(pool, h, free, total);
		return -ENOMEM;
	}
	/* -EINTR: the loader was killed, nothing to tell it. */
	if (ret && ret != -EINTR)
		pr_err("/dev/%s: preallocating %lu huge pages failed: %ld\n",
		       pool->name, pool->nr_pages, ret);
	return ret;
}

/*
 * Hold a reference on every page.  A page with an extra reference cannot
 * be migrated (compaction, move_pages(), offlining), so the physical
 * addresses handed to devices stay valid while the module is loaded.
 */
static int hpm_pool_pin(struct hpm_pool *pool)
{
	struct address_space *mapping = pool->file->f_mapping;
	struct folio_batch batch;
	unsigned long n = 0;
	pgoff_t index = 0;
	unsigned int i;

	pool->folios = kvcalloc(pool->nr_pages, sizeof(*pool->folios),
				GFP_KERNEL);
	if (!pool->folios)
		return -ENOMEM;

	/* Walks in file order whatever unit the kernel indexes hugetlb in. */
	folio_batch_init(&batch);
	while (filemap_get_folios(mapping, &index, ULONG_MAX, &batch)) {
		for (i = 0; i < folio_batch_count(&batch); i++) {
			struct folio *folio = batch.folios[i];

			if (n == pool->nr_pages ||
			    folio_size(folio) != pool->page_size)
				continue;
			folio_get(folio);
			pool->folios[n++] = folio;
		}
		folio_batch_release(&batch);
		cond_resched();
	}
	if (n == pool->nr_pages)
		return 0;

	pr_err("/dev/%s: found %lu of %lu preallocated huge pages\n",
	       pool->name, n, pool->nr_pages);
	while (n)
		folio_put(pool->folios[--n]);
	kvfree(pool->folios);
	pool->folios = NULL;
	return -EIO;
}

static int hpm_pool_node(const struct hpm_pool *pool)
{
	int node = folio_nid(pool->folios[0]);
	unsigned long i;

	for (i = 1; i < pool->nr_pages; i++)
		if (folio_nid(pool->folios[i]) != node)
			return NUMA_NO_NODE;
	return node;
}

/* A buffer asked for on a node has every page there, or is not made. */
static int hpm_pool_check_node(struct hpm_pool *pool)
{
	struct hstate *h = hstate_inode(file_inode(pool->file));
	unsigned long i, on_node = 0;
	int node = pool->numa_node;

	if (node == NUMA_NO_NODE) {
		pool->numa_node = hpm_pool_node(pool);
		return 0;
	}
	for (i = 0; i < pool->nr_pages; i++)
		on_node += folio_nid(pool->folios[i]) == node;
	if (on_node == pool->nr_pages)
		return 0;
	if (cpumask_intersects(cpumask_of_node(node), cpu_online_mask))
		hpm_pool_report_node_short(pool, h, on_node);
	else
		pr_err("/dev/%s: node %d has no online CPU, so its pages only go to a loader whose memory policy binds it there: run it under numactl --membind=%d\n",
		       pool->name, node, node);
	return -ENOMEM;
}

static void hpm_pool_unpin(struct hpm_pool *pool)
{
	unsigned long i;

	for (i = 0; i < pool->nr_pages; i++)
		folio_put(pool->folios[i]);
	kvfree(pool->folios);
	pool->folios = NULL;
}

/* Every new open of the internal file, whatever path it came by. */
static int hpm_pool_open_refused(struct inode *inode, struct file *file)
{
	return -EPERM;
}

static const struct file_operations hpm_pool_reopen_fops = {
	.owner = THIS_MODULE,
	.open = hpm_pool_open_refused,
};

/*
 * Nobody may free the pages: MADV_REMOVE, fallocate(PUNCH_HOLE) and
 * truncation all reach this inode through the mappings' vm_file (or
 * /proc/PID/map_files).  An immutable inode refuses every one of them and
 * any new writable open, while existing mappings keep working.
 *
 * Nor may anyone open the file again: root can, through map_files, and
 * such a file maps the pool past the driver (no module reference, pages
 * the pool does not count, MAP_PRIVATE copies drawn from the system's
 * pool).  A new open takes its operations from the inode; the driver's
 * own file keeps hugetlbfs' (a file's f_op is fixed at its open).
 */
static void hpm_pool_seal(struct hpm_pool *pool)
{
	struct inode *inode = file_inode(pool->file);

	inode_lock(inode);
	inode->i_flags |= S_IMMUTABLE;
	inode->i_fop = &hpm_pool_reopen_fops;
	inode_unlock(inode);
}

/* An online node with memory, or NUMA_NO_NODE for anywhere. */
static int hpm_pool_node_valid(const char *name, int node)
{
	if (node == NUMA_NO_NODE)
		return 0;
	if (node < 0 || node >= MAX_NUMNODES || !node_online(node)) {
		pr_err("/dev/%s: numa_node=%d is not an online node: give one of %*pbl, or -1 for any\n",
		       name, node, nodemask_pr_args(&node_states[N_ONLINE]));
		return -EINVAL;
	}
	if (!node_state(node, N_MEMORY)) {
		pr_err("/dev/%s: node %d has no memory: give one of %*pbl, or -1 for any\n",
		       name, node, nodemask_pr_args(&node_states[N_MEMORY]));
		return -EINVAL;
	}
	return 0;
}

/**
 * hpm_pool_create - take a buffer's huge pages from the system's pool
 * @pool:	the pool to fill in
 * @name:	the buffer's device name: the internal file's name, and the
 *		log's; must outlive the pool
 * @nr_pages:	number of huge pages, at least 1
 * @page_size:	huge page size in bytes, 0 for the system's default
 * @numa_node:	node every page must be on, or NUMA_NO_NODE
 *
 * Return: 0, or a negative errno with the pool untouched: -EINVAL for a
 * page size or node that cannot be had, -ENOMEM if the pool is short.
 */
int hpm_pool_create(struct hpm_pool *pool, const char *name,
		    unsigned long nr_pages, unsigned long page_size,
		    int numa_node)
{
	struct file *file;
	int ret;

	ret = hpm_pool_node_valid(name, numa_node);
	if (ret)
		return ret;
	ret = hpm_pool_mount(pool, name, page_size);
	if (ret)
		return ret;
	pool->name = name;
	pool->nr_pages = nr_pages;
	pool->numa_node = numa_node;

	/*
	 * A named file (not an O_TMPFILE) so that /proc/PID/maps shows
	 * "/<device name>" for every mapping; the mount is reachable by no
	 * path, so the name gives nobody a way in.
	 */
	file = file_open_root_mnt(pool->mnt, name,
				  O_RDWR | O_CREAT | O_EXCL | O_LARGEFILE, 0600);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		pr_err("/dev/%s: cannot create the internal hugetlbfs file: %d\n",
		       name, ret);
		/*
		 * hugetlbfs reports any failure to make an inode as -ENOSPC;
		 * on an instance without size or inode limits that is memory.
		 */
		if (ret == -ENOSPC)
			ret = -ENOMEM;
		goto err_mount;
	}
	pool->file = file;

	ret = hpm_pool_fill(pool);
	if (ret)
		goto err_file;
	ret = hpm_pool_pin(pool);
	if (ret)
		goto err_file;
	ret = hpm_pool_check_node(pool);
	if (ret)
		goto err_unpin;
	hpm_pool_seal(pool);
	return 0;

err_unpin:
	hpm_pool_unpin(pool);
err_file:
	/* Closing the file and the mount frees whatever fallocate took. */
	fput(pool->file);
err_mount:
	mntput(pool->mnt);
	return ret;
}

/**
 * hpm_pool_first_poisoned - the first page of a range with a memory error
 * @pool:	the pool
 * @first:	index of the range's first page
 * @count:	its number of pages
 *
 * memory_failure() (a machine check, MADV_HWPOISON) marks a huge page
 * poisoned and unmaps it from user space, which then gets SIGBUS on it;
 * the page stays in the pool, held by the driver.  Nobody should be handed
 * it anew: its address, a new export or a device mapping.
 *
 * Return: the index of the first poisoned page, or -1 if none is.
 */
static long hpm_pool_first_poisoned(const struct hpm_pool *pool,
				    unsigned long first, unsigned long count)
{
	unsigned long i;

	for (i = first; i < first + count; i++)
		if (folio_test_hwpoison(pool->folios[i]))
			return i;
	return -1;
}

/**
 * hpm_pool_check_poison - refuse a range that holds a poisoned page
 * @pool:	the pool
 * @first:	index of the range's first page
 * @count:	its number of pages
 * @what:	what is refused, for the log
 *
 * Return: 0, or -EHWPOISON (with one ratelimited line naming the page).
 */
int hpm_pool_check_poison(const struct hpm_pool *pool, unsigned long first,
			  unsigned long count, const char *what)
{
	long bad = hpm_pool_first_poisoned(pool, first, count);

	if (bad < 0)
		return 0;
	pr_warn_ratelimited("/dev/%s: huge page %ld has a memory error: %s refused\n",
			    pool->name, bad, what);
	return -EHWPOISON;
}

unsigned long hpm_pool_nr_poisoned(const struct hpm_pool *pool)
{
	unsigned long i, n = 0;

	for (i = 0; i < pool->nr_pages; i++)
		n += folio_test_hwpoison(pool->folios[i]);
	return n;
}

/*
 * Pages pinned with FOLL_PIN (VFIO_IOMMU_MAP_DMA, ibv_reg_mr, io_uring
 * fixed buffers, O_DIRECT in flight): the pincount, not the references
 * the pool itself holds.
 */
unsigned long hpm_pool_nr_dma_pinned(const struct hpm_pool *pool)
{
	unsigned long i, n = 0;

	for (i = 0; i < pool->nr_pages; i++)
		n += folio_maybe_dma_pinned(pool->folios[i]);
	return n;
}

void hpm_pool_destroy(struct hpm_pool *pool)
{
	unsigned long poisoned = hpm_pool_nr_poisoned(pool);
	unsigned long pinned = hpm_pool_nr_dma_pinned(pool);

	/* memory_failure() holds a reference of its own on each: never reused. */
	if (poisoned)
		pr_warn("/dev/%s: %lu huge pages had memory errors: the kernel keeps them, so HugePages_Free stays short by as many\n",
			pool->name, poisoned);
	/*
	 * A device may still do DMA to a pinned page: it stays allocated,
	 * out of the free pool and handed to nobody, until the last unpin
	 * frees it to the pool.
	 */
	if (pinned)
		pr_warn("/dev/%s: %lu of %lu huge pages are still pinned for DMA (VFIO, RDMA, io_uring): they stay out of HugePages_Free until the device's owner unpins them, then return to the pool\n",
			pool->name, pinned, pool->nr_pages);
	hpm_pool_unpin(pool);
	/*
	 * The last reference to the mount goes with the file; unmounting
	 * the private instance evicts the file and returns every page to the
	 * system's pool before rmmod returns to user space.
	 */
	fput(pool->file);
	mntput(pool->mnt);
}
