#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/uml/init-wrapper.sh: PID 1 of every UML boot of scripts/uml-run.sh.
# Sets up the system (init-common.sh), runs the init script $va_init with
# bash, writes its exit status to $va_result/init.status and powers off,
# whatever happens: init must never exit.

set -uo pipefail

# shellcheck source=scripts/uml/init-common.sh
. "${va_root:?}/scripts/uml/init-common.sh"

echo "va-init: running ${va_init:?}"
status=0
bash "$va_init" || status=$?
echo "$status" >"${va_result:?}/init.status"
echo "va-init: $va_init exited with status $status"
va_poweroff
