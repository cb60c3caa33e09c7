# NEMO basic support (RFC 3963) with mobilityd on Debian's kernel: a mobile
# router with a host in its mobile network registers its prefix, first in
# explicit mode (prefix in the BU), then in implicit mode (the home agent's
# configuration); in each mode the host and a correspondent on the home
# link keep talking across two handovers (access link 1 -> 2 -> 1).
source "$NK_SRC/tests/lib/check.sh"
source "$NK_SRC/tests/kernel-vm/lib/topology.sh"
source "$NK_SRC/tests/kernel-vm/mobilityd/configs.sh"
cleanup() { kill -9 $PID_ha $PID_mn 2>/dev/null; topo_down; }
trap cleanup EXIT
mkdir -p /run/nemokey
check "topology up" topo_up
kernel_state nk-ha > "$NK_OUT/ha-before.txt"
kernel_state nk-mr > "$NK_OUT/mr-before.txt"

for mode in explicit implicit; do
  cfg=$NK_OUT/config-$mode
  mobilityd_router_configs "$cfg" $mode
  check "$mode: configurations are valid" "$NK_BUILD/mobility/daemon/mobilityd" --check-config "$cfg/mn/mr.toml"
  check "$mode: home agent starts" mobilityd_start nk-ha ha "$cfg/ha/ha.toml"
  check "$mode: mobile router starts" mobilityd_start nk-mr mn "$cfg/mn/mr.toml"
  check "$mode: registered from access link 1" wait_bound_at mn "$TOPO_MR_COA1"
  mobctl_at ha binding | tee "$NK_OUT/ha-binding-$mode.txt"
  check "$mode: the binding holds the mobile network prefix" grep -q "R.* $TOPO_MNP" "$NK_OUT/ha-binding-$mode.txt"
  check "$mode: the home agent routes the prefix into the tunnel" \
    sh -c "ip -n nk-ha -6 route show $TOPO_MNP | grep -q 'encap ip6'"
  check "$mode: host and correspondent talk (link 1)" topo_ping nk-cn "$TOPO_MNN" 3
  check "$mode: the host reaches the correspondent (link 1)" topo_ping nk-mnn "$TOPO_CN" 3
  topo_detach 1
  check "$mode: moved to access link 2" wait_bound_at mn "$TOPO_MR_COA2"
  check "$mode: host and correspondent talk (link 2)" topo_ping nk-cn "$TOPO_MNN" 3
  check "$mode: the host reaches the correspondent (link 2)" topo_ping nk-mnn "$TOPO_CN" 3
  topo_attach 1
  check "$mode: back on access link 1" wait_bound_at mn "$TOPO_MR_COA1"
  check "$mode: host and correspondent talk (back on link 1)" topo_ping nk-cn "$TOPO_MNN" 3
  grep MOB_HANDOVER "$NK_OUT/mn.log" | tail -2
  kill -TERM $PID_mn; wait $PID_mn; rc_mn=$?
  kill -TERM $PID_ha; wait $PID_ha; rc_ha=$?
  check "$mode: both daemons stopped cleanly" test "$rc_mn$rc_ha" = 00
  rm -rf "$NK_OUT/state-ha" "$NK_OUT/state-mn"
  mv "$NK_OUT/mn.log" "$NK_OUT/mr-$mode.log"; mv "$NK_OUT/ha.log" "$NK_OUT/ha-$mode.log"
  kernel_state nk-ha > "$NK_OUT/ha-after-$mode.txt"
  kernel_state nk-mr > "$NK_OUT/mr-after-$mode.txt"
  check "$mode: SIGTERM left the home agent's namespace as found" diff "$NK_OUT/ha-before.txt" "$NK_OUT/ha-after-$mode.txt"
  check "$mode: SIGTERM left the mobile router's namespace as found" diff "$NK_OUT/mr-before.txt" "$NK_OUT/mr-after-$mode.txt"
done
check_done
