// SPDX-License-Identifier: GPL-2.0
/*
 * smoke: the module loads and unloads.
 *
 * `modprobe hpage_map` (with the module's defaults) succeeds; then
 * /dev/hpage_map is a character device and /sys/module/hpage_map exists;
 * `rmmod hpage_map` succeeds and both are gone.
 *
 * hpage-map-profiles: default
 */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"

TEST(load_and_unload)
{
	struct stat st;

	ASSERT_EQ(0, system("modprobe hpage_map"));
	ASSERT_EQ(0, stat("/dev/hpage_map", &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0, access("/sys/module/hpage_map", F_OK));

	ASSERT_EQ(0, system("rmmod hpage_map"));
	EXPECT_NE(0, access("/dev/hpage_map", F_OK));
	EXPECT_NE(0, access("/sys/module/hpage_map", F_OK));
}

TEST_HARNESS_MAIN
