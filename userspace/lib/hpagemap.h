/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hpagemap.h - libhpagemap, the C library for /dev/hpage_map
 *
 * The hpage_map kernel module takes a fixed number of huge pages from the
 * system's hugetlb pool when it is loaded and exports them as one buffer,
 * /dev/hpage_map.  Every process that maps the device sees the same memory;
 * the data stays in the driver's pages until the module is unloaded.
 *
 *	struct hpagemap *hp;
 *	void *buf;
 *	int err = hpagemap_open(&hp, NULL, O_RDWR);
 *
 *	if (!err)
 *		err = hpagemap_map(hp, 0, 0, PROT_READ | PROT_WRITE, &buf);
 *	if (err)
 *		fprintf(stderr, "%s\n", hpagemap_strerror(err));
 *
 * Every function that can fail returns 0 (or a non-negative value where
 * documented) on success and a negative errno value on failure; errno is
 * not used.  hpagemap_strerror() turns such a value into a message that
 * says what to do about it.
 *
 * Functions that read sysfs take a @root: NULL (or "") for the real root,
 * or a directory that holds a copy of the sys/ and proc/ files they read
 * (tests, or a chroot's view).
 *
 * Link with -lhpagemap (pkg-config hpagemap).  The kernel interface itself
 * is <hpage_map.h>, installed next to this header.
 */
#ifndef HPAGEMAP_H
#define HPAGEMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hpage_map.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && defined(HPAGEMAP_BUILD)
#define HPAGEMAP_API __attribute__((visibility("default")))
#else
#define HPAGEMAP_API
#endif

/* The udev rule gives this group read-write access to the device. */
#define HPAGEMAP_GROUP		"hpage"
#define HPAGEMAP_MODULE		"hpage_map"
#define HPAGEMAP_SYSFS_MISC	"/sys/class/misc"
/* Buffer 0's directory; buffer N >= 1 is HPAGEMAP_SYSFS_DEVICE followed by N. */
#define HPAGEMAP_SYSFS_DEVICE	"/sys/class/misc/hpage_map"
#define HPAGEMAP_CONTROL_DEVICE	HPAGE_MAP_CONTROL_DEVICE
#define HPAGEMAP_SYSFS_MODULE	"/sys/module/hpage_map"
#define HPAGEMAP_SYSFS_HUGEPAGES "/sys/kernel/mm/hugepages"
#define HPAGEMAP_SYSFS_NODES	"/sys/devices/system/node"

/* The module's default nr_pages (driver/main.c). */
#define HPAGEMAP_DEFAULT_NR_PAGES 8

/* Library version, also in hpagemap.pc. */
HPAGEMAP_API const char *hpagemap_version(void);

/* ------------------------------------------------------------------ */
/* Errors                                                              */

/*
 * A one-line message for a negative errno returned by this library: what
 * went wrong for /dev/hpage_map and what to do, e.g. for -ENOENT that the
 * module is not loaded and `modprobe hpage_map` loads it, for -EACCES that
 * the user needs to be in group "hpage".  Never NULL; static storage.
 */
HPAGEMAP_API const char *hpagemap_strerror(int err);

/* ------------------------------------------------------------------ */
/* Sizes                                                               */

/*
 * Parse a size: decimal or 0x hex, optionally followed by a binary unit
 * K, M, G, T (also KB, KiB, k, ...: all powers of 1024) or B.
 * "2M", "1G", "0x200000", "4096", "512KiB".  0 or -EINVAL / -ERANGE.
 */
HPAGEMAP_API int hpagemap_parse_size(const char *str, uint64_t *size);

/*
 * Format @size in binary units: "2 MiB", "1 GiB", "1.5 GiB", "512 B";
 * at most two decimals, trailing zeros dropped.  Returns @buf.
 * 16 bytes are always enough.
 */
HPAGEMAP_API char *hpagemap_format_size(uint64_t size, char *buf, size_t len);

/* ------------------------------------------------------------------ */
/* The device                                                          */

struct hpagemap;

/*
 * Open the device: @path NULL means HPAGE_MAP_DEVICE; @flags O_RDONLY or
 * O_RDWR (O_CLOEXEC is always added).  Reads the buffer's geometry.
 * -ENOENT: module not loaded; -EACCES: no permission; -ENOTTY: not an
 * hpage_map device.
 */
HPAGEMAP_API int hpagemap_open(struct hpagemap **hp, const char *path,
			       int flags);
/* Close the device; mappings stay valid until hpagemap_unmap(). NULL ok. */
HPAGEMAP_API void hpagemap_close(struct hpagemap *hp);
/* The open file descriptor, for poll, ioctl, passing to another process. */
HPAGEMAP_API int hpagemap_fd(const struct hpagemap *hp);

/*
 * Open buffer @id: /dev/hpage_map for 0, /dev/hpage_map<id> otherwise;
 * @flags as for hpagemap_open().  -ENOENT: module not loaded (or, with the
 * buffer in sysfs, its node is missing); -ENODEV: the module is loaded but
 * has no buffer @id.
 */
HPAGEMAP_API int hpagemap_open_id(struct hpagemap **hp, unsigned int id,
				  int flags);

/* The device node of buffer @id into @buf: 0 or -ENAMETOOLONG. */
HPAGEMAP_API int hpagemap_device_path(unsigned int id, char *buf, size_t len);

/* Geometry read at open (HPAGE_MAP_IOC_GET_INFO). */
HPAGEMAP_API uint64_t hpagemap_size(const struct hpagemap *hp);
HPAGEMAP_API uint64_t hpagemap_page_size(const struct hpagemap *hp);
HPAGEMAP_API uint64_t hpagemap_nr_pages(const struct hpagemap *hp);
/* The buffer's number (0 from a driver older than several buffers). */
HPAGEMAP_API unsigned int hpagemap_id(const struct hpagemap *hp);

/*
 * Everything known about the device; -1 in a signed field: unknown.  Its
 * size is part of the ABI (callers allocate it), so it stays as it is: the
 * buffer's id is hpagemap_id(), and struct hpagemap_buffer has it too.
 */
struct hpagemap_info {
	/* HPAGE_MAP_IOC_GET_INFO, or sysfs when the device was not opened */
	uint64_t size;		/* buffer size in bytes */
	uint64_t page_size;	/* huge page size in bytes */
	uint64_t nr_pages;	/* number of huge pages */
	int numa_node;		/* node of every page, -1: spread over nodes */
	/* /sys/class/misc/hpage_map (hpage_map<N> for buffer N) */
	long long mappings;	/* VMAs that map the buffer */
	long long open_files;	/* open file descriptions of the device */
	/* /sys/module/hpage_map: the buffer's entry of each list, -1 if none */
	long long param_nr_pages;	/* module parameter nr_pages */
	long long param_page_size;	/* module parameter page_size (bytes) */
	char version[32];	/* module version, "" if none */
	char srcversion[32];	/* module srcversion, "" if none */
	/* the device node */
	char path[64];		/* HPAGE_MAP_DEVICE or the path opened */
	bool node_present;	/* @path exists (stat fields valid) */
	unsigned int major, minor;
	mode_t mode;		/* st_mode of the node */
	uid_t uid;
	gid_t gid;
	bool from_sysfs;	/* geometry read from sysfs, not the ioctl */
};

/*
 * Fill @info for an open device: the ioctl, then sysfs (under the real
 * root, the buffer's own directory) for the rest.
 */
HPAGEMAP_API int hpagemap_get_info(struct hpagemap *hp,
				   struct hpagemap_info *info);

/*
 * Fill @info without opening the device, from sysfs under @root and a
 * stat() of HPAGE_MAP_DEVICE under @root: works for users without access
 * to the device.  -ENOENT if the module is not loaded.
 */
HPAGEMAP_API int hpagemap_sysfs_info(const char *root,
				     struct hpagemap_info *info);
/* The same for buffer @id; -ENODEV if the module has no such buffer. */
HPAGEMAP_API int hpagemap_sysfs_info_id(const char *root, unsigned int id,
					struct hpagemap_info *info);

/* Is the hpage_map module loaded (per sysfs under @root)? */
HPAGEMAP_API bool hpagemap_module_loaded(const char *root);

/*
 * Map @length bytes of the buffer at @offset, shared; @length 0 maps from
 * @offset to the end.  @prot PROT_READ and/or PROT_WRITE (PROT_WRITE needs
 * the device open O_RDWR).  Both must be multiples of the huge page size
 * and inside the buffer, else -EINVAL.  The mapping is huge-page aligned.
 * On success *@addr is the start.  Unmap with hpagemap_unmap().
 */
HPAGEMAP_API int hpagemap_map(struct hpagemap *hp, uint64_t offset,
			      uint64_t length, int prot, void **addr);
HPAGEMAP_API int hpagemap_unmap(void *addr, uint64_t length);

/*
 * Physical address of huge pages @first .. @first + @count - 1 into
 * @addrs (HPAGE_MAP_IOC_GET_PAGES).  Needs CAP_SYS_ADMIN (-EPERM).
 */
HPAGEMAP_API int hpagemap_phys(struct hpagemap *hp, uint64_t first,
			       uint64_t count, uint64_t *addrs);

/*
 * Export [@offset, @offset + @length) as a dma-buf (@length 0: to the
 * end).  @flags: O_RDONLY or O_RDWR, optionally | O_CLOEXEC.  Returns the
 * dma-buf file descriptor (>= 0) or a negative errno.  While the dma-buf
 * lives the module cannot be unloaded.
 */
HPAGEMAP_API int hpagemap_export(struct hpagemap *hp, uint64_t offset,
				 uint64_t length, int flags);

/*
 * mmap() a dma-buf of @length bytes at an address aligned to @align (the
 * huge page size), so that it is a huge page mapping; shared.
 */
HPAGEMAP_API int hpagemap_map_dmabuf(int fd, uint64_t length, uint64_t align,
				     int prot, void **addr);

/* ------------------------------------------------------------------ */
/* Several buffers                                                     */

/*
 * One buffer as sysfs describes it; -1 in a signed field: unknown (an
 * older driver has no dma_bufs).  Arrays of it are allocated by callers:
 * @reserved is room to grow without a new soname.
 */
struct hpagemap_buffer {
	unsigned int id;	/* 0: /dev/hpage_map, N: /dev/hpage_mapN */
	char path[64];		/* the device node */
	uint64_t size;		/* bytes */
	uint64_t page_size;	/* bytes */
	uint64_t nr_pages;
	int numa_node;		/* node of every page, -1: spread */
	long long open_files;	/* open file descriptions */
	long long mappings;	/* VMAs */
	long long dma_bufs;	/* live dma-bufs exported from it */
	long long hwpoisoned_pages;
	uint64_t reserved[4];	/* 0 */
};

/*
 * Buffer @id from sysfs under @root: 0, -ENOENT if the module is not
 * loaded, -ENODEV if it has no such buffer.
 */
HPAGEMAP_API int hpagemap_buffer_info(const char *root, unsigned int id,
				      struct hpagemap_buffer *buf);

/*
 * Every buffer in sysfs under @root (/sys/class/misc/hpage_map and
 * hpage_map<N>), sorted by id.  Fills at most @max entries; returns how
 * many buffers there are (may exceed @max; 0 when all were removed), or
 * -ENOENT if the module is not loaded.
 */
HPAGEMAP_API int hpagemap_list(const char *root, struct hpagemap_buffer *bufs,
			       size_t max);

/*
 * Add a buffer of @nr_pages huge pages of @page_size bytes (0: the default
 * size) on NUMA node @numa_node (-1: any) through HPAGEMAP_CONTROL_DEVICE;
 * its id into *@id.  Needs CAP_SYS_ADMIN (-EPERM).  -ENOMEM: the pool (of
 * that node) is short, the kernel log says how to grow it; -EINVAL: no
 * such page size or node; -ENOENT: module not loaded.
 */
HPAGEMAP_API int hpagemap_add(uint64_t nr_pages, uint64_t page_size,
			      int numa_node, unsigned int *id);

/*
 * Remove buffer @id; its pages go back to the pool.  -EBUSY while any fd,
 * mapping or dma-buf of it exists; -ENODEV: no such buffer; -ENOENT:
 * module not loaded; -EPERM: not CAP_SYS_ADMIN.
 */
HPAGEMAP_API int hpagemap_remove(unsigned int id);

/* ------------------------------------------------------------------ */
/* The system's huge page pools                                        */

/*
 * One pool: a huge page size, system-wide (@node -1) or of one NUMA node.
 * Counts are in pages; -1 where the kernel does not report a value
 * (per-node pools have no reserved count).
 */
struct hpagemap_pool {
	uint64_t page_size;	/* bytes */
	int node;		/* -1: the whole system */
	long long total;	/* nr_hugepages */
	long long free;		/* free_hugepages */
	long long reserved;	/* resv_hugepages: promised to mappings */
	long long surplus;	/* surplus_hugepages: above nr_hugepages */
	long long overcommit;	/* nr_overcommit_hugepages (system only) */
	bool is_default;	/* the default huge page size (Hugepagesize) */
};

/*
 * Read every pool under @root: /sys/kernel/mm/hugepages/hugepages-*kB and
 * /sys/devices/system/node/node*\/hugepages/hugepages-*kB.  Sorted by
 * page size, the system-wide entry first, then by node.  Fills at most
 * @max entries; returns the number of pools found (may exceed @max) or a
 * negative errno (-ENOENT: the kernel has no hugetlb support).
 */
HPAGEMAP_API int hpagemap_pools(const char *root, struct hpagemap_pool *pools,
				size_t max);

/* The system-wide pool of @page_size: 0, or -ENOENT if no such size. */
HPAGEMAP_API int hpagemap_pool_of(const char *root, uint64_t page_size,
				  struct hpagemap_pool *pool);

/* The default huge page size (Hugepagesize in /proc/meminfo), 0 if none. */
HPAGEMAP_API uint64_t hpagemap_default_page_size(const char *root);

/*
 * Can the module be loaded with @nr_pages pages of @page_size (0: the
 * default size)?  0 if the pool has that many free unreserved pages,
 * -ENOMEM if not (then @cmd, if not NULL, receives the shell command that
 * grows the pool enough, like "echo 72 >
 * /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"), -EINVAL if the
 * kernel has no such page size.
 */
HPAGEMAP_API int hpagemap_pool_check(const char *root, uint64_t page_size,
				     uint64_t nr_pages, char *cmd, size_t len);

/* ------------------------------------------------------------------ */
/* Users and groups                                                    */

/*
 * Name of a user or group from @root/etc/passwd or @root/etc/group (no
 * NSS: works in static binaries); the number as text if not found.
 * Returns @buf.
 */
HPAGEMAP_API char *hpagemap_user_name(const char *root, uid_t uid, char *buf,
				      size_t len);
HPAGEMAP_API char *hpagemap_group_name(const char *root, gid_t gid, char *buf,
				       size_t len);
/* Group id of @name from @root/etc/group: 0 or -ENOENT. */
HPAGEMAP_API int hpagemap_group_id(const char *root, const char *name,
				   gid_t *gid);

#ifdef __cplusplus
}
#endif

#endif /* HPAGEMAP_H */
