// SPDX-License-Identifier: MIT
/*
 * Host unit tests of virtio-argo-backend's request handling, without
 * /dev/argo: messages go straight into vab_ctrl_rx()/vab_data_rx() and a
 * recording transport captures what the backend sends back, which is
 * checked as a strict frontend would check it.  Devices are virtio-blk on
 * temporary files.  Built with AddressSanitizer and UndefinedBehaviorSanitizer
 * (-fno-sanitize-recover=all): a memory error or undefined behaviour aborts
 * the run, which the harness counts as a failure.
 *
 * Prints one KTAP document.  Usage: backend_test [PATH-OF-BACKEND-BINARY]
 * (the binary is used by the command-line cases, skipped without it).
 *
 * Copyright (c) 2026 The virtio-argo authors
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/virtio_blk.h>

#include "../backend.h"
#include "../options.h"
#include "harness.h"

#define FE1		1
#define FE2		2
#define DISK_SIZE	(8U << 20)
#define SECTORS		(DISK_SIZE / 512)

static const struct vab_transport transport = {
	.send = t_send,
	.max_msg = t_max_msg,
	.discard_rx = t_discard,
};

/* ---- Fixture: a backend with blk devices on temporary files ---------------- */

static struct vab b;
static char paths[4][64];
static int npaths;
static struct vab_frontend *fe1, *fe2;

static const char *mkdisk(uint32_t size)
{
	char *p = paths[npaths++];

	snprintf(p, 64, "%s/vab-test-XXXXXX", h_tmp());
	h_sized(mkstemp(p), size);
	return p;
}

/* fe1: blk0 (@props1), fe2: blk0 (plain). */
static bool setup(const char *props1)
{
	char arg[512];

	clear_sent();
	transport_reset();
	npaths = 0;
	vab_init(&b, 0, &transport);
	snprintf(arg, sizeof(arg), "frontend=%u,file=%s,serial=vab-serial-0%s%s",
		 FE1, mkdisk(DISK_SIZE), *props1 ? "," : "", props1);
	if (vab_add_device(&b, &vab_blk_class, arg))
		return false;
	snprintf(arg, sizeof(arg), "frontend=%u,file=%s", FE2,
		 mkdisk(DISK_SIZE));
	if (vab_add_device(&b, &vab_blk_class, arg))
		return false;
	fe1 = vab_frontend_get(&b, FE1);
	fe2 = vab_frontend_get(&b, FE2);
	return true;
}

static void teardown(void)
{
	int i;

	vab_destroy(&b);
	clear_sent();
	for (i = 0; i < npaths; i++)
		unlink(paths[i]);
	npaths = 0;
}

static struct vab_dev *dev(struct vab_frontend *fe, unsigned int i)
{
	return fe->devs[i];
}

/* ---- Control helpers -------------------------------------------------------- */

/* The one message sent since sent[@before], or NULL if not exactly one. */
static struct msg *one(size_t before)
{
	return nsent == before + 1 ? &sent[before] : NULL;
}

/* Send a control request as it is; the one reply, or NULL. */
static struct msg *ctrl_raw(struct vab_frontend *fe, uint32_t type,
			    void *buf, size_t len)
{
	size_t before = nsent;

	vab_ctrl_rx(fe, fe->domid, FE_CTRL, type, buf, len);
	return one(before);
}

/* Fill hdr (dev, fresh tag) and send. */
static struct msg *ctrl(struct vab_frontend *fe, uint32_t type, uint32_t devh,
			void *buf, size_t len)
{
	return one(h_ctrl(fe, type, devh, buf, len));
}

static uint32_t st(const struct msg *m)
{
	return m && m->len >= 16 ? vab_get32(m->buf + 8) : 0xdead;
}

/* A reply to @type with the last tag, to our control port, of @len bytes. */
static bool is_reply(const struct msg *m, uint32_t type, size_t len)
{
	return m && m->type == (type | VIRTIO_ARGO_REPLY) &&
	       m->port == FE_CTRL && m->len == len &&
	       vab_get32(m->buf + 4) == next_tag;
}

static uint32_t simple(struct vab_frontend *fe, uint32_t type, uint32_t devh)
{
	struct virtio_argo_hdr h;
	struct msg *m = ctrl(fe, type, devh, &h, sizeof(h));

	return is_reply(m, type, 16) ? st(m) : 0xdead;
}

static struct msg *hello_f(struct vab_frontend *fe, uint32_t features)
{
	return one(h_hello(fe, features, 65536));
}

static struct msg *hello(struct vab_frontend *fe)
{
	return hello_f(fe, hello_features);
}

/* The features a HELLO reply accepted, or 0xdead. */
static uint32_t accepted(const struct msg *m)
{
	if (!is_reply(m, VIRTIO_ARGO_T_HELLO,
		      sizeof(struct virtio_argo_hello_reply)) ||
	    st(m) != VIRTIO_ARGO_S_OK)
		return 0xdead;
	return vab_get32(m->buf + 20);
}

static struct msg *dev_info(struct vab_frontend *fe, uint32_t index)
{
	return one(h_dev_info(fe, index));
}

static uint32_t attach(struct vab_frontend *fe, uint32_t devh, uint32_t port,
		       uint32_t ring)
{
	struct msg *m = one(h_attach(fe, devh, port, ring));

	return is_reply(m, VIRTIO_ARGO_T_ATTACH, 16) ? st(m) : 0xdead;
}

static uint32_t set_features(struct vab_frontend *fe, uint32_t devh,
			     uint64_t f)
{
	struct msg *m = one(h_set_features(fe, devh, f));

	return is_reply(m, VIRTIO_ARGO_T_SET_FEATURES, 16) ? st(m) : 0xdead;
}

/* Returns the status code; *@now gets the device status after. */
static uint32_t set_status(struct vab_frontend *fe, uint32_t devh,
			   uint32_t s, uint32_t *now)
{
	struct msg *m = one(h_set_status(fe, devh, s));

	if (!m || m->type != (VIRTIO_ARGO_T_SET_STATUS | VIRTIO_ARGO_REPLY))
		return 0xdead;
	if (st(m) == VIRTIO_ARGO_S_OK) {
		if (m->len != sizeof(struct virtio_argo_set_status_reply))
			return 0xdead;
		if (now)
			*now = vab_get32(m->buf + 16);
	} else if (m->len != 16) {
		return 0xdead;
	}
	return st(m);
}

static uint32_t queue_setup(struct vab_frontend *fe, uint32_t devh,
			    uint16_t q, uint16_t size, uint32_t flags)
{
	struct msg *m = one(h_queue_setup(fe, devh, q, size, flags));

	return is_reply(m, VIRTIO_ARGO_T_QUEUE_SETUP, 16) ? st(m) : 0xdead;
}

static uint64_t offered(struct vab_dev *d)
{
	return d->features_offered;
}

#define ALL_F	(~0ULL)

/* HELLO (if needed) to DRIVER_OK for device @i; its handle or 0. */
static uint32_t up(struct vab_frontend *fe, unsigned int i, uint64_t want,
		   uint16_t qsize)
{
	struct vab_dev *d = dev(fe, i);
	uint32_t s = 0, q;
	struct msg *m;

	if (!fe->hello && st(hello(fe)) != VIRTIO_ARGO_S_OK)
		return 0;
	m = dev_info(fe, i);
	if (st(m) != VIRTIO_ARGO_S_OK)
		return 0;
	if (vab_get32(m->buf + 16) != d->handle)
		return 0;
	if (attach(fe, d->handle, FE_DATA + i, 1U << 20) != VIRTIO_ARGO_S_OK)
		return 0;
	if (set_features(fe, d->handle, want & offered(d)) != VIRTIO_ARGO_S_OK)
		return 0;
	if (set_status(fe, d->handle, 0x0b, &s) || s != 0x0b)
		return 0;
	for (q = 0; q < d->num_queues; q++)
		if (queue_setup(fe, d->handle, (uint16_t)q, qsize,
				VIRTIO_ARGO_QUEUE_ENABLE))
			return 0;
	if (set_status(fe, d->handle, 0x0f, &s) || s != 0x0f)
		return 0;
	clear_sent();
	return d->handle;
}

/* ---- Data helpers ------------------------------------------------------------ */

static struct bld bl;

/* Finish the builder @bl and send its message to @d. */
static void b_send(struct vab_dev *d, uint32_t devh, uint32_t session)
{
	size_t len;
	uint8_t *p = b_finish(&bl, devh, session, &len);

	data_send(d, p, len);
}

/* A blk request as one chain: header (+ data) out, (data +) status in. */
static void blk_chain(struct bld *m, uint16_t q, uint16_t id, uint32_t type,
		      uint64_t sector, const void *data, uint32_t out_data,
		      uint32_t in_len)
{
	uint8_t *out = malloc(16 + out_data);
	struct desc ds[4];
	uint16_t n = 0;

	if (!out)
		abort();
	vab_put32(out, type);
	vab_put32(out + 4, 0);
	vab_put64(out + 8, sector);
	if (out_data)
		memcpy(out + 16, data, out_data);
	ds[n++] = (struct desc){ 16, 0 };
	if (out_data)
		ds[n++] = (struct desc){ out_data, 0 };
	if (in_len > 1)
		ds[n++] = (struct desc){ in_len - 1, VIRTIO_ARGO_DESC_WRITE };
	if (in_len)
		ds[n++] = (struct desc){ 1, VIRTIO_ARGO_DESC_WRITE };
	b_rec(m, q, id, VIRTIO_ARGO_CHAIN_FIRST | VIRTIO_ARGO_CHAIN_LAST, ds,
	      n, 16 + out_data, in_len, 0, out, 16 + out_data);
	free(out);
}

static void blk_req(struct vab_dev *d, uint32_t session, uint16_t q,
		    uint16_t id, uint32_t type, uint64_t sector,
		    const void *data, uint32_t out_data, uint32_t in_len)
{
	b_init(&bl);
	blk_chain(&bl, q, id, type, sector, data, out_data, in_len);
	b_send(d, d->handle, session);
}

/* Completions seen, reassembled and checked as a strict frontend would. */
#define MAXQ	4
#define MAXID	256

struct comp {
	bool done;
	bool partial;
	uint32_t written;
	uint32_t got;
	uint32_t session;
	uint8_t *buf;
};

static struct comp comps[MAXQ][MAXID];
static size_t comp_seen;	/* sent[] up to here parsed */
static unsigned int comp_msgs;

static void comps_reset(void)
{
	unsigned int q, i;

	for (q = 0; q < MAXQ; q++) {
		for (i = 0; i < MAXID; i++) {
			free(comps[q][i].buf);
			memset(&comps[q][i], 0, sizeof(comps[q][i]));
		}
	}
	comp_seen = 0;
	comp_msgs = 0;
	comp_bad = false;
}

static bool comp_parse(struct vab_dev *d, const struct msg *m)
{
	uint32_t nrec, data_off, i, pos = 16, data;
	uint64_t total = 0;

	if (m->type != VIRTIO_ARGO_T_DATA_COMP || m->port != FE_DATA + d->index ||
	    m->domain != d->fe->domid)
		return comp_fail("type %#x port %#x domain %u", m->type,
				 m->port, m->domain);
	if (m->len < 16 || vab_get32(m->buf) != d->handle)
		return comp_fail("length %zu / handle", m->len);
	if (m->len > d->fe_max_msg)
		return comp_fail("%zu bytes exceed the frontend's %u", m->len,
				 d->fe_max_msg);
	nrec = vab_get16(m->buf + 8);
	data_off = vab_get32(m->buf + 12);
	if (!nrec || data_off != 16 + 24 * nrec || data_off > m->len)
		return comp_fail("nrec %u data_off %u", nrec, data_off);
	for (i = 0; i < nrec; i++)
		total += vab_get32(m->buf + 16 + 24 * i + 16);
	if (total != m->len - data_off)
		return comp_fail("sum of lengths");
	comp_msgs++;
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
		c = &comps[q][id];
		if (c->done)
			return comp_fail("%u:%u completed twice", q, id);
		if (first == c->partial)
			return comp_fail("%u:%u FIRST flag", q, id);
		if (off != c->got)
			return comp_fail("%u:%u offset %u, expected %u", q, id,
					 off, c->got);
		if (c->partial && c->session != vab_get32(m->buf + 4))
			return comp_fail("%u:%u session changed", q, id);
		c->session = vab_get32(m->buf + 4);
		c->buf = realloc(c->buf, c->got + len + 1);
		if (!c->buf)
			abort();
		memcpy(c->buf + c->got, m->buf + data, len);
		c->got += len;
		data += len;
		c->partial = true;
		if (flags & VIRTIO_ARGO_CHAIN_LAST) {
			if (written != c->got)
				return comp_fail("%u:%u written %u, carried %u",
						 q, id, written, c->got);
			c->written = written;
			c->done = true;
			c->partial = false;
		} else if (written) {
			return comp_fail("written on a record that is not last");
		}
	}
	return true;
}

static void comps_collect(struct vab_dev *d)
{
	for (; comp_seen < nsent; comp_seen++)
		if (sent[comp_seen].ep == &d->ep)
			comp_parse(d, &sent[comp_seen]);
}

/* Status byte of a finished completion, or -1. */
static int comp_status(uint16_t q, uint16_t id)
{
	struct comp *c = &comps[q][id];

	if (!c->done || !c->written)
		return -1;
	return c->buf[c->written - 1];
}

static uint8_t pattern(uint64_t i, unsigned int seed)
{
	return (uint8_t)(i * 131 + seed * 7 + (i >> 9));
}

static void fill(uint8_t *p, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = pattern(i, seed);
}

static bool disk_is(const char *path, uint64_t off, const uint8_t *want,
		    size_t len)
{
	uint8_t *got = malloc(len);
	int fd = open(path, O_RDONLY);
	bool ok;

	ok = got && fd >= 0 && pread(fd, got, len, (off_t)off) == (ssize_t)len &&
	     !memcmp(got, want, len);
	if (fd >= 0)
		close(fd);
	free(got);
	return ok;
}

/* ---- Cases: control ------------------------------------------------------------ */

static void t_hello(void)
{
	struct msg *m = hello(fe1);

	CHECK(is_reply(m, VIRTIO_ARGO_T_HELLO,
		       sizeof(struct virtio_argo_hello_reply)));
	CHECK(st(m) == VIRTIO_ARGO_S_OK);
	CHECK(m && vab_get16(m->buf + 16) == 1);	/* version */
	CHECK(m && vab_get16(m->buf + 18) == 1);	/* num_devices */
	CHECK(m && vab_get32(m->buf + 20) == 0);	/* features */
	CHECK(m && vab_get32(m->buf + 24) == VAB_CTRL_RING - 32);
	CHECK(m && m->domain == FE1 && m->ep == &fe1->ctrl);
	CHECK(fe1->hello && fe1->ctrl_port == FE_CTRL);
	CHECK(dev(fe1, 0)->handle && dev(fe1, 0)->handle != dev(fe2, 0)->handle);
}

static void t_hello_malformed(void)
{
	struct virtio_argo_hello h[2];
	struct msg *m;

	memset(h, 0, sizeof(h));
	h[0].version_min = htole16(1);
	h[0].version_max = htole16(1);
	m = ctrl(fe1, VIRTIO_ARGO_T_HELLO, 0, h, sizeof(h[0]) - 4);
	CHECK(is_reply(m, VIRTIO_ARGO_T_HELLO, 16) && st(m) == VIRTIO_ARGO_S_INVAL);
	m = ctrl(fe1, VIRTIO_ARGO_T_HELLO, 0, h, sizeof(h[0]) + 8);
	CHECK(is_reply(m, VIRTIO_ARGO_T_HELLO, 16) && st(m) == VIRTIO_ARGO_S_INVAL);
	m = ctrl(fe1, VIRTIO_ARGO_T_HELLO, 5, h, sizeof(h[0]));
	CHECK(st(m) == VIRTIO_ARGO_S_INVAL);		/* dev != 0 */
	h[0].version_min = htole16(2);
	h[0].version_max = htole16(3);
	m = ctrl(fe1, VIRTIO_ARGO_T_HELLO, 0, h, sizeof(h[0]));
	CHECK(is_reply(m, VIRTIO_ARGO_T_HELLO, 16) && st(m) == VIRTIO_ARGO_S_UNSUPP);
	h[0].version_min = htole16(1);
	h[0].version_max = htole16(0);
	m = ctrl(fe1, VIRTIO_ARGO_T_HELLO, 0, h, sizeof(h[0]));
	CHECK(st(m) == VIRTIO_ARGO_S_INVAL);
	CHECK(!fe1->hello);
	h[0].version_min = htole16(0);
	h[0].version_max = htole16(9);
	m = ctrl(fe1, VIRTIO_ARGO_T_HELLO, 0, h, sizeof(h[0]));
	CHECK(st(m) == VIRTIO_ARGO_S_OK && m && vab_get16(m->buf + 16) == 1);
}

static void t_ctrl_garbage(void)
{
	uint8_t buf[64] = { 0 };
	uint64_t bad = fe1->malformed;
	struct msg *m;

	vab_ctrl_rx(fe1, FE1, FE_CTRL, VIRTIO_ARGO_T_PING, buf, 7);
	CHECK(nsent == 0 && fe1->malformed == bad + 1);	/* no header */
	m = ctrl_raw(fe1, VIRTIO_ARGO_T_PING, buf, 8);	/* tag 0 */
	CHECK(m && st(m) == VIRTIO_ARGO_S_INVAL && vab_get32(m->buf + 4) == 0);
	clear_sent();
	vab_ctrl_rx(fe1, FE1, FE_CTRL, VIRTIO_ARGO_T_PING | VIRTIO_ARGO_REPLY,
		    buf, 16);
	CHECK(nsent == 0);				/* a reply: dropped */
	vab_ctrl_rx(fe1, FE2, FE_CTRL, VIRTIO_ARGO_T_PING, buf, 8);
	CHECK(nsent == 0);				/* wrong source */
	m = ctrl(fe1, 0x4242, 0, buf, 32);
	CHECK(is_reply(m, 0x4242, 16) && st(m) == VIRTIO_ARGO_S_UNSUPP);
	m = ctrl(fe1, VIRTIO_ARGO_T_DATA_REQ, 0, buf, 32);
	CHECK(st(m) == VIRTIO_ARGO_S_UNSUPP);
	CHECK(simple(fe1, VIRTIO_ARGO_T_PING, 0) == VIRTIO_ARGO_S_OK);
	m = ctrl(fe1, VIRTIO_ARGO_T_PING, 0, buf, 12);
	CHECK(st(m) == VIRTIO_ARGO_S_INVAL);
}

static void t_before_hello(void)
{
	struct msg *m = dev_info(fe1, 0);

	CHECK(is_reply(m, VIRTIO_ARGO_T_DEV_INFO, 16) &&
	      st(m) == VIRTIO_ARGO_S_STATE);
	CHECK(simple(fe1, VIRTIO_ARGO_T_RESET, 1) == VIRTIO_ARGO_S_STATE);
	CHECK(simple(fe1, VIRTIO_ARGO_T_PING, 0) == VIRTIO_ARGO_S_OK);
	CHECK(simple(fe1, VIRTIO_ARGO_T_PING, 1) == VIRTIO_ARGO_S_STATE);
}

static void t_dev_info(void)
{
	struct vab_dev *d = dev(fe1, 0);
	struct msg *m;
	const uint8_t *cfg;

	hello(fe1);
	m = dev_info(fe1, 0);
	CHECK(is_reply(m, VIRTIO_ARGO_T_DEV_INFO, 56 + 8 + 60));
	CHECK(st(m) == VIRTIO_ARGO_S_OK);
	if (!m || m->len != 56 + 8 + 60)
		return;
	CHECK(vab_get32(m->buf + 16) == d->handle);
	CHECK(vab_get32(m->buf + 20) == 2);		/* block */
	CHECK(vab_get64(m->buf + 32) & (1ULL << 32));	/* VERSION_1 */
	CHECK(vab_get64(m->buf + 32) & (1ULL << VIRTIO_BLK_F_FLUSH));
	CHECK(vab_get64(m->buf + 32) & (1ULL << VIRTIO_BLK_F_DISCARD));
	CHECK(!(vab_get64(m->buf + 32) & (1ULL << VIRTIO_BLK_F_RO)));
	CHECK(vab_get16(m->buf + 40) == 1);		/* num_queues */
	CHECK(vab_get16(m->buf + 42) == 60);		/* config_len */
	CHECK(vab_get32(m->buf + 44) == VIRTIO_ARGO_PORT_DATA_BASE);
	CHECK(vab_get32(m->buf + 48) == VAB_DATA_RING_DEFAULT);
	CHECK(vab_get16(m->buf + 56) == 256);		/* queue max */
	CHECK(vab_get16(m->buf + 58) == 0);		/* padding */
	cfg = m->buf + 64;
	CHECK(vab_get64(cfg) == SECTORS);
	CHECK(vab_get32(cfg + 20) == 512);		/* blk_size */
	CHECK(vab_get16(cfg + 34) == 1);		/* num_queues */
	CHECK(vab_get32(cfg + 40) == 16);		/* max_discard_seg */
}

static void t_dev_info_malformed(void)
{
	struct virtio_argo_dev_info di[2];
	struct msg *m;

	hello(fe1);
	CHECK(st(dev_info(fe1, 1)) == VIRTIO_ARGO_S_NODEV);
	CHECK(st(dev_info(fe1, 0xffffffff)) == VIRTIO_ARGO_S_NODEV);
	memset(di, 0, sizeof(di));
	m = ctrl(fe1, VIRTIO_ARGO_T_DEV_INFO, 0, di, sizeof(di[0]) - 1);
	CHECK(is_reply(m, VIRTIO_ARGO_T_DEV_INFO, 16) && st(m) == VIRTIO_ARGO_S_INVAL);
	m = ctrl(fe1, VIRTIO_ARGO_T_DEV_INFO, 0, di, sizeof(di));
	CHECK(st(m) == VIRTIO_ARGO_S_INVAL);
	m = ctrl(fe1, VIRTIO_ARGO_T_DEV_INFO, 7, di, sizeof(di[0]));
	CHECK(st(m) == VIRTIO_ARGO_S_INVAL);
}

static void t_attach(void)
{
	struct vab_dev *d = dev(fe1, 0);
	struct virtio_argo_attach a[2];
	struct msg *m;

	hello(fe1);
	memset(a, 0, sizeof(a));
	m = ctrl(fe1, VIRTIO_ARGO_T_ATTACH, d->handle, a, sizeof(a[0]) + 4);
	CHECK(st(m) == VIRTIO_ARGO_S_INVAL);
	CHECK(attach(fe1, d->handle, FE_DATA, VIRTIO_ARGO_MIN_DATA_RING - 16) ==
	      VIRTIO_ARGO_S_INVAL);
	max_msg_err = -ECONNREFUSED;
	CHECK(attach(fe1, d->handle, FE_DATA, 1 << 20) == VIRTIO_ARGO_S_INVAL);
	max_msg_err = 0;
	CHECK(!d->attached);
	CHECK(attach(fe1, d->handle + 1000, FE_DATA, 1 << 20) ==
	      VIRTIO_ARGO_S_NODEV);
	max_msg_val = 100000;	/* the hypervisor knows better */
	CHECK(attach(fe1, d->handle, FE_DATA, 1 << 20) == VIRTIO_ARGO_S_OK);
	CHECK(d->attached && d->fe_port == FE_DATA && d->fe_max_msg == 100000);
	CHECK(attach(fe1, d->handle, FE_DATA, 1 << 20) == VIRTIO_ARGO_S_STATE);
	CHECK(simple(fe1, VIRTIO_ARGO_T_DETACH, d->handle) == VIRTIO_ARGO_S_OK);
	CHECK(!d->attached);
	CHECK(simple(fe1, VIRTIO_ARGO_T_DETACH, d->handle) == VIRTIO_ARGO_S_STATE);
	max_msg_val = 1 << 24;
	CHECK(attach(fe1, d->handle, FE_DATA, 65536) == VIRTIO_ARGO_S_OK);
	CHECK(d->fe_max_msg == 65536 - 32);
}

/* Every request naming a handle of frontend 2 on frontend 1: NODEV. */
static void t_foreign_handle(void)
{
	uint32_t other, mine, s = 0;
	uint8_t buf[64] = { 0 };
	struct msg *m;

	hello(fe1);
	other = up(fe2, 0, ALL_F, 256);
	CHECK(other);
	mine = dev(fe1, 0)->handle;
	CHECK(mine != other);
	CHECK(attach(fe1, other, FE_DATA, 1 << 20) == VIRTIO_ARGO_S_NODEV);
	CHECK(set_features(fe1, other, 1ULL << 32) == VIRTIO_ARGO_S_NODEV);
	CHECK(set_status(fe1, other, 1, &s) == VIRTIO_ARGO_S_NODEV);
	CHECK(queue_setup(fe1, other, 0, 256, 1) == VIRTIO_ARGO_S_NODEV);
	CHECK(simple(fe1, VIRTIO_ARGO_T_RESET, other) == VIRTIO_ARGO_S_NODEV);
	CHECK(simple(fe1, VIRTIO_ARGO_T_DETACH, other) == VIRTIO_ARGO_S_NODEV);
	CHECK(simple(fe1, VIRTIO_ARGO_T_PING, other) == VIRTIO_ARGO_S_NODEV);
	m = ctrl(fe1, VIRTIO_ARGO_T_CONFIG_READ, other, buf,
		 sizeof(struct virtio_argo_config_access));
	CHECK(st(m) == VIRTIO_ARGO_S_NODEV);
	m = ctrl(fe1, VIRTIO_ARGO_T_CONFIG_WRITE, other, buf,
		 sizeof(struct virtio_argo_config_access));
	CHECK(st(m) == VIRTIO_ARGO_S_NODEV);
	CHECK(fe1->unknown_handles == 9 && fe2->unknown_handles == 0);
	/* Frontend 2's device is untouched. */
	CHECK(dev(fe2, 0)->status == 0x0f && dev(fe2, 0)->attached);
	CHECK(simple(fe1, VIRTIO_ARGO_T_PING, mine) == VIRTIO_ARGO_S_OK);
}

static void t_set_features(void)
{
	struct vab_dev *d = dev(fe1, 0);
	struct virtio_argo_set_features sf[2];
	uint32_t s = 0;
	struct msg *m;

	hello(fe1);
	memset(sf, 0, sizeof(sf));
	m = ctrl(fe1, VIRTIO_ARGO_T_SET_FEATURES, d->handle, sf, 12);
	CHECK(st(m) == VIRTIO_ARGO_S_INVAL);
	CHECK(set_features(fe1, d->handle, 1ULL << 33 | 1ULL << 32) ==
	      VIRTIO_ARGO_S_INVAL);			/* not offered */
	CHECK(set_features(fe1, d->handle, 1ULL << VIRTIO_BLK_F_FLUSH) ==
	      VIRTIO_ARGO_S_INVAL);			/* no VERSION_1 */
	CHECK(set_features(fe1, d->handle, offered(d)) == VIRTIO_ARGO_S_OK);
	CHECK(d->features == offered(d));
	CHECK(set_status(fe1, d->handle, 0x0b, &s) == VIRTIO_ARGO_S_OK &&
	      s == 0x0b);
	CHECK(set_features(fe1, d->handle, 1ULL << 32) == VIRTIO_ARGO_S_STATE);
}

static void t_set_status(void)
{
	struct vab_dev *d = dev(fe1, 0);
	uint32_t s = 0;

	hello(fe1);
	CHECK(set_status(fe1, d->handle, 0, &s) == VIRTIO_ARGO_S_INVAL);
	CHECK(set_status(fe1, d->handle, 0x100, &s) == VIRTIO_ARGO_S_INVAL);
	CHECK(set_status(fe1, d->handle, 0x40, &s) == VIRTIO_ARGO_S_INVAL);
	CHECK(set_status(fe1, d->handle, 0x03, &s) == VIRTIO_ARGO_S_OK &&
	      s == 0x03);
	CHECK(set_status(fe1, d->handle, 0x01, &s) == VIRTIO_ARGO_S_INVAL);
	/* No features set: FEATURES_OK refused, the reply shows it. */
	CHECK(set_status(fe1, d->handle, 0x0b, &s) == VIRTIO_ARGO_S_OK &&
	      s == 0x03);
	CHECK(set_status(fe1, d->handle, 0x07, &s) == VIRTIO_ARGO_S_STATE);
	CHECK(d->status == 0x03);
	CHECK(set_features(fe1, d->handle, 1ULL << 32) == VIRTIO_ARGO_S_OK);
	CHECK(set_status(fe1, d->handle, 0x0b, &s) == VIRTIO_ARGO_S_OK &&
	      s == 0x0b);
	CHECK(set_status(fe1, d->handle, 0x0f, &s) == VIRTIO_ARGO_S_OK &&
	      s == 0x0f);
	CHECK(set_status(fe1, d->handle, 0x8f, &s) == VIRTIO_ARGO_S_OK &&
	      s == 0x8f);
}

static void t_queue_setup(void)
{
	struct vab_dev *d = dev(fe1, 0);
	uint32_t s;

	hello(fe1);
	CHECK(queue_setup(fe1, d->handle, 1, 256, 1) == VIRTIO_ARGO_S_INVAL);
	CHECK(queue_setup(fe1, d->handle, 0, 100, 1) == VIRTIO_ARGO_S_INVAL);
	CHECK(queue_setup(fe1, d->handle, 0, 512, 1) == VIRTIO_ARGO_S_INVAL);
	CHECK(queue_setup(fe1, d->handle, 0, 0, 1) == VIRTIO_ARGO_S_INVAL);
	CHECK(queue_setup(fe1, d->handle, 0, 64, 3) == VIRTIO_ARGO_S_INVAL);
	CHECK(queue_setup(fe1, d->handle, 0, 0, 0) == VIRTIO_ARGO_S_OK);
	CHECK(!d->queues[0].enabled);
	CHECK(queue_setup(fe1, d->handle, 0, 64, 1) == VIRTIO_ARGO_S_OK);
	CHECK(d->queues[0].enabled && d->queues[0].size == 64);
	set_features(fe1, d->handle, 1ULL << 32);
	set_status(fe1, d->handle, 0x0f, &s);
	CHECK(queue_setup(fe1, d->handle, 0, 32, 1) == VIRTIO_ARGO_S_STATE);
	CHECK(d->queues[0].size == 64);
}

static void t_config(void)
{
	struct vab_dev *d = dev(fe1, 0);
	uint8_t buf[16 + 300];
	struct msg *m;

	hello(fe1);
	memset(buf, 0, sizeof(buf));
	vab_put32(buf + 8, 8);		/* offset */
	vab_put32(buf + 12, 8);		/* len */
	m = ctrl(fe1, VIRTIO_ARGO_T_CONFIG_READ, d->handle, buf, 16);
	CHECK(is_reply(m, VIRTIO_ARGO_T_CONFIG_READ, 24 + 8));
	CHECK(st(m) == VIRTIO_ARGO_S_OK);
	CHECK(m && vab_get32(m->buf + 16) == d->generation);
	CHECK(m && vab_get16(m->buf + 20) == 8 && vab_get16(m->buf + 22) == 8);
	CHECK(m && m->len == 32 && vab_get32(m->buf + 24) == 65536 &&
	      vab_get32(m->buf + 28) == 254);	/* size_max, seg_max */
	vab_put32(buf + 8, 56);
	vab_put32(buf + 12, 8);			/* beyond 60 */
	m = ctrl(fe1, VIRTIO_ARGO_T_CONFIG_READ, d->handle, buf, 16);
	CHECK(is_reply(m, VIRTIO_ARGO_T_CONFIG_READ, 16) &&
	      st(m) == VIRTIO_ARGO_S_INVAL);
	vab_put32(buf + 8, 0xfffffff0);
	vab_put32(buf + 12, 0x20);		/* wraps */
	CHECK(st(ctrl(fe1, VIRTIO_ARGO_T_CONFIG_READ, d->handle, buf, 16)) ==
	      VIRTIO_ARGO_S_INVAL);
	vab_put32(buf + 8, 0);
	vab_put32(buf + 12, 4);
	CHECK(st(ctrl(fe1, VIRTIO_ARGO_T_CONFIG_READ, d->handle, buf, 20)) ==
	      VIRTIO_ARGO_S_INVAL);		/* bytes after a read */
	/* Write: read-only fields stay; the reply is the whole space. */
	vab_put32(buf + 8, 0);
	vab_put32(buf + 12, 8);
	memset(buf + 16, 0xff, 8);
	m = ctrl(fe1, VIRTIO_ARGO_T_CONFIG_WRITE, d->handle, buf, 24);
	CHECK(is_reply(m, VIRTIO_ARGO_T_CONFIG_WRITE, 24 + 60));
	CHECK(m && m->len == 84 && vab_get64(m->buf + 24) == SECTORS);
	m = ctrl(fe1, VIRTIO_ARGO_T_CONFIG_WRITE, d->handle, buf, 23);
	CHECK(st(m) == VIRTIO_ARGO_S_INVAL);	/* len says 8, has 7 */
	vab_put32(buf + 12, 1000);
	m = ctrl(fe1, VIRTIO_ARGO_T_CONFIG_WRITE, d->handle, buf, sizeof(buf));
	CHECK(st(m) == VIRTIO_ARGO_S_INVAL);
	m = ctrl(fe1, VIRTIO_ARGO_T_CONFIG_WRITE, d->handle, buf, 12);
	CHECK(st(m) == VIRTIO_ARGO_S_INVAL);
}

static void t_ev_config(void)
{
	struct vab_dev *d = dev(fe1, 0);
	uint32_t gen = d->generation;
	struct msg *m;

	hello(fe1);
	clear_sent();
	if (truncate(paths[0], DISK_SIZE * 2))
		CHECK(0);
	vab_refresh_all(&b);
	CHECK(nsent == 1);
	m = nsent ? &sent[0] : NULL;
	CHECK(m && m->type == VIRTIO_ARGO_T_EV_CONFIG && m->port == FE_CTRL &&
	      m->domain == FE1 && m->len == 16 + 60);
	CHECK(m && vab_get32(m->buf) == d->handle && vab_get32(m->buf + 4) == 0);
	CHECK(m && vab_get32(m->buf + 8) == gen + 1 && d->generation == gen + 1);
	CHECK(m && vab_get64(m->buf + 16) == 2 * SECTORS);
	clear_sent();
	vab_refresh_all(&b);			/* no change, no event */
	CHECK(nsent == 0);
}

static void t_ctrl_eagain(void)
{
	struct msg *m;

	eagain = 1;
	vab_ctrl_rx(fe1, FE1, FE_CTRL, VIRTIO_ARGO_T_PING,
		    &(struct virtio_argo_hdr){ 0, htole32(5) }, 8);
	CHECK(nsent == 0 && fe1->ctrl.tx_blocked);
	CHECK(!vab_ctrl_rx_ready(fe1) && vab_ctrl_tx_pending(fe1));
	CHECK(vab_ctrl_rx_ready(fe2));		/* others go on */
	vab_ctrl_tx(fe1);			/* POLLOUT */
	m = nsent ? &sent[0] : NULL;
	CHECK(m && m->type == (VIRTIO_ARGO_T_PING | VIRTIO_ARGO_REPLY) &&
	      vab_get32(m->buf + 4) == 5);
	CHECK(vab_ctrl_rx_ready(fe1) && !fe1->ctrl.tx_blocked);
}

static void t_hello_again(void)
{
	uint32_t h1 = up(fe1, 0, ALL_F, 256), h2;
	struct vab_dev *d = dev(fe1, 0);

	CHECK(h1 && d->attached);
	CHECK(st(hello(fe1)) == VIRTIO_ARGO_S_OK);
	h2 = d->handle;
	CHECK(h2 && h2 != h1);
	CHECK(!d->attached && d->status == 0);
	CHECK(simple(fe1, VIRTIO_ARGO_T_PING, h1) == VIRTIO_ARGO_S_NODEV);
	CHECK(simple(fe1, VIRTIO_ARGO_T_PING, h2) == VIRTIO_ARGO_S_OK);
}

/* ---- Cases: data ------------------------------------------------------------ */

static void t_rw(void)
{
	uint32_t h = up(fe1, 0, ALL_F, 256);
	struct vab_dev *d = dev(fe1, 0);
	uint8_t w[8192];

	CHECK(h);
	comps_reset();
	fill(w, sizeof(w), 1);
	blk_req(d, 77, 0, 3, VIRTIO_BLK_T_OUT, 16, w, sizeof(w), 1);
	comps_collect(d);
	CHECK(!comp_bad && comp_status(0, 3) == VIRTIO_BLK_S_OK);
	CHECK(comps[0][3].written == 1 && comps[0][3].session == 77);
	CHECK(disk_is(paths[0], 16 * 512, w, sizeof(w)));
	blk_req(d, 78, 0, 4, VIRTIO_BLK_T_IN, 16, NULL, 0, 4096 + 1);
	comps_collect(d);
	CHECK(!comp_bad && comp_status(0, 4) == VIRTIO_BLK_S_OK);
	CHECK(comps[0][4].written == 4097 && comps[0][4].session == 78);
	CHECK(comps[0][4].buf && !memcmp(comps[0][4].buf, w, 4096));
	CHECK(d->inflight == 0 && d->mem_used == 0);
	CHECK(d->stats.chains == 2);
}

static void t_flush_getid(void)
{
	uint32_t h = up(fe1, 0, ALL_F, 256);
	struct vab_dev *d = dev(fe1, 0);

	CHECK(h);
	comps_reset();
	blk_req(d, 1, 0, 0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 1);
	blk_req(d, 1, 0, 1, VIRTIO_BLK_T_GET_ID, 0, NULL, 0, 21);
	blk_req(d, 1, 0, 2, VIRTIO_BLK_T_GET_ID, 0, NULL, 0, 9);
	blk_req(d, 1, 0, 5, 0x77, 0, NULL, 0, 1);
	blk_req(d, 1, 0, 6, VIRTIO_BLK_T_GET_ID, 0, "x", 1, 21);
	comps_collect(d);
	CHECK(!comp_bad);
	CHECK(comp_status(0, 0) == VIRTIO_BLK_S_OK);
	CHECK(comp_status(0, 1) == VIRTIO_BLK_S_OK && comps[0][1].written == 21);
	CHECK(comps[0][1].buf && !memcmp(comps[0][1].buf, "vab-serial-0\0\0\0\0\0\0\0\0", 20));
	CHECK(comp_status(0, 2) == VIRTIO_BLK_S_OK &&
	      !memcmp(comps[0][2].buf, "vab-seri", 8));
	CHECK(comp_status(0, 5) == VIRTIO_BLK_S_UNSUPP);
	CHECK(comp_status(0, 6) == VIRTIO_BLK_S_IOERR);
}

static void dwz_seg(uint8_t *s, uint64_t sector, uint32_t num, uint32_t flags)
{
	vab_put64(s, sector);
	vab_put32(s + 8, num);
	vab_put32(s + 12, flags);
}

static void t_discard_wz(void)
{
	uint32_t h = up(fe1, 0, ALL_F, 256);
	struct vab_dev *d = dev(fe1, 0);
	static uint8_t w[65536], z[65536];
	uint8_t segs[17 * 16];
	unsigned int i;

	CHECK(h);
	comps_reset();
	fill(w, sizeof(w), 3);
	blk_req(d, 1, 0, 0, VIRTIO_BLK_T_OUT, 0, w, sizeof(w), 1);
	dwz_seg(segs, 8, 8, 0);				/* 4 KiB at 4 KiB */
	blk_req(d, 1, 0, 1, VIRTIO_BLK_T_DISCARD, 0, segs, 16, 1);
	dwz_seg(segs, 64, 8, 0);			/* 4 KiB at 32 KiB */
	dwz_seg(segs + 16, 80, 3, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	blk_req(d, 1, 0, 2, VIRTIO_BLK_T_WRITE_ZEROES, 0, segs, 32, 1);
	comps_collect(d);
	CHECK(!comp_bad && comp_status(0, 0) == 0 && comp_status(0, 1) == 0 &&
	      comp_status(0, 2) == 0);
	memcpy(z, w, sizeof(z));
	memset(z + 4096, 0, 4096);
	memset(z + 32768, 0, 4096);
	memset(z + 40960, 0, 1536);
	CHECK(disk_is(paths[0], 0, z, sizeof(z)));

	/* Malformed segments and flags. */
	dwz_seg(segs, 8, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	blk_req(d, 1, 0, 10, VIRTIO_BLK_T_DISCARD, 0, segs, 16, 1);
	dwz_seg(segs, 8, 8, 2);
	blk_req(d, 1, 0, 11, VIRTIO_BLK_T_WRITE_ZEROES, 0, segs, 16, 1);
	for (i = 0; i < 17; i++)
		dwz_seg(segs + 16 * i, i, 1, 0);
	blk_req(d, 1, 0, 12, VIRTIO_BLK_T_DISCARD, 0, segs, 17 * 16, 1);
	blk_req(d, 1, 0, 13, VIRTIO_BLK_T_DISCARD, 0, segs, 15, 1);
	blk_req(d, 1, 0, 14, VIRTIO_BLK_T_DISCARD, 0, NULL, 0, 1);
	dwz_seg(segs, SECTORS - 4, 8, 0);
	blk_req(d, 1, 0, 15, VIRTIO_BLK_T_DISCARD, 0, segs, 16, 1);
	dwz_seg(segs, ~0ULL - 2, 8, 0);
	blk_req(d, 1, 0, 16, VIRTIO_BLK_T_WRITE_ZEROES, 0, segs, 16, 1);
	dwz_seg(segs, 0, (1U << 16) + 1, 0);
	blk_req(d, 1, 0, 17, VIRTIO_BLK_T_WRITE_ZEROES, 0, segs, 16, 1);
	comps_collect(d);
	CHECK(!comp_bad);
	CHECK(comp_status(0, 10) == VIRTIO_BLK_S_UNSUPP);
	CHECK(comp_status(0, 11) == VIRTIO_BLK_S_UNSUPP);
	CHECK(comp_status(0, 12) == VIRTIO_BLK_S_UNSUPP);
	CHECK(comp_status(0, 13) == VIRTIO_BLK_S_UNSUPP);
	CHECK(comp_status(0, 14) == VIRTIO_BLK_S_UNSUPP);
	CHECK(comp_status(0, 15) == VIRTIO_BLK_S_IOERR);
	CHECK(comp_status(0, 16) == VIRTIO_BLK_S_IOERR);
	CHECK(comp_status(0, 17) == VIRTIO_BLK_S_IOERR);
	CHECK(disk_is(paths[0], 0, z, sizeof(z)));	/* nothing touched */
}

static void t_discard_not_negotiated(void)
{
	uint32_t h = up(fe1, 0, ~(1ULL << VIRTIO_BLK_F_DISCARD |
				  1ULL << VIRTIO_BLK_F_WRITE_ZEROES), 256);
	struct vab_dev *d = dev(fe1, 0);
	uint8_t seg[16];

	CHECK(h);
	comps_reset();
	dwz_seg(seg, 0, 8, 0);
	blk_req(d, 1, 0, 0, VIRTIO_BLK_T_DISCARD, 0, seg, 16, 1);
	blk_req(d, 1, 0, 1, VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 16, 1);
	comps_collect(d);
	CHECK(comp_status(0, 0) == VIRTIO_BLK_S_UNSUPP);
	CHECK(comp_status(0, 1) == VIRTIO_BLK_S_UNSUPP);
}

static void t_bad_ranges(void)
{
	uint32_t h = up(fe1, 0, ALL_F, 256);
	struct vab_dev *d = dev(fe1, 0);
	static uint8_t w[4096];

	CHECK(h);
	comps_reset();
	blk_req(d, 1, 0, 0, VIRTIO_BLK_T_IN, SECTORS - 7, NULL, 0, 4097);
	blk_req(d, 1, 0, 1, VIRTIO_BLK_T_IN, SECTORS - 8, NULL, 0, 4097);
	blk_req(d, 1, 0, 2, VIRTIO_BLK_T_IN, ~0ULL - 3, NULL, 0, 4097);
	blk_req(d, 1, 0, 3, VIRTIO_BLK_T_OUT, ~0ULL / 512, w, 4096, 1);
	blk_req(d, 1, 0, 4, VIRTIO_BLK_T_IN, 0, NULL, 0, 1000);
	blk_req(d, 1, 0, 5, VIRTIO_BLK_T_OUT, 0, w, 1000, 1);
	blk_req(d, 1, 0, 6, VIRTIO_BLK_T_IN, 0, w, 512, 513);
	blk_req(d, 1, 0, 7, VIRTIO_BLK_T_OUT, SECTORS, w, 512, 1);
	blk_req(d, 1, 0, 8, VIRTIO_BLK_T_IN, SECTORS, NULL, 0, 1);
	comps_collect(d);
	CHECK(!comp_bad);
	CHECK(comp_status(0, 0) == VIRTIO_BLK_S_IOERR);
	CHECK(comps[0][0].written == 4097);	/* status at the end */
	CHECK(comp_status(0, 1) == VIRTIO_BLK_S_OK);
	CHECK(comp_status(0, 2) == VIRTIO_BLK_S_IOERR);
	CHECK(comp_status(0, 3) == VIRTIO_BLK_S_IOERR);
	CHECK(comp_status(0, 4) == VIRTIO_BLK_S_IOERR);
	CHECK(comp_status(0, 5) == VIRTIO_BLK_S_IOERR);
	CHECK(comp_status(0, 6) == VIRTIO_BLK_S_IOERR);
	CHECK(comp_status(0, 7) == VIRTIO_BLK_S_IOERR);
	CHECK(comp_status(0, 8) == VIRTIO_BLK_S_OK);	/* 0 bytes at the end */

	/* A header shorter than 16 bytes; no writable byte at all. */
	{
		struct desc ds[2] = { { 8, 0 }, { 1, VIRTIO_ARGO_DESC_WRITE } };
		uint8_t hdr[16] = { 0 };

		b_init(&bl);
		b_rec(&bl, 0, 20, 3, ds, 2, 8, 1, 0, hdr, 8);
		b_rec(&bl, 0, 21, 3, ds, 1, 8, 0, 0, hdr, 8);
		b_send(d, h, 1);
		comps_collect(d);
		CHECK(comp_status(0, 20) == VIRTIO_BLK_S_IOERR);
		CHECK(comps[0][21].done && comps[0][21].written == 0);
	}
}

static void t_readonly(void)
{
	uint32_t h;
	struct vab_dev *d;
	static uint8_t w[4096], z[4096];
	uint8_t seg[16];

	teardown();
	CHECK(setup("readonly=on"));
	h = up(fe1, 0, ALL_F, 256);
	d = dev(fe1, 0);
	CHECK(h);
	CHECK(d->features & (1ULL << VIRTIO_BLK_F_RO));
	CHECK(!(offered(d) & (1ULL << VIRTIO_BLK_F_DISCARD)));
	comps_reset();
	fill(w, sizeof(w), 9);
	blk_req(d, 1, 0, 0, VIRTIO_BLK_T_OUT, 0, w, sizeof(w), 1);
	dwz_seg(seg, 0, 8, 0);
	blk_req(d, 1, 0, 1, VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 16, 1);
	blk_req(d, 1, 0, 2, VIRTIO_BLK_T_IN, 0, NULL, 0, 4097);
	blk_req(d, 1, 0, 3, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 1);
	comps_collect(d);
	CHECK(comp_status(0, 0) == VIRTIO_BLK_S_IOERR);
	CHECK(comp_status(0, 1) == VIRTIO_BLK_S_UNSUPP);
	CHECK(comp_status(0, 2) == VIRTIO_BLK_S_OK);
	CHECK(comp_status(0, 3) == VIRTIO_BLK_S_OK);
	CHECK(disk_is(paths[0], 0, z, sizeof(z)));
}

/* A 1 MiB write in three messages, interleaved with other chains. */
static void t_split_request(void)
{
	uint32_t h = up(fe1, 0, ALL_F, 256);
	struct vab_dev *d = dev(fe1, 0);
	const uint32_t dl = 1 << 20, ol = 16 + dl;
	struct desc ds[3] = { { 16, 0 }, { dl, 0 },
			      { 1, VIRTIO_ARGO_DESC_WRITE } };
	uint8_t *out = malloc(ol);

	CHECK(h && out);
	if (!out)
		return;
	comps_reset();
	vab_put32(out, VIRTIO_BLK_T_OUT);
	vab_put32(out + 4, 0);
	vab_put64(out + 8, 1024);
	fill(out + 16, dl, 5);

	b_init(&bl);
	b_rec(&bl, 0, 9, VIRTIO_ARGO_CHAIN_FIRST, ds, 3, ol, 1, 0, out, 300000);
	blk_chain(&bl, 0, 10, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 1);
	b_send(d, h, 4);
	comps_collect(d);
	CHECK(comp_status(0, 10) == 0 && !comps[0][9].done);
	CHECK(d->queues[0].slots[9] &&
	      d->queues[0].slots[9]->state == VAB_CHAIN_RECEIVING);

	b_init(&bl);
	blk_chain(&bl, 0, 11, VIRTIO_BLK_T_GET_ID, 0, NULL, 0, 21);
	b_rec(&bl, 0, 9, 0, NULL, 0, ol, 1, 300000, out + 300000, 500000);
	b_send(d, h, 4);
	b_init(&bl);
	b_rec(&bl, 0, 9, VIRTIO_ARGO_CHAIN_LAST, NULL, 0, ol, 1, 800000,
	      out + 800000, ol - 800000);
	b_send(d, h, 4);
	comps_collect(d);
	CHECK(!comp_bad && comp_status(0, 9) == VIRTIO_BLK_S_OK);
	CHECK(comp_status(0, 11) == VIRTIO_BLK_S_OK);
	CHECK(disk_is(paths[0], 1024 * 512, out + 16, dl));
	CHECK(d->inflight == 0 && d->mem_used == 0);
	free(out);
}

/* Completions larger than the frontend's ring are split; small ones packed. */
static void t_split_completion(void)
{
	struct vab_dev *d = dev(fe1, 0);
	static uint8_t w[65536];
	uint32_t h;
	unsigned int i;

	max_msg_val = 4096;
	h = up(fe1, 0, ALL_F, 256);
	CHECK(h && d->fe_max_msg == 4096);
	comps_reset();
	fill(w, sizeof(w), 7);
	blk_req(d, 1, 0, 0, VIRTIO_BLK_T_OUT, 200, w, sizeof(w), 1);
	blk_req(d, 2, 0, 1, VIRTIO_BLK_T_IN, 200, NULL, 0, sizeof(w) + 1);
	comps_collect(d);
	CHECK(!comp_bad && comp_status(0, 1) == 0);
	CHECK(comps[0][1].written == sizeof(w) + 1 && comps[0][1].session == 2);
	CHECK(comps[0][1].buf && !memcmp(comps[0][1].buf, w, sizeof(w)));
	CHECK(comp_msgs >= 17);
	/* Twenty flushes in one message: their completions share messages. */
	comps_reset();
	clear_sent();
	b_init(&bl);
	for (i = 0; i < 20; i++)
		blk_chain(&bl, 0, (uint16_t)(30 + i), VIRTIO_BLK_T_FLUSH, 0,
			  NULL, 0, 1);
	b_send(d, h, 3);
	comps_collect(d);
	CHECK(!comp_bad && comp_msgs == 1);
	for (i = 0; i < 20; i++)
		CHECK(comp_status(0, (uint16_t)(30 + i)) == 0);
}

/* Multi-queue: four queues, requests on each. */
static void t_multiqueue(void)
{
	uint32_t h;
	struct vab_dev *d;
	struct msg *m;
	unsigned int q;

	teardown();
	CHECK(setup("num-queues=4,queue-size=128"));
	d = dev(fe1, 0);
	hello(fe1);
	m = dev_info(fe1, 0);
	CHECK(is_reply(m, VIRTIO_ARGO_T_DEV_INFO, 56 + 8 + 60));
	CHECK(m && vab_get16(m->buf + 40) == 4 && vab_get16(m->buf + 56) == 128 &&
	      vab_get16(m->buf + 62) == 128 && vab_get16(m->buf + 64 + 34) == 4);
	CHECK(offered(d) & (1ULL << VIRTIO_BLK_F_MQ));
	CHECK(queue_setup(fe1, d->handle, 0, 256, 1) == VIRTIO_ARGO_S_INVAL);
	h = up(fe1, 0, ALL_F, 128);
	CHECK(h);
	comps_reset();
	for (q = 0; q < 4; q++)
		blk_req(d, 1, (uint16_t)q, 127, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 1);
	blk_req(d, 1, 3, 128, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 1);
	comps_collect(d);
	for (q = 0; q < 4; q++)
		CHECK(comp_status((uint16_t)q, 127) == 0);
	CHECK(!comps[3][128 % MAXID].done);
}

/* Malformed records: each dropped or its chain failed, never more. */
static void t_malformed_records(void)
{
	uint32_t h = up(fe1, 0, ALL_F, 256);
	struct vab_dev *d = dev(fe1, 0);
	struct desc ok[2] = { { 16, 0 }, { 1, VIRTIO_ARGO_DESC_WRITE } };
	struct desc bad[2];
	uint8_t hdr[16] = { 4 /* FLUSH */ };
	uint64_t mal;
	size_t len;
	uint8_t *p;

	CHECK(h);
	comps_reset();
#define REC1(q, id, fl, ds, nd, ol, il, off, ln) do {			\
		b_init(&bl);						\
		b_rec(&bl, q, id, fl, ds, nd, ol, il, off, hdr, ln);	\
		b_send(d, h, 1);		\
	} while (0)
	mal = d->stats.malformed;
	REC1(0, 256, 3, ok, 2, 16, 1, 0, 16);		/* id >= size */
	REC1(1, 0, 3, ok, 2, 16, 1, 0, 16);		/* no queue 1 */
	REC1(0, 1, 2, NULL, 0, 16, 1, 0, 16);		/* not in progress */
	comps_collect(d);
	CHECK(nsent == 0 && d->stats.malformed == mal + 3);

	REC1(0, 2, 3, ok, 0, 16, 1, 0, 16);		/* ndesc 0 */
	bad[0] = (struct desc){ 16, 0 };
	bad[1] = (struct desc){ 2, VIRTIO_ARGO_DESC_WRITE };
	REC1(0, 3, 3, bad, 2, 16, 1, 0, 16);		/* in_len mismatch */
	bad[0] = (struct desc){ 1, VIRTIO_ARGO_DESC_WRITE };
	bad[1] = (struct desc){ 16, 0 };
	REC1(0, 4, 3, bad, 2, 16, 1, 0, 16);		/* readable after */
	bad[0] = (struct desc){ 16, 4 };
	bad[1] = (struct desc){ 1, VIRTIO_ARGO_DESC_WRITE };
	REC1(0, 5, 3, bad, 2, 16, 1, 0, 16);		/* desc flags */
	REC1(0, 6, 3, ok, 2, 16, 1, 0, 8);		/* ends short */
	REC1(0, 7, 3 | 8, ok, 2, 16, 1, 0, 16);		/* record flags */
	bad[0] = (struct desc){ 17 << 20, 0 };
	bad[1] = (struct desc){ 1, VIRTIO_ARGO_DESC_WRITE };
	REC1(0, 8, 1, bad, 2, 17 << 20, 1, 0, 16);	/* > 16 MiB */
	REC1(0, 9, 3, ok, 2, 16, 1, 4, 12);		/* starts at 4 */
	comps_collect(d);
	CHECK(!comp_bad);
	CHECK(comp_status(0, 2) == VIRTIO_BLK_S_IOERR);
	CHECK(comp_status(0, 3) == VIRTIO_BLK_S_IOERR && comps[0][3].written == 1);
	CHECK(comp_status(0, 4) == VIRTIO_BLK_S_IOERR);
	CHECK(comp_status(0, 5) == VIRTIO_BLK_S_IOERR);
	CHECK(comp_status(0, 6) == VIRTIO_BLK_S_IOERR);
	CHECK(comp_status(0, 7) == VIRTIO_BLK_S_IOERR);
	CHECK(comp_status(0, 8) == VIRTIO_BLK_S_IOERR);
	CHECK(comp_status(0, 9) == VIRTIO_BLK_S_IOERR);
	CHECK(d->stats.malformed == mal + 11 && d->stats.chains_failed == 8);

	/* A chain in progress: a gap, then a mismatching continuation. */
	REC1(0, 10, 1, ok, 2, 16, 1, 0, 4);
	REC1(0, 10, 2, NULL, 0, 16, 1, 6, 10);		/* gap */
	REC1(0, 11, 1, ok, 2, 16, 1, 0, 4);
	REC1(0, 11, 2, NULL, 0, 32, 1, 4, 12);		/* out_len differs */
	REC1(0, 12, 1, ok, 2, 16, 1, 0, 4);
	REC1(0, 12, 2, ok, 2, 16, 1, 4, 12);		/* ndesc on a later */
	REC1(0, 13, 1, ok, 2, 16, 1, 0, 4);
	REC1(0, 13, 1, ok, 2, 16, 1, 0, 4);		/* FIRST again */
	REC1(0, 14, 1, ok, 2, 16, 1, 0, 4);
	REC1(0, 14, 2, NULL, 0, 16, 1, 4, 14);		/* beyond out_len */
	comps_collect(d);
	CHECK(!comp_bad);
	CHECK(comp_status(0, 10) == VIRTIO_BLK_S_IOERR);
	CHECK(comp_status(0, 11) == VIRTIO_BLK_S_IOERR);
	CHECK(comp_status(0, 12) == VIRTIO_BLK_S_IOERR);
	CHECK(comp_status(0, 13) == VIRTIO_BLK_S_IOERR);
	CHECK(comp_status(0, 14) == VIRTIO_BLK_S_IOERR);
	CHECK(d->inflight == 0 && d->mem_used == 0);

	/* A session change within a chain. */
	b_init(&bl);
	b_rec(&bl, 0, 15, 1, ok, 2, 16, 1, 0, hdr, 4);
	b_send(d, h, 1);
	b_init(&bl);
	b_rec(&bl, 0, 15, 2, NULL, 0, 16, 1, 4, hdr + 4, 12);
	b_send(d, h, 2);
	comps_collect(d);
	CHECK(comp_status(0, 15) == VIRTIO_BLK_S_IOERR);

	/* Whole-message structure: dropped, nothing failed. */
	clear_sent();
	comps_reset();
	mal = d->stats.malformed;
	b_init(&bl);
	b_rec(&bl, 0, 16, 3, ok, 2, 16, 1, 0, hdr, 16);
	p = b_finish(&bl, h, 1, &len);
	vab_put32(p + 12, 44);				/* data_off % 8 */
	vab_data_rx(d, FE1, FE_DATA, VIRTIO_ARGO_T_DATA_REQ, p, len);
	vab_put32(p + 12, (uint32_t)len + 8);		/* beyond the end */
	vab_data_rx(d, FE1, FE_DATA, VIRTIO_ARGO_T_DATA_REQ, p, len);
	vab_put32(p + 12, 32);				/* cuts the record */
	vab_data_rx(d, FE1, FE_DATA, VIRTIO_ARGO_T_DATA_REQ, p, len);
	vab_put32(p + 12, 56);
	vab_put16(p + 8, 0);				/* nrec 0 */
	vab_data_rx(d, FE1, FE_DATA, VIRTIO_ARGO_T_DATA_REQ, p, len);
	vab_put16(p + 8, 2);				/* 2nd record missing */
	vab_data_rx(d, FE1, FE_DATA, VIRTIO_ARGO_T_DATA_REQ, p, len);
	vab_put16(p + 8, 1);
	vab_data_rx(d, FE1, FE_DATA, VIRTIO_ARGO_T_DATA_REQ, p, len - 1);
	vab_put16(p + 16 + 6, 1025);			/* ndesc > max */
	vab_data_rx(d, FE1, FE_DATA, VIRTIO_ARGO_T_DATA_REQ, p, len);
	vab_put16(p + 16 + 6, 2);
	vab_put32(p + 4, 0);				/* session 0 */
	vab_data_rx(d, FE1, FE_DATA, VIRTIO_ARGO_T_DATA_REQ, p, len);
	vab_put32(p + 4, 1);
	vab_data_rx(d, FE1, FE_DATA, VIRTIO_ARGO_T_DATA_COMP, p, len);
	vab_data_rx(d, FE2, FE_DATA, VIRTIO_ARGO_T_DATA_REQ, p, len);
	vab_data_rx(d, FE1, FE_DATA, VIRTIO_ARGO_T_DATA_REQ, p, 12);
	vab_put32(p, dev(fe2, 0)->handle ? dev(fe2, 0)->handle : 12345);
	vab_data_rx(d, FE1, FE_DATA, VIRTIO_ARGO_T_DATA_REQ, p, len);
	CHECK(nsent == 0 && d->stats.malformed == mal + 12);
	vab_put32(p, h);				/* and now it is fine */
	vab_data_rx(d, FE1, FE_DATA, VIRTIO_ARGO_T_DATA_REQ, p, len);
	comps_collect(d);
	CHECK(comp_status(0, 16) == 0 && d->stats.malformed == mal + 12);
	free(p);
#undef REC1
}

/* Another frontend's handle on our data ring reaches nothing. */
static void t_foreign_data(void)
{
	uint32_t h1 = up(fe1, 0, ALL_F, 256), h2 = up(fe2, 0, ALL_F, 256);
	struct vab_dev *d1 = dev(fe1, 0), *d2 = dev(fe2, 0);
	static uint8_t w[4096];

	CHECK(h1 && h2 && h1 != h2);
	comps_reset();
	fill(w, sizeof(w), 11);
	b_init(&bl);
	blk_chain(&bl, 0, 0, VIRTIO_BLK_T_OUT, 0, w, sizeof(w), 1);
	b_send(d1, h2, 1);
	CHECK(nsent == 0 && d2->stats.chains == 0 && d1->stats.malformed == 1);
	CHECK(!disk_is(paths[1], 0, w, sizeof(w)));
	CHECK(!disk_is(paths[0], 0, w, sizeof(w)));
}

static void t_not_running(void)
{
	struct vab_dev *d = dev(fe1, 0);
	uint32_t s;

	hello(fe1);
	attach(fe1, d->handle, FE_DATA, 1 << 20);
	set_features(fe1, d->handle, 1ULL << 32);
	set_status(fe1, d->handle, 0x0b, &s);
	queue_setup(fe1, d->handle, 0, 256, 1);
	clear_sent();
	blk_req(d, 1, 0, 0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 1);
	CHECK(nsent == 0 && d->stats.malformed == 0 && d->inflight == 0);
	set_status(fe1, d->handle, 0x0f, &s);
	set_status(fe1, d->handle, 0x8f, &s);	/* FAILED */
	clear_sent();
	blk_req(d, 1, 0, 0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 1);
	CHECK(nsent == 0 && d->inflight == 0);
}

/* A full frontend ring: completions wait, nothing else does. */
static void t_data_eagain(void)
{
	uint32_t h1 = up(fe1, 0, ALL_F, 256), h2 = up(fe2, 0, ALL_F, 256);
	struct vab_dev *d1 = dev(fe1, 0), *d2 = dev(fe2, 0);

	CHECK(h1 && h2);
	comps_reset();
	eagain = 1;
	blk_req(d1, 1, 0, 0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 1);
	blk_req(d1, 1, 0, 1, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 1);
	CHECK(nsent == 0 && d1->ep.tx_blocked && vab_dev_tx_pending(d1));
	CHECK(d1->stats.tx_eagain == 1);
	blk_req(d2, 1, 0, 0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 1);
	comps_collect(d2);
	CHECK(comp_status(0, 0) == 0);		/* frontend 2 unaffected */
	comps_reset();
	CHECK(simple(fe1, VIRTIO_ARGO_T_PING, h1) == VIRTIO_ARGO_S_OK);
	vab_dev_tx(d1);				/* POLLOUT */
	comps_collect(d1);
	CHECK(!comp_bad && comp_status(0, 0) == 0 && comp_status(0, 1) == 0);
	CHECK(!vab_dev_tx_pending(d1) && d1->inflight == 0);
}

/* Above max-memory the device stops reading and defers execution. */
static void t_memory_limit(void)
{
	struct vab_dev *d;
	uint32_t h;
	unsigned int i;

	teardown();
	CHECK(setup("max-memory=32M"));
	d = dev(fe1, 0);
	h = up(fe1, 0, ALL_F, 256);
	CHECK(h);
	comps_reset();
	eagain_always = true;
	for (i = 0; i < 40 && vab_dev_rx_ready(d); i++)
		blk_req(d, 1, 0, (uint16_t)i, VIRTIO_BLK_T_IN, 0, NULL, 0,
			(1 << 20) + 1);
	CHECK(!vab_dev_rx_ready(d) && i < 40);
	CHECK(d->mem_used <= d->mem_limit + (2U << 20));
	/* Chains that arrive anyway wait whole, unexecuted. */
	blk_req(d, 1, 0, 100, VIRTIO_BLK_T_IN, 0, NULL, 0, (1 << 20) + 1);
	blk_req(d, 1, 0, 101, VIRTIO_BLK_T_IN, 0, NULL, 0, (1 << 20) + 1);
	CHECK(d->queues[0].slots[100] &&
	      d->queues[0].slots[100]->state == VAB_CHAIN_READY);
	CHECK(d->queues[0].slots[101] &&
	      d->queues[0].slots[101]->state == VAB_CHAIN_READY);
	CHECK(d->mem_used <= d->mem_limit + (2U << 20));
	eagain_always = false;
	vab_dev_tx(d);
	comps_collect(d);
	CHECK(!comp_bad && comp_status(0, 100) == 0 && comp_status(0, 101) == 0);
	CHECK(comp_status(0, 0) == 0 && d->mem_used == 0 && d->inflight == 0);
	CHECK(vab_dev_rx_ready(d));
}

static void t_reset_discards(void)
{
	uint32_t h = up(fe1, 0, ALL_F, 256), s;
	struct vab_dev *d = dev(fe1, 0);
	unsigned int nd;
	struct desc ok[2] = { { 16, 0 }, { 1, VIRTIO_ARGO_DESC_WRITE } };
	uint8_t hdr[16] = { 4 };

	CHECK(h);
	comps_reset();
	eagain = 1;
	blk_req(d, 1, 0, 0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 1);
	b_init(&bl);
	b_rec(&bl, 0, 1, 1, ok, 2, 16, 1, 0, hdr, 4);
	b_send(d, h, 1);
	CHECK(d->inflight == 2 && nsent == 0);
	nd = discards;
	CHECK(simple(fe1, VIRTIO_ARGO_T_RESET, h) == VIRTIO_ARGO_S_OK);
	CHECK(d->inflight == 0 && d->mem_used == 0 && d->status == 0 &&
	      d->features == 0 && !d->queues[0].enabled);
	CHECK(discards == nd + 1 && d->attached);
	vab_dev_tx(d);
	CHECK(nsent == 1);			/* only the RESET reply */
	CHECK(set_status(fe1, h, 0x0f, &s) == VIRTIO_ARGO_S_STATE);
	/* And it works again. */
	CHECK(set_features(fe1, h, offered(d)) == VIRTIO_ARGO_S_OK);
	CHECK(queue_setup(fe1, h, 0, 256, 1) == VIRTIO_ARGO_S_OK);
	CHECK(set_status(fe1, h, 0x0f, &s) == VIRTIO_ARGO_S_OK && s == 0x0f);
	clear_sent();
	comps_reset();
	blk_req(d, 9, 0, 0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 1);
	comps_collect(d);
	CHECK(comp_status(0, 0) == 0 && comps[0][0].session == 9);
	/* DETACH: the same, and data is no longer taken. */
	CHECK(simple(fe1, VIRTIO_ARGO_T_DETACH, h) == VIRTIO_ARGO_S_OK);
	clear_sent();
	blk_req(d, 9, 0, 1, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 1);
	CHECK(nsent == 0 && d->inflight == 0);
}

/* SIGTERM: chains being received fail, the rest is sent, then idle. */
static void t_stop(void)
{
	uint32_t h = up(fe1, 0, ALL_F, 256);
	struct vab_dev *d = dev(fe1, 0);
	struct desc ok[3] = { { 16, 0 }, { 4095, VIRTIO_ARGO_DESC_WRITE },
			      { 1, VIRTIO_ARGO_DESC_WRITE } };
	uint8_t hdr[16] = { 0 };

	CHECK(h);
	comps_reset();
	eagain = 1;
	blk_req(d, 1, 0, 0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 1);
	b_init(&bl);
	b_rec(&bl, 0, 1, 1, ok, 3, 16, 4096, 0, hdr, 8);
	b_send(d, h, 1);
	CHECK(!vab_idle(&b));
	vab_stop(&b);
	CHECK(!vab_dev_rx_ready(d) && !vab_ctrl_rx_ready(fe1));
	vab_dev_tx(d);
	comps_collect(d);
	CHECK(!comp_bad && comp_status(0, 0) == 0);
	CHECK(comp_status(0, 1) == VIRTIO_BLK_S_IOERR &&
	      comps[0][1].written == 4096);
	CHECK(vab_idle(&b));
	blk_req(d, 1, 0, 2, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 1);
	CHECK(d->inflight == 0);		/* no new request taken */
	CHECK(vab_flush_all(&b) == 0);
}

/* Random and mutated messages: no crash, no leak, still working. */
static void t_fuzz(void)
{
	uint32_t h = up(fe1, 0, ALL_F, 64);
	struct vab_dev *d = dev(fe1, 0);
	unsigned int seed = 12345, i, j;
	static uint8_t w[4096];
	uint8_t *good, *p;
	size_t glen, plen;

	CHECK(h);
	b_init(&bl);
	blk_chain(&bl, 0, 5, VIRTIO_BLK_T_OUT, 8, w, sizeof(w), 1);
	blk_chain(&bl, 0, 6, VIRTIO_BLK_T_IN, 8, NULL, 0, 513);
	if (hello_features)		/* no completion, if well-formed */
		blk_chain(&bl, 0, 7, VIRTIO_BLK_T_OUT, 8, w, 512, 0);
	good = b_finish(&bl, h, 1, &glen);
	for (i = 0; i < 20000; i++) {
		plen = (size_t)rand_r(&seed) % (glen + 16);
		p = malloc(plen + 1);
		if (!p)
			abort();
		memcpy(p, good, plen < glen ? plen : glen);
		if (plen > glen)
			memset(p + glen, 0, plen - glen);
		for (j = 0; j < 1 + (unsigned int)rand_r(&seed) % 4; j++)
			if (plen)
				p[(size_t)rand_r(&seed) % (plen < 200 ? plen : 200)] ^=
					(uint8_t)(1 << (rand_r(&seed) % 8));
		if (i % 2)
			vab_data_rx(d, FE1, FE_DATA, VIRTIO_ARGO_T_DATA_REQ, p,
				    plen);
		else
			vab_ctrl_rx(fe1, FE1, FE_CTRL,
				    (uint32_t)rand_r(&seed) % 14, p,
				    plen < 300 ? plen : 300);
		free(p);
		if (i % 64 == 0)
			clear_sent();
	}
	free(good);
	clear_sent();
	/* Whatever state that left, a fresh start works. */
	CHECK(st(hello(fe1)) == VIRTIO_ARGO_S_OK);
	h = up(fe1, 0, ALL_F, 256);
	CHECK(h);
	comps_reset();
	blk_req(d, 1, 0, 0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 1);
	comps_collect(d);
	CHECK(comp_status(0, 0) == 0);
}

/* ---- Cases: protocol feature OUT_NOCOMP ------------------------------------------ */

/* Accepted when proposed, per frontend, again at each HELLO. */
static void t_nocomp_negotiation(void)
{
	CHECK(accepted(hello_f(fe1, 0)) == 0 && fe1->features == 0);
	CHECK(accepted(hello_f(fe1, VIRTIO_ARGO_F_OUT_NOCOMP)) ==
	      VIRTIO_ARGO_F_OUT_NOCOMP);
	CHECK(fe1->features == VIRTIO_ARGO_F_OUT_NOCOMP && fe2->features == 0);
	/* Bits we do not know are not errors: left out of the reply. */
	CHECK(accepted(hello_f(fe2, ~0U)) == VIRTIO_ARGO_F_OUT_NOCOMP);
	CHECK(accepted(hello_f(fe2, ~VIRTIO_ARGO_F_OUT_NOCOMP)) == 0);
	CHECK(fe2->features == 0);
	CHECK(accepted(hello_f(fe2, 0x80000000U | VIRTIO_ARGO_F_OUT_NOCOMP)) ==
	      VIRTIO_ARGO_F_OUT_NOCOMP);
	/* A HELLO without it (the frontend restarted): gone. */
	CHECK(fe1->features == VIRTIO_ARGO_F_OUT_NOCOMP);
	CHECK(accepted(hello_f(fe1, 0)) == 0 && fe1->features == 0);
	CHECK(fe2->features == VIRTIO_ARGO_F_OUT_NOCOMP);
	CHECK(fe1->malformed == 0 && fe2->malformed == 0);
}

/*
 * On blk every request has a status byte to write, so OUT_NOCOMP changes
 * nothing for it, except for a chain without one: blk refuses it, and
 * then no completion is sent and its id is free at once.  A frontend that
 * did not propose the feature gets that chain completed, written 0.
 */
static void t_nocomp_blk(void)
{
	struct vab_dev *d = dev(fe1, 0), *d2 = dev(fe2, 0);
	static uint8_t w[4096], zero[4096];
	uint32_t h;

	hello_features = VIRTIO_ARGO_F_OUT_NOCOMP;
	h = up(fe1, 0, ALL_F, 256);
	CHECK(h && fe1->features == VIRTIO_ARGO_F_OUT_NOCOMP);
	comps_reset();
	fill(w, sizeof(w), 3);
	blk_req(d, 1, 0, 3, VIRTIO_BLK_T_OUT, 0, w, sizeof(w), 0);
	CHECK(nsent == 0 && d->inflight == 0 && d->mem_used == 0);
	CHECK(d->stats.chains == 1 && d->stats.chains_nocomp == 1);
	CHECK(disk_is(paths[0], 0, zero, sizeof(zero)));
	/* The same id at once, with a status byte: as always. */
	blk_req(d, 2, 0, 3, VIRTIO_BLK_T_OUT, 0, w, sizeof(w), 1);
	comps_collect(d);
	CHECK(!comp_bad && comp_status(0, 3) == VIRTIO_BLK_S_OK);
	CHECK(comps[0][3].written == 1 && comps[0][3].session == 2);
	CHECK(disk_is(paths[0], 0, w, sizeof(w)));
	blk_req(d, 2, 0, 5, VIRTIO_BLK_T_IN, 0, NULL, 0, 4096 + 1);
	comps_collect(d);
	CHECK(!comp_bad && comp_status(0, 5) == VIRTIO_BLK_S_OK);
	CHECK(comps[0][5].written == 4097 && !memcmp(comps[0][5].buf, w, 4096));
	/* Such a chain keeps its id until its completion is sent. */
	eagain = 1;
	blk_req(d, 3, 0, 4, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 1);
	CHECK(nsent == 2 && d->inflight == 1 && d->queues[0].slots[4]);
	blk_req(d, 3, 0, 4, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 1);
	CHECK(d->stats.malformed == 1 && d->inflight == 1);
	vab_dev_tx(d);
	comps_collect(d);
	CHECK(!comp_bad && comp_status(0, 4) == 0 && !comps[0][3].partial);
	CHECK(d->inflight == 0 && d->mem_used == 0 && d->stats.chains_nocomp == 1);

	/* Frontend 2 did not propose it. */
	hello_features = 0;
	h = up(fe2, 0, ALL_F, 256);
	CHECK(h && fe2->features == 0);
	comps_reset();
	blk_req(d2, 1, 0, 3, VIRTIO_BLK_T_OUT, 0, w, sizeof(w), 0);
	comps_collect(d2);
	CHECK(!comp_bad && comps[0][3].done && comps[0][3].written == 0);
	CHECK(d2->stats.chains_nocomp == 0 && d2->inflight == 0);
}

/*
 * Malformed chains without writable bytes fail without a completion;
 * one being received holds its id, so a duplicate is still caught.
 */
static void t_nocomp_malformed(void)
{
	struct vab_dev *d = dev(fe1, 0);
	struct desc out1[1] = { { 16, 0 } };
	struct desc badf[1] = { { 16, 4 } };
	struct desc wr[2] = { { 16, 0 }, { 1, VIRTIO_ARGO_DESC_WRITE } };
	uint8_t hdr[16] = { 4 /* FLUSH */ };
	uint64_t mal, failed;
	uint32_t h;

	hello_features = VIRTIO_ARGO_F_OUT_NOCOMP;
	h = up(fe1, 0, ALL_F, 256);
	CHECK(h);
	comps_reset();
#define REC1(id, fl, ds, nd, ol, il, off, ln) do {			\
		uint32_t rec_off = (off);				\
									\
		b_init(&bl);						\
		b_rec(&bl, 0, id, fl, ds, nd, ol, il, rec_off,		\
		      hdr + rec_off, ln);				\
		b_send(d, h, 1);					\
	} while (0)
	mal = d->stats.malformed;
	failed = d->stats.chains_failed;
	REC1(1, 3, badf, 1, 16, 0, 0, 16);		/* descriptor flags */
	REC1(2, 3, wr, 2, 16, 0, 0, 16);		/* in_len 0, writable */
	REC1(3, 3, out1, 1, 16, 0, 0, 8);		/* ends short */
	REC1(4, 3 | 8, out1, 1, 16, 0, 0, 16);		/* record flags */
	CHECK(nsent == 0 && d->stats.malformed == mal + 4);
	CHECK(d->stats.chains_failed == failed + 4);
	CHECK(d->stats.chains_nocomp == 4 && d->inflight == 0);

	/* Being received: its id is taken; a duplicate fails both. */
	REC1(5, 1, out1, 1, 16, 0, 0, 4);
	CHECK(d->inflight == 1 && d->queues[0].slots[5]);
	REC1(5, 1, out1, 1, 16, 0, 0, 4);
	CHECK(d->stats.malformed == mal + 5 && d->inflight == 0);
	REC1(5, 2, NULL, 0, 16, 0, 4, 12);		/* its remainder */
	CHECK(d->stats.malformed == mal + 6 && nsent == 0);
	/* Whole: executed, its id free; a stray continuation is refused. */
	REC1(6, 1, out1, 1, 16, 0, 0, 4);
	REC1(6, 0, NULL, 0, 16, 0, 4, 4);
	CHECK(d->inflight == 1 && d->queues[0].slots[6]);
	REC1(6, 2, NULL, 0, 16, 0, 8, 8);
	CHECK(d->inflight == 0 && !d->queues[0].slots[6]);
	CHECK(d->stats.chains_nocomp == 6 && d->stats.malformed == mal + 6);
	REC1(6, 2, NULL, 0, 16, 0, 8, 8);
	CHECK(d->stats.malformed == mal + 7);
	/* A continuation that gives it writable bytes, or a gap. */
	REC1(7, 1, out1, 1, 16, 0, 0, 4);
	REC1(7, 2, NULL, 0, 16, 1, 4, 12);
	REC1(8, 1, out1, 1, 16, 0, 0, 4);
	REC1(8, 2, NULL, 0, 16, 0, 6, 10);
	CHECK(d->stats.malformed == mal + 9 && d->inflight == 0);
	CHECK(nsent == 0 && d->mem_used == 0);
	/* A malformed chain with writable bytes is still completed. */
	REC1(9, 3, wr, 2, 16, 1, 0, 8);			/* ends short */
	comps_collect(d);
	CHECK(!comp_bad && comp_status(0, 9) == VIRTIO_BLK_S_IOERR);
	/* RESET while one is being received: freed, and it works after. */
	REC1(10, 1, out1, 1, 16, 0, 0, 4);
	CHECK(d->inflight == 1);
	CHECK(simple(fe1, VIRTIO_ARGO_T_RESET, h) == VIRTIO_ARGO_S_OK);
	CHECK(d->inflight == 0 && d->mem_used == 0 && fe1->features);
	CHECK(set_features(fe1, h, offered(d)) == VIRTIO_ARGO_S_OK);
	CHECK(queue_setup(fe1, h, 0, 256, 1) == VIRTIO_ARGO_S_OK);
	CHECK(set_status(fe1, h, 0x0f, NULL) == VIRTIO_ARGO_S_OK);
	clear_sent();
	comps_reset();
	REC1(10, 3, wr, 2, 16, 1, 0, 16);
	comps_collect(d);
	CHECK(!comp_bad && comp_status(0, 10) == 0);
#undef REC1
}

/* Random messages with the feature on: no crash, no leak. */
static void t_fuzz_nocomp(void)
{
	hello_features = VIRTIO_ARGO_F_OUT_NOCOMP;
	t_fuzz();
	CHECK(fe1->features == VIRTIO_ARGO_F_OUT_NOCOMP);
}

/* ---- Cases: command line --------------------------------------------------------- */

static void t_options(void)
{
	struct vab v;
	char arg[512];
	const char *p = mkdisk(1 << 20);
	char comma[64];
	struct vab_dev *d;
	int fd;

	vab_init(&v, 0, &transport);
	snprintf(arg, sizeof(arg), "frontend=3,file=%s,readonly,serial=s", p);
	CHECK(vab_add_device(&v, &vab_blk_class, arg) == 0);
	d = v.nfes ? v.fes[0]->devs[0] : NULL;
	CHECK(d && d->fe->domid == 3 && (offered(d) & (1ULL << VIRTIO_BLK_F_RO)));
	CHECK(d && d->ep.port == VIRTIO_ARGO_PORT_DATA_BASE && d->index == 0);
	snprintf(comma, sizeof(comma), "%s,x", p);
	fd = open(comma, O_CREAT | O_RDWR, 0600);
	CHECK(fd >= 0 && !ftruncate(fd, 4096));
	if (fd >= 0)
		close(fd);
	snprintf(arg, sizeof(arg), "frontend=3,file=%s,,x,ring-size=64K,num-queues=2", p);
	CHECK(vab_add_device(&v, &vab_blk_class, arg) == 0);
	d = v.nfes ? v.fes[0]->devs[1] : NULL;
	CHECK(d && d->index == 1 && d->ep.port == VIRTIO_ARGO_PORT_DATA_BASE + 1 &&
	      d->ep.ring_size == 65536 && d->num_queues == 2 &&
	      !strcmp(d->name, "blk1") && vab_get64(d->config) == 8);
	unlink(comma);
	vab_destroy(&v);

	static const char *const bad[] = {
		"file=/dev/null",			/* no frontend */
		"frontend=1",				/* no file */
		"frontend=1,frontend=2,file=/x",	/* twice */
		"frontend=0,file=%s",			/* ourselves */
		"frontend=32752,file=%s",		/* reserved id */
		"frontend=x,file=%s",
		"frontend=1,file=%s,bogus=1",
		"frontend=1,file=%s,num-queues=0",
		"frontend=1,file=%s,num-queues=65",
		"frontend=1,file=%s,queue-size=100",
		"frontend=1,file=%s,queue-size=2048",
		"frontend=1,file=%s,serial=123456789012345678901",
		"frontend=1,file=%s,readonly=maybe",
		"frontend=1,file=%s,ring-size=1000",
		"frontend=1,file=%s,ring-size=17M",
		"frontend=1,file=%s,max-memory=1M",
		"frontend=1,file=%s,=x",
		"frontend=1,file=/nonexistent/disk",
		"frontend=1,file=/dev/null",		/* not a disk */
	};
	unsigned int i;
	int saved = vab_log_level;

	vab_log_level = VAB_LOG_ERROR + 1;	/* the errors are expected */
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		vab_init(&v, 0, &transport);
		snprintf(arg, sizeof(arg), bad[i], p);
		if (vab_add_device(&v, &vab_blk_class, arg) != -1) {
			printf("    # accepted: %s\n", arg);
			case_failed = 1;
		}
		vab_destroy(&v);
	}
	vab_log_level = saved;
	/* A second writer of the same image is refused (flock). */
	vab_init(&v, 0, &transport);
	snprintf(arg, sizeof(arg), "frontend=1,file=%s", p);
	CHECK(vab_add_device(&v, &vab_blk_class, arg) == 0);
	vab_log_level = VAB_LOG_ERROR + 1;
	snprintf(arg, sizeof(arg), "frontend=2,file=%s", p);
	CHECK(vab_add_device(&v, &vab_blk_class, arg) == -1);
	vab_log_level = saved;
	vab_destroy(&v);
}

static int run(const char *bin, const char *const argv[])
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		dup2(fd, 2);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static const char *binary;

static void t_cli(void)
{
	const char *p = mkdisk(1 << 20);
	char arg[256];

	snprintf(arg, sizeof(arg), "frontend=1,file=%s", p);
	CHECK(run(binary, (const char *const[]){ binary, "--help", NULL }) == 0);
	CHECK(run(binary, (const char *const[]){ binary, NULL }) == 2);
	CHECK(run(binary, (const char *const[]){ binary, "--bogus", NULL }) == 2);
	CHECK(run(binary, (const char *const[]){ binary, "--blk",
		  "frontend=1", NULL }) == 2);
	CHECK(run(binary, (const char *const[]){ binary, "--log-level", "loud",
		  "--blk", arg, NULL }) == 2);
	CHECK(run(binary, (const char *const[]){ binary, "--domain", "x",
		  "--blk", arg, NULL }) == 2);
	/* Valid, but without /dev/argo (or its domain): fails to bind. */
	if (access("/dev/argo", F_OK))
		CHECK(run(binary, (const char *const[]){ binary, "--domain", "0",
			  "--blk", arg, NULL }) == 1);
}

/* ---- Main -------------------------------------------------------------------- */

struct tcase {
	const char *name;
	void (*fn)(void);
	const char *props;	/* fixture; NULL: none */
};

static const struct tcase cases[] = {
	{ "hello", t_hello, "" },
	{ "hello_malformed", t_hello_malformed, "" },
	{ "ctrl_garbage_and_unknown_types", t_ctrl_garbage, "" },
	{ "requests_before_hello", t_before_hello, "" },
	{ "dev_info", t_dev_info, "" },
	{ "dev_info_malformed", t_dev_info_malformed, "" },
	{ "attach_detach", t_attach, "" },
	{ "foreign_handle_nodev", t_foreign_handle, "" },
	{ "set_features", t_set_features, "" },
	{ "set_status", t_set_status, "" },
	{ "queue_setup", t_queue_setup, "" },
	{ "config_read_write", t_config, "" },
	{ "ev_config_on_resize", t_ev_config, "" },
	{ "ctrl_reply_eagain", t_ctrl_eagain, "" },
	{ "hello_again_resets", t_hello_again, "" },
	{ "blk_write_read", t_rw, "" },
	{ "blk_flush_getid_unsupp", t_flush_getid, "" },
	{ "blk_discard_write_zeroes", t_discard_wz, "" },
	{ "blk_discard_not_negotiated", t_discard_not_negotiated, "" },
	{ "blk_bad_ranges_and_lengths", t_bad_ranges, "" },
	{ "blk_readonly", t_readonly, "" },
	{ "split_request_interleaved", t_split_request, "" },
	{ "split_and_packed_completions", t_split_completion, "" },
	{ "multiqueue", t_multiqueue, "" },
	{ "malformed_records", t_malformed_records, "" },
	{ "foreign_handle_on_data_ring", t_foreign_data, "" },
	{ "data_before_driver_ok_dropped", t_not_running, "" },
	{ "data_eagain_isolated", t_data_eagain, "" },
	{ "memory_limit", t_memory_limit, "" },
	{ "reset_and_detach_discard", t_reset_discards, "" },
	{ "stop", t_stop, "" },
	{ "fuzz", t_fuzz, "" },
	{ "nocomp_negotiation", t_nocomp_negotiation, "" },
	{ "nocomp_blk_unchanged_but_for_no_status", t_nocomp_blk, "" },
	{ "nocomp_malformed", t_nocomp_malformed, "" },
	{ "fuzz_nocomp", t_fuzz_nocomp, "" },
	{ "options", t_options, NULL },
	{ "command_line", t_cli, NULL },
};

int main(int argc, char **argv)
{
	unsigned int i, n = ARRAY_SIZE(cases), failed = 0;

	binary = argc > 1 ? argv[1] : NULL;
	h_log_default();
	ktap_start(n);
	for (i = 0; i < n; i++) {
		const struct tcase *t = &cases[i];

		case_failed = 0;
		hello_features = 0;
		if (t->fn == t_cli && !binary) {
			ktap_result(i + 1, t->name, 0, "no binary given");
			continue;
		}
		if (t->props && !setup(t->props)) {
			printf("    # setup failed\n");
			case_failed = 1;
		} else {
			t->fn();
		}
		if (t->props)
			teardown();
		else
			npaths ? teardown() : (void)0;
		comps_reset();
		ktap_result(i + 1, t->name, case_failed, NULL);
		failed += (unsigned int)case_failed;
	}
	free(sent);
	return failed ? 1 : 0;
}
