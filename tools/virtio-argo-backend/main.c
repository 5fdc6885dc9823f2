// SPDX-License-Identifier: MIT
/*
 * virtio-argo-backend: serve virtio devices to other domains over Argo.
 *
 *   virtio-argo-backend [--domain D] [--log-level LEVEL]
 *       [--config FILE] [--control PATH]
 *       --blk frontend=F,file=PATH[,readonly=on][,num-queues=N]...
 *       --net frontend=F,switch=NAME|tap=IFNAME[,mac=MAC][,link=up|down]...
 *       --rng frontend=F[,rate=BYTES_PER_SEC][,burst=BYTES]
 *       --console frontend=F,pty[,pty-link=PATH] | frontend=F,socket=PATH ...
 *
 * This file is the process: command line, the /dev/argo transport (one
 * non-blocking endpoint per ring: a control ring per frontend, a data ring
 * per device) and the single-threaded poll() loop that moves messages
 * between those endpoints and the protocol layer (proto.c).  See
 * Documentation/virtio-argo-backend.rst.
 *
 * Signals: SIGTERM or SIGINT stops taking requests, fails the chains still
 * being received, sends what is done, flushes every device and exits 0
 * (1 if a flush failed); a second one exits at once after the flush.
 * SIGHUP reads the configuration file again (config.c: devices new in it
 * are added, devices no longer in it removed) and looks at every device's
 * backing store again (a resized disk is announced to its frontend with
 * EV_CONFIG).  The control socket (control.c) adds and removes devices at
 * run time.
 *
 * Copyright (c) 2026 The virtio-argo authors
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "backend.h"
#include "libargo.h"
#include "options.h"

/* How long completions may take to drain after SIGTERM. */
#define VAB_STOP_TIMEOUT_MS	5000
/* Messages taken from one ring per loop turn, so that none starves. */
#define VAB_RX_BURST		64

/* How often each connected frontend is checked (vab_fe_check()). */
#define VAB_FE_CHECK_MS		1000

static uint8_t *vab_rxbuf;
static size_t vab_rxcap;
static uint16_t vab_domain = ARGO_DEV_DOMID_SELF;

/* ---- The /dev/argo transport ---------------------------------------------- */

static int vab_argo_send(void *ctx, struct vab_ep *ep, uint16_t domain,
			 uint32_t port, uint32_t type, const void *buf,
			 size_t len)
{
	(void)ctx;
	for (;;) {
		if (argo_send(ep->fd, domain, port, type, buf, len) >= 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

static int vab_argo_max_msg(void *ctx, struct vab_ep *ep, uint16_t domain,
			    uint32_t port, uint32_t *max)
{
	(void)ctx;
	return argo_max_msg_size(ep->fd, domain, port, max) ? -errno : 0;
}

static void vab_argo_discard_rx(void *ctx, struct vab_ep *ep)
{
	struct argo_msg_info info;
	unsigned int n = 0;

	(void)ctx;
	if (ep->fd < 0)
		return;
	/* A ring of L bytes holds fewer than L / 32 messages. */
	while (n++ < ep->ring_size / 32 &&
	       (argo_recv(ep->fd, vab_rxbuf, vab_rxcap, &info) >= 0 ||
		errno == EINTR || errno == EIO))
		;
}

/* The receive buffer takes the largest message of every ring we have. */
static int vab_rxbuf_fit(uint32_t ring_size)
{
	uint8_t *p;

	if (VAB_RING_MSG(ring_size) <= vab_rxcap)
		return 0;
	p = realloc(vab_rxbuf, VAB_RING_MSG(ring_size));
	if (!p)
		return -ENOMEM;
	vab_rxbuf = p;
	vab_rxcap = VAB_RING_MSG(ring_size);
	return 0;
}

static int vab_argo_open_ep(void *ctx, struct vab_ep *ep, const char *what)
{
	int e;

	(void)ctx;
	if (vab_rxbuf_fit(ep->ring_size)) {
		vab_log(VAB_LOG_ERROR, "%s: out of memory", what);
		return -ENOMEM;
	}
	ep->fd = argo_open(O_NONBLOCK);
	if (ep->fd < 0) {
		e = errno;
		vab_log(VAB_LOG_ERROR, "open %s: %s%s", ARGO_DEV_PATH,
			strerror(e), e == ENOENT ? " (is argo.ko loaded?)" : "");
		return -e;
	}
	if (argo_bind(ep->fd, vab_domain, ep->port, ep->partner,
		      ep->ring_size)) {
		e = errno;
		vab_log(VAB_LOG_ERROR,
			"%s: bind port %#x for frontend %u (ring %u bytes, domain %s%u): %s%s",
			what, ep->port, ep->partner, ep->ring_size,
			vab_domain == ARGO_DEV_DOMID_SELF ? "self " : "",
			vab_domain == ARGO_DEV_DOMID_SELF ? 0 : vab_domain,
			strerror(e),
			e == EEXIST ? " (another backend serves this frontend?)" :
			e == EPERM ? " (refused by Argo's access control)" :
			e == ESRCH ? " (no such domain)" :
			e == ECONNREFUSED ? " (the frontend domain has no Argo)" :
			"");
		close(ep->fd);
		ep->fd = -1;
		return -e;
	}
	return 0;
}

static void vab_argo_close_ep(void *ctx, struct vab_ep *ep)
{
	(void)ctx;
	if (ep->fd >= 0)
		close(ep->fd);
	ep->fd = -1;
}

/*
 * Register the ring again on a new file; the hypervisor refuses with
 * EEXIST while the old one is still registered (the core registers with
 * FAIL_EXIST), which is the answer to "is it still there?".
 */
static int vab_argo_renew_ep(void *ctx, struct vab_ep *ep)
{
	int fd, e;

	(void)ctx;
	fd = argo_open(O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (argo_bind(fd, vab_domain, ep->port, ep->partner, ep->ring_size)) {
		e = errno;
		close(fd);
		return -e;
	}
	if (ep->fd >= 0)
		close(ep->fd);
	ep->fd = fd;
	ep->tx_blocked = false;
	return 0;
}

/* ---- The loop -------------------------------------------------------------- */

/* Receive up to a burst from @ep; the protocol layer decides what to take. */
static void vab_rx(struct vab_ep *ep, struct vab_frontend *fe,
		   struct vab_dev *d)
{
	struct argo_msg_info info;
	unsigned int n;
	ssize_t r;

	for (n = 0; n < VAB_RX_BURST; n++) {
		if (fe ? !vab_ctrl_rx_ready(fe) : !vab_dev_rx_ready(d))
			return;
		r = argo_recv(ep->fd, vab_rxbuf, vab_rxcap, &info);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EIO) {
				vab_log(VAB_LOG_ERROR,
					"port %#x: ring corrupt, contents dropped",
					ep->port);
				continue;
			}
			if (errno != EAGAIN)
				vab_log(VAB_LOG_ERROR, "port %#x: receive: %s",
					ep->port, strerror(errno));
			return;
		}
		if (fe)
			vab_ctrl_rx(fe, info.domain, info.port, info.type,
				    vab_rxbuf, (size_t)r);
		else
			vab_data_rx(d, info.domain, info.port, info.type,
				    vab_rxbuf, (size_t)r);
	}
}

static struct pollfd *vab_pfd(struct pollfd *pfds, unsigned int *n,
			      struct vab_ep *ep, bool rx)
{
	struct pollfd *p = &pfds[(*n)++];

	p->fd = ep->fd;
	p->events = (short)((rx ? POLLIN : 0) | (ep->tx_blocked ? POLLOUT : 0));
	p->revents = 0;
	return p;
}

/*
 * The pollfd array: the signalfd, then every ring (a control ring per
 * frontend, a data ring per device), then the device classes' watches
 * (loop.c), whose number changes: the array grows to fit.
 */
static int vab_run(struct vab *b, int sigfd)
{
	unsigned int cap = 0, n, nw, f, i;
	struct pollfd *pfds = NULL;
	int64_t deadline = 0;
	int timeout, forced = 0;
	bool hup = false, announced = false;

	for (;;) {
		struct signalfd_siginfo si;

		if (b->stopping) {
			int64_t left = deadline - vab_now_ms();

			if (vab_idle(b) && !announced) {
				/* All sent: now the devices go, at once. */
				vab_announce_exit(b);
				announced = true;
			}
			if (vab_idle(b))
				break;
			if (left <= 0 || forced) {
				vab_log(VAB_LOG_WARN,
					"stopping with completions unsent: a frontend does not read its ring");
				break;
			}
			timeout = (int)left;
		} else {
			timeout = -1;
		}
		timeout = vab_loop_timeout(b, timeout);

		n = 1;
		for (f = 0; f < b->nfes; f++)
			n += 1 + b->fes[f]->ndevs;
		nw = vab_loop_fill(b, NULL, 0);
		if (n + nw > cap) {
			struct pollfd *p = realloc(pfds, (n + nw) * sizeof(*p));

			if (!p) {
				vab_log(VAB_LOG_ERROR, "out of memory");
				free(pfds);
				return -ENOMEM;
			}
			pfds = p;
			cap = n + nw;
		}
		nw = vab_loop_fill(b, pfds + n, cap - n);

		n = 0;
		pfds[n].fd = sigfd;
		pfds[n].events = POLLIN;
		pfds[n++].revents = 0;
		for (f = 0; f < b->nfes; f++) {
			struct vab_frontend *fe = b->fes[f];

			vab_pfd(pfds, &n, &fe->ctrl, vab_ctrl_rx_ready(fe));
			for (i = 0; i < fe->ndevs; i++)
				vab_pfd(pfds, &n, &fe->devs[i]->ep,
					vab_dev_rx_ready(fe->devs[i]));
		}
		if (poll(pfds, n + nw, timeout) < 0) {
			if (errno == EINTR)
				continue;
			vab_log(VAB_LOG_ERROR, "poll: %s", strerror(errno));
			free(pfds);
			return -errno;
		}

		while (pfds[0].revents &&
		       read(sigfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGHUP) {
				hup = true;
			} else if (!b->stopping) {
				vab_log(VAB_LOG_INFO,
					"%s: stopping; finishing requests in flight",
					strsignal((int)si.ssi_signo));
				vab_stop(b);
				deadline = vab_now_ms() + VAB_STOP_TIMEOUT_MS;
			} else {
				forced = 1;
			}
		}

		n = 1;
		for (f = 0; f < b->nfes; f++) {
			struct vab_frontend *fe = b->fes[f];
			struct pollfd *p = &pfds[n++];

			if (p->revents & (POLLERR | POLLNVAL))
				vab_fe_log(fe, NULL, VAB_LOG_ERROR,
					   "control endpoint error");
			if (p->revents & POLLOUT)
				vab_ctrl_tx(fe);
			if (p->revents & POLLIN)
				vab_rx(&fe->ctrl, fe, NULL);
			for (i = 0; i < fe->ndevs; i++) {
				struct vab_dev *d = fe->devs[i];

				p = &pfds[n++];
				if (p->revents & POLLOUT)
					vab_dev_tx(d);
				if (p->revents & POLLIN)
					vab_rx(&d->ep, NULL, d);
			}
		}
		/*
		 * From here on devices and frontends may come and go (the
		 * control socket's watch, a frontend found gone, SIGHUP): the
		 * pollfd entries of the rings were handled above.
		 */
		vab_loop_dispatch(b, pfds + n, nw);
		vab_loop_run_timers(b);
		if (hup) {
			hup = false;
			vab_log(VAB_LOG_INFO, "SIGHUP: %srefreshing devices",
				b->config ? "reading the configuration, " : "");
			if (!b->stopping)
				vab_config_reload(b);
			vab_refresh_all(b);
		}
	}
	free(pfds);
	return 0;
}

/* ---- Command line ------------------------------------------------------------ */

static void vab_usage(FILE *f)
{
	fprintf(f,
		"usage: %s [--domain D] [--log-level LEVEL] [--config FILE]\n"
		"       [--control PATH] --CLASS PROPS...\n"
		"\n"
		"Serve virtio devices to frontend domains over Argo (/dev/argo).\n"
		"\n"
		"  --domain D          domain to act as: self (default) or, under the\n"
		"                      loopback provider, a virtual domain number\n"
		"  --log-level LEVEL   debug, info (default), warn or error\n"
		"  --config FILE       devices, one per line: CLASS PROPS (# comments);\n"
		"                      read again on SIGHUP\n"
		"  --control PATH      a unix socket (mode 0600) taking commands: add\n"
		"                      CLASS PROPS, remove ID, list, link ID up|down,\n"
		"                      stats ID (see virtio-argo-ctl)\n"
		"\n"
		"One option per device, PROPS being key=value,...; every device takes:\n"
		"      frontend=D        the frontend domain (required)\n"
		"      id=NAME           its name (default: class and number, blk0)\n"
		"      ring-size=BYTES   our data ring, 16K..16M-64 (2M)\n"
		"      max-memory=BYTES  memory held for the device's requests (64M)\n"
		"  --blk PROPS         a virtio-blk disk:\n"
		"      file=PATH         disk image or block device (required)\n"
		"      readonly=on|off   offer a read-only disk (off)\n"
		"      num-queues=N      request queues, 1..64 (1)\n"
		"      queue-size=N      largest queue size, power of two <= 1024 (256)\n"
		"      serial=STR        GET_ID string, up to 20 bytes (empty)\n"
		"      discard=on|off    offer DISCARD (on; off when read-only)\n"
		"      write-zeroes=on|off  offer WRITE_ZEROES (on; off when read-only)\n"
		"  --rng PROPS         a virtio-rng entropy source (getrandom):\n"
		"      rate=BYTES        bytes per second the frontend may take (no limit)\n"
		"      burst=BYTES       bytes it may take at once (one second's worth)\n"
		"  --console PROPS     a virtio-console (hvc0 in a Linux guest), one of:\n"
		"      pty               on a new pseudo-terminal (its path is logged)\n"
		"      pty-link=PATH     and a symlink to it at PATH\n"
		"      socket=PATH       on a unix socket listening at PATH, one client\n"
		"                        at a time (output discarded while none)\n"
		"  --net PROPS         a virtio-net device on a switch or a tap:\n"
		"      switch=NAME       join the built-in switch NAME (made at first use)\n"
		"      tap=IFNAME        or the tap device IFNAME (made if missing)\n"
		"      mac=MAC           its address (52:54:00:FH:FL:I from the frontend\n"
		"                        id FH:FL and the device index I)\n"
		"      link=up|down      link status at start (up)\n"
		"      mtu=N             MTU offered, 68..65535 (1500)\n"
		"      queue-size=N      largest queue size, power of two <= 1024 (256)\n"
		"      offload=on|off    offer checksum and TSO offloads (on)\n"
		"Sizes take K and M suffixes; \",,\" stands for a comma inside a value.\n"
		"\n"
		"Devices get indexes 0, 1, ... per frontend in command-line order, then\n"
		"the configuration file's; one added later takes the lowest free one.\n"
		"SIGTERM/SIGINT: finish, flush, exit 0.  SIGHUP: re-read the\n"
		"configuration file and disk sizes.\n",
		VAB_NAME);
}

static const struct option vab_options[] = {
	{ "domain", required_argument, NULL, 'd' },
	{ "log-level", required_argument, NULL, 'l' },
	{ "blk", required_argument, NULL, 'b' },
	{ "rng", required_argument, NULL, 'r' },
	{ "net", required_argument, NULL, 'n' },
	{ "console", required_argument, NULL, 'c' },
	{ "config", required_argument, NULL, 'f' },
	{ "control", required_argument, NULL, 's' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int main(int argc, char **argv)
{
	static const struct vab_transport t = {
		.send = vab_argo_send,
		.max_msg = vab_argo_max_msg,
		.discard_rx = vab_argo_discard_rx,
		.open_ep = vab_argo_open_ep,
		.close_ep = vab_argo_close_ep,
		.renew_ep = vab_argo_renew_ep,
	};
	struct vab b;
	uint16_t domain = ARGO_DEV_DOMID_SELF;
	const char *config = NULL, *control = NULL;
	sigset_t sigs;
	int c, sigfd = -1, ret = 1;

	/* First pass: options that the device options depend on. */
	while ((c = getopt_long(argc, argv, "h", vab_options, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (argo_parse_domain(optarg, ARGO_PARSE_SELF, &domain)) {
				vab_log(VAB_LOG_ERROR, "--domain %s: not a domain",
					optarg);
				return 2;
			}
			break;
		case 'l':
			if (vab_parse_log_level(optarg, &vab_log_level)) {
				vab_log(VAB_LOG_ERROR,
					"--log-level %s: debug, info, warn or error",
					optarg);
				return 2;
			}
			break;
		case 'f':
			if (config) {
				vab_log(VAB_LOG_ERROR, "--config given twice");
				return 2;
			}
			config = optarg;
			break;
		case 's':
			if (control) {
				vab_log(VAB_LOG_ERROR, "--control given twice");
				return 2;
			}
			control = optarg;
			break;
		case 'b':
		case 'r':
		case 'n':
		case 'c':
			break;
		case 'h':
			vab_usage(stdout);
			return 0;
		default:
			vab_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		vab_log(VAB_LOG_ERROR, "unexpected argument %s", argv[optind]);
		return 2;
	}

	vab_domain = domain;
	vab_init(&b, domain, &t);
	b.fe_check_ms = VAB_FE_CHECK_MS;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", vab_options, NULL)) != -1) {
		const struct vab_dev_class *cls =
			c == 'b' ? &vab_blk_class :
			c == 'n' ? &vab_net_class :
			c == 'r' ? &vab_rng_class :
			c == 'c' ? &vab_console_class : NULL;

		if (cls && vab_add_device(&b, cls, optarg)) {
			vab_destroy(&b);
			return 2;
		}
	}
	if (config && vab_config_load(&b, config)) {
		vab_destroy(&b);
		return 2;
	}
	/* With a file or a socket, devices may come later. */
	if (!b.nfes && !config && !control) {
		vab_log(VAB_LOG_ERROR, "no device given (see --help)");
		vab_destroy(&b);
		return 2;
	}

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sigfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sigfd < 0) {
		vab_log(VAB_LOG_ERROR, "signalfd: %s", strerror(errno));
		goto out;
	}

	if (vab_start(&b))
		goto out;
	if (control && vab_control_open(&b, control))
		goto out;
	if (vab_rxbuf_fit(VAB_CTRL_RING)) {
		vab_log(VAB_LOG_ERROR, "out of memory");
		goto out;
	}
	vab_log(VAB_LOG_INFO, "serving %u frontend%s", b.nfes,
		b.nfes == 1 ? "" : "s");

	if (vab_run(&b, sigfd))
		goto out;
	ret = vab_flush_all(&b) ? 1 : 0;
	vab_log(VAB_LOG_INFO, "stopped%s", ret ? " (a flush failed)" : "");
out:
	if (ret && !b.stopping)
		vab_flush_all(&b);
	/* Every ring is unregistered with the devices. */
	vab_destroy(&b);
	if (sigfd >= 0)
		close(sigfd);
	free(vab_rxbuf);
	return ret;
}
