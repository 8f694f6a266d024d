// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz.c - a bounded random-operation tester for /dev/hpage_map
 *
 * hpage-map-profiles: numa
 *
 * (The numa guest has two vCPUs: the workers really run at once.)
 *
 * Epochs: load hpage_map with 1 .. 3 buffers from the parameter lists (each
 * a random nr_pages, 1 .. HPM_NR_PAGES; page_size entries 2M or empty;
 * numa_node entries 0, 1 or -1 on two nodes, and every node's share fits
 * it) and check each is zero, on its node, and shares no page with
 * another; ADD requests the pool cannot meet (more than it has, more than
 * a node has) must fail with ENOMEM and move no counter; hold a guard fd on
 * every buffer (so no unload and no REMOVE of one can succeed); run worker
 * processes (HPM_FUZZ_WORKERS, default 4) that each draw random operations
 * from their own PRNG, seeded from the run's seed:
 *   open/close /dev/hpage_map<i> of a random buffer with random flags (and
 *   dup, O_PATH);
 *   mmap of the device or of a dma-buf with random lengths, offsets,
 *   protections and flags (MAP_FIXED into a reserved window, hints,
 *   MAP_POPULATE, MAP_LOCKED, MAP_PRIVATE, MAP_HUGETLB, MAP_SYNC, ...);
 *   munmap, mprotect, mremap (shrink, grow, move, DONTUNMAP) and madvise
 *   (every advice but HWPOISON/SOFT_OFFLINE) of random sub-ranges;
 *   writes and reads of the data through any mapping; access that must
 *   fault (PROT_NONE, read-only); /proc/self/pagemap against GET_PAGES;
 *   GET_INFO, GET_PAGES and EXPORT_DMABUF with random and boundary
 *   arguments (bad pointers, read-only result pages, wrapping ranges, every
 *   flag bit), unknown ioctl numbers; on dma-bufs SYNC with random flags,
 *   SET_NAME, lseek, read; vgem import and GEM close; read/write/lseek/
 *   fstat/poll/fcntl/ftruncate/fallocate on the device; fork (the child
 *   carries on for a while and exits, or is SIGKILLed mid-operation, or
 *   drops CAP_SYS_ADMIN first); delete_module and finit_module attempts;
 *   /dev/hpage_map-control: ADD of a transient buffer (1 .. 4 pages, any
 *   node or a strict one, within a budget shared by all workers so that
 *   it must succeed), which the worker then opens, maps, writes, reads and
 *   exports like the others; ADD with bad flags, reserved words, nr_pages
 *   0, page sizes and nodes (EINVAL), more pages than memory (ENOMEM), bad
 *   pointers and a read-only result (EFAULT, no buffer left); REMOVE of
 *   the worker's own transient buffers at random moments (EBUSY while it
 *   holds an fd, a mapping, a dma-buf or a vgem import of it, else it must
 *   succeed), of a parameter buffer (EBUSY: the guard fd), of ids that
 *   cannot exist (ENOENT), through bad pointers (EFAULT); unknown control
 *   ioctls (ENOTTY); ADD and REMOVE without CAP_SYS_ADMIN (EPERM).
 * Only the worker (and its children, which inherit its fds and mappings)
 * knows the id of a transient buffer, and ids are reused, so a process
 * opens and removes only the buffers it knows of; a process removes the
 * transient buffers it added before it exits.
 * Meanwhile this process reads the sysfs attributes and the dma-buf list.
 * After each epoch: every worker gone; the transient buffers SIGKILLed
 * children left removed (REMOVE must succeed once they are dead, and there
 * are no more of them than such children may have left); no buffer but the
 * parameter ones; for each of those sysfs mappings 0, open_files 1 (its
 * guard fd) and dma_bufs 0; the module's refcount the number of guard fds,
 * no dma-buf of ours left, every hugetlb counter exact (the parameter
 * buffers' pages taken, nothing else; each node's free pages as after the
 * load), every buffer holds exactly what the workers last wrote and zeros
 * elsewhere, the kernel log clean; then the unload succeeds and every
 * counter is back where it started.
 *
 * Invariants checked during the run (a violation fails the test and prints
 * the worker, the operation and the seed):
 *   - every operation's result against a model of what the kernel and the
 *     driver must do: no success that must fail (a mapping past the end, a
 *     writable mapping of a read-only fd, a grown mapping, an unaligned
 *     hugetlb split, MADV_REMOVE, an unload while in use, ...) and no
 *     failure that must succeed (then also the errno where it is certain);
 *   - data: each worker owns one 8-byte word in every 4 KiB of every
 *     buffer (of a transient buffer, only its owner writes) and records
 *     what it last wrote there in shared memory; any process reading any
 *     word through any mapping (device, dma-buf huge or 4 KiB) sees the
 *     owner's last value, or the one being written (checked with a
 *     seqlock-like read of the record before and after); a new transient
 *     buffer is zero;
 *   - no SIGBUS or SIGSEGV on an access the mapping allows, one on an access
 *     it forbids;
 *   - GET_INFO and sysfs report the buffer's own id and geometry; the
 *     physical pages behind every mapping are that buffer's (pagemap vs
 *     GET_PAGES, stable within an epoch), and a new transient buffer's
 *     pages are none of the parameter buffers'.
 *
 * Reproducible: the seed is printed; HPM_FUZZ_SEED=<n> reruns it (the same
 * operations per worker; the interleaving is the scheduler's).  Budget:
 * HPM_FUZZ_SECONDS (default 100; 240 on the debug kernel), HPM_FUZZ_OPS
 * (default unlimited), HPM_FUZZ_EPOCHS (default 6).  From the host:
 * `HPM_FUZZ_SEED=0x1234 make check TESTS=fuzz` (tests/guest/run-vm passes
 * HPM_FUZZ_* and HPM_CYCLES to the guest).
 */
#include "hpm_test.h"

#include <poll.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <linux/capability.h>
#include <linux/dma-buf.h>
#include <drm/drm.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE	0x100000
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE	0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC		0x80000
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP	4
#endif
#ifndef MADV_COLD
#define MADV_COLD		20
#define MADV_PAGEOUT		21
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ	22
#define MADV_POPULATE_WRITE	23
#endif
#ifndef O_PATH
#define O_PATH			010000000
#endif
#ifndef O_TMPFILE
#define O_TMPFILE		(020000000 | O_DIRECTORY)
#endif
#ifndef DMA_BUF_SET_NAME
#define DMA_BUF_SET_NAME	_IOW(DMA_BUF_BASE, 1, const char *)
#endif

#define FZ_MAX_WORKERS	8
#define FZ_MAX_BLOCKS	(8 * 512)	/* 8 pages of 2 MiB in 4 KiB blocks */
#define FZ_MAX_PAGES	8
#define FZ_MAX_FDS	48
#define FZ_MAX_MAPS	48
#define FZ_MAX_HANDLES	16
#define FZ_MAX_PARAM	3		/* buffers from the parameters */
#define FZ_TSLOTS	2		/* transient buffers a worker holds at once */
#define FZ_T_MAX_NR	4		/* pages of a transient buffer */
/* buffer slots: the parameter buffers, then each worker's transient ones */
#define FZ_SLOTS	(FZ_MAX_PARAM + FZ_MAX_WORKERS * FZ_TSLOTS)
/* ids no buffer can have this epoch: at most a few dozen ever exist at once */
#define FZ_ID_UNUSED	128
#define FZ_WINDOW_PAGES	64		/* MAP_FIXED targets: a reserved window */
#define FZ_BLOCK	4096UL
#define PAGE_ALIGN_4K(x)	(((x) + FZ_BLOCK - 1) & ~(FZ_BLOCK - 1))

/* ------------------------------------------------------------------ */
/* operations                                                          */

enum fz_op {
	OP_OPEN, OP_CLOSE, OP_DUP, OP_MMAP, OP_MUNMAP, OP_MPROTECT, OP_MREMAP,
	OP_MADVISE, OP_WRITE, OP_VERIFY, OP_FAULT, OP_PAGEMAP, OP_GET_INFO,
	OP_GET_PAGES, OP_EXPORT, OP_BAD_IOCTL, OP_DMABUF, OP_VGEM, OP_FILEOPS,
	OP_FORK, OP_RMMOD, OP_CTL, OP_NR
};

static const char *const fz_op_name[OP_NR] = {
	"open", "close", "dup", "mmap", "munmap", "mprotect", "mremap",
	"madvise", "write", "verify", "fault", "pagemap", "get_info",
	"get_pages", "export", "bad_ioctl", "dmabuf", "vgem", "fileops",
	"fork", "rmmod", "control",
};

static const unsigned int fz_op_weight[OP_NR] = {
	[OP_OPEN] = 6, [OP_CLOSE] = 5, [OP_DUP] = 2, [OP_MMAP] = 12,
	[OP_MUNMAP] = 6, [OP_MPROTECT] = 5, [OP_MREMAP] = 5, [OP_MADVISE] = 6,
	[OP_WRITE] = 14, [OP_VERIFY] = 14, [OP_FAULT] = 2, [OP_PAGEMAP] = 2,
	[OP_GET_INFO] = 4, [OP_GET_PAGES] = 4, [OP_EXPORT] = 7,
	[OP_BAD_IOCTL] = 3, [OP_DMABUF] = 5, [OP_VGEM] = 3, [OP_FILEOPS] = 4,
	[OP_FORK] = 1, [OP_RMMOD] = 1, [OP_CTL] = 3,
};

/* ------------------------------------------------------------------ */
/* shared between the processes of one epoch                           */

struct fz_shared {
	atomic_ulong ops;
	atomic_ulong op_count[OP_NR];
	atomic_ulong violations;
	atomic_int stop;
	/*
	 * Pages promised to transient buffers: 16 bits each for any node,
	 * node 0 and node 1.  A lock-free word, since a SIGKILLed child may
	 * die at any point (its promise then stays until the epoch ends).
	 */
	atomic_ullong budget;
	/* transient buffers added and not removed, and ADDs/REMOVEs under way */
	atomic_int tlive, tbusy;
	atomic_ulong tadded, tremoved, trefused;	/* for the epoch's report */
	_Atomic uint64_t shadow[FZ_SLOTS][FZ_MAX_WORKERS][FZ_MAX_BLOCKS];
};

/* A buffer as its users know it. */
struct fz_buf {
	bool live;
	uint32_t id;
	unsigned long nr;
	uint64_t size;
	int node;		/* what GET_INFO reports */
	int want_node;		/* transient: the node asked for, -1 any */
	pid_t owner;		/* transient: the process that added it */
	uint64_t phys[FZ_MAX_PAGES];
};

/* the epoch, fixed before the workers start */
struct fz_epoch {
	unsigned int epoch, workers;
	unsigned long ps;
	uint64_t seed;
	unsigned long long max_ops;
	unsigned int nbuf;			/* parameter buffers, ids 0 .. nbuf - 1 */
	struct fz_buf buf[FZ_MAX_PARAM];
	int nodes;				/* NUMA nodes (2 in the numa profile) */
	long long free_total, free_node[2];	/* 2M pages free after the load */
	int gb_errno;				/* ADD of a 1G page: EINVAL or ENOMEM, 0: skip */
};

static struct fz_shared *sh;
static struct fz_epoch ep;

/*
 * Whether this kernel's dma-buf files are noexec (7.x here; 6.1 and 6.12
 * are not): then do_mmap refuses PROT_EXEC on a dma-buf with EPERM, after
 * its own checks and before the driver's, and no mapping made through a
 * dma-buf can gain PROT_EXEC by mprotect (EACCES).  Probed once per epoch.
 */
static bool fz_dmabuf_noexec;

/* ------------------------------------------------------------------ */
/* PRNG                                                                */

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* ------------------------------------------------------------------ */
/* one worker's state                                                  */

enum fz_kind { K_DEV, K_DMABUF, K_VGEM, K_PATH };

struct fz_fd {
	int fd;
	enum fz_kind kind;
	int acc;		/* O_RDONLY, O_WRONLY, O_RDWR (dev, dma-buf) */
	uint64_t off, size;	/* dma-buf: its range of the buffer */
	int slot;		/* the buffer's */
};

struct fz_map {
	char *addr;
	size_t len;
	int slot;		/* the buffer's */
	uint64_t boff;		/* buffer offset at addr */
	int prot;
	bool huge;		/* hugetlb VMA (else 4 KiB PFN map of a dma-buf) */
	bool maywrite;		/* its file was writable: mprotect can add WRITE */
	bool mayexec;		/* mprotect can add EXEC (mapped, so not noexec) */
	bool dontfork;
	bool locked;
};

struct fz_worker {
	int id;
	uint64_t rng;
	unsigned long long nops;
	bool child, may_write, no_admin, may_vgem;
	int depth;
	struct fz_fd fds[FZ_MAX_FDS];
	int nfds;
	struct fz_map maps[FZ_MAX_MAPS];
	int nmaps;
	uint32_t handles[FZ_MAX_HANDLES];
	int hslot[FZ_MAX_HANDLES];	/* the buffer each import is of */
	int nhandles;
	int card;
	int ctl;		/* /dev/hpage_map-control */
	struct fz_buf tbuf[FZ_TSLOTS];	/* transient buffers it knows of */
	char *window;		/* FZ_WINDOW_PAGES * ps, reserved PROT_NONE */
	char *ro_page;		/* a read-only page (EFAULT on output) */
	char *scratch;		/* a writable page */
	const char *op;		/* what is being done, for reports */
	char what[256];
	char *vaddr;		/* reports list the VMAs of [vaddr, vaddr + vlen) */
	size_t vlen;
};

static struct fz_worker *me;

static uint64_t rnd(void)
{
	return splitmix(&me->rng);
}

static uint64_t rndn(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static bool chance(unsigned int pct)
{
	return rndn(100) < pct;
}

/* ------------------------------------------------------------------ */
/* buffers                                                             */

static int fz_tslot(int t)
{
	return FZ_MAX_PARAM + me->id * FZ_TSLOTS + t;
}

static struct fz_buf *fz_buf(int slot)
{
	if (slot < FZ_MAX_PARAM)
		return &ep.buf[slot];
	return &me->tbuf[slot - fz_tslot(0)];
}

/* A buffer this process knows of: mostly a parameter one. */
static int fz_pick_buf(void)
{
	int live[FZ_TSLOTS], n = 0;

	for (int t = 0; t < FZ_TSLOTS; t++)
		if (me->tbuf[t].live)
			live[n++] = fz_tslot(t);
	if (n && chance(35))
		return live[rndn(n)];
	return rndn(ep.nbuf);
}

/* ------------------------------------------------------------------ */
/* reports                                                             */

static void fz_violation(const char *fmt, ...)
{
	unsigned long n = atomic_fetch_add(&sh->violations, 1);
	char msg[768];
	va_list ap;
	char line[2048];
	int len;

	if (n >= 20)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* one write(): no lock another process could die holding */
	len = snprintf(line, sizeof(line),
		       "# fuzz: VIOLATION (seed 0x%llx, epoch %u, worker %d%s, op %llu %s: %s): %s\n",
		       (unsigned long long)ep.seed, ep.epoch, me->id,
		       me->child ? " (child)" : "", me->nops, me->op, me->what, msg);
	if (me->vlen && len < (int)sizeof(line)) {
		/* the VMAs there now, from /proc/self/maps */
		FILE *f = fopen("/proc/self/maps", "re");
		char l[256];

		while (f && fgets(l, sizeof(l), f) && len < (int)sizeof(line) - 1) {
			unsigned long s0, e0;

			if (sscanf(l, "%lx-%lx", &s0, &e0) == 2 &&
			    e0 + FZ_BLOCK > (uintptr_t)me->vaddr &&
			    s0 < (uintptr_t)me->vaddr + me->vlen + FZ_BLOCK)
				len += snprintf(line + len, sizeof(line) - len, "#   vma %s", l);
		}
		if (f)
			fclose(f);
	}
	if (len > (int)sizeof(line) - 1)
		len = sizeof(line) - 1;
	if (write(STDERR_FILENO, line, len) < 0)
		return;
}

#define EXPECT_OK(ret, err) do {						\
	if ((ret) < 0)								\
		fz_violation("failed with %s, must succeed", strerror(err));	\
} while (0)

#define EXPECT_FAIL(ret, err, want) do {					\
	if ((ret) >= 0)								\
		fz_violation("succeeded, must fail with %s", strerror(want));	\
	else if ((want) && (err) != (want))					\
		fz_violation("failed with %s, expected %s", strerror(err),	\
			     strerror(want));					\
} while (0)

/* ------------------------------------------------------------------ */
/* faults on access                                                    */

static sigjmp_buf fz_jmp;
static volatile sig_atomic_t fz_armed;
static void *volatile fz_fault_addr;

static void fz_on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (!fz_armed) {
		/* not async-signal-safe, but this process ends here anyway */
		fz_violation("signal %d at %p outside any access to the buffer", sig,
			     si->si_addr);
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	fz_fault_addr = si->si_addr;
	fz_armed = 0;
	siglongjmp(fz_jmp, sig);
}

static void fz_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fz_on_fault;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

/* ------------------------------------------------------------------ */
/* state helpers                                                       */

static int fz_add_fd(int fd, enum fz_kind kind, int acc, uint64_t off, uint64_t size,
		     int slot)
{
	if (me->nfds == FZ_MAX_FDS) {
		close(fd);
		return -1;
	}
	me->fds[me->nfds++] = (struct fz_fd){ fd, kind, acc, off, size, slot };
	return 0;
}

static struct fz_fd *fz_pick_fd(int kind_mask)
{
	int idx[FZ_MAX_FDS], n = 0;

	for (int i = 0; i < me->nfds; i++)
		if (kind_mask & (1 << me->fds[i].kind))
			idx[n++] = i;
	return n ? &me->fds[idx[rndn(n)]] : NULL;
}

static void fz_del_fd(struct fz_fd *f)
{
	*f = me->fds[--me->nfds];
}

static void fz_rereserve(char *a, size_t len);

/*
 * Track a mapping; with no room left, unmap it: an untracked mapping in the
 * window would be taken for free space (a "bad" pointer that works).
 */
static void fz_add_map(const struct fz_map *m)
{
	if (me->nmaps < FZ_MAX_MAPS) {
		me->maps[me->nmaps++] = *m;
	} else if (!munmap(m->addr, m->len)) {
		fz_rereserve(m->addr, m->len);
	}
}

/* Give a range of the window back to the reservation (after an unmap). */
static void fz_rereserve(char *a, size_t len)
{
	char *ws = me->window, *we = me->window + FZ_WINDOW_PAGES * ep.ps;
	char *s = a < ws ? ws : a, *e = a + len > we ? we : a + len;

	if (s < e)
		mmap(s, e - s, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
		     -1, 0);
}

/* Drop [a, a + len) from the tracked maps (what is left of each stays). */
static void fz_trim(char *a, size_t len)
{
	char *e = a + len;

	for (int i = 0; i < me->nmaps; i++) {
		struct fz_map m = me->maps[i];
		char *ms = m.addr, *me_ = m.addr + m.len;

		if (e <= ms || a >= me_)
			continue;
		me->maps[i] = me->maps[--me->nmaps];
		i--;
		if (ms < a) {
			struct fz_map l = m;

			l.len = a - ms;
			fz_add_map(&l);
		}
		if (me_ > e) {
			struct fz_map r = m;

			r.addr = e;
			r.len = me_ - e;
			r.boff = m.boff + (e - ms);
			fz_add_map(&r);
		}
	}
}

/*
 * Set @prot on [a, a + len) of the tracked maps (-1: keep it, just split
 * where the kernel split its VMAs: mremap cannot cross their boundaries).
 */
static void fz_set_prot(char *a, size_t len, int prot)
{
	struct fz_map pieces[FZ_MAX_MAPS];
	int n = 0;

	for (int i = 0; i < me->nmaps; i++) {
		struct fz_map m = me->maps[i];

		if (a + len <= m.addr || a >= m.addr + m.len)
			continue;
		if (n < FZ_MAX_MAPS)
			pieces[n++] = m;
	}
	fz_trim(a, len);
	for (int i = 0; i < n; i++) {
		struct fz_map m = pieces[i];
		char *s = m.addr < a ? a : m.addr;
		char *e = m.addr + m.len > a + len ? a + len : m.addr + m.len;

		m.boff += s - m.addr;
		m.addr = s;
		m.len = e - s;
		if (prot >= 0)
			m.prot = prot;
		fz_add_map(&m);
	}
}

static struct fz_map *fz_pick_map(bool (*ok)(const struct fz_map *))
{
	int idx[FZ_MAX_MAPS], n = 0;

	for (int i = 0; i < me->nmaps; i++)
		if (!ok || ok(&me->maps[i]))
			idx[n++] = i;
	return n ? &me->maps[idx[rndn(n)]] : NULL;
}

static bool fz_readable(const struct fz_map *m)
{
	return m->prot & (PROT_READ | PROT_WRITE);
}

static bool fz_writable(const struct fz_map *m)
{
	return m->prot & PROT_WRITE;
}

/* A free, @align-aligned range of @len in the window, or NULL. */
static char *fz_window_free(size_t len, size_t align)
{
	size_t wlen = FZ_WINDOW_PAGES * ep.ps;

	if (len > wlen)
		return NULL;
	for (int tries = 0; tries < 8; tries++) {
		size_t slots = (wlen - len) / align + 1;
		char *a = me->window + rndn(slots) * align;
		bool clash = false;

		for (int i = 0; i < me->nmaps && !clash; i++)
			clash = a < me->maps[i].addr + me->maps[i].len &&
				me->maps[i].addr < a + len;
		if (!clash)
			return a;
	}
	return NULL;
}

/* A random sub-range of @m: 4 KiB aligned, mostly huge-page aligned. */
static void fz_subrange(const struct fz_map *m, char **a, size_t *len)
{
	if (m->huge && chance(75)) {
		unsigned long pages = m->len / ep.ps, first = rndn(pages);

		*a = m->addr + first * ep.ps;
		*len = (1 + rndn(pages - first)) * ep.ps;
	} else {
		unsigned long blocks = m->len / FZ_BLOCK, first = rndn(blocks);

		*a = m->addr + first * FZ_BLOCK;
		*len = (1 + rndn(blocks - first)) * FZ_BLOCK;
	}
}

static bool fz_aligned(const void *a, size_t len)
{
	return !(((uintptr_t)a | len) % ep.ps);
}

/* ------------------------------------------------------------------ */
/* the data                                                            */

#define FZ_TAG(w)	((uint64_t)((w) + 1) << 56)
#define FZ_CNT(v)	((v) & ((1ULL << 56) - 1))

static volatile uint64_t *fz_word(const struct fz_map *m, uint64_t block, int w)
{
	return (volatile uint64_t *)(m->addr + (block * FZ_BLOCK - m->boff) + w * 8);
}

/* The blocks of @m: [*first, *first + *n) */
static __attribute__((noinline)) void fz_blocks(const struct fz_map *m, uint64_t *first, uint64_t *n)
{
	uint64_t b0 = m->boff / FZ_BLOCK, nb = m->len / FZ_BLOCK, k = 1 + rndn(16);

	if (k > nb)
		k = nb;
	*first = b0 + rndn(nb - k + 1);
	*n = k;
}

static void op_write(void)
{
	struct fz_map *m = fz_pick_map(fz_writable);
	uint64_t first, n;
	volatile uint64_t b = 0;
	int sig;

	if (!m || !me->may_write)
		return;
	fz_blocks(m, &first, &n);
	snprintf(me->what, sizeof(me->what), "buffer %u %s map %p+%zx boff %llx blocks %llu+%llu",
		 fz_buf(m->slot)->id, m->huge ? "huge" : "4k", m->addr, m->len,
		 (unsigned long long)m->boff,
		 (unsigned long long)first, (unsigned long long)n);
	fz_armed = 1;
	sig = sigsetjmp(fz_jmp, 0);
	if (sig) {
		fz_violation("signal %d writing block %llu at %p", sig,
			     (unsigned long long)b, fz_fault_addr);
		return;
	}
	for (b = first; b < first + n; b++) {
		uint64_t v = atomic_load(&sh->shadow[m->slot][me->id][b]);

		v = FZ_TAG(me->id) | (FZ_CNT(v) + 1);
		*fz_word(m, b, me->id) = v;
		atomic_store(&sh->shadow[m->slot][me->id][b], v);
	}
	fz_armed = 0;
}

static void fz_check_word(uint64_t b, int w, uint64_t s1, uint64_t x, uint64_t s2,
			  const struct fz_map *m)
{
	bool ok;

	if (w == me->id)
		ok = x == s1;
	else if (!x)
		ok = !s1;
	else
		ok = (x >> 56) == (uint64_t)w + 1 && FZ_CNT(x) >= FZ_CNT(s1) &&
		     FZ_CNT(x) <= FZ_CNT(s2) + 1;
	if (!ok)
		fz_violation("buffer %u block %llu (offset 0x%llx) word of worker %d through %s map %p (boff 0x%llx): read 0x%llx, record 0x%llx..0x%llx",
			     fz_buf(m->slot)->id, (unsigned long long)b,
			     (unsigned long long)(b * FZ_BLOCK + w * 8), w,
			     m->huge ? "huge" : "4k", m->addr, (unsigned long long)m->boff,
			     (unsigned long long)x, (unsigned long long)s1,
			     (unsigned long long)s2);
}

static void fz_verify_map(const struct fz_map *m)
{
	uint64_t first, n;
	volatile uint64_t b = 0;
	int sig;

	fz_blocks(m, &first, &n);
	fz_armed = 1;
	sig = sigsetjmp(fz_jmp, 0);
	if (sig) {
		fz_violation("signal %d reading block %llu at %p (%s map %p+%zx prot %d)", sig,
			     (unsigned long long)b, fz_fault_addr, m->huge ? "huge" : "4k",
			     m->addr, m->len, m->prot);
		return;
	}
	for (b = first; b < first + n; b++)
		for (unsigned int w = 0; w < ep.workers; w++) {
			uint64_t s1 = atomic_load(&sh->shadow[m->slot][w][b]);
			uint64_t x = *fz_word(m, b, w);
			uint64_t s2 = atomic_load(&sh->shadow[m->slot][w][b]);

			fz_check_word(b, w, s1, x, s2, m);
		}
	fz_armed = 0;
}

static void op_verify(void)
{
	struct fz_map *m = fz_pick_map(fz_readable);

	if (!m)
		return;
	snprintf(me->what, sizeof(me->what), "buffer %u %s map %p+%zx boff %llx prot %d",
		 fz_buf(m->slot)->id, m->huge ? "huge" : "4k", m->addr, m->len,
		 (unsigned long long)m->boff, m->prot);
	fz_verify_map(m);
}

static bool fz_no_access(const struct fz_map *m)
{
	return !(m->prot & (PROT_READ | PROT_WRITE | PROT_EXEC));
}

static bool fz_read_only(const struct fz_map *m)
{
	return (m->prot & PROT_READ) && !(m->prot & PROT_WRITE);
}

/* An access the mapping forbids must fault (and change nothing). */
static void op_fault(void)
{
	bool write = chance(50);
	struct fz_map *m = fz_pick_map(write ? fz_read_only : fz_no_access);
	volatile uint64_t *p;
	uint64_t first, n;
	int sig;

	if (!m)
		return;
	fz_blocks(m, &first, &n);
	p = fz_word(m, first, me->id);
	snprintf(me->what, sizeof(me->what), "%s of %s map %p prot %d at %p",
		 write ? "write" : "read", m->huge ? "huge" : "4k", m->addr, m->prot, p);
	fz_armed = 1;
	sig = sigsetjmp(fz_jmp, 0);
	if (!sig) {
		if (write)
			*p = atomic_load(&sh->shadow[m->slot][me->id][first]);	/* harmless if it works */
		else
			(void)*p;
		fz_armed = 0;
		fz_violation("the access did not fault");
		return;
	}
	if (sig != SIGSEGV)
		fz_violation("signal %d, expected SIGSEGV", sig);
}

/* /proc/self/pagemap: the page behind a mapped address is the pool's. */
static void op_pagemap(void)
{
	struct fz_map *m = fz_pick_map(fz_readable);
	uint64_t first, n, ent = 0, expect;
	volatile uint64_t *p;
	int fd, sig;

	if (!m || me->no_admin)	/* PFNs: CAP_SYS_ADMIN */
		return;
	fz_blocks(m, &first, &n);
	p = fz_word(m, first, 0);
	snprintf(me->what, sizeof(me->what), "buffer %u %s map %p boff %llx at %p",
		 fz_buf(m->slot)->id, m->huge ? "huge" : "4k", m->addr,
		 (unsigned long long)m->boff, p);
	fz_armed = 1;
	sig = sigsetjmp(fz_jmp, 0);
	if (sig) {
		fz_violation("signal %d reading %p", sig, fz_fault_addr);
		return;
	}
	(void)*p;
	fz_armed = 0;
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (pread(fd, &ent, 8, (uintptr_t)p / 4096 * 8) != 8)
		ent = 0;
	close(fd);
	if (!(ent >> 63))	/* not present: raced with someone's DONTNEED */
		return;
	expect = (fz_buf(m->slot)->phys[first * FZ_BLOCK / ep.ps] + first * FZ_BLOCK % ep.ps) / 4096;
	if ((ent & ((1ULL << 55) - 1)) != expect)
		fz_violation("pagemap PFN 0x%llx, GET_PAGES says 0x%llx",
			     (unsigned long long)(ent & ((1ULL << 55) - 1)),
			     (unsigned long long)expect);
}

/* ------------------------------------------------------------------ */
/* open, close, dup                                                    */

static void op_open(void)
{
	static const int extra[] = {
		O_CLOEXEC, O_NONBLOCK, O_SYNC, O_APPEND, O_NOCTTY, O_NOATIME,
		O_LARGEFILE, O_TRUNC, O_DSYNC, O_NOFOLLOW, O_CREAT,
		O_DIRECT, O_DIRECTORY, O_EXCL, O_PATH, O_TMPFILE,
	};
	int acc = rndn(3), flags = acc, fd, err, want = 0, slot = fz_pick_buf();
	char path[64];

	for (int i = 0; i < 16; i++)
		if (chance(i < 11 ? 20 : 4))
			flags |= extra[i];
	hpm_dev_path(path, sizeof(path), fz_buf(slot)->id);
	snprintf(me->what, sizeof(me->what), "%s flags 0%o", path, flags);
	fd = open(path, flags, 0600);
	err = errno;
	if ((flags & O_TMPFILE) == O_TMPFILE || (flags & O_DIRECTORY))
		want = -1;		/* ENOTDIR, EINVAL, EISDIR: the VFS' order */
	else if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL) && !(flags & O_PATH))
		want = EEXIST;
	else if ((flags & O_DIRECT) && !(flags & O_PATH))
		want = EINVAL;
	if (want) {
		if (fd >= 0) {
			fz_violation("open succeeded, must fail");
			close(fd);
		} else if (want > 0 && err != want) {
			fz_violation("open: %s, expected %s", strerror(err), strerror(want));
		}
		return;
	}
	if (fd < 0) {
		fz_violation("open failed: %s", strerror(err));
		return;
	}
	fz_add_fd(fd, (flags & O_PATH) ? K_PATH : K_DEV, acc, 0, 0, slot);
}

static void op_close(void)
{
	struct fz_fd *f = fz_pick_fd(1 << K_DEV | 1 << K_DMABUF | 1 << K_PATH);

	if (!f)
		return;
	snprintf(me->what, sizeof(me->what), "fd %d kind %d", f->fd, f->kind);
	if (close(f->fd))
		fz_violation("close: %s", strerror(errno));
	fz_del_fd(f);
}

static void op_dup(void)
{
	struct fz_fd *f = fz_pick_fd(1 << K_DEV | 1 << K_DMABUF), c;
	int fd;

	if (!f || me->nfds == FZ_MAX_FDS)
		return;
	c = *f;
	snprintf(me->what, sizeof(me->what), "fd %d", f->fd);
	fd = chance(50) ? dup(f->fd) : fcntl(f->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) {
		fz_violation("dup: %s", strerror(errno));
		return;
	}
	fz_add_fd(fd, c.kind, c.acc, c.off, c.size, c.slot);
}

/* ------------------------------------------------------------------ */
/* mmap                                                                */

static uint64_t fz_pick_len(uint64_t size)
{
	switch (rndn(10)) {
	case 0: return 0;
	case 1: return rndn(size + 2 * ep.ps) + 1;		/* anything */
	case 2: return size + ep.ps;				/* past the end */
	case 3: return 1ULL << (40 + rndn(20));			/* absurd */
	case 4: return (rndn(size / FZ_BLOCK) + 1) * FZ_BLOCK;	/* 4 KiB multiple */
	default: return (rndn(size / ep.ps) + 1) * ep.ps;	/* page multiple */
	}
}

static uint64_t fz_pick_off(uint64_t size)
{
	switch (rndn(10)) {
	case 0: return rndn(size) | 1;				/* not 4 KiB aligned */
	case 1: return rndn(size / FZ_BLOCK) * FZ_BLOCK;	/* 4 KiB aligned */
	case 2: return size;					/* at the end */
	case 3: return -ep.ps;					/* wraps */
	case 4: return 0;
	default: return rndn(size / ep.ps) * ep.ps;
	}
}

static void op_mmap(void)
{
	struct fz_fd *f = fz_pick_fd(1 << K_DEV | 1 << K_DMABUF | 1 << K_PATH);
	uint64_t size, len, off;
	int prot = rndn(8), type, flags, err, want = 0;
	bool fixed = false, maybe = false, dev, ok;
	char *hint = NULL, *p;
	struct fz_map m;

	if (!f)
		return;
	dev = f->kind != K_DMABUF;
	size = dev ? fz_buf(f->slot)->size : f->size;
	len = fz_pick_len(size);
	off = fz_pick_off(size);
	switch (rndn(12)) {
	case 0: type = MAP_PRIVATE; break;
	case 1: type = MAP_SHARED_VALIDATE; break;
	case 2: type = 0; break;					/* no type */
	default: type = MAP_SHARED; break;
	}
	flags = type;
	if (chance(15))
		flags |= MAP_POPULATE;
	if (chance(5))
		flags |= MAP_LOCKED;
	if (chance(10))
		flags |= MAP_NORESERVE;
	if (chance(4))
		flags |= MAP_HUGETLB;
	if (chance(3))
		flags |= MAP_SYNC;
	switch (rndn(6)) {
	case 0: case 1: {	/* MAP_FIXED into the window */
		bool aligned = chance(75);

		if (len > FZ_WINDOW_PAGES * ep.ps)
			break;
		hint = fz_window_free((len + FZ_BLOCK - 1) & ~(FZ_BLOCK - 1),
				      aligned ? ep.ps : FZ_BLOCK);
		if (hint) {
			flags |= MAP_FIXED;
			fixed = true;
		}
		break;
	}
	case 2:			/* MAP_FIXED_NOREPLACE on the reservation */
		if (len <= FZ_WINDOW_PAGES * ep.ps) {
			hint = fz_window_free((len + FZ_BLOCK - 1) & ~(FZ_BLOCK - 1), FZ_BLOCK);
			if (hint)
				flags |= MAP_FIXED_NOREPLACE;
		}
		break;
	default:
		break;
	}
	snprintf(me->what, sizeof(me->what),
		 "buffer %u %s fd %d acc %d (range %llx+%llx) len 0x%llx off 0x%llx prot %d flags 0x%x addr %p",
		 fz_buf(f->slot)->id,
		 f->kind == K_DMABUF ? "dma-buf" : f->kind == K_PATH ? "O_PATH" : "dev", f->fd,
		 f->acc, (unsigned long long)f->off, (unsigned long long)f->size,
		 (unsigned long long)len, (unsigned long long)off, prot, flags, hint);

	/*
	 * What must happen, in the kernel's order of checks: the syscall
	 * (offset, fd, MAP_HUGETLB), do_mmap (length, then rounded up to
	 * 4 KiB), get_unmapped_area
	 * (hugetlbfs' for the device: length and MAP_FIXED address aligned),
	 * MAP_FIXED_NOREPLACE, the map type and the file's mode, then the
	 * driver's mmap (shared only, range inside the buffer or dma-buf).
	 */
	if (off % FZ_BLOCK)
		want = EINVAL;
	else if (f->kind == K_PATH)
		want = EBADF;
	else if (flags & MAP_HUGETLB)
		want = EINVAL;
	else if (!len)
		want = EINVAL;
	else if (len > (256ULL << 20))
		want = -1;	/* ENOMEM (overcommit, address space), EOVERFLOW, EINVAL */
	else if (dev && (PAGE_ALIGN_4K(len) % ep.ps ||
			 ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) && (uintptr_t)hint % ep.ps)))
		want = EINVAL;
	else if (flags & MAP_FIXED_NOREPLACE)
		want = EEXIST;
	else if (off / FZ_BLOCK > (~0UL - PAGE_ALIGN_4K(len)) / FZ_BLOCK)
		want = EOVERFLOW;		/* file_mmap_ok() */
	else if (!type)
		want = EINVAL;
	else if ((flags & MAP_SYNC) && type == MAP_SHARED_VALIDATE)
		want = EOPNOTSUPP;
	else if (type != MAP_PRIVATE && (prot & PROT_WRITE) && f->acc != O_RDWR)
		want = EACCES;
	else if (f->acc == O_WRONLY)
		want = EACCES;
	else if (!dev && (prot & PROT_EXEC) && fz_dmabuf_noexec)
		want = EPERM;
	else if (type == MAP_PRIVATE)
		want = EINVAL;
	else if (off > size || PAGE_ALIGN_4K(len) > size - off)
		want = EINVAL;
	else if (dev && off % ep.ps)
		want = EINVAL;
	/* PROT_EXEC: allowed unless the file's mount is noexec */
	maybe = prot & PROT_EXEC;
	if (hint) {	/* reports list the VMAs there */
		me->vaddr = hint;
		me->vlen = PAGE_ALIGN_4K(len);
	}

	p = mmap(hint, len, prot, flags, f->fd, (off_t)off);
	err = errno;
	ok = p != MAP_FAILED;
	if (want) {
		if (ok) {
			fz_violation("mmap succeeded at %p, must fail (%s)", p,
				     want > 0 ? strerror(want) : "any error");
			if (!fixed)
				munmap(p, len);
			fz_rereserve(p, len);	/* a window slot stays reserved */
			return;
		}
		if (want > 0 && err != want)
			fz_violation("mmap: %s, expected %s", strerror(err), strerror(want));
		if (fixed)
			fz_rereserve(hint, len);
		return;
	}
	if (!ok) {
		if (!(maybe && (err == EPERM || err == EACCES)))
			fz_violation("mmap failed: %s", strerror(err));
		if (fixed)
			fz_rereserve(hint, len);
		return;
	}
	if (fixed && p != hint)
		fz_violation("MAP_FIXED mapped at %p", p);
	memset(&m, 0, sizeof(m));
	m.addr = p;
	m.slot = f->slot;
	m.len = (len + FZ_BLOCK - 1) & ~(FZ_BLOCK - 1);
	m.boff = (dev ? 0 : f->off) + off;
	m.prot = prot;
	m.huge = dev || (fz_aligned(p, m.len) && !(off % ep.ps));
	m.maywrite = f->acc == O_RDWR;
	m.mayexec = dev || !fz_dmabuf_noexec;
	m.locked = flags & MAP_LOCKED;
	if (fixed)
		fz_trim(p, m.len);
	fz_add_map(&m);
}

/* ------------------------------------------------------------------ */
/* munmap, mprotect, mremap, madvise                                   */

static void op_munmap(void)
{
	struct fz_map *m = fz_pick_map(NULL);
	bool whole = chance(30), ok;
	size_t len;
	char *a;
	int ret;

	if (!m)
		return;
	if (whole) {
		a = m->addr;
		len = m->len;
	} else {
		fz_subrange(m, &a, &len);
	}
	snprintf(me->what, sizeof(me->what), "%s map %p+%zx: %p+%zx",
		 m->huge ? "huge" : "4k", m->addr, m->len, a, len);
	me->vaddr = a;
	me->vlen = len;
	ok = !m->huge || fz_aligned(a, len);
	ret = munmap(a, len);
	if (ok)
		EXPECT_OK(ret, errno);
	else
		EXPECT_FAIL(ret, errno, EINVAL);
	if (!ret) {
		fz_trim(a, len);
		fz_rereserve(a, len);
	}
}

static void op_mprotect(void)
{
	struct fz_map *m = fz_pick_map(NULL);
	int prot = rndn(8), ret, err, want = 0;
	size_t len;
	char *a;

	if (!m)
		return;
	fz_subrange(m, &a, &len);
	snprintf(me->what, sizeof(me->what), "%s map %p+%zx prot %d: %p+%zx prot %d",
		 m->huge ? "huge" : "4k", m->addr, m->len, m->prot, a, len, prot);
	me->vaddr = a;
	me->vlen = len;
	if (((prot & PROT_WRITE) && !m->maywrite) || ((prot & PROT_EXEC) && !m->mayexec))
		want = EACCES;
	else if (m->huge && !fz_aligned(a, len) && prot != m->prot)
		want = EINVAL;		/* a split inside a huge page; none if unchanged */
	ret = mprotect(a, len, prot);
	err = errno;
	if (want)
		EXPECT_FAIL(ret, err, want);
	else
		EXPECT_OK(ret, err);
	if (!ret && prot != m->prot)
		fz_set_prot(a, len, prot);
}

static void op_mremap(void)
{
	struct fz_map *m = fz_pick_map(NULL), nm;
	size_t old_len, new_len, o, n;
	int flags, want = 0;
	char *a, *target = NULL, *p;
	bool ok, late = false;

	if (!m)
		return;
	fz_subrange(m, &a, &old_len);
	if (chance(30))
		old_len -= FZ_BLOCK * rndn(2);		/* unaligned end */
	if (!old_len)
		old_len = FZ_BLOCK;
	switch (rndn(4)) {
	case 0: new_len = old_len + ep.ps; break;		/* grow */
	case 1: new_len = old_len; break;
	default: new_len = FZ_BLOCK * (1 + rndn(old_len / FZ_BLOCK)); break;
	}
	switch (rndn(8)) {
	case 0: flags = 0; break;
	case 1: flags = MREMAP_FIXED; break;
	case 2: flags = MREMAP_MAYMOVE | MREMAP_DONTUNMAP; new_len = old_len; break;
	case 3: case 4: case 5: flags = MREMAP_MAYMOVE | MREMAP_FIXED; break;
	default: flags = MREMAP_MAYMOVE; break;
	}
	if (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) {
		size_t tl = m->huge ? (new_len + ep.ps - 1) / ep.ps * ep.ps :
				      (new_len + FZ_BLOCK - 1) & ~(FZ_BLOCK - 1);

		target = fz_window_free(tl, chance(80) ? ep.ps : FZ_BLOCK);
		if (!target && (flags & MREMAP_FIXED))
			return;
	}
	snprintf(me->what, sizeof(me->what), "%s map %p+%zx: %p old 0x%zx new 0x%zx flags %d to %p",
		 m->huge ? "huge" : "4k", m->addr, m->len, a, old_len, new_len, flags, target);
	me->vaddr = a;
	me->vlen = old_len;
	o = (old_len + FZ_BLOCK - 1) & ~(FZ_BLOCK - 1);
	n = (new_len + FZ_BLOCK - 1) & ~(FZ_BLOCK - 1);
	if (m->huge) {		/* the syscall rounds hugetlb lengths up */
		o = (o + ep.ps - 1) / ep.ps * ep.ps;
		n = (n + ep.ps - 1) / ep.ps * ep.ps;
	}
	/*
	 * Failures before anything changed (flags, hugetlb alignment and
	 * growth), then those of mremap_to() after it unmapped the target
	 * and the tail (DONTUNMAP of a shared or PFN map, growing a PFN map).
	 */
	if ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE))
		want = EINVAL;
	else if ((flags & MREMAP_DONTUNMAP) &&
		 (!(flags & MREMAP_MAYMOVE) || PAGE_ALIGN_4K(old_len) != PAGE_ALIGN_4K(new_len)))
		want = EINVAL;
	else if (m->huge && ((uintptr_t)a % ep.ps || (uintptr_t)target % ep.ps || n > o))
		want = EINVAL;
	else if (flags & MREMAP_DONTUNMAP)
		want = EINVAL, late = flags & MREMAP_FIXED;
	else if (!m->huge && n > o)
		want = EFAULT, late = (flags & MREMAP_FIXED);	/* VM_DONTEXPAND | VM_PFNMAP */
	p = (char *)syscall(SYS_mremap, a, old_len, new_len, flags, target);
	ok = p != MAP_FAILED;
	if (want) {
		int err = errno;

		EXPECT_FAIL(ok ? 0 : -1, err, want);
		if (ok) {	/* keep the books straight after the violation */
			fz_trim(a, o);
			fz_rereserve(a, o);
		} else if (late) {
			/* mremap_to may have unmapped the target and the tail */
			if (target)
				fz_rereserve(target, n);
			if (o > n) {
				fz_trim(a + n, o - n);
				fz_rereserve(a + n, o - n);
			}
		}
		return;
	}
	if (!ok) {
		fz_violation("mremap failed: %s", strerror(errno));
		return;
	}
	nm = *m;
	nm.boff += a - m->addr;
	nm.addr = p;
	nm.len = n;
	fz_trim(a, o);
	if (p != a)
		fz_rereserve(a, o);
	else if (o > n)
		fz_rereserve(a + n, o - n);
	if ((flags & MREMAP_FIXED) && p != target)
		fz_violation("MREMAP_FIXED moved to %p", p);
	if (p != a)
		fz_trim(p, n);
	fz_add_map(&nm);
}

static void op_madvise(void)
{
	static const int advice[] = {
		MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED,
		MADV_DONTNEED, MADV_REMOVE, MADV_DONTFORK, MADV_DOFORK,
		MADV_DONTDUMP, MADV_DODUMP, MADV_FREE, MADV_COLD, MADV_PAGEOUT,
		MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_MERGEABLE, MADV_UNMERGEABLE,
		MADV_WIPEONFORK, MADV_KEEPONFORK, MADV_POPULATE_READ,
		MADV_POPULATE_WRITE, 25 /* MADV_COLLAPSE */, 999,
	};
	struct fz_map *m = fz_pick_map(NULL);
	int adv = advice[rndn(sizeof(advice) / sizeof(advice[0]))], ret;
	size_t len;
	char *a;

	if (!m)
		return;
	if (adv == MADV_DONTFORK || adv == MADV_DOFORK) {
		a = m->addr;
		len = m->len;
	} else {
		fz_subrange(m, &a, &len);
	}
	snprintf(me->what, sizeof(me->what), "%s map %p+%zx prot %d: %p+%zx advice %d",
		 m->huge ? "huge" : "4k", m->addr, m->len, m->prot, a, len, adv);
	me->vaddr = a;
	me->vlen = len;
	ret = madvise(a, len, adv);
	if (adv == MADV_REMOVE && !ret)
		fz_violation("MADV_REMOVE succeeded: the pages could be freed");
	if (adv == 999 && !ret)
		fz_violation("an unknown advice succeeded");
	if (!ret && (adv == MADV_DONTFORK || adv == MADV_DOFORK))
		m->dontfork = adv == MADV_DONTFORK;
	/* whatever the advice did, the data is still there */
	if (fz_readable(m))
		fz_verify_map(m);
	/* an advice that changed VMA flags split the VMA there */
	if (!ret && (!m->huge || fz_aligned(a, len)))
		fz_set_prot(a, len, -1);
}

/* ------------------------------------------------------------------ */
/* ioctls                                                              */

/* A bad user pointer: NULL, unmapped (in the window), kernel, or odd. */
static void *fz_bad_ptr(void)
{
	switch (rndn(4)) {
	case 0: return NULL;
	case 1: {
		char *w = fz_window_free(FZ_BLOCK, FZ_BLOCK);

		return w ? w : NULL;
	}
	case 2: return (void *)0xffff888000000000ULL;
	default: return (void *)(uintptr_t)(0x1000 - 8);
	}
}

static void op_get_info(void)
{
	struct fz_fd *f = fz_pick_fd(1 << K_DEV | 1 << K_DMABUF | 1 << K_PATH);
	struct hpage_map_info *info = (struct hpage_map_info *)me->scratch;
	int sel = rndn(8), ret, err;
	void *arg = info;
	const struct fz_buf *b;

	if (!f)
		return;
	b = fz_buf(f->slot);
	if (sel == 0)
		arg = fz_bad_ptr();
	else if (sel == 1)
		arg = me->ro_page;
	memset(info, 0xa5, sizeof(*info));
	snprintf(me->what, sizeof(me->what), "buffer %u fd %d kind %d arg %p", b->id, f->fd,
		 f->kind, arg);
	ret = ioctl(f->fd, HPAGE_MAP_IOC_GET_INFO, arg);
	err = errno;
	if (f->kind == K_PATH) {
		EXPECT_FAIL(ret, err, EBADF);
		return;
	}
	if (f->kind == K_DMABUF) {
		EXPECT_FAIL(ret, err, ENOTTY);
		return;
	}
	if (arg != info) {
		EXPECT_FAIL(ret, err, EFAULT);
		return;
	}
	EXPECT_OK(ret, err);
	if (!ret && (info->size != b->size || info->page_size != ep.ps ||
		     info->nr_pages != b->nr || info->numa_node != b->node ||
		     info->flags || info->id != b->id || info->reserved32 ||
		     info->reserved[0] || info->reserved[1] || info->reserved[2]))
		fz_violation("GET_INFO: size %llu page_size %llu nr %llu node %d flags %u id %u reserved %x %llx %llx %llx",
			     (unsigned long long)info->size, (unsigned long long)info->page_size,
			     (unsigned long long)info->nr_pages, info->numa_node, info->flags,
			     info->id, info->reserved32,
			     (unsigned long long)info->reserved[0],
			     (unsigned long long)info->reserved[1],
			     (unsigned long long)info->reserved[2]);
}

static uint64_t fz_boundary(uint64_t n)
{
	static const uint64_t big[] = { 1ULL << 32, 1ULL << 63, ~0ULL, ~0ULL - 1 };

	switch (rndn(8)) {
	case 0: return 0;
	case 1: return n;
	case 2: return n + 1;
	case 3: return n ? n - 1 : 0;
	case 4: return big[rndn(4)];
	default: return rndn(n + 1);
	}
}

static void op_get_pages(void)
{
	struct fz_fd *f = fz_pick_fd(1 << K_DEV);
	struct hpage_map_pages req;
	uint64_t *out = (uint64_t *)me->scratch;
	int ret, err, sel = rndn(10), want = 0;
	const struct fz_buf *b;
	unsigned long nr;

	if (!f)
		return;
	b = fz_buf(f->slot);
	nr = b->nr;
	memset(&req, 0, sizeof(req));
	req.first = fz_boundary(nr);
	req.count = fz_boundary(nr);
	if (chance(40)) {
		req.first = 0;
		req.count = nr;
	}
	req.addrs = (uintptr_t)out;
	if (sel == 0)
		req.addrs = (uintptr_t)fz_bad_ptr();
	else if (sel == 1)
		req.addrs = (uintptr_t)me->ro_page;
	if (chance(5))
		req.flags = 1U << rndn(32);
	if (chance(5))
		req.reserved = 1U << rndn(32);
	snprintf(me->what, sizeof(me->what), "buffer %u first %llu count %llu addrs %llx flags %x reserved %x",
		 b->id, (unsigned long long)req.first, (unsigned long long)req.count,
		 (unsigned long long)req.addrs, req.flags, req.reserved);
	if (me->no_admin)
		want = EPERM;
	else if (req.flags || req.reserved || !req.count || req.first >= nr ||
		 req.count > nr - req.first)
		want = EINVAL;
	else if (req.addrs != (uintptr_t)out)
		want = EFAULT;
	memset(out, 0, FZ_MAX_PAGES * 8);
	ret = ioctl(f->fd, HPAGE_MAP_IOC_GET_PAGES, &req);
	err = errno;
	if (want) {
		EXPECT_FAIL(ret, err, want);
		return;
	}
	EXPECT_OK(ret, err);
	if (ret)
		return;
	for (uint64_t i = 0; i < req.count; i++) {
		uint64_t pg = req.first + i;

		if (!out[i] || out[i] % ep.ps)
			fz_violation("page %llu at 0x%llx", (unsigned long long)pg,
				     (unsigned long long)out[i]);
		else if (b->phys[pg] != out[i])
			fz_violation("page %llu moved or is another buffer's: 0x%llx, was 0x%llx",
				     (unsigned long long)pg, (unsigned long long)out[i],
				     (unsigned long long)b->phys[pg]);
	}
}

/* The lowest free fd: unchanged by a failed ioctl that must leave no fd. */
static int fz_next_fd(void)
{
	int fd = dup(0);

	if (fd >= 0)
		close(fd);
	return fd;
}

static void op_export(void)
{
	struct fz_fd *f = fz_pick_fd(1 << K_DEV | 1 << K_PATH);
	struct hpage_map_export *req = (struct hpage_map_export *)me->scratch;
	int ret, err, want = 0, mode, next, sel = rndn(12);
	void *arg = req;
	uint64_t nr, size;

	if (!f || me->nfds >= FZ_MAX_FDS - 1)
		return;
	nr = fz_buf(f->slot)->nr;
	size = fz_buf(f->slot)->size;
	memset(req, 0, sizeof(*req));
	if (chance(60)) {
		uint64_t first = rndn(nr);

		req->offset = first * ep.ps;
		req->size = (1 + rndn(nr - first)) * ep.ps;
	} else {
		req->offset = fz_pick_off(size);
		req->size = fz_pick_len(size);
	}
	req->flags = chance(50) ? O_RDWR : O_RDONLY;
	if (chance(50))
		req->flags |= O_CLOEXEC;
	if (chance(8))
		req->flags = rndn(4) | (chance(50) ? 1U << rndn(32) : 0);
	if (chance(4))
		req->reserved[rndn(2)] = 1ULL << rndn(64);
	req->fd = -7;
	if (sel == 0)
		arg = fz_bad_ptr();
	else if (sel == 1) {
		/* the arguments readable, the result not writable */
		mprotect(me->ro_page, 4096, PROT_READ | PROT_WRITE);
		memcpy(me->ro_page + 64, req, sizeof(*req));
		mprotect(me->ro_page, 4096, PROT_READ);
		arg = me->ro_page + 64;
	}
	snprintf(me->what, sizeof(me->what), "buffer %u fd %d acc %d off 0x%llx size 0x%llx flags 0x%x reserved %llx %llx arg %p",
		 fz_buf(f->slot)->id, f->fd, f->acc, (unsigned long long)req->offset, (unsigned long long)req->size,
		 req->flags, (unsigned long long)req->reserved[0],
		 (unsigned long long)req->reserved[1], arg);
	mode = req->flags & O_ACCMODE;
	if (f->kind == K_PATH)
		want = EBADF;
	else if (sel == 0)
		want = EFAULT;
	else if ((req->flags & ~(O_ACCMODE | O_CLOEXEC)) || (mode != O_RDONLY && mode != O_RDWR) ||
		 req->reserved[0] || req->reserved[1])
		want = EINVAL;
	else if (req->offset % ep.ps || req->size % ep.ps || !req->size ||
		 req->offset >= size || req->size > size - req->offset)
		want = EINVAL;
	else if (mode == O_RDWR && f->acc == O_RDONLY)
		want = EACCES;
	/* no more access through the dma-buf than through the fd */
	else if (f->acc == O_WRONLY)
		want = EACCES;
	else if (sel == 1)
		want = EFAULT;
	next = fz_next_fd();
	ret = ioctl(f->fd, HPAGE_MAP_IOC_EXPORT_DMABUF, arg);
	err = errno;
	if (want) {
		EXPECT_FAIL(ret, err, want);
		if (ret && fz_next_fd() != next)
			fz_violation("a failed export left fd %d behind", next);
		if (!ret)
			fz_add_fd(((struct hpage_map_export *)arg)->fd, K_DMABUF, mode,
				  req->offset, req->size, f->slot);
		return;
	}
	EXPECT_OK(ret, err);
	if (ret)
		return;
	if (req->fd != next)
		fz_violation("dma-buf fd %d, the lowest free was %d", req->fd, next);
	if ((fcntl(req->fd, F_GETFD) & FD_CLOEXEC) != !!(req->flags & O_CLOEXEC))
		fz_violation("FD_CLOEXEC does not follow O_CLOEXEC");
	if ((fcntl(req->fd, F_GETFL) & O_ACCMODE) != mode)
		fz_violation("dma-buf access mode 0%o, asked 0%o", fcntl(req->fd, F_GETFL) & O_ACCMODE,
			     mode);
	if (lseek(req->fd, 0, SEEK_END) != (off_t)req->size)
		fz_violation("dma-buf size %lld", (long long)lseek(req->fd, 0, SEEK_END));
	fz_add_fd(req->fd, K_DMABUF, mode, req->offset, req->size, f->slot);
}

static void op_bad_ioctl(void)
{
	struct fz_fd *f = fz_pick_fd(1 << K_DEV);
	unsigned int dir = rndn(4), nr, size, cmd;
	int ret;

	if (!f)
		return;
	nr = chance(50) ? 3 + rndn(0x1d) : rndn(3);
	size = chance(50) ? rndn(64) : sizeof(struct hpage_map_info) + 8;
	cmd = _IOC(dir, HPAGE_MAP_IOC_MAGIC, nr, size);
	if (cmd == HPAGE_MAP_IOC_GET_INFO || cmd == HPAGE_MAP_IOC_GET_PAGES ||
	    cmd == HPAGE_MAP_IOC_EXPORT_DMABUF)
		return;
	if (chance(20))
		cmd = (rnd() & 0xffff) | (uint32_t)rndn(4) << 30;	/* anything */
	/* FIOCLEX & co. are the VFS' own */
	if ((cmd & 0xff00) == 0x5400 || (cmd & 0xff00) == 0x9400 || (cmd & 0xff00) == 0x0000 ||
	    _IOC_TYPE(cmd) == 0x15 ||
	    _IOC_TYPE(cmd) == 'f' || _IOC_TYPE(cmd) == 'X' || cmd == FIOCLEX || cmd == FIONCLEX)
		return;
	snprintf(me->what, sizeof(me->what), "cmd 0x%x", cmd);
	ret = ioctl(f->fd, cmd, me->scratch);
	if (_IOC_TYPE(cmd) == HPAGE_MAP_IOC_MAGIC)
		EXPECT_FAIL(ret, errno, ENOTTY);
	else if (!ret)
		fz_violation("an unknown ioctl succeeded");
}

/* ------------------------------------------------------------------ */
/* dma-buf fds and vgem                                                */

static void op_dmabuf(void)
{
	struct fz_fd *f = fz_pick_fd(1 << K_DMABUF);
	struct dma_buf_sync sync;
	char name[64];
	int ret, err;

	if (!f)
		return;
	switch (rndn(5)) {
	case 0: case 1:
		sync.flags = chance(80) ? rndn(8) : 1ULL << rndn(64);
		snprintf(me->what, sizeof(me->what), "fd %d SYNC flags 0x%llx", f->fd,
			 (unsigned long long)sync.flags);
		ret = ioctl(f->fd, DMA_BUF_IOCTL_SYNC, &sync);
		err = errno;
		if ((sync.flags & ~(uint64_t)(DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END)) ||
		    !(sync.flags & DMA_BUF_SYNC_RW))
			EXPECT_FAIL(ret, err, EINVAL);
		else
			EXPECT_OK(ret, err);
		break;
	case 2: {
		unsigned int len = rndn(40);

		memset(name, 'n', sizeof(name));
		name[len] = '\0';
		snprintf(me->what, sizeof(me->what), "fd %d SET_NAME of %u bytes", f->fd, len);
		ret = ioctl(f->fd, DMA_BUF_SET_NAME, name);
		err = errno;
		if (len >= DMA_BUF_NAME_LEN)
			EXPECT_FAIL(ret, err, EINVAL);
		else
			EXPECT_OK(ret, err);
		break;
	}
	case 3: {
		off_t r;

		snprintf(me->what, sizeof(me->what), "fd %d lseek", f->fd);
		r = lseek(f->fd, 0, SEEK_END);
		if (r != (off_t)f->size)
			fz_violation("lseek(SEEK_END) %lld, size 0x%llx", (long long)r,
				     (unsigned long long)f->size);
		if (lseek(f->fd, 0, SEEK_SET))
			fz_violation("lseek(SEEK_SET)");
		if (lseek(f->fd, 4096, SEEK_CUR) >= 0)
			fz_violation("lseek(SEEK_CUR) succeeded");
		break;
	}
	default: {
		struct pollfd pfd = { .fd = f->fd, .events = POLLIN | POLLOUT };

		snprintf(me->what, sizeof(me->what), "fd %d read/poll", f->fd);
		if (read(f->fd, name, sizeof(name)) >= 0)
			fz_violation("read() of a dma-buf succeeded");
		if (poll(&pfd, 1, 0) < 0)
			fz_violation("poll: %s", strerror(errno));
		break;
	}
	}
}

/*
 * At most this many vgem imports per worker: DMA-API debugging (debug
 * kernel) warns once more than 7 mappings of one cacheline exist at once,
 * whatever the devices, a limit of its own.
 */
static int fz_max_handles(void)
{
	static int max;

	if (!max)
		max = access("/sys/kernel/debug/dma-api", F_OK) ? FZ_MAX_HANDLES : 1;
	return max;
}

static void op_vgem(void)
{
	if (me->card < 0 || !me->may_vgem)
		return;
	if (me->nhandles && (chance(50) || me->nhandles >= fz_max_handles())) {
		int i = rndn(me->nhandles);
		struct drm_gem_close c = { .handle = me->handles[i] };

		snprintf(me->what, sizeof(me->what), "GEM_CLOSE %u", c.handle);
		if (ioctl(me->card, DRM_IOCTL_GEM_CLOSE, &c))
			fz_violation("GEM_CLOSE: %s", strerror(errno));
		me->nhandles--;
		me->handles[i] = me->handles[me->nhandles];
		me->hslot[i] = me->hslot[me->nhandles];
		if (!ioctl(me->card, DRM_IOCTL_GEM_CLOSE, &c))
			fz_violation("second GEM_CLOSE succeeded");
	} else {
		struct fz_fd *f = fz_pick_fd(1 << K_DMABUF);
		struct drm_prime_handle h;
		bool known = false;

		if (!f)
			return;
		memset(&h, 0, sizeof(h));
		h.fd = f->fd;
		snprintf(me->what, sizeof(me->what), "PRIME_FD_TO_HANDLE fd %d", f->fd);
		if (ioctl(me->card, DRM_IOCTL_PRIME_FD_TO_HANDLE, &h)) {
			/*
			 * DRM maps imports for the device to read and write:
			 * refused for a read-only export, where the kernel maps
			 * at import (before 7.x).
			 */
			if (errno != EACCES || f->acc != O_RDONLY)
				fz_violation("PRIME_FD_TO_HANDLE: %s", strerror(errno));
			return;
		}
		for (int i = 0; i < me->nhandles; i++)
			known |= me->handles[i] == h.handle;
		if (!known) {
			me->hslot[me->nhandles] = f->slot;
			me->handles[me->nhandles++] = h.handle;
		}
	}
}

static void op_fileops(void)
{
	struct fz_fd *f = fz_pick_fd(1 << K_DEV);
	char buf[64];
	ssize_t n;
	int ret, want;

	if (!f)
		return;
	snprintf(me->what, sizeof(me->what), "fd %d acc %d", f->fd, f->acc);
	switch (rndn(6)) {
	case 0:
		want = f->acc == O_WRONLY ? EBADF : EINVAL;
		n = read(f->fd, buf, sizeof(buf));
		EXPECT_FAIL((int)n, errno, want);
		break;
	case 1:
		want = f->acc == O_RDONLY ? EBADF : EINVAL;
		n = write(f->fd, buf, sizeof(buf));
		EXPECT_FAIL((int)n, errno, want);
		break;
	case 2: {
		struct stat st;

		if (fstat(f->fd, &st) || !S_ISCHR(st.st_mode))
			fz_violation("fstat");
		if (lseek(f->fd, rndn(1 << 20), SEEK_SET) < 0)
			fz_violation("lseek: %s", strerror(errno));
		break;
	}
	case 3:
		ret = ftruncate(f->fd, rndn(fz_buf(f->slot)->size));
		if (!ret)
			fz_violation("ftruncate succeeded");
		break;
	case 4:
		ret = fallocate(f->fd, chance(50) ? 0 : 3 /* PUNCH_HOLE|KEEP_SIZE */, 0, ep.ps);
		if (!ret)
			fz_violation("fallocate succeeded");
		break;
	default: {
		struct pollfd pfd = { .fd = f->fd, .events = POLLIN | POLLOUT };

		if (poll(&pfd, 1, 0) < 0)
			fz_violation("poll: %s", strerror(errno));
		ret = fsync(f->fd);
		(void)ret;
		break;
	}
	}
}

/* ------------------------------------------------------------------ */
/* rmmod, finit_module                                                 */

static void op_rmmod(void)
{
	int ret;

	if (chance(90)) {
		snprintf(me->what, sizeof(me->what), "delete_module(O_NONBLOCK)");
		ret = hpm_rmmod();
		if (!ret)
			fz_violation("delete_module succeeded while the module is in use");
		else if (!hpm_busy_errno(ret))
			fz_violation("delete_module: %s, expected EAGAIN/EBUSY", strerror(-ret));
	} else {
		snprintf(me->what, sizeof(me->what), "finit_module while loaded");
		ret = hpm_finit("nr_pages=1");
		if (ret != -EEXIST)
			fz_violation("finit_module of a loaded module: %s, expected EEXIST",
				     ret ? strerror(-ret) : "success");
	}
}

/* ------------------------------------------------------------------ */
/* /dev/hpage_map-control                                              */

#define FZ_BUDGET_SHIFT(node)	((node) < 0 ? 0 : 16 * ((node) + 1))

/*
 * Promise @nr pages to a transient buffer on @node (-1: any), if every
 * promise can still be kept: the promises together fit the free pages, and
 * each node's strict ones fit it even if every any-node page came from
 * there.  Then its ADD must succeed.
 */
static bool fz_reserve(uint64_t nr, int node)
{
	unsigned long long cur = atomic_load(&sh->budget), next;
	long long any, s0, s1;

	do {
		next = cur + (nr << FZ_BUDGET_SHIFT(node));
		any = next & 0xffff;
		s0 = (next >> 16) & 0xffff;
		s1 = (next >> 32) & 0xffff;
		if (any + s0 + s1 > ep.free_total)
			return false;
		if (ep.nodes >= 2 && ((s0 && s0 + any > ep.free_node[0]) ||
				      (s1 && s1 + any > ep.free_node[1])))
			return false;
	} while (!atomic_compare_exchange_weak(&sh->budget, &cur, next));
	return true;
}

static void fz_unreserve(uint64_t nr, int node)
{
	atomic_fetch_sub(&sh->budget, nr << FZ_BUDGET_SHIFT(node));
}

/* Does this process hold buffer @slot: an fd, a mapping, a dma-buf, an import? */
static bool fz_holds(int slot)
{
	for (int i = 0; i < me->nfds; i++)
		if (me->fds[i].slot == slot && me->fds[i].kind != K_PATH)
			return true;
	for (int i = 0; i < me->nmaps; i++)
		if (me->maps[i].slot == slot)
			return true;
	for (int i = 0; i < me->nhandles; i++)
		if (me->hslot[i] == slot)
			return true;
	return false;
}

/* Let go of everything this process holds of buffer @slot. */
static void fz_release_slot(int slot)
{
	for (int i = 0; i < me->nfds; i++)
		if (me->fds[i].slot == slot) {
			close(me->fds[i].fd);
			fz_del_fd(&me->fds[i]);
			i--;
		}
	for (int i = 0; i < me->nmaps; i++)
		if (me->maps[i].slot == slot) {
			struct fz_map m = me->maps[i];

			if (munmap(m.addr, m.len))
				fz_violation("munmap %p+%zx: %s", m.addr, m.len, strerror(errno));
			fz_rereserve(m.addr, m.len);
			me->maps[i] = me->maps[--me->nmaps];
			i--;
		}
	for (int i = 0; i < me->nhandles; i++)
		if (me->hslot[i] == slot) {
			struct drm_gem_close c = { .handle = me->handles[i] };

			if (ioctl(me->card, DRM_IOCTL_GEM_CLOSE, &c))
				fz_violation("GEM_CLOSE: %s", strerror(errno));
			me->nhandles--;
			me->handles[i] = me->handles[me->nhandles];
			me->hslot[i] = me->hslot[me->nhandles];
			i--;
		}
}

/* REMOVE of transient slot @t, which this process added. */
static void fz_remove_own(int t)
{
	struct fz_buf *b = &me->tbuf[t];
	bool busy = fz_holds(fz_tslot(t));
	int ret;

	snprintf(me->what, sizeof(me->what), "REMOVE own buffer %u (%s)", b->id,
		 busy ? "held" : "not held");
	/* a SIGKILL between the two steps leaves the count in tbusy */
	atomic_fetch_add(&sh->tbusy, 1);
	atomic_fetch_sub(&sh->tlive, 1);
	ret = hpm_ctl_remove(me->ctl, b->id);
	if (ret)
		atomic_fetch_add(&sh->tlive, 1);
	atomic_fetch_sub(&sh->tbusy, 1);
	atomic_fetch_add(ret ? &sh->trefused : &sh->tremoved, 1);
	if (busy) {
		EXPECT_FAIL(ret, -ret, EBUSY);
	} else if (ret) {
		unsigned long long v[3] = { 0, 0, 0 };

		hpm_buf_ull(b->id, "open_files", &v[0]);
		hpm_buf_ull(b->id, "mappings", &v[1]);
		hpm_buf_ull(b->id, "dma_bufs", &v[2]);
		fz_violation("failed with %s, must succeed (sysfs: open_files %llu mappings %llu dma_bufs %llu)",
			     strerror(-ret), v[0], v[1], v[2]);
	}
	if (ret)
		return;
	/* gone: whatever the books said this process still held is gone too */
	if (busy)
		fz_release_slot(fz_tslot(t));
	b->live = false;
	fz_unreserve(b->nr, b->want_node);
}

/* Before exiting: give back every transient buffer this process added. */
static void fz_release_own(void)
{
	me->op = "exit";
	for (int t = 0; t < FZ_TSLOTS; t++)
		if (me->tbuf[t].live && me->tbuf[t].owner == getpid()) {
			fz_release_slot(fz_tslot(t));
			fz_remove_own(t);
		}
}

/* A new buffer as GET_INFO, sysfs and GET_PAGES must show it. */
static void fz_check_new(struct fz_buf *b, int fd)
{
	static const char *const attrs[] = {
		"id", "nr_pages", "page_size", "size", "numa_node", "open_files",
		"mappings", "dma_bufs", "hwpoisoned_pages",
	};
	struct hpage_map_info info;
	struct hpage_map_pages req = { .first = 0, .count = b->nr,
				       .addrs = (uintptr_t)b->phys };
	unsigned long long want[9] = { b->id, b->nr, ep.ps, b->size, 0, 1, 0, 0, 0 };

	if (hpm_get_info(fd, &info)) {
		fz_violation("GET_INFO of new buffer %u: %s", b->id, strerror(errno));
		return;
	}
	if (info.id != b->id || info.nr_pages != b->nr || info.page_size != ep.ps ||
	    info.size != b->size || (b->want_node >= 0 && info.numa_node != b->want_node) ||
	    info.flags || info.reserved32)
		fz_violation("GET_INFO of new buffer %u: id %u nr %llu page_size %llu size %llu node %d (asked %d) flags %u",
			     b->id, info.id, (unsigned long long)info.nr_pages,
			     (unsigned long long)info.page_size, (unsigned long long)info.size,
			     info.numa_node, b->want_node, info.flags);
	b->node = info.numa_node;
	want[4] = (unsigned long long)(long long)b->node;
	/* nobody but this process knows the id: the users are exact */
	for (unsigned int i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		unsigned long long v = 0;
		int ret = hpm_buf_ull(b->id, attrs[i], &v);

		if (i == 4 && !ret)	/* numa_node is signed */
			v = (unsigned long long)(long long)(int)v;
		if (ret || v != want[i])
			fz_violation("sysfs %s of new buffer %u: %llu (%s), expected %llu",
				     attrs[i], b->id, v, ret ? strerror(-ret) : "read",
				     want[i]);
	}
	if (ioctl(fd, HPAGE_MAP_IOC_GET_PAGES, &req)) {
		fz_violation("GET_PAGES of new buffer %u: %s", b->id, strerror(errno));
		memset(b->phys, 0, sizeof(b->phys));
		return;
	}
	for (unsigned long i = 0; i < b->nr; i++) {
		if (!b->phys[i] || b->phys[i] % ep.ps)
			fz_violation("new buffer %u page %lu at 0x%llx", b->id, i,
				     (unsigned long long)b->phys[i]);
		for (unsigned int p = 0; p < ep.nbuf; p++)
			for (unsigned long j = 0; j < ep.buf[p].nr; j++)
				if (ep.buf[p].phys[j] == b->phys[i])
					fz_violation("new buffer %u page %lu at 0x%llx is buffer %u's page %lu",
						     b->id, i, (unsigned long long)b->phys[i],
						     ep.buf[p].id, j);
	}
}

/* ADD that must succeed: a transient buffer within the budget. */
static void fz_ctl_add(void)
{
	int t = -1, node = -1, fd;
	struct fz_buf *b;
	uint64_t nr = 1 + rndn(FZ_T_MAX_NR), ps = chance(50) ? 0 : ep.ps;
	long long id;

	for (int i = 0; i < FZ_TSLOTS; i++)
		if (!me->tbuf[i].live)
			t = i;
	if (t < 0)
		return;
	if (ep.nodes >= 2 && chance(40))
		node = rndn(2);
	if (!fz_reserve(nr, node))
		return;
	b = &me->tbuf[t];
	snprintf(me->what, sizeof(me->what), "ADD nr_pages %llu page_size %llu node %d",
		 (unsigned long long)nr, (unsigned long long)ps, node);
	atomic_fetch_add(&sh->tbusy, 1);
	id = hpm_ctl_add(me->ctl, nr, ps, node);
	if (id >= 0) {
		atomic_fetch_add(&sh->tlive, 1);
		atomic_fetch_add(&sh->tadded, 1);
	}
	atomic_fetch_sub(&sh->tbusy, 1);
	if (id < 0) {
		fz_violation("ADD failed with %s, must succeed (%lld pages free after the load, %llx promised)",
			     strerror(-id), ep.free_total,
			     (unsigned long long)atomic_load(&sh->budget));
		fz_unreserve(nr, node);
		return;
	}
	memset(b, 0, sizeof(*b));
	b->live = true;
	b->id = id;
	b->nr = nr;
	b->size = nr * ep.ps;
	b->want_node = node;
	b->node = node;
	b->owner = getpid();
	/* a new buffer is zero: so must every word's record be */
	memset((void *)sh->shadow[fz_tslot(t)], 0, sizeof(sh->shadow[0]));
	snprintf(me->what, sizeof(me->what), "ADD nr_pages %llu page_size %llu node %d: id %u",
		 (unsigned long long)nr, (unsigned long long)ps, node, b->id);
	if (id < (ep.nbuf > 1 ? ep.nbuf : 1) || id >= FZ_ID_UNUSED)
		fz_violation("ADD returned id %lld with %u parameter buffers", id, ep.nbuf);
	for (int i = 0; i < FZ_TSLOTS; i++)
		if (i != t && me->tbuf[i].live && me->tbuf[i].id == b->id)
			fz_violation("ADD returned id %u, a live buffer's", b->id);
	fd = hpm_open_id(b->id, O_RDWR);
	if (fd < 0) {
		fz_violation("open of new buffer %u: %s", b->id, strerror(errno));
		return;
	}
	fz_check_new(b, fd);
	if (chance(70))
		fz_add_fd(fd, K_DEV, O_RDWR, 0, 0, fz_tslot(t));
	else
		close(fd);
}

/* ADD that must fail: bad arguments, more pages than memory, bad pointers. */
static void fz_ctl_add_bad(void)
{
	static const uint64_t bad_ps[] = {
		4096, 3UL << 20, 1UL << 20, 4UL << 20, (2UL << 20) + 4096, 1ULL << 63, ~0ULL,
	};
	static const uint64_t absurd[] = { 1ULL << 32, 1ULL << 40, 1ULL << 63, ~0ULL };
	struct hpage_map_ctl_add *req = (struct hpage_map_ctl_add *)me->scratch;
	int sel = rndn(8), want = EINVAL, ret, err;
	bool reserved = false;
	void *arg = req;

	memset(req, 0, sizeof(*req));
	req->nr_pages = 1 + rndn(FZ_T_MAX_NR);
	req->page_size = chance(50) ? 0 : ep.ps;
	req->numa_node = ep.nodes >= 2 && chance(30) ? (int)rndn(2) : -1;
	req->id = rnd();	/* output only */
	switch (sel) {
	case 0: case 1: {	/* one or more things wrong: each is EINVAL */
		int faults = 1 + rndn(3);

		for (int i = 0; i < faults; i++) {
			switch (rndn(5)) {
			case 0: req->flags = 1U << rndn(32); break;
			case 1: req->reserved[rndn(5)] = 1U << rndn(32); break;
			case 2: req->nr_pages = 0; break;
			case 3: req->page_size = bad_ps[rndn(sizeof(bad_ps) / sizeof(bad_ps[0]))]; break;
			default: {
				const int nodes[] = { -2, ep.nodes, 64, 4096, INT32_MIN, INT32_MAX };

				req->numa_node = nodes[rndn(6)];
				break;
			}
			}
		}
		break;
	}
	case 2:			/* more than memory holds: refused before taking any */
		if (chance(50))	/* each logs a line: the serial console is slow */
			return;
		req->nr_pages = absurd[rndn(4)];
		want = ENOMEM;
		break;
	case 3:			/* 1 GiB pages: none in this pool, or no such size */
		if (!ep.gb_errno || chance(50))
			return;
		req->page_size = 1UL << 30;
		req->nr_pages = 1;
		want = ep.gb_errno;
		break;
	case 4: case 5:		/* the request unreadable */
		arg = fz_bad_ptr();
		want = EFAULT;
		break;
	default:		/* the id unwritable: the new buffer goes again */
		if (!me->no_admin) {
			if (!fz_reserve(req->nr_pages, req->numa_node))
				return;
			reserved = true;
		}
		mprotect(me->ro_page, 4096, PROT_READ | PROT_WRITE);
		memcpy(me->ro_page + 128, req, sizeof(*req));
		mprotect(me->ro_page, 4096, PROT_READ);
		arg = me->ro_page + 128;
		want = EFAULT;
		break;
	}
	if (me->no_admin)
		want = EPERM;
	snprintf(me->what, sizeof(me->what), "ADD arg %p nr_pages 0x%llx page_size 0x%llx node %d flags 0x%x reserved %x %x %x %x %x",
		 arg, (unsigned long long)req->nr_pages, (unsigned long long)req->page_size,
		 req->numa_node, req->flags, req->reserved[0], req->reserved[1],
		 req->reserved[2], req->reserved[3], req->reserved[4]);
	if (reserved)
		atomic_fetch_add(&sh->tbusy, 1);
	ret = ioctl(me->ctl, HPAGE_MAP_CTL_ADD, arg);
	err = errno;
	if (reserved)
		atomic_fetch_sub(&sh->tbusy, 1);
	EXPECT_FAIL(ret, err, want);
	if (!ret) {
		/* the model is wrong somewhere: do not leave the buffer to others */
		uint32_t id = ((struct hpage_map_ctl_add *)arg)->id;

		if (!reserved && (arg == req))
			hpm_ctl_remove(me->ctl, id);
	}
	if (reserved)
		fz_unreserve(req->nr_pages, req->numa_node);
}

/* REMOVE whose outcome is certain whoever else runs: EBUSY, ENOENT, EFAULT. */
static void fz_ctl_remove_other(void)
{
	uint32_t *id = (uint32_t *)me->scratch;
	int want, ret, err;
	void *arg = id;

	switch (rndn(4)) {
	case 0:			/* a parameter buffer: the guard fd holds it */
		*id = ep.buf[rndn(ep.nbuf)].id;
		want = EBUSY;
		break;
	case 1: {		/* no buffer can have it */
		static const uint32_t ids[] = { 1024, 1025, 0x10000, 0x7fffffff, 0x80000000,
						~0U };

		*id = chance(50) ? FZ_ID_UNUSED + rndn(1U << 31) : ids[rndn(6)];
		want = ENOENT;
		break;
	}
	case 2: {		/* an inherited transient buffer this child holds */
		int t = rndn(FZ_TSLOTS);

		if (!me->tbuf[t].live || me->tbuf[t].owner == getpid() || !fz_holds(fz_tslot(t)))
			return;
		*id = me->tbuf[t].id;
		want = EBUSY;
		break;
	}
	default:
		arg = fz_bad_ptr();
		want = EFAULT;
		break;
	}
	if (me->no_admin)
		want = EPERM;
	snprintf(me->what, sizeof(me->what), "REMOVE arg %p id %u", arg,
		 arg == id ? *id : 0);
	ret = ioctl(me->ctl, HPAGE_MAP_CTL_REMOVE, arg);
	err = errno;
	EXPECT_FAIL(ret, err, want);
}

/* Control ioctls that do not exist, whoever asks. */
static void fz_ctl_unknown(void)
{
	unsigned int cmd;

	switch (rndn(3)) {
	case 0: cmd = HPAGE_MAP_IOC_GET_INFO; break;
	case 1: cmd = HPAGE_MAP_IOC_EXPORT_DMABUF; break;
	default:
		cmd = _IOC(rndn(4), HPAGE_MAP_IOC_MAGIC, rndn(0x20), rndn(64));
		if (cmd == HPAGE_MAP_CTL_ADD || cmd == HPAGE_MAP_CTL_REMOVE)
			return;
		break;
	}
	snprintf(me->what, sizeof(me->what), "control ioctl 0x%x", cmd);
	EXPECT_FAIL(ioctl(me->ctl, cmd, me->scratch), errno, ENOTTY);
}

static void op_ctl(void)
{
	int own[FZ_TSLOTS], n = 0;

	if (me->ctl < 0)
		return;
	for (int t = 0; t < FZ_TSLOTS; t++)
		if (me->tbuf[t].live && me->tbuf[t].owner == getpid())
			own[n++] = t;
	switch (rndn(10)) {
	case 0: case 1: case 2:
		if (me->no_admin)
			fz_ctl_add_bad();
		else
			fz_ctl_add();
		break;
	case 3: case 4:
		if (!n)
			break;
		n = own[rndn(n)];
		/* sometimes let go of it first: then it must go */
		if (chance(40))
			fz_release_slot(fz_tslot(n));
		fz_remove_own(n);
		break;
	case 5: case 6:
		fz_ctl_add_bad();
		break;
	case 7: case 8:
		fz_ctl_remove_other();
		break;
	default:
		fz_ctl_unknown();
		break;
	}
}

/* ------------------------------------------------------------------ */
/* the worker loop, fork                                               */

static void fz_run(unsigned long long nops);

static void op_fork(void)
{
	uint64_t child_seed = rnd();
	int mode = rndn(3);	/* 0: exits, 1: killed, 2: drops CAP_SYS_ADMIN, exits */
	unsigned long long nops = 5 + rndn(60);
	unsigned int kill_after_us = rndn(20000);
	pid_t pid;
	int status;

	if (me->depth >= 2)
		return;
	snprintf(me->what, sizeof(me->what), "mode %d, %llu ops", mode, nops);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		fz_violation("fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		me->child = true;
		me->depth++;
		/*
		 * A child to be SIGKILLed forks none: PDEATHSIG would kill its
		 * own children only after the worker's waitpid(), still holding
		 * what they inherited (and REMOVE would see them).
		 */
		if (mode == 1)
			me->depth = 2;
		me->rng = child_seed;
		me->may_write = mode != 1;	/* a killed child must not half-write */
		me->may_vgem = false;		/* the card's handles are the parent's */
		/*
		 * MADV_DONTFORK maps are not here: forget them, and give
		 * the holes they leave in the window back to the reservation
		 * (else a "free" window slot is unmapped: MAP_FIXED_NOREPLACE
		 * would succeed and a "bad" pointer could be mapped later).
		 */
		for (int i = 0; i < me->nmaps; i++)
			if (me->maps[i].dontfork) {
				fz_rereserve(me->maps[i].addr, me->maps[i].len);
				me->maps[i] = me->maps[--me->nmaps];
				i--;
			}
		if (mode == 2) {
			struct __user_cap_header_struct hdr = {
				.version = _LINUX_CAPABILITY_VERSION_3 };
			struct __user_cap_data_struct data[2];

			if (!syscall(SYS_capget, &hdr, data)) {
				data[CAP_SYS_ADMIN / 32].effective &= ~(1U << (CAP_SYS_ADMIN % 32));
				if (!syscall(SYS_capset, &hdr, data))
					me->no_admin = true;
			}
		}
		fz_run(nops);
		fz_release_own();
		_exit(0);
	}
	if (mode == 1) {
		usleep(kill_after_us);
		kill(pid, SIGKILL);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (mode != 1 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		fz_violation("child ended with status 0x%x", status);
}

static void (*const fz_ops[OP_NR])(void) = {
	[OP_OPEN] = op_open, [OP_CLOSE] = op_close, [OP_DUP] = op_dup,
	[OP_MMAP] = op_mmap, [OP_MUNMAP] = op_munmap, [OP_MPROTECT] = op_mprotect,
	[OP_MREMAP] = op_mremap, [OP_MADVISE] = op_madvise, [OP_WRITE] = op_write,
	[OP_VERIFY] = op_verify, [OP_FAULT] = op_fault, [OP_PAGEMAP] = op_pagemap,
	[OP_GET_INFO] = op_get_info, [OP_GET_PAGES] = op_get_pages,
	[OP_EXPORT] = op_export, [OP_BAD_IOCTL] = op_bad_ioctl,
	[OP_DMABUF] = op_dmabuf, [OP_VGEM] = op_vgem, [OP_FILEOPS] = op_fileops,
	[OP_FORK] = op_fork, [OP_RMMOD] = op_rmmod, [OP_CTL] = op_ctl,
};

static enum fz_op fz_pick_op(void)
{
	static unsigned int total;
	unsigned int r;

	if (!total)
		for (int i = 0; i < OP_NR; i++)
			total += fz_op_weight[i];
	r = rndn(total);
	for (int i = 0; i < OP_NR; i++) {
		if (r < fz_op_weight[i])
			return i;
		r -= fz_op_weight[i];
	}
	return OP_VERIFY;
}

/* Run @nops operations (0: until told to stop). */
static void fz_run(unsigned long long nops)
{
	for (unsigned long long i = 0; !nops || i < nops; i++) {
		enum fz_op op;

		if (!(i & 15) && atomic_load(&sh->stop))
			break;
		if (ep.max_ops && atomic_load(&sh->ops) >= ep.max_ops)
			break;
		if (atomic_load(&sh->violations) >= 20)
			break;
		op = fz_pick_op();
		me->op = fz_op_name[op];
		me->what[0] = '\0';
		me->vlen = 0;
		me->nops++;
		fz_ops[op]();
		for (int m = 0; m < me->nmaps; m++)
			if (me->maps[m].huge && !fz_aligned(me->maps[m].addr, me->maps[m].len)) {
				fz_violation("fuzzer state: huge map %p+%zx", me->maps[m].addr,
					     me->maps[m].len);
				me->maps[m].huge = false;
			}
		atomic_fetch_add_explicit(&sh->ops, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&sh->op_count[op], 1, memory_order_relaxed);
	}
}

static void fz_worker(int id)
{
	static struct fz_worker w;
	int fd, slot;

	memset(&w, 0, sizeof(w));
	me = &w;
	w.id = id;
	w.rng = ep.seed ^ ((uint64_t)ep.epoch << 40) ^ ((uint64_t)id << 32);
	splitmix(&w.rng);
	w.may_write = true;
	w.may_vgem = true;
	me->op = "setup";
	fz_signals();
	w.window = hpm_reserve_aligned(FZ_WINDOW_PAGES * ep.ps, ep.ps);
	w.ro_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	w.scratch = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w.window == MAP_FAILED || w.ro_page == MAP_FAILED || w.scratch == MAP_FAILED) {
		fz_violation("setup: mmap: %s", strerror(errno));
		_exit(1);
	}
	mprotect(w.ro_page, 4096, PROT_READ);
	w.card = hpm_vgem_open();
	w.ctl = hpm_ctl_open();
	if (w.ctl < 0) {
		fz_violation("setup: open %s: %s", HPAGE_MAP_CONTROL_DEVICE, strerror(errno));
		_exit(1);
	}
	/* one fd to start from */
	slot = rndn(ep.nbuf);
	fd = hpm_open_id(ep.buf[slot].id, O_RDWR);
	if (fd < 0) {
		fz_violation("setup: open buffer %u: %s", ep.buf[slot].id, strerror(errno));
		_exit(1);
	}
	fz_add_fd(fd, K_DEV, O_RDWR, 0, 0, slot);
	fz_run(0);
	fz_release_own();
	_exit(0);
}

/* ------------------------------------------------------------------ */
/* the coordinator                                                     */

static const char *const fz_bad_log[] = {
	"WARNING", "BUG", "Oops", "Call Trace", "leak", "UBSAN", "KASAN", "DMA-API",
};

static bool fz_debug_kernel(void)
{
	return access("/sys/kernel/debug/kmemleak", F_OK) == 0;
}

static unsigned long long fz_env(const char *name, unsigned long long def)
{
	const char *s = getenv(name);

	return s && *s ? strtoull(s, NULL, 0) : def;
}

static int fz_bufinfo_ours(void)
{
	static char buf[1 << 16];
	int n = 0;

	if (hpm_read_file("/sys/kernel/debug/dma_buf/bufinfo", buf, sizeof(buf)) < 0)
		return -1;
	for (char *p = buf; (p = strstr(p, "\thpage_map\t")); p++)
		n++;
	return n;
}

static long long fz_refcnt(void)
{
	unsigned long long v = 0;

	return hpm_read_ull(HPM_SYS_MODULE "/refcnt", &v) ? -1 : (long long)v;
}

FIXTURE(fuzz) {
	struct hpm_counters c0;
	int kmsg;
	void *shm;
};

FIXTURE_SETUP(fuzz)
{
	self->kmsg = -1;
	self->shm = MAP_FAILED;
	if (hpm_page_size() != (2UL << 20))
		SKIP(return, "the fuzzer runs with 2M pages");
	ASSERT_EQ(0, hpm_ensure_unloaded());
	ASSERT_EQ(0, hpm_counters_read(&self->c0));
	self->shm = mmap(NULL, sizeof(struct fz_shared), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->shm);
	sh = self->shm;
	self->kmsg = hpm_kmsg_open();
	ASSERT_LE(0, self->kmsg);
}

FIXTURE_TEARDOWN(fuzz)
{
	if (self->kmsg >= 0)
		close(self->kmsg);
	if (self->shm != MAP_FAILED)
		munmap(self->shm, sizeof(struct fz_shared));
	hpm_ensure_unloaded();
}

/* Does mmap refuse PROT_EXEC on a dma-buf of @dev (a noexec file)? */
static bool fz_probe_dmabuf_noexec(int dev)
{
	struct hpage_map_export req = { .size = ep.ps, .flags = O_RDONLY | O_CLOEXEC };
	bool noexec = false;
	void *p;

	if (ioctl(dev, HPAGE_MAP_IOC_EXPORT_DMABUF, &req))
		return false;
	p = mmap(NULL, ep.ps, PROT_READ | PROT_EXEC, MAP_SHARED, req.fd, 0);
	if (p == MAP_FAILED)
		noexec = errno == EPERM;
	else
		munmap(p, ep.ps);
	close(req.fd);
	return noexec;
}

/* The ids of the buffers that exist now, from sysfs: how many (up to @max). */
static int fz_buffer_ids(unsigned int *ids, int max)
{
	DIR *d = opendir("/sys/class/misc");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		unsigned int id = 0;
		char tail;

		if (strncmp(de->d_name, HPM_MOD_NAME, strlen(HPM_MOD_NAME)))
			continue;
		if (!strcmp(de->d_name, HPM_MOD_NAME))
			id = 0;
		else if (sscanf(de->d_name + strlen(HPM_MOD_NAME), "%u%c", &id, &tail) != 1)
			continue;	/* hpage_map-control */
		if (n < max)
			ids[n] = id;
		n++;
	}
	closedir(d);
	return n;
}

/*
 * After the workers: remove what SIGKILLed children left.  Their files and
 * mappings are gone with them, so REMOVE must succeed (allowing exiting
 * processes a moment to let go).  Returns how many there were.
 */
static int fz_remove_leftovers(struct __test_metadata *_metadata)
{
	unsigned int ids[256];
	int n = fz_buffer_ids(ids, 256), left = 0, ctl = hpm_ctl_open();

	ASSERT_LE(0, ctl);
	EXPECT_GE(256, n);
	for (int i = 0; i < n && i < 256; i++) {
		int ret = -EBUSY;

		if (ids[i] < ep.nbuf)
			continue;
		left++;
		for (int tries = 0; tries < 300 && ret == -EBUSY; tries++) {
			ret = hpm_ctl_remove(ctl, ids[i]);
			if (ret == -EBUSY)
				usleep(10000);
		}
		EXPECT_EQ(0, ret) TH_LOG("epoch %u: REMOVE of buffer %u left by a killed child: %s",
					 ep.epoch, ids[i], strerror(-ret));
	}
	close(ctl);
	/* now only the parameter buffers */
	n = fz_buffer_ids(ids, 256);
	EXPECT_EQ((int)ep.nbuf, n) TH_LOG("epoch %u: buffers after removing the leftovers", ep.epoch);
	for (int i = 0; i < n && i < 256; i++) {
		EXPECT_GT(ep.nbuf, ids[i]) TH_LOG("epoch %u: buffer %u still exists", ep.epoch, ids[i]);
	}
	return left;
}

/* After an epoch: settle, then every check of a quiet system. */
static void fz_quiescent(struct __test_metadata *_metadata, FIXTURE_DATA(fuzz) *self,
			 const int *guard)
{
	static char log[1 << 16];
	unsigned long long users[FZ_MAX_PARAM][3];
	static const char *const attr[3] = { "mappings", "open_files", "dma_bufs" };
	long long refcnt = -1, taken = 0;
	int bufs = -1, left, live, busy;
	char msg[1024];

	live = atomic_load(&sh->tlive);
	busy = atomic_load(&sh->tbusy);
	left = fz_remove_leftovers(_metadata);
	ksft_print_msg("fuzz: epoch %u: %lu transient buffers added, %lu removed, %lu REMOVEs refused while held, %d left by killed children\n",
		       ep.epoch, (unsigned long)atomic_load(&sh->tadded),
		       (unsigned long)atomic_load(&sh->tremoved),
		       (unsigned long)atomic_load(&sh->trefused), left);
	/* only killed children leave buffers; each ADD may have been cut short */
	EXPECT_LE(live, left) TH_LOG("epoch %u: transient buffers recorded but gone", ep.epoch);
	EXPECT_GE(live + busy, left) TH_LOG("epoch %u: transient buffers nobody added (%d live, %d under way)",
					    ep.epoch, live, busy);

	/* exiting processes let go of their files asynchronously at worst */
	for (int i = 0; i < 300; i++) {
		bool quiet = true;

		for (unsigned int b = 0; b < ep.nbuf; b++)
			for (int a = 0; a < 3; a++) {
				users[b][a] = ~0ULL;
				hpm_buf_ull(ep.buf[b].id, attr[a], &users[b][a]);
				quiet &= users[b][a] == (a == 1);
			}
		refcnt = fz_refcnt();
		bufs = fz_bufinfo_ours();
		if (quiet && refcnt == ep.nbuf && bufs <= 0)
			break;
		usleep(10000);
	}
	/* this process: the guard fds */
	for (unsigned int b = 0; b < ep.nbuf; b++)
		for (int a = 0; a < 3; a++) {
			EXPECT_EQ(a == 1, (long long)users[b][a])
				TH_LOG("epoch %u: buffer %u: sysfs %s", ep.epoch, ep.buf[b].id, attr[a]);
		}
	EXPECT_EQ(ep.nbuf, refcnt) TH_LOG("epoch %u: module refcnt (a guard fd per buffer)", ep.epoch);
	EXPECT_GE(0, bufs) TH_LOG("epoch %u: dma-bufs of hpage_map left", ep.epoch);
	for (unsigned int b = 0; b < ep.nbuf; b++)
		taken += ep.buf[b].nr;
	EXPECT_EQ(0, hpm_counters_diff(&self->c0, ep.ps, taken, msg, sizeof(msg)))
		TH_LOG("epoch %u: counters: %s", ep.epoch, msg);
	for (int n = 0; n < ep.nodes && n < 2; n++) {
		EXPECT_EQ(ep.free_node[n], hpm_node_free(n, ep.ps / 1024))
			TH_LOG("epoch %u: node %d's free 2M pages", ep.epoch, n);
	}

	/* every word of every buffer: the owner's last value, or zero */
	for (unsigned int s = 0; s < ep.nbuf; s++) {
		unsigned long long bad = 0, first = 0, got = 0, want = 0;
		uint64_t blocks = ep.buf[s].size / FZ_BLOCK;
		const char *buf = mmap(NULL, ep.buf[s].size, PROT_READ, MAP_SHARED, guard[s], 0);

		ASSERT_NE(MAP_FAILED, buf);
		for (uint64_t b = 0; b < blocks; b++) {
			const uint64_t *blk = (const uint64_t *)(buf + b * FZ_BLOCK);

			for (unsigned int i = 0; i < FZ_BLOCK / 8; i++) {
				uint64_t w = i < ep.workers ? atomic_load(&sh->shadow[s][i][b]) : 0;

				if (blk[i] != w && !bad++) {
					first = b * FZ_BLOCK + i * 8;
					got = blk[i];
					want = w;
				}
			}
		}
		EXPECT_EQ(0, bad) TH_LOG("epoch %u: buffer %u: %llu words differ from what was written; first at offset 0x%llx: 0x%llx, expected 0x%llx",
					 ep.epoch, ep.buf[s].id, bad, first, got, want);
		munmap((void *)buf, ep.buf[s].size);
	}
	hpm_kmsg_collect(self->kmsg, 7, log, sizeof(log));
	for (size_t i = 0; i < sizeof(fz_bad_log) / sizeof(fz_bad_log[0]); i++) {
		char *hit = strstr(log, fz_bad_log[i]), *bol = hit;

		if (!hit)
			continue;
		while (bol > log && bol[-1] != '\n')
			bol--;
		EXPECT_EQ(NULL, hit) TH_LOG("epoch %u: kernel log:\n%.2000s", ep.epoch, bol);
		break;
	}
}

/* Number of NUMA nodes with a pool of this size (node0, node1, ...). */
static int fz_nr_nodes(void)
{
	int n = 0;

	while (n < 64 && hpm_node_free(n, ep.ps / 1024) >= 0)
		n++;
	return n;
}

/*
 * Load this epoch's parameter buffers: 1 .. 3, each 1 .. @max_nr pages;
 * on two nodes some strict, every node's share within what it has free.
 */
static void fz_load(struct __test_metadata *_metadata, uint64_t *rng, unsigned long max_nr)
{
	char params[192], ps[64] = "", nodes[64] = "", nrs[64] = "";
	long long node_free[2] = { 0, 0 }, want[2] = { 0, 0 };
	bool strict = false;

	ep.nodes = fz_nr_nodes();
	for (int n = 0; n < ep.nodes && n < 2; n++)
		node_free[n] = hpm_node_free(n, ep.ps / 1024);
	ep.nbuf = 1 + splitmix(rng) % FZ_MAX_PARAM;
	for (unsigned int i = 0; i < ep.nbuf; i++) {
		struct fz_buf *b = &ep.buf[i];
		uint64_t r = splitmix(rng);

		memset(b, 0, sizeof(*b));
		b->id = i;
		b->nr = 1 + r % max_nr;
		if (ep.epoch == 1 && !i)
			b->nr = max_nr;
		b->size = b->nr * ep.ps;
		b->want_node = -1;
		if (ep.nodes >= 2 && (r >> 32) % 3) {
			int n = (r >> 40) % 2;

			if (want[n] + (long long)b->nr <= node_free[n]) {
				b->want_node = n;
				want[n] += b->nr;
				strict = true;
			}
		}
		snprintf(nrs + strlen(nrs), sizeof(nrs) - strlen(nrs), "%s%lu", i ? "," : "", b->nr);
		/* an empty page_size entry: the default, 2M here */
		snprintf(ps + strlen(ps), sizeof(ps) - strlen(ps), "%s%s", i ? "," : "",
			 (r >> 48) % 3 ? "2M" : "");
		snprintf(nodes + strlen(nodes), sizeof(nodes) - strlen(nodes), "%s%d", i ? "," : "",
			 b->want_node);
	}
	if (!strcmp(ps, "") || !strcmp(ps, ",") || !strcmp(ps, ",,"))
		snprintf(ps, sizeof(ps), "2M");	/* "page_size=" alone is not an entry */
	snprintf(params, sizeof(params), "nr_pages=%s page_size=%s%s%s", nrs, ps,
		 strict ? " numa_node=" : "", strict ? nodes : "");
	ASSERT_EQ(0, hpm_finit(params)) TH_LOG("epoch %u: load %s", ep.epoch, params);
	ksft_print_msg("fuzz: epoch %u: %s\n", ep.epoch, params);
}

/*
 * Before the workers: each parameter buffer is what was asked, zero and
 * its own; ADDs the pool cannot meet fail and take nothing.
 */
static void fz_check_load(struct __test_metadata *_metadata, FIXTURE_DATA(fuzz) *self,
			  const int *guard)
{
	struct hpm_counters c1;
	struct hpm_counters *c = &c1;
	long long taken = 0, id;
	char msg[1024];
	int ctl;

	for (unsigned int i = 0; i < ep.nbuf; i++) {
		struct fz_buf *b = &ep.buf[i];
		struct hpage_map_info info;
		struct hpage_map_pages req = { .first = 0, .count = b->nr,
					       .addrs = (uintptr_t)b->phys };
		void *map;

		ASSERT_EQ(0, hpm_get_info(guard[i], &info));
		EXPECT_EQ(i, info.id);
		EXPECT_EQ(b->nr, info.nr_pages);
		EXPECT_EQ(b->size, info.size);
		EXPECT_EQ(ep.ps, info.page_size);
		if (b->want_node >= 0)
			EXPECT_EQ(b->want_node, info.numa_node) TH_LOG("epoch %u: buffer %u", ep.epoch, i);
		b->node = info.numa_node;
		b->live = true;
		ASSERT_EQ(0, ioctl(guard[i], HPAGE_MAP_IOC_GET_PAGES, &req));
		for (unsigned int j = 0; j < i; j++)
			for (unsigned long p = 0; p < b->nr; p++)
				for (unsigned long q = 0; q < ep.buf[j].nr; q++) {
					EXPECT_NE(ep.buf[j].phys[q], b->phys[p])
						TH_LOG("epoch %u: buffers %u and %u share a page", ep.epoch, j, i);
				}
		map = mmap(NULL, b->size, PROT_READ, MAP_SHARED, guard[i], 0);
		ASSERT_NE(MAP_FAILED, map);
		EXPECT_EQ(-1, hpm_check_zero(map, b->size))
			TH_LOG("epoch %u: fresh buffer %u not zero", ep.epoch, i);
		munmap(map, b->size);
		taken += b->nr;
	}
	EXPECT_EQ(0, hpm_counters_diff(&self->c0, ep.ps, taken, msg, sizeof(msg)))
		TH_LOG("epoch %u: counters after the load: %s", ep.epoch, msg);

	ASSERT_EQ(0, hpm_counters_read(c));
	ep.free_total = hpm_pool_of(c, ep.ps)->free;
	for (int n = 0; n < ep.nodes && n < 2; n++)
		ep.free_node[n] = hpm_node_free(n, ep.ps / 1024);
	/* 1G pages: a size this kernel may lack, a pool that is empty here */
	ep.gb_errno = 0;
	if (!hpm_pool_of(c, 1UL << 30))
		ep.gb_errno = EINVAL;
	else if (!hpm_pool_of(c, 1UL << 30)->free)
		ep.gb_errno = ENOMEM;

	ctl = hpm_ctl_open();
	ASSERT_LE(0, ctl);
	/* more than the pool has, more than a node has: nothing taken */
	id = hpm_ctl_add(ctl, ep.free_total + 1, ep.ps, -1);
	EXPECT_EQ(-ENOMEM, id) TH_LOG("epoch %u: ADD of %lld pages, %lld free", ep.epoch,
				      ep.free_total + 1, ep.free_total);
	for (int n = 0; n < ep.nodes && n < 2; n++) {
		if (ep.free_node[n] + 1 > ep.free_total)
			continue;
		id = hpm_ctl_add(ctl, ep.free_node[n] + 1, 0, n);
		EXPECT_EQ(-ENOMEM, id) TH_LOG("epoch %u: ADD of %lld pages on node %d, %lld free there",
					      ep.epoch, ep.free_node[n] + 1, n, ep.free_node[n]);
	}
	EXPECT_EQ(0, hpm_counters_diff(c, ep.ps, 0, msg, sizeof(msg)))
		TH_LOG("epoch %u: counters after refused ADDs: %s", ep.epoch, msg);
	for (int n = 0; n < ep.nodes && n < 2; n++) {
		EXPECT_EQ(ep.free_node[n], hpm_node_free(n, ep.ps / 1024))
			TH_LOG("epoch %u: node %d after refused ADDs", ep.epoch, n);
	}
	close(ctl);
}

TEST_F_TIMEOUT(fuzz, random_operations, 1150)
{
	unsigned long long seed = fz_env("HPM_FUZZ_SEED", 0x48504d2026ULL);
	unsigned long long secs = fz_env("HPM_FUZZ_SECONDS", fz_debug_kernel() ? 240 : 100);
	unsigned long long max_ops = fz_env("HPM_FUZZ_OPS", 0);
	unsigned int epochs = fz_env("HPM_FUZZ_EPOCHS", 6);
	unsigned int workers = fz_env("HPM_FUZZ_WORKERS", 4);
	unsigned long long total_ops = 0, counts[OP_NR] = { 0 };
	unsigned long max_nr = hpm_nr_pages();
	uint64_t rng = seed;
	struct timespec t0, t1;
	double elapsed;

	HPM_SKIP_GUARD();
	if (workers < 1 || workers > FZ_MAX_WORKERS)
		workers = 4;
	if (max_nr > FZ_MAX_PAGES)
		max_nr = FZ_MAX_PAGES;
	ksft_print_msg("fuzz: seed 0x%llx (HPM_FUZZ_SEED=0x%llx reruns it), %u workers, %u epochs, %llu s%s\n",
		       seed, seed, workers, epochs, secs, max_ops ? ", op limit" : "");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned int e = 1; e <= epochs; e++) {
		pid_t pids[FZ_MAX_WORKERS];
		unsigned long long ops;
		struct timespec s0, s1;
		int guard[FZ_MAX_PARAM];
		char nrs[32] = "";

		memset(sh, 0, sizeof(*sh));
		memset(&ep, 0, sizeof(ep));
		ep.epoch = e;
		ep.workers = workers;
		ep.seed = seed;
		ep.ps = hpm_page_size();
		ep.max_ops = max_ops ? (max_ops - total_ops + epochs - e) / (epochs - e + 1) : 0;
		fz_load(_metadata, &rng, max_nr);
		/* a guard fd on every buffer: neither unload nor REMOVE can succeed */
		for (unsigned int i = 0; i < ep.nbuf; i++) {
			guard[i] = hpm_open_id(i, O_RDWR);
			ASSERT_LE(0, guard[i]) TH_LOG("epoch %u: open buffer %u", e, i);
			snprintf(nrs + strlen(nrs), sizeof(nrs) - strlen(nrs), "%s%lu",
				 i ? "," : "", ep.buf[i].nr);
		}
		fz_check_load(_metadata, self, guard);
		ASSERT_TRUE(_metadata->passed);
		fz_dmabuf_noexec = fz_probe_dmabuf_noexec(guard[0]);
		if (e == 1)
			printf("# fuzz: dma-buf files are %snoexec on this kernel\n",
			       fz_dmabuf_noexec ? "" : "not ");

		clock_gettime(CLOCK_MONOTONIC, &s0);
		for (unsigned int i = 0; i < workers; i++) {
			pids[i] = hpm_fork();
			ASSERT_LE(0, pids[i]);
			if (pids[i] == 0)
				fz_worker(i);
		}
		/* watch sysfs and the dma-buf list while they work */
		for (;;) {
			double t;

			usleep(20000);
			for (unsigned int i = 0; i < ep.nbuf; i++) {
				unsigned long long v;

				hpm_buf_ull(i, "mappings", &v);
			}
			fz_bufinfo_ours();
			clock_gettime(CLOCK_MONOTONIC, &s1);
			t = (s1.tv_sec - t0.tv_sec) + (s1.tv_nsec - t0.tv_nsec) / 1e9;
			if (t >= (double)secs * e / epochs ||
			    (ep.max_ops && atomic_load(&sh->ops) >= ep.max_ops) ||
			    atomic_load(&sh->violations) >= 20)
				break;
			{
				int alive = 0;

				for (unsigned int i = 0; i < workers; i++) {
					int st;

					if (pids[i] > 0 && waitpid(pids[i], &st, WNOHANG) == pids[i]) {
						EXPECT_EQ(0, st) TH_LOG("epoch %u: worker %u ended early with status 0x%x",
									e, i, st);
						pids[i] = -1;
					}
					alive += pids[i] > 0;
				}
				if (!alive)
					break;
			}
		}
		atomic_store(&sh->stop, 1);
		for (int waited = 0, alive = 1; alive; waited++) {
			alive = 0;
			for (unsigned int i = 0; i < workers; i++) {
				int st;

				if (pids[i] <= 0)
					continue;
				if (waitpid(pids[i], &st, WNOHANG) == pids[i]) {
					EXPECT_EQ(0, st) TH_LOG("epoch %u: worker %u ended with status 0x%x",
								e, i, st);
					pids[i] = -1;
				} else if (waited == 6000) {	/* 60 s */
					EXPECT_EQ(0, pids[i]) TH_LOG("epoch %u: worker %u did not stop: killed",
								     e, i);
					kill(pids[i], SIGKILL);
					hpm_wait(pids[i]);
					pids[i] = -1;
				} else {
					alive++;
				}
			}
			if (alive)
				usleep(10000);
		}
		clock_gettime(CLOCK_MONOTONIC, &s1);
		ops = atomic_load(&sh->ops);
		total_ops += ops;
		for (int i = 0; i < OP_NR; i++)
			counts[i] += atomic_load(&sh->op_count[i]);
		ksft_print_msg("fuzz: epoch %u: nr_pages %s, %llu ops in %.1f s (%.0f/s), %lu violations\n",
			       e, nrs, ops,
			       (s1.tv_sec - s0.tv_sec) + (s1.tv_nsec - s0.tv_nsec) / 1e9,
			       ops / ((s1.tv_sec - s0.tv_sec) + (s1.tv_nsec - s0.tv_nsec) / 1e9),
			       (unsigned long)atomic_load(&sh->violations));
		EXPECT_EQ(0, atomic_load(&sh->violations))
			TH_LOG("epoch %u: violations (seed 0x%llx)", e, seed);

		fz_quiescent(_metadata, self, guard);
		for (unsigned int i = 0; i < ep.nbuf; i++)
			close(guard[i]);
		{
			int ret = hpm_rmmod();
			char msg[1024];

			EXPECT_EQ(0, ret) TH_LOG("epoch %u: unload: %s", e, strerror(-ret));
			if (ret)
				ASSERT_EQ(0, hpm_ensure_unloaded());
			EXPECT_EQ(0, hpm_counters_diff(&self->c0, ep.ps, 0, msg, sizeof(msg)))
				TH_LOG("epoch %u: after unload: %s", e, msg);
		}
		if (!_metadata->passed || (max_ops && total_ops >= max_ops))
			break;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	elapsed = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	{
		char line[1024];
		size_t len = 0;

		for (int i = 0; i < OP_NR; i++)
			len += snprintf(line + len, sizeof(line) - len, " %s %llu", fz_op_name[i],
					counts[i]);
		ksft_print_msg("fuzz: total %llu operations in %.1f s (%.0f/s), seed 0x%llx; by kind:%s\n",
			       total_ops, elapsed, total_ops / elapsed, seed, line);
	}
}

TEST_HARNESS_MAIN
