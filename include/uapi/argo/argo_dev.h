/* SPDX-License-Identifier: MIT */
/*
 * /dev/argo: Argo endpoints for userspace, the ioctl ABI.
 *
 * One open file of /dev/argo is one endpoint: bind it once to a local port
 * (and a partner domain, or any), then send whole messages to any
 * (domain, port) and receive whole messages from its ring.  See
 * Documentation/argo-dev.rst for every ioctl, its fields and its errors.
 *
 * Every structure has the same size and layout on 32-bit and 64-bit
 * userspace: fields are naturally aligned, padding is explicit, and user
 * pointers travel as __u64.  Fields named pad, flags or reserved must be
 * zero on input (-EINVAL otherwise) so that they can be given a meaning
 * later; the kernel writes them as zero.
 *
 * Copyright (c) 2026 The virtio-argo authors
 */
#ifndef _UAPI_ARGO_ARGO_DEV_H
#define _UAPI_ARGO_ARGO_DEV_H

#include <linux/types.h>
#include <linux/ioctl.h>

/* Domain ids with a meaning of their own (Xen's DOMID_SELF, DOMID_INVALID). */
#define ARGO_DEV_DOMID_SELF	0x7ff0	/* bind: the domain we run in */
#define ARGO_DEV_DOMID_ANY	0x7ff4	/* bind: accept any sender */
#define ARGO_DEV_DOMID_FIRST_RESERVED	0x7ff0	/* real ids are below */

/*
 * Ring data area, bytes: a multiple of 16 in [MIN, MAX].  The largest is
 * 64 bytes short of 16 MiB: with the 64-byte ring header, 16 MiB would
 * need one page more than the hypervisor registers.
 */
#define ARGO_DEV_RING_SIZE_MIN	48U
#define ARGO_DEV_RING_SIZE_MAX	(0x1000000U - 64U)
#define ARGO_DEV_RING_ALIGN	16U

/* Largest payload any ring accepts; a ring of size L accepts L - 32. */
#define ARGO_DEV_MAX_MSG_SIZE	(ARGO_DEV_RING_SIZE_MAX - 32U)

/* Most messages in one ARGO_DEV_IOC_SENDV or ARGO_DEV_IOC_RECVV. */
#define ARGO_DEV_MAX_BATCH	64U

#define ARGO_DEV_PROVIDER_LEN	16

/* ARGO_DEV_IOC_BIND: make this file an endpoint.  Once per file. */
struct argo_dev_bind {
	__u32 port;		/* local port to receive on */
	__u16 partner;		/* sender allowed, or ARGO_DEV_DOMID_ANY */
	__u16 domain;		/* ARGO_DEV_DOMID_SELF; loopback: any */
	__u32 ring_size;	/* receive ring data area, bytes */
	__u32 flags;		/* must be 0 */
	__u64 reserved[2];	/* must be 0 */
};

/* Message flags (struct argo_dev_msg.flags). */
#define ARGO_DEV_MSG_DONTWAIT	0x1	/* this message only: as O_NONBLOCK */
#define ARGO_DEV_MSG_FLAGS	ARGO_DEV_MSG_DONTWAIT

/*
 * One message, sent or received.
 *
 * Send: buf/len is the payload, (domain, port) the destination, type the
 * message type.
 * Receive: buf/len is the buffer and its capacity on input; on output len
 * is the payload length, (domain, port) the source (the domain is stamped
 * by the hypervisor and can be trusted; the port is the sender's label) and
 * type the message type.  A message larger than len is not truncated: the
 * call fails with -EMSGSIZE, writes the needed length to len and leaves the
 * message in the ring.
 */
struct argo_dev_msg {
	__u64 buf;		/* user address of the payload */
	__u32 len;
	__u32 type;
	__u32 port;
	__u16 domain;
	__u16 flags;		/* ARGO_DEV_MSG_*; others must be 0 */
	__u64 reserved;		/* must be 0 */
};

/*
 * ARGO_DEV_IOC_SENDV / ARGO_DEV_IOC_RECVV: up to ARGO_DEV_MAX_BATCH
 * messages, done in order.  The call returns how many were done; it stops
 * at the first message that fails, and returns that message's error only
 * if it was the first one.
 */
struct argo_dev_batch {
	__u64 msgs;		/* user address of struct argo_dev_msg[count] */
	__u32 count;
	__u32 flags;		/* must be 0 */
};

/* ARGO_DEV_IOC_MAX_MSG_SIZE: largest payload (domain, port) accepts now. */
struct argo_dev_max_size {
	__u32 port;		/* in: destination port */
	__u16 domain;		/* in: destination domain */
	__u16 pad;		/* must be 0 */
	__u32 max_size;		/* out: bytes */
	__u32 reserved;		/* must be 0 */
};

/* struct argo_dev_info.flags */
#define ARGO_DEV_INFO_BOUND	0x1	/* port, partner, ring_size valid */

/* ARGO_DEV_IOC_INFO: the provider and this endpoint. */
struct argo_dev_info {
	char provider[ARGO_DEV_PROVIDER_LEN];	/* "xen", "loopback"; NUL ended */
	__u16 domain;		/* domain the endpoint acts (or would act) as */
	__u16 partner;
	__u32 port;
	__u32 ring_size;
	__u32 flags;		/* ARGO_DEV_INFO_* */
	__u32 max_batch;	/* ARGO_DEV_MAX_BATCH */
	__u32 max_msg_size;	/* ARGO_DEV_MAX_MSG_SIZE */
	__u64 tx_rescued;	/* space waits the core's once-a-second poll
				 * ended, over every endpoint of this kernel
				 * (0 in normal operation)
				 */
	__u64 reserved;
};

/* ARGO_DEV_IOC_STATS: counters of a bound endpoint. */
struct argo_dev_stats {
	__u64 rx_msgs;
	__u64 rx_bytes;
	__u64 tx_msgs;
	__u64 tx_bytes;
	__u64 tx_eagain;	/* sends refused for space */
	__u64 tx_ready;		/* space wake-ups received */
	__u64 ring_errors;	/* malformed messages dropped by the kernel */
	__u64 tx_rescued;	/* space waits the once-a-second poll ended:
				 * a wake-up from the hypervisor was lost or
				 * late (0 in normal operation)
				 */
};

#define ARGO_DEV_IOC_MAGIC	0xA7

#define ARGO_DEV_IOC_BIND	_IOW(ARGO_DEV_IOC_MAGIC, 0x01, struct argo_dev_bind)
#define ARGO_DEV_IOC_SEND	_IOW(ARGO_DEV_IOC_MAGIC, 0x02, struct argo_dev_msg)
#define ARGO_DEV_IOC_RECV	_IOWR(ARGO_DEV_IOC_MAGIC, 0x03, struct argo_dev_msg)
#define ARGO_DEV_IOC_SENDV	_IOW(ARGO_DEV_IOC_MAGIC, 0x04, struct argo_dev_batch)
#define ARGO_DEV_IOC_RECVV	_IOW(ARGO_DEV_IOC_MAGIC, 0x05, struct argo_dev_batch)
#define ARGO_DEV_IOC_MAX_MSG_SIZE \
	_IOWR(ARGO_DEV_IOC_MAGIC, 0x06, struct argo_dev_max_size)
#define ARGO_DEV_IOC_INFO	_IOR(ARGO_DEV_IOC_MAGIC, 0x07, struct argo_dev_info)
#define ARGO_DEV_IOC_STATS	_IOR(ARGO_DEV_IOC_MAGIC, 0x08, struct argo_dev_stats)

#endif /* _UAPI_ARGO_ARGO_DEV_H */
