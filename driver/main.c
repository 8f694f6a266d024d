// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - module parameters, load and unload
 *
 * hpage_map preallocates nr_pages huge pages of page_size bytes from the
 * system's hugetlb pool at load and serves them as /dev/hpage_map until
 * unload, when every page goes back to the pool.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/string.h>

#include "hpage_map_internal.h"

struct hpage_map hpage_map;

static unsigned int hpm_nr_pages = 8;
module_param_named(nr_pages, hpm_nr_pages, uint, 0444);
MODULE_PARM_DESC(nr_pages, "Huge pages to preallocate at load (default 8)");

/* 0 until loaded: the system's default huge page size. */
static unsigned long hpm_page_size;

static int page_size_set(const char *val, struct kernel_param const *kp)
{
	unsigned long size;
	char *end;

	size = memparse(val, &end);
	if (*end == '\n')
		end++;
	/* 0 is no huge page size; leaving page_size out picks the default. */
	if (end == val || *end || !size) {
		pr_err("page_size=%s: give 2M, 1G or a size in bytes\n", val);
		return -EINVAL;
	}
	*(unsigned long *)kp->arg = size;
	return 0;
}

static const struct kernel_param_ops page_size_ops = {
	.set = page_size_set,
	.get = param_get_ulong,
};
module_param_cb(page_size, &page_size_ops, &hpm_page_size, 0444);
MODULE_PARM_DESC(page_size,
		 "Huge page size: 2M, 1G or bytes (default: the system's default huge page size)");

static int __init hpage_map_init(void)
{
	struct hpage_map *hpm = &hpage_map;
	int ret;

	mutex_init(&hpm->vma_lock);
	if (!hpm_nr_pages) {
		pr_err("nr_pages=0: the buffer needs at least one huge page\n");
		return -EINVAL;
	}
	ret = hpm_pool_create(&hpm->pool, hpm_nr_pages, hpm_page_size);
	if (ret)
		return ret;
	/* Shows the size in use when the default was taken. */
	hpm_page_size = hpm->pool.page_size;

	ret = hpm_device_register(hpm);
	if (ret) {
		pr_err("cannot register /dev/%s: %d\n", HPM_NAME, ret);
		hpm_pool_destroy(&hpm->pool);
		return ret;
	}
	pr_info("%u huge pages of %lu kB on node %d as /dev/%s\n",
		hpm_nr_pages, hpm_page_size / SZ_1K, hpm->pool.numa_node, HPM_NAME);
	return 0;
}

static void __exit hpage_map_exit(void)
{
	hpm_device_unregister(&hpage_map);
	hpm_pool_destroy(&hpage_map.pool);
}

module_init(hpage_map_init);
module_exit(hpage_map_exit);

MODULE_DESCRIPTION("Driver-owned huge pages shared through /dev/hpage_map");
MODULE_AUTHOR("The hpage-map developers");
MODULE_LICENSE("GPL");
/* Keep in step with PACKAGE_VERSION in dkms.conf. */
MODULE_VERSION("0.1.0");
