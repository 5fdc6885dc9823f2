// SPDX-License-Identifier: MIT
/*
 * virtio-argo-backend: the configuration file (--config FILE).
 *
 * One device per line, as on the command line without the dashes:
 *
 *   # disks of domain 1
 *   blk frontend=1,file=/srv/vm1.img,id=root
 *   blk frontend=1,file=/srv/data,,2.img
 *   rng frontend=2,rate=4K
 *
 * CLASS, blanks, then the properties (options.c: "key=value,...", ",,"
 * a comma in a value) up to the end of the line, trailing blanks removed.
 * A line whose first non-blank character is '#' is a comment; blank
 * lines are ignored.  Lines are at most VAB_CFG_LINE_MAX bytes.
 *
 * At start the file's devices are added after the command line's.  On
 * SIGHUP (vab_config_reload()) the file is read again and compared with
 * the devices that came from it: a device is the same when its class and
 * properties are (in any order: vab_device_spec()); devices new in the
 * file are added, devices no longer in it removed (removals first, so
 * that a changed device can take its file, socket or tap back), the others
 * are not touched.  A file with an error, found while reading it or while
 * adding a device, is rejected as a whole: the error is logged with its
 * line, devices added by the reload are removed again and devices it
 * removed are added back at their indexes with their ids.  Devices of the
 * command line and of the control socket are never touched by a reload.
 *
 * Copyright (c) 2026 The virtio-argo authors
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "options.h"

#define VAB_CFG_LINE_MAX	4096
#define VAB_CFG_MAX_DEVICES	(VAB_MAX_FRONTENDS * VIRTIO_ARGO_MAX_DEVICES)

struct vab_config {
	char *path;
};

/* One device of the file. */
struct vab_cfg_dev {
	unsigned int line;
	const struct vab_dev_class *cls;
	char *props;
	char *spec;
	char id[VAB_ID_MAX + 1];	/* id= given, or "" */
	bool kept;			/* the same device runs already */
};

/* A device a reload removed: enough to add it back as it was. */
struct vab_cfg_gone {
	const struct vab_dev_class *cls;
	char *spec;
	char name[VAB_ID_MAX + 1];
	uint32_t index;
};

static void vab_cfg_free(struct vab_cfg_dev *devs, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		free(devs[i].props);
		free(devs[i].spec);
	}
	free(devs);
}

static bool vab_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	       c == '\f';
}

/*
 * Read @path into *@out (*@n devices), checking everything that can be
 * checked without making a device.  0, or -1 after logging the line.
 */
static int vab_cfg_read(struct vab *b, const char *path,
			struct vab_cfg_dev **out, unsigned int *n)
{
	struct vab_cfg_dev *devs = NULL;
	unsigned int ndevs = 0, cap = 0, lineno = 0, i;
	char *line = NULL, where[VAB_CFG_LINE_MAX];
	size_t linecap = 0;
	ssize_t len;
	FILE *f;
	int r = -1;

	f = fopen(path, "re");
	if (!f) {
		vab_log(VAB_LOG_ERROR, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &linecap, f)) >= 0) {
		struct vab_cfg_dev *d;
		char *s = line, *e, *cls;

		lineno++;
		if ((size_t)len != strlen(line)) {
			vab_log(VAB_LOG_ERROR, "%s:%u: a NUL byte", path, lineno);
			goto out;
		}
		if (len > VAB_CFG_LINE_MAX) {
			vab_log(VAB_LOG_ERROR, "%s:%u: longer than %u bytes",
				path, lineno, VAB_CFG_LINE_MAX);
			goto out;
		}
		while (vab_blank(*s))
			s++;
		e = s + strlen(s);
		while (e > s && vab_blank(e[-1]))
			*--e = '\0';
		if (!*s || *s == '#')
			continue;
		cls = s;
		while (*s && !vab_blank(*s))
			s++;
		if (*s)
			*s++ = '\0';
		while (vab_blank(*s))
			s++;
		if (ndevs == VAB_CFG_MAX_DEVICES) {
			vab_log(VAB_LOG_ERROR, "%s:%u: more than %u devices",
				path, lineno, VAB_CFG_MAX_DEVICES);
			goto out;
		}
		if (ndevs == cap) {
			cap = cap ? 2 * cap : 16;
			d = realloc(devs, cap * sizeof(*devs));
			if (!d) {
				vab_log(VAB_LOG_ERROR, "%s: out of memory", path);
				goto out;
			}
			devs = d;
		}
		d = &devs[ndevs];
		memset(d, 0, sizeof(*d));
		d->line = lineno;
		d->cls = vab_class_find(cls);
		if (!d->cls) {
			vab_log(VAB_LOG_ERROR,
				"%s:%u: %s: not a device class (blk, net, rng, console)",
				path, lineno, cls);
			goto out;
		}
		snprintf(where, sizeof(where), "%s:%u: %s", path, lineno, cls);
		if (!*s) {
			vab_log(VAB_LOG_ERROR, "%s: no properties", where);
			goto out;
		}
		if (vab_check_device(b, d->cls, s, where, NULL, d->id))
			goto out;
		d->props = strdup(s);
		d->spec = vab_device_spec(d->cls, s);
		ndevs++;
		if (!d->props || !d->spec) {
			vab_log(VAB_LOG_ERROR, "%s: out of memory", path);
			goto out;
		}
		for (i = 0; *d->id && i + 1 < ndevs; i++) {
			if (!strcmp(devs[i].id, d->id)) {
				vab_log(VAB_LOG_ERROR,
					"%s: id=%s is also on line %u", where,
					d->id, devs[i].line);
				goto out;
			}
		}
	}
	if (ferror(f)) {
		vab_log(VAB_LOG_ERROR, "%s: %s", path, strerror(errno));
		goto out;
	}
	r = 0;
out:
	fclose(f);
	free(line);
	if (r) {
		vab_cfg_free(devs, ndevs);
		devs = NULL;
		ndevs = 0;
	}
	*out = devs;
	*n = ndevs;
	return r;
}

static struct vab_dev *vab_cfg_add(struct vab *b, const char *path,
				   const struct vab_cfg_dev *c)
{
	char where[VAB_CFG_LINE_MAX];

	snprintf(where, sizeof(where), "%s:%u: %s", path, c->line,
		 c->cls->name);
	return vab_create_device(b, c->cls, c->props, where, VAB_FROM_CONFIG,
				 -1, NULL);
}

int vab_config_load(struct vab *b, const char *path)
{
	struct vab_cfg_dev *devs;
	unsigned int n, i;

	if (b->config) {
		vab_log(VAB_LOG_ERROR, "--config given twice");
		return -1;
	}
	b->config = calloc(1, sizeof(*b->config));
	if (b->config)
		b->config->path = strdup(path);
	if (!b->config || !b->config->path) {
		vab_log(VAB_LOG_ERROR, "out of memory");
		return -1;
	}
	if (vab_cfg_read(b, path, &devs, &n))
		return -1;
	for (i = 0; i < n; i++)
		if (!vab_cfg_add(b, path, &devs[i]))
			break;
	vab_cfg_free(devs, n);
	return i == n ? 0 : -1;
}

/* Every device that came from the file, in *@out (to free); their number. */
static unsigned int vab_cfg_running(struct vab *b, struct vab_dev ***out)
{
	struct vab_dev **v;
	unsigned int n = 0;
	uint32_t f, i;

	for (f = 0; f < b->nfes; f++)
		n += b->fes[f]->ndevs;
	v = calloc(n + 1, sizeof(*v));
	*out = v;
	if (!v)
		return 0;
	n = 0;
	for (f = 0; f < b->nfes; f++)
		for (i = 0; i < b->fes[f]->ndevs; i++)
			if (b->fes[f]->devs[i]->origin == VAB_FROM_CONFIG)
				v[n++] = b->fes[f]->devs[i];
	return n;
}

int vab_config_reload(struct vab *b)
{
	struct vab_dev **old = NULL, **added = NULL;
	struct vab_cfg_gone *gone = NULL;
	struct vab_cfg_dev *devs = NULL;
	unsigned int n = 0, nold, ngone = 0, nadded = 0, i, j;
	const char *path;
	int r = -1;

	if (!b->config)
		return 0;
	path = b->config->path;
	if (vab_cfg_read(b, path, &devs, &n))
		goto rejected;
	nold = vab_cfg_running(b, &old);
	gone = calloc(nold + 1, sizeof(*gone));
	added = calloc(n + 1, sizeof(*added));
	if (!old || !gone || !added) {
		vab_log(VAB_LOG_ERROR, "%s: out of memory", path);
		goto rejected;
	}
	/* The same class and properties: the same device, left alone. */
	for (i = 0; i < n; i++) {
		for (j = 0; j < nold; j++) {
			if (old[j] && !strcmp(old[j]->spec, devs[i].spec)) {
				devs[i].kept = true;
				old[j] = NULL;
				break;
			}
		}
	}
	/* An id may be taken only by a device this reload removes. */
	for (i = 0; i < n; i++) {
		struct vab_dev *d;

		if (devs[i].kept || !*devs[i].id)
			continue;
		d = vab_dev_find(b, devs[i].id);
		for (j = 0; d && j < nold; j++)
			if (old[j] == d)
				d = NULL;
		if (d) {
			vab_log(VAB_LOG_ERROR,
				"%s:%u: id=%s is taken by a device that stays",
				path, devs[i].line, devs[i].id);
			goto rejected;
		}
	}

	for (j = 0; j < nold; j++) {
		struct vab_cfg_gone *g;

		if (!old[j])
			continue;
		g = &gone[ngone];
		g->spec = old[j]->spec;
		old[j]->spec = NULL;		/* ours now */
		g->cls = old[j]->cls;
		g->index = old[j]->index;
		memcpy(g->name, old[j]->name, sizeof(g->name));
		ngone++;
		vab_dev_remove(old[j]);
	}
	for (i = 0; i < n; i++) {
		if (devs[i].kept)
			continue;
		added[nadded] = vab_cfg_add(b, path, &devs[i]);
		if (!added[nadded])
			goto undo;
		nadded++;
	}
	vab_log(VAB_LOG_INFO, "%s: reloaded: %u added, %u removed, %u unchanged",
		path, nadded, ngone, n - nadded);
	r = 0;
	goto out;

undo:
	/* Back to the devices there were, at their indexes, with their ids. */
	while (nadded--)
		vab_dev_remove(added[nadded]);
	for (j = 0; j < ngone; j++) {
		const char *props = gone[j].spec + strlen(gone[j].cls->name) + 1;
		char where[64];

		snprintf(where, sizeof(where), "%s: putting %s back", path,
			 gone[j].name);
		vab_create_device(b, gone[j].cls, props, where, VAB_FROM_CONFIG,
				  (int)gone[j].index, gone[j].name);
	}
rejected:
	vab_log(VAB_LOG_ERROR, "%s: not reloaded: the devices stay as they were",
		path);
out:
	for (j = 0; gone && j < ngone; j++)
		free(gone[j].spec);
	free(gone);
	free(added);
	free(old);
	vab_cfg_free(devs, n);
	return r;
}

void vab_config_free(struct vab *b)
{
	if (!b->config)
		return;
	free(b->config->path);
	free(b->config);
	b->config = NULL;
}
