# The MIGRATE bridge on a real kernel (Debian's, with ESP and PF_KEY): in a
# namespace, a tunnel-mode ESP policy + SA between an old care-of address
# and the home agent; MIGRATE + KMADDRESS over PF_KEY, then over netlink,
# each seen by the other interface; a MIGRATE for a missing policy fails
# and changes nothing; which namespaces hear a MIGRATE issued in a
# namespace is asserted against the kernel version. The checks live in
# pfkey_vm_migrate (C++); kmmonitor watches the namespace meanwhile.
source "$NK_SRC/tests/lib/check.sh"
bin=$NK_BUILD/tests/unit/pfkey/pfkey_vm_migrate
kmmonitor=$NK_BUILD/pfkey/kmmonitor/kmmonitor
ns=nk-pfkey
mon_pid=""
cleanup() {
  [[ -n $mon_pid ]] && kill "$mon_pid" 2>/dev/null && wait "$mon_pid" 2>/dev/null
  ip netns del $ns 2>/dev/null
}
trap cleanup EXIT

check "test binaries are built" test -x "$bin" -a -x "$kmmonitor"
check "namespace $ns created" ip netns add $ns
# For the ACQUIRE check: addresses on lo and a route for the peer.
ip -n $ns -batch - <<EOB
link set lo up
addr add 2001:db8:1::100/128 dev lo nodad
addr add 2001:db8:1::200/128 dev lo nodad
route add 2001:db8:ff::1/128 dev lo
EOB

# kmmonitor in the namespace, on both interfaces, capturing what it sees.
# It writes "ready" to fd 3 (a fifo) once its groups are joined and its
# PF_KEY registrations answered: no guessed delay.
ready=$(mktemp -u /tmp/kmmonitor-ready.XXXXXX)
mkfifo "$ready"
ip netns exec $ns "$kmmonitor" --capture "$NK_OUT/kmmonitor.cap" --timeout 120 --ready-fd 3 \
  > "$NK_OUT/kmmonitor.txt" 2> "$NK_OUT/kmmonitor.err" 3> "$ready" &
mon_pid=$!
check "kmmonitor says it is listening" \
  timeout 30 bash -c 'read -r line < "$0" && [[ $line == ready ]]' "$ready"
rm -f "$ready"

check "pfkey_vm_migrate: every check passed" \
  "$bin" /var/run/netns/$ns "$NK_OUT/pfkey-migrate-netns.txt"

# Every event was queued on kmmonitor's sockets before the request that
# caused it returned; on SIGTERM kmmonitor prints what is queued, then exits.
kill -TERM "$mon_pid" 2>/dev/null; wait "$mon_pid"; mon_rc=$?; mon_pid=""
check "kmmonitor exited cleanly on SIGTERM (exit $mon_rc)" test "$mon_rc" -eq 0
echo "kmmonitor saw:"; cut -c1-220 "$NK_OUT/kmmonitor.txt"
cat "$NK_OUT/kmmonitor.err"
check "kmmonitor printed the PF_KEY MIGRATE with its KMADDRESS" \
  grep -q "pfkey SADB_X_MIGRATE .*kmaddress=local=2001:db8:a2::100 remote=2001:db8:1::1" "$NK_OUT/kmmonitor.txt"
check "kmmonitor printed the netlink MIGRATE with its KMADDRESS" \
  grep -q "xfrm XFRM_MSG_MIGRATE .*kmaddress=local=2001:db8:a3::100 remote=2001:db8:1::1" "$NK_OUT/kmmonitor.txt"
check "kmmonitor --replay of its capture prints the same events" \
  bash -c "diff <(\"$kmmonitor\" --replay \"$NK_OUT/kmmonitor.cap\") \"$NK_OUT/kmmonitor.txt\""
check_done
