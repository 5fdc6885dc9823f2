// SPDX-License-Identifier: MIT
/*
 * The backend's host unit tests' shared harness: see harness.h.
 *
 * Copyright (c) 2026 The virtio-argo authors
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/* ---- Reporting ---------------------------------------------------------- */

int case_failed;

void h_log_default(void)
{
	vab_log_level = getenv("VAB_TEST_LOG") ? VAB_LOG_DEBUG :
			VAB_LOG_ERROR + 1;
}

void ktap_start(unsigned int n)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("KTAP version 1\n1..%u\n", n);
}

/*
 * (Not inline in each main(): checkpatch takes a name starting "case"
 * before a ternary's ':' for a case label.)
 */
void ktap_result(unsigned int nr, const char *name, int failed,
		 const char *skip)
{
	printf("%s %u %s%s%s\n", failed ? "not ok" : "ok", nr, name,
	       skip ? " # SKIP " : "", skip ? skip : "");
}

bool comp_bad;

bool comp_fail(const char *fmt, ...)
{
	va_list ap;

	printf("    # completion: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	comp_bad = true;
	return false;
}

/* ---- Recording transport ------------------------------------------------ */

#define MAX_MSG_DEFAULT	((1U << 20) - 32)

struct msg *sent;
size_t nsent;
static size_t capsent;
bool eagain_always;
unsigned int eagain;
int max_msg_err;
uint32_t max_msg_val = MAX_MSG_DEFAULT;
unsigned int discards;

void transport_reset(void)
{
	eagain = 0;
	eagain_always = false;
	max_msg_err = 0;
	max_msg_val = MAX_MSG_DEFAULT;
	discards = 0;
}

void keep_sent(struct vab_ep *ep, uint16_t domain, uint32_t port,
	       uint32_t type, const void *buf, size_t len)
{
	struct msg *m;

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
}

void clear_sent(void)
{
	size_t i;

	for (i = 0; i < nsent; i++)
		free(sent[i].buf);
	nsent = 0;
}

int t_send(void *ctx, struct vab_ep *ep, uint16_t domain, uint32_t port,
	   uint32_t type, const void *buf, size_t len)
{
	(void)ctx;
	if (eagain_always)
		return -EAGAIN;
	if (eagain) {
		eagain--;
		return -EAGAIN;
	}
	keep_sent(ep, domain, port, type, buf, len);
	return 0;
}

int t_max_msg(void *ctx, struct vab_ep *ep, uint16_t domain, uint32_t port,
	      uint32_t *max)
{
	(void)ctx;
	(void)ep;
	(void)domain;
	(void)port;
	if (max_msg_err)
		return max_msg_err;
	*max = max_msg_val;
	return 0;
}

void t_discard(void *ctx, struct vab_ep *ep)
{
	(void)ctx;
	(void)ep;
	discards++;
}

/* ---- Temporary files ---------------------------------------------------- */

const char *h_tmp(void)
{
	const char *t = getenv("TMPDIR");

	return t ? t : "/tmp";
}

bool h_mkdtemp(char *dir, size_t size, const char *name)
{
	snprintf(dir, size, "%s/%s-XXXXXX", h_tmp(), name);
	return mkdtemp(dir);
}

void h_rmtree(const char *dir, const char *indent)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		printf("%s# could not remove %s\n", indent, dir);
}

void h_sized(int fd, uint32_t size)
{
	if (fd < 0 || ftruncate(fd, size))
		abort();
	close(fd);
}

/* ---- Frontend side: control requests ------------------------------------ */

uint32_t next_tag = 100;
uint32_t hello_features;

size_t h_ctrl(struct vab_frontend *fe, uint32_t type, uint32_t devh,
	      void *buf, size_t len)
{
	struct virtio_argo_hdr *h = buf;
	size_t before = nsent;

	h->dev = htole32(devh);
	h->tag = htole32(++next_tag);
	vab_ctrl_rx(fe, fe->domid, FE_CTRL, type, buf, len);
	return before;
}

struct msg *h_reply(uint32_t type, size_t from)
{
	for (; from < nsent; from++) {
		struct msg *m = &sent[from];

		if (m->type == (type | VIRTIO_ARGO_REPLY) && m->len >= 16 &&
		    vab_get32(m->buf + 4) == next_tag)
			return m;
	}
	return NULL;
}

size_t h_hello(struct vab_frontend *fe, uint32_t features, uint32_t ring)
{
	struct virtio_argo_hello h;

	memset(&h, 0, sizeof(h));
	h.version_min = htole16(1);
	h.version_max = htole16(1);
	h.features = htole32(features);
	h.ctrl_ring = htole32(ring);
	return h_ctrl(fe, VIRTIO_ARGO_T_HELLO, 0, &h, sizeof(h));
}

size_t h_dev_info(struct vab_frontend *fe, uint32_t index)
{
	struct virtio_argo_dev_info di;

	memset(&di, 0, sizeof(di));
	di.index = htole32(index);
	return h_ctrl(fe, VIRTIO_ARGO_T_DEV_INFO, 0, &di, sizeof(di));
}

size_t h_attach(struct vab_frontend *fe, uint32_t devh, uint32_t port,
		uint32_t ring)
{
	struct virtio_argo_attach a;

	memset(&a, 0, sizeof(a));
	a.data_port = htole32(port);
	a.data_ring = htole32(ring);
	return h_ctrl(fe, VIRTIO_ARGO_T_ATTACH, devh, &a, sizeof(a));
}

size_t h_set_features(struct vab_frontend *fe, uint32_t devh, uint64_t f)
{
	struct virtio_argo_set_features sf;

	memset(&sf, 0, sizeof(sf));
	sf.features = htole64(f);
	return h_ctrl(fe, VIRTIO_ARGO_T_SET_FEATURES, devh, &sf, sizeof(sf));
}

size_t h_set_status(struct vab_frontend *fe, uint32_t devh, uint32_t s)
{
	struct virtio_argo_set_status ss;

	memset(&ss, 0, sizeof(ss));
	ss.status = htole32(s);
	return h_ctrl(fe, VIRTIO_ARGO_T_SET_STATUS, devh, &ss, sizeof(ss));
}

size_t h_queue_setup(struct vab_frontend *fe, uint32_t devh, uint16_t q,
		     uint16_t size, uint32_t flags)
{
	struct virtio_argo_queue_setup qs;

	memset(&qs, 0, sizeof(qs));
	qs.queue = htole16(q);
	qs.size = htole16(size);
	qs.flags = htole32(flags);
	return h_ctrl(fe, VIRTIO_ARGO_T_QUEUE_SETUP, devh, &qs, sizeof(qs));
}

/* ---- Frontend side: DATA_REQ -------------------------------------------- */

void b_init(struct bld *m)
{
	m->rlen = 0;
	m->dlen = 0;
	m->nrec = 0;
	m->data = NULL;
}

void b_rec(struct bld *m, uint16_t q, uint16_t id, uint16_t flags,
	   const struct desc *descs, uint16_t ndesc, uint32_t out_len,
	   uint32_t in_len, uint32_t off, const void *bytes, uint32_t len)
{
	struct virtio_argo_chain r;
	unsigned int i;

	memset(&r, 0, sizeof(r));
	r.queue = htole16(q);
	r.id = htole16(id);
	r.flags = htole16(flags);
	r.ndesc = htole16(ndesc);
	r.out_len = htole32(out_len);
	r.in_len = htole32(in_len);
	r.offset = htole32(off);
	r.len = htole32(len);
	memcpy(m->rec + m->rlen, &r, sizeof(r));
	m->rlen += sizeof(r);
	for (i = 0; i < ndesc; i++) {
		vab_put32(m->rec + m->rlen, descs[i].len);
		vab_put32(m->rec + m->rlen + 4, descs[i].flags);
		m->rlen += 8;
	}
	m->data = realloc(m->data, m->dlen + len + 1);
	if (!m->data)
		abort();
	if (len)
		memcpy(m->data + m->dlen, bytes, len);
	m->dlen += len;
	m->nrec++;
}

uint8_t *b_finish(struct bld *m, uint32_t devh, uint32_t session,
		  size_t *len)
{
	struct virtio_argo_data h;
	size_t off = VIRTIO_ARGO_ALIGN(sizeof(h) + m->rlen);
	uint8_t *p = calloc(1, off + m->dlen);

	if (!p)
		abort();
	memset(&h, 0, sizeof(h));
	h.hdr.dev = htole32(devh);
	h.hdr.tag = htole32(session);
	h.nrec = htole16(m->nrec);
	h.data_off = htole32((uint32_t)off);
	memcpy(p, &h, sizeof(h));
	memcpy(p + sizeof(h), m->rec, m->rlen);
	if (m->dlen)
		memcpy(p + off, m->data, m->dlen);
	free(m->data);
	m->data = NULL;
	*len = off + m->dlen;
	return p;
}

void data_send(struct vab_dev *d, uint8_t *p, size_t len)
{
	vab_data_rx(d, d->fe->domid, FE_DATA + d->index,
		    VIRTIO_ARGO_T_DATA_REQ, p, len);
	free(p);
}
