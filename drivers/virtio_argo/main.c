// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_argo: a VirtIO transport over Argo, Xen's hypervisor-mediated
 * message channel.  The devices are implemented by a backend in another
 * domain; no memory is shared with it.
 *
 * Loading the module connects to one backend, asks it for its devices and
 * registers one virtio device per device offered; the unmodified virtio
 * drivers (virtio_blk, virtio_net, ...) bind to them as usual:
 *
 *	modprobe virtio_argo backend=<domid>
 *
 * Parameters:
 *	backend=<domid>		the backend's domain (default 0)
 *	domain=<domid>		the domain this kernel acts as: leave unset on
 *				Xen; under the loopback provider, the virtual
 *				domain (the tests use domain=1 backend=0)
 *	ctrl_port=<port>	the local control ring's port; device N's data
 *				ring is on ctrl_port + 1 + N (default
 *				0x76a10000, 0x76a18000 with the backend in
 *				this same domain)
 *	timeout_ms=<ms>		how long a control request waits (5000)
 *	data_ring=<bytes>	each device's completion ring (256 KiB)
 *	tx_backlog=<bytes>	a console's output kept while the backend's
 *				ring is full (64 KiB); more is dropped and
 *				counted, never waited for
 *
 * The load fails, naming the backend domain, if the backend does not
 * answer HELLO within timeout_ms.  Devices added later are found through
 * the backend's events.
 *
 * The wire protocol is Documentation/virtio-argo-protocol.rst; this
 * transport is described in Documentation/virtio-argo.rst.  This file is
 * the control channel (framing at the bottom, one function per request
 * above it, the virtio_config_ops on top); the virtqueue mirror is in
 * vq.c, the message checks in msg.c, the DMA mapping in dma.c.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/random.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "virtio_argo.h"

static ushort backend;
module_param(backend, ushort, 0444);
MODULE_PARM_DESC(backend, "Backend domain id (default 0)");

/* Frontends one kernel acts as: more than one only under loopback. */
#define VA_MAX_INSTANCES	8

static ushort domain[VA_MAX_INSTANCES];
static int ndomain;
module_param_array(domain, ushort, &ndomain, 0444);
MODULE_PARM_DESC(domain,
		 "Domain(s) to act as, comma-separated: one frontend each (loopback provider only; default: self)");

static uint ctrl_port = VIRTIO_ARGO_PORT_CTRL;
module_param(ctrl_port, uint, 0444);
MODULE_PARM_DESC(ctrl_port, "Local control ring port; data rings follow it");

/* A writable millisecond parameter with bounds. */
struct va_ms_param {
	uint *val;
	uint min;
	uint max;
};

static int va_ms_set(const char *val, const struct kernel_param *kp)
{
	const struct va_ms_param *p = kp->arg;
	uint ms;
	int ret;

	ret = kstrtouint(val, 0, &ms);
	if (ret)
		return ret;
	if (ms < p->min || ms > p->max) {
		pr_err("%s=%u: must be from %u to %u\n", kp->name, ms, p->min,
		       p->max);
		return -EINVAL;
	}
	WRITE_ONCE(*p->val, ms);
	return 0;
}

static int va_ms_get(char *buf, const struct kernel_param *kp)
{
	const struct va_ms_param *p = kp->arg;

	return sysfs_emit(buf, "%u\n", READ_ONCE(*p->val));
}

static const struct kernel_param_ops va_ms_ops = {
	.set = va_ms_set,
	.get = va_ms_get,
};

/* A request's round trip; bounded so that rmmod cannot wait for hours. */
static uint timeout_ms = 5000;
static struct va_ms_param va_timeout_param = {
	.val = &timeout_ms, .min = 100, .max = 600000,
};
module_param_cb(timeout_ms, &va_ms_ops, &va_timeout_param, 0644);
MODULE_PARM_DESC(timeout_ms,
		 "Control request timeout in ms, 100 to 600000 (default 5000)");

/* A notify query per period; the time a dead backend's requests wait. */
static uint keepalive_ms = 1000;
static struct va_ms_param va_keepalive_param = {
	.val = &keepalive_ms, .min = 100, .max = 60000,
};
module_param_cb(keepalive_ms, &va_ms_ops, &va_keepalive_param, 0644);
MODULE_PARM_DESC(keepalive_ms,
		 "Period of the backend's liveness check in ms, 100 to 60000 (default 1000)");

static uint data_ring = 256 * 1024;
module_param(data_ring, uint, 0444);
MODULE_PARM_DESC(data_ring, "Bytes of each device's completion ring");

/*
 * A console's output that the backend's ring cannot take is copied here
 * rather than spun on (Documentation/virtio-argo.rst, The backlog).
 */
#define VA_TX_BACKLOG_MAX	SZ_1M
static uint tx_backlog = 64 * 1024;
module_param(tx_backlog, uint, 0444);
MODULE_PARM_DESC(tx_backlog,
		 "Bytes of console output kept per device while the backend's ring is full, 0 to 1048576 (default 65536)");

#define VA_CTRL_RING	(16 * 1024)

/*
 * The feature bits virtio reserves for the ring and the transport, 24 to 41
 * (virtio 1.2, section 6): of these the mirror carries only VERSION_1,
 * INDIRECT_DESC and EVENT_IDX (va_get_features()); the backend's are masked.
 */
#define VA_TRANSPORT_MASK	GENMASK_ULL(41, 24)

struct workqueue_struct *va_wq;

/* ------------------------------------------------------------------ */
/* Framing: one control request, its reply, the timeout               */
/* ------------------------------------------------------------------ */

/* Or'ed into a request's type: report no error (see va_err()) ... */
#define VA_QUIET	BIT(30)
/* ... or none for a NODEV refusal (DEV_INFO of an index not in use). */
#define VA_QUIET_NODEV	BIT(29)
#define VA_REQ_FLAGS	(VA_QUIET | VA_QUIET_NODEV)

struct va_req {
	u32 type;
	u32 tag;
	void *reply;
	size_t reply_max;
	size_t len;
	bool oversize;		/* only its common part was kept */
	bool done;
	struct completion comp;
};

/*
 * An error about @vad, or about the connection when @vad is NULL; none if
 * @quiet (the keepalive's requests: their outcome is what it reports).
 */
static __printf(3, 4) void va_err(struct va_device *vad, bool quiet,
				  const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	if (quiet)
		return;
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	if (vad)
		dev_err(&vad->pdev->dev, "%pV", &vaf);
	else
		pr_err("%pV", &vaf);
	va_end(args);
}

/*
 * Send a control request (@req starts with struct virtio_argo_hdr, whose
 * tag is filled in here; @extra follows it) and wait for its reply, at
 * most timeout_ms.  The reply is copied into @reply (8-byte aligned,
 * @reply_max bytes) and its length returned in *@len once its common part
 * is well formed.  Returns 0 for an OK status, the status's errno, or
 * -ETIMEDOUT/-EPROTO/a send error, each reported naming the request, the
 * device and the backend domain.
 */
static int va_request(struct va_backend *be, struct va_device *vad, u32 type,
		      void *req, size_t req_len, const void *extra,
		      size_t extra_len, void *reply, size_t reply_max,
		      size_t *len)
{
	struct virtio_argo_hdr *hdr = req;
	unsigned long deadline;
	struct kvec kv[2] = {
		{ .iov_base = req, .iov_len = req_len },
		{ .iov_base = (void *)extra, .iov_len = extra_len },
	};
	struct va_req r = {
		.type = type & ~VA_REQ_FLAGS,
		.reply = reply,
		.reply_max = reply_max,
	};
	bool quiet = type & VA_QUIET;
	bool quiet_nodev = type & VA_QUIET_NODEV;
	const char *op;
	uint tmo = READ_ONCE(timeout_ms);
	u32 status;
	long left;
	int ret;

	type &= ~VA_REQ_FLAGS;
	op = virtio_argo_req_name(type);
	/* A lost device's requests fail at once (see va_vq_fail_all()). */
	if (vad && READ_ONCE(vad->lost))
		return -ENODEV;
	init_completion(&r.comp);
	mutex_lock(&be->req_mutex);
	/* From now: waiting behind another request takes none of ours. */
	deadline = jiffies + msecs_to_jiffies(tmo);
	if (!++be->next_tag)
		be->next_tag = 1;
	r.tag = be->next_tag;
	hdr->tag = cpu_to_le32(r.tag);
	spin_lock_bh(&be->req_lock);
	be->pending = &r;
	spin_unlock_bh(&be->req_lock);

	for (;;) {
		reinit_completion(&be->tx_space);
		ret = argo_send(be->ctrl, be->domid, VIRTIO_ARGO_PORT_CTRL, type,
				kv, extra_len ? 2 : 1);
		if (ret != -EAGAIN)
			break;
		left = (long)(deadline - jiffies);
		if (left <= 0 ||
		    !wait_for_completion_timeout(&be->tx_space, left)) {
			ret = -ETIMEDOUT;
			break;
		}
	}
	if (ret >= 0) {
		left = (long)(deadline - jiffies);
		if (left <= 0 || !wait_for_completion_timeout(&r.comp, left))
			ret = -ETIMEDOUT;
	}

	spin_lock_bh(&be->req_lock);
	be->pending = NULL;
	spin_unlock_bh(&be->req_lock);

	if (ret == -ETIMEDOUT) {
		va_err(vad, quiet, "%s timed out after %u ms: no reply from backend domain %u\n",
		       op, tmo, be->domid);
		goto out;
	}
	if (ret < 0) {
		va_err(vad, quiet, "%s: sending to backend domain %u port %#x failed: %d%s\n",
		       op, be->domid, VIRTIO_ARGO_PORT_CTRL, ret,
		       ret == -ECONNREFUSED ? " (no backend listening)" : "");
		goto out;
	}
	/*
	 * A refusal is understood from its common part, however long; an
	 * OK reply too long for what the request expects is malformed.
	 */
	if (va_msg_reply(reply, r.len, &status) ||
	    (r.oversize && status == VIRTIO_ARGO_S_OK)) {
		atomic64_inc(&be->ctrl_malformed);
		va_err(vad, quiet, "%s: malformed reply from backend domain %u\n",
		       op, be->domid);
		ret = -EPROTO;
		goto out;
	}
	*len = r.len;
	ret = va_status_errno(status);
	if (ret)
		va_err(vad, quiet || (quiet_nodev && ret == -ENODEV),
		       "%s refused by backend domain %u: status %u\n",
		       op, be->domid, status);
out:
	mutex_unlock(&be->req_mutex);
	return ret;
}

/* A reply: hand it to the request waiting for it, if any. */
static void va_ctrl_reply(struct va_backend *be, u32 type, const void *buf,
			  size_t len)
{
	const struct virtio_argo_hdr *hdr = buf;
	struct va_req *r;
	bool taken = false;

	spin_lock_bh(&be->req_lock);
	r = be->pending;
	if (r && !r->done && r->type == type &&
	    r->tag == le32_to_cpu(hdr->tag)) {
		/* Too long for the caller: its status is all it gets. */
		r->oversize = len > r->reply_max;
		r->len = r->oversize ? sizeof(struct virtio_argo_reply) : len;
		memcpy(r->reply, buf, min(r->len, len));
		r->done = true;
		complete(&r->comp);
		taken = true;
	}
	spin_unlock_bh(&be->req_lock);
	if (!taken)
		atomic64_inc(&be->ctrl_stale);
}

/* ------------------------------------------------------------------ */
/* Control requests                                                   */
/* ------------------------------------------------------------------ */

static int va_hello(struct va_backend *be, struct va_hello_info *hi,
		    u32 quiet)
{
	struct virtio_argo_hello req = {
		.version_min = cpu_to_le16(VIRTIO_ARGO_VERSION),
		.version_max = cpu_to_le16(VIRTIO_ARGO_VERSION),
		.features = cpu_to_le32(VA_PROTO_FEATURES),
		.ctrl_ring = cpu_to_le32(VA_CTRL_RING),
	};
	struct virtio_argo_hello_reply rep;
	size_t len;
	int ret;

	ret = va_request(be, NULL, VIRTIO_ARGO_T_HELLO | quiet, &req,
			 sizeof(req), NULL, 0, &rep, sizeof(rep), &len);
	if (ret)
		return ret;
	if (va_msg_hello_reply(&rep, len, hi)) {
		pr_err("HELLO: malformed reply from backend domain %u\n",
		       be->domid);
		return -EPROTO;
	}
	return 0;
}

static int va_dev_info(struct va_backend *be, u32 index,
		       struct va_dev_desc *d)
{
	struct virtio_argo_dev_info req = { .index = cpu_to_le32(index) };
	size_t len;
	void *rep;
	int ret;

	rep = kmalloc(VA_CTRL_MSG_MAX, GFP_KERNEL);
	if (!rep)
		return -ENOMEM;
	/* NODEV: no device at that index (any more); said by the caller. */
	ret = va_request(be, NULL, VIRTIO_ARGO_T_DEV_INFO | VA_QUIET_NODEV,
			 &req, sizeof(req), NULL, 0, rep, VA_CTRL_MSG_MAX,
			 &len);
	if (!ret && va_msg_dev_info_reply(rep, len, d)) {
		pr_err("DEV_INFO %u: malformed reply from backend domain %u\n",
		       index, be->domid);
		ret = -EPROTO;
	}
	kfree(rep);
	return ret;
}

/* A request with only the header, or a fixed body, and an empty reply. */
static int va_simple(struct va_device *vad, u32 type, void *req,
		     size_t req_len)
{
	struct virtio_argo_hdr *hdr = req;
	struct virtio_argo_reply rep;
	size_t len;
	int ret;

	hdr->dev = cpu_to_le32(vad->handle);
	ret = va_request(vad->be, vad, type, req, req_len, NULL, 0, &rep,
			 sizeof(rep), &len);
	if (ret)
		return ret;
	if (va_msg_empty_reply(&rep, len)) {
		atomic64_inc(&vad->be->ctrl_malformed);
		dev_err(&vad->pdev->dev, "%s: malformed reply from backend domain %u\n",
			virtio_argo_req_name(type & ~VA_REQ_FLAGS),
			vad->be->domid);
		return -EPROTO;
	}
	return 0;
}

static int va_attach(struct va_device *vad)
{
	struct virtio_argo_attach req = {
		.data_port = cpu_to_le32(vad->data_port),
		.data_ring = cpu_to_le32(data_ring),
	};

	return va_simple(vad, VIRTIO_ARGO_T_ATTACH, &req, sizeof(req));
}

static int va_detach(struct va_device *vad)
{
	struct virtio_argo_hdr req = {};

	return va_simple(vad, VIRTIO_ARGO_T_DETACH, &req, sizeof(req));
}

static int va_set_features_req(struct va_device *vad, u64 features)
{
	struct virtio_argo_set_features req = {
		.features = cpu_to_le64(features),
	};

	return va_simple(vad, VIRTIO_ARGO_T_SET_FEATURES, &req, sizeof(req));
}

static int va_queue_setup(struct va_device *vad, u16 queue, u16 size,
			  bool enable)
{
	struct virtio_argo_queue_setup req = {
		.queue = cpu_to_le16(queue),
		.size = cpu_to_le16(size),
		.flags = cpu_to_le32(enable ? VIRTIO_ARGO_QUEUE_ENABLE : 0),
	};

	return va_simple(vad, VIRTIO_ARGO_T_QUEUE_SETUP, &req, sizeof(req));
}

static int va_reset_req(struct va_device *vad)
{
	struct virtio_argo_hdr req = {};

	return va_simple(vad, VIRTIO_ARGO_T_RESET, &req, sizeof(req));
}

static int va_ping(struct va_device *vad, u32 quiet)
{
	struct virtio_argo_hdr req = {};

	return va_simple(vad, VIRTIO_ARGO_T_PING | quiet, &req, sizeof(req));
}

static int va_set_status_req(struct va_device *vad, u8 status, u8 *now)
{
	struct virtio_argo_set_status req = {
		.hdr.dev = cpu_to_le32(vad->handle),
		.status = cpu_to_le32(status),
	};
	struct virtio_argo_set_status_reply rep;
	size_t len;
	int ret;

	ret = va_request(vad->be, vad, VIRTIO_ARGO_T_SET_STATUS, &req,
			 sizeof(req), NULL, 0, &rep, sizeof(rep), &len);
	if (ret)
		return ret;
	if (va_msg_set_status_reply(&rep, len, now)) {
		atomic64_inc(&vad->be->ctrl_malformed);
		dev_err(&vad->pdev->dev, "SET_STATUS: malformed reply from backend domain %u\n",
			vad->be->domid);
		return -EPROTO;
	}
	return 0;
}

/*
 * Take a configuration range into the snapshot unless it is older than the
 * snapshot: a reply and an event may cross, and the generation the driver
 * sees never goes back.  Whether it was taken.
 */
static bool va_config_update(struct va_device *vad,
			     const struct va_config_range *cr)
{
	unsigned long flags;
	bool take;

	spin_lock_irqsave(&vad->cfg_lock, flags);
	take = (s32)(cr->generation - vad->info.generation) >= 0;
	if (take) {
		memcpy(vad->info.config + cr->offset, cr->bytes, cr->len);
		vad->info.generation = cr->generation;
	}
	spin_unlock_irqrestore(&vad->cfg_lock, flags);
	return take;
}

/*
 * CONFIG_WRITE of @len bytes at @offset (@buf), or CONFIG_READ of the whole
 * space (@buf NULL): the reply's range goes into the snapshot.
 */
static int va_config_access(struct va_device *vad, unsigned int offset,
			    const void *buf, unsigned int len)
{
	u32 type = buf ? VIRTIO_ARGO_T_CONFIG_WRITE : VIRTIO_ARGO_T_CONFIG_READ;
	struct virtio_argo_config_access req = {
		.hdr.dev = cpu_to_le32(vad->handle),
		.offset = cpu_to_le32(offset),
		.len = cpu_to_le32(len),
	};
	struct va_config_range cr;
	size_t rlen;
	void *rep;
	int ret;

	rep = kmalloc(VA_CTRL_MSG_MAX, GFP_KERNEL);
	if (!rep)
		return -ENOMEM;
	ret = va_request(vad->be, vad, type, &req, sizeof(req), buf,
			 buf ? len : 0, rep, VA_CTRL_MSG_MAX, &rlen);
	if (!ret && va_msg_config_reply(rep, rlen, vad->info.config_len, &cr)) {
		atomic64_inc(&vad->be->ctrl_malformed);
		dev_err(&vad->pdev->dev,
			"%s: malformed reply from backend domain %u\n",
			virtio_argo_req_name(type), vad->be->domid);
		ret = -EPROTO;
	}
	if (!ret)
		va_config_update(vad, &cr);
	kfree(rep);
	return ret;
}

/* ------------------------------------------------------------------ */
/* virtio_config_ops                                                  */
/* ------------------------------------------------------------------ */

static void va_get(struct virtio_device *vdev, unsigned int offset,
		   void *buf, unsigned int len)
{
	struct va_device *vad = to_va_device(vdev);
	unsigned long flags;

	spin_lock_irqsave(&vad->cfg_lock, flags);
	if (offset > vad->info.config_len ||
	    len > vad->info.config_len - offset) {
		spin_unlock_irqrestore(&vad->cfg_lock, flags);
		memset(buf, 0, len);
		dev_warn_ratelimited(&vad->pdev->dev,
				     "config read of %u bytes at %u beyond its %u bytes\n",
				     len, offset, vad->info.config_len);
		return;
	}
	memcpy(buf, vad->info.config + offset, len);
	spin_unlock_irqrestore(&vad->cfg_lock, flags);
}

static void va_set(struct virtio_device *vdev, unsigned int offset,
		   const void *buf, unsigned int len)
{
	struct va_device *vad = to_va_device(vdev);

	if (offset > vad->info.config_len ||
	    len > vad->info.config_len - offset) {
		dev_warn_ratelimited(&vad->pdev->dev,
				     "config write of %u bytes at %u beyond its %u bytes\n",
				     len, offset, vad->info.config_len);
		return;
	}
	va_config_access(vad, offset, buf, len);
}

static u32 va_generation(struct virtio_device *vdev)
{
	struct va_device *vad = to_va_device(vdev);
	unsigned long flags;
	u32 gen;

	spin_lock_irqsave(&vad->cfg_lock, flags);
	gen = vad->info.generation;
	spin_unlock_irqrestore(&vad->cfg_lock, flags);
	return gen;
}

static u8 va_get_status(struct virtio_device *vdev)
{
	return READ_ONCE(to_va_device(vdev)->status);
}

static void va_reset(struct virtio_device *vdev);

static void va_set_status(struct virtio_device *vdev, u8 status)
{
	struct va_device *vad = to_va_device(vdev);
	u8 now;
	int ret;

	if (!status) {
		va_reset(vdev);
		return;
	}
	ret = va_set_status_req(vad, status, &now);
	if (ret) {
		/* Tell the driver what it must not rely on. */
		now = (status & ~VIRTIO_CONFIG_S_FEATURES_OK) |
		      VIRTIO_CONFIG_S_NEEDS_RESET;
	}
	/*
	 * The device may clear bits (FEATURES_OK) and ask for a reset, never
	 * set a bit the driver did not write (DRIVER_OK would trip the core's
	 * WARN_ON in virtio_device_ready()).
	 */
	now &= status | VIRTIO_CONFIG_S_NEEDS_RESET;
	WRITE_ONCE(vad->status, now);
}

static void va_reset(struct virtio_device *vdev)
{
	struct va_device *vad = to_va_device(vdev);
	int ret = 0;

	if (!READ_ONCE(vad->lost))
		ret = va_reset_req(vad);
	if (ret) {
		/* Nothing will complete: fail it all rather than hang. */
		dev_err(&vad->pdev->dev,
			"reset not confirmed by backend domain %u (%d)\n",
			vad->be->domid, ret);
		va_vq_fail_all(vad);
	}
	/* Late completions are of the old session. */
	va_vq_reset(vad);
	WRITE_ONCE(vad->status, 0);
}

static void va_del_vqs(struct virtio_device *vdev)
{
	struct va_device *vad = to_va_device(vdev);
	struct virtqueue *vq, *n;

	va_vq_teardown(vad);
	list_for_each_entry_safe(vq, n, &vdev->vqs, list)
		vring_del_virtqueue(vq);
}

static int va_find_vqs(struct virtio_device *vdev, unsigned int nvqs,
		       struct virtqueue *vqs[], vq_callback_t *callbacks[],
		       const char * const names[], const bool *ctx,
		       struct irq_affinity *desc)
{
	struct va_device *vad = to_va_device(vdev);
	unsigned int i, qi = 0;
	int ret;

	for (i = 0; i < nvqs; i++) {
		struct virtqueue *vq;
		u16 size;

		if (!names[i]) {
			vqs[i] = NULL;
			continue;
		}
		if (qi >= vad->nq) {
			dev_err(&vad->pdev->dev,
				"driver wants more than the %u queues offered\n",
				vad->nq);
			ret = -ENOENT;
			goto fail;
		}
		vq = vring_create_virtqueue(qi, vad->info.queue_max[qi],
					    SMP_CACHE_BYTES, vdev, true, true,
					    ctx ? ctx[i] : false, va_vq_notify,
					    callbacks[i], names[i]);
		if (!vq) {
			ret = -ENOMEM;
			goto fail;
		}
		vqs[i] = vq;
		size = virtqueue_get_vring_size(vq);
		ret = va_vq_setup(vad, qi, vq);
		if (ret)
			goto fail;
		ret = va_queue_setup(vad, qi, size, true);
		if (ret)
			goto fail;
		qi++;
	}
	return 0;

fail:
	va_del_vqs(vdev);
	return ret;
}

static void va_synchronize_cbs(struct virtio_device *vdev)
{
	struct va_device *vad = to_va_device(vdev);

	/* Callbacks run only inside the completion path, under rx_mutex. */
	mutex_lock(&vad->rx_mutex);
	mutex_unlock(&vad->rx_mutex);
}

static u64 va_get_features(struct virtio_device *vdev)
{
	struct va_device *vad = to_va_device(vdev);
	u64 f = vad->info.features;

	f &= ~VA_TRANSPORT_MASK | BIT_ULL(VIRTIO_F_VERSION_1);
	f |= BIT_ULL(VIRTIO_RING_F_INDIRECT_DESC) |
	     BIT_ULL(VIRTIO_RING_F_EVENT_IDX);
	return f;
}

static int va_finalize_features(struct virtio_device *vdev)
{
	struct va_device *vad = to_va_device(vdev);

	vring_transport_features(vdev);
	if (!__virtio_test_bit(vdev, VIRTIO_F_VERSION_1)) {
		dev_err(&vad->pdev->dev,
			"the device lacks VIRTIO_F_VERSION_1, which virtio_argo requires\n");
		return -EINVAL;
	}
	return va_set_features_req(vad, vdev->features & vad->info.features);
}

static const char *va_bus_name(struct virtio_device *vdev)
{
	return dev_name(&to_va_device(vdev)->pdev->dev);
}

static bool va_get_shm_region(struct virtio_device *vdev,
			      struct virtio_shm_region *region, u8 id)
{
	return false;
}

static const struct virtio_config_ops va_config_ops = {
	.get			= va_get,
	.set			= va_set,
	.generation		= va_generation,
	.get_status		= va_get_status,
	.set_status		= va_set_status,
	.reset			= va_reset,
	.find_vqs		= va_find_vqs,
	.del_vqs		= va_del_vqs,
	.synchronize_cbs	= va_synchronize_cbs,
	.get_features		= va_get_features,
	.finalize_features	= va_finalize_features,
	.bus_name		= va_bus_name,
	.get_shm_region		= va_get_shm_region,
};

/* ------------------------------------------------------------------ */
/* Counters, in sysfs on each device's parent                         */
/* ------------------------------------------------------------------ */

static struct device_attribute va_stat_attrs[VA_NR_STATS];

static ssize_t va_stat_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	struct va_device *vad = dev_get_drvdata(dev);
	unsigned int i = attr - va_stat_attrs;

	return sysfs_emit(buf, "%lld\n",
			  (long long)atomic64_read(&vad->stats.c[i]));
}

static struct device_attribute va_stat_attrs[VA_NR_STATS] = {
	[VA_STAT_TX_MSGS] = __ATTR(tx_msgs, 0444, va_stat_show, NULL),
	[VA_STAT_TX_HYPERCALLS] = __ATTR(tx_hypercalls, 0444, va_stat_show, NULL),
	[VA_STAT_TX_CHAINS] = __ATTR(tx_chains, 0444, va_stat_show, NULL),
	[VA_STAT_TX_BYTES] = __ATTR(tx_bytes, 0444, va_stat_show, NULL),
	[VA_STAT_TX_EAGAIN] = __ATTR(tx_eagain, 0444, va_stat_show, NULL),
	[VA_STAT_TX_EARLY] = __ATTR(tx_early, 0444, va_stat_show, NULL),
	[VA_STAT_TX_KEPT] = __ATTR(tx_kept, 0444, va_stat_show, NULL),
	[VA_STAT_TX_DROPPED] = __ATTR(tx_dropped, 0444, va_stat_show, NULL),
	[VA_STAT_TX_DROPPED_BYTES] = __ATTR(tx_dropped_bytes, 0444,
					    va_stat_show, NULL),
	[VA_STAT_RX_MSGS] = __ATTR(rx_msgs, 0444, va_stat_show, NULL),
	[VA_STAT_RX_CHAINS] = __ATTR(rx_chains, 0444, va_stat_show, NULL),
	[VA_STAT_RX_BYTES] = __ATTR(rx_bytes, 0444, va_stat_show, NULL),
	[VA_STAT_RX_COPIES] = __ATTR(rx_copies, 0444, va_stat_show, NULL),
	[VA_STAT_MALFORMED] = __ATTR(malformed, 0444, va_stat_show, NULL),
	[VA_STAT_STALE] = __ATTR(stale, 0444, va_stat_show, NULL),
};

static struct attribute *va_stats_attrs[] = {
	&va_stat_attrs[VA_STAT_TX_MSGS].attr,
	&va_stat_attrs[VA_STAT_TX_HYPERCALLS].attr,
	&va_stat_attrs[VA_STAT_TX_CHAINS].attr,
	&va_stat_attrs[VA_STAT_TX_BYTES].attr,
	&va_stat_attrs[VA_STAT_TX_EAGAIN].attr,
	&va_stat_attrs[VA_STAT_TX_EARLY].attr,
	&va_stat_attrs[VA_STAT_TX_KEPT].attr,
	&va_stat_attrs[VA_STAT_TX_DROPPED].attr,
	&va_stat_attrs[VA_STAT_TX_DROPPED_BYTES].attr,
	&va_stat_attrs[VA_STAT_RX_MSGS].attr,
	&va_stat_attrs[VA_STAT_RX_CHAINS].attr,
	&va_stat_attrs[VA_STAT_RX_BYTES].attr,
	&va_stat_attrs[VA_STAT_RX_COPIES].attr,
	&va_stat_attrs[VA_STAT_MALFORMED].attr,
	&va_stat_attrs[VA_STAT_STALE].attr,
	NULL,
};

static const struct attribute_group va_stats_group = {
	.name = "stats",
	.attrs = va_stats_attrs,
};

static ssize_t backend_domain_show(struct device *dev,
				   struct device_attribute *attr, char *buf)
{
	struct va_device *vad = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%u\n", vad->be->domid);
}
static DEVICE_ATTR_RO(backend_domain);

static ssize_t handle_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct va_device *vad = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%u\n", vad->handle);
}
static DEVICE_ATTR_RO(handle);

/*
 * The data path's state: live; broken (a driver's or backend's fault, until
 * a reset); lost (the backend is gone or dropped the device: every request
 * fails).
 */
static ssize_t state_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct va_device *vad = dev_get_drvdata(dev);

	if (READ_ONCE(vad->lost))
		return sysfs_emit(buf, "lost\n");
	if (READ_ONCE(vad->broken))
		return sysfs_emit(buf, "broken\n");
	return sysfs_emit(buf, "live\n");
}
static DEVICE_ATTR_RO(state);

/* The control channel's drops: the backend's, shown on each of its devices. */
static ssize_t ctrl_malformed_show(struct device *dev,
				   struct device_attribute *attr, char *buf)
{
	struct va_device *vad = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%lld\n",
			  (long long)atomic64_read(&vad->be->ctrl_malformed));
}
static DEVICE_ATTR_RO(ctrl_malformed);

static ssize_t ctrl_stale_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct va_device *vad = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%lld\n",
			  (long long)atomic64_read(&vad->be->ctrl_stale));
}
static DEVICE_ATTR_RO(ctrl_stale);

static struct attribute *va_dev_attrs[] = {
	&dev_attr_backend_domain.attr,
	&dev_attr_handle.attr,
	&dev_attr_state.attr,
	&dev_attr_ctrl_malformed.attr,
	&dev_attr_ctrl_stale.attr,
	NULL,
};

static const struct attribute_group va_dev_group = {
	.attrs = va_dev_attrs,
};

static const struct attribute_group *va_groups[] = {
	&va_dev_group,
	&va_stats_group,
	NULL,
};

/* ------------------------------------------------------------------ */
/* Devices                                                            */
/* ------------------------------------------------------------------ */

static void va_vdev_release(struct device *dev)
{
	struct va_device *vad = to_va_device(dev_to_virtio(dev));

	va_vq_free(vad);
	kfree(vad);
}

/* Undo va_dev_add() from the parent device on (vdev not registered). */
static void va_dev_unwind(struct va_device *vad)
{
	if (vad->data)
		argo_endpoint_close(vad->data);
	if (vad->pdev)
		platform_device_unregister(vad->pdev);
}

/* Make @vad (or none) the device at @index for the events. */
static void va_publish(struct va_backend *be, unsigned int index,
		       struct va_device *vad)
{
	unsigned long flags;

	spin_lock_irqsave(&be->devs_lock, flags);
	be->devs[index] = vad;
	spin_unlock_irqrestore(&be->devs_lock, flags);
}

/*
 * The largest DATA_REQ is what the hypervisor says the backend's data ring
 * takes, not what the backend says it registered.
 */
static int va_data_max_msg(struct va_device *vad)
{
	u32 max;
	int ret;

	ret = argo_max_msg_size(vad->data, vad->be->domid, vad->info.data_port,
				&max);
	if (ret) {
		dev_err(&vad->pdev->dev,
			"no data ring of backend domain %u at port %#x: %d\n",
			vad->be->domid, vad->info.data_port, ret);
		return ret;
	}
	if (max < VIRTIO_ARGO_MIN_DATA_RING - 32) {
		dev_err(&vad->pdev->dev,
			"data ring of backend domain %u at port %#x takes messages of %u bytes, fewer than the protocol's %u\n",
			vad->be->domid, vad->info.data_port, max,
			VIRTIO_ARGO_MIN_DATA_RING - 32);
		return -EPROTO;
	}
	if (max < vad->max_msg) {
		dev_warn(&vad->pdev->dev,
			 "backend domain %u states a data ring of %u bytes, the hypervisor's limit is a %u-byte message\n",
			 vad->be->domid, vad->info.data_ring, max);
		vad->max_msg = max;
	}
	return 0;
}

static int va_dev_add(struct va_backend *be, unsigned int index)
{
	struct va_device *vad;
	struct argo_endpoint_cfg cfg = {
		.domain = be->self,
		.partner = be->domid,
		.ring_size = data_ring,
		.ops = &va_data_ops,
	};
	unsigned long flags;
	int ret;

	vad = kzalloc(sizeof(*vad), GFP_KERNEL);
	if (!vad)
		return -ENOMEM;
	vad->be = be;
	vad->index = index;
	spin_lock_init(&vad->cfg_lock);
	spin_lock_init(&vad->lock);
	mutex_init(&vad->rx_mutex);
	vad->vdev.dev.release = va_vdev_release;
	vad->vdev.config = &va_config_ops;

	ret = va_dev_info(be, index, &vad->info);
	if (ret)
		goto free;
	vad->handle = vad->info.dev;
	vad->max_msg = vad->info.data_ring - 32;
	vad->vdev.id.device = vad->info.device_id;
	vad->vdev.id.vendor = vad->info.vendor_id;
	vad->bl_size = tx_backlog;
	ret = va_vq_alloc(vad);
	if (ret)
		goto free;

	/* virtio-argo.N: N is the index for the first frontend domain. */
	vad->pdev = platform_device_alloc("virtio-argo",
					  be->instance *
					  VIRTIO_ARGO_MAX_DEVICES + index);
	if (!vad->pdev) {
		ret = -ENOMEM;
		goto free;
	}
	vad->pdev->dev.groups = va_groups;
	platform_set_drvdata(vad->pdev, vad);
	va_dma_setup(&vad->pdev->dev);
	ret = platform_device_add(vad->pdev);
	if (ret) {
		platform_device_put(vad->pdev);
		vad->pdev = NULL;
		goto free;
	}

	vad->data_port = be->ctrl_port + 1 + index;
	cfg.port = vad->data_port;
	cfg.priv = vad;
	vad->data = argo_endpoint_open(&cfg);
	if (IS_ERR(vad->data)) {
		ret = PTR_ERR(vad->data);
		vad->data = NULL;
		dev_err(&vad->pdev->dev,
			"cannot open the data ring (domain %u port %#x partner %u, %u bytes): %d\n",
			be->self, cfg.port, be->domid, data_ring, ret);
		goto unwind;
	}
	do {
		vad->session = get_random_u32();
	} while (!vad->session);

	/*
	 * From here the device's events find it, registered or not: one
	 * that changes its configuration updates the snapshot, one that
	 * removes it has the device work remove it once it is added.
	 */
	va_publish(be, index, vad);
	ret = va_attach(vad);
	if (ret)
		goto unpublish;
	ret = va_data_max_msg(vad);
	if (ret)
		goto detach;
	/* A change announced before the device was published. */
	if (vad->info.config_len) {
		ret = va_config_access(vad, 0, NULL, vad->info.config_len);
		if (ret)
			dev_warn(&vad->pdev->dev,
				 "configuration not read again (%d): using DEV_INFO's\n",
				 ret);
		if (READ_ONCE(vad->lost))
			goto detach;
	}
	/* Removed by the backend while being added: it knows it no more. */
	if (READ_ONCE(vad->removed)) {
		ret = -ENODEV;
		goto unpublish;
	}

	vad->vdev.dev.parent = &vad->pdev->dev;
	ret = register_virtio_device(&vad->vdev);
	if (ret) {
		va_publish(be, index, NULL);
		va_detach(vad);
		va_dev_unwind(vad);
		put_device(&vad->vdev.dev);
		return ret;
	}
	spin_lock_irqsave(&be->devs_lock, flags);
	vad->registered = true;
	/* An event that came during the probe, which could not tell it. */
	if (vad->cfg_missed)
		virtio_config_changed(&vad->vdev);
	spin_unlock_irqrestore(&be->devs_lock, flags);
	dev_info(&vad->pdev->dev,
		 "virtio device %u (%s) from backend domain %u: %u queues, %u config bytes\n",
		 vad->info.device_id, dev_name(&vad->vdev.dev), be->domid,
		 vad->info.num_queues, vad->info.config_len);
	return 0;

detach:
	if (!READ_ONCE(vad->lost))
		va_detach(vad);
unpublish:
	va_publish(be, index, NULL);
unwind:
	va_dev_unwind(vad);
free:
	va_vq_free(vad);
	kfree(vad);
	return ret;
}

/*
 * Unregister @vad.  *@gone says the backend no longer answers: then (or
 * if it does not answer a PING now, which sets it) the requests still
 * outstanding are failed first, or the driver's removal would wait for
 * them forever; and each device after the first costs no timeout.
 */
static void va_dev_remove(struct va_backend *be, struct va_device *vad,
			  bool *gone)
{
	va_publish(be, vad->index, NULL);

	if (!READ_ONCE(vad->lost)) {
		if (!*gone && va_ping(vad, 0))
			*gone = true;
		if (*gone)
			va_vq_fail_all(vad);
	}
	get_device(&vad->vdev.dev);
	unregister_virtio_device(&vad->vdev);
	va_vq_quiesce(vad);
	if (!READ_ONCE(vad->lost))
		va_detach(vad);
	va_dev_unwind(vad);
	put_device(&vad->vdev.dev);
}

/*
 * The backend's device events, in process context: first the devices it
 * removed (so that one removed and added again at the same index is added
 * again), then the ones it added.
 */
static void va_dev_work(struct work_struct *work)
{
	struct va_backend *be = container_of(work, struct va_backend,
					     dev_work);
	unsigned int i;
	bool gone = false;

	mutex_lock(&be->add_mutex);
again:
	if (be->stopping)
		goto out;
	for (i = 0; i < VIRTIO_ARGO_MAX_DEVICES; i++) {
		struct va_device *vad = READ_ONCE(be->devs[i]);

		if (vad && READ_ONCE(vad->removed)) {
			dev_info(&vad->pdev->dev,
				 "removed by backend domain %u\n", be->domid);
			va_vq_fail_all(vad);
			va_dev_remove(be, vad, &gone);
		}
	}
	for_each_set_bit(i, be->add_pending, VIRTIO_ARGO_MAX_DEVICES) {
		struct va_device *vad = READ_ONCE(be->devs[i]);

		/*
		 * Removed and added again while this pass ran: its removal
		 * is the next pass's, and so is its addition.
		 */
		if (vad && READ_ONCE(vad->removed))
			goto again;
		clear_bit(i, be->add_pending);
		if (vad)
			continue;
		va_dev_add(be, i);
	}
out:
	mutex_unlock(&be->add_mutex);
}

/* ------------------------------------------------------------------ */
/* Events and the control ring                                        */
/* ------------------------------------------------------------------ */

/* The device with handle @handle, registered or being added; devs_lock. */
static struct va_device *va_find(struct va_backend *be, u32 handle)
{
	unsigned int i;

	for (i = 0; i < VIRTIO_ARGO_MAX_DEVICES; i++)
		if (be->devs[i] && be->devs[i]->handle == handle)
			return be->devs[i];
	return NULL;
}

static void va_ev_config(struct va_backend *be, const void *buf, size_t len)
{
	const struct virtio_argo_hdr *hdr = buf;
	struct va_config_range cr;
	struct va_device *vad;
	unsigned long flags;

	spin_lock_irqsave(&be->devs_lock, flags);
	vad = va_find(be, le32_to_cpu(hdr->dev));
	if (!vad) {
		spin_unlock_irqrestore(&be->devs_lock, flags);
		atomic64_inc(&be->ctrl_malformed);
		return;
	}
	if (va_msg_ev_config(buf, len, vad->info.config_len, &cr)) {
		spin_unlock_irqrestore(&be->devs_lock, flags);
		va_stat_inc(vad, VA_STAT_MALFORMED);
		return;
	}
	if (va_config_update(vad, &cr)) {
		if (vad->registered)
			virtio_config_changed(&vad->vdev);
		else
			vad->cfg_missed = true;
	}
	spin_unlock_irqrestore(&be->devs_lock, flags);
}

static void va_ev_dev(struct va_backend *be, u32 type, const void *buf,
		      size_t len)
{
	struct va_device *vad;
	struct va_ev_dev ev;
	unsigned long flags;

	if (va_msg_ev_dev(type, buf, len, &ev)) {
		atomic64_inc(&be->ctrl_malformed);
		return;
	}
	if (type == VIRTIO_ARGO_T_EV_DEV_ADDED) {
		set_bit(ev.index, be->add_pending);
		queue_work(system_long_wq, &be->dev_work);
		return;
	}
	spin_lock_irqsave(&be->devs_lock, flags);
	vad = va_find(be, ev.dev);
	/* The backend has stopped it: dev_work fails what is left. */
	if (vad)
		WRITE_ONCE(vad->removed, true);
	spin_unlock_irqrestore(&be->devs_lock, flags);
	if (vad)
		queue_work(system_long_wq, &be->dev_work);
	else
		atomic64_inc(&be->ctrl_malformed);
}

static enum argo_rx_action va_ctrl_rx(struct argo_endpoint *ep,
				      const struct argo_msg *msg, void *priv)
{
	struct va_backend *be = priv;
	void *buf = be->rxbuf;
	size_t len = msg->len;

	if (msg->src_domain != be->domid || len > VA_CTRL_MSG_MAX ||
	    len < sizeof(struct virtio_argo_hdr) ||
	    argo_msg_copy(msg, 0, buf, len) != len)
		goto malformed;
	if (msg->type & VIRTIO_ARGO_REPLY) {
		va_ctrl_reply(be, msg->type & ~VIRTIO_ARGO_REPLY, buf, len);
		return ARGO_RX_CONSUME;
	}
	switch (msg->type) {
	case VIRTIO_ARGO_T_EV_CONFIG:
		va_ev_config(be, buf, len);
		return ARGO_RX_CONSUME;
	case VIRTIO_ARGO_T_EV_DEV_ADDED:
	case VIRTIO_ARGO_T_EV_DEV_REMOVED:
		va_ev_dev(be, msg->type, buf, len);
		return ARGO_RX_CONSUME;
	}
malformed:
	atomic64_inc(&be->ctrl_malformed);
	pr_warn_ratelimited("dropped a malformed control message from domain %u (type %#x, %u bytes)\n",
			    msg->src_domain, msg->type, msg->len);
	return ARGO_RX_CONSUME;
}

static void va_ctrl_tx_ready(struct argo_endpoint *ep, void *priv)
{
	struct va_backend *be = priv;

	complete(&be->tx_space);
}

static const struct argo_endpoint_ops va_ctrl_ops = {
	.rx = va_ctrl_rx,
	.tx_ready = va_ctrl_tx_ready,
};

/* ------------------------------------------------------------------ */
/* Module                                                             */
/* ------------------------------------------------------------------ */

static void va_remove_all(struct va_backend *be)
{
	unsigned int i;
	bool gone = false;

	mutex_lock(&be->add_mutex);
	be->stopping = true;
	for (i = 0; i < VIRTIO_ARGO_MAX_DEVICES; i++) {
		struct va_device *vad = READ_ONCE(be->devs[i]);

		if (vad)
			va_dev_remove(be, vad, &gone);
	}
	mutex_unlock(&be->add_mutex);
	cancel_work_sync(&be->dev_work);
}

/*
 * A device was lost while the backend's control ring is there (a send to
 * its data ring was refused): ask the backend about it.  NODEV: it removed
 * that one device (its EV_DEV_REMOVED may still be on the way), so remove
 * it; OK: the backend knows it, only our side of it broke, so remove it and
 * add it again.  Either way the other devices are not disturbed.  Anything
 * else (STATE: the backend restarted; no answer) says the backend as a
 * whole must be connected again: false.
 */
static bool va_lost_device_known(struct va_backend *be, struct va_device *vad)
{
	struct virtio_argo_hdr req = { .dev = cpu_to_le32(vad->handle) };
	struct virtio_argo_reply rep;
	size_t len;
	int ret;

	/* Not through va_simple(): a lost device's requests are not sent. */
	ret = va_request(be, NULL, VIRTIO_ARGO_T_PING | VA_QUIET, &req,
			 sizeof(req), NULL, 0, &rep, sizeof(rep), &len);
	if (!ret && va_msg_empty_reply(&rep, len))
		ret = -EPROTO;
	if (ret && ret != -ENODEV)
		return false;
	dev_info(&vad->pdev->dev, "backend domain %u %s: removing it%s\n",
		 be->domid, ret ? "removed the device" : "refused its data",
		 ret ? "" : " and adding it again");
	WRITE_ONCE(vad->removed, true);
	if (!ret)
		set_bit(vad->index, be->add_pending);
	queue_work(system_long_wq, &be->dev_work);
	return true;
}

/*
 * Whether the backend still serves the devices we have.  A device that
 * has chains in flight and had no completion since the last look is asked
 * with a PING: a backend that restarted and lost its state answers that it
 * does not know the device (NODEV, or STATE before our HELLO); one that
 * does not answer within timeout_ms has the device's requests failed.  A
 * device lost since (not removed by the backend) says the same.
 */
static bool va_backend_knows(struct va_backend *be)
{
	unsigned int i;

	for (i = 0; i < VIRTIO_ARGO_MAX_DEVICES; i++) {
		struct va_device *vad = be->devs[i];
		u32 progress;
		bool stalled;
		int ret;

		if (!vad || READ_ONCE(vad->removed))
			continue;
		if (READ_ONCE(vad->lost)) {
			if (!va_lost_device_known(be, vad))
				return false;
			continue;
		}
		progress = READ_ONCE(vad->rx_progress);
		stalled = READ_ONCE(vad->inflight) &&
			  progress == vad->watch_progress;
		vad->watch_progress = progress;
		if (!stalled)
			continue;
		ret = va_ping(vad, VA_QUIET);
		if (ret == -ENODEV || ret == -EBUSY)
			return false;
		if (ret == -ETIMEDOUT) {
			dev_err(&vad->pdev->dev,
				"backend domain %u does not answer for %u ms with requests in flight\n",
				be->domid, READ_ONCE(timeout_ms));
			va_vq_fail_all(vad);
			return false;
		}
	}
	return true;
}

/*
 * The backend's liveness, every keepalive_ms: while connected, whether its
 * control ring for us is still registered (a notify query, no message); a
 * backend whose process died has none, and its devices are then lost: every
 * request fails at once.  While disconnected, whether the ring is back; if
 * so, HELLO again, remove the lost devices and add the backend's devices
 * as new ones.
 */
static void va_watch_work(struct work_struct *work)
{
	struct va_backend *be = container_of(to_delayed_work(work),
					     struct va_backend, watch);
	struct va_hello_info hi;
	unsigned int i;
	bool gone = true;
	u32 max;
	int ret;

	mutex_lock(&be->add_mutex);
	if (be->exiting)
		goto out;
	ret = argo_max_msg_size(be->ctrl, be->domid, VIRTIO_ARGO_PORT_CTRL,
				&max);
	if (be->connected) {
		/* Anything but "no such ring" is no news. */
		if (ret != -ECONNREFUSED && va_backend_knows(be))
			goto out;
		if (ret == -ECONNREFUSED)
			pr_err("%sbackend domain %u gone (no control ring at port %#x): failing its devices' requests until it is back\n",
			       be->name, be->domid, VIRTIO_ARGO_PORT_CTRL);
		else
			pr_warn("%sbackend domain %u lost track of its devices: failing their requests, connecting again\n",
				be->name, be->domid);
		/* A HELLO resets the devices on the backend's side too. */
		be->connected = false;
		be->stopping = true;
		for (i = 0; i < VIRTIO_ARGO_MAX_DEVICES; i++)
			if (be->devs[i])
				va_vq_fail_all(be->devs[i]);
		if (ret == -ECONNREFUSED)
			goto out;
	} else if (ret) {
		goto out;
	}
	ret = va_hello(be, &hi, VA_QUIET);
	if (ret)
		goto out;
	pr_info("%sbackend domain %u is back: protocol %u, %u devices\n",
		be->name, be->domid, hi.version, hi.num_devices);
	for (i = 0; i < VIRTIO_ARGO_MAX_DEVICES; i++) {
		struct va_device *vad = be->devs[i];

		if (vad) {
			va_vq_fail_all(vad);
			va_dev_remove(be, vad, &gone);
		}
	}
	bitmap_zero(be->add_pending, VIRTIO_ARGO_MAX_DEVICES);
	be->max_msg = hi.max_msg;
	be->num_devices = hi.num_devices;
	be->features = hi.features;
	be->connected = true;
	be->stopping = false;
	for (i = 0; i < be->num_devices; i++) {
		ret = va_dev_add(be, i);
		if (ret && ret != -ENODEV)
			pr_err("%sdevice %u of backend domain %u not added: %d\n",
			       be->name, i, be->domid, ret);
	}
out:
	if (!be->exiting)
		queue_delayed_work(system_long_wq, &be->watch,
				   msecs_to_jiffies(READ_ONCE(keepalive_ms)));
	mutex_unlock(&be->add_mutex);
}

/* Look at the backend now: a send to it failed.  Any context. */
void va_backend_check(struct va_backend *be)
{
	if (!READ_ONCE(be->exiting))
		mod_delayed_work(system_long_wq, &be->watch, 0);
}

static void va_backend_free(struct va_backend *be)
{
	kfree(be->rxbuf);
	kfree(be);
}

/* Stop and free an instance that va_backend_start() returned. */
static void va_backend_stop(struct va_backend *be)
{
	mutex_lock(&be->add_mutex);
	WRITE_ONCE(be->exiting, true);
	mutex_unlock(&be->add_mutex);
	cancel_delayed_work_sync(&be->watch);
	va_remove_all(be);
	/* A send that failed during the removals may have queued it. */
	cancel_delayed_work_sync(&be->watch);
	argo_endpoint_close(be->ctrl);
	cancel_work_sync(&be->dev_work);
	va_backend_free(be);
}

/*
 * A ring is named by (domain, port, partner): with the backend in this
 * very domain, the default control port is the backend's own ring.  The
 * backend answers the port a request came from, so the frontend takes
 * another one (and its data rings follow it, clear of the backend's at
 * VIRTIO_ARGO_PORT_DATA_BASE).  A port given with ctrl_port= is kept.
 */
#define VA_LOCAL_CTRL_PORT	(VIRTIO_ARGO_PORT_CTRL + 0x8000)
static_assert(VA_LOCAL_CTRL_PORT + 1 + VIRTIO_ARGO_MAX_DEVICES <=
	      VIRTIO_ARGO_PORT_DATA_BASE);

static u32 va_ctrl_port(u16 self)
{
	if (ctrl_port == VIRTIO_ARGO_PORT_CTRL &&
	    argo_domain_id(self) == backend)
		return VA_LOCAL_CTRL_PORT;
	return ctrl_port;
}

/* Connect the frontend acting as domain @self to the backend. */
static struct va_backend *va_backend_start(u16 self, unsigned int instance)
{
	struct argo_endpoint_cfg cfg = {
		.domain = self,
		.port = va_ctrl_port(self),
		.partner = backend,
		.ring_size = VA_CTRL_RING,
		.ops = &va_ctrl_ops,
	};
	struct va_hello_info hi;
	struct va_backend *be;
	unsigned int i;
	int ret;

	be = kzalloc(sizeof(*be), GFP_KERNEL);
	if (!be)
		return ERR_PTR(-ENOMEM);
	be->rxbuf = kmalloc(VA_CTRL_MSG_MAX, GFP_KERNEL);
	if (!be->rxbuf) {
		ret = -ENOMEM;
		goto free;
	}
	be->domid = backend;
	be->self = self;
	be->instance = instance;
	/* Messages name the frontend domain only if there are several. */
	if (ndomain > 1)
		snprintf(be->name, sizeof(be->name), "domain %u: ", self);
	be->ctrl_port = cfg.port;
	mutex_init(&be->req_mutex);
	spin_lock_init(&be->req_lock);
	init_completion(&be->tx_space);
	spin_lock_init(&be->devs_lock);
	mutex_init(&be->add_mutex);
	INIT_WORK(&be->dev_work, va_dev_work);
	INIT_DELAYED_WORK(&be->watch, va_watch_work);
	/* No event adds or removes a device before HELLO succeeded. */
	be->stopping = true;

	cfg.priv = be;
	be->ctrl = argo_endpoint_open(&cfg);
	if (IS_ERR(be->ctrl)) {
		ret = PTR_ERR(be->ctrl);
		pr_err("cannot open the control ring (domain %u port %#x partner %u): %d%s\n",
		       self, cfg.port, backend, ret,
		       ret == -EEXIST ?
		       " (port taken: choose another with ctrl_port=)" : "");
		goto free;
	}
	ret = va_hello(be, &hi, 0);
	if (ret) {
		pr_err("%sno usable backend in domain %u (%d)\n", be->name,
		       backend, ret);
		goto close;
	}
	be->max_msg = hi.max_msg;
	be->num_devices = hi.num_devices;
	be->features = hi.features;
	pr_info("%sbackend domain %u (provider %s): protocol %u, %u devices\n",
		be->name, backend, argo_provider_name(), hi.version,
		hi.num_devices);

	mutex_lock(&be->add_mutex);
	be->stopping = false;
	be->connected = true;
	for (i = 0; i < be->num_devices; i++) {
		ret = va_dev_add(be, i);
		if (ret && ret != -ENODEV)
			pr_err("device %u of backend domain %u not added: %d\n",
			       i, backend, ret);
	}
	/* Devices announced while HELLO was under way. */
	queue_work(system_long_wq, &be->dev_work);
	queue_delayed_work(system_long_wq, &be->watch,
			   msecs_to_jiffies(READ_ONCE(keepalive_ms)));
	mutex_unlock(&be->add_mutex);
	return be;

close:
	argo_endpoint_close(be->ctrl);
	/* An event may have queued it; it finds be->stopping set. */
	cancel_work_sync(&be->dev_work);
free:
	va_backend_free(be);
	return ERR_PTR(ret);
}

static struct va_backend *va_bes[VA_MAX_INSTANCES];
static unsigned int va_nbes;

static int __init va_init(void)
{
	unsigned int i, n = ndomain ? ndomain : 1;
	int ret;

	if (data_ring < VIRTIO_ARGO_MIN_DATA_RING ||
	    data_ring > ARGO_RING_SIZE_MAX || data_ring % 16) {
		pr_err("data_ring=%u: must be a multiple of 16 from %u to %u\n",
		       data_ring, VIRTIO_ARGO_MIN_DATA_RING,
		       (unsigned int)ARGO_RING_SIZE_MAX);
		return -EINVAL;
	}
	if (tx_backlog > VA_TX_BACKLOG_MAX) {
		pr_err("tx_backlog=%u: must be from 0 to %u\n", tx_backlog,
		       VA_TX_BACKLOG_MAX);
		return -EINVAL;
	}
	if (ctrl_port > U32_MAX - 1 - VIRTIO_ARGO_MAX_DEVICES) {
		pr_err("ctrl_port=%#x leaves no room for the data ports\n",
		       ctrl_port);
		return -EINVAL;
	}
	for (i = 1; i < ndomain; i++) {
		unsigned int j;

		for (j = 0; j < i; j++) {
			if (domain[i] == domain[j]) {
				pr_err("domain=: %u given twice\n", domain[i]);
				return -EINVAL;
			}
		}
	}
	va_wq = alloc_workqueue("virtio_argo", WQ_MEM_RECLAIM | WQ_HIGHPRI, 0);
	if (!va_wq)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct va_backend *be;

		be = va_backend_start(ndomain ? domain[i] : ARGO_DOMID_SELF, i);
		if (IS_ERR(be)) {
			ret = PTR_ERR(be);
			goto stop;
		}
		va_bes[va_nbes++] = be;
	}
	return 0;

stop:
	while (va_nbes)
		va_backend_stop(va_bes[--va_nbes]);
	destroy_workqueue(va_wq);
	return ret;
}

static void __exit va_exit(void)
{
	while (va_nbes)
		va_backend_stop(va_bes[--va_nbes]);
	destroy_workqueue(va_wq);
}

module_init(va_init);
module_exit(va_exit);

MODULE_DESCRIPTION("VirtIO transport over Argo");
MODULE_LICENSE("GPL");
