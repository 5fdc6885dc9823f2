# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# scripts/xen-bed/bench.sh: the block benchmark of the Xen test bed, dom0's
# part (run by scripts/bench.sh through scripts/xen-bed.sh; a benchmark,
# not a test: its cases only say that it ran).  The domU's part is
# scripts/xen-bed/bench-guest.sh.
#
# Two disks of the same size on dom0's tmpfs, both given to one PV domU (2
# vCPUs): one through virtio-argo-backend (virtio-blk over Argo), one as an
# xl disk (Xen's own PV block device: blkback on a loop device in dom0,
# blkfront in the domU).  The domU runs the same fio jobs on both,
# interleaved, and prints one line per run ("# bench: ...") that
# scripts/bench.sh turns into the table.
#
# Kernel parameters that reach it (VA_XEN_BED_ARGS on the host):
# xenbed_bench_secs (each fio run, default 10), xenbed_bench_reps (runs of
# each job on each disk, default 3), xenbed_bench_jobs (a subset, names
# joined with '+').
#
# xen-bed: domu
# xen-bed: ceiling 5400

# shellcheck source=scripts/xen-bed/lib.sh
. /xen-bed/lib.sh
domu_name=bench
# shellcheck source=scripts/xen-bed/domu-lib.sh
. /xen-bed/domu-lib.sh

img_mib=256
argo_img=/srv/argo.img
xbd_img=/srv/xbd.img
ctl_sock=/run/xenbed-backend.sock
domid=''

loopdev=''
images() {
	mkdir -p /srv &&
		mount -t tmpfs -o size=$((2 * img_mib + 16))m tmpfs /srv || return 1
	# Written, not sparse: reads then cost the same on both sides.
	head -c $((img_mib << 20)) /dev/urandom >"$argo_img" &&
		cp "$argo_img" "$xbd_img" && ls -l /srv || return 1
	loopdev=$(losetup -f --show "$xbd_img") && losetup -a
}

# The xl disk's hotplug script: what Debian's block script does for a
# block device (blkback finds the device by the physical-device key),
# without its locks and sharing checks, which took longer than libxl's
# hotplug time-out under TCG on a busy machine.  Run by libxl with add or
# remove and XENBUS_PATH, the backend's directory in xenstore.
hotplug_script() {
	cat >/tmp/xbd-hotplug <<-'EOS'
		#!/bin/sh
		[ "$1" = add ] || exit 0
		dev=$(xenstore-read "$XENBUS_PATH/params") || exit 1
		mm=$(stat -L -c '%t:%T' "$dev") || exit 1
		xenstore-write "$XENBUS_PATH/physical-device" "$mm" \
			"$XENBUS_PATH/physical-device-path" "$dev" \
			"$XENBUS_PATH/hotplug-status" connected
	EOS
	chmod 755 /tmp/xbd-hotplug
}

domu_config() {
	cat >/tmp/bench.cfg <<-EOC
		name = "$domu_name"
		type = "pv"
		kernel = "$dd/vmlinuz"
		ramdisk = "$dd/initrd.cpio.zst"
		extra = "console=hvc0 printk.devkmsg=on xenbed_domu=bench-guest xenbed_bench_secs=${xenbed_bench_secs:-10} xenbed_bench_reps=${xenbed_bench_reps:-3} xenbed_bench_jobs=${xenbed_bench_jobs:-all}"
		memory = 896
		vcpus = 2
		disk = [ "format=raw,vdev=xvdb,access=rw,script=/tmp/xbd-hotplug,target=$loopdev" ]
		on_poweroff = "destroy"
		on_reboot = "destroy"
		on_crash = "preserve"
	EOC
}

be_pid=''
backend_start() {
	virtio-argo-backend --log-level info \
		--blk "frontend=$domid,file=$argo_img,serial=bench-argo" \
		--control "$ctl_sock" 2>/tmp/backend.log &
	be_pid=$!
	xb_wait 120 bash -c "grep -q 'info: serving 1 frontend' /tmp/backend.log || ! kill -0 $be_pid"
	cat /tmp/backend.log
	grep -q 'info: serving 1 frontend' /tmp/backend.log && kill -0 "$be_pid"
}

backend_stop() {
	virtio-argo-ctl --control "$ctl_sock" stats 1 || true
	kill -TERM "$be_pid"
	wait "$be_pid"
	local rc=$?
	be_pid=''
	tail -n 20 /tmp/backend.log
	[[ $rc -eq 0 ]]
}

load
xb_case blkback modprobe -a xen-blkback loop
xb_case images images
hotplug_script
domu_config
if xb_case domu_create domu_create /tmp/bench.cfg; then
	domid=$(xl domid "$domu_name")
	relay_start
	xb_case backend_start backend_start
	xb_case domu_unpause xl unpause "$domu_name"
	xb_case domu_shut_down domu_gone || xl destroy "$domu_name"
	xb_case domu_console_relayed relay_drain
	[[ -z $be_pid ]] || xb_case backend_sigterm backend_stop
fi
xb_end
