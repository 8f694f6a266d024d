// SPDX-License-Identifier: GPL-2.0
/*
 * hpm_importer.c - a dma-buf importer for hpage-map's tests (never shipped)
 *
 * What the in-tree importers in a test guest cannot do on demand: map one
 * attachment several times in chosen directions, give its device a chosen
 * max segment size, write at the DMA addresses of a mapping as a device
 * would, vmap the buffer, and forward a user mapping with dma_buf_mmap().
 * See hpm_importer.h.  A test guest has no IOMMU: DMA addresses are
 * physical (of the page, or of a swiotlb bounce slot).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-buf.h>
#include <linux/dma-direct.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/iosys-map.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/platform_device.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "hpm_importer.h"

#ifdef HPMI_IMPORT_NS_STRINGIFY
MODULE_IMPORT_NS(DMA_BUF);
#else
MODULE_IMPORT_NS("DMA_BUF");
#endif

/* 6.2 split off the calls that take the reservation lock themselves */
#ifndef HPMI_HAVE_MAP_UNLOCKED
#define dma_buf_map_attachment_unlocked dma_buf_map_attachment
#define dma_buf_unmap_attachment_unlocked dma_buf_unmap_attachment
#endif
#ifndef HPMI_HAVE_VMAP_UNLOCKED
#define dma_buf_vmap_unlocked dma_buf_vmap
#define dma_buf_vunmap_unlocked dma_buf_vunmap
#endif

struct hpmi_ctx {
	struct mutex lock;	/* protects everything below */
	struct platform_device *pdev;
	struct device_dma_parameters parms;
	struct dma_buf *dmabuf;
	struct dma_buf_attachment *attach;
	struct sg_table *sgt[HPMI_MAX_MAPS];
	enum dma_data_direction dir[HPMI_MAX_MAPS];
};

static int hpmi_open(struct inode *inode, struct file *file)
{
	struct platform_device_info info = {
		.name = "hpm_importer",
		.id = PLATFORM_DEVID_AUTO,
		.dma_mask = DMA_BIT_MASK(64),
	};
	struct hpmi_ctx *ctx;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	ctx->pdev = platform_device_register_full(&info);
	if (IS_ERR(ctx->pdev)) {
		int ret = PTR_ERR(ctx->pdev);

		kfree(ctx);
		return ret;
	}
	ctx->pdev->dev.dma_parms = &ctx->parms;
	mutex_init(&ctx->lock);
	file->private_data = ctx;
	return 0;
}

static void hpmi_unmap(struct hpmi_ctx *ctx, unsigned int i)
{
	dma_buf_unmap_attachment_unlocked(ctx->attach, ctx->sgt[i], ctx->dir[i]);
	ctx->sgt[i] = NULL;
}

static int hpmi_release(struct inode *inode, struct file *file)
{
	struct hpmi_ctx *ctx = file->private_data;
	unsigned int i;

	for (i = 0; i < HPMI_MAX_MAPS; i++)
		if (ctx->sgt[i])
			hpmi_unmap(ctx, i);
	if (ctx->attach)
		dma_buf_detach(ctx->dmabuf, ctx->attach);
	if (ctx->dmabuf)
		dma_buf_put(ctx->dmabuf);
	ctx->pdev->dev.dma_parms = NULL;
	platform_device_unregister(ctx->pdev);
	mutex_destroy(&ctx->lock);
	kfree(ctx);
	return 0;
}

static long hpmi_attach(struct hpmi_ctx *ctx, void __user *argp)
{
	struct hpmi_attach a;
	struct dma_buf *dmabuf;

	if (copy_from_user(&a, argp, sizeof(a)))
		return -EFAULT;
	if (ctx->dmabuf)
		return -EBUSY;
	dmabuf = dma_buf_get(a.fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	ctx->parms.max_segment_size = a.max_seg;
	ctx->attach = dma_buf_attach(dmabuf, &ctx->pdev->dev);
	if (IS_ERR(ctx->attach)) {
		long ret = PTR_ERR(ctx->attach);

		ctx->attach = NULL;
		dma_buf_put(dmabuf);
		return ret;
	}
	WRITE_ONCE(ctx->dmabuf, dmabuf);
	return 0;
}

static long hpmi_map(struct hpmi_ctx *ctx, void __user *argp)
{
	struct sg_table *sgt;
	struct hpmi_map m;
	unsigned int i;

	if (copy_from_user(&m, argp, sizeof(m)))
		return -EFAULT;
	if (!ctx->attach)
		return -ENXIO;
	if (m.dir > DMA_FROM_DEVICE)
		return -EINVAL;
	for (i = 0; i < HPMI_MAX_MAPS && ctx->sgt[i]; i++)
		;
	if (i == HPMI_MAX_MAPS)
		return -ENOSPC;
	sgt = dma_buf_map_attachment_unlocked(ctx->attach, m.dir);
	if (IS_ERR(sgt))
		return PTR_ERR(sgt);
	ctx->sgt[i] = sgt;
	ctx->dir[i] = m.dir;
	m.map = i;
	m.nents = sgt->nents;
	if (copy_to_user(argp, &m, sizeof(m))) {
		hpmi_unmap(ctx, i);
		return -EFAULT;
	}
	return 0;
}

/* Store @w->len bytes at the DMA addresses of buffer offsets @w->offset on. */
static long hpmi_dev_write(struct hpmi_ctx *ctx, void __user *argp)
{
	struct device *dev = &ctx->pdev->dev;
	struct scatterlist *sg;
	struct hpmi_write w;
	u64 pos = 0, end;
	unsigned int i;

	if (copy_from_user(&w, argp, sizeof(w)))
		return -EFAULT;
	if (w.map >= HPMI_MAX_MAPS || !ctx->sgt[w.map])
		return -ENXIO;
	if (device_iommu_mapped(dev))
		return -EOPNOTSUPP;	/* DMA addresses would not be physical */
	if (check_add_overflow(w.offset, w.len, &end))
		return -EINVAL;
	for_each_sgtable_dma_sg(ctx->sgt[w.map], sg, i) {
		u64 seg_end = pos + sg_dma_len(sg);

		if (end > pos && w.offset < seg_end) {
			u64 from = max(w.offset, pos), to = min(end, seg_end);
			phys_addr_t phys = dma_to_phys(dev, sg_dma_address(sg) + (from - pos));

			memset(phys_to_virt(phys), (int)w.value, to - from);
		}
		pos = seg_end;
	}
	return end > pos ? -EINVAL : 0;
}

static long hpmi_vmap(struct hpmi_ctx *ctx)
{
	struct iosys_map map;
	int ret;

	if (!ctx->dmabuf)
		return -ENXIO;
	ret = dma_buf_vmap_unlocked(ctx->dmabuf, &map);
	if (ret)
		return ret;
	dma_buf_vunmap_unlocked(ctx->dmabuf, &map);
	return 0;
}

static long hpmi_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct hpmi_ctx *ctx = file->private_data;
	void __user *argp = (void __user *)arg;
	long ret;
	u32 i;

	mutex_lock(&ctx->lock);
	switch (cmd) {
	case HPMI_ATTACH:
		ret = hpmi_attach(ctx, argp);
		break;
	case HPMI_MAP:
		ret = hpmi_map(ctx, argp);
		break;
	case HPMI_UNMAP:
		ret = -EFAULT;
		if (get_user(i, (u32 __user *)argp))
			break;
		ret = -ENXIO;
		if (i < HPMI_MAX_MAPS && ctx->sgt[i]) {
			hpmi_unmap(ctx, i);
			ret = 0;
		}
		break;
	case HPMI_DEV_WRITE:
		ret = hpmi_dev_write(ctx, argp);
		break;
	case HPMI_VMAP:
		ret = hpmi_vmap(ctx);
		break;
	default:
		ret = -ENOTTY;
	}
	mutex_unlock(&ctx->lock);
	return ret;
}

/*
 * The user's mapping of this file, forwarded to the exporter.  Not under
 * ctx->lock (the ioctls fault under it, mmap holds mmap_lock): the dma-buf
 * is set once and stays until release.
 */
static int hpmi_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct hpmi_ctx *ctx = file->private_data;
	struct dma_buf *dmabuf = READ_ONCE(ctx->dmabuf);

	return dmabuf ? dma_buf_mmap(dmabuf, vma, vma->vm_pgoff) : -ENXIO;
}

static const struct file_operations hpmi_fops = {
	.owner = THIS_MODULE,
	.open = hpmi_open,
	.release = hpmi_release,
	.unlocked_ioctl = hpmi_ioctl,
	.mmap = hpmi_mmap,
};

static struct miscdevice hpmi_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "hpm_importer",
	.fops = &hpmi_fops,
};

module_misc_device(hpmi_misc);

MODULE_DESCRIPTION("dma-buf importer for hpage-map's tests");
MODULE_LICENSE("GPL");
