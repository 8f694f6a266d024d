// SPDX-License-Identifier: GPL-2.0
/*
 * dma_v4l2.c - V4L2 capture writes frames into exported dma-bufs, and video
 * output reads them
 *
 * hpage-map-profiles: default
 * hpage-map-tier: load
 *
 * vivid (the kernel's V4L2 test driver) is loaded with two instances, one
 * per vb2 allocator that imports dma-bufs its own way: vmalloc (which
 * vmaps the dma-buf and writes through that kernel mapping) and dma-contig
 * (which maps it for its device, DMA_FROM_DEVICE, and wants one contiguous
 * DMA range).  A capture queue takes a dma-buf of one huge page
 * (V4L2_MEMORY_DMABUF).  Checks, for each allocator:
 *  - an O_RDWR export: a frame is captured into it; the bytes the driver
 *    says it used were written (most of them differ from the pattern the
 *    CPU wrote before), and none past the frame changed;
 *  - the same bytes as vivid's own (V4L2_MEMORY_MMAP) buffer: with its
 *    on-screen text off and its static test pattern, a frame captured
 *    into vivid's buffer and one captured into the export are equal byte
 *    for byte, and nothing past the frame changed;
 *  - an O_RDONLY export (from an O_RDWR fd too): the device may not write
 *    it, so queueing it fails and streaming leaves every byte as it was;
 *  - a frame larger than a 2 MiB page, across the boundary of the two
 *    pages of an export: vmalloc takes any two pages (its vmap is
 *    contiguous); dma-contig takes two pages only where they happen to be
 *    adjacent in memory (the device has no IOMMU) and refuses any others
 *    at QBUF with EFAULT ("contiguous chunk is too small" in the log), so
 *    any range inside one huge page is what always works there; one
 *    adjacent and one apart pair (a new load reverses the pages' order);
 *  - video output from the buffer: the output queue streams a frame out
 *    of an O_RDWR export, and out of an O_RDONLY one with dma-contig (it
 *    maps for DMA_TO_DEVICE); vmalloc vmaps every dma-buf, which a
 *    read-only export refuses, so its QBUF fails with EFAULT; the device
 *    never writes the buffer;
 *  - the hugetlb pool is exactly what the load left.
 * Skipped where the kernel has no vivid (the debug kernel).
 */
#include <linux/videodev2.h>
#include <poll.h>

#include "hpm_test.h"

/* Two instances, each with a capture and an output node. */
#define VIVID_PARAMS	"n_devs=2 allocators=0,1 node_types=0x101,0x101 multiplanar=1,1"
#define FILL		0xa5

FIXTURE(v4l2) {
	int fd, video;
	unsigned long ps;
	char *map;
	struct hpm_counters c0;
	uint32_t sizeimage;
	struct v4l2_format fmt;	/* the capture format at setup */
	bool restore_fmt;
};

FIXTURE_VARIANT(v4l2) {
	int instance;		/* vivid instance: its allocator */
	const char *allocator;
};

FIXTURE_VARIANT_ADD(v4l2, vmalloc) { .instance = 0, .allocator = "vmalloc" };
FIXTURE_VARIANT_ADD(v4l2, dma_contig) { .instance = 1, .allocator = "dma-contig" };

/*
 * vivid's node of @instance (bus "platform:vivid-00N") with @cap
 * (V4L2_CAP_VIDEO_CAPTURE or _OUTPUT), or -1.
 */
static int vivid_open(int instance, uint32_t cap_wanted)
{
	char bus[32];

	snprintf(bus, sizeof(bus), "platform:vivid-%03d", instance);
	for (int i = 0; i < 64; i++) {
		struct v4l2_capability cap;
		char path[32];
		int fd;

		snprintf(path, sizeof(path), "/dev/video%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(&cap, 0, sizeof(cap));
		if (!ioctl(fd, VIDIOC_QUERYCAP, &cap) && !strcmp((char *)cap.driver, "vivid") &&
		    !strcmp((char *)cap.bus_info, bus) &&
		    (cap.device_caps & cap_wanted))
			return fd;
		close(fd);
	}
	return -1;
}

/*
 * Set vivid's menu control @name to its item @item (both as vivid names
 * them: the ids are vivid's private ones).  0 or -errno.
 */
static int vivid_set_menu(int video, const char *name, const char *item)
{
	struct v4l2_queryctrl q = { .id = V4L2_CTRL_FLAG_NEXT_CTRL };

	while (!ioctl(video, VIDIOC_QUERYCTRL, &q)) {
		if (q.type == V4L2_CTRL_TYPE_MENU && !strcmp((char *)q.name, name)) {
			for (int i = q.minimum; i <= q.maximum; i++) {
				struct v4l2_querymenu m = { .id = q.id, .index = (uint32_t)i };
				struct v4l2_control c = { .id = q.id, .value = i };

				if (ioctl(video, VIDIOC_QUERYMENU, &m) ||
				    strcmp((char *)m.name, item))
					continue;
				return ioctl(video, VIDIOC_S_CTRL, &c) ? -errno : 0;
			}
			return -ENOENT;
		}
		q.id |= V4L2_CTRL_FLAG_NEXT_CTRL;
	}
	return -ENOENT;
}

/* A slow frame rate: vivid's thread logs a trace when it falls behind. */
static void vivid_slow_frame_rate(int video)
{
	struct v4l2_streamparm parm = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };

	parm.parm.capture.timeperframe.numerator = 1;
	parm.parm.capture.timeperframe.denominator = 5;
	ioctl(video, VIDIOC_S_PARM, &parm);
}

FIXTURE_SETUP(v4l2)
{
	struct v4l2_format fmt = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
	struct hpage_map_info info;

	self->fd = self->video = -1;
	self->map = MAP_FAILED;
	if (access("/sys/module/vivid", F_OK) &&
	    system("modprobe vivid " VIVID_PARAMS " 2>/dev/null"))
		SKIP(return, "no vivid in this kernel");
	self->video = vivid_open(variant->instance, V4L2_CAP_VIDEO_CAPTURE);
	ASSERT_LE(0, self->video) TH_LOG("no capture node of vivid instance %d",
					 variant->instance);
	ASSERT_EQ(0, ioctl(self->video, VIDIOC_G_FMT, &fmt));
	self->fmt = fmt;
	self->sizeimage = fmt.fmt.pix.sizeimage;
	vivid_slow_frame_rate(self->video);

	ASSERT_EQ(0, hpm_ensure_profile_loaded());
	ASSERT_EQ(0, hpm_counters_read(&self->c0));
	self->fd = hpm_open(O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, hpm_get_info(self->fd, &info));
	self->ps = info.page_size;
	ASSERT_LE(self->sizeimage, self->ps) TH_LOG("a frame of %u bytes", self->sizeimage);
	self->map = hpm_mmap(self->fd, 0, self->ps, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, self->map);
	memset(self->map, FILL, self->ps);
}

FIXTURE_TEARDOWN(v4l2)
{
	/* vivid keeps the format for the next open: the next test's */
	if (self->restore_fmt)
		ioctl(self->video, VIDIOC_S_FMT, &self->fmt);
	if (self->video >= 0)
		close(self->video);
	if (self->map != MAP_FAILED)
		munmap(self->map, self->ps);
	if (self->fd >= 0)
		close(self->fd);
	/* vivid stays loaded; the next binary loads its own pool */
	hpm_ensure_unloaded();
}

/*
 * Queue @b, stream until it comes back and stop.  0 (b->bytesused the
 * frame's size) or -errno of the first step that failed (*@step names it).
 */
static int stream_one(int video, struct v4l2_buffer *b, const char **step)
{
	int type = b->type, ret = 0;
	struct pollfd pfd = {
		.fd = video, .events = type == V4L2_BUF_TYPE_VIDEO_OUTPUT ? POLLOUT : POLLIN,
	};

	*step = "QBUF";
	if (ioctl(video, VIDIOC_QBUF, b))
		return -errno;
	*step = "STREAMON";
	if (ioctl(video, VIDIOC_STREAMON, &type))
		return -errno;
	*step = "poll";
	if (poll(&pfd, 1, 20000) != 1)
		ret = -ETIMEDOUT;
	else if (*step = "DQBUF", ioctl(video, VIDIOC_DQBUF, b))
		ret = -errno;
	ioctl(video, VIDIOC_STREAMOFF, &type);
	return ret;
}

/*
 * Queue @dmabuf to the capture queue and stream one frame.  Returns 0 and
 * the frame's size in *@used, or -errno of the first step that failed
 * (*@step names it).
 */
static int capture(int video, int dmabuf, unsigned long len, uint32_t *used,
		   const char **step)
{
	struct v4l2_requestbuffers rb = { .count = 1, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
					  .memory = V4L2_MEMORY_DMABUF };
	struct v4l2_buffer b = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
				 .memory = V4L2_MEMORY_DMABUF };
	int ret;

	*used = 0;
	*step = "REQBUFS";
	if (ioctl(video, VIDIOC_REQBUFS, &rb))
		return -errno;
	b.m.fd = dmabuf;
	b.length = (uint32_t)len;
	ret = stream_one(video, &b, step);
	if (!ret)
		*used = b.bytesused;
	rb.count = 0;
	ioctl(video, VIDIOC_REQBUFS, &rb);
	return ret;
}

/*
 * Queue the two dma-bufs @dmabuf (@len bytes each, a frame of @used bytes
 * at the start of each) to the output queue of @video, stream until the
 * first comes back and stop: vivid's output thread gives a buffer back
 * only while another is queued behind it.  0 or -errno of the first step
 * that failed (*@step names it).
 */
static int output(int video, const int dmabuf[2], unsigned long len, uint32_t used,
		  const char **step)
{
	struct v4l2_requestbuffers rb = { .count = 2, .type = V4L2_BUF_TYPE_VIDEO_OUTPUT,
					  .memory = V4L2_MEMORY_DMABUF };
	struct v4l2_buffer b = { .type = V4L2_BUF_TYPE_VIDEO_OUTPUT,
				 .memory = V4L2_MEMORY_DMABUF };
	int ret = 0;

	*step = "REQBUFS";
	if (ioctl(video, VIDIOC_REQBUFS, &rb))
		return -errno;
	b.length = (uint32_t)len;
	b.bytesused = used;
	b.index = 1;
	b.m.fd = dmabuf[1];
	*step = rb.count == 2 ? "QBUF" : "REQBUFS count";
	if (rb.count != 2)
		ret = -ENOBUFS;
	else if (ioctl(video, VIDIOC_QBUF, &b))
		ret = -errno;
	b.index = 0;
	b.m.fd = dmabuf[0];
	if (!ret)
		ret = stream_one(video, &b, step);
	rb.count = 0;
	ioctl(video, VIDIOC_REQBUFS, &rb);
	return ret;
}

/*
 * One frame captured into a buffer of vivid's own (V4L2_MEMORY_MMAP),
 * copied to @out (at least @len bytes).  Returns its size, or -errno.
 */
static long capture_mmap(int video, char *out, size_t len)
{
	struct v4l2_requestbuffers rb = { .count = 1, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
					  .memory = V4L2_MEMORY_MMAP };
	struct v4l2_buffer b = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
				 .memory = V4L2_MEMORY_MMAP };
	void *map = MAP_FAILED;
	const char *step;
	long ret;

	if (ioctl(video, VIDIOC_REQBUFS, &rb))
		return -errno;
	if (ioctl(video, VIDIOC_QUERYBUF, &b)) {
		ret = -errno;
		goto out;
	}
	map = mmap(NULL, b.length, PROT_READ, MAP_SHARED, video, b.m.offset);
	if (map == MAP_FAILED) {
		ret = -errno;
		goto out;
	}
	ret = stream_one(video, &b, &step);
	if (!ret)
		ret = b.bytesused <= len ? (long)b.bytesused : -EOVERFLOW;
	if (ret > 0)
		memcpy(out, map, ret);
out:
	if (map != MAP_FAILED)
		munmap(map, b.length);
	rb.count = 0;
	ioctl(video, VIDIOC_REQBUFS, &rb);
	return ret;
}

/* How many bytes of [from, to) are not FILL. */
static size_t changed(const char *p, size_t from, size_t to)
{
	size_t n = 0;

	for (size_t i = from; i < to; i++)
		n += (unsigned char)p[i] != FILL;
	return n;
}

TEST_F(v4l2, capture_into_rw_export)
{
	const char *step;
	uint32_t used;
	int dmabuf, ret;

	HPM_SKIP_GUARD();
	dmabuf = hpm_export(self->fd, 0, self->ps, O_RDWR);
	ASSERT_LE(0, dmabuf);
	ret = capture(self->video, dmabuf, self->ps, &used, &step);
	EXPECT_EQ(0, ret) TH_LOG("%s: %s: %s", variant->allocator, step, strerror(-ret));
	EXPECT_LT(0, used);
	EXPECT_LE(used, self->sizeimage);
	if (!ret) {
		EXPECT_LT(used / 2, changed(self->map, 0, used))
			TH_LOG("%s: a frame of %u bytes left the buffer as the CPU wrote it",
			       variant->allocator, used);
		EXPECT_EQ(0, changed(self->map, self->sizeimage, self->ps))
			TH_LOG("%s: bytes past the frame changed", variant->allocator);
	}
	EXPECT_EQ(0, close(dmabuf));
	HPM_EXPECT_POOL(&self->c0, self->ps, 0, "after a capture");
}

TEST_F(v4l2, same_bytes_as_vivids_buffer)
{
	const char *step;
	uint32_t used;
	char *ref;
	long n;
	int dmabuf, ret;

	HPM_SKIP_GUARD();
	ASSERT_EQ(0, vivid_set_menu(self->video, "OSD Text Mode", "None"))
		TH_LOG("vivid's OSD Text Mode control");
	ref = malloc(self->sizeimage);
	ASSERT_NE(NULL, ref);
	n = capture_mmap(self->video, ref, self->sizeimage);
	ASSERT_LT(0, n) TH_LOG("%s: a frame into vivid's own buffer: %s", variant->allocator,
			       strerror((int)-n));

	dmabuf = hpm_export(self->fd, 0, self->ps, O_RDWR);
	ASSERT_LE(0, dmabuf);
	ret = capture(self->video, dmabuf, self->ps, &used, &step);
	EXPECT_EQ(0, ret) TH_LOG("%s: %s: %s", variant->allocator, step, strerror(-ret));
	if (!ret) {
		EXPECT_EQ(n, used);
		EXPECT_EQ(0, memcmp(ref, self->map, n))
			TH_LOG("%s: the frame in the export differs from vivid's own",
			       variant->allocator);
		EXPECT_EQ(0, changed(self->map, self->sizeimage, self->ps))
			TH_LOG("bytes past the frame changed");
	}
	EXPECT_EQ(0, close(dmabuf));
	free(ref);
	HPM_EXPECT_POOL(&self->c0, self->ps, 0, "after the captures");
}

TEST_F(v4l2, rdonly_export_not_written)
{
	const char *step;
	uint32_t used;
	int dmabuf, ret;

	HPM_SKIP_GUARD();
	dmabuf = hpm_export(self->fd, 0, self->ps, O_RDONLY);
	ASSERT_LE(0, dmabuf);
	ret = capture(self->video, dmabuf, self->ps, &used, &step);
	EXPECT_NE(0, ret) TH_LOG("%s: a read-only dma-buf was captured into (%u bytes)",
				 variant->allocator, used);
	if (ret)
		TH_LOG("%s: %s: %s", variant->allocator, step, strerror(-ret));
	EXPECT_EQ(0, changed(self->map, 0, self->ps))
		TH_LOG("%s: the device wrote a read-only dma-buf", variant->allocator);
	EXPECT_EQ(0, close(dmabuf));
	HPM_EXPECT_POOL(&self->c0, self->ps, 0, "after a refused capture");
}

/*
 * A frame of more than one huge page into an export of pages i and i + 1:
 * 0 or -errno of capture(), and the checks of the bytes when it worked
 * (or that none changed when it did not).
 */
static int capture_across(struct __test_metadata *_metadata, FIXTURE_DATA(v4l2) *self,
			  char *map, uint64_t i, const char *what)
{
	uint64_t off = i * self->ps, end = off + 2 * self->ps;
	const char *step;
	uint32_t used;
	int dmabuf, ret;

	memset(map, FILL, end);
	dmabuf = hpm_export(self->fd, off, 2 * self->ps, O_RDWR);
	if (dmabuf < 0)
		return dmabuf;
	ret = capture(self->video, dmabuf, 2 * self->ps, &used, &step);
	if (ret) {
		TH_LOG("%s: %s: %s", what, step, strerror(-ret));
	} else {
		EXPECT_LT(self->ps, used) TH_LOG("%s: the frame ends before the boundary", what);
		EXPECT_LT(used / 2, changed(map, off, off + used))
			TH_LOG("%s: a frame of %u bytes left the buffer as the CPU wrote it",
			       what, used);
		EXPECT_LT(0, changed(map, off + self->ps, off + used))
			TH_LOG("%s: nothing landed past the boundary", what);
	}
	EXPECT_EQ(0, changed(map, 0, off)) TH_LOG("%s: bytes before the export changed", what);
	EXPECT_EQ(0, changed(map, off + (ret ? 0 : used), end))
		TH_LOG("%s: bytes past the frame changed", what);
	close(dmabuf);
	return ret;
}

/*
 * A new load of the pool: freed huge pages go back to the head of the
 * pool's free list, so one load's ascending pages come back descending in
 * the next, and the other way round.
 */
static int v4l2_reload(FIXTURE_DATA(v4l2) *self)
{
	munmap(self->map, self->ps);
	self->map = MAP_FAILED;
	close(self->fd);
	self->fd = -1;
	if (hpm_ensure_unloaded() || hpm_ensure_profile_loaded())
		return -EIO;
	self->fd = hpm_open(O_RDWR);
	if (self->fd < 0)
		return self->fd;
	self->map = hpm_mmap(self->fd, 0, self->ps, PROT_READ | PROT_WRITE, MAP_SHARED);
	return self->map == MAP_FAILED ? -errno : 0;
}

/*
 * 1920x1080 YUYV, a frame of 3.96 MiB: across the boundary of two 2 MiB
 * pages, once where they are adjacent in memory and once where they are
 * not (up to three loads to find both).
 */
TEST_F_TIMEOUT(v4l2, capture_across_a_page_boundary, 120)
{
	uint64_t nr = self->ps == (2UL << 20) ? hpm_nr_pages() : 0, phys[16] = { 0 };
	struct v4l2_format big = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
	bool did_adjacent = false, did_apart = false;
	int ret;

	HPM_SKIP_GUARD();
	if (nr < 3 || nr > 16)
		SKIP(return, "needs 3 to 16 pages of 2 MiB");
	big.fmt.pix.width = 1920;
	big.fmt.pix.height = 1080;
	big.fmt.pix.pixelformat = V4L2_PIX_FMT_YUYV;
	big.fmt.pix.field = V4L2_FIELD_NONE;
	ASSERT_EQ(0, ioctl(self->video, VIDIOC_S_FMT, &big));
	self->restore_fmt = true;
	ASSERT_LT(self->ps, big.fmt.pix.sizeimage) TH_LOG("%ux%u: %u bytes", big.fmt.pix.width,
							   big.fmt.pix.height,
							   big.fmt.pix.sizeimage);
	ASSERT_GE(2 * self->ps, big.fmt.pix.sizeimage);
	vivid_slow_frame_rate(self->video);
	for (int load = 0; load < 3 && !(did_adjacent && did_apart); load++) {
		struct hpage_map_pages req = { .first = 0, .count = nr, .addrs = (uintptr_t)phys };
		int64_t adjacent = -1, apart = -1;
		char *map;

		if (load)
			ASSERT_EQ(0, v4l2_reload(self));
		map = hpm_mmap(self->fd, 0, nr * self->ps, PROT_READ | PROT_WRITE, MAP_SHARED);
		ASSERT_NE(MAP_FAILED, map);
		ASSERT_EQ(0, ioctl(self->fd, HPAGE_MAP_IOC_GET_PAGES, &req));
		/* Pages i, i + 1 with i + 2 < nr: the last page stays as a guard. */
		for (uint64_t i = 0; i + 2 < nr; i++) {
			bool next = phys[i + 1] == phys[i] + self->ps;

			if (next && adjacent < 0)
				adjacent = (int64_t)i;
			if (!next && apart < 0)
				apart = (int64_t)i;
		}
		if (adjacent >= 0 && !did_adjacent) {
			ret = capture_across(_metadata, self, map, adjacent, "adjacent pages");
			EXPECT_EQ(0, ret);
			did_adjacent = true;
		}
		if (apart >= 0 && !did_apart) {
			ret = capture_across(_metadata, self, map, apart, "pages apart");
			if (!strcmp(variant->allocator, "dma-contig")) {
				EXPECT_EQ(-EFAULT, ret)
					TH_LOG("dma-contig needs one contiguous range");
			} else {
				EXPECT_EQ(0, ret);
			}
			did_apart = true;
		}
		munmap(map, nr * self->ps);
	}
	if (!did_adjacent || !did_apart)
		TH_LOG("%s: no load gave %s pages", variant->allocator,
		       did_adjacent ? "two pages apart" : "two adjacent");
	HPM_EXPECT_POOL(&self->c0, self->ps, 0, "after the captures");
}

TEST_F(v4l2, output_from_exports)
{
	struct v4l2_format fmt = { .type = V4L2_BUF_TYPE_VIDEO_OUTPUT };
	const char *step;
	int out, dmabuf[2], ret;

	HPM_SKIP_GUARD();
	out = vivid_open(variant->instance, V4L2_CAP_VIDEO_OUTPUT);
	ASSERT_LE(0, out) TH_LOG("no output node of vivid instance %d", variant->instance);
	ASSERT_EQ(0, ioctl(out, VIDIOC_G_FMT, &fmt));
	ASSERT_LE(fmt.fmt.pix.sizeimage, self->ps);

	for (int mode = 0; mode < 2; mode++) {
		const char *name = mode ? "O_RDONLY" : "O_RDWR";

		dmabuf[0] = hpm_export(self->fd, 0, self->ps, mode ? O_RDONLY : O_RDWR);
		dmabuf[1] = hpm_export(self->fd, 0, self->ps, mode ? O_RDONLY : O_RDWR);
		ASSERT_LE(0, dmabuf[0]);
		ASSERT_LE(0, dmabuf[1]);
		ret = output(out, dmabuf, self->ps, fmt.fmt.pix.sizeimage, &step);
		if (mode && !strcmp(variant->allocator, "vmalloc")) {
			EXPECT_EQ(-EFAULT, ret) TH_LOG("vmalloc, %s export: %s: %s", name, step,
						       strerror(-ret));
			EXPECT_STREQ("QBUF", step);
		} else {
			EXPECT_EQ(0, ret) TH_LOG("%s, %s export: %s: %s", variant->allocator,
						 name, step, strerror(-ret));
		}
		close(dmabuf[0]);
		close(dmabuf[1]);
	}
	close(out);
	EXPECT_EQ(0, changed(self->map, 0, self->ps))
		TH_LOG("%s: video output wrote the buffer", variant->allocator);
	HPM_EXPECT_POOL(&self->c0, self->ps, 0, "after the output");
}

TEST_HARNESS_MAIN
