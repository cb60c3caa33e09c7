# Benchmark: registrations per second at the home agent with kernel state,
# up to 1 000 and 10 000 bindings, and the memory per binding (issue 11).
# The home agent (nk-ha) serves NK_BENCH_COUNT (default 10 000) configured
# mobile nodes (node files written by nk_bu_load config) and runs with
# --benchmark-unprotected-bus: the load generator sends BUs without ESP
# (the daemon refuses that option in a normal configuration, and logs it
# loudly). The generator, nk_bu_load, runs in its own namespace nk-gen
# behind nk-core; the care-of addresses 2001:db8:b0::1:0 + i are routed to
# it and it reads the BAs there. Two phases: the first 1 000 home
# addresses, then the rest; after each, the home agent's resident memory
# and the kernel's (Slab in /proc/meminfo) and objects (XFRM states and
# policies, routes, proxy entries, tunnel filters). A registration includes
# DAD on the home link (RFC 6275 sec. 10.3.1: 1 s of listening, parallel).
# SIGTERM removes everything: timed, and the namespace is checked as found.
# The figures are printed in "bench:" lines; checks fail only when it could
# not measure.
# nk-timeout: 3600
source "$NK_SRC/tests/lib/check.sh"
source "$NK_SRC/tests/kernel-vm/lib/topology.sh"
source "$NK_SRC/tests/kernel-vm/mobilityd/configs.sh"
COUNT=${NK_BENCH_COUNT:-10000}
FIRST=1000
WINDOW=${NK_BENCH_WINDOW:-2000}
HOA_BASE=2001:db8:1::1:0
COA_BASE=2001:db8:b0::1:0
LOAD=$NK_BUILD/tests/bench/mobility/registrations/nk_bu_load
cleanup() { kill -9 $PID_ha 2>/dev/null; topo_down; }
trap cleanup EXIT
mkdir -p /run/nemokey
check "topology up" topo_up
TOPO_NAMESPACES+=(nk-gen)
gen_up() {
  ip netns add nk-gen &&
  ip netns exec nk-gen sh -c 'echo 0 > /proc/sys/net/ipv6/conf/all/forwarding; echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad' &&
  ip link add gen netns nk-core type veth peer name uplink netns nk-gen &&
  ip -n nk-core link set gen up && ip -n nk-core addr add 2001:db8:ff09::1/64 dev gen nodad &&
  ip -n nk-core route add 2001:db8:b0::/48 via 2001:db8:ff09::2 &&
  ip -n nk-gen link set lo up && ip -n nk-gen link set uplink up &&
  ip -n nk-gen addr add 2001:db8:ff09::2/64 dev uplink nodad &&
  ip -n nk-gen route add default via 2001:db8:ff09::1
}
check "load generator namespace nk-gen" gen_up

cfg=$NK_OUT/config
mobilityd_configs "$cfg"
rm -f "$cfg/ha/nodes.d/mn.toml"
# Bindings live through the whole run (the generator asks for 3600 s).
sed -i 's/^binding-lifetime = 600$/binding-lifetime = 7200/' "$cfg/ha/ha.toml"
t0=$(date +%s%N)
check "$COUNT node files written" "$LOAD" config "$cfg/ha" "$COUNT" "$HOA_BASE"
echo "bench: writing $COUNT node files took $(( ($(date +%s%N) - t0) / 1000000 )) ms"
# The option and the key, checked on a copy with no nodes (reading 10 000
# node files over 9p under TCG takes minutes; the daemon reads them anyway).
# A normal configuration refuses the option.
mkdir -p "$cfg/small/nodes.d" && cp "$cfg/ha/ha.toml" "$cfg/small/"
check "mobilityd refuses --benchmark-unprotected-bus in a normal configuration" \
  sh -c "! ip netns exec nk-ha '$NK_BUILD/mobility/daemon/mobilityd' --config '$cfg/small/ha.toml' --socket /run/nemokey/refused.sock \
    --state-dir '$NK_OUT/state-refused' --benchmark-unprotected-bus > '$NK_OUT/refused.log' 2>&1"
check "and says why (MOB_BENCHMARK_REFUSED)" grep -q MOB_BENCHMARK_REFUSED "$NK_OUT/refused.log"
for f in "$cfg/ha/ha.toml" "$cfg/small/ha.toml"; do
  printf '[benchmark]\nunprotected-binding-updates = true\n' >> "$f"
done
"$NK_BUILD/mobility/mobctl/mobctl" check-config "$cfg/small/ha.toml" > /dev/null 2> "$NK_OUT/check-config.txt"
check "mobctl check-config warns about the benchmark key" grep -q "warning: .*unprotected-binding-updates" "$NK_OUT/check-config.txt"

kernel_state nk-ha > "$NK_OUT/ha-before.txt"
t0=$(date +%s%N)
MOBILITYD_START_WAIT=600 check "home agent starts with $COUNT nodes, BUs without ESP" \
  mobilityd_start nk-ha ha "$cfg/ha/ha.toml" --benchmark-unprotected-bus
echo "bench: home agent start with $COUNT configured nodes: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
check "the home agent says so loudly (MOB_BENCHMARK_UNPROTECTED)" grep -q "ERROR MOB_BENCHMARK_UNPROTECTED" "$NK_OUT/ha.log"

# measure LABEL: the home agent's memory and kernel objects, one "bench:" line.
measure() {
  local rss slab states policies routes proxies filters
  rss=$(awk '/^VmRSS/{print $2}' /proc/$PID_ha/status)
  slab=$(awk '/^Slab:/{print $2}' /proc/meminfo)
  states=$(ip -n nk-ha -o xfrm state | wc -l)
  policies=$(ip -n nk-ha -o xfrm policy | wc -l)
  routes=$(ip -n nk-ha -6 route show table all | wc -l)
  proxies=$(ip -n nk-ha -6 neigh show proxy | wc -l)
  # (a dump of 10 000 flower filters takes minutes under TCG: counted up
  # to 1 000 bindings, one per binding by design)
  filters=-
  (( $(bindings) <= FIRST )) && filters=$(tc -n nk-ha filter show dev nk-ha0 ingress 2>/dev/null | grep -c 'filter .*handle')
  eval "M_$1=\"$rss $slab $states $policies $routes $proxies $filters\""
  echo "bench: $1: VmRSS $rss kB, Slab $slab kB, xfrm states $states, policies $policies, routes $routes, proxy $proxies, tunnel filters $filters"
}
bindings() { mobctl_at ha status --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["bindings"])'; }
measure empty

run_phase() {   # run_phase NAME COUNT OFFSET
  local hoa coa
  hoa=$(/usr/bin/python3 -c "import ipaddress; print(ipaddress.IPv6Address('$HOA_BASE') + $3)")
  coa=$(/usr/bin/python3 -c "import ipaddress; print(ipaddress.IPv6Address('$COA_BASE') + $3)")
  ip netns exec nk-gen "$LOAD" run --ha "$TOPO_HA" --interface uplink --count "$2" --hoa-base "$hoa" --coa-base "$coa" \
    --window "$WINDOW" --lifetime-s 3600 --retransmit-ms 10000 --max-ms 1500000 > "$NK_OUT/load-$1.txt" 2>&1
  cat "$NK_OUT/load-$1.txt"
}
val() { awk -v k="$2" '$1==k{print $2}' "$NK_OUT/load-$1.txt"; }

run_phase first $FIRST 0
check "phase 1: $FIRST registrations accepted" test "$(val first accepted)" = $FIRST
check "phase 1: the home agent holds $FIRST bindings" test "$(bindings)" = $FIRST
measure at$FIRST
run_phase rest $((COUNT - FIRST)) $FIRST
check "phase 2: $((COUNT - FIRST)) registrations accepted" test "$(val rest accepted)" = $((COUNT - FIRST))
check "phase 2: the home agent holds $COUNT bindings" test "$(bindings)" = $COUNT
measure at$COUNT
mobctl_at ha counters > "$NK_OUT/ha-counters.txt"

per() {   # per FROM TO FIELD: (TO - FROM) / bindings of the step
  local a b
  a=$(eval echo \$M_$1 | cut -d' ' -f$3); b=$(eval echo \$M_$2 | cut -d' ' -f$3)
  [[ $a == - || $b == - ]] && { echo -; return; }
  awk -v a="$a" -v b="$b" -v n="$4" 'BEGIN{printf "%.2f", (b - a) / n}' 
}
echo "bench: registrations 0 -> $FIRST: $(val first registrations_per_s)/s (peak 1 s window $(val first peak_per_s)/s), $FIRST bindings after $(val first ms_to_1000) ms, retransmitted $(val first retransmitted)"
echo "bench: registrations $FIRST -> $COUNT: $(val rest registrations_per_s)/s (peak 1 s window $(val rest peak_per_s)/s), $((COUNT - FIRST)) more after $(val rest elapsed_ms) ms, retransmitted $(val rest retransmitted)"
echo "bench: time to $FIRST bindings $(val first ms_to_1000) ms, to $COUNT bindings $(( $(val first elapsed_ms) + $(val rest elapsed_ms) )) ms (phases back to back)"
echo "bench: per binding (0 -> $FIRST): VmRSS $(per empty at$FIRST 1 $FIRST) kB, Slab $(per empty at$FIRST 2 $FIRST) kB, states $(per empty at$FIRST 3 $FIRST), policies $(per empty at$FIRST 4 $FIRST), routes $(per empty at$FIRST 5 $FIRST), proxy $(per empty at$FIRST 6 $FIRST), filters $(per empty at$FIRST 7 $FIRST)"
echo "bench: per binding (0 -> $COUNT): VmRSS $(per empty at$COUNT 1 $COUNT) kB, Slab $(per empty at$COUNT 2 $COUNT) kB, states $(per empty at$COUNT 3 $COUNT), policies $(per empty at$COUNT 4 $COUNT), routes $(per empty at$COUNT 5 $COUNT), proxy $(per empty at$COUNT 6 $COUNT), filters $(per empty at$COUNT 7 $COUNT)"

t0=$(date +%s%N)
kill -TERM $PID_ha; wait $PID_ha; rc=$?
echo "bench: SIGTERM with $COUNT bindings: everything removed in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
check "home agent stopped cleanly" test "$rc" = 0
kernel_state nk-ha > "$NK_OUT/ha-after.txt"
check "SIGTERM left the home agent's namespace as found" diff "$NK_OUT/ha-before.txt" "$NK_OUT/ha-after.txt"
check_done
