#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/demo.sh: show an unmodified virtio_blk driver using a disk served
# by another domain over Argo, with no memory shared, on any Linux machine.
#
#   demo.sh [-b UML_BUILD] [-k KO_DIR]
#
# Builds what it needs (scripts/deps.sh, the UML kernel, argo.ko and
# virtio_argo.ko, the argo tool and virtio-argo-backend), boots User-Mode
# Linux with the host's root file system and, inside, with argo.ko's
# loopback provider (a software hypervisor with virtual domains 0..7):
# checks the Argo channel with `argo ping`, starts virtio-argo-backend as
# domain 0 with a 64 MiB disk image, a network device on a tap, a console
# on a unix socket and an entropy source, loads virtio_argo.ko as domain 1
# and lets the kernel's own drivers bind.  The disk: an ext4 file system, a
# file written and read back after a remount (checksums printed).  The
# network: the guest's eth0, in a network namespace of its own, pings the
# backend domain's tap.  The console: a line each way between /dev/hvc0
# and the backend's socket.  Then /dev/hwrng, the transport's counters,
# unloading, the backend's SIGTERM, power-off, and the transcript.
#
# -b  UML build dir (default: `scripts/build-uml.sh debug`, built if needed;
#     the modules must have been built against it)
# -k  dir with argo.ko and virtio_argo.ko (default:
#     `scripts/build-modules.sh uml`)
#
# The modules of scripts/build-modules.sh uml are built against the debug
# UML kernel, so that is the kernel the demo boots by default (a module
# built for one configuration does not load into the other).
#
# Exit status: 0 if every step of the demo worked and the kernel console
# has no error report (scripts/console-check.sh), 1 otherwise.
#
# The same file is the init script inside UML: uml-run.sh runs it with
# va_demo_guest=1 in the environment.

set -euo pipefail

# ---------------------------------------------------------------- guest side
demo_guest() {
	# shellcheck source=scripts/uml/init-common.sh
	. "${va_root:?}/scripts/uml/init-common.sh"
	set +e
	local out=${va_result:?}/transcript
	local work=/run/demo pong_pid be_pid be_log be_seen a shown i sum1 sum2
	local net_if
	local rc=0

	exec >"$out" 2>&1
	# The tools by their names; not shell functions, so that $! is theirs.
	PATH=$va_root/tools/argo:$va_root/tools/virtio-argo-backend:$PATH
	mkdir -p "$work/mnt"
	cd "$work" || return 0
	be_log=$work/backend.log
	say() { printf '\n$ %s\n' "$*"; }
	step() { # run a command, showing it; remember a failure
		shown=
		for a in "$@"; do
			[[ $a == *' '* ]] && a="'$a'"
			shown+="${shown:+ }$a"
		done
		say "$shown"
		"$@" || { echo "(exit status $?)"; rc=1; }
	}
	# The kernel's lines matching $1 since the last call.
	dmesg_new() {
		dmesg | tail -n "+$((dmesg_seen + 1))" | grep -E "$1" |
			sed 's/^/    /'
		dmesg_seen=$(dmesg | wc -l)
	}
	local dmesg_seen=0
	give_up() {
		echo "($*: the demo stops here)"
		[[ -n ${be_pid:-} ]] && kill -TERM "$be_pid" 2>/dev/null
		echo 1 >"$va_result/demo.status"
	}

	echo "# Two virtual domains on argo.ko's loopback provider:"
	echo "# domain 0 runs the backend, domain 1 the guest's virtio drivers."
	say "insmod argo.ko provider=loopback"
	if ! insmod "${va_kodir:?}/argo.ko" provider=loopback; then
		give_up "cannot load argo.ko"
		return 0
	fi
	dmesg_new 'argo:'

	echo
	echo "# The Argo channel: an echo server in domain 2, pings from domain 1."
	argo pong --domain 2 --port 7 --partner 1 -q &
	pong_pid=$!
	sleep 0.3
	step argo ping --domain 1 --to 2:7 -c 3 -i 0.1
	kill -INT "$pong_pid"
	wait "$pong_pid"

	echo
	echo "# The backend, as domain 0, serves domain 1 a 64 MiB disk image, a"
	echo "# network device on a tap, a console on a unix socket, an entropy"
	echo "# source."
	step truncate -s 64M disk.img
	say "virtio-argo-backend --domain 0 --blk frontend=1,file=disk.img,serial=demo-disk --net frontend=1,tap=va-demo,mac=52:54:00:00:01:01 --console frontend=1,socket=console.sock --rng frontend=1 &"
	virtio-argo-backend --domain 0 \
		--blk frontend=1,file=disk.img,serial=demo-disk \
		--net frontend=1,tap=va-demo,mac=52:54:00:00:01:01 \
		--console "frontend=1,socket=$work/console.sock" \
		--rng frontend=1 2>"$be_log" &
	be_pid=$!
	for i in $(seq 50); do
		grep -q 'serving' "$be_log" && break
		sleep 0.1
	done
	sed 's/^/    /' "$be_log"
	be_seen=$(wc -l <"$be_log")
	if ! grep -q 'serving' "$be_log"; then
		give_up "the backend did not start"
		return 0
	fi

	echo
	echo "# The transport, as domain 1, finds the device; virtio_blk binds."
	say "insmod virtio_argo.ko domain=1 backend=0"
	if ! insmod "$va_kodir/virtio_argo.ko" domain=1 backend=0; then
		dmesg_new 'virtio'
		give_up "cannot load virtio_argo.ko"
		return 0
	fi
	dmesg_new 'virtio'
	say "modprobe virtio_blk    # the kernel's own driver, unmodified"
	va_modprobe virtio_blk || rc=1
	for i in $(seq 50); do
		[[ -b /dev/vda ]] && break
		sleep 0.1
	done
	dmesg_new 'virtio|vd[a-z]'
	if [[ ! -b /dev/vda ]]; then
		give_up "no /dev/vda"
		return 0
	fi
	step lsblk -o NAME,SIZE,RO,TYPE /dev/vda
	say "cat /sys/block/vda/size /sys/block/vda/serial"
	cat /sys/block/vda/size /sys/block/vda/serial
	echo

	echo
	echo "# A file system on it, a file written, read back after a remount."
	step mkfs.ext4 -q -L demo /dev/vda
	step mount -n /dev/vda mnt
	step dd if=/dev/urandom of=mnt/file bs=1M count=8 status=none
	say "sha256sum mnt/file"
	sum1=$(sha256sum mnt/file | cut -d' ' -f1)
	echo "$sum1  mnt/file (written)"
	step umount -n mnt
	say "echo 3 > /proc/sys/vm/drop_caches"
	echo 3 >/proc/sys/vm/drop_caches
	step mount -n /dev/vda mnt
	step df -h mnt
	say "sha256sum mnt/file"
	sum2=$(sha256sum mnt/file | cut -d' ' -f1)
	echo "$sum2  mnt/file (read back from domain 0)"
	if [[ -n $sum1 && $sum1 == "$sum2" ]]; then
		echo "(checksums match)"
	else
		echo "(CHECKSUMS DIFFER)"
		rc=1
	fi
	step umount -n mnt
	step e2fsck -fn /dev/vda

	echo
	echo "# The network device: virtio_net binds; its eth0 goes to a network"
	echo "# namespace of its own (the guest), the tap stays with the backend."
	say "modprobe virtio_net"
	va_modprobe virtio_net || rc=1
	net_if=''
	for i in $(seq 50); do
		net_if=$(ls /sys/bus/platform/devices/virtio-argo.1/virtio*/net 2>/dev/null)
		[[ -n $net_if ]] && break
		sleep 0.1
	done
	dmesg_new 'virtio_net|virtio-argo.1'
	if [[ -z $net_if ]]; then
		echo "(no network interface on virtio-argo.1)"
		rc=1
	else
		step ip netns add guest
		step ip link set "$net_if" netns guest
		step ip netns exec guest ip addr add 10.77.0.2/24 dev "$net_if"
		step ip netns exec guest ip link set "$net_if" up
		step ip addr add 10.77.0.1/24 dev va-demo
		step ip link set va-demo up
		step ip netns exec guest ip -br addr show dev "$net_if"
		step ip netns exec guest busybox ping -c 3 -W 2 10.77.0.1
	fi

	echo
	echo "# The console: virtio_console gives /dev/hvc0; a line each way"
	echo "# between it and the backend's socket."
	say "modprobe virtio_console"
	va_modprobe virtio_console || rc=1
	for i in $(seq 50); do
		[[ -c /dev/hvc0 ]] && break
		sleep 0.1
	done
	if [[ ! -c /dev/hvc0 ]]; then
		echo "(no /dev/hvc0)"
		rc=1
	else
		# Held open, so that its settings (no echo) stay while used.
		exec 9<>/dev/hvc0
		stty raw -echo <&9
		say "python3 console-client.py &    # connects to console.sock, sends a line, prints what comes"
		python3 - "$work/console.sock" >"$work/console.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.settimeout(10)
time.sleep(0.5)
s.sendall(b"hello from domain 0\n")
got = b""
while not got.endswith(b"\n"):
    b = s.recv(4096)
    if not b:
        break
    got += b
print("socket received: " + got.decode(errors="replace").strip())
PY
		local cl_pid=$! line=''
		say "read -r line </dev/hvc0"
		read -r -t 10 -u 9 line
		echo "hvc0 received: $line"
		[[ $line == "hello from domain 0" ]] || rc=1
		say "echo 'hello from domain 1' >/dev/hvc0"
		echo 'hello from domain 1' >&9
		wait "$cl_pid"
		exec 9<&-
		cat "$work/console.out"
		grep -q 'socket received: hello from domain 1' \
			"$work/console.out" || rc=1
	fi

	echo
	echo "# Entropy: virtio_rng becomes the kernel's hardware RNG."
	say "modprobe virtio_rng"
	va_modprobe virtio_rng || rc=1
	sleep 0.5
	step cat /sys/class/misc/hw_random/rng_current
	say "head -c 32 /dev/hwrng | od -An -tx1"
	head -c 32 /dev/hwrng | od -An -tx1 || rc=1

	echo
	echo "# The transport's counters (sysfs):"
	say "grep . /sys/bus/platform/devices/virtio-argo.0/stats/*    # the disk"
	(cd /sys/bus/platform/devices/virtio-argo.0/stats && grep . -- *) |
		sed 's/:/ = /; s/^/    /' || rc=1
	say "grep . /sys/bus/platform/devices/virtio-argo.[123]/stats/{tx,rx}_chains    # network, console, entropy"
	grep . /sys/bus/platform/devices/virtio-argo.[123]/stats/{tx,rx}_chains |
		sed 's|/sys/bus/platform/devices/||; s|/stats/|: |; s/:\([0-9]*\)$/ = \1/; s/^/    /' || rc=1

	echo
	echo "# Unload; the backend stops on SIGTERM."
	step rmmod virtio_argo
	dmesg_new 'virtio'
	say "kill -TERM \$backend; wait"
	kill -TERM "$be_pid"
	wait "$be_pid"
	i=$?
	echo "(backend exit status $i)"
	[[ $i -eq 0 ]] || rc=1
	echo "(its log since it started serving:)"
	tail -n "+$((be_seen + 1))" "$be_log" | sed 's/^/    /'
	step rmmod argo
	echo "$rc" >"$va_result/demo.status"
	return 0
}

if [[ -n ${va_demo_guest:-} ]]; then
	demo_guest
	exit 0
fi

# ----------------------------------------------------------------- host side
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	sed -n '6,23s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

build='' kodir=''
while getopts b:k:h opt; do
	case $opt in
	b) build=$OPTARG ;;
	k) kodir=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[[ $# -eq 0 ]] || usage

"$VA_ROOT/scripts/deps.sh" >&2
if [[ -z $build ]]; then
	va_note "building the UML kernel (minutes the first time)"
	build=$("$VA_ROOT/scripts/build-uml.sh" debug | tail -n1)
fi
if [[ -z $kodir ]]; then
	va_note "building argo.ko and virtio_argo.ko"
	kodir=$("$VA_ROOT/scripts/build-modules.sh" uml | tail -n1)
fi
for m in argo virtio_argo; do
	[[ -f $kodir/$m.ko ]] || va_die "$kodir/$m.ko: not built"
done
va_note "building the argo tool and virtio-argo-backend"
make -s -C "$VA_ROOT/tools" >&2

result=$(mktemp -d "${TMPDIR:-/tmp}/argo-demo.XXXXXX")
rc=0
"$VA_ROOT/scripts/uml-run.sh" -t 120 "$build" \
	"$VA_ROOT/scripts/demo.sh" "$result" \
	va_demo_guest=1 "va_kodir=$(realpath "$kodir")" || rc=1

echo "=== virtio-argo demo: a disk, a network device and a console over Argo, in UML ==="
if [[ -f $result/transcript ]]; then
	cat "$result/transcript"
else
	echo "(no transcript: the guest did not run; console: $result/console.log)"
	rc=1
fi
echo
status=$(cat "$result/demo.status" 2>/dev/null || echo 1)
[[ $status == 0 ]] || rc=1
if ! "$VA_ROOT/scripts/console-check.sh" "$result/console.log" demo >"$result/console.ktap"; then
	echo "kernel console reports (see $result/console.log):"
	grep '^not ok\|^#' "$result/console.ktap" || true
	rc=1
fi
if [[ $rc -eq 0 ]]; then
	echo "=== demo OK (console clean; logs in $result) ==="
else
	echo "=== demo FAILED (logs in $result) ==="
fi
exit "$rc"
