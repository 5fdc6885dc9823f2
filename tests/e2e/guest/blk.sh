#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/e2e/guest/blk.sh: the inside of tests/e2e/blk.sh, run as the init
# script of one UML boot (scripts/uml-run.sh).  Not meant to be run alone,
# and never on the host: it mounts file systems and loads modules.  (It
# lives in guest/ so that scripts/test.sh, which runs tests/e2e/*.sh, does
# not take it for a test.)
#
# Two virtual domains of the loopback provider in one kernel: the backend
# (tools/virtio-argo-backend) serves two disk images from tmpfs as domain
# 0, virtio_argo.ko acts as domain 1 and the kernel's own virtio_blk binds
# to the devices it registers.  Then the disks are used as a guest would
# use them: ext4, fio with verification, discard, write-zeroes, a
# read-only disk, and the transport's counters, unloading and the
# backend's SIGTERM.  Last, a second backend goes away under load (SIGTERM;
# with the small rings also SIGKILL): every request must then fail
# promptly and nothing may hang.
#
# Environment (kernel parameters from blk.sh):
#   va_blk_mode   "default" (default ring sizes) or "small" (the smallest
#                 rings the protocol allows on both sides, 16 KiB, so that
#                 sends meet a full ring all the time)
#   va_kodir      argo.ko and virtio_argo.ko, built for this kernel
#   va_backend    the virtio-argo-backend binary
#   va_fio_scale  multiplier for the fio sizes (default 1)
#
# Results: $va_result/results.tsv, one line per case: "ok" or "not ok", a
# tab, the case name, a tab, a note; each case's output in
# $va_result/cases/NAME.log, the backend's log in $va_result/backend.log.
# blk.sh turns them into KTAP and adds the cases that never reported.

# The cases are functions called through t_case.
# shellcheck disable=SC2317

if ! grep -qw 'va_blk_mode=[a-z]*' /proc/cmdline 2>/dev/null; then
	echo "${0##*/}: the init script of tests/e2e/blk.sh inside UML" >&2
	exit 2
fi

# shellcheck source=scripts/uml/init-common.sh
. "${va_root:?}/scripts/uml/init-common.sh"
set -uo pipefail
# shellcheck source=scripts/uml/e2e-guest.sh
. "$va_root/scripts/uml/e2e-guest.sh"
va_e2e_guest_init blk

mode=${va_blk_mode:?}
kodir=${va_kodir:?}
backend=${va_backend:?}
scale=${va_fio_scale:-1}

ring_opt='' data_ring_param=''
if [[ $mode == small ]]; then
	ring_opt=,ring-size=16384
	data_ring_param=data_ring=16384
fi

rw_img=$work/rw.img
ro_img=$work/ro.img
rw_size=$((512 << 20))
ro_size=$((4 << 20))
rw_dev='' ro_dev=''

# ------------------------------------------------------------ the setup

# The two images, in tmpfs (so that hole punching can be seen), and the
# read-only one's checksum.
make_images() {
	truncate -s "$rw_size" "$rw_img"
	head -c "$ro_size" /dev/urandom >"$ro_img"
	sha256sum <"$ro_img" | cut -d' ' -f1 >"$work/ro.sha"
}

# The backend as domain 0; started from the main shell (not a case's
# subshell), so that backend_sigterm_exits_0 can wait for it.
start_backend() {
	insmod "$kodir/argo.ko" provider=loopback || return 1
	"$backend" --domain 0 --log-level info \
		--blk "frontend=1,file=$rw_img,serial=e2e-rw$ring_opt" \
		--blk "frontend=1,file=$ro_img,serial=e2e-ro,readonly=on$ring_opt" \
		2>"$va_result/backend.log" &
	be_pid=$!
}

# The disk whose serial is $1 (GET_ID through the transport).
find_disk() {
	local s
	for s in /sys/block/vd*/serial; do
		[[ -f $s && $(cat "$s") == "$1" ]] && basename "${s%/serial}"
	done
	return 0
}

# virtio_argo.ko as domain 1 finds the backend's two devices and registers
# them; the stock virtio_blk binds to both: the disks appear with the
# images' sizes and serials.
transport_and_blk() {
	local d n
	# shellcheck disable=SC2086 # empty or one parameter
	insmod "$kodir/virtio_argo.ko" domain=1 backend=0 $data_ring_param
	n=0
	for d in /sys/bus/platform/devices/virtio-argo.*; do
		[[ $(cat "$d/backend_domain") == 0 ]] || fail "$d: backend_domain"
		n=$((n + 1))
	done
	[[ $n -eq 2 ]] || fail "$n virtio-argo devices, expected 2"
	va_modprobe virtio_blk
	for _ in $(seq 100); do
		rw_dev=$(find_disk e2e-rw) ro_dev=$(find_disk e2e-ro)
		[[ -n $rw_dev && -n $ro_dev && -b /dev/$rw_dev && -b /dev/$ro_dev ]] &&
			break
		sleep 0.1
	done
	[[ -n $rw_dev && -n $ro_dev ]] || fail "disks did not appear: $(ls /sys/block)"
	for d in /sys/bus/virtio/devices/*; do
		[[ $(basename "$(readlink "$d/driver")") == virtio_blk ]] ||
			fail "$d: not bound to virtio_blk"
	done
	echo "rw disk /dev/$rw_dev, read-only disk /dev/$ro_dev"
	echo "$rw_dev $ro_dev" >"$work/disks"
	dmesg | grep -E 'virtio[-_]argo|virtio_blk|vd[a-z]' || true
	[[ $(cat "/sys/block/$rw_dev/size") -eq $((rw_size / 512)) ]] ||
		fail "rw size $(cat "/sys/block/$rw_dev/size") sectors"
	[[ $(cat "/sys/block/$ro_dev/size") -eq $((ro_size / 512)) ]] ||
		fail "ro size $(cat "/sys/block/$ro_dev/size") sectors"
	[[ $(cat "/sys/block/$rw_dev/ro") == 0 ]] || fail "rw disk is read-only"
	[[ $(cat "/sys/block/$ro_dev/ro") == 1 ]] || fail "ro disk is writable"
	# FLUSH offered: the block layer has a volatile write cache.
	[[ $(cat "/sys/block/$rw_dev/queue/write_cache") == "write back" ]] ||
		fail "no flush: $(cat "/sys/block/$rw_dev/queue/write_cache")"
}

# ------------------------------------------------------------ ext4

sizes=(0 1 511 512 4095 4096 65537 $(((1 << 20) + 3)) $((8 << 20)))
mnt=$work/mnt

ext4_write_drop_read() {
	local s
	mkfs.ext4 -q -F "/dev/$rw_dev"
	mkdir -p "$mnt"
	mount -n -t ext4 "/dev/$rw_dev" "$mnt"
	mkdir "$mnt/d"
	for s in "${sizes[@]}"; do
		head -c "$s" /dev/urandom >"$mnt/d/f$s"
	done
	(cd "$mnt/d" && sha256sum f*) >"$work/files.sha"
	sync
	echo 3 >/proc/sys/vm/drop_caches
	# Every byte now comes from the backend again.
	(cd "$mnt/d" && sha256sum -c --strict "$work/files.sha")
	for s in "${sizes[@]}"; do
		[[ $(stat -c %s "$mnt/d/f$s") -eq $s ]] || fail "f$s: size"
	done
	cat "$work/files.sha"
}

ext4_umount_fsck() {
	umount -n "$mnt"
	e2fsck -fn "/dev/$rw_dev"
}

ext4_remount_read() {
	mount -n -t ext4 -o ro "/dev/$rw_dev" "$mnt"
	(cd "$mnt/d" && sha256sum -c --strict "$work/files.sha")
	umount -n "$mnt"
}

# ------------------------------------------------------------ fio

# fio_verify NAME [FIO OPTIONS]: write with crc32c verification headers,
# read everything back and verify, on the raw rw disk; fails on fio's exit
# status, on any job error and if nothing was written or read back.
fio_verify() {
	local name=$1 json=$cases/$1.json rc=0
	shift
	fio --name="$name" --filename="/dev/$rw_dev" --ioengine=libaio \
		--direct=1 --verify=crc32c --do_verify=1 --verify_fatal=1 \
		--output-format=json --output="$json" "$@" || rc=$?
	if [[ $rc -ne 0 ]]; then
		cat "$json"
		fail "fio exit status $rc"
	fi
	python3 - "$json" <<'EOF'
import json, sys
# fio may print warnings before the JSON (with numjobs: "multiple writers
# may overwrite blocks", which offset_increment makes untrue here).
t = open(sys.argv[1]).read()
d = json.loads(t[t.index("{"):])
bad = 0
want = int(d["jobs"][0]["job options"].get("numjobs", "1"))
if len(d["jobs"]) != want:
    print("%d jobs reported, %d expected" % (len(d["jobs"]), want))
    bad = 1
for j in d["jobs"]:
    w, r = j["write"], j["read"]
    print("%s: error %d, written %d bytes (%d ios, clat mean %.0f us), "
          "read %d bytes (%d ios)" % (j["jobname"], j["error"],
          w["io_bytes"], w["total_ios"], w["clat_ns"]["mean"] / 1000,
          r["io_bytes"], r["total_ios"]))
    if j["error"] != 0 or w["io_bytes"] == 0 or r["io_bytes"] == 0:
        bad = 1
    # Everything written is read back for verification.
    if j["job options"].get("rw") in ("write", "randwrite") and \
            r["io_bytes"] < w["io_bytes"]:
        print("read back less than written")
        bad = 1
sys.exit(bad)
EOF
}

mib() {
	echo "$(($1 * scale))M"
}

# Each job has a region of the 512 MiB disk of its own, so that none can
# pass by reading what an earlier one wrote (fio's seeds repeat).
fio_seq_512() {
	fio_verify seq512 --rw=write --bs=512 --iodepth=1 \
		--offset=0 --size="$(mib 2)"
}

fio_rand_4k() {
	fio_verify rand4k --rw=randwrite --bs=4k --iodepth=8 \
		--offset=8M --size="$(mib 16)"
}

fio_randrw_64k() {
	fio_verify randrw64k --rw=randrw --rwmixread=30 --bs=64k \
		--iodepth=64 --offset=24M --size="$(mib 32)"
}

fio_seq_1m() {
	fio_verify seq1m --rw=write --bs=1m --iodepth=8 \
		--offset=56M --size="$(mib 64)"
}

fio_rand_1m() {
	fio_verify rand1m --rw=randwrite --bs=1m --iodepth=64 \
		--offset=120M --size="$(mib 64)"
}

fio_rand_mixed() {
	fio_verify randmixed --rw=randwrite --bsrange=512-1m \
		--iodepth=64 --offset=184M --size="$(mib 32)"
}

# Four submitters at once on the one virtqueue, each in its own 8 MiB.
fio_parallel() {
	fio_verify parallel --rw=randrw --rwmixread=30 --bsrange=512-256k \
		--iodepth=16 --numjobs=4 --offset=216M --offset_increment=8M \
		--size="$(mib 8)"
}

# ------------------------------------------------------------ discard

# Random data on 8 MiB of the rw disk, then the operation: the image's
# allocated blocks shrink by at least that much (the backend punched
# holes) and the range reads back as zeros.
punch_check() { # blkdiscard options
	local off=$((480 << 20)) len=$((8 << 20)) before after
	dd if=/dev/urandom of="/dev/$rw_dev" bs=1M seek=480 count=8 \
		oflag=direct conv=notrunc status=none
	before=$(stat -c %b "$rw_img")
	blkdiscard "$@" -o "$off" -l "$len" "/dev/$rw_dev"
	after=$(stat -c %b "$rw_img")
	echo "image blocks (512 B): $before before, $after after"
	dd if="/dev/$rw_dev" bs=1M skip=480 count=8 iflag=direct status=none |
		cmp -n "$len" - /dev/zero || fail "range does not read as zeros"
	if [[ ${1:-} != -z ]]; then
		[[ $((before - after)) -ge $((len / 512)) ]] ||
			fail "only $((before - after)) blocks freed"
	fi
}

discard_punches() {
	grep -qx '[1-9][0-9]*' "/sys/block/$rw_dev/queue/discard_max_bytes" ||
		fail "discard not offered"
	punch_check
}

write_zeroes_zeros() {
	grep -qx '[1-9][0-9]*' "/sys/block/$rw_dev/queue/write_zeroes_max_bytes" ||
		fail "write-zeroes not offered"
	punch_check -z
}

# ------------------------------------------------------------ read-only

ro_write_fails() {
	local err
	if err=$(dd if=/dev/zero of="/dev/$ro_dev" bs=4096 count=1 \
		oflag=direct conv=notrunc 2>&1); then
		fail "write to the read-only disk succeeded"
	fi
	echo "dd: $err"
	[[ $err == *'Operation not permitted'* || $err == *'Input/output error'* ]] ||
		fail "unexpected error"
	if err=$(blkdiscard "/dev/$ro_dev" 2>&1); then
		fail "discard on the read-only disk succeeded"
	fi
	echo "blkdiscard: $err"
	[[ $(sha256sum <"$ro_img" | cut -d' ' -f1) == $(cat "$work/ro.sha") ]] ||
		fail "read-only image changed"
}

ro_reads() {
	[[ $(dd if="/dev/$ro_dev" bs=64k iflag=direct status=none |
		sha256sum | cut -d' ' -f1) == $(cat "$work/ro.sha") ]] ||
		fail "read-only disk does not read back its image"
}

# ------------------------------------------------------------ counters

stat_of() { # DEV COUNTER
	cat "/sys/bus/platform/devices/$1/stats/$2"
}

rw_platform_dev() {
	local d
	d=$(readlink -f "/sys/block/$rw_dev/device")	# .../virtio-argo.N/virtioM
	basename "$(dirname "$d")"
}

show_counters() {
	local d c
	for d in /sys/bus/platform/devices/virtio-argo.*; do
		for c in "$d"/stats/*; do
			printf '%s %s %s\n' "${d##*/}" "${c##*/}" "$(cat "$c")"
		done
	done
}

# Every chain sent came back exactly once, nothing was dropped as
# malformed or stale, and bytes moved both ways.
counters_consistent() {
	local d
	show_counters | tee "$va_result/counters.txt"
	for d in /sys/bus/platform/devices/virtio-argo.*; do
		d=${d##*/}
		[[ $(stat_of "$d" tx_chains) -gt 0 ]] || fail "$d: no chains"
		[[ $(stat_of "$d" tx_chains) -eq $(stat_of "$d" rx_chains) ]] ||
			fail "$d: chains sent != completed"
		[[ $(stat_of "$d" malformed) -eq 0 ]] || fail "$d: malformed"
		[[ $(stat_of "$d" stale) -eq 0 ]] || fail "$d: stale"
		[[ $(stat_of "$d" rx_bytes) -gt 0 ]] || fail "$d: no bytes in"
	done
	d=$(rw_platform_dev)
	[[ $(stat_of "$d" tx_bytes) -gt $((64 << 20)) ]] ||
		fail "$d: fewer bytes out than fio wrote"
}

small_ring_waits() {
	local d
	d=$(rw_platform_dev)
	echo "$d: tx_eagain $(stat_of "$d" tx_eagain), tx_msgs $(stat_of "$d" tx_msgs), tx_chains $(stat_of "$d" tx_chains), rx_msgs $(stat_of "$d" rx_msgs), rx_chains $(stat_of "$d" rx_chains)"
	[[ $(stat_of "$d" tx_eagain) -gt 0 ]] || fail "never met a full ring"
	# Not now and then, as with the default rings (about 3 % of the
	# chains on two cores), but all the time (about 85 %).
	[[ $(($(stat_of "$d" tx_eagain) * 10)) -ge $(stat_of "$d" tx_chains) ]] ||
		fail "met a full ring for fewer than 10 % of the chains"
	# With 16 KiB rings a 1 MiB write needs many messages, and so does
	# a 1 MiB read's completion (with large rings, several chains share
	# a message instead).
	[[ $(stat_of "$d" tx_msgs) -gt $(stat_of "$d" tx_chains) ]] ||
		fail "chains were not split"
	[[ $(stat_of "$d" rx_msgs) -gt $(stat_of "$d" rx_chains) ]] ||
		fail "completions were not split"
}

# ------------------------------------------------------------ the end

transport_unloads() {
	rmmod virtio_argo
	[[ ! -e /dev/$rw_dev && ! -e /sys/block/$rw_dev ]] || fail "disk still there"
	dmesg | tail -n 20
}

backend_log_clean() {
	cat "$va_result/backend.log"
	! grep -E ': (warn|error): ' "$va_result/backend.log"
}

# ------------------------------------------------------------ the backend goes

# A second backend serves the rw image alone and goes away while fio keeps
# the transport busy: sends have met a full ring, so the transport is
# waiting for space on a ring that then vanishes, and Xen (like the
# loopback provider) drops that wake-up with the ring.  Every request must
# then fail promptly, nothing may hang, and the transport must unload.
#
# gone (both boots): SIGTERM.  The backend stops reading its rings, fails
# the chains it was receiving, sends its completions, tells the frontend
# its device is removed (EV_DEV_REMOVED) and exits 0; the transport fails
# the device's requests and removes it.
#
# killed (small rings): SIGKILL, a backend that dies without a word.  The
# transport's keepalive would find it gone within a second; it is set to a
# minute here, so that only the argo core's poll of its senders' waits
# (once a second) can wake the waiting sender, whose retry gets
# -ECONNREFUSED and marks the device lost.
#
# Nothing here waits for a process without a bound: a request that never
# completes leaves its process unkillable, so the processes run in the
# background (bg_run) and are only ever waited for by polling for the exit
# status they leave in $sc_dir/NAME.rc.  sc_* say which scenario runs.
sc='' sc_dir='' sc_log='' sc_mark=''

# The bounds the scenarios check (ms): mostly work, for a machine ten
# times slower than an idle one (with a CPU five times slower, in the
# small rings' "gone": the backend's exit 8.8 s after SIGTERM, fio's end
# 14 s after it, the read 6.4 s, rmmod 5.2 s), and all well below the
# minute of "killed"'s keepalive, so that there only the argo core's
# poll can end the waits in time.
bound_exit=30000	# SIGTERM to exit: its stop (5 s at most), the flush
bound_fio=40000		# the signal to fio's end
bound_read=30000	# a later read, with its process's start and end
bound_rmmod=40000	# rmmod virtio_argo

scenario() { # NAME
	sc=$1
	sc_dir=$work/$1
	sc_log=$va_result/backend-$1.log
	sc_mark="e2e-blk: backend_$1: signal"
}

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# bg_run NAME OUT CMD...: run CMD in the background, output to OUT; its pid
# in $sc_dir/NAME.pid (there when bg_run returns), later its exit status in
# $sc_dir/NAME.rc.
bg_run() {
	local name=$1 out=$2
	shift 2
	rm -f "$sc_dir/$name.pid" "$sc_dir/$name.rc"
	(
		rc=0
		"$@" &
		echo "$!" >"$sc_dir/$name.pid.new"
		mv "$sc_dir/$name.pid.new" "$sc_dir/$name.pid"
		wait "$!" || rc=$?
		echo "$rc" >"$sc_dir/$name.rc.new"
		mv "$sc_dir/$name.rc.new" "$sc_dir/$name.rc"
	) </dev/null >"$out" 2>&1 &
	for _ in $(seq 50); do
		[[ -s $sc_dir/$name.pid ]] && return 0
		sleep 0.1
	done
	fail "$name did not start"
}

# bg_wait NAME MS: whether NAME exited within MS milliseconds from now.
bg_wait() {
	local end=$(($(now_ms) + $2))
	while [[ ! -s $sc_dir/$1.rc ]]; do
		[[ $(now_ms) -lt $end ]] || return 1
		sleep 0.1
	done
}

bg_kill() { # NAME: SIGKILL it if it still runs
	[[ -s $sc_dir/$1.pid && ! -s $sc_dir/$1.rc ]] &&
		kill -KILL "$(cat "$sc_dir/$1.pid")" 2>/dev/null
	return 0
}

sc_dev() {
	cat "$sc_dir/disk"
}

sc_stats() {
	local d c
	d=$(cat "$sc_dir/platform")
	[[ -d /sys/bus/platform/devices/$d/stats ]] || {
		echo "($d is gone)"
		return 0
	}
	for c in tx_chains rx_chains tx_eagain; do
		printf '%s %s ' "$c" "$(stat_of "$d" "$c")"
	done
	echo "($d)"
}

# The backend, the transport (short control timeouts, so that nothing it
# asks a dead backend takes long; for "killed" a keepalive of a minute),
# the disk (serial e2e-$sc), and fio writing to it from four jobs at queue
# depth 32 each, without end (a run time it never reaches: the backend's
# going ends it, sc_cleanup otherwise); still running once requests
# complete and sends have met a full ring.
sc_setup() {
	local dev='' d ka=''
	mkdir -p "$sc_dir"
	bg_run backend "$sc_log" "$backend" --domain 0 --log-level info \
		--blk "frontend=1,file=$rw_img,serial=e2e-$sc$ring_opt"
	for _ in $(seq 100); do
		grep -q 'info: serving 1 frontend' "$sc_log" && break
		[[ ! -s $sc_dir/backend.rc ]] ||
			fail "backend exited: $(cat "$sc_log")"
		sleep 0.1
	done
	grep -q 'info: serving 1 frontend' "$sc_log" ||
		fail "backend not serving after 10 s"
	[[ $sc == killed ]] && ka=keepalive_ms=60000
	# shellcheck disable=SC2086 # empty or one parameter each
	insmod "$kodir/virtio_argo.ko" domain=1 backend=0 timeout_ms=1000 \
		$data_ring_param $ka
	for _ in $(seq 100); do
		dev=$(find_disk "e2e-$sc")
		[[ -n $dev && -b /dev/$dev ]] && break
		sleep 0.1
	done
	[[ -n $dev && -b /dev/$dev ]] || fail "disk did not appear: $(ls /sys/block)"
	echo "$dev" >"$sc_dir/disk"
	d=$(readlink -f "/sys/block/$dev/device")
	d=$(basename "$(dirname "$d")")
	echo "$d" >"$sc_dir/platform"
	echo "disk /dev/$dev on $d"
	bg_run fio "$sc_dir/fio.out" fio --name="$sc" --filename="/dev/$dev" \
		--ioengine=libaio --direct=1 --rw=randwrite --bsrange=4k-256k \
		--iodepth=32 --numjobs=4 --size=256M \
		--time_based --runtime=1000000 \
		--output-format=json --output="$sc_dir/fio.json"
	# Under way: requests complete, and sends have met a full ring (fio
	# keeps many times the ring in flight).
	sleep 3
	for _ in $(seq 300); do
		[[ ! -s $sc_dir/fio.rc ]] ||
			fail "fio ended before the backend went: $(cat "$sc_dir/fio.out")"
		[[ $(stat_of "$d" rx_chains) -ge 50 &&
			$(stat_of "$d" tx_eagain) -gt 0 ]] && break
		sleep 0.1
	done
	sc_stats
	[[ $(stat_of "$d" rx_chains) -ge 50 ]] ||
		fail "fewer than 50 requests completed"
	[[ $(stat_of "$d" tx_eagain) -gt 0 ]] || fail "sends never met a full ring"
}

# sc_signal SIG: send it to the backend, noting when.
sc_signal() {
	[[ -s $sc_dir/backend.pid ]] || fail "no backend"
	sc_stats
	echo "$sc_mark" >/dev/kmsg
	now_ms >"$sc_dir/t_signal"
	kill "-$1" "$(cat "$sc_dir/backend.pid")"
}

# SIGTERM: the backend exits 0 after its stop time (at most 5 s for
# completions the frontend does not take, then the flush), within
# bound_exit.
gone_sigterm() {
	local t0 rc
	sc_signal TERM
	t0=$(cat "$sc_dir/t_signal")
	if ! bg_wait backend "$bound_exit"; then
		bg_kill backend
		fail "backend still running $bound_exit ms after SIGTERM"
	fi
	rc=$(cat "$sc_dir/backend.rc")
	echo "backend exited $rc after $(($(now_ms) - t0)) ms"
	cat "$sc_log"
	[[ $rc -eq 0 ]] || fail "backend exit status $rc"
}

# fio ends within bound_fio of the signal (it would run on until stopped),
# every job with an I/O error: EIO, or for "gone" also ENXIO or
# ENODEV (the disk may be on its way out).
sc_fio_fails() {
	local t0 rc
	if [[ $sc == killed ]]; then
		sc_signal KILL
		bg_wait backend 10000 || fail "backend alive 10 s after SIGKILL"
	fi
	t0=$(cat "$sc_dir/t_signal")
	if ! bg_wait fio $((t0 + bound_fio - $(now_ms))); then
		sc_stats
		bg_kill fio
		fail "fio still running $bound_fio ms after the signal"
	fi
	rc=$(cat "$sc_dir/fio.rc")
	echo "fio exited $rc $(($(now_ms) - t0)) ms after the signal"
	cat "$sc_dir/fio.out"
	[[ $rc -ne 0 ]] || fail "fio succeeded"
	python3 - "$sc_dir/fio.json" "$sc" <<'EOF'
import errno, json, sys
t = open(sys.argv[1]).read()
d = json.loads(t[t.index("{"):])
ok = {errno.EIO}
if sys.argv[2] == "gone":
    ok |= {errno.ENXIO, errno.ENODEV}
bad = 0 if len(d["jobs"]) == 4 else 1
for j in d["jobs"]:
    print("%s: error %d, written %d bytes" % (j["jobname"], j["error"],
          j["write"]["io_bytes"]))
    if j["error"] not in ok:
        bad = 1
sys.exit(bad)
EOF
}

# The kernel log says the device was lost: a send to the vanished ring
# was refused, or the device was failed otherwise (removed by the
# backend, or found gone).
sc_lost_logged() {
	local line
	dmesg | sed -n "\\|$sc_mark|,\$p" >"$sc_dir/dmesg.txt"
	cat "$sc_dir/dmesg.txt"
	line=$(grep -E "virtio-argo\\.[0-9]+: (sending a request to backend domain 0 port 0x[0-9a-f]+ failed: -111; failing its requests|backend domain 0 lost: failing the device's requests)" \
		"$sc_dir/dmesg.txt" | head -n 1) || true
	[[ -n $line ]] || fail "no message that the backend was lost"
	echo "found: $line"
}

# A read later fails within bound_read (it takes about 2 s to start and
# end a process on a busy machine): with an I/O error, or for "gone", whose
# device the backend removed, because the disk is no more.
sc_dd_fails() {
	local t0 rc
	t0=$(now_ms)
	bg_run dd "$sc_dir/dd.out" dd if="/dev/$(sc_dev)" of=/dev/null bs=4k \
		count=1 iflag=direct
	if ! bg_wait dd "$bound_read"; then
		bg_kill dd
		fail "dd still running after $bound_read ms"
	fi
	rc=$(cat "$sc_dir/dd.rc")
	echo "dd exited $rc after $(($(now_ms) - t0)) ms"
	cat "$sc_dir/dd.out"
	[[ $rc -ne 0 ]] || fail "read from a disk whose backend is gone"
	grep -q 'Input/output error' "$sc_dir/dd.out" && return 0
	[[ $sc == gone && ! -e /sys/block/$(sc_dev) ]] &&
		grep -qE 'No such (file or directory|device)' "$sc_dir/dd.out" &&
		return 0
	fail "neither an I/O error nor a removed disk"
}

# The transport unloads within bound_rmmod; the disk goes away.
sc_unloads() {
	local t0 rc dev
	dev=$(sc_dev)
	t0=$(now_ms)
	bg_run rmmod "$sc_dir/rmmod.out" rmmod virtio_argo
	bg_wait rmmod "$bound_rmmod" ||
		fail "rmmod virtio_argo still running after $bound_rmmod ms"
	rc=$(cat "$sc_dir/rmmod.rc")
	echo "rmmod exited $rc after $(($(now_ms) - t0)) ms"
	cat "$sc_dir/rmmod.out"
	[[ $rc -eq 0 ]] || fail "rmmod failed"
	[[ ! -e /sys/block/$dev ]] || fail "disk still there"
	dmesg | tail -n 10
}

# What is left if a case failed: no backend on the image, no fio.
sc_cleanup() {
	local n
	[[ -d $sc_dir ]] || return 0
	for n in backend fio dd; do
		bg_kill "$n"
	done
}

# ------------------------------------------------------------ run

note "mode $mode"
make_images && start_backend || fatal="the backend did not start"
t_case backend_serves_two_disks \
	backend_wait_log "$va_result/backend.log" 'info: serving 1 frontend' ||
	fatal="the backend did not start"
t_case virtio_blk_binds_unmodified transport_and_blk ||
	fatal="the disks did not appear"
read -r rw_dev ro_dev <"$work/disks" 2>/dev/null
# The rest of the cases run in subshells: they read these.
export rw_dev ro_dev

t_case ext4_files_read_back_after_drop_caches ext4_write_drop_read
t_case e2fsck_clean_after_umount ext4_umount_fsck
t_case ext4_files_read_back_after_remount ext4_remount_read
t_case fio_write_512b_qd1_crc32c_verified fio_seq_512
t_case fio_randwrite_4k_qd8_crc32c_verified fio_rand_4k
t_case fio_randrw_64k_qd64_crc32c_verified fio_randrw_64k
t_case fio_write_1m_qd8_crc32c_verified fio_seq_1m
t_case fio_randwrite_1m_qd64_crc32c_verified fio_rand_1m
t_case fio_randwrite_512b_to_1m_qd64_crc32c_verified fio_rand_mixed
t_case fio_4_jobs_randrw_512b_to_256k_qd16_crc32c_verified fio_parallel
t_case discard_punches_holes_and_reads_zeros discard_punches
t_case write_zeroes_reads_zeros write_zeroes_zeros
t_case readonly_disk_refuses_writes ro_write_fails
t_case readonly_disk_reads_its_image ro_reads
t_case counters_consistent counters_consistent
if [[ $mode == small ]]; then
	t_case small_ring_sends_wait_for_space small_ring_waits
fi
t_case transport_unloads transport_unloads
backend_sigterm_exits_0
t_case backend_log_has_no_warnings backend_log_clean
scenario gone
t_case backend_gone_fio_running sc_setup
t_case backend_gone_sigterm_exits_0 gone_sigterm
t_case backend_gone_fio_fails_promptly sc_fio_fails
t_case backend_gone_transport_reports_lost sc_lost_logged
t_case backend_gone_read_fails_promptly sc_dd_fails
t_case backend_gone_transport_unloads sc_unloads
sc_cleanup
if [[ $mode == small ]]; then
	scenario killed
	t_case backend_killed_fio_running sc_setup
	t_case backend_killed_fio_fails_promptly sc_fio_fails
	t_case backend_killed_transport_reports_lost sc_lost_logged
	t_case backend_killed_read_fails_promptly sc_dd_fails
	t_case backend_killed_transport_unloads sc_unloads
	sc_cleanup
fi
rmmod argo || note "rmmod argo failed"
note "done"
exit 0
