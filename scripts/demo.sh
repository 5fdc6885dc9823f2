#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/demo.sh: show two domains talking over Argo, on any Linux machine.
#
#   demo.sh [-b UML_BUILD] [-k KO_DIR]
#
# Builds what it needs (scripts/deps.sh, the UML kernel, argo.ko, the argo
# tool), boots User-Mode Linux with the host's root file system, loads
# argo.ko with the loopback provider (a software hypervisor with virtual
# domains 0..7) and, inside, runs the argo tool: `argo info`, an echo
# server (`argo pong`) in domain 2, `argo ping` from domain 1 with a few
# round trips, and one text message from domain 1 to a listener in
# domain 3.  Then it powers the UML kernel off and prints the transcript.
#
# -b  UML build dir (default: `scripts/build-uml.sh debug`, built if needed;
#     argo.ko must have been built against it)
# -k  dir with argo.ko (default: `scripts/build-modules.sh uml`)
#
# The modules of scripts/build-modules.sh uml are built against the debug
# UML kernel, so that is the kernel the demo boots by default (a module
# built for one configuration does not load into the other).
#
# Exit status: 0 if every step of the demo worked and the kernel console
# has no error report (scripts/console-check.sh), 1 otherwise.
#
# The same file is the init script inside UML: uml-run.sh runs it with
# va_demo_guest=1 in the environment.

set -euo pipefail

# ---------------------------------------------------------------- guest side
demo_guest() {
	# shellcheck source=scripts/uml/init-common.sh
	. "${va_root:?}/scripts/uml/init-common.sh"
	set +e
	local out=${va_result:?}/transcript
	local pong_pid listen_pid rc=0 a shown

	exec >"$out" 2>&1
	# The tool by its name; not a shell function, so that $! is its pid.
	PATH=$va_root/tools/argo:$PATH
	say() { printf '\n$ %s\n' "$*"; }
	step() { # run a command, showing it; remember a failure
		shown=
		for a in "$@"; do
			[[ $a == *' '* ]] && a="'$a'"
			shown+="${shown:+ }$a"
		done
		say "$shown"
		"$@" || { echo "(exit status $?)"; rc=1; }
	}

	say "insmod argo.ko provider=loopback"
	if ! insmod "${va_kodir:?}/argo.ko" provider=loopback; then
		echo "cannot load argo.ko"
		echo 1 >"$va_result/demo.status"
		return 0
	fi
	dmesg | grep 'argo:' | sed 's/^/    /'
	step ls -l /dev/argo
	step argo info
	step argo info --domain 2

	say "argo pong --domain 2 --port 7 --partner 1 &"
	argo pong --domain 2 --port 7 --partner 1 -q &
	pong_pid=$!
	sleep 0.3
	step argo ping --domain 1 --to 2:7 -c 5 -i 0.2
	step argo ping --domain 1 --to 2:7 -c 3 -i 0.2 --size 4000
	kill -INT "$pong_pid"
	wait "$pong_pid"

	say "argo listen --domain 3 --port 9 --partner 1 -c 2 &"
	argo listen --domain 3 --port 9 --partner 1 -c 2 &
	listen_pid=$!
	sleep 0.3
	step argo send --domain 1 --to 3:9 --type 1 "hello from domain 1"
	say "printf 'two\\nlines\\n' | argo send --domain 1 --to 3:9 -"
	printf 'two\nlines\n' | argo send --domain 1 --to 3:9 - ||
		{ echo "(exit status $?)"; rc=1; }
	wait "$listen_pid" || rc=1

	say "argo ping --domain 1 --to 2:7 -c 1 -W 0.5   # nobody answers now"
	argo ping --domain 1 --to 2:7 -c 1 -W 0.5
	echo "(exit status $?: no ring at 2:7 any more)"

	say "rmmod argo"
	rmmod argo || rc=1
	echo "$rc" >"$va_result/demo.status"
	return 0
}

if [[ -n ${va_demo_guest:-} ]]; then
	demo_guest
	exit 0
fi

# ----------------------------------------------------------------- host side
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	sed -n '6,18s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

build='' kodir=''
while getopts b:k:h opt; do
	case $opt in
	b) build=$OPTARG ;;
	k) kodir=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[[ $# -eq 0 ]] || usage

"$VA_ROOT/scripts/deps.sh" >&2
if [[ -z $build ]]; then
	va_note "building the UML kernel (minutes the first time)"
	build=$("$VA_ROOT/scripts/build-uml.sh" debug | tail -n1)
fi
if [[ -z $kodir ]]; then
	va_note "building argo.ko"
	kodir=$("$VA_ROOT/scripts/build-modules.sh" uml | tail -n1)
fi
[[ -f $kodir/argo.ko ]] || va_die "$kodir/argo.ko: not built"
va_note "building the argo tool"
make -s -C "$VA_ROOT/tools" >&2

result=$(mktemp -d "${TMPDIR:-/tmp}/argo-demo.XXXXXX")
rc=0
"$VA_ROOT/scripts/uml-run.sh" -t 120 "$build" \
	"$VA_ROOT/scripts/demo.sh" "$result" \
	va_demo_guest=1 "va_kodir=$(realpath "$kodir")" || rc=1

echo "=== Argo demo: two virtual domains on the loopback provider, in UML ==="
if [[ -f $result/transcript ]]; then
	cat "$result/transcript"
else
	echo "(no transcript: the guest did not run; console: $result/console.log)"
	rc=1
fi
echo
status=$(cat "$result/demo.status" 2>/dev/null || echo 1)
[[ $status == 0 ]] || rc=1
if ! "$VA_ROOT/scripts/console-check.sh" "$result/console.log" demo >"$result/console.ktap"; then
	echo "kernel console reports (see $result/console.log):"
	grep '^not ok\|^#' "$result/console.ktap" || true
	rc=1
fi
if [[ $rc -eq 0 ]]; then
	echo "=== demo OK (console clean; logs in $result) ==="
else
	echo "=== demo FAILED (logs in $result) ==="
fi
exit "$rc"
