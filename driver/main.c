// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - module parameters, load and unload
 *
 * hpage_map preallocates the huge pages of each buffer the parameters
 * describe (entry i of nr_pages, page_size and numa_node is buffer i) from
 * the system's hugetlb pool at load, serves buffer 0 as /dev/hpage_map and
 * buffer i as /dev/hpage_map<i>, and takes more buffers at run time through
 * /dev/hpage_map-control.  At unload every page goes back to the pool.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/numa.h>
#include <linux/string.h>

#include "hpage_map_internal.h"

static unsigned int hpm_nr_pages[HPM_PARAM_BUFFERS] = { 8 };
static unsigned int hpm_nr_buffers = 1;
module_param_array_named(nr_pages, hpm_nr_pages, uint, &hpm_nr_buffers, 0444);
MODULE_PARM_DESC(nr_pages,
		 "Huge pages of each buffer, a list: 8,4 makes /dev/hpage_map and /dev/hpage_map1 (default 8)");

/* 0 until loaded: the system's default huge page size. */
static unsigned long hpm_page_size[HPM_PARAM_BUFFERS];
static unsigned int hpm_nr_page_sizes;

/* An empty entry, as in "page_size=,1G", is the default. */
static int param_set_hpm_size(const char *val, const struct kernel_param *kp)
{
	unsigned long size;
	char *end;

	if (!*val || !strcmp(val, "\n")) {
		*(unsigned long *)kp->arg = 0;
		return 0;
	}
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

static const struct kernel_param_ops param_ops_hpm_size = {
	.set = param_set_hpm_size,
	.get = param_get_ulong,
};

#define param_check_hpm_size(name, p) __param_check(name, p, unsigned long)
module_param_array_named(page_size, hpm_page_size, hpm_size,
			 &hpm_nr_page_sizes, 0444);
MODULE_PARM_DESC(page_size,
		 "Huge page size of each buffer, a list of 2M, 1G or bytes (default: the system's default huge page size)");

static int hpm_numa_node[HPM_PARAM_BUFFERS] = {
	[0 ... HPM_PARAM_BUFFERS - 1] = NUMA_NO_NODE
};

static unsigned int hpm_nr_numa_nodes;

/* An empty entry, as in "numa_node=,1", is -1: any node. */
static int param_set_hpm_node(const char *val, const struct kernel_param *kp)
{
	if (!*val || !strcmp(val, "\n")) {
		*(int *)kp->arg = NUMA_NO_NODE;
		return 0;
	}
	if (kstrtoint(val, 0, kp->arg)) {
		pr_err("numa_node=%s: give a node number, or -1 for any\n", val);
		return -EINVAL;
	}
	return 0;
}

static const struct kernel_param_ops param_ops_hpm_node = {
	.set = param_set_hpm_node,
	.get = param_get_int,
};

#define param_check_hpm_node(name, p) __param_check(name, p, int)
module_param_array_named(numa_node, hpm_numa_node, hpm_node,
			 &hpm_nr_numa_nodes, 0444);
MODULE_PARM_DESC(numa_node,
		 "NUMA node every page of each buffer must be on, a list; -1 for any (default)");

static int __init hpm_params_check(void)
{
	unsigned int i;

	if (hpm_nr_page_sizes > hpm_nr_buffers ||
	    hpm_nr_numa_nodes > hpm_nr_buffers) {
		pr_err("page_size and numa_node describe buffers nr_pages has: give them at most %u entries, or add to nr_pages\n",
		       hpm_nr_buffers);
		return -EINVAL;
	}
	for (i = 0; i < hpm_nr_buffers; i++) {
		if (!hpm_nr_pages[i]) {
			pr_err("nr_pages=0 for buffer %u: a buffer needs at least one huge page\n",
			       i);
			return -EINVAL;
		}
	}
	return 0;
}

static int __init hpage_map_init(void)
{
	int nodes[HPM_PARAM_BUFFERS];
	struct hpm_buffer_spec spec;
	unsigned int i;
	char id[12];
	int ret;

	ret = hpm_params_check();
	if (ret)
		return ret;
	/* All or nothing: a buffer that cannot be made undoes the others. */
	for (i = 0; i < hpm_nr_buffers; i++) {
		spec.nr_pages = hpm_nr_pages[i];
		spec.page_size = hpm_page_size[i];
		spec.numa_node = hpm_numa_node[i];
		ret = hpm_buffer_add(&spec, i, i);
		if (ret)
			goto err_buffers;
		/* Shows the size in use where the default was taken. */
		hpm_page_size[i] = spec.page_size;
		nodes[i] = spec.numa_node;
	}
	/* Every buffer's entry reads back, given or not. */
	hpm_nr_page_sizes = hpm_nr_buffers;
	hpm_nr_numa_nodes = hpm_nr_buffers;

	ret = hpm_control_register();
	if (ret) {
		pr_err("cannot register /dev/%s-control: %d\n", HPM_NAME, ret);
		goto err_buffers;
	}
	for (i = 0; i < hpm_nr_buffers; i++) {
		snprintf(id, sizeof(id), "%u", i);
		pr_info("%u huge pages of %lu kB on node %d as /dev/%s%s\n",
			hpm_nr_pages[i], hpm_page_size[i] / SZ_1K, nodes[i],
			HPM_NAME, i ? id : "");
	}
	return 0;

err_buffers:
	hpm_buffers_remove_all();
	return ret;
}

static void __exit hpage_map_exit(void)
{
	hpm_control_unregister();
	hpm_buffers_remove_all();
}

module_init(hpage_map_init);
module_exit(hpage_map_exit);

MODULE_DESCRIPTION("Driver-owned huge pages shared through /dev/hpage_map");
MODULE_AUTHOR("The hpage-map developers");
MODULE_LICENSE("GPL");
/* Keep in step with PACKAGE_VERSION in dkms.conf. */
MODULE_VERSION("0.1.0");
