// SPDX-License-Identifier: MIT
/*
 * argo: check and use Argo paths between domains from the command line.
 *
 *   argo info [--domain D]
 *   argo listen --port P [--partner D] [--domain D] [-c N] [--ring-size B]
 *   argo send --to D:P [--type T] [--domain D] [--port P] TEXT|-
 *   argo ping --to D:P [-c N] [--size B] [-i SEC] [-W SEC] [--domain D]
 *   argo pong --port P [--partner D] [--domain D] [-c N] [-q]
 *
 * ping sends requests to a pong server and prints round-trip times the way
 * ping(8) does.  Exit status: 0 success; 1 ping got no reply at all, or
 * listen/pong/send/info hit an Argo error; 2 usage error, or /dev/argo
 * could not be opened or bound.
 *
 * Copyright (c) 2026 The virtio-argo authors
 */
#define _GNU_SOURCE		/* ppoll() */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libargo.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define EXIT_FAIL	1
#define EXIT_USAGE	2

/* Message types of the ping protocol ("PING", "PONG" in ASCII). */
#define ARGO_CLI_PING	0x50494e47u
#define ARGO_CLI_PONG	0x504f4e47u

#define ARGO_CLI_RING	(64 * 1024)	/* default ring for listen/pong */
#define PING_HDR	16		/* seq, id, send time */
#define PING_DEFAULT	56

static const char *prog = "argo";
/* Set by SIGINT/SIGTERM; a lock-free atomic is safe in a handler. */
static int stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	__atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED);
}

static bool stopped(void)
{
	return __atomic_load_n(&stop_flag, __ATOMIC_RELAXED);
}

/* The signal mask while waiting: the stop signals open. */
static sigset_t wait_mask;

/*
 * SIGINT and SIGTERM stop the command.  They stay blocked except inside
 * ppoll(), which opens them atomically with the wait: a signal can never
 * slip in between the check of the flag and a sleep, and be lost until
 * the next message arrives.  Every wait is therefore a ppoll() on a
 * non-blocking file, never a blocking ioctl.
 */
static void catch_signals(void)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
}

/*
 * Wait up to @timeout_ms (-1: forever) for @events on @fd (-1: just
 * sleep).  Returns the revents, 0 on timeout, -1 when told to stop.
 */
static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	struct timespec ts, *tsp = NULL;
	int r;

	if (stopped())
		return -1;
	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (timeout_ms % 1000) * 1000000L;
		tsp = &ts;
	}
	r = ppoll(&p, 1, tsp, &wait_mask);
	if (stopped())
		return -1;
	return r > 0 ? p.revents : 0;
}

/* One message, waiting for it; -1 with errno EINTR when told to stop. */
static ssize_t recv_wait(int fd, void *buf, size_t cap,
			 struct argo_msg_info *mi)
{
	ssize_t n;

	for (;;) {
		n = argo_recv(fd, buf, cap, mi);
		if (n >= 0 || errno != EAGAIN)
			return n;
		if (wait_fd(fd, POLLIN, -1) < 0) {
			errno = EINTR;
			return -1;
		}
	}
}

/* One message, waiting for room; -1 with errno EINTR when told to stop. */
static ssize_t send_wait(int fd, uint16_t domain, uint32_t port,
			 uint32_t type, const void *buf, size_t len)
{
	ssize_t n;

	for (;;) {
		n = argo_send(fd, domain, port, type, buf, len);
		if (n >= 0 || errno != EAGAIN)
			return n;
		if (wait_fd(fd, POLLOUT, -1) < 0) {
			errno = EINTR;
			return -1;
		}
	}
}

static void print_help(FILE *out)
{
	fprintf(out,
		"usage: %s COMMAND [OPTIONS]\n"
		"\n"
		"  info   [--domain D]                  provider and domain id\n"
		"  listen --port P [--partner D] [--domain D] [-c N] [--ring-size B]\n"
		"                                       print received messages\n"
		"  send   --to D:P [--type T] [--domain D] [--port P] TEXT|-\n"
		"                                       send one message (- : stdin)\n"
		"  ping   --to D:P [-c N] [--size B] [-i SEC] [-W SEC] [--domain D]\n"
		"                                       round trips to a pong server\n"
		"  pong   --port P [--partner D] [--domain D] [-c N] [-q]\n"
		"                                       echo every request back\n"
		"\n"
		"Domains are numbers (\"self\" for --domain, \"any\" for --partner);\n"
		"--domain picks a virtual domain under the loopback provider.\n"
		"Exit: 0 ok, 1 no reply or Argo error, 2 usage or setup error.\n",
		prog);
}

static void die_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	print_help(stderr);
	exit(EXIT_USAGE);
}

static void warn_errno(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
}

static const char *domain_str(uint16_t d, char *buf, size_t len)
{
	if (d == ARGO_DEV_DOMID_SELF)
		return "self";
	if (d == ARGO_DEV_DOMID_ANY)
		return "any";
	snprintf(buf, len, "%u", d);
	return buf;
}

struct opts {
	uint16_t domain;
	uint16_t partner;
	uint16_t to_domain;
	uint32_t port;
	uint32_t to_port;
	uint32_t type;
	uint32_t ring_size;
	uint32_t size;
	long count;
	double interval;
	double timeout;
	bool have_port, have_to, quiet;
};

enum {
	OPT_TO = 256,
	OPT_PORT,
	OPT_PARTNER,
	OPT_DOMAIN,
	OPT_TYPE,
	OPT_SIZE,
	OPT_RING,
};

static const struct option long_opts[] = {
	{ "to", required_argument, NULL, OPT_TO },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "partner", required_argument, NULL, OPT_PARTNER },
	{ "domain", required_argument, NULL, OPT_DOMAIN },
	{ "type", required_argument, NULL, OPT_TYPE },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "ring-size", required_argument, NULL, OPT_RING },
	{ "count", required_argument, NULL, 'c' },
	{ "interval", required_argument, NULL, 'i' },
	{ "timeout", required_argument, NULL, 'W' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static double parse_seconds(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !(v >= 0) || v > 3600)
		die_usage("bad time in seconds: %s", s);
	return v;
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	unsigned long v;
	char *end;
	int c;

	memset(o, 0, sizeof(*o));
	o->domain = ARGO_DEV_DOMID_SELF;
	o->partner = ARGO_DEV_DOMID_ANY;
	o->ring_size = ARGO_CLI_RING;
	o->size = PING_DEFAULT;
	o->interval = 1.0;
	o->timeout = 1.0;

	while ((c = getopt_long(argc, argv, "c:i:W:qh", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_TO:
			if (argo_parse_addr(optarg, &o->to_domain, &o->to_port))
				die_usage("bad address (want DOMAIN:PORT): %s",
					  optarg);
			o->have_to = true;
			break;
		case OPT_PORT:
			if (argo_parse_port(optarg, &o->port))
				die_usage("bad port: %s", optarg);
			o->have_port = true;
			break;
		case OPT_PARTNER:
			if (argo_parse_domain(optarg, ARGO_PARSE_ANY,
					      &o->partner))
				die_usage("bad partner domain: %s", optarg);
			break;
		case OPT_DOMAIN:
			if (argo_parse_domain(optarg, ARGO_PARSE_SELF,
					      &o->domain))
				die_usage("bad domain: %s", optarg);
			break;
		case OPT_TYPE:
			if (argo_parse_port(optarg, &o->type))
				die_usage("bad message type: %s", optarg);
			break;
		case OPT_SIZE:
			errno = 0;
			v = strtoul(optarg, &end, 0);
			if (errno || *end || *optarg == '-' ||
			    v < PING_HDR || v > ARGO_DEV_MAX_MSG_SIZE)
				die_usage("bad size (16 to 16 MiB - 96): %s",
					  optarg);
			o->size = (uint32_t)v;
			break;
		case OPT_RING:
			errno = 0;
			v = strtoul(optarg, &end, 0);
			if (errno || *end || *optarg == '-' ||
			    v < ARGO_DEV_RING_SIZE_MIN ||
			    v > ARGO_DEV_RING_SIZE_MAX || v % 16)
				die_usage("bad ring size (multiple of 16, 48 to 16 MiB - 64): %s",
					  optarg);
			o->ring_size = (uint32_t)v;
			break;
		case 'c':
			errno = 0;
			o->count = strtol(optarg, &end, 0);
			if (errno || *end || o->count <= 0)
				die_usage("bad count: %s", optarg);
			break;
		case 'i':
			o->interval = parse_seconds(optarg);
			break;
		case 'W':
			o->timeout = parse_seconds(optarg);
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			print_help(stdout);
			exit(0);
		default:
			print_help(stderr);
			exit(EXIT_USAGE);
		}
	}
}

/* One line of advice for the errors an administrator can do something about. */
static void hint(int err)
{
	const char *h = NULL;

	switch (err) {
	case EPERM:
		h = "refused by the hypervisor's access control\n"
		    "  (partner \"any\" needs Xen's argo=1,mac-permissive=1,\n"
		    "  or argo.loopback_mac_permissive=1 on loopback)";
		break;
	case EEXIST:
		h = "that port is already bound for that partner in that domain";
		break;
	case ESRCH:
		h = "no such domain";
		break;
	case ECONNREFUSED:
		h = "no ring there accepts messages from this domain\n"
		    "  (is the listener running, with this domain or \"any\"\n"
		    "  as its partner?)";
		break;
	case EACCES:
		h = "/dev/argo is root-only unless argo.ko is loaded with dev_mode=";
		break;
	}
	if (h)
		fprintf(stderr, "%s: %s\n", prog, h);
}

static int open_dev(int flags)
{
	int fd = argo_open(flags);

	if (fd < 0) {
		int err = errno;

		warn_errno("open " ARGO_DEV_PATH);
		if (err == ENOENT)
			fprintf(stderr, "%s: is argo.ko loaded?\n", prog);
		hint(err);
		exit(EXIT_USAGE);
	}
	return fd;
}

static void bind_or_die(int fd, const struct opts *o, uint32_t port,
			uint16_t partner, uint32_t ring)
{
	char d[8], p[8];

	if (argo_bind(fd, o->domain, port, partner, ring)) {
		fprintf(stderr, "%s: bind port %u partner %s in domain %s: %s\n",
			prog, port, domain_str(partner, p, sizeof(p)),
			domain_str(o->domain, d, sizeof(d)), strerror(errno));
		hint(errno);
		exit(EXIT_USAGE);
	}
}

static void bind_any_or_die(int fd, const struct opts *o, uint16_t partner,
			    uint32_t ring, uint32_t *port)
{
	char d[8];

	if (argo_bind_any_port(fd, o->domain, partner, ring, port)) {
		fprintf(stderr, "%s: bind in domain %s: %s\n", prog,
			domain_str(o->domain, d, sizeof(d)), strerror(errno));
		hint(errno);
		exit(EXIT_USAGE);
	}
}

static int cmd_info(int argc, char **argv)
{
	struct argo_dev_info info;
	struct opts o;
	char d[8];
	int fd;

	parse_opts(argc, argv, &o);
	if (optind != argc)
		die_usage("unexpected argument: %s", argv[optind]);
	fd = open_dev(0);
	if (o.domain != ARGO_DEV_DOMID_SELF) {
		uint32_t port;

		/* Binding is how a virtual domain is checked to exist. */
		bind_any_or_die(fd, &o, o.domain, ARGO_DEV_RING_SIZE_MIN,
				&port);
	}
	if (argo_info(fd, &info)) {
		warn_errno("info");
		return EXIT_FAIL;
	}
	info.provider[sizeof(info.provider) - 1] = '\0';
	printf("provider:         %s\n", info.provider);
	printf("domain:           %s\n",
	       domain_str(info.domain, d, sizeof(d)));
	printf("max message size: %u bytes\n", info.max_msg_size);
	printf("max batch:        %u messages\n", info.max_batch);
	/* Lost or late space wake-ups, which the kernel's poll ended. */
	printf("space waits ended by the poll: %llu\n",
	       (unsigned long long)info.tx_rescued);
	close(fd);
	return 0;
}

/* Print @len bytes of payload, escaping what is not printable. */
static void print_payload(const unsigned char *buf, size_t len)
{
	size_t i, shown = len > 256 ? 256 : len;

	for (i = 0; i < shown; i++) {
		unsigned char c = buf[i];

		if (c == '\\')
			fputs("\\\\", stdout);
		else if (c >= 0x20 && c < 0x7f)
			putchar(c);
		else if (c == '\n')
			fputs("\\n", stdout);
		else
			printf("\\x%02x", c);
	}
	if (shown < len)
		printf("... (%zu more bytes)", len - shown);
}

static int cmd_listen(int argc, char **argv)
{
	struct argo_msg_info mi;
	unsigned char *buf;
	long got = 0;
	struct opts o;
	char d[8], p[8];
	ssize_t n;
	int fd;

	parse_opts(argc, argv, &o);
	if (!o.have_port)
		die_usage("listen needs --port%s", "");
	if (optind != argc)
		die_usage("unexpected argument: %s", argv[optind]);
	buf = malloc(o.ring_size);
	if (!buf) {
		warn_errno("malloc");
		return EXIT_USAGE;
	}
	fd = open_dev(O_NONBLOCK);
	bind_or_die(fd, &o, o.port, o.partner, o.ring_size);
	catch_signals();
	printf("listening on domain %s port %u (partner %s, ring %u bytes)\n",
	       domain_str(o.domain, d, sizeof(d)), o.port,
	       domain_str(o.partner, p, sizeof(p)), o.ring_size);
	fflush(stdout);

	while (!stopped() && (!o.count || got < o.count)) {
		n = recv_wait(fd, buf, o.ring_size, &mi);
		if (n < 0) {
			if (errno == EINTR)
				break;
			warn_errno("receive");
			return EXIT_FAIL;
		}
		got++;
		printf("from %u:%u type %u len %zd: ", mi.domain, mi.port,
		       mi.type, n);
		print_payload(buf, (size_t)n);
		putchar('\n');
		fflush(stdout);
	}
	free(buf);
	close(fd);
	return 0;
}

static int read_all(int in, unsigned char **bufp, size_t *lenp)
{
	size_t cap = 4096, len = 0;
	unsigned char *buf = malloc(cap), *nb;
	ssize_t n;

	if (!buf)
		return -1;
	for (;;) {
		if (len == cap) {
			if (cap > ARGO_DEV_MAX_MSG_SIZE) {
				free(buf);
				errno = EMSGSIZE;
				return -1;
			}
			cap *= 2;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				return -1;
			}
			buf = nb;
		}
		n = read(in, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return -1;
		}
		if (!n)
			break;
		len += (size_t)n;
	}
	*bufp = buf;
	*lenp = len;
	return 0;
}

static int cmd_send(int argc, char **argv)
{
	unsigned char *buf;
	struct opts o;
	size_t len;
	ssize_t n;
	uint32_t port;
	int fd;

	parse_opts(argc, argv, &o);
	if (!o.have_to)
		die_usage("send needs --to DOMAIN:PORT%s", "");
	if (optind != argc - 1)
		die_usage("send needs exactly one TEXT (or - for stdin)%s", "");
	if (!strcmp(argv[optind], "-")) {
		if (read_all(STDIN_FILENO, &buf, &len)) {
			warn_errno("read stdin");
			return EXIT_USAGE;
		}
	} else {
		buf = (unsigned char *)strdup(argv[optind]);
		if (!buf) {
			warn_errno("strdup");
			return EXIT_USAGE;
		}
		len = strlen((char *)buf);
	}

	fd = open_dev(O_NONBLOCK);
	/* A sender needs an endpoint, hence a (small) ring of its own. */
	if (o.have_port) {
		port = o.port;
		bind_or_die(fd, &o, port, o.to_domain, ARGO_DEV_RING_SIZE_MIN);
	} else {
		bind_any_or_die(fd, &o, o.to_domain, ARGO_DEV_RING_SIZE_MIN,
				&port);
	}
	catch_signals();
	n = send_wait(fd, o.to_domain, o.to_port, o.type, buf, len);
	if (n < 0) {
		int err = errno;

		fprintf(stderr, "%s: send to %u:%u: %s\n", prog, o.to_domain,
			o.to_port, strerror(err));
		hint(err);
		return EXIT_FAIL;
	}
	free(buf);
	close(fd);
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void put32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static int cmd_ping(int argc, char **argv)
{
	double rtt, min = 0, max = 0, sum = 0, deadline, start;
	unsigned char *req, *rep;
	struct argo_msg_info mi;
	long seq, sent = 0, got = 0, errors = 0;
	uint32_t port, ring, id, maxsz;
	uint64_t t0;
	struct opts o;
	ssize_t n;
	int fd, ev;

	parse_opts(argc, argv, &o);
	if (!o.have_to)
		die_usage("ping needs --to DOMAIN:PORT%s", "");
	if (optind != argc)
		die_usage("unexpected argument: %s", argv[optind]);
	if (!o.count)
		o.count = -1;

	/* Room for a few replies at once, within Argo's limits. */
	ring = (o.size + 32 + 15) / 16 * 16 * 4;
	if (ring < 4096)
		ring = 4096;
	if (ring > ARGO_DEV_RING_SIZE_MAX)
		ring = ARGO_DEV_RING_SIZE_MAX;
	req = malloc(o.size);
	rep = malloc(o.size);
	if (!req || !rep) {
		warn_errno("malloc");
		return EXIT_USAGE;
	}
	memset(req, 0xa5, o.size);

	fd = open_dev(O_NONBLOCK);
	bind_any_or_die(fd, &o, o.to_domain, ring, &port);
	id = port;
	if (argo_max_msg_size(fd, o.to_domain, o.to_port, &maxsz)) {
		int err = errno;

		fprintf(stderr, "%s: ping %u:%u: %s\n", prog, o.to_domain,
			o.to_port, strerror(err));
		hint(err);
		return EXIT_FAIL;
	}
	if (o.size > maxsz) {
		fprintf(stderr, "%s: %u bytes do not fit the ring at %u:%u (max %u)\n",
			prog, o.size, o.to_domain, o.to_port, maxsz);
		return EXIT_USAGE;
	}
	catch_signals();
	printf("ARGO PING domain %u port %u from port %u: %u bytes\n",
	       o.to_domain, o.to_port, port, o.size);
	fflush(stdout);

	start = now_ms();
	for (seq = 1; !stopped() && (o.count < 0 || seq <= o.count); seq++) {
		put32(req, (uint32_t)seq);
		put32(req + 4, id);
		t0 = now_ns();
		memcpy(req + 8, &t0, sizeof(t0));
		n = argo_send(fd, o.to_domain, o.to_port, ARGO_CLI_PING, req,
			      o.size);
		if (n < 0) {
			fprintf(stderr, "%s: seq=%ld send: %s\n", prog, seq,
				strerror(errno));
			errors++;
		} else {
			sent++;
		}

		/* Wait for this request's reply; skip stale ones. */
		deadline = now_ms() + o.timeout * 1e3;
		while (n >= 0 && !stopped()) {
			double left = deadline - now_ms();

			if (left <= 0)
				break;
			ev = wait_fd(fd, POLLIN, (int)left + 1);
			if (ev <= 0)
				break;
			n = argo_recv(fd, rep, o.size, &mi);
			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR) {
					n = 0;
					continue;
				}
				if (errno == EMSGSIZE) {
					/* Not ours: drain it with a big buffer. */
					unsigned char *big = malloc(mi.len);

					if (big)
						argo_recv(fd, big, mi.len, &mi);
					free(big);
					n = 0;
					continue;
				}
				warn_errno("receive");
				break;
			}
			if (mi.type != ARGO_CLI_PONG || mi.domain != o.to_domain ||
			    n != (ssize_t)o.size || get32(rep + 4) != id ||
			    get32(rep) != (uint32_t)seq)
				continue;
			memcpy(&t0, rep + 8, sizeof(t0));
			rtt = (now_ns() - t0) / 1e6;
			if (!got || rtt < min)
				min = rtt;
			if (!got || rtt > max)
				max = rtt;
			sum += rtt;
			got++;
			printf("%zd bytes from domain %u port %u: seq=%ld time=%.3f ms\n",
			       n, mi.domain, mi.port, seq, rtt);
			fflush(stdout);
			break;
		}
		if (o.count < 0 || seq < o.count)
			wait_fd(-1, 0, (int)(o.interval * 1e3));
	}

	printf("\n--- domain %u port %u argo ping statistics ---\n",
	       o.to_domain, o.to_port);
	printf("%ld transmitted, %ld received, %ld%% loss, %ld errors, time %.0f ms\n",
	       sent, got, sent ? (sent - got) * 100 / sent : 0, errors,
	       now_ms() - start);
	if (got)
		printf("rtt min/avg/max = %.3f/%.3f/%.3f ms\n", min,
		       sum / got, max);
	free(req);
	free(rep);
	close(fd);
	return got ? 0 : EXIT_FAIL;
}

static int cmd_pong(int argc, char **argv)
{
	struct argo_msg_info mi;
	unsigned char *buf;
	long served = 0;
	struct opts o;
	char d[8], p[8];
	ssize_t n;
	int fd;

	parse_opts(argc, argv, &o);
	if (!o.have_port)
		die_usage("pong needs --port%s", "");
	if (optind != argc)
		die_usage("unexpected argument: %s", argv[optind]);
	buf = malloc(o.ring_size);
	if (!buf) {
		warn_errno("malloc");
		return EXIT_USAGE;
	}
	fd = open_dev(O_NONBLOCK);
	bind_or_die(fd, &o, o.port, o.partner, o.ring_size);
	catch_signals();
	printf("pong: serving domain %s port %u (partner %s)\n",
	       domain_str(o.domain, d, sizeof(d)), o.port,
	       domain_str(o.partner, p, sizeof(p)));
	fflush(stdout);

	while (!stopped() && (!o.count || served < o.count)) {
		n = recv_wait(fd, buf, o.ring_size, &mi);
		if (n < 0) {
			if (errno == EINTR)
				break;
			warn_errno("receive");
			return EXIT_FAIL;
		}
		if (mi.type != ARGO_CLI_PING)
			continue;
		if (send_wait(fd, mi.domain, mi.port, ARGO_CLI_PONG, buf,
			      (size_t)n) < 0) {
			if (errno == EINTR)
				break;
			fprintf(stderr, "%s: reply to %u:%u: %s\n", prog,
				mi.domain, mi.port, strerror(errno));
			continue;
		}
		served++;
		if (!o.quiet) {
			printf("pong: %zd bytes from %u:%u echoed\n", n,
			       mi.domain, mi.port);
			fflush(stdout);
		}
	}
	printf("pong: %ld requests served\n", served);
	free(buf);
	close(fd);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} cmds[] = {
	{ "info", cmd_info },
	{ "listen", cmd_listen },
	{ "send", cmd_send },
	{ "ping", cmd_ping },
	{ "pong", cmd_pong },
};

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		print_help(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		print_help(stdout);
		return 0;
	}
	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "%s: unknown command: %s\n", prog, argv[1]);
	print_help(stderr);
	return EXIT_USAGE;
}
