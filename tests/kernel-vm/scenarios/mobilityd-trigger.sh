# Link-layer-assisted handover (RFC 6275 sec. 11.5.1: an L2 hint counts as
# movement): the mobile node registered on access link 1 gets the hint
# "acc1 link-going-down" through mobctl and moves to access link 2 before
# the link is lost; a probe stream (200 UDP packets/s) from the
# correspondent to the home address runs meanwhile and its disruption is
# reported. When access link 1 returns the node moves back (higher
# preference, after the settle time). The access routers run radvd and the
# care-of addresses come from the kernel's SLAAC, both links attached.
source "$NK_SRC/tests/lib/check.sh"
TOPO_SLAAC=1
TOPO_ATTACH="1 2"
source "$NK_SRC/tests/kernel-vm/lib/topology.sh"
source "$NK_SRC/tests/kernel-vm/mobilityd/configs.sh"
cleanup() { kill -9 $PID_ha $PID_mn 2>/dev/null; topo_down; }
trap cleanup EXIT
mkdir -p /run/nemokey
check "topology with radvd up" topo_up
coa1=$(topo_wait_coa 1 10000)
coa2=$(topo_wait_coa 2 10000)
check "SLAAC gave care-of addresses on both access links" test -n "$coa1" -a -n "$coa2"
cfg=$NK_OUT/config
mobilityd_configs "$cfg"
kernel_state nk-ha > "$NK_OUT/ha-before.txt"
kernel_state nk-mr > "$NK_OUT/mn-before.txt"
check "home agent starts" mobilityd_start nk-ha ha "$cfg/ha/ha.toml"
check "mobile node starts" mobilityd_start nk-mr mn "$cfg/mn/mn.toml"
check "registered from access link 1" wait_bound_at mn "$coa1"

ip netns exec nk-mr "$NK_BUILD/tests/kernel-vm/nk_stream" receive --port 7000 --expect-ms 7000 --linger-ms 500 \
  > "$NK_OUT/stream.txt" 2>&1 &
recv=$!
sleep 0.5
ip netns exec nk-cn "$NK_BUILD/tests/kernel-vm/nk_stream" send --to "$TOPO_MR_HOA" --port 7000 --rate 200 \
  --duration-ms 4000 > "$NK_OUT/send.txt" 2>&1 &
send=$!
sleep 1.5
check "mobctl delivers the link-layer hint" mobctl_at mn trigger acc1 link-going-down
check "moved to access link 2 on the hint" wait_bound_at mn "$coa2"
topo_detach 1
wait $send; wait $recv
cat "$NK_OUT/send.txt" "$NK_OUT/stream.txt"
received=$(awk '$1=="received"{print $2}' "$NK_OUT/stream.txt")
lost=$(awk '$1=="lost"{print $2}' "$NK_OUT/stream.txt")
gap=$(awk '$1=="longest_gap_ms"{print $2}' "$NK_OUT/stream.txt")
echo "handover on the L2 hint: received $received lost $lost disruption ${gap} ms"
grep MOB_HANDOVER "$NK_OUT/mn.log" | tail -1
# The first tunnelled packet at the new care-of address: after the BU.
line=$(grep "MOB_HANDOVER $coa1 -> $coa2" "$NK_OUT/mn.log" | tail -1)
bu_ms=$(sed -n 's/.* bu-sent \([0-9-]*\).*/\1/p' <<<"$line")
first_ms=$(sed -n 's/.* first-packet \([0-9a-z-]*\).*/\1/p' <<<"$line")
check "the handover line has the first packet on the new path" test -n "$first_ms" -a "$first_ms" != none
check "the first packet on the new path came no earlier than the BU" test "${first_ms:-0}" -ge "${bu_ms:-1}"
check "the stream continued (under 50 ms of loss at 200 packets/s)" test "${lost:-99}" -lt 10
check "the hint is counted" sh -c "mobctl_at() { \"$NK_BUILD/mobility/mobctl/mobctl\" --socket /run/nemokey/mn.sock \"\$@\"; }; mobctl_at counters | grep -q 'trigger.link-going-down: 1'"
check "an unknown hint is refused with a usage error" sh -c "! \"$NK_BUILD/mobility/mobctl/mobctl\" --socket /run/nemokey/mn.sock trigger acc1 sideways"

topo_attach 1
check "back to access link 1 (higher preference) once it returns" wait_bound_at mn "$coa1"
check "the correspondent reaches the home address" topo_ping nk-cn "$TOPO_MR_HOA" 3

kill -TERM $PID_mn; wait $PID_mn; rc_mn=$?
kill -TERM $PID_ha; wait $PID_ha; rc_ha=$?
check "both daemons stopped cleanly" test "$rc_mn$rc_ha" = 00
kernel_state nk-ha > "$NK_OUT/ha-after.txt"
kernel_state nk-mr > "$NK_OUT/mn-after.txt"
check "SIGTERM left the home agent's namespace as found" diff "$NK_OUT/ha-before.txt" "$NK_OUT/ha-after.txt"
check "SIGTERM left the mobile node's namespace as found" diff "$NK_OUT/mn-before.txt" "$NK_OUT/mn-after.txt"
check_done
