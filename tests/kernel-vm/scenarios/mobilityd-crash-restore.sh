# kill -9 of the home agent with three bindings (issue 11): three mobile
# nodes in their own namespaces (nk-mr, nk-mn2, nk-mn3; care-of addresses on
# both access links) register at one home agent; the home agent is killed
# with -9 and restarted: `mobctl binding --json` shows the three bindings
# again, restored from the snapshot; the restart reconciles with 0 kernel
# operations and the kernel objects equal those before the crash; the
# correspondent reaches each home address again; no node sent a new BU
# (each node's sent.binding-update counter, the home agent's
# received.binding-update counter). SIGTERM of every daemon leaves each
# namespace exactly as found.
source "$NK_SRC/tests/lib/check.sh"
source "$NK_SRC/tests/kernel-vm/lib/topology.sh"
source "$NK_SRC/tests/kernel-vm/mobilityd/configs.sh"
NODES=(mn mn2 mn3)
declare -A NS=([mn]=nk-mr [mn2]=nk-mn2 [mn3]=nk-mn3)
declare -A HOA=([mn]=$TOPO_MR_HOA [mn2]=2001:db8:1::102 [mn3]=2001:db8:1::103)
# mn3 prefers access link 2 (its acc2 gets the higher preference).
declare -A COA=([mn]=$TOPO_MR_COA1 [mn2]=2001:db8:a1::102 [mn3]=2001:db8:a2::103)
cleanup() { kill -9 $PID_ha $PID_mn $PID_mn2 $PID_mn3 2>/dev/null; topo_down; }
trap cleanup EXIT
mkdir -p /run/nemokey
check "topology up" topo_up
check "second mobile namespace" topo_add_mobile nk-mn2 2001:db8:a1::102 2001:db8:a2::102
check "third mobile namespace" topo_add_mobile nk-mn3 2001:db8:a1::103 2001:db8:a2::103
cfg=$NK_OUT/config
mobilityd_configs "$cfg"
mkdir -p "$cfg/mn"
mobilityd_add_mobile_node "$cfg" mn2 "${HOA[mn2]}" 3
mobilityd_add_mobile_node "$cfg" mn3 "${HOA[mn3]}" 4
sed -i -e '/name = "acc1"/{n;s/preference = 20/preference = 10/}' -e '/name = "acc2"/{n;s/preference = 10/preference = 20/}' \
  "$cfg/mn3/mn3.toml"
declare -A CONF=([mn]=$cfg/mn/mn.toml [mn2]=$cfg/mn2/mn2.toml [mn3]=$cfg/mn3/mn3.toml)
for n in "${NODES[@]}"; do
  check "$n: configuration is valid" "$NK_BUILD/mobility/daemon/mobilityd" --check-config "${CONF[$n]}"
done
check "home agent: configuration with three nodes is valid" "$NK_BUILD/mobility/daemon/mobilityd" --check-config "$cfg/ha/ha.toml"

kernel_state nk-ha > "$NK_OUT/ha-before.txt"
for n in "${NODES[@]}"; do kernel_state "${NS[$n]}" > "$NK_OUT/$n-before.txt"; done

check "home agent starts" mobilityd_start nk-ha ha "$cfg/ha/ha.toml"
for n in "${NODES[@]}"; do
  check "$n starts" mobilityd_start "${NS[$n]}" "$n" "${CONF[$n]}"
done
for n in "${NODES[@]}"; do
  check "$n registered from ${COA[$n]}" wait_bound_at "$n" "${COA[$n]}"
done

# ha_bindings FILE: the home agent's binding cache as "HOA COA" lines
# (from mobctl binding --json), sorted.
ha_bindings() {
  mobctl_at ha binding --json > "$1.json"
  /usr/bin/python3 -c 'import json, sys
for b in json.load(open(sys.argv[1]))["bindings"]: print(b["home-address"], b["care-of-address"])' "$1.json" | sort > "$1"
}
ha_bindings "$NK_OUT/ha-bindings-before.txt"
cat "$NK_OUT/ha-bindings-before.txt"
for n in "${NODES[@]}"; do echo "${HOA[$n]} ${COA[$n]}"; done | sort > "$NK_OUT/ha-bindings-expected.txt"
check "the home agent holds the three bindings" diff "$NK_OUT/ha-bindings-expected.txt" "$NK_OUT/ha-bindings-before.txt"
for n in "${NODES[@]}"; do
  check "the correspondent reaches $n's home address" topo_ping nk-cn "${HOA[$n]}" 3
done

# The counters of BUs: each node's sent, the home agent's received.
counter() { mobctl_at "$1" counters | awk -F': ' -v k="$2" '$1==k{print $2}'; }
declare -A BUS_BEFORE
for n in "${NODES[@]}"; do BUS_BEFORE[$n]=$(counter "$n" sent.binding-update); done
ha_bus_before=$(counter ha received.binding-update)
kernel_state nk-ha > "$NK_OUT/ha-before-crash.txt"
echo "kernel objects at the home agent before the crash: $(wc -l < "$NK_OUT/ha-before-crash.txt") lines;" \
  "xfrm states $(ip -n nk-ha xfrm state count | awk '{print $NF}'), policies $(ip -n nk-ha -o xfrm policy | wc -l)"

kill -9 $PID_ha; wait $PID_ha 2>/dev/null
check "home agent restarts after kill -9" mobilityd_start nk-ha ha "$cfg/ha/ha.toml"
grep MOB_KERNEL_RECONCILED "$NK_OUT/ha.log"
check "the restart found the kernel as it should be (0 operations)" \
  test "$(grep MOB_KERNEL_RECONCILED "$NK_OUT/ha.log" | tail -1 | grep -c ' 0 kernel operations')" = 1
ha_bindings "$NK_OUT/ha-bindings-restored.txt"
cat "$NK_OUT/ha-bindings-restored.txt"
check "mobctl binding --json: the three bindings are back" diff "$NK_OUT/ha-bindings-expected.txt" "$NK_OUT/ha-bindings-restored.txt"
kernel_state nk-ha > "$NK_OUT/ha-after-restart.txt"
check "no stale or missing kernel state after the restart" diff "$NK_OUT/ha-before-crash.txt" "$NK_OUT/ha-after-restart.txt"
for n in "${NODES[@]}"; do
  check "traffic resumes: the correspondent reaches $n's home address" topo_ping nk-cn "${HOA[$n]}" 3
  # and the node's own traffic from its home address reaches the correspondent
  check "traffic resumes: $n reaches the correspondent from its home address" \
    ip netns exec "${NS[$n]}" busybox ping -q -c 2 -W 3 -I "${HOA[$n]}" "$TOPO_CN"
done
for n in "${NODES[@]}"; do
  after=$(counter "$n" sent.binding-update)
  echo "$n: BUs sent $((BUS_BEFORE[$n])) before the crash, $after after the restart"
  check "$n sent no new BU" test "${BUS_BEFORE[$n]}" = "$after"
done
ha_bus_after=$(counter ha received.binding-update)
echo "home agent: BUs received ${ha_bus_before} before the crash, ${ha_bus_after:-0} since the restart"
check "the restarted home agent received no BU" test "${ha_bus_after:-0}" = 0

for n in "${NODES[@]}" ha; do
  pid=$(eval echo \$PID_$n)
  kill -TERM "$pid"; wait "$pid"; rc=$?
  check "$n stopped cleanly" test "$rc" = 0
done
kernel_state nk-ha > "$NK_OUT/ha-after.txt"
check "SIGTERM left the home agent's namespace as found" diff "$NK_OUT/ha-before.txt" "$NK_OUT/ha-after.txt"
for n in "${NODES[@]}"; do
  kernel_state "${NS[$n]}" > "$NK_OUT/$n-after.txt"
  check "SIGTERM left $n's namespace (${NS[$n]}) as found" diff "$NK_OUT/$n-before.txt" "$NK_OUT/$n-after.txt"
done
check_done
