// SPDX-License-Identifier: MIT
/*
 * virtio-argo-backend: logging to stderr, one plain line per event:
 *
 *   virtio-argo-backend: LEVEL: [frontend D: [DEV: ]]text
 *
 * Lines caused by a frontend's messages are rate-limited per frontend
 * (at warn and above: VAB_RL_BURST lines per VAB_RL_WINDOW_MS, then one
 * line saying how many were suppressed), so that a hostile frontend cannot
 * flood the log or slow the backend down with it.
 *
 * Copyright (c) 2026 The virtio-argo authors
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "backend.h"

#define VAB_RL_WINDOW_MS	5000
#define VAB_RL_BURST		10

enum vab_log_level vab_log_level = VAB_LOG_INFO;
char *vab_log_catch;
size_t vab_log_catch_len;

static const char *const vab_level_names[] = {
	[VAB_LOG_DEBUG] = "debug",
	[VAB_LOG_INFO] = "info",
	[VAB_LOG_WARN] = "warn",
	[VAB_LOG_ERROR] = "error",
};

int vab_parse_log_level(const char *s, enum vab_log_level *lvl)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(vab_level_names); i++) {
		if (!strcasecmp(s, vab_level_names[i])) {
			*lvl = (enum vab_log_level)i;
			return 0;
		}
	}
	return -1;
}

int64_t vab_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void vab_vlog(enum vab_log_level lvl, const char *prefix,
		     const char *fmt, va_list ap)
{
	char line[512];
	int n, head;

	head = snprintf(line, sizeof(line), "%s: %s: ", VAB_NAME,
			vab_level_names[lvl]);
	n = snprintf(line, sizeof(line), "%s: %s: %s", VAB_NAME,
		     vab_level_names[lvl], prefix);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (lvl >= VAB_LOG_ERROR && vab_log_catch && !*vab_log_catch &&
	    vab_log_catch_len && head > 0 && (size_t)head < sizeof(line))
		snprintf(vab_log_catch, vab_log_catch_len, "%s", line + head);
	if (lvl < vab_log_level)
		return;
	/* One write per line, so that lines of several processes don't mix. */
	fprintf(stderr, "%s\n", line);
}

void vab_log(enum vab_log_level lvl, const char *fmt, ...)
{
	va_list ap;

	if (lvl < vab_log_level && !(lvl >= VAB_LOG_ERROR && vab_log_catch))
		return;
	va_start(ap, fmt);
	vab_vlog(lvl, "", fmt, ap);
	va_end(ap);
}

/* True if a line about @fe may be printed now. */
static bool vab_ratelimit(struct vab_frontend *fe)
{
	int64_t now = vab_now_ms();

	if (now - fe->rl_start >= VAB_RL_WINDOW_MS || now < fe->rl_start) {
		if (fe->rl_suppressed)
			vab_log(VAB_LOG_WARN,
				"frontend %u: %u messages suppressed",
				fe->domid, fe->rl_suppressed);
		fe->rl_start = now;
		fe->rl_count = 0;
		fe->rl_suppressed = 0;
	}
	if (fe->rl_count >= VAB_RL_BURST) {
		fe->rl_suppressed++;
		return false;
	}
	fe->rl_count++;
	return true;
}

void vab_fe_vlog(struct vab_frontend *fe, struct vab_dev *d,
		 enum vab_log_level lvl, const char *fmt, va_list ap)
{
	char prefix[64];

	if (lvl < vab_log_level)
		return;
	if (lvl >= VAB_LOG_WARN && !vab_ratelimit(fe))
		return;
	if (d)
		snprintf(prefix, sizeof(prefix), "frontend %u: %s: ",
			 fe->domid, d->name);
	else
		snprintf(prefix, sizeof(prefix), "frontend %u: ", fe->domid);
	vab_vlog(lvl, prefix, fmt, ap);
}

void vab_fe_log(struct vab_frontend *fe, struct vab_dev *d,
		enum vab_log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vab_fe_vlog(fe, d, lvl, fmt, ap);
	va_end(ap);
}
