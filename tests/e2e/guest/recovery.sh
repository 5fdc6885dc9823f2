#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/e2e/guest/recovery.sh: the inside of tests/e2e/recovery.sh, run as
# the init script of one UML boot (scripts/uml-run.sh).  Not meant to be
# run alone, and never on the host: it mounts file systems, loads modules
# and kills processes.  (It lives in guest/ so that scripts/test.sh, which
# runs tests/e2e/*.sh, does not take it for a test.)
#
# Three virtual domains of the loopback provider in one kernel: the
# backend (tools/virtio-argo-backend) as domain 0 serves frontend domains
# 1 and 2 two disks and a virtio-rng each; virtio_argo.ko acts as both
# frontends at once (domain=1,2) and the kernel's own virtio_blk and
# virtio_rng bind to the six devices.  Then the backend is killed,
# restarted, stopped and continued under I/O, and the transport unloaded
# under I/O and loaded and unloaded in a loop: requests must fail within
# the documented bounds (Documentation/virtio-argo.rst, "A lost backend"),
# the devices come back and work, a file system keeps what was synced, and
# nothing hangs, oopses or leaks.  A third frontend, domain 3 (an rng of
# its own, spoken to through /dev/argo by a script), forges the others'
# device handles: nothing of it may reach them.
#
# The transport runs with keepalive_ms=1000 and timeout_ms=2000, so the
# bounds are: a dead backend fails the requests within keepalive_ms (1 s),
# a hung one within 2 * keepalive_ms + timeout_ms (4 s); the cases allow
# 10 s for either, the rest being the time to complete the requests and
# end fio on a busy machine.  The other bounds are mostly work (a backend
# starting, devices added or removed, fio ending), so they are for a
# machine ten times slower than an idle one: with a CPU five times slower
# the restart took 5 s, rmmod under fio 7 s and the end of its fio 15 s.
#
# Environment (kernel parameters from recovery.sh):
#   va_recovery   1 (says this is the boot of recovery.sh)
#   va_kodir      argo.ko and virtio_argo.ko, built for this kernel
#   va_backend    the virtio-argo-backend binary
#   va_ctl        the virtio-argo-ctl binary
#
# Results: $va_result/results.tsv, one line per case: "ok" or "not ok", a
# tab, the case name, a tab, a note; each case's output in
# $va_result/cases/NAME.log; the backend's log of each start in
# $va_result/backend-N.log.  recovery.sh turns them into KTAP and adds the
# cases that never reported.

# The cases are functions called through t_case.
# shellcheck disable=SC2317

if ! grep -qw 'va_recovery=1' /proc/cmdline 2>/dev/null; then
	echo "${0##*/}: the init script of tests/e2e/recovery.sh inside UML" >&2
	exit 2
fi

# shellcheck source=scripts/uml/init-common.sh
. "${va_root:?}/scripts/uml/init-common.sh"
set -uo pipefail
# shellcheck source=scripts/uml/e2e-guest.sh
. "$va_root/scripts/uml/e2e-guest.sh"
va_e2e_guest_init recovery

kodir=${va_kodir:?}
backend=${va_backend:?}
ctl_bin=${va_ctl:?}
ctl_sock=$work/ctl.sock
bg=$work/bg
mnt=$work/mnt
mkdir -p "$bg" "$mnt"

keepalive_ms=1000
timeout_ms=2000
va_params=("domain=1,2" backend=0 "keepalive_ms=$keepalive_ms"
	"timeout_ms=$timeout_ms")
# The bounds the cases check (ms).
bound_dead=10000	# SIGKILL: keepalive_ms + margin
bound_hung=10000	# SIGSTOP: 2 * keepalive_ms + timeout_ms + margin
bound_back=20000	# restart to every device live and every disk there
bound_quick=30000	# quick restart to I/O working again
bound_rmmod=60000	# rmmod under I/O, and its fio's end

# The disks, by serial (GET_ID): frontend domain and size.
serials=(f1d0 f1d1 f2d0 f2d1)
declare -A disk_fe=([f1d0]=1 [f1d1]=1 [f2d0]=2 [f2d1]=2)
declare -A disk_mib=([f1d0]=256 [f1d1]=256 [f2d0]=128 [f2d1]=128)
ndev=6	# 4 disks and 2 rngs

# A fork costs about 0.1 to 0.3 s in the debug UML kernel, so the loops
# that poll and every time measurement use builtins only: a bound could
# not be checked otherwise.
shopt -s nullglob

# now: NOW = the time in ms.
now() {
	NOW=$((${EPOCHREALTIME/./} / 1000))
}

# nap SECONDS: sleep (a read on a fifo nobody writes to).
mkfifo "$work/nap"
exec 9<>"$work/nap"
nap() {
	read -r -t "$1" -u 9 _ || true
}

# get VAR FILE: VAR = FILE's first line, empty if it cannot be read (a
# disk's serial has no newline: read then fails, but has set VAR).
# shellcheck disable=SC2034 # a nameref
get() {
	local -n get_var=$1
	get_var=''
	IFS= read -r get_var 2>/dev/null <"$2" || true
}

# has FILE STRING: a line of FILE contains STRING.
has() {
	local l
	while IFS= read -r l; do
		[[ $l == *"$2"* ]] && return 0
	done 2>/dev/null <"$1"
	return 1
}

# mark TEXT: a line in the kernel log, for since_mark.
mark() {
	echo "e2e-recovery: $*" >/dev/kmsg
}

# since_mark TEXT: the kernel log from that mark on, also kept in
# $work/kmsg.txt (grep that file: grep -q at the end of a pipe would end
# the pipe early, which pipefail takes for a failure).
since_mark() {
	dmesg | sed -n "\\|e2e-recovery: $1\$|,\$p" >"$work/kmsg.txt"
	cat "$work/kmsg.txt"
}

# kmsg_has MARK PATTERN: the kernel log since MARK has a line matching
# the extended regular expression PATTERN.
kmsg_has() {
	since_mark "$1" >/dev/null
	grep -qE "$2" "$work/kmsg.txt"
}

# kmsg_show MARK: the transport's lines since MARK, the first 20.
kmsg_show() {
	since_mark "$1" >/dev/null
	grep -E 'virtio_argo|virtio-argo|EXT4|JBD2|I/O error' "$work/kmsg.txt" |
		head -n 20 || true
}

# No kernel report since the mark (the console check covers the whole
# boot; this says which case it was).
no_report_since() {
	local r
	since_mark "$1" >/dev/null
	r=$(grep -E 'BUG:|WARNING:|UBSAN:|KASAN|Oops|general protection|possible circular|INFO: task .* blocked' "$work/kmsg.txt" || true)
	[[ -z $r ]] || fail "kernel report: $r"
}

# ------------------------------------------------------------ processes

# Nothing waits for a process without a bound: a request that never
# completes leaves its process unkillable.  So processes run in the
# background (bg_run) and are only waited for by polling for the exit
# status they leave in $bg/NAME.rc.

# bg_run NAME OUT CMD...: run CMD in the background, output to OUT; its
# pid in $bg/NAME.pid (there when bg_run returns), later its exit status
# in $bg/NAME.rc.
bg_run() {
	local name=$1 out=$2 i
	shift 2
	: >"$bg/$name.pid"
	: >"$bg/$name.rc"
	(
		rc=0
		"$@" &
		echo "$!" >"$bg/$name.pid"
		wait "$!" || rc=$?
		echo "$rc" >"$bg/$name.rc"
	) </dev/null >"$out" 2>&1 &
	for ((i = 0; i < 1000; i++)); do
		[[ -s $bg/$name.pid ]] && return 0
		nap 0.005
	done
	fail "$name did not start"
}

# bg_wait NAME MS: whether NAME exited within MS milliseconds from now.
bg_wait() {
	local end
	now
	end=$((NOW + $2))
	while [[ ! -s $bg/$1.rc ]]; do
		now
		[[ $NOW -lt $end ]] || return 1
		nap 0.01
	done
}

bg_running() {
	[[ -s $bg/$1.pid && ! -s $bg/$1.rc ]]
}

# bg_pid NAME, bg_rc NAME: PID, RC = its pid, its exit status.
bg_pid() {
	get PID "$bg/$1.pid"
}

bg_rc() {
	get RC "$bg/$1.rc"
}

# bg_signal SIGNAL NAME: send it, if it still runs.
bg_signal() {
	bg_running "$2" || return 0
	bg_pid "$2"
	kill -"$1" "$PID" 2>/dev/null || true
}

bg_kill() { # NAME: SIGKILL it if it still runs
	bg_signal KILL "$1"
}

# run_bounded NAME MS CMD...: run CMD, output to cases/NAME.out (shown),
# fail if it takes longer than MS; returns its exit status.
run_bounded() {
	local name=$1 ms=$2
	shift 2
	bg_run "$name" "$cases/$name.out" "$@"
	if ! bg_wait "$name" "$ms"; then
		bg_kill "$name"
		cat "$cases/$name.out"
		fail "$* still running after $ms ms"
	fi
	[[ -s $cases/$name.out ]] && cat "$cases/$name.out"
	bg_rc "$name"
	return "$RC"
}

# ------------------------------------------------------------ the backend

# The backend: virtual domain 0, serving frontend domains 1 and 2 two
# disks and an rng each, and domain 3 an rng (domain 3 is the forger of
# forged_handles); its control socket tells when it has done what it was
# doing (backend_idle).  Each start is a new process with a name of its own
# for bg_run (be1, be2, ...) and its own log (backend-1.log, ...);
# $work/backend.cur names the current one.
backend_args=(--domain 0 --log-level info --control "$ctl_sock"
	--blk "frontend=1,file=$work/f1d0.img,serial=f1d0"
	--blk "frontend=1,file=$work/f1d1.img,serial=f1d1"
	--rng frontend=1
	--blk "frontend=2,file=$work/f2d0.img,serial=f2d0"
	--blk "frontend=2,file=$work/f2d1.img,serial=f2d1"
	--rng frontend=2
	--rng frontend=3)

# be_cur: BE = the current backend's name for bg_*, BLOG its log.
be_cur() {
	get BE "$work/backend.cur"
	BE=${BE:-none}
	BLOG=$va_result/backend-${BE#be}.log
}

# backend_prepare: the next backend, forked and waiting on a fifo to exec
# (a fork and an exec take a few hundred ms here: quick_restart starts it
# after a kill without either); returns once that bash runs (it says so
# in $bg/beN.ready, within 30 s).
backend_prepare() {
	local n i
	get n "$work/backend.n"
	n=$((n + 1))
	echo "$n" >"$work/backend.n"
	mkfifo "$bg/be$n.go"
	# shellcheck disable=SC2016 # expanded by that bash
	bg_run "be$n" "$va_result/backend-$n.log" bash -c \
		': >"$2" && read -r _ <"$1" && shift 2 && exec "$@"' _ \
		"$bg/be$n.go" "$bg/be$n.ready" "$backend" "${backend_args[@]}"
	echo "be$n" >"$work/backend.next"
	for ((i = 0; i < 3000; i++)); do
		[[ -e $bg/be$n.ready ]] && return 0
		bg_running "be$n" || break
		nap 0.01
	done
	fail "backend $n not ready to start: $(cat "$va_result/backend-$n.log")"
}

# backend_go: the prepared backend runs; ready when it says it is serving
# the three frontends.
backend_go() {
	local i fd
	get BE "$work/backend.next"
	echo "$BE" >"$work/backend.cur"
	be_cur
	# Opened read-write, the fifo never blocks the opener; kept open
	# until the backend runs, so that the line waits for a reader.
	exec {fd}<>"$bg/$BE.go"
	echo go >&"$fd"
	for ((i = 0; i < 2000; i++)); do
		if has "$BLOG" 'info: serving 3 frontends'; then
			exec {fd}>&-
			return 0
		fi
		bg_running "$BE" || fail "backend exited: $(cat "$BLOG")"
		nap 0.005
	done
	fail "backend not serving after 10 s: $(cat "$BLOG")"
}

backend_start() {
	backend_prepare
	backend_go
}

backend_running() {
	be_cur
	bg_running "$BE"
}

# backend_signal SIGNAL: to the current backend.
backend_signal() {
	be_cur
	bg_signal "$1" "$BE"
}

# backend_wait MS: whether the current backend exited within MS.
backend_wait() {
	be_cur
	bg_wait "$BE" "$1"
}

# backend_idle: the current backend answers "list" on its control socket
# (within 30 s); the answer in $cases/list.out.  The backend is one
# thread: the answer comes from its event loop once it has finished what
# it was doing (e.g. on finding a frontend gone: logging it, then trying
# its rings for that frontend again, each try a ring allocated and
# freed).
backend_idle() {
	run_bounded list 30000 "$ctl_bin" --control "$ctl_sock" list ||
		fail "the backend did not answer list"
}

# backend_settled MS: within MS, the current backend has found every
# frontend gone (it looks every second) and is done with it: "list" says
# every device is waiting for its frontend.  Its rings then stay as they
# are until a frontend comes.
backend_settled() {
	local end l n waiting
	now
	end=$((NOW + $1))
	while :; do
		backend_idle
		n=0 waiting=0
		while IFS= read -r l; do
			n=$((n + 1))
			[[ $l == *' state=waiting '* ]] && waiting=$((waiting + 1))
		done <"$cases/list.out"
		[[ $n -gt 0 && $waiting -eq $n ]] && return 0
		now
		if [[ $NOW -ge $end ]]; then
			cat "$cases/list.out"
			fail "the backend did not find every frontend gone in $1 ms"
		fi
		nap 0.5
	done
}

# scan: the devices now.  NPDEV parent devices, NLIVE and NLOST of them
# in those states, STATES "name=state ..."; DISK[serial] its block device
# (vdX) and PLAT[serial] its parent (virtio-argo.N), for the disks that
# answer GET_ID; RNGS the virtio rngs the hwrng core has.
declare -A DISK PLAT
scan() {
	local p b s st a r
	NPDEV=0 NLIVE=0 NLOST=0 STATES=''
	DISK=() PLAT=() RNGS=()
	for p in /sys/bus/platform/devices/virtio-argo.*; do
		NPDEV=$((NPDEV + 1))
		get st "$p/state"
		STATES+="${p##*/}=$st "
		case $st in
		live) NLIVE=$((NLIVE + 1)) ;;
		lost) NLOST=$((NLOST + 1)) ;;
		esac
		for b in "$p"/virtio*/block/vd*; do
			get s "$b/serial"
			[[ -n $s ]] || continue
			DISK[$s]=${b##*/}
			PLAT[$s]=${p##*/}
		done
	done
	get a /sys/class/misc/hw_random/rng_available
	for r in $a; do
		[[ $r == virtio_rng.* ]] && RNGS+=("$r")
	done
	return 0
}

# Every device there and live, every disk a block device, both rngs
# registered with the hwrng core.
all_live() {
	local s
	scan
	[[ $NPDEV -eq $ndev && $NLIVE -eq $ndev && ${#RNGS[@]} -eq 2 ]] ||
		return 1
	for s in "${serials[@]}"; do
		[[ -n ${DISK[$s]:-} && -b /dev/${DISK[$s]} ]] || return 1
	done
}

show_devices() {
	local s
	scan
	echo "devices: $STATES"
	printf 'disks:'
	for s in "${serials[@]}"; do
		printf ' %s=%s' "$s" "${DISK[$s]:-}"
	done
	echo
	echo "rngs: ${RNGS[*]}"
}

# disk SERIAL: D = its block device (after a scan), or fail.
disk() {
	D=${DISK[$1]:-}
	[[ -n $D ]] || fail "no disk $1"
}

# stat_of SERIAL COUNTER: V = the counter of the disk's parent (after a
# scan).
stat_of() {
	get V "/sys/bus/platform/devices/${PLAT[$1]}/stats/$2"
}

# wait_live MS: all_live within MS from now; says how long it took.
wait_live() {
	local t0 end
	now
	t0=$NOW
	end=$((t0 + $1))
	until all_live; do
		now
		if [[ $NOW -ge $end ]]; then
			show_devices
			return 1
		fi
		nap 0.02
	done
	now
	echo "all $ndev devices live after $((NOW - t0)) ms"
	# A last look that began in time but ended late does not count.
	[[ $((NOW - t0)) -le $1 ]] || return 1
}

# The state every case after a disruption starts from: a backend running,
# the transport loaded, every device live.  A case whose start cannot be
# reached fails (an earlier case left things broken).
ensure_live() {
	backend_running || backend_start
	has /proc/modules 'virtio_argo ' ||
		insmod "$kodir/virtio_argo.ko" "${va_params[@]}"
	wait_live 15000 || fail "devices not live"
}

# ------------------------------------------------------------ fio

# fio_verify NAME SERIAL...: one job per disk at once, each writing 16 MiB
# in random blocks of 4 KiB to 128 KiB at queue depth 16 with crc32c
# verification headers, then reading everything back and verifying; fails
# on fio's exit status, any job's error, nothing written or less read back.
fio_verify() {
	local name=$1 s rc=0 args=()
	shift
	scan
	for s in "$@"; do
		disk "$s"
		args+=(--name="$s" --filename="/dev/$D")
	done
	run_bounded "$name" 120000 fio --ioengine=libaio --direct=1 \
		--rw=randwrite --bsrange=4k-128k --iodepth=16 --size=16M \
		--verify=crc32c --do_verify=1 --verify_fatal=1 \
		--output-format=json --output="$cases/$name.json" \
		"${args[@]}" || rc=$?
	if [[ $rc -ne 0 ]]; then
		cat "$cases/$name.json"
		fail "fio exit status $rc"
	fi
	python3 - "$cases/$name.json" "$#" <<'EOF'
import json, sys
t = open(sys.argv[1]).read()
d = json.loads(t[t.index("{"):])
bad = 0
if len(d["jobs"]) != int(sys.argv[2]):
    print("%d jobs reported, %s expected" % (len(d["jobs"]), sys.argv[2]))
    bad = 1
for j in d["jobs"]:
    w, r = j["write"], j["read"]
    print("%s: error %d, written %d bytes, read back %d bytes" %
          (j["jobname"], j["error"], w["io_bytes"], r["io_bytes"]))
    if j["error"] != 0 or w["io_bytes"] == 0 or r["io_bytes"] < w["io_bytes"]:
        bad = 1
sys.exit(bad)
EOF
}

# fio_load NAME SERIAL...: fio writing to the disks without end (random 4
# KiB to 64 KiB, queue depth 16 per disk; a run time it never reaches), in
# the background as NAME, until the case's disruption fails it; once each
# disk has completed 50 requests more (within 120 s), still running.
fio_load() {
	local name=$1 s i n ok=0 args=() before=()
	shift
	scan
	for s in "$@"; do
		disk "$s"
		args+=(--name="$s" --filename="/dev/$D")
		stat_of "$s" rx_chains
		before+=("$V")
	done
	bg_run "$name" "$cases/$name.out" fio --ioengine=libaio --direct=1 \
		--rw=randwrite --bsrange=4k-64k --iodepth=16 --size=64M \
		--time_based --runtime=1000000 \
		--output-format=json --output="$cases/$name.json" "${args[@]}"
	for ((n = 0; n < 1200 && !ok; n++)); do
		nap 0.1
		bg_running "$name" ||
			fail "fio ended at once: $(cat "$cases/$name.out")"
		i=0 ok=1
		for s in "$@"; do
			stat_of "$s" rx_chains
			[[ $V -ge $((before[i] + 50)) ]] || ok=0
			i=$((i + 1))
		done
	done
	for s in "$@"; do
		stat_of "$s" rx_chains
		echo "$s on ${PLAT[$s]}: $V requests completed"
	done
	if [[ $ok -ne 1 ]]; then
		bg_kill "$name"
		fail "fio did not get going in 120 s"
	fi
}

# fio_fails NAME T0 MS [ERRNO]: fio NAME ends within MS of T0 (ms), with an
# error in every job (ERRNO if given).
fio_fails() {
	local name=$1 t0=$2 ms=$3 errno=${4:-}
	now
	if ! bg_wait "$name" $((t0 + ms - NOW)); then
		bg_kill "$name"
		fail "fio still running $ms ms after it"
	fi
	now
	bg_rc "$name"
	echo "fio exited $RC $((NOW - t0)) ms after it (bound $ms)"
	[[ $RC -ne 0 ]] || fail "fio succeeded"
	python3 - "$cases/$name.json" "$errno" <<'EOF'
import json, sys
t = open(sys.argv[1]).read()
d = json.loads(t[t.index("{"):])
bad = 0
for j in d["jobs"]:
    print("%s: error %d, written %d bytes" % (j["jobname"], j["error"],
          j["write"]["io_bytes"]))
    if j["error"] == 0 or (sys.argv[2] and j["error"] != int(sys.argv[2])):
        bad = 1
sys.exit(bad)
EOF
}

# hwrng_reads: each virtio rng, made the hwrng core's current one, gives
# 64 bytes from /dev/hwrng within 10 s.
hwrng_reads() {
	local r n cur
	scan
	[[ ${#RNGS[@]} -eq 2 ]] || fail "rngs: ${RNGS[*]}"
	for r in "${RNGS[@]}"; do
		echo "$r" >/sys/class/misc/hw_random/rng_current
		get cur /sys/class/misc/hw_random/rng_current
		[[ $cur == "$r" ]] || fail "$r not made current ($cur)"
		: >"$work/hwrng"
		run_bounded "hwrng-$r" 10000 \
			dd if=/dev/hwrng of="$work/hwrng" bs=64 count=1 \
			iflag=fullblock status=none ||
			fail "reading $r failed"
		n=$(stat -c %s "$work/hwrng")
		echo "$r: $n bytes: $(od -An -tx1 "$work/hwrng" | head -n 1)"
		[[ $n -eq 64 ]] || fail "$r gave $n bytes"
	done
}

# ------------------------------------------------------------ setup

setup() {
	local s
	for s in "${serials[@]}"; do
		truncate -s "${disk_mib[$s]}M" "$work/$s.img"
	done
	insmod "$kodir/argo.ko" provider=loopback
	va_modprobe virtio_blk
	va_modprobe virtio_rng
}

# ------------------------------------------------------------ 1. frontends

# One backend serves domains 1 and 2, two disks and an rng each; the
# transport acts as both: six parent devices numbered 256 * i + N, every
# one live, the disks with their images' sizes, both rngs registered.
frontends_appear() {
	local s p v want got=''
	backend_start
	insmod "$kodir/virtio_argo.ko" "${va_params[@]}"
	wait_live 10000 || fail "not all devices appeared"
	show_devices
	want='virtio-argo.0 virtio-argo.1 virtio-argo.2 virtio-argo.256 virtio-argo.257 virtio-argo.258'
	for p in /sys/bus/platform/devices/virtio-argo.*; do
		got+="${got:+ }${p##*/}"
		get v "$p/backend_domain"
		[[ $v == 0 ]] || fail "$p: backend_domain $v"
	done
	[[ $got == "$want" ]] || fail "parent devices: $got, want $want"
	for s in "${serials[@]}"; do
		get v "/sys/block/${DISK[$s]}/size"
		[[ $v -eq $((disk_mib[$s] << 11)) ]] || fail "$s: $v sectors"
		# Domain 1's devices are virtio-argo.0-2, domain 2's 256-258.
		case ${PLAT[$s]} in
		virtio-argo.[0-2]) [[ ${disk_fe[$s]} == 1 ]] ;;
		virtio-argo.25[6-8]) [[ ${disk_fe[$s]} == 2 ]] ;;
		*) false ;;
		esac || fail "$s on ${PLAT[$s]}, frontend ${disk_fe[$s]}"
	done
	dmesg | grep -E 'virtio_argo|virtio-argo' || true
	be_cur
	cat "$BLOG"
	has "$BLOG" 'frontend 1: connected' || fail "frontend 1 not connected"
	has "$BLOG" 'frontend 2: connected' || fail "frontend 2 not connected"
}

frontends_fio() {
	fio_verify fio4 "${serials[@]}"
}

# ------------------------------------------------------------ 2. SIGKILL

kill_mark='backend SIGKILL under fio'

# fio on one disk of each frontend; SIGKILL the backend: every job ends
# with EIO within bound_dead.
sigkill_fio_fails() {
	local t0
	ensure_live
	fio_load fio-kill f1d0 f2d0
	mark "$kill_mark"
	now
	t0=$NOW
	backend_signal KILL
	fio_fails fio-kill "$t0" "$bound_dead" 5
	backend_wait 1000 || fail "backend still there"
}

# Every device of both frontends reads "lost", and the kernel said so for
# both: "backend domain 0 gone".
sigkill_lost() {
	local n
	backend_wait 1000 || fail "backend still running"
	show_devices
	[[ $NLOST -eq $ndev ]] || fail "$NLOST of $ndev devices lost"
	kmsg_show "$kill_mark"
	for n in 1 2; do
		kmsg_has "$kill_mark" "virtio_argo: domain $n: backend domain 0 gone \\(no control ring at port 0x76a10000\\)" ||
			fail "no 'gone' line for domain $n"
	done
	no_report_since "$kill_mark"
}

# ------------------------------------------------------------ 3. restart

restart_mark='backend restarted'

# The same backend again: every device live, every disk and rng there,
# within bound_back of the start.
restart_back() {
	local t0 n
	backend_running && fail "the backend is still running"
	mark "$restart_mark"
	now
	t0=$NOW
	backend_start
	now
	wait_live $((bound_back - (NOW - t0))) ||
		fail "not back within $bound_back ms"
	now
	echo "back $((NOW - t0)) ms after the start"
	show_devices
	for n in 1 2; do
		kmsg_has "$restart_mark" "virtio_argo: domain $n: backend domain 0 is back: protocol 1, 3 devices" ||
			fail "no 'is back' line for domain $n"
	done
}

restart_fio() {
	fio_verify fio-restart "${serials[@]}"
}

restart_hwrng() {
	hwrng_reads
}

# ------------------------------------------------------------ 4. durability

dur_mark='durability: SIGKILL under writes'

# ext4 on f1d1 with files of many sizes, synced (syncfs, then fsync of
# every file: acknowledged flushes); their checksums kept in tmpfs.
dur_synced() {
	local i
	ensure_live
	scan
	disk f1d1
	mkfs.ext4 -q -F "/dev/$D"
	mount -n -t ext4 "/dev/$D" "$mnt"
	mkdir "$mnt/synced" "$mnt/later"
	for ((i = 0; i < 24; i++)); do
		head -c $(((i * 37 % 11) * 65536 + i * 511)) /dev/urandom \
			>"$mnt/synced/f$i"
	done
	sync -f "$mnt"
	sync "$mnt"/synced/* "$mnt/synced"
	(cd "$mnt/synced" && sha256sum f*) >"$work/synced.sha"
	wc -l <"$work/synced.sha"
}

# Files written and fsynced one after another in the background; SIGKILL
# the backend: a write fails within bound_dead.
dur_kill() {
	local t0 f=() i
	has /proc/mounts " $mnt ext4 " || fail "not mounted"
	# shellcheck disable=SC2016 # expanded by that bash
	bg_run writer "$cases/writer.out" bash -c '
		i=0
		while dd if=/dev/urandom of="$1/f$i" bs=64k count=4 \
			conv=fsync status=none; do
			i=$((i + 1))
		done
		echo "file $i failed"
		exit 1' _ "$mnt/later"
	for ((i = 0; i < 1200; i++)); do
		f=("$mnt"/later/*)
		[[ ${#f[@]} -ge 5 ]] && break
		bg_running writer || fail "writer ended: $(cat "$cases/writer.out")"
		nap 0.1
	done
	echo "${#f[@]} files written before the kill"
	[[ ${#f[@]} -ge 5 ]] || fail "writer too slow"
	mark "$dur_mark"
	now
	t0=$NOW
	backend_signal KILL
	if ! bg_wait writer "$bound_dead"; then
		bg_kill writer
		fail "writes still going $bound_dead ms after the kill"
	fi
	now
	echo "writer ended $((NOW - t0)) ms after the kill: $(cat "$cases/writer.out")"
	bg_rc writer
	[[ $RC -ne 0 ]] || fail "writer succeeded"
	kmsg_show "$dur_mark"
}

# The file system of a lost disk unmounts, at worst lazily, within 20 s.
dur_umount() {
	local rc=0
	has /proc/mounts " $mnt ext4 " || fail "not mounted"
	run_bounded umount 20000 umount -n "$mnt" || rc=$?
	if [[ $rc -ne 0 ]]; then
		echo "umount failed ($rc); lazily"
		run_bounded umount-l 20000 umount -n -l "$mnt" ||
			fail "umount -l failed"
	fi
	! has /proc/mounts " $mnt " || fail "still mounted"
}

# The backend again; once the disk is back, e2fsck -fy (journal replay and
# whatever it must fix: 0 or 1) then e2fsck -fn finds nothing (0).
dur_fsck() {
	local t0 rc=0
	now
	t0=$NOW
	backend_start
	wait_live "$bound_back" || fail "not back within $bound_back ms"
	disk f1d1
	now
	echo "disk back as $D after $((NOW - t0)) ms"
	run_bounded fsck-y 60000 e2fsck -fy "/dev/$D" || rc=$?
	echo "e2fsck -fy: exit $rc"
	[[ $rc -le 1 ]] || fail "e2fsck -fy exit status $rc"
	run_bounded fsck-n 60000 e2fsck -fn "/dev/$D" ||
		fail "e2fsck -fn not clean"
}

# Every file synced before the kill is there with its checksum.
dur_files() {
	local f=()
	scan
	disk f1d1
	mount -n -t ext4 "/dev/$D" "$mnt"
	f=("$mnt"/later/*)
	echo "after the kill: ${#f[@]} later files"
	(cd "$mnt/synced" && sha256sum -c --strict "$work/synced.sha") || {
		umount -n "$mnt"
		fail "synced files lost or changed"
	}
	umount -n "$mnt"
}

# ------------------------------------------------------------ 5. quick

quick_mark='quick restart'

# quick_reads N END: a 4 KiB read of each of f1d0 and f2d0 (as the last
# scan found them), both done by END (ms): whether both succeeded.
quick_reads() {
	local s r=0
	for s in f1d0 f2d0; do
		bg_run "read$1-$s" "$cases/read$1-$s.out" \
			dd if="/dev/${DISK[$s]}" of=/dev/null bs=4k count=1 \
			iflag=direct
	done
	for s in f1d0 f2d0; do
		now
		if bg_wait "read$1-$s" $(($2 - NOW)); then
			bg_rc "read$1-$s"
			[[ $RC -eq 0 ]] || r=1
		else
			bg_kill "read$1-$s"
			r=1
		fi
	done
	return "$r"
}

# SIGKILL and start the backend again at once, while idle, faster than
# the keepalive looks (the next backend is forked beforehand, and execs
# once the old one is dead).  The backend does not know the transport's
# handles, so the first I/O on a disk of each frontend stalls until the
# keepalive's PING gets NODEV, fails (EIO), and the devices are added
# again; I/O must work on them again within bound_quick of the restart
# (every device live, a read on each disk succeeds), and fio then verify
# on them (in the time it takes).  If the keepalive happened to look in
# the gap (the ring missing), the devices were already lost: the same end
# by another way; the log says which.
quick_restart() {
	local t0 t1 end n=0 s
	ensure_live
	scan
	for s in f1d0 f2d0; do
		disk "$s"
		echo "$D" >"$work/quick.$s"
	done
	backend_prepare
	mark "$quick_mark"
	now
	t0=$NOW
	backend_signal KILL
	bg_pid "$BE"
	# Dead (a zombie or reaped) means its rings are gone.
	for ((n = 0; n < 5000; n++)); do
		s=''
		read -r _ _ s _ 2>/dev/null </proc/"$PID"/stat || true
		[[ -z $s || $s == Z ]] && break
		nap 0.001
	done
	[[ -z $s || $s == Z ]] || fail "backend did not die"
	now
	echo "backend dead $((NOW - t0)) ms after SIGKILL"
	backend_go
	now
	t1=$NOW
	echo "the next one serving $((t1 - t0)) ms after SIGKILL"
	# The first I/O: one read on each disk as it was.
	for s in f1d0 f2d0; do
		get D "$work/quick.$s"
		bg_run "first-$s" "$cases/first-$s.out" \
			dd if="/dev/$D" of=/dev/null bs=4k count=1 iflag=direct
	done
	for s in f1d0 f2d0; do
		bg_wait "first-$s" "$bound_quick" ||
			fail "the first read on $s still running after $bound_quick ms"
		now
		bg_rc "first-$s"
		echo "first read on $s: exit $RC, $((NOW - t1)) ms after the restart: $(cat "$cases/first-$s.out")"
	done
	end=$((t1 + bound_quick))
	n=0
	while :; do
		n=$((n + 1))
		all_live && quick_reads "$n" "$end" && break
		now
		[[ $NOW -lt $end ]] ||
			fail "I/O not working $bound_quick ms after the restart"
		nap 0.2
	done
	now
	echo "I/O works again $((NOW - t1)) ms after the restart (attempt $n)"
	[[ $NOW -le $end ]] || fail "later than $bound_quick ms"
	fio_verify quick f1d0 f2d0
	kmsg_show "$quick_mark"
	if kmsg_has "$quick_mark" 'gone \(no control ring'; then
		echo "the keepalive saw the backend's ring missing"
	else
		kmsg_has "$quick_mark" 'lost track of its devices' ||
			fail "neither 'gone' nor 'lost track'"
		echo "the restart went unseen: found by the stalled requests' PING"
	fi
	no_report_since "$quick_mark"
}

# ------------------------------------------------------------ 6. hung

hung_mark='backend SIGSTOP under fio'

# fio on a disk of each frontend; SIGSTOP the backend: the requests fail
# within bound_hung (2 * keepalive_ms + timeout_ms + margin) and every
# device reads "lost".
hung_fails() {
	local t0 n
	ensure_live
	fio_load fio-hung f1d0 f2d0
	mark "$hung_mark"
	now
	t0=$NOW
	backend_signal STOP
	fio_fails fio-hung "$t0" "$bound_hung" 5
	show_devices
	[[ $NLOST -eq $ndev ]] || fail "$NLOST of $ndev devices lost"
	kmsg_show "$hung_mark"
	for n in 1 2; do
		kmsg_has "$hung_mark" "virtio_argo: domain $n: backend domain 0 lost track of its devices" ||
			fail "no 'lost track' line for domain $n"
	done
}

# SIGCONT: the devices come back within bound_back and work.
hung_back() {
	local t0
	backend_running || fail "the backend is gone"
	now
	t0=$NOW
	backend_signal CONT
	wait_live "$bound_back" || fail "not back within $bound_back ms"
	now
	echo "back $((NOW - t0)) ms after SIGCONT"
	fio_verify fio-cont "${serials[@]}"
	no_report_since "$hung_mark"
}

# ------------------------------------------------------------ 7. rmmod

rmmod_mark='rmmod under fio'

# fio on all four disks; rmmod virtio_argo: it completes within
# bound_rmmod, the disks go, fio ends with errors, nothing oopses.
rmmod_busy() {
	local t0
	ensure_live
	be_cur
	wc -l <"$BLOG" >"$work/rmmod.logline"
	fio_load fio-rmmod "${serials[@]}"
	mark "$rmmod_mark"
	now
	t0=$NOW
	echo "$t0" >"$work/t_rmmod"
	bg_run rmmod "$cases/rmmod.out" rmmod virtio_argo
	if ! bg_wait rmmod "$bound_rmmod"; then
		since_mark "$rmmod_mark" >/dev/null
		tail -n 30 "$work/kmsg.txt"
		fail "rmmod still running after $bound_rmmod ms"
	fi
	now
	bg_rc rmmod
	echo "rmmod exited $RC after $((NOW - t0)) ms: $(cat "$cases/rmmod.out")"
	[[ $RC -eq 0 ]] || fail "rmmod failed"
	! has /proc/modules 'virtio_argo ' || fail "still loaded"
	scan
	[[ $NPDEV -eq 0 ]] || fail "devices left: $STATES"
	[[ ${#DISK[@]} -eq 0 ]] || fail "disks left: ${DISK[*]}"
	kmsg_show "$rmmod_mark"
	no_report_since "$rmmod_mark"
}

rmmod_fio_fails() {
	local t0
	get t0 "$work/t_rmmod"
	fio_fails fio-rmmod "$t0" "$bound_rmmod"
}

# The backend keeps running, says each of the three devices of both
# frontends was detached, and within 10 s that both frontends are gone
# (their control rings are no more: it forgets their sessions).
rmmod_backend() {
	local fe n i
	backend_running || fail "the backend exited"
	bg_pid "$BE"
	kill -0 "$PID"
	for ((i = 0; i < 100; i++)); do
		has "$BLOG" 'info: frontend 1: gone (' &&
			has "$BLOG" 'info: frontend 2: gone (' && break
		nap 0.1
	done
	get n "$work/rmmod.logline"
	tail -n +"$((n + 1))" "$BLOG" >"$work/rmmod.backend.log"
	cat "$work/rmmod.backend.log"
	for fe in 1 2; do
		n=$(grep -cE "info: frontend $fe: (blk|rng)[0-9]+: detached\$" \
			"$work/rmmod.backend.log" || true)
		[[ $n -eq 3 ]] || fail "frontend $fe: $n devices detached, not 3"
		grep -q "info: frontend $fe: gone (its control ring is no more)" \
			"$work/rmmod.backend.log" || fail "frontend $fe not gone"
	done
	backend_running || fail "the backend exited"
}

# Loaded again: every device live, fio verifies on the four disks.
rmmod_reload() {
	local t0
	now
	t0=$NOW
	insmod "$kodir/virtio_argo.ko" "${va_params[@]}"
	wait_live 10000 || fail "devices not back after the reload"
	now
	echo "live $((NOW - t0)) ms after insmod"
	fio_verify fio-reload "${serials[@]}"
}

# ------------------------------------------------------------ 9. forged

forge_mark='forged handles'

# The forger: virtual domain 3 through /dev/argo, a frontend of the
# backend's (it has an rng there), says HELLO, asks for its own device
# and PINGs it (OK: the channel works), then names devices of domains 1
# and 2 by their handles in every request about a device, each of which
# must be refused with NODEV; sends a DATA_REQ naming domain 1's disk to
# its own data ring; and tries a data ring it has no device behind, which
# the hypervisor must refuse (no ring for domain 3 there).  Prints one
# line per step; exits 1 if any answer differs.
cat >"$work/forge.py" <<'EOF'
import ctypes, errno, fcntl, os, select, struct, sys

def ioc(d, nr, size):
    return (d << 30) | (size << 16) | (0xA7 << 8) | nr

BIND, SEND, RECV = ioc(1, 1, 32), ioc(1, 2, 32), ioc(3, 3, 32)
CTRL, DATA, REPLY = 0x76a10000, 0x76a20000, 0x80000000
HELLO, DEV_INFO, ATTACH, DETACH, SET_FEATURES, SET_STATUS, QUEUE_SETUP, \
    RESET, CONFIG_WRITE, CONFIG_READ, PING = range(1, 12)
DATA_REQ = 0x201
OK, NODEV = 0, 2
me, be = 3, 0
victims = [int(h) for h in sys.argv[1:]]
bad = 0
fd = os.open("/dev/argo", os.O_RDWR | os.O_NONBLOCK)
fcntl.ioctl(fd, BIND, struct.pack("<IHHII16x", CTRL, be, me, 65536, 0))
bufs = []

def send(port, typ, payload):
    b = bytearray(payload)
    bufs.append(b)
    addr = ctypes.addressof((ctypes.c_char * len(b)).from_buffer(b))
    fcntl.ioctl(fd, SEND, struct.pack("<QIIIHHQ", addr, len(b), typ, port,
                                       be, 0, 0))

def recv():
    b = bytearray(4096)
    addr = ctypes.addressof((ctypes.c_char * len(b)).from_buffer(b))
    m = bytearray(struct.pack("<QIIIHHQ", addr, len(b), 0, 0, 0, 0, 0))
    fcntl.ioctl(fd, RECV, m, True)
    _, n, typ, port, dom, _, _ = struct.unpack("<QIIIHHQ", m)
    return bytes(b[:n]), typ, dom

tag = 0

def req(typ, dev, body=b""):
    global tag
    tag += 1
    send(CTRL, typ, struct.pack("<II", dev, tag) + body)
    p = select.poll()
    p.register(fd, select.POLLIN)
    while True:
        if not p.poll(5000):
            raise SystemExit("no reply to type %#x" % typ)
        try:
            m, rtyp, dom = recv()
        except BlockingIOError:
            continue
        rdev, rtag, st = struct.unpack("<III", m[:12])
        if rtyp == typ | REPLY and rtag == tag and dom == be:
            return st, m

def expect(what, st, want):
    global bad
    print("%s: status %d%s" % (what, st, "" if st == want else
                               " (want %d)" % want))
    if st != want:
        bad = 1

st, m = req(HELLO, 0, struct.pack("<HHIII", 1, 1, 0, 65536, 0))
expect("HELLO", st, OK)
st, m = req(DEV_INFO, 0, struct.pack("<II", 0, 0))
expect("DEV_INFO 0", st, OK)
mine = struct.unpack("<I", m[16:20])[0]
print("own device: handle %#x" % mine)
st, m = req(PING, mine)
expect("PING own %#x" % mine, st, OK)
forged = 0
for h in victims:
    for name, typ, body in (
            ("ATTACH", ATTACH, struct.pack("<II", DATA + 7, 65536)),
            ("SET_FEATURES", SET_FEATURES, struct.pack("<Q", 1 << 32)),
            ("SET_STATUS 0", SET_STATUS, struct.pack("<II", 0, 0)),
            ("QUEUE_SETUP", QUEUE_SETUP, struct.pack("<HHI", 0, 16, 1)),
            ("CONFIG_WRITE", CONFIG_WRITE, struct.pack("<IIB", 0, 1, 0xee)),
            ("CONFIG_READ", CONFIG_READ, struct.pack("<II", 0, 8)),
            ("PING", PING, b""),
            ("RESET", RESET, b""),
            ("DETACH", DETACH, b"")):
        st, m = req(typ, h, body)
        expect("%s %#x" % (name, h), st, NODEV)
        forged += 1
print("forged requests: %d" % forged)
# A write to sector 0 of a victim's disk, on our own data ring.
hdr = struct.pack("<IIHHI", victims[0], 1, 1, 0, 48)
rec = struct.pack("<HHHHIIII", 0, 3, 0, 0, 16 + 512, 1, 0, 16 + 512)
blk = struct.pack("<IIQ", 1, 0, 0) + b"\xee" * 512
send(DATA, DATA_REQ, hdr + rec + b"\0" * 8 + blk)
print("DATA_REQ for %#x sent on our own data ring" % victims[0])
try:
    send(DATA + 1, DATA_REQ, hdr)
    print("DATA_REQ to port %#x: sent (want refused)" % (DATA + 1))
    bad = 1
except OSError as e:
    print("DATA_REQ to port %#x: %s" % (DATA + 1, errno.errorcode[e.errno]))
    if e.errno != errno.ECONNREFUSED:
        bad = 1
sys.exit(bad)
EOF

# Domain 3 forges handles of domains 1 and 2: every request is refused
# with NODEV and logged by the backend as naming an unknown handle (its
# count), the forged DATA_REQ is dropped as malformed, the other ring is
# refused; domains 1 and 2 see nothing: no line about their devices in
# the backend's log, every device live, sector 0 of the victim's image
# unchanged, and fio verifies on their disks.
forged_handles() {
	local h1 h2 n i
	ensure_live
	be_cur
	wc -l <"$BLOG" >"$work/forge.logline"
	get h1 "/sys/bus/platform/devices/${PLAT[f1d0]}/handle"
	get h2 "/sys/bus/platform/devices/${PLAT[f2d0]}/handle"
	echo "victims: f1d0 on ${PLAT[f1d0]} handle $h1, f2d0 on ${PLAT[f2d0]} handle $h2"
	dd if="$work/f1d0.img" of="$work/forge.sector0" bs=512 count=1 \
		status=none
	mark "$forge_mark"
	run_bounded forge 60000 python3 "$work/forge.py" "$h1" "$h2" ||
		fail "the forger saw a wrong answer"
	# The forger had the answers to its requests; the DATA_REQ it sent
	# last the backend takes from its ring in its own time (within 30 s),
	# and it is done with it once it answers on its control socket.
	for ((i = 0; i < 300; i++)); do
		has "$BLOG" 'malformed: DATA_REQ for device handle' && break
		nap 0.1
	done
	backend_idle
	get n "$work/forge.logline"
	tail -n +"$((n + 1))" "$BLOG" >"$work/forge.backend.log"
	cat "$work/forge.backend.log"
	n=$(grep -c 'frontend 3: .* for unknown device handle' \
		"$work/forge.backend.log" || true)
	[[ $n -eq 18 ]] || fail "$n unknown handles logged, not 18"
	grep -qE "frontend 3: rng[0-9]+: malformed: DATA_REQ for device handle $(printf '%#x' "$h1")," \
		"$work/forge.backend.log" || fail "the forged DATA_REQ not logged"
	! grep -E 'frontend (1|2):' "$work/forge.backend.log" ||
		fail "lines about frontends 1 and 2"
	dd if="$work/f1d0.img" bs=512 count=1 status=none |
		cmp - "$work/forge.sector0" || fail "sector 0 changed"
	all_live || fail "not every device live: $STATES"
	fio_verify fio-forge f1d0 f2d0
	no_report_since "$forge_mark"
}

# ------------------------------------------------------------ 8. loop

# What the argo modules hold in vmalloc space (rings): areas and bytes.
argo_vmalloc() {
	awk '/\[(virtio_)?argo\]/ { n++; b += $2 } END { printf "%d %d\n", n, b }' \
		/proc/vmallocinfo
}

slab_kb() {
	awk '$1 == "Slab:" { print $2 }' /proc/meminfo
}

loop_mark='load/unload loop'

# 20 times: load (every device live within 10 s), unload (within
# bound_rmmod).
load_loop() {
	local i t0
	ensure_live
	run_bounded rmmod0 "$bound_rmmod" rmmod virtio_argo ||
		fail "first rmmod failed"
	# The backend notices a frontend gone within a second and then
	# registers or drops rings of its own: count once it is done with
	# every frontend (domain 3's, the forger's, too).
	backend_settled 60000
	echo 3 >/proc/sys/vm/drop_caches
	argo_vmalloc >"$work/vmalloc.before"
	slab_kb >"$work/slab.before"
	echo "before: argo vmalloc $(cat "$work/vmalloc.before"), slab $(cat "$work/slab.before") kB"
	mark "$loop_mark"
	now
	t0=$NOW
	for ((i = 1; i <= 20; i++)); do
		insmod "$kodir/virtio_argo.ko" "${va_params[@]}" ||
			fail "insmod $i failed"
		wait_live 10000 >/dev/null || {
			show_devices
			fail "load $i: devices not live"
		}
		run_bounded "rmmod$i" "$bound_rmmod" rmmod virtio_argo ||
			fail "rmmod $i: exit $RC"
	done
	now
	echo "20 loads and unloads in $((NOW - t0)) ms"
	no_report_since "$loop_mark"
}

# Nothing is left: no module, parent, virtio, block or rng device; the
# argo modules hold exactly the vmalloc areas they held before (the
# backend's rings), and the slab has not grown by 8 MiB (KASAN's
# quarantine holds freed objects a while: only a gross leak shows).
loop_clean() {
	local v0 v1 s0 s1 d
	! has /proc/modules 'virtio_argo ' || fail "virtio_argo loaded"
	[[ ! -e /sys/module/virtio_argo ]] || fail "/sys/module/virtio_argo"
	scan
	[[ $NPDEV -eq 0 ]] || fail "devices left: $STATES"
	d=(/sys/bus/virtio/devices/* /sys/block/vd*)
	[[ ${#d[@]} -eq 0 ]] || fail "left: ${d[*]}"
	[[ ${#RNGS[@]} -eq 0 ]] || fail "rngs left: ${RNGS[*]}"
	# Counted as before the loop, once the backend is done with the last
	# unload.
	backend_settled 60000
	echo 3 >/proc/sys/vm/drop_caches
	get v0 "$work/vmalloc.before"
	v1=$(argo_vmalloc)
	get s0 "$work/slab.before"
	s1=$(slab_kb)
	echo "argo vmalloc (areas bytes): $v0 before, $v1 after"
	echo "slab: $s0 kB before, $s1 kB after ($((s1 - s0)) kB)"
	grep -E '\[(virtio_)?argo\]' /proc/vmallocinfo || true
	[[ $v1 == "$v0" ]] || fail "argo vmalloc areas changed"
	[[ $((s1 - s0)) -lt 8192 ]] || fail "slab grew by $((s1 - s0)) kB"
	backend_running || fail "the backend exited"
}

# ------------------------------------------------------------ the end

# SIGTERM: the backend exits 0 within 10 s.
backend_sigterm() {
	local t0
	backend_running || fail "no backend running"
	now
	t0=$NOW
	backend_signal TERM
	if ! backend_wait 10000; then
		backend_signal KILL
		fail "still running 10 s after SIGTERM"
	fi
	now
	bg_rc "$BE"
	echo "exit status $RC after $((NOW - t0)) ms"
	tail -n 5 "$BLOG"
	[[ $RC -eq 0 ]] || fail "exit status $RC"
}

# What is left if a case failed.
cleanup() {
	local n
	for n in fio-kill fio-hung fio-rmmod writer; do
		bg_kill "$n"
	done
	if backend_running; then
		backend_signal CONT
		backend_signal TERM
		backend_wait 10000 || backend_signal KILL
	fi
	# A backend prepared and never started.
	get n "$work/backend.next"
	[[ -z $n || $n == "$BE" ]] || bg_kill "$n"
	has /proc/mounts " $mnt " && umount -n -l "$mnt"
	if has /proc/modules 'virtio_argo '; then
		timeout 30 rmmod virtio_argo || note "rmmod virtio_argo failed"
	fi
	timeout 30 rmmod argo || note "rmmod argo failed"
}

# ------------------------------------------------------------ run

(set -e; setup) >"$va_result/setup.log" 2>&1 || fatal="setup failed (setup.log)"
t_case several_frontends_devices_appear frontends_appear ||
	fatal="the devices did not appear"
t_case several_frontends_hwrng_reads hwrng_reads
t_case several_frontends_fio_4_disks_crc32c_verified frontends_fio
t_case backend_sigkill_fio_fails_promptly sigkill_fio_fails
t_case backend_sigkill_devices_lost sigkill_lost
t_case backend_restart_devices_back restart_back
t_case backend_restart_fio_4_disks_crc32c_verified restart_fio
t_case backend_restart_hwrng_reads restart_hwrng
t_case durability_ext4_files_synced dur_synced
t_case durability_sigkill_fails_writes_promptly dur_kill
t_case durability_umount_after_loss dur_umount
t_case durability_e2fsck_clean_after_restart dur_fsck
t_case durability_synced_files_intact dur_files
t_case quick_restart_io_works_again quick_restart
t_case hung_backend_requests_fail_promptly hung_fails
t_case hung_backend_sigcont_devices_back hung_back
t_case rmmod_under_io_completes rmmod_busy
t_case rmmod_under_io_fio_fails rmmod_fio_fails
t_case rmmod_under_io_backend_keeps_serving rmmod_backend
t_case rmmod_reload_fio_4_disks_crc32c_verified rmmod_reload
t_case forged_handles_refused forged_handles
t_case load_unload_20_times load_loop
t_case load_unload_leaves_nothing loop_clean
t_case backend_sigterm_exits_0 backend_sigterm
cleanup
note "done"
exit 0
