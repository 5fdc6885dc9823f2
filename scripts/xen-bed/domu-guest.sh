# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# scripts/xen-bed/domu-guest.sh: the domU's part of the scenario "dom0 and a
# PV domU" (scripts/xen-bed/domu.sh), run by the domU's init
# (scripts/xen-bed/domu-init).  Its cases are named domu_*; its lines reach
# the host through dom0, which relays the domU's console.  "# sync: WHAT"
# lines ask dom0 to act.
#
# argo: argo.ko on the real hypervisor in a PV domU, ping to dom0's pong (a
# ring for this domU only) at 56 B to 1 MiB, then a pong of its own (a ring
# for dom0 only) that dom0 pings.  virtio-blk: virtio_argo.ko backend=0
# finds the backend's disk in dom0 and virtio_blk binds (vda, its size and
# serial); ext4 with files read back after unmount, drop_caches and mount;
# e2fsck -fn; fio with crc32c verify at 4 KiB and 1 MiB, depth 1 and 16 on
# the raw disk; the backend killed under fio (fio fails, no hang, the device
# lost), started again (the device live, fio verify passes); the transport
# unloaded and loaded again.  virtio-console: the backend's port in dom0
# (a unix socket) is the domU's hvc1, a line each way.  virtio-net: the
# backend's tap in dom0, ping and 32 MiB by TCP each way (bulk.py); on a
# failure or a stall the transport's counters and TCP's state.

# shellcheck source=scripts/xen-bed/lib.sh
. /xen-bed/lib.sh

ko=/xen-bed/ko
port=7000
my_port=7001
pong_ring=4194304
sizes=(56 4096 65536 1048576)
count=3
serial=xenbed-blk
img_bytes=$((64 << 20))
mnt=/mnt
# Bounds under TCG on a busy machine: fio must end this long after the
# backend's death (the transport's keepalive is 1 s), and the device must
# be back this long after dom0 was asked to start the backend again.
bound_dead=60
bound_back=300

sync_ask() { # WHAT
	xb_note "sync: $1"
}

# ---- argo ----

enabled() {
	dmesg | grep -E 'argo: Xen Argo is enabled \(domid [1-9][0-9]*\)'
}

info() {
	argo info || return 1
	argo info | grep -Eq '^provider: +xen$' &&
		argo info | grep -Eq '^domain: +[1-9][0-9]*$'
}

ping() { # SIZE
	argo ping --to "0:$port" --size "$1" -c "$count" -i 0.1 -W 60
}

ping_case() { # SIZE
	local n=domu_ping_dom0_$1
	xb_case "$n" ping "$1" &&
		xb_check "${n}_no_loss" grep -q \
			"^$count transmitted, $count received, 0% loss, 0 errors" \
			"/tmp/cases/$n.log"
}

pong_pid=''
pong_start() {
	argo pong --port "$my_port" --partner 0 --ring-size "$pong_ring" \
		-c $((count * ${#sizes[@]})) -q >/tmp/pong.log 2>&1 &
	pong_pid=$!
	xb_wait 120 grep -q '^pong: serving' /tmp/pong.log || {
		cat /tmp/pong.log
		return 1
	}
	cat /tmp/pong.log
	grep -q '(partner 0)' /tmp/pong.log
}

# dom0's pings end the pong: it serves exactly that many.
pong_done() {
	local rc=0
	xb_wait 900 bash -c "! kill -0 $pong_pid" || {
		kill -TERM "$pong_pid"
		rc=1
	}
	wait "$pong_pid" || rc=1
	cat /tmp/pong.log
	[[ $rc -eq 0 ]] &&
		grep -q "^pong: $((count * ${#sizes[@]})) requests served" /tmp/pong.log
}

# ---- virtio-blk ----

D=''
# The disk with our serial, in D.
find_disk() {
	local s
	D=''
	for s in /sys/block/vd*/serial; do
		[[ -f $s && $(cat "$s") == "$serial" ]] || continue
		D=$(basename "${s%/serial}")
		[[ -b /dev/$D ]] && return 0
	done
	return 1
}

states() {
	cat /sys/devices/platform/virtio-argo.*/state 2>/dev/null
}

all_live() {
	[[ -n $(states) ]] && ! states | grep -qv '^live$'
}

transport_load() {
	# What virtio_argo.ko needs from the kernel's modules (insmod does not
	# load them).
	modprobe -a virtio virtio_ring || return 1
	insmod "$ko/virtio_argo.ko" backend=0 || {
		dmesg | tail -n 5
		return 1
	}
	modprobe virtio_blk || return 1
	xb_wait 120 find_disk || {
		ls /sys/block /sys/bus/platform/devices
		return 1
	}
	echo "disk /dev/$D"
	local b
	for b in /sys/devices/platform/virtio-argo.*; do
		echo "$b: backend_domain $(cat "$b/backend_domain"), state $(cat "$b/state")"
		[[ $(cat "$b/backend_domain") == 0 ]] || return 1
	done
	all_live
}

disk_right() {
	find_disk || return 1
	local size
	size=$(($(cat "/sys/block/$D/size") * 512))
	echo "/dev/$D: $size bytes, serial $(cat "/sys/block/$D/serial"), driver $(basename "$(readlink "/sys/block/$D/device/driver")")"
	[[ $size -eq $img_bytes ]] &&
		[[ $(basename "$(readlink "/sys/block/$D/device/driver")") == virtio_blk ]]
}

ext4_write() {
	local i
	mkfs.ext4 -q -F "/dev/$D" || return 1
	mkdir -p "$mnt"
	mount -t ext4 "/dev/$D" "$mnt" || return 1
	for ((i = 0; i < 12; i++)); do
		head -c $((i * 300000 + 4097)) /dev/urandom >"$mnt/f$i" || return 1
	done
	(cd "$mnt" && sha256sum f*) >/tmp/files.sha
	du -sh "$mnt"
	umount "$mnt"
}

ext4_read_back() {
	echo 3 >/proc/sys/vm/drop_caches
	mount -t ext4 "/dev/$D" "$mnt" || return 1
	(cd "$mnt" && sha256sum -c /tmp/files.sha) || {
		umount "$mnt"
		return 1
	}
	umount "$mnt"
}

# fio NAME BS DEPTH SIZE: random writes (sequential at 1 MiB) with crc32c
# in every block, read back and checked.
fio_verify() {
	local rw=randwrite
	[[ $2 == 1M ]] && rw='write'
	local rc=0
	fio --name="$1" --filename="/dev/$D" --ioengine=libaio --direct=1 \
		--rw="$rw" --bs="$2" --iodepth="$3" --size="$4" \
		--verify=crc32c --do_verify=1 --verify_fatal=1 \
		>/tmp/fio-"$1".out 2>&1 || rc=$?
	grep -E 'err=|verify|READ:|WRITE:' /tmp/fio-"$1".out
	[[ $rc -eq 0 ]] || tail -n 20 /tmp/fio-"$1".out
	[[ $rc -eq 0 ]] && grep -q 'err= 0' /tmp/fio-"$1".out
}

# ---- virtio-console ----

# virtio_console's port is the domU's second hvc (hvc0 is Xen's own
# console): it opens once the port is there.
con=/dev/hvc1
console_load() {
	modprobe virtio_console || return 1
	xb_wait 120 stty -F "$con" raw -echo || {
		dmesg | grep -E 'hvc|virtio_console' | tail -n 5
		return 1
	}
	stty -F "$con" -a | head -n 2
}

# A line from dom0 (its client on the backend's socket) arrives on hvc1;
# the domU answers with a line of its own, which dom0 checks.
console_both_ways() {
	local p rc=0
	# One open for both: the hvc's settings go back to the defaults at
	# the last close.
	{ stty raw -echo && timeout 300 head -n 1; } <"$con" >/tmp/con-in &
	p=$!
	sync_ask "console ready"
	wait "$p" || rc=$?
	echo "read: $(cat /tmp/con-in) (exit status $rc)"
	[[ $rc -eq 0 ]] && grep -qx 'from dom0 xenbed-console' /tmp/con-in &&
		echo 'from the domU xenbed-console' >"$con"
}

# ---- virtio-net ----

mac=52:54:00:99:00:01
ip_dom0=10.99.0.1
ip_domu=10.99.0.2
bulk_bytes=$((32 << 20))
IF=''
iface_of_mac() {
	local i
	for i in /sys/class/net/*; do
		[[ $(cat "$i/address") == "$mac" ]] || continue
		IF=${i##*/}
		return 0
	done
	return 1
}

net_up() {
	modprobe virtio_net || return 1
	xb_wait 120 iface_of_mac || {
		ip link
		return 1
	}
	ip addr add "$ip_domu/24" dev "$IF" &&
		ip link set "$IF" up || return 1
	xb_wait 120 command ping -c 1 -W 2 "$ip_dom0" || {
		echo "no answer from $ip_dom0 in 120 s:"
		ip addr show "$IF"
		ip neigh
		net_evidence
		return 1
	}
	command ping -c 5 -i 0.2 "$ip_dom0"
}

# What a transfer cost, printed after each: the transport's counters of
# every device (one line each) and TCP's retransmissions.
net_counters() {
	local d f line
	for d in /sys/devices/platform/virtio-argo.*; do
		line="${d##*/} $(cat "$d/state")"
		for f in "$d"/stats/*; do
			line+=" ${f##*/}=$(cat "$f")"
		done
		echo "$line"
	done
	awk '$1 == "Tcp:" && !h { h = $0; next } $1 == "Tcp:" { n = split(h, k); for (i = 2; i <= n; i++) if (k[i] ~ /RetransSegs|InErrs|OutRsts/) printf "%s=%s ", k[i], $i; print "" }' /proc/net/snmp
	argo info | grep 'ended by the poll'
}

# And TCP's view: what a stall leaves to look at.
net_evidence() {
	net_counters
	ss -tin
	cat /proc/net/tcp
	ip -s link show "$IF"
}

# dom0 sends: the domU receives, every byte equal.
net_recv() {
	local p rc=0
	python3 /xen-bed/bulk.py recv 5001 "$bulk_bytes" 240 >/tmp/bulk-recv.out 2>&1 &
	p=$!
	# dom0 waits for one answer or the other.
	xb_wait 60 grep -q listening /tmp/bulk-recv.out || {
		sync_ask "net failed"
		cat /tmp/bulk-recv.out
		return 1
	}
	sync_ask "net ready"
	wait "$p" || rc=$?
	cat /tmp/bulk-recv.out
	net_counters
	[[ $rc -eq 0 ]] || net_evidence
	[[ $rc -eq 0 ]]
}

# The domU sends to dom0; if it is still sending after 200 s, the counters
# at that moment.
net_send() {
	local p rc=0
	python3 /xen-bed/bulk.py send "$ip_dom0" 5002 "$bulk_bytes" 240 \
		>/tmp/bulk-send.out 2>&1 &
	p=$!
	if ! xb_wait 200 bash -c "! kill -0 $p"; then
		echo "still sending after 200 s; now:"
		net_evidence
	fi
	wait "$p" || rc=$?
	cat /tmp/bulk-send.out
	net_counters
	[[ $rc -eq 0 ]] || net_evidence
	[[ $rc -eq 0 ]]
}

# ---- the backend killed under fio ----

fio_pid=''
io_count() {
	awk '{ print $1 + $5 }' "/sys/block/$D/stat"
}

io_since() { # BASE N: N more I/Os done since BASE
	[[ $(io_count) -ge $(($1 + $2)) ]]
}

# fio without verification on the disk; once it has done some I/O, dom0 is
# asked to kill the backend; fio must end with an I/O error within
# bound_dead, and every device reads lost.
kill_under_fio() {
	local base t0 rc=0
	base=$(io_count)
	fio --name=kill --filename="/dev/$D" --ioengine=libaio --direct=1 \
		--rw=randrw --bs=4k --iodepth=4 --size=16M --time_based \
		--runtime=1200 >/tmp/fio-kill.out 2>&1 &
	fio_pid=$!
	xb_wait 300 io_since "$base" 50 || {
		echo "fio did no I/O: $(io_count) I/Os, $base before"
		kill -KILL "$fio_pid"
		cat /tmp/fio-kill.out
		return 1
	}
	echo "$(($(io_count) - base)) I/Os before the kill"
	t0=$(xb_now)
	sync_ask "kill the backend"
	xb_wait $((bound_dead + 60)) bash -c "! kill -0 $fio_pid" || {
		echo "fio still running $((bound_dead + 60)) s after asking for the kill"
		kill -KILL "$fio_pid"
		return 1
	}
	wait "$fio_pid" || rc=$?
	echo "fio ended $(($(xb_now) - t0)) s after asking for the kill, exit status $rc"
	grep -iE 'err|error' /tmp/fio-kill.out | head -n 5
	states | sort | uniq -c
	dmesg | grep 'virtio_argo' | tail -n 5
	[[ $rc -ne 0 && $(($(xb_now) - t0)) -le $bound_dead ]] &&
		! states | grep -qv '^lost$'
}

come_back() {
	local t0
	t0=$(xb_now)
	sync_ask "start the backend"
	xb_wait "$bound_back" all_live || {
		states | sort | uniq -c
		return 1
	}
	xb_wait 60 find_disk || return 1
	echo "live $(($(xb_now) - t0)) s after asking for the start; disk /dev/$D"
	dmesg | grep 'virtio_argo' | tail -n 3
}

transport_unload() {
	rmmod virtio_argo || return 1
	! ls /sys/devices/platform/virtio-argo.* 2>/dev/null && ! find_disk
}

# ---- the cases ----

if xb_case domu_insmod_argo insmod "$ko/argo.ko"; then
	xb_case domu_xen_argo_enabled enabled
	xb_case domu_argo_info info
	for s in "${sizes[@]}"; do
		ping_case "$s"
	done
	if xb_case domu_pong_start pong_start; then
		sync_ask "domu pong serving"
		xb_case domu_pong_served pong_done
	fi
fi

if xb_case domu_transport_load transport_load; then
	xb_case domu_vda_size_serial disk_right
	xb_case domu_ext4_write ext4_write &&
		xb_case domu_ext4_read_back ext4_read_back
	xb_case domu_e2fsck e2fsck -fn "/dev/$D"
	xb_case domu_fio_4k_qd1 fio_verify 4k-qd1 4k 1 1M
	xb_case domu_fio_4k_qd16 fio_verify 4k-qd16 4k 16 2M
	xb_case domu_fio_1m_qd1 fio_verify 1m-qd1 1M 1 8M
	xb_case domu_fio_1m_qd16 fio_verify 1m-qd16 1M 16 16M
	if xb_case domu_console_load console_load; then
		xb_case domu_console_both_ways console_both_ways
	fi
	# Left out with VA_XEN_BED_ARGS=xenbed_net=0 on the host.
	if [[ ${xenbed_net:-1} == 1 ]]; then
		if xb_case domu_net_up net_up; then
			xb_case domu_net_from_dom0 net_recv
			xb_case domu_net_to_dom0 net_send
		else
			sync_ask "net failed"
		fi
	fi
	if xb_case domu_backend_sigkill_fio_fails kill_under_fio; then
		if xb_case domu_backend_back come_back; then
			xb_case domu_fio_after_restart fio_verify restart 4k 4 1M
		fi
	fi
	xb_case domu_transport_unload transport_unload
	xb_case domu_transport_reload transport_load
	xb_case domu_vda_after_reload disk_right
	xb_case domu_transport_unload_2 transport_unload
fi
xb_end
