// SPDX-License-Identifier: MIT
/*
 * virtio-argo-backend: the control socket (--control PATH).
 *
 * A unix stream socket, mode 0600 and only for clients running as root or
 * as the backend's user (SO_PEERCRED), that takes one command per line
 * and answers each with one status line, "ok ..." or "error ...", some
 * followed by a body:
 *
 *   add CLASS PROPS      a device, as --CLASS PROPS would make it
 *                        -> ok ID frontend F index I
 *   remove ID            -> ok removed ID
 *   list                 -> ok N, then one line per device:
 *                        ID CLASS frontend=F index=I from=... state=...
 *                        inflight=N props=PROPS
 *   link ID up|down      a net device's link -> ok ID link up|down
 *   stats ID             -> ok N, then N lines "NAME VALUE"
 *   help                 -> ok N, then the commands
 *
 * "ok N" means that exactly N lines follow.  Blank lines are ignored.
 * Words are separated by blanks; PROPS runs to the end of the line.
 * Lines are at most VAB_CTL_LINE_MAX bytes: a longer one is answered
 * "error" and the connection is closed, as it is on a byte that is not
 * printable.  Commands of one connection run in order, each only once
 * the last answer has been written (so a client that does not read
 * cannot make the backend hold more than one answer); at most
 * VAB_CTL_CLIENTS connections are served at once.  A connection whose
 * client has shut down its writing side is closed once its answers are
 * written, which is how tools/virtio-argo-backend/ctl/virtio-argo-ctl
 * uses it.
 *
 * Everything runs from the event loop's watches (loop.c), between the
 * handling of messages, where devices may come and go.
 *
 * Copyright (c) 2026 The virtio-argo authors
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "backend.h"
#include "options.h"

#define VAB_CTL_LINE_MAX	4096
#define VAB_CTL_CLIENTS		16

struct vab_ctl_client {
	struct vab *b;
	int fd;
	char in[VAB_CTL_LINE_MAX];
	size_t in_len;
	char *out;			/* the answer being written */
	size_t out_len, out_off, out_cap;
	bool eof;			/* the client sends no more */
	bool closing;			/* close once the answer is out */
};

struct vab_control {
	int fd;
	char *path;
	dev_t dev;
	ino_t ino;
	struct vab_ctl_client *clients[VAB_CTL_CLIENTS];
	unsigned int nclients;
};

/* ---- Answers ------------------------------------------------------------- */

static void vab_ctl_printf(struct vab_ctl_client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void vab_ctl_printf(struct vab_ctl_client *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	size_t cap;
	char *p;

	for (;;) {
		size_t room = c->out_cap - c->out_len;

		if (room) {
			va_start(ap, fmt);
			n = vsnprintf(c->out + c->out_len, room, fmt, ap);
			va_end(ap);
			if (n < 0)
				return;
			if ((size_t)n < room) {
				c->out_len += (size_t)n;
				return;
			}
		} else {
			n = 0;
		}
		cap = c->out_cap ? 2 * c->out_cap : 4096;
		while (cap - c->out_len <= (size_t)n)
			cap *= 2;
		p = realloc(c->out, cap);
		if (!p) {
			/* Nothing sensible to say: hang up. */
			c->closing = true;
			return;
		}
		c->out = p;
		c->out_cap = cap;
	}
}

static const char *vab_origin_name(enum vab_origin o)
{
	return o == VAB_FROM_CONFIG ? "config" :
	       o == VAB_FROM_CONTROL ? "control" : "command-line";
}

static const char *vab_dev_state(const struct vab_dev *d)
{
	if (!d->fe->hello)
		return "waiting";		/* for its frontend's HELLO */
	if (!d->attached)
		return "connected";
	if (d->status & VAB_S_FAILED)
		return "failed";
	if (d->status & VAB_S_DRIVER_OK)
		return "running";
	return "attached";
}

static void vab_ctl_list(struct vab_ctl_client *c, struct vab *b)
{
	unsigned int n = 0;
	uint32_t f, i;

	for (f = 0; f < b->nfes; f++)
		n += b->fes[f]->ndevs;
	vab_ctl_printf(c, "ok %u\n", n);
	for (f = 0; f < b->nfes; f++) {
		for (i = 0; i < b->fes[f]->ndevs; i++) {
			const struct vab_dev *d = b->fes[f]->devs[i];
			const char *props = d->spec ?
				d->spec + strlen(d->cls->name) + 1 : "";

			vab_ctl_printf(c,
				       "%s %s frontend=%u index=%u from=%s state=%s inflight=%u props=%s\n",
				       d->name, d->cls->name, d->fe->domid,
				       d->index, vab_origin_name(d->origin),
				       vab_dev_state(d), d->inflight, props);
		}
	}
}

static void vab_ctl_stats(struct vab_ctl_client *c, struct vab_dev *d)
{
	const struct vab_net_stats *ns = vab_net_stats(d);
	const struct vab_dev_stats *s = &d->stats;
	unsigned int n = 13 + (ns ? 13 : 0);

	vab_ctl_printf(c, "ok %u\n", n);
	vab_ctl_printf(c, "frontend %u\nindex %u\nhandle %u\nstatus %#x\n",
		       d->fe->domid, d->index, d->handle, d->status);
	vab_ctl_printf(c, "inflight %u\nmem_used %zu\n", d->inflight,
		       d->mem_used);
	vab_ctl_printf(c,
		       "rx_msgs %llu\nrx_bytes %llu\ntx_msgs %llu\ntx_bytes %llu\n"
		       "tx_eagain %llu\nchains %llu\nmalformed %llu\n",
		       (unsigned long long)s->rx_msgs,
		       (unsigned long long)s->rx_bytes,
		       (unsigned long long)s->tx_msgs,
		       (unsigned long long)s->tx_bytes,
		       (unsigned long long)s->tx_eagain,
		       (unsigned long long)s->chains,
		       (unsigned long long)s->malformed);
	if (!ns)
		return;
	vab_ctl_printf(c,
		       "net_tx_frames %llu\nnet_tx_bytes %llu\nnet_tx_bad %llu\n"
		       "net_tx_dropped %llu\nnet_tx_spoofed %llu\n"
		       "net_rx_frames %llu\nnet_rx_bytes %llu\n"
		       "net_rx_no_buffer %llu\nnet_rx_oversize %llu\n"
		       "net_rx_dropped %llu\nnet_rx_bad_chains %llu\n"
		       "net_gso_segmented %llu\nnet_csum_filled %llu\n",
		       (unsigned long long)ns->tx_frames,
		       (unsigned long long)ns->tx_bytes,
		       (unsigned long long)ns->tx_bad,
		       (unsigned long long)ns->tx_dropped,
		       (unsigned long long)ns->tx_spoofed,
		       (unsigned long long)ns->rx_frames,
		       (unsigned long long)ns->rx_bytes,
		       (unsigned long long)ns->rx_no_buffer,
		       (unsigned long long)ns->rx_oversize,
		       (unsigned long long)ns->rx_dropped,
		       (unsigned long long)ns->rx_bad_chains,
		       (unsigned long long)ns->gso_segmented,
		       (unsigned long long)ns->csum_filled);
}

static const char *const vab_ctl_help[] = {
	"add CLASS PROPS     add a device (CLASS: blk, net, rng, console)",
	"remove ID           remove a device",
	"list                the devices",
	"link ID up|down     a net device's link status",
	"stats ID            a device's counters",
	"help                this",
};

/* The next blank-separated word of *@s (NUL-ended in place), or "". */
static char *vab_ctl_word(char **s)
{
	char *w = *s, *e;

	while (*w == ' ' || *w == '\t')
		w++;
	e = w;
	while (*e && *e != ' ' && *e != '\t')
		e++;
	*s = e;
	if (*e) {
		*e = '\0';
		*s = e + 1;
	}
	return w;
}

/* The rest of the line, blanks around it removed. */
static char *vab_ctl_rest(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

/* An id as the client wrote it, or "?" if it is no id at all. */
static const char *vab_ctl_shown(const char *id)
{
	return *id && strlen(id) <= VAB_ID_MAX ? id : "?";
}

static void vab_ctl_add(struct vab_ctl_client *c, char *args)
{
	char *cname = vab_ctl_word(&args), *props = vab_ctl_rest(args);
	const struct vab_dev_class *cls = vab_class_find(cname);
	char err[256], where[48];
	struct vab_dev *d;

	if (!cls) {
		vab_ctl_printf(c, "error add: no class %.16s (blk, net, rng, console)\n",
			       cname);
		return;
	}
	if (!*props) {
		vab_ctl_printf(c, "error add %s: no properties\n", cls->name);
		return;
	}
	if (c->b->stopping) {
		vab_ctl_printf(c, "error add: the backend is stopping\n");
		return;
	}
	snprintf(where, sizeof(where), "control: add %s", cls->name);
	/* What went wrong, as logged: the client hears it too. */
	err[0] = '\0';
	vab_log_catch = err;
	vab_log_catch_len = sizeof(err);
	d = vab_create_device(c->b, cls, props, where, VAB_FROM_CONTROL, -1,
			      NULL);
	vab_log_catch = NULL;
	if (!d) {
		vab_ctl_printf(c, "error %s\n", *err ? err : "not added");
		return;
	}
	vab_ctl_printf(c, "ok %s frontend %u index %u\n", d->name,
		       d->fe->domid, d->index);
}

static void vab_ctl_exec(struct vab_ctl_client *c, char *line)
{
	struct vab *b = c->b;
	char *cmd = vab_ctl_word(&line), *id;
	struct vab_dev *d;
	unsigned int i;

	if (!*cmd)
		return;				/* a blank line */
	if (!strcmp(cmd, "add")) {
		vab_ctl_add(c, line);
		return;
	}
	if (!strcmp(cmd, "list") || !strcmp(cmd, "help")) {
		if (*vab_ctl_rest(line)) {
			vab_ctl_printf(c, "error %s takes no argument\n", cmd);
		} else if (*cmd == 'l') {
			vab_ctl_list(c, b);
		} else {
			vab_ctl_printf(c, "ok %zu\n", ARRAY_SIZE(vab_ctl_help));
			for (i = 0; i < ARRAY_SIZE(vab_ctl_help); i++)
				vab_ctl_printf(c, "%s\n", vab_ctl_help[i]);
		}
		return;
	}
	if (strcmp(cmd, "remove") && strcmp(cmd, "link") &&
	    strcmp(cmd, "stats")) {
		vab_ctl_printf(c, "error unknown command %.16s (%s)\n", cmd,
			       "add, remove, list, link, stats, help");
		return;
	}
	id = vab_ctl_word(&line);
	d = *id ? vab_dev_find(b, id) : NULL;
	if (!d) {
		vab_ctl_printf(c, "error %s: no device %s\n", cmd,
			       vab_ctl_shown(id));
		return;
	}
	if (!strcmp(cmd, "link")) {
		char *how = vab_ctl_word(&line);
		bool up = !strcmp(how, "up");

		if ((!up && strcmp(how, "down")) || *vab_ctl_rest(line)) {
			vab_ctl_printf(c, "error link %s: up or down\n", d->name);
		} else if (vab_net_set_link(d, up)) {
			vab_ctl_printf(c, "error link %s: not a net device\n",
				       d->name);
		} else {
			vab_log(VAB_LOG_INFO, "control: %s: link %s", d->name,
				up ? "up" : "down");
			vab_ctl_printf(c, "ok %s link %s\n", d->name,
				       up ? "up" : "down");
		}
		return;
	}
	if (*vab_ctl_rest(line)) {
		vab_ctl_printf(c, "error %s takes one device id\n", cmd);
		return;
	}
	if (!strcmp(cmd, "stats")) {
		vab_ctl_stats(c, d);
		return;
	}
	vab_log(VAB_LOG_INFO, "control: removing %s", d->name);
	vab_ctl_printf(c, "ok removed %s\n", d->name);
	vab_dev_remove(d);
}

/* ---- Connections ----------------------------------------------------------- */

static void vab_ctl_drop(struct vab_ctl_client *c)
{
	struct vab_control *ctl = c->b->control;
	unsigned int i;

	vab_watch_del(c->b, c->fd);
	close(c->fd);
	for (i = 0; i < ctl->nclients; i++) {
		if (ctl->clients[i] == c) {
			ctl->clients[i] = ctl->clients[--ctl->nclients];
			break;
		}
	}
	free(c->out);
	free(c);
}

/*
 * Run the commands whose lines are whole, one at a time, while no answer
 * waits to be written.
 */
static void vab_ctl_run(struct vab_ctl_client *c)
{
	char line[VAB_CTL_LINE_MAX + 1];
	size_t len, used, i;
	char *nl;

	while (!c->out_len && !c->closing && c->in_len) {
		nl = memchr(c->in, '\n', c->in_len);
		if (nl) {
			len = (size_t)(nl - c->in);
			used = len + 1;
		} else if (c->in_len == sizeof(c->in)) {
			vab_ctl_printf(c, "error line longer than %u bytes\n",
				       VAB_CTL_LINE_MAX - 1);
			c->closing = true;
			break;
		} else if (c->eof) {
			/* the last, unended line */
			len = c->in_len;
			used = len;
		} else {
			break;
		}
		memcpy(line, c->in, len);
		line[len] = '\0';
		memmove(c->in, c->in + used, c->in_len - used);
		c->in_len -= used;
		if (len && line[len - 1] == '\r')
			line[--len] = '\0';
		for (i = 0; i < len; i++) {
			unsigned char ch = (unsigned char)line[i];

			if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				break;
		}
		if (i < len) {
			vab_ctl_printf(c, "error a control character in the command\n");
			c->closing = true;
		} else {
			vab_ctl_exec(c, line);
		}
	}
	if (c->eof && !c->in_len)
		c->closing = true;
}

/* Write what the answer has left; false if the client is gone. */
static bool vab_ctl_flush(struct vab_ctl_client *c)
{
	ssize_t n;

	while (c->out_off < c->out_len) {
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n <= 0)
			return false;
		c->out_off += (size_t)n;
	}
	c->out_len = 0;
	c->out_off = 0;
	return true;
}

/* After anything happened: answer, run, and watch for what is next. */
static void vab_ctl_update(struct vab_ctl_client *c)
{
	for (;;) {
		if (!vab_ctl_flush(c)) {
			vab_ctl_drop(c);
			return;
		}
		if (c->out_len) {
			vab_watch_events(c->b, c->fd, POLLOUT);
			return;
		}
		if (c->closing) {
			vab_ctl_drop(c);
			return;
		}
		vab_ctl_run(c);
		if (!c->out_len && !c->closing)
			break;
	}
	vab_watch_events(c->b, c->fd, POLLIN);
}

static void vab_ctl_event(struct vab_dev *unused, int fd, short revents,
			  void *arg)
{
	struct vab_ctl_client *c = arg;
	ssize_t n;

	(void)unused;
	(void)fd;
	if (revents & POLLIN) {
		n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len,
			 MSG_DONTWAIT);
		if (n > 0)
			c->in_len += (size_t)n;
		else if (!n || (errno != EAGAIN && errno != EINTR &&
				errno != EWOULDBLOCK))
			c->eof = true;
	} else if (revents & (POLLERR | POLLHUP | POLLNVAL) &&
		   !(revents & POLLOUT)) {
		vab_ctl_drop(c);
		return;
	}
	vab_ctl_update(c);
}

static void vab_ctl_accept(struct vab_dev *unused, int lfd, short revents,
			   void *arg)
{
	struct vab *b = arg;
	struct vab_control *ctl = b->control;
	struct vab_ctl_client *c;
	struct ucred cred;
	socklen_t len;
	int fd, i;

	(void)unused;
	(void)revents;
	/* A few at a time: the others are there at the next turn. */
	for (i = 0; i < 8; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		len = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) ||
		    (cred.uid != 0 && cred.uid != geteuid())) {
			vab_log(VAB_LOG_WARN,
				"control: connection of user %d refused",
				len == sizeof(cred) ? (int)cred.uid : -1);
			close(fd);
			continue;
		}
		c = ctl->nclients < VAB_CTL_CLIENTS ? calloc(1, sizeof(*c)) : NULL;
		if (!c) {
			static const char busy[] = "error too many connections\n";

			if (send(fd, busy, sizeof(busy) - 1,
				 MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				vab_log(VAB_LOG_DEBUG, "control: %s",
					strerror(errno));
			close(fd);
			continue;
		}
		c->b = b;
		c->fd = fd;
		if (vab_watch_add(b, NULL, fd, POLLIN, vab_ctl_event, c)) {
			close(fd);
			free(c);
			continue;
		}
		ctl->clients[ctl->nclients++] = c;
	}
}

int vab_control_open(struct vab *b, const char *path)
{
	struct vab_control *ctl;
	struct sockaddr_un a;
	struct stat st;
	bool bound = false;
	mode_t mask;
	int r, fd;

	if (b->control) {
		vab_log(VAB_LOG_ERROR, "--control given twice");
		return -EEXIST;
	}
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	if (!*path || strlen(path) >= sizeof(a.sun_path)) {
		vab_log(VAB_LOG_ERROR, "--control %s: path empty or too long", path);
		return -ENAMETOOLONG;
	}
	memcpy(a.sun_path, path, strlen(path));
	if (!lstat(path, &st)) {
		if (!S_ISSOCK(st.st_mode)) {
			vab_log(VAB_LOG_ERROR, "--control %s: exists, not a socket",
				path);
			return -EEXIST;
		}
		/* Stale, unless a backend still answers there. */
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && !connect(fd, (struct sockaddr *)&a, sizeof(a))) {
			close(fd);
			vab_log(VAB_LOG_ERROR, "--control %s: in use by another process",
				path);
			return -EADDRINUSE;
		}
		if (fd >= 0)
			close(fd);
		unlink(path);
	}
	ctl = calloc(1, sizeof(*ctl));
	if (ctl)
		ctl->path = strdup(path);
	if (!ctl || !ctl->path) {
		free(ctl);
		vab_log(VAB_LOG_ERROR, "out of memory");
		return -ENOMEM;
	}
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* Born 0600: nobody else may connect, not even for a moment. */
	mask = umask(077);
	r = ctl->fd < 0 || bind(ctl->fd, (struct sockaddr *)&a, sizeof(a)) ?
	    -errno : 0;
	umask(mask);
	bound = !r;
	if (!r && (chmod(path, 0600) || listen(ctl->fd, 8) ||
		   stat(path, &st)))
		r = -errno;
	if (!r) {
		ctl->dev = st.st_dev;
		ctl->ino = st.st_ino;
		b->control = ctl;
		r = vab_watch_add(b, NULL, ctl->fd, POLLIN, vab_ctl_accept, b);
	}
	if (r) {
		vab_log(VAB_LOG_ERROR, "--control %s: %s", path, strerror(-r));
		b->control = ctl;
		vab_control_close(b);
		if (bound)
			unlink(path);
		return r;
	}
	vab_log(VAB_LOG_INFO, "control socket %s", path);
	return 0;
}

void vab_control_close(struct vab *b)
{
	struct vab_control *ctl = b->control;
	struct stat st;

	if (!ctl)
		return;
	while (ctl->nclients)
		vab_ctl_drop(ctl->clients[0]);
	if (ctl->fd >= 0) {
		vab_watch_del(b, ctl->fd);
		close(ctl->fd);
		/* Only the socket we made, not one that replaced it. */
		if (ctl->ino && !lstat(ctl->path, &st) && S_ISSOCK(st.st_mode) &&
		    st.st_dev == ctl->dev && st.st_ino == ctl->ino)
			unlink(ctl->path);
	}
	free(ctl->path);
	free(ctl);
	b->control = NULL;
}
