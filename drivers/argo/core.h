/* SPDX-License-Identifier: GPL-2.0 */
/*
 * argo.ko core internals shared by core.c and ring.c.
 *
 * Lock hierarchy (outer first):
 *   argo_domains_lock (mutex)   creation of struct argo_domain
 *   argo_domain.mutex           the domain's endpoint list (writers), ring
 *                               (re)registration, the tx wake-up work
 *   argo_endpoint.rx_lock       draining of one ring (mutex)
 *   argo_endpoint.tx_lock       one endpoint's space waits (spinlock, irqsave)
 *
 * argo_core_signal() may run in hard interrupt context: it walks the
 * endpoint list under RCU only and takes no lock.
 */
#ifndef _ARGO_CORE_H
#define _ARGO_CORE_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <argo/argo.h>
#include <argo/provider.h>

/* Distinct destinations one endpoint can wait on for space at once. */
#define ARGO_TX_WAITS		4

struct argo_domain {
	u16 domid;
	struct mutex mutex;		/* endpoints list writers, registration */
	struct list_head endpoints;	/* RCU readers, writers hold mutex */
	/* Bumped by every signal; lets a sender see a signal it raced with. */
	atomic_t signal_seq;
	atomic_t nr_waits;		/* space waits over all endpoints */
	/* Set when a signal asks tx_work to run; a run without it polls. */
	atomic_t tx_prompted;
	struct delayed_work tx_work;
};

struct argo_tx_wait {
	u16 domain;
	u32 port;
	u32 space;		/* payload bytes the failed send needed */
	u32 gen;		/* bumped each time the wait is re-armed */
	bool used;
	bool retry;		/* not queued in the hypervisor (-EBUSY) */
};

struct argo_endpoint {
	struct argo_domain *dom;
	struct list_head node;
	u32 port;
	u16 partner;
	u32 ring_len;			/* data area, bytes */
	unsigned int npages;		/* 4 KiB frames */
	struct argo_hv_ring *ring;	/* vmalloc'd header + data area */
	argo_hv_gfn_t *gfns;
	const struct argo_endpoint_ops *ops;
	void *priv;

	struct mutex rx_lock;		/* serialises draining and rx_ptr */
	u32 rx_ptr;			/* private copy, the only one trusted */
	struct work_struct rx_work;

	spinlock_t tx_lock;		/* waits[] and wait_overflow */
	struct argo_tx_wait waits[ARGO_TX_WAITS];
	bool wait_overflow;		/* a wait did not fit: wake on any signal */

	atomic64_t rx_msgs, rx_bytes, tx_msgs, tx_bytes;
	atomic64_t tx_eagain, tx_ready, tx_rescued, ring_errors;
};

extern struct workqueue_struct *argo_wq;

/* ring.c */
int argo_ring_alloc(struct argo_endpoint *ep);
void argo_ring_free(struct argo_endpoint *ep);
int argo_ring_register(struct argo_endpoint *ep, u32 flags);
void argo_ring_unregister(struct argo_endpoint *ep);
bool argo_ring_has_data(struct argo_endpoint *ep);
int argo_ring_drain(struct argo_endpoint *ep,
		    enum argo_rx_action (*fn)(struct argo_endpoint *ep,
					      const struct argo_msg *msg,
					      void *arg),
		    void *arg, unsigned int budget, bool *more);

#endif /* _ARGO_CORE_H */
