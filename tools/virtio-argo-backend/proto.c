// SPDX-License-Identifier: MIT
/*
 * virtio-argo-backend: the protocol (Documentation/virtio-argo-protocol.rst),
 * independent of /dev/argo and of device classes.
 *
 * Trust: every message comes from a frontend, which may be hostile.  A
 * message is parsed only through memcpy() into a local structure after its
 * length was checked, every field is converted from little-endian and
 * checked against the limits and the device's state before use, and
 * nothing is allocated on a size that was not checked.  A malformed message
 * is dropped, counted and logged (rate-limited, with the frontend's
 * domain); a malformed control request with a readable header is answered
 * INVAL.  The frontend is who the hypervisor says sent the message: each
 * of our rings is registered for one partner, and the source domain is
 * checked again here.  Device handles are looked up only among the
 * frontend's own devices and change at every HELLO, so a handle of
 * another frontend (or from before a restart) finds nothing: NODEV.
 *
 * Memory: per device, chains being reassembled, whole or held by the
 * class, and completions waiting to be sent are charged to mem_used.
 * Above mem_limit the device stops reading its ring and defers executing
 * whole chains until completions have drained, so a frontend can make
 * the backend hold at most about mem_limit plus one chain per device (see
 * vab_dev_pump()).
 *
 * Devices come and go at run time (vab_dev_start(), vab_dev_remove()):
 * a device takes the lowest index its frontend has free, HELLO counts one
 * more than the highest in use and DEV_INFO of a free one is NODEV.  A
 * removed device's chains fail as its class fails them and the frontend
 * gets EV_DEV_REMOVED; nothing of it is left.  A frontend whose control
 * ring is no more (a send to it refused, or the periodic vab_fe_check())
 * is forgotten until it says HELLO again.  Whatever changes the sets of
 * devices and frontends runs between the handling of messages (a timer,
 * a watch, SIGHUP), never under a caller that holds one of them.
 *
 * Copyright (c) 2026 The virtio-argo authors
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "backend.h"

#define VAB_CTRL_TXQ_MAX	(2 * VIRTIO_ARGO_MAX_DEVICES + 16)
/* A removed device's ring waits this long at most for its frontend ... */
#define VAB_LINGER_MS		10000
/* ... which is asked this often whether it still has its side. */
#define VAB_LINGER_CHECK_MS	100
/* Records per completion message: keeps one message's bookkeeping small. */
#define VAB_COMP_MAX_REC	1024

/* Each malformed message: counted for the frontend (and device), logged. */
static void vab_bad(struct vab_frontend *fe, struct vab_dev *d,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void vab_bad(struct vab_frontend *fe, struct vab_dev *d,
		    const char *fmt, ...)
{
	char what[256];
	va_list ap;

	fe->malformed++;
	if (d)
		d->stats.malformed++;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	vab_fe_log(fe, d, VAB_LOG_WARN, "malformed: %s", what);
}

void vab_dev_malformed(struct vab_dev *d, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	vab_bad(d->fe, d, "%s", what);
}

/* Handler result: the reply was queued by the handler itself. */
#define VAB_REPLIED	(-1)

/* ---- Setting up ---------------------------------------------------- */

void vab_init(struct vab *b, uint16_t domain, const struct vab_transport *t)
{
	memset(b, 0, sizeof(*b));
	b->domain = domain;
	b->t = *t;
	b->next_handle = 1;
}

struct vab_frontend *vab_frontend_find(struct vab *b, uint16_t domid)
{
	uint32_t i;

	for (i = 0; i < b->nfes; i++)
		if (b->fes[i]->domid == domid)
			return b->fes[i];
	return NULL;
}

static void vab_ep_close(struct vab *b, struct vab_ep *ep)
{
	if (ep->fd >= 0 && b->t.close_ep)
		b->t.close_ep(b->t.ctx, ep);
	ep->fd = -1;
	ep->tx_blocked = false;
}

static void vab_fe_check(struct vab_dev *unused, void *arg);

/*
 * A send to the frontend failed with @err: if its ring is gone, look at
 * the frontend at the end of this turn (vab_fe_check() runs from a timer,
 * where dropping its state cannot pull anything from under a caller).
 */
static void vab_fe_suspect(struct vab_frontend *fe, int err)
{
	if (err == -ECONNREFUSED || err == -ESRCH)
		vab_timer_arm(fe->b, NULL, vab_now_ms(), vab_fe_check, fe);
}

static void vab_fe_drop_txq(struct vab_frontend *fe)
{
	struct vab_ctrl_msg *m;

	while ((m = fe->txq)) {
		fe->txq = m->next;
		free(m);
	}
	fe->txq_tail = &fe->txq;
	fe->txq_len = 0;
	fe->ctrl.tx_blocked = false;
}

static void vab_linger_check(struct vab_dev *unused, void *arg);

/* Unregister the lingering ring at @port (0: every one) of @fe. */
static void vab_linger_drop(struct vab_frontend *fe, uint32_t port)
{
	struct vab_linger **pp = &fe->linger, *l;

	while ((l = *pp)) {
		if (port && l->ep.port != port) {
			pp = &l->next;
			continue;
		}
		*pp = l->next;
		vab_ep_close(fe->b, &l->ep);
		free(l);
	}
	if (!fe->linger)
		vab_timer_cancel(fe->b, NULL, vab_linger_check, fe);
}

/*
 * Close the rings of removed devices whose frontend has let go of them
 * (its data ring for the device is gone), or that waited long enough.
 */
static void vab_linger_check(struct vab_dev *unused, void *arg)
{
	struct vab_frontend *fe = arg;
	struct vab *b = fe->b;
	struct vab_linger **pp = &fe->linger, *l;
	int64_t now = vab_now_ms();
	uint32_t max;
	int r;

	(void)unused;
	while ((l = *pp)) {
		r = now < l->until ?
		    b->t.max_msg(b->t.ctx, &l->ep, fe->domid, l->fe_port, &max) :
		    -ETIMEDOUT;
		if (r == -ECONNREFUSED || r == -ESRCH || r == -ETIMEDOUT) {
			vab_fe_log(fe, NULL, VAB_LOG_DEBUG,
				   "ring at port %#x unregistered (%s)",
				   l->ep.port, r == -ETIMEDOUT ?
				   "the frontend kept its side" :
				   "the frontend let go");
			*pp = l->next;
			vab_ep_close(b, &l->ep);
			free(l);
			continue;
		}
		pp = &l->next;
	}
	if (fe->linger)
		vab_timer_arm(b, NULL, now + VAB_LINGER_CHECK_MS,
			      vab_linger_check, fe);
}

/* A frontend without devices goes: its ring, its messages, its timer. */
static void vab_fe_free(struct vab_frontend *fe)
{
	struct vab *b = fe->b;
	uint32_t i;

	vab_timer_cancel(b, NULL, vab_fe_check, fe);
	vab_linger_drop(fe, 0);
	vab_ep_close(b, &fe->ctrl);
	vab_fe_drop_txq(fe);
	for (i = 0; i < b->nfes; i++) {
		if (b->fes[i] == fe) {
			memmove(&b->fes[i], &b->fes[i + 1],
				(b->nfes - i - 1) * sizeof(b->fes[0]));
			b->nfes--;
			break;
		}
	}
	free(fe);
}

struct vab_frontend *vab_frontend_get(struct vab *b, uint16_t domid)
{
	struct vab_frontend *fe = vab_frontend_find(b, domid);
	uint32_t i;

	if (fe)
		return fe;
	/* Full: make room by letting go of one that has no device left. */
	for (i = 0; b->nfes >= VAB_MAX_FRONTENDS && i < b->nfes; i++) {
		if (!b->fes[i]->ndevs) {
			vab_log(VAB_LOG_INFO,
				"frontend %u: no device left: no longer served",
				b->fes[i]->domid);
			vab_fe_free(b->fes[i]);
		}
	}
	if (b->nfes >= VAB_MAX_FRONTENDS) {
		errno = ENOSPC;
		return NULL;
	}
	fe = calloc(1, sizeof(*fe));
	if (!fe)
		return NULL;
	fe->b = b;
	fe->domid = domid;
	fe->ctrl.fd = -1;
	fe->ctrl.port = VIRTIO_ARGO_PORT_CTRL;
	fe->ctrl.partner = domid;
	fe->ctrl.ring_size = VAB_CTRL_RING;
	fe->txq_tail = &fe->txq;
	b->fes[b->nfes++] = fe;
	return fe;
}

struct vab_dev *vab_dev_find(struct vab *b, const char *name)
{
	uint32_t f, i;

	for (f = 0; f < b->nfes; f++)
		for (i = 0; i < b->fes[f]->ndevs; i++)
			if (!strcmp(b->fes[f]->devs[i]->name, name))
				return b->fes[f]->devs[i];
	return NULL;
}

static struct vab_dev *vab_dev_at(const struct vab_frontend *fe,
				  uint32_t index)
{
	uint32_t i;

	for (i = 0; i < fe->ndevs; i++)
		if (fe->devs[i]->index == index)
			return fe->devs[i];
	return NULL;
}

/* One more than the highest index in use: HELLO's num_devices. */
static uint32_t vab_fe_num_indexes(const struct vab_frontend *fe)
{
	uint32_t i, n = 0;

	for (i = 0; i < fe->ndevs; i++)
		if (fe->devs[i]->index >= n)
			n = fe->devs[i]->index + 1;
	return n;
}

struct vab_dev *vab_dev_new(struct vab *b, uint16_t fe_domid,
			    const struct vab_dev_class *cls, int want_index,
			    const char *name)
{
	struct vab_frontend *fe;
	struct vab_dev *d;
	uint32_t index;
	unsigned int n;

	if (name && (!*name || strlen(name) > VAB_ID_MAX)) {
		errno = EINVAL;
		return NULL;
	}
	if (name && vab_dev_find(b, name)) {
		errno = EEXIST;
		return NULL;
	}
	fe = vab_frontend_get(b, fe_domid);
	if (!fe)
		return NULL;
	if (want_index >= 0) {
		index = (uint32_t)want_index;
		if (index >= VIRTIO_ARGO_MAX_DEVICES || vab_dev_at(fe, index)) {
			errno = index < VIRTIO_ARGO_MAX_DEVICES ? EEXIST : ENOSPC;
			goto no_dev;
		}
	} else {
		for (index = 0; index < VIRTIO_ARGO_MAX_DEVICES; index++)
			if (!vab_dev_at(fe, index))
				break;
		if (index == VIRTIO_ARGO_MAX_DEVICES) {
			errno = ENOSPC;
			goto no_dev;
		}
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		goto no_dev;
	/* The port is the new device's: a removed one's ring waits no more. */
	vab_linger_drop(fe, VIRTIO_ARGO_PORT_DATA_BASE + index);
	if (name) {
		memcpy(d->name, name, strlen(name) + 1);
	} else {
		/* "blk0": the lowest number no device of the backend has. */
		for (n = 0;; n++) {
			snprintf(d->name, sizeof(d->name), "%s%u", cls->name, n);
			if (!vab_dev_find(b, d->name))
				break;
		}
	}
	d->b = b;
	d->fe = fe;
	d->cls = cls;
	d->index = index;
	d->ep.fd = -1;
	d->ep.port = VIRTIO_ARGO_PORT_DATA_BASE + d->index;
	d->ep.partner = fe_domid;
	d->ep.ring_size = VAB_DATA_RING_DEFAULT;
	d->ready_tail = &d->ready;
	d->comp_tail = &d->comp;
	d->mem_limit = VAB_DEV_MEM_LIMIT;
	d->generation = 1;
	fe->devs[fe->ndevs++] = d;
	return d;

no_dev:
	/* A frontend made for this device and never used goes with it. */
	if (!fe->ndevs && fe->ctrl.fd < 0 && !fe->hello) {
		int e = errno;

		vab_fe_free(fe);
		errno = e;
	}
	return NULL;
}

/* A size in bytes with an optional K or M suffix (powers of 1024). */
int vab_parse_size(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno)
		return -EINVAL;
	if (*end == 'k' || *end == 'K') {
		v = v > max >> 10 ? max + 1 : v << 10;
		end++;
	} else if (*end == 'm' || *end == 'M') {
		v = v > max >> 20 ? max + 1 : v << 20;
		end++;
	}
	if (*end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int vab_dev_set_prop(struct vab_dev *d, const char *key, const char *val)
{
	uint64_t v;

	if (!strcmp(key, "ring-size")) {
		if (vab_parse_size(val, VAB_RING_MAX, &v) ||
		    v < VIRTIO_ARGO_MIN_DATA_RING || v % 16)
			return -EINVAL;
		d->ep.ring_size = (uint32_t)v;
		return 0;
	}
	if (!strcmp(key, "max-memory")) {
		if (vab_parse_size(val, 1ULL << 40, &v) ||
		    v < 2ULL * VIRTIO_ARGO_MAX_CHAIN_BYTES)
			return -EINVAL;
		d->mem_limit = (size_t)v;
		return 0;
	}
	if (d->cls->set_prop)
		return d->cls->set_prop(d, key, val);
	return -ENOENT;
}

/* ---- Chains ---------------------------------------------------------- */

static void vab_charge(struct vab_dev *d, struct vab_chain *c, ssize_t n)
{
	c->charge += (size_t)n;
	d->mem_used += (size_t)n;
}

static void vab_chain_free(struct vab_dev *d, struct vab_chain *c)
{
	struct vab_queue *q = &d->queues[c->queue];

	if (q->slots && c->id < q->size && q->slots[c->id] == c)
		q->slots[c->id] = NULL;
	*c->dev_pprev = c->dev_next;
	if (c->dev_next)
		c->dev_next->dev_pprev = c->dev_pprev;
	d->inflight--;
	d->mem_used -= c->charge;
	free(c->out);
	free(c->in);
	free(c);
}

void vab_chain_complete(struct vab_dev *d, struct vab_chain *c, uint8_t *in,
			uint32_t in_buf_len, uint32_t written,
			const void *tail, uint8_t tail_len)
{
	if (c->state == VAB_CHAIN_DONE) {
		vab_fe_log(d->fe, d, VAB_LOG_ERROR,
			   "bug: chain %u:%u completed twice", c->queue, c->id);
		free(in);
		return;
	}
	if (written > c->in_len) {
		vab_fe_log(d->fe, d, VAB_LOG_ERROR,
			   "bug: chain %u:%u wrote %u of %u bytes",
			   c->queue, c->id, written, c->in_len);
		written = c->in_len;
	}
	if (tail_len > sizeof(c->tail))
		tail_len = sizeof(c->tail);
	if (tail_len > written)
		tail_len = (uint8_t)written;
	if (in_buf_len > written - tail_len)
		in_buf_len = written - tail_len;

	if (c->nocomp) {
		/*
		 * The frontend completed it when it sent it: nothing to send.
		 * Inside its own request() the pump frees it on return.
		 */
		free(in);
		d->stats.chains_nocomp++;
		c->state = VAB_CHAIN_DONE;
		if (d->executing != c)
			vab_chain_free(d, c);
		return;
	}

	vab_charge(d, c, -(ssize_t)c->out_cap);
	free(c->out);
	c->out = NULL;
	c->out_cap = 0;

	c->in = in;
	c->in_buf_len = in ? in_buf_len : 0;
	vab_charge(d, c, c->in_buf_len);
	if (tail_len)
		memcpy(c->tail, tail, tail_len);
	c->tail_len = tail_len;
	c->written = written;
	c->sent = 0;
	c->state = VAB_CHAIN_DONE;
	c->next = NULL;
	*d->comp_tail = c;
	d->comp_tail = &c->next;
	/* From a callback or another device: vab_kick() sends it. */
	if (!d->pumping) {
		d->kick = true;
		d->b->kick = true;
	}
}

/* A chain that cannot be executed: the class's error completion. */
static void vab_chain_fail(struct vab_dev *d, struct vab_chain *c)
{
	d->stats.chains_failed++;
	if (d->cls->fail)
		d->cls->fail(d, c);
	else
		vab_chain_complete(d, c, NULL, 0, 0, NULL, 0);
}

static struct vab_chain *vab_chain_new(struct vab_dev *d, uint16_t queue,
				       uint16_t id, uint32_t session,
				       uint32_t out_len, uint32_t in_len,
				       bool nocomp)
{
	struct vab_chain *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->dev_next = d->chains;
	if (d->chains)
		d->chains->dev_pprev = &c->dev_next;
	c->dev_pprev = &d->chains;
	d->chains = c;
	c->nocomp = nocomp;
	c->queue = queue;
	c->id = id;
	c->session = session;
	c->out_len = out_len;
	c->in_len = in_len;
	c->state = VAB_CHAIN_RECEIVING;
	d->queues[queue].slots[id] = c;
	d->inflight++;
	vab_charge(d, c, sizeof(*c));
	return c;
}

/*
 * Every chain of the device, wherever it is (a slot, the ready or
 * completion list, held by the class with or without a slot), freed:
 * RESET, DETACH.
 */
static void vab_dev_drop_chains(struct vab_dev *d)
{
	while (d->chains)
		vab_chain_free(d, d->chains);
	d->ready = NULL;
	d->ready_tail = &d->ready;
	d->comp = NULL;
	d->comp_tail = &d->comp;
}

/*
 * Back to the state after realize: no status, features or queues, no
 * chain, nothing left to send, nothing left in our ring from before.
 * Requests the frontend sent before its RESET are all in our ring already
 * (an Argo send has delivered when it returns), so discarding the ring
 * here means none of them can run after the reply.
 */
static void vab_dev_reset(struct vab_dev *d)
{
	unsigned int qi;

	/* First: the class lets go of the chains it holds. */
	if (d->cls->reset)
		d->cls->reset(d);
	vab_dev_drop_chains(d);
	for (qi = 0; qi < d->num_queues; qi++) {
		free(d->queues[qi].slots);
		memset(&d->queues[qi], 0, sizeof(d->queues[qi]));
	}
	d->status = 0;
	d->features = 0;
	d->ep.tx_blocked = false;
	if (d->b->t.discard_rx)
		d->b->t.discard_rx(d->b->t.ctx, &d->ep);
}

/* ---- Completions out -------------------------------------------------- */

/* Bytes [off, off + len) of @c's completion into @dst. */
static void vab_comp_bytes(const struct vab_chain *c, uint32_t off,
			   uint32_t len, uint8_t *dst)
{
	uint32_t end = off + len, tail_at = c->written - c->tail_len;

	memset(dst, 0, len);
	if (off < c->in_buf_len)
		memcpy(dst, c->in + off,
		       (end < c->in_buf_len ? end : c->in_buf_len) - off);
	if (end > tail_at) {
		uint32_t from = off > tail_at ? off : tail_at;

		memcpy(dst + (from - off), c->tail + (from - tail_at),
		       end - from);
	}
}

static bool vab_txbuf_reserve(struct vab *b, size_t len)
{
	uint8_t *p;

	if (b->txbuf_cap >= len)
		return true;
	p = realloc(b->txbuf, len);
	if (!p)
		return false;
	b->txbuf = p;
	b->txbuf_cap = len;
	return true;
}

/*
 * Send one DATA_COMP with as many completions (or parts of one) as fit the
 * frontend's ring, all of one session.  Returns true if it was sent.
 */
static bool vab_dev_send_one(struct vab_dev *d)
{
	struct { struct vab_chain *c; uint32_t len; } recs[VAB_COMP_MAX_REC];
	struct vab *b = d->b;
	struct virtio_argo_data h;
	struct vab_chain *c;
	size_t space, pos, data;
	uint32_t session = d->comp->session;
	unsigned int n = 0, i;
	int r;

	if (!vab_txbuf_reserve(b, d->fe_max_msg)) {
		vab_fe_log(d->fe, d, VAB_LOG_ERROR, "out of memory");
		return false;
	}
	space = d->fe_max_msg - sizeof(h);
	for (c = d->comp; c && c->session == session && n < VAB_COMP_MAX_REC;
	     c = c->next) {
		uint32_t left = c->written - c->sent, take;

		if (space < sizeof(struct virtio_argo_comp) + (left ? 1 : 0))
			break;
		space -= sizeof(struct virtio_argo_comp);
		take = left < space ? left : (uint32_t)space;
		space -= take;
		recs[n].c = c;
		recs[n++].len = take;
		if (take < left)
			break;
	}

	memset(&h, 0, sizeof(h));
	h.hdr.dev = htole32(d->handle);
	h.hdr.tag = htole32(session);
	h.nrec = htole16((uint16_t)n);
	h.data_off = htole32((uint32_t)(sizeof(h) +
					 n * sizeof(struct virtio_argo_comp)));
	memcpy(b->txbuf, &h, sizeof(h));
	pos = sizeof(h);
	data = le32toh(h.data_off);
	for (i = 0; i < n; i++) {
		struct virtio_argo_comp rec;

		c = recs[i].c;
		memset(&rec, 0, sizeof(rec));
		rec.queue = htole16(c->queue);
		rec.id = htole16(c->id);
		rec.flags = htole16((c->sent ? 0 : VIRTIO_ARGO_CHAIN_FIRST) |
				    (c->sent + recs[i].len == c->written ?
				     VIRTIO_ARGO_CHAIN_LAST : 0));
		if (c->sent + recs[i].len == c->written)
			rec.written = htole32(c->written);
		rec.offset = htole32(c->sent);
		rec.len = htole32(recs[i].len);
		memcpy(b->txbuf + pos, &rec, sizeof(rec));
		pos += sizeof(rec);
		vab_comp_bytes(c, c->sent, recs[i].len, b->txbuf + data);
		data += recs[i].len;
	}

	r = b->t.send(b->t.ctx, &d->ep, d->fe->domid, d->fe_port,
		      VIRTIO_ARGO_T_DATA_COMP, b->txbuf, data);
	if (r == -EAGAIN) {
		d->ep.tx_blocked = true;
		d->stats.tx_eagain++;
		return false;
	}
	if (r < 0) {
		/* The frontend's ring is gone or lied about its size. */
		vab_fe_log(d->fe, d, VAB_LOG_WARN,
			   "cannot send completions to port %#x: %s; dropping them",
			   d->fe_port, strerror(-r));
		vab_fe_suspect(d->fe, r);
		while ((c = d->comp)) {
			d->comp = c->next;
			vab_chain_free(d, c);
		}
		d->comp_tail = &d->comp;
		return false;
	}
	d->stats.tx_msgs++;
	d->stats.tx_bytes += data;
	for (i = 0; i < n; i++) {
		c = recs[i].c;
		c->sent += recs[i].len;
		if (c->sent == c->written) {
			d->comp = c->next;
			if (!d->comp)
				d->comp_tail = &d->comp;
			vab_chain_free(d, c);
		}
	}
	return true;
}

/*
 * Execute whole chains and send completions, as far as memory and the
 * frontend's ring allow.  A whole chain waits while completions are
 * queued and memory is above the limit: sending them frees memory, and
 * with nothing queued there is nothing to wait for, so it always runs.
 */
static void vab_dev_pump(struct vab_dev *d)
{
	struct vab_chain *c;

	d->pumping = true;
	d->kick = false;
	do {
		while ((c = d->ready) &&
		       (!d->comp ||
			d->mem_used + c->in_len <= d->mem_limit)) {
			d->ready = c->next;
			if (!d->ready)
				d->ready_tail = &d->ready;
			c->next = NULL;
			d->executing = c;
			d->cls->request(d, c);
			d->executing = NULL;
			if (c->state != VAB_CHAIN_READY) {
				/* A nocomp chain done: vab_chain_complete(). */
				if (c->nocomp && c->state == VAB_CHAIN_DONE)
					vab_chain_free(d, c);
				continue;
			}
			if (!d->cls->stop || !d->cls->reset) {
				vab_fe_log(d->fe, d, VAB_LOG_ERROR,
					   "bug: chain %u:%u not completed",
					   c->queue, c->id);
				vab_chain_fail(d, c);
				continue;
			}
			c->state = VAB_CHAIN_HELD;
			if (d->b->stopping)
				d->cls->stop(d);
		}
	} while (d->comp && d->attached && !d->ep.tx_blocked &&
		 vab_dev_send_one(d));
	d->pumping = false;
}

void vab_kick(struct vab *b)
{
	uint32_t f, i;

	while (b->kick) {
		b->kick = false;
		for (f = 0; f < b->nfes; f++)
			for (i = 0; i < b->fes[f]->ndevs; i++)
				if (b->fes[f]->devs[i]->kick)
					vab_dev_pump(b->fes[f]->devs[i]);
	}
}

void vab_dev_tx(struct vab_dev *d)
{
	d->ep.tx_blocked = false;
	vab_dev_pump(d);
}

bool vab_dev_tx_pending(const struct vab_dev *d)
{
	return d->comp || d->ready;
}

/* Chains waiting for memory mean the same as too much memory: wait. */
bool vab_dev_rx_ready(const struct vab_dev *d)
{
	return !d->b->stopping && d->mem_used < d->mem_limit && !d->ready;
}

/* ---- Data requests in ------------------------------------------------- */

/* Check a CHAIN_FIRST record and its descriptors: NULL or what is wrong. */
static const char *vab_check_first(const struct virtio_argo_chain *rec,
				   const uint8_t *descs, uint16_t ndesc)
{
	uint64_t out = 0, in = 0;
	bool writable = false;
	unsigned int i;

	if (!ndesc)
		return "first record without descriptors";
	if (le32toh(rec->out_len) > VIRTIO_ARGO_MAX_CHAIN_BYTES ||
	    le32toh(rec->in_len) > VIRTIO_ARGO_MAX_CHAIN_BYTES)
		return "chain larger than MAX_CHAIN_BYTES";
	for (i = 0; i < ndesc; i++) {
		struct virtio_argo_desc desc;
		uint32_t flags;

		memcpy(&desc, descs + i * sizeof(desc), sizeof(desc));
		flags = le32toh(desc.flags);
		if (flags & ~VIRTIO_ARGO_DESC_WRITE)
			return "unknown descriptor flags";
		if (!(flags & VIRTIO_ARGO_DESC_WRITE) && writable)
			return "readable descriptor after a writable one";
		if (flags & VIRTIO_ARGO_DESC_WRITE) {
			writable = true;
			in += le32toh(desc.len);
		} else {
			out += le32toh(desc.len);
		}
	}
	if (out != le32toh(rec->out_len) || in != le32toh(rec->in_len))
		return "descriptor lengths do not add up to out_len/in_len";
	return NULL;
}

static bool vab_chain_append(struct vab_dev *d, struct vab_chain *c,
			     const uint8_t *bytes, uint32_t len)
{
	if (!len)
		return true;
	if (c->received + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		uint8_t *p;

		while (cap < c->received + len)
			cap *= 2;
		if (cap > c->out_len)
			cap = c->out_len;
		p = realloc(c->out, cap);
		if (!p)
			return false;
		vab_charge(d, c, (ssize_t)(cap - c->out_cap));
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->received, bytes, len);
	c->received += len;
	return true;
}

/* One record of a well-formed DATA_REQ; @descs follow it if FIRST. */
static void vab_data_rec(struct vab_dev *d, uint32_t session,
			 const struct virtio_argo_chain *rec,
			 const uint8_t *descs, const uint8_t *bytes)
{
	struct vab_frontend *fe = d->fe;
	uint16_t qi = le16toh(rec->queue), id = le16toh(rec->id);
	uint16_t flags = le16toh(rec->flags), ndesc = le16toh(rec->ndesc);
	uint32_t out_len = le32toh(rec->out_len), in_len = le32toh(rec->in_len);
	uint32_t off = le32toh(rec->offset), len = le32toh(rec->len);
	struct vab_queue *q;
	struct vab_chain *c;
	const char *why;

	if (qi >= d->num_queues || !d->queues[qi].enabled) {
		vab_bad(fe, d, "record for queue %u, not enabled", qi);
		return;
	}
	q = &d->queues[qi];
	if (id >= q->size) {
		vab_bad(fe, d, "chain id %u on queue %u of size %u",
			id, qi, q->size);
		return;
	}
	c = q->slots[id];
	if (flags & VIRTIO_ARGO_CHAIN_FIRST) {
		if (c) {
			vab_bad(fe, d, "chain %u:%u already in flight", qi, id);
			if (c->state == VAB_CHAIN_RECEIVING)
				vab_chain_fail(d, c);
			return;
		}
		why = vab_check_first(rec, descs, ndesc);
		if (!why && (flags & ~(VIRTIO_ARGO_CHAIN_FIRST |
				       VIRTIO_ARGO_CHAIN_LAST)))
			why = "unknown record flags";
		/* As the frontend sees it: no writable byte, no completion. */
		c = vab_chain_new(d, qi, id, session, out_len,
				  in_len <= VIRTIO_ARGO_MAX_CHAIN_BYTES ?
				  in_len : 0,
				  !in_len &&
				  (fe->features & VIRTIO_ARGO_F_OUT_NOCOMP));
		if (!c) {
			vab_fe_log(fe, d, VAB_LOG_ERROR, "out of memory");
			return;
		}
		if (why) {
			vab_bad(fe, d, "chain %u:%u: %s", qi, id, why);
			vab_chain_fail(d, c);
			return;
		}
	} else {
		if (!c || c->state != VAB_CHAIN_RECEIVING) {
			vab_bad(fe, d, "record for chain %u:%u not in progress",
				qi, id);
			return;
		}
		why = NULL;
		if (ndesc)
			why = "descriptors on a record that is not first";
		else if (flags & ~VIRTIO_ARGO_CHAIN_LAST)
			why = "unknown record flags";
		else if (out_len != c->out_len || in_len != c->in_len)
			why = "out_len/in_len differ from the first record's";
		else if (session != c->session)
			why = "session changed within the chain";
		if (why) {
			vab_bad(fe, d, "chain %u:%u: %s", qi, id, why);
			vab_chain_fail(d, c);
			return;
		}
	}
	if (off != c->received || len > c->out_len - off ||
	    ((flags & VIRTIO_ARGO_CHAIN_LAST) && off + len != c->out_len)) {
		vab_bad(fe, d,
			"chain %u:%u: bytes [%u, +%u)%s do not continue [0, %u) of %u",
			qi, id, off, len,
			flags & VIRTIO_ARGO_CHAIN_LAST ? " (last)" : "",
			c->received, c->out_len);
		vab_chain_fail(d, c);
		return;
	}
	if (!vab_chain_append(d, c, bytes, len)) {
		vab_fe_log(fe, d, VAB_LOG_ERROR, "out of memory");
		vab_chain_fail(d, c);
		return;
	}
	if (flags & VIRTIO_ARGO_CHAIN_LAST) {
		/*
		 * Whole: the frontend has completed a nocomp chain already
		 * and may send its id again, even while we still hold it.
		 */
		if (c->nocomp)
			q->slots[id] = NULL;
		c->state = VAB_CHAIN_READY;
		c->next = NULL;
		*d->ready_tail = c;
		d->ready_tail = &c->next;
		d->stats.chains++;
	}
}

void vab_data_rx(struct vab_dev *d, uint16_t src, uint32_t src_port,
		 uint32_t type, const void *buf, size_t len)
{
	const size_t recsz = sizeof(struct virtio_argo_chain);
	const size_t descsz = sizeof(struct virtio_argo_desc);
	struct vab_frontend *fe = d->fe;
	const uint8_t *p = buf;
	struct virtio_argo_data h;
	uint32_t session, data_off, nrec, i;
	uint64_t total = 0;
	size_t pos, data;

	(void)src_port;
	d->stats.rx_msgs++;
	d->stats.rx_bytes += len;
	if (src != fe->domid) {
		vab_bad(fe, d, "data message from domain %u", src);
		return;
	}
	if (type != VIRTIO_ARGO_T_DATA_REQ) {
		vab_bad(fe, d, "message type %#x on the data ring", type);
		return;
	}
	if (len < sizeof(h)) {
		vab_bad(fe, d, "DATA_REQ of %zu bytes", len);
		return;
	}
	memcpy(&h, p, sizeof(h));
	session = le32toh(h.hdr.tag);
	nrec = le16toh(h.nrec);
	data_off = le32toh(h.data_off);
	if (!d->handle || le32toh(h.hdr.dev) != d->handle) {
		vab_bad(fe, d, "DATA_REQ for device handle %#x, not %#x",
			le32toh(h.hdr.dev), d->handle);
		return;
	}
	if (!d->attached || !(d->status & VAB_S_DRIVER_OK) ||
	    (d->status & (VAB_S_FAILED | VAB_S_NEEDS_RESET)) ||
	    d->b->stopping) {
		vab_fe_log(fe, d, VAB_LOG_DEBUG,
			   "DATA_REQ dropped: device not running (status %#x)",
			   d->status);
		return;
	}
	if (!session) {
		vab_bad(fe, d, "DATA_REQ with session 0");
		return;
	}
	if (!nrec || data_off % 8 || data_off < sizeof(h) + recsz ||
	    data_off > len) {
		vab_bad(fe, d, "DATA_REQ: nrec %u, data_off %u, length %zu",
			nrec, data_off, len);
		return;
	}

	/* Structure first: every record and descriptor inside the message. */
	for (i = 0, pos = sizeof(h); i < nrec; i++) {
		struct virtio_argo_chain rec;

		if (data_off - pos < recsz) {
			vab_bad(fe, d, "DATA_REQ: record %u beyond data_off", i);
			return;
		}
		memcpy(&rec, p + pos, recsz);
		pos += recsz;
		if (le16toh(rec.flags) & VIRTIO_ARGO_CHAIN_FIRST) {
			uint16_t ndesc = le16toh(rec.ndesc);

			if (ndesc > VIRTIO_ARGO_MAX_CHAIN_DESC ||
			    (data_off - pos) / descsz < ndesc) {
				vab_bad(fe, d,
					"DATA_REQ: record %u: %u descriptors",
					i, ndesc);
				return;
			}
			pos += ndesc * descsz;
		}
		total += le32toh(rec.len);
	}
	if (total != len - data_off) {
		vab_bad(fe, d, "DATA_REQ: records carry %llu bytes, data area %zu",
			(unsigned long long)total, len - data_off);
		return;
	}

	/* Then each record against its chain's state. */
	for (i = 0, pos = sizeof(h), data = data_off; i < nrec; i++) {
		struct virtio_argo_chain rec;
		const uint8_t *descs;

		memcpy(&rec, p + pos, recsz);
		pos += recsz;
		descs = p + pos;
		if (le16toh(rec.flags) & VIRTIO_ARGO_CHAIN_FIRST)
			pos += le16toh(rec.ndesc) * descsz;
		vab_data_rec(d, session, &rec, descs, p + data);
		data += le32toh(rec.len);
	}
	vab_dev_pump(d);
	/* A request of this device may have completed another's chains. */
	vab_kick(d->b);
}

/* ---- Control: sending ---------------------------------------------------- */

static void vab_ctrl_queue(struct vab_frontend *fe, uint32_t port,
			   uint32_t type, const void *buf, size_t len)
{
	struct vab_ctrl_msg *m;

	if (fe->txq_len >= VAB_CTRL_TXQ_MAX) {
		vab_fe_log(fe, NULL, VAB_LOG_WARN,
			   "control ring full for too long; message %#x dropped",
			   type);
		return;
	}
	m = malloc(sizeof(*m) + len);
	if (!m) {
		vab_fe_log(fe, NULL, VAB_LOG_ERROR, "out of memory");
		return;
	}
	m->next = NULL;
	m->port = port;
	m->type = type;
	m->len = (uint32_t)len;
	memcpy(m->buf, buf, len);
	*fe->txq_tail = m;
	fe->txq_tail = &m->next;
	fe->txq_len++;
}

/* Queue EV_CONFIG for a device (its configuration as it is now). */
static void vab_queue_ev_config(struct vab_dev *d)
{
	uint8_t buf[sizeof(struct virtio_argo_ev_config) +
		    VIRTIO_ARGO_MAX_CONFIG];
	struct virtio_argo_ev_config ev;

	memset(&ev, 0, sizeof(ev));
	ev.hdr.dev = htole32(d->handle);
	ev.generation = htole32(d->generation);
	ev.len = htole16(d->config_len);
	memcpy(buf, &ev, sizeof(ev));
	memcpy(buf + sizeof(ev), d->config, d->config_len);
	vab_ctrl_queue(d->fe, d->fe->ctrl_port, VIRTIO_ARGO_T_EV_CONFIG, buf,
		       sizeof(ev) + d->config_len);
}

void vab_ctrl_tx(struct vab_frontend *fe)
{
	struct vab *b = fe->b;
	struct vab_ctrl_msg *m;
	uint32_t i;
	int r;

	fe->ctrl.tx_blocked = false;
	for (i = 0; fe->hello && i < fe->ndevs; i++) {
		if (fe->devs[i]->ev_config_pending) {
			fe->devs[i]->ev_config_pending = false;
			vab_queue_ev_config(fe->devs[i]);
		}
	}
	while ((m = fe->txq)) {
		r = b->t.send(b->t.ctx, &fe->ctrl, fe->domid, m->port, m->type,
			      m->buf, m->len);
		if (r == -EAGAIN) {
			fe->ctrl.tx_blocked = true;
			return;
		}
		if (r < 0) {
			vab_fe_log(fe, NULL, VAB_LOG_WARN,
				   "cannot send message %#x to port %#x: %s",
				   m->type, m->port, strerror(-r));
			vab_fe_suspect(fe, r);
		}
		fe->txq = m->next;
		if (!fe->txq)
			fe->txq_tail = &fe->txq;
		fe->txq_len--;
		free(m);
	}
}

bool vab_ctrl_tx_pending(const struct vab_frontend *fe)
{
	return fe->txq;
}

/* Read no request while a reply waits: a frontend cannot pile them up. */
bool vab_ctrl_rx_ready(const struct vab_frontend *fe)
{
	return !fe->b->stopping && !fe->txq;
}

void vab_dev_config_changed(struct vab_dev *d)
{
	d->generation++;
	if (!d->fe->hello)
		return;
	d->ev_config_pending = true;
	if (!d->fe->ctrl.tx_blocked)
		vab_ctrl_tx(d->fe);
}

/* ---- Control: requests ----------------------------------------------------- */

struct vab_req {
	struct vab_frontend *fe;
	uint32_t port;		/* reply to (frontend, port) */
	uint32_t type;
	uint32_t dev;
	uint32_t tag;
	const uint8_t *buf;
	size_t len;
};

static void vab_reply(const struct vab_req *rq, uint32_t status, void *buf,
		      size_t len)
{
	struct virtio_argo_reply r;

	memset(&r, 0, sizeof(r));
	r.hdr.dev = htole32(rq->dev);
	r.hdr.tag = htole32(rq->tag);
	r.status = htole32(status);
	if (!buf) {
		buf = &r;
		len = sizeof(r);
	} else {
		memcpy(buf, &r, sizeof(r));
	}
	vab_ctrl_queue(rq->fe, rq->port, rq->type | VIRTIO_ARGO_REPLY, buf,
		       len);
}

static bool vab_req_len(const struct vab_req *rq, size_t want)
{
	if (rq->len == want)
		return true;
	vab_bad(rq->fe, NULL, "%s of %zu bytes, not %zu",
		virtio_argo_req_name(rq->type), rq->len, want);
	return false;
}

static struct vab_dev *vab_req_dev(const struct vab_req *rq)
{
	struct vab_frontend *fe = rq->fe;
	uint32_t i;

	for (i = 0; rq->dev && i < fe->ndevs; i++)
		if (fe->devs[i]->handle == rq->dev)
			return fe->devs[i];
	fe->unknown_handles++;
	vab_fe_log(fe, NULL, VAB_LOG_INFO, "%s for unknown device handle %#x",
		   virtio_argo_req_name(rq->type), rq->dev);
	return NULL;
}

/* Forget the frontend's data ring and reset the device. */
static void vab_dev_detach(struct vab_dev *d)
{
	vab_dev_reset(d);
	d->attached = false;
	d->fe_port = 0;
	d->fe_max_msg = 0;
}

static uint32_t vab_new_handle(struct vab *b)
{
	uint32_t h = b->next_handle++;

	if (!b->next_handle)
		b->next_handle = 1;
	return h;
}

static int vab_hello(const struct vab_req *rq)
{
	struct vab_frontend *fe = rq->fe;
	struct virtio_argo_hello_reply rep;
	struct virtio_argo_hello h;
	uint16_t vmin, vmax;
	uint32_t i;

	if (!vab_req_len(rq, sizeof(h)))
		return VIRTIO_ARGO_S_INVAL;
	memcpy(&h, rq->buf, sizeof(h));
	vmin = le16toh(h.version_min);
	vmax = le16toh(h.version_max);
	if (rq->dev || vmin > vmax) {
		vab_bad(fe, NULL, "HELLO: device %#x, versions %u..%u",
			rq->dev, vmin, vmax);
		return VIRTIO_ARGO_S_INVAL;
	}
	if (vmin > VIRTIO_ARGO_VERSION || vmax < VIRTIO_ARGO_VERSION) {
		vab_fe_log(fe, NULL, VAB_LOG_WARN,
			   "HELLO: versions %u..%u, we speak %u", vmin, vmax,
			   VIRTIO_ARGO_VERSION);
		return VIRTIO_ARGO_S_UNSUPP;
	}
	if (fe->hello)
		vab_fe_log(fe, NULL, VAB_LOG_INFO,
			   "HELLO again: frontend restarted, devices reset");
	for (i = 0; i < fe->ndevs; i++) {
		struct vab_dev *d = fe->devs[i];

		vab_dev_detach(d);
		d->ev_config_pending = false;
		d->known = false;
		d->handle = vab_new_handle(fe->b);
	}
	fe->hello = true;
	fe->ctrl_port = rq->port;
	/* What it proposes and we know; bits unknown to us are not errors. */
	fe->features = le32toh(h.features) & VAB_PROTO_FEATURES;
	if (fe->b->fe_check_ms)
		vab_timer_arm(fe->b, NULL, vab_now_ms() + fe->b->fe_check_ms,
			      vab_fe_check, fe);

	memset(&rep, 0, sizeof(rep));
	rep.version = htole16(VIRTIO_ARGO_VERSION);
	rep.num_devices = htole16((uint16_t)vab_fe_num_indexes(fe));
	rep.features = htole32(fe->features);
	rep.max_msg = htole32(VAB_RING_MSG(fe->ctrl.ring_size));
	vab_reply(rq, VIRTIO_ARGO_S_OK, &rep, sizeof(rep));
	vab_fe_log(fe, NULL, VAB_LOG_INFO,
		   "connected (protocol %u, control port %#x, %u devices, features %#x)",
		   VIRTIO_ARGO_VERSION, rq->port, fe->ndevs, fe->features);
	return VAB_REPLIED;
}

static int vab_dev_info(const struct vab_req *rq)
{
	uint8_t buf[sizeof(struct virtio_argo_dev_info_reply) +
		    2 * VIRTIO_ARGO_MAX_QUEUES + VIRTIO_ARGO_MAX_CONFIG];
	struct virtio_argo_dev_info_reply rep;
	struct virtio_argo_dev_info req;
	struct vab_dev *d;
	size_t pos;
	uint32_t i;

	if (!vab_req_len(rq, sizeof(req)))
		return VIRTIO_ARGO_S_INVAL;
	memcpy(&req, rq->buf, sizeof(req));
	if (rq->dev) {
		vab_bad(rq->fe, NULL, "DEV_INFO with device %#x", rq->dev);
		return VIRTIO_ARGO_S_INVAL;
	}
	d = vab_dev_at(rq->fe, le32toh(req.index));
	if (!d) {
		/* Never in use, or removed: a hole the frontend skips. */
		vab_fe_log(rq->fe, NULL, VAB_LOG_DEBUG,
			   "DEV_INFO of index %u: no device", le32toh(req.index));
		return VIRTIO_ARGO_S_NODEV;
	}
	d->known = true;

	memset(buf, 0, sizeof(buf));
	memset(&rep, 0, sizeof(rep));
	rep.dev = htole32(d->handle);
	rep.device_id = htole32(d->cls->device_id);
	rep.config_generation = htole32(d->generation);
	rep.device_features = htole64(d->features_offered);
	rep.num_queues = htole16(d->num_queues);
	rep.config_len = htole16(d->config_len);
	rep.data_port = htole32(d->ep.port);
	rep.data_ring = htole32(d->ep.ring_size);
	memcpy(buf, &rep, sizeof(rep));
	pos = sizeof(rep);
	for (i = 0; i < d->num_queues; i++)
		vab_put16(buf + pos + 2 * i, d->queue_max[i]);
	pos += VIRTIO_ARGO_ALIGN(2U * d->num_queues);
	memcpy(buf + pos, d->config, d->config_len);
	pos += d->config_len;
	vab_reply(rq, VIRTIO_ARGO_S_OK, buf, pos);
	return VAB_REPLIED;
}

static int vab_attach(const struct vab_req *rq, struct vab_dev *d)
{
	struct vab_frontend *fe = rq->fe;
	struct virtio_argo_attach a;
	uint32_t ring, port, max;
	int r;

	if (!vab_req_len(rq, sizeof(a)))
		return VIRTIO_ARGO_S_INVAL;
	memcpy(&a, rq->buf, sizeof(a));
	ring = le32toh(a.data_ring);
	port = le32toh(a.data_port);
	if (d->attached)
		return VIRTIO_ARGO_S_STATE;
	if (ring < VIRTIO_ARGO_MIN_DATA_RING) {
		vab_bad(fe, d, "ATTACH: data ring of %u bytes", ring);
		return VIRTIO_ARGO_S_INVAL;
	}
	if (ring > VAB_RING_MAX + 64)
		ring = VAB_RING_MAX + 64;
	/* The hypervisor knows the ring's real size: believe it. */
	r = fe->b->t.max_msg(fe->b->t.ctx, &d->ep, fe->domid, port, &max);
	if (r) {
		vab_fe_log(fe, d, VAB_LOG_WARN,
			   "ATTACH: no data ring at port %#x for us: %s",
			   port, strerror(-r));
		return VIRTIO_ARGO_S_INVAL;
	}
	if (max > VAB_RING_MSG(ring))
		max = VAB_RING_MSG(ring);
	if (max < VIRTIO_ARGO_MIN_MSG) {
		vab_fe_log(fe, d, VAB_LOG_WARN,
			   "ATTACH: data ring at port %#x takes %u bytes",
			   port, max);
		return VIRTIO_ARGO_S_INVAL;
	}
	d->attached = true;
	d->fe_port = port;
	d->fe_max_msg = max;
	d->ep.tx_blocked = false;
	vab_fe_log(fe, d, VAB_LOG_INFO,
		   "attached (frontend data port %#x, messages up to %u bytes)",
		   port, max);
	return VIRTIO_ARGO_S_OK;
}

static int vab_set_features(const struct vab_req *rq, struct vab_dev *d)
{
	struct virtio_argo_set_features sf;
	uint64_t f;

	if (!vab_req_len(rq, sizeof(sf)))
		return VIRTIO_ARGO_S_INVAL;
	memcpy(&sf, rq->buf, sizeof(sf));
	f = le64toh(sf.features);
	if (d->status & (VAB_S_FEATURES_OK | VAB_S_DRIVER_OK | VAB_S_FAILED))
		return VIRTIO_ARGO_S_STATE;
	if ((f & ~d->features_offered) || !(f & (1ULL << VAB_F_VERSION_1))) {
		vab_bad(rq->fe, d, "SET_FEATURES %#llx, offered %#llx",
			(unsigned long long)f,
			(unsigned long long)d->features_offered);
		return VIRTIO_ARGO_S_INVAL;
	}
	d->features = f;
	return VIRTIO_ARGO_S_OK;
}

static bool vab_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

static int vab_set_status(const struct vab_req *rq, struct vab_dev *d)
{
	struct virtio_argo_set_status_reply rep;
	struct virtio_argo_set_status ss;
	uint32_t s, added;
	unsigned int i;

	if (!vab_req_len(rq, sizeof(ss)))
		return VIRTIO_ARGO_S_INVAL;
	memcpy(&ss, rq->buf, sizeof(ss));
	s = le32toh(ss.status);
	if (!s || s > 0xff || (s & VAB_S_NEEDS_RESET) || (d->status & ~s)) {
		vab_bad(rq->fe, d, "SET_STATUS %#x from %#x", s, d->status);
		return VIRTIO_ARGO_S_INVAL;
	}
	added = s & ~d->status;
	if ((added & VAB_S_FEATURES_OK) &&
	    !(d->features & (1ULL << VAB_F_VERSION_1))) {
		vab_fe_log(rq->fe, d, VAB_LOG_WARN,
			   "features %#llx refused: no VERSION_1",
			   (unsigned long long)d->features);
		s &= ~(uint32_t)VAB_S_FEATURES_OK;
		added &= ~(uint32_t)VAB_S_FEATURES_OK;
	}
	if ((added & VAB_S_DRIVER_OK) && !(s & VAB_S_FEATURES_OK))
		return VIRTIO_ARGO_S_STATE;
	if (added & VAB_S_DRIVER_OK) {
		for (i = 0; i < d->num_queues; i++) {
			struct vab_queue *q = &d->queues[i];

			if (!q->enabled)
				continue;
			q->slots = calloc(q->size, sizeof(*q->slots));
			if (!q->slots) {
				vab_fe_log(rq->fe, d, VAB_LOG_ERROR,
					   "out of memory");
				while (i--) {
					free(d->queues[i].slots);
					d->queues[i].slots = NULL;
				}
				return VIRTIO_ARGO_S_IO;
			}
		}
		vab_fe_log(rq->fe, d, VAB_LOG_INFO,
			   "driver ready (features %#llx)",
			   (unsigned long long)d->features);
	}
	if (added & VAB_S_FAILED)
		vab_fe_log(rq->fe, d, VAB_LOG_WARN, "driver failed the device");
	d->status = (uint8_t)s;

	memset(&rep, 0, sizeof(rep));
	rep.status = htole32(d->status);
	vab_reply(rq, VIRTIO_ARGO_S_OK, &rep, sizeof(rep));
	return VAB_REPLIED;
}

static int vab_queue_setup(const struct vab_req *rq, struct vab_dev *d)
{
	struct virtio_argo_queue_setup qs;
	uint16_t qi, size;
	uint32_t flags;
	bool enable;

	if (!vab_req_len(rq, sizeof(qs)))
		return VIRTIO_ARGO_S_INVAL;
	memcpy(&qs, rq->buf, sizeof(qs));
	qi = le16toh(qs.queue);
	size = le16toh(qs.size);
	flags = le32toh(qs.flags);
	enable = flags & VIRTIO_ARGO_QUEUE_ENABLE;
	if (d->status & VAB_S_DRIVER_OK)
		return VIRTIO_ARGO_S_STATE;
	if (qi >= d->num_queues || (flags & ~VIRTIO_ARGO_QUEUE_ENABLE) ||
	    ((enable || size) &&
	     (!vab_pow2(size) || size > d->queue_max[qi]))) {
		vab_bad(rq->fe, d, "QUEUE_SETUP queue %u size %u flags %#x",
			qi, size, flags);
		return VIRTIO_ARGO_S_INVAL;
	}
	d->queues[qi].size = enable ? size : 0;
	d->queues[qi].enabled = enable;
	return VIRTIO_ARGO_S_OK;
}

static int vab_config_access(const struct vab_req *rq, struct vab_dev *d)
{
	uint8_t buf[sizeof(struct virtio_argo_config_reply) +
		    VIRTIO_ARGO_MAX_CONFIG];
	struct virtio_argo_config_reply rep;
	struct virtio_argo_config_access ca;
	bool write = rq->type == VIRTIO_ARGO_T_CONFIG_WRITE;
	uint32_t off, len;

	if (rq->len < sizeof(ca)) {
		vab_bad(rq->fe, d, "%s of %zu bytes",
			virtio_argo_req_name(rq->type), rq->len);
		return VIRTIO_ARGO_S_INVAL;
	}
	memcpy(&ca, rq->buf, sizeof(ca));
	off = le32toh(ca.offset);
	len = le32toh(ca.len);
	if (len > VIRTIO_ARGO_MAX_CONFIG ||
	    !vab_req_len(rq, sizeof(ca) + (write ? len : 0)))
		return VIRTIO_ARGO_S_INVAL;
	if (off > d->config_len || len > d->config_len - off) {
		vab_bad(rq->fe, d, "%s [%u, +%u) of %u bytes",
			virtio_argo_req_name(rq->type), off, len,
			d->config_len);
		return VIRTIO_ARGO_S_INVAL;
	}
	if (write) {
		if (d->cls->config_write && len)
			d->cls->config_write(d, off, rq->buf + sizeof(ca), len);
		off = 0;
		len = d->config_len;
	}
	memset(&rep, 0, sizeof(rep));
	rep.generation = htole32(d->generation);
	rep.offset = htole16((uint16_t)off);
	rep.len = htole16((uint16_t)len);
	memcpy(buf, &rep, sizeof(rep));
	memcpy(buf + sizeof(rep), d->config + off, len);
	vab_reply(rq, VIRTIO_ARGO_S_OK, buf, sizeof(rep) + len);
	return VAB_REPLIED;
}

/* Exact sizes of the requests about a device; 0: variable. */
static const size_t vab_dev_req_size[] = {
	[VIRTIO_ARGO_T_ATTACH] = sizeof(struct virtio_argo_attach),
	[VIRTIO_ARGO_T_DETACH] = sizeof(struct virtio_argo_hdr),
	[VIRTIO_ARGO_T_SET_FEATURES] = sizeof(struct virtio_argo_set_features),
	[VIRTIO_ARGO_T_SET_STATUS] = sizeof(struct virtio_argo_set_status),
	[VIRTIO_ARGO_T_QUEUE_SETUP] = sizeof(struct virtio_argo_queue_setup),
	[VIRTIO_ARGO_T_RESET] = sizeof(struct virtio_argo_hdr),
	[VIRTIO_ARGO_T_CONFIG_WRITE] = 0,
	[VIRTIO_ARGO_T_CONFIG_READ] = sizeof(struct virtio_argo_config_access),
};

/*
 * A request about a device (hdr.dev), after HELLO.  Checked in this
 * order: length (INVAL), handle (NODEV), state (STATE), values (INVAL).
 */
static int vab_dev_req(const struct vab_req *rq)
{
	struct vab_dev *d;

	if (vab_dev_req_size[rq->type]) {
		if (!vab_req_len(rq, vab_dev_req_size[rq->type]))
			return VIRTIO_ARGO_S_INVAL;
	} else if (rq->len < sizeof(struct virtio_argo_config_access)) {
		vab_bad(rq->fe, NULL, "%s of %zu bytes",
			virtio_argo_req_name(rq->type), rq->len);
		return VIRTIO_ARGO_S_INVAL;
	}
	d = vab_req_dev(rq);
	if (!d)
		return VIRTIO_ARGO_S_NODEV;
	switch (rq->type) {
	case VIRTIO_ARGO_T_ATTACH:
		return vab_attach(rq, d);
	case VIRTIO_ARGO_T_DETACH:
		if (!d->attached)
			return VIRTIO_ARGO_S_STATE;
		vab_dev_detach(d);
		vab_fe_log(rq->fe, d, VAB_LOG_INFO, "detached");
		return VIRTIO_ARGO_S_OK;
	case VIRTIO_ARGO_T_SET_FEATURES:
		return vab_set_features(rq, d);
	case VIRTIO_ARGO_T_SET_STATUS:
		return vab_set_status(rq, d);
	case VIRTIO_ARGO_T_QUEUE_SETUP:
		return vab_queue_setup(rq, d);
	case VIRTIO_ARGO_T_RESET:
		vab_dev_reset(d);
		vab_fe_log(rq->fe, d, VAB_LOG_DEBUG, "reset");
		return VIRTIO_ARGO_S_OK;
	default:
		return vab_config_access(rq, d);
	}
}

void vab_ctrl_rx(struct vab_frontend *fe, uint16_t src, uint32_t src_port,
		 uint32_t type, const void *buf, size_t len)
{
	struct virtio_argo_hdr hdr;
	struct vab_req rq;
	int st;

	if (src != fe->domid) {
		vab_bad(fe, NULL, "control message from domain %u", src);
		return;
	}
	if (type & VIRTIO_ARGO_REPLY) {
		vab_bad(fe, NULL, "message type %#x on the control ring", type);
		return;
	}
	if (len < sizeof(hdr)) {
		vab_bad(fe, NULL, "message type %#x of %zu bytes", type, len);
		return;
	}
	memcpy(&hdr, buf, sizeof(hdr));
	rq.fe = fe;
	rq.port = src_port;
	rq.type = type;
	rq.dev = le32toh(hdr.dev);
	rq.tag = le32toh(hdr.tag);
	rq.buf = buf;
	rq.len = len;

	if (!rq.tag) {
		vab_bad(fe, NULL, "%s with tag 0", virtio_argo_req_name(type));
		st = VIRTIO_ARGO_S_INVAL;
	} else if (type == VIRTIO_ARGO_T_HELLO) {
		st = vab_hello(&rq);
	} else if (type == VIRTIO_ARGO_T_PING && !rq.dev) {
		st = vab_req_len(&rq, sizeof(hdr)) ? VIRTIO_ARGO_S_OK :
		     VIRTIO_ARGO_S_INVAL;
	} else if (type < VIRTIO_ARGO_T_HELLO || type > VIRTIO_ARGO_T_PING) {
		vab_fe_log(fe, NULL, VAB_LOG_INFO,
			   "unknown request type %#x", type);
		st = VIRTIO_ARGO_S_UNSUPP;
	} else if (!fe->hello) {
		vab_fe_log(fe, NULL, VAB_LOG_INFO, "%s before HELLO",
			   virtio_argo_req_name(type));
		st = VIRTIO_ARGO_S_STATE;
	} else if (type == VIRTIO_ARGO_T_DEV_INFO) {
		st = vab_dev_info(&rq);
	} else if (type == VIRTIO_ARGO_T_PING) {
		if (!vab_req_len(&rq, sizeof(hdr)))
			st = VIRTIO_ARGO_S_INVAL;
		else
			st = vab_req_dev(&rq) ? VIRTIO_ARGO_S_OK :
			     VIRTIO_ARGO_S_NODEV;
	} else {
		st = vab_dev_req(&rq);
	}
	if (st != VAB_REPLIED)
		vab_reply(&rq, (uint32_t)st, NULL, 0);
	vab_ctrl_tx(fe);
}

/* ---- Whole backend ----------------------------------------------------- */

void vab_stop(struct vab *b)
{
	uint32_t f, i, qi, id;

	b->stopping = true;
	for (f = 0; f < b->nfes; f++) {
		for (i = 0; i < b->fes[f]->ndevs; i++) {
			struct vab_dev *d = b->fes[f]->devs[i];

			for (qi = 0; qi < d->num_queues; qi++) {
				struct vab_queue *q = &d->queues[qi];

				for (id = 0; q->slots && id < q->size; id++)
					if (q->slots[id] &&
					    q->slots[id]->state ==
					    VAB_CHAIN_RECEIVING)
						vab_chain_fail(d, q->slots[id]);
			}
			if (d->cls->stop)
				d->cls->stop(d);
			vab_dev_pump(d);
		}
	}
	vab_kick(b);
}

bool vab_idle(const struct vab *b)
{
	uint32_t f, i;

	for (f = 0; f < b->nfes; f++) {
		if (b->fes[f]->txq)
			return false;
		for (i = 0; i < b->fes[f]->ndevs; i++) {
			const struct vab_dev *d = b->fes[f]->devs[i];

			if (d->attached && vab_dev_tx_pending(d))
				return false;
		}
	}
	return true;
}

int vab_flush_all(struct vab *b)
{
	uint32_t f, i;
	int ret = 0, r;

	for (f = 0; f < b->nfes; f++) {
		for (i = 0; i < b->fes[f]->ndevs; i++) {
			struct vab_dev *d = b->fes[f]->devs[i];

			if (!d->cls->flush)
				continue;
			r = d->cls->flush(d);
			if (r) {
				vab_fe_log(d->fe, d, VAB_LOG_ERROR,
					   "flush failed: %s", strerror(-r));
				if (!ret)
					ret = r;
			}
		}
	}
	return ret;
}

void vab_refresh_all(struct vab *b)
{
	uint32_t f, i;

	for (f = 0; f < b->nfes; f++)
		for (i = 0; i < b->fes[f]->ndevs; i++)
			if (b->fes[f]->devs[i]->cls->refresh)
				b->fes[f]->devs[i]->cls->refresh(b->fes[f]->devs[i]);
}

/* ---- Devices and frontends coming and going ------------------------------ */

int vab_start(struct vab *b)
{
	uint32_t f, i;
	int r;

	for (f = 0; b->t.open_ep && f < b->nfes; f++) {
		struct vab_frontend *fe = b->fes[f];

		if (fe->ctrl.fd < 0) {
			r = b->t.open_ep(b->t.ctx, &fe->ctrl, "control");
			if (r)
				return r;
		}
		for (i = 0; i < fe->ndevs; i++) {
			if (fe->devs[i]->ep.fd >= 0)
				continue;
			r = b->t.open_ep(b->t.ctx, &fe->devs[i]->ep,
					 fe->devs[i]->name);
			if (r)
				return r;
		}
	}
	b->running = true;
	return 0;
}

/* EV_DEV_ADDED or EV_DEV_REMOVED about @d, queued for its frontend. */
static void vab_queue_ev_dev(struct vab_dev *d, uint32_t type)
{
	struct virtio_argo_ev_dev ev;

	memset(&ev, 0, sizeof(ev));
	ev.hdr.dev = htole32(d->handle);
	ev.index = htole32(d->index);
	vab_ctrl_queue(d->fe, d->fe->ctrl_port, type, &ev, sizeof(ev));
}

int vab_dev_start(struct vab_dev *d)
{
	struct vab_frontend *fe = d->fe;
	struct vab *b = d->b;
	int r;

	if (b->running && b->t.open_ep) {
		if (fe->ctrl.fd < 0) {
			r = b->t.open_ep(b->t.ctx, &fe->ctrl, "control");
			if (r)
				return r;
		}
		r = b->t.open_ep(b->t.ctx, &d->ep, d->name);
		if (r)
			return r;
	}
	if (fe->hello) {
		/* A handle of its own, as if it had been there at HELLO. */
		d->handle = vab_new_handle(b);
		vab_queue_ev_dev(d, VIRTIO_ARGO_T_EV_DEV_ADDED);
		if (!fe->ctrl.tx_blocked)
			vab_ctrl_tx(fe);
	}
	if (b->running)
		vab_fe_log(fe, d, VAB_LOG_INFO, "added at index %u%s", d->index,
			   fe->hello ? " (frontend told)" : "");
	return 0;
}

/* Out of its frontend, its callbacks, its class, its chains, its ring. */
static void vab_dev_free(struct vab_dev *d)
{
	struct vab_frontend *fe = d->fe;
	unsigned int qi;
	uint32_t i;

	for (i = 0; i < fe->ndevs; i++) {
		if (fe->devs[i] == d) {
			memmove(&fe->devs[i], &fe->devs[i + 1],
				(fe->ndevs - i - 1) * sizeof(fe->devs[0]));
			fe->ndevs--;
			break;
		}
	}
	vab_loop_dev_gone(d->b, d);
	if (d->cls->destroy)
		d->cls->destroy(d);
	vab_dev_drop_chains(d);
	for (qi = 0; qi < d->num_queues; qi++)
		free(d->queues[qi].slots);
	vab_ep_close(d->b, &d->ep);
	free(d->spec);
	free(d);
}

/*
 * A frontend is served while it has devices or is connected: one that
 * said HELLO keeps its control ring with no device (it gets EV_DEV_ADDED
 * when one comes); one that did not, or is gone, is let go.
 */
static bool vab_fe_release_unused(struct vab_frontend *fe)
{
	if (fe->ndevs || fe->hello)
		return false;
	vab_fe_free(fe);
	return true;
}

void vab_dev_discard(struct vab_dev *d)
{
	struct vab_frontend *fe = d->fe;

	vab_dev_free(d);
	vab_fe_release_unused(fe);
}

void vab_dev_remove(struct vab_dev *d)
{
	struct vab_frontend *fe = d->fe;
	struct vab_chain *c, *ready = d->ready;
	uint32_t inflight = d->inflight, qi, id;

	/*
	 * Every chain fails as the class fails one (virtio-blk: IOERR), so
	 * that the driver sees errors, not a hang: whole chains not yet
	 * executed, those being received, then those the class holds.
	 */
	d->ready = NULL;
	d->ready_tail = &d->ready;
	while ((c = ready)) {
		ready = c->next;
		c->next = NULL;
		vab_chain_fail(d, c);
	}
	for (qi = 0; qi < d->num_queues; qi++) {
		struct vab_queue *q = &d->queues[qi];

		for (id = 0; q->slots && id < q->size; id++)
			if (q->slots[id] &&
			    q->slots[id]->state == VAB_CHAIN_RECEIVING)
				vab_chain_fail(d, q->slots[id]);
	}
	if (d->cls->stop)
		d->cls->stop(d);
	/* What the frontend's ring takes now; the rest it fails itself. */
	vab_dev_pump(d);
	d->ev_config_pending = false;
	if (fe->hello && d->known)
		vab_queue_ev_dev(d, VIRTIO_ARGO_T_EV_DEV_REMOVED);
	vab_fe_log(fe, d, VAB_LOG_INFO,
		   "removed from index %u (%u request%s in flight failed%s)",
		   d->index, inflight, inflight == 1 ? "" : "s",
		   fe->hello && d->known ? ", frontend told" : "");
	/*
	 * A frontend attached to it may be sending it requests right now,
	 * before it sees EV_DEV_REMOVED.  A send to a ring that is not there
	 * is how a frontend finds its backend dead, so the ring stays (not
	 * read: the frontend fails those requests itself) until the frontend
	 * has let go of its side, or VAB_LINGER_MS.
	 */
	if (d->attached && fe->hello && d->ep.fd >= 0) {
		struct vab_linger *l = calloc(1, sizeof(*l));

		if (l) {
			l->ep = d->ep;
			l->ep.tx_blocked = false;
			l->fe_port = d->fe_port;
			l->until = vab_now_ms() + VAB_LINGER_MS;
			l->next = fe->linger;
			fe->linger = l;
			d->ep.fd = -1;
			vab_timer_arm(d->b, NULL,
				      vab_now_ms() + VAB_LINGER_CHECK_MS,
				      vab_linger_check, fe);
		}
	}
	vab_dev_free(d);
	if (fe->txq && !fe->ctrl.tx_blocked)
		vab_ctrl_tx(fe);
	vab_fe_release_unused(fe);
}

/*
 * Register our rings for @fe again where the hypervisor dropped them
 * (Xen removes every ring naming a domain as its partner when that
 * domain dies); retried by vab_fe_check() while the domain is absent.
 */
static void vab_fe_renew(struct vab_frontend *fe)
{
	struct vab *b = fe->b;
	bool again = false, renewed = false;
	uint32_t i;
	int r;

	fe->renew = false;
	if (!b->running || !b->t.renew_ep)
		return;
	for (i = 0; i <= fe->ndevs; i++) {
		struct vab_ep *ep = i < fe->ndevs ? &fe->devs[i]->ep : &fe->ctrl;

		r = b->t.renew_ep(b->t.ctx, ep);
		if (!r)
			renewed = true;
		else if (r != -EEXIST)
			again = true;
	}
	fe->renew = again;
	if (renewed)
		vab_log(VAB_LOG_INFO,
			"frontend %u: our rings for it had gone with its domain: registered again",
			fe->domid);
}

void vab_fe_gone(struct vab_frontend *fe, const char *why)
{
	struct vab *b = fe->b;
	uint32_t i, chains = 0;

	for (i = 0; i < fe->ndevs; i++) {
		struct vab_dev *d = fe->devs[i];

		chains += d->inflight;
		/* The class forgets its chains, they are freed, our ring emptied. */
		vab_dev_detach(d);
		d->ev_config_pending = false;
		d->known = false;
	}
	vab_fe_drop_txq(fe);
	vab_linger_drop(fe, 0);
	fe->hello = false;
	fe->ctrl_port = 0;
	fe->gone++;
	vab_log(VAB_LOG_INFO,
		"frontend %u: gone (%s): its %u device%s reset, %u request%s dropped",
		fe->domid, why, fe->ndevs, fe->ndevs == 1 ? "" : "s", chains,
		chains == 1 ? "" : "s");
	fe->renew = true;
	vab_fe_renew(fe);
	if (fe->renew && b->fe_check_ms)
		vab_timer_arm(b, NULL, vab_now_ms() + b->fe_check_ms,
			      vab_fe_check, fe);
	else
		vab_timer_cancel(b, NULL, vab_fe_check, fe);
}

/*
 * Is the frontend still there?  While it is connected, its control ring
 * must exist (a query of the hypervisor, no message); a frontend whose
 * module was unloaded or whose domain died has none.  Runs from a timer:
 * every fe_check_ms, and at once after a send to it failed.
 */
static void vab_fe_check(struct vab_dev *unused, void *arg)
{
	struct vab_frontend *fe = arg;
	struct vab *b = fe->b;
	uint32_t max;
	int r;

	(void)unused;
	if (fe->hello) {
		r = b->t.max_msg(b->t.ctx, &fe->ctrl, fe->domid, fe->ctrl_port,
				 &max);
		if (r == -ECONNREFUSED || r == -ESRCH) {
			/* It tries to register our rings again itself. */
			vab_fe_gone(fe, r == -ESRCH ? "no such domain" :
				    "its control ring is no more");
			if (vab_fe_release_unused(fe))
				return;
		}
	} else if (fe->renew) {
		vab_fe_renew(fe);
	}
	if (b->fe_check_ms && (fe->hello || fe->renew))
		vab_timer_arm(b, NULL, vab_now_ms() + b->fe_check_ms,
			      vab_fe_check, fe);
}

void vab_announce_exit(struct vab *b)
{
	uint32_t f, i, max;
	bool gone;
	int r;

	for (f = 0; f < b->nfes; f++) {
		struct vab_frontend *fe = b->fes[f];

		if (!fe->hello)
			continue;
		/*
		 * A frontend that went since the last check (its module was
		 * unloaded) has no ring to tell: one line, not a warning per
		 * device.
		 */
		r = b->t.max_msg(b->t.ctx, &fe->ctrl, fe->domid, fe->ctrl_port,
				 &max);
		gone = r == -ECONNREFUSED || r == -ESRCH;
		if (gone)
			vab_fe_log(fe, NULL, VAB_LOG_INFO,
				   "gone: its devices' removal not announced");
		for (i = 0; i < fe->ndevs; i++) {
			if (fe->devs[i]->known && !gone)
				vab_queue_ev_dev(fe->devs[i],
						 VIRTIO_ARGO_T_EV_DEV_REMOVED);
			fe->devs[i]->known = false;
			fe->devs[i]->ev_config_pending = false;
		}
		if (!gone && !fe->ctrl.tx_blocked)
			vab_ctrl_tx(fe);
	}
}

void vab_destroy(struct vab *b)
{
	uint32_t f, i;

	vab_control_close(b);
	vab_config_free(b);
	for (f = 0; f < b->nfes; f++) {
		struct vab_frontend *fe = b->fes[f];

		for (i = 0; i < fe->ndevs; i++) {
			struct vab_dev *d = fe->devs[i];
			unsigned int qi;

			/* Its callbacks, then the class, then its chains. */
			vab_loop_dev_gone(b, d);
			if (d->cls->destroy)
				d->cls->destroy(d);
			vab_dev_drop_chains(d);
			for (qi = 0; qi < d->num_queues; qi++)
				free(d->queues[qi].slots);
			vab_ep_close(b, &d->ep);
			free(d->spec);
			free(d);
		}
		vab_linger_drop(fe, 0);
		vab_ep_close(b, &fe->ctrl);
		vab_fe_drop_txq(fe);
		free(fe);
	}
	vab_loop_free(b);
	free(b->txbuf);
	memset(b, 0, sizeof(*b));
}
