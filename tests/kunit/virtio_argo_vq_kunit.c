// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suites for virtio_argo's virtqueue mirror (drivers/virtio_argo/vq.c),
 * run on argo.ko's loopback provider without a backend process and without
 * loading the transport: vq.c, msg.c and dma.c are built into this module,
 * and the two symbols vq.c takes from main.c (va_wq, va_backend_check())
 * are defined here.
 *
 *   virtio_argo_vq_req      available chains become DATA_REQ records: layout,
 *                           bytes, packing, splitting, indirect tables
 *   virtio_argo_vq_hostile  chains a buggy driver could write: each breaks
 *                           the device and sends nothing
 *   virtio_argo_vq_flow     -EAGAIN, tx_ready and the kick's budget
 *   virtio_argo_vq_comp     DATA_COMP messages: applied exactly, or dropped
 *                           whole when malformed; interrupt suppression
 *   virtio_argo_vq_session  va_vq_fail_all() and va_vq_reset()
 *   virtio_argo_vq_backlog  a console's output the backend's ring cannot
 *                           take: kept and used at once, or dropped and
 *                           counted; sent in order once there is room
 *
 * The fixture (vt_setup()) does for one device what main.c does:
 *  - a struct va_device built by hand, with VIRTIO_F_VERSION_1 (and, unless
 *    a test says otherwise, VIRTIO_RING_F_INDIRECT_DESC) negotiated, so the
 *    vrings are little-endian; a zeroed platform device that only names
 *    the device in its messages; a zeroed backend with its domain id;
 *  - the device's data ring: an endpoint of virtual domain 1 whose ops are
 *    vq.c's va_data_ops, partner domain 0, as va_dev_add() opens it;
 *  - the backend's data ring: an endpoint of virtual domain 0 at
 *    info.data_port that never drains by itself (rx_ready only).  The
 *    tests drain it with argo_recv() and record every DATA_REQ, and send
 *    their DATA_COMP messages from it, built as a backend would;
 *  - the largest message, from argo_max_msg_size() as va_data_max_msg()
 *    takes it, or smaller where a test says so;
 *  - real virtqueues: vring_new_virtqueue() on kzalloc'd memory that
 *    vring_init() lays out, with va_vq_notify as notify and a callback that
 *    counts interrupts, then va_vq_setup() as va_find_vqs() calls it.
 *
 * Real virtqueues rather than a dummy pointer: va_vq_setup() reads the ring
 * through virtqueue_get_vring(), every completion ends in vring_interrupt()
 * and a broken chain in virtio_break_device(), so a dummy would leave those
 * paths out or need NO_INTERRUPT everywhere, and interrupt suppression is
 * part of what is tested.  One test drives the mirror through the virtio
 * core's own driver API (virtqueue_add_sgs(), virtqueue_kick(),
 * virtqueue_get_buf()); every other one writes descriptors and available
 * entries into the ring itself, playing a driver (a buggy one where that is
 * the point), and never hands that queue to the core's driver API, whose
 * bookkeeping knows nothing of them.
 *
 * Completions are taken synchronously: after sending one, the test drains
 * the device's ring with argo_recv() through va_data_rx() itself; the core
 * serialises that with its own receive work (which calls the same
 * function), so every completion sent has been handled when it returns.
 *
 * Buffers and indirect tables are allocated at their exact size: with KASAN
 * on, a walk that read past one would be reported on the console, which
 * scripts/run-kunit.sh counts as a failure.
 */
#include "../../drivers/virtio_argo/vq.c"
#include "../../drivers/virtio_argo/msg.c"
#include "../../drivers/virtio_argo/dma.c"

#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/scatterlist.h>
#include <argo/loopback.h>

#define VT_DOM_BE	0		/* the backend's virtual domain */
#define VT_DOM_FE	1		/* the frontend's */
#define VT_BE_PORT	0x76710000U	/* the backend's data ring ('vq') */
#define VT_FE_PORT	0x76710001U	/* the device's data ring */
#define VT_HANDLE	0x2a17U
#define VT_SESSION	0x5e55104fU
#define VT_FE_RING	65536
#define VT_BE_RING	65536
#define VT_SMALL_RING	VIRTIO_ARGO_MIN_DATA_RING
#define VT_MAX_Q	6
#define VT_MAX_MSGS	64
#define VT_MAX_RECS	256
#define VT_TIMEOUT	(5 * HZ)
#define VT_SENTINEL	0xa5
#define VT_FL		(VIRTIO_ARGO_CHAIN_FIRST | VIRTIO_ARGO_CHAIN_LAST)

struct vt_cfg {
	u16 nq;
	u16 qsize[VT_MAX_Q];
	u32 device_id;
	u32 be_ring;		/* the backend's data ring, bytes */
	u32 max_msg;		/* 0: what the hypervisor says */
	u64 features;		/* ring features besides VERSION_1 */
	u32 proto;		/* protocol features the backend accepted */
	u32 backlog;		/* tx_backlog, bytes */
};

static const struct vt_cfg vt_default = {
	.nq = 2,
	.qsize = { 16, 8 },
	.device_id = VIRTIO_ID_NET,
	.be_ring = VT_BE_RING,
	.features = BIT_ULL(VIRTIO_RING_F_INDIRECT_DESC),
};

/* A DATA_REQ as the backend received it. */
struct vt_msg {
	u32 type;
	u16 src_domain;
	u32 len;
	u8 *buf;
};

/* One record of a received DATA_REQ, host-endian. */
struct vt_rec {
	unsigned int msg;
	u32 session;
	u16 queue;
	u16 flags;
	u16 id;
	u16 ndesc;
	u32 out_len;
	u32 in_len;
	u32 offset;
	u32 len;
	const struct virtio_argo_desc *desc;
	const u8 *data;		/* its len bytes in the data area */
};

struct vt_ctx {
	struct kunit *test;
	struct va_device *vad;
	struct platform_device pdev;
	struct va_backend be;
	atomic_t backend_checks;
	struct argo_endpoint *be_ep;
	bool vq_alloc;
	struct virtqueue *vq[VT_MAX_Q];
	void *ring[VT_MAX_Q];
	atomic_t irqs[VT_MAX_Q];
	u16 avail[VT_MAX_Q];	/* the driver's available index */
	struct vt_msg msgs[VT_MAX_MSGS];
	unsigned int nmsgs;
	unsigned int parsed;
	bool lost_msgs;
	struct vt_rec recs[VT_MAX_RECS];
	unsigned int nrecs;
};

/* A descriptor as the driver sees it. */
struct vt_seg {
	u8 *buf;
	u32 len;
	bool write;
};

/* ------------------------------------------------------------------ */
/* What vq.c takes from main.c                                        */
/* ------------------------------------------------------------------ */

struct workqueue_struct *va_wq;

/* A send to the backend failed: main.c looks at the backend; count it. */
void va_backend_check(struct va_backend *be)
{
	struct vt_ctx *c = container_of(be, struct vt_ctx, be);

	atomic_inc(&c->backend_checks);
}

static int vt_suite_init(struct kunit_suite *suite)
{
	va_wq = alloc_workqueue("virtio_argo_vq_kunit",
				WQ_MEM_RECLAIM | WQ_HIGHPRI, 0);
	return va_wq ? 0 : -ENOMEM;
}

static void vt_suite_exit(struct kunit_suite *suite)
{
	destroy_workqueue(va_wq);
	va_wq = NULL;
}

/* ------------------------------------------------------------------ */
/* The fixture                                                        */
/* ------------------------------------------------------------------ */

static void vt_vq_callback(struct virtqueue *vq)
{
	struct vt_ctx *c = vq->vdev->priv;

	atomic_inc(&c->irqs[vq->index]);
}

static void vt_be_rx_ready(struct argo_endpoint *ep, void *priv)
{
}

/* The backend's ring: drained only by the tests, with argo_recv(). */
static const struct argo_endpoint_ops vt_be_ops = {
	.rx_ready = vt_be_rx_ready,
};

static struct vt_ctx *vt_setup(struct kunit *test, const struct vt_cfg *cfg)
{
	struct argo_endpoint_cfg ecfg = {};
	struct argo_endpoint *ep;
	struct va_device *vad;
	struct vt_ctx *c;
	unsigned int i;
	u32 max = 0;

	if (!argo_lb_active())
		kunit_skip(test, "argo.ko does not run on the loopback provider");
	c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, c);
	vad = kunit_kzalloc(test, sizeof(*vad), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, vad);
	c->test = test;
	c->vad = vad;
	test->priv = c;

	spin_lock_init(&vad->cfg_lock);
	spin_lock_init(&vad->lock);
	mutex_init(&vad->rx_mutex);
	c->be.domid = VT_DOM_BE;
	c->be.self = VT_DOM_FE;
	vad->be = &c->be;
	c->pdev.name = "virtio-argo";
	c->pdev.dev.init_name = "virtio-argo-vq-kunit";
	vad->pdev = &c->pdev;
	vad->vdev.dev.init_name = "virtio-argo-vq-kunit-vdev";
	vad->vdev.priv = c;
	vad->vdev.id.device = cfg->device_id;
	vad->vdev.features = BIT_ULL(VIRTIO_F_VERSION_1) | cfg->features;
	INIT_LIST_HEAD(&vad->vdev.vqs);
	spin_lock_init(&vad->vdev.vqs_list_lock);
	vad->handle = VT_HANDLE;
	vad->session = VT_SESSION;
	vad->info.dev = VT_HANDLE;
	vad->info.device_id = cfg->device_id;
	vad->info.num_queues = cfg->nq;
	vad->info.data_port = VT_BE_PORT;
	vad->info.data_ring = cfg->be_ring;
	vad->data_port = VT_FE_PORT;
	c->be.features = cfg->proto;
	vad->bl_size = cfg->backlog;

	ecfg.domain = VT_DOM_BE;
	ecfg.port = VT_BE_PORT;
	ecfg.partner = VT_DOM_FE;
	ecfg.ring_size = cfg->be_ring;
	ecfg.ops = &vt_be_ops;
	ecfg.priv = c;
	ep = argo_endpoint_open(&ecfg);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(ep), "backend ring: %ld",
			       PTR_ERR(ep));
	c->be_ep = ep;

	ecfg.domain = VT_DOM_FE;
	ecfg.port = VT_FE_PORT;
	ecfg.partner = VT_DOM_BE;
	ecfg.ring_size = VT_FE_RING;
	ecfg.ops = &va_data_ops;
	ecfg.priv = vad;
	ep = argo_endpoint_open(&ecfg);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(ep), "device ring: %ld",
			       PTR_ERR(ep));
	vad->data = ep;

	KUNIT_ASSERT_EQ(test, argo_max_msg_size(vad->data, VT_DOM_BE,
						VT_BE_PORT, &max), 0);
	vad->max_msg = cfg->max_msg ? min(cfg->max_msg, max) : max;
	KUNIT_ASSERT_GE(test, vad->max_msg,
			(u32)VIRTIO_ARGO_MIN_DATA_RING - 32);

	KUNIT_ASSERT_EQ(test, va_vq_alloc(vad), 0);
	c->vq_alloc = true;
	for (i = 0; i < cfg->nq; i++) {
		unsigned int size = vring_size(cfg->qsize[i], SMP_CACHE_BYTES);

		c->ring[i] = kzalloc(size, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, c->ring[i]);
		/* vring_init() aligns the used ring on the address itself. */
		KUNIT_ASSERT_TRUE(test, IS_ALIGNED((unsigned long)c->ring[i],
						   SMP_CACHE_BYTES));
		c->vq[i] = vring_new_virtqueue(i, cfg->qsize[i],
					       SMP_CACHE_BYTES, &vad->vdev,
					       true, false, c->ring[i],
					       va_vq_notify, vt_vq_callback,
					       "vt");
		KUNIT_ASSERT_NOT_NULL(test, c->vq[i]);
		KUNIT_ASSERT_EQ(test, va_vq_setup(vad, i, c->vq[i]), 0);
	}
	return c;
}

/* Undo what vt_setup() did, in the order main.c tears a device down. */
static void vt_exit(struct kunit *test)
{
	struct vt_ctx *c = test->priv;
	unsigned int i;

	if (!c)
		return;
	/* No va_data_rx() nor tx_ready after this. */
	if (c->vad->data)
		argo_endpoint_close(c->vad->data);
	c->vad->data = NULL;
	if (c->be_ep)
		argo_endpoint_close(c->be_ep);
	c->be_ep = NULL;
	if (c->vq_alloc) {
		va_vq_quiesce(c->vad);
		va_vq_teardown(c->vad);
	}
	for (i = 0; i < VT_MAX_Q; i++) {
		if (c->vq[i]) {
			while (virtqueue_detach_unused_buf(c->vq[i]))
				;
			vring_del_virtqueue(c->vq[i]);
		}
		kfree(c->ring[i]);
	}
	if (c->vq_alloc)
		va_vq_free(c->vad);
}

/* ------------------------------------------------------------------ */
/* The driver's side                                                  */
/* ------------------------------------------------------------------ */

static struct virtio_device *vt_vdev(struct vt_ctx *c)
{
	return &c->vad->vdev;
}

static const struct vring *vt_vr(struct vt_ctx *c, unsigned int qi)
{
	return virtqueue_get_vring(c->vq[qi]);
}

static void vt_fill(u8 *p, u32 len, u8 seed)
{
	u32 i;

	for (i = 0; i < len; i++)
		p[i] = (u8)(seed * 37 + i * 13 + (i >> 8));
}

/* A buffer of exactly @len bytes (one if 0), patterned with @seed. */
static u8 *vt_buf(struct vt_ctx *c, u32 len, u8 seed)
{
	u8 *p = kunit_kmalloc(c->test, len ? len : 1, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(c->test, p);
	vt_fill(p, len, seed);
	return p;
}

/* A writable buffer: every byte VT_SENTINEL until the device writes. */
static u8 *vt_wbuf(struct vt_ctx *c, u32 len)
{
	u8 *p = vt_buf(c, len, 0);

	memset(p, VT_SENTINEL, len);
	return p;
}

static bool vt_untouched(const u8 *p, u32 len)
{
	return !memchr_inv(p, VT_SENTINEL, len);
}

static void vt_desc_set(struct vt_ctx *c, struct vring_desc *d, u64 addr,
			u32 len, u16 flags, u16 next)
{
	struct virtio_device *vdev = vt_vdev(c);

	d->addr = cpu_to_virtio64(vdev, addr);
	d->len = cpu_to_virtio32(vdev, len);
	d->flags = cpu_to_virtio16(vdev, flags);
	d->next = cpu_to_virtio16(vdev, next);
}

static void vt_desc(struct vt_ctx *c, unsigned int qi, u16 i, u64 addr,
		    u32 len, u16 flags, u16 next)
{
	vt_desc_set(c, &vt_vr(c, qi)->desc[i], addr, len, flags, next);
}

static u16 vt_seg_flags(const struct vt_seg *s, unsigned int k,
			unsigned int n)
{
	return (s[k].write ? VRING_DESC_F_WRITE : 0) |
	       (k + 1 < n ? VRING_DESC_F_NEXT : 0);
}

/* @s as ring descriptors @first, @first + 1, ...; returns the head. */
static u16 vt_put_direct(struct vt_ctx *c, unsigned int qi, u16 first,
			 const struct vt_seg *s, unsigned int n)
{
	unsigned int k;

	for (k = 0; k < n; k++)
		vt_desc(c, qi, first + k, virt_to_phys(s[k].buf), s[k].len,
			vt_seg_flags(s, k, n), k + 1 < n ? first + k + 1 : 0);
	return first;
}

/* @s as an indirect table of exactly @n entries at descriptor @head. */
static struct vring_desc *vt_put_indirect(struct vt_ctx *c, unsigned int qi,
					  u16 head, const struct vt_seg *s,
					  unsigned int n)
{
	struct vring_desc *t;
	unsigned int k;

	t = kunit_kcalloc(c->test, n, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(c->test, t);
	for (k = 0; k < n; k++)
		vt_desc_set(c, &t[k], virt_to_phys(s[k].buf), s[k].len,
			    vt_seg_flags(s, k, n), k + 1 < n ? k + 1 : 0);
	vt_desc(c, qi, head, virt_to_phys(t), n * sizeof(*t),
		VRING_DESC_F_INDIRECT, 0);
	return t;
}

static void vt_avail_idx(struct vt_ctx *c, unsigned int qi, u16 idx)
{
	/* The entries before the index, as the virtio core orders them. */
	smp_wmb();
	WRITE_ONCE(vt_vr(c, qi)->avail->idx, cpu_to_virtio16(vt_vdev(c), idx));
}

/* Make the chain at @head available (no kick). */
static void vt_avail(struct vt_ctx *c, unsigned int qi, u16 head)
{
	const struct vring *vr = vt_vr(c, qi);

	vr->avail->ring[c->avail[qi] & (vr->num - 1)] =
		cpu_to_virtio16(vt_vdev(c), head);
	vt_avail_idx(c, qi, ++c->avail[qi]);
}

static bool vt_kick(struct vt_ctx *c, unsigned int qi)
{
	return va_vq_notify(c->vq[qi]);
}

/* The driver resets its ring, as after a device reset. */
static void vt_ring_reinit(struct vt_ctx *c, unsigned int qi)
{
	const struct vring *vr = vt_vr(c, qi);

	c->avail[qi] = 0;
	vt_avail_idx(c, qi, 0);
	WRITE_ONCE(vr->used->idx, 0);
}

static u16 vt_used_idx(struct vt_ctx *c, unsigned int qi)
{
	return virtio16_to_cpu(vt_vdev(c), READ_ONCE(vt_vr(c, qi)->used->idx));
}

static void vt_expect_used(struct vt_ctx *c, unsigned int qi, u16 slot,
			   u32 id, u32 len)
{
	const struct vring *vr = vt_vr(c, qi);
	const struct vring_used_elem *e = &vr->used->ring[slot & (vr->num - 1)];

	KUNIT_EXPECT_EQ_MSG(c->test, virtio32_to_cpu(vt_vdev(c), e->id), id,
			    "used entry %u of queue %u", slot, qi);
	KUNIT_EXPECT_EQ_MSG(c->test, virtio32_to_cpu(vt_vdev(c), e->len), len,
			    "used entry %u of queue %u", slot, qi);
}

static u64 vt_stat(struct vt_ctx *c, enum va_stat i)
{
	return atomic64_read(&c->vad->stats.c[i]);
}

/* A copy of queue @qi's mirror state, taken under the data lock. */
static struct va_queue vt_q(struct vt_ctx *c, unsigned int qi)
{
	struct va_queue q;
	unsigned long flags;

	spin_lock_irqsave(&c->vad->lock, flags);
	q = c->vad->queues[qi];
	spin_unlock_irqrestore(&c->vad->lock, flags);
	return q;
}

static u32 vt_inflight(struct vt_ctx *c)
{
	return READ_ONCE(c->vad->inflight);
}

static bool vt_in_flight(struct vt_ctx *c, unsigned int qi, u16 head)
{
	unsigned long flags;
	bool ret;

	spin_lock_irqsave(&c->vad->lock, flags);
	ret = c->vad->queues[qi].chains[head].in_flight;
	spin_unlock_irqrestore(&c->vad->lock, flags);
	return ret;
}

static bool vt_tx_blocked(struct vt_ctx *c)
{
	unsigned long flags;
	bool ret;

	spin_lock_irqsave(&c->vad->lock, flags);
	ret = c->vad->tx_blocked;
	spin_unlock_irqrestore(&c->vad->lock, flags);
	return ret;
}

/* ------------------------------------------------------------------ */
/* The backend's side: DATA_REQ received, DATA_COMP sent               */
/* ------------------------------------------------------------------ */

static enum argo_rx_action vt_be_rx(struct argo_endpoint *ep,
				    const struct argo_msg *msg, void *arg)
{
	struct vt_ctx *c = arg;
	struct vt_msg *m;

	if (c->nmsgs == VT_MAX_MSGS) {
		c->lost_msgs = true;
		return ARGO_RX_CONSUME;
	}
	m = &c->msgs[c->nmsgs];
	m->buf = kunit_kmalloc(c->test, msg->len ? msg->len : 1, GFP_KERNEL);
	if (!m->buf) {
		c->lost_msgs = true;
		return ARGO_RX_CONSUME;
	}
	m->type = msg->type;
	m->src_domain = msg->src_domain;
	m->len = msg->len;
	if (argo_msg_copy(msg, 0, m->buf, msg->len) != msg->len)
		c->lost_msgs = true;
	c->nmsgs++;
	return ARGO_RX_CONSUME;
}

/*
 * Every DATA_REQ must follow the protocol's layout: header, records each
 * followed by its descriptors, then exactly the records' bytes.
 */
static void vt_parse(struct vt_ctx *c, unsigned int mi)
{
	struct kunit *test = c->test;
	const struct vt_msg *m = &c->msgs[mi];
	const struct virtio_argo_data *h = (const void *)m->buf;
	u32 pos = sizeof(*h), data_off;
	unsigned int i, nrec;
	u64 data;

	KUNIT_ASSERT_EQ(test, m->type, (u32)VIRTIO_ARGO_T_DATA_REQ);
	KUNIT_ASSERT_EQ(test, m->src_domain, (u16)VT_DOM_FE);
	KUNIT_ASSERT_GE(test, m->len, (u32)sizeof(*h));
	KUNIT_EXPECT_LE(test, m->len, c->vad->max_msg);
	KUNIT_EXPECT_EQ(test, le32_to_cpu(h->hdr.dev), VT_HANDLE);
	KUNIT_EXPECT_EQ(test, le16_to_cpu(h->reserved), 0);
	nrec = le16_to_cpu(h->nrec);
	data_off = le32_to_cpu(h->data_off);
	KUNIT_ASSERT_GE(test, nrec, 1U);
	KUNIT_EXPECT_EQ(test, data_off % 8, 0U);
	KUNIT_ASSERT_LE(test, data_off, m->len);
	data = data_off;
	for (i = 0; i < nrec; i++) {
		const struct virtio_argo_chain *r;
		struct vt_rec *v;

		KUNIT_ASSERT_LE(test, (u64)pos + sizeof(*r), (u64)data_off);
		KUNIT_ASSERT_LT(test, c->nrecs, (unsigned int)VT_MAX_RECS);
		r = (const void *)(m->buf + pos);
		v = &c->recs[c->nrecs++];
		v->msg = mi;
		v->session = le32_to_cpu(h->hdr.tag);
		v->queue = le16_to_cpu(r->queue);
		v->flags = le16_to_cpu(r->flags);
		v->id = le16_to_cpu(r->id);
		v->ndesc = le16_to_cpu(r->ndesc);
		v->out_len = le32_to_cpu(r->out_len);
		v->in_len = le32_to_cpu(r->in_len);
		v->offset = le32_to_cpu(r->offset);
		v->len = le32_to_cpu(r->len);
		pos += sizeof(*r);
		v->desc = (const void *)(m->buf + pos);
		KUNIT_ASSERT_LE(test, (u64)pos + (u64)v->ndesc * 8,
				(u64)data_off);
		pos += v->ndesc * sizeof(struct virtio_argo_desc);
		KUNIT_ASSERT_LE(test, data + v->len, (u64)m->len);
		v->data = m->buf + data;
		data += v->len;
	}
	/* The records end at data_off, the bytes at the payload's end. */
	KUNIT_EXPECT_EQ(test, pos, data_off);
	KUNIT_EXPECT_EQ(test, data, (u64)m->len);
}

/* Take what the backend's ring holds; returns the messages taken. */
static unsigned int vt_drain(struct vt_ctx *c)
{
	int n = argo_recv(c->be_ep, vt_be_rx, c, 0);

	KUNIT_EXPECT_GE(c->test, n, 0);
	KUNIT_ASSERT_FALSE(c->test, c->lost_msgs);
	while (c->parsed < c->nmsgs)
		vt_parse(c, c->parsed++);
	return n > 0 ? n : 0;
}

static unsigned int vt_count_last(struct vt_ctx *c)
{
	unsigned int i, n = 0;

	for (i = 0; i < c->nrecs; i++)
		n += !!(c->recs[i].flags & VIRTIO_ARGO_CHAIN_LAST);
	return n;
}

static unsigned int vt_count_first(struct vt_ctx *c, u16 qi, u16 head)
{
	unsigned int i, n = 0;

	for (i = 0; i < c->nrecs; i++)
		n += c->recs[i].queue == qi && c->recs[i].id == head &&
		     (c->recs[i].flags & VIRTIO_ARGO_CHAIN_FIRST);
	return n;
}

/*
 * Drain the backend's ring until @nlast chains have been carried whole,
 * the core's tx_ready (or tx_work) resuming the device in between; then
 * check that nothing more comes.
 */
static void vt_pump(struct vt_ctx *c, unsigned int nlast)
{
	unsigned long deadline = jiffies + VT_TIMEOUT;

	for (;;) {
		vt_drain(c);
		if (vt_count_last(c) >= nlast)
			break;
		if (time_after(jiffies, deadline)) {
			KUNIT_FAIL(c->test, "%u of %u chains sent in %d s",
				   vt_count_last(c), nlast, VT_TIMEOUT / HZ);
			return;
		}
		usleep_range(1000, 3000);
	}
	flush_workqueue(va_wq);
	msleep(20);
	vt_drain(c);
	KUNIT_EXPECT_EQ(c->test, vt_count_last(c), nlast);
	KUNIT_EXPECT_FALSE(c->test, vt_tx_blocked(c));
}

/*
 * The records of chain (@qi, @head) from record @from on must carry the
 * chain @s exactly: CHAIN_FIRST with its flattened layout, consecutive
 * ranges of its readable bytes, CHAIN_LAST at the end, out_len and in_len
 * in each, the device's session.  Returns the index after its last record.
 */
static unsigned int vt_expect_chain(struct vt_ctx *c, unsigned int from,
				    u16 qi, u16 head, const struct vt_seg *s,
				    unsigned int n)
{
	struct kunit *test = c->test;
	u32 out = 0, in = 0, off = 0, pos = 0;
	unsigned int i, k, nrec = 0;
	u8 *bytes;

	for (k = 0; k < n; k++) {
		if (s[k].write)
			in += s[k].len;
		else
			out += s[k].len;
	}
	bytes = kunit_kmalloc(test, out ? out : 1, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, bytes);
	for (k = 0; k < n; k++) {
		if (!s[k].write) {
			memcpy(bytes + pos, s[k].buf, s[k].len);
			pos += s[k].len;
		}
	}

	for (i = from; i < c->nrecs; i++) {
		const struct vt_rec *r = &c->recs[i];

		if (r->queue != qi || r->id != head)
			continue;
		nrec++;
		KUNIT_EXPECT_EQ(test, r->session, c->vad->session);
		KUNIT_EXPECT_EQ(test, r->out_len, out);
		KUNIT_EXPECT_EQ(test, r->in_len, in);
		KUNIT_EXPECT_EQ_MSG(test, r->offset, off, "record %u", nrec);
		if (nrec == 1) {
			KUNIT_EXPECT_TRUE(test,
					  r->flags & VIRTIO_ARGO_CHAIN_FIRST);
			KUNIT_EXPECT_EQ(test, r->ndesc, n);
			for (k = 0; k < min_t(unsigned int, r->ndesc, n);
			     k++) {
				KUNIT_EXPECT_EQ_MSG(test,
						    le32_to_cpu(r->desc[k].len),
						    s[k].len, "descriptor %u", k);
				KUNIT_EXPECT_EQ_MSG(test,
						    le32_to_cpu(r->desc[k].flags),
						    s[k].write ?
						    VIRTIO_ARGO_DESC_WRITE : 0U,
						    "descriptor %u", k);
			}
		} else {
			KUNIT_EXPECT_FALSE(test,
					   r->flags & VIRTIO_ARGO_CHAIN_FIRST);
			KUNIT_EXPECT_EQ(test, r->ndesc, 0);
		}
		KUNIT_EXPECT_LE(test, (u64)off + r->len, (u64)out);
		if ((u64)off + r->len <= out)
			KUNIT_EXPECT_EQ_MSG(test,
					    memcmp(r->data, bytes + off, r->len),
					    0, "bytes [%u, +%u) of chain %u",
					    off, r->len, head);
		off += r->len;
		if (r->flags & VIRTIO_ARGO_CHAIN_LAST) {
			KUNIT_EXPECT_EQ(test, off, out);
			for (k = i + 1; k < c->nrecs; k++)
				KUNIT_EXPECT_FALSE_MSG(test,
						       c->recs[k].queue == qi &&
						       c->recs[k].id == head,
						       "record %u after CHAIN_LAST",
						       k);
			return i + 1;
		}
	}
	KUNIT_FAIL(test, "chain %u of queue %u: %u records, no CHAIN_LAST",
		   head, qi, nrec);
	return c->nrecs;
}

/* A DATA_COMP record, host-endian; its bytes follow in the data area. */
struct vt_comp {
	u16 queue;
	u16 flags;
	u16 id;
	u32 written;
	u32 offset;
	u32 len;
	const u8 *bytes;	/* NULL: zeros */
};

/* Have the device take what its ring holds, as its receive work would. */
static void vt_take(struct vt_ctx *c)
{
	KUNIT_EXPECT_GE(c->test, argo_recv(c->vad->data, va_data_rx, c->vad,
					   0), 0);
	KUNIT_EXPECT_FALSE(c->test, argo_endpoint_readable(c->vad->data));
}

/*
 * Send a completion message from the backend's endpoint: @n records and
 * their bytes, @extra bytes more (zeros) or fewer than they add up to.
 */
static void vt_comp_msg(struct vt_ctx *c, u32 type, u32 dev, u32 session,
			const struct vt_comp *r, unsigned int n, int extra)
{
	struct kunit *test = c->test;
	size_t off = sizeof(struct virtio_argo_data) +
		     n * sizeof(struct virtio_argo_comp);
	size_t len = off, pos = off, total;
	struct virtio_argo_data *h;
	struct kvec kv;
	unsigned int k;
	u8 *buf;

	for (k = 0; k < n; k++)
		len += r[k].len;
	total = len + extra;
	buf = kunit_kzalloc(test, max(len, total), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	h = (void *)buf;
	h->hdr.dev = cpu_to_le32(dev);
	h->hdr.tag = cpu_to_le32(session);
	h->nrec = cpu_to_le16(n);
	h->data_off = cpu_to_le32(off);
	for (k = 0; k < n; k++) {
		struct virtio_argo_comp *w;

		w = (struct virtio_argo_comp *)(buf + sizeof(*h)) + k;

		w->queue = cpu_to_le16(r[k].queue);
		w->flags = cpu_to_le16(r[k].flags);
		w->id = cpu_to_le16(r[k].id);
		w->written = cpu_to_le32(r[k].written);
		w->offset = cpu_to_le32(r[k].offset);
		w->len = cpu_to_le32(r[k].len);
		if (r[k].bytes)
			memcpy(buf + pos, r[k].bytes, r[k].len);
		pos += r[k].len;
	}
	kv.iov_base = buf;
	kv.iov_len = total;
	KUNIT_ASSERT_EQ(test, argo_send(c->be_ep, VT_DOM_FE, VT_FE_PORT, type,
					&kv, 1), (int)total);
	vt_take(c);
}

static void vt_comp(struct vt_ctx *c, const struct vt_comp *r, unsigned int n)
{
	vt_comp_msg(c, VIRTIO_ARGO_T_DATA_COMP, VT_HANDLE, c->vad->session, r,
		    n, 0);
}

/* One record, whole or not, as its own message. */
static void vt_comp1(struct vt_ctx *c, u16 queue, u16 flags, u16 id,
		     u32 written, u32 offset, u32 len, const u8 *bytes)
{
	const struct vt_comp r = { queue, flags, id, written, offset, len,
				   bytes };

	vt_comp(c, &r, 1);
}

/* What a dropped completion must leave as it was. */
struct vt_snap {
	u16 used[VT_MAX_Q];
	int irqs[VT_MAX_Q];
	u64 stat[VA_NR_STATS];
	u32 inflight;
};

static void vt_snap(struct vt_ctx *c, struct vt_snap *s)
{
	unsigned int i;

	for (i = 0; i < c->vad->nq; i++) {
		s->used[i] = vt_used_idx(c, i);
		s->irqs[i] = atomic_read(&c->irqs[i]);
	}
	for (i = 0; i < VA_NR_STATS; i++)
		s->stat[i] = vt_stat(c, i);
	s->inflight = vt_inflight(c);
}

/* Only the counters of @malformed and @stale messages may have moved. */
static void vt_expect_dropped(struct vt_ctx *c, const struct vt_snap *s,
			      u64 malformed, u64 stale)
{
	struct kunit *test = c->test;
	unsigned int i;

	for (i = 0; i < c->vad->nq; i++) {
		KUNIT_EXPECT_EQ_MSG(test, vt_used_idx(c, i), s->used[i],
				    "used index of queue %u", i);
		KUNIT_EXPECT_EQ_MSG(test, atomic_read(&c->irqs[i]), s->irqs[i],
				    "interrupts of queue %u", i);
	}
	for (i = 0; i < VA_NR_STATS; i++) {
		u64 want = s->stat[i];

		if (i == VA_STAT_MALFORMED)
			want += malformed;
		else if (i == VA_STAT_STALE)
			want += stale;
		else if (i == VA_STAT_RX_MSGS)
			want += malformed + stale;
		KUNIT_EXPECT_EQ_MSG(test, vt_stat(c, i), want, "counter %u", i);
	}
	KUNIT_EXPECT_EQ(test, vt_inflight(c), s->inflight);
}

/*
 * A request the completion tests answer: 16 readable bytes, then 10 and 20
 * writable ones, as descriptors @first .. @first + 2 of queue @qi; made
 * available, kicked and received by the backend.
 */
struct vt_req {
	unsigned int qi;
	u16 head;
	struct vt_seg s[3];
};

#define VT_REQ_IN	30

static void vt_req_send(struct vt_ctx *c, struct vt_req *r, unsigned int qi,
			u16 first)
{
	struct kunit *test = c->test;
	unsigned int before = c->nrecs;

	r->qi = qi;
	r->s[0] = (struct vt_seg){ vt_buf(c, 16, first), 16, false };
	r->s[1] = (struct vt_seg){ vt_wbuf(c, 10), 10, true };
	r->s[2] = (struct vt_seg){ vt_wbuf(c, 20), 20, true };
	r->head = vt_put_direct(c, qi, first, r->s, 3);
	vt_avail(c, qi, r->head);
	KUNIT_ASSERT_TRUE(test, vt_kick(c, qi));
	vt_drain(c);
	KUNIT_ASSERT_EQ(test, c->nrecs, before + 1);
	vt_expect_chain(c, before, qi, r->head, r->s, 3);
	KUNIT_ASSERT_TRUE(test, vt_in_flight(c, qi, r->head));
}

static bool vt_req_untouched(const struct vt_req *r)
{
	return vt_untouched(r->s[1].buf, 10) && vt_untouched(r->s[2].buf, 20);
}

/* The bytes a backend writes into a chain's writable space. */
static u8 *vt_written(struct vt_ctx *c, u32 len)
{
	return vt_buf(c, len, 0x77);
}

/* The request's writable space holds @w's first @len bytes, then nothing. */
static void vt_expect_req_written(struct vt_ctx *c, const struct vt_req *r,
				  const u8 *w, u32 len)
{
	struct kunit *test = c->test;
	u32 a = min_t(u32, len, 10), b = len - a;

	KUNIT_EXPECT_EQ(test, memcmp(r->s[1].buf, w, a), 0);
	KUNIT_EXPECT_TRUE(test, vt_untouched(r->s[1].buf + a, 10 - a));
	KUNIT_EXPECT_EQ(test, memcmp(r->s[2].buf, w + a, b), 0);
	KUNIT_EXPECT_TRUE(test, vt_untouched(r->s[2].buf + b, 20 - b));
}

/* ------------------------------------------------------------------ */
/* Requests                                                           */
/* ------------------------------------------------------------------ */

/* One chain: one record with its layout, and its readable bytes only. */
static void req_chain_layout_and_bytes(struct kunit *test)
{
	struct vt_ctx *c = vt_setup(test, &vt_default);
	const struct virtio_argo_data *h;
	struct vt_seg s[4];
	u16 head;

	s[0] = (struct vt_seg){ vt_buf(c, 100, 1), 100, false };
	s[1] = (struct vt_seg){ vt_buf(c, 37, 2), 37, false };
	s[2] = (struct vt_seg){ vt_wbuf(c, 64), 64, true };
	s[3] = (struct vt_seg){ vt_wbuf(c, 1), 1, true };
	head = vt_put_direct(c, 0, 3, s, 4);
	vt_avail(c, 0, head);
	KUNIT_EXPECT_TRUE(test, vt_kick(c, 0));
	KUNIT_ASSERT_EQ(test, vt_drain(c), 1U);
	KUNIT_ASSERT_EQ(test, c->nrecs, 1U);
	KUNIT_EXPECT_EQ(test, c->recs[0].flags, VT_FL);
	KUNIT_EXPECT_EQ(test, c->recs[0].queue, 0);
	KUNIT_EXPECT_EQ(test, c->recs[0].id, 3);
	KUNIT_EXPECT_EQ(test, vt_expect_chain(c, 0, 0, head, s, 4), 1U);

	/* Header, one record, four descriptors, then the 137 bytes. */
	h = (const void *)c->msgs[0].buf;
	KUNIT_EXPECT_EQ(test, le32_to_cpu(h->data_off), 16U + 24 + 4 * 8);
	KUNIT_EXPECT_EQ(test, c->msgs[0].len, 16U + 24 + 4 * 8 + 137);
	KUNIT_EXPECT_EQ(test, le32_to_cpu(h->hdr.tag), VT_SESSION);

	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_MSGS), 1ULL);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_HYPERCALLS), 1ULL);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_CHAINS), 1ULL);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_BYTES), 137ULL);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_EAGAIN), 0ULL);
	KUNIT_EXPECT_EQ(test, vt_inflight(c), 1U);
	KUNIT_EXPECT_TRUE(test, vt_in_flight(c, 0, head));
	/* The device wrote nothing yet, and read only. */
	KUNIT_EXPECT_TRUE(test, vt_untouched(s[2].buf, 64));
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, 0), 0);

	/* A kick with nothing new sends nothing. */
	KUNIT_EXPECT_TRUE(test, vt_kick(c, 0));
	KUNIT_EXPECT_EQ(test, vt_drain(c), 0U);
	KUNIT_EXPECT_FALSE(test, READ_ONCE(c->vad->broken));
}

/* Chains of both queues, kicked once: one message, each queue in order. */
static void req_chains_packed_in_one_message(struct kunit *test)
{
	struct vt_ctx *c = vt_setup(test, &vt_default);
	static const u16 ids0[] = { 0, 9, 5 }, ids1[] = { 6, 2 };
	struct vt_seg a[2], b[1], cc[3], d[2], e[1];
	unsigned int i, n0 = 0, n1 = 0;

	a[0] = (struct vt_seg){ vt_buf(c, 10, 1), 10, false };
	a[1] = (struct vt_seg){ vt_wbuf(c, 4), 4, true };
	b[0] = (struct vt_seg){ vt_wbuf(c, 8), 8, true };
	cc[0] = (struct vt_seg){ vt_buf(c, 33, 2), 33, false };
	cc[1] = (struct vt_seg){ vt_buf(c, 7, 3), 7, false };
	cc[2] = (struct vt_seg){ vt_wbuf(c, 2), 2, true };
	d[0] = (struct vt_seg){ vt_buf(c, 5, 4), 5, false };
	d[1] = (struct vt_seg){ vt_wbuf(c, 5), 5, true };
	e[0] = (struct vt_seg){ vt_wbuf(c, 1), 1, true };

	vt_avail(c, 0, vt_put_direct(c, 0, 0, a, 2));
	vt_avail(c, 0, vt_put_direct(c, 0, 9, b, 1));
	vt_avail(c, 0, vt_put_direct(c, 0, 5, cc, 3));
	vt_avail(c, 1, vt_put_direct(c, 1, 6, d, 2));
	vt_avail(c, 1, vt_put_direct(c, 1, 2, e, 1));
	/* One kick takes what every queue has. */
	KUNIT_EXPECT_TRUE(test, vt_kick(c, 0));
	KUNIT_ASSERT_EQ(test, vt_drain(c), 1U);
	KUNIT_ASSERT_EQ(test, c->nrecs, 5U);
	for (i = 0; i < c->nrecs; i++) {
		KUNIT_EXPECT_EQ(test, c->recs[i].flags, VT_FL);
		if (c->recs[i].queue == 0 && n0 < 3)
			KUNIT_EXPECT_EQ(test, c->recs[i].id, ids0[n0++]);
		else if (c->recs[i].queue == 1 && n1 < 2)
			KUNIT_EXPECT_EQ(test, c->recs[i].id, ids1[n1++]);
		else
			KUNIT_FAIL(test, "record %u of queue %u", i,
				   c->recs[i].queue);
	}
	vt_expect_chain(c, 0, 0, 0, a, 2);
	vt_expect_chain(c, 0, 0, 9, b, 1);
	vt_expect_chain(c, 0, 0, 5, cc, 3);
	vt_expect_chain(c, 0, 1, 6, d, 2);
	vt_expect_chain(c, 0, 1, 2, e, 1);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_CHAINS), 5ULL);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_BYTES), 55ULL);
	KUNIT_EXPECT_EQ(test, vt_inflight(c), 5U);
}

/* A ring made full at once (num entries ahead) is not a bad index. */
static void req_full_ring(struct kunit *test)
{
	struct vt_ctx *c = vt_setup(test, &vt_default);
	struct vt_seg s[8][1];
	unsigned int i;

	for (i = 0; i < 8; i++) {
		s[i][0] = (struct vt_seg){ vt_wbuf(c, 4), 4, true };
		vt_avail(c, 1, vt_put_direct(c, 1, 7 - i, s[i], 1));
	}
	KUNIT_EXPECT_TRUE(test, vt_kick(c, 1));
	vt_drain(c);
	KUNIT_ASSERT_EQ(test, c->nrecs, 8U);
	for (i = 0; i < 8; i++) {
		KUNIT_EXPECT_EQ(test, c->recs[i].id, 7 - i);
		vt_expect_chain(c, 0, 1, 7 - i, s[i], 1);
	}
	KUNIT_EXPECT_FALSE(test, READ_ONCE(c->vad->broken));
	KUNIT_EXPECT_EQ(test, vt_inflight(c), 8U);
}

/* Eight iovs per message: the eighth chain with bytes goes in the next. */
static void req_iov_limit_starts_a_new_message(struct kunit *test)
{
	struct vt_ctx *c = vt_setup(test, &vt_default);
	struct vt_seg s[9][1];
	unsigned int i, next = 0;

	for (i = 0; i < 9; i++) {
		s[i][0] = (struct vt_seg){ vt_buf(c, 1 + i, i), 1 + i, false };
		vt_avail(c, 0, vt_put_direct(c, 0, i, s[i], 1));
	}
	KUNIT_EXPECT_TRUE(test, vt_kick(c, 0));
	KUNIT_ASSERT_EQ(test, vt_drain(c), 2U);
	KUNIT_ASSERT_EQ(test, c->nrecs, 9U);
	for (i = 0; i < 9; i++) {
		KUNIT_EXPECT_EQ(test, c->recs[i].msg, i < ARGO_MAX_SEGS - 1 ?
				0U : 1U);
		KUNIT_EXPECT_EQ(test, c->recs[i].id, i);
		next = vt_expect_chain(c, next, 0, i, s[i], 1);
	}
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_MSGS), 2ULL);
}

/* A chain bigger than the backend's message: consecutive records. */
static void req_chain_split_over_messages(struct kunit *test)
{
	struct vt_cfg cfg = vt_default;
	struct vt_seg a[3], b[2];
	struct vt_ctx *c;
	unsigned int i;
	u32 max;

	cfg.max_msg = VIRTIO_ARGO_MIN_DATA_RING - 32;
	c = vt_setup(test, &cfg);
	max = c->vad->max_msg;
	KUNIT_ASSERT_EQ(test, max, (u32)VIRTIO_ARGO_MIN_DATA_RING - 32);
	a[0] = (struct vt_seg){ vt_buf(c, 30000, 1), 30000, false };
	a[1] = (struct vt_seg){ vt_buf(c, 10000, 2), 10000, false };
	a[2] = (struct vt_seg){ vt_wbuf(c, 16), 16, true };
	b[0] = (struct vt_seg){ vt_buf(c, 100, 3), 100, false };
	b[1] = (struct vt_seg){ vt_wbuf(c, 1), 1, true };
	vt_avail(c, 0, vt_put_direct(c, 0, 4, a, 3));
	vt_avail(c, 0, vt_put_direct(c, 0, 10, b, 2));
	KUNIT_EXPECT_TRUE(test, vt_kick(c, 0));
	KUNIT_ASSERT_EQ(test, vt_drain(c), 3U);
	KUNIT_ASSERT_EQ(test, c->nrecs, 4U);
	for (i = 0; i < 3; i++) {
		KUNIT_EXPECT_EQ(test, c->recs[i].msg, i);
		KUNIT_EXPECT_EQ(test, c->recs[i].id, 4);
	}
	KUNIT_EXPECT_EQ(test, c->recs[0].flags, VIRTIO_ARGO_CHAIN_FIRST);
	KUNIT_EXPECT_EQ(test, c->recs[1].flags, 0);
	KUNIT_EXPECT_EQ(test, c->recs[2].flags, VIRTIO_ARGO_CHAIN_LAST);
	/* The chain after it starts in its last message. */
	KUNIT_EXPECT_EQ(test, c->recs[3].msg, 2U);
	KUNIT_EXPECT_EQ(test, c->recs[3].id, 10);
	KUNIT_EXPECT_EQ(test, vt_expect_chain(c, 0, 0, 4, a, 3), 3U);
	vt_expect_chain(c, 3, 0, 10, b, 2);
	/* The split chain fills each message it does not end in. */
	KUNIT_EXPECT_EQ(test, c->msgs[0].len, max);
	KUNIT_EXPECT_EQ(test, c->msgs[1].len, max);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_CHAINS), 2ULL);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_BYTES), 40100ULL);
	KUNIT_EXPECT_EQ(test, vt_inflight(c), 2U);
}

/* More readable descriptors than iovs: the chain goes on in a new message. */
static void req_many_segments_split_on_iovs(struct kunit *test)
{
	struct vt_ctx *c = vt_setup(test, &vt_default);
	struct vt_seg s[11];
	unsigned int i;

	for (i = 0; i < 10; i++) {
		u32 len = i == 4 ? 0 : 3 + i;

		s[i] = (struct vt_seg){ vt_buf(c, len, i), len, false };
	}
	s[10] = (struct vt_seg){ vt_wbuf(c, 2), 2, true };
	vt_avail(c, 0, vt_put_direct(c, 0, 2, s, 11));
	KUNIT_EXPECT_TRUE(test, vt_kick(c, 0));
	KUNIT_ASSERT_EQ(test, vt_drain(c), 2U);
	KUNIT_ASSERT_EQ(test, c->nrecs, 2U);
	/* Seven non-empty buffers in the first, the zero-length one skipped. */
	KUNIT_EXPECT_EQ(test, c->recs[0].len, 3U + 4 + 5 + 6 + 8 + 9 + 10);
	KUNIT_EXPECT_EQ(test, vt_expect_chain(c, 0, 0, 2, s, 11), 2U);
}

/* An indirect table is flattened into the record like a direct chain. */
static void req_indirect_flattened(struct kunit *test)
{
	struct vt_ctx *c = vt_setup(test, &vt_default);
	struct vt_seg t[5], d[2];

	t[0] = (struct vt_seg){ vt_buf(c, 7, 1), 7, false };
	t[1] = (struct vt_seg){ vt_buf(c, 0, 2), 0, false };
	t[2] = (struct vt_seg){ vt_buf(c, 300, 3), 300, false };
	t[3] = (struct vt_seg){ vt_wbuf(c, 20), 20, true };
	t[4] = (struct vt_seg){ vt_wbuf(c, 30), 30, true };
	d[0] = (struct vt_seg){ vt_buf(c, 12, 4), 12, false };
	d[1] = (struct vt_seg){ vt_wbuf(c, 3), 3, true };
	vt_avail(c, 0, vt_put_direct(c, 0, 0, d, 2));
	vt_put_indirect(c, 0, 15, t, 5);
	vt_avail(c, 0, 15);
	KUNIT_EXPECT_TRUE(test, vt_kick(c, 0));
	KUNIT_ASSERT_EQ(test, vt_drain(c), 1U);
	KUNIT_ASSERT_EQ(test, c->nrecs, 2U);
	vt_expect_chain(c, 0, 0, 0, d, 2);
	vt_expect_chain(c, 0, 0, 15, t, 5);
	KUNIT_EXPECT_EQ(test, c->recs[1].out_len, 307U);
	KUNIT_EXPECT_EQ(test, c->recs[1].in_len, 50U);
}

/* A table of exactly MAX_CHAIN_DESC descriptors is accepted. */
static void req_indirect_max_chain_desc(struct kunit *test)
{
	struct vt_ctx *c = vt_setup(test, &vt_default);
	const unsigned int n = VIRTIO_ARGO_MAX_CHAIN_DESC;
	struct vt_seg *t;
	unsigned int i;
	u8 *buf;

	t = kunit_kcalloc(test, n, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);
	buf = vt_wbuf(c, n);
	for (i = 0; i < n; i++)
		t[i] = (struct vt_seg){ buf + i, 1, true };
	vt_put_indirect(c, 0, 1, t, n);
	vt_avail(c, 0, 1);
	KUNIT_EXPECT_TRUE(test, vt_kick(c, 0));
	KUNIT_ASSERT_EQ(test, vt_drain(c), 1U);
	KUNIT_ASSERT_EQ(test, c->nrecs, 1U);
	KUNIT_EXPECT_EQ(test, c->recs[0].ndesc, n);
	vt_expect_chain(c, 0, 0, 1, t, n);
	KUNIT_EXPECT_FALSE(test, READ_ONCE(c->vad->broken));
}

static struct kunit_case vt_req_cases[] = {
	KUNIT_CASE(req_chain_layout_and_bytes),
	KUNIT_CASE(req_chains_packed_in_one_message),
	KUNIT_CASE(req_full_ring),
	KUNIT_CASE(req_iov_limit_starts_a_new_message),
	KUNIT_CASE(req_chain_split_over_messages),
	KUNIT_CASE(req_many_segments_split_on_iovs),
	KUNIT_CASE(req_indirect_flattened),
	KUNIT_CASE(req_indirect_max_chain_desc),
	{}
};

static struct kunit_suite vt_req_suite = {
	.name = "virtio_argo_vq_req",
	.suite_init = vt_suite_init,
	.suite_exit = vt_suite_exit,
	.exit = vt_exit,
	.test_cases = vt_req_cases,
};

/* ------------------------------------------------------------------ */
/* Hostile chains                                                     */
/* ------------------------------------------------------------------ */

/*
 * The kick that found the bad chain (@kicked is what it returned) broke
 * the device: nothing more sent than the @sent messages before it, nothing
 * new in flight, the virtio core told (the driver sees the queue broken),
 * and a later kick sends nothing either.
 */
static void vt_expect_broken(struct vt_ctx *c, unsigned int qi, bool kicked,
			     u64 sent, u32 inflight)
{
	struct kunit *test = c->test;

	KUNIT_EXPECT_FALSE(test, kicked);
	KUNIT_EXPECT_TRUE(test, READ_ONCE(c->vad->broken));
	KUNIT_EXPECT_EQ(test, vt_drain(c), 0U);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_MSGS), sent);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_HYPERCALLS), sent);
	KUNIT_EXPECT_EQ(test, vt_inflight(c), inflight);
	flush_workqueue(va_wq);
	KUNIT_EXPECT_TRUE(test, virtqueue_is_broken(c->vq[qi]));
	KUNIT_EXPECT_FALSE(test, vt_kick(c, qi));
	KUNIT_EXPECT_EQ(test, vt_drain(c), 0U);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_MSGS), sent);
}

/* Kick a chain written by @setup into queue 0 and expect the break. */
static void vt_hostile(struct kunit *test, const struct vt_cfg *cfg,
		       void (*setup)(struct vt_ctx *c))
{
	struct vt_ctx *c = vt_setup(test, cfg ? cfg : &vt_default);

	setup(c);
	vt_expect_broken(c, 0, vt_kick(c, 0), 0, 0);
}

static void vt_nested_indirect(struct vt_ctx *c)
{
	struct vt_seg inner[1] = { { vt_buf(c, 8, 1), 8, false } };
	struct vt_seg outer[2] = {
		{ vt_buf(c, 8, 2), 8, false },
		{ vt_wbuf(c, 8), 8, true },
	};
	struct vring_desc *t, *t2;

	/* outer[1] becomes an indirect table of its own. */
	t = vt_put_indirect(c, 0, 3, outer, 2);
	t2 = vt_put_indirect(c, 0, 4, inner, 1);
	vt_desc_set(c, &t[1], virt_to_phys(t2), sizeof(*t2),
		    VRING_DESC_F_INDIRECT, 0);
	vt_avail(c, 0, 3);
}

static void hostile_nested_indirect(struct kunit *test)
{
	vt_hostile(test, NULL, vt_nested_indirect);
}

static void vt_indirect_next(struct vt_ctx *c)
{
	struct vt_seg t[1] = { { vt_buf(c, 8, 1), 8, false } };
	struct vt_seg d[1] = { { vt_wbuf(c, 8), 8, true } };
	struct vring_desc *tbl;

	vt_put_direct(c, 0, 6, d, 1);
	tbl = vt_put_indirect(c, 0, 5, t, 1);
	vt_desc(c, 0, 5, virt_to_phys(tbl), sizeof(*tbl),
		VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 6);
	vt_avail(c, 0, 5);
}

static void hostile_indirect_with_next(struct kunit *test)
{
	vt_hostile(test, NULL, vt_indirect_next);
}

static void vt_indirect_odd_len(struct vt_ctx *c)
{
	struct vring_desc *t;
	u8 *buf = vt_buf(c, 8, 1);

	/* Two and a half descriptors, allocated exactly. */
	t = kunit_kzalloc(c->test, 40, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(c->test, t);
	vt_desc_set(c, &t[0], virt_to_phys(buf), 8, VRING_DESC_F_NEXT, 1);
	vt_desc_set(c, &t[1], virt_to_phys(buf), 8, 0, 0);
	vt_desc(c, 0, 0, virt_to_phys(t), 40, VRING_DESC_F_INDIRECT, 0);
	vt_avail(c, 0, 0);
}

static void hostile_indirect_len_not_multiple(struct kunit *test)
{
	vt_hostile(test, NULL, vt_indirect_odd_len);
}

static void vt_indirect_empty(struct vt_ctx *c)
{
	struct vt_seg t[1] = { { vt_buf(c, 8, 1), 8, false } };

	vt_put_indirect(c, 0, 2, t, 1);
	vt_desc(c, 0, 2, virt_to_phys(vt_buf(c, 16, 0)), 0,
		VRING_DESC_F_INDIRECT, 0);
	vt_avail(c, 0, 2);
}

static void hostile_indirect_len_zero(struct kunit *test)
{
	vt_hostile(test, NULL, vt_indirect_empty);
}

static void vt_indirect_ok(struct vt_ctx *c)
{
	struct vt_seg t[2] = {
		{ vt_buf(c, 8, 1), 8, false },
		{ vt_wbuf(c, 8), 8, true },
	};

	vt_put_indirect(c, 0, 2, t, 2);
	vt_avail(c, 0, 2);
}

/* A well-formed table, but the driver was not offered indirect tables. */
static void hostile_indirect_not_negotiated(struct kunit *test)
{
	struct vt_cfg cfg = vt_default;

	cfg.features = 0;
	vt_hostile(test, &cfg, vt_indirect_ok);
}

static void vt_loop_direct(struct vt_ctx *c)
{
	u8 *buf = vt_buf(c, 8, 1);

	vt_desc(c, 0, 4, virt_to_phys(buf), 8, VRING_DESC_F_NEXT, 5);
	vt_desc(c, 0, 5, virt_to_phys(buf), 8, VRING_DESC_F_NEXT, 4);
	vt_avail(c, 0, 4);
}

static void hostile_loop(struct kunit *test)
{
	vt_hostile(test, NULL, vt_loop_direct);
}

static void vt_loop_self(struct vt_ctx *c)
{
	u8 *buf = vt_buf(c, 8, 1);

	vt_desc(c, 0, 0, virt_to_phys(buf), 8, VRING_DESC_F_NEXT, 0);
	vt_avail(c, 0, 0);
}

static void hostile_loop_on_itself(struct kunit *test)
{
	vt_hostile(test, NULL, vt_loop_self);
}

static void vt_loop_indirect(struct vt_ctx *c)
{
	struct vt_seg t[3] = {
		{ vt_buf(c, 8, 1), 8, false },
		{ vt_buf(c, 8, 2), 8, false },
		{ vt_buf(c, 8, 3), 8, false },
	};
	struct vring_desc *tbl = vt_put_indirect(c, 0, 7, t, 3);

	tbl[2].flags = cpu_to_virtio16(vt_vdev(c), VRING_DESC_F_NEXT);
	tbl[2].next = cpu_to_virtio16(vt_vdev(c), 1);
	vt_avail(c, 0, 7);
}

static void hostile_loop_in_indirect_table(struct kunit *test)
{
	vt_hostile(test, NULL, vt_loop_indirect);
}

static void vt_next_out_of_range(struct vt_ctx *c)
{
	u8 *buf = vt_buf(c, 8, 1);

	vt_desc(c, 0, 15, virt_to_phys(buf), 8, VRING_DESC_F_NEXT, 16);
	vt_avail(c, 0, 15);
}

static void hostile_next_out_of_range(struct kunit *test)
{
	vt_hostile(test, NULL, vt_next_out_of_range);
}

static void vt_next_out_of_table(struct vt_ctx *c)
{
	struct vt_seg t[2] = {
		{ vt_buf(c, 8, 1), 8, false },
		{ vt_buf(c, 8, 2), 8, false },
	};
	struct vring_desc *tbl = vt_put_indirect(c, 0, 1, t, 2);

	tbl[1].flags = cpu_to_virtio16(vt_vdev(c), VRING_DESC_F_NEXT);
	tbl[1].next = cpu_to_virtio16(vt_vdev(c), 2);
	vt_avail(c, 0, 1);
}

static void hostile_next_out_of_indirect_table(struct kunit *test)
{
	vt_hostile(test, NULL, vt_next_out_of_table);
}

static void vt_read_after_write(struct vt_ctx *c)
{
	struct vt_seg s[3] = {
		{ vt_buf(c, 8, 1), 8, false },
		{ vt_wbuf(c, 8), 8, true },
		{ vt_buf(c, 8, 2), 8, false },
	};

	vt_avail(c, 0, vt_put_direct(c, 0, 8, s, 3));
}

static void hostile_readable_after_writable(struct kunit *test)
{
	vt_hostile(test, NULL, vt_read_after_write);
}

static void vt_read_after_write_indirect(struct vt_ctx *c)
{
	struct vt_seg t[2] = {
		{ vt_wbuf(c, 8), 8, true },
		{ vt_buf(c, 8, 2), 8, false },
	};

	vt_put_indirect(c, 0, 3, t, 2);
	vt_avail(c, 0, 3);
}

static void hostile_readable_after_writable_indirect(struct kunit *test)
{
	vt_hostile(test, NULL, vt_read_after_write_indirect);
}

static void vt_too_many_descs(struct vt_ctx *c)
{
	const unsigned int n = VIRTIO_ARGO_MAX_CHAIN_DESC + 1;
	struct vt_seg *t;
	unsigned int i;
	u8 *buf = vt_wbuf(c, 1);

	t = kunit_kcalloc(c->test, n, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(c->test, t);
	for (i = 0; i < n; i++)
		t[i] = (struct vt_seg){ buf, 1, true };
	vt_put_indirect(c, 0, 0, t, n);
	vt_avail(c, 0, 0);
}

static void hostile_more_than_max_chain_desc(struct kunit *test)
{
	vt_hostile(test, NULL, vt_too_many_descs);
}

static void vt_too_many_bytes(struct vt_ctx *c)
{
	const u32 blk = 64 * 1024;
	const unsigned int n = VIRTIO_ARGO_MAX_CHAIN_BYTES / blk + 1;
	struct vt_seg *t;
	unsigned int i;
	u8 *buf = vt_buf(c, blk, 1);

	/* 16 MiB + 64 KiB to read: every descriptor names the same 64 KiB. */
	t = kunit_kcalloc(c->test, n, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(c->test, t);
	for (i = 0; i < n; i++)
		t[i] = (struct vt_seg){ buf, blk, false };
	vt_put_indirect(c, 0, 9, t, n);
	vt_avail(c, 0, 9);
}

static void hostile_more_than_max_chain_bytes(struct kunit *test)
{
	vt_hostile(test, NULL, vt_too_many_bytes);
}

static void vt_outside_memory(struct vt_ctx *c)
{
	vt_desc(c, 0, 2, 1ULL << 52, 64, 0, 0);
	vt_avail(c, 0, 2);
}

static void hostile_buffer_outside_memory(struct kunit *test)
{
	vt_hostile(test, NULL, vt_outside_memory);
}

static void vt_table_outside_memory(struct vt_ctx *c)
{
	vt_desc(c, 0, 2, 1ULL << 52, 64, VRING_DESC_F_INDIRECT, 0);
	vt_avail(c, 0, 2);
}

static void hostile_indirect_table_outside_memory(struct kunit *test)
{
	vt_hostile(test, NULL, vt_table_outside_memory);
}

static void vt_head_out_of_range(struct vt_ctx *c)
{
	struct vt_seg s[1] = { { vt_buf(c, 8, 1), 8, false } };

	vt_put_direct(c, 0, 0, s, 1);
	vt_avail(c, 0, 16);
}

static void hostile_head_out_of_range(struct kunit *test)
{
	vt_hostile(test, NULL, vt_head_out_of_range);
}

static void vt_avail_too_far(struct vt_ctx *c)
{
	struct vt_seg s[1] = { { vt_buf(c, 8, 1), 8, false } };

	/* Every entry names a valid chain; the index is num + 1 ahead. */
	vt_put_direct(c, 0, 0, s, 1);
	vt_avail_idx(c, 0, 17);
}

static void hostile_avail_index_too_far_ahead(struct kunit *test)
{
	vt_hostile(test, NULL, vt_avail_too_far);
}

static void vt_head_twice(struct vt_ctx *c)
{
	struct vt_seg s[2] = {
		{ vt_buf(c, 8, 1), 8, false },
		{ vt_wbuf(c, 8), 8, true },
	};

	vt_put_direct(c, 0, 3, s, 2);
	vt_avail(c, 0, 3);
	vt_avail(c, 0, 3);
}

static void hostile_same_head_twice(struct kunit *test)
{
	vt_hostile(test, NULL, vt_head_twice);
}

/* A head made available again while the backend still has it. */
static void hostile_head_in_flight(struct kunit *test)
{
	struct vt_ctx *c = vt_setup(test, &vt_default);
	struct vt_req r;

	vt_req_send(c, &r, 0, 3);
	vt_avail(c, 0, r.head);
	vt_expect_broken(c, 0, vt_kick(c, 0), 1, 1);
	KUNIT_EXPECT_EQ(test, vt_count_first(c, 0, r.head), 1U);
}

static struct kunit_case vt_hostile_cases[] = {
	KUNIT_CASE(hostile_nested_indirect),
	KUNIT_CASE(hostile_indirect_with_next),
	KUNIT_CASE(hostile_indirect_len_not_multiple),
	KUNIT_CASE(hostile_indirect_len_zero),
	KUNIT_CASE(hostile_indirect_not_negotiated),
	KUNIT_CASE(hostile_loop),
	KUNIT_CASE(hostile_loop_on_itself),
	KUNIT_CASE(hostile_loop_in_indirect_table),
	KUNIT_CASE(hostile_next_out_of_range),
	KUNIT_CASE(hostile_next_out_of_indirect_table),
	KUNIT_CASE(hostile_readable_after_writable),
	KUNIT_CASE(hostile_readable_after_writable_indirect),
	KUNIT_CASE(hostile_more_than_max_chain_desc),
	KUNIT_CASE(hostile_more_than_max_chain_bytes),
	KUNIT_CASE(hostile_buffer_outside_memory),
	KUNIT_CASE(hostile_indirect_table_outside_memory),
	KUNIT_CASE(hostile_head_out_of_range),
	KUNIT_CASE(hostile_avail_index_too_far_ahead),
	KUNIT_CASE(hostile_same_head_twice),
	KUNIT_CASE(hostile_head_in_flight),
	{}
};

static struct kunit_suite vt_hostile_suite = {
	.name = "virtio_argo_vq_hostile",
	.suite_init = vt_suite_init,
	.suite_exit = vt_suite_exit,
	.exit = vt_exit,
	.test_cases = vt_hostile_cases,
};

/* ------------------------------------------------------------------ */
/* Flow control                                                       */
/* ------------------------------------------------------------------ */

/*
 * A full backend ring: the send fails with -EAGAIN, the cursor stays where
 * the last message sent left it (in the middle of a chain), kicks meanwhile
 * try nothing; once the backend drains, tx_ready resumes and every chain
 * arrives once, in the order the driver made them available.
 */
static void flow_eagain_keeps_cursor_and_resumes(struct kunit *test)
{
	struct vt_cfg cfg = vt_default;
	unsigned int i, first[16];
	struct vt_seg s[16][1];
	struct va_queue q;
	struct vt_ctx *c;
	u16 order[16];
	u64 eagain;

	cfg.be_ring = VT_SMALL_RING;
	c = vt_setup(test, &cfg);
	/*
	 * 3000-byte chains: five whole ones and the start of a sixth fill a
	 * message, and the ring takes one message.
	 */
	for (i = 0; i < 16; i++) {
		order[i] = (i * 5) % 16;
		s[i][0] = (struct vt_seg){ vt_buf(c, 3000, i), 3000, false };
		vt_put_direct(c, 0, order[i], s[i], 1);
		vt_avail(c, 0, order[i]);
	}
	KUNIT_EXPECT_TRUE(test, vt_kick(c, 0));
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_MSGS), 1ULL);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_EAGAIN), 1ULL);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_HYPERCALLS), 2ULL);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_CHAINS), 6ULL);
	KUNIT_EXPECT_TRUE(test, vt_tx_blocked(c));
	KUNIT_EXPECT_EQ(test, vt_inflight(c), 6U);
	for (i = 0; i < 16; i++)
		KUNIT_EXPECT_EQ_MSG(test, vt_in_flight(c, 0, order[i]), i < 6,
				    "chain %u", i);

	/* Blocked: a kick is not an error and tries nothing. */
	KUNIT_EXPECT_TRUE(test, vt_kick(c, 0));
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_HYPERCALLS), 2ULL);

	/*
	 * The cursor is where the message sent left it (read before the
	 * drain, after which tx_ready may move it on).
	 */
	q = vt_q(c, 0);
	KUNIT_ASSERT_EQ(test, vt_drain(c), 1U);
	KUNIT_ASSERT_EQ(test, c->nrecs, 6U);
	KUNIT_EXPECT_EQ(test, q.last_avail, 6);
	KUNIT_EXPECT_TRUE(test, q.cur_active);
	KUNIT_EXPECT_EQ(test, q.cur_head, order[5]);
	KUNIT_EXPECT_EQ(test, q.cur_off, c->recs[5].len);
	KUNIT_EXPECT_LT(test, c->recs[5].len, 3000U);

	vt_pump(c, 16);
	for (i = 0; i < 16; i++) {
		KUNIT_EXPECT_EQ(test, vt_count_first(c, 0, order[i]), 1U);
		vt_expect_chain(c, 0, 0, order[i], s[i], 1);
	}
	/* In the driver's order: each chain starts after the one before. */
	for (i = 0; i < c->nrecs; i++) {
		unsigned int k;

		for (k = 0; k < 16; k++)
			if (c->recs[i].id == order[k] &&
			    (c->recs[i].flags & VIRTIO_ARGO_CHAIN_FIRST))
				first[k] = i;
	}
	for (i = 1; i < 16; i++)
		KUNIT_EXPECT_GT_MSG(test, first[i], first[i - 1], "chain %u", i);
	eagain = vt_stat(c, VA_STAT_TX_EAGAIN);
	KUNIT_EXPECT_GE(test, eagain, 1ULL);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_MSGS), (u64)c->nmsgs);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_HYPERCALLS),
			c->nmsgs + eagain);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_CHAINS), 16ULL);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_BYTES), 16 * 3000ULL);
	KUNIT_EXPECT_EQ(test, vt_inflight(c), 16U);
	KUNIT_EXPECT_EQ(test, atomic_read(&c->backend_checks), 0);
}

/* -EAGAIN in the middle of a chain: it resumes at the byte it stopped. */
static void flow_eagain_mid_chain_resumes_at_offset(struct kunit *test)
{
	struct vt_cfg cfg = vt_default;
	struct vt_seg a[2];
	struct va_queue q;
	struct vt_ctx *c;

	cfg.be_ring = VT_SMALL_RING;
	c = vt_setup(test, &cfg);
	a[0] = (struct vt_seg){ vt_buf(c, 40000, 1), 40000, false };
	a[1] = (struct vt_seg){ vt_wbuf(c, 8), 8, true };
	vt_avail(c, 0, vt_put_direct(c, 0, 11, a, 2));
	KUNIT_EXPECT_TRUE(test, vt_kick(c, 0));
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_MSGS), 1ULL);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_EAGAIN), 1ULL);
	q = vt_q(c, 0);
	KUNIT_ASSERT_EQ(test, vt_drain(c), 1U);
	KUNIT_ASSERT_EQ(test, c->nrecs, 1U);
	KUNIT_EXPECT_TRUE(test, q.cur_active);
	KUNIT_EXPECT_EQ(test, q.cur_head, 11);
	KUNIT_EXPECT_EQ(test, q.cur_off, c->recs[0].len);
	KUNIT_EXPECT_EQ(test, q.last_avail, 1);

	vt_pump(c, 1);
	KUNIT_EXPECT_EQ(test, vt_expect_chain(c, 0, 0, 11, a, 2), c->nrecs);
	KUNIT_EXPECT_EQ(test, vt_count_first(c, 0, 11), 1U);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_CHAINS), 1ULL);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_BYTES), 40000ULL);
}

/* More messages than a kick's budget: the work item sends the rest. */
static void flow_budget_continues_from_work(struct kunit *test)
{
	const unsigned int nread = (VA_TX_BUDGET + 1) * (ARGO_MAX_SEGS - 1);
	struct vt_ctx *c = vt_setup(test, &vt_default);
	struct vt_seg *t;
	unsigned int i;
	u8 *buf;

	/* One byte per descriptor: seven per message, 17 messages. */
	t = kunit_kcalloc(test, nread + 1, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);
	buf = vt_buf(c, nread, 9);
	for (i = 0; i < nread; i++)
		t[i] = (struct vt_seg){ buf + i, 1, false };
	t[nread] = (struct vt_seg){ vt_wbuf(c, 4), 4, true };
	vt_put_indirect(c, 0, 0, t, nread + 1);
	vt_avail(c, 0, 0);
	KUNIT_EXPECT_TRUE(test, vt_kick(c, 0));
	vt_pump(c, 1);
	KUNIT_EXPECT_EQ(test, c->nmsgs, VA_TX_BUDGET + 1U);
	KUNIT_EXPECT_EQ(test, c->nrecs, VA_TX_BUDGET + 1U);
	KUNIT_EXPECT_EQ(test, vt_expect_chain(c, 0, 0, 0, t, nread + 1),
			c->nrecs);
	for (i = 0; i < c->nrecs; i++)
		KUNIT_EXPECT_EQ(test, c->recs[i].len, ARGO_MAX_SEGS - 1U);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_MSGS), VA_TX_BUDGET + 1ULL);
}

/*
 * A lost device's requests complete at once and none is sent, including
 * one the driver made available after va_vq_fail_all() and before its
 * kick, when the tx_ready that an earlier -EAGAIN left due comes in
 * between.  With EVENT_IDX the driver kicks only if the device has not
 * taken the entry yet: a chain taken by tx_ready and sent to the lost
 * backend is neither completed nor kicked for, and the driver waits for
 * ever.
 */
static void flow_lost_device_sends_nothing_on_tx_ready(struct kunit *test)
{
	struct vt_cfg cfg = vt_default;
	struct vt_seg x[1], y[1], z[2];
	unsigned long deadline;
	const struct vring *vr;
	struct vt_ctx *c;
	bool kick;

	cfg.be_ring = VT_SMALL_RING;
	cfg.features |= BIT_ULL(VIRTIO_RING_F_EVENT_IDX);
	c = vt_setup(test, &cfg);
	vr = vt_vr(c, 0);
	/* x fills the backend's ring, y meets -EAGAIN. */
	x[0] = (struct vt_seg){ vt_buf(c, 16000, 1), 16000, false };
	y[0] = (struct vt_seg){ vt_buf(c, 1000, 2), 1000, false };
	vt_avail(c, 0, vt_put_direct(c, 0, 0, x, 1));
	vt_avail(c, 0, vt_put_direct(c, 0, 1, y, 1));
	KUNIT_EXPECT_TRUE(test, vt_kick(c, 0));
	KUNIT_ASSERT_EQ(test, vt_stat(c, VA_STAT_TX_EAGAIN), 1ULL);
	KUNIT_ASSERT_TRUE(test, vt_tx_blocked(c));

	va_vq_fail_all(c->vad);
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, 0), 2);
	z[0] = (struct vt_seg){ vt_buf(c, 8, 3), 8, false };
	z[1] = (struct vt_seg){ vt_wbuf(c, 8), 8, true };
	vt_avail(c, 0, vt_put_direct(c, 0, 2, z, 2));

	/* The backend drains x: the core calls tx_ready. */
	deadline = jiffies + VT_TIMEOUT;
	do {
		vt_drain(c);
		usleep_range(1000, 3000);
	} while (vt_tx_blocked(c) && time_before(jiffies, deadline));
	KUNIT_ASSERT_FALSE(test, vt_tx_blocked(c));
	flush_workqueue(va_wq);
	vt_drain(c);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_MSGS), 1ULL);
	KUNIT_EXPECT_EQ(test, vt_count_first(c, 0, 2), 0U);

	/* What virtqueue_kick_prepare() decides for z. */
	kick = vring_need_event(virtio16_to_cpu(vt_vdev(c),
						vring_avail_event(vr)), 3, 2);
	KUNIT_EXPECT_TRUE_MSG(test, kick || vt_used_idx(c, 0) == 3,
			      "z neither completed nor kicked for");
	if (kick)
		KUNIT_EXPECT_TRUE(test, vt_kick(c, 0));
	flush_workqueue(va_wq);
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, 0), 3);
	vt_expect_used(c, 0, 2, 2, 0);
	KUNIT_EXPECT_EQ(test, vt_inflight(c), 0U);
}

/*
 * The backend completes a chain of which it has only the first record
 * (it failed it): the rest of the chain is never sent, its buffers being
 * the driver's again, and the next chain goes on.
 */
static void flow_completed_chain_is_not_sent_further(struct kunit *test)
{
	struct vt_cfg cfg = vt_default;
	struct vt_seg a[2], b[2];
	struct vt_ctx *c;

	cfg.be_ring = VT_SMALL_RING;
	c = vt_setup(test, &cfg);
	a[0] = (struct vt_seg){ vt_buf(c, 40000, 1), 40000, false };
	a[1] = (struct vt_seg){ vt_wbuf(c, 8), 8, true };
	b[0] = (struct vt_seg){ vt_buf(c, 100, 2), 100, false };
	b[1] = (struct vt_seg){ vt_wbuf(c, 1), 1, true };
	vt_avail(c, 0, vt_put_direct(c, 0, 11, a, 2));
	vt_avail(c, 0, vt_put_direct(c, 0, 0, b, 2));
	KUNIT_EXPECT_TRUE(test, vt_kick(c, 0));
	KUNIT_ASSERT_EQ(test, vt_stat(c, VA_STAT_TX_EAGAIN), 1ULL);
	KUNIT_ASSERT_TRUE(test, vt_q(c, 0).cur_active);

	/* Before its ring drains, the backend fails a (nothing written). */
	vt_comp1(c, 0, VT_FL, 11, 0, 0, 0, NULL);
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, 0), 1);
	vt_expect_used(c, 0, 0, 11, 0);
	KUNIT_EXPECT_FALSE(test, vt_q(c, 0).cur_active);

	vt_pump(c, 1);
	KUNIT_EXPECT_EQ(test, vt_count_first(c, 0, 11), 1U);
	KUNIT_EXPECT_EQ(test, c->nrecs, 2U);
	KUNIT_EXPECT_EQ(test, c->recs[0].id, 11);
	KUNIT_EXPECT_EQ(test, c->recs[0].flags, VIRTIO_ARGO_CHAIN_FIRST);
	vt_expect_chain(c, 1, 0, 0, b, 2);
	KUNIT_EXPECT_EQ(test, vt_inflight(c), 1U);
	KUNIT_EXPECT_TRUE(test, vt_untouched(a[1].buf, 8));
}

static struct kunit_case vt_flow_cases[] = {
	KUNIT_CASE(flow_eagain_keeps_cursor_and_resumes),
	KUNIT_CASE(flow_eagain_mid_chain_resumes_at_offset),
	KUNIT_CASE(flow_budget_continues_from_work),
	KUNIT_CASE(flow_completed_chain_is_not_sent_further),
	KUNIT_CASE(flow_lost_device_sends_nothing_on_tx_ready),
	{}
};

static struct kunit_suite vt_flow_suite = {
	.name = "virtio_argo_vq_flow",
	.suite_init = vt_suite_init,
	.suite_exit = vt_suite_exit,
	.exit = vt_exit,
	.test_cases = vt_flow_cases,
};

/* ------------------------------------------------------------------ */
/* Completions                                                        */
/* ------------------------------------------------------------------ */

/* The written bytes land in the writable buffers; the used entry follows. */
static void comp_valid_copies_and_publishes(struct kunit *test)
{
	struct vt_ctx *c = vt_setup(test, &vt_default);
	struct vt_snap snap;
	struct vt_req r;
	u8 out[16], *w;

	vt_req_send(c, &r, 0, 5);
	w = vt_written(c, 25);
	vt_comp1(c, 0, VT_FL, r.head, 25, 0, 25, w);
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, 0), 1);
	vt_expect_used(c, 0, 0, r.head, 25);
	vt_expect_req_written(c, &r, w, 25);
	KUNIT_EXPECT_EQ(test, atomic_read(&c->irqs[0]), 1);
	KUNIT_EXPECT_FALSE(test, vt_in_flight(c, 0, r.head));
	KUNIT_EXPECT_EQ(test, vt_inflight(c), 0U);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_RX_MSGS), 1ULL);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_RX_CHAINS), 1ULL);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_RX_BYTES), 25ULL);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_RX_COPIES), 2ULL);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_MALFORMED), 0ULL);
	/* The readable bytes are the driver's: never written. */
	vt_fill(out, 16, 5);
	KUNIT_EXPECT_EQ(test, memcmp(r.s[0].buf, out, 16), 0);

	/* The same completion again: the chain is no longer in flight. */
	vt_snap(c, &snap);
	vt_comp1(c, 0, VT_FL, r.head, 25, 0, 25, w);
	vt_expect_dropped(c, &snap, 1, 0);
}

/* A completion in several records and messages, applied as it comes. */
static void comp_in_several_records(struct kunit *test)
{
	struct vt_ctx *c = vt_setup(test, &vt_default);
	struct vt_comp two[2];
	struct vt_req r;
	u8 *w;

	vt_req_send(c, &r, 1, 2);
	w = vt_written(c, 30);
	vt_comp1(c, 1, VIRTIO_ARGO_CHAIN_FIRST, r.head, 0, 0, 12, w);
	/* Copied at once, not yet published. */
	vt_expect_req_written(c, &r, w, 12);
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, 1), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&c->irqs[1]), 0);
	KUNIT_EXPECT_TRUE(test, vt_in_flight(c, 1, r.head));

	two[0] = (struct vt_comp){ 1, 0, r.head, 0, 12, 8, w + 12 };
	two[1] = (struct vt_comp){ 1, VIRTIO_ARGO_CHAIN_LAST, r.head, 30, 20,
				   10, w + 20 };
	vt_comp(c, two, 2);
	vt_expect_req_written(c, &r, w, 30);
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, 1), 1);
	vt_expect_used(c, 1, 0, r.head, 30);
	KUNIT_EXPECT_EQ(test, atomic_read(&c->irqs[1]), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&c->irqs[0]), 0);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_RX_CHAINS), 1ULL);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_RX_BYTES), 30ULL);
}

/* Out of order, two queues, one message; a chain that wrote nothing. */
static void comp_out_of_order_across_queues(struct kunit *test)
{
	struct vt_ctx *c = vt_setup(test, &vt_default);
	struct vt_req a, b, d;
	struct vt_comp rec[3];
	u8 *w = vt_written(c, 30);

	vt_req_send(c, &a, 0, 0);
	vt_req_send(c, &b, 0, 3);
	vt_req_send(c, &d, 1, 5);
	rec[0] = (struct vt_comp){ 0, VT_FL, b.head, 4, 0, 4, w };
	rec[1] = (struct vt_comp){ 1, VT_FL, d.head, 0, 0, 0, NULL };
	rec[2] = (struct vt_comp){ 0, VT_FL, a.head, 11, 0, 11, w + 4 };
	vt_comp(c, rec, 3);
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, 0), 2);
	vt_expect_used(c, 0, 0, b.head, 4);
	vt_expect_used(c, 0, 1, a.head, 11);
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, 1), 1);
	vt_expect_used(c, 1, 0, d.head, 0);
	vt_expect_req_written(c, &b, w, 4);
	vt_expect_req_written(c, &a, w + 4, 11);
	KUNIT_EXPECT_TRUE(test, vt_req_untouched(&d));
	/* One interrupt per queue for the whole message. */
	KUNIT_EXPECT_EQ(test, atomic_read(&c->irqs[0]), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&c->irqs[1]), 1);
	KUNIT_EXPECT_EQ(test, vt_inflight(c), 0U);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_RX_CHAINS), 3ULL);
}

/* Through the virtio core's driver API, as virtio_blk or virtio_net use it. */
static void comp_through_virtio_core_api(struct kunit *test)
{
	struct vt_ctx *c = vt_setup(test, &vt_default);
	struct scatterlist sg[3][3], *sgs[3][3];
	u8 *hdr[3], *data[3], *in[3];
	unsigned int i, len;
	struct vt_comp rec[2];
	u8 *w = vt_written(c, 64);
	u16 id[3];

	for (i = 0; i < 3; i++) {
		hdr[i] = vt_buf(c, 16, i);
		data[i] = vt_buf(c, 200 + i, 10 + i);
		in[i] = vt_wbuf(c, 64);
		sg_init_one(&sg[i][0], hdr[i], 16);
		sg_init_one(&sg[i][1], data[i], 200 + i);
		sg_init_one(&sg[i][2], in[i], 64);
		sgs[i][0] = &sg[i][0];
		sgs[i][1] = &sg[i][1];
		sgs[i][2] = &sg[i][2];
		KUNIT_ASSERT_EQ(test, virtqueue_add_sgs(c->vq[0], sgs[i], 2, 1,
							hdr[i], GFP_KERNEL), 0);
	}
	KUNIT_EXPECT_TRUE(test, virtqueue_kick(c->vq[0]));
	KUNIT_ASSERT_EQ(test, vt_drain(c), 1U);
	KUNIT_ASSERT_EQ(test, c->nrecs, 3U);
	for (i = 0; i < 3; i++) {
		struct vt_seg s[3] = {
			{ hdr[i], 16, false },
			{ data[i], 200 + i, false },
			{ in[i], 64, true },
		};

		id[i] = c->recs[i].id;
		vt_expect_chain(c, i, 0, id[i], s, 3);
	}

	/* The second first, then the other two in one message. */
	vt_comp1(c, 0, VT_FL, id[1], 40, 0, 40, w);
	KUNIT_EXPECT_EQ(test, atomic_read(&c->irqs[0]), 1);
	KUNIT_EXPECT_PTR_EQ(test, virtqueue_get_buf(c->vq[0], &len),
			    (void *)hdr[1]);
	KUNIT_EXPECT_EQ(test, len, 40U);
	KUNIT_EXPECT_EQ(test, memcmp(in[1], w, 40), 0);
	KUNIT_EXPECT_TRUE(test, vt_untouched(in[1] + 40, 24));
	KUNIT_EXPECT_NULL(test, virtqueue_get_buf(c->vq[0], &len));

	rec[0] = (struct vt_comp){ 0, VT_FL, id[2], 64, 0, 64, w };
	rec[1] = (struct vt_comp){ 0, VT_FL, id[0], 1, 0, 1, w + 5 };
	vt_comp(c, rec, 2);
	KUNIT_EXPECT_PTR_EQ(test, virtqueue_get_buf(c->vq[0], &len),
			    (void *)hdr[2]);
	KUNIT_EXPECT_EQ(test, len, 64U);
	KUNIT_EXPECT_EQ(test, memcmp(in[2], w, 64), 0);
	KUNIT_EXPECT_PTR_EQ(test, virtqueue_get_buf(c->vq[0], &len),
			    (void *)hdr[0]);
	KUNIT_EXPECT_EQ(test, len, 1U);
	KUNIT_EXPECT_EQ(test, in[0][0], w[5]);
	KUNIT_EXPECT_TRUE(test, vt_untouched(in[0] + 1, 63));
	KUNIT_EXPECT_NULL(test, virtqueue_get_buf(c->vq[0], &len));
	KUNIT_EXPECT_FALSE(test, virtqueue_is_broken(c->vq[0]));
}

/* Completions naming no chain in flight. */
static void comp_unknown_queue_or_id(struct kunit *test)
{
	struct vt_ctx *c = vt_setup(test, &vt_default);
	struct vt_snap snap;
	struct vt_req r;
	u8 *w = vt_written(c, 4);

	vt_req_send(c, &r, 0, 5);
	vt_snap(c, &snap);
	/* A queue the device does not have. */
	vt_comp1(c, 2, VT_FL, r.head, 4, 0, 4, w);
	vt_comp1(c, 0xffff, VT_FL, r.head, 4, 0, 4, w);
	/* An id never sent, an id beyond the queue, the right id elsewhere. */
	vt_comp1(c, 0, VT_FL, 6, 4, 0, 4, w);
	vt_comp1(c, 0, VT_FL, 16, 4, 0, 4, w);
	vt_comp1(c, 1, VT_FL, r.head, 4, 0, 4, w);
	vt_expect_dropped(c, &snap, 5, 0);
	KUNIT_EXPECT_TRUE(test, vt_req_untouched(&r));
	KUNIT_EXPECT_TRUE(test, vt_in_flight(c, 0, r.head));
	/* The chain itself can still complete. */
	vt_comp1(c, 0, VT_FL, r.head, 4, 0, 4, w);
	vt_expect_used(c, 0, 0, r.head, 4);
	vt_expect_req_written(c, &r, w, 4);
}

/* More bytes than the chain's writable space. */
static void comp_written_beyond_in_len(struct kunit *test)
{
	struct vt_ctx *c = vt_setup(test, &vt_default);
	u8 *w = vt_written(c, VT_REQ_IN + 1);
	struct vt_comp two[2];
	struct vt_snap snap;
	struct vt_req r;

	vt_req_send(c, &r, 0, 5);
	vt_snap(c, &snap);
	vt_comp1(c, 0, VT_FL, r.head, VT_REQ_IN + 1, 0, VT_REQ_IN + 1, w);
	two[0] = (struct vt_comp){ 0, VIRTIO_ARGO_CHAIN_FIRST, r.head, 0, 0,
				   20, w };
	two[1] = (struct vt_comp){ 0, VIRTIO_ARGO_CHAIN_LAST, r.head,
				   VT_REQ_IN + 1, 20, VT_REQ_IN + 1 - 20,
				   w + 20 };
	vt_comp(c, two, 2);
	vt_expect_dropped(c, &snap, 2, 0);
	KUNIT_EXPECT_TRUE(test, vt_req_untouched(&r));
	vt_comp1(c, 0, VT_FL, r.head, VT_REQ_IN, 0, VT_REQ_IN, w);
	vt_expect_used(c, 0, 0, r.head, VT_REQ_IN);
	vt_expect_req_written(c, &r, w, VT_REQ_IN);
}

/* Ranges that do not continue the chain, in one message or across two. */
static void comp_ranges_must_continue(struct kunit *test)
{
	struct vt_ctx *c = vt_setup(test, &vt_default);
	u8 *w = vt_written(c, 25);
	struct vt_comp two[2];
	struct vt_snap snap;
	struct vt_req r;

	vt_req_send(c, &r, 0, 5);
	vt_snap(c, &snap);
	/* No CHAIN_FIRST on the chain's first record. */
	vt_comp1(c, 0, VIRTIO_ARGO_CHAIN_LAST, r.head, 5, 0, 5, w);
	/* A gap. */
	two[0] = (struct vt_comp){ 0, VIRTIO_ARGO_CHAIN_FIRST, r.head, 0, 0,
				   5, w };
	two[1] = (struct vt_comp){ 0, VIRTIO_ARGO_CHAIN_LAST, r.head, 10, 7,
				   3, w + 7 };
	vt_comp(c, two, 2);
	/* An overlap. */
	two[1] = (struct vt_comp){ 0, VIRTIO_ARGO_CHAIN_LAST, r.head, 7, 3,
				   4, w + 3 };
	vt_comp(c, two, 2);
	/* CHAIN_FIRST twice. */
	two[1] = (struct vt_comp){ 0, VT_FL, r.head, 5, 0, 5, w };
	vt_comp(c, two, 2);
	/* A record after CHAIN_LAST. */
	two[0] = (struct vt_comp){ 0, VT_FL, r.head, 5, 0, 5, w };
	two[1] = (struct vt_comp){ 0, VIRTIO_ARGO_CHAIN_LAST, r.head, 5, 5,
				   0, NULL };
	vt_comp(c, two, 2);
	vt_expect_dropped(c, &snap, 5, 0);
	KUNIT_EXPECT_TRUE(test, vt_req_untouched(&r));

	/* Across messages: the first range is taken, a second FIRST is not. */
	vt_comp1(c, 0, VIRTIO_ARGO_CHAIN_FIRST, r.head, 0, 0, 5, w);
	vt_expect_req_written(c, &r, w, 5);
	vt_snap(c, &snap);
	vt_comp1(c, 0, VIRTIO_ARGO_CHAIN_FIRST, r.head, 0, 0, 5, w);
	vt_comp1(c, 0, VIRTIO_ARGO_CHAIN_LAST, r.head, 25, 6, 19, w + 6);
	vt_expect_dropped(c, &snap, 2, 0);
	vt_expect_req_written(c, &r, w, 5);
	vt_comp1(c, 0, VIRTIO_ARGO_CHAIN_LAST, r.head, 25, 5, 20, w + 5);
	vt_expect_used(c, 0, 0, r.head, 25);
	vt_expect_req_written(c, &r, w, 25);
}

/* The payload must be exactly the records' bytes. */
static void comp_payload_length_must_match(struct kunit *test)
{
	struct vt_ctx *c = vt_setup(test, &vt_default);
	struct vt_comp rec = { 0, VT_FL, 0, 9, 0, 9, NULL };
	u8 *w = vt_written(c, 9);
	struct vt_snap snap;
	struct vt_req r;

	vt_req_send(c, &r, 0, 5);
	rec.id = r.head;
	rec.bytes = w;
	vt_snap(c, &snap);
	vt_comp_msg(c, VIRTIO_ARGO_T_DATA_COMP, VT_HANDLE, VT_SESSION, &rec, 1,
		    8);
	vt_comp_msg(c, VIRTIO_ARGO_T_DATA_COMP, VT_HANDLE, VT_SESSION, &rec, 1,
		    -1);
	vt_expect_dropped(c, &snap, 2, 0);
	KUNIT_EXPECT_TRUE(test, vt_req_untouched(&r));
	vt_comp(c, &rec, 1);
	vt_expect_used(c, 0, 0, r.head, 9);
}

/* One bad record: nothing of the message is applied, good records neither. */
static void comp_bad_record_drops_whole_message(struct kunit *test)
{
	struct vt_ctx *c = vt_setup(test, &vt_default);
	u8 *w = vt_written(c, 30);
	struct vt_comp two[2];
	struct vt_snap snap;
	struct vt_req a, b;

	vt_req_send(c, &a, 0, 0);
	vt_req_send(c, &b, 0, 3);
	vt_snap(c, &snap);
	two[0] = (struct vt_comp){ 0, VT_FL, a.head, 30, 0, 30, w };
	two[1] = (struct vt_comp){ 0, VIRTIO_ARGO_CHAIN_LAST, b.head, 1, 0, 1,
				   w };
	vt_comp(c, two, 2);
	vt_expect_dropped(c, &snap, 1, 0);
	KUNIT_EXPECT_TRUE(test, vt_req_untouched(&a));
	KUNIT_EXPECT_TRUE(test, vt_req_untouched(&b));
	/* Nothing of the check stayed behind: a's completion still applies. */
	vt_comp(c, &two[0], 1);
	vt_expect_used(c, 0, 0, a.head, 30);
	vt_expect_req_written(c, &a, w, 30);
	KUNIT_EXPECT_TRUE(test, vt_in_flight(c, 0, b.head));
}

/* Not a completion of this device and session. */
static void comp_wrong_header(struct kunit *test)
{
	struct vt_ctx *c = vt_setup(test, &vt_default);
	struct vt_comp rec = { 0, VT_FL, 0, 3, 0, 3, NULL };
	struct vt_snap snap;
	struct vt_req r;

	vt_req_send(c, &r, 0, 5);
	rec.id = r.head;
	rec.bytes = vt_written(c, 3);
	vt_snap(c, &snap);
	vt_comp_msg(c, VIRTIO_ARGO_T_DATA_COMP, VT_HANDLE + 1, VT_SESSION,
		    &rec, 1, 0);
	vt_comp_msg(c, VIRTIO_ARGO_T_DATA_REQ, VT_HANDLE, VT_SESSION, &rec, 1,
		    0);
	vt_comp_msg(c, VIRTIO_ARGO_T_DATA_COMP, VT_HANDLE, VT_SESSION, &rec, 0,
		    0);
	vt_expect_dropped(c, &snap, 3, 0);
	/* Another session: stale, not malformed. */
	vt_snap(c, &snap);
	vt_comp_msg(c, VIRTIO_ARGO_T_DATA_COMP, VT_HANDLE, VT_SESSION + 1,
		    &rec, 1, 0);
	vt_expect_dropped(c, &snap, 0, 1);
	KUNIT_EXPECT_TRUE(test, vt_req_untouched(&r));
}

/* VRING_AVAIL_F_NO_INTERRUPT: published, no callback. */
static void comp_no_interrupt_flag(struct kunit *test)
{
	struct vt_ctx *c = vt_setup(test, &vt_default);
	const struct vring *vr;
	struct vt_req a, b;

	vt_req_send(c, &a, 0, 0);
	vt_req_send(c, &b, 0, 3);
	vr = vt_vr(c, 0);
	vr->avail->flags = cpu_to_virtio16(vt_vdev(c),
					   VRING_AVAIL_F_NO_INTERRUPT);
	vt_comp1(c, 0, VT_FL, a.head, 0, 0, 0, NULL);
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, 0), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&c->irqs[0]), 0);
	vr->avail->flags = 0;
	vt_comp1(c, 0, VT_FL, b.head, 0, 0, 0, NULL);
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, 0), 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&c->irqs[0]), 1);
}

/* VIRTIO_RING_F_EVENT_IDX: the avail event asks for the next kick, the used
 * event says when to interrupt.
 */
static void comp_event_idx(struct kunit *test)
{
	struct vt_cfg cfg = vt_default;
	const struct vring *vr;
	struct vt_req a, b;
	struct vt_ctx *c;

	cfg.features |= BIT_ULL(VIRTIO_RING_F_EVENT_IDX);
	c = vt_setup(test, &cfg);
	vr = vt_vr(c, 0);
	vt_req_send(c, &a, 0, 0);
	KUNIT_EXPECT_EQ(test, virtio16_to_cpu(vt_vdev(c),
					      vring_avail_event(vr)), 1);
	vt_req_send(c, &b, 0, 3);
	KUNIT_EXPECT_EQ(test, virtio16_to_cpu(vt_vdev(c),
					      vring_avail_event(vr)), 2);
	/* Interrupt once the used index passes 1: not for the first. */
	vring_used_event(vr) = cpu_to_virtio16(vt_vdev(c), 1);
	vt_comp1(c, 0, VT_FL, a.head, 0, 0, 0, NULL);
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, 0), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&c->irqs[0]), 0);
	vt_comp1(c, 0, VT_FL, b.head, 0, 0, 0, NULL);
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, 0), 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&c->irqs[0]), 1);
}

static struct kunit_case vt_comp_cases[] = {
	KUNIT_CASE(comp_valid_copies_and_publishes),
	KUNIT_CASE(comp_in_several_records),
	KUNIT_CASE(comp_out_of_order_across_queues),
	KUNIT_CASE(comp_through_virtio_core_api),
	KUNIT_CASE(comp_unknown_queue_or_id),
	KUNIT_CASE(comp_written_beyond_in_len),
	KUNIT_CASE(comp_ranges_must_continue),
	KUNIT_CASE(comp_payload_length_must_match),
	KUNIT_CASE(comp_bad_record_drops_whole_message),
	KUNIT_CASE(comp_wrong_header),
	KUNIT_CASE(comp_no_interrupt_flag),
	KUNIT_CASE(comp_event_idx),
	{}
};

static struct kunit_suite vt_comp_suite = {
	.name = "virtio_argo_vq_comp",
	.suite_init = vt_suite_init,
	.suite_exit = vt_suite_exit,
	.exit = vt_exit,
	.test_cases = vt_comp_cases,
};

/* ------------------------------------------------------------------ */
/* Failing everything, resetting                                      */
/* ------------------------------------------------------------------ */

/*
 * A block device's backend is lost with a chain in flight, one half sent
 * and one waiting behind a full ring: each completes with IOERR in its
 * status byte, the half-sent one is not sent further, and later requests
 * fail at once without being sent.
 */
static void fail_all_block_requests_get_ioerr(struct kunit *test)
{
	struct vt_cfg cfg = vt_default;
	struct vt_seg a[3], b[2], d[2], e[1];
	unsigned long deadline;
	unsigned int i, seen = 0;
	struct vt_ctx *c;

	cfg.device_id = VIRTIO_ID_BLOCK;
	cfg.be_ring = VT_SMALL_RING;
	c = vt_setup(test, &cfg);
	a[0] = (struct vt_seg){ vt_buf(c, 16, 1), 16, false };
	a[1] = (struct vt_seg){ vt_wbuf(c, 512), 512, true };
	a[2] = (struct vt_seg){ vt_wbuf(c, 1), 1, true };
	b[0] = (struct vt_seg){ vt_buf(c, 20000, 2), 20000, false };
	b[1] = (struct vt_seg){ vt_wbuf(c, 1), 1, true };
	d[0] = (struct vt_seg){ vt_buf(c, 16, 3), 16, false };
	d[1] = (struct vt_seg){ vt_wbuf(c, 1), 1, true };
	e[0] = (struct vt_seg){ vt_wbuf(c, 1), 1, true };
	vt_avail(c, 0, vt_put_direct(c, 0, 0, a, 3));
	vt_avail(c, 0, vt_put_direct(c, 0, 3, b, 2));
	vt_avail(c, 0, vt_put_direct(c, 0, 5, d, 2));
	KUNIT_EXPECT_TRUE(test, vt_kick(c, 0));
	KUNIT_ASSERT_EQ(test, vt_stat(c, VA_STAT_TX_MSGS), 1ULL);
	KUNIT_ASSERT_EQ(test, vt_stat(c, VA_STAT_TX_EAGAIN), 1ULL);
	KUNIT_ASSERT_TRUE(test, vt_q(c, 0).cur_active);
	KUNIT_ASSERT_EQ(test, vt_inflight(c), 2U);

	va_vq_fail_all(c->vad);
	KUNIT_EXPECT_TRUE(test, READ_ONCE(c->vad->lost));
	KUNIT_EXPECT_EQ(test, vt_inflight(c), 0U);
	KUNIT_ASSERT_EQ(test, vt_used_idx(c, 0), 3);
	for (i = 0; i < 3; i++) {
		const struct vring_used_elem *u = &vt_vr(c, 0)->used->ring[i];
		u32 id = virtio32_to_cpu(vt_vdev(c), u->id);
		u32 len = virtio32_to_cpu(vt_vdev(c), u->len);

		KUNIT_EXPECT_TRUE(test, id == 0 || id == 3 || id == 5);
		if (id == 0 || id == 3 || id == 5)
			seen |= BIT(id);
		KUNIT_EXPECT_EQ(test, len, id == 0 ? 513U : 1U);
	}
	KUNIT_EXPECT_EQ(test, seen, BIT(0) | BIT(3) | BIT(5));
	KUNIT_EXPECT_EQ(test, a[2].buf[0], VIRTIO_BLK_S_IOERR);
	KUNIT_EXPECT_EQ(test, b[1].buf[0], VIRTIO_BLK_S_IOERR);
	KUNIT_EXPECT_EQ(test, d[1].buf[0], VIRTIO_BLK_S_IOERR);
	KUNIT_EXPECT_TRUE(test, vt_untouched(a[1].buf, 512));
	KUNIT_EXPECT_GE(test, atomic_read(&c->irqs[0]), 1);

	/* The ring drains, tx_ready comes: nothing more of b is sent. */
	deadline = jiffies + VT_TIMEOUT;
	do {
		vt_drain(c);
		usleep_range(1000, 3000);
	} while (vt_tx_blocked(c) && time_before(jiffies, deadline));
	KUNIT_EXPECT_FALSE(test, vt_tx_blocked(c));
	flush_workqueue(va_wq);
	vt_drain(c);
	KUNIT_EXPECT_EQ(test, c->nmsgs, 1U);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_MSGS), 1ULL);

	/* A later request fails at once. */
	vt_avail(c, 0, vt_put_direct(c, 0, 7, e, 1));
	KUNIT_EXPECT_TRUE(test, vt_kick(c, 0));
	flush_workqueue(va_wq);
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, 0), 4);
	vt_expect_used(c, 0, 3, 7, 1);
	KUNIT_EXPECT_EQ(test, e[0].buf[0], VIRTIO_BLK_S_IOERR);
	KUNIT_EXPECT_EQ(test, vt_drain(c), 0U);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_HYPERCALLS), 2ULL);
}

/* Another device type: the chains complete with nothing written. */
static void fail_all_other_device_writes_nothing(struct kunit *test)
{
	struct vt_ctx *c = vt_setup(test, &vt_default);
	struct vt_seg b[1];
	struct vt_snap snap;
	struct vt_req a;

	vt_req_send(c, &a, 0, 0);
	b[0] = (struct vt_seg){ vt_wbuf(c, 8), 8, true };
	vt_avail(c, 1, vt_put_direct(c, 1, 4, b, 1));
	va_vq_fail_all(c->vad);
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, 0), 1);
	vt_expect_used(c, 0, 0, a.head, 0);
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, 1), 1);
	vt_expect_used(c, 1, 0, 4, 0);
	KUNIT_EXPECT_TRUE(test, vt_req_untouched(&a));
	KUNIT_EXPECT_TRUE(test, vt_untouched(b[0].buf, 8));
	KUNIT_EXPECT_EQ(test, atomic_read(&c->irqs[0]), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&c->irqs[1]), 1);
	KUNIT_EXPECT_EQ(test, vt_drain(c), 0U);

	/* The backend's late completion is stale: the chain is the driver's. */
	vt_snap(c, &snap);
	vt_comp1(c, 0, VT_FL, a.head, 4, 0, 4, vt_written(c, 4));
	vt_expect_dropped(c, &snap, 0, 1);
	KUNIT_EXPECT_TRUE(test, vt_req_untouched(&a));
}

/* After a reset, the old session's completions are stale. */
static void reset_old_session_is_stale(struct kunit *test)
{
	struct vt_ctx *c = vt_setup(test, &vt_default);
	u8 *w = vt_written(c, 6);
	struct vt_comp rec = { 0, VT_FL, 0, 6, 0, 6, w };
	struct vt_snap snap;
	struct vt_req r;
	u32 old;

	vt_req_send(c, &r, 0, 5);
	rec.id = r.head;
	old = c->vad->session;
	va_vq_reset(c->vad);
	KUNIT_EXPECT_NE(test, c->vad->session, old);
	KUNIT_EXPECT_NE(test, c->vad->session, 0U);
	KUNIT_EXPECT_EQ(test, vt_inflight(c), 0U);
	KUNIT_EXPECT_FALSE(test, vt_in_flight(c, 0, r.head));

	vt_snap(c, &snap);
	vt_comp_msg(c, VIRTIO_ARGO_T_DATA_COMP, VT_HANDLE, old, &rec, 1, 0);
	vt_expect_dropped(c, &snap, 0, 1);
	KUNIT_EXPECT_TRUE(test, vt_req_untouched(&r));
	/* In the new session the chain is not in flight. */
	vt_comp(c, &rec, 1);
	vt_expect_dropped(c, &snap, 1, 1);
	KUNIT_EXPECT_TRUE(test, vt_req_untouched(&r));

	/* The driver sets its ring up again: the new session carries it. */
	vt_ring_reinit(c, 0);
	vt_avail(c, 0, r.head);
	KUNIT_EXPECT_TRUE(test, vt_kick(c, 0));
	KUNIT_ASSERT_EQ(test, vt_drain(c), 1U);
	KUNIT_EXPECT_EQ(test, c->recs[1].session, c->vad->session);
	vt_expect_chain(c, 1, 0, r.head, r.s, 3);
	vt_comp(c, &rec, 1);
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, 0), 1);
	vt_expect_used(c, 0, 0, r.head, 6);
	vt_expect_req_written(c, &r, w, 6);
}

/* A reset clears the transport's broken state. */
static void reset_clears_broken(struct kunit *test)
{
	struct vt_ctx *c = vt_setup(test, &vt_default);
	struct vt_seg s[2];

	vt_read_after_write(c);
	vt_expect_broken(c, 0, vt_kick(c, 0), 0, 0);
	va_vq_reset(c->vad);
	KUNIT_EXPECT_FALSE(test, READ_ONCE(c->vad->broken));
	vt_ring_reinit(c, 0);
	s[0] = (struct vt_seg){ vt_buf(c, 8, 1), 8, false };
	s[1] = (struct vt_seg){ vt_wbuf(c, 8), 8, true };
	vt_avail(c, 0, vt_put_direct(c, 0, 0, s, 2));
	KUNIT_EXPECT_TRUE(test, vt_kick(c, 0));
	KUNIT_ASSERT_EQ(test, vt_drain(c), 1U);
	vt_expect_chain(c, 0, 0, 0, s, 2);
}

static struct kunit_case vt_session_cases[] = {
	KUNIT_CASE(fail_all_block_requests_get_ioerr),
	KUNIT_CASE(fail_all_other_device_writes_nothing),
	KUNIT_CASE(reset_old_session_is_stale),
	KUNIT_CASE(reset_clears_broken),
	{}
};

static struct kunit_suite vt_session_suite = {
	.name = "virtio_argo_vq_session",
	.suite_init = vt_suite_init,
	.suite_exit = vt_suite_exit,
	.exit = vt_exit,
	.test_cases = vt_session_cases,
};

/* ------------------------------------------------------------------ */
/* The backlog                                                        */
/* ------------------------------------------------------------------ */

/*
 * A console as virtio_console drives it: queue 0 receives (writable
 * chains), queue 1 transmits (readable only), OUT_NOCOMP accepted, the
 * smallest data ring, an 8 KiB backlog.
 */
static const struct vt_cfg vt_console = {
	.nq = 2,
	.qsize = { 16, 32 },
	.device_id = VIRTIO_ID_CONSOLE,
	.be_ring = VT_SMALL_RING,
	.features = BIT_ULL(VIRTIO_RING_F_INDIRECT_DESC),
	.proto = VIRTIO_ARGO_F_OUT_NOCOMP,
	.backlog = 8192,
};

#define VT_TXQ	1

/* A transmit buffer of @len bytes at descriptor @head, made available. */
static struct vt_seg vt_out(struct vt_ctx *c, u16 head, u32 len, u8 seed)
{
	struct vt_seg s = { vt_buf(c, len, seed), len, false };

	vt_avail(c, VT_TXQ, vt_put_direct(c, VT_TXQ, head, &s, 1));
	return s;
}

/*
 * Fill the backend's ring: one transmit buffer of 14000 bytes, sent and
 * used at once (OUT_NOCOMP), leaving no room for a message of 3000.
 */
static struct vt_seg vt_fill_ring(struct vt_ctx *c, u16 head)
{
	struct vt_seg s = vt_out(c, head, 14000, 0xf1);

	KUNIT_EXPECT_TRUE(c->test, vt_kick(c, VT_TXQ));
	KUNIT_EXPECT_EQ(c->test, vt_stat(c, VA_STAT_TX_EARLY), 1ULL);
	KUNIT_EXPECT_FALSE(c->test, vt_tx_blocked(c));
	return s;
}

/* One readable segment of @n segments' bytes, as the backlog joins them. */
static struct vt_seg vt_cat(struct vt_ctx *c, const struct vt_seg *s,
			    unsigned int n)
{
	struct vt_seg r = { NULL, 0, false };
	unsigned int i;

	for (i = 0; i < n; i++)
		r.len += s[i].len;
	r.buf = vt_buf(c, r.len, 0);
	for (i = 0, r.len = 0; i < n; i++) {
		memcpy(r.buf + r.len, s[i].buf, s[i].len);
		r.len += s[i].len;
	}
	return r;
}

/*
 * The ring full, each transmit buffer is used the moment it is kicked
 * (put_chars() spins until it is), its bytes kept; once the backend
 * drains, the kept chains go, in the driver's order, each as one readable
 * descriptor with exactly its bytes, before any newer chain.
 */
static void backlog_keeps_output_of_a_full_ring(struct kunit *test)
{
	struct vt_ctx *c = vt_setup(test, &vt_console);
	struct vt_seg a, b, d, e, cat;

	a = vt_fill_ring(c, 0);
	b = vt_out(c, 1, 3000, 1);
	KUNIT_EXPECT_TRUE(test, vt_kick(c, VT_TXQ));
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_EAGAIN), 1ULL);
	KUNIT_EXPECT_TRUE(test, vt_tx_blocked(c));
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, VT_TXQ), 2);
	vt_expect_used(c, VT_TXQ, 1, 1, 0);
	d = vt_out(c, 2, 2000, 2);
	e = vt_out(c, 3, 1, 3);
	KUNIT_EXPECT_TRUE(test, vt_kick(c, VT_TXQ));
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, VT_TXQ), 4);
	vt_expect_used(c, VT_TXQ, 2, 2, 0);
	vt_expect_used(c, VT_TXQ, 3, 3, 0);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_KEPT), 3ULL);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_DROPPED), 0ULL);
	KUNIT_EXPECT_EQ(test, vt_inflight(c), 0U);
	/* Blocked: the kicks sent nothing more. */
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_MSGS), 1ULL);

	/* Port 0's output: the three joined, one chain of their bytes. */
	KUNIT_EXPECT_EQ(test, c->vad->bl.n, 1U);
	cat = vt_cat(c, (struct vt_seg[]){ b, d, e }, 3);
	vt_pump(c, 2);
	KUNIT_ASSERT_EQ(test, c->nrecs, 2U);
	vt_expect_chain(c, 0, VT_TXQ, 0, &a, 1);
	vt_expect_chain(c, 1, VT_TXQ, 1, &cat, 1);
	KUNIT_EXPECT_EQ(test, c->recs[1].flags, VT_FL);
	KUNIT_EXPECT_EQ(test, c->nmsgs, 2U);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_CHAINS), 2ULL);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_BYTES), 19001ULL);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_EARLY), 1ULL);

	/* Afterwards the next chain goes straight from the ring. */
	a = vt_out(c, 1, 100, 4);
	KUNIT_EXPECT_TRUE(test, vt_kick(c, VT_TXQ));
	KUNIT_ASSERT_EQ(test, vt_drain(c), 1U);
	vt_expect_chain(c, 2, VT_TXQ, 1, &a, 1);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_KEPT), 3ULL);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_EARLY), 2ULL);
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, VT_TXQ), 5);
}

/*
 * A backlog that is full: a chain that does not fit is used unsent and
 * counted, with its bytes; one that fits again later is kept.  What
 * arrives is the driver's output in order, less the dropped chains.
 */
static void backlog_full_drops_and_counts(struct kunit *test)
{
	struct vt_ctx *c = vt_setup(test, &vt_console);
	struct vt_seg b[6], kept;
	unsigned int i;

	vt_fill_ring(c, 0);
	/* 3000 + 3000 kept; 3000, 3000 and 2500 do not fit; 1000 does. */
	b[0] = vt_out(c, 1, 3000, 1);
	b[1] = vt_out(c, 2, 3000, 2);
	b[2] = vt_out(c, 3, 3000, 3);
	b[3] = vt_out(c, 4, 3000, 4);
	b[4] = vt_out(c, 5, 2500, 5);
	b[5] = vt_out(c, 6, 1000, 6);
	KUNIT_EXPECT_TRUE(test, vt_kick(c, VT_TXQ));
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, VT_TXQ), 7);
	for (i = 0; i < 6; i++)
		vt_expect_used(c, VT_TXQ, i + 1, i + 1, 0);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_KEPT), 3ULL);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_DROPPED), 3ULL);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_DROPPED_BYTES), 8500ULL);

	/* What was kept, joined: the output less the dropped chains. */
	kept = vt_cat(c, (struct vt_seg[]){ b[0], b[1], b[5] }, 3);
	vt_pump(c, 2);
	KUNIT_ASSERT_EQ(test, c->nrecs, 2U);
	vt_expect_chain(c, 1, VT_TXQ, 1, &kept, 1);
	for (i = 2; i <= 6; i++)
		KUNIT_EXPECT_EQ(test, vt_count_first(c, VT_TXQ, i), 0U);
	KUNIT_EXPECT_EQ(test, vt_inflight(c), 0U);
}

/*
 * A transmit buffer larger than the largest message, the ring being free,
 * is kept alone and used at once, then sent in pieces from the backlog;
 * buffers made available meanwhile, the ring full, follow it.
 */
static void backlog_carries_chains_larger_than_a_message(struct kunit *test)
{
	struct vt_cfg cfg = vt_console;
	struct vt_seg l, m[10], flat, n;
	struct vt_ctx *c;
	unsigned int i, r;
	u8 *cat;

	cfg.backlog = 65536;
	c = vt_setup(test, &cfg);
	l = vt_out(c, 0, 40000, 1);
	KUNIT_EXPECT_TRUE(test, vt_kick(c, VT_TXQ));
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, VT_TXQ), 1);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_KEPT), 1ULL);
	KUNIT_EXPECT_TRUE(test, vt_tx_blocked(c));

	cat = vt_buf(c, 1000, 0);
	for (i = 0; i < 10; i++) {
		m[i] = (struct vt_seg){ vt_buf(c, 100, 10 + i), 100, false };
		memcpy(cat + i * 100, m[i].buf, 100);
	}
	flat = (struct vt_seg){ cat, 1000, false };
	vt_avail(c, VT_TXQ, vt_put_direct(c, VT_TXQ, 1, m, 10));
	n = vt_out(c, 11, 100, 2);
	KUNIT_EXPECT_TRUE(test, vt_kick(c, VT_TXQ));
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, VT_TXQ), 3);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_KEPT), 3ULL);

	/*
	 * The backend has l's start: m and n join each other, not l, and
	 * go as one chain once l is whole.
	 */
	KUNIT_EXPECT_EQ(test, c->vad->bl.n, 2U);
	flat = vt_cat(c, (struct vt_seg[]){ flat, n }, 2);
	vt_pump(c, 2);
	r = vt_expect_chain(c, 0, VT_TXQ, 0, &l, 1);
	KUNIT_EXPECT_GE(test, r, 3U);	/* 40000 bytes: three messages */
	KUNIT_EXPECT_EQ(test, vt_expect_chain(c, r, VT_TXQ, 1, &flat, 1),
			c->nrecs);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_BYTES), 41100ULL);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_CHAINS), 2ULL);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_DROPPED), 0ULL);
}

/*
 * A chain with writable bytes is not the driver's to spin on: it waits
 * for ring space in its queue's order, and so does a transmit buffer made
 * available after it on the same queue.
 */
static void backlog_leaves_writable_chains_in_order(struct kunit *test)
{
	struct vt_ctx *c = vt_setup(test, &vt_console);
	struct vt_seg a, w[2], x;

	a = vt_fill_ring(c, 0);
	w[0] = (struct vt_seg){ vt_buf(c, 4000, 1), 4000, false };
	w[1] = (struct vt_seg){ vt_wbuf(c, 64), 64, true };
	vt_avail(c, VT_TXQ, vt_put_direct(c, VT_TXQ, 1, w, 2));
	x = vt_out(c, 3, 50, 2);
	KUNIT_EXPECT_TRUE(test, vt_kick(c, VT_TXQ));
	KUNIT_EXPECT_TRUE(test, vt_tx_blocked(c));
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, VT_TXQ), 1);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_KEPT), 0ULL);

	vt_pump(c, 3);
	KUNIT_ASSERT_EQ(test, c->nrecs, 3U);
	vt_expect_chain(c, 0, VT_TXQ, 0, &a, 1);
	vt_expect_chain(c, 1, VT_TXQ, 1, w, 2);
	vt_expect_chain(c, 2, VT_TXQ, 3, &x, 1);
	KUNIT_EXPECT_TRUE(test, vt_in_flight(c, VT_TXQ, 1));
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, VT_TXQ), 2);
}

/*
 * More to send than a kick's budget while the ring has room: the transmit
 * buffers the kick did not send are kept and used, and tx_work sends them
 * after the others.
 */
static void backlog_keeps_what_the_budget_leaves(struct kunit *test)
{
	const unsigned int nchains = VA_TX_BUDGET + 4;
	const unsigned int nseg = ARGO_MAX_SEGS - 1;
	struct vt_cfg cfg = vt_console;
	unsigned int i, k, r = 0;
	struct vt_seg *t, *flat;
	struct vt_ctx *c;

	cfg.be_ring = VT_BE_RING;
	cfg.backlog = 65536;
	c = vt_setup(test, &cfg);
	t = kunit_kcalloc(test, nchains * nseg, sizeof(*t), GFP_KERNEL);
	flat = kunit_kcalloc(test, nchains, sizeof(*flat), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);
	KUNIT_ASSERT_NOT_NULL(test, flat);
	/* Seven one-byte descriptors each: one chain fills a send's iovs. */
	for (i = 0; i < nchains; i++) {
		u8 *buf = vt_buf(c, nseg, i);

		for (k = 0; k < nseg; k++)
			t[i * nseg + k] = (struct vt_seg){ buf + k, 1, false };
		flat[i] = (struct vt_seg){ buf, nseg, false };
		vt_put_indirect(c, VT_TXQ, i, &t[i * nseg], nseg);
		vt_avail(c, VT_TXQ, i);
	}
	KUNIT_EXPECT_TRUE(test, vt_kick(c, VT_TXQ));
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_EAGAIN), 0ULL);
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, VT_TXQ), nchains);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_EARLY), VA_TX_BUDGET + 0ULL);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_KEPT), 4ULL);
	/* The four kept ones joined: one chain, the first one's id. */
	vt_pump(c, VA_TX_BUDGET + 1);
	for (i = 0; i < VA_TX_BUDGET; i++)
		r = vt_expect_chain(c, r, VT_TXQ, i, &t[i * nseg], nseg);
	flat[0] = vt_cat(c, &flat[VA_TX_BUDGET], 4);
	r = vt_expect_chain(c, r, VT_TXQ, VA_TX_BUDGET, &flat[0], 1);
	KUNIT_EXPECT_EQ(test, r, c->nrecs);
}

/*
 * More descriptors than a send's iovs, the ring free: the chain before it
 * goes in a message of its own, then it is kept alone and sent as one
 * descriptor of its bytes; nothing is refused by the ring.
 */
static void backlog_keeps_a_chain_of_too_many_descriptors(struct kunit *test)
{
	struct vt_ctx *c = vt_setup(test, &vt_console);
	struct vt_seg p, m[10], flat;
	unsigned int i;
	u8 *cat;

	p = vt_out(c, 0, 100, 1);
	cat = vt_buf(c, 1000, 0);
	for (i = 0; i < 10; i++) {
		m[i] = (struct vt_seg){ vt_buf(c, 100, 10 + i), 100, false };
		memcpy(cat + i * 100, m[i].buf, 100);
	}
	flat = (struct vt_seg){ cat, 1000, false };
	vt_avail(c, VT_TXQ, vt_put_direct(c, VT_TXQ, 1, m, 10));
	KUNIT_EXPECT_TRUE(test, vt_kick(c, VT_TXQ));
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, VT_TXQ), 2);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_KEPT), 1ULL);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_EAGAIN), 0ULL);
	KUNIT_ASSERT_EQ(test, vt_drain(c), 2U);
	KUNIT_ASSERT_EQ(test, c->nrecs, 2U);
	vt_expect_chain(c, 0, VT_TXQ, 0, &p, 1);
	vt_expect_chain(c, 1, VT_TXQ, 1, &flat, 1);
	KUNIT_EXPECT_NE(test, c->recs[0].msg, c->recs[1].msg);
}

/*
 * A chain larger than the backlog, the ring free: it is neither kept nor
 * dropped but sent in parts from the driver's ring, as on any device.
 */
static void backlog_lets_a_chain_larger_than_itself_go_in_parts(struct kunit *test)
{
	struct vt_cfg cfg = vt_console;
	struct vt_ctx *c;
	struct vt_seg l;

	cfg.backlog = 4096;
	c = vt_setup(test, &cfg);
	l = vt_out(c, 0, 40000, 1);
	KUNIT_EXPECT_TRUE(test, vt_kick(c, VT_TXQ));
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_KEPT), 0ULL);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_DROPPED), 0ULL);
	KUNIT_EXPECT_TRUE(test, vt_q(c, VT_TXQ).cur_active);
	vt_pump(c, 1);
	KUNIT_EXPECT_GE(test, vt_expect_chain(c, 0, VT_TXQ, 0, &l, 1), 3U);
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, VT_TXQ), 1);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_EARLY), 1ULL);
}

/*
 * hvc0's output is a byte stream: small writes kept one after another,
 * the same transmit buffer each time as put_chars() reuses it, join one
 * entry of the backlog and arrive as one chain with all their bytes.
 */
static void backlog_joins_port0_output(struct kunit *test)
{
	struct vt_ctx *c = vt_setup(test, &vt_console);
	struct vt_seg all, blk;
	unsigned int i;
	u8 *cat;

	vt_fill_ring(c, 0);
	blk = vt_out(c, 2, 3000, 0x42);
	KUNIT_EXPECT_TRUE(test, vt_kick(c, VT_TXQ));
	KUNIT_ASSERT_TRUE(test, vt_tx_blocked(c));
	cat = vt_buf(c, 3000 + 40 * 16, 0);
	memcpy(cat, blk.buf, 3000);
	for (i = 0; i < 40; i++) {
		struct vt_seg s = vt_out(c, 1, 16, i);

		memcpy(cat + 3000 + i * 16, s.buf, 16);
		KUNIT_EXPECT_TRUE(test, vt_kick(c, VT_TXQ));
	}
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, VT_TXQ), 42);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_KEPT), 41ULL);
	KUNIT_EXPECT_EQ(test, c->vad->bl.n, 1U);
	all = (struct vt_seg){ cat, 3000 + 40 * 16, false };
	vt_pump(c, 2);
	KUNIT_ASSERT_EQ(test, c->nrecs, 2U);
	vt_expect_chain(c, 1, VT_TXQ, 2, &all, 1);
}

/*
 * Only transmitq0 and the control transmitq have a backlog; control
 * messages are never joined; a generic port's output (transmitq1, queue
 * 5) waits for ring space.  Kept chains of one queue do not hold another
 * queue back.
 */
static void backlog_only_on_the_queues_the_driver_spins_on(struct kunit *test)
{
	struct vt_cfg cfg = vt_console;
	struct vt_seg a, c0, c1, g;
	struct vt_ctx *c;

	cfg.nq = 6;
	cfg.qsize[2] = 8;
	cfg.qsize[3] = 8;
	cfg.qsize[4] = 8;
	cfg.qsize[5] = 8;
	c = vt_setup(test, &cfg);
	a = vt_fill_ring(c, 0);
	c0 = (struct vt_seg){ vt_buf(c, 8, 1), 8, false };
	c1 = (struct vt_seg){ vt_buf(c, 8, 2), 8, false };
	vt_avail(c, 3, vt_put_direct(c, 3, 0, &c0, 1));
	vt_avail(c, 3, vt_put_direct(c, 3, 1, &c1, 1));
	g = (struct vt_seg){ vt_buf(c, 3000, 3), 3000, false };
	vt_avail(c, 5, vt_put_direct(c, 5, 0, &g, 1));
	KUNIT_EXPECT_TRUE(test, vt_kick(c, 3));
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, 3), 2);
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, 5), 0);
	KUNIT_EXPECT_EQ(test, c->vad->bl.n, 2U);
	vt_pump(c, 4);
	KUNIT_ASSERT_EQ(test, c->nrecs, 4U);
	vt_expect_chain(c, 0, VT_TXQ, 0, &a, 1);
	vt_expect_chain(c, 1, 3, 0, &c0, 1);
	vt_expect_chain(c, 2, 3, 1, &c1, 1);
	vt_expect_chain(c, 3, 5, 0, &g, 1);
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, 5), 1);
}

/* A full list of kept chains drops the next one, bytes left or not. */
static void backlog_drops_when_out_of_entries(struct kunit *test)
{
	struct vt_cfg cfg = vt_console;
	struct vt_ctx *c;
	unsigned int i, nkept;

	cfg.nq = 4;
	cfg.qsize[2] = 8;
	cfg.qsize[3] = 8;
	c = vt_setup(test, &cfg);
	nkept = c->vad->bl.nkept;
	KUNIT_EXPECT_EQ(test, nkept, 8192U / VA_BL_BYTES_PER_CHAIN);
	vt_fill_ring(c, 0);
	vt_out(c, 1, 3000, 1);
	KUNIT_EXPECT_TRUE(test, vt_kick(c, VT_TXQ));
	KUNIT_ASSERT_TRUE(test, vt_tx_blocked(c));
	/* Control messages, never joined: nkept - 1 entries left. */
	for (i = 0; i < nkept + 1; i++) {
		struct vt_seg m = { vt_buf(c, 8, i), 8, false };

		vt_avail(c, 3, vt_put_direct(c, 3, 0, &m, 1));
		KUNIT_EXPECT_TRUE(test, vt_kick(c, 3));
	}
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, 3), (u16)(nkept + 1));
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_KEPT), (u64)nkept);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_DROPPED), 2ULL);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_DROPPED_BYTES), 16ULL);
	vt_pump(c, nkept + 1);
}

/* The backlog's byte ring wraps: a kept chain across its end is whole. */
static void backlog_wraps(struct kunit *test)
{
	struct vt_ctx *c = vt_setup(test, &vt_console);
	struct vt_seg b, d, e;

	vt_fill_ring(c, 0);
	b = vt_out(c, 1, 6000, 1);
	KUNIT_EXPECT_TRUE(test, vt_kick(c, VT_TXQ));
	vt_pump(c, 2);
	vt_expect_chain(c, 1, VT_TXQ, 1, &b, 1);
	KUNIT_EXPECT_EQ(test, c->vad->bl.head, 6000U);

	d = vt_out(c, 2, 14000, 2);
	KUNIT_EXPECT_TRUE(test, vt_kick(c, VT_TXQ));
	e = vt_out(c, 3, 4000, 3);
	KUNIT_EXPECT_TRUE(test, vt_kick(c, VT_TXQ));
	KUNIT_ASSERT_EQ(test, vt_stat(c, VA_STAT_TX_KEPT), 2ULL);
	vt_pump(c, 4);
	vt_expect_chain(c, 2, VT_TXQ, 2, &d, 1);
	vt_expect_chain(c, 3, VT_TXQ, 3, &e, 1);
	KUNIT_EXPECT_EQ(test, c->vad->bl.head, (6000U + 4000U) % 8192U);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_DROPPED), 0ULL);
}

/* A kept chain the backend had only in part when reset is lost whole. */
static void backlog_reset_counts_a_half_sent_chain_whole(struct kunit *test)
{
	struct vt_cfg cfg = vt_console;
	struct vt_ctx *c;

	cfg.backlog = 65536;
	c = vt_setup(test, &cfg);
	vt_out(c, 0, 40000, 1);
	KUNIT_EXPECT_TRUE(test, vt_kick(c, VT_TXQ));
	KUNIT_ASSERT_EQ(test, vt_stat(c, VA_STAT_TX_KEPT), 1ULL);
	KUNIT_ASSERT_TRUE(test, vt_tx_blocked(c));
	KUNIT_ASSERT_GT(test, c->vad->bl.sent, 0U);
	va_vq_reset(c->vad);
	vt_ring_reinit(c, VT_TXQ);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_DROPPED), 1ULL);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_DROPPED_BYTES), 40000ULL);
	KUNIT_EXPECT_EQ(test, c->vad->queues[VT_TXQ].kept, 0);
}

/* Keep 3000 and 100 bytes behind a full ring. */
static void vt_keep_two(struct vt_ctx *c)
{
	vt_fill_ring(c, 0);
	vt_out(c, 1, 3000, 1);
	vt_out(c, 2, 100, 2);
	KUNIT_EXPECT_TRUE(c->test, vt_kick(c, VT_TXQ));
	KUNIT_ASSERT_EQ(c->test, vt_stat(c, VA_STAT_TX_KEPT), 2ULL);
	KUNIT_ASSERT_EQ(c->test, vt_used_idx(c, VT_TXQ), 3);
}

/* The backend is lost: what was kept is dropped, and counted. */
static void backlog_dropped_when_the_backend_is_lost(struct kunit *test)
{
	struct vt_ctx *c = vt_setup(test, &vt_console);

	vt_keep_two(c);
	va_vq_fail_all(c->vad);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_DROPPED), 2ULL);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_DROPPED_BYTES), 3100ULL);
	vt_pump(c, 1);
	KUNIT_EXPECT_EQ(test, c->nrecs, 1U);
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, VT_TXQ), 3);
}

/* A reset confirmed by the backend drops what the old session kept. */
static void backlog_dropped_on_reset(struct kunit *test)
{
	struct vt_ctx *c = vt_setup(test, &vt_console);
	struct vt_seg n;

	vt_keep_two(c);
	va_vq_reset(c->vad);
	vt_ring_reinit(c, VT_TXQ);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_DROPPED), 2ULL);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_DROPPED_BYTES), 3100ULL);
	vt_pump(c, 1);
	KUNIT_EXPECT_EQ(test, c->nrecs, 1U);
	/* The new session starts with an empty backlog. */
	n = vt_out(c, 5, 10, 3);
	KUNIT_EXPECT_TRUE(test, vt_kick(c, VT_TXQ));
	KUNIT_ASSERT_EQ(test, vt_drain(c), 1U);
	vt_expect_chain(c, 1, VT_TXQ, 5, &n, 1);
	KUNIT_EXPECT_EQ(test, c->recs[1].session, c->vad->session);
}

/*
 * Only a console under OUT_NOCOMP has a backlog: a network device's
 * transmit buffer waits for ring space (its driver does not spin, and a
 * packet must not be dropped for a slow backend), and so does a console's
 * whose backend completes every chain itself.
 */
static void backlog_only_for_a_console_under_out_nocomp(struct kunit *test)
{
	struct vt_cfg cfg = vt_console;
	struct vt_ctx *c;

	cfg.device_id = VIRTIO_ID_NET;
	c = vt_setup(test, &cfg);
	KUNIT_EXPECT_NULL(test, c->vad->bl.buf);
	vt_fill_ring(c, 0);
	vt_out(c, 1, 3000, 1);
	KUNIT_EXPECT_TRUE(test, vt_kick(c, VT_TXQ));
	KUNIT_EXPECT_TRUE(test, vt_tx_blocked(c));
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, VT_TXQ), 1);
	KUNIT_EXPECT_EQ(test, vt_stat(c, VA_STAT_TX_KEPT), 0ULL);
	vt_pump(c, 2);
	KUNIT_EXPECT_EQ(test, vt_used_idx(c, VT_TXQ), 2);
	vt_exit(test);
	test->priv = NULL;

	cfg = vt_console;
	cfg.proto = 0;
	c = vt_setup(test, &cfg);
	KUNIT_EXPECT_NULL(test, c->vad->bl.buf);
}

static struct kunit_case vt_backlog_cases[] = {
	KUNIT_CASE(backlog_keeps_output_of_a_full_ring),
	KUNIT_CASE(backlog_full_drops_and_counts),
	KUNIT_CASE(backlog_carries_chains_larger_than_a_message),
	KUNIT_CASE(backlog_leaves_writable_chains_in_order),
	KUNIT_CASE(backlog_keeps_a_chain_of_too_many_descriptors),
	KUNIT_CASE(backlog_lets_a_chain_larger_than_itself_go_in_parts),
	KUNIT_CASE(backlog_joins_port0_output),
	KUNIT_CASE(backlog_only_on_the_queues_the_driver_spins_on),
	KUNIT_CASE(backlog_drops_when_out_of_entries),
	KUNIT_CASE(backlog_wraps),
	KUNIT_CASE(backlog_reset_counts_a_half_sent_chain_whole),
	KUNIT_CASE(backlog_keeps_what_the_budget_leaves),
	KUNIT_CASE(backlog_dropped_when_the_backend_is_lost),
	KUNIT_CASE(backlog_dropped_on_reset),
	KUNIT_CASE(backlog_only_for_a_console_under_out_nocomp),
	{}
};

static struct kunit_suite vt_backlog_suite = {
	.name = "virtio_argo_vq_backlog",
	.suite_init = vt_suite_init,
	.suite_exit = vt_suite_exit,
	.exit = vt_exit,
	.test_cases = vt_backlog_cases,
};

kunit_test_suites(&vt_req_suite, &vt_hostile_suite, &vt_flow_suite,
		  &vt_comp_suite, &vt_session_suite, &vt_backlog_suite);

MODULE_DESCRIPTION("KUnit suites for virtio_argo's virtqueue mirror");
MODULE_LICENSE("GPL");
