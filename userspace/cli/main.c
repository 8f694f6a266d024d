// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hpage-map - command line tool for /dev/hpage_map
 *
 * One binary with subcommands (info, pools, list, fill, verify, share,
 * phys, export, create, remove, load, unload), built on libhpagemap.  See
 * hpage-map(1).
 *
 * Exit status: 0 success, 1 data mismatch (verify, share), 2 usage error,
 * 3 any other failure (module not loaded, no permission, pool too small).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hpagemap.h"
#include "json.h"
#include "pattern.h"
#include "report.h"

#define EXIT_MISMATCH	1
#define EXIT_USAGE	2
#define EXIT_ERROR	3

#define MAX_POOLS	256
#define MAX_BUFFERS	1024

static const char *prog = "hpage-map";

struct ctx {
	const char *device;	/* --device, default HPAGE_MAP_DEVICE */
	long long id;		/* the buffer @device names, -1: not one */
	char devbuf[64];	/* @device when --device gave an id */
	const char *root;	/* --sysroot / HPAGEMAP_SYSROOT, NULL: real */
	const char *cmd;	/* the subcommand, for messages */
};

struct command {
	const char *name;
	int (*run)(struct ctx *c, int argc, char **argv);
	const char *usage;	/* the synopsis after the command name */
	const char *help;	/* the description and options */
};

static const struct command *find_command(const char *name);

/* ------------------------------------------------------------------ */
/* messages                                                            */

__attribute__((format(printf, 2, 3)))
static void err_msg(const struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	if (c && c->cmd)
		fprintf(stderr, "%s: %s: ", prog, c->cmd);
	else
		fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int usage_error(const struct ctx *c, const char *what)
{
	err_msg(c, "%s", what);
	if (c && c->cmd)
		fprintf(stderr, "Try '%s %s --help'.\n", prog, c->cmd);
	else
		fprintf(stderr, "Try '%s --help'.\n", prog);
	return EXIT_USAGE;
}

static void print_command_help(FILE *f, const struct command *cmd)
{
	if (!cmd)
		return;
	fprintf(f, "Usage: %s [GLOBAL OPTIONS] %s %s\n\n%s", prog, cmd->name,
		cmd->usage, cmd->help);
}

/* "3" -> 3, anything but plain decimal digits -> -1. */
static long long parse_id(const char *s)
{
	unsigned long long v;
	char *end;

	if (!*s || strspn(s, "0123456789") != strlen(s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	return errno || v > 0xffffffffULL ? -1 : (long long)v;
}

/* The buffer a device path names: /dev/hpage_map 0, /dev/hpage_mapN N. */
static long long id_of_path(const char *path)
{
	size_t n = strlen(HPAGE_MAP_DEVICE);
	long long id;

	if (strncmp(path, HPAGE_MAP_DEVICE, n))
		return -1;
	if (!path[n])
		return 0;
	id = parse_id(path + n);
	/* "/dev/hpage_map01" is no buffer's node */
	return id > 0 && path[n] != '0' ? id : -1;
}

/* --device PATH|ID: all digits is a buffer's id, anything else a path. */
static void set_device(struct ctx *c, const char *arg)
{
	long long id = parse_id(arg);

	if (id >= 0 && !hpagemap_device_path((unsigned int)id, c->devbuf,
					     sizeof(c->devbuf))) {
		c->device = c->devbuf;
		c->id = id;
		return;
	}
	c->device = arg;
	c->id = id_of_path(arg);
}

static char *print_size(char *buf, size_t len, uint64_t size)
{
	return hpagemap_format_size(size, buf, len);
}

/* A size as module parameters and the kernel command line take it: "2M". */
static char *param_size(char *buf, size_t len, uint64_t size)
{
	static const char units[] = "KMGT";
	int u = -1;

	while (u < 3 && size && size % 1024 == 0) {
		size /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%" PRIu64, size);
	else
		snprintf(buf, len, "%" PRIu64 "%c", size, units[u]);
	return buf;
}

/* "hpage_map is not loaded" with how to load it and whether the pool fits. */
static void hint_not_loaded(const struct ctx *c)
{
	uint64_t ps = hpagemap_default_page_size(c->root);
	char size[16], cmd[160];

	if (!ps) {
		fprintf(stderr, "  Load it (as root):  modprobe %s; but this "
			"kernel shows no huge page support (%s)\n",
			HPAGEMAP_MODULE, HPAGEMAP_SYSFS_HUGEPAGES);
		return;
	}
	param_size(size, sizeof(size), ps);
	fprintf(stderr, "  Load it (as root):  modprobe %s nr_pages=%d "
		"page_size=%s\n", HPAGEMAP_MODULE, HPAGEMAP_DEFAULT_NR_PAGES,
		size);
	fprintf(stderr, "                 or:  %s load --nr-pages %d "
		"--page-size %s\n", prog, HPAGEMAP_DEFAULT_NR_PAGES, size);
	if (hpagemap_pool_check(c->root, ps, HPAGEMAP_DEFAULT_NR_PAGES, cmd,
				sizeof(cmd)) == -ENOMEM)
		fprintf(stderr, "  But first grow the %s huge page pool, which "
			"has fewer than %d free pages:  %s\n", size,
			HPAGEMAP_DEFAULT_NR_PAGES, cmd);
}

/* Who may open the device and how to become one of them. */
static void hint_access(const struct ctx *c, const char *path)
{
	char mode[12], owner[64], group[64];
	struct stat st;
	gid_t hpage_gid;
	bool have_group = !hpagemap_group_id(c->root, HPAGEMAP_GROUP, &hpage_gid);

	if (stat(path, &st)) {
		fprintf(stderr, "  Access is for root and the members of group "
			"'%s'.\n", HPAGEMAP_GROUP);
		return;
	}
	snprintf(mode, sizeof(mode), "%04o", (unsigned int)(st.st_mode & 07777));
	hpagemap_user_name(c->root, st.st_uid, owner, sizeof(owner));
	hpagemap_group_name(c->root, st.st_gid, group, sizeof(group));
	fprintf(stderr, "  %s is mode %s, owner %s, group %s; you are uid %u.\n",
		path, mode, owner, group, (unsigned int)geteuid());
	if (have_group && st.st_gid == hpage_gid && (st.st_mode & 0060)) {
		fprintf(stderr, "  You are not in group '%s': add yourself "
			"(as root):  usermod -aG %s $USER  then log in again "
			"(or run: newgrp %s).\n", HPAGEMAP_GROUP, HPAGEMAP_GROUP,
			HPAGEMAP_GROUP);
	} else {
		fprintf(stderr, "  Only root may use it: install the udev rule "
			"60-hpage-map.rules (make install puts it in "
			"/etc/udev/rules.d) so that group '%s' gets read-write "
			"access (GROUP=\"%s\", MODE=\"0660\"),\n"
			"  %s%s%sadd yourself:  usermod -aG %s $USER,  and "
			"reload the module; or run as root.\n", HPAGEMAP_GROUP,
			HPAGEMAP_GROUP,
			have_group ? "" : "create the group:  groupadd --system ",
			have_group ? "" : HPAGEMAP_GROUP,
			have_group ? "" : ",  ", HPAGEMAP_GROUP);
	}
}

/* Explain why opening (or using) the device failed; returns EXIT_ERROR. */
static int device_error(const struct ctx *c, const char *what, int err)
{
	const char *path = c->device;
	struct hpagemap_info info;

	switch (-err) {
	case ENOENT:
		if (hpagemap_module_loaded(c->root) && c->id >= 0 &&
		    hpagemap_sysfs_info_id(c->root, (unsigned int)c->id,
					   &info) == -ENODEV)
			return device_error(c, what, -ENODEV);
		if (hpagemap_module_loaded(c->root) && c->id >= 0) {
			char dev[32] = "", p[256], n[24] = "";
			FILE *f = NULL;

			if (c->id)
				snprintf(n, sizeof(n), "%lld", c->id);
			if (snprintf(p, sizeof(p), "%s%s%s/dev",
				     c->root ? c->root : "",
				     HPAGEMAP_SYSFS_DEVICE, n) < (int)sizeof(p))
				f = fopen(p, "re");
			if (!f || !fgets(dev, sizeof(dev), f))
				dev[0] = '\0';
			if (f)
				fclose(f);
			dev[strcspn(dev, "\n")] = '\0';
			for (char *s = dev; *s; s++)
				if (*s == ':')
					*s = ' ';
			err_msg(c, "%s: %s is missing although the %s module is "
				"loaded: without devtmpfs or udev, create it:  "
				"mknod %s c %s", what, path, HPAGEMAP_MODULE, path,
				dev[0] ? dev : "MAJOR MINOR");
			break;
		}
		if (c->id < 0) {
			err_msg(c, "%s: %s does not exist", what, path);
			break;
		}
		err_msg(c, "%s: %s does not exist: the %s module is not loaded.",
			what, path, HPAGEMAP_MODULE);
		hint_not_loaded(c);
		break;
	case ENODEV:
		if (c->id < 0)
			goto other;
		err_msg(c, "%s: the %s module has no buffer %lld: `%s list` "
			"shows the buffers there are, `%s create` adds one", what,
			HPAGEMAP_MODULE, c->id, prog, prog);
		break;
	case EACCES:
		err_msg(c, "%s: permission denied (%s needs root or group '%s')",
			what, path, HPAGEMAP_GROUP);
		hint_access(c, path);
		break;
	case EPERM:
		err_msg(c, "%s: operation not permitted: physical addresses "
			"need CAP_SYS_ADMIN; run as root (sudo %s %s)", what,
			prog, c->cmd ? c->cmd : "");
		break;
	case ENOTTY:
		err_msg(c, "%s: %s is not an hpage_map device", what, path);
		break;
	default:
other:
		err_msg(c, "%s: %s", what, hpagemap_strerror(err));
		break;
	}
	return EXIT_ERROR;
}

static int open_device(const struct ctx *c, int flags, struct hpagemap **hp)
{
	char what[128];
	int err;

	if (c->id >= 0)
		err = hpagemap_open_id(hp, (unsigned int)c->id, flags);
	else
		err = hpagemap_open(hp, c->device, flags);
	if (!err)
		return 0;
	snprintf(what, sizeof(what), "cannot open %s", c->device);
	return device_error(c, what, err);
}

/* KernelPageSize of the mapping at @addr in kB, -1 if unknown. */
static long kernel_page_kb(const void *addr)
{
	char line[512];
	unsigned long a = (unsigned long)addr, s, e;
	bool in = false;
	long kb = -1;
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *dash = strchr(line, '-'), *sp = strchr(line, ' ');

		if (dash && sp && dash < sp &&
		    sscanf(line, "%lx-%lx ", &s, &e) == 2) {
			in = a >= s && a < e;
			continue;
		}
		if (in && sscanf(line, "KernelPageSize: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */
/* option parsing                                                      */

static int parse_size_opt(const struct ctx *c, const char *opt,
			  const char *arg, uint64_t *v)
{
	char msg[160];

	if (!hpagemap_parse_size(arg, v))
		return 0;
	snprintf(msg, sizeof(msg), "invalid %s '%s': a number of bytes with an "
		 "optional unit K, M, G or T (e.g. 4096, 2M, 0x200000)", opt,
		 arg);
	return usage_error(c, msg);
}

/*
 * getopt_long over a subcommand's arguments: --help prints the command's
 * help.  Returns the option, -1 at the end, or -2 when the caller should
 * return *@ret (help printed or usage error).
 */
static int next_opt(struct ctx *c, int argc, char **argv,
		    const char *shortopts, const struct option *longopts,
		    int *ret)
{
	int opt;

	/* --device: the same for every command that opens a buffer */
	while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) == 'd')
		set_device(c, optarg);

	if (opt == 'h') {
		print_command_help(stdout, find_command(c->cmd));
		*ret = 0;
		return -2;
	}
	if (opt == '?') {
		*ret = usage_error(c, "invalid option");
		return -2;
	}
	return opt;
}

static int no_operands(const struct ctx *c, int argc, char **argv)
{
	char msg[160];

	if (optind >= argc)
		return 0;
	snprintf(msg, sizeof(msg), "unexpected argument '%s'", argv[optind]);
	return usage_error(c, msg);
}

/* parse_range_opts(), json_opts(): --help was given and answered */
#define OPTS_HELP	(-1)

/*
 * The options of a command that takes --json, --help and, if @device,
 * --device: 0, OPTS_HELP or an exit status.
 */
static int json_opts(struct ctx *c, int argc, char **argv, bool device,
		     bool *json)
{
	static const struct option with_device[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	/* the same without --device */
	const struct option *opts = device ? with_device : with_device + 1;
	int opt, ret = 0;

	*json = false;
	while ((opt = next_opt(c, argc, argv, device ? "jd:h" : "jh", opts,
			       &ret)) != -1) {
		if (opt == -2)
			return ret ? ret : OPTS_HELP;
		*json = true;
	}
	return no_operands(c, argc, argv);
}

/* ------------------------------------------------------------------ */
/* info, pools                                                         */

static int cmd_info(struct ctx *c, int argc, char **argv)
{
	struct hpagemap_pool *pools;
	struct report r;
	struct hpagemap *hp = NULL;
	bool json;
	int ret, err = -ENOENT;

	ret = json_opts(c, argc, argv, true, &json);
	if (ret)
		return ret == OPTS_HELP ? 0 : ret;

	pools = calloc(MAX_POOLS, sizeof(*pools));
	if (!pools) {
		err_msg(c, "out of memory");
		return EXIT_ERROR;
	}
	memset(&r, 0, sizeof(r));
	r.root = c->root;
	r.pools = pools;
	r.nr_pools = hpagemap_pools(c->root, pools, MAX_POOLS);
	if (r.nr_pools > MAX_POOLS)
		r.nr_pools = MAX_POOLS;
	r.loaded = hpagemap_module_loaded(c->root);

	/* With --sysroot only sysfs is read: the device is the real one. */
	if (!c->root)
		err = c->id >= 0 ?
		      hpagemap_open_id(&hp, (unsigned int)c->id, O_RDONLY) :
		      hpagemap_open(&hp, c->device, O_RDONLY);
	if (!err) {
		r.id = hpagemap_id(hp);
		err = hpagemap_get_info(hp, &r.info);
		hpagemap_close(hp);
		r.have_info = r.accessible = !err;
	}
	if (!r.have_info && (c->root || err == -EACCES)) {
		int serr = hpagemap_sysfs_info_id(c->root, c->id > 0 ?
						  (unsigned int)c->id : 0,
						  &r.info);

		r.have_info = !serr;
		r.id = c->id > 0 ? (unsigned int)c->id : 0;
		snprintf(r.info.path, sizeof(r.info.path), "%s", c->device);
		/* only sysfs was asked: its answer is the error */
		if (c->root)
			err = serr;
	}

	if (json)
		report_info_json(stdout, &r);
	else
		report_info_text(stdout, &r);
	free(pools);
	fflush(stdout);

	if (!r.have_info) {
		char what[128];

		snprintf(what, sizeof(what), "cannot open %s", c->device);
		return device_error(c, what, err);
	}
	if (err == -EACCES) {
		/* Shown from sysfs; say why the device itself is closed. */
		err_msg(c, "note: %s is not accessible to you; the buffer was "
			"described from sysfs", c->device);
		hint_access(c, c->device);
	}
	return 0;
}

static int cmd_pools(struct ctx *c, int argc, char **argv)
{
	struct hpagemap_pool *pools;
	bool json;
	int ret, n;

	ret = json_opts(c, argc, argv, false, &json);
	if (ret)
		return ret == OPTS_HELP ? 0 : ret;
	pools = calloc(MAX_POOLS, sizeof(*pools));
	if (!pools) {
		err_msg(c, "out of memory");
		return EXIT_ERROR;
	}
	n = hpagemap_pools(c->root, pools, MAX_POOLS);
	if (n < 0) {
		free(pools);
		err_msg(c, "cannot read %s: %s", HPAGEMAP_SYSFS_HUGEPAGES,
			n == -ENOENT ? "this kernel has no huge page support "
			"(CONFIG_HUGETLBFS)" : hpagemap_strerror(n));
		return EXIT_ERROR;
	}
	if (n > MAX_POOLS)
		n = MAX_POOLS;
	if (json) {
		struct json j;

		json_init(&j, stdout);
		json_begin_object(&j, NULL);
		json_u64(&j, "default_page_size",
			 hpagemap_default_page_size(c->root));
		report_pools_json(&j, "pools", pools, n);
		json_end_object(&j);
		json_finish(&j);
	} else {
		report_pools_text(stdout, pools, n);
	}
	free(pools);
	return 0;
}

/* ------------------------------------------------------------------ */
/* fill, verify                                                        */

struct range_opts {
	struct pattern pat;
	uint64_t offset, length;
	bool have_length;
};

static int parse_range_opts(struct ctx *c, int argc, char **argv,
			    struct range_opts *o)
{
	static const struct option opts[] = {
		{ "pattern", required_argument, NULL, 'p' },
		{ "offset", required_argument, NULL, 'o' },
		{ "length", required_argument, NULL, 'l' },
		{ "device", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char msg[200];
	int opt, ret = 0;

	memset(o, 0, sizeof(*o));
	o->pat.kind = PATTERN_OFFSET;
	while ((opt = next_opt(c, argc, argv, "p:o:l:d:h", opts, &ret)) != -1) {
		switch (opt) {
		case -2:
			return ret ? ret : OPTS_HELP;
		case 'p':
			if (pattern_parse(optarg, &o->pat)) {
				snprintf(msg, sizeof(msg), "invalid pattern '%s': "
					 "offset, zero, byte:V or seed:N", optarg);
				return usage_error(c, msg);
			}
			break;
		case 'o':
			ret = parse_size_opt(c, "offset", optarg, &o->offset);
			if (ret)
				return ret;
			break;
		case 'l':
			ret = parse_size_opt(c, "length", optarg, &o->length);
			if (ret)
				return ret;
			o->have_length = o->length != 0;
			break;
		}
	}
	return no_operands(c, argc, argv);
}

/* Resolve the default length and check the range against the buffer. */
static int check_range(const struct ctx *c, const struct hpagemap *hp,
		       struct range_opts *o)
{
	uint64_t size = hpagemap_size(hp);
	char s[16];

	if (o->offset >= size) {
		err_msg(c, "offset %" PRIu64 " is outside the %s buffer",
			o->offset, print_size(s, sizeof(s), size));
		return EXIT_USAGE;
	}
	if (!o->have_length)
		o->length = size - o->offset;
	if (o->length > size - o->offset) {
		err_msg(c, "offset %" PRIu64 " + length %" PRIu64 " is beyond the "
			"end of the %s buffer", o->offset, o->length,
			print_size(s, sizeof(s), size));
		return EXIT_USAGE;
	}
	return 0;
}

/* Map the huge pages that hold [offset, offset + length). */
static int map_range(const struct ctx *c, struct hpagemap *hp,
		     const struct range_opts *o, int prot, char **base,
		     uint64_t *mstart, uint64_t *mlen)
{
	uint64_t ps = hpagemap_page_size(hp);
	void *p;
	int err;

	*mstart = o->offset / ps * ps;
	*mlen = (o->offset + o->length + ps - 1) / ps * ps - *mstart;
	err = hpagemap_map(hp, *mstart, *mlen, prot, &p);
	if (err)
		return device_error(c, "cannot map the buffer", err);
	*base = p;
	return 0;
}

static void rate(char *buf, size_t len, uint64_t bytes, double secs)
{
	char s[16];

	if (secs <= 0)
		secs = 1e-9;
	hpagemap_format_size((uint64_t)((double)bytes / secs), s, sizeof(s));
	snprintf(buf, len, "%.3f s, %s/s", secs, s);
}

static int cmd_fill_verify(struct ctx *c, int argc, char **argv, bool fill)
{
	struct range_opts o;
	struct hpagemap *hp;
	char *base = NULL, name[32], size[16], speed[48];
	uint64_t mstart, mlen = 0, bad;
	uint8_t expected, found;
	double t;
	int ret;

	ret = parse_range_opts(c, argc, argv, &o);
	if (ret)
		return ret == OPTS_HELP ? 0 : ret;
	ret = open_device(c, fill ? O_RDWR : O_RDONLY, &hp);
	if (ret)
		return ret;
	ret = check_range(c, hp, &o);
	if (!ret)
		ret = map_range(c, hp, &o, fill ? PROT_READ | PROT_WRITE :
				PROT_READ, &base, &mstart, &mlen);
	if (ret) {
		hpagemap_close(hp);
		return ret;
	}
	pattern_name(&o.pat, name, sizeof(name));
	print_size(size, sizeof(size), o.length);
	t = now_seconds();
	if (fill) {
		pattern_fill(&o.pat, base + (o.offset - mstart), o.offset,
			     o.length);
		rate(speed, sizeof(speed), o.length, now_seconds() - t);
		printf("filled %s at offset %" PRIu64 " (0x%" PRIx64 ") with "
		       "pattern %s (%s)\n", size, o.offset, o.offset, name,
		       speed);
	} else if (pattern_verify(&o.pat, base + (o.offset - mstart), o.offset,
				  o.length, &bad, &expected, &found)) {
		err_msg(c, "mismatch at offset %" PRIu64 " (0x%" PRIx64 "): "
			"expected 0x%02x, found 0x%02x (pattern %s, range "
			"offset %" PRIu64 " length %" PRIu64 ")", bad, bad,
			expected, found, name, o.offset, o.length);
		ret = EXIT_MISMATCH;
	} else {
		rate(speed, sizeof(speed), o.length, now_seconds() - t);
		printf("verified %s at offset %" PRIu64 " (0x%" PRIx64 "): "
		       "pattern %s matches (%s)\n", size, o.offset, o.offset,
		       name, speed);
	}
	hpagemap_unmap(base, mlen);
	hpagemap_close(hp);
	return ret;
}

static int cmd_fill(struct ctx *c, int argc, char **argv)
{
	return cmd_fill_verify(c, argc, argv, true);
}

static int cmd_verify(struct ctx *c, int argc, char **argv)
{
	return cmd_fill_verify(c, argc, argv, false);
}

/* ------------------------------------------------------------------ */
/* share                                                               */

#define SHARE_GREETING	0	/* offset in each huge page */
#define SHARE_REPLY	128	/* offset in huge page 0 */
#define SHARE_MSG_LEN	96
#define SHARE_BLOCK	4096	/* a check word at the end of each block */

/* Check the last word of every 4 KiB block: mismatches, first in *@first. */
static uint64_t share_check(const char *p, uint64_t size,
			    const struct pattern *pat, uint64_t *first,
			    uint64_t *words)
{
	uint64_t bad = 0, n = 0;

	for (uint64_t o = SHARE_BLOCK - 8; o < size; o += SHARE_BLOCK, n++) {
		uint64_t w;

		memcpy(&w, p + o, 8);
		if (w != pattern_word(pat, o) && !bad++)
			*first = o;
	}
	*words = n;
	return bad;
}

static void share_print_greetings(const char *who, const char *p,
				  uint64_t nr, uint64_t ps)
{
	for (uint64_t i = 0; i < nr; i++) {
		char msg[SHARE_MSG_LEN + 1];

		if (i == 3 && nr > 4) {
			printf("%s   ... (%" PRIu64 " more huge pages)\n", who,
			       nr - 4);
			i = nr - 1;
		}
		memcpy(msg, p + i * ps + SHARE_GREETING, SHARE_MSG_LEN);
		msg[SHARE_MSG_LEN] = '\0';
		printf("%s   huge page %" PRIu64 " says: \"%s\"\n", who, i,
		       msg[0] ? msg : "(nothing)");
	}
}

static int share_reader(struct ctx *c, uint64_t seed)
{
	struct pattern pat = { PATTERN_SEED, seed };
	struct hpagemap *hp;
	char who[40], *p;
	uint64_t size, ps, bad, first = 0, words;
	void *addr;
	int ret;

	snprintf(who, sizeof(who), "reader pid %d:", (int)getpid());
	ret = open_device(c, O_RDWR, &hp);
	if (ret)
		return ret;
	size = hpagemap_size(hp);
	ps = hpagemap_page_size(hp);
	ret = hpagemap_map(hp, 0, 0, PROT_READ | PROT_WRITE, &addr);
	if (ret) {
		hpagemap_close(hp);
		return device_error(c, "cannot map the buffer", ret);
	}
	p = addr;
	printf("%s a new program (exec), its own open() of %s and mmap() at "
	       "%p, KernelPageSize %ld kB\n", who, c->device, addr,
	       kernel_page_kb(addr));
	share_print_greetings(who, p, hpagemap_nr_pages(hp), ps);
	bad = share_check(p, size, &pat, &first, &words);
	if (bad)
		printf("%s   %" PRIu64 " of %" PRIu64 " check words differ, the "
		       "first at offset %" PRIu64 "\n", who, bad, words, first);
	else
		printf("%s   all %" PRIu64 " check words the writer put at the "
		       "end of each 4 KiB match\n", who, words);
	snprintf(p + SHARE_REPLY, SHARE_MSG_LEN, "reply from reader pid %d",
		 (int)getpid());
	printf("%s wrote \"%s\" into huge page 0\n", who, p + SHARE_REPLY);
	fflush(stdout);
	hpagemap_unmap(addr, size);
	hpagemap_close(hp);
	return bad ? EXIT_MISMATCH : 0;
}

static int cmd_share(struct ctx *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reader", required_argument, NULL, 'R' },
		{ "device", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct pattern pat = { PATTERN_SEED, 0 };
	struct hpagemap *hp;
	char who[40], seedstr[32], *p, reply[SHARE_MSG_LEN + 1];
	uint64_t size, ps, nr, words = 0;
	void *addr;
	pid_t pid;
	int opt, ret = 0, status;

	while ((opt = next_opt(c, argc, argv, "d:h", opts, &ret)) != -1) {
		if (opt == -2)
			return ret;
		/* the second process of the demo */
		return share_reader(c, strtoull(optarg, NULL, 0));
	}
	ret = no_operands(c, argc, argv);
	if (ret)
		return ret;

	snprintf(who, sizeof(who), "writer pid %d:", (int)getpid());
	ret = open_device(c, O_RDWR, &hp);
	if (ret)
		return ret;
	size = hpagemap_size(hp);
	ps = hpagemap_page_size(hp);
	nr = hpagemap_nr_pages(hp);
	ret = hpagemap_map(hp, 0, 0, PROT_READ | PROT_WRITE, &addr);
	if (ret) {
		hpagemap_close(hp);
		return device_error(c, "cannot map the buffer", ret);
	}
	p = addr;
	pat.value = ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL);
	printf("%s mapped %s (%" PRIu64 " huge pages) of %s at %p, "
	       "KernelPageSize %ld kB\n", who,
	       print_size(seedstr, sizeof(seedstr), size), nr,
	       c->device, addr, kernel_page_kb(addr));
	for (uint64_t o = SHARE_BLOCK - 8; o < size; o += SHARE_BLOCK, words++) {
		uint64_t w = pattern_word(&pat, o);

		memcpy(p + o, &w, 8);
	}
	memset(p + SHARE_REPLY, 0, SHARE_MSG_LEN);
	for (uint64_t i = 0; i < nr; i++)
		snprintf(p + i * ps + SHARE_GREETING, SHARE_MSG_LEN,
			 "hello from writer pid %d, page %" PRIu64,
			 (int)getpid(), i);
	printf("%s wrote a greeting into each huge page and %" PRIu64
	       " check words (seed 0x%" PRIx64 ")\n", who, words, pat.value);
	printf("%s starting a second, independent process to read them\n",
	       who);
	fflush(stdout);
	fflush(stderr);

	snprintf(seedstr, sizeof(seedstr), "0x%" PRIx64, pat.value);
	pid = fork();
	if (pid < 0) {
		err_msg(c, "fork: %s", strerror(errno));
		ret = EXIT_ERROR;
		goto out;
	}
	if (pid == 0) {
		char *args[] = { (char *)prog, (char *)"--device",
				 (char *)c->device, (char *)"share",
				 (char *)"--reader", seedstr, NULL };

		/* a new program image: nothing of the writer's mapping left */
		execv("/proc/self/exe", args);
		fprintf(stderr, "%s: share: cannot run /proc/self/exe: %s\n",
			prog, strerror(errno));
		_exit(EXIT_ERROR);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	memcpy(reply, p + SHARE_REPLY, SHARE_MSG_LEN);
	reply[SHARE_MSG_LEN] = '\0';
	ret = WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_ERROR;
	printf("%s the reader exited with status %d; huge page 0 now also "
	       "holds: \"%s\"\n", who, ret, reply[0] ? reply : "(nothing)");
	if (!ret && !reply[0])
		ret = EXIT_MISMATCH;
	if (!ret)
		printf("%s both processes saw the same huge pages\n", who);
out:
	hpagemap_unmap(addr, size);
	hpagemap_close(hp);
	return ret;
}

/* ------------------------------------------------------------------ */
/* phys                                                                */

static int cmd_phys(struct ctx *c, int argc, char **argv)
{
	struct hpagemap *hp;
	uint64_t *addrs, nr, ps;
	bool json;
	int ret;

	ret = json_opts(c, argc, argv, true, &json);
	if (ret)
		return ret == OPTS_HELP ? 0 : ret;
	ret = open_device(c, O_RDONLY, &hp);
	if (ret)
		return ret;
	nr = hpagemap_nr_pages(hp);
	ps = hpagemap_page_size(hp);
	addrs = calloc(nr, sizeof(*addrs));
	if (!addrs) {
		hpagemap_close(hp);
		err_msg(c, "out of memory");
		return EXIT_ERROR;
	}
	ret = hpagemap_phys(hp, 0, nr, addrs);
	hpagemap_close(hp);
	if (ret) {
		free(addrs);
		return device_error(c, "cannot read the physical addresses", ret);
	}
	if (json) {
		struct json j;

		json_init(&j, stdout);
		json_begin_object(&j, NULL);
		json_u64(&j, "page_size", ps);
		json_begin_array(&j, "pages");
		for (uint64_t i = 0; i < nr; i++) {
			json_begin_object(&j, NULL);
			json_u64(&j, "index", i);
			json_u64(&j, "offset", i * ps);
			json_u64(&j, "phys", addrs[i]);
			json_end_object(&j);
		}
		json_end_array(&j);
		json_end_object(&j);
		json_finish(&j);
	} else {
		char s[16];

		printf("%6s %14s %20s   (%s huge pages)\n", "Page", "Offset",
		       "Physical address", print_size(s, sizeof(s), ps));
		for (uint64_t i = 0; i < nr; i++)
			printf("%6" PRIu64 " %#14" PRIx64 " %#20" PRIx64 "\n",
			       i, i * ps, addrs[i]);
	}
	free(addrs);
	return 0;
}

/* ------------------------------------------------------------------ */
/* export                                                              */

/* Print the lines of /proc/self/fdinfo/<fd> a dma-buf adds. */
static void print_fdinfo(int fd)
{
	char path[64], line[256], out[512] = "";
	size_t len = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char key[32], val[200];

		if (sscanf(line, "%31[^:]: %199[^\n]", key, val) != 2)
			continue;
		if (strcmp(key, "size") && strcmp(key, "count") &&
		    strcmp(key, "exp_name") && strcmp(key, "name") &&
		    strcmp(key, "flags"))
			continue;
		if (len < sizeof(out))
			len += (size_t)snprintf(out + len, sizeof(out) - len,
						"%s%s %s", len ? ", " : "", key,
						val);
	}
	fclose(f);
	if (len)
		printf("  fdinfo:  %s\n", out);
}

/* The dma-buf's line of the debugfs bufinfo, if debugfs is readable. */
static void print_bufinfo(int fd)
{
	const char *path = "/sys/kernel/debug/dma_buf/bufinfo";
	char line[512], ino[32], header[512] = "";
	bool found = false;
	struct stat st;
	FILE *f;

	if (fstat(fd, &st))
		return;
	f = fopen(path, "re");
	if (!f) {
		printf("  bufinfo: %s not readable (needs root and debugfs)\n",
		       path);
		return;
	}
	snprintf(ino, sizeof(ino), "%08lu", (unsigned long)st.st_ino);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "size", 4)) {
			snprintf(header, sizeof(header), "%s", line);
			continue;
		}
		if (strstr(line, HPAGEMAP_MODULE) && strstr(line, ino)) {
			if (header[0])
				printf("  bufinfo: %s\n", header);
			printf("  bufinfo: %s\n", line);
			found = true;
			break;
		}
	}
	fclose(f);
	if (!found)
		printf("  bufinfo: no line for inode %lu in %s\n",
		       (unsigned long)st.st_ino, path);
}

static int run_with_dmabuf(const struct ctx *c, const char *command, int fd,
			   uint64_t size)
{
	pid_t pid;
	int status;

	printf("  running with the dma-buf open (HPAGEMAP_DMABUF_FD=%d): %s\n",
	       fd, command);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		err_msg(c, "fork: %s", strerror(errno));
		return EXIT_ERROR;
	}
	if (pid == 0) {
		char buf[32];

		snprintf(buf, sizeof(buf), "%d", fd);
		setenv("HPAGEMAP_DMABUF_FD", buf, 1);
		snprintf(buf, sizeof(buf), "%" PRIu64, size);
		setenv("HPAGEMAP_DMABUF_SIZE", buf, 1);
		fcntl(fd, F_SETFD, 0);	/* the command inherits it */
		execl("/bin/sh", "sh", "-c", command, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status)) {
		printf("  the command exited with status %d\n",
		       WEXITSTATUS(status));
		return WEXITSTATUS(status);
	}
	printf("  the command was killed by signal %d\n", WTERMSIG(status));
	return 128 + WTERMSIG(status);
}

static int cmd_export(struct ctx *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "offset", required_argument, NULL, 'o' },
		{ "length", required_argument, NULL, 'l' },
		{ "read-only", no_argument, NULL, 'r' },
		{ "exec", required_argument, NULL, 'e' },
		{ "device", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct range_opts o;
	const char *command = NULL;
	bool read_only = false;
	struct hpagemap *hp;
	uint64_t ps, size, w_dev, w_buf;
	char s[16], *dev = NULL, *buf = NULL;
	void *d = NULL, *b = NULL;
	int opt, ret = 0, fd, prot;

	memset(&o, 0, sizeof(o));
	while ((opt = next_opt(c, argc, argv, "o:l:re:d:h", opts, &ret)) != -1) {
		switch (opt) {
		case -2:
			return ret;
		case 'o':
			ret = parse_size_opt(c, "offset", optarg, &o.offset);
			if (ret)
				return ret;
			break;
		case 'l':
			ret = parse_size_opt(c, "length", optarg, &o.length);
			if (ret)
				return ret;
			o.have_length = o.length != 0;
			break;
		case 'r':
			read_only = true;
			break;
		case 'e':
			command = optarg;
			break;
		}
	}
	ret = no_operands(c, argc, argv);
	if (ret)
		return ret;
	ret = open_device(c, read_only ? O_RDONLY : O_RDWR, &hp);
	if (ret)
		return ret;
	ps = hpagemap_page_size(hp);
	ret = check_range(c, hp, &o);
	if (!ret && (o.offset % ps || o.length % ps)) {
		err_msg(c, "offset and length must be multiples of the huge "
			"page size, %s", print_size(s, sizeof(s), ps));
		ret = EXIT_USAGE;
	}
	if (ret) {
		hpagemap_close(hp);
		return ret;
	}
	size = o.length;
	fd = hpagemap_export(hp, o.offset, size,
			     (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0) {
		hpagemap_close(hp);
		return device_error(c, "cannot export a dma-buf", fd);
	}
	printf("exported %s at offset %" PRIu64 " of %s as dma-buf fd %d (%s)\n",
	       print_size(s, sizeof(s), size), o.offset, c->device, fd,
	       read_only ? "read-only" : "read-write");
	print_fdinfo(fd);

	/* Map both and show that they are the same memory. */
	prot = PROT_READ | (read_only ? 0 : PROT_WRITE);
	ret = hpagemap_map_dmabuf(fd, size, ps, prot, &b);
	if (!ret)
		ret = hpagemap_map(hp, o.offset, size, prot, &d);
	if (ret) {
		device_error(c, "cannot map the dma-buf", ret);
		ret = EXIT_ERROR;
		goto out;
	}
	buf = b;
	dev = d;
	printf("  mmap:    dma-buf at %p (KernelPageSize %ld kB), %s at %p\n",
	       b, kernel_page_kb(b), c->device, d);
	memcpy(&w_dev, dev + size - 8, 8);
	memcpy(&w_buf, buf + size - 8, 8);
	if (!read_only && w_dev == w_buf) {
		uint64_t probe = ~w_dev, back;

		/* write through the dma-buf, read through the device, undo */
		memcpy(buf + size - 8, &probe, 8);
		memcpy(&back, dev + size - 8, 8);
		memcpy(buf + size - 8, &w_buf, 8);
		w_dev = back == probe ? w_buf : back;
	}
	if (w_dev == w_buf) {
		printf("  check:   %s through the dma-buf %s through %s: the "
		       "same memory\n", read_only ? "read" : "a word written",
		       read_only ? "equals what is read" : "is read back",
		       c->device);
	} else {
		err_msg(c, "the dma-buf and %s differ at offset %" PRIu64,
			c->device, o.offset + size - 8);
		ret = EXIT_MISMATCH;
	}
	print_bufinfo(fd);
	if (!ret && command)
		ret = run_with_dmabuf(c, command, fd, size);
out:
	if (b)
		hpagemap_unmap(b, size);
	if (d)
		hpagemap_unmap(d, size);
	close(fd);
	hpagemap_close(hp);
	printf("closed the dma-buf\n");
	return ret;
}

/* ------------------------------------------------------------------ */
/* list, create, remove                                                */

/* Every buffer (at most MAX_BUFFERS) into *@bufs (free it): n or -errno. */
static int read_buffers(const struct ctx *c, struct hpagemap_buffer **bufs)
{
	int n;

	*bufs = calloc(MAX_BUFFERS, sizeof(**bufs));
	if (!*bufs)
		return -ENOMEM;
	n = hpagemap_list(c->root, *bufs, MAX_BUFFERS);
	return n > MAX_BUFFERS ? MAX_BUFFERS : n;
}

/* The control device is missing (ENOENT): say why. */
static int control_missing(const struct ctx *c)
{
	if (hpagemap_module_loaded(c->root)) {
		err_msg(c, "%s does not exist although the %s module is loaded: "
			"a driver without run-time buffers, or no devtmpfs/udev",
			HPAGEMAP_CONTROL_DEVICE, HPAGEMAP_MODULE);
	} else {
		err_msg(c, "the %s module is not loaded.", HPAGEMAP_MODULE);
		hint_not_loaded(c);
	}
	return EXIT_ERROR;
}

static int cmd_list(struct ctx *c, int argc, char **argv)
{
	struct hpagemap_buffer *bufs;
	bool json;
	int ret, n;

	ret = json_opts(c, argc, argv, false, &json);
	if (ret)
		return ret == OPTS_HELP ? 0 : ret;
	n = read_buffers(c, &bufs);
	if (json)
		report_list_json(stdout, n >= 0, bufs, n > 0 ? n : 0);
	else if (n > 0)
		report_list_text(stdout, bufs, n);
	else if (!n)
		printf("%s has no buffers (all removed); `%s create --nr-pages "
		       "N` adds one\n", HPAGEMAP_MODULE, prog);
	free(bufs);
	if (n == -ENOENT)
		return control_missing(c);
	if (n < 0) {
		err_msg(c, "cannot read %s: %s", HPAGEMAP_SYSFS_MISC,
			hpagemap_strerror(n));
		return EXIT_ERROR;
	}
	return 0;
}

/* --nr-pages N: at least 1 (the module's limit is the pool). */
static int parse_nr_pages(const struct ctx *c, const char *arg, uint64_t *nr)
{
	char *end;

	errno = 0;
	*nr = strtoull(arg, &end, 10);
	if (errno || *end || end == arg || !*nr || *nr > 1U << 30 ||
	    !strchr("0123456789", arg[0]))
		return usage_error(c, "--nr-pages needs a number of huge pages, "
				   "at least 1");
	return 0;
}

/*
 * --nr-pages, --page-size and, if @node, --node of create and load (the
 * ones @opts has): 0, OPTS_HELP or an exit status.
 */
static int pool_opts(struct ctx *c, int argc, char **argv,
		     const struct option *opts, uint64_t *nr, uint64_t *ps,
		     int *node)
{
	int opt, ret = 0;

	while ((opt = next_opt(c, argc, argv, node ? "n:s:N:h" : "n:s:h", opts,
			       &ret)) != -1) {
		long long v;

		switch (opt) {
		case -2:
			return ret ? ret : OPTS_HELP;
		case 'n':
			ret = parse_nr_pages(c, optarg, nr);
			if (ret)
				return ret;
			break;
		case 's':
			ret = parse_size_opt(c, "page size", optarg, ps);
			if (ret)
				return ret;
			break;
		case 'N':
			v = parse_id(optarg);
			if (v < 0 || v > 1 << 20)
				return usage_error(c, "--node needs a NUMA node "
						   "number (0, 1, ...)");
			*node = (int)v;
			break;
		}
	}
	return no_operands(c, argc, argv);
}

/* The create that ran out of pages: which pool, and the command to grow it. */
static void hint_pool_short(const struct ctx *c, uint64_t ps, uint64_t nr,
			    int node)
{
	struct hpagemap_pool *pools = calloc(MAX_POOLS, sizeof(*pools));
	char s[16], cmd[200] = "";
	int n;

	print_size(s, sizeof(s), ps);
	n = pools ? hpagemap_pools(c->root, pools, MAX_POOLS) : -ENOMEM;
	for (int i = 0; node >= 0 && i < n && i < MAX_POOLS; i++) {
		const struct hpagemap_pool *p = &pools[i];

		if (p->page_size != ps || p->node != node)
			continue;
		/* per-node pools have no reserved count: free is all there is */
		snprintf(cmd, sizeof(cmd), "echo %lld > %s/node%d/hugepages/"
			 "hugepages-%" PRIu64 "kB/nr_hugepages",
			 p->total + (long long)nr - (p->free > 0 ? p->free : 0),
			 HPAGEMAP_SYSFS_NODES, node, ps >> 10);
	}
	free(pools);
	if (node < 0)
		hpagemap_pool_check(c->root, ps, nr, cmd, sizeof(cmd));
	if (node >= 0)
		err_msg(c, "NUMA node %d's %s huge page pool has fewer than %"
			PRIu64 " free pages", node, s, nr);
	else
		err_msg(c, "the %s huge page pool has fewer than %" PRIu64
			" free pages that may stay pinned", s, nr);
	if (cmd[0])
		fprintf(stderr, "  Grow it (as root):  %s\n", cmd);
	fprintf(stderr, "  The kernel log says what the driver found:  dmesg | "
		"grep %s\n", HPAGEMAP_MODULE);
}

static int cmd_create(struct ctx *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "nr-pages", required_argument, NULL, 'n' },
		{ "page-size", required_argument, NULL, 's' },
		{ "node", required_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	uint64_t nr = 0, ps = 0;
	struct hpagemap_buffer b;
	struct hpagemap_pool pool;
	char s[16], total[16];
	unsigned int id = 0;
	int ret, node = -1;

	ret = pool_opts(c, argc, argv, opts, &nr, &ps, &node);
	if (ret)
		return ret == OPTS_HELP ? 0 : ret;
	if (!nr)
		return usage_error(c, "--nr-pages N is required");

	ret = hpagemap_add(nr, ps, node, &id);
	if (!ps)
		ps = hpagemap_default_page_size(c->root);
	print_size(s, sizeof(s), ps);
	switch (-ret) {
	case 0:
		break;
	case ENOENT:
		return control_missing(c);
	case EPERM:
		err_msg(c, "adding a buffer needs root (CAP_SYS_ADMIN):  sudo %s "
			"create ...", prog);
		return EXIT_ERROR;
	case ENOMEM:
		hint_pool_short(c, ps, nr, node);
		return EXIT_ERROR;
	case EINVAL:
		if (!ps || hpagemap_pool_of(c->root, ps, &pool))
			err_msg(c, "this kernel has no %s huge pages (see: %s "
				"pools)", s, prog);
		else if (node >= 0)
			err_msg(c, "NUMA node %d is not online or has no memory "
				"(see: %s pools)", node, prog);
		else
			err_msg(c, "the driver refused the buffer: %s",
				hpagemap_strerror(ret));
		return EXIT_ERROR;
	default:
		err_msg(c, "cannot add a buffer: %s", hpagemap_strerror(ret));
		return EXIT_ERROR;
	}
	if (hpagemap_buffer_info(NULL, id, &b)) {
		/* sysfs of the new buffer not (yet) readable: what was asked */
		hpagemap_device_path(id, b.path, sizeof(b.path));
		b.nr_pages = nr;
		b.page_size = ps;
		b.size = nr * ps;
		b.numa_node = node;
	}
	print_size(s, sizeof(s), b.page_size);
	print_size(total, sizeof(total), b.size);
	printf("created buffer %u: %s (%s: %" PRIu64 " x %s huge pages", id,
	       b.path, total, b.nr_pages, s);
	if (b.numa_node >= 0)
		printf(", NUMA node %d)\n", b.numa_node);
	else
		printf(")\n");
	return 0;
}

static int cmd_remove(struct ctx *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct hpagemap_buffer b;
	long long id;
	int opt, ret = 0;

	while ((opt = next_opt(c, argc, argv, "h", opts, &ret)) != -1)
		if (opt == -2)
			return ret;
	if (optind >= argc)
		return usage_error(c, "which buffer? remove ID (see: hpage-map "
				   "list)");
	id = parse_id(argv[optind]);
	if (id < 0)
		id = id_of_path(argv[optind]);
	if (id < 0) {
		char msg[200];

		snprintf(msg, sizeof(msg), "'%s' is no buffer: an id (0, 1, ...) "
			 "or its device, %sN", argv[optind], HPAGE_MAP_DEVICE);
		return usage_error(c, msg);
	}
	optind++;
	ret = no_operands(c, argc, argv);
	if (ret)
		return ret;
	set_device(c, argv[optind - 1]);

	ret = hpagemap_remove((unsigned int)id);
	switch (-ret) {
	case 0:
		printf("removed buffer %lld (%s): its huge pages are back in the "
		       "pool\n", id, c->device);
		return 0;
	case EBUSY:
		if (hpagemap_buffer_info(c->root, (unsigned int)id, &b))
			b.open_files = b.mappings = b.dma_bufs = -1;
		err_msg(c, "buffer %lld is in use (%lld open file%s, %lld "
			"mapping%s, %lld dma-buf%s): close its fds, mappings and "
			"dma-bufs first (fuser -v %s)", id, b.open_files,
			b.open_files == 1 ? "" : "s", b.mappings,
			b.mappings == 1 ? "" : "s", b.dma_bufs,
			b.dma_bufs == 1 ? "" : "s", c->device);
		return EXIT_ERROR;
	case EPERM:
		err_msg(c, "removing a buffer needs root (CAP_SYS_ADMIN):  sudo "
			"%s remove %lld", prog, id);
		return EXIT_ERROR;
	case ENOENT:
		return control_missing(c);
	default:
		return device_error(c, "cannot remove the buffer", ret);
	}
}

/* ------------------------------------------------------------------ */
/* load, unload                                                        */

static int cmd_load(struct ctx *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "nr-pages", required_argument, NULL, 'n' },
		{ "page-size", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	uint64_t nr = HPAGEMAP_DEFAULT_NR_PAGES, ps = 0;
	char cmd[200], s[16], arg_nr[40], arg_ps[48];
	struct hpagemap_pool pool;
	int ret, status;
	pid_t pid;

	ret = pool_opts(c, argc, argv, opts, &nr, &ps, NULL);
	if (ret)
		return ret == OPTS_HELP ? 0 : ret;
	if (hpagemap_module_loaded(c->root)) {
		err_msg(c, "%s is already loaded; unload it first:  %s unload",
			HPAGEMAP_MODULE, prog);
		return EXIT_ERROR;
	}
	if (!ps)
		ps = hpagemap_default_page_size(c->root);
	print_size(s, sizeof(s), ps);
	ret = hpagemap_pool_check(c->root, ps, nr, cmd, sizeof(cmd));
	if (ret == -EINVAL) {
		err_msg(c, "this kernel has no %s huge pages (see: %s pools)",
			s, prog);
		return EXIT_ERROR;
	}
	if (ret == -ENOMEM) {
		long long avail = 0;

		if (!hpagemap_pool_of(c->root, ps, &pool))
			avail = pool.free - (pool.reserved > 0 ? pool.reserved : 0);
		err_msg(c, "the %s huge page pool is too small: %lld free, %"
			PRIu64 " needed", s, avail > 0 ? avail : 0, nr);
		fprintf(stderr, "  Grow it (as root):  %s\n", cmd);
		if (ps >= (1ULL << 30))
			fprintf(stderr, "  %s pages are best reserved at boot: "
				"kernel command line  hugepagesz=%s hugepages=N\n",
				s, param_size(arg_ps, sizeof(arg_ps), ps));
		return EXIT_ERROR;
	}
	if (geteuid() != 0) {
		err_msg(c, "loading a module needs root:  sudo %s load", prog);
		return EXIT_ERROR;
	}
	snprintf(arg_nr, sizeof(arg_nr), "nr_pages=%" PRIu64, nr);
	snprintf(arg_ps, sizeof(arg_ps), "page_size=%" PRIu64, ps);
	printf("modprobe %s %s %s\n", HPAGEMAP_MODULE, arg_nr, arg_ps);
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		err_msg(c, "fork: %s", strerror(errno));
		return EXIT_ERROR;
	}
	if (pid == 0) {
		execlp("modprobe", "modprobe", HPAGEMAP_MODULE, arg_nr, arg_ps,
		       (char *)NULL);
		fprintf(stderr, "%s: load: cannot run modprobe: %s\n", prog,
			strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		err_msg(c, "modprobe failed; the kernel log says why (dmesg | "
			"grep %s)", HPAGEMAP_MODULE);
		return EXIT_ERROR;
	}
	printf("loaded: %" PRIu64 " x %s huge pages as %s\n", nr, s,
	       HPAGE_MAP_DEVICE);
	return 0;
}

static int cmd_unload(struct ctx *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int opt, ret = 0;

	while ((opt = next_opt(c, argc, argv, "h", opts, &ret)) != -1)
		if (opt == -2)
			return ret;
	ret = no_operands(c, argc, argv);
	if (ret)
		return ret;
	if (!hpagemap_module_loaded(c->root)) {
		printf("%s is not loaded\n", HPAGEMAP_MODULE);
		return 0;
	}
	if (!syscall(SYS_delete_module, HPAGEMAP_MODULE, O_NONBLOCK)) {
		printf("unloaded %s: its huge pages are back in the pool\n",
		       HPAGEMAP_MODULE);
		return 0;
	}
	ret = -errno;
	if (ret == -EWOULDBLOCK || ret == -EBUSY) {
		struct hpagemap_buffer *bufs;
		long long maps = 0, files = 0;
		/* the sum over every buffer; -1: unknown */
		int n = read_buffers(c, &bufs);

		for (int i = 0; i < n; i++) {
			maps = bufs[i].mappings < 0 || maps < 0 ? -1 :
			       maps + bufs[i].mappings;
			files = bufs[i].open_files < 0 || files < 0 ? -1 :
				files + bufs[i].open_files;
		}
		free(bufs);
		if (n < 0)
			maps = files = -1;
		err_msg(c, "%s is in use (%lld mapping%s, %lld open file%s, or "
			"dma-bufs): end the processes that use %s%s first (fuser "
			"-v %s%s)", HPAGEMAP_MODULE, maps, maps == 1 ? "" : "s",
			files, files == 1 ? "" : "s", HPAGE_MAP_DEVICE,
			n > 1 ? " and its other buffers" : "", HPAGE_MAP_DEVICE,
			n > 1 ? "*" : "");
	} else if (ret == -EPERM) {
		err_msg(c, "unloading a module needs root:  sudo %s unload",
			prog);
	} else {
		err_msg(c, "cannot unload %s: %s", HPAGEMAP_MODULE,
			strerror(-ret));
	}
	return EXIT_ERROR;
}

/* ------------------------------------------------------------------ */
/* main                                                                */

static const struct command commands[] = {
	{ "info", cmd_info, "[--json]",
	  "Describe the buffer (size, page size, count, NUMA node), the device\n"
	  "node, the module's parameters and the system's huge page pools per\n"
	  "page size and NUMA node. Without access to the device the buffer is\n"
	  "described from sysfs.\n\n"
	  "  -j, --json     print JSON\n"
	  "  -d, --device PATH|ID  the buffer (default 0: /dev/hpage_map)\n"
	  "  -h, --help     print this help\n" },
	{ "list", cmd_list, "[--json]",
	  "Every buffer of the module: id, device, size, page size, number of\n"
	  "pages, NUMA node (spread: on several) and its users: open files,\n"
	  "mappings and dma-bufs. Read from sysfs; needs no access to them.\n\n"
	  "  -j, --json     print JSON\n"
	  "  -h, --help     print this help\n" },
	{ "pools", cmd_pools, "[--json]",
	  "The system's huge page pools, per page size and NUMA node, like\n"
	  "`hugeadm --pool-list`: total, free, reserved and surplus pages.\n"
	  "Works without the module.\n\n"
	  "  -j, --json     print JSON\n"
	  "  -h, --help     print this help\n" },
	{ "fill", cmd_fill, "[--pattern P] [--offset O] [--length L] [--device D]",
	  "Write a pattern into the buffer. The data stays in the driver's\n"
	  "pages after the command exits, until the module is unloaded.\n\n"
	  "  -p, --pattern P  offset (default: every 8-byte word holds its own\n"
	  "                   offset in the buffer), zero, byte:V, seed:N\n"
	  "  -o, --offset O   start, in bytes (K, M, G units), default 0\n"
	  "  -l, --length L   bytes, default (or 0): to the end of the buffer\n"
	  "  -d, --device PATH|ID  the buffer (default 0: /dev/hpage_map)\n"
	  "  -h, --help       print this help\n" },
	{ "verify", cmd_verify,
	  "[--pattern P] [--offset O] [--length L] [--device D]",
	  "Check that the buffer holds a pattern (see fill). Exit status 1 and\n"
	  "the first bad offset on a mismatch.\n\n"
	  "  -p, --pattern P  offset (default), zero, byte:V, seed:N\n"
	  "  -o, --offset O   start, in bytes (K, M, G units), default 0\n"
	  "  -l, --length L   bytes, default (or 0): to the end of the buffer\n"
	  "  -d, --device PATH|ID  the buffer (default 0: /dev/hpage_map)\n"
	  "  -h, --help       print this help\n" },
	{ "share", cmd_share, "[--device D]",
	  "The two-process demo: this process maps the buffer and writes a\n"
	  "greeting into each huge page and a check word into every 4 KiB; a\n"
	  "second, independent process (a new exec of hpage-map that opens and\n"
	  "maps the device itself) reads and checks them and writes a reply\n"
	  "that the first one then reads. Both say what they saw. Overwrites\n"
	  "the buffer's data.\n\n"
	  "  -d, --device PATH|ID  the buffer (default 0: /dev/hpage_map)\n"
	  "  -h, --help     print this help\n" },
	{ "phys", cmd_phys, "[--json] [--device D]",
	  "The physical address of each huge page (needs root: CAP_SYS_ADMIN).\n"
	  "They stay valid while the buffer exists.\n\n"
	  "  -j, --json     print JSON\n"
	  "  -d, --device PATH|ID  the buffer (default 0: /dev/hpage_map)\n"
	  "  -h, --help     print this help\n" },
	{ "export", cmd_export,
	  "[--offset O] [--length L] [--read-only] [--exec CMD] [--device D]",
	  "Export a range of the buffer as a dma-buf, report its fd, size and\n"
	  "bufinfo, map it and check that it is the same memory as the device,\n"
	  "then close it. While a dma-buf lives the module cannot be unloaded.\n\n"
	  "  -o, --offset O   start, a multiple of the huge page size, default 0\n"
	  "  -l, --length L   a multiple of the huge page size, default: to the end\n"
	  "  -r, --read-only  export read-only (else read-write)\n"
	  "  -e, --exec CMD   run CMD (sh -c) while the dma-buf is open; it\n"
	  "                   inherits the fd, named by $HPAGEMAP_DMABUF_FD\n"
	  "                   ($HPAGEMAP_DMABUF_SIZE: its size); exit status: CMD's\n"
	  "  -d, --device PATH|ID  the buffer (default 0: /dev/hpage_map)\n"
	  "  -h, --help       print this help\n" },
	{ "create", cmd_create, "--nr-pages N [--page-size S] [--node N]",
	  "Add a buffer to the loaded module (as root): its pages are taken from\n"
	  "the huge page pool now, all of them or none. Prints its id and device,\n"
	  "/dev/hpage_map<id> (the lowest free id, at least 1).\n\n"
	  "  -n, --nr-pages N   huge pages in the buffer (required)\n"
	  "  -s, --page-size S  2M, 1G, ... (default: the default huge page size)\n"
	  "  -N, --node N       every page on NUMA node N (default: any)\n"
	  "  -h, --help         print this help\n" },
	{ "remove", cmd_remove, "ID",
	  "Remove buffer ID (as root; an id or its device path); its pages go\n"
	  "back to the pool. Refused while any fd, mapping or dma-buf of it\n"
	  "exists. Buffer 0 can be removed too.\n\n"
	  "  -h, --help     print this help\n" },
	{ "load", cmd_load, "[--nr-pages N] [--page-size S]",
	  "Load the module (as root) after checking that the huge page pool\n"
	  "has enough free pages; if not, print the command that grows it.\n\n"
	  "  -n, --nr-pages N   huge pages in the buffer (default 8)\n"
	  "  -s, --page-size S  2M, 1G, ... (default: the default huge page size)\n"
	  "  -h, --help         print this help\n" },
	{ "unload", cmd_unload, "",
	  "Unload the module (as root); its pages go back to the pool. Fails\n"
	  "while the buffer is mapped, open or exported.\n\n"
	  "  -h, --help     print this help\n" },
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void print_help(FILE *f)
{
	fprintf(f,
		"Usage: %s [GLOBAL OPTIONS] COMMAND [OPTIONS]\n"
		"Use the huge pages of /dev/hpage_map (the hpage_map module).\n\n"
		"Commands:\n"
		"  info      the buffer, the device, the module and the pools\n"
		"  pools     the system's huge page pools per size and NUMA node\n"
		"  list      every buffer: id, device, size, node, users\n"
		"  fill      write a pattern into the buffer\n"
		"  verify    check a pattern (exit status 1 on a mismatch)\n"
		"  share     two processes, one buffer: the classic demo\n"
		"  phys      physical address of each huge page (root)\n"
		"  export    export the buffer as a dma-buf and report on it\n"
		"  create    add a buffer to the loaded module (root)\n"
		"  remove    remove a buffer (root)\n"
		"  load      check the pool and modprobe the module (root)\n"
		"  unload    unload the module (root)\n"
		"  help CMD  the options of CMD (also: %s CMD --help)\n\n"
		"Global options:\n"
		"  -d, --device PATH|ID  the buffer: a device or an id (default %s,\n"
		"                     buffer 0); commands that open one take it too\n"
		"      --sysroot DIR  read sysfs, /proc/meminfo and /etc under DIR\n"
		"                     (tests; also $HPAGEMAP_SYSROOT)\n"
		"  -V, --version      print the version\n"
		"  -h, --help         print this help\n\n"
		"Exit status: 0 success, 1 data mismatch, 2 usage error, 3 other\n"
		"failure (module not loaded, permission denied, pool too small).\n"
		"See hpage-map(1).\n", prog, prog, HPAGE_MAP_DEVICE);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "sysroot", required_argument, NULL, 'S' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const struct command *cmd;
	struct ctx c = { HPAGE_MAP_DEVICE, 0, "", NULL, NULL };
	const char *env = getenv("HPAGEMAP_SYSROOT");
	char msg[160];
	int opt;

	/* A reader that quits early must not kill a writer mid-report. */
	signal(SIGPIPE, SIG_IGN);
	if (env && *env)
		c.root = env;
	while ((opt = getopt_long(argc, argv, "+d:Vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			set_device(&c, optarg);
			break;
		case 'S':
			c.root = *optarg ? optarg : NULL;
			break;
		case 'V':
			printf("%s %s\n", prog, hpagemap_version());
			return 0;
		case 'h':
			print_help(stdout);
			return 0;
		default:
			return usage_error(NULL, "invalid option");
		}
	}
	if (optind >= argc) {
		print_help(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[optind], "help")) {
		if (optind + 1 >= argc) {
			print_help(stdout);
			return 0;
		}
		cmd = find_command(argv[optind + 1]);
		if (!cmd) {
			snprintf(msg, sizeof(msg), "unknown command '%s'",
				 argv[optind + 1]);
			return usage_error(NULL, msg);
		}
		print_command_help(stdout, cmd);
		return 0;
	}
	cmd = find_command(argv[optind]);
	if (!cmd) {
		snprintf(msg, sizeof(msg), "unknown command '%s'", argv[optind]);
		return usage_error(NULL, msg);
	}
	c.cmd = cmd->name;
	argc -= optind;
	argv += optind;
	optind = 0;	/* glibc: start over for the subcommand's options */
	return cmd->run(&c, argc, argv);
}
