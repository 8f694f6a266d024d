/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hpage_map_internal.h - what the driver's files share
 *
 * pool.c owns the pages (private hugetlbfs mount, internal file, preallocation,
 * pinning), device.c the misc device and the lifetime of its mappings,
 * ioctl.c the ioctls, dmabuf.c the dma-buf exporter, main.c the module
 * parameters and load/unload.
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
 * struct hpm_pool - the huge pages the driver owns
 * @mnt:	private hugetlbfs instance of the chosen page size
 * @file:	internal file on @mnt whose page cache holds the pages
 * @folios:	one pinned folio per huge page, in file order
 * @nr_pages:	number of huge pages
 * @page_size:	size of one huge page in bytes
 * @numa_node:	node of every page, or NUMA_NO_NODE if they are spread
 */
struct hpm_pool {
	struct vfsmount *mnt;
	struct file *file;
	struct folio **folios;
	unsigned long nr_pages;
	unsigned long page_size;
	int numa_node;
};

/**
 * struct hpage_map - the one device this module provides
 * @pool:		its pages
 * @misc:		/dev/hpage_map
 * @nr_open:		open file descriptions of /dev/hpage_map
 * @vma_lock:		protects the fields below (set at the first mmap)
 * @hugetlb_vm_ops:	hugetlbfs' VMA operations, which @vm_ops wrap
 * @vm_ops:		the pool's VMAs' operations: a copy of hugetlbfs'
 *			(allocated: built at run time)
 * @nr_vmas:		live VMAs mapping the pool
 * @vma_pin:		while @nr_vmas > 0, the file that keeps the module
 */
struct hpage_map {
	struct hpm_pool pool;
	struct miscdevice misc;
	atomic_t nr_open;
	struct mutex vma_lock;	/* protects the fields below */
	const struct vm_operations_struct *hugetlb_vm_ops;
	const struct vm_operations_struct *vm_ops;
	unsigned int nr_vmas;
	struct file *vma_pin;
};

extern struct hpage_map hpage_map;

static inline u64 hpm_pool_bytes(const struct hpm_pool *pool)
{
	return (u64)pool->nr_pages * pool->page_size;
}

int hpm_pool_create(struct hpm_pool *pool, unsigned long nr_pages,
		    unsigned long page_size);
void hpm_pool_destroy(struct hpm_pool *pool);
unsigned long hpm_pool_nr_poisoned(const struct hpm_pool *pool);
int hpm_pool_check_poison(const struct hpm_pool *pool, unsigned long first,
			  unsigned long count, const char *what);

int hpm_map_pool(struct hpage_map *hpm, struct vm_area_struct *vma);
int hpm_device_register(struct hpage_map *hpm);
void hpm_device_unregister(struct hpage_map *hpm);

long hpm_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

int hpm_dmabuf_export(struct hpage_map *hpm, unsigned long first,
		      unsigned long nr_pages, unsigned int flags,
		      int __user *ufd);

#endif /* _HPAGE_MAP_INTERNAL_H */
