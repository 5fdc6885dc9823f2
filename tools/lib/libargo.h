/* SPDX-License-Identifier: MIT */
/*
 * libargo: thin C wrappers around /dev/argo (include/uapi/argo/argo_dev.h).
 *
 * Every function returns -1 and sets errno on failure, like the system
 * calls underneath; the errno values are those of the ioctls, documented
 * in Documentation/argo-dev.rst.  Nothing is allocated or hidden: a file
 * descriptor is the endpoint.
 *
 * Copyright (c) 2026 The virtio-argo authors
 */
#ifndef LIBARGO_H
#define LIBARGO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <argo/argo_dev.h>

#define ARGO_DEV_PATH	"/dev/argo"

/* Where a received message came from, and what it is. */
struct argo_msg_info {
	uint16_t domain;	/* stamped by the hypervisor: trustworthy */
	uint32_t port;		/* the sender's label */
	uint32_t type;
	uint32_t len;		/* payload; on EMSGSIZE, the length needed */
};

/* Open /dev/argo (O_RDWR | O_CLOEXEC | @flags, e.g. O_NONBLOCK): an fd. */
int argo_open(int flags);

/* ARGO_DEV_IOC_BIND; @domain ARGO_DEV_DOMID_SELF unless on loopback. */
int argo_bind(int fd, uint16_t domain, uint32_t port, uint16_t partner,
	      uint32_t ring_size);

/*
 * Bind to a free port chosen at random in [0x40000000, 0x7fffffff], retrying
 * while the port is taken; the port is stored in *@port.
 */
int argo_bind_any_port(int fd, uint16_t domain, uint16_t partner,
		       uint32_t ring_size, uint32_t *port);

/* One message; returns the payload length sent. */
ssize_t argo_send(int fd, uint16_t domain, uint32_t port, uint32_t type,
		  const void *buf, size_t len);

/*
 * One message into @buf of @cap bytes; returns its length and fills @info
 * (may be NULL).  EMSGSIZE: the message is bigger than @cap and stays in
 * the ring; info->len says how big it is.
 */
ssize_t argo_recv(int fd, void *buf, size_t cap, struct argo_msg_info *info);

/* Batches: return how many messages were done (see argo_dev_batch). */
int argo_sendv(int fd, struct argo_dev_msg *msgs, unsigned int count);
int argo_recvv(int fd, struct argo_dev_msg *msgs, unsigned int count);

/* Fill a descriptor for argo_sendv/argo_recvv. */
void argo_msg_init(struct argo_dev_msg *m, uint16_t domain, uint32_t port,
		   uint32_t type, const void *buf, size_t len);

/*
 * poll(2) on one endpoint for @events (POLLIN, POLLOUT) up to @timeout_ms
 * (-1: forever).  Returns the revents (0 on timeout).
 */
int argo_poll(int fd, short events, int timeout_ms);

/* Set or clear O_NONBLOCK. */
int argo_set_nonblock(int fd, bool nonblock);

int argo_max_msg_size(int fd, uint16_t domain, uint32_t port, uint32_t *max);
int argo_info(int fd, struct argo_dev_info *info);
int argo_stats(int fd, struct argo_dev_stats *stats);

/*
 * Parse a domain id: a number below ARGO_DEV_DOMID_FIRST_RESERVED, or
 * "self" / "any" when @special allows it.  Returns 0 or -1 (EINVAL).
 */
#define ARGO_PARSE_SELF	0x1
#define ARGO_PARSE_ANY	0x2
int argo_parse_domain(const char *s, unsigned int special, uint16_t *domain);
int argo_parse_port(const char *s, uint32_t *port);
/* "DOMAIN:PORT" */
int argo_parse_addr(const char *s, uint16_t *domain, uint32_t *port);

#endif /* LIBARGO_H */
