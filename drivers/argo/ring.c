// SPDX-License-Identifier: GPL-2.0
/*
 * argo.ko: receive rings.
 *
 * A ring is a 64-byte header followed by the data area, in 4 KiB frames
 * that the hypervisor writes into.  The guest owns rx_ptr, the hypervisor
 * owns tx_ptr.  Messages start on 16-byte slots with a 16-byte header that
 * never wraps; the payload may wrap to offset 0.  rx_ptr == tx_ptr means
 * empty, and one slot is always free.
 *
 * The hypervisor is trusted to follow these rules, but the ring is guest
 * memory that anything in this domain could have scribbled on, so every
 * value read from it passes through argo_ring_sane_tx() and the message
 * header check in argo_ring_drain() before it is used.  rx_ptr is never read
 * back: the core keeps its own copy and only publishes it.
 */

#define pr_fmt(fmt) "argo: " fmt

#include <linux/kernel.h>
#include <linux/minmax.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/vmalloc.h>
#include "core.h"

int argo_ring_alloc(struct argo_endpoint *ep)
{
	unsigned int i;

	ep->npages = ARGO_HV_RING_NPAGES(ep->ring_len);
	ep->ring = vzalloc(ep->npages * ARGO_HV_PAGE_SIZE);
	if (!ep->ring)
		return -ENOMEM;
	ep->gfns = kvcalloc(ep->npages, sizeof(*ep->gfns), GFP_KERNEL);
	if (!ep->gfns) {
		vfree(ep->ring);
		ep->ring = NULL;
		return -ENOMEM;
	}
	for (i = 0; i < ep->npages; i++)
		ep->gfns[i] = argo_prov->frame((u8 *)ep->ring +
					       i * ARGO_HV_PAGE_SIZE);
	ep->rx_ptr = 0;
	return 0;
}

void argo_ring_free(struct argo_endpoint *ep)
{
	kvfree(ep->gfns);
	vfree(ep->ring);
	ep->gfns = NULL;
	ep->ring = NULL;
}

int argo_ring_register(struct argo_endpoint *ep, u32 flags)
{
	struct argo_hv_register_ring reg = {
		.aport = ep->port,
		.partner_id = ep->partner,
		.len = ep->ring_len,
	};

	return argo_prov->op(ep->dom->domid, ARGO_HV_OP_REGISTER_RING, &reg,
			     ep->gfns, ep->npages, flags);
}

void argo_ring_unregister(struct argo_endpoint *ep)
{
	struct argo_hv_unregister_ring unreg = {
		.aport = ep->port,
		.partner_id = ep->partner,
	};
	long ret;

	ret = argo_prov->op(ep->dom->domid, ARGO_HV_OP_UNREGISTER_RING, &unreg,
			    NULL, 0, 0);
	/* -ENOENT: the hypervisor already dropped it (partner died). */
	if (ret && ret != -ENOENT)
		pr_warn("unregister_ring port %u partner %u in domain %u: %ld\n",
			ep->port, ep->partner, ep->dom->domid, ret);
}

/* tx_ptr as the hypervisor left it, or -1 if it is not a slot in the ring. */
static s64 argo_ring_sane_tx(struct argo_endpoint *ep)
{
	/* Acquire: the message bytes are read only after tx_ptr covers them. */
	u32 tx = smp_load_acquire(&ep->ring->tx_ptr);

	if (tx >= ep->ring_len || tx % ARGO_HV_MSG_SLOT_SIZE)
		return -1;
	return tx;
}

bool argo_ring_has_data(struct argo_endpoint *ep)
{
	s64 tx = argo_ring_sane_tx(ep);

	/* Our own rx_ptr: the ring's copy is only ever written. */
	return tx >= 0 && tx != READ_ONCE(ep->rx_ptr);
}

static void argo_ring_error(struct argo_endpoint *ep, const char *what,
			    u32 a, u32 b)
{
	atomic64_inc(&ep->ring_errors);
	pr_warn_ratelimited("ring port %u in domain %u: %s (%u, %u), dropping its contents\n",
			    ep->port, ep->dom->domid, what, a, b);
}

static void argo_ring_publish(struct argo_endpoint *ep, u32 rx)
{
	/* Read without rx_lock by argo_ring_has_data(). */
	WRITE_ONCE(ep->rx_ptr, rx);
	/* Our reads of the consumed slots happen before the space is freed. */
	smp_store_release(&ep->ring->rx_ptr, rx);
}

/*
 * Deliver up to @budget messages (0: all) to @fn, consuming those it
 * accepts.  Called with ep->rx_lock held.  Sets *@more if messages remain
 * because the budget ran out.  Returns the number consumed or -EIO if the
 * ring was found corrupt (its contents are then dropped).
 */
int argo_ring_drain(struct argo_endpoint *ep,
		    enum argo_rx_action (*fn)(struct argo_endpoint *ep,
					      const struct argo_msg *msg,
					      void *arg),
		    void *arg, unsigned int budget, bool *more)
{
	const u32 len = ep->ring_len;
	u8 *data = ep->ring->ring;
	u32 rx = ep->rx_ptr;
	unsigned int done = 0;
	int ret = 0;

	lockdep_assert_held(&ep->rx_lock);
	*more = false;
	for (;;) {
		struct argo_hv_msg_hdr hdr;
		enum argo_rx_action act;
		struct argo_msg msg;
		u32 avail, space, off;
		s64 tx;

		tx = argo_ring_sane_tx(ep);
		if (tx < 0) {
			argo_ring_error(ep, "tx_ptr out of the ring",
					READ_ONCE(ep->ring->tx_ptr), len);
			ret = -EIO;
			break;
		}
		if (rx == tx)
			break;
		if (budget && done == budget) {
			*more = true;
			break;
		}
		avail = tx > rx ? tx - rx : len - rx + tx;

		/* rx and len are multiples of 16: the header never wraps. */
		memcpy(&hdr, data + rx, sizeof(hdr));
		/*
		 * Bound hdr.len by avail before rounding it up to slots: a
		 * length near U32_MAX would round up to 0 in 32 bits.
		 */
		space = 0;
		if (hdr.len >= ARGO_HV_MSG_HDR_SIZE && hdr.len <= avail)
			space = ARGO_HV_MSG_SPACE(hdr.len - ARGO_HV_MSG_HDR_SIZE);
		if (!space || space > avail) {
			argo_ring_error(ep, "bad message length", hdr.len, avail);
			argo_ring_publish(ep, tx);
			ret = -EIO;
			break;
		}

		msg.src_domain = hdr.source.domain_id;
		msg.src_port = hdr.source.aport;
		msg.type = hdr.message_type;
		msg.len = hdr.len - ARGO_HV_MSG_HDR_SIZE;
		off = rx + ARGO_HV_MSG_HDR_SIZE;
		if (off >= len)
			off -= len;
		msg.part[0] = data + off;
		msg.part_len[0] = min(msg.len, len - off);
		msg.part[1] = data;
		msg.part_len[1] = msg.len - msg.part_len[0];

		act = fn(ep, &msg, arg);
		if (act == ARGO_RX_KEEP)
			break;

		rx += space;
		if (rx >= len)
			rx -= len;
		argo_ring_publish(ep, rx);
		atomic64_inc(&ep->rx_msgs);
		atomic64_add(msg.len, &ep->rx_bytes);
		done++;
		if (act == ARGO_RX_CONSUME_STOP)
			break;
	}
	return ret ? ret : done;
}

size_t argo_msg_copy(const struct argo_msg *msg, size_t off, void *dst,
		     size_t len)
{
	size_t done = 0;
	int i;

	if (off >= msg->len)
		return 0;
	len = min_t(size_t, len, msg->len - off);
	for (i = 0; i < 2 && done < len; i++) {
		size_t n;

		if (off >= msg->part_len[i]) {
			off -= msg->part_len[i];
			continue;
		}
		n = min_t(size_t, len - done, msg->part_len[i] - off);
		memcpy((u8 *)dst + done, msg->part[i] + off, n);
		done += n;
		off = 0;
	}
	return done;
}
EXPORT_SYMBOL_GPL(argo_msg_copy);

size_t argo_msg_copy_to_iter(const struct argo_msg *msg, size_t off,
			     size_t len, struct iov_iter *iter)
{
	size_t done = 0;
	int i;

	if (off >= msg->len)
		return 0;
	len = min_t(size_t, len, msg->len - off);
	for (i = 0; i < 2 && done < len; i++) {
		size_t n, got;

		if (off >= msg->part_len[i]) {
			off -= msg->part_len[i];
			continue;
		}
		n = min_t(size_t, len - done, msg->part_len[i] - off);
		got = copy_to_iter(msg->part[i] + off, n, iter);
		done += got;
		if (got != n)
			break;
		off = 0;
	}
	return done;
}
EXPORT_SYMBOL_GPL(argo_msg_copy_to_iter);
