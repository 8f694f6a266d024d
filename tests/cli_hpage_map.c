// SPDX-License-Identifier: GPL-2.0
/*
 * cli_hpage_map.c - the hpage-map command line tool against the real driver
 *
 * hpage-map-profiles: default 1g numa
 * hpage-map-debug-profiles: default
 *
 * Runs the CLI the harness ships in the guest (/usr/bin/hpage-map, built
 * as build/userspace/hpage-map-static; $HPM_CLI overrides) and checks its
 * exit status, stdout and stderr:
 *  - --help; without the module: info and fill exit 3 saying the module is
 *    not loaded and `modprobe hpage_map`, pools works;
 *  - pool too small: `load --nr-pages <free + 1>` exits 3 with the exact
 *    `echo N > .../nr_hugepages` command and loads nothing;
 *  - `load` of the profile's geometry; info (text, JSON) describes it and
 *    the pools show the pages taken;
 *  - fill / verify: exit 0, a mismatch exits 1 with the first bad offset
 *    (a byte changed behind the CLI's back is found exactly), ranges
 *    outside the buffer exit 2;
 *  - share: both processes report the same data;
 *  - phys: the addresses GET_PAGES gives; non-root: exit 3 naming
 *    CAP_SYS_ADMIN;
 *  - permission denied as a non-root user (setuid in a forked child):
 *    fill exits 3 naming group hpage and the node's mode; info still
 *    describes the buffer from sysfs;
 *  - export: fd, fdinfo, a huge page mapping of the same memory, the
 *    bufinfo line; --exec runs while the dma-buf pins the module;
 *  - several buffers: list (text, JSON) of nr_pages=2,2; create and remove
 *    with the pool counters; info, fill, verify, share, phys and export
 *    with --device by id and by path, before and after the command; a
 *    remove refused while the buffer is open, as a user, of an unknown
 *    id; create refused for a short pool, a page size the kernel lacks,
 *    a user; --node on two nodes;
 *  - unload: refused (exit 3, "in use") while mapped, then done; pools back.
 */
#include "hpm_test.h"

#include <grp.h>
#include <poll.h>

#define NOBODY	65534

struct run {
	int status;
	char out[64 * 1024];
	char err[16 * 1024];
};

static struct run R;

static const char *cli_path(void)
{
	static const char *const paths[] = { "/usr/bin/hpage-map",
		"/bin/hpage-map", "/usr/local/bin/hpage-map" };
	const char *env = getenv("HPM_CLI");

	if (env && *env)
		return env;
	for (unsigned int i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (!access(paths[i], X_OK))
			return paths[i];
	return NULL;
}

/* Read all of @fd into @buf (NUL-terminated, truncated at @size - 1). */
static void slurp(int fd, char *buf, size_t size)
{
	size_t len = 0;

	lseek(fd, 0, SEEK_SET);
	for (;;) {
		ssize_t n = read(fd, buf + len, size - 1 - len);

		if (n <= 0 || (len += n) == size - 1)
			break;
	}
	buf[len] = '\0';
	close(fd);
}

/*
 * Run the CLI with the NULL-terminated arguments @args, as @uid (0: as we
 * are; else also gid @uid and no supplementary groups).  Fills R; returns
 * the exit status (128 + signal if killed, -1 if it could not run).
 */
static int cli_as(uid_t uid, const char *const *args)
{
	const char *argv[32], *path = cli_path();
	int argc = 0, out, err;
	pid_t pid;

	memset(&R, 0, sizeof(R));
	R.status = -1;
	if (!path) {
		snprintf(R.err, sizeof(R.err), "no hpage-map CLI in the guest");
		return -1;
	}
	argv[argc++] = "hpage-map";
	for (; *args && argc < 31; args++)
		argv[argc++] = *args;
	argv[argc] = NULL;

	out = memfd_create("cli-out", MFD_CLOEXEC);
	err = memfd_create("cli-err", MFD_CLOEXEC);
	if (out < 0 || err < 0)
		return -1;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (uid && (setgroups(0, NULL) || setgid(uid) || setuid(uid)))
			_exit(120);
		dup2(out, STDOUT_FILENO);
		dup2(err, STDERR_FILENO);
		execv(path, (char *const *)argv);
		_exit(121);
	}
	R.status = hpm_wait(pid);
	slurp(out, R.out, sizeof(R.out));
	slurp(err, R.err, sizeof(R.err));
	return R.status;
}

#define cli(...) cli_as(0, (const char *const[]){ __VA_ARGS__, NULL })
#define cli_nobody(...) cli_as(NOBODY, (const char *const[]){ __VA_ARGS__, NULL })

/* On a failed expectation: what the CLI said. */
static const char *said(void)
{
	static char buf[sizeof(R.out) + sizeof(R.err) + 64];

	snprintf(buf, sizeof(buf), "exit %d\n--- stdout:\n%s\n--- stderr:\n%s",
		 R.status, R.out, R.err);
	return buf;
}

#define EXPECT_OUT(text) EXPECT_NE(NULL, strstr(R.out, text)) \
	TH_LOG("no '%s' in stdout; %s", text, said())
#define EXPECT_ERR(text) EXPECT_NE(NULL, strstr(R.err, text)) \
	TH_LOG("no '%s' in stderr; %s", text, said())

/* "2 MiB" / "1 GiB": the CLI's human units for the sizes the tests use. */
static const char *human(unsigned long long bytes, char *buf, size_t len)
{
	if (bytes >= (1ULL << 30) && !(bytes % (1ULL << 30)))
		snprintf(buf, len, "%llu GiB", bytes >> 30);
	else if (bytes >= (1ULL << 20) && !(bytes % (1ULL << 20)))
		snprintf(buf, len, "%llu MiB", bytes >> 20);
	else
		snprintf(buf, len, "%llu KiB", bytes >> 10);
	return buf;
}

/* The profile's module, loaded by the CLI if needed. */
static int load_profile(void)
{
	return hpm_ensure_profile_loaded();
}

/* Bytes fill/verify cover in these tests: 1G pages would take long. */
static unsigned long long span(void)
{
	unsigned long long size = (unsigned long long)hpm_page_size() * hpm_nr_pages();

	return size < (16ULL << 20) ? size : 16ULL << 20;
}

TEST(cli_is_there)
{
	ASSERT_NE(NULL, cli_path())
		TH_LOG("the guest has no hpage-map: the initramfs must hold "
		       "build/userspace/hpage-map-static as /usr/bin/hpage-map");
	EXPECT_EQ(0, cli("--help"))
		TH_LOG("%s", said());
	EXPECT_OUT("Usage: hpage-map [GLOBAL OPTIONS] COMMAND [OPTIONS]");
	EXPECT_EQ(0, cli("fill", "--help"))
		TH_LOG("%s", said());
	EXPECT_OUT("--pattern P");
	EXPECT_EQ(2, cli("frobnicate"))
		TH_LOG("%s", said());
	EXPECT_ERR("unknown command 'frobnicate'");
}

TEST(not_loaded)
{
	char line[128];
	struct hpm_counters c;

	ASSERT_EQ(0, hpm_ensure_unloaded());
	ASSERT_EQ(0, hpm_counters_read(&c));

	EXPECT_EQ(3, cli("info"))
		TH_LOG("%s", said());
	EXPECT_ERR("hpage-map: info: cannot open /dev/hpage_map: /dev/hpage_map "
		   "does not exist: the hpage_map module is not loaded.");
	EXPECT_ERR("Load it (as root):  modprobe hpage_map nr_pages=8 page_size=");
	EXPECT_OUT("hpage_map: module not loaded");
	EXPECT_OUT("Huge page pools");

	EXPECT_EQ(3, cli("fill"))
		TH_LOG("%s", said());
	EXPECT_ERR("the hpage_map module is not loaded");
	EXPECT_ERR("modprobe hpage_map");
	EXPECT_EQ(3, cli("verify"))
		TH_LOG("%s", said());
	EXPECT_EQ(3, cli("share"))
		TH_LOG("%s", said());
	EXPECT_EQ(3, cli("export"))
		TH_LOG("%s", said());
	EXPECT_EQ(3, cli("phys"))
		TH_LOG("%s", said());
	EXPECT_ERR("not loaded");

	EXPECT_EQ(0, cli("pools"))
		TH_LOG("%s", said());
	EXPECT_OUT("     Size  Node    Total     Free Reserved  Surplus     Memory  Default");
	for (int i = 0; i < c.n; i++) {
		char size[32];

		snprintf(line, sizeof(line), "%9s   all %8lld %8lld %8lld %8lld",
			 human((unsigned long long)c.pool[i].kb << 10, size, sizeof(size)),
			 c.pool[i].nr, c.pool[i].free, c.pool[i].resv, c.pool[i].surp);
		EXPECT_OUT(line);
	}
	if (!access("/sys/devices/system/node/node1", F_OK))
		EXPECT_OUT("    2 MiB     1 ");
	EXPECT_EQ(0, cli("pools", "--json"))
		TH_LOG("%s", said());
	EXPECT_OUT("\"page_size\": 2097152");
	EXPECT_EQ(0, cli("unload"))
		TH_LOG("%s", said());
	EXPECT_OUT("hpage_map is not loaded");
}

TEST(pool_too_small)
{
	struct hpm_counters c;
	const struct hpm_pool *p;
	char nr[32], want[160];

	ASSERT_EQ(0, hpm_ensure_unloaded());
	ASSERT_EQ(0, hpm_counters_read(&c));
	p = hpm_pool_of(&c, 2UL << 20);
	ASSERT_NE(NULL, p);
	snprintf(nr, sizeof(nr), "%lld", p->free - p->resv + 1);
	EXPECT_EQ(3, cli("load", "--nr-pages", nr, "--page-size", "2M"))
		TH_LOG("%s", said());
	EXPECT_ERR("hpage-map: load: the 2 MiB huge page pool is too small");
	snprintf(want, sizeof(want), "Grow it (as root):  echo %lld > "
		 "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages",
		 p->nr + 1);
	EXPECT_ERR(want);
	EXPECT_FALSE(hpm_module_loaded());
	HPM_EXPECT_POOL(&c, 2UL << 20, 0, "a refused load");

	EXPECT_EQ(3, cli("load", "--page-size", "3M"))
		TH_LOG("%s", said());
	EXPECT_ERR("this kernel has no 3 MiB huge pages");
}

/* A fixture only for the timeout: 1 GiB pages take seconds under TCG. */
FIXTURE(slow) {
	int unused;
};

FIXTURE_SETUP(slow)
{
}

FIXTURE_TEARDOWN(slow)
{
}

TEST_F_TIMEOUT(slow, load_and_info, 120)
{
	struct hpm_counters base;
	char want[160], size[32], psize[32], nr[16];
	unsigned long long ps = hpm_page_size(), n = hpm_nr_pages();

	ASSERT_EQ(0, hpm_ensure_unloaded());
	ASSERT_EQ(0, hpm_counters_read(&base));
	snprintf(nr, sizeof(nr), "%llu", n);
	EXPECT_EQ(0, cli("load", "--nr-pages", nr, "--page-size", hpm_page_size_str()))
		TH_LOG("%s", said());
	ASSERT_TRUE(hpm_module_loaded()) TH_LOG("%s", said());
	EXPECT_OUT("loaded: ");
	HPM_EXPECT_POOL(&base, ps, n, "hpage-map load");
	EXPECT_EQ(3, cli("load"))
		TH_LOG("%s", said());
	EXPECT_ERR("hpage_map is already loaded");

	EXPECT_EQ(0, cli("info"))
		TH_LOG("%s", said());
	snprintf(want, sizeof(want), "hpage_map: %s buffer of %llu x %s huge pages, ",
		 human(ps * n, size, sizeof(size)), n, human(ps, psize, sizeof(psize)));
	EXPECT_OUT(want);
	EXPECT_OUT("  device:     /dev/hpage_map  char 10:");
	EXPECT_OUT("crw------- ");
	EXPECT_OUT("  in use:     0 mappings, 1 open file\n");
	snprintf(want, sizeof(want), "  parameters: nr_pages=%llu page_size=%llu (%s)",
		 n, ps, psize);
	EXPECT_OUT(want);
	EXPECT_STREQ("", R.err);

	EXPECT_EQ(0, cli("info", "--json"))
		TH_LOG("%s", said());
	snprintf(want, sizeof(want), "\"size\": %llu,", ps * n);
	EXPECT_OUT(want);
	snprintf(want, sizeof(want), "\"nr_pages\": %llu,", n);
	EXPECT_OUT(want);
	EXPECT_OUT("\"loaded\": true");
	EXPECT_OUT("\"accessible\": true");
	EXPECT_OUT("\"source\": \"ioctl\"");
	EXPECT_OUT("\"mode\": \"0600\"");
}

TEST_F_TIMEOUT(slow, fill_and_verify, 120)
{
	char off[32], len[32], want[200];
	unsigned long long ps = hpm_page_size(), s = span(), bad, pgoff;
	unsigned char byte;
	int fd;
	char *p;

	ASSERT_EQ(0, load_profile());
	snprintf(len, sizeof(len), "%llu", s);
	EXPECT_EQ(0, cli("fill", "--length", len))
		TH_LOG("%s", said());
	EXPECT_OUT("filled ");
	EXPECT_OUT(" at offset 0 (0x0) with pattern offset (");
	EXPECT_EQ(0, cli("verify", "--length", len))
		TH_LOG("%s", said());
	EXPECT_OUT("verified ");
	EXPECT_OUT("pattern offset matches");
	EXPECT_EQ(1, cli("verify", "--pattern", "seed:1", "--length", len))
		TH_LOG("%s", said());
	EXPECT_ERR("hpage-map: verify: mismatch at offset 0 (0x0): expected 0x");

	/*
	 * A byte changed behind the CLI's back is found exactly.  Pattern
	 * offset: byte o is byte o % 8 of the little-endian word o & ~7.
	 */
	bad = s / 2 + 8 + 2;
	byte = (unsigned char)((bad & ~7ULL) >> (8 * (bad & 7)));
	pgoff = bad / ps * ps;
	fd = hpm_open(O_RDWR);
	ASSERT_GE(fd, 0);
	p = hpm_mmap(fd, pgoff, ps, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(byte, (unsigned char)p[bad - pgoff]);
	p[bad - pgoff] ^= 0x40;
	EXPECT_EQ(1, cli("verify", "--length", len))
		TH_LOG("%s", said());
	snprintf(want, sizeof(want), "mismatch at offset %llu (0x%llx): expected 0x%02x, "
		 "found 0x%02x", bad, bad, byte, byte ^ 0x40);
	EXPECT_ERR(want);
	p[bad - pgoff] ^= 0x40;
	munmap(p, ps);
	close(fd);
	EXPECT_EQ(0, cli("verify", "--length", len))
		TH_LOG("%s", said());

	/* unaligned ranges, other patterns; the data outlives each process */
	snprintf(off, sizeof(off), "%llu", s / 2);
	EXPECT_EQ(0, cli("fill", "--pattern", "byte:0x5a", "--offset", off, "--length", "8K"))
		TH_LOG("%s", said());
	snprintf(off, sizeof(off), "%llu", s / 2 + 100);
	EXPECT_EQ(0, cli("fill", "--pattern", "seed:7", "--offset", off, "--length", "5000"))
		TH_LOG("%s", said());
	EXPECT_EQ(0, cli("verify", "--pattern", "seed:7", "--offset", off, "--length", "5000"))
		TH_LOG("%s", said());
	EXPECT_EQ(1, cli("verify", "--pattern", "seed:7", "--offset", off, "--length", "5001"))
		TH_LOG("%s", said());
	snprintf(want, sizeof(want), "mismatch at offset %llu ", s / 2 + 5100);
	EXPECT_ERR(want);
	EXPECT_EQ(0, cli("fill", "--pattern", "byte:0xa5", "--offset", "1", "--length", "3"))
		TH_LOG("%s", said());
	EXPECT_EQ(0, cli("verify", "--pattern", "byte:165", "--offset", "1", "--length", "3"))
		TH_LOG("%s", said());
	EXPECT_EQ(1, cli("verify", "--pattern", "byte:0xa5", "--length", "4"))
		TH_LOG("%s", said());
	EXPECT_ERR("mismatch at offset 0 (0x0): expected 0xa5, found 0x00");

	/* outside the buffer: usage errors */
	snprintf(off, sizeof(off), "%llu", ps * hpm_nr_pages());
	EXPECT_EQ(2, cli("verify", "--offset", off))
		TH_LOG("%s", said());
	EXPECT_ERR("is outside the");
	snprintf(len, sizeof(len), "%llu", ps * hpm_nr_pages() + 1);
	EXPECT_EQ(2, cli("fill", "--length", len))
		TH_LOG("%s", said());
	EXPECT_ERR("is beyond the end of the");
}

TEST(share)
{
	char want[128];
	long kb = (long)(hpm_page_size() >> 10);

	ASSERT_EQ(0, load_profile());
	EXPECT_EQ(0, cli("share"))
		TH_LOG("%s", said());
	snprintf(want, sizeof(want), "KernelPageSize %ld kB", kb);
	EXPECT_OUT(want);
	EXPECT_OUT("writer pid ");
	EXPECT_OUT("reader pid ");
	EXPECT_OUT("a new program (exec), its own open() of /dev/hpage_map");
	EXPECT_OUT("huge page 0 says: \"hello from writer pid ");
	EXPECT_OUT("check words the writer put at the end of each 4 KiB match");
	EXPECT_OUT("huge page 0 now also holds: \"reply from reader pid ");
	EXPECT_OUT("both processes saw the same huge pages");
	/* in the writer's and in the reader's line */
	EXPECT_NE(NULL, strstr(R.out, want) ? strstr(strstr(R.out, want) + 1, want) : NULL)
		TH_LOG("%s", said());
	EXPECT_STREQ("", R.err);
	EXPECT_EQ(0, hpm_class_mappings());
}

TEST(phys)
{
	struct hpage_map_pages req;
	unsigned long long addrs[64], n = hpm_nr_pages();
	char want[128];
	int fd;

	ASSERT_EQ(0, load_profile());
	ASSERT_LE(n, 64);
	memset(addrs, 0, sizeof(addrs));
	fd = hpm_open(O_RDONLY);
	ASSERT_GE(fd, 0);
	memset(&req, 0, sizeof(req));
	req.count = n;
	req.addrs = (uintptr_t)addrs;
	ASSERT_EQ(0, ioctl(fd, HPAGE_MAP_IOC_GET_PAGES, &req));
	close(fd);

	EXPECT_EQ(0, cli("phys"))
		TH_LOG("%s", said());
	EXPECT_OUT("  Page         Offset     Physical address");
	for (unsigned long long i = 0; i < n; i++) {
		snprintf(want, sizeof(want), "%#20llx\n", addrs[i]);
		EXPECT_OUT(want);
	}
	EXPECT_EQ(0, cli("phys", "--json"))
		TH_LOG("%s", said());
	for (unsigned long long i = 0; i < n; i++) {
		snprintf(want, sizeof(want), "\"phys\": %llu\n", addrs[i]);
		EXPECT_OUT(want);
	}

	/* a user who may open the device but is not root */
	ASSERT_EQ(0, chmod(HPAGE_MAP_DEVICE, 0666));
	EXPECT_EQ(3, cli_nobody("phys"))
		TH_LOG("%s", said());
	EXPECT_ERR("hpage-map: phys: cannot read the physical addresses: operation "
		   "not permitted: physical addresses need CAP_SYS_ADMIN; run as root");
	ASSERT_EQ(0, chmod(HPAGE_MAP_DEVICE, 0600));
}

TEST(permission_denied)
{
	char want[128], size[32];

	ASSERT_EQ(0, load_profile());
	EXPECT_EQ(3, cli_nobody("fill"))
		TH_LOG("%s", said());
	EXPECT_ERR("hpage-map: fill: cannot open /dev/hpage_map: permission denied "
		   "(/dev/hpage_map needs root or group 'hpage')");
	EXPECT_ERR("/dev/hpage_map is mode 0600, owner ");
	EXPECT_ERR("; you are uid 65534.");
	EXPECT_ERR("udev rule 60-hpage-map.rules");
	EXPECT_ERR("usermod -aG hpage $USER");
	EXPECT_EQ(3, cli_nobody("verify"))
		TH_LOG("%s", said());
	EXPECT_ERR("permission denied");
	EXPECT_EQ(3, cli_nobody("share"))
		TH_LOG("%s", said());
	EXPECT_ERR("group 'hpage'");

	/* info: from sysfs, with a note */
	EXPECT_EQ(0, cli_nobody("info"))
		TH_LOG("%s", said());
	snprintf(want, sizeof(want), "buffer of %lu x %s huge pages", hpm_nr_pages(),
		 human(hpm_page_size(), size, sizeof(size)));
	EXPECT_OUT(want);
	EXPECT_OUT("(no access for you)");
	EXPECT_ERR("note: /dev/hpage_map is not accessible to you");
	EXPECT_EQ(0, cli_nobody("info", "--json"))
		TH_LOG("%s", said());
	EXPECT_OUT("\"accessible\": false");
	EXPECT_OUT("\"source\": \"sysfs\"");

	/* the udev rule's setup: group access, user not in the group */
	ASSERT_EQ(0, chown(HPAGE_MAP_DEVICE, 0, 990));
	ASSERT_EQ(0, chmod(HPAGE_MAP_DEVICE, 0660));
	EXPECT_EQ(3, cli_nobody("fill"))
		TH_LOG("%s", said());
	EXPECT_ERR("/dev/hpage_map is mode 0660, owner ");
	ASSERT_EQ(0, chown(HPAGE_MAP_DEVICE, 0, 0));
	ASSERT_EQ(0, chmod(HPAGE_MAP_DEVICE, 0600));

	EXPECT_EQ(3, cli_nobody("unload"))
		TH_LOG("%s", said());
	EXPECT_ERR("unloading a module needs root");
	EXPECT_TRUE(hpm_module_loaded());
}

TEST(export)
{
	char want[160], size[32];
	unsigned long long ps = hpm_page_size(), n = hpm_nr_pages();

	ASSERT_EQ(0, load_profile());
	EXPECT_EQ(0, cli("export"))
		TH_LOG("%s", said());
	snprintf(want, sizeof(want), "exported %s at offset 0 of /dev/hpage_map as dma-buf fd ",
		 human(ps * n, size, sizeof(size)));
	EXPECT_OUT(want);
	EXPECT_OUT("(read-write)");
	snprintf(want, sizeof(want), "size %llu, count 1, exp_name hpage_map", ps * n);
	EXPECT_OUT("  fdinfo:  ");
	EXPECT_OUT(want);
	EXPECT_OUT("exp_name hpage_map");
	snprintf(want, sizeof(want), "(KernelPageSize %llu kB)", ps >> 10);
	EXPECT_OUT(want);
	EXPECT_OUT("  check:   a word written through the dma-buf is read back through "
		   "/dev/hpage_map: the same memory");
	EXPECT_OUT("  bufinfo: ");
	EXPECT_OUT("hpage_map");
	EXPECT_OUT("closed the dma-buf");
	EXPECT_STREQ("", R.err);

	snprintf(want, sizeof(want), "%llu", ps);
	EXPECT_EQ(0, cli("export", "--read-only", "--offset", want, "--length", want))
		TH_LOG("%s", said());
	EXPECT_OUT("(read-only)");
	EXPECT_OUT("through the dma-buf equals what is read through");

	EXPECT_EQ(2, cli("export", "--offset", "4096"))
		TH_LOG("%s", said());
	EXPECT_ERR("offset and length must be multiples of the huge page size");

	/* the dma-buf pins the module while the command runs */
	EXPECT_EQ(0, cli("export", "--exec",
			 "test -e /proc/self/fd/$HPAGEMAP_DMABUF_FD && ! rmmod hpage_map"))
		TH_LOG("%s", said());
	EXPECT_OUT("the command exited with status 0");
	EXPECT_TRUE(hpm_module_loaded());
	EXPECT_EQ(7, cli("export", "--exec", "exit 7"))
		TH_LOG("%s", said());
}

TEST_F_TIMEOUT(slow, several_buffers, 120)
{
	struct hpm_counters base;
	const struct hpm_pool *p;
	char nr[32];
	int fd;

	ASSERT_EQ(0, hpm_ensure_unloaded());
	ASSERT_EQ(0, hpm_modprobe("nr_pages=2,2 page_size=2M,2M"));
	ASSERT_EQ(0, hpm_counters_read(&base));

	EXPECT_EQ(0, cli("list"))
		TH_LOG("%s", said());
	EXPECT_OUT(" ID  Device ");
	EXPECT_OUT("  0  /dev/hpage_map         4 MiB     2 MiB      2 ");
	EXPECT_OUT("  1  /dev/hpage_map1        4 MiB     2 MiB      2 ");
	EXPECT_OUT("  0/0/0\n");
	EXPECT_EQ(0, cli("list", "--json"))
		TH_LOG("%s", said());
	EXPECT_OUT("\"loaded\": true");
	EXPECT_OUT("\"device\": \"/dev/hpage_map1\"");
	EXPECT_OUT("\"dma_bufs\": 0");

	EXPECT_EQ(0, cli("create", "--nr-pages", "3", "--page-size", "2M"))
		TH_LOG("%s", said());
	EXPECT_OUT("created buffer 2: /dev/hpage_map2 (6 MiB: 3 x 2 MiB huge pages");
	HPM_EXPECT_POOL(&base, 2UL << 20, 3, "hpage-map create");

	/* --device by id and by path, global or the command's */
	EXPECT_EQ(0, cli("info", "--device", "2"))
		TH_LOG("%s", said());
	EXPECT_OUT("hpage_map: 6 MiB buffer of 3 x 2 MiB huge pages, ");
	EXPECT_OUT("  device:     /dev/hpage_map2  char 10:");
	EXPECT_EQ(0, cli("--device", "/dev/hpage_map2", "fill", "--pattern", "seed:5"))
		TH_LOG("%s", said());
	EXPECT_EQ(0, cli("verify", "-d", "2", "--pattern", "seed:5"))
		TH_LOG("%s", said());
	EXPECT_OUT("verified 6 MiB at offset 0");
	/* another buffer, other memory */
	EXPECT_EQ(1, cli("-d", "1", "verify", "--pattern", "seed:5"))
		TH_LOG("%s", said());
	EXPECT_EQ(0, cli("phys", "--device", "2"))
		TH_LOG("%s", said());
	EXPECT_EQ(0, cli("export", "--device", "/dev/hpage_map1"))
		TH_LOG("%s", said());
	EXPECT_OUT("exported 4 MiB at offset 0 of /dev/hpage_map1 as dma-buf fd ");
	EXPECT_EQ(0, cli("share", "--device", "1"))
		TH_LOG("%s", said());
	EXPECT_OUT("its own open() of /dev/hpage_map1");
	EXPECT_EQ(3, cli("fill", "--device", "5"))
		TH_LOG("%s", said());
	EXPECT_ERR("the hpage_map module has no buffer 5");

	/* remove: refused while open, for a user, for an unknown id */
	fd = open(HPAGE_MAP_DEVICE "2", O_RDONLY | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(3, cli("remove", "2"))
		TH_LOG("%s", said());
	EXPECT_ERR("hpage-map: remove: buffer 2 is in use (1 open file, 0 mappings, "
		   "0 dma-bufs): close its fds, mappings and dma-bufs first");
	close(fd);
	EXPECT_EQ(3, cli_nobody("remove", "2"))
		TH_LOG("%s", said());
	EXPECT_ERR("removing a buffer needs root");
	EXPECT_EQ(3, cli_nobody("create", "--nr-pages", "1"))
		TH_LOG("%s", said());
	EXPECT_ERR("adding a buffer needs root");
	EXPECT_EQ(0, cli("remove", "/dev/hpage_map2"))
		TH_LOG("%s", said());
	EXPECT_OUT("removed buffer 2 (/dev/hpage_map2): its huge pages are back in the pool");
	HPM_EXPECT_POOL(&base, 2UL << 20, 0, "hpage-map remove");
	EXPECT_EQ(3, cli("remove", "2"))
		TH_LOG("%s", said());
	EXPECT_ERR("the hpage_map module has no buffer 2");

	/* create: refusals take nothing */
	p = hpm_pool_of(&base, 2UL << 20);
	ASSERT_NE(NULL, p);
	snprintf(nr, sizeof(nr), "%lld", p->free + 1);
	EXPECT_EQ(3, cli("create", "--nr-pages", nr, "--page-size", "2M"))
		TH_LOG("%s", said());
	EXPECT_ERR("huge page pool has fewer than");
	EXPECT_ERR("dmesg | grep hpage_map");
	EXPECT_EQ(3, cli("create", "--nr-pages", "1", "--page-size", "3M"))
		TH_LOG("%s", said());
	EXPECT_ERR("this kernel has no 3 MiB huge pages");
	EXPECT_EQ(2, cli("create"))
		TH_LOG("%s", said());
	HPM_EXPECT_POOL(&base, 2UL << 20, 0, "refused creates");

	if (!access("/sys/devices/system/node/node1", F_OK)) {
		EXPECT_EQ(0, cli("create", "--nr-pages", "1", "--page-size", "2M",
				 "--node", "1"))
			TH_LOG("%s", said());
		EXPECT_OUT("created buffer 2: /dev/hpage_map2 (2 MiB: 1 x 2 MiB huge "
			   "pages, NUMA node 1)");
		EXPECT_EQ(0, cli("list"))
			TH_LOG("%s", said());
		EXPECT_OUT("  2  /dev/hpage_map2        2 MiB     2 MiB      1      1  ");
	}
	/* the unload counts every buffer's users */
	fd = open(HPAGE_MAP_DEVICE "1", O_RDONLY | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(3, cli("unload"))
		TH_LOG("%s", said());
	EXPECT_ERR("hpage_map is in use (0 mappings, 1 open file, or dma-bufs)");
	close(fd);
	ASSERT_EQ(0, hpm_ensure_unloaded());
}

TEST(unload)
{
	struct hpm_counters loaded;
	char *p;
	int fd;

	ASSERT_EQ(0, load_profile());
	ASSERT_EQ(0, hpm_counters_read(&loaded));
	fd = hpm_open(O_RDONLY);
	ASSERT_GE(fd, 0);
	p = hpm_mmap(fd, 0, hpm_page_size(), PROT_READ, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, p);
	close(fd);
	EXPECT_EQ(3, cli("unload"))
		TH_LOG("%s", said());
	EXPECT_ERR("hpage_map is in use (1 mapping, 0 open files, or dma-bufs)");
	EXPECT_TRUE(hpm_module_loaded());
	munmap(p, hpm_page_size());

	EXPECT_EQ(0, cli("unload"))
		TH_LOG("%s", said());
	EXPECT_OUT("unloaded hpage_map: its huge pages are back in the pool");
	EXPECT_FALSE(hpm_module_loaded());
	HPM_EXPECT_POOL(&loaded, hpm_page_size(), -(long long)hpm_nr_pages(), "hpage-map unload");
}

TEST_HARNESS_MAIN
