// SPDX-License-Identifier: GPL-2.0
/*
 * argo.ko: the Xen provider.
 *
 * Runs the core on Xen's own Argo: every operation is the argo_op hypercall
 * (number 39), and the hypervisor signals the domain with VIRQ_ARGO (11).
 * Documentation/argo-xen.rst says how to run it (Xen built with CONFIG_ARGO,
 * booted with argo=1, the Flask permissions) and what its messages mean.
 *
 * The per-architecture part is only the hypercall instruction:
 *  - x86_64 (PV, PVH and HVM): xen_single_call(), which calls the kernel's
 *    static-call hypercall trampoline (exported for modules).  It does not
 *    open SMAP: every pointer passed here is a kernel address.
 *  - arm64: privcmd_call(), the exported "hvc #0xEA1" stub.
 * In both cases pointers are passed as they are: Xen reads the arguments
 * through the calling vCPU's own page tables, so a kernel virtual address
 * (linear map or vmalloc) is a valid guest handle in every guest type.
 *
 * The domain's own id comes from the hypervisor, not from XenStore: an
 * unbound event channel allocated for DOMID_SELF records the caller's real
 * id, which EVTCHNOP_status reports (and the channel is closed again).  Only
 * if that fails does the provider fall back to 0 for the initial domain, or
 * to the "domid" key in the domain's XenStore home.
 *
 * Save/restore: the hypervisor forgets a domain's rings, so the resume
 * notifier has the core register them again, from a work item.  VIRQ_ARGO
 * itself is rebound by the kernel's event channel code.  A migrated domain
 * may come back under another id; the core keeps using the id it started
 * with (its key for this domain) and a warning says that peers must reconnect.
 *
 * Hypervisor-independent decisions (the sign of a result, the meaning of a
 * probe error) are in <argo/xen.h>, where KUnit tests them.
 */

#define pr_fmt(fmt) "argo: " fmt

#include <linux/errno.h>
#include <linux/interrupt.h>
#include <linux/mm.h>
#include <linux/notifier.h>
#include <linux/printk.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>

#include <xen/events.h>
#include <xen/interface/event_channel.h>
#include <xen/page.h>
#include <xen/xen.h>
#include <xen/xen-ops.h>
#include <xen/xenbus.h>

#include <asm/xen/hypercall.h>

#include <argo/provider.h>
#include <argo/xen.h>

#if !defined(CONFIG_X86_64) && !defined(CONFIG_ARM64)
#error "the Argo hypercall is wired for x86_64 and arm64 only"
#endif

static struct argo_xen {
	u16 domid;		/* own id at init: the core's key for us */
	int irq;		/* VIRQ_ARGO, bound on vCPU 0 */
	struct notifier_block resume_nb;
	struct work_struct resume_work;
} argo_xen;

/*
 * The raw hypercall.  Never sleeps: a trap into the hypervisor, callable with
 * interrupts off.
 */
static long argo_xen_hypercall(unsigned int cmd, void *arg1, void *arg2,
			       unsigned long arg3, unsigned long arg4)
{
#ifdef CONFIG_X86_64
	return xen_single_call(ARGO_HV_HYPERCALL, cmd, (unsigned long)arg1,
			       (unsigned long)arg2, arg3, arg4);
#else
	return privcmd_call(ARGO_HV_HYPERCALL, cmd, (unsigned long)arg1,
			    (unsigned long)arg2, arg3, arg4);
#endif
}

/*
 * Xen knows which domain is calling: @domid is the core's bookkeeping and is
 * not passed on (argo_xen_domain() only ever hands out our own id).
 */
static long argo_xen_op(u16 domid, unsigned int cmd, void *arg1, void *arg2,
			unsigned long arg3, unsigned long arg4)
{
	return argo_xen_result(argo_xen_hypercall(cmd, arg1, arg2, arg3, arg4));
}

/*
 * The 4 KiB Xen frame under @vaddr, in the linear map or in vmalloc space.
 * A Linux page larger than 4 KiB (arm64 with 16K or 64K pages) spans several
 * Xen frames; they are consecutive because such guests are auto-translated
 * (gfn == pfn), so the sub-page index is added.  On x86 PAGE_SIZE is 4 KiB
 * and xen_page_to_gfn() gives the machine frame in a PV guest, the guest
 * frame otherwise.
 */
static argo_hv_gfn_t argo_xen_frame(const void *vaddr)
{
	unsigned long sub = offset_in_page(vaddr) >> XEN_PAGE_SHIFT;
	struct page *page;

	if (is_vmalloc_addr(vaddr))
		page = vmalloc_to_page(vaddr);
	else
		page = virt_to_page(vaddr);
	if (WARN_ON_ONCE(!page))
		return ~(argo_hv_gfn_t)0;	/* Xen refuses it */

	return (argo_hv_gfn_t)xen_page_to_gfn(page) + sub;
}

static int argo_xen_domain(u16 requested)
{
	return argo_xen_domain_map(requested, argo_xen.domid);
}

/*
 * Ask the hypervisor who we are: an unbound channel allocated with
 * remote_dom = DOMID_SELF stores the caller's true id as its remote end.
 */
static int argo_xen_self_from_evtchn(u16 *domid)
{
	struct evtchn_alloc_unbound alloc = {
		.dom = DOMID_SELF,
		.remote_dom = DOMID_SELF,
	};
	struct evtchn_status status = { .dom = DOMID_SELF };
	struct evtchn_close close;
	int err;

	err = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &alloc);
	if (err)
		return err;

	status.port = alloc.port;
	err = HYPERVISOR_event_channel_op(EVTCHNOP_status, &status);

	close.port = alloc.port;
	if (HYPERVISOR_event_channel_op(EVTCHNOP_close, &close))
		pr_warn("xen: could not close event channel %u\n", alloc.port);

	if (err)
		return err;
	if (status.status != EVTCHNSTAT_unbound ||
	    !argo_xen_domid_valid(status.u.unbound.dom))
		return -EIO;

	*domid = status.u.unbound.dom;
	return 0;
}

/* Sleeps (XenStore).  Process context. */
static int argo_xen_self(u16 *domid)
{
	unsigned int val;
	int err;

	err = argo_xen_self_from_evtchn(domid);
	if (!err)
		return 0;

	if (xen_initial_domain()) {
		pr_warn("xen: event channel query for own domain id failed (%d), using 0 as the initial domain\n",
			err);
		*domid = 0;
		return 0;
	}

	/* "domid" relative to the domain's home, /local/domain/<id>/. */
	val = xenbus_read_unsigned("domid", "", ARGO_HV_DOMID_INVALID);
	if (val > U16_MAX || !argo_xen_domid_valid(val)) {
		pr_err("xen: cannot learn own domain id (event channel query: %d, no XenStore domid)\n",
		       err);
		return -EIO;
	}
	pr_warn("xen: event channel query for own domain id failed (%d), using XenStore domid %u\n",
		err, val);
	*domid = val;
	return 0;
}

static irqreturn_t argo_xen_interrupt(int irq, void *dev_id)
{
	struct argo_xen *ax = dev_id;

	argo_core_signal(ax->domid);
	return IRQ_HANDLED;
}

static void argo_xen_resume_work(struct work_struct *work)
{
	struct argo_xen *ax = container_of(work, struct argo_xen, resume_work);
	u16 now;

	if (!argo_xen_self_from_evtchn(&now) && now != ax->domid)
		pr_warn("xen: domain id changed from %u to %u across save/restore: endpoints keep acting as %u, peers must reconnect\n",
			ax->domid, now, ax->domid);

	argo_core_reregister(ax->domid);
}

/*
 * Called by the Xen suspend code once the domain runs again (also when the
 * suspend was cancelled, where registering again is harmless): processes are
 * still frozen and devices not yet resumed, so the work is left to the
 * (non-freezable) system workqueue.
 */
static int argo_xen_resume_notify(struct notifier_block *nb,
				  unsigned long action, void *data)
{
	struct argo_xen *ax = container_of(nb, struct argo_xen, resume_nb);

	schedule_work(&ax->resume_work);
	return NOTIFY_OK;
}

static int argo_xen_init(void)
{
	struct argo_xen *ax = &argo_xen;
	const char *reason;
	long rc;
	int err;

	if (!xen_domain()) {
		pr_info("xen: not running on Xen\n");
		return -ENODEV;
	}

	/* notify(NULL): harmless, and its error says what is missing. */
	rc = argo_xen_op(0, ARGO_HV_OP_NOTIFY, NULL, NULL, 0, 0);
	reason = argo_xen_probe_reason(rc);
	if (reason) {
		pr_err("xen: %s (error %ld)\n", reason, rc);
		return argo_xen_probe_errno(rc);
	}

	err = argo_xen_self(&ax->domid);
	if (err)
		return err;

	INIT_WORK(&ax->resume_work, argo_xen_resume_work);
	ax->resume_nb.notifier_call = argo_xen_resume_notify;

	/* A global VIRQ: Xen accepts its binding on vCPU 0 only. */
	ax->irq = bind_virq_to_irqhandler(ARGO_HV_VIRQ, 0, argo_xen_interrupt,
					  0, "argo", ax);
	if (ax->irq < 0) {
		pr_err("xen: cannot bind VIRQ_ARGO (%d)\n", ax->irq);
		return ax->irq;
	}

	xen_resume_notifier_register(&ax->resume_nb);

	pr_info("Xen Argo is enabled (domid %u)\n", ax->domid);
	return 0;
}

static void argo_xen_exit(void)
{
	struct argo_xen *ax = &argo_xen;

	xen_resume_notifier_unregister(&ax->resume_nb);
	cancel_work_sync(&ax->resume_work);
	unbind_from_irqhandler(ax->irq, ax);
}

const struct argo_provider argo_xen_provider = {
	.name = "xen",
	.init = argo_xen_init,
	.exit = argo_xen_exit,
	.domain = argo_xen_domain,
	.op = argo_xen_op,
	.frame = argo_xen_frame,
};
