#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/e2e/guest/hotplug.sh: the inside of tests/e2e/hotplug.sh, run as
# the init script of one UML boot (scripts/uml-run.sh).  Not meant to be
# run alone, and never on the host: it loads modules.
#
# Two virtual domains of the loopback provider in one kernel: the backend
# (tools/virtio-argo-backend) runs as domain 0 with a control socket and a
# configuration file and serves two disks (A, B) to domain 1, where
# virtio_argo.ko and the kernel's own virtio_blk use them.  While fio
# writes and verifies disk A, disks are added and removed at run time,
# through the socket (virtio-argo-ctl) and by reloading the file (SIGHUP):
# an added disk appears and works, a disk removed under fio fails fio's
# I/O (EIO for the requests in flight, ENOSPC for those submitted once the
# disk has gone) and disappears, disk A never notices; an index freed is
# taken again; a file with an error changes nothing.  Then the transport
# is unloaded (the backend finds its frontend gone), loaded again (served
# as new), and the backend is stopped with SIGTERM (the guest sees the
# devices removed at once, not at its next keepalive).
#
# Environment (kernel parameters from hotplug.sh):
#   va_kodir      argo.ko and virtio_argo.ko, built for this kernel
#   va_backend    the virtio-argo-backend binary
#   va_ctl        the virtio-argo-ctl binary
#
# Results: $va_result/results.tsv, one line per case: "ok" or "not ok", a
# tab, the case name, a tab, a note; each case's output in
# $va_result/cases/NAME.log, the backend's log in $va_result/backend.log.

# The cases are functions called through t_case.
# shellcheck disable=SC2317

if ! grep -qw 'va_hotplug_e2e=1' /proc/cmdline 2>/dev/null; then
	echo "${0##*/}: the init script of tests/e2e/hotplug.sh inside UML" >&2
	exit 2
fi

# shellcheck source=scripts/uml/init-common.sh
. "${va_root:?}/scripts/uml/init-common.sh"
set -uo pipefail
# shellcheck source=scripts/uml/e2e-guest.sh
. "$va_root/scripts/uml/e2e-guest.sh"
va_e2e_guest_init hotplug

kodir=${va_kodir:?}
backend=${va_backend:?}
ctl_bin=${va_ctl:?}
sock=$work/ctl.sock
conf=$work/backend.conf
belog=$va_result/backend.log

# Disk images in tmpfs, MiB.
declare -A size=([a]=96 [b]=96 [c]=48 [d]=32)

# virtio-argo-ctl ARGS: its output on stdout, the command on stderr.
ctl() {
	echo "+ virtio-argo-ctl $*" >&2
	"$ctl_bin" --control "$sock" "$@"
}

# The virtio disks there are, on one line.
vd_disks() {
	local d
	for d in /sys/block/vd*; do
		[[ -e $d ]] && printf '%s ' "${d##*/}"
	done
	return 0
}

# The disk whose serial is $1, or nothing.
find_disk() {
	local s
	for s in /sys/block/vd*/serial; do
		[[ -f $s && $(cat "$s" 2>/dev/null) == "$1" ]] &&
			basename "${s%/serial}"
	done
	return 0
}

# Wait up to $2 seconds (60) for the disk of serial $1: its name.
wait_disk() {
	local d
	for _ in $(seq $((${2:-60} * 10))); do
		d=$(find_disk "$1")
		[[ -n $d && -b /dev/$d ]] && { echo "$d"; return 0; }
		sleep 0.1
	done
	return 1
}

# Wait up to $2 seconds (60) for the disk $1 (vdX) to be gone.
wait_gone() {
	for _ in $(seq $((${2:-60} * 10))); do
		[[ ! -e /sys/block/$1 && ! -e /dev/$1 ]] && return 0
		sleep 0.1
	done
	return 1
}

# belog_wait PATTERN: wait up to 60 s for the backend to log PATTERN.
belog_wait() {
	for _ in $(seq 600); do
		grep -q "$1" "$belog" && return 0
		sleep 0.1
	done
	return 1
}

# fio_json FILE: "error written read" of its (only) job.
fio_json() {
	python3 - "$1" <<'EOF'
import json, sys
t = open(sys.argv[1]).read()
d = json.loads(t[t.index("{"):])
j = d["jobs"][0]
print(j["error"], j["write"]["io_bytes"], j["read"]["io_bytes"])
EOF
}

# fio_verify NAME DISK [FIO OPTIONS]: write with crc32c headers, read back
# and verify, in the foreground; fails on any error or if nothing moved.
fio_verify() {
	local name=$1 disk=$2 json=$cases/$1.json rc=0 err w r
	shift 2
	fio --name="$name" --filename="/dev/$disk" --ioengine=libaio \
		--direct=1 --verify=crc32c --do_verify=1 --verify_fatal=1 \
		--output-format=json --output="$json" "$@" || rc=$?
	read -r err w r < <(fio_json "$json") || true
	echo "$name on $disk: exit $rc, error ${err:-?}, written ${w:-?}, read ${r:-?}"
	[[ $rc -eq 0 && ${err:-1} -eq 0 && ${w:-0} -gt 0 && ${r:-0} -gt 0 ]] ||
		{ cat "$json"; fail "fio $name failed"; }
}

# sectors_written DISK: 512-byte sectors written to DISK (vdX) so far.
sectors_written() {
	local w
	read -r _ _ _ _ _ _ w _ <"/sys/block/$1/stat"
	echo "$w"
}

# A run time fio never reaches (s): fio_bg's jobs run until stopped.
fio_forever=1000000

# fio_bg NAME DISK [FIO OPTIONS]: fio in the background until fio_stop
# ends it (or an error does: the removal cases), verifying random writes
# unless told otherwise.  Cases run in subshells: the exit status goes to
# $work/NAME.rc, the pid to $work/NAME.pid, and the disk's sectors
# written before it to $work/NAME.base (for fio_under_way).
fio_bg() {
	local name=$1 disk=$2
	shift 2
	[[ $# -gt 0 ]] || set -- --rw=randwrite --bs=4k --iodepth=16 \
		--size=24M --verify=crc32c --verify_backlog=512 --do_verify=1 \
		--verify_fatal=1
	rm -f "$work/$name.rc" "$work/$name.pid"
	sectors_written "$disk" >"$work/$name.base"
	(
		rc=0
		fio --name="$name" --filename="/dev/$disk" --ioengine=libaio \
			--direct=1 --time_based --runtime="$fio_forever" "$@" \
			--output-format=json --output="$cases/$name.json" \
			>"$cases/$name.out" 2>&1 &
		echo $! >"$work/$name.pid"
		wait $! || rc=$?
		echo "$rc" >"$work/$name.rc"
	) &
	for _ in $(seq 300); do
		[[ -s $work/$name.pid ]] && return 0
		sleep 0.1
	done
	fail "fio $name did not start"
}

# fio_under_way NAME DISK KIB: wait (up to 120 s) until fio NAME, still
# running, has had more than KIB KiB written to DISK: more than it can
# keep in flight (block size times queue depth), so some of its writes
# have completed and it has taken their completions.
fio_under_way() {
	local name=$1 disk=$2 kib=$3 base w
	base=$(cat "$work/$name.base")
	for _ in $(seq 1200); do
		fio_running "$name" ||
			{ cat "$cases/$name.out"; fail "fio on $disk ended"; }
		w=$(($(sectors_written "$disk") - base))
		if [[ $w -gt $((kib * 2)) ]]; then
			echo "fio $name under way: $((w / 2)) KiB written to $disk"
			return 0
		fi
		sleep 0.1
	done
	fio_stop "$name" || true
	fail "fio on $disk: only $((w / 2)) KiB written after 120 s"
}

# fio_running NAME: true while it runs.
fio_running() {
	[[ ! -e $work/$1.rc ]]
}

# fio_wait NAME SECONDS: wait for it, up to SECONDS (60); its exit
# status, 124 if it had to be killed.
fio_wait() {
	for _ in $(seq $((${2:-60} * 10))); do
		[[ -s $work/$1.rc ]] && return "$(cat "$work/$1.rc")"
		sleep 0.1
	done
	echo "fio $1 still running after ${2:-60} s: its tasks' stacks"
	for t in /proc/[0-9]*; do
		[[ $(cat "$t/comm" 2>/dev/null) == fio ]] || continue
		echo "${t##*/}:"
		cat "$t/stack" 2>/dev/null
	done
	kill -KILL "$(cat "$work/$1.pid")"
	return 124
}

# fio_stop NAME: end it (SIGTERM: its jobs stop, it reports and exits
# 128), and wait for it (fio_wait, 120 s); its exit status.
fio_stop() {
	fio_running "$1" && kill -TERM "$(cat "$work/$1.pid")" 2>/dev/null
	fio_wait "$1" 120
}

# What the guest and the backend know of disk $1 (vdX), device id $2.
show_io() {
	local p
	echo "/sys/block/$1/stat: $(cat "/sys/block/$1/stat" 2>/dev/null)"
	p=$(readlink -f "/sys/block/$1/device" 2>/dev/null)
	p=${p%/*}
	for s in "$p"/stats/*; do
		[[ -f $s ]] && printf '%s %s; ' "${s##*/}" "$(cat "$s")"
	done
	echo
	ctl stats "$2" | tr '\n' ' '
	echo
}

# ------------------------------------------------------------ the setup

make_images() {
	local n
	for n in "${!size[@]}"; do
		truncate -s "${size[$n]}M" "$work/$n.img"
	done
	echo "# devices of the file come and go with SIGHUP" >"$conf"
}

# The backend as domain 0, from the main shell (backend_sigterm waits for
# it): disks A and B on the command line, a file with no device yet.
start_backend() {
	insmod "$kodir/argo.ko" provider=loopback || return 1
	"$backend" --domain 0 --log-level info --control "$sock" \
		--config "$conf" \
		--blk "frontend=1,file=$work/a.img,serial=hp-a,id=a" \
		--blk "frontend=1,file=$work/b.img,serial=hp-b,id=b,ring-size=16384" \
		2>"$belog" &
	be_pid=$!
}

two_disks() {
	local a b
	insmod "$kodir/virtio_argo.ko" domain=1 backend=0
	va_modprobe virtio_blk
	a=$(wait_disk hp-a) || fail "disk A did not appear: $(ls /sys/block)"
	b=$(wait_disk hp-b) || fail "disk B did not appear: $(ls /sys/block)"
	echo "A is $a, B is $b"
	[[ $(cat "/sys/block/$a/size") -eq $((size[a] << 11)) ]] ||
		fail "A: $(cat "/sys/block/$a/size") sectors"
	[[ -e /sys/bus/platform/devices/virtio-argo.0 &&
		-e /sys/bus/platform/devices/virtio-argo.1 ]] ||
		fail "platform devices: $(ls /sys/bus/platform/devices)"
	ctl list
	echo "$a $b" >"$work/disks"
}

# ------------------------------------------------------------ hot-plug

# fio verifies disk A all along the hot-plug cases, until
# other_unaffected stops it.
fio_a_starts() {
	local a
	read -r a _ <"$work/disks"
	fio_bg fio_a "$a"
	# 4 KiB at queue depth 16.
	fio_under_way fio_a "$a" 64
}

# Added through the socket: it appears in the guest, at index 2.
add_appears() {
	local out c
	out=$(ctl add blk "frontend=1,file=$work/c.img,serial=hp-c,id=c")
	echo "$out"
	[[ $out == "c frontend 1 index 2" ]] || fail "add answered: $out"
	c=$(wait_disk hp-c) || fail "disk C did not appear: $(ls /sys/block)"
	echo "C is $c"
	[[ $(cat "/sys/block/$c/size") -eq $((size[c] << 11)) ]] ||
		fail "C: $(cat "/sys/block/$c/size") sectors"
	[[ -e /sys/bus/platform/devices/virtio-argo.2 ]] ||
		fail "no virtio-argo.2"
	echo "$c" >"$work/disk_c"
	fio_running fio_a || fail "fio on A ended early"
}

added_works() {
	fio_verify fio_c "$(cat "$work/disk_c")" --rw=randwrite --bs=4k \
		--iodepth=8 --size=16M
	fio_running fio_a || fail "fio on A ended early"
}

# fio_gone NAME DISK DEVICE: fio on a disk that was just removed ends
# (within 60 s) with an error: EIO for the requests in flight (the backend
# failed those it was receiving, the transport the others), or ENOSPC for
# a write submitted once the disk had no size left.  When the backend
# says it failed requests, the guest saw them fail with I/O errors.
fio_gone() {
	local name=$1 disk=$2 dev=$3 rc=0 err w failed t0=$SECONDS
	fio_wait "$name" 60 || rc=$?
	echo "fio ended $((SECONDS - t0)) s after the removal"
	read -r err w _ < <(fio_json "$cases/$name.json") || true
	echo "fio on $disk: exit $rc, error ${err:-?}, written ${w:-?}"
	cat "$cases/$name.out"
	[[ $rc -ne 0 && $rc -ne 124 ]] || fail "fio did not fail (exit $rc)"
	[[ ${err:-0} -eq 5 || ${err:-0} -eq 28 ]] ||
		fail "fio: error ${err:-?}, not EIO or ENOSPC"
	[[ ${w:-0} -gt 0 ]] || fail "fio wrote nothing before the removal"
	failed=$(sed -n "s/.*: $dev: removed from index [0-9]* (\([0-9]*\) request.*/\1/p" \
		"$belog" | tail -n 1)
	echo "the backend failed ${failed:-?} requests in flight"
	dmesg | grep -E "I/O error, dev $disk|removed by backend" | tail -n 5
	if [[ ${failed:-0} -gt 0 ]]; then
		dmesg | grep -q "I/O error, dev $disk" ||
			fail "no I/O error seen for the requests the backend failed"
	fi
}

# Removed through the socket while fio writes 1 MiB requests to it (over
# a 16 KiB ring, so that one is being received): fio fails, A goes on.
remove_fails_io() {
	local b
	read -r _ b <"$work/disks"
	fio_bg fio_b "$b" --rw=write --bs=1M --iodepth=4 --size=64M
	# 1 MiB at queue depth 4.
	fio_under_way fio_b "$b" 4096
	show_io "$b" b
	ctl remove b
	fio_gone fio_b "$b" b
	fio_running fio_a || fail "fio on A ended early"
}

removed_disappears() {
	local b
	read -r _ b <"$work/disks"
	wait_gone "$b" || fail "/dev/$b still there: $(ls /sys/block)"
	[[ ! -e /sys/bus/platform/devices/virtio-argo.1 ]] ||
		fail "virtio-argo.1 still there"
	[[ -z $(find_disk hp-b) ]] || fail "a disk still has serial hp-b"
	dmesg | grep 'removed by backend domain 0' ||
		fail "the transport did not say the backend removed it"
	ctl list
	! ctl list | grep -q '^b ' || fail "b still listed"
}

# Disk A's fio, which ran through all of it, is still running; stopped
# now, it passes its verification: exit status 128 (fio's when a signal
# ended it; 0 would do too), no error, writes verified.
other_unaffected() {
	local rc=0 err w r
	fio_running fio_a || { cat "$cases/fio_a.out"; fail "fio on A ended early"; }
	fio_stop fio_a || rc=$?
	read -r err w r < <(fio_json "$cases/fio_a.json") || true
	echo "fio on A: exit $rc, error ${err:-?}, written ${w:-?}, read ${r:-?}"
	[[ ($rc -eq 0 || $rc -eq 128) && ${err:-1} -eq 0 && ${w:-0} -gt 0 &&
		${r:-0} -gt 0 ]] ||
		{ cat "$cases/fio_a.out"; fail "fio on A failed"; }
}

# The freed index 1 is the lowest free: taken again, and the disk works.
readd_same_index() {
	local out b
	out=$(ctl add blk "frontend=1,file=$work/b.img,serial=hp-b2,id=b")
	echo "$out"
	[[ $out == "b frontend 1 index 1" ]] || fail "add answered: $out"
	b=$(wait_disk hp-b2) || fail "B did not come back: $(ls /sys/block)"
	echo "B is $b again"
	[[ -e /sys/bus/platform/devices/virtio-argo.1 ]] ||
		fail "no virtio-argo.1"
	fio_verify fio_b2 "$b" --rw=randwrite --bs=64k --iodepth=8 --size=16M
}

# ------------------------------------------------------------ the file

# SIGHUP with a device new in the file: added at index 3.
reload_adds() {
	local d
	echo "blk frontend=1,file=$work/d.img,serial=hp-d,id=d" >>"$conf"
	kill -HUP "$be_pid"
	d=$(wait_disk hp-d) || fail "disk D did not appear: $(ls /sys/block)"
	echo "D is $d"
	ctl list | grep '^d blk frontend=1 index=3 from=config' ||
		fail "d not listed as expected"
	echo "$d" >"$work/disk_d"
	fio_verify fio_d "$d" --rw=randwrite --bs=4k --iodepth=8 --size=8M
}

# A file with an error: rejected, the devices stay as they are.
reload_rejected() {
	local before after
	before=$(ctl list)
	printf 'blk frontend=1,file=%s,serial=hp-d,id=d\nblk frontend=1,bogus=1\n' \
		"$work/d.img" >"$conf.new"
	echo "rng frontend=1" >>"$conf.new"
	mv "$conf.new" "$conf"
	kill -HUP "$be_pid"
	belog_wait 'not reloaded' || true
	grep "$conf:2" "$belog" || fail "no error naming line 2"
	grep 'not reloaded' "$belog" || fail "no 'not reloaded'"
	after=$(ctl list)
	[[ $before == "$after" ]] || fail "devices changed: $after"
	[[ -n $(find_disk hp-d) ]] || fail "D is gone"
}

# SIGHUP with the device gone from the file, under fio: fio fails, the
# disk goes.
reload_removes() {
	local d
	d=$(cat "$work/disk_d")
	fio_bg fio_d2 "$d" --rw=randwrite --bs=64k --iodepth=16 --size=24M
	# 64 KiB at queue depth 16.
	fio_under_way fio_d2 "$d" 1024
	show_io "$d" d
	echo "# nothing any more" >"$conf"
	kill -HUP "$be_pid"
	fio_gone fio_d2 "$d" d
	wait_gone "$d" || fail "/dev/$d still there"
	! ctl list | grep -q '^d ' || fail "d still listed"
	grep 'reloaded: 0 added, 1 removed' "$belog" || fail "no reload line"
}

# ------------------------------------------------------------ the end

# The transport unloads: the backend finds its frontend gone, and serves
# it as new when it is loaded again.
frontend_gone_and_back() {
	local c
	rmmod virtio_blk
	rmmod virtio_argo
	# Its check of each frontend runs every second.
	belog_wait 'frontend 1: gone' || true
	grep 'frontend 1: gone' "$belog" || fail "the backend did not notice"
	ctl list
	! ctl list | grep -v 'state=waiting' | grep -q . ||
		fail "devices not all waiting for the frontend"
	insmod "$kodir/virtio_argo.ko" domain=1 backend=0
	va_modprobe virtio_blk
	wait_disk hp-a >/dev/null || fail "A did not come back"
	wait_disk hp-b2 >/dev/null || fail "B did not come back"
	c=$(wait_disk hp-c) || fail "C did not come back"
	dd if="/dev/$c" of=/dev/null bs=1M count=4 iflag=direct status=none ||
		fail "reading C"
	ctl list
}

# SIGTERM with the transport loaded: the backend exits 0 and the guest
# sees every device removed by the backend (EV_DEV_REMOVED), not found
# gone by its keepalive.
backend_sigterm() {
	local rc=0 t0=$SECONDS n left
	if [[ -z $be_pid ]]; then
		printf 'not ok\tbackend_sigterm_removes_devices\tno backend\n' >>"$res"
		return
	fi
	dmesg -c >/dev/null
	kill -TERM "$be_pid"
	timeout 10 tail --pid="$be_pid" -f /dev/null || true
	if kill -0 "$be_pid" 2>/dev/null; then
		kill -KILL "$be_pid"
		printf 'not ok\tbackend_sigterm_removes_devices\tstill running 10 s after SIGTERM\n' >>"$res"
		wait "$be_pid"
		return
	fi
	wait "$be_pid" || rc=$?
	# The transport says "removed by backend" for each device as it
	# takes the device's EV_DEV_REMOVED; one its keepalive found gone
	# first never does.  Wait (up to 60 s) for the three and the disks
	# to go.
	for _ in $(seq 300); do
		n=$(dmesg | grep -c 'removed by backend domain 0')
		left=$(vd_disks)
		[[ $n -ge 3 && -z $left ]] && break
		sleep 0.2
	done
	dmesg | tail -n 20 >"$cases/backend_sigterm_removes_devices.log"
	if [[ $rc -eq 0 && $n -eq 3 && -z $left ]]; then
		printf 'ok\tbackend_sigterm_removes_devices\t%ss\n' \
			"$((SECONDS - t0))" >>"$res"
	else
		printf 'not ok\tbackend_sigterm_removes_devices\texit status %s, %s devices removed by the backend, disks left: %s\n' \
			"$rc" "$n" "$left" >>"$res"
	fi
}

transport_unloads() {
	rmmod virtio_blk
	rmmod virtio_argo
	dmesg | tail -n 10
}

# Nothing above info but what the rejected file caused.
backend_log_clean() {
	cat "$belog"
	! grep -E ': (warn|error): ' "$belog" | grep -v 'backend.conf'
}

# ------------------------------------------------------------ run

note "start"
make_images && start_backend || fatal="the backend did not start"
t_case backend_serves_control_socket \
	backend_wait_log "$belog" 'info: serving 1 frontend' "$sock" ||
	fatal="the backend did not start"
t_case two_disks_appear two_disks || fatal="the disks did not appear"
t_case fio_runs_on_disk_a fio_a_starts
t_case added_disk_appears add_appears
t_case added_disk_passes_fio_verify added_works
t_case removed_disk_fails_fio_with_io_errors remove_fails_io
t_case removed_disk_disappears removed_disappears
t_case disk_a_unaffected_fio_verify_passes other_unaffected
t_case readded_at_same_index_works readd_same_index
t_case config_reload_adds_disk reload_adds
t_case config_with_error_rejected reload_rejected
t_case config_reload_removes_disk_under_fio reload_removes
t_case frontend_gone_and_back frontend_gone_and_back
backend_sigterm
t_case transport_unloads transport_unloads
t_case backend_log_has_no_warnings backend_log_clean
rmmod argo || note "rmmod argo failed"
note "done"
exit 0
