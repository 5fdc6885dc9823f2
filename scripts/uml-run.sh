#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/uml-run.sh: boot a UML kernel with the host's root file system
# (read-only, over hostfs) and run one init script inside it.
#
#   uml-run.sh [-t SECONDS] [-m MEM] [-l LOG] BUILD_DIR INIT_SCRIPT RESULT_DIR
#              [KEY=VALUE ...]
#
# BUILD_DIR    a UML build dir from scripts/build-uml.sh (runs BUILD_DIR/linux)
# INIT_SCRIPT  bash script run inside UML by scripts/uml/init-wrapper.sh
#              (PID 1), which mounts the usual file systems first
#              (scripts/uml/init-common.sh) and powers off afterwards
# RESULT_DIR   host dir, created if needed, mounted writable in the guest at
#              the same path; the guest sees it as $va_result
# KEY=VALUE    extra kernel parameters; they reach the init script as
#              environment variables (no dots in KEY, no spaces in VALUE)
# -t SECONDS   kill the UML after this long and fail (default 600)
# -m MEM       guest memory (default 1G)
# -l LOG       console log (default RESULT_DIR/console.log)
#
# The guest also gets va_root (this repo), va_build (BUILD_DIR), va_moddir
# (BUILD_DIR/modinst, for va_modprobe) and va_init.
#
# Exit status: 0 if the init script exited 0; 124 on timeout; 1 otherwise
# (script failed, or the kernel died before it finished).  UML's own exit
# status says nothing about the tests.

set -euo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	sed -n '6,20s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

timeout_s=600
mem=1G
log=
while getopts t:m:l:h opt; do
	case $opt in
	t) timeout_s=$OPTARG ;;
	m) mem=$OPTARG ;;
	l) log=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[[ $# -ge 3 ]] || usage

build=$(realpath "$1")
init=$(realpath "$2")
mkdir -p "$3"
result=$(realpath "$3")
shift 3
[[ -x $build/linux ]] || va_die "$build/linux: no UML kernel there"
[[ -f $init ]] || va_die "$init: no such init script"
for p in "$build" "$init" "$result" "$VA_ROOT"; do
	[[ $p != *[[:space:]]* ]] || va_die "path with spaces not supported: $p"
done
log=${log:-$result/console.log}
rm -f "$result/init.status"

# UML's memory file lives in TMPDIR: tmpfs if we have one.
shm=/dev/shm
[[ -d $shm && -w $shm ]] || shm=$VA_CACHE
mkdir -p "$shm" "$VA_CACHE/run"
tmp=$(mktemp -d "$shm/va-uml.XXXXXX")
umid=va-$$-${RANDOM}
umldir=$VA_CACHE/run/$umid
mkdir -p "$umldir"
# UML makes itself a session leader, so timeout's signal to its process
# group does not reach UML's helper processes: after a kill, end what is
# left of the group whose leader UML recorded in uml_dir/umid/pid.
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	local pid
	pid=$(cat "$umldir/$umid/pid" 2>/dev/null || true)
	if [[ $pid =~ ^[0-9]+$ ]] && kill -0 -- "-$pid" 2>/dev/null; then
		kill -KILL -- "-$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp" "$umldir"
}
trap cleanup EXIT

# shellcheck disable=SC2054 # con0=fd:0,fd:1 is one argument
args=(
	"mem=$mem" rootfstype=hostfs rootflags=/ ro
	"init=$VA_ROOT/scripts/uml/init-wrapper.sh"
	con=null con0=fd:0,fd:1 "uml_dir=$umldir" "umid=$umid"
	"va_root=$VA_ROOT" "va_init=$init" "va_result=$result"
	"va_build=$build" "va_moddir=$build/modinst"
	"$@"
)

va_note "booting $build/linux ($init, timeout ${timeout_s}s, log $log)"
rc=0
# timeout signals its whole process group, UML's helper processes included.
TMPDIR=$tmp timeout -k 10 "$timeout_s" "$build/linux" "${args[@]}" \
	</dev/null >"$log" 2>&1 || rc=$?

if [[ $rc -eq 124 || $rc -eq 137 ]]; then
	va_note "TIMEOUT: UML killed after ${timeout_s}s (log $log)"
	exit 124
fi
if [[ ! -f $result/init.status ]]; then
	va_note "init script did not finish (UML exit $rc; log $log)"
	exit 1
fi
status=$(cat "$result/init.status")
if [[ $status != 0 ]]; then
	va_note "init script exited with status $status (log $log)"
	exit 1
fi
exit 0
