#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/console-check.sh LOG [NAME]: look for kernel error reports in a
# UML console log and print them as a KTAP document (suite NAME, default
# "console"): "ok 1 clean" when there is none, otherwise one "not ok" case
# per report.  Exits 1 if it found any.
#
# A report is a line with BUG:, WARNING:, UBSAN:, "possible circular",
# KASAN, Oops, "Kernel panic", "general protection", lockdep,
# "INFO: task ... blocked" or "suspicious RCU usage" (stack frames, which
# name functions like lockdep_*(), are not reports).  Known boot noise
# that is ignored, and only that:
#  - the WARN() of arch/um/drivers/virt-pci.c ("No virtio device ID
#    configured for PCI"), once: UML_PCI_OVER_VIRTIO without a device id;
#  - the two "suspicious RCU usage" reports from lib/maple_tree.c at the
#    first fork on the debug kernel;
#  - once, lockdep's DEBUG_LOCKS_WARN_ON(lockdep_hardirq_context()) in the
#    kworker running drain_vmap_area_work, with hard interrupts last
#    enabled in unblock_signals_trace: a race in UML 6.1 itself (kernel
#    page-table entries keep their "new" flag, so purging lazily freed
#    vmalloc areas unmaps and maps live pages on the host; an interrupt
#    touching one faults in hard-irq context and UML's signal handler turns
#    interrupts on there).  Ring churn (vzalloc/vfree in the /dev/argo
#    fuzz cases) makes it happen about once in 30 runs.  Lockdep switches
#    itself off after it, for the rest of that boot only; see
#    Documentation/testing.rst.

set -euo pipefail

[[ $# -ge 1 && $# -le 2 ]] || {
	echo "usage: ${0##*/} LOG [NAME]" >&2
	exit 2
}
log=$1
name=${2:-console}
[[ -f $log ]] || {
	echo "${0##*/}: $log: no such file" >&2
	exit 2
}

tr -d '\r' <"$log" | awk -v name="$name" '
BEGIN {
	pat = "BUG:|WARNING:|UBSAN:|possible circular|KASAN|Oops|Kernel panic|" \
	      "general protection|lockdep|INFO: task .* blocked|" \
	      "suspicious RCU usage"
}
{ line[++n] = $0 }
END {
	pci = 0; maple = 0; vmap = 0; nf = 0
	for (i = 1; i <= n; i++) {
		l = line[i]
		if (l !~ pat)
			continue
		# Stack frames name functions (lockdep_*, kasan_*), not reports.
		if (l ~ /^ *\[<[0-9a-f]+>\]/ || l ~ /^ +[A-Za-z0-9_.]+\+0x[0-9a-f]+\/0x[0-9a-f]+/)
			continue
		# Lines of one report: skip the ones that repeat its header
		# (e.g. a KASAN report names KASAN several times).
		if (i <= skip_until)
			continue
		if (l ~ /WARNING:.*arch\/um\/drivers\/virt-pci\.c/ && pci < 1) {
			pci++; skip_until = i + 1; continue
		}
		if (l ~ /WARNING: suspicious RCU usage/ && maple < 2) {
			ignored = 0
			for (k = i + 1; k <= i + 5 && k <= n; k++)
				if (line[k] ~ /lib\/maple_tree\.c:/)
					ignored = 1
			if (ignored) {
				maple++; skip_until = i + 5; continue
			}
		}
		if (l ~ /WARNING:.*kernel\/locking\/lockdep\.c:[0-9]+ lockdep_hardirqs_on_prepare/ && vmap < 1) {
			wq = 0; unblock = 0; cond = 0
			for (k = i + 1; k <= i + 12 && k <= n; k++) {
				if (line[k] ~ /DEBUG_LOCKS_WARN_ON\(lockdep_hardirq_context\(\)\)/)
					cond = 1
				if (line[k] ~ /Workqueue: events drain_vmap_area_work/)
					wq = 1
				if (line[k] ~ /hardirqs last +enabled at .*unblock_signals_trace/)
					unblock = 1
				if (line[k] ~ /end trace/)
					break
			}
			if (cond && wq && unblock) {
				vmap++; skip_until = k; continue
			}
		}
		f[++nf] = l
		# One report = its first matching line and the next 3 lines.
		skip_until = i + 3
	}
	print "KTAP version 1"
	print "1..1"
	print "    KTAP version 1"
	print "    # Subtest: " name
	if (nf == 0) {
		print "    1..1"
		print "    ok 1 clean"
		print "ok 1 " name
		exit 0
	}
	print "    1.." nf
	for (k = 1; k <= nf; k++) {
		d = f[k]
		gsub(/#/, "_", d)
		gsub(/^[ \t]+/, "", d)
		print "    # report: " d
		print "    not ok " k " report_" k
	}
	print "not ok 1 " name
	exit 1
}'
