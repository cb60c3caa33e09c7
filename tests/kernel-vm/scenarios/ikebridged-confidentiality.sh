# nk-timeout: 600
# The confidential sensor network (RFC 4877 sec. 4.1 payload protection,
# RFC 3963 sec. 5.5): with payload protection on, an observer captures both
# access links while the mobile router registers, a host in its mobile
# network and a correspondent exchange datagrams carrying a known marker,
# and the router hands over twice. The captures must hold ESP, no marker in
# clear and no Mobility Header outside ESP; the datagrams must arrive.
source "$NK_SRC/tests/lib/check.sh"
source "$NK_SRC/tests/kernel-vm/lib/topology.sh"
source "$NK_SRC/tests/kernel-vm/mobilityd/configs.sh"
source "$NK_SRC/tests/kernel-vm/ikebridged/configs.sh"
cleanup() { kill -9 $PID_ha $PID_mr $PID_ikeha $PID_ikemr $cap1 $cap2 2>/dev/null; topo_down; }
trap cleanup EXIT
mkdir -p /run/nemokey
MARKER=NEMOKEY-CONFIDENTIAL-SENSOR-READING
check "topology up" topo_up
kernel_state nk-ha > "$NK_OUT/ha-before.txt"
kernel_state nk-mr > "$NK_OUT/mr-before.txt"
cfg=$NK_OUT/config
check "certificates and configurations written (payload protection on)" ikev2_configs "$cfg" true true

# The observer listens on both access links for the whole run.
ip netns exec nk-obs "$NK_BUILD/tests/kernel-vm/nk_probe" capture obs1 "$NK_OUT/access1.pcap" 120000 > "$NK_OUT/cap1.txt" &
cap1=$!
ip netns exec nk-obs "$NK_BUILD/tests/kernel-vm/nk_probe" capture obs2 "$NK_OUT/access2.pcap" 120000 > "$NK_OUT/cap2.txt" &
cap2=$!
for i in $(seq 50); do grep -q listening "$NK_OUT/cap1.txt" && grep -q listening "$NK_OUT/cap2.txt" && break; sleep 0.1; done

# exchange PHASE: 20 datagrams each way between the host and the
# correspondent, with the marker; prints how many arrived.
exchange() {
  local phase=$1 x="$NK_SRC/tests/kernel-vm/ikebridged/exchange.py"
  ip netns exec nk-cn python3 "$x" correspondent 7100 "$TOPO_MNN" 7101 "$MARKER" > "$NK_OUT/exchange-$phase.txt" 2>&1 &
  local cn=$!
  ip netns exec nk-mnn python3 "$x" sensor 7101 "$TOPO_CN" 7100 "$MARKER" > "$NK_OUT/exchange-mnn-$phase.txt" 2>&1
  wait $cn
  cat "$NK_OUT/exchange-$phase.txt" "$NK_OUT/exchange-mnn-$phase.txt"
  grep -q 'correspondent received [1-9]' "$NK_OUT/exchange-$phase.txt" &&
    grep -q 'sensor received [1-9]' "$NK_OUT/exchange-mnn-$phase.txt"
}

check "home agent starts" ikebridged_start nk-ha ikeha "$cfg/ha/ha.toml" --crl "$cfg/ca/x509crl/ca.crl.pem"
check "home agent's mobilityd starts" mobilityd_start nk-ha ha "$cfg/ha/ha.toml" --ikebridged-socket /run/nemokey/ikeha.sock
check "mobile router starts" ikebridged_start nk-mr ikemr "$cfg/mr/mr.toml"
check "mobile router's mobilityd starts" mobilityd_start nk-mr mr "$cfg/mr/mr.toml" --ikebridged-socket /run/nemokey/ikemr.sock
check "registered from access link 1" wait_bound_at mr "$TOPO_MR_COA1"
for ns in nk-ha nk-mr; do
  { ip -n $ns xfrm policy; ip -n $ns -s xfrm state; ip netns exec $ns cat /proc/net/xfrm_stat | grep -v '	0$';
    ip -n $ns -6 route show table all | grep -v 'fe80\|ff00\|local'; ip -n $ns -6 rule; ip -n $ns -d link show;
    ip netns exec $ns nstat -az 2>/dev/null | grep -i 'Ip6\|Xfrm' | grep -v ' 0 '; } > "$NK_OUT/$ns-after-registration.txt" 2>&1
done
check "payload CHILD_SA up" sh -c "ip -n nk-mr xfrm state | grep -A1 'src $TOPO_MR_COA1 dst $TOPO_HA' | grep -q 'mode tunnel'"
check "sensor and correspondent exchange datagrams (link 1)" exchange link1
topo_detach 1
check "moved to access link 2" wait_bound_at mr "$TOPO_MR_COA2"
check "sensor and correspondent exchange datagrams (link 2)" exchange link2
topo_attach 1
check "back on access link 1" wait_bound_at mr "$TOPO_MR_COA1"
check "sensor and correspondent exchange datagrams (back on link 1)" exchange back1

kill -TERM $cap1 $cap2 2>/dev/null; wait $cap1 $cap2 2>/dev/null
python3 "$NK_SRC/tests/kernel-vm/ikebridged/capture_check.py" "$MARKER" "$NK_OUT/access1.pcap" "$NK_OUT/access2.pcap" \
  > "$NK_OUT/capture-check.txt"; rc=$?
cat "$NK_OUT/capture-check.txt"
check "the observer saw ESP, no marker in clear, no Mobility Header outside ESP" test "$rc" = 0

ike_stack_stop
check_done
