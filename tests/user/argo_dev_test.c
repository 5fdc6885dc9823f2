// SPDX-License-Identifier: MIT
/*
 * argo_dev_test: /dev/argo from userspace, as documented in
 * Documentation/argo-dev.rst.  Prints one KTAP document.
 *
 * Runs as root inside UML with argo.ko loaded with provider=loopback, where
 * virtual domains 0..7 exist.  Two endpoints act as domains 1 and 2 and
 * exchange messages one at a time and in batches, in both directions; then
 * poll, non-blocking and blocking behaviour, size limits, and every kind of
 * bad argument, each of which must give its documented errno (the harness
 * also checks the console for oopses and warnings).
 *
 * The checks run in a child process whose output the parent collects: the
 * plan can then be printed first with the true count, and a child that
 * crashes or hangs (killed after a timeout) still yields a complete
 * document with a failed "checks_completed" line at the end.
 *
 * Copyright (c) 2026 The virtio-argo authors
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libargo.h"

#define DOM_A		1
#define DOM_B		2
#define DOM_C		3
#define DOM_NONE	100		/* no such virtual domain */
#define PORT_A		0x7e570001u
#define PORT_B		0x7e570002u
#define PORT_SMALL	0x7e570003u	/* B's small ring, for flow control */
#define PORT_NONE	0x7e57ffffu	/* nobody listens there */
#define RING		4096u
#define SMALL_RING	256u
#define FILL_MSG	64u
#define TIMEOUT_S	90
#define EXIT_ABORT	2		/* the checks could not go on */
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static int checks;
static int failures;
/*
 * Three pages: [read-write][no access][read-only].  The middle page stands
 * for unmapped memory (PROT_NONE faults the same way, and unlike a hole it
 * cannot be reused by a later mmap, e.g. for a thread's stack).
 */
static char *pages;
static void *unmapped;
static void *readonly;

static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static bool check(bool ok, const char *name)
{
	checks++;
	if (!ok)
		failures++;
	printf("%sok %d %s\n", ok ? "" : "not ", checks, name);
	fflush(stdout);
	return ok;
}

/* @ret/@err from a call that must fail with @want. */
static bool check_err(long ret, int err, int want, const char *name)
{
	if (ret != -1 || err != want)
		diag("%s: got %ld (errno %d %s), want errno %d %s", name, ret,
		     ret == -1 ? err : 0, ret == -1 ? strerror(err) : "-",
		     want, strerror(want));
	return check(ret == -1 && err == want, name);
}

#define CHECK_ERR(expr, want, name) do {		\
		long __r = (long)(expr);		\
		int __e = errno;			\
		check_err(__r, __e, want, name);	\
	} while (0)

static bool check_eq(long got, long want, const char *name)
{
	if (got != want)
		diag("%s: got %ld (errno %s), want %ld", name, got,
		     got == -1 ? strerror(errno) : "-", want);
	return check(got == want, name);
}

static int dev_open(int flags)
{
	int fd = argo_open(flags);

	if (fd < 0) {
		diag("open %s: %s", ARGO_DEV_PATH, strerror(errno));
		exit(EXIT_ABORT);
	}
	return fd;
}

static int bind_raw(int fd, uint16_t domain, uint32_t port, uint16_t partner,
		    uint32_t ring)
{
	return argo_bind(fd, domain, port, partner, ring);
}

/* Open and bind an endpoint, or stop the test: later checks need it. */
static int endpoint(uint16_t domain, uint32_t port, uint16_t partner,
		    uint32_t ring, int flags)
{
	int fd = dev_open(flags);

	if (bind_raw(fd, domain, port, partner, ring)) {
		diag("bind domain %u port %#x partner %u ring %u: %s", domain,
		     port, partner, ring, strerror(errno));
		exit(EXIT_ABORT);
	}
	return fd;
}

static int send_ioctl(int fd, uint16_t dom, uint32_t port, uint32_t type,
		      const void *buf, uint32_t len)
{
	struct argo_dev_msg m;

	argo_msg_init(&m, dom, port, type, buf, len);
	return ioctl(fd, ARGO_DEV_IOC_SEND, &m);
}

static int recv_ioctl(int fd, void *buf, uint32_t cap, struct argo_dev_msg *m)
{
	argo_msg_init(m, 0, 0, 0, buf, cap);
	return ioctl(fd, ARGO_DEV_IOC_RECV, m);
}

static int batch_ioctl(int fd, unsigned long cmd, void *msgs, uint32_t count,
		       uint32_t flags)
{
	struct argo_dev_batch b = {
		.msgs = (uint64_t)(uintptr_t)msgs,
		.count = count,
		.flags = flags,
	};

	return ioctl(fd, cmd, &b);
}

/* Receive and discard everything in @fd's ring; returns how many. */
static int drain(int fd)
{
	static unsigned char buf[RING];
	struct argo_dev_msg m;
	int n = 0;

	argo_set_nonblock(fd, true);
	while (recv_ioctl(fd, buf, sizeof(buf), &m) >= 0)
		n++;
	argo_set_nonblock(fd, false);
	return n;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_device(void)
{
	struct stat st;
	char buf[32] = "";
	FILE *f;
	unsigned int mode = 0600;

	check(stat(ARGO_DEV_PATH, &st) == 0 && S_ISCHR(st.st_mode),
	      "device_node_exists");
	f = fopen("/sys/module/argo/parameters/dev_mode", "r");
	if (f) {
		if (fgets(buf, sizeof(buf), f))
			mode = (unsigned int)strtoul(buf, NULL, 0);
		fclose(f);
	}
	if ((st.st_mode & 0777) != mode)
		diag("mode %o, dev_mode %o", st.st_mode & 0777, mode);
	check((st.st_mode & 0777) == mode, "device_mode_is_dev_mode_param");
}

static void test_unbound(void)
{
	struct argo_dev_msg m;
	struct argo_dev_max_size q;
	struct argo_dev_stats s;
	struct argo_dev_info info;
	int fd = dev_open(0);
	char c = 0;

	memset(&info, 0xff, sizeof(info));
	check(argo_info(fd, &info) == 0 &&
	      !strcmp(info.provider, "loopback") &&
	      !(info.flags & ARGO_DEV_INFO_BOUND) &&
	      info.max_batch == ARGO_DEV_MAX_BATCH &&
	      info.max_msg_size == ARGO_DEV_MAX_MSG_SIZE &&
	      !info.reserved && info.tx_rescued != ~0ULL,
	      "info_unbound_reports_loopback_provider");
	check(info.domain < ARGO_DEV_DOMID_FIRST_RESERVED,
	      "info_unbound_reports_own_domain");

	CHECK_ERR(send_ioctl(fd, DOM_B, PORT_B, 0, &c, 1), ENOTCONN,
		  "unbound_send_enotconn");
	CHECK_ERR(recv_ioctl(fd, &c, 1, &m), ENOTCONN, "unbound_recv_enotconn");
	CHECK_ERR(batch_ioctl(fd, ARGO_DEV_IOC_SENDV, &m, 1, 0), ENOTCONN,
		  "unbound_sendv_enotconn");
	CHECK_ERR(batch_ioctl(fd, ARGO_DEV_IOC_RECVV, &m, 1, 0), ENOTCONN,
		  "unbound_recvv_enotconn");
	memset(&q, 0, sizeof(q));
	CHECK_ERR(ioctl(fd, ARGO_DEV_IOC_MAX_MSG_SIZE, &q), ENOTCONN,
		  "unbound_max_msg_size_enotconn");
	CHECK_ERR(ioctl(fd, ARGO_DEV_IOC_STATS, &s), ENOTCONN,
		  "unbound_stats_enotconn");
	/* Unbound beats a bad argument: the state is checked first. */
	CHECK_ERR(ioctl(fd, ARGO_DEV_IOC_SEND, NULL), ENOTCONN,
		  "unbound_send_null_arg_enotconn");
	check(argo_poll(fd, POLLIN | POLLOUT, 0) == POLLERR,
	      "unbound_poll_reports_pollerr");
	close(fd);
}

static void test_bind_errors(void)
{
	struct argo_dev_bind b;
	int fd = dev_open(0);
	int fd2;

	CHECK_ERR(bind_raw(fd, DOM_A, PORT_A, DOM_B, 0), EINVAL,
		  "bind_ring_size_0_einval");
	CHECK_ERR(bind_raw(fd, DOM_A, PORT_A, DOM_B, 47), EINVAL,
		  "bind_ring_size_47_einval");
	CHECK_ERR(bind_raw(fd, DOM_A, PORT_A, DOM_B, 32), EINVAL,
		  "bind_ring_size_32_below_min_einval");
	CHECK_ERR(bind_raw(fd, DOM_A, PORT_A, DOM_B, 4100), EINVAL,
		  "bind_ring_size_not_multiple_of_16_einval");
	CHECK_ERR(bind_raw(fd, DOM_A, PORT_A, DOM_B, 0x1000010), EINVAL,
		  "bind_ring_size_over_16mib_einval");
	CHECK_ERR(bind_raw(fd, DOM_A, PORT_A, DOM_B, 0x1000000), EINVAL,
		  "bind_ring_size_16mib_einval");
	CHECK_ERR(bind_raw(fd, DOM_A, PORT_A, DOM_B,
			   ARGO_DEV_RING_SIZE_MAX + 16), EINVAL,
		  "bind_ring_size_max_plus_16_einval");
	CHECK_ERR(bind_raw(fd, DOM_A, PORT_A, DOM_B, 0xfffffff0u), EINVAL,
		  "bind_ring_size_huge_einval");
	CHECK_ERR(bind_raw(fd, DOM_A, PORT_A, ARGO_DEV_DOMID_SELF, RING),
		  EINVAL, "bind_partner_domid_self_einval");
	CHECK_ERR(bind_raw(fd, DOM_A, PORT_A, 0xffff, RING), EINVAL,
		  "bind_partner_reserved_id_einval");
	CHECK_ERR(bind_raw(fd, 0x7ff5, PORT_A, DOM_B, RING), EINVAL,
		  "bind_domain_reserved_id_einval");
	CHECK_ERR(bind_raw(fd, ARGO_DEV_DOMID_ANY, PORT_A, DOM_B, RING),
		  EINVAL, "bind_domain_any_einval");
	CHECK_ERR(bind_raw(fd, DOM_NONE, PORT_A, DOM_B, RING), ESRCH,
		  "bind_domain_nonexistent_esrch");
	CHECK_ERR(bind_raw(fd, DOM_A, PORT_A, DOM_NONE, RING), ESRCH,
		  "bind_partner_nonexistent_esrch");

	memset(&b, 0, sizeof(b));
	b.port = PORT_A;
	b.partner = DOM_B;
	b.domain = DOM_A;
	b.ring_size = RING;
	b.flags = 1;
	CHECK_ERR(ioctl(fd, ARGO_DEV_IOC_BIND, &b), EINVAL,
		  "bind_flags_nonzero_einval");
	b.flags = 0;
	b.reserved[1] = 1;
	CHECK_ERR(ioctl(fd, ARGO_DEV_IOC_BIND, &b), EINVAL,
		  "bind_reserved_nonzero_einval");
	CHECK_ERR(ioctl(fd, ARGO_DEV_IOC_BIND, NULL), EFAULT,
		  "bind_null_pointer_efault");
	CHECK_ERR(ioctl(fd, ARGO_DEV_IOC_BIND, (void *)1), EFAULT,
		  "bind_pointer_1_efault");
	CHECK_ERR(ioctl(fd, ARGO_DEV_IOC_BIND, unmapped), EFAULT,
		  "bind_unmapped_pointer_efault");
	CHECK_ERR(ioctl(fd, ARGO_DEV_IOC_BIND, (void *)-4096L), EFAULT,
		  "bind_kernel_pointer_efault");

	/* After all those failures the file can still be bound... */
	check_eq(bind_raw(fd, DOM_A, PORT_A, DOM_B, RING), 0,
		 "bind_after_failed_binds_succeeds");
	/* ...once. */
	CHECK_ERR(bind_raw(fd, DOM_A, PORT_A + 100, DOM_B, RING), EISCONN,
		  "bind_twice_eisconn");
	fd2 = dev_open(0);
	CHECK_ERR(bind_raw(fd2, DOM_A, PORT_A, DOM_B, RING), EEXIST,
		  "bind_taken_port_and_partner_eexist");
	check_eq(bind_raw(fd2, DOM_B, PORT_A, DOM_A, RING), 0,
		 "bind_same_port_other_domain_succeeds");
	close(fd2);
	close(fd);
	/* Closing released the ring: the port can be bound again. */
	fd = dev_open(0);
	check_eq(bind_raw(fd, DOM_A, PORT_A, DOM_B, RING), 0,
		 "bind_port_free_again_after_close");
	close(fd);
}

static void test_info_bound(int a)
{
	struct argo_dev_info info;

	memset(&info, 0xff, sizeof(info));
	check(argo_info(a, &info) == 0 && (info.flags & ARGO_DEV_INFO_BOUND) &&
	      info.domain == DOM_A && info.port == PORT_A &&
	      info.partner == DOM_B && info.ring_size == RING,
	      "info_bound_reports_domain_port_partner_ring");
	CHECK_ERR(ioctl(a, ARGO_DEV_IOC_INFO, NULL), EFAULT,
		  "info_null_pointer_efault");
	CHECK_ERR(ioctl(a, ARGO_DEV_IOC_INFO, readonly), EFAULT,
		  "info_readonly_pointer_efault");
}

static void test_send_recv(int a, int b)
{
	static const char hello[] = "hello from domain 1";
	static const char reply[] = "and back from domain 2";
	unsigned char buf[RING];
	struct argo_dev_msg m;
	struct argo_msg_info mi;
	ssize_t n;

	check_eq(send_ioctl(a, DOM_B, PORT_B, 7, hello, sizeof(hello)),
		 sizeof(hello), "send_returns_payload_length");
	memset(buf, 0, sizeof(buf));
	n = recv_ioctl(b, buf, sizeof(buf), &m);
	check(n == sizeof(hello) && m.len == sizeof(hello) &&
	      !memcmp(buf, hello, sizeof(hello)),
	      "recv_returns_whole_message");
	check(m.domain == DOM_A && m.port == PORT_A && m.type == 7 &&
	      !m.flags && !m.reserved,
	      "recv_reports_source_domain_port_and_type");

	n = argo_send(b, DOM_A, PORT_A, 9, reply, sizeof(reply));
	memset(buf, 0, sizeof(buf));
	n = n < 0 ? n : argo_recv(a, buf, sizeof(buf), &mi);
	check(n == sizeof(reply) && !memcmp(buf, reply, sizeof(reply)) &&
	      mi.domain == DOM_B && mi.port == PORT_B && mi.type == 9,
	      "send_recv_other_direction");

	check_eq(send_ioctl(a, DOM_B, PORT_B, 1, NULL, 0), 0,
		 "send_zero_length_succeeds");
	n = recv_ioctl(b, NULL, 0, &m);
	check(n == 0 && m.len == 0 && m.domain == DOM_A && m.type == 1,
	      "recv_zero_length_message");

	argo_set_nonblock(b, true);
	CHECK_ERR(recv_ioctl(b, buf, sizeof(buf), &m), EAGAIN,
		  "recv_empty_nonblocking_eagain");
	argo_set_nonblock(b, false);
	argo_msg_init(&m, 0, 0, 0, buf, sizeof(buf));
	m.flags = ARGO_DEV_MSG_DONTWAIT;
	CHECK_ERR(ioctl(b, ARGO_DEV_IOC_RECV, &m), EAGAIN,
		  "recv_empty_dontwait_eagain");
}

static void test_recv_limits(int a, int b)
{
	unsigned char big[200], buf[RING];
	struct argo_dev_msg m;
	ssize_t n;

	memset(big, 0x5a, sizeof(big));
	send_ioctl(a, DOM_B, PORT_B, 3, big, sizeof(big));

	n = recv_ioctl(b, buf, 10, &m);
	check(n == -1 && errno == EMSGSIZE && m.len == sizeof(big),
	      "recv_small_buffer_emsgsize_reports_needed_length");
	n = recv_ioctl(b, NULL, 0, &m);
	check(n == -1 && errno == EMSGSIZE && m.len == sizeof(big),
	      "recv_zero_buffer_emsgsize");
	CHECK_ERR(recv_ioctl(b, NULL, sizeof(buf), &m), EFAULT,
		  "recv_null_buffer_efault");
	CHECK_ERR(recv_ioctl(b, (void *)1, sizeof(buf), &m), EFAULT,
		  "recv_buffer_pointer_1_efault");
	CHECK_ERR(recv_ioctl(b, unmapped, sizeof(buf), &m), EFAULT,
		  "recv_unmapped_buffer_efault");
	CHECK_ERR(recv_ioctl(b, readonly, 4096, &m), EFAULT,
		  "recv_readonly_buffer_efault");
	CHECK_ERR(ioctl(b, ARGO_DEV_IOC_RECV, NULL), EFAULT,
		  "recv_null_descriptor_efault");
	CHECK_ERR(ioctl(b, ARGO_DEV_IOC_RECV, unmapped), EFAULT,
		  "recv_unmapped_descriptor_efault");
	argo_msg_init(&m, 0, 0, 0, buf, sizeof(buf));
	m.reserved = 1;
	CHECK_ERR(ioctl(b, ARGO_DEV_IOC_RECV, &m), EINVAL,
		  "recv_reserved_nonzero_einval");
	argo_msg_init(&m, 0, 0, 0, buf, sizeof(buf));
	m.flags = 0x8000;
	CHECK_ERR(ioctl(b, ARGO_DEV_IOC_RECV, &m), EINVAL,
		  "recv_unknown_flag_einval");

	/* None of the failures above consumed the message. */
	memset(buf, 0, sizeof(buf));
	n = recv_ioctl(b, buf, 0xffffffffu, &m);
	check(n == sizeof(big) && !memcmp(buf, big, sizeof(big)) &&
	      m.type == 3, "message_kept_after_failed_receives");
}

static void test_send_limits(int a, int b)
{
	static unsigned char payload[RING];
	struct argo_dev_msg m;
	struct argo_dev_max_size q;
	uint32_t max = 0;
	ssize_t n;

	CHECK_ERR(send_ioctl(a, DOM_B, PORT_B, 0, NULL, 10), EFAULT,
		  "send_null_buffer_efault");
	CHECK_ERR(send_ioctl(a, DOM_B, PORT_B, 0, (void *)1, 10), EFAULT,
		  "send_buffer_pointer_1_efault");
	CHECK_ERR(send_ioctl(a, DOM_B, PORT_B, 0, unmapped, 10), EFAULT,
		  "send_unmapped_buffer_efault");
	CHECK_ERR(send_ioctl(a, DOM_B, PORT_B, 0, (void *)-4096L, 10), EFAULT,
		  "send_kernel_buffer_efault");
	CHECK_ERR(ioctl(a, ARGO_DEV_IOC_SEND, NULL), EFAULT,
		  "send_null_descriptor_efault");
	CHECK_ERR(ioctl(a, ARGO_DEV_IOC_SEND, (void *)1), EFAULT,
		  "send_descriptor_pointer_1_efault");
	CHECK_ERR(ioctl(a, ARGO_DEV_IOC_SEND, unmapped), EFAULT,
		  "send_unmapped_descriptor_efault");
	CHECK_ERR(send_ioctl(a, DOM_B, PORT_B, 0, payload, 0xffffffffu),
		  EMSGSIZE, "send_huge_length_emsgsize");
	CHECK_ERR(send_ioctl(a, DOM_B, PORT_B, 0, payload,
			     ARGO_DEV_MAX_MSG_SIZE + 1),
		  EMSGSIZE, "send_over_argo_max_emsgsize");
	CHECK_ERR(send_ioctl(a, DOM_B, PORT_B, 0, payload, RING - 32 + 1),
		  EMSGSIZE, "send_over_ring_max_emsgsize");
	n = send_ioctl(a, DOM_B, PORT_B, 0, payload, RING - 32);
	check_eq(n, RING - 32, "send_exactly_ring_max_succeeds");
	check_eq(drain(b), 1, "ring_max_message_received");

	argo_msg_init(&m, DOM_B, PORT_B, 0, payload, 1);
	m.reserved = 1;
	CHECK_ERR(ioctl(a, ARGO_DEV_IOC_SEND, &m), EINVAL,
		  "send_reserved_nonzero_einval");
	argo_msg_init(&m, DOM_B, PORT_B, 0, payload, 1);
	m.flags = 0x10;
	CHECK_ERR(ioctl(a, ARGO_DEV_IOC_SEND, &m), EINVAL,
		  "send_unknown_flag_einval");
	CHECK_ERR(send_ioctl(a, DOM_B, PORT_NONE, 0, payload, 1), ECONNREFUSED,
		  "send_to_port_without_ring_econnrefused");
	CHECK_ERR(send_ioctl(a, DOM_NONE, PORT_B, 0, payload, 1), ESRCH,
		  "send_to_nonexistent_domain_esrch");
	CHECK_ERR(send_ioctl(a, ARGO_DEV_DOMID_SELF, PORT_B, 0, payload, 1),
		  ESRCH, "send_to_domid_self_esrch");
	check_eq(drain(b), 0, "failed_sends_delivered_nothing");

	check(argo_max_msg_size(a, DOM_B, PORT_B, &max) == 0 &&
	      max == RING - 32, "max_msg_size_is_ring_size_minus_32");
	CHECK_ERR(argo_max_msg_size(a, DOM_B, PORT_NONE, &max), ECONNREFUSED,
		  "max_msg_size_no_ring_econnrefused");
	memset(&q, 0, sizeof(q));
	q.domain = DOM_B;
	q.port = PORT_B;
	q.pad = 1;
	CHECK_ERR(ioctl(a, ARGO_DEV_IOC_MAX_MSG_SIZE, &q), EINVAL,
		  "max_msg_size_pad_nonzero_einval");
	q.pad = 0;
	q.domain = 0x7ff5;
	CHECK_ERR(ioctl(a, ARGO_DEV_IOC_MAX_MSG_SIZE, &q), EINVAL,
		  "max_msg_size_reserved_domain_einval");
	CHECK_ERR(ioctl(a, ARGO_DEV_IOC_MAX_MSG_SIZE, NULL), EFAULT,
		  "max_msg_size_null_pointer_efault");
}

static void test_partner(int b)
{
	int c = endpoint(DOM_C, PORT_A, DOM_B, RING, 0);
	char x = 'x';

	/* B's ring accepts domain 1 only. */
	CHECK_ERR(send_ioctl(c, DOM_B, PORT_B, 0, &x, 1), ECONNREFUSED,
		  "send_from_non_partner_econnrefused");
	check_eq(drain(b), 0, "non_partner_message_not_delivered");
	close(c);
}

/* Batches of @n messages @from -> @to (bound to @to_dom:@to_port). */
static void test_batch_dir(int from, int to, uint16_t from_dom,
			   uint16_t to_dom, uint32_t to_port, unsigned int n,
			   const char *send_name, const char *recv_name)
{
	struct argo_dev_msg out[ARGO_DEV_MAX_BATCH], in[ARGO_DEV_MAX_BATCH];
	static char payload[ARGO_DEV_MAX_BATCH][32];
	static char got[ARGO_DEV_MAX_BATCH][32];
	unsigned int i;
	bool ok;
	int r;

	for (i = 0; i < n; i++) {
		snprintf(payload[i], sizeof(payload[i]), "batch %u/%u", i, n);
		argo_msg_init(&out[i], to_dom, to_port, 100 + i, payload[i],
			      strlen(payload[i]));
	}
	r = argo_sendv(from, out, n);
	check_eq(r, n, send_name);

	/* Ask for one more than was sent, when the limit allows. */
	for (i = 0; i < n + (n < ARGO_DEV_MAX_BATCH); i++) {
		memset(got[i], 0, sizeof(got[i]));
		argo_msg_init(&in[i], 0, 0, 0, got[i], sizeof(got[i]));
	}
	r = argo_recvv(to, in, n + (n < ARGO_DEV_MAX_BATCH));
	ok = r == (int)n;
	for (i = 0; ok && i < n; i++)
		ok = in[i].len == strlen(payload[i]) &&
		     !strcmp(got[i], payload[i]) && in[i].type == 100 + i &&
		     in[i].domain == from_dom;
	if (!ok)
		diag("recvv returned %d (errno %s), want %u in order", r,
		     r < 0 ? strerror(errno) : "-", n);
	check(ok, recv_name);
}

static void test_batch(int a, int b)
{
	struct argo_dev_msg m[ARGO_DEV_MAX_BATCH + 1];
	char small[8], big[100], buf[RING];
	unsigned int i;
	int r;

	test_batch_dir(a, b, DOM_A, DOM_B, PORT_B, 8,
		       "sendv_8_messages_a_to_b", "recvv_8_messages_in_order");
	test_batch_dir(b, a, DOM_B, DOM_A, PORT_A, 5,
		       "sendv_5_messages_b_to_a", "recvv_5_messages_b_to_a");
	test_batch_dir(a, b, DOM_A, DOM_B, PORT_B, ARGO_DEV_MAX_BATCH,
		       "sendv_max_batch", "recvv_max_batch");

	memset(buf, 'b', sizeof(buf));
	for (i = 0; i <= ARGO_DEV_MAX_BATCH; i++)
		argo_msg_init(&m[i], DOM_B, PORT_B, 0, buf, 1);
	check_eq(batch_ioctl(a, ARGO_DEV_IOC_SENDV, m, 0, 0), 0,
		 "sendv_count_0_returns_0");
	CHECK_ERR(batch_ioctl(a, ARGO_DEV_IOC_SENDV, m, ARGO_DEV_MAX_BATCH + 1,
			      0), EINVAL, "sendv_count_over_limit_einval");
	CHECK_ERR(batch_ioctl(a, ARGO_DEV_IOC_SENDV, m, 0xffffffffu, 0),
		  EINVAL, "sendv_count_huge_einval");
	CHECK_ERR(batch_ioctl(a, ARGO_DEV_IOC_RECVV, m, ARGO_DEV_MAX_BATCH + 1,
			      0), EINVAL, "recvv_count_over_limit_einval");
	CHECK_ERR(batch_ioctl(a, ARGO_DEV_IOC_SENDV, m, 1, 1), EINVAL,
		  "sendv_flags_nonzero_einval");
	CHECK_ERR(batch_ioctl(a, ARGO_DEV_IOC_SENDV, NULL, 2, 0), EFAULT,
		  "sendv_null_array_efault");
	CHECK_ERR(batch_ioctl(a, ARGO_DEV_IOC_RECVV, unmapped, 2, 0), EFAULT,
		  "recvv_unmapped_array_efault");
	/* An array that runs off the end of a mapping. */
	CHECK_ERR(batch_ioctl(a, ARGO_DEV_IOC_SENDV,
			      (char *)unmapped - sizeof(m[0]), 2, 0),
		  EFAULT, "sendv_array_crossing_into_unmapped_efault");
	CHECK_ERR(ioctl(a, ARGO_DEV_IOC_SENDV, NULL), EFAULT,
		  "sendv_null_batch_efault");
	check_eq(drain(b), 0, "rejected_batches_sent_nothing");

	/* Stop at the first failure; report it only if nothing was done. */
	m[2].reserved = 1;
	check_eq(argo_sendv(a, m, 4), 2, "sendv_stops_at_bad_descriptor");
	CHECK_ERR(argo_sendv(a, &m[2], 2), EINVAL,
		  "sendv_bad_first_descriptor_einval");
	m[2].reserved = 0;
	m[1].port = PORT_NONE;
	check_eq(argo_sendv(a, m, 3), 1, "sendv_stops_at_refused_message");
	check_eq(drain(b), 3, "sendv_partial_batches_delivered_prefix");
	m[1].port = PORT_B;

	/* recvv: a message too big for its slot ends the batch there. */
	send_ioctl(a, DOM_B, PORT_B, 0, "s", 1);
	memset(big, 'B', sizeof(big));
	send_ioctl(a, DOM_B, PORT_B, 0, big, sizeof(big));
	argo_msg_init(&m[0], 0, 0, 0, small, sizeof(small));
	argo_msg_init(&m[1], 0, 0, 0, small, sizeof(small));
	r = argo_recvv(b, m, 2);
	check(r == 1 && m[0].len == 1, "recvv_stops_before_too_big_message");
	argo_msg_init(&m[0], 0, 0, 0, small, sizeof(small));
	r = argo_recvv(b, m, 2);
	check(r == -1 && errno == EMSGSIZE && m[0].len == sizeof(big),
	      "recvv_too_big_first_message_emsgsize_with_length");
	argo_msg_init(&m[0], 0, 0, 0, buf, sizeof(buf));
	r = argo_recvv(b, m, 1);
	check(r == 1 && m[0].len == sizeof(big), "recvv_big_buffer_gets_it");
	argo_set_nonblock(b, true);
	CHECK_ERR(argo_recvv(b, m, 4), EAGAIN, "recvv_empty_nonblocking_eagain");
	argo_set_nonblock(b, false);
}

/* Fill B's small ring from A without blocking; returns messages sent. */
static int fill_small(int a)
{
	static unsigned char msg[FILL_MSG];
	int sent = 0;

	while (sent < 1000 && send_ioctl(a, DOM_B, PORT_SMALL, 0, msg,
					 sizeof(msg)) == sizeof(msg))
		sent++;
	return sent;
}

static void test_poll_nonblock(int a, int b)
{
	int s = endpoint(DOM_B, PORT_SMALL, DOM_A, SMALL_RING, 0);
	static unsigned char msg[FILL_MSG];
	struct argo_dev_msg m;
	int sent, got, ev, n;
	double t;

	check_eq(argo_poll(b, POLLIN | POLLOUT, 0), POLLOUT,
		 "poll_empty_ring_writable_not_readable");
	send_ioctl(a, DOM_B, PORT_B, 0, "p", 1);
	ev = argo_poll(b, POLLIN, 2000);
	check(ev > 0 && (ev & POLLIN), "poll_readable_after_message");
	drain(b);
	check_eq(argo_poll(b, POLLIN, 0), 0, "poll_not_readable_after_drain");

	argo_set_nonblock(a, true);
	sent = fill_small(a);
	check(sent > 0 && errno == EAGAIN, "nonblocking_send_full_ring_eagain");
	diag("%d messages of %u bytes filled a %u-byte ring", sent, FILL_MSG,
	     SMALL_RING);
	check_eq(argo_poll(a, POLLOUT, 0), 0, "poll_not_writable_after_eagain");
	check_eq(argo_poll(s, POLLIN, 0), POLLIN, "poll_full_ring_readable");
	got = drain(s);
	check_eq(got, sent, "drain_receives_every_message_sent");
	t = now_s();
	ev = argo_poll(a, POLLOUT, 5000);
	check(ev > 0 && (ev & POLLOUT), "poll_writable_again_after_drain");
	diag("writable again after %.1f ms", (now_s() - t) * 1e3);
	check_eq(send_ioctl(a, DOM_B, PORT_SMALL, 0, "w", 1), 1,
		 "send_succeeds_after_writable");
	drain(s);

	argo_set_nonblock(a, false);
	/* On a blocking file, ARGO_DEV_MSG_DONTWAIT makes one send not wait. */
	argo_msg_init(&m, DOM_B, PORT_SMALL, 0, msg, sizeof(msg));
	m.flags = ARGO_DEV_MSG_DONTWAIT;
	n = 0;
	while (n < 1000 && ioctl(a, ARGO_DEV_IOC_SEND, &m) >= 0)
		n++;
	check(n > 0 && errno == EAGAIN, "dontwait_send_full_ring_eagain");
	drain(s);
	close(s);
}

struct sender {
	int fd;
	int done;		/* __atomic: read while the thread runs */
	int ret;
	int err;
};

static void *blocking_sender(void *arg)
{
	static unsigned char msg[FILL_MSG];
	struct sender *sd = arg;

	sd->ret = send_ioctl(sd->fd, DOM_B, PORT_SMALL, 42, msg, sizeof(msg));
	sd->err = errno;
	__atomic_store_n(&sd->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void *delayed_sender(void *arg)
{
	struct sender *sd = arg;

	usleep(200 * 1000);
	sd->ret = send_ioctl(sd->fd, DOM_B, PORT_B, 43, "late", 4);
	__atomic_store_n(&sd->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void test_blocking(int a, int b)
{
	int s = endpoint(DOM_B, PORT_SMALL, DOM_A, SMALL_RING, 0);
	struct sender sd = { .fd = a };
	struct argo_dev_msg m;
	struct sigaction sa;
	struct timespec ts;
	unsigned char buf[RING];
	pthread_t th;
	int sent, got = 0, n;

	argo_set_nonblock(a, true);
	sent = fill_small(a);
	argo_set_nonblock(a, false);

	pthread_create(&th, NULL, blocking_sender, &sd);
	usleep(300 * 1000);
	check(!__atomic_load_n(&sd.done, __ATOMIC_ACQUIRE),
	      "blocking_send_sleeps_on_full_ring");
	n = recv_ioctl(s, buf, sizeof(buf), &m);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	if (pthread_timedjoin_np(th, NULL, &ts)) {
		check(false, "blocking_send_woken_by_reader");
		diag("sender still blocked after 10 s: abandoning the test");
		fflush(stdout);
		_exit(EXIT_ABORT);
	}
	check(n == FILL_MSG && sd.ret == FILL_MSG,
	      "blocking_send_woken_by_reader");
	while (recv_ioctl(s, buf, sizeof(buf), &m) >= 0 && m.type != 42)
		got++;
	check(m.type == 42 && got == sent - 1,
	      "blocked_message_arrives_after_the_others");
	drain(s);
	close(s);

	/* A blocking receive is woken by a sender. */
	sd.done = 0;
	sd.fd = a;
	pthread_create(&th, NULL, delayed_sender, &sd);
	n = recv_ioctl(b, buf, sizeof(buf), &m);
	pthread_join(th, NULL);
	check(n == 4 && m.type == 43 && sd.ret == 4,
	      "blocking_recv_woken_by_sender");

	/* A signal interrupts a blocking receive: EINTR, nothing lost. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	CHECK_ERR(recv_ioctl(b, buf, sizeof(buf), &m), EINTR,
		  "blocking_recv_interrupted_by_signal_eintr");
	alarm(0);
}

#define CONC_THREADS	4
#define CONC_MSGS	100

struct conc_sender {
	int fd;
	uint32_t id;
	int sent;
};

static void *conc_send(void *arg)
{
	struct conc_sender *cs = arg;
	uint32_t msg[FILL_MSG / 4];
	sigset_t set;
	int i;

	/* The reader's alarm is for the reader. */
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	memset(msg, 0, sizeof(msg));
	for (i = 0; i < CONC_MSGS; i++) {
		msg[0] = cs->id;
		msg[1] = (uint32_t)i;
		if (send_ioctl(cs->fd, DOM_B, PORT_SMALL, 5, msg,
			       sizeof(msg)) != sizeof(msg))
			break;
		cs->sent++;
	}
	return NULL;
}

/*
 * Several threads share one endpoint and send blocking to a ring that
 * holds three messages while one reader drains it: every message arrives
 * once, each thread's in order, and no sender sleeps forever.
 */
static void test_concurrent(int a)
{
	int s = endpoint(DOM_B, PORT_SMALL, DOM_A, SMALL_RING, 0);
	struct conc_sender cs[CONC_THREADS];
	uint32_t next[CONC_THREADS] = { 0 };
	pthread_t th[CONC_THREADS];
	struct argo_dev_msg m;
	uint32_t buf[RING / 4];
	int i, got = 0, bad = 0, fails = 0;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	for (i = 0; i < CONC_THREADS; i++) {
		cs[i].fd = a;
		cs[i].id = (uint32_t)i;
		cs[i].sent = 0;
		pthread_create(&th[i], NULL, conc_send, &cs[i]);
	}
	alarm(30);	/* a lost wake-up ends in EINTR, not a hang */
	while (got < CONC_THREADS * CONC_MSGS) {
		if (recv_ioctl(s, buf, sizeof(buf), &m) != FILL_MSG) {
			fails++;
			break;
		}
		if (buf[0] >= CONC_THREADS || buf[1] != next[buf[0]]++)
			bad++;
		got++;
	}
	alarm(0);
	for (i = 0; i < CONC_THREADS; i++) {
		pthread_join(th[i], NULL);
		if (cs[i].sent != CONC_MSGS)
			fails++;
	}
	if (fails || bad)
		diag("received %d of %d, %d out of order, %d failures", got,
		     CONC_THREADS * CONC_MSGS, bad, fails);
	check(!fails && !bad && got == CONC_THREADS * CONC_MSGS,
	      "concurrent_blocking_senders_all_delivered_in_order");
	close(s);
}

static void test_stats(int a, int b)
{
	struct argo_dev_stats sa, sb, sa2, sb2;
	unsigned char buf[64];
	struct argo_dev_msg m;

	argo_stats(a, &sa);
	argo_stats(b, &sb);
	send_ioctl(a, DOM_B, PORT_B, 0, "12345", 5);
	recv_ioctl(b, buf, sizeof(buf), &m);
	check(argo_stats(a, &sa2) == 0 && argo_stats(b, &sb2) == 0 &&
	      sa2.tx_msgs == sa.tx_msgs + 1 &&
	      sa2.tx_bytes == sa.tx_bytes + 5 &&
	      sb2.rx_msgs == sb.rx_msgs + 1 &&
	      sb2.rx_bytes == sb.rx_bytes + 5 && !sb2.ring_errors,
	      "stats_count_messages_and_bytes");
	check(sa2.tx_eagain > 0 && sa2.tx_ready > 0,
	      "stats_count_eagain_and_tx_ready");
	CHECK_ERR(ioctl(a, ARGO_DEV_IOC_STATS, unmapped), EFAULT,
		  "stats_unmapped_pointer_efault");
}

static void test_bad_ioctls(int a)
{
	char buf[16];

	CHECK_ERR(ioctl(a, _IO(ARGO_DEV_IOC_MAGIC, 0x99), 0), ENOTTY,
		  "unknown_ioctl_number_enotty");
	CHECK_ERR(ioctl(a, _IOW(ARGO_DEV_IOC_MAGIC, 0x02, uint32_t), buf),
		  ENOTTY, "known_number_wrong_size_enotty");
	CHECK_ERR(ioctl(a, _IOR(ARGO_DEV_IOC_MAGIC, 0x02,
				struct argo_dev_msg), buf),
		  ENOTTY, "known_number_wrong_direction_enotty");
	CHECK_ERR(ioctl(a, _IO('T', 0x01), 0), ENOTTY,
		  "foreign_ioctl_enotty");
	CHECK_ERR(ioctl(a, 0xffffffffu, unmapped), ENOTTY,
		  "ioctl_all_ones_enotty");
	CHECK_ERR(read(a, buf, sizeof(buf)), EINVAL, "read_not_supported_einval");
	CHECK_ERR(write(a, buf, sizeof(buf)), EINVAL,
		  "write_not_supported_einval");
	CHECK_ERR(lseek(a, 0, SEEK_SET), ESPIPE, "lseek_espipe");
}

static void test_close_busy(void)
{
	/* Closing endpoints with queued messages and queued waits is clean. */
	int x = endpoint(DOM_A, PORT_A + 10, DOM_B, RING, O_NONBLOCK);
	int y = endpoint(DOM_B, PORT_B + 10, DOM_A, SMALL_RING, 0);
	int i, n = 0;

	for (i = 0; i < 100; i++)
		if (send_ioctl(x, DOM_B, PORT_B + 10, 0, "queued", 6) == 6)
			n++;
	close(y);
	CHECK_ERR(send_ioctl(x, DOM_B, PORT_B + 10, 0, "gone", 4),
		  ECONNREFUSED, "send_after_receiver_closed_econnrefused");
	close(x);
	check(n > 0, "close_with_queued_messages_and_waiters");
}

/* xorshift64*: deterministic, so a failure can be replayed. */
static uint64_t fuzz_state = 0x9e3779b97f4a7c15ull;

static uint64_t fuzz_rand(void)
{
	fuzz_state ^= fuzz_state >> 12;
	fuzz_state ^= fuzz_state << 25;
	fuzz_state ^= fuzz_state >> 27;
	return fuzz_state * 0x2545f4914f6cdd1dull;
}

static uint64_t fuzz_pick(const uint64_t *v, size_t n)
{
	return v[fuzz_rand() % n];
}

static uint64_t fuzz_ptr(void *good, size_t good_len)
{
	uint64_t v[] = {
		0, 1, (uintptr_t)good, (uintptr_t)good + good_len - 1,
		(uintptr_t)unmapped, (uintptr_t)readonly,
		(uintptr_t)unmapped - 8, 0xffffffffffff0000ull,
		(uintptr_t)good, fuzz_rand(),
	};

	return fuzz_pick(v, ARRAY_SIZE(v));
}

static uint32_t fuzz_u32(void)
{
	static const uint64_t v[] = {
		0, 1, 15, 16, 47, 48, 64, 256, 4064, 4065, 4096,
		ARGO_DEV_MAX_MSG_SIZE, ARGO_DEV_MAX_MSG_SIZE + 1,
		ARGO_DEV_RING_SIZE_MAX, 0x7fffffff, 0xffffffff,
	};

	return fuzz_rand() & 1 ? (uint32_t)fuzz_rand() :
	       (uint32_t)fuzz_pick(v, ARRAY_SIZE(v));
}

static uint16_t fuzz_dom(void)
{
	static const uint64_t v[] = {
		0, 1, 2, 3, 7, 8, DOM_NONE, 0x7fef, ARGO_DEV_DOMID_SELF,
		ARGO_DEV_DOMID_ANY, 0x7ff5, 0xffff,
	};

	return (uint16_t)fuzz_pick(v, ARRAY_SIZE(v));
}

static uint32_t fuzz_port(void)
{
	static const uint64_t v[] = {
		0, PORT_A, PORT_B, PORT_NONE, 0x7e571000, 0x7e571001,
		0xffffffff,
	};

	return (uint32_t)fuzz_pick(v, ARRAY_SIZE(v));
}

/* Random descriptor contents, mostly plausible, sometimes garbage. */
static void fuzz_fill(void *p, size_t len, unsigned char *buf, size_t buf_len)
{
	struct argo_dev_msg *m = p;
	struct argo_dev_bind *b = p;
	unsigned int i;

	memset(p, 0, len);
	switch (fuzz_rand() % 4) {
	case 0:		/* garbage */
		for (i = 0; i < len; i++)
			((unsigned char *)p)[i] = (unsigned char)fuzz_rand();
		break;
	case 1:		/* a bind */
		b->port = fuzz_port();
		b->partner = fuzz_dom();
		b->domain = fuzz_dom();
		b->ring_size = fuzz_rand() & 1 ? 4096 : fuzz_u32();
		if (!(fuzz_rand() % 8))
			b->flags = (uint32_t)fuzz_rand();
		break;
	default:	/* message descriptors */
		for (i = 0; (i + 1) * sizeof(*m) <= len; i++) {
			m[i].buf = fuzz_ptr(buf, buf_len);
			m[i].len = fuzz_rand() & 1 ? fuzz_rand() % buf_len :
				   fuzz_u32();
			m[i].type = (uint32_t)fuzz_rand();
			m[i].port = fuzz_port();
			m[i].domain = fuzz_dom();
			if (!(fuzz_rand() % 8))
				m[i].flags = (uint16_t)fuzz_rand();
			else
				m[i].flags = fuzz_rand() & 1 ?
					     ARGO_DEV_MSG_DONTWAIT : 0;
			if (!(fuzz_rand() % 16))
				m[i].reserved = fuzz_rand();
		}
		break;
	}
}

static bool fuzz_errno_ok(int e)
{
	switch (e) {
	case EINVAL: case EFAULT: case ENOTCONN: case EISCONN: case EEXIST:
	case ESRCH: case ECONNREFUSED: case EMSGSIZE: case EAGAIN:
	case ENOTTY: case EPERM: case ENOSPC: case ENOMEM:
		return true;
	default:
		return false;
	}
}

/*
 * Random ioctls with random arguments on non-blocking endpoints: every
 * call must return a result or a documented errno, and the kernel must
 * neither crash nor warn (the harness checks the console).
 */
static void test_fuzz(void)
{
	static const unsigned long cmds[] = {
		ARGO_DEV_IOC_BIND, ARGO_DEV_IOC_SEND, ARGO_DEV_IOC_RECV,
		ARGO_DEV_IOC_SENDV, ARGO_DEV_IOC_RECVV,
		ARGO_DEV_IOC_MAX_MSG_SIZE, ARGO_DEV_IOC_INFO,
		ARGO_DEV_IOC_STATS,
	};
	static struct argo_dev_msg arr[ARGO_DEV_MAX_BATCH + 2];
	static unsigned char buf[8192];
	struct argo_dev_batch batch;
	int fds[4], bad = 0, i, k, r, e;
	void *arg;

	for (k = 0; k < 4; k++)
		fds[k] = dev_open(O_NONBLOCK);
	for (i = 0; i < 20000; i++) {
		unsigned long cmd = cmds[fuzz_rand() % 8];
		int fd = fds[fuzz_rand() % 4];

		if (!(fuzz_rand() % 50))
			cmd = _IOC(fuzz_rand() % 4, ARGO_DEV_IOC_MAGIC,
				   fuzz_rand() % 16, fuzz_rand() % 128);
		if (cmd == ARGO_DEV_IOC_SENDV || cmd == ARGO_DEV_IOC_RECVV) {
			fuzz_fill(arr, sizeof(arr), buf, sizeof(buf));
			batch.msgs = fuzz_rand() % 4 ? (uintptr_t)arr :
				     fuzz_ptr(arr, sizeof(arr));
			batch.count = fuzz_rand() % 4 ?
				      (uint32_t)(fuzz_rand() % 70) : fuzz_u32();
			batch.flags = fuzz_rand() % 8 ? 0 : (uint32_t)fuzz_rand();
			arg = &batch;
		} else {
			fuzz_fill(arr, sizeof(arr[0]) * 2, buf, sizeof(buf));
			arg = arr;
		}
		if (!(fuzz_rand() % 10))
			arg = (void *)(uintptr_t)fuzz_ptr(arr, sizeof(arr));
		r = ioctl(fd, cmd, arg);
		e = errno;
		if (r < 0 && !fuzz_errno_ok(e)) {
			if (bad++ < 5)
				diag("fuzz %d: cmd %#lx: errno %d %s", i, cmd,
				     e, strerror(e));
		}
		if (!(fuzz_rand() % 500)) {
			k = (int)(fuzz_rand() % 4);
			close(fds[k]);
			fds[k] = dev_open(O_NONBLOCK);
		}
	}
	for (k = 0; k < 4; k++)
		close(fds[k]);
	check(!bad, "random_ioctls_give_documented_errnos");
}

static int run_checks(void)
{
	int a, b;

	pages = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pages == MAP_FAILED ||
	    mprotect(pages + 4096, 4096, PROT_NONE) ||
	    mprotect(pages + 2 * 4096, 4096, PROT_READ)) {
		diag("mmap: %s", strerror(errno));
		return EXIT_ABORT;
	}
	unmapped = pages + 4096;
	readonly = pages + 2 * 4096;

	test_device();
	test_unbound();
	test_bind_errors();

	a = endpoint(DOM_A, PORT_A, DOM_B, RING, 0);
	b = endpoint(DOM_B, PORT_B, DOM_A, RING, 0);
	test_info_bound(a);
	test_send_recv(a, b);
	test_recv_limits(a, b);
	test_send_limits(a, b);
	test_partner(b);
	test_batch(a, b);
	test_poll_nonblock(a, b);
	test_blocking(a, b);
	test_concurrent(a);
	test_stats(a, b);
	test_bad_ioctls(a);
	close(a);
	close(b);
	test_close_busy();
	test_fuzz();
	return failures ? 1 : 0;
}

/*
 * Parent: run the checks in a child, collect its output, then print the
 * document with the real plan and one more check for the child's fate.
 */
int main(void)
{
	int pfd[2], status = 0, n = 0, nlines = 0, cap = 256;
	char **lines = malloc(cap * sizeof(*lines));
	bool timed_out = false, ok;
	char *line = NULL;
	size_t len = 0;
	double deadline;
	FILE *in;
	pid_t pid;

	if (!lines || pipe(pfd)) {
		perror("argo_dev_test");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (!pid) {
		dup2(pfd[1], STDOUT_FILENO);
		close(pfd[0]);
		close(pfd[1]);
		_exit(run_checks());
	}
	close(pfd[1]);
	in = fdopen(pfd[0], "r");
	deadline = now_s() + TIMEOUT_S;
	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		int left = (int)((deadline - now_s()) * 1000);

		if (left <= 0 || poll(&p, 1, left) == 0) {
			timed_out = true;
			kill(pid, SIGKILL);
			break;
		}
		if (getline(&line, &len, in) < 0)
			break;
		if (nlines == cap) {
			cap *= 2;
			lines = realloc(lines, cap * sizeof(*lines));
			if (!lines)
				return 1;
		}
		lines[nlines++] = strdup(line);
		if (!strncmp(line, "ok ", 3) || !strncmp(line, "not ok ", 7))
			n++;
	}
	waitpid(pid, &status, 0);

	printf("KTAP version 1\n1..%d\n", n + 1);
	for (int i = 0; i < nlines; i++)
		fputs(lines[i], stdout);
	ok = !timed_out && WIFEXITED(status) &&
	     WEXITSTATUS(status) != EXIT_ABORT;
	if (timed_out)
		printf("# checks killed after %d s\n", TIMEOUT_S);
	else if (WIFSIGNALED(status))
		printf("# checks died of signal %d\n", WTERMSIG(status));
	else if (!ok)
		printf("# checks stopped early: a setup step failed\n");
	printf("%sok %d checks_completed\n", ok ? "" : "not ", n + 1);
	return ok && WEXITSTATUS(status) == 0 ? 0 : 1;
}
