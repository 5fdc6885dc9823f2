// SPDX-License-Identifier: MIT
/*
 * Host unit tests of virtio-argo-backend's devices coming and going at run
 * time: hot-plug and removal in the protocol layer (indexes, EV_DEV_ADDED
 * and EV_DEV_REMOVED, chains in flight and held when a device goes, rings
 * registered and unregistered), frontends found gone and coming back,
 * the removal of every device at SIGTERM, the configuration file and its
 * reload, and the control socket with hostile input.
 *
 * Like backend_test.c it needs no /dev/argo: messages go straight into the
 * protocol layer and a recording transport keeps what comes back, which is
 * checked as a strict frontend would check it; rings "registered" are
 * counted, so that one left behind is seen.  Devices are virtio-blk on
 * temporary files and virtio-rng (a rate-limited one holds chains).  Built
 * with AddressSanitizer and UndefinedBehaviorSanitizer: a freed chain used
 * or anything leaked aborts the run.
 *
 * Prints one KTAP document.  VAB_TEST_LOG=1 shows the backend's log.
 *
 * Copyright (c) 2026 The virtio-argo authors
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/virtio_blk.h>

#include "../backend.h"
#include "../options.h"
#include "harness.h"

#define FE1		1
#define FE2		2

static const char *case_skip;	/* why the case could not run */

/* ---- Recording transport, with rings that go and are registered ------------ */

/* Rings of frontends that are gone: sends and queries are refused. */
static uint32_t gone_port[8];
static uint16_t gone_dom[8];
static unsigned int ngone;
static int gone_err = -ECONNREFUSED;
static unsigned int nrefused;	/* sends to a gone ring */
/* Our rings "registered": fds handed out and not yet closed. */
static int next_fd = 1000;
static int open_eps;
static int open_fail;		/* the next open_ep fails with this */
static int renew_ret[4];	/* what renew_ep returns, in turn */
static unsigned int nrenew_ret, renews;

static bool is_gone(uint16_t domain, uint32_t port)
{
	unsigned int i;

	for (i = 0; i < ngone; i++)
		if (gone_dom[i] == domain && gone_port[i] == port)
			return true;
	return false;
}

static void set_gone(uint16_t domain, uint32_t port)
{
	gone_dom[ngone] = domain;
	gone_port[ngone++] = port;
}

static int gone_send(void *ctx, struct vab_ep *ep, uint16_t domain,
		     uint32_t port, uint32_t type, const void *buf, size_t len)
{
	if (!eagain_always && is_gone(domain, port)) {
		nrefused++;
		return gone_err;
	}
	return t_send(ctx, ep, domain, port, type, buf, len);
}

static int gone_max_msg(void *ctx, struct vab_ep *ep, uint16_t domain,
			uint32_t port, uint32_t *max)
{
	if (is_gone(domain, port))
		return gone_err;
	return t_max_msg(ctx, ep, domain, port, max);
}

static int t_open(void *ctx, struct vab_ep *ep, const char *what)
{
	(void)ctx;
	(void)what;
	if (ep->fd >= 0) {
		printf("    # %s: registered twice\n", what);
		case_failed = 1;
	}
	if (open_fail) {
		int e = open_fail;

		open_fail = 0;
		return e;
	}
	ep->fd = next_fd++;
	open_eps++;
	return 0;
}

static void t_close(void *ctx, struct vab_ep *ep)
{
	(void)ctx;
	if (ep->fd < 0) {
		printf("    # closing a ring never registered\n");
		case_failed = 1;
	}
	ep->fd = -1;
	open_eps--;
}

static int t_renew(void *ctx, struct vab_ep *ep)
{
	int r;

	(void)ctx;
	r = renews < nrenew_ret ? renew_ret[renews] : -EEXIST;
	renews++;
	if (!r)
		ep->fd = next_fd++;	/* the old one was dropped */
	return r;
}

static const struct vab_transport transport = {
	.send = gone_send,
	.max_msg = gone_max_msg,
	.discard_rx = t_discard,
	.open_ep = t_open,
	.close_ep = t_close,
	.renew_ep = t_renew,
};

/* ---- Fixture --------------------------------------------------------------- */

/* Errors expected from here: not shown even with VAB_TEST_LOG. */
static void quiet(void)
{
	vab_log_level = VAB_LOG_ERROR + 1;
}

static void loud(void)
{
	h_log_default();
}

static struct vab b;
static char tmpdir[64];
static unsigned int nfiles;

static const char *tmpfile_path(const char *name)
{
	static char p[8][128];
	static unsigned int n;
	char *r = p[n++ % 8];

	snprintf(r, 128, "%s/%s", tmpdir, name);
	return r;
}

/* A new disk image of @size bytes: its path (valid until 8 more calls). */
static const char *mkdisk(uint32_t size)
{
	char name[32];
	const char *p;

	snprintf(name, sizeof(name), "disk%u.img", nfiles++);
	p = tmpfile_path(name);
	h_sized(open(p, O_CREAT | O_RDWR | O_TRUNC, 0600), size);
	return p;
}

static void setup(void)
{
	clear_sent();
	transport_reset();
	ngone = 0;
	gone_err = -ECONNREFUSED;
	open_eps = 0;
	open_fail = 0;
	nrenew_ret = 0;
	renews = 0;
	vab_init(&b, 0, &transport);
	b.running = true;
}

static void teardown(void)
{
	vab_destroy(&b);
	clear_sent();
	CHECK(open_eps == 0);
}

/* A device added at run time; NULL if refused. */
static struct vab_dev *add(const struct vab_dev_class *cls, const char *fmt,
			   ...) __attribute__((format(printf, 2, 3)));

static struct vab_dev *add(const struct vab_dev_class *cls, const char *fmt,
			   ...)
{
	char arg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(arg, sizeof(arg), fmt, ap);
	va_end(ap);
	return vab_create_device(&b, cls, arg, "test", VAB_FROM_CONTROL, -1,
				 NULL);
}

static struct vab_dev *add_blk(uint16_t fe)
{
	return add(&vab_blk_class, "frontend=%u,file=%s", fe,
		   mkdisk(1 << 20));
}

/* Rings registered for the backend's frontends and devices now. */
static int rings(void)
{
	uint32_t f, i;
	int n = 0;

	for (f = 0; f < b.nfes; f++) {
		const struct vab_linger *l;

		n += b.fes[f]->ctrl.fd >= 0;
		for (i = 0; i < b.fes[f]->ndevs; i++)
			n += b.fes[f]->devs[i]->ep.fd >= 0;
		for (l = b.fes[f]->linger; l; l = l->next)
			n += l->ep.fd >= 0;
	}
	return n;
}

/* Rings of removed devices still registered for frontend @domid. */
static int lingering(uint16_t domid)
{
	struct vab_frontend *fe = vab_frontend_find(&b, domid);
	const struct vab_linger *l;
	int n = 0;

	for (l = fe ? fe->linger : NULL; l; l = l->next)
		n++;
	return n;
}

/*
 * The frontend lets go of the device at @index (its data ring goes) and
 * the backend's check runs: the removed device's ring is unregistered.
 */
static void let_go(uint16_t domid, uint32_t index)
{
	struct timespec ts = { 0, 110 * 1000 * 1000 };

	set_gone(domid, FE_DATA + index);
	nanosleep(&ts, NULL);
	vab_loop_run_timers(&b);
}

/* ---- Control helpers -------------------------------------------------------- */

static struct msg *ctrl(struct vab_frontend *fe, uint32_t type, uint32_t devh,
			void *buf, size_t len)
{
	return h_reply(type, h_ctrl(fe, type, devh, buf, len));
}

static uint32_t st(const struct msg *m)
{
	return m && m->len >= 16 ? vab_get32(m->buf + 8) : 0xdead;
}

static uint32_t simple(struct vab_frontend *fe, uint32_t type, uint32_t devh)
{
	struct virtio_argo_hdr h;

	return st(ctrl(fe, type, devh, &h, sizeof(h)));
}

/* HELLO: its num_devices, or -1 if refused. */
static int hello(struct vab_frontend *fe)
{
	struct msg *m = h_reply(VIRTIO_ARGO_T_HELLO, h_hello(fe, 0, 0));

	if (st(m) || m->len != sizeof(struct virtio_argo_hello_reply))
		return -1;
	return vab_get16(m->buf + 18);
}

/* DEV_INFO of @index: the status; the handle in *@h. */
static uint32_t dev_info(struct vab_frontend *fe, uint32_t index, uint32_t *h)
{
	struct msg *m = h_reply(VIRTIO_ARGO_T_DEV_INFO, h_dev_info(fe, index));

	if (!st(m) && h)
		*h = vab_get32(m->buf + 16);
	return st(m);
}

/* The status of the reply to @type sent since sent[@before]. */
static uint32_t status_of(uint32_t type, size_t before)
{
	return st(h_reply(type, before));
}

/* HELLO if needed, DEV_INFO, ATTACH, features, queues, DRIVER_OK. */
static bool up(struct vab_dev *d, uint16_t qsize)
{
	struct vab_frontend *fe = d->fe;
	uint32_t h = 0;
	uint16_t q;

	if (!fe->hello && hello(fe) < 0)
		return false;
	if (dev_info(fe, d->index, &h) || h != d->handle)
		return false;
	if (status_of(VIRTIO_ARGO_T_ATTACH,
		      h_attach(fe, h, FE_DATA + d->index, 1U << 20)))
		return false;
	if (status_of(VIRTIO_ARGO_T_SET_FEATURES,
		      h_set_features(fe, h, d->features_offered)))
		return false;
	if (status_of(VIRTIO_ARGO_T_SET_STATUS, h_set_status(fe, h, 0x0b)))
		return false;
	for (q = 0; q < d->num_queues; q++)
		if (status_of(VIRTIO_ARGO_T_QUEUE_SETUP,
			      h_queue_setup(fe, h, q, qsize,
					    VIRTIO_ARGO_QUEUE_ENABLE)))
			return false;
	return !status_of(VIRTIO_ARGO_T_SET_STATUS, h_set_status(fe, h, 0x0f)) &&
	       d->status == 0x0f;
}

/* The events of @type sent to @fe since message @from: how many; the last. */
static unsigned int events(struct vab_frontend *fe, uint32_t type, size_t from,
			   uint32_t *dev, uint32_t *index)
{
	unsigned int n = 0;

	for (; from < nsent; from++) {
		const struct msg *m = &sent[from];

		if (m->type != type || m->domain != fe->domid)
			continue;
		if (m->port != FE_CTRL || m->len != sizeof(struct virtio_argo_ev_dev) ||
		    vab_get32(m->buf + 4) != 0) {
			printf("    # event to port %#x, %zu bytes\n", m->port,
			       m->len);
			case_failed = 1;
			continue;
		}
		n++;
		if (dev)
			*dev = vab_get32(m->buf);
		if (index)
			*index = vab_get32(m->buf + 8);
	}
	return n;
}

/* ---- Data helpers ------------------------------------------------------------ */

#define SESSION	0x5e55

/*
 * One chain in one record: @out bytes out (the first 16 a blk header if
 * @blk_type >= 0), @in writable; FIRST, and LAST unless @partial.
 */
static void chain(struct vab_dev *d, uint16_t q, uint16_t id, int blk_type,
		  uint32_t out, uint32_t in, bool partial)
{
	uint32_t sent_out = partial ? out / 2 : out;
	uint8_t *bytes = calloc(1, sent_out + 1);
	static struct bld m;
	struct desc ds[2];
	uint16_t ndesc = 0;
	uint8_t *p;
	size_t len;

	if (!bytes)
		abort();
	if (out)
		ds[ndesc++] = (struct desc){ out, 0 };
	if (in)
		ds[ndesc++] = (struct desc){ in, VIRTIO_ARGO_DESC_WRITE };
	if (blk_type >= 0 && sent_out >= 16)
		vab_put32(bytes, (uint32_t)blk_type);
	b_init(&m);
	b_rec(&m, q, id, VIRTIO_ARGO_CHAIN_FIRST |
	      (partial ? 0 : VIRTIO_ARGO_CHAIN_LAST), ds, ndesc, out, in, 0,
	      bytes, sent_out);
	free(bytes);
	p = b_finish(&m, d->handle, SESSION, &len);
	data_send(d, p, len);
}

/*
 * The completion of chain @q:@id among the messages to @fe's data port
 * @index since @from: its written count, -1 if none; its last byte in
 * *@last (the blk status).  Every record is checked.
 */
static int completion(uint16_t domid, uint32_t index, uint16_t q, uint16_t id,
		      size_t from, int *last)
{
	int found = -1;

	for (; from < nsent; from++) {
		const struct msg *m = &sent[from];
		uint32_t nrec, data_off, i, data;

		if (m->type != VIRTIO_ARGO_T_DATA_COMP || m->domain != domid ||
		    m->port != FE_DATA + index)
			continue;
		nrec = vab_get16(m->buf + 8);
		data_off = vab_get32(m->buf + 12);
		if (m->len < 16 || vab_get32(m->buf + 4) != SESSION ||
		    data_off != 16 + 24 * nrec || data_off > m->len) {
			printf("    # bad DATA_COMP message\n");
			case_failed = 1;
			continue;
		}
		for (i = 0, data = data_off; i < nrec; i++) {
			const uint8_t *r = m->buf + 16 + 24 * i;
			uint32_t len = vab_get32(r + 16);

			if (data + len > m->len) {
				printf("    # DATA_COMP record beyond its message\n");
				case_failed = 1;
				break;
			}
			if (vab_get16(r) == q && vab_get16(r + 4) == id &&
			    (vab_get16(r + 2) & VIRTIO_ARGO_CHAIN_LAST)) {
				found = (int)vab_get32(r + 8);
				if (last)
					*last = len ? m->buf[data + len - 1] : -1;
			}
			data += len;
		}
	}
	return found;
}

/* ---- Cases: devices coming and going ------------------------------------------ */

/* Lowest free index, names, holes in HELLO and DEV_INFO. */
static void t_index_reuse(void)
{
	struct vab_dev *a = add_blk(FE1), *bb = add_blk(FE1), *c = add_blk(FE1);
	struct vab_frontend *fe = vab_frontend_find(&b, FE1);
	struct vab_dev *d, *e;

	CHECK(a && bb && c && fe);
	if (!a || !bb || !c || !fe)
		return;
	CHECK(a->index == 0 && bb->index == 1 && c->index == 2);
	CHECK(!strcmp(a->name, "blk0") && !strcmp(bb->name, "blk1") &&
	      !strcmp(c->name, "blk2"));
	CHECK(rings() == 4 && open_eps == 4);
	vab_dev_remove(bb);
	CHECK(fe->ndevs == 2 && open_eps == 3);
	CHECK(!vab_dev_find(&b, "blk1") && vab_dev_find(&b, "blk2") == c);
	CHECK(hello(fe) == 3);			/* 0 and 2 in use */
	CHECK(dev_info(fe, 1, NULL) == VIRTIO_ARGO_S_NODEV);
	CHECK(dev_info(fe, 3, NULL) == VIRTIO_ARGO_S_NODEV);
	CHECK(dev_info(fe, 2, NULL) == VIRTIO_ARGO_S_OK);
	/* The hole is taken first, with the free name. */
	d = add_blk(FE1);
	CHECK(d && d->index == 1 && !strcmp(d->name, "blk1") &&
	      d->ep.port == VIRTIO_ARGO_PORT_DATA_BASE + 1 && d->ep.fd >= 0);
	e = add_blk(FE1);
	CHECK(e && e->index == 3 && !strcmp(e->name, "blk3"));
	vab_dev_remove(c);
	vab_dev_remove(e);
	CHECK(hello(fe) == 2);
	/* Another frontend's devices have indexes of their own, names not. */
	e = add_blk(FE2);
	CHECK(e && e->index == 0 && !strcmp(e->name, "blk2"));
	/* Ids: given, taken, malformed. */
	e = add(&vab_rng_class, "frontend=2,id=entropy");
	CHECK(e && !strcmp(e->name, "entropy") && e->index == 1);
	CHECK(vab_dev_find(&b, "entropy") == e);
	quiet();
	CHECK(!add(&vab_rng_class, "frontend=1,id=entropy"));
	CHECK(!add(&vab_rng_class, "frontend=1,id=9lives"));
	CHECK(!add(&vab_rng_class, "frontend=1,id=a-name-far-too-long"));
	CHECK(!add(&vab_rng_class, "frontend=1,id=a/b"));
	CHECK(!add(&vab_rng_class, "frontend=1,id="));
	loud();
	/* An explicit index, taken or free. */
	CHECK(!vab_dev_new(&b, FE1, &vab_rng_class, 0, NULL) &&
	      errno == EEXIST);
	d = vab_dev_new(&b, FE1, &vab_rng_class, 200, NULL);
	CHECK(d && d->index == 200 && !strcmp(d->name, "rng0"));
	if (d)
		vab_dev_discard(d);
	CHECK(!vab_dev_new(&b, FE1, &vab_rng_class, 256, NULL));
	CHECK(rings() == open_eps);
}

/* All 256 indexes of a frontend, then no more; then every one freed. */
static void t_index_limit(void)
{
	struct vab_dev *d;
	unsigned int i;

	for (i = 0; i < VIRTIO_ARGO_MAX_DEVICES; i++) {
		d = add(&vab_rng_class, "frontend=1");
		CHECK(d && d->index == i);
	}
	quiet();
	CHECK(!add(&vab_rng_class, "frontend=1"));
	loud();
	CHECK(hello(vab_frontend_find(&b, FE1)) == VIRTIO_ARGO_MAX_DEVICES);
	/* Every other one goes: half the indexes are holes. */
	for (i = 0; i < VIRTIO_ARGO_MAX_DEVICES / 2; i++)
		vab_dev_remove(b.fes[0]->devs[i]);
	CHECK(b.fes[0]->ndevs == VIRTIO_ARGO_MAX_DEVICES / 2);
	for (i = 0; i < b.fes[0]->ndevs; i++)
		CHECK(b.fes[0]->devs[i]->index == 2 * i + 1);
	CHECK(hello(b.fes[0]) == VIRTIO_ARGO_MAX_DEVICES);
	CHECK(rings() == open_eps &&
	      open_eps == VIRTIO_ARGO_MAX_DEVICES / 2 + 1);
	d = add(&vab_rng_class, "frontend=1");
	CHECK(d && d->index == 0);
}

/* A device added to a frontend that said HELLO is announced, and works. */
static void t_add_announced(void)
{
	struct vab_dev *a = add_blk(FE1), *d;
	struct vab_frontend *fe = vab_frontend_find(&b, FE1);
	uint32_t dev = 0, index = 99, h = 0;
	size_t mark;
	int status = -1;

	CHECK(a && fe && up(a, 16));
	if (!a || !fe)
		return;
	mark = nsent;
	d = add_blk(FE1);
	CHECK(d && d->handle && d->handle != a->handle);
	CHECK(events(fe, VIRTIO_ARGO_T_EV_DEV_ADDED, mark, &dev, &index) == 1);
	CHECK(d && dev == d->handle && index == 1);
	CHECK(d && d->ep.fd >= 0);
	CHECK(dev_info(fe, 1, &h) == 0 && d && h == d->handle);
	CHECK(d && up(d, 16));
	if (!d)
		return;
	mark = nsent;
	chain(d, 0, 3, VIRTIO_BLK_T_IN, 16, 4097, false);
	CHECK(completion(FE1, 1, 0, 3, mark, &status) == 4097 && status == 0);
	/* Not connected: no event. */
	mark = nsent;
	CHECK(add_blk(FE2));
	CHECK(events(vab_frontend_find(&b, FE2), VIRTIO_ARGO_T_EV_DEV_ADDED,
		     mark, NULL, NULL) == 0);
	/* Its control ring full: the event waits for it. */
	eagain_always = true;
	d = add_blk(FE1);
	CHECK(d && fe->txq && fe->ctrl.tx_blocked);
	eagain_always = false;
	mark = nsent;
	vab_ctrl_tx(fe);
	CHECK(events(fe, VIRTIO_ARGO_T_EV_DEV_ADDED, mark, &dev, &index) == 1 &&
	      d && index == d->index && dev == d->handle && !fe->txq);
}

/* A failed add leaves nothing: no device, no frontend, no ring. */
static void t_add_fails_cleanly(void)
{
	struct vab_dev *a = add_blk(FE1);

	quiet();
	CHECK(!add(&vab_blk_class, "frontend=2,file=%s/none.img", tmpdir));
	CHECK(!vab_frontend_find(&b, FE2) && b.nfes == 1 && open_eps == 2);
	CHECK(!add(&vab_blk_class, "frontend=1,file=%s/none.img", tmpdir));
	CHECK(b.fes[0]->ndevs == 1 && open_eps == 2);
	/* Its ring cannot be registered. */
	open_fail = -EEXIST;
	CHECK(!add_blk(FE1));
	CHECK(b.fes[0]->ndevs == 1 && open_eps == 2);
	open_fail = -ESRCH;			/* the new frontend's ring */
	CHECK(!add_blk(FE2));
	CHECK(b.nfes == 1 && open_eps == 2);
	/* And the property errors. */
	CHECK(!add(&vab_blk_class, "frontend=3,file=/x,bogus=1"));
	CHECK(!add(&vab_blk_class, "frontend=0,file=/x"));
	CHECK(!add(&vab_blk_class, "file=/x"));
	CHECK(!add(&vab_rng_class, "frontend=3,rate=fast"));
	CHECK(b.nfes == 1 && open_eps == 2);
	loud();
	CHECK(a && b.fes[0]->devs[0] == a);
}

/*
 * Removed with chains in flight: one being received fails with IOERR, a
 * whole one already completed is not touched, EV_DEV_REMOVED follows,
 * the ring goes, the other device keeps working.
 */
static void t_remove_blk_in_flight(void)
{
	struct vab_dev *a = add_blk(FE1), *d = add_blk(FE1);
	struct vab_frontend *fe = vab_frontend_find(&b, FE1);
	uint32_t dev = 0, index = 0, h, ai;
	size_t mark;
	int status = -1;

	CHECK(a && d && up(a, 16) && up(d, 16));
	if (!a || !d || !d->status)
		return;
	h = d->handle;
	chain(d, 0, 1, VIRTIO_BLK_T_OUT, 16 + 4096, 1, true);
	chain(d, 0, 2, VIRTIO_BLK_T_OUT, 16 + 8192, 1, true);
	CHECK(d->inflight == 2);
	mark = nsent;
	vab_dev_remove(d);
	CHECK(completion(FE1, 1, 0, 1, mark, &status) == 1 &&
	      status == VIRTIO_BLK_S_IOERR);
	CHECK(completion(FE1, 1, 0, 2, mark, &status) == 1 &&
	      status == VIRTIO_BLK_S_IOERR);
	CHECK(events(fe, VIRTIO_ARGO_T_EV_DEV_REMOVED, mark, &dev, &index) == 1);
	CHECK(dev == h && index == 1);
	/* Its ring stays registered for the frontend's stragglers. */
	CHECK(fe->ndevs == 1 && open_eps == 3 && lingering(FE1) == 1);
	/* Its handle is gone for good. */
	CHECK(simple(fe, VIRTIO_ARGO_T_PING, h) == VIRTIO_ARGO_S_NODEV);
	CHECK(simple(fe, VIRTIO_ARGO_T_RESET, h) == VIRTIO_ARGO_S_NODEV);
	CHECK(fe->unknown_handles == 2);
	/* The other disk is untouched. */
	mark = nsent;
	chain(a, 0, 1, VIRTIO_BLK_T_IN, 16, 513, false);
	CHECK(completion(FE1, 0, 0, 1, mark, &status) == 513 && status == 0);
	/* Re-added at the same index: a new handle, and it works. */
	d = add_blk(FE1);
	CHECK(d && d->index == 1 && d->handle != h);
	CHECK(lingering(FE1) == 0 && open_eps == 3);	/* the port is its */
	CHECK(d && up(d, 16));
	if (!d)
		return;
	mark = nsent;
	chain(d, 0, 1, VIRTIO_BLK_T_IN, 16, 1025, false);
	CHECK(completion(FE1, 1, 0, 1, mark, &status) == 1025 && status == 0);
	ai = a->index;
	CHECK(ai == 0);
}

/*
 * A whole chain waiting for memory (completions unsent, the memory limit
 * reached) is failed too, not executed and not lost.
 */
static void t_remove_ready(void)
{
	struct vab_dev *d = add(&vab_blk_class, "frontend=1,file=%s,max-memory=32M",
				mkdisk(32U << 20));
	size_t mark;
	int status = -1;

	CHECK(d && up(d, 16));
	if (!d || !d->status)
		return;
	/* 12 MiB reads: two are executed and wait to be sent, the third waits. */
	eagain_always = true;
	chain(d, 0, 1, VIRTIO_BLK_T_IN, 16, (12U << 20) + 1, false);
	chain(d, 0, 2, VIRTIO_BLK_T_IN, 16, (12U << 20) + 1, false);
	chain(d, 0, 3, VIRTIO_BLK_T_IN, 16, (12U << 20) + 1, false);
	CHECK(d->inflight == 3 && d->ready && d->comp && d->ep.tx_blocked);
	/* The ring has room again, but nobody has pumped yet. */
	eagain_always = false;
	d->ep.tx_blocked = false;
	mark = nsent;
	vab_dev_remove(d);
	CHECK(completion(FE1, 0, 0, 1, mark, &status) == (12 << 20) + 1 &&
	      status == 0);
	CHECK(completion(FE1, 0, 0, 2, mark, &status) == (12 << 20) + 1 &&
	      status == 0);
	CHECK(completion(FE1, 0, 0, 3, mark, &status) == (12 << 20) + 1 &&
	      status == VIRTIO_BLK_S_IOERR);
}

/*
 * The ring of a device removed while attached stays registered, unread,
 * until the frontend has unregistered its own (or 10 s), so that what it
 * sends before seeing EV_DEV_REMOVED is not refused as by a dead backend.
 */
static void t_remove_linger(void)
{
	struct vab_dev *a = add_blk(FE1), *d = add_blk(FE1), *n;
	struct vab_frontend *fe = vab_frontend_find(&b, FE1);
	struct timespec ts = { 0, 110 * 1000 * 1000 };

	CHECK(a && d && up(a, 16) && up(d, 16) && fe);
	if (!a || !d || !fe || !d->status)
		return;
	vab_dev_remove(d);
	CHECK(lingering(FE1) == 1 && fe->linger->ep.fd >= 0 &&
	      fe->linger->ep.port == VIRTIO_ARGO_PORT_DATA_BASE + 1);
	CHECK(vab_loop_timeout(&b, -1) <= 100);
	/* The frontend still has its side: it stays. */
	nanosleep(&ts, NULL);
	vab_loop_run_timers(&b);
	CHECK(lingering(FE1) == 1 && rings() == open_eps && open_eps == 3);
	/* It let go: gone, and no more checks. */
	let_go(FE1, 1);
	CHECK(lingering(FE1) == 0 && open_eps == 2 &&
	      vab_loop_timeout(&b, -1) == -1);
	/* A frontend that keeps its side forever: 10 s at most. */
	ngone = 0;
	n = add_blk(FE1);
	CHECK(n && n->index == 1 && up(n, 16));
	if (n)
		vab_dev_remove(n);
	CHECK(lingering(FE1) == 1);
	if (fe->linger)
		fe->linger->until = vab_now_ms();	/* as if 10 s went by */
	nanosleep(&ts, NULL);
	vab_loop_run_timers(&b);
	CHECK(lingering(FE1) == 0 && open_eps == 2);
	/* Not attached: nothing could come, nothing kept. */
	n = add_blk(FE1);
	if (n)
		vab_dev_remove(n);
	CHECK(lingering(FE1) == 0 && open_eps == 2);
	/* The frontend gone, or the backend ending: none kept either. */
	n = add_blk(FE1);
	CHECK(n && up(n, 16));
	if (n)
		vab_dev_remove(n);
	CHECK(lingering(FE1) == 1);
	vab_fe_gone(fe, "test");
	CHECK(lingering(FE1) == 0 && open_eps == 2);
	CHECK(up(a, 16));
	n = add_blk(FE1);
	CHECK(n && up(n, 16));
	if (n)
		vab_dev_remove(n);
	CHECK(lingering(FE1) == 1);	/* teardown() checks it is closed */
}

/* Held chains (a rate-limited rng) are given back, its timer goes. */
static void t_remove_held(void)
{
	struct vab_dev *d = add(&vab_rng_class, "frontend=1,rate=1,burst=1");
	struct vab_dev *o = add(&vab_rng_class, "frontend=1,rate=1,burst=1");
	struct vab_frontend *fe = vab_frontend_find(&b, FE1);
	size_t mark;

	CHECK(d && o && up(d, 16) && up(o, 16));
	if (!d || !o || !d->status || !o->status)
		return;
	chain(d, 0, 0, -1, 0, 64, false);		/* 1 byte: the bucket */
	chain(d, 0, 1, -1, 0, 64, false);		/* held */
	chain(d, 0, 2, -1, 0, 64, false);		/* held */
	chain(d, 0, 3, -1, 0, 64, true);		/* still being received */
	chain(o, 0, 0, -1, 0, 64, false);
	chain(o, 0, 1, -1, 0, 64, false);		/* held */
	CHECK(d->inflight == 3 && o->inflight == 1);
	CHECK(vab_loop_timeout(&b, -1) > 500);
	mark = nsent;
	vab_dev_remove(d);
	CHECK(completion(FE1, 0, 0, 1, mark, NULL) == 0);
	CHECK(completion(FE1, 0, 0, 2, mark, NULL) == 0);
	CHECK(completion(FE1, 0, 0, 3, mark, NULL) == 0);
	CHECK(events(fe, VIRTIO_ARGO_T_EV_DEV_REMOVED, mark, NULL, NULL) == 1);
	let_go(FE1, 0);
	/* The other one's chain is still held, its timer armed. */
	CHECK(o->inflight == 1 && vab_loop_timeout(&b, -1) > 500);
	vab_dev_remove(o);
	let_go(FE1, 1);
	CHECK(vab_loop_timeout(&b, -1) == -1);
	/* The frontend stays, with no device: connected. */
	CHECK(b.nfes == 1 && fe->ndevs == 0 && fe->ctrl.fd >= 0);
	CHECK(hello(fe) == 0);
	/* One added now is at index 0 and announced. */
	mark = nsent;
	d = add(&vab_rng_class, "frontend=1");
	CHECK(d && d->index == 0 &&
	      events(fe, VIRTIO_ARGO_T_EV_DEV_ADDED, mark, NULL, NULL) == 1);
}

/* Removal while the frontend's rings are full, or before it knew it. */
static void t_remove_corner_cases(void)
{
	struct vab_dev *d = add_blk(FE1), *n;
	struct vab_frontend *fe = vab_frontend_find(&b, FE1);
	size_t mark;

	CHECK(d && up(d, 16));
	if (!d || !d->status)
		return;
	chain(d, 0, 1, VIRTIO_BLK_T_OUT, 16 + 4096, 1, true);
	eagain_always = true;
	vab_dev_remove(d);		/* nothing sent: freed all the same */
	CHECK(fe->txq && fe->ndevs == 0);
	eagain_always = false;
	mark = nsent;
	vab_ctrl_tx(fe);
	CHECK(events(fe, VIRTIO_ARGO_T_EV_DEV_REMOVED, mark, NULL, NULL) == 1);
	/* Added and removed before the frontend asked about it: silence. */
	n = add_blk(FE1);
	mark = nsent;
	if (n)
		vab_dev_remove(n);
	CHECK(events(fe, VIRTIO_ARGO_T_EV_DEV_REMOVED, mark, NULL, NULL) == 0);
	/* A frontend that never connected goes with its last device. */
	n = add_blk(FE2);
	CHECK(n && b.nfes == 2);
	if (n)
		vab_dev_remove(n);
	CHECK(b.nfes == 1 && !vab_frontend_find(&b, FE2) && open_eps == 1);
}

/* 64 frontends: a device-less one is let go to make room. */
static void t_frontend_limit(void)
{
	unsigned int i;

	for (i = 1; i <= VAB_MAX_FRONTENDS; i++)
		CHECK(add(&vab_rng_class, "frontend=%u", i));
	CHECK(b.nfes == VAB_MAX_FRONTENDS);
	quiet();
	CHECK(!add(&vab_rng_class, "frontend=100"));
	loud();
	CHECK(hello(vab_frontend_find(&b, 7)) == 1);
	vab_dev_remove(vab_frontend_find(&b, 7)->devs[0]);
	CHECK(b.nfes == VAB_MAX_FRONTENDS);	/* connected: kept */
	CHECK(add(&vab_rng_class, "frontend=100"));
	CHECK(!vab_frontend_find(&b, 7) && vab_frontend_find(&b, 100));
	CHECK(rings() == open_eps && open_eps == 2 * VAB_MAX_FRONTENDS);
}

/* Random adds and removals with chains in flight: invariants hold. */
static void t_churn(void)
{
	unsigned int seed = 7, i, j, f;

	for (i = 0; i < 600; i++) {
		uint16_t fe = (uint16_t)(1 + (seed = seed * 1103515245 + 12345) % 3);
		struct vab_frontend *fp = vab_frontend_find(&b, fe);

		seed = seed * 1103515245 + 12345;
		if ((seed >> 8) % 3 && fp && fp->ndevs) {
			struct vab_dev *d = fp->devs[(seed >> 12) % fp->ndevs];

			if ((seed >> 16) % 2 && d->status == 0x0f)
				chain(d, 0, (uint16_t)((seed >> 4) % 16), -1, 0,
				      32, (seed >> 20) % 2);
			else
				vab_dev_remove(d);
		} else {
			struct vab_dev *d = add(&vab_rng_class, "frontend=%u%s",
						fe, (seed >> 9) % 2 ?
						",rate=1,burst=1" : "");

			if (d && (seed >> 10) % 2)
				up(d, 16);
		}
		/* Indexes unique, ports following them, rings counted. */
		for (f = 0; f < b.nfes; f++) {
			fp = b.fes[f];
			for (j = 0; j < fp->ndevs; j++) {
				struct vab_dev *d = fp->devs[j];
				unsigned int k;

				CHECK(d->ep.port == VIRTIO_ARGO_PORT_DATA_BASE +
				      d->index && d->fe == fp);
				for (k = 0; k < j; k++)
					CHECK(fp->devs[k]->index != d->index);
			}
		}
		CHECK(rings() == open_eps);
		if (case_failed)
			break;
		if (!(i % 50))
			clear_sent();
	}
}

/* ---- Cases: frontends gone --------------------------------------------------- */

/*
 * A frontend whose rings vanish is found when a send to it fails: its
 * state goes, the other frontend's devices go on, and it comes back as new.
 */
static void t_frontend_gone_on_send(void)
{
	struct vab_dev *a = add_blk(FE1);
	struct vab_dev *r = add(&vab_rng_class, "frontend=1,rate=1,burst=1");
	struct vab_dev *o = add(&vab_rng_class, "frontend=2,rate=1,burst=1");
	struct vab_frontend *fe = vab_frontend_find(&b, FE1);
	struct vab_frontend *fe2 = vab_frontend_find(&b, FE2);
	size_t mark;
	int status;

	CHECK(a && r && o && up(a, 16) && up(r, 16) && up(o, 16));
	if (!a || !r || !o || !o->status || !r->status)
		return;
	chain(r, 0, 0, -1, 0, 4, false);
	chain(r, 0, 1, -1, 0, 4, false);		/* held */
	chain(o, 0, 0, -1, 0, 4, false);
	chain(o, 0, 1, -1, 0, 4, false);		/* held */
	chain(a, 0, 5, VIRTIO_BLK_T_OUT, 16 + 4096, 1, true);
	CHECK(r->inflight == 1 && o->inflight == 1 && a->inflight == 1);
	/* The frontend unloads: its rings are no more. */
	set_gone(FE1, FE_CTRL);
	set_gone(FE1, FE_DATA);
	set_gone(FE1, FE_DATA + 1);
	chain(a, 0, 6, VIRTIO_BLK_T_IN, 16, 513, false);	/* send fails */
	CHECK(fe->hello);		/* not yet: at the end of the turn */
	vab_loop_run_timers(&b);
	CHECK(!fe->hello && fe->gone == 1 && !fe->txq);
	CHECK(a->inflight == 0 && r->inflight == 0 && !a->attached &&
	      !r->attached && a->status == 0 && a->mem_used == 0);
	CHECK(renews == 3);		/* our rings: still there */
	/* The other frontend's held chain and timer are untouched. */
	CHECK(fe2->hello && o->inflight == 1 && o->attached);
	CHECK(vab_loop_timeout(&b, -1) > 500);
	/* Requests of the old session: STATE, quietly refused. */
	CHECK(simple(fe, VIRTIO_ARGO_T_RESET, a->handle) == 0xdead);
	/* It comes back: a new session, and the disk works. */
	ngone = 0;
	clear_sent();
	CHECK(up(a, 16));
	mark = nsent;
	chain(a, 0, 6, VIRTIO_BLK_T_IN, 16, 513, false);
	CHECK(completion(FE1, 0, 0, 6, mark, &status) == 513 && status == 0);
	CHECK(fe->gone == 1);
}

/* The periodic check finds a frontend gone without any send failing. */
static void t_frontend_gone_periodic(void)
{
	struct vab_dev *a = add_blk(FE1), *o = add_blk(FE2);
	struct vab_frontend *fe = vab_frontend_find(&b, FE1);
	struct vab_frontend *fe2 = vab_frontend_find(&b, FE2);
	struct timespec ts = { 0, 3 * 1000 * 1000 };
	int t;

	b.fe_check_ms = 2;
	CHECK(a && o && up(a, 16) && up(o, 16));
	if (!a || !o || !a->status)
		return;
	t = vab_loop_timeout(&b, -1);
	CHECK(t >= 0 && t <= 2);
	nanosleep(&ts, NULL);
	vab_loop_run_timers(&b);
	CHECK(fe->hello && fe2->hello && vab_loop_timeout(&b, -1) >= 0);
	/* Its control ring goes while a reply waits to be sent. */
	eagain_always = true;
	CHECK(simple(fe, VIRTIO_ARGO_T_PING, a->handle) == 0xdead);
	CHECK(fe->txq);
	eagain_always = false;
	set_gone(FE1, FE_CTRL);
	nanosleep(&ts, NULL);
	vab_loop_run_timers(&b);
	CHECK(!fe->hello && fe->gone == 1 && !fe->txq && !a->attached);
	CHECK(fe2->hello && o->attached && fe2->gone == 0);
	/* No more checks of it until it says HELLO again. */
	nanosleep(&ts, NULL);
	vab_loop_run_timers(&b);
	CHECK(fe->gone == 1);
	ngone = 0;
	CHECK(hello(fe) == 1 && fe->hello);
	/* A domain that died took our rings: registered again when it is back. */
	set_gone(FE1, FE_CTRL);
	renew_ret[0] = -ESRCH;		/* the control ring: no domain yet */
	renew_ret[1] = -ESRCH;
	renew_ret[2] = 0;		/* then it is there: both renewed */
	renew_ret[3] = 0;
	nrenew_ret = 4;
	renews = 0;
	gone_err = -ESRCH;
	nanosleep(&ts, NULL);
	vab_loop_run_timers(&b);
	CHECK(!fe->hello && fe->gone == 2 && fe->renew && renews == 2);
	nanosleep(&ts, NULL);
	vab_loop_run_timers(&b);
	CHECK(!fe->renew && renews == 4);
	CHECK(a->ep.fd >= 0 && fe->ctrl.fd >= 0);
	nanosleep(&ts, NULL);
	vab_loop_run_timers(&b);
	CHECK(renews == 4);		/* nothing more to do */
}

/* A frontend with a device removed and then gone, and no device: let go. */
static void t_frontend_gone_empty(void)
{
	struct vab_dev *a = add_blk(FE1);
	struct vab_frontend *fe = vab_frontend_find(&b, FE1);

	CHECK(a && up(a, 16));
	if (!a)
		return;
	vab_dev_remove(a);
	CHECK(b.nfes == 1 && fe->ndevs == 0);
	set_gone(FE1, FE_CTRL);
	CHECK(simple(fe, VIRTIO_ARGO_T_PING, 0) == 0xdead);	/* send fails */
	vab_loop_run_timers(&b);
	CHECK(b.nfes == 0 && open_eps == 0);
	CHECK(vab_loop_timeout(&b, -1) == -1);
}

/* SIGTERM: once all is sent, every device a frontend knows is removed. */
static void t_announce_exit(void)
{
	struct vab_dev *a = add_blk(FE1), *c = add_blk(FE1), *o = add_blk(FE2);
	struct vab_dev *x = add_blk(3);
	struct vab_frontend *fe = vab_frontend_find(&b, FE1);
	struct vab_frontend *fe2 = vab_frontend_find(&b, FE2);
	uint32_t dev = 0, index = 9;
	size_t mark;

	CHECK(a && c && o && x && up(a, 16) && up(o, 16));
	if (!a || !c || !o)
		return;
	CHECK(hello(fe) == 2 && dev_info(fe, 0, NULL) == 0);	/* c unknown */
	CHECK(dev_info(fe2, 0, NULL) == 0);
	vab_stop(&b);
	CHECK(vab_idle(&b));
	mark = nsent;
	vab_announce_exit(&b);
	CHECK(events(fe, VIRTIO_ARGO_T_EV_DEV_REMOVED, mark, &dev, &index) == 1);
	CHECK(dev == a->handle && index == 0);
	CHECK(events(fe2, VIRTIO_ARGO_T_EV_DEV_REMOVED, mark, &dev, &index) == 1);
	CHECK(dev == o->handle && index == 0);
	CHECK(events(vab_frontend_find(&b, 3), VIRTIO_ARGO_T_EV_DEV_REMOVED,
		     mark, NULL, NULL) == 0);
	/* Only once. */
	mark = nsent;
	vab_announce_exit(&b);
	CHECK(nsent == mark && vab_idle(&b));
}

/*
 * SIGTERM right after a frontend went (its module unloaded within the
 * second between two checks): the others hear of the removal, it is not
 * sent anything.
 */
static void t_announce_exit_frontend_gone(void)
{
	struct vab_dev *a = add_blk(FE1), *o = add_blk(FE2);
	struct vab_frontend *fe = vab_frontend_find(&b, FE1);
	struct vab_frontend *fe2 = vab_frontend_find(&b, FE2);
	uint32_t dev = 0;
	size_t mark;

	CHECK(a && o && up(a, 16) && up(o, 16));
	if (!a || !o)
		return;
	CHECK(dev_info(fe, 0, NULL) == 0 && dev_info(fe2, 0, NULL) == 0);
	set_gone(FE1, FE_CTRL);
	vab_stop(&b);
	CHECK(vab_idle(&b));
	mark = nsent;
	nrefused = 0;
	vab_announce_exit(&b);
	CHECK(nrefused == 0);
	CHECK(events(fe, VIRTIO_ARGO_T_EV_DEV_REMOVED, mark, NULL, NULL) == 0);
	CHECK(events(fe2, VIRTIO_ARGO_T_EV_DEV_REMOVED, mark, &dev, NULL) == 1);
	CHECK(dev == o->handle);
	CHECK(vab_idle(&b));
}

/* ---- Configuration file -------------------------------------------------------- */

static char errlog[8192];

/*
 * Run @fn with the backend's error lines captured in errlog (and shown
 * with VAB_TEST_LOG): the tests look for the line numbers in them.
 */
static int logged(int (*fn)(struct vab *, const char *), const char *arg)
{
	const char *p = tmpfile_path("stderr.log");
	int saved = dup(2), fd, r;
	enum vab_log_level lvl = vab_log_level;
	ssize_t n;

	fflush(stderr);
	fd = open(p, O_CREAT | O_RDWR | O_TRUNC, 0600);
	if (fd < 0 || saved < 0)
		abort();
	dup2(fd, 2);
	vab_log_level = VAB_LOG_ERROR;
	r = fn(&b, arg);
	fflush(stderr);
	vab_log_level = lvl;
	dup2(saved, 2);
	close(saved);
	n = pread(fd, errlog, sizeof(errlog) - 1, 0);
	errlog[n > 0 ? n : 0] = '\0';
	close(fd);
	if (getenv("VAB_TEST_LOG"))
		fputs(errlog, stderr);
	return r;
}

static int reload(struct vab *v, const char *unused)
{
	(void)unused;
	return vab_config_reload(v);
}

/* Write @text to the configuration file; its path. */
static const char *write_config(const char *text, size_t len)
{
	const char *p = tmpfile_path("vab.conf");
	int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0600);

	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		abort();
	close(fd);
	return p;
}

static char disk_a[128], disk_b[128], disk_c[128];

static void three_disks(void)
{
	snprintf(disk_a, sizeof(disk_a), "%s", mkdisk(1 << 20));
	snprintf(disk_b, sizeof(disk_b), "%s", mkdisk(1 << 20));
	snprintf(disk_c, sizeof(disk_c), "%s/c,x", tmpdir);	/* a comma */
	close(open(disk_c, O_CREAT | O_RDWR, 0600));
	if (truncate(disk_c, 1 << 20))
		abort();
}

static const char *cfg_text(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static const char *cfg_text(const char *fmt, ...)
{
	static char text[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return write_config(text, strlen(text));
}

/* Comments, blanks, CRLF, ",,", ids: the devices in file order. */
static void t_config_load(void)
{
	struct vab_dev *d;
	const char *p;

	three_disks();
	CHECK(add_blk(FE1));			/* as from the command line */
	p = cfg_text("# disks\n"
		     "\n"
		     "   blk   frontend=1,file=%s,id=root\x20\x20\x20\n"
		     "\t# indented comment\n"
		     "blk frontend=2,serial=x y,file=%s\r\n"
		     "rng frontend=1,rate=4K\n"
		     "blk frontend=1,file=%s/c,,x\n",
		     disk_a, disk_b, tmpdir);
	CHECK(logged(vab_config_load, p) == 0);
	d = vab_dev_find(&b, "root");
	CHECK(d && d->index == 1 && d->origin == VAB_FROM_CONFIG &&
	      d->fe->domid == FE1);
	d = vab_dev_find(&b, "blk1");
	CHECK(d && d->fe->domid == FE2 && d->index == 0);
	d = vab_dev_find(&b, "rng0");
	CHECK(d && d->index == 2 && d->fe->domid == FE1);
	d = vab_dev_find(&b, "blk2");
	CHECK(d && d->index == 3 && d->spec &&
	      strstr(d->spec, ",x") && d->origin == VAB_FROM_CONFIG);
	CHECK(rings() == open_eps && open_eps == 7);
	/* The spec does not depend on the order of the properties. */
	d = vab_dev_find(&b, "rng0");
	if (d) {
		char *s = vab_device_spec(&vab_rng_class, "rate=4K,frontend=1");

		CHECK(s && !strcmp(s, d->spec));
		free(s);
	}
}

/* Every kind of error names the file and the line, and adds nothing. */
static void t_config_malformed(void)
{
	static const struct { const char *text; unsigned int line; } bad[] = {
		{ "blk frontend=1,file=%s\ndisk frontend=1\n", 2 },
		{ "\n\nblk\n", 3 },
		{ "blk frontend=1,file=%s,bogus=1\n", 1 },
		{ "rng frontend=1,rate=fast\n", 1 },
		{ "rng rate=1K\n", 1 },
		{ "rng frontend=1,frontend=1\n", 1 },
		{ "rng frontend=0\n", 1 },
		{ "rng frontend=1,id=r\n# x\nrng frontend=2,id=r\n", 3 },
		{ "rng frontend=1,id=1r\n", 1 },
		{ "rng frontend=1,=x\n", 1 },
		{ "rng frontend=1\nblk frontend=1,file=%s/none\n", 2 },
		{ "blk frontend=1,file=%s\nblk frontend=1,file=%s\n", 2 },
	};
	char text[512], want[256];
	const char *p;
	unsigned int i;

	three_disks();
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		const char *arg = strstr(bad[i].text, "none") ? tmpdir : disk_a;

		snprintf(text, sizeof(text), bad[i].text, arg, arg);
		p = write_config(text, strlen(text));
		snprintf(want, sizeof(want), "%s:%u:", p, bad[i].line);
		CHECK(logged(vab_config_load, p) == -1);
		if (!strstr(errlog, want)) {
			printf("    # case %u: no \"%s\" in: %s\n", i, want, errlog);
			case_failed = 1;
		}
		vab_destroy(&b);
		setup();
		CHECK(b.nfes == 0);
	}
	/* A NUL byte; a line too long; no file at all. */
	p = write_config("rng frontend=1\nrng\0 frontend=1\n", 30);
	CHECK(logged(vab_config_load, p) == -1 && strstr(errlog, ":2: a NUL"));
	vab_destroy(&b);
	setup();
	{
		static char big[8192];

		memset(big, 'x', sizeof(big));
		memcpy(big, "rng frontend=1,serial=", 22);
		big[sizeof(big) - 1] = '\n';
		p = write_config(big, sizeof(big));
		CHECK(logged(vab_config_load, p) == -1 &&
		      strstr(errlog, ":1: longer than"));
	}
	vab_destroy(&b);
	setup();
	CHECK(logged(vab_config_load, tmpfile_path("no.conf")) == -1 &&
	      strstr(errlog, "No such file"));
}

/*
 * SIGHUP: unchanged devices are not touched (chains in flight go on),
 * removed ones fail their chains and are announced, changed ones are
 * removed and added, new ones added at the lowest free index.
 */
static void t_config_reload(void)
{
	struct vab_dev *a, *bd, *r, *d;
	struct vab_frontend *fe;
	uint32_t dev = 0, index = 0, ha, hb;
	size_t mark;
	const char *p;
	int status = -1;

	three_disks();
	p = cfg_text("blk frontend=1,file=%s,id=a\n"
		     "blk frontend=1,file=%s\n"
		     "rng frontend=1,rate=1K\n", disk_a, disk_b);
	CHECK(logged(vab_config_load, p) == 0);
	a = vab_dev_find(&b, "a");
	bd = vab_dev_find(&b, "blk0");
	r = vab_dev_find(&b, "rng0");
	fe = vab_frontend_find(&b, FE1);
	CHECK(a && bd && r && fe && up(a, 16) && up(bd, 16) && up(r, 16));
	if (!a || !bd || !r || !a->status || !bd->status)
		return;
	ha = a->handle;
	hb = bd->handle;
	chain(a, 0, 1, VIRTIO_BLK_T_OUT, 16 + 4096, 1, true);
	chain(bd, 0, 1, VIRTIO_BLK_T_OUT, 16 + 4096, 1, true);
	/* a's properties reordered, b gone, the rng changed, two new. */
	p = cfg_text("# reloaded\n"
		     "blk id=a,file=%s,frontend=1\n"
		     "rng frontend=1,rate=2K\n"
		     "blk frontend=2,file=%s/c,,x\n"
		     "rng frontend=1\n", disk_a, tmpdir);
	mark = nsent;
	CHECK(logged(reload, NULL) == 0);
	CHECK(vab_dev_find(&b, "a") == a && a->handle == ha &&
	      a->inflight == 1 && a->status == 0x0f);
	CHECK(fe->ndevs == 3);
	CHECK(completion(FE1, 1, 0, 1, mark, &status) == 1 &&
	      status == VIRTIO_BLK_S_IOERR);
	/* Removed: blk0 (index 1) and rng0 (index 2); both announced. */
	CHECK(events(fe, VIRTIO_ARGO_T_EV_DEV_REMOVED, mark, &dev, &index) == 2);
	/* Added: the new rng at 1, the changed one at 2. */
	CHECK(events(fe, VIRTIO_ARGO_T_EV_DEV_ADDED, mark, NULL, NULL) == 2);
	d = vab_dev_find(&b, "rng0");
	CHECK(d && d->index == 1 && strstr(d->spec, "rate=2K"));
	d = vab_dev_find(&b, "rng1");
	CHECK(d && d->index == 2 && !strstr(d->spec, "rate"));
	d = vab_dev_find(&b, "blk0");
	CHECK(d && d->fe->domid == FE2 && d->index == 0);
	CHECK(hb != 0 && rings() == open_eps && open_eps == 6);
	/* Reloading the same file changes nothing. */
	mark = nsent;
	CHECK(logged(reload, NULL) == 0);
	CHECK(nsent == mark && vab_dev_find(&b, "a") == a && a->inflight == 1);
	/* A device changed in place keeps what it had: the same file. */
	p = cfg_text("blk id=a,file=%s,frontend=1,serial=new\n", disk_a);
	CHECK(logged(reload, NULL) == 0);
	d = vab_dev_find(&b, "a");
	CHECK(d && d != a && d->index == 0 && strstr(d->spec, "serial=new"));
	CHECK(rings() == open_eps && open_eps == 2);
	/* An empty file removes them all; the frontend, connected, stays. */
	p = cfg_text("# nothing\n");
	CHECK(logged(reload, NULL) == 0);
	CHECK(b.nfes == 1 && fe->ndevs == 0 && open_eps == 1);
}

/*
 * A file with an error is rejected as a whole, whether the error is seen
 * reading it or adding a device: the devices are as they were (those it
 * had removed are back at their indexes, with their names).
 */
static void t_config_reload_rejected(void)
{
	struct vab_dev *a, *bd, *x;
	const char *p;
	uint32_t ia, ib;

	three_disks();
	p = cfg_text("blk frontend=1,file=%s\n"
		     "rng frontend=1\n"
		     "blk frontend=1,file=%s\n", disk_a, disk_b);
	CHECK(logged(vab_config_load, p) == 0);
	CHECK(vab_dev_find(&b, "rng0"));
	vab_dev_remove(vab_dev_find(&b, "rng0"));	/* index 1 free */
	a = vab_dev_find(&b, "blk0");
	bd = vab_dev_find(&b, "blk1");
	CHECK(a && bd && a->index == 0 && bd->index == 2);
	if (!a || !bd)
		return;
	a->handle = 77;
	bd->handle = 78;
	ia = a->handle;
	ib = bd->handle;
	/* An error in the text: nothing happens at all. */
	p = cfg_text("blk frontend=1,file=%s\n"
		     "blk frontend=1,file=%s,bogus\n", disk_a, disk_b);
	CHECK(logged(reload, NULL) == -1 && strstr(errlog, "vab.conf:2:") &&
	      strstr(errlog, "not reloaded"));
	CHECK(vab_dev_find(&b, "blk0") == a && vab_dev_find(&b, "blk1") == bd);
	/* An error adding a device, after blk1 was removed for the reload. */
	p = cfg_text("blk frontend=1,file=%s\n"
		     "rng frontend=2\n"
		     "blk frontend=1,file=%s/none.img\n", disk_a, tmpdir);
	CHECK(logged(reload, NULL) == -1 && strstr(errlog, "vab.conf:3:") &&
	      strstr(errlog, "not reloaded"));
	CHECK(vab_dev_find(&b, "blk0") == a && a->handle == ia);
	x = vab_dev_find(&b, "blk1");
	CHECK(x && x != bd && x->index == 2 && x->origin == VAB_FROM_CONFIG &&
	      strstr(x->spec, disk_b));
	CHECK(!vab_dev_find(&b, "rng0") && !vab_frontend_find(&b, FE2));
	CHECK(b.fes[0]->ndevs == 2 && rings() == open_eps && open_eps == 3);
	(void)ib;
	/* An id of a device that does not come from the file: refused. */
	CHECK(add(&vab_rng_class, "frontend=1,id=keep"));
	p = cfg_text("blk frontend=1,file=%s\n"
		     "rng frontend=1,id=keep\n", disk_a);
	CHECK(logged(reload, NULL) == -1 && strstr(errlog, "vab.conf:2:"));
	CHECK(vab_dev_find(&b, "blk1") == x);	/* before anything changed */
	/* Devices of the command line and the socket are never touched. */
	p = cfg_text("# empty\n");
	CHECK(logged(reload, NULL) == 0);
	CHECK(vab_dev_find(&b, "keep") && !vab_dev_find(&b, "blk0") &&
	      !vab_dev_find(&b, "blk1"));
	/* Without --config, nothing to do. */
	vab_config_free(&b);
	CHECK(vab_config_reload(&b) == 0);
}

/* ---- Control socket ------------------------------------------------------------ */

static char sock_path[128];

static void loop_turn(int ms)
{
	struct pollfd p[64];
	unsigned int n = vab_loop_fill(&b, p, 64);

	if (n > 64)
		abort();
	if (poll(p, n, ms) < 0 && errno != EINTR)
		abort();
	vab_loop_dispatch(&b, p, n);
	vab_loop_run_timers(&b);
}

static int connect_ctl(void)
{
	struct sockaddr_un a;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Where the answer in @buf ends (its status line and N lines), or NULL. */
static const char *whole(const char *buf)
{
	const char *nl = strchr(buf, '\n'), *p;
	unsigned long n;
	char *end;

	if (!nl)
		return NULL;
	if (strncmp(buf, "ok ", 3) || buf[3] < '0' || buf[3] > '9')
		return nl + 1;
	n = strtoul(buf + 3, &end, 10);
	if (end != nl)
		return nl + 1;
	for (p = nl + 1; n; n--) {
		p = strchr(p, '\n');
		if (!p)
			return NULL;
		p++;
	}
	return p;
}

/* @k whole answers in @buf. */
static bool whole_n(const char *buf, int k)
{
	while (k-- > 0) {
		buf = whole(buf);
		if (!buf)
			return false;
	}
	return true;
}

static char answer_buf[1 << 16];

/*
 * Run the loop until @fd has @k whole answers (or is closed: then "EOF"
 * follows what came); the answers, valid until the next call.
 */
static const char *answers(int fd, int k)
{
	size_t n = 0;
	ssize_t r;
	int i;

	answer_buf[0] = '\0';
	for (i = 0; i < 400; i++) {
		loop_turn(5);
		r = recv(fd, answer_buf + n, sizeof(answer_buf) - 1 - n, 0);
		if (r > 0) {
			n += (size_t)r;
			answer_buf[n] = '\0';
			if (whole_n(answer_buf, k))
				return answer_buf;
		} else if (!r) {
			snprintf(answer_buf + n, sizeof(answer_buf) - n, "EOF");
			return answer_buf;
		}
	}
	return answer_buf;
}

static const char *answer(int fd)
{
	return answers(fd, 1);
}

static const char *ask(int fd, const char *cmd)
{
	size_t len = strlen(cmd);

	if (send(fd, cmd, len, MSG_NOSIGNAL) != (ssize_t)len)
		return "send failed";
	return answer(fd);
}

static bool starts(const char *s, const char *prefix)
{
	bool ok = !strncmp(s, prefix, strlen(prefix));

	if (!ok)
		printf("    # answer: %.200s\n", s);
	return ok;
}

static bool ctl_open(void)
{
	snprintf(sock_path, sizeof(sock_path), "%s/ctl.sock", tmpdir);
	return vab_control_open(&b, sock_path) == 0;
}

/* Every command, good and bad, through one connection. */
static void t_control_commands(void)
{
	/* Two of the lines "list" gives after the adds below. */
	static const char *const listed[] = {
		"\ndisk blk frontend=1 index=0 from=control state=running inflight=0 props=file=",
		"\nrng0 rng frontend=2 index=0 from=control state=waiting inflight=0 props=frontend=2,rate=1K\n",
	};
	struct vab_frontend *fe;
	struct vab_dev *d;
	const char *a;
	struct stat st;
	char cmd[512];
	size_t mark;
	uint32_t index = 9;
	int fd, status = -1;

	CHECK(ctl_open());
	CHECK(!stat(sock_path, &st) && S_ISSOCK(st.st_mode) &&
	      (st.st_mode & 0777) == 0600);
	fd = connect_ctl();
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(starts(ask(fd, "list\n"), "ok 0\n"));
	CHECK(starts(ask(fd, "help\n"), "ok 6\nadd CLASS PROPS"));
	snprintf(cmd, sizeof(cmd), "add blk frontend=1,file=%s,id=disk\n",
		 mkdisk(1 << 20));
	CHECK(starts(ask(fd, cmd), "ok disk frontend 1 index 0\n"));
	d = vab_dev_find(&b, "disk");
	fe = vab_frontend_find(&b, FE1);
	CHECK(d && fe && d->origin == VAB_FROM_CONTROL && open_eps == 2);
	CHECK(d && up(d, 16));
	/* Blanks around words, CRLF and blank lines are fine. */
	snprintf(cmd, sizeof(cmd), "\n  add\t blk   frontend=1,file=%s  \r\n",
		 mkdisk(1 << 20));
	mark = nsent;
	CHECK(starts(ask(fd, cmd), "ok blk0 frontend 1 index 1\n"));
	CHECK(events(fe, VIRTIO_ARGO_T_EV_DEV_ADDED, mark, NULL, &index) == 1 &&
	      index == 1);
	CHECK(starts(ask(fd, "add rng frontend=2,rate=1K\n"), "ok rng0 frontend 2 index 0\n"));
	CHECK(starts(ask(fd, "add net frontend=2,switch=hp\n"),
		     "ok net0 frontend 2 index 1\n"));
	a = ask(fd, "list\n");
	CHECK(starts(a, "ok 4\n"));
	CHECK(strstr(a, listed[0]));
	CHECK(strstr(a, listed[1]));
	/* Stats and link. */
	if (d && d->status) {
		mark = nsent;
		chain(d, 0, 1, VIRTIO_BLK_T_IN, 16, 513, false);
		CHECK(completion(FE1, 0, 0, 1, mark, &status) == 513);
	}
	a = ask(fd, "stats disk\n");
	CHECK(starts(a, "ok 13\nfrontend 1\nindex 0\n") && strstr(a, "\nchains 1\n"));
	a = ask(fd, "stats net0\n");
	CHECK(starts(a, "ok 26\n") && strstr(a, "\nnet_rx_no_buffer 0\n"));
	CHECK(starts(ask(fd, "link net0 down\n"), "ok net0 link down\n"));
	d = vab_dev_find(&b, "net0");
	CHECK(d && vab_get16(d->config + 6) == 0);
	CHECK(starts(ask(fd, "link net0 up\n"), "ok net0 link up\n"));
	CHECK(d && vab_get16(d->config + 6) == 1);
	CHECK(starts(ask(fd, "link disk up\n"), "error link disk: not a net device\n"));
	CHECK(starts(ask(fd, "link net0 sideways\n"), "error link net0: up or down\n"));
	CHECK(starts(ask(fd, "link net0 up now\n"), "error link net0: up or down\n"));
	/* Removal, announced to the connected frontend. */
	d = vab_dev_find(&b, "disk");
	mark = nsent;
	CHECK(starts(ask(fd, "remove disk\n"), "ok removed disk\n"));
	CHECK(!vab_dev_find(&b, "disk") &&
	      events(fe, VIRTIO_ARGO_T_EV_DEV_REMOVED, mark, NULL, &index) == 1 &&
	      index == 0);
	/* Errors: each answered, the connection stays. */
	CHECK(starts(ask(fd, "remove disk\n"), "error remove: no device disk\n"));
	CHECK(starts(ask(fd, "remove\n"), "error remove: no device ?\n"));
	CHECK(starts(ask(fd, "remove blk0 rng0\n"), "error remove takes one device id\n"));
	CHECK(starts(ask(fd, "stats\n"), "error stats: no device ?\n"));
	CHECK(starts(ask(fd, "list all\n"), "error list takes no argument\n"));
	CHECK(starts(ask(fd, "frobnicate x\n"), "error unknown command frobnicate"));
	CHECK(starts(ask(fd, "add\n"), "error add: no class "));
	CHECK(starts(ask(fd, "add disk frontend=1\n"), "error add: no class disk"));
	CHECK(starts(ask(fd, "add rng\n"), "error add rng: no properties\n"));
	CHECK(starts(ask(fd, "add rng frontend=1,bogus=2\n"),
		     "error control: add rng: unknown property bogus\n"));
	CHECK(starts(ask(fd, "add rng frontend=1,rate=x\n"),
		     "error control: add rng: rate=x: invalid value\n"));
	CHECK(starts(ask(fd, "add rng rate=1\n"),
		     "error control: add rng: frontend=DOMAIN is required\n"));
	CHECK(starts(ask(fd, "add rng frontend=1,id=rng0\n"),
		     "error control: add rng: frontend 1: a device with this id exists\n"));
	snprintf(cmd, sizeof(cmd), "add blk frontend=1,file=%s/none\n", tmpdir);
	a = ask(fd, cmd);
	CHECK(starts(a, "error blk1: open ") && strstr(a, "/none: No such file"));
	CHECK(starts(ask(fd, "add rng frontend=0\n"),
		     "error control: add rng: frontend=0 is the backend's own domain\n"));
	CHECK(b.nfes == 2 && open_eps == 5);
	CHECK(starts(ask(fd, "list\n"), "ok 3\n"));
	/* Pipelined: several commands in one write, answered in order. */
	CHECK(send(fd, "list\nremove rng0\nlist\n", 22, 0) == 22);
	a = answers(fd, 3);
	CHECK(starts(a, "ok 3\n"));
	a = whole(a);
	CHECK(a && starts(a, "ok removed rng0\nok 2\n"));
	close(fd);
	/* Closing the socket removes it; devices stay. */
	vab_control_close(&b);
	CHECK(access(sock_path, F_OK) && b.nfes == 2);
}

/* Hostile clients: overlong lines, control bytes, never reading, crowds. */
static void t_control_hostile(void)
{
	static char big[3 * 4096];
	struct vab_frontend *fe;
	int fd, fds[20], i, n;

	CHECK(ctl_open());
	CHECK(add(&vab_rng_class, "frontend=1"));
	/* A line of 4096 bytes and more: an error, then the door. */
	fd = connect_ctl();
	memset(big, 'a', sizeof(big));
	CHECK(send(fd, big, 4096, MSG_NOSIGNAL) == 4096);
	CHECK(starts(answer(fd), "error line longer than 4095 bytes\n"));
	CHECK(starts(answer(fd), "EOF"));
	close(fd);
	/* 4095 bytes and a newline is a line: an unknown command. */
	fd = connect_ctl();
	big[4095] = '\n';
	CHECK(send(fd, big, 4096, MSG_NOSIGNAL) == 4096);
	CHECK(starts(answer(fd), "error unknown command aaaaaaaaaaaaaaaa ("));
	CHECK(starts(ask(fd, "list\n"), "ok 1\n"));
	close(fd);
	/* NUL and escape bytes. */
	fd = connect_ctl();
	CHECK(send(fd, "list\0\n", 6, MSG_NOSIGNAL) == 6);
	CHECK(starts(answer(fd), "error a control character in the command\n"));
	CHECK(starts(answer(fd), "EOF"));
	close(fd);
	fd = connect_ctl();
	CHECK(starts(ask(fd, "remove \033[2Jrng0\n"), "error a control character"));
	close(fd);
	CHECK(vab_dev_find(&b, "rng0"));
	/* A last line without its newline, then the write side shut. */
	fd = connect_ctl();
	CHECK(send(fd, "list", 4, MSG_NOSIGNAL) == 4 && !shutdown(fd, SHUT_WR));
	CHECK(starts(answer(fd), "ok 1\nrng0 rng"));
	CHECK(starts(answer(fd), "EOF"));
	close(fd);
	/*
	 * A client that does not read: its commands wait behind their
	 * answers (the backend holds one at a time), others are served.
	 * 400 lists of 100 devices are megabytes: the remove behind them
	 * runs only once the client has read them.
	 */
	for (i = 0; i < 99; i++)
		CHECK(add(&vab_rng_class, "frontend=2"));
	fd = connect_ctl();
	for (i = 0; i < 400; i++)
		memcpy(big + 5 * i, "list\n", 5);
	memcpy(big + 2000, "remove rng0\n", 12);
	CHECK(send(fd, big, 2012, MSG_NOSIGNAL) == 2012);
	for (i = 0; i < 50; i++)
		loop_turn(1);
	CHECK(vab_dev_find(&b, "rng0"));
	fds[0] = connect_ctl();
	CHECK(starts(ask(fds[0], "list\n"), "ok 100\n"));
	close(fds[0]);
	for (i = 0, n = 0; i < 4000 && vab_dev_find(&b, "rng0"); i++) {
		loop_turn(1);
		while (recv(fd, big, sizeof(big), MSG_DONTWAIT) > 0)
			n++;
	}
	CHECK(!vab_dev_find(&b, "rng0") && n > 0);
	close(fd);
	while ((fe = vab_frontend_find(&b, FE2)) && fe->ndevs)
		vab_dev_remove(fe->devs[0]);
	CHECK(!vab_frontend_find(&b, FE2));
	CHECK(add(&vab_rng_class, "frontend=1"));
	/* One that sent commands and left without reading a thing. */
	fd = connect_ctl();
	CHECK(send(fd, big, 2000, MSG_NOSIGNAL) == 2000);
	for (i = 0; i < 5; i++)
		loop_turn(1);
	close(fd);
	for (i = 0; i < 20; i++)
		loop_turn(1);
	/* More connections than served: the 17th is told and closed. */
	for (i = 0; i < 17; i++) {
		fds[i] = connect_ctl();
		loop_turn(1);
	}
	CHECK(starts(answer(fds[16]), "error too many connections\n"));
	CHECK(starts(answer(fds[16]), "EOF"));
	CHECK(starts(ask(fds[0], "list\n"), "ok 1\n"));
	CHECK(starts(ask(fds[15], "list\n"), "ok 1\n"));
	for (i = 0; i < 17; i++)
		close(fds[i]);
	/* A client that hangs up in the middle of everything. */
	fd = connect_ctl();
	CHECK(send(fd, "list\nlist\nlist\n", 15, MSG_NOSIGNAL) == 15);
	close(fd);
	for (i = 0; i < 20; i++)
		loop_turn(1);
	fd = connect_ctl();
	CHECK(starts(ask(fd, "list\n"), "ok 1\n"));
	close(fd);
}

/* The socket's file: stale ones replaced, live or foreign ones refused. */
static void t_control_socket_file(void)
{
	struct sockaddr_un a;
	int fd, other;
	pid_t pid;

	snprintf(sock_path, sizeof(sock_path), "%s/ctl.sock", tmpdir);
	/* A regular file there: refused, left alone. */
	close(open(sock_path, O_CREAT | O_WRONLY, 0600));
	quiet();
	CHECK(vab_control_open(&b, sock_path) == -EEXIST);
	loud();
	CHECK(!access(sock_path, F_OK));
	unlink(sock_path);
	/* A listening socket of another process: refused. */
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
	other = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(other >= 0 && !bind(other, (struct sockaddr *)&a, sizeof(a)) &&
	      !listen(other, 1));
	quiet();
	CHECK(vab_control_open(&b, sock_path) == -EADDRINUSE);
	loud();
	/* Once it is closed, the socket is stale: taken over. */
	close(other);
	CHECK(vab_control_open(&b, sock_path) == 0);
	quiet();
	CHECK(vab_control_open(&b, sock_path) == -EEXIST);	/* twice */
	loud();
	/* Another user may not connect, even with the mode opened up. */
	if (geteuid() == 0) {
		CHECK(!chmod(sock_path, 0666) && !chmod(tmpdir, 0755));
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			char c;
			int r = 2;

			if (!setgid(65534) && !setuid(65534)) {
				struct pollfd pf;

				/* Accepted by the kernel, closed unanswered. */
				fd = connect_ctl();
				r = 3;
				if (fd >= 0) {
					if (send(fd, "list\n", 5, MSG_NOSIGNAL) < 0)
						_exit(0);	/* closed already */
					pf.fd = fd;
					pf.events = POLLIN;
					r = poll(&pf, 1, 5000) == 1 &&
					    recv(fd, &c, 1, 0) <= 0 ? 0 : 1;
				}
			}
			_exit(r);
		}
		if (pid > 0) {
			int status = -1, i;

			for (i = 0; i < 1000 && waitpid(pid, &status, WNOHANG) == 0; i++)
				loop_turn(5);
			CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		}
		chmod(tmpdir, 0700);
	}
	/* Replaced under us: not removed at close. */
	unlink(sock_path);
	close(open(sock_path, O_CREAT | O_WRONLY, 0600));
	vab_control_close(&b);
	CHECK(!access(sock_path, F_OK));
	unlink(sock_path);
}

/* ---- The programs ---------------------------------------------------------------- */

static const char *backend_bin, *ctl_bin;

/* Run @argv while the loop turns; its exit status, its output in *@out. */
static int run_ctl(const char *const argv[], char *out, size_t outlen)
{
	int p[2], status = -1, i;
	size_t n = 0;
	pid_t pid;

	if (pipe(p))
		abort();
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	for (i = 0; i < 2000; i++) {
		ssize_t r;

		loop_turn(5);
		r = read(p[0], out + n, outlen - 1 - n);
		if (r > 0)
			n += (size_t)r;
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
	}
	while (n < outlen - 1) {
		ssize_t r = read(p[0], out + n, outlen - 1 - n);

		if (r <= 0)
			break;
		n += (size_t)r;
	}
	out[n] = '\0';
	close(p[0]);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* virtio-argo-ctl against a backend's socket: output and exit statuses. */
static void t_ctl_client(void)
{
	char out[4096], arg[256];

	if (!ctl_bin) {
		case_skip = "no virtio-argo-ctl given";
		return;
	}
	CHECK(ctl_open());
	snprintf(arg, sizeof(arg), "frontend=1,file=%s", mkdisk(1 << 20));
	CHECK(run_ctl((const char *const[]){ ctl_bin, "--control", sock_path,
		      "add", "blk", arg, NULL }, out, sizeof(out)) == 0);
	CHECK(!strcmp(out, "blk0 frontend 1 index 0\n"));
	CHECK(run_ctl((const char *const[]){ ctl_bin, "-c", sock_path,
		      "list", NULL }, out, sizeof(out)) == 0);
	CHECK(!strncmp(out, "blk0 blk frontend=1 index=0 from=control", 40));
	CHECK(run_ctl((const char *const[]){ ctl_bin, "-c", sock_path,
		      "remove", "blk0", NULL }, out, sizeof(out)) == 0);
	CHECK(!strcmp(out, "removed blk0\n"));
	CHECK(run_ctl((const char *const[]){ ctl_bin, "-c", sock_path,
		      "list", NULL }, out, sizeof(out)) == 0 && !*out);
	CHECK(run_ctl((const char *const[]){ ctl_bin, "-c", sock_path,
		      "remove", "blk0", NULL }, out, sizeof(out)) == 1);
	CHECK(!strcmp(out, "remove: no device blk0\n"));
	CHECK(run_ctl((const char *const[]){ ctl_bin, "-c", sock_path,
		      "add", "rng", "frontend=1,bogus", NULL }, out,
		      sizeof(out)) == 1);
	CHECK(strstr(out, "unknown property bogus"));
	CHECK(run_ctl((const char *const[]){ ctl_bin, "-c",
		      tmpfile_path("no.sock"), "list", NULL }, out,
		      sizeof(out)) == 2);
	CHECK(run_ctl((const char *const[]){ ctl_bin, "list", NULL }, out,
		      sizeof(out)) == 2);		/* no socket named */
	CHECK(run_ctl((const char *const[]){ ctl_bin, "--help", NULL }, out,
		      sizeof(out)) == 0 && strstr(out, "usage"));
	CHECK(run_ctl((const char *const[]){ ctl_bin, "-c", sock_path, NULL },
		      out, sizeof(out)) == 2);
	CHECK(run_ctl((const char *const[]){ ctl_bin, "-c", sock_path,
		      "list\nremove", NULL }, out, sizeof(out)) == 2);
	setenv("VIRTIO_ARGO_CONTROL", sock_path, 1);
	CHECK(run_ctl((const char *const[]){ ctl_bin, "help", NULL }, out,
		      sizeof(out)) == 0 && strstr(out, "remove ID"));
	unsetenv("VIRTIO_ARGO_CONTROL");
}

/* The backend's new options: errors exit 2 before anything is bound. */
static void t_backend_options(void)
{
	const char *p;
	char out[4096];

	if (!backend_bin) {
		case_skip = "no backend binary given";
		return;
	}
	p = cfg_text("blk frontend=1\n");		/* no file= */
	CHECK(run_ctl((const char *const[]){ backend_bin, "--domain", "0",
		      "--config", p, NULL }, out, sizeof(out)) == 2);
	CHECK(strstr(out, "vab.conf:1: blk: blk0: not added"));
	p = cfg_text("blk frontend=1,file=%s\nrng\n", mkdisk(4096));
	CHECK(run_ctl((const char *const[]){ backend_bin, "--domain", "0",
		      "--config", p, NULL }, out, sizeof(out)) == 2);
	CHECK(strstr(out, "vab.conf:2: rng: no properties"));
	CHECK(run_ctl((const char *const[]){ backend_bin, "--domain", "0",
		      "--config", tmpfile_path("none.conf"), NULL }, out,
		      sizeof(out)) == 2);
	CHECK(run_ctl((const char *const[]){ backend_bin, "--config", p,
		      "--config", p, NULL }, out, sizeof(out)) == 2);
	CHECK(run_ctl((const char *const[]){ backend_bin, "--control", "a",
		      "--control", "b", NULL }, out, sizeof(out)) == 2);
	CHECK(run_ctl((const char *const[]){ backend_bin, "--domain", "0",
		      NULL }, out, sizeof(out)) == 2 &&
	      strstr(out, "no device given"));
}

/*
 * The real binary with no device yet runs without /dev/argo: its socket
 * answers virtio-argo-ctl, SIGHUP reads its file (a bad one changes
 * nothing), SIGTERM ends it with status 0 and its socket gone.
 */
static void t_backend_process(void)
{
	char out[4096], log[8192], sock[128];
	const char *p, *logp = tmpfile_path("backend.log");
	int status = -1, fd, i;
	ssize_t n;
	pid_t pid;

	if (!backend_bin || !ctl_bin) {
		case_skip = "no backend or virtio-argo-ctl given";
		return;
	}
	if (!access("/dev/argo", F_OK)) {
		case_skip = "/dev/argo exists: the backend would use it";
		return;
	}
	snprintf(sock, sizeof(sock), "%s/b.sock", tmpdir);
	p = cfg_text("# nothing yet\n");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		fd = open(logp, O_CREAT | O_WRONLY | O_TRUNC, 0600);
		dup2(fd, 2);
		execl(backend_bin, backend_bin, "--domain", "0", "--config", p,
		      "--control", sock, (char *)NULL);
		_exit(127);
	}
	CHECK(pid > 0);
	if (pid <= 0)
		return;
	for (i = 0; i < 500 && access(sock, F_OK); i++)
		usleep(10000);
	CHECK(run_ctl((const char *const[]){ ctl_bin, "-c", sock, "list",
		      NULL }, out, sizeof(out)) == 0 && !*out);
	/* A device needs a ring: no /dev/argo here, so the add fails. */
	CHECK(run_ctl((const char *const[]){ ctl_bin, "-c", sock, "add", "rng",
		      "frontend=1", NULL }, out, sizeof(out)) == 1);
	CHECK(strstr(out, "/dev/argo"));
	CHECK(run_ctl((const char *const[]){ ctl_bin, "-c", sock, "list",
		      NULL }, out, sizeof(out)) == 0 && !*out);
	/* SIGHUP with a bad file: logged with its line, still running. */
	p = cfg_text("rng frontend=1\nbogus\n");
	kill(pid, SIGHUP);
	CHECK(run_ctl((const char *const[]){ ctl_bin, "-c", sock, "help",
		      NULL }, out, sizeof(out)) == 0);
	kill(pid, SIGTERM);
	for (i = 0; i < 500 && waitpid(pid, &status, WNOHANG) == 0; i++)
		usleep(10000);
	if (i == 500) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(access(sock, F_OK));
	fd = open(logp, O_RDONLY);
	n = fd >= 0 ? read(fd, log, sizeof(log) - 1) : -1;
	log[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
	CHECK(strstr(log, "vab.conf:2: bogus: not a device class"));
	CHECK(strstr(log, "not reloaded"));
	CHECK(strstr(log, "control socket"));
}

/* ---- Main -------------------------------------------------------------------- */

struct tcase {
	const char *name;
	void (*fn)(void);
};

static const struct tcase cases[] = {
	{ "index_lowest_free_and_holes", t_index_reuse },
	{ "index_limit", t_index_limit },
	{ "add_announced_to_connected_frontend", t_add_announced },
	{ "add_failure_leaves_nothing", t_add_fails_cleanly },
	{ "remove_blk_with_chains_in_flight", t_remove_blk_in_flight },
	{ "remove_with_chain_waiting_for_memory", t_remove_ready },
	{ "removed_ring_lingers_for_the_frontend", t_remove_linger },
	{ "remove_with_held_chains", t_remove_held },
	{ "remove_full_ring_and_unknown", t_remove_corner_cases },
	{ "frontend_limit_lets_go_of_empty", t_frontend_limit },
	{ "add_remove_churn", t_churn },
	{ "frontend_gone_on_failed_send", t_frontend_gone_on_send },
	{ "frontend_gone_periodic_check", t_frontend_gone_periodic },
	{ "frontend_gone_without_devices", t_frontend_gone_empty },
	{ "sigterm_removes_devices", t_announce_exit },
	{ "sigterm_skips_frontend_gone", t_announce_exit_frontend_gone },
	{ "config_file_loaded", t_config_load },
	{ "config_file_errors_name_the_line", t_config_malformed },
	{ "config_reload_adds_removes_keeps", t_config_reload },
	{ "config_reload_rejected_as_a_whole", t_config_reload_rejected },
	{ "control_commands", t_control_commands },
	{ "control_hostile_clients", t_control_hostile },
	{ "control_socket_file", t_control_socket_file },
	{ "ctl_client", t_ctl_client },
	{ "backend_options", t_backend_options },
	{ "backend_process_control_and_signals", t_backend_process },
};

int main(int argc, char **argv)
{
	unsigned int i, n = ARRAY_SIZE(cases), failed = 0;

	backend_bin = argc > 1 ? argv[1] : NULL;
	ctl_bin = argc > 2 ? argv[2] : NULL;
	loud();
	if (!h_mkdtemp(tmpdir, sizeof(tmpdir), "vab-hotplug")) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	ktap_start(n);
	for (i = 0; i < n; i++) {
		case_failed = 0;
		case_skip = NULL;
		setup();
		cases[i].fn();
		teardown();
		ktap_result(i + 1, cases[i].name, case_failed, case_skip);
		failed += (unsigned int)case_failed;
	}
	free(sent);
	h_rmtree(tmpdir, "");
	return failed ? 1 : 0;
}
