// SPDX-License-Identifier: GPL-2.0
/*
 * dma_limits.c - dma-buf mappings within the importer's DMA limits
 *
 * hpage-map-profiles: swiotlb
 *
 * The swiotlb profile boots with swiotlb=force: every streaming DMA mapping
 * is bounced through swiotlb, which maps at most dma_max_mapping_size()
 * (256 KiB) at once, as on bounce-buffered guests and for devices with a
 * small DMA mask.  A scatter-gather entry of a whole huge page cannot be
 * mapped there; the exporter must cut its entries to that size.
 *
 * Checks:
 *  - the profile does what it says: swiotlb's slots in use
 *    (debugfs io_tlb_used) grow by at least the buffer's size while vgem
 *    holds an import of the whole buffer (its map_dma_buf bounces it all),
 *    and fall back when the import goes; skipped where DRM maps imports
 *    only on first use (7.x), so that vgem never maps them;
 *  - importing dma-bufs of the whole buffer, of one huge page and of the
 *    last one into vgem (which maps them for its device,
 *    DMA_BIDIRECTIONAL) succeeds read-write; read-only, EACCES or (7.x,
 *    nothing mapped at import) success;
 *  - the buffer's data is untouched by the bouncing (bounce buffers are
 *    copied back on unmap: the CPU's view must stay what it wrote).
 */
#include "hpm_test.h"

#define IO_TLB_USED	"/sys/kernel/debug/swiotlb/io_tlb_used"
#define IO_TLB_SLOT	2048	/* bytes per swiotlb slot (IO_TLB_SHIFT 11) */

FIXTURE(limits) {
	int fd, card;
	unsigned long ps, nr;
	size_t size;
	char *map;
};

FIXTURE_SETUP(limits)
{
	self->fd = self->card = -1;
	self->map = MAP_FAILED;
	HPM_SETUP_PROFILE_FD();
	self->card = hpm_vgem_open();
	ASSERT_LE(0, self->card) TH_LOG("no vgem card");
	self->map = hpm_mmap(self->fd, 0, self->size, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, self->map);
	hpm_fill(self->map, self->size, 0, 0xd3a11);
}

FIXTURE_TEARDOWN(limits)
{
	if (self->map != MAP_FAILED)
		munmap(self->map, self->size);
	if (self->card >= 0)
		close(self->card);
	if (self->fd >= 0)
		close(self->fd);
	hpm_ensure_unloaded();
}

static long long io_tlb_used(void)
{
	unsigned long long v = 0;

	return hpm_read_ull(IO_TLB_USED, &v) ? -1 : (long long)v;
}

TEST_F(limits, whole_buffer_bounced)
{
	long long before, during, after, handle;
	int buf;

	HPM_SKIP_GUARD();
	ASSERT_EQ(0, system("grep -qw swiotlb=force /proc/cmdline")) TH_LOG("not the swiotlb profile");
	before = io_tlb_used();
	ASSERT_LE(0, before) TH_LOG(IO_TLB_USED " unreadable: is swiotlb forced?");
	buf = hpm_export(self->fd, 0, self->size, O_RDWR);
	ASSERT_LE(0, buf);
	handle = hpm_vgem_import(self->card, buf);
	ASSERT_LE(0, handle) TH_LOG("vgem import of %zu bytes under swiotlb=force: %s",
				    self->size, strerror((int)-handle));
	during = io_tlb_used();
	if (during == before) {
		/* 7.x here maps a DRM import only on first use: vgem never does. */
		hpm_gem_close(self->card, (uint32_t)handle);
		close(buf);
		SKIP(return, "vgem holds the import unmapped on this kernel: nothing to bounce");
	}
	EXPECT_LE(before + (long long)(self->size / IO_TLB_SLOT), during)
		TH_LOG("swiotlb slots in use: %lld before, %lld with the import", before, during);
	EXPECT_EQ(0, hpm_gem_close(self->card, (uint32_t)handle));
	EXPECT_EQ(0, close(buf));
	/* the unmap goes with the last reference to the attachment */
	for (int i = 0; i < 100 && (after = io_tlb_used()) > before; i++)
		usleep(10000);
	EXPECT_EQ(before, after) TH_LOG("swiotlb slots still in use after the import went");
	EXPECT_EQ(-1, hpm_check(self->map, self->size, 0, 0xd3a11));
}

TEST_F(limits, ranges_and_modes)
{
	const struct { uint64_t off, pages; uint32_t flags; } cases[] = {
		{ 0, 1, O_RDWR },
		{ 0, 1, O_RDONLY },
		{ 1, 1, O_RDWR },	/* (in pages; the last one below) */
		{ 0, 0, O_RDONLY },	/* the whole buffer */
	};

	HPM_SKIP_GUARD();
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t pages = cases[i].pages ?: self->nr;
		uint64_t off = i == 2 ? self->nr - 1 : cases[i].off;
		long long handle;
		int buf;

		buf = hpm_export(self->fd, off * self->ps, pages * self->ps, cases[i].flags);
		ASSERT_LE(0, buf) TH_LOG("case %u: export", i);
		handle = hpm_vgem_import(self->card, buf);
		/*
		 * DRM maps for the device to read and write, which a read-only
		 * export refuses; 7.x maps on first use, not at import.
		 */
		if (cases[i].flags == O_RDONLY && handle == -EACCES)
			TH_LOG("case %u: read-only export: import refused", i);
		else
			EXPECT_LE(0, handle) TH_LOG("case %u: pages %llu+%llu: import: %s", i,
						    (unsigned long long)off,
						    (unsigned long long)pages,
						    strerror((int)-handle));
		if (handle >= 0)
			EXPECT_EQ(0, hpm_gem_close(self->card, (uint32_t)handle));
		EXPECT_EQ(0, close(buf));
	}
	EXPECT_EQ(-1, hpm_check(self->map, self->size, 0, 0xd3a11));
}

TEST_HARNESS_MAIN
