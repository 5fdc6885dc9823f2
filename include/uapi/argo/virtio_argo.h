/* SPDX-License-Identifier: MIT */
/*
 * virtio-argo wire protocol, version 1.
 *
 * The VirtIO transport over Argo: how a frontend (the guest that runs the
 * virtio drivers) and a backend (the domain that implements the devices)
 * talk.  Documentation/virtio-argo-protocol.rst is the specification; this
 * header is its one definition, shared by the Linux transport and the
 * userspace backend, and usable by any other implementation.
 *
 * Every field is little-endian, every structure has a fixed size with
 * explicit padding, and every structure starts on an 8-byte boundary of
 * the message payload.  The Argo message type carries the protocol message
 * type; the payload starts with struct virtio_argo_hdr.
 *
 * Copyright (c) 2026 The virtio-argo authors
 */
#ifndef _UAPI_ARGO_VIRTIO_ARGO_H
#define _UAPI_ARGO_VIRTIO_ARGO_H

#include <linux/types.h>

#define VIRTIO_ARGO_VERSION		1

/* The backend's control ring listens on this Argo port. */
#define VIRTIO_ARGO_PORT_CTRL		0x76a10000U
/* Backend data rings: VIRTIO_ARGO_PORT_DATA_BASE + device index. */
#define VIRTIO_ARGO_PORT_DATA_BASE	0x76a20000U

/* Limits of version 1.  A message that exceeds one is malformed. */
#define VIRTIO_ARGO_MAX_DEVICES		256	/* per frontend */
#define VIRTIO_ARGO_MAX_QUEUES		64	/* per device */
#define VIRTIO_ARGO_MAX_QUEUE_SIZE	1024	/* descriptors per queue */
#define VIRTIO_ARGO_MAX_CONFIG		256	/* configuration space bytes */
#define VIRTIO_ARGO_MAX_CHAIN_DESC	1024	/* descriptors in one chain */
#define VIRTIO_ARGO_MAX_CHAIN_BYTES	(16U << 20)	/* per direction */
#define VIRTIO_ARGO_MIN_MSG		4096	/* smallest message to accept */

/*
 * Argo message types.  A reply has the request's type with
 * VIRTIO_ARGO_REPLY set; events and data messages have no reply.
 */
enum virtio_argo_type {
	/* Control requests, frontend to the backend's control port. */
	VIRTIO_ARGO_T_HELLO		= 0x0001,
	VIRTIO_ARGO_T_DEV_INFO		= 0x0002,
	VIRTIO_ARGO_T_ATTACH		= 0x0003,
	VIRTIO_ARGO_T_DETACH		= 0x0004,
	VIRTIO_ARGO_T_SET_FEATURES	= 0x0005,
	VIRTIO_ARGO_T_SET_STATUS	= 0x0006,
	VIRTIO_ARGO_T_QUEUE_SETUP	= 0x0007,
	VIRTIO_ARGO_T_RESET		= 0x0008,
	VIRTIO_ARGO_T_CONFIG_WRITE	= 0x0009,
	VIRTIO_ARGO_T_CONFIG_READ	= 0x000a,
	VIRTIO_ARGO_T_PING		= 0x000b,

	/* Events, backend to the frontend's control port. */
	VIRTIO_ARGO_T_EV_CONFIG		= 0x0101,
	VIRTIO_ARGO_T_EV_DEV_ADDED	= 0x0102,
	VIRTIO_ARGO_T_EV_DEV_REMOVED	= 0x0103,

	/* Data, between a device's data rings. */
	VIRTIO_ARGO_T_DATA_REQ		= 0x0201,	/* frontend to backend */
	VIRTIO_ARGO_T_DATA_COMP		= 0x0202,	/* backend to frontend */
};

#define VIRTIO_ARGO_REPLY		0x80000000U

/*
 * The name of control request @type (without VIRTIO_ARGO_REPLY), for
 * messages about it; "request" if it is not one.
 */
static inline const char *virtio_argo_req_name(__u32 type)
{
	switch (type) {
	case VIRTIO_ARGO_T_HELLO:
		return "HELLO";
	case VIRTIO_ARGO_T_DEV_INFO:
		return "DEV_INFO";
	case VIRTIO_ARGO_T_ATTACH:
		return "ATTACH";
	case VIRTIO_ARGO_T_DETACH:
		return "DETACH";
	case VIRTIO_ARGO_T_SET_FEATURES:
		return "SET_FEATURES";
	case VIRTIO_ARGO_T_SET_STATUS:
		return "SET_STATUS";
	case VIRTIO_ARGO_T_QUEUE_SETUP:
		return "QUEUE_SETUP";
	case VIRTIO_ARGO_T_RESET:
		return "RESET";
	case VIRTIO_ARGO_T_CONFIG_WRITE:
		return "CONFIG_WRITE";
	case VIRTIO_ARGO_T_CONFIG_READ:
		return "CONFIG_READ";
	case VIRTIO_ARGO_T_PING:
		return "PING";
	default:
		return "request";
	}
}

/* Status of a reply. */
enum virtio_argo_status {
	VIRTIO_ARGO_S_OK		= 0,
	VIRTIO_ARGO_S_INVAL		= 1,	/* malformed or out of bounds */
	VIRTIO_ARGO_S_NODEV		= 2,	/* unknown device */
	VIRTIO_ARGO_S_UNSUPP		= 3,	/* unknown type or version */
	VIRTIO_ARGO_S_STATE		= 4,	/* not valid in this state */
	VIRTIO_ARGO_S_IO		= 5,	/* the device failed */
	VIRTIO_ARGO_S_DENIED		= 6,	/* this frontend may not */
};

/* Starts every payload. */
struct virtio_argo_hdr {
	__le32 dev;		/* device handle; 0: the connection itself */
	__le32 tag;		/* request: non-zero, echoed in its reply */
};

/* Starts every reply, after the header. */
struct virtio_argo_reply {
	struct virtio_argo_hdr hdr;
	__le32 status;		/* enum virtio_argo_status */
	__le32 reserved;
};

/*
 * Protocol features, proposed by the frontend in HELLO and accepted (a
 * subset) in its reply.
 *
 * OUT_NOCOMP: a chain without device-writable buffers (in_len 0) is
 * completed by the frontend as soon as its last record is sent; the backend
 * sends no completion for it and frees its id once it has the whole chain.
 */
#define VIRTIO_ARGO_F_OUT_NOCOMP	0x1U
#define VIRTIO_ARGO_F_ALL		VIRTIO_ARGO_F_OUT_NOCOMP

/* HELLO: open the connection and agree on a version. */
struct virtio_argo_hello {
	struct virtio_argo_hdr hdr;	/* dev = 0 */
	__le16 version_min;
	__le16 version_max;
	__le32 features;	/* protocol features proposed */
	__le32 ctrl_ring;	/* frontend control ring bytes (informative) */
	__le32 reserved;
};

struct virtio_argo_hello_reply {
	struct virtio_argo_reply r;
	__le16 version;		/* chosen, within [min, max] */
	__le16 num_devices;	/* indexes 0 .. num_devices - 1 */
	__le32 features;	/* accepted protocol features */
	__le32 max_msg;		/* largest message its control ring takes */
	__le32 reserved;
};

/* DEV_INFO: describe the device at an index. */
struct virtio_argo_dev_info {
	struct virtio_argo_hdr hdr;	/* dev = 0 */
	__le32 index;
	__le32 reserved;
};

/*
 * Followed by num_queues __le16 maximum queue sizes, padded with zeros to
 * a multiple of 8 bytes, then config_len bytes of configuration space
 * (the snapshot at config_generation).
 */
struct virtio_argo_dev_info_reply {
	struct virtio_argo_reply r;
	__le32 dev;		/* handle for every later message, non-zero */
	__le32 device_id;	/* virtio device id, e.g. 2 for block */
	__le32 vendor_id;
	__le32 config_generation;
	__le64 device_features;	/* offered feature bits */
	__le16 num_queues;	/* 1 .. VIRTIO_ARGO_MAX_QUEUES */
	__le16 config_len;	/* 0 .. VIRTIO_ARGO_MAX_CONFIG */
	__le32 data_port;	/* backend data ring for this frontend */
	__le32 data_ring;	/* its size in bytes */
	__le32 reserved;
};

/* ATTACH: the frontend's data ring for this device is ready. */
struct virtio_argo_attach {
	struct virtio_argo_hdr hdr;
	__le32 data_port;	/* frontend data ring port */
	__le32 data_ring;	/* its size in bytes */
};

/* DETACH, RESET and PING carry only the header; their replies too. */

struct virtio_argo_set_features {
	struct virtio_argo_hdr hdr;
	__le64 features;	/* driver features, a subset of the offer */
};

struct virtio_argo_set_status {
	struct virtio_argo_hdr hdr;
	__le32 status;		/* virtio device status byte */
	__le32 reserved;
};

struct virtio_argo_set_status_reply {
	struct virtio_argo_reply r;
	__le32 status;		/* device status after the write */
	__le32 reserved;
};

#define VIRTIO_ARGO_QUEUE_ENABLE	0x1

struct virtio_argo_queue_setup {
	struct virtio_argo_hdr hdr;
	__le16 queue;
	__le16 size;		/* power of two, <= the device's maximum */
	__le32 flags;		/* VIRTIO_ARGO_QUEUE_ENABLE */
};

/* CONFIG_WRITE is followed by len bytes; CONFIG_READ by nothing. */
struct virtio_argo_config_access {
	struct virtio_argo_hdr hdr;
	__le32 offset;
	__le32 len;
};

/* Reply to both, and EV_CONFIG: followed by len bytes from offset. */
struct virtio_argo_config_reply {
	struct virtio_argo_reply r;
	__le32 generation;
	__le16 offset;
	__le16 len;
};

struct virtio_argo_ev_config {
	struct virtio_argo_hdr hdr;	/* tag = 0 */
	__le32 generation;
	__le16 offset;
	__le16 len;
};

struct virtio_argo_ev_dev {
	struct virtio_argo_hdr hdr;	/* dev: the device; tag = 0 */
	__le32 index;
	__le32 reserved;
};

/*
 * Data path.  DATA_REQ (frontend to backend) and DATA_COMP (backend to
 * frontend) share one layout: a virtio_argo_data header, nrec records, and
 * at data_off the data area, which holds each record's len bytes in record
 * order with no padding between them.  Keeping the bytes apart from the
 * records lets a sender point one Argo iov at all the records and the rest
 * straight at the chains' buffers.
 *
 * hdr.tag is the frontend's session of the device: non-zero, changed by
 * the frontend at every ATTACH and after every RESET.  A completion echoes
 * the session of the request it answers; the frontend drops completions of
 * another session.
 *
 * A chain larger than one message is split into records that carry
 * consecutive ranges of its bytes (offset = bytes carried so far) in
 * messages sent in order; the first has CHAIN_FIRST and the descriptor
 * table, the last CHAIN_LAST.  Records of different chains may interleave.
 */
struct virtio_argo_data {
	struct virtio_argo_hdr hdr;	/* dev; tag: session */
	__le16 nrec;		/* records that follow, >= 1 */
	__le16 reserved;
	__le32 data_off;	/* payload offset of the data area, 8-aligned */
};

#define VIRTIO_ARGO_CHAIN_FIRST		0x1
#define VIRTIO_ARGO_CHAIN_LAST		0x2

/* A DATA_REQ record; CHAIN_FIRST ones are followed by ndesc descriptors. */
struct virtio_argo_chain {
	__le16 queue;
	__le16 flags;		/* CHAIN_FIRST, CHAIN_LAST */
	__le16 id;		/* chain id: descriptor head, < queue size */
	__le16 ndesc;		/* CHAIN_FIRST: descriptors following; else 0 */
	__le32 out_len;		/* driver-readable bytes in the chain */
	__le32 in_len;		/* device-writable bytes in the chain */
	__le32 offset;		/* of this record's bytes in the out bytes */
	__le32 len;		/* out bytes of this record in the data area */
};

#define VIRTIO_ARGO_DESC_WRITE		0x1

/* The chain's layout, after indirect tables are flattened. */
struct virtio_argo_desc {
	__le32 len;
	__le32 flags;		/* VIRTIO_ARGO_DESC_WRITE: device-writable */
};

/* A DATA_COMP record. */
struct virtio_argo_comp {
	__le16 queue;
	__le16 flags;		/* CHAIN_FIRST, CHAIN_LAST */
	__le16 id;
	__le16 reserved;
	__le32 written;		/* CHAIN_LAST: total bytes written; else 0 */
	__le32 offset;		/* of this record's bytes in the in bytes */
	__le32 len;		/* in bytes of this record in the data area */
	__le32 reserved2;
};

/* Smallest data ring: a first record with a full descriptor table fits. */
#define VIRTIO_ARGO_MIN_DATA_RING	16384

#define VIRTIO_ARGO_ALIGN(x)		(((x) + 7) & ~7U)

#endif /* _UAPI_ARGO_VIRTIO_ARGO_H */
