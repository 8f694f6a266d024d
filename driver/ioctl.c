// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl.c - the ioctls of /dev/hpage_map (uapi/hpage_map.h)
 *
 * Structures hold only fixed-size fields, so 32-bit callers use the same
 * code through compat_ptr_ioctl().
 */
#include <linux/string.h>
#include <linux/uaccess.h>

#include <hpage_map.h>

#include "hpage_map_internal.h"

static long hpm_ioctl_get_info(const struct hpm_pool *pool,
			       struct hpage_map_info __user *uinfo)
{
	struct hpage_map_info info;

	/* Zeroed whole: no stack bytes reach user space. */
	memset(&info, 0, sizeof(info));
	info.size = hpm_pool_bytes(pool);
	info.page_size = pool->page_size;
	info.nr_pages = pool->nr_pages;
	info.numa_node = pool->numa_node;
	if (copy_to_user(uinfo, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

long hpm_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case HPAGE_MAP_IOC_GET_INFO:
		return hpm_ioctl_get_info(&hpage_map.pool, argp);
	default:
		return -ENOTTY;
	}
}
