/* SPDX-License-Identifier: MIT */
/*
 * virtio-argo-backend: device options (options.c).
 *
 * Copyright (c) 2026 The virtio-argo authors
 */
#ifndef VAB_OPTIONS_H
#define VAB_OPTIONS_H

#include "backend.h"

/*
 * Add one device of @cls described by @arg ("frontend=1,file=disk.img")
 * from the command line: make it, set its properties, realize it.  0, or
 * -1 after logging why (the device is not left behind).
 */
int vab_add_device(struct vab *b, const struct vab_dev_class *cls,
		   const char *arg);

/*
 * The same, from anywhere: @where prefixes every error logged ("--blk",
 * "FILE:LINE: blk"); @origin is recorded; @want_index and @want_name as
 * for vab_dev_new() (-1 and NULL: the lowest free index, and id= or the
 * default name).  The device is started (vab_dev_start()): once the
 * backend runs, its ring is registered and its frontend told.  The device,
 * or NULL after logging why.
 */
struct vab_dev *vab_create_device(struct vab *b,
				  const struct vab_dev_class *cls,
				  const char *arg, const char *where,
				  enum vab_origin origin, int want_index,
				  const char *want_name);

/*
 * Check @arg for a device of @cls without making one: the syntax, the
 * keys, frontend= and id=, and every value as the class parses it (not
 * what realizing would find: a missing file, a busy tap).  0, or -1 after
 * logging why.  The frontend and the id (or "") are stored if not NULL.
 */
int vab_check_device(struct vab *b, const struct vab_dev_class *cls,
		     const char *arg, const char *where, uint16_t *fe,
		     char *id);

/*
 * "CLASS key=value,..." with the keys sorted and commas in values
 * doubled: two descriptions of one device compare equal.  Malloc'd, or
 * NULL (no memory, or @arg does not parse).
 */
char *vab_device_spec(const struct vab_dev_class *cls, const char *arg);

#endif /* VAB_OPTIONS_H */
