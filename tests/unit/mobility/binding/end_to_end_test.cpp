// A mobile node's binding update list talking to a home agent's binding
// cache through a tiny in-memory "daemon": messages are handed across, timers
// kept in a table, the clock virtual. Checks that the two machines agree.
#include <gtest/gtest.h>

#include <deque>
#include <unordered_map>

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
    std::vector<net::Prefix> configured;
    AuthorizationAnswer authorize(const AuthorizationRequest&) override {
        return {AuthorizationVerdict::authorized, configured};
    }
};

class Link : public ::testing::Test {
protected:
    Ipv6Address ha = addr("2001:db8:1::1");
    Ipv6Address hoa = addr("2001:db8:1::100");
    Ipv6Address coa1 = addr("2001:db8:a::10");
    Ipv6Address coa2 = addr("2001:db8:b::10");
    AllowAll auth;
    VirtualClock clock;
    std::unordered_map<TimerKey, TimePoint> mn_timers, ha_timers;
    Actions mn_log, ha_log;      // everything either side asked for
    bool drop_next_ba = false;
    bool dad_duplicate = false;
    bool drop_brrs = false;      // Binding Refresh Requests lost on the way
    int brrs_delivered = 0;      // Binding Refresh Requests the home agent sent

    BindingUpdateListConfig mn_config() {
        BindingUpdateListConfig c;
        c.home_address = hoa;
        c.home_agent_address = ha;
        c.requested_lifetime = seconds{120};
        c.key_management_mobility = true;
        return c;
    }
    BindingCacheConfig ha_config() {
        BindingCacheConfig c;
        c.home_prefixes = {HomeLinkPrefix{prefix("2001:db8:1::/64"), std::nullopt}};
        return c;
    }

    // Runs both sides' actions until nothing is left to deliver now.
    void run(BindingUpdateList& mn, BindingCache& bc, Actions first, bool from_mobile_node = true) {
        std::deque<std::pair<bool, Action>> queue;   // (from mobile node?, action)
        for (auto& a : first) queue.emplace_back(from_mobile_node, std::move(a));
        while (!queue.empty()) {
            auto [mine, action] = std::move(queue.front());
            queue.pop_front();
            (mine ? mn_log : ha_log).push_back(action);
            auto& timers = mine ? mn_timers : ha_timers;
            if (auto* t = std::get_if<ArmTimer>(&action)) timers[t->key] = t->at;
            if (auto* t = std::get_if<CancelTimer>(&action)) timers.erase(t->key);
            // The daemon's kernel work succeeds at once.
            if (auto* c = std::get_if<CommitKernelState>(&action)) {
                const Actions next = mine ? mn.handle(KernelOutcome{c->operation, true}, clock.now())
                                          : bc.handle(KernelOutcome{c->operation, true}, clock.now());
                for (auto& a : next) queue.emplace_back(mine, a);
            }
            if (auto* g = std::get_if<Migrate>(&action); g && g->operation != 0) {
                const Actions next = mine ? mn.handle(KernelOutcome{g->operation, true}, clock.now())
                                          : bc.handle(KernelOutcome{g->operation, true}, clock.now());
                for (auto& a : next) queue.emplace_back(mine, a);
            }
            if (auto* s = std::get_if<SendBindingUpdate>(&action)) {
                ReceivedBindingUpdate r{s->source, s->destination, s->home_address_option, true,
                                        "CN=mn", s->message};
                for (auto& a : bc.handle(r, clock.now())) queue.emplace_back(false, std::move(a));
            }
            if (auto* d = std::get_if<PerformDuplicateAddressDetection>(&action)) {
                for (auto& a : bc.handle(DuplicateAddressDetectionResult{d->home_address, dad_duplicate},
                                         clock.now()))
                    queue.emplace_back(false, std::move(a));
            }
            if (auto* s = std::get_if<SendBindingRefreshRequest>(&action)) {
                ++brrs_delivered;
                if (drop_brrs) continue;
                for (auto& a : mn.handle(BindingRefreshRequestReceived{s->source, s->message}, clock.now()))
                    queue.emplace_back(true, std::move(a));
            }
            if (auto* s = std::get_if<SendBindingAcknowledgement>(&action)) {
                if (drop_next_ba) {
                    drop_next_ba = false;
                    continue;
                }
                for (auto& a : mn.handle(BindingAcknowledgementReceived{s->source, s->message, true}, clock.now()))
                    queue.emplace_back(true, std::move(a));
            }
        }
    }

    // Advances the clock to the earliest timer of either side and fires it.
    void tick(BindingUpdateList& mn, BindingCache& bc) {
        std::optional<std::pair<bool, TimerKey>> next;
        TimePoint when = TimePoint::max();
        for (auto& [k, t] : mn_timers)
            if (t < when) { when = t; next = {true, k}; }
        for (auto& [k, t] : ha_timers)
            if (t < when) { when = t; next = {false, k}; }
        ASSERT_TRUE(next);
        clock.set(when);
        if (next->first) {
            mn_timers.erase(next->second);
            run(mn, bc, mn.handle(TimerExpired{next->second}, clock.now()));
        } else {
            ha_timers.erase(next->second);
            run(mn, bc, bc.handle(TimerExpired{next->second}, clock.now()), false);
        }
    }
};

TEST_F(Link, RegisterMoveRefreshReturnHome) {
    BindingUpdateList mn(mn_config());
    BindingCache bc(ha_config(), auth);
    run(mn, bc, mn.handle(MovedToCareOfAddress{coa1}, clock.now()));
    ASSERT_EQ(mn.entry(0)->state, BulState::bound);
    ASSERT_NE(bc.find(hoa), nullptr);
    EXPECT_EQ(bc.find(hoa)->bindings[0].care_of_address, coa1);
    EXPECT_TRUE(mn.entry(0)->key_management_mobility_granted);

    clock.advance(seconds{10});
    mn_log.clear();
    ha_log.clear();
    run(mn, bc, mn.handle(MovedToCareOfAddress{coa2}, clock.now()));
    EXPECT_EQ(bc.find(hoa)->bindings[0].care_of_address, coa2);
    // Both ends move their SAs, the IKE SA too (K granted).
    EXPECT_EQ(only<Migrate>(mn_log).new_care_of_address, coa2);
    EXPECT_EQ(only<Migrate>(ha_log).new_care_of_address, coa2);
    EXPECT_TRUE(only<Migrate>(mn_log).move_ike_sa);
    EXPECT_TRUE(only<Migrate>(ha_log).move_ike_sa);

    // Ten refresh cycles: the binding never lapses at the home agent.
    for (int i = 0; i < 40; ++i) tick(mn, bc);
    EXPECT_EQ(mn.entry(0)->state, BulState::bound);
    ASSERT_NE(bc.find(hoa), nullptr);
    EXPECT_GT(bc.find(hoa)->bindings[0].expires_at, clock.now());

    run(mn, bc, mn.handle(ReturnedHome{}, clock.now()));
    EXPECT_EQ(bc.find(hoa), nullptr);
    EXPECT_TRUE(mn.entries().empty());
    EXPECT_TRUE(mn_timers.empty());
    EXPECT_TRUE(ha_timers.empty());
}

TEST_F(Link, LostAcknowledgementIsRecoveredByRetransmission) {
    BindingUpdateList mn(mn_config());
    BindingCache bc(ha_config(), auth);
    drop_next_ba = true;
    run(mn, bc, mn.handle(MovedToCareOfAddress{coa1}, clock.now()));
    EXPECT_EQ(mn.entry(0)->state, BulState::waiting_for_ack);
    ASSERT_NE(bc.find(hoa), nullptr);   // the home agent accepted it
    tick(mn, bc);                        // retransmission at 1.5 s, greater number
    EXPECT_EQ(clock.now(), at_ms(1500));
    EXPECT_EQ(mn.entry(0)->state, BulState::bound);
}

TEST_F(Link, RestartedMobileNodeResynchronises) {
    BindingCache bc(ha_config(), auth);
    {
        auto c = mn_config();
        c.initial_sequence_number = 30000;
        BindingUpdateList before(c);
        run(before, bc, before.handle(MovedToCareOfAddress{coa1}, clock.now()));
        ASSERT_EQ(before.entry(0)->state, BulState::bound);
    }
    // Restarted: counts from 0 again, which the home agent holds "older" (status 135).
    BindingUpdateList mn(mn_config());
    run(mn, bc, mn.handle(MovedToCareOfAddress{coa2}, clock.now()));
    EXPECT_EQ(mn.entry(0)->state, BulState::bound);
    EXPECT_EQ(mn.sequence_number(), 30002);
    EXPECT_EQ(bc.find(hoa)->bindings[0].care_of_address, coa2);
}

TEST_F(Link, DuplicateHomeAddressStopsTheMobileNode) {
    BindingUpdateList mn(mn_config());
    BindingCache bc(ha_config(), auth);
    dad_duplicate = true;
    run(mn, bc, mn.handle(MovedToCareOfAddress{coa1}, clock.now()));
    EXPECT_TRUE(mn.home_agent_unusable());
    EXPECT_EQ(mn.final_status(), BindingAckStatus::duplicate_address_detection_failed);
    EXPECT_EQ(bc.size(), 0u);
}

TEST_F(Link, MobileRouterImplicitFallsBackToExplicit) {
    auto c = mn_config();
    c.mobile_router = true;
    c.prefix_mode = PrefixMode::implicit_mode;
    c.mobile_network_prefixes = {prefix("2001:db8:100::/48")};
    BindingUpdateList mn(c);
    BindingCache bc(ha_config(), auth);   // nothing configured for implicit mode
    run(mn, bc, mn.handle(MovedToCareOfAddress{coa1}, clock.now()));
    EXPECT_EQ(mn.entry(0)->state, BulState::bound);
    EXPECT_EQ(bc.find(hoa)->mobile_network_prefixes, c.mobile_network_prefixes);
    EXPECT_EQ(count_of<AddRoutes>(ha_log), 1u);
    EXPECT_EQ(count_of<AddRoutes>(mn_log), 1u);
}

TEST_F(Link, McoaBulkThenMakeBeforeBreak) {
    auto c = mn_config();
    c.multiple_care_of_addresses = true;
    c.bulk_registration = true;
    BindingUpdateList mn(c);
    BindingCache bc(ha_config(), auth);
    run(mn, bc, mn.handle(CareOfAddressesAvailable{{{1, coa1}, {2, coa2}}}, clock.now()));
    EXPECT_EQ(count_of<SendBindingUpdate>(mn_log), 1u);
    EXPECT_EQ(bc.binding_count(), 2u);
    EXPECT_EQ(mn.entry(1)->state, BulState::bound);
    EXPECT_EQ(mn.entry(2)->state, BulState::bound);

    const Ipv6Address coa3 = addr("2001:db8:c::10");
    mn_log.clear();
    run(mn, bc, mn.handle(CareOfAddressReplaced{1, 3, coa3}, clock.now()));
    EXPECT_EQ(bc.binding_count(), 2u);
    EXPECT_EQ(bc.find(hoa)->binding(1), nullptr);
    ASSERT_NE(bc.find(hoa)->binding(3), nullptr);
    EXPECT_EQ(bc.find(hoa)->binding(3)->care_of_address, coa3);
    // The new binding was acknowledged before the old one was released.
    const size_t installed = index_of<InstallBinding>(mn_log);
    const size_t removed = index_of<RemoveBinding>(mn_log);
    ASSERT_LT(removed, mn_log.size());
    EXPECT_LT(installed, removed);

    clock.advance(seconds{1});   // three BUs went out this second (MAX_UPDATE_RATE)
    run(mn, bc, mn.handle(ReturnedHome{}, clock.now()));
    EXPECT_EQ(bc.size(), 0u);
    EXPECT_TRUE(mn.entries().empty());
}

TEST_F(Link, FlappingLinkIsRateLimited) {
    BindingUpdateList mn(mn_config());
    BindingCache bc(ha_config(), auth);
    for (int i = 0; i < 10; ++i) {
        run(mn, bc, mn.handle(MovedToCareOfAddress{i % 2 ? coa2 : coa1}, clock.now()));
        clock.advance(Duration{50});
    }
    EXPECT_EQ(count_of<SendBindingUpdate>(mn_log), 3u);
    tick(mn, bc);   // the held-back BU for the latest care-of address
    EXPECT_EQ(count_of<SendBindingUpdate>(mn_log), 4u);
    EXPECT_EQ(mn.entry(0)->state, BulState::bound);
    EXPECT_EQ(bc.find(hoa)->bindings[0].care_of_address, coa2);
}

TEST_F(Link, HomeAgentWithoutMcoaGetsOneBinding) {
    auto c = mn_config();
    c.multiple_care_of_addresses = true;
    BindingUpdateList mn(c);
    auto hc = ha_config();
    hc.multiple_care_of_addresses = false;
    BindingCache bc(hc, auth);
    run(mn, bc, mn.handle(MovedToCareOfAddress{coa1, 4}, clock.now()));
    EXPECT_FALSE(mn.multiple_care_of_addresses());
    EXPECT_EQ(mn.entry(0)->state, BulState::bound);
    EXPECT_NE(bc.find(hoa)->binding(0), nullptr);
}

// RFC 6275 sec. 9.5.5 / 11.7.4: the home agent's Binding Refresh Request,
// sent before the node's own refresh is due, is answered with a BU that
// refreshes the binding; that BU stops the home agent's retransmissions.
TEST_F(Link, BindingRefreshRequestIsAnsweredWithABindingUpdate) {
    BindingUpdateList mn(mn_config());   // refreshes itself at 80 % of 120 s
    auto c = ha_config();
    c.binding_refresh_request_percent = 50;
    BindingCache bc(c, auth);
    run(mn, bc, mn.handle(MovedToCareOfAddress{coa1}, clock.now()));
    ASSERT_EQ(mn.entry(0)->state, BulState::bound);
    const uint16_t sequence = bc.find(hoa)->bindings[0].last_sequence;
    ASSERT_TRUE(ha_timers.contains(TimerKey{TimerKind::bc_refresh_request, hoa, 0}));

    tick(mn, bc);   // the first timer due: the home agent's BRR at 60 s
    EXPECT_EQ(clock.now(), TimePoint{} + seconds{60});
    EXPECT_EQ(brrs_delivered, 1);
    EXPECT_EQ(mn.entry(0)->state, BulState::bound);
    EXPECT_EQ(bc.find(hoa)->bindings[0].last_sequence, static_cast<uint16_t>(sequence + 1));
    EXPECT_EQ(bc.find(hoa)->bindings[0].expires_at, clock.now() + seconds{120});
    // The BU stopped the retransmission and armed the next BRR.
    EXPECT_EQ(ha_timers.at(TimerKey{TimerKind::bc_refresh_request, hoa, 0}), clock.now() + seconds{60});

    // Ten more cycles: each answered, never retransmitted, never lapsed.
    for (int i = 0; i < 10; ++i) tick(mn, bc);
    EXPECT_EQ(brrs_delivered, 11);
    ASSERT_NE(bc.find(hoa), nullptr);
    EXPECT_EQ(mn.entry(0)->state, BulState::bound);
}

// Lost BRRs: the home agent retransmits a bounded number of times; the
// node's own refresh (at 80 %) still keeps the binding.
TEST_F(Link, LostBindingRefreshRequestsAreRetransmittedThenTheNodeRefreshes) {
    BindingUpdateList mn(mn_config());
    auto c = ha_config();
    c.binding_refresh_request_percent = 50;
    c.brr_retransmissions = 2;
    BindingCache bc(c, auth);
    run(mn, bc, mn.handle(MovedToCareOfAddress{coa1}, clock.now()));
    drop_brrs = true;
    while (clock.now() < TimePoint{} + seconds{95}) tick(mn, bc);
    EXPECT_EQ(brrs_delivered, 3);   // one BRR, two retransmissions
    EXPECT_EQ(mn.entry(0)->state, BulState::bound);
    EXPECT_GT(bc.find(hoa)->bindings[0].expires_at, TimePoint{} + seconds{120});
}

}  // namespace
}  // namespace nemokey::mobility::binding
