// SPDX-License-Identifier: MIT
/*
 * virtio-argo-backend: event-loop services for device classes.
 *
 * A class that talks to something besides its frontend (a pty, a socket,
 * a tap device) or that must wait (a rate limit) gets two services here,
 * both run by main.c's single poll() loop:
 *
 *   watches  a file descriptor and the events wanted (POLLIN, POLLOUT; 0
 *            pauses the watch), with a callback.  vab_watch_events()
 *            changes what is wanted; vab_watch_del() ends the watch and
 *            may be called from any callback, its own included.
 *   timers   one-shot, identified by (device, callback, argument): arming
 *            an armed timer moves it, cancelling an unarmed one is a no-op.
 *
 * main.c asks vab_loop_fill() for the pollfd entries of the watches (one
 * per watch, in a stable order, with fd -1 for a paused one so that
 * poll() ignores it), polls, and hands the results back to
 * vab_loop_dispatch(); vab_loop_timeout() shortens its poll timeout to
 * the next timer and vab_loop_run_timers() runs the timers that are due.
 * The unit tests call the same four functions with made-up revents.
 *
 * Watches are kept in an array in the order they were added.  A deleted
 * watch keeps its slot (fd -1) until the next vab_loop_fill(), so that the
 * slots dispatched are exactly the slots filled even when callbacks add
 * and delete watches; a watch added by a callback is appended and polled
 * from the next turn on.  Callbacks must not hold a struct vab_watch
 * pointer across a call that may add one (the array may move).
 *
 * Timers due at the same time run in the order they were armed.  A turn
 * runs only the timers armed before it started: a callback that re-arms
 * its timer for "now" runs again at the next turn, not in a loop.
 *
 * After each callback, vab_kick() sends what the callback completed.
 * Everything of a device is removed by vab_loop_dev_gone(), which
 * vab_destroy() calls before the class's destroy.
 *
 * Copyright (c) 2026 The virtio-argo authors
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

struct vab_watch {
	int fd;			/* -1: deleted, slot freed at the next fill */
	short events;
	struct vab_dev *d;
	vab_fd_fn fn;
	void *arg;
};

struct vab_timer {
	struct vab_dev *d;
	vab_timer_fn fn;
	void *arg;
	int64_t at_ms;
	uint64_t seq;		/* arming order */
};

struct vab_loop {
	struct vab_watch *w;
	unsigned int nw, capw;
	struct vab_timer *t;
	unsigned int nt, capt;
	uint64_t seq;
};

static struct vab_loop *vab_loop_get(struct vab *b)
{
	if (!b->loop)
		b->loop = calloc(1, sizeof(*b->loop));
	return b->loop;
}

static struct vab_watch *vab_watch_find(struct vab *b, int fd)
{
	struct vab_loop *l = b->loop;
	unsigned int i;

	if (!l || fd < 0)
		return NULL;
	for (i = 0; i < l->nw; i++)
		if (l->w[i].fd == fd)
			return &l->w[i];
	return NULL;
}

int vab_watch_add(struct vab *b, struct vab_dev *d, int fd, short events,
		  vab_fd_fn fn, void *arg)
{
	struct vab_loop *l = vab_loop_get(b);
	struct vab_watch *w;

	if (!l)
		return -ENOMEM;
	if (fd < 0 || !fn)
		return -EINVAL;
	if (vab_watch_find(b, fd))
		return -EEXIST;
	if (l->nw == l->capw) {
		unsigned int cap = l->capw ? 2 * l->capw : 8;

		w = realloc(l->w, cap * sizeof(*w));
		if (!w)
			return -ENOMEM;
		l->w = w;
		l->capw = cap;
	}
	w = &l->w[l->nw++];
	w->fd = fd;
	w->events = events;
	w->d = d;
	w->fn = fn;
	w->arg = arg;
	return 0;
}

void vab_watch_events(struct vab *b, int fd, short events)
{
	struct vab_watch *w = vab_watch_find(b, fd);

	if (w)
		w->events = events;
}

void vab_watch_del(struct vab *b, int fd)
{
	struct vab_watch *w = vab_watch_find(b, fd);

	if (w)
		w->fd = -1;
}

/* Drop the slots of deleted watches; only between turns. */
static void vab_watch_compact(struct vab_loop *l)
{
	unsigned int i, n = 0;

	for (i = 0; i < l->nw; i++)
		if (l->w[i].fd >= 0)
			l->w[n++] = l->w[i];
	l->nw = n;
}

unsigned int vab_loop_fill(struct vab *b, struct pollfd *p, unsigned int max)
{
	struct vab_loop *l = b->loop;
	unsigned int i;

	if (!l)
		return 0;
	vab_watch_compact(l);
	if (l->nw > max)
		return l->nw;
	for (i = 0; i < l->nw; i++) {
		p[i].fd = l->w[i].events ? l->w[i].fd : -1;
		p[i].events = l->w[i].events;
		p[i].revents = 0;
	}
	return l->nw;
}

void vab_loop_dispatch(struct vab *b, const struct pollfd *p, unsigned int n)
{
	struct vab_loop *l = b->loop;
	unsigned int i;

	for (i = 0; l && i < n && i < l->nw; i++) {
		struct vab_watch w = l->w[i];
		short r;

		/* Deleted, paused or replaced since the fill: not this one. */
		if (w.fd < 0 || p[i].fd != w.fd || !w.events || !p[i].revents)
			continue;
		r = (short)(p[i].revents &
			    (w.events | POLLERR | POLLHUP | POLLNVAL));
		if (!r)
			continue;
		if (r & POLLNVAL) {
			/* Closed under its watch: a bug, but never a busy loop. */
			vab_log(VAB_LOG_ERROR,
				"bug: descriptor %d closed while watched", w.fd);
			l->w[i].fd = -1;
		}
		w.fn(w.d, w.fd, r, w.arg);
		vab_kick(b);
	}
}

int vab_timer_arm(struct vab *b, struct vab_dev *d, int64_t at_ms,
		  vab_timer_fn fn, void *arg)
{
	struct vab_loop *l = vab_loop_get(b);
	struct vab_timer *t;
	unsigned int i;

	if (!l)
		return -ENOMEM;
	if (!fn)
		return -EINVAL;
	for (i = 0; i < l->nt; i++) {
		t = &l->t[i];
		if (t->d == d && t->fn == fn && t->arg == arg) {
			t->at_ms = at_ms;
			t->seq = ++l->seq;
			return 0;
		}
	}
	if (l->nt == l->capt) {
		unsigned int cap = l->capt ? 2 * l->capt : 8;

		t = realloc(l->t, cap * sizeof(*t));
		if (!t)
			return -ENOMEM;
		l->t = t;
		l->capt = cap;
	}
	t = &l->t[l->nt++];
	t->d = d;
	t->fn = fn;
	t->arg = arg;
	t->at_ms = at_ms;
	t->seq = ++l->seq;
	return 0;
}

static void vab_timer_remove(struct vab_loop *l, unsigned int i)
{
	l->t[i] = l->t[--l->nt];
}

void vab_timer_cancel(struct vab *b, struct vab_dev *d, vab_timer_fn fn,
		      void *arg)
{
	struct vab_loop *l = b->loop;
	unsigned int i;

	for (i = 0; l && i < l->nt; i++) {
		if (l->t[i].d == d && l->t[i].fn == fn && l->t[i].arg == arg) {
			vab_timer_remove(l, i);
			return;
		}
	}
}

int vab_loop_timeout(struct vab *b, int timeout)
{
	struct vab_loop *l = b->loop;
	int64_t first = INT64_MAX, ms;
	unsigned int i;

	if (!l || !l->nt)
		return timeout;
	for (i = 0; i < l->nt; i++)
		if (l->t[i].at_ms < first)
			first = l->t[i].at_ms;
	ms = first - vab_now_ms();
	if (ms < 0)
		ms = 0;
	if (ms > INT_MAX)
		ms = INT_MAX;
	return timeout < 0 || ms < timeout ? (int)ms : timeout;
}

void vab_loop_run_timers(struct vab *b)
{
	struct vab_loop *l = b->loop;
	uint64_t last;
	int64_t now;

	if (!l || !l->nt)
		return;
	last = l->seq;
	now = vab_now_ms();
	for (;;) {
		struct vab_timer t;
		unsigned int i, best = UINT_MAX;

		for (i = 0; i < l->nt; i++) {
			const struct vab_timer *c = &l->t[i];

			if (c->at_ms > now || c->seq > last)
				continue;
			if (best == UINT_MAX || c->at_ms < l->t[best].at_ms ||
			    (c->at_ms == l->t[best].at_ms &&
			     c->seq < l->t[best].seq))
				best = i;
		}
		if (best == UINT_MAX)
			break;
		t = l->t[best];
		vab_timer_remove(l, best);
		t.fn(t.d, t.arg);
		vab_kick(b);
	}
}

void vab_loop_dev_gone(struct vab *b, struct vab_dev *d)
{
	struct vab_loop *l = b->loop;
	unsigned int i;

	if (!l)
		return;
	for (i = 0; i < l->nw; i++)
		if (l->w[i].d == d)
			l->w[i].fd = -1;
	for (i = 0; i < l->nt;) {
		if (l->t[i].d == d)
			vab_timer_remove(l, i);
		else
			i++;
	}
}

void vab_loop_free(struct vab *b)
{
	if (!b->loop)
		return;
	free(b->loop->w);
	free(b->loop->t);
	free(b->loop);
	b->loop = NULL;
}
