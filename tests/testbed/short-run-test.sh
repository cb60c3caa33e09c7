#!/usr/bin/env bash
# kernel.testbed-short: README's main job, short (2 handovers and the way
# home) in the kernel VM; then its JSON report is checked
# (tests/testbed/check_report.py: zero plaintext bytes, zero leaked SAs and
# policies, every handover completed, one IKE_SA_INIT with the K flag).
#   short-run-test.sh BUILD_DIR     (report in BUILD_DIR/testbed-short)
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: short-run-test.sh BUILD_DIR}
out=$build/testbed-short
rm -rf "$out"
"$here/testbed" --build "$build" --where vm --handovers 2 --out "$out"
rc=$?
[[ -f $out/report.json ]] || { echo "FAIL the testbed wrote no report (exit $rc)"; exit 1; }
"$here/check_report.py" "$out/report.json" || exit 1
exit "$rc"
