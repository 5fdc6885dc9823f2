// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_argo: the virtqueue mirror.
 *
 * The driver's virtqueues are ordinary split vrings in this kernel's
 * memory.  The transport plays their device side: when the driver kicks,
 * it takes the new available chains, flattens each (indirect tables
 * included) and sends the backend, in DATA_REQ messages, each chain's
 * layout and driver-readable bytes.  The send's first segment holds the
 * message header and records; the others point straight at the driver's
 * buffers, so the hypervisor's copy is the only one on the way out.  When
 * the backend's DATA_COMP messages arrive, the bytes the device wrote are
 * copied from the receive ring into the chain's writable buffers (the one
 * copy on the way in), the used entry is published and the driver is
 * interrupted through the virtio core.
 *
 * The kick path may run in atomic context: it never sleeps, and never
 * prints (the device may be the kernel's console: a message would come
 * back into this path).  A full backend ring (-EAGAIN) stops it with the
 * cursor kept, chain half sent included; the core's tx_ready resumes it in
 * process context.  A console's output is never left waiting: it goes to
 * the backlog (below).
 *
 * Every index, length and flag read from the vring is checked before use:
 * the vring is the driver's, and a driver bug must end as a broken device,
 * never a wild access.  Every completion is checked (msg.c, then against
 * the chain's state) before a byte of it reaches the driver.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bottom_half.h>
#include <linux/device.h>
#include <linux/platform_device.h>
#include <linux/random.h>
#include <linux/ratelimit.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/virtio_config.h>
#include <uapi/linux/virtio_blk.h>
#include <uapi/linux/virtio_ids.h>

#include "virtio_argo.h"

#define VA_REC_CAP	(32 * 1024)
/*
 * Messages one kick sends before leaving the rest to tx_work: the kick path
 * holds the data lock with interrupts off.  Each message carries up to the
 * backend's largest message (1 MiB by default) and 32 KiB of records, so
 * this bounds a kick's hypercalls, not its throughput.
 */
#define VA_TX_BUDGET	16
/*
 * A backlog of N bytes lists up to N / 64 chains (12 bytes each): port 0's
 * output joins one entry however it was written (the kernel's console
 * writes 16 bytes at a time), so the list runs out only on control
 * messages, 8 bytes each, which are never joined.
 */
#define VA_BL_BYTES_PER_CHAIN	64
/*
 * The queues a console's driver spins on (virtio 1.2, 5.3.2): transmitq0,
 * port 0's output (hvc0: put_chars()), and the control transmitq of a
 * multiport device (__send_control_msg()).  Generic ports' writes wait
 * for ring space without spinning and keep the ring's back-pressure.
 */
#define VA_CON_TXQ0		1
#define VA_CON_CTRL_TXQ		3
/* va_tx_build(): a chain no message holds whole, for va_bl_big(). */
#define VA_TX_BIG		(-EMSGSIZE)

/* ------------------------------------------------------------------ */
/* Walking one chain of the driver's ring                             */
/* ------------------------------------------------------------------ */

/* One descriptor of a flattened chain. */
struct va_seg {
	u8 *ptr;		/* kernel address; NULL if len is 0 */
	u32 len;
	bool write;
};

struct va_walk {
	struct va_device *vad;
	const struct vring_desc *tbl;
	u32 tbl_n;
	u32 limit;		/* descriptors allowed in this table */
	u32 count;
	u16 i;
	bool more;
	bool write_seen;
};

static int va_walk_start(struct va_walk *w, struct va_device *vad,
			 struct va_queue *q, u16 head)
{
	struct virtio_device *vdev = &vad->vdev;
	const struct vring_desc *d;
	u16 flags;

	if (head >= q->num)
		return -EINVAL;
	memset(w, 0, sizeof(*w));
	w->vad = vad;
	d = &q->vr.desc[head];
	flags = virtio16_to_cpu(vdev, READ_ONCE(d->flags));
	if (flags & VRING_DESC_F_INDIRECT) {
		u32 len = virtio32_to_cpu(vdev, READ_ONCE(d->len));
		u64 addr = virtio64_to_cpu(vdev, READ_ONCE(d->addr));

		if (!q->indirect || (flags & VRING_DESC_F_NEXT))
			return -EINVAL;
		if (!len || len % sizeof(struct vring_desc))
			return -EINVAL;
		w->tbl_n = len / sizeof(struct vring_desc);
		if (w->tbl_n > VIRTIO_ARGO_MAX_CHAIN_DESC)
			return -EINVAL;
		w->tbl = va_dma_to_virt(addr, len);
		if (!w->tbl)
			return -EFAULT;
		w->limit = w->tbl_n;
		w->i = 0;
	} else {
		w->tbl = q->vr.desc;
		w->tbl_n = q->num;
		w->limit = min_t(u32, q->num, VIRTIO_ARGO_MAX_CHAIN_DESC);
		w->i = head;
	}
	w->more = true;
	return 0;
}

/* Next descriptor: 1 and *@seg, 0 at the end, or a negative errno. */
static int va_walk_next(struct va_walk *w, struct va_seg *seg)
{
	struct virtio_device *vdev = &w->vad->vdev;
	const struct vring_desc *d;
	u16 flags, next;
	u32 len;
	u64 addr;

	if (!w->more)
		return 0;
	if (++w->count > w->limit)
		return -ELOOP;
	d = &w->tbl[w->i];
	flags = virtio16_to_cpu(vdev, READ_ONCE(d->flags));
	len = virtio32_to_cpu(vdev, READ_ONCE(d->len));
	addr = virtio64_to_cpu(vdev, READ_ONCE(d->addr));
	next = virtio16_to_cpu(vdev, READ_ONCE(d->next));
	if (flags & VRING_DESC_F_INDIRECT)
		return -EINVAL;		/* nested, or not at the head */
	if (flags & VRING_DESC_F_WRITE)
		w->write_seen = true;
	else if (w->write_seen)
		return -EINVAL;		/* readable after writable */
	if (flags & VRING_DESC_F_NEXT) {
		if (next >= w->tbl_n)
			return -EINVAL;
		w->i = next;
	} else {
		w->more = false;
	}
	seg->len = len;
	seg->write = flags & VRING_DESC_F_WRITE;
	seg->ptr = NULL;
	if (len) {
		seg->ptr = va_dma_to_virt(addr, len);
		if (!seg->ptr)
			return -EFAULT;
	}
	return 1;
}

/* Count a chain's descriptors and bytes into @ch. */
static int va_chain_scan(struct va_device *vad, struct va_queue *q, u16 head,
			 struct va_chain *ch)
{
	struct va_walk w;
	struct va_seg s;
	u64 out = 0, in = 0;
	u32 n = 0, segs = 0;
	int ret;

	ret = va_walk_start(&w, vad, q, head);
	if (ret)
		return ret;
	while ((ret = va_walk_next(&w, &s)) > 0) {
		n++;
		if (s.write) {
			in += s.len;
		} else {
			out += s.len;
			segs += !!s.len;
		}
	}
	if (ret)
		return ret;
	if (!n || n > VIRTIO_ARGO_MAX_CHAIN_DESC ||
	    out > VIRTIO_ARGO_MAX_CHAIN_BYTES || in > VIRTIO_ARGO_MAX_CHAIN_BYTES)
		return -E2BIG;
	ch->ndesc = n;
	ch->out_len = out;
	ch->in_len = in;
	ch->out_segs = segs;
	return 0;
}

/*
 * Stop the data path for a driver's or backend's fault.  The virtio core
 * is told from tx_work's context, never from here: this runs in the kick
 * path, perhaps in softirq, where the core's locks must not be taken.
 */
void va_vq_break(struct va_device *vad, const char *why)
{
	lockdep_assert_held(&vad->lock);
	if (vad->broken)
		return;
	vad->broken = true;
	vad->break_why = why;
	queue_work(va_wq, &vad->break_work);
}

static void va_break_work(struct work_struct *work)
{
	struct va_device *vad = container_of(work, struct va_device,
					     break_work);

	dev_err(&vad->pdev->dev, "device broken: %s; backend domain %u\n",
		READ_ONCE(vad->break_why), vad->be->domid);
	virtio_break_device(&vad->vdev);
}

static DEFINE_RATELIMIT_STATE(va_drop_rs, 5 * HZ, 1);

/* What the data path found, told from process context. */
static void va_report_work(struct work_struct *work)
{
	struct va_device *vad = container_of(work, struct va_device,
					     report_work);
	atomic64_t *dropped = &vad->stats.c[VA_STAT_TX_DROPPED_BYTES];
	unsigned long flags;
	bool warn;
	int err;

	spin_lock_irqsave(&vad->lock, flags);
	err = vad->tx_err;
	warn = vad->bl_warn;
	vad->tx_err = 0;
	vad->bl_warn = false;
	spin_unlock_irqrestore(&vad->lock, flags);
	if (err)
		dev_err(&vad->pdev->dev,
			"sending a request to backend domain %u port %#x failed: %d; failing its requests\n",
			vad->be->domid, vad->info.data_port, err);
	/* One line per 5 s says how much in all: drops come in bursts. */
	if (warn && __ratelimit(&va_drop_rs))
		dev_warn(&vad->pdev->dev,
			 "console output dropped: backend domain %u takes none now and the backlog of %u bytes is full; %lld bytes dropped so far\n",
			 vad->be->domid, vad->bl.size,
			 (long long)atomic64_read(dropped));
}

/* ------------------------------------------------------------------ */
/* Requests: available chains to DATA_REQ messages                    */
/* ------------------------------------------------------------------ */

/* Whether the driver made another chain available (tentative cursor). */
static bool va_rx_publish(struct va_device *vad, struct va_queue *q);

static bool va_q_more(struct va_device *vad, struct va_queue *q)
{
	struct virtio_device *vdev = &vad->vdev;
	u16 avail;

	avail = virtio16_to_cpu(vdev, READ_ONCE(q->vr.avail->idx));
	if (avail == q->t_last_avail) {
		if (!q->event_idx)
			return false;
		/* Ask for a kick at the next one, then look again. */
		WRITE_ONCE(vring_avail_event(&q->vr),
			   cpu_to_virtio16(vdev, q->t_last_avail));
		/* The event before the index: pairs with the driver's kick. */
		smp_mb();
		avail = virtio16_to_cpu(vdev, READ_ONCE(q->vr.avail->idx));
		if (avail == q->t_last_avail)
			return false;
	}
	/* The ring entries and descriptors after the index. */
	smp_rmb();
	if ((u16)(avail - q->t_last_avail) > q->num) {
		va_vq_break(vad, "available index ahead of the ring");
		return false;
	}
	return true;
}

/*
 * The head of the next available chain (tentative cursor) in *@head: 1, 0
 * if there is none, -EINVAL if the driver wrote a head out of range.
 */
static int va_q_peek(struct va_device *vad, struct va_queue *q, u16 *head)
{
	__virtio16 raw;

	if (!va_q_more(vad, q))
		return 0;
	raw = READ_ONCE(q->vr.avail->ring[q->t_last_avail & (q->num - 1)]);
	*head = virtio16_to_cpu(&vad->vdev, raw);
	return *head < q->num ? 1 : -EINVAL;
}

/* Whether the driver spins on the chains of queue @qi (the backlog's). */
static bool va_q_spins(struct va_device *vad, unsigned int qi)
{
	return vad->bl.buf && (qi == VA_CON_TXQ0 || qi == VA_CON_CTRL_TXQ);
}

/* Write a used entry for @head, to be published with va_rx_publish(). */
static void va_use(struct va_device *vad, struct va_queue *q, u16 head,
		   u32 written)
{
	struct virtio_device *vdev = &vad->vdev;
	struct vring_used_elem *ue;

	ue = &q->vr.used->ring[q->used_idx & (q->num - 1)];
	WRITE_ONCE(ue->id, cpu_to_virtio32(vdev, head));
	WRITE_ONCE(ue->len, cpu_to_virtio32(vdev, written));
	q->used_idx++;
}

/*
 * Add iovs for out bytes [@off, ...) of the chain at @head, at most @room
 * bytes and until the iov array is full.  Returns the bytes added or a
 * negative errno.
 */
static long va_chain_out_iov(struct va_device *vad, struct va_queue *q,
			     u16 head, u32 off, u32 room, unsigned int *niov)
{
	struct va_walk w;
	struct va_seg s;
	u32 pos = 0, added = 0;
	int ret;

	ret = va_walk_start(&w, vad, q, head);
	if (ret)
		return ret;
	while (room && *niov < ARGO_MAX_SEGS &&
	       (ret = va_walk_next(&w, &s)) > 0) {
		u32 skip, n;

		if (s.write)
			break;
		if (pos + s.len <= off) {
			pos += s.len;
			continue;
		}
		skip = off > pos ? off - pos : 0;
		n = min(s.len - skip, room);
		vad->kv[*niov].iov_base = s.ptr + skip;
		vad->kv[*niov].iov_len = n;
		(*niov)++;
		added += n;
		room -= n;
		pos += s.len;
		off = pos;
		if (skip + n < s.len)
			break;
	}
	if (ret < 0)
		return ret;
	return added;
}

/* Write the chain's flattened layout after its first record. */
static int va_chain_descs(struct va_device *vad, struct va_queue *q, u16 head,
			  struct virtio_argo_desc *out, u16 ndesc)
{
	struct va_walk w;
	struct va_seg s;
	u16 n = 0;
	int ret;

	ret = va_walk_start(&w, vad, q, head);
	if (ret)
		return ret;
	while ((ret = va_walk_next(&w, &s)) > 0) {
		if (n == ndesc)
			return -EINVAL;
		out[n].len = cpu_to_le32(s.len);
		out[n].flags = cpu_to_le32(s.write ? VIRTIO_ARGO_DESC_WRITE : 0);
		n++;
	}
	if (ret)
		return ret;
	return n == ndesc ? 0 : -EINVAL;
}

/* Complete the header of the message in recbuf; returns @nrec. */
static int va_tx_header(struct va_device *vad, u32 nrec, u32 rec_used)
{
	struct virtio_argo_data *hdr = (struct virtio_argo_data *)vad->recbuf;

	hdr->hdr.dev = cpu_to_le32(vad->handle);
	hdr->hdr.tag = cpu_to_le32(vad->session);
	hdr->nrec = cpu_to_le16(nrec);
	hdr->reserved = 0;
	hdr->data_off = cpu_to_le32(sizeof(*hdr) + rec_used);
	vad->kv[0].iov_base = vad->recbuf;
	vad->kv[0].iov_len = sizeof(*hdr) + rec_used;
	return nrec;
}

/*
 * Build one DATA_REQ from the tentative cursors: as many records as fit in
 * the backend's largest message and in 8 iovs.  Returns the number of
 * records, 0 if there is nothing to send, or a negative errno (the device
 * is then broken).  Called with vad->lock held.
 */
static int va_tx_build(struct va_device *vad, unsigned int *niov)
{
	struct virtio_argo_data *hdr = (struct virtio_argo_data *)vad->recbuf;
	u32 rec_used = 0, data = 0, nrec = 0;
	unsigned int k;

	vad->started_n = 0;
	vad->early_n = 0;
	*niov = 1;
	for (k = 0; k < vad->nq; k++) {
		unsigned int qi = (vad->tx_rr + k) % vad->nq;
		struct va_queue *q = &vad->queues[qi];

		/* A queue with chains kept sends them first. */
		if (!q->vq || q->kept)
			continue;
		for (;;) {
			struct virtio_argo_chain *rec;
			struct va_chain *ch;
			bool first = false;
			u32 need, used, room;
			u16 head, flags = 0;
			long added;
			int ret;

			if (!q->t_cur_active) {
				ret = va_q_peek(vad, q, &head);
				if (ret <= 0) {
					if (ret)
						return ret;
					break;
				}
				ch = &q->chains[head];
				/* In flight, or twice in this message. */
				if (ch->in_flight || ch->tx_gen == vad->tx_gen)
					return -EBUSY;
				ret = va_chain_scan(vad, q, head, ch);
				if (ret)
					return ret;
				first = true;
				need = sizeof(*rec) +
				       ch->ndesc * sizeof(struct virtio_argo_desc);
			} else {
				head = q->t_cur_head;
				ch = &q->chains[head];
				need = sizeof(*rec);
			}
			used = sizeof(*hdr) + rec_used + need + data;
			if (sizeof(*hdr) + rec_used + need > vad->rec_cap ||
			    used > vad->max_msg)
				goto full;
			room = vad->max_msg - used;
			/*
			 * A chain the driver spins on goes whole or not at
			 * all: the rest of a half-sent one could be neither
			 * kept nor dropped.  One that no message holds is
			 * for va_bl_big().
			 */
			if (first && !ch->in_len && va_q_spins(vad, qi) &&
			    !vad->tx_split &&
			    (ch->out_len > room ||
			     *niov + ch->out_segs > ARGO_MAX_SEGS)) {
				if (nrec)
					goto full;
				vad->big_q = qi;
				return VA_TX_BIG;
			}
			if (first ? ch->out_len : ch->out_len - q->t_cur_off) {
				if (*niov == ARGO_MAX_SEGS || !room)
					goto full;
			}
			if (first) {
				if (vad->started_n == vad->started_cap)
					goto full;
				ch->tx_gen = vad->tx_gen;
				vad->started[vad->started_n].queue = qi;
				vad->started[vad->started_n].head = head;
				vad->started_n++;
				q->t_last_avail++;
				q->t_cur_active = true;
				q->t_cur_head = head;
				q->t_cur_off = 0;
				flags |= VIRTIO_ARGO_CHAIN_FIRST;
			}
			added = va_chain_out_iov(vad, q, head, q->t_cur_off,
						 min(room, ch->out_len -
						     q->t_cur_off), niov);
			if (added < 0)
				return added;
			rec = (struct virtio_argo_chain *)
			      (vad->recbuf + sizeof(*hdr) + rec_used);
			if (q->t_cur_off + added == ch->out_len) {
				flags |= VIRTIO_ARGO_CHAIN_LAST;
				q->t_cur_active = false;
				/* Sent whole: ours to complete (OUT_NOCOMP). */
				if (vad->out_nocomp && !ch->in_len) {
					vad->early[vad->early_n].queue = qi;
					vad->early[vad->early_n].head = head;
					vad->early_n++;
				}
			}
			rec->queue = cpu_to_le16(qi);
			rec->flags = cpu_to_le16(flags);
			rec->id = cpu_to_le16(head);
			rec->ndesc = cpu_to_le16(first ? ch->ndesc : 0);
			rec->out_len = cpu_to_le32(ch->out_len);
			rec->in_len = cpu_to_le32(ch->in_len);
			rec->offset = cpu_to_le32(q->t_cur_off);
			rec->len = cpu_to_le32(added);
			if (first) {
				ret = va_chain_descs(vad, q, head,
						     (struct virtio_argo_desc *)
						     (rec + 1), ch->ndesc);
				if (ret)
					return ret;
			}
			q->t_cur_off += added;
			rec_used += need;
			data += added;
			nrec++;
			if (q->t_cur_active)
				goto full;	/* out of room for this chain */
		}
	}
full:
	if (!nrec)
		return 0;
	vad->tx_bytes_built = data;
	return va_tx_header(vad, nrec, rec_used);
}

static void va_tx_begin(struct va_device *vad)
{
	unsigned int i;

	if (!++vad->tx_gen)
		vad->tx_gen = 1;
	for (i = 0; i < vad->nq; i++) {
		struct va_queue *q = &vad->queues[i];

		q->t_last_avail = q->last_avail;
		q->t_cur_active = q->cur_active;
		q->t_cur_head = q->cur_head;
		q->t_cur_off = q->cur_off;
	}
}

/*
 * Publish the used entries the kick path wrote on the queues of @touched;
 * the interrupts the driver wants come from irq_work.
 */
static void va_publish_early(struct va_device *vad, u64 touched)
{
	unsigned int i;
	u64 irq = 0;

	for (i = 0; i < vad->nq; i++)
		if ((touched & BIT_ULL(i)) &&
		    va_rx_publish(vad, &vad->queues[i]))
			irq |= BIT_ULL(i);
	if (irq) {
		vad->irq_pending |= irq;
		queue_work(va_wq, &vad->irq_work);
	}
}

/*
 * OUT_NOCOMP: the chains without writable bytes that this message ended
 * are used now, the hypervisor having copied their bytes; the backend
 * sends no completion for them.  A driver may wait for such a chain with
 * interrupts off (virtio_console's put_chars()), when no other domain can
 * run on this vCPU.  The interrupt, if the driver wants one, comes from
 * irq_work: the kick path may hold the driver's locks.
 */
static void va_tx_complete_early(struct va_device *vad)
{
	u64 touched = 0;
	unsigned int i;

	for (i = 0; i < vad->early_n; i++) {
		struct va_started *e = &vad->early[i];
		struct va_queue *q = &vad->queues[e->queue];

		q->chains[e->head].in_flight = false;
		WRITE_ONCE(vad->inflight, vad->inflight - 1);
		if (!(touched & BIT_ULL(e->queue)))
			q->old_used = q->used_idx;
		touched |= BIT_ULL(e->queue);
		va_use(vad, q, e->head, 0);
		va_stat_inc(vad, VA_STAT_TX_EARLY);
	}
	va_publish_early(vad, touched);
}

static void va_tx_commit(struct va_device *vad)
{
	unsigned int i;

	vad->tx_split = false;
	for (i = 0; i < vad->nq; i++) {
		struct va_queue *q = &vad->queues[i];

		q->last_avail = q->t_last_avail;
		q->cur_active = q->t_cur_active;
		q->cur_head = q->t_cur_head;
		q->cur_off = q->t_cur_off;
	}
	va_stat_add(vad, VA_STAT_TX_CHAINS, vad->started_n);
	WRITE_ONCE(vad->inflight, vad->inflight + vad->started_n);
	for (i = 0; i < vad->started_n; i++) {
		struct va_started *s = &vad->started[i];
		struct va_chain *ch = &vad->queues[s->queue].chains[s->head];

		ch->in_flight = true;
		ch->started = false;
		ch->done = 0;
		ch->chk_gen = 0;
	}
	if (vad->early_n)
		va_tx_complete_early(vad);
}

/* ------------------------------------------------------------------ */
/* The backlog: a console's output the backend's ring cannot take now */
/* ------------------------------------------------------------------ */

/*
 * virtio_console's put_chars() (hvc) and its control messages wait for the
 * device to use each transmit buffer, spinning with interrupts off or a
 * spinlock held.  On a guest with one vCPU nothing else runs meanwhile:
 * not tx_ready, not tx_work, not a backend sharing the vCPU.  So whenever
 * the data path stops with such chains still available (the backend's
 * ring is full, or a kick's budget is spent), their bytes are copied into
 * the device's backlog and the chains are used at once; a chain that does
 * not fit is used unsent and counted as dropped.  Kept chains are sent,
 * oldest first, before any newer chain of their queue, so the backend sees
 * the output in order, with a gap where chains were dropped.  Only the
 * queues a console's driver spins on have a backlog (va_q_spins()): other
 * drivers wait for ring space without spinning, and their requests must
 * not be dropped.
 */

static bool va_bl_fits(const struct va_backlog *bl, u32 len)
{
	return bl->n < bl->nkept && len <= bl->size - bl->bytes;
}

/* Copy @len bytes to the backlog's ring at @off bytes after its tail. */
static void va_bl_put(struct va_backlog *bl, u32 off, const u8 *src, u32 len)
{
	u32 at = (bl->head + bl->bytes + off) % bl->size;
	u32 n = min(len, bl->size - at);

	memcpy(bl->buf + at, src, n);
	memcpy(bl->buf, src + n, len - n);
}

/*
 * Keep the chain at @head of queue @qi (scanned into @ch) in the backlog,
 * or drop it if it does not fit; either way the driver has it back
 * (va_bl_take()).  Port 0's output is a byte stream: a chain that follows
 * another of that queue in the backlog joins it, unless the backend has
 * that one's start already (its length is then fixed).  Returns 0, or a
 * negative errno if the chain changed under the walk (a driver bug).
 */
static int va_bl_keep(struct va_device *vad, u16 qi, u16 head,
		      struct va_chain *ch)
{
	struct va_backlog *bl = &vad->bl;
	struct va_queue *q = &vad->queues[qi];
	struct va_kept *last = NULL, *k;
	struct va_walk w;
	struct va_seg s;
	u32 off = 0;
	int ret;

	if (bl->n) {
		last = &bl->kept[(bl->first + bl->n - 1) % bl->nkept];
		if (qi != VA_CON_TXQ0 || last->queue != qi ||
		    (bl->n == 1 && bl->sent) ||
		    last->len > VIRTIO_ARGO_MAX_CHAIN_BYTES - ch->out_len)
			last = NULL;
	}
	if (last ? ch->out_len > bl->size - bl->bytes :
	    !va_bl_fits(bl, ch->out_len)) {
		va_stat_inc(vad, VA_STAT_TX_DROPPED);
		va_stat_add(vad, VA_STAT_TX_DROPPED_BYTES, ch->out_len);
		if (!vad->bl_warn) {
			vad->bl_warn = true;
			queue_work(va_wq, &vad->report_work);
		}
		return 0;
	}
	ret = va_walk_start(&w, vad, q, head);
	if (ret)
		return ret;
	while ((ret = va_walk_next(&w, &s)) > 0 && !s.write) {
		if (s.len > ch->out_len - off)
			return -EINVAL;
		if (s.len)
			va_bl_put(bl, off, s.ptr, s.len);
		off += s.len;
	}
	if (ret < 0)
		return ret;
	if (off != ch->out_len)
		return -EINVAL;
	if (last) {
		last->len += off;
		last->chains++;
	} else {
		k = &bl->kept[(bl->first + bl->n) % bl->nkept];
		k->queue = qi;
		k->id = head;
		k->len = off;
		k->chains = 1;
		bl->n++;
		q->kept++;
	}
	bl->bytes += off;
	va_stat_inc(vad, VA_STAT_TX_KEPT);
	return 0;
}

/*
 * Keep (or drop) the chain at the head of queue @qi, scanned, and use it;
 * @touched collects the queues to publish.  Tentative cursor in, both
 * cursors past it out.
 */
static int va_bl_take(struct va_device *vad, u16 qi, u16 head,
		      struct va_chain *ch, u64 *touched)
{
	struct va_queue *q = &vad->queues[qi];
	int ret;

	ret = va_bl_keep(vad, qi, head, ch);
	if (ret)
		return ret;
	if (!(*touched & BIT_ULL(qi)))
		q->old_used = q->used_idx;
	*touched |= BIT_ULL(qi);
	q->last_avail = ++q->t_last_avail;
	va_use(vad, q, head, 0);
	return 0;
}

/*
 * The backend takes nothing more now: keep (or drop) every chain without
 * writable bytes at the head of each queue the driver spins on, and use
 * it.  A chain with writable bytes there keeps its place and waits for
 * tx_ready, and so does what follows it.  From the committed cursors.
 */
static void va_bl_spill(struct va_device *vad)
{
	u64 touched = 0;
	unsigned int qi;

	lockdep_assert_held(&vad->lock);
	if (!vad->bl.buf || !vad->queues || vad->broken || vad->lost)
		return;
	va_tx_begin(vad);
	for (qi = 0; qi < vad->nq; qi++) {
		struct va_queue *q = &vad->queues[qi];
		struct va_chain *ch;
		u16 head;
		int ret;

		if (!q->vq || q->cur_active || !va_q_spins(vad, qi))
			continue;
		while ((ret = va_q_peek(vad, q, &head)) > 0) {
			ch = &q->chains[head];
			if (ch->in_flight) {
				ret = -EBUSY;
				break;
			}
			ret = va_chain_scan(vad, q, head, ch);
			if (ret || ch->in_len)
				break;
			ret = va_bl_take(vad, qi, head, ch, &touched);
			if (ret)
				break;
		}
		if (ret < 0) {
			va_vq_break(vad, "invalid descriptor chain");
			break;
		}
	}
	va_publish_early(vad, touched);
}

/*
 * va_tx_build() found, at the head of queue big_q, a chain the driver
 * spins on that no message holds whole: keep it alone, the ring being
 * free; if the backlog cannot hold it either, let it go in parts from the
 * driver's ring (tx_split), as any other chain.  Returns a negative errno
 * if the chain is not the one va_tx_build() saw (a driver bug).
 */
static int va_bl_big(struct va_device *vad)
{
	u16 qi = vad->big_q, head;
	struct va_queue *q = &vad->queues[qi];
	struct va_chain *ch;
	u64 touched = 0;
	int ret;

	va_tx_begin(vad);
	ret = va_q_peek(vad, q, &head);
	if (ret <= 0 || q->cur_active)
		return -EINVAL;
	ch = &q->chains[head];
	if (ch->in_flight)
		return -EBUSY;
	ret = va_chain_scan(vad, q, head, ch);
	if (ret || ch->in_len)
		return ret ?: -EINVAL;
	if (!va_bl_fits(&vad->bl, ch->out_len)) {
		vad->tx_split = true;
		return 0;
	}
	ret = va_bl_take(vad, qi, head, ch, &touched);
	va_publish_early(vad, touched);
	return ret;
}

/*
 * Build one DATA_REQ from the oldest kept chains, as va_tx_build() does
 * from the vrings: as many as fit in the backend's largest message, the
 * last one perhaps split.  A kept chain is one readable descriptor of its
 * bytes; its bytes, and so the message's, are contiguous in the backlog's
 * ring: two iovs at most.  Returns the number of records.
 */
static int va_bl_build(struct va_device *vad, unsigned int *niov)
{
	struct va_backlog *bl = &vad->bl;
	u32 rec_used = 0, data = 0, nrec = 0, sent = bl->sent, n;
	unsigned int i;

	bl->t_chains = 0;
	bl->t_firsts = 0;
	for (i = 0; i < bl->n; i++) {
		const struct va_kept *k = &bl->kept[(bl->first + i) % bl->nkept];
		u32 need = sizeof(struct virtio_argo_chain), used;
		struct virtio_argo_chain *rec;
		u16 flags = 0;

		if (!sent) {
			flags |= VIRTIO_ARGO_CHAIN_FIRST;
			need += sizeof(struct virtio_argo_desc);
		}
		used = sizeof(struct virtio_argo_data) + rec_used + need + data;
		if (sizeof(struct virtio_argo_data) + rec_used + need >
		    vad->rec_cap || used > vad->max_msg)
			break;
		n = min(k->len - sent, vad->max_msg - used);
		if (!n && k->len)
			break;
		if (sent + n == k->len)
			flags |= VIRTIO_ARGO_CHAIN_LAST;
		rec = (struct virtio_argo_chain *)
		      (vad->recbuf + sizeof(struct virtio_argo_data) + rec_used);
		rec->queue = cpu_to_le16(k->queue);
		rec->flags = cpu_to_le16(flags);
		rec->id = cpu_to_le16(k->id);
		rec->ndesc = cpu_to_le16(sent ? 0 : 1);
		rec->out_len = cpu_to_le32(k->len);
		rec->in_len = 0;
		rec->offset = cpu_to_le32(sent);
		rec->len = cpu_to_le32(n);
		if (!sent) {
			struct virtio_argo_desc *d = (void *)(rec + 1);

			d->len = cpu_to_le32(k->len);
			d->flags = 0;
		}
		rec_used += need;
		data += n;
		nrec++;
		bl->t_firsts += !sent;
		if (!(flags & VIRTIO_ARGO_CHAIN_LAST)) {
			sent += n;
			break;
		}
		bl->t_chains++;
		sent = 0;
	}
	if (!nrec)
		return 0;
	bl->t_sent = sent;
	bl->t_bytes = data;
	*niov = 1;
	if (data) {
		n = min(data, bl->size - bl->head);
		vad->kv[1].iov_base = bl->buf + bl->head;
		vad->kv[1].iov_len = n;
		vad->kv[2].iov_base = bl->buf;
		vad->kv[2].iov_len = data - n;
		*niov = data > n ? 3 : 2;
	}
	vad->tx_bytes_built = data;
	return va_tx_header(vad, nrec, rec_used);
}

/* The message va_bl_build() made was sent: forget what it carried. */
static void va_bl_commit(struct va_device *vad)
{
	struct va_backlog *bl = &vad->bl;
	unsigned int i;

	va_stat_add(vad, VA_STAT_TX_CHAINS, bl->t_firsts);
	for (i = 0; i < bl->t_chains; i++)
		vad->queues[bl->kept[(bl->first + i) % bl->nkept].queue].kept--;
	bl->head = (bl->head + bl->t_bytes) % bl->size;
	bl->bytes -= bl->t_bytes;
	bl->first = (bl->first + bl->t_chains) % bl->nkept;
	bl->n -= bl->t_chains;
	bl->sent = bl->t_sent;
}

/*
 * Empty the backlog, counting it (the backend lost or reset the device):
 * a chain the backend had only in part is lost whole.
 */
static void va_bl_clear(struct va_device *vad)
{
	struct va_backlog *bl = &vad->bl;
	unsigned int i;

	for (i = 0; i < bl->n; i++)
		va_stat_add(vad, VA_STAT_TX_DROPPED,
			    bl->kept[(bl->first + i) % bl->nkept].chains);
	va_stat_add(vad, VA_STAT_TX_DROPPED_BYTES, bl->bytes + bl->sent);
	for (i = 0; vad->queues && i < vad->nq; i++)
		vad->queues[i].kept = 0;
	bl->head = 0;
	bl->bytes = 0;
	bl->first = 0;
	bl->n = 0;
	bl->sent = 0;
}

/* ------------------------------------------------------------------ */
/* A lost backend: every request fails, none hangs                    */
/* ------------------------------------------------------------------ */

/* Kernel address of writable byte @off of the chain at @head, or NULL. */
static u8 *va_chain_in_byte(struct va_device *vad, struct va_queue *q,
			    u16 head, u32 off)
{
	struct va_walk w;
	struct va_seg s;
	u32 at = 0;

	if (va_walk_start(&w, vad, q, head))
		return NULL;
	while (va_walk_next(&w, &s) > 0) {
		if (!s.write)
			continue;
		if (off < at + s.len)
			return s.ptr + (off - at);
		at += s.len;
	}
	return NULL;
}

/*
 * Complete the chain at @head with an error the driver understands: for a
 * block device, VIRTIO_BLK_S_IOERR in its status byte (the last writable
 * one); for the others, nothing written.
 */
static void va_fail_chain(struct va_device *vad, struct va_queue *q,
			  u16 head, u32 in_len)
{
	u32 written = 0;

	if (vad->info.device_id == VIRTIO_ID_BLOCK && in_len) {
		u8 *status = va_chain_in_byte(vad, q, head, in_len - 1);

		if (status) {
			*status = VIRTIO_BLK_S_IOERR;
			written = in_len;
		}
	}
	va_use(vad, q, head, written);
}

/* Fail every chain in flight or available on @q; whether to interrupt. */
static bool va_fail_queue(struct va_device *vad, struct va_queue *q)
{
	u16 old = q->used_idx;
	unsigned int head;

	for (head = 0; head < q->num; head++) {
		if (!q->chains[head].in_flight)
			continue;
		q->chains[head].in_flight = false;
		WRITE_ONCE(vad->inflight, vad->inflight - 1);
		va_fail_chain(vad, q, head, q->chains[head].in_len);
	}
	q->cur_active = false;
	q->t_last_avail = q->last_avail;
	while (va_q_more(vad, q)) {
		u16 slot = q->t_last_avail & (q->num - 1);
		struct va_chain tmp;
		__virtio16 raw;
		u16 id;

		raw = READ_ONCE(q->vr.avail->ring[slot]);
		id = virtio16_to_cpu(&vad->vdev, raw);
		if (id >= q->num) {
			va_vq_break(vad, "available ring entry out of range");
			break;
		}
		q->t_last_avail++;
		if (va_chain_scan(vad, q, id, &tmp))
			tmp.in_len = 0;
		va_fail_chain(vad, q, id, tmp.in_len);
	}
	q->last_avail = q->t_last_avail;
	if (q->used_idx == old)
		return false;
	q->old_used = old;
	return va_rx_publish(vad, q);
}

/*
 * Fail what every queue holds and have irq_work interrupt the driver: the
 * kick path may hold the driver's locks, so no callback runs from here.
 */
static void va_fail_locked(struct va_device *vad)
{
	unsigned int i;
	u64 irq = 0;

	lockdep_assert_held(&vad->lock);
	va_bl_clear(vad);
	for (i = 0; i < vad->nq; i++)
		if (vad->queues[i].vq && va_fail_queue(vad, &vad->queues[i]))
			irq |= BIT_ULL(i);
	if (irq) {
		vad->irq_pending |= irq;
		queue_work(va_wq, &vad->irq_work);
	}
}

static void va_irq_work(struct work_struct *work)
{
	struct va_device *vad = container_of(work, struct va_device, irq_work);
	unsigned long flags;
	unsigned int i;
	u64 irq;

	mutex_lock(&vad->rx_mutex);
	spin_lock_irqsave(&vad->lock, flags);
	irq = vad->irq_pending;
	vad->irq_pending = 0;
	spin_unlock_irqrestore(&vad->lock, flags);
	for (i = 0; i < vad->nq; i++) {
		if (!(irq & BIT_ULL(i)) || !vad->queues[i].vq)
			continue;
		local_bh_disable();
		vring_interrupt(0, vad->queues[i].vq);
		local_bh_enable();
	}
	mutex_unlock(&vad->rx_mutex);
}

/*
 * The backend is gone, or stopped the device: from now on every request
 * completes at once with an error, the outstanding ones first, and no
 * control request is sent for the device.  Sleeps.
 */
void va_vq_fail_all(struct va_device *vad)
{
	unsigned long flags;
	bool was;

	spin_lock_irqsave(&vad->lock, flags);
	was = vad->lost;
	vad->lost = true;
	va_fail_locked(vad);
	spin_unlock_irqrestore(&vad->lock, flags);
	if (!was)
		dev_err(&vad->pdev->dev,
			"backend domain %u lost: failing the device's requests\n",
			vad->be->domid);
	flush_work(&vad->irq_work);
}

/*
 * Send what the driver made available, the backlog's chains first, until
 * done, the ring is full or the budget is spent (tx_work then goes on).
 * When it stops with chains left, those the driver spins on go to the
 * backlog.
 */
static void va_tx(struct va_device *vad)
{
	unsigned int sent = 0;
	bool kept = false;

	lockdep_assert_held(&vad->lock);

	while (!vad->broken && !vad->tx_blocked && vad->queues) {
		unsigned int niov;
		int n, ret;

		if (sent++ == VA_TX_BUDGET) {
			queue_work(va_wq, &vad->tx_work);
			break;
		}
		va_tx_begin(vad);
		/* The backlog and the other queues take turns. */
		kept = vad->bl.n && !kept;
		n = kept ? va_bl_build(vad, &niov) : va_tx_build(vad, &niov);
		if (n == VA_TX_BIG) {
			/* Kept, or to go in parts: build again. */
			if (!va_bl_big(vad))
				continue;
			n = -EINVAL;
		}
		if (n < 0) {
			va_vq_break(vad, "invalid descriptor chain");
			return;
		}
		if (!n) {
			if (vad->bl.n)
				continue;	/* the backlog's turn */
			return;
		}
		va_stat_inc(vad, VA_STAT_TX_HYPERCALLS);
		ret = argo_send(vad->data, vad->be->domid,
				vad->info.data_port, VIRTIO_ARGO_T_DATA_REQ,
				vad->kv, niov);
		if (ret == -EAGAIN) {
			/* Cursors stay as committed; tx_ready resumes. */
			va_stat_inc(vad, VA_STAT_TX_EAGAIN);
			vad->tx_blocked = true;
			break;
		}
		if (ret < 0) {
			vad->tx_err = ret;
			queue_work(va_wq, &vad->report_work);
			vad->lost = true;
			va_fail_locked(vad);
			va_backend_check(vad->be);
			return;
		}
		if (kept) {
			va_bl_commit(vad);
		} else {
			va_tx_commit(vad);
			vad->tx_rr++;
		}
		va_stat_inc(vad, VA_STAT_TX_MSGS);
		va_stat_add(vad, VA_STAT_TX_BYTES, vad->tx_bytes_built);
	}
	va_bl_spill(vad);
}

bool va_vq_notify(struct virtqueue *vq)
{
	struct va_device *vad = to_va_device(vq->vdev);
	unsigned long flags;
	bool ok;

	spin_lock_irqsave(&vad->lock, flags);
	if (vad->lost)
		va_fail_locked(vad);
	else
		va_tx(vad);
	ok = !vad->broken;
	spin_unlock_irqrestore(&vad->lock, flags);
	return ok;
}

static void va_tx_work(struct work_struct *work)
{
	struct va_device *vad = container_of(work, struct va_device, tx_work);
	unsigned long flags;

	spin_lock_irqsave(&vad->lock, flags);
	if (!vad->lost)
		va_tx(vad);
	spin_unlock_irqrestore(&vad->lock, flags);
}

static void va_data_tx_ready(struct argo_endpoint *ep, void *priv)
{
	struct va_device *vad = priv;
	unsigned long flags;

	spin_lock_irqsave(&vad->lock, flags);
	vad->tx_blocked = false;
	/* Lost since the -EAGAIN: what was made available fails, unsent. */
	if (vad->lost)
		va_fail_locked(vad);
	else
		va_tx(vad);
	spin_unlock_irqrestore(&vad->lock, flags);
}

/* ------------------------------------------------------------------ */
/* Completions: DATA_COMP messages to used entries                    */
/* ------------------------------------------------------------------ */

/* Copy @len bytes at message offset @pos to the chain's in bytes at @off. */
static int va_chain_copy_in(struct va_device *vad, struct va_queue *q,
			    u16 head, u32 off, const struct argo_msg *msg,
			    u32 pos, u32 len)
{
	struct va_walk w;
	struct va_seg s;
	u32 at = 0;
	int ret;

	if (!len)
		return 0;
	ret = va_walk_start(&w, vad, q, head);
	if (ret)
		return ret;
	while (len && (ret = va_walk_next(&w, &s)) > 0) {
		u32 skip, n;

		if (!s.write)
			continue;
		if (at + s.len <= off) {
			at += s.len;
			continue;
		}
		skip = off - at;
		n = min(s.len - skip, len);
		if (argo_msg_copy(msg, pos, s.ptr + skip, n) != n)
			return -EFAULT;
		va_stat_inc(vad, VA_STAT_RX_COPIES);
		pos += n;
		off += n;
		len -= n;
		at += s.len;
	}
	if (ret < 0)
		return ret;
	return len ? -EINVAL : 0;
}

static struct va_queue *va_rx_queue(struct va_device *vad, u16 queue)
{
	if (!vad->queues || queue >= vad->nq || !vad->queues[queue].vq)
		return NULL;
	return &vad->queues[queue];
}

/*
 * Check every record of a completion against the chains' states without
 * changing them (tentative fields only).  Returns the payload size the
 * records account for, or a negative errno.
 */
static long va_rx_check(struct va_device *vad, const struct argo_msg *msg,
			const struct va_data_hdr *h)
{
	u64 total = h->data_off;
	u32 gen = ++vad->rx_gen;
	unsigned int i;

	if (!gen)
		gen = ++vad->rx_gen;
	for (i = 0; i < h->nrec; i++) {
		struct virtio_argo_comp raw;
		struct va_queue *q;
		struct va_chain *ch;
		struct va_comp c;

		if (argo_msg_copy(msg, sizeof(struct virtio_argo_data) +
				  i * sizeof(raw), &raw, sizeof(raw)) !=
		    sizeof(raw))
			return -EBADMSG;
		if (va_msg_comp(&raw, &c))
			return -EBADMSG;
		q = va_rx_queue(vad, c.queue);
		if (!q || c.id >= q->num)
			return -EBADMSG;
		ch = &q->chains[c.id];
		if (!ch->in_flight)
			return -EBADMSG;
		if (ch->chk_gen != gen) {
			ch->chk_gen = gen;
			ch->chk_started = ch->started;
			ch->chk_done = ch->done;
			ch->chk_last = false;
		}
		if (ch->chk_last)
			return -EBADMSG;
		if (va_msg_comp_continues(&c, ch->chk_started, ch->chk_done,
					  ch->in_len))
			return -EBADMSG;
		ch->chk_started = true;
		ch->chk_done += c.len;
		ch->chk_last = c.flags & VIRTIO_ARGO_CHAIN_LAST;
		total += c.len;
		if (total > msg->len)
			return -EBADMSG;
	}
	return total;
}

/* Apply a checked completion.  Returns a bitmap of the queues used. */
static u64 va_rx_apply(struct va_device *vad, const struct argo_msg *msg,
		       const struct va_data_hdr *h)
{
	struct virtio_device *vdev = &vad->vdev;
	u32 pos = h->data_off;
	u64 touched = 0;
	unsigned int i;

	for (i = 0; i < h->nrec; i++) {
		struct virtio_argo_comp raw;
		struct vring_used_elem *ue;
		struct va_queue *q;
		struct va_chain *ch;
		struct va_comp c;

		/* Checked by va_rx_check(); our own ring cannot change. */
		if (argo_msg_copy(msg, sizeof(struct virtio_argo_data) +
				  i * sizeof(raw), &raw, sizeof(raw)) !=
		    sizeof(raw) || va_msg_comp(&raw, &c))
			break;
		q = va_rx_queue(vad, c.queue);
		if (!q || c.id >= q->num)
			break;
		ch = &q->chains[c.id];
		if (va_chain_copy_in(vad, q, c.id, c.offset, msg, pos, c.len)) {
			va_vq_break(vad, "descriptor chain changed in flight");
			break;
		}
		pos += c.len;
		va_stat_add(vad, VA_STAT_RX_BYTES, c.len);
		ch->started = true;
		ch->done += c.len;
		if (!(c.flags & VIRTIO_ARGO_CHAIN_LAST))
			continue;
		if (!(touched & BIT_ULL(c.queue)))
			q->old_used = q->used_idx;
		touched |= BIT_ULL(c.queue);
		ch->in_flight = false;
		WRITE_ONCE(vad->inflight, vad->inflight - 1);
		/*
		 * A backend completes a chain it failed before all of it
		 * arrived: its buffers go back to the driver, so not one
		 * more byte of it may be read for the records left.
		 */
		if (q->cur_active && q->cur_head == c.id)
			q->cur_active = false;
		ue = &q->vr.used->ring[q->used_idx & (q->num - 1)];
		WRITE_ONCE(ue->id, cpu_to_virtio32(vdev, c.id));
		WRITE_ONCE(ue->len, cpu_to_virtio32(vdev, c.written));
		q->used_idx++;
		va_stat_inc(vad, VA_STAT_RX_CHAINS);
	}
	return touched;
}

/* Publish the used index; whether the driver wants an interrupt. */
static bool va_rx_publish(struct va_device *vad, struct va_queue *q)
{
	struct virtio_device *vdev = &vad->vdev;
	u16 event;

	/* The used entries before the index. */
	smp_wmb();
	WRITE_ONCE(q->vr.used->idx, cpu_to_virtio16(vdev, q->used_idx));
	/* The index before the driver's suppression flags. */
	smp_mb();
	if (q->event_idx) {
		event = virtio16_to_cpu(vdev, READ_ONCE(vring_used_event(&q->vr)));
		return vring_need_event(event, q->used_idx, q->old_used);
	}
	return !(virtio16_to_cpu(vdev, READ_ONCE(q->vr.avail->flags)) &
		 VRING_AVAIL_F_NO_INTERRUPT);
}

static enum argo_rx_action va_data_rx(struct argo_endpoint *ep,
				      const struct argo_msg *msg, void *priv)
{
	struct va_device *vad = priv;
	struct virtio_argo_data raw;
	struct va_data_hdr h;
	unsigned long flags;
	u64 touched, irq = 0;
	unsigned int i;
	long total;

	va_stat_inc(vad, VA_STAT_RX_MSGS);
	if (msg->src_domain != vad->be->domid ||
	    msg->type != VIRTIO_ARGO_T_DATA_COMP ||
	    argo_msg_copy(msg, 0, &raw, sizeof(raw)) != sizeof(raw) ||
	    va_msg_data_hdr(&raw, msg->len, &h) || h.dev != vad->handle)
		goto malformed;

	mutex_lock(&vad->rx_mutex);
	spin_lock_irqsave(&vad->lock, flags);
	if (h.session != vad->session || vad->lost) {
		spin_unlock_irqrestore(&vad->lock, flags);
		mutex_unlock(&vad->rx_mutex);
		va_stat_inc(vad, VA_STAT_STALE);
		return ARGO_RX_CONSUME;
	}
	total = va_rx_check(vad, msg, &h);
	if (total != msg->len) {
		spin_unlock_irqrestore(&vad->lock, flags);
		mutex_unlock(&vad->rx_mutex);
		goto malformed;
	}
	touched = va_rx_apply(vad, msg, &h);
	WRITE_ONCE(vad->rx_progress, vad->rx_progress + 1);
	for (i = 0; i < vad->nq; i++)
		if ((touched & BIT_ULL(i)) &&
		    va_rx_publish(vad, &vad->queues[i]))
			irq |= BIT_ULL(i);
	spin_unlock_irqrestore(&vad->lock, flags);

	/* virtio_net's callbacks schedule NAPI: bottom halves off. */
	for (i = 0; i < vad->nq; i++) {
		if (!(irq & BIT_ULL(i)))
			continue;
		local_bh_disable();
		vring_interrupt(0, vad->queues[i].vq);
		local_bh_enable();
	}
	mutex_unlock(&vad->rx_mutex);
	return ARGO_RX_CONSUME;

malformed:
	va_stat_inc(vad, VA_STAT_MALFORMED);
	dev_warn_ratelimited(&vad->pdev->dev,
			     "dropped a malformed message from domain %u (type %#x, %u bytes)\n",
			     msg->src_domain, msg->type, msg->len);
	return ARGO_RX_CONSUME;
}

const struct argo_endpoint_ops va_data_ops = {
	.rx = va_data_rx,
	.tx_ready = va_data_tx_ready,
};

/* ------------------------------------------------------------------ */
/* Queue state                                                        */
/* ------------------------------------------------------------------ */

int va_vq_alloc(struct va_device *vad)
{
	vad->nq = vad->info.num_queues;
	INIT_WORK(&vad->irq_work, va_irq_work);
	INIT_WORK(&vad->tx_work, va_tx_work);
	INIT_WORK(&vad->break_work, va_break_work);
	INIT_WORK(&vad->report_work, va_report_work);
	vad->rec_cap = min_t(u32, vad->max_msg, VA_REC_CAP);
	vad->recbuf = kzalloc(vad->rec_cap, GFP_KERNEL);
	vad->started_cap = vad->rec_cap / sizeof(struct virtio_argo_chain);
	vad->started = kcalloc(vad->started_cap, sizeof(*vad->started),
			       GFP_KERNEL);
	/* A message ends at most the chains it starts and one more. */
	vad->early = kcalloc(vad->started_cap + 1, sizeof(*vad->early),
			     GFP_KERNEL);
	vad->out_nocomp = vad->be->features & VIRTIO_ARGO_F_OUT_NOCOMP;
	vad->queues = kcalloc(vad->nq, sizeof(*vad->queues), GFP_KERNEL);
	if (!vad->recbuf || !vad->started || !vad->early || !vad->queues)
		goto nomem;
	/* Only a console spins on its output (see va_bl_spill()). */
	if (vad->info.device_id == VIRTIO_ID_CONSOLE && vad->out_nocomp &&
	    vad->bl_size) {
		struct va_backlog *bl = &vad->bl;

		bl->size = vad->bl_size;
		bl->nkept = max_t(u32, bl->size / VA_BL_BYTES_PER_CHAIN, 16);
		bl->buf = kvmalloc(bl->size, GFP_KERNEL);
		bl->kept = kvcalloc(bl->nkept, sizeof(*bl->kept), GFP_KERNEL);
		if (!bl->buf || !bl->kept)
			goto nomem;
	}
	return 0;
nomem:
	va_vq_free(vad);
	return -ENOMEM;
}

void va_vq_free(struct va_device *vad)
{
	kfree(vad->recbuf);
	kfree(vad->started);
	kfree(vad->early);
	kfree(vad->queues);
	kvfree(vad->bl.buf);
	kvfree(vad->bl.kept);
	vad->recbuf = NULL;
	vad->started = NULL;
	vad->early = NULL;
	vad->queues = NULL;
	memset(&vad->bl, 0, sizeof(vad->bl));
}

/* Mirror @vq as queue @index (find_vqs, before DRIVER_OK). */
int va_vq_setup(struct va_device *vad, unsigned int index,
		struct virtqueue *vq)
{
	struct va_queue *q = &vad->queues[index];
	struct va_chain *chains;
	unsigned long flags;
	u16 num = virtqueue_get_vring_size(vq);

	chains = kcalloc(num, sizeof(*chains), GFP_KERNEL);
	if (!chains)
		return -ENOMEM;
	mutex_lock(&vad->rx_mutex);
	spin_lock_irqsave(&vad->lock, flags);
	memset(q, 0, sizeof(*q));
	q->vr = *virtqueue_get_vring(vq);
	q->num = num;
	q->chains = chains;
	q->event_idx = virtio_has_feature(&vad->vdev, VIRTIO_RING_F_EVENT_IDX);
	q->indirect = virtio_has_feature(&vad->vdev,
					 VIRTIO_RING_F_INDIRECT_DESC);
	q->vq = vq;
	spin_unlock_irqrestore(&vad->lock, flags);
	mutex_unlock(&vad->rx_mutex);
	return 0;
}

/* Forget every queue (del_vqs): no completion touches them after this. */
void va_vq_teardown(struct va_device *vad)
{
	struct va_chain *chains[VIRTIO_ARGO_MAX_QUEUES];
	unsigned long flags;
	unsigned int i;

	mutex_lock(&vad->rx_mutex);
	spin_lock_irqsave(&vad->lock, flags);
	va_bl_clear(vad);
	for (i = 0; i < vad->nq; i++) {
		chains[i] = vad->queues[i].chains;
		memset(&vad->queues[i], 0, sizeof(vad->queues[i]));
	}
	spin_unlock_irqrestore(&vad->lock, flags);
	mutex_unlock(&vad->rx_mutex);
	for (i = 0; i < vad->nq; i++)
		kfree(chains[i]);
}

/*
 * The backend confirmed a reset (or was declared lost): a new session, so
 * that late completions of the old one are dropped, and every chain back
 * to the driver's side.
 */
void va_vq_reset(struct va_device *vad)
{
	unsigned long flags;
	unsigned int i;

	/* A break of the old session must not land on the new one. */
	cancel_work_sync(&vad->break_work);
	mutex_lock(&vad->rx_mutex);
	spin_lock_irqsave(&vad->lock, flags);
	do {
		vad->session = get_random_u32();
	} while (!vad->session);
	vad->broken = false;
	WRITE_ONCE(vad->inflight, 0);
	va_bl_clear(vad);
	/* No callback after a reset, not even one failing chains before it. */
	vad->irq_pending = 0;
	for (i = 0; i < vad->nq; i++) {
		struct va_queue *q = &vad->queues[i];

		if (q->chains)
			memset(q->chains, 0, q->num * sizeof(*q->chains));
		q->last_avail = 0;
		q->cur_active = false;
		q->used_idx = 0;
	}
	spin_unlock_irqrestore(&vad->lock, flags);
	mutex_unlock(&vad->rx_mutex);
}

/* The device is unregistered: no work item of its may run after this. */
void va_vq_quiesce(struct va_device *vad)
{
	cancel_work_sync(&vad->tx_work);
	cancel_work_sync(&vad->break_work);
	cancel_work_sync(&vad->irq_work);
	cancel_work_sync(&vad->report_work);
}
