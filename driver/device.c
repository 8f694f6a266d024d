// SPDX-License-Identifier: GPL-2.0
/*
 * device.c - /dev/hpage_map: open, mmap and the lifetime of its mappings
 *
 * Mapping the device maps the internal hugetlbfs file instead (the same
 * move ipc/shm.c makes for SysV hugepage segments): the VMA's vm_file
 * becomes that file, so the kernel's hugetlb code faults, splits, counts and
 * reports the mapping as it does any hugetlbfs mapping.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/module.h>
#include <linux/sysfs.h>

#include "hpage_map_internal.h"

/*
 * Every VMA holds a module reference: a mapping outlives the fd it was made
 * from (and is copied by fork, split by munmap, moved by mremap), and its
 * vm_ops live in this module.  The file's .owner only covers open fds.
 */
static void hpm_vma_get(struct hpage_map *hpm)
{
	__module_get(THIS_MODULE);
	atomic_inc(&hpm->nr_vmas);
}

static void hpm_vma_put(struct hpage_map *hpm)
{
	atomic_dec(&hpm->nr_vmas);
	module_put(THIS_MODULE);
}

/* Called for VMAs copied from one of ours: fork, split, mremap. */
static void hpm_vm_open(struct vm_area_struct *vma)
{
	hpage_map.hugetlb_vm_ops->open(vma);
	hpm_vma_get(&hpage_map);
}

static void hpm_vm_close(struct vm_area_struct *vma)
{
	hpage_map.hugetlb_vm_ops->close(vma);
	hpm_vma_put(&hpage_map);
}

static vm_fault_t hpm_vm_fault(struct vm_fault *vmf)
{
	return hpage_map.hugetlb_vm_ops->fault(vmf);
}

/* hugetlb refuses splits inside a huge page (4 KiB munmap, mprotect). */
static int hpm_vm_may_split(struct vm_area_struct *vma, unsigned long addr)
{
	return hpage_map.hugetlb_vm_ops->may_split(vma, addr);
}

/* What /proc/PID/smaps reports as KernelPageSize. */
static unsigned long hpm_vm_pagesize(struct vm_area_struct *vma)
{
	return hpage_map.hugetlb_vm_ops->pagesize(vma);
}

static const struct vm_operations_struct hpm_vm_ops = {
	.open = hpm_vm_open,
	.close = hpm_vm_close,
	.fault = hpm_vm_fault,
	.may_split = hpm_vm_may_split,
	.pagesize = hpm_vm_pagesize,
};

static int hpm_open(struct inode *inode, struct file *file)
{
	struct hpage_map *hpm = &hpage_map;

	/*
	 * mmap's write accounting (mapping_map_writable()) is done on the
	 * opened file's f_mapping, unmap's on the VMA's vm_file: make both
	 * the internal file's.
	 */
	file->f_mapping = hpm->pool.file->f_mapping;
	atomic_inc(&hpm->nr_open);
	return 0;
}

static int hpm_release(struct inode *inode, struct file *file)
{
	atomic_dec(&hpage_map.nr_open);
	return 0;
}

static unsigned long hpm_get_unmapped_area(struct file *file,
					   unsigned long addr,
					   unsigned long len,
					   unsigned long pgoff,
					   unsigned long flags)
{
	struct file *pool_file = hpage_map.pool.file;

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
 * hpm_map_pool - make @vma a hugetlb mapping of the pool
 * @hpm:	the device
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

	vma_set_file(vma, pool_file);
	/* The pages are already in the file: reserve nothing from the pool. */
	vm_flags_set(vma, VM_NORESERVE);
	ret = pool_file->f_op->mmap(pool_file, vma);
	if (ret)
		return ret;

	WRITE_ONCE(hpm->hugetlb_vm_ops, vma->vm_ops);
	vma->vm_ops = &hpm_vm_ops;
	hpm_vma_get(hpm);
	return 0;
}

static int hpm_mmap(struct file *file, struct vm_area_struct *vma)
{
	return hpm_map_pool(&hpage_map, vma);
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

/* The driver's own view; the pool itself is in /sys/kernel/mm/hugepages. */
static ssize_t nr_pages_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%lu\n", hpage_map.pool.nr_pages);
}
static DEVICE_ATTR_RO(nr_pages);

static ssize_t page_size_show(struct device *dev, struct device_attribute *attr,
			      char *buf)
{
	return sysfs_emit(buf, "%lu\n", hpage_map.pool.page_size);
}
static DEVICE_ATTR_RO(page_size);

static ssize_t size_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%llu\n", hpm_pool_bytes(&hpage_map.pool));
}
static DEVICE_ATTR_RO(size);

static ssize_t numa_node_show(struct device *dev, struct device_attribute *attr,
			      char *buf)
{
	return sysfs_emit(buf, "%d\n", hpage_map.pool.numa_node);
}
static DEVICE_ATTR_RO(numa_node);

static ssize_t mappings_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&hpage_map.nr_vmas));
}
static DEVICE_ATTR_RO(mappings);

static ssize_t open_files_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&hpage_map.nr_open));
}
static DEVICE_ATTR_RO(open_files);

static struct attribute *hpm_attrs[] = {
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
	hpm->misc.name = HPM_NAME;
	hpm->misc.fops = &hpm_fops;
	hpm->misc.groups = hpm_groups;
	hpm->misc.mode = 0600;
	return misc_register(&hpm->misc);
}

void hpm_device_unregister(struct hpage_map *hpm)
{
	misc_deregister(&hpm->misc);
}
