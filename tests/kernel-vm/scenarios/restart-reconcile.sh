# Restart on Debian's kernel: a home agent's bindings (a plain node, an MCoA
# node with two bindings, a mobile router with a prefix, one handover) are
# installed through the netlink backend and snapshotted, and the process
# ends without cleaning up. A new process restores the snapshot and
# reconciles: zero kernel operations when nothing changed; after a route
# and a policy were deleted behind its back, exactly two; shutdown removes
# everything of ours.
source "$NK_SRC/tests/lib/check.sh"
probe=$NK_BUILD/tests/kernel-vm/nk_restart_probe
ns=nk-restart
snap=$NK_OUT/bindings.json
cleanup() { ip netns del $ns 2>/dev/null; }
trap cleanup EXIT

# One line per object (the kernel lists a re-added policy in another place).
state() {
  { ip -n $ns -o link show | grep -o 'nk[^:@]*' ;
    ip -n $ns -o xfrm state ; ip -n $ns -o xfrm policy ;
    ip -n $ns -6 route show table all proto 167 ; ip -n $ns -6 neigh show proxy ; } 2>&1 | sort
}

check "probe is built" test -x "$probe"
check "namespace $ns with lo and home0 up" ip netns add $ns
ip -n $ns -batch - <<EOB
link set lo up
link add home0 type dummy
link set home0 up
EOB

ip netns exec $ns "$probe" install "$snap" | tee "$NK_OUT/install.txt"
check "bindings installed and snapshotted" grep -q "installed bindings 4" "$NK_OUT/install.txt"
check "snapshot is versioned" grep -q '"nemokey-binding-snapshot"' "$snap"
state > "$NK_OUT/before.txt"
check "the kernel holds routes of ours" grep -q "proto 167" "$NK_OUT/before.txt"

ip netns exec $ns "$probe" restore "$snap" | tee "$NK_OUT/restore1.txt"
check "restart with nothing changed: zero kernel operations" grep -q "restored bindings 4 operations 0" "$NK_OUT/restore1.txt"
state > "$NK_OUT/after1.txt"
check "kernel state unchanged by the restart" diff "$NK_OUT/before.txt" "$NK_OUT/after1.txt"

# Lost behind our back: the mobile router's prefix route and one policy.
ip -n $ns -6 route del 2001:db8:300::/56 proto 167
ip -n $ns xfrm policy delete dir out src ::/0 dst 2001:db8:1::100/128
ip netns exec $ns "$probe" restore "$snap" | tee "$NK_OUT/restore2.txt"
check "restart after losing two objects: exactly two operations" grep -q "restored bindings 4 operations 2" "$NK_OUT/restore2.txt"
state > "$NK_OUT/after2.txt"
check "the lost objects are back, nothing else changed" diff "$NK_OUT/before.txt" "$NK_OUT/after2.txt"

ip netns exec $ns "$probe" shutdown "$snap" | tee "$NK_OUT/shutdown.txt"
check "shutdown removed everything" grep -q "shutdown ok" "$NK_OUT/shutdown.txt"
left=$( (ip -n $ns -o link show | grep ': nk'; ip -n $ns xfrm state; ip -n $ns xfrm policy;
         ip -n $ns -6 route show table all proto 167; ip -n $ns -6 neigh show proxy) 2>&1)
[[ -z $left ]] || echo "left in $ns:"$'\n'"$left"
check "nothing of ours is left in $ns" test -z "$left"
check_done
