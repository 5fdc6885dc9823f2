# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# scripts/xen-bed-arm64/blk-lib.sh: what the virtio-blk scenarios of the
# arm64 Xen test bed share (blk.sh in dom0 alone, domu-guest.sh in the
# domU): the transport loaded and unloaded, the disk found by its serial and
# checked, data written and read back.  Sourced after /xen-bed/lib.sh, with
# ko, serial, img_bytes and transport_args (virtio_argo.ko's parameters)
# set.

# shellcheck disable=SC2154 # ko, serial, img_bytes, transport_args: the caller's

# ---- the transport and the disk ----

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
	# virtio and virtio_ring are built into Debian's arm64 kernel.
	insmod "$ko/virtio_argo.ko" "${transport_args[@]}" || {
		dmesg | tail -n 5
		return 1
	}
	modprobe virtio_blk || return 1
	xb_wait 120 find_disk || {
		ls /sys/block /sys/bus/platform/devices
		dmesg | grep virtio | tail -n 10
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
	local size drv
	size=$(($(cat "/sys/block/$D/size") * 512))
	drv=$(basename "$(readlink "/sys/block/$D/device/driver")")
	echo "/dev/$D: $size bytes, serial $(cat "/sys/block/$D/serial"), driver $drv"
	[[ $size -eq $img_bytes && $drv == virtio_blk ]]
}

transport_unload() {
	rmmod virtio_argo || return 1
	xb_wait 60 bash -c '! ls /sys/block | grep -q "^vd"' || {
		ls /sys/block
		return 1
	}
	echo "disks left: $(ls /sys/block)"
}

# ---- data ----

# write_read NAME BS COUNT SEEK DIRECT: COUNT blocks of BS bytes of random
# data written at block SEEK (with O_DIRECT if DIRECT is 1), the page
# cache dropped, read back and compared by SHA-256; the pattern kept in
# /run/pat-NAME for a later check.
write_read() {
	local name=$1 bs=$2 count=$3 seek=$4 direct=$5 pat=/run/pat-$1 of='' f=''
	if [[ $direct -eq 1 ]]; then
		of=oflag=direct
		f=iflag=direct
	fi
	head -c $((bs * count)) /dev/urandom >"$pat" || return 1
	dd if="$pat" of="/dev/$D" bs="$bs" count="$count" seek="$seek" \
		${of:+"$of"} conv=fsync 2>&1 || return 1
	sync
	echo 3 >/proc/sys/vm/drop_caches
	read_check "$name" "$bs" "$count" "$seek" "$f"
}

read_check() { # NAME BS COUNT SEEK [IFLAG]
	local want have
	want=$(sha256sum <"/run/pat-$1" | cut -d' ' -f1)
	have=$(dd if="/dev/$D" bs="$2" count="$3" skip="$4" ${5:+"$5"} 2>/dev/null |
		sha256sum | cut -d' ' -f1)
	echo "written $want"
	echo "read    $have"
	[[ -n $want && $want == "$have" ]]
}
