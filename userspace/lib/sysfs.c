// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sysfs.c - libhpagemap: what sysfs, /proc/meminfo and /etc say
 *
 * The system's huge page pools (like `hugeadm --pool-list`, plus the NUMA
 * nodes), the module's view of its buffer, user and group names.  Every
 * path is taken under a root directory so that tests can use a fake tree.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "hpagemap.h"
#include "internal.h"

static const char *root_of(const char *root)
{
	return root ? root : "";
}

int hpml_path(char *buf, size_t len, const char *root, const char *fmt, ...)
{
	va_list ap;
	int n, m;

	n = snprintf(buf, len, "%s", root_of(root));
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	va_start(ap, fmt);
	m = vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)m >= len - n)
		return -ENAMETOOLONG;
	return 0;
}

int hpml_read_text(const char *path, char *buf, size_t len)
{
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (got + 1 < len) {
		ssize_t n = read(fd, buf + got, len - 1 - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			close(fd);
			return (int)n;
		}
		if (!n)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	/* one line of text: drop the newline */
	while (got && (buf[got - 1] == '\n' || buf[got - 1] == ' '))
		buf[--got] = '\0';
	return (int)got;
}

/* A decimal (possibly negative) integer file: 0 or -errno. */
int hpml_read_ll(const char *path, long long *v)
{
	char buf[64], *end;
	int n = hpml_read_text(path, buf, sizeof(buf));

	if (n < 0)
		return n;
	errno = 0;
	*v = strtoll(buf, &end, 10);
	if (errno || end == buf || *end)
		return -EINVAL;
	return 0;
}

static long long read_ll_or(long long dflt, const char *root, const char *fmt,
			    const char *a, const char *b)
{
	char path[512];
	long long v;

	if (hpml_path(path, sizeof(path), root, fmt, a, b) ||
	    hpml_read_ll(path, &v))
		return dflt;
	return v;
}

uint64_t hpagemap_default_page_size(const char *root)
{
	char path[512], line[256];
	unsigned long long kb = 0;
	FILE *f;

	if (hpml_path(path, sizeof(path), root, "/proc/meminfo"))
		return 0;
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Hugepagesize: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb << 10;
}

/* "hugepages-2048kB" -> 2 MiB in bytes; 0 if the name is not such. */
static uint64_t hstate_size(const char *name)
{
	unsigned long long kb;
	char rest[4];

	if (sscanf(name, "hugepages-%llukB%3s", &kb, rest) != 1 || !kb)
		return 0;
	return (uint64_t)kb << 10;
}

struct pool_list {
	struct hpagemap_pool *p;
	size_t n, cap;
};

static struct hpagemap_pool *pool_add(struct pool_list *l)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct hpagemap_pool *p = realloc(l->p, cap * sizeof(*p));

		if (!p)
			return NULL;
		l->p = p;
		l->cap = cap;
	}
	memset(&l->p[l->n], 0, sizeof(l->p[0]));
	return &l->p[l->n++];
}

/* Read the hugepages-*kB directories in @dir into @l for @node. */
static int pools_read_dir(struct pool_list *l, const char *dir, int node,
			  uint64_t default_size)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		uint64_t size = hstate_size(de->d_name);
		struct hpagemap_pool *p;
		char sub[512];

		if (!size || snprintf(sub, sizeof(sub), "%s/%s", dir,
				      de->d_name) >= (int)sizeof(sub))
			continue;
		p = pool_add(l);
		if (!p) {
			closedir(d);
			return -ENOMEM;
		}
		p->page_size = size;
		p->node = node;
		p->is_default = size == default_size;
		p->total = read_ll_or(-1, NULL, "%s/%s", sub, "nr_hugepages");
		p->free = read_ll_or(-1, NULL, "%s/%s", sub, "free_hugepages");
		p->surplus = read_ll_or(-1, NULL, "%s/%s", sub,
					"surplus_hugepages");
		p->reserved = node < 0 ?
			read_ll_or(-1, NULL, "%s/%s", sub, "resv_hugepages") : -1;
		p->overcommit = node < 0 ?
			read_ll_or(-1, NULL, "%s/%s", sub,
				   "nr_overcommit_hugepages") : -1;
	}
	closedir(d);
	return 0;
}

static int pool_cmp(const void *a, const void *b)
{
	const struct hpagemap_pool *x = a, *y = b;

	if (x->page_size != y->page_size)
		return x->page_size < y->page_size ? -1 : 1;
	return (x->node > y->node) - (x->node < y->node);
}

static bool node_name(const char *name, int *node)
{
	char *end;
	long v;

	if (strncmp(name, "node", 4) || !isdigit((unsigned char)name[4]))
		return false;
	v = strtol(name + 4, &end, 10);
	if (*end || v < 0 || v > 1 << 20)
		return false;
	*node = (int)v;
	return true;
}

int hpagemap_pools(const char *root, struct hpagemap_pool *pools, size_t max)
{
	struct pool_list l = { NULL, 0, 0 };
	uint64_t dflt = hpagemap_default_page_size(root);
	char dir[512];
	struct dirent *de;
	DIR *d;
	int ret;

	ret = hpml_path(dir, sizeof(dir), root, HPAGEMAP_SYSFS_HUGEPAGES);
	if (!ret)
		ret = pools_read_dir(&l, dir, -1, dflt);
	if (ret)
		goto out;
	if (!l.n) {
		ret = -ENOENT;
		goto out;
	}

	/* No node directory: a kernel without NUMA; the system pools stand. */
	ret = hpml_path(dir, sizeof(dir), root, HPAGEMAP_SYSFS_NODES);
	d = ret ? NULL : opendir(dir);
	while (d && (de = readdir(d))) {
		char sub[512];
		int node;

		if (!node_name(de->d_name, &node))
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s/hugepages", dir,
			     de->d_name) >= (int)sizeof(sub))
			continue;
		ret = pools_read_dir(&l, sub, node, dflt);
		if (ret == -ENOMEM)
			break;
		ret = 0;
	}
	if (d)
		closedir(d);
	if (ret)
		goto out;

	qsort(l.p, l.n, sizeof(l.p[0]), pool_cmp);
	if (pools && max)
		memcpy(pools, l.p, (l.n < max ? l.n : max) * sizeof(l.p[0]));
	ret = l.n > 0x7fffffff ? 0x7fffffff : (int)l.n;
out:
	free(l.p);
	return ret;
}

int hpagemap_pool_of(const char *root, uint64_t page_size,
		     struct hpagemap_pool *pool)
{
	struct pool_list l = { NULL, 0, 0 };
	char dir[512];
	int ret;

	ret = hpml_path(dir, sizeof(dir), root, HPAGEMAP_SYSFS_HUGEPAGES);
	if (!ret)
		ret = pools_read_dir(&l, dir, -1,
				     hpagemap_default_page_size(root));
	if (!ret) {
		ret = -ENOENT;
		for (size_t i = 0; i < l.n; i++) {
			if (l.p[i].page_size == page_size) {
				*pool = l.p[i];
				ret = 0;
				break;
			}
		}
	}
	free(l.p);
	return ret;
}

int hpagemap_pool_check(const char *root, uint64_t page_size,
			uint64_t nr_pages, char *cmd, size_t len)
{
	struct hpagemap_pool pool;
	long long avail, want;

	if (cmd && len)
		cmd[0] = '\0';
	if (!page_size)
		page_size = hpagemap_default_page_size(root);
	if (!page_size || hpagemap_pool_of(root, page_size, &pool))
		return -EINVAL;
	avail = pool.free - (pool.reserved > 0 ? pool.reserved : 0);
	if (avail < 0)
		avail = 0;
	if (nr_pages <= (uint64_t)avail)
		return 0;
	/* The driver's own message (driver/pool.c) computes the same total. */
	want = pool.total + (long long)nr_pages - avail;
	if (cmd && len)
		snprintf(cmd, len, "echo %lld > " HPAGEMAP_SYSFS_HUGEPAGES
			 "/hugepages-%" PRIu64 "kB/nr_hugepages",
			 want, page_size >> 10);
	return -ENOMEM;
}

bool hpagemap_module_loaded(const char *root)
{
	char path[512];

	return !hpml_path(path, sizeof(path), root, HPAGEMAP_SYSFS_MODULE) &&
	       !access(path, F_OK);
}

int hpml_sysfs_dir(char *buf, size_t len, const char *root, unsigned int id)
{
	if (!id)
		return hpml_path(buf, len, root, HPAGEMAP_SYSFS_DEVICE);
	return hpml_path(buf, len, root, HPAGEMAP_SYSFS_DEVICE "%u", id);
}

/*
 * Entry @idx of a comma-separated list parameter ("8" or "8,4,2"), -1 if
 * the list is shorter or the entry no number.
 */
static long long param_entry(const char *root, const char *name,
			     unsigned int idx)
{
	char path[512], buf[512], *p = buf, *end;
	long long v;

	if (hpml_path(path, sizeof(path), root, HPAGEMAP_SYSFS_MODULE
		      "/parameters/%s", name) ||
	    hpml_read_text(path, buf, sizeof(buf)) <= 0)
		return -1;
	for (; idx; idx--) {
		p = strchr(p, ',');
		if (!p)
			return -1;
		p++;
	}
	errno = 0;
	v = strtoll(p, &end, 10);
	if (errno || end == p || (*end && *end != ','))
		return -1;
	return v;
}

/* Module parameters, version and class attributes into @info. */
void hpml_sysfs_extras(const char *root, unsigned int id,
		       struct hpagemap_info *info)
{
	char path[512], dir[512];

	if (hpml_sysfs_dir(dir, sizeof(dir), root, id)) {
		info->mappings = info->open_files = -1;
	} else {
		info->mappings = read_ll_or(-1, NULL, "%s/%s", dir, "mappings");
		info->open_files = read_ll_or(-1, NULL, "%s/%s", dir,
					      "open_files");
	}
	info->param_nr_pages = param_entry(root, "nr_pages", id);
	info->param_page_size = param_entry(root, "page_size", id);
	info->version[0] = info->srcversion[0] = '\0';
	if (!hpml_path(path, sizeof(path), root, HPAGEMAP_SYSFS_MODULE "/version") &&
	    hpml_read_text(path, info->version, sizeof(info->version)) < 0)
		info->version[0] = '\0';
	if (!hpml_path(path, sizeof(path), root,
		      HPAGEMAP_SYSFS_MODULE "/srcversion") &&
	    hpml_read_text(path, info->srcversion, sizeof(info->srcversion)) < 0)
		info->srcversion[0] = '\0';
}

void hpml_info_node(struct hpagemap_info *info, const struct stat *st)
{
	info->node_present = true;
	info->major = major(st->st_rdev);
	info->minor = minor(st->st_rdev);
	info->mode = st->st_mode;
	info->uid = st->st_uid;
	info->gid = st->st_gid;
}

/*
 * Buffer @id's sysfs directory into @dir (512 bytes) and its geometry: 0,
 * -ENOENT if the module is not loaded, -ENODEV when the directory (or an
 * attribute: being removed) is missing.
 */
static int read_geometry(const char *root, unsigned int id, char *dir,
			 uint64_t *size, uint64_t *page_size,
			 uint64_t *nr_pages, int *numa_node)
{
	static const char *const names[] = { "size", "page_size", "nr_pages" };
	uint64_t *fields[3] = { size, page_size, nr_pages };
	char path[512];

	if (!hpagemap_module_loaded(root))
		return -ENOENT;
	if (hpml_sysfs_dir(dir, 512, root, id))
		return -ENAMETOOLONG;
	for (int i = 0; i < 3; i++) {
		long long v;
		int ret = hpml_path(path, sizeof(path), NULL, "%s/%s", dir,
				    names[i]);

		if (!ret)
			ret = hpml_read_ll(path, &v);
		if (ret)
			/* loaded but not registered (yet): no device */
			return ret == -ENOENT ? -ENODEV : ret;
		*fields[i] = (uint64_t)v;
	}
	*numa_node = (int)read_ll_or(-1, NULL, "%s/%s", dir, "numa_node");
	return 0;
}

int hpagemap_sysfs_info_id(const char *root, unsigned int id,
			   struct hpagemap_info *info)
{
	char path[512], dir[512];
	struct stat st;
	int ret;

	memset(info, 0, sizeof(*info));
	info->numa_node = -1;
	hpagemap_device_path(id, info->path, sizeof(info->path));
	info->from_sysfs = true;
	ret = read_geometry(root, id, dir, &info->size, &info->page_size,
			    &info->nr_pages, &info->numa_node);
	if (ret)
		return ret;
	hpml_sysfs_extras(root, id, info);
	if (!hpml_path(path, sizeof(path), root, "%s", info->path) &&
	    !stat(path, &st))
		hpml_info_node(info, &st);
	return 0;
}

int hpagemap_sysfs_info(const char *root, struct hpagemap_info *info)
{
	return hpagemap_sysfs_info_id(root, 0, info);
}

int hpagemap_buffer_info(const char *root, unsigned int id,
			 struct hpagemap_buffer *buf)
{
	char dir[512];
	int ret;

	memset(buf, 0, sizeof(*buf));
	buf->id = id;
	buf->numa_node = -1;
	buf->open_files = buf->mappings = buf->dma_bufs =
		buf->hwpoisoned_pages = -1;
	hpagemap_device_path(id, buf->path, sizeof(buf->path));
	ret = read_geometry(root, id, dir, &buf->size, &buf->page_size,
			    &buf->nr_pages, &buf->numa_node);
	if (ret)
		return ret;
	buf->open_files = read_ll_or(-1, NULL, "%s/%s", dir, "open_files");
	buf->mappings = read_ll_or(-1, NULL, "%s/%s", dir, "mappings");
	buf->dma_bufs = read_ll_or(-1, NULL, "%s/%s", dir, "dma_bufs");
	buf->hwpoisoned_pages = read_ll_or(-1, NULL, "%s/%s", dir,
					   "hwpoisoned_pages");
	return 0;
}

/* "hpage_map" -> 0, "hpage_map12" -> 12; false for anything else. */
static bool buffer_name(const char *name, unsigned int *id)
{
	/* buffer 0's misc device name: HPAGEMAP_SYSFS_DEVICE's last part */
	static const char base[] = "hpage_map";
	size_t n = sizeof(base) - 1;
	unsigned long v;
	char *end;

	if (strncmp(name, base, n))
		return false;
	name += n;
	if (!*name) {
		*id = 0;
		return true;
	}
	/* digits only, no leading zero: one name per id */
	if (!isdigit((unsigned char)name[0]) || name[0] == '0')
		return false;
	errno = 0;
	v = strtoul(name, &end, 10);
	if (errno || *end || v > 0xffffffffUL)
		return false;
	*id = (unsigned int)v;
	return true;
}

static int buffer_cmp(const void *a, const void *b)
{
	const struct hpagemap_buffer *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

int hpagemap_list(const char *root, struct hpagemap_buffer *bufs, size_t max)
{
	struct hpagemap_buffer *all = NULL;
	size_t n = 0, cap = 0;
	char dir[512];
	struct dirent *de;
	DIR *d;
	int ret = 0;

	if (!hpagemap_module_loaded(root))
		return -ENOENT;
	if (hpml_path(dir, sizeof(dir), root, HPAGEMAP_SYSFS_MISC))
		return -ENAMETOOLONG;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		unsigned int id;

		if (!buffer_name(de->d_name, &id))
			continue;
		if (n == cap) {
			size_t c = cap ? cap * 2 : 8;
			struct hpagemap_buffer *p = realloc(all, c * sizeof(*p));

			if (!p) {
				ret = -ENOMEM;
				break;
			}
			all = p;
			cap = c;
		}
		/* gone since readdir (removed): not a buffer any more */
		if (!hpagemap_buffer_info(root, id, &all[n]))
			n++;
	}
	closedir(d);
	if (!ret && n) {
		qsort(all, n, sizeof(*all), buffer_cmp);
		if (bufs && max)
			memcpy(bufs, all, (n < max ? n : max) * sizeof(*all));
	}
	if (!ret)
		ret = n > 0x7fffffff ? 0x7fffffff : (int)n;
	free(all);
	return ret;
}

/*
 * Look up a passwd or group file ("name:password:id:..."): with @name, the
 * id of the entry so named; without, the name of the entry whose id is *@id.
 */
static int id_file_lookup(const char *root, const char *file, const char *name,
			  unsigned int *id, char *buf, size_t len)
{
	char path[512], line[1024];
	int ret = -ENOENT;
	FILE *f;

	if (hpml_path(path, sizeof(path), root, "%s", file))
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *pw = strchr(line, ':'), *idstr, *end;
		unsigned long v;

		if (!pw)
			continue;
		*pw++ = '\0';
		idstr = strchr(pw, ':');
		if (!idstr)
			continue;
		idstr++;
		v = strtoul(idstr, &end, 10);
		if (end == idstr || (*end != ':' && *end != '\n' && *end))
			continue;
		if (name ? !strcmp(line, name) : v == *id) {
			if (name)
				*id = (unsigned int)v;
			else
				snprintf(buf, len, "%s", line);
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

char *hpagemap_user_name(const char *root, uid_t uid, char *buf, size_t len)
{
	unsigned int id = uid;

	if (id_file_lookup(root, "/etc/passwd", NULL, &id, buf, len))
		snprintf(buf, len, "%u", id);
	return buf;
}

char *hpagemap_group_name(const char *root, gid_t gid, char *buf, size_t len)
{
	unsigned int id = gid;

	if (id_file_lookup(root, "/etc/group", NULL, &id, buf, len))
		snprintf(buf, len, "%u", id);
	return buf;
}

int hpagemap_group_id(const char *root, const char *name, gid_t *gid)
{
	unsigned int id = 0;
	int ret = id_file_lookup(root, "/etc/group", name, &id, NULL, 0);

	if (!ret)
		*gid = id;
	return ret < 0 ? -ENOENT : 0;
}
