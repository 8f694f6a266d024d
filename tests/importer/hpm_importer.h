/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * hpm_importer.h - the test importer's ioctls (tests/importer, test use only)
 *
 * /dev/hpm_importer: each open file is one DMA device (a platform device
 * of its own, 64-bit DMA mask) that imports one dma-buf and maps its
 * attachment as often as asked.  A "device write" stores bytes at the DMA
 * addresses of a mapping, as a device without an IOMMU would: under
 * swiotlb=force they land in the bounce buffer until a sync.
 */
#ifndef _HPM_IMPORTER_H
#define _HPM_IMPORTER_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define HPMI_DEVICE	"/dev/hpm_importer"
#define HPMI_MAX_MAPS	4

/* @fd: the dma-buf to attach; @max_seg: the device's max segment size (0: keep) */
struct hpmi_attach {
	__s32 fd;
	__u32 max_seg;
};

/* @dir: enum dma_data_direction (0 BIDIRECTIONAL, 1 TO_DEVICE, 2 FROM_DEVICE); @map: out */
struct hpmi_map {
	__u32 dir;
	__u32 map;
	__u32 nents;	/* out: mapped entries */
	__u32 pad;
};

/* a device write of @len bytes of @value at @offset of mapping @map */
struct hpmi_write {
	__u32 map;
	__u32 value;
	__u64 offset;
	__u64 len;
};

#define HPMI_ATTACH	_IOW('h', 0x40, struct hpmi_attach)
#define HPMI_MAP	_IOWR('h', 0x41, struct hpmi_map)
#define HPMI_UNMAP	_IOW('h', 0x42, __u32)
#define HPMI_DEV_WRITE	_IOW('h', 0x43, struct hpmi_write)
#define HPMI_VMAP	_IO('h', 0x44)	/* vmap and vunmap at once: 0 or -errno */

#endif /* _HPM_IMPORTER_H */
