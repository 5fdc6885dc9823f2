/* SPDX-License-Identifier: MIT */
/*
 * virtio-argo-backend: the device side of the virtio-argo protocol
 * (Documentation/virtio-argo-protocol.rst), in userspace.
 *
 * Layers, bottom up:
 *   transport  how messages leave: struct vab_transport (send, the largest
 *              message a destination takes, discarding a receive ring).
 *              main.c implements it over /dev/argo; the unit tests with a
 *              recorder.  Receiving is the caller's business: it hands each
 *              message to vab_ctrl_rx() or vab_data_rx().
 *   protocol   proto.c: frontends, devices, every control request and its
 *              state rules, reassembly of DATA_REQ chains, queueing and
 *              splitting of DATA_COMP completions.  Knows no device class.
 *   classes    blk.c (virtio-blk): struct vab_dev_class, one ops table per
 *              device class; it sees whole chains (the driver-written
 *              bytes, the size of the writable space) and completes them,
 *              at once or later (a held chain).
 *   loop       loop.c: file descriptor watches and timers for classes,
 *              run by main.c's poll() loop.
 *
 * Everything runs in one thread (see Documentation/virtio-argo-backend.rst
 * for why); nothing here is thread-safe.
 *
 * Copyright (c) 2026 The virtio-argo authors
 */
#ifndef VAB_BACKEND_H
#define VAB_BACKEND_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <argo/virtio_argo.h>

#define VAB_NAME		"virtio-argo-backend"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#endif

/* Ring sizes (bytes of data area; Argo wants multiples of 16). */
#define VAB_CTRL_RING		(64U << 10)
#define VAB_DATA_RING_DEFAULT	(2U << 20)
#define VAB_RING_MAX		(0x1000000U - 64U)	/* /dev/argo's limit */
/* Largest message a ring of @ring bytes takes (an Argo rule). */
#define VAB_RING_MSG(ring)	((ring) - 32U)

/*
 * Memory a device may hold for a frontend: chains being reassembled,
 * executed chains waiting to be sent back, their bookkeeping.  Above it
 * the device stops reading its ring and defers execution (Argo's flow
 * control then holds the frontend back); see vab_dev_rx_ready().
 */
#define VAB_DEV_MEM_LIMIT	(64U << 20)

/*
 * Protocol features we accept when a frontend proposes them in HELLO
 * (include/uapi/argo/virtio_argo.h): OUT_NOCOMP, no completion for a
 * chain without device-writable bytes (see struct vab_chain).
 */
#define VAB_PROTO_FEATURES	VIRTIO_ARGO_F_OUT_NOCOMP

/* Frontends served by one backend (each is a domain id). */
#define VAB_MAX_FRONTENDS	64

/* Virtio device status bits (virtio 1.x, 2.1). */
#define VAB_S_ACKNOWLEDGE	0x01
#define VAB_S_DRIVER		0x02
#define VAB_S_DRIVER_OK		0x04
#define VAB_S_FEATURES_OK	0x08
#define VAB_S_NEEDS_RESET	0x40
#define VAB_S_FAILED		0x80

#define VAB_F_VERSION_1		32	/* VIRTIO_F_VERSION_1 */

enum vab_log_level { VAB_LOG_DEBUG, VAB_LOG_INFO, VAB_LOG_WARN, VAB_LOG_ERROR };

struct vab;
struct vab_dev;
struct vab_frontend;
struct vab_loop;
struct vab_config;
struct vab_control;
struct pollfd;

/* One Argo endpoint of ours: a ring we registered and send from. */
struct vab_ep {
	int fd;			/* /dev/argo file; -1 in tests */
	uint32_t port;
	uint16_t partner;
	uint32_t ring_size;
	bool tx_blocked;	/* last send got EAGAIN: wait for POLLOUT */
};

/* How the protocol layer sends; every function returns 0 or -errno. */
struct vab_transport {
	/* One message from @ep to (@domain, @port); -EAGAIN if it is full. */
	int (*send)(void *ctx, struct vab_ep *ep, uint16_t domain,
		    uint32_t port, uint32_t type, const void *buf, size_t len);
	/* Largest message (@domain, @port) takes from @ep's domain. */
	int (*max_msg)(void *ctx, struct vab_ep *ep, uint16_t domain,
		       uint32_t port, uint32_t *max);
	/* Drop every message waiting in @ep's ring. */
	void (*discard_rx)(void *ctx, struct vab_ep *ep);
	/*
	 * Register @ep's ring (port, partner, ring_size set; fd -1) and set
	 * its fd: 0 or -errno, logged naming @what.  May be NULL (tests):
	 * then rings are not registered at all.
	 */
	int (*open_ep)(void *ctx, struct vab_ep *ep, const char *what);
	/* Unregister a ring open_ep() registered; fd becomes -1. */
	void (*close_ep)(void *ctx, struct vab_ep *ep);
	/*
	 * Whether @ep's ring is still registered, and if the hypervisor
	 * dropped it (as Xen does when the partner domain dies), register it
	 * again: 0 if it was registered again, -EEXIST if it was still
	 * there, else -errno (say -ESRCH: the partner does not exist now).
	 * May be NULL.
	 */
	int (*renew_ep)(void *ctx, struct vab_ep *ep);
	void *ctx;
};

enum vab_chain_state {
	VAB_CHAIN_RECEIVING,	/* records still to come */
	VAB_CHAIN_READY,	/* whole, waiting for memory to execute */
	VAB_CHAIN_HELD,		/* executing: the class completes it later */
	VAB_CHAIN_DONE,		/* completed, being sent back */
};

/*
 * One descriptor chain of a frontend, from its CHAIN_FIRST record until
 * the last record of its completion has been sent.  It owns the slot
 * queue->slots[id] meanwhile, which is how duplicate ids are caught.
 *
 * OUT_NOCOMP (the frontend proposed it at HELLO): a chain without
 * device-writable bytes (in_len 0) is nocomp.  The frontend completes it
 * itself once it has sent it, so it gives up its slot as soon as it is
 * whole (the frontend may reuse the id at once), is still executed in
 * order, and vab_chain_complete() then frees it: no completion is sent.
 * Its memory stays charged until then (flow control).
 */
struct vab_chain {
	struct vab_chain *next;		/* ready or completion list */
	/* Every chain of the device, slot or not (vab_dev_drop_chains()). */
	struct vab_chain *dev_next, **dev_pprev;
	enum vab_chain_state state;
	bool nocomp;			/* OUT_NOCOMP: no completion sent */
	uint16_t queue;
	uint16_t id;
	uint32_t session;		/* hdr.tag of its requests */
	uint32_t out_len;		/* driver-readable bytes */
	uint32_t in_len;		/* device-writable bytes */
	uint32_t received;		/* out bytes received so far */
	uint8_t *out;			/* out bytes, grown as they come */
	size_t out_cap;
	/* Completion: written bytes = in[0, in_buf_len), zeros, tail. */
	uint32_t written;
	uint32_t sent;			/* bytes already sent back */
	bool first_sent;		/* a record went out (CHAIN_FIRST) */
	uint8_t *in;
	uint32_t in_buf_len;
	uint8_t tail[8];
	uint8_t tail_len;
	size_t charge;			/* bytes counted in dev->mem_used */
};

struct vab_queue {
	uint16_t size;			/* set by QUEUE_SETUP; 0: not set */
	bool enabled;
	struct vab_chain **slots;	/* [size], allocated at DRIVER_OK */
};

/*
 * A device class: virtio-blk now; net, console, rng later.  Only request
 * is mandatory besides realize.  Each runs in the event loop and must not
 * block for long (see the document on synchronous file I/O).
 *
 * Held chains: request() may return without completing its chain (a
 * console's receive buffer waiting for input, a rate-limited rng).  The
 * chain is then HELD: the class keeps it (c->next is free for the class's
 * own list) and completes it later, typically from a watch or timer
 * callback; what it completes outside request() is sent by vab_kick().  A
 * class that holds chains must have reset and stop: proto.c calls reset
 * before it frees the device's chains (the class forgets or completes the
 * ones it holds) and stop on SIGTERM (the class completes every chain it
 * holds and every chain it is given from then on, at once).  A chain
 * may be freed by vab_chain_complete() (nocomp, see struct vab_chain):
 * the class must not touch it afterwards.
 */
struct vab_dev_class {
	const char *name;		/* command-line option and log name */
	uint32_t device_id;		/* virtio device id */
	/* One key=value property: 0, -ENOENT (unknown key) or -EINVAL. */
	int (*set_prop)(struct vab_dev *d, const char *key, const char *val);
	/*
	 * After the properties: open what backs the device, fill
	 * features_offered, num_queues, queue_max[], config[], config_len.
	 * 0 or -errno (logged by the class).
	 */
	int (*realize)(struct vab_dev *d);
	/* Execute a whole chain; call vab_chain_complete() for it. */
	void (*request)(struct vab_dev *d, struct vab_chain *c);
	/* Complete a chain that cannot be executed (the class's error). */
	void (*fail)(struct vab_dev *d, struct vab_chain *c);
	/* Configuration write of @len bytes at @off (checked); may be NULL. */
	void (*config_write)(struct vab_dev *d, uint32_t off,
			     const uint8_t *buf, uint32_t len);
	/*
	 * RESET, DETACH, HELLO again: back to the initial state.  Called
	 * before proto.c frees the device's chains: drop every reference to
	 * a held chain (or complete it); don't touch them afterwards.
	 */
	void (*reset)(struct vab_dev *d);
	/* SIGTERM: complete every held chain now; hold none from now on. */
	void (*stop)(struct vab_dev *d);
	/* Make completed writes durable: 0 or -errno. */
	int (*flush)(struct vab_dev *d);
	/* SIGHUP: look at the backing store again (e.g. a resized disk). */
	void (*refresh)(struct vab_dev *d);
	/*
	 * Free the class's state.  Its watches and timers are gone already;
	 * its held chains are still allocated but freed by proto.c after.
	 */
	void (*destroy)(struct vab_dev *d);
};

struct vab_dev_stats {
	uint64_t rx_msgs;
	uint64_t rx_bytes;
	uint64_t tx_msgs;
	uint64_t tx_bytes;
	uint64_t tx_eagain;
	uint64_t chains;
	uint64_t chains_failed;
	uint64_t chains_nocomp;		/* done, no completion sent (OUT_NOCOMP) */
	uint64_t malformed;
};

/* Where a device was configured: what may remove it (config.c). */
enum vab_origin {
	VAB_FROM_CMDLINE,		/* --blk etc.: for the process's life */
	VAB_FROM_CONFIG,		/* --config: the file says, at each SIGHUP */
	VAB_FROM_CONTROL,		/* an add on the control socket */
};

/* Longest device id (id=NAME, or the default "blk0"), without the NUL. */
#define VAB_ID_MAX		15

struct vab_dev {
	struct vab *b;
	struct vab_frontend *fe;
	const struct vab_dev_class *cls;
	void *priv;			/* the class's */
	char name[VAB_ID_MAX + 1];	/* its id: "blk0", unique in the backend */
	uint32_t index;			/* per frontend: the lowest free one */
	uint32_t handle;		/* per HELLO; never 0 */
	enum vab_origin origin;
	char *spec;			/* "CLASS PROPS", canonical (options.c) */
	bool known;			/* the frontend has its handle (DEV_INFO) */

	/* Device side of virtio, as the frontend set it. */
	uint64_t features_offered;
	uint64_t features;
	uint8_t status;
	uint16_t num_queues;
	uint16_t queue_max[VIRTIO_ARGO_MAX_QUEUES];
	struct vab_queue queues[VIRTIO_ARGO_MAX_QUEUES];
	uint8_t config[VIRTIO_ARGO_MAX_CONFIG];
	uint16_t config_len;
	uint32_t generation;
	bool ev_config_pending;

	/* Data rings. */
	struct vab_ep ep;		/* ours: DATA_REQ in, DATA_COMP out */
	bool attached;
	uint32_t fe_port;		/* the frontend's data ring */
	uint32_t fe_max_msg;		/* largest message it takes */

	struct vab_chain *ready, **ready_tail;
	struct vab_chain *comp, **comp_tail;
	struct vab_chain *chains;	/* every chain alive (dev_next) */
	struct vab_chain *executing;	/* in cls->request() now */
	uint32_t inflight;		/* chains alive (a slot, or nocomp) */
	size_t mem_used;
	size_t mem_limit;
	bool pumping;			/* in vab_dev_pump() */
	bool kick;			/* completed outside it: pump me */
	struct vab_dev_stats stats;
};

/* A reply or event waiting for the frontend's control ring. */
struct vab_ctrl_msg {
	struct vab_ctrl_msg *next;
	uint32_t port;
	uint32_t type;
	uint32_t len;
	uint8_t buf[];
};

/*
 * The data ring of a device removed while attached, kept registered (and
 * not read) until the frontend has let go of the device, so that what it
 * sends before it sees EV_DEV_REMOVED is not refused as if the backend
 * were gone (see vab_dev_remove()).
 */
struct vab_linger {
	struct vab_linger *next;
	struct vab_ep ep;
	uint32_t fe_port;		/* the frontend's data ring */
	int64_t until;			/* vab_now_ms(): closed then at the latest */
};

struct vab_frontend {
	struct vab *b;
	uint16_t domid;
	struct vab_ep ctrl;
	bool hello;			/* HELLO done: ctrl_port valid */
	uint32_t ctrl_port;		/* where events go */
	uint32_t features;		/* protocol features of its HELLO */
	struct vab_dev *devs[VIRTIO_ARGO_MAX_DEVICES];
	uint32_t ndevs;
	struct vab_ctrl_msg *txq, **txq_tail;
	uint32_t txq_len;
	/* Rate limit for messages about this frontend's misbehaviour. */
	int64_t rl_start;
	uint32_t rl_count;
	uint32_t rl_suppressed;
	uint64_t malformed;
	uint64_t unknown_handles;	/* requests naming no device of its own */
	uint64_t gone;			/* times it was found gone */
	/* Our rings for it may have gone with its domain: register again. */
	bool renew;
	struct vab_linger *linger;	/* rings of removed devices */
};

struct vab {
	uint16_t domain;		/* the domain we bind as */
	struct vab_transport t;
	struct vab_frontend *fes[VAB_MAX_FRONTENDS];
	uint32_t nfes;
	uint32_t next_handle;
	bool stopping;			/* SIGTERM: take no more requests */
	uint8_t *txbuf;			/* one message being built */
	size_t txbuf_cap;
	bool kick;			/* a device has kick set */
	struct vab_loop *loop;		/* loop.c's; NULL until first used */
	/* Rings registered (vab_start()): devices added now register theirs. */
	bool running;
	/*
	 * Every this many ms, each frontend that said HELLO (or whose rings
	 * need registering again) is checked; 0: only after a send to it
	 * failed.  main.c sets it; see vab_fe_check().
	 */
	uint32_t fe_check_ms;
	struct vab_config *config;	/* config.c's: --config */
	struct vab_control *control;	/* control.c's: --control */
};

/* log.c */
extern enum vab_log_level vab_log_level;
/*
 * While vab_log_catch is set and empty, the text of the next error line
 * (whatever the level shown) is also copied there (vab_log_catch_len
 * bytes at most): the first error, the cause, is what the control socket
 * answers.
 */
extern char *vab_log_catch;
extern size_t vab_log_catch_len;
int vab_parse_log_level(const char *s, enum vab_log_level *lvl);
void vab_log(enum vab_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * A log line about a frontend (and device, may be NULL), rate-limited
 * at warn and above: what hostile input can trigger is never a flood.
 */
void vab_fe_log(struct vab_frontend *fe, struct vab_dev *d,
		enum vab_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void vab_fe_vlog(struct vab_frontend *fe, struct vab_dev *d,
		 enum vab_log_level lvl, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
int64_t vab_now_ms(void);

/*
 * loop.c: watches and timers for device classes (@d may be NULL for
 * something no device owns).  Everything of a device is removed by
 * vab_destroy().  Callbacks run from vab_loop_dispatch() and
 * vab_loop_run_timers(); completions they make are sent right after.
 */
typedef void (*vab_fd_fn)(struct vab_dev *d, int fd, short revents,
			  void *arg);
/* Watch @fd for @events (POLLIN/POLLOUT; 0 paused): 0 or -errno. */
int vab_watch_add(struct vab *b, struct vab_dev *d, int fd, short events,
		  vab_fd_fn fn, void *arg);
/* Change the events wanted (0: none, fd not polled at all). */
void vab_watch_events(struct vab *b, int fd, short events);
/* Stop watching @fd; safe from inside any callback. */
void vab_watch_del(struct vab *b, int fd);
typedef void (*vab_timer_fn)(struct vab_dev *d, void *arg);
/* One-shot: fn at vab_now_ms() >= @at_ms; re-arming moves it; 0/-errno. */
int vab_timer_arm(struct vab *b, struct vab_dev *d, int64_t at_ms,
		  vab_timer_fn fn, void *arg);
void vab_timer_cancel(struct vab *b, struct vab_dev *d, vab_timer_fn fn,
		      void *arg);
/*
 * For main.c's poll loop.  vab_loop_fill() returns the number of entries
 * the watches need and writes them only if that is at most @max;
 * vab_loop_dispatch() takes what poll() made of exactly those entries.
 * vab_loop_timeout() is @timeout (ms, -1: none) shortened to the next
 * timer.
 */
unsigned int vab_loop_fill(struct vab *b, struct pollfd *p, unsigned int max);
void vab_loop_dispatch(struct vab *b, const struct pollfd *p, unsigned int n);
int vab_loop_timeout(struct vab *b, int timeout);
void vab_loop_run_timers(struct vab *b);
/* For proto.c: a device goes (its watches, timers); the whole loop. */
void vab_loop_dev_gone(struct vab *b, struct vab_dev *d);
void vab_loop_free(struct vab *b);

/* proto.c: setting up */
void vab_init(struct vab *b, uint16_t domain, const struct vab_transport *t);
struct vab_frontend *vab_frontend_get(struct vab *b, uint16_t domid);
struct vab_frontend *vab_frontend_find(struct vab *b, uint16_t domid);
/*
 * A new device of @cls for frontend @fe_domid, at index @want_index (-1:
 * the lowest free one), named @name (NULL: the class's name and the lowest
 * number free in the backend, "blk0").  NULL with errno: ENOSPC (no index
 * or frontend left), EEXIST (name or index taken), ENOMEM.  It is not
 * usable before realize and vab_dev_start(); vab_dev_discard() undoes it.
 */
struct vab_dev *vab_dev_new(struct vab *b, uint16_t fe_domid,
			    const struct vab_dev_class *cls, int want_index,
			    const char *name);
int vab_dev_set_prop(struct vab_dev *d, const char *key, const char *val);
/* The device named @name, or NULL. */
struct vab_dev *vab_dev_find(struct vab *b, const char *name);
/* Register every ring (vab_transport.open_ep): 0 or the first error. */
int vab_start(struct vab *b);
/*
 * A realized device goes live: once the backend runs, its ring (and its
 * frontend's control ring, for a new frontend) is registered and a
 * frontend that said HELLO gets EV_DEV_ADDED.  0 or -errno.
 */
int vab_dev_start(struct vab_dev *d);
/* Free a device that never started (a failed add); no message is sent. */
void vab_dev_discard(struct vab_dev *d);
/*
 * Hot removal: fail every chain of the device (the class's error; the
 * chains its class holds are completed by its stop), send what can be
 * sent, EV_DEV_REMOVED to a frontend that knows it, unregister its ring,
 * free it.  Not from inside the device's own callbacks or requests.
 */
void vab_dev_remove(struct vab_dev *d);
/*
 * The frontend is gone (its control ring is no more): forget its session
 * (reset every device, drop its chains and queued messages), log it.
 * It is served as new when it says HELLO again.
 */
void vab_fe_gone(struct vab_frontend *fe, const char *why);
/* SIGTERM, once everything is sent: EV_DEV_REMOVED for every device. */
void vab_announce_exit(struct vab *b);
void vab_destroy(struct vab *b);

/* proto.c: messages in */
void vab_ctrl_rx(struct vab_frontend *fe, uint16_t src, uint32_t src_port,
		 uint32_t type, const void *buf, size_t len);
void vab_data_rx(struct vab_dev *d, uint16_t src, uint32_t src_port,
		 uint32_t type, const void *buf, size_t len);

/* proto.c: event loop hooks */
bool vab_ctrl_rx_ready(const struct vab_frontend *fe);
bool vab_ctrl_tx_pending(const struct vab_frontend *fe);
void vab_ctrl_tx(struct vab_frontend *fe);
bool vab_dev_rx_ready(const struct vab_dev *d);
bool vab_dev_tx_pending(const struct vab_dev *d);
void vab_dev_tx(struct vab_dev *d);
/* SIGTERM: fail what cannot finish, stop reading; true once all is sent. */
void vab_stop(struct vab *b);
bool vab_idle(const struct vab *b);
/* Flush every device: 0, or the first error. */
int vab_flush_all(struct vab *b);
/* SIGHUP: refresh every device. */
void vab_refresh_all(struct vab *b);

/* proto.c: for device classes */
void vab_chain_complete(struct vab_dev *d, struct vab_chain *c, uint8_t *in,
			uint32_t in_buf_len, uint32_t written,
			const void *tail, uint8_t tail_len);
/* The class changed config[]: new generation, EV_CONFIG to the frontend. */
void vab_dev_config_changed(struct vab_dev *d);
/* Send what was completed outside a device's own pump (see held chains). */
void vab_kick(struct vab *b);
/* A malformed chain: counted for the device and frontend, logged. */
void vab_dev_malformed(struct vab_dev *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A size in bytes with an optional K or M suffix: 0 or -EINVAL. */
int vab_parse_size(const char *s, uint64_t max, uint64_t *out);

/* blk.c */
extern const struct vab_dev_class vab_blk_class;
/* net.c */
extern const struct vab_dev_class vab_net_class;
/* Per device counters; "tx" is what the guest sent, "rx" what it got. */
struct vab_net_stats {
	uint64_t tx_frames;		/* passed on (switch) or written (tap) */
	uint64_t tx_bytes;
	uint64_t tx_bad;		/* malformed transmit chains */
	uint64_t tx_dropped;		/* link down, tap error */
	uint64_t tx_spoofed;		/* another port's or a multicast source */
	uint64_t rx_frames;		/* given to the driver */
	uint64_t rx_bytes;
	uint64_t rx_no_buffer;		/* dropped: no receive chain held */
	uint64_t rx_oversize;		/* dropped: fits no chain held, or MTU */
	uint64_t rx_dropped;		/* link down, bad frame from the tap */
	uint64_t rx_bad_chains;		/* malformed receive chains */
	uint64_t gso_segmented;		/* GSO frames cut up in software */
	uint64_t csum_filled;		/* partial checksums filled in */
};

/* Set the link up or down: configuration space and EV_CONFIG; 0/-EINVAL. */
int vab_net_set_link(struct vab_dev *d, bool up);
/* The device's counters, or NULL if it is not a net device. */
const struct vab_net_stats *vab_net_stats(struct vab_dev *d);
/* rng.c */
extern const struct vab_dev_class vab_rng_class;
/* console.c */
extern const struct vab_dev_class vab_console_class;
/* The class named @name ("blk", "net", "rng", "console"), or NULL. */
const struct vab_dev_class *vab_class_find(const char *name);

/*
 * config.c: --config FILE.  vab_config_load() adds the file's devices
 * (at start); vab_config_reload() (SIGHUP) adds what is new in it and
 * removes what is no longer, or changes nothing if the file has an error.
 * Both 0, or -1 after logging the line.  vab_destroy() frees the rest.
 */
int vab_config_load(struct vab *b, const char *path);
int vab_config_reload(struct vab *b);
void vab_config_free(struct vab *b);

/*
 * control.c: --control PATH, a unix stream socket (mode 0600) taking one
 * command per line (see control.c).  vab_control_open(): 0 or -errno,
 * logged; vab_control_close() (also from vab_destroy()) closes every
 * connection and removes the socket.
 */
int vab_control_open(struct vab *b, const char *path);
void vab_control_close(struct vab *b);

/* Little-endian helpers for byte buffers of unknown alignment. */
static inline uint16_t vab_get16(const void *p)
{
	const uint8_t *b = p;

	return (uint16_t)(b[0] | b[1] << 8);
}

static inline uint32_t vab_get32(const void *p)
{
	const uint8_t *b = p;

	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

static inline uint64_t vab_get64(const void *p)
{
	return vab_get32(p) | (uint64_t)vab_get32((const uint8_t *)p + 4) << 32;
}

static inline void vab_put16(void *p, uint16_t v)
{
	uint8_t *b = p;

	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
}

static inline void vab_put32(void *p, uint32_t v)
{
	uint8_t *b = p;

	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)(v >> 16);
	b[3] = (uint8_t)(v >> 24);
}

static inline void vab_put64(void *p, uint64_t v)
{
	vab_put32(p, (uint32_t)v);
	vab_put32((uint8_t *)p + 4, (uint32_t)(v >> 32));
}

#endif /* VAB_BACKEND_H */
