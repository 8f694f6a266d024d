// SPDX-License-Identifier: GPL-2.0
/*
 * device.c - a buffer's device: open, mmap, its users and the lifetime of
 * its mappings
 *
 * Mapping the device maps the internal hugetlbfs file instead (the same
 * move ipc/shm.c makes for SysV hugepage segments): the VMA's vm_file
 * becomes that file, so the kernel's hugetlb code faults, splits, counts and
 * reports the mapping as it does any hugetlbfs mapping.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/device.h>
#include <linux/file.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/sysfs.h>

#include "hpage_map_internal.h"

/*
 * While any VMA maps a pool, the module must stay: the VMAs' vm_ops live
 * here.  A mapping outlives the fd it was made from (and is copied by fork,
 * split by munmap, moved by mremap), and the file's .owner only covers open
 * fds.  So the VMAs together hold one reference to vma_pin, an anonymous
 * file whose f_op->owner is this module (one per buffer).  The last VMA's close drops it
 * with fput(), and the module reference goes in core code (__fput(), run
 * later from task work or a workqueue), never while module text is still
 * running: a plain module_put() at the end of ->close would leave a window
 * in which a preempted task returns into freed module text after rmmod.
 */
static const struct file_operations hpm_vma_pin_fops = {
	.owner = THIS_MODULE,
};

/* A new VMA from mmap: the first one takes the pin. */
static int hpm_vma_pin_first(struct hpage_map *hpm)
{
	struct file *pin;
	int ret = 0;

	mutex_lock(&hpm->lock);
	if (!hpm->nr_vmas) {
		pin = anon_inode_getfile("[hpage_map-vmas]", &hpm_vma_pin_fops,
					 NULL, O_RDONLY);
		if (IS_ERR(pin)) {
			ret = PTR_ERR(pin);
			goto out;
		}
		hpm->vma_pin = pin;
	}
	WRITE_ONCE(hpm->nr_vmas, hpm->nr_vmas + 1);
out:
	mutex_unlock(&hpm->lock);
	return ret;
}

/* A VMA copied from one of ours (fork, split, mremap): the pin exists. */
static void hpm_vma_pin_copy(struct hpage_map *hpm)
{
	mutex_lock(&hpm->lock);
	WRITE_ONCE(hpm->nr_vmas, hpm->nr_vmas + 1);
	mutex_unlock(&hpm->lock);
}

static void hpm_vma_pin_put(struct hpage_map *hpm)
{
	struct file *pin = NULL;

	mutex_lock(&hpm->lock);
	WRITE_ONCE(hpm->nr_vmas, hpm->nr_vmas - 1);
	if (!hpm->nr_vmas) {
		pin = hpm->vma_pin;
		hpm->vma_pin = NULL;
	}
	mutex_unlock(&hpm->lock);
	if (pin)
		fput(pin);
}

/* hugetlb owns vm_private_data; the VMA's file is the buffer's own. */
static struct hpage_map *hpm_vma_buffer(struct vm_area_struct *vma)
{
	return vma->vm_file->private_data;
}

static void hpm_vm_open(struct vm_area_struct *vma)
{
	struct hpage_map *hpm = hpm_vma_buffer(vma);

	if (hpm->hugetlb_vm_ops->open)
		hpm->hugetlb_vm_ops->open(vma);
	hpm_vma_pin_copy(hpm);
}

static void hpm_vm_close(struct vm_area_struct *vma)
{
	struct hpage_map *hpm = hpm_vma_buffer(vma);

	if (hpm->hugetlb_vm_ops->close)
		hpm->hugetlb_vm_ops->close(vma);
	hpm_vma_pin_put(hpm);
}

/*
 * Our VMA operations are hugetlbfs' own table (one for all its mappings),
 * copied at the first mmap, with open and close wrapped: an operation
 * hugetlb gains or loses in a later kernel is neither dropped nor called
 * through NULL.
 */
static void hpm_ops_fill(struct vm_operations_struct *ops, const struct vm_operations_struct *from)
{
	*ops = *from;
	ops->open = hpm_vm_open;
	ops->close = hpm_vm_close;
}

static int hpm_vm_ops_set(struct hpage_map *hpm, struct vm_area_struct *vma)
{
	void *ops;

	mutex_lock(&hpm->lock);
	if (!hpm->vm_ops) {
		ops = kmalloc(sizeof(*vma->vm_ops), GFP_KERNEL);
		if (!ops) {
			mutex_unlock(&hpm->lock);
			return -ENOMEM;
		}
		hpm_ops_fill(ops, vma->vm_ops);
		hpm->hugetlb_vm_ops = vma->vm_ops;
		hpm->vm_ops = ops;
	}
	mutex_unlock(&hpm->lock);
	vma->vm_ops = hpm->vm_ops;
	return 0;
}

/* The kernel's own way to call a file's mmap: vfs_mmap() knows mmap_prepare. */
static int hpm_call_mmap(struct file *file, struct vm_area_struct *vma)
{
#ifdef HPM_HAVE_VFS_MMAP
	return vfs_mmap(file, vma);
#else
	return call_mmap(file, vma);
#endif
}

static int hpm_open(struct inode *inode, struct file *file)
{
	struct hpage_map *hpm = hpm_file_buffer(file);
	int ret = 0;

	mutex_lock(&hpm->lock);
	if (hpm->removed)
		ret = -ENODEV;
	else
		WRITE_ONCE(hpm->nr_open, hpm->nr_open + 1);
	mutex_unlock(&hpm->lock);
	return ret;
}

static int hpm_release(struct inode *inode, struct file *file)
{
	struct hpage_map *hpm = hpm_file_buffer(file);

	mutex_lock(&hpm->lock);
	WRITE_ONCE(hpm->nr_open, hpm->nr_open - 1);
	mutex_unlock(&hpm->lock);
	return 0;
}

/* A dma-buf exported (+1) or released (-1). */
void hpm_dmabuf_count(struct hpage_map *hpm, int delta)
{
	mutex_lock(&hpm->lock);
	WRITE_ONCE(hpm->nr_dmabufs, hpm->nr_dmabufs + delta);
	mutex_unlock(&hpm->lock);
}

static unsigned long hpm_get_unmapped_area(struct file *file,
					   unsigned long addr,
					   unsigned long len,
					   unsigned long pgoff,
					   unsigned long flags)
{
	struct file *pool_file = hpm_file_buffer(file)->pool.file;

	/* hugetlbfs picks a huge-page-aligned address and checks the length. */
	return pool_file->f_op->get_unmapped_area(pool_file, addr, len, pgoff,
						  flags);
}

static int hpm_check_range(const struct hpm_pool *pool,
			   const struct vm_area_struct *vma)
{
	unsigned long len = vma->vm_end - vma->vm_start;
	u64 size = hpm_pool_bytes(pool);
	u64 offset;

	/* A private copy-on-write copy would drain the pool, unseen by devices. */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (!IS_ALIGNED(vma->vm_start | len, pool->page_size))
		return -EINVAL;
	if (vma->vm_pgoff > size >> PAGE_SHIFT)
		return -EINVAL;
	offset = (u64)vma->vm_pgoff << PAGE_SHIFT;
	if (!IS_ALIGNED(offset, pool->page_size) || len > size - offset)
		return -EINVAL;
	return 0;
}

/**
 * hpm_map_pool - make @vma a hugetlb mapping of a buffer's pool
 * @hpm:	the buffer
 * @vma:	a new VMA; vm_pgoff is the offset into the pool
 *
 * For mmap of /dev/hpage_map and of its dma-bufs.
 *
 * Return: 0, or a negative errno if the range is not a shared,
 * huge-page-aligned range inside the pool.
 */
int hpm_map_pool(struct hpage_map *hpm, struct vm_area_struct *vma)
{
	struct file *pool_file = hpm->pool.file;
	int ret;

	ret = hpm_check_range(&hpm->pool, vma);
	if (ret)
		return ret;

	ret = hpm_vma_pin_first(hpm);
	if (ret)
		return ret;
	vma_set_file(vma, pool_file);
	/* The pages are already in the file: reserve nothing from the pool. */
	vm_flags_set(vma, VM_NORESERVE);
	ret = hpm_call_mmap(pool_file, vma);
	if (ret)
		goto err_unpin;
	ret = hpm_vm_ops_set(hpm, vma);
	if (ret) {
		/* Undo hugetlbfs' mmap as mmap's own error path would. */
		if (vma->vm_ops->close)
			vma->vm_ops->close(vma);
		goto err_unpin;
	}
	return 0;

err_unpin:
	hpm_vma_pin_put(hpm);
	return ret;
}

static int hpm_mmap(struct file *file, struct vm_area_struct *vma)
{
	return hpm_map_pool(hpm_file_buffer(file), vma);
}

static const struct file_operations hpm_fops = {
	.owner = THIS_MODULE,
	.open = hpm_open,
	.release = hpm_release,
	.mmap = hpm_mmap,
	.get_unmapped_area = hpm_get_unmapped_area,
	.unlocked_ioctl = hpm_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct hpage_map *hpm_dev_buffer(struct device *dev)
{
	/* The misc core makes the miscdevice the device's driver data. */
	return container_of(dev_get_drvdata(dev), struct hpage_map, misc);
}

/* The driver's own view; the pool itself is in /sys/kernel/mm/hugepages. */
static ssize_t id_show(struct device *dev, struct device_attribute *attr,
		       char *buf)
{
	return sysfs_emit(buf, "%u\n", hpm_dev_buffer(dev)->id);
}
static DEVICE_ATTR_RO(id);

static ssize_t nr_pages_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%lu\n", hpm_dev_buffer(dev)->pool.nr_pages);
}
static DEVICE_ATTR_RO(nr_pages);

static ssize_t page_size_show(struct device *dev, struct device_attribute *attr,
			      char *buf)
{
	return sysfs_emit(buf, "%lu\n", hpm_dev_buffer(dev)->pool.page_size);
}
static DEVICE_ATTR_RO(page_size);

static ssize_t size_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%llu\n", hpm_pool_bytes(&hpm_dev_buffer(dev)->pool));
}
static DEVICE_ATTR_RO(size);

static ssize_t numa_node_show(struct device *dev, struct device_attribute *attr,
			      char *buf)
{
	return sysfs_emit(buf, "%d\n", hpm_dev_buffer(dev)->pool.numa_node);
}
static DEVICE_ATTR_RO(numa_node);

static ssize_t mappings_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(hpm_dev_buffer(dev)->nr_vmas));
}
static DEVICE_ATTR_RO(mappings);

static ssize_t open_files_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(hpm_dev_buffer(dev)->nr_open));
}
static DEVICE_ATTR_RO(open_files);

static ssize_t dma_bufs_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%u\n",
			  READ_ONCE(hpm_dev_buffer(dev)->nr_dmabufs));
}
static DEVICE_ATTR_RO(dma_bufs);

static ssize_t hwpoisoned_pages_show(struct device *dev,
				     struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lu\n",
			  hpm_pool_nr_poisoned(&hpm_dev_buffer(dev)->pool));
}
static DEVICE_ATTR_RO(hwpoisoned_pages);

static ssize_t dma_pinned_pages_show(struct device *dev,
				     struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lu\n",
			  hpm_pool_nr_dma_pinned(&hpm_dev_buffer(dev)->pool));
}
static DEVICE_ATTR_RO(dma_pinned_pages);

static struct attribute *hpm_attrs[] = {
	&dev_attr_id.attr,
	&dev_attr_dma_bufs.attr,
	&dev_attr_hwpoisoned_pages.attr,
	&dev_attr_dma_pinned_pages.attr,
	&dev_attr_nr_pages.attr,
	&dev_attr_page_size.attr,
	&dev_attr_size.attr,
	&dev_attr_numa_node.attr,
	&dev_attr_mappings.attr,
	&dev_attr_open_files.attr,
	NULL
};
ATTRIBUTE_GROUPS(hpm);

int hpm_device_register(struct hpage_map *hpm)
{
	hpm->misc.minor = MISC_DYNAMIC_MINOR;
	hpm->misc.name = hpm->name;
	hpm->misc.fops = &hpm_fops;
	hpm->misc.groups = hpm_groups;
	hpm->misc.mode = 0600;
	hpm->pool.file->private_data = hpm;
	return misc_register(&hpm->misc);
}

/**
 * hpm_device_retire - let a buffer have no new users, if it has none
 * @hpm:	the buffer
 *
 * Return: 0, after which no open, mapping or export of it can succeed;
 * -EBUSY while an fd, a mapping or a dma-buf of it exists.
 */
int hpm_device_retire(struct hpage_map *hpm)
{
	int ret = 0;

	mutex_lock(&hpm->lock);
	if (hpm->nr_open || hpm->nr_vmas || hpm->nr_dmabufs)
		ret = -EBUSY;
	else
		hpm->removed = true;
	mutex_unlock(&hpm->lock);
	return ret;
}

void hpm_device_unregister(struct hpage_map *hpm)
{
	misc_deregister(&hpm->misc);
	/* No VMA is left: each counted as a user. */
	kfree(hpm->vm_ops);
	hpm->vm_ops = NULL;
}
