# nk-timeout: 1200
# Bad input at the home agent, crafted with Debian's scapy
# (tests/kernel-vm/mobilityd/bad_input.py, sent from nk-ar1): the topology and
# both daemons as in mobilityd-handover (static RFC 3776 keys), plus two
# mobile routers mr1/mr2 on the home agent that the script plays with their
# keys. Per case: the home agent's answer or drop, the counter that moved
# (mobctl counters; nk-ha's xfrm_stat, snmp6 and raw6 for what the kernel
# did first), and that the binding cache and the kernel state stayed:
#  1. malformed MHs: the kernel's mip6_mh_filter answers bad Payload Proto
#     and short Header Len with ICMPv6 Parameter Problem (RFC 6275 sec. 9.2)
#     and drops a Header Len past the packet; ESP-protected ones reach the
#     daemon: unknown MH type -> Binding Error status 2, bad option length /
#     option overrun / unexpected type -> dropped and counted, bad checksum
#     -> dropped by the kernel's raw socket
#  2. BU for an unconfigured home address -> the block policy (XfrmInPolBlock)
#  3. stale sequence number -> BA 135 with the last accepted sequence number
#  4. BU without ESP from the registered node's home address -> XfrmInTmplMismatch
#  5. R-flag BU claiming another mobile router's prefix -> BA 142
#  6. a BU flood from one source while the mobile node hands over (every
#     10th ESP-protected with a stale sequence, the rest unprotected): the
#     handover completes, the daemon answers mobctl meanwhile.
# (raw6 "drops" of the MH socket count the checksum failures and, as
# rawv6_rcv checks the XFRM policy, the policy drops too.)
source "$NK_SRC/tests/lib/check.sh"
source "$NK_SRC/tests/kernel-vm/lib/topology.sh"
source "$NK_SRC/tests/kernel-vm/mobilityd/configs.sh"
cleanup() { kill -9 $PID_ha $PID_mn 2>/dev/null; topo_down; }
trap cleanup EXIT
mkdir -p /run/nemokey
check "topology up" topo_up
cfg=$NK_OUT/config
mobilityd_configs "$cfg"
mobilityd_configs_routers "$cfg"
kernel_state nk-ha > "$NK_OUT/ha-before.txt"

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
check "the mobile node registered from access link 1" wait_bound "$TOPO_MR_COA1"

res=$NK_OUT/bad-input.txt
# val KEY: the value the script recorded for KEY.
val() { sed -n "s/^$1=//p" "$res" | tail -1; }
has() { grep -qE "^$1=$2" "$res"; }
delta() { local v; v=$(val "$1.delta.$2"); echo "${v:-0}"; }

ip netns exec nk-ar1 true   # (namespaces exist)
check "scapy run (setup and cases 1-5)" env NK_BUILD="$NK_BUILD" /usr/bin/python3 \
  "$NK_SRC/tests/kernel-vm/mobilityd/bad_input.py" "$NK_OUT" setup malformed unknown-hoa stale unprotected prefix
mobctl_at ha binding | tee "$NK_OUT/ha-binding-cases.txt"
check "setup: mr1 registered with its prefix (BA status 0)" has setup.mr1.accepted yes

# 1. Malformed: kernel first.
for c in bad-payload-proto short-header-len header-len-past-packet; do
  echo "malformed.kernel.$c: $(val malformed.kernel.$c.answer)"
done
check "1: bad Payload Proto -> ICMPv6 Parameter Problem pointing at it (offset 40)" \
  has malformed.kernel.bad-payload-proto.answer "icmpv6-param-problem code 0 pointer 40 "
check "1: Header Len below the BU minimum -> ICMPv6 Parameter Problem pointing at it (offset 41)" \
  has malformed.kernel.short-header-len.answer "icmpv6-param-problem code 0 pointer 41 "
check "1: Header Len past the packet -> dropped silently" has malformed.kernel.header-len-past-packet.answer none
for c in bad-payload-proto short-header-len; do
  check "1: $c counted by the kernel (Icmp6OutParmProblems)" test "$(delta malformed.kernel.$c snmp6.Icmp6OutParmProblems)" = 1
done
for c in bad-payload-proto short-header-len header-len-past-packet; do
  check "1: $c never reached the daemon" test "$(delta malformed.kernel.$c mobctl.received.binding-update)$(delta malformed.kernel.$c mobctl.drop.mh-malformed)" = 00
  check "1: $c installed nothing" has malformed.kernel.$c.state-unchanged yes
done
# 1. Malformed inside a well-formed MH, ESP-protected (mr1's SA).
for c in unknown-mh-type bad-option-length option-overrun unexpected-type-ba bad-checksum; do
  echo "malformed.daemon.$c: $(val malformed.daemon.$c.answer)"
  check "1: $c installed nothing" has malformed.daemon.$c.state-unchanged yes
done
check "1: unknown MH type -> Binding Error status 2 for mr1's home address at its care-of address" \
  has malformed.daemon.unknown-mh-type.answer "binding-error status 2 home-address $MOBILITYD_MR1_HOA to 2001:db8:a1::1"
check "1: unknown MH type counted" test "$(delta malformed.daemon.unknown-mh-type mobctl.drop.mh-malformed.unrecognized-mh-type)$(delta malformed.daemon.unknown-mh-type mobctl.sent.binding-error)" = 11
check "1: bad option length dropped silently and counted" test \
  "$(val malformed.daemon.bad-option-length.answer)$(delta malformed.daemon.bad-option-length mobctl.drop.mh-malformed.bad-option-length)" = none1
check "1: option overrun dropped silently and counted" test \
  "$(val malformed.daemon.option-overrun.answer)$(delta malformed.daemon.option-overrun mobctl.drop.mh-malformed.option-overrun)" = none1
check "1: a BA sent to the home agent dropped and counted" test \
  "$(val malformed.daemon.unexpected-type-ba.answer)$(delta malformed.daemon.unexpected-type-ba mobctl.drop.mh-unexpected-type)" = none1
check "1: bad checksum dropped by the kernel's MH socket (raw6 drops), not seen by the daemon" test \
  "$(val malformed.daemon.bad-checksum.answer)$(delta malformed.daemon.bad-checksum raw6.mh-socket-drops)$(delta malformed.daemon.bad-checksum mobctl.drop.mh-malformed)" = none10

# 2. Unconfigured home address.
echo "unknown-hoa: $(val unknown-hoa.answer)"
check "2: BU for an unconfigured home address: no answer" has unknown-hoa.answer none
check "2: dropped by the kernel's block policy (XfrmInPolBlock)" test "$(delta unknown-hoa xfrm.XfrmInPolBlock)" = 1
check "2: never reached the daemon" test "$(delta unknown-hoa mobctl.received.binding-update)" = 0
check "2: installed nothing" has unknown-hoa.state-unchanged yes

# 3. Stale sequence number.
echo "stale: $(val stale.answer)"
check "3: stale sequence -> BA 135 with the last accepted sequence number (10), ESP-protected to the home address" \
  has stale.answer "binding-ack status 135 seq 10 .*esp spi 0x2012 rh2 $MOBILITYD_MR1_HOA"
check "3: counted" test "$(delta stale mobctl.received.binding-update)$(delta stale mobctl.sent.binding-acknowledgement)" = 11
check "3: binding unchanged" has stale.state-unchanged yes

# 4. No ESP from the registered mobile node's home address.
for c in hao no-hao; do
  echo "unprotected.$c: $(val unprotected.$c.answer)"
  check "4: unprotected BU ($c): no answer" has unprotected.$c.answer none
  check "4: unprotected BU ($c): dropped by the kernel (XfrmInTmplMismatch)" test "$(delta unprotected.$c xfrm.XfrmInTmplMismatch)" = 1
  check "4: unprotected BU ($c): never reached the daemon" test "$(delta unprotected.$c mobctl.received.binding-update)" = 0
  check "4: unprotected BU ($c): installed nothing" has unprotected.$c.state-unchanged yes
done

# 5. Another node's prefix.
echo "prefix: $(val prefix.answer)"
check "5: mr2 claiming mr1's prefix -> BA 142 (not authorized for prefix)" has prefix.answer "binding-ack status 142 "
check "5: counted" test "$(delta prefix mobctl.received.binding-update)$(delta prefix mobctl.sent.binding-acknowledgement)" = 11
check "5: installed nothing" has prefix.state-unchanged yes
mobctl_at ha counters > "$NK_OUT/ha-counters-cases.txt"

# 6. Flood from one source while the mobile node hands over to access link 2.
cat > "$NK_OUT/during-flood.sh" <<EOF
source "$NK_SRC/tests/kernel-vm/lib/topology.sh"
source "$NK_SRC/tests/kernel-vm/mobilityd/configs.sh"
NK_BUILD=$NK_BUILD
t0=\$(date +%s%N)
mobctl_at mn trigger acc1 link-going-down >/dev/null
topo_detach 1
t1=\$(date +%s%N)
s0=\$(date +%s%N); mobctl_at ha status >/dev/null && echo status-ok=yes; s1=\$(date +%s%N)
echo status-ms=\$(( (s1 - s0) / 1000000 ))
for i in \$(seq 1 300); do
  mobctl_at mn binding 2>/dev/null | grep -q "$TOPO_MR_COA2 .*bound" && break
  sleep 0.05
done
t2=\$(date +%s%N)
mobctl_at mn binding 2>/dev/null | grep -q "$TOPO_MR_COA2 .*bound" && echo bound=yes || echo bound=no
echo trigger-to-bound-ms=\$(( (t2 - t0) / 1000000 ))
mobctl_at ha binding | grep -q "$TOPO_MR_HOA .*$TOPO_MR_COA2" && echo ha-binding=coa2 || echo ha-binding=other
EOF
check "scapy run (flood)" env NK_BUILD="$NK_BUILD" FLOOD_DURING="bash $NK_OUT/during-flood.sh" /usr/bin/python3 \
  "$NK_SRC/tests/kernel-vm/mobilityd/bad_input.py" "$NK_OUT" flood
handover=$(grep MOB_HANDOVER "$NK_OUT/mn.log" | tail -1)
echo "flood: $(val flood.sent) BUs ($(val flood.sent-protected) ESP-protected, stale) in $(val flood.seconds) s = $(val flood.rate-pps)/s;" \
  "mobile node bound at access link 2 $(val flood.during.trigger-to-bound-ms) ms after the trigger; mobctl status took $(val flood.during.status-ms) ms"
echo "handover line: $handover"
check "6: at least 5000 BUs sent" test "$(val flood.sent)" -ge 5000
check "6: the home agent answered mobctl status during the flood" has flood.during.status-ok yes
check "6: the legitimate handover completed under the flood" has flood.during.bound yes
check "6: the home agent's binding follows to access link 2" has flood.during.ha-binding coa2
check "6: the unprotected ones were dropped by the kernel (XfrmInPolBlock)" test "$(val flood.delta.xfrm.XfrmInPolBlock)" -ge 4000
check "6: the daemon is alive" kill -0 $PID_ha
mobctl_at ha binding | tee "$NK_OUT/ha-binding-end.txt"
check "6: mr1's binding survived the flood" grep -q "$MOBILITYD_MR1_HOA .*2001:db8:a1::1" "$NK_OUT/ha-binding-end.txt"
mobctl_at ha counters | tee "$NK_OUT/ha-counters-end.txt"
ip netns exec nk-ha cat /proc/net/xfrm_stat | grep -v '	0$' | tee "$NK_OUT/ha-xfrm-stat-end.txt"

kill -TERM $PID_mn; wait $PID_mn; rc_mn=$?
kill -TERM $PID_ha; wait $PID_ha; rc_ha=$?
check "both daemons stopped cleanly" test "$rc_mn$rc_ha" = 00
kernel_state nk-ha > "$NK_OUT/ha-after.txt"
check "SIGTERM left the home agent's namespace as found" diff "$NK_OUT/ha-before.txt" "$NK_OUT/ha-after.txt"
check_done
