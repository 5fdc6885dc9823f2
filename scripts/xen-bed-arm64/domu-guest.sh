# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# scripts/xen-bed-arm64/domu-guest.sh: the domU's part of the scenario
# "dom0 and a domU" of the arm64 Xen test bed (dom0's part:
# scripts/xen-bed-arm64/domu.sh), run by the domU's init
# (scripts/xen-bed-arm64/domu-init).  Case names start with domu_.
#
# argo.ko loads with the xen provider and says the domU's own domain id;
# `argo ping` reaches dom0's pong at 56 B to 1 MiB; its own `argo pong
# --partner 0` serves dom0's pings (it says "# sync: domu pong serving" and
# waits until it has served them all).  Then virtio-blk: `insmod
# virtio_argo.ko backend=0` finds dom0's disk, virtio_blk binds (size and
# serial), data written and read back with and without O_DIRECT, the
# transport unloaded and loaded again (the data still there), unloaded; the
# SHA-256 of one block goes to dom0 in "# sync: image sha256 HASH", which
# dom0 compares with its image file.

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
transport_args=(backend=0)

# shellcheck source=scripts/xen-bed-arm64/blk-lib.sh
. /xen-bed/blk-lib.sh

me=''
enabled() {
	dmesg | grep 'argo: Xen Argo is enabled' || return 1
	me=$(dmesg | sed -n 's/.*argo: Xen Argo is enabled (domid \([0-9]*\)).*/\1/p' | tail -n1)
	[[ -n $me && $me != 0 ]]
}

info() {
	argo info || return 1
	argo info | grep -Eq '^provider: +xen$' &&
		argo info | grep -Eq "^domain: +$me\$"
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
}

# dom0 pings; pong exits once it has served them all.
pong_done() {
	local rc=0
	xb_wait 600 bash -c "! kill -0 $pong_pid" || {
		cat /tmp/pong.log
		kill -TERM "$pong_pid"
		return 1
	}
	wait "$pong_pid" || rc=$?
	cat /tmp/pong.log
	[[ $rc -eq 0 ]] &&
		grep -q "^pong: $((count * ${#sizes[@]})) requests served" /tmp/pong.log
}

xb_case domu_insmod_argo insmod "$ko/argo.ko"
xb_case domu_xen_argo_enabled enabled
xb_case domu_argo_info info
for s in "${sizes[@]}"; do
	ping_case "$s"
done
if xb_case domu_pong_start pong_start; then
	xb_note "sync: domu pong serving"
	xb_case domu_pong_served pong_done
fi

if xb_case domu_transport_load transport_load; then
	xb_case domu_vda_size_serial disk_right
	xb_case domu_blk_4k_direct write_read 4k_direct 4096 128 0 1
	xb_case domu_blk_1m_direct write_read 1m_direct 1048576 8 4 1
	xb_case domu_blk_1m_buffered write_read 1m_buffered 1048576 8 32 0
	xb_case domu_transport_unload transport_unload
	xb_case domu_transport_reload transport_load
	xb_case domu_vda_after_reload disk_right
	xb_case domu_data_after_reload read_check 1m_direct 1048576 8 4
	xb_case domu_transport_unload_2 transport_unload
	xb_note "sync: image sha256 $(sha256sum </run/pat-1m_direct | cut -d' ' -f1)"
fi
xb_case domu_rmmod_argo rmmod argo
xb_end
