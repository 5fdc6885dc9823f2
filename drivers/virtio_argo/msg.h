/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio_argo: checks of every message a backend sends.
 *
 * Each function takes the bytes of one message (or of one record) exactly
 * as they came from the peer, checks every field against
 * Documentation/virtio-argo-protocol.rst and, only if all of them pass,
 * fills a host-endian description.  They have no side effects and keep no
 * state, so that KUnit can feed them every malformed variant.
 *
 * They return 0, or -EBADMSG for a malformed message.  A well-formed reply
 * whose status is not OK is not malformed: va_msg_reply() returns its
 * status and va_status_errno() the matching errno.
 */
#ifndef _VIRTIO_ARGO_MSG_H
#define _VIRTIO_ARGO_MSG_H

#include <linux/types.h>
#include <uapi/argo/virtio_argo.h>

/* Largest control message of version 1 (DEV_INFO reply, full): 440. */
#define VA_CTRL_MSG_MAX	512

/* The protocol features the frontend proposes in HELLO. */
#define VA_PROTO_FEATURES	VIRTIO_ARGO_F_OUT_NOCOMP

struct va_hello_info {
	u16 version;
	u16 num_devices;
	u32 features;
	u32 max_msg;
};

struct va_dev_desc {
	u32 dev;
	u32 device_id;
	u32 vendor_id;
	u32 generation;
	u64 features;
	u16 num_queues;
	u16 config_len;
	u32 data_port;
	u32 data_ring;
	u16 queue_max[VIRTIO_ARGO_MAX_QUEUES];
	u8 config[VIRTIO_ARGO_MAX_CONFIG];
};

/* A configuration range: CONFIG_WRITE/READ replies and EV_CONFIG. */
struct va_config_range {
	u32 generation;
	u16 offset;
	u16 len;
	const u8 *bytes;	/* points into the message */
};

struct va_ev_dev {
	u32 dev;
	u32 index;
};

struct va_data_hdr {
	u32 dev;
	u32 session;
	u16 nrec;
	u32 data_off;
};

struct va_comp {
	u16 queue;
	u16 id;
	u16 flags;
	u32 written;
	u32 offset;
	u32 len;
};

int va_status_errno(u32 status);

int va_msg_reply(const void *buf, size_t len, u32 *status);
int va_msg_hello_reply(const void *buf, size_t len, struct va_hello_info *hi);
int va_msg_dev_info_reply(const void *buf, size_t len, struct va_dev_desc *d);
int va_msg_empty_reply(const void *buf, size_t len);
int va_msg_set_status_reply(const void *buf, size_t len, u8 *status);
int va_msg_config_reply(const void *buf, size_t len, u16 config_len,
			struct va_config_range *cr);
int va_msg_ev_config(const void *buf, size_t len, u16 config_len,
		     struct va_config_range *cr);
int va_msg_ev_dev(u32 type, const void *buf, size_t len,
		  struct va_ev_dev *ev);
int va_msg_data_hdr(const void *buf, size_t msg_len, struct va_data_hdr *h);
int va_msg_comp(const void *buf, struct va_comp *c);
int va_msg_comp_continues(const struct va_comp *c, bool started, u32 done,
			  u32 in_len);

#endif /* _VIRTIO_ARGO_MSG_H */
