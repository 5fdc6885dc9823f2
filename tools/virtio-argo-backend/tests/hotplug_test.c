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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/virtio_blk.h>

#include "../backend.h"
#include "../options.h"

#define FE1		1
#define FE2		2
#define FE_CTRL		0x1000
#define FE_DATA		0x2000

/* ---- Reporting ------------------------------------------------------------ */

static int case_failed;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		printf("    # %s:%d: %s\n", __FILE__, __LINE__, #cond);	\
		case_failed = 1;					\
	}								\
} while (0)

/* ---- Recording transport -------------------------------------------------- */

struct msg {
	struct vab_ep *ep;
	uint16_t domain;
	uint32_t port;
	uint32_t type;
	size_t len;
	uint8_t *buf;
};

static struct msg *sent;
static size_t nsent, capsent;
static bool eagain_always;
/* Rings of frontends that are gone: sends and queries are refused. */
static uint32_t gone_port[8];
static uint16_t gone_dom[8];
static unsigned int ngone;
static int gone_err = -ECONNREFUSED;
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

static int t_send(void *ctx, struct vab_ep *ep, uint16_t domain, uint32_t port,
		  uint32_t type, const void *buf, size_t len)
{
	struct msg *m;

	(void)ctx;
	if (eagain_always)
		return -EAGAIN;
	if (is_gone(domain, port))
		return gone_err;
	if (nsent == capsent) {
		capsent = capsent ? capsent * 2 : 64;
		sent = realloc(sent, capsent * sizeof(*sent));
		if (!sent)
			abort();
	}
	m = &sent[nsent++];
	m->ep = ep;
	m->domain = domain;
	m->port = port;
	m->type = type;
	m->len = len;
	m->buf = malloc(len ? len : 1);
	if (!m->buf)
		abort();
	memcpy(m->buf, buf, len);
	return 0;
}

static int t_max_msg(void *ctx, struct vab_ep *ep, uint16_t domain,
		     uint32_t port, uint32_t *max)
{
	(void)ctx;
	(void)ep;
	if (is_gone(domain, port))
		return gone_err;
	*max = (1U << 20) - 32;
	return 0;
}

static void t_discard(void *ctx, struct vab_ep *ep)
{
	(void)ctx;
	(void)ep;
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
	.send = t_send,
	.max_msg = t_max_msg,
	.discard_rx = t_discard,
	.open_ep = t_open,
	.close_ep = t_close,
	.renew_ep = t_renew,
};

static void clear_sent(void)
{
	size_t i;

	for (i = 0; i < nsent; i++)
		free(sent[i].buf);
	nsent = 0;
}

/* ---- Fixture --------------------------------------------------------------- */

/* Errors expected from here: not shown even with VAB_TEST_LOG. */
static void quiet(void)
{
	vab_log_level = VAB_LOG_ERROR + 1;
}

static void loud(void)
{
	vab_log_level = getenv("VAB_TEST_LOG") ? VAB_LOG_DEBUG :
			VAB_LOG_ERROR + 1;
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
	int fd;

	snprintf(name, sizeof(name), "disk%u.img", nfiles++);
	p = tmpfile_path(name);
	fd = open(p, O_CREAT | O_RDWR | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, size))
		abort();
	close(fd);
	return p;
}

static void setup(void)
{
	clear_sent();
	eagain_always = false;
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
		n += b.fes[f]->ctrl.fd >= 0;
		for (i = 0; i < b.fes[f]->ndevs; i++)
			n += b.fes[f]->devs[i]->ep.fd >= 0;
	}
	return n;
}

/* ---- Control helpers -------------------------------------------------------- */

static uint32_t next_tag = 100;

static struct msg *ctrl(struct vab_frontend *fe, uint32_t type, uint32_t devh,
			void *buf, size_t len)
{
	struct virtio_argo_hdr *h = buf;
	size_t before = nsent;

	h->dev = htole32(devh);
	h->tag = htole32(++next_tag);
	vab_ctrl_rx(fe, fe->domid, FE_CTRL, type, buf, len);
	for (; before < nsent; before++)
		if (sent[before].type == (type | VIRTIO_ARGO_REPLY) &&
		    vab_get32(sent[before].buf + 4) == next_tag)
			return &sent[before];
	return NULL;
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
	struct virtio_argo_hello h;
	struct msg *m;

	memset(&h, 0, sizeof(h));
	h.version_min = htole16(1);
	h.version_max = htole16(1);
	m = ctrl(fe, VIRTIO_ARGO_T_HELLO, 0, &h, sizeof(h));
	if (st(m) || m->len != sizeof(struct virtio_argo_hello_reply))
		return -1;
	return vab_get16(m->buf + 18);
}

/* DEV_INFO of @index: the status; the handle in *@h. */
static uint32_t dev_info(struct vab_frontend *fe, uint32_t index, uint32_t *h)
{
	struct virtio_argo_dev_info di;
	struct msg *m;

	memset(&di, 0, sizeof(di));
	di.index = htole32(index);
	m = ctrl(fe, VIRTIO_ARGO_T_DEV_INFO, 0, &di, sizeof(di));
	if (!st(m) && h)
		*h = vab_get32(m->buf + 16);
	return st(m);
}

/* ATTACH or SET_STATUS: the header and two 32-bit values. */
static uint32_t req32(struct vab_frontend *fe, uint32_t type, uint32_t devh,
		      uint32_t a, uint32_t bb)
{
	uint8_t buf[16];

	memset(buf, 0, sizeof(buf));
	vab_put32(buf + 8, a);
	vab_put32(buf + 12, bb);
	return st(ctrl(fe, type, devh, buf, 16));
}

/* HELLO if needed, DEV_INFO, ATTACH, features, queues, DRIVER_OK. */
static bool up(struct vab_dev *d, uint16_t qsize)
{
	struct vab_frontend *fe = d->fe;
	uint8_t buf[16];
	uint32_t h = 0, q;

	if (!fe->hello && hello(fe) < 0)
		return false;
	if (dev_info(fe, d->index, &h) || h != d->handle)
		return false;
	if (req32(fe, VIRTIO_ARGO_T_ATTACH, h, FE_DATA + d->index, 1U << 20))
		return false;
	memset(buf, 0, sizeof(buf));
	vab_put64(buf + 8, d->features_offered);
	if (st(ctrl(fe, VIRTIO_ARGO_T_SET_FEATURES, h, buf, 16)))
		return false;
	if (req32(fe, VIRTIO_ARGO_T_SET_STATUS, h, 0x0b, 0))
		return false;
	for (q = 0; q < d->num_queues; q++) {
		memset(buf, 0, sizeof(buf));
		vab_put16(buf + 8, (uint16_t)q);
		vab_put16(buf + 10, qsize);
		vab_put32(buf + 12, VIRTIO_ARGO_QUEUE_ENABLE);
		if (st(ctrl(fe, VIRTIO_ARGO_T_QUEUE_SETUP, h, buf, 16)))
			return false;
	}
	return !req32(fe, VIRTIO_ARGO_T_SET_STATUS, h, 0x0f, 0) &&
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
	uint8_t *p;
	size_t off, recs = sizeof(struct virtio_argo_chain) + 16;
	uint32_t sent_out = partial ? out / 2 : out;
	uint16_t ndesc = (out ? 1 : 0) + (in ? 1 : 0);

	recs = sizeof(struct virtio_argo_chain) + 8U * ndesc;
	off = VIRTIO_ARGO_ALIGN(16 + recs);
	p = calloc(1, off + sent_out);
	if (!p)
		abort();
	vab_put32(p, d->handle);
	vab_put32(p + 4, SESSION);
	vab_put16(p + 8, 1);
	vab_put32(p + 12, (uint32_t)off);
	vab_put16(p + 16, q);
	vab_put16(p + 18, VIRTIO_ARGO_CHAIN_FIRST |
		  (partial ? 0 : VIRTIO_ARGO_CHAIN_LAST));
	vab_put16(p + 20, id);
	vab_put16(p + 22, ndesc);
	vab_put32(p + 24, out);
	vab_put32(p + 28, in);
	vab_put32(p + 32, 0);
	vab_put32(p + 36, sent_out);
	off = 40;
	if (out) {
		vab_put32(p + off, out);
		off += 8;
	}
	if (in) {
		vab_put32(p + off, in);
		vab_put32(p + off + 4, VIRTIO_ARGO_DESC_WRITE);
	}
	off = VIRTIO_ARGO_ALIGN(16 + recs);
	if (blk_type >= 0 && sent_out >= 16) {
		vab_put32(p + off, (uint32_t)blk_type);
		vab_put64(p + off + 8, 0);
	}
	vab_data_rx(d, d->fe->domid, FE_DATA + d->index,
		    VIRTIO_ARGO_T_DATA_REQ, p, off + sent_out);
	free(p);
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
			printf("    # bad completion message\n");
			case_failed = 1;
			continue;
		}
		for (i = 0, data = data_off; i < nrec; i++) {
			const uint8_t *r = m->buf + 16 + 24 * i;
			uint32_t len = vab_get32(r + 16);

			if (data + len > m->len) {
				printf("    # completion beyond its message\n");
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
	CHECK(add_blk(FE2) != NULL);
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
	CHECK(fe->ndevs == 1 && open_eps == 2);
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
	/* The other one's chain is still held, its timer armed. */
	CHECK(o->inflight == 1 && vab_loop_timeout(&b, -1) > 500);
	vab_dev_remove(o);
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
		CHECK(add(&vab_rng_class, "frontend=%u", i) != NULL);
	CHECK(b.nfes == VAB_MAX_FRONTENDS);
	quiet();
	CHECK(!add(&vab_rng_class, "frontend=100"));
	loud();
	CHECK(hello(vab_frontend_find(&b, 7)) == 1);
	vab_dev_remove(vab_frontend_find(&b, 7)->devs[0]);
	CHECK(b.nfes == VAB_MAX_FRONTENDS);	/* connected: kept */
	CHECK(add(&vab_rng_class, "frontend=100") != NULL);
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
	{ "remove_with_held_chains", t_remove_held },
	{ "remove_full_ring_and_unknown", t_remove_corner_cases },
	{ "frontend_limit_lets_go_of_empty", t_frontend_limit },
	{ "add_remove_churn", t_churn },
	{ "frontend_gone_on_failed_send", t_frontend_gone_on_send },
	{ "frontend_gone_periodic_check", t_frontend_gone_periodic },
	{ "frontend_gone_without_devices", t_frontend_gone_empty },
	{ "sigterm_removes_devices", t_announce_exit },
};

int main(void)
{
	unsigned int i, n = ARRAY_SIZE(cases), failed = 0;
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char cmd[128];

	loud();
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(tmpdir, sizeof(tmpdir), "%s/vab-hotplug-XXXXXX", tmp);
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	printf("KTAP version 1\n1..%u\n", n);
	for (i = 0; i < n; i++) {
		case_failed = 0;
		setup();
		cases[i].fn();
		teardown();
		printf("%s %u %s\n", case_failed ? "not ok" : "ok", i + 1,
		       cases[i].name);
		failed += (unsigned int)case_failed;
	}
	free(sent);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd))
		printf("# could not remove %s\n", tmpdir);
	return failed ? 1 : 0;
}
