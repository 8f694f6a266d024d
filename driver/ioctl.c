// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl.c - the ioctls of a buffer's device (uapi/hpage_map.h)
 *
 * Structures hold only fixed-size fields, so 32-bit callers use the same
 * code through compat_ptr_ioctl().  Reserved fields and flags must be 0, so
 * that they can be given a meaning later.
 */
#include <linux/capability.h>
#include <linux/fcntl.h>
#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include <hpage_map.h>

#include "hpage_map_internal.h"

static long hpm_ioctl_get_info(const struct hpage_map *hpm,
			       struct hpage_map_info __user *uinfo)
{
	const struct hpm_pool *pool = &hpm->pool;
	struct hpage_map_info info;

	/* Zeroed whole: no stack bytes reach user space. */
	memset(&info, 0, sizeof(info));
	info.size = hpm_pool_bytes(pool);
	info.page_size = pool->page_size;
	info.nr_pages = pool->nr_pages;
	info.numa_node = pool->numa_node;
	info.id = hpm->id;
	if (copy_to_user(uinfo, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

/* Is [first, first + count) a non-empty range of the pool's pages? */
static bool hpm_pages_in_pool(const struct hpm_pool *pool, u64 first,
			      u64 count)
{
	return count && first < pool->nr_pages &&
	       count <= pool->nr_pages - first;
}

static long hpm_ioctl_get_pages(const struct hpm_pool *pool,
				struct hpage_map_pages __user *ureq)
{
	struct hpage_map_pages req;
	u64 __user *uaddrs;
	u64 addrs[32];
	u64 i, n;
	int ret;

	/* Physical addresses help rowhammer-style attacks: as pagemap does. */
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (copy_from_user(&req, ureq, sizeof(req)))
		return -EFAULT;
	if (req.flags || req.reserved ||
	    !hpm_pages_in_pool(pool, req.first, req.count))
		return -EINVAL;
	ret = hpm_pool_check_poison(pool, req.first, req.count, "GET_PAGES");
	if (ret)
		return ret;

	uaddrs = u64_to_user_ptr(req.addrs);
	for (i = 0; i < req.count; i += n) {
		u64 j;

		n = min_t(u64, req.count - i, ARRAY_SIZE(addrs));
		for (j = 0; j < n; j++)
			addrs[j] = PFN_PHYS(folio_pfn(pool->folios[req.first + i + j]));
		if (copy_to_user(uaddrs + i, addrs, n * sizeof(addrs[0])))
			return -EFAULT;
	}
	return 0;
}

static long hpm_ioctl_export_dmabuf(struct file *file, struct hpage_map *hpm,
				    struct hpage_map_export __user *ureq)
{
	const struct hpm_pool *pool = &hpm->pool;
	struct hpage_map_export req;
	unsigned int mode;
	int ret;

	if (copy_from_user(&req, ureq, sizeof(req)))
		return -EFAULT;
	mode = req.flags & O_ACCMODE;
	if ((req.flags & ~(O_ACCMODE | O_CLOEXEC)) ||
	    (mode != O_RDONLY && mode != O_RDWR) ||
	    req.reserved[0] || req.reserved[1])
		return -EINVAL;
	if (!IS_ALIGNED(req.offset | req.size, pool->page_size) ||
	    !hpm_pages_in_pool(pool, req.offset / pool->page_size,
			       req.size / pool->page_size))
		return -EINVAL;
	/* No more access through the dma-buf than through this fd. */
	if (!(file->f_mode & FMODE_READ) ||
	    (mode == O_RDWR && !(file->f_mode & FMODE_WRITE)))
		return -EACCES;
	ret = hpm_pool_check_poison(pool, req.offset / pool->page_size,
				    req.size / pool->page_size, "a new export");
	if (ret)
		return ret;

	return hpm_dmabuf_export(hpm, req.offset / pool->page_size,
				 req.size / pool->page_size, req.flags,
				 &ureq->fd);
}

long hpm_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct hpage_map *hpm = hpm_file_buffer(file);
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case HPAGE_MAP_IOC_GET_INFO:
		return hpm_ioctl_get_info(hpm, argp);
	case HPAGE_MAP_IOC_GET_PAGES:
		return hpm_ioctl_get_pages(&hpm->pool, argp);
	case HPAGE_MAP_IOC_EXPORT_DMABUF:
		return hpm_ioctl_export_dmabuf(file, hpm, argp);
	default:
		return -ENOTTY;
	}
}
