// SPDX-License-Identifier: MIT
/*
 * virtio-argo-backend: device options, in the style of qemu-storage-daemon:
 *
 *   --CLASS key=value,key=value,...
 *
 * A value runs to the next single comma; ",," stands for a comma in a
 * value (as in qemu), so a file name may contain commas.  A key given
 * without "=value" means "on".  frontend=D is required and names the
 * frontend domain the device is offered to; id=NAME names the device
 * (default: the class and the lowest free number, "blk0"); ring-size=BYTES
 * and max-memory=BYTES are common to all classes; the rest belongs to the
 * class (see blk.c).  Every key may appear once.
 *
 * The same text describes a device in the configuration file (config.c)
 * and in the control socket's "add" (control.c); every error is logged
 * with a prefix saying where the text came from ("--blk", "FILE:LINE").
 *
 * Copyright (c) 2026 The virtio-argo authors
 */
#include <errno.h>
#include <stdio.h>
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

static const struct vab_dev_class *const vab_classes[] = {
	&vab_blk_class, &vab_net_class, &vab_rng_class, &vab_console_class,
};

const struct vab_dev_class *vab_class_find(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(vab_classes); i++)
		if (!strcmp(vab_classes[i]->name, name))
			return vab_classes[i];
	return NULL;
}

/* Split @s (modified in place) into props; returns their number or -1. */
static int vab_split_props(char *s, struct vab_prop *props, int max,
			   const char *where)
{
	int n = 0;

	while (*s) {
		char *key = s, *val, *w;

		while (*s && *s != '=' && *s != ',')
			s++;
		if (s == key) {
			vab_log(VAB_LOG_ERROR, "%s: empty property name", where);
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
			vab_log(VAB_LOG_ERROR, "%s: too many properties", where);
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

/* An id: a letter, then letters, digits, '-', '_' or '.'; 15 at most. */
static bool vab_id_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (!n || n > VAB_ID_MAX ||
	    !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	for (i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return false;
	return true;
}

/*
 * The properties of @arg (a copy in *@buf, to free), checked for what
 * needs no device: keys given once, frontend= present and valid, id=
 * well-formed.  The number of props or -1 after logging.
 */
static int vab_parse(struct vab *b, const char *arg, const char *where,
		     char **buf, struct vab_prop *props, uint16_t *fe,
		     const char **id)
{
	bool have_fe = false;
	int n, i, j;

	*id = NULL;
	*buf = strdup(arg);
	if (!*buf) {
		vab_log(VAB_LOG_ERROR, "%s: out of memory", where);
		return -1;
	}
	n = vab_split_props(*buf, props, VAB_MAX_PROPS, where);
	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++) {
			if (!strcmp(props[i].key, props[j].key)) {
				vab_log(VAB_LOG_ERROR, "%s: %s given twice",
					where, props[i].key);
				return -1;
			}
		}
		if (!strcmp(props[i].key, "frontend")) {
			if (vab_parse_domid(props[i].val, fe)) {
				vab_log(VAB_LOG_ERROR,
					"%s: frontend=%s: not a domain id",
					where, props[i].val);
				return -1;
			}
			have_fe = true;
		} else if (!strcmp(props[i].key, "id")) {
			if (!vab_id_ok(props[i].val)) {
				vab_log(VAB_LOG_ERROR,
					"%s: id=%s: a letter, then up to %u letters, digits, '-', '_' or '.'",
					where, props[i].val, VAB_ID_MAX - 1);
				return -1;
			}
			*id = props[i].val;
		}
	}
	if (n < 0)
		return -1;
	if (!have_fe) {
		vab_log(VAB_LOG_ERROR, "%s: frontend=DOMAIN is required", where);
		return -1;
	}
	if (*fe == b->domain) {
		vab_log(VAB_LOG_ERROR,
			"%s: frontend=%u is the backend's own domain", where, *fe);
		return -1;
	}
	return n;
}

/* Every property but frontend= and id= to the device (or class). */
static int vab_set_props(struct vab_dev *d, const struct vab_prop *props,
			 int n, const char *where)
{
	int i, e;

	for (i = 0; i < n; i++) {
		if (!strcmp(props[i].key, "frontend") ||
		    !strcmp(props[i].key, "id"))
			continue;
		e = vab_dev_set_prop(d, props[i].key, props[i].val);
		if (e == -ENOENT) {
			vab_log(VAB_LOG_ERROR, "%s: unknown property %s",
				where, props[i].key);
			return -1;
		}
		if (e) {
			vab_log(VAB_LOG_ERROR, "%s: %s=%s: invalid value",
				where, props[i].key, props[i].val);
			return -1;
		}
	}
	return 0;
}

int vab_check_device(struct vab *b, const struct vab_dev_class *cls,
		     const char *arg, const char *where, uint16_t *fe_out,
		     char *id_out)
{
	struct vab_prop props[VAB_MAX_PROPS];
	struct vab_frontend fe;
	struct vab_dev *d;
	const char *id;
	char *s;
	int n, r = -1;

	memset(&fe, 0, sizeof(fe));
	n = vab_parse(b, arg, where, &s, props, &fe.domid, &id);
	if (n < 0)
		goto out;
	if (fe_out)
		*fe_out = fe.domid;
	if (id_out)
		snprintf(id_out, VAB_ID_MAX + 1, "%s", id ? id : "");
	/* A device of no frontend, never realized: the values are checked. */
	d = calloc(1, sizeof(*d));
	if (!d) {
		vab_log(VAB_LOG_ERROR, "%s: out of memory", where);
		goto out;
	}
	fe.b = b;
	d->b = b;
	d->fe = &fe;
	d->cls = cls;
	d->ep.fd = -1;
	snprintf(d->name, sizeof(d->name), "%s", cls->name);
	r = vab_set_props(d, props, n, where);
	if (cls->destroy)
		cls->destroy(d);
	free(d);
out:
	free(s);
	return r;
}

/* Compare props by key, for vab_device_spec(). */
static int vab_prop_cmp(const void *a, const void *b)
{
	return strcmp(((const struct vab_prop *)a)->key,
		      ((const struct vab_prop *)b)->key);
}

char *vab_device_spec(const struct vab_dev_class *cls, const char *arg)
{
	struct vab_prop props[VAB_MAX_PROPS];
	char *s = strdup(arg), *out = NULL, *w;
	size_t len;
	int n, i;

	if (!s)
		return NULL;
	n = vab_split_props(s, props, VAB_MAX_PROPS, "spec");
	if (n < 0)
		goto out;
	qsort(props, (size_t)n, sizeof(props[0]), vab_prop_cmp);
	len = strlen(cls->name) + 2;
	for (i = 0; i < n; i++)
		len += strlen(props[i].key) + 2 * strlen(props[i].val) + 2;
	out = malloc(len);
	if (!out)
		goto out;
	w = out + sprintf(out, "%s ", cls->name);
	for (i = 0; i < n; i++) {
		const char *v;

		if (i)
			*w++ = ',';
		w += sprintf(w, "%s=", props[i].key);
		for (v = props[i].val; *v; v++) {
			if (*v == ',')
				*w++ = ',';
			*w++ = *v;
		}
	}
	*w = '\0';
out:
	free(s);
	return out;
}

struct vab_dev *vab_create_device(struct vab *b,
				  const struct vab_dev_class *cls,
				  const char *arg, const char *where,
				  enum vab_origin origin, int want_index,
				  const char *want_name)
{
	struct vab_prop props[VAB_MAX_PROPS];
	struct vab_dev *d = NULL;
	const char *id;
	uint16_t fe = 0;
	char *s;
	int n, r;

	n = vab_parse(b, arg, where, &s, props, &fe, &id);
	if (n < 0)
		goto out;
	if (!want_name)
		want_name = id;
	d = vab_dev_new(b, fe, cls, want_index, want_name);
	if (!d) {
		vab_log(VAB_LOG_ERROR, "%s: frontend %u: %s", where, fe,
			errno == ENOSPC ? "too many devices or frontends" :
			errno == EEXIST && want_name ?
			"a device with this id exists" : strerror(errno));
		goto out;
	}
	d->origin = origin;
	d->spec = vab_device_spec(cls, arg);
	if (!d->spec) {
		vab_log(VAB_LOG_ERROR, "%s: out of memory", where);
		goto discard;
	}
	if (vab_set_props(d, props, n, where))
		goto discard;
	r = cls->realize(d);
	if (r) {
		vab_log(VAB_LOG_ERROR, "%s: %s: not added (%s)", where, d->name,
			strerror(r < 0 ? -r : r));
		goto discard;
	}
	r = vab_dev_start(d);
	if (r) {
		vab_log(VAB_LOG_ERROR, "%s: %s: not added (%s)", where, d->name,
			strerror(-r));
		goto discard;
	}
	goto out;
discard:
	vab_dev_discard(d);
	d = NULL;
out:
	free(s);
	return d;
}

int vab_add_device(struct vab *b, const struct vab_dev_class *cls,
		   const char *arg)
{
	char where[32];

	snprintf(where, sizeof(where), "--%s", cls->name);
	return vab_create_device(b, cls, arg, where, VAB_FROM_CMDLINE, -1,
				 NULL) ? 0 : -1;
}
