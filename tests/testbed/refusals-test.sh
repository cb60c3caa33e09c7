#!/usr/bin/env bash
# testbed.refuses-bad-runs: an impossible flag combination, a bad value or
# a missing dependency ends the testbed early with one sentence on stderr
# (exit 2), and leaves nothing behind: no output folder, no namespace, no
# VM or daemon process.
#   refusals-test.sh BUILD_DIR
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/check.sh"
build=${1:?usage: refusals-test.sh BUILD_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# (other tests may run mobilityd meanwhile: only the testbed's own run counts)
state() { ip netns list 2>/dev/null; pgrep -fa 'testbed-run' | grep -v pgrep; }
refused() {   # refused WHAT ARGS...: one sentence, exit 2, nothing left
  local what=$1; shift
  local before after err rc
  before=$(state)
  err=$("$here/testbed" --build "$build" --out "$tmp/out" "$@" 2>&1 >/dev/null)
  rc=$?
  after=$(state)
  echo "    $what: exit $rc: $err"
  [[ $rc == 2 ]] && [[ $(wc -l <<<"$err") == 1 ]] && [[ $err == "testbed: "*. ]] &&
    [[ ! -e $tmp/out ]] && [[ $before == "$after" ]]
}
check "static keying with the K flag" refused k-flag --keying static --k-flag on
check "static keying with payload protection" refused payload --keying static --payload on
check "no handovers" refused handovers --handovers 0
check "loss beyond the range" refused loss --loss-percent 50
check "a rate beyond the range" refused rate --rate 100000
check "an unknown NEMO mode" refused nemo --nemo sideways
check "an unknown flag (no abbreviations)" refused flag --handover 3
check "a build without the daemons (missing dependency)" refused build --build "$tmp/no-build"
check_done
