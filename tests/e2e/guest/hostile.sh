#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/e2e/guest/hostile.sh: the inside of tests/e2e/hostile.sh, run as
# the init script of one UML boot (scripts/uml-run.sh).  Not meant to be
# run alone, and never on the host: it loads modules.
#
# tests/e2e/hostile_backend runs as virtual domain 0 of the loopback
# provider and serves one fake virtio-rng device; virtio_argo.ko acts as
# domain 1 and the kernel's own virtio_rng binds to it.  Every request the
# driver makes is answered first by malformed messages (one variant per
# request: the backend checks the transport's counters after each and
# reports the variant as a case), then by a valid completion of letters
# 'A'..'Z'.  This script reads /dev/hwrng until every variant has run and
# checks that not one byte of poison came out, that the counters agree
# with what the backend sent, and that everything unloads.
#
# Environment (kernel parameters from hostile.sh):
#   va_kodir      argo.ko and virtio_argo.ko, built for this kernel
#   va_hostile    the hostile_backend binary
#
# Results: $va_result/results.tsv, one line per case: "ok" or "not ok", a
# tab, the case name, a tab, a note (the backend writes its variants'
# lines there too); each case's output in $va_result/cases/NAME.log, the
# backend's log in $va_result/backend.log.

# The cases are functions called through t_case.
# shellcheck disable=SC2317

if ! grep -qw 'va_hostile=[^ ]*' /proc/cmdline 2>/dev/null; then
	echo "${0##*/}: the init script of tests/e2e/hostile.sh inside UML" >&2
	exit 2
fi

# shellcheck source=scripts/uml/init-common.sh
. "${va_root:?}/scripts/uml/init-common.sh"
set -uo pipefail

kodir=${va_kodir:?}
hostile=${va_hostile:?}
res=$va_result/results.tsv
cases=$va_result/cases
work=/run/e2e
dev=/sys/devices/platform/virtio-argo.0
stats=$dev/stats
handle=$((0x5eed0001))
mkdir -p "$cases" "$work"
cd "$work" || exit 1
: >"$res"
be_pid='' fatal=''

note() {
	echo "e2e-hostile: $*"
}

# t_case NAME FUNC [ARGS]: as in guest/blk.sh.
t_case() {
	local name=$1 log=$cases/$1.log t0=$SECONDS rc
	shift
	if [[ -n $fatal ]]; then
		printf 'not ok\t%s\tnot run: %s\n' "$name" "$fatal" >>"$res"
		return 1
	fi
	note "case $name"
	(
		set -e
		"$@"
	) >"$log" 2>&1
	rc=$?
	if [[ $rc -eq 0 ]]; then
		printf 'ok\t%s\t%ss\n' "$name" "$((SECONDS - t0))" >>"$res"
	else
		printf 'not ok\t%s\texit %s after %ss; last line: %s\n' "$name" \
			"$rc" "$((SECONDS - t0))" \
			"$(tail -n 1 "$log" | tr '\t' ' ')" >>"$res"
	fi
	return "$rc"
}

fail() {
	echo "FAIL: $*"
	exit 1
}

# The backend as domain 0, before the transport loads; started from the
# main shell so that backend_sigterm_exits_0 can wait for it.
start_backend() {
	insmod "$kodir/argo.ko" provider=loopback || return 1
	"$hostile" --frontend 1 --dev "$dev" --results "$res" \
		--expect "$va_result/expect.txt" 2>"$va_result/backend.log" &
	be_pid=$!
}

backend_ready() {
	for _ in $(seq 100); do
		grep -q 'ready: domain 0' "$va_result/backend.log" && return 0
		kill -0 "$be_pid" 2>/dev/null ||
			fail "backend exited: $(cat "$va_result/backend.log")"
		sleep 0.1
	done
	fail "backend not ready after 10 s"
}

# Every control reply came with decoys (unknown tag, other type, the same
# reply twice) describing a block device with another handle or a status
# of NEEDS_RESET: the device registered is the real one.
transport_takes_only_matching_replies() {
	local vdev id
	insmod "$kodir/virtio_argo.ko" domain=1 backend=0
	[[ -d $dev ]] || fail "no $dev"
	[[ $(cat "$dev/handle") == "$handle" ]] ||
		fail "handle $(cat "$dev/handle"), want $handle"
	vdev=$(find "$dev" -maxdepth 1 -name 'virtio[0-9]*' | head -n1)
	[[ -n $vdev ]] || fail "no virtio device under $dev"
	id=$(cat "$vdev/device")
	[[ $id == 0x0004 ]] || fail "virtio device id $id, want 0x0004 (rng)"
	echo "$vdev: device $id, handle $(cat "$dev/handle")"
}

virtio_rng_binds() {
	local cur
	va_modprobe virtio_rng
	for _ in $(seq 50); do
		cur=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null || true)
		[[ $cur == virtio_rng.* ]] && break
		sleep 0.1
	done
	[[ $cur == virtio_rng.* ]] || fail "rng_current is '$cur'"
	echo "rng_current $cur"
}

# Read 64 bytes at a time until the backend has run every variant, then
# a few more; every read must finish (a lost completion would hang it).
# The hwrng core's kthread reads too, into the entropy pool, every few
# seconds this early after boot: the backend does not care who reads.
hwrng_reads_complete() {
	local i done_at=0
	: >"$work/rng.bin"
	for i in $(seq 600); do
		timeout 10 dd if=/dev/hwrng bs=64 count=1 iflag=fullblock \
			status=none >>"$work/rng.bin" ||
			fail "read $i of /dev/hwrng did not finish in 10 s"
		if [[ $done_at -eq 0 ]] &&
			grep -q 'all [0-9]* variants sent' "$va_result/backend.log"; then
			done_at=$i
		fi
		[[ $done_at -gt 0 && $i -ge $((done_at + 16)) ]] && break
	done
	[[ $done_at -gt 0 ]] || fail "the backend never ran every variant"
	echo "$i reads, $(stat -c %s "$work/rng.bin") bytes"
	[[ $(stat -c %s "$work/rng.bin") -eq $((64 * i)) ]] ||
		fail "short reads"
}

# What userspace read is letters only.  It is not everything the device
# wrote (the kthread's share goes to the entropy pool): that no byte of
# poison reached any buffer is what the exact rx_bytes and rx_chains of
# every variant and of counters_match_backend prove; this is the same
# seen from userspace.
hwrng_never_returns_poison() {
	local bad
	[[ -s $work/rng.bin ]] || fail "nothing was read"
	bad=$(LC_ALL=C tr -d '[:upper:]' <"$work/rng.bin" | wc -c)
	if [[ $bad -ne 0 ]]; then
		od -A d -t x1 "$work/rng.bin" | head -n 20
		fail "$bad bytes outside A-Z (poison reached the driver)"
	fi
	echo "$(stat -c %s "$work/rng.bin") bytes, all in A-Z, of the" \
		"$(cat "$stats/rx_bytes") the device wrote so far"
	head -c 128 "$work/rng.bin"
	echo
}

# The transport's totals equal what the backend says it sent, once the
# last completion has been taken.
counters_match_backend() {
	local k want got ok
	for _ in $(seq 20); do
		ok=1
		for k in malformed stale chains bytes ctrl_malformed ctrl_stale; do
			want=$(awk -v k="$k" '$1 == k { print $2 }' \
				"$va_result/expect.txt")
			case $k in
			chains) got=$(cat "$stats/rx_chains") ;;
			bytes) got=$(cat "$stats/rx_bytes") ;;
			ctrl_*) got=$(cat "$dev/$k") ;;
			*) got=$(cat "$stats/$k") ;;
			esac
			[[ $got == "$want" ]] || ok=0
		done
		[[ $ok -eq 1 ]] && break
		sleep 0.2
	done
	for k in "$stats"/* "$dev"/ctrl_*; do
		echo "${k##*/} $(cat "$k")"
	done
	echo "backend's totals:"
	cat "$va_result/expect.txt"
	[[ $ok -eq 1 ]] || fail "the counters differ from the backend's totals"
}

# The device was never broken or declared lost by what it received, and
# every chain sent was completed but the one the driver keeps posted.
device_survives() {
	local tx rx
	if dmesg | grep -E 'virtio.argo.*(device broken|lost: failing)'; then
		fail "the transport gave the device up"
	fi
	tx=$(cat "$stats/tx_chains")
	rx=$(cat "$stats/rx_chains")
	echo "tx_chains $tx rx_chains $rx"
	[[ $tx -ge $rx && $((tx - rx)) -le 1 ]] ||
		fail "chains sent and completed disagree"
	dmesg | grep -c 'dropped a malformed' || true
}

virtio_rng_unbinds() {
	timeout 30 rmmod virtio_rng || fail "rmmod virtio_rng"
}

transport_unloads() {
	timeout 30 rmmod virtio_argo || fail "rmmod virtio_argo"
	[[ ! -e /sys/devices/platform/virtio-argo.0 ]] ||
		fail "the device is still there"
}

# Not through t_case: wait needs the main shell, the backend's parent.
backend_sigterm_exits_0() {
	local name=backend_sigterm_exits_0 rc=0 t0=$SECONDS
	note "case $name"
	kill -TERM "$be_pid"
	for _ in $(seq 100); do
		kill -0 "$be_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$be_pid" 2>/dev/null; then
		printf 'not ok\t%s\tstill running 10 s after SIGTERM\n' "$name" >>"$res"
		return 1
	fi
	wait "$be_pid" || rc=$?
	be_pid=''
	if [[ $rc -eq 0 ]]; then
		printf 'ok\t%s\t%ss\n' "$name" "$((SECONDS - t0))" >>"$res"
	else
		printf 'not ok\t%s\texit status %s: %s\n' "$name" "$rc" \
			"$(tail -n 1 "$va_result/backend.log")" >>"$res"
	fi
}

# ------------------------------------------------------------- the run

note "loading argo.ko, starting the hostile backend"
if ! start_backend; then
	fatal="argo.ko did not load"
fi
t_case backend_ready backend_ready || fatal="the backend did not start"
t_case transport_takes_only_matching_replies \
	transport_takes_only_matching_replies ||
	fatal="virtio_argo.ko did not register the device"
t_case virtio_rng_binds virtio_rng_binds || fatal="virtio_rng did not bind"
t_case hwrng_reads_complete hwrng_reads_complete
t_case hwrng_never_returns_poison hwrng_never_returns_poison
t_case counters_match_backend counters_match_backend
t_case device_survives device_survives
fatal=''
t_case virtio_rng_unbinds virtio_rng_unbinds
t_case transport_unloads transport_unloads
[[ -n $be_pid ]] && backend_sigterm_exits_0
[[ -n $be_pid ]] && kill -KILL "$be_pid" 2>/dev/null
rmmod argo 2>/dev/null || true
note "done"
exit 0
