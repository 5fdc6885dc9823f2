// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_argo: checks of every message a backend sends (see msg.h).
 *
 * A value is used only after the function that reads it has checked it
 * against the protocol's limits; nothing here trusts a length, count,
 * offset or index from the message.
 */
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/string.h>
#include <asm/byteorder.h>

#include "msg.h"

int va_status_errno(u32 status)
{
	switch (status) {
	case VIRTIO_ARGO_S_OK:
		return 0;
	case VIRTIO_ARGO_S_INVAL:
		return -EINVAL;
	case VIRTIO_ARGO_S_NODEV:
		return -ENODEV;
	case VIRTIO_ARGO_S_UNSUPP:
		return -EOPNOTSUPP;
	case VIRTIO_ARGO_S_STATE:
		return -EBUSY;
	case VIRTIO_ARGO_S_DENIED:
		return -EACCES;
	case VIRTIO_ARGO_S_IO:
	default:
		return -EIO;
	}
}

/*
 * The common part of every reply: long enough for struct virtio_argo_reply
 * and a known status.  Replies with a status other than OK carry nothing
 * else that the frontend reads, so any length from there on is accepted.
 */
int va_msg_reply(const void *buf, size_t len, u32 *status)
{
	const struct virtio_argo_reply *r = buf;
	u32 s;

	if (len < sizeof(*r))
		return -EBADMSG;
	s = le32_to_cpu(r->status);
	if (s > VIRTIO_ARGO_S_DENIED)
		return -EBADMSG;
	*status = s;
	return 0;
}

int va_msg_hello_reply(const void *buf, size_t len, struct va_hello_info *hi)
{
	const struct virtio_argo_hello_reply *r = buf;
	u16 version, num;

	if (len != sizeof(*r))
		return -EBADMSG;
	version = le16_to_cpu(r->version);
	num = le16_to_cpu(r->num_devices);
	if (version != VIRTIO_ARGO_VERSION)
		return -EBADMSG;
	if (num > VIRTIO_ARGO_MAX_DEVICES)
		return -EBADMSG;
	/* A protocol feature we did not propose is bogus. */
	if (le32_to_cpu(r->features) & ~VA_PROTO_FEATURES)
		return -EBADMSG;
	hi->features = le32_to_cpu(r->features);
	hi->version = version;
	hi->num_devices = num;
	hi->max_msg = le32_to_cpu(r->max_msg);
	return 0;
}

int va_msg_dev_info_reply(const void *buf, size_t len, struct va_dev_desc *d)
{
	const struct virtio_argo_dev_info_reply *r = buf;
	const __le16 *qmax = (const __le16 *)(r + 1);
	const u8 *p = buf;
	size_t qbytes, need;
	u16 nq, clen;
	unsigned int i;

	if (len < sizeof(*r))
		return -EBADMSG;
	nq = le16_to_cpu(r->num_queues);
	clen = le16_to_cpu(r->config_len);
	if (nq < 1 || nq > VIRTIO_ARGO_MAX_QUEUES)
		return -EBADMSG;
	if (clen > VIRTIO_ARGO_MAX_CONFIG)
		return -EBADMSG;
	qbytes = VIRTIO_ARGO_ALIGN(2 * nq);
	need = sizeof(*r) + qbytes + clen;
	if (len != need)
		return -EBADMSG;
	if (!r->dev || !r->device_id)
		return -EBADMSG;
	if (le32_to_cpu(r->data_ring) < VIRTIO_ARGO_MIN_DATA_RING)
		return -EBADMSG;
	for (i = 0; i < nq; i++) {
		u16 q = le16_to_cpu(qmax[i]);

		if (!q || q > VIRTIO_ARGO_MAX_QUEUE_SIZE || !is_power_of_2(q))
			return -EBADMSG;
		d->queue_max[i] = q;
	}
	d->dev = le32_to_cpu(r->dev);
	d->device_id = le32_to_cpu(r->device_id);
	d->vendor_id = le32_to_cpu(r->vendor_id);
	d->generation = le32_to_cpu(r->config_generation);
	d->features = le64_to_cpu(r->device_features);
	d->num_queues = nq;
	d->config_len = clen;
	d->data_port = le32_to_cpu(r->data_port);
	d->data_ring = le32_to_cpu(r->data_ring);
	memset(d->config, 0, sizeof(d->config));
	memcpy(d->config, p + sizeof(*r) + qbytes, clen);
	return 0;
}

/* ATTACH, DETACH, SET_FEATURES, QUEUE_SETUP, RESET and PING. */
int va_msg_empty_reply(const void *buf, size_t len)
{
	return len == sizeof(struct virtio_argo_reply) ? 0 : -EBADMSG;
}

int va_msg_set_status_reply(const void *buf, size_t len, u8 *status)
{
	const struct virtio_argo_set_status_reply *r = buf;
	u32 s;

	if (len != sizeof(*r))
		return -EBADMSG;
	s = le32_to_cpu(r->status);
	if (s > 0xff)
		return -EBADMSG;
	*status = s;
	return 0;
}

static int va_msg_range(u32 gen, u16 off, u16 rlen, const u8 *bytes,
			size_t avail, u16 config_len,
			struct va_config_range *cr)
{
	if (avail != rlen)
		return -EBADMSG;
	if ((u32)off + rlen > config_len)
		return -EBADMSG;
	cr->generation = gen;
	cr->offset = off;
	cr->len = rlen;
	cr->bytes = bytes;
	return 0;
}

int va_msg_config_reply(const void *buf, size_t len, u16 config_len,
			struct va_config_range *cr)
{
	const struct virtio_argo_config_reply *r = buf;

	if (len < sizeof(*r))
		return -EBADMSG;
	return va_msg_range(le32_to_cpu(r->generation),
			    le16_to_cpu(r->offset), le16_to_cpu(r->len),
			    (const u8 *)buf + sizeof(*r), len - sizeof(*r),
			    config_len, cr);
}

int va_msg_ev_config(const void *buf, size_t len, u16 config_len,
		     struct va_config_range *cr)
{
	const struct virtio_argo_ev_config *e = buf;

	if (len < sizeof(*e))
		return -EBADMSG;
	if (!e->hdr.dev)
		return -EBADMSG;
	return va_msg_range(le32_to_cpu(e->generation),
			    le16_to_cpu(e->offset), le16_to_cpu(e->len),
			    (const u8 *)buf + sizeof(*e), len - sizeof(*e),
			    config_len, cr);
}

int va_msg_ev_dev(u32 type, const void *buf, size_t len,
		  struct va_ev_dev *ev)
{
	const struct virtio_argo_ev_dev *e = buf;
	u32 index;

	if (len != sizeof(*e))
		return -EBADMSG;
	index = le32_to_cpu(e->index);
	switch (type) {
	case VIRTIO_ARGO_T_EV_DEV_ADDED:
		if (index >= VIRTIO_ARGO_MAX_DEVICES)
			return -EBADMSG;
		break;
	case VIRTIO_ARGO_T_EV_DEV_REMOVED:
		if (!e->hdr.dev)
			return -EBADMSG;
		break;
	default:
		return -EBADMSG;
	}
	ev->dev = le32_to_cpu(e->hdr.dev);
	ev->index = index;
	return 0;
}

/*
 * The fixed part of a DATA_COMP: @buf holds its first
 * sizeof(struct virtio_argo_data) bytes, @msg_len is the whole payload.
 * The records must fit between the header and data_off, and data_off in
 * the message; that the data area holds exactly the records' bytes is
 * checked once the records have been read.
 */
int va_msg_data_hdr(const void *buf, size_t msg_len, struct va_data_hdr *h)
{
	const struct virtio_argo_data *d = buf;
	u16 nrec;
	u32 off;

	if (msg_len < sizeof(*d))
		return -EBADMSG;
	nrec = le16_to_cpu(d->nrec);
	off = le32_to_cpu(d->data_off);
	if (!nrec || !d->hdr.tag || !d->hdr.dev)
		return -EBADMSG;
	if (off % 8 || off > msg_len)
		return -EBADMSG;
	if (off < sizeof(*d) + (size_t)nrec * sizeof(struct virtio_argo_comp))
		return -EBADMSG;
	h->dev = le32_to_cpu(d->hdr.dev);
	h->session = le32_to_cpu(d->hdr.tag);
	h->nrec = nrec;
	h->data_off = off;
	return 0;
}

/* One completion record, on its own: flags, and sizes within the limits. */
int va_msg_comp(const void *buf, struct va_comp *c)
{
	const struct virtio_argo_comp *r = buf;
	u16 flags = le16_to_cpu(r->flags);
	u32 written = le32_to_cpu(r->written);
	u32 off = le32_to_cpu(r->offset);
	u32 len = le32_to_cpu(r->len);

	if (flags & ~(VIRTIO_ARGO_CHAIN_FIRST | VIRTIO_ARGO_CHAIN_LAST))
		return -EBADMSG;
	if (off > VIRTIO_ARGO_MAX_CHAIN_BYTES ||
	    len > VIRTIO_ARGO_MAX_CHAIN_BYTES - off)
		return -EBADMSG;
	if (flags & VIRTIO_ARGO_CHAIN_LAST) {
		/* written is the total: the end of the last range. */
		if (written != off + len)
			return -EBADMSG;
	} else if (written) {
		return -EBADMSG;
	}
	if ((flags & VIRTIO_ARGO_CHAIN_FIRST) && off)
		return -EBADMSG;
	c->queue = le16_to_cpu(r->queue);
	c->id = le16_to_cpu(r->id);
	c->flags = flags;
	c->written = written;
	c->offset = off;
	c->len = len;
	return 0;
}

/*
 * A record against its chain: @started says whether a record of the chain
 * has already arrived, @done how many bytes they carried, @in_len the
 * chain's writable bytes.  The record must start the chain (CHAIN_FIRST)
 * exactly when none came before, continue it where the last one ended and
 * stay within the writable space.
 */
int va_msg_comp_continues(const struct va_comp *c, bool started, u32 done,
			  u32 in_len)
{
	bool first = c->flags & VIRTIO_ARGO_CHAIN_FIRST;

	if (first == started)
		return -EBADMSG;
	if (c->offset != done)
		return -EBADMSG;
	if (c->offset > in_len || c->len > in_len - c->offset)
		return -EBADMSG;
	return 0;
}
