/* SPDX-License-Identifier: GPL-2.0 */
/*
 * argo.ko: in-kernel endpoint API over Argo, the hypervisor-mediated message
 * channel.
 *
 * An endpoint is one receive ring registered with the hypervisor for a local
 * port and a partner domain (or any domain), plus the right to send messages
 * to any (domain, port).  The core allocates, registers, drains and notifies
 * the ring; its users see whole messages.
 *
 * Contexts, ordering and locking:
 *  - argo_endpoint_open() and argo_endpoint_close() sleep.
 *  - argo_send() and argo_send_sg() never sleep and may be called in atomic
 *    context, including with spinlocks held and interrupts off.  They return
 *    the payload length on success, or a negative errno.  -EAGAIN means the
 *    destination ring is full: the hypervisor has queued a space wake-up for
 *    this endpoint, and ops->tx_ready will be called once the destination's
 *    owner has drained its ring; retry then.
 *  - ops->rx is called for each received message in ring order, in process
 *    context from the endpoint's own work item, never concurrently with
 *    itself nor with argo_recv() on the same endpoint.  Different endpoints
 *    are drained concurrently, so one slow endpoint never stalls another.
 *    The message's bytes are valid only during the call.  The callback may
 *    sleep briefly, but a callback that blocks stalls its own ring.
 *  - ops->rx returns ARGO_RX_CONSUME to consume the message and go on,
 *    ARGO_RX_CONSUME_STOP to consume it and stop draining for now, or
 *    ARGO_RX_KEEP to leave it (and every later one) in the ring.  Draining
 *    resumes, starting with the kept message, at the next signal, the next
 *    argo_endpoint_kick() or argo_recv(): a user that keeps messages kicks
 *    when it can take them.  A ring whose messages are kept fills up, and
 *    senders see -EAGAIN: that is the flow control.
 *  - ops->rx_ready, if set and ops->rx is not, is called instead of draining
 *    when messages are waiting: the user then calls argo_recv().
 *  - ops->tx_ready is called in process context from a work item, at most
 *    once per -EAGAIN returned by a send.  It may call argo_send().
 *  - After argo_endpoint_close() returns, no callback runs or will run.
 *
 * Every value read from the ring header is sanitised by the core; message
 * payloads come from a peer and are the user's to check.  The source domain
 * of a message is stamped by the hypervisor and can be trusted.
 */
#ifndef _ARGO_ARGO_H
#define _ARGO_ARGO_H

#include <linux/types.h>
#include <argo/hv.h>

struct argo_endpoint;
struct scatterlist;
struct kvec;
struct iov_iter;

#define ARGO_DOMID_SELF		ARGO_HV_DOMID_SELF
#define ARGO_DOMID_ANY		ARGO_HV_DOMID_ANY

/* Ring sizes accepted by argo_endpoint_open(): bytes of data area. */
#define ARGO_RING_SIZE_MIN	ARGO_HV_MIN_RING_SIZE
/*
 * 16 MiB of data area would need 4097 frames with the header, one more than
 * Xen registers, so the largest usable ring is 16 MiB - 64.
 */
#define ARGO_RING_SIZE_MAX	(ARGO_HV_MAX_RING_SIZE - ARGO_HV_RING_HEADER_SIZE)
#define ARGO_MAX_SEGS		ARGO_HV_MAXIOV

/* A received message.  Fields are valid only during the callback. */
struct argo_msg {
	u16 src_domain;		/* stamped by the hypervisor */
	u32 src_port;		/* sender's free label */
	u32 type;		/* message type */
	u32 len;		/* payload bytes */
	/* private: the payload may wrap at the end of the ring */
	const u8 *part[2];
	u32 part_len[2];
};

enum argo_rx_action {
	ARGO_RX_CONSUME = 0,
	ARGO_RX_CONSUME_STOP,
	ARGO_RX_KEEP,
};

struct argo_endpoint_ops {
	enum argo_rx_action (*rx)(struct argo_endpoint *ep,
				  const struct argo_msg *msg, void *priv);
	void (*rx_ready)(struct argo_endpoint *ep, void *priv);
	void (*tx_ready)(struct argo_endpoint *ep, void *priv);
};

struct argo_endpoint_cfg {
	/*
	 * ARGO_DOMID_SELF for the domain the kernel runs in; under the
	 * loopback provider, the virtual domain the endpoint acts as.
	 */
	u16 domain;
	u32 port;		/* local port the ring is registered on */
	u16 partner;		/* domain allowed to send, or ARGO_DOMID_ANY */
	u32 ring_size;		/* data area: multiple of 16, 48 to 16 MiB - 64 */
	const struct argo_endpoint_ops *ops;
	void *priv;
};

/* Per-endpoint counters, for tests and for users' statistics. */
struct argo_endpoint_stats {
	u64 rx_msgs;
	u64 rx_bytes;
	u64 tx_msgs;
	u64 tx_bytes;
	u64 tx_eagain;
	u64 tx_ready;
	u64 tx_rescued;		/* space waits ended by the poll, not a signal */
	u64 ring_errors;	/* corrupt ring header or message: dropped */
};

struct argo_endpoint *argo_endpoint_open(const struct argo_endpoint_cfg *cfg);
void argo_endpoint_close(struct argo_endpoint *ep);

u16 argo_endpoint_domain(const struct argo_endpoint *ep);
u32 argo_endpoint_port(const struct argo_endpoint *ep);
void argo_endpoint_get_stats(struct argo_endpoint *ep,
			     struct argo_endpoint_stats *stats);

int argo_send(struct argo_endpoint *ep, u16 dst_domain, u32 dst_port,
	      u32 type, const struct kvec *vec, unsigned int nvec);
int argo_send_sg(struct argo_endpoint *ep, u16 dst_domain, u32 dst_port,
		 u32 type, struct scatterlist *sgl, unsigned int nents);

/*
 * Largest payload the ring at (@dst_domain, @dst_port) accepts from this
 * endpoint's domain, in *@max.  -ECONNREFUSED if there is no such ring.
 * Sleeps.
 */
int argo_max_msg_size(struct argo_endpoint *ep, u16 dst_domain, u32 dst_port,
		      u32 *max);

/*
 * Drain up to @budget messages (0: no limit) through @fn, in the caller's
 * context (may sleep: serialised with ops->rx by a mutex).  Returns the
 * number of messages consumed, or a negative errno.
 */
int argo_recv(struct argo_endpoint *ep,
	      enum argo_rx_action (*fn)(struct argo_endpoint *ep,
					const struct argo_msg *msg, void *arg),
	      void *arg, unsigned int budget);

/* True if the ring holds at least one message. */
bool argo_endpoint_readable(struct argo_endpoint *ep);

/* Schedule the endpoint's receive work, e.g. after returning ARGO_RX_KEEP. */
void argo_endpoint_kick(struct argo_endpoint *ep);

/* Copy @len payload bytes from offset @off; returns bytes copied. */
size_t argo_msg_copy(const struct argo_msg *msg, size_t off, void *dst,
		     size_t len);
size_t argo_msg_copy_to_iter(const struct argo_msg *msg, size_t off,
			     size_t len, struct iov_iter *iter);

/* Name of the provider in use ("xen" or "loopback"). */
const char *argo_provider_name(void);
/*
 * The domain an endpoint opened with @domain acts as (ARGO_DOMID_SELF: this
 * kernel's own), or a negative errno if the provider has no such domain.
 */
int argo_domain_id(u16 domain);
/* Space waits the core's poll ended, over all endpoints (0 normally). */
u64 argo_tx_rescued(void);

#endif /* _ARGO_ARGO_H */
