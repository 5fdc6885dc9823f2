// SPDX-License-Identifier: MIT
/*
 * virtio-argo-backend: virtio-blk (virtio 1.x, "Block Device"), backed by a
 * regular file or a block device.
 *
 *   --blk frontend=D,file=PATH[,readonly=on][,num-queues=N][,queue-size=N]
 *         [,serial=STR][,discard=on|off][,write-zeroes=on|off]
 *
 * A request is a chain whose driver-readable bytes start with the 16-byte
 * struct virtio_blk_outhdr (type, ioprio, sector) followed by the data of
 * a write or the segments of a discard/write-zeroes, and whose writable
 * bytes end with the status byte, after the data of a read or an id.
 * Framing is free (virtio 1.x has ANY_LAYOUT), so only the totals matter:
 * out_len and in_len.  Every field is checked: the data length of reads
 * and writes is a multiple of 512, every sector range lies within the
 * capacity (computed without overflow), segment counts and flags are
 * within what the configuration space announces.  A bad request gets
 * VIRTIO_BLK_S_IOERR (bad range or length, read-only device, I/O error)
 * or VIRTIO_BLK_S_UNSUPP (unknown type, feature not negotiated, bad
 * segment count or flags), as the specification says.
 *
 * I/O is synchronous (pread/pwrite/fallocate/fdatasync) in the event loop.
 *
 * Copyright (c) 2026 The virtio-argo authors
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/virtio_blk.h>

#include "backend.h"

#define BLK_SECTOR		512U
#define BLK_HDR			16U	/* struct virtio_blk_outhdr */
#define BLK_SEG			16U	/* struct virtio_blk_discard_write_zeroes */
#define BLK_QUEUE_SIZE		256
/*
 * Segments of at most 64 KiB, 254 of them: a request is at most 15.9 MiB,
 * below the protocol's 16 MiB chain limit, and has at most 256
 * descriptors (header and status included).
 */
#define BLK_SIZE_MAX		(64U << 10)
#define BLK_SEG_MAX		254U
#define BLK_MAX_DISCARD_SECTORS	0x400000U	/* 2 GiB per segment */
#define BLK_MAX_WZ_SECTORS	0x10000U	/* 32 MiB: may be written */
#define BLK_MAX_DWZ_SEG		16U
/* Configuration space offered: everything up to write_zeroes_may_unmap. */
#define BLK_CONFIG_LEN		offsetof(struct virtio_blk_config, unused1[3])

struct blk {
	char *path;
	int fd;
	bool readonly;
	bool discard;
	bool write_zeroes;
	bool is_bdev;
	uint16_t num_queues;
	uint16_t queue_size;
	char serial[VIRTIO_BLK_ID_BYTES];
	uint32_t blk_size;
	uint64_t capacity;		/* sectors */
	uint8_t *zeros;			/* BLK_ZERO_CHUNK of them, when needed */
};

#define BLK_ZERO_CHUNK		0x100000U	/* 1 MiB */

static struct blk *blk_of(struct vab_dev *d)
{
	return d->priv;
}

static int blk_parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true")) {
		*out = true;
		return 0;
	}
	if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false")) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}

static int blk_parse_u16(const char *v, unsigned int min, unsigned int max,
			 uint16_t *out)
{
	unsigned long n;
	char *end;

	if (*v < '0' || *v > '9')
		return -EINVAL;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || n < min || n > max)
		return -EINVAL;
	*out = (uint16_t)n;
	return 0;
}

static struct blk *blk_get(struct vab_dev *d)
{
	struct blk *b = d->priv;

	if (b)
		return b;
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->fd = -1;
	b->num_queues = 1;
	b->queue_size = BLK_QUEUE_SIZE;
	b->discard = true;
	b->write_zeroes = true;
	d->priv = b;
	return b;
}

static int blk_set_prop(struct vab_dev *d, const char *key, const char *val)
{
	struct blk *b = blk_get(d);

	if (!b)
		return -ENOMEM;
	if (!strcmp(key, "file")) {
		if (!*val)
			return -EINVAL;
		free(b->path);
		b->path = strdup(val);
		return b->path ? 0 : -ENOMEM;
	}
	if (!strcmp(key, "readonly"))
		return blk_parse_bool(val, &b->readonly);
	if (!strcmp(key, "discard"))
		return blk_parse_bool(val, &b->discard);
	if (!strcmp(key, "write-zeroes"))
		return blk_parse_bool(val, &b->write_zeroes);
	if (!strcmp(key, "num-queues"))
		return blk_parse_u16(val, 1, VIRTIO_ARGO_MAX_QUEUES,
				     &b->num_queues);
	if (!strcmp(key, "queue-size")) {
		int r = blk_parse_u16(val, 1, VIRTIO_ARGO_MAX_QUEUE_SIZE,
				      &b->queue_size);

		if (!r && (b->queue_size & (b->queue_size - 1)))
			r = -EINVAL;
		return r;
	}
	if (!strcmp(key, "serial")) {
		if (strlen(val) > VIRTIO_BLK_ID_BYTES)
			return -EINVAL;
		memset(b->serial, 0, sizeof(b->serial));
		memcpy(b->serial, val, strlen(val));
		return 0;
	}
	return -ENOENT;
}

/* Size of the backing store in bytes. */
static int blk_size_of(struct blk *b, uint64_t *bytes)
{
	struct stat st;

	if (fstat(b->fd, &st))
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(b->fd, BLKGETSIZE64, bytes))
			return -errno;
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return -ENOTBLK;
	*bytes = (uint64_t)st.st_size;
	return 0;
}

static void blk_fill_config(struct vab_dev *d)
{
	struct blk *b = blk_of(d);
	uint8_t *c = d->config;

#define BLK_CFG(field)	(c + offsetof(struct virtio_blk_config, field))
	memset(c, 0, sizeof(d->config));
	vab_put64(BLK_CFG(capacity), b->capacity);
	vab_put32(BLK_CFG(size_max), BLK_SIZE_MAX);
	vab_put32(BLK_CFG(seg_max), BLK_SEG_MAX);
	vab_put32(BLK_CFG(blk_size), b->blk_size);
	vab_put16(BLK_CFG(num_queues), b->num_queues);
	vab_put32(BLK_CFG(max_discard_sectors), BLK_MAX_DISCARD_SECTORS);
	vab_put32(BLK_CFG(max_discard_seg), BLK_MAX_DWZ_SEG);
	vab_put32(BLK_CFG(discard_sector_alignment), b->blk_size / BLK_SECTOR);
	vab_put32(BLK_CFG(max_write_zeroes_sectors), BLK_MAX_WZ_SECTORS);
	vab_put32(BLK_CFG(max_write_zeroes_seg), BLK_MAX_DWZ_SEG);
	*BLK_CFG(write_zeroes_may_unmap) = 1;
#undef BLK_CFG
	d->config_len = BLK_CONFIG_LEN;
}

static int blk_realize(struct vab_dev *d)
{
	struct blk *b = blk_get(d);
	uint64_t bytes;
	struct stat st;
	unsigned int i;
	int r, ssz;

	if (!b)
		return -ENOMEM;
	if (!b->path) {
		vab_log(VAB_LOG_ERROR, "%s: file= is required", d->name);
		return -EINVAL;
	}
	b->fd = open(b->path, (b->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0) {
		r = -errno;
		vab_log(VAB_LOG_ERROR, "%s: open %s: %s", d->name, b->path,
			strerror(-r));
		return r;
	}
	/* One writer per image, as qemu does: two would corrupt it. */
	if (flock(b->fd, (b->readonly ? LOCK_SH : LOCK_EX) | LOCK_NB)) {
		r = -errno;
		vab_log(VAB_LOG_ERROR, "%s: %s is in use (flock: %s)", d->name,
			b->path, strerror(-r));
		return r;
	}
	r = blk_size_of(b, &bytes);
	if (r) {
		vab_log(VAB_LOG_ERROR, "%s: %s: %s", d->name, b->path,
			r == -ENOTBLK ? "not a regular file or block device" :
			strerror(-r));
		return r;
	}
	b->blk_size = BLK_SECTOR;
	if (!fstat(b->fd, &st) && S_ISBLK(st.st_mode)) {
		b->is_bdev = true;
		if (!ioctl(b->fd, BLKSSZGET, &ssz) && ssz >= (int)BLK_SECTOR &&
		    ssz <= 65536 && !(ssz & (ssz - 1)))
			b->blk_size = (uint32_t)ssz;
	}
	b->capacity = bytes / BLK_SECTOR;
	if (bytes % BLK_SECTOR)
		vab_log(VAB_LOG_WARN,
			"%s: %s: the last %llu bytes are not a whole sector: unused",
			d->name, b->path,
			(unsigned long long)(bytes % BLK_SECTOR));

	d->features_offered = 1ULL << VAB_F_VERSION_1 |
			      1ULL << VIRTIO_BLK_F_SIZE_MAX |
			      1ULL << VIRTIO_BLK_F_SEG_MAX |
			      1ULL << VIRTIO_BLK_F_BLK_SIZE |
			      1ULL << VIRTIO_BLK_F_FLUSH |
			      1ULL << VIRTIO_BLK_F_MQ;
	if (b->readonly)
		d->features_offered |= 1ULL << VIRTIO_BLK_F_RO;
	if (b->discard && !b->readonly)
		d->features_offered |= 1ULL << VIRTIO_BLK_F_DISCARD;
	if (b->write_zeroes && !b->readonly)
		d->features_offered |= 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
	d->num_queues = b->num_queues;
	for (i = 0; i < b->num_queues; i++)
		d->queue_max[i] = b->queue_size;
	blk_fill_config(d);
	vab_log(VAB_LOG_INFO,
		"frontend %u: %s: %s, %llu sectors%s, %u queue%s of %u",
		d->fe->domid, d->name, b->path,
		(unsigned long long)b->capacity,
		b->readonly ? ", read-only" : "", b->num_queues,
		b->num_queues == 1 ? "" : "s", b->queue_size);
	return 0;
}

/* [sector, sector + bytes / 512) lies within the disk; no overflow. */
static bool blk_range_ok(const struct blk *b, uint64_t sector, uint64_t bytes)
{
	uint64_t n = bytes / BLK_SECTOR;

	return sector <= b->capacity && n <= b->capacity - sector;
}

static int blk_pread(struct blk *b, uint8_t *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pread(b->fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return -EIO;	/* shrunk under us */
		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int blk_pwrite(struct blk *b, const uint8_t *buf, size_t len,
		      uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(b->fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return -EIO;
		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int blk_zero(struct blk *b, uint64_t off, uint64_t len, bool unmap)
{
	int r;

	if (unmap && !fallocate(b->fd, FALLOC_FL_PUNCH_HOLE |
				FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len))
		return 0;
	if (!fallocate(b->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
		       (off_t)off, (off_t)len))
		return 0;
	if (errno != EOPNOTSUPP && errno != EINVAL && errno != ENODEV)
		return -errno;
	/* Neither: write them. */
	if (!b->zeros) {
		b->zeros = calloc(1, BLK_ZERO_CHUNK);
		if (!b->zeros)
			return -ENOMEM;
	}
	while (len) {
		size_t n = len < BLK_ZERO_CHUNK ? (size_t)len : BLK_ZERO_CHUNK;

		r = blk_pwrite(b, b->zeros, n, off);
		if (r)
			return r;
		off += n;
		len -= n;
	}
	return 0;
}

static int blk_discard(struct blk *b, uint64_t off, uint64_t len)
{
	uint64_t range[2] = { off, len };
	int r;

	if (b->is_bdev)
		r = ioctl(b->fd, BLKDISCARD, range);
	else
		r = fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      (off_t)off, (off_t)len);
	/* A discard is a hint: a store that cannot do it has done enough. */
	if (r && errno != EOPNOTSUPP && errno != ENOTTY)
		return -errno;
	return 0;
}

/* DISCARD and WRITE_ZEROES: @segs are the segments after the header. */
static uint8_t blk_dwz(struct vab_dev *d, bool wz, const uint8_t *segs,
		       uint32_t len)
{
	struct blk *b = blk_of(d);
	uint32_t n = len / BLK_SEG, i, max_sectors;
	int r;

	if (!(d->features & (1ULL << (wz ? VIRTIO_BLK_F_WRITE_ZEROES :
				      VIRTIO_BLK_F_DISCARD))))
		return VIRTIO_BLK_S_UNSUPP;
	if (b->readonly)
		return VIRTIO_BLK_S_IOERR;
	if (!n || len % BLK_SEG || n > BLK_MAX_DWZ_SEG) {
		vab_fe_log(d->fe, d, VAB_LOG_WARN,
			   "bad request: %s with %u bytes of segments",
			   wz ? "WRITE_ZEROES" : "DISCARD", len);
		return VIRTIO_BLK_S_UNSUPP;
	}
	max_sectors = wz ? BLK_MAX_WZ_SECTORS : BLK_MAX_DISCARD_SECTORS;
	/* Check all segments before touching the disk. */
	for (i = 0; i < n; i++) {
		const uint8_t *s = segs + i * BLK_SEG;
		uint64_t sector = vab_get64(s);
		uint32_t num = vab_get32(s + 8), flags = vab_get32(s + 12);

		if ((flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) ||
		    (!wz && flags))
			return VIRTIO_BLK_S_UNSUPP;
		if (num > max_sectors ||
		    !blk_range_ok(b, sector, (uint64_t)num * BLK_SECTOR)) {
			vab_fe_log(d->fe, d, VAB_LOG_WARN,
				   "bad request: %s of %u sectors at %llu (capacity %llu)",
				   wz ? "WRITE_ZEROES" : "DISCARD", num,
				   (unsigned long long)sector,
				   (unsigned long long)b->capacity);
			return VIRTIO_BLK_S_IOERR;
		}
	}
	for (i = 0; i < n; i++) {
		const uint8_t *s = segs + i * BLK_SEG;
		uint64_t off = vab_get64(s) * BLK_SECTOR;
		uint64_t bytes = (uint64_t)vab_get32(s + 8) * BLK_SECTOR;

		if (!bytes)
			continue;
		if (wz)
			r = blk_zero(b, off, bytes, vab_get32(s + 12) &
				     VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
		else
			r = blk_discard(b, off, bytes);
		if (r) {
			vab_fe_log(d->fe, d, VAB_LOG_ERROR, "%s: %s",
				   wz ? "write zeroes" : "discard",
				   strerror(-r));
			return VIRTIO_BLK_S_IOERR;
		}
	}
	return VIRTIO_BLK_S_OK;
}

static void blk_done(struct vab_dev *d, struct vab_chain *c, uint8_t *in,
		     uint32_t in_len, uint8_t status)
{
	vab_chain_complete(d, c, in, in_len, c->in_len, &status, 1);
}

static void blk_request(struct vab_dev *d, struct vab_chain *c)
{
	struct blk *b = blk_of(d);
	uint32_t type, dlen;
	uint64_t sector;
	uint8_t *buf;
	int r;

	if (!c->in_len) {
		/* Nowhere to put a status: nothing the driver can learn. */
		vab_fe_log(d->fe, d, VAB_LOG_WARN,
			   "bad request: chain %u:%u has no writable byte",
			   c->queue, c->id);
		vab_chain_complete(d, c, NULL, 0, 0, NULL, 0);
		return;
	}
	if (c->out_len < BLK_HDR) {
		vab_fe_log(d->fe, d, VAB_LOG_WARN,
			   "bad request: chain %u:%u has %u readable bytes",
			   c->queue, c->id, c->out_len);
		blk_done(d, c, NULL, 0, VIRTIO_BLK_S_IOERR);
		return;
	}
	type = vab_get32(c->out);
	sector = vab_get64(c->out + 8);
	dlen = c->in_len - 1;

	switch (type) {
	case VIRTIO_BLK_T_IN:
		if (c->out_len != BLK_HDR || dlen % BLK_SECTOR ||
		    !blk_range_ok(b, sector, dlen))
			goto bad;
		buf = malloc(dlen ? dlen : 1);
		if (!buf) {
			blk_done(d, c, NULL, 0, VIRTIO_BLK_S_IOERR);
			return;
		}
		r = blk_pread(b, buf, dlen, sector * BLK_SECTOR);
		if (r) {
			free(buf);
			vab_fe_log(d->fe, d, VAB_LOG_ERROR,
				   "read %u bytes at sector %llu: %s", dlen,
				   (unsigned long long)sector, strerror(-r));
			blk_done(d, c, NULL, 0, VIRTIO_BLK_S_IOERR);
			return;
		}
		blk_done(d, c, buf, dlen, VIRTIO_BLK_S_OK);
		return;
	case VIRTIO_BLK_T_OUT:
		dlen = c->out_len - BLK_HDR;
		if (b->readonly) {
			blk_done(d, c, NULL, 0, VIRTIO_BLK_S_IOERR);
			return;
		}
		if (dlen % BLK_SECTOR || !blk_range_ok(b, sector, dlen))
			goto bad;
		r = blk_pwrite(b, c->out + BLK_HDR, dlen, sector * BLK_SECTOR);
		if (r)
			vab_fe_log(d->fe, d, VAB_LOG_ERROR,
				   "write %u bytes at sector %llu: %s", dlen,
				   (unsigned long long)sector, strerror(-r));
		blk_done(d, c, NULL, 0, r ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
		return;
	case VIRTIO_BLK_T_FLUSH:
		r = fdatasync(b->fd) ? -errno : 0;
		if (r)
			vab_fe_log(d->fe, d, VAB_LOG_ERROR, "flush: %s",
				   strerror(-r));
		blk_done(d, c, NULL, 0, r ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
		return;
	case VIRTIO_BLK_T_GET_ID:
		if (c->out_len != BLK_HDR)
			goto bad;
		dlen = dlen < VIRTIO_BLK_ID_BYTES ? dlen : VIRTIO_BLK_ID_BYTES;
		buf = malloc(VIRTIO_BLK_ID_BYTES);
		if (!buf) {
			blk_done(d, c, NULL, 0, VIRTIO_BLK_S_IOERR);
			return;
		}
		memcpy(buf, b->serial, VIRTIO_BLK_ID_BYTES);
		blk_done(d, c, buf, dlen, VIRTIO_BLK_S_OK);
		return;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		blk_done(d, c, NULL, 0,
			 blk_dwz(d, type == VIRTIO_BLK_T_WRITE_ZEROES,
				 c->out + BLK_HDR, c->out_len - BLK_HDR));
		return;
	default:
		blk_done(d, c, NULL, 0, VIRTIO_BLK_S_UNSUPP);
		return;
	}
bad:
	vab_fe_log(d->fe, d, VAB_LOG_WARN,
		   "bad request: type %u sector %llu, %u bytes out, %u in (capacity %llu)",
		   type, (unsigned long long)sector, c->out_len, c->in_len,
		   (unsigned long long)b->capacity);
	blk_done(d, c, NULL, 0, VIRTIO_BLK_S_IOERR);
}

static void blk_fail(struct vab_dev *d, struct vab_chain *c)
{
	if (c->in_len)
		blk_done(d, c, NULL, 0, VIRTIO_BLK_S_IOERR);
	else
		vab_chain_complete(d, c, NULL, 0, 0, NULL, 0);
}

static int blk_flush(struct vab_dev *d)
{
	struct blk *b = blk_of(d);

	if (b->readonly || b->fd < 0)
		return 0;
	return fdatasync(b->fd) ? -errno : 0;
}

static void blk_refresh(struct vab_dev *d)
{
	struct blk *b = blk_of(d);
	uint64_t bytes;

	if (blk_size_of(b, &bytes) || bytes / BLK_SECTOR == b->capacity)
		return;
	vab_log(VAB_LOG_INFO, "frontend %u: %s: capacity %llu -> %llu sectors",
		d->fe->domid, d->name, (unsigned long long)b->capacity,
		(unsigned long long)(bytes / BLK_SECTOR));
	b->capacity = bytes / BLK_SECTOR;
	vab_put64(d->config + offsetof(struct virtio_blk_config, capacity),
		  b->capacity);
	vab_dev_config_changed(d);
}

static void blk_destroy(struct vab_dev *d)
{
	struct blk *b = blk_of(d);

	if (!b)
		return;
	if (b->fd >= 0)
		close(b->fd);
	free(b->path);
	free(b->zeros);
	free(b);
	d->priv = NULL;
}

const struct vab_dev_class vab_blk_class = {
	.name = "blk",
	.device_id = 2,		/* VIRTIO_ID_BLOCK */
	.set_prop = blk_set_prop,
	.realize = blk_realize,
	.request = blk_request,
	.fail = blk_fail,
	.flush = blk_flush,
	.refresh = blk_refresh,
	.destroy = blk_destroy,
};
