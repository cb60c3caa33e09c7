# mobilityd on Debian's kernel: a home agent and a mobile node (static
# RFC 3776 keys) in the topology; each starts, answers mobctl, and a
# SIGTERM leaves its namespace exactly as found; the home agent's Binding
# Refresh Request reaches the mobile node (ESP, type 2 routing header) and
# is answered with a BU; the home agent killed with -9 restarts and
# reconciles without duplicating state.
source "$NK_SRC/tests/lib/check.sh"
source "$NK_SRC/tests/kernel-vm/lib/topology.sh"
source "$NK_SRC/tests/kernel-vm/mobilityd/configs.sh"
cleanup() { kill -9 $PID_ha $PID_mn 2>/dev/null; topo_down; }
trap cleanup EXIT
mkdir -p /run/nemokey
check "topology up" topo_up
cfg=$NK_OUT/config
mobilityd_configs "$cfg"
# RFC 6275 sec. 9.5.5: the home agent grants 20 s and sends a Binding
# Refresh Request at 50 % of it, before the mobile node's own refresh (80 %).
sed -i 's/^binding-lifetime = 600$/binding-lifetime = 20\nbinding-refresh-request = 50/' "$cfg/ha/ha.toml"
check "home agent configuration is valid" "$NK_BUILD/mobility/daemon/mobilityd" --check-config "$cfg/ha/ha.toml"
check "mobile node configuration is valid" "$NK_BUILD/mobility/daemon/mobilityd" --check-config "$cfg/mn/mn.toml"

kernel_state nk-ha > "$NK_OUT/ha-before.txt"
kernel_state nk-mr > "$NK_OUT/mn-before.txt"

check "home agent starts and answers" mobilityd_start nk-ha ha "$cfg/ha/ha.toml"
mobctl_at ha status | tee "$NK_OUT/ha-status.txt"
check "status names the role" grep -q "home-agent" "$NK_OUT/ha-status.txt"
check "the control socket is mode 0660" test "$(stat -c %a /run/nemokey/ha.sock)" = 660
check "capabilities: only NET_ADMIN and NET_RAW" grep -q "CapEff:	0000000000003000" /proc/$PID_ha/status
check "the home agent's tunnel device exists" ip -n nk-ha link show nk-ha0

check "mobile node starts and answers" mobilityd_start nk-mr mn "$cfg/mn/mn.toml"
# Registration: the BU leaves from the care-of address on acc1.
for i in $(seq 1 100); do mobctl_at mn binding 2>/dev/null | grep -q bound && break; sleep 0.1; done
mobctl_at mn status | tee "$NK_OUT/mn-status.txt"
mobctl_at mn binding | tee "$NK_OUT/mn-binding.txt"
mobctl_at mn counters | tee "$NK_OUT/mn-counters.txt"
mobctl_at ha binding | tee "$NK_OUT/ha-binding.txt"
mobctl_at ha counters | tee "$NK_OUT/ha-counters.txt"
check "the mobile node chose the acc1 care-of address" grep -q "$TOPO_MR_COA1" "$NK_OUT/mn-binding.txt"
check "the mobile node sent a Binding Update" grep -q "sent.binding-update" "$NK_OUT/mn-counters.txt"

# The BRR through the real kernels: sent to the home address, it leaves
# with ESP on the BA's SA (RFC 3776 sec. 5.2.1) and a type 2 routing header
# (the route2 state), so both state counters move for the BRR and the BA
# that answers the node's BU (RFC 6275 sec. 11.7.4); the mobile node's
# inbound policy would drop an unprotected one.
mn_bus=$(mobctl_counter mn sent.binding-update)
ha_bus=$(mobctl_counter ha received.binding-update)
esp_before=$(xfrm_packets nk-ha "$TOPO_HA" "$TOPO_MR_HOA" esp)
rh2_before=$(xfrm_packets nk-ha "$TOPO_HA" "$TOPO_MR_HOA" route2)
check "the home agent sent a Binding Refresh Request" wait_counter ha sent.binding-refresh-request 1 20
check "the mobile node received it" wait_counter mn received.binding-refresh-request 1 5
check "the mobile node answered with a Binding Update" wait_counter mn sent.binding-update $((mn_bus + 1)) 5
check "the home agent received that Binding Update" wait_counter ha received.binding-update $((ha_bus + 1)) 5
check "the mobile node is bound" wait_bound_at mn "$TOPO_MR_COA1"
mobctl_at ha --json counters > "$NK_OUT/ha-counters-brr.json"
mobctl_at mn --json counters > "$NK_OUT/mn-counters-brr.json"
esp_after=$(xfrm_packets nk-ha "$TOPO_HA" "$TOPO_MR_HOA" esp)
rh2_after=$(xfrm_packets nk-ha "$TOPO_HA" "$TOPO_MR_HOA" route2)
echo "home agent -> home address: esp $esp_before -> $esp_after, route2 $rh2_before -> $rh2_after packets"
check "the BRR and the BA went under ESP" test "$((esp_after - esp_before))" -ge 2
check "the BRR and the BA carried a type 2 routing header" test "$((rh2_after - rh2_before))" -ge 2
check "the home agent logged the BRR via the care-of address" \
  grep -q "MOB_BRR_SENT to $TOPO_MR_HOA via $TOPO_MR_COA1" "$NK_OUT/ha.log"
check "no BRR was retransmitted (the BU stopped them)" \
  test "$(mobctl_counter ha sent.binding-refresh-request-retransmission)" = 0
ip -n nk-mr -s xfrm state > "$NK_OUT/mn-xfrm.txt"; ip -n nk-ha -s xfrm state > "$NK_OUT/ha-xfrm.txt"
ip -n nk-mr xfrm policy > "$NK_OUT/mn-policy.txt"; ip -n nk-ha xfrm policy > "$NK_OUT/ha-policy.txt"
for ns in nk-ha nk-mr; do ip netns exec $ns cat /proc/net/xfrm_stat | grep -v '	0$' > "$NK_OUT/$ns-xfrm-stat.txt"; done

# kill -9 and restart of the home agent.
kill -9 $PID_ha; wait $PID_ha 2>/dev/null
kernel_state nk-ha > "$NK_OUT/ha-crashed.txt"
check "home agent restarts after kill -9" mobilityd_start nk-ha ha "$cfg/ha/ha.toml"
check "restart reconciled with nothing to do" grep -q "MOB_KERNEL_RECONCILED 0 kernel operations" "$NK_OUT/ha.log"
kernel_state nk-ha > "$NK_OUT/ha-restarted.txt"
check "restart left the kernel state as the crash left it" diff "$NK_OUT/ha-crashed.txt" "$NK_OUT/ha-restarted.txt"

kill -TERM $PID_mn; wait $PID_mn; rc_mn=$?
kill -TERM $PID_ha; wait $PID_ha; rc_ha=$?
check "mobile node stopped cleanly" test "$rc_mn" = 0
check "home agent stopped cleanly" test "$rc_ha" = 0
kernel_state nk-ha > "$NK_OUT/ha-after.txt"
kernel_state nk-mr > "$NK_OUT/mn-after.txt"
check "SIGTERM left the home agent's namespace as found" diff "$NK_OUT/ha-before.txt" "$NK_OUT/ha-after.txt"
check "SIGTERM left the mobile node's namespace as found" diff "$NK_OUT/mn-before.txt" "$NK_OUT/mn-after.txt"
check "the control sockets are gone" test ! -e /run/nemokey/ha.sock -a ! -e /run/nemokey/mn.sock
check_done
