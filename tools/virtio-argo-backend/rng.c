// SPDX-License-Identifier: MIT
/*
 * virtio-argo-backend: virtio-rng (virtio 1.x, "Entropy Device"), fed by
 * getrandom(2), with an optional rate limit per device.
 *
 *   --rng frontend=D[,rate=BYTES_PER_SEC][,burst=BYTES]
 *
 * One queue, requestq, no configuration space, no feature besides
 * VERSION_1.  A request is a chain of device-writable buffers; the device
 * fills them with random bytes and completes the chain with written = the
 * bytes filled: all of them, up to RNG_CHUNK per chain (the specification
 * lets the device use less than the whole buffer).  A chain with
 * driver-readable bytes breaks the specification ("The driver MUST NOT
 * place driver-readable buffers into the queue"), one without writable
 * bytes carries nothing: both are malformed, counted, logged and
 * completed with nothing written, the class's error completion.
 *
 * rate= limits what the frontend gets with a token bucket of burst= bytes
 * (default: one second's worth), full at start, refilled continuously at
 * rate bytes per second.  A chain is served when the bucket holds what
 * it asks for (or a whole bucket, for a chain larger than it); until then
 * it is held, in arrival order, and a timer set for when the bucket will
 * have enough serves it.  So a frontend never gets more than burst + rate
 * * t bytes in t seconds, whatever it sends, and holds at most its queue
 * size of chains.  RESET keeps the bucket as it is (a reset is no way to
 * get a fresh burst); SIGTERM completes the held chains with nothing
 * written.
 *
 * Copyright (c) 2026 The virtio-argo authors
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "backend.h"

#define RNG_QUEUE_SIZE	64
/* Most bytes given for one chain. */
#define RNG_CHUNK	(64U << 10)
#define RNG_RATE_MAX	(1ULL << 30)
#define RNG_BURST_MAX	(1ULL << 30)

struct rng {
	uint64_t rate;			/* bytes per second; 0: unlimited */
	uint64_t burst;			/* bucket size, bytes; 0 until realize */
	uint64_t tokens;		/* in the bucket, in 1/1000 bytes */
	int64_t last_ms;		/* time of the last refill */
	struct vab_chain *held, **held_tail;
	unsigned int nheld;
	uint64_t served;		/* bytes given, for the log */
};

static struct rng *rng_of(struct vab_dev *d)
{
	return d->priv;
}

static struct rng *rng_get(struct vab_dev *d)
{
	struct rng *r = d->priv;

	if (r)
		return r;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->held_tail = &r->held;
	d->priv = r;
	return r;
}

static int rng_set_prop(struct vab_dev *d, const char *key, const char *val)
{
	struct rng *r = rng_get(d);
	uint64_t v;

	if (!r)
		return -ENOMEM;
	if (!strcmp(key, "rate")) {
		if (vab_parse_size(val, RNG_RATE_MAX, &v))
			return -EINVAL;
		r->rate = v;
		return 0;
	}
	if (!strcmp(key, "burst")) {
		if (vab_parse_size(val, RNG_BURST_MAX, &v) || !v)
			return -EINVAL;
		r->burst = v;
		return 0;
	}
	return -ENOENT;
}

static int rng_realize(struct vab_dev *d)
{
	struct rng *r = rng_get(d);

	if (!r)
		return -ENOMEM;
	if (r->burst && !r->rate) {
		vab_log(VAB_LOG_ERROR, "%s: burst= needs rate=", d->name);
		return -EINVAL;
	}
	if (r->rate && !r->burst)
		r->burst = r->rate;
	r->tokens = r->burst * 1000;
	r->last_ms = vab_now_ms();
	d->features_offered = 1ULL << VAB_F_VERSION_1;
	d->num_queues = 1;
	d->queue_max[0] = RNG_QUEUE_SIZE;
	d->config_len = 0;
	if (r->rate)
		vab_log(VAB_LOG_INFO,
			"frontend %u: %s: getrandom, %llu bytes/s, burst %llu",
			d->fe->domid, d->name, (unsigned long long)r->rate,
			(unsigned long long)r->burst);
	else
		vab_log(VAB_LOG_INFO, "frontend %u: %s: getrandom, no rate limit",
			d->fe->domid, d->name);
	return 0;
}

static void rng_refill(struct rng *r, int64_t now)
{
	uint64_t cap = r->burst * 1000, room, elapsed;

	if (now <= r->last_ms)
		return;
	elapsed = (uint64_t)(now - r->last_ms);
	r->last_ms = now;
	room = cap - r->tokens;
	/* elapsed * rate may overflow: compare by division. */
	if (elapsed >= room / r->rate + 1)
		r->tokens = cap;
	else
		r->tokens += elapsed * r->rate;
	if (r->tokens > cap)
		r->tokens = cap;
}

/* Bytes to give @c: what it asks for, capped by the chunk. */
static uint32_t rng_want(const struct vab_chain *c)
{
	return c->in_len < RNG_CHUNK ? c->in_len : RNG_CHUNK;
}

/* Bytes the bucket must hold before @c is served. */
static uint64_t rng_need(const struct rng *r, const struct vab_chain *c)
{
	uint64_t want = rng_want(c);

	return want < r->burst ? want : r->burst;
}

/* Fill and complete @c with @n bytes (0: nothing). */
static void rng_give(struct vab_dev *d, struct vab_chain *c, uint32_t n)
{
	struct rng *r = rng_of(d);
	uint8_t *buf = NULL;
	size_t got = 0;

	if (n) {
		buf = malloc(n);
		if (!buf) {
			vab_fe_log(d->fe, d, VAB_LOG_ERROR, "out of memory");
			n = 0;
		}
	}
	while (got < n) {
		ssize_t k = getrandom(buf + got, n - got, 0);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			vab_fe_log(d->fe, d, VAB_LOG_ERROR, "getrandom: %s",
				   k < 0 ? strerror(errno) : "no bytes");
			free(buf);
			buf = NULL;
			n = 0;
			break;
		}
		got += (size_t)k;
	}
	r->served += n;
	vab_chain_complete(d, c, buf, n, n, NULL, 0);
}

/* Serve @c if the bucket allows: true if completed. */
static bool rng_serve(struct vab_dev *d, struct vab_chain *c)
{
	struct rng *r = rng_of(d);
	uint64_t avail;
	uint32_t n = rng_want(c);

	if (!r->rate) {
		rng_give(d, c, n);
		return true;
	}
	rng_refill(r, vab_now_ms());
	avail = r->tokens / 1000;
	if (avail < rng_need(r, c))
		return false;
	if (n > avail)
		n = (uint32_t)avail;
	r->tokens -= (uint64_t)n * 1000;
	rng_give(d, c, n);
	return true;
}

static void rng_timer(struct vab_dev *d, void *arg);

/* Set the timer for when the first held chain can be served. */
static void rng_arm(struct vab_dev *d)
{
	struct rng *r = rng_of(d);
	uint64_t need, ms;
	struct vab_chain *c;

	if (!r->held)
		return;
	need = rng_need(r, r->held) * 1000;
	ms = need > r->tokens ? (need - r->tokens + r->rate - 1) / r->rate : 0;
	if (!vab_timer_arm(d->b, d, r->last_ms + (int64_t)(ms ? ms : 1),
			   rng_timer, NULL))
		return;
	/* Without a timer nothing would ever serve them. */
	vab_fe_log(d->fe, d, VAB_LOG_ERROR,
		   "out of memory: %u held requests completed empty", r->nheld);
	while ((c = r->held)) {
		r->held = c->next;
		rng_give(d, c, 0);
	}
	r->held_tail = &r->held;
	r->nheld = 0;
}

static void rng_timer(struct vab_dev *d, void *arg)
{
	struct rng *r = rng_of(d);
	struct vab_chain *c;

	(void)arg;
	while ((c = r->held)) {
		struct vab_chain *next = c->next;

		if (!rng_serve(d, c))
			break;
		r->held = next;
		r->nheld--;
	}
	if (!r->held)
		r->held_tail = &r->held;
	rng_arm(d);
}

static void rng_request(struct vab_dev *d, struct vab_chain *c)
{
	struct rng *r = rng_of(d);

	if (c->out_len || !c->in_len) {
		vab_dev_malformed(d, "chain %u:%u: %u driver-readable, %u writable bytes",
				  c->queue, c->id, c->out_len, c->in_len);
		vab_chain_complete(d, c, NULL, 0, 0, NULL, 0);
		return;
	}
	/* Behind held chains, in order; else now if the bucket allows. */
	if (!r->held && rng_serve(d, c))
		return;
	c->next = NULL;
	*r->held_tail = c;
	r->held_tail = &c->next;
	if (!r->nheld++)
		rng_arm(d);
}

static void rng_reset(struct vab_dev *d)
{
	struct rng *r = rng_of(d);

	/* proto.c frees the held chains next. */
	r->held = NULL;
	r->held_tail = &r->held;
	r->nheld = 0;
	vab_timer_cancel(d->b, d, rng_timer, NULL);
}

static void rng_stop(struct vab_dev *d)
{
	struct rng *r = rng_of(d);
	struct vab_chain *c;

	while ((c = r->held)) {
		r->held = c->next;
		rng_give(d, c, 0);
	}
	rng_reset(d);
}

static void rng_destroy(struct vab_dev *d)
{
	struct rng *r = rng_of(d);

	if (!r)
		return;
	vab_log(VAB_LOG_DEBUG, "frontend %u: %s: %llu bytes given",
		d->fe->domid, d->name, (unsigned long long)r->served);
	free(r);
	d->priv = NULL;
}

const struct vab_dev_class vab_rng_class = {
	.name = "rng",
	.device_id = 4,		/* VIRTIO_ID_RNG */
	.set_prop = rng_set_prop,
	.realize = rng_realize,
	.request = rng_request,
	.reset = rng_reset,
	.stop = rng_stop,
	.destroy = rng_destroy,
};
