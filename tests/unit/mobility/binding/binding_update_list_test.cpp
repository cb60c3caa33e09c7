// Binding update list (mobile node / mobile router) with a virtual clock.
#include "mobility/core/binding/binding_update_list.hpp"

#include <gtest/gtest.h>

#include "tests/unit/mobility/binding/test_support.hpp"

namespace nemokey::mobility::binding {
namespace {

using namespace testing;
using mh::BindingAckStatus;
using std::chrono::seconds;

class BulTest : public ::testing::Test {
protected:
    Ipv6Address hoa = addr("2001:db8:1::100");
    Ipv6Address ha = addr("2001:db8:1::1");
    Ipv6Address coa1 = addr("2001:db8:a::10");
    Ipv6Address coa2 = addr("2001:db8:b::10");
    Ipv6Address coa3 = addr("2001:db8:c::10");
    VirtualClock clock;

    BindingUpdateListConfig config() {
        BindingUpdateListConfig c;
        c.home_address = hoa;
        c.home_agent_address = ha;
        c.requested_lifetime = seconds{600};
        return c;
    }

    static mh::BindingAcknowledgement ba(BindingAckStatus status, uint16_t seq,
                                         uint16_t lifetime_units = 150, bool k = false,
                                         bool r = false) {
        mh::BindingAcknowledgement m;
        m.status = status;
        m.sequence_number = seq;
        m.lifetime = lifetime_units;
        m.key_management_mobility_capability = k;
        m.mobile_router = r;
        return m;
    }

    Actions ack(BindingUpdateList& bul, const mh::BindingAcknowledgement& m) {
        return settle(bul, bul.handle(BindingAcknowledgementReceived{ha, m, true}, clock.now()), clock.now());
    }

    Actions move(BindingUpdateList& bul, const Ipv6Address& coa, uint16_t bid = 0) {
        return settle(bul, bul.handle(MovedToCareOfAddress{coa, bid}, clock.now()), clock.now());
    }

    // Fires the retransmission timer armed in `actions` at its deadline.
    Actions fire_retransmission(BindingUpdateList& bul, const Actions& actions) {
        for (const auto& a : all_of<ArmTimer>(actions)) {
            if (a.key.kind == TimerKind::bul_retransmission) {
                clock.set(a.at);
                return settle(bul, bul.handle(TimerExpired{a.key}, clock.now()), clock.now());
            }
        }
        ADD_FAILURE() << "no retransmission timer armed";
        return {};
    }

    static std::optional<ArmTimer> armed(const Actions& actions, TimerKind kind) {
        for (const auto& a : all_of<ArmTimer>(actions))
            if (a.key.kind == kind) return a;
        return std::nullopt;
    }

    // Registers at coa1 and returns the acknowledging actions.
    Actions register_at(BindingUpdateList& bul, const Ipv6Address& coa, bool k = false,
                        bool r = false) {
        auto sent = move(bul, coa);
        const auto bu = only<SendBindingUpdate>(sent);
        return ack(bul, ba(BindingAckStatus::accepted, bu.message.sequence_number, 150, k, r));
    }
};

TEST_F(BulTest, FirstRegistrationBindingUpdate) {
    auto c = config();
    c.key_management_mobility = true;
    c.link_local_address_compatibility = true;
    BindingUpdateList bul(c);
    clock.set(at_ms(5000));
    auto out = move(bul, coa1);
    const auto send = only<SendBindingUpdate>(out);
    EXPECT_EQ(send.source, coa1);
    EXPECT_EQ(send.destination, ha);
    ASSERT_TRUE(send.home_address_option);
    EXPECT_EQ(*send.home_address_option, hoa);
    const auto& bu = send.message;
    EXPECT_TRUE(bu.acknowledge);
    EXPECT_TRUE(bu.home_registration);
    EXPECT_TRUE(bu.key_management_mobility_capability);
    EXPECT_TRUE(bu.link_local_address_compatibility);
    EXPECT_FALSE(bu.mobile_router);
    EXPECT_EQ(bu.sequence_number, 1);
    EXPECT_EQ(bu.lifetime, 150);   // 600 s in 4-second units
    const auto* alt = mh::find_option<mh::AlternateCareOfAddress>(bu.options);
    ASSERT_NE(alt, nullptr);
    EXPECT_EQ(alt->alternate_care_of_address, coa1);
    EXPECT_EQ(mh::find_option<mh::BindingIdentifier>(bu.options), nullptr);
    // RFC 6275 sec. 11.8: InitialBindackTimeoutFirstReg for the first registration.
    auto t = armed(out, TimerKind::bul_retransmission);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->at, at_ms(6500));
    EXPECT_EQ(bul.entry(0)->state, BulState::waiting_for_ack);
}

TEST_F(BulTest, FullRetransmissionScheduleFirstRegistration) {
    BindingUpdateList bul(config());
    auto out = move(bul, coa1);
    std::vector<int64_t> sent_at{clock.now().time_since_epoch().count()};
    std::vector<uint16_t> seqs{only<SendBindingUpdate>(out).message.sequence_number};
    for (int i = 0; i < 9; ++i) {
        out = fire_retransmission(bul, out);
        const auto bu = only<SendBindingUpdate>(out);
        sent_at.push_back(clock.now().time_since_epoch().count());
        seqs.push_back(bu.message.sequence_number);
    }
    // RFC 6275 sec. 11.8: 1.5 s doubled per retransmission, capped at 32 s.
    const std::vector<int64_t> gaps{1500, 3000, 6000, 12000, 24000, 32000, 32000, 32000, 32000};
    for (size_t i = 0; i < gaps.size(); ++i) EXPECT_EQ(sent_at[i + 1] - sent_at[i], gaps[i]) << i;
    // Every retransmission carries a greater Sequence Number.
    for (size_t i = 1; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], seqs[i - 1] + 1);
    EXPECT_EQ(bul.entry(0)->state, BulState::waiting_for_ack);
}

TEST_F(BulTest, RefreshUsesInitialBindackTimeoutAndBacksOff) {
    BindingUpdateList bul(config());
    auto acked = register_at(bul, coa1);
    auto refresh = armed(acked, TimerKind::bul_refresh);
    ASSERT_TRUE(refresh);
    clock.set(refresh->at);
    auto out = settle(bul, bul.handle(TimerExpired{refresh->key}, clock.now()), clock.now());
    EXPECT_EQ(bul.entry(0)->state, BulState::waiting_for_ack_refresh);
    EXPECT_EQ(only<SendBindingUpdate>(out).message.lifetime, 150);
    int64_t last = clock.now().time_since_epoch().count();
    const std::vector<int64_t> gaps{1000, 2000, 4000, 8000, 16000, 32000, 32000};
    for (int64_t gap : gaps) {
        out = fire_retransmission(bul, out);
        if (bul.entry(0)->state != BulState::waiting_for_ack_refresh) break;
        ASSERT_EQ(count_of<SendBindingUpdate>(out), 1u);
        const int64_t now = clock.now().time_since_epoch().count();
        EXPECT_EQ(now - last, gap);
        last = now;
    }
}

TEST_F(BulTest, AcceptedInstallsAndArmsRefreshAndLifetime) {
    BindingUpdateList bul(config());
    clock.set(at_ms(1000));
    auto sent = move(bul, coa1);
    const uint16_t seq = only<SendBindingUpdate>(sent).message.sequence_number;
    clock.set(at_ms(1200));
    auto out = ack(bul, ba(BindingAckStatus::accepted, seq, 100));   // 400 s granted
    const auto install = only<InstallBinding>(out);
    EXPECT_EQ(install.care_of_address, coa1);
    EXPECT_EQ(install.home_agent_address, ha);
    EXPECT_EQ(install.lifetime, seconds{400});
    EXPECT_EQ(only<CancelTimer>(out).key.kind, TimerKind::bul_retransmission);
    // Lifetime counts from the moment the BU was sent (RFC 6275 sec. 11.7.3).
    EXPECT_EQ(armed(out, TimerKind::bul_lifetime)->at, at_ms(1000 + 400000));
    EXPECT_EQ(armed(out, TimerKind::bul_refresh)->at, at_ms(1000 + 320000));   // 80 %
    EXPECT_EQ(bul.entry(0)->state, BulState::bound);
    EXPECT_EQ(only<Report>(out).kind, ReportKind::registered);
    EXPECT_EQ(count_of<Migrate>(out), 0u);
}

TEST_F(BulTest, BindingRefreshAdviceShortensRefresh) {
    BindingUpdateList bul(config());
    auto sent = move(bul, coa1);
    auto m = ba(BindingAckStatus::accepted, only<SendBindingUpdate>(sent).message.sequence_number, 150);
    m.options.push_back(mh::BindingRefreshAdvice{15});   // 60 s
    auto out = ack(bul, m);
    EXPECT_EQ(armed(out, TimerKind::bul_refresh)->at, at_ms(60000));
    EXPECT_EQ(armed(out, TimerKind::bul_lifetime)->at, at_ms(600000));
}

TEST_F(BulTest, ExpiryWithoutRefreshAckLosesTheBinding) {
    BindingUpdateList bul(config());
    auto acked = register_at(bul, coa1);
    auto refresh = *armed(acked, TimerKind::bul_refresh);
    auto lifetime = *armed(acked, TimerKind::bul_lifetime);
    clock.set(refresh.at);
    auto out = settle(bul, bul.handle(TimerExpired{refresh.key}, clock.now()), clock.now());
    ASSERT_EQ(count_of<SendBindingUpdate>(out), 1u);
    // No answer; the retransmissions run until the lifetime is over.
    while (true) {
        auto next = armed(out, TimerKind::bul_retransmission);
        ASSERT_TRUE(next);
        if (next->at >= lifetime.at) break;
        clock.set(next->at);
        out = settle(bul, bul.handle(TimerExpired{next->key}, clock.now()), clock.now());
    }
    clock.set(lifetime.at);
    out = settle(bul, bul.handle(TimerExpired{lifetime.key}, clock.now()), clock.now());
    EXPECT_EQ(only<RemoveBinding>(out).care_of_address, coa1);
    EXPECT_EQ(only<Report>(out).kind, ReportKind::binding_lost);
    EXPECT_EQ(bul.entry(0)->state, BulState::waiting_for_ack);
    EXPECT_FALSE(bul.entry(0)->installed_care_of_address);
    // A late acceptance installs the binding afresh.
    auto late = ack(bul, ba(BindingAckStatus::accepted, bul.sequence_number()));
    EXPECT_EQ(count_of<InstallBinding>(late), 1u);
}

TEST_F(BulTest, StaleLifetimeTimerIsIgnored) {
    BindingUpdateList bul(config());
    auto acked = register_at(bul, coa1);
    auto lifetime = *armed(acked, TimerKind::bul_lifetime);
    clock.set(lifetime.at - Duration{1});
    EXPECT_TRUE(settle(bul, bul.handle(TimerExpired{lifetime.key}, clock.now()), clock.now()).empty());
}

TEST_F(BulTest, DropsAcknowledgementsThatDoNotMatch) {
    BindingUpdateList bul(config());
    auto sent = move(bul, coa1);
    const uint16_t seq = only<SendBindingUpdate>(sent).message.sequence_number;
    auto wrong_source = settle(bul, bul.handle(
        BindingAcknowledgementReceived{coa2, ba(BindingAckStatus::accepted, seq), true}, clock.now()), clock.now());
    EXPECT_EQ(count_of<DropMessage>(wrong_source), 1u);
    auto unprotected = settle(bul, bul.handle(
        BindingAcknowledgementReceived{ha, ba(BindingAckStatus::accepted, seq), false}, clock.now()), clock.now());
    EXPECT_EQ(count_of<DropMessage>(unprotected), 1u);
    EXPECT_EQ(count_of<InstallBinding>(unprotected), 0u);
    auto wrong_seq = ack(bul, ba(BindingAckStatus::accepted, static_cast<uint16_t>(seq + 5)));
    EXPECT_EQ(count_of<DropMessage>(wrong_seq), 1u);
    EXPECT_EQ(bul.entry(0)->state, BulState::waiting_for_ack);
}

TEST_F(BulTest, LateAcknowledgementOfEarlierTransmissionCountsFromFirstSend) {
    BindingUpdateList bul(config());
    auto out = move(bul, coa1);
    const uint16_t first = only<SendBindingUpdate>(out).message.sequence_number;
    out = fire_retransmission(bul, out);   // at 1.5 s
    out = fire_retransmission(bul, out);   // at 4.5 s
    clock.set(at_ms(5000));
    auto acked = ack(bul, ba(BindingAckStatus::accepted, first, 10));   // 40 s
    EXPECT_EQ(bul.entry(0)->state, BulState::bound);
    EXPECT_EQ(armed(acked, TimerKind::bul_lifetime)->at, at_ms(40000));
}

TEST_F(BulTest, SequenceNumberWrapsAt65535) {
    auto c = config();
    c.initial_sequence_number = 65534;
    BindingUpdateList bul(c);
    auto out = move(bul, coa1);
    EXPECT_EQ(only<SendBindingUpdate>(out).message.sequence_number, 65535);
    out = fire_retransmission(bul, out);
    EXPECT_EQ(only<SendBindingUpdate>(out).message.sequence_number, 0);
    out = fire_retransmission(bul, out);
    EXPECT_EQ(only<SendBindingUpdate>(out).message.sequence_number, 1);
    // A BA for the wrapped number 0 matches the outstanding BU (65535..1).
    auto acked = ack(bul, ba(BindingAckStatus::accepted, 0));
    EXPECT_EQ(count_of<InstallBinding>(acked), 1u);
    EXPECT_EQ(bul.entry(0)->state, BulState::bound);
}

TEST_F(BulTest, Status135ResynchronisesWithTheAcknowledgedNumber) {
    BindingUpdateList bul(config());
    auto out = move(bul, coa1);
    EXPECT_EQ(only<SendBindingUpdate>(out).message.sequence_number, 1);
    auto resync = ack(bul, ba(BindingAckStatus::sequence_number_out_of_window, 40000, 0));
    const auto bu = only<SendBindingUpdate>(resync);
    EXPECT_EQ(bu.message.sequence_number, 40001);
    auto acked = ack(bul, ba(BindingAckStatus::accepted, 40001));
    EXPECT_EQ(count_of<InstallBinding>(acked), 1u);
    EXPECT_EQ(bul.sequence_number(), 40001);
    // Resynchronising also works across the wrap (a second later: MAX_UPDATE_RATE).
    clock.advance(seconds{1});
    auto refresh = settle(bul, bul.handle(BindingRefreshRequestReceived{ha, {}}, clock.now()), clock.now());
    ASSERT_EQ(count_of<SendBindingUpdate>(refresh), 1u);
    auto again = ack(bul, ba(BindingAckStatus::sequence_number_out_of_window, 65535, 0));
    EXPECT_EQ(only<SendBindingUpdate>(again).message.sequence_number, 0);
}

TEST_F(BulTest, Status135WithoutOutstandingBindingUpdateIsDropped) {
    BindingUpdateList bul(config());
    register_at(bul, coa1);
    auto out = ack(bul, ba(BindingAckStatus::sequence_number_out_of_window, 9));
    EXPECT_EQ(count_of<DropMessage>(out), 1u);
    EXPECT_EQ(count_of<SendBindingUpdate>(out), 0u);
}

// RFC 6275 sec. 11.7.3 and RFC 3963 sec. 5: statuses after which no
// further Binding Updates go to this home agent.
class BulFatalStatus : public BulTest, public ::testing::WithParamInterface<BindingAckStatus> {};

TEST_P(BulFatalStatus, StopsRegistering) {
    BindingUpdateList bul(config());
    auto out = move(bul, coa1);
    auto rejected = ack(bul, ba(GetParam(), only<SendBindingUpdate>(out).message.sequence_number, 0));
    EXPECT_TRUE(bul.home_agent_unusable());
    EXPECT_EQ(bul.final_status(), GetParam());
    EXPECT_TRUE(bul.entries().empty());
    EXPECT_EQ(count_of<SendBindingUpdate>(rejected), 0u);
    EXPECT_EQ(count_of<InstallBinding>(rejected), 0u);
    bool reported = false;
    for (const auto& r : all_of<Report>(rejected))
        reported = reported || (r.kind == ReportKind::registration_rejected && r.status == GetParam());
    EXPECT_TRUE(reported);
    // No timers left behind and no more BUs on movement.
    EXPECT_EQ(bul.outstanding_binding_updates(), 0u);
    auto later = move(bul, coa2);
    EXPECT_EQ(count_of<SendBindingUpdate>(later), 0u);
    EXPECT_EQ(only<Report>(later).kind, ReportKind::home_agent_unusable);
}

INSTANTIATE_TEST_SUITE_P(
    Rfc6275, BulFatalStatus,
    ::testing::Values(BindingAckStatus::administratively_prohibited,
                      BindingAckStatus::home_registration_not_supported,
                      BindingAckStatus::not_home_subnet,
                      BindingAckStatus::not_home_agent_for_this_mobile_node,
                      BindingAckStatus::duplicate_address_detection_failed,
                      BindingAckStatus::expired_home_nonce_index,
                      BindingAckStatus::expired_care_of_nonce_index,
                      BindingAckStatus::expired_nonces,
                      BindingAckStatus::registration_type_change_disallowed,
                      BindingAckStatus::mobile_router_operation_not_permitted,
                      BindingAckStatus::invalid_prefix,
                      BindingAckStatus::not_authorized_for_prefix,
                      BindingAckStatus::forwarding_setup_failed,
                      BindingAckStatus::mipv6_auth_fail));

TEST_F(BulTest, FatalStatusOnRefreshRemovesTheInstalledBinding) {
    BindingUpdateList bul(config());
    register_at(bul, coa1);
    auto sent = move(bul, coa2);
    auto out = ack(bul, ba(BindingAckStatus::administratively_prohibited,
                           only<SendBindingUpdate>(sent).message.sequence_number, 0));
    EXPECT_EQ(only<RemoveBinding>(out).care_of_address, coa1);
    bool refresh_cancelled = false;
    for (const auto& c : all_of<CancelTimer>(out))
        refresh_cancelled = refresh_cancelled || c.key.kind == TimerKind::bul_refresh;
    EXPECT_TRUE(refresh_cancelled);
}

class BulTransientStatus : public BulTest, public ::testing::WithParamInterface<BindingAckStatus> {};

TEST_P(BulTransientStatus, RetriesWithBackOff) {
    BindingUpdateList bul(config());
    auto out = move(bul, coa1);
    auto rejected = ack(bul, ba(GetParam(), only<SendBindingUpdate>(out).message.sequence_number, 0));
    EXPECT_FALSE(bul.home_agent_unusable());
    EXPECT_EQ(count_of<SendBindingUpdate>(rejected), 0u);   // not at once
    EXPECT_EQ(only<Report>(rejected).status, GetParam());
    auto retry = fire_retransmission(bul, out);             // the back-off timer still runs
    EXPECT_EQ(count_of<SendBindingUpdate>(retry), 1u);
    EXPECT_EQ(clock.now(), at_ms(1500));
}

INSTANTIATE_TEST_SUITE_P(Rfc6275, BulTransientStatus,
                         ::testing::Values(BindingAckStatus::reason_unspecified,
                                           BindingAckStatus::insufficient_resources));

TEST_F(BulTest, Status1AsksForPrefixDiscovery) {
    BindingUpdateList bul(config());
    auto out = move(bul, coa1);
    auto acked = ack(bul, ba(BindingAckStatus::accepted_prefix_discovery_necessary,
                             only<SendBindingUpdate>(out).message.sequence_number));
    EXPECT_EQ(bul.entry(0)->state, BulState::bound);
    bool asked = false;
    for (const auto& r : all_of<Report>(acked)) asked = asked || r.kind == ReportKind::prefix_discovery_necessary;
    EXPECT_TRUE(asked);
}

TEST_F(BulTest, AcceptedWithZeroLifetimeLeavesNoBinding) {
    BindingUpdateList bul(config());
    auto out = move(bul, coa1);
    auto acked = ack(bul, ba(BindingAckStatus::accepted, only<SendBindingUpdate>(out).message.sequence_number, 0));
    EXPECT_EQ(count_of<InstallBinding>(acked), 0u);
    EXPECT_EQ(bul.entry(0)->state, BulState::idle);
}

TEST_F(BulTest, RateLimitHoldsBackTheFourthBindingUpdateInOneSecond) {
    BindingUpdateList bul(config());
    clock.set(at_ms(10000));
    size_t sent = 0;
    Actions last;
    for (int i = 0; i < 5; ++i) {
        last = move(bul, i % 2 ? coa2 : coa1);
        sent += count_of<SendBindingUpdate>(last);
        clock.advance(Duration{100});
    }
    EXPECT_EQ(sent, 3u);   // MAX_UPDATE_RATE
    // The latest movement's BU waits for the window: 1 s after the first send.
    const auto held = armed(last, TimerKind::bul_retransmission);
    ASSERT_TRUE(held);
    EXPECT_EQ(held->at, at_ms(11000));
    EXPECT_EQ(bul.outstanding_binding_updates(), 1u);
    clock.set(held->at);
    auto out = settle(bul, bul.handle(TimerExpired{held->key}, clock.now()), clock.now());
    const auto bu = only<SendBindingUpdate>(out);
    EXPECT_EQ(bu.source, coa1);
    // The first real transmission: its timeout is not doubled.
    EXPECT_EQ(armed(out, TimerKind::bul_retransmission)->at, at_ms(11000) + initial_bindack_timeout_first_reg);
    auto acked = ack(bul, ba(BindingAckStatus::accepted, bu.message.sequence_number));
    EXPECT_EQ(only<InstallBinding>(acked).care_of_address, coa1);
}

TEST_F(BulTest, RateLimitCanBeSwitchedOff) {
    auto c = config();
    c.max_update_rate = 0;
    BindingUpdateList bul(c);
    size_t sent = 0;
    for (int i = 0; i < 6; ++i) sent += count_of<SendBindingUpdate>(move(bul, i % 2 ? coa2 : coa1));
    EXPECT_EQ(sent, 6u);
}

TEST_F(BulTest, MaxRetransmissionsGivesUp) {
    auto c = config();
    c.max_retransmissions = 2;
    BindingUpdateList bul(c);
    auto out = move(bul, coa1);
    out = fire_retransmission(bul, out);
    out = fire_retransmission(bul, out);
    EXPECT_EQ(count_of<SendBindingUpdate>(out), 1u);
    out = fire_retransmission(bul, out);
    EXPECT_EQ(count_of<SendBindingUpdate>(out), 0u);
    EXPECT_EQ(only<Report>(out).kind, ReportKind::retransmissions_exhausted);
    EXPECT_EQ(bul.entry(0), nullptr);
}

TEST_F(BulTest, MovementWhileBoundMigratesBeforeTheBindingUpdate) {
    auto c = config();
    c.key_management_mobility = true;
    BindingUpdateList bul(c);
    register_at(bul, coa1, true);
    // RFC 4877 sec. 4.3, 7.4: the SAs move first; the BU waits for the kernel.
    auto moved = bul.handle(MovedToCareOfAddress{coa2, 0}, clock.now());
    EXPECT_EQ(count_of<SendBindingUpdate>(moved), 0u);
    const auto migrate = only<Migrate>(moved);
    EXPECT_EQ(migrate.old_care_of_address, coa1);
    EXPECT_EQ(migrate.new_care_of_address, coa2);
    EXPECT_TRUE(migrate.move_ike_sa);
    EXPECT_NE(migrate.operation, 0u);
    EXPECT_EQ(bul.held_binding_updates(), 1u);
    auto sent = bul.handle(KernelOutcome{migrate.operation, true}, clock.now());
    EXPECT_EQ(bul.held_binding_updates(), 0u);
    EXPECT_EQ(bul.entry(0)->state, BulState::waiting_for_ack_refresh);
    EXPECT_EQ(only<SendBindingUpdate>(sent).source, coa2);
    EXPECT_EQ(armed(sent, TimerKind::bul_retransmission)->at, clock.now() + initial_bindack_timeout);
    auto out = ack(bul, ba(BindingAckStatus::accepted,
                           only<SendBindingUpdate>(sent).message.sequence_number, 150, true));
    const auto update = only<UpdateBinding>(out);
    EXPECT_EQ(update.old_care_of_address, coa1);
    EXPECT_EQ(update.care_of_address, coa2);
    EXPECT_EQ(count_of<Migrate>(out), 0u) << "the SAs moved before the BU, not after the BA";
    EXPECT_EQ(count_of<CommitKernelState>(out), 1u);
}

TEST_F(BulTest, RetransmissionsOfAHeldBindingUpdateDoNotMigrateAgain) {
    BindingUpdateList bul(config());
    register_at(bul, coa1, false);
    auto moved = bul.handle(MovedToCareOfAddress{coa2, 0}, clock.now());
    auto sent = bul.handle(KernelOutcome{only<Migrate>(moved).operation, true}, clock.now());
    auto again = fire_retransmission(bul, sent);
    EXPECT_EQ(count_of<SendBindingUpdate>(again), 1u);
    EXPECT_EQ(count_of<Migrate>(again), 0u);
}

TEST_F(BulTest, FailedMigrateUnderStaticKeyingStillRegisters) {
    BindingUpdateList bul(config());
    register_at(bul, coa1, false);
    auto moved = bul.handle(MovedToCareOfAddress{coa2, 0}, clock.now());
    auto out = bul.handle(KernelOutcome{only<Migrate>(moved).operation, false}, clock.now());
    EXPECT_EQ(only<Report>(out).kind, ReportKind::migrate_failed);
    EXPECT_EQ(only<SendBindingUpdate>(out).source, coa2);
}

TEST_F(BulTest, DynamicKeyingWaitsForTheSecurityAssociations) {
    auto c = config();
    c.dynamic_keying = true;
    c.key_management_mobility = true;
    BindingUpdateList bul(c);
    auto out = settle(bul, bul.handle(MovedToCareOfAddress{coa1, 0}, clock.now()), clock.now());
    EXPECT_EQ(count_of<SendBindingUpdate>(out), 0u);
    EXPECT_EQ(only<Report>(out).kind, ReportKind::waiting_for_security_associations);
    out = settle(bul, bul.handle(SecurityAssociationsReady{}, clock.now()), clock.now());
    EXPECT_EQ(only<SendBindingUpdate>(out).source, coa1);
}

TEST_F(BulTest, DynamicKeyingWithoutKReestablishesTheIkeSa) {
    auto c = config();
    c.dynamic_keying = true;
    c.key_management_mobility = true;
    BindingUpdateList bul(c);
    settle(bul, bul.handle(SecurityAssociationsReady{}, clock.now()), clock.now());
    register_at(bul, coa1, false);   // the home agent did not grant K
    auto out = bul.handle(MovedToCareOfAddress{coa2, 0}, clock.now());
    EXPECT_EQ(count_of<Migrate>(out), 0u);
    EXPECT_EQ(count_of<SendBindingUpdate>(out), 0u);
    const auto again = only<ReestablishIkeSa>(out);
    EXPECT_EQ(again.care_of_address, coa2);
    EXPECT_FALSE(bul.security_associations_ready());
    out = settle(bul, bul.handle(SecurityAssociationsReady{}, clock.now()), clock.now());
    EXPECT_EQ(only<SendBindingUpdate>(out).source, coa2);
}

TEST_F(BulTest, DynamicKeyingWithKMovesTheIkeSaByMigrate) {
    auto c = config();
    c.dynamic_keying = true;
    c.key_management_mobility = true;
    BindingUpdateList bul(c);
    settle(bul, bul.handle(SecurityAssociationsReady{}, clock.now()), clock.now());
    register_at(bul, coa1, true);
    auto out = bul.handle(MovedToCareOfAddress{coa2, 0}, clock.now());
    EXPECT_EQ(count_of<ReestablishIkeSa>(out), 0u);
    EXPECT_TRUE(only<Migrate>(out).move_ike_sa);
    // A MIGRATE the kernel refused: the key manager builds SAs from the new address.
    out = bul.handle(KernelOutcome{only<Migrate>(out).operation, false}, clock.now());
    EXPECT_EQ(only<ReestablishIkeSa>(out).care_of_address, coa2);
    EXPECT_EQ(count_of<SendBindingUpdate>(out), 0u);
    out = settle(bul, bul.handle(SecurityAssociationsReady{}, clock.now()), clock.now());
    EXPECT_EQ(only<SendBindingUpdate>(out).source, coa2);
}

TEST_F(BulTest, KStaysAsFirstGrantedAcrossBindingAcknowledgements) {
    auto c = config();
    c.key_management_mobility = true;
    BindingUpdateList bul(c);
    register_at(bul, coa1, true);
    ASSERT_TRUE(bul.entry(0)->key_management_mobility_granted);
    auto sent = move(bul, coa2);
    auto out = ack(bul, ba(BindingAckStatus::accepted, only<SendBindingUpdate>(sent).message.sequence_number, 150, false));
    EXPECT_TRUE(bul.entry(0)->key_management_mobility_granted);
    EXPECT_EQ(all_of<Report>(out).front().kind, ReportKind::key_management_mobility_changed);
}

TEST_F(BulTest, FailedLocalCommitIsRetried) {
    BindingUpdateList bul(config());
    auto sent = settle(bul, bul.handle(MovedToCareOfAddress{coa1, 0}, clock.now()), clock.now());
    auto out = bul.handle(BindingAcknowledgementReceived{ha, ba(BindingAckStatus::accepted,
                          only<SendBindingUpdate>(sent).message.sequence_number), true}, clock.now());
    const auto commit = only<CommitKernelState>(out);
    out = bul.handle(KernelOutcome{commit.operation, false}, clock.now());
    EXPECT_EQ(only<Report>(out).kind, ReportKind::kernel_state_failed);
    const auto retry = armed(out, TimerKind::bul_kernel_retry);
    ASSERT_TRUE(retry);
    clock.set(retry->at);
    out = settle(bul, bul.handle(TimerExpired{retry->key}, clock.now()), clock.now());
    EXPECT_EQ(count_of<CommitKernelState>(out), 1u);
}

TEST_F(BulTest, KFlagRequestedButNotGranted) {
    auto c = config();
    c.key_management_mobility = true;
    BindingUpdateList bul(c);
    register_at(bul, coa1, false);
    EXPECT_FALSE(bul.entry(0)->key_management_mobility_granted);
    auto moved = bul.handle(MovedToCareOfAddress{coa2, 0}, clock.now());
    EXPECT_FALSE(only<Migrate>(moved).move_ike_sa);
    auto sent = bul.handle(KernelOutcome{only<Migrate>(moved).operation, true}, clock.now());
    EXPECT_TRUE(only<SendBindingUpdate>(sent).message.key_management_mobility_capability);
}

TEST_F(BulTest, KFlagNotRequestedIsNeverGranted) {
    BindingUpdateList bul(config());
    auto sent = move(bul, coa1);
    EXPECT_FALSE(only<SendBindingUpdate>(sent).message.key_management_mobility_capability);
    ack(bul, ba(BindingAckStatus::accepted, only<SendBindingUpdate>(sent).message.sequence_number, 150, true));
    EXPECT_FALSE(bul.entry(0)->key_management_mobility_granted);
}

TEST_F(BulTest, KFlagGranted) {
    auto c = config();
    c.key_management_mobility = true;
    BindingUpdateList bul(c);
    register_at(bul, coa1, true);
    EXPECT_TRUE(bul.entry(0)->key_management_mobility_granted);
}

TEST_F(BulTest, BindingRefreshRequestRefreshesABoundBinding) {
    BindingUpdateList bul(config());
    register_at(bul, coa1);
    auto out = settle(bul, bul.handle(BindingRefreshRequestReceived{ha, {}}, clock.now()), clock.now());
    const auto bu = only<SendBindingUpdate>(out);
    EXPECT_EQ(bu.source, coa1);
    EXPECT_EQ(bu.message.lifetime, 150);
    EXPECT_EQ(bul.entry(0)->state, BulState::waiting_for_ack_refresh);
    // While a BU is outstanding another BRR adds nothing.
    EXPECT_EQ(count_of<SendBindingUpdate>(settle(bul, bul.handle(BindingRefreshRequestReceived{ha, {}}, clock.now()), clock.now())), 0u);
    // A BRR from anyone else is dropped.
    EXPECT_EQ(count_of<DropMessage>(settle(bul, bul.handle(BindingRefreshRequestReceived{coa2, {}}, clock.now()), clock.now())), 1u);
}

TEST_F(BulTest, BindingErrorStatus1ReRegistersAsFirstRegistration) {
    BindingUpdateList bul(config());
    register_at(bul, coa1);
    mh::BindingError be;
    be.status = mh::BindingErrorStatus::unknown_binding_for_home_address_destination_option;
    be.home_address = hoa;
    auto out = settle(bul, bul.handle(BindingErrorReceived{ha, be}, clock.now()), clock.now());
    EXPECT_EQ(count_of<SendBindingUpdate>(out), 1u);
    EXPECT_EQ(bul.entry(0)->state, BulState::waiting_for_ack);
    EXPECT_EQ(armed(out, TimerKind::bul_retransmission)->at, clock.now() + initial_bindack_timeout_first_reg);
    // A BE for somebody else's home address is dropped.
    be.home_address = addr("2001:db8:1::999");
    EXPECT_EQ(count_of<DropMessage>(settle(bul, bul.handle(BindingErrorReceived{ha, be}, clock.now()), clock.now())), 1u);
}

TEST_F(BulTest, BindingErrorWithoutEntryIsIgnored) {
    BindingUpdateList bul(config());
    mh::BindingError be;
    be.status = mh::BindingErrorStatus::unrecognized_mh_type_value;
    be.home_address = hoa;
    auto out = settle(bul, bul.handle(BindingErrorReceived{ha, be}, clock.now()), clock.now());
    EXPECT_EQ(count_of<DropMessage>(out), 1u);
    EXPECT_FALSE(bul.home_agent_unusable());
}

TEST_F(BulTest, BindingErrorStatus2StopsUsingTheHomeAgent) {
    BindingUpdateList bul(config());
    register_at(bul, coa1);
    mh::BindingError be;
    be.status = mh::BindingErrorStatus::unrecognized_mh_type_value;
    be.home_address = hoa;
    auto out = settle(bul, bul.handle(BindingErrorReceived{ha, be}, clock.now()), clock.now());
    EXPECT_TRUE(bul.home_agent_unusable());
    EXPECT_EQ(count_of<RemoveBinding>(out), 1u);
}

TEST_F(BulTest, ReturnHomeDeregisters) {
    BindingUpdateList bul(config());
    register_at(bul, coa1);
    auto out = settle(bul, bul.handle(ReturnedHome{}, clock.now()), clock.now());
    const auto send = only<SendBindingUpdate>(out);
    // RFC 6275 sec. 11.5.4: from the home address, lifetime zero, no HAO.
    EXPECT_EQ(send.source, hoa);
    EXPECT_FALSE(send.home_address_option);
    EXPECT_EQ(send.message.lifetime, 0);
    EXPECT_TRUE(send.message.home_registration);
    EXPECT_EQ(mh::find_option<mh::AlternateCareOfAddress>(send.message.options), nullptr);
    EXPECT_EQ(bul.entry(0)->state, BulState::waiting_for_deregistration_ack);
    EXPECT_EQ(armed(out, TimerKind::bul_retransmission)->at, clock.now() + initial_bindack_timeout);
    EXPECT_EQ(count_of<RemoveBinding>(out), 0u);
    auto done = ack(bul, ba(BindingAckStatus::accepted, send.message.sequence_number, 0));
    EXPECT_EQ(only<RemoveBinding>(done).care_of_address, coa1);
    EXPECT_EQ(bul.entry(0), nullptr);
    EXPECT_EQ(bul.outstanding_binding_updates(), 0u);
}

TEST_F(BulTest, ReturnHomeMovesKeyManagementEndpointWhenKGranted) {
    auto c = config();
    c.key_management_mobility = true;
    {
        BindingUpdateList bul(c);
        register_at(bul, coa1, true);
        auto out = settle(bul, bul.handle(ReturnedHome{}, clock.now()), clock.now());
        EXPECT_EQ(count_of<Migrate>(out), 0u);   // not before the home agent agreed
        auto done = ack(bul, ba(BindingAckStatus::accepted, only<SendBindingUpdate>(out).message.sequence_number, 0));
        const auto m = only<Migrate>(done);
        EXPECT_EQ(m.old_care_of_address, coa1);
        EXPECT_EQ(m.new_care_of_address, hoa);
        EXPECT_TRUE(m.move_ike_sa);
        EXPECT_LT(index_of<Migrate>(done), index_of<RemoveBinding>(done));
    }
    {
        BindingUpdateList bul(c);
        register_at(bul, coa1, false);   // K not granted
        auto out = settle(bul, bul.handle(ReturnedHome{}, clock.now()), clock.now());
        auto done = ack(bul, ba(BindingAckStatus::accepted, only<SendBindingUpdate>(out).message.sequence_number, 0));
        EXPECT_EQ(count_of<Migrate>(done), 0u);
    }
}

TEST_F(BulTest, ReturnHomeAnsweredWith133MeansAlreadyGone) {
    BindingUpdateList bul(config());
    register_at(bul, coa1);
    auto out = settle(bul, bul.handle(ReturnedHome{}, clock.now()), clock.now());
    auto done = ack(bul, ba(BindingAckStatus::not_home_agent_for_this_mobile_node,
                            only<SendBindingUpdate>(out).message.sequence_number, 0));
    EXPECT_EQ(count_of<RemoveBinding>(done), 1u);
    EXPECT_FALSE(bul.home_agent_unusable());
    bool deregistered = false;
    for (const auto& r : all_of<Report>(done)) deregistered = deregistered || r.kind == ReportKind::deregistered;
    EXPECT_TRUE(deregistered);
}

TEST_F(BulTest, LeavingHomeAgainBeforeDeregistrationAck) {
    BindingUpdateList bul(config());
    register_at(bul, coa1);
    settle(bul, bul.handle(ReturnedHome{}, clock.now()), clock.now());
    auto out = move(bul, coa2);
    EXPECT_EQ(only<SendBindingUpdate>(out).message.lifetime, 150);
    EXPECT_EQ(bul.outstanding_binding_updates(), 1u);   // the deregistration is abandoned
    EXPECT_EQ(armed(out, TimerKind::bul_retransmission)->at, clock.now() + initial_bindack_timeout_first_reg);
}

TEST_F(BulTest, ReturnHomeWhenIdleSendsNothing) {
    BindingUpdateList bul(config());
    EXPECT_TRUE(settle(bul, bul.handle(ReturnedHome{}, clock.now()), clock.now()).empty());
}

// ---- NEMO (RFC 3963) ----

TEST_F(BulTest, MobileRouterExplicitModeCarriesPrefixes) {
    auto c = config();
    c.mobile_router = true;
    c.mobile_network_prefixes = {prefix("2001:db8:100::/48"), prefix("2001:db8:200:1::/64")};
    BindingUpdateList bul(c);
    auto sent = move(bul, coa1);
    const auto bu = only<SendBindingUpdate>(sent).message;
    EXPECT_TRUE(bu.mobile_router);
    const auto mnps = mh::find_options<mh::MobileNetworkPrefix>(bu.options);
    ASSERT_EQ(mnps.size(), 2u);
    EXPECT_EQ(mnps[0]->prefix_length, 48);
    EXPECT_EQ(mnps[0]->prefix, addr("2001:db8:100::"));
    EXPECT_EQ(mnps[1]->prefix_length, 64);
    auto out = ack(bul, ba(BindingAckStatus::accepted, bu.sequence_number, 150, false, true));
    EXPECT_TRUE(only<InstallBinding>(out).mobile_router);
    EXPECT_EQ(only<AddRoutes>(out).prefixes.size(), 2u);
}

TEST_F(BulTest, MobileRouterImplicitModeCarriesNoPrefixes) {
    auto c = config();
    c.mobile_router = true;
    c.prefix_mode = PrefixMode::implicit_mode;
    c.mobile_network_prefixes = {prefix("2001:db8:100::/48")};
    BindingUpdateList bul(c);
    auto sent = move(bul, coa1);
    const auto bu = only<SendBindingUpdate>(sent).message;
    EXPECT_TRUE(bu.mobile_router);
    EXPECT_EQ(mh::find_option<mh::MobileNetworkPrefix>(bu.options), nullptr);
    // RFC 3963: 143 in implicit mode -> retry listing the prefixes.
    auto out = ack(bul, ba(BindingAckStatus::forwarding_setup_failed, bu.sequence_number, 0, false, true));
    EXPECT_FALSE(bul.home_agent_unusable());
    EXPECT_EQ(bul.prefix_mode(), PrefixMode::explicit_mode);
    const auto retry = only<SendBindingUpdate>(out).message;
    EXPECT_EQ(mh::find_options<mh::MobileNetworkPrefix>(retry.options).size(), 1u);
}

TEST_F(BulTest, MobileRouterAcknowledgementWithoutRFlag) {
    auto c = config();
    c.mobile_router = true;
    c.mobile_network_prefixes = {prefix("2001:db8:100::/48")};
    BindingUpdateList bul(c);
    auto sent = move(bul, coa1);
    auto out = ack(bul, ba(BindingAckStatus::accepted, only<SendBindingUpdate>(sent).message.sequence_number, 150, false, false));
    EXPECT_EQ(count_of<InstallBinding>(out), 0u);
    EXPECT_EQ(count_of<AddRoutes>(out), 0u);
    EXPECT_TRUE(bul.home_agent_unusable());
    bool reported = false;
    for (const auto& r : all_of<Report>(out)) reported = reported || r.kind == ReportKind::mobile_router_not_supported;
    EXPECT_TRUE(reported);
}

// ---- Multiple care-of addresses (RFC 5648) ----

class BulMcoaTest : public BulTest {
protected:
    BindingUpdateListConfig mcoa_config(bool bulk) {
        auto c = config();
        c.multiple_care_of_addresses = true;
        c.bulk_registration = bulk;
        return c;
    }
    static mh::BindingIdentifier bid_status(uint16_t id, BindingAckStatus s) {
        mh::BindingIdentifier b;
        b.binding_id = id;
        b.status = s;
        return b;
    }
};

TEST_F(BulMcoaTest, BulkRegistrationSendsOneBindingUpdate) {
    BindingUpdateList bul(mcoa_config(true));
    auto out = settle(bul, bul.handle(CareOfAddressesAvailable{{{1, coa1}, {2, coa2}}}, clock.now()), clock.now());
    const auto bu = only<SendBindingUpdate>(out).message;
    const auto bids = mh::find_options<mh::BindingIdentifier>(bu.options);
    ASSERT_EQ(bids.size(), 2u);
    EXPECT_EQ(bids[0]->binding_id, 1);
    ASSERT_TRUE(bids[0]->care_of_address);
    EXPECT_EQ(std::get<Ipv6Address>(*bids[0]->care_of_address), coa1);
    EXPECT_EQ(std::get<Ipv6Address>(*bids[1]->care_of_address), coa2);
    auto m = ba(BindingAckStatus::accepted, bu.sequence_number);
    m.options = {bid_status(1, BindingAckStatus::accepted), bid_status(2, BindingAckStatus::accepted)};
    auto acked = ack(bul, m);
    EXPECT_EQ(count_of<InstallBinding>(acked), 2u);
    EXPECT_EQ(bul.entry(1)->state, BulState::bound);
    EXPECT_EQ(bul.entry(2)->state, BulState::bound);
}

TEST_F(BulMcoaTest, BulkRegistrationPartlyAccepted) {
    BindingUpdateList bul(mcoa_config(true));
    auto out = settle(bul, bul.handle(CareOfAddressesAvailable{{{1, coa1}, {2, coa2}}}, clock.now()), clock.now());
    auto m = ba(BindingAckStatus::mcoa_notcomplete, only<SendBindingUpdate>(out).message.sequence_number);
    m.options = {bid_status(1, BindingAckStatus::accepted),
                 bid_status(2, BindingAckStatus::invalid_care_of_address)};
    auto acked = ack(bul, m);
    EXPECT_EQ(only<InstallBinding>(acked).binding_id, 1);
    EXPECT_EQ(bul.entry(1)->state, BulState::bound);
    EXPECT_EQ(bul.entry(2), nullptr);
    EXPECT_FALSE(bul.home_agent_unusable());
}

// RFC 5648 statuses that concern one binding: that binding goes, the others
// and the home agent stay usable.
class BulPerBindingStatus : public BulMcoaTest,
                            public ::testing::WithParamInterface<BindingAckStatus> {};

TEST_P(BulPerBindingStatus, RemovesOnlyThatBinding) {
    BindingUpdateList bul(mcoa_config(true));
    auto out = settle(bul, bul.handle(CareOfAddressesAvailable{{{1, coa1}, {2, coa2}}}, clock.now()), clock.now());
    auto m = ba(BindingAckStatus::mcoa_notcomplete, only<SendBindingUpdate>(out).message.sequence_number);
    m.options = {bid_status(1, GetParam()), bid_status(2, BindingAckStatus::accepted)};
    auto acked = ack(bul, m);
    EXPECT_EQ(bul.entry(1), nullptr);
    ASSERT_NE(bul.entry(2), nullptr);
    EXPECT_EQ(bul.entry(2)->state, BulState::bound);
    EXPECT_FALSE(bul.home_agent_unusable());
    EXPECT_EQ(count_of<SendBindingUpdate>(acked), 0u);
}

INSTANTIATE_TEST_SUITE_P(Rfc5648, BulPerBindingStatus,
                         ::testing::Values(BindingAckStatus::mcoa_malformed,
                                           BindingAckStatus::mcoa_unknown_coa,
                                           BindingAckStatus::mcoa_simultaneous_home_and_foreign_prohibited,
                                           BindingAckStatus::invalid_care_of_address));

TEST_F(BulMcoaTest, NonMcoaBindingExistsFallsBackToOneBinding) {
    BindingUpdateList bul(mcoa_config(false));
    auto out = settle(bul, bul.handle(CareOfAddressesAvailable{{{1, coa1}, {2, coa2}}}, clock.now()), clock.now());
    const auto sends = all_of<SendBindingUpdate>(out);
    ASSERT_EQ(sends.size(), 2u);
    auto fallback = ack(bul, ba(BindingAckStatus::mcoa_non_mcoa_binding_exists,
                                sends[0].message.sequence_number, 0));
    EXPECT_FALSE(bul.multiple_care_of_addresses());
    EXPECT_EQ(bul.entries().size(), 1u);
    EXPECT_EQ(bul.outstanding_binding_updates(), 1u);   // the other binding's BU is abandoned
    const auto bu = only<SendBindingUpdate>(fallback).message;
    EXPECT_EQ(mh::find_option<mh::BindingIdentifier>(bu.options), nullptr);
    EXPECT_EQ(bul.entry(0)->care_of_address, coa1);
}

TEST_F(BulMcoaTest, WithoutBulkEachBindingHasItsOwnBindingUpdate) {
    BindingUpdateList bul(mcoa_config(false));
    auto out = settle(bul, bul.handle(CareOfAddressesAvailable{{{1, coa1}, {2, coa2}}}, clock.now()), clock.now());
    const auto sends = all_of<SendBindingUpdate>(out);
    ASSERT_EQ(sends.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
        const auto bids = mh::find_options<mh::BindingIdentifier>(sends[i].message.options);
        ASSERT_EQ(bids.size(), 1u);
        EXPECT_EQ(bids[0]->binding_id, i + 1);
        EXPECT_FALSE(bids[0]->care_of_address);   // the source address is the care-of address
    }
    EXPECT_EQ(sends[0].source, coa1);
    EXPECT_EQ(sends[1].source, coa2);
    EXPECT_NE(sends[0].message.sequence_number, sends[1].message.sequence_number);
    auto a2 = ack(bul, ba(BindingAckStatus::accepted, sends[1].message.sequence_number));
    EXPECT_EQ(only<InstallBinding>(a2).binding_id, 2);
    EXPECT_EQ(bul.entry(1)->state, BulState::waiting_for_ack);
}

TEST_F(BulMcoaTest, MakeBeforeBreak) {
    BindingUpdateList bul(mcoa_config(false));
    auto out = move(bul, coa1, 1);
    ack(bul, ba(BindingAckStatus::accepted, only<SendBindingUpdate>(out).message.sequence_number));
    ASSERT_EQ(bul.entry(1)->state, BulState::bound);

    auto replace = settle(bul, bul.handle(CareOfAddressReplaced{1, 2, coa2}, clock.now()), clock.now());
    const auto bu = only<SendBindingUpdate>(replace).message;
    ASSERT_EQ(mh::find_options<mh::BindingIdentifier>(bu.options).size(), 1u);
    EXPECT_EQ(mh::find_option<mh::BindingIdentifier>(bu.options)->binding_id, 2);
    EXPECT_EQ(bu.lifetime, 150);
    // The old binding stays untouched until the new one is acknowledged.
    EXPECT_EQ(count_of<RemoveBinding>(replace), 0u);
    EXPECT_EQ(bul.entry(1)->state, BulState::bound);

    auto acked = ack(bul, ba(BindingAckStatus::accepted, bu.sequence_number));
    const size_t install = index_of<InstallBinding>(acked);
    const size_t migrate = index_of<Migrate>(acked);
    const size_t dereg = index_of<SendBindingUpdate>(acked);
    ASSERT_LT(install, acked.size());
    ASSERT_LT(migrate, acked.size());
    ASSERT_LT(dereg, acked.size());
    EXPECT_LT(install, dereg);
    EXPECT_LT(migrate, dereg);
    EXPECT_EQ(std::get<Migrate>(acked[migrate]).old_care_of_address, coa1);
    EXPECT_EQ(std::get<Migrate>(acked[migrate]).new_care_of_address, coa2);
    const auto release = std::get<SendBindingUpdate>(acked[dereg]);
    EXPECT_EQ(release.message.lifetime, 0);
    EXPECT_EQ(mh::find_option<mh::BindingIdentifier>(release.message.options)->binding_id, 1);
    EXPECT_EQ(release.source, coa2);   // sent from the care-of address that works
    EXPECT_EQ(count_of<RemoveBinding>(acked), 0u);
    EXPECT_EQ(bul.entry(1)->state, BulState::waiting_for_deregistration_ack);

    auto released = ack(bul, ba(BindingAckStatus::accepted, release.message.sequence_number, 0));
    EXPECT_EQ(only<RemoveBinding>(released).care_of_address, coa1);
    EXPECT_EQ(bul.entry(1), nullptr);
    EXPECT_EQ(bul.entry(2)->state, BulState::bound);
}

TEST_F(BulMcoaTest, MakeBeforeBreakKeepsOldWhenNewIsRejected) {
    BindingUpdateList bul(mcoa_config(false));
    auto out = move(bul, coa1, 1);
    ack(bul, ba(BindingAckStatus::accepted, only<SendBindingUpdate>(out).message.sequence_number));
    auto replace = settle(bul, bul.handle(CareOfAddressReplaced{1, 2, coa2}, clock.now()), clock.now());
    auto m = ba(BindingAckStatus::invalid_care_of_address, only<SendBindingUpdate>(replace).message.sequence_number, 0);
    auto rejected = ack(bul, m);
    EXPECT_EQ(count_of<SendBindingUpdate>(rejected), 0u);
    EXPECT_EQ(bul.entry(1)->state, BulState::bound);
    EXPECT_EQ(bul.entry(2), nullptr);
}

TEST_F(BulMcoaTest, LostCareOfAddressIsDeregistered) {
    BindingUpdateList bul(mcoa_config(false));
    auto out = settle(bul, bul.handle(CareOfAddressesAvailable{{{1, coa1}, {2, coa2}}}, clock.now()), clock.now());
    for (const auto& s : all_of<SendBindingUpdate>(out)) ack(bul, ba(BindingAckStatus::accepted, s.message.sequence_number));
    auto lost = settle(bul, bul.handle(CareOfAddressLost{2}, clock.now()), clock.now());
    const auto bu = only<SendBindingUpdate>(lost);
    EXPECT_EQ(bu.message.lifetime, 0);
    EXPECT_EQ(bu.source, coa1);
    auto done = ack(bul, ba(BindingAckStatus::mcoa_unknown_coa, bu.message.sequence_number, 0));
    EXPECT_EQ(only<RemoveBinding>(done).binding_id, 2);
    EXPECT_EQ(bul.entry(1)->state, BulState::bound);
}

TEST_F(BulMcoaTest, ReturnHomeDeregistersAllWithoutBindingIdentifiers) {
    BindingUpdateList bul(mcoa_config(true));
    auto out = settle(bul, bul.handle(CareOfAddressesAvailable{{{1, coa1}, {2, coa2}}}, clock.now()), clock.now());
    ack(bul, ba(BindingAckStatus::accepted, only<SendBindingUpdate>(out).message.sequence_number));
    auto home = settle(bul, bul.handle(ReturnedHome{}, clock.now()), clock.now());
    const auto bu = only<SendBindingUpdate>(home);
    EXPECT_EQ(bu.message.lifetime, 0);
    EXPECT_EQ(bu.source, hoa);
    EXPECT_EQ(mh::find_option<mh::BindingIdentifier>(bu.message.options), nullptr);
    auto done = ack(bul, ba(BindingAckStatus::accepted, bu.message.sequence_number, 0));
    EXPECT_EQ(count_of<RemoveBinding>(done), 2u);
    EXPECT_TRUE(bul.entries().empty());
}

TEST_F(BulMcoaTest, BulkProhibitedFallsBackToSingleRegistrations) {
    BindingUpdateList bul(mcoa_config(true));
    auto out = settle(bul, bul.handle(CareOfAddressesAvailable{{{1, coa1}, {2, coa2}}}, clock.now()), clock.now());
    auto fallback = ack(bul, ba(BindingAckStatus::mcoa_bulk_registration_prohibited,
                                only<SendBindingUpdate>(out).message.sequence_number, 0));
    EXPECT_FALSE(bul.bulk_registration());
    const auto sends = all_of<SendBindingUpdate>(fallback);
    ASSERT_EQ(sends.size(), 2u);
    for (const auto& s : sends) EXPECT_EQ(mh::find_options<mh::BindingIdentifier>(s.message.options).size(), 1u);
}

TEST_F(BulMcoaTest, McoaProhibitedFallsBackToOneBinding) {
    BindingUpdateList bul(mcoa_config(false));
    auto out = move(bul, coa1, 7);
    auto fallback = ack(bul, ba(BindingAckStatus::mcoa_prohibited,
                                only<SendBindingUpdate>(out).message.sequence_number, 0));
    EXPECT_FALSE(bul.multiple_care_of_addresses());
    const auto bu = only<SendBindingUpdate>(fallback).message;
    EXPECT_EQ(mh::find_option<mh::BindingIdentifier>(bu.options), nullptr);
    auto acked = ack(bul, ba(BindingAckStatus::accepted, bu.sequence_number));
    EXPECT_EQ(only<InstallBinding>(acked).binding_id, 0);
    EXPECT_EQ(bul.entry(0)->care_of_address, coa1);
}

TEST_F(BulMcoaTest, BindingRefreshRequestNamesBindings) {
    BindingUpdateList bul(mcoa_config(false));
    auto out = settle(bul, bul.handle(CareOfAddressesAvailable{{{1, coa1}, {2, coa2}}}, clock.now()), clock.now());
    for (const auto& s : all_of<SendBindingUpdate>(out)) ack(bul, ba(BindingAckStatus::accepted, s.message.sequence_number));
    mh::BindingRefreshRequest brr;
    brr.options.push_back(bid_status(2, BindingAckStatus::accepted));
    auto refresh = settle(bul, bul.handle(BindingRefreshRequestReceived{ha, brr}, clock.now()), clock.now());
    const auto bu = only<SendBindingUpdate>(refresh);
    EXPECT_EQ(mh::find_option<mh::BindingIdentifier>(bu.message.options)->binding_id, 2);
    EXPECT_EQ(bul.entry(1)->state, BulState::bound);
}

}  // namespace
}  // namespace nemokey::mobility::binding

namespace nemokey::mobility::binding {
namespace {

class BulOverwriteTest : public BulTest {};

TEST_F(BulOverwriteTest, OnlyTheBootstrappingBindingUpdateCarriesO) {
    auto c = config();
    c.multiple_care_of_addresses = true;
    c.bulk_registration = false;
    BindingUpdateList bul(c);
    // RFC 5648 sec. 5.9: the first BU replaces whatever the home agent kept.
    auto first = settle(bul, bul.handle(CareOfAddressesAvailable{{{1, coa1}, {2, coa2}}}, clock.now()), clock.now());
    const auto bus = all_of<SendBindingUpdate>(first);
    ASSERT_EQ(bus.size(), 2u);
    EXPECT_TRUE(bus[0].message.overwrite);
    EXPECT_FALSE(bus[1].message.overwrite) << "a second O would remove the first binding";
    // Its retransmission keeps O.
    auto again = fire_retransmission(bul, first);
    for (const auto& b : all_of<SendBindingUpdate>(again)) {
        const bool first_binding =
            mh::find_options<mh::BindingIdentifier>(b.message.options).front()->binding_id == 1;
        EXPECT_EQ(b.message.overwrite, first_binding);
    }
    // Once bindings are acknowledged, no BU carries O.
    auto m = ba(BindingAckStatus::accepted, bus[0].message.sequence_number);
    ack(bul, m);
    auto later = move(bul, addr("2001:db8:c::10"), 1);
    for (const auto& b : all_of<SendBindingUpdate>(later)) EXPECT_FALSE(b.message.overwrite);
}

}  // namespace
}  // namespace nemokey::mobility::binding

namespace nemokey::mobility::binding {
namespace {

class BulNemoMcoaTest : public BulTest {};

TEST_F(BulNemoMcoaTest, OneRoutePerPrefixWhateverTheNumberOfBindings) {
    auto c = config();
    c.mobile_router = true;
    c.mobile_network_prefixes = {prefix("2001:db8:300::/56")};
    c.multiple_care_of_addresses = true;
    c.bulk_registration = true;
    BindingUpdateList bul(c);
    auto out = settle(bul, bul.handle(CareOfAddressesAvailable{{{1, coa1}, {2, coa2}}}, clock.now()), clock.now());
    auto m = ba(BindingAckStatus::accepted, only<SendBindingUpdate>(out).message.sequence_number, 150, false, true);
    auto acked = ack(bul, m);
    EXPECT_EQ(count_of<InstallBinding>(acked), 2u);
    EXPECT_EQ(count_of<AddRoutes>(acked), 1u) << "the review's probe: one route per care-of address";
    // The binding that carries the routes goes: they are re-pointed, not removed.
    auto lost = settle(bul, bul.handle(CareOfAddressLost{1}, clock.now()), clock.now());
    auto dereg = ack(bul, ba(BindingAckStatus::accepted, only<SendBindingUpdate>(lost).message.sequence_number, 0,
                             false, true));
    EXPECT_EQ(count_of<RemoveRoutes>(dereg), 0u);
    EXPECT_EQ(only<AddRoutes>(dereg).care_of_address, coa2);
}

}  // namespace
}  // namespace nemokey::mobility::binding
