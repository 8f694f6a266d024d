/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * internal.h - libhpagemap's functions shared between its files, not
 * exported (hidden in the shared library).
 */
#ifndef HPAGEMAP_INTERNAL_H
#define HPAGEMAP_INTERNAL_H

#include <stddef.h>
#include <sys/stat.h>

#include "hpagemap.h"

/* @root (NULL: "") followed by the formatted path: 0 or -ENAMETOOLONG. */
int hpml_path(char *buf, size_t len, const char *root, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A small text file, trailing newline dropped: its length or -errno. */
int hpml_read_text(const char *path, char *buf, size_t len);
/* A file holding one decimal integer: 0 or -errno. */
int hpml_read_ll(const char *path, long long *v);
/* Buffer @id's sysfs directory under @root: 0 or -ENAMETOOLONG. */
int hpml_sysfs_dir(char *buf, size_t len, const char *root, unsigned int id);
/* The module's parameters, version and buffer @id's sysfs counters. */
void hpml_sysfs_extras(const char *root, unsigned int id,
		       struct hpagemap_info *info);
/* The device node's numbers, mode and owner from @st. */
void hpml_info_node(struct hpagemap_info *info, const struct stat *st);

#endif /* HPAGEMAP_INTERNAL_H */
