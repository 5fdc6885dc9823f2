// SPDX-License-Identifier: MIT
/*
 * virtio-argo-backend: virtio-console (virtio 1.x, "Console Device") with
 * one port, connected to a pseudo-terminal or a unix socket.
 *
 *   --console frontend=D,pty[,pty-link=PATH]
 *   --console frontend=D,socket=PATH
 *
 * The device: id 3, no VIRTIO_CONSOLE_F_MULTIPORT (so no control queues:
 * the driver makes port 0 a console, hvc0 in Linux), no F_SIZE (cols and
 * rows are 0), no F_EMERG_WRITE.  Queue 0, receiveq0, carries input to
 * the driver in device-writable buffers; queue 1, transmitq0, carries the
 * driver's output in driver-readable ones.  A chain breaking that (the
 * specification: "The driver MUST NOT put a device-readable buffer in a
 * receiveq.  The driver MUST NOT put a device-writable buffer in a
 * transmitq"), or with no byte at all, is malformed: counted, logged and
 * completed with nothing written.
 *
 * What Linux needs from the device: the hvc console's put_chars() adds
 * its output to transmitq0 and then busy-waits, interrupts off, until the
 * device has used the buffer (the specification's footnote on Device
 * Operation).  Over Argo no completion can end that wait on a guest's
 * only vCPU, so the transport uses OUT_NOCOMP (see struct vab_chain):
 * transmit chains are then the driver's again once sent, and
 * vab_chain_complete() frees them here.  Without it a transmit chain is
 * completed as soon as its bytes are written to the peer, one chain at a
 * time, never batched.  Receive buffers are all posted at probe and
 * re-posted as input is consumed, so input is read only into held receive
 * chains.
 *
 * The peer:
 *   pty     posix_openpt(), raw mode; its /dev/pts path is logged (and
 *           linked from pty-link=PATH, a symlink replaced if present and
 *           removed at exit).  Connected unless the slave side was opened
 *           and closed again (the master then reports POLLHUP); a closed
 *           pty is checked for a new opener every CON_PTY_RETRY_MS.
 *   socket  a unix stream socket listening at PATH (a stale socket there
 *           is replaced, any other file refused; removed at exit).  One
 *           client at a time; the next waits in the backlog until the
 *           current one is gone (it closed, and its input was delivered).
 *
 * Flow control, both ways, with nothing acknowledged ever lost:
 *   output  each transmit chain is written to the peer, non-blocking; on
 *           EAGAIN it is held (with the offset written so far) and the
 *           peer watched for POLLOUT, the chains behind it held in order.
 *           The driver gets a chain back only when all its bytes were
 *           written.  With no peer (no client, pty closed) output is
 *           discarded, counted, and the chains completed.
 *   input   read only into held receive chains, at most a chain's size at
 *           a time, so that input the driver has no buffer for stays in
 *           the pty or socket (whose own flow control then holds the
 *           writer back): a burst larger than the rings goes through
 *           whole.
 *
 * RESET, DETACH and HELLO again drop the held chains (their output was
 * not acknowledged); SIGTERM writes what the peer takes at once and
 * completes every held chain.
 *
 * Copyright (c) 2026 The virtio-argo authors
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "backend.h"

#define CON_RXQ			0
#define CON_TXQ			1
#define CON_QUEUE_SIZE		64
/* Most input given to one receive chain. */
#define CON_RX_CHUNK		(64U << 10)
#define CON_PTY_RETRY_MS	200
#define CON_ACCEPT_RETRY_MS	1000
/* struct virtio_console_config up to max_nr_ports (no emerg_wr). */
#define CON_CONFIG_LEN		8

struct con {
	/* Properties. */
	bool pty;
	char *pty_link;
	char *socket_path;

	int listen_fd;			/* socket mode; -1 otherwise */
	dev_t sock_dev;			/* what we bound, to remove only it */
	ino_t sock_ino;
	bool link_made;
	char pts[64];

	/* The peer: pty master or connected client; -1 if none. */
	int fd;
	bool connected;			/* output goes to the peer */
	bool rd_eof;			/* no more input from it */
	bool wr_dead;			/* it takes no more output */
	bool rdhup_seen;		/* told of its shutdown already */

	/* Held chains, in order, linked through c->next. */
	struct vab_chain *rxq, **rxq_tail;
	struct vab_chain *txq, **txq_tail;
	uint32_t tx_off;		/* bytes of txq's head written */

	uint64_t in_bytes;		/* to the driver */
	uint64_t out_bytes;		/* to the peer */
	uint64_t discarded;		/* output with no peer */
	uint64_t discarded_logged;
};

static struct con *con_of(struct vab_dev *d)
{
	return d->priv;
}

static struct con *con_get(struct vab_dev *d)
{
	struct con *k = d->priv;

	if (k)
		return k;
	k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	k->listen_fd = -1;
	k->fd = -1;
	k->rxq_tail = &k->rxq;
	k->txq_tail = &k->txq;
	d->priv = k;
	return k;
}

static int con_set_prop(struct vab_dev *d, const char *key, const char *val)
{
	struct con *k = con_get(d);
	char **dst;

	if (!k)
		return -ENOMEM;
	if (!strcmp(key, "pty")) {
		if (!strcmp(val, "on"))
			k->pty = true;
		else if (!strcmp(val, "off"))
			k->pty = false;
		else
			return -EINVAL;
		return 0;
	}
	if (!strcmp(key, "pty-link"))
		dst = &k->pty_link;
	else if (!strcmp(key, "socket"))
		dst = &k->socket_path;
	else
		return -ENOENT;
	if (!*val || strlen(val) >= PATH_MAX)
		return -EINVAL;
	free(*dst);
	*dst = strdup(val);
	return *dst ? 0 : -ENOMEM;
}

/* ---- Held chains ---------------------------------------------------- */

static void con_push(struct vab_chain ***tail, struct vab_chain *c)
{
	c->next = NULL;
	**tail = c;
	*tail = &c->next;
}

static struct vab_chain *con_pop(struct vab_chain **head,
				 struct vab_chain ***tail)
{
	struct vab_chain *c = *head;

	if (c) {
		*head = c->next;
		if (!*head)
			*tail = head;
	}
	return c;
}

/* ---- The peer ----------------------------------------------------------- */

static void con_peer_event(struct vab_dev *d, int fd, short revents,
			   void *arg);

/* Poll the peer for what the held chains need (see the state rules). */
static void con_update(struct vab_dev *d)
{
	struct con *k = con_of(d);
	short ev = 0;

	/* A closed pty reports POLLHUP all the time: a timer looks at it. */
	if (k->fd >= 0 && (k->connected || !k->pty)) {
		if (k->rxq && !k->rd_eof)
			ev |= POLLIN;
		if (k->txq && k->connected && !k->wr_dead)
			ev |= POLLOUT;
		if (!k->pty && !k->rdhup_seen && !k->rd_eof)
			ev |= POLLRDHUP;
		/* Only to hear of a hang-up (poll reports it anyway). */
		if (k->connected && !k->wr_dead)
			ev |= POLLHUP;
		vab_watch_events(d->b, k->fd, ev);
	}
	if (k->listen_fd >= 0)
		vab_watch_events(d->b, k->listen_fd, k->fd < 0 ? POLLIN : 0);
}

/* Complete every held transmit chain, discarding what is left of it. */
static void con_discard_tx(struct vab_dev *d)
{
	struct con *k = con_of(d);
	struct vab_chain *c;

	while ((c = con_pop(&k->txq, &k->txq_tail))) {
		k->discarded += c->out_len - k->tx_off;
		k->tx_off = 0;
		vab_chain_complete(d, c, NULL, 0, 0, NULL, 0);
	}
}

static void con_note_discarded(struct vab_dev *d)
{
	struct con *k = con_of(d);

	if (k->discarded == k->discarded_logged)
		return;
	vab_fe_log(d->fe, d, VAB_LOG_INFO,
		   "%llu bytes of output discarded while no peer was connected",
		   (unsigned long long)(k->discarded - k->discarded_logged));
	k->discarded_logged = k->discarded;
}

static void con_pty_retry(struct vab_dev *d, void *arg);

/* The peer went away (pty closed, client gone or half-gone). */
static void con_hangup(struct vab_dev *d)
{
	struct con *k = con_of(d);

	k->connected = false;
	con_discard_tx(d);
	if (k->pty) {
		vab_fe_log(d->fe, d, VAB_LOG_INFO,
			   "%s closed: output discarded until it is opened again",
			   k->pts);
		vab_timer_arm(d->b, d, vab_now_ms() + CON_PTY_RETRY_MS,
			      con_pty_retry, NULL);
	}
}

static void con_client_close(struct vab_dev *d)
{
	struct con *k = con_of(d);

	vab_watch_del(d->b, k->fd);
	close(k->fd);
	k->fd = -1;
	k->connected = false;
	con_discard_tx(d);
	vab_fe_log(d->fe, d, VAB_LOG_INFO,
		   "client gone (%llu bytes in, %llu out so far)",
		   (unsigned long long)k->in_bytes,
		   (unsigned long long)k->out_bytes);
}

/* Input into held receive chains, as long as there is some. */
static void con_rx(struct vab_dev *d)
{
	struct con *k = con_of(d);
	struct vab_chain *c;

	while (k->fd >= 0 && !k->rd_eof && (c = k->rxq)) {
		uint32_t len = c->in_len < CON_RX_CHUNK ? c->in_len :
			       CON_RX_CHUNK;
		uint8_t *buf = malloc(len), *p;
		ssize_t n;

		if (!buf) {
			vab_fe_log(d->fe, d, VAB_LOG_ERROR, "out of memory");
			return;
		}
		n = read(k->fd, buf, len);
		if (n <= 0) {
			int e = n ? errno : 0;

			free(buf);
			if (e == EINTR)
				continue;
			if (e == EAGAIN)
				return;
			/* EOF, or the pty's EIO when the slave is closed. */
			if (k->pty) {
				if (k->connected)
					con_hangup(d);
				return;
			}
			if (e)
				vab_fe_log(d->fe, d, VAB_LOG_INFO,
					   "client: read: %s", strerror(e));
			k->rd_eof = true;
			if (e)
				k->wr_dead = true;
			return;
		}
		p = realloc(buf, (size_t)n);
		if (p)
			buf = p;
		con_pop(&k->rxq, &k->rxq_tail);
		k->in_bytes += (uint64_t)n;
		vab_chain_complete(d, c, buf, (uint32_t)n, (uint32_t)n, NULL, 0);
	}
}

/* Output from held transmit chains, as long as the peer takes it. */
static void con_tx(struct vab_dev *d)
{
	struct con *k = con_of(d);
	struct vab_chain *c;

	if (!k->connected || k->wr_dead) {
		con_discard_tx(d);
		return;
	}
	while ((c = k->txq)) {
		size_t left = c->out_len - k->tx_off;
		ssize_t n;

		if (k->pty)
			n = write(k->fd, c->out + k->tx_off, left);
		else
			n = send(k->fd, c->out + k->tx_off, left,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			/* EIO (pty closed), EPIPE, ECONNRESET: gone. */
			if (k->pty) {
				con_hangup(d);
			} else {
				vab_fe_log(d->fe, d, VAB_LOG_INFO,
					   "client: write: %s", strerror(errno));
				k->wr_dead = true;
				con_discard_tx(d);
			}
			return;
		}
		k->out_bytes += (uint64_t)n;
		k->tx_off += (uint32_t)n;
		if (k->tx_off == c->out_len) {
			con_pop(&k->txq, &k->txq_tail);
			k->tx_off = 0;
			vab_chain_complete(d, c, NULL, 0, 0, NULL, 0);
		}
	}
}

/*
 * Move what can be moved (input if @rx, output if @tx), close a client
 * that is gone for good, and poll for what is left.
 */
static void con_service(struct vab_dev *d, bool rx, bool tx)
{
	struct con *k = con_of(d);
	int pending = 0;

	if (rx)
		con_rx(d);
	if (tx)
		con_tx(d);
	/* A client gone with nothing left to read: room for the next. */
	if (!k->pty && k->fd >= 0 && k->wr_dead && !k->rd_eof &&
	    k->rdhup_seen && !ioctl(k->fd, FIONREAD, &pending) && !pending)
		k->rd_eof = true;
	if (!k->pty && k->fd >= 0 && k->rd_eof && k->wr_dead)
		con_client_close(d);
	con_update(d);
}

static void con_peer_event(struct vab_dev *d, int fd, short revents,
			   void *arg)
{
	struct con *k = con_of(d);

	(void)fd;
	(void)arg;
	if (k->pty && (revents & (POLLHUP | POLLERR))) {
		/* What the last writer left, if a buffer waits for it. */
		con_rx(d);
		if (k->connected)
			con_hangup(d);
		con_update(d);
		return;
	}
	if (revents & POLLRDHUP)
		k->rdhup_seen = true;
	if (revents & (POLLHUP | POLLERR)) {
		/* A unix socket's peer closed: it takes nothing more. */
		k->rdhup_seen = true;
		k->wr_dead = true;
	}
	con_service(d, true, true);
}

/* A closed pty: has someone opened it again? */
static void con_pty_retry(struct vab_dev *d, void *arg)
{
	struct con *k = con_of(d);
	struct pollfd p = { .fd = k->fd, .events = POLLIN };

	(void)arg;
	if (k->connected)
		return;
	if (poll(&p, 1, 0) >= 0 && !(p.revents & (POLLHUP | POLLERR))) {
		k->connected = true;
		con_note_discarded(d);
		vab_fe_log(d->fe, d, VAB_LOG_INFO, "%s opened", k->pts);
		con_service(d, true, false);
		return;
	}
	vab_timer_arm(d->b, d, vab_now_ms() + CON_PTY_RETRY_MS, con_pty_retry,
		      NULL);
}

static void con_accept_retry(struct vab_dev *d, void *arg)
{
	(void)arg;
	con_update(d);
}

static void con_accept(struct vab_dev *d, int fd, short revents, void *arg)
{
	struct con *k = con_of(d);
	int c, r;

	(void)arg;
	(void)revents;
	if (k->fd >= 0)
		return;
	c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (c < 0) {
		if (errno == EAGAIN || errno == EINTR ||
		    errno == ECONNABORTED)
			return;
		/* EMFILE and the like: the socket stays readable; pause. */
		vab_fe_log(d->fe, d, VAB_LOG_ERROR, "accept on %s: %s",
			   k->socket_path, strerror(errno));
		vab_watch_events(d->b, fd, 0);
		vab_timer_arm(d->b, d, vab_now_ms() + CON_ACCEPT_RETRY_MS,
			      con_accept_retry, NULL);
		return;
	}
	r = vab_watch_add(d->b, d, c, 0, con_peer_event, NULL);
	if (r) {
		vab_fe_log(d->fe, d, VAB_LOG_ERROR, "client: %s", strerror(-r));
		close(c);
		return;
	}
	k->fd = c;
	k->connected = true;
	k->rd_eof = false;
	k->wr_dead = false;
	k->rdhup_seen = false;
	con_note_discarded(d);
	vab_fe_log(d->fe, d, VAB_LOG_INFO, "client connected on %s",
		   k->socket_path);
	con_service(d, true, false);
}

/* ---- Setting up ------------------------------------------------------------ */

static int con_open_pty(struct vab_dev *d)
{
	struct con *k = con_of(d);
	struct termios t;
	int r;

	k->fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (k->fd < 0 || grantpt(k->fd) || unlockpt(k->fd) ||
	    ptsname_r(k->fd, k->pts, sizeof(k->pts)) ||
	    fcntl(k->fd, F_SETFL, O_NONBLOCK)) {
		r = -errno;
		vab_log(VAB_LOG_ERROR, "%s: pseudo-terminal: %s", d->name,
			strerror(-r));
		return r;
	}
	/* Raw: bytes pass as they are, both ways. */
	if (!tcgetattr(k->fd, &t)) {
		cfmakeraw(&t);
		tcsetattr(k->fd, TCSANOW, &t);
	}
	if (k->pty_link) {
		struct stat st;

		if (!lstat(k->pty_link, &st) && S_ISLNK(st.st_mode))
			unlink(k->pty_link);
		if (symlink(k->pts, k->pty_link)) {
			r = -errno;
			vab_log(VAB_LOG_ERROR, "%s: pty-link=%s: %s", d->name,
				k->pty_link, strerror(-r));
			return r;
		}
		k->link_made = true;
	}
	k->connected = true;
	r = vab_watch_add(d->b, d, k->fd, 0, con_peer_event, NULL);
	if (r)
		return r;
	con_update(d);
	vab_log(VAB_LOG_INFO, "frontend %u: %s: pseudo-terminal %s%s%s",
		d->fe->domid, d->name, k->pts, k->pty_link ? " linked from " : "",
		k->pty_link ? k->pty_link : "");
	return 0;
}

static int con_listen(struct vab_dev *d)
{
	struct con *k = con_of(d);
	struct sockaddr_un a;
	struct stat st;
	int r;

	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	if (strlen(k->socket_path) >= sizeof(a.sun_path)) {
		vab_log(VAB_LOG_ERROR, "%s: socket=%s: path too long", d->name,
			k->socket_path);
		return -ENAMETOOLONG;
	}
	memcpy(a.sun_path, k->socket_path, strlen(k->socket_path));
	if (!lstat(k->socket_path, &st)) {
		if (!S_ISSOCK(st.st_mode)) {
			vab_log(VAB_LOG_ERROR, "%s: socket=%s exists, not a socket",
				d->name, k->socket_path);
			return -EEXIST;
		}
		unlink(k->socket_path);		/* a stale one */
	}
	k->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
			      SOCK_CLOEXEC, 0);
	if (k->listen_fd < 0 ||
	    bind(k->listen_fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(k->listen_fd, 4) || stat(k->socket_path, &st)) {
		r = -errno;
		vab_log(VAB_LOG_ERROR, "%s: socket=%s: %s", d->name,
			k->socket_path, strerror(-r));
		return r;
	}
	k->sock_dev = st.st_dev;
	k->sock_ino = st.st_ino;
	r = vab_watch_add(d->b, d, k->listen_fd, POLLIN, con_accept, NULL);
	if (r)
		return r;
	vab_log(VAB_LOG_INFO, "frontend %u: %s: listening on %s", d->fe->domid,
		d->name, k->socket_path);
	return 0;
}

static int con_realize(struct vab_dev *d)
{
	struct con *k = con_get(d);

	if (!k)
		return -ENOMEM;
	if (k->pty == !!k->socket_path) {
		vab_log(VAB_LOG_ERROR, "%s: give one of pty and socket=PATH",
			d->name);
		return -EINVAL;
	}
	if (k->pty_link && !k->pty) {
		vab_log(VAB_LOG_ERROR, "%s: pty-link= needs pty", d->name);
		return -EINVAL;
	}
	d->features_offered = 1ULL << VAB_F_VERSION_1;
	d->num_queues = 2;
	d->queue_max[CON_RXQ] = CON_QUEUE_SIZE;
	d->queue_max[CON_TXQ] = CON_QUEUE_SIZE;
	/* cols 0, rows 0 (no F_SIZE), max_nr_ports 1 (no F_MULTIPORT). */
	memset(d->config, 0, CON_CONFIG_LEN);
	vab_put32(d->config + 4, 1);
	d->config_len = CON_CONFIG_LEN;
	return k->pty ? con_open_pty(d) : con_listen(d);
}

/* ---- Requests ---------------------------------------------------------------- */

static void con_request(struct vab_dev *d, struct vab_chain *c)
{
	struct con *k = con_of(d);
	bool rx = c->queue == CON_RXQ;

	if (rx ? c->out_len || !c->in_len : c->in_len || !c->out_len) {
		vab_dev_malformed(d, "chain %u:%u on %s: %u driver-readable, %u writable bytes",
				  c->queue, c->id,
				  rx ? "receiveq0" : "transmitq0",
				  c->out_len, c->in_len);
		vab_chain_complete(d, c, NULL, 0, 0, NULL, 0);
		return;
	}
	if (!rx && (!k->connected || k->wr_dead)) {
		k->discarded += c->out_len;
		vab_chain_complete(d, c, NULL, 0, 0, NULL, 0);
		return;
	}
	if (rx)
		con_push(&k->rxq_tail, c);
	else
		con_push(&k->txq_tail, c);
	/* Input into the first buffer, output if nothing was waiting. */
	con_service(d, rx && k->rxq == c, !rx && k->txq == c);
}

static void con_reset(struct vab_dev *d)
{
	struct con *k = con_of(d);

	/* proto.c frees the held chains next; their output is lost. */
	k->rxq = NULL;
	k->rxq_tail = &k->rxq;
	k->txq = NULL;
	k->txq_tail = &k->txq;
	k->tx_off = 0;
	con_update(d);
}

static void con_stop(struct vab_dev *d)
{
	struct con *k = con_of(d);
	struct vab_chain *c;

	/* What the peer takes now, then everything back to the driver. */
	if (k->fd >= 0)
		con_tx(d);
	con_discard_tx(d);
	while ((c = con_pop(&k->rxq, &k->rxq_tail)))
		vab_chain_complete(d, c, NULL, 0, 0, NULL, 0);
	con_update(d);
}

static void con_destroy(struct vab_dev *d)
{
	struct con *k = con_of(d);
	struct stat st;
	char target[sizeof(k->pts)];
	ssize_t n;

	if (!k)
		return;
	if (k->listen_fd >= 0 || k->fd >= 0)
		vab_log(VAB_LOG_INFO,
			"frontend %u: %s: %llu bytes in, %llu out, %llu discarded",
			d->fe->domid, d->name, (unsigned long long)k->in_bytes,
			(unsigned long long)k->out_bytes,
			(unsigned long long)k->discarded);
	if (k->fd >= 0)
		close(k->fd);
	if (k->listen_fd >= 0) {
		close(k->listen_fd);
		/* Only the socket we made, not one that replaced it. */
		if (!lstat(k->socket_path, &st) && S_ISSOCK(st.st_mode) &&
		    st.st_dev == k->sock_dev && st.st_ino == k->sock_ino)
			unlink(k->socket_path);
	}
	if (k->link_made) {
		n = readlink(k->pty_link, target, sizeof(target) - 1);
		if (n > 0 && (size_t)n < sizeof(target)) {
			target[n] = '\0';
			if (!strcmp(target, k->pts))
				unlink(k->pty_link);
		}
	}
	free(k->pty_link);
	free(k->socket_path);
	free(k);
	d->priv = NULL;
}

const struct vab_dev_class vab_console_class = {
	.name = "console",
	.device_id = 3,		/* VIRTIO_ID_CONSOLE */
	.set_prop = con_set_prop,
	.realize = con_realize,
	.request = con_request,
	.reset = con_reset,
	.stop = con_stop,
	.destroy = con_destroy,
};
