/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * report.h - what `hpage-map info`, `pools` and `list` print
 *
 * Pure functions of the data the library read, so that the host's unit
 * tests can check the text and JSON output against a fake sysfs tree.
 */
#ifndef HPAGE_MAP_REPORT_H
#define HPAGE_MAP_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "hpagemap.h"
#include "json.h"

struct report {
	const char *root;		/* sysfs root, for user/group names */
	bool loaded;			/* the module is loaded */
	bool have_info;			/* @info is valid */
	bool accessible;		/* the device could be opened */
	unsigned int id;		/* the buffer's number */
	struct hpagemap_info info;
	int nr_pools;			/* < 0: -errno reading the pools */
	const struct hpagemap_pool *pools;
};

/* The pools like `hugeadm --pool-list`, in human units. */
void report_pools_text(FILE *f, const struct hpagemap_pool *pools, int n);
void report_pools_json(struct json *j, const char *key,
		       const struct hpagemap_pool *pools, int n);

void report_info_text(FILE *f, const struct report *r);
void report_info_json(FILE *f, const struct report *r);

/* Every buffer, one line each: `hpage-map list`. */
void report_list_text(FILE *f, const struct hpagemap_buffer *bufs, int n);
void report_list_json(FILE *f, bool loaded, const struct hpagemap_buffer *bufs,
		      int n);

#endif /* HPAGE_MAP_REPORT_H */
