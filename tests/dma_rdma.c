// SPDX-License-Identifier: GPL-2.0
/*
 * dma_rdma.c - RDMA reads and writes the buffer: soft RoCE (rdma_rxe)
 * with memory regions registered on /dev/hpage_map mappings
 *
 * hpage-map-profiles: default
 * hpage-map-tier: load
 * hpage-map-libs: -libverbs -lrxe-rdmav34 -libverbs -lnl-route-3 -lnl-3
 *
 * The fixture makes an rxe device, rxe0, over a dummy netdev (rxe loops
 * packets to its own address back inside the kernel: nothing leaves the
 * guest), and two RC queue pairs connected to each other through its
 * link-local RoCE v2 GID.  ibv_reg_mr pins the pages of a mapping
 * long-term (FOLL_LONGTERM), as a real HCA's driver does; rxe then moves
 * the bytes with the CPU through the kernel's own mapping of those pages.
 * Checks:
 *  - a mapping of the whole buffer, registered in each queue pair's
 *    protection domain: RDMA WRITE from one region of it to another
 *    (across a huge page boundary) and RDMA READ back into a third, byte
 *    for byte against a copy made by the CPU; sysfs dma_pinned_pages
 *    counts the pages while a region is registered and 0 after the last
 *    ibv_dereg_mr; the pool counters are the load's throughout;
 *  - a second process's mapping: a child maps the buffer on its own,
 *    registers it and connects its own queue pair; the parent WRITEs into
 *    the child's region and READs from it, the child sees exactly those
 *    bytes through its mapping and the parent through its own;
 *  - control: the same WRITE and READ on MAP_HUGETLB memory;
 *  - dma-buf memory regions (ibv_reg_dmabuf_mr) on an export of the
 *    buffer, where rxe has them: no kernel of the set does, skipped.
 * Skipped where the kernel has no rdma_rxe or dummy (the debug kernel).
 */
#include "hpm_test.h"	/* first: it sets _GNU_SOURCE */

#define RDMA_STATIC_PROVIDERS rxe
#include <infiniband/verbs.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <rdma/rdma_netlink.h>
#include <sys/socket.h>

#include "devices.h"

#define CQ_DEPTH	16

/* One end of a connection: what the other end needs to reach it. */
struct rdma_end {
	uint32_t qpn, rkey;
	uint64_t addr;
	union ibv_gid gid;
};

/* A protection domain, a completion queue and a queue pair on rxe0. */
struct rdma_qp {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	union ibv_gid gid;
	int gid_index;
};

/*
 * The port's first RoCE v2 GID: the default (link-local) one that ib_core
 * adds for the netdev shortly after the link is made.  Its index, or -1.
 */
static int rdma_find_gid(struct ibv_context *ctx, union ibv_gid *gid)
{
	for (int tries = 0; tries < 100; tries++) {
		struct ibv_port_attr pa;

		if (!ibv_query_port(ctx, 1, &pa) && pa.state == IBV_PORT_ACTIVE) {
			for (int i = 0; i < pa.gid_tbl_len; i++) {
				struct ibv_gid_entry e;

				if (!ibv_query_gid_ex(ctx, 1, i, &e, 0) &&
				    e.gid_type == IBV_GID_TYPE_ROCE_V2) {
					*gid = e.gid;
					return i;
				}
			}
		}
		usleep(50000);
	}
	return -1;
}

static void rdma_qp_destroy(struct rdma_qp *q)
{
	if (q->qp)
		ibv_destroy_qp(q->qp);
	if (q->cq)
		ibv_destroy_cq(q->cq);
	if (q->pd)
		ibv_dealloc_pd(q->pd);
	if (q->ctx)
		ibv_close_device(q->ctx);
	memset(q, 0, sizeof(*q));
}

/* Open rxe0 and make a PD, a CQ and an RC QP in INIT.  0 or -errno. */
static int rdma_qp_create(struct rdma_qp *q)
{
	struct ibv_qp_init_attr init = {
		.qp_type = IBV_QPT_RC, .sq_sig_all = 1,
		.cap = { .max_send_wr = CQ_DEPTH / 2, .max_recv_wr = 1,
			 .max_send_sge = 1, .max_recv_sge = 1 },
	};
	struct ibv_qp_attr attr = {
		.qp_state = IBV_QPS_INIT, .port_num = 1,
		.qp_access_flags = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
				   IBV_ACCESS_REMOTE_READ,
	};
	struct ibv_device **list;
	int n, ret = -ENODEV;

	memset(q, 0, sizeof(*q));
	list = ibv_get_device_list(&n);
	if (!list)
		return -errno;
	for (int i = 0; i < n; i++)
		if (!strcmp(ibv_get_device_name(list[i]), RXE_DEV))
			q->ctx = ibv_open_device(list[i]);
	ibv_free_device_list(list);
	if (!q->ctx)
		return ret;
	q->gid_index = rdma_find_gid(q->ctx, &q->gid);
	if (q->gid_index < 0)
		goto fail;
	ret = -ENOMEM;
	q->pd = ibv_alloc_pd(q->ctx);
	q->cq = q->pd ? ibv_create_cq(q->ctx, CQ_DEPTH, NULL, NULL, 0) : NULL;
	if (!q->cq)
		goto fail;
	init.send_cq = init.recv_cq = q->cq;
	q->qp = ibv_create_qp(q->pd, &init);
	if (!q->qp)
		goto fail;
	ret = -ibv_modify_qp(q->qp, &attr, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			     IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
	if (!ret)
		return 0;
fail:
	rdma_qp_destroy(q);
	return ret;
}

/* Connect @q to the QP @peer describes: INIT -> RTR -> RTS.  0 or -errno. */
static int rdma_qp_connect(struct rdma_qp *q, const struct rdma_end *peer)
{
	struct ibv_qp_attr attr = {
		.qp_state = IBV_QPS_RTR, .path_mtu = IBV_MTU_1024,
		.dest_qp_num = peer->qpn, .rq_psn = 0,
		.max_dest_rd_atomic = 1, .min_rnr_timer = 12,
		.ah_attr = {
			.is_global = 1, .port_num = 1,
			.grh = { .dgid = peer->gid, .sgid_index = q->gid_index,
				 .hop_limit = 1 },
		},
	};
	int ret;

	ret = ibv_modify_qp(q->qp, &attr, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
			    IBV_QP_DEST_QPN | IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC |
			    IBV_QP_MIN_RNR_TIMER);
	if (ret)
		return -ret;
	memset(&attr, 0, sizeof(attr));
	attr.qp_state = IBV_QPS_RTS;
	attr.timeout = 14;
	attr.retry_cnt = 7;
	attr.rnr_retry = 7;
	attr.sq_psn = 0;
	attr.max_rd_atomic = 1;
	return -ibv_modify_qp(q->qp, &attr, IBV_QP_STATE | IBV_QP_TIMEOUT |
			      IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN |
			      IBV_QP_MAX_QP_RD_ATOMIC);
}

static struct rdma_end rdma_end_of(const struct rdma_qp *q, const struct ibv_mr *mr)
{
	return (struct rdma_end){ .qpn = q->qp->qp_num, .rkey = mr ? mr->rkey : 0,
				  .addr = mr ? (uintptr_t)mr->addr : 0, .gid = q->gid };
}

/* The status of the last completion rdma_op() waited for, for the log. */
static enum ibv_wc_status rdma_last_status;

/*
 * RDMA @opcode (WRITE or READ) of @len bytes between @local (in @mr) and
 * @remote_addr (in the region @rkey names), and wait for it.  0, or -EIO
 * for a completion in error (rdma_last_status says which), or -errno.
 */
static int rdma_op(struct rdma_qp *q, enum ibv_wr_opcode opcode, struct ibv_mr *mr,
		   void *local, uint64_t remote_addr, uint32_t rkey, uint32_t len)
{
	struct ibv_sge sge = { .addr = (uintptr_t)local, .length = len, .lkey = mr->lkey };
	struct ibv_send_wr wr = {
		.wr_id = opcode, .sg_list = &sge, .num_sge = 1, .opcode = opcode,
		.send_flags = IBV_SEND_SIGNALED,
		.wr.rdma = { .remote_addr = remote_addr, .rkey = rkey },
	}, *bad;
	struct ibv_wc wc;
	int n, ret;

	ret = ibv_post_send(q->qp, &wr, &bad);
	if (ret)
		return -ret;
	for (int i = 0; i < 200000; i++) {	/* 20 s: rxe runs in a kernel thread */
		n = ibv_poll_cq(q->cq, 1, &wc);
		if (n < 0)
			return -EIO;
		if (n) {
			rdma_last_status = wc.status;
			return wc.status == IBV_WC_SUCCESS ? 0 : -EIO;
		}
		usleep(100);
	}
	return -ETIMEDOUT;
}

/* Every byte of @p a different-looking value. */
static void fill_bytes(void *p, size_t len, uint64_t seed)
{
	uint64_t *w = p, x = seed | 1;

	for (size_t i = 0; i < len / 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		w[i] = x;
	}
}

/* The offset + 1 at which @a and @b first differ in @len bytes, or 0. */
static size_t first_diff(const char *a, const char *b, size_t len)
{
	if (!memcmp(a, b, len))
		return 0;
	for (size_t i = 0; ; i++)
		if (a[i] != b[i])
			return i + 1;
}

FIXTURE(rdma) {
	int fd;
	unsigned long ps;
	uint64_t nr, size;
	struct hpm_counters c0;
	struct rdma_qp a, b, p;	/* a and b connected; p: see another_process */
	char *map, *shadow;
};

FIXTURE_SETUP(rdma)
{
	struct rdma_end ea, eb;
	int ret;

	self->fd = -1;
	self->map = MAP_FAILED;
	self->shadow = NULL;
	ret = rxe_setup();
	if (ret > 0)
		SKIP(return, "no rdma_rxe or dummy in this kernel");
	ASSERT_EQ(0, ret) TH_LOG("rxe over %s: %s", RXE_NETDEV, strerror(-ret));
	HPM_SETUP_PROFILE_FD();
	ASSERT_LE(2, self->nr) TH_LOG("the tests cross a huge page boundary");
	ASSERT_EQ(0, hpm_counters_read(&self->c0));
	ret = rdma_qp_create(&self->a);
	ASSERT_EQ(0, ret) TH_LOG("a queue pair on %s: %s (no RoCE v2 GID?)", RXE_DEV,
				 strerror(-ret));
	ret = rdma_qp_create(&self->b);
	ASSERT_EQ(0, ret) TH_LOG("a second queue pair: %s", strerror(-ret));
	ea = rdma_end_of(&self->a, NULL);
	eb = rdma_end_of(&self->b, NULL);
	ASSERT_EQ(0, rdma_qp_connect(&self->a, &eb));
	ASSERT_EQ(0, rdma_qp_connect(&self->b, &ea));
	self->shadow = malloc(self->size);
	ASSERT_NE(NULL, self->shadow);
}

FIXTURE_TEARDOWN(rdma)
{
	rdma_qp_destroy(&self->a);
	rdma_qp_destroy(&self->b);
	rdma_qp_destroy(&self->p);
	free(self->shadow);
	if (self->map != MAP_FAILED)
		munmap(self->map, self->size);
	if (self->fd >= 0)
		close(self->fd);
	hpm_ensure_unloaded();
}

/*
 * @mem (@len bytes, at least two huge pages of @ps) is registered as @lmr
 * in @q's protection domain and as @rmr in its peer's: @q WRITEs from the
 * first page into the second, across their boundary, and READs that back
 * into the second page elsewhere; @shadow gets the same copies by the CPU.
 * 0 when @mem then equals @shadow, else the first differing offset + 1
 * (or -errno).
 */
static long long write_then_read(struct rdma_qp *q, struct ibv_mr *lmr, struct ibv_mr *rmr,
				 char *mem, char *shadow, size_t len, unsigned long ps)
{
	uint32_t n = ps / 2 + 4096 + 24;
	char *src = mem + 1000, *dst = mem + ps - n / 2, *back = mem + ps + n / 2 + 4096;
	int ret;

	memcpy(shadow, mem, len);
	ret = rdma_op(q, IBV_WR_RDMA_WRITE, lmr, src, (uintptr_t)dst, rmr->rkey, n);
	if (ret)
		return ret;
	memmove(shadow + (dst - mem), shadow + (src - mem), n);
	ret = rdma_op(q, IBV_WR_RDMA_READ, lmr, back, (uintptr_t)dst, rmr->rkey, n);
	if (ret)
		return ret;
	memmove(shadow + (back - mem), shadow + (dst - mem), n);
	return (long long)first_diff(mem, shadow, len);
}

/*
 * The whole buffer's mapping registered in both queue pairs' protection
 * domains: WRITE and READ inside it.
 */
TEST_F_TIMEOUT(rdma, write_and_read_within_the_buffer, 120)
{
	int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ;
	unsigned long long pinned = ~0ULL;
	struct ibv_mr *lmr, *rmr;
	long long ret;

	HPM_SKIP_GUARD();
	self->map = hpm_mmap(self->fd, 0, self->size, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, self->map);
	fill_bytes(self->map, 2 * self->ps, 0x4d41);
	lmr = ibv_reg_mr(self->a.pd, self->map, self->size, access);
	ASSERT_NE(NULL, lmr) TH_LOG("ibv_reg_mr of the buffer's mapping: %s", strerror(errno));
	rmr = ibv_reg_mr(self->b.pd, self->map, self->size, access);
	ASSERT_NE(NULL, rmr) TH_LOG("ibv_reg_mr, again: %s", strerror(errno));
	EXPECT_EQ(0, hpm_class_ull("dma_pinned_pages", &pinned));
	EXPECT_EQ(self->nr, pinned) TH_LOG("a registered region pins every page");
	HPM_EXPECT_POOL(&self->c0, self->ps, 0, "registered");
	ret = write_then_read(&self->a, lmr, rmr, self->map, self->shadow, 2 * self->ps,
			      self->ps);
	EXPECT_EQ(0, ret) TH_LOG("%s at offset %lld (completion: %s)",
				 ret < 0 ? strerror((int)-ret) : "RDMA's copy differs from the CPU's",
				 ret - 1, ibv_wc_status_str(rdma_last_status));
	HPM_EXPECT_POOL(&self->c0, self->ps, 0, "after the RDMA WRITE and READ");
	EXPECT_EQ(0, ibv_dereg_mr(lmr));
	EXPECT_EQ(0, hpm_class_ull("dma_pinned_pages", &pinned));
	EXPECT_EQ(self->nr, pinned) TH_LOG("the other region still pins every page");
	EXPECT_EQ(0, ibv_dereg_mr(rmr));
	EXPECT_EQ(0, hpm_class_ull("dma_pinned_pages", &pinned));
	EXPECT_EQ(0, pinned) TH_LOG("ibv_dereg_mr unpins");
	HPM_EXPECT_POOL(&self->c0, self->ps, 0, "deregistered");
}

/*
 * A child's own mapping of every huge page but the first, registered in
 * its own process: the parent WRITEs half a page from its own mapping of
 * the first page into the child's region (across a huge page boundary
 * when the region has two pages) from a queue pair of its own, and READs
 * it back into the first page's other half.  The child reports its region
 * over a pipe and checks the bytes through its own mapping.
 */
TEST_F_TIMEOUT(rdma, write_and_read_another_process, 120)
{
	size_t clen = self->size - self->ps, n = self->ps / 2;
	size_t coff = clen >= 2 * self->ps ? self->ps - n / 2 : (self->ps - n) / 2;
	int up[2], down[2], ret;
	struct rdma_end ec, ep;
	struct ibv_mr *mr;
	char ok = 0;
	pid_t pid;

	HPM_SKIP_GUARD();
	ASSERT_EQ(0, pipe2(up, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(down, O_CLOEXEC));
	pid = hpm_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct rdma_qp c;
		char *m, *expect;

		close(up[0]);
		close(down[1]);
		m = hpm_mmap(self->fd, self->ps, clen, PROT_READ | PROT_WRITE, MAP_SHARED);
		if (m == MAP_FAILED || rdma_qp_create(&c))
			_exit(2);
		mr = ibv_reg_mr(c.pd, m, clen, IBV_ACCESS_LOCAL_WRITE |
				IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ);
		if (!mr)
			_exit(3);
		ec = rdma_end_of(&c, mr);
		if (write(up[1], &ec, sizeof(ec)) != sizeof(ec) ||
		    read(down[0], &ep, sizeof(ep)) != sizeof(ep) || rdma_qp_connect(&c, &ep))
			_exit(4);
		ok = 1;
		if (write(up[1], &ok, 1) != 1 || read(down[0], &ok, 1) != 1)
			_exit(5);
		/* The parent wrote @n bytes at @coff of this mapping, from its fill. */
		expect = malloc(n);
		if (!expect)
			_exit(6);
		fill_bytes(expect, n, 0xc41d);
		ok = !memcmp(m + coff, expect, n);
		ibv_dereg_mr(mr);
		rdma_qp_destroy(&c);
		_exit(ok ? 0 : 7);
	}
	close(up[1]);
	close(down[0]);
	ASSERT_EQ(sizeof(ec), read(up[0], &ec, sizeof(ec))) TH_LOG("the child's region");
	ret = rdma_qp_create(&self->p);
	ASSERT_EQ(0, ret) TH_LOG("the parent's queue pair: %s", strerror(-ret));
	self->map = hpm_mmap(self->fd, 0, self->size, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, self->map);
	mr = ibv_reg_mr(self->p.pd, self->map, self->ps, IBV_ACCESS_LOCAL_WRITE);
	ASSERT_NE(NULL, mr) TH_LOG("ibv_reg_mr: %s", strerror(errno));
	ep = rdma_end_of(&self->p, NULL);
	ASSERT_EQ(0, rdma_qp_connect(&self->p, &ec));
	ASSERT_EQ(sizeof(ep), write(down[1], &ep, sizeof(ep)));
	ASSERT_EQ(1, read(up[0], &ok, 1)) TH_LOG("the child did not connect");

	/* The first page's first half -> the child's region. */
	fill_bytes(self->map, n, 0xc41d);
	ret = rdma_op(&self->p, IBV_WR_RDMA_WRITE, mr, self->map, ec.addr + coff, ec.rkey, n);
	EXPECT_EQ(0, ret) TH_LOG("RDMA WRITE into the child's region: %d", ret);
	EXPECT_EQ(0, first_diff(self->map + self->ps + coff, self->map, n))
		TH_LOG("the parent's own mapping of the child's region");
	/* And back from the child's region into the first page's second half. */
	memset(self->map + n, 0, n);
	ret = rdma_op(&self->p, IBV_WR_RDMA_READ, mr, self->map + n, ec.addr + coff, ec.rkey, n);
	EXPECT_EQ(0, ret) TH_LOG("RDMA READ from the child's region: %d", ret);
	EXPECT_EQ(0, first_diff(self->map + n, self->map + self->ps + coff, n));
	ASSERT_EQ(1, write(down[1], "", 1));
	EXPECT_EQ(0, hpm_wait(pid)) TH_LOG("the child: 7 = its mapping has other bytes");
	EXPECT_EQ(0, ibv_dereg_mr(mr));
	HPM_EXPECT_POOL(&self->c0, self->ps, 0, "both processes' regions gone");
	close(up[0]);
	close(down[1]);
}

/* The control: MAP_HUGETLB memory, registered and copied the same way. */
TEST_F_TIMEOUT(rdma, control_map_hugetlb, 120)
{
	int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ;
	size_t len = 2 * self->ps;
	struct ibv_mr *lmr, *rmr;
	long long ret;
	char *mem;

	HPM_SKIP_GUARD();
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB |
		   (__builtin_ctzl(self->ps) << MAP_HUGE_SHIFT), -1, 0);
	if (mem == MAP_FAILED)
		SKIP(return, "no two spare huge pages in the pool: %s", strerror(errno));
	fill_bytes(mem, len, 0x7e57);
	lmr = ibv_reg_mr(self->a.pd, mem, len, access);
	rmr = ibv_reg_mr(self->b.pd, mem, len, access);
	ASSERT_NE(NULL, lmr) TH_LOG("ibv_reg_mr of MAP_HUGETLB memory: %s", strerror(errno));
	ASSERT_NE(NULL, rmr);
	ret = write_then_read(&self->a, lmr, rmr, mem, self->shadow, len, self->ps);
	EXPECT_EQ(0, ret) TH_LOG("%s at offset %lld (completion: %s)",
				 ret < 0 ? strerror((int)-ret) : "RDMA's copy differs from the CPU's",
				 ret - 1, ibv_wc_status_str(rdma_last_status));
	EXPECT_EQ(0, ibv_dereg_mr(lmr));
	EXPECT_EQ(0, ibv_dereg_mr(rmr));
	munmap(mem, len);
}

/*
 * A dma-buf memory region, where rxe takes one: none does up to 7.3 (nor
 * rdma-core's rxe provider), so this skips everywhere in the set today.
 */
TEST_F_TIMEOUT(rdma, dmabuf_region, 120)
{
	int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ;
	struct ibv_mr *lmr, *rmr;
	long long ret;
	int dfd;

	HPM_SKIP_GUARD();
	dfd = hpm_export(self->fd, 0, self->size, O_RDWR);
	ASSERT_LE(0, dfd) TH_LOG("EXPORT_DMABUF: %s", strerror(-dfd));
	self->map = hpm_mmap(self->fd, 0, self->size, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, self->map);
	fill_bytes(self->map, 2 * self->ps, 0xdb1f);
	lmr = ibv_reg_dmabuf_mr(self->a.pd, 0, self->size, (uintptr_t)self->map, dfd, access);
	if (!lmr && errno == EOPNOTSUPP) {
		close(dfd);
		SKIP(return, "no dma-buf memory regions on rxe");
	}
	ASSERT_NE(NULL, lmr) TH_LOG("ibv_reg_dmabuf_mr: %s", strerror(errno));
	rmr = ibv_reg_dmabuf_mr(self->b.pd, 0, self->size, (uintptr_t)self->map, dfd, access);
	ASSERT_NE(NULL, rmr) TH_LOG("ibv_reg_dmabuf_mr, again: %s", strerror(errno));
	ret = write_then_read(&self->a, lmr, rmr, self->map, self->shadow, 2 * self->ps,
			      self->ps);
	EXPECT_EQ(0, ret) TH_LOG("%s at offset %lld (completion: %s)",
				 ret < 0 ? strerror((int)-ret) : "RDMA's copy differs from the CPU's",
				 ret - 1, ibv_wc_status_str(rdma_last_status));
	EXPECT_EQ(0, ibv_dereg_mr(lmr));
	EXPECT_EQ(0, ibv_dereg_mr(rmr));
	close(dfd);
	HPM_EXPECT_POOL(&self->c0, self->ps, 0, "dma-buf regions gone");
}

TEST_HARNESS_MAIN
