// SPDX-License-Identifier: GPL-2.0
/*
 * dma_importer.c - what an importer's device may do with an export
 *
 * hpage-map-profiles: default swiotlb
 * hpage-map-tier: core
 *
 * The importer is tests/importer (hpm_importer.ko, built by make check for
 * each kernel): a DMA device of its own per open file that maps one
 * attachment as often as asked, writes at a mapping's DMA addresses as a
 * device would, vmaps, and forwards mmap through dma_buf_mmap().
 * Checks:
 *  - a read-only export: mapped for the device to read (DMA_TO_DEVICE)
 *    only, DMA_FROM_DEVICE and DMA_BIDIRECTIONAL fail with EACCES; no
 *    vmap (EINVAL, from the dma-buf core: no kernel WARN); a forwarded
 *    mmap maps read-only and cannot be made writable (EACCES); a
 *    read-write export allows each of these;
 *  - (swiotlb profile: every mapping bounced) CPU access syncs reach every
 *    mapping of one attachment: a device write into the older of two
 *    mappings is in the buffer after DMA_BUF_IOCTL_SYNC;
 *  - (swiotlb profile) an importer whose device takes segments of any
 *    length still maps the whole buffer (segments cut to swiotlb's 256 KiB)
 *    and its device writes, bounced, reach every byte;
 *  - the hugetlb pool is exactly what the load left.
 */
#include <linux/dma-buf.h>

#include "hpm_test.h"
#include "importer/hpm_importer.h"

#define SEED	0x1dea

enum { BIDIR = 0, TO_DEV = 1, FROM_DEV = 2 };

FIXTURE(imp) {
	int fd, imp;
	unsigned long ps;
	size_t size;
	char *map;
	struct hpm_counters c0;
};

FIXTURE_SETUP(imp)
{
	struct hpage_map_info info;

	self->fd = self->imp = -1;
	self->map = MAP_FAILED;
	if (access(HPMI_DEVICE, F_OK))
		ASSERT_EQ(0, system("modprobe hpm_importer")) TH_LOG("no tests/importer module");
	ASSERT_EQ(0, hpm_ensure_profile_loaded());
	ASSERT_EQ(0, hpm_counters_read(&self->c0));
	self->fd = hpm_open(O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, hpm_get_info(self->fd, &info));
	self->ps = info.page_size;
	self->size = info.size;
	self->map = hpm_mmap(self->fd, 0, self->size, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, self->map);
	hpm_fill(self->map, self->size, 0, SEED);
	self->imp = open(HPMI_DEVICE, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->imp) TH_LOG(HPMI_DEVICE ": %s", strerror(errno));
}

FIXTURE_TEARDOWN(imp)
{
	if (self->imp >= 0)
		close(self->imp);
	if (self->map != MAP_FAILED)
		munmap(self->map, self->size);
	if (self->fd >= 0)
		close(self->fd);
	hpm_ensure_unloaded();
}

static int imp_attach(int imp, int dmabuf, uint32_t max_seg)
{
	struct hpmi_attach a = { .fd = dmabuf, .max_seg = max_seg };

	return ioctl(imp, HPMI_ATTACH, &a) ? -errno : 0;
}

/* A new mapping's number, or -errno. */
static int imp_map(int imp, uint32_t dir, uint32_t *nents)
{
	struct hpmi_map m = { .dir = dir };

	if (ioctl(imp, HPMI_MAP, &m))
		return -errno;
	if (nents)
		*nents = m.nents;
	return (int)m.map;
}

static int imp_write(int imp, int map, uint64_t off, uint64_t len, uint8_t value)
{
	struct hpmi_write w = { .map = (uint32_t)map, .value = value, .offset = off, .len = len };

	return ioctl(imp, HPMI_DEV_WRITE, &w) ? -errno : 0;
}

static int sync_dmabuf(int fd, uint64_t flags)
{
	struct dma_buf_sync s = { .flags = flags };

	return ioctl(fd, DMA_BUF_IOCTL_SYNC, &s) ? -errno : 0;
}

static bool swiotlb_forced(void)
{
	return !system("grep -qw swiotlb=force /proc/cmdline");
}

/* -1 if [p, p + len) is all @value, else the first other offset. */
static long long first_not(const char *p, size_t len, uint8_t value)
{
	for (size_t i = 0; i < len; i++)
		if ((uint8_t)p[i] != value)
			return (long long)i;
	return -1;
}

TEST_F(imp, rdonly_export_device_reads_only)
{
	static const struct { uint32_t dir; const char *name; } dirs[] = {
		{ TO_DEV, "DMA_TO_DEVICE" }, { FROM_DEV, "DMA_FROM_DEVICE" },
		{ BIDIR, "DMA_BIDIRECTIONAL" },
	};

	for (int rw = 0; rw < 2; rw++) {
		int buf = hpm_export(self->fd, 0, self->ps, rw ? O_RDWR : O_RDONLY);
		int imp = open(HPMI_DEVICE, O_RDWR | O_CLOEXEC);

		ASSERT_LE(0, buf);
		ASSERT_LE(0, imp);
		ASSERT_EQ(0, imp_attach(imp, buf, 0));
		for (unsigned int i = 0; i < ARRAY_SIZE(dirs); i++) {
			int m = imp_map(imp, dirs[i].dir, NULL);
			int want = rw || dirs[i].dir == TO_DEV ? 0 : -EACCES;

			EXPECT_EQ(want, m < 0 ? m : 0)
				TH_LOG("%s export mapped %s: %s", rw ? "O_RDWR" : "O_RDONLY",
				       dirs[i].name, m < 0 ? strerror(-m) : "mapped");
			if (m >= 0)
				EXPECT_EQ(0, ioctl(imp, HPMI_UNMAP, &m));
		}
		EXPECT_EQ(0, close(imp));
		EXPECT_EQ(0, close(buf));
	}
	EXPECT_EQ(-1, hpm_check(self->map, self->size, 0, SEED));
	HPM_EXPECT_POOL(&self->c0, self->ps, 0, "after the importers");
}

TEST_F(imp, rdonly_export_no_vmap)
{
	for (int rw = 0; rw < 2; rw++) {
		int buf = hpm_export(self->fd, 0, self->ps, rw ? O_RDWR : O_RDONLY);
		int imp = open(HPMI_DEVICE, O_RDWR | O_CLOEXEC), ret;

		ASSERT_LE(0, buf);
		ASSERT_LE(0, imp);
		ASSERT_EQ(0, imp_attach(imp, buf, 0));
		ret = ioctl(imp, HPMI_VMAP) ? -errno : 0;
		EXPECT_EQ(rw ? 0 : -EINVAL, ret) TH_LOG("%s export: vmap: %s",
							rw ? "O_RDWR" : "O_RDONLY",
							ret ? strerror(-ret) : "mapped");
		EXPECT_EQ(0, close(imp));
		EXPECT_EQ(0, close(buf));
	}
	HPM_EXPECT_POOL(&self->c0, self->ps, 0, "after vmap");
}

/* The importer's own fd is O_RDWR: only the exporter can refuse. */
TEST_F(imp, rdonly_export_forwarded_mmap)
{
	int buf = hpm_export(self->fd, 0, self->ps, O_RDONLY);
	char *p;

	ASSERT_LE(0, buf);
	ASSERT_EQ(0, imp_attach(self->imp, buf, 0));
	p = mmap(NULL, self->ps, PROT_READ | PROT_WRITE, MAP_SHARED, self->imp, 0);
	EXPECT_EQ(MAP_FAILED, p) TH_LOG("a read-only export mapped writable");
	if (p == MAP_FAILED) {
		EXPECT_EQ(EACCES, errno);
	} else {
		p[0] ^= 1;
		p[0] ^= 1;
		munmap(p, self->ps);
	}
	p = mmap(NULL, self->ps, PROT_READ, MAP_SHARED, self->imp, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("PROT_READ: %s", strerror(errno));
	EXPECT_EQ(-1, hpm_check(p, self->ps, 0, SEED));
	EXPECT_EQ(-1, mprotect(p, self->ps, PROT_READ | PROT_WRITE))
		TH_LOG("a read-only export's mapping made writable");
	EXPECT_EQ(0, munmap(p, self->ps));
	EXPECT_EQ(0, close(buf));
	EXPECT_EQ(-1, hpm_check(self->map, self->size, 0, SEED));
	HPM_EXPECT_POOL(&self->c0, self->ps, 0, "after the forwarded mappings");
}

TEST_F(imp, rw_export_forwarded_mmap)
{
	int buf = hpm_export(self->fd, 0, self->ps, O_RDWR);
	char *p;

	ASSERT_LE(0, buf);
	ASSERT_EQ(0, imp_attach(self->imp, buf, 0));
	p = mmap(NULL, self->ps, PROT_READ | PROT_WRITE, MAP_SHARED, self->imp, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("%s", strerror(errno));
	hpm_fill(p, self->ps, 0, SEED + 1);
	EXPECT_EQ(-1, hpm_check(self->map, self->ps, 0, SEED + 1));
	EXPECT_EQ(0, munmap(p, self->ps));
	EXPECT_EQ(0, close(buf));
}

TEST_F(imp, sync_reaches_every_mapping)
{
	int buf, older, newer;
	long long bad;

	if (!swiotlb_forced())
		SKIP(return, "swiotlb profile only: without bouncing there is nothing to sync");
	buf = hpm_export(self->fd, 0, self->ps, O_RDWR);
	ASSERT_LE(0, buf);
	ASSERT_EQ(0, imp_attach(self->imp, buf, 0));
	older = imp_map(self->imp, FROM_DEV, NULL);
	ASSERT_LE(0, older) TH_LOG("%s", strerror(-older));
	newer = imp_map(self->imp, TO_DEV, NULL);
	ASSERT_LE(0, newer) TH_LOG("%s", strerror(-newer));
	/* bounced: the device's bytes wait in swiotlb until a sync */
	ASSERT_EQ(0, imp_write(self->imp, older, 0, 4096, 0x5a));
	EXPECT_EQ(0, sync_dmabuf(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	bad = first_not(self->map, 4096, 0x5a);
	EXPECT_EQ(-1, bad) TH_LOG("the older mapping's device write is not in the buffer (offset %lld)",
				  bad);
	EXPECT_EQ(0, sync_dmabuf(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	EXPECT_EQ(0, ioctl(self->imp, HPMI_UNMAP, &newer));
	EXPECT_EQ(0, ioctl(self->imp, HPMI_UNMAP, &older));
	EXPECT_EQ(-1, hpm_check(self->map + self->ps, self->size - self->ps, self->ps, SEED));
	EXPECT_EQ(0, close(buf));
	HPM_EXPECT_POOL(&self->c0, self->ps, 0, "after the mappings");
}

TEST_F(imp, any_segment_length_bounced)
{
	uint32_t nents = 0;
	long long bad;
	int buf, m;

	if (!swiotlb_forced())
		SKIP(return, "swiotlb profile only");
	buf = hpm_export(self->fd, 0, self->size, O_RDWR);
	ASSERT_LE(0, buf);
	ASSERT_EQ(0, imp_attach(self->imp, buf, UINT32_MAX));
	m = imp_map(self->imp, FROM_DEV, &nents);
	ASSERT_LE(0, m) TH_LOG("the whole buffer for a device of unlimited segments: %s",
			       strerror(-m));
	EXPECT_LE(self->size / (256 << 10), nents) TH_LOG("%u entries", nents);
	ASSERT_EQ(0, imp_write(self->imp, m, 0, self->size, 0x77));
	EXPECT_EQ(0, sync_dmabuf(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	bad = first_not(self->map, self->size, 0x77);
	EXPECT_EQ(-1, bad) TH_LOG("a bounced device write missed offset %lld", bad);
	EXPECT_EQ(0, sync_dmabuf(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	EXPECT_EQ(0, ioctl(self->imp, HPMI_UNMAP, &m));
	EXPECT_EQ(0, close(buf));
	HPM_EXPECT_POOL(&self->c0, self->ps, 0, "after the mapping");
}

TEST_HARNESS_MAIN
