// Random event sequences (fixed seeds) against both machines, checking
// invariants after every step: timers armed where the state needs them,
// installs and removals balanced, counters consistent. Catches orders of
// events the hand-written tests do not think of.
#include <gtest/gtest.h>

#include <random>
#include <unordered_map>

#include "mobility/core/binding/binding_cache.hpp"
#include "mobility/core/binding/binding_update_list.hpp"
#include "tests/unit/mobility/binding/test_support.hpp"

namespace nemokey::mobility::binding {
namespace {

using namespace testing;
using mh::BindingAckStatus;
using std::chrono::seconds;

const BindingAckStatus statuses[] = {
    BindingAckStatus::accepted, BindingAckStatus::accepted, BindingAckStatus::accepted,
    BindingAckStatus::accepted_prefix_discovery_necessary, BindingAckStatus::mcoa_notcomplete,
    BindingAckStatus::reason_unspecified, BindingAckStatus::insufficient_resources,
    BindingAckStatus::sequence_number_out_of_window, BindingAckStatus::not_home_agent_for_this_mobile_node,
    BindingAckStatus::forwarding_setup_failed, BindingAckStatus::mcoa_bulk_registration_prohibited,
    BindingAckStatus::mcoa_prohibited, BindingAckStatus::mcoa_unknown_coa,
    BindingAckStatus::invalid_care_of_address, BindingAckStatus::administratively_prohibited,
};

struct Driver {
    std::unordered_map<TimerKey, TimePoint> timers;
    int64_t installed = 0;
    void apply(const Actions& out) {
        for (const auto& a : out) {
            if (auto* t = std::get_if<ArmTimer>(&a)) timers[t->key] = t->at;
            if (auto* t = std::get_if<CancelTimer>(&a)) timers.erase(t->key);
            if (std::holds_alternative<InstallBinding>(a)) ++installed;
            if (std::holds_alternative<RemoveBinding>(a)) --installed;
        }
    }
    bool armed(TimerKind kind, const Ipv6Address& hoa, uint32_t id) const {
        return timers.contains(TimerKey{kind, hoa, id});
    }
};

class RandomizedBul : public ::testing::TestWithParam<unsigned> {};

TEST_P(RandomizedBul, InvariantsHold) {
    std::mt19937 rng(GetParam());
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
    BindingUpdateListConfig c;
    c.home_address = addr("2001:db8:1::100");
    c.home_agent_address = addr("2001:db8:1::1");
    c.requested_lifetime = seconds{60};
    c.multiple_care_of_addresses = pick(2) == 0;
    c.bulk_registration = pick(2) == 0;
    c.mobile_router = pick(2) == 0;
    c.prefix_mode = pick(2) ? PrefixMode::implicit_mode : PrefixMode::explicit_mode;
    c.mobile_network_prefixes = {prefix("2001:db8:100::/48")};
    c.max_retransmissions = static_cast<unsigned>(pick(4));
    c.initial_sequence_number = static_cast<uint16_t>(65530 + pick(6));
    BindingUpdateList bul(c);
    Driver d;
    TimePoint now{};
    const Ipv6Address coas[] = {addr("2001:db8:a::1"), addr("2001:db8:b::1"), addr("2001:db8:c::1")};

    for (int step = 0; step < 400; ++step) {
        MobileNodeEvent ev;
        switch (pick(9)) {
            case 0: ev = MovedToCareOfAddress{coas[pick(3)], static_cast<uint16_t>(1 + pick(3))}; break;
            case 1: ev = CareOfAddressesAvailable{{{1, coas[0]}, {2, coas[1]}, {3, coas[pick(3)]}}}; break;
            case 2: ev = CareOfAddressReplaced{static_cast<uint16_t>(1 + pick(3)), static_cast<uint16_t>(1 + pick(3)), coas[pick(3)]}; break;
            case 3: ev = CareOfAddressLost{static_cast<uint16_t>(1 + pick(3))}; break;
            case 4: ev = ReturnedHome{}; break;
            case 5: {
                mh::BindingRefreshRequest brr;
                if (pick(2)) {
                    mh::BindingIdentifier o;
                    o.binding_id = static_cast<uint16_t>(1 + pick(3));
                    brr.options.push_back(o);
                }
                ev = BindingRefreshRequestReceived{c.home_agent_address, brr};
                break;
            }
            case 6: {
                mh::BindingError be;
                be.status = pick(4) ? mh::BindingErrorStatus::unknown_binding_for_home_address_destination_option
                                    : mh::BindingErrorStatus::unrecognized_mh_type_value;
                be.home_address = c.home_address;
                ev = BindingErrorReceived{c.home_agent_address, be};
                break;
            }
            case 7: {
                // Advance time and fire what is due, earliest first.
                now += Duration{pick(40000)};
                while (true) {
                    auto due = d.timers.end();
                    for (auto it = d.timers.begin(); it != d.timers.end(); ++it)
                        if (it->second <= now && (due == d.timers.end() || it->second < due->second)) due = it;
                    if (due == d.timers.end()) break;
                    const TimerKey key = due->first;
                    d.timers.erase(due);
                    d.apply(settle(bul, bul.handle(TimerExpired{key}, now), now, pick(8) != 0));
                }
                continue;
            }
            default: {
                mh::BindingAcknowledgement ba;
                ba.status = statuses[pick(std::size(statuses))];
                ba.sequence_number = static_cast<uint16_t>(bul.sequence_number() - pick(3));
                ba.lifetime = static_cast<uint16_t>(pick(20));
                ba.mobile_router = pick(4) != 0;
                ba.key_management_mobility_capability = pick(2);
                for (uint16_t b = 1; b <= 3; ++b) {
                    if (pick(2)) {
                        mh::BindingIdentifier o;
                        o.binding_id = b;
                        o.status = statuses[pick(std::size(statuses))];
                        ba.options.push_back(o);
                    }
                }
                ev = BindingAcknowledgementReceived{c.home_agent_address, ba, pick(20) != 0};
            }
        }
        d.apply(settle(bul, bul.handle(ev, now), now, pick(8) != 0));

        // ---- invariants ----
        int64_t installed = 0;
        for (const auto& [id, e] : bul.entries()) {
            SCOPED_TRACE(::testing::Message() << "seed " << GetParam() << " step " << step << " bid " << id
                                              << " state " << to_string(e.state));
            ASSERT_EQ(e.binding_id, id);
            if (e.installed_care_of_address) ++installed;
            switch (e.state) {
                case BulState::bound:
                    EXPECT_FALSE(e.transaction);
                    EXPECT_TRUE(d.armed(TimerKind::bul_refresh, c.home_address, id));
                    EXPECT_TRUE(d.armed(TimerKind::bul_lifetime, c.home_address, id));
                    break;
                case BulState::waiting_for_ack_refresh:
                    EXPECT_TRUE(d.armed(TimerKind::bul_lifetime, c.home_address, id));
                    [[fallthrough]];
                case BulState::waiting_for_ack:
                case BulState::waiting_for_deregistration_ack:
                    ASSERT_TRUE(e.transaction);
                    EXPECT_TRUE(d.armed(TimerKind::bul_retransmission, c.home_address, *e.transaction));
                    break;
                case BulState::idle:
                    EXPECT_FALSE(e.transaction);
                    break;
            }
            if (!bul.multiple_care_of_addresses()) {
                EXPECT_EQ(id, 0);
            }
        }
        ASSERT_EQ(installed, d.installed) << "seed " << GetParam() << " step " << step;
        if (bul.home_agent_unusable()) {
            EXPECT_TRUE(bul.entries().empty());
            EXPECT_TRUE(d.timers.empty());
            for (const auto& [k, t] : d.timers)
                ADD_FAILURE() << "timer left: kind " << static_cast<int>(k.kind) << " id " << k.id;
        }
        // Every armed retransmission timer belongs to an outstanding BU.
        size_t retransmission_timers = 0;
        for (const auto& [k, t] : d.timers)
            if (k.kind == TimerKind::bul_retransmission) ++retransmission_timers;
        EXPECT_EQ(retransmission_timers, bul.outstanding_binding_updates());
        if (::testing::Test::HasFailure()) return;
    }
}

INSTANTIATE_TEST_SUITE_P(Seeds, RandomizedBul, ::testing::Range(1u, 201u));

class RandomizedCache : public ::testing::TestWithParam<unsigned> {};

class CoinAuthorizer : public Authorizer {
public:
    std::mt19937* rng = nullptr;
    AuthorizationAnswer authorize(const AuthorizationRequest&) override {
        AuthorizationAnswer a;
        const unsigned r = (*rng)() % 10;
        a.verdict = r < 7 ? AuthorizationVerdict::authorized
                    : r == 7 ? AuthorizationVerdict::administratively_prohibited
                    : r == 8 ? AuthorizationVerdict::not_authorized_for_prefix
                             : AuthorizationVerdict::not_home_agent_for_this_mobile_node;
        if ((*rng)() % 2) a.configured_prefixes = {prefix("2001:db8:300::/56")};
        return a;
    }
};

TEST_P(RandomizedCache, InvariantsHold) {
    std::mt19937 rng(GetParam());
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
    CoinAuthorizer auth;
    auth.rng = &rng;
    BindingCacheConfig c;
    c.home_prefixes = {HomeLinkPrefix{prefix("2001:db8:1::/64"), std::nullopt}};
    c.duplicate_address_detection = pick(2) == 0;
    c.max_bindings = static_cast<size_t>(pick(6));
    // RFC 6275 sec. 9.5.5: Binding Refresh Requests on half the seeds.
    c.binding_refresh_request_percent = static_cast<uint8_t>(pick(2) ? 0 : 50 + pick(50));
    c.brr_retransmissions = static_cast<unsigned>(pick(4));
    BindingCache bc(c, auth);
    Driver d;
    TimePoint now{};
    const Ipv6Address hoas[] = {addr("2001:db8:1::100"), addr("2001:db8:1::200"), addr("2001:db8:1::300")};
    const Ipv6Address coas[] = {addr("2001:db8:a::1"), addr("2001:db8:b::1"), addr("fe80::1")};
    uint16_t seq[3] = {0, 0, 0};
    size_t brrs_sent = 0;
    // A BRR goes only for a binding that exists and has not expired, to its
    // home address, from the address it was registered with, and never
    // beyond the configured retransmissions.
    auto check_brrs = [&](const Actions& out) {
        for (const auto& brr : all_of<SendBindingRefreshRequest>(out)) {
            ++brrs_sent;
            EXPECT_NE(c.binding_refresh_request_percent, 0);
            const BindingCacheEntry* e = bc.find(brr.destination);
            ASSERT_NE(e, nullptr);
            const CareOfBinding* b = e->binding(brr.binding_id);
            ASSERT_NE(b, nullptr);
            EXPECT_EQ(b->care_of_address, brr.care_of_address);
            EXPECT_LT(now, b->expires_at);
            EXPECT_EQ(brr.source, e->home_agent_address);
            EXPECT_GE(brr.attempt, 1u);
            EXPECT_LE(brr.attempt, 1 + c.brr_retransmissions);
            EXPECT_EQ(brr.message.options.empty(), !e->multiple_care_of_addresses);
        }
    };
    auto apply = [&](const Actions& out) {
        check_brrs(out);
        d.apply(out);
    };

    for (int step = 0; step < 400; ++step) {
        const int h = pick(3);
        switch (pick(5)) {
            case 0: {
                now += Duration{pick(200000)};
                while (true) {
                    auto due = d.timers.end();
                    for (auto it = d.timers.begin(); it != d.timers.end(); ++it)
                        if (it->second <= now && (due == d.timers.end() || it->second < due->second)) due = it;
                    if (due == d.timers.end()) break;
                    const TimerKey key = due->first;
                    d.timers.erase(due);
                    apply(settle(bc, bc.handle(TimerExpired{key}, now), now, pick(8) != 0));
                }
                break;
            }
            case 1:
                apply(settle(bc, bc.handle(DuplicateAddressDetectionResult{hoas[h], pick(4) == 0}, now), now, pick(8) != 0));
                break;
            default: {
                ReceivedBindingUpdate r;
                r.source = coas[pick(3)];
                r.destination = addr("2001:db8:1::1");
                r.home_address_option = hoas[h];
                r.ipsec_protected = pick(10) != 0;
                r.identity = "CN=x";
                seq[h] = static_cast<uint16_t>(seq[h] + pick(3));   // sometimes a repeat
                r.message.sequence_number = seq[h];
                r.message.home_registration = pick(10) != 0;
                r.message.mobile_router = pick(3) == 0;
                r.message.key_management_mobility_capability = pick(2);
                r.message.lifetime = static_cast<uint16_t>(pick(3) ? 10 + pick(20) : 0);
                if (r.message.mobile_router && pick(2))
                    r.message.options.push_back(mh::MobileNetworkPrefix{48, addr("2001:db8:100::")});
                const int bids = pick(4);
                for (int b = 0; b < bids && b < 3; ++b) {
                    mh::BindingIdentifier o;
                    o.binding_id = static_cast<uint16_t>(1 + pick(3));
                    if (pick(2)) o.care_of_address = net::IpAddress{coas[pick(2)]};
                    r.message.options.push_back(o);
                }
                apply(settle(bc, bc.handle(r, now), now, pick(8) != 0));
            }
        }
        SCOPED_TRACE(::testing::Message() << "seed " << GetParam() << " step " << step);
        size_t bindings = 0;
        for (const auto& hoa : hoas) {
            const BindingCacheEntry* e = bc.find(hoa);
            if (!e) continue;
            ASSERT_FALSE(e->bindings.empty());
            for (const auto& b : e->bindings) {
                ++bindings;
                EXPECT_TRUE(d.armed(TimerKind::bc_lifetime, hoa, b.binding_id));
                EXPECT_GT(b.expires_at, now);
            }
        }
        ASSERT_EQ(bindings, bc.binding_count());
        ASSERT_EQ(static_cast<int64_t>(bindings), d.installed);
        // Every armed BRR timer belongs to a binding and fires before it expires.
        size_t brr_timers = 0;
        for (const auto& [key, at] : d.timers) {
            if (key.kind != TimerKind::bc_refresh_request) continue;
            ++brr_timers;
            const BindingCacheEntry* e = bc.find(key.home_address);
            ASSERT_NE(e, nullptr);
            const CareOfBinding* b = e->binding(static_cast<uint16_t>(key.id));
            ASSERT_NE(b, nullptr);
            EXPECT_LT(at, b->expires_at);
        }
        EXPECT_EQ(brr_timers, bc.refresh_requests_armed());
        if (c.binding_refresh_request_percent == 0) {
            EXPECT_EQ(brr_timers, 0u);
        }
        if (c.max_bindings != 0) {
            EXPECT_LE(bc.binding_count(), c.max_bindings);
        }
        if (::testing::Test::HasFailure()) return;
    }
    RecordProperty("binding_refresh_requests_sent", static_cast<int>(brrs_sent));
}

INSTANTIATE_TEST_SUITE_P(Seeds, RandomizedCache, ::testing::Range(1u, 201u));

}  // namespace
}  // namespace nemokey::mobility::binding
