# The testbed's run on a Linux kernel with Mobile IPv6, ESP and PF_KEY
# (bash; run by tests/testbed/testbed, in the kernel VM or on this machine).
# The confidential sensor network: a home agent and a correspondent on the
# home link, a mobile router with a sensor in its mobile network, two
# access networks whose routers run radvd (access link 2 dual stack), an
# observer on both access links. Both daemons run in each namespace with
# configurations from conf/examples/testbed and certificates from mobcert.
# Sequence: registration, a stream sensor -> correspondent, N handovers
# back and forth (odd: carrier lost on access link 1, the router moves to
# link 2; even: link 1 returns and the router moves back to it), return
# home, shutdown. The raw results go to $NK_OUT/testbed/ for the report
# (tests/testbed/build_report.py); the live timeline goes to stdout.
#
# Settings (environment, validated by tests/testbed/testbed):
#   TESTBED_KEYING dynamic|static   TESTBED_K true|false
#   TESTBED_PAYLOAD true|false      TESTBED_NEMO explicit|implicit
#   TESTBED_HANDOVERS N             TESTBED_RATE packets/s
#   TESTBED_DELAY_MS, TESTBED_LOSS  netem on the access links (each way)
source "$NK_SRC/tests/lib/check.sh"
TOPO_SLAAC=1
TOPO_ATTACH="1 2"
source "$NK_SRC/tests/kernel-vm/lib/topology.sh"
source "$NK_SRC/tests/kernel-vm/mobilityd/configs.sh"
source "$NK_SRC/tests/kernel-vm/ikebridged/configs.sh"
KEYING=${TESTBED_KEYING:-dynamic} K=${TESTBED_K:-true} PAYLOAD=${TESTBED_PAYLOAD:-true}
NEMO=${TESTBED_NEMO:-explicit} HANDOVERS=${TESTBED_HANDOVERS:-4} RATE=${TESTBED_RATE:-100}
DELAY_MS=${TESTBED_DELAY_MS:-0} LOSS=${TESTBED_LOSS:-0}
T=$NK_OUT/testbed
mkdir -p "$T" /run/nemokey
PORT=7300
steps=8
step() { echo "testbed: [$1/$steps] $2"; }
cleanup() {
  kill -TERM $PID_timeline 2>/dev/null
  kill -9 $PID_ha $PID_mr $PID_ikeha $PID_ikemr $PID_send $PID_recv $cap1 $cap2 2>/dev/null
  topo_down >/dev/null
}
trap cleanup EXIT

step 1 "network: 8 namespaces, radvd on both access links, SLAAC care-of addresses"
check "topology up" topo_up
# The mobile router's way home: a veth to the home bridge, down until the
# return home.
ip link add home netns nk-mr type veth peer name home-mr netns nk-core
ip -n nk-core link set home-mr master br-home
ip -n nk-core link set home-mr up
# Up and down once: the kernel gives it its queueing discipline on the
# first up, which is not the daemons' doing.
ip -n nk-mr link set home up
ip -n nk-mr link set home down
coa1=$(topo_wait_coa 1 20000 2>/dev/null)
coa2=$(topo_wait_coa 2 20000 2>/dev/null)
check "care-of addresses from SLAAC on both access links" test -n "$coa1" -a -n "$coa2"
echo "testbed: care-of addresses $coa1 (access link 1), $coa2 (access link 2)"
if [[ $DELAY_MS != 0 || $LOSS != 0 ]]; then
  for n in 1 2; do
    topo_link nk-mr "acc$n" delay "$DELAY_MS" loss "$LOSS"
    topo_link "nk-ar$n" "acc$n-mr" delay "$DELAY_MS" loss "$LOSS"
  done
  echo "testbed: access links delay ${DELAY_MS} ms, loss ${LOSS} % each way"
fi
kernel_state nk-ha > "$T/ha-before.txt"
kernel_state nk-mr > "$T/mr-before.txt"

# xfrm_counts NS: "SAS POLICIES" of the namespace (IKE daemons' per-socket
# bypass policies are not SPD entries and are left out).
xfrm_counts() {
  echo "$(ip -n "$1" xfrm state | grep -c '^src') $(ip -n "$1" xfrm policy | grep -A1 '^src' | grep -c '	dir ')"
}
echo "ha before $(xfrm_counts nk-ha)" > "$T/kernel-counts.txt"
echo "mr before $(xfrm_counts nk-mr)" >> "$T/kernel-counts.txt"

step 2 "configurations from conf/examples/testbed, keying $KEYING"
cfg=$T/config
check "configurations and certificates written" python3 "$NK_SRC/tests/testbed/configs.py" \
  "$NK_SRC/conf/examples/testbed" "$cfg" "$NK_BUILD/certs/mobcert/mobcert" \
  --keying "$KEYING" --k-flag "$K" --payload "$PAYLOAD" --nemo "$NEMO"

# The observer listens on both access links for the whole run.
ip netns exec nk-obs "$NK_BUILD/tests/kernel-vm/nk_probe" capture obs1 "$T/access1.pcap" 3600000 > "$T/cap1.txt" &
cap1=$!
ip netns exec nk-obs "$NK_BUILD/tests/kernel-vm/nk_probe" capture obs2 "$T/access2.pcap" 3600000 > "$T/cap2.txt" &
cap2=$!
python3 "$NK_SRC/tests/testbed/timeline.py" "$T/events.jsonl" mr=/run/nemokey/mr.sock ha=/run/nemokey/ha.sock \
  ikemr=/run/nemokey/ikemr.sock ikeha=/run/nemokey/ikeha.sock &
PID_timeline=$!
for i in $(seq 100); do grep -q listening "$T/cap1.txt" && grep -q listening "$T/cap2.txt" && break; sleep 0.1; done

step 3 "daemons: home agent, then mobile router; registration"
keying_args=()
if [[ $KEYING == dynamic ]]; then
  check "home agent's ikebridged starts" ikebridged_start nk-ha ikeha "$cfg/ha/ha.toml"
  check "mobile router's ikebridged starts" ikebridged_start nk-mr ikemr "$cfg/mr/mr.toml"
fi
[[ $KEYING == dynamic ]] && keying_args=(--ikebridged-socket /run/nemokey/ikeha.sock)
check "home agent's mobilityd starts" mobilityd_start nk-ha ha "$cfg/ha/ha.toml" "${keying_args[@]}"
[[ $KEYING == dynamic ]] && keying_args=(--ikebridged-socket /run/nemokey/ikemr.sock)
check "mobile router's mobilityd starts" mobilityd_start nk-mr mr "$cfg/mr/mr.toml" "${keying_args[@]}"
registered() { local i; for i in 1 2 3; do wait_bound_at mr "$1" && return 0; done; return 1; }
check "registered from access link 1" registered "$coa1"
echo "ha registered $(xfrm_counts nk-ha)" >> "$T/kernel-counts.txt"
echo "mr registered $(xfrm_counts nk-mr)" >> "$T/kernel-counts.txt"

step 4 "stream: sensor -> correspondent, $RATE packets/s"
ip netns exec nk-cn "$NK_BUILD/tests/kernel-vm/nk_stream" receive --port $PORT --expect-ms 3600000 \
  --gap-ms 30 --json --trace "$T/trace.txt" > "$T/stream.txt" &
PID_recv=$!
for i in $(seq 100); do grep -q listening "$T/stream.txt" && break; sleep 0.1; done
ip netns exec nk-mnn "$NK_BUILD/tests/kernel-vm/nk_stream" send --to "$TOPO_CN" --port $PORT --rate "$RATE" \
  --duration-ms 3600000 > "$T/send.txt" &
PID_send=$!
stream_flows() { trace_grows "$T/trace.txt"; }
check "the correspondent receives the sensor's stream" stream_flows

# handovers_seen: how many handover events the mobile router published.
handovers_seen() { grep -c '"kind": "handover"' "$T/events.jsonl" 2>/dev/null || echo 0; }
# wait_handovers N [S]: until N handover events are in (S seconds, 20).
wait_handovers() {
  local i
  for i in $(seq $(( ${2:-20} * 10 ))); do (( $(handovers_seen) >= $1 )) && return 0; sleep 0.1; done
  return 1
}
# The registration's own timing line (first care-of address) comes first.
check "registration timing reported" wait_handovers 1
step 5 "$HANDOVERS handovers"
base=$(handovers_seen)
for k in $(seq 1 "$HANDOVERS"); do
  if (( k % 2 == 1 )); then
    echo "testbed: handover $k/$HANDOVERS: access link 1 loses carrier, the router moves to access link 2"
    echo "handover $k access-1 access-2" >> "$T/moves.txt"
    topo_detach 1
    check "handover $k: registered at access link 2" registered "$coa2"
  else
    echo "testbed: handover $k/$HANDOVERS: access link 1 returns, the router moves back to it"
    echo "handover $k access-2 access-1" >> "$T/moves.txt"
    topo_attach 1
    check "handover $k: registered at access link 1" registered "$coa1"
  fi
  check "handover $k: completed (timing reported)" wait_handovers $((base + k))
  stream_flows
done

step 6 "return home"
echo "return-home - home" >> "$T/moves.txt"
ip -n nk-mr addr add "$TOPO_MR_HOA/64" dev home nodad
ip -n nk-mr link set home up
ip -n nk-mr -6 route add default via "$TOPO_CORE_HOME" dev home metric 50
check "home: the router deregistered (the home agent's binding cache is empty)" wait_cache_empty ha 20
check "home: the stream goes on over the home link" stream_flows
wait_handovers $((base + HANDOVERS + 1)) 3   # a timing line for the way home, if any

step 7 "stream ends; IKE counters; shutdown"
kill -TERM $PID_send; wait $PID_send 2>/dev/null
sleep 0.5   # datagrams in flight
kill -TERM $PID_recv; wait $PID_recv
PID_send="" PID_recv=""
if [[ $KEYING == dynamic ]]; then
  ike_at ikemr counters-get > "$T/ike-mr.json"
  ike_at ikeha counters-get > "$T/ike-ha.json"
fi
kill -TERM $PID_mr; wait $PID_mr; rc_mr=$?
kill -TERM $PID_ha; wait $PID_ha; rc_ha=$?
rc_ike=00
if [[ $KEYING == dynamic ]]; then
  kill -TERM $PID_ikemr; wait $PID_ikemr; a=$?
  kill -TERM $PID_ikeha; wait $PID_ikeha; b=$?
  rc_ike=$a$b
fi
check "every daemon stopped cleanly" test "$rc_mr$rc_ha$rc_ike" = 0000
kill -TERM $PID_timeline; wait $PID_timeline
kill -TERM $cap1 $cap2 2>/dev/null; wait $cap1 $cap2 2>/dev/null
# Undo what the testbed itself did for the return home.
ip -n nk-mr -6 route del default via "$TOPO_CORE_HOME" dev home metric 50
ip -n nk-mr addr del "$TOPO_MR_HOA/64" dev home
ip -n nk-mr link set home down

step 8 "kernel state after shutdown"
echo "ha after $(xfrm_counts nk-ha)" >> "$T/kernel-counts.txt"
echo "mr after $(xfrm_counts nk-mr)" >> "$T/kernel-counts.txt"
kernel_state nk-ha > "$T/ha-after.txt"
kernel_state nk-mr > "$T/mr-after.txt"
check "the home agent's namespace is as it was before the daemons" diff "$T/ha-before.txt" "$T/ha-after.txt"
check "the mobile router's namespace is as it was before the daemons" diff "$T/mr-before.txt" "$T/mr-after.txt"
uname -r > "$T/kernel.txt"
check_done
