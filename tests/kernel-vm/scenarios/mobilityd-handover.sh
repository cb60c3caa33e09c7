# mobilityd registers and moves on Debian's kernel (static RFC 3776 keys):
# the mobile node registers from access link 1; a correspondent on the
# home link reaches the home address through the home agent; the BU/BA ESP
# SAs' counters move; then, while a probe stream (200 UDP packets/s with
# sequence numbers) runs from the correspondent to the home address, access
# link 1 loses its carrier and the node moves to access link 2: the stream
# continues, the disruption and the per-step timing line are reported.
# Then the home agent is killed with -9 and restarted: the binding is back
# from its snapshot, the correspondent reaches the home address again, and
# the mobile node sent no new BU. SIGTERM leaves both namespaces as found.
source "$NK_SRC/tests/lib/check.sh"
source "$NK_SRC/tests/kernel-vm/lib/topology.sh"
source "$NK_SRC/tests/kernel-vm/mobilityd/configs.sh"
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

check "registered from access link 1" wait_bound_at mn "$TOPO_MR_COA1"
mobctl_at mn binding | tee "$NK_OUT/mn-binding-1.txt"
mobctl_at ha binding | tee "$NK_OUT/ha-binding-1.txt"
check "the home agent's binding cache holds the care-of address" grep -q "$TOPO_MR_HOA .*$TOPO_MR_COA1" "$NK_OUT/ha-binding-1.txt"
mobctl_at ha counters > "$NK_OUT/ha-counters-1.txt"
check "DAD on the home link ran for the first registration and found the address unique" grep -q "dad.unique: 1" "$NK_OUT/ha-counters-1.txt"
check "the correspondent reaches the home address" topo_ping nk-cn "$TOPO_MR_HOA" 3
ip -n nk-ha -s xfrm state > "$NK_OUT/ha-xfrm-1.txt"
bu_packets=$(ip -n nk-ha -s xfrm state | awk '/spi 0x00002001/{f=1} f && match($0, /[0-9]+\(packets\)/) {print substr($0, RSTART, RLENGTH - 9); exit}')
echo "home agent: BU SA packets $bu_packets"
check "the BU/BA ESP SA counters moved" test "${bu_packets:-0}" -gt 0

# Handover under a probe stream; the event stream is recorded meanwhile.
mobctl_at mn events --json > "$NK_OUT/mn-events.txt" 2>&1 &
events=$!
ip netns exec nk-mr "$NK_BUILD/tests/kernel-vm/nk_stream" receive --port 7000 --expect-ms 9000 --linger-ms 500 \
  > "$NK_OUT/stream.txt" 2>&1 &
recv=$!
sleep 0.5
ip netns exec nk-cn "$NK_BUILD/tests/kernel-vm/nk_stream" send --to "$TOPO_MR_HOA" --port 7000 --rate 200 \
  --duration-ms 6000 > "$NK_OUT/send.txt" 2>&1 &
send=$!
sleep 2
topo_detach 1
check "moved to access link 2" wait_bound_at mn "$TOPO_MR_COA2"
wait $send; wait $recv
for ns in nk-ha nk-mr; do
  { ip -n $ns -s xfrm state; ip -n $ns xfrm policy; ip netns exec $ns cat /proc/net/xfrm_stat | grep -v '	0$';
    ip -n $ns -6 route show table all; ip -n $ns -6 rule; ip -n $ns -d link show; ip -n $ns -6 addr; } > "$NK_OUT/$ns-after-handover.txt" 2>&1
done
cat "$NK_OUT/send.txt" "$NK_OUT/stream.txt"
mobctl_at ha binding | tee "$NK_OUT/ha-binding-2.txt"
check "the home agent's binding follows to access link 2" grep -q "$TOPO_MR_HOA .*$TOPO_MR_COA2" "$NK_OUT/ha-binding-2.txt"
received=$(awk '$1=="received"{print $2}' "$NK_OUT/stream.txt")
lost=$(awk '$1=="lost"{print $2}' "$NK_OUT/stream.txt")
gap=$(awk '$1=="longest_gap_ms"{print $2}' "$NK_OUT/stream.txt")
echo "handover: received $received lost $lost disruption ${gap} ms"
grep MOB_HANDOVER "$NK_OUT/mn.log" | tail -1
check "the stream continued after the handover" test "${received:-0}" -gt 600
check "the handover line was logged" grep -q "MOB_HANDOVER $TOPO_MR_COA1 -> $TOPO_MR_COA2" "$NK_OUT/mn.log"
# The last step of the line: the first tunnelled packet at the new care-of
# address, in ms after the movement was detected. The home agent sends
# there once it has the BU (its route moves before the BA leaves, so the
# packet may come before the BA): no earlier than the BU, within a second.
line=$(grep "MOB_HANDOVER $TOPO_MR_COA1 -> $TOPO_MR_COA2" "$NK_OUT/mn.log" | tail -1)
bu_ms=$(sed -n 's/.* bu-sent \([0-9-]*\).*/\1/p' <<<"$line")
ba_ms=$(sed -n 's/.* ba-received \([0-9-]*\).*/\1/p' <<<"$line")
first_ms=$(sed -n 's/.* first-packet \([0-9a-z-]*\).*/\1/p' <<<"$line")
echo "handover: BU ${bu_ms} ms, BA ${ba_ms} ms, first packet on the new path ${first_ms} ms after detection"
check "the handover line has the first packet on the new path" test -n "$first_ms" -a "$first_ms" != none
check "the first packet on the new path came no earlier than the BU" test "${first_ms:-0}" -ge "${bu_ms:-1}"
check "and within a second of the BA" test "${first_ms:-9999}" -le $(( ${ba_ms:-0} + 1000 ))
kill $events 2>/dev/null; wait $events 2>/dev/null
grep '"handover"' "$NK_OUT/mn-events.txt" | tail -1
check "the event stream reports the handover with its first-packet time" \
  grep -q "\"first-packet-ms\":$first_ms[,}]" "$NK_OUT/mn-events.txt"

# kill -9 of the home agent: the binding survives (RFC 6275 leaves a
# restart to the implementation; UMIP loses every binding).
bus_before=$(mobctl_at mn counters | awk -F': ' '$1=="sent.binding-update"{print $2}')
kernel_state nk-ha > "$NK_OUT/ha-before-crash.txt"
kill -9 $PID_ha; wait $PID_ha 2>/dev/null
check "home agent restarts after kill -9" mobilityd_start nk-ha ha "$cfg/ha/ha.toml"
mobctl_at ha binding | tee "$NK_OUT/ha-binding-restored.txt"
check "the binding is restored from the snapshot" grep -q "$TOPO_MR_HOA .*$TOPO_MR_COA2" "$NK_OUT/ha-binding-restored.txt"
check "the restart found the kernel as it should be (0 operations)" grep -q "MOB_KERNEL_RECONCILED 0 kernel operations" "$NK_OUT/ha.log"
kernel_state nk-ha > "$NK_OUT/ha-after-restart.txt"
check "no stale or duplicated kernel state after the restart" diff "$NK_OUT/ha-before-crash.txt" "$NK_OUT/ha-after-restart.txt"
check "the correspondent reaches the home address after the restart" topo_ping nk-cn "$TOPO_MR_HOA" 3
bus_after=$(mobctl_at mn counters | awk -F': ' '$1=="sent.binding-update"{print $2}')
echo "mobile node BUs sent: $bus_before before the crash, $bus_after after the restart"
check "the mobile node did not re-register" test "$bus_before" = "$bus_after"

kill -TERM $PID_mn; wait $PID_mn; rc_mn=$?
kill -TERM $PID_ha; wait $PID_ha; rc_ha=$?
check "both daemons stopped cleanly" test "$rc_mn$rc_ha" = 00
topo_attach 1
kernel_state nk-ha > "$NK_OUT/ha-after.txt"
kernel_state nk-mr > "$NK_OUT/mn-after.txt"
check "SIGTERM left the home agent's namespace as found" diff "$NK_OUT/ha-before.txt" "$NK_OUT/ha-after.txt"
check "SIGTERM left the mobile node's namespace as found" diff "$NK_OUT/mn-before.txt" "$NK_OUT/mn-after.txt"
check_done
