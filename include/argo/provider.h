/* SPDX-License-Identifier: GPL-2.0 */
/*
 * argo.ko internals: the provider ops table that joins the core to a
 * hypervisor (or to the loopback software hypervisor), and the entry points
 * the providers call back into the core.  Not an API for other modules.
 */
#ifndef _ARGO_PROVIDER_H
#define _ARGO_PROVIDER_H

#include <linux/types.h>
#include <argo/hv.h>

struct argo_provider {
	const char *name;
	/*
	 * Probe and start.  Returns 0, or a negative errno after printing one
	 * line that tells the administrator why this provider cannot run.
	 */
	int (*init)(void);
	void (*exit)(void);
	/*
	 * Map the domain an endpoint asks for (ARGO_HV_DOMID_SELF or a
	 * specific id) to the domain id it acts as, or a negative errno.
	 */
	int (*domain)(u16 requested);
	/*
	 * The argo_op hypercall, made as domain @domid.  Pointers are kernel
	 * virtual addresses (the "guest handles").  The result is already a
	 * signed value: 0 or positive on success, -errno on failure.
	 * sendv, notify and unregister_ring never sleep and may be called in
	 * atomic context; register_ring may sleep (the loopback maps the
	 * ring's pages) and is only called from process context.
	 */
	long (*op)(u16 domid, unsigned int cmd, void *arg1, void *arg2,
		   unsigned long arg3, unsigned long arg4);
	/* 4 KiB frame number of the ring memory at @vaddr (4 KiB aligned). */
	argo_hv_gfn_t (*frame)(const void *vaddr);
};

extern const struct argo_provider argo_loopback_provider;
#ifdef CONFIG_XEN
extern const struct argo_provider argo_xen_provider;
#endif

/*
 * VIRQ_ARGO arrived for @domid: scan its rings for messages and its
 * blocked senders for space.  Any context, including hard interrupt.
 */
void argo_core_signal(u16 domid);

/*
 * The hypervisor lost @domid's rings (resume after save/restore, or the
 * loopback's simulation of it): register them all again.  Process context.
 */
void argo_core_reregister(u16 domid);

/* The provider the core runs on; set once at load. */
extern const struct argo_provider *argo_prov;

/* /dev/argo, in dev.c. */
int argo_dev_init(void);
void argo_dev_exit(void);

#endif /* _ARGO_PROVIDER_H */
