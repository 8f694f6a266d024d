// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * device.c - libhpagemap: open, map, physical addresses, dma-buf export
 *
 * Thin wrappers over the ioctls of uapi/hpage_map.h that check arguments
 * first, so that a caller gets -EINVAL with a known meaning rather than
 * whatever the kernel's mmap path says.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hpagemap.h"
#include "internal.h"

struct hpagemap {
	int fd;
	int accmode;
	struct hpage_map_info info;
	char path[64];
};

int hpagemap_open(struct hpagemap **hpp, const char *path, int flags)
{
	struct hpagemap *hp;
	int accmode = flags & O_ACCMODE;
	int ret;

	*hpp = NULL;
	if (accmode != O_RDONLY && accmode != O_RDWR)
		return -EINVAL;
	if (!path)
		path = HPAGE_MAP_DEVICE;
	hp = calloc(1, sizeof(*hp));
	if (!hp)
		return -ENOMEM;
	snprintf(hp->path, sizeof(hp->path), "%s", path);
	hp->accmode = accmode;
	hp->fd = open(path, accmode | O_CLOEXEC);
	if (hp->fd < 0) {
		ret = -errno;
		free(hp);
		return ret;
	}
	if (ioctl(hp->fd, HPAGE_MAP_IOC_GET_INFO, &hp->info)) {
		ret = -errno;
		/* some other device, or a file */
		if (ret == -EINVAL || ret == -ENOTTY)
			ret = -ENOTTY;
		close(hp->fd);
		free(hp);
		return ret;
	}
	*hpp = hp;
	return 0;
}

int hpagemap_device_path(unsigned int id, char *buf, size_t len)
{
	int n = id ? snprintf(buf, len, "%s%u", HPAGE_MAP_DEVICE, id) :
		     snprintf(buf, len, "%s", HPAGE_MAP_DEVICE);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int hpagemap_open_id(struct hpagemap **hpp, unsigned int id, int flags)
{
	char path[64], dir[512];
	int ret;

	*hpp = NULL;
	ret = hpagemap_device_path(id, path, sizeof(path));
	if (!ret)
		ret = hpagemap_open(hpp, path, flags);
	/* A missing node of a loaded module: is there such a buffer at all? */
	if (ret == -ENOENT && hpagemap_module_loaded(NULL) &&
	    !hpml_sysfs_dir(dir, sizeof(dir), NULL, id) && access(dir, F_OK))
		ret = -ENODEV;
	return ret;
}

void hpagemap_close(struct hpagemap *hp)
{
	if (!hp)
		return;
	close(hp->fd);
	free(hp);
}

int hpagemap_fd(const struct hpagemap *hp)
{
	return hp->fd;
}

uint64_t hpagemap_size(const struct hpagemap *hp)
{
	return hp->info.size;
}

uint64_t hpagemap_page_size(const struct hpagemap *hp)
{
	return hp->info.page_size;
}

uint64_t hpagemap_nr_pages(const struct hpagemap *hp)
{
	return hp->info.nr_pages;
}

unsigned int hpagemap_id(const struct hpagemap *hp)
{
	return hp->info.id;
}

int hpagemap_get_info(struct hpagemap *hp, struct hpagemap_info *info)
{
	struct hpage_map_info ki;
	struct stat st;

	memset(info, 0, sizeof(*info));
	if (ioctl(hp->fd, HPAGE_MAP_IOC_GET_INFO, &ki))
		return -errno;
	hp->info = ki;
	info->size = ki.size;
	info->page_size = ki.page_size;
	info->nr_pages = ki.nr_pages;
	info->numa_node = ki.numa_node;
	snprintf(info->path, sizeof(info->path), "%s", hp->path);
	hpml_sysfs_extras(NULL, ki.id, info);
	if (!fstat(hp->fd, &st))
		hpml_info_node(info, &st);
	return 0;
}

/* Resolve @length 0 and check that the range is whole pages inside. */
static int check_range(const struct hpagemap *hp, uint64_t offset,
		       uint64_t *length)
{
	uint64_t ps = hp->info.page_size, size = hp->info.size;

	if (!ps || offset >= size)
		return -EINVAL;
	if (!*length)
		*length = size - offset;
	if (offset % ps || *length % ps || *length > size - offset)
		return -EINVAL;
	if (*length > SIZE_MAX)
		return -ENOMEM;
	return 0;
}

int hpagemap_map(struct hpagemap *hp, uint64_t offset, uint64_t length,
		 int prot, void **addr)
{
	void *p;
	int ret;

	*addr = NULL;
	ret = check_range(hp, offset, &length);
	if (ret)
		return ret;
	if ((prot & PROT_WRITE) && hp->accmode != O_RDWR)
		return -EBADF;
	/* The driver picks a huge-page-aligned address. */
	p = mmap(NULL, (size_t)length, prot, MAP_SHARED, hp->fd, (off_t)offset);
	if (p == MAP_FAILED)
		return -errno;
	*addr = p;
	return 0;
}

int hpagemap_unmap(void *addr, uint64_t length)
{
	if (length > SIZE_MAX)
		return -EINVAL;
	return munmap(addr, (size_t)length) ? -errno : 0;
}

int hpagemap_phys(struct hpagemap *hp, uint64_t first, uint64_t count,
		  uint64_t *addrs)
{
	struct hpage_map_pages req;

	if (!count || first >= hp->info.nr_pages ||
	    count > hp->info.nr_pages - first)
		return -EINVAL;
	memset(&req, 0, sizeof(req));
	req.first = first;
	req.count = count;
	req.addrs = (uintptr_t)addrs;
	return ioctl(hp->fd, HPAGE_MAP_IOC_GET_PAGES, &req) ? -errno : 0;
}

int hpagemap_export(struct hpagemap *hp, uint64_t offset, uint64_t length,
		    int flags)
{
	struct hpage_map_export req;
	int ret;

	if (flags & ~(O_ACCMODE | O_CLOEXEC))
		return -EINVAL;
	if ((flags & O_ACCMODE) == O_RDWR && hp->accmode != O_RDWR)
		return -EBADF;
	ret = check_range(hp, offset, &length);
	if (ret)
		return ret;
	memset(&req, 0, sizeof(req));
	req.offset = offset;
	req.size = length;
	req.flags = (uint32_t)flags;
	req.fd = -1;
	if (ioctl(hp->fd, HPAGE_MAP_IOC_EXPORT_DMABUF, &req))
		return -errno;
	return req.fd;
}

int hpagemap_map_dmabuf(int fd, uint64_t length, uint64_t align, int prot,
			void **addr)
{
	uintptr_t start, aligned;
	size_t len = (size_t)length, span;
	void *p;

	*addr = NULL;
	if (!length || length > SIZE_MAX / 2 || (align & (align - 1)) ||
	    align > SIZE_MAX / 2)
		return -EINVAL;
	if (align < (uint64_t)sysconf(_SC_PAGESIZE))
		align = (uint64_t)sysconf(_SC_PAGESIZE);
	/* Reserve room for an aligned range, then map over it. */
	span = len + (size_t)align;
	p = mmap(NULL, span, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	start = (uintptr_t)p;
	aligned = (start + (uintptr_t)align - 1) & ~((uintptr_t)align - 1);
	p = mmap((void *)aligned, len, prot, MAP_SHARED | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED) {
		int ret = -errno;

		munmap((void *)start, span);
		return ret;
	}
	if (aligned > start)
		munmap((void *)start, aligned - start);
	if (start + span > aligned + len)
		munmap((void *)(aligned + len), start + span - (aligned + len));
	*addr = p;
	return 0;
}

/* Open the control device; its 0600 root node refuses others with EACCES. */
static int control_open(void)
{
	int fd = open(HPAGEMAP_CONTROL_DEVICE, O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	return errno == EACCES ? -EPERM : -errno;
}

int hpagemap_add(uint64_t nr_pages, uint64_t page_size, int numa_node,
		 unsigned int *id)
{
	struct hpage_map_ctl_add req;
	int fd, ret = 0;

	if (!nr_pages || numa_node < -1)
		return -EINVAL;
	fd = control_open();
	if (fd < 0)
		return fd;
	memset(&req, 0, sizeof(req));
	req.nr_pages = nr_pages;
	req.page_size = page_size;
	req.numa_node = numa_node;
	if (ioctl(fd, HPAGE_MAP_CTL_ADD, &req))
		ret = -errno;
	else if (id)
		*id = req.id;
	close(fd);
	return ret;
}

int hpagemap_remove(unsigned int id)
{
	uint32_t arg = id;
	int fd, ret = 0;

	fd = control_open();
	if (fd < 0)
		return fd;
	if (ioctl(fd, HPAGE_MAP_CTL_REMOVE, &arg))
		ret = -errno;
	close(fd);
	/* -ENOENT is "module not loaded" everywhere else in this library */
	return ret == -ENOENT ? -ENODEV : ret;
}
