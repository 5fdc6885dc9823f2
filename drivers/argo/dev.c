// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/argo: Argo endpoints for userspace.
 *
 * Each open file of the misc device /dev/argo is one endpoint of the
 * in-kernel API (include/argo/argo.h).  ARGO_DEV_IOC_BIND opens the
 * endpoint; then the file sends whole messages to any (domain, port) and
 * receives the whole messages that arrive in its ring, one or a batch per
 * ioctl, and can be polled.  The ABI is include/uapi/argo/argo_dev.h and
 * Documentation/argo-dev.rst describes it, errors included.
 *
 * Received messages stay in the endpoint's ring until a process reads them:
 * the endpoint is opened with ops->rx_ready, not ops->rx, and the receive
 * ioctls copy each message straight from the ring to the user's buffer
 * with argo_recv().  A reader that falls behind therefore fills its ring
 * and its senders see -EAGAIN, which is the flow control.
 *
 * Sending copies the payload from userspace into a kernel buffer bounded by
 * the largest Argo message, then calls argo_send().  (This is the place for
 * a later zero-copy path that pins the user pages instead.)  A send refused
 * for space (-EAGAIN) fails at once on an O_NONBLOCK file, otherwise sleeps
 * interruptibly until the core calls ops->tx_ready, then retries.
 *
 * Concurrency: several threads may use one file at once.
 *  - argo_dev_file.bind_lock serialises binds.  The endpoint pointer is
 *    published once with a release store and never changes until release,
 *    which no ioctl can race with.
 *  - argo_dev_file.lock protects the wake-up generations and the "sends are
 *    blocked" state below; the callbacks take it from the core's work items.
 *  - argo_recv() serialises receivers (and copies to user memory, which may
 *    fault and sleep, under the core's per-endpoint mutex: only this
 *    endpoint waits for it).
 * Waiting uses generation counters bumped by the callbacks, read before the
 * attempt that failed, so that a wake-up that arrives between the failed
 * attempt and the sleep is never lost.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/build_bug.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/stddef.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <linux/wait.h>

#include <argo/argo.h>
#include <argo/provider.h>
#include <uapi/argo/argo_dev.h>

static ushort dev_mode = 0600;
module_param(dev_mode, ushort, 0444);
MODULE_PARM_DESC(dev_mode,
		 "Permission bits of /dev/argo (default 0600: root only)");

struct argo_dev_file {
	struct mutex bind_lock;		/* serialises ARGO_DEV_IOC_BIND */
	struct argo_endpoint *ep;	/* NULL until bound, then fixed */
	struct argo_dev_bind bound;	/* what was bound; valid with ep */

	wait_queue_head_t wq;		/* readers, writers and pollers */
	spinlock_t lock;		/* protects the four fields below */
	unsigned long rx_gen;		/* bumped by ops->rx_ready */
	unsigned long tx_gen;		/* bumped by ops->tx_ready */
	unsigned long tx_block_gen;	/* tx_gen before the refused send */
	bool tx_blocked;		/* a send was refused for space */
};

static struct argo_endpoint *argo_dev_ep(struct argo_dev_file *f)
{
	/* Pairs with smp_store_release() in argo_dev_bind(). */
	return smp_load_acquire(&f->ep);
}

static unsigned long argo_dev_rx_gen(struct argo_dev_file *f)
{
	unsigned long flags, gen;

	spin_lock_irqsave(&f->lock, flags);
	gen = f->rx_gen;
	spin_unlock_irqrestore(&f->lock, flags);
	return gen;
}

static unsigned long argo_dev_tx_gen(struct argo_dev_file *f)
{
	unsigned long flags, gen;

	spin_lock_irqsave(&f->lock, flags);
	gen = f->tx_gen;
	spin_unlock_irqrestore(&f->lock, flags);
	return gen;
}

/* A send was refused for space; @gen is tx_gen from before that send. */
static void argo_dev_tx_set_blocked(struct argo_dev_file *f, unsigned long gen)
{
	unsigned long flags;

	spin_lock_irqsave(&f->lock, flags);
	f->tx_blocked = true;
	f->tx_block_gen = gen;
	spin_unlock_irqrestore(&f->lock, flags);
}

static void argo_dev_tx_clear_blocked(struct argo_dev_file *f)
{
	unsigned long flags;

	spin_lock_irqsave(&f->lock, flags);
	f->tx_blocked = false;
	spin_unlock_irqrestore(&f->lock, flags);
}

/* Would a send not be refused for space, as far as we know? */
static bool argo_dev_writable(struct argo_dev_file *f)
{
	unsigned long flags;
	bool writable;

	spin_lock_irqsave(&f->lock, flags);
	writable = !f->tx_blocked || f->tx_gen != f->tx_block_gen;
	spin_unlock_irqrestore(&f->lock, flags);
	return writable;
}

static void argo_dev_rx_ready(struct argo_endpoint *ep, void *priv)
{
	struct argo_dev_file *f = priv;
	unsigned long flags;

	spin_lock_irqsave(&f->lock, flags);
	f->rx_gen++;
	spin_unlock_irqrestore(&f->lock, flags);
	wake_up_interruptible_poll(&f->wq, EPOLLIN | EPOLLRDNORM);
}

static void argo_dev_tx_ready(struct argo_endpoint *ep, void *priv)
{
	struct argo_dev_file *f = priv;
	unsigned long flags;

	spin_lock_irqsave(&f->lock, flags);
	f->tx_gen++;
	spin_unlock_irqrestore(&f->lock, flags);
	wake_up_interruptible_poll(&f->wq, EPOLLOUT | EPOLLWRNORM);
}

static const struct argo_endpoint_ops argo_dev_ep_ops = {
	.rx_ready = argo_dev_rx_ready,
	.tx_ready = argo_dev_tx_ready,
};

static bool argo_dev_domid_ok(u16 domid, u16 special)
{
	return domid < ARGO_DEV_DOMID_FIRST_RESERVED || domid == special;
}

static bool argo_dev_ring_size_ok(u32 size)
{
	return size >= ARGO_DEV_RING_SIZE_MIN &&
	       size <= ARGO_DEV_RING_SIZE_MAX &&
	       IS_ALIGNED(size, ARGO_DEV_RING_ALIGN);
}

static long argo_dev_bind(struct argo_dev_file *f,
			  struct argo_dev_bind __user *ubind)
{
	struct argo_endpoint_cfg cfg = {};
	struct argo_endpoint *ep;
	struct argo_dev_bind b;
	long ret = 0;

	if (copy_from_user(&b, ubind, sizeof(b)))
		return -EFAULT;
	if (b.flags || b.reserved[0] || b.reserved[1])
		return -EINVAL;
	if (!argo_dev_ring_size_ok(b.ring_size))
		return -EINVAL;
	if (!argo_dev_domid_ok(b.partner, ARGO_DEV_DOMID_ANY) ||
	    !argo_dev_domid_ok(b.domain, ARGO_DEV_DOMID_SELF))
		return -EINVAL;

	mutex_lock(&f->bind_lock);
	if (f->ep) {
		ret = -EISCONN;
		goto out;
	}
	cfg.domain = b.domain;
	cfg.port = b.port;
	cfg.partner = b.partner;
	cfg.ring_size = b.ring_size;
	cfg.ops = &argo_dev_ep_ops;
	cfg.priv = f;
	ep = argo_endpoint_open(&cfg);
	if (IS_ERR_OR_NULL(ep)) {
		ret = ep ? PTR_ERR(ep) : -ENOMEM;
		goto out;
	}
	f->bound = b;
	f->bound.domain = argo_endpoint_domain(ep);
	/* Pairs with smp_load_acquire() in argo_dev_ep(). */
	smp_store_release(&f->ep, ep);
	/* Pollers that saw an unbound file re-evaluate. */
	wake_up_interruptible_poll(&f->wq, EPOLLIN | EPOLLOUT);
out:
	mutex_unlock(&f->bind_lock);
	return ret;
}

/*
 * Send one message described by @m (already copied from userspace).
 * Returns the payload length or a negative errno.
 */
static int argo_dev_send_one(struct argo_dev_file *f, struct argo_endpoint *ep,
			     const struct argo_dev_msg *m, bool nonblock)
{
	struct kvec vec = {};
	unsigned long gen;
	void *buf = NULL;
	int ret;

	if ((m->flags & ~ARGO_DEV_MSG_FLAGS) || m->reserved)
		return -EINVAL;
	if (m->len > ARGO_DEV_MAX_MSG_SIZE)
		return -EMSGSIZE;
	if (m->flags & ARGO_DEV_MSG_DONTWAIT)
		nonblock = true;

	if (m->len) {
		buf = kvmalloc(m->len, GFP_KERNEL_ACCOUNT);
		if (!buf)
			return -ENOMEM;
		if (copy_from_user(buf, u64_to_user_ptr(m->buf), m->len)) {
			ret = -EFAULT;
			goto out;
		}
	}
	vec.iov_base = buf;
	vec.iov_len = m->len;

	for (;;) {
		gen = argo_dev_tx_gen(f);
		ret = argo_send(ep, m->domain, m->port, m->type, &vec, 1);
		if (ret != -EAGAIN)
			break;
		argo_dev_tx_set_blocked(f, gen);
		if (nonblock)
			break;
		ret = wait_event_interruptible(f->wq,
					       argo_dev_tx_gen(f) != gen);
		if (ret)
			break;
	}
	if (ret >= 0)
		argo_dev_tx_clear_blocked(f);
out:
	kvfree(buf);
	return ret;
}

static long argo_dev_send(struct argo_dev_file *f, struct file *file,
			  struct argo_dev_msg __user *umsg)
{
	struct argo_endpoint *ep = argo_dev_ep(f);
	struct argo_dev_msg m;

	if (!ep)
		return -ENOTCONN;
	if (copy_from_user(&m, umsg, sizeof(m)))
		return -EFAULT;
	return argo_dev_send_one(f, ep, &m, file->f_flags & O_NONBLOCK);
}

/* Copy in a batch header and its descriptors; returns the count or -errno. */
static int argo_dev_batch_in(struct argo_dev_batch __user *ubatch,
			     struct argo_dev_msg __user **umsgs,
			     struct argo_dev_msg **msgs)
{
	struct argo_dev_batch batch;

	*msgs = NULL;
	if (copy_from_user(&batch, ubatch, sizeof(batch)))
		return -EFAULT;
	if (batch.flags || batch.count > ARGO_DEV_MAX_BATCH)
		return -EINVAL;
	if (!batch.count)
		return 0;
	*umsgs = u64_to_user_ptr(batch.msgs);
	*msgs = memdup_user(*umsgs, batch.count * sizeof(**msgs));
	if (IS_ERR(*msgs)) {
		int ret = PTR_ERR(*msgs);

		*msgs = NULL;
		return ret;
	}
	return batch.count;
}

static long argo_dev_sendv(struct argo_dev_file *f, struct file *file,
			   struct argo_dev_batch __user *ubatch)
{
	struct argo_endpoint *ep = argo_dev_ep(f);
	bool nonblock = file->f_flags & O_NONBLOCK;
	struct argo_dev_msg __user *umsgs;
	struct argo_dev_msg *msgs;
	int count, i, ret = 0;

	if (!ep)
		return -ENOTCONN;
	count = argo_dev_batch_in(ubatch, &umsgs, &msgs);
	if (count <= 0)
		return count;

	for (i = 0; i < count; i++) {
		ret = argo_dev_send_one(f, ep, &msgs[i], nonblock);
		if (ret < 0)
			break;
	}
	kfree(msgs);
	return i ? i : ret;
}

/* State of one receive call, shared with its argo_recv() callback. */
struct argo_dev_rx {
	struct argo_dev_msg *msgs;	/* kernel copies of the descriptors */
	struct argo_dev_msg __user *umsgs;
	unsigned int count;
	unsigned int done;
	int err;			/* why the next message was kept */
};

/*
 * Address of the user's descriptor @i.  The array may be misaligned (that
 * is the caller's business, and legal): compute addresses in bytes, never
 * through a member access on a misaligned struct pointer.
 */
static void __user *argo_dev_umsg(const struct argo_dev_rx *rx,
				  unsigned int i)
{
	return (u8 __user *)rx->umsgs + (size_t)i * sizeof(struct argo_dev_msg);
}

static enum argo_rx_action argo_dev_rx_one(struct argo_endpoint *ep,
					   const struct argo_msg *msg,
					   void *arg)
{
	struct argo_dev_rx *rx = arg;
	struct argo_dev_msg *m;
	struct iov_iter iter;
	struct iovec iov;
	int ret;

	if (rx->done >= rx->count || rx->err)
		return ARGO_RX_KEEP;
	m = &rx->msgs[rx->done];

	if (msg->len > m->len) {
		/* Never truncate: report the length needed, keep the message. */
		rx->err = -EMSGSIZE;
		if (copy_to_user((u8 __user *)argo_dev_umsg(rx, rx->done) +
				 offsetof(struct argo_dev_msg, len),
				 &msg->len, sizeof(msg->len)))
			rx->err = -EFAULT;
		return ARGO_RX_KEEP;
	}

	if (msg->len) {
		ret = import_single_range(ITER_DEST, u64_to_user_ptr(m->buf),
					  msg->len, &iov, &iter);
		if (ret) {
			rx->err = ret;
			return ARGO_RX_KEEP;
		}
		if (argo_msg_copy_to_iter(msg, 0, msg->len, &iter) != msg->len) {
			rx->err = -EFAULT;
			return ARGO_RX_KEEP;
		}
	}

	m->len = msg->len;
	m->type = msg->type;
	m->port = msg->src_port;
	m->domain = msg->src_domain;
	m->flags = 0;
	m->reserved = 0;
	if (copy_to_user(argo_dev_umsg(rx, rx->done), m, sizeof(*m))) {
		/* The payload was copied, but the caller cannot know: keep. */
		rx->err = -EFAULT;
		return ARGO_RX_KEEP;
	}
	rx->done++;
	return rx->done < rx->count ? ARGO_RX_CONSUME : ARGO_RX_CONSUME_STOP;
}

/* Receive up to rx->count messages; returns how many, or -errno. */
static int argo_dev_recv_msgs(struct argo_dev_file *f, struct argo_endpoint *ep,
			      struct argo_dev_rx *rx, bool nonblock)
{
	unsigned long gen;
	unsigned int i;
	int ret;

	for (i = 0; i < rx->count; i++) {
		if ((rx->msgs[i].flags & ~ARGO_DEV_MSG_FLAGS) ||
		    rx->msgs[i].reserved) {
			/* Receive only the messages before the bad descriptor. */
			if (!i)
				return -EINVAL;
			rx->count = i;
			break;
		}
	}
	if (rx->msgs[0].flags & ARGO_DEV_MSG_DONTWAIT)
		nonblock = true;

	for (;;) {
		gen = argo_dev_rx_gen(f);
		ret = argo_recv(ep, argo_dev_rx_one, rx, rx->count);
		if (rx->done)
			return rx->done;
		if (rx->err)
			return rx->err;
		if (ret < 0)
			return ret;
		if (nonblock)
			return -EAGAIN;
		ret = wait_event_interruptible(f->wq,
					       argo_dev_rx_gen(f) != gen);
		if (ret)
			return ret;
	}
}

static long argo_dev_recv(struct argo_dev_file *f, struct file *file,
			  struct argo_dev_msg __user *umsg)
{
	struct argo_endpoint *ep = argo_dev_ep(f);
	struct argo_dev_msg m;
	struct argo_dev_rx rx = {
		.msgs = &m,
		.umsgs = umsg,
		.count = 1,
	};
	int ret;

	if (!ep)
		return -ENOTCONN;
	if (copy_from_user(&m, umsg, sizeof(m)))
		return -EFAULT;
	ret = argo_dev_recv_msgs(f, ep, &rx, file->f_flags & O_NONBLOCK);
	return ret < 0 ? ret : m.len;
}

static long argo_dev_recvv(struct argo_dev_file *f, struct file *file,
			   struct argo_dev_batch __user *ubatch)
{
	struct argo_endpoint *ep = argo_dev_ep(f);
	struct argo_dev_rx rx = {};
	int ret;

	if (!ep)
		return -ENOTCONN;
	ret = argo_dev_batch_in(ubatch, &rx.umsgs, &rx.msgs);
	if (ret <= 0)
		return ret;
	rx.count = ret;
	ret = argo_dev_recv_msgs(f, ep, &rx, file->f_flags & O_NONBLOCK);
	kfree(rx.msgs);
	return ret;
}

static long argo_dev_max_msg_size(struct argo_dev_file *f,
				  struct argo_dev_max_size __user *uarg)
{
	struct argo_endpoint *ep = argo_dev_ep(f);
	struct argo_dev_max_size q;
	u32 max = 0;
	int ret;

	if (!ep)
		return -ENOTCONN;
	if (copy_from_user(&q, uarg, sizeof(q)))
		return -EFAULT;
	if (q.pad || q.reserved)
		return -EINVAL;
	if (q.domain >= ARGO_DEV_DOMID_FIRST_RESERVED)
		return -EINVAL;
	ret = argo_max_msg_size(ep, q.domain, q.port, &max);
	if (ret)
		return ret;
	q.max_size = max;
	if (copy_to_user(uarg, &q, sizeof(q)))
		return -EFAULT;
	return 0;
}

static long argo_dev_info(struct argo_dev_file *f,
			  struct argo_dev_info __user *uarg)
{
	struct argo_endpoint *ep = argo_dev_ep(f);
	struct argo_dev_info info;
	int domid;

	memset(&info, 0, sizeof(info));
	strscpy(info.provider, argo_provider_name(), sizeof(info.provider));
	info.max_batch = ARGO_DEV_MAX_BATCH;
	info.max_msg_size = ARGO_DEV_MAX_MSG_SIZE;
	info.tx_rescued = argo_tx_rescued();
	if (ep) {
		info.flags = ARGO_DEV_INFO_BOUND;
		info.domain = f->bound.domain;
		info.partner = f->bound.partner;
		info.port = f->bound.port;
		info.ring_size = f->bound.ring_size;
	} else {
		/* The domain a bind with ARGO_DEV_DOMID_SELF would act as. */
		domid = argo_domain_id(ARGO_DOMID_SELF);
		info.domain = domid < 0 ? ARGO_DEV_DOMID_ANY : domid;
		info.partner = ARGO_DEV_DOMID_ANY;
	}
	if (copy_to_user(uarg, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

static long argo_dev_stats(struct argo_dev_file *f,
			   struct argo_dev_stats __user *uarg)
{
	struct argo_endpoint *ep = argo_dev_ep(f);
	struct argo_endpoint_stats s;
	struct argo_dev_stats out;

	if (!ep)
		return -ENOTCONN;
	argo_endpoint_get_stats(ep, &s);
	memset(&out, 0, sizeof(out));
	out.rx_msgs = s.rx_msgs;
	out.rx_bytes = s.rx_bytes;
	out.tx_msgs = s.tx_msgs;
	out.tx_bytes = s.tx_bytes;
	out.tx_eagain = s.tx_eagain;
	out.tx_ready = s.tx_ready;
	out.ring_errors = s.ring_errors;
	out.tx_rescued = s.tx_rescued;
	if (copy_to_user(uarg, &out, sizeof(out)))
		return -EFAULT;
	return 0;
}

static long argo_dev_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	struct argo_dev_file *f = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case ARGO_DEV_IOC_BIND:
		return argo_dev_bind(f, uarg);
	case ARGO_DEV_IOC_SEND:
		return argo_dev_send(f, file, uarg);
	case ARGO_DEV_IOC_RECV:
		return argo_dev_recv(f, file, uarg);
	case ARGO_DEV_IOC_SENDV:
		return argo_dev_sendv(f, file, uarg);
	case ARGO_DEV_IOC_RECVV:
		return argo_dev_recvv(f, file, uarg);
	case ARGO_DEV_IOC_MAX_MSG_SIZE:
		return argo_dev_max_msg_size(f, uarg);
	case ARGO_DEV_IOC_INFO:
		return argo_dev_info(f, uarg);
	case ARGO_DEV_IOC_STATS:
		return argo_dev_stats(f, uarg);
	default:
		return -ENOTTY;
	}
}

static __poll_t argo_dev_poll(struct file *file, poll_table *wait)
{
	struct argo_dev_file *f = file->private_data;
	struct argo_endpoint *ep;
	__poll_t mask = 0;

	poll_wait(file, &f->wq, wait);
	ep = argo_dev_ep(f);
	if (!ep)
		return EPOLLERR;
	if (argo_endpoint_readable(ep))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (argo_dev_writable(f))
		mask |= EPOLLOUT | EPOLLWRNORM;
	return mask;
}

static int argo_dev_open(struct inode *inode, struct file *file)
{
	struct argo_dev_file *f;

	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	mutex_init(&f->bind_lock);
	init_waitqueue_head(&f->wq);
	spin_lock_init(&f->lock);
	file->private_data = f;
	return nonseekable_open(inode, file);
}

static int argo_dev_release(struct inode *inode, struct file *file)
{
	struct argo_dev_file *f = file->private_data;

	/* No ioctl runs any more; after the close no callback runs either. */
	if (f->ep)
		argo_endpoint_close(f->ep);
	mutex_destroy(&f->bind_lock);
	kfree(f);
	return 0;
}

static const struct file_operations argo_dev_fops = {
	.owner = THIS_MODULE,
	.open = argo_dev_open,
	.release = argo_dev_release,
	.unlocked_ioctl = argo_dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.poll = argo_dev_poll,
	.llseek = no_llseek,
};

static struct miscdevice argo_dev_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "argo",
	.fops = &argo_dev_fops,
};

int argo_dev_init(void)
{
	int ret;

	/* The uapi restates the hypervisor's limits; they must agree. */
	BUILD_BUG_ON(ARGO_DEV_DOMID_SELF != ARGO_DOMID_SELF);
	BUILD_BUG_ON(ARGO_DEV_DOMID_ANY != ARGO_DOMID_ANY);
	BUILD_BUG_ON(ARGO_DEV_RING_SIZE_MIN != ARGO_RING_SIZE_MIN);
	BUILD_BUG_ON(ARGO_DEV_RING_SIZE_MAX != ARGO_RING_SIZE_MAX);
	BUILD_BUG_ON(ARGO_DEV_RING_ALIGN != ARGO_HV_MSG_SLOT_SIZE);
	BUILD_BUG_ON(ARGO_DEV_MAX_MSG_SIZE !=
		     ARGO_HV_RING_MAX_PAYLOAD(ARGO_RING_SIZE_MAX));
	BUILD_BUG_ON(ARGO_DEV_MAX_MSG_SIZE > ARGO_HV_MAX_MSG_SIZE);
	/* Same layout for 32-bit and 64-bit callers: no compat translation. */
	BUILD_BUG_ON(sizeof(struct argo_dev_bind) != 32);
	BUILD_BUG_ON(sizeof(struct argo_dev_msg) != 32);
	BUILD_BUG_ON(sizeof(struct argo_dev_batch) != 16);
	BUILD_BUG_ON(sizeof(struct argo_dev_max_size) != 16);
	BUILD_BUG_ON(sizeof(struct argo_dev_info) != 56);
	BUILD_BUG_ON(sizeof(struct argo_dev_stats) != 64);
	BUILD_BUG_ON(sizeof_field(struct argo_dev_msg, len) !=
		     sizeof_field(struct argo_msg, len));

	if (dev_mode & ~0777) {
		pr_err("dev_mode=%#o: only permission bits (0777) are allowed\n",
		       dev_mode);
		return -EINVAL;
	}
	argo_dev_misc.mode = dev_mode;
	ret = misc_register(&argo_dev_misc);
	if (ret)
		pr_err("cannot register /dev/argo: %d\n", ret);
	return ret;
}

void argo_dev_exit(void)
{
	misc_deregister(&argo_dev_misc);
}
