# mobilityd with real access routers: radvd on both access links (RFC 6275
# sec. 7.5 intervals), the mobile node's care-of addresses from the
# kernel's SLAAC. The node registers from access link 1 with the address
# SLAAC gave it, a correspondent reaches the home address, and when the
# node moves to access link 2 (carrier lost on 1, link 2 attached) it
# registers the new SLAAC address.
source "$NK_SRC/tests/lib/check.sh"
TOPO_SLAAC=1
source "$NK_SRC/tests/kernel-vm/lib/topology.sh"
source "$NK_SRC/tests/kernel-vm/mobilityd/configs.sh"
cleanup() { kill -9 $PID_ha $PID_mn 2>/dev/null; topo_down; }
trap cleanup EXIT
mkdir -p /run/nemokey
check "topology with radvd up" topo_up
coa1=$(topo_wait_coa 1 10000)
echo "care-of address on access link 1 from SLAAC: $coa1"
check "SLAAC gave a care-of address on access link 1" test -n "$coa1"
cfg=$NK_OUT/config
mobilityd_configs "$cfg"
check "home agent starts" mobilityd_start nk-ha ha "$cfg/ha/ha.toml"
check "mobile node starts" mobilityd_start nk-mr mn "$cfg/mn/mn.toml"
check "registered with the SLAAC address of access link 1" wait_bound_at mn "$coa1"
check "the correspondent reaches the home address" topo_ping nk-cn "$TOPO_MR_HOA" 3
read -r coa2 ms < <(topo_handover 2 10000)
echo "care-of address on access link 2 from SLAAC: $coa2 after $ms ms"
check "SLAAC gave a care-of address on access link 2" test -n "$coa2"
check "registered with the SLAAC address of access link 2" wait_bound_at mn "$coa2"
grep MOB_HANDOVER "$NK_OUT/mn.log" | tail -1
check "the correspondent reaches the home address after the move" topo_ping nk-cn "$TOPO_MR_HOA" 3
kill -TERM $PID_mn; wait $PID_mn; rc_mn=$?
kill -TERM $PID_ha; wait $PID_ha; rc_ha=$?
check "both daemons stopped cleanly" test "$rc_mn$rc_ha" = 00
check_done
