# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# scripts/uml/e2e-guest.sh: what the init scripts of the end-to-end tests
# (tests/e2e/guest/*.sh) share.  Source it after init-common.sh and call
# va_e2e_guest_init NAME before anything else:
#
#	. "$va_root/scripts/uml/e2e-guest.sh"
#	va_e2e_guest_init blk
#
# va_e2e_guest_init sets res ($va_result/results.tsv, emptied), cases
# ($va_result/cases), work (/run/e2e, made the current directory: fio keeps
# its verify state there), fatal='', be_pid='' and case_name=''.  The
# host side (scripts/e2e-lib.sh) turns results.tsv into KTAP: one line a
# case, "ok", "not ok" or "skip", a tab, the case, a tab, a note.
#
# Helpers:
#   note TEXT                  a line on the console, "e2e-NAME: TEXT"
#   t_case CASE FUNC [ARG...]  one case (below)
#   t_skip CASE REASON         a case that cannot run here, and why
#   case_note TEXT             from inside a case: its note
#   fail TEXT                  from inside a case: fail it with TEXT
#   backend_wait_log LOG PATTERN [SOCKET]
#                              wait for the backend to log PATTERN
#   backend_sigterm_exits_0    the backend case of that name

va_e2e_guest_init() { # NAME
	va_e2e_name=$1
	res=${va_result:?}/results.tsv
	cases=$va_result/cases
	work=/run/e2e
	mkdir -p "$cases" "$work"
	cd "$work" || exit 1
	: >"$res"
	be_pid='' fatal='' case_name=''
}

note() {
	echo "e2e-$va_e2e_name: $*"
}

# t_case NAME FUNC [ARGS]: run FUNC in a subshell with errexit, output to
# cases/NAME.log; record the result, with the first line of
# $work/NAME.note (if the case wrote one, see case_note) as its note.
# After a fatal setup failure (fatal set) every later case fails at once
# with its reason.
t_case() {
	local name=$1 log=$cases/$1.log t0=$SECONDS rc extra=''
	shift
	if [[ -n $fatal ]]; then
		printf 'not ok\t%s\tnot run: %s\n' "$name" "$fatal" >>"$res"
		return 1
	fi
	note "case $name"
	rm -f "$work/$name.note"
	case_name=$name
	(
		set -e
		"$@"
	) >"$log" 2>&1
	rc=$?
	[[ -s $work/$name.note ]] &&
		extra="; $(head -n 1 "$work/$name.note" | tr '\t' ' ')"
	if [[ $rc -eq 0 ]]; then
		printf 'ok\t%s\t%ss%s\n' "$name" "$((SECONDS - t0))" "$extra" >>"$res"
	else
		printf 'not ok\t%s\texit %s after %ss; last line: %s%s\n' "$name" \
			"$rc" "$((SECONDS - t0))" \
			"$(tail -n 1 "$log" | tr '\t' ' ')" "$extra" >>"$res"
	fi
	return "$rc"
}

# t_skip NAME REASON: a case that cannot run here, and why.
t_skip() {
	note "case $1: skipped"
	printf 'skip\t%s\t%s\n' "$1" "$2" >>"$res"
}

# case_note TEXT: the note of the running case (t_case reports it).
case_note() {
	echo "$*"
	echo "$*" >"$work/${case_name:?}.note"
}

fail() {
	echo "FAIL: $*"
	exit 1
}

# backend_wait_log LOG PATTERN [SOCKET]: wait up to 10 s for the backend
# ($be_pid) to log PATTERN (grep) in LOG and, if given, to make SOCKET;
# fail if it exits first.
backend_wait_log() {
	local log=$1 pattern=$2 sock=${3:-}
	for _ in $(seq 100); do
		grep -q "$pattern" "$log" && [[ -z $sock || -S $sock ]] &&
			return 0
		kill -0 "$be_pid" 2>/dev/null ||
			fail "backend exited: $(cat "$log")"
		sleep 0.1
	done
	fail "backend: no \"$pattern\" in $log after 10 s"
}

# backend_sigterm_exits_0: the case of that name, in the main shell (not
# through t_case: wait needs the backend's parent).  SIGTERM to $be_pid;
# it must exit 0 within 10 s.
backend_sigterm_exits_0() {
	local rc=0 t0=$SECONDS
	note "case backend_sigterm_exits_0"
	if [[ -z $be_pid ]]; then
		printf 'not ok\tbackend_sigterm_exits_0\tno backend\n' >>"$res"
		return
	fi
	kill -TERM "$be_pid"
	timeout 10 tail --pid="$be_pid" -f /dev/null || true
	if kill -0 "$be_pid" 2>/dev/null; then
		kill -KILL "$be_pid"
		printf 'not ok\tbackend_sigterm_exits_0\tstill running 10 s after SIGTERM\n' >>"$res"
		wait "$be_pid"
		return
	fi
	wait "$be_pid" || rc=$?
	if [[ $rc -eq 0 ]]; then
		printf 'ok\tbackend_sigterm_exits_0\t%ss\n' "$((SECONDS - t0))" >>"$res"
	else
		printf 'not ok\tbackend_sigterm_exits_0\texit status %s\n' "$rc" >>"$res"
	fi
}
