#!/usr/bin/env bash
# ikebridged embeds charon: it loads the stock plugins with vici, our own bus
# logger reports charon's lines, swanctl --stats answers over the private vici
# socket, SIGTERM stops it cleanly (exit 0), and the kernel and file system
# hold afterwards exactly what they held before. Run twice: restart works.
# Then with a home agent configuration and mobcert certificates: the
# connections derived from it are loaded (swanctl --list-conns shows them),
# the channel to mobilityd answers status-get, a broken configuration is
# one sentence and exit 1.
#   embedded_charon_test.sh PATH/TO/ikebridged PATH/TO/mobcert PATH/TO/mobctl
set -uo pipefail
# Its own network namespace: the kernel state compared before and after is
# this test's alone, whatever else runs on the machine (another charon's
# socket policies and routing rule would show up in the host namespace).
if [[ -z ${NK_OWN_NETNS:-} ]]; then
  NK_OWN_NETNS=1 exec unshare --net -- "$0" "$@"
fi
ip link set lo up
daemon=${1:?usage: embedded_charon_test.sh IKEBRIDGED MOBCERT}
mobcert=${2:?usage: embedded_charon_test.sh IKEBRIDGED MOBCERT MOBCTL}
mobctl=${3:?usage: embedded_charon_test.sh IKEBRIDGED MOBCERT MOBCTL}
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
  check "run $run: shutdown logged" grep -q 'IKE_STOPPED' "$log"
  check "run $run: vici socket removed" test ! -e "$work/vici"
  check "run $run: kernel state unchanged" test "$(kernel_state)" = "$before"
done

# A home agent with one IKEv2 mobile router.
cfg=$work/ha
mkdir -p "$cfg/nodes.d"
"$mobcert" init-ca --ca-dir "$work/ca" >/dev/null
"$mobcert" issue --ca-dir "$work/ca" --role ha --id ha.example.net --home-address 2001:db8:1::1 --prefix ::/0 >/dev/null
"$mobcert" issue --ca-dir "$work/ca" --role mr --id mr1.example.net --home-address 2001:db8:1::100 \
  --prefix 2001:db8:1:100::/64 >/dev/null
node=$work/ca/nodes/ha.example.net
cat > "$cfg/ha.toml" <<EOC
role = "home-agent"
[[interface]]
name = "lo"
[home-agent]
addresses = ["2001:db8:1::1"]
home-prefixes = ["2001:db8:1::/64"]
identity = "ha.example.net"
nodes-dir = "nodes.d"
[keying]
certificate = "$node/x509/ha.example.net.pem"
private-key = "$node/private/ha.example.net.pem"
ca-certificate = "$node/x509ca/ca.pem"
EOC
cat > "$cfg/nodes.d/mr1.toml" <<EOC
identity = "mr1.example.net"
role = "mobile-router"
home-address = "2001:db8:1::100"
[mobile-network]
prefixes = ["2001:db8:1:100::/64"]
EOC
printed=$("$daemon" --config "$cfg/ha.toml" --print-config 2>&1)
check "print-config: one connection per node" grep -q '^    mr1.example.net {' <<<"$printed"
check "print-config: BU/BA in transport proxy mode" grep -q 'mode = transport_proxy' <<<"$printed"
check "print-config: no policies from charon" grep -q 'policies = no' <<<"$printed"
log=$work/log.config
"$daemon" --config "$cfg/ha.toml" --socket "$work/ctl" --crl "$node/x509crl/ca.crl.pem" \
  --vici-socket "$work/vici" --ike-port 0 --ike-port-nat-t 0 >"$log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q 'IKE_READY\|IKE_LOAD_FAILED' "$log" && break; sleep 0.1; done
check "configured: connections loaded" grep -q 'IKE_READY 1 connection' "$log"
conns=$(swanctl --list-conns --uri "unix://$work/vici" 2>&1)
check "configured: swanctl lists the node's connection" grep -q "^mr1.example.net: " <<<"$conns" || echo "$conns"
check "configured: signalling child in transport proxy mode" grep -qi 'signalling: TRANSPORT_PROXY' <<<"$conns"
check "configured: payload child in tunnel mode" grep -qi 'payload: TUNNEL' <<<"$conns"
status=$(python3 - "$work/ctl" <<'EOP'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b'{"command": "status-get"}\n'); s.shutdown(socket.SHUT_WR)
data = b''
while chunk := s.recv(65536): data += chunk
a = json.loads(data)
print(a["result"], a["arguments"]["can-move-ike-endpoints"], a["arguments"]["connections"][0]["connection"],
      a["arguments"]["connections"][0]["ready"])
EOP
)
check "configured: status-get over the channel ($status)" test "$status" = "0 True mr1.example.net False"
shown=$("$mobctl" ike status --ike-socket "$work/ctl" 2>&1)
check "configured: mobctl ike status shows the connection" grep -q 'mr1.example.net' <<<"$shown"
shown=$(NEMOKEY_IKEBRIDGED_SOCKET=$work/ctl "$mobctl" --json ike counters 2>&1)
check "configured: mobctl ike counters answers (JSON, socket from the environment)" \
  python3 -c 'import json,sys; json.loads(sys.argv[1])' "$shown"
"$mobctl" ike status --ike-socket "$work/nothing" >/dev/null 2>&1; rc=$?
check "configured: mobctl ike without ikebridged: exit 4 (got $rc)" test "$rc" = 4
kill -TERM "$pid"; wait "$pid"; rc=$?
check "configured: SIGTERM gives exit 0 (got $rc)" test "$rc" = 0
check "configured: channel socket removed" test ! -e "$work/ctl"
check "configured: kernel state unchanged" test "$(kernel_state)" = "$before"

sed -i 's|private-key = .*|private-key = "/nonexistent.pem"|' "$cfg/ha.toml"
out=$("$daemon" --config "$cfg/ha.toml" --socket "$work/ctl" --vici-socket "$work/vici" --ike-port 0 \
  --ike-port-nat-t 0 2>&1); rc=$?
check "broken configuration: exit 1 (got $rc)" test "$rc" = 1
check "broken configuration: names the file" grep -q '/nonexistent.pem' <<<"$out"

((CHECK_FAIL == 0)) || { echo "--- daemon log:"; cat "$work"/log.*; }
check_done
