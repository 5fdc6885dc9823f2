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
# Output from hvc0 works because of the protocol feature OUT_NOCOMP: the
# hvc console's put_chars() spins with interrupts off until the device has
# used its transmit buffer, which the backend, a process of this
# single-CPU kernel, could never do while it spins; with OUT_NOCOMP the
# transport uses it itself once sent, or once kept in its backlog (or
# dropped, counted) when the backend's ring is full.  Bytes both ways go through hvc0 in
# raw mode (no echo, no newline translation); then a root login on hvc0
# (agetty's autologin) runs a command sent through the socket.
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
# shellcheck source=scripts/uml/e2e-guest.sh
. "$va_root/scripts/uml/e2e-guest.sh"
va_e2e_guest_init console

kodir=${va_kodir:?}
backend=${va_backend:?}
sock=$work/console.sock
burst=$((1 << 20))

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

# The user's terminal reading: connect, read $2 bytes (at most $3
# seconds), write them to $4.
cat >"$work/recv.py" <<'EOF'
import socket, sys, time
sock, want, secs, out = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sock)
s.settimeout(0.5)
got = bytearray()
end = time.time() + secs
while len(got) < want and time.time() < end:
    try:
        b = s.recv(65536)
    except socket.timeout:
        continue
    if not b:
        break
    got += b
with open(out, "wb") as f:
    f.write(got)
print("recv: got", len(got), "of", want, "bytes", flush=True)
EOF

# Output to hvc0 goes out at most $pace bytes per write, with a pause
# after each, where every byte must arrive: the backend, a process of this
# one CPU, drains its ring only when the writer pauses, and output that
# meets a full ring and a full backlog (the transport's tx_backlog, 64 KiB)
# is dropped, never waited for (unpaced_output_backend_stopped tests that).
# 2 KiB is one transmit buffer, a message well below the 16 KiB ring.
pace=2048

# The guest writing: open hvc0 raw, write the file $1, close.
cat >"$work/writer.py" <<'EOF'
import os, sys, time, tty
path, pace = sys.argv[1], int(sys.argv[2])
fd = os.open("/dev/hvc0", os.O_RDWR | os.O_NOCTTY)
tty.setraw(fd)
with open(path, "rb") as f:
    data = f.read()
off = 0
while off < len(data):
    off += os.write(fd, data[off:off + pace])
    time.sleep(0.002)
os.close(fd)
print("writer: wrote", off, "bytes", flush=True)
EOF

# The user's terminal, keeping what arrives: connect, append every byte
# received to $2 as it comes, until the file $3 exists.
cat >"$work/sink.py" <<'EOF'
import os, socket, sys
sock, out, stop = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sock)
s.settimeout(0.2)
with open(out, "wb", buffering=0) as f:
    while not os.path.exists(stop):
        try:
            b = s.recv(65536)
        except socket.timeout:
            continue
        if not b:
            break
        f.write(b)
EOF

# The guest writing without a pause: open hvc0 raw, write all of file $1
# (the tty takes it a page at a time), close.
cat >"$work/flood.py" <<'EOF'
import os, sys, tty
data = open(sys.argv[1], "rb").read()
fd = os.open("/dev/hvc0", os.O_RDWR | os.O_NOCTTY)
tty.setraw(fd)
off = 0
while off < len(data):
    off += os.write(fd, data[off:])
os.close(fd)
print("flood: wrote", off, "bytes", flush=True)
EOF

# Whether file $2 is file $1 less some runs of bytes, and those runs add
# up to $3 bytes.  $1's bytes are random, so each 64-byte window of $2
# occurs in $1 once: where $2 leaves $1, its next window says where it
# goes on.
cat >"$work/gaps.py" <<'EOF'
import sys
src = open(sys.argv[1], "rb").read()
got = open(sys.argv[2], "rb").read()
dropped = int(sys.argv[3])
i = j = 0
gaps = []
while i < len(got):
    if j < len(src) and got[i] == src[j]:
        i += 1
        j += 1
        continue
    k = src.find(got[i:i + 64], j)
    if k < 0:
        sys.exit("byte %d of what arrived is not the output's next byte nor a later one" % i)
    gaps.append((j, k - j))
    j = k
if j < len(src):
    gaps.append((j, len(src) - j))
lost = sum(n for _, n in gaps)
prefix = not gaps or (len(gaps) == 1 and gaps[0][0] + gaps[0][1] == len(src))
print("arrived %d of %d bytes in order, %d gaps of %d bytes in all%s" %
      (len(got), len(src), len(gaps), lost,
       ": a prefix of the output" if prefix else ""))
for at, n in gaps[:10]:
    print("  gap at byte %d: %d bytes" % (at, n))
if lost != dropped:
    sys.exit("%d bytes missing, the transport counted %d dropped" % (lost, dropped))
EOF

# The guest echoing: open hvc0 raw, say so in $3, write back every byte
# read until $1 bytes went back (at most $2 seconds), $4 at a time.
cat >"$work/echo.py" <<'EOF'
import os, select, sys, time, tty
want, secs, ready, pace = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], int(sys.argv[4])
fd = os.open("/dev/hvc0", os.O_RDWR | os.O_NOCTTY)
tty.setraw(fd)
open(ready, "w").close()
done = 0
end = time.time() + secs
while done < want and time.time() < end:
    r, _, _ = select.select([fd], [], [], 0.5)
    if r:
        b = os.read(fd, 65536)
        off = 0
        while off < len(b):
            off += os.write(fd, b[off:off + pace])
            time.sleep(0.002)
        done += len(b)
os.close(fd)
print("echo: sent back", done, "of", want, "bytes", flush=True)
EOF

# The user's terminal both ways at once: send the file $2 while reading
# what comes back, at most $3 seconds; what came back goes to $4.
cat >"$work/both.py" <<'EOF'
import select, socket, sys, time
sock, data, secs, out = sys.argv[1], open(sys.argv[2], "rb").read(), float(sys.argv[3]), sys.argv[4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sock)
s.setblocking(False)
sent, got = 0, bytearray()
end = time.time() + secs
while len(got) < len(data) and time.time() < end:
    w = [s] if sent < len(data) else []
    r, w, _ = select.select([s], w, [], 0.5)
    if w:
        try:
            sent += s.send(data[sent:sent + 65536])
        except BlockingIOError:
            pass
    if r:
        b = s.recv(65536)
        if not b:
            break
        got += b
with open(out, "wb") as f:
    f.write(got)
print("both: sent", sent, "got", len(got), "of", len(data), "bytes", flush=True)
EOF

# A user at a login console: connect, say so in $6, wait for the shell's
# prompt (root's "# ", or output then 5 s of quiet), type the command $3
# and Enter, read until the text $4 comes (at most $2 seconds in all),
# type "exit"; the whole transcript goes to $5.
cat >"$work/user.py" <<'EOF'
import socket, sys, time
sock, secs, cmd, want, out, ready = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sock)
open(ready, "w").close()
s.settimeout(0.2)
got = bytearray()
end = time.time() + secs
def read_until(done, quiet=None):
    last = time.time()
    while time.time() < end and not done():
        try:
            b = s.recv(4096)
        except socket.timeout:
            if quiet and got and time.time() - last > quiet:
                return
            continue
        if not b:
            return
        got.extend(b)
        last = time.time()
read_until(lambda: b"# " in got, quiet=5)
s.sendall(cmd.encode() + b"\r")
read_until(lambda: want.encode() in got)
ok = want.encode() in got
s.sendall(b"exit\r")
end = time.time() + 5
read_until(lambda: False, quiet=1)
with open(out, "wb") as f:
    f.write(got)
print("user:", "saw" if ok else "did not see", repr(want), flush=True)
sys.exit(0 if ok else 1)
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
	# A backend stopped for seconds (unpaced_output_backend_stopped) is
	# not one that hangs: no keepalive PING times out meanwhile.
	insmod "$kodir/virtio_argo.ko" domain=1 backend=0 data_ring=16384 \
		timeout_ms=600000
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
	echo "$(dirname "$con")/stats" >"$work/con.stats"
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

# The backend accepted the feature the transport proposed.
out_nocomp_agreed() {
	grep -E 'frontend 1: connected \(.*features 0x1\)' "$va_result/backend.log" ||
		fail "the backend did not accept OUT_NOCOMP: $(grep connected "$va_result/backend.log")"
}

clients() {
	grep -c 'client connected on' "$va_result/backend.log" || true
}

# Wait until the backend has taken $1 clients of the socket since it
# started: output before that is discarded.
wait_accepted() {
	for _ in $(seq 100); do
		[[ $(clients) -ge $1 ]] && return 0
		sleep 0.1
	done
	fail "the backend did not take client $1"
}

# Write file $1 to hvc0 while a client of the socket reads: the same bytes.
to_socket() {
	local data=$1 n n0 cpid
	n=$(stat -c %s "$data")
	n0=$(clients)
	rm -f "$work/got"
	timeout 150 python3 "$work/recv.py" "$sock" "$n" 120 "$work/got" &
	cpid=$!
	wait_accepted $((n0 + 1))
	timeout 150 python3 "$work/writer.py" "$data" "$pace" ||
		fail "writing to hvc0"
	wait "$cpid" || true
	cmp "$data" "$work/got" ||
		fail "the socket got $(stat -c %s "$work/got" 2>/dev/null) of $n bytes, or other ones"
	echo "$n bytes, sha256 $(sha256sum <"$work/got" | cut -d' ' -f1)"
}

output_reaches_socket() {
	printf 'hello from hvc0\r\n' >"$work/line"
	to_socket "$work/line"
}

# The console's transport counters, one "name value" a line.
con_stats() {
	local dir c
	dir=$(cat "$work/con.stats") || return 1
	for c in tx_chains tx_early rx_chains malformed stale; do
		echo "$c $(cat "$dir/$c")"
	done
}

# 1 MiB of every byte value from hvc0, through a 16 KiB ring: 512
# transmit buffers at least, each sent in a message of its own.
output_burst_larger_than_ring() {
	python3 -c '
import sys
sys.stdout.buffer.write(bytes((i * 13 + (i >> 10)) & 0xff for i in range(int(sys.argv[1]))))
' "$burst" >"$work/oburst"
	con_stats >"$work/stats.before"
	to_socket "$work/oburst"
	con_stats >"$work/stats.after"
	paste "$work/stats.before" "$work/stats.after"
}

# Counter $1 of file $2.
stat_in() {
	awk -v c="$1" '$1 == c { print $2 }' "$2"
}

# Counter $1 of the console device now.
con_stat() {
	cat "$(cat "$work/con.stats")/$1"
}

lines() {
	wc -l <"$1"
}

# 1 MiB written to hvc0 in one unpaced write while the backend is stopped
# (SIGSTOP) for several seconds: the write completes meanwhile, and a
# heartbeat process goes on printing, so the guest never hangs on its
# console; the data ring takes the first 16 KiB and the backlog 64 KiB,
# the rest is dropped and counted.  Continued, the backend delivers what
# was kept: what arrives is the output less the dropped bytes, in order.
unpaced_output_backend_stopped() {
	local n0 spid hpid d0 t0 hb0 hb1 got drop rc=0
	python3 -c '
import random, sys
sys.stdout.buffer.write(random.Random(8).randbytes(int(sys.argv[1])))
' "$burst" >"$work/flood"
	n0=$(clients)
	rm -f "$work/sink" "$work/sink.stop" "$work/hb"
	python3 "$work/sink.py" "$sock" "$work/sink" "$work/sink.stop" &
	spid=$!
	wait_accepted $((n0 + 1))
	(while :; do date +%s.%N; sleep 0.1; done) >"$work/hb" &
	hpid=$!
	d0=$(con_stat tx_dropped_bytes)
	kill -STOP "$be_pid"
	t0=$SECONDS
	hb0=$(lines "$work/hb")
	# The write ends while the backend is stopped: nothing waits for it.
	timeout 300 python3 "$work/flood.py" "$work/flood" || rc=$?
	if [[ $rc -ne 0 ]]; then
		kill -CONT "$be_pid"
		kill "$hpid" "$spid" 2>/dev/null
		fail "the write to hvc0 did not end while the backend was stopped (exit $rc)"
	fi
	# The heartbeat goes on meanwhile, for at least 3 s of the stop.
	while [[ $((SECONDS - t0)) -lt 3 ||
		$(lines "$work/hb") -lt $((hb0 + 10)) ]]; do
		sleep 0.2
	done
	hb1=$(lines "$work/hb")
	kill -CONT "$be_pid"
	echo "backend stopped $((SECONDS - t0)) s; heartbeat $((hb1 - hb0)) lines meanwhile"
	kill "$hpid"
	# Continued, the backend delivers everything that was not dropped.
	for _ in $(seq 1200); do
		got=$(stat -c %s "$work/sink")
		drop=$(($(con_stat tx_dropped_bytes) - d0))
		[[ $((got + drop)) -ge $burst ]] && break
		sleep 0.1
	done
	touch "$work/sink.stop"
	wait "$spid" || true
	got=$(stat -c %s "$work/sink")
	drop=$(($(con_stat tx_dropped_bytes) - d0))
	echo "arrived $got, dropped $drop (tx_kept $(con_stat tx_kept), tx_dropped $(con_stat tx_dropped))"
	[[ $((got + drop)) -eq $burst ]] ||
		fail "arrived $got + dropped $drop bytes, not $burst"
	# The administrator is told, from process context.
	if [[ $drop -gt 0 ]]; then
		dmesg | grep 'console output dropped' ||
			fail "$drop bytes dropped, and the kernel log does not say so"
	fi
	python3 "$work/gaps.py" "$work/flood" "$work/sink" "$drop" ||
		fail "what arrived is not the output less the dropped bytes"
	case_note "arrived $got bytes, $drop dropped and counted"
}

# Over the burst the transport used its transmit buffers itself (tx_early,
# one per write of $pace bytes at most) and the backend sent no completion
# (no input meanwhile, so no chain completed at all), none malformed.
output_used_by_transport() {
	local b=$work/stats.before a=$work/stats.after early rx
	[[ -s $b && -s $a ]] || fail "no counters from the burst"
	cat "$a"
	early=$(($(stat_in tx_early "$a") - $(stat_in tx_early "$b")))
	rx=$(($(stat_in rx_chains "$a") - $(stat_in rx_chains "$b")))
	echo "tx_early +$early, rx_chains +$rx over $burst bytes"
	[[ $early -ge $((burst / pace)) ]] ||
		fail "tx_early grew by $early, not at least $((burst / pace))"
	[[ $rx -eq 0 ]] || fail "$rx chains completed by the backend"
	[[ $(stat_in malformed "$a") -eq 0 && $(stat_in stale "$a") -eq 0 ]] ||
		fail "malformed or stale completions"
}

# 1 MiB sent by the client while hvc0 echoes it back: both directions at
# once, each much larger than its ring.
both_ways_at_once() {
	local epid n0
	python3 -c '
import sys
sys.stdout.buffer.write(bytes((i * 29 + (i >> 11)) & 0xff for i in range(int(sys.argv[1]))))
' "$burst" >"$work/bburst"
	rm -f "$work/echo.ready" "$work/back"
	timeout 150 python3 "$work/echo.py" "$burst" 120 "$work/echo.ready" \
		"$pace" &
	epid=$!
	for _ in $(seq 100); do
		[[ -e $work/echo.ready ]] && break
		sleep 0.1
	done
	[[ -e $work/echo.ready ]] || fail "the echo did not start"
	n0=$(clients)
	timeout 150 python3 "$work/both.py" "$sock" "$work/bburst" 120 \
		"$work/back" || true
	wait "$epid" || true
	[[ $(clients) -gt $n0 ]] || fail "the client was not taken"
	cmp "$work/bburst" "$work/back" ||
		fail "came back: $(stat -c %s "$work/back" 2>/dev/null) of $burst bytes, or other ones"
	echo "$burst bytes there and back, sha256 $(sha256sum <"$work/back" | cut -d' ' -f1)"
}

# hvc0 as a login console: agetty logs root in automatically there, and a
# command typed by the client of the socket runs in that shell, with hvc0
# its terminal; its output (not the echo of the command) comes back.
login_console() {
	local upid apid n0 rc=0
	# For the guest's shell to expand, not this one.
	# shellcheck disable=SC2016
	local cmd='echo "tty=$(tty) uid=$(id -u) sum=$((6 * 7))"'
	n0=$(clients)
	rm -f "$work/user.ready"
	timeout 100 python3 "$work/user.py" "$sock" 60 "$cmd" \
		'tty=/dev/hvc0 uid=0 sum=42' "$work/transcript" \
		"$work/user.ready" &
	upid=$!
	wait_accepted $((n0 + 1))
	setsid agetty --autologin root --noclear --local-line -8 hvc0 vt100 \
		</dev/null >/dev/null 2>&1 &
	apid=$!
	wait "$upid" || rc=$?
	echo "--- transcript (cat -v)"
	cat -v "$work/transcript" || true
	echo "---"
	# After "exit" the login is over; whatever is left of it goes.
	for _ in $(seq 50); do
		kill -0 "$apid" 2>/dev/null || break
		sleep 0.1
	done
	pkill -KILL -s "$apid" 2>/dev/null || true
	[[ $rc -eq 0 ]] || fail "the command's output did not come back (user.py: $rc)"
	grep -q 'automatic login' "$work/transcript" ||
		fail "no automatic login on hvc0"
}

drivers_unbind() {
	timeout 30 rmmod virtio_console || fail "rmmod virtio_console"
	timeout 30 rmmod virtio_rng || fail "rmmod virtio_rng"
	timeout 30 rmmod virtio_argo || fail "rmmod virtio_argo"
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
t_case backend_serves_console_and_rng \
	backend_wait_log "$va_result/backend.log" 'info: serving 1 frontend' "$sock" ||
	fatal="the backend did not start"
t_case virtio_console_and_virtio_rng_bind drivers_bind ||
	fatal="the drivers did not bind"
t_case hwrng_gives_random_bytes hwrng_gives_bytes
t_case input_reaches_hvc0 input_reaches_hvc0
t_case input_burst_larger_than_ring_reaches_hvc0 input_burst_larger_than_ring
t_case backend_accepts_out_nocomp out_nocomp_agreed
t_case output_reaches_socket output_reaches_socket
t_case output_burst_larger_than_ring_reaches_socket \
	output_burst_larger_than_ring
t_case output_buffers_used_by_transport output_used_by_transport
t_case both_ways_at_once both_ways_at_once
t_case unpaced_output_backend_stopped unpaced_output_backend_stopped
t_case login_console_runs_a_command login_console
t_case drivers_and_transport_unload drivers_unbind
backend_sigterm_exits_0
t_case backend_log_has_no_warnings backend_log_clean
rmmod argo || note "rmmod argo failed"
note "done"
exit 0
