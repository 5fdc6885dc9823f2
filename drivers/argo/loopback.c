// SPDX-License-Identifier: GPL-2.0
/*
 * argo.ko: the loopback provider, a software implementation of the
 * hypervisor's side of Argo with virtual domains.
 *
 * It plays Xen: it keeps the rings that virtual domains register, copies
 * messages into them, stamps the sender, queues space wake-ups and raises
 * a per-domain signal (VIRQ_ARGO), with the checks, limits and error codes
 * of Xen's xen/common/argo.c in the same order.  Tests, demos and machines
 * without Xen run the core on it; Documentation/argo-loopback.rst says how
 * it differs from Xen (it returns properly signed results, delivers signals
 * from a work item, and takes kernel page frames for guest frames).
 *
 * Load with provider=loopback; module parameters (argo.loopback_*):
 *   loopback_domains=N        domains 0..N-1 exist with Argo on (default 8)
 *   loopback_self=D           the domain ARGO_HV_DOMID_SELF stands for (0)
 *   loopback_mac_permissive=1 allow rings for any partner (Xen's
 *                             argo=1,mac-permissive=1; default off)
 *
 * "Guest handles" are kernel pointers, iov handles kernel virtual
 * addresses, and ring frames what argo_lb_frame() returns.
 *
 * Locking, outer first (all taken with interrupts off, as op() may run in
 * any context):
 *
 *   lb_lock (L1, global rwlock)
 *	read:  held by every op for its whole run; pins every struct lb_domain
 *	       and its argo flag.
 *	write: domain creation, destruction, simulated resume and exit; it
 *	       implies every lock below, in every domain.
 *   lb_domain.rings_lock (L2, per domain rwlock)
 *	read:  the domain's ring list and each ring's id (aport, partner).
 *	write: also everything in each of the domain's rings (implies L3):
 *	       register_ring and unregister_ring.
 *	Never hold two L2 locks at once.
 *   lb_ring.lock (L3, per ring spinlock)
 *	the ring's len, tx_ptr, mapping and pending (space wake-up) table.
 *
 * Raising a signal takes none of these (an atomic counter and queue_work)
 * and is allowed under any of them.  The core is never called with a lock
 * held or from op(): signals reach it through a work item, and resume
 * through argo_lb_simulate_resume() in process context.
 *
 * Everything read from a registered ring (rx_ptr and, at registration,
 * tx_ptr) is guest memory under the guest's control, and passes through
 * lb_sane_rx() or the tx_ptr check in lb_register() before use.
 */

#define pr_fmt(fmt) "argo: loopback: " fmt

#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/err.h>
#include <linux/hashtable.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/llist.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>
#include <argo/loopback.h>
#include <argo/provider.h>

static unsigned int loopback_domains = 8;
module_param(loopback_domains, uint, 0444);
MODULE_PARM_DESC(loopback_domains,
		 "loopback provider: domains 0..N-1 exist with Argo on (default 8)");

static ushort loopback_self;
module_param(loopback_self, ushort, 0444);
MODULE_PARM_DESC(loopback_self,
		 "loopback provider: domain id DOMID_SELF stands for (default 0)");

static bool loopback_mac_permissive;
module_param(loopback_mac_permissive, bool, 0444);
MODULE_PARM_DESC(loopback_mac_permissive,
		 "loopback provider: allow rings for any partner (default off, as Xen)");

/* Xen's private limits, with the values of xen/common/argo.c. */
#define LB_MAX_RINGS		ARGO_HV_MAX_RINGS
#define LB_MAX_NOTIFY		ARGO_HV_MAX_NOTIFY_COUNT
#define LB_MAX_PENDING		ARGO_HV_MAX_PENDING_PER_RING
#define LB_SLOT			ARGO_HV_MSG_SLOT_SIZE
#define LB_HDR			ARGO_HV_MSG_HDR_SIZE
#define LB_MAX_MSG		ARGO_HV_MAX_MSG_SIZE
/* Domain ids from here up are special (DOMID_SELF, DOMID_INVALID, ...). */
#define LB_DOMID_FIRST_RESERVED	ARGO_HV_DOMID_SELF

/* 4 KiB frames: a Linux page may hold several (arm64 with 16K/64K pages). */
#define LB_FRAME_SHIFT		12
#define LB_FRAME_SUB_SHIFT	(PAGE_SHIFT - LB_FRAME_SHIFT)
#define LB_FRAMES_PER_PAGE	BIT(LB_FRAME_SUB_SHIFT)
/* What argo_lb_frame() returns for memory that has no frame. */
#define LB_BAD_FRAME		((argo_hv_gfn_t)~0ULL)

static inline u32 lb_roundup_slot(u32 x)
{
	/* Wraps to 0 for x > 0xfffffff0, as Xen's unsigned arithmetic does. */
	return (x + LB_SLOT - 1) & ~(LB_SLOT - 1);
}

/* The pages of one registered ring, mapped contiguously. */
struct lb_map {
	struct llist_node free_node;
	void *vaddr;			/* vmap() of pages[] */
	struct argo_hv_ring *ring;	/* the first frame, inside vaddr */
	struct page **pages;
	unsigned int npages;
};

/* A sender waiting for @len bytes of payload space. */
struct lb_pending {
	u16 domid;
	u32 len;
};

struct lb_ring {
	struct list_head node;		/* in lb_domain.rings: L2 */
	u32 aport;			/* L2 */
	u16 partner;			/* L2 */
	spinlock_t lock;		/* L3 */
	u32 len;			/* L3: data area bytes */
	u32 tx_ptr;			/* L3: the only trusted copy */
	struct lb_map *map;		/* L3 */
	unsigned int npending;		/* L3 */
	struct lb_pending pending[LB_MAX_PENDING];	/* L3 */
};

struct lb_domain {
	struct hlist_node hnode;	/* in lb_domains: L1 */
	u16 domid;
	bool argo;			/* Argo enabled (Xen: d->argo != NULL) */
	rwlock_t rings_lock;		/* L2 */
	struct list_head rings;		/* L2 */
	unsigned int ring_count;	/* L2 */
	atomic64_t signals;		/* every VIRQ_ARGO raised */
	struct work_struct signal_work;	/* delivers them to the core */
};

static DEFINE_RWLOCK(lb_lock);			/* L1 */
static DEFINE_HASHTABLE(lb_domains, 6);		/* L1 */
static bool lb_running;				/* L1 (written under W) */
static struct workqueue_struct *lb_wq;

/* Mappings of removed rings, released from process context. */
static LLIST_HEAD(lb_free_maps);
static void lb_reap(struct work_struct *work);
static DECLARE_WORK(lb_reap_work, lb_reap);

/* ------------------------------------------------------------------ */
/* Domains and signals                                                 */

static struct lb_domain *lb_find(u16 domid)
{
	struct lb_domain *d;

	lockdep_assert_held(&lb_lock);
	hash_for_each_possible(lb_domains, d, hnode, domid)
		if (d->domid == domid)
			return d;
	return NULL;
}

static void lb_signal_work(struct work_struct *work)
{
	struct lb_domain *d = container_of(work, struct lb_domain, signal_work);

	argo_core_signal(d->domid);
}

/* Raise VIRQ_ARGO in @d.  Any context, any of our locks held. */
static void lb_signal(struct lb_domain *d)
{
	atomic64_inc(&d->signals);
	queue_work(lb_wq, &d->signal_work);
}

static void lb_signal_domid(u16 domid)
{
	struct lb_domain *d = lb_find(domid);

	if (d)
		lb_signal(d);
}

/* ------------------------------------------------------------------ */
/* Ring memory                                                         */

static void lb_map_release(struct lb_map *map)
{
	unsigned int i;

	if (map->vaddr)
		vunmap(map->vaddr);
	for (i = 0; i < map->npages; i++)
		if (map->pages[i])
			put_page(map->pages[i]);
	kvfree(map->pages);
	kfree(map);
}

static void lb_reap(struct work_struct *work)
{
	struct llist_node *list = llist_del_all(&lb_free_maps);
	struct lb_map *map, *next;

	llist_for_each_entry_safe(map, next, list, free_node)
		lb_map_release(map);
}

/* Release @map later: callable in atomic context. */
static void lb_map_put(struct lb_map *map)
{
	if (!map)
		return;
	llist_add(&map->free_node, &lb_free_maps);
	queue_work(lb_wq, &lb_reap_work);
}

static struct page *lb_frame_page(argo_hv_gfn_t gfn)
{
	u64 pfn = gfn >> LB_FRAME_SUB_SHIFT;
	struct page *page;

	if (pfn != (unsigned long)pfn || !pfn_valid((unsigned long)pfn))
		return NULL;
	page = pfn_to_page((unsigned long)pfn);
	/* Not memory the kernel could lend: free, or reserved. */
	if (PageReserved(page) || !get_page_unless_zero(compound_head(page)))
		return NULL;
	return page;
}

/*
 * Take and map the @nframes frames at @gfns.  The result is what Xen's
 * find_ring_mfns() would report: -EFAULT if the array cannot be read,
 * -EINVAL if a frame is not RAM the caller may use.  On kernels with pages
 * larger than 4 KiB the frames must also be consecutive within their pages
 * (true of any virtually contiguous allocation), else -EINVAL.  Sleeps.
 */
static struct lb_map *lb_map_frames(const argo_hv_gfn_t *gfns,
				    unsigned int nframes)
{
	unsigned int i, first_sub, npages;
	struct lb_map *map;
	int ret = -EINVAL;

	if (!gfns)
		return ERR_PTR(-EFAULT);

	first_sub = gfns[0] & (LB_FRAMES_PER_PAGE - 1);
	npages = DIV_ROUND_UP(first_sub + nframes, LB_FRAMES_PER_PAGE);

	map = kzalloc(sizeof(*map), GFP_KERNEL);
	if (!map)
		return ERR_PTR(-ENOMEM);
	map->pages = kvcalloc(npages, sizeof(*map->pages), GFP_KERNEL);
	if (!map->pages) {
		kfree(map);
		return ERR_PTR(-ENOMEM);
	}
	map->npages = npages;

	for (i = 0; i < nframes; i++) {
		argo_hv_gfn_t gfn = gfns[i];
		unsigned int pos = first_sub + i;
		unsigned int idx = pos / LB_FRAMES_PER_PAGE;

		if ((gfn & (LB_FRAMES_PER_PAGE - 1)) !=
		    pos % LB_FRAMES_PER_PAGE)
			goto fail;
		if (map->pages[idx]) {
			/* Another 4 KiB frame of a page already taken. */
			if (page_to_pfn(map->pages[idx]) !=
			    gfn >> LB_FRAME_SUB_SHIFT)
				goto fail;
			continue;
		}
		map->pages[idx] = lb_frame_page(gfn);
		if (!map->pages[idx])
			goto fail;
	}

	map->vaddr = vmap(map->pages, npages, VM_MAP, PAGE_KERNEL);
	if (!map->vaddr) {
		ret = -ENOMEM;
		goto fail;
	}
	map->ring = map->vaddr + ((size_t)first_sub << LB_FRAME_SHIFT);
	return map;

fail:
	lb_map_release(map);
	return ERR_PTR(ret);
}

/* ------------------------------------------------------------------ */
/* Rings                                                               */

static struct lb_ring *lb_ring_find(struct lb_domain *d, u32 aport,
				    u16 partner)
{
	struct lb_ring *r;

	list_for_each_entry(r, &d->rings, node)
		if (r->aport == aport && r->partner == partner)
			return r;
	return NULL;
}

/* The ring a message from @sender to @aport goes to: specific first. */
static struct lb_ring *lb_ring_match(struct lb_domain *d, u32 aport,
				     u16 sender)
{
	struct lb_ring *r = lb_ring_find(d, aport, sender);

	return r ?: lb_ring_find(d, aport, ARGO_HV_DOMID_ANY);
}

/*
 * Unlink and free @r of @d, dropping its waiters unsignalled, as Xen does.
 * Caller holds W(L2) of @d (or W(L1)).
 */
static void lb_ring_remove(struct lb_domain *d, struct lb_ring *r)
{
	list_del(&r->node);
	d->ring_count--;
	lb_map_put(r->map);
	kfree(r);
}

/* rx_ptr as the guest left it, made safe: aligned, and 0 if outside. */
static u32 lb_sane_rx(struct lb_ring *r)
{
	/* Pairs with the guest's release: its reads of freed slots are done. */
	u32 rx = lb_roundup_slot(smp_load_acquire(&r->map->ring->rx_ptr));

	return rx >= r->len ? 0 : rx;
}

/* Payload bytes one message could carry now (Xen: ringbuf_payload_space). */
static u32 lb_payload_space(struct lb_ring *r)
{
	s64 space = (s64)lb_sane_rx(r) - r->tx_ptr;

	if (space <= 0)
		space += r->len;
	space -= LB_HDR + LB_SLOT;
	return space < 0 ? 0 : space;
}

static void lb_ring_write(struct lb_ring *r, u32 off, const void *src,
			  u32 len)
{
	memcpy(r->map->ring->ring + off, src, len);
}

/*
 * Copy one message into @r (Xen: ringbuf_insert).  @len is the checked
 * payload total of @iovs.  L3 held.
 */
static int lb_ring_insert(struct lb_ring *r, const struct argo_hv_addr *src,
			  const struct argo_hv_iov *iovs, unsigned int niov,
			  u32 type, u32 len)
{
	struct argo_hv_msg_hdr mh = {
		.len = len + LB_HDR,
		.source = *src,
		.message_type = type,
	};
	u32 rx, tx, sp;
	unsigned int i;

	/* A message must leave one slot free, even in an empty ring. */
	if (r->len <= LB_HDR + lb_roundup_slot(len))
		return -EMSGSIZE;

	rx = lb_sane_rx(r);
	tx = r->tx_ptr;
	if (rx == tx)
		sp = r->len;
	else if (rx > tx)
		sp = rx - tx;
	else
		sp = rx + r->len - tx;
	if (lb_roundup_slot(len) + LB_HDR >= sp)
		return -EAGAIN;

	/* tx is slot aligned and len a multiple of 16: the header fits. */
	lb_ring_write(r, tx, &mh, sizeof(mh));
	tx += sizeof(mh);
	if (tx == r->len)
		tx = 0;

	for (i = 0; i < niov; i++) {
		const u8 *buf = (const u8 *)(uintptr_t)iovs[i].iov_hnd;
		u32 left = iovs[i].iov_len;

		if (!left)
			continue;
		/* The handles we can tell are bad (Xen: guest_handle_okay). */
		if (!buf || iovs[i].iov_hnd != (uintptr_t)iovs[i].iov_hnd ||
		    (uintptr_t)buf + left < (uintptr_t)buf)
			return -EFAULT;

		if (left > r->len - tx) {
			u32 tail = r->len - tx;

			lb_ring_write(r, tx, buf, tail);
			buf += tail;
			left -= tail;
			tx = 0;
		}
		lb_ring_write(r, tx, buf, left);
		tx += left;
		if (tx == r->len)
			tx = 0;
	}

	tx = lb_roundup_slot(tx);
	if (tx >= r->len)
		tx -= r->len;
	r->tx_ptr = tx;
	/* The message is complete before the guest can see it. */
	smp_store_release(&r->map->ring->tx_ptr, tx);
	return 0;
}

/* Queue (or enlarge) @domid's wait for @len bytes (Xen: pending_requeue). */
static int lb_pending_requeue(struct lb_ring *r, u16 domid, u32 len)
{
	unsigned int i;

	for (i = 0; i < r->npending; i++) {
		if (r->pending[i].domid == domid) {
			r->pending[i].len = max(r->pending[i].len, len);
			return 0;
		}
	}
	if (r->npending >= LB_MAX_PENDING)
		return -EBUSY;
	r->pending[r->npending].domid = domid;
	r->pending[r->npending].len = len;
	r->npending++;
	return 0;
}

static void lb_pending_del(struct lb_ring *r, unsigned int i)
{
	r->pending[i] = r->pending[--r->npending];
}

static void lb_pending_cancel(struct lb_ring *r, u16 domid)
{
	unsigned int i;

	for (i = 0; i < r->npending; i++) {
		if (r->pending[i].domid == domid) {
			lb_pending_del(r, i);
			return;
		}
	}
}

/* Wake, once, every sender of @r whose wait now fits.  L1 and L3 held. */
static void lb_pending_wake(struct lb_ring *r)
{
	u32 space = lb_payload_space(r);
	unsigned int i = 0;

	if (!space)
		return;
	while (i < r->npending) {
		if (space >= r->pending[i].len) {
			lb_signal_domid(r->pending[i].domid);
			lb_pending_del(r, i);
		} else {
			i++;
		}
	}
}

/* ------------------------------------------------------------------ */
/* The ops                                                             */

static long lb_register(u16 caller_id, const struct argo_hv_register_ring *arg,
			const argo_hv_gfn_t *gfns, unsigned int npage,
			unsigned int flags)
{
	struct argo_hv_register_ring reg;
	struct lb_ring *r, *new_ring;
	struct lb_map *map, *old = NULL;
	struct lb_domain *caller, *partner;
	unsigned long irqflags;
	u32 tx;
	long ret;

	might_sleep();

	if (flags & ~ARGO_HV_REGISTER_FLAG_FAIL_EXIST)
		return -EINVAL;
	if (!arg)
		return -EFAULT;
	reg = *arg;

	if (reg.len < LB_HDR + 2 * LB_SLOT || reg.len > ARGO_HV_MAX_RING_SIZE ||
	    reg.len != lb_roundup_slot(reg.len) ||
	    ARGO_HV_RING_NPAGES(reg.len) != npage || reg.pad)
		return -EINVAL;

	if (reg.partner_id == ARGO_HV_DOMID_ANY) {
		if (!argo_lb_mac_permissive())
			return -EPERM;
	} else {
		read_lock_irqsave(&lb_lock, irqflags);
		partner = lb_find(reg.partner_id);
		read_unlock_irqrestore(&lb_lock, irqflags);
		if (!partner)
			return -ESRCH;
	}

	/*
	 * Take and map the frames now, while we may sleep; a failure is
	 * reported where Xen reads the frames, after the checks below.
	 */
	map = lb_map_frames(gfns, npage);
	if (map == ERR_PTR(-ENOMEM))
		return -ENOMEM;
	new_ring = kzalloc(sizeof(*new_ring), GFP_KERNEL);
	if (!new_ring) {
		if (!IS_ERR(map))
			lb_map_release(map);
		return -ENOMEM;
	}

	read_lock_irqsave(&lb_lock, irqflags);
	/* The caller was checked by argo_lb_op(); look again under L1. */
	caller = lb_find(caller_id);
	if (!caller || !caller->argo) {
		ret = caller ? -EPERM : -ESRCH;
		goto out_unlock1;
	}
	if (reg.partner_id != ARGO_HV_DOMID_ANY) {
		partner = lb_find(reg.partner_id);
		if (!partner) {
			ret = -ESRCH;
			goto out_unlock1;
		}
		if (!partner->argo) {
			ret = -ECONNREFUSED;
			goto out_unlock1;
		}
	}

	write_lock(&caller->rings_lock);
	if (caller->ring_count >= LB_MAX_RINGS) {
		ret = -ENOSPC;
		goto out_unlock2;
	}
	r = lb_ring_find(caller, reg.aport, reg.partner_id);
	if (r) {
		if (flags & ARGO_HV_REGISTER_FLAG_FAIL_EXIST ||
		    r->len != reg.len) {
			ret = -EEXIST;
			goto out_unlock2;
		}
	}
	if (IS_ERR(map)) {
		/* Xen has dropped the old pages by now: the ring is gone. */
		if (r)
			lb_ring_remove(caller, r);
		ret = PTR_ERR(map);
		map = NULL;
		goto out_unlock2;
	}
	if (!r) {
		r = new_ring;
		new_ring = NULL;
		r->aport = reg.aport;
		r->partner = reg.partner_id;
		spin_lock_init(&r->lock);
		list_add_tail(&r->node, &caller->rings);
		caller->ring_count++;
	}
	old = r->map;
	r->map = map;
	map = NULL;
	r->len = reg.len;

	/* Keep the guest's tx_ptr if it is a slot; else flush to its rx_ptr. */
	tx = READ_ONCE(r->map->ring->tx_ptr);
	if (tx >= reg.len || tx != lb_roundup_slot(tx)) {
		tx = lb_roundup_slot(READ_ONCE(r->map->ring->rx_ptr));
		if (tx >= reg.len)
			tx = 0;
		/* Pairs with the guest's acquire of tx_ptr. */
		smp_store_release(&r->map->ring->tx_ptr, tx);
	}
	r->tx_ptr = tx;
	ret = 0;

out_unlock2:
	write_unlock(&caller->rings_lock);
out_unlock1:
	read_unlock_irqrestore(&lb_lock, irqflags);
	lb_map_put(old);
	if (!IS_ERR_OR_NULL(map))
		lb_map_release(map);
	kfree(new_ring);
	return ret;
}

static long lb_unregister(struct lb_domain *caller,
			  const struct argo_hv_unregister_ring *arg)
{
	struct argo_hv_unregister_ring unreg;
	struct lb_ring *r;

	lockdep_assert_held_read(&lb_lock);

	if (!arg)
		return -EFAULT;
	unreg = *arg;
	if (unreg.pad)
		return -EINVAL;

	write_lock(&caller->rings_lock);
	r = lb_ring_find(caller, unreg.aport, unreg.partner_id);
	if (r)
		lb_ring_remove(caller, r);
	write_unlock(&caller->rings_lock);

	return r ? 0 : -ENOENT;
}

/* Xen's iov_count: the payload total, or the first bad iov's error. */
static int lb_iov_count(const struct argo_hv_iov *iovs, unsigned int niov,
			u32 *total)
{
	u32 sum = 0;
	unsigned int i;

	for (i = 0; i < niov; i++) {
		if (iovs[i].pad)
			return -EINVAL;
		if (iovs[i].iov_len > LB_MAX_MSG)
			return -EINVAL;
		sum += iovs[i].iov_len;
		if (sum > LB_MAX_MSG)
			return -EMSGSIZE;
	}
	*total = sum;
	return 0;
}

static long lb_sendv(struct lb_domain *caller,
		     const struct argo_hv_send_addr *arg,
		     const struct argo_hv_iov *iov_arg, unsigned int niov,
		     u32 type)
{
	struct argo_hv_iov iovs[ARGO_HV_MAXIOV];
	struct argo_hv_send_addr sa;
	struct lb_domain *dst;
	struct lb_ring *r;
	u32 len = 0;
	long ret;

	lockdep_assert_held_read(&lb_lock);

	if (!arg)
		return -EFAULT;
	sa = *arg;
	if (niov > ARGO_HV_MAXIOV)
		return -EINVAL;
	if (niov) {
		if (!iov_arg)
			return -EFAULT;
		memcpy(iovs, iov_arg, niov * sizeof(*iovs));
	}

	if (sa.src.pad || sa.dst.pad)
		return -EINVAL;
	if (sa.src.domain_id == ARGO_HV_DOMID_ANY)
		sa.src.domain_id = caller->domid;
	if (sa.src.domain_id != caller->domid)
		return -EPERM;

	dst = lb_find(sa.dst.domain_id);
	if (!dst)
		return -ESRCH;
	if (!dst->argo)
		return -ECONNREFUSED;

	read_lock(&dst->rings_lock);
	r = lb_ring_match(dst, sa.dst.aport, caller->domid);
	if (!r) {
		ret = -ECONNREFUSED;
	} else {
		spin_lock(&r->lock);
		ret = lb_iov_count(iovs, niov, &len);
		if (!ret) {
			ret = lb_ring_insert(r, &sa.src, iovs, niov, type, len);
			if (ret == -EAGAIN) {
				int rc = lb_pending_requeue(r, caller->domid,
							    len);

				if (rc)
					ret = rc;
			}
		}
		spin_unlock(&r->lock);
	}
	read_unlock(&dst->rings_lock);

	if (ret)
		return ret;
	lb_signal(dst);
	return len;
}

/* One notify entry (Xen: fill_ring_data). */
static void lb_fill_ring_data(struct lb_domain *caller,
			      struct argo_hv_ring_data_ent *arg)
{
	struct argo_hv_ring_data_ent ent = *arg;
	struct lb_domain *dst;
	struct lb_ring *r;

	ent.flags = 0;
	dst = lb_find(ent.ring.domain_id);
	if (!dst || !dst->argo)
		goto out;

	read_lock(&dst->rings_lock);
	r = lb_ring_match(dst, ent.ring.aport, caller->domid);
	if (r) {
		u32 space;

		ent.flags |= ARGO_HV_RING_EXISTS;
		spin_lock(&r->lock);
		ent.max_message_size = r->len - LB_HDR - LB_SLOT;
		if (r->partner == ARGO_HV_DOMID_ANY)
			ent.flags |= ARGO_HV_RING_SHARED;
		space = lb_payload_space(r);
		if (ent.space_required > ent.max_message_size) {
			/* Never queue a wait that cannot be met. */
			ent.flags |= ARGO_HV_RING_EMSGSIZE;
		} else if (space >= ent.space_required) {
			lb_pending_cancel(r, caller->domid);
			ent.flags |= ARGO_HV_RING_SUFFICIENT;
		} else if (lb_pending_requeue(r, caller->domid,
					      ent.space_required)) {
			ent.flags |= ARGO_HV_RING_EBUSY;
		}
		spin_unlock(&r->lock);
		if (space == ent.max_message_size)
			ent.flags |= ARGO_HV_RING_EMPTY;
	}
	read_unlock(&dst->rings_lock);
out:
	/* Only these two are written back; the rest stays the caller's. */
	WRITE_ONCE(arg->flags, ent.flags);
	WRITE_ONCE(arg->max_message_size, ent.max_message_size);
}

static long lb_notify(struct lb_domain *caller, struct argo_hv_ring_data *rd)
{
	struct lb_ring *r;
	u32 i, nent;

	lockdep_assert_held_read(&lb_lock);

	/* The owner has consumed: wake its rings' waiters that now fit. */
	read_lock(&caller->rings_lock);
	list_for_each_entry(r, &caller->rings, node) {
		spin_lock(&r->lock);
		lb_pending_wake(r);
		spin_unlock(&r->lock);
	}
	read_unlock(&caller->rings_lock);

	if (!rd)
		return 0;
	nent = READ_ONCE(rd->nent);
	if (nent > LB_MAX_NOTIFY)
		return -EACCES;
	for (i = 0; i < nent; i++)
		lb_fill_ring_data(caller, &rd->data[i]);
	return 0;
}

long argo_lb_op(u16 caller, unsigned int cmd, void *arg1, void *arg2,
		unsigned long arg3, unsigned long arg4)
{
	struct lb_domain *d;
	unsigned long irqflags;
	long ret;

	if (arg3 != (u32)arg3 || arg4 != (u32)arg4)
		return -EINVAL;

	if (caller == ARGO_HV_DOMID_SELF)
		caller = READ_ONCE(loopback_self);

	read_lock_irqsave(&lb_lock, irqflags);
	if (!lb_running) {
		/* Xen booted without argo=1. */
		ret = -EOPNOTSUPP;
		goto out;
	}
	d = lb_find(caller);
	if (!d) {
		/* No such caller in Xen: the loopback's own answer. */
		ret = -ESRCH;
		goto out;
	}
	if (!d->argo) {
		/* Xen: xsm_argo_enable() refused this domain. */
		ret = -EPERM;
		goto out;
	}

	switch (cmd) {
	case ARGO_HV_OP_REGISTER_RING:
		/* It sleeps to map the ring: it takes L1 itself. */
		read_unlock_irqrestore(&lb_lock, irqflags);
		if (arg3 > ARGO_HV_MAX_PAGES)
			return -EINVAL;
		return lb_register(caller, arg1, arg2, arg3, arg4);
	case ARGO_HV_OP_UNREGISTER_RING:
		if (arg2 || arg3 || arg4)
			ret = -EINVAL;
		else
			ret = lb_unregister(d, arg1);
		break;
	case ARGO_HV_OP_SENDV:
		ret = lb_sendv(d, arg1, arg2, arg3, arg4);
		break;
	case ARGO_HV_OP_NOTIFY:
		if (arg2 || arg3 || arg4)
			ret = -EINVAL;
		else
			ret = lb_notify(d, arg1);
		break;
	default:
		ret = -EOPNOTSUPP;
		break;
	}
out:
	read_unlock_irqrestore(&lb_lock, irqflags);
	return ret;
}
EXPORT_SYMBOL_GPL(argo_lb_op);

/* ------------------------------------------------------------------ */
/* Virtual domains                                                     */

/*
 * Drop what the hypervisor holds for @d: its rings and its waits on other
 * rings, and with @partner_rings also other domains' rings that name it as
 * their single partner (Xen's argo_destroy).  W(L1) held.
 */
static void lb_forget(struct lb_domain *d, bool partner_rings)
{
	struct lb_ring *r, *next;
	struct lb_domain *o;
	unsigned int bkt;

	lockdep_assert_held_write(&lb_lock);

	list_for_each_entry_safe(r, next, &d->rings, node)
		lb_ring_remove(d, r);

	hash_for_each(lb_domains, bkt, o, hnode) {
		if (o == d)
			continue;
		list_for_each_entry_safe(r, next, &o->rings, node) {
			if (partner_rings && r->partner == d->domid)
				lb_ring_remove(o, r);
			else
				lb_pending_cancel(r, d->domid);
		}
	}
}

int argo_lb_domain_create(u16 domid, bool argo_enabled)
{
	struct lb_domain *d;
	unsigned long irqflags;
	int ret = 0;

	if (domid >= LB_DOMID_FIRST_RESERVED)
		return -EINVAL;

	d = kzalloc(sizeof(*d), GFP_KERNEL);
	if (!d)
		return -ENOMEM;
	d->domid = domid;
	d->argo = argo_enabled;
	rwlock_init(&d->rings_lock);
	INIT_LIST_HEAD(&d->rings);
	atomic64_set(&d->signals, 0);
	INIT_WORK(&d->signal_work, lb_signal_work);

	write_lock_irqsave(&lb_lock, irqflags);
	if (!lb_running)
		ret = -ENODEV;
	else if (lb_find(domid))
		ret = -EEXIST;
	else
		hash_add(lb_domains, &d->hnode, domid);
	write_unlock_irqrestore(&lb_lock, irqflags);

	if (ret)
		kfree(d);
	return ret;
}
EXPORT_SYMBOL_GPL(argo_lb_domain_create);

/* Free an unlinked domain.  Process context. */
static void lb_domain_free(struct lb_domain *d)
{
	cancel_work_sync(&d->signal_work);
	kfree(d);
}

int argo_lb_domain_destroy(u16 domid)
{
	struct lb_domain *d;
	unsigned long irqflags;

	write_lock_irqsave(&lb_lock, irqflags);
	d = lb_running ? lb_find(domid) : NULL;
	if (d) {
		hash_del(&d->hnode);
		lb_forget(d, true);
	}
	write_unlock_irqrestore(&lb_lock, irqflags);

	if (!d)
		return -ESRCH;
	lb_domain_free(d);
	return 0;
}
EXPORT_SYMBOL_GPL(argo_lb_domain_destroy);

void argo_lb_set_mac_permissive(bool permissive)
{
	WRITE_ONCE(loopback_mac_permissive, permissive);
}
EXPORT_SYMBOL_GPL(argo_lb_set_mac_permissive);

bool argo_lb_mac_permissive(void)
{
	return READ_ONCE(loopback_mac_permissive);
}
EXPORT_SYMBOL_GPL(argo_lb_mac_permissive);

u64 argo_lb_signal_count(u16 domid)
{
	struct lb_domain *d;
	unsigned long irqflags;
	u64 n = 0;

	read_lock_irqsave(&lb_lock, irqflags);
	d = lb_running ? lb_find(domid) : NULL;
	if (d)
		n = atomic64_read(&d->signals);
	read_unlock_irqrestore(&lb_lock, irqflags);
	return n;
}
EXPORT_SYMBOL_GPL(argo_lb_signal_count);

int argo_lb_simulate_resume(u16 domid)
{
	struct lb_domain *d;
	unsigned long irqflags;

	might_sleep();

	write_lock_irqsave(&lb_lock, irqflags);
	d = lb_running ? lb_find(domid) : NULL;
	if (d)
		lb_forget(d, false);
	write_unlock_irqrestore(&lb_lock, irqflags);

	if (!d)
		return -ESRCH;
	argo_core_reregister(domid);
	return 0;
}
EXPORT_SYMBOL_GPL(argo_lb_simulate_resume);

bool argo_lb_active(void)
{
	return READ_ONCE(lb_running);
}
EXPORT_SYMBOL_GPL(argo_lb_active);

argo_hv_gfn_t argo_lb_frame(const void *vaddr)
{
	unsigned long sub = offset_in_page(vaddr) >> LB_FRAME_SHIFT;
	struct page *page = NULL;

	if (is_vmalloc_addr(vaddr))
		page = vmalloc_to_page(vaddr);
	else if (virt_addr_valid(vaddr))
		page = virt_to_page(vaddr);
	if (!page)
		return LB_BAD_FRAME;
	return ((argo_hv_gfn_t)page_to_pfn(page) << LB_FRAME_SUB_SHIFT) | sub;
}
EXPORT_SYMBOL_GPL(argo_lb_frame);

/* ------------------------------------------------------------------ */
/* The provider                                                        */

static void lb_destroy_all(void)
{
	struct lb_domain *d;
	struct hlist_node *tmp;
	unsigned long irqflags;
	unsigned int bkt;
	HLIST_HEAD(dead);

	write_lock_irqsave(&lb_lock, irqflags);
	lb_running = false;
	hash_for_each_safe(lb_domains, bkt, tmp, d, hnode) {
		hash_del(&d->hnode);
		lb_forget(d, true);
		hlist_add_head(&d->hnode, &dead);
	}
	write_unlock_irqrestore(&lb_lock, irqflags);

	hlist_for_each_entry_safe(d, tmp, &dead, hnode)
		lb_domain_free(d);
	flush_work(&lb_reap_work);
}

static int lb_init(void)
{
	unsigned long irqflags;
	unsigned int i;
	int ret;

	BUILD_BUG_ON(PAGE_SHIFT < LB_FRAME_SHIFT);
	BUILD_BUG_ON(sizeof(struct argo_hv_msg_hdr) != LB_HDR);
	BUILD_BUG_ON(sizeof(struct argo_hv_ring) != ARGO_HV_RING_HEADER_SIZE);

	if (loopback_domains > LB_DOMID_FIRST_RESERVED ||
	    loopback_self >= LB_DOMID_FIRST_RESERVED) {
		pr_err("loopback_domains=%u loopback_self=%u: domain ids must be below %u\n",
		       loopback_domains, loopback_self,
		       LB_DOMID_FIRST_RESERVED);
		return -EINVAL;
	}

	lb_wq = alloc_workqueue("argo_lb", WQ_HIGHPRI | WQ_MEM_RECLAIM, 0);
	if (!lb_wq)
		return -ENOMEM;

	write_lock_irqsave(&lb_lock, irqflags);
	lb_running = true;
	write_unlock_irqrestore(&lb_lock, irqflags);

	for (i = 0; i < loopback_domains; i++) {
		ret = argo_lb_domain_create(i, true);
		if (ret)
			goto fail;
	}
	if (loopback_self >= loopback_domains) {
		ret = argo_lb_domain_create(loopback_self, true);
		if (ret)
			goto fail;
	}
	pr_info("%u virtual domains, DOMID_SELF is %u, mac-permissive %s\n",
		loopback_domains, loopback_self,
		argo_lb_mac_permissive() ? "on" : "off");
	return 0;

fail:
	pr_err("cannot create the virtual domains: %d\n", ret);
	lb_destroy_all();
	destroy_workqueue(lb_wq);
	lb_wq = NULL;
	return ret;
}

static void lb_exit(void)
{
	lb_destroy_all();
	destroy_workqueue(lb_wq);
	lb_wq = NULL;
}

static int lb_domain(u16 requested)
{
	unsigned long irqflags;
	int ret;

	if (requested == ARGO_HV_DOMID_SELF)
		requested = READ_ONCE(loopback_self);

	read_lock_irqsave(&lb_lock, irqflags);
	ret = lb_running && lb_find(requested) ? requested : -ESRCH;
	read_unlock_irqrestore(&lb_lock, irqflags);
	return ret;
}

/* Exported only for argo_abi_kunit, which checks these ops themselves. */
const struct argo_provider argo_loopback_provider = {
	.name = "loopback",
	.init = lb_init,
	.exit = lb_exit,
	.domain = lb_domain,
	.op = argo_lb_op,
	.frame = argo_lb_frame,
};
EXPORT_SYMBOL_GPL(argo_loopback_provider);
