# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# scripts/xen-bed-arm64/domu.sh: the scenario "dom0 and a domU" of the arm64
# Xen test bed, dom0's part, run by dom0's init
# (scripts/xen-bed-arm64/init).  The domU's part is
# scripts/xen-bed-arm64/domu-guest.sh, run by its own init
# (scripts/xen-bed-arm64/domu-init).
#
# dom0 loads argo.ko, creates the domU paused with `xl create -p` (2 vCPUs,
# the same kernel, an initramfs of the same userland; no disk, no network:
# no hotplug script runs), serves `argo pong` for the domU only (Xen runs
# without mac-permissive) and starts virtio-argo-backend with a 64 MiB
# image on tmpfs for it, and unpauses it.  The domU's console, which
# xenconsoled logs (--log=guest), is relayed line by line into dom0's kernel
# log with the prefix "domu-console: ", so the domU's cases reach the host
# in the same document.  The two parts meet on lines "# sync: WHAT" that the
# domU prints: dom0 pings the domU's pong once it serves.  Last, the domU
# powers itself off and dom0 sees the domain go; the image holds what the
# domU wrote.
#
# xen-bed: the lines below tell scripts/xen-bed-arm64.sh to add the
# domU's kernel and initramfs, and how long the whole run may take.
# xen-bed: domu
# xen-bed: ceiling 1500

# shellcheck source=scripts/xen-bed/lib.sh
. /xen-bed/lib.sh
domu_name=domu
# shellcheck source=scripts/xen-bed/domu-lib.sh
. /xen-bed/domu-lib.sh

port=7000
domu_port=7001
pong_ring=4194304
img=/run/blk.img
img_bytes=$((64 << 20))
sizes=(56 4096 65536 1048576)
count=3
domid=''

# ---- the domU's console, relayed ----

# The relay as this root's busybox runs it (its awk ignores -W interactive
# with a warning on the console; fflush is enough), in place of
# domu-lib.sh's; the rest of the relay is domu-lib.sh's.
relay_start() {
	# tail -F waits for the file, which xenconsoled opens when the
	# domain's console appears; one write per line to /dev/kmsg.
	tail -F "$glog" 2>/dev/null |
		awk '{
			sub(/\r$/, "")
			print "<5>domu-console: " $0 >"/dev/kmsg"
			fflush("/dev/kmsg")
			print >>"/tmp/domu-console.log"
			fflush("/tmp/domu-console.log")
		}' &
}

# ---- the backend ----

be_pid='' be_log=''
backend_start() { # LOG
	be_log=$1
	virtio-argo-backend --log-level info \
		--blk "frontend=$domid,file=$img,serial=xenbed-blk" 2>"$1" &
	be_pid=$!
	# Serving, or dead.
	xb_wait 120 bash -c "grep -q 'info: serving 1 frontend' $1 || ! kill -0 $be_pid"
	cat "$1"
	grep -q 'info: serving 1 frontend' "$1" && kill -0 "$be_pid"
}

backend_stop() {
	kill -TERM "$be_pid"
	wait "$be_pid"
	local rc=$?
	be_pid=''
	echo "exit status $rc"
	tail -n 20 "$be_log"
	[[ $rc -eq 0 ]]
}

# The image holds the block the domU wrote at 4 MiB: the SHA-256 it
# printed in its line "# sync: image sha256 HASH".
image_has_the_data() {
	local want have
	want=$(sed -n 's/.*xen-bed: # sync: image sha256 \([0-9a-f]*\).*/\1/p' "$glog" | tail -n1)
	have=$(dd if="$img" bs=1048576 count=8 skip=4 2>/dev/null |
		sha256sum | cut -d' ' -f1)
	echo "the domU wrote $want"
	echo "in $img       $have"
	[[ -n $want && $want == "$have" ]]
}

# ---- the domU ----

domu_config() {
	cat >/tmp/domu.cfg <<-EOC
		name = "$domu_name"
		kernel = "$dd/Image"
		ramdisk = "$dd/initrd.cpio"
		extra = "console=hvc0 printk.devkmsg=on xenbed_domu=domu-guest"
		memory = 384
		vcpus = 2
		on_poweroff = "destroy"
		on_reboot = "destroy"
		on_crash = "preserve"
	EOC
	cat /tmp/domu.cfg
}

xb_case insmod_argo insmod "$ko/argo.ko"
truncate -s "$img_bytes" "$img"
xb_case domu_config domu_config
if xb_case domu_create domu_create /tmp/domu.cfg; then
	domid=$(xl domid "$domu_name")
	xb_note "the domU is domain $domid"
	relay_start
	xb_case pong_start pong_start
	xb_case backend_start backend_start /tmp/backend.log
	xb_case domu_unpause xl unpause "$domu_name"
	if wait_sync "domu pong serving" 600; then
		for s in "${sizes[@]}"; do
			ping_case "$s"
		done
	else
		xb_ktap "not ok - ping_domu"
	fi
	xb_case domu_shut_down domu_gone 1200 || xl destroy "$domu_name"
	xb_case domu_console_relayed relay_drain
	[[ -z $pong_pid ]] || xb_case pong_stop pong_stop
	[[ -z $be_pid ]] || xb_case backend_sigterm backend_stop
	xb_case image_has_the_domus_data image_has_the_data
fi
xb_case rmmod_argo rmmod argo
xb_end
