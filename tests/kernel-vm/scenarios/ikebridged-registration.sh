# Dynamic keying (RFC 4877) on Debian's kernel: a mobile router with a
# mobcert certificate and its home agent, each running ikebridged (embedded
# charon) and mobilityd. The mobile router's BU waits for the SAs that IKE
# sets up from its care-of address; BU/BA then travel under the CHILD_SA
# in transport proxy mode, whose SAs charon installed with the plan's
# reqid and whose policies mobilityd installed. Two handovers with K set
# move the IKE SA with the care-of address without a new IKE_SA_INIT;
# SIGTERM leaves both namespaces as found.
source "$NK_SRC/tests/lib/check.sh"
source "$NK_SRC/tests/kernel-vm/lib/topology.sh"
source "$NK_SRC/tests/kernel-vm/mobilityd/configs.sh"
source "$NK_SRC/tests/kernel-vm/ikebridged/configs.sh"
cleanup() { kill -9 $PID_ha $PID_mr $PID_ikeha $PID_ikemr 2>/dev/null; topo_down; }
trap cleanup EXIT
mkdir -p /run/nemokey
check "topology up" topo_up
kernel_state nk-ha > "$NK_OUT/ha-before.txt"
kernel_state nk-mr > "$NK_OUT/mr-before.txt"

cfg=$NK_OUT/config
check "certificates and configurations written" ikev2_configs "$cfg" false true
"$NK_BUILD/ikebridge/daemon/ikebridged" --config "$cfg/ha/ha.toml" --print-config > "$NK_OUT/ha-swanctl.conf"
check "ikebridged derives the home agent's connection" grep -q 'mr.testbed.example {' "$NK_OUT/ha-swanctl.conf"
check "home agent's ikebridged starts" ikebridged_start nk-ha ikeha "$cfg/ha/ha.toml" --crl "$cfg/ca/x509crl/ca.crl.pem"
check "home agent's mobilityd starts" mobilityd_start nk-ha ha "$cfg/ha/ha.toml" --ikebridged-socket /run/nemokey/ikeha.sock
check "mobile router's ikebridged starts" ikebridged_start nk-mr ikemr "$cfg/mr/mr.toml"
t0=$(date +%s%N)
check "mobile router's mobilityd starts" mobilityd_start nk-mr mr "$cfg/mr/mr.toml" --ikebridged-socket /run/nemokey/ikemr.sock
check "registered from access link 1 under IKE-keyed SAs" wait_bound_at mr "$TOPO_MR_COA1"
t1=$(date +%s%N)
echo "figure: first registration with certificates $(( (t1 - t0) / 1000000 )) ms after mobilityd start"
check "the BU waited for the SAs" grep -q 'MOB_SAS_READY' "$NK_OUT/mr.log"
check "the home agent learnt the IKE identity" grep -q 'MOB_SAS_READY .* held by mr.testbed.example' "$NK_OUT/ha.log"
ip -n nk-ha xfrm state > "$NK_OUT/ha-states.txt"
ip -n nk-ha xfrm policy > "$NK_OUT/ha-policies.txt"
reqid=$(awk '/reqid = /{print $3; exit}' "$NK_OUT/ha-swanctl.conf")
check "charon installed the BU/BA SAs with the plan's reqid $reqid (HoA <-> HA, transport)" \
  sh -c "grep -A1 'src $TOPO_MR_HOA dst $TOPO_HA' '$NK_OUT/ha-states.txt' | grep -q 'proto esp .* reqid $reqid mode transport'"
check "mobilityd's policy takes them by that reqid" grep -q "reqid $reqid mode transport" "$NK_OUT/ha-policies.txt"
check "the mobile router's SAs are ready (status-get)" ike_ready ikemr
check "correspondent reaches the home address" topo_ping nk-cn "$TOPO_MR_HOA" 3
check "exactly one IKE_SA_INIT so far" test "$(ike_counter ikemr exchange.ike-sa-init.sent)" = 1
swanctl --list-sas --uri unix:///run/nemokey/ikemr.vici > "$NK_OUT/sas-1.txt" 2>&1
check "the IKE SA runs from care-of address 1" grep -q "$TOPO_MR_COA1\[500\]" "$NK_OUT/sas-1.txt"

topo_detach 1
check "moved to access link 2" wait_bound_at mr "$TOPO_MR_COA2"
check "correspondent reaches the home address (link 2)" topo_ping nk-cn "$TOPO_MR_HOA" 3
swanctl --list-sas --uri unix:///run/nemokey/ikemr.vici > "$NK_OUT/sas-2.txt" 2>&1
check "K set: the IKE SA followed to care-of address 2" grep -q "$TOPO_MR_COA2\[500\]" "$NK_OUT/sas-2.txt"
swanctl --list-sas --uri unix:///run/nemokey/ikeha.vici > "$NK_OUT/ha-sas-2.txt" 2>&1
check "K set: the home agent's IKE SA points at care-of address 2" grep -q "$TOPO_MR_COA2\[500\]" "$NK_OUT/ha-sas-2.txt"
topo_attach 1
check "back on access link 1" wait_bound_at mr "$TOPO_MR_COA1"
check "correspondent reaches the home address (back on link 1)" topo_ping nk-cn "$TOPO_MR_HOA" 3
check "K set: still exactly one IKE_SA_INIT after two handovers" test "$(ike_counter ikemr exchange.ike-sa-init.sent)" = 1
grep MOB_HANDOVER "$NK_OUT/mr.log" | tail -2

ike_stack_stop
check_done
