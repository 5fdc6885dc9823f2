/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio_argo: the transport's internal interface, shared by main.c (the
 * control channel and the virtio_config_ops), vq.c (the virtqueue mirror)
 * and dma.c (the DMA mapping of the devices' parent).
 *
 * Locking, outer first:
 *  va_backend.req_mutex   one control request in flight at a time
 *  va_backend.devs_lock   the device table (spinlock); held while an event
 *                         updates a device's snapshot and tells its driver
 *  va_device.cfg_lock     the configuration snapshot and its generation
 *  va_device.rx_mutex     one completion message at a time, callbacks
 *                         included; synchronize_cbs, reset and del_vqs take
 *                         it to fence the completion path
 *  va_device.lock         the data path (spinlock, irqsave): every queue's
 *                         cursors, chain states, the records buffer, the
 *                         session; never held across vring_interrupt()
 */
#ifndef _VIRTIO_ARGO_H
#define _VIRTIO_ARGO_H

#include <linux/atomic.h>
#include <linux/bitmap.h>
#include <linux/completion.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uio.h>
#include <linux/virtio.h>
#include <linux/virtio_ring.h>
#include <linux/workqueue.h>
#include <argo/argo.h>

#include "msg.h"

struct platform_device;
struct va_req;

/* The backend: one per module instance. */
struct va_backend {
	u16 domid;		/* backend domain */
	u16 self;		/* domain the frontend acts as */
	u32 ctrl_port;
	u32 max_msg;		/* largest message its control ring takes */
	u32 features;		/* protocol features it accepted */
	u16 num_devices;
	unsigned int instance;	/* in the module's domain= list */
	char name[16];		/* "domain N: " if several, for messages */
	struct argo_endpoint *ctrl;

	struct mutex req_mutex;	/* one control request at a time */
	spinlock_t req_lock;	/* pending */
	struct va_req *pending;
	u32 next_tag;
	struct completion tx_space;
	u8 *rxbuf;		/* the control message being handled */

	spinlock_t devs_lock;	/* devs[], and devices' registered */
	struct va_device *devs[VIRTIO_ARGO_MAX_DEVICES];
	struct mutex add_mutex;	/* adding and removing devices */
	DECLARE_BITMAP(add_pending, VIRTIO_ARGO_MAX_DEVICES);
	struct work_struct dev_work;	/* devices added and removed */
	struct delayed_work watch;	/* the backend's liveness */
	bool stopping;		/* events add or remove no device */
	bool connected;		/* HELLO answered, control ring there */
	bool exiting;

	atomic64_t ctrl_malformed;
	atomic64_t ctrl_stale;
};

/* Per device counters, shown in sysfs (see Documentation/virtio-argo.rst). */
enum va_stat {
	VA_STAT_TX_MSGS,	/* DATA_REQ messages sent */
	VA_STAT_TX_HYPERCALLS,	/* sends tried, -EAGAIN included */
	VA_STAT_TX_CHAINS,	/* chains sent (first records) */
	VA_STAT_TX_BYTES,	/* driver-readable bytes sent */
	VA_STAT_TX_EAGAIN,	/* sends refused for a full ring */
	VA_STAT_TX_EARLY,	/* chains completed at send (OUT_NOCOMP) */
	VA_STAT_TX_KEPT,	/* chains copied to the backlog, completed */
	VA_STAT_TX_DROPPED,	/* chains completed unsent: backlog full */
	VA_STAT_TX_DROPPED_BYTES,	/* their bytes */
	VA_STAT_RX_MSGS,	/* messages received on the data ring */
	VA_STAT_RX_CHAINS,	/* chains completed to the driver */
	VA_STAT_RX_BYTES,	/* device-written bytes received */
	VA_STAT_RX_COPIES,	/* copies into the driver's buffers */
	VA_STAT_MALFORMED,	/* messages dropped as malformed */
	VA_STAT_STALE,		/* completions of an old session */
	VA_NR_STATS
};

struct va_stats {
	atomic64_t c[VA_NR_STATS];
};

/* One chain id (head descriptor) of a queue. */
struct va_chain {
	bool in_flight;		/* sent (at least its first record) */
	bool started;		/* a completion record has arrived */
	u16 ndesc;		/* flattened descriptors */
	u32 out_len;		/* driver-readable bytes */
	u32 in_len;		/* device-writable bytes */
	u16 out_segs;		/* readable descriptors with bytes */
	u32 done;		/* completion bytes received */
	/* tentative state while a completion message is checked */
	u32 chk_gen;
	u32 chk_done;
	bool chk_started;
	bool chk_last;
	u32 tx_gen;		/* vad->tx_gen of the message that took it */
};

struct va_queue {
	struct virtqueue *vq;
	struct vring vr;
	u16 num;
	bool event_idx;
	bool indirect;
	/* request side, committed once a message is sent */
	u16 last_avail;
	bool cur_active;	/* a chain is partly sent */
	u16 cur_head;
	u32 cur_off;
	/* tentative copies while a message is built */
	u16 t_last_avail;
	bool t_cur_active;
	u16 t_cur_head;
	u32 t_cur_off;
	/* completion side */
	u16 used_idx;
	u16 old_used;
	u16 kept;		/* its chains in the backlog */
	u32 rx_gen;
	struct va_chain *chains;	/* num entries */
};

struct va_started {
	u16 queue;
	u16 head;
};

/*
 * A chain kept in the backlog: its readable bytes are in va_backlog.buf.
 * Port 0's output joins the entry before it: @chains of the driver's.
 */
struct va_kept {
	u16 queue;
	u16 id;
	u32 len;
	u32 chains;
};

/*
 * A console's transmit chains that the backend's ring could not take: the
 * driver waits for each with interrupts off (virtio_console's put_chars()),
 * so the transport copies its bytes here and uses it at once.  Bytes and
 * chains are rings, in the order the driver made the chains available; the
 * kept chains are sent before any newer chain of the device.  Under
 * va_device.lock.
 */
struct va_backlog {
	u8 *buf;		/* size bytes; NULL: the device has none */
	u32 size;
	u32 head;		/* offset of the oldest kept byte */
	u32 bytes;		/* bytes kept */
	struct va_kept *kept;	/* nkept entries */
	u32 nkept;
	u32 first;		/* index of the oldest kept chain */
	u32 n;			/* chains kept */
	u32 sent;		/* bytes of the oldest chain already sent */
	/* what the message being built takes, committed once it is sent */
	u32 t_chains;		/* chains it ends */
	u32 t_firsts;		/* chains it starts */
	u32 t_sent;		/* sent, after it */
	u32 t_bytes;		/* its bytes */
};

struct va_device {
	struct virtio_device vdev;
	struct va_backend *be;
	struct platform_device *pdev;
	unsigned int index;
	u32 handle;

	spinlock_t cfg_lock;	/* info.config, info.generation */
	struct va_dev_desc info;	/* from DEV_INFO; config snapshot */
	u8 status;
	bool registered;
	bool removed;
	bool cfg_missed;	/* EV_CONFIG before registration */

	struct argo_endpoint *data;
	u32 data_port;
	u32 max_msg;		/* largest DATA_REQ payload the backend takes */

	struct mutex rx_mutex;	/* one completion at a time */
	spinlock_t lock;	/* the data path: everything below */
	bool broken;
	bool tx_blocked;	/* -EAGAIN: wait for tx_ready */
	bool lost;		/* backend gone: fail every request */
	u64 irq_pending;	/* queues irq_work interrupts */
	struct work_struct irq_work;
	struct work_struct tx_work;	/* sends past a kick's budget */
	struct work_struct break_work;	/* virtio_break_device() */
	struct work_struct report_work;	/* what the kick path cannot print */
	const char *break_why;	/* why the device broke, for break_work */
	int tx_err;		/* a send's failure, for report_work */
	bool bl_warn;		/* output dropped, for report_work */
	bool tx_split;		/* the next chain may go in parts */
	u16 big_q;		/* queue of a chain no message holds */
	u32 tx_gen;		/* messages built, to catch a head twice */
	u32 inflight;		/* chains sent and not completed */
	u32 rx_progress;	/* completion messages taken */
	u32 watch_progress;	/* rx_progress at the keepalive's last look */
	u32 session;
	u32 rx_gen;
	unsigned int nq;
	unsigned int tx_rr;
	struct va_queue *queues;	/* info.num_queues entries */
	u8 *recbuf;		/* header + records of the message built */
	u32 rec_cap;
	struct va_started *started;
	u32 started_cap;
	u32 started_n;		/* chains started in the message built */
	struct va_started *early;	/* chains it completes (OUT_NOCOMP) */
	bool out_nocomp;
	u32 early_n;
	u32 tx_bytes_built;	/* its out bytes */
	u32 bl_size;		/* backlog bytes to allocate (console) */
	struct va_backlog bl;
	struct kvec kv[ARGO_MAX_SEGS];

	struct va_stats stats;
};

static inline struct va_device *to_va_device(struct virtio_device *vdev)
{
	return container_of(vdev, struct va_device, vdev);
}

static inline void va_stat_add(struct va_device *vad, enum va_stat i, u64 n)
{
	atomic64_add(n, &vad->stats.c[i]);
}

static inline void va_stat_inc(struct va_device *vad, enum va_stat i)
{
	atomic64_inc(&vad->stats.c[i]);
}

/* main.c */
/*
 * The data path's work items (irq_work, tx_work, break_work): they may serve
 * memory reclaim.  The control path's (dev_work, watch) wait for requests
 * and flush the data path's: they run on system_long_wq.
 */
extern struct workqueue_struct *va_wq;
void va_backend_check(struct va_backend *be);

/* dma.c */
extern const struct dma_map_ops va_dma_ops;
void va_dma_setup(struct device *dev);
void *va_dma_to_virt(u64 addr, u32 len);

/* vq.c */
extern const struct argo_endpoint_ops va_data_ops;
int va_vq_alloc(struct va_device *vad);
void va_vq_free(struct va_device *vad);
int va_vq_setup(struct va_device *vad, unsigned int index,
		struct virtqueue *vq);
void va_vq_teardown(struct va_device *vad);
void va_vq_reset(struct va_device *vad);
bool va_vq_notify(struct virtqueue *vq);
void va_vq_break(struct va_device *vad, const char *why);
void va_vq_fail_all(struct va_device *vad);
void va_vq_quiesce(struct va_device *vad);

#endif /* _VIRTIO_ARGO_H */
