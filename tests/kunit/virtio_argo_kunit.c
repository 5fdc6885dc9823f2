// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suites for virtio_argo's message checks (msg.c) and DMA mapping
 * (dma.c).  Both files are pure: they are built into this module, so the
 * suites run without a backend and without loading the transport.
 *
 * virtio_argo_msg: each message type the frontend receives, well formed
 * and in every malformed variant the protocol names.
 * virtio_argo_dma: the mapping functions give guest physical addresses
 * that va_dma_to_virt() turns back into the same kernel addresses.
 */
#include <kunit/test.h>
#include <linux/dma-map-ops.h>
#include <linux/mm.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include "../../drivers/virtio_argo/msg.c"
#include "../../drivers/virtio_argo/dma.c"

/* An 8-byte aligned message buffer. */
struct vak_buf {
	u64 w[VA_CTRL_MSG_MAX / 8 + 1];
};

/* ------------------------------------------------------------------ */
/* Replies                                                            */
/* ------------------------------------------------------------------ */

static void vak_reply(struct virtio_argo_reply *r, u32 status)
{
	r->hdr.dev = cpu_to_le32(7);
	r->hdr.tag = cpu_to_le32(1);
	r->status = cpu_to_le32(status);
}

static void reply_ok_is_accepted(struct kunit *test)
{
	struct virtio_argo_reply r = {};
	u32 status = 99;

	vak_reply(&r, VIRTIO_ARGO_S_OK);
	KUNIT_EXPECT_EQ(test, va_msg_reply(&r, sizeof(r), &status), 0);
	KUNIT_EXPECT_EQ(test, status, (u32)VIRTIO_ARGO_S_OK);
}

static void reply_error_status_is_not_malformed(struct kunit *test)
{
	struct virtio_argo_reply r = {};
	u32 status = 0;

	vak_reply(&r, VIRTIO_ARGO_S_NODEV);
	KUNIT_EXPECT_EQ(test, va_msg_reply(&r, sizeof(r), &status), 0);
	KUNIT_EXPECT_EQ(test, status, (u32)VIRTIO_ARGO_S_NODEV);
	KUNIT_EXPECT_EQ(test, va_status_errno(status), -ENODEV);
}

static void reply_too_short_is_malformed(struct kunit *test)
{
	struct virtio_argo_reply r = {};
	u32 status;

	vak_reply(&r, VIRTIO_ARGO_S_OK);
	KUNIT_EXPECT_EQ(test, va_msg_reply(&r, sizeof(r) - 1, &status),
			-EBADMSG);
	KUNIT_EXPECT_EQ(test, va_msg_reply(&r, 0, &status), -EBADMSG);
}

static void reply_unknown_status_is_malformed(struct kunit *test)
{
	struct virtio_argo_reply r = {};
	u32 status;

	vak_reply(&r, VIRTIO_ARGO_S_DENIED + 1);
	KUNIT_EXPECT_EQ(test, va_msg_reply(&r, sizeof(r), &status), -EBADMSG);
	vak_reply(&r, 0xffffffff);
	KUNIT_EXPECT_EQ(test, va_msg_reply(&r, sizeof(r), &status), -EBADMSG);
}

static void status_maps_to_errno(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, va_status_errno(VIRTIO_ARGO_S_OK), 0);
	KUNIT_EXPECT_EQ(test, va_status_errno(VIRTIO_ARGO_S_INVAL), -EINVAL);
	KUNIT_EXPECT_EQ(test, va_status_errno(VIRTIO_ARGO_S_UNSUPP),
			-EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, va_status_errno(VIRTIO_ARGO_S_STATE), -EBUSY);
	KUNIT_EXPECT_EQ(test, va_status_errno(VIRTIO_ARGO_S_IO), -EIO);
	KUNIT_EXPECT_EQ(test, va_status_errno(VIRTIO_ARGO_S_DENIED), -EACCES);
}

static void vak_hello(struct virtio_argo_hello_reply *r)
{
	memset(r, 0, sizeof(*r));
	vak_reply(&r->r, VIRTIO_ARGO_S_OK);
	r->version = cpu_to_le16(VIRTIO_ARGO_VERSION);
	r->num_devices = cpu_to_le16(3);
	r->max_msg = cpu_to_le32(16352);
}

static void hello_reply_valid(struct kunit *test)
{
	struct virtio_argo_hello_reply r;
	struct va_hello_info hi;

	vak_hello(&r);
	KUNIT_ASSERT_EQ(test, va_msg_hello_reply(&r, sizeof(r), &hi), 0);
	KUNIT_EXPECT_EQ(test, hi.version, VIRTIO_ARGO_VERSION);
	KUNIT_EXPECT_EQ(test, hi.num_devices, 3);
	KUNIT_EXPECT_EQ(test, hi.max_msg, 16352U);
}

static void hello_reply_wrong_length_is_malformed(struct kunit *test)
{
	struct virtio_argo_hello_reply r[2];
	struct va_hello_info hi;

	vak_hello(&r[0]);
	KUNIT_EXPECT_EQ(test, va_msg_hello_reply(r, sizeof(r[0]) - 1, &hi),
			-EBADMSG);
	KUNIT_EXPECT_EQ(test, va_msg_hello_reply(r, sizeof(r[0]) + 8, &hi),
			-EBADMSG);
}

static void hello_reply_bad_fields_are_malformed(struct kunit *test)
{
	struct virtio_argo_hello_reply r;
	struct va_hello_info hi;

	vak_hello(&r);
	r.version = cpu_to_le16(2);
	KUNIT_EXPECT_EQ(test, va_msg_hello_reply(&r, sizeof(r), &hi), -EBADMSG);
	vak_hello(&r);
	r.version = 0;
	KUNIT_EXPECT_EQ(test, va_msg_hello_reply(&r, sizeof(r), &hi), -EBADMSG);
	vak_hello(&r);
	r.num_devices = cpu_to_le16(VIRTIO_ARGO_MAX_DEVICES + 1);
	KUNIT_EXPECT_EQ(test, va_msg_hello_reply(&r, sizeof(r), &hi), -EBADMSG);
	/* A protocol feature the frontend did not propose. */
	vak_hello(&r);
	r.features = cpu_to_le32(VIRTIO_ARGO_F_ALL << 1);
	KUNIT_EXPECT_EQ(test, va_msg_hello_reply(&r, sizeof(r), &hi), -EBADMSG);
	vak_hello(&r);
	r.features = cpu_to_le32(0x80000000);
	KUNIT_EXPECT_EQ(test, va_msg_hello_reply(&r, sizeof(r), &hi), -EBADMSG);
}

static void hello_reply_features_proposed_are_taken(struct kunit *test)
{
	struct virtio_argo_hello_reply r;
	struct va_hello_info hi;

	vak_hello(&r);
	KUNIT_ASSERT_EQ(test, va_msg_hello_reply(&r, sizeof(r), &hi), 0);
	KUNIT_EXPECT_EQ(test, hi.features, 0U);
	r.features = cpu_to_le32(VIRTIO_ARGO_F_OUT_NOCOMP);
	KUNIT_ASSERT_EQ(test, va_msg_hello_reply(&r, sizeof(r), &hi), 0);
	KUNIT_EXPECT_EQ(test, hi.features, VIRTIO_ARGO_F_OUT_NOCOMP);
}

/* A DEV_INFO reply with @nq queues of 256 and @clen config bytes. */
static size_t vak_dev_info(struct vak_buf *b, u16 nq, u16 clen)
{
	struct virtio_argo_dev_info_reply *r = (void *)b->w;
	__le16 *qmax = (__le16 *)(r + 1);
	u8 *cfg;
	unsigned int i;

	memset(b, 0, sizeof(*b));
	vak_reply(&r->r, VIRTIO_ARGO_S_OK);
	r->dev = cpu_to_le32(5);
	r->device_id = cpu_to_le32(2);
	r->vendor_id = cpu_to_le32(0x1af4);
	r->config_generation = cpu_to_le32(9);
	r->device_features = cpu_to_le64(BIT_ULL(32) | BIT_ULL(9));
	r->num_queues = cpu_to_le16(nq);
	r->config_len = cpu_to_le16(clen);
	r->data_port = cpu_to_le32(VIRTIO_ARGO_PORT_DATA_BASE);
	r->data_ring = cpu_to_le32(VIRTIO_ARGO_MIN_DATA_RING);
	for (i = 0; i < nq; i++)
		qmax[i] = cpu_to_le16(256);
	cfg = (u8 *)qmax + VIRTIO_ARGO_ALIGN(2 * nq);
	for (i = 0; i < clen; i++)
		cfg[i] = i + 1;
	return sizeof(*r) + VIRTIO_ARGO_ALIGN(2 * nq) + clen;
}

static void dev_info_reply_valid(struct kunit *test)
{
	struct vak_buf *b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);
	struct va_dev_desc *d = kunit_kzalloc(test, sizeof(*d), GFP_KERNEL);
	size_t len;

	KUNIT_ASSERT_NOT_NULL(test, b);
	KUNIT_ASSERT_NOT_NULL(test, d);
	len = vak_dev_info(b, 3, 8);
	KUNIT_ASSERT_EQ(test, va_msg_dev_info_reply(b, len, d), 0);
	KUNIT_EXPECT_EQ(test, d->dev, 5U);
	KUNIT_EXPECT_EQ(test, d->device_id, 2U);
	KUNIT_EXPECT_EQ(test, d->generation, 9U);
	KUNIT_EXPECT_EQ(test, d->features, BIT_ULL(32) | BIT_ULL(9));
	KUNIT_EXPECT_EQ(test, d->num_queues, 3);
	KUNIT_EXPECT_EQ(test, d->queue_max[2], 256);
	KUNIT_EXPECT_EQ(test, d->config_len, 8);
	KUNIT_EXPECT_EQ(test, d->config[0], 1);
	KUNIT_EXPECT_EQ(test, d->config[7], 8);
	KUNIT_EXPECT_EQ(test, d->config[8], 0);
	KUNIT_EXPECT_EQ(test, d->data_port, VIRTIO_ARGO_PORT_DATA_BASE);

	/* The largest reply of all: every queue, the whole config space. */
	len = vak_dev_info(b, VIRTIO_ARGO_MAX_QUEUES, VIRTIO_ARGO_MAX_CONFIG);
	KUNIT_EXPECT_LE(test, len, (size_t)VA_CTRL_MSG_MAX);
	KUNIT_EXPECT_EQ(test, va_msg_dev_info_reply(b, len, d), 0);
}

static void dev_info_reply_length_must_be_exact(struct kunit *test)
{
	struct vak_buf *b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);
	struct va_dev_desc *d = kunit_kzalloc(test, sizeof(*d), GFP_KERNEL);
	size_t len;

	KUNIT_ASSERT_NOT_NULL(test, b);
	KUNIT_ASSERT_NOT_NULL(test, d);
	len = vak_dev_info(b, 3, 8);
	KUNIT_EXPECT_EQ(test, va_msg_dev_info_reply(b, len - 1, d), -EBADMSG);
	KUNIT_EXPECT_EQ(test, va_msg_dev_info_reply(b, len + 1, d), -EBADMSG);
	KUNIT_EXPECT_EQ(test, va_msg_dev_info_reply(b, 16, d), -EBADMSG);
	/* Queue sizes not padded to 8 bytes. */
	KUNIT_EXPECT_EQ(test, va_msg_dev_info_reply(b, len - 2, d), -EBADMSG);
}

static void dev_info_reply_bad_counts_are_malformed(struct kunit *test)
{
	struct vak_buf *b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);
	struct va_dev_desc *d = kunit_kzalloc(test, sizeof(*d), GFP_KERNEL);
	struct virtio_argo_dev_info_reply *r = (void *)b;
	size_t len;

	KUNIT_ASSERT_NOT_NULL(test, b);
	KUNIT_ASSERT_NOT_NULL(test, d);
	len = vak_dev_info(b, 1, 0);
	r->num_queues = 0;
	KUNIT_EXPECT_EQ(test, va_msg_dev_info_reply(b, len, d), -EBADMSG);

	len = vak_dev_info(b, 1, 0);
	r->num_queues = cpu_to_le16(VIRTIO_ARGO_MAX_QUEUES + 1);
	KUNIT_EXPECT_EQ(test, va_msg_dev_info_reply(b, len, d), -EBADMSG);

	len = vak_dev_info(b, 1, 0);
	r->config_len = cpu_to_le16(VIRTIO_ARGO_MAX_CONFIG + 1);
	KUNIT_EXPECT_EQ(test, va_msg_dev_info_reply(b, len, d), -EBADMSG);
}

static void dev_info_reply_bad_queue_sizes_are_malformed(struct kunit *test)
{
	static const u16 bad[] = { 0, 3, 100, VIRTIO_ARGO_MAX_QUEUE_SIZE * 2,
				   0xffff };
	struct vak_buf *b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);
	struct va_dev_desc *d = kunit_kzalloc(test, sizeof(*d), GFP_KERNEL);
	struct virtio_argo_dev_info_reply *r = (void *)b;
	__le16 *qmax = (__le16 *)(r + 1);
	unsigned int i;
	size_t len;

	KUNIT_ASSERT_NOT_NULL(test, b);
	KUNIT_ASSERT_NOT_NULL(test, d);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		len = vak_dev_info(b, 2, 0);
		qmax[1] = cpu_to_le16(bad[i]);
		KUNIT_EXPECT_EQ_MSG(test, va_msg_dev_info_reply(b, len, d),
				    -EBADMSG, "queue size %u", bad[i]);
	}
	len = vak_dev_info(b, 2, 0);
	qmax[1] = cpu_to_le16(VIRTIO_ARGO_MAX_QUEUE_SIZE);
	KUNIT_EXPECT_EQ(test, va_msg_dev_info_reply(b, len, d), 0);
}

static void dev_info_reply_bad_fields_are_malformed(struct kunit *test)
{
	struct vak_buf *b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);
	struct va_dev_desc *d = kunit_kzalloc(test, sizeof(*d), GFP_KERNEL);
	struct virtio_argo_dev_info_reply *r = (void *)b;
	size_t len;

	KUNIT_ASSERT_NOT_NULL(test, b);
	KUNIT_ASSERT_NOT_NULL(test, d);
	len = vak_dev_info(b, 1, 4);
	r->dev = 0;
	KUNIT_EXPECT_EQ(test, va_msg_dev_info_reply(b, len, d), -EBADMSG);
	len = vak_dev_info(b, 1, 4);
	r->device_id = 0;
	KUNIT_EXPECT_EQ(test, va_msg_dev_info_reply(b, len, d), -EBADMSG);
	len = vak_dev_info(b, 1, 4);
	r->data_ring = cpu_to_le32(VIRTIO_ARGO_MIN_DATA_RING - 16);
	KUNIT_EXPECT_EQ(test, va_msg_dev_info_reply(b, len, d), -EBADMSG);
}

static void empty_reply_length_must_be_exact(struct kunit *test)
{
	struct virtio_argo_reply r[2] = {};

	vak_reply(r, VIRTIO_ARGO_S_OK);
	KUNIT_EXPECT_EQ(test, va_msg_empty_reply(r, sizeof(r[0])), 0);
	KUNIT_EXPECT_EQ(test, va_msg_empty_reply(r, sizeof(r[0]) - 1),
			-EBADMSG);
	KUNIT_EXPECT_EQ(test, va_msg_empty_reply(r, sizeof(r[0]) + 8),
			-EBADMSG);
}

static void set_status_reply_checks(struct kunit *test)
{
	struct virtio_argo_set_status_reply r[2] = {};
	u8 status = 0;

	vak_reply(&r[0].r, VIRTIO_ARGO_S_OK);
	r[0].status = cpu_to_le32(0x0b);
	KUNIT_EXPECT_EQ(test, va_msg_set_status_reply(r, sizeof(r[0]), &status),
			0);
	KUNIT_EXPECT_EQ(test, status, 0x0b);
	KUNIT_EXPECT_EQ(test, va_msg_set_status_reply(r, sizeof(r[0]) - 4,
						      &status), -EBADMSG);
	KUNIT_EXPECT_EQ(test, va_msg_set_status_reply(r, sizeof(r[0]) + 8,
						      &status), -EBADMSG);
	r[0].status = cpu_to_le32(0x100);
	KUNIT_EXPECT_EQ(test, va_msg_set_status_reply(r, sizeof(r[0]), &status),
			-EBADMSG);
}

/* A config reply (or EV_CONFIG) of @n bytes at @off. */
static size_t vak_config(struct vak_buf *b, bool event, u16 off, u16 n)
{
	u8 *bytes;
	size_t hl;
	unsigned int i;

	memset(b, 0, sizeof(*b));
	if (event) {
		struct virtio_argo_ev_config *e = (void *)b->w;

		e->hdr.dev = cpu_to_le32(5);
		e->generation = cpu_to_le32(10);
		e->offset = cpu_to_le16(off);
		e->len = cpu_to_le16(n);
		hl = sizeof(*e);
	} else {
		struct virtio_argo_config_reply *r = (void *)b->w;

		vak_reply(&r->r, VIRTIO_ARGO_S_OK);
		r->generation = cpu_to_le32(10);
		r->offset = cpu_to_le16(off);
		r->len = cpu_to_le16(n);
		hl = sizeof(*r);
	}
	bytes = (u8 *)b->w + hl;
	for (i = 0; i < n; i++)
		bytes[i] = 0xa0 + i;
	return hl + n;
}

static void config_reply_valid(struct kunit *test)
{
	struct vak_buf *b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);
	struct va_config_range cr;
	size_t len;

	KUNIT_ASSERT_NOT_NULL(test, b);
	len = vak_config(b, false, 0, 16);
	KUNIT_ASSERT_EQ(test, va_msg_config_reply(b, len, 16, &cr), 0);
	KUNIT_EXPECT_EQ(test, cr.generation, 10U);
	KUNIT_EXPECT_EQ(test, cr.len, 16);
	KUNIT_EXPECT_EQ(test, cr.bytes[15], 0xaf);
	KUNIT_EXPECT_PTR_EQ(test, cr.bytes,
			    (const u8 *)b + sizeof(struct virtio_argo_config_reply));
}

static void config_reply_malformed_variants(struct kunit *test)
{
	struct vak_buf *b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);
	struct va_config_range cr;
	size_t len;

	KUNIT_ASSERT_NOT_NULL(test, b);
	len = vak_config(b, false, 4, 8);
	/* Bytes missing or in excess of len. */
	KUNIT_EXPECT_EQ(test, va_msg_config_reply(b, len - 1, 16, &cr),
			-EBADMSG);
	KUNIT_EXPECT_EQ(test, va_msg_config_reply(b, len + 1, 16, &cr),
			-EBADMSG);
	/* Beyond the device's configuration space. */
	KUNIT_EXPECT_EQ(test, va_msg_config_reply(b, len, 11, &cr), -EBADMSG);
	len = vak_config(b, false, 0xfff0, 0x20);
	KUNIT_EXPECT_EQ(test, va_msg_config_reply(b, len, 256, &cr), -EBADMSG);
	/* Shorter than its fixed part. */
	KUNIT_EXPECT_EQ(test, va_msg_config_reply(b, 20, 256, &cr), -EBADMSG);
}

static void ev_config_valid(struct kunit *test)
{
	struct vak_buf *b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);
	struct va_config_range cr;
	size_t len;

	KUNIT_ASSERT_NOT_NULL(test, b);
	len = vak_config(b, true, 8, 4);
	KUNIT_ASSERT_EQ(test, va_msg_ev_config(b, len, 12, &cr), 0);
	KUNIT_EXPECT_EQ(test, cr.offset, 8);
	KUNIT_EXPECT_EQ(test, cr.len, 4);
	KUNIT_EXPECT_EQ(test, cr.bytes[0], 0xa0);
}

static void ev_config_malformed_variants(struct kunit *test)
{
	struct vak_buf *b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);
	struct virtio_argo_ev_config *e = (void *)b;
	struct va_config_range cr;
	size_t len;

	KUNIT_ASSERT_NOT_NULL(test, b);
	len = vak_config(b, true, 8, 4);
	KUNIT_EXPECT_EQ(test, va_msg_ev_config(b, len, 11, &cr), -EBADMSG);
	KUNIT_EXPECT_EQ(test, va_msg_ev_config(b, len - 1, 12, &cr), -EBADMSG);
	KUNIT_EXPECT_EQ(test, va_msg_ev_config(b, len + 4, 12, &cr), -EBADMSG);
	KUNIT_EXPECT_EQ(test, va_msg_ev_config(b, 12, 12, &cr), -EBADMSG);
	e->hdr.dev = 0;
	KUNIT_EXPECT_EQ(test, va_msg_ev_config(b, len, 12, &cr), -EBADMSG);
}

static void ev_dev_checks(struct kunit *test)
{
	struct virtio_argo_ev_dev e[2] = {};
	struct va_ev_dev ev;

	e[0].index = cpu_to_le32(3);
	KUNIT_EXPECT_EQ(test, va_msg_ev_dev(VIRTIO_ARGO_T_EV_DEV_ADDED, e,
					    sizeof(e[0]), &ev), 0);
	KUNIT_EXPECT_EQ(test, ev.index, 3U);
	e[0].index = cpu_to_le32(VIRTIO_ARGO_MAX_DEVICES);
	KUNIT_EXPECT_EQ(test, va_msg_ev_dev(VIRTIO_ARGO_T_EV_DEV_ADDED, e,
					    sizeof(e[0]), &ev), -EBADMSG);

	/* REMOVED needs a device handle; ADDED ignores it. */
	KUNIT_EXPECT_EQ(test, va_msg_ev_dev(VIRTIO_ARGO_T_EV_DEV_REMOVED, e,
					    sizeof(e[0]), &ev), -EBADMSG);
	e[0].hdr.dev = cpu_to_le32(5);
	KUNIT_EXPECT_EQ(test, va_msg_ev_dev(VIRTIO_ARGO_T_EV_DEV_REMOVED, e,
					    sizeof(e[0]), &ev), 0);
	KUNIT_EXPECT_EQ(test, ev.dev, 5U);

	KUNIT_EXPECT_EQ(test, va_msg_ev_dev(VIRTIO_ARGO_T_EV_DEV_REMOVED, e,
					    sizeof(e[0]) - 1, &ev), -EBADMSG);
	KUNIT_EXPECT_EQ(test, va_msg_ev_dev(VIRTIO_ARGO_T_EV_DEV_REMOVED, e,
					    sizeof(e[0]) + 8, &ev), -EBADMSG);
	KUNIT_EXPECT_EQ(test, va_msg_ev_dev(VIRTIO_ARGO_T_EV_CONFIG, e,
					    sizeof(e[0]), &ev), -EBADMSG);
}

/* ------------------------------------------------------------------ */
/* Completions                                                        */
/* ------------------------------------------------------------------ */

static void vak_data(struct virtio_argo_data *d, u16 nrec, u32 data_off)
{
	d->hdr.dev = cpu_to_le32(5);
	d->hdr.tag = cpu_to_le32(0x1234);
	d->nrec = cpu_to_le16(nrec);
	d->reserved = 0;
	d->data_off = cpu_to_le32(data_off);
}

static void data_hdr_valid(struct kunit *test)
{
	struct virtio_argo_data d;
	struct va_data_hdr h;
	u32 off = sizeof(d) + 2 * sizeof(struct virtio_argo_comp);

	vak_data(&d, 2, off);
	KUNIT_ASSERT_EQ(test, va_msg_data_hdr(&d, off + 100, &h), 0);
	KUNIT_EXPECT_EQ(test, h.nrec, 2);
	KUNIT_EXPECT_EQ(test, h.data_off, off);
	KUNIT_EXPECT_EQ(test, h.session, 0x1234U);
	KUNIT_EXPECT_EQ(test, h.dev, 5U);
	/* No data at all is fine: records of chains that wrote nothing. */
	KUNIT_EXPECT_EQ(test, va_msg_data_hdr(&d, off, &h), 0);
}

static void data_hdr_malformed_variants(struct kunit *test)
{
	struct virtio_argo_data d;
	struct va_data_hdr h;
	u32 off = sizeof(d) + 2 * sizeof(struct virtio_argo_comp);

	vak_data(&d, 2, off);
	KUNIT_EXPECT_EQ(test, va_msg_data_hdr(&d, sizeof(d) - 1, &h),
			-EBADMSG);
	/* data_off beyond the message. */
	KUNIT_EXPECT_EQ(test, va_msg_data_hdr(&d, off - 8, &h), -EBADMSG);
	vak_data(&d, 0, off);
	KUNIT_EXPECT_EQ(test, va_msg_data_hdr(&d, off, &h), -EBADMSG);
	/* Records running past data_off. */
	vak_data(&d, 3, off);
	KUNIT_EXPECT_EQ(test, va_msg_data_hdr(&d, off + 64, &h), -EBADMSG);
	vak_data(&d, 0xffff, off);
	KUNIT_EXPECT_EQ(test, va_msg_data_hdr(&d, off + 64, &h), -EBADMSG);
	vak_data(&d, 2, off + 4);
	KUNIT_EXPECT_EQ(test, va_msg_data_hdr(&d, off + 64, &h), -EBADMSG);
	vak_data(&d, 2, off);
	d.hdr.tag = 0;
	KUNIT_EXPECT_EQ(test, va_msg_data_hdr(&d, off, &h), -EBADMSG);
	vak_data(&d, 2, off);
	d.hdr.dev = 0;
	KUNIT_EXPECT_EQ(test, va_msg_data_hdr(&d, off, &h), -EBADMSG);
}

static void vak_comp(struct virtio_argo_comp *r, u16 flags, u32 written,
		     u32 off, u32 len)
{
	memset(r, 0, sizeof(*r));
	r->queue = cpu_to_le16(1);
	r->id = cpu_to_le16(17);
	r->flags = cpu_to_le16(flags);
	r->written = cpu_to_le32(written);
	r->offset = cpu_to_le32(off);
	r->len = cpu_to_le32(len);
}

static void comp_record_valid(struct kunit *test)
{
	struct virtio_argo_comp r;
	struct va_comp c;

	vak_comp(&r, VIRTIO_ARGO_CHAIN_FIRST | VIRTIO_ARGO_CHAIN_LAST, 512, 0,
		 512);
	KUNIT_ASSERT_EQ(test, va_msg_comp(&r, &c), 0);
	KUNIT_EXPECT_EQ(test, c.queue, 1);
	KUNIT_EXPECT_EQ(test, c.id, 17);
	KUNIT_EXPECT_EQ(test, c.written, 512U);
	KUNIT_EXPECT_EQ(test, c.len, 512U);

	/* A chain that wrote nothing. */
	vak_comp(&r, VIRTIO_ARGO_CHAIN_FIRST | VIRTIO_ARGO_CHAIN_LAST, 0, 0, 0);
	KUNIT_EXPECT_EQ(test, va_msg_comp(&r, &c), 0);
	/* A middle record and a last one. */
	vak_comp(&r, 0, 0, 4096, 4096);
	KUNIT_EXPECT_EQ(test, va_msg_comp(&r, &c), 0);
	vak_comp(&r, VIRTIO_ARGO_CHAIN_LAST, 8192 + 10, 8192, 10);
	KUNIT_EXPECT_EQ(test, va_msg_comp(&r, &c), 0);
}

static void comp_record_malformed_variants(struct kunit *test)
{
	struct virtio_argo_comp r;
	struct va_comp c;

	vak_comp(&r, 0x4 | VIRTIO_ARGO_CHAIN_LAST, 1, 0, 1);
	KUNIT_EXPECT_EQ(test, va_msg_comp(&r, &c), -EBADMSG);
	/* written on a record that is not the last. */
	vak_comp(&r, VIRTIO_ARGO_CHAIN_FIRST, 1, 0, 1);
	KUNIT_EXPECT_EQ(test, va_msg_comp(&r, &c), -EBADMSG);
	/* written not equal to the bytes carried. */
	vak_comp(&r, VIRTIO_ARGO_CHAIN_FIRST | VIRTIO_ARGO_CHAIN_LAST, 2, 0, 1);
	KUNIT_EXPECT_EQ(test, va_msg_comp(&r, &c), -EBADMSG);
	vak_comp(&r, VIRTIO_ARGO_CHAIN_LAST, 10, 100, 10);
	KUNIT_EXPECT_EQ(test, va_msg_comp(&r, &c), -EBADMSG);
	/* A first record that does not start at 0. */
	vak_comp(&r, VIRTIO_ARGO_CHAIN_FIRST, 0, 8, 8);
	KUNIT_EXPECT_EQ(test, va_msg_comp(&r, &c), -EBADMSG);
	/* Beyond the protocol's chain size, and an overflowing range. */
	vak_comp(&r, 0, 0, 0, VIRTIO_ARGO_MAX_CHAIN_BYTES + 1);
	KUNIT_EXPECT_EQ(test, va_msg_comp(&r, &c), -EBADMSG);
	vak_comp(&r, 0, 0, 0xfffffff0, 0x20);
	KUNIT_EXPECT_EQ(test, va_msg_comp(&r, &c), -EBADMSG);
	vak_comp(&r, VIRTIO_ARGO_CHAIN_LAST, 0x10, 0xfffffff0, 0x20);
	KUNIT_EXPECT_EQ(test, va_msg_comp(&r, &c), -EBADMSG);
}

static void comp_continues_chain_state(struct kunit *test)
{
	struct va_comp c = {
		.flags = VIRTIO_ARGO_CHAIN_FIRST,
		.offset = 0,
		.len = 100,
	};

	/* First record: FIRST exactly when nothing came before. */
	KUNIT_EXPECT_EQ(test, va_msg_comp_continues(&c, false, 0, 100), 0);
	KUNIT_EXPECT_EQ(test, va_msg_comp_continues(&c, true, 0, 100),
			-EBADMSG);
	c.flags = 0;
	KUNIT_EXPECT_EQ(test, va_msg_comp_continues(&c, false, 0, 100),
			-EBADMSG);

	/* Continuation: starts where the last ended, stays in in_len. */
	c.offset = 100;
	c.len = 50;
	KUNIT_EXPECT_EQ(test, va_msg_comp_continues(&c, true, 100, 150), 0);
	KUNIT_EXPECT_EQ(test, va_msg_comp_continues(&c, true, 90, 150),
			-EBADMSG);
	KUNIT_EXPECT_EQ(test, va_msg_comp_continues(&c, true, 100, 149),
			-EBADMSG);
	KUNIT_EXPECT_EQ(test, va_msg_comp_continues(&c, true, 100, 50),
			-EBADMSG);
}

static struct kunit_case va_msg_cases[] = {
	KUNIT_CASE(reply_ok_is_accepted),
	KUNIT_CASE(reply_error_status_is_not_malformed),
	KUNIT_CASE(reply_too_short_is_malformed),
	KUNIT_CASE(reply_unknown_status_is_malformed),
	KUNIT_CASE(status_maps_to_errno),
	KUNIT_CASE(hello_reply_valid),
	KUNIT_CASE(hello_reply_wrong_length_is_malformed),
	KUNIT_CASE(hello_reply_bad_fields_are_malformed),
	KUNIT_CASE(hello_reply_features_proposed_are_taken),
	KUNIT_CASE(dev_info_reply_valid),
	KUNIT_CASE(dev_info_reply_length_must_be_exact),
	KUNIT_CASE(dev_info_reply_bad_counts_are_malformed),
	KUNIT_CASE(dev_info_reply_bad_queue_sizes_are_malformed),
	KUNIT_CASE(dev_info_reply_bad_fields_are_malformed),
	KUNIT_CASE(empty_reply_length_must_be_exact),
	KUNIT_CASE(set_status_reply_checks),
	KUNIT_CASE(config_reply_valid),
	KUNIT_CASE(config_reply_malformed_variants),
	KUNIT_CASE(ev_config_valid),
	KUNIT_CASE(ev_config_malformed_variants),
	KUNIT_CASE(ev_dev_checks),
	KUNIT_CASE(data_hdr_valid),
	KUNIT_CASE(data_hdr_malformed_variants),
	KUNIT_CASE(comp_record_valid),
	KUNIT_CASE(comp_record_malformed_variants),
	KUNIT_CASE(comp_continues_chain_state),
	{}
};

static struct kunit_suite va_msg_suite = {
	.name = "virtio_argo_msg",
	.test_cases = va_msg_cases,
};

/* ------------------------------------------------------------------ */
/* DMA mapping                                                        */
/* ------------------------------------------------------------------ */

static void dma_map_page_gives_phys_address(struct kunit *test)
{
	u8 *buf = kunit_kzalloc(test, 300, GFP_KERNEL);
	struct page *page;
	unsigned long off;
	dma_addr_t addr;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	page = virt_to_page(buf);
	off = offset_in_page(buf);
	addr = va_dma_ops.map_page(NULL, page, off, 300, DMA_BIDIRECTIONAL, 0);
	KUNIT_EXPECT_EQ(test, (u64)addr, (u64)virt_to_phys(buf));
	KUNIT_EXPECT_PTR_EQ(test, va_dma_to_virt(addr, 300), (void *)buf);
	va_dma_ops.unmap_page(NULL, addr, 300, DMA_BIDIRECTIONAL, 0);
	/* No bounce buffer: the memory is still ours, unchanged. */
	buf[10] = 0x5a;
	KUNIT_EXPECT_EQ(test, ((u8 *)va_dma_to_virt(addr, 300))[10], 0x5a);
}

static void dma_map_sg_maps_every_entry(struct kunit *test)
{
	struct scatterlist sg[3];
	void *bufs[3];
	struct scatterlist *s;
	int i, n;

	sg_init_table(sg, 3);
	for (i = 0; i < 3; i++) {
		bufs[i] = kunit_kzalloc(test, 64 << i, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, bufs[i]);
		sg_set_buf(&sg[i], bufs[i], 64 << i);
	}
	n = va_dma_ops.map_sg(NULL, sg, 3, DMA_TO_DEVICE, 0);
	KUNIT_ASSERT_EQ(test, n, 3);
	for_each_sg(sg, s, n, i) {
		KUNIT_EXPECT_EQ(test, (u64)sg_dma_address(s),
				(u64)virt_to_phys(bufs[i]));
		KUNIT_EXPECT_EQ(test, sg_dma_len(s), 64U << i);
		KUNIT_EXPECT_PTR_EQ(test,
				    va_dma_to_virt(sg_dma_address(s),
						   sg_dma_len(s)), bufs[i]);
	}
	va_dma_ops.unmap_sg(NULL, sg, 3, DMA_TO_DEVICE, 0);
}

static void dma_alloc_is_zeroed_and_reachable(struct kunit *test)
{
	size_t size = 3 * PAGE_SIZE + 100;
	dma_addr_t handle = 0;
	u8 *p;
	size_t i;
	bool zero = true;

	p = va_dma_ops.alloc(NULL, size, &handle, GFP_KERNEL, 0);
	KUNIT_ASSERT_NOT_NULL(test, p);
	for (i = 0; i < size; i++)
		zero &= !p[i];
	KUNIT_EXPECT_TRUE(test, zero);
	KUNIT_EXPECT_EQ(test, (u64)handle, (u64)virt_to_phys(p));
	KUNIT_EXPECT_PTR_EQ(test, va_dma_to_virt(handle, size), (void *)p);
	/* Contiguous: the last byte is where the linear map says. */
	KUNIT_EXPECT_PTR_EQ(test, va_dma_to_virt(handle + size - 1, 1),
			    (void *)(p + size - 1));
	va_dma_ops.free(NULL, size, p, handle, 0);
}

static void dma_to_virt_rejects_bad_ranges(struct kunit *test)
{
	u8 *buf = kunit_kzalloc(test, 64, GFP_KERNEL);
	u64 phys;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	phys = virt_to_phys(buf);
	KUNIT_EXPECT_NULL(test, va_dma_to_virt(phys, 0));
	KUNIT_EXPECT_NULL(test, va_dma_to_virt(U64_MAX - 10, 100));
	KUNIT_EXPECT_NULL(test, va_dma_to_virt(1ULL << 52, 16));
	KUNIT_EXPECT_NOT_NULL(test, va_dma_to_virt(phys, 64));
}

static void dma_setup_sets_masks_and_ops(struct kunit *test)
{
	struct device *dev = kunit_kzalloc(test, sizeof(*dev), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, dev);
	va_dma_setup(dev);
	KUNIT_EXPECT_EQ(test, dev->coherent_dma_mask, DMA_BIT_MASK(64));
	KUNIT_ASSERT_NOT_NULL(test, dev->dma_mask);
	KUNIT_EXPECT_EQ(test, *dev->dma_mask, DMA_BIT_MASK(64));
	if (IS_ENABLED(CONFIG_DMA_OPS))
		KUNIT_EXPECT_PTR_EQ(test, get_dma_ops(dev), &va_dma_ops);
	else
		KUNIT_EXPECT_NULL(test, get_dma_ops(dev));
}

static struct kunit_case va_dma_cases[] = {
	KUNIT_CASE(dma_map_page_gives_phys_address),
	KUNIT_CASE(dma_map_sg_maps_every_entry),
	KUNIT_CASE(dma_alloc_is_zeroed_and_reachable),
	KUNIT_CASE(dma_to_virt_rejects_bad_ranges),
	KUNIT_CASE(dma_setup_sets_masks_and_ops),
	{}
};

static struct kunit_suite va_dma_suite = {
	.name = "virtio_argo_dma",
	.test_cases = va_dma_cases,
};

kunit_test_suites(&va_msg_suite, &va_dma_suite);

MODULE_DESCRIPTION("KUnit suites for virtio_argo's message checks and DMA");
MODULE_LICENSE("GPL");
