// Life cycle of the binding state machines: removal of one home address
// (reload) and shutdown, on the home agent and on the mobile node / router.
#include <gtest/gtest.h>

#include <algorithm>

#include "mobility/core/binding/binding_cache.hpp"
#include "mobility/core/binding/binding_update_list.hpp"
#include "tests/unit/mobility/binding/test_support.hpp"

namespace nemokey::mobility::binding {
namespace {

using namespace testing;
using mh::BindingAckStatus;
using std::chrono::seconds;

class AllowAll : public Authorizer {
public:
    AuthorizationAnswer authorize(const AuthorizationRequest&) override {
        AuthorizationAnswer a;
        a.verdict = AuthorizationVerdict::authorized;
        return a;
    }
};

class CacheLifecycleTest : public ::testing::Test {
protected:
    Ipv6Address ha = addr("2001:db8:1::1");
    Ipv6Address mn = addr("2001:db8:1::10");
    Ipv6Address mcoa = addr("2001:db8:1::20");
    Ipv6Address mr = addr("2001:db8:1::100");
    Ipv6Address coa1 = addr("2001:db8:a::10");
    Ipv6Address coa2 = addr("2001:db8:b::10");
    AllowAll auth;
    VirtualClock clock{at_ms(1000)};

    BindingCacheConfig config(bool dad = false) {
        BindingCacheConfig c;
        c.home_prefixes = {HomeLinkPrefix{prefix("2001:db8:1::/64"), std::nullopt}};
        c.duplicate_address_detection = dad;
        return c;
    }

    ReceivedBindingUpdate bu(const Ipv6Address& hoa, uint16_t seq, const Ipv6Address& coa) {
        ReceivedBindingUpdate r;
        r.source = coa;
        r.destination = ha;
        r.home_address_option = hoa;
        r.ipsec_protected = true;
        r.identity = "node";
        r.message.sequence_number = seq;
        r.message.acknowledge = true;
        r.message.home_registration = true;
        r.message.lifetime = 150;
        return r;
    }

    ReceivedBindingUpdate router_bu(uint16_t seq) {
        auto r = bu(mr, seq, coa1);
        r.message.mobile_router = true;
        r.message.options = {mh::MobileNetworkPrefix{64, addr("2001:db8:1:100::")}};
        return r;
    }

    ReceivedBindingUpdate mcoa_bu(uint16_t seq) {
        auto r = bu(mcoa, seq, coa1);
        mh::BindingIdentifier b1, b2;
        b1.binding_id = 1;
        b1.care_of_address = net::IpAddress{coa1};
        b2.binding_id = 2;
        b2.care_of_address = net::IpAddress{coa2};
        r.message.options = {b1, b2};
        return r;
    }

    Actions send(BindingCache& bc, const ReceivedBindingUpdate& r) {
        return settle(bc, bc.handle(r, clock.now()), clock.now());
    }

    void populate(BindingCache& bc) {
        send(bc, bu(mn, 1, coa1));
        send(bc, mcoa_bu(1));
        send(bc, router_bu(1));
        ASSERT_EQ(bc.size(), 3u);
        ASSERT_EQ(bc.binding_count(), 4u);
    }
};

TEST_F(CacheLifecycleTest, ShutdownRemovesEveryBindingAndRoute) {
    BindingCache bc(config(), auth);
    populate(bc);
    auto out = bc.shutdown();
    EXPECT_EQ(bc.size(), 0u);
    EXPECT_EQ(bc.binding_count(), 0u);
    EXPECT_TRUE(bc.prefix_owners().empty());
    EXPECT_EQ(count_of<RemoveBinding>(out), 4u);
    EXPECT_EQ(count_of<CancelTimer>(out), 4u);
    for (const auto& c : all_of<CancelTimer>(out)) EXPECT_EQ(c.key.kind, TimerKind::bc_lifetime);
    const auto routes = only<RemoveRoutes>(out);
    EXPECT_EQ(routes.home_address, mr);
    EXPECT_EQ(routes.prefixes, std::vector<net::Prefix>{prefix("2001:db8:1:100::/64")});
    // One commit per home address, in address order, after its removals.
    const auto commits = all_of<CommitKernelState>(out);
    ASSERT_EQ(commits.size(), 3u);
    EXPECT_EQ(commits[0].home_address, mn);
    EXPECT_EQ(commits[1].home_address, mcoa);
    EXPECT_EQ(commits[2].home_address, mr);
    // Each home address's removals come before its commit.
    for (size_t i = 0; i < out.size(); ++i) {
        const auto* r = std::get_if<RemoveBinding>(&out[i]);
        if (!r) continue;
        size_t j = i;
        while (j < out.size() && !std::holds_alternative<CommitKernelState>(out[j])) ++j;
        ASSERT_LT(j, out.size());
        EXPECT_EQ(std::get<CommitKernelState>(out[j]).home_address, r->home_address);
    }
    EXPECT_EQ(count_of<SendBindingAcknowledgement>(out), 0u);
    // A second shutdown has nothing left to do.
    EXPECT_TRUE(bc.shutdown().empty());
}

TEST_F(CacheLifecycleTest, ShutdownForgetsDadAndHeldAcknowledgements) {
    BindingCache bc(config(true), auth);
    auto dad = bc.handle(bu(mn, 1, coa1), clock.now());
    ASSERT_EQ(count_of<PerformDuplicateAddressDetection>(dad), 1u);
    ASSERT_EQ(bc.pending_dad(), 1u);
    BindingCache held(config(), auth);
    auto waiting = held.handle(bu(mn, 1, coa1), clock.now());
    const auto op = only<CommitKernelState>(waiting).operation;

    bc.shutdown();
    EXPECT_EQ(bc.pending_dad(), 0u);
    EXPECT_TRUE(bc.handle(DuplicateAddressDetectionResult{mn, false}, clock.now()).empty());

    auto down = held.shutdown();
    EXPECT_EQ(only<RemoveBinding>(down).home_address, mn);
    // The held BA is not sent.
    EXPECT_EQ(count_of<SendBindingAcknowledgement>(held.handle(KernelOutcome{op, true}, clock.now())), 0u);
    EXPECT_EQ(held.size(), 0u);
}

TEST_F(CacheLifecycleTest, RemoveHomeAddressLeavesTheOthersAlone) {
    BindingCache bc(config(), auth);
    populate(bc);
    const BindingCacheEntry mn_before = *bc.find(mn);
    const BindingCacheEntry mcoa_before = *bc.find(mcoa);
    auto out = bc.remove_home_address(mr);
    EXPECT_EQ(bc.find(mr), nullptr);
    EXPECT_EQ(*bc.find(mn), mn_before);
    EXPECT_EQ(*bc.find(mcoa), mcoa_before);
    EXPECT_EQ(bc.binding_count(), 3u);
    EXPECT_TRUE(bc.prefix_owners().empty());
    EXPECT_EQ(only<RemoveBinding>(out).care_of_address, coa1);
    EXPECT_EQ(only<RemoveRoutes>(out).home_address, mr);
    EXPECT_EQ(only<CancelTimer>(out).key, (TimerKey{TimerKind::bc_lifetime, mr, 0}));
    EXPECT_EQ(only<CommitKernelState>(out).home_address, mr);
    // Its order: routes, timer, binding, then the commit.
    EXPECT_LT(index_of<RemoveRoutes>(out), index_of<RemoveBinding>(out));
    EXPECT_EQ(index_of<CommitKernelState>(out), out.size() - 1);
    // Its prefix is free for another router now.
    auto other = router_bu(1);
    other.home_address_option = addr("2001:db8:1::200");
    EXPECT_EQ(only<SendBindingAcknowledgement>(send(bc, other)).message.status, BindingAckStatus::accepted);

    EXPECT_TRUE(bc.remove_home_address(addr("2001:db8:1::99")).empty());
}

TEST_F(CacheLifecycleTest, RemovalDuringACommitNeitherAnswersNorRestores) {
    BindingCache bc(config(), auth);
    populate(bc);
    // A handover of mn waits for its kernel commit with the BA held.
    auto moving = bc.handle(bu(mn, 2, coa2), clock.now());
    const auto op = only<CommitKernelState>(moving).operation;
    auto out = bc.remove_home_address(mn);
    EXPECT_EQ(only<RemoveBinding>(out).care_of_address, coa2);
    // The kernel refuses the handover: the old entry (at coa1) must not return.
    auto failed = bc.handle(KernelOutcome{op, false}, clock.now());
    EXPECT_EQ(count_of<SendBindingAcknowledgement>(failed), 0u);
    EXPECT_EQ(count_of<InstallBinding>(failed), 0u);
    EXPECT_EQ(bc.find(mn), nullptr);
    EXPECT_EQ(bc.binding_count(), 3u);
    // The node's retransmission is a first registration again.
    auto again = send(bc, bu(mn, 3, coa2));
    EXPECT_EQ(only<SendBindingAcknowledgement>(again).message.status, BindingAckStatus::accepted);
    EXPECT_EQ(count_of<InstallBinding>(again), 1u);
}

// ---- Mobile node / mobile router ----

class ListLifecycleTest : public ::testing::Test {
protected:
    Ipv6Address hoa = addr("2001:db8:1::100");
    Ipv6Address ha = addr("2001:db8:1::1");
    Ipv6Address coa1 = addr("2001:db8:a::10");
    Ipv6Address coa2 = addr("2001:db8:b::10");
    VirtualClock clock{at_ms(1000)};

    BindingUpdateListConfig config() {
        BindingUpdateListConfig c;
        c.home_address = hoa;
        c.home_agent_address = ha;
        c.mobile_router = true;
        c.mobile_network_prefixes = {prefix("2001:db8:1:100::/64")};
        c.multiple_care_of_addresses = true;
        c.max_update_rate = 0;
        return c;
    }

    Actions handle(BindingUpdateList& bul, const MobileNodeEvent& e) {
        return settle(bul, bul.handle(e, clock.now()), clock.now());
    }
};

TEST_F(ListLifecycleTest, ShutdownRemovesWhatWasInstalledAndCancelsEveryTimer) {
    BindingUpdateList bul(config());
    auto sent = handle(bul, MovedToCareOfAddress{coa1, 1});
    mh::BindingAcknowledgement ba;
    ba.status = BindingAckStatus::accepted;
    ba.sequence_number = only<SendBindingUpdate>(sent).message.sequence_number;
    ba.lifetime = 150;
    ba.mobile_router = true;
    auto bound = handle(bul, BindingAcknowledgementReceived{ha, ba, true});
    ASSERT_EQ(bul.entry(1)->state, BulState::bound);
    handle(bul, MovedToCareOfAddress{coa2, 2});   // 2 waits for its BA
    ASSERT_EQ(bul.outstanding_binding_updates(), 1u);

    auto out = bul.shutdown();
    EXPECT_TRUE(bul.entries().empty());
    EXPECT_EQ(bul.outstanding_binding_updates(), 0u);
    EXPECT_EQ(count_of<SendBindingUpdate>(out), 0u);
    const auto removed = only<RemoveBinding>(out);
    EXPECT_EQ(removed.care_of_address, coa1);
    EXPECT_EQ(removed.binding_id, 1);
    EXPECT_EQ(only<RemoveRoutes>(out).prefixes, config().mobile_network_prefixes);
    // Commits for what went: the tunnel, and each binding's care-of address state.
    EXPECT_FALSE(all_of<CommitKernelState>(out).empty());
    for (const auto& c : all_of<CommitKernelState>(out)) EXPECT_EQ(c.home_address, hoa);
    EXPECT_LT(index_of<RemoveBinding>(out), out.size());
    std::vector<TimerKind> cancelled;
    for (const auto& c : all_of<CancelTimer>(out)) cancelled.push_back(c.key.kind);
    std::sort(cancelled.begin(), cancelled.end());
    EXPECT_EQ(cancelled, (std::vector<TimerKind>{TimerKind::bul_retransmission, TimerKind::bul_refresh,
                                                 TimerKind::bul_lifetime}));
    // A late BA finds nothing outstanding.
    ba.sequence_number = static_cast<uint16_t>(ba.sequence_number + 1);
    auto late = bul.handle(BindingAcknowledgementReceived{ha, ba, true}, clock.now());
    EXPECT_EQ(count_of<DropMessage>(late), 1u);
    EXPECT_TRUE(bul.shutdown().empty());
}

TEST_F(ListLifecycleTest, ShutdownCancelsAKernelRetry) {
    BindingUpdateList bul(config());
    auto sent = handle(bul, MovedToCareOfAddress{coa1, 1});
    mh::BindingAcknowledgement ba;
    ba.status = BindingAckStatus::accepted;
    ba.sequence_number = only<SendBindingUpdate>(sent).message.sequence_number;
    ba.lifetime = 150;
    ba.mobile_router = true;
    auto bound = bul.handle(BindingAcknowledgementReceived{ha, ba, true}, clock.now());
    // The kernel refused the local binding: a retry is armed.
    auto failed = bul.handle(KernelOutcome{only<CommitKernelState>(bound).operation, false}, clock.now());
    ASSERT_EQ(only<ArmTimer>(failed).key.kind, TimerKind::bul_kernel_retry);
    auto out = bul.shutdown();
    bool retry_cancelled = false;
    for (const auto& c : all_of<CancelTimer>(out)) retry_cancelled |= c.key.kind == TimerKind::bul_kernel_retry;
    EXPECT_TRUE(retry_cancelled);
}

}  // namespace
}  // namespace nemokey::mobility::binding
