// SPDX-License-Identifier: MIT
/*
 * Host unit tests of virtio-argo-backend's event-loop services (loop.c)
 * and of held chains: chains a device class keeps and completes later,
 * through RESET, DETACH, HELLO again, SIGTERM and destruction.  Like
 * backend_test.c it needs no /dev/argo: messages go straight into the
 * protocol layer, a recording transport keeps what comes back and the
 * completions are checked as a strict frontend would check them.  Watch
 * callbacks are driven with made-up revents through vab_loop_dispatch(),
 * and with real poll() on pipes.  Built with AddressSanitizer and
 * UndefinedBehaviorSanitizer: a use of a freed chain or a leak aborts
 * the run.
 *
 * Prints one KTAP document.  VAB_TEST_LOG=1 shows the backend's log.
 *
 * Copyright (c) 2026 The virtio-argo authors
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../backend.h"
#include "../options.h"
#include "harness.h"

#define FE1		1
#define FE2		2

static const struct vab_transport transport = {
	.send = t_send,
	.max_msg = t_max_msg,
};

/* ---- Frontend side: control --------------------------------------------------- */

static struct vab b;

/*
 * The status of the reply to the @type request sent since sent[@before],
 * or 0xdead unless that reply is the one message sent.
 */
static uint32_t status_of(uint32_t type, size_t before)
{
	const struct msg *m = h_reply(type, before);

	if (nsent != before + 1 || m != &sent[before])
		return 0xdead;
	return vab_get32(m->buf + 8);
}

static uint32_t hello(struct vab_frontend *fe)
{
	return status_of(VIRTIO_ARGO_T_HELLO,
			 h_hello(fe, hello_features, 65536));
}

static uint32_t simple(struct vab_frontend *fe, uint32_t type, uint32_t devh)
{
	struct virtio_argo_hdr h;

	return status_of(type, h_ctrl(fe, type, devh, &h, sizeof(h)));
}

static uint32_t set_status(struct vab_dev *d, uint32_t s)
{
	return status_of(VIRTIO_ARGO_T_SET_STATUS,
			 h_set_status(d->fe, d->handle, s));
}

/*
 * HELLO if needed (devices added after it have no handle), ATTACH if
 * needed, then to DRIVER_OK with every queue of @qsize.
 */
static bool up(struct vab_dev *d, uint16_t qsize)
{
	struct vab_frontend *fe = d->fe;
	uint16_t q;

	if (!fe->hello && hello(fe))
		return false;
	if (!d->attached &&
	    status_of(VIRTIO_ARGO_T_ATTACH,
		      h_attach(fe, d->handle, FE_DATA + d->index, 1U << 20)))
		return false;
	if (status_of(VIRTIO_ARGO_T_SET_FEATURES,
		      h_set_features(fe, d->handle, d->features_offered)))
		return false;
	if (set_status(d, 0x0b))
		return false;
	for (q = 0; q < d->num_queues; q++)
		if (status_of(VIRTIO_ARGO_T_QUEUE_SETUP,
			      h_queue_setup(fe, d->handle, q, qsize,
					    VIRTIO_ARGO_QUEUE_ENABLE)))
			return false;
	if (set_status(d, 0x0f) || d->status != 0x0f)
		return false;
	clear_sent();
	return true;
}

/* ---- Frontend side: chains and completions ----------------------------------- */

#define W	VIRTIO_ARGO_DESC_WRITE
#define MAXDEV	4
#define MAXQ	4
#define MAXID	256

struct comp {
	bool sent;		/* chain sent, not yet completed */
	bool done;
	bool partial;
	uint32_t in_len;	/* of the chain sent */
	uint32_t written;
	uint32_t got;
	uint8_t *buf;
};

/* Completions of frontend FE1's devices, by device index. */
static struct comp comps[MAXDEV][MAXQ][MAXID];
static size_t comp_seen;

static void comps_reset(void)
{
	unsigned int d, q, i;

	for (d = 0; d < MAXDEV; d++) {
		for (q = 0; q < MAXQ; q++) {
			for (i = 0; i < MAXID; i++) {
				free(comps[d][q][i].buf);
				memset(&comps[d][q][i], 0, sizeof(comps[d][q][i]));
			}
		}
	}
	comp_seen = 0;
	comp_bad = false;
}

/* A chain of @n descriptors whose readable bytes are @out, in one record. */
static void chain_to(struct vab_dev *d, uint32_t devh, uint32_t session,
		     uint16_t q, uint16_t id, const struct desc *ds,
		     unsigned int n, const void *out)
{
	static struct bld m;
	uint32_t out_len = 0, in_len = 0;
	unsigned int i;
	size_t len;
	uint8_t *p;

	for (i = 0; i < n; i++) {
		if (ds[i].flags & W)
			in_len += ds[i].len;
		else
			out_len += ds[i].len;
	}
	b_init(&m);
	b_rec(&m, q, id, VIRTIO_ARGO_CHAIN_FIRST | VIRTIO_ARGO_CHAIN_LAST, ds,
	      (uint16_t)n, out_len, in_len, 0, out, out_len);
	p = b_finish(&m, devh, session, &len);
	if (d->fe->domid == FE1 && d->index < MAXDEV && q < MAXQ && id < MAXID) {
		comps[d->index][q][id].sent = true;
		comps[d->index][q][id].in_len = in_len;
	}
	data_send(d, p, len);
}

static void chain(struct vab_dev *d, uint16_t q, uint16_t id,
		  const struct desc *ds, unsigned int n, const void *out)
{
	chain_to(d, d->handle, 1, q, id, ds, n, out);
}

/* Readable-only and writable-only chains of one descriptor. */
static void chain_out(struct vab_dev *d, uint16_t q, uint16_t id,
		      const void *out, uint32_t len)
{
	struct desc ds = { len, 0 };

	chain(d, q, id, &ds, 1, out);
}

static void chain_in(struct vab_dev *d, uint16_t q, uint16_t id, uint32_t len)
{
	struct desc ds = { len, W };

	chain(d, q, id, &ds, 1, NULL);
}

static bool comp_parse(const struct msg *m)
{
	uint32_t nrec, data_off, i, pos = 16, data;
	uint64_t total = 0;
	struct vab_dev *d = NULL;

	for (i = 0; i < b.nfes; i++) {
		struct vab_frontend *fe = b.fes[i];
		uint32_t j;

		for (j = 0; j < fe->ndevs; j++)
			if (m->ep == &fe->devs[j]->ep)
				d = fe->devs[j];
	}
	if (!d)
		return true;	/* a control message */
	if (m->type != VIRTIO_ARGO_T_DATA_COMP ||
	    m->port != FE_DATA + d->index || m->domain != d->fe->domid)
		return comp_fail("type %#x port %#x domain %u", m->type,
				 m->port, m->domain);
	if (m->len < 16 || vab_get32(m->buf) != d->handle ||
	    m->len > d->fe_max_msg)
		return comp_fail("length %zu / handle", m->len);
	if (d->fe->domid != FE1 || d->index >= MAXDEV)
		return true;
	nrec = vab_get16(m->buf + 8);
	data_off = vab_get32(m->buf + 12);
	if (!nrec || data_off != 16 + 24 * nrec || data_off > m->len)
		return comp_fail("nrec %u data_off %u", nrec, data_off);
	for (i = 0; i < nrec; i++)
		total += vab_get32(m->buf + 16 + 24 * i + 16);
	if (total != m->len - data_off)
		return comp_fail("sum of lengths");
	for (i = 0, data = data_off; i < nrec; i++, pos += 24) {
		const uint8_t *r = m->buf + pos;
		uint16_t q = vab_get16(r), flags = vab_get16(r + 2);
		uint16_t id = vab_get16(r + 4);
		uint32_t written = vab_get32(r + 8), off = vab_get32(r + 12);
		uint32_t len = vab_get32(r + 16);
		bool first = flags & VIRTIO_ARGO_CHAIN_FIRST;
		struct comp *c;

		if (q >= MAXQ || id >= MAXID)
			return comp_fail("queue %u id %u", q, id);
		c = &comps[d->index][q][id];
		if (!c->sent)
			return comp_fail("%u:%u:%u not sent or completed twice",
					 d->index, q, id);
		if (first == c->partial || off != c->got)
			return comp_fail("%u:%u:%u flags %#x offset %u", d->index,
					 q, id, flags, off);
		c->buf = realloc(c->buf, c->got + len + 1);
		if (!c->buf)
			abort();
		memcpy(c->buf + c->got, m->buf + data, len);
		c->got += len;
		data += len;
		c->partial = true;
		if (c->got > c->in_len)
			return comp_fail("%u:%u:%u wrote %u of %u", d->index, q,
					 id, c->got, c->in_len);
		if (flags & VIRTIO_ARGO_CHAIN_LAST) {
			if (written != c->got)
				return comp_fail("%u:%u:%u written %u, carried %u",
						 d->index, q, id, written, c->got);
			c->written = written;
			c->done = true;
			c->sent = false;
			c->partial = false;
		} else if (written) {
			return comp_fail("written on a record that is not last");
		}
	}
	return true;
}

static void collect(void)
{
	for (; comp_seen < nsent; comp_seen++)
		comp_parse(&sent[comp_seen]);
}

static struct comp *comp(struct vab_dev *d, uint16_t q, uint16_t id)
{
	collect();
	return &comps[d->index][q][id];
}

/* Completed, with @written bytes. */
static bool done(struct vab_dev *d, uint16_t q, uint16_t id, uint32_t written)
{
	struct comp *c = comp(d, q, id);

	return c->done && c->written == written;
}

/* Forget a completion, so that the id can be used again. */
static void reuse(struct vab_dev *d, uint16_t q, uint16_t id)
{
	struct comp *c = comp(d, q, id);

	free(c->buf);
	memset(c, 0, sizeof(*c));
}

/* ---- A device class that holds every chain ------------------------------------ */

/*
 * "hold": every chain is held until the test releases it (from a timer,
 * as a class would), completed with its readable bytes copied into its
 * writable space.  A chain on queue 1 instead completes the oldest chain
 * held by the device named peer (as a switch passes a frame from one
 * device's transmit queue to another's receive queue) and itself.
 * Every reset, stop and destroy reads the chains it holds, so that one
 * freed too early is a use-after-free that ASan reports.
 */
struct hold {
	struct vab_chain *head, **tail;
	unsigned int n;
	unsigned int resets, stops;
	struct vab_dev *peer;
};

static struct hold *hold_of(struct vab_dev *d)
{
	return d->priv;
}

static int hold_set_prop(struct vab_dev *d, const char *key, const char *val)
{
	(void)d;
	(void)key;
	(void)val;
	return -ENOENT;
}

static int hold_realize(struct vab_dev *d)
{
	struct hold *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->tail = &h->head;
	d->priv = h;
	d->features_offered = 1ULL << VAB_F_VERSION_1;
	d->num_queues = 2;
	d->queue_max[0] = 64;
	d->queue_max[1] = 64;
	return 0;
}

/* Complete @c echoing what it carried, up to its writable size. */
static void hold_finish(struct vab_dev *d, struct vab_chain *c,
			const uint8_t *bytes, uint32_t len)
{
	uint8_t *in = NULL;

	if (len > c->in_len)
		len = c->in_len;
	if (len) {
		in = malloc(len);
		if (!in)
			abort();
		memcpy(in, bytes, len);
	}
	vab_chain_complete(d, c, in, len, len, NULL, 0);
}

static struct vab_chain *hold_pop(struct vab_dev *d)
{
	struct hold *h = hold_of(d);
	struct vab_chain *c = h->head;

	if (c) {
		h->head = c->next;
		if (!h->head)
			h->tail = &h->head;
		h->n--;
	}
	return c;
}

static void hold_request(struct vab_dev *d, struct vab_chain *c)
{
	struct hold *h = hold_of(d);
	struct vab_chain *p;

	if (c->queue == 1) {
		p = h->peer ? hold_pop(h->peer) : NULL;
		if (p)
			hold_finish(h->peer, p, c->out, c->out_len);
		vab_chain_complete(d, c, NULL, 0, 0, NULL, 0);
		return;
	}
	c->next = NULL;
	*h->tail = c;
	h->tail = &c->next;
	h->n++;
}

/*
 * Every chain held is still a live chain of this device: in its slot, or
 * (OUT_NOCOMP) in its list of chains.
 */
static void hold_check(struct vab_dev *d)
{
	struct vab_chain *c, *k;

	for (c = hold_of(d)->head; c; c = c->next) {
		if (c->state != VAB_CHAIN_HELD)
			abort();
		if (!c->nocomp && d->queues[c->queue].slots[c->id] != c)
			abort();
		for (k = d->chains; k && k != c; k = k->dev_next)
			;
		if (!k)
			abort();
	}
}

static void hold_reset(struct vab_dev *d)
{
	struct hold *h = hold_of(d);

	hold_check(d);
	h->head = NULL;
	h->tail = &h->head;
	h->n = 0;
	h->resets++;
}

static void hold_stop(struct vab_dev *d)
{
	struct vab_chain *c;

	hold_check(d);
	hold_of(d)->stops++;
	while ((c = hold_pop(d)))
		hold_finish(d, c, (const uint8_t *)"stopped", 7);
}

static void hold_destroy(struct vab_dev *d)
{
	struct hold *h = hold_of(d);

	if (!h)
		return;
	if (d->queues[0].slots)
		hold_check(d);
	free(h);
	d->priv = NULL;
}

static const struct vab_dev_class hold_class = {
	.name = "hold",
	.device_id = 0x7fff,
	.set_prop = hold_set_prop,
	.realize = hold_realize,
	.request = hold_request,
	.reset = hold_reset,
	.stop = hold_stop,
	.destroy = hold_destroy,
};

/* The same without stop: holding a chain is a bug it cannot recover. */
static const struct vab_dev_class nostop_class = {
	.name = "nostop",
	.device_id = 0x7ffe,
	.set_prop = hold_set_prop,
	.realize = hold_realize,
	.request = hold_request,
	.reset = hold_reset,
	.destroy = hold_destroy,
};

/* Release every chain @d holds: called from a timer, as a class would. */
static void hold_release(struct vab_dev *d, void *arg)
{
	struct vab_chain *c;

	(void)arg;
	while ((c = hold_pop(d)))
		hold_finish(d, c, (const uint8_t *)"released", 8);
}

static struct vab_dev *new_dev(struct vab *v, uint16_t fe,
			       const struct vab_dev_class *cls)
{
	char arg[64];
	uint32_t i;

	snprintf(arg, sizeof(arg), "frontend=%u", fe);
	if (vab_add_device(v, cls, arg))
		return NULL;
	for (i = 0; i < v->nfes; i++)
		if (v->fes[i]->domid == fe)
			return v->fes[i]->devs[v->fes[i]->ndevs - 1];
	return NULL;
}

/* ---- Cases: watches ------------------------------------------------------------- */

struct call {
	struct vab_dev *d;
	int fd;
	short revents;
	void *arg;
};

static struct call calls[64];
static unsigned int ncalls;
static int del_in_cb = -1;	/* fd the next callback deletes */
static int add_in_cb;		/* watches the next callback adds */
static int pipes[8][2];

static void record(struct vab_dev *d, int fd, short revents, void *arg)
{
	if (ncalls < ARRAY_SIZE(calls))
		calls[ncalls++] = (struct call){ d, fd, revents, arg };
	if (del_in_cb >= 0) {
		vab_watch_del(&b, del_in_cb);
		del_in_cb = -1;
	}
	for (; add_in_cb > 0; add_in_cb--)
		CHECK(vab_watch_add(&b, NULL, 1000 + add_in_cb, POLLIN, record,
				    NULL) == 0);
}

static void open_pipes(unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (pipe2(pipes[i], O_NONBLOCK | O_CLOEXEC))
			abort();
}

static void close_pipes(unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		close(pipes[i][0]);
		close(pipes[i][1]);
	}
}

static void t_watch_fill_dispatch(void)
{
	struct pollfd p[16];
	int a, c, e, x = 7;
	unsigned int n;

	open_pipes(3);
	a = pipes[0][0];
	c = pipes[1][0];
	e = pipes[2][1];
	CHECK(vab_loop_fill(&b, p, 16) == 0);
	CHECK(vab_watch_add(&b, NULL, a, POLLIN, record, &x) == 0);
	CHECK(vab_watch_add(&b, NULL, c, 0, record, NULL) == 0);
	CHECK(vab_watch_add(&b, NULL, e, POLLOUT, record, NULL) == 0);
	CHECK(vab_watch_add(&b, NULL, a, POLLOUT, record, NULL) == -EEXIST);
	CHECK(vab_watch_add(&b, NULL, -1, POLLIN, record, NULL) == -EINVAL);
	CHECK(vab_watch_add(&b, NULL, 99, POLLIN, NULL, NULL) == -EINVAL);

	/* Too small: the number needed, nothing written. */
	p[0].fd = -7;
	CHECK(vab_loop_fill(&b, p, 2) == 3 && p[0].fd == -7);
	n = vab_loop_fill(&b, p, 16);
	CHECK(n == 3);
	CHECK(p[0].fd == a && p[0].events == POLLIN && !p[0].revents);
	CHECK(p[1].fd == -1);			/* paused: not polled */
	CHECK(p[2].fd == e && p[2].events == POLLOUT);

	/* Only the events asked for, plus errors, reach the callback. */
	p[0].revents = POLLOUT;
	p[2].revents = POLLOUT | POLLIN;
	ncalls = 0;
	vab_loop_dispatch(&b, p, n);
	CHECK(ncalls == 1 && calls[0].fd == e && calls[0].revents == POLLOUT);
	p[0].revents = POLLIN | POLLHUP;
	p[2].revents = POLLERR;
	ncalls = 0;
	vab_loop_dispatch(&b, p, n);
	CHECK(ncalls == 2 && calls[0].fd == a && calls[0].arg == &x &&
	      calls[0].revents == (POLLIN | POLLHUP) && !calls[0].d);
	CHECK(calls[1].fd == e && calls[1].revents == POLLERR);

	/* Paused after the fill: not called. */
	vab_watch_events(&b, a, 0);
	vab_watch_events(&b, 12345, POLLIN);	/* unknown: ignored */
	p[0].revents = POLLIN;
	p[2].revents = 0;
	ncalls = 0;
	vab_loop_dispatch(&b, p, n);
	CHECK(ncalls == 0);
	vab_watch_events(&b, a, POLLIN | POLLOUT);
	n = vab_loop_fill(&b, p, 16);
	CHECK(p[0].fd == a && p[0].events == (POLLIN | POLLOUT));

	/* Deleted by an earlier callback of the same turn: not called. */
	vab_watch_events(&b, c, POLLIN);
	n = vab_loop_fill(&b, p, 16);
	p[0].revents = POLLIN;
	p[1].revents = POLLIN;
	p[2].revents = POLLOUT;
	del_in_cb = e;
	ncalls = 0;
	vab_loop_dispatch(&b, p, n);
	CHECK(ncalls == 2 && calls[0].fd == a && calls[1].fd == c);
	CHECK(vab_loop_fill(&b, p, 16) == 2);	/* its slot is gone */

	/* A callback deleting itself, and adding many (the array moves). */
	n = vab_loop_fill(&b, p, 16);
	p[0].revents = POLLIN;
	p[1].revents = POLLIN;
	del_in_cb = a;
	add_in_cb = 12;
	ncalls = 0;
	vab_loop_dispatch(&b, p, n);
	CHECK(ncalls == 2 && calls[0].fd == a && calls[1].fd == c);
	n = vab_loop_fill(&b, p, 16);
	CHECK(n == 13 && p[0].fd == c && p[1].fd == 1012 && p[12].fd == 1001);
	/* The new ones are polled from the next turn on, in order. */
	p[1].revents = POLLIN;
	ncalls = 0;
	vab_loop_dispatch(&b, p, n);
	CHECK(ncalls == 1 && calls[0].fd == 1012);
	for (n = 1; n <= 12; n++)
		vab_watch_del(&b, 1000 + (int)n);
	vab_watch_del(&b, c);
	vab_watch_del(&b, c);			/* twice: no-op */
	CHECK(vab_loop_fill(&b, p, 16) == 0);
	/* The same fd again, after deletion. */
	CHECK(vab_watch_add(&b, NULL, c, POLLIN, record, NULL) == 0);
	vab_watch_del(&b, c);
	close_pipes(3);
}

/* A descriptor closed under its watch: reported once, never a busy loop. */
static void t_watch_nval(void)
{
	struct pollfd p[4];
	unsigned int n;

	open_pipes(1);
	CHECK(vab_watch_add(&b, NULL, pipes[0][0], POLLIN, record, NULL) == 0);
	close(pipes[0][0]);
	n = vab_loop_fill(&b, p, 4);
	CHECK(n == 1 && poll(p, n, 0) == 1 && (p[0].revents & POLLNVAL));
	ncalls = 0;
	vab_loop_dispatch(&b, p, n);
	CHECK(ncalls == 1 && (calls[0].revents & POLLNVAL));
	CHECK(vab_loop_fill(&b, p, 4) == 0);
	close(pipes[0][1]);
}

/* Through real poll(): readable and writable ends of pipes. */
static void t_watch_real_poll(void)
{
	struct pollfd p[4];
	unsigned int n;
	char c = 'x';

	open_pipes(2);
	CHECK(vab_watch_add(&b, NULL, pipes[0][0], POLLIN, record, NULL) == 0);
	CHECK(vab_watch_add(&b, NULL, pipes[1][1], POLLOUT, record, NULL) == 0);
	n = vab_loop_fill(&b, p, 4);
	CHECK(poll(p, n, 0) == 1);		/* only the writable end */
	ncalls = 0;
	vab_loop_dispatch(&b, p, n);
	CHECK(ncalls == 1 && calls[0].fd == pipes[1][1]);
	CHECK(write(pipes[0][1], &c, 1) == 1);
	vab_watch_events(&b, pipes[1][1], 0);
	n = vab_loop_fill(&b, p, 4);
	CHECK(poll(p, n, 0) == 1);
	ncalls = 0;
	vab_loop_dispatch(&b, p, n);
	CHECK(ncalls == 1 && calls[0].fd == pipes[0][0] &&
	      calls[0].revents == POLLIN);
	vab_watch_del(&b, pipes[0][0]);
	vab_watch_del(&b, pipes[1][1]);
	close_pipes(2);
}

/* ---- Cases: timers ---------------------------------------------------------------- */

static char order[32];
static unsigned int norder;
static int rearm_self;		/* timer 'r' re-arms itself this often */

static void tick(struct vab_dev *d, void *arg)
{
	char tag = *(char *)arg;

	(void)d;
	if (norder < sizeof(order) - 1)
		order[norder++] = tag;
	if (tag == 'c')		/* cancels 'd', arms 'e' for now */
		vab_timer_cancel(&b, NULL, tick, (void *)"d");
	if (tag == 'c')
		CHECK(vab_timer_arm(&b, NULL, vab_now_ms() - 100, tick,
				    (void *)"e") == 0);
	if (tag == 'r' && rearm_self-- > 0)
		CHECK(vab_timer_arm(&b, NULL, vab_now_ms(), tick,
				    (void *)"r") == 0);
}

static void t_timers(void)
{
	int64_t now = vab_now_ms();
	int t;

	CHECK(vab_loop_timeout(&b, -1) == -1 && vab_loop_timeout(&b, 7) == 7);
	CHECK(vab_timer_arm(&b, NULL, now, NULL, NULL) == -EINVAL);
	CHECK(vab_timer_arm(&b, NULL, now + 100000, tick, (void *)"z") == 0);
	t = vab_loop_timeout(&b, -1);
	CHECK(t > 99000 && t <= 100000);
	CHECK(vab_loop_timeout(&b, 50) == 50);
	CHECK(vab_timer_arm(&b, NULL, now - 5, tick, (void *)"b") == 0);
	CHECK(vab_timer_arm(&b, NULL, now - 10, tick, (void *)"a") == 0);
	CHECK(vab_timer_arm(&b, NULL, now - 5, tick, (void *)"c") == 0);
	CHECK(vab_timer_arm(&b, NULL, now - 1, tick, (void *)"d") == 0);
	CHECK(vab_timer_arm(&b, NULL, now - 1000, tick, (void *)"x") == 0);
	vab_timer_cancel(&b, NULL, tick, (void *)"x");
	vab_timer_cancel(&b, NULL, tick, (void *)"x");	/* no-op */
	CHECK(vab_loop_timeout(&b, -1) == 0);
	norder = 0;
	vab_loop_run_timers(&b);
	order[norder] = 0;
	/*
	 * Due ones by time, then arming order; 'c' cancelled 'd'; 'e'
	 * was armed during the turn and waits for the next.
	 */
	CHECK(!strcmp(order, "abc"));
	CHECK(vab_loop_timeout(&b, -1) == 0);
	norder = 0;
	vab_loop_run_timers(&b);
	order[norder] = 0;
	CHECK(!strcmp(order, "e"));
	/* Re-arming moves a timer: 'z' now due, once. */
	CHECK(vab_timer_arm(&b, NULL, now - 1, tick, (void *)"z") == 0);
	norder = 0;
	vab_loop_run_timers(&b);
	vab_loop_run_timers(&b);
	order[norder] = 0;
	CHECK(!strcmp(order, "z"));
	CHECK(vab_loop_timeout(&b, -1) == -1);
	/* A timer re-arming itself for now runs once per turn. */
	rearm_self = 3;
	CHECK(vab_timer_arm(&b, NULL, now, tick, (void *)"r") == 0);
	norder = 0;
	vab_loop_run_timers(&b);
	order[norder] = 0;
	CHECK(!strcmp(order, "r"));
	vab_loop_run_timers(&b);
	vab_loop_run_timers(&b);
	vab_loop_run_timers(&b);
	vab_loop_run_timers(&b);
	order[norder] = 0;
	CHECK(!strcmp(order, "rrrr"));
	CHECK(vab_loop_timeout(&b, -1) == -1);
}

/* A device's watches and timers go with it; others stay. */
static void t_dev_gone(void)
{
	struct vab_dev *d = new_dev(&b, FE1, &hold_class);
	struct pollfd p[4];

	open_pipes(2);
	CHECK(d);
	CHECK(vab_watch_add(&b, d, pipes[0][0], POLLIN, record, NULL) == 0);
	CHECK(vab_watch_add(&b, NULL, pipes[1][0], POLLIN, record, NULL) == 0);
	CHECK(vab_timer_arm(&b, d, vab_now_ms(), tick, (void *)"g") == 0);
	CHECK(vab_timer_arm(&b, NULL, vab_now_ms() + 60000, tick,
			    (void *)"h") == 0);
	vab_loop_dev_gone(&b, d);
	CHECK(vab_loop_fill(&b, p, 4) == 1 && p[0].fd == pipes[1][0]);
	CHECK(vab_loop_timeout(&b, -1) > 1000);
	/* And everything left is freed with the backend (ASan: no leak). */
	CHECK(vab_watch_add(&b, d, pipes[0][0], POLLIN, record, NULL) == 0);
	CHECK(vab_timer_arm(&b, d, vab_now_ms(), tick, (void *)"g") == 0);
	vab_destroy(&b);
	CHECK(!b.loop);
	close_pipes(2);
}

/* ---- Cases: held chains ------------------------------------------------------------ */

static struct vab_dev *hd, *hd2;	/* FE1's hold devices */

static bool hold_setup(void)
{
	hd = new_dev(&b, FE1, &hold_class);
	hd2 = new_dev(&b, FE1, &hold_class);
	return hd && hd2 && new_dev(&b, FE2, &hold_class) && up(hd, 64);
}

/* Held, then completed from a timer: the completion goes out. */
static void t_held_complete_later(void)
{
	static const char out[] = "abc";
	struct desc ds[2] = { { 3, 0 }, { 16, W } };

	CHECK(hold_setup());
	chain(hd, 0, 5, ds, 2, out);
	chain_in(hd, 0, 6, 4);
	CHECK(hold_of(hd)->n == 2 && hd->inflight == 2);
	CHECK(nsent == 0 && vab_idle(&b));
	CHECK(vab_timer_arm(&b, hd, vab_now_ms(), hold_release, NULL) == 0);
	vab_loop_run_timers(&b);
	CHECK(done(hd, 0, 5, 8) && !memcmp(comp(hd, 0, 5)->buf, "released", 8));
	CHECK(done(hd, 0, 6, 4) && !memcmp(comp(hd, 0, 6)->buf, "rele", 4));
	CHECK(!comp_bad && hd->inflight == 0 && hd->mem_used == 0);
	/* The id is free again. */
	reuse(hd, 0, 5);
	chain_in(hd, 0, 5, 1);
	CHECK(hold_of(hd)->n == 1);
	/* A duplicate of a held chain is refused; the held one stays. */
	chain_in(hd, 0, 5, 1);
	CHECK(hold_of(hd)->n == 1 && hd->stats.malformed == 1);
	/* From a watch callback, too. */
	open_pipes(1);
	CHECK(vab_watch_add(&b, hd, pipes[0][0], POLLIN, record, NULL) == 0);
	{
		struct pollfd p[2];
		unsigned int n = vab_loop_fill(&b, p, 2);

		p[0].revents = POLLIN;
		hold_release(hd, NULL);	/* outside any pump: not sent yet */
		CHECK(!comp(hd, 0, 5)->done && hd->kick);
		vab_loop_dispatch(&b, p, n);	/* kicks after the callback */
		CHECK(done(hd, 0, 5, 1));
	}
	close_pipes(1);
}

/* A chain of one device completing another's held chain (a switch). */
static void t_held_cross_device(void)
{
	struct vab_dev *d2;

	CHECK(hold_setup());
	d2 = hd2;
	CHECK(up(d2, 64));
	hold_of(d2)->peer = hd;
	chain_in(hd, 0, 1, 64);
	chain_in(hd, 0, 2, 64);
	chain_out(d2, 1, 9, "frame", 5);
	CHECK(done(d2, 1, 9, 0));
	CHECK(done(hd, 0, 1, 5) && !memcmp(comp(hd, 0, 1)->buf, "frame", 5));
	CHECK(!comp(hd, 0, 2)->done && hold_of(hd)->n == 1);
	CHECK(!comp_bad);
}

/* RESET, DETACH, HELLO again: the class lets go first, nothing is sent. */
static void t_held_reset(void)
{
	CHECK(hold_setup());
	hold_of(hd)->resets = 0;	/* the HELLO's */
	chain_in(hd, 0, 1, 8);
	chain_in(hd, 0, 2, 8);
	CHECK(simple(hd->fe, VIRTIO_ARGO_T_RESET, hd->handle) == 0);
	CHECK(hold_of(hd)->resets == 1 && hold_of(hd)->n == 0);
	CHECK(hd->inflight == 0 && hd->mem_used == 0);
	clear_sent();
	comps_reset();
	CHECK(up(hd, 64));
	chain_in(hd, 0, 1, 8);
	CHECK(simple(hd->fe, VIRTIO_ARGO_T_DETACH, hd->handle) == 0);
	CHECK(hold_of(hd)->resets == 2 && hd->inflight == 0);
	clear_sent();
	comps_reset();
	CHECK(up(hd, 64));
	chain_in(hd, 0, 3, 8);
	chain_in(hd, 0, 4, 8);
	CHECK(hello(hd->fe) == 0);
	CHECK(hold_of(hd)->resets == 3 && hd->inflight == 0 &&
	      hd->mem_used == 0);
	/* Nothing of the old session is sent, before or after. */
	vab_kick(&b);
	collect();
	CHECK(nsent == 1 && !comp_bad);		/* the HELLO reply */
	/* Held chains at destruction are freed (ASan: no leak). */
	clear_sent();
	comps_reset();
	CHECK(up(hd, 64));
	chain_in(hd, 0, 7, 8);
}

/* SIGTERM: the class completes what it holds, the backend goes idle. */
static void t_held_stop(void)
{
	CHECK(hold_setup());
	chain_in(hd, 0, 1, 8);
	chain_in(hd, 0, 2, 3);
	eagain_always = true;		/* the frontend's ring is full */
	vab_stop(&b);
	CHECK(hold_of(hd)->stops == 1 && hold_of(hd)->n == 0);
	CHECK(!vab_idle(&b));
	eagain_always = false;
	vab_dev_tx(hd);
	CHECK(done(hd, 0, 1, 7) && !memcmp(comp(hd, 0, 1)->buf, "stopped", 7));
	CHECK(done(hd, 0, 2, 3));
	CHECK(vab_idle(&b) && hd->inflight == 0);
	/* Nothing is taken any more. */
	chain_in(hd, 0, 3, 8);
	CHECK(hd->inflight == 0 && hold_of(hd)->n == 0);
	CHECK(!comp_bad);
}

/* A class without stop that holds a chain: a bug, the chain fails. */
static void t_held_without_stop(void)
{
	struct vab_dev *d = new_dev(&b, FE1, &nostop_class);

	CHECK(d && up(d, 64));
	chain_in(d, 0, 1, 8);
	CHECK(done(d, 0, 1, 0) && d->inflight == 0 &&
	      d->stats.chains_failed == 1);
	/* It does hold pointers now, so clear them before destruction. */
	hold_of(d)->head = NULL;
	hold_of(d)->n = 0;
}

/*
 * OUT_NOCOMP: chains without writable bytes give their id back once whole
 * and are freed, not completed, by vab_chain_complete(): held ones when
 * the class completes them, others within request() (queue 1 here).
 * Chains with writable bytes are completed as always.
 */
static void t_held_nocomp(void)
{
	struct vab_chain *c;

	hello_features = VIRTIO_ARGO_F_OUT_NOCOMP;
	CHECK(hold_setup() && hd->fe->features == VIRTIO_ARGO_F_OUT_NOCOMP);
	chain_out(hd, 0, 5, "abc", 3);
	CHECK(hold_of(hd)->n == 1 && hd->inflight == 1 && hd->mem_used > 0);
	CHECK(!hd->queues[0].slots[5]);
	/* Its id again while the first is held: a new chain, not a duplicate. */
	chain_out(hd, 0, 5, "defg", 4);
	chain_in(hd, 0, 6, 4);
	CHECK(hold_of(hd)->n == 3 && hd->inflight == 3);
	CHECK(hd->stats.malformed == 0 && hd->queues[0].slots[6]);
	/* In order, as sent. */
	c = hold_of(hd)->head;
	CHECK(c && c->out_len == 3 && c->next && c->next->out_len == 4 &&
	      c->next->next && c->next->next->id == 6);
	/* Completed inside request(): freed there. */
	chain_out(hd, 1, 9, "now", 3);
	chain_out(hd, 1, 9, "again", 5);
	CHECK(hd->inflight == 3 && hd->stats.chains_nocomp == 2);
	CHECK(nsent == 0 && vab_idle(&b));
	/* Released from a timer: only the writable chain is answered. */
	CHECK(vab_timer_arm(&b, hd, vab_now_ms(), hold_release, NULL) == 0);
	vab_loop_run_timers(&b);
	CHECK(done(hd, 0, 6, 4) && !memcmp(comp(hd, 0, 6)->buf, "rele", 4));
	CHECK(!comp(hd, 0, 5)->done && !comp(hd, 1, 9)->done);
	CHECK(nsent == 1 && !comp_bad && hd->stats.chains_nocomp == 4);
	CHECK(hd->inflight == 0 && hd->mem_used == 0 && !hd->chains);
	/* The frontend again, without the feature: completed. */
	hello_features = 0;
	CHECK(hello(hd->fe) == 0 && hd->fe->features == 0);
	clear_sent();
	comps_reset();
	CHECK(up(hd, 64));
	chain_out(hd, 1, 9, "x", 1);
	CHECK(done(hd, 1, 9, 0) && hd->stats.chains_nocomp == 4);
	CHECK(!comp_bad);
}

/*
 * Held nocomp chains through RESET, DETACH, HELLO again, hot removal,
 * SIGTERM, exit.
 */
static void t_held_nocomp_lifecycle(void)
{
	hello_features = VIRTIO_ARGO_F_OUT_NOCOMP;
	CHECK(hold_setup());
	hold_of(hd)->resets = 0;
	chain_out(hd, 0, 1, "a", 1);
	chain_out(hd, 0, 1, "b", 1);
	chain_in(hd, 0, 2, 8);
	CHECK(simple(hd->fe, VIRTIO_ARGO_T_RESET, hd->handle) == 0);
	CHECK(hold_of(hd)->resets == 1 && hold_of(hd)->n == 0);
	CHECK(hd->inflight == 0 && hd->mem_used == 0 && !hd->chains);
	clear_sent();
	comps_reset();
	CHECK(up(hd, 64));
	chain_out(hd, 0, 1, "a", 1);
	chain_out(hd, 0, 1, "b", 1);
	CHECK(simple(hd->fe, VIRTIO_ARGO_T_DETACH, hd->handle) == 0);
	CHECK(hold_of(hd)->resets == 2 && hd->inflight == 0 && !hd->chains);
	clear_sent();
	comps_reset();
	CHECK(up(hd, 64));
	chain_out(hd, 0, 1, "a", 1);
	chain_out(hd, 0, 1, "b", 1);
	/* HELLO again, now without the feature: it is off for new chains. */
	hello_features = 0;
	CHECK(hello(hd->fe) == 0 && hd->fe->features == 0);
	CHECK(hold_of(hd)->resets == 3 && hd->inflight == 0 &&
	      hd->mem_used == 0);
	clear_sent();
	comps_reset();
	CHECK(up(hd, 64));
	chain_out(hd, 0, 1, "c", 1);
	CHECK(hd->queues[0].slots[1] && !hd->queues[0].slots[1]->nocomp);
	hello_features = VIRTIO_ARGO_F_OUT_NOCOMP;
	CHECK(hello(hd->fe) == 0 && hd->fe->features);
	clear_sent();
	comps_reset();
	CHECK(up(hd, 64));
	/* Hot removal: the class's stop frees them with the device. */
	CHECK(up(hd2, 64));
	chain_out(hd2, 0, 1, "a", 1);
	chain_out(hd2, 0, 1, "b", 1);
	CHECK(hd2->inflight == 2 && hold_of(hd2)->n == 2);
	vab_dev_remove(hd2);
	hd2 = NULL;
	CHECK(hd->fe->ndevs == 1);
	/* SIGTERM: stop frees them, nothing is sent, idle at once. */
	chain_out(hd, 0, 1, "a", 1);
	chain_out(hd, 0, 1, "b", 1);
	chain_in(hd, 0, 3, 8);
	vab_stop(&b);
	CHECK(hold_of(hd)->stops == 1 && hold_of(hd)->n == 0);
	CHECK(done(hd, 0, 3, 7) && !comp(hd, 0, 1)->done && nsent == 1);
	CHECK(hd->inflight == 0 && vab_idle(&b) && !comp_bad);
	/* Held at destruction: freed (ASan: no leak). */
	vab_destroy(&b);
	vab_init(&b, 0, &transport);
	clear_sent();
	comps_reset();
	CHECK(hold_setup());
	chain_out(hd, 0, 1, "a", 1);
	chain_out(hd, 0, 1, "b", 1);
	CHECK(hd->inflight == 2);
}

/* ---- Cases: virtio-rng ------------------------------------------------------------- */

/* The event loop for @ms milliseconds, as main.c runs it. */
static void run_loop(int ms)
{
	int64_t end = vab_now_ms() + ms;
	struct pollfd p[64];

	for (;;) {
		int64_t left = end - vab_now_ms();
		unsigned int n;

		if (left <= 0)
			break;
		n = vab_loop_fill(&b, p, ARRAY_SIZE(p));
		if (n > ARRAY_SIZE(p))
			abort();
		if (poll(p, n, vab_loop_timeout(&b, (int)left)) > 0)
			vab_loop_dispatch(&b, p, n);
		vab_loop_run_timers(&b);
	}
}

static struct vab_dev *rng_dev(uint16_t fe, const char *props)
{
	char arg[128];
	uint32_t i;

	snprintf(arg, sizeof(arg), "frontend=%u%s%s", fe, *props ? "," : "",
		 props);
	if (vab_add_device(&b, &vab_rng_class, arg))
		return NULL;
	for (i = 0; i < b.nfes; i++)
		if (b.fes[i]->domid == fe)
			return b.fes[i]->devs[b.fes[i]->ndevs - 1];
	return NULL;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

static void t_rng_fills(void)
{
	struct vab_dev *d = rng_dev(FE1, "");
	struct desc three[3] = { { 16, W }, { 1, W }, { 31, W } };

	CHECK(d && d->cls->device_id == 4 && d->num_queues == 1 &&
	      d->config_len == 0 && d->features_offered == 1ULL << 32);
	CHECK(d && up(d, 64));
	if (!d || !d->status)
		return;
	chain_in(d, 0, 0, 32);
	chain_in(d, 0, 1, 32);
	chain(d, 0, 2, three, 3, NULL);
	CHECK(done(d, 0, 0, 32) && done(d, 0, 1, 32) && done(d, 0, 2, 48));
	CHECK(!all_zero(comp(d, 0, 0)->buf, 32));
	CHECK(memcmp(comp(d, 0, 0)->buf, comp(d, 0, 1)->buf, 32));
	/* A huge buffer gets a chunk of it. */
	chain_in(d, 0, 3, VIRTIO_ARGO_MAX_CHAIN_BYTES);
	CHECK(done(d, 0, 3, 64U << 10));
	CHECK(!all_zero(comp(d, 0, 3)->buf + (60U << 10), 4096));
	CHECK(d->stats.malformed == 0 && d->inflight == 0 && !comp_bad);
}

/* Readable bytes, no writable byte: malformed, completed empty. */
static void t_rng_malformed(void)
{
	struct vab_dev *d = rng_dev(FE1, "");
	struct desc mixed[2] = { { 4, 0 }, { 16, W } };
	struct desc zero[1] = { { 0, W } };
	struct desc zeros[2] = { { 0, 0 }, { 0, W } };

	CHECK(d && up(d, 64));
	if (!d || !d->status)
		return;
	chain_out(d, 0, 0, "abcd", 4);
	chain(d, 0, 1, mixed, 2, "abcd");
	chain(d, 0, 2, zero, 1, NULL);
	chain(d, 0, 3, zeros, 2, NULL);
	chain_out(d, 0, 4, NULL, 0);
	CHECK(done(d, 0, 0, 0) && done(d, 0, 1, 0) && done(d, 0, 2, 0) &&
	      done(d, 0, 3, 0) && done(d, 0, 4, 0));
	CHECK(d->stats.malformed == 5 && d->fe->malformed == 5);
	/* A huge readable chain: the same, and nothing kept of it. */
	{
		uint8_t *big = calloc(1, 1U << 20);

		CHECK(big);
		if (big)
			chain_out(d, 0, 5, big, 1U << 20);
		free(big);
	}
	CHECK(done(d, 0, 5, 0) && d->mem_used == 0);
	/* Still serves. */
	chain_in(d, 0, 6, 8);
	CHECK(done(d, 0, 6, 8) && d->inflight == 0 && !comp_bad);
}

/* rate=1000,burst=100: 100 at once, then 1 byte per ms, in order. */
static void t_rng_rate_limit(void)
{
	struct vab_dev *d = rng_dev(FE1, "rate=1000,burst=100");
	struct vab_dev *free_dev = rng_dev(FE1, "");
	int64_t start = vab_now_ms(), elapsed;
	uint32_t total = 0, i;
	int t;

	CHECK(d && free_dev && up(d, 64) && up(free_dev, 64));
	if (!d || !d->status || !free_dev->status)
		return;
	chain_in(d, 0, 0, 64);
	CHECK(done(d, 0, 0, 64));
	chain_in(d, 0, 1, 64);			/* 36 left: held */
	chain_in(d, 0, 2, 8);			/* behind it, though 8 fit */
	CHECK(!comp(d, 0, 1)->done && !comp(d, 0, 2)->done);
	CHECK(d->inflight == 2);
	t = vab_loop_timeout(&b, -1);
	CHECK(t >= 1 && t <= 29);		/* 28 bytes at 1 per ms */
	/* Another device is not limited by it. */
	chain_in(free_dev, 0, 0, 4096);
	CHECK(done(free_dev, 0, 0, 4096));
	run_loop(60);
	CHECK(done(d, 0, 1, 64) && done(d, 0, 2, 8));
	/* A chain larger than the bucket gets the bucket, once full. */
	chain_in(d, 0, 3, 1000);
	CHECK(!comp(d, 0, 3)->done);
	run_loop(150);
	CHECK(done(d, 0, 3, 100));
	/* However fast it asks, no more than burst + rate * t. */
	for (i = 0; i < 32; i++)
		chain_in(d, 0, (uint16_t)(10 + i), 50);
	run_loop(200);
	elapsed = vab_now_ms() - start;
	for (i = 0; i < 64; i++)
		if (comp(d, 0, (uint16_t)i)->done)
			total += comp(d, 0, (uint16_t)i)->written;
	CHECK(total <= 100 + elapsed + 1);
	CHECK(total >= 64 + 8 + 100 + 50);	/* and it does give */
	CHECK(d->stats.malformed == 0 && !comp_bad);
}

/* Held chains through RESET, HELLO again and SIGTERM. */
static void t_rng_held_lifecycle(void)
{
	struct vab_dev *d = rng_dev(FE1, "rate=1,burst=1");

	CHECK(d && up(d, 64));
	if (!d || !d->status)
		return;
	chain_in(d, 0, 0, 8);
	CHECK(done(d, 0, 0, 1));
	chain_in(d, 0, 1, 8);
	chain_in(d, 0, 2, 8);
	CHECK(d->inflight == 2 && vab_loop_timeout(&b, -1) > 500);
	CHECK(simple(d->fe, VIRTIO_ARGO_T_RESET, d->handle) == 0);
	CHECK(d->inflight == 0 && d->mem_used == 0);
	CHECK(vab_loop_timeout(&b, -1) == -1);	/* timer gone */
	clear_sent();
	comps_reset();
	CHECK(up(d, 64));
	chain_in(d, 0, 1, 8);			/* the bucket is still empty */
	CHECK(d->inflight == 1);
	CHECK(hello(d->fe) == 0 && d->inflight == 0);
	CHECK(vab_loop_timeout(&b, -1) == -1);
	clear_sent();
	comps_reset();
	CHECK(up(d, 64));
	chain_in(d, 0, 4, 8);
	chain_in(d, 0, 5, 8);
	CHECK(d->inflight == 2);
	vab_stop(&b);
	CHECK(done(d, 0, 4, 0) && done(d, 0, 5, 0));
	CHECK(d->inflight == 0 && vab_idle(&b) && !comp_bad);
	CHECK(vab_loop_timeout(&b, -1) == -1);
}

/* Chains held at destruction are freed (ASan: no leak). */
static void t_rng_held_destroy(void)
{
	struct vab_dev *d = rng_dev(FE1, "rate=1,burst=1");

	CHECK(d && up(d, 64));
	if (!d || !d->status)
		return;
	chain_in(d, 0, 0, 8);
	chain_in(d, 0, 1, 8);
	chain_in(d, 0, 2, 8);
	CHECK(d->inflight == 2);
}

static void t_rng_options(void)
{
	static const char *const bad[] = {
		"rate=x", "rate=-1", "rate=2G", "rate=2048M", "burst=0",
		"burst=10", "rate=10,burst=0", "rate=10,burst=2048M",
		"rate=10,rate=20", "bogus=1", "file=/dev/null",
	};
	unsigned int i;
	struct vab_dev *d;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		vab_init(&b, 0, &transport);
		if (rng_dev(FE1, bad[i])) {
			printf("    # accepted: %s\n", bad[i]);
			case_failed = 1;
		}
		vab_destroy(&b);
	}
	vab_init(&b, 0, &transport);
	d = rng_dev(FE1, "rate=4K,ring-size=16K");
	CHECK(d && d->ep.ring_size == 16384);
	d = rng_dev(FE1, "rate=0");
	CHECK(d);
	d = rng_dev(FE2, "rate=1M,burst=1K");
	CHECK(d && d->index == 0);
}

/* ---- Cases: virtio-console ----------------------------------------------------------- */

#define RXQ	0
#define TXQ	1

static char tmpdir[64];
static char sock_path[128];

static void mk_tmpdir(void)
{
	if (!h_mkdtemp(tmpdir, sizeof(tmpdir), "vab-con"))
		abort();
	snprintf(sock_path, sizeof(sock_path), "%s/console.sock", tmpdir);
}

static void rm_tmpdir(void)
{
	h_rmtree(tmpdir, "    ");
}

static struct vab_dev *con_dev(uint16_t fe, const char *props)
{
	char arg[256];
	uint32_t i;

	snprintf(arg, sizeof(arg), "frontend=%u,%s", fe, props);
	if (vab_add_device(&b, &vab_console_class, arg))
		return NULL;
	for (i = 0; i < b.nfes; i++)
		if (b.fes[i]->domid == fe)
			return b.fes[i]->devs[b.fes[i]->ndevs - 1];
	return NULL;
}

/* A console on a socket in the temporary directory, up to DRIVER_OK. */
static struct vab_dev *con_socket(void)
{
	char props[160];
	struct vab_dev *d;

	snprintf(props, sizeof(props), "socket=%s", sock_path);
	d = con_dev(FE1, props);
	if (!d || !up(d, 64))
		return NULL;
	return d;
}

/* A connected client (non-blocking), accepted by the backend. */
static int client(void)
{
	struct sockaddr_un a;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	memcpy(a.sun_path, sock_path, strlen(sock_path));
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    fcntl(fd, F_SETFL, O_NONBLOCK))
		abort();
	run_loop(10);
	return fd;
}

/* Everything readable on @fd now, appended to @buf (of @cap). */
static size_t drain(int fd, uint8_t *buf, size_t len, size_t cap)
{
	for (;;) {
		ssize_t n = read(fd, buf + len, cap - len);

		if (n <= 0 || (size_t)n == cap - len)
			return n > 0 ? len + (size_t)n : len;
		len += (size_t)n;
	}
}

/* Read and count everything readable on @fd now. */
static size_t discard(int fd)
{
	uint8_t sink[65536];
	size_t n = 0;
	ssize_t r;

	while ((r = read(fd, sink, sizeof(sink))) > 0)
		n += (size_t)r;
	return n;
}

static void t_con_device(void)
{
	struct vab_dev *d;

	mk_tmpdir();
	d = con_socket();
	CHECK(d && d->cls->device_id == 3 && d->num_queues == 2);
	CHECK(d && d->features_offered == 1ULL << 32 && d->config_len == 8);
	/* cols, rows 0 (no F_SIZE); max_nr_ports 1 (no F_MULTIPORT). */
	CHECK(d && vab_get32(d->config) == 0 && vab_get32(d->config + 4) == 1);
	CHECK(access(sock_path, F_OK) == 0);
	vab_destroy(&b);
	CHECK(access(sock_path, F_OK) != 0);	/* removed at exit */
	rm_tmpdir();
}

static void t_con_socket_both_ways(void)
{
	struct vab_dev *d;
	uint8_t got[64];
	size_t n;
	int c;

	mk_tmpdir();
	d = con_socket();
	CHECK(d);
	if (!d)
		goto out;
	/* No client: output is discarded but completed, input held. */
	chain_out(d, TXQ, 0, "lost", 4);
	CHECK(done(d, TXQ, 0, 0));
	chain_in(d, RXQ, 0, 16);
	chain_in(d, RXQ, 1, 16);
	run_loop(5);
	CHECK(!comp(d, RXQ, 0)->done);
	c = client();
	CHECK(write(c, "hello", 5) == 5);
	run_loop(10);
	CHECK(done(d, RXQ, 0, 5) && !memcmp(comp(d, RXQ, 0)->buf, "hello", 5));
	CHECK(!comp(d, RXQ, 1)->done);
	chain_out(d, TXQ, 1, "world", 5);
	CHECK(done(d, TXQ, 1, 0));		/* written at once */
	n = drain(c, got, 0, sizeof(got));
	CHECK(n == 5 && !memcmp(got, "world", 5));	/* "lost" is gone */
	/* A chain is filled with what there is, up to its size. */
	CHECK(write(c, "0123456789abcdefXYZ", 19) == 19);
	chain_in(d, RXQ, 2, 16);
	run_loop(10);
	CHECK(done(d, RXQ, 1, 16) && !memcmp(comp(d, RXQ, 1)->buf,
					     "0123456789abcdef", 16));
	CHECK(done(d, RXQ, 2, 3) && !memcmp(comp(d, RXQ, 2)->buf, "XYZ", 3));
	CHECK(!comp_bad && d->stats.malformed == 0);
	close(c);
out:
	vab_destroy(&b);
	rm_tmpdir();
}

/* A peer that does not read: chains held, nothing lost, in order. */
static void t_con_output_flow_control(void)
{
	enum { CHUNK = 32 << 10, N = 48 };
	uint8_t *chunk = malloc(CHUNK), *got = malloc(N * CHUNK);
	struct vab_dev *d;
	unsigned int i, held;
	size_t n = 0;
	int c;

	mk_tmpdir();
	d = con_socket();
	CHECK(d && chunk && got);
	if (!d || !chunk || !got)
		goto out;
	c = client();
	for (i = 0; i < N; i++) {
		memset(chunk, 'a' + i % 26, CHUNK);
		chain_out(d, TXQ, (uint16_t)i, chunk, CHUNK);
	}
	for (held = 0, i = 0; i < N; i++)
		held += !comp(d, TXQ, (uint16_t)i)->done;
	CHECK(held > 0 && held < N);		/* the socket took some */
	CHECK(d->inflight == held);
	/* In order: a completed chain never follows a held one. */
	for (i = 1; i < N; i++)
		CHECK(comp(d, TXQ, (uint16_t)i)->done <=
		      comp(d, TXQ, (uint16_t)(i - 1))->done);
	for (i = 0; i < 400 && n < (size_t)N * CHUNK; i++) {
		n = drain(c, got, n, (size_t)N * CHUNK);
		run_loop(1);
	}
	CHECK(n == (size_t)N * CHUNK);
	for (i = 0; i < N; i++)
		CHECK(done(d, TXQ, (uint16_t)i, 0) &&
		      got[(size_t)i * CHUNK] == 'a' + i % 26 &&
		      got[(size_t)i * CHUNK + CHUNK - 1] == 'a' + i % 26);
	CHECK(d->inflight == 0 && !comp_bad);
	close(c);
out:
	free(chunk);
	free(got);
	vab_destroy(&b);
	rm_tmpdir();
}

/*
 * A burst of input much larger than the receive queue: read only into
 * the buffers the driver posts, re-posted as a driver does, none lost.
 */
static void t_con_input_burst(void)
{
	enum { TOTAL = 1 << 20, BUF = 4096, NBUF = 8 };
	uint8_t *src = malloc(TOTAL), *dst = malloc(TOTAL);
	size_t sent_n = 0, got = 0;
	struct vab_dev *d;
	unsigned int i, turns, head = 0;	/* posting order: head + i */
	int c;

	mk_tmpdir();
	d = con_socket();
	CHECK(d && src && dst);
	if (!d || !src || !dst)
		goto out;
	for (i = 0; i < TOTAL; i++)
		src[i] = (uint8_t)(i * 7 + (i >> 12));
	c = client();
	for (i = 0; i < NBUF; i++)
		chain_in(d, RXQ, (uint16_t)i, BUF);
	for (turns = 0; turns < 20000 && got < TOTAL; turns++) {
		ssize_t w = 0;

		if (sent_n < TOTAL)
			w = write(c, src + sent_n, TOTAL - sent_n);
		if (w > 0)
			sent_n += (size_t)w;
		run_loop(1);
		/*
		 * The driver: take the buffers in the order they were
		 * posted (the device fills them in that order), post again.
		 */
		for (;;) {
			uint16_t id = (uint16_t)(head % NBUF);
			struct comp *k = comp(d, RXQ, id);

			if (!k->done || got + k->written > TOTAL)
				break;
			memcpy(dst + got, k->buf, k->written);
			got += k->written;
			reuse(d, RXQ, id);
			chain_in(d, RXQ, id, BUF);
			head++;
		}
	}
	CHECK(sent_n == TOTAL && got == TOTAL);
	CHECK(!memcmp(src, dst, TOTAL));
	CHECK(!comp_bad && d->stats.malformed == 0);
	close(c);
out:
	free(src);
	free(dst);
	vab_destroy(&b);
	rm_tmpdir();
}

/* A client leaves input behind and goes; the next waits for it. */
static void t_con_client_change(void)
{
	struct vab_dev *d;
	uint8_t got[16];
	int c1, c2;

	mk_tmpdir();
	d = con_socket();
	CHECK(d);
	if (!d)
		goto out;
	c1 = client();
	CHECK(write(c1, "first", 5) == 5);
	close(c1);
	run_loop(10);
	c2 = client();				/* waits in the backlog */
	CHECK(write(c2, "second", 6) == 6);
	chain_out(d, TXQ, 0, "x", 1);		/* c1 is gone: discarded */
	CHECK(done(d, TXQ, 0, 0));
	chain_in(d, RXQ, 0, 64);
	run_loop(10);
	CHECK(done(d, RXQ, 0, 5) && !memcmp(comp(d, RXQ, 0)->buf, "first", 5));
	chain_in(d, RXQ, 1, 64);
	run_loop(20);
	CHECK(done(d, RXQ, 1, 6) && !memcmp(comp(d, RXQ, 1)->buf, "second", 6));
	chain_out(d, TXQ, 1, "to c2", 5);
	CHECK(done(d, TXQ, 1, 0));
	CHECK(drain(c2, got, 0, sizeof(got)) == 5 && !memcmp(got, "to c2", 5));
	/* c2 half-closes: it still gets output. */
	CHECK(shutdown(c2, SHUT_WR) == 0);
	chain_in(d, RXQ, 2, 64);
	run_loop(10);
	chain_out(d, TXQ, 2, "still", 5);
	run_loop(10);
	CHECK(done(d, TXQ, 2, 0));
	CHECK(drain(c2, got, 0, sizeof(got)) == 5 && !memcmp(got, "still", 5));
	CHECK(!comp(d, RXQ, 2)->done);
	close(c2);
	run_loop(10);
	/* Then nobody: discarded again, and a third client is taken. */
	chain_out(d, TXQ, 3, "gone", 4);
	CHECK(done(d, TXQ, 3, 0));
	c1 = client();
	CHECK(write(c1, "3rd", 3) == 3);
	run_loop(10);
	CHECK(done(d, RXQ, 2, 3) && !memcmp(comp(d, RXQ, 2)->buf, "3rd", 3));
	CHECK(!comp_bad);
	close(c1);
out:
	vab_destroy(&b);
	rm_tmpdir();
}

/* Wrong directions, zero lengths, huge buffers. */
static void t_con_malformed(void)
{
	struct desc rx_mixed[2] = { { 4, 0 }, { 16, W } };
	struct desc rx_zero[1] = { { 0, W } };
	struct desc tx_zero[1] = { { 0, 0 } };
	uint8_t *big = calloc(1, 1U << 20), got[256];
	struct vab_dev *d;
	size_t n = 0;
	int c, i;

	mk_tmpdir();
	d = con_socket();
	CHECK(d && big);
	if (!d || !big)
		goto out;
	c = client();
	chain_out(d, RXQ, 0, "abcd", 4);		/* readable on receiveq */
	chain(d, RXQ, 1, rx_mixed, 2, "abcd");
	chain(d, RXQ, 2, rx_zero, 1, NULL);
	chain_in(d, TXQ, 0, 16);			/* writable on transmitq */
	chain(d, TXQ, 1, rx_mixed, 2, "abcd");
	chain(d, TXQ, 2, tx_zero, 1, NULL);
	CHECK(done(d, RXQ, 0, 0) && done(d, RXQ, 1, 0) && done(d, RXQ, 2, 0));
	CHECK(done(d, TXQ, 0, 0) && done(d, TXQ, 1, 0) && done(d, TXQ, 2, 0));
	CHECK(d->stats.malformed == 6 && d->inflight == 0);
	CHECK(drain(c, got, 0, sizeof(got)) == 0);	/* nothing leaked out */
	/* A huge receive buffer gets what there is; a 1 MiB write goes out. */
	chain_in(d, RXQ, 3, VIRTIO_ARGO_MAX_CHAIN_BYTES);
	CHECK(write(c, "in", 2) == 2);
	run_loop(10);
	CHECK(done(d, RXQ, 3, 2));
	memset(big, 'B', 1U << 20);
	chain_out(d, TXQ, 3, big, 1U << 20);
	for (i = 0; i < 400 && !comp(d, TXQ, 3)->done; i++) {
		n += discard(c);
		run_loop(1);
	}
	n += discard(c);
	CHECK(done(d, TXQ, 3, 0) && n == 1U << 20);
	CHECK(!comp_bad);
	close(c);
out:
	free(big);
	vab_destroy(&b);
	rm_tmpdir();
}

/* Held chains both ways through RESET, HELLO again, SIGTERM, exit. */
static void t_con_held_lifecycle(void)
{
	uint8_t *big = calloc(1, 4U << 20);
	struct vab_dev *d;
	int c = -1;

	mk_tmpdir();
	d = con_socket();
	CHECK(d && big);
	if (!d || !big)
		goto out;
	c = client();
	chain_in(d, RXQ, 0, 64);
	chain_in(d, RXQ, 1, 64);
	chain_out(d, TXQ, 0, big, 4U << 20);	/* more than the socket takes */
	chain_out(d, TXQ, 1, "x", 1);
	CHECK(d->inflight == 4);
	CHECK(simple(d->fe, VIRTIO_ARGO_T_RESET, d->handle) == 0);
	CHECK(d->inflight == 0 && d->mem_used == 0);
	/* The socket is still there and works after the reset. */
	clear_sent();
	comps_reset();
	CHECK(up(d, 64));
	chain_in(d, RXQ, 0, 64);
	CHECK(write(c, "after", 5) == 5);
	run_loop(10);
	CHECK(done(d, RXQ, 0, 5));
	chain_in(d, RXQ, 1, 64);
	chain_out(d, TXQ, 0, big, 4U << 20);
	CHECK(d->inflight == 2);
	CHECK(hello(d->fe) == 0 && d->inflight == 0);
	clear_sent();
	comps_reset();
	CHECK(up(d, 64));
	chain_in(d, RXQ, 0, 64);
	chain_out(d, TXQ, 0, big, 4U << 20);
	chain_out(d, TXQ, 1, "y", 1);
	CHECK(d->inflight == 3);
	vab_stop(&b);
	CHECK(done(d, RXQ, 0, 0) && done(d, TXQ, 0, 0) && done(d, TXQ, 1, 0));
	CHECK(d->inflight == 0 && vab_idle(&b) && !comp_bad);
	/* And held at destruction: freed (ASan: no leak). */
	vab_destroy(&b);
	vab_init(&b, 0, &transport);
	clear_sent();
	comps_reset();
	close(c);
	d = con_socket();
	CHECK(d);
	if (!d)
		goto out;
	c = client();
	chain_in(d, RXQ, 0, 64);
	chain_out(d, TXQ, 0, big, 4U << 20);
	CHECK(d->inflight == 2);
out:
	if (c >= 0)
		close(c);
	free(big);
	vab_destroy(&b);
	rm_tmpdir();
}

/*
 * OUT_NOCOMP (what lets Linux's hvc output work): output chains are not
 * completed at all, and the driver reuses their ids at once, here one id
 * for everything, while the peer does not read.  Nothing is lost, the
 * order is kept, input still flows.
 */
static void t_con_nocomp_output(void)
{
	enum { CHUNK = 32 << 10, N = 48 };
	uint8_t *chunk = malloc(CHUNK), *got = malloc(N * CHUNK);
	struct vab_dev *d;
	unsigned int i, held;
	size_t n = 0;
	int c;

	hello_features = VIRTIO_ARGO_F_OUT_NOCOMP;
	mk_tmpdir();
	d = con_socket();
	CHECK(d && chunk && got);
	if (!d || !chunk || !got)
		goto out;
	CHECK(d->fe->features == VIRTIO_ARGO_F_OUT_NOCOMP);
	c = client();
	for (i = 0; i < N; i++) {
		memset(chunk, 'a' + i % 26, CHUNK);
		chain_out(d, TXQ, 0, chunk, CHUNK);
	}
	held = d->inflight;
	CHECK(held > 0 && held < N);		/* the socket took some */
	CHECK(d->stats.chains_nocomp == N - held && d->stats.malformed == 0);
	CHECK(!d->queues[TXQ].slots[0] && d->mem_used >= held * CHUNK);
	CHECK(nsent == 0);			/* no completion at all */
	/* Input is not held up by the output waiting. */
	chain_in(d, RXQ, 0, 64);
	CHECK(write(c, "in", 2) == 2);
	run_loop(10);
	CHECK(done(d, RXQ, 0, 2) && !memcmp(comp(d, RXQ, 0)->buf, "in", 2));
	CHECK(d->inflight == held);
	for (i = 0; i < 400 && n < (size_t)N * CHUNK; i++) {
		n = drain(c, got, n, (size_t)N * CHUNK);
		run_loop(1);
	}
	CHECK(n == (size_t)N * CHUNK);
	for (i = 0; i < N; i++)
		CHECK(got[(size_t)i * CHUNK] == 'a' + i % 26 &&
		      got[(size_t)i * CHUNK + CHUNK - 1] == 'a' + i % 26);
	CHECK(d->inflight == 0 && d->mem_used == 0 && !comp_bad);
	CHECK(d->stats.chains_nocomp == N && nsent == 1);
	/* With no peer: discarded, freed at once. */
	close(c);
	run_loop(10);
	chain_out(d, TXQ, 0, "lost", 4);
	CHECK(d->inflight == 0 && d->stats.chains_nocomp == N + 1);
	CHECK(nsent == 1 && !comp_bad);
out:
	free(chunk);
	free(got);
	vab_destroy(&b);
	rm_tmpdir();
}

/* Held output counts in the device's memory: above it, the ring waits. */
static void t_con_nocomp_memory_limit(void)
{
	enum { CHUNK = 1 << 20 };
	uint8_t *chunk = malloc(CHUNK);
	char props[192];
	struct vab_dev *d;
	unsigned int i, sent_n;
	size_t n = 0;
	int c;

	hello_features = VIRTIO_ARGO_F_OUT_NOCOMP;
	mk_tmpdir();
	snprintf(props, sizeof(props), "socket=%s,max-memory=32M", sock_path);
	d = con_dev(FE1, props);
	CHECK(d && chunk && up(d, 64));
	if (!d || !chunk || !d->attached)
		goto out;
	c = client();
	memset(chunk, 'm', CHUNK);
	for (i = 0; i < 64 && vab_dev_rx_ready(d); i++)
		chain_out(d, TXQ, (uint16_t)(i % 2), chunk, CHUNK);
	sent_n = i;
	CHECK(!vab_dev_rx_ready(d) && sent_n < 64);
	CHECK(d->mem_used >= d->mem_limit);
	CHECK(d->mem_used <= d->mem_limit + CHUNK + 4096);
	CHECK(nsent == 0 && d->stats.malformed == 0);
	/* The peer reads: the chains go, and the ring is read again. */
	for (i = 0; i < 2000 && d->inflight; i++) {
		n += discard(c);
		run_loop(1);
	}
	n += discard(c);
	CHECK(d->inflight == 0 && d->mem_used == 0 && vab_dev_rx_ready(d));
	CHECK(n == (size_t)sent_n * CHUNK);
	CHECK(d->stats.chains_nocomp == sent_n && nsent == 0);
	close(c);
out:
	free(chunk);
	vab_destroy(&b);
	rm_tmpdir();
}

/* Held nocomp output through RESET, DETACH, HELLO again, SIGTERM, exit. */
static void t_con_nocomp_lifecycle(void)
{
	uint8_t *big = calloc(1, 4U << 20);
	struct vab_dev *d;
	int c = -1;

	hello_features = VIRTIO_ARGO_F_OUT_NOCOMP;
	mk_tmpdir();
	d = con_socket();
	CHECK(d && big);
	if (!d || !big)
		goto out;
	c = client();
	chain_in(d, RXQ, 0, 64);
	chain_out(d, TXQ, 0, big, 4U << 20);	/* more than the socket takes */
	chain_out(d, TXQ, 0, "x", 1);
	chain_out(d, TXQ, 0, "y", 1);
	CHECK(d->inflight == 4 && nsent == 0);
	CHECK(simple(d->fe, VIRTIO_ARGO_T_RESET, d->handle) == 0);
	CHECK(d->inflight == 0 && d->mem_used == 0 && !d->chains);
	discard(c);
	clear_sent();
	comps_reset();
	CHECK(up(d, 64));
	chain_out(d, TXQ, 0, big, 4U << 20);
	chain_out(d, TXQ, 0, "x", 1);
	CHECK(d->inflight == 2);
	CHECK(simple(d->fe, VIRTIO_ARGO_T_DETACH, d->handle) == 0);
	CHECK(d->inflight == 0 && d->mem_used == 0 && !d->chains);
	discard(c);
	clear_sent();
	comps_reset();
	CHECK(up(d, 64));
	chain_out(d, TXQ, 0, big, 4U << 20);
	chain_out(d, TXQ, 0, "x", 1);
	/* HELLO again without the feature: output is completed again. */
	hello_features = 0;
	CHECK(hello(d->fe) == 0 && d->inflight == 0 && d->mem_used == 0);
	CHECK(d->fe->features == 0);
	discard(c);
	clear_sent();
	comps_reset();
	CHECK(up(d, 64));
	chain_out(d, TXQ, 0, "z", 1);
	CHECK(done(d, TXQ, 0, 0));
	hello_features = VIRTIO_ARGO_F_OUT_NOCOMP;
	CHECK(hello(d->fe) == 0 && d->fe->features);
	discard(c);
	clear_sent();
	comps_reset();
	CHECK(up(d, 64));
	/* SIGTERM: what the peer takes, the rest freed; nothing sent. */
	chain_in(d, RXQ, 0, 64);
	chain_out(d, TXQ, 0, big, 4U << 20);
	chain_out(d, TXQ, 0, "x", 1);
	CHECK(d->inflight == 3);
	vab_stop(&b);
	CHECK(done(d, RXQ, 0, 0) && nsent == 1);
	CHECK(d->inflight == 0 && d->mem_used == 0 && vab_idle(&b) && !comp_bad);
	/* And held at destruction: freed (ASan: no leak). */
	vab_destroy(&b);
	vab_init(&b, 0, &transport);
	clear_sent();
	comps_reset();
	close(c);
	d = con_socket();
	CHECK(d);
	if (!d)
		goto out;
	c = client();
	chain_out(d, TXQ, 0, big, 4U << 20);
	chain_out(d, TXQ, 0, "x", 1);
	CHECK(d->inflight == 2);
out:
	if (c >= 0)
		close(c);
	free(big);
	vab_destroy(&b);
	rm_tmpdir();
}

static void t_con_pty(void)
{
	char props[160], link[128], pts[64];
	struct vab_dev *d;
	uint8_t got[64];
	ssize_t n;
	int s, i;

	mk_tmpdir();
	snprintf(link, sizeof(link), "%s/pty", tmpdir);
	snprintf(props, sizeof(props), "pty,pty-link=%s", link);
	CHECK(symlink("/nonexistent", link) == 0);	/* replaced */
	d = con_dev(FE1, props);
	CHECK(d && up(d, 64));
	n = readlink(link, pts, sizeof(pts) - 1);
	CHECK(n > 0 && !strncmp(pts, "/dev/pts/", 9));
	if (!d || n <= 0)
		goto out;
	pts[n] = 0;
	s = open(link, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	CHECK(s >= 0);
	if (s < 0)
		goto out;
	chain_in(d, RXQ, 0, 64);
	CHECK(write(s, "in\r\n", 4) == 4);		/* raw: as it is */
	run_loop(10);
	CHECK(done(d, RXQ, 0, 4) && !memcmp(comp(d, RXQ, 0)->buf, "in\r\n", 4));
	chain_out(d, TXQ, 0, "out\n", 4);
	CHECK(done(d, TXQ, 0, 0));
	run_loop(5);
	CHECK(read(s, got, sizeof(got)) == 4 && !memcmp(got, "out\n", 4));
	/* Closed: output discarded, completed; reopened: flows again. */
	close(s);
	chain_in(d, RXQ, 1, 64);
	run_loop(20);
	chain_out(d, TXQ, 1, "nobody", 6);
	CHECK(done(d, TXQ, 1, 0));
	s = open(pts, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	CHECK(s >= 0);
	if (s < 0)
		goto out;
	for (i = 0; i < 50; i++)
		run_loop(10);			/* the 200 ms check */
	chain_out(d, TXQ, 2, "back", 4);
	CHECK(done(d, TXQ, 2, 0));
	run_loop(5);
	CHECK(read(s, got, sizeof(got)) == 4 && !memcmp(got, "back", 4));
	CHECK(write(s, "k", 1) == 1);
	run_loop(10);
	CHECK(done(d, RXQ, 1, 1) && comp(d, RXQ, 1)->buf[0] == 'k');
	CHECK(!comp_bad && d->stats.malformed == 0);
	close(s);
	vab_destroy(&b);
	n = readlink(link, pts, sizeof(pts) - 1);
	CHECK(n < 0);				/* the link went with it */
out:
	vab_destroy(&b);
	rm_tmpdir();
}

static void t_con_options(void)
{
	char file[128], props[256];
	static const char *const bad[] = {
		"", "pty=maybe", "pty,socket=%s/s", "pty-link=%s/l",
		"socket=", "socket=%s/file", "pty,pty-link=%s/file",
		"socket=%s/no/such/dir/s", "pty,bogus=1", "pty,pty",
		"socket=%s/123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890",
	};
	unsigned int i;
	int fd;

	mk_tmpdir();
	snprintf(file, sizeof(file), "%s/file", tmpdir);
	fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		vab_init(&b, 0, &transport);
		snprintf(props, sizeof(props), bad[i], tmpdir);
		if (con_dev(FE1, props)) {
			printf("    # accepted: %s\n", props);
			case_failed = 1;
		}
		vab_destroy(&b);
	}
	/* The regular file is still there; a stale socket is replaced. */
	CHECK(access(file, F_OK) == 0);
	vab_init(&b, 0, &transport);
	snprintf(props, sizeof(props), "socket=%s", sock_path);
	CHECK(con_dev(FE1, props));
	vab_destroy(&b);
	{
		struct sockaddr_un a;
		int st = socket(AF_UNIX, SOCK_STREAM, 0);

		memset(&a, 0, sizeof(a));
		a.sun_family = AF_UNIX;
		memcpy(a.sun_path, sock_path, strlen(sock_path));
		CHECK(st >= 0 && !bind(st, (struct sockaddr *)&a, sizeof(a)));
		close(st);
	}
	vab_init(&b, 0, &transport);
	CHECK(con_dev(FE1, props) && con_dev(FE2, "pty"));
	vab_destroy(&b);
	rm_tmpdir();
}

/* ---- Main -------------------------------------------------------------------------- */

struct tcase {
	const char *name;
	void (*fn)(void);
};

static const struct tcase cases[] = {
	{ "watch_fill_dispatch", t_watch_fill_dispatch },
	{ "watch_closed_fd", t_watch_nval },
	{ "watch_real_poll", t_watch_real_poll },
	{ "timers", t_timers },
	{ "device_gone_with_its_watches", t_dev_gone },
	{ "held_chain_completed_later", t_held_complete_later },
	{ "held_chain_from_another_device", t_held_cross_device },
	{ "held_chains_reset_detach_hello", t_held_reset },
	{ "held_chains_stop", t_held_stop },
	{ "held_chain_without_stop", t_held_without_stop },
	{ "held_nocomp_chains", t_held_nocomp },
	{ "held_nocomp_reset_detach_hello_stop", t_held_nocomp_lifecycle },
	{ "rng_fills_writable_buffers", t_rng_fills },
	{ "rng_malformed_chains", t_rng_malformed },
	{ "rng_rate_limit", t_rng_rate_limit },
	{ "rng_held_reset_hello_stop", t_rng_held_lifecycle },
	{ "rng_held_at_destroy", t_rng_held_destroy },
	{ "rng_options", t_rng_options },
	{ "console_device", t_con_device },
	{ "console_socket_both_ways", t_con_socket_both_ways },
	{ "console_output_flow_control", t_con_output_flow_control },
	{ "console_input_burst_larger_than_ring", t_con_input_burst },
	{ "console_client_change", t_con_client_change },
	{ "console_malformed_chains", t_con_malformed },
	{ "console_held_reset_hello_stop", t_con_held_lifecycle },
	{ "console_nocomp_output_ids_reused", t_con_nocomp_output },
	{ "console_nocomp_memory_limit", t_con_nocomp_memory_limit },
	{ "console_nocomp_reset_detach_hello_stop", t_con_nocomp_lifecycle },
	{ "console_pty", t_con_pty },
	{ "console_options", t_con_options },
};

int main(void)
{
	unsigned int i, n = ARRAY_SIZE(cases), failed = 0;

	h_log_default();
	ktap_start(n);
	for (i = 0; i < n; i++) {
		case_failed = 0;
		hello_features = 0;
		clear_sent();
		comps_reset();
		transport_reset();
		vab_init(&b, 0, &transport);
		cases[i].fn();
		vab_destroy(&b);
		clear_sent();
		comps_reset();
		ktap_result(i + 1, cases[i].name, case_failed, NULL);
		failed += (unsigned int)case_failed;
	}
	free(sent);
	return failed ? 1 : 0;
}
