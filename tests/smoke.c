// SPDX-License-Identifier: GPL-2.0
/*
 * smoke: the module loads, maps and unloads: what every kernel of the set
 * gets, down to the load tier.
 *
 * `modprobe hpage_map` (with the module's defaults) succeeds; then
 * /dev/hpage_map is a character device and /sys/module/hpage_map exists;
 * the whole buffer maps shared, starts zeroed, keeps a pattern written
 * through one mapping as seen through a second one, and mapping and
 * touching move no pool counter after the load took its pages;
 * `rmmod hpage_map` succeeds and both are gone.
 *
 * hpage-map-profiles: default
 * hpage-map-tier: load
 */
#include "hpm_test.h"

TEST(load_map_unload)
{
	struct hpm_counters base, loaded;
	struct hpage_map_info info;
	char msg[512];
	struct stat st;
	void *a, *b;
	int fd;

	ASSERT_EQ(0, hpm_ensure_unloaded());
	ASSERT_EQ(0, hpm_counters_read(&base));
	ASSERT_EQ(0, system("modprobe hpage_map"));
	ASSERT_EQ(0, stat("/dev/hpage_map", &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0, access("/sys/module/hpage_map", F_OK));

	fd = hpm_open(O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, hpm_get_info(fd, &info));
	EXPECT_EQ(HPM_DEFAULT_NR, info.nr_pages);
	EXPECT_EQ(0, hpm_counters_diff(&base, info.page_size, info.nr_pages, msg,
				       sizeof(msg))) TH_LOG("after load: %s", msg);
	ASSERT_EQ(0, hpm_counters_read(&loaded));

	a = hpm_mmap(fd, 0, info.size, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, a);
	b = hpm_mmap(fd, 0, info.size, PROT_READ, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, b);
	EXPECT_EQ(-1, hpm_check_zero(b, info.size));
	hpm_fill(a, info.size, 0, 0x5304e);
	EXPECT_EQ(-1, hpm_check(b, info.size, 0, 0x5304e));
	EXPECT_EQ(0, hpm_counters_diff(&loaded, info.page_size, 0, msg, sizeof(msg)))
		TH_LOG("after mapping and touching: %s", msg);
	EXPECT_EQ(0, munmap(a, info.size));
	EXPECT_EQ(0, munmap(b, info.size));
	EXPECT_EQ(0, close(fd));

	ASSERT_EQ(0, system("rmmod hpage_map"));
	EXPECT_NE(0, access("/dev/hpage_map", F_OK));
	EXPECT_NE(0, access("/sys/module/hpage_map", F_OK));
	EXPECT_EQ(0, hpm_counters_diff(&base, info.page_size, 0, msg, sizeof(msg)))
		TH_LOG("after unload: %s", msg);
}

TEST_HARNESS_MAIN
