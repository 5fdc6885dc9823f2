/* SPDX-License-Identifier: MIT */
/*
 * What the backend's host unit tests (backend_test.c, loop_test.c,
 * net_test.c, hotplug_test.c) share: failure reporting and KTAP lines, a
 * recording transport that keeps every message the backend sends in
 * sent[], temporary files, and the frontend's control requests.  Each
 * program is built from its own source, this harness and the backend's.
 *
 * Copyright (c) 2026 The virtio-argo authors
 */
#ifndef VAB_TEST_HARNESS_H
#define VAB_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../backend.h"

/* The frontends' ports: control, and data of device index i at + i. */
#define FE_CTRL		0x1000
#define FE_DATA		0x2000

/* ---- Reporting ---------------------------------------------------------- */

/* Set by a failed CHECK(); each program clears it before a case. */
extern int case_failed;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		printf("    # %s:%d: %s\n", __FILE__, __LINE__, #cond);	\
		case_failed = 1;					\
	}								\
} while (0)

/* The backend's log: shown with VAB_TEST_LOG set, errors hidden if not. */
void h_log_default(void);
/* Line-buffered stdout, then the KTAP header for @n cases. */
void ktap_start(unsigned int n);
/* Case @nr's KTAP result line; @skip: why it did not run, or NULL. */
void ktap_result(unsigned int nr, const char *name, int failed,
		 const char *skip);

/* Set by comp_fail(); each program clears it with its completions. */
extern bool comp_bad;
/* Report a malformed completion, set comp_bad: false. */
bool comp_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- Recording transport ------------------------------------------------ */

/* A message the backend sent. */
struct msg {
	struct vab_ep *ep;
	uint16_t domain;
	uint32_t port;
	uint32_t type;
	size_t len;
	uint8_t *buf;
};

extern struct msg *sent;
extern size_t nsent;
extern bool eagain_always;	/* refuse every send with -EAGAIN */
extern unsigned int eagain;	/* refuse this many sends with -EAGAIN */
extern int max_msg_err;		/* what max_msg fails with, or 0 */
extern uint32_t max_msg_val;	/* what it answers otherwise */
extern unsigned int discards;	/* discard_rx calls */

/* The transport's knobs back to "accept everything" (not sent[]). */
void transport_reset(void);
/* Keep a copy of a message in sent[]. */
void keep_sent(struct vab_ep *ep, uint16_t domain, uint32_t port,
	       uint32_t type, const void *buf, size_t len);
/* Empty sent[]; free(sent) at the end of the program. */
void clear_sent(void);

/* The vab_transport operations, driven by the knobs above. */
int t_send(void *ctx, struct vab_ep *ep, uint16_t domain, uint32_t port,
	   uint32_t type, const void *buf, size_t len);
int t_max_msg(void *ctx, struct vab_ep *ep, uint16_t domain, uint32_t port,
	      uint32_t *max);
void t_discard(void *ctx, struct vab_ep *ep);

/* ---- Temporary files ---------------------------------------------------- */

/* $TMPDIR, or /tmp. */
const char *h_tmp(void);
/* A new directory $TMPDIR/@name-XXXXXX in @dir (of @size); false: errno. */
bool h_mkdtemp(char *dir, size_t size, const char *name);
/* Remove @dir and all below it; "@indent# could not remove" if that fails. */
void h_rmtree(const char *dir, const char *indent);
/* Make the file open at @fd @size bytes long and close it; abort on error. */
void h_sized(int fd, uint32_t size);

/* ---- Frontend side: control requests ------------------------------------ */

/* The tag of the last request; replies to it carry it. */
extern uint32_t next_tag;
/* Protocol features a HELLO proposes (the cases set it, main() clears it). */
extern uint32_t hello_features;

/*
 * Fill the header of the request in @buf (@devh, a fresh tag) and hand it
 * to vab_ctrl_rx() as frontend @fe sends it: the index in sent[] of the
 * first message it caused (nsent if none).  The h_ builders below send
 * one request each the same way.
 */
size_t h_ctrl(struct vab_frontend *fe, uint32_t type, uint32_t devh,
	      void *buf, size_t len);
/* The first reply to @type with the last tag from sent[@from], or NULL. */
struct msg *h_reply(uint32_t type, size_t from);

size_t h_hello(struct vab_frontend *fe, uint32_t features, uint32_t ring);
size_t h_dev_info(struct vab_frontend *fe, uint32_t index);
size_t h_attach(struct vab_frontend *fe, uint32_t devh, uint32_t port,
		uint32_t ring);
size_t h_set_features(struct vab_frontend *fe, uint32_t devh, uint64_t f);
size_t h_set_status(struct vab_frontend *fe, uint32_t devh, uint32_t s);
size_t h_queue_setup(struct vab_frontend *fe, uint32_t devh, uint16_t q,
		     uint16_t size, uint32_t flags);

/* ---- Frontend side: DATA_REQ -------------------------------------------- */

/* A descriptor of a chain: its length and VIRTIO_ARGO_DESC_* flags. */
struct desc {
	uint32_t len;
	uint32_t flags;
};

/* A DATA_REQ being built: its records, and the bytes they carry. */
struct bld {
	uint8_t rec[1 << 16];
	size_t rlen;
	uint8_t *data;
	size_t dlen;
	uint16_t nrec;
};

void b_init(struct bld *m);
/*
 * Add a record: chain @q:@id with @flags (VIRTIO_ARGO_CHAIN_*), its @ndesc
 * descriptors, @out_len readable and @in_len writable bytes, and the @len
 * readable bytes at @off in it, @bytes.
 */
void b_rec(struct bld *m, uint16_t q, uint16_t id, uint16_t flags,
	   const struct desc *descs, uint16_t ndesc, uint32_t out_len,
	   uint32_t in_len, uint32_t off, const void *bytes, uint32_t len);
/* The whole DATA_REQ; *@len its length.  Frees the builder's data. */
uint8_t *b_finish(struct bld *m, uint32_t devh, uint32_t session,
		  size_t *len);
/* Hand DATA_REQ @p (of @len) to device @d as its frontend sends it; free it. */
void data_send(struct vab_dev *d, uint8_t *p, size_t len);

#endif
