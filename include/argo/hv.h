/* SPDX-License-Identifier: MIT */
/*
 * Argo hypervisor interface: the structures and constants of Xen's
 * argo_op hypercall (Xen's public/argo.h), under the project's own names.
 *
 * These are facts of the ABI, not code: every size, offset and value here is
 * checked against Xen's header by tests/abi/.  The header is usable from the
 * kernel and from userspace (it needs only <linux/types.h>).
 *
 * Copyright (c) 2026 The virtio-argo authors
 */
#ifndef _ARGO_HV_H
#define _ARGO_HV_H

#include <linux/types.h>

/* Hypercall and virtual IRQ numbers (Linux 6.1 calls them "reserved"). */
#define ARGO_HV_HYPERCALL		39	/* __HYPERVISOR_argo_op */
#define ARGO_HV_VIRQ			11	/* VIRQ_ARGO */

/* Commands (the first hypercall argument). */
#define ARGO_HV_OP_REGISTER_RING	1
#define ARGO_HV_OP_UNREGISTER_RING	2
#define ARGO_HV_OP_SENDV		3
#define ARGO_HV_OP_NOTIFY		4

/* Domain ids with a meaning of their own. */
#define ARGO_HV_DOMID_SELF		0x7ff0
#define ARGO_HV_DOMID_INVALID		0x7ff4
#define ARGO_HV_DOMID_ANY		ARGO_HV_DOMID_INVALID

/* Limits. */
#define ARGO_HV_MAX_RING_SIZE		0x1000000U	/* data area, bytes */
#define ARGO_HV_MIN_RING_SIZE		48U
#define ARGO_HV_MAXIOV			8U
#define ARGO_HV_MAX_RINGS		128U	/* per domain */
#define ARGO_HV_MAX_NOTIFY_COUNT	256U	/* entries in one notify */
#define ARGO_HV_MAX_PENDING_PER_RING	32U	/* space waiters */
#define ARGO_HV_MSG_SLOT_SIZE		0x10U
#define ARGO_HV_PAGE_SIZE		4096U	/* frames are always 4 KiB */
#define ARGO_HV_MAX_PAGES		4096U
/* Largest single iov and largest total payload of one sendv. */
#define ARGO_HV_MAX_MSG_SIZE		(ARGO_HV_MAX_RING_SIZE - 2 * 0x10U)

/* register_ring flags (fourth argument). */
#define ARGO_HV_REGISTER_FLAG_FAIL_EXIST	0x1U

/* notify entry flags, written by the hypervisor. */
#define ARGO_HV_RING_EXISTS		0x01U
#define ARGO_HV_RING_SHARED		0x02U
#define ARGO_HV_RING_EMPTY		0x04U
#define ARGO_HV_RING_SUFFICIENT		0x08U
#define ARGO_HV_RING_EMSGSIZE		0x10U
#define ARGO_HV_RING_EBUSY		0x20U

typedef __u32 argo_hv_port_t;
typedef __u64 argo_hv_gfn_t;

struct argo_hv_iov {
	__u64 iov_hnd;		/* guest virtual address of the bytes */
	__u32 iov_len;
	__u32 pad;		/* must be 0 */
};

struct argo_hv_addr {
	argo_hv_port_t aport;
	__u16 domain_id;
	__u16 pad;		/* must be 0 */
};

struct argo_hv_send_addr {
	struct argo_hv_addr src;
	struct argo_hv_addr dst;
};

/* The first 64 bytes of a ring's first page; the data area follows. */
struct argo_hv_ring {
	__u32 rx_ptr;		/* owned by the guest that registered it */
	__u32 tx_ptr;		/* owned by the hypervisor */
	__u8 reserved[56];
	__u8 ring[];
};

#define ARGO_HV_RING_HEADER_SIZE	64U

struct argo_hv_register_ring {
	argo_hv_port_t aport;
	__u16 partner_id;
	__u16 pad;		/* must be 0 */
	__u32 len;		/* data area size in bytes */
};

struct argo_hv_unregister_ring {
	argo_hv_port_t aport;
	__u16 partner_id;
	__u16 pad;		/* must be 0 */
};

struct argo_hv_ring_data_ent {
	struct argo_hv_addr ring;
	__u16 flags;		/* written by the hypervisor */
	__u16 pad;
	__u32 space_required;
	__u32 max_message_size;	/* written by the hypervisor */
};

struct argo_hv_ring_data {
	__u32 nent;
	__u32 pad;
	struct argo_hv_ring_data_ent data[];
};

/* Header of every message in a ring; the payload follows. */
struct argo_hv_msg_hdr {
	__u32 len;		/* payload + 16 */
	struct argo_hv_addr source;	/* stamped by the hypervisor */
	__u32 message_type;
};

#define ARGO_HV_MSG_HDR_SIZE		16U

/* Bytes a message of @payload bytes takes in a ring, header included. */
#define ARGO_HV_MSG_SPACE(payload) \
	(((__u64)(payload) + ARGO_HV_MSG_HDR_SIZE + ARGO_HV_MSG_SLOT_SIZE - 1) & \
	 ~(__u64)(ARGO_HV_MSG_SLOT_SIZE - 1))

/* Number of 4 KiB frames a ring of data area @len must be registered with. */
#define ARGO_HV_RING_NPAGES(len) \
	((((((__u64)(len) + ARGO_HV_MSG_SLOT_SIZE - 1) & \
	    ~(__u64)(ARGO_HV_MSG_SLOT_SIZE - 1)) + ARGO_HV_RING_HEADER_SIZE) + \
	  ARGO_HV_PAGE_SIZE - 1) / ARGO_HV_PAGE_SIZE)

/* Largest payload a ring of data area @len accepts. */
#define ARGO_HV_RING_MAX_PAYLOAD(len)	((len) - 2 * ARGO_HV_MSG_SLOT_SIZE)

#endif /* _ARGO_HV_H */
