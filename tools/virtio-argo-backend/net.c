// SPDX-License-Identifier: MIT
/*
 * virtio-argo-backend: virtio-net (virtio 1.x, "Network Device"), joined
 * to a switch built into the backend or to a tap device.
 *
 *   --net frontend=D,switch=NAME[,mac=52:54:00:12:34:56][,link=up|down]
 *         [,mtu=N][,queue-size=N][,offload=on|off]
 *   --net frontend=D,tap=IFNAME[,mac=...][,link=...][,mtu=N]...
 *
 * Queues: receiveq0 (0) and transmitq0 (1); no multiqueue, no control
 * queue.  Configuration space: mac, status (LINK_UP), max_virtqueue_pairs
 * (1) and mtu, 12 bytes.  Every frame starts with the 12-byte struct
 * virtio_net_hdr_v1 (VERSION_1 is always negotiated); MRG_RXBUF is not
 * offered, so a received frame goes whole into one receive chain.
 *
 * Receive chains are all device-writable: the driver posts them ahead
 * and this class holds them, oldest first, until a frame comes (a frame
 * goes into the oldest held chain that has room for it).  Linux posts
 * either one 1530-byte buffer per chain ("small": header and 1518 bytes
 * of frame in one descriptor) or, when it negotiated a guest TSO feature
 * or its MTU is above 1500, chains of MAX_SKB_FRAGS + 2 descriptors: the
 * 12-byte header alone, then a page minus 32 bytes, then whole pages
 * ("big").  The protocol hands a class only the totals, and a completion
 * is written from the chain's first writable byte on, so both layouts
 * (and any other) are the same here.  Frames arriving while no chain is
 * held are dropped and counted, as are frames larger than every chain
 * held: a port never waits for another.
 *
 * Transmit chains are all driver-readable: header and frame.  Each one is
 * checked (no writable bytes, a whole header, known flags, offloads only
 * as negotiated, checksum position inside the frame, a GSO frame that is
 * TCP over IPv4/IPv6 as its type says, size within the MTU unless GSO),
 * handed to the switch or the tap, and completed; a bad one is completed
 * unsent and counted.  A chain the tap cannot take yet (EAGAIN) is held,
 * with the ones after it, until POLLOUT.
 *
 * Offloads (offload=on, the default): CSUM, GUEST_CSUM, HOST_TSO4/6 and
 * GUEST_TSO4/6 are offered on both paths.  The tap gets frames with
 * their headers as the guest wrote them (the kernel does checksum and
 * segmentation) and TUNSETOFFLOAD as the guest negotiated, so that the
 * kernel only hands it frames the guest accepts.  The switch passes a
 * frame on as it is to a receiver that negotiated what the frame needs,
 * and otherwise finishes the work in software for that receiver: it
 * fills in a partial checksum, and it cuts a TCP GSO frame into MSS-sized
 * segments with their IPv4/IPv6 and TCP headers and checksums rewritten.
 * So each guest sees only what it negotiated, and two guests that both
 * negotiated everything exchange 64 KiB frames without the backend
 * touching a byte of payload beyond one copy.
 *
 * Identity: a frame is attributed to the device whose ring it came in on,
 * which the protocol layer has tied to the frontend's domain.  On a
 * switch each port's configured MAC belongs to it alone: a frame whose
 * source is another port's MAC, or a multicast address, is dropped and
 * counted, and learning never moves a configured MAC.  Learned addresses
 * are limited per port and per switch and age out after 5 minutes.
 *
 * Copyright (c) 2026 The virtio-argo authors
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>

#include "backend.h"

#define NET_RXQ			0
#define NET_TXQ			1
#define NET_QUEUE_SIZE		256
#define NET_HDR			12U	/* struct virtio_net_hdr_v1 */
#define NET_ETH			14U
#define NET_VLAN		4U
#define NET_MTU_DEFAULT		1500
#define NET_MTU_MIN		68
/* A GSO frame: the 64 KiB Linux builds at most, with room for headers. */
#define NET_GSO_MAX		(65536U + NET_ETH + NET_VLAN)
#define NET_CONFIG_LEN		12U	/* mac, status, max_virtqueue_pairs, mtu */
#define NET_TAP_BURST		64	/* frames read from a tap per event */
#define NET_TAP_BUF		(NET_HDR + NET_GSO_MAX)

#define NET_MAC_BUCKETS		256
#define NET_MAC_MAX		4096	/* learned addresses per switch */
#define NET_MAC_PORT_MAX	256	/* learned addresses per port */
#define NET_MAC_AGE_MS		(300 * 1000)
#define NET_SWITCH_NAME_MAX	32

#define NET_F(bit)		(1ULL << VIRTIO_NET_F_##bit)
#define NET_F_OFFLOADS		(NET_F(CSUM) | NET_F(GUEST_CSUM) |	\
				 NET_F(GUEST_TSO4) | NET_F(GUEST_TSO6) | \
				 NET_F(HOST_TSO4) | NET_F(HOST_TSO6))

/* TCP header flags (RFC 9293, RFC 3168). */
#define NET_TCP_FIN		0x01
#define NET_TCP_PSH		0x08
#define NET_TCP_CWR		0x80

struct net_switch;

/* What a source may put in a frame: offloads and header flags. */
struct net_caps {
	bool csum;
	bool tso4;
	bool tso6;
	uint8_t flags;			/* VIRTIO_NET_HDR_F_* allowed */
	uint32_t max_plain;		/* largest frame without GSO */
};

/* One frame on its way: the header's fields, then the Ethernet frame. */
struct net_frame {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	const uint8_t *eth;
	uint32_t len;
};

/* Offsets of the headers of a TCP frame, as net_tcp_parse() found them. */
struct net_tcp {
	uint32_t l3;
	uint32_t l4;
	uint32_t hlen;			/* everything before the payload */
	bool v6;
};

struct net {
	struct vab_dev *d;
	uint8_t mac[6];
	bool mac_set;
	bool link_up;
	bool offload;
	uint16_t mtu;
	uint16_t queue_size;
	char *sw_name;
	char *tap_name;

	/* Switch port. */
	struct net_switch *sw;
	struct net *sw_next;
	uint32_t learned;		/* switch entries pointing here */

	/* Tap. */
	int tap_fd;
	bool tap_watched;
	bool tap_dead;			/* read/write failed for good */
	short tap_events;
	int tap_offload;		/* TUN_F_* set, -1: not yet */
	uint8_t *tap_buf;

	/* Receive chains held, oldest first. */
	struct vab_chain **rx;
	uint32_t nrx;
	/*
	 * Transmit chains waiting for the tap, in order, linked through
	 * c->next.  Not bounded by the queue's size: with OUT_NOCOMP the
	 * driver has them back at once and sends more (the device's memory
	 * limit bounds them).
	 */
	struct vab_chain *txw, **txw_tail;
	uint32_t ntxw;

	struct vab_net_stats st;
};

struct net_mac {
	struct net_mac *next;
	uint8_t addr[6];
	struct net *port;
	int64_t seen;
};

struct net_switch {
	struct net_switch *next;
	char name[NET_SWITCH_NAME_MAX];
	struct net *ports;
	struct net_mac *buckets[NET_MAC_BUCKETS];
	uint32_t nmacs;
};

/* Switches by name, shared by all backends of the process. */
static struct net_switch *net_switches;

static struct net *net_of(struct vab_dev *d)
{
	return d->priv;
}

/* ---- Byte helpers ---------------------------------------------------- */

static uint16_t net_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t net_be32(const uint8_t *p)
{
	return (uint32_t)net_be16(p) << 16 | net_be16(p + 2);
}

static void net_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void net_put_be32(uint8_t *p, uint32_t v)
{
	net_put_be16(p, (uint16_t)(v >> 16));
	net_put_be16(p + 2, (uint16_t)v);
}

static bool net_mac_multicast(const uint8_t *mac)
{
	return mac[0] & 1;
}

/* ---- Checksums (RFC 1071) --------------------------------------------- */

/*
 * The ones' complement sum of @len bytes as big-endian 16-bit words (an
 * odd last byte padded with zero), added to @sum; fold with net_fold().
 * Summing 32-bit words and folding later gives the same result (RFC 1071)
 * at twice the speed; a 64-bit accumulator cannot overflow here.
 */
static uint64_t net_sum(uint64_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 4 <= len; i += 4)
		sum += net_be32(p + i);
	if (len - i >= 2) {
		sum += net_be16(p + i);
		i += 2;
	}
	if (i < len)
		sum += (uint32_t)p[i] << 8;
	return sum;
}

static uint16_t net_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * Finish a partial checksum as a device does for NEEDS_CSUM: the field at
 * csum_start + csum_offset holds the pseudo-header's sum; the checksum of
 * everything from csum_start on replaces it (0 is sent as 0xffff, which
 * means the same and keeps UDP's "no checksum" free).
 */
static void net_csum_finish(uint8_t *eth, uint32_t len, uint16_t start,
			    uint16_t off)
{
	uint16_t c = net_fold(net_sum(0, eth + start, len - start));

	net_put_be16(eth + start + off, c ? c : 0xffff);
}

/* ---- Frames ------------------------------------------------------------- */

static void net_hdr_get(const uint8_t *h, struct net_frame *fr)
{
	fr->flags = h[0];
	fr->gso_type = h[1];
	fr->hdr_len = vab_get16(h + 2);
	fr->gso_size = vab_get16(h + 4);
	fr->csum_start = vab_get16(h + 6);
	fr->csum_offset = vab_get16(h + 8);
}

/* The header of a frame given to a driver, num_buffers 1. */
static void net_hdr_put(uint8_t *h, uint8_t flags, const struct net_frame *fr)
{
	memset(h, 0, NET_HDR);
	h[0] = flags;
	if (flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		vab_put16(h + 6, fr->csum_start);
		vab_put16(h + 8, fr->csum_offset);
	}
	if (fr->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		h[1] = fr->gso_type;
		vab_put16(h + 2, fr->hdr_len);
		vab_put16(h + 4, fr->gso_size);
	}
	vab_put16(h + 10, 1);
}

/* A TCP GSO frame's headers: NULL, or what is wrong with them. */
static const char *net_tcp_parse(const struct net_frame *fr,
				 struct net_tcp *t)
{
	const uint8_t *f = fr->eth;
	uint32_t len = fr->len, l3 = NET_ETH, thl, ihl;
	uint16_t type = net_be16(f + 12);

	if (type == ETH_P_8021Q || type == ETH_P_8021AD) {
		if (len < NET_ETH + NET_VLAN)
			return "truncated VLAN tag";
		type = net_be16(f + 16);
		l3 += NET_VLAN;
	}
	t->v6 = fr->gso_type == VIRTIO_NET_HDR_GSO_TCPV6;
	if (!t->v6) {
		if (type != ETH_P_IP || len < l3 + 20 || f[l3] >> 4 != 4)
			return "TCPV4 GSO frame without an IPv4 header";
		ihl = (f[l3] & 15U) * 4;
		if (ihl < 20 || len < l3 + ihl)
			return "bad IPv4 header length";
		if (f[l3 + 9] != IPPROTO_TCP)
			return "TCPV4 GSO frame that is not TCP";
		if (net_be16(f + l3 + 6) & 0x3fff)
			return "TCPV4 GSO frame that is an IP fragment";
		t->l4 = l3 + ihl;
	} else {
		if (type != ETH_P_IPV6 || len < l3 + 40 || f[l3] >> 4 != 6)
			return "TCPV6 GSO frame without an IPv6 header";
		if (f[l3 + 6] != IPPROTO_TCP)
			return "TCPV6 GSO frame with extension headers or not TCP";
		t->l4 = l3 + 40;
	}
	if (len < t->l4 + 20)
		return "truncated TCP header";
	thl = (f[t->l4 + 12] >> 4) * 4U;
	if (thl < 20 || len < t->l4 + thl)
		return "bad TCP header length";
	t->l3 = l3;
	t->hlen = t->l4 + thl;
	return NULL;
}

/* Check a frame from a source that may use @caps: NULL or what is wrong. */
static const char *net_frame_check(const struct net_frame *fr,
				   const struct net_caps *caps)
{
	struct net_tcp t;

	if (fr->len < NET_ETH)
		return "frame shorter than an Ethernet header";
	if (fr->flags & ~caps->flags)
		return "header flags not allowed";
	if (fr->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!caps->csum)
			return "NEEDS_CSUM without CSUM negotiated";
		if (fr->csum_start > fr->len ||
		    fr->len - fr->csum_start < (uint32_t)fr->csum_offset + 2)
			return "checksum position outside the frame";
	}
	switch (fr->gso_type) {
	case VIRTIO_NET_HDR_GSO_NONE:
		if (fr->len > caps->max_plain)
			return "frame larger than the MTU";
		return NULL;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		if (!caps->tso4)
			return "TCPV4 GSO frame without TSO4 negotiated";
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		if (!caps->tso6)
			return "TCPV6 GSO frame without TSO6 negotiated";
		break;
	default:
		return "GSO type not offered";
	}
	if (!fr->gso_size)
		return "GSO frame with gso_size 0";
	if (!(fr->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return "GSO frame without NEEDS_CSUM";
	if (fr->len > NET_GSO_MAX)
		return "GSO frame larger than 64 KiB";
	return net_tcp_parse(fr, &t);
}

/* ---- Receiving: frames into held chains --------------------------------- */

/* The oldest held receive chain with room for @bytes: its index or -1. */
static int net_rx_find(const struct net *n, uint32_t bytes)
{
	uint32_t i;

	for (i = 0; i < n->nrx; i++)
		if (n->rx[i]->in_len >= bytes)
			return (int)i;
	return -1;
}

/* Count @frames that found no chain with room. */
static void net_rx_nochain(struct net *n, uint64_t frames)
{
	if (n->nrx)
		n->st.rx_oversize += frames;
	else
		n->st.rx_no_buffer += frames;
}

/* Complete held chain @i with @buf (@len bytes, header included). */
static void net_rx_complete(struct net *n, int i, uint8_t *buf, uint32_t len)
{
	struct vab_chain *c = n->rx[i];

	n->nrx--;
	memmove(&n->rx[i], &n->rx[i + 1], (n->nrx - (uint32_t)i) * sizeof(*n->rx));
	n->st.rx_frames++;
	n->st.rx_bytes += len - NET_HDR;
	vab_chain_complete(n->d, c, buf, len, len, NULL, 0);
}

/* A new buffer of @len bytes, or NULL (counted, logged). */
static uint8_t *net_rx_buf(struct net *n, uint32_t len)
{
	uint8_t *buf = malloc(len);

	if (!buf) {
		n->st.rx_dropped++;
		vab_fe_log(n->d->fe, n->d, VAB_LOG_ERROR, "out of memory");
	}
	return buf;
}

/*
 * Cut a TCP GSO frame into segments of gso_size payload bytes for a
 * receiver that does not take it whole, each with complete checksums,
 * as the kernel's software GSO does: IPv4 total length, id (+1 per
 * segment) and header checksum, IPv6 payload length, TCP sequence number,
 * FIN and PSH only on the last segment, CWR only on the first.
 */
static void net_rx_segment(struct net *n, const struct net_frame *fr)
{
	uint8_t vflags = n->d->features & NET_F(GUEST_CSUM) ?
			 VIRTIO_NET_HDR_F_DATA_VALID : 0;
	uint32_t payload, mss = fr->gso_size, nseg, i, off, seq0;
	uint32_t max = n->mtu + NET_ETH + NET_VLAN;
	struct net_frame seg;
	struct net_tcp t;
	uint16_t id0 = 0;

	if (net_tcp_parse(fr, &t) || !mss) {
		n->st.rx_dropped++;	/* checked at the source: cannot be */
		return;
	}
	payload = fr->len - t.hlen;
	nseg = payload ? (payload + mss - 1) / mss : 1;
	seq0 = net_be32(fr->eth + t.l4 + 4);
	if (!t.v6)
		id0 = net_be16(fr->eth + t.l3 + 4);
	memset(&seg, 0, sizeof(seg));
	n->st.gso_segmented++;
	for (i = 0, off = 0; i < nseg; i++, off += mss) {
		uint32_t pl = payload - off < mss ? payload - off : mss;
		uint32_t slen = t.hlen + pl, tcplen = slen - t.l4;
		uint64_t sum;
		uint8_t *buf, *s;
		int ci;

		if (slen > max) {
			n->st.rx_oversize += nseg - i;
			return;
		}
		ci = net_rx_find(n, NET_HDR + slen);
		if (ci < 0) {
			net_rx_nochain(n, nseg - i);
			return;
		}
		buf = net_rx_buf(n, NET_HDR + slen);
		if (!buf)
			return;
		net_hdr_put(buf, vflags, &seg);
		s = buf + NET_HDR;
		memcpy(s, fr->eth, t.hlen);
		memcpy(s + t.hlen, fr->eth + t.hlen + off, pl);
		if (!t.v6) {
			uint32_t ihl = t.l4 - t.l3;

			net_put_be16(s + t.l3 + 2, (uint16_t)(slen - t.l3));
			net_put_be16(s + t.l3 + 4, (uint16_t)(id0 + i));
			net_put_be16(s + t.l3 + 10, 0);
			net_put_be16(s + t.l3 + 10,
				     net_fold(net_sum(0, s + t.l3, ihl)));
			sum = net_sum(0, s + t.l3 + 12, 8);
		} else {
			net_put_be16(s + t.l3 + 4, (uint16_t)(slen - t.l4));
			sum = net_sum(0, s + t.l3 + 8, 32);
		}
		sum += IPPROTO_TCP + (tcplen >> 16) + (tcplen & 0xffff);
		net_put_be32(s + t.l4 + 4, seq0 + off);
		if (i + 1 < nseg)
			s[t.l4 + 13] &= (uint8_t)~(NET_TCP_FIN | NET_TCP_PSH);
		if (i)
			s[t.l4 + 13] &= (uint8_t)~NET_TCP_CWR;
		net_put_be16(s + t.l4 + 16, 0);
		net_put_be16(s + t.l4 + 16,
			     net_fold(net_sum(sum, s + t.l4, tcplen)));
		net_rx_complete(n, ci, buf, NET_HDR + slen);
	}
}

/*
 * Give a checked frame to @n's driver, as its features allow: whole and
 * as it is if it negotiated what the frame needs, else with the checksum
 * filled in or cut into segments.
 */
static void net_rx_frame(struct net *n, const struct net_frame *fr)
{
	uint64_t f = n->d->features;
	bool csum = f & NET_F(GUEST_CSUM), gso_ok = false;
	uint8_t flags = 0;
	uint8_t *buf;
	int ci;

	if (!n->link_up) {
		n->st.rx_dropped++;
		return;
	}
	if (!n->nrx) {
		n->st.rx_no_buffer++;
		return;
	}
	if (fr->gso_type == VIRTIO_NET_HDR_GSO_TCPV4)
		gso_ok = csum && (f & NET_F(GUEST_TSO4));
	else if (fr->gso_type == VIRTIO_NET_HDR_GSO_TCPV6)
		gso_ok = csum && (f & NET_F(GUEST_TSO6));
	if (fr->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		/* Whole if it may and there is room, else in segments. */
		if (!gso_ok || net_rx_find(n, NET_HDR + fr->len) < 0) {
			net_rx_segment(n, fr);
			return;
		}
		flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	} else {
		if (fr->len > (uint32_t)n->mtu + NET_ETH + NET_VLAN) {
			n->st.rx_oversize++;
			return;
		}
		if (csum)
			flags = fr->flags & (VIRTIO_NET_HDR_F_NEEDS_CSUM |
					     VIRTIO_NET_HDR_F_DATA_VALID);
	}
	ci = net_rx_find(n, NET_HDR + fr->len);
	if (ci < 0) {
		net_rx_nochain(n, 1);
		return;
	}
	buf = net_rx_buf(n, NET_HDR + fr->len);
	if (!buf)
		return;
	net_hdr_put(buf, flags, fr);
	memcpy(buf + NET_HDR, fr->eth, fr->len);
	if ((fr->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    !(flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
		net_csum_finish(buf + NET_HDR, fr->len, fr->csum_start,
				fr->csum_offset);
		n->st.csum_filled++;
	}
	net_rx_complete(n, ci, buf, NET_HDR + fr->len);
}

/* ---- The switch --------------------------------------------------------- */

static unsigned int net_mac_hash(const uint8_t *mac)
{
	unsigned int h = 0, i;

	for (i = 0; i < 6; i++)
		h = h * 31 + mac[i];
	return h % NET_MAC_BUCKETS;
}

/* The port whose configured MAC is @mac. */
static struct net *net_sw_owner(struct net_switch *sw, const uint8_t *mac)
{
	struct net *p;

	for (p = sw->ports; p; p = p->sw_next)
		if (!memcmp(p->mac, mac, 6))
			return p;
	return NULL;
}

static void net_sw_unlearn(struct net_switch *sw, struct net_mac **pp)
{
	struct net_mac *m = *pp;

	*pp = m->next;
	m->port->learned--;
	sw->nmacs--;
	free(m);
}

/* The port @mac was last seen on, if not too long ago. */
static struct net *net_sw_lookup(struct net_switch *sw, const uint8_t *mac,
				 int64_t now)
{
	struct net_mac **pp = &sw->buckets[net_mac_hash(mac)];

	for (; *pp; pp = &(*pp)->next) {
		if (memcmp((*pp)->addr, mac, 6))
			continue;
		if (now - (*pp)->seen > NET_MAC_AGE_MS) {
			net_sw_unlearn(sw, pp);
			return NULL;
		}
		return (*pp)->port;
	}
	return NULL;
}

/* Forget what aged out; only when a limit is reached, so rarely. */
static void net_sw_expire(struct net_switch *sw, int64_t now)
{
	unsigned int i;

	for (i = 0; i < NET_MAC_BUCKETS; i++) {
		struct net_mac **pp = &sw->buckets[i];

		while (*pp) {
			if (now - (*pp)->seen > NET_MAC_AGE_MS)
				net_sw_unlearn(sw, pp);
			else
				pp = &(*pp)->next;
		}
	}
}

static void net_sw_learn(struct net_switch *sw, struct net *port,
			 const uint8_t *mac, int64_t now)
{
	struct net_mac **head = &sw->buckets[net_mac_hash(mac)], *m;

	for (m = *head; m; m = m->next) {
		if (!memcmp(m->addr, mac, 6)) {
			if (m->port != port) {
				/* Moved (a guest's bridge, a migration). */
				if (port->learned >= NET_MAC_PORT_MAX)
					net_sw_expire(sw, now);
				if (port->learned >= NET_MAC_PORT_MAX)
					return;
				m->port->learned--;
				port->learned++;
				m->port = port;
			}
			m->seen = now;
			return;
		}
	}
	if (sw->nmacs >= NET_MAC_MAX || port->learned >= NET_MAC_PORT_MAX)
		net_sw_expire(sw, now);
	if (sw->nmacs >= NET_MAC_MAX || port->learned >= NET_MAC_PORT_MAX)
		return;		/* full: such frames are flooded */
	m = malloc(sizeof(*m));
	if (!m)
		return;
	memcpy(m->addr, mac, 6);
	m->port = port;
	m->seen = now;
	m->next = *head;
	*head = m;
	sw->nmacs++;
	port->learned++;
}

/* Forget every address learned on @port. */
static void net_sw_forget(struct net_switch *sw, struct net *port)
{
	unsigned int i;

	for (i = 0; i < NET_MAC_BUCKETS; i++) {
		struct net_mac **pp = &sw->buckets[i];

		while (*pp) {
			if ((*pp)->port == port)
				net_sw_unlearn(sw, pp);
			else
				pp = &(*pp)->next;
		}
	}
}

/* A checked frame from port @n: to its destination or every other port. */
static void net_sw_forward(struct net *n, const struct net_frame *fr)
{
	struct net_switch *sw = n->sw;
	const uint8_t *dst = fr->eth, *src = fr->eth + 6;
	struct net *owner, *p;
	int64_t now = vab_now_ms();

	owner = net_sw_owner(sw, src);
	if (net_mac_multicast(src) || (owner && owner != n)) {
		n->st.tx_spoofed++;
		vab_fe_log(n->d->fe, n->d, VAB_LOG_WARN,
			   "frame from %02x:%02x:%02x:%02x:%02x:%02x dropped: %s",
			   src[0], src[1], src[2], src[3], src[4], src[5],
			   owner ? "another port's address" :
			   "multicast source address");
		return;
	}
	if (!owner)
		net_sw_learn(sw, n, src, now);
	n->st.tx_frames++;
	n->st.tx_bytes += fr->len;
	if (!net_mac_multicast(dst)) {
		p = net_sw_owner(sw, dst);
		if (!p)
			p = net_sw_lookup(sw, dst, now);
		if (p) {
			if (p != n)
				net_rx_frame(p, fr);
			return;
		}
	}
	for (p = sw->ports; p; p = p->sw_next)
		if (p != n)
			net_rx_frame(p, fr);
}

static int net_sw_join(struct net *n)
{
	struct net_switch *sw;

	for (sw = net_switches; sw; sw = sw->next)
		if (!strcmp(sw->name, n->sw_name))
			break;
	if (!sw) {
		sw = calloc(1, sizeof(*sw));
		if (!sw)
			return -ENOMEM;
		snprintf(sw->name, sizeof(sw->name), "%s", n->sw_name);
		sw->next = net_switches;
		net_switches = sw;
	} else if (net_sw_owner(sw, n->mac)) {
		return -EADDRINUSE;
	}
	n->sw = sw;
	n->sw_next = sw->ports;
	sw->ports = n;
	return 0;
}

static void net_sw_leave(struct net *n)
{
	struct net_switch *sw = n->sw, **sp;
	struct net **pp;

	if (!sw)
		return;
	net_sw_forget(sw, n);
	for (pp = &sw->ports; *pp; pp = &(*pp)->sw_next) {
		if (*pp == n) {
			*pp = n->sw_next;
			break;
		}
	}
	n->sw = NULL;
	if (sw->ports)
		return;
	for (sp = &net_switches; *sp; sp = &(*sp)->next) {
		if (*sp == sw) {
			*sp = sw->next;
			break;
		}
	}
	free(sw);
}

/* ---- The tap ------------------------------------------------------------ */

static void net_tap_event(struct vab_dev *d, int fd, short revents, void *arg);

/* Watch for what the tap is needed for now. */
static void net_tap_watch(struct net *n)
{
	short ev = 0;

	if (n->tap_fd >= 0 && !n->tap_dead) {
		if (n->nrx || !n->link_up)
			ev |= POLLIN;	/* link down: read and drop */
		if (n->ntxw)
			ev |= POLLOUT;
	}
	if (ev == n->tap_events || !n->tap_watched)
		return;
	vab_watch_events(n->d->b, n->tap_fd, ev);
	n->tap_events = ev;
}

/*
 * TUNSETOFFLOAD: what the kernel may hand us is what the guest takes
 * (nothing while it is being reset: @off).  A tap that went away takes
 * nothing more: there is nothing to set (and trying again at every
 * reset would log an error each time).
 */
static void net_tap_offload(struct net *n, bool off)
{
	uint64_t f = n->d->features;
	int want = 0;

	if (!off && (f & NET_F(GUEST_CSUM))) {
		want = TUN_F_CSUM;
		if (f & NET_F(GUEST_TSO4))
			want |= TUN_F_TSO4;
		if (f & NET_F(GUEST_TSO6))
			want |= TUN_F_TSO6;
	}
	if (n->tap_fd < 0 || n->tap_dead || want == n->tap_offload)
		return;
	if (ioctl(n->tap_fd, TUNSETOFFLOAD, (unsigned long)want)) {
		vab_fe_log(n->d->fe, n->d, VAB_LOG_ERROR,
			   "tap %s: TUNSETOFFLOAD %#x: %s", n->tap_name, want,
			   strerror(errno));
		return;
	}
	n->tap_offload = want;
}

/* The tap is gone (deleted under us): stop polling it, link down. */
static void net_tap_failed(struct net *n, const char *what, int err)
{
	vab_fe_log(n->d->fe, n->d, VAB_LOG_ERROR,
		   "tap %s: %s: %s; the device passes no more frames",
		   n->tap_name, what, strerror(err));
	n->tap_dead = true;
	net_tap_watch(n);
	vab_net_set_link(n->d, false);
}

/* Write one transmit chain's header and frame: 0, -EAGAIN or -errno. */
static int net_tap_write(struct net *n, struct vab_chain *c)
{
	ssize_t r;

	do {
		r = write(n->tap_fd, c->out, c->out_len);
	} while (r < 0 && errno == EINTR);
	if (r >= 0)
		return 0;
	return -errno;
}

static void net_tap_tx_done(struct net *n, struct vab_chain *c, int r)
{
	if (r) {
		n->st.tx_dropped++;
		vab_fe_log(n->d->fe, n->d,
			   r == -EIO ? VAB_LOG_DEBUG : VAB_LOG_WARN,
			   "tap %s: frame of %u bytes not sent: %s",
			   n->tap_name, c->out_len - NET_HDR, strerror(-r));
		if (r == -EBADFD || r == -EBADF)
			net_tap_failed(n, "write", -r);
	} else {
		n->st.tx_frames++;
		n->st.tx_bytes += c->out_len - NET_HDR;
	}
	vab_chain_complete(n->d, c, NULL, 0, 0, NULL, 0);
}

static void net_txw_pop(struct net *n)
{
	n->txw = n->txw->next;
	if (!n->txw)
		n->txw_tail = &n->txw;
	n->ntxw--;
}

/* POLLOUT: write the chains that waited, in order. */
static void net_tap_flush(struct net *n)
{
	while (n->txw) {
		struct vab_chain *c = n->txw;
		int r = n->tap_dead ? -EIO : net_tap_write(n, c);

		if (r == -EAGAIN)
			return;
		net_txw_pop(n);
		net_tap_tx_done(n, c, r);
	}
}

static void net_tap_tx(struct net *n, struct vab_chain *c)
{
	int r;

	if (!n->ntxw) {
		r = n->tap_dead ? -EIO : net_tap_write(n, c);
		if (r != -EAGAIN) {
			net_tap_tx_done(n, c, r);
			return;
		}
	}
	c->next = NULL;
	*n->txw_tail = c;
	n->txw_tail = &c->next;
	n->ntxw++;
	net_tap_watch(n);
}

/*
 * POLLIN: frames from the kernel to the driver, a burst at most.  With
 * @probe (POLLERR, POLLHUP), read once even without a chain to learn
 * what is wrong, so that an error never makes a busy loop.
 */
static void net_tap_read(struct net *n, bool probe)
{
	const struct net_caps caps = {
		.csum = true, .tso4 = true, .tso6 = true,
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM |
			 VIRTIO_NET_HDR_F_DATA_VALID,
		.max_plain = NET_GSO_MAX,
	};
	struct net_frame fr;
	const char *why;
	unsigned int i;
	ssize_t r;

	for (i = 0; i < NET_TAP_BURST && !n->tap_dead &&
	     (n->nrx || !n->link_up || (probe && !i)); i++) {
		r = read(n->tap_fd, n->tap_buf, NET_TAP_BUF + 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				net_tap_failed(n, "read", errno);
			return;
		}
		if ((size_t)r > NET_TAP_BUF || (size_t)r < NET_HDR) {
			n->st.rx_dropped++;
			continue;
		}
		net_hdr_get(n->tap_buf, &fr);
		fr.eth = n->tap_buf + NET_HDR;
		fr.len = (uint32_t)r - NET_HDR;
		why = net_frame_check(&fr, &caps);
		if (why) {
			n->st.rx_dropped++;
			vab_fe_log(n->d->fe, n->d, VAB_LOG_DEBUG,
				   "tap %s: frame of %u bytes dropped: %s",
				   n->tap_name, fr.len, why);
			continue;
		}
		net_rx_frame(n, &fr);
	}
}

static void net_tap_event(struct vab_dev *d, int fd, short revents, void *arg)
{
	struct net *n = arg;

	(void)d;
	(void)fd;
	if (revents & POLLOUT)
		net_tap_flush(n);
	if (revents & (POLLIN | POLLERR | POLLHUP))
		net_tap_read(n, revents & (POLLERR | POLLHUP));
	net_tap_watch(n);
}

/* What the log adds to TUNSETIFF's error @err (negative errno). */
static const char *net_tap_hint(int err)
{
	switch (err) {
	case -EPERM:
		return " (needs CAP_NET_ADMIN, or a persistent tap owned by this user)";
	case -EBUSY:
		return " (in use by another process)";
	default:
		return "";
	}
}

static int net_tap_open(struct net *n)
{
	struct ifreq ifr;
	int hdr = NET_HDR, r;

	n->tap_fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (n->tap_fd < 0) {
		r = -errno;
		vab_log(VAB_LOG_ERROR, "%s: open /dev/net/tun: %s", n->d->name,
			strerror(-r));
		return r;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", n->tap_name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(n->tap_fd, TUNSETIFF, &ifr)) {
		r = -errno;
		vab_log(VAB_LOG_ERROR, "%s: tap %s: TUNSETIFF: %s%s", n->d->name,
			n->tap_name, strerror(-r), net_tap_hint(r));
		return r;
	}
	r = ioctl(n->tap_fd, TUNSETVNETHDRSZ, &hdr);
#if __BYTE_ORDER == __BIG_ENDIAN
	if (!r)
		r = ioctl(n->tap_fd, TUNSETVNETLE, &(int){ 1 });
#endif
	if (!r)
		r = ioctl(n->tap_fd, TUNSETOFFLOAD, 0UL);
	if (r) {
		r = -errno;
		vab_log(VAB_LOG_ERROR, "%s: tap %s: vnet header setup: %s",
			n->d->name, n->tap_name, strerror(-r));
		return r;
	}
	n->tap_offload = 0;
	n->tap_buf = malloc(NET_TAP_BUF + 1);
	if (!n->tap_buf)
		return -ENOMEM;
	r = vab_watch_add(n->d->b, n->d, n->tap_fd, 0, net_tap_event, n);
	if (r) {
		vab_log(VAB_LOG_ERROR, "%s: tap %s: %s", n->d->name,
			n->tap_name, strerror(-r));
		return r;
	}
	n->tap_watched = true;
	n->tap_events = 0;
	return 0;
}

/* ---- Device class ------------------------------------------------------- */

static struct net *net_get(struct vab_dev *d)
{
	struct net *n = d->priv;

	if (n)
		return n;
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->d = d;
	n->link_up = true;
	n->offload = true;
	n->mtu = NET_MTU_DEFAULT;
	n->queue_size = NET_QUEUE_SIZE;
	n->tap_fd = -1;
	n->tap_offload = -1;
	n->txw_tail = &n->txw;
	d->priv = n;
	return n;
}

static int net_parse_bool(const char *v, bool *out, const char *on,
			  const char *off)
{
	if (!strcmp(v, on) || !strcmp(v, "on") || !strcmp(v, "yes") ||
	    !strcmp(v, "true")) {
		*out = true;
		return 0;
	}
	if (!strcmp(v, off) || !strcmp(v, "off") || !strcmp(v, "no") ||
	    !strcmp(v, "false")) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}

static int net_parse_uint(const char *v, unsigned long min, unsigned long max,
			  unsigned long *out)
{
	char *end;

	if (*v < '0' || *v > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoul(v, &end, 10);
	if (errno || *end || *out < min || *out > max)
		return -EINVAL;
	return 0;
}

/* "52:54:00:12:34:56": six hex pairs; a unicast address, not zero. */
static int net_parse_mac(const char *v, uint8_t *mac)
{
	static const char hex[] = "0123456789abcdef";
	unsigned int i, j;

	if (strlen(v) != 17)
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		uint8_t b = 0;

		for (j = 0; j < 2; j++) {
			const char *h = memchr(hex, v[3 * i + j] | 0x20, 16);

			if (!v[3 * i + j] || !h)
				return -EINVAL;
			b = (uint8_t)(b << 4 | (h - hex));
		}
		if (i < 5 && v[3 * i + 2] != ':')
			return -EINVAL;
		mac[i] = b;
	}
	if (net_mac_multicast(mac) || !(mac[0] | mac[1] | mac[2] | mac[3] |
					 mac[4] | mac[5]))
		return -EINVAL;
	return 0;
}

static int net_set_name(char **dst, const char *v, size_t max)
{
	size_t i, len = strlen(v);

	if (!len || len >= max)
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (v[i] <= ' ' || v[i] == '/' || v[i] == ':' || v[i] > '~')
			return -EINVAL;
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : -ENOMEM;
}

static int net_set_prop(struct vab_dev *d, const char *key, const char *val)
{
	struct net *n = net_get(d);
	unsigned long v;
	int r;

	if (!n)
		return -ENOMEM;
	if (!strcmp(key, "mac")) {
		r = net_parse_mac(val, n->mac);
		n->mac_set = !r;
		return r;
	}
	if (!strcmp(key, "switch"))
		return net_set_name(&n->sw_name, val, NET_SWITCH_NAME_MAX);
	if (!strcmp(key, "tap"))
		return net_set_name(&n->tap_name, val, IFNAMSIZ);
	if (!strcmp(key, "link"))
		return net_parse_bool(val, &n->link_up, "up", "down");
	if (!strcmp(key, "offload"))
		return net_parse_bool(val, &n->offload, "on", "off");
	if (!strcmp(key, "mtu")) {
		r = net_parse_uint(val, NET_MTU_MIN, 65535, &v);
		if (!r)
			n->mtu = (uint16_t)v;
		return r;
	}
	if (!strcmp(key, "queue-size")) {
		r = net_parse_uint(val, 2, VIRTIO_ARGO_MAX_QUEUE_SIZE, &v);
		if (!r && (v & (v - 1)))
			r = -EINVAL;
		if (!r)
			n->queue_size = (uint16_t)v;
		return r;
	}
	return -ENOENT;
}

static void net_fill_config(struct vab_dev *d)
{
	struct net *n = net_of(d);

	memset(d->config, 0, sizeof(d->config));
	memcpy(d->config, n->mac, 6);
	vab_put16(d->config + 6, n->link_up ? VIRTIO_NET_S_LINK_UP : 0);
	vab_put16(d->config + 8, 1);		/* max_virtqueue_pairs */
	vab_put16(d->config + 10, n->mtu);
	d->config_len = NET_CONFIG_LEN;
}

static int net_realize(struct vab_dev *d)
{
	struct net *n = net_get(d);
	int r;

	if (!n)
		return -ENOMEM;
	if (!n->sw_name == !n->tap_name) {
		vab_log(VAB_LOG_ERROR,
			"%s: exactly one of switch=NAME and tap=IFNAME is required",
			d->name);
		return -EINVAL;
	}
	if (!n->mac_set) {
		/* Stable per frontend and device index, locally administered. */
		n->mac[0] = 0x52;
		n->mac[1] = 0x54;
		n->mac[2] = 0x00;
		n->mac[3] = (uint8_t)(d->fe->domid >> 8);
		n->mac[4] = (uint8_t)d->fe->domid;
		n->mac[5] = (uint8_t)d->index;
	}
	n->rx = calloc(n->queue_size, sizeof(*n->rx));
	if (!n->rx)
		return -ENOMEM;

	d->features_offered = 1ULL << VAB_F_VERSION_1 | NET_F(MAC) |
			      NET_F(STATUS) | NET_F(MTU);
	if (n->offload)
		d->features_offered |= NET_F_OFFLOADS;
	d->num_queues = 2;
	d->queue_max[NET_RXQ] = n->queue_size;
	d->queue_max[NET_TXQ] = n->queue_size;
	net_fill_config(d);

	if (n->sw_name) {
		r = net_sw_join(n);
		if (r) {
			vab_log(VAB_LOG_ERROR, "%s: switch %s: %s", d->name,
				n->sw_name, r == -EADDRINUSE ?
				"another port has the same MAC address" :
				strerror(-r));
			return r;
		}
	} else {
		r = net_tap_open(n);
		if (r)
			return r;
	}
	vab_log(VAB_LOG_INFO,
		"frontend %u: %s: %s %s, mac %02x:%02x:%02x:%02x:%02x:%02x, mtu %u, link %s, offloads %s",
		d->fe->domid, d->name, n->sw_name ? "switch" : "tap",
		n->sw_name ? n->sw_name : n->tap_name, n->mac[0], n->mac[1],
		n->mac[2], n->mac[3], n->mac[4], n->mac[5], n->mtu,
		n->link_up ? "up" : "down", n->offload ? "on" : "off");
	return 0;
}

static void net_bad(struct net *n, struct vab_chain *c, const char *why)
{
	vab_dev_malformed(n->d, "%s chain %u:%u (%u bytes out, %u in): %s",
			  c->queue == NET_RXQ ? "receive" : "transmit",
			  c->queue, c->id, c->out_len, c->in_len, why);
	vab_chain_complete(n->d, c, NULL, 0, 0, NULL, 0);
}

static void net_rx_hold(struct net *n, struct vab_chain *c)
{
	if (c->out_len) {
		n->st.rx_bad_chains++;
		net_bad(n, c, "driver-readable bytes");
		return;
	}
	if (c->in_len < NET_HDR + NET_ETH) {
		n->st.rx_bad_chains++;
		net_bad(n, c, "no room for a header and an Ethernet frame");
		return;
	}
	if (n->nrx >= n->queue_size) {
		/* Cannot be: no more chains than the queue's size. */
		net_bad(n, c, "more receive chains than the queue holds");
		return;
	}
	n->rx[n->nrx++] = c;
	net_tap_watch(n);
}

static void net_tx(struct net *n, struct vab_chain *c)
{
	uint64_t f = n->d->features;
	struct net_caps caps = {
		.csum = f & NET_F(CSUM),
		.tso4 = (f & NET_F(CSUM)) && (f & NET_F(HOST_TSO4)),
		.tso6 = (f & NET_F(CSUM)) && (f & NET_F(HOST_TSO6)),
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.max_plain = (uint32_t)n->mtu + NET_ETH + NET_VLAN,
	};
	struct net_frame fr;
	const char *why;

	if (c->in_len) {
		n->st.tx_bad++;
		net_bad(n, c, "device-writable bytes");
		return;
	}
	if (c->out_len < NET_HDR + NET_ETH) {
		n->st.tx_bad++;
		net_bad(n, c, "shorter than a header and an Ethernet header");
		return;
	}
	net_hdr_get(c->out, &fr);
	fr.eth = c->out + NET_HDR;
	fr.len = c->out_len - NET_HDR;
	why = net_frame_check(&fr, &caps);
	if (why) {
		n->st.tx_bad++;
		net_bad(n, c, why);
		return;
	}
	if (!n->link_up) {
		n->st.tx_dropped++;
		vab_chain_complete(n->d, c, NULL, 0, 0, NULL, 0);
		return;
	}
	if (n->tap_name) {
		net_tap_tx(n, c);
		return;
	}
	net_sw_forward(n, &fr);
	vab_chain_complete(n->d, c, NULL, 0, 0, NULL, 0);
}

static void net_request(struct vab_dev *d, struct vab_chain *c)
{
	struct net *n = net_of(d);

	if (n->tap_name)
		net_tap_offload(n, false);
	if (c->queue == NET_RXQ)
		net_rx_hold(n, c);
	else
		net_tx(n, c);
}

/* Chains held are the protocol's to free: forget them. */
static void net_reset(struct vab_dev *d)
{
	struct net *n = net_of(d);

	if (!n)
		return;
	n->nrx = 0;
	n->txw = NULL;
	n->txw_tail = &n->txw;
	n->ntxw = 0;
	if (n->tap_name) {
		net_tap_offload(n, true);
		net_tap_watch(n);
	}
}

/*
 * SIGTERM: give back every receive chain held (nothing written: the
 * driver counts a short frame and reposts it), write what waits for the
 * tap if it takes it now, drop the rest.  Called again for each chain
 * held from then on.
 */
static void net_stop(struct vab_dev *d)
{
	struct net *n = net_of(d);
	uint32_t i;

	if (!n)
		return;
	for (i = 0; i < n->nrx; i++)
		vab_chain_complete(d, n->rx[i], NULL, 0, 0, NULL, 0);
	n->nrx = 0;
	if (n->ntxw)
		net_tap_flush(n);
	while (n->txw) {
		struct vab_chain *c = n->txw;

		net_txw_pop(n);
		net_tap_tx_done(n, c, -ESHUTDOWN);
	}
	net_tap_watch(n);
}

static void net_destroy(struct vab_dev *d)
{
	struct net *n = net_of(d);

	if (!n)
		return;
	net_sw_leave(n);
	if (n->tap_fd >= 0) {
		if (n->tap_watched)
			vab_watch_del(d->b, n->tap_fd);
		close(n->tap_fd);
	}
	free(n->tap_buf);
	free(n->rx);
	free(n->sw_name);
	free(n->tap_name);
	free(n);
	d->priv = NULL;
}

const struct vab_dev_class vab_net_class = {
	.name = "net",
	.device_id = 1,		/* VIRTIO_ID_NET */
	.set_prop = net_set_prop,
	.realize = net_realize,
	.request = net_request,
	.reset = net_reset,
	.stop = net_stop,
	.destroy = net_destroy,
};

int vab_net_set_link(struct vab_dev *d, bool up)
{
	struct net *n;

	if (d->cls != &vab_net_class || !d->priv)
		return -EINVAL;
	n = net_of(d);
	if (n->link_up == up)
		return 0;
	n->link_up = up;
	vab_put16(d->config + 6, up ? VIRTIO_NET_S_LINK_UP : 0);
	vab_fe_log(d->fe, d, VAB_LOG_INFO, "link %s", up ? "up" : "down");
	if (n->tap_name)
		net_tap_watch(n);
	vab_dev_config_changed(d);
	return 0;
}

const struct vab_net_stats *vab_net_stats(struct vab_dev *d)
{
	if (d->cls != &vab_net_class || !d->priv)
		return NULL;
	return &net_of(d)->st;
}
