# Returning home (RFC 6275 sec. 11.5.5) with mobilityd on Debian's kernel:
# the mobile node registered from access link 1 attaches to its home link
# (a third interface "home" on the home bridge, the home address on it);
# movement detection says home, the node deregisters from the home
# address, and the tunnel, routes, rules and proxy entry go away on both
# sides; the correspondent then reaches the home address on the home link.
source "$NK_SRC/tests/lib/check.sh"
source "$NK_SRC/tests/kernel-vm/lib/topology.sh"
source "$NK_SRC/tests/kernel-vm/mobilityd/configs.sh"
cleanup() { kill -9 $PID_ha $PID_mn 2>/dev/null; topo_down; }
trap cleanup EXIT
mkdir -p /run/nemokey
check "topology up" topo_up
# The mobile node's way home: a veth to the home bridge, down for now.
ip link add home netns nk-mr type veth peer name home-mr netns nk-core
ip -n nk-core link set home-mr master br-home
ip -n nk-core link set home-mr up
cfg=$NK_OUT/config
mobilityd_configs "$cfg"
# The home interface joins the node's interfaces (highest preference).
sed -i '0,/^\[\[interface\]\]/s//[[interface]]\nname = "home"\npreference = 30\n\n[[interface]]/' "$cfg/mn/mn.toml"
check "configuration with the home interface is valid" "$NK_BUILD/mobility/daemon/mobilityd" --check-config "$cfg/mn/mn.toml"
kernel_state nk-ha > "$NK_OUT/ha-before.txt"
check "home agent starts" mobilityd_start nk-ha ha "$cfg/ha/ha.toml"
check "mobile node starts" mobilityd_start nk-mr mn "$cfg/mn/mn.toml"
check "registered from access link 1" wait_bound_at mn "$TOPO_MR_COA1"
check "the home agent proxies the home address" sh -c "ip -n nk-ha -6 neigh show proxy | grep -q '$TOPO_MR_HOA'"
check "the mobile node's tunnel is up" ip -n nk-mr link show nk-mn0

# Home: the link comes up with the home address on it.
ip -n nk-mr addr add "$TOPO_MR_HOA/64" dev home nodad
ip -n nk-mr link set home up
ip -n nk-mr -6 route add default via "$TOPO_CORE_HOME" dev home metric 50
check "the node deregistered (the home agent's binding cache is empty)" wait_cache_empty ha
grep -E "MOB_MOVEMENT|DEREGISTERED" "$NK_OUT/mn.log" | tail -3
check "movement detection said home" grep -q "returned-home" "$NK_OUT/mn.log"
check "the home agent reported the deregistration" grep -q "MOB_BINDING_DEREGISTERED\|MOB_BINDING_REMOVE" "$NK_OUT/ha.log"
for i in $(seq 1 30); do ip -n nk-mr link show nk-mn0 >/dev/null 2>&1 || break; sleep 0.1; done
check "the mobile node's tunnel is gone" sh -c "! ip -n nk-mr link show nk-mn0 2>/dev/null"
check "the mobile node's rules are gone" sh -c "! ip -n nk-mr -6 rule | grep -q 'proto 167'"
check "the home agent's proxy entry is gone" sh -c "! ip -n nk-ha -6 neigh show proxy | grep -q '$TOPO_MR_HOA'"
check "the home agent's route for the home address is gone" sh -c "! ip -n nk-ha -6 route show table all proto 167 | grep -q '$TOPO_MR_HOA'"
check "the correspondent reaches the home address on the home link" topo_ping nk-cn "$TOPO_MR_HOA" 3
kill -TERM $PID_mn; wait $PID_mn; rc_mn=$?
kill -TERM $PID_ha; wait $PID_ha; rc_ha=$?
check "both daemons stopped cleanly" test "$rc_mn$rc_ha" = 00
kernel_state nk-ha > "$NK_OUT/ha-after.txt"
check "SIGTERM left the home agent's namespace as found" diff "$NK_OUT/ha-before.txt" "$NK_OUT/ha-after.txt"
check_done
