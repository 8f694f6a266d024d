// SPDX-License-Identifier: GPL-2.0
/*
 * control.c - /dev/hpage_map-control: buffers added and removed at run time
 *
 * Root only, as /dev/loop-control: the node is 0600 and both ioctls want
 * CAP_SYS_ADMIN, since an added buffer takes memory from everyone.
 */
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/numa.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include <hpage_map.h>

#include "hpage_map_internal.h"

static long hpm_control_add(struct hpage_map_ctl_add __user *ureq)
{
	struct hpage_map_ctl_add req;
	struct hpm_buffer_spec spec;
	int ret;

	if (copy_from_user(&req, ureq, sizeof(req)))
		return -EFAULT;
	if (req.flags || memchr_inv(req.reserved, 0, sizeof(req.reserved)) ||
	    !req.nr_pages)
		return -EINVAL;
	spec.nr_pages = req.nr_pages;
	spec.page_size = req.page_size;
	spec.numa_node = req.numa_node;
	ret = hpm_buffer_add(&spec, 1, HPM_MAX_BUFFERS - 1);
	if (ret)
		return ret;
	/* A failed ioctl leaves no buffer the caller does not know of. */
	if (put_user(spec.id, &ureq->id)) {
		hpm_buffer_remove(spec.id);
		return -EFAULT;
	}
	return 0;
}

static long hpm_control_ioctl(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	void __user *argp = (void __user *)arg;
	u32 id;

	if (cmd != HPAGE_MAP_CTL_ADD && cmd != HPAGE_MAP_CTL_REMOVE)
		return -ENOTTY;
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (cmd == HPAGE_MAP_CTL_ADD)
		return hpm_control_add(argp);
	if (get_user(id, (u32 __user *)argp))
		return -EFAULT;
	return hpm_buffer_remove(id);
}

static const struct file_operations hpm_control_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = hpm_control_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice hpm_control = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = HPM_NAME "-control",
	.fops = &hpm_control_fops,
	.mode = 0600,
};

int hpm_control_register(void)
{
	return misc_register(&hpm_control);
}

void hpm_control_unregister(void)
{
	misc_deregister(&hpm_control);
}
