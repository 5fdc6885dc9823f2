// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the Argo ABI as Xen implements it (/work/shared/ARGO-ABI.md,
 * Documentation/argo-loopback.rst), checked against the loopback provider
 * with exact error codes.  One behaviour per case, named for it.
 *
 * The cases act as virtual domains 100 and up, created for each case and
 * destroyed after it, so they never meet the core's own endpoints.  Rings
 * are vmalloc'd and registered with the frames argo_lb_frame() gives; the
 * cases read and write ring memory directly, as a guest would.
 *
 * What the loopback cannot show, and so is not tested here: notify(NULL)
 * giving -ENOSYS (a Xen built without Argo), -EOPNOTSUPP from a Xen booted
 * without argo=1 (the loopback is running whenever this suite runs), Flask
 * refusals other than a domain's "enable", VIRQ_ARGO binding, and the
 * zero-extended late errors of Xen's sendv (the loopback returns them
 * signed on purpose).
 */

#include <kunit/test.h>
#include <linux/bits.h>
#include <linux/completion.h>
#include <linux/err.h>
#include <linux/irqflags.h>
#include <linux/spinlock.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <argo/argo.h>
#include <argo/hv.h>
#include <argo/loopback.h>
#include <argo/provider.h>

/* Domains of the cases: A owns rings, B and C send. */
#define D_A		100
#define D_B		101
#define D_C		102
#define D_NOARGO	103	/* exists, Argo refused */
#define D_TMP		120	/* created and destroyed by a case */
#define D_MISSING	150	/* never exists */
#define D_MANY		200	/* first of the many-senders domains */

#define PORT		0x1000
#define SRC_PORT	0xabcd

#define MAX_DOMS	64

struct lbt_ring {
	struct argo_hv_ring *r;
	u32 len;
	unsigned int npages;
	argo_hv_gfn_t *gfns;
	u32 rx;			/* the test's own rx_ptr */
};

struct lbt_ctx {
	u16 doms[MAX_DOMS];
	unsigned int ndoms;
	void *mem[8];
	unsigned int nmem;
	bool mac;
	struct argo_endpoint *ep;	/* a core endpoint, closed at exit */
	struct completion rx_done;
	struct argo_msg rx_msg;
};

static struct lbt_ctx *ctx_of(struct kunit *test)
{
	return test->priv;
}

static void lbt_domain(struct kunit *test, u16 domid, bool argo)
{
	struct lbt_ctx *ctx = ctx_of(test);

	KUNIT_ASSERT_LT(test, ctx->ndoms, MAX_DOMS);
	KUNIT_ASSERT_EQ(test, argo_lb_domain_create(domid, argo), 0);
	ctx->doms[ctx->ndoms++] = domid;
}

static void *lbt_vzalloc(struct kunit *test, size_t size)
{
	struct lbt_ctx *ctx = ctx_of(test);
	void *p;

	KUNIT_ASSERT_LT(test, ctx->nmem, ARRAY_SIZE(ctx->mem));
	p = vzalloc(size);
	KUNIT_ASSERT_NOT_NULL(test, p);
	ctx->mem[ctx->nmem++] = p;
	return p;
}

/* A ring of data area @len in @mem (4 KiB aligned, large enough). */
static struct lbt_ring *lbt_ring_at(struct kunit *test, void *mem, u32 len)
{
	struct lbt_ring *ring = kunit_kzalloc(test, sizeof(*ring), GFP_KERNEL);
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, ring);
	ring->r = mem;
	ring->len = len;
	ring->npages = ARGO_HV_RING_NPAGES(len);
	ring->gfns = kunit_kcalloc(test, ring->npages, sizeof(*ring->gfns),
				   GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ring->gfns);
	for (i = 0; i < ring->npages; i++)
		ring->gfns[i] = argo_lb_frame((u8 *)mem + i * ARGO_HV_PAGE_SIZE);
	return ring;
}

static struct lbt_ring *lbt_ring_new(struct kunit *test, u32 len)
{
	void *mem = lbt_vzalloc(test, (size_t)ARGO_HV_RING_NPAGES(len) *
				ARGO_HV_PAGE_SIZE);

	return lbt_ring_at(test, mem, len);
}

static long lbt_reg_raw(u16 dom, u32 port, u16 partner, u32 len,
			argo_hv_gfn_t *gfns, unsigned long npages,
			unsigned long flags)
{
	struct argo_hv_register_ring reg = {
		.aport = port,
		.partner_id = partner,
		.len = len,
	};

	return argo_lb_op(dom, ARGO_HV_OP_REGISTER_RING, &reg, gfns, npages,
			  flags);
}

static long lbt_reg(struct lbt_ring *ring, u16 dom, u32 port, u16 partner,
		    unsigned long flags)
{
	return lbt_reg_raw(dom, port, partner, ring->len, ring->gfns,
			   ring->npages, flags);
}

/* A registered ring for (@dom, @port, @partner) or the case fails. */
static struct lbt_ring *lbt_ring(struct kunit *test, u16 dom, u32 port,
				 u16 partner, u32 len)
{
	struct lbt_ring *ring = lbt_ring_new(test, len);

	KUNIT_ASSERT_EQ(test, lbt_reg(ring, dom, port, partner, 0), 0L);
	return ring;
}

static long lbt_unreg(u16 dom, u32 port, u16 partner)
{
	struct argo_hv_unregister_ring unreg = {
		.aport = port,
		.partner_id = partner,
	};

	return argo_lb_op(dom, ARGO_HV_OP_UNREGISTER_RING, &unreg, NULL, 0, 0);
}

static long lbt_sendv(u16 src, u16 dst, u32 port, struct argo_hv_iov *iovs,
		      unsigned long niov, u32 type)
{
	struct argo_hv_send_addr sa = {
		.src = { .aport = SRC_PORT, .domain_id = src },
		.dst = { .aport = port, .domain_id = dst },
	};

	return argo_lb_op(src, ARGO_HV_OP_SENDV, &sa, iovs, niov, type);
}

static u8 lbt_pattern[4096];

/* Send the first @len bytes (at most 4096) of the pattern. */
static long lbt_send(u16 src, u16 dst, u32 port, u32 len)
{
	struct argo_hv_iov iov = {
		.iov_hnd = (uintptr_t)lbt_pattern,
		.iov_len = len,
	};

	return lbt_sendv(src, dst, port, &iov, 1, 0);
}

static void lbt_hdr_at(struct lbt_ring *ring, u32 off,
		       struct argo_hv_msg_hdr *mh)
{
	memcpy(mh, ring->r->ring + off, sizeof(*mh));
}

static u32 lbt_tx(struct lbt_ring *ring)
{
	/* Pairs with the hypervisor's release: the message is complete. */
	return smp_load_acquire(&ring->r->tx_ptr);
}

/* Consume the next message, as a receiver does, without notify. */
static void lbt_consume(struct kunit *test, struct lbt_ring *ring)
{
	struct argo_hv_msg_hdr mh;

	KUNIT_ASSERT_NE(test, ring->rx, lbt_tx(ring));
	lbt_hdr_at(ring, ring->rx, &mh);
	KUNIT_ASSERT_GE(test, mh.len, ARGO_HV_MSG_HDR_SIZE);
	ring->rx = (ring->rx + ALIGN(mh.len, ARGO_HV_MSG_SLOT_SIZE)) %
		   ring->len;
	/* Our reads of the slots happen before the space is handed back. */
	smp_store_release(&ring->r->rx_ptr, ring->rx);
}

static long lbt_notify_null(u16 dom)
{
	return argo_lb_op(dom, ARGO_HV_OP_NOTIFY, NULL, NULL, 0, 0);
}

/* notify with one entry for (@dst, @port); the entry comes back in @ent. */
static long lbt_query(struct kunit *test, u16 caller, u16 dst, u32 port,
		      u32 space_required, struct argo_hv_ring_data_ent *ent)
{
	struct argo_hv_ring_data *rd;
	long ret;

	rd = kunit_kzalloc(test, struct_size(rd, data, 1), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, rd);
	rd->nent = 1;
	rd->data[0].ring.aport = port;
	rd->data[0].ring.domain_id = dst;
	rd->data[0].space_required = space_required;
	rd->data[0].max_message_size = 0x5a5a5a5a;	/* must stay if unset */
	ret = argo_lb_op(caller, ARGO_HV_OP_NOTIFY, rd, NULL, 0, 0);
	*ent = rd->data[0];
	kunit_kfree(test, rd);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Entry point                                                         */

static void arg3_or_arg4_above_32_bits_is_einval(struct kunit *test)
{
	static const unsigned int cmds[] = { 1, 2, 3, 4, 99 };
	unsigned long big = (unsigned long)BIT_ULL(32);
	unsigned int i;

	if (BITS_PER_LONG < 64)
		kunit_skip(test, "unsigned long has 32 bits");
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		KUNIT_EXPECT_EQ(test, argo_lb_op(D_A, cmds[i], NULL, NULL,
						 big, 0), -EINVAL);
		KUNIT_EXPECT_EQ(test, argo_lb_op(D_A, cmds[i], NULL, NULL,
						 0, big), -EINVAL);
	}
	/* Before the caller is even looked at. */
	KUNIT_EXPECT_EQ(test, argo_lb_op(D_NOARGO, 4, NULL, NULL, big, 0),
			-EINVAL);
}

static void unknown_op_is_eopnotsupp(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, argo_lb_op(D_A, 0, NULL, NULL, 0, 0),
			-EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, argo_lb_op(D_A, 5, NULL, NULL, 0, 0),
			-EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, argo_lb_op(D_A, ~0U, NULL, NULL, 0, 0),
			-EOPNOTSUPP);
}

static void caller_without_argo_is_eperm(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring_new(test, 64);

	/* Xen: xsm_argo_enable() refuses before the op is even decoded. */
	KUNIT_EXPECT_EQ(test, lbt_notify_null(D_NOARGO), -EPERM);
	KUNIT_EXPECT_EQ(test, lbt_reg(ring, D_NOARGO, PORT, D_A, 0), -EPERM);
	KUNIT_EXPECT_EQ(test, lbt_unreg(D_NOARGO, PORT, D_A), -EPERM);
	KUNIT_EXPECT_EQ(test, lbt_send(D_NOARGO, D_A, PORT, 1), -EPERM);
	KUNIT_EXPECT_EQ(test, argo_lb_op(D_NOARGO, 99, NULL, NULL, 0, 0),
			-EPERM);
}

static void unknown_caller_is_esrch(struct kunit *test)
{
	/* No such thing on Xen: the loopback's answer for a bad caller. */
	KUNIT_EXPECT_EQ(test, lbt_notify_null(D_MISSING), -ESRCH);
}

static void notify_null_returns_zero(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, lbt_notify_null(D_A), 0L);
}

static void domid_self_caller_acts_as_loopback_self(struct kunit *test)
{
	int self = argo_loopback_provider.domain(ARGO_HV_DOMID_SELF);
	struct lbt_ring *ring = lbt_ring_new(test, 64);
	const u32 port = 0x7e570001;	/* far from the core's ports */

	KUNIT_ASSERT_GE(test, self, 0);
	KUNIT_ASSERT_EQ(test, lbt_reg(ring, ARGO_HV_DOMID_SELF, port, D_B, 0),
			0L);
	KUNIT_EXPECT_EQ(test, lbt_send(D_B, self, port, 4), 4L);
	KUNIT_EXPECT_EQ(test, lbt_unreg(self, port, D_B), 0L);
}

static void provider_domain_maps_self_and_existing_ids(struct kunit *test)
{
	const struct argo_provider *p = &argo_loopback_provider;
	int self = p->domain(ARGO_HV_DOMID_SELF);

	KUNIT_EXPECT_STREQ(test, p->name, "loopback");
	KUNIT_EXPECT_GE(test, self, 0);
	KUNIT_EXPECT_LT(test, self, (int)ARGO_HV_DOMID_SELF);
	KUNIT_EXPECT_EQ(test, p->domain(self), self);
	KUNIT_EXPECT_EQ(test, p->domain(D_A), D_A);
	KUNIT_EXPECT_EQ(test, p->domain(D_NOARGO), D_NOARGO);
	KUNIT_EXPECT_EQ(test, p->domain(D_MISSING), -ESRCH);
	KUNIT_EXPECT_EQ(test, p->domain(ARGO_HV_DOMID_ANY), -ESRCH);
	KUNIT_EXPECT_TRUE(test, p->op == argo_lb_op);
	KUNIT_EXPECT_TRUE(test, p->frame == argo_lb_frame);
}

/* ------------------------------------------------------------------ */
/* register_ring                                                       */

static void register_valid_ring_succeeds(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring_new(test, 4096);

	KUNIT_EXPECT_EQ(test, ring->npages, 2U);
	KUNIT_EXPECT_EQ(test, lbt_reg(ring, D_A, PORT, D_B, 0), 0L);
	KUNIT_EXPECT_EQ(test, lbt_unreg(D_A, PORT, D_B), 0L);
}

static void register_unknown_flags_are_einval_before_arg1(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring_new(test, 64);

	KUNIT_EXPECT_EQ(test, lbt_reg(ring, D_A, PORT, D_B, 2), -EINVAL);
	KUNIT_EXPECT_EQ(test, lbt_reg(ring, D_A, PORT, D_B, 0x80000000),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, argo_lb_op(D_A, ARGO_HV_OP_REGISTER_RING, NULL,
					 ring->gfns, 1, 2), -EINVAL);
}

static void register_null_arg1_is_efault(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring_new(test, 64);

	KUNIT_EXPECT_EQ(test, argo_lb_op(D_A, ARGO_HV_OP_REGISTER_RING, NULL,
					 ring->gfns, 1, 0), -EFAULT);
}

static void register_len_below_48_is_einval(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring_new(test, 64);

	KUNIT_EXPECT_EQ(test, lbt_reg_raw(D_A, PORT, D_B, 0, ring->gfns, 1, 0),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, lbt_reg_raw(D_A, PORT, D_B, 32, ring->gfns, 1,
					  0), -EINVAL);
	KUNIT_EXPECT_EQ(test, lbt_reg_raw(D_A, PORT, D_B, 48, ring->gfns, 1,
					  0), 0L);
}

static void register_len_not_multiple_of_16_is_einval(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring_new(test, 64);

	KUNIT_EXPECT_EQ(test, lbt_reg_raw(D_A, PORT, D_B, 56, ring->gfns, 1,
					  0), -EINVAL);
	KUNIT_EXPECT_EQ(test, lbt_reg_raw(D_A, PORT, D_B, 65, ring->gfns, 1,
					  0), -EINVAL);
}

static void register_len_above_16mib_is_einval(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring_new(test, 64);

	/* Frames are read only after the length checks. */
	KUNIT_EXPECT_EQ(test, lbt_reg_raw(D_A, PORT, D_B,
					  ARGO_HV_MAX_RING_SIZE + 16,
					  ring->gfns, ARGO_HV_MAX_PAGES, 0),
			-EINVAL);
}

static void register_16mib_ring_needs_4097_frames_is_einval(struct kunit *test)
{
	u32 len = ARGO_HV_MAX_RING_SIZE;
	struct lbt_ring *ring = lbt_ring_new(test, 64);

	/* 16 MiB + the 64-byte header: one frame more than allowed. */
	KUNIT_EXPECT_EQ(test, ARGO_HV_RING_NPAGES(len),
			(u64)ARGO_HV_MAX_PAGES + 1);
	KUNIT_EXPECT_EQ(test, lbt_reg_raw(D_A, PORT, D_B, len, ring->gfns,
					  ARGO_HV_MAX_PAGES + 1, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, lbt_reg_raw(D_A, PORT, D_B, len, ring->gfns,
					  ARGO_HV_MAX_PAGES, 0), -EINVAL);
}

static void register_largest_ring_is_16mib_minus_64(struct kunit *test)
{
	u32 len = ARGO_HV_MAX_RING_SIZE - ARGO_HV_RING_HEADER_SIZE;
	struct lbt_ring *ring = lbt_ring_new(test, len);

	KUNIT_EXPECT_EQ(test, ring->npages, ARGO_HV_MAX_PAGES);
	KUNIT_EXPECT_EQ(test, lbt_reg(ring, D_A, PORT, D_B, 0), 0L);
}

static void register_wrong_npages_is_einval(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring_new(test, 4048);

	/* 4048 + 64 bytes need two frames, exactly. */
	KUNIT_ASSERT_EQ(test, ring->npages, 2U);
	KUNIT_EXPECT_EQ(test, lbt_reg_raw(D_A, PORT, D_B, 4048, ring->gfns, 1,
					  0), -EINVAL);
	KUNIT_EXPECT_EQ(test, lbt_reg_raw(D_A, PORT, D_B, 4048, ring->gfns, 3,
					  0), -EINVAL);
	KUNIT_EXPECT_EQ(test, lbt_reg_raw(D_A, PORT, D_B, 4032, ring->gfns, 2,
					  0), -EINVAL);
	KUNIT_EXPECT_EQ(test, lbt_reg(ring, D_A, PORT, D_B, 0), 0L);
}

static void register_npages_above_4096_is_einval_before_arg1(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, argo_lb_op(D_A, ARGO_HV_OP_REGISTER_RING, NULL,
					 NULL, ARGO_HV_MAX_PAGES + 1, 0),
			-EINVAL);
}

static void register_pad_nonzero_is_einval(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring_new(test, 64);
	struct argo_hv_register_ring reg = {
		.aport = PORT, .partner_id = D_B, .pad = 1, .len = 64,
	};

	KUNIT_EXPECT_EQ(test, argo_lb_op(D_A, ARGO_HV_OP_REGISTER_RING, &reg,
					 ring->gfns, 1, 0), -EINVAL);
}

static void register_any_partner_without_mac_permissive_is_eperm(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring_new(test, 64);

	argo_lb_set_mac_permissive(false);
	KUNIT_EXPECT_EQ(test, lbt_reg(ring, D_A, PORT, ARGO_HV_DOMID_ANY, 0),
			-EPERM);
}

static void register_any_partner_with_mac_permissive_succeeds(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring_new(test, 64);

	argo_lb_set_mac_permissive(true);
	KUNIT_EXPECT_TRUE(test, argo_lb_mac_permissive());
	KUNIT_EXPECT_EQ(test, lbt_reg(ring, D_A, PORT, ARGO_HV_DOMID_ANY, 0),
			0L);
	KUNIT_EXPECT_EQ(test, lbt_send(D_C, D_A, PORT, 8), 8L);
}

static void register_nonexistent_partner_is_esrch(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring_new(test, 64);

	KUNIT_EXPECT_EQ(test, lbt_reg(ring, D_A, PORT, D_MISSING, 0), -ESRCH);
	KUNIT_EXPECT_EQ(test, lbt_reg(ring, D_A, PORT, ARGO_HV_DOMID_SELF, 0),
			-ESRCH);
}

static void register_partner_without_argo_is_econnrefused(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring_new(test, 64);

	KUNIT_EXPECT_EQ(test, lbt_reg(ring, D_A, PORT, D_NOARGO, 0),
			-ECONNREFUSED);
}

/* 128 rings of 48 bytes, one frame each, in one allocation. */
static u8 *lbt_fill_ring_limit(struct kunit *test, u16 dom)
{
	u8 *mem = lbt_vzalloc(test, (ARGO_HV_MAX_RINGS + 1) *
			      ARGO_HV_PAGE_SIZE);
	unsigned int i;

	for (i = 0; i < ARGO_HV_MAX_RINGS; i++) {
		struct lbt_ring *ring = lbt_ring_at(test,
						    mem + i * ARGO_HV_PAGE_SIZE,
						    48);

		KUNIT_ASSERT_EQ(test, lbt_reg(ring, dom, PORT + i, D_B, 0), 0L);
	}
	return mem;
}

static void register_ring_limit_is_enospc(struct kunit *test)
{
	u8 *mem = lbt_fill_ring_limit(test, D_A);
	struct lbt_ring *ring;

	ring = lbt_ring_at(test, mem + ARGO_HV_MAX_RINGS * ARGO_HV_PAGE_SIZE,
			   48);
	KUNIT_EXPECT_EQ(test, lbt_reg(ring, D_A, PORT + ARGO_HV_MAX_RINGS,
				      D_B, 0), -ENOSPC);
	/* The limit is per domain. */
	KUNIT_EXPECT_EQ(test, lbt_reg(ring, D_C, PORT, D_B, 0), 0L);
}

static void reregister_at_ring_limit_is_enospc(struct kunit *test)
{
	u8 *mem = lbt_fill_ring_limit(test, D_A);
	struct lbt_ring *ring;

	/* Xen counts before it looks the ring up. */
	ring = lbt_ring_at(test, mem + ARGO_HV_MAX_RINGS * ARGO_HV_PAGE_SIZE,
			   48);
	KUNIT_EXPECT_EQ(test, lbt_reg(ring, D_A, PORT, D_B, 0), -ENOSPC);
}

static void unregister_frees_a_ring_slot(struct kunit *test)
{
	u8 *mem = lbt_fill_ring_limit(test, D_A);
	struct lbt_ring *ring;

	ring = lbt_ring_at(test, mem + ARGO_HV_MAX_RINGS * ARGO_HV_PAGE_SIZE,
			   48);
	KUNIT_EXPECT_EQ(test, lbt_unreg(D_A, PORT + 5, D_B), 0L);
	KUNIT_EXPECT_EQ(test, lbt_reg(ring, D_A, PORT + 5, D_B, 0), 0L);
}

static void reregister_replaces_pages_and_keeps_tx_ptr(struct kunit *test)
{
	struct lbt_ring *old = lbt_ring(test, D_A, PORT, D_B, 256);
	struct lbt_ring *new = lbt_ring_new(test, 256);
	struct argo_hv_msg_hdr mh;

	KUNIT_ASSERT_EQ(test, lbt_send(D_B, D_A, PORT, 20), 20L);
	KUNIT_ASSERT_EQ(test, lbt_tx(old), 48U);

	/* The guest carries its ring header over, as after a resume. */
	new->r->rx_ptr = old->r->rx_ptr;
	new->r->tx_ptr = old->r->tx_ptr;
	KUNIT_ASSERT_EQ(test, lbt_reg(new, D_A, PORT, D_B, 0), 0L);
	KUNIT_EXPECT_EQ(test, lbt_tx(new), 48U);

	KUNIT_ASSERT_EQ(test, lbt_send(D_B, D_A, PORT, 5), 5L);
	lbt_hdr_at(new, 48, &mh);
	KUNIT_EXPECT_EQ(test, mh.len, 5U + ARGO_HV_MSG_HDR_SIZE);
	KUNIT_EXPECT_EQ(test, lbt_tx(new), 80U);
	/* The old pages are no longer written. */
	KUNIT_EXPECT_EQ(test, lbt_tx(old), 48U);
	lbt_hdr_at(old, 48, &mh);
	KUNIT_EXPECT_EQ(test, mh.len, 0U);
}

static void register_invalid_tx_ptr_is_reset_to_rounded_rx_ptr(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring_new(test, 256);
	struct lbt_ring *ring2 = lbt_ring_new(test, 256);
	struct argo_hv_msg_hdr mh;

	ring->r->tx_ptr = 5;		/* not a slot */
	ring->r->rx_ptr = 20;
	KUNIT_ASSERT_EQ(test, lbt_reg(ring, D_A, PORT, D_B, 0), 0L);
	KUNIT_EXPECT_EQ(test, lbt_tx(ring), 32U);
	KUNIT_ASSERT_EQ(test, lbt_send(D_B, D_A, PORT, 1), 1L);
	lbt_hdr_at(ring, 32, &mh);
	KUNIT_EXPECT_EQ(test, mh.len, 17U);

	ring2->r->tx_ptr = 256;		/* outside the ring */
	ring2->r->rx_ptr = 300;		/* so is this: flush to 0 */
	KUNIT_ASSERT_EQ(test, lbt_reg(ring2, D_A, PORT + 1, D_B, 0), 0L);
	KUNIT_EXPECT_EQ(test, lbt_tx(ring2), 0U);
}

static void register_valid_tx_ptr_is_kept(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring_new(test, 256);
	struct argo_hv_msg_hdr mh;

	ring->r->tx_ptr = 96;
	ring->r->rx_ptr = 96;
	KUNIT_ASSERT_EQ(test, lbt_reg(ring, D_A, PORT, D_B, 0), 0L);
	KUNIT_ASSERT_EQ(test, lbt_send(D_B, D_A, PORT, 3), 3L);
	lbt_hdr_at(ring, 96, &mh);
	KUNIT_EXPECT_EQ(test, mh.len, 19U);
	KUNIT_EXPECT_EQ(test, lbt_tx(ring), 128U);
}

static void reregister_with_fail_exist_is_eexist(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring(test, D_A, PORT, D_B, 64);

	KUNIT_EXPECT_EQ(test, lbt_reg(ring, D_A, PORT, D_B,
				      ARGO_HV_REGISTER_FLAG_FAIL_EXIST),
			-EEXIST);
	/* Without the flag, the same registration is a replacement. */
	KUNIT_EXPECT_EQ(test, lbt_reg(ring, D_A, PORT, D_B, 0), 0L);
	/* A new ring with the flag is fine. */
	KUNIT_EXPECT_EQ(test, lbt_reg(lbt_ring_new(test, 64), D_A, PORT + 1,
				      D_B, ARGO_HV_REGISTER_FLAG_FAIL_EXIST),
			0L);
}

static void reregister_with_different_len_is_eexist(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring(test, D_A, PORT, D_B, 64);
	struct lbt_ring *big = lbt_ring_new(test, 128);

	KUNIT_EXPECT_EQ(test, lbt_reg(big, D_A, PORT, D_B, 0), -EEXIST);
	/* The old ring is still there and still works. */
	KUNIT_EXPECT_EQ(test, lbt_send(D_B, D_A, PORT, 4), 4L);
	KUNIT_EXPECT_EQ(test, lbt_tx(ring), 32U);
}

static void register_same_port_other_partner_is_another_ring(struct kunit *test)
{
	struct lbt_ring *rb = lbt_ring(test, D_A, PORT, D_B, 64);
	struct lbt_ring *rc = lbt_ring(test, D_A, PORT, D_C, 128);

	KUNIT_EXPECT_EQ(test, lbt_send(D_C, D_A, PORT, 1), 1L);
	KUNIT_EXPECT_EQ(test, lbt_tx(rb), 0U);
	KUNIT_EXPECT_EQ(test, lbt_tx(rc), 32U);
}

static void register_invalid_frame_is_einval(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring_new(test, 4096);

	ring->gfns[1] = ~0ULL;
	KUNIT_EXPECT_EQ(test, lbt_reg(ring, D_A, PORT, D_B, 0), -EINVAL);
	/* Nothing is left registered. */
	KUNIT_EXPECT_EQ(test, lbt_unreg(D_A, PORT, D_B), -ENOENT);
}

static void register_null_frame_array_is_efault(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, lbt_reg_raw(D_A, PORT, D_B, 64, NULL, 1, 0),
			-EFAULT);
}

static void register_frames_are_read_after_ring_checks(struct kunit *test)
{
	lbt_ring(test, D_A, PORT, D_B, 64);

	KUNIT_EXPECT_EQ(test, lbt_reg_raw(D_A, PORT, D_B, 64, NULL, 1,
					  ARGO_HV_REGISTER_FLAG_FAIL_EXIST),
			-EEXIST);
	KUNIT_EXPECT_EQ(test, lbt_reg_raw(D_A, PORT, D_MISSING, 64, NULL, 1,
					  0), -ESRCH);
	KUNIT_EXPECT_EQ(test, lbt_reg_raw(D_A, PORT, D_NOARGO, 64, NULL, 1,
					  0), -ECONNREFUSED);
}

static void failed_reregister_removes_the_ring(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring(test, D_A, PORT, D_B, 64);

	KUNIT_EXPECT_EQ(test, lbt_send(D_B, D_A, PORT, 1), 1L);
	ring->gfns[0] = ~0ULL;
	KUNIT_EXPECT_EQ(test, lbt_reg(ring, D_A, PORT, D_B, 0), -EINVAL);
	/* Xen dropped the old pages before it found the bad frame. */
	KUNIT_EXPECT_EQ(test, lbt_send(D_B, D_A, PORT, 1), -ECONNREFUSED);
	KUNIT_EXPECT_EQ(test, lbt_unreg(D_A, PORT, D_B), -ENOENT);
}

/* ------------------------------------------------------------------ */
/* unregister_ring                                                     */

static void unregister_removes_the_ring(struct kunit *test)
{
	lbt_ring(test, D_A, PORT, D_B, 64);

	KUNIT_EXPECT_EQ(test, lbt_unreg(D_A, PORT, D_B), 0L);
	KUNIT_EXPECT_EQ(test, lbt_send(D_B, D_A, PORT, 1), -ECONNREFUSED);
	KUNIT_EXPECT_EQ(test, lbt_unreg(D_A, PORT, D_B), -ENOENT);
}

static void unregister_unknown_ring_is_enoent(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, lbt_unreg(D_A, PORT, D_B), -ENOENT);
}

static void unregister_extra_args_are_einval(struct kunit *test)
{
	struct argo_hv_unregister_ring unreg = {
		.aport = PORT, .partner_id = D_B,
	};
	u64 dummy = 0;

	lbt_ring(test, D_A, PORT, D_B, 64);
	KUNIT_EXPECT_EQ(test, argo_lb_op(D_A, ARGO_HV_OP_UNREGISTER_RING,
					 &unreg, &dummy, 0, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, argo_lb_op(D_A, ARGO_HV_OP_UNREGISTER_RING,
					 &unreg, NULL, 1, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, argo_lb_op(D_A, ARGO_HV_OP_UNREGISTER_RING,
					 &unreg, NULL, 0, 1), -EINVAL);
	/* Checked before arg1 is read. */
	KUNIT_EXPECT_EQ(test, argo_lb_op(D_A, ARGO_HV_OP_UNREGISTER_RING,
					 NULL, NULL, 1, 0), -EINVAL);
	/* And the ring is still there. */
	KUNIT_EXPECT_EQ(test, lbt_unreg(D_A, PORT, D_B), 0L);
}

static void unregister_null_arg1_is_efault(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, argo_lb_op(D_A, ARGO_HV_OP_UNREGISTER_RING,
					 NULL, NULL, 0, 0), -EFAULT);
}

static void unregister_pad_nonzero_is_einval(struct kunit *test)
{
	struct argo_hv_unregister_ring unreg = {
		.aport = PORT, .partner_id = D_B, .pad = 1,
	};

	lbt_ring(test, D_A, PORT, D_B, 64);
	KUNIT_EXPECT_EQ(test, argo_lb_op(D_A, ARGO_HV_OP_UNREGISTER_RING,
					 &unreg, NULL, 0, 0), -EINVAL);
}

static void unregister_matches_partner_exactly(struct kunit *test)
{
	lbt_ring(test, D_A, PORT, D_B, 64);

	KUNIT_EXPECT_EQ(test, lbt_unreg(D_A, PORT, ARGO_HV_DOMID_ANY), -ENOENT);
	KUNIT_EXPECT_EQ(test, lbt_unreg(D_A, PORT, D_C), -ENOENT);
	KUNIT_EXPECT_EQ(test, lbt_unreg(D_A, PORT + 1, D_B), -ENOENT);
	KUNIT_EXPECT_EQ(test, lbt_unreg(D_B, PORT, D_B), -ENOENT);
	KUNIT_EXPECT_EQ(test, lbt_unreg(D_A, PORT, D_B), 0L);
}

/* ------------------------------------------------------------------ */
/* sendv                                                               */

static void sendv_returns_payload_length_and_writes_the_message(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring(test, D_A, PORT, D_B, 256);
	struct argo_hv_msg_hdr mh;

	KUNIT_ASSERT_EQ(test, lbt_send(D_B, D_A, PORT, 37), 37L);
	lbt_hdr_at(ring, 0, &mh);
	KUNIT_EXPECT_EQ(test, mh.len, 37U + ARGO_HV_MSG_HDR_SIZE);
	KUNIT_EXPECT_EQ(test, mh.source.aport, (u32)SRC_PORT);
	KUNIT_EXPECT_EQ(test, mh.source.domain_id, (u16)D_B);
	KUNIT_EXPECT_EQ(test, mh.source.pad, 0);
	KUNIT_EXPECT_EQ(test, mh.message_type, 0U);
	KUNIT_EXPECT_EQ(test, memcmp(ring->r->ring + ARGO_HV_MSG_HDR_SIZE,
				     lbt_pattern, 37), 0);
	KUNIT_EXPECT_EQ(test, lbt_tx(ring), 64U);
	KUNIT_EXPECT_EQ(test, ring->r->rx_ptr, 0U);
}

static void sendv_message_type_is_delivered(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring(test, D_A, PORT, D_B, 256);
	struct argo_hv_iov iov = {
		.iov_hnd = (uintptr_t)lbt_pattern, .iov_len = 1,
	};
	struct argo_hv_msg_hdr mh;

	KUNIT_ASSERT_EQ(test, lbt_sendv(D_B, D_A, PORT, &iov, 1, 0xffffffff),
			1L);
	lbt_hdr_at(ring, 0, &mh);
	KUNIT_EXPECT_EQ(test, mh.message_type, 0xffffffffU);
}

static void sendv_source_domid_any_is_stamped_with_caller(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring(test, D_A, PORT, D_B, 256);
	struct argo_hv_send_addr sa = {
		.src = { .aport = 7, .domain_id = ARGO_HV_DOMID_ANY },
		.dst = { .aport = PORT, .domain_id = D_A },
	};
	struct argo_hv_msg_hdr mh;

	KUNIT_ASSERT_EQ(test, argo_lb_op(D_B, ARGO_HV_OP_SENDV, &sa, NULL, 0,
					 0), 0L);
	lbt_hdr_at(ring, 0, &mh);
	KUNIT_EXPECT_EQ(test, mh.source.domain_id, (u16)D_B);
	KUNIT_EXPECT_EQ(test, mh.source.aport, 7U);
}

static void sendv_source_other_domain_is_eperm(struct kunit *test)
{
	struct argo_hv_send_addr sa = {
		.src = { .aport = 7, .domain_id = D_C },
		.dst = { .aport = PORT, .domain_id = D_A },
	};

	lbt_ring(test, D_A, PORT, D_C, 256);
	KUNIT_EXPECT_EQ(test, argo_lb_op(D_B, ARGO_HV_OP_SENDV, &sa, NULL, 0,
					 0), -EPERM);
	sa.src.domain_id = ARGO_HV_DOMID_SELF;
	KUNIT_EXPECT_EQ(test, argo_lb_op(D_B, ARGO_HV_OP_SENDV, &sa, NULL, 0,
					 0), -EPERM);
}

static void sendv_to_domid_self_is_esrch(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, lbt_send(D_B, ARGO_HV_DOMID_SELF, PORT, 1),
			-ESRCH);
}

static void sendv_to_nonexistent_domain_is_esrch(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, lbt_send(D_B, D_MISSING, PORT, 1), -ESRCH);
	KUNIT_EXPECT_EQ(test, lbt_send(D_B, ARGO_HV_DOMID_ANY, PORT, 1),
			-ESRCH);
}

static void sendv_to_domain_without_argo_is_econnrefused(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, lbt_send(D_B, D_NOARGO, PORT, 1), -ECONNREFUSED);
}

static void sendv_without_ring_is_econnrefused(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, lbt_send(D_B, D_A, PORT, 1), -ECONNREFUSED);
}

static void sendv_to_ring_of_other_partner_is_econnrefused(struct kunit *test)
{
	lbt_ring(test, D_A, PORT, D_B, 64);

	KUNIT_EXPECT_EQ(test, lbt_send(D_C, D_A, PORT, 1), -ECONNREFUSED);
	KUNIT_EXPECT_EQ(test, lbt_send(D_B, D_A, PORT + 1, 1), -ECONNREFUSED);
}

static void sendv_prefers_partner_ring_over_wildcard(struct kunit *test)
{
	struct lbt_ring *mine, *any;

	argo_lb_set_mac_permissive(true);
	any = lbt_ring(test, D_A, PORT, ARGO_HV_DOMID_ANY, 64);
	mine = lbt_ring(test, D_A, PORT, D_B, 64);

	KUNIT_EXPECT_EQ(test, lbt_send(D_B, D_A, PORT, 1), 1L);
	KUNIT_EXPECT_EQ(test, lbt_tx(mine), 32U);
	KUNIT_EXPECT_EQ(test, lbt_tx(any), 0U);
	KUNIT_EXPECT_EQ(test, lbt_send(D_C, D_A, PORT, 1), 1L);
	KUNIT_EXPECT_EQ(test, lbt_tx(mine), 32U);
	KUNIT_EXPECT_EQ(test, lbt_tx(any), 32U);
}

static void sendv_to_own_domain_succeeds(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring(test, D_A, PORT, D_A, 64);
	struct argo_hv_msg_hdr mh;

	KUNIT_EXPECT_EQ(test, lbt_send(D_A, D_A, PORT, 2), 2L);
	lbt_hdr_at(ring, 0, &mh);
	KUNIT_EXPECT_EQ(test, mh.source.domain_id, (u16)D_A);
}

static void sendv_more_than_8_iovs_is_einval(struct kunit *test)
{
	struct argo_hv_iov iovs[ARGO_HV_MAXIOV + 1];
	struct lbt_ring *ring = lbt_ring(test, D_A, PORT, D_B, 256);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(iovs); i++) {
		iovs[i].iov_hnd = (uintptr_t)&lbt_pattern[i];
		iovs[i].iov_len = 1;
		iovs[i].pad = 0;
	}
	KUNIT_EXPECT_EQ(test, lbt_sendv(D_B, D_A, PORT, iovs,
					ARGO_HV_MAXIOV + 1, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, lbt_tx(ring), 0U);
	KUNIT_EXPECT_EQ(test, lbt_sendv(D_B, D_A, PORT, iovs, ARGO_HV_MAXIOV,
					0), (long)ARGO_HV_MAXIOV);
}

static void sendv_null_arg1_is_efault(struct kunit *test)
{
	struct argo_hv_iov iov = { .iov_hnd = (uintptr_t)lbt_pattern };

	KUNIT_EXPECT_EQ(test, argo_lb_op(D_B, ARGO_HV_OP_SENDV, NULL, &iov, 1,
					 0), -EFAULT);
	/* arg1 is read before niov is checked. */
	KUNIT_EXPECT_EQ(test, argo_lb_op(D_B, ARGO_HV_OP_SENDV, NULL, &iov, 9,
					 0), -EFAULT);
}

static void sendv_null_iov_array_is_efault(struct kunit *test)
{
	struct argo_hv_send_addr sa = {
		.src = { .domain_id = D_B },
		.dst = { .aport = PORT, .domain_id = D_A },
	};

	lbt_ring(test, D_A, PORT, D_B, 64);
	KUNIT_EXPECT_EQ(test, argo_lb_op(D_B, ARGO_HV_OP_SENDV, &sa, NULL, 1,
					 0), -EFAULT);
}

static void sendv_with_no_iovs_sends_an_empty_message(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring(test, D_A, PORT, D_B, 64);
	struct argo_hv_msg_hdr mh;

	KUNIT_EXPECT_EQ(test, lbt_sendv(D_B, D_A, PORT, NULL, 0, 3), 0L);
	lbt_hdr_at(ring, 0, &mh);
	KUNIT_EXPECT_EQ(test, mh.len, ARGO_HV_MSG_HDR_SIZE);
	KUNIT_EXPECT_EQ(test, mh.message_type, 3U);
	KUNIT_EXPECT_EQ(test, lbt_tx(ring), 16U);
}

static void sendv_addr_pad_nonzero_is_einval(struct kunit *test)
{
	struct argo_hv_send_addr sa = {
		.src = { .domain_id = D_B, .pad = 1 },
		.dst = { .aport = PORT, .domain_id = D_A },
	};

	lbt_ring(test, D_A, PORT, D_B, 64);
	KUNIT_EXPECT_EQ(test, argo_lb_op(D_B, ARGO_HV_OP_SENDV, &sa, NULL, 0,
					 0), -EINVAL);
	sa.src.pad = 0;
	sa.dst.pad = 0x8000;
	KUNIT_EXPECT_EQ(test, argo_lb_op(D_B, ARGO_HV_OP_SENDV, &sa, NULL, 0,
					 0), -EINVAL);
}

static void sendv_iov_pad_nonzero_is_einval(struct kunit *test)
{
	struct argo_hv_iov iov = {
		.iov_hnd = (uintptr_t)lbt_pattern, .iov_len = 1, .pad = 1,
	};
	struct lbt_ring *ring = lbt_ring(test, D_A, PORT, D_B, 64);

	KUNIT_EXPECT_EQ(test, lbt_sendv(D_B, D_A, PORT, &iov, 1, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, lbt_tx(ring), 0U);
}

static void sendv_iov_above_max_message_size_is_einval(struct kunit *test)
{
	/* Never copied: the size is refused first. */
	struct argo_hv_iov iov = {
		.iov_hnd = (uintptr_t)lbt_pattern,
		.iov_len = ARGO_HV_MAX_MSG_SIZE + 1,
	};

	lbt_ring(test, D_A, PORT, D_B, 64);
	KUNIT_EXPECT_EQ(test, lbt_sendv(D_B, D_A, PORT, &iov, 1, 0), -EINVAL);
	iov.iov_len = ~0U;
	KUNIT_EXPECT_EQ(test, lbt_sendv(D_B, D_A, PORT, &iov, 1, 0), -EINVAL);
}

static void sendv_total_above_max_message_size_is_emsgsize(struct kunit *test)
{
	struct argo_hv_iov iovs[2] = {
		{ .iov_hnd = (uintptr_t)lbt_pattern,
		  .iov_len = ARGO_HV_MAX_MSG_SIZE / 2 + 1 },
		{ .iov_hnd = (uintptr_t)lbt_pattern,
		  .iov_len = ARGO_HV_MAX_MSG_SIZE / 2 },
	};

	lbt_ring(test, D_A, PORT, D_B, 64);
	KUNIT_EXPECT_EQ(test, lbt_sendv(D_B, D_A, PORT, iovs, 2, 0),
			-EMSGSIZE);
}

static void sendv_iov_checks_follow_the_ring_lookup(struct kunit *test)
{
	struct argo_hv_iov iov = {
		.iov_hnd = (uintptr_t)lbt_pattern, .iov_len = 1, .pad = 1,
	};

	/* No ring: refused before the iovs are looked at. */
	KUNIT_EXPECT_EQ(test, lbt_sendv(D_B, D_A, PORT, &iov, 1, 0),
			-ECONNREFUSED);
}

static void sendv_largest_payload_is_ring_len_minus_32(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring(test, D_A, PORT, D_B, 256);

	KUNIT_EXPECT_EQ(test, lbt_send(D_B, D_A, PORT, 224), 224L);
	KUNIT_EXPECT_EQ(test, lbt_tx(ring), 240U);
}

static void sendv_payload_over_ring_len_minus_32_is_emsgsize(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring(test, D_A, PORT, D_B, 256);
	u64 sig = argo_lb_signal_count(D_B);

	KUNIT_EXPECT_EQ(test, lbt_send(D_B, D_A, PORT, 225), -EMSGSIZE);
	KUNIT_EXPECT_EQ(test, lbt_send(D_B, D_A, PORT, 240), -EMSGSIZE);
	KUNIT_EXPECT_EQ(test, lbt_tx(ring), 0U);
	/* Not a wait: no wake-up is queued for it. */
	KUNIT_EXPECT_EQ(test, lbt_notify_null(D_A), 0L);
	KUNIT_EXPECT_EQ(test, argo_lb_signal_count(D_B), sig);
}

static void sendv_null_iov_handle_is_efault_and_publishes_nothing(struct kunit *test)
{
	struct argo_hv_iov iovs[2] = {
		{ .iov_hnd = (uintptr_t)lbt_pattern, .iov_len = 4 },
		{ .iov_hnd = 0, .iov_len = 4 },
	};
	struct lbt_ring *ring = lbt_ring(test, D_A, PORT, D_B, 64);
	u64 sig = argo_lb_signal_count(D_A);

	KUNIT_EXPECT_EQ(test, lbt_sendv(D_B, D_A, PORT, iovs, 2, 0), -EFAULT);
	KUNIT_EXPECT_EQ(test, lbt_tx(ring), 0U);
	KUNIT_EXPECT_EQ(test, argo_lb_signal_count(D_A), sig);
}

static void sendv_zero_length_iov_is_skipped(struct kunit *test)
{
	struct argo_hv_iov iovs[3] = {
		{ .iov_hnd = (uintptr_t)lbt_pattern, .iov_len = 3 },
		{ .iov_hnd = 0, .iov_len = 0 },
		{ .iov_hnd = (uintptr_t)&lbt_pattern[3], .iov_len = 5 },
	};
	struct lbt_ring *ring = lbt_ring(test, D_A, PORT, D_B, 64);

	KUNIT_EXPECT_EQ(test, lbt_sendv(D_B, D_A, PORT, iovs, 3, 0), 8L);
	KUNIT_EXPECT_EQ(test, memcmp(ring->r->ring + ARGO_HV_MSG_HDR_SIZE,
				     lbt_pattern, 8), 0);
}

static void sendv_gathers_iovs_in_order(struct kunit *test)
{
	static const char a[] = "hyper", b[] = "visor-", c[] = "mediated";
	struct argo_hv_iov iovs[3] = {
		{ .iov_hnd = (uintptr_t)a, .iov_len = 5 },
		{ .iov_hnd = (uintptr_t)b, .iov_len = 6 },
		{ .iov_hnd = (uintptr_t)c, .iov_len = 8 },
	};
	struct lbt_ring *ring = lbt_ring(test, D_A, PORT, D_B, 64);
	struct argo_hv_msg_hdr mh;

	KUNIT_EXPECT_EQ(test, lbt_sendv(D_B, D_A, PORT, iovs, 3, 0), 19L);
	lbt_hdr_at(ring, 0, &mh);
	KUNIT_EXPECT_EQ(test, mh.len, 35U);
	KUNIT_EXPECT_EQ(test, memcmp(ring->r->ring + ARGO_HV_MSG_HDR_SIZE,
				     "hypervisor-mediated", 19), 0);
}

static void sendv_signals_the_destination_every_time(struct kunit *test)
{
	u64 a, b;

	lbt_ring(test, D_A, PORT, D_B, 256);
	a = argo_lb_signal_count(D_A);
	b = argo_lb_signal_count(D_B);
	KUNIT_EXPECT_EQ(test, lbt_send(D_B, D_A, PORT, 1), 1L);
	KUNIT_EXPECT_EQ(test, lbt_send(D_B, D_A, PORT, 1), 1L);
	KUNIT_EXPECT_EQ(test, lbt_sendv(D_B, D_A, PORT, NULL, 0, 0), 0L);
	KUNIT_EXPECT_EQ(test, argo_lb_signal_count(D_A), a + 3);
	KUNIT_EXPECT_EQ(test, argo_lb_signal_count(D_B), b);
}

static void sendv_failure_does_not_signal_the_destination(struct kunit *test)
{
	u64 a;

	lbt_ring(test, D_A, PORT, D_B, 64);
	KUNIT_ASSERT_EQ(test, lbt_send(D_B, D_A, PORT, 16), 16L);
	a = argo_lb_signal_count(D_A);
	KUNIT_EXPECT_EQ(test, lbt_send(D_B, D_A, PORT, 16), -EAGAIN);
	KUNIT_EXPECT_EQ(test, lbt_send(D_C, D_A, PORT, 1), -ECONNREFUSED);
	KUNIT_EXPECT_EQ(test, argo_lb_signal_count(D_A), a);
}

/* ------------------------------------------------------------------ */
/* Ring format                                                         */

static void messages_start_on_16_byte_slots(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring(test, D_A, PORT, D_B, 256);
	struct argo_hv_msg_hdr mh;

	KUNIT_ASSERT_EQ(test, lbt_send(D_B, D_A, PORT, 1), 1L);
	KUNIT_EXPECT_EQ(test, lbt_tx(ring), 32U);
	KUNIT_ASSERT_EQ(test, lbt_send(D_B, D_A, PORT, 16), 16L);
	KUNIT_EXPECT_EQ(test, lbt_tx(ring), 64U);
	KUNIT_ASSERT_EQ(test, lbt_send(D_B, D_A, PORT, 17), 17L);
	KUNIT_EXPECT_EQ(test, lbt_tx(ring), 112U);
	lbt_hdr_at(ring, 32, &mh);
	KUNIT_EXPECT_EQ(test, mh.len, 32U);
	lbt_hdr_at(ring, 64, &mh);
	KUNIT_EXPECT_EQ(test, mh.len, 33U);
}

static void payload_wraps_to_offset_zero(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring(test, D_A, PORT, D_B, 128);
	struct argo_hv_msg_hdr mh;

	KUNIT_ASSERT_EQ(test, lbt_send(D_B, D_A, PORT, 80), 80L);
	lbt_consume(test, ring);
	KUNIT_ASSERT_EQ(test, ring->rx, 96U);

	KUNIT_ASSERT_EQ(test, lbt_send(D_B, D_A, PORT, 40), 40L);
	/* Header at tx_ptr, 16 bytes of payload to the end, 24 from 0. */
	lbt_hdr_at(ring, 96, &mh);
	KUNIT_EXPECT_EQ(test, mh.len, 56U);
	KUNIT_EXPECT_EQ(test, memcmp(ring->r->ring + 112, lbt_pattern, 16), 0);
	KUNIT_EXPECT_EQ(test, memcmp(ring->r->ring, lbt_pattern + 16, 24), 0);
	KUNIT_EXPECT_EQ(test, lbt_tx(ring), 32U);
}

static void header_never_wraps(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring(test, D_A, PORT, D_B, 128);
	struct argo_hv_msg_hdr mh;

	KUNIT_ASSERT_EQ(test, lbt_send(D_B, D_A, PORT, 96), 96L);
	lbt_consume(test, ring);
	KUNIT_ASSERT_EQ(test, ring->rx, 112U);

	/* The header takes the last slot; the payload starts at 0. */
	KUNIT_ASSERT_EQ(test, lbt_send(D_B, D_A, PORT, 20), 20L);
	lbt_hdr_at(ring, 112, &mh);
	KUNIT_EXPECT_EQ(test, mh.len, 36U);
	KUNIT_EXPECT_EQ(test, memcmp(ring->r->ring, lbt_pattern, 20), 0);
	KUNIT_EXPECT_EQ(test, lbt_tx(ring), 32U);
}

static void ring_keeps_one_slot_free(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring(test, D_A, PORT, D_B, 64);

	/* Empty messages take one slot each: three fit in four slots. */
	KUNIT_EXPECT_EQ(test, lbt_sendv(D_B, D_A, PORT, NULL, 0, 0), 0L);
	KUNIT_EXPECT_EQ(test, lbt_sendv(D_B, D_A, PORT, NULL, 0, 0), 0L);
	KUNIT_EXPECT_EQ(test, lbt_sendv(D_B, D_A, PORT, NULL, 0, 0), 0L);
	KUNIT_EXPECT_EQ(test, lbt_sendv(D_B, D_A, PORT, NULL, 0, 0), -EAGAIN);
	KUNIT_EXPECT_EQ(test, lbt_tx(ring), 48U);
	KUNIT_EXPECT_NE(test, lbt_tx(ring), ring->r->rx_ptr);
}

static void ring_full_is_eagain(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring(test, D_A, PORT, D_B, 128);

	KUNIT_EXPECT_EQ(test, lbt_send(D_B, D_A, PORT, 48), 48L);
	KUNIT_EXPECT_EQ(test, lbt_send(D_B, D_A, PORT, 16), 16L);
	/* 32 bytes are left: a 1-byte message needs them all, and one slot
	 * must stay free.
	 */
	KUNIT_EXPECT_EQ(test, lbt_send(D_B, D_A, PORT, 1), -EAGAIN);
	KUNIT_EXPECT_EQ(test, lbt_tx(ring), 96U);
}

static void consumed_space_is_reused(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring(test, D_A, PORT, D_B, 64);
	unsigned int i;

	for (i = 0; i < 10; i++) {
		KUNIT_ASSERT_EQ(test, lbt_send(D_B, D_A, PORT, 16), 16L);
		KUNIT_ASSERT_EQ(test, lbt_send(D_B, D_A, PORT, 16), -EAGAIN);
		lbt_consume(test, ring);
	}
	KUNIT_EXPECT_EQ(test, lbt_tx(ring), (10U * 32) % 64);
}

static void unaligned_rx_ptr_is_rounded_up(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring(test, D_A, PORT, D_B, 128);
	struct argo_hv_ring_data_ent ent;

	KUNIT_ASSERT_EQ(test, lbt_send(D_B, D_A, PORT, 16), 16L);
	/* 17 counts as 32, where tx_ptr is: the ring reads as empty. */
	WRITE_ONCE(ring->r->rx_ptr, 17);
	KUNIT_ASSERT_EQ(test, lbt_query(test, D_B, D_A, PORT, 0, &ent), 0L);
	KUNIT_EXPECT_TRUE(test, ent.flags & ARGO_HV_RING_EMPTY);
	/* 15 counts as 16: one slot in use. */
	WRITE_ONCE(ring->r->rx_ptr, 15);
	KUNIT_ASSERT_EQ(test, lbt_query(test, D_B, D_A, PORT, 0, &ent), 0L);
	KUNIT_EXPECT_FALSE(test, ent.flags & ARGO_HV_RING_EMPTY);
}

static void out_of_range_rx_ptr_counts_as_zero(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring(test, D_A, PORT, D_B, 128);
	static const u32 bogus[] = { 128, 200, 0xfffffff8, 0xffffffff };
	struct argo_hv_ring_data_ent ent;
	unsigned int i;

	KUNIT_ASSERT_EQ(test, lbt_send(D_B, D_A, PORT, 16), 16L);
	for (i = 0; i < ARRAY_SIZE(bogus); i++) {
		/* With rx at 0 and tx at 32, 64 bytes of payload fit. */
		WRITE_ONCE(ring->r->rx_ptr, bogus[i]);
		KUNIT_ASSERT_EQ(test, lbt_query(test, D_B, D_A, PORT, 64,
						&ent), 0L);
		KUNIT_EXPECT_TRUE(test, ent.flags & ARGO_HV_RING_SUFFICIENT);
		KUNIT_ASSERT_EQ(test, lbt_query(test, D_B, D_A, PORT, 65,
						&ent), 0L);
		KUNIT_EXPECT_FALSE(test, ent.flags & ARGO_HV_RING_SUFFICIENT);
		/* And sendv agrees. */
		KUNIT_EXPECT_EQ(test, lbt_send(D_B, D_A, PORT, 65), -EAGAIN);
	}
}

/* ------------------------------------------------------------------ */
/* notify                                                              */

static void notify_more_than_256_entries_is_eacces(struct kunit *test)
{
	struct argo_hv_ring_data *rd;
	unsigned int n = ARGO_HV_MAX_NOTIFY_COUNT + 1;
	unsigned int i;

	rd = kunit_kzalloc(test, struct_size(rd, data, n), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, rd);
	for (i = 0; i < n; i++)
		rd->data[i].ring.domain_id = D_MISSING;
	rd->nent = n;
	KUNIT_EXPECT_EQ(test, argo_lb_op(D_B, ARGO_HV_OP_NOTIFY, rd, NULL, 0,
					 0), -EACCES);
	rd->nent = ~0U;
	KUNIT_EXPECT_EQ(test, argo_lb_op(D_B, ARGO_HV_OP_NOTIFY, rd, NULL, 0,
					 0), -EACCES);
	rd->nent = n - 1;
	KUNIT_EXPECT_EQ(test, argo_lb_op(D_B, ARGO_HV_OP_NOTIFY, rd, NULL, 0,
					 0), 0L);
}

static void notify_extra_args_are_einval(struct kunit *test)
{
	u64 dummy = 0;

	KUNIT_EXPECT_EQ(test, argo_lb_op(D_A, ARGO_HV_OP_NOTIFY, NULL, &dummy,
					 0, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, argo_lb_op(D_A, ARGO_HV_OP_NOTIFY, NULL, NULL,
					 1, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, argo_lb_op(D_A, ARGO_HV_OP_NOTIFY, NULL, NULL,
					 0, 1), -EINVAL);
}

static void notify_entry_for_missing_ring_has_no_flags(struct kunit *test)
{
	struct argo_hv_ring_data_ent ent;

	KUNIT_ASSERT_EQ(test, lbt_query(test, D_B, D_A, PORT, 0, &ent), 0L);
	KUNIT_EXPECT_EQ(test, ent.flags, 0);
	KUNIT_EXPECT_EQ(test, ent.max_message_size, 0x5a5a5a5aU);
}

static void notify_entry_for_absent_domain_has_no_flags(struct kunit *test)
{
	struct argo_hv_ring_data_ent ent;

	KUNIT_ASSERT_EQ(test, lbt_query(test, D_B, D_MISSING, PORT, 0, &ent),
			0L);
	KUNIT_EXPECT_EQ(test, ent.flags, 0);
	KUNIT_ASSERT_EQ(test, lbt_query(test, D_B, D_NOARGO, PORT, 0, &ent),
			0L);
	KUNIT_EXPECT_EQ(test, ent.flags, 0);
	KUNIT_EXPECT_EQ(test, ent.max_message_size, 0x5a5a5a5aU);
}

static void notify_entry_reports_an_empty_ring(struct kunit *test)
{
	struct argo_hv_ring_data_ent ent;

	lbt_ring(test, D_A, PORT, D_B, 256);
	KUNIT_ASSERT_EQ(test, lbt_query(test, D_B, D_A, PORT, 0, &ent), 0L);
	KUNIT_EXPECT_EQ(test, ent.flags, ARGO_HV_RING_EXISTS |
			ARGO_HV_RING_EMPTY | ARGO_HV_RING_SUFFICIENT);
	KUNIT_EXPECT_EQ(test, ent.max_message_size, 224U);
}

static void notify_entry_of_used_ring_is_not_empty(struct kunit *test)
{
	struct argo_hv_ring_data_ent ent;

	lbt_ring(test, D_A, PORT, D_B, 256);
	KUNIT_ASSERT_EQ(test, lbt_send(D_B, D_A, PORT, 1), 1L);
	KUNIT_ASSERT_EQ(test, lbt_query(test, D_B, D_A, PORT, 192, &ent), 0L);
	KUNIT_EXPECT_EQ(test, ent.flags, ARGO_HV_RING_EXISTS |
			ARGO_HV_RING_SUFFICIENT);
	KUNIT_EXPECT_EQ(test, ent.max_message_size, 224U);
}

static void notify_entry_for_wildcard_ring_is_shared(struct kunit *test)
{
	struct argo_hv_ring_data_ent ent;

	argo_lb_set_mac_permissive(true);
	lbt_ring(test, D_A, PORT, ARGO_HV_DOMID_ANY, 64);
	KUNIT_ASSERT_EQ(test, lbt_query(test, D_C, D_A, PORT, 0, &ent), 0L);
	KUNIT_EXPECT_TRUE(test, ent.flags & ARGO_HV_RING_EXISTS);
	KUNIT_EXPECT_TRUE(test, ent.flags & ARGO_HV_RING_SHARED);
	KUNIT_EXPECT_EQ(test, ent.max_message_size, 32U);
}

static void notify_entry_for_other_partner_ring_has_no_flags(struct kunit *test)
{
	struct argo_hv_ring_data_ent ent;

	lbt_ring(test, D_A, PORT, D_B, 64);
	KUNIT_ASSERT_EQ(test, lbt_query(test, D_C, D_A, PORT, 0, &ent), 0L);
	KUNIT_EXPECT_EQ(test, ent.flags, 0);
}

static void notify_entry_above_max_size_is_emsgsize(struct kunit *test)
{
	struct argo_hv_ring_data_ent ent;

	lbt_ring(test, D_A, PORT, D_B, 256);
	KUNIT_ASSERT_EQ(test, lbt_query(test, D_B, D_A, PORT, 225, &ent), 0L);
	KUNIT_EXPECT_EQ(test, ent.flags, ARGO_HV_RING_EXISTS |
			ARGO_HV_RING_EMPTY | ARGO_HV_RING_EMSGSIZE);
}

/*
 * A ring of 256 with three 48-byte messages (tx at 192): 32 bytes of
 * payload fit.  After one is consumed 96 fit, after two 160.
 */
static struct lbt_ring *lbt_three_quarters(struct kunit *test, u16 sender)
{
	struct lbt_ring *ring = lbt_ring(test, D_A, PORT, sender, 256);
	unsigned int i;

	for (i = 0; i < 3; i++)
		KUNIT_ASSERT_EQ(test, lbt_send(sender, D_A, PORT, 48), 48L);
	return ring;
}

static void notify_entry_without_space_queues_a_wakeup(struct kunit *test)
{
	struct lbt_ring *ring = lbt_three_quarters(test, D_B);
	struct argo_hv_ring_data_ent ent;
	u64 sig;

	KUNIT_ASSERT_EQ(test, lbt_query(test, D_B, D_A, PORT, 100, &ent), 0L);
	KUNIT_EXPECT_EQ(test, ent.flags, ARGO_HV_RING_EXISTS);
	sig = argo_lb_signal_count(D_B);
	lbt_consume(test, ring);
	lbt_consume(test, ring);
	KUNIT_EXPECT_EQ(test, lbt_notify_null(D_A), 0L);
	KUNIT_EXPECT_EQ(test, argo_lb_signal_count(D_B), sig + 1);
}

static void notify_entry_with_space_cancels_a_queued_wakeup(struct kunit *test)
{
	struct lbt_ring *ring = lbt_three_quarters(test, D_B);
	struct argo_hv_ring_data_ent ent;
	u64 sig;

	KUNIT_ASSERT_EQ(test, lbt_send(D_B, D_A, PORT, 100), -EAGAIN);
	lbt_consume(test, ring);
	lbt_consume(test, ring);
	KUNIT_ASSERT_EQ(test, lbt_query(test, D_B, D_A, PORT, 100, &ent), 0L);
	KUNIT_EXPECT_EQ(test, ent.flags, ARGO_HV_RING_EXISTS |
			ARGO_HV_RING_SUFFICIENT);
	sig = argo_lb_signal_count(D_B);
	KUNIT_EXPECT_EQ(test, lbt_notify_null(D_A), 0L);
	KUNIT_EXPECT_EQ(test, argo_lb_signal_count(D_B), sig);
}

/* Senders D_MANY.. on a wildcard ring of D_A that is full. */
static void lbt_many_senders(struct kunit *test, unsigned int n)
{
	unsigned int i;

	argo_lb_set_mac_permissive(true);
	lbt_ring(test, D_A, PORT, ARGO_HV_DOMID_ANY, 64);
	for (i = 0; i < n; i++)
		lbt_domain(test, D_MANY + i, true);
	for (i = 0; i < 3; i++)
		KUNIT_ASSERT_EQ(test, lbt_sendv(D_B, D_A, PORT, NULL, 0, 0),
				0L);
}

static void notify_entry_waiter_limit_sets_ebusy(struct kunit *test)
{
	struct argo_hv_ring_data_ent ent;
	unsigned int i;

	lbt_many_senders(test, ARGO_HV_MAX_PENDING_PER_RING + 1);
	for (i = 0; i < ARGO_HV_MAX_PENDING_PER_RING; i++) {
		KUNIT_ASSERT_EQ(test, lbt_query(test, D_MANY + i, D_A, PORT, 1,
						&ent), 0L);
		KUNIT_ASSERT_EQ(test, ent.flags,
				ARGO_HV_RING_EXISTS | ARGO_HV_RING_SHARED);
	}
	KUNIT_ASSERT_EQ(test, lbt_query(test, D_MANY + i, D_A, PORT, 1, &ent),
			0L);
	KUNIT_EXPECT_EQ(test, ent.flags, ARGO_HV_RING_EXISTS |
			ARGO_HV_RING_SHARED | ARGO_HV_RING_EBUSY);
	KUNIT_EXPECT_EQ(test, ent.max_message_size, 32U);
}

static void ring_full_is_eagain_and_owner_notify_wakes_sender(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring(test, D_A, PORT, D_B, 64);
	u64 sig;

	KUNIT_ASSERT_EQ(test, lbt_send(D_B, D_A, PORT, 16), 16L);
	KUNIT_ASSERT_EQ(test, lbt_send(D_B, D_A, PORT, 16), -EAGAIN);
	sig = argo_lb_signal_count(D_B);
	lbt_consume(test, ring);
	KUNIT_EXPECT_EQ(test, lbt_notify_null(D_A), 0L);
	KUNIT_EXPECT_EQ(test, argo_lb_signal_count(D_B), sig + 1);
	KUNIT_EXPECT_EQ(test, lbt_send(D_B, D_A, PORT, 16), 16L);
}

static void consuming_without_notify_does_not_wake_sender(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring(test, D_A, PORT, D_B, 64);
	u64 sig;

	KUNIT_ASSERT_EQ(test, lbt_send(D_B, D_A, PORT, 16), 16L);
	KUNIT_ASSERT_EQ(test, lbt_send(D_B, D_A, PORT, 16), -EAGAIN);
	sig = argo_lb_signal_count(D_B);
	lbt_consume(test, ring);
	/* Another domain's notify is not the owner's. */
	KUNIT_EXPECT_EQ(test, lbt_notify_null(D_C), 0L);
	KUNIT_EXPECT_EQ(test, argo_lb_signal_count(D_B), sig);
}

static void wakeup_is_one_shot(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring(test, D_A, PORT, D_B, 64);
	u64 sig;

	KUNIT_ASSERT_EQ(test, lbt_send(D_B, D_A, PORT, 16), 16L);
	KUNIT_ASSERT_EQ(test, lbt_send(D_B, D_A, PORT, 16), -EAGAIN);
	lbt_consume(test, ring);
	sig = argo_lb_signal_count(D_B);
	KUNIT_EXPECT_EQ(test, lbt_notify_null(D_A), 0L);
	KUNIT_EXPECT_EQ(test, lbt_notify_null(D_A), 0L);
	KUNIT_EXPECT_EQ(test, argo_lb_signal_count(D_B), sig + 1);
}

static void wakeup_waits_for_enough_space(struct kunit *test)
{
	struct lbt_ring *ring = lbt_three_quarters(test, D_B);
	u64 sig;

	KUNIT_ASSERT_EQ(test, lbt_send(D_B, D_A, PORT, 100), -EAGAIN);
	sig = argo_lb_signal_count(D_B);
	lbt_consume(test, ring);
	KUNIT_EXPECT_EQ(test, lbt_notify_null(D_A), 0L);
	KUNIT_EXPECT_EQ(test, argo_lb_signal_count(D_B), sig);
	lbt_consume(test, ring);
	KUNIT_EXPECT_EQ(test, lbt_notify_null(D_A), 0L);
	KUNIT_EXPECT_EQ(test, argo_lb_signal_count(D_B), sig + 1);
}

static void requeued_wait_keeps_the_larger_size(struct kunit *test)
{
	struct lbt_ring *ring = lbt_three_quarters(test, D_B);
	struct argo_hv_ring_data_ent ent;
	u64 sig;

	KUNIT_ASSERT_EQ(test, lbt_send(D_B, D_A, PORT, 100), -EAGAIN);
	KUNIT_ASSERT_EQ(test, lbt_query(test, D_B, D_A, PORT, 40, &ent), 0L);
	KUNIT_ASSERT_EQ(test, ent.flags, ARGO_HV_RING_EXISTS);
	sig = argo_lb_signal_count(D_B);
	lbt_consume(test, ring);	/* 96 fit: enough for 40, not 100 */
	KUNIT_EXPECT_EQ(test, lbt_notify_null(D_A), 0L);
	KUNIT_EXPECT_EQ(test, argo_lb_signal_count(D_B), sig);
}

static void waiter_limit_is_ebusy(struct kunit *test)
{
	unsigned int i;

	lbt_many_senders(test, ARGO_HV_MAX_PENDING_PER_RING + 1);
	for (i = 0; i < ARGO_HV_MAX_PENDING_PER_RING; i++)
		KUNIT_ASSERT_EQ(test, lbt_send(D_MANY + i, D_A, PORT, 1),
				-EAGAIN);
	KUNIT_EXPECT_EQ(test, lbt_send(D_MANY + i, D_A, PORT, 1), -EBUSY);
	/* One who already waits gets -EAGAIN again, not -EBUSY. */
	KUNIT_EXPECT_EQ(test, lbt_send(D_MANY, D_A, PORT, 1), -EAGAIN);
}

static void waiters_are_all_woken_when_space_fits(struct kunit *test)
{
	u64 sig[3];
	unsigned int i;
	struct lbt_ring *ring;

	argo_lb_set_mac_permissive(true);
	ring = lbt_ring(test, D_A, PORT, ARGO_HV_DOMID_ANY, 64);
	KUNIT_ASSERT_EQ(test, lbt_send(D_B, D_A, PORT, 16), 16L);
	KUNIT_ASSERT_EQ(test, lbt_send(D_B, D_A, PORT, 1), -EAGAIN);
	KUNIT_ASSERT_EQ(test, lbt_send(D_C, D_A, PORT, 1), -EAGAIN);
	KUNIT_ASSERT_EQ(test, lbt_send(D_A, D_A, PORT, 1), -EAGAIN);
	for (i = 0; i < 3; i++)
		sig[i] = argo_lb_signal_count(D_A + i);
	lbt_consume(test, ring);
	KUNIT_EXPECT_EQ(test, lbt_notify_null(D_A), 0L);
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(test, argo_lb_signal_count(D_A + i),
				sig[i] + 1);
}

static void unregister_drops_waiters(struct kunit *test)
{
	struct lbt_ring *ring = lbt_ring(test, D_A, PORT, D_B, 64);
	u64 sig;

	KUNIT_ASSERT_EQ(test, lbt_send(D_B, D_A, PORT, 16), 16L);
	KUNIT_ASSERT_EQ(test, lbt_send(D_B, D_A, PORT, 16), -EAGAIN);
	sig = argo_lb_signal_count(D_B);
	KUNIT_ASSERT_EQ(test, lbt_unreg(D_A, PORT, D_B), 0L);
	ring->r->rx_ptr = 0;
	ring->r->tx_ptr = 0;
	KUNIT_ASSERT_EQ(test, lbt_reg(ring, D_A, PORT, D_B, 0), 0L);
	KUNIT_EXPECT_EQ(test, lbt_notify_null(D_A), 0L);
	KUNIT_EXPECT_EQ(test, argo_lb_signal_count(D_B), sig);
}

/* ------------------------------------------------------------------ */
/* Domains                                                             */

static void domain_create_rejects_reserved_and_existing_ids(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, argo_lb_domain_create(D_A, true), -EEXIST);
	KUNIT_EXPECT_EQ(test, argo_lb_domain_create(ARGO_HV_DOMID_SELF, true),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, argo_lb_domain_create(ARGO_HV_DOMID_ANY, true),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, argo_lb_domain_create(0xffff, true), -EINVAL);
	KUNIT_EXPECT_EQ(test, argo_lb_domain_destroy(D_MISSING), -ESRCH);
}

static void destroyed_domain_is_esrch_as_destination(struct kunit *test)
{
	lbt_domain(test, D_TMP, true);
	lbt_ring(test, D_TMP, PORT, D_B, 64);
	KUNIT_ASSERT_EQ(test, argo_lb_domain_destroy(D_TMP), 0);
	KUNIT_EXPECT_EQ(test, lbt_send(D_B, D_TMP, PORT, 1), -ESRCH);
	KUNIT_EXPECT_EQ(test, argo_lb_signal_count(D_TMP), 0ULL);
}

static void destroying_a_domain_removes_its_rings(struct kunit *test)
{
	lbt_domain(test, D_TMP, true);
	lbt_ring(test, D_TMP, PORT, D_B, 64);
	KUNIT_ASSERT_EQ(test, argo_lb_domain_destroy(D_TMP), 0);
	KUNIT_ASSERT_EQ(test, argo_lb_domain_create(D_TMP, true), 0);
	KUNIT_EXPECT_EQ(test, lbt_send(D_B, D_TMP, PORT, 1), -ECONNREFUSED);
	KUNIT_EXPECT_EQ(test, lbt_unreg(D_TMP, PORT, D_B), -ENOENT);
}

static void destroying_a_domain_removes_rings_naming_it_partner(struct kunit *test)
{
	lbt_domain(test, D_TMP, true);
	lbt_ring(test, D_A, PORT, D_TMP, 64);
	lbt_ring(test, D_A, PORT, D_B, 64);
	KUNIT_ASSERT_EQ(test, argo_lb_domain_destroy(D_TMP), 0);
	KUNIT_EXPECT_EQ(test, lbt_unreg(D_A, PORT, D_TMP), -ENOENT);
	KUNIT_EXPECT_EQ(test, lbt_unreg(D_A, PORT, D_B), 0L);
}

static void destroying_a_domain_keeps_wildcard_rings(struct kunit *test)
{
	argo_lb_set_mac_permissive(true);
	lbt_domain(test, D_TMP, true);
	lbt_ring(test, D_A, PORT, ARGO_HV_DOMID_ANY, 256);
	KUNIT_ASSERT_EQ(test, lbt_send(D_TMP, D_A, PORT, 1), 1L);
	KUNIT_ASSERT_EQ(test, argo_lb_domain_destroy(D_TMP), 0);
	KUNIT_EXPECT_EQ(test, lbt_send(D_B, D_A, PORT, 1), 1L);
}

static void destroying_a_domain_cancels_its_waits(struct kunit *test)
{
	unsigned int i;

	lbt_many_senders(test, ARGO_HV_MAX_PENDING_PER_RING + 1);
	for (i = 0; i < ARGO_HV_MAX_PENDING_PER_RING; i++)
		KUNIT_ASSERT_EQ(test, lbt_send(D_MANY + i, D_A, PORT, 1),
				-EAGAIN);
	KUNIT_ASSERT_EQ(test, argo_lb_domain_destroy(D_MANY), 0);
	KUNIT_EXPECT_EQ(test, lbt_send(D_MANY + i, D_A, PORT, 1), -EAGAIN);
}

static void simulate_resume_drops_the_domains_rings(struct kunit *test)
{
	lbt_ring(test, D_A, PORT, D_B, 64);
	lbt_ring(test, D_B, PORT, D_A, 64);
	KUNIT_ASSERT_EQ(test, argo_lb_simulate_resume(D_A), 0);
	KUNIT_EXPECT_EQ(test, lbt_send(D_B, D_A, PORT, 1), -ECONNREFUSED);
	KUNIT_EXPECT_EQ(test, lbt_unreg(D_A, PORT, D_B), -ENOENT);
	/* Other domains keep theirs, even those naming it partner. */
	KUNIT_EXPECT_EQ(test, lbt_send(D_A, D_B, PORT, 1), 1L);
	KUNIT_EXPECT_EQ(test, argo_lb_simulate_resume(D_MISSING), -ESRCH);
}

/* ------------------------------------------------------------------ */
/* The provider in its context: atomic callers and the core           */

static void ops_work_with_interrupts_off(struct kunit *test)
{
	static DEFINE_SPINLOCK(lock);
	struct lbt_ring *ring = lbt_ring(test, D_A, PORT, D_B, 64);
	unsigned long flags;
	long ret[5];

	/* What the virtio kick path does: everything but register_ring. */
	spin_lock_irqsave(&lock, flags);
	ret[0] = lbt_send(D_B, D_A, PORT, 16);
	ret[1] = lbt_send(D_B, D_A, PORT, 16);
	ret[2] = lbt_notify_null(D_A);
	ret[3] = lbt_unreg(D_A, PORT, D_B);
	ret[4] = lbt_send(D_B, D_A, PORT, 16);
	spin_unlock_irqrestore(&lock, flags);

	KUNIT_EXPECT_EQ(test, ret[0], 16L);
	KUNIT_EXPECT_EQ(test, ret[1], -EAGAIN);
	KUNIT_EXPECT_EQ(test, ret[2], 0L);
	KUNIT_EXPECT_EQ(test, ret[3], 0L);
	KUNIT_EXPECT_EQ(test, ret[4], -ECONNREFUSED);
	KUNIT_EXPECT_EQ(test, lbt_tx(ring), 32U);
}

static enum argo_rx_action lbt_core_rx(struct argo_endpoint *ep,
				       const struct argo_msg *msg, void *priv)
{
	struct lbt_ctx *ctx = priv;

	if (!completion_done(&ctx->rx_done)) {
		ctx->rx_msg.src_domain = msg->src_domain;
		ctx->rx_msg.src_port = msg->src_port;
		ctx->rx_msg.type = msg->type;
		ctx->rx_msg.len = msg->len;
		complete(&ctx->rx_done);
	}
	return ARGO_RX_CONSUME;
}

static const struct argo_endpoint_ops lbt_core_ops = {
	.rx = lbt_core_rx,
};

/* A core endpoint as D_A on PORT for D_B. */
static void lbt_core_endpoint(struct kunit *test)
{
	struct lbt_ctx *ctx = ctx_of(test);
	struct argo_endpoint_cfg cfg = {
		.domain = D_A,
		.port = PORT,
		.partner = D_B,
		.ring_size = 256,
		.ops = &lbt_core_ops,
		.priv = ctx,
	};
	struct argo_endpoint *ep;

	init_completion(&ctx->rx_done);
	ep = argo_endpoint_open(&cfg);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(ep), "open: %ld", PTR_ERR(ep));
	ctx->ep = ep;
}

static void lbt_expect_core_rx(struct kunit *test, u32 len)
{
	struct lbt_ctx *ctx = ctx_of(test);

	KUNIT_ASSERT_TRUE_MSG(test,
			      wait_for_completion_timeout(&ctx->rx_done,
							  10 * HZ),
			      "the core never saw the message");
	KUNIT_EXPECT_EQ(test, ctx->rx_msg.src_domain, (u16)D_B);
	KUNIT_EXPECT_EQ(test, ctx->rx_msg.src_port, (u32)SRC_PORT);
	KUNIT_EXPECT_EQ(test, ctx->rx_msg.len, len);
}

static void signal_reaches_the_core(struct kunit *test)
{
	lbt_core_endpoint(test);
	KUNIT_ASSERT_EQ(test, lbt_send(D_B, D_A, PORT, 9), 9L);
	lbt_expect_core_rx(test, 9);
}

static void simulate_resume_makes_the_core_register_again(struct kunit *test)
{
	struct argo_hv_ring_data_ent ent;

	lbt_core_endpoint(test);
	KUNIT_ASSERT_EQ(test, argo_lb_simulate_resume(D_A), 0);
	/* The core registered its ring again before the call returned. */
	KUNIT_ASSERT_EQ(test, lbt_query(test, D_B, D_A, PORT, 0, &ent), 0L);
	KUNIT_EXPECT_TRUE(test, ent.flags & ARGO_HV_RING_EXISTS);
	KUNIT_ASSERT_EQ(test, lbt_send(D_B, D_A, PORT, 11), 11L);
	lbt_expect_core_rx(test, 11);
}

/* ------------------------------------------------------------------ */

static int argo_abi_init(struct kunit *test)
{
	struct lbt_ctx *ctx;
	unsigned int i;

	if (!argo_lb_active())
		kunit_skip(test, "argo.ko does not run the loopback provider");

	for (i = 0; i < ARRAY_SIZE(lbt_pattern); i++)
		lbt_pattern[i] = i * 7 + 3;

	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	ctx->mac = argo_lb_mac_permissive();
	test->priv = ctx;
	lbt_domain(test, D_A, true);
	lbt_domain(test, D_B, true);
	lbt_domain(test, D_C, true);
	lbt_domain(test, D_NOARGO, false);
	return 0;
}

static void argo_abi_exit(struct kunit *test)
{
	struct lbt_ctx *ctx = test->priv;
	unsigned int i;

	if (!ctx)
		return;
	if (ctx->ep)
		argo_endpoint_close(ctx->ep);
	/* Domains first: that drops their rings, then the memory goes. */
	for (i = ctx->ndoms; i-- > 0;)
		argo_lb_domain_destroy(ctx->doms[i]);
	for (i = 0; i < ctx->nmem; i++)
		vfree(ctx->mem[i]);
	argo_lb_set_mac_permissive(ctx->mac);
}

static struct kunit_case argo_abi_entry_cases[] = {
	KUNIT_CASE(arg3_or_arg4_above_32_bits_is_einval),
	KUNIT_CASE(unknown_op_is_eopnotsupp),
	KUNIT_CASE(caller_without_argo_is_eperm),
	KUNIT_CASE(unknown_caller_is_esrch),
	KUNIT_CASE(notify_null_returns_zero),
	KUNIT_CASE(domid_self_caller_acts_as_loopback_self),
	KUNIT_CASE(provider_domain_maps_self_and_existing_ids),
	{}
};

static struct kunit_case argo_abi_register_cases[] = {
	KUNIT_CASE(register_valid_ring_succeeds),
	KUNIT_CASE(register_unknown_flags_are_einval_before_arg1),
	KUNIT_CASE(register_null_arg1_is_efault),
	KUNIT_CASE(register_len_below_48_is_einval),
	KUNIT_CASE(register_len_not_multiple_of_16_is_einval),
	KUNIT_CASE(register_len_above_16mib_is_einval),
	KUNIT_CASE(register_16mib_ring_needs_4097_frames_is_einval),
	KUNIT_CASE(register_largest_ring_is_16mib_minus_64),
	KUNIT_CASE(register_wrong_npages_is_einval),
	KUNIT_CASE(register_npages_above_4096_is_einval_before_arg1),
	KUNIT_CASE(register_pad_nonzero_is_einval),
	KUNIT_CASE(register_any_partner_without_mac_permissive_is_eperm),
	KUNIT_CASE(register_any_partner_with_mac_permissive_succeeds),
	KUNIT_CASE(register_nonexistent_partner_is_esrch),
	KUNIT_CASE(register_partner_without_argo_is_econnrefused),
	KUNIT_CASE(register_ring_limit_is_enospc),
	KUNIT_CASE(reregister_at_ring_limit_is_enospc),
	KUNIT_CASE(reregister_replaces_pages_and_keeps_tx_ptr),
	KUNIT_CASE(register_invalid_tx_ptr_is_reset_to_rounded_rx_ptr),
	KUNIT_CASE(register_valid_tx_ptr_is_kept),
	KUNIT_CASE(reregister_with_fail_exist_is_eexist),
	KUNIT_CASE(reregister_with_different_len_is_eexist),
	KUNIT_CASE(register_same_port_other_partner_is_another_ring),
	KUNIT_CASE(register_invalid_frame_is_einval),
	KUNIT_CASE(register_null_frame_array_is_efault),
	KUNIT_CASE(register_frames_are_read_after_ring_checks),
	KUNIT_CASE(failed_reregister_removes_the_ring),
	{}
};

static struct kunit_case argo_abi_unregister_cases[] = {
	KUNIT_CASE(unregister_removes_the_ring),
	KUNIT_CASE(unregister_unknown_ring_is_enoent),
	KUNIT_CASE(unregister_extra_args_are_einval),
	KUNIT_CASE(unregister_null_arg1_is_efault),
	KUNIT_CASE(unregister_pad_nonzero_is_einval),
	KUNIT_CASE(unregister_matches_partner_exactly),
	KUNIT_CASE(unregister_frees_a_ring_slot),
	KUNIT_CASE(unregister_drops_waiters),
	{}
};

static struct kunit_case argo_abi_sendv_cases[] = {
	KUNIT_CASE(sendv_returns_payload_length_and_writes_the_message),
	KUNIT_CASE(sendv_message_type_is_delivered),
	KUNIT_CASE(sendv_source_domid_any_is_stamped_with_caller),
	KUNIT_CASE(sendv_source_other_domain_is_eperm),
	KUNIT_CASE(sendv_to_domid_self_is_esrch),
	KUNIT_CASE(sendv_to_nonexistent_domain_is_esrch),
	KUNIT_CASE(sendv_to_domain_without_argo_is_econnrefused),
	KUNIT_CASE(sendv_without_ring_is_econnrefused),
	KUNIT_CASE(sendv_to_ring_of_other_partner_is_econnrefused),
	KUNIT_CASE(sendv_prefers_partner_ring_over_wildcard),
	KUNIT_CASE(sendv_to_own_domain_succeeds),
	KUNIT_CASE(sendv_more_than_8_iovs_is_einval),
	KUNIT_CASE(sendv_null_arg1_is_efault),
	KUNIT_CASE(sendv_null_iov_array_is_efault),
	KUNIT_CASE(sendv_with_no_iovs_sends_an_empty_message),
	KUNIT_CASE(sendv_addr_pad_nonzero_is_einval),
	KUNIT_CASE(sendv_iov_pad_nonzero_is_einval),
	KUNIT_CASE(sendv_iov_above_max_message_size_is_einval),
	KUNIT_CASE(sendv_total_above_max_message_size_is_emsgsize),
	KUNIT_CASE(sendv_iov_checks_follow_the_ring_lookup),
	KUNIT_CASE(sendv_largest_payload_is_ring_len_minus_32),
	KUNIT_CASE(sendv_payload_over_ring_len_minus_32_is_emsgsize),
	KUNIT_CASE(sendv_null_iov_handle_is_efault_and_publishes_nothing),
	KUNIT_CASE(sendv_zero_length_iov_is_skipped),
	KUNIT_CASE(sendv_gathers_iovs_in_order),
	KUNIT_CASE(sendv_signals_the_destination_every_time),
	KUNIT_CASE(sendv_failure_does_not_signal_the_destination),
	{}
};

static struct kunit_case argo_abi_ring_cases[] = {
	KUNIT_CASE(messages_start_on_16_byte_slots),
	KUNIT_CASE(payload_wraps_to_offset_zero),
	KUNIT_CASE(header_never_wraps),
	KUNIT_CASE(ring_keeps_one_slot_free),
	KUNIT_CASE(ring_full_is_eagain),
	KUNIT_CASE(consumed_space_is_reused),
	KUNIT_CASE(unaligned_rx_ptr_is_rounded_up),
	KUNIT_CASE(out_of_range_rx_ptr_counts_as_zero),
	{}
};

static struct kunit_case argo_abi_notify_cases[] = {
	KUNIT_CASE(notify_more_than_256_entries_is_eacces),
	KUNIT_CASE(notify_extra_args_are_einval),
	KUNIT_CASE(notify_entry_for_missing_ring_has_no_flags),
	KUNIT_CASE(notify_entry_for_absent_domain_has_no_flags),
	KUNIT_CASE(notify_entry_reports_an_empty_ring),
	KUNIT_CASE(notify_entry_of_used_ring_is_not_empty),
	KUNIT_CASE(notify_entry_for_wildcard_ring_is_shared),
	KUNIT_CASE(notify_entry_for_other_partner_ring_has_no_flags),
	KUNIT_CASE(notify_entry_above_max_size_is_emsgsize),
	KUNIT_CASE(notify_entry_without_space_queues_a_wakeup),
	KUNIT_CASE(notify_entry_with_space_cancels_a_queued_wakeup),
	KUNIT_CASE(notify_entry_waiter_limit_sets_ebusy),
	KUNIT_CASE(ring_full_is_eagain_and_owner_notify_wakes_sender),
	KUNIT_CASE(consuming_without_notify_does_not_wake_sender),
	KUNIT_CASE(wakeup_is_one_shot),
	KUNIT_CASE(wakeup_waits_for_enough_space),
	KUNIT_CASE(requeued_wait_keeps_the_larger_size),
	KUNIT_CASE(waiter_limit_is_ebusy),
	KUNIT_CASE(waiters_are_all_woken_when_space_fits),
	{}
};

static struct kunit_case argo_abi_domain_cases[] = {
	KUNIT_CASE(domain_create_rejects_reserved_and_existing_ids),
	KUNIT_CASE(destroyed_domain_is_esrch_as_destination),
	KUNIT_CASE(destroying_a_domain_removes_its_rings),
	KUNIT_CASE(destroying_a_domain_removes_rings_naming_it_partner),
	KUNIT_CASE(destroying_a_domain_keeps_wildcard_rings),
	KUNIT_CASE(destroying_a_domain_cancels_its_waits),
	KUNIT_CASE(simulate_resume_drops_the_domains_rings),
	{}
};

static struct kunit_case argo_abi_provider_cases[] = {
	KUNIT_CASE(ops_work_with_interrupts_off),
	KUNIT_CASE(signal_reaches_the_core),
	KUNIT_CASE(simulate_resume_makes_the_core_register_again),
	{}
};

#define ARGO_ABI_SUITE(sname, cases)		\
	static struct kunit_suite sname = {	\
		.name = #sname,			\
		.init = argo_abi_init,		\
		.exit = argo_abi_exit,		\
		.test_cases = cases,		\
	}

ARGO_ABI_SUITE(argo_abi_entry, argo_abi_entry_cases);
ARGO_ABI_SUITE(argo_abi_register_ring, argo_abi_register_cases);
ARGO_ABI_SUITE(argo_abi_unregister_ring, argo_abi_unregister_cases);
ARGO_ABI_SUITE(argo_abi_sendv, argo_abi_sendv_cases);
ARGO_ABI_SUITE(argo_abi_ring_format, argo_abi_ring_cases);
ARGO_ABI_SUITE(argo_abi_notify, argo_abi_notify_cases);
ARGO_ABI_SUITE(argo_abi_domains, argo_abi_domain_cases);
ARGO_ABI_SUITE(argo_abi_provider, argo_abi_provider_cases);

kunit_test_suites(&argo_abi_entry, &argo_abi_register_ring,
		  &argo_abi_unregister_ring, &argo_abi_sendv,
		  &argo_abi_ring_format, &argo_abi_notify, &argo_abi_domains,
		  &argo_abi_provider);

MODULE_DESCRIPTION("KUnit: the Argo ABI against the loopback provider");
MODULE_LICENSE("GPL");
