// SPDX-License-Identifier: GPL-2.0
/*
 * argo.ko: the core of the Argo endpoint API.
 *
 * Argo lets domains exchange messages through rings that the hypervisor
 * writes into, with no memory shared between them.  This module wraps the
 * argo_op hypercall behind endpoints (include/argo/argo.h) and runs on one
 * provider chosen at load:
 *
 *   provider=auto      xen when running on Xen, loopback otherwise (default)
 *   provider=xen       the real hypercall; the load fails if Argo is absent
 *   provider=loopback  a software hypervisor with virtual domains (tests,
 *                      demos, machines without Xen)
 *
 * Each (virtual) domain the kernel acts as has a struct argo_domain with the
 * endpoints registered in it.  VIRQ_ARGO carries no ring id, so on every
 * signal the core queues the receive work of each endpoint whose ring holds
 * data, and the domain's space work if any sender waits for space.
 *
 * Flow control: a send to a full ring returns -EAGAIN and the hypervisor
 * queues a space wake-up; the core remembers the destination and, on later
 * signals, asks the hypervisor (notify with space_required) whether the
 * destination has room, then calls the endpoint's tx_ready.  A receiver
 * always notifies after consuming, which is what wakes remote senders.
 */

#define pr_fmt(fmt) "argo: " fmt

#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/rculist.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/xarray.h>
#ifdef CONFIG_XEN
#include <xen/xen.h>
#endif
#include "core.h"

static char *provider = "auto";
module_param(provider, charp, 0444);
MODULE_PARM_DESC(provider, "Argo provider: auto (default), xen or loopback");

const struct argo_provider *argo_prov;
struct workqueue_struct *argo_wq;
/* Space waits the poll ended, over all domains: see argo_tx_query(). */
static atomic64_t argo_rescued = ATOMIC64_INIT(0);

u64 argo_tx_rescued(void)
{
	return atomic64_read(&argo_rescued);
}
EXPORT_SYMBOL_GPL(argo_tx_rescued);

static DEFINE_XARRAY(argo_domains);
static DEFINE_MUTEX(argo_domains_lock);

/* Messages drained per run of an endpoint's work before it yields. */
#define ARGO_RX_BUDGET		64
/* Retry interval for space waits the hypervisor refused to queue. */
#define ARGO_TX_RETRY		msecs_to_jiffies(10)
/*
 * While any sender waits for space, the domain asks the hypervisor about
 * its waits at least this often.  Xen drops queued space wake-ups without
 * a signal when the destination ring is unregistered (its owner closed it
 * or died), so without this a sender blocked on a vanished ring would
 * wait for ever; with it, it is woken within a second, retries and gets
 * -ECONNREFUSED.
 */
#define ARGO_TX_POLL		HZ

static void argo_tx_work(struct work_struct *work);
static void argo_rx_work(struct work_struct *work);

static struct argo_domain *argo_domain_get(u16 domid)
{
	struct argo_domain *dom;
	int ret;

	mutex_lock(&argo_domains_lock);
	dom = xa_load(&argo_domains, domid);
	if (dom)
		goto out;
	dom = kzalloc(sizeof(*dom), GFP_KERNEL);
	if (!dom) {
		dom = ERR_PTR(-ENOMEM);
		goto out;
	}
	dom->domid = domid;
	mutex_init(&dom->mutex);
	INIT_LIST_HEAD(&dom->endpoints);
	INIT_DELAYED_WORK(&dom->tx_work, argo_tx_work);
	ret = xa_err(xa_store(&argo_domains, domid, dom, GFP_KERNEL));
	if (ret) {
		kfree(dom);
		dom = ERR_PTR(ret);
	}
out:
	mutex_unlock(&argo_domains_lock);
	return dom;
}

void argo_core_signal(u16 domid)
{
	struct argo_endpoint *ep;
	struct argo_domain *dom;

	rcu_read_lock();
	dom = xa_load(&argo_domains, domid);
	if (!dom)
		goto out;
	atomic_inc(&dom->signal_seq);
	/* Pairs with the barrier in argo_tx_wait_add(). */
	smp_mb__after_atomic();
	list_for_each_entry_rcu(ep, &dom->endpoints, node)
		if (argo_ring_has_data(ep))
			queue_work(argo_wq, &ep->rx_work);
	if (atomic_read(&dom->nr_waits)) {
		atomic_set(&dom->tx_prompted, 1);
		mod_delayed_work(argo_wq, &dom->tx_work, 0);
	}
out:
	rcu_read_unlock();
}

/* Tell the hypervisor we consumed, so that blocked senders are woken. */
static void argo_notify_consumed(struct argo_endpoint *ep)
{
	long ret;

	ret = argo_prov->op(ep->dom->domid, ARGO_HV_OP_NOTIFY, NULL, NULL, 0, 0);
	if (ret)
		pr_warn_ratelimited("notify from domain %u: %ld\n",
				    ep->dom->domid, ret);
}

static enum argo_rx_action argo_rx_cb(struct argo_endpoint *ep,
				      const struct argo_msg *msg, void *arg)
{
	return ep->ops->rx(ep, msg, ep->priv);
}

static void argo_rx_work(struct work_struct *work)
{
	struct argo_endpoint *ep = container_of(work, struct argo_endpoint,
						rx_work);
	bool more = false;
	int n;

	if (!ep->ops->rx) {
		if (ep->ops->rx_ready && argo_ring_has_data(ep))
			ep->ops->rx_ready(ep, ep->priv);
		return;
	}
	mutex_lock(&ep->rx_lock);
	n = argo_ring_drain(ep, argo_rx_cb, NULL, ARGO_RX_BUDGET, &more);
	mutex_unlock(&ep->rx_lock);
	if (n)
		argo_notify_consumed(ep);
	if (more)
		queue_work(argo_wq, &ep->rx_work);
}

int argo_recv(struct argo_endpoint *ep,
	      enum argo_rx_action (*fn)(struct argo_endpoint *ep,
					const struct argo_msg *msg, void *arg),
	      void *arg, unsigned int budget)
{
	bool more;
	int n;

	might_sleep();
	mutex_lock(&ep->rx_lock);
	n = argo_ring_drain(ep, fn, arg, budget, &more);
	mutex_unlock(&ep->rx_lock);
	if (n)
		argo_notify_consumed(ep);
	return n;
}
EXPORT_SYMBOL_GPL(argo_recv);

bool argo_endpoint_readable(struct argo_endpoint *ep)
{
	return argo_ring_has_data(ep);
}
EXPORT_SYMBOL_GPL(argo_endpoint_readable);

void argo_endpoint_kick(struct argo_endpoint *ep)
{
	queue_work(argo_wq, &ep->rx_work);
}
EXPORT_SYMBOL_GPL(argo_endpoint_kick);

/*
 * Remember that a send to (@domain, @port) of @space payload bytes was
 * refused for space.  Any context.
 */
static void argo_tx_wait_add(struct argo_endpoint *ep, u16 domain, u32 port,
			     u32 space, int seq, bool retry)
{
	struct argo_domain *dom = ep->dom;
	struct argo_tx_wait *w, *free = NULL;
	unsigned long flags;
	int i;

	spin_lock_irqsave(&ep->tx_lock, flags);
	for (i = 0; i < ARGO_TX_WAITS; i++) {
		w = &ep->waits[i];
		if (!w->used) {
			free = free ? free : w;
			continue;
		}
		if (w->domain == domain && w->port == port)
			break;
	}
	if (i == ARGO_TX_WAITS) {
		w = free;
		if (w) {
			w->used = true;
			w->domain = domain;
			w->port = port;
			atomic_inc(&dom->nr_waits);
		} else if (!ep->wait_overflow) {
			ep->wait_overflow = true;
			atomic_inc(&dom->nr_waits);
		}
	}
	if (w) {
		w->space = space;
		w->retry = retry;
		w->gen++;
	}
	spin_unlock_irqrestore(&ep->tx_lock, flags);

	/* Pairs with the barrier in argo_core_signal(). */
	smp_mb();
	if (atomic_read(&dom->signal_seq) != seq) {
		atomic_set(&dom->tx_prompted, 1);
		mod_delayed_work(argo_wq, &dom->tx_work, 0);
	} else {
		queue_delayed_work(argo_wq, &dom->tx_work,
				   retry ? ARGO_TX_RETRY : ARGO_TX_POLL);
	}
}

/* One notify entry being asked about, and where its answer goes. */
struct argo_tx_query {
	struct argo_endpoint *ep;
	int slot;
	u32 gen;
};

/*
 * Ask the hypervisor about up to 256 waits in one notify; wake the
 * endpoints whose destination has room (or is gone, or can never fit the
 * message: the retry then returns the real error).  Returns true if a wait
 * could not be queued in the hypervisor and must be retried by timer.
 *
 * @prompted: a signal asked for this run.  A wait the hypervisor had queued
 * that finds room in a run no signal asked for was rescued by the poll:
 * its wake-up was lost or late.  Counted, since it should never happen.
 */
static bool argo_tx_query(struct argo_domain *dom,
			  struct argo_hv_ring_data *rd,
			  struct argo_tx_query *q, unsigned int n,
			  bool prompted)
{
	bool retry = false;
	unsigned int i;
	long ret;

	rd->nent = n;
	rd->pad = 0;
	ret = argo_prov->op(dom->domid, ARGO_HV_OP_NOTIFY, rd, NULL, 0, 0);
	if (ret) {
		pr_warn_ratelimited("notify for %u space waits in domain %u: %ld\n",
				    n, dom->domid, ret);
		return true;
	}
	for (i = 0; i < n; i++) {
		struct argo_endpoint *ep = q[i].ep;
		u16 f = rd->data[i].flags;
		struct argo_tx_wait *w = &ep->waits[q[i].slot];
		bool wake = false;
		unsigned long flags;

		if (f & ARGO_HV_RING_EBUSY)
			retry = true;
		if (!(f & ARGO_HV_RING_EXISTS) ||
		    (f & (ARGO_HV_RING_SUFFICIENT | ARGO_HV_RING_EMSGSIZE))) {
			bool rescued = false;

			spin_lock_irqsave(&ep->tx_lock, flags);
			if (w->used && w->gen == q[i].gen) {
				w->used = false;
				atomic_dec(&dom->nr_waits);
				rescued = !prompted && !w->retry &&
					  (f & ARGO_HV_RING_EXISTS) &&
					  (f & ARGO_HV_RING_SUFFICIENT);
			}
			spin_unlock_irqrestore(&ep->tx_lock, flags);
			if (rescued) {
				atomic64_inc(&ep->tx_rescued);
				atomic64_inc(&argo_rescued);
			}
			wake = true;
		}
		if (wake && ep->ops->tx_ready) {
			atomic64_inc(&ep->tx_ready);
			ep->ops->tx_ready(ep, ep->priv);
		}
	}
	return retry;
}

static void argo_tx_work(struct work_struct *work)
{
	struct argo_domain *dom = container_of(to_delayed_work(work),
					       struct argo_domain, tx_work);
	const unsigned int max = ARGO_HV_MAX_NOTIFY_COUNT;
	struct argo_hv_ring_data *rd;
	struct argo_tx_query *q;
	struct argo_endpoint *ep;
	unsigned int n = 0;
	bool retry = false;
	bool prompted = atomic_xchg(&dom->tx_prompted, 0);

	rd = kzalloc(struct_size(rd, data, max), GFP_KERNEL);
	q = kcalloc(max, sizeof(*q), GFP_KERNEL);
	if (!rd || !q) {
		retry = true;
		goto out;
	}

	mutex_lock(&dom->mutex);
	list_for_each_entry(ep, &dom->endpoints, node) {
		bool overflow;
		unsigned long flags;
		int i;

		spin_lock_irqsave(&ep->tx_lock, flags);
		overflow = ep->wait_overflow;
		if (overflow) {
			ep->wait_overflow = false;
			atomic_dec(&dom->nr_waits);
		}
		for (i = 0; i < ARGO_TX_WAITS; i++) {
			struct argo_tx_wait *w = &ep->waits[i];
			struct argo_hv_ring_data_ent *e = &rd->data[n];

			if (!w->used)
				continue;
			memset(e, 0, sizeof(*e));
			e->ring.domain_id = w->domain;
			e->ring.aport = w->port;
			e->space_required = w->space;
			q[n].ep = ep;
			q[n].slot = i;
			q[n].gen = w->gen;
			if (++n == max) {
				spin_unlock_irqrestore(&ep->tx_lock, flags);
				retry |= argo_tx_query(dom, rd, q, n,
						       prompted);
				n = 0;
				spin_lock_irqsave(&ep->tx_lock, flags);
			}
		}
		spin_unlock_irqrestore(&ep->tx_lock, flags);
		/* Too many destinations to track: let the sender retry. */
		if (overflow && ep->ops->tx_ready) {
			atomic64_inc(&ep->tx_ready);
			ep->ops->tx_ready(ep, ep->priv);
		}
	}
	if (n)
		retry |= argo_tx_query(dom, rd, q, n, prompted);
	mutex_unlock(&dom->mutex);
out:
	kfree(q);
	kfree(rd);
	if (retry)
		queue_delayed_work(argo_wq, &dom->tx_work, ARGO_TX_RETRY);
	else if (atomic_read(&dom->nr_waits))
		queue_delayed_work(argo_wq, &dom->tx_work, ARGO_TX_POLL);
}

static void argo_report_refusal(const char *op, struct argo_endpoint *ep,
				long err)
{
	if (err == -EPERM)
		pr_err_ratelimited("%s: port %u partner %u in domain %u refused by the hypervisor's access control (-EPERM)\n",
				   op, ep->port, ep->partner, ep->dom->domid);
	else
		pr_debug("%s: port %u partner %u in domain %u: %ld\n",
			 op, ep->port, ep->partner, ep->dom->domid, err);
}

struct argo_endpoint *argo_endpoint_open(const struct argo_endpoint_cfg *cfg)
{
	struct argo_endpoint *ep;
	struct argo_domain *dom;
	int domid;
	long ret;

	might_sleep();
	if (!cfg->ops || (!cfg->ops->rx && !cfg->ops->rx_ready))
		return ERR_PTR(-EINVAL);
	if (cfg->ring_size < ARGO_RING_SIZE_MIN ||
	    cfg->ring_size > ARGO_RING_SIZE_MAX ||
	    cfg->ring_size % ARGO_HV_MSG_SLOT_SIZE)
		return ERR_PTR(-EINVAL);
	if (cfg->partner >= ARGO_HV_DOMID_SELF && cfg->partner != ARGO_DOMID_ANY)
		return ERR_PTR(-EINVAL);

	domid = argo_prov->domain(cfg->domain);
	if (domid < 0)
		return ERR_PTR(domid);
	dom = argo_domain_get(domid);
	if (IS_ERR(dom))
		return ERR_CAST(dom);

	ep = kzalloc(sizeof(*ep), GFP_KERNEL);
	if (!ep)
		return ERR_PTR(-ENOMEM);
	ep->dom = dom;
	ep->port = cfg->port;
	ep->partner = cfg->partner;
	ep->ring_len = cfg->ring_size;
	ep->ops = cfg->ops;
	ep->priv = cfg->priv;
	mutex_init(&ep->rx_lock);
	spin_lock_init(&ep->tx_lock);
	INIT_WORK(&ep->rx_work, argo_rx_work);

	ret = argo_ring_alloc(ep);
	if (ret)
		goto err_free;

	mutex_lock(&dom->mutex);
	/* FAIL_EXIST: never silently take over another user's ring. */
	ret = argo_ring_register(ep, ARGO_HV_REGISTER_FLAG_FAIL_EXIST);
	if (ret) {
		mutex_unlock(&dom->mutex);
		argo_report_refusal("register_ring", ep, ret);
		goto err_ring;
	}
	list_add_tail_rcu(&ep->node, &dom->endpoints);
	mutex_unlock(&dom->mutex);
	return ep;

err_ring:
	argo_ring_free(ep);
err_free:
	kfree(ep);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_GPL(argo_endpoint_open);

void argo_endpoint_close(struct argo_endpoint *ep)
{
	struct argo_domain *dom;
	unsigned long flags;
	int i;

	if (IS_ERR_OR_NULL(ep))
		return;
	might_sleep();
	dom = ep->dom;
	mutex_lock(&dom->mutex);
	list_del_rcu(&ep->node);
	argo_ring_unregister(ep);
	mutex_unlock(&dom->mutex);
	/* After this, argo_core_signal() cannot queue our work again. */
	synchronize_rcu();
	cancel_work_sync(&ep->rx_work);

	spin_lock_irqsave(&ep->tx_lock, flags);
	for (i = 0; i < ARGO_TX_WAITS; i++) {
		if (ep->waits[i].used)
			atomic_dec(&dom->nr_waits);
		ep->waits[i].used = false;
	}
	if (ep->wait_overflow)
		atomic_dec(&dom->nr_waits);
	ep->wait_overflow = false;
	spin_unlock_irqrestore(&ep->tx_lock, flags);

	argo_ring_free(ep);
	kfree(ep);
}
EXPORT_SYMBOL_GPL(argo_endpoint_close);

u16 argo_endpoint_domain(const struct argo_endpoint *ep)
{
	return ep->dom->domid;
}
EXPORT_SYMBOL_GPL(argo_endpoint_domain);

u32 argo_endpoint_port(const struct argo_endpoint *ep)
{
	return ep->port;
}
EXPORT_SYMBOL_GPL(argo_endpoint_port);

void argo_endpoint_get_stats(struct argo_endpoint *ep,
			     struct argo_endpoint_stats *st)
{
	st->rx_msgs = atomic64_read(&ep->rx_msgs);
	st->rx_bytes = atomic64_read(&ep->rx_bytes);
	st->tx_msgs = atomic64_read(&ep->tx_msgs);
	st->tx_bytes = atomic64_read(&ep->tx_bytes);
	st->tx_eagain = atomic64_read(&ep->tx_eagain);
	st->tx_ready = atomic64_read(&ep->tx_ready);
	st->tx_rescued = atomic64_read(&ep->tx_rescued);
	st->ring_errors = atomic64_read(&ep->ring_errors);
}
EXPORT_SYMBOL_GPL(argo_endpoint_get_stats);

static int argo_sendv(struct argo_endpoint *ep, u16 dst_domain, u32 dst_port,
		      u32 type, struct argo_hv_iov *iov, unsigned int niov,
		      u64 total)
{
	struct argo_hv_send_addr addr = {
		.src = { .aport = ep->port, .domain_id = ep->dom->domid },
		.dst = { .aport = dst_port, .domain_id = dst_domain },
	};
	int seq = atomic_read(&ep->dom->signal_seq);
	long ret;

	ret = argo_prov->op(ep->dom->domid, ARGO_HV_OP_SENDV, &addr, iov, niov,
			    type);
	if (ret >= 0) {
		atomic64_inc(&ep->tx_msgs);
		atomic64_add(ret, &ep->tx_bytes);
		return ret;
	}
	if (ret == -EAGAIN || ret == -EBUSY) {
		/*
		 * -EBUSY: too many senders already wait on that ring, so the
		 * hypervisor queued no wake-up for us; poll by timer instead.
		 * Either way the caller is promised a tx_ready.
		 *
		 * Wait for at least one byte: the hypervisor reports the space
		 * of a full ring (one free slot) as 0 payload bytes, which
		 * would "suffice" for an empty message that does not fit and
		 * wake the sender before anything was consumed.
		 */
		atomic64_inc(&ep->tx_eagain);
		argo_tx_wait_add(ep, dst_domain, dst_port,
				 clamp_t(u64, total, 1, U32_MAX), seq,
				 ret == -EBUSY);
		return -EAGAIN;
	}
	if (ret == -EPERM)
		pr_err_ratelimited("sendv from domain %u port %u to domain %u port %u refused by the hypervisor's access control (-EPERM)\n",
				   ep->dom->domid, ep->port, dst_domain,
				   dst_port);
	return ret;
}

int argo_send(struct argo_endpoint *ep, u16 dst_domain, u32 dst_port,
	      u32 type, const struct kvec *vec, unsigned int nvec)
{
	struct argo_hv_iov iov[ARGO_HV_MAXIOV];
	u64 total = 0;
	unsigned int i;

	if (nvec > ARGO_HV_MAXIOV)
		return -EINVAL;
	for (i = 0; i < nvec; i++) {
		if (vec[i].iov_len > ARGO_HV_MAX_MSG_SIZE)
			return -EMSGSIZE;
		iov[i].iov_hnd = (u64)(uintptr_t)vec[i].iov_base;
		iov[i].iov_len = vec[i].iov_len;
		iov[i].pad = 0;
		total += vec[i].iov_len;
	}
	return argo_sendv(ep, dst_domain, dst_port, type, iov, nvec, total);
}
EXPORT_SYMBOL_GPL(argo_send);

int argo_send_sg(struct argo_endpoint *ep, u16 dst_domain, u32 dst_port,
		 u32 type, struct scatterlist *sgl, unsigned int nents)
{
	struct argo_hv_iov iov[ARGO_HV_MAXIOV];
	struct scatterlist *sg;
	u64 total = 0;
	unsigned int i;

	if (nents > ARGO_HV_MAXIOV)
		return -EINVAL;
	for_each_sg(sgl, sg, nents, i) {
		if (sg->length > ARGO_HV_MAX_MSG_SIZE)
			return -EMSGSIZE;
		iov[i].iov_hnd = (u64)(uintptr_t)sg_virt(sg);
		iov[i].iov_len = sg->length;
		iov[i].pad = 0;
		total += sg->length;
	}
	return argo_sendv(ep, dst_domain, dst_port, type, iov, nents, total);
}
EXPORT_SYMBOL_GPL(argo_send_sg);

int argo_max_msg_size(struct argo_endpoint *ep, u16 dst_domain, u32 dst_port,
		      u32 *max)
{
	struct argo_hv_ring_data *rd;
	long ret;

	might_sleep();
	rd = kzalloc(struct_size(rd, data, 1), GFP_KERNEL);
	if (!rd)
		return -ENOMEM;
	rd->nent = 1;
	rd->data[0].ring.domain_id = dst_domain;
	rd->data[0].ring.aport = dst_port;
	ret = argo_prov->op(ep->dom->domid, ARGO_HV_OP_NOTIFY, rd, NULL, 0, 0);
	if (!ret && !(rd->data[0].flags & ARGO_HV_RING_EXISTS))
		ret = -ECONNREFUSED;
	if (!ret)
		*max = rd->data[0].max_message_size;
	kfree(rd);
	return ret;
}
EXPORT_SYMBOL_GPL(argo_max_msg_size);

void argo_core_reregister(u16 domid)
{
	struct argo_endpoint *ep;
	struct argo_domain *dom;
	long ret;

	might_sleep();
	dom = xa_load(&argo_domains, domid);
	if (!dom)
		return;
	mutex_lock(&dom->mutex);
	list_for_each_entry(ep, &dom->endpoints, node) {
		ret = argo_ring_register(ep, 0);
		if (ret)
			pr_err("register_ring again after resume: port %u partner %u in domain %u: %ld\n",
			       ep->port, ep->partner, domid, ret);
		queue_work(argo_wq, &ep->rx_work);
	}
	mutex_unlock(&dom->mutex);
	mod_delayed_work(argo_wq, &dom->tx_work, 0);
}

const char *argo_provider_name(void)
{
	return argo_prov->name;
}
EXPORT_SYMBOL_GPL(argo_provider_name);

int argo_domain_id(u16 domain)
{
	return argo_prov->domain(domain);
}
EXPORT_SYMBOL_GPL(argo_domain_id);

static const struct argo_provider *argo_pick_provider(void)
{
#ifdef CONFIG_XEN
	if (sysfs_streq(provider, "xen") ||
	    (sysfs_streq(provider, "auto") && xen_domain()))
		return &argo_xen_provider;
#else
	if (sysfs_streq(provider, "xen")) {
		pr_err("provider=xen: this kernel was built without Xen support\n");
		return ERR_PTR(-ENODEV);
	}
#endif
	if (sysfs_streq(provider, "loopback") || sysfs_streq(provider, "auto"))
		return &argo_loopback_provider;
	pr_err("provider=%s: unknown provider (auto, xen or loopback)\n",
	       provider);
	return ERR_PTR(-EINVAL);
}

static int __init argo_init(void)
{
	const struct argo_provider *prov;
	int ret;

	prov = argo_pick_provider();
	if (IS_ERR(prov))
		return PTR_ERR(prov);

	argo_wq = alloc_workqueue("argo", WQ_HIGHPRI | WQ_MEM_RECLAIM, 0);
	if (!argo_wq)
		return -ENOMEM;

	argo_prov = prov;
	ret = prov->init();
	if (ret) {
		pr_err("the %s provider cannot run (%d)\n", prov->name, ret);
		goto err_wq;
	}
	ret = argo_dev_init();
	if (ret)
		goto err_prov;
	pr_info("using the %s provider\n", prov->name);
	return 0;

err_prov:
	prov->exit();
err_wq:
	destroy_workqueue(argo_wq);
	return ret;
}

static void __exit argo_exit(void)
{
	struct argo_domain *dom;
	unsigned long idx;

	argo_dev_exit();
	/* No endpoint is left: each user holds a reference on this module. */
	argo_prov->exit();
	xa_for_each(&argo_domains, idx, dom) {
		cancel_delayed_work_sync(&dom->tx_work);
		WARN_ON(!list_empty(&dom->endpoints));
		kfree(dom);
	}
	xa_destroy(&argo_domains);
	destroy_workqueue(argo_wq);
}

module_init(argo_init);
module_exit(argo_exit);

MODULE_DESCRIPTION("Argo hypervisor-mediated message channel: endpoint API and /dev/argo");
MODULE_AUTHOR("The virtio-argo authors");
MODULE_LICENSE("GPL");
