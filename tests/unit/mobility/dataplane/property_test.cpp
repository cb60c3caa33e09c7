// Property tests on the fake kernel: for random event sequences (MCoA,
// NEMO, handovers, lifetimes, kernel failures injected into random
// operations), after every step the kernel holds exactly the desired state
// computed from the core; a failed commit answers 130 and leaves no half
// state once the core's follow-up commit ran; after shutdown nothing of ours
// is left, and another owner's objects are never touched.
#include <gtest/gtest.h>

#include <set>
#include <utility>

#include <cerrno>
#include <functional>
#include <deque>
#include <random>
#include <unordered_map>

#include "tests/unit/mobility/binding/test_support.hpp"
#include "tests/unit/mobility/binding/allow_all_authorizer.hpp"
#include "mobility/core/dataplane/desired_state.hpp"
#include "mobility/core/dataplane/executor.hpp"
#include "mobility/kernel/fake/fake_kernel.hpp"
#include "mobility/kernel/marks.hpp"
#include "tests/unit/mobility/dataplane/node_spd.hpp"

namespace nemokey::mobility::dataplane {
namespace {

using namespace kernel;

// Our objects as the fake kernel holds them.
KernelObjects installed(const FakeKernel& k) { return marks::owned_only(k.objects()); }

// RFC 6275 sec. 10.4.5 in what the kernel holds, checked from the binding
// cache itself (not from desired_state): the clsact qdisc and catch-all
// drop on the tunnel, and exactly one pass filter per distinct (inner
// source, care-of address) of the bindings and prefixes, nothing else.
void expect_reverse_tunnel_check(const KernelObjects& k, const binding::BindingCache& bc) {
    EXPECT_TRUE(k.qdiscs.contains("nk-ha0"));
    std::set<std::pair<net::Prefix, net::Ipv6Address>> want, have;
    for (const auto& [hoa, e] : bc.entries()) {
        for (const auto& b : e.bindings) want.emplace(net::Prefix{net::IpAddress{hoa}, 128}, b.care_of_address);
        for (const auto& p : e.mobile_network_prefixes)
            want.emplace(p.normalized(), e.bindings.front().care_of_address);
    }
    size_t drops = 0;
    for (const auto& [id, f] : k.tunnel_filters) {
        EXPECT_EQ(id.device, "nk-ha0");
        if (f.action == FilterAction::drop) {
            ++drops;
            EXPECT_FALSE(f.inner_source || f.outer_source) << to_string(f);
            EXPECT_EQ(id.priority, marks::filter_priority_max);
            continue;
        }
        ASSERT_TRUE(f.inner_source && f.outer_source) << to_string(f);
        EXPECT_LT(id.priority, marks::filter_priority_max) << "a pass filter after the catch-all";
        EXPECT_TRUE(have.emplace(*f.inner_source, std::get<net::Ipv6Address>(*f.outer_source)).second)
            << "two filters with the same keys: " << to_string(f);
    }
    EXPECT_EQ(drops, 1u);
    EXPECT_EQ(have, want);
}
using dataplane::testing::node_spd;
using binding::testing::addr;
using binding::testing::prefix;
using mh::BindingAckStatus;

// Runs the core's kernel work through the KernelExecutor on the fake
// kernel, feeding outcomes back, with failures injected into random
// operations.
template <class Core, class Plane>
struct Loop {
    Loop(Core& c, const Plane& p, FakeKernel& k, std::mt19937& r, bool mobile)
        : core(c), plane(p), kernel(k), rng(r),
          mobile(mobile), executor(make()) {}
    // The home agent runs as mobilityd does: steps reconcile only their home
    // addresses' parts; the check after each step compares with the whole
    // desired state.
    std::unique_ptr<KernelExecutor> make() {
        DesiredParts parts;
        if constexpr (std::is_same_v<Core, binding::BindingCache>)
            parts = home_agent_parts(core, plane);
        return std::make_unique<KernelExecutor>(kernel, [this] { return desired_state(core, plane); }, mobile,
                                                std::move(parts));
    }
    Core& core;
    const Plane& plane;
    FakeKernel& kernel;
    std::mt19937& rng;
    bool mobile;
    std::unique_ptr<KernelExecutor> executor;
    unsigned failure_one_in = 6;
    bool dirty = false;   // the last outcome was a failure: the kernel may differ from the core
    std::shared_ptr<bool> injecting = std::make_shared<bool>(true);
    size_t injected = 0;
    std::unordered_map<binding::TimerKey, binding::TimePoint> timers;
    std::optional<uint16_t> last_bu;
    // Called for every Binding Refresh Request, before its batch runs.
    std::function<void(const binding::SendBindingRefreshRequest&)> on_brr;

    void drain() {
        while (!kernel.idle()) kernel.run();
    }

    void run(binding::Actions first, binding::TimePoint now) {
        std::deque<binding::Actions> steps;
        steps.push_back(std::move(first));
        while (!steps.empty()) {
            binding::Actions actions = std::move(steps.front());
            steps.pop_front();
            for (const auto& a : actions) {
                if (auto* t = std::get_if<binding::ArmTimer>(&a)) timers[t->key] = t->at;
                if (auto* t = std::get_if<binding::CancelTimer>(&a)) timers.erase(t->key);
                if (auto* s = std::get_if<binding::SendBindingUpdate>(&a)) last_bu = s->message.sequence_number;
                if (auto* s = std::get_if<binding::SendBindingRefreshRequest>(&a); s && on_brr) on_brr(*s);
            }
            if (rng() % failure_one_in == 0) {
                // The n-th operation of the next batch fails.
                auto count = std::make_shared<size_t>(0);
                const size_t victim = rng() % 4;
                kernel.fail_next([count, victim, on = injecting](const Operation&) {
                    return *on && (*count)++ == victim;
                }, ENOBUFS);
                ++injected;
            }
            executor->execute(actions, [&](uint64_t op, bool ok) {
                dirty = !ok;
                steps.push_back(core.handle(binding::KernelOutcome{op, ok}, now));
            });
            drain();
        }
    }

    void fire_due(binding::TimePoint now) {
        while (true) {
            auto due = timers.end();
            for (auto it = timers.begin(); it != timers.end(); ++it)
                if (it->second <= now && (due == timers.end() || it->second < due->second)) due = it;
            if (due == timers.end()) return;
            const binding::TimerKey key = due->first;
            timers.erase(due);
            run(core.handle(binding::TimerExpired{key}, now), now);
        }
    }

    // A restart: the executor forgets what it knew, reads the kernel and
    // reconciles (what a new process does). Returns the operations needed.
    size_t restart() {
        executor = make();
        return start();
    }

    // Start-up of the executor the loop runs with.
    size_t start() {
        size_t operations = 99999;
        executor->start([&](bool, size_t n) { operations = n; });
        drain();
        return operations;
    }

    // Restart: a new process with the same core state needs no operation
    // when the kernel holds it, and only the difference otherwise; then
    // shutdown leaves nothing of ours and another owner's route alone.
    void restart_and_shut_down(const RouteId& foreign) {
        *injecting = false;
        if (dirty) restart();
        EXPECT_EQ(restart(), 0u);
        const auto before = installed(kernel);
        if (!before.routes.empty()) {
            kernel.foreign().routes.erase(before.routes.begin()->first);   // lost behind our back
            EXPECT_EQ(restart(), 1u);
            EXPECT_EQ(installed(kernel), before);
        }
        EXPECT_TRUE(shut_down());
        EXPECT_TRUE(installed(kernel).empty());
        EXPECT_TRUE(kernel.objects().routes.contains(foreign)) << "another owner's route was touched";
    }

    bool shut_down() {
        *injecting = false;
        bool ok = false;
        executor->shutdown([&](bool good) { ok = good; });
        drain();
        return ok;
    }
};

// Another owner's route on the home link: never touched.
Route foreign_route() {
    Route r;
    r.id = RouteId{254, prefix("2001:db8:77::/64"), 1024};
    r.device = "home0";
    r.protocol = 4;
    return r;
}

class HomeAgentProperty : public ::testing::TestWithParam<unsigned> {};

TEST_P(HomeAgentProperty, KernelHoldsExactlyTheDesiredState) {
    std::mt19937 rng(GetParam());
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
    const auto ha = addr("2001:db8:1::1");
    const net::Ipv6Address hoas[] = {addr("2001:db8:1::100"), addr("2001:db8:1::200"), addr("2001:db8:1::300")};
    const net::Ipv6Address coas[] = {addr("2001:db8:a::1"), addr("2001:db8:b::1"), addr("2001:db8:c::1")};
    HomeAgentDataPlane plane;
    plane.home_link_interface = "home0";
    plane.home_agent_addresses = {ha};
    for (unsigned i = 0; i < 3; ++i) plane.spd[hoas[i]] = node_spd(hoas[i], ha, 0x10000 + 16 * i, true);
    binding::testing::AllowAllAuthorizer auth{{prefix("2001:db8:300::/56")}};
    binding::BindingCacheConfig c;
    c.home_prefixes = {binding::HomeLinkPrefix{prefix("2001:db8:1::/64"), std::nullopt}};
    c.duplicate_address_detection = pick(2) == 0;
    c.max_bindings = static_cast<size_t>(pick(5));
    c.binding_refresh_request_percent = static_cast<uint8_t>(50 + pick(50));
    binding::BindingCache bc(c, auth);
    FakeKernel kernel({"lo", "home0"});
    kernel.foreign().routes.emplace(foreign_route().id, foreign_route());
    Loop<binding::BindingCache, HomeAgentDataPlane> loop{bc, plane, kernel, rng, false};
    // RFC 6275 sec. 9.5.5 in the kernel: when a BRR leaves, the kernel
    // protects it with the node's signalling SA (main policy, MH type 0, ESP
    // transport) and adds the type 2 routing header (sub policy and route2
    // state at the care-of address of the entry's first binding, where its
    // tunnel route and BA go too).
    size_t brrs = 0;
    loop.on_brr = [&](const binding::SendBindingRefreshRequest& s) {
        ++brrs;
        if (loop.dirty) return;
        const KernelObjects k = installed(kernel);
        const Selector sel{net::Prefix{net::IpAddress{s.source}, 128}, net::Prefix{net::IpAddress{s.destination}, 128},
                           conf::ip_proto_mh, conf::mh_binding_refresh_request};
        auto main = k.policies.find(PolicyId{sel, PolicyDirection::out, PolicyType::main});
        ASSERT_NE(main, k.policies.end()) << "no outbound ESP policy for the BRR";
        ASSERT_EQ(main->second.templates.size(), 1u);
        EXPECT_EQ(main->second.templates[0].protocol, SaProtocol::esp);
        EXPECT_EQ(main->second.templates[0].mode, SaMode::transport);
        auto sub = k.policies.find(PolicyId{sel, PolicyDirection::out, PolicyType::sub});
        ASSERT_NE(sub, k.policies.end()) << "no type 2 routing header for the BRR";
        EXPECT_EQ(sub->second.templates.at(0).protocol, SaProtocol::route2);
        auto route2 = k.sas.find(SaId{net::IpAddress{s.source}, net::IpAddress{s.destination}, SaProtocol::route2, 0});
        ASSERT_NE(route2, k.sas.end());
        const auto* e = bc.find(s.destination);
        ASSERT_NE(e, nullptr);
        EXPECT_EQ(route2->second.care_of_address, net::IpAddress{e->bindings.front().care_of_address});
    };
    binding::TimePoint now{};
    uint16_t seq[3] = {0, 0, 0};
    *loop.injecting = false;
    // The tunnel device with its clsact qdisc and catch-all drop filter
    // (RFC 6275 sec. 10.4.5), the signalling objects of the home agent
    // address (wildcard hao state, two sub policies, the block policy) and
    // each node's BU, BA and BRR policies.
    ASSERT_EQ(loop.start(), 3u + 4u + 3u * 3u);
    *loop.injecting = true;

    for (int step = 0; step < 300; ++step) {
        const int h = pick(3);
        switch (pick(6)) {
            case 0:
                now += binding::Duration{pick(100000)};
                loop.fire_due(now);
                break;
            case 1:
                loop.run(bc.handle(binding::DuplicateAddressDetectionResult{hoas[h], pick(6) == 0}, now), now);
                break;
            default: {
                binding::ReceivedBindingUpdate r;
                r.source = coas[pick(3)];
                r.destination = ha;
                r.home_address_option = hoas[h];
                r.ipsec_protected = true;
                r.identity = "CN=node";
                seq[h] = static_cast<uint16_t>(seq[h] + 1 + (pick(8) == 0 ? 0 : 0));
                r.message.sequence_number = seq[h];
                r.message.home_registration = true;
                r.message.key_management_mobility_capability = pick(2);
                r.message.mobile_router = h == 2;   // one node is a mobile router
                r.message.lifetime = static_cast<uint16_t>(pick(5) ? 10 + pick(40) : 0);
                if (r.message.mobile_router && pick(2))
                    r.message.options.push_back(mh::MobileNetworkPrefix{56, addr("2001:db8:300::")});
                if (h == 1) {   // one node uses MCoA
                    const int bids = 1 + pick(2);
                    for (int b = 0; b < bids; ++b) {
                        mh::BindingIdentifier o;
                        o.binding_id = static_cast<uint16_t>(1 + pick(3));
                        o.care_of_address = net::IpAddress{coas[pick(3)]};
                        bool dup = false;
                        for (const auto* x : mh::find_options<mh::BindingIdentifier>(r.message.options))
                            dup = dup || x->binding_id == o.binding_id;
                        if (!dup) r.message.options.push_back(o);
                    }
                }
                loop.run(bc.handle(r, now), now);
            }
        }
        SCOPED_TRACE(::testing::Message() << "seed " << GetParam() << " step " << step);
        if (!loop.dirty) {
            ASSERT_EQ(installed(kernel), desired_state(bc, plane)) << to_string(installed(kernel)) << "\n-- desired --\n" << to_string(desired_state(bc, plane));
            expect_reverse_tunnel_check(installed(kernel), bc);
        }
    }
    EXPECT_GT(loop.executor->stats().scoped_batches, 0u) << "no step ran scoped";
    RecordProperty("binding_refresh_requests_sent", static_cast<int>(brrs));
    loop.restart_and_shut_down(foreign_route().id);
}

INSTANTIATE_TEST_SUITE_P(Seeds, HomeAgentProperty, ::testing::Range(1u, 101u));

class MobileRouterProperty : public ::testing::TestWithParam<unsigned> {};

TEST_P(MobileRouterProperty, KernelHoldsExactlyTheDesiredState) {
    std::mt19937 rng(GetParam());
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
    const auto ha = addr("2001:db8:1::1");
    const auto hoa = addr("2001:db8:1::300");
    const net::Ipv6Address coas[] = {addr("2001:db8:a::1"), addr("2001:db8:b::1"), addr("2001:db8:c::1")};
    binding::BindingUpdateListConfig c;
    c.home_address = hoa;
    c.home_agent_address = ha;
    c.mobile_router = true;
    c.mobile_network_prefixes = {prefix("2001:db8:300::/56")};
    c.key_management_mobility = pick(2);
    c.max_update_rate = 0;
    binding::BindingUpdateList bul(c);
    MobileDataPlane plane;
    plane.mobile_network_prefixes = c.mobile_network_prefixes;
    plane.spd = node_spd(hoa, ha, 0x20000, false);
    FakeKernel kernel({"lo", "home0"});
    kernel.foreign().routes.emplace(foreign_route().id, foreign_route());
    Loop<binding::BindingUpdateList, MobileDataPlane> loop{bul, plane, kernel, rng, true};
    binding::TimePoint now{};
    auto run = [&](binding::Actions out) { loop.run(std::move(out), now); };
    *loop.injecting = false;
    ASSERT_EQ(loop.start(), 2u);   // the BU and BA policies: the first BU needs them
    *loop.injecting = true;

    for (int step = 0; step < 300; ++step) {
        switch (pick(6)) {
            case 0:
                now += binding::Duration{pick(60000)};
                loop.fire_due(now);
                break;
            case 1:
                run(bul.handle(binding::MovedToCareOfAddress{coas[pick(3)], 0}, now));
                break;
            case 2:
                if (pick(4) == 0) run(bul.handle(binding::ReturnedHome{}, now));
                break;
            default: {
                if (!loop.last_bu) break;
                mh::BindingAcknowledgement ba;
                ba.status = pick(8) == 0 ? BindingAckStatus::reason_unspecified : BindingAckStatus::accepted;
                ba.sequence_number = *loop.last_bu;
                ba.lifetime = static_cast<uint16_t>(20 + pick(40));
                ba.mobile_router = true;
                ba.key_management_mobility_capability = pick(2);
                run(bul.handle(binding::BindingAcknowledgementReceived{ha, ba, true}, now));
            }
        }
        SCOPED_TRACE(::testing::Message() << "seed " << GetParam() << " step " << step);
        if (!loop.dirty) {
            ASSERT_EQ(installed(kernel), desired_state(bul, plane)) << to_string(installed(kernel)) << "\n-- desired --\n" << to_string(desired_state(bul, plane));
        }
        if (bul.home_agent_unusable()) break;
    }
    loop.restart_and_shut_down(foreign_route().id);
}

INSTANTIATE_TEST_SUITE_P(Seeds, MobileRouterProperty, ::testing::Range(1u, 101u));

}  // namespace
}  // namespace nemokey::mobility::dataplane
