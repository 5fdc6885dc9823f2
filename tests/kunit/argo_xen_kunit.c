// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the Xen provider's hypervisor-independent logic
 * (<argo/xen.h>): how a raw hypercall result becomes an errno, what the
 * probe's result tells the administrator, which domain ids the provider
 * accepts, and the hints for a refused operation.  The hypercall itself
 * cannot run outside Xen; these are the decisions around it.
 */

#include <kunit/test.h>
#include <linux/module.h>
#include <linux/string.h>

#include <argo/xen.h>

/* Xen returns late sendv errors zero-extended from 32 bits. */
static void argo_xen_result_zero_extended_errors_are_negative(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, argo_xen_result(0xfffffff5UL), (long)-EAGAIN);
	KUNIT_EXPECT_EQ(test, argo_xen_result((u32)-ECONNREFUSED),
			(long)-ECONNREFUSED);
	KUNIT_EXPECT_EQ(test, argo_xen_result((u32)-EMSGSIZE), (long)-EMSGSIZE);
}

static void argo_xen_result_sign_extended_errors_are_kept(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, argo_xen_result((unsigned long)-EINVAL),
			(long)-EINVAL);
	KUNIT_EXPECT_EQ(test, argo_xen_result((unsigned long)-EOPNOTSUPP),
			(long)-EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, argo_xen_result((unsigned long)-EPERM),
			(long)-EPERM);
}

static void argo_xen_result_counts_are_kept(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, argo_xen_result(0), 0L);
	KUNIT_EXPECT_EQ(test, argo_xen_result(1), 1L);
	KUNIT_EXPECT_EQ(test, argo_xen_result(4000), 4000L);
	/* The largest payload sendv can return. */
	KUNIT_EXPECT_EQ(test, argo_xen_result(ARGO_HV_MAX_MSG_SIZE),
			(long)ARGO_HV_MAX_MSG_SIZE);
}

static void expect_reason_mentions(struct kunit *test, long rc,
				   const char *needle)
{
	const char *reason = argo_xen_probe_reason(rc);

	KUNIT_ASSERT_NOT_NULL_MSG(test, reason, "rc %ld", rc);
	KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(reason, needle),
				  "rc %ld: \"%s\" lacks \"%s\"", rc, reason,
				  needle);
}

static void argo_xen_probe_success_has_no_reason(struct kunit *test)
{
	KUNIT_EXPECT_NULL(test, argo_xen_probe_reason(0));
	KUNIT_EXPECT_EQ(test, argo_xen_probe_errno(0), 0);
}

static void argo_xen_probe_disabled_says_boot_with_argo(struct kunit *test)
{
	expect_reason_mentions(test, -EOPNOTSUPP, "argo=1");
	expect_reason_mentions(test, -EOPNOTSUPP, "command line");
	KUNIT_EXPECT_EQ(test, argo_xen_probe_errno(-EOPNOTSUPP), -ENODEV);
}

static void argo_xen_probe_not_built_names_kconfig(struct kunit *test)
{
	expect_reason_mentions(test, -ARGO_XEN_ENOSYS, "CONFIG_ARGO");
	KUNIT_EXPECT_EQ(test, argo_xen_probe_errno(-ARGO_XEN_ENOSYS), -ENODEV);
}

static void argo_xen_probe_refused_names_flask(struct kunit *test)
{
	expect_reason_mentions(test, -EPERM, "Flask");
	expect_reason_mentions(test, -EPERM, "argo enable");
	KUNIT_EXPECT_EQ(test, argo_xen_probe_errno(-EPERM), -EPERM);
}

static void argo_xen_probe_reasons_are_distinct(struct kunit *test)
{
	static const long codes[] = {
		-EOPNOTSUPP, -ARGO_XEN_ENOSYS, -EPERM, -ENODEV, -EINVAL,
	};
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(codes); i++)
		for (j = i + 1; j < ARRAY_SIZE(codes); j++)
			KUNIT_EXPECT_STRNEQ(test,
					    argo_xen_probe_reason(codes[i]),
					    argo_xen_probe_reason(codes[j]));
}

static void argo_xen_probe_unknown_error_is_still_a_failure(struct kunit *test)
{
	KUNIT_EXPECT_NOT_NULL(test, argo_xen_probe_reason(-EFAULT));
	KUNIT_EXPECT_NOT_NULL(test, argo_xen_probe_reason(1));
	KUNIT_EXPECT_EQ(test, argo_xen_probe_errno(-EFAULT), -ENODEV);
	KUNIT_EXPECT_EQ(test, argo_xen_probe_errno(1), -ENODEV);
}

static void argo_xen_domain_self_maps_to_own_id(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, argo_xen_domain_map(ARGO_HV_DOMID_SELF, 7), 7);
	KUNIT_EXPECT_EQ(test, argo_xen_domain_map(ARGO_HV_DOMID_SELF, 0), 0);
}

static void argo_xen_domain_own_id_is_accepted(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, argo_xen_domain_map(7, 7), 7);
	KUNIT_EXPECT_EQ(test, argo_xen_domain_map(0, 0), 0);
}

static void argo_xen_domain_other_ids_are_refused(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, argo_xen_domain_map(8, 7), -EINVAL);
	KUNIT_EXPECT_EQ(test, argo_xen_domain_map(0, 7), -EINVAL);
	KUNIT_EXPECT_EQ(test, argo_xen_domain_map(ARGO_HV_DOMID_ANY, 7),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, argo_xen_domain_map(0x7fef, 7), -EINVAL);
}

static void argo_xen_domid_reserved_ids_are_invalid(struct kunit *test)
{
	KUNIT_EXPECT_TRUE(test, argo_xen_domid_valid(0));
	KUNIT_EXPECT_TRUE(test, argo_xen_domid_valid(1));
	KUNIT_EXPECT_TRUE(test, argo_xen_domid_valid(0x7fef));
	KUNIT_EXPECT_FALSE(test, argo_xen_domid_valid(ARGO_HV_DOMID_SELF));
	KUNIT_EXPECT_FALSE(test, argo_xen_domid_valid(ARGO_HV_DOMID_INVALID));
	KUNIT_EXPECT_FALSE(test, argo_xen_domid_valid(0x7fff));
	KUNIT_EXPECT_FALSE(test, argo_xen_domid_valid(0xffff));
}

static void argo_xen_op_names(struct kunit *test)
{
	KUNIT_EXPECT_STREQ(test, argo_xen_op_name(ARGO_HV_OP_REGISTER_RING),
			   "register_ring");
	KUNIT_EXPECT_STREQ(test, argo_xen_op_name(ARGO_HV_OP_UNREGISTER_RING),
			   "unregister_ring");
	KUNIT_EXPECT_STREQ(test, argo_xen_op_name(ARGO_HV_OP_SENDV), "sendv");
	KUNIT_EXPECT_STREQ(test, argo_xen_op_name(ARGO_HV_OP_NOTIFY),
			   "notify");
	KUNIT_EXPECT_STREQ(test, argo_xen_op_name(0), "unknown op");
	KUNIT_EXPECT_STREQ(test, argo_xen_op_name(5), "unknown op");
}

static void expect_hint_mentions(struct kunit *test, unsigned int cmd,
				 u16 partner, const char *needle)
{
	const char *hint = argo_xen_eperm_hint(cmd, partner);

	KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(hint, needle),
				  "cmd %u partner %#x: \"%s\" lacks \"%s\"",
				  cmd, partner, hint, needle);
}

static void argo_xen_eperm_hint_names_the_permission(struct kunit *test)
{
	expect_hint_mentions(test, ARGO_HV_OP_REGISTER_RING, 3,
			     "register_single_source");
	expect_hint_mentions(test, ARGO_HV_OP_REGISTER_RING, ARGO_HV_DOMID_ANY,
			     "register_any_source");
	expect_hint_mentions(test, ARGO_HV_OP_REGISTER_RING, ARGO_HV_DOMID_ANY,
			     "mac-permissive=1");
	expect_hint_mentions(test, ARGO_HV_OP_SENDV, 3, "argo send");
	expect_hint_mentions(test, ARGO_HV_OP_NOTIFY, 0, "argo enable");
	expect_hint_mentions(test, ARGO_HV_OP_UNREGISTER_RING, 3,
			     "argo enable");
}

static struct kunit_case argo_xen_cases[] = {
	KUNIT_CASE(argo_xen_result_zero_extended_errors_are_negative),
	KUNIT_CASE(argo_xen_result_sign_extended_errors_are_kept),
	KUNIT_CASE(argo_xen_result_counts_are_kept),
	KUNIT_CASE(argo_xen_probe_success_has_no_reason),
	KUNIT_CASE(argo_xen_probe_disabled_says_boot_with_argo),
	KUNIT_CASE(argo_xen_probe_not_built_names_kconfig),
	KUNIT_CASE(argo_xen_probe_refused_names_flask),
	KUNIT_CASE(argo_xen_probe_reasons_are_distinct),
	KUNIT_CASE(argo_xen_probe_unknown_error_is_still_a_failure),
	KUNIT_CASE(argo_xen_domain_self_maps_to_own_id),
	KUNIT_CASE(argo_xen_domain_own_id_is_accepted),
	KUNIT_CASE(argo_xen_domain_other_ids_are_refused),
	KUNIT_CASE(argo_xen_domid_reserved_ids_are_invalid),
	KUNIT_CASE(argo_xen_op_names),
	KUNIT_CASE(argo_xen_eperm_hint_names_the_permission),
	{}
};

static struct kunit_suite argo_xen_suite = {
	.name = "argo_xen",
	.test_cases = argo_xen_cases,
};

kunit_test_suite(argo_xen_suite);

MODULE_DESCRIPTION("KUnit tests for the Argo Xen provider's pure logic");
MODULE_LICENSE("GPL");
