// SPDX-License-Identifier: MIT
/*
 * Host-side tests of libargo's parsers and of the argo tool's command line,
 * which need no /dev/argo.  Prints one KTAP document; run by
 * `make -C tools test` with the path of the argo binary as argument.
 *
 * Copyright (c) 2026 The virtio-argo authors
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libargo.h"

static int checks, failures;

static void check(bool ok, const char *name)
{
	checks++;
	if (!ok)
		failures++;
	printf("%sok %d %s\n", ok ? "" : "not ", checks, name);
}

static bool parse_dom_is(const char *s, unsigned int special, int want)
{
	uint16_t d = 0xbeef;
	int r = argo_parse_domain(s, special, &d);

	if (want < 0)
		return r == -1 && errno == EINVAL && d == 0xbeef;
	return r == 0 && d == want;
}

static bool parse_addr_is(const char *s, int dom, long long port)
{
	uint16_t d = 0xbeef;
	uint32_t p = 0xdeadbeef;
	int r = argo_parse_addr(s, &d, &p);

	if (dom < 0)
		return r == -1 && errno == EINVAL;
	return r == 0 && d == dom && p == port;
}

/* Exit status of `argo ARGS...` run with /dev/argo absent or not. */
static int run_argo(const char *argo, char *const argv[])
{
	int status;
	pid_t pid;

	fflush(stdout);		/* or the child repeats what is buffered */
	pid = fork();

	if (pid == 0) {
		if (!freopen("/dev/null", "w", stdout) ||
		    !freopen("/dev/null", "w", stderr))
			_exit(127);
		execv(argo, argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
	const char *argo = argc > 1 ? argv[1] : "argo/argo";

	printf("KTAP version 1\n1..21\n");
	check(parse_dom_is("0", 0, 0), "parse_domain_zero");
	check(parse_dom_is("32751", 0, 0x7fef), "parse_domain_largest_real");
	check(parse_dom_is("0x10", 0, 16), "parse_domain_hex");
	check(parse_dom_is("32752", 0, -1), "parse_domain_reserved_rejected");
	check(parse_dom_is("-1", 0, -1), "parse_domain_negative_rejected");
	check(parse_dom_is("1x", 0, -1), "parse_domain_trailing_junk_rejected");
	check(parse_dom_is("", 0, -1), "parse_domain_empty_rejected");
	check(parse_dom_is("self", ARGO_PARSE_SELF, ARGO_DEV_DOMID_SELF),
	      "parse_domain_self_when_allowed");
	check(parse_dom_is("self", ARGO_PARSE_ANY, -1),
	      "parse_domain_self_when_not_allowed");
	check(parse_dom_is("any", ARGO_PARSE_ANY, ARGO_DEV_DOMID_ANY),
	      "parse_domain_any_when_allowed");
	check(parse_addr_is("2:7", 2, 7), "parse_addr_simple");
	check(parse_addr_is("1:4294967295", 1, 4294967295LL),
	      "parse_addr_largest_port");
	check(parse_addr_is("1:4294967296", -1, 0),
	      "parse_addr_port_overflow_rejected");
	check(parse_addr_is("2", -1, 0), "parse_addr_without_port_rejected");
	check(parse_addr_is(":7", -1, 0), "parse_addr_without_domain_rejected");
	check(parse_addr_is("any:7", -1, 0), "parse_addr_any_rejected");

	check(run_argo(argo, (char *[]){ "argo", NULL }) == 2,
	      "cli_no_command_exits_2");
	check(run_argo(argo, (char *[]){ "argo", "--help", NULL }) == 0,
	      "cli_help_exits_0");
	check(run_argo(argo, (char *[]){ "argo", "frobnicate", NULL }) == 2,
	      "cli_unknown_command_exits_2");
	check(run_argo(argo, (char *[]){ "argo", "ping", "--to", "1", NULL })
	      == 2, "cli_bad_address_exits_2");
	check(run_argo(argo, (char *[]){ "argo", "listen", NULL }) == 2,
	      "cli_listen_without_port_exits_2");
	return failures ? 1 : 0;
}
