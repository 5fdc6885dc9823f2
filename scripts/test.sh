#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/test.sh: THE test command of virtio-argo (CI runs it via .ci/run).
#
#   test.sh [--hogs N]
#
# --hogs N  run everything beside N CPU hogs (shell busy loops started
#           before the first step, stopped when the script exits, also on
#           failure or interrupt; each also ends by itself once the script
#           is gone): a loaded machine, as a shared CI machine is, where a
#           test that waits on a duration instead of an event fails.  CI
#           runs it without options.
#
# Runs, in order: deps, the debug UML kernel, the module builds
# (uml, debian, arm64; W=1 + sparse), checkpatch, the ABI conformance test
# (tests/abi), the userspace builds (tools, tests/user) and their host tests
# (`make -C tools test`, if there is such a target), the KUnit suites and
# userspace tests in UML (scripts/run-kunit.sh), every end-to-end script
# tests/e2e/*.sh, and the scenarios of the real Xen beds (scripts/xen-bed.sh
# and scripts/xen-bed-arm64.sh: Xen with Argo under QEMU, x86_64 and arm64).  A build or check counts as one test; a step that prints
# KTAP counts its cases (with the kernel's parser, scripts/ktap.sh).
#
# One progress line per step on stdout; full logs in
# .test-logs/<timestamp>/ (also .test-logs/latest; or $VA_LOG_DIR), with the
# tail of a failing step's log printed.  The last line is exactly
# "N passed, N failed"; the exit status is non-zero if anything failed or
# nothing ran.  Needs no terminal: stdin is /dev/null.
#
# E2E scripts get in their environment: VA_ROOT, VA_CACHE, VA_UML_DEBUG
# (the debug UML build dir), VA_KODIR (argo.ko and tests/kunit/*.ko
# built for UML), VA_OUT (a directory of their own for results); they print
# one KTAP document on stdout and exit non-zero on failure.

set -euo pipefail
exec </dev/null

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	sed -n '6,13s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

hogs=0
while [[ $# -gt 0 ]]; do
	case $1 in
	--hogs)
		[[ $# -ge 2 ]] || usage
		hogs=$2
		shift 2
		;;
	--hogs=*)
		hogs=${1#--hogs=}
		shift
		;;
	*) usage ;;
	esac
done
[[ $hogs =~ ^[0-9]+$ ]] || usage
hogs=$((10#$hogs))

cd "$VA_ROOT"

stamp=$(date +%Y%m%d-%H%M%S)
logroot=${VA_LOG_DIR:-$VA_ROOT/.test-logs}
logs=$logroot/$stamp
mkdir -p "$logs"
ln -sfn "$stamp" "$logroot/latest" 2>/dev/null || true
# Keep the ten newest runs.
find "$logroot" -mindepth 1 -maxdepth 1 -type d -name '20*' | sort -r |
	tail -n +11 | xargs -r rm -rf

passed=0
failed=0
t_start=$SECONDS

progress() {
	printf 'test: %-6s %s\n' "$1" "$2"
}

fail_tail() { # LOG
	echo "---- tail of $1 ----"
	tail -n 40 "$1" | sed 's/^/| /'
	echo "----"
}

# step NAME LOG CMD...: one test, passed if CMD exits 0.
step() {
	local name=$1 log=$logs/$2.log t0=$SECONDS rc=0
	shift 2
	"$@" >"$log" 2>&1 || rc=$?
	if [[ $rc -eq 0 ]]; then
		passed=$((passed + 1))
		progress "[ok]" "$name ($((SECONDS - t0))s)"
	else
		failed=$((failed + 1))
		progress "[FAIL]" "$name ($((SECONDS - t0))s, exit $rc, log $log)"
		fail_tail "$log"
	fi
	return "$rc"
}

# not_run NAME WHY: a step that could not run counts as one failure.
not_run() {
	failed=$((failed + 1))
	progress "[FAIL]" "$1 (not run: $2)"
}

# ktap_step NAME LOGBASE CMD...: CMD prints KTAP on stdout; count its cases.
# A non-zero exit with no failed case counts one more failure.
ktap_step() {
	local name=$1 base=$logs/$2 t0=$SECONDS rc=0 p f s
	shift 2
	"$@" >"$base.ktap" 2>"$base.log" || rc=$?
	read -r p f s < <("$VA_ROOT/scripts/ktap.sh" count "$base.parsed" \
		"$name=$base.ktap" 2>>"$base.log") || { p=0 f=1 s=0; }
	p=${p:-0} f=${f:-1} s=${s:-0}
	if [[ $rc -ne 0 && $f -eq 0 ]]; then
		f=1
		echo "exit status $rc" >>"$base.log"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [[ $f -eq 0 ]]; then
		progress "[ok]" "$name: $p passed, $s skipped ($((SECONDS - t0))s)"
	else
		progress "[FAIL]" "$name: $p passed, $f failed ($((SECONDS - t0))s, logs $base.*)"
		sed 's/\x1b\[[0-9;]*m//g' "$base.parsed/results.txt" 2>/dev/null |
			grep -E '\[(FAILED|CRASHED|ERROR)\]' | head -n 20 || true
		fail_tail "$base.log"
	fi
}

# has_target DIR TARGET: the Makefile in DIR has TARGET.
has_target() {
	[[ -f $1/Makefile ]] && make -C "$1" -n "$2" >/dev/null 2>&1
}

last_line() { # LOG
	tail -n 1 "$1"
}

echo "test: logs in $logs"

# CPU hogs beside the whole run (--hogs N).  Each is a subshell spinning in
# a loop that also checks that this script still exists, so that none
# outlives it even if it is killed with SIGKILL; they keep no descriptor of
# ours (a pipe on stdout would otherwise stay open).
hog_pids=()
stop_hogs() {
	local p
	for p in "${hog_pids[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${hog_pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	hog_pids=()
}
if [[ $hogs -gt 0 ]]; then
	trap stop_hogs EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
	for ((i = 0; i < hogs; i++)); do
		(
			trap - EXIT HUP INT TERM
			while kill -0 "$$" 2>/dev/null; do
				for ((j = 0; j < 100000; j++)); do :; done
			done
		) </dev/null >/dev/null 2>&1 &
		hog_pids+=("$!")
	done
	echo "test: under load: $hogs CPU hogs beside the run (pids ${hog_pids[*]}; $(nproc) CPUs)"
fi

# 1. Packages.
step "deps" deps bash scripts/deps.sh || {
	echo "$passed passed, $failed failed"
	exit 1
}
va_ensure_src

# 2. The debug UML kernel (KASAN, UBSAN, lockdep): every test in UML runs
# on it.  The base kernel (scripts/build-uml.sh base) is for measurements,
# not tests, and is not built here: it would add minutes to a cold run.
uml_debug=''
if step "UML kernel (debug)" uml-debug bash scripts/build-uml.sh debug; then
	uml_debug=$(last_line "$logs/uml-debug.log")
fi

# 3. Module builds, W=1 + sparse.
kodir=''
if [[ -n $uml_debug ]]; then
	if step "modules: uml (W=1 C=2)" modules-uml bash scripts/build-modules.sh uml; then
		kodir=$(last_line "$logs/modules-uml.log")
		# A copy of our own: build-modules.sh keeps only its three
		# newest builds, and another build may run meanwhile.
		rm -rf "$logs/ko"
		cp -a "$kodir" "$logs/ko" && kodir=$logs/ko
	fi
else
	not_run "modules: uml" "no debug UML kernel"
fi
step "modules: debian amd64 headers (W=1 C=2)" modules-debian \
	bash scripts/build-modules.sh debian || true
step "modules: arm64 (W=1 C=2)" modules-arm64 \
	bash scripts/build-modules.sh arm64 || true

# 4. Style.
step "checkpatch --strict" checkpatch bash scripts/checkpatch.sh || true

# 5. ABI conformance with Xen's public headers.
if [[ -f tests/abi/Makefile ]]; then
	if step "abi: build" abi-build make -C tests/abi; then
		ktap_step abi abi make -s --no-print-directory -C tests/abi check
	fi
	if has_target tests/abi check-arm64; then
		step "abi: arm64 static checks" abi-arm64 make -C tests/abi check-arm64 || true
	fi
elif compgen -G 'tests/abi/*.c' >/dev/null; then
	if step "abi: build" abi-build gcc -Wall -Wextra -Werror -I include \
		-o "$logs/abi_check" tests/abi/*.c; then
		ktap_step abi abi "$logs/abi_check"
	fi
else
	progress "[skip]" "abi: no tests/abi/Makefile or tests/abi/*.c yet"
fi

# 6. Userspace: builds, and host-side unit tests if the tools have them.
if [[ -f tools/Makefile ]]; then
	step "tools: build" tools-build make -C tools || true
	if has_target tools test; then
		ktap_step tools-test tools-test make -s --no-print-directory -C tools test
	fi
else
	progress "[skip]" "tools: no tools/Makefile yet"
fi
if [[ -f tests/user/Makefile ]]; then
	step "tests/user: build" user-build make -C tests/user || true
else
	progress "[skip]" "tests/user: no tests/user/Makefile yet"
fi

# 7. KUnit suites and userspace tests inside the debug UML kernel.
if [[ -n $uml_debug && -n $kodir ]]; then
	t0=$SECONDS rc=0
	bash scripts/run-kunit.sh -b "$uml_debug" -k "$kodir" -u tests/user \
		-o "$logs/kunit" >"$logs/kunit.log" 2>&1 || rc=$?
	line=$(last_line "$logs/kunit.log")
	if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped$ ]]; then
		p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]} s=${BASH_REMATCH[3]}
		[[ $rc -eq 0 || $f -gt 0 ]] || f=1
	else
		p=0 f=1 s=0
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [[ $f -eq 0 ]]; then
		progress "[ok]" "kunit+user in UML: $p passed, $s skipped ($((SECONDS - t0))s)"
	else
		progress "[FAIL]" "kunit+user in UML: $p passed, $f failed ($((SECONDS - t0))s, log $logs/kunit.log, results $logs/kunit/)"
		fail_tail "$logs/kunit.log"
	fi
else
	not_run "kunit+user in UML" "no debug UML kernel or no UML modules"
fi

# 8. End-to-end scripts.
e2e=()
if [[ -d tests/e2e ]]; then
	mapfile -t e2e < <(find tests/e2e -maxdepth 1 -name '*.sh' -type f | sort)
fi
if [[ ${#e2e[@]} -eq 0 ]]; then
	progress "[skip]" "e2e: no tests/e2e/*.sh yet"
elif [[ -z $uml_debug || -z $kodir ]]; then
	not_run "e2e (${#e2e[@]} scripts)" "debug UML kernel or UML modules missing"
else
	for t in "${e2e[@]}"; do
		n=$(basename "$t" .sh)
		mkdir -p "$logs/e2e-$n.out"
		ktap_step "e2e-$n" "e2e-$n" env VA_ROOT="$VA_ROOT" \
			VA_CACHE="$VA_CACHE" VA_UML_DEBUG="$uml_debug" VA_KODIR="$kodir" \
			VA_OUT="$logs/e2e-$n.out" timeout -k 10 1800 bash "$t"
	done
fi

# 9. Real Xen: the bed of scripts/xen-bed.sh (Xen 4.17 with Argo from
# Debian's source under QEMU, Debian's kernel as dom0, the modules built
# against Debian's headers), one boot per scenario, each a KTAP document:
# dom0 alone, then dom0 with a PV domU (Documentation/xen-bed.rst).  The
# scenario's own ceiling (2400 s for domu) catches a hang; this time-out
# only backs it up.  Then the same on arm64, in one boot
# (scripts/xen-bed-arm64.sh, Documentation/xen-bed-arm64.rst).
xen_scenarios=(dom0 domu)
for s in "${xen_scenarios[@]}"; do
	ktap_step "xen-bed: $s" "xen-$s" timeout -k 10 2700 \
		bash scripts/xen-bed.sh -o "$logs/xen-$s.out" "$s"
done
ktap_step "xen-bed-arm64: dom0+blk+domu" xen-arm64 timeout -k 10 2700 \
	bash scripts/xen-bed-arm64.sh -o "$logs/xen-arm64.out" dom0+blk+domu

echo "test: done in $((SECONDS - t_start))s${hog_pids[0]:+ beside $hogs CPU hogs}; logs in $logs"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 && $passed -gt 0 ]]
