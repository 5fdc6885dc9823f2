// SPDX-License-Identifier: MIT
/*
 * tests/e2e/hostile_backend: a virtio-argo backend that lies, for
 * tests/e2e/hostile.sh.
 *
 *   hostile_backend --dev DIR --results FILE --expect FILE [--frontend F]
 *   hostile_backend --scenario config|readd|many [--frontend F]
 *   hostile_backend --list
 *
 * Runs inside UML as virtual domain 0 of argo.ko's loopback provider and
 * serves one fake virtio-rng device (id 4, one queue of 8, VERSION_1
 * offered, 8 bytes of configuration space) to frontend F (default 1).  The
 * control protocol is answered correctly, but every real reply is
 * surrounded by decoys the frontend must not take: a reply of the same
 * type with an unknown tag, one with the right tag and another type (both
 * describing another device, status or configuration), and the real reply
 * again.  Before it answers ATTACH, when the frontend knows the device but
 * has not registered it, the device's configuration changes (an EV_CONFIG
 * of a new generation); CONFIG_READ is answered.
 *
 * On the data path every chain the frontend sends is answered, in order,
 * by one hostile "variant" (a list below: malformed completions on the
 * data ring, garbage on the control ring) and then by a valid completion.
 * Malformed messages carry poison bytes (DE AD BE EF ...), valid ones
 * letters 'A'..'Z' only, so that the guest can prove that no poison ever
 * reached the driver by reading /dev/hwrng.
 *
 * After each variant the program reads the transport's counters under DIR
 * (/sys/devices/platform/virtio-argo.0: stats/ and ctrl_*) until they show
 * that the frontend has processed what was sent, and checks that exactly
 * the counters Documentation/virtio-argo.rst names moved, by exactly what
 * was sent (malformed and stale of the device and of the control channel,
 * chains and bytes completed, messages received).  One line per variant
 * goes to the results file: "ok" or "not ok", a tab, the variant's name, a
 * tab, a note; two more lines check the control path:
 * config_read_after_attach (the frontend read the whole configuration
 * space again after ATTACH, before its driver started the device) and
 * ev_config_before_registration_not_counted (at the first DATA_REQ, the
 * EV_CONFIG sent before ATTACH's reply was counted nowhere).  The expect
 * file always holds the totals the counters must show, one "name value" a
 * line.  Once every variant has run the program keeps serving valid
 * completions until SIGTERM or SIGINT, then exits 0 (1 if it could not run
 * every variant or a request of the frontend was malformed).
 *
 * --scenario runs one of the honest backends of the scenarios instead,
 * whose devices serve what the driver asks (virtio-rng: letters; virtio-blk:
 * a RAM disk; a device id no driver claims) behind the same decoys, each
 * scenario misbehaving in one way of its own:
 *
 *   config  0: a disk of 2048 sectors in DEV_INFO, 8192 in an EV_CONFIG
 *              sent before ATTACH's reply, 4096 in a CONFIG_READ reply one
 *              generation older than that event; its data ring is 16 KiB
 *              and DEV_INFO states 1 MiB.
 *           1: a disk of 2048 sectors in DEV_INFO, 4096 in an EV_CONFIG
 *              sent right after DEV_INFO's reply.
 *   readd   0: virtio-rng.  On SIGUSR1 device 1 (no driver) is added;
 *              its DEV_INFO is answered only after device 0 was removed
 *              and added again at index 0 with a new handle; the reply
 *              to that new device's ATTACH is followed by the same again
 *              (removed before the frontend registered it).
 *   many    0: virtio-rng; 1: virtio-rng whose ATTACH is refused (IO) with
 *              a 64-byte reply; 2: a disk of 2048 sectors; 3: no driver.
 *
 * It exits 0 on SIGTERM or SIGINT, 1 if a request of the frontend was
 * malformed.
 *
 * --list prints the variant names, one a line, and exits.
 *
 * Copyright (c) 2026 The virtio-argo authors
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <argo/virtio_argo.h>
#include "libargo.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define UNUSED		__attribute__((unused))

#define HB_DOMAIN	0
#define HB_HANDLE	0x5eed0001U
#define HB_QUEUE_MAX	8
#define HB_CONFIG_LEN	8
#define HB_CTRL_RING	(64 * 1024)
#define HB_DATA_RING	(64 * 1024)
#define HB_FEATURES	(UINT64_C(1) << 32)	/* VIRTIO_F_VERSION_1 */
#define HB_WAIT_MS	5000		/* for the frontend to process */
#define HB_BUF		(256 * 1024)
#define HB_DECOY_TAG	0x1000U
#define HB_MAX_DEVS	4
#define HB_CONFIG_MAX	16
/* A refusal longer than any reply buffer of a request without a body. */
#define HB_LONG_REFUSAL	64

/* virtio-blk (virtio 1.2, section 5.2), what the scenarios' disks need. */
#define BLK_ID		2
#define BLK_F_SEG_MAX	2
#define BLK_SEG_MAX	64
#define BLK_QUEUE_MAX	64
#define BLK_T_IN	0
#define BLK_T_OUT	1
#define BLK_T_GET_ID	8
#define BLK_S_OK	0
#define BLK_S_IOERR	1
#define BLK_S_UNSUPP	2
#define BLK_HDR		16	/* type, ioprio, sector */
#define SECTOR		512
#define RNG_ID		4
/* A device id no driver claims: it stays unbound. */
#define NODRV_ID	0x3fff

static const uint8_t poison[4] = { 0xde, 0xad, 0xbe, 0xef };

/* Message sizes of the protocol. */
#define DATA_HDR	sizeof(struct virtio_argo_data)
#define COMP_REC	sizeof(struct virtio_argo_comp)

/* The transport's per-device counters (Documentation/virtio-argo.rst). */
struct counters {
	long long rx_msgs, rx_chains, rx_bytes, malformed, stale;
	long long ctrl_malformed, ctrl_stale;
};

/* What a variant expects the counters to do. */
struct expect {
	int msgs;		/* messages sent on the data ring */
	int malformed;
	int stale;
	int chains;		/* chains it completed itself (validly) */
	long long bytes;	/* device-written bytes it delivered */
	int ctrl_malformed;	/* control messages naming no known device */
	int ctrl_stale;		/* replies answering no request */
};

/* The chain being answered. */
struct chain {
	uint16_t id;
	uint32_t in_len;
	uint32_t session;
};

/* A chain of an honest device (the scenarios), being received. */
struct hchain {
	bool active;
	uint32_t out_len, in_len, got, session;
	uint8_t *out;
};

/* A configuration change: @len bytes at @off. */
struct cfg_change {
	uint16_t off, len;
	uint8_t bytes[HB_CONFIG_MAX];
};

enum scenario { SC_HOSTILE, SC_CONFIG, SC_READD, SC_MANY };

/* One device: what DEV_INFO says of it, and the frontend's view of it. */
struct hdev {
	bool offered;		/* DEV_INFO describes it */
	bool hostile;		/* the variants' device; else honest */
	uint32_t handle;
	uint32_t old_handle;	/* before it was removed and added again */
	uint32_t device_id;
	uint64_t features;
	uint16_t qmax;
	uint16_t config_len;
	uint8_t config[HB_CONFIG_MAX];
	uint32_t config_gen;
	uint32_t ring;		/* bytes of the data ring it registers */
	uint32_t ring_stated;	/* the size DEV_INFO states */
	int data_fd;

	uint32_t fe_data_port;
	bool attached;
	unsigned int attaches;
	uint16_t qsize;
	uint8_t status;
	uint32_t session;

	/* Behaviours of the scenarios (and of the hostile run). */
	bool ev_after_dev_info;	/* change: EV_CONFIG after DEV_INFO's reply */
	bool ev_before_attach;	/* change: EV_CONFIG before ATTACH's reply */
	struct cfg_change change;
	bool read_older;	/* CONFIG_READ: generation - 1, older_config */
	uint8_t older_config[HB_CONFIG_MAX];
	uint32_t refuse_attach;	/* status of a HB_LONG_REFUSAL-byte refusal */

	/* The hostile device: chains taken, answered one by one by serve(). */
	bool in_flight[HB_QUEUE_MAX];
	uint32_t in_len[HB_QUEUE_MAX];
	/* chains received whole and not yet answered, in order */
	uint16_t ready[HB_QUEUE_MAX];
	unsigned int nready;

	/* Honest devices: completed as soon as received. */
	struct hchain chains[BLK_QUEUE_MAX];
	uint8_t *disk;
	uint64_t disk_sectors;
	unsigned long long served;
};

static struct {
	int ctrl_fd;
	uint16_t fe;
	uint32_t fe_ctrl_port;
	enum scenario scenario;
	struct hdev devs[HB_MAX_DEVS];
	unsigned int ndevs;
	uint16_t hello_devices;	/* num_devices in HELLO's reply */
	bool readd_armed;	/* SC_READD: SIGUSR1 came */
	unsigned int readds;	/* SC_READD: device 0 added again */
	bool config_read_seen;
	bool first_data_seen;

	const char *dev;
	FILE *results;
	const char *expect_path;
	unsigned int next_variant;
	unsigned int variants_failed;
	unsigned int bad_requests;
	unsigned long long good_seq;
	/* totals the transport's counters must show */
	long long t_malformed, t_stale, t_chains, t_bytes;
	long long t_ctrl_malformed, t_ctrl_stale;
} hb;

/* The hostile run's device (hb.devs[0]). */
static struct hdev *hd = &hb.devs[0];

static uint8_t txbuf[HB_BUF];
static uint8_t rxbuf[HB_BUF];

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("hostile_backend: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void die(const char *what)
{
	logf_("%s: %s", what, strerror(errno));
	exit(2);
}

static uint16_t le16(uint16_t v) { return htole16(v); }
static uint32_t le32(uint32_t v) { return htole32(v); }
static uint64_t le64(uint64_t v) { return htole64(v); }

static void fill_poison(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = poison[i % 4];
}

/* Letters only, different for every valid completion. */
static void fill_good(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = 'A' + (hb.good_seq + i) % 26;
	hb.good_seq++;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int read_counter(const char *name, long long *v)
{
	char path[512];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", hb.dev, name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	ok = fscanf(f, "%lld", v) == 1;
	fclose(f);
	return ok ? 0 : -1;
}

static int read_counters(struct counters *c)
{
	if (read_counter("stats/rx_msgs", &c->rx_msgs) ||
	    read_counter("stats/rx_chains", &c->rx_chains) ||
	    read_counter("stats/rx_bytes", &c->rx_bytes) ||
	    read_counter("stats/malformed", &c->malformed) ||
	    read_counter("stats/stale", &c->stale) ||
	    read_counter("ctrl_malformed", &c->ctrl_malformed) ||
	    read_counter("ctrl_stale", &c->ctrl_stale))
		return -1;
	return 0;
}

static void write_expect(void)
{
	FILE *f;

	if (!hb.expect_path)
		return;
	f = fopen(hb.expect_path, "w");
	if (!f)
		die(hb.expect_path);
	fprintf(f, "malformed %lld\nstale %lld\nchains %lld\nbytes %lld\n",
		hb.t_malformed, hb.t_stale, hb.t_chains, hb.t_bytes);
	fprintf(f, "ctrl_malformed %lld\nctrl_stale %lld\n",
		hb.t_ctrl_malformed, hb.t_ctrl_stale);
	fclose(f);
}

/* ------------------------------------------------------------------ */
/* Sending                                                            */
/* ------------------------------------------------------------------ */

static int send_data_to(const struct hdev *d, uint32_t type, const void *buf,
			size_t len)
{
	if (argo_send(d->data_fd, hb.fe, d->fe_data_port, type, buf, len) < 0) {
		logf_("send to %u:%#x (type %#x, %zu bytes): %s", hb.fe,
		      d->fe_data_port, type, len, strerror(errno));
		return -1;
	}
	return 0;
}

/* On the hostile device's data ring. */
static int send_data(uint32_t type, const void *buf, size_t len)
{
	return send_data_to(hd, type, buf, len);
}

static int send_ctrl(uint32_t type, const void *buf, size_t len)
{
	if (argo_send(hb.ctrl_fd, hb.fe, hb.fe_ctrl_port, type, buf, len) < 0) {
		logf_("send to %u:%#x (type %#x, %zu bytes): %s", hb.fe,
		      hb.fe_ctrl_port, type, len, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * A DATA_COMP under construction: records and the bytes they carry.  The
 * header fields and the length can be overridden to make it malformed.
 */
struct cm {
	uint32_t type;
	uint32_t dev, tag;
	int nrec;		/* header's nrec; -1: the records given */
	long data_off;		/* header's data_off; -1: after the records */
	unsigned int n;
	struct virtio_argo_comp rec[8];
	uint8_t data[HB_BUF - 4096];
	size_t dlen;
	long total;		/* payload length; -1: everything */
};

static void cm_init(struct cm *m, const struct chain *c)
{
	m->type = VIRTIO_ARGO_T_DATA_COMP;
	m->dev = HB_HANDLE;
	m->tag = c->session;
	m->nrec = -1;
	m->data_off = -1;
	m->n = 0;
	m->dlen = 0;
	m->total = -1;
}

/* A record; its @len bytes follow in the data area, poison or good. */
static void cm_rec(struct cm *m, uint16_t queue, uint16_t flags, uint16_t id,
		   uint32_t written, uint32_t offset, uint32_t len,
		   uint32_t carried, bool good)
{
	struct virtio_argo_comp *r = &m->rec[m->n++];

	memset(r, 0, sizeof(*r));
	r->queue = le16(queue);
	r->flags = le16(flags);
	r->id = le16(id);
	r->written = le32(written);
	r->offset = le32(offset);
	r->len = le32(len);
	if (good)
		fill_good(m->data + m->dlen, carried);
	else
		fill_poison(m->data + m->dlen, carried);
	m->dlen += carried;
}

/* The message's bytes in txbuf; returns its length. */
static size_t cm_build(const struct cm *m)
{
	struct virtio_argo_data *h = (struct virtio_argo_data *)txbuf;
	size_t recs = DATA_HDR + m->n * COMP_REC;
	size_t len = recs + m->dlen;

	memset(h, 0, DATA_HDR);
	h->hdr.dev = le32(m->dev);
	h->hdr.tag = le32(m->tag);
	h->nrec = le16(m->nrec >= 0 ? (uint16_t)m->nrec : m->n);
	h->data_off = le32(m->data_off >= 0 ? (uint32_t)m->data_off : recs);
	memcpy(txbuf + DATA_HDR, m->rec, m->n * COMP_REC);
	memcpy(txbuf + recs, m->data, m->dlen);
	if (m->total >= 0)
		len = m->total;
	return len;
}

static int cm_send(const struct cm *m)
{
	return send_data(m->type, txbuf, cm_build(m));
}

/* The valid completion of @c, @w bytes; counted in the totals. */
static int send_valid(const struct chain *c, uint32_t w, struct expect *e)
{
	static struct cm m;

	cm_init(&m, c);
	cm_rec(&m, 0, VIRTIO_ARGO_CHAIN_FIRST | VIRTIO_ARGO_CHAIN_LAST, c->id,
	       w, 0, w, w, true);
	e->msgs++;
	e->chains++;
	e->bytes += w;
	return cm_send(&m);
}

/* ------------------------------------------------------------------ */
/* The variants                                                       */
/* ------------------------------------------------------------------ */

static struct cm vm;	/* the message a variant builds */

/* One malformed record of poison for chain @c, in a message of its own. */
static int one_bad_rec(const struct chain *c, struct expect *e,
		       uint16_t queue, uint16_t flags, uint16_t id,
		       uint32_t written, uint32_t offset, uint32_t len,
		       uint32_t carried)
{
	cm_init(&vm, c);
	cm_rec(&vm, queue, flags, id, written, offset, len, carried, false);
	e->msgs++;
	e->malformed++;
	return cm_send(&vm);
}

#define FL	(VIRTIO_ARGO_CHAIN_FIRST | VIRTIO_ARGO_CHAIN_LAST)

/* In vm: a whole completion of @c, of poison; callers then spoil a field. */
static void bad_whole(const struct chain *c)
{
	cm_init(&vm, c);
	cm_rec(&vm, 0, FL, c->id, c->in_len, 0, c->in_len, c->in_len, false);
}

static int v_unknown_dev_handle(const struct chain *c, struct expect *e)
{
	bad_whole(c);
	vm.dev = HB_HANDLE + 1;
	e->msgs++;
	e->malformed++;
	if (cm_send(&vm))
		return -1;
	bad_whole(c);
	vm.dev = 0;
	e->msgs++;
	e->malformed++;
	return cm_send(&vm);
}

static int v_wrong_session_is_stale(const struct chain *c, struct expect *e)
{
	bad_whole(c);
	vm.tag = c->session ^ 0x5a5a0000U;
	if (!vm.tag)
		vm.tag = 1;
	e->msgs++;
	e->stale++;
	return cm_send(&vm);
}

static int v_session_zero(const struct chain *c, struct expect *e)
{
	bad_whole(c);
	vm.tag = 0;
	e->msgs++;
	e->malformed++;
	return cm_send(&vm);
}

static int v_unknown_queue(const struct chain *c, struct expect *e)
{
	return one_bad_rec(c, e, 1, FL, c->id, c->in_len, 0, c->in_len,
			   c->in_len) ||
	       one_bad_rec(c, e, 0xffff, FL, c->id, c->in_len, 0, c->in_len,
			   c->in_len);
}

static int v_id_beyond_queue_size(const struct chain *c, struct expect *e)
{
	return one_bad_rec(c, e, 0, FL, hd->qsize, c->in_len, 0, c->in_len,
			   c->in_len) ||
	       one_bad_rec(c, e, 0, FL, 0xffff, c->in_len, 0, c->in_len,
			   c->in_len);
}

static int v_id_not_in_flight(const struct chain *c, struct expect *e)
{
	uint16_t id = (c->id + 1) % hd->qsize;

	return one_bad_rec(c, e, 0, FL, id, c->in_len, 0, c->in_len,
			   c->in_len);
}

static int v_written_beyond_in_len(const struct chain *c, struct expect *e)
{
	uint32_t n = c->in_len + 8;

	return one_bad_rec(c, e, 0, FL, c->id, n, 0, n, n) ||
	       one_bad_rec(c, e, 0, FL, c->id, 0x1000000U, 0, 0x1000000U,
			   c->in_len);
}

static int v_written_not_bytes_carried(const struct chain *c,
				       struct expect *e)
{
	uint32_t n = c->in_len;

	/* written above, below the record's end; written on a non-last one */
	return one_bad_rec(c, e, 0, FL, c->id, n, 0, n - 8, n - 8) ||
	       one_bad_rec(c, e, 0, FL, c->id, n - 8, 0, n, n) ||
	       one_bad_rec(c, e, 0, VIRTIO_ARGO_CHAIN_FIRST, c->id, 8, 0, 8, 8);
}

static int v_first_record_not_at_0(const struct chain *c, struct expect *e)
{
	return one_bad_rec(c, e, 0, FL, c->id, c->in_len, 8, c->in_len - 8,
			   c->in_len - 8);
}

static int v_continuation_without_first(const struct chain *c,
					struct expect *e)
{
	return one_bad_rec(c, e, 0, VIRTIO_ARGO_CHAIN_LAST, c->id, c->in_len,
			   0, c->in_len, c->in_len);
}

static int v_unknown_flags(const struct chain *c, struct expect *e)
{
	return one_bad_rec(c, e, 0, FL | 0x8000, c->id, c->in_len, 0,
			   c->in_len, c->in_len);
}

/* Two records of the chain in one message: a gap, an overlap. */
static int v_gap_or_overlap_in_ranges(const struct chain *c, struct expect *e)
{
	uint32_t h = c->in_len / 2;

	cm_init(&vm, c);
	cm_rec(&vm, 0, VIRTIO_ARGO_CHAIN_FIRST, c->id, 0, 0, h - 8, h - 8,
	       false);
	cm_rec(&vm, 0, VIRTIO_ARGO_CHAIN_LAST, c->id, c->in_len, h,
	       c->in_len - h, c->in_len - h, false);
	e->msgs++;
	e->malformed++;
	if (cm_send(&vm))
		return -1;
	cm_init(&vm, c);
	cm_rec(&vm, 0, VIRTIO_ARGO_CHAIN_FIRST, c->id, 0, 0, h + 8, h + 8,
	       false);
	cm_rec(&vm, 0, VIRTIO_ARGO_CHAIN_LAST, c->id, c->in_len, h,
	       c->in_len - h, c->in_len - h, false);
	e->msgs++;
	e->malformed++;
	return cm_send(&vm);
}

/* The chain completed twice in one message. */
static int v_duplicate_record_in_message(const struct chain *c,
					 struct expect *e)
{
	cm_init(&vm, c);
	cm_rec(&vm, 0, FL, c->id, c->in_len, 0, c->in_len, c->in_len, false);
	cm_rec(&vm, 0, FL, c->id, c->in_len, 0, c->in_len, c->in_len, false);
	e->msgs++;
	e->malformed++;
	return cm_send(&vm);
}

/*
 * A complete, valid record of poison followed by a bad one: the whole
 * message must be dropped, the valid record included.
 */
static int v_valid_record_then_bad_one(const struct chain *c,
				       struct expect *e)
{
	cm_init(&vm, c);
	cm_rec(&vm, 0, FL, c->id, c->in_len, 0, c->in_len, c->in_len, false);
	cm_rec(&vm, 1, FL, 0, 8, 0, 8, 8, false);
	e->msgs++;
	e->malformed++;
	return cm_send(&vm);
}

static int v_nrec_zero(const struct chain *c, struct expect *e)
{
	bad_whole(c);
	vm.nrec = 0;
	e->msgs++;
	e->malformed++;
	return cm_send(&vm);
}

static int v_nrec_beyond_records(const struct chain *c, struct expect *e)
{
	/* Two claimed, one present: the second is read from the data. */
	bad_whole(c);
	vm.nrec = 2;
	e->msgs++;
	e->malformed++;
	if (cm_send(&vm))
		return -1;
	/* More than data_off leaves room for. */
	bad_whole(c);
	vm.nrec = 0xffff;
	e->msgs++;
	e->malformed++;
	return cm_send(&vm);
}

static int v_data_off_bad(const struct chain *c, struct expect *e)
{
	static const long offs[] = {
		DATA_HDR + COMP_REC + 4,	/* not 8-aligned */
		DATA_HDR,			/* inside the records */
		0x10000,			/* beyond the payload */
		0xfffffff8,			/* far beyond */
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		bad_whole(c);
		vm.data_off = offs[i];
		e->msgs++;
		e->malformed++;
		if (cm_send(&vm))
			return -1;
	}
	return 0;
}

static int v_record_len_past_payload(const struct chain *c, struct expect *e)
{
	/* Claims in_len bytes, carries half; then claims 4 GiB - 1. */
	if (one_bad_rec(c, e, 0, FL, c->id, c->in_len, 0, c->in_len,
			c->in_len / 2))
		return -1;
	return one_bad_rec(c, e, 0, FL, c->id, 0xffffffffU, 0, 0xffffffffU,
			   c->in_len) ||
	       one_bad_rec(c, e, 0, FL, c->id, 0xfffffff0U + 0x20, 0xfffffff0U,
			   0x20, 0x20);
}

static int v_payload_longer_than_records(const struct chain *c,
					 struct expect *e)
{
	bad_whole(c);
	fill_poison(vm.data + vm.dlen, 8);
	vm.dlen += 8;
	e->msgs++;
	e->malformed++;
	return cm_send(&vm);
}

static int v_truncated_header(const struct chain *c, struct expect *e)
{
	static const long lens[] = { 0, 4, 8, 15 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		bad_whole(c);
		vm.total = lens[i];
		e->msgs++;
		e->malformed++;
		if (cm_send(&vm))
			return -1;
	}
	/* The header alone, and the header and the record without data. */
	bad_whole(c);
	vm.total = DATA_HDR;
	e->msgs++;
	e->malformed++;
	if (cm_send(&vm))
		return -1;
	bad_whole(c);
	vm.total = DATA_HDR + COMP_REC;
	e->msgs++;
	e->malformed++;
	return cm_send(&vm);
}

/* The largest message the ring takes: header, then poison records. */
static int v_oversized_message(const struct chain *c, struct expect *e)
{
	struct virtio_argo_data *h = (struct virtio_argo_data *)txbuf;
	uint32_t max = 0;
	size_t len, nrec;

	if (argo_max_msg_size(hd->data_fd, hb.fe, hd->fe_data_port, &max) < 0)
		return -1;
	len = max < HB_BUF ? max : HB_BUF;
	bad_whole(c);
	cm_build(&vm);
	fill_poison(txbuf + DATA_HDR + COMP_REC, len - DATA_HDR - COMP_REC);
	e->msgs++;
	e->malformed++;
	if (send_data(VIRTIO_ARGO_T_DATA_COMP, txbuf, len))
		return -1;
	/* As many records as the message holds, all of them poison. */
	nrec = (len - DATA_HDR) / COMP_REC;
	if (nrec > 0xffff)
		nrec = 0xffff;
	fill_poison(txbuf, len);
	h->hdr.dev = le32(HB_HANDLE);
	h->hdr.tag = le32(c->session);
	h->nrec = le16(nrec);
	h->data_off = le32(DATA_HDR + nrec * COMP_REC);
	e->msgs++;
	e->malformed++;
	return send_data(VIRTIO_ARGO_T_DATA_COMP, txbuf, len);
}

static int v_unknown_type_on_data_ring(const struct chain *c,
				       struct expect *e)
{
	static const uint32_t types[] = {
		0x9999, VIRTIO_ARGO_T_DATA_REQ,
		VIRTIO_ARGO_T_DATA_COMP | VIRTIO_ARGO_REPLY,
		VIRTIO_ARGO_T_EV_CONFIG,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(types); i++) {
		bad_whole(c);
		vm.type = types[i];
		e->msgs++;
		e->malformed++;
		if (cm_send(&vm))
			return -1;
	}
	return 0;
}

/*
 * The valid completion and, in the same batch (so that the driver cannot
 * post its next request in between), the same completion again, of
 * poison: the chain is no longer in flight.  Then a continuation of it.
 */
static int v_already_completed(const struct chain *c, struct expect *e)
{
	static uint8_t b1[512], b2[512], b3[512];
	struct argo_dev_msg msgs[3];
	size_t l1, l2, l3;

	cm_init(&vm, c);
	cm_rec(&vm, 0, FL, c->id, c->in_len, 0, c->in_len, c->in_len, true);
	l1 = cm_build(&vm);
	memcpy(b1, txbuf, l1);
	bad_whole(c);
	l2 = cm_build(&vm);
	memcpy(b2, txbuf, l2);
	cm_init(&vm, c);
	cm_rec(&vm, 0, VIRTIO_ARGO_CHAIN_LAST, c->id, c->in_len + 8, c->in_len,
	       8, 8, false);
	l3 = cm_build(&vm);
	memcpy(b3, txbuf, l3);
	argo_msg_init(&msgs[0], hb.fe, hd->fe_data_port,
		      VIRTIO_ARGO_T_DATA_COMP, b1, l1);
	argo_msg_init(&msgs[1], hb.fe, hd->fe_data_port,
		      VIRTIO_ARGO_T_DATA_COMP, b2, l2);
	argo_msg_init(&msgs[2], hb.fe, hd->fe_data_port,
		      VIRTIO_ARGO_T_DATA_COMP, b3, l3);
	e->msgs += 3;
	e->chains++;
	e->bytes += c->in_len;
	e->malformed += 2;
	if (argo_sendv(hd->data_fd, msgs, 3) != 3) {
		logf_("sendv: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * A valid completion split in two messages, with bad continuations of
 * poison between them: a gap, an overlap, a second first record.
 */
static int v_split_completion_survives_bad_continuations(const struct chain *c,
							 struct expect *e)
{
	uint32_t h = c->in_len / 2;

	cm_init(&vm, c);
	cm_rec(&vm, 0, VIRTIO_ARGO_CHAIN_FIRST, c->id, 0, 0, h, h, true);
	e->msgs++;
	e->bytes += h;
	if (cm_send(&vm))
		return -1;
	if (one_bad_rec(c, e, 0, VIRTIO_ARGO_CHAIN_LAST, c->id, c->in_len,
			h + 8, c->in_len - h - 8, c->in_len - h - 8) ||
	    one_bad_rec(c, e, 0, VIRTIO_ARGO_CHAIN_LAST, c->id, c->in_len,
			h - 8, c->in_len - h + 8, c->in_len - h + 8) ||
	    one_bad_rec(c, e, 0, FL, c->id, c->in_len, 0, c->in_len,
			c->in_len) ||
	    one_bad_rec(c, e, 0, VIRTIO_ARGO_CHAIN_LAST, c->id, c->in_len + 8,
			h, c->in_len - h + 8, c->in_len - h + 8))
		return -1;
	cm_init(&vm, c);
	cm_rec(&vm, 0, VIRTIO_ARGO_CHAIN_LAST, c->id, c->in_len, h,
	       c->in_len - h, c->in_len - h, true);
	e->msgs++;
	e->chains++;
	e->bytes += c->in_len - h;
	return cm_send(&vm);
}

/* A third domain cannot reach the frontend's rings at all. */
static int v_third_domain_refused(const struct chain *c,
				  UNUSED struct expect *e)
{
	int fd = argo_open(0);
	uint32_t port;
	int ret = 0;

	if (fd < 0)
		return -1;
	if (argo_bind_any_port(fd, 2, hb.fe, 4096, &port) < 0) {
		logf_("bind as domain 2: %s", strerror(errno));
		close(fd);
		return -1;
	}
	bad_whole(c);
	cm_build(&vm);
	if (argo_send(fd, hb.fe, hd->fe_data_port, VIRTIO_ARGO_T_DATA_COMP,
		      txbuf, DATA_HDR + COMP_REC + c->in_len) >= 0 ||
	    errno != ECONNREFUSED) {
		logf_("domain 2 reached the data ring (%s)", strerror(errno));
		ret = -1;
	}
	if (argo_send(fd, hb.fe, hb.fe_ctrl_port, VIRTIO_ARGO_T_EV_DEV_REMOVED,
		      txbuf, 16) >= 0 || errno != ECONNREFUSED) {
		logf_("domain 2 reached the control ring (%s)",
		      strerror(errno));
		ret = -1;
	}
	close(fd);
	return ret;
}

/* ---- control ring garbage ---- */

/*
 * An EV_CONFIG of the device whose range is beyond its configuration
 * space: dropped and counted on the device.  Ends every control variant,
 * so that its count shows that what came before it was processed.
 */
static int ev_config(uint32_t dev, uint16_t off, uint16_t len,
		     size_t carried, size_t total)
{
	struct virtio_argo_ev_config *ev = (void *)txbuf;

	memset(txbuf, 0, sizeof(*ev));
	ev->hdr.dev = le32(dev);
	ev->generation = le32(++hd->config_gen + 1000);
	ev->offset = le16(off);
	ev->len = le16(len);
	fill_poison(txbuf + sizeof(*ev), carried);
	if (!total)
		total = sizeof(*ev) + carried;
	return send_ctrl(VIRTIO_ARGO_T_EV_CONFIG, txbuf, total);
}

static int ctrl_marker(struct expect *e)
{
	e->malformed++;
	return ev_config(HB_HANDLE, HB_CONFIG_LEN - 4, 8, 8, 0);
}

static int v_ev_config_len_over_max(UNUSED const struct chain *c,
				    struct expect *e)
{
	e->malformed++;
	return ev_config(HB_HANDLE, 0, VIRTIO_ARGO_MAX_CONFIG + 8,
			 VIRTIO_ARGO_MAX_CONFIG + 8, 0);
}

static int v_ev_config_beyond_config_len(UNUSED const struct chain *c,
					 struct expect *e)
{
	e->malformed += 3;
	return ev_config(HB_HANDLE, 4, HB_CONFIG_LEN, HB_CONFIG_LEN, 0) ||
	       ev_config(HB_HANDLE, HB_CONFIG_LEN, 1, 1, 0) ||
	       ev_config(HB_HANDLE, 0xffff, 2, 2, 0);
}

static int v_ev_config_len_not_bytes_carried(UNUSED const struct chain *c,
					     struct expect *e)
{
	e->malformed += 3;
	return ev_config(HB_HANDLE, 0, 8, 4, 0) ||
	       ev_config(HB_HANDLE, 0, 4, 8, 0) ||
	       ev_config(HB_HANDLE, 0, 4, 4, 12);
}

/* Not counted on the device (no device is known): then the marker. */
static int v_ev_config_unknown_handle(UNUSED const struct chain *c,
				      struct expect *e)
{
	e->ctrl_malformed += 2;
	return ev_config(HB_HANDLE + 1, 0, 4, 4, 0) ||
	       ev_config(0, 0, 4, 4, 0) ||
	       ctrl_marker(e);
}

static int ev_dev(uint32_t type, uint32_t dev, uint32_t index, size_t len)
{
	struct virtio_argo_ev_dev *ev = (void *)txbuf;

	fill_poison(txbuf, 64);
	ev->hdr.dev = le32(dev);
	ev->hdr.tag = 0;
	ev->index = le32(index);
	ev->reserved = 0;
	return send_ctrl(type, txbuf, len);
}

static int v_ev_dev_removed_unknown_or_short(UNUSED const struct chain *c,
					     struct expect *e)
{
	e->ctrl_malformed += 4;
	return ev_dev(VIRTIO_ARGO_T_EV_DEV_REMOVED, HB_HANDLE + 1, 0, 16) ||
	       ev_dev(VIRTIO_ARGO_T_EV_DEV_REMOVED, 0, 0, 16) ||
	       ev_dev(VIRTIO_ARGO_T_EV_DEV_REMOVED, HB_HANDLE, 0, 12) ||
	       ev_dev(VIRTIO_ARGO_T_EV_DEV_REMOVED, HB_HANDLE, 0, 24) ||
	       ctrl_marker(e);
}

static int v_ev_dev_added_out_of_range(UNUSED const struct chain *c,
				       struct expect *e)
{
	e->ctrl_malformed += 3;
	return ev_dev(VIRTIO_ARGO_T_EV_DEV_ADDED, 0,
		      VIRTIO_ARGO_MAX_DEVICES, 16) ||
	       ev_dev(VIRTIO_ARGO_T_EV_DEV_ADDED, 0, 0xffffffffU, 16) ||
	       ev_dev(VIRTIO_ARGO_T_EV_DEV_ADDED, 0, 0, 8) ||
	       ctrl_marker(e);
}

/* Replies nobody asked for: unknown tags, unknown types, bad sizes. */
static int v_unsolicited_replies(UNUSED const struct chain *c, struct expect *e)
{
	static const uint32_t types[] = {
		VIRTIO_ARGO_T_HELLO, VIRTIO_ARGO_T_DEV_INFO,
		VIRTIO_ARGO_T_SET_STATUS, VIRTIO_ARGO_T_RESET,
		VIRTIO_ARGO_T_CONFIG_READ, 0x7777, 0x7fffffff,
	};
	struct virtio_argo_reply *r = (void *)txbuf;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(types); i++) {
		fill_poison(txbuf, 512);
		r->hdr.dev = 0;
		r->hdr.tag = le32(0xdead0000U + i);
		r->status = 0;
		if (send_ctrl(types[i] | VIRTIO_ARGO_REPLY, txbuf,
			      i % 2 ? 16 : 64))
			return -1;
		e->ctrl_stale++;
	}
	return ctrl_marker(e);
}

static int v_ctrl_unknown_type_and_truncated(UNUSED const struct chain *c,
					     struct expect *e)
{
	fill_poison(txbuf, 64);
	e->ctrl_malformed += 4;
	return send_ctrl(0x0999, txbuf, 64) ||
	       send_ctrl(VIRTIO_ARGO_T_EV_CONFIG, txbuf, 0) ||
	       send_ctrl(VIRTIO_ARGO_T_EV_CONFIG, txbuf, 7) ||
	       send_ctrl(VIRTIO_ARGO_T_HELLO, txbuf, 32) ||
	       ctrl_marker(e);
}

/* Control messages far larger than any the protocol has. */
static int v_ctrl_oversized(UNUSED const struct chain *c, struct expect *e)
{
	uint32_t max = 0;

	if (argo_max_msg_size(hb.ctrl_fd, hb.fe, hb.fe_ctrl_port, &max) < 0)
		return -1;
	if (max > HB_BUF)
		max = HB_BUF;
	e->ctrl_malformed += 3;
	/* An EV_CONFIG of the device claiming everything it carries. */
	if (ev_config(HB_HANDLE, 0, 0xffff, max - 16, 0) ||
	    ev_config(HB_HANDLE, 0, 600, 600, 0))
		return -1;
	fill_poison(txbuf, max);
	((struct virtio_argo_hdr *)txbuf)->tag = le32(1);
	return send_ctrl(VIRTIO_ARGO_T_SET_STATUS | VIRTIO_ARGO_REPLY, txbuf,
			 max) ||
	       ctrl_marker(e);
}

struct variant {
	const char *name;
	int (*run)(const struct chain *c, struct expect *e);
	bool ctrl;	/* sent on the control ring */
};

#define V(n)	{ #n, v_##n, false }
#define VC(n)	{ #n, v_##n, true }

static const struct variant variants[] = {
	V(unknown_dev_handle),
	V(wrong_session_is_stale),
	V(session_zero),
	V(unknown_queue),
	V(id_beyond_queue_size),
	V(id_not_in_flight),
	V(already_completed),
	V(written_beyond_in_len),
	V(written_not_bytes_carried),
	V(first_record_not_at_0),
	V(continuation_without_first),
	V(unknown_flags),
	V(gap_or_overlap_in_ranges),
	V(duplicate_record_in_message),
	V(valid_record_then_bad_one),
	V(split_completion_survives_bad_continuations),
	V(nrec_zero),
	V(nrec_beyond_records),
	V(data_off_bad),
	V(record_len_past_payload),
	V(payload_longer_than_records),
	V(truncated_header),
	V(oversized_message),
	V(unknown_type_on_data_ring),
	V(third_domain_refused),
	VC(ev_config_len_over_max),
	VC(ev_config_beyond_config_len),
	VC(ev_config_len_not_bytes_carried),
	VC(ev_config_unknown_handle),
	VC(ev_dev_removed_unknown_or_short),
	VC(ev_dev_added_out_of_range),
	VC(unsolicited_replies),
	VC(ctrl_unknown_type_and_truncated),
	VC(ctrl_oversized),
};

/* ------------------------------------------------------------------ */
/* Running a variant and checking the counters                        */
/* ------------------------------------------------------------------ */

static void result(bool ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void result(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	fprintf(hb.results, "%s\t%s\t", ok ? "ok" : "not ok", name);
	va_start(ap, fmt);
	vfprintf(hb.results, fmt, ap);
	va_end(ap);
	fputc('\n', hb.results);
	fflush(hb.results);
	if (!ok)
		hb.variants_failed++;
}

static bool reached(const struct counters *b, const struct counters *n,
		    const struct expect *e)
{
	return n->rx_msgs >= b->rx_msgs + e->msgs &&
	       n->malformed >= b->malformed + e->malformed &&
	       n->stale >= b->stale + e->stale &&
	       n->rx_chains >= b->rx_chains + e->chains &&
	       n->rx_bytes >= b->rx_bytes + e->bytes &&
	       n->ctrl_malformed >= b->ctrl_malformed + e->ctrl_malformed &&
	       n->ctrl_stale >= b->ctrl_stale + e->ctrl_stale;
}

/*
 * Wait until the counters reach @e (relative to @b), give the frontend a
 * moment to count anything more, and say whether they match exactly.
 */
static bool wait_match(const struct counters *b, const struct expect *e,
		       struct counters *n)
{
	long long end = now_ms() + HB_WAIT_MS;

	for (;;) {
		if (read_counters(n))
			return false;
		if (reached(b, n, e))
			break;
		if (now_ms() > end)
			return false;
		usleep(2000);
	}
	usleep(20000);
	if (read_counters(n))
		return false;
	return n->rx_msgs == b->rx_msgs + e->msgs &&
	       n->malformed == b->malformed + e->malformed &&
	       n->stale == b->stale + e->stale &&
	       n->rx_chains == b->rx_chains + e->chains &&
	       n->rx_bytes == b->rx_bytes + e->bytes &&
	       n->ctrl_malformed == b->ctrl_malformed + e->ctrl_malformed &&
	       n->ctrl_stale == b->ctrl_stale + e->ctrl_stale;
}

static void account(const struct expect *e)
{
	hb.t_malformed += e->malformed;
	hb.t_stale += e->stale;
	hb.t_chains += e->chains;
	hb.t_bytes += e->bytes;
	hb.t_ctrl_malformed += e->ctrl_malformed;
	hb.t_ctrl_stale += e->ctrl_stale;
	write_expect();
}

/* Answer chain @id: the next variant if any, then a valid completion. */
static void serve(uint16_t id)
{
	struct chain c = {
		.id = id,
		.in_len = hd->in_len[id],
		.session = hd->session,
	};
	const struct variant *v = NULL;
	struct expect e = { 0 };
	struct counters b, n;
	bool ok;

	hd->in_flight[id] = false;
	if (hb.next_variant < ARRAY_SIZE(variants) && c.in_len >= 32 &&
	    !read_counters(&b)) {
		v = &variants[hb.next_variant++];
		if (v->run(&c, &e)) {
			result(false, v->name, "could not send (see the log)");
			v = NULL;
		} else {
			ok = wait_match(&b, &e, &n);
			result(ok, v->name,
			       "%s%s: msgs +%lld/%d malformed +%lld/%d stale +%lld/%d chains +%lld/%d bytes +%lld/%lld ctrl_malformed +%lld/%d ctrl_stale +%lld/%d",
			       v->ctrl ? "control ring, " : "",
			       ok ? "counted as expected" : "COUNTERS DIFFER",
			       n.rx_msgs - b.rx_msgs, e.msgs,
			       n.malformed - b.malformed, e.malformed,
			       n.stale - b.stale, e.stale,
			       n.rx_chains - b.rx_chains, e.chains,
			       n.rx_bytes - b.rx_bytes, e.bytes,
			       n.ctrl_malformed - b.ctrl_malformed,
			       e.ctrl_malformed, n.ctrl_stale - b.ctrl_stale,
			       e.ctrl_stale);
			if (!ok)
				logf_("%s: counters differ", v->name);
			account(&e);
		}
		if (hb.next_variant == ARRAY_SIZE(variants))
			logf_("all %zu variants sent", ARRAY_SIZE(variants));
	}
	if (v && e.chains)
		return;	/* it completed the chain itself */

	/* The valid completion: every other one fills the buffer. */
	memset(&e, 0, sizeof(e));
	if (read_counters(&b)) {
		logf_("cannot read the counters in %s", hb.dev);
		b = (struct counters){ 0 };
	}
	if (send_valid(&c, hb.good_seq % 2 ? c.in_len : c.in_len / 2, &e))
		return;
	if (!wait_match(&b, &e, &n)) {
		logf_("chain %u: valid completion lost: msgs +%lld chains +%lld malformed +%lld",
		      id, n.rx_msgs - b.rx_msgs, n.rx_chains - b.rx_chains,
		      n.malformed - b.malformed);
		if (v)
			result(false, v->name,
			       "the valid completion after it was not taken");
	}
	account(&e);
}

/* ------------------------------------------------------------------ */
/* The frontend's requests                                            */
/* ------------------------------------------------------------------ */

/* Decoys, the reply, and the reply again (see the top of the file). */
static void reply(uint32_t type, uint32_t tag, void *buf, size_t len)
{
	static uint8_t decoy[1024];
	struct virtio_argo_dev_info_reply *di = (void *)decoy;
	struct virtio_argo_set_status_reply *ss = (void *)decoy;
	struct virtio_argo_config_reply *cr = (void *)decoy;
	struct virtio_argo_reply *r = buf, *d = (void *)decoy;
	uint32_t rtype = type | VIRTIO_ARGO_REPLY;

	r->hdr.tag = le32(tag);
	memcpy(decoy, buf, len);
	/* A lying body: another device, another status, a newer poison. */
	if (type == VIRTIO_ARGO_T_DEV_INFO && len >= sizeof(*di)) {
		di->dev = le32(HB_HANDLE + 7);
		di->device_id = le32(2);
		di->num_queues = le16(1);
	}
	if (type == VIRTIO_ARGO_T_SET_STATUS && len >= sizeof(*ss))
		ss->status = le32(0x40);	/* NEEDS_RESET */
	if (type == VIRTIO_ARGO_T_CONFIG_READ && len >= sizeof(*cr)) {
		cr->generation = le32(le32toh(cr->generation) + 1000);
		fill_poison(decoy + sizeof(*cr), len - sizeof(*cr));
	}
	d->hdr.tag = le32(tag + HB_DECOY_TAG);
	send_ctrl(rtype, decoy, len);
	d->hdr.tag = le32(tag);
	send_ctrl(((type + 1) & 0xffff) | VIRTIO_ARGO_REPLY, decoy, len);
	send_ctrl(rtype, buf, len);
	send_ctrl(rtype, buf, len);
	/* The decoys and the duplicate answer no waiting request. */
	hb.t_ctrl_stale += 3;
	write_expect();
}

static void reply_status(uint32_t type, uint32_t tag, uint32_t status)
{
	struct virtio_argo_reply r = { .status = le32(status) };

	reply(type, tag, &r, sizeof(r));
}

/*
 * A refusal longer than the request's reply buffer: the protocol lets a
 * receiver accept it (and ignore the rest), which the rest does here, in
 * letters.
 */
static void reply_long_refusal(uint32_t type, uint32_t tag, uint32_t status)
{
	uint8_t out[HB_LONG_REFUSAL];
	struct virtio_argo_reply *r = (void *)out;

	fill_good(out, sizeof(out));
	r->hdr.dev = 0;
	r->status = le32(status);
	r->reserved = 0;
	reply(type, tag, out, sizeof(out));
}

/*
 * After the reply to the RESET or DETACH that removes the device: poison
 * completions of every chain id in the old session, and malformed ones,
 * while the frontend tears the device down.  The protocol forbids them;
 * the frontend must drop them (or take them before its reset is done),
 * never touch freed queues.  Nothing to count: the device is going away.
 */
static void storm(void)
{
	struct chain c = { .in_len = 64, .session = hd->session };
	unsigned int i, sent = 0;

	if (!hd->fe_data_port || !hd->session)
		return;
	for (i = 0; i < 4 * hd->qsize; i++) {
		c.id = i % hd->qsize;
		bad_whole(&c);
		if (i >= hd->qsize)
			vm.rec[0].queue = le16(i / hd->qsize - 1);
		if (cm_send(&vm))
			break;
		sent++;
	}
	logf_("%u poison completions sent after the reset", sent);
}

static void reset_device(struct hdev *d)
{
	unsigned int i;

	memset(d->in_flight, 0, sizeof(d->in_flight));
	d->nready = 0;
	d->status = 0;
	for (i = 0; i < ARRAY_SIZE(d->chains); i++) {
		free(d->chains[i].out);
		d->chains[i] = (struct hchain){ 0 };
	}
}

static struct hdev *dev_by_handle(uint32_t handle)
{
	unsigned int i;

	for (i = 0; i < hb.ndevs; i++)
		if (hb.devs[i].offered && hb.devs[i].handle == handle)
			return &hb.devs[i];
	return NULL;
}

/* The device's configuration changes (d->change): EV_CONFIG, a new generation. */
static void change_config(struct hdev *d)
{
	const struct cfg_change *c = &d->change;
	uint8_t buf[sizeof(struct virtio_argo_ev_config) + HB_CONFIG_MAX];
	struct virtio_argo_ev_config *ev = (void *)buf;

	memcpy(d->config + c->off, c->bytes, c->len);
	d->config_gen++;
	memset(buf, 0, sizeof(buf));
	ev->hdr.dev = le32(d->handle);
	ev->generation = le32(d->config_gen);
	ev->offset = le16(c->off);
	ev->len = le16(c->len);
	memcpy(buf + sizeof(*ev), c->bytes, c->len);
	send_ctrl(VIRTIO_ARGO_T_EV_CONFIG, buf, sizeof(*ev) + c->len);
	logf_("device %#x: configuration generation %u sent (%u bytes at %u)",
	      d->handle, d->config_gen, c->len, c->off);
}

/*
 * The hostile run: the transport reads the whole configuration space again
 * after ATTACH, before its driver starts the device (status still 0).
 */
static void check_config_read(const struct hdev *d, uint32_t off, uint32_t n)
{
	bool ok = d->attached && !d->status && !off && n == d->config_len;

	if (hb.config_read_seen)
		return;
	hb.config_read_seen = true;
	result(ok, "config_read_after_attach",
	       "CONFIG_READ of %u bytes at %u, %s, device status %#x",
	       n, off, d->attached ? "attached" : "NOT ATTACHED", d->status);
}

/*
 * The hostile run, at the first DATA_REQ: the EV_CONFIG sent before
 * ATTACH's reply (the device known to the transport, not registered yet)
 * was taken as the device's, so counted nowhere: before the fix it was
 * dropped as naming no known device, in ctrl_malformed.
 */
static void check_first_data(void)
{
	struct counters c;
	bool ok;

	if (hb.first_data_seen)
		return;
	hb.first_data_seen = true;
	ok = !read_counters(&c) && !c.ctrl_malformed && !c.malformed;
	result(ok, "ev_config_before_registration_not_counted",
	       "EV_CONFIG sent before ATTACH's reply: ctrl_malformed %lld, malformed %lld (want 0, 0)",
	       c.ctrl_malformed, c.malformed);
}

/*
 * SC_READD: device 0 is removed and added again at index 0, with a new
 * handle, twice.  SIGUSR1 adds device 1, and the DEV_INFO that asks for it
 * is answered only after the first time (readd_device0()), so that both
 * events reach a frontend busy adding device 1; the second time comes
 * right after the reply to the new device 0's ATTACH, before the frontend
 * has registered it.
 */
static void readd_trigger(void)
{
	struct hdev *d = &hb.devs[1];

	if (hb.scenario != SC_READD || d->offered) {
		logf_("SIGUSR1: nothing to do");
		return;
	}
	d->offered = true;
	hb.readd_armed = true;
	logf_("device 1 (handle %#x) added", d->handle);
	ev_dev(VIRTIO_ARGO_T_EV_DEV_ADDED, d->handle, 1,
	       sizeof(struct virtio_argo_ev_dev));
}

static void readd_device0(void)
{
	struct hdev *d = &hb.devs[0];

	ev_dev(VIRTIO_ARGO_T_EV_DEV_REMOVED, d->handle, 0,
	       sizeof(struct virtio_argo_ev_dev));
	d->attached = false;
	reset_device(d);
	d->old_handle = d->handle;
	d->handle += 0x100;
	ev_dev(VIRTIO_ARGO_T_EV_DEV_ADDED, d->handle, 0,
	       sizeof(struct virtio_argo_ev_dev));
	hb.readds++;
	logf_("device 0 removed and added again as handle %#x", d->handle);
}

static void handle_ctrl(const uint8_t *buf, size_t len,
			const struct argo_msg_info *mi)
{
	const struct virtio_argo_hdr *h = (const void *)buf;
	struct hdev *d = NULL;
	unsigned int i;
	uint32_t tag;

	if (mi->domain != hb.fe || len < sizeof(*h)) {
		logf_("control message from %u, %zu bytes: ignored",
		      mi->domain, len);
		hb.bad_requests++;
		return;
	}
	hb.fe_ctrl_port = mi->port;
	tag = le32toh(h->tag);
	if (mi->type != VIRTIO_ARGO_T_HELLO &&
	    mi->type != VIRTIO_ARGO_T_DEV_INFO) {
		d = dev_by_handle(le32toh(h->dev));
		if (!d) {
			reply_status(mi->type, tag, VIRTIO_ARGO_S_NODEV);
			return;
		}
	}
	switch (mi->type) {
	case VIRTIO_ARGO_T_HELLO: {
		struct virtio_argo_hello_reply r = {
			.version = le16(VIRTIO_ARGO_VERSION),
			.num_devices = le16(hb.hello_devices),
			.max_msg = le32(HB_CTRL_RING - 32),
		};

		/* A frontend that says HELLO again forgets its devices. */
		for (i = 0; i < hb.ndevs; i++) {
			hb.devs[i].attached = false;
			reset_device(&hb.devs[i]);
		}
		reply(mi->type, tag, &r, sizeof(r));
		return;
	}
	case VIRTIO_ARGO_T_DEV_INFO: {
		const struct virtio_argo_dev_info *q = (const void *)buf;
		uint8_t out[sizeof(struct virtio_argo_dev_info_reply) + 8 +
			    HB_CONFIG_MAX] = { 0 };
		struct virtio_argo_dev_info_reply *r = (void *)out;
		uint16_t *qmax = (uint16_t *)(r + 1);
		uint32_t index = len == sizeof(*q) ? le32toh(q->index) :
				 UINT32_MAX;

		if (index >= hb.ndevs ||
		    !hb.devs[index].offered) {
			reply_status(mi->type, tag, VIRTIO_ARGO_S_NODEV);
			return;
		}
		d = &hb.devs[index];
		if (hb.readd_armed && index == 1) {
			hb.readd_armed = false;
			readd_device0();
		}
		r->dev = le32(d->handle);
		r->device_id = le32(d->device_id);
		r->config_generation = le32(d->config_gen);
		r->device_features = le64(d->features);
		r->num_queues = le16(1);
		r->config_len = le16(d->config_len);
		r->data_port = le32(VIRTIO_ARGO_PORT_DATA_BASE + index);
		r->data_ring = le32(d->ring_stated);
		qmax[0] = le16(d->qmax);
		memcpy(out + sizeof(*r) + 8, d->config, d->config_len);
		reply(mi->type, tag, out, sizeof(*r) + 8 + d->config_len);
		/* Before the frontend can know the handle: CONFIG_READ's. */
		if (d->ev_after_dev_info) {
			d->ev_after_dev_info = false;
			change_config(d);
		}
		return;
	}
	case VIRTIO_ARGO_T_ATTACH: {
		const struct virtio_argo_attach *q = (const void *)buf;

		if (len != sizeof(*q) ||
		    le32toh(q->data_ring) < VIRTIO_ARGO_MIN_DATA_RING) {
			reply_status(mi->type, tag, VIRTIO_ARGO_S_INVAL);
			return;
		}
		if (d->refuse_attach) {
			reply_long_refusal(mi->type, tag, d->refuse_attach);
			return;
		}
		d->fe_data_port = le32toh(q->data_port);
		d->attached = true;
		d->attaches++;
		reset_device(d);
		/* The device is known to the frontend, not registered yet. */
		if (d->ev_before_attach) {
			d->ev_before_attach = false;
			change_config(d);
		}
		reply_status(mi->type, tag, VIRTIO_ARGO_S_OK);
		/* Attached, then gone, before the frontend registered it. */
		if (hb.scenario == SC_READD && d == &hb.devs[0] &&
		    hb.readds == 1)
			readd_device0();
		return;
	}
	case VIRTIO_ARGO_T_DETACH:
		d->attached = false;
		reset_device(d);
		reply_status(mi->type, tag, VIRTIO_ARGO_S_OK);
		if (d->hostile)
			storm();
		return;
	case VIRTIO_ARGO_T_SET_FEATURES: {
		const struct virtio_argo_set_features *q = (const void *)buf;
		uint64_t f = len == sizeof(*q) ? le64toh(q->features) : 0;

		reply_status(mi->type, tag,
			     (f & ~d->features) || !(f & HB_FEATURES) ?
			     VIRTIO_ARGO_S_INVAL : VIRTIO_ARGO_S_OK);
		return;
	}
	case VIRTIO_ARGO_T_SET_STATUS: {
		const struct virtio_argo_set_status *q = (const void *)buf;
		struct virtio_argo_set_status_reply r = { 0 };

		if (len != sizeof(*q) || !q->status ||
		    le32toh(q->status) > 0xff) {
			reply_status(mi->type, tag, VIRTIO_ARGO_S_INVAL);
			return;
		}
		d->status = le32toh(q->status);
		r.status = le32(d->status);
		reply(mi->type, tag, &r, sizeof(r));
		return;
	}
	case VIRTIO_ARGO_T_QUEUE_SETUP: {
		const struct virtio_argo_queue_setup *q = (const void *)buf;
		uint16_t size = le16toh(q->size);

		if (len != sizeof(*q) || q->queue || !size ||
		    size > d->qmax || (size & (size - 1))) {
			reply_status(mi->type, tag, VIRTIO_ARGO_S_INVAL);
			return;
		}
		d->qsize = size;
		reply_status(mi->type, tag, VIRTIO_ARGO_S_OK);
		return;
	}
	case VIRTIO_ARGO_T_RESET: {
		bool live = d->status & 4;	/* DRIVER_OK */

		reset_device(d);
		reply_status(mi->type, tag, VIRTIO_ARGO_S_OK);
		/* Not at the first reset: the counters must stay exact. */
		if (d->hostile && live &&
		    hb.next_variant == ARRAY_SIZE(variants))
			storm();
		return;
	}
	case VIRTIO_ARGO_T_PING:
		reply_status(mi->type, tag, VIRTIO_ARGO_S_OK);
		return;
	case VIRTIO_ARGO_T_CONFIG_READ: {
		const struct virtio_argo_config_access *q = (const void *)buf;
		uint8_t out[sizeof(struct virtio_argo_config_reply) +
			    HB_CONFIG_MAX] = { 0 };
		struct virtio_argo_config_reply *r = (void *)out;
		uint32_t off, n;

		off = len == sizeof(*q) ? le32toh(q->offset) : UINT32_MAX;
		n = len == sizeof(*q) ? le32toh(q->len) : UINT32_MAX;
		if (off > d->config_len || n > d->config_len - off) {
			reply_status(mi->type, tag, VIRTIO_ARGO_S_INVAL);
			return;
		}
		if (d->hostile)
			check_config_read(d, off, n);
		/*
		 * read_older: a reply that crossed an EV_CONFIG, older than
		 * what the frontend has; it must not take that back.
		 */
		r->generation = le32(d->read_older ? d->config_gen - 1 :
				     d->config_gen);
		r->offset = le16(off);
		r->len = le16(n);
		memcpy(out + sizeof(*r),
		       (d->read_older ? d->older_config : d->config) + off, n);
		reply(mi->type, tag, out, sizeof(*r) + n);
		return;
	}
	default:
		logf_("control request type %#x: UNSUPP", mi->type);
		reply_status(mi->type, tag, VIRTIO_ARGO_S_UNSUPP);
		return;
	}
}

/* A DATA_REQ for the hostile device: take its chains (writable only). */
static void handle_data(const uint8_t *buf, size_t len,
			const struct argo_msg_info *mi)
{
	const struct virtio_argo_data *h = (const void *)buf;
	size_t pos = DATA_HDR, off;
	unsigned int i, nrec;

	if (mi->domain != hb.fe || mi->type != VIRTIO_ARGO_T_DATA_REQ ||
	    len < DATA_HDR || le32toh(h->hdr.dev) != HB_HANDLE)
		goto bad;
	nrec = le16toh(h->nrec);
	off = le32toh(h->data_off);
	if (!nrec || off > len || !h->hdr.tag)
		goto bad;
	hd->session = le32toh(h->hdr.tag);
	for (i = 0; i < nrec; i++) {
		const struct virtio_argo_chain *r = (const void *)(buf + pos);
		uint16_t flags, id;

		if (pos + sizeof(*r) > off)
			goto bad;
		flags = le16toh(r->flags);
		id = le16toh(r->id);
		pos += sizeof(*r);
		if (flags & VIRTIO_ARGO_CHAIN_FIRST)
			pos += le16toh(r->ndesc) *
			       sizeof(struct virtio_argo_desc);
		if (pos > off || r->queue || id >= hd->qsize ||
		    le32toh(r->out_len) || flags != FL ||
		    le32toh(r->in_len) > VIRTIO_ARGO_MAX_CHAIN_BYTES ||
		    hd->in_flight[id] || hd->nready == HB_QUEUE_MAX)
			goto bad;
		hd->in_flight[id] = true;
		hd->in_len[id] = le32toh(r->in_len);
		hd->ready[hd->nready++] = id;
	}
	check_first_data();
	return;
bad:
	logf_("unexpected data message from %u (type %#x, %zu bytes)",
	      mi->domain, mi->type, len);
	hb.bad_requests++;
}

/* ------------------------------------------------------------------ */
/* Honest devices (the scenarios)                                     */
/* ------------------------------------------------------------------ */

/*
 * The completion of chain @id, its @n device-written bytes @in: as many
 * records (one a message) as the frontend's ring needs.
 */
static int send_comp(const struct hdev *d, uint16_t id, uint32_t session,
		     const uint8_t *in, uint32_t n)
{
	struct virtio_argo_data *h = (void *)txbuf;
	struct virtio_argo_comp *r = (void *)(txbuf + DATA_HDR);
	uint32_t max = 0, room, off = 0, chunk;
	uint16_t flags;

	if (argo_max_msg_size(d->data_fd, hb.fe, d->fe_data_port, &max) < 0) {
		logf_("device %#x: no frontend ring at %u:%#x: %s", d->handle,
		      hb.fe, d->fe_data_port, strerror(errno));
		return -1;
	}
	if (max > HB_BUF)
		max = HB_BUF;
	room = max - DATA_HDR - COMP_REC;
	do {
		chunk = n - off < room ? n - off : room;
		flags = (off ? 0 : VIRTIO_ARGO_CHAIN_FIRST) |
			(off + chunk == n ? VIRTIO_ARGO_CHAIN_LAST : 0);
		memset(txbuf, 0, DATA_HDR + COMP_REC);
		h->hdr.dev = le32(d->handle);
		h->hdr.tag = le32(session);
		h->nrec = le16(1);
		h->data_off = le32(DATA_HDR + COMP_REC);
		r->id = le16(id);
		r->flags = le16(flags);
		r->written = le32(flags & VIRTIO_ARGO_CHAIN_LAST ? n : 0);
		r->offset = le32(off);
		r->len = le32(chunk);
		memcpy(txbuf + DATA_HDR + COMP_REC, in + off, chunk);
		if (send_data_to(d, VIRTIO_ARGO_T_DATA_COMP, txbuf,
				 DATA_HDR + COMP_REC + chunk))
			return -1;
		off += chunk;
	} while (off < n);
	return 0;
}

static uint32_t get_le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

/* @n bytes from @sector lie on the disk. */
static bool blk_range(const struct hdev *d, uint64_t sector, uint64_t n)
{
	return sector <= d->disk_sectors &&
	       n <= (d->disk_sectors - sector) * SECTOR;
}

/* A virtio-blk request: @in gets the bytes read and the status last. */
static void blk_exec(struct hdev *d, const struct hchain *ch, uint8_t *in)
{
	uint32_t type, dlen;
	uint64_t sector, wlen;
	uint8_t st = BLK_S_OK;

	if (ch->out_len < BLK_HDR || !ch->in_len) {
		logf_("device %#x: a chain of %u/%u bytes is no block request",
		      d->handle, ch->out_len, ch->in_len);
		hb.bad_requests++;
		return;
	}
	type = get_le32(ch->out);
	sector = get_le64(ch->out + 8);
	dlen = ch->in_len - 1;
	wlen = ch->out_len - BLK_HDR;
	switch (type) {
	case BLK_T_IN:
		if (wlen || !blk_range(d, sector, dlen))
			st = BLK_S_IOERR;
		else
			memcpy(in, d->disk + sector * SECTOR, dlen);
		break;
	case BLK_T_OUT:
		if (dlen || !blk_range(d, sector, wlen))
			st = BLK_S_IOERR;
		else
			memcpy(d->disk + sector * SECTOR, ch->out + BLK_HDR,
			       wlen);
		break;
	case BLK_T_GET_ID:
		memcpy(in, "hostile", dlen < 7 ? dlen : 7);
		break;
	default:
		st = BLK_S_UNSUPP;
		break;
	}
	if (st != BLK_S_OK)
		logf_("device %#x: block request type %u at sector %" PRIu64 " (%u/%u bytes): status %u",
		      d->handle, type, sector, ch->out_len, ch->in_len, st);
	in[ch->in_len - 1] = st;
}

/* Chain @id came whole: execute it, complete it. */
static void execute(struct hdev *d, uint16_t id)
{
	struct hchain *ch = &d->chains[id];
	uint8_t *in = calloc(1, ch->in_len ? ch->in_len : 1);

	if (!in)
		die("calloc");
	if (d->device_id == BLK_ID)
		blk_exec(d, ch, in);
	else
		fill_good(in, ch->in_len);
	send_comp(d, id, ch->session, in, ch->in_len);
	free(in);
	free(ch->out);
	*ch = (struct hchain){ 0 };
	d->served++;
}

/*
 * A DATA_REQ for an honest device: its records, checked, carry chains
 * whole or in parts; a chain is executed when its last part came.
 */
static void honest_data(struct hdev *d, const uint8_t *buf, size_t len,
			const struct argo_msg_info *mi)
{
	const struct virtio_argo_data *h = (const void *)buf;
	size_t pos = DATA_HDR, off, dpos;
	unsigned int i, nrec;
	uint32_t session;

	/* Sent before the frontend heard the device was removed: a race. */
	if (len >= DATA_HDR && d->old_handle &&
	    le32toh(h->hdr.dev) == d->old_handle) {
		logf_("device %#x: a DATA_REQ for its old handle %#x dropped",
		      d->handle, d->old_handle);
		return;
	}
	if (mi->domain != hb.fe || mi->type != VIRTIO_ARGO_T_DATA_REQ ||
	    len < DATA_HDR || le32toh(h->hdr.dev) != d->handle ||
	    !d->attached)
		goto bad;
	nrec = le16toh(h->nrec);
	off = le32toh(h->data_off);
	session = le32toh(h->hdr.tag);
	if (!nrec || off % 8 || off > len || !session)
		goto bad;
	d->session = session;
	dpos = off;
	for (i = 0; i < nrec; i++) {
		const struct virtio_argo_chain *r = (const void *)(buf + pos);
		struct hchain *ch;
		uint32_t out_len, in_len, roff, rlen;
		uint16_t flags, id;

		if (pos + sizeof(*r) > off)
			goto bad;
		flags = le16toh(r->flags);
		id = le16toh(r->id);
		out_len = le32toh(r->out_len);
		in_len = le32toh(r->in_len);
		roff = le32toh(r->offset);
		rlen = le32toh(r->len);
		pos += sizeof(*r);
		if (flags & VIRTIO_ARGO_CHAIN_FIRST)
			pos += le16toh(r->ndesc) *
			       sizeof(struct virtio_argo_desc);
		if (pos > off || r->queue || id >= d->qsize || (flags & ~FL) ||
		    out_len > VIRTIO_ARGO_MAX_CHAIN_BYTES ||
		    in_len > VIRTIO_ARGO_MAX_CHAIN_BYTES || rlen > len - dpos)
			goto bad;
		ch = &d->chains[id];
		if (flags & VIRTIO_ARGO_CHAIN_FIRST) {
			if (ch->active)
				goto bad;
			*ch = (struct hchain){
				.active = true,
				.out_len = out_len,
				.in_len = in_len,
				.session = session,
				.out = malloc(out_len ? out_len : 1),
			};
			if (!ch->out)
				die("malloc");
		} else if (!ch->active || ch->out_len != out_len ||
			   ch->in_len != in_len) {
			goto bad;
		}
		if (roff != ch->got || rlen > ch->out_len - ch->got)
			goto bad;
		memcpy(ch->out + ch->got, buf + dpos, rlen);
		ch->got += rlen;
		dpos += rlen;
		if (flags & VIRTIO_ARGO_CHAIN_LAST) {
			if (ch->got != ch->out_len)
				goto bad;
			execute(d, id);
		}
	}
	if (dpos != len)
		goto bad;
	return;
bad:
	logf_("device %#x: unexpected data message from %u (type %#x, %zu bytes)",
	      d->handle, mi->domain, mi->type, len);
	hb.bad_requests++;
}

/* ------------------------------------------------------------------ */
/* Receiving                                                          */
/* ------------------------------------------------------------------ */

/* One message if there is one; the files block, for the sends. */
static ssize_t recv_nowait(int fd, struct argo_msg_info *mi)
{
	struct argo_dev_msg m = {
		.buf = (uintptr_t)rxbuf,
		.len = sizeof(rxbuf),
		.flags = ARGO_DEV_MSG_DONTWAIT,
	};

	if (ioctl(fd, ARGO_DEV_IOC_RECV, &m) < 0)
		return -1;
	mi->domain = m.domain;
	mi->port = m.port;
	mi->type = m.type;
	mi->len = m.len;
	return m.len;
}

/* The control ring (@d NULL) or device @d's data ring. */
static void drain(int fd, struct hdev *d)
{
	struct argo_msg_info mi;
	ssize_t n;

	while ((n = recv_nowait(fd, &mi)) >= 0) {
		if (!d)
			handle_ctrl(rxbuf, n, &mi);
		else if (d->hostile)
			handle_data(rxbuf, n, &mi);
		else
			honest_data(d, rxbuf, n, &mi);
	}
	if (errno != EAGAIN && errno != EINTR)
		die("receive");
}

/* ------------------------------------------------------------------ */
/* The devices of each run                                            */
/* ------------------------------------------------------------------ */

static struct hdev *dev_new(uint32_t handle, uint32_t device_id)
{
	struct hdev *d = &hb.devs[hb.ndevs++];

	d->offered = true;
	d->handle = handle;
	d->device_id = device_id;
	d->features = HB_FEATURES;
	d->qmax = HB_QUEUE_MAX;
	d->qsize = d->qmax;
	d->config_gen = 1;
	d->ring = HB_DATA_RING;
	d->ring_stated = HB_DATA_RING;
	return d;
}

static struct hdev *dev_rng(uint32_t handle)
{
	struct hdev *d = dev_new(handle, RNG_ID);

	d->config_len = HB_CONFIG_LEN;
	memcpy(d->config, "HONEST!!", HB_CONFIG_LEN);
	return d;
}

/* A RAM disk of @disk sectors; its configuration says @capacity. */
static struct hdev *dev_blk(uint32_t handle, uint64_t capacity, uint64_t disk)
{
	struct hdev *d = dev_new(handle, BLK_ID);

	d->features |= UINT64_C(1) << BLK_F_SEG_MAX;
	d->qmax = BLK_QUEUE_MAX;
	d->qsize = d->qmax;
	/* struct virtio_blk_config up to seg_max: capacity, size_max, seg_max */
	d->config_len = 16;
	put_le64(d->config, capacity);
	put_le32(d->config + 12, BLK_SEG_MAX);
	d->disk_sectors = disk;
	d->disk = calloc(disk, SECTOR);
	if (!d->disk)
		die("calloc");
	return d;
}

/* A new capacity, sent as an EV_CONFIG of the first 8 bytes. */
static void capacity_change(struct hdev *d, uint64_t capacity)
{
	d->change.off = 0;
	d->change.len = 8;
	put_le64(d->change.bytes, capacity);
}

static void setup_devices(void)
{
	struct hdev *d;

	switch (hb.scenario) {
	case SC_HOSTILE:
		d = dev_new(HB_HANDLE, RNG_ID);
		d->hostile = true;
		d->config_len = HB_CONFIG_LEN;
		memcpy(d->config, "HOSTILE!", HB_CONFIG_LEN);
		d->ev_before_attach = true;
		d->change.off = 0;
		d->change.len = HB_CONFIG_LEN;
		memcpy(d->change.bytes, "ATTACHED", HB_CONFIG_LEN);
		hb.hello_devices = 1;
		break;
	case SC_CONFIG:
		/*
		 * Device 0: 2048 sectors in DEV_INFO, 8192 in an EV_CONFIG
		 * before ATTACH's reply, 4096 in a CONFIG_READ reply one
		 * generation older than that event.  Its data ring is the
		 * smallest allowed; DEV_INFO states 1 MiB.
		 */
		d = dev_blk(0x5eed0a00, 2048, 8192);
		d->ev_before_attach = true;
		capacity_change(d, 8192);
		d->read_older = true;
		memcpy(d->older_config, d->config, d->config_len);
		put_le64(d->older_config, 4096);
		d->ring = VIRTIO_ARGO_MIN_DATA_RING;
		d->ring_stated = 1024 * 1024;
		/* Device 1: 4096 sectors in an EV_CONFIG after DEV_INFO's reply. */
		d = dev_blk(0x5eed0b00, 2048, 4096);
		d->ev_after_dev_info = true;
		capacity_change(d, 4096);
		hb.hello_devices = 2;
		break;
	case SC_READD:
		/* Added again as 0x5eed0d00, then 0x5eed0e00 (readd_device0()). */
		dev_rng(0x5eed0c00);
		/* Offered on SIGUSR1 (readd_trigger()). */
		d = dev_new(0x5eed0c01, NODRV_ID);
		d->offered = false;
		hb.hello_devices = 1;
		break;
	case SC_MANY:
		dev_rng(0x5eed0e00);
		d = dev_rng(0x5eed0e01);
		d->refuse_attach = VIRTIO_ARGO_S_IO;
		dev_blk(0x5eed0e02, 2048, 2048);
		dev_new(0x5eed0e03, NODRV_ID);
		hb.hello_devices = 4;
		break;
	}
}

static void print_help(void)
{
	fprintf(stderr,
		"usage: hostile_backend --dev DIR --results FILE --expect FILE [--frontend F]\n"
		"       hostile_backend --scenario config|readd|many [--frontend F]\n"
		"       hostile_backend --list\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "results", required_argument, NULL, 'r' },
		{ "expect", required_argument, NULL, 'e' },
		{ "frontend", required_argument, NULL, 'f' },
		{ "scenario", required_argument, NULL, 's' },
		{ "list", no_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	static const char * const scenarios[] = {
		[SC_CONFIG] = "config",
		[SC_READD] = "readd",
		[SC_MANY] = "many",
	};
	const char *results = NULL;
	bool stop = false;
	sigset_t sigs;
	int sigfd;
	unsigned int i;
	int opt, ret;

	hb.fe = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			hb.dev = optarg;
			break;
		case 'r':
			results = optarg;
			break;
		case 'e':
			hb.expect_path = optarg;
			break;
		case 'f':
			if (argo_parse_domain(optarg, 0, &hb.fe))
				print_help();
			break;
		case 's':
			for (i = SC_CONFIG; i < ARRAY_SIZE(scenarios); i++)
				if (!strcmp(optarg, scenarios[i]))
					hb.scenario = i;
			if (hb.scenario == SC_HOSTILE)
				print_help();
			break;
		case 'l':
			for (i = 0; i < ARRAY_SIZE(variants); i++)
				printf("%s\n", variants[i].name);
			return 0;
		default:
			print_help();
		}
	}
	if (optind != argc)
		print_help();
	if (hb.scenario == SC_HOSTILE) {
		if (!hb.dev || !results || !hb.expect_path)
			print_help();
		hb.results = fopen(results, "a");
		if (!hb.results)
			die(results);
	} else if (hb.dev || results || hb.expect_path) {
		print_help();
	}
	write_expect();
	setup_devices();

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGUSR1);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sigfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sigfd < 0)
		die("signalfd");

	hb.ctrl_fd = argo_open(0);
	if (hb.ctrl_fd < 0)
		die(ARGO_DEV_PATH);
	if (argo_bind(hb.ctrl_fd, HB_DOMAIN, VIRTIO_ARGO_PORT_CTRL, hb.fe,
		      HB_CTRL_RING) < 0)
		die("bind control ring");
	for (i = 0; i < hb.ndevs; i++) {
		struct hdev *d = &hb.devs[i];

		d->data_fd = argo_open(0);
		if (d->data_fd < 0)
			die(ARGO_DEV_PATH);
		if (argo_bind(d->data_fd, HB_DOMAIN,
			      VIRTIO_ARGO_PORT_DATA_BASE + i, hb.fe,
			      d->ring) < 0)
			die("bind data ring");
	}
	if (hb.scenario == SC_HOSTILE)
		logf_("ready: domain %u serving frontend %u, %zu variants",
		      HB_DOMAIN, hb.fe, ARRAY_SIZE(variants));
	else
		logf_("ready: domain %u serving frontend %u, scenario %s, %u devices",
		      HB_DOMAIN, hb.fe, scenarios[hb.scenario], hb.ndevs);

	while (!stop) {
		struct pollfd p[2 + HB_MAX_DEVS];
		unsigned int n = 0;

		p[n++] = (struct pollfd){ .fd = hb.ctrl_fd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
		for (i = 0; i < hb.ndevs; i++)
			p[n++] = (struct pollfd){ .fd = hb.devs[i].data_fd,
						  .events = POLLIN };
		if (poll(p, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (p[0].revents & POLLIN)
			drain(hb.ctrl_fd, NULL);
		for (i = 0; i < hb.ndevs; i++)
			if (p[2 + i].revents & POLLIN)
				drain(hb.devs[i].data_fd, &hb.devs[i]);
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sigfd, &si, sizeof(si)) != sizeof(si))
				die("signalfd");
			if (si.ssi_signo == SIGUSR1)
				readd_trigger();
			else
				stop = true;
		}
		while (hb.scenario == SC_HOSTILE && hd->nready &&
		       hd->attached && !stop) {
			uint16_t id = hd->ready[0];

			hd->nready--;
			memmove(hd->ready, hd->ready + 1,
				hd->nready * sizeof(hd->ready[0]));
			serve(id);
		}
	}
	if (hb.scenario == SC_HOSTILE) {
		logf_("stopping: %u/%zu variants run, %u failed, %u bad requests, %lld chains completed",
		      hb.next_variant, ARRAY_SIZE(variants),
		      hb.variants_failed, hb.bad_requests, hb.t_chains);
		ret = hb.next_variant == ARRAY_SIZE(variants) &&
		      !hb.bad_requests ? 0 : 1;
	} else {
		for (i = 0; i < hb.ndevs; i++)
			logf_("device %u (handle %#x): %u attaches, %llu chains completed",
			      i, hb.devs[i].handle, hb.devs[i].attaches,
			      hb.devs[i].served);
		logf_("stopping: %u bad requests", hb.bad_requests);
		ret = hb.bad_requests ? 1 : 0;
	}
	for (i = 0; i < hb.ndevs; i++) {
		reset_device(&hb.devs[i]);
		free(hb.devs[i].disk);
	}
	return ret;
}
