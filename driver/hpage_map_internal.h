/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hpage_map_internal.h - what the driver's files share
 *
 * Each buffer is one struct hpage_map.  pool.c owns its pages (private
 * hugetlbfs mount, internal file, preallocation, pinning), device.c its misc
 * device, its users and the lifetime of its mappings, ioctl.c the device's
 * ioctls, dmabuf.c the dma-buf exporter.  buffer.c keeps the buffers by id
 * and makes and removes them, control.c is /dev/hpage_map-control, main.c
 * the module parameters and load/unload.
 */
#ifndef _HPAGE_MAP_INTERNAL_H
#define _HPAGE_MAP_INTERNAL_H

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/mutex.h>

#include "hpage_map_compat.h"

#define HPM_NAME "hpage_map"
/* Buffers from module parameters, ids 0 .. HPM_PARAM_BUFFERS - 1 */
#define HPM_PARAM_BUFFERS	8
/* Buffer ids are below this */
#define HPM_MAX_BUFFERS		1024

#ifndef HPM_HAVE_VM_FLAGS_SET
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}

static inline void vm_flags_clear(struct vm_area_struct *vma,
				  vm_flags_t flags)
{
	vma->vm_flags &= ~flags;
}
#endif

/**
 * struct hpm_pool - the huge pages of one buffer
 * @mnt:	private hugetlbfs instance of the chosen page size
 * @file:	internal file on @mnt whose page cache holds the pages; its
 *		private_data is the buffer (VMAs mapping the pool have it
 *		as vm_file)
 * @folios:	one pinned folio per huge page, in file order
 * @nr_pages:	number of huge pages
 * @page_size:	size of one huge page in bytes
 * @numa_node:	node of every page, or NUMA_NO_NODE if they are spread
 * @name:	the buffer's device name, for the log
 */
struct hpm_pool {
	struct vfsmount *mnt;
	struct file *file;
	struct folio **folios;
	unsigned long nr_pages;
	unsigned long page_size;
	int numa_node;
	const char *name;
};

/**
 * struct hpage_map - one buffer: /dev/hpage_map (id 0) or /dev/hpage_map<id>
 * @id:			its number
 * @name:		its device name
 * @pool:		its pages
 * @misc:		its device
 * @lock:		protects the fields below
 * @removed:		set once it may have no new users: it is going away
 * @nr_open:		open file descriptions of the device
 * @nr_vmas:		live VMAs mapping the pool
 * @nr_dmabufs:		live dma-bufs exported from it
 * @hugetlb_vm_ops:	hugetlbfs' VMA operations, which @vm_ops wrap
 * @vm_ops:		the pool's VMAs' operations: a copy of hugetlbfs'
 *			(allocated: built at run time, at the first mmap)
 * @vma_pin:		while @nr_vmas > 0, the file that keeps the module
 *
 * A buffer is removed only when it has no users (fds, VMAs, dma-bufs), so
 * whatever reaches it through one of them finds it alive.
 */
struct hpage_map {
	u32 id;
	char name[24];
	struct hpm_pool pool;
	struct miscdevice misc;
	struct mutex lock;	/* protects the fields below */
	bool removed;
	unsigned int nr_open;
	unsigned int nr_vmas;
	unsigned int nr_dmabufs;
	const struct vm_operations_struct *hugetlb_vm_ops;
	const struct vm_operations_struct *vm_ops;
	struct file *vma_pin;
};

/* The buffer of an open device file: misc_open() points private_data at its miscdevice. */
static inline struct hpage_map *hpm_file_buffer(struct file *file)
{
	return container_of(file->private_data, struct hpage_map, misc);
}

static inline u64 hpm_pool_bytes(const struct hpm_pool *pool)
{
	return (u64)pool->nr_pages * pool->page_size;
}

int hpm_pool_create(struct hpm_pool *pool, const char *name,
		    unsigned long nr_pages, unsigned long page_size,
		    int numa_node);
void hpm_pool_destroy(struct hpm_pool *pool);
unsigned long hpm_pool_nr_poisoned(const struct hpm_pool *pool);
unsigned long hpm_pool_nr_dma_pinned(const struct hpm_pool *pool);
int hpm_pool_check_poison(const struct hpm_pool *pool, unsigned long first,
			  unsigned long count, const char *what);

int hpm_map_pool(struct hpage_map *hpm, struct vm_area_struct *vma);
int hpm_device_register(struct hpage_map *hpm);
int hpm_device_retire(struct hpage_map *hpm);
void hpm_device_unregister(struct hpage_map *hpm);
void hpm_dmabuf_count(struct hpage_map *hpm, int delta);

long hpm_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

int hpm_dmabuf_export(struct hpage_map *hpm, unsigned long first,
		      unsigned long nr_pages, unsigned int flags,
		      int __user *ufd);

/**
 * struct hpm_buffer_spec - a buffer to make
 * @nr_pages:	number of huge pages, at least 1
 * @page_size:	huge page size in bytes, 0 for the system's default
 * @numa_node:	node every page must be on, or NUMA_NO_NODE; output: the
 *		node every page is on, or NUMA_NO_NODE
 * @id:		output: the buffer's number
 */
struct hpm_buffer_spec {
	unsigned long nr_pages;
	unsigned long page_size;
	int numa_node;
	u32 id;
};

int hpm_buffer_add(struct hpm_buffer_spec *spec, u32 id_min, u32 id_max);
int hpm_buffer_remove(u32 id);
void hpm_buffers_remove_all(void);

int hpm_control_register(void);
void hpm_control_unregister(void);

#endif /* _HPAGE_MAP_INTERNAL_H */
