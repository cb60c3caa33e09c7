# Real access routers: radvd on nk-ar1/nk-ar2 with the fast intervals of
# RFC 6275 sec. 7.5, the mobile router's kernel takes its care-of addresses
# by SLAAC, moves between the access links at layer 2 (carrier loss), and a
# probe stream reaches the new care-of address without loss. No mobility
# daemon yet: plain routing. Prints the figures (care-of address acquisition
# after carrier up, stream loss and gaps).
source "$NK_SRC/tests/kernel-vm/lib/topology.sh"
source "$NK_SRC/tests/lib/check.sh"
probe=$NK_BUILD/tests/kernel-vm/nk_probe
stream=$NK_BUILD/tests/kernel-vm/nk_stream
trap topo_down EXIT

TOPO_SLAAC=1
check "topology comes up with radvd as the access routers (attached to link 1)" topo_up
check "radvd runs on nk-ar1 and nk-ar2" \
  test "$(ip netns pids nk-ar1 | wc -l)" -ge 1 -a "$(ip netns pids nk-ar2 | wc -l)" -ge 1

# Access link 1: a care-of address from the advertised prefix.
coa1=$(topo_wait_coa 1 5000)
echo "care-of address on acc1: ${coa1:-none}"
check "nk-mr gets a care-of address on acc1 by SLAAC" test -n "$coa1"
# in_prefix64 ADDR PREFIX::/64 (documentation prefixes 2001:db8:aN::/64 only)
in_prefix64() { [[ -n $1 && $1 == "${2%::/64}:"* ]]; }
check "it is inside $TOPO_ACC1_PREFIX (and not the static address)" \
  eval 'in_prefix64 "$coa1" $TOPO_ACC1_PREFIX && [[ $coa1 != "$TOPO_MR_COA1" ]]'
check "no static care-of address on acc1 or acc2" \
  test -z "$(ip -n nk-mr -o addr show to $TOPO_MR_COA1/128; ip -n nk-mr -o addr show to $TOPO_MR_COA2/128)"
ar1_ll=$(ip -n nk-ar1 -6 -o addr show dev lan scope link | sed -n 's/.* inet6 \(fe80::[^/]*\)\/.*/\1/p')
route1=$(ip -n nk-mr -6 route show default dev acc1)
echo "ar1 lan link-local: $ar1_ll; nk-mr default route on acc1: $route1"
check "default route on acc1 via ar1's link-local address, from the RA" \
  grep -q "^default via $ar1_ll proto ra" <<<"$route1"
check "nothing on acc2 yet (detached)" \
  test -z "$(ip -n nk-mr -6 -o addr show dev acc2 scope global)"

# What radvd sends: RAs on access link 1 for one second, seen by the observer.
check "observer captures access link 1 for 1 s" topo_capture_start 1 "$NK_OUT/ra1.pcap" 1000
frames=$(topo_capture_wait)
ra_report=$(python3 - "$NK_OUT/ra1.pcap" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
off, ras, interval_opt, rflag, hflag, times = 24, 0, 0, 0, 0, []
while off + 16 <= len(data):
    sec, usec, caplen = struct.unpack_from("<III", data, off)
    frame = data[off + 16: off + 16 + caplen]
    off += 16 + caplen
    # Ethernet, IPv6, ICMPv6 type 134 (Router Advertisement)
    if len(frame) < 70 or frame[12:14] != b"\x86\xdd" or frame[20] != 58 or frame[54] != 134:
        continue
    ras += 1
    times.append(sec + usec / 1e6)
    hflag += bool(frame[59] & 0x20)
    opt = 54 + 16
    while opt + 2 <= len(frame) and frame[opt + 1]:
        kind, length = frame[opt], frame[opt + 1] * 8
        if kind == 7:
            interval_opt += 1
        if kind == 3 and frame[opt + 3] & 0x20:
            rflag += 1
        opt += length
gaps = [b - a for a, b in zip(times, times[1:])]
print(ras, interval_opt, rflag, hflag, int(1000 * max(gaps)) if gaps else -1,
      int(1000 * sum(gaps) / len(gaps)) if gaps else -1)
PY
)
read -r ras interval_opts rflags hflags max_gap mean_gap <<<"$ra_report"
echo "access link 1: $frames frames in 1 s, $ras router advertisements, mean interval ${mean_gap} ms, longest ${max_gap} ms"
check "radvd advertises at the fast intervals (>= 8 RAs in 1 s)" test "${ras:-0}" -ge 8
check "no gap between RAs longer than 150 ms" test "${max_gap:-999}" -le 150 -a "${max_gap:--1}" -ge 0
check "every RA carries the Advertisement Interval option" test "${interval_opts:-0}" -eq "${ras:--1}"
check "every RA's prefix option has the R flag (router address)" test "${rflags:-0}" -eq "${ras:--1}"
check "no RA has the Home Agent flag" test "${hflags:-1}" -eq 0

# Handover: access link 1 goes away (carrier loss), access link 2 comes.
read -r coa2 coa2_ms < <(topo_handover 2 5000)
echo "care-of address on acc2: ${coa2:-none}, usable ${coa2_ms:-?} ms after carrier up"
check "nk-mr gets a care-of address on acc2, inside $TOPO_ACC2_PREFIX" in_prefix64 "$coa2" $TOPO_ACC2_PREFIX
link1=$(ip -n nk-mr -o link show dev acc1)
check "acc1 lost carrier but stays administratively up" \
  grep -q "NO-CARRIER.*state LOWERLAYERDOWN" <<<"$link1"
route1=$(ip -n nk-mr -6 route show default dev acc1)
echo "nk-mr default route on acc1 after carrier loss: ${route1:-none}"
check "the access-1 default route is gone or flagged linkdown" \
  test -z "$route1" -o "${route1/linkdown/}" != "$route1"
ar2_ll=$(ip -n nk-ar2 -6 -o addr show dev lan scope link | sed -n 's/.* inet6 \(fe80::[^/]*\)\/.*/\1/p')
check "traffic to the home network leaves by acc2 via ar2" \
  grep -q "via $ar2_ll dev acc2" <<<"$(ip -n nk-mr -6 route get $TOPO_CN)"

# A probe stream from the correspondent node to the new care-of address.
exec {rx}< <(exec ip netns exec nk-mr "$stream" receive --port 5001 --expect-ms 6000)
rx_pid=$!
read -r line <&"$rx"
check "stream receiver listens in nk-mr" test "$line" = "receive: listening on port 5001"
tx_line=$(ip netns exec nk-cn "$stream" send --to "$coa2" --port 5001 --rate 200 --duration-ms 2000)
echo "$tx_line"
rx_out=$(cat <&"$rx")
exec {rx}<&-
wait "$rx_pid"
echo "$rx_out" | sed 's/^/stream: /'
field() { awk -v k="$1" '$1 == k { print $2 }' <<<"$rx_out"; }
check "stream: 400 packets sent without send errors" grep -q "send: 400 of 400 packets.* 0 send errors" <<<"$tx_line"
check "stream: 400 received" test "$(field received)" = 400
check "stream: lost 0" test "$(field lost)" = 0
check "stream: no duplicates" test "$(field duplicates)" = 0

# Back to access link 1: the kernel kept its address over the carrier loss.
read -r coa1b coa1b_ms < <(topo_handover 1 5000)
echo "back on acc1: ${coa1b:-none}, usable ${coa1b_ms:-?} ms after carrier up"
check "returning to link 1 gives the same care-of address back" test -n "$coa1b" -a "$coa1b" = "$coa1"
[[ -n $coa1b ]] || ip -n nk-mr addr show dev acc1

echo "figures: coa acc2 after carrier up ${coa2_ms:-?} ms; back on acc1 ${coa1b_ms:-?} ms;" \
  "stream 200/s for 2 s: received $(field received) lost $(field lost)" \
  "longest gap $(field longest_gap_ms) ms, one-way delay avg $(field delay_avg_ms) max $(field delay_max_ms) ms"

topo_down
check "radvd stopped with the topology" test -z "$(pgrep -x radvd)"
check "teardown removes every namespace" test -z "$(ip netns list)"
check "radvd's run folder is gone" test ! -e "$TOPO_RUN_DIR"
check_done
