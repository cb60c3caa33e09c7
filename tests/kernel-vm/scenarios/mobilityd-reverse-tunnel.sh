# The home agent's reverse-tunnel check (RFC 6275 sec. 10.4.5) on Debian's
# kernel: mobilityd as home agent hangs a clsact qdisc on its external
# tunnel nk-ha0 with, per binding, a flower filter passing what comes out
# of the tunnel from the home address with the binding's care-of address
# as outer source, and a catch-all drop. After the mobile node registered
# from access link 1:
#  (a) its reverse-tunnelled traffic reaches the correspondent (ping from
#      the correspondent: the replies come back through the tunnel; and a
#      crafted ip6ip6 packet with the right outer source is received);
#  (b) a packet with the home address inside and a wrong outer source
#      (sent from the correspondent) does not reach it, and tc's drop
#      counter moves;
#  (c) a packet from the care-of address with an unregistered inner source
#      is dropped too;
#  (d) after SIGTERM nothing of ours is left (tc qdiscs and filters included).
source "$NK_SRC/tests/lib/check.sh"
source "$NK_SRC/tests/kernel-vm/lib/topology.sh"
source "$NK_SRC/tests/kernel-vm/mobilityd/configs.sh"
probe=$NK_SRC/tests/kernel-vm/mobilityd/tunnel_probe.py
cleanup() { kill -9 $PID_ha $PID_mn 2>/dev/null; topo_down; }
trap cleanup EXIT
mkdir -p /run/nemokey
check "topology up" topo_up
cfg=$NK_OUT/config
mobilityd_configs "$cfg"
kernel_state nk-ha > "$NK_OUT/ha-before.txt"
kernel_state nk-mr > "$NK_OUT/mn-before.txt"

check "home agent starts" mobilityd_start nk-ha ha "$cfg/ha/ha.toml"
check "mobile node starts" mobilityd_start nk-mr mn "$cfg/mn/mn.toml"
wait_bound() {
  local i
  for i in $(seq 1 100); do
    mobctl_at mn binding 2>/dev/null | grep -q "$1 .*bound" && return 0
    sleep 0.1
  done
  return 1
}
check "registered from access link 1" wait_bound "$TOPO_MR_COA1"
mobctl_at ha binding | tee "$NK_OUT/ha-binding-1.txt"

filters() { tc -n nk-ha -s filter show dev nk-ha0 ingress; }
# The catch-all's drops: the pass filters never drop.
drops() { filters | grep -o 'dropped [0-9]*' | awk '{s += $2} END {print s + 0}'; }
filters | tee "$NK_OUT/filters-1.txt"
tc -n nk-ha qdisc show dev nk-ha0 | tee "$NK_OUT/qdisc-1.txt"
check "nk-ha0 has a clsact qdisc" grep -q 'qdisc clsact' "$NK_OUT/qdisc-1.txt"
check "a pass filter for the home address with the care-of address as outer source" \
  bash -c "grep -A8 'pref 19968 flower chain 0 handle' '$NK_OUT/filters-1.txt' | tr '\n' ' ' |
           grep -q 'src_ip $TOPO_MR_HOA *enc_src_ip $TOPO_MR_COA1 .*gact action pass'"
check "a catch-all drop at the lowest priority" \
  bash -c "grep -A3 'pref 20223 flower chain 0 handle' '$NK_OUT/filters-1.txt' | grep -q 'gact action drop'"

# (a) Reverse-tunnelled traffic: the correspondent's echo requests reach
# the home address through the tunnel, the replies come back through it.
d0=$(drops)
check "the correspondent reaches the home address (replies reverse-tunnelled)" topo_ping nk-cn "$TOPO_MR_HOA" 3
check "the reverse-tunnelled replies passed (no drop)" test "$(drops)" -eq "$d0"

# listen_while SECONDS NS OUTER_SRC INNER_SRC: what the correspondent
# receives on port 7001 while NS sends 3 ip6ip6 datagrams to the home agent.
listen_while() {
  local out=$1 ns=$2 outer=$3 inner=$4
  ip netns exec nk-cn python3 "$probe" listen "$TOPO_CN" 7001 4 > "$out" 2>&1 &
  local l=$!
  sleep 1
  ip netns exec "$ns" python3 "$probe" send "$outer" "$TOPO_HA" "$inner" "$TOPO_CN" 7001 3
  wait $l
  cat "$out"
}
listen_while "$NK_OUT/right-outer.txt" nk-mr "$TOPO_MR_COA1" "$TOPO_MR_HOA"
check "(a) an ip6ip6 packet from the care-of address with the home address inside reaches the correspondent" \
  grep -q '^received 3' "$NK_OUT/right-outer.txt"

# (b) The right inner source, a wrong outer source.
d1=$(drops)
listen_while "$NK_OUT/wrong-outer.txt" nk-cn "$TOPO_CN" "$TOPO_MR_HOA"
d2=$(drops)
echo "catch-all drops: $d1 -> $d2"
check "(b) the home address inside a wrong outer source does not reach the correspondent" \
  grep -q '^received 0' "$NK_OUT/wrong-outer.txt"
check "(b) tc's drop counter moved by 3" test $((d2 - d1)) -eq 3

# (c) The registered care-of address, an unregistered inner source.
listen_while "$NK_OUT/unregistered.txt" nk-mr "$TOPO_MR_COA1" 2001:db8:1::200
d3=$(drops)
echo "catch-all drops: $d2 -> $d3"
check "(c) an unregistered inner source does not reach the correspondent" grep -q '^received 0' "$NK_OUT/unregistered.txt"
check "(c) tc's drop counter moved by 3" test $((d3 - d2)) -eq 3
filters > "$NK_OUT/filters-2.txt"

kill -TERM $PID_mn; wait $PID_mn; rc_mn=$?
kill -TERM $PID_ha; wait $PID_ha; rc_ha=$?
check "both daemons stopped cleanly" test "$rc_mn$rc_ha" = 00
kernel_state nk-ha > "$NK_OUT/ha-after.txt"
kernel_state nk-mr > "$NK_OUT/mn-after.txt"
check "(d) SIGTERM left the home agent's namespace as found (tc included)" diff "$NK_OUT/ha-before.txt" "$NK_OUT/ha-after.txt"
check "(d) SIGTERM left the mobile node's namespace as found" diff "$NK_OUT/mn-before.txt" "$NK_OUT/mn-after.txt"
check "(d) no qdisc of ours is left" bash -c "! tc -n nk-ha qdisc show | grep -q 'clsact'"
check_done
