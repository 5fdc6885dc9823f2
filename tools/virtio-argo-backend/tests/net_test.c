// SPDX-License-Identifier: MIT
/*
 * Host unit tests of virtio-argo-backend's virtio-net class (net.c)
 * without /dev/argo: simulated frontends drive the protocol layer with
 * messages (vab_ctrl_rx()/vab_data_rx()), a recording transport captures
 * the completions, which are reassembled and checked as a strict frontend
 * would.  Frames are exchanged through the built-in switch between
 * frontends; with root and /dev/net/tun, a tap device in a private network
 * namespace is tested against the kernel's IP stack too.  Built with
 * AddressSanitizer and UndefinedBehaviorSanitizer like backend_test.
 *
 * Prints one KTAP document.
 *
 * Copyright (c) 2026 The virtio-argo authors
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <linux/virtio_net.h>

#include "../backend.h"
#include "../options.h"
#include "harness.h"

#define QSIZE		256
#define HDR		12
#define SMALL_BUF	(HDR + 1518)		/* Linux's small buffers */
#define BIG_BUF		(HDR + 4064 + 17 * 4096)	/* and its big ones */

#define F(bit)		(1ULL << VIRTIO_NET_F_##bit)
#define F_BASE		(1ULL << 32 | F(MAC) | F(STATUS) | F(MTU))
#define F_ALL		(~0ULL)

static size_t parsed;	/* sent[] up to here parsed */

static const struct vab_transport transport = {
	.send = t_send,
	.max_msg = t_max_msg,
};

/* clear_sent(), and nothing of it parsed. */
static void forget_sent(void)
{
	clear_sent();
	parsed = 0;
}

/* ---- Simulated frontend devices --------------------------------------------- */

/* A completed chain as the frontend saw it. */
struct done {
	struct done *next;
	uint16_t queue;
	uint16_t id;
	uint32_t written;
	uint8_t *buf;
};

struct port {
	struct vab_dev *d;
	uint32_t h;
	bool busy[2][QSIZE];
	uint32_t in_len[QSIZE];		/* of each receive chain posted */
	/* Reassembly of completions in progress, per queue and id. */
	uint8_t *part[2][QSIZE];
	uint32_t got[2][QSIZE];
	struct done *rx, **rx_tail;	/* receive completions, in order */
	unsigned int tx_done;		/* transmit completions */
	bool nocomp;			/* OUT_NOCOMP accepted at its HELLO */
	unsigned int tx_early;		/* transmit chains it completed itself */
	unsigned int tx_written;	/* their written bytes: must stay 0 */
	bool bad;			/* a completion a driver would refuse */
};

#define MAXPORTS 8
static struct port ports[MAXPORTS];
static unsigned int nports;
static struct vab b;

static void port_fail(struct port *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void port_fail(struct port *p, const char *fmt, ...)
{
	va_list ap;

	printf("    # %s of frontend %u: ", p->d->name, p->d->fe->domid);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	p->bad = true;
}

static struct port *port_of_ep(const struct vab_ep *ep)
{
	unsigned int i;

	for (i = 0; i < nports; i++)
		if (&ports[i].d->ep == ep)
			return &ports[i];
	return NULL;
}

static void comp_parse(struct port *p, const struct msg *m)
{
	uint32_t nrec, data_off, i, pos = 16, data;

	if (m->type != VIRTIO_ARGO_T_DATA_COMP || m->len < 16 ||
	    vab_get32(m->buf) != p->h || m->domain != p->d->fe->domid) {
		port_fail(p, "bad message type %#x / handle", m->type);
		return;
	}
	nrec = vab_get16(m->buf + 8);
	data_off = vab_get32(m->buf + 12);
	if (!nrec || data_off != 16 + 24 * nrec || data_off > m->len) {
		port_fail(p, "nrec %u data_off %u", nrec, data_off);
		return;
	}
	for (i = 0, data = data_off; i < nrec; i++, pos += 24) {
		const uint8_t *r = m->buf + pos;
		uint16_t q = vab_get16(r), flags = vab_get16(r + 2);
		uint16_t id = vab_get16(r + 4);
		uint32_t written = vab_get32(r + 8), off = vab_get32(r + 12);
		uint32_t len = vab_get32(r + 16);
		struct done *dn;

		if (q > 1 || id >= QSIZE || !p->busy[q][id] ||
		    data + len > m->len) {
			port_fail(p, "completion of %u:%u not in flight", q, id);
			return;
		}
		if (!!(flags & VIRTIO_ARGO_CHAIN_FIRST) != !p->part[q][id] ||
		    off != p->got[q][id]) {
			port_fail(p, "completion of %u:%u out of order", q, id);
			return;
		}
		p->part[q][id] = realloc(p->part[q][id], p->got[q][id] + len + 1);
		if (!p->part[q][id])
			abort();
		memcpy(p->part[q][id] + off, m->buf + data, len);
		p->got[q][id] += len;
		data += len;
		if (!(flags & VIRTIO_ARGO_CHAIN_LAST))
			continue;
		if (written != p->got[q][id] ||
		    (q == 0 && written > p->in_len[id])) {
			port_fail(p, "completion of %u:%u: written %u", q, id,
				  written);
			return;
		}
		p->busy[q][id] = false;
		if (q == 1) {
			p->tx_done++;
			p->tx_written += written;
			free(p->part[q][id]);
		} else {
			dn = calloc(1, sizeof(*dn));
			if (!dn)
				abort();
			dn->queue = q;
			dn->id = id;
			dn->written = written;
			dn->buf = p->part[q][id];
			*p->rx_tail = dn;
			p->rx_tail = &dn->next;
		}
		p->part[q][id] = NULL;
		p->got[q][id] = 0;
	}
}

/* Parse what the backend sent since the last call. */
static void collect(void)
{
	for (; parsed < nsent; parsed++) {
		struct port *p = port_of_ep(sent[parsed].ep);

		if (p)
			comp_parse(p, &sent[parsed]);
	}
}

/* The next frame received by @p (header included) or NULL; free it. */
static struct done *rx_pop(struct port *p)
{
	struct done *dn;

	collect();
	dn = p->rx;
	if (dn) {
		p->rx = dn->next;
		if (!p->rx)
			p->rx_tail = &p->rx;
	}
	return dn;
}

static unsigned int rx_count(struct port *p)
{
	struct done *dn;
	unsigned int n = 0;

	collect();
	for (dn = p->rx; dn; dn = dn->next)
		n++;
	return n;
}

static void done_free(struct done *dn)
{
	if (dn) {
		free(dn->buf);
		free(dn);
	}
}

static void rx_flush(struct port *p)
{
	struct done *dn;

	while ((dn = rx_pop(p)))
		done_free(dn);
}

/* ---- Control ---------------------------------------------------------------- */

/* The status of the reply to @type sent since sent[@before] (0xdead: none). */
static uint32_t status_of(uint32_t type, size_t before,
			  const struct msg **reply)
{
	const struct msg *m = h_reply(type, before);

	if (!m)
		return 0xdead;
	if (reply)
		*reply = m;
	return vab_get32(m->buf + 8);
}

/* Send a control request; the status of its reply (0xdead: none). */
static uint32_t ctl(struct vab_frontend *fe, uint32_t type, uint32_t devh,
		    void *buf, size_t len, const struct msg **reply)
{
	return status_of(type, h_ctrl(fe, type, devh, buf, len), reply);
}

static uint32_t ctl_simple(struct vab_frontend *fe, uint32_t type,
			   uint32_t devh)
{
	struct virtio_argo_hdr h;

	return ctl(fe, type, devh, &h, sizeof(h), NULL);
}

static uint32_t ctl_status(struct vab_frontend *fe, uint32_t devh, uint32_t s)
{
	return status_of(VIRTIO_ARGO_T_SET_STATUS, h_set_status(fe, devh, s),
			 NULL);
}

/* HELLO if needed, then device @p to DRIVER_OK with features @want. */
static bool port_up(struct port *p, uint64_t want)
{
	struct vab_dev *d = p->d;
	struct vab_frontend *fe = d->fe;
	uint16_t q;

	if (!fe->hello &&
	    status_of(VIRTIO_ARGO_T_HELLO, h_hello(fe, hello_features, 65536),
		      NULL))
		return false;
	p->nocomp = fe->features & VIRTIO_ARGO_F_OUT_NOCOMP;
	p->h = d->handle;
	if (!d->attached &&
	    status_of(VIRTIO_ARGO_T_ATTACH,
		      h_attach(fe, p->h, FE_DATA + d->index, 1U << 20), NULL))
		return false;
	if (status_of(VIRTIO_ARGO_T_SET_FEATURES,
		      h_set_features(fe, p->h, want & d->features_offered),
		      NULL) ||
	    ctl_status(fe, p->h, 0x0b))
		return false;
	for (q = 0; q < 2; q++)
		if (status_of(VIRTIO_ARGO_T_QUEUE_SETUP,
			      h_queue_setup(fe, p->h, q, QSIZE,
					    VIRTIO_ARGO_QUEUE_ENABLE), NULL))
			return false;
	if (ctl_status(fe, p->h, 0x0f))
		return false;
	memset(p->busy, 0, sizeof(p->busy));
	return true;
}

/* Add a net device; it becomes ports[nports]. */
static struct port *add_net(const char *props)
{
	struct port *p;

	if (nports == MAXPORTS || vab_add_device(&b, &vab_net_class, props))
		return NULL;
	p = &ports[nports++];
	memset(p, 0, sizeof(*p));
	p->rx_tail = &p->rx;
	p->d = b.fes[b.nfes - 1]->devs[b.fes[b.nfes - 1]->ndevs - 1];
	return p;
}

static void setup(void)
{
	forget_sent();
	nports = 0;
	vab_init(&b, 0, &transport);
}

static void teardown(void)
{
	unsigned int i, q, id;

	collect();
	vab_destroy(&b);
	for (i = 0; i < nports; i++) {
		struct done *dn;

		for (q = 0; q < 2; q++)
			for (id = 0; id < QSIZE; id++)
				free(ports[i].part[q][id]);
		while ((dn = ports[i].rx)) {
			ports[i].rx = dn->next;
			done_free(dn);
		}
	}
	forget_sent();
	nports = 0;
}

/* ---- Data ------------------------------------------------------------------- */

struct rec {
	uint16_t q, id, flags, ndesc;
	uint32_t out_len, in_len, off, len;
	const uint32_t *dlen;		/* [ndesc] */
	const uint32_t *dflags;		/* [ndesc] */
	const uint8_t *bytes;
};

/* One DATA_REQ carrying @n records to @p's device, with handle @h. */
static void data_req(struct port *p, uint32_t h, const struct rec *r,
		     unsigned int n)
{
	static struct bld m;
	struct desc ds[32];
	unsigned int k, j;
	uint8_t *buf;
	size_t len;

	b_init(&m);
	for (k = 0; k < n; k++) {
		if (r[k].ndesc > ARRAY_SIZE(ds))
			abort();
		for (j = 0; j < r[k].ndesc; j++) {
			ds[j].len = r[k].dlen[j];
			ds[j].flags = r[k].dflags[j];
		}
		b_rec(&m, r[k].q, r[k].id, r[k].flags, ds, r[k].ndesc,
		      r[k].out_len, r[k].in_len, r[k].off, r[k].bytes,
		      r[k].len);
	}
	buf = b_finish(&m, h, 7, &len);		/* session 7 */
	data_send(p->d, buf, len);
}

static int free_id(struct port *p, unsigned int q)
{
	int id;

	for (id = 0; id < QSIZE; id++)
		if (!p->busy[q][id])
			return id;
	return -1;
}

/*
 * Post @n receive chains of @in_len bytes each: "small" (one descriptor)
 * or, if @big, Linux's big layout (header, a page less 32, pages).
 */
static void post_rx(struct port *p, unsigned int n, uint32_t in_len, bool big)
{
	uint32_t dl[19], wr[19];
	unsigned int k, nd;

	for (k = 0; k < 19; k++)
		wr[k] = VIRTIO_ARGO_DESC_WRITE;

	for (k = 0; k < n; k++) {
		int id = free_id(p, 0);
		struct rec r;

		if (id < 0)
			abort();
		nd = 1;
		dl[0] = in_len;
		if (big) {
			uint32_t left = in_len - HDR;

			dl[0] = HDR;
			dl[nd] = left < 4064 ? left : 4064;
			left -= dl[nd++];
			while (left && nd < 19) {
				dl[nd] = left < 4096 ? left : 4096;
				left -= dl[nd++];
			}
			dl[nd - 1] += left;
		}
		memset(&r, 0, sizeof(r));
		r.q = 0;
		r.id = (uint16_t)id;
		r.flags = VIRTIO_ARGO_CHAIN_FIRST | VIRTIO_ARGO_CHAIN_LAST;
		r.ndesc = (uint16_t)nd;
		r.in_len = in_len;
		r.dlen = dl;
		r.dflags = wr;
		p->busy[0][id] = true;
		p->in_len[id] = in_len;
		data_req(p, p->h, &r, 1);
	}
}

/* A transmit chain: @hdr (12 bytes) and @frame, in one or two descriptors. */
static void send_tx_raw(struct port *p, const uint8_t *hdr, const uint8_t *frame,
			uint32_t len, uint32_t writable)
{
	static const uint32_t fl[3] = { 0, 0, VIRTIO_ARGO_DESC_WRITE };
	uint32_t dl[3] = { HDR, len, writable };
	uint8_t *bytes = malloc(HDR + len + 1);
	int id = free_id(p, 1);
	struct rec r;

	if (!bytes || id < 0)
		abort();
	memcpy(bytes, hdr, HDR);
	memcpy(bytes + HDR, frame, len);
	memset(&r, 0, sizeof(r));
	r.q = 1;
	r.id = (uint16_t)id;
	r.flags = VIRTIO_ARGO_CHAIN_FIRST | VIRTIO_ARGO_CHAIN_LAST;
	r.ndesc = writable ? 3 : 2;
	r.out_len = HDR + len;
	r.in_len = writable;
	r.len = HDR + len;
	r.dlen = dl;
	r.dflags = fl;
	r.bytes = bytes;
	/* OUT_NOCOMP: the frontend has it back once sent, as virtio_argo. */
	if (p->nocomp && !writable)
		p->tx_early++;
	else
		p->busy[1][id] = true;
	data_req(p, p->h, &r, 1);
	free(bytes);
}

static void send_tx(struct port *p, const uint8_t *hdr, const uint8_t *frame,
		    uint32_t len)
{
	send_tx_raw(p, hdr, frame, len, 0);
}

/* ---- Frames ------------------------------------------------------------------ */

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t hdr0[HDR];

static uint8_t pat(uint32_t i, unsigned int seed)
{
	return (uint8_t)(i * 151 + seed * 13 + (i >> 8));
}

/* An Ethernet frame of @len bytes: @dst, @src, a test ethertype, pattern. */
static void mkframe(uint8_t *f, uint32_t len, const uint8_t *dst,
		    const uint8_t *src, unsigned int seed)
{
	uint32_t i;

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x88;
	f[13] = 0xb5;			/* local experimental ethertype */
	for (i = 14; i < len; i++)
		f[i] = pat(i, seed);
}

static const uint8_t *mac_of(struct port *p)
{
	return p->d->config;
}

/* @dn is a frame equal to @f, with num_buffers 1, no offload flags. */
static bool is_frame(const struct done *dn, const uint8_t *f, uint32_t len)
{
	return dn && dn->written == HDR + len && dn->buf[0] == 0 &&
	       dn->buf[1] == 0 && vab_get16(dn->buf + 10) == 1 &&
	       !memcmp(dn->buf + HDR, f, len);
}

static uint64_t sum16(uint64_t s, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	return s;
}

static uint16_t fold(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/*
 * A TCP frame over IPv4 (or IPv6) with @plen payload bytes and a 12-byte
 * option block, as a guest would hand it to a TSO device: IP lengths for
 * the whole, the TCP checksum field holding the pseudo-header's sum.
 * Returns the frame length; *@l4 the TCP header's offset.
 */
static uint32_t mktcp(uint8_t *f, const uint8_t *dst, const uint8_t *src,
		      bool v6, uint32_t plen, uint8_t tflags, uint32_t *l4)
{
	uint32_t l3 = 14, thl = 32, i, len;
	uint64_t s;

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	if (!v6) {
		f[12] = 0x08;
		f[13] = 0x00;
		*l4 = l3 + 20;
		len = *l4 + thl + plen;
		memset(f + l3, 0, 20);
		f[l3] = 0x45;
		f[l3 + 2] = (uint8_t)((len - l3) >> 8);
		f[l3 + 3] = (uint8_t)(len - l3);
		f[l3 + 4] = 0x12;
		f[l3 + 5] = 0x34;		/* id */
		f[l3 + 6] = 0x40;		/* DF */
		f[l3 + 8] = 64;
		f[l3 + 9] = 6;
		memcpy(f + l3 + 12, (uint8_t[]){ 10, 0, 0, 1, 10, 0, 0, 2 }, 8);
		s = fold(sum16(0, f + l3, 20));
		f[l3 + 10] = (uint8_t)(~s >> 8);
		f[l3 + 11] = (uint8_t)~s;
		s = sum16(0, f + l3 + 12, 8);
	} else {
		f[12] = 0x86;
		f[13] = 0xdd;
		*l4 = l3 + 40;
		len = *l4 + thl + plen;
		memset(f + l3, 0, 40);
		f[l3] = 0x60;
		f[l3 + 4] = (uint8_t)((len - *l4) >> 8);
		f[l3 + 5] = (uint8_t)(len - *l4);
		f[l3 + 6] = 6;
		f[l3 + 7] = 64;
		f[l3 + 8] = 0xfd;
		f[l3 + 23] = 1;
		f[l3 + 24] = 0xfd;
		f[l3 + 39] = 2;
		s = sum16(0, f + l3 + 8, 32);
	}
	memset(f + *l4, 0, thl);
	f[*l4] = 0x30;
	f[*l4 + 1] = 0x39;			/* port 12345 */
	f[*l4 + 3] = 80;
	memcpy(f + *l4 + 4, (uint8_t[]){ 0xff, 0xff, 0xf0, 0x00 }, 4);
	f[*l4 + 11] = 1;			/* ack */
	f[*l4 + 12] = (uint8_t)((thl / 4) << 4);
	f[*l4 + 13] = tflags;
	f[*l4 + 14] = 0x80;			/* window */
	memcpy(f + *l4 + 20, (uint8_t[]){ 1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 3 },
	       12);
	for (i = 0; i < plen; i++)
		f[*l4 + thl + i] = pat(i, 77);
	/* The pseudo-header's sum, as a guest leaves it for the device. */
	s += 6 + ((len - *l4) >> 16) + ((len - *l4) & 0xffff);
	s = fold(s);
	f[*l4 + 16] = (uint8_t)(s >> 8);
	f[*l4 + 17] = (uint8_t)s;
	return len;
}

static void mkhdr(uint8_t *h, uint8_t flags, uint8_t gso, uint16_t hdr_len,
		  uint16_t gso_size, uint16_t cstart, uint16_t coff)
{
	memset(h, 0, HDR);
	h[0] = flags;
	h[1] = gso;
	vab_put16(h + 2, hdr_len);
	vab_put16(h + 4, gso_size);
	vab_put16(h + 6, cstart);
	vab_put16(h + 8, coff);
}

/* TCP checksum of a whole frame is right (and IPv4's header checksum). */
static bool tcp_ok(const uint8_t *f, uint32_t len, bool v6, uint32_t l4)
{
	uint64_t s;

	if (!v6) {
		if (fold(sum16(0, f + 14, 20)) != 0xffff)
			return false;
		if ((uint32_t)(f[16] << 8 | f[17]) != len - 14)
			return false;
		s = sum16(0, f + 26, 8);
	} else {
		if ((uint32_t)(f[18] << 8 | f[19]) != len - l4)
			return false;
		s = sum16(0, f + 22, 32);
	}
	s += 6 + ((len - l4) >> 16) + ((len - l4) & 0xffff);
	return fold(sum16(s, f + l4, len - l4)) == 0xffff;
}

/* ---- Fixtures ------------------------------------------------------------------ */

/* Ports a (frontend 1), b (frontend 2), c (frontend 3) on switch s0. */
static struct port *pa, *pb, *pc;

static bool three(uint64_t fa, uint64_t fb, uint64_t fc, const char *extra)
{
	char arg[256];

	setup();
	snprintf(arg, sizeof(arg), "frontend=1,switch=s0,mac=52:54:00:00:00:0a%s",
		 extra);
	pa = add_net(arg);
	snprintf(arg, sizeof(arg), "frontend=2,switch=s0,mac=52:54:00:00:00:0b%s",
		 extra);
	pb = add_net(arg);
	snprintf(arg, sizeof(arg), "frontend=3,switch=s0,mac=52:54:00:00:00:0c%s",
		 extra);
	pc = add_net(arg);
	return pa && pb && pc && port_up(pa, fa) && port_up(pb, fb) &&
	       port_up(pc, fc);
}

static const struct vab_net_stats *stats(struct port *p)
{
	return vab_net_stats(p->d);
}

/* ---- Cases ------------------------------------------------------------------- */

static void t_config_and_features(void)
{
	struct vab_dev *d;
	const struct msg *m = NULL;
	uint8_t buf[64];

	CHECK(three(F_ALL, F_ALL, F_BASE, ""));
	d = pa->d;
	CHECK(d->cls->device_id == 1 && d->num_queues == 2);
	CHECK(d->queue_max[0] == QSIZE && d->queue_max[1] == QSIZE);
	CHECK((d->features_offered & (F_BASE | F(CSUM) | F(GUEST_CSUM) |
				      F(HOST_TSO4) | F(HOST_TSO6) |
				      F(GUEST_TSO4) | F(GUEST_TSO6))) ==
	      (F_BASE | F(CSUM) | F(GUEST_CSUM) | F(HOST_TSO4) | F(HOST_TSO6) |
	       F(GUEST_TSO4) | F(GUEST_TSO6)));
	CHECK(!(d->features_offered & (F(MRG_RXBUF) | F(CTRL_VQ) | F(MQ) |
				       F(GUEST_UFO) | F(HOST_UFO) |
				       F(GUEST_ECN) | F(HOST_ECN))));
	CHECK(d->config_len == 12);
	CHECK(!memcmp(d->config, (uint8_t[]){ 0x52, 0x54, 0, 0, 0, 0x0a }, 6));
	CHECK(vab_get16(d->config + 6) == VIRTIO_NET_S_LINK_UP);
	CHECK(vab_get16(d->config + 8) == 1 && vab_get16(d->config + 10) == 1500);
	/* As the frontend reads it. */
	memset(buf, 0, sizeof(buf));
	vab_put32(buf + 8, 0);
	vab_put32(buf + 12, 12);
	CHECK(ctl(pa->d->fe, VIRTIO_ARGO_T_CONFIG_READ, pa->h, buf, 16, &m) == 0);
	CHECK(m && m->len == 24 + 12 && !memcmp(m->buf + 24, d->config, 12));
	teardown();

	/* offload=off offers none, mtu and link as given, MAC by default. */
	setup();
	pa = add_net("frontend=4,switch=s1,offload=off,mtu=9000,link=down");
	CHECK(pa);
	if (pa) {
		d = pa->d;
		CHECK(!(d->features_offered & (F(CSUM) | F(GUEST_CSUM) |
					       F(HOST_TSO4) | F(GUEST_TSO4))));
		CHECK(vab_get16(d->config + 10) == 9000);
		CHECK(vab_get16(d->config + 6) == 0);
		CHECK(!memcmp(d->config, (uint8_t[]){ 0x52, 0x54, 0, 0, 4, 0 }, 6));
	}
	teardown();
}

/* Two frontends exchange frames both ways through the switch. */
static void t_exchange(void)
{
	static uint8_t f[1514];
	struct done *dn;
	unsigned int i;

	CHECK(three(F_BASE, F_BASE, F_BASE, ""));
	post_rx(pb, 4, SMALL_BUF, false);
	post_rx(pa, 4, BIG_BUF, true);
	CHECK(pb->d->inflight == 4 && pa->d->inflight == 4);
	/* a -> b: b's MAC is its configured one, known without learning. */
	mkframe(f, sizeof(f), mac_of(pb), mac_of(pa), 1);
	send_tx(pa, hdr0, f, sizeof(f));
	collect();
	CHECK(pa->tx_done == 1 && pa->tx_written == 0);
	dn = rx_pop(pb);
	CHECK(is_frame(dn, f, sizeof(f)));
	done_free(dn);
	CHECK(rx_count(pc) == 0 && stats(pc)->rx_no_buffer == 0);
	/* b -> a, several, into a's big chains (header alone, pages). */
	for (i = 0; i < 3; i++) {
		mkframe(f, 60 + i * 700, mac_of(pa), mac_of(pb), 2 + i);
		send_tx(pb, hdr0, f, 60 + i * 700);
	}
	for (i = 0; i < 3; i++) {
		mkframe(f, 60 + i * 700, mac_of(pa), mac_of(pb), 2 + i);
		dn = rx_pop(pa);
		CHECK(is_frame(dn, f, 60 + i * 700));
		done_free(dn);
	}
	CHECK(pb->tx_done == 3 && pa->d->inflight == 1 && pb->d->inflight == 3);
	CHECK(stats(pa)->rx_frames == 3 && stats(pb)->tx_frames == 3);
	CHECK(stats(pb)->rx_frames == 1 && stats(pa)->tx_frames == 1);
	CHECK(stats(pb)->rx_bytes == 1514);
	CHECK(!pa->bad && !pb->bad && !pc->bad);
	teardown();
}

/* Broadcasts and unknown destinations reach every other port. */
static void t_flood(void)
{
	static const uint8_t unknown[6] = { 0x52, 0x54, 0, 9, 9, 9 };
	static const uint8_t mcast[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	static uint8_t f[100];
	struct done *dn;
	struct port *p;

	CHECK(three(F_BASE, F_BASE, F_BASE, ""));
	post_rx(pa, 8, SMALL_BUF, false);
	post_rx(pb, 8, SMALL_BUF, false);
	post_rx(pc, 8, SMALL_BUF, false);
	mkframe(f, sizeof(f), bcast, mac_of(pa), 3);
	send_tx(pa, hdr0, f, sizeof(f));
	CHECK(rx_count(pa) == 0);		/* never back to the sender */
	for (p = pb; p; p = p == pb ? pc : NULL) {
		dn = rx_pop(p);
		CHECK(is_frame(dn, f, sizeof(f)));
		done_free(dn);
	}
	mkframe(f, sizeof(f), unknown, mac_of(pb), 4);
	send_tx(pb, hdr0, f, sizeof(f));
	mkframe(f, sizeof(f), mcast, mac_of(pb), 5);
	send_tx(pb, hdr0, f, sizeof(f));
	CHECK(rx_count(pa) == 2 && rx_count(pc) == 2 && rx_count(pb) == 0);
	rx_flush(pa);
	rx_flush(pc);
	teardown();
}

/* Addresses are learned from sources; configured ones cannot be taken. */
static void t_learning(void)
{
	static const uint8_t x[6] = { 0x02, 0, 0, 0, 0, 0x77 };
	static uint8_t f[80];
	struct done *dn;

	CHECK(three(F_BASE, F_BASE, F_BASE, ""));
	post_rx(pa, 8, SMALL_BUF, false);
	post_rx(pb, 8, SMALL_BUF, false);
	post_rx(pc, 8, SMALL_BUF, false);
	/* To x: unknown, flooded. */
	mkframe(f, sizeof(f), x, mac_of(pb), 1);
	send_tx(pb, hdr0, f, sizeof(f));
	CHECK(rx_count(pa) == 1 && rx_count(pc) == 1);
	rx_flush(pa);
	rx_flush(pc);
	/* a speaks as x (a bridge in the guest): x is learned on a. */
	mkframe(f, sizeof(f), bcast, x, 2);
	send_tx(pa, hdr0, f, sizeof(f));
	rx_flush(pb);
	rx_flush(pc);
	mkframe(f, sizeof(f), x, mac_of(pb), 3);
	send_tx(pb, hdr0, f, sizeof(f));
	dn = rx_pop(pa);
	CHECK(is_frame(dn, f, sizeof(f)));
	done_free(dn);
	CHECK(rx_count(pc) == 0);
	/* x moves to c. */
	mkframe(f, sizeof(f), mac_of(pb), x, 4);
	send_tx(pc, hdr0, f, sizeof(f));
	rx_flush(pb);
	mkframe(f, sizeof(f), x, mac_of(pb), 5);
	send_tx(pb, hdr0, f, sizeof(f));
	CHECK(rx_count(pc) == 1 && rx_count(pa) == 0);
	rx_flush(pc);
	/* c claims a's configured MAC: dropped, nothing moves. */
	mkframe(f, sizeof(f), mac_of(pb), mac_of(pa), 6);
	send_tx(pc, hdr0, f, sizeof(f));
	CHECK(stats(pc)->tx_spoofed == 1 && rx_count(pb) == 0);
	mkframe(f, sizeof(f), mac_of(pa), mac_of(pb), 7);
	send_tx(pb, hdr0, f, sizeof(f));
	CHECK(rx_count(pa) == 1 && rx_count(pc) == 0);
	rx_flush(pa);
	/* A multicast source is no address: dropped. */
	mkframe(f, sizeof(f), mac_of(pb), bcast, 8);
	send_tx(pa, hdr0, f, sizeof(f));
	CHECK(stats(pa)->tx_spoofed == 1 && rx_count(pb) == 0);
	/* Spoofed frames still complete their chains. */
	collect();
	CHECK(pc->tx_done == 2 && pa->tx_done == 2);
	/* When c goes, what it learned goes with it: x is flooded again. */
	teardown();
}

/* Learned addresses per port are limited: the rest is flooded. */
static void t_learning_limit(void)
{
	static uint8_t f[64];
	uint8_t src[6] = { 0x02, 0, 0, 0, 0, 0 };
	unsigned int i;

	CHECK(three(F_BASE, F_BASE, F_BASE, ""));
	post_rx(pb, 4, SMALL_BUF, false);
	post_rx(pc, 4, SMALL_BUF, false);
	for (i = 0; i < 300; i++) {
		src[4] = (uint8_t)(i >> 8);
		src[5] = (uint8_t)i;
		mkframe(f, sizeof(f), mac_of(pb), src, 1);
		send_tx(pa, hdr0, f, sizeof(f));
		rx_flush(pb);
		post_rx(pb, 1, SMALL_BUF, false);
	}
	/* The first 256 are known; the 300th is not. */
	src[4] = 0;
	src[5] = 1;
	mkframe(f, sizeof(f), src, mac_of(pb), 2);
	send_tx(pb, hdr0, f, sizeof(f));
	CHECK(rx_count(pc) == 0);
	src[4] = 1;
	src[5] = 299 - 256;
	mkframe(f, sizeof(f), src, mac_of(pb), 3);
	send_tx(pb, hdr0, f, sizeof(f));
	CHECK(rx_count(pc) == 1);
	rx_flush(pc);
	CHECK(stats(pb)->rx_frames == 300);
	teardown();
}

/* Frames that fit no chain are dropped and counted; chains stay held. */
static void t_oversize(void)
{
	static uint8_t f[2000];
	struct done *dn;

	CHECK(three(F_BASE, F_BASE, F_BASE, ",mtu=1500"));
	post_rx(pb, 1, HDR + 100, false);
	mkframe(f, 200, mac_of(pb), mac_of(pa), 1);
	send_tx(pa, hdr0, f, 200);
	CHECK(rx_count(pb) == 0 && stats(pb)->rx_oversize == 1);
	CHECK(pb->d->inflight == 1);		/* still held */
	mkframe(f, 100, mac_of(pb), mac_of(pa), 2);
	send_tx(pa, hdr0, f, 100);
	dn = rx_pop(pb);
	CHECK(is_frame(dn, f, 100));
	done_free(dn);
	/* A bigger chain behind a small one takes the big frame. */
	post_rx(pb, 1, HDR + 64, false);
	post_rx(pb, 1, SMALL_BUF, false);
	mkframe(f, 1000, mac_of(pb), mac_of(pa), 3);
	send_tx(pa, hdr0, f, 1000);
	dn = rx_pop(pb);
	CHECK(is_frame(dn, f, 1000) && dn->id == 1);
	done_free(dn);
	mkframe(f, 60, mac_of(pb), mac_of(pa), 4);
	send_tx(pa, hdr0, f, 60);
	dn = rx_pop(pb);
	CHECK(is_frame(dn, f, 60) && dn->id == 0);
	done_free(dn);
	/* Above the MTU (1500 + 14 + a VLAN tag) is refused at the source. */
	post_rx(pb, 2, BIG_BUF, true);
	mkframe(f, 1519, mac_of(pb), mac_of(pa), 5);
	send_tx(pa, hdr0, f, 1519);
	CHECK(stats(pa)->tx_bad == 1 && rx_count(pb) == 0);
	mkframe(f, 1518, mac_of(pb), mac_of(pa), 6);
	send_tx(pa, hdr0, f, 1518);
	CHECK(rx_count(pb) == 1);
	rx_flush(pb);
	collect();
	CHECK(pa->tx_done == 6 && !pa->bad && !pb->bad);
	teardown();
}

/* Without a receive chain held, frames are dropped; the sender goes on. */
static void t_no_buffer(void)
{
	static uint8_t f[100];
	unsigned int i;

	CHECK(three(F_BASE, F_BASE, F_BASE, ""));
	for (i = 0; i < 10; i++) {
		mkframe(f, sizeof(f), mac_of(pb), mac_of(pa), i);
		send_tx(pa, hdr0, f, sizeof(f));
	}
	collect();
	CHECK(pa->tx_done == 10 && stats(pb)->rx_no_buffer == 10);
	CHECK(stats(pa)->tx_frames == 10 && rx_count(pb) == 0);
	post_rx(pb, 1, SMALL_BUF, false);
	send_tx(pa, hdr0, f, sizeof(f));
	CHECK(rx_count(pb) == 1);
	rx_flush(pb);
	teardown();
}

/* Transmit chains a driver must not send: completed unsent, counted. */
static void t_malformed_tx(void)
{
	static uint8_t f[4000];
	uint8_t h[HDR];
	uint64_t mal;
	uint32_t l4, len;

	CHECK(three(F_BASE | F(CSUM), F_ALL, F_BASE, ""));
	post_rx(pb, 16, BIG_BUF, true);
	mal = pa->d->stats.malformed;
	mkframe(f, 100, mac_of(pb), mac_of(pa), 1);
	send_tx(pa, hdr0, f, 13);			/* short of Ethernet */
	send_tx_raw(pa, hdr0, f, 100, 64);		/* writable part */
	mkhdr(h, 0x02, 0, 0, 0, 0, 0);			/* DATA_VALID */
	send_tx(pa, h, f, 100);
	mkhdr(h, 0x10, 0, 0, 0, 0, 0);			/* unknown flag */
	send_tx(pa, h, f, 100);
	mkhdr(h, 1, 0, 0, 0, 90, 9);			/* csum beyond end */
	send_tx(pa, h, f, 100);
	mkhdr(h, 1, 0, 0, 0, 101, 0);
	send_tx(pa, h, f, 100);
	len = mktcp(f, mac_of(pb), mac_of(pa), false, 3000, 0x18, &l4);
	mkhdr(h, 1, VIRTIO_NET_HDR_GSO_TCPV4, (uint16_t)(l4 + 32), 1448,
	      (uint16_t)l4, 16);
	send_tx(pa, h, f, len);				/* TSO4 not negotiated */
	CHECK(pa->d->stats.malformed == mal + 7);
	CHECK(stats(pa)->tx_bad == 7 && rx_count(pb) == 0);
	/* A header alone in a chain shorter than the header. */
	{
		static const uint32_t dl[1] = { 8 }, fl[1] = { 0 };
		struct rec r = { .q = 1, .id = 200, .ndesc = 1, .out_len = 8,
				 .len = 8, .dlen = dl, .dflags = fl,
				 .bytes = hdr0,
				 .flags = VIRTIO_ARGO_CHAIN_FIRST |
					  VIRTIO_ARGO_CHAIN_LAST };

		pa->busy[1][200] = true;
		data_req(pa, pa->h, &r, 1);
	}
	collect();
	CHECK(pa->tx_done == 8 && pa->tx_written == 0 && !pa->bad);
	CHECK(stats(pa)->tx_bad == 8 && pa->d->inflight == 0);
	teardown();

	/* With every offload: bad GSO frames. */
	CHECK(three(F_ALL, F_ALL, F_BASE, ""));
	post_rx(pb, 16, BIG_BUF, true);
	len = mktcp(f, mac_of(pb), mac_of(pa), false, 3000, 0x18, &l4);
	mkhdr(h, 1, VIRTIO_NET_HDR_GSO_TCPV4, (uint16_t)(l4 + 32), 0,
	      (uint16_t)l4, 16);
	send_tx(pa, h, f, len);				/* gso_size 0 */
	mkhdr(h, 0, VIRTIO_NET_HDR_GSO_TCPV4, (uint16_t)(l4 + 32), 1448, 0, 0);
	send_tx(pa, h, f, len);				/* no NEEDS_CSUM */
	mkhdr(h, 1, VIRTIO_NET_HDR_GSO_UDP, (uint16_t)(l4 + 32), 1448,
	      (uint16_t)l4, 16);
	send_tx(pa, h, f, len);				/* UFO: not offered */
	mkhdr(h, 1, VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN,
	      (uint16_t)(l4 + 32), 1448, (uint16_t)l4, 16);
	send_tx(pa, h, f, len);				/* ECN: not offered */
	mkhdr(h, 1, VIRTIO_NET_HDR_GSO_TCPV6, (uint16_t)(l4 + 32), 1448,
	      (uint16_t)l4, 16);
	send_tx(pa, h, f, len);				/* v6 type, v4 frame */
	f[14 + 9] = 17;					/* not TCP */
	mkhdr(h, 1, VIRTIO_NET_HDR_GSO_TCPV4, (uint16_t)(l4 + 32), 1448,
	      (uint16_t)l4, 16);
	send_tx(pa, h, f, len);
	f[14 + 9] = 6;
	f[l4 + 12] = 0x40;				/* TCP header of 16 */
	send_tx(pa, h, f, len);
	f[l4 + 12] = 0x80;
	f[14 + 6] = 0x20;				/* a fragment */
	send_tx(pa, h, f, len);
	f[14 + 6] = 0x40;
	send_tx(pa, h, f, l4 + 10);			/* truncated TCP */
	collect();
	CHECK(stats(pa)->tx_bad == 9 && rx_count(pb) == 0 && pa->tx_done == 9);
	send_tx(pa, h, f, len);				/* and a good one */
	CHECK(rx_count(pb) == 1);
	rx_flush(pb);
	teardown();
}

/* Receive chains with readable bytes or no room: completed, counted. */
static void t_malformed_rx(void)
{
	static const uint32_t dl[2] = { 10, 1600 };
	static const uint32_t fl[2] = { 0, VIRTIO_ARGO_DESC_WRITE };
	static const uint32_t dl2[1] = { 20 };
	static const uint32_t fl2[1] = { VIRTIO_ARGO_DESC_WRITE };
	static const uint8_t ten[10];
	struct rec r[2] = {
		{ .q = 0, .id = 3, .ndesc = 2, .out_len = 10, .in_len = 1600,
		  .len = 10, .dlen = dl, .dflags = fl, .bytes = ten,
		  .flags = VIRTIO_ARGO_CHAIN_FIRST | VIRTIO_ARGO_CHAIN_LAST },
		{ .q = 0, .id = 4, .ndesc = 1, .in_len = 20, .dlen = dl2,
		  .dflags = fl2,
		  .flags = VIRTIO_ARGO_CHAIN_FIRST | VIRTIO_ARGO_CHAIN_LAST },
	};
	static uint8_t f[100];
	struct done *dn;

	CHECK(three(F_BASE, F_BASE, F_BASE, ""));
	pb->busy[0][3] = true;
	pb->busy[0][4] = true;
	pb->in_len[3] = 1600;
	pb->in_len[4] = 20;
	data_req(pb, pb->h, r, 2);
	CHECK(stats(pb)->rx_bad_chains == 2 && pb->d->stats.malformed == 2);
	dn = rx_pop(pb);
	CHECK(dn && dn->id == 3 && dn->written == 0);
	done_free(dn);
	dn = rx_pop(pb);
	CHECK(dn && dn->id == 4 && dn->written == 0);
	done_free(dn);
	CHECK(pb->d->inflight == 0);
	mkframe(f, sizeof(f), mac_of(pb), mac_of(pa), 1);
	send_tx(pa, hdr0, f, sizeof(f));
	CHECK(stats(pb)->rx_no_buffer == 1);
	teardown();
}

/* RESET, DETACH, HELLO again and the end, while chains are held. */
static void t_reset_held(void)
{
	static uint8_t f[100];

	CHECK(three(F_ALL, F_ALL, F_ALL, ""));
	post_rx(pb, 100, BIG_BUF, true);
	CHECK(pb->d->inflight == 100 && pb->d->mem_used > 0);
	CHECK(ctl_simple(pb->d->fe, VIRTIO_ARGO_T_RESET, pb->h) == 0);
	CHECK(pb->d->inflight == 0 && pb->d->mem_used == 0);
	mkframe(f, sizeof(f), mac_of(pb), mac_of(pa), 1);
	send_tx(pa, hdr0, f, sizeof(f));
	CHECK(stats(pb)->rx_no_buffer == 1);
	/* Up again: it works. */
	forget_sent();
	memset(pb->busy, 0, sizeof(pb->busy));
	CHECK(port_up(pb, F_ALL));
	post_rx(pb, 3, SMALL_BUF, false);
	send_tx(pa, hdr0, f, sizeof(f));
	CHECK(rx_count(pb) == 1);
	rx_flush(pb);
	/* DETACH with chains held. */
	CHECK(ctl_simple(pb->d->fe, VIRTIO_ARGO_T_DETACH, pb->h) == 0);
	CHECK(pb->d->inflight == 0);
	send_tx(pa, hdr0, f, sizeof(f));
	CHECK(stats(pb)->rx_no_buffer == 2);
	/* HELLO again with chains held on c. */
	post_rx(pc, 50, SMALL_BUF, false);
	CHECK(status_of(VIRTIO_ARGO_T_HELLO, h_hello(pc->d->fe, 0, 0),
			NULL) == 0);
	CHECK(pc->d->inflight == 0);
	CHECK(pb->d->fe->malformed == 0 && !pb->bad && !pc->bad);
	/* And destroyed with chains held (a): ASan finds any leak. */
	post_rx(pa, 60, BIG_BUF, true);
	CHECK(pa->d->inflight == 60);
	teardown();
}

/* SIGTERM: held receive chains go back empty, new ones at once. */
static void t_stop(void)
{
	struct done *dn;
	unsigned int n = 0;

	CHECK(three(F_BASE, F_BASE, F_BASE, ""));
	post_rx(pb, 5, SMALL_BUF, false);
	CHECK(pb->d->inflight == 5);
	vab_stop(&b);
	while ((dn = rx_pop(pb))) {
		CHECK(dn->written == 0);
		n++;
		done_free(dn);
	}
	CHECK(n == 5 && pb->d->inflight == 0 && vab_idle(&b));
	teardown();
}

/* Link down: status and EV_CONFIG; frames dropped both ways. */
static void t_link(void)
{
	static uint8_t f[100];
	size_t before, i;
	bool ev = false;

	CHECK(three(F_BASE, F_BASE, F_BASE, ""));
	post_rx(pb, 4, SMALL_BUF, false);
	before = nsent;
	CHECK(vab_net_set_link(pb->d, false) == 0);
	for (i = before; i < nsent; i++)
		if (sent[i].type == VIRTIO_ARGO_T_EV_CONFIG &&
		    vab_get32(sent[i].buf) == pb->h && sent[i].len == 16 + 12 &&
		    vab_get16(sent[i].buf + 16 + 6) == 0)
			ev = true;
	CHECK(ev && vab_get16(pb->d->config + 6) == 0);
	mkframe(f, sizeof(f), mac_of(pb), mac_of(pa), 1);
	send_tx(pa, hdr0, f, sizeof(f));
	CHECK(rx_count(pb) == 0 && stats(pb)->rx_dropped == 1);
	mkframe(f, sizeof(f), mac_of(pa), mac_of(pb), 2);
	send_tx(pb, hdr0, f, sizeof(f));
	collect();
	CHECK(pb->tx_done == 1 && stats(pb)->tx_dropped == 1);
	CHECK(vab_net_set_link(pb->d, true) == 0);
	CHECK(vab_get16(pb->d->config + 6) == VIRTIO_NET_S_LINK_UP);
	mkframe(f, sizeof(f), mac_of(pb), mac_of(pa), 3);
	send_tx(pa, hdr0, f, sizeof(f));
	CHECK(rx_count(pb) == 1);
	rx_flush(pb);
	CHECK(vab_net_set_link(pb->d, true) == 0);	/* no change */
	/* Not a net device: refused. */
	{
		struct vab_dev other = { .cls = &vab_blk_class };

		CHECK(vab_net_set_link(&other, false) == -EINVAL);
		CHECK(!vab_net_stats(&other));
	}
	teardown();
}

/* A forged handle of another frontend's device reaches nothing. */
static void t_forged_handle(void)
{
	static uint8_t f[100];
	uint8_t buf[64];
	uint64_t mal;

	CHECK(three(F_BASE, F_BASE, F_BASE, ""));
	post_rx(pa, 4, SMALL_BUF, false);
	post_rx(pc, 4, SMALL_BUF, false);
	/* b sends a frame on its ring naming a's device: dropped. */
	mal = pb->d->fe->malformed;
	mkframe(f, sizeof(f), bcast, mac_of(pb), 1);
	{
		uint32_t own = pb->h;

		pb->h = pa->h;
		send_tx(pb, hdr0, f, sizeof(f));
		pb->h = own;
	}
	CHECK(pb->d->fe->malformed == mal + 1 && pb->d->stats.malformed == 1);
	CHECK(rx_count(pa) == 0 && rx_count(pc) == 0);
	CHECK(stats(pa)->tx_frames == 0 && stats(pb)->tx_frames == 0);
	/* And on the control ring: NODEV, counted. */
	memset(buf, 0, sizeof(buf));
	CHECK(ctl_simple(pb->d->fe, VIRTIO_ARGO_T_RESET, pa->h) ==
	      VIRTIO_ARGO_S_NODEV);
	vab_put32(buf + 12, 6);
	CHECK(ctl(pb->d->fe, VIRTIO_ARGO_T_CONFIG_READ, pa->h, buf, 16, NULL) ==
	      VIRTIO_ARGO_S_NODEV);
	CHECK(pb->d->fe->unknown_handles == 2);
	CHECK(pa->d->inflight == 4 && pa->d->status == 0x0f);
	teardown();
}

/*
 * Offloads across the switch: a TSO frame reaches a receiver that took
 * TSO whole, and one that did not in checked segments; a partial
 * checksum is passed on or filled in likewise.
 */
static void tso_case(bool v6)
{
	static uint8_t f[70000], orig[70000];
	uint32_t l4, len, plen = 20000, got = 0, nseg = 0;
	/* What fits 1500 bytes of IP with 12 bytes of TCP options. */
	uint32_t mss = v6 ? 1428 : 1448;
	uint8_t h[HDR];
	struct done *dn;

	CHECK(three(F_ALL, F_ALL, F_BASE, ""));
	post_rx(pb, 4, BIG_BUF, true);
	post_rx(pc, 32, SMALL_BUF, false);
	len = mktcp(f, bcast, mac_of(pa), v6, plen, 0x19, &l4);	/* ACK|PSH|FIN */
	memcpy(orig, f, len);
	mkhdr(h, 1, v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4,
	      (uint16_t)(l4 + 32), (uint16_t)mss, (uint16_t)l4, 16);
	send_tx(pa, h, f, len);
	collect();
	CHECK(pa->tx_done == 1 && !pa->bad);
	/* b: whole, header as sent. */
	dn = rx_pop(pb);
	CHECK(dn && dn->written == HDR + len && !memcmp(dn->buf + HDR, orig, len));
	CHECK(dn && dn->buf[0] == 1 && dn->buf[1] == h[1] &&
	      vab_get16(dn->buf + 4) == mss && vab_get16(dn->buf + 6) == l4 &&
	      vab_get16(dn->buf + 8) == 16 && vab_get16(dn->buf + 10) == 1);
	done_free(dn);
	/* c: segments. */
	while ((dn = rx_pop(pc))) {
		uint32_t slen = dn->written - HDR, pl = slen - l4 - 32;
		const uint8_t *s = dn->buf + HDR;
		uint32_t seq = (uint32_t)s[l4 + 4] << 24 | s[l4 + 5] << 16 |
			       s[l4 + 6] << 8 | s[l4 + 7];
		bool last = got + pl == plen;

		CHECK(dn->buf[0] == 0 && dn->buf[1] == 0);
		CHECK(pl == (last ? plen - got : mss));
		CHECK(tcp_ok(s, slen, v6, l4));
		CHECK(seq == 0xfffff000U + got);		/* wraps */
		CHECK(!memcmp(s + l4 + 32, orig + l4 + 32 + got, pl));
		CHECK(!memcmp(s, orig, 14));
		CHECK(!memcmp(s + l4 + 20, orig + l4 + 20, 12));  /* options */
		CHECK((s[l4 + 13] & 0x09) == (last ? 0x09 : 0));
		CHECK(s[l4 + 13] & 0x10);
		if (!v6)
			CHECK((uint32_t)(s[18] << 8 | s[19]) == 0x1234 + nseg);
		got += pl;
		nseg++;
		done_free(dn);
	}
	CHECK(got == plen && nseg == (plen + mss - 1) / mss);
	CHECK(stats(pc)->gso_segmented == 1);
	teardown();
}

static void t_tso4(void)
{
	tso_case(false);
}

static void t_tso6(void)
{
	tso_case(true);
}

/* A TSO receiver whose chains are too small for the whole gets segments. */
static void t_tso_small_chains(void)
{
	static uint8_t f[70000];
	uint32_t l4, len, n = 0;
	uint8_t h[HDR];
	struct done *dn;

	CHECK(three(F_ALL, F_ALL, F_BASE, ""));
	post_rx(pb, 5, SMALL_BUF, false);
	len = mktcp(f, mac_of(pb), mac_of(pa), false, 5000, 0x10, &l4);
	mkhdr(h, 1, VIRTIO_NET_HDR_GSO_TCPV4, (uint16_t)(l4 + 32), 1000,
	      (uint16_t)l4, 16);
	send_tx(pa, h, f, len);
	while ((dn = rx_pop(pb))) {
		/* b took GUEST_CSUM: segments are marked checked. */
		CHECK(dn->buf[0] == VIRTIO_NET_HDR_F_DATA_VALID);
		CHECK(tcp_ok(dn->buf + HDR, dn->written - HDR, false, l4));
		n++;
		done_free(dn);
	}
	CHECK(n == 5);
	/* Not enough chains: what does not fit is counted. */
	post_rx(pb, 2, SMALL_BUF, false);
	send_tx(pa, h, f, len);
	CHECK(rx_count(pb) == 2 && stats(pb)->rx_no_buffer == 3);
	rx_flush(pb);
	teardown();
}

/* NEEDS_CSUM: passed to a receiver with GUEST_CSUM, else filled in. */
static void t_csum(void)
{
	static uint8_t f[600];
	uint32_t l4, len;
	uint8_t h[HDR];
	struct done *dn;

	CHECK(three(F_ALL, F_ALL, F_BASE, ""));
	post_rx(pb, 2, SMALL_BUF, false);
	post_rx(pc, 2, SMALL_BUF, false);
	len = mktcp(f, bcast, mac_of(pa), false, 501, 0x18, &l4);
	mkhdr(h, 1, 0, 0, 0, (uint16_t)l4, 16);
	send_tx(pa, h, f, len);
	dn = rx_pop(pb);
	CHECK(dn && dn->buf[0] == 1 && vab_get16(dn->buf + 6) == l4 &&
	      vab_get16(dn->buf + 8) == 16 && !memcmp(dn->buf + HDR, f, len));
	done_free(dn);
	dn = rx_pop(pc);
	CHECK(dn && dn->buf[0] == 0 && dn->written == HDR + len);
	CHECK(dn && tcp_ok(dn->buf + HDR, len, false, l4));
	done_free(dn);
	CHECK(stats(pc)->csum_filled == 1);
	teardown();
}

/* Random transmit chains: no crash, no leak, every chain back. */
static void t_fuzz(void)
{
	static uint8_t f[3000], good[3000];
	unsigned int seed = 4242, i, j, sent_tx = 0;
	uint32_t l4, len;
	uint8_t h[HDR];

	CHECK(three(F_ALL, F_ALL, F_BASE, ""));
	len = mktcp(good, mac_of(pb), mac_of(pa), false, 2800, 0x18, &l4);
	for (i = 0; i < 20000; i++) {
		uint32_t flen = 14 + (uint32_t)rand_r(&seed) % (len - 13);

		memcpy(f, good, len);
		mkhdr(h, 1, VIRTIO_NET_HDR_GSO_TCPV4, (uint16_t)(l4 + 32), 1000,
		      (uint16_t)l4, 16);
		for (j = 0; j < 1 + (unsigned int)rand_r(&seed) % 4; j++) {
			unsigned int at = (unsigned int)rand_r(&seed) % (HDR + 100);

			if (at < HDR)
				h[at] ^= (uint8_t)(1 << (rand_r(&seed) % 8));
			else
				f[at - HDR] ^= (uint8_t)(1 << (rand_r(&seed) % 8));
		}
		if (i % 50 == 0) {
			if (pb->d->inflight < 64)
				post_rx(pb, 8, SMALL_BUF, false);
			if (pc->d->inflight < 64)
				post_rx(pc, 8, (rand_r(&seed) & 1) ? SMALL_BUF :
					BIG_BUF, true);
		}
		send_tx(pa, h, f, rand_r(&seed) % 3 ? len : flen);
		sent_tx++;
		if (i % 50 == 49) {
			rx_flush(pb);
			rx_flush(pc);
		}
	}
	collect();
	CHECK(pa->tx_done == sent_tx && pa->tx_written == 0);
	CHECK(pa->d->inflight == 0);
	CHECK(!pa->bad && !pb->bad && !pc->bad);
	rx_flush(pb);
	rx_flush(pc);
	teardown();
}

static void t_options(void)
{
	static const char *const bad[] = {
		"frontend=1",					/* neither */
		"frontend=1,switch=s,tap=t0",			/* both */
		"frontend=1,switch=",
		"frontend=1,switch=a/b",
		"frontend=1,switch=0123456789012345678901234567890123",
		"frontend=1,tap=0123456789abcdefg",
		"frontend=1,switch=s,mac=01:00:5e:00:00:01",	/* multicast */
		"frontend=1,switch=s,mac=00:00:00:00:00:00",
		"frontend=1,switch=s,mac=52:54:00:00:00",
		"frontend=1,switch=s,mac=52:54:00:00:00:0g",
		"frontend=1,switch=s,mac=52-54-00-00-00-01",
		"frontend=1,switch=s,link=sideways",
		"frontend=1,switch=s,mtu=67",
		"frontend=1,switch=s,mtu=65536",
		"frontend=1,switch=s,queue-size=100",
		"frontend=1,switch=s,queue-size=2048",
		"frontend=1,switch=s,offload=maybe",
		"frontend=1,switch=s,bogus=1",
	};
	int saved = vab_log_level;
	unsigned int i;
	struct port *p;

	vab_log_level = VAB_LOG_ERROR + 1;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		setup();
		if (add_net(bad[i])) {
			printf("    # accepted: %s\n", bad[i]);
			case_failed = 1;
		}
		teardown();
	}
	/* Two ports with one MAC on one switch: refused; on two: fine. */
	setup();
	CHECK(add_net("frontend=1,switch=s,mac=52:54:00:00:00:01"));
	CHECK(!add_net("frontend=2,switch=s,mac=52:54:00:00:00:01"));
	teardown();
	setup();
	CHECK(add_net("frontend=1,switch=s,mac=52:54:00:00:00:01"));
	CHECK(add_net("frontend=2,switch=t,mac=52:54:00:00:00:01"));
	teardown();
	vab_log_level = saved;
	setup();
	p = add_net("frontend=1,switch=s,mac=52:54:00:AB:cd:01,queue-size=64,mtu=9000");
	CHECK(p && p->d->queue_max[0] == 64 && p->d->queue_max[1] == 64);
	CHECK(p && !memcmp(p->d->config,
			   (uint8_t[]){ 0x52, 0x54, 0, 0xab, 0xcd, 1 }, 6));
	teardown();
}

/* ---- Tap, in a private network namespace -------------------------------- */

#define TAP_NAME	"vabtest0"

static const char *tap_skip;	/* why the tap case did not run, or NULL */

static int ifreq_ioctl(int s, unsigned long req, struct ifreq *ifr)
{
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", TAP_NAME);
	return ioctl(s, req, ifr);
}

/* The tap up, 10.99.0.1/24, with 10.99.0.2 at @mac. */
static bool tap_config(const uint8_t *mac)
{
	struct sockaddr_in *sin;
	struct arpreq arp;
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (s < 0)
		return false;
	memset(&ifr, 0, sizeof(ifr));
	sin = (struct sockaddr_in *)&ifr.ifr_addr;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(0x0a630001);
	ok = !ifreq_ioctl(s, SIOCSIFADDR, &ifr);
	sin->sin_addr.s_addr = htonl(0xffffff00);
	ok = ok && !ifreq_ioctl(s, SIOCSIFNETMASK, &ifr);
	memset(&ifr, 0, sizeof(ifr));
	ok = ok && !ifreq_ioctl(s, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	ok = ok && !ifreq_ioctl(s, SIOCSIFFLAGS, &ifr);
	memset(&arp, 0, sizeof(arp));
	sin = (struct sockaddr_in *)&arp.arp_pa;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(0x0a630002);
	arp.arp_ha.sa_family = ARPHRD_ETHER;
	memcpy(arp.arp_ha.sa_data, mac, 6);
	arp.arp_flags = ATF_COM | ATF_PERM;
	snprintf(arp.arp_dev, sizeof(arp.arp_dev), "%s", TAP_NAME);
	ok = ok && !ioctl(s, SIOCSARP, &arp);
	close(s);
	return ok;
}

/* ETHTOOL_GTXCSUM of the tap: what TUNSETOFFLOAD allowed. */
static int tap_txcsum(void)
{
	struct ethtool_value ev = { .cmd = ETHTOOL_GTXCSUM };
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_data = (void *)&ev;
	r = s >= 0 && !ifreq_ioctl(s, SIOCETHTOOL, &ifr) ? (int)ev.data : -1;
	if (s >= 0)
		close(s);
	return r;
}

/* One turn of the event loop, as main.c runs it (watches and timers). */
static void loop_turn(int timeout)
{
	struct pollfd pfd[16];
	unsigned int n = vab_loop_fill(&b, pfd, 16);

	if (n > 16)
		return;
	poll(pfd, n, vab_loop_timeout(&b, timeout));
	vab_loop_dispatch(&b, pfd, n);
	vab_loop_run_timers(&b);
}

/* An ICMP echo request from 10.99.0.2 (at @src) to 10.99.0.1 (@dst). */
static uint32_t mkping(uint8_t *f, const uint8_t *dst, const uint8_t *src,
		       uint16_t seq, uint32_t plen)
{
	uint32_t len = 14 + 20 + 8 + plen, i;
	uint16_t c;

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
	f[13] = 0;
	memset(f + 14, 0, 28);
	f[14] = 0x45;
	f[16] = (uint8_t)((len - 14) >> 8);
	f[17] = (uint8_t)(len - 14);
	f[22] = 64;
	f[23] = 1;
	memcpy(f + 26, (uint8_t[]){ 10, 99, 0, 2, 10, 99, 0, 1 }, 8);
	c = (uint16_t)~fold(sum16(0, f + 14, 20));
	f[24] = (uint8_t)(c >> 8);
	f[25] = (uint8_t)c;
	f[34] = 8;					/* echo request */
	f[38] = 0x42;
	f[40] = (uint8_t)(seq >> 8);
	f[41] = (uint8_t)seq;
	for (i = 0; i < plen; i++)
		f[42 + i] = pat(i, seq);
	c = (uint16_t)~fold(sum16(0, f + 34, 8 + plen));
	f[36] = (uint8_t)(c >> 8);
	f[37] = (uint8_t)c;
	return len;
}

/* Runs in a child, in its own network namespace; exit status 0: passed. */
static int tap_child(void)
{
	static uint8_t f[2000];
	uint8_t tapmac[6], h[HDR];
	struct done *dn = NULL;
	unsigned int i, replies = 0;
	struct ifreq ifr;
	uint32_t len;
	int s;

	/* No IPv6 chatter (router solicitations) in the way. */
	s = open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY);
	if (s >= 0) {
		if (write(s, "1", 1) != 1)
			printf("    # cannot disable IPv6\n");
		close(s);
	}
	setup();
	pa = add_net("frontend=1,tap=" TAP_NAME ",mac=52:54:00:00:00:0a");
	if (!pa || !port_up(pa, F_ALL) || !tap_config(mac_of(pa))) {
		printf("    # tap setup failed\n");
		return 1;
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&ifr, 0, sizeof(ifr));
	if (s < 0 || ifreq_ioctl(s, SIOCGIFHWADDR, &ifr))
		return 1;
	close(s);
	memcpy(tapmac, ifr.ifr_hwaddr.sa_data, 6);

	/* The offloads the guest negotiated reach the tap at its first use. */
	post_rx(pa, 8, BIG_BUF, true);
	CHECK(tap_txcsum() == 1);
	/* Pings, one with its checksum left to the device. */
	for (i = 0; i < 4; i++) {
		len = mkping(f, tapmac, mac_of(pa), (uint16_t)i, 100 + 300 * i);
		if (i == 3) {
			f[36] = 0;
			f[37] = 0;
			mkhdr(h, 1, 0, 0, 0, 34, 2);
		} else {
			memset(h, 0, HDR);
		}
		send_tx(pa, h, f, len);
	}
	collect();
	CHECK(pa->tx_done == 4 && stats(pa)->tx_frames == 4);
	for (i = 0; i < 200 && replies < 4; i++) {
		loop_turn(20);
		while ((dn = rx_pop(pa))) {
			const uint8_t *r = dn->buf + HDR;

			if (dn->written >= HDR + 42 && r[12] == 8 && r[13] == 0 &&
			    r[23] == 1 && r[34] == 0 && !memcmp(r, mac_of(pa), 6)) {
				unsigned int seq = r[40] << 8 | r[41];

				CHECK(dn->written - HDR == 42 + 100 + 300 * seq);
				CHECK(vab_get16(dn->buf + 10) == 1);
				replies++;
			}
			done_free(dn);
		}
	}
	CHECK(replies == 4);
	CHECK(stats(pa)->rx_frames >= 4);
	/* RESET: offloads off, chains let go. */
	CHECK(ctl_simple(pa->d->fe, VIRTIO_ARGO_T_RESET, pa->h) == 0);
	CHECK(tap_txcsum() == 0 && pa->d->inflight == 0);
	/* Without receive chains the kernel's frames wait in the tap. */
	forget_sent();
	memset(pa->busy, 0, sizeof(pa->busy));
	CHECK(port_up(pa, F_BASE));
	len = mkping(f, tapmac, mac_of(pa), 9, 64);
	send_tx(pa, hdr0, f, len);
	for (i = 0; i < 5; i++)
		loop_turn(10);
	CHECK(rx_count(pa) == 0);
	post_rx(pa, 2, SMALL_BUF, false);
	for (i = 0; i < 100 && rx_count(pa) == 0; i++)
		loop_turn(10);
	CHECK(rx_count(pa) == 1);
	dn = rx_pop(pa);
	CHECK(dn && dn->written == HDR + len && dn->buf[HDR + 34] == 0);
	done_free(dn);
	/* The tap deleted under the backend: link down, no busy loop. */
	if (!system("ip link del " TAP_NAME " 2>/dev/null")) {
		for (i = 0; i < 10; i++)
			loop_turn(10);
		CHECK(vab_get16(pa->d->config + 6) == 0);
		CHECK(vab_loop_timeout(&b, -1) == -1);
		len = mkping(f, tapmac, mac_of(pa), 10, 64);
		send_tx(pa, hdr0, f, len);
		collect();
		CHECK(stats(pa)->tx_dropped == 1);
	}
	teardown();
	return case_failed;
}

/* The tap's descriptor, found by what it is open on. */
static int tap_fd_of_backend(void)
{
	char path[64], target[64];
	ssize_t r;
	int fd;

	for (fd = 3; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		r = readlink(path, target, sizeof(target) - 1);
		if (r < 0)
			continue;
		target[r] = '\0';
		if (!strcmp(target, "/dev/net/tun"))
			return fd;
	}
	return -1;
}

/*
 * Writes that would block: the tap's descriptor is replaced by a full
 * SOCK_SEQPACKET socket, which keeps frame boundaries like a tap and says
 * EAGAIN when full.  Chains wait, in order, until POLLOUT; at SIGTERM the
 * ones that still cannot go are completed unsent.
 */
static int tap_blocked_child(void)
{
	static uint8_t f[3][600], got[2000];
	unsigned int i, filler = 0;
	int sv[2], tapfd, sz = 4096;
	ssize_t r;

	setup();
	pa = add_net("frontend=1,tap=" TAP_NAME ",mac=52:54:00:00:00:0a");
	tapfd = tap_fd_of_backend();
	if (!pa || !port_up(pa, F_BASE) || tapfd < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv) ||
	    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) ||
	    dup2(sv[0], tapfd) != tapfd) {
		printf("    # setup failed\n");
		return 1;
	}
	close(sv[0]);
	memset(got, 0xee, sizeof(got));
	while (write(tapfd, got, 1000) == 1000)
		filler++;
	CHECK(errno == EAGAIN && filler > 0);
	for (i = 0; i < 3; i++) {
		mkframe(f[i], sizeof(f[i]), bcast, mac_of(pa), i);
		send_tx(pa, hdr0, f[i], sizeof(f[i]));
	}
	collect();
	CHECK(pa->tx_done == 0 && pa->d->inflight == 3);
	loop_turn(10);				/* still full: nothing */
	collect();
	CHECK(pa->tx_done == 0);
	/* Room again: all three go, in order, headers included. */
	for (i = 0; i < filler; i++)
		CHECK(read(sv[1], got, sizeof(got)) == 1000);
	for (i = 0; i < 10 && pa->tx_done < 3; i++) {
		loop_turn(10);
		collect();
	}
	CHECK(pa->tx_done == 3 && pa->tx_written == 0 && !pa->bad);
	for (i = 0; i < 3; i++) {
		r = read(sv[1], got, sizeof(got));
		CHECK(r == HDR + 600 && !memcmp(got, hdr0, HDR) &&
		      !memcmp(got + HDR, f[i], 600));
	}
	CHECK(stats(pa)->tx_frames == 3);
	/* Full again, then SIGTERM: the waiting chain is dropped. */
	while (write(tapfd, got, 1000) == 1000)
		;
	send_tx(pa, hdr0, f[0], sizeof(f[0]));
	collect();
	CHECK(pa->tx_done == 3 && pa->d->inflight == 1);
	vab_stop(&b);
	collect();
	CHECK(pa->tx_done == 4 && pa->d->inflight == 0);
	CHECK(stats(pa)->tx_dropped == 1 && vab_idle(&b));
	close(sv[1]);
	teardown();
	return case_failed;
}

/*
 * The same with OUT_NOCOMP: the driver has each transmit chain back when
 * sent and reuses its id (always 0 here), so more frames than the queue
 * holds wait for the tap; none is dropped, none is completed, in order.
 */
/* Messages the backend sent on @p's data ring. */
static unsigned int data_msgs(const struct port *p)
{
	unsigned int n = 0;
	size_t i;

	for (i = 0; i < nsent; i++)
		n += sent[i].ep == &p->d->ep;
	return n;
}

static int tap_blocked_nocomp_child(void)
{
	enum { N = QSIZE + 44, LEN = 600 };
	static uint8_t f[LEN], got[2000];
	unsigned int i, filler = 0, ok = 0;
	int sv[2], tapfd, sz = 4096;
	ssize_t r;

	setup();
	hello_features = VIRTIO_ARGO_F_OUT_NOCOMP;
	pa = add_net("frontend=1,tap=" TAP_NAME ",mac=52:54:00:00:00:0a");
	tapfd = tap_fd_of_backend();
	if (!pa || !port_up(pa, F_BASE) || !pa->nocomp || tapfd < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv) ||
	    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) ||
	    dup2(sv[0], tapfd) != tapfd) {
		printf("    # setup failed\n");
		return 1;
	}
	close(sv[0]);
	memset(got, 0xee, sizeof(got));
	while (write(tapfd, got, 1000) == 1000)
		filler++;
	CHECK(errno == EAGAIN && filler > 0);
	for (i = 0; i < N; i++) {
		mkframe(f, LEN, bcast, mac_of(pa), i);
		send_tx(pa, hdr0, f, LEN);
	}
	collect();
	CHECK(pa->tx_early == N && pa->d->inflight == N && data_msgs(pa) == 0);
	CHECK(stats(pa)->tx_dropped == 0 && pa->d->stats.malformed == 0);
	for (i = 0; i < filler; i++)
		CHECK(read(sv[1], got, sizeof(got)) == 1000);
	/* Room again, a little at a time: all go, in order. */
	for (i = 0; i < 100000 && ok < N; i++) {
		r = read(sv[1], got, sizeof(got));
		if (r < 0) {
			loop_turn(1);
			continue;
		}
		mkframe(f, LEN, bcast, mac_of(pa), ok);
		CHECK(r == HDR + LEN && !memcmp(got + HDR, f, LEN));
		ok++;
	}
	collect();
	CHECK(ok == N && pa->d->inflight == 0 && pa->d->mem_used == 0);
	CHECK(stats(pa)->tx_frames == N && stats(pa)->tx_dropped == 0);
	CHECK(pa->d->stats.chains_nocomp == N);
	CHECK(pa->tx_done == 0 && data_msgs(pa) == 0 && !pa->bad);
	/* Full again, then SIGTERM: the waiting chains are dropped, unsent. */
	while (write(tapfd, got, 1000) == 1000)
		;
	send_tx(pa, hdr0, f, LEN);
	send_tx(pa, hdr0, f, LEN);
	CHECK(pa->d->inflight == 2);
	vab_stop(&b);
	collect();
	CHECK(pa->d->inflight == 0 && stats(pa)->tx_dropped == 2);
	CHECK(pa->tx_done == 0 && data_msgs(pa) == 0 && vab_idle(&b));
	close(sv[1]);
	teardown();
	return case_failed;
}

/* Run @child in a child process with its own network namespace. */
static void in_netns(int (*child)(void))
{
	int status, fd;
	pid_t pid;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		tap_skip = "cannot open /dev/net/tun (not root?)";
		return;
	}
	close(fd);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (unshare(CLONE_NEWNET))
			_exit(77);
		_exit(child());
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
		CHECK(!"tap child crashed");
		return;
	}
	if (WEXITSTATUS(status) == 77)
		tap_skip = "cannot make a network namespace";
	else
		CHECK(WEXITSTATUS(status) == 0);
}

static void t_tap(void)
{
	in_netns(tap_child);
}

static void t_tap_blocked(void)
{
	in_netns(tap_blocked_child);
}

static void t_tap_blocked_nocomp(void)
{
	in_netns(tap_blocked_nocomp_child);
}

/* ---- Main ---------------------------------------------------------------------- */

struct tcase {
	const char *name;
	void (*fn)(void);
};

static const struct tcase cases[] = {
	{ "config_and_features", t_config_and_features },
	{ "switch_exchange_both_ways", t_exchange },
	{ "switch_flooding", t_flood },
	{ "switch_mac_learning_and_spoofing", t_learning },
	{ "switch_learning_limit", t_learning_limit },
	{ "oversize_frames", t_oversize },
	{ "no_receive_chain_held", t_no_buffer },
	{ "malformed_transmit_chains", t_malformed_tx },
	{ "malformed_receive_chains", t_malformed_rx },
	{ "reset_detach_hello_with_chains_held", t_reset_held },
	{ "stop_returns_held_chains", t_stop },
	{ "link_up_down", t_link },
	{ "forged_handle_of_another_frontend", t_forged_handle },
	{ "tso4_whole_or_segmented", t_tso4 },
	{ "tso6_whole_or_segmented", t_tso6 },
	{ "tso_into_small_chains", t_tso_small_chains },
	{ "partial_checksum", t_csum },
	{ "fuzz_transmit", t_fuzz },
	{ "options", t_options },
	{ "tap_with_kernel_stack", t_tap },
	{ "tap_write_would_block", t_tap_blocked },
	{ "tap_write_would_block_nocomp", t_tap_blocked_nocomp },
};

int main(void)
{
	unsigned int i, n = ARRAY_SIZE(cases), failed = 0;

	h_log_default();
	ktap_start(n);
	for (i = 0; i < n; i++) {
		case_failed = 0;
		tap_skip = NULL;
		hello_features = 0;
		cases[i].fn();
		if (nports)
			teardown();
		if (tap_skip) {
			ktap_result(i + 1, cases[i].name, 0, tap_skip);
			continue;
		}
		ktap_result(i + 1, cases[i].name, case_failed, NULL);
		failed += (unsigned int)case_failed;
	}
	free(sent);
	return failed ? 1 : 0;
}
