// SPDX-License-Identifier: MIT
/*
 * virtio-argo-ctl: one command to a running virtio-argo-backend through its
 * control socket (--control PATH), and its answer.
 *
 *   virtio-argo-ctl [--control PATH] COMMAND [ARGUMENT...]
 *
 *   virtio-argo-ctl --control /run/vab.sock add blk frontend=1,file=/srv/d.img
 *   virtio-argo-ctl --control /run/vab.sock list
 *   virtio-argo-ctl --control /run/vab.sock remove blk1
 *   virtio-argo-ctl --control /run/vab.sock link net0 down
 *   virtio-argo-ctl --control /run/vab.sock stats blk0
 *
 * The words are joined by single spaces into one line (see control.c in
 * the backend for the commands); the answer is printed without its "ok"
 * or "error" word, a body to standard output, an error to standard error.
 * Exit status: 0 ok, 1 the backend answered with an error, 2 usage, no
 * backend or no answer.  PATH defaults to $VIRTIO_ARGO_CONTROL.
 *
 * Copyright (c) 2026 The virtio-argo authors
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define CTL_NAME	"virtio-argo-ctl"
#define CTL_LINE_MAX	4095		/* the backend's limit */
#define CTL_TIMEOUT_MS	30000		/* for the whole answer */

static void ctl_usage(FILE *f)
{
	fprintf(f,
		"usage: %s [--control PATH] COMMAND [ARGUMENT...]\n"
		"\n"
		"Send one command to virtio-argo-backend's control socket.\n"
		"\n"
		"  --control PATH   the socket (default $VIRTIO_ARGO_CONTROL)\n"
		"\n"
		"Commands:\n"
		"  add CLASS PROPS  add a device: blk, net, rng or console, PROPS\n"
		"                   as for the backend's --CLASS (frontend=D,...)\n"
		"  remove ID        remove a device\n"
		"  list             the devices\n"
		"  link ID up|down  a net device's link status\n"
		"  stats ID         a device's counters\n"
		"  help             the backend's list of commands\n"
		"\n"
		"Exit status: 0 ok, 1 error from the backend, 2 no answer.\n",
		CTL_NAME);
}

/* Everything the backend sends until it closes; NUL-ended, to free. */
static char *read_answer(int fd, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1), *p;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t r;

	if (!buf)
		return NULL;
	for (;;) {
		if (n == cap) {
			cap *= 2;
			p = realloc(buf, cap + 1);
			if (!p)
				goto fail;
			buf = p;
		}
		r = poll(&pfd, 1, CTL_TIMEOUT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			fprintf(stderr, "%s: no answer within %u s\n", CTL_NAME,
				CTL_TIMEOUT_MS / 1000);
			goto fail;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "%s: read: %s\n", CTL_NAME,
				strerror(errno));
			goto fail;
		}
		if (!r)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	free(buf);
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "control", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = getenv("VIRTIO_ARGO_CONTROL");
	char line[CTL_LINE_MAX + 2], *answer, *body;
	struct sockaddr_un a;
	size_t len = 0, alen;
	int c, i, fd, rc;

	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			ctl_usage(stdout);
			return 0;
		default:
			ctl_usage(stderr);
			return 2;
		}
	}
	if (optind == argc || !path || !*path) {
		ctl_usage(stderr);
		return 2;
	}
	for (i = optind; i < argc; i++) {
		size_t w = strlen(argv[i]);

		if (strchr(argv[i], '\n') || len + w + 1 > CTL_LINE_MAX) {
			fprintf(stderr, "%s: command too long or with a newline\n",
				CTL_NAME);
			return 2;
		}
		if (len)
			line[len++] = ' ';
		memcpy(line + len, argv[i], w);
		len += w;
	}
	line[len++] = '\n';

	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a.sun_path)) {
		fprintf(stderr, "%s: %s: path too long\n", CTL_NAME, path);
		return 2;
	}
	memcpy(a.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		fprintf(stderr, "%s: %s: %s\n", CTL_NAME, path, strerror(errno));
		return 2;
	}
	/* One line, then nothing more: the backend answers and hangs up. */
	if (send(fd, line, len, MSG_NOSIGNAL) != (ssize_t)len ||
	    shutdown(fd, SHUT_WR)) {
		fprintf(stderr, "%s: %s: %s\n", CTL_NAME, path, strerror(errno));
		close(fd);
		return 2;
	}
	answer = read_answer(fd, &alen);
	close(fd);
	if (!answer)
		return 2;
	if (!strncmp(answer, "ok", 2) && (answer[2] == ' ' || answer[2] == '\n')) {
		rc = 0;
	} else if (!strncmp(answer, "error", 5) &&
		   (answer[5] == ' ' || answer[5] == '\n')) {
		rc = 1;
	} else {
		fprintf(stderr, "%s: unexpected answer: %.80s\n", CTL_NAME,
			answer);
		free(answer);
		return 2;
	}
	/* The status word goes; "ok N" with a body shows the body alone. */
	body = answer + (rc ? 5 : 2);
	if (*body == ' ')
		body++;
	if (!rc) {
		char *nl = strchr(body, '\n');
		char *end;

		/* A count is all digits: ids start with a letter. */
		if (nl && *body >= '0' && *body <= '9' &&
		    (strtoul(body, &end, 10), end == nl))
			body = nl + 1;
		else if (nl && *body == '\n')
			body++;
	}
	fputs(body, rc ? stderr : stdout);
	free(answer);
	return rc;
}
