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

ko=/xen-bed/ko
dd=/xen-bed/domu
domu_name=domu
glog=/var/log/xen/console/guest-$domu_name.log
port=7000
domu_port=7001
pong_ring=4194304
img=/run/blk.img
img_bytes=$((64 << 20))
sizes=(56 4096 65536 1048576)
count=3
domid=''

# ---- the domU's console, relayed ----

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

# After the domain is gone: every line of its console relayed.
relay_drain() {
	xb_wait 120 bash -c "[[ \$(wc -l <$glog) -le \$(wc -l </tmp/domu-console.log) ]]" || {
		echo "the relay is behind: $(wc -l <"$glog") lines logged, $(wc -l </tmp/domu-console.log) relayed"
		return 1
	}
	echo "$(wc -l </tmp/domu-console.log) lines of the domU's console relayed"
}

domain_alive() {
	xl domid "$domu_name" >/dev/null 2>&1
}

# Wait for the domU's line "# sync: WHAT", at most SECS and not after the
# domain is gone.
wait_sync() { # WHAT SECS
	local end=$(($(xb_now) + $2))
	until grep -qF "xen-bed: # sync: $1" "$glog" 2>/dev/null; do
		if ! domain_alive || [[ $(xb_now) -ge $end ]]; then
			xb_note "no '# sync: $1' from the domU"
			return 1
		fi
		sleep 0.2
	done
}

# ---- argo ----

pong_pid=''
pong_start() {
	argo pong --port "$port" --partner "$domid" --ring-size "$pong_ring" -q \
		>/tmp/pong.log 2>&1 &
	pong_pid=$!
	xb_wait 120 grep -q '^pong: serving' /tmp/pong.log || {
		cat /tmp/pong.log
		return 1
	}
	cat /tmp/pong.log
	# The ring names its partner: not "any".
	grep -q "(partner $domid)" /tmp/pong.log
}

pong_stop() {
	[[ -n $pong_pid ]] || return 0
	kill -TERM "$pong_pid"
	wait "$pong_pid"
	local rc=$?
	pong_pid=''
	cat /tmp/pong.log
	[[ $rc -eq 0 ]] &&
		grep -q "^pong: $((count * ${#sizes[@]})) requests served" /tmp/pong.log
}

ping() { # SIZE
	argo ping --to "$domid:$domu_port" --size "$1" -c "$count" -i 0.1 -W 60
}

ping_case() { # SIZE
	local n=ping_domu_$1
	xb_case "$n" ping "$1" &&
		xb_check "${n}_no_loss" grep -q \
			"^$count transmitted, $count received, 0% loss, 0 errors" \
			"/tmp/cases/$n.log"
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

domu_create() {
	xl create -p /tmp/domu.cfg || return 1
	xl list
	xl domid "$domu_name" && xl vcpu-list "$domu_name"
}

# The domU powers itself off at its end: the domain goes away by itself,
# after the domU said it was over.
domu_gone() {
	xb_wait 1200 bash -c "! xl domid $domu_name" || {
		xl list
		return 1
	}
	grep -q 'xen-bed: # domu over' "$glog"
}

xb_case insmod_argo insmod "$ko/argo.ko"
truncate -s "$img_bytes" "$img"
xb_case domu_config domu_config
if xb_case domu_create domu_create; then
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
	xb_case domu_shut_down domu_gone || xl destroy "$domu_name"
	xb_case domu_console_relayed relay_drain
	[[ -z $pong_pid ]] || xb_case pong_stop pong_stop
	[[ -z $be_pid ]] || xb_case backend_sigterm backend_stop
	xb_case image_has_the_domus_data image_has_the_data
fi
xb_case rmmod_argo rmmod argo
xb_end
