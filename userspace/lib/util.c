// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * util.c - libhpagemap: error messages, size parsing and formatting
 *
 * Pure functions: no system calls, so the host's unit tests cover them.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpagemap.h"

#ifndef HPAGEMAP_VERSION
#define HPAGEMAP_VERSION "0.1.0"
#endif

const char *hpagemap_version(void)
{
	return HPAGEMAP_VERSION;
}

const char *hpagemap_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case 0:
		return "success";
	case ENOENT:
		return HPAGE_MAP_DEVICE " does not exist: the " HPAGEMAP_MODULE
		       " module is not loaded; load it as root with"
		       " `modprobe " HPAGEMAP_MODULE "` (parameters nr_pages=N"
		       " page_size=2M|1G)";
	case EACCES:
		return "permission denied: access to " HPAGE_MAP_DEVICE
		       " is for root and group '" HPAGEMAP_GROUP "' (udev rule"
		       " 60-hpage-map.rules); add the user to the group:"
		       " `usermod -aG " HPAGEMAP_GROUP " USER` and log in again";
	case EPERM:
		return "operation not permitted: physical addresses, and adding"
		       " or removing buffers (" HPAGEMAP_CONTROL_DEVICE "), need"
		       " CAP_SYS_ADMIN; run as root";
	case ENOMEM:
		return "not enough free huge pages in the system's pool: grow"
		       " it with `echo N > /sys/kernel/mm/hugepages/"
		       "hugepages-<size>kB/nr_hugepages` (N = the new total;"
		       " for a buffer on one NUMA node, that node's pool under"
		       " /sys/devices/system/node/); the kernel log says the"
		       " command";
	case EINVAL:
		return "invalid argument: offsets and lengths must be multiples"
		       " of the huge page size and lie inside the buffer; a new"
		       " buffer needs at least 1 page, a page size the kernel"
		       " supports and an online NUMA node";
	case EBADF:
		return "the device is not open for writing: open it O_RDWR";
	case ENOTTY:
		return "not an hpage_map device, or a module too old for this"
		       " request";
	case ENODEV:
		return "no such hpage_map buffer: it was removed, or never"
		       " added (`hpage-map list` shows the buffers there are,"
		       " `hpage-map create` adds one)";
	case ENXIO:
		return "no hpage_map driver behind the device node: the module"
		       " was unloaded; load it with `modprobe " HPAGEMAP_MODULE
		       "`";
	case EBUSY:
		return "buffer in use: close its fds, mappings and dma-bufs"
		       " first (the module unloads only when no buffer is in"
		       " use)";
	case ERANGE:
		return "number out of range";
	default:
		return strerror(err < 0 ? -err : err);
	}
}

/* The power of 1024 a unit suffix stands for, -1 if it is no unit. */
static int unit_shift(const char *s)
{
	static const char units[] = "KMGTPE";
	const char *u;

	if (!*s)
		return 0;
	if ((s[0] == 'B' || s[0] == 'b') && !s[1])
		return 0;
	u = strchr(units, s[0] >= 'a' && s[0] <= 'z' ? s[0] - 'a' + 'A' : s[0]);
	if (!u || !s[0])
		return -1;
	s++;
	/* K, KB, KiB, k, kB, kiB */
	if (*s == 'i' || *s == 'I')
		s++;
	if (*s == 'B' || *s == 'b')
		s++;
	if (*s)
		return -1;
	return (int)(u - units + 1) * 10;
}

int hpagemap_parse_size(const char *str, uint64_t *size)
{
	unsigned long long v;
	char *end;
	int shift;

	if (!str || !(*str >= '0' && *str <= '9'))
		return -EINVAL;
	errno = 0;
	v = strtoull(str, &end, 0);
	if (errno == ERANGE)
		return -ERANGE;
	if (end == str)
		return -EINVAL;
	shift = unit_shift(end);
	if (shift < 0)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*size = (uint64_t)v << shift;
	return 0;
}

char *hpagemap_format_size(uint64_t size, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB",
					     "PiB", "EiB" };
	unsigned int u = 0;
	uint64_t unit = 1, whole, cents;
	char num[32];
	size_t n;

	while (u + 1 < sizeof(units) / sizeof(units[0]) && size >= unit << 10) {
		unit <<= 10;
		u++;
	}
	whole = size / unit;
	cents = (uint64_t)(((unsigned __int128)(size % unit) * 100 + unit / 2) /
			   unit);
	if (cents == 100) {
		whole++;
		cents = 0;
	}
	if (whole == 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		whole = 1;
		u++;
	}
	snprintf(num, sizeof(num), "%" PRIu64 ".%02" PRIu64, whole, cents);
	n = strlen(num);
	while (num[n - 1] == '0')
		num[--n] = '\0';
	if (num[n - 1] == '.')
		num[--n] = '\0';
	snprintf(buf, len, "%s %s", num, units[u]);
	return buf;
}
