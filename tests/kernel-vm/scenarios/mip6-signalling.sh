# Mobile IPv6 home registration signalling (RFC 6275, RFC 3776 static keying)
# between a mobile node and a home agent in two namespaces, with the XFRM
# states and policies of drafts-notes/linux-mip6-xfrm.md ("sub" variant of
# tests/kernel-vm/mip6/mip6_signalling.py, which does the sending, receiving,
# capturing and counting and writes $NK_OUT/sub.txt as key=value lines).
source "$NK_SRC/tests/lib/check.sh"
cleanup() { ip netns del nk-sig-ha 2>/dev/null; ip netns del nk-sig-mn 2>/dev/null; }
trap cleanup EXIT

/usr/bin/python3 "$NK_SRC/tests/kernel-vm/mip6/mip6_signalling.py" "$NK_OUT" \
  "$NK_BUILD/tests/kernel-vm/nk_probe" sub
r=$NK_OUT/sub.txt
has() { grep -qxF "$1" "$r"; }
wire() { grep -q "^wire\.[0-9]*=$1\$" "$r"; }
HA=2001:db8:1::1 HOA=2001:db8:1::100 COA=2001:db8:a1::100 COA2=2001:db8:a2::100

check "the driver wrote its results without setup errors" bash -c "test -s $r && ! grep -q '^setup.error' $r"
check "the capture on the home agent's link was listening" has capture.listening=1
# First registration: no per-binding state at the HA yet.
check "first BU leaves the MN as CoA -> HA | HAO(HoA) | ESP" wire "$COA>$HA:dst/esp:hao=$HOA"
check "first BU reaches the HA socket from the HoA" has bu1.src=$HOA
check "first BU: the HAO seen by the HA socket holds the CoA" has bu1.hao=$COA
check "first BU: destination HA, MH type 5, checksum filled in by the kernel" \
  bash -c "grep -qx bu1.dst=$HA $r && grep -qx bu1.type=5 $r && ! grep -qx bu1.csum=0 $r"
check "BA leaves the HA as HA -> CoA | RH2(HoA) | ESP" wire "$HA>$COA:rh/esp:rh2=$HOA"
check "BA reaches the MN socket from the HA to the HoA" bash -c "grep -qx ba1.src=$HA $r && grep -qx ba1.dst=$HOA $r"
check "BA: the RH2 seen by the MN socket holds the CoA, MH type 6" bash -c "grep -qx ba1.rh2=$COA $r && grep -qx ba1.type=6 $r"
# Refresh, then handover to a second care-of address.
check "refresh BU and BA from the same CoA" bash -c "grep -qx bu2.hao=$COA $r && grep -qx ba2.rh2=$COA $r"
check "handover BU from the second CoA reaches the HA (HAO holds CoA2)" has bu3.hao=$COA2
check "handover BA leaves the HA as HA -> CoA2 | RH2(HoA) | ESP" wire "$HA>$COA2:rh/esp:rh2=$HOA"
check "handover BA reaches the MN, RH2 holds the second CoA" has ba3.rh2=$COA2
check "a later refresh from the second CoA works both ways" bash -c "grep -qx bu7.hao=$COA2 $r && grep -qx ba7.rh2=$COA2 $r"
# What must not reach the socket.
check "a BU with HAO but without ESP is on the wire" wire "$COA2>$HA:dst/mh:mhtype=5:hao=$HOA"
check "... and does not reach the HA socket (XfrmInTmplMismatch)" \
  bash -c "grep -qx bu_noesp.recv=0 $r && grep -qx bu_noesp.xfrmstat.ha=XfrmInTmplMismatch+1 $r"
check "a BU from another HoA (no SA at the HA) does not reach it (XfrmInPolBlock)" \
  bash -c "grep -qx bu_otherhoa.recv=0 $r && grep -qx bu_otherhoa.xfrmstat.ha=XfrmInPolBlock+1 $r"
# Counters: every protected BU (5) and BA (4) went through the ESP SAs.
check "ESP SA MN->HA: 5 packets out at the MN, 5 in at the HA" bash -c "grep -qx sa.mn.esp_mn_ha=5 $r && grep -qx sa.ha.esp_mn_ha=5 $r"
check "ESP SA HA->MN: 4 packets out at the HA, 4 in at the MN" bash -c "grep -qx sa.ha.esp_ha_mn=4 $r && grep -qx sa.mn.esp_ha_mn=4 $r"
check "the HA's wildcard HAO state took the first and the handover BU" \
  bash -c "n=\$(sed -n 's/^sa.ha.hao.::>::=//p' $r); test \"\${n:-0}\" -ge 2"
check "no BU or BA was dropped where it should pass (no XFRM error counter moved)" \
  bash -c "! grep -E '^(bu1|ba1|bu2|ba2|bu3|ba3|bu7|ba7)\.xfrmstat\.(ha|mn)=' $r | grep -vq '=none\$'"
check "the namespaces are gone" bash -c "! ip netns list | grep -q nk-sig"
check_done
