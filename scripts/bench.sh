#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/bench.sh: the benchmark (not a test: nothing here passes or
# fails on speed).  Measures virtio-argo against the device Xen itself ships,
# side by side in one run, and prints one table with the ratios.
#
#   bench.sh [-o DIR] [-s SECS] [-r REPS] [-j JOB+JOB...]
#
# Today: block, on the Xen bed (scripts/xen-bed.sh, scenario bench): one PV
# domU with a virtio-argo disk (backend in dom0) and an xl disk (blkfront,
# blkback on a loop device in dom0), both 256 MiB files on dom0's tmpfs;
# fio (libaio, O_DIRECT) 1 MiB sequential read and write and 4 KiB random
# read at depths 1, 4 and 16, each job on each disk in turn, REPS times.
#
# -o DIR     the bed's results and the tables: bench.txt (plain),
#            bench.rst (for Documentation/performance.rst)
# -s SECS    each fio run (default 10)
# -r REPS    runs of each job on each disk (default 3); the table gives the
#            median and the range
# -j JOBS    a subset, e.g. seqread-1m-qd16+randread-4k-qd1
#
# Needs what scripts/xen-bed.sh needs (root, scripts/deps.sh).  TCG on a
# shared machine is noisy: compare the two sides of one run, not runs.

set -euo pipefail
exec </dev/null

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	sed -n '6,22s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

out='' secs=10 reps=3 jobs=all
while [[ $# -gt 0 ]]; do
	case $1 in
	-o)
		[[ $# -ge 2 ]] || usage
		out=$2
		shift 2
		;;
	-s)
		[[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || usage
		secs=$2
		shift 2
		;;
	-r)
		[[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || usage
		reps=$2
		shift 2
		;;
	-j)
		[[ $# -ge 2 && $2 =~ ^[a-z0-9+-]+$ ]] || usage
		jobs=$2
		shift 2
		;;
	*) usage ;;
	esac
done
[[ -n $out ]] || out=$(mktemp -d "${TMPDIR:-/tmp}/virtio-argo-bench.XXXXXX")
mkdir -p "$out"

va_note "block on the Xen bed: $reps runs of ${secs} s per job and disk; results in $out"
rc=0
VA_XEN_BED_ARGS="xenbed_bench_secs=$secs xenbed_bench_reps=$reps xenbed_bench_jobs=$jobs" \
	"$VA_ROOT/scripts/xen-bed.sh" -o "$out/xen" bench >"$out/xen.ktap" || rc=$?
if [[ $rc -ne 0 ]]; then
	grep '^not ok' "$out/xen.ktap" >&2 || true
	va_die "the bed's bench scenario failed (exit $rc; $out/xen.ktap, $out/xen/console.txt)"
fi

{
	echo "commit $(git -C "$VA_ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
	echo "machine $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), load $(cut -d' ' -f1-3 /proc/loadavg) at the end"
	echo "date $(date -u +%Y-%m-%d)"
} >"$out/machine.txt"

python3 - "$out" <<'EOP'
import re
import statistics
import sys

out = sys.argv[1]
rows = {}
order = []
pat = re.compile(r"xen-bed: # bench: (\S+) (argo|xbd) (\d+) (.*)$")
with open(out + "/xen/console.log", errors="replace") as f:
    for line in f:
        m = pat.search(line)
        if not m:
            continue
        job, disk, _, rest = m.groups()
        v = rest.split()
        if len(v) != 10:
            continue
        if job not in rows:
            rows[job] = {"argo": [], "xbd": []}
            order.append(job)
        rows[job][disk].append(v)
if not order:
    sys.exit("bench.sh: no result line in %s/xen/console.log" % out)


def num(x):
    return float(x)


def value(job, v):
    # 1 MiB jobs in MiB/s, 4 KiB jobs in IOPS
    return num(v[1]) / 1024 if "-1m-" in job else num(v[0])


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def rng(xs):
    return "%s-%s" % (fmt(min(xs)), fmt(max(xs))) if xs else "-"


def fmt(x):
    return "%.0f" % x if x >= 100 else "%.1f" % x


head = ["job", "unit", "virtio-argo", "(range)", "blkfront", "(range)",
        "ratio", "argo lat ms mean/max", "blkfront lat ms mean/max",
        "sends/req", "EAGAIN/req", "msgs in/req", "rescues"]
table = []
for job in order:
    a, x = rows[job]["argo"], rows[job]["xbd"]
    av = [value(job, v) for v in a]
    xv = [value(job, v) for v in x]
    unit = "MiB/s" if "-1m-" in job else "IOPS"
    ratio = med(av) / med(xv) if xv and med(xv) else float("nan")

    def lat(vs):
        if not vs:
            return "-"
        return "%.1f / %.0f" % (med([num(v[2]) for v in vs]) / 1000,
                                max(num(v[3]) for v in vs) / 1000)

    ios = sum(num(v[4]) for v in a) or float("nan")

    def per(i):
        return "%.2f" % (sum(num(v[i]) for v in a) / ios) if a else "-"

    table.append([job, unit, fmt(med(av)), rng(av), fmt(med(xv)), rng(xv),
                  "%.2f" % ratio, lat(a), lat(x), per(6), per(7), per(8),
                  "%d" % sum(int(v[9]) for v in a)])

w = [max(len(r[i]) for r in table + [head]) for i in range(len(head))]
with open(out + "/bench.txt", "w") as f:
    for r in [head] + table:
        f.write("  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip() + "\n")
with open(out + "/bench.rst", "w") as f:
    bar = "  ".join("=" * w[i] for i in range(len(head)))
    f.write(bar + "\n")
    f.write("  ".join(c.ljust(w[i]) for i, c in enumerate(head)).rstrip() + "\n")
    f.write(bar + "\n")
    for r in table:
        f.write("  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip() + "\n")
    f.write(bar + "\n")
print(open(out + "/bench.txt").read(), end="")
EOP
cat "$out/machine.txt"
va_note "tables in $out/bench.txt and $out/bench.rst"
