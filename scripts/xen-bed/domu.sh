# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# scripts/xen-bed/domu.sh: the scenario "dom0 and a PV domU" of the Xen
# test bed, dom0's part, run by dom0's init (scripts/xen-bed/init).  The
# domU's part is scripts/xen-bed/domu-guest.sh, run by its own init
# (scripts/xen-bed/domu-init).
#
# dom0 loads argo.ko, serves `argo pong` for the domU only (a ring with the
# domU as its partner: Xen runs without mac-permissive), starts
# virtio-argo-backend with a 64 MiB disk image on tmpfs, a console on a
# unix socket and a net device on a tap for the domU, and
# creates the domU (2 vCPUs, the same kernel, the smaller initramfs of
# scripts/xen-bed.sh) with `xl create`.  The domU's console, which
# xenconsoled logs (--log=guest), is relayed line by line into dom0's kernel
# log with the prefix "domu-console: ", so the domU's cases reach the host in
# the same document.  The two parts meet on lines "# sync: WHAT" that the
# domU prints: dom0 pings the domU's pong once it serves, kills the backend
# with SIGKILL under the domU's fio and starts it again when asked.  Last,
# the domU powers itself off and dom0 sees the domain go.
#
# xen-bed: the lines below tell scripts/xen-bed.sh to add the domU's
# kernel and initramfs, and how long the whole run may take.
# xen-bed: domu
# xen-bed: ceiling 2400

# shellcheck source=scripts/xen-bed/lib.sh
. /xen-bed/lib.sh
domu_name=domu
# shellcheck source=scripts/xen-bed/domu-lib.sh
. /xen-bed/domu-lib.sh

port=7000
domu_port=7001
pong_ring=4194304
img=/srv/blk.img
con_sock=/run/xenbed-console.sock
ctl_sock=/run/xenbed-backend.sock
tap=xbtap0
ip_dom0=10.99.0.1
ip_domu=10.99.0.2
bulk_bytes=$((32 << 20))
img_mib=64
sizes=(56 4096 65536 1048576)
count=3
domid=''

# ---- argo ----

# ---- the backend ----

be_pid='' be_log=''
backend_start() { # LOG
	be_log=$1
	virtio-argo-backend --log-level info \
		--blk "frontend=$domid,file=$img,serial=xenbed-blk" \
		--console "frontend=$domid,socket=$con_sock" \
		--net "frontend=$domid,tap=$tap,mac=52:54:00:99:00:01" \
		--control "$ctl_sock" \
		2>"$1" &
	be_pid=$!
	# Serving, or dead.
	xb_wait 120 bash -c "grep -q 'info: serving 1 frontend' $1 || ! kill -0 $be_pid"
	cat "$1"
	grep -q 'info: serving 1 frontend' "$1" && kill -0 "$be_pid"
}

# The backend's console socket: a line to the domU's hvc1, and its answer.
console_talk() {
	python3 - "$con_sock" <<-'EOP'
		import socket, sys, time
		s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
		s.connect(sys.argv[1])
		s.sendall(b"from dom0 xenbed-console\n")
		want = b"from the domU xenbed-console"
		got = b""
		end = time.time() + 300
		while want not in got and time.time() < end:
		    s.settimeout(max(1, end - time.time()))
		    try:
		        d = s.recv(4096)
		    except socket.timeout:
		        break
		    if not d:
		        break
		    got += d
		print("received: %r" % got[-200:])
		sys.exit(0 if want in got else 1)
	EOP
}

# The backend's tap, dom0's side of the domU's virtio-net.
tap_up() {
	xb_wait 60 test -e "/sys/class/net/$tap" || return 1
	ip addr add "$ip_dom0/24" dev "$tap" && ip link set "$tap" up &&
		ip addr show "$tap"
}

# What a transfer cost, printed after each: the backend's counters of
# every device (one line each) and TCP's retransmissions.
net_counters() {
	local id
	for id in $(virtio-argo-ctl --control "$ctl_sock" list | awk 'NR > 1 { print $1 }'); do
		echo "backend $id: $(virtio-argo-ctl --control "$ctl_sock" stats "$id" | tail -n +2 | tr '\n' ' ')"
	done
	awk '$1 == "Tcp:" && !h { h = $0; next } $1 == "Tcp:" { n = split(h, k); for (i = 2; i <= n; i++) if (k[i] ~ /RetransSegs|InErrs|OutRsts/) printf "%s=%s ", k[i], $i; print "" }' /proc/net/snmp
	argo info | grep 'ended by the poll'
}

# dom0's side of a stall: the backend's counters, TCP, the tap.
net_evidence() {
	net_counters
	ss -tin
	cat /proc/net/tcp
	ip -s link show "$tap"
}

net_ping() {
	command ping -c 5 -i 0.2 -W 10 "$ip_domu"
}

net_send() {
	local rc=0
	python3 /xen-bed/bulk.py send "$ip_domu" 5001 "$bulk_bytes" 240 || rc=$?
	net_counters
	[[ $rc -eq 0 ]] || net_evidence
	[[ $rc -eq 0 ]]
}

# The domU sends once dom0 listens; if nothing is complete after 200 s,
# the counters at that moment.
net_recv() {
	local p rc=0
	python3 /xen-bed/bulk.py recv 5002 "$bulk_bytes" 240 >/tmp/bulk-recv.out 2>&1 &
	p=$!
	if ! xb_wait 200 bash -c "! kill -0 $p"; then
		echo "still receiving after 200 s; now:"
		net_evidence
	fi
	wait "$p" || rc=$?
	cat /tmp/bulk-recv.out
	net_counters
	[[ $rc -eq 0 ]] || net_evidence
	[[ $rc -eq 0 ]]
}

backend_kill() {
	kill -KILL "$be_pid"
	wait "$be_pid"
	local rc=$?
	be_pid=''
	echo "exit status $rc"
	[[ $rc -eq 137 ]]
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

# ---- the domU ----

domu_config() {
	cat >/tmp/domu.cfg <<-EOC
		name = "$domu_name"
		type = "pv"
		kernel = "$dd/vmlinuz"
		ramdisk = "$dd/initrd.cpio.zst"
		extra = "console=hvc0 printk.devkmsg=on xenbed_domu=domu-guest xenbed_net=${xenbed_net:-1}"
		memory = 896
		vcpus = 2
		on_poweroff = "destroy"
		on_reboot = "destroy"
		on_crash = "preserve"
	EOC
	cat /tmp/domu.cfg
}

load
# The backend's tap.
modprobe tun
mkdir -p /srv
mount -t tmpfs -o size=$((img_mib + 16))m tmpfs /srv
truncate -s "${img_mib}M" "$img"
xb_case domu_config domu_config
if xb_case domu_create domu_create /tmp/domu.cfg; then
	domid=$(xl domid "$domu_name")
	xb_note "the domU is domain $domid"
	relay_start
	xb_case pong_start pong_start
	xb_case backend_start backend_start /tmp/backend.log
	xb_case tap_up tap_up
	xb_case domu_unpause xl unpause "$domu_name"
	if wait_sync "domu pong serving" 900; then
		for s in "${sizes[@]}"; do
			ping_case "$s"
		done
	else
		xb_ktap "not ok - ping_domu"
	fi
	if wait_sync "console ready" 1500; then
		xb_case console_both_ways console_talk
	fi
	if [[ ${xenbed_net:-1} == 1 ]] && wait_sync "net" 900; then
		if grep -qF 'xen-bed: # sync: net ready' "$glog"; then
			xb_case net_ping_domu net_ping
			xb_case net_to_domu net_send
			xb_case net_from_domu net_recv
		else
			# The domU's net_up failed: dom0's side now.
			xb_case net_ping_domu net_ping || net_evidence >/tmp/net-evidence.log 2>&1
			xb_log_tail /tmp/net-evidence.log 40
		fi
	fi
	if wait_sync "kill the backend" 900; then
		xb_case backend_sigkill backend_kill
		if wait_sync "start the backend" 600; then
			xb_case backend_restart backend_start /tmp/backend2.log
		fi
	fi
	xb_case domu_shut_down domu_gone || xl destroy "$domu_name"
	xb_case domu_console_relayed relay_drain
	[[ -z $pong_pid ]] || xb_case pong_stop pong_stop
	[[ -z $be_pid ]] || xb_case backend_sigterm backend_stop
fi
xb_end
