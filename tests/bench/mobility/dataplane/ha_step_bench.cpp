// The home agent's cost of one handover step as its binding cache grows:
// N nodes registered (each with a mobile network prefix and the plan's
// payload tunnel), then one node's BU from a new care-of address goes
// through the core and the KernelExecutor on the fake kernel (desired state,
// reconcile, one batch, the outcome, the BA). The fake kernel's own cost is
// in it; what must not grow with N is the executor's.
//
//   ha_step_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include "mobility/core/binding/snapshot.hpp"
#include "mobility/core/dataplane/desired_state.hpp"
#include "mobility/core/dataplane/executor.hpp"
#include "mobility/kernel/fake/fake_kernel.hpp"
#include "mobility/kernel/marks.hpp"
#include "tests/unit/mobility/binding/allow_all_authorizer.hpp"
#include "tests/unit/mobility/dataplane/node_spd.hpp"

namespace nemokey::mobility::dataplane {
namespace {

using namespace kernel;

net::Ipv6Address numbered(const char* base, uint32_t i) {
    net::Ipv6Address a = *net::Ipv6Address::parse(base);
    a.bytes[12] = static_cast<uint8_t>(i >> 24);
    a.bytes[13] = static_cast<uint8_t>(i >> 16);
    a.bytes[14] = static_cast<uint8_t>(i >> 8);
    a.bytes[15] = static_cast<uint8_t>(i);
    return a;
}
net::Prefix prefix_of(uint32_t i) {
    net::Ipv6Address a = *net::Ipv6Address::parse("2001:db8:8000::");
    a.bytes[4] = static_cast<uint8_t>(0x80 | (i >> 16));
    a.bytes[5] = static_cast<uint8_t>(i >> 8);
    a.bytes[6] = static_cast<uint8_t>(i);
    return net::Prefix{net::IpAddress{a}, 56};
}

struct HomeAgent {
    net::Ipv6Address ha = *net::Ipv6Address::parse("2001:db8:1::1");
    binding::testing::AllowAllAuthorizer auth;
    binding::BindingCache cache;
    HomeAgentDataPlane plane;
    FakeKernel kernel{{"lo", "home0"}};
    KernelExecutor exec;
    binding::TimePoint now{};
    uint16_t sequence = 1;

    static binding::BindingCacheConfig cache_config() {
        binding::BindingCacheConfig c;
        c.home_prefixes = {binding::HomeLinkPrefix{*net::Prefix::parse("2001:db8:1::/64"), std::nullopt}};
        c.duplicate_address_detection = false;
        return c;
    }

    // `scoped`: with DesiredParts, as mobilityd runs it; without, every
    // step reconciles the whole desired state.
    HomeAgent(uint32_t nodes, bool scoped)
        : cache(cache_config(), auth),
          exec(kernel, [this] { return desired_state(cache, plane); }, false,
               scoped ? home_agent_parts(cache, plane)
                      : DesiredParts{}) {
        plane.home_link_interface = "home0";
        plane.home_agent_addresses = {ha};
        for (uint32_t i = 0; i < nodes; ++i)
            plane.spd[numbered("2001:db8:1::", i + 0x100)] =
                testing::node_spd(numbered("2001:db8:1::", i + 0x100), ha, 0x10000 + 2 * i, true, {prefix_of(i)});
        exec.start([](bool, size_t) {});
        kernel.run();
        for (uint32_t i = 0; i < nodes; ++i) bind(i, numbered("2001:db8:a::", i + 1));
    }

    // One BU from `coa` for node i, through to the BA; whether it was accepted.
    bool bind(uint32_t i, const net::Ipv6Address& coa) {
        binding::ReceivedBindingUpdate r;
        r.source = coa;
        r.destination = ha;
        r.home_address_option = numbered("2001:db8:1::", i + 0x100);
        r.ipsec_protected = true;
        r.identity = "CN=mr";
        r.message.sequence_number = sequence++;
        r.message.acknowledge = true;
        r.message.home_registration = true;
        r.message.mobile_router = true;
        r.message.lifetime = 1000;
        r.message.options.push_back(mh::MobileNetworkPrefix{56, std::get<net::Ipv6Address>(prefix_of(i).address)});
        binding::Actions todo = cache.handle(r, now);
        bool accepted = false;
        while (!todo.empty()) {
            binding::Actions next;
            for (const auto& a : todo)
                if (const auto* s = std::get_if<binding::SendBindingAcknowledgement>(&a))
                    accepted = s->message.status == mh::BindingAckStatus::accepted;
            exec.execute(todo, [&](uint64_t op, bool ok) {
                auto more = cache.handle(binding::KernelOutcome{op, ok}, now);
                next.insert(next.end(), more.begin(), more.end());
            });
            while (!kernel.idle()) kernel.run();
            todo = std::move(next);
        }
        return accepted;
    }
};

void BM_HomeAgentHandoverStep(benchmark::State& state) {
    const auto nodes = static_cast<uint32_t>(state.range(0));
    HomeAgent h(nodes, state.range(1) != 0);
    const uint64_t ops_before = h.exec.stats().operations;
    uint64_t steps = 0;
    bool all_accepted = true;
    for (auto _ : state) {
        ++steps;
        h.now += binding::Duration{10};
        // Node 0 moves back and forth between two care-of addresses.
        all_accepted &= h.bind(0, numbered(steps % 2 ? "2001:db8:b::" : "2001:db8:a::", 1));
    }
    if (!all_accepted) state.SkipWithError("a handover was not accepted");
    if (h.exec.stats().failed_batches != 0) state.SkipWithError("a batch failed");
    if (!(marks::owned_only(h.kernel.objects()) == desired_state(h.cache, h.plane)))
        state.SkipWithError("the kernel differs from the whole desired state");
    state.counters["bindings"] = static_cast<double>(h.cache.binding_count());
    state.counters["kernel_objects"] = static_cast<double>(h.exec.installed().size());
    state.counters["ops_per_step"] =
        static_cast<double>(h.exec.stats().operations - ops_before) / static_cast<double>(steps);
    state.SetItemsProcessed(state.iterations());
}
// Args: bindings, scoped (1: mobilityd's way; 0: the whole state per step,
// shown for comparison up to 1 000: filling 10 000 that way takes minutes).
BENCHMARK(BM_HomeAgentHandoverStep)
    ->ArgsProduct({{1, 1000, 10000}, {1}})
    ->Args({1, 0})
    ->Args({1000, 0})
    ->ArgNames({"bindings", "scoped"})
    ->Unit(benchmark::kMicrosecond);

// The binding cache snapshot mobilityd writes after each burst of changes
// (encoded on the event loop, written by a background thread): its cost
// grows with the cache.
void BM_HomeAgentSnapshot(benchmark::State& state) {
    HomeAgent h(static_cast<uint32_t>(state.range(0)), true);
    size_t bytes = 0;
    for (auto _ : state) {
        const std::string text = binding::encode(binding::take_snapshot(h.cache, binding::SnapshotTime{h.now, 0}));
        bytes = text.size();
        benchmark::DoNotOptimize(text.data());
    }
    state.counters["bindings"] = static_cast<double>(h.cache.binding_count());
    state.counters["bytes"] = static_cast<double>(bytes);
}
// Only the copy of the cache (what stays on the event loop when a
// background thread encodes and writes it).
void BM_HomeAgentSnapshotCopy(benchmark::State& state) {
    HomeAgent h(static_cast<uint32_t>(state.range(0)), true);
    for (auto _ : state) {
        auto snapshot = binding::take_snapshot(h.cache, binding::SnapshotTime{h.now, 0});
        benchmark::DoNotOptimize(snapshot);
    }
    state.counters["bindings"] = static_cast<double>(h.cache.binding_count());
}
BENCHMARK(BM_HomeAgentSnapshotCopy)->Arg(1000)->Arg(10000)->ArgNames({"bindings"})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_HomeAgentSnapshot)->Arg(1000)->Arg(10000)->ArgNames({"bindings"})->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace nemokey::mobility::dataplane

BENCHMARK_MAIN();
