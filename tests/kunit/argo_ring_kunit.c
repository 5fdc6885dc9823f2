// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suites for the core of argo.ko (drivers/argo/core.c and ring.c),
 * run through the endpoint API on the loopback provider:
 *
 *   argo_ring_wrap        payloads of every size class, wrapping across the
 *                         end of the data area at every 16-byte offset
 *   argo_ring_random      long seeded runs of random sends and consumes,
 *                         checked against a reference model of Argo's rules
 *   argo_flow_control     -EAGAIN, tx_ready, size limits, KEEP and STOP, and
 *                         100,000 messages through a small ring
 *   argo_concurrency      several sending threads into one ring
 *   argo_ring_corruption  a scribbled ring header is dropped and counted
 *   argo_resume           rings registered again after a simulated resume
 *   argo_endpoint_args    argument checks of the endpoint API
 *
 * Endpoints act as the loopback's default virtual domains RK_DOM_TX and
 * RK_DOM_RX, on ports RK_PORT(...) that no other suite uses, or as virtual
 * domains the tests create themselves.  Every suite skips unless argo.ko
 * runs on the loopback provider.
 *
 * The tests are black-box where the API suffices.  Some look into struct
 * argo_endpoint (drivers/argo/core.h): to assert where in the ring a message
 * starts, to see that a wrapped payload is handed out in two parts, and to
 * scribble on the ring header as a buggy or hostile writer in the domain
 * could.
 *
 * Receive callbacks and sending threads run outside the test's own thread,
 * where a KUnit assertion must not be used and thousands of failing
 * expectations would drown the log: they count failures in a struct rk_check,
 * keep the first one's description, and the test thread reports it.
 */

#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/prandom.h>
#include <linux/sched/task.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <asm/unaligned.h>
#include <argo/argo.h>
#include <argo/loopback.h>
#include "../../drivers/argo/core.h"

/* Default virtual domains of the loopback provider. */
#define RK_DOM_TX		1
#define RK_DOM_RX		2
#define RK_DOM_OTHER		3
/* Virtual domains this module creates (and destroys) itself. */
#define RK_DOM_NEW(n)		(0x6b10 + (n))
/* A domain id that no virtual domain uses. */
#define RK_DOM_NONE		0x6b72

/* Ports no other suite uses ('k' 'r' ...). */
#define RK_PORT(n)		(0x6b720000U + (n))

#define RK_TX_TIMEOUT		(5 * HZ)

/* ---------------------------------------------------------------------- */
/* Failures recorded outside the test thread */

struct rk_check {
	atomic_t errors;
	char first[192];
};

static __printf(2, 3) void rk_fail(struct rk_check *c, const char *fmt, ...)
{
	va_list ap;

	if (atomic_inc_return(&c->errors) != 1)
		return;
	va_start(ap, fmt);
	vsnprintf(c->first, sizeof(c->first), fmt, ap);
	va_end(ap);
}

static void rk_expect_clean(struct kunit *test, struct rk_check *c)
{
	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&c->errors), 0,
			    "first failure: %s", c->first);
}

/* ---------------------------------------------------------------------- */
/* Endpoints, threads and domains that KUnit releases when a test ends */

static void rk_release_ep(struct kunit_resource *res)
{
	argo_endpoint_close(res->data);
}

static struct argo_endpoint *
rk_open_err(struct kunit *test, u16 domain, u32 port, u16 partner,
	    u32 ring_size, const struct argo_endpoint_ops *ops, void *priv)
{
	const struct argo_endpoint_cfg cfg = {
		.domain = domain,
		.port = port,
		.partner = partner,
		.ring_size = ring_size,
		.ops = ops,
		.priv = priv,
	};
	struct argo_endpoint *ep;

	ep = argo_endpoint_open(&cfg);
	if (IS_ERR(ep))
		return ep;
	if (!kunit_alloc_resource(test, NULL, rk_release_ep, GFP_KERNEL, ep)) {
		argo_endpoint_close(ep);
		return ERR_PTR(-ENOMEM);
	}
	return ep;
}

static struct argo_endpoint *
rk_open(struct kunit *test, u16 domain, u32 port, u16 partner, u32 ring_size,
	const struct argo_endpoint_ops *ops, void *priv)
{
	struct argo_endpoint *ep;

	ep = rk_open_err(test, domain, port, partner, ring_size, ops, priv);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(ep),
			       "open domain %u port %#x partner %u ring %u: %ld",
			       domain, port, partner, ring_size, PTR_ERR(ep));
	return ep;
}

static bool rk_match_data(struct kunit *test, struct kunit_resource *res,
			  void *data)
{
	return res->data == data;
}

/* Close an endpoint opened by rk_open() before the test ends. */
static void rk_close(struct kunit *test, struct argo_endpoint *ep)
{
	KUNIT_EXPECT_EQ(test, kunit_destroy_resource(test, rk_match_data, ep),
			0);
}

static void rk_release_domain(struct kunit_resource *res)
{
	argo_lb_domain_destroy((u16)(uintptr_t)res->data);
}

static void rk_domain_create(struct kunit *test, u16 domid, bool argo)
{
	int ret = argo_lb_domain_create(domid, argo);

	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "create virtual domain %u", domid);
	if (!kunit_alloc_resource(test, NULL, rk_release_domain, GFP_KERNEL,
				  (void *)(uintptr_t)domid)) {
		argo_lb_domain_destroy(domid);
		KUNIT_ASSERT_FAILURE(test, "no memory for a resource");
	}
}

static void rk_release_thread(struct kunit_resource *res)
{
	struct task_struct *task = res->data;

	kthread_stop(task);
	put_task_struct(task);
}

/*
 * Start a kernel thread that KUnit stops when the test ends.  @fn must
 * return only once kthread_should_stop() is true.
 */
static void rk_thread_run(struct kunit *test, int (*fn)(void *), void *arg,
			  const char *name, int idx)
{
	struct task_struct *task;

	task = kthread_create(fn, arg, "%s/%d", name, idx);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(task), "kthread_create: %ld",
			       PTR_ERR(task));
	get_task_struct(task);
	if (!kunit_alloc_resource(test, NULL, rk_release_thread, GFP_KERNEL,
				  task)) {
		kthread_stop(task);
		put_task_struct(task);
		KUNIT_ASSERT_FAILURE(test, "no memory for a resource");
	}
	wake_up_process(task);
}

/* What a thread does once its work is done: wait to be stopped. */
static int rk_thread_park(void)
{
	while (!kthread_should_stop()) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (!kthread_should_stop())
			schedule();
		__set_current_state(TASK_RUNNING);
	}
	return 0;
}

/* The resource's data is never NULL: 1 for false, 2 for true. */
static void rk_release_permissive(struct kunit_resource *res)
{
	argo_lb_set_mac_permissive((uintptr_t)res->data == 2);
}

/* Set mac-permissive for the rest of the test; restored when it ends. */
static void rk_set_permissive(struct kunit *test, bool on)
{
	uintptr_t old = argo_lb_mac_permissive() ? 2 : 1;

	KUNIT_ASSERT_NOT_NULL(test,
			      kunit_alloc_resource(test, NULL,
						   rk_release_permissive,
						   GFP_KERNEL, (void *)old));
	argo_lb_set_mac_permissive(on);
}

/* ---------------------------------------------------------------------- */
/* Callbacks and helpers shared by the suites */

static void rk_nop_ready(struct argo_endpoint *ep, void *priv)
{
}

static enum argo_rx_action rk_keep_rx(struct argo_endpoint *ep,
				      const struct argo_msg *msg, void *priv)
{
	return ARGO_RX_KEEP;
}

/* Receive only through argo_recv(): the core's work never drains. */
static const struct argo_endpoint_ops rk_poll_ops = {
	.rx_ready = rk_nop_ready,
};

/* The core's work looks at the head message but always leaves it. */
static const struct argo_endpoint_ops rk_keep_ops = {
	.rx = rk_keep_rx,
};

/*
 * A sender's view of tx_ready: a completion that counts the calls, and a
 * generation for senders that share an endpoint (the core may answer two
 * -EAGAINs for the same destination with one tx_ready, so each waiter
 * waits for the generation to move past what it saw before its send).
 */
struct rk_sender {
	struct completion tx_ready;
	atomic_t gen;
	wait_queue_head_t wq;
};

static void rk_sender_init(struct rk_sender *s)
{
	init_completion(&s->tx_ready);
	atomic_set(&s->gen, 0);
	init_waitqueue_head(&s->wq);
}

static void rk_sender_tx_ready(struct argo_endpoint *ep, void *priv)
{
	struct rk_sender *s = priv;

	atomic_inc(&s->gen);
	wake_up_all(&s->wq);
	complete(&s->tx_ready);
}

static const struct argo_endpoint_ops rk_sender_ops = {
	.rx_ready = rk_nop_ready,
	.tx_ready = rk_sender_tx_ready,
};

static int rk_send1(struct argo_endpoint *ep, u16 dom, u32 port, u32 type,
		    const void *buf, size_t len)
{
	struct kvec v = { .iov_base = (void *)buf, .iov_len = len };

	return argo_send(ep, dom, port, type, &v, 1);
}

/*
 * Send, retrying after tx_ready on -EAGAIN.  Gives up after RK_TX_TIMEOUT
 * without a tx_ready (-ETIMEDOUT: a lost wake-up), or when the calling
 * thread is told to stop (-EINTR).
 */
static int rk_send_wait(struct argo_endpoint *ep, struct rk_sender *s,
			u16 dom, u32 port, u32 type, const void *buf,
			size_t len, unsigned int *eagain)
{
	bool kthread = current->flags & PF_KTHREAD;
	int gen, ret;

	for (;;) {
		gen = atomic_read(&s->gen);
		ret = rk_send1(ep, dom, port, type, buf, len);
		if (ret != -EAGAIN)
			return ret;
		(*eagain)++;
		if (!wait_event_timeout(s->wq, atomic_read(&s->gen) != gen ||
					(kthread && kthread_should_stop()),
					RK_TX_TIMEOUT))
			return -ETIMEDOUT;
		if (kthread && kthread_should_stop())
			return -EINTR;
	}
}

static void rk_pattern(void *buf, size_t len, u64 seed)
{
	struct rnd_state rs;

	prandom_seed_state(&rs, seed);
	prandom_bytes_state(&rs, buf, len);
}

/* Argo's rules for a ring of @ring_len bytes holding @used bytes of slots. */
static bool rk_too_big(u32 ring_len, u32 payload)
{
	return ARGO_HV_MSG_SPACE(payload) >= ring_len;
}

static bool rk_fits(u32 ring_len, u32 used, u32 payload)
{
	/* One slot always stays free: rx_ptr == tx_ptr means empty. */
	return ARGO_HV_MSG_SPACE(payload) < ring_len - used;
}

static int rk_suite_init(struct kunit *test)
{
	if (!argo_lb_active())
		kunit_skip(test, "argo.ko does not run on the loopback provider");
	return 0;
}

/* ---------------------------------------------------------------------- */
/* One expected message, checked through every copy-out path */

/* Message type of the fillers that move a ring to a chosen offset. */
#define RK_FILLER		0xf111e4U

struct rk_expect {
	struct rk_check chk;
	u16 src_domain;
	u32 src_port;
	u32 type;
	const u8 *want;
	u32 len;
	u8 *got;		/* scratch, at least len + 16 bytes */
	unsigned int seen;
	unsigned int wrapped;	/* messages whose payload wrapped */
};

static void rk_check_bytes(struct rk_expect *e, const char *how)
{
	u32 i;

	for (i = 0; i < e->len; i++) {
		if (e->got[i] != e->want[i]) {
			rk_fail(&e->chk, "%s: len %u type %u: byte %u is %#x, sent %#x",
				how, e->len, e->type, i, e->got[i],
				e->want[i]);
			return;
		}
	}
}

static enum argo_rx_action rk_expect_rx(struct argo_endpoint *ep,
					const struct argo_msg *msg, void *arg)
{
	struct rk_expect *e = arg;
	struct kvec kv[3];
	struct iov_iter it;
	size_t n, off, half;

	e->seen++;
	if (msg->len != e->len || msg->type != e->type ||
	    msg->src_domain != e->src_domain || msg->src_port != e->src_port) {
		rk_fail(&e->chk, "got len %u type %u from %u:%#x, want len %u type %u from %u:%#x",
			msg->len, msg->type, msg->src_domain, msg->src_port,
			e->len, e->type, e->src_domain, e->src_port);
		return ARGO_RX_CONSUME;
	}
	/* White box: the core hands out a wrapped payload in two parts. */
	if (msg->part_len[1] && msg->type != RK_FILLER)
		e->wrapped++;

	/* In one piece, asking for more than there is. */
	memset(e->got, 0xa5, e->len + 16);
	n = argo_msg_copy(msg, 0, e->got, e->len + 16);
	if (n != e->len)
		rk_fail(&e->chk, "argo_msg_copy of len %u returned %zu",
			e->len, n);
	rk_check_bytes(e, "argo_msg_copy");
	if (e->got[e->len] != 0xa5)
		rk_fail(&e->chk, "argo_msg_copy wrote past len %u", e->len);

	/* In 7-byte pieces, so that some piece straddles the wrap. */
	memset(e->got, 0x5a, e->len);
	for (off = 0; off < e->len; off += 7) {
		n = argo_msg_copy(msg, off, e->got + off, 7);
		if (n != min_t(size_t, 7, e->len - off)) {
			rk_fail(&e->chk, "argo_msg_copy(off %zu, 7) of len %u returned %zu",
				off, e->len, n);
			break;
		}
	}
	rk_check_bytes(e, "argo_msg_copy in pieces");
	n = argo_msg_copy(msg, e->len, e->got, 1);
	if (n)
		rk_fail(&e->chk, "argo_msg_copy at the end returned %zu", n);

	/* Through an iterator of three uneven segments. */
	memset(e->got, 0x3c, e->len);
	half = e->len / 3;
	kv[0] = (struct kvec){ e->got, half };
	kv[1] = (struct kvec){ e->got + half, min_t(size_t, 1, e->len - half) };
	kv[2] = (struct kvec){ e->got + half + kv[1].iov_len,
			       e->len - half - kv[1].iov_len };
	iov_iter_kvec(&it, ITER_DEST, kv, 3, e->len);
	n = argo_msg_copy_to_iter(msg, 0, e->len, &it);
	if (n != e->len)
		rk_fail(&e->chk, "argo_msg_copy_to_iter of len %u returned %zu",
			e->len, n);
	rk_check_bytes(e, "argo_msg_copy_to_iter");

	/* The second half again, from an offset, into a short iterator. */
	memset(e->got, 0x3c, e->len);
	half = e->len / 2;
	kv[0] = (struct kvec){ e->got + half, e->len - half };
	iov_iter_kvec(&it, ITER_DEST, kv, 1, e->len - half);
	n = argo_msg_copy_to_iter(msg, half, e->len, &it);
	if (n != e->len - half)
		rk_fail(&e->chk, "argo_msg_copy_to_iter(off %zu) of len %u returned %zu",
			half, e->len, n);
	if (memcmp(e->got + half, e->want + half, e->len - half))
		rk_fail(&e->chk, "argo_msg_copy_to_iter(off %zu) of len %u: wrong bytes",
			half, e->len);
	return ARGO_RX_CONSUME;
}

/* A sender and a receiver whose rings only argo_recv() drains. */
struct rk_pair {
	struct argo_endpoint *tx, *rx;
	u32 tx_port, rx_port;
	u32 len;
};

static void rk_pair_open(struct kunit *test, struct rk_pair *p, u32 port,
			 u32 ring_len)
{
	p->len = ring_len;
	p->tx_port = port;
	p->rx_port = port + 1;
	p->rx = rk_open(test, RK_DOM_RX, p->rx_port, RK_DOM_TX, ring_len,
			&rk_poll_ops, NULL);
	p->tx = rk_open(test, RK_DOM_TX, p->tx_port, RK_DOM_RX,
			ARGO_RING_SIZE_MIN, &rk_poll_ops, NULL);
}

/* Where the next message will start in the receiver's ring. */
static u32 rk_ring_pos(struct kunit *test, struct rk_pair *p)
{
	u32 tx = READ_ONCE(p->rx->ring->tx_ptr);

	KUNIT_EXPECT_EQ_MSG(test, tx, p->rx->rx_ptr, "ring not empty");
	return tx;
}

/* Send @len bytes of @buf as @type and receive them, checking everything. */
static void rk_roundtrip(struct kunit *test, struct rk_pair *p,
			 struct rk_expect *e, const u8 *buf, u32 len, u32 type)
{
	int ret;

	ret = rk_send1(p->tx, RK_DOM_RX, p->rx_port, type, buf, len);
	KUNIT_ASSERT_EQ_MSG(test, ret, (int)len, "send of %u bytes", len);
	e->want = buf;
	e->len = len;
	e->type = type;
	e->src_domain = RK_DOM_TX;
	e->src_port = p->tx_port;
	ret = argo_recv(p->rx, rk_expect_rx, e, 1);
	KUNIT_ASSERT_EQ_MSG(test, ret, 1, "receive of %u bytes", len);
}

/* Consume what is needed for the ring's next message to start at @pos. */
static void rk_move_to(struct kunit *test, struct rk_pair *p,
		       struct rk_expect *e, const u8 *buf, u32 pos)
{
	u32 gap = (pos + p->len - rk_ring_pos(test, p)) % p->len;

	/* A gap is a multiple of 16 below len: one message fills it. */
	if (gap)
		rk_roundtrip(test, p, e, buf, gap - ARGO_HV_MSG_HDR_SIZE,
			     RK_FILLER);
	KUNIT_ASSERT_EQ(test, rk_ring_pos(test, p), pos);
}

/* Every size in @sizes, starting at every slot of a ring of @ring_len. */
static void rk_wrap_sizes(struct kunit *test, u32 port, u32 ring_len,
			  const u32 *sizes, unsigned int nsizes)
{
	u32 max = ARGO_HV_RING_MAX_PAYLOAD(ring_len);
	struct rk_expect *e;
	unsigned int i, expect_wrapped = 0, msgs = 0;
	struct rk_pair p;
	u32 pos;
	u8 *buf;

	e = kunit_kzalloc(test, sizeof(*e), GFP_KERNEL);
	buf = kunit_kmalloc(test, ring_len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, e);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	e->got = kunit_kmalloc(test, ring_len + 16, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, e->got);
	rk_pair_open(test, &p, port, ring_len);

	for (i = 0; i < nsizes; i++) {
		u32 size = sizes[i];

		KUNIT_ASSERT_LE(test, size, max);
		for (pos = 0; pos < ring_len; pos += ARGO_HV_MSG_SLOT_SIZE) {
			rk_move_to(test, &p, e, buf, pos);
			rk_pattern(buf, size, ((u64)size << 32) | pos);
			rk_roundtrip(test, &p, e, buf, size, size << 16 | pos);
			msgs++;
			if (pos + ARGO_HV_MSG_HDR_SIZE < ring_len &&
			    pos + ARGO_HV_MSG_HDR_SIZE + size > ring_len)
				expect_wrapped++;
			if (atomic_read(&e->chk.errors))
				goto out;
		}
	}
out:
	rk_expect_clean(test, &e->chk);
	/* Each message under test started where rk_move_to() asserted. */
	KUNIT_EXPECT_EQ(test, e->wrapped, expect_wrapped);
	/* In a 48-byte ring a payload starts at 0 but cannot wrap. */
	if (ring_len > ARGO_RING_SIZE_MIN)
		KUNIT_EXPECT_GT(test, expect_wrapped, 0U);
	kunit_info(test, "%u messages in a %u-byte ring, %u wrapped\n", msgs,
		   ring_len, expect_wrapped);
}

static void rk_every_size_wraps_at_every_offset(struct kunit *test)
{
	const u32 len = 256, max = ARGO_HV_RING_MAX_PAYLOAD(len);
	u32 *sizes;
	u32 i;

	sizes = kunit_kcalloc(test, max + 1, sizeof(*sizes), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, sizes);
	for (i = 0; i <= max; i++)
		sizes[i] = i;
	rk_wrap_sizes(test, RK_PORT(0x100), len, sizes, max + 1);
}

static void rk_size_classes_wrap_at_every_offset(struct kunit *test)
{
	const u32 len = 4096, max = ARGO_HV_RING_MAX_PAYLOAD(len);
	const u32 sizes[] = {
		0, 1, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65,
		255, 256, 257, 1023, 1024, 1025, 2047, 2048, 2049,
		4000, max - 17, max - 16, max - 15, max - 1, max,
	};

	rk_wrap_sizes(test, RK_PORT(0x110), len, sizes, ARRAY_SIZE(sizes));
}

static void rk_smallest_ring_carries_every_size(struct kunit *test)
{
	const u32 sizes[] = { 0, 1, 2, 7, 8, 9, 14, 15, 16 };

	rk_wrap_sizes(test, RK_PORT(0x120), ARGO_RING_SIZE_MIN, sizes,
		      ARRAY_SIZE(sizes));
}

/* Segment lengths of a gathered message: 0 to 8 segments, some empty. */
static const u32 rk_seg_lens[][ARGO_MAX_SEGS] = {
	{ 0 },
	{ 1, 0, 2 },
	{ 5, 11, 0, 16, 1 },
	{ 40, 0, 0, 3, 17, 1, 60, 15 },
	{ 100, 100 },
	{ 0, 0, 0, 0, 0, 0, 0, 224 },
};

static const unsigned int rk_seg_count[] = { 0, 3, 5, 8, 2, 8 };

/* Gathered sends (kvecs or a scatterlist) wrap like single buffers. */
static void rk_gather_wraps(struct kunit *test, bool sg, u32 port)
{
	const u32 ring_len = 256;
	struct scatterlist sgl[ARGO_MAX_SEGS];
	struct kvec kv[ARGO_MAX_SEGS];
	struct rk_expect *e;
	unsigned int c, s;
	struct rk_pair p;
	u8 *buf, *seg;
	u32 pos;

	e = kunit_kzalloc(test, sizeof(*e), GFP_KERNEL);
	buf = kunit_kmalloc(test, ring_len, GFP_KERNEL);
	seg = kunit_kmalloc(test, ring_len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, e);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_NOT_NULL(test, seg);
	e->got = kunit_kmalloc(test, ring_len + 16, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, e->got);
	rk_pair_open(test, &p, port, ring_len);

	for (c = 0; c < ARRAY_SIZE(rk_seg_count); c++) {
		for (pos = 0; pos < ring_len; pos += ARGO_HV_MSG_SLOT_SIZE) {
			unsigned int n = rk_seg_count[c];
			u32 total = 0;
			int ret;

			rk_move_to(test, &p, e, buf, pos);
			/* Segments in a separate buffer, in order. */
			for (s = 0; s < n; s++)
				total += rk_seg_lens[c][s];
			rk_pattern(buf, total, c * 1000 + pos);
			memcpy(seg, buf, total);
			if (n)
				sg_init_table(sgl, n);
			for (s = 0, total = 0; s < n; s++) {
				kv[s].iov_base = seg + total;
				kv[s].iov_len = rk_seg_lens[c][s];
				sg_set_buf(&sgl[s], seg + total,
					   rk_seg_lens[c][s]);
				total += rk_seg_lens[c][s];
			}
			if (sg)
				ret = argo_send_sg(p.tx, RK_DOM_RX, p.rx_port,
						   c, sgl, n);
			else
				ret = argo_send(p.tx, RK_DOM_RX, p.rx_port, c,
						kv, n);
			KUNIT_ASSERT_EQ_MSG(test, ret, (int)total,
					    "case %u at %u", c, pos);
			e->want = buf;
			e->len = total;
			e->type = c;
			e->src_domain = RK_DOM_TX;
			e->src_port = p.tx_port;
			KUNIT_ASSERT_EQ(test, argo_recv(p.rx, rk_expect_rx, e, 1),
					1);
		}
	}
	rk_expect_clean(test, &e->chk);
	KUNIT_EXPECT_GT(test, e->wrapped, 0U);
}

static void rk_kvec_segments_gather_in_order(struct kunit *test)
{
	rk_gather_wraps(test, false, RK_PORT(0x130));
}

static void rk_sg_segments_gather_in_order(struct kunit *test)
{
	rk_gather_wraps(test, true, RK_PORT(0x140));
}

static struct kunit_case rk_wrap_cases[] = {
	KUNIT_CASE(rk_every_size_wraps_at_every_offset),
	KUNIT_CASE(rk_size_classes_wrap_at_every_offset),
	KUNIT_CASE(rk_smallest_ring_carries_every_size),
	KUNIT_CASE(rk_kvec_segments_gather_in_order),
	KUNIT_CASE(rk_sg_segments_gather_in_order),
	{}
};

static struct kunit_suite rk_wrap_suite = {
	.name = "argo_ring_wrap",
	.init = rk_suite_init,
	.test_cases = rk_wrap_cases,
};

/* ---------------------------------------------------------------------- */
/* Randomised runs against a reference model */

#define RK_MODEL_FIFO		1024	/* > most messages a 16 KiB ring holds */
#define RK_RANDOM_STEPS		20000

struct rk_model {
	struct rk_check chk;
	u32 ring_len;
	u32 used;		/* bytes of slots the queued messages take */
	u32 rx;			/* where the head message starts */
	u32 head, count;
	u32 fifo_len[RK_MODEL_FIFO];
	u32 fifo_id[RK_MODEL_FIFO];
	u64 seed;
	u32 tx_port;
	u64 consumed, consumed_bytes;
	u8 *want, *got;
	struct argo_endpoint *rx_ep;
};

static enum argo_rx_action rk_model_rx(struct argo_endpoint *ep,
				       const struct argo_msg *msg, void *arg)
{
	struct rk_model *m = arg;
	u32 len, id;

	if (!m->count) {
		rk_fail(&m->chk, "message of len %u type %u delivered from an empty ring",
			msg->len, msg->type);
		return ARGO_RX_CONSUME;
	}
	len = m->fifo_len[m->head];
	id = m->fifo_id[m->head];
	if (ep->rx_ptr != m->rx)
		rk_fail(&m->chk, "message %u read at %u, model says %u", id,
			ep->rx_ptr, m->rx);
	if (msg->len != len || msg->type != id ||
	    msg->src_domain != RK_DOM_TX || msg->src_port != m->tx_port) {
		rk_fail(&m->chk, "got len %u type %u from %u:%#x, want len %u type %u",
			msg->len, msg->type, msg->src_domain, msg->src_port,
			len, id);
	} else {
		rk_pattern(m->want, len, m->seed + id);
		if (argo_msg_copy(msg, 0, m->got, len) != len ||
		    memcmp(m->got, m->want, len))
			rk_fail(&m->chk, "message %u of len %u: wrong bytes",
				id, len);
	}
	m->head = (m->head + 1) % RK_MODEL_FIFO;
	m->count--;
	m->used -= ARGO_HV_MSG_SPACE(len);
	m->rx = (m->rx + ARGO_HV_MSG_SPACE(len)) % m->ring_len;
	m->consumed++;
	m->consumed_bytes += len;
	return ARGO_RX_CONSUME;
}

static u32 rk_random_size(struct rnd_state *rs, u32 max)
{
	u32 r = prandom_u32_state(rs);

	switch (r % 10) {
	case 0 ... 4:		/* small */
		return (r >> 8) % (min(max, 48U) + 1);
	case 5 ... 7:		/* anything that may fit */
		return (r >> 8) % (max + 1);
	case 8:			/* the largest */
		return max - (r >> 8) % min(max + 1, 17U);
	default:		/* never fits: -EMSGSIZE */
		return max + 1 + (r >> 8) % 48;
	}
}

static void rk_random_run(struct kunit *test, u32 port, u32 ring_len,
			  u64 seed)
{
	const u32 max = ARGO_HV_RING_MAX_PAYLOAD(ring_len);
	struct argo_endpoint_stats st;
	u64 sent = 0, sent_bytes = 0, eagain = 0, emsgsize = 0, full = 0;
	u32 step, next_id = 0;
	struct argo_endpoint *tx;
	struct rnd_state rs;
	struct rk_model *m;
	int ret;

	m = kunit_kzalloc(test, sizeof(*m), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, m);
	m->want = kunit_kmalloc(test, max + 64, GFP_KERNEL);
	m->got = kunit_kmalloc(test, max + 64, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, m->want);
	KUNIT_ASSERT_NOT_NULL(test, m->got);
	m->ring_len = ring_len;
	m->seed = seed << 32;
	m->tx_port = port;
	m->rx_ep = rk_open(test, RK_DOM_RX, port + 1, RK_DOM_TX, ring_len,
			   &rk_keep_ops, NULL);
	tx = rk_open(test, RK_DOM_TX, port, RK_DOM_RX, ARGO_RING_SIZE_MIN,
		     &rk_poll_ops, NULL);
	prandom_seed_state(&rs, seed);

	for (step = 0; step < RK_RANDOM_STEPS; step++) {
		/* Phases of 1000 steps, from mostly consuming to mostly sending. */
		u32 send_pct = 30 + ((step / 1000) * 17) % 51;
		u32 r = prandom_u32_state(&rs) % 100;

		if (r < send_pct) {
			u32 size = rk_random_size(&rs, max);
			int want;

			if (rk_too_big(ring_len, size))
				want = -EMSGSIZE;
			else if (!rk_fits(ring_len, m->used, size))
				want = -EAGAIN;
			else
				want = size;
			rk_pattern(m->want, size, m->seed + next_id);
			ret = rk_send1(tx, RK_DOM_RX, port + 1, next_id,
				       m->want, size);
			if (ret != want) {
				KUNIT_FAIL(test, "step %u: send of %u, %u of %u used: %d, model %d",
					   step, size, m->used, ring_len, ret,
					   want);
				break;
			}
			if (ret == -EMSGSIZE) {
				emsgsize++;
			} else if (ret == -EAGAIN) {
				eagain++;
			} else {
				u32 tail = (m->head + m->count) % RK_MODEL_FIFO;

				KUNIT_ASSERT_LT(test, m->count, RK_MODEL_FIFO);
				m->fifo_len[tail] = size;
				m->fifo_id[tail] = next_id++;
				m->count++;
				m->used += ARGO_HV_MSG_SPACE(size);
				sent++;
				sent_bytes += size;
				if (!rk_fits(ring_len, m->used, 0))
					full++;
			}
		} else {
			u32 budget = prandom_u32_state(&rs) % 6;
			u32 want = budget ? min(budget, m->count) : m->count;

			ret = argo_recv(m->rx_ep, rk_model_rx, m, budget);
			if (ret != want) {
				KUNIT_FAIL(test, "step %u: argo_recv(budget %u), %u queued: %d",
					   step, budget, m->count, ret);
				break;
			}
		}
		if (argo_endpoint_readable(m->rx_ep) != !!m->count) {
			KUNIT_FAIL(test, "step %u: readable is %d with %u queued",
				   step, argo_endpoint_readable(m->rx_ep),
				   m->count);
			break;
		}
		if (atomic_read(&m->chk.errors))
			break;
	}
	rk_expect_clean(test, &m->chk);

	ret = argo_recv(m->rx_ep, rk_model_rx, m, 0);
	KUNIT_EXPECT_EQ(test, m->count, 0U);
	KUNIT_EXPECT_FALSE(test, argo_endpoint_readable(m->rx_ep));

	argo_endpoint_get_stats(tx, &st);
	KUNIT_EXPECT_EQ(test, st.tx_msgs, sent);
	KUNIT_EXPECT_EQ(test, st.tx_bytes, sent_bytes);
	KUNIT_EXPECT_EQ(test, st.tx_eagain, eagain);
	argo_endpoint_get_stats(m->rx_ep, &st);
	KUNIT_EXPECT_EQ(test, st.rx_msgs, m->consumed);
	KUNIT_EXPECT_EQ(test, st.rx_bytes, m->consumed_bytes);
	KUNIT_EXPECT_EQ(test, st.ring_errors, 0ULL);
	/* The run must have reached both limits to prove anything. */
	KUNIT_EXPECT_GT(test, eagain, 0ULL);
	KUNIT_EXPECT_GT(test, emsgsize, 0ULL);
	kunit_info(test, "ring %u seed %llu: %llu sent, %llu -EAGAIN, %llu -EMSGSIZE, full %llu times\n",
		   ring_len, seed, sent, eagain, emsgsize, full);
}

static void rk_random_smallest_ring(struct kunit *test)
{
	rk_random_run(test, RK_PORT(0x200), ARGO_RING_SIZE_MIN, 1);
}

static void rk_random_256_byte_ring(struct kunit *test)
{
	rk_random_run(test, RK_PORT(0x210), 256, 2);
}

static void rk_random_1_kib_ring(struct kunit *test)
{
	rk_random_run(test, RK_PORT(0x220), 1024, 3);
}

static void rk_random_two_page_ring(struct kunit *test)
{
	/* Header and data area across three 4 KiB frames. */
	rk_random_run(test, RK_PORT(0x230), 8192 - 64 + 32, 4);
}

static struct kunit_case rk_random_cases[] = {
	KUNIT_CASE(rk_random_smallest_ring),
	KUNIT_CASE(rk_random_256_byte_ring),
	KUNIT_CASE(rk_random_1_kib_ring),
	KUNIT_CASE(rk_random_two_page_ring),
	{}
};

static struct kunit_suite rk_random_suite = {
	.name = "argo_ring_random",
	.init = rk_suite_init,
	.test_cases = rk_random_cases,
};

/* ---------------------------------------------------------------------- */
/* Flow control */

static enum argo_rx_action rk_consume_rx(struct argo_endpoint *ep,
					 const struct argo_msg *msg, void *arg)
{
	return ARGO_RX_CONSUME;
}

/* A receiver whose work keeps, consumes or consumes-and-stops on demand. */
struct rk_holder {
	struct rk_check chk;
	atomic_t action;		/* enum argo_rx_action */
	atomic_t calls, consumed;
	u32 next_type;
	struct completion called;
	wait_queue_head_t wq;
};

static void rk_holder_init(struct rk_holder *h, enum argo_rx_action action)
{
	atomic_set(&h->action, action);
	init_completion(&h->called);
	init_waitqueue_head(&h->wq);
}

static enum argo_rx_action rk_holder_rx(struct argo_endpoint *ep,
					const struct argo_msg *msg, void *priv)
{
	struct rk_holder *h = priv;
	enum argo_rx_action action = atomic_read(&h->action);

	atomic_inc(&h->calls);
	complete(&h->called);
	if (action == ARGO_RX_KEEP)
		return ARGO_RX_KEEP;
	if (msg->type != h->next_type)
		rk_fail(&h->chk, "got message type %u, want %u", msg->type,
			h->next_type);
	h->next_type = msg->type + 1;
	atomic_inc(&h->consumed);
	wake_up_all(&h->wq);
	return action;
}

static const struct argo_endpoint_ops rk_holder_ops = {
	.rx = rk_holder_rx,
};

/* As rk_fill(), but without the last -EAGAIN if !@probe. */
static u32 rk_fill_probe(struct kunit *test, struct argo_endpoint *tx,
			 struct argo_endpoint *rx, u32 size, u32 *used,
			 bool probe)
{
	u32 n = 0, ring_len = rx->ring_len;
	u8 buf[64] = {};
	int ret;

	KUNIT_ASSERT_LE(test, size, (u32)sizeof(buf));
	while (rk_fits(ring_len, *used, size)) {
		ret = rk_send1(tx, argo_endpoint_domain(rx),
			       argo_endpoint_port(rx), n, buf, size);
		KUNIT_ASSERT_EQ_MSG(test, ret, (int)size,
				    "message %u into %u of %u used", n, *used,
				    ring_len);
		*used += ARGO_HV_MSG_SPACE(size);
		n++;
	}
	if (!probe)
		return n;
	ret = rk_send1(tx, argo_endpoint_domain(rx), argo_endpoint_port(rx),
		       n, buf, size);
	KUNIT_EXPECT_EQ_MSG(test, ret, -EAGAIN, "%u of %u used", *used,
			    ring_len);
	return n;
}

static bool rk_holder_wait(struct rk_holder *h, int consumed)
{
	return wait_event_timeout(h->wq, atomic_read(&h->consumed) >= consumed,
				  2 * HZ);
}

/*
 * Fill @rx's ring with @size-byte messages from @tx, then see one more
 * refused with -EAGAIN; returns how many were sent.
 */
static u32 rk_fill(struct kunit *test, struct argo_endpoint *tx,
		   struct argo_endpoint *rx, u32 size, u32 *used)
{
	return rk_fill_probe(test, tx, rx, size, used, true);
}

static void rk_full_ring_returns_eagain(struct kunit *test)
{
	const u32 ring_len = 512;
	struct argo_endpoint_stats st;
	struct argo_endpoint *rx, *tx;
	u32 used = 0, n;

	rx = rk_open(test, RK_DOM_RX, RK_PORT(0x301), RK_DOM_TX, ring_len,
		     &rk_poll_ops, NULL);
	tx = rk_open(test, RK_DOM_TX, RK_PORT(0x300), RK_DOM_RX,
		     ARGO_RING_SIZE_MIN, &rk_poll_ops, NULL);

	/* 64-byte payloads take 80 bytes: six fit in 512, leaving 32. */
	n = rk_fill(test, tx, rx, 64, &used);
	KUNIT_EXPECT_EQ(test, n, 6U);
	KUNIT_EXPECT_EQ(test, used, 480U);
	/* An empty message takes one slot: one more fits, not a second. */
	n = rk_fill(test, tx, rx, 0, &used);
	KUNIT_EXPECT_EQ(test, n, 1U);
	KUNIT_EXPECT_EQ(test, used, ring_len - ARGO_HV_MSG_SLOT_SIZE);

	argo_endpoint_get_stats(tx, &st);
	KUNIT_EXPECT_EQ(test, st.tx_msgs, 7ULL);
	KUNIT_EXPECT_EQ(test, st.tx_eagain, 2ULL);
	KUNIT_EXPECT_EQ(test, argo_recv(rx, rk_consume_rx, NULL, 0), 7);
	KUNIT_EXPECT_FALSE(test, argo_endpoint_readable(rx));
}

static void rk_tx_ready_follows_consumption(struct kunit *test)
{
	struct argo_endpoint_stats st;
	struct argo_endpoint *rx, *tx;
	struct rk_sender *s;
	u8 buf[64] = {};
	u32 used = 0;

	s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s);
	rk_sender_init(s);
	rx = rk_open(test, RK_DOM_RX, RK_PORT(0x311), RK_DOM_TX, 512,
		     &rk_poll_ops, NULL);
	tx = rk_open(test, RK_DOM_TX, RK_PORT(0x310), RK_DOM_RX,
		     ARGO_RING_SIZE_MIN, &rk_sender_ops, s);

	rk_fill(test, tx, rx, sizeof(buf), &used);
	/* Nothing consumed: no tx_ready, however long we wait. */
	msleep(100);
	KUNIT_EXPECT_FALSE(test, completion_done(&s->tx_ready));
	argo_endpoint_get_stats(tx, &st);
	KUNIT_EXPECT_EQ(test, st.tx_ready, 0ULL);

	KUNIT_ASSERT_EQ(test, argo_recv(rx, rk_consume_rx, NULL, 1), 1);
	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&s->tx_ready,
							  2 * HZ), 0UL);
	KUNIT_EXPECT_EQ(test, rk_send1(tx, RK_DOM_RX, RK_PORT(0x311), 0, buf,
				       sizeof(buf)), (int)sizeof(buf));
}

/*
 * Xen drops a ring's queued space wake-ups without a signal when the ring
 * is unregistered.  A sender blocked on it must still hear of it (the
 * core polls its waits), and its retry must see the ring gone.
 */
static void rk_tx_ready_when_destination_ring_closes(struct kunit *test)
{
	struct argo_endpoint *rx, *tx;
	struct rk_sender *s;
	u8 buf[64] = {};
	u32 used = 0;

	s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s);
	rk_sender_init(s);
	rx = rk_open(test, RK_DOM_RX, RK_PORT(0x3c1), RK_DOM_TX, 512,
		     &rk_poll_ops, NULL);
	tx = rk_open(test, RK_DOM_TX, RK_PORT(0x3c0), RK_DOM_RX,
		     ARGO_RING_SIZE_MIN, &rk_sender_ops, s);

	rk_fill(test, tx, rx, sizeof(buf), &used);
	rk_close(test, rx);
	/* The core asks about its waits once a second. */
	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&s->tx_ready,
							  3 * HZ), 0UL);
	KUNIT_EXPECT_EQ(test, rk_send1(tx, RK_DOM_RX, RK_PORT(0x3c1), 0, buf,
				       sizeof(buf)), -ECONNREFUSED);
}

static void rk_tx_ready_waits_for_enough_space(struct kunit *test)
{
	const u32 ring_len = 512, big = 200;
	struct argo_endpoint *rx, *tx;
	struct rk_sender *s;
	u32 used = 0;
	u8 *buf;

	s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	buf = kunit_kzalloc(test, big, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	rk_sender_init(s);
	rx = rk_open(test, RK_DOM_RX, RK_PORT(0x321), RK_DOM_TX, ring_len,
		     &rk_poll_ops, NULL);
	tx = rk_open(test, RK_DOM_TX, RK_PORT(0x320), RK_DOM_RX,
		     ARGO_RING_SIZE_MIN, &rk_sender_ops, s);

	/* Fill with one-slot messages, then ask for 224 bytes of slots. */
	rk_fill_probe(test, tx, rx, 0, &used, false);
	KUNIT_ASSERT_EQ(test, rk_send1(tx, RK_DOM_RX, RK_PORT(0x321), 0, buf,
				       big), -EAGAIN);
	while (!rk_fits(ring_len, used, big)) {
		KUNIT_EXPECT_FALSE_MSG(test, completion_done(&s->tx_ready),
				       "tx_ready with %u of %u used", used,
				       ring_len);
		if (!rk_fits(ring_len, used - ARGO_HV_MSG_SLOT_SIZE, big)) {
			KUNIT_ASSERT_EQ(test, argo_recv(rx, rk_consume_rx,
							NULL, 1), 1);
			used -= ARGO_HV_MSG_SLOT_SIZE;
			continue;
		}
		/* One slot short: give a wrong wake-up time to show. */
		msleep(100);
		KUNIT_EXPECT_FALSE_MSG(test, completion_done(&s->tx_ready),
				       "tx_ready with %u of %u used", used,
				       ring_len);
		KUNIT_ASSERT_EQ(test, argo_recv(rx, rk_consume_rx, NULL, 1), 1);
		used -= ARGO_HV_MSG_SLOT_SIZE;
	}
	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&s->tx_ready,
							  2 * HZ), 0UL);
	KUNIT_EXPECT_EQ(test, rk_send1(tx, RK_DOM_RX, RK_PORT(0x321), 0, buf,
				       big), (int)big);
}

/*
 * A full ring has no room even for an empty message (one slot stays free).
 * The sender must not be told to retry until the owner consumed, even when
 * its domain is signalled for other reasons meanwhile.
 */
static void rk_tx_ready_for_empty_message_waits_for_space(struct kunit *test)
{
	struct argo_endpoint *rx, *tx, *other;
	struct rk_sender *s;
	u8 buf[8] = {};
	u32 used = 0;
	int i;

	s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s);
	rk_sender_init(s);
	rx = rk_open(test, RK_DOM_RX, RK_PORT(0x3b1), RK_DOM_TX, 256,
		     &rk_poll_ops, NULL);
	tx = rk_open(test, RK_DOM_TX, RK_PORT(0x3b0), RK_DOM_RX,
		     ARGO_RING_SIZE_MIN, &rk_sender_ops, s);
	/* Another ring in the sender's domain, to signal that domain. */
	other = rk_open(test, RK_DOM_TX, RK_PORT(0x3b2), RK_DOM_RX, 256,
			&rk_poll_ops, NULL);

	rk_fill(test, tx, rx, 0, &used);
	for (i = 0; i < 3; i++) {
		KUNIT_ASSERT_EQ(test, rk_send1(rx, RK_DOM_TX, RK_PORT(0x3b2), i,
					       buf, sizeof(buf)),
				(int)sizeof(buf));
		msleep(30);
	}
	KUNIT_EXPECT_FALSE(test, completion_done(&s->tx_ready));
	KUNIT_EXPECT_EQ(test, argo_recv(other, rk_consume_rx, NULL, 0), 3);

	KUNIT_ASSERT_GT(test, argo_recv(rx, rk_consume_rx, NULL, 0), 0);
	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&s->tx_ready,
							  2 * HZ), 0UL);
	KUNIT_EXPECT_EQ(test, rk_send1(tx, RK_DOM_RX, RK_PORT(0x3b1), 0, buf,
				       0), 0);
}

static void rk_tx_ready_once_per_eagain(struct kunit *test)
{
	struct argo_endpoint_stats st;
	struct argo_endpoint *rx, *tx;
	struct rk_sender *s;
	u32 used = 0;

	s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s);
	rk_sender_init(s);
	rx = rk_open(test, RK_DOM_RX, RK_PORT(0x331), RK_DOM_TX, 256,
		     &rk_poll_ops, NULL);
	tx = rk_open(test, RK_DOM_TX, RK_PORT(0x330), RK_DOM_RX,
		     ARGO_RING_SIZE_MIN, &rk_sender_ops, s);

	rk_fill(test, tx, rx, 32, &used);
	/* Consume one by one: each notify could wake the sender again. */
	while (argo_recv(rx, rk_consume_rx, NULL, 1) == 1)
		;
	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&s->tx_ready,
							  2 * HZ), 0UL);
	msleep(100);
	KUNIT_EXPECT_FALSE(test, try_wait_for_completion(&s->tx_ready));
	argo_endpoint_get_stats(tx, &st);
	KUNIT_EXPECT_EQ(test, st.tx_eagain, 1ULL);
	KUNIT_EXPECT_EQ(test, st.tx_ready, 1ULL);
}

static void rk_max_msg_size_is_ring_len_minus_32(struct kunit *test)
{
	const u32 lens[] = { ARGO_RING_SIZE_MIN, 512, 4096, 8192 + 16 };
	struct argo_endpoint *tx;
	unsigned int i;
	u32 max;

	tx = rk_open(test, RK_DOM_TX, RK_PORT(0x340), RK_DOM_RX,
		     ARGO_RING_SIZE_MIN, &rk_poll_ops, NULL);
	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		rk_open(test, RK_DOM_RX, RK_PORT(0x341) + i, RK_DOM_TX,
			lens[i], &rk_poll_ops, NULL);
		max = 0;
		KUNIT_EXPECT_EQ(test, argo_max_msg_size(tx, RK_DOM_RX,
							RK_PORT(0x341) + i,
							&max), 0);
		KUNIT_EXPECT_EQ(test, max, lens[i] - 32);
	}
}

static void rk_max_msg_size_refused_without_ring(struct kunit *test)
{
	struct argo_endpoint *tx;
	u32 max = 0x12345678;

	tx = rk_open(test, RK_DOM_TX, RK_PORT(0x350), RK_DOM_RX,
		     ARGO_RING_SIZE_MIN, &rk_poll_ops, NULL);
	/* No ring on that port. */
	KUNIT_EXPECT_EQ(test, argo_max_msg_size(tx, RK_DOM_RX, RK_PORT(0x351),
						&max), -ECONNREFUSED);
	/* A ring there, but for another partner. */
	rk_open(test, RK_DOM_RX, RK_PORT(0x352), RK_DOM_OTHER, 512,
		&rk_poll_ops, NULL);
	KUNIT_EXPECT_EQ(test, argo_max_msg_size(tx, RK_DOM_RX, RK_PORT(0x352),
						&max), -ECONNREFUSED);
	/* No such domain. */
	KUNIT_EXPECT_EQ(test, argo_max_msg_size(tx, RK_DOM_NONE, RK_PORT(0x352),
						&max), -ECONNREFUSED);
	KUNIT_EXPECT_EQ(test, max, 0x12345678U);
}

static void rk_oversize_send_returns_emsgsize(struct kunit *test)
{
	const u32 ring_len = 512, max = ring_len - 32;
	const u32 over[] = { max + 1, max + 15, max + 16, ring_len, 4096 };
	struct argo_endpoint *rx, *tx;
	struct kvec v;
	unsigned int i;
	u32 used = 0;
	u8 *buf;

	buf = kunit_kzalloc(test, 4096, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	rx = rk_open(test, RK_DOM_RX, RK_PORT(0x361), RK_DOM_TX, ring_len,
		     &rk_poll_ops, NULL);
	tx = rk_open(test, RK_DOM_TX, RK_PORT(0x360), RK_DOM_RX,
		     ARGO_RING_SIZE_MIN, &rk_poll_ops, NULL);

	for (i = 0; i < ARRAY_SIZE(over); i++)
		KUNIT_EXPECT_EQ_MSG(test, rk_send1(tx, RK_DOM_RX, RK_PORT(0x361),
						   0, buf, over[i]),
				    -EMSGSIZE, "%u bytes", over[i]);
	KUNIT_EXPECT_EQ(test, rk_send1(tx, RK_DOM_RX, RK_PORT(0x361), 0, buf,
				       max), (int)max);
	KUNIT_EXPECT_EQ(test, argo_recv(rx, rk_consume_rx, NULL, 0), 1);

	/* A full ring still says the message can never fit. */
	rk_fill(test, tx, rx, 64, &used);
	KUNIT_EXPECT_EQ(test, rk_send1(tx, RK_DOM_RX, RK_PORT(0x361), 0, buf,
				       max + 1), -EMSGSIZE);
	KUNIT_EXPECT_EQ(test, rk_send1(tx, RK_DOM_RX, RK_PORT(0x361), 0, buf,
				       max), -EAGAIN);

	/* Larger than any ring: refused before the hypervisor reads it. */
	v.iov_base = buf;
	v.iov_len = ARGO_HV_MAX_MSG_SIZE + 1;
	KUNIT_EXPECT_EQ(test, argo_send(tx, RK_DOM_RX, RK_PORT(0x361), 0, &v, 1),
			-EMSGSIZE);
}

static void rk_send_without_ring_is_refused(struct kunit *test)
{
	struct argo_endpoint *tx;
	u8 buf[8] = {};

	tx = rk_open(test, RK_DOM_TX, RK_PORT(0x370), RK_DOM_RX,
		     ARGO_RING_SIZE_MIN, &rk_poll_ops, NULL);
	KUNIT_EXPECT_EQ(test, rk_send1(tx, RK_DOM_RX, RK_PORT(0x371), 0, buf,
				       sizeof(buf)), -ECONNREFUSED);
	rk_open(test, RK_DOM_RX, RK_PORT(0x372), RK_DOM_OTHER, 512,
		&rk_poll_ops, NULL);
	KUNIT_EXPECT_EQ(test, rk_send1(tx, RK_DOM_RX, RK_PORT(0x372), 0, buf,
				       sizeof(buf)), -ECONNREFUSED);
	KUNIT_EXPECT_EQ(test, rk_send1(tx, RK_DOM_NONE, RK_PORT(0x372), 0, buf,
				       sizeof(buf)), -ESRCH);
}

static void rk_keep_holds_messages_until_kick(struct kunit *test)
{
	struct argo_endpoint_stats st;
	struct argo_endpoint *rx, *tx;
	struct rk_holder *h;
	u8 buf[8] = {};
	u32 i;

	h = kunit_kzalloc(test, sizeof(*h), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, h);
	rk_holder_init(h, ARGO_RX_KEEP);
	rx = rk_open(test, RK_DOM_RX, RK_PORT(0x381), RK_DOM_TX, 512,
		     &rk_holder_ops, h);
	tx = rk_open(test, RK_DOM_TX, RK_PORT(0x380), RK_DOM_RX,
		     ARGO_RING_SIZE_MIN, &rk_poll_ops, NULL);

	for (i = 0; i < 3; i++)
		KUNIT_ASSERT_EQ(test, rk_send1(tx, RK_DOM_RX, RK_PORT(0x381), i,
					       buf, sizeof(buf)),
				(int)sizeof(buf));
	KUNIT_ASSERT_GT(test, wait_for_completion_timeout(&h->called, 2 * HZ),
			0UL);
	msleep(50);
	argo_endpoint_get_stats(rx, &st);
	KUNIT_EXPECT_EQ(test, st.rx_msgs, 0ULL);
	KUNIT_EXPECT_TRUE(test, argo_endpoint_readable(rx));

	atomic_set(&h->action, ARGO_RX_CONSUME);
	argo_endpoint_kick(rx);
	KUNIT_EXPECT_TRUE(test, rk_holder_wait(h, 3));
	KUNIT_EXPECT_EQ(test, h->next_type, 3U);
	rk_expect_clean(test, &h->chk);
}

static void rk_consume_stop_pauses_draining(struct kunit *test)
{
	struct argo_endpoint *rx, *tx;
	struct rk_holder *h;
	u8 buf[8] = {};
	int i;

	h = kunit_kzalloc(test, sizeof(*h), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, h);
	rk_holder_init(h, ARGO_RX_KEEP);
	rx = rk_open(test, RK_DOM_RX, RK_PORT(0x391), RK_DOM_TX, 512,
		     &rk_holder_ops, h);
	tx = rk_open(test, RK_DOM_TX, RK_PORT(0x390), RK_DOM_RX,
		     ARGO_RING_SIZE_MIN, &rk_poll_ops, NULL);

	for (i = 0; i < 3; i++)
		KUNIT_ASSERT_EQ(test, rk_send1(tx, RK_DOM_RX, RK_PORT(0x391), i,
					       buf, sizeof(buf)),
				(int)sizeof(buf));
	KUNIT_ASSERT_GT(test, wait_for_completion_timeout(&h->called, 2 * HZ),
			0UL);
	/* Let the signals of the three sends settle. */
	msleep(50);

	atomic_set(&h->action, ARGO_RX_CONSUME_STOP);
	for (i = 1; i <= 3; i++) {
		argo_endpoint_kick(rx);
		KUNIT_EXPECT_TRUE(test, rk_holder_wait(h, i));
		msleep(50);
		KUNIT_EXPECT_EQ(test, atomic_read(&h->consumed), i);
		KUNIT_EXPECT_EQ(test, argo_endpoint_readable(rx), i < 3);
	}
	rk_expect_clean(test, &h->chk);
}

/* A stream of numbered messages of varied sizes, checked in order. */
#define RK_STREAM_MSGS		100000U

struct rk_stream {
	struct rk_check chk;
	u32 n;			/* messages in the stream */
	u32 next;		/* sequence number expected next */
	u32 max;		/* largest payload */
	u16 src_domain;
	u32 src_port;
	struct completion done;
	u8 buf[ARGO_HV_PAGE_SIZE];
};

static u32 rk_stream_len(u32 seq, u32 max)
{
	/* Mostly small messages, every 16th one up to the largest. */
	if (seq % 16 == 0)
		return 4 + (seq * 131) % (max - 3);
	return 4 + (seq * 37) % min(100U, max - 3);
}

static void rk_stream_fill(u8 *buf, u32 seq, u32 len)
{
	u32 i;

	put_unaligned_le32(seq, buf);
	for (i = 4; i < len; i++)
		buf[i] = seq * 7 + i;
}

static enum argo_rx_action rk_stream_rx(struct argo_endpoint *ep,
					const struct argo_msg *msg, void *priv)
{
	struct rk_stream *s = priv;
	u32 seq = s->next, len = rk_stream_len(seq, s->max), i, got;

	if (seq >= s->n) {
		rk_fail(&s->chk, "message type %u after the last one",
			msg->type);
		return ARGO_RX_CONSUME;
	}
	if (msg->len != len || msg->type != seq ||
	    msg->src_domain != s->src_domain || msg->src_port != s->src_port) {
		rk_fail(&s->chk, "message %u: got len %u type %u from %u:%#x, want len %u",
			seq, msg->len, msg->type, msg->src_domain,
			msg->src_port, len);
		goto next;
	}
	argo_msg_copy(msg, 0, s->buf, len);
	got = get_unaligned_le32(s->buf);
	if (got != seq)
		rk_fail(&s->chk, "message %u carries sequence number %u", seq,
			got);
	for (i = 4; i < len; i++) {
		if (s->buf[i] != (u8)(seq * 7 + i)) {
			rk_fail(&s->chk, "message %u: byte %u wrong", seq, i);
			break;
		}
	}
next:
	/* Resynchronise on the type, so one loss is reported once. */
	s->next = (msg->type >= seq && msg->type < s->n ? msg->type : seq) + 1;
	/* A slow consumer: now and then it sleeps with the ring full. */
	if (seq % 512 == 511)
		usleep_range(100, 200);
	if (s->next == s->n)
		complete(&s->done);
	return ARGO_RX_CONSUME;
}

static const struct argo_endpoint_ops rk_stream_ops = {
	.rx = rk_stream_rx,
};

static void rk_many_messages_through_small_ring(struct kunit *test)
{
	const u32 ring_len = 512, port = RK_PORT(0x3a0);
	struct argo_endpoint_stats st;
	struct argo_endpoint *rx, *tx;
	unsigned int eagain = 0;
	struct rk_stream *s;
	struct rk_sender *snd;
	ktime_t start;
	u32 seq, len;
	u8 *buf;
	int ret;

	s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	snd = kunit_kzalloc(test, sizeof(*snd), GFP_KERNEL);
	buf = kunit_kzalloc(test, ring_len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s);
	KUNIT_ASSERT_NOT_NULL(test, snd);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	s->n = RK_STREAM_MSGS;
	s->max = ARGO_HV_RING_MAX_PAYLOAD(ring_len);
	s->src_domain = RK_DOM_TX;
	s->src_port = port;
	init_completion(&s->done);
	rk_sender_init(snd);
	rx = rk_open(test, RK_DOM_RX, port + 1, RK_DOM_TX, ring_len,
		     &rk_stream_ops, s);
	tx = rk_open(test, RK_DOM_TX, port, RK_DOM_RX, ARGO_RING_SIZE_MIN,
		     &rk_sender_ops, snd);

	start = ktime_get();
	for (seq = 0; seq < s->n; seq++) {
		len = rk_stream_len(seq, s->max);
		rk_stream_fill(buf, seq, len);
		ret = rk_send_wait(tx, snd, RK_DOM_RX, port + 1, seq, buf, len,
				   &eagain);
		if (ret != len) {
			KUNIT_FAIL(test, "message %u of %u bytes: %d", seq, len,
				   ret);
			break;
		}
		if (atomic_read(&s->chk.errors))
			break;
	}
	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&s->done, 10 * HZ),
			0UL);
	rk_expect_clean(test, &s->chk);
	KUNIT_EXPECT_EQ(test, s->next, s->n);
	KUNIT_EXPECT_GT(test, eagain, 0U);

	/* Every -EAGAIN was answered by exactly one tx_ready. */
	msleep(50);
	argo_endpoint_get_stats(tx, &st);
	KUNIT_EXPECT_EQ(test, st.tx_msgs, (u64)s->n);
	KUNIT_EXPECT_EQ(test, st.tx_eagain, (u64)eagain);
	KUNIT_EXPECT_EQ(test, st.tx_ready, st.tx_eagain);
	argo_endpoint_get_stats(rx, &st);
	KUNIT_EXPECT_EQ(test, st.rx_msgs, (u64)s->n);
	KUNIT_EXPECT_EQ(test, st.ring_errors, 0ULL);
	kunit_info(test, "%u messages in %lld ms, %u -EAGAIN\n", s->n,
		   ktime_ms_delta(ktime_get(), start), eagain);
}

static struct kunit_case rk_flow_cases[] = {
	KUNIT_CASE(rk_full_ring_returns_eagain),
	KUNIT_CASE(rk_tx_ready_follows_consumption),
	KUNIT_CASE(rk_tx_ready_when_destination_ring_closes),
	KUNIT_CASE(rk_tx_ready_waits_for_enough_space),
	KUNIT_CASE(rk_tx_ready_for_empty_message_waits_for_space),
	KUNIT_CASE(rk_tx_ready_once_per_eagain),
	KUNIT_CASE(rk_max_msg_size_is_ring_len_minus_32),
	KUNIT_CASE(rk_max_msg_size_refused_without_ring),
	KUNIT_CASE(rk_oversize_send_returns_emsgsize),
	KUNIT_CASE(rk_send_without_ring_is_refused),
	KUNIT_CASE(rk_keep_holds_messages_until_kick),
	KUNIT_CASE(rk_consume_stop_pauses_draining),
	KUNIT_CASE(rk_many_messages_through_small_ring),
	{}
};

static struct kunit_suite rk_flow_suite = {
	.name = "argo_flow_control",
	.init = rk_suite_init,
	.test_cases = rk_flow_cases,
};

/* ---------------------------------------------------------------------- */
/* Concurrency */

#define RK_THREADS		4
#define RK_PER_THREAD		5000U
#define RK_CONC_HDR		12	/* le32 thread, le32 seq, le32 len */
#define RK_CONC_MAX		(RK_CONC_HDR + 290)

struct rk_conc;

struct rk_conc_tx {
	struct rk_conc *c;
	struct argo_endpoint *ep;
	struct rk_sender *snd;
	unsigned int idx;
	unsigned int eagain;
	u32 sent;
	u8 buf[RK_CONC_MAX];
};

struct rk_conc {
	struct rk_check chk;
	u32 rx_port;
	bool shared;		/* all threads send through one endpoint */
	u32 next[RK_THREADS];
	atomic_t received;
	struct completion all;
	struct rk_conc_tx tx[RK_THREADS];
	u8 want[RK_CONC_MAX], got[RK_CONC_MAX];
	atomic_t churns;
};

static u32 rk_conc_fill(u8 *buf, unsigned int idx, u32 seq, u32 len)
{
	put_unaligned_le32(idx, buf);
	put_unaligned_le32(seq, buf + 4);
	put_unaligned_le32(len, buf + 8);
	rk_pattern(buf + RK_CONC_HDR, len - RK_CONC_HDR, (u64)idx << 32 | seq);
	return len;
}

static enum argo_rx_action rk_conc_rx(struct argo_endpoint *ep,
				      const struct argo_msg *msg, void *priv)
{
	struct rk_conc *c = priv;
	u32 idx, seq, len;

	if (msg->len < RK_CONC_HDR || msg->len > RK_CONC_MAX) {
		rk_fail(&c->chk, "message of %u bytes", msg->len);
		goto out;
	}
	argo_msg_copy(msg, 0, c->got, msg->len);
	idx = get_unaligned_le32(c->got);
	seq = get_unaligned_le32(c->got + 4);
	len = get_unaligned_le32(c->got + 8);
	if (idx >= RK_THREADS || len != msg->len || msg->type != seq ||
	    msg->src_domain != RK_DOM_TX) {
		rk_fail(&c->chk, "bad header: thread %u seq %u len %u type %u from %u, %u bytes",
			idx, seq, len, msg->type, msg->src_domain, msg->len);
		goto out;
	}
	if (msg->src_port != (c->shared ? c->tx[0].ep : c->tx[idx].ep)->port)
		rk_fail(&c->chk, "thread %u's message from port %#x", idx,
			msg->src_port);
	if (seq != c->next[idx])
		rk_fail(&c->chk, "thread %u: got seq %u, want %u", idx, seq,
			c->next[idx]);
	c->next[idx] = seq + 1;
	rk_conc_fill(c->want, idx, seq, len);
	if (memcmp(c->got, c->want, len))
		rk_fail(&c->chk, "thread %u seq %u: payload corrupt", idx, seq);
out:
	if (atomic_inc_return(&c->received) == RK_THREADS * RK_PER_THREAD)
		complete(&c->all);
	return ARGO_RX_CONSUME;
}

static const struct argo_endpoint_ops rk_conc_rx_ops = {
	.rx = rk_conc_rx,
};

static int rk_conc_thread(void *arg)
{
	struct rk_conc_tx *t = arg;
	struct rk_conc *c = t->c;
	struct rnd_state rs;
	u32 seq, len;
	int ret;

	prandom_seed_state(&rs, 100 + t->idx);
	for (seq = 0; seq < RK_PER_THREAD; seq++) {
		len = RK_CONC_HDR + prandom_u32_state(&rs) %
				    (RK_CONC_MAX - RK_CONC_HDR + 1);
		rk_conc_fill(t->buf, t->idx, seq, len);
		ret = rk_send_wait(t->ep, t->snd, RK_DOM_RX, c->rx_port, seq,
				   t->buf, len, &t->eagain);
		if (ret != len) {
			if (ret != -EINTR)
				rk_fail(&c->chk, "thread %u seq %u: send returned %d",
					t->idx, seq, ret);
			break;
		}
		t->sent++;
		if (atomic_read(&c->chk.errors))
			break;
	}
	return rk_thread_park();
}

/* Opens and closes endpoints in the receiver's domain until stopped. */
static int rk_churn_thread(void *arg)
{
	struct rk_conc *c = arg;
	const struct argo_endpoint_cfg cfg = {
		.domain = RK_DOM_RX,
		.port = c->rx_port + 0x80,
		.partner = RK_DOM_TX,
		.ring_size = 256,
		.ops = &rk_poll_ops,
	};
	struct argo_endpoint *ep;

	while (!kthread_should_stop()) {
		ep = argo_endpoint_open(&cfg);
		if (IS_ERR(ep)) {
			rk_fail(&c->chk, "churn open: %ld", PTR_ERR(ep));
			break;
		}
		argo_endpoint_close(ep);
		atomic_inc(&c->churns);
		cond_resched();
	}
	return rk_thread_park();
}

static void rk_conc_run(struct kunit *test, u32 port, bool shared,
			bool churn)
{
	struct argo_endpoint_stats st;
	struct argo_endpoint *rx;
	unsigned int i, eagain = 0;
	struct rk_sender *snd;
	struct rk_conc *c;
	ktime_t start;
	u32 sent = 0;

	c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	snd = kunit_kcalloc(test, RK_THREADS, sizeof(*snd), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, c);
	KUNIT_ASSERT_NOT_NULL(test, snd);
	c->rx_port = port;
	c->shared = shared;
	init_completion(&c->all);
	rx = rk_open(test, RK_DOM_RX, port, RK_DOM_TX, 1024, &rk_conc_rx_ops,
		     c);
	for (i = 0; i < RK_THREADS; i++) {
		struct rk_conc_tx *t = &c->tx[i];

		t->c = c;
		t->idx = i;
		if (shared && i) {
			t->ep = c->tx[0].ep;
			t->snd = c->tx[0].snd;
			continue;
		}
		t->snd = &snd[i];
		rk_sender_init(t->snd);
		t->ep = rk_open(test, RK_DOM_TX, port + 1 + i, RK_DOM_RX,
				ARGO_RING_SIZE_MIN, &rk_sender_ops, t->snd);
	}

	start = ktime_get();
	/* Threads are stopped (at the end) before the endpoints are closed. */
	if (churn)
		rk_thread_run(test, rk_churn_thread, c, "argo-kunit-churn", 0);
	for (i = 0; i < RK_THREADS; i++)
		rk_thread_run(test, rk_conc_thread, &c->tx[i], "argo-kunit-tx",
			      i);
	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&c->all, 60 * HZ),
			0UL);
	rk_expect_clean(test, &c->chk);
	for (i = 0; i < RK_THREADS; i++) {
		KUNIT_EXPECT_EQ_MSG(test, c->tx[i].sent, RK_PER_THREAD,
				    "thread %u", i);
		KUNIT_EXPECT_EQ_MSG(test, c->next[i], RK_PER_THREAD,
				    "thread %u", i);
		sent += c->tx[i].sent;
		eagain += c->tx[i].eagain;
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&c->received), (int)sent);
	msleep(20);
	argo_endpoint_get_stats(rx, &st);
	KUNIT_EXPECT_EQ(test, st.rx_msgs, (u64)sent);
	KUNIT_EXPECT_EQ(test, st.ring_errors, 0ULL);
	kunit_info(test, "%u messages in %lld ms, %u -EAGAIN, %d open/close cycles\n",
		   sent, ktime_ms_delta(ktime_get(), start), eagain,
		   atomic_read(&c->churns));
	if (churn)
		KUNIT_EXPECT_GT(test, atomic_read(&c->churns), 0);
}

static void rk_threads_into_one_ring_stay_ordered(struct kunit *test)
{
	rk_conc_run(test, RK_PORT(0x400), false, false);
}

static void rk_threads_sharing_an_endpoint_stay_ordered(struct kunit *test)
{
	rk_conc_run(test, RK_PORT(0x420), true, false);
}

static void rk_endpoints_open_and_close_under_traffic(struct kunit *test)
{
	rk_conc_run(test, RK_PORT(0x440), false, true);
}

static struct kunit_case rk_conc_cases[] = {
	KUNIT_CASE(rk_threads_into_one_ring_stay_ordered),
	KUNIT_CASE(rk_threads_sharing_an_endpoint_stay_ordered),
	KUNIT_CASE(rk_endpoints_open_and_close_under_traffic),
	{}
};

static struct kunit_suite rk_conc_suite = {
	.name = "argo_concurrency",
	.init = rk_suite_init,
	.test_cases = rk_conc_cases,
};

/* ---------------------------------------------------------------------- */
/* A corrupt ring header */

struct rk_corrupt {
	struct rk_pair p;
	struct rk_expect *e;
	u8 *buf;
};

static void rk_corrupt_setup(struct kunit *test, struct rk_corrupt *k,
			     u32 port)
{
	k->e = kunit_kzalloc(test, sizeof(*k->e), GFP_KERNEL);
	k->buf = kunit_kmalloc(test, 256, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, k->e);
	KUNIT_ASSERT_NOT_NULL(test, k->buf);
	k->e->got = kunit_kmalloc(test, 256 + 16, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, k->e->got);
	rk_pair_open(test, &k->p, port, 256);
	rk_pattern(k->buf, 256, port);
}

/* Queue a @len-byte message of type @type without receiving it. */
static void rk_corrupt_send(struct kunit *test, struct rk_corrupt *k, u32 len,
			    u32 type)
{
	KUNIT_ASSERT_EQ(test, rk_send1(k->p.tx, RK_DOM_RX, k->p.rx_port, type,
				       k->buf, len), (int)len);
}

/* Receive the next message, expecting it intact. */
static void rk_corrupt_expect(struct kunit *test, struct rk_corrupt *k,
			      u32 len, u32 type)
{
	struct rk_expect *e = k->e;

	e->want = k->buf;
	e->len = len;
	e->type = type;
	e->src_domain = RK_DOM_TX;
	e->src_port = k->p.tx_port;
	KUNIT_EXPECT_EQ(test, argo_recv(k->p.rx, rk_expect_rx, e, 1), 1);
	rk_expect_clean(test, &e->chk);
}

static u64 rk_ring_errors(struct argo_endpoint *ep)
{
	struct argo_endpoint_stats st;

	argo_endpoint_get_stats(ep, &st);
	return st.ring_errors;
}

/* A bogus tx_ptr is refused without touching the ring, until repaired. */
static void rk_bad_tx_ptr(struct kunit *test, u32 port, bool unaligned)
{
	struct rk_corrupt k;
	u32 tx, bad[4];
	unsigned int i;

	rk_corrupt_setup(test, &k, port);
	rk_corrupt_send(test, &k, 20, 1);
	tx = READ_ONCE(k.p.rx->ring->tx_ptr);
	if (unaligned) {
		bad[0] = tx + 8;
		bad[1] = tx - 1;
		bad[2] = 1;
		bad[3] = k.p.len - 4;
	} else {
		bad[0] = k.p.len;
		bad[1] = k.p.len + 16;
		bad[2] = 0x80000000U;
		bad[3] = 0xfffffff0U;
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		WRITE_ONCE(k.p.rx->ring->tx_ptr, bad[i]);
		KUNIT_EXPECT_FALSE(test, argo_endpoint_readable(k.p.rx));
		KUNIT_EXPECT_EQ_MSG(test, argo_recv(k.p.rx, rk_expect_rx, k.e,
						    0), -EIO,
				    "tx_ptr %#x", bad[i]);
		KUNIT_EXPECT_EQ(test, k.e->seen, 0U);
		KUNIT_EXPECT_EQ(test, rk_ring_errors(k.p.rx), (u64)i + 1);
	}
	/* Repaired: the message is still there and intact. */
	WRITE_ONCE(k.p.rx->ring->tx_ptr, tx);
	KUNIT_EXPECT_TRUE(test, argo_endpoint_readable(k.p.rx));
	rk_corrupt_expect(test, &k, 20, 1);
	rk_corrupt_send(test, &k, 33, 2);
	rk_corrupt_expect(test, &k, 33, 2);
	KUNIT_EXPECT_EQ(test, rk_ring_errors(k.p.rx), (u64)ARRAY_SIZE(bad));
}

static void rk_tx_ptr_beyond_ring_is_refused(struct kunit *test)
{
	rk_bad_tx_ptr(test, RK_PORT(0x500), false);
}

static void rk_tx_ptr_off_slot_is_refused(struct kunit *test)
{
	rk_bad_tx_ptr(test, RK_PORT(0x510), true);
}

/*
 * A message header whose length is @bad: everything up to tx_ptr is dropped
 * and counted, nothing is delivered, and the ring works afterwards.
 */
static void rk_bad_msg_len(struct kunit *test, u32 port, const u32 *bad,
			   unsigned int nbad)
{
	struct argo_hv_msg_hdr *hdr;
	struct rk_corrupt k;
	unsigned int i;
	u32 tx;

	rk_corrupt_setup(test, &k, port);
	for (i = 0; i < nbad; i++) {
		/* Two messages: 20 bytes (48 of slots), then 40. */
		rk_corrupt_send(test, &k, 20, 1);
		rk_corrupt_send(test, &k, 40, 2);
		hdr = (void *)(k.p.rx->ring->ring + k.p.rx->rx_ptr);
		WRITE_ONCE(hdr->len, bad[i]);
		k.e->seen = 0;
		KUNIT_EXPECT_EQ_MSG(test, argo_recv(k.p.rx, rk_expect_rx, k.e,
						    1), -EIO,
				    "header length %#x", bad[i]);
		KUNIT_EXPECT_EQ_MSG(test, k.e->seen, 0U, "header length %#x",
				    bad[i]);
		KUNIT_EXPECT_EQ(test, rk_ring_errors(k.p.rx), (u64)i + 1);
		KUNIT_EXPECT_FALSE(test, argo_endpoint_readable(k.p.rx));
		tx = READ_ONCE(k.p.rx->ring->tx_ptr);
		KUNIT_EXPECT_EQ(test, k.p.rx->rx_ptr, tx);
		/* The hypervisor got the space back; the ring works. */
		rk_corrupt_send(test, &k, 100, 3);
		rk_corrupt_expect(test, &k, 100, 3);
		/* One failing length says it all: keep the log short. */
		if (test->status != KUNIT_SUCCESS)
			break;
	}
}

static void rk_short_msg_len_drops_contents(struct kunit *test)
{
	const u32 bad[] = { 0, 1, 15 };

	rk_bad_msg_len(test, RK_PORT(0x520), bad, ARRAY_SIZE(bad));
}

static void rk_msg_len_beyond_data_drops_contents(struct kunit *test)
{
	/* 48 + 64 bytes of slots are there up to tx_ptr. */
	const u32 bad[] = { 16 + 97, 16 + 200, 256, 257, 0x10000, 0x7fffffff,
			    0xffffffe0 };

	rk_bad_msg_len(test, RK_PORT(0x530), bad, ARRAY_SIZE(bad));
}

static void rk_msg_len_near_u32_max_drops_contents(struct kunit *test)
{
	/* Rounded up to slots, these overflow 32 bits. */
	const u32 bad[] = { 0xfffffff1, 0xfffffff8, 0xffffffff };

	rk_bad_msg_len(test, RK_PORT(0x540), bad, ARRAY_SIZE(bad));
}

static void rk_corrupt_second_msg_keeps_first(struct kunit *test)
{
	struct argo_hv_msg_hdr *hdr;
	struct rk_corrupt k;
	u32 second;

	rk_corrupt_setup(test, &k, RK_PORT(0x550));
	rk_corrupt_send(test, &k, 20, 1);
	second = READ_ONCE(k.p.rx->ring->tx_ptr);
	rk_corrupt_send(test, &k, 40, 2);
	hdr = (void *)(k.p.rx->ring->ring + second);
	WRITE_ONCE(hdr->len, 16 + 1000);

	k.e->want = k.buf;
	k.e->len = 20;
	k.e->type = 1;
	k.e->src_domain = RK_DOM_TX;
	k.e->src_port = k.p.tx_port;
	KUNIT_EXPECT_EQ(test, argo_recv(k.p.rx, rk_expect_rx, k.e, 0), -EIO);
	KUNIT_EXPECT_EQ(test, k.e->seen, 1U);
	rk_expect_clean(test, &k.e->chk);
	KUNIT_EXPECT_EQ(test, rk_ring_errors(k.p.rx), 1ULL);
	KUNIT_EXPECT_FALSE(test, argo_endpoint_readable(k.p.rx));
	rk_corrupt_send(test, &k, 7, 3);
	rk_corrupt_expect(test, &k, 7, 3);
}

static void rk_corruption_found_by_work_is_counted(struct kunit *test)
{
	struct argo_hv_msg_hdr *hdr;
	struct argo_endpoint *rx, *tx;
	struct rk_holder *h;
	u8 buf[24] = {};
	int i;

	h = kunit_kzalloc(test, sizeof(*h), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, h);
	rk_holder_init(h, ARGO_RX_KEEP);
	rx = rk_open(test, RK_DOM_RX, RK_PORT(0x561), RK_DOM_TX, 256,
		     &rk_holder_ops, h);
	tx = rk_open(test, RK_DOM_TX, RK_PORT(0x560), RK_DOM_RX,
		     ARGO_RING_SIZE_MIN, &rk_poll_ops, NULL);

	KUNIT_ASSERT_EQ(test, rk_send1(tx, RK_DOM_RX, RK_PORT(0x561), 0, buf,
				       sizeof(buf)), (int)sizeof(buf));
	KUNIT_ASSERT_GT(test, wait_for_completion_timeout(&h->called, 2 * HZ),
			0UL);
	msleep(20);
	/* The work saw the message and kept it; now break its header. */
	hdr = (void *)(rx->ring->ring + rx->rx_ptr);
	WRITE_ONCE(hdr->len, 15);
	atomic_set(&h->calls, 0);
	atomic_set(&h->action, ARGO_RX_CONSUME);
	argo_endpoint_kick(rx);
	for (i = 0; i < 50 && !rk_ring_errors(rx); i++)
		msleep(20);
	KUNIT_EXPECT_EQ(test, rk_ring_errors(rx), 1ULL);
	KUNIT_EXPECT_EQ(test, atomic_read(&h->calls), 0);
	KUNIT_EXPECT_FALSE(test, argo_endpoint_readable(rx));

	/* Later messages are delivered by the work as usual. */
	h->next_type = 1;
	KUNIT_ASSERT_EQ(test, rk_send1(tx, RK_DOM_RX, RK_PORT(0x561), 1, buf,
				       sizeof(buf)), (int)sizeof(buf));
	KUNIT_EXPECT_TRUE(test, rk_holder_wait(h, 1));
	rk_expect_clean(test, &h->chk);
}

static void rk_scribbled_rx_ptr_is_not_trusted(struct kunit *test)
{
	const u32 bad[] = { 0, 7, 0x1000, 0xffffffff };
	struct rk_corrupt k;
	unsigned int i;
	u32 tx;

	rk_corrupt_setup(test, &k, RK_PORT(0x570));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		rk_corrupt_send(test, &k, 20, 1);
		rk_corrupt_send(test, &k, 40, 2);
		tx = READ_ONCE(k.p.rx->ring->tx_ptr);
		/* Pretend the ring is empty, or point rx_ptr anywhere. */
		WRITE_ONCE(k.p.rx->ring->rx_ptr, bad[i] ?: tx);
		KUNIT_EXPECT_TRUE_MSG(test, argo_endpoint_readable(k.p.rx),
				      "rx_ptr %#x", bad[i] ?: tx);
		rk_corrupt_expect(test, &k, 20, 1);
		rk_corrupt_expect(test, &k, 40, 2);
		KUNIT_EXPECT_EQ(test, READ_ONCE(k.p.rx->ring->rx_ptr), tx);
	}
	KUNIT_EXPECT_EQ(test, rk_ring_errors(k.p.rx), 0ULL);
}

static struct kunit_case rk_corrupt_cases[] = {
	KUNIT_CASE(rk_tx_ptr_beyond_ring_is_refused),
	KUNIT_CASE(rk_tx_ptr_off_slot_is_refused),
	KUNIT_CASE(rk_short_msg_len_drops_contents),
	KUNIT_CASE(rk_msg_len_beyond_data_drops_contents),
	KUNIT_CASE(rk_msg_len_near_u32_max_drops_contents),
	KUNIT_CASE(rk_corrupt_second_msg_keeps_first),
	KUNIT_CASE(rk_corruption_found_by_work_is_counted),
	KUNIT_CASE(rk_scribbled_rx_ptr_is_not_trusted),
	{}
};

static struct kunit_suite rk_corrupt_suite = {
	.name = "argo_ring_corruption",
	.init = rk_suite_init,
	.test_cases = rk_corrupt_cases,
};

/* ---------------------------------------------------------------------- */
/* Re-registration after resume */

/* Drop a ring behind the core's back, as a save/restore does. */
static long rk_hv_drop_ring(struct argo_endpoint *ep)
{
	struct argo_hv_unregister_ring unreg = {
		.aport = argo_endpoint_port(ep),
		.partner_id = ep->partner,
	};

	return argo_lb_op(argo_endpoint_domain(ep), ARGO_HV_OP_UNREGISTER_RING,
			  &unreg, NULL, 0, 0);
}

static void rk_messages_flow_after_resume(struct kunit *test)
{
	const u16 dom = RK_DOM_NEW(0);
	struct argo_endpoint *rx, *tx;
	struct rk_holder *h;
	u8 buf[16] = {};
	u32 max = 0;
	int i;

	rk_domain_create(test, dom, true);
	h = kunit_kzalloc(test, sizeof(*h), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, h);
	rk_holder_init(h, ARGO_RX_CONSUME);
	rx = rk_open(test, dom, RK_PORT(0x601), RK_DOM_TX, 512, &rk_holder_ops,
		     h);
	tx = rk_open(test, RK_DOM_TX, RK_PORT(0x600), dom, ARGO_RING_SIZE_MIN,
		     &rk_poll_ops, NULL);

	for (i = 0; i < 6; i++) {
		if (i == 3)
			KUNIT_ASSERT_EQ(test, argo_lb_simulate_resume(dom), 0);
		KUNIT_ASSERT_EQ(test, rk_send1(tx, dom, RK_PORT(0x601), i, buf,
					       sizeof(buf)), (int)sizeof(buf));
		KUNIT_EXPECT_TRUE(test, rk_holder_wait(h, i + 1));
	}
	KUNIT_EXPECT_EQ(test, argo_max_msg_size(tx, dom, RK_PORT(0x601), &max),
			0);
	KUNIT_EXPECT_EQ(test, max, 512U - 32);
	rk_expect_clean(test, &h->chk);
	KUNIT_EXPECT_EQ(test, rk_ring_errors(rx), 0ULL);
}

static void rk_unread_messages_survive_resume(struct kunit *test)
{
	const u16 dom = RK_DOM_NEW(1);
	struct rk_expect *e;
	struct argo_endpoint *rx, *tx;
	u8 *buf;
	int i;

	rk_domain_create(test, dom, true);
	e = kunit_kzalloc(test, sizeof(*e), GFP_KERNEL);
	buf = kunit_kmalloc(test, 512, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, e);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	e->got = kunit_kmalloc(test, 512 + 16, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, e->got);
	rk_pattern(buf, 512, 0x600);
	rx = rk_open(test, dom, RK_PORT(0x611), RK_DOM_TX, 512, &rk_poll_ops,
		     NULL);
	tx = rk_open(test, RK_DOM_TX, RK_PORT(0x610), dom, ARGO_RING_SIZE_MIN,
		     &rk_poll_ops, NULL);

	/* Three messages, then one consumed. */
	for (i = 0; i < 3; i++)
		KUNIT_ASSERT_EQ(test, rk_send1(tx, dom, RK_PORT(0x611), i, buf,
					       120), 120);
	e->want = buf;
	e->len = 120;
	e->src_domain = RK_DOM_TX;
	e->src_port = RK_PORT(0x610);
	KUNIT_ASSERT_EQ(test, argo_recv(rx, rk_expect_rx, e, 1), 1);

	KUNIT_ASSERT_EQ(test, argo_lb_simulate_resume(dom), 0);
	for (i = 1; i < 3; i++) {
		e->type = i;
		KUNIT_EXPECT_EQ(test, argo_recv(rx, rk_expect_rx, e, 1), 1);
	}
	KUNIT_EXPECT_FALSE(test, argo_endpoint_readable(rx));
	/* And the hypervisor writes on where it left off, wrapping. */
	for (i = 3; i < 9; i++) {
		KUNIT_ASSERT_EQ(test, rk_send1(tx, dom, RK_PORT(0x611), i, buf,
					       120), 120);
		e->type = i;
		KUNIT_EXPECT_EQ(test, argo_recv(rx, rk_expect_rx, e, 1), 1);
	}
	rk_expect_clean(test, &e->chk);
	KUNIT_EXPECT_GT(test, e->wrapped, 0U);
}

static void rk_sends_while_dropped_are_refused(struct kunit *test)
{
	const u16 dom = RK_DOM_NEW(2);
	struct argo_endpoint *rx, *tx;
	struct rk_holder *h;
	u8 buf[16] = {};
	u32 max;

	rk_domain_create(test, dom, true);
	h = kunit_kzalloc(test, sizeof(*h), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, h);
	rk_holder_init(h, ARGO_RX_CONSUME);
	rx = rk_open(test, dom, RK_PORT(0x621), RK_DOM_TX, 512, &rk_holder_ops,
		     h);
	tx = rk_open(test, RK_DOM_TX, RK_PORT(0x620), dom, ARGO_RING_SIZE_MIN,
		     &rk_poll_ops, NULL);

	KUNIT_ASSERT_EQ(test, rk_hv_drop_ring(rx), 0L);
	KUNIT_EXPECT_EQ(test, rk_send1(tx, dom, RK_PORT(0x621), 0, buf,
				       sizeof(buf)), -ECONNREFUSED);
	KUNIT_EXPECT_EQ(test, argo_max_msg_size(tx, dom, RK_PORT(0x621), &max),
			-ECONNREFUSED);

	KUNIT_ASSERT_EQ(test, argo_lb_simulate_resume(dom), 0);
	KUNIT_EXPECT_EQ(test, rk_send1(tx, dom, RK_PORT(0x621), 0, buf,
				       sizeof(buf)), (int)sizeof(buf));
	KUNIT_EXPECT_TRUE(test, rk_holder_wait(h, 1));
	msleep(20);
	KUNIT_EXPECT_EQ(test, atomic_read(&h->consumed), 1);
	rk_expect_clean(test, &h->chk);
}

static void rk_space_wait_survives_resume(struct kunit *test)
{
	const u16 dom = RK_DOM_NEW(3);
	struct argo_endpoint *rx, *tx;
	struct rk_sender *s;
	u8 buf[64] = {};
	u32 used = 0;

	/* The sender's domain resumes while it waits for space. */
	rk_domain_create(test, dom, true);
	s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s);
	rk_sender_init(s);
	rx = rk_open(test, RK_DOM_RX, RK_PORT(0x631), dom, 512, &rk_poll_ops,
		     NULL);
	tx = rk_open(test, dom, RK_PORT(0x630), RK_DOM_RX, ARGO_RING_SIZE_MIN,
		     &rk_sender_ops, s);

	rk_fill(test, tx, rx, sizeof(buf), &used);
	KUNIT_ASSERT_EQ(test, argo_lb_simulate_resume(dom), 0);
	msleep(50);
	KUNIT_EXPECT_FALSE(test, completion_done(&s->tx_ready));
	KUNIT_ASSERT_EQ(test, argo_recv(rx, rk_consume_rx, NULL, 1), 1);
	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&s->tx_ready,
							  2 * HZ), 0UL);
	KUNIT_EXPECT_EQ(test, rk_send1(tx, RK_DOM_RX, RK_PORT(0x631), 0, buf,
				       sizeof(buf)), (int)sizeof(buf));
}

/* A sender racing resumes of the receiver's domain. */
struct rk_race {
	struct rk_check chk;
	struct argo_endpoint *tx;
	u16 dom;
	u32 port;
	u32 n;
	unsigned long *refused;	/* bitmap of refused sequence numbers */
	u32 nrefused;
	u32 next;		/* receiver: smallest acceptable seq */
	unsigned long *seen;
	atomic_t sender_done;
};

static enum argo_rx_action rk_race_rx(struct argo_endpoint *ep,
				      const struct argo_msg *msg, void *priv)
{
	struct rk_race *r = priv;
	u32 seq = msg->type;

	if (seq >= r->n || seq < r->next || test_bit(seq, r->seen))
		rk_fail(&r->chk, "message %u after %u", seq, r->next);
	else
		__set_bit(seq, r->seen);
	r->next = seq + 1;
	return ARGO_RX_CONSUME;
}

static const struct argo_endpoint_ops rk_race_ops = {
	.rx = rk_race_rx,
};

static int rk_race_thread(void *arg)
{
	struct rk_race *r = arg;
	u8 buf[32] = {};
	u32 seq;
	int ret;

	for (seq = 0; seq < r->n && !kthread_should_stop(); seq++) {
		/* The 256-byte ring never fills: it drains faster than this. */
		ret = rk_send1(r->tx, r->dom, r->port, seq, buf, sizeof(buf));
		if (ret == -ECONNREFUSED) {
			__set_bit(seq, r->refused);
			r->nrefused++;
		} else if (ret == -EAGAIN) {
			usleep_range(1000, 2000);
			seq--;
		} else if (ret != sizeof(buf)) {
			rk_fail(&r->chk, "send %u: %d", seq, ret);
			break;
		}
		if (seq % 64 == 0)
			usleep_range(20, 50);
	}
	atomic_set_release(&r->sender_done, 1);
	return rk_thread_park();
}

static void rk_sends_racing_resume_are_delivered_or_refused(struct kunit *test)
{
	const u16 dom = RK_DOM_NEW(4);
	struct argo_endpoint *rx;
	struct rk_race *r;
	unsigned int resumes = 0;
	u32 seq, missing = 0;
	int i;

	rk_domain_create(test, dom, true);
	r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, r);
	r->n = 3000;
	r->dom = dom;
	r->port = RK_PORT(0x641);
	r->refused = kunit_kcalloc(test, BITS_TO_LONGS(r->n), sizeof(long),
				   GFP_KERNEL);
	r->seen = kunit_kcalloc(test, BITS_TO_LONGS(r->n), sizeof(long),
				GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, r->refused);
	KUNIT_ASSERT_NOT_NULL(test, r->seen);
	rx = rk_open(test, dom, r->port, RK_DOM_TX, 256, &rk_race_ops, r);
	r->tx = rk_open(test, RK_DOM_TX, RK_PORT(0x640), dom,
			ARGO_RING_SIZE_MIN, &rk_poll_ops, NULL);

	rk_thread_run(test, rk_race_thread, r, "argo-kunit-race", 0);
	while (!atomic_read_acquire(&r->sender_done) && resumes < 2000) {
		KUNIT_ASSERT_EQ(test, argo_lb_simulate_resume(dom), 0);
		resumes++;
		usleep_range(100, 300);
	}
	for (i = 0; i < 250 && !atomic_read_acquire(&r->sender_done); i++)
		msleep(20);
	KUNIT_ASSERT_TRUE(test, atomic_read_acquire(&r->sender_done));
	msleep(50);
	argo_endpoint_kick(rx);
	msleep(50);

	/* Each message arrived once, in order, or its send was refused. */
	rk_expect_clean(test, &r->chk);
	for (seq = 0; seq < r->n; seq++) {
		bool seen = test_bit(seq, r->seen);
		bool refused = test_bit(seq, r->refused);

		if (seen == refused)
			missing++;
	}
	KUNIT_EXPECT_EQ(test, missing, 0U);
	kunit_info(test, "%u resumes, %u of %u sends refused\n", resumes,
		   r->nrefused, r->n);
}

static struct kunit_case rk_resume_cases[] = {
	KUNIT_CASE(rk_messages_flow_after_resume),
	KUNIT_CASE(rk_unread_messages_survive_resume),
	KUNIT_CASE(rk_sends_while_dropped_are_refused),
	KUNIT_CASE(rk_space_wait_survives_resume),
	KUNIT_CASE(rk_sends_racing_resume_are_delivered_or_refused),
	{}
};

static struct kunit_suite rk_resume_suite = {
	.name = "argo_resume",
	.init = rk_suite_init,
	.test_cases = rk_resume_cases,
};

/* ---------------------------------------------------------------------- */
/* Endpoint API argument checks */

static void rk_bad_ring_sizes_are_einval(struct kunit *test)
{
	const u32 sizes[] = { 0, 16, 32, 47, 50, 63, 4100,
			      ARGO_RING_SIZE_MAX + 16, ARGO_HV_MAX_RING_SIZE,
			      U32_MAX };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++)
		KUNIT_EXPECT_EQ_MSG(test,
				    PTR_ERR(rk_open_err(test, RK_DOM_RX,
							RK_PORT(0x700),
							RK_DOM_TX, sizes[i],
							&rk_poll_ops, NULL)),
				    -EINVAL, "ring size %u", sizes[i]);
	/* The smallest one is fine. */
	rk_open(test, RK_DOM_RX, RK_PORT(0x700), RK_DOM_TX, ARGO_RING_SIZE_MIN,
		&rk_poll_ops, NULL);
}

static void rk_missing_callbacks_are_einval(struct kunit *test)
{
	static const struct argo_endpoint_ops tx_only = {
		.tx_ready = rk_nop_ready,
	};

	KUNIT_EXPECT_EQ(test, PTR_ERR(rk_open_err(test, RK_DOM_RX,
						  RK_PORT(0x710), RK_DOM_TX,
						  256, NULL, NULL)), -EINVAL);
	KUNIT_EXPECT_EQ(test, PTR_ERR(rk_open_err(test, RK_DOM_RX,
						  RK_PORT(0x710), RK_DOM_TX,
						  256, &tx_only, NULL)),
			-EINVAL);
}

static void rk_same_port_and_partner_twice_is_eexist(struct kunit *test)
{
	struct argo_endpoint *ep;

	ep = rk_open(test, RK_DOM_RX, RK_PORT(0x720), RK_DOM_TX, 256,
		     &rk_poll_ops, NULL);
	KUNIT_EXPECT_EQ(test, PTR_ERR(rk_open_err(test, RK_DOM_RX,
						  RK_PORT(0x720), RK_DOM_TX,
						  256, &rk_poll_ops, NULL)),
			-EEXIST);
	/* Another size makes no difference. */
	KUNIT_EXPECT_EQ(test, PTR_ERR(rk_open_err(test, RK_DOM_RX,
						  RK_PORT(0x720), RK_DOM_TX,
						  512, &rk_poll_ops, NULL)),
			-EEXIST);
	/* Another partner, or another domain, is another ring. */
	rk_open(test, RK_DOM_RX, RK_PORT(0x720), RK_DOM_OTHER, 256,
		&rk_poll_ops, NULL);
	rk_open(test, RK_DOM_OTHER, RK_PORT(0x720), RK_DOM_TX, 256,
		&rk_poll_ops, NULL);
	/* Free again once closed. */
	rk_close(test, ep);
	rk_open(test, RK_DOM_RX, RK_PORT(0x720), RK_DOM_TX, 256, &rk_poll_ops,
		NULL);
}

static void rk_unknown_domain_is_esrch(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, PTR_ERR(rk_open_err(test, RK_DOM_NONE,
						  RK_PORT(0x730), RK_DOM_TX,
						  256, &rk_poll_ops, NULL)),
			-ESRCH);
	/* A partner that does not exist. */
	KUNIT_EXPECT_EQ(test, PTR_ERR(rk_open_err(test, RK_DOM_RX,
						  RK_PORT(0x730), RK_DOM_NONE,
						  256, &rk_poll_ops, NULL)),
			-ESRCH);
}

static void rk_domains_without_argo_are_refused(struct kunit *test)
{
	const u16 dom = RK_DOM_NEW(5);

	rk_domain_create(test, dom, false);
	/* A partner without Argo. */
	KUNIT_EXPECT_EQ(test, PTR_ERR(rk_open_err(test, RK_DOM_RX,
						  RK_PORT(0x740), dom, 256,
						  &rk_poll_ops, NULL)),
			-ECONNREFUSED);
	/* Acting as a domain without Argo. */
	KUNIT_EXPECT_EQ(test, PTR_ERR(rk_open_err(test, dom, RK_PORT(0x740),
						  RK_DOM_TX, 256, &rk_poll_ops,
						  NULL)),
			-EPERM);
}

static void rk_reserved_partner_ids_are_einval(struct kunit *test)
{
	const u16 ids[] = { ARGO_DOMID_SELF, 0x7ff1, 0x7ff2, 0x7ff3, 0x7ff5,
			    0x8000, 0xffff };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ids); i++)
		KUNIT_EXPECT_EQ_MSG(test,
				    PTR_ERR(rk_open_err(test, RK_DOM_RX,
							RK_PORT(0x750), ids[i],
							256, &rk_poll_ops,
							NULL)),
				    -EINVAL, "partner %#x", ids[i]);
}

static void rk_any_partner_needs_mac_permissive(struct kunit *test)
{
	struct argo_endpoint *rx, *tx;
	struct rk_expect *e;
	u8 buf[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	u8 got[8 + 16];

	rk_set_permissive(test, false);
	KUNIT_EXPECT_EQ(test, PTR_ERR(rk_open_err(test, RK_DOM_RX,
						  RK_PORT(0x760), ARGO_DOMID_ANY,
						  256, &rk_poll_ops, NULL)),
			-EPERM);
	argo_lb_set_mac_permissive(true);
	rx = rk_open(test, RK_DOM_RX, RK_PORT(0x760), ARGO_DOMID_ANY, 256,
		     &rk_poll_ops, NULL);

	/* Any domain may send to it; the source is stamped. */
	e = kunit_kzalloc(test, sizeof(*e), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, e);
	e->got = got;
	e->want = buf;
	e->len = sizeof(buf);
	e->src_port = RK_PORT(0x761);
	tx = rk_open(test, RK_DOM_OTHER, RK_PORT(0x761), RK_DOM_RX,
		     ARGO_RING_SIZE_MIN, &rk_poll_ops, NULL);
	KUNIT_EXPECT_EQ(test, rk_send1(tx, RK_DOM_RX, RK_PORT(0x760), 5, buf,
				       sizeof(buf)), (int)sizeof(buf));
	e->type = 5;
	e->src_domain = RK_DOM_OTHER;
	KUNIT_EXPECT_EQ(test, argo_recv(rx, rk_expect_rx, e, 1), 1);
	rk_expect_clean(test, &e->chk);
}

static void rk_too_many_segments_are_einval(struct kunit *test)
{
	struct scatterlist sgl[ARGO_MAX_SEGS + 1];
	struct kvec kv[ARGO_MAX_SEGS + 1];
	struct argo_endpoint *rx, *tx;
	unsigned int i;
	u8 *buf;

	/* Not on the stack: sg_set_buf() wants linear-map addresses. */
	buf = kunit_kzalloc(test, ARGO_MAX_SEGS + 1, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);

	rx = rk_open(test, RK_DOM_RX, RK_PORT(0x771), RK_DOM_TX, 256,
		     &rk_poll_ops, NULL);
	tx = rk_open(test, RK_DOM_TX, RK_PORT(0x770), RK_DOM_RX,
		     ARGO_RING_SIZE_MIN, &rk_poll_ops, NULL);
	sg_init_table(sgl, ARRAY_SIZE(sgl));
	for (i = 0; i < ARRAY_SIZE(kv); i++) {
		buf[i] = i;
		kv[i].iov_base = &buf[i];
		kv[i].iov_len = 1;
		sg_set_buf(&sgl[i], &buf[i], 1);
	}
	KUNIT_EXPECT_EQ(test, argo_send(tx, RK_DOM_RX, RK_PORT(0x771), 0, kv,
					ARGO_MAX_SEGS + 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, argo_send_sg(tx, RK_DOM_RX, RK_PORT(0x771), 0,
					   sgl, ARGO_MAX_SEGS + 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, argo_send(tx, RK_DOM_RX, RK_PORT(0x771), 0, kv,
					ARGO_MAX_SEGS), (int)ARGO_MAX_SEGS);
	KUNIT_EXPECT_EQ(test, argo_send_sg(tx, RK_DOM_RX, RK_PORT(0x771), 0,
					   sgl, ARGO_MAX_SEGS),
			(int)ARGO_MAX_SEGS);
	KUNIT_EXPECT_EQ(test, argo_recv(rx, rk_consume_rx, NULL, 0), 2);
}

static void rk_ring_limit_is_enospc(struct kunit *test)
{
	const u16 dom = RK_DOM_NEW(6);
	struct argo_endpoint *ep;
	unsigned int i;

	rk_domain_create(test, dom, true);
	for (i = 0; i < ARGO_HV_MAX_RINGS; i++)
		rk_open(test, dom, RK_PORT(0x780) + i, RK_DOM_TX,
			ARGO_RING_SIZE_MIN, &rk_poll_ops, NULL);
	ep = rk_open_err(test, dom, RK_PORT(0x780) + i, RK_DOM_TX,
			 ARGO_RING_SIZE_MIN, &rk_poll_ops, NULL);
	KUNIT_EXPECT_EQ(test, PTR_ERR(ep), -ENOSPC);
}

static void rk_endpoint_reports_domain_and_port(struct kunit *test)
{
	struct argo_endpoint *ep;

	ep = rk_open(test, RK_DOM_RX, RK_PORT(0x790), RK_DOM_TX, 256,
		     &rk_poll_ops, NULL);
	KUNIT_EXPECT_EQ(test, argo_endpoint_domain(ep), (u16)RK_DOM_RX);
	KUNIT_EXPECT_EQ(test, argo_endpoint_port(ep), RK_PORT(0x790));
	KUNIT_EXPECT_STREQ(test, argo_provider_name(), "loopback");
}

static struct kunit_case rk_args_cases[] = {
	KUNIT_CASE(rk_bad_ring_sizes_are_einval),
	KUNIT_CASE(rk_missing_callbacks_are_einval),
	KUNIT_CASE(rk_same_port_and_partner_twice_is_eexist),
	KUNIT_CASE(rk_unknown_domain_is_esrch),
	KUNIT_CASE(rk_domains_without_argo_are_refused),
	KUNIT_CASE(rk_reserved_partner_ids_are_einval),
	KUNIT_CASE(rk_any_partner_needs_mac_permissive),
	KUNIT_CASE(rk_too_many_segments_are_einval),
	KUNIT_CASE(rk_ring_limit_is_enospc),
	KUNIT_CASE(rk_endpoint_reports_domain_and_port),
	{}
};

static struct kunit_suite rk_args_suite = {
	.name = "argo_endpoint_args",
	.init = rk_suite_init,
	.test_cases = rk_args_cases,
};

kunit_test_suites(&rk_wrap_suite, &rk_random_suite, &rk_flow_suite,
		  &rk_conc_suite, &rk_corrupt_suite, &rk_resume_suite,
		  &rk_args_suite);
MODULE_DESCRIPTION("KUnit tests of the argo.ko core: rings and endpoints");
MODULE_LICENSE("GPL");
