/* SPDX-License-Identifier: GPL-2.0 */
/*
 * argo.ko internals: the parts of the Xen provider that do not need Xen.
 *
 * drivers/argo/xen.c is built only into Xen-enabled x86_64 and arm64 kernels,
 * where no test can run it without a hypervisor.  What it decides without
 * making a hypercall lives here, as pure functions, so that the KUnit suite
 * tests/kunit/argo_xen_kunit.c checks the very code the provider runs, in
 * User-Mode Linux.  Not an API for other modules.
 */
#ifndef _ARGO_XEN_H
#define _ARGO_XEN_H

#include <linux/errno.h>
#include <linux/types.h>
#include <argo/hv.h>

/* Domain ids from here up are reserved by Xen (DOMID_FIRST_RESERVED). */
#define ARGO_XEN_DOMID_FIRST_RESERVED	0x7ff0U

/*
 * Xen's errno for a hypercall it does not implement (XEN_ENOSYS): what
 * argo_op returns from a hypervisor built without Argo.  Xen's errno values
 * are those of Linux (tests/abi checks the ones Argo returns).
 */
#define ARGO_XEN_ENOSYS			38

/*
 * The value an argo_op hypercall returned, as a count or a negative errno.
 *
 * Every Argo result fits in 32 bits (0, a payload length of at most 16 MiB,
 * or -errno), but Xen hands back some errors that sendv finds late (-EAGAIN,
 * -ECONNREFUSED and -EMSGSIZE from the destination ring) zero-extended from
 * 32 bits: 0xfffffff5 for -EAGAIN.  Taking the low 32 bits as signed gives
 * the right value both for those and for the properly sign-extended early
 * errors.
 */
static inline long argo_xen_result(unsigned long raw)
{
	return (long)(s32)(u32)raw;
}

/*
 * What the result of the probe, notify(NULL), tells the administrator: NULL
 * when Argo is usable, otherwise the reason it is not, as one sentence.
 */
static inline const char *argo_xen_probe_reason(long rc)
{
	switch (rc) {
	case 0:
		return NULL;
	case -EOPNOTSUPP:
		return "Argo is disabled on the Xen command line (boot Xen with argo=1)";
	case -ARGO_XEN_ENOSYS:
		return "this hypervisor was built without Argo (CONFIG_ARGO)";
	case -EPERM:
		return "Argo is refused to this domain by the XSM/Flask policy (argo enable)";
	case -ENODEV:
		return "Xen has no Argo state for this domain";
	default:
		return "the Argo probe hypercall failed unexpectedly";
	}
}

/* The errno the provider's init() returns for a failed probe. */
static inline int argo_xen_probe_errno(long rc)
{
	if (rc == -EPERM)
		return -EPERM;
	return rc ? -ENODEV : 0;
}

/* True if @domid names a domain, not one of Xen's reserved ids. */
static inline bool argo_xen_domid_valid(u16 domid)
{
	return domid < ARGO_XEN_DOMID_FIRST_RESERVED;
}

/*
 * A real domain acts only as itself: ARGO_HV_DOMID_SELF and its own id map to
 * @self, anything else is refused.
 */
static inline int argo_xen_domain_map(u16 requested, u16 self)
{
	if (requested == ARGO_HV_DOMID_SELF || requested == self)
		return self;
	return -EINVAL;
}

/* The name of an argo_op command, for messages. */
static inline const char *argo_xen_op_name(unsigned int cmd)
{
	switch (cmd) {
	case ARGO_HV_OP_REGISTER_RING:
		return "register_ring";
	case ARGO_HV_OP_UNREGISTER_RING:
		return "unregister_ring";
	case ARGO_HV_OP_SENDV:
		return "sendv";
	case ARGO_HV_OP_NOTIFY:
		return "notify";
	default:
		return "unknown op";
	}
}

/*
 * What to check when Xen refuses @cmd (towards @partner, for register_ring)
 * with -EPERM: the Flask permission of class argo the operation needs, and
 * for a ring open to any partner the Xen boot option as well.  Every
 * operation also needs "argo enable", which the probe has already checked.
 * Meant to follow "-EPERM: " in a message.
 */
static inline const char *argo_xen_eperm_hint(unsigned int cmd, u16 partner)
{
	if (cmd == ARGO_HV_OP_REGISTER_RING && partner == ARGO_HV_DOMID_ANY)
		return "Xen needs argo=1,mac-permissive=1 and Flask argo register_any_source";
	if (cmd == ARGO_HV_OP_REGISTER_RING)
		return "Flask must allow argo register_single_source to the partner";
	if (cmd == ARGO_HV_OP_SENDV)
		return "Flask must allow argo send to the destination";
	return "Flask must allow argo enable for this domain";
}

#endif /* _ARGO_XEN_H */
