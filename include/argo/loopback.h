/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The loopback provider's test interface: a software implementation of
 * Xen's Argo, with virtual domains, for KUnit suites and UML demos.  Every
 * function here is exported GPL for tests only.
 */
#ifndef _ARGO_LOOPBACK_H
#define _ARGO_LOOPBACK_H

#include <linux/types.h>
#include <argo/hv.h>

/* argo_op as virtual domain @caller: same arguments and results as Xen. */
long argo_lb_op(u16 caller, unsigned int cmd, void *arg1, void *arg2,
		unsigned long arg3, unsigned long arg4);

/* Frame number the loopback accepts in register_ring for @vaddr. */
argo_hv_gfn_t argo_lb_frame(const void *vaddr);

/*
 * Create virtual domain @domid (-EEXIST if it exists), with or without
 * Argo enabled.  Destroying a domain removes its rings and every ring of
 * another domain that names it as the single partner, as Xen does.
 */
int argo_lb_domain_create(u16 domid, bool argo_enabled);
int argo_lb_domain_destroy(u16 domid);

/* Xen's argo=1,mac-permissive=1: allows rings for any partner. */
void argo_lb_set_mac_permissive(bool permissive);
bool argo_lb_mac_permissive(void);

/* Number of VIRQ_ARGO signals raised in @domid so far. */
u64 argo_lb_signal_count(u16 domid);

/* Drop every ring of @domid, as a save/restore does, and tell the core. */
int argo_lb_simulate_resume(u16 domid);

/* True when the core runs on the loopback provider. */
bool argo_lb_active(void);

#endif /* _ARGO_LOOPBACK_H */
