#!/usr/bin/env bash
# ikebridged embeds charon: it loads the stock plugins with vici, our own bus
# logger reports charon's lines, swanctl --stats answers over the private vici
# socket, SIGTERM stops it cleanly (exit 0), and the kernel and file system
# hold afterwards exactly what they held before. Run twice: restart works.
#   embedded_charon_test.sh PATH/TO/ikebridged
set -uo pipefail
daemon=${1:?usage: embedded_charon_test.sh IKEBRIDGED}
work=$(mktemp -d)
trap 'pkill -KILL -f "$work/vici" 2>/dev/null; rm -rf "$work"' EXIT
source "$(dirname "$0")/../../lib/check.sh"
kernel_state() {  # what charon's kernel-netlink could leave behind
  ip xfrm state list; ip xfrm policy list; ip rule list; ip route list table all 2>/dev/null | grep -v '^local\|^broadcast\|^multicast' | sort
}

before=$(kernel_state)
for run in 1 2; do
  log=$work/log.$run
  "$daemon" --vici-socket "$work/vici" --ike-port 0 --ike-port-nat-t 0 >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 50); do [[ -S $work/vici ]] && break; sleep 0.1; done
  check "run $run: vici socket appears" test -S "$work/vici"
  stats=$(swanctl --stats --uri "unix://$work/vici" 2>&1)
  check "run $run: swanctl --stats answers with uptime" grep -q '^uptime: ' <<<"$stats"
  check "run $run: vici is among the loaded plugins" grep -qE '^loaded plugins: .*\bvici\b' <<<"$stats"
  for p in kernel-netlink socket-default openssl x509 addrblock; do
    check "run $run: plugin $p loaded" grep -qE "^loaded plugins: .*(^| )$p( |$)" <<<"$stats"
  done
  check "run $run: our bus logger reported charon's plugin line" \
    grep -qE 'ikebridged\[lib[0-9]\] loaded plugins: .*vici' "$log"
  kill -TERM "$pid"
  rc=timeout
  for _ in $(seq 100); do
    if ! kill -0 "$pid" 2>/dev/null; then wait "$pid"; rc=$?; break; fi
    sleep 0.1
  done
  check "run $run: SIGTERM gives exit 0 (got $rc)" test "$rc" = 0
  check "run $run: shutdown logged" grep -q 'ikebridged\[dmn0\] stopped' "$log"
  check "run $run: vici socket removed" test ! -e "$work/vici"
  check "run $run: kernel state unchanged" test "$(kernel_state)" = "$before"
done
((CHECK_FAIL == 0)) || { echo "--- daemon log:"; cat "$work"/log.*; }
check_done
