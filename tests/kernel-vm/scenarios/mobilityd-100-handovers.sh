# nk-timeout: 900
# 100 handovers in a row (access link 1 <-> 2) with mobilityd on Debian's
# kernel: afterwards each namespace holds exactly the states, policies,
# routes, rules and tunnels it held after the first registration (counted
# by kind), the binding follows every move, and neither daemon's memory
# grew after the first ten handovers (resident set, reported).
source "$NK_SRC/tests/lib/check.sh"
source "$NK_SRC/tests/kernel-vm/lib/topology.sh"
source "$NK_SRC/tests/kernel-vm/mobilityd/configs.sh"
cleanup() { kill -9 $PID_ha $PID_mn 2>/dev/null; topo_down; }
trap cleanup EXIT
mkdir -p /run/nemokey
check "topology up" topo_up
cfg=$NK_OUT/config
mobilityd_configs "$cfg"
check "home agent starts" mobilityd_start nk-ha ha "$cfg/ha/ha.toml"
check "mobile node starts" mobilityd_start nk-mr mn "$cfg/mn/mn.toml"
check "registered from access link 1" wait_bound_at mn "$TOPO_MR_COA1"

# Objects by kind: xfrm states, policies, our routes, rules, tunnels, proxy entries.
census() {
  local ns=$1
  printf 'states %s policies %s routes %s rules %s tunnels %s proxies %s\n' \
    "$(ip -n $ns -o xfrm state | wc -l)" "$(ip -n $ns -o xfrm policy | wc -l)" \
    "$(ip -n $ns -6 route show table all proto 167 | wc -l)" "$(ip -n $ns -6 rule | grep -c 'proto 167')" \
    "$(ip -n $ns -o link show | grep -c ': nk-')" "$(ip -n $ns -6 neigh show proxy | wc -l)"
}
rss_kb() { awk '/^VmRSS/{print $2}' /proc/$1/status; }
census nk-ha > "$NK_OUT/ha-census-start.txt"; census nk-mr > "$NK_OUT/mr-census-start.txt"
cat "$NK_OUT/ha-census-start.txt" "$NK_OUT/mr-census-start.txt"

moves=0; failed=0
handover_to() {
  local to=$1 coa
  if [[ $to == 2 ]]; then coa=$TOPO_MR_COA2; topo_detach 1; else coa=$TOPO_MR_COA1; topo_attach 1; fi
  wait_bound_at mn "$coa" || failed=$((failed + 1))
  moves=$((moves + 1))
}
start=$(date +%s%N)
for i in $(seq 1 5); do handover_to 2; handover_to 1; done
rss_ha_10=$(rss_kb $PID_ha); rss_mn_10=$(rss_kb $PID_mn)
for i in $(seq 6 50); do handover_to 2; handover_to 1; done
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
rss_ha_100=$(rss_kb $PID_ha); rss_mn_100=$(rss_kb $PID_mn)
echo "handovers: $moves in $elapsed_ms ms, $failed not bound in time"
echo "memory (VmRSS kB): home agent $rss_ha_10 after 10, $rss_ha_100 after 100; mobile node $rss_mn_10 after 10, $rss_mn_100 after 100"
check "100 handovers, each acknowledged" test "$moves/$failed" = "100/0"
mobctl_at ha binding | tee "$NK_OUT/ha-binding.txt"
check "the binding is at access link 1 again" grep -q "$TOPO_MR_HOA .*$TOPO_MR_COA1" "$NK_OUT/ha-binding.txt"
census nk-ha > "$NK_OUT/ha-census-end.txt"; census nk-mr > "$NK_OUT/mr-census-end.txt"
cat "$NK_OUT/ha-census-end.txt" "$NK_OUT/mr-census-end.txt"
check "home agent: exactly the objects of one binding" diff "$NK_OUT/ha-census-start.txt" "$NK_OUT/ha-census-end.txt"
check "mobile node: exactly the objects of one binding" diff "$NK_OUT/mr-census-start.txt" "$NK_OUT/mr-census-end.txt"
check "home agent memory did not grow (<= 256 kB over 90 handovers)" test $((rss_ha_100 - rss_ha_10)) -le 256
check "mobile node memory did not grow (<= 256 kB over 90 handovers)" test $((rss_mn_100 - rss_mn_10)) -le 256
check "the correspondent reaches the home address" topo_ping nk-cn "$TOPO_MR_HOA" 3
kill -TERM $PID_mn; wait $PID_mn; rc_mn=$?
kill -TERM $PID_ha; wait $PID_ha; rc_ha=$?
check "both daemons stopped cleanly" test "$rc_mn$rc_ha" = 00
census nk-ha > "$NK_OUT/ha-census-stopped.txt"
check "nothing of ours left at the home agent" grep -q "states 0 policies 0 routes 0 rules 0 tunnels 0 proxies 0" "$NK_OUT/ha-census-stopped.txt"
check_done
