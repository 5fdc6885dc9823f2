// SPDX-License-Identifier: MIT
/*
 * virtio-argo-backend: device options, in the style of qemu-storage-daemon:
 *
 *   --CLASS key=value,key=value,...
 *
 * A value runs to the next single comma; ",," stands for a comma in a
 * value (as in qemu), so a file name may contain commas.  A key given
 * without "=value" means "on".  frontend=D is required and names the
 * frontend domain the device is offered to; ring-size=BYTES and
 * max-memory=BYTES are common to all classes; the rest belongs to the
 * class (see blk.c).  Every key may appear once.
 *
 * Copyright (c) 2026 The virtio-argo authors
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <argo/argo_dev.h>

#include "backend.h"
#include "options.h"

#define VAB_MAX_PROPS	32

struct vab_prop {
	char *key;
	char *val;
};

/* Split @s (modified in place) into props; returns their number or -1. */
static int vab_split_props(char *s, struct vab_prop *props, int max,
			   const char *opt)
{
	int n = 0;

	while (*s) {
		char *key = s, *val, *w;

		while (*s && *s != '=' && *s != ',')
			s++;
		if (s == key) {
			vab_log(VAB_LOG_ERROR, "--%s: empty property name", opt);
			return -1;
		}
		if (*s == '=') {
			*s++ = '\0';
			val = s;
			w = s;
			while (*s && (*s != ',' || s[1] == ',')) {
				if (*s == ',')
					s++;	/* ",," is a comma */
				*w++ = *s++;
			}
			if (*s)
				s++;
			*w = '\0';
		} else {
			if (*s)
				*s++ = '\0';
			val = "on";
		}
		if (n == max) {
			vab_log(VAB_LOG_ERROR, "--%s: too many properties", opt);
			return -1;
		}
		props[n].key = key;
		props[n++].val = val;
	}
	return n;
}

static int vab_parse_domid(const char *s, uint16_t *domid)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || v >= ARGO_DEV_DOMID_FIRST_RESERVED)
		return -1;
	*domid = (uint16_t)v;
	return 0;
}

int vab_add_device(struct vab *b, const struct vab_dev_class *cls,
		   const char *arg)
{
	struct vab_prop props[VAB_MAX_PROPS];
	const char *opt = cls->name;
	uint16_t fe = 0;
	bool have_fe = false;
	struct vab_dev *d;
	char *s = strdup(arg);
	int n, i, j, r = -1;

	if (!s)
		return -1;
	n = vab_split_props(s, props, VAB_MAX_PROPS, opt);
	if (n < 0)
		goto out;
	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++) {
			if (!strcmp(props[i].key, props[j].key)) {
				vab_log(VAB_LOG_ERROR, "--%s: %s given twice",
					opt, props[i].key);
				goto out;
			}
		}
		if (!strcmp(props[i].key, "frontend")) {
			if (vab_parse_domid(props[i].val, &fe)) {
				vab_log(VAB_LOG_ERROR,
					"--%s: frontend=%s: not a domain id",
					opt, props[i].val);
				goto out;
			}
			have_fe = true;
		}
	}
	if (!have_fe) {
		vab_log(VAB_LOG_ERROR, "--%s: frontend=DOMAIN is required", opt);
		goto out;
	}
	if (fe == b->domain) {
		vab_log(VAB_LOG_ERROR,
			"--%s: frontend=%u is the backend's own domain", opt, fe);
		goto out;
	}
	d = vab_dev_new(b, fe, cls);
	if (!d) {
		vab_log(VAB_LOG_ERROR, "--%s: frontend %u: %s", opt, fe,
			errno == ENOSPC ? "too many devices or frontends" :
			strerror(errno));
		goto out;
	}
	for (i = 0; i < n; i++) {
		int e;

		if (!strcmp(props[i].key, "frontend"))
			continue;
		e = vab_dev_set_prop(d, props[i].key, props[i].val);
		if (e == -ENOENT) {
			vab_log(VAB_LOG_ERROR, "--%s: unknown property %s",
				opt, props[i].key);
			goto out;
		}
		if (e) {
			vab_log(VAB_LOG_ERROR, "--%s: %s=%s: invalid value",
				opt, props[i].key, props[i].val);
			goto out;
		}
	}
	if (cls->realize(d))
		goto out;
	r = 0;
out:
	free(s);
	return r;
}
