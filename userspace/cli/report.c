// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * report.c - text and JSON output of info, pools and list (pure functions)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "report.h"

/* "crw-rw----" */
static char *mode_string(mode_t mode, char *buf)
{
	static const char rwx[] = "rwxrwxrwx";
	int i;

	buf[0] = S_ISCHR(mode) ? 'c' : S_ISBLK(mode) ? 'b' :
		 S_ISDIR(mode) ? 'd' : S_ISREG(mode) ? '-' : '?';
	for (i = 0; i < 9; i++)
		buf[i + 1] = (mode & (0400 >> i)) ? rwx[i] : '-';
	buf[10] = '\0';
	return buf;
}

static void count_text(char *buf, size_t len, long long v)
{
	if (v < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%lld", v);
}

/* Are there pools of more than one NUMA node? */
static bool several_nodes(const struct hpagemap_pool *pools, int n)
{
	int first = -1;

	for (int i = 0; i < n; i++) {
		if (pools[i].node < 0)
			continue;
		if (first < 0)
			first = pools[i].node;
		else if (pools[i].node != first)
			return true;
	}
	return false;
}

void report_pools_text(FILE *f, const struct hpagemap_pool *pools, int n)
{
	bool nodes = several_nodes(pools, n);

	fprintf(f, "%9s %5s %8s %8s %8s %8s %10s  %s\n", "Size", "Node",
		"Total", "Free", "Reserved", "Surplus", "Memory", "Default");
	for (int i = 0; i < n; i++) {
		const struct hpagemap_pool *p = &pools[i];
		char size[16], mem[16], node[12], total[24], free[24], resv[24],
		     surp[24];

		if (p->node >= 0 && !nodes)
			continue;
		hpagemap_format_size(p->page_size, size, sizeof(size));
		hpagemap_format_size(p->total > 0 ? p->page_size * (uint64_t)p->total : 0,
				     mem, sizeof(mem));
		if (p->node < 0)
			snprintf(node, sizeof(node), "all");
		else
			snprintf(node, sizeof(node), "%d", p->node);
		count_text(total, sizeof(total), p->total);
		count_text(free, sizeof(free), p->free);
		count_text(resv, sizeof(resv), p->reserved);
		count_text(surp, sizeof(surp), p->surplus);
		fprintf(f, "%9s %5s %8s %8s %8s %8s %10s%s\n", size, node,
			total, free, resv, surp, mem,
			p->is_default && p->node < 0 ? "  *" : "");
	}
}

void report_pools_json(struct json *j, const char *key,
		       const struct hpagemap_pool *pools, int n)
{
	json_begin_array(j, key);
	for (int i = 0; i < n; i++) {
		const struct hpagemap_pool *p = &pools[i];
		char size[16];

		json_begin_object(j, NULL);
		json_u64(j, "page_size", p->page_size);
		json_string(j, "page_size_human",
			    hpagemap_format_size(p->page_size, size, sizeof(size)));
		if (p->node < 0)
			json_null(j, "node");
		else
			json_i64(j, "node", p->node);
		json_count(j, "total", p->total);
		json_count(j, "free", p->free);
		json_count(j, "reserved", p->reserved);
		json_count(j, "surplus", p->surplus);
		json_count(j, "overcommit", p->overcommit);
		json_bool(j, "default", p->is_default);
		json_end_object(j);
	}
	json_end_array(j);
}

static void pools_text(FILE *f, const struct report *r)
{
	fprintf(f, "\nHuge page pools (in pages, as hugeadm --pool-list; "
		"Reserved: promised to mappings):\n");
	if (r->nr_pools < 0)
		fprintf(f, "  cannot read %s: %s\n", HPAGEMAP_SYSFS_HUGEPAGES,
			hpagemap_strerror(r->nr_pools));
	else
		report_pools_text(f, r->pools, r->nr_pools);
}

/* A buffer's size, page size, count and node, as info and list print them. */
static void json_geometry(struct json *j, uint64_t size, uint64_t page_size,
			  uint64_t nr_pages, int numa_node)
{
	char buf[16];

	json_u64(j, "size", size);
	json_string(j, "size_human", hpagemap_format_size(size, buf, sizeof(buf)));
	json_u64(j, "page_size", page_size);
	json_string(j, "page_size_human",
		    hpagemap_format_size(page_size, buf, sizeof(buf)));
	json_u64(j, "nr_pages", nr_pages);
	if (numa_node >= 0)
		json_i64(j, "numa_node", numa_node);
	else
		json_null(j, "numa_node");
}

void report_info_text(FILE *f, const struct report *r)
{
	const struct hpagemap_info *in = &r->info;
	char size[16], psize[16], files[24], maps[24];

	if (!r->have_info) {
		fprintf(f, "hpage_map: module %s\n",
			r->loaded ? "loaded, but no device registered" :
				    "not loaded");
		pools_text(f, r);
		return;
	}
	hpagemap_format_size(in->size, size, sizeof(size));
	hpagemap_format_size(in->page_size, psize, sizeof(psize));
	fprintf(f, "hpage_map: %s buffer of %" PRIu64 " x %s huge pages, ",
		size, in->nr_pages, psize);
	if (in->numa_node >= 0)
		fprintf(f, "NUMA node %d\n", in->numa_node);
	else
		fprintf(f, "spread over NUMA nodes\n");

	if (in->node_present) {
		char mode[11], owner[64], group[64];

		fprintf(f, "  device:     %s  char %u:%u  %s %s:%s%s\n", in->path,
			in->major, in->minor, mode_string(in->mode, mode),
			hpagemap_user_name(r->root, in->uid, owner, sizeof(owner)),
			hpagemap_group_name(r->root, in->gid, group, sizeof(group)),
			r->accessible ? "" : "  (no access for you)");
	} else {
		fprintf(f, "  device:     %s missing\n", in->path);
	}
	count_text(maps, sizeof(maps), in->mappings);
	count_text(files, sizeof(files), in->open_files);
	fprintf(f, "  in use:     %s mapping%s, %s open file%s\n", maps,
		in->mappings == 1 ? "" : "s", files,
		in->open_files == 1 ? "" : "s");
	fprintf(f, "  module:     %s", HPAGEMAP_MODULE);
	if (in->version[0])
		fprintf(f, " %s", in->version);
	if (in->srcversion[0])
		fprintf(f, " (srcversion %s)", in->srcversion);
	fprintf(f, "\n  parameters: nr_pages=");
	if (in->param_nr_pages >= 0)
		fprintf(f, "%lld", in->param_nr_pages);
	else
		fprintf(f, "?");
	fprintf(f, " page_size=");
	if (in->param_page_size >= 0)
		fprintf(f, "%lld (%s)", in->param_page_size,
			hpagemap_format_size((uint64_t)in->param_page_size,
					     psize, sizeof(psize)));
	else
		fprintf(f, "?");
	fprintf(f, "\n");
	pools_text(f, r);
}

void report_info_json(FILE *f, const struct report *r)
{
	const struct hpagemap_info *in = &r->info;
	struct json j;

	json_init(&j, f);
	json_begin_object(&j, NULL);

	json_begin_object(&j, "module");
	json_string(&j, "name", HPAGEMAP_MODULE);
	json_bool(&j, "loaded", r->loaded);
	if (r->have_info) {
		json_string(&j, "version", in->version);
		json_string(&j, "srcversion", in->srcversion);
		json_begin_object(&j, "parameters");
		json_count(&j, "nr_pages", in->param_nr_pages);
		json_count(&j, "page_size", in->param_page_size);
		json_end_object(&j);
	}
	json_end_object(&j);

	if (r->have_info) {
		json_begin_object(&j, "device");
		json_string(&j, "path", in->path);
		json_bool(&j, "present", in->node_present);
		if (in->node_present) {
			char buf[64];

			json_u64(&j, "major", in->major);
			json_u64(&j, "minor", in->minor);
			snprintf(buf, sizeof(buf), "%04o",
				 (unsigned int)(in->mode & 07777));
			json_string(&j, "mode", buf);
			json_string(&j, "owner",
				    hpagemap_user_name(r->root, in->uid, buf,
						       sizeof(buf)));
			json_string(&j, "group",
				    hpagemap_group_name(r->root, in->gid, buf,
							sizeof(buf)));
		}
		json_bool(&j, "accessible", r->accessible);
		json_end_object(&j);

		json_begin_object(&j, "buffer");
		json_u64(&j, "id", r->id);
		json_geometry(&j, in->size, in->page_size, in->nr_pages,
			      in->numa_node);
		json_count(&j, "mappings", in->mappings);
		json_count(&j, "open_files", in->open_files);
		json_string(&j, "source", in->from_sysfs ? "sysfs" : "ioctl");
		json_end_object(&j);
	} else {
		json_null(&j, "device");
		json_null(&j, "buffer");
	}

	if (r->nr_pools >= 0)
		report_pools_json(&j, "pools", r->pools, r->nr_pools);
	else
		json_null(&j, "pools");
	json_end_object(&j);
	json_finish(&j);
}

void report_list_text(FILE *f, const struct hpagemap_buffer *bufs, int n)
{
	fprintf(f, "%3s  %-18s %9s %9s %6s %6s  %s\n", "ID", "Device", "Size",
		"Page size", "Pages", "Node", "Users: fds/mappings/dma-bufs");
	for (int i = 0; i < n; i++) {
		const struct hpagemap_buffer *b = &bufs[i];
		char size[16], psize[16], node[12], fds[24], maps[24], dmabufs[24];

		hpagemap_format_size(b->size, size, sizeof(size));
		hpagemap_format_size(b->page_size, psize, sizeof(psize));
		if (b->numa_node >= 0)
			snprintf(node, sizeof(node), "%d", b->numa_node);
		else
			snprintf(node, sizeof(node), "spread");
		count_text(fds, sizeof(fds), b->open_files);
		count_text(maps, sizeof(maps), b->mappings);
		count_text(dmabufs, sizeof(dmabufs), b->dma_bufs);
		fprintf(f, "%3u  %-18s %9s %9s %6" PRIu64 " %6s  %s/%s/%s\n",
			b->id, b->path, size, psize, b->nr_pages, node, fds,
			maps, dmabufs);
	}
}

void report_list_json(FILE *f, bool loaded, const struct hpagemap_buffer *bufs,
		      int n)
{
	struct json j;

	json_init(&j, f);
	json_begin_object(&j, NULL);
	json_bool(&j, "loaded", loaded);
	json_begin_array(&j, "buffers");
	for (int i = 0; i < n; i++) {
		const struct hpagemap_buffer *b = &bufs[i];

		json_begin_object(&j, NULL);
		json_u64(&j, "id", b->id);
		json_string(&j, "device", b->path);
		json_geometry(&j, b->size, b->page_size, b->nr_pages,
			      b->numa_node);
		json_count(&j, "open_files", b->open_files);
		json_count(&j, "mappings", b->mappings);
		json_count(&j, "dma_bufs", b->dma_bufs);
		json_count(&j, "hwpoisoned_pages", b->hwpoisoned_pages);
		json_end_object(&j);
	}
	json_end_array(&j);
	json_end_object(&j);
	json_finish(&j);
}
