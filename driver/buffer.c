// SPDX-License-Identifier: GPL-2.0
/*
 * buffer.c - the buffers by id: making and removing them
 *
 * A buffer is made whole (its pages taken, then its device registered) or
 * not at all, and removed only when nothing uses it.  One mutex orders
 * every add and remove, so that an id and its device name are free again
 * only once the old device is gone.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/idr.h>
#include <linux/mutex.h>
#include <linux/slab.h>

#include "hpage_map_internal.h"

static DEFINE_MUTEX(hpm_buffers_lock);
static DEFINE_IDR(hpm_buffers);	/* id -> struct hpage_map */

static void hpm_buffer_free(struct hpage_map *hpm)
{
	mutex_destroy(&hpm->lock);
	kfree(hpm);
}

/**
 * hpm_buffer_add - make a buffer with the lowest free id in a range
 * @spec:	what it is to be; its page size (if 0), node (NUMA_NO_NODE if
 *		spread) and id are filled in
 * @id_min:	lowest id it may have
 * @id_max:	highest id it may have
 *
 * Return: 0, or a negative errno (-ENOSPC if no id in the range is free)
 * with nothing taken from the system's pool.
 */
int hpm_buffer_add(struct hpm_buffer_spec *spec, u32 id_min, u32 id_max)
{
	struct hpage_map *hpm;
	int ret;

	hpm = kzalloc(sizeof(*hpm), GFP_KERNEL);
	if (!hpm)
		return -ENOMEM;
	mutex_init(&hpm->lock);

	mutex_lock(&hpm_buffers_lock);
	ret = idr_alloc(&hpm_buffers, hpm, id_min, id_max + 1, GFP_KERNEL);
	if (ret == -ENOSPC)
		pr_err("no free buffer number from %u to %u: remove a buffer first\n",
		       id_min, id_max);
	if (ret < 0)
		goto err_unlock;
	hpm->id = ret;
	if (hpm->id)
		snprintf(hpm->name, sizeof(hpm->name), HPM_NAME "%u", hpm->id);
	else
		strscpy(hpm->name, HPM_NAME, sizeof(hpm->name));

	ret = hpm_pool_create(&hpm->pool, hpm->name, spec->nr_pages,
			      spec->page_size, spec->numa_node);
	if (ret)
		goto err_id;
	ret = hpm_device_register(hpm);
	if (ret) {
		pr_err("cannot register /dev/%s: %d\n", hpm->name, ret);
		goto err_pool;
	}
	/* Run-time adds and removes are as quiet as loop-control's. */
	pr_debug("%lu huge pages of %lu kB on node %d as /dev/%s\n",
		 hpm->pool.nr_pages, hpm->pool.page_size / SZ_1K,
		 hpm->pool.numa_node, hpm->name);
	spec->page_size = hpm->pool.page_size;
	spec->numa_node = hpm->pool.numa_node;
	spec->id = hpm->id;
	mutex_unlock(&hpm_buffers_lock);
	return 0;

err_pool:
	hpm_pool_destroy(&hpm->pool);
err_id:
	idr_remove(&hpm_buffers, hpm->id);
err_unlock:
	mutex_unlock(&hpm_buffers_lock);
	hpm_buffer_free(hpm);
	return ret;
}

/* Called with hpm_buffers_lock held, once @hpm is retired. */
static void hpm_buffer_destroy(struct hpage_map *hpm)
{
	idr_remove(&hpm_buffers, hpm->id);
	hpm_device_unregister(hpm);
	hpm_pool_destroy(&hpm->pool);
	hpm_buffer_free(hpm);
}

/**
 * hpm_buffer_remove - remove a buffer nobody uses
 * @id:	its id
 *
 * Return: 0 once every page is back in the system's pool, -ENOENT if there
 * is no such buffer, -EBUSY while an fd, a mapping or a dma-buf of it
 * exists.
 */
int hpm_buffer_remove(u32 id)
{
	struct hpage_map *hpm;
	int ret;

	mutex_lock(&hpm_buffers_lock);
	hpm = idr_find(&hpm_buffers, id);
	if (!hpm) {
		ret = -ENOENT;
		goto out;
	}
	ret = hpm_device_retire(hpm);
	if (ret)
		goto out;
	pr_debug("/dev/%s removed\n", hpm->name);
	hpm_buffer_destroy(hpm);
out:
	mutex_unlock(&hpm_buffers_lock);
	return ret;
}

/* At unload, or a failed load: no buffer has a user (each holds the module). */
void hpm_buffers_remove_all(void)
{
	struct hpage_map *hpm;
	int id;

	mutex_lock(&hpm_buffers_lock);
	idr_for_each_entry(&hpm_buffers, hpm, id) {
		hpm_device_retire(hpm);
		hpm_buffer_destroy(hpm);
	}
	mutex_unlock(&hpm_buffers_lock);
	idr_destroy(&hpm_buffers);
}
