# The kernel contract on the real kernel: the contract cases that the fake
# kernel passes in the unit tests run through the netlink backend in a
# namespace with lo up and a dummy "ct0" (up); the case names must be the
# same on both backends. Then the home-agent binding benchmark.
source "$NK_SRC/tests/lib/check.sh"
bin=$NK_BUILD/tests/unit/mobility/kernel/kernel_netlink_contract_test
fake=$NK_BUILD/tests/unit/mobility/kernel/kernel_fake_contract_test
bench=$NK_BUILD/tests/bench/mobility/kernel/netlink_binding_bench
ns=nk-contract
cleanup() { ip netns del $ns 2>/dev/null; }
trap cleanup EXIT

check "contract binaries are built" test -x "$bin" -a -x "$fake"
check "namespace $ns with lo and ct0 up" ip netns add $ns
ip -n $ns -batch - <<EOB
link set lo up
link add ct0 type dummy
link set ct0 up
EOB

# The shared cases only (the kernel's binary has a few of its own: NetlinkBatches).
cases() { "$1" --gtest_list_tests --gtest_filter='KernelContract.*' | sed -n 's/^  \([A-Za-z0-9_]*\).*/\1/p' | sort; }
cases "$fake" > "$NK_OUT/cases-fake.txt"
cases "$bin" > "$NK_OUT/cases-kernel.txt"
check "the same case names on the fake and on the kernel" diff "$NK_OUT/cases-fake.txt" "$NK_OUT/cases-kernel.txt"
echo "contract cases: $(wc -l < "$NK_OUT/cases-kernel.txt")"

ip netns exec $ns "$bin" --gtest_output="xml:$NK_OUT/kernel-contract.xml" > "$NK_OUT/kernel-contract.log" 2>&1
rc=$?
grep -E '^\[ *(OK|FAILED|PASSED) *\]|features|Failure|^[a-z].*[a-z]$' "$NK_OUT/kernel-contract.log" | head -200
check "every contract case passes on the kernel (exit $rc)" test $rc -eq 0
check "the gtest report lists no failure" grep -q 'failures="0"' "$NK_OUT/kernel-contract.xml"
# The ip6ip6 (fixed) tunnels the cases installed, as `ip -d link show` and
# `ip -6 addr show` saw them (check_tunnel in netlink_contract_test.cpp):
# no Tunnel Encapsulation Limit option, no address generation, no address.
grep -E -A4 '^tunnel nkc-' "$NK_OUT/kernel-contract.log" | grep -E '^tunnel|ip6tnl|inet6' | head -20
check "iproute2 shows an ip6ip6 tunnel of ours with encaplimit none and addrgenmode none" \
  grep -q 'ip6tnl ip6ip6 .*encaplimit none.*addrgenmode none' "$NK_OUT/kernel-contract.log"

# One home-agent binding (encap route + proxy entry + 4 policies) installed
# and removed: round trips and wall time per batch.
check "benchmark is built" test -x "$bench"
ip netns exec $ns env NK_BENCH_LINK=ct0 "$bench" --benchmark_counters_tabular=true --benchmark_min_time=1 \
  > "$NK_OUT/binding-bench.txt" 2>&1
sed -n '/^---/,$p' "$NK_OUT/binding-bench.txt"
check "home-agent binding benchmark ran without error" \
  bash -c "grep -q BM_HomeAgentBindingBatched '$NK_OUT/binding-bench.txt' && ! grep -q 'ERROR OCCURRED' '$NK_OUT/binding-bench.txt'"
left=$( (ip -n $ns -o link show | grep ': nk'; ip -n $ns xfrm state; ip -n $ns xfrm policy;
         ip -n $ns -6 route show table all proto 167; ip -n $ns -6 rule show | grep 'proto 167') 2>&1)
[[ -z $left ]] || echo "left in $ns:"$'\n'"$left"
check "nothing is left in $ns" test -z "$left"
check_done
