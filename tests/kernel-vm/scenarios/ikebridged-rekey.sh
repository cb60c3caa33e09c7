# nk-timeout: 600
# Rekeying survives handovers (issue 12 point 5; RFC 7296 sec. 2.8, RFC
# 4877 sec. 4.4): with payload protection and K set, a stream flows from
# the sensor to the correspondent while the mobile router's charon rekeys
# both CHILD_SAs and then the IKE SA (swanctl over ikebridged's vici), with
# handovers in between. After each step: the binding stays, mobilityd
# sees no "SAs down", no IKE_SA_INIT beyond the first, the stream goes on,
# exactly the SAs of the current CHILD_SAs are in the kernel (the rekeyed
# ones are gone, the new ones sit at the current care-of address), and the
# IKE SA endpoints follow the next handover; nothing left after SIGTERM.
source "$NK_SRC/tests/lib/check.sh"
source "$NK_SRC/tests/kernel-vm/lib/topology.sh"
source "$NK_SRC/tests/kernel-vm/mobilityd/configs.sh"
source "$NK_SRC/tests/kernel-vm/ikebridged/configs.sh"
cleanup() { kill -9 $PID_ha $PID_mr $PID_ikeha $PID_ikemr $PID_send $PID_recv 2>/dev/null; topo_down; }
trap cleanup EXIT
mkdir -p /run/nemokey
check "topology up" topo_up
kernel_state nk-ha > "$NK_OUT/ha-before.txt"
kernel_state nk-mr > "$NK_OUT/mr-before.txt"
cfg=$NK_OUT/config
check "certificates and configurations written (payload protection, K set)" ikev2_configs "$cfg" true true
check "home agent's ikebridged starts" ikebridged_start nk-ha ikeha "$cfg/ha/ha.toml"
check "home agent's mobilityd starts" mobilityd_start nk-ha ha "$cfg/ha/ha.toml" --ikebridged-socket /run/nemokey/ikeha.sock
check "mobile router's ikebridged starts" ikebridged_start nk-mr ikemr "$cfg/mr/mr.toml"
check "mobile router's mobilityd starts" mobilityd_start nk-mr mr "$cfg/mr/mr.toml" --ikebridged-socket /run/nemokey/ikemr.sock
check "registered from access link 1" wait_bound_at mr "$TOPO_MR_COA1"

ip netns exec nk-cn "$NK_BUILD/tests/kernel-vm/nk_stream" receive --port 7400 --expect-ms 600000 --gap-ms 200 \
  --json --trace "$NK_OUT/trace.txt" > "$NK_OUT/stream.txt" &
PID_recv=$!
for i in $(seq 100); do grep -q listening "$NK_OUT/stream.txt" && break; sleep 0.1; done
ip netns exec nk-mnn "$NK_BUILD/tests/kernel-vm/nk_stream" send --to "$TOPO_CN" --port 7400 --rate 50 \
  --duration-ms 600000 > /dev/null &
PID_send=$!
flows() { trace_grows "$NK_OUT/trace.txt"; }
check "the stream flows" flows

vici=unix:///run/nemokey/ikemr.vici
# esp_states NS: "COUNT SOURCES": the ESP SAs of the namespace and the
# distinct tunnel endpoints among them.
esp_count() { ip -n "$1" xfrm state | grep -c 'proto esp'; }
# settled NS COA: exactly 4 ESP SAs (two CHILD_SAs, two directions) and the
# tunnel-mode ones at COA, within 10 s (a rekey deletes the old SAs after
# its DELETE exchange).
settled() {
  local i
  for i in $(seq 100); do
    if [[ $(esp_count "$1") == 4 ]] &&
       [[ $(ip -n "$1" xfrm state | grep -B1 'mode tunnel' | grep -c "$2") == 2 ]]; then return 0; fi
    sleep 0.1
  done
  ip -n "$1" xfrm state | grep -A1 '^src' >&2
  return 1
}
settled_both() { settled nk-mr "$1" && settled nk-ha "$1"; }
sas_down() { grep -c 'MOB_SAS_DOWN' "$NK_OUT/mr.log"; }
# child_exchanges_reach N: the mobile router sent N CREATE_CHILD_SA (10 s).
child_exchanges_reach() {
  local i
  for i in $(seq 100); do (( $(ike_counter ikemr exchange.create-child-sa.sent) >= $1 )) && return 0; sleep 0.1; done
  return 1
}
# ike_sa_number_is N: swanctl lists the IKE SA as home-agent: #N (10 s).
ike_sa_number_is() {
  local i
  for i in $(seq 100); do swanctl --list-sas --uri "$vici" 2>/dev/null | grep -q "^home-agent: #$1," && return 0; sleep 0.1; done
  return 1
}
children0=$(ike_counter ikemr exchange.create-child-sa.sent)
check "before the rekeys: 4 ESP SAs on both ends, the tunnel ones at care-of address 1" \
  settled_both "$TOPO_MR_COA1"

swanctl --rekey --child payload --uri "$vici" > "$NK_OUT/rekey-payload.txt" 2>&1
swanctl --rekey --child signalling --uri "$vici" > "$NK_OUT/rekey-signalling.txt" 2>&1
check "both CHILD_SAs rekeyed (two more CREATE_CHILD_SA)" child_exchanges_reach $((children0 + 2))
check "after the CHILD_SA rekeys: the old SAs are gone, 4 ESP SAs on both ends" \
  settled_both "$TOPO_MR_COA1"
check "the stream flows after the CHILD_SA rekeys" flows
check "mobilityd saw no SAs down" test "$(sas_down)" = 0

topo_detach 1
check "handover to access link 2 after the CHILD_SA rekeys" wait_bound_at mr "$TOPO_MR_COA2"
check "the stream flows on link 2" flows
check "the rekeyed SAs moved: 4 ESP SAs, the tunnel ones at care-of address 2" \
  settled_both "$TOPO_MR_COA2"
# A CHILD_SA whose SAs the kernel's MIGRATE moved is rekeyed: charon must
# find it at the new address (its migrate job re-indexed it) and leave no
# SA of the old one.
children1=$(ike_counter ikemr exchange.create-child-sa.sent)
swanctl --rekey --child payload --uri "$vici" > "$NK_OUT/rekey-payload-2.txt" 2>&1
check "the payload CHILD_SA rekeyed at care-of address 2" child_exchanges_reach $((children1 + 1))
check "the old SAs are gone there too: 4 ESP SAs, the tunnel ones at care-of address 2" \
  settled_both "$TOPO_MR_COA2"
check "the stream flows after that rekey" flows

swanctl --rekey --ike home-agent --uri "$vici" > "$NK_OUT/rekey-ike.txt" 2>&1
check "the IKE SA rekeyed (a new IKE SA, CHILD_SAs taken over)" ike_sa_number_is 2
sleep 1   # the old IKE SA's DELETE exchange
swanctl --list-sas --uri "$vici" > "$NK_OUT/sas-after-ike-rekey.txt" 2>&1
check "one IKE SA after the IKE rekey" test "$(grep -c '^home-agent: #' "$NK_OUT/sas-after-ike-rekey.txt")" = 1
check "mobilityd saw no SAs down after the IKE rekey" test "$(sas_down)" = 0
check "ikebridged reports the SAs ready after the IKE rekey" ike_ready ikemr
check "the stream flows after the IKE rekey" flows

topo_attach 1
check "handover back to access link 1 after the IKE rekey" wait_bound_at mr "$TOPO_MR_COA1"
swanctl --list-sas --uri "$vici" > "$NK_OUT/sas-back.txt" 2>&1
check "K set: the rekeyed IKE SA followed to care-of address 1" grep -q "$TOPO_MR_COA1\[500\]" "$NK_OUT/sas-back.txt"
check "ikebridged reported that move" grep -q "IKE_ENDPOINTS_MOVED home-agent local $TOPO_MR_COA1" "$NK_OUT/ikemr.log"
check "the stream flows back on link 1" flows
check "4 ESP SAs on both ends, the tunnel ones at care-of address 1" \
  settled_both "$TOPO_MR_COA1"
check "rekeys are no IKE_SA_INIT: still exactly one" test "$(ike_counter ikemr exchange.ike-sa-init.sent)" = 1
check "mobilityd saw no SAs down in the whole run" test "$(sas_down)" = 0

kill -TERM $PID_send; wait $PID_send 2>/dev/null
kill -TERM $PID_recv; wait $PID_recv
cat "$NK_OUT/stream.txt"
ike_stack_stop
check_done
