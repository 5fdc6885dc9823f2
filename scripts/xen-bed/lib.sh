# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# scripts/xen-bed/lib.sh: what dom0's init and the scenarios of the Xen test
# bed share.  Sourced, never run.
#
# Results are KTAP lines written to /dev/kmsg with the prefix "xen-bed: "
# (whole lines, never torn by the kernel's own output on the same serial
# console; printk.devkmsg=on lifts the rate limit); the host takes every
# line after that prefix, numbers the cases and adds its own.  Cases are
# numbered by the host: here each is "ok - NAME" or "not ok - NAME".
#
#   xb_ktap LINE            one raw line
#   xb_note TEXT            a KTAP diagnostic ("# TEXT")
#   xb_case NAME CMD...     run CMD, its output in /tmp/cases/NAME.log; ok if
#                           it exits 0; its output's tail as diagnostics
#   xb_check NAME CMD...    like xb_case, quietly (a check of a result)
#   xb_wait SECS CMD...     run CMD until it succeeds, at most SECS seconds
#   xb_end                  the scenario's last command: it ran to its end
#   xb_done                 (init) the last line: the scenario is over

XB_XEN_BIN=/usr/lib/xen-4.17/bin
# Debian's /usr/sbin/xl and friends are wrappers that look for the
# running version of Xen; the binaries themselves are here.
export PATH=$XB_XEN_BIN:$PATH

xb_ktap() {
	local l
	while IFS= read -r l; do
		printf '<5>xen-bed: %s\n' "$l" >/dev/kmsg
	done <<<"$*"
}

xb_note() {
	xb_ktap "# $*"
}

xb_now() {
	cut -d. -f1 /proc/uptime
}

# The last N lines of FILE as diagnostics.
xb_log_tail() { # FILE N
	local l
	tail -n "$2" "$1" | while IFS= read -r l; do
		xb_note "  $l"
	done
}

xb_run() { # QUIET NAME CMD...
	local quiet=$1 name=$2 rc=0 log t0=$SECONDS
	shift 2
	mkdir -p /tmp/cases
	log=/tmp/cases/$name.log
	"$@" >"$log" 2>&1 || rc=$?
	if [[ $rc -gt 128 ]]; then
		xb_note "$name: $1 killed by signal $((rc - 128))"
	fi
	if [[ $rc -ne 0 || $quiet -eq 0 ]]; then
		[[ $rc -eq 0 ]] || xb_note "$name: exit $rc; output:"
		xb_log_tail "$log" 12
	fi
	[[ $quiet -eq 1 ]] || xb_note "$name: $((SECONDS - t0)) s"
	if [[ $rc -eq 0 ]]; then
		xb_ktap "ok - $name"
	else
		xb_ktap "not ok - $name"
	fi
	return "$rc"
}

xb_case() {
	xb_run 0 "$@"
}

xb_check() {
	xb_run 1 "$@"
}

xb_wait() { # SECS CMD...
	local end=$(($(xb_now) + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[[ $(xb_now) -lt $end ]] || return 1
		sleep 0.2
	done
}

XB_END=/run/xen-bed.end

xb_end() {
	: >"$XB_END"
}

xb_done() {
	xb_ktap "# scenario over"
}
