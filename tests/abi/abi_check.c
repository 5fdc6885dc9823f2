// SPDX-License-Identifier: MIT
/*
 * abi_check: the project's Argo ABI (include/argo/hv.h) against Xen's own
 * public headers (libxen-dev: <xen/argo.h>, <xen/xen.h>, <xen/errno.h>,
 * <xenctrl.h>).
 *
 * Every constant hv.h defines is compared with Xen's value, every structure
 * with Xen's by size, alignment, and each field's offset, size and
 * signedness; hv.h's size macros are compared with the rules Xen applies
 * (xen/common/argo.c) over a table of ring lengths and payloads.  The errno
 * values Argo returns are compared with the C library's, since the providers
 * pass Xen's errors on unchanged.
 *
 * Output: one KTAP document, one test per fact; the exit status is 1 if any
 * fact does not hold.  Built with -DABI_CHECK_STATIC (the cross build for
 * arm64, which cannot run here) every fact becomes a static assertion
 * instead, so that the compilation itself is the check.
 *
 * Copyright (c) 2026 The virtio-argo authors
 */

#include <assert.h>
#include <errno.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <xenctrl.h>		/* defines __XEN_TOOLS__; XC_PAGE_SIZE */
#include <xen/xen.h>
#include <xen/argo.h>
#include <xen/errno.h>

#include <argo/hv.h>

#define SLOT		XEN_ARGO_MSG_SLOT_SIZE
#define XEN_HDR		sizeof(struct xen_argo_ring_message_header)
#define ROUNDUP_SLOT(x)	((((unsigned long long)(x)) + SLOT - 1) / SLOT * SLOT)
#define MIB		(1024ULL * 1024ULL)
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Xen's rules, written from its checks, in Xen's own header terms. */
#define XEN_NPAGES(len) \
	((ROUNDUP_SLOT(len) + sizeof(xen_argo_ring_t) + XC_PAGE_SIZE - 1) / \
	 XC_PAGE_SIZE)
#define XEN_MIN_RING_LEN	(XEN_HDR + ROUNDUP_SLOT(1) + ROUNDUP_SLOT(1))
#define XEN_MAX_NPAGES		(XEN_ARGO_MAX_RING_SIZE / XC_PAGE_SIZE)
#define XEN_MAX_MSG \
	(XEN_ARGO_MAX_RING_SIZE - XEN_HDR - ROUNDUP_SLOT(1))

#define IS_UNSIGNED(x)	((__typeof__(x))-1 > 0)

#ifdef ABI_CHECK_STATIC

#define CHECK_EQ(name, got, want) \
	static_assert((unsigned long long)(got) == \
		      (unsigned long long)(want), name)
#define CHECK(name, cond)	static_assert(cond, name)

#else /* !ABI_CHECK_STATIC */

#define MAX_RESULTS	512

static struct {
	char name[96];
	char diag[192];
	int ok;
} results[MAX_RESULTS];
static unsigned int nresults;
static int overflow;

static void record(int ok, const char *name, unsigned long long got,
		   unsigned long long want, int has_values)
{
	unsigned int i = nresults;

	if (i >= MAX_RESULTS) {
		overflow = 1;
		return;
	}
	snprintf(results[i].name, sizeof(results[i].name), "%s", name);
	results[i].ok = ok;
	if (!ok && has_values)
		snprintf(results[i].diag, sizeof(results[i].diag),
			 "# %s: ours %llu (%#llx), Xen's %llu (%#llx)",
			 name, got, got, want, want);
	nresults++;
}

static void check_eq(const char *name, unsigned long long got,
		     unsigned long long want)
{
	record(got == want, name, got, want, 1);
}

#define CHECK_EQ(name, got, want)	check_eq(name, got, want)
#define CHECK(name, cond)		record(cond, name, 0, 0, 0)

#endif /* ABI_CHECK_STATIC */

/* Offset, size and signedness of a scalar field; offset and size of others. */
#define FIELD(ours, xen, f)						\
	do {								\
		CHECK_EQ(#ours "." #f " offset", offsetof(ours, f),	\
			 offsetof(xen, f));				\
		CHECK_EQ(#ours "." #f " size", sizeof(((ours *)0)->f),	\
			 sizeof(((xen *)0)->f));			\
	} while (0)
#define SCALAR(ours, xen, f)						\
	do {								\
		FIELD(ours, xen, f);					\
		CHECK(#ours "." #f " signedness",			\
		      IS_UNSIGNED(((ours *)0)->f) ==			\
		      IS_UNSIGNED(((xen *)0)->f));			\
	} while (0)
#define LAYOUT(ours, xen)						\
	do {								\
		CHECK_EQ(#ours " size", sizeof(ours), sizeof(xen));	\
		CHECK_EQ(#ours " alignment", alignof(ours),		\
			 alignof(xen));					\
	} while (0)

/* Xen's errno values are the ones Argo returns; Linux passes them on. */
#define ERRNO(e)	CHECK_EQ("errno E" #e, XEN_E##e, E##e)

static void check_constants(void)
{
	CHECK_EQ("hypercall number", ARGO_HV_HYPERCALL, __HYPERVISOR_argo_op);
	CHECK_EQ("VIRQ_ARGO", ARGO_HV_VIRQ, VIRQ_ARGO);

	CHECK_EQ("op register_ring", ARGO_HV_OP_REGISTER_RING,
		 XEN_ARGO_OP_register_ring);
	CHECK_EQ("op unregister_ring", ARGO_HV_OP_UNREGISTER_RING,
		 XEN_ARGO_OP_unregister_ring);
	CHECK_EQ("op sendv", ARGO_HV_OP_SENDV, XEN_ARGO_OP_sendv);
	CHECK_EQ("op notify", ARGO_HV_OP_NOTIFY, XEN_ARGO_OP_notify);

	CHECK_EQ("DOMID_SELF", ARGO_HV_DOMID_SELF, DOMID_SELF);
	CHECK_EQ("DOMID_INVALID", ARGO_HV_DOMID_INVALID, DOMID_INVALID);
	CHECK_EQ("DOMID_ANY", ARGO_HV_DOMID_ANY, XEN_ARGO_DOMID_ANY);

	CHECK_EQ("MAX_RING_SIZE", ARGO_HV_MAX_RING_SIZE,
		 XEN_ARGO_MAX_RING_SIZE);
	CHECK_EQ("MIN_RING_SIZE", ARGO_HV_MIN_RING_SIZE, XEN_MIN_RING_LEN);
	CHECK_EQ("MAXIOV", ARGO_HV_MAXIOV, XEN_ARGO_MAXIOV);
	CHECK_EQ("MSG_SLOT_SIZE", ARGO_HV_MSG_SLOT_SIZE,
		 XEN_ARGO_MSG_SLOT_SIZE);
	CHECK_EQ("PAGE_SIZE", ARGO_HV_PAGE_SIZE, XC_PAGE_SIZE);
	CHECK_EQ("MAX_PAGES", ARGO_HV_MAX_PAGES, XEN_MAX_NPAGES);
	CHECK_EQ("MAX_MSG_SIZE", ARGO_HV_MAX_MSG_SIZE, XEN_MAX_MSG);
	/* Private to xen/common/argo.c: no public header to compare with. */
	CHECK_EQ("MAX_RINGS (xen/common/argo.c)", ARGO_HV_MAX_RINGS, 128);
	CHECK_EQ("MAX_NOTIFY_COUNT (xen/common/argo.c)",
		 ARGO_HV_MAX_NOTIFY_COUNT, 256);
	CHECK_EQ("MAX_PENDING_PER_RING (xen/common/argo.c)",
		 ARGO_HV_MAX_PENDING_PER_RING, 32);

	CHECK_EQ("REGISTER_FLAG_FAIL_EXIST", ARGO_HV_REGISTER_FLAG_FAIL_EXIST,
		 XEN_ARGO_REGISTER_FLAG_FAIL_EXIST);
	CHECK_EQ("RING_EXISTS", ARGO_HV_RING_EXISTS, XEN_ARGO_RING_EXISTS);
	CHECK_EQ("RING_SHARED", ARGO_HV_RING_SHARED, XEN_ARGO_RING_SHARED);
	CHECK_EQ("RING_EMPTY", ARGO_HV_RING_EMPTY, XEN_ARGO_RING_EMPTY);
	CHECK_EQ("RING_SUFFICIENT", ARGO_HV_RING_SUFFICIENT,
		 XEN_ARGO_RING_SUFFICIENT);
	CHECK_EQ("RING_EMSGSIZE", ARGO_HV_RING_EMSGSIZE,
		 XEN_ARGO_RING_EMSGSIZE);
	CHECK_EQ("RING_EBUSY", ARGO_HV_RING_EBUSY, XEN_ARGO_RING_EBUSY);

	CHECK_EQ("RING_HEADER_SIZE", ARGO_HV_RING_HEADER_SIZE,
		 sizeof(xen_argo_ring_t));
	CHECK_EQ("MSG_HDR_SIZE", ARGO_HV_MSG_HDR_SIZE, XEN_HDR);
}

static void check_errnos(void)
{
	ERRNO(PERM);
	ERRNO(NOENT);
	ERRNO(SRCH);
	ERRNO(AGAIN);
	ERRNO(NOMEM);
	ERRNO(ACCES);
	ERRNO(FAULT);
	ERRNO(BUSY);
	ERRNO(EXIST);
	ERRNO(NODEV);
	ERRNO(INVAL);
	ERRNO(NOSPC);
	ERRNO(NOSYS);
	ERRNO(MSGSIZE);
	ERRNO(OPNOTSUPP);
	ERRNO(CONNREFUSED);
}

static void check_layouts(void)
{
	CHECK_EQ("argo_hv_port_t size", sizeof(argo_hv_port_t),
		 sizeof(xen_argo_port_t));
	CHECK("argo_hv_port_t signedness",
	      IS_UNSIGNED((argo_hv_port_t)0) == IS_UNSIGNED((xen_argo_port_t)0));
	CHECK_EQ("argo_hv_gfn_t size", sizeof(argo_hv_gfn_t),
		 sizeof(xen_argo_gfn_t));
	CHECK("argo_hv_gfn_t signedness",
	      IS_UNSIGNED((argo_hv_gfn_t)0) == IS_UNSIGNED((xen_argo_gfn_t)0));

	/* iov_hnd is a guest handle in Xen's header: no signedness. */
	LAYOUT(struct argo_hv_iov, xen_argo_iov_t);
	FIELD(struct argo_hv_iov, xen_argo_iov_t, iov_hnd);
	SCALAR(struct argo_hv_iov, xen_argo_iov_t, iov_len);
	SCALAR(struct argo_hv_iov, xen_argo_iov_t, pad);

	LAYOUT(struct argo_hv_addr, xen_argo_addr_t);
	SCALAR(struct argo_hv_addr, xen_argo_addr_t, aport);
	SCALAR(struct argo_hv_addr, xen_argo_addr_t, domain_id);
	SCALAR(struct argo_hv_addr, xen_argo_addr_t, pad);

	LAYOUT(struct argo_hv_send_addr, xen_argo_send_addr_t);
	FIELD(struct argo_hv_send_addr, xen_argo_send_addr_t, src);
	FIELD(struct argo_hv_send_addr, xen_argo_send_addr_t, dst);

	LAYOUT(struct argo_hv_ring, xen_argo_ring_t);
	SCALAR(struct argo_hv_ring, xen_argo_ring_t, rx_ptr);
	SCALAR(struct argo_hv_ring, xen_argo_ring_t, tx_ptr);
	FIELD(struct argo_hv_ring, xen_argo_ring_t, reserved);
	CHECK_EQ("struct argo_hv_ring.ring offset",
		 offsetof(struct argo_hv_ring, ring),
		 offsetof(xen_argo_ring_t, ring));

	LAYOUT(struct argo_hv_register_ring, xen_argo_register_ring_t);
	SCALAR(struct argo_hv_register_ring, xen_argo_register_ring_t, aport);
	SCALAR(struct argo_hv_register_ring, xen_argo_register_ring_t,
	       partner_id);
	SCALAR(struct argo_hv_register_ring, xen_argo_register_ring_t, pad);
	SCALAR(struct argo_hv_register_ring, xen_argo_register_ring_t, len);

	LAYOUT(struct argo_hv_unregister_ring, xen_argo_unregister_ring_t);
	SCALAR(struct argo_hv_unregister_ring, xen_argo_unregister_ring_t,
	       aport);
	SCALAR(struct argo_hv_unregister_ring, xen_argo_unregister_ring_t,
	       partner_id);
	SCALAR(struct argo_hv_unregister_ring, xen_argo_unregister_ring_t,
	       pad);

	LAYOUT(struct argo_hv_ring_data_ent, xen_argo_ring_data_ent_t);
	FIELD(struct argo_hv_ring_data_ent, xen_argo_ring_data_ent_t, ring);
	SCALAR(struct argo_hv_ring_data_ent, xen_argo_ring_data_ent_t, flags);
	SCALAR(struct argo_hv_ring_data_ent, xen_argo_ring_data_ent_t, pad);
	SCALAR(struct argo_hv_ring_data_ent, xen_argo_ring_data_ent_t,
	       space_required);
	SCALAR(struct argo_hv_ring_data_ent, xen_argo_ring_data_ent_t,
	       max_message_size);

	LAYOUT(struct argo_hv_ring_data, xen_argo_ring_data_t);
	SCALAR(struct argo_hv_ring_data, xen_argo_ring_data_t, nent);
	SCALAR(struct argo_hv_ring_data, xen_argo_ring_data_t, pad);
	CHECK_EQ("struct argo_hv_ring_data.data offset",
		 offsetof(struct argo_hv_ring_data, data),
		 offsetof(xen_argo_ring_data_t, data));
	CHECK_EQ("struct argo_hv_ring_data.data element size",
		 sizeof(((struct argo_hv_ring_data *)0)->data[0]),
		 sizeof(((xen_argo_ring_data_t *)0)->data[0]));

	/* Xen's header ends in a flexible data[]; ours stops at the header. */
	LAYOUT(struct argo_hv_msg_hdr, struct xen_argo_ring_message_header);
	SCALAR(struct argo_hv_msg_hdr, struct xen_argo_ring_message_header,
	       len);
	FIELD(struct argo_hv_msg_hdr, struct xen_argo_ring_message_header,
	      source);
	SCALAR(struct argo_hv_msg_hdr, struct xen_argo_ring_message_header,
	       message_type);
	CHECK_EQ("struct argo_hv_msg_hdr payload offset",
		 sizeof(struct argo_hv_msg_hdr),
		 offsetof(struct xen_argo_ring_message_header, data));
}

#ifndef ABI_CHECK_STATIC

/*
 * hv.h's size macros over a table of values, each against the literal
 * result of the rule in ARGO-ABI.md and against Xen's own rule.  Pure
 * arithmetic, the same on every architecture: checked at run time only.
 */

/* register_ring's checks on len and npages. */
static int xen_len_ok(unsigned long long len)
{
	return len >= XEN_MIN_RING_LEN && len <= XEN_ARGO_MAX_RING_SIZE &&
	       len % SLOT == 0 && XEN_NPAGES(len) <= XEN_MAX_NPAGES;
}

/* sendv refuses a message if ring len <= header + roundup(payload). */
static int xen_fits(unsigned long long len, unsigned long long payload)
{
	return len > XEN_HDR + ROUNDUP_SLOT(payload);
}

static const struct {
	unsigned long long len, npages;
	int ok;			/* Xen registers a ring of this len */
} npages_table[] = {
	{ 48, 1, 1 },
	{ 64, 1, 1 },
	{ 4032, 1, 1 },		/* 4032 + 64 fills one page */
	{ 4033, 2, 0 },		/* not a multiple of 16 */
	{ 4048, 2, 1 },
	{ 8128, 2, 1 },
	{ 8144, 3, 1 },
	{ 32, 1, 0 },		/* below the minimum */
	{ 16 * MIB - 64, 4096, 1 },	/* the largest ring Xen takes */
	/* Within MAX_RING_SIZE, but 4097 pages is more than Xen takes. */
	{ 16 * MIB, 4097, 0 },
};

static const struct {
	unsigned long long payload, space;
} space_table[] = {
	{ 0, 16 },
	{ 1, 32 },
	{ 15, 32 },
	{ 16, 32 },
	{ 17, 48 },
	{ 4000, 4016 },
	{ ARGO_HV_MAX_MSG_SIZE, 16 * MIB - 16 },
};

static const struct {
	unsigned long long len, max;
} payload_table[] = {
	{ 48, 16 },
	{ 64, 32 },
	{ 4032, 4000 },
	{ 4048, 4016 },
	{ 16 * MIB - 64, 16 * MIB - 96 },
	{ 16 * MIB, ARGO_HV_MAX_MSG_SIZE },
};

#define NAME(buf, ...)	snprintf(buf, sizeof(buf), __VA_ARGS__)

static void check_macros(void)
{
	char n[96];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(npages_table); i++) {
		unsigned long long len = npages_table[i].len;
		int ok = npages_table[i].ok;

		NAME(n, "RING_NPAGES(%llu) is %llu", len,
		     npages_table[i].npages);
		check_eq(n, ARGO_HV_RING_NPAGES(len), npages_table[i].npages);
		NAME(n, "RING_NPAGES(%llu) matches Xen", len);
		check_eq(n, ARGO_HV_RING_NPAGES(len), XEN_NPAGES(len));
		NAME(n, "ring len %llu %s by Xen", len,
		     ok ? "accepted" : "refused");
		CHECK(n, xen_len_ok(len) == ok);
	}

	for (i = 0; i < ARRAY_SIZE(space_table); i++) {
		unsigned long long payload = space_table[i].payload;

		NAME(n, "MSG_SPACE(%llu) is %llu", payload,
		     space_table[i].space);
		check_eq(n, ARGO_HV_MSG_SPACE(payload), space_table[i].space);
		NAME(n, "MSG_SPACE(%llu) matches Xen", payload);
		check_eq(n, ARGO_HV_MSG_SPACE(payload),
			 XEN_HDR + ROUNDUP_SLOT(payload));
	}

	/*
	 * RING_MAX_PAYLOAD: the largest payload Xen's sendv puts in a ring of
	 * that length; one byte more it refuses with -EMSGSIZE.
	 */
	for (i = 0; i < ARRAY_SIZE(payload_table); i++) {
		unsigned long long len = payload_table[i].len;
		unsigned long long max = ARGO_HV_RING_MAX_PAYLOAD(len);

		NAME(n, "RING_MAX_PAYLOAD(%llu) is %llu", len,
		     payload_table[i].max);
		check_eq(n, max, payload_table[i].max);
		NAME(n, "ring len %llu takes RING_MAX_PAYLOAD", len);
		CHECK(n, xen_fits(len, max));
		NAME(n, "ring len %llu refuses RING_MAX_PAYLOAD + 1", len);
		CHECK(n, !xen_fits(len, max + 1));
	}
}

#endif /* !ABI_CHECK_STATIC */

#ifdef ABI_CHECK_STATIC

/* Compiled only: the static assertions above are the test. */
int main(void)
{
	check_constants();
	check_errnos();
	check_layouts();
	return 0;
}

#else

int main(void)
{
	unsigned int i, failed = 0;

	check_constants();
	check_errnos();
	check_layouts();
	check_macros();

	printf("KTAP version 1\n");
	printf("1..%u\n", nresults);
	for (i = 0; i < nresults; i++) {
		if (results[i].diag[0])
			printf("%s\n", results[i].diag);
		printf("%sok %u %s\n", results[i].ok ? "" : "not ",
		       i + 1, results[i].name);
		failed += !results[i].ok;
	}
	if (overflow) {
		printf("# more than %d checks: raise MAX_RESULTS\n",
		       MAX_RESULTS);
		return 1;
	}
	printf("# %u of %u ABI facts hold\n", nresults - failed, nresults);
	return failed ? 1 : 0;
}

#endif
