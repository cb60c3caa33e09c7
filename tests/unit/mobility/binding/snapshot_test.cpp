// Snapshot and restore of the binding cache and of the binding update list
// (mobility/core/binding/snapshot.hpp, drafts-notes/snapshot-format.md).
#include "mobility/core/binding/snapshot.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "mobility/core/binding/sequence.hpp"

#include "tests/unit/mobility/binding/test_support.hpp"

namespace nemokey::mobility::binding {
namespace {

using namespace testing;
using mh::BindingAckStatus;
using nlohmann::json;
using std::chrono::seconds;

class AllowAll : public Authorizer {
public:
    std::vector<net::Prefix> configured;
    AuthorizationAnswer authorize(const AuthorizationRequest&) override {
        AuthorizationAnswer a;
        a.verdict = AuthorizationVerdict::authorized;
        a.configured_prefixes = configured;
        return a;
    }
};

constexpr int64_t wall_at_take = 1'790'000'000'000;   // some day in 2026, ms

mh::BindingIdentifier bid(uint16_t id, std::optional<Ipv6Address> coa = std::nullopt) {
    mh::BindingIdentifier b;
    b.binding_id = id;
    if (coa) b.care_of_address = net::IpAddress{*coa};
    return b;
}

// ---- Home agent ----

class CacheSnapshotTest : public ::testing::Test {
protected:
    Ipv6Address ha = addr("2001:db8:1::1");
    Ipv6Address mn = addr("2001:db8:1::10");     // plain mobile node
    Ipv6Address mcoa = addr("2001:db8:1::20");   // two care-of addresses (RFC 5648)
    Ipv6Address mr = addr("2001:db8:1::100");    // mobile router with K (RFC 3963)
    Ipv6Address coa1 = addr("2001:db8:a::10");
    Ipv6Address coa2 = addr("2001:db8:b::10");
    Ipv6Address coa3 = addr("2001:db8:c::10");
    AllowAll auth;
    VirtualClock clock{at_ms(1'000'000)};

    BindingCacheConfig config() {
        BindingCacheConfig c;
        c.home_prefixes = {HomeLinkPrefix{prefix("2001:db8:1::/64"), std::nullopt}};
        c.duplicate_address_detection = false;
        return c;
    }

    ReceivedBindingUpdate bu(const Ipv6Address& hoa, uint16_t seq, const Ipv6Address& coa,
                             uint16_t lifetime_units = 150) {
        ReceivedBindingUpdate r;
        r.source = coa;
        r.destination = ha;
        r.home_address_option = hoa;
        r.ipsec_protected = true;
        r.identity = "node";
        r.message.sequence_number = seq;
        r.message.acknowledge = true;
        r.message.home_registration = true;
        r.message.lifetime = lifetime_units;
        return r;
    }

    Actions send(BindingCache& bc, const ReceivedBindingUpdate& r) {
        return settle(bc, bc.handle(r, clock.now()), clock.now());
    }

    // Three home addresses: a plain binding, two bindings by BID, and a
    // mobile router with two prefixes and K granted; registered at
    // different moments so their expiries differ.
    void populate(BindingCache& bc) {
        auto a = send(bc, bu(mn, 7, coa1, 100));
        ASSERT_EQ(only<SendBindingAcknowledgement>(a).message.status, BindingAckStatus::accepted);
        clock.advance(Duration{12'345});
        auto m = bu(mcoa, 65535, coa1);
        m.message.options = {bid(1, coa1), bid(2, coa2)};
        auto b = send(bc, m);
        ASSERT_EQ(only<SendBindingAcknowledgement>(b).message.status, BindingAckStatus::accepted);
        clock.advance(Duration{1'000});
        auto r = bu(mr, 300, coa3, 15);
        r.message.mobile_router = true;
        r.message.key_management_mobility_capability = true;
        r.message.options = {mh::MobileNetworkPrefix{64, addr("2001:db8:1:100::")},
                             mh::MobileNetworkPrefix{64, addr("2001:db8:1:101::")}};
        auto c = send(bc, r);
        ASSERT_EQ(only<SendBindingAcknowledgement>(c).message.status, BindingAckStatus::accepted);
        clock.advance(Duration{500});
    }

    SnapshotTime taken() const { return SnapshotTime{clock.now(), wall_at_take}; }
};

TEST_F(CacheSnapshotTest, RoundTripKeepsEveryEntry) {
    BindingCache bc(config(), auth);
    populate(bc);
    const BindingCacheSnapshot s = take_snapshot(bc, taken());
    ASSERT_EQ(s.entries.size(), 3u);
    EXPECT_FALSE(check_snapshot(s));
    const std::string text = encode(s);
    auto decoded = decode_binding_cache_snapshot(text);
    ASSERT_TRUE(decoded) << decoded.error().to_string();
    EXPECT_EQ(decoded.value(), s);
    // Encoding is deterministic: the decoded value encodes to the same text.
    EXPECT_EQ(encode(decoded.value()), text);

    const auto* k = bc.find(mr);
    ASSERT_NE(k, nullptr);
    EXPECT_TRUE(k->key_management_mobility);
    EXPECT_EQ(k->mobile_network_prefixes.size(), 2u);
    EXPECT_TRUE(bc.find(mcoa)->multiple_care_of_addresses);
    EXPECT_EQ(bc.find(mcoa)->bindings.size(), 2u);
}

TEST_F(CacheSnapshotTest, DocumentCarriesTheDocumentedFields) {
    BindingCache bc(config(), auth);
    populate(bc);
    const json j = json::parse(encode(take_snapshot(bc, taken())));
    EXPECT_EQ(j["format"], "nemokey-binding-snapshot");
    EXPECT_EQ(j["version"], 1);
    EXPECT_EQ(j["kind"], "binding-cache");
    EXPECT_EQ(j["taken-at"]["monotonic-ms"], clock.now().time_since_epoch().count());
    EXPECT_EQ(j["taken-at"]["wall-clock-ms"], wall_at_take);
    // Entries in home address order: ::10, ::20, ::100.
    ASSERT_EQ(j["entries"].size(), 3u);
    const json& plain = j["entries"][0];
    EXPECT_EQ(plain["home-address"], "2001:db8:1::10");
    EXPECT_EQ(plain["home-agent-address"], "2001:db8:1::1");
    EXPECT_EQ(plain["granted-lifetime"], 400);
    EXPECT_EQ(plain["mobile-router"], false);
    EXPECT_EQ(plain["bindings"][0]["last-sequence"], 7);
    EXPECT_EQ(plain["bindings"][0]["binding-id"], 0);
    // Registered 13 845 ms before the snapshot with 400 s granted.
    EXPECT_EQ(plain["bindings"][0]["expires-in-ms"], 400'000 - 13'845);
    const json& router = j["entries"][2];
    EXPECT_EQ(router["mobile-router"], true);
    EXPECT_EQ(router["key-management-mobility"], true);
    EXPECT_EQ(router["mobile-network-prefixes"], json::array({"2001:db8:1:100::/64", "2001:db8:1:101::/64"}));
    EXPECT_EQ(j["entries"][1]["multiple-care-of-addresses"], true);
    EXPECT_EQ(j["entries"][1]["bindings"][1]["binding-id"], 2);
    EXPECT_EQ(j["entries"][1]["bindings"][1]["last-sequence"], 65535);
}

TEST_F(CacheSnapshotTest, RestoreGivesEqualEntriesAndTheTimersToArm) {
    BindingCache bc(config(), auth);
    populate(bc);
    const auto s = decode_binding_cache_snapshot(encode(take_snapshot(bc, taken())));
    ASSERT_TRUE(s);

    // Same clock, no downtime: everything equal, times included.
    BindingCache again(config(), auth);
    auto restored = restore(again, s.value(), RestoreClock{clock.now(), wall_at_take});
    ASSERT_TRUE(restored) << restored.error().to_string();
    EXPECT_EQ(again.size(), bc.size());
    EXPECT_EQ(again.binding_count(), bc.binding_count());
    EXPECT_EQ(again.prefix_owners(), bc.prefix_owners());
    for (const auto& [hoa, entry] : bc.entries()) {
        const auto* e = again.find(hoa);
        ASSERT_NE(e, nullptr) << hoa.to_string();
        EXPECT_EQ(*e, entry) << hoa.to_string();
    }
    const Actions& out = restored.value();
    auto timers = all_of<ArmTimer>(out);
    ASSERT_EQ(timers.size(), 4u);
    for (const auto& t : timers) {
        EXPECT_EQ(t.key.kind, TimerKind::bc_lifetime);
        const auto* b = bc.find(t.key.home_address)->binding(static_cast<uint16_t>(t.key.id));
        ASSERT_NE(b, nullptr);
        EXPECT_EQ(t.at, b->expires_at);
    }
    auto commits = all_of<CommitKernelState>(out);
    ASSERT_EQ(commits.size(), 3u);
    EXPECT_EQ(commits[0].home_address, mn);
    EXPECT_EQ(commits[1].home_address, mcoa);
    EXPECT_EQ(commits[2].home_address, mr);
    EXPECT_EQ(again.pending_commits(), 3u);
    // Nothing else: no BA, no install (the commit reconciles the kernel).
    EXPECT_EQ(out.size(), 7u);
}

// RFC 6275 sec. 9.5.5: a restored binding gets its Binding Refresh Request
// timer at the same share of its granted lifetime; one whose point passed
// during the downtime fires at once and its BRR goes (the binding is still
// valid); the count of BRRs starts again.
TEST_F(CacheSnapshotTest, RestoreRearmsBindingRefreshRequests) {
    BindingCache bc(config(), auth);
    populate(bc);
    const auto snap = take_snapshot(bc, taken());
    auto c = config();
    c.binding_refresh_request_percent = 90;
    VirtualClock later{at_ms(5'000)};
    BindingCache again(c, auth);
    // 55 s down: the mobile router's 60 s binding has 4.5 s left, less
    // than the 6 s before expiry at which its BRR is due.
    auto restored = restore(again, snap, RestoreClock{later.now(), wall_at_take + 55'000});
    ASSERT_TRUE(restored);
    size_t brr_timers = 0;
    std::optional<ArmTimer> router;
    for (const auto& t : all_of<ArmTimer>(restored.value())) {
        if (t.key.kind != TimerKind::bc_refresh_request) continue;
        ++brr_timers;
        const auto* e = again.find(t.key.home_address);
        ASSERT_NE(e, nullptr);
        const auto* b = e->binding(static_cast<uint16_t>(t.key.id));
        ASSERT_NE(b, nullptr);
        EXPECT_EQ(t.at, b->expires_at - Duration{e->granted_lifetime_seconds * 100});   // 10 % before
        if (t.key.home_address == mr) router = t;
    }
    EXPECT_EQ(brr_timers, again.binding_count());
    EXPECT_EQ(again.refresh_requests_armed(), brr_timers);
    ASSERT_TRUE(router);
    EXPECT_LT(router->at, later.now());   // already due

    auto due = again.handle(TimerExpired{router->key}, later.now());
    const auto brr = only<SendBindingRefreshRequest>(due);
    EXPECT_EQ(brr.destination, mr);
    EXPECT_EQ(brr.care_of_address, coa3);
    EXPECT_EQ(brr.attempt, 1u);
    // Not yet due for the plain binding: its timer is well ahead.
    for (const auto& t : all_of<ArmTimer>(restored.value())) {
        if (t.key.kind == TimerKind::bc_refresh_request && t.key.home_address == mn) {
            EXPECT_GT(t.at, later.now());
        }
    }
}

TEST_F(CacheSnapshotTest, RestoreRebasesOntoTheNewClockMinusDowntime) {
    BindingCache bc(config(), auth);
    populate(bc);
    const auto snap = take_snapshot(bc, taken());
    const Duration remaining = bc.find(mn)->bindings[0].expires_at - clock.now();

    // A new process: its monotonic clock started elsewhere; 30 s passed.
    VirtualClock later{at_ms(77)};
    BindingCache again(config(), auth);
    auto restored = restore(again, snap, RestoreClock{later.now(), wall_at_take + 30'000});
    ASSERT_TRUE(restored);
    const TimePoint expected = later.now() + remaining - Duration{30'000};
    EXPECT_EQ(again.find(mn)->bindings[0].expires_at, expected);

    // The lifetime runs out at the same remaining time, not before.
    later.set(expected - Duration{1});
    auto early = again.handle(TimerExpired{TimerKey{TimerKind::bc_lifetime, mn, 0}}, later.now());
    EXPECT_TRUE(early.empty());
    later.set(expected);
    auto gone = again.handle(TimerExpired{TimerKey{TimerKind::bc_lifetime, mn, 0}}, later.now());
    EXPECT_EQ(only<Report>(gone).kind, ReportKind::binding_expired);
    EXPECT_EQ(only<RemoveBinding>(gone).care_of_address, coa1);
    EXPECT_EQ(again.find(mn), nullptr);
}

TEST_F(CacheSnapshotTest, WallClockSetBackCountsAsNoDowntime) {
    BindingCache bc(config(), auth);
    populate(bc);
    const auto snap = take_snapshot(bc, taken());
    BindingCache again(config(), auth);
    ASSERT_TRUE(restore(again, snap, RestoreClock{clock.now(), wall_at_take - 3'600'000}));
    EXPECT_EQ(again.find(mn)->bindings[0].expires_at, bc.find(mn)->bindings[0].expires_at);
}

TEST_F(CacheSnapshotTest, AfterRestoreTheSequenceRulesHold) {
    BindingCache bc(config(), auth);
    populate(bc);
    BindingCache again(config(), auth);
    auto restored = restore(again, take_snapshot(bc, taken()), RestoreClock{clock.now(), wall_at_take});
    ASSERT_TRUE(restored);
    settle(again, restored.value(), clock.now());

    // RFC 6275 sec. 9.5.1: a number not greater than the last accepted is refused with 135.
    auto stale = send(again, bu(mn, 7, coa1));
    auto ba = only<SendBindingAcknowledgement>(stale).message;
    EXPECT_EQ(ba.status, BindingAckStatus::sequence_number_out_of_window);
    EXPECT_EQ(ba.sequence_number, 7);
    // The MCoA bindings wrapped at 65535: 0 is greater.
    auto m = bu(mcoa, 0, coa1);
    m.message.options = {bid(1, coa1), bid(2, coa2)};
    EXPECT_EQ(only<SendBindingAcknowledgement>(send(again, m)).message.status, BindingAckStatus::accepted);
    auto m_stale = bu(mcoa, 65000, coa1);
    m_stale.message.options = {bid(2, coa2)};
    EXPECT_EQ(only<SendBindingAcknowledgement>(send(again, m_stale)).message.status,
              BindingAckStatus::sequence_number_out_of_window);

    // A refresh is accepted, keeps K and the prefixes, and re-arms the lifetime.
    auto r = bu(mr, 301, coa3, 15);
    r.message.mobile_router = true;
    r.message.key_management_mobility_capability = true;
    r.message.options = {mh::MobileNetworkPrefix{64, addr("2001:db8:1:100::")},
                         mh::MobileNetworkPrefix{64, addr("2001:db8:1:101::")}};
    auto refresh = send(again, r);
    auto rba = only<SendBindingAcknowledgement>(refresh).message;
    EXPECT_EQ(rba.status, BindingAckStatus::accepted);
    EXPECT_TRUE(rba.key_management_mobility_capability);
    EXPECT_EQ(count_of<AddRoutes>(refresh), 0u);   // the prefixes are already there
    EXPECT_EQ(only<ArmTimer>(refresh).at, clock.now() + seconds{60});

    // The prefix owners came back too: another router cannot take them.
    auto thief = bu(addr("2001:db8:1::200"), 1, coa2);
    thief.message.mobile_router = true;
    thief.message.options = {mh::MobileNetworkPrefix{64, addr("2001:db8:1:100::")}};
    EXPECT_EQ(only<SendBindingAcknowledgement>(send(again, thief)).message.status,
              BindingAckStatus::not_authorized_for_prefix);
}

TEST_F(CacheSnapshotTest, RestoreReplacesWhatWasThereAndForgetsHeldAnswers) {
    BindingCache bc(config(), auth);
    populate(bc);
    const auto snap = take_snapshot(bc, taken());
    BindingCache busy(config(), auth);
    // A BA held for its kernel commit: not part of the snapshot.
    auto held = busy.handle(bu(addr("2001:db8:1::99"), 1, coa1), clock.now());
    ASSERT_EQ(busy.pending_commits(), 1u);
    ASSERT_EQ(count_of<SendBindingAcknowledgement>(held), 0u);
    auto restored = restore(busy, snap, RestoreClock{clock.now(), wall_at_take});
    ASSERT_TRUE(restored);
    EXPECT_EQ(busy.find(addr("2001:db8:1::99")), nullptr);
    EXPECT_EQ(busy.size(), 3u);
    // The old commit's outcome finds nothing to answer.
    auto late = busy.handle(KernelOutcome{only<CommitKernelState>(held).operation, true}, clock.now());
    EXPECT_EQ(count_of<SendBindingAcknowledgement>(late), 0u);
}

TEST_F(CacheSnapshotTest, EmptyCacheRoundTrips) {
    BindingCache bc(config(), auth);
    const auto s = take_snapshot(bc, taken());
    auto d = decode_binding_cache_snapshot(encode(s));
    ASSERT_TRUE(d);
    EXPECT_EQ(d.value(), s);
    BindingCache again(config(), auth);
    auto restored = restore(again, d.value(), RestoreClock{clock.now(), wall_at_take});
    ASSERT_TRUE(restored);
    EXPECT_TRUE(restored.value().empty());
}

// ---- Malformed input: every class gives an error naming the field ----

struct Malformed {
    const char* name;
    std::function<void(json&)> mutate;
    const char* field;
    const char* message;   // a part of the message
};

void PrintTo(const Malformed& m, std::ostream* os) { *os << m.name; }

std::string cache_document() {
    BindingCacheSnapshot s;
    s.taken_at = SnapshotTime{at_ms(5'000), wall_at_take};
    BindingCacheEntry router;
    router.home_agent_address = addr("2001:db8:1::1");
    router.mobile_router = true;
    router.granted_lifetime_seconds = 600;
    router.mobile_network_prefixes = {prefix("2001:db8:1:100::/64")};
    router.bindings = {CareOfBinding{addr("2001:db8:a::1"), at_ms(5'000 + 600'000), 0, 9}};
    BindingCacheEntry multi;
    multi.home_agent_address = addr("2001:db8:1::1");
    multi.multiple_care_of_addresses = true;
    multi.granted_lifetime_seconds = 600;
    multi.bindings = {CareOfBinding{addr("2001:db8:b::1"), at_ms(5'000 + 1'000), 1, 3},
                      CareOfBinding{addr("2001:db8:c::1"), at_ms(5'000 - 1'000), 2, 4}};
    s.entries = {{addr("2001:db8:1::100"), router}, {addr("2001:db8:1::20"), multi}};
    return encode(s);
}

class CacheMalformedTest : public ::testing::TestWithParam<Malformed> {};

TEST_P(CacheMalformedTest, RefusedWithFieldAndMessage) {
    json j = json::parse(cache_document());
    GetParam().mutate(j);
    auto d = decode_binding_cache_snapshot(j.dump());
    ASSERT_FALSE(d) << "accepted: " << j.dump();
    EXPECT_EQ(d.error().field, GetParam().field);
    EXPECT_NE(d.error().message.find(GetParam().message), std::string::npos) << d.error().message;
    EXPECT_EQ(d.error().to_string().rfind("snapshot: ", 0), 0u);
    // The generic decoder says the same (unless the kind was changed).
    auto any = decode_snapshot(j.dump());
    ASSERT_FALSE(any);
    if (std::string_view(GetParam().name) != "kind_other") {
        EXPECT_EQ(any.error().field, d.error().field);
    }
}

#define ENTRY(i) j["entries"][i]
#define BINDING(i, k) j["entries"][i]["bindings"][k]

INSTANTIATE_TEST_SUITE_P(
    Snapshot, CacheMalformedTest,
    ::testing::Values(
        Malformed{"not_an_object", [](json& j) { j = json::array(); }, "", "is an array, not a JSON object"},
        Malformed{"format_missing", [](json& j) { j.erase("format"); }, "format", "'format' is missing"},
        Malformed{"format_wrong", [](json& j) { j["format"] = "umip-bcache"; }, "format",
                  "'format' \"umip-bcache\" is not \"nemokey-binding-snapshot\""},
        Malformed{"version_2", [](json& j) { j["version"] = 2; }, "version",
                  "'version' 2 is not supported (this build reads version 1)"},
        Malformed{"version_string", [](json& j) { j["version"] = "1"; }, "version",
                  "'version' is \"1\", not an integer"},
        Malformed{"kind_unknown", [](json& j) { j["kind"] = "cache"; }, "kind",
                  "is neither \"binding-cache\" nor \"binding-update-list\""},
        Malformed{"kind_other", [](json& j) { j["kind"] = "binding-update-list"; }, "kind",
                  "is not \"binding-cache\""},
        Malformed{"unknown_key", [](json& j) { j["comment"] = "hi"; }, "comment", "unknown key 'comment'"},
        Malformed{"unknown_key_in_binding", [](json& j) { BINDING(0, 0)["lifetime"] = 1; },
                  "entries[0].bindings[0].lifetime", "unknown key 'entries[0].bindings[0].lifetime'"},
        Malformed{"taken_at_missing", [](json& j) { j.erase("taken-at"); }, "taken-at", "'taken-at' is missing"},
        Malformed{"wall_clock_negative", [](json& j) { j["taken-at"]["wall-clock-ms"] = -1; },
                  "taken-at.wall-clock-ms", "'taken-at.wall-clock-ms' -1 out of range (0..9007199254740991)"},
        Malformed{"monotonic_float", [](json& j) { j["taken-at"]["monotonic-ms"] = 1.5; },
                  "taken-at.monotonic-ms", "is 1.5, not an integer"},
        Malformed{"entries_object", [](json& j) { j["entries"] = json::object(); }, "entries",
                  "'entries' is an object, not an array"},
        Malformed{"entry_not_object", [](json& j) { ENTRY(1) = 5; }, "entries[1]", "'entries[1]' is 5, not an object"},
        Malformed{"home_address_missing", [](json& j) { ENTRY(0).erase("home-address"); },
                  "entries[0].home-address", "'entries[0].home-address' is missing"},
        Malformed{"home_address_bad", [](json& j) { ENTRY(0)["home-address"] = "2001:db8::zz"; },
                  "entries[0].home-address", "\"2001:db8::zz\" is not an IPv6 address"},
        Malformed{"home_address_ipv4", [](json& j) { ENTRY(0)["home-address"] = "192.0.2.1"; },
                  "entries[0].home-address", "is not an IPv6 address"},
        Malformed{"home_address_number", [](json& j) { ENTRY(0)["home-address"] = 42; },
                  "entries[0].home-address", "is 42, not a string"},
        Malformed{"home_address_multicast", [](json& j) { ENTRY(0)["home-address"] = "ff02::1"; },
                  "entries[0].home-address", "\"ff02::1\" is not a unicast address"},
        Malformed{"home_address_twice", [](json& j) { ENTRY(1)["home-address"] = "2001:db8:1::100"; },
                  "entries[1].home-address", "appears twice (one entry per home address)"},
        Malformed{"mobile_router_string", [](json& j) { ENTRY(0)["mobile-router"] = "yes"; },
                  "entries[0].mobile-router", "is \"yes\", not true or false"},
        Malformed{"granted_lifetime_too_long", [](json& j) { ENTRY(0)["granted-lifetime"] = 262144; },
                  "entries[0].granted-lifetime", "262144 out of range (0..262140)"},
        Malformed{"binding_id_negative", [](json& j) { BINDING(1, 0)["binding-id"] = -1; },
                  "entries[1].bindings[0].binding-id", "-1 out of range (0..65535)"},
        Malformed{"last_sequence_too_big", [](json& j) { BINDING(0, 0)["last-sequence"] = 70000; },
                  "entries[0].bindings[0].last-sequence", "70000 out of range (0..65535)"},
        Malformed{"last_sequence_huge", [](json& j) { BINDING(0, 0)["last-sequence"] = 18446744073709551615ull; },
                  "entries[0].bindings[0].last-sequence", "18446744073709551615 out of range"},
        Malformed{"expires_beyond_lifetime", [](json& j) { BINDING(0, 0)["expires-in-ms"] = 262140001; },
                  "entries[0].bindings[0].expires-in-ms", "262140001 out of range (-9007199254740991..262140000)"},
        Malformed{"care_of_address_missing", [](json& j) { BINDING(0, 0).erase("care-of-address"); },
                  "entries[0].bindings[0].care-of-address", "is missing"},
        Malformed{"bindings_empty", [](json& j) { ENTRY(0)["bindings"] = json::array(); },
                  "entries[0].bindings", "is empty (an entry holds at least one binding)"},
        Malformed{"binding_id_twice", [](json& j) { BINDING(1, 1)["binding-id"] = 1; },
                  "entries[1].bindings[1].binding-id", "1 appears twice in the entry"},
        Malformed{"bid_without_mcoa", [](json& j) { BINDING(0, 0)["binding-id"] = 5; }, "entries[0].bindings",
                  "must be one binding with binding-id 0 when multiple-care-of-addresses is false"},
        Malformed{"prefix_not_normalized",
                  [](json& j) { ENTRY(0)["mobile-network-prefixes"][0] = "2001:db8:1:100::1/64"; },
                  "entries[0].mobile-network-prefixes[0]", "has bits set past its length"},
        Malformed{"prefix_ipv4", [](json& j) { ENTRY(0)["mobile-network-prefixes"][0] = "192.0.2.0/24"; },
                  "entries[0].mobile-network-prefixes[0]", "is not an IPv6 prefix"},
        Malformed{"prefix_length_zero", [](json& j) { ENTRY(0)["mobile-network-prefixes"][0] = "::/0"; },
                  "entries[0].mobile-network-prefixes[0]", "is not an IPv6 prefix of length 1..128"},
        Malformed{"prefix_twice",
                  [](json& j) {
                      ENTRY(1)["mobile-router"] = true;
                      ENTRY(1)["mobile-network-prefixes"] = json::array({"2001:db8:1:100::/64"});
                  },
                  "entries[1].mobile-network-prefixes[0]", "appears twice (one owner per prefix)"},
        Malformed{"prefix_without_router", [](json& j) { ENTRY(0)["mobile-router"] = false; },
                  "entries[0].mobile-network-prefixes", "must be empty when mobile-router is false"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(SnapshotText, NotJsonIsRefused) {
    const std::string good = cache_document();
    for (const std::string& text : {std::string(), good.substr(0, good.size() / 2), std::string("{\"format\":"),
                                    std::string("nemokey"), good + "}"}) {
        auto d = decode_binding_cache_snapshot(text);
        ASSERT_FALSE(d) << text;
        EXPECT_EQ(d.error().field, "");
        EXPECT_EQ(d.error().message.rfind("not valid JSON (", 0), 0u) << d.error().message;
    }
}

TEST(SnapshotText, EveryTruncationIsRefusedWithoutCrash) {
    const std::string good = cache_document();
    for (size_t n = 0; n < good.size(); ++n) {
        auto d = decode_snapshot(std::string_view(good).substr(0, n));
        // Cutting after the last '}' only drops the newline.
        if (good.find_first_not_of(" \n", n) == std::string::npos) continue;
        EXPECT_FALSE(d) << n;
    }
    EXPECT_TRUE(decode_snapshot(good));
}

TEST(SnapshotText, NullOptionalFieldsMeanAbsent) {
    BindingUpdateListSnapshot s;
    s.taken_at = SnapshotTime{at_ms(0), 0};
    s.home_address = addr("2001:db8:1::10");
    s.home_agent_address = addr("2001:db8:1::1");
    s.state.entries.push_back(BulEntry{});
    s.state.entries.back().care_of_address = addr("2001:db8:a::1");
    json j = json::parse(encode(s));
    j["final-status"] = nullptr;
    j["entries"][0]["installed-care-of-address"] = nullptr;
    auto d = decode_binding_update_list_snapshot(j.dump());
    ASSERT_TRUE(d) << d.error().to_string();
    EXPECT_EQ(d.value(), s);
}

TEST(SnapshotText, CheckCatchesValuesBuiltInCode) {
    BindingCacheSnapshot s;
    s.taken_at = SnapshotTime{at_ms(0), 0};
    BindingCacheEntry e;
    e.home_agent_address = addr("2001:db8:1::1");
    e.bindings = {CareOfBinding{addr("2001:db8:a::1"), at_ms(0) + seconds{300'000}, 0, 0}};
    s.entries = {{addr("2001:db8:1::10"), e}};
    auto err = check_snapshot(s);
    ASSERT_TRUE(err);
    EXPECT_EQ(err->field, "entries[0].bindings[0].expires-in-ms");
    EXPECT_EQ(err->message,
              "'entries[0].bindings[0].expires-in-ms' 300000000 out of range (-9007199254740991..262140000)");
    AllowAll auth;
    BindingCache bc(BindingCacheConfig{}, auth);
    auto r = restore(bc, s, RestoreClock{});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().field, "entries[0].bindings[0].expires-in-ms");

    s.taken_at.monotonic = TimePoint{Duration{std::numeric_limits<int64_t>::max()}};
    err = check_snapshot(s);
    ASSERT_TRUE(err);
    EXPECT_EQ(err->field, "taken-at.monotonic-ms");
}

// ---- Mobile node / mobile router ----

class BulSnapshotTest : public ::testing::Test {
protected:
    Ipv6Address hoa = addr("2001:db8:1::10");
    Ipv6Address ha = addr("2001:db8:1::1");
    std::vector<Ipv6Address> coas{addr("2001:db8:a::1"), addr("2001:db8:b::1"), addr("2001:db8:c::1"),
                                  addr("2001:db8:d::1"), addr("2001:db8:e::1"), addr("2001:db8:f::1")};
    VirtualClock clock{at_ms(2'000'000)};

    BindingUpdateListConfig config(bool mcoa = true) {
        BindingUpdateListConfig c;
        c.home_address = hoa;
        c.home_agent_address = ha;
        c.requested_lifetime = seconds{600};
        c.multiple_care_of_addresses = mcoa;
        c.key_management_mobility = true;
        c.max_update_rate = 0;
        return c;
    }

    static mh::BindingAcknowledgement ba(BindingAckStatus status, uint16_t seq, uint16_t units = 150,
                                         bool k = true) {
        mh::BindingAcknowledgement m;
        m.status = status;
        m.sequence_number = seq;
        m.lifetime = units;
        m.key_management_mobility_capability = k;
        return m;
    }

    Actions handle(BindingUpdateList& bul, const MobileNodeEvent& e) {
        return settle(bul, bul.handle(e, clock.now()), clock.now());
    }

    uint16_t move(BindingUpdateList& bul, uint16_t id) {
        auto out = handle(bul, MovedToCareOfAddress{coas[id], id});
        return only<SendBindingUpdate>(out).message.sequence_number;
    }

    Actions ack(BindingUpdateList& bul, const mh::BindingAcknowledgement& m) {
        return handle(bul, BindingAcknowledgementReceived{ha, m, true});
    }

    // One binding in each state (RFC 5648 binding identifiers 1..5) and a
    // make-before-break in progress (6 releases 1 once acknowledged).
    void every_state(BindingUpdateList& bul) {
        ack(bul, ba(BindingAckStatus::accepted, move(bul, 1)));          // 1 bound
        clock.advance(Duration{1'000});
        ack(bul, ba(BindingAckStatus::accepted, move(bul, 2)));          // 2 refreshing
        clock.advance(Duration{1'000});
        move(bul, 3);                                                     // 3 waiting for ack
        ack(bul, ba(BindingAckStatus::accepted, move(bul, 4)));          // 4 deregistering
        handle(bul, CareOfAddressLost{4});
        ack(bul, ba(BindingAckStatus::accepted, move(bul, 5), 0));       // 5 idle
        auto replaced = handle(bul, CareOfAddressReplaced{1, 0, coas[0]});   // 0 releases 1
        ASSERT_EQ(count_of<SendBindingUpdate>(replaced), 1u);
        clock.advance(Duration{2'000});
        // Fire 2's refresh at its time (80 % of 600 s after its BU).
        const TimePoint refresh = bul.entry(2)->refresh_at;
        clock.set(refresh);
        auto r = handle(bul, TimerExpired{TimerKey{TimerKind::bul_refresh, hoa, 2}});
        ASSERT_EQ(count_of<SendBindingUpdate>(r), 1u);
        clock.advance(Duration{250});
        ASSERT_EQ(bul.entry(0)->state, BulState::waiting_for_ack);
        ASSERT_EQ(bul.entry(1)->state, BulState::bound);
        ASSERT_EQ(bul.entry(2)->state, BulState::waiting_for_ack_refresh);
        ASSERT_EQ(bul.entry(3)->state, BulState::waiting_for_ack);
        ASSERT_EQ(bul.entry(4)->state, BulState::waiting_for_deregistration_ack);
        ASSERT_EQ(bul.entry(5)->state, BulState::idle);
    }

    SnapshotTime taken() const { return SnapshotTime{clock.now(), wall_at_take}; }

    static std::vector<BulEntry> without_transactions(const std::map<uint16_t, BulEntry>& entries) {
        std::vector<BulEntry> out;
        for (const auto& [id, e] : entries) {
            out.push_back(e);
            out.back().transaction.reset();
            out.back().kernel_care_of_address.reset();
        }
        return out;
    }
};

TEST_F(BulSnapshotTest, RoundTripInEveryState) {
    BindingUpdateList bul(config());
    every_state(bul);
    const auto s = take_snapshot(bul, taken());
    EXPECT_FALSE(check_snapshot(s));
    EXPECT_EQ(s.state.entries, without_transactions(bul.entries()));
    EXPECT_EQ(s.state.sequence_number, bul.sequence_number());
    EXPECT_FALSE(s.state.returning_home);
    ASSERT_TRUE(s.state.entries[0].releases_binding_id);
    EXPECT_EQ(*s.state.entries[0].releases_binding_id, 1);
    const std::string text = encode(s);
    auto d = decode_binding_update_list_snapshot(text);
    ASSERT_TRUE(d) << d.error().to_string();
    EXPECT_EQ(d.value(), s);
    EXPECT_EQ(encode(d.value()), text);
    auto any = decode_snapshot(text);
    ASSERT_TRUE(any);
    EXPECT_EQ(std::get<BindingUpdateListSnapshot>(any.value()), s);

    const json j = json::parse(text);
    EXPECT_EQ(j["kind"], "binding-update-list");
    EXPECT_EQ(j["entries"][2]["state"], "waiting-for-ack-refresh");
    EXPECT_EQ(j["entries"][1]["key-management-mobility"], true);
    EXPECT_EQ(j["entries"][1]["installed-care-of-address"], "2001:db8:b::1");
    EXPECT_FALSE(j["entries"][3].contains("installed-care-of-address"));
    EXPECT_EQ(j["prefix-mode"], "explicit");
    EXPECT_FALSE(j.contains("final-status"));
    EXPECT_EQ(j["mcoa-bootstrapped"], true);
}

TEST_F(BulSnapshotTest, RestorePicksUpEveryState) {
    BindingUpdateList bul(config());
    every_state(bul);
    const auto s = take_snapshot(bul, taken());
    const uint16_t seq = bul.sequence_number();

    BindingUpdateList again(config());
    auto restored = restore(again, s, RestoreClock{clock.now(), wall_at_take});
    ASSERT_TRUE(restored) << restored.error().to_string();
    EXPECT_EQ(without_transactions(again.entries()), s.state.entries);
    // The refresh of 2 and the deregistration of 4 leave at once; the BUs of
    // 0 and 3 wait for the kernel state of their care-of addresses.
    EXPECT_EQ(count_of<SendBindingUpdate>(restored.value()), 2u);
    const Actions out = settle(again, restored.value(), clock.now());

    // Bound: refresh and lifetime timers where they were.
    std::vector<ArmTimer> timers = all_of<ArmTimer>(out);
    auto armed = [&](TimerKind kind, uint32_t id) -> std::optional<TimePoint> {
        for (const auto& t : timers)
            if (t.key.kind == kind && t.key.id == id) return t.at;
        return std::nullopt;
    };
    EXPECT_EQ(armed(TimerKind::bul_refresh, 1), bul.entry(1)->refresh_at);
    EXPECT_EQ(armed(TimerKind::bul_lifetime, 1), bul.entry(1)->expires_at);
    // Refreshing: the lifetime timer stays, the BU goes again.
    EXPECT_EQ(armed(TimerKind::bul_lifetime, 2), bul.entry(2)->expires_at);
    EXPECT_FALSE(armed(TimerKind::bul_refresh, 2));
    // Idle: nothing at all.
    EXPECT_FALSE(armed(TimerKind::bul_lifetime, 5));

    // BUs for 0, 2, 3 (registration) and 4 (deregistration), numbered on.
    auto bus = all_of<SendBindingUpdate>(out);
    ASSERT_EQ(bus.size(), 4u);
    std::map<uint16_t, mh::BindingUpdate> by_bid;
    for (const auto& b : bus) {
        const auto* o = mh::find_option<mh::BindingIdentifier>(b.message.options);
        ASSERT_NE(o, nullptr);
        by_bid[o->binding_id] = b.message;
    }
    EXPECT_EQ(by_bid.count(0) + by_bid.count(2) + by_bid.count(3) + by_bid.count(4), 4u);
    EXPECT_EQ(by_bid[4].lifetime, 0);
    EXPECT_GT(by_bid[2].lifetime, 0);
    for (const auto& b : bus) EXPECT_TRUE(sequence_greater(b.message.sequence_number, seq));
    // RFC 5648 sec. 5.9: the home agent holds what the entries say; no BU
    // after the restore overwrites the other bindings.
    for (const auto& b : bus) EXPECT_FALSE(b.message.overwrite);
    EXPECT_EQ(again.sequence_number(), static_cast<uint16_t>(seq + 4));
    EXPECT_EQ(again.outstanding_binding_updates(), 4u);
    // No MIGRATE: 0 has no binding installed yet, 2 refreshes where it is.
    EXPECT_EQ(count_of<Migrate>(out), 0u);
    // A commit per installed binding (1, 2, 4): the daemon reconciles; and
    // one before each BU of a care-of address without kernel state (0, 3).
    EXPECT_EQ(count_of<CommitKernelState>(out), 5u);

    // The restored list continues: 0 is acknowledged, then 1 is released.
    auto done = ack(again, ba(BindingAckStatus::accepted, by_bid[0].sequence_number));
    EXPECT_EQ(again.entry(0)->state, BulState::bound);
    EXPECT_EQ(again.entry(1)->state, BulState::waiting_for_deregistration_ack);
    EXPECT_EQ(count_of<Migrate>(done), 1u);
}

TEST_F(BulSnapshotTest, RestoredBindingExpiresAtTheRemainingTime) {
    BindingUpdateList bul(config(false));
    auto sent = handle(bul, MovedToCareOfAddress{coas[1], 0});
    ack(bul, ba(BindingAckStatus::accepted, only<SendBindingUpdate>(sent).message.sequence_number));
    clock.advance(Duration{100'000});
    const auto s = take_snapshot(bul, taken());
    const Duration to_refresh = bul.entry(0)->refresh_at - clock.now();
    const Duration to_expiry = bul.entry(0)->expires_at - clock.now();

    VirtualClock later{at_ms(10)};
    BindingUpdateList again(config(false));
    auto restored = restore(again, s, RestoreClock{later.now(), wall_at_take + 5'000});
    ASSERT_TRUE(restored);
    const auto timers = all_of<ArmTimer>(restored.value());
    ASSERT_EQ(timers.size(), 2u);
    EXPECT_EQ(timers[0].at, later.now() + to_refresh - Duration{5'000});
    EXPECT_EQ(timers[1].at, later.now() + to_expiry - Duration{5'000});

    // The refresh fires: a BU numbered after the snapshot's.
    later.set(timers[0].at);
    auto refresh = again.handle(TimerExpired{timers[0].key}, later.now());
    EXPECT_EQ(only<SendBindingUpdate>(refresh).message.sequence_number,
              static_cast<uint16_t>(s.state.sequence_number + 1));
    // No answer: the lifetime ends at the remaining time.
    later.set(timers[1].at - Duration{1});
    EXPECT_EQ(count_of<Report>(again.handle(TimerExpired{timers[1].key}, later.now())), 0u);
    later.set(timers[1].at);
    auto lost = again.handle(TimerExpired{timers[1].key}, later.now());
    EXPECT_EQ(only<Report>(lost).kind, ReportKind::binding_lost);
    EXPECT_EQ(only<RemoveBinding>(lost).care_of_address, coas[1]);
}

TEST_F(BulSnapshotTest, ReturningHomeSendsTheDeregistrationFromHome) {
    BindingUpdateList bul(config(false));
    auto sent = handle(bul, MovedToCareOfAddress{coas[1], 0});
    ack(bul, ba(BindingAckStatus::accepted, only<SendBindingUpdate>(sent).message.sequence_number));
    handle(bul, ReturnedHome{});
    const auto s = take_snapshot(bul, taken());
    EXPECT_TRUE(s.state.returning_home);
    auto d = decode_binding_update_list_snapshot(encode(s));
    ASSERT_TRUE(d);
    EXPECT_TRUE(d.value().state.returning_home);

    BindingUpdateList again(config(false));
    auto restored = restore(again, d.value(), RestoreClock{clock.now(), wall_at_take});
    ASSERT_TRUE(restored);
    // RFC 6275 sec. 11.5.4: the care-of state goes before the BU leaves
    // from the home address (its hao state would add a Home Address option).
    EXPECT_EQ(count_of<SendBindingUpdate>(restored.value()), 0u);
    Actions after_commit;
    for (const auto& c : all_of<CommitKernelState>(restored.value()))
        for (auto& a : again.handle(KernelOutcome{c.operation, true}, clock.now())) after_commit.push_back(a);
    const auto bu = only<SendBindingUpdate>(after_commit);
    EXPECT_EQ(bu.source, hoa);
    EXPECT_FALSE(bu.home_address_option);
    EXPECT_EQ(bu.message.lifetime, 0);
    // RFC 6275 sec. 11.7.1: with K the IKE SA follows home on the BA.
    auto done = ack(again, ba(BindingAckStatus::accepted, bu.message.sequence_number, 0));
    EXPECT_EQ(only<Migrate>(done).new_care_of_address, hoa);
    EXPECT_TRUE(again.entries().empty());
}

TEST_F(BulSnapshotTest, UnusableHomeAgentStaysUnusable) {
    BindingUpdateList bul(config(false));
    auto sent = handle(bul, MovedToCareOfAddress{coas[1], 0});
    ack(bul, ba(BindingAckStatus::administratively_prohibited,
                only<SendBindingUpdate>(sent).message.sequence_number));
    ASSERT_TRUE(bul.home_agent_unusable());
    const auto s = take_snapshot(bul, taken());
    const json j = json::parse(encode(s));
    EXPECT_EQ(j["final-status"], 129);
    auto d = decode_binding_update_list_snapshot(j.dump());
    ASSERT_TRUE(d);
    BindingUpdateList again(config(false));
    ASSERT_TRUE(restore(again, d.value(), RestoreClock{clock.now(), wall_at_take}));
    EXPECT_TRUE(again.home_agent_unusable());
    EXPECT_EQ(again.final_status(), BindingAckStatus::administratively_prohibited);
    auto out = again.handle(MovedToCareOfAddress{coas[2], 0}, clock.now());
    EXPECT_EQ(only<Report>(out).kind, ReportKind::home_agent_unusable);
    EXPECT_EQ(count_of<SendBindingUpdate>(out), 0u);
}

TEST_F(BulSnapshotTest, MobileRouterPrefixModeAndFallbacksRoundTrip) {
    auto c = config();
    c.mobile_router = true;
    c.bulk_registration = true;
    c.prefix_mode = PrefixMode::implicit_mode;
    c.mobile_network_prefixes = {prefix("2001:db8:1:100::/64")};
    BindingUpdateList bul(c);
    auto out = handle(bul, CareOfAddressesAvailable{{{1, coas[1]}, {2, coas[2]}}});
    const auto bu = only<SendBindingUpdate>(out);
    // RFC 5648: bulk refused; RFC 3963: no prefixes known in implicit mode.
    auto m = ba(BindingAckStatus::mcoa_bulk_registration_prohibited, bu.message.sequence_number);
    ack(bul, m);
    ASSERT_FALSE(bul.bulk_registration());
    const auto s = take_snapshot(bul, taken());
    EXPECT_FALSE(s.state.bulk_registration);
    EXPECT_TRUE(s.state.multiple_care_of_addresses);
    EXPECT_EQ(s.state.prefix_mode, PrefixMode::implicit_mode);
    auto d = decode_binding_update_list_snapshot(encode(s));
    ASSERT_TRUE(d);
    EXPECT_EQ(d.value(), s);

    BindingUpdateList again(c);
    auto restored = restore(again, d.value(), RestoreClock{clock.now(), wall_at_take});
    ASSERT_TRUE(restored);
    EXPECT_FALSE(again.bulk_registration());
    EXPECT_EQ(again.prefix_mode(), PrefixMode::implicit_mode);
    // Without bulk each binding has its own BU again (after its kernel state).
    // Nothing was ever accepted: the first one sets O (RFC 5648 sec. 5.9).
    EXPECT_FALSE(s.state.mcoa_bootstrapped);
    const auto bus = all_of<SendBindingUpdate>(settle(again, restored.value(), clock.now()));
    ASSERT_EQ(bus.size(), 2u);
    EXPECT_NE(bus[0].message.overwrite, bus[1].message.overwrite);

    // A configuration now explicit wins over the implicit mode of the snapshot.
    auto e = c;
    e.prefix_mode = PrefixMode::explicit_mode;
    BindingUpdateList explicit_list(e);
    ASSERT_TRUE(restore(explicit_list, d.value(), RestoreClock{clock.now(), wall_at_take}));
    EXPECT_EQ(explicit_list.prefix_mode(), PrefixMode::explicit_mode);
}

TEST_F(BulSnapshotTest, RestoreRefusesAnotherNodesSnapshot) {
    BindingUpdateList bul(config());
    every_state(bul);
    const auto s = take_snapshot(bul, taken());
    auto other = config();
    other.home_address = addr("2001:db8:1::99");
    BindingUpdateList wrong_hoa(other);
    auto r = restore(wrong_hoa, s, RestoreClock{clock.now(), wall_at_take});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().field, "home-address");
    EXPECT_EQ(r.error().message,
              "'home-address' \"2001:db8:1::10\" is not the configured home address 2001:db8:1::99");
    auto other_ha = config();
    other_ha.home_agent_address = addr("2001:db8:1::2");
    BindingUpdateList wrong_ha(other_ha);
    r = restore(wrong_ha, s, RestoreClock{clock.now(), wall_at_take});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().field, "home-agent-address");
    BindingUpdateList no_mcoa(config(false));
    r = restore(no_mcoa, s, RestoreClock{clock.now(), wall_at_take});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().field, "multiple-care-of-addresses");
    EXPECT_TRUE(no_mcoa.entries().empty());
}

TEST_F(BulSnapshotTest, DynamicKeyingWaitsForTheKeyManagerAfterRestore) {
    auto c = config(false);
    c.dynamic_keying = true;
    BindingUpdateList bul(c);
    handle(bul, SecurityAssociationsReady{});
    auto sent = handle(bul, MovedToCareOfAddress{coas[1], 0});
    const auto s = take_snapshot(bul, taken());   // waiting for the BA
    BindingUpdateList again(c);
    auto restored = restore(again, s, RestoreClock{clock.now(), wall_at_take});
    ASSERT_TRUE(restored);
    EXPECT_EQ(count_of<SendBindingUpdate>(restored.value()), 0u);
    EXPECT_EQ(only<Report>(restored.value()).kind, ReportKind::waiting_for_security_associations);
    auto ready = settle(again, again.handle(SecurityAssociationsReady{}, clock.now()), clock.now());
    EXPECT_EQ(only<SendBindingUpdate>(ready).message.sequence_number,
              static_cast<uint16_t>(only<SendBindingUpdate>(sent).message.sequence_number + 1));
}

// Both sides restored from their snapshots keep talking.
TEST_F(BulSnapshotTest, RestoredNodeAndHomeAgentAgreeOnSequenceNumbers) {
    BindingCacheConfig hc;
    hc.home_prefixes = {HomeLinkPrefix{prefix("2001:db8:1::/64"), std::nullopt}};
    hc.duplicate_address_detection = false;
    AllowAll auth;
    BindingCache bc(hc, auth);
    BindingUpdateList bul(config(false));
    auto relay = [&](BindingCache& cache, BindingUpdateList& list, const Actions& from_list) {
        for (const auto& b : all_of<SendBindingUpdate>(from_list)) {
            ReceivedBindingUpdate r{b.source, b.destination, b.home_address_option, true, "mn", b.message};
            auto answer = settle(cache, cache.handle(r, clock.now()), clock.now());
            for (const auto& a : all_of<SendBindingAcknowledgement>(answer))
                return handle(list, BindingAcknowledgementReceived{ha, a.message, true});
        }
        return Actions{};
    };
    relay(bc, bul, handle(bul, MovedToCareOfAddress{coas[1], 0}));
    ASSERT_EQ(bul.entry(0)->state, BulState::bound);
    clock.advance(Duration{60'000});
    const auto node = take_snapshot(bul, taken());
    const auto agent = take_snapshot(bc, taken());

    VirtualClock later{at_ms(1)};
    clock.set(later.now());
    BindingCache bc2(hc, auth);
    BindingUpdateList bul2(config(false));
    ASSERT_TRUE(restore(bc2, agent, RestoreClock{later.now(), wall_at_take + 2'000}));
    auto timers = restore(bul2, node, RestoreClock{later.now(), wall_at_take + 2'000});
    ASSERT_TRUE(timers);
    const ArmTimer refresh = all_of<ArmTimer>(timers.value())[0];
    clock.set(refresh.at);
    auto out = relay(bc2, bul2, bul2.handle(TimerExpired{refresh.key}, clock.now()));
    EXPECT_EQ(only<Report>(out).kind, ReportKind::registered);
    EXPECT_EQ(bul2.entry(0)->state, BulState::bound);
}

// ---- Malformed binding update list documents ----

std::string list_document() {
    BindingUpdateListSnapshot s;
    s.taken_at = SnapshotTime{at_ms(5'000), wall_at_take};
    s.home_address = addr("2001:db8:1::10");
    s.home_agent_address = addr("2001:db8:1::1");
    s.state.sequence_number = 10;
    s.state.multiple_care_of_addresses = true;
    s.state.bulk_registration = true;
    BulEntry a;
    a.binding_id = 1;
    a.state = BulState::bound;
    a.care_of_address = addr("2001:db8:a::1");
    a.installed_care_of_address = a.care_of_address;
    a.granted_lifetime = seconds{600};
    a.expires_at = at_ms(5'000 + 500'000);
    a.refresh_at = at_ms(5'000 + 380'000);
    BulEntry b = a;
    b.binding_id = 2;
    b.state = BulState::waiting_for_deregistration_ack;
    s.state.entries = {a, b};
    return encode(s);
}

class ListMalformedTest : public ::testing::TestWithParam<Malformed> {};

TEST_P(ListMalformedTest, RefusedWithFieldAndMessage) {
    json j = json::parse(list_document());
    ASSERT_TRUE(decode_binding_update_list_snapshot(j.dump()));
    GetParam().mutate(j);
    auto d = decode_binding_update_list_snapshot(j.dump());
    ASSERT_FALSE(d) << "accepted: " << j.dump();
    EXPECT_EQ(d.error().field, GetParam().field);
    EXPECT_NE(d.error().message.find(GetParam().message), std::string::npos) << d.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Snapshot, ListMalformedTest,
    ::testing::Values(
        Malformed{"kind_other", [](json& j) { j["kind"] = "binding-cache"; }, "kind",
                  "is not \"binding-update-list\""},
        Malformed{"state_unknown", [](json& j) { ENTRY(0)["state"] = "flying"; }, "entries[0].state",
                  "\"flying\" is not a state"},
        Malformed{"prefix_mode_unknown", [](json& j) { j["prefix-mode"] = "sideways"; }, "prefix-mode",
                  "is neither \"implicit\" nor \"explicit\""},
        Malformed{"sequence_too_big", [](json& j) { j["sequence-number"] = 65536; }, "sequence-number",
                  "65536 out of range (0..65535)"},
        Malformed{"final_status_too_big", [](json& j) { j["final-status"] = 300; }, "final-status",
                  "300 out of range (0..255)"},
        Malformed{"final_status_while_usable", [](json& j) { j["final-status"] = 129; }, "final-status",
                  "'final-status' is set but 'home-agent-unusable' is false"},
        Malformed{"unusable_with_entries", [](json& j) { j["home-agent-unusable"] = true; }, "entries",
                  "must be empty when 'home-agent-unusable' is true"},
        Malformed{"bulk_without_mcoa",
                  [](json& j) {
                      j["multiple-care-of-addresses"] = false;
                      j["entries"] = json::array();
                  },
                  "bulk-registration", "'bulk-registration' is true but 'multiple-care-of-addresses' is false"},
        Malformed{"bid_without_mcoa",
                  [](json& j) {
                      j["multiple-care-of-addresses"] = false;
                      j["bulk-registration"] = false;
                  },
                  "entries[0].binding-id", "must be 0 when 'multiple-care-of-addresses' is false"},
        Malformed{"binding_id_twice", [](json& j) { ENTRY(1)["binding-id"] = 1; }, "entries[1].binding-id",
                  "appears twice (one entry per binding identifier)"},
        Malformed{"returning_home_without_deregistration",
                  [](json& j) {
                      j["returning-home"] = true;
                      ENTRY(1)["state"] = "bound";
                  },
                  "returning-home", "no entry is in state waiting-for-deregistration-ack"},
        Malformed{"refresh_out_of_range", [](json& j) { ENTRY(0)["refresh-in-ms"] = 1e300; },
                  "entries[0].refresh-in-ms", "not an integer"},
        Malformed{"refresh_too_far", [](json& j) { ENTRY(0)["refresh-in-ms"] = 9'007'199'254'740'992ll; },
                  "entries[0].refresh-in-ms", "out of range"},
        Malformed{"installed_bad", [](json& j) { ENTRY(0)["installed-care-of-address"] = "here"; },
                  "entries[0].installed-care-of-address", "\"here\" is not an IPv6 address"},
        Malformed{"releases_too_big", [](json& j) { ENTRY(0)["releases-binding-id"] = 65536; },
                  "entries[0].releases-binding-id", "out of range (0..65535)"},
        Malformed{"k_missing", [](json& j) { ENTRY(0).erase("key-management-mobility"); },
                  "entries[0].key-management-mobility", "is missing"},
        Malformed{"home_agent_unspecified", [](json& j) { j["home-agent-address"] = "::"; },
                  "home-agent-address", "is not a unicast address"}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace nemokey::mobility::binding
