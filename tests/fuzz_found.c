// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_found.c - what the fuzzer found, as plain deterministic tests
 *
 * hpage-map-profiles: default
 *
 * One device importing the same pages twice (two processes importing one
 * dma-buf into the same GPU, or one process importing two overlapping
 * exports) is ordinary sharing: both imports succeed, CPU access with
 * DMA_BUF_IOCTL_SYNC works while both are mapped, the data is shared, and
 * the kernel has nothing to say -- on the debug kernel DMA-API debugging
 * counts no error (its overlap check: "cacheline tracking EEXIST,
 * overlapping mappings aren't supported") and the log stays clean.
 */
#include "hpm_test.h"

#include <linux/dma-buf.h>
#include <drm/drm.h>

#define DMA_API_ERRORS	"/sys/kernel/debug/dma-api/error_count"

static int ff_sync(int dmabuf, uint64_t flags)
{
	struct dma_buf_sync s = { .flags = flags };

	return ioctl(dmabuf, DMA_BUF_IOCTL_SYNC, &s) ? -errno : 0;
}

/* DMA-API debugging's error count, -1 without it (Debian's kernels). */
static long long ff_dma_errors(void)
{
	unsigned long long v = 0;

	return hpm_read_ull(DMA_API_ERRORS, &v) ? -1 : (long long)v;
}

FIXTURE(found) {
	int fd, kmsg;
	unsigned long ps, nr;
	size_t size;
	char *map;
	long long dma_errors;
};

FIXTURE_SETUP(found)
{
	self->map = MAP_FAILED;
	self->kmsg = -1;
	HPM_SETUP_PROFILE_FD();
	ASSERT_LE(2, self->nr);
	self->map = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	self->kmsg = hpm_kmsg_open();
	ASSERT_LE(0, self->kmsg);
	self->dma_errors = ff_dma_errors();
}

FIXTURE_TEARDOWN(found)
{
	if (self->map != MAP_FAILED)
		munmap(self->map, self->size);
	if (self->kmsg >= 0)
		close(self->kmsg);
	close(self->fd);
	hpm_ensure_unloaded();
}

/* Nothing from the kernel: no DMA-API error, no warning. */
static void ff_kernel_quiet(struct __test_metadata *_metadata, FIXTURE_DATA(found) *self,
			    const char *what)
{
	static char log[1 << 15];

	hpm_kmsg_collect(self->kmsg, 4, log, sizeof(log));
	EXPECT_EQ(self->dma_errors, ff_dma_errors())
		TH_LOG("%s: DMA-API debugging counted errors; kernel log:\n%s", what, log);
	EXPECT_EQ(NULL, strstr(log, "DMA-API")) TH_LOG("%s: kernel log:\n%s", what, log);
	EXPECT_EQ(NULL, strstr(log, "WARNING")) TH_LOG("%s: kernel log:\n%s", what, log);
}

/* Both importers hold the mapped pages; the CPU syncs and shares the data. */
static void ff_use_both(struct __test_metadata *_metadata, FIXTURE_DATA(found) *self,
			int buf_a, int buf_b)
{
	EXPECT_EQ(0, ff_sync(buf_a, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	hpm_fill(self->map, self->ps, 0, 0x1234);
	EXPECT_EQ(0, ff_sync(buf_a, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
	EXPECT_EQ(0, ff_sync(buf_b, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_EQ(-1, hpm_check(self->map, self->ps, 0, 0x1234));
	EXPECT_EQ(0, ff_sync(buf_b, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
}

/* Two processes import the same dma-buf into one GPU: two DRM files. */
TEST_F(found, one_dmabuf_two_importers_one_device)
{
	int card_a, card_b, buf;
	long long ha, hb;

	HPM_SKIP_GUARD();
	card_a = hpm_vgem_open();
	ASSERT_LE(0, card_a) TH_LOG("no vgem card");
	card_b = hpm_vgem_open();
	ASSERT_LE(0, card_b);
	buf = hpm_export(self->fd, 0, self->size, O_RDWR);
	ASSERT_LE(0, buf) TH_LOG("export: %s", strerror(-buf));
	ha = hpm_vgem_import(card_a, buf);
	ASSERT_LE(0, ha) TH_LOG("first import: %s", strerror((int)-ha));
	hb = hpm_vgem_import(card_b, buf);
	EXPECT_LE(0, hb) TH_LOG("second import: %s", strerror((int)-hb));
	ff_use_both(_metadata, self, buf, buf);
	ff_kernel_quiet(_metadata, self, "one dma-buf imported through two DRM files");
	EXPECT_EQ(0, hpm_gem_close(card_a, ha));
	if (hb >= 0)
		EXPECT_EQ(0, hpm_gem_close(card_b, hb));
	close(buf);
	close(card_a);
	close(card_b);
	ff_kernel_quiet(_metadata, self, "after closing");
}

/* One process imports two exports that share a page. */
TEST_F(found, overlapping_exports_one_device)
{
	int card, a, b;
	long long ha, hb;

	HPM_SKIP_GUARD();
	card = hpm_vgem_open();
	ASSERT_LE(0, card) TH_LOG("no vgem card");
	a = hpm_export(self->fd, 0, 2 * self->ps, O_RDWR);
	ASSERT_LE(0, a);
	b = hpm_export(self->fd, self->ps, self->ps, O_RDWR);
	ASSERT_LE(0, b);
	ha = hpm_vgem_import(card, a);
	ASSERT_LE(0, ha) TH_LOG("import of [0, 2 pages): %s", strerror((int)-ha));
	hb = hpm_vgem_import(card, b);
	EXPECT_LE(0, hb) TH_LOG("import of [1, 2): %s", strerror((int)-hb));
	ff_use_both(_metadata, self, a, b);
	ff_kernel_quiet(_metadata, self, "two overlapping exports imported into one device");
	EXPECT_EQ(0, hpm_gem_close(card, ha));
	if (hb >= 0)
		EXPECT_EQ(0, hpm_gem_close(card, hb));
	close(a);
	close(b);
	close(card);
	ff_kernel_quiet(_metadata, self, "after closing");
}

TEST_HARNESS_MAIN
