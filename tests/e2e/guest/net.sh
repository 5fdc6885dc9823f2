#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/e2e/guest/net.sh: the inside of tests/e2e/net.sh, run as the init
# script of one UML boot (scripts/uml-run.sh).  Not meant to be run alone,
# and never on the host: it loads modules and makes network namespaces.
# (It lives in guest/ so that scripts/test.sh, which runs tests/e2e/*.sh,
# does not take it for a test.)
#
# Three virtual domains of the loopback provider in one kernel: the
# backend (tools/virtio-argo-backend) runs as domain 0 in the root network
# namespace and serves three virtio-net devices: one for domain 1 and one
# for domain 2 on its built-in switch "sw0", and a second one for domain 1
# on the tap "va-tap1", which the backend makes in its own (the root)
# namespace.  virtio_argo.ko acts as domains 1 and 2 at once
# (domain=1,2) and the kernel's own virtio_net binds to the three devices.
#
# Each frontend's interfaces go into a network namespace of their own
# (ns1: domain 1's switch port and its tap-backed device; ns2: domain 2's
# switch port), so that the only way between ns1 and ns2 is the backend's
# switch, and the only way between ns1 and the root namespace is the tap:
# an address of the root namespace reached from ns1 is not the local
# stack's shortcut, every frame goes through Argo and the backend.
#
# Environment (kernel parameters from net.sh):
#   va_kodir      argo.ko and virtio_argo.ko, built for this kernel
#   va_backend    the virtio-argo-backend binary
#   va_net_mib    MiB moved by each TCP transfer (default 100)
#
# Results: $va_result/results.tsv, one line per case: "ok", "not ok" or
# "skip", a tab, the case name, a tab, a note; each case's output in
# $va_result/cases/NAME.log, the backend's log in $va_result/backend.log.
# net.sh turns them into KTAP and adds the cases that never reported.

# The cases are functions called through t_case.
# shellcheck disable=SC2317

if ! grep -qw 'va_net_mib=[0-9]*' /proc/cmdline 2>/dev/null; then
	echo "${0##*/}: the init script of tests/e2e/net.sh inside UML" >&2
	exit 2
fi

# shellcheck source=scripts/uml/init-common.sh
. "${va_root:?}/scripts/uml/init-common.sh"
set -uo pipefail
# shellcheck source=scripts/uml/e2e-guest.sh
. "$va_root/scripts/uml/e2e-guest.sh"
va_e2e_guest_init net

kodir=${va_kodir:?}
backend=${va_backend:?}
mib=${va_net_mib:-100}
be_log=$va_result/backend.log
ctl_sock=$work/ctl.sock

# The devices: MAC, frontend domain, its parent platform device
# (virtio-argo.(256 * i + N) for the i-th domain of domain=1,2 and the
# backend's device N of that frontend), namespace and address.
mac_sw1=52:54:00:e2:01:00	# domain 1, device 0: switch sw0
mac_tap1=52:54:00:e2:01:01	# domain 1, device 1: tap va-tap1
mac_sw2=52:54:00:e2:02:00	# domain 2, device 0: switch sw0
pdev_sw1=virtio-argo.0
pdev_tap1=virtio-argo.1
pdev_sw2=virtio-argo.256
tap=va-tap1
ip_sw1=10.0.12.1 ip_sw2=10.0.12.2
ip6_sw1=fd00:e2e:12::1 ip6_sw2=fd00:e2e:12::2
ip_tap1=10.0.13.1 ip_tapbe=10.0.13.254
bytes=$((mib << 20))

# Processes are dear in UML (each fork and exec costs a good part of a
# second in the debug kernel), so what runs in loops uses builtins only:
# snooze SECONDS (a read that times out on a FIFO nobody writes) and rd
# VAR FILE (read a sysfs value).
mkfifo "$work/snooze"
exec {snooze_fd}<>"$work/snooze"
snooze() {
	read -r -t "$1" -u "$snooze_fd" _ || true
}

rd() {
	read -r "$1" <"$2"
}

# in_ns NS CMD...: run CMD in network namespace NS ("root": this one).
in_ns() {
	local ns=$1
	shift
	if [[ $ns == root ]]; then
		"$@"
	else
		nsenter --net="/run/netns/$ns" "$@"
	fi
}

# netdir NS: /sys/class/net as namespace NS sees it (netns_and_links_up
# mounts a sysfs made in each namespace).
netdir() {
	if [[ $1 == root ]]; then
		echo /sys/class/net
	else
		echo "$work/sys-$1/class/net"
	fi
}

# ------------------------------------------------------------ the setup

# A backend with a control socket (--control: link ID up|down, stats ID)
# lets the link go down and up at run time and shows its own per-device
# counters; without one those cases are skipped.
has_control=0
"$backend" --help 2>&1 | grep -q -- '--control PATH' && has_control=1
no_control="this backend has no control socket (--control): no run-time link change, no per-device counters"

# The backend as domain 0; started from the main shell (not a case's
# subshell), so that backend_sigterm_exits_0 can wait for it.  Device
# ids: sw1, tap1 and sw2.
start_backend() {
	local ctl=()
	[[ $has_control -eq 0 ]] || ctl=(--control "$ctl_sock")
	insmod "$kodir/argo.ko" provider=loopback || return 1
	"$backend" --domain 0 --log-level info "${ctl[@]}" \
		--net "frontend=1,id=sw1,switch=sw0,mac=$mac_sw1" \
		--net "frontend=1,id=tap1,tap=$tap,mac=$mac_tap1" \
		--net "frontend=2,id=sw2,switch=sw0,mac=$mac_sw2" \
		2>"$be_log" &
	be_pid=$!
}

# ctl COMMAND...: the backend's answers to COMMANDs (one connection, in
# order), or failure if it could not be reached.
cat >"$work/ctl.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(30)
s.connect(sys.argv[1])
s.sendall("".join(c + "\n" for c in sys.argv[2:]).encode())
s.shutdown(socket.SHUT_WR)
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
sys.stdout.write(out.decode())
EOF

ctl() {
	python3 "$work/ctl.py" "$ctl_sock" "$@"
}

# Ready when it says it is serving both frontends; its tap is then there,
# in the root namespace, a tap with vnet headers and without packet
# information (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR).
backend_serving() {
	local flags
	for _ in {1..100}; do
		grep -q 'info: serving 2 frontends' "$be_log" && break
		kill -0 "$be_pid" 2>/dev/null ||
			fail "backend exited: $(cat "$be_log")"
		snooze 0.1
	done
	grep -q 'info: serving 2 frontends' "$be_log" ||
		fail "backend not serving after 10 s"
	cat "$be_log"
	if [[ $has_control -eq 1 ]]; then
		ctl list | tee "$work/list"
		[[ $(head -n 1 "$work/list") == 'ok 3' ]] || fail "list: not 3 devices"
	fi
	ip -d link show "$tap" || fail "no tap $tap in the backend's namespace"
	rd flags "/sys/class/net/$tap/tun_flags"
	echo "$tap: tun_flags $flags"
	[[ $((flags & 0x5003)) -eq $((0x5002)) ]] ||
		fail "$tap: tun_flags $flags, not IFF_TAP | IFF_NO_PI | IFF_VNET_HDR"
}

# iface_of_mac VAR MAC: VAR = the root namespace's interface with
# address MAC, or empty.
iface_of_mac() {
	local _f _v
	printf -v "$1" ''
	for _f in /sys/class/net/*/address; do
		rd _v "$_f"
		[[ $_v == "$2" ]] || continue
		_f=${_f%/address}
		printf -v "$1" '%s' "${_f##*/}"
	done
}

# The platform device (virtio-argo.N) under interface $1.
pdev_of() {
	local d
	d=$(readlink -f "/sys/class/net/$1/device")	# .../virtio-argo.N/virtioM
	d=${d%/*}
	echo "${d##*/}"
}

# virtio_argo.ko as domains 1 and 2 finds the backend's devices for each
# (two for domain 1, one for domain 2) and registers them; the stock
# virtio_net binds to the three: each has the MAC configured for it, sits
# on the platform device of its frontend domain and device index, and
# negotiated the link status feature.
transport_and_net() {
	local d n name mac pdev v a b c drv feat
	insmod "$kodir/virtio_argo.ko" domain=1,2 backend=0
	n=0
	for d in /sys/bus/platform/devices/virtio-argo.*; do
		rd v "$d/backend_domain"
		echo "${d##*/}: backend_domain $v"
		[[ $v == 0 ]] || fail "$d: backend_domain $v"
		n=$((n + 1))
	done
	[[ $n -eq 3 ]] || fail "$n virtio-argo devices, expected 3"
	va_modprobe virtio_net
	for _ in {1..100}; do
		iface_of_mac a "$mac_sw1"
		iface_of_mac b "$mac_tap1"
		iface_of_mac c "$mac_sw2"
		[[ -n $a && -n $b && -n $c ]] && break
		snooze 0.1
	done
	n=0
	for d in /sys/bus/virtio/devices/*; do
		drv=$(readlink "$d/driver")
		[[ ${drv##*/} == virtio_net ]] || fail "$d: not bound to virtio_net"
		rd v "$d/device"
		rd feat "$d/features"
		echo "${d##*/}: device $v, features $feat"
		[[ $v == 0x0001 ]] || fail "$d: device id $v"
		n=$((n + 1))
	done
	[[ $n -eq 3 ]] || fail "$n virtio devices, expected 3"
	: >"$work/ifaces"
	for name in sw1 tap1 sw2; do
		mac=mac_$name pdev=pdev_$name
		iface_of_mac d "${!mac}"
		[[ -n $d ]] || fail "no interface with MAC ${!mac}: $(ls /sys/class/net)"
		v=$(pdev_of "$d")
		[[ $v == "${!pdev}" ]] ||
			fail "$d (${!mac}) is on $v, expected ${!pdev}"
		rd v "/sys/class/net/$d/mtu"
		[[ $v == 1500 ]] || fail "$d: MTU $v"
		# VIRTIO_NET_F_STATUS (bit 16) negotiated: the link state is
		# the device's, not assumed.
		rd feat "/sys/class/net/$d/device/features"
		[[ ${feat:16:1} == 1 ]] || fail "$d: STATUS not negotiated: $feat"
		echo "$name $d (${!mac}) on ${!pdev}"
		echo "$name $d" >>"$work/ifaces"
	done
	ip link show
	dmesg | grep -E 'virtio[-_]argo|virtio_net' || true
}

# The interface names of sw1, tap1 and sw2, for every case.
load_ifaces() {
	local name d
	while read -r name d; do
		printf -v "if_$name" '%s' "$d"
	done <"$work/ifaces"
}

# wait_attr NS IF ATTR VALUE [TENTHS]: until /sys/class/net/IF/ATTR in
# namespace NS reads VALUE (10 s by default).
wait_attr() {
	local i v f
	f=$(netdir "$1")/$2/$3
	for ((i = 0; i < ${5:-100}; i++)); do
		rd v "$f" 2>/dev/null && [[ $v == "$4" ]] && return 0
		snooze 0.1
	done
	echo "$2 in $1: $3 is '$v', not '$4'"
	return 1
}

# Namespaces ns1 (domain 1's two interfaces) and ns2 (domain 2's), the
# addresses, and every link up: operstate "up" means the driver saw
# LINK_UP in the device's status (virtio_net keeps the carrier off
# otherwise).
netns_and_links_up() {
	local sw1=$if_sw1 tap1=$if_tap1 sw2=$if_sw2 ns a d
	ip netns add ns1
	ip netns add ns2
	for ns in ns1 ns2; do
		mkdir -p "$work/sys-$ns"
		in_ns "$ns" mount -n -t sysfs sysfs "$work/sys-$ns"
	done
	ip -batch - <<-EOF
		link set $sw1 netns ns1
		link set $tap1 netns ns1
		link set $sw2 netns ns2
	EOF
	ip -n ns1 -batch - <<-EOF
		link set lo up
		addr add $ip_sw1/24 dev $sw1
		addr add $ip6_sw1/64 dev $sw1 nodad
		addr add $ip_tap1/24 dev $tap1
		link set $sw1 up
		link set $tap1 up
	EOF
	ip -n ns2 -batch - <<-EOF
		link set lo up
		addr add $ip_sw2/24 dev $sw2
		addr add $ip6_sw2/64 dev $sw2 nodad
		link set $sw2 up
	EOF
	wait_attr ns1 "$sw1" operstate up || fail "$sw1 not up"
	wait_attr ns1 "$tap1" operstate up || fail "$tap1 not up"
	wait_attr ns2 "$sw2" operstate up || fail "$sw2 not up"
	ip -n ns1 addr
	ip -n ns2 addr
	for a in "$mac_sw1" "$mac_tap1" "$mac_sw2"; do
		iface_of_mac d "$a"
		[[ -z $d ]] || fail "$d ($a) is still in the root namespace"
	done
}

# ------------------------------------------------------------ ping

# ping_all NS DEST [PING OPTIONS]: 5 echo requests, every one answered.
ping_all() {
	local ns=$1 dest=$2 out
	shift 2
	out=$(in_ns "$ns" busybox ping -c 5 -i 0.2 -W 3 "$@" "$dest" 2>&1) || true
	echo "$ns -> $dest $*: $out"
	grep -q '5 packets transmitted, 5 packets received' <<<"$out" ||
		fail "$ns -> $dest $*: not 5 of 5 answered"
}

# Both ways over the switch: small and full-MTU frames (a 1472-byte
# payload makes a 1500-byte IPv4 packet), an 8000-byte one in IPv4
# fragments, and IPv6.
ping_switch() {
	ping_all ns1 "$ip_sw2"
	ping_all ns1 "$ip_sw2" -s 1472
	ping_all ns1 "$ip_sw2" -s 8000
	ping_all ns2 "$ip_sw1"
	ping_all ns2 "$ip_sw1" -s 1472
	ping_all ns2 "$ip_sw1" -s 8000
	ping_all ns1 "$ip6_sw2" -6
	ping_all ns2 "$ip6_sw1" -6
	in_ns ns1 ip neigh
	in_ns ns2 ip neigh
}

# ------------------------------------------------------------ TCP

# A sender and a receiver of one TCP connection, each hashing what it
# moves (sha256); the sender's bytes come from a seeded generator, so
# that every transfer moves different, incompressible data.
cat >"$work/tcp.py" <<'EOF'
import hashlib, random, socket, sys, time

def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET

mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if mode == "recv":
    ready = sys.argv[4]
    s = socket.socket(family(addr), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(1)
    s.settimeout(60)
    open(ready, "w").close()
    c, peer = s.accept()
    c.settimeout(60)
    h, n = hashlib.sha256(), 0
    while True:
        b = c.recv(1 << 20)
        if not b:
            break
        h.update(b)
        n += len(b)
    c.close()
    print("received %d bytes sha256 %s from %s" % (n, h.hexdigest(), peer[0]))
else:
    total, seed = int(sys.argv[4]), int(sys.argv[5])
    rng = random.Random(seed)
    c = socket.create_connection((addr, port), timeout=60)
    h, n, t0 = hashlib.sha256(), 0, time.monotonic()
    while n < total:
        b = rng.randbytes(min(1 << 20, total - n))
        c.sendall(b)
        h.update(b)
        n += len(b)
    c.shutdown(socket.SHUT_WR)
    # The receiver closes when it has everything.
    if c.recv(1):
        sys.exit("the receiver sent data")
    t = time.monotonic() - t0
    print("sent %d bytes sha256 %s in %.2f s: %.1f MB/s" %
          (n, h.hexdigest(), t, n / t / 1e6))
EOF

# tcp_transfer FROM_NS TO_NS TO_ADDR PORT SEED TX_PDEV RX_PDEV: $bytes
# from FROM_NS to TO_ADDR in TO_NS, both sides' sha256 equal, all of it
# through the transport: TX_PDEV (the sending frontend's virtio-argo
# device, or "-" for the backend's namespace) sent at least as many bytes
# to the backend as the transfer, and RX_PDEV (the receiving frontend's)
# got at least as many from it.
tcp_transfer() {
	local from=$1 to=$2 addr=$3 port=$4 seed=$5 txd=$6 rxd=$7
	local ready=$work/ready.$port rpid rrc=0 src=0 tx0=0 tx1=0 rx0=0 rx1=0
	local r s sent_sha recv_sha
	rm -f "$ready"
	[[ $txd == - ]] || rd tx0 "/sys/bus/platform/devices/$txd/stats/tx_bytes"
	[[ $rxd == - ]] || rd rx0 "/sys/bus/platform/devices/$rxd/stats/rx_bytes"
	in_ns "$to" timeout 180 python3 "$work/tcp.py" recv "$addr" "$port" \
		"$ready" >"$work/recv.$port" 2>&1 &
	rpid=$!
	for _ in {1..200}; do
		[[ -e $ready ]] && break
		kill -0 "$rpid" 2>/dev/null || break
		snooze 0.1
	done
	[[ -e $ready ]] || fail "receiver not listening: $(cat "$work/recv.$port")"
	in_ns "$from" timeout 150 python3 "$work/tcp.py" send "$addr" "$port" \
		"$bytes" "$seed" >"$work/send.$port" 2>&1 || src=$?
	wait "$rpid" || rrc=$?
	[[ $txd == - ]] || rd tx1 "/sys/bus/platform/devices/$txd/stats/tx_bytes"
	[[ $rxd == - ]] || rd rx1 "/sys/bus/platform/devices/$rxd/stats/rx_bytes"
	s=$(<"$work/send.$port") r=$(<"$work/recv.$port")
	echo "sender ($from, exit $src): $s"
	echo "receiver ($to, exit $rrc): $r"
	echo "sender's device $txd: tx_bytes $tx0 -> $tx1"
	echo "receiver's device $rxd: rx_bytes $rx0 -> $rx1"
	[[ $src -eq 0 && $rrc -eq 0 ]] || fail "sender exit $src, receiver exit $rrc"
	sent_sha=$(sed -n 's/^sent \([0-9]*\) bytes sha256 \([0-9a-f]*\) .*/\1 \2/p' <<<"$s")
	recv_sha=$(sed -n 's/^received \([0-9]*\) bytes sha256 \([0-9a-f]*\) .*/\1 \2/p' <<<"$r")
	[[ -n $sent_sha && $sent_sha == "$bytes "* ]] || fail "sender: $s"
	[[ $recv_sha == "$sent_sha" ]] ||
		fail "received '$recv_sha', sent '$sent_sha'"
	[[ $txd == - || $((tx1 - tx0)) -ge $bytes ]] ||
		fail "$txd sent $((tx1 - tx0)) bytes to the backend, fewer than the transfer"
	[[ $rxd == - || $((rx1 - rx0)) -ge $bytes ]] ||
		fail "$rxd got $((rx1 - rx0)) bytes from the backend, fewer than the transfer"
	case_note "$mib MiB, $(sed -n 's/.*: \([0-9.]* MB\/s\)$/\1/p' <<<"$s")"
}

tcp_1_to_2() {
	tcp_transfer ns1 ns2 "$ip_sw2" 5001 1 "$pdev_sw1" "$pdev_sw2"
}

tcp_2_to_1() {
	tcp_transfer ns2 ns1 "$ip_sw1" 5002 2 "$pdev_sw2" "$pdev_sw1"
}

# Over IPv6 too (TCPV6 segmentation offload, where the IPv4 transfers
# use TCPV4).
tcp6_1_to_2() {
	tcp_transfer ns1 ns2 "$ip6_sw2" 5005 5 "$pdev_sw1" "$pdev_sw2"
}

# ------------------------------------------------------------ the tap

# The tap in the backend's namespace gets an address and comes up; its
# carrier is on while the backend holds it open.  (A tap's operstate
# stays "unknown": tun reports no RFC 2863 state.)
tap_up() {
	local flags
	ip addr add "$ip_tapbe/24" dev "$tap"
	ip link set "$tap" up
	wait_attr root "$tap" carrier 1 || fail "$tap: no carrier"
	rd flags "/sys/class/net/$tap/flags"
	[[ $((flags & 1)) -eq 1 ]] || fail "$tap: not up: flags $flags"
	ip addr show "$tap"
}

# Ping from ns1 to the backend's namespace and back over the tap: the
# frames are seen on both ends (the tap's and the interface's counters
# move by at least as many packets).
tap_ping() {
	local tap1=$if_tap1 t0 t1 i0 i1 ns1net
	ns1net=$(netdir ns1)
	rd t0 "/sys/class/net/$tap/statistics/rx_packets"
	rd i0 "$ns1net/$tap1/statistics/tx_packets"
	ping_all ns1 "$ip_tapbe"
	ping_all ns1 "$ip_tapbe" -s 1472
	ping_all ns1 "$ip_tapbe" -s 8000
	ping_all root "$ip_tap1"
	ping_all root "$ip_tap1" -s 1472
	rd t1 "/sys/class/net/$tap/statistics/rx_packets"
	rd i1 "$ns1net/$tap1/statistics/tx_packets"
	echo "$tap rx_packets $t0 -> $t1; ns1 $tap1 tx_packets $i0 -> $i1"
	[[ $((t1 - t0)) -ge 30 ]] || fail "$tap received $((t1 - t0)) packets"
	[[ $((i1 - i0)) -ge 30 ]] || fail "$tap1 sent $((i1 - i0)) packets"
}

tap_tcp_to_backend() {
	tcp_transfer ns1 root "$ip_tapbe" 5003 3 "$pdev_tap1" -
}

tap_tcp_from_backend() {
	tcp_transfer root ns1 "$ip_tap1" 5004 4 - "$pdev_tap1"
}

# ------------------------------------------------------------ link

# ctl_ok COMMAND: one command whose answer must be "ok ...".
ctl_ok() {
	local a
	a=$(ctl "$1")
	echo "$1 -> $a"
	[[ $a == 'ok '* ]] || fail "$1: $a"
}

# Domain 1's switch port down and up again through the control socket:
# the status in the configuration space changes and EV_CONFIG tells the
# frontend, whose interface goes down (carrier off, nothing can be sent)
# and comes back up; pings go through again; the other port stays up.
link_down_up() {
	local v
	ctl_ok "link sw1 down"
	wait_attr ns1 "$if_sw1" operstate down ||
		fail "$if_sw1 not down 10 s after the link went down"
	wait_attr ns1 "$if_sw1" carrier 0 1 || fail "$if_sw1: carrier on"
	rd v "$(netdir ns2)/$if_sw2/operstate"
	[[ $v == up ]] || fail "$if_sw2 went $v too"
	if in_ns ns1 busybox ping -c 2 -W 1 "$ip_sw2"; then
		fail "$ip_sw2 answers with the link down"
	fi
	# That ping left an ARP entry whose probes went nowhere: once they
	# run out it drops what it queued, which would be the first echo
	# requests after the link came back.
	ip -n ns1 neigh flush dev "$if_sw1"
	ctl_ok "link sw1 up"
	wait_attr ns1 "$if_sw1" operstate up ||
		fail "$if_sw1 not up 10 s after the link came up"
	ping_all ns1 "$ip_sw2"
	ping_all ns2 "$ip_sw1"
	grep -E "frontend 1: sw1: link (down|up)" "$be_log" ||
		fail "the backend did not log the link changes"
}

# The backend changes a device's link at run time only when its tap goes
# away (vab_net_set_link() has no other caller and no control interface):
# delete the tap, and the frontend's interface goes down (EV_CONFIG,
# virtio_net turns the carrier off) while the switch ports stay up and
# keep passing traffic.
link_down_tap_gone() {
	local v
	echo "e2e-net: deleting $tap" >/dev/kmsg
	ip link del "$tap"
	wait_attr ns1 "$if_tap1" operstate down ||
		fail "$if_tap1 not down 10 s after the tap went"
	wait_attr ns1 "$if_tap1" carrier 0 1 || fail "$if_tap1: carrier on"
	in_ns ns1 ip link show "$if_tap1"
	grep -E "frontend 1: tap1: link down" "$be_log" ||
		fail "the backend did not log the link going down"
	rd v "$(netdir ns1)/$if_sw1/operstate"
	[[ $v == up ]] || fail "$if_sw1 went $v too"
	rd v "$(netdir ns2)/$if_sw2/operstate"
	[[ $v == up ]] || fail "$if_sw2 went $v too"
	ping_all ns1 "$ip_sw2"
	if in_ns ns1 busybox ping -c 2 -W 1 "$ip_tapbe"; then
		fail "$ip_tapbe still answers"
	fi
}

# ------------------------------------------------------------ counters

# Nothing the backend sent was malformed or stale, on any device or on
# either frontend's control channel; bytes moved both ways on each
# device; the interfaces saw no receive or transmit errors.
show_counters() {
	local d c v
	for d in /sys/bus/platform/devices/virtio-argo.*; do
		for c in "$d"/stats/* "$d"/ctrl_* "$d/state"; do
			rd v "$c"
			printf '%s %s %s\n' "${d##*/}" "${c##*/}" "$v"
		done
	done
}

counters_clean() {
	local d ns name ifc c v w
	show_counters | tee "$va_result/counters.txt"
	for d in /sys/bus/platform/devices/virtio-argo.*; do
		for c in stats/malformed stats/stale ctrl_malformed ctrl_stale; do
			rd v "$d/$c"
			[[ $v -eq 0 ]] || fail "${d##*/}: $c $v"
		done
		rd v "$d/stats/tx_bytes"
		rd w "$d/stats/rx_bytes"
		[[ $v -gt 0 && $w -gt 0 ]] || fail "${d##*/}: no bytes one way"
		rd v "$d/state"
		[[ $v == live ]] || fail "${d##*/}: $v"
	done
	in_ns ns1 ip -s link
	in_ns ns2 ip -s link
	for name in sw1:ns1 tap1:ns1 sw2:ns2; do
		ns=${name#*:} ifc=if_${name%:*}
		ifc=${!ifc}
		for c in rx_errors tx_errors rx_length_errors rx_frame_errors \
			rx_crc_errors rx_over_errors rx_fifo_errors tx_fifo_errors; do
			rd v "$(netdir "$ns")/$ifc/statistics/$c"
			[[ $v -eq 0 ]] || fail "$ifc: $c $v"
		done
	done
}

# The backend's own counters of each device: nothing malformed (chains,
# frames, spoofed sources), frames and bytes both ways.  The offload work
# it did in software and its drops (no receive chain held: a frontend
# slower than its peer) are shown, not judged.
backend_counters() {
	local id n k v
	ctl "stats sw1" "stats tap1" "stats sw2" | tee "$work/stats"
	[[ $(grep -c '^ok ' "$work/stats") -eq 3 ]] || fail "stats not answered"
	: >"$work/stats.summary"
	n=0
	for id in sw1 tap1 sw2; do
		# The answer for device $id: the lines after the n-th "ok".
		n=$((n + 1))
		while read -r k v; do
			printf -v "st_$k" '%s' "$v"
		done < <(awk -v n="$n" '/^ok / { i++; next } i == n' "$work/stats")
		# shellcheck disable=SC2154 # set by printf -v
		{
			[[ $st_malformed -eq 0 && $st_net_tx_bad -eq 0 &&
				$st_net_rx_bad_chains -eq 0 && $st_net_tx_spoofed -eq 0 ]] ||
				fail "$id: malformed $st_malformed, tx_bad $st_net_tx_bad, rx_bad_chains $st_net_rx_bad_chains, tx_spoofed $st_net_tx_spoofed"
			[[ $st_net_tx_bytes -ge $bytes && $st_net_rx_bytes -ge $bytes ]] ||
				fail "$id: fewer bytes than a transfer one way"
			echo "$id: gso_segmented $st_net_gso_segmented csum_filled $st_net_csum_filled rx_no_buffer $st_net_rx_no_buffer rx_oversize $st_net_rx_oversize rx_dropped $st_net_rx_dropped tx_dropped $st_net_tx_dropped" >>"$work/stats.summary"
		}
		unset st_malformed st_net_tx_bad st_net_rx_bad_chains st_net_tx_spoofed \
			st_net_tx_bytes st_net_rx_bytes
	done
	cat "$work/stats.summary"
	case_note "$(paste -sd ';' "$work/stats.summary")"
}

# The backend, from start to exit, logged nothing malformed and nothing
# above info but the tap's loss that link_down_tap_gone caused.
backend_log_clean() {
	cat "$be_log"
	grep -q 'info: serving 2 frontends' "$be_log" || fail "never served"
	grep -q 'info: stopped$' "$be_log" || fail "no clean stop logged"
	! grep -i 'malformed' "$be_log" || fail "malformed messages logged"
	! grep -E ': (warn|error): ' "$be_log" |
		grep -v -E "frontend 1: tap1: tap $tap: .*the device passes no more frames" ||
		fail "warnings or errors logged"
}

# ------------------------------------------------------------ the end

transport_unloads() {
	local d ns
	rmmod virtio_argo
	for d in /sys/bus/virtio/devices/*; do
		[[ ! -e $d ]] || fail "virtio device left: $d"
	done
	for ns in ns1 ns2; do
		for d in "$(netdir "$ns")"/*/device; do
			[[ ! -e $d ]] || fail "interface left in $ns: $d"
		done
		umount -n "$work/sys-$ns"
		ip netns del "$ns"
	done
	rmmod virtio_net
	dmesg | tail -n 20
}

# ------------------------------------------------------------ run

note "moving $mib MiB per transfer"
start_backend || fatal="the backend did not start"
t_case backend_serves_two_frontends_and_a_tap backend_serving ||
	fatal=${fatal:-"the backend did not start"}
t_case virtio_net_binds_with_configured_macs transport_and_net ||
	fatal=${fatal:-"the network devices did not appear"}
if_sw1='' if_tap1='' if_sw2=''
[[ -n $fatal ]] || load_ifaces
t_case links_up_in_namespaces netns_and_links_up ||
	fatal=${fatal:-"the namespaces could not be set up"}
t_case switch_ping_both_ways ping_switch
t_case switch_tcp_ns1_to_ns2_sha256 tcp_1_to_2
t_case switch_tcp_ns2_to_ns1_sha256 tcp_2_to_1
t_case switch_tcp_ipv6_ns1_to_ns2_sha256 tcp6_1_to_2
t_case tap_up_in_backend_namespace tap_up
t_case tap_ping_both_ways tap_ping
t_case tap_tcp_ns1_to_backend_sha256 tap_tcp_to_backend
t_case tap_tcp_backend_to_ns1_sha256 tap_tcp_from_backend
if [[ $has_control -eq 1 ]]; then
	t_case link_down_up_at_run_time link_down_up
else
	t_skip link_down_up_at_run_time "$no_control"
fi
t_case link_down_when_tap_goes link_down_tap_gone
t_case counters_clean counters_clean
if [[ $has_control -eq 1 ]]; then
	t_case backend_counters_clean backend_counters
else
	t_skip backend_counters_clean "$no_control"
fi
t_case transport_unloads transport_unloads
backend_sigterm_exits_0
fatal=''
t_case backend_log_clean backend_log_clean
rmmod argo || note "rmmod argo failed"
note "done"
exit 0
