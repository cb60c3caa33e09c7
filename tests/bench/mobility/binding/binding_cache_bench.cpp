// Binding cache figures: BU -> BA processing rate, memory per binding and
// lookup time at 100 000 and 1 000 000 bindings.
//
//   binding_cache_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <random>

#include "mobility/core/binding/binding_cache.hpp"
#include "mobility/core/binding/binding_update_list.hpp"

// Counting allocator: live heap bytes (usable size of each block) handed out
// by operator new. Replacing the global operators makes GCC see free() on
// "new" memory; that is the point here.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
static std::atomic<int64_t> g_live_bytes{0};

void* operator new(size_t n) {
    void* p = std::malloc(n == 0 ? 1 : n);
    if (!p) throw std::bad_alloc();
    g_live_bytes.fetch_add(static_cast<int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
    return p;
}
void operator delete(void* p) noexcept {
    if (!p) return;
    g_live_bytes.fetch_sub(static_cast<int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
    std::free(p);
}
void operator delete(void* p, size_t) noexcept { operator delete(p); }

namespace nemokey::mobility::binding {
namespace {

class AllowAll : public Authorizer {
public:
    AuthorizationAnswer authorize(const AuthorizationRequest&) override {
        return {AuthorizationVerdict::authorized, {}};
    }
};

Ipv6Address home_address(uint32_t i) {
    Ipv6Address a = *Ipv6Address::parse("2001:db8:1::");
    a.bytes[12] = static_cast<uint8_t>(i >> 24);
    a.bytes[13] = static_cast<uint8_t>(i >> 16);
    a.bytes[14] = static_cast<uint8_t>(i >> 8);
    a.bytes[15] = static_cast<uint8_t>(i);
    return a;
}

Ipv6Address care_of_address(uint32_t i) {
    Ipv6Address a = *Ipv6Address::parse("2001:db8:a000::");
    a.bytes[12] = static_cast<uint8_t>(i >> 24);
    a.bytes[13] = static_cast<uint8_t>(i >> 16);
    a.bytes[14] = static_cast<uint8_t>(i >> 8);
    a.bytes[15] = static_cast<uint8_t>(i);
    return a;
}

BindingCacheConfig config() {
    BindingCacheConfig c;
    c.home_prefixes = {HomeLinkPrefix{*net::Prefix::parse("2001:db8:1::/64"), std::nullopt}};
    c.duplicate_address_detection = false;   // answered by the daemon; not part of the rate
    return c;
}

ReceivedBindingUpdate binding_update(uint32_t i, uint16_t seq) {
    ReceivedBindingUpdate r;
    r.source = care_of_address(i);
    r.destination = *Ipv6Address::parse("2001:db8:1::1");
    r.home_address_option = home_address(i);
    r.ipsec_protected = true;
    r.identity = "CN=mn";
    r.message.sequence_number = seq;
    r.message.acknowledge = true;
    r.message.home_registration = true;
    r.message.key_management_mobility_capability = true;
    r.message.lifetime = 150;
    r.message.options.push_back(mh::AlternateCareOfAddress{care_of_address(i)});
    return r;
}

// The daemon's part: every CommitKernelState succeeds at once.
void confirm(BindingCache& bc, Actions& out, TimePoint now) {
    const size_t n = out.size();
    for (size_t i = 0; i < n; ++i)
        if (const auto* c = std::get_if<CommitKernelState>(&out[i])) bc.handle(KernelOutcome{c->operation, true}, now, out);
}

void fill(BindingCache& bc, uint32_t n) {
    Actions out;
    const TimePoint now{};
    for (uint32_t i = 0; i < n; ++i) {
        out.clear();
        bc.handle(binding_update(i, 1), now, out);
        confirm(bc, out, now);
    }
}

// Refresh BUs for existing bindings, the steady-state load of a home agent.
void BM_BindingUpdateToAcknowledgement(benchmark::State& state) {
    AllowAll auth;
    BindingCache bc(config(), auth);
    const auto n = static_cast<uint32_t>(state.range(0));
    fill(bc, n);
    std::vector<HomeAgentEvent> events;
    for (uint32_t i = 0; i < 4096; ++i) events.emplace_back(binding_update((i * 2654435761u) % n, 2));
    Actions out;
    uint16_t seq = 2;
    size_t k = 0;
    TimePoint now{};
    for (auto _ : state) {
        auto& r = std::get<ReceivedBindingUpdate>(events[k]);
        r.message.sequence_number = seq;
        out.clear();
        bc.handle(events[k], now, out);
        benchmark::DoNotOptimize(out.data());
        if (++k == events.size()) {
            k = 0;
            ++seq;
        }
    }
    if (std::get<SendBindingAcknowledgement>(out.back()).message.status != mh::BindingAckStatus::accepted)
        state.SkipWithError("binding update not accepted");
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BindingUpdateToAcknowledgement)->Arg(10000)->Arg(100000);

// Handover: a BU from a new care-of address changes kernel state, so the BA
// waits for the outcome of the commit (CommitKernelState -> KernelOutcome).
void BM_HandoverWithKernelOutcome(benchmark::State& state) {
    AllowAll auth;
    BindingCache bc(config(), auth);
    const auto n = static_cast<uint32_t>(state.range(0));
    fill(bc, n);
    Actions out;
    uint16_t seq = 2;
    uint32_t k = 0;
    TimePoint now{};
    std::vector<HomeAgentEvent> moves;
    for (uint32_t i = 0; i < 4096; ++i) {
        auto r = binding_update((i * 2654435761u) % n, 2);
        r.source = care_of_address(n + i);
        r.message.options = {mh::AlternateCareOfAddress{r.source}};
        moves.emplace_back(r);
    }
    for (auto _ : state) {
        auto& r = std::get<ReceivedBindingUpdate>(moves[k]);
        r.message.sequence_number = seq;
        out.clear();
        bc.handle(moves[k], now, out);
        confirm(bc, out, now);
        benchmark::DoNotOptimize(out.data());
        if (++k == moves.size()) {
            k = 0;
            ++seq;
            // Back and forth between two care-of addresses per home address.
            for (auto& m : moves) {
                auto& b = std::get<ReceivedBindingUpdate>(m);
                b.source.bytes[0] ^= 0x01;
                b.message.options = {mh::AlternateCareOfAddress{b.source}};
            }
        }
    }
    if (std::get<SendBindingAcknowledgement>(out.back()).message.status != mh::BindingAckStatus::accepted)
        state.SkipWithError("handover not accepted");
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HandoverWithKernelOutcome)->Arg(10000)->Arg(100000);

// First registration and deregistration: the entry is created and erased each time.
void BM_RegisterDeregister(benchmark::State& state) {
    AllowAll auth;
    BindingCache bc(config(), auth);
    fill(bc, 100000);
    Actions out;
    uint16_t seq = 1;
    TimePoint now{};
    HomeAgentEvent reg = binding_update(200000, 0);
    HomeAgentEvent dereg = binding_update(200000, 0);
    std::get<ReceivedBindingUpdate>(dereg).message.lifetime = 0;
    for (auto _ : state) {
        std::get<ReceivedBindingUpdate>(reg).message.sequence_number = seq++;
        out.clear();
        bc.handle(reg, now, out);
        confirm(bc, out, now);
        std::get<ReceivedBindingUpdate>(dereg).message.sequence_number = seq++;
        out.clear();
        bc.handle(dereg, now, out);
        confirm(bc, out, now);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations() * 2);
}
BENCHMARK(BM_RegisterDeregister);

// Memory per binding (counting allocator and mallinfo2, both including the
// hash index) and lookup time at the given size.
void BM_CacheSizeAndLookup(benchmark::State& state) {
    AllowAll auth;
    const auto n = static_cast<uint32_t>(state.range(0));
    const int64_t live_before = g_live_bytes.load();
    const size_t arena_before = mallinfo2().uordblks;
    auto bc = std::make_unique<BindingCache>(config(), auth);
    fill(*bc, n);
    const int64_t live_after = g_live_bytes.load();
    const size_t arena_after = mallinfo2().uordblks;
    if (bc->binding_count() != n) state.SkipWithError("not every binding was accepted");

    std::mt19937 rng(7);
    std::vector<Ipv6Address> keys;
    for (int i = 0; i < 8192; ++i) keys.push_back(home_address(rng() % n));
    size_t k = 0;
    for (auto _ : state) {
        const BindingCacheEntry* e = bc->find(keys[k]);
        benchmark::DoNotOptimize(e);
        k = (k + 1) & 8191;
    }
    state.counters["bytes_per_binding"] =
        static_cast<double>(live_after - live_before) / static_cast<double>(n);
    state.counters["malloc_bytes_per_binding"] =
        static_cast<double>(arena_after - arena_before) / static_cast<double>(n);
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CacheSizeAndLookup)->Arg(100000)->Arg(1000000)->Unit(benchmark::kNanosecond);

// Mobile node side for comparison: one BU/BA round in the binding update list.
void BM_BindingUpdateListRefresh(benchmark::State& state) {
    BindingUpdateListConfig c;
    c.home_address = home_address(1);
    c.home_agent_address = *Ipv6Address::parse("2001:db8:1::1");
    BindingUpdateList bul(c);
    TimePoint now{};
    for (const auto& a : bul.handle(MovedToCareOfAddress{care_of_address(1)}, now))
        if (const auto* c = std::get_if<CommitKernelState>(&a)) bul.handle(KernelOutcome{c->operation, true}, now);
    mh::BindingAcknowledgement first;
    first.sequence_number = bul.sequence_number();
    first.lifetime = 150;
    bul.handle(BindingAcknowledgementReceived{c.home_agent_address, first, true}, now);
    if (!bul.entry(0) || bul.entry(0)->state != BulState::bound) state.SkipWithError("not bound");
    for (auto _ : state) {
        now += Duration{400};   // stays under MAX_UPDATE_RATE (3 BUs per second)
        auto sent = bul.handle(BindingRefreshRequestReceived{c.home_agent_address, {}}, now);
        mh::BindingAcknowledgement ba;
        ba.sequence_number = bul.sequence_number();
        ba.lifetime = 150;
        auto acked = bul.handle(BindingAcknowledgementReceived{c.home_agent_address, ba, true}, now);
        benchmark::DoNotOptimize(acked.data());
        benchmark::DoNotOptimize(sent.data());
    }
    if (bul.entry(0)->state != BulState::bound) state.SkipWithError("refresh not acknowledged");
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BindingUpdateListRefresh);

}  // namespace
}  // namespace nemokey::mobility::binding

BENCHMARK_MAIN();
