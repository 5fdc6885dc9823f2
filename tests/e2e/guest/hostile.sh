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
# with what the backend sent, and that everything unloads.  Then it runs
# the scenarios (hostile_backend --scenario config, readd, many), each with
# a backend of its own and the transport loaded again (see hostile.sh).
#
# Environment (kernel parameters from hostile.sh):
#   va_kodir      argo.ko and virtio_argo.ko, built for this kernel
#   va_hostile    the hostile_backend binary
#
# Results: $va_result/results.tsv, one line per case: "ok" or "not ok", a
# tab, the case name, a tab, a note (the backend writes its variants'
# lines there too); each case's output in $va_result/cases/NAME.log, the
# backend's log in $va_result/backend.log, the scenarios' backends' in
# $va_result/scenario-NAME.log.

# The cases are functions called through t_case.
# shellcheck disable=SC2317

if ! grep -qw 'va_hostile=[^ ]*' /proc/cmdline 2>/dev/null; then
	echo "${0##*/}: the init script of tests/e2e/hostile.sh inside UML" >&2
	exit 2
fi

# shellcheck source=scripts/uml/init-common.sh
. "${va_root:?}/scripts/uml/init-common.sh"
set -uo pipefail
# shellcheck source=scripts/uml/e2e-guest.sh
. "$va_root/scripts/uml/e2e-guest.sh"
va_e2e_guest_init hostile

kodir=${va_kodir:?}
hostile=${va_hostile:?}
dev=/sys/devices/platform/virtio-argo.0
stats=$dev/stats
handle=$((0x5eed0001))

# The backend as domain 0, before the transport loads; started from the
# main shell so that backend_sigterm_exits_0 can wait for it.
start_backend() {
	insmod "$kodir/argo.ko" provider=loopback || return 1
	"$hostile" --frontend 1 --dev "$dev" --results "$res" \
		--expect "$va_result/expect.txt" 2>"$va_result/backend.log" &
	be_pid=$!
}

# Every control reply came with decoys (unknown tag, other type, the same
# reply twice) describing a block device with another handle or a status
# of NEEDS_RESET: the device registered is the real one.
transport_takes_only_matching_replies() {
	local vdev id
	# The keepalive's PING (a chain stalled over a tick, as a variant may
	# leave one) would bring its own decoys into the exact counters: it
	# is tested in recovery.sh, not here.
	insmod "$kodir/virtio_argo.ko" domain=1 backend=0 keepalive_ms=60000
	[[ -d $dev ]] || fail "no $dev"
	[[ $(cat "$dev/handle") == "$handle" ]] ||
		fail "handle $(cat "$dev/handle"), want $handle"
	vdev=$(find "$dev" -maxdepth 1 -name 'virtio[0-9]*' | head -n1)
	[[ -n $vdev ]] || fail "no virtio device under $dev"
	id=$(cat "$vdev/device")
	[[ $id == 0x0004 ]] || fail "virtio device id $id, want 0x0004 (rng)"
	echo "$vdev: device $id, handle $(cat "$dev/handle")"
}

# The transport read the configuration space again after ATTACH
# (CONFIG_READ), and the backend answered: no warning that it was not.
# That it was asked at all, after ATTACH and before the driver started,
# is the backend's case config_read_after_attach.
config_read_answered() {
	if dmesg | grep -E 'virtio.argo.*(configuration not read again|CONFIG_READ)'; then
		fail "CONFIG_READ after ATTACH failed"
	fi
	echo "no CONFIG_READ error or warning"
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

# ------------------------------------------------------- the scenarios
#
# hostile_backend --scenario NAME: honest devices (virtio-rng, a virtio-blk
# RAM disk, a device no driver claims), each scenario misbehaving in one
# way of its own (see hostile_backend.c).  One backend at a time, started
# and stopped from the main shell; the transport is loaded again for each.

sc_pid='' sc_rcs=()

# Everything the kernel logged since scenario $1 began.
sc_log() {
	dmesg | sed -n "/e2e-hostile: scenario $1 begins/,\$p"
}

start_scenario() {
	local name=$1
	note "scenario $name"
	echo "e2e-hostile: scenario $name begins" >/dev/kmsg
	"$hostile" --frontend 1 --scenario "$name" \
		2>"$va_result/scenario-$name.log" &
	sc_pid=$!
	for _ in $(seq 100); do
		grep -q 'ready: domain 0' "$va_result/scenario-$name.log" &&
			return 0
		kill -0 "$sc_pid" 2>/dev/null || break
		sleep 0.1
	done
	note "scenario $name: backend not ready: $(cat "$va_result/scenario-$name.log")"
	return 1
}

stop_scenario() {
	local name=$1 rc=0
	rmmod virtio_argo 2>/dev/null
	[[ -n $sc_pid ]] || return 0
	kill -CONT "$sc_pid" 2>/dev/null
	kill -TERM "$sc_pid" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$sc_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$sc_pid" 2>/dev/null
	wait "$sc_pid" || rc=$?
	sc_rcs+=("$name:$rc")
	sc_pid=''
}

# The disk of virtio-argo.$1 (waits up to 10 s for it): its name in
# /sys/block.
blk_of() {
	local b='' end=$((SECONDS + 10))
	while :; do
		b=$(find "/sys/devices/platform/virtio-argo.$1/" -maxdepth 4 \
			-path '*/block/vd*' 2>/dev/null | head -n1)
		[[ -n $b || $SECONDS -ge $end ]] && break
		sleep 0.2
	done
	if [[ -z $b ]]; then
		echo "FAIL: no disk under virtio-argo.$1" >&2
		exit 1
	fi
	basename "$b"
}

# get VAR FILE: the first line of FILE into VAR, empty if there is none;
# no process (the waits below run many of them, and UML forks slowly).
get() {
	local -n _get_v=$1
	_get_v=''
	read -r _get_v 2>/dev/null <"$2" || true
}

# Scenario config, device 0: DEV_INFO says 2048 sectors; an EV_CONFIG sent
# before ATTACH's reply (the device known to the transport, not registered)
# says 8192; the CONFIG_READ reply that follows is one generation older and
# says 4096.  virtio_blk shows the capacity it reads in /sys/block: 8192 is
# the event taken (2048: the event lost, as before the fix, when only
# registered devices were found), never taken back by the older reply
# (4096).  The transport tells the driver of the change once it is
# registered: virtio_blk's "new size" notice.
ev_config_before_registration_reaches_driver() {
	local b size end
	b=$(blk_of 0)
	size=$(cat "/sys/block/$b/size")
	echo "virtio-argo.0: /dev/$b, $size sectors"
	[[ $size -eq 8192 ]] ||
		fail "/dev/$b has $size sectors, want 8192 (2048: the EV_CONFIG before registration lost; 4096: an older CONFIG_READ reply taken)"
	end=$((SECONDS + 5))
	until sc_log config | grep -q "\[$b\] new size: 8192 " ||
		[[ $SECONDS -ge $end ]]; do
		sleep 0.2
	done
	sc_log config | grep "\[$b\]" || true
	sc_log config | grep -q "\[$b\] new size: 8192 " ||
		fail "virtio_blk was not told of the change"
}

# Scenario config, device 1: the EV_CONFIG (4096 sectors) comes right after
# DEV_INFO's reply, perhaps before the transport knows the handle (it is
# then dropped, counted in ctrl_malformed): the CONFIG_READ after ATTACH
# covers it either way.
ev_config_before_publish_covered_by_config_read() {
	local b size
	b=$(blk_of 1)
	size=$(cat "/sys/block/$b/size")
	echo "virtio-argo.1: /dev/$b, $size sectors;" \
		"ctrl_malformed $(cat /sys/devices/platform/virtio-argo.1/ctrl_malformed)"
	[[ $size -eq 4096 ]] ||
		fail "/dev/$b has $size sectors, want 4096 (2048: the EV_CONFIG after DEV_INFO lost)"
}

# Scenario config, device 0: DEV_INFO states a data ring of 1 MiB, the
# backend registered 16 KiB, which takes 16352-byte messages.  The
# transport sends within the hypervisor's limit, and says so: 64 KiB
# writes (each chain more than one message) and reads back, O_DIRECT,
# through a ring that refuses any larger message (the device would be
# lost, the I/O fail).
data_ring_over_hypervisor_limit_io_works() {
	local b s=/sys/devices/platform/virtio-argo.0/stats m0 c0 m1 c1 io=''
	b=$(blk_of 0)
	head -c $((512 * 1024)) /dev/urandom >"$work/pattern"
	m0=$(cat "$s/tx_msgs") c0=$(cat "$s/tx_chains")
	if ! timeout 60 dd if="$work/pattern" of="/dev/$b" bs=64k \
		oflag=direct status=none; then
		io="writing /dev/$b failed"
	elif ! timeout 60 dd if="/dev/$b" of="$work/back" bs=64k count=8 \
		iflag=direct status=none; then
		io="reading /dev/$b failed"
	elif ! cmp "$work/pattern" "$work/back"; then
		io="what was read back differs"
	fi
	m1=$(cat "$s/tx_msgs") c1=$(cat "$s/tx_chains")
	echo "512 KiB written and read back: $((m1 - m0)) messages for $((c1 - c0)) chains"
	sc_log config | grep -E 'virtio-argo.0: .*(data ring|lost|broken|failed)' ||
		true
	[[ -z $io ]] || fail "$io"
	[[ $((m1 - m0)) -gt $((c1 - c0)) ]] ||
		fail "no chain was split over messages"
	if sc_log config | grep -E 'virtio.argo.*(device broken|lost: failing)'; then
		fail "the transport gave the device up"
	fi
	sc_log config | grep -q "virtio-argo.0: backend domain 0 states a data ring of 1048576 bytes, the hypervisor's limit is a 16352-byte message" ||
		fail "no warning about the stated data ring"
}

# Scenario readd: the backend adds device 1 (no driver) and, while the
# transport waits for its DEV_INFO, removes device 0 and adds it again at
# the same index with a new handle; right after it has answered that new
# device's ATTACH (the transport has not registered it yet), it does the
# same again.  Device 0 must come back with the third handle, bound to
# virtio_rng, and /dev/hwrng read from it.  (Before the fix the removal of
# a device not registered yet was dropped, and the addition of an index
# still taken skipped: device 0 kept the second handle, which the backend
# no longer knows.)
dev_removed_and_added_again() {
	local d0=/sys/devices/platform/virtio-argo.0 cur h bad end
	end=$((SECONDS + 5))
	while get cur /sys/class/misc/hw_random/rng_current &&
		[[ $cur != virtio_rng.* && $SECONDS -lt $end ]]; do
		sleep 0.1
	done
	[[ $cur == virtio_rng.* ]] || fail "rng_current is '$cur' before"
	get h "$d0/handle"
	[[ $h == $((0x5eed0c00)) ]] || fail "handle '$h' before"
	timeout 10 dd if=/dev/hwrng bs=16 count=1 status=none >/dev/null ||
		fail "/dev/hwrng before"
	kill -USR1 "$sc_pid"
	end=$((SECONDS + 20))
	while :; do
		get h "$d0/handle"
		get cur /sys/class/misc/hw_random/rng_current
		[[ -d /sys/devices/platform/virtio-argo.1 &&
			$h == $((0x5eed0e00)) && $cur == virtio_rng.* ]] && break
		[[ $SECONDS -ge $end ]] && break
		sleep 0.1
	done
	sc_log readd | grep -E 'virtio-argo|virtio_rng' || true
	[[ -d /sys/devices/platform/virtio-argo.1 ]] || fail "device 1 not added"
	[[ $h == $((0x5eed0e00)) ]] ||
		fail "device 0 not added again (handle '$h', want $((0x5eed0e00)))"
	[[ $cur == virtio_rng.* ]] || fail "rng_current is '$cur' after"
	timeout 10 dd if=/dev/hwrng of="$work/rng2.bin" bs=64 count=1 \
		iflag=fullblock status=none || fail "/dev/hwrng after"
	bad=$(LC_ALL=C tr -d '[:upper:]' <"$work/rng2.bin" | wc -c)
	[[ $bad -eq 0 && $(stat -c %s "$work/rng2.bin") -eq 64 ]] ||
		fail "/dev/hwrng gave something else than 64 letters"
	[[ $(cat "$d0/stats/rx_chains") -gt 0 ]] ||
		fail "the new device 0 completed nothing"
	echo "device 0 back as handle $h, rng_current $cur," \
		"$(cat "$d0/stats/rx_chains") chains completed"
}

va_loaded() {
	[[ -d /sys/module/virtio_argo ]]
}

# timeout_ms takes 100..600000, at load and at run time (EINVAL
# otherwise, the value unchanged); it is left at 2000 for
# rmmod_dead_backend_one_timeout.
timeout_ms_bounds() {
	local p=/sys/module/virtio_argo/parameters/timeout_ms v
	for v in 0 50 700000; do
		if insmod "$kodir/virtio_argo.ko" domain=1 backend=0 \
			"timeout_ms=$v"; then
			rmmod virtio_argo
			fail "insmod with timeout_ms=$v succeeded"
		fi
		va_loaded && fail "virtio_argo loaded with timeout_ms=$v"
		echo "insmod timeout_ms=$v refused"
	done
	insmod "$kodir/virtio_argo.ko" domain=1 backend=0 ||
		fail "insmod virtio_argo.ko"
	[[ $(cat "$p") -eq 5000 ]] || fail "timeout_ms $(cat "$p"), want 5000"
	for v in 0 50 99 600001 700000; do
		if echo "$v" 2>"$work/err" >"$p"; then
			fail "writing $v to timeout_ms succeeded"
		fi
		grep -q 'Invalid argument' "$work/err" ||
			fail "writing $v: $(cat "$work/err"), want EINVAL"
		[[ $(cat "$p") -eq 5000 ]] ||
			fail "timeout_ms $(cat "$p") after writing $v"
		echo "timeout_ms=$v refused: EINVAL"
	done
	for v in 100 600000 2000; do
		echo "$v" >"$p" || fail "writing $v to timeout_ms failed"
		[[ $(cat "$p") -eq $v ]] || fail "timeout_ms $(cat "$p"), want $v"
		echo "timeout_ms=$v taken"
	done
}

# Scenario many, device 1: ATTACH refused with status IO in a 64-byte
# reply, longer than the 16 bytes an ATTACH reply has.  It is a refusal,
# -EIO: not a malformed reply (-EPROTO), counted in ctrl_malformed.
refusal_longer_than_reply_buffer() {
	va_loaded || insmod "$kodir/virtio_argo.ko" domain=1 backend=0 ||
		fail "insmod virtio_argo.ko"
	sc_log many | grep -E 'virtio.argo.*(ATTACH|device 1 )' || true
	[[ -d /sys/devices/platform/virtio-argo.0 ]] || fail "no device 0"
	[[ ! -e /sys/devices/platform/virtio-argo.1 ]] ||
		fail "device 1 added, its ATTACH refused"
	sc_log many | grep -q 'virtio-argo.1: ATTACH refused by backend domain 0: status 5' ||
		fail "the refusal was not understood as one"
	sc_log many | grep -q 'device 1 of backend domain 0 not added: -5$' ||
		fail "device 1 not refused with -EIO"
	if sc_log many | grep 'ATTACH: malformed reply'; then
		fail "the refusal was taken for a malformed reply"
	fi
	[[ $(cat /sys/devices/platform/virtio-argo.0/ctrl_malformed) -eq 0 ]] ||
		fail "ctrl_malformed $(cat /sys/devices/platform/virtio-argo.0/ctrl_malformed), want 0"
}

# Scenario many: the backend stops answering (SIGSTOP) with three devices
# registered; rmmod virtio_argo then takes one timeout_ms (6000), not one
# per device (before the fix: a PING timed out for each): less than two,
# and one PING timeout in the log.  What the rest of the removal costs (a
# few hundred ms in this UML on an idle machine, timed without a process
# of its own) must stay below one timeout: hence one this long.
rmmod_dead_backend_one_timeout() {
	local n t0 t1 ms pings tmo=6000
	va_loaded || insmod "$kodir/virtio_argo.ko" domain=1 backend=0 ||
		fail "insmod virtio_argo.ko"
	echo "$tmo" >/sys/module/virtio_argo/parameters/timeout_ms
	n=$(find /sys/devices/platform -maxdepth 1 -name 'virtio-argo.*' | wc -l)
	[[ $n -ge 3 ]] || fail "$n devices, want 3"
	blk_of 2 >/dev/null
	echo "e2e-hostile: rmmod with a stopped backend" >/dev/kmsg
	kill -STOP "$sc_pid"
	t0=${EPOCHREALTIME/./}
	timeout 120 rmmod virtio_argo || fail "rmmod virtio_argo failed"
	t1=${EPOCHREALTIME/./}
	kill -CONT "$sc_pid"
	ms=$(((t1 - t0) / 1000))
	sc_log many | sed -n '/rmmod with a stopped backend/,$p'
	pings=$(sc_log many | grep -c "PING timed out after $tmo ms" || true)
	echo "rmmod with $n devices and a stopped backend: $ms ms, $pings PING timeouts"
	[[ $pings -eq 1 ]] || fail "$pings PING timeouts, want 1"
	[[ $ms -lt $((2 * tmo)) ]] ||
		fail "rmmod took $ms ms, two timeout_ms ($tmo) or more"
	[[ $ms -ge $((tmo * 95 / 100)) ]] ||
		fail "rmmod took $ms ms: less than the PING's timeout"
}

scenario_backends_exit_0() {
	local s bad=0
	for s in "${sc_rcs[@]}"; do
		echo "scenario ${s%%:*}: backend exit status ${s#*:}"
		grep -h 'stopping\|bad requests\|unexpected' \
			"$va_result/scenario-${s%%:*}.log" || true
		[[ ${s#*:} == 0 ]] || bad=1
	done
	[[ ${#sc_rcs[@]} -eq 3 ]] || fail "${#sc_rcs[@]} scenarios run, want 3"
	[[ $bad -eq 0 ]] || fail "a scenario's backend saw malformed requests"
}

# ------------------------------------------------------------- the run

note "loading argo.ko, starting the hostile backend"
if ! start_backend; then
	fatal="argo.ko did not load"
fi
t_case backend_ready \
	backend_wait_log "$va_result/backend.log" 'ready: domain 0' ||
	fatal="the backend did not start"
t_case transport_takes_only_matching_replies \
	transport_takes_only_matching_replies ||
	fatal="virtio_argo.ko did not register the device"
t_case config_read_answered config_read_answered
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
rmmod virtio_argo 2>/dev/null

fatal=''
va_modprobe virtio_blk
if ! start_scenario config; then
	fatal="the backend of scenario config did not start"
elif ! insmod "$kodir/virtio_argo.ko" domain=1 backend=0; then
	fatal="virtio_argo.ko did not load (scenario config)"
fi
t_case ev_config_before_registration_reaches_driver \
	ev_config_before_registration_reaches_driver
t_case ev_config_before_publish_covered_by_config_read \
	ev_config_before_publish_covered_by_config_read
t_case data_ring_over_hypervisor_limit_io_works \
	data_ring_over_hypervisor_limit_io_works
stop_scenario config

fatal=''
va_modprobe virtio_rng
if ! start_scenario readd; then
	fatal="the backend of scenario readd did not start"
elif ! insmod "$kodir/virtio_argo.ko" domain=1 backend=0; then
	fatal="virtio_argo.ko did not load (scenario readd)"
fi
t_case dev_removed_and_added_again dev_removed_and_added_again
stop_scenario readd

fatal=''
start_scenario many || fatal="the backend of scenario many did not start"
t_case timeout_ms_bounds timeout_ms_bounds
t_case refusal_longer_than_reply_buffer refusal_longer_than_reply_buffer
t_case rmmod_dead_backend_one_timeout rmmod_dead_backend_one_timeout
stop_scenario many
fatal=''
t_case scenario_backends_exit_0 scenario_backends_exit_0

rmmod argo 2>/dev/null || true
note "done"
exit 0
