# First scenario: the testbed topology comes up, is reachable end to end,
# every namespace's kernel accepts what the stack relies on (RH2 and HAO
# states, ESP, an ip6ip6 tunnel, a PF_KEY socket), link delay is settable,
# and teardown leaves nothing behind (guest-run checks the whole kernel too).
source "$NK_SRC/tests/kernel-vm/lib/topology.sh"
source "$NK_SRC/tests/lib/check.sh"
probe=$NK_BUILD/tests/kernel-vm/nk_probe
trap topo_down EXIT

check "topology comes up" topo_up

# Reachability across the topology.
check "cn -> mr care-of address on access link 1 (IPv6)" topo_ping nk-cn $TOPO_MR_COA1
check "cn -> mr care-of address on access link 2 (IPv6)" topo_ping nk-cn $TOPO_MR_COA2
check "ha -> mr care-of address on access link 2 (IPv4)" topo_ping nk-ha $TOPO_MR_COA2_4
check "mr -> ha from access link 1" topo_ping nk-mr $TOPO_HA
check "mnn -> mr on the mobile network" topo_ping nk-mnn $TOPO_MR_MNET

# The passive observer: no address of its own, yet it sees the unicast
# traffic of the access link (the bridge floods like a hub).
check "observer has no IPv6 or IPv4 address" test -z "$(ip -n nk-obs -o addr show scope global)"
check "observer starts capturing access link 1" topo_capture_start 1 "$NK_OUT/obs1.pcap" 3000
topo_ping nk-cn $TOPO_MR_COA1 3
frames=$(topo_capture_wait)
echo "observer: $frames frames on access link 1"
check "observer captured the cn <-> mr pings on access link 1" test "${frames:-0}" -ge 6
check "the capture holds echo requests to the mr care-of address" \
  python3 - "$NK_OUT/obs1.pcap" "$TOPO_MR_COA1" <<'PY'
import ipaddress, struct, sys
data = open(sys.argv[1], "rb").read()
coa = ipaddress.IPv6Address(sys.argv[2]).packed
off, requests = 24, 0
while off + 16 <= len(data):
    caplen = struct.unpack_from("<I", data, off + 8)[0]
    frame = data[off + 16: off + 16 + caplen]
    off += 16 + caplen
    # Ethernet type 0x86dd, IPv6 next header 58 (ICMPv6), type 128 (echo request)
    if len(frame) > 54 and frame[12:14] == b"\x86\xdd" and frame[20] == 58 \
            and frame[38:54] == coa and frame[54] == 128:
        requests += 1
sys.exit(0 if requests >= 3 else 1)
PY
check "access link 1 is IPv6 only (no IPv4 address on mr acc1)" \
  test -z "$(ip -n nk-mr -4 -o addr show dev acc1)"

# Link delay: 150 ms of netem on the access router's side of access link 1.
base=$(topo_rtt_ms nk-cn $TOPO_MR_COA1)
topo_link nk-ar1 acc1-mr delay 150
slow=$(topo_rtt_ms nk-cn $TOPO_MR_COA1)
topo_link nk-ar1 acc1-mr
echo "rtt cn -> mr acc1: ${base:-?} ms, with netem delay 150 ms: ${slow:-?} ms"
check "netem delay shows in the round-trip time" test "${slow:-0}" -ge 150
check "removing netem restores the round-trip time" test "$(topo_rtt_ms nk-cn $TOPO_MR_COA1)" -lt 100

# What the kernel must accept in every namespace.
key=0x0102030405060708090a0b0c0d0e0f1011121314
for ns in "${TOPO_NAMESPACES[@]}"; do
  ip -n $ns -batch - <<EOB
xfrm state add src 2001:db8:1::1 dst 2001:db8:1::100 proto route2 mode ro coa 2001:db8:a1::100
xfrm state add src 2001:db8:1::100 dst 2001:db8:1::1 proto hao mode ro coa 2001:db8:a1::100
xfrm state add src 2001:db8:a1::100 dst 2001:db8:1::1 proto esp spi 0x1000 reqid 7 mode tunnel aead rfc4106(gcm(aes)) $key 128
link add nkt0 type ip6tnl mode ip6ip6 local 2001:db8:a1::100 remote 2001:db8:1::1
EOB
  states=$(ip -n $ns xfrm state list)
  check "$ns: RH2 (route2) state accepted" grep -q "proto route2" <<<"$states"
  check "$ns: HAO state accepted" grep -q "proto hao" <<<"$states"
  check "$ns: ESP tunnel state accepted" grep -q "proto esp spi 0x00001000 reqid 7 mode tunnel" <<<"$states"
  check "$ns: ip6ip6 tunnel accepted" grep -q "ip6tnl ip6ip6 remote 2001:db8:1::1 local 2001:db8:a1::100" \
    <<<"$(ip -n $ns -d link show nkt0)"
  check "$ns: PF_KEY socket answers SADB_REGISTER" ip netns exec $ns "$probe" pfkey
  ip -n $ns -batch - <<EOB
xfrm state flush
link del nkt0
EOB
  check "$ns: cleaned" test -z "$(ip -n $ns xfrm state list)"
done

topo_down
left=$(ip netns list)
check "teardown removes every namespace" test -z "$left"
check_done
