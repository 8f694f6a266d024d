/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * hpage_map.h - user-space interface of /dev/hpage_map
 *
 * /dev/hpage_map exports one buffer of huge pages that the driver took from
 * the system's hugetlb pool when it was loaded.  mmap() it with MAP_SHARED
 * (never MAP_PRIVATE, never MAP_HUGETLB) at hugepage-aligned offsets and
 * lengths; every process that maps it sees the same memory.
 *
 * ioctl magic 0xB9, numbers 0x00-0x1F (free in ioctl-number.rst).
 */
#ifndef _UAPI_HPAGE_MAP_H
#define _UAPI_HPAGE_MAP_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define HPAGE_MAP_DEVICE	"/dev/hpage_map"

/**
 * struct hpage_map_info - what the buffer is
 * @size:	buffer size in bytes (@nr_pages * @page_size)
 * @page_size:	size of one huge page in bytes (2 MiB, 1 GiB, ...)
 * @nr_pages:	number of huge pages in the buffer
 * @numa_node:	NUMA node that holds every page, or -1 if they are spread
 * @flags:	output, reserved; the driver sets it to 0
 * @reserved:	room to grow; the driver sets it to 0
 *
 * Filled in completely by %HPAGE_MAP_IOC_GET_INFO; nothing is read.
 */
struct hpage_map_info {
	__u64 size;
	__u64 page_size;
	__u64 nr_pages;
	__s32 numa_node;
	__u32 flags;
	__u64 reserved[4];
};

#define HPAGE_MAP_IOC_MAGIC	0xB9

/* Describe the buffer. */
#define HPAGE_MAP_IOC_GET_INFO	_IOR(HPAGE_MAP_IOC_MAGIC, 0x00, struct hpage_map_info)

#endif /* _UAPI_HPAGE_MAP_H */
