// SPDX-License-Identifier: GPL-2.0
/*
 * dmabuf.c - export a range of the pool as a dma-buf
 *
 * The dma-buf is backed by the buffer's own pinned pages, so importers,
 * mappings of the device and mmap of the dma-buf all see one memory.
 * A dma-buf holds a module reference (exp_info.owner) and counts as a user
 * of its buffer, so the pages stay owned by the driver until its last fd
 * and attachment are gone.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/file.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "hpage_map_internal.h"

#ifdef HPM_HAVE_IMPORT_NS_STRINGIFY
MODULE_IMPORT_NS(DMA_BUF);
#else
MODULE_IMPORT_NS("DMA_BUF");
#endif

/**
 * struct hpm_export - one exported range
 * @hpm:		the buffer whose pages back it
 * @first:		index of its first huge page in the pool
 * @nr_pages:		its number of huge pages
 * @writable:		exported O_RDWR: devices and mappings may write
 * @lock:		protects @attachments and their mappings
 * @attachments:	its struct hpm_attachment, for CPU access syncs
 */
struct hpm_export {
	struct hpage_map *hpm;
	unsigned long first;
	unsigned long nr_pages;
	bool writable;
	struct mutex lock;	/* protects @attachments and their mappings */
	struct list_head attachments;
};

/**
 * struct hpm_attachment - one importer's device
 * @node:	in hpm_export.attachments
 * @dev:	the importer's device
 * @mappings:	its struct hpm_mapping: an attachment may be mapped more
 *		than once, in different directions
 */
struct hpm_attachment {
	struct list_head node;
	struct device *dev;
	struct list_head mappings;
};

/**
 * struct hpm_mapping - one mapping of an attachment for its device
 * @node:	in hpm_attachment.mappings
 * @sgt:	what map_dma_buf returned
 * @dir:	the direction it was mapped with
 */
struct hpm_mapping {
	struct list_head node;
	struct sg_table sgt;
	enum dma_data_direction dir;
};

static struct folio *hpm_export_folio(const struct hpm_export *exp,
				      unsigned long i)
{
	return exp->hpm->pool.folios[exp->first + i];
}

static int hpm_dmabuf_attach(struct dma_buf *dmabuf,
			     struct dma_buf_attachment *attach)
{
	struct hpm_export *exp = dmabuf->priv;
	struct hpm_attachment *att;

	att = kzalloc(sizeof(*att), GFP_KERNEL);
	if (!att)
		return -ENOMEM;
	att->dev = attach->dev;
	INIT_LIST_HEAD(&att->mappings);
	attach->priv = att;
	mutex_lock(&exp->lock);
	list_add(&att->node, &exp->attachments);
	mutex_unlock(&exp->lock);
	return 0;
}

static void hpm_dmabuf_detach(struct dma_buf *dmabuf,
			      struct dma_buf_attachment *attach)
{
	struct hpm_export *exp = dmabuf->priv;
	struct hpm_attachment *att = attach->priv;

	mutex_lock(&exp->lock);
	list_del(&att->node);
	mutex_unlock(&exp->lock);
	kfree(att);
}

/*
 * The segment length for the importer's device: a whole huge page, unless
 * the device takes less: its max segment size (64 KiB by default), its max
 * mapping size (swiotlb bounces at most 256 KiB at once: swiotlb=force,
 * bounce-buffered guests, devices with a small DMA mask) or its segment
 * boundary.  Rounded down to a power of two: segments of it, which start
 * at multiples of it in a huge page, never cross a boundary.
 */
static unsigned long hpm_seg_len(struct device *dev, unsigned long page_size)
{
	unsigned long seg = page_size, boundary = dma_get_seg_boundary(dev);

	seg = min_t(unsigned long, seg, dma_get_max_seg_size(dev));
	seg = min_t(size_t, seg, dma_max_mapping_size(dev));
	if (boundary < seg - 1)
		seg = boundary + 1;
	return rounddown_pow_of_two(max(seg, 1UL));
}

/*
 * One entry per segment: per huge page, or each page cut to the device's
 * segment length (below PAGE_SIZE too: an entry then starts inside a page).
 */
static int hpm_export_sg_table(const struct hpm_export *exp,
			       struct device *dev, struct sg_table *sgt)
{
	unsigned long page_size = exp->hpm->pool.page_size;
	unsigned long seg = hpm_seg_len(dev, page_size);
	unsigned long i, off, segs;
	struct scatterlist *sg;
	int ret;

	segs = exp->nr_pages * (page_size / seg);
	if (segs > UINT_MAX)
		return -E2BIG;

	ret = sg_alloc_table(sgt, segs, GFP_KERNEL);
	if (ret)
		return ret;
	sg = sgt->sgl;
	for (i = 0; i < exp->nr_pages; i++) {
		struct folio *folio = hpm_export_folio(exp, i);

		for (off = 0; off < page_size; off += seg) {
			sg_set_page(sg, folio_page(folio, off >> PAGE_SHIFT),
				    seg, offset_in_page(off));
			sg = sg_next(sg);
		}
	}
	return 0;
}

/* May the device write?  Only if the export may: the fd's promise. */
static bool hpm_dir_allowed(const struct hpm_export *exp,
			    enum dma_data_direction dir)
{
	return exp->writable || dir == DMA_TO_DEVICE;
}

/* On 6.12 and later called with dmabuf->resv held: exp->lock nests inside. */
static struct sg_table *hpm_dmabuf_map(struct dma_buf_attachment *attach,
				       enum dma_data_direction dir)
{
	struct hpm_export *exp = attach->dmabuf->priv;
	struct hpm_attachment *att = attach->priv;
	struct hpm_mapping *map;
	int ret;

	if (!hpm_dir_allowed(exp, dir)) {
		dev_warn_ratelimited(attach->dev,
				     "%s: a read-only dma-buf cannot be mapped for the device to write; export it O_RDWR\n",
				     KBUILD_MODNAME);
		return ERR_PTR(-EACCES);
	}
	ret = hpm_pool_check_poison(&exp->hpm->pool, exp->first, exp->nr_pages,
				    "a device mapping");
	if (ret)
		return ERR_PTR(ret);
	map = kzalloc(sizeof(*map), GFP_KERNEL);
	if (!map)
		return ERR_PTR(-ENOMEM);
	ret = hpm_export_sg_table(exp, attach->dev, &map->sgt);
	if (ret)
		goto err_free;
	/*
	 * One device may map the same pages twice (one dma-buf imported
	 * through two DRM files, overlapping exports): ordinary sharing,
	 * which DMA-API debugging reports as an overlap unless the map skips
	 * the CPU sync (as drm_prime and udmabuf do).  The sync is still
	 * owed to the device: do it separately.
	 */
	ret = dma_map_sgtable(attach->dev, &map->sgt, dir,
			      DMA_ATTR_SKIP_CPU_SYNC);
	if (ret)
		goto err_table;
	dma_sync_sgtable_for_device(attach->dev, &map->sgt, dir);
	map->dir = dir;
	mutex_lock(&exp->lock);
	list_add(&map->node, &att->mappings);
	mutex_unlock(&exp->lock);
	return &map->sgt;

err_table:
	sg_free_table(&map->sgt);
err_free:
	kfree(map);
	return ERR_PTR(ret);
}

static void hpm_dmabuf_unmap(struct dma_buf_attachment *attach,
			     struct sg_table *sgt,
			     enum dma_data_direction dir)
{
	struct hpm_export *exp = attach->dmabuf->priv;
	struct hpm_mapping *map = container_of(sgt, struct hpm_mapping, sgt);

	mutex_lock(&exp->lock);
	list_del(&map->node);
	mutex_unlock(&exp->lock);
	dma_unmap_sgtable(attach->dev, sgt, dir, 0);
	sg_free_table(sgt);
	kfree(map);
}

/*
 * Sync every mapping of every attachment, each for its own device and in
 * its own direction: for the CPU (the devices' writes become visible) or
 * for the devices (the CPU's writes go back to them).
 */
static void hpm_export_sync(struct hpm_export *exp, bool for_cpu)
{
	struct hpm_attachment *att;
	struct hpm_mapping *map;

	mutex_lock(&exp->lock);
	list_for_each_entry(att, &exp->attachments, node) {
		list_for_each_entry(map, &att->mappings, node) {
			if (for_cpu)
				dma_sync_sgtable_for_cpu(att->dev, &map->sgt,
							 map->dir);
			else
				dma_sync_sgtable_for_device(att->dev,
							    &map->sgt,
							    map->dir);
		}
	}
	mutex_unlock(&exp->lock);
}

static int hpm_dmabuf_begin_cpu_access(struct dma_buf *dmabuf,
				       enum dma_data_direction dir)
{
	hpm_export_sync(dmabuf->priv, true);
	return 0;
}

static int hpm_dmabuf_end_cpu_access(struct dma_buf *dmabuf,
				     enum dma_data_direction dir)
{
	hpm_export_sync(dmabuf->priv, false);
	return 0;
}

/*
 * 4 KiB page-table entries for the same pages, for addresses the kernel
 * picked without huge page alignment.  The pages are pinned for as long as
 * the module lives, and the VMA keeps the dma-buf (and so the module).
 */
static int hpm_dmabuf_remap(struct hpm_export *exp, struct vm_area_struct *vma)
{
	unsigned long page_size = exp->hpm->pool.page_size;
	unsigned long addr = vma->vm_start;
	u64 off = (u64)vma->vm_pgoff << PAGE_SHIFT;
	int ret;

	/* No fault handler sees these entries: hugetlb's SIGBUS is not here. */
	ret = hpm_pool_check_poison(&exp->hpm->pool,
				    exp->first + off / page_size,
				    DIV_ROUND_UP(off % page_size +
						 vma->vm_end - vma->vm_start,
						 page_size),
				    "a 4 KiB mapping");
	if (ret)
		return ret;
	vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	while (addr < vma->vm_end) {
		struct folio *folio = hpm_export_folio(exp, off / page_size);
		unsigned long in_page = off % page_size;
		unsigned long len = min(page_size - in_page,
					vma->vm_end - addr);

		ret = remap_pfn_range(vma, addr,
				      folio_pfn(folio) + (in_page >> PAGE_SHIFT),
				      len, vma->vm_page_prot);
		if (ret)
			return ret;
		addr += len;
		off += len;
	}
	return 0;
}

static int hpm_dmabuf_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma)
{
	struct hpm_export *exp = dmabuf->priv;
	unsigned long page_size = exp->hpm->pool.page_size;
	unsigned long len = vma->vm_end - vma->vm_start;

	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	/*
	 * The dma-buf's own fd has been checked by mmap(), but an importer
	 * may forward its own, writable, VMA (dma_buf_mmap()).
	 */
	if (!exp->writable) {
		if (vma->vm_flags & VM_WRITE)
			return -EACCES;
		vm_flags_clear(vma, VM_MAYWRITE);
	}
	/* dma-buf core has checked the range against the dma-buf's size. */
	if (!IS_ALIGNED(vma->vm_start | len | (vma->vm_pgoff << PAGE_SHIFT),
			page_size))
		return hpm_dmabuf_remap(exp, vma);

	/* Aligned: a real hugetlb mapping of the pool, as the device's. */
	vma->vm_pgoff += exp->first * (page_size >> PAGE_SHIFT);
	return hpm_map_pool(exp->hpm, vma);
}

static int hpm_dmabuf_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct hpm_export *exp = dmabuf->priv;
	unsigned long per_folio = exp->hpm->pool.page_size >> PAGE_SHIFT;
	unsigned long i, j, n = exp->nr_pages * per_folio;
	struct page **pages;
	void *vaddr;

	pages = kvmalloc_array(n, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	for (i = 0; i < exp->nr_pages; i++)
		for (j = 0; j < per_folio; j++)
			pages[i * per_folio + j] =
				folio_page(hpm_export_folio(exp, i), j);
	vaddr = vmap(pages, n, VM_MAP, PAGE_KERNEL);
	kvfree(pages);
	if (!vaddr)
		return -ENOMEM;
	iosys_map_set_vaddr(map, vaddr);
	return 0;
}

static void hpm_dmabuf_vunmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	vunmap(map->vaddr);
}

static void hpm_dmabuf_release(struct dma_buf *dmabuf)
{
	struct hpm_export *exp = dmabuf->priv;

	hpm_dmabuf_count(exp->hpm, -1);
	mutex_destroy(&exp->lock);
	kfree(exp);
}

static const struct dma_buf_ops hpm_dmabuf_ops = {
	.attach = hpm_dmabuf_attach,
	.detach = hpm_dmabuf_detach,
	.map_dma_buf = hpm_dmabuf_map,
	.unmap_dma_buf = hpm_dmabuf_unmap,
	.begin_cpu_access = hpm_dmabuf_begin_cpu_access,
	.end_cpu_access = hpm_dmabuf_end_cpu_access,
	.mmap = hpm_dmabuf_mmap,
	.vmap = hpm_dmabuf_vmap,
	.vunmap = hpm_dmabuf_vunmap,
	.release = hpm_dmabuf_release,
};

/*
 * A kernel mapping has no direction, and vmap()'s callers write through it
 * (vb2-vmalloc capture queues): read-only exports have none.  The dma-buf
 * core then refuses dma_buf_vmap() with -EINVAL (a failing ->vmap would
 * WARN).
 */
static const struct dma_buf_ops hpm_dmabuf_ro_ops = {
	.attach = hpm_dmabuf_attach,
	.detach = hpm_dmabuf_detach,
	.map_dma_buf = hpm_dmabuf_map,
	.unmap_dma_buf = hpm_dmabuf_unmap,
	.begin_cpu_access = hpm_dmabuf_begin_cpu_access,
	.end_cpu_access = hpm_dmabuf_end_cpu_access,
	.mmap = hpm_dmabuf_mmap,
	.release = hpm_dmabuf_release,
};

/**
 * hpm_dmabuf_export - export huge pages of the pool as a dma-buf fd
 * @hpm:	the buffer
 * @first:	index of the first huge page
 * @nr_pages:	number of huge pages, within the pool
 * @flags:	O_RDONLY or O_RDWR, and O_CLOEXEC for the fd
 * @ufd:	where the new fd number goes in user space
 *
 * The fd is installed only once its number has reached @ufd: a failed
 * ioctl leaves the caller no fd it does not know of.
 *
 * Return: 0, or a negative errno.
 */
int hpm_dmabuf_export(struct hpage_map *hpm, unsigned long first,
		      unsigned long nr_pages, unsigned int flags,
		      int __user *ufd)
{
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	struct hpm_export *exp;
	struct dma_buf *dmabuf;
	int fd, ret;

	exp = kzalloc(sizeof(*exp), GFP_KERNEL);
	if (!exp)
		return -ENOMEM;
	exp->hpm = hpm;
	exp->first = first;
	exp->nr_pages = nr_pages;
	exp->writable = (flags & O_ACCMODE) == O_RDWR;
	mutex_init(&exp->lock);
	INIT_LIST_HEAD(&exp->attachments);

	exp_info.ops = exp->writable ? &hpm_dmabuf_ops : &hpm_dmabuf_ro_ops;
	exp_info.size = nr_pages * hpm->pool.page_size;
	/* The fd keeps only O_CLOEXEC: the access mode goes here. */
	exp_info.flags = flags & O_ACCMODE;
	exp_info.priv = exp;
	dmabuf = dma_buf_export(&exp_info);
	if (IS_ERR(dmabuf)) {
		mutex_destroy(&exp->lock);
		kfree(exp);
		return PTR_ERR(dmabuf);
	}
	/* Released from here on by hpm_dmabuf_release(). */
	hpm_dmabuf_count(hpm, 1);

	fd = get_unused_fd_flags(flags & O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto err_put;
	}
	if (put_user(fd, ufd)) {
		put_unused_fd(fd);
		ret = -EFAULT;
		goto err_put;
	}
	fd_install(fd, dmabuf->file);
	return 0;

err_put:
	dma_buf_put(dmabuf);	/* releases exp */
	return ret;
}
