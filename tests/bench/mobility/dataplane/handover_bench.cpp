// Kernel round trips per handover, mobile router and home agent, through
// the KernelExecutor on the fake kernel (the same executor mobilityd uses
// on the netlink backend): the mobile router's BU from the new care-of
// address, the home agent's acceptance, the BA, and every CommitKernelState
// and Migrate on the way. UMIP issues 7-8 synchronous MIGRATEs per handover.
//
//   handover_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <deque>

#include "mobility/core/dataplane/desired_state.hpp"
#include "tests/unit/mobility/binding/allow_all_authorizer.hpp"
#include "mobility/core/dataplane/executor.hpp"
#include "mobility/kernel/fake/fake_kernel.hpp"
#include "mobility/kernel/marks.hpp"
#include "tests/unit/mobility/dataplane/node_spd.hpp"

namespace nemokey::mobility::dataplane {
namespace {

using namespace kernel;

net::Ipv6Address a6(const char* t) { return *net::Ipv6Address::parse(t); }
net::Prefix p6(const char* t) { return *net::Prefix::parse(t); }

struct Testbed {
    net::Ipv6Address ha = a6("2001:db8:1::1");
    net::Ipv6Address hoa = a6("2001:db8:1::300");
    binding::testing::AllowAllAuthorizer auth;
    binding::BindingCache cache;
    binding::BindingUpdateList list;
    HomeAgentDataPlane ha_plane;
    MobileDataPlane mr_plane;
    FakeKernel ha_kernel{{"lo", "home0"}};
    FakeKernel mr_kernel{{"lo"}};
    KernelExecutor ha_exec;
    KernelExecutor mr_exec;
    binding::TimePoint now{};

    static binding::BindingCacheConfig cache_config() {
        binding::BindingCacheConfig c;
        c.home_prefixes = {binding::HomeLinkPrefix{p6("2001:db8:1::/64"), std::nullopt}};
        c.duplicate_address_detection = false;
        return c;
    }
    binding::BindingUpdateListConfig list_config() const {
        binding::BindingUpdateListConfig c;
        c.home_address = hoa;
        c.home_agent_address = ha;
        c.mobile_router = true;
        c.mobile_network_prefixes = {p6("2001:db8:300::/56")};
        c.key_management_mobility = true;
        c.max_update_rate = 0;
        return c;
    }

    Testbed()
        : cache(cache_config(), auth), list(list_config()),
          ha_exec(ha_kernel, [this] { return desired_state(cache, ha_plane); }, false),
          mr_exec(mr_kernel, [this] { return desired_state(list, mr_plane); }, true) {
        ha_plane.home_link_interface = "home0";
        ha_plane.spd[hoa] = testing::node_spd(hoa, ha, 0x10000, true, {p6("2001:db8:300::/56")});
        mr_plane.spd = testing::node_spd(hoa, ha, 0x10000, false, {p6("2001:db8:300::/56")});
        mr_plane.mobile_network_prefixes = {p6("2001:db8:300::/56")};
        ha_exec.start([](bool, size_t) {});
        mr_exec.start([](bool, size_t) {});
        settle();
    }

    void settle() {
        while (!ha_kernel.idle() || !mr_kernel.idle()) {
            ha_kernel.run();
            mr_kernel.run();
        }
    }

    // Delivers actions between the two sides until nothing is left.
    void run(binding::Actions from_mr) {
        std::deque<std::pair<bool, binding::Actions>> q;
        q.emplace_back(true, std::move(from_mr));
        while (!q.empty()) {
            auto [mine, actions] = std::move(q.front());
            q.pop_front();
            auto& exec = mine ? mr_exec : ha_exec;
            exec.execute(actions, [&, mine = mine](uint64_t op, bool ok) {
                q.emplace_back(mine, mine ? list.handle(binding::KernelOutcome{op, ok}, now)
                                          : cache.handle(binding::KernelOutcome{op, ok}, now));
            });
            settle();
            for (const auto& a : actions) {
                if (const auto* s = std::get_if<binding::SendBindingUpdate>(&a)) {
                    binding::ReceivedBindingUpdate r{s->source, s->destination, s->home_address_option, true,
                                                     "CN=mr", s->message};
                    q.emplace_back(false, cache.handle(r, now));
                }
                if (const auto* s = std::get_if<binding::SendBindingAcknowledgement>(&a))
                    q.emplace_back(true, list.handle(binding::BindingAcknowledgementReceived{s->source, s->message, true}, now));
            }
        }
    }
};

void BM_HandoverRoundTrips(benchmark::State& state) {
    Testbed t;
    const net::Ipv6Address coas[] = {a6("2001:db8:a::10"), a6("2001:db8:b::10")};
    t.run(t.list.handle(binding::MovedToCareOfAddress{coas[0], 0}, t.now));
    if (!t.list.entry(0) || t.list.entry(0)->state != binding::BulState::bound) state.SkipWithError("not registered");
    uint64_t handovers = 0;
    const uint64_t ha_before = t.ha_kernel.round_trips();
    const uint64_t mr_before = t.mr_kernel.round_trips();
    const uint64_t ha_ops_before = t.ha_exec.stats().operations;
    const uint64_t mr_ops_before = t.mr_exec.stats().operations;
    for (auto _ : state) {
        t.now += binding::Duration{1000};
        t.run(t.list.handle(binding::MovedToCareOfAddress{coas[++handovers % 2], 0}, t.now));
    }
    if (t.list.entry(0)->state != binding::BulState::bound ||
        t.cache.find(t.hoa)->bindings.front().care_of_address != coas[handovers % 2])
        state.SkipWithError("handover did not complete");
    if (t.ha_exec.stats().failed_batches != 0 || t.mr_exec.stats().failed_batches != 0)
        state.SkipWithError("a batch failed");
    if (!(marks::owned_only(t.ha_kernel.objects()) == desired_state(t.cache, t.ha_plane)) ||
        !(marks::owned_only(t.mr_kernel.objects()) == desired_state(t.list, t.mr_plane)))
        state.SkipWithError("a kernel differs from its desired state");
    const double n = static_cast<double>(handovers);
    state.counters["ha_round_trips"] = static_cast<double>(t.ha_kernel.round_trips() - ha_before) / n;
    state.counters["mr_round_trips"] = static_cast<double>(t.mr_kernel.round_trips() - mr_before) / n;
    state.counters["ha_operations"] = static_cast<double>(t.ha_exec.stats().operations - ha_ops_before) / n;
    state.counters["mr_operations"] = static_cast<double>(t.mr_exec.stats().operations - mr_ops_before) / n;
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HandoverRoundTrips);

}  // namespace
}  // namespace nemokey::mobility::dataplane

BENCHMARK_MAIN();
