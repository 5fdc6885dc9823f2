#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/e2e/guest/console.sh: the inside of tests/e2e/console.sh, run as
# the init script of one UML boot (scripts/uml-run.sh).  Not meant to be
# run alone, and never on the host: it loads modules.
#
# Two virtual domains of the loopback provider in one kernel: the backend
# (tools/virtio-argo-backend) serves a virtio-console on a unix socket (with
# the smallest data ring the protocol allows, 16 KiB) and a virtio-rng as
# domain 0; virtio_argo.ko acts as domain 1 (16 KiB data rings too) and the
# kernel's own virtio_console and virtio_rng bind to the devices.  A client
# on the socket (python3) plays the user's terminal.
#
# Only input reaches hvc0 here: in this single-CPU kernel the hvc console's
# put_chars() spins with interrupts off until the device has used its
# transmit buffer, which the backend, a process of the same kernel, can
# never do while it spins.  So hvc0 is put in raw mode without echo before
# any byte arrives (an echo would be output), and no case writes to it.
#
# Environment (kernel parameters from console.sh):
#   va_kodir      argo.ko and virtio_argo.ko, built for this kernel
#   va_backend    the virtio-argo-backend binary
#
# Results: $va_result/results.tsv, one line per case: "ok" or "not ok", a
# tab, the case name, a tab, a note; each case's output in
# $va_result/cases/NAME.log, the backend's log in $va_result/backend.log.

# The cases are functions called through t_case.
# shellcheck disable=SC2317

if ! grep -qw 'va_console_e2e=1' /proc/cmdline 2>/dev/null; then
	echo "${0##*/}: the init script of tests/e2e/console.sh inside UML" >&2
	exit 2
fi

# shellcheck source=scripts/uml/init-common.sh
. "${va_root:?}/scripts/uml/init-common.sh"
set -uo pipefail

kodir=${va_kodir:?}
backend=${va_backend:?}
res=$va_result/results.tsv
cases=$va_result/cases
work=/run/e2e
sock=$work/console.sock
burst=$((1 << 20))
mkdir -p "$cases" "$work"
cd "$work" || exit 1
: >"$res"
be_pid='' fatal=''

note() {
	echo "e2e-console: $*"
}

# t_case NAME FUNC [ARGS]: as in guest/blk.sh.
t_case() {
	local name=$1 log=$cases/$1.log t0=$SECONDS rc
	shift
	if [[ -n $fatal ]]; then
		printf 'not ok\t%s\tnot run: %s\n' "$name" "$fatal" >>"$res"
		return 1
	fi
	note "case $name"
	(
		set -e
		"$@"
	) >"$log" 2>&1
	rc=$?
	if [[ $rc -eq 0 ]]; then
		printf 'ok\t%s\t%ss\n' "$name" "$((SECONDS - t0))" >>"$res"
	else
		printf 'not ok\t%s\texit %s after %ss; last line: %s\n' "$name" \
			"$rc" "$((SECONDS - t0))" \
			"$(tail -n 1 "$log" | tr '\t' ' ')" >>"$res"
	fi
	return "$rc"
}

fail() {
	echo "FAIL: $*"
	exit 1
}

# ------------------------------------------------------------ the peers

# The user's terminal: connect, wait for $work/reader.ready, send the
# file $1, keep the connection until $work/reader.done.
cat >"$work/client.py" <<'EOF'
import os, socket, sys, time
sock, data, ready, done = sys.argv[1:5]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sock)
t = time.time() + 30
while not os.path.exists(ready) and time.time() < t:
    time.sleep(0.05)
with open(data, "rb") as f:
    s.sendall(f.read())
print("client: sent", os.path.getsize(data), "bytes", flush=True)
t = time.time() + 120
while not os.path.exists(done) and time.time() < t:
    time.sleep(0.1)
s.close()
EOF

# The guest's side: open hvc0 raw without echo, say so, read $1 bytes
# (at most $2 seconds), write them to $3.
cat >"$work/reader.py" <<'EOF'
import os, select, sys, time, tty
want, secs, out, ready = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4]
fd = os.open("/dev/hvc0", os.O_RDWR | os.O_NOCTTY)
tty.setraw(fd)
open(ready, "w").close()
got = bytearray()
end = time.time() + secs
while len(got) < want and time.time() < end:
    r, _, _ = select.select([fd], [], [], 0.5)
    if r:
        got += os.read(fd, 65536)
with open(out, "wb") as f:
    f.write(got)
print("reader: got", len(got), "of", want, "bytes", flush=True)
EOF

# ------------------------------------------------------------ the cases

start_backend() {
	insmod "$kodir/argo.ko" provider=loopback || return 1
	"$backend" --domain 0 --log-level info \
		--console "frontend=1,socket=$sock,ring-size=16384" \
		--rng frontend=1 \
		2>"$va_result/backend.log" &
	be_pid=$!
}

backend_serving() {
	for _ in $(seq 100); do
		grep -q 'info: serving 1 frontend' "$va_result/backend.log" &&
			[[ -S $sock ]] && return 0
		kill -0 "$be_pid" 2>/dev/null ||
			fail "backend exited: $(cat "$va_result/backend.log")"
		sleep 0.1
	done
	fail "backend not serving after 10 s"
}

# The device of virtio id $1 under a virtio-argo platform device.
vdev_of() {
	local d
	for d in /sys/bus/platform/devices/virtio-argo.*/virtio*; do
		[[ -f $d/device && $(cat "$d/device") == "$1" ]] && echo "$d"
	done
	return 0
}

drivers_bind() {
	local con rng cur
	insmod "$kodir/virtio_argo.ko" domain=1 backend=0 data_ring=16384
	con=$(vdev_of 0x0003) rng=$(vdev_of 0x0004)
	[[ -n $con && -n $rng ]] || fail "devices: $(ls /sys/bus/virtio/devices)"
	va_modprobe virtio_console
	va_modprobe virtio_rng
	for _ in $(seq 100); do
		[[ -c /dev/hvc0 ]] && break
		sleep 0.1
	done
	[[ -c /dev/hvc0 ]] || fail "no /dev/hvc0"
	[[ $(basename "$(readlink "$con/driver")") == virtio_console ]] ||
		fail "$con: not bound to virtio_console"
	for _ in $(seq 50); do
		cur=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null || true)
		[[ $cur == virtio_rng.* ]] && break
		sleep 0.1
	done
	[[ $cur == virtio_rng.* ]] || fail "rng_current is '$cur'"
	echo "console $con, rng $rng ($cur)"
	dmesg | grep -E 'virtio[-_]argo|hvc|virtio_console' || true
}

hwrng_gives_bytes() {
	timeout 20 dd if=/dev/hwrng of="$work/rng1" bs=4096 count=1 \
		iflag=fullblock status=none || fail "reading /dev/hwrng"
	timeout 20 dd if=/dev/hwrng of="$work/rng2" bs=4096 count=1 \
		iflag=fullblock status=none || fail "reading /dev/hwrng again"
	[[ $(stat -c %s "$work/rng1") -eq 4096 ]] || fail "short read"
	! cmp -s "$work/rng1" "$work/rng2" || fail "the same bytes twice"
	[[ $(tr -d '\0' <"$work/rng1" | wc -c) -gt 3900 ]] ||
		fail "mostly zeros"
	od -A d -t x1 -N 32 "$work/rng1"
}

# Send file $1 from the client, read it on hvc0: the same bytes.
through_hvc0() {
	local data=$1 n
	n=$(stat -c %s "$data")
	rm -f "$work/reader.ready" "$work/reader.done" "$work/got"
	python3 "$work/client.py" "$sock" "$data" "$work/reader.ready" \
		"$work/reader.done" &
	local cpid=$!
	timeout 150 python3 "$work/reader.py" "$n" 120 "$work/got" \
		"$work/reader.ready" || true
	touch "$work/reader.done"
	wait "$cpid" || true
	cmp "$data" "$work/got" ||
		fail "hvc0 got $(stat -c %s "$work/got" 2>/dev/null) of $n bytes, or other ones"
	echo "$n bytes, sha256 $(sha256sum <"$work/got" | cut -d' ' -f1)"
}

input_reaches_hvc0() {
	printf 'hello, hvc0\r\n' >"$work/hello"
	through_hvc0 "$work/hello"
}

# Every byte value, 1 MiB: much more than the 16 KiB data rings and the
# 64 receive buffers of a page; the backend reads the socket only into
# the buffers the driver posts, so the client is held back, never cut.
input_burst_larger_than_ring() {
	python3 -c '
import sys
sys.stdout.buffer.write(bytes((i * 7 + (i >> 12)) & 0xff for i in range(int(sys.argv[1]))))
' "$burst" >"$work/burst"
	through_hvc0 "$work/burst"
	grep 'console0' "$va_result/backend.log" || true
}

drivers_unbind() {
	timeout 30 rmmod virtio_console || fail "rmmod virtio_console"
	timeout 30 rmmod virtio_rng || fail "rmmod virtio_rng"
	timeout 30 rmmod virtio_argo || fail "rmmod virtio_argo"
}

# Not through t_case: wait needs the main shell, the backend's parent.
backend_sigterm() {
	local rc=0 t0=$SECONDS
	note "case backend_sigterm_exits_0"
	if [[ -z $be_pid ]]; then
		printf 'not ok\tbackend_sigterm_exits_0\tno backend\n' >>"$res"
		return
	fi
	kill -TERM "$be_pid"
	timeout 10 tail --pid="$be_pid" -f /dev/null || true
	if kill -0 "$be_pid" 2>/dev/null; then
		kill -KILL "$be_pid"
		printf 'not ok\tbackend_sigterm_exits_0\tstill running 10 s after SIGTERM\n' >>"$res"
		wait "$be_pid"
		return
	fi
	wait "$be_pid" || rc=$?
	if [[ $rc -eq 0 ]]; then
		printf 'ok\tbackend_sigterm_exits_0\t%ss\n' "$((SECONDS - t0))" >>"$res"
	else
		printf 'not ok\tbackend_sigterm_exits_0\texit status %s\n' "$rc" >>"$res"
	fi
}

backend_log_clean() {
	cat "$va_result/backend.log"
	if grep -E ': (warn|error): ' "$va_result/backend.log"; then
		fail "the backend logged warnings or errors"
	fi
	[[ ! -e $sock ]] || fail "$sock left behind"
}

# ------------------------------------------------------------ run

start_backend || fatal="the backend did not start"
t_case backend_serves_console_and_rng backend_serving ||
	fatal="the backend did not start"
t_case virtio_console_and_virtio_rng_bind drivers_bind ||
	fatal="the drivers did not bind"
t_case hwrng_gives_random_bytes hwrng_gives_bytes
t_case input_reaches_hvc0 input_reaches_hvc0
t_case input_burst_larger_than_ring_reaches_hvc0 input_burst_larger_than_ring
t_case drivers_and_transport_unload drivers_unbind
backend_sigterm
t_case backend_log_has_no_warnings backend_log_clean
rmmod argo || note "rmmod argo failed"
note "done"
exit 0
