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
 * Add one device of @cls described by @arg ("frontend=1,file=disk.img"),
 * set its properties and realize it.  0, or -1 after logging why.  A device
 * that failed is left in the backend; the caller gives up and destroys it.
 */
int vab_add_device(struct vab *b, const struct vab_dev_class *cls,
		   const char *arg);

#endif /* VAB_OPTIONS_H */
