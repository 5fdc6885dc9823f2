// SPDX-License-Identifier: MIT
/*
 * libargo: thin C wrappers around /dev/argo.  See libargo.h.
 *
 * Copyright (c) 2026 The virtio-argo authors
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "libargo.h"

int argo_open(int flags)
{
	return open(ARGO_DEV_PATH, O_RDWR | O_CLOEXEC | flags);
}

int argo_bind(int fd, uint16_t domain, uint32_t port, uint16_t partner,
	      uint32_t ring_size)
{
	struct argo_dev_bind b;

	memset(&b, 0, sizeof(b));
	b.port = port;
	b.partner = partner;
	b.domain = domain;
	b.ring_size = ring_size;
	return ioctl(fd, ARGO_DEV_IOC_BIND, &b);
}

int argo_bind_any_port(int fd, uint16_t domain, uint16_t partner,
		       uint32_t ring_size, uint32_t *port)
{
	struct timespec ts;
	unsigned int seed;
	int i;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	seed = (unsigned int)ts.tv_nsec ^ (unsigned int)getpid() << 16;
	for (i = 0; i < 64; i++) {
		uint32_t p = 0x40000000u | (rand_r(&seed) & 0x3fffffffu);

		if (!argo_bind(fd, domain, p, partner, ring_size)) {
			*port = p;
			return 0;
		}
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

void argo_msg_init(struct argo_dev_msg *m, uint16_t domain, uint32_t port,
		   uint32_t type, const void *buf, size_t len)
{
	memset(m, 0, sizeof(*m));
	m->buf = (uint64_t)(uintptr_t)buf;
	m->len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
	m->type = type;
	m->port = port;
	m->domain = domain;
}

ssize_t argo_send(int fd, uint16_t domain, uint32_t port, uint32_t type,
		  const void *buf, size_t len)
{
	struct argo_dev_msg m;

	if (len > ARGO_DEV_MAX_MSG_SIZE) {
		errno = EMSGSIZE;
		return -1;
	}
	argo_msg_init(&m, domain, port, type, buf, len);
	return ioctl(fd, ARGO_DEV_IOC_SEND, &m);
}

ssize_t argo_recv(int fd, void *buf, size_t cap, struct argo_msg_info *info)
{
	struct argo_dev_msg m;
	int ret, err;

	argo_msg_init(&m, 0, 0, 0, buf, cap);
	ret = ioctl(fd, ARGO_DEV_IOC_RECV, &m);
	err = errno;
	if (info && (ret >= 0 || err == EMSGSIZE)) {
		info->domain = m.domain;
		info->port = m.port;
		info->type = m.type;
		info->len = m.len;
	}
	errno = err;
	return ret;
}

static int argo_batch(int fd, unsigned long cmd, struct argo_dev_msg *msgs,
		      unsigned int count)
{
	struct argo_dev_batch b;

	memset(&b, 0, sizeof(b));
	b.msgs = (uint64_t)(uintptr_t)msgs;
	b.count = count;
	return ioctl(fd, cmd, &b);
}

int argo_sendv(int fd, struct argo_dev_msg *msgs, unsigned int count)
{
	return argo_batch(fd, ARGO_DEV_IOC_SENDV, msgs, count);
}

int argo_recvv(int fd, struct argo_dev_msg *msgs, unsigned int count)
{
	return argo_batch(fd, ARGO_DEV_IOC_RECVV, msgs, count);
}

int argo_poll(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int ret;

	do
		ret = poll(&p, 1, timeout_ms);
	while (ret < 0 && errno == EINTR && timeout_ms < 0);
	if (ret <= 0)
		return ret;
	return p.revents;
}

int argo_set_nonblock(int fd, bool nonblock)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	fl = nonblock ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, fl);
}

int argo_max_msg_size(int fd, uint16_t domain, uint32_t port, uint32_t *max)
{
	struct argo_dev_max_size q;

	memset(&q, 0, sizeof(q));
	q.domain = domain;
	q.port = port;
	if (ioctl(fd, ARGO_DEV_IOC_MAX_MSG_SIZE, &q))
		return -1;
	*max = q.max_size;
	return 0;
}

int argo_info(int fd, struct argo_dev_info *info)
{
	return ioctl(fd, ARGO_DEV_IOC_INFO, info);
}

int argo_stats(int fd, struct argo_dev_stats *stats)
{
	return ioctl(fd, ARGO_DEV_IOC_STATS, stats);
}

static int argo_parse_ulong(const char *s, unsigned long max,
			    unsigned long *val)
{
	unsigned long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+') {
		errno = EINVAL;
		return -1;
	}
	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || v > max) {
		errno = EINVAL;
		return -1;
	}
	*val = v;
	return 0;
}

int argo_parse_domain(const char *s, unsigned int special, uint16_t *domain)
{
	unsigned long v;

	if ((special & ARGO_PARSE_SELF) && s && !strcmp(s, "self")) {
		*domain = ARGO_DEV_DOMID_SELF;
		return 0;
	}
	if ((special & ARGO_PARSE_ANY) && s && !strcmp(s, "any")) {
		*domain = ARGO_DEV_DOMID_ANY;
		return 0;
	}
	if (argo_parse_ulong(s, ARGO_DEV_DOMID_FIRST_RESERVED - 1, &v))
		return -1;
	*domain = (uint16_t)v;
	return 0;
}

int argo_parse_port(const char *s, uint32_t *port)
{
	unsigned long v;

	if (argo_parse_ulong(s, UINT32_MAX, &v))
		return -1;
	*port = (uint32_t)v;
	return 0;
}

int argo_parse_addr(const char *s, uint16_t *domain, uint32_t *port)
{
	const char *colon = s ? strchr(s, ':') : NULL;
	char dom[16];
	size_t n;

	if (!colon) {
		errno = EINVAL;
		return -1;
	}
	n = (size_t)(colon - s);
	if (n == 0 || n >= sizeof(dom)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(dom, s, n);
	dom[n] = '\0';
	if (argo_parse_domain(dom, 0, domain))
		return -1;
	return argo_parse_port(colon + 1, port);
}
