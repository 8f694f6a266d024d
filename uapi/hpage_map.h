/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * hpage_map.h - user-space interface of /dev/hpage_map
 *
 * Each buffer of huge pages the driver took from the system's hugetlb pool
 * is a device: buffer 0 is /dev/hpage_map, buffer N >= 1 /dev/hpage_mapN.
 * Buffers come from the module parameters at load and from
 * /dev/hpage_map-control at run time.  mmap() a buffer with MAP_SHARED
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
/* Buffer N >= 1 is HPAGE_MAP_DEVICE followed by N: "/dev/hpage_map1". */
#define HPAGE_MAP_CONTROL_DEVICE	"/dev/hpage_map-control"

/**
 * struct hpage_map_info - what the buffer is
 * @size:	buffer size in bytes (@nr_pages * @page_size)
 * @page_size:	size of one huge page in bytes (2 MiB, 1 GiB, ...)
 * @nr_pages:	number of huge pages in the buffer
 * @numa_node:	NUMA node that holds every page, or -1 if they are spread
 * @flags:	output, reserved; the driver sets it to 0
 * @id:		the buffer's number: 0 for /dev/hpage_map, N for
 *		/dev/hpage_mapN
 * @reserved32:	room to grow; the driver sets it to 0
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
	__u32 id;
	__u32 reserved32;
	__u64 reserved[3];
};

/**
 * struct hpage_map_pages - physical addresses of huge pages
 * @first:	index of the first huge page (0 .. nr_pages - 1)
 * @count:	number of huge pages, at least 1, @first + @count <= nr_pages
 * @addrs:	user pointer to an array of @count __u64 that receives the
 *		physical address of each page
 * @flags:	must be 0
 * @reserved:	must be 0
 *
 * For user-space DMA engines (FPGA, VFIO no-IOMMU, DPDK-style) that program
 * physical addresses themselves.  Needs CAP_SYS_ADMIN.  The pages never move
 * while the buffer exists, so the addresses stay valid until it is removed
 * (or the module unloaded).
 */
struct hpage_map_pages {
	__u64 first;
	__u64 count;
	__u64 addrs;
	__u32 flags;
	__u32 reserved;
};

/**
 * struct hpage_map_export - export a range of the buffer as a dma-buf
 * @offset:	start of the range in bytes, a multiple of the page size
 * @size:	length of the range in bytes, a non-zero multiple of the page
 *		size, @offset + @size <= buffer size
 * @flags:	O_RDONLY or O_RDWR, optionally ORed with O_CLOEXEC; the
 *		device must be open for reading, and for O_RDWR for writing too
 * @fd:		output: the dma-buf file descriptor
 * @reserved:	must be 0
 *
 * The dma-buf is backed by the very same pages.  mmap() of it is a huge
 * page mapping when address, offset and length are huge-page-aligned
 * (pass an aligned address hint), else a 4 KiB mapping of the same pages.
 * While any dma-buf is alive neither the buffer can be removed nor the
 * module unloaded.
 */
struct hpage_map_export {
	__u64 offset;
	__u64 size;
	__u32 flags;
	__s32 fd;
	__u64 reserved[2];
};

/**
 * struct hpage_map_ctl_add - a new buffer, for %HPAGE_MAP_CTL_ADD
 * @nr_pages:	number of huge pages, at least 1
 * @page_size:	size of one huge page in bytes, one the kernel supports;
 *		0 for the system's default huge page size
 * @numa_node:	NUMA node every page must be on, or -1 for wherever the
 *		caller's memory policy puts them
 * @flags:	must be 0
 * @id:		output: the new buffer's number, the lowest free one >= 1;
 *		its device is /dev/hpage_map<id>
 * @reserved:	must be 0
 *
 * All pages are taken from the system's hugetlb pool before the device
 * appears, or none is (ENOMEM: the log says which pool is short).
 */
struct hpage_map_ctl_add {
	__u64 nr_pages;
	__u64 page_size;
	__s32 numa_node;
	__u32 flags;
	__u32 id;
	__u32 reserved[5];
};

#define HPAGE_MAP_IOC_MAGIC	0xB9

/* Describe the buffer. */
#define HPAGE_MAP_IOC_GET_INFO	_IOR(HPAGE_MAP_IOC_MAGIC, 0x00, struct hpage_map_info)
/* Physical address of each huge page in a range (CAP_SYS_ADMIN). */
#define HPAGE_MAP_IOC_GET_PAGES	_IOW(HPAGE_MAP_IOC_MAGIC, 0x01, struct hpage_map_pages)
/* Export a range as a dma-buf. */
#define HPAGE_MAP_IOC_EXPORT_DMABUF \
	_IOWR(HPAGE_MAP_IOC_MAGIC, 0x02, struct hpage_map_export)

/*
 * Ioctls of /dev/hpage_map-control (CAP_SYS_ADMIN).  REMOVE takes the
 * buffer's id; it fails with EBUSY while any fd, mapping or dma-buf of that
 * buffer exists, and gives every page back to the system's pool otherwise.
 */
#define HPAGE_MAP_CTL_ADD \
	_IOWR(HPAGE_MAP_IOC_MAGIC, 0x10, struct hpage_map_ctl_add)
#define HPAGE_MAP_CTL_REMOVE	_IOW(HPAGE_MAP_IOC_MAGIC, 0x11, __u32)

#endif /* _UAPI_HPAGE_MAP_H */
