// Binding cache (home agent): acceptance rules and status codes.
#include "mobility/core/binding/binding_cache.hpp"

#include <gtest/gtest.h>

#include "tests/unit/mobility/binding/test_support.hpp"

namespace nemokey::mobility::binding {
namespace {

using namespace testing;
using mh::BindingAckStatus;
using std::chrono::seconds;

// Answers as told and records every question.
class FakeAuthorizer : public Authorizer {
public:
    AuthorizationVerdict verdict = AuthorizationVerdict::authorized;
    std::vector<net::Prefix> configured;
    struct Asked {
        std::string identity;
        Ipv6Address home_address;
        bool mobile_router;
        std::vector<net::Prefix> prefixes;
        bool implicit_mode;
    };
    std::vector<Asked> asked;

    AuthorizationAnswer authorize(const AuthorizationRequest& q) override {
        asked.push_back({std::string(q.identity), q.home_address, q.mobile_router,
                         q.prefixes ? *q.prefixes : std::vector<net::Prefix>{}, q.implicit_mode});
        return {verdict, configured};
    }
};

class CacheTest : public ::testing::Test {
protected:
    Ipv6Address ha = addr("2001:db8:1::1");
    Ipv6Address hoa = addr("2001:db8:1::100");
    Ipv6Address coa1 = addr("2001:db8:a::10");
    Ipv6Address coa2 = addr("2001:db8:b::10");
    FakeAuthorizer auth;
    VirtualClock clock{at_ms(1000)};

    BindingCacheConfig config(bool dad = false) {
        BindingCacheConfig c;
        c.home_prefixes = {HomeLinkPrefix{prefix("2001:db8:1::/64"), std::nullopt}};
        c.duplicate_address_detection = dad;
        return c;
    }

    ReceivedBindingUpdate bu(uint16_t seq, const Ipv6Address& coa, uint16_t lifetime_units = 150) {
        ReceivedBindingUpdate r;
        r.source = coa;
        r.destination = ha;
        r.home_address_option = hoa;
        r.ipsec_protected = true;
        r.identity = "CN=mn1";
        r.message.sequence_number = seq;
        r.message.acknowledge = true;
        r.message.home_registration = true;
        r.message.lifetime = lifetime_units;
        return r;
    }

    static mh::BindingAcknowledgement answer(const Actions& out) {
        return only<SendBindingAcknowledgement>(out).message;
    }

    Actions send(BindingCache& bc, const ReceivedBindingUpdate& r) {
        return settle(bc, bc.handle(r, clock.now()), clock.now());
    }

    static mh::BindingIdentifier bid(uint16_t id, std::optional<Ipv6Address> coa = std::nullopt) {
        mh::BindingIdentifier b;
        b.binding_id = id;
        if (coa) b.care_of_address = net::IpAddress{*coa};
        return b;
    }
};

TEST_F(CacheTest, FirstRegistrationRunsDadThenAccepts) {
    BindingCache bc(config(true), auth);
    auto r = bu(10, coa1);
    r.message.link_local_address_compatibility = true;
    auto out = send(bc, r);
    EXPECT_EQ(count_of<SendBindingAcknowledgement>(out), 0u);
    const auto dad = only<PerformDuplicateAddressDetection>(out);
    EXPECT_EQ(dad.home_address, hoa);
    ASSERT_TRUE(dad.link_local_address);
    EXPECT_EQ(*dad.link_local_address, addr("fe80::100"));
    EXPECT_EQ(bc.size(), 0u);
    // A retransmission while DAD runs starts no second DAD; the answer
    // carries the latest Sequence Number.
    auto again = send(bc, bu(11, coa1));
    EXPECT_TRUE(again.empty());

    auto done = settle(bc, bc.handle(DuplicateAddressDetectionResult{hoa, false}, clock.now()), clock.now());
    const auto install = only<InstallBinding>(done);
    EXPECT_EQ(install.home_address, hoa);
    EXPECT_EQ(install.care_of_address, coa1);
    EXPECT_EQ(install.home_agent_address, ha);
    const auto ba = only<SendBindingAcknowledgement>(done);
    EXPECT_EQ(ba.message.status, BindingAckStatus::accepted);
    EXPECT_EQ(ba.message.sequence_number, 11);
    EXPECT_EQ(ba.message.lifetime, 150);
    EXPECT_EQ(ba.destination, coa1);
    EXPECT_EQ(ba.source, ha);
    ASSERT_TRUE(ba.type2_routing_header);
    EXPECT_EQ(*ba.type2_routing_header, hoa);
    EXPECT_EQ(only<ArmTimer>(done).at, clock.now() + seconds{600});
    EXPECT_EQ(bc.binding_count(), 1u);
}

TEST_F(CacheTest, DadFailureAnswers134) {
    BindingCache bc(config(true), auth);
    auto out = send(bc, bu(10, coa1));
    EXPECT_FALSE(only<PerformDuplicateAddressDetection>(out).link_local_address);
    auto done = settle(bc, bc.handle(DuplicateAddressDetectionResult{hoa, true}, clock.now()), clock.now());
    EXPECT_EQ(answer(done).status, BindingAckStatus::duplicate_address_detection_failed);
    EXPECT_EQ(count_of<InstallBinding>(done), 0u);
    EXPECT_EQ(bc.size(), 0u);
    EXPECT_EQ(bc.pending_dad(), 0u);
}

TEST_F(CacheTest, NoDadForRefresh) {
    BindingCache bc(config(true), auth);
    send(bc, bu(10, coa1));
    settle(bc, bc.handle(DuplicateAddressDetectionResult{hoa, false}, clock.now()), clock.now());
    auto out = send(bc, bu(11, coa1));
    EXPECT_EQ(count_of<PerformDuplicateAddressDetection>(out), 0u);
    EXPECT_EQ(answer(out).status, BindingAckStatus::accepted);
}

TEST_F(CacheTest, UnprotectedBindingUpdateIsDropped) {
    BindingCache bc(config(), auth);
    auto r = bu(1, coa1);
    r.ipsec_protected = false;
    auto out = send(bc, r);
    EXPECT_EQ(count_of<DropMessage>(out), 1u);
    EXPECT_EQ(count_of<SendBindingAcknowledgement>(out), 0u);
    EXPECT_TRUE(auth.asked.empty());
}

TEST_F(CacheTest, RegistrationTypeChange139) {
    BindingCache bc(config(), auth);
    auto r = bu(1, coa1);
    r.message.home_registration = false;
    EXPECT_EQ(count_of<DropMessage>(send(bc, r)), 1u);   // no entry: correspondent registration
    send(bc, bu(1, coa1));
    r.message.sequence_number = 2;
    EXPECT_EQ(answer(send(bc, r)).status, BindingAckStatus::registration_type_change_disallowed);
}

TEST_F(CacheTest, NotHomeSubnet132) {
    BindingCache bc(config(), auth);
    auto r = bu(1, coa1);
    r.home_address_option = addr("2001:db8:2::100");
    auto out = send(bc, r);
    EXPECT_EQ(answer(out).status, BindingAckStatus::not_home_subnet);
    EXPECT_EQ(only<SendBindingAcknowledgement>(out).type2_routing_header, addr("2001:db8:2::100"));
    EXPECT_TRUE(auth.asked.empty());
}

TEST_F(CacheTest, ExpiredHomePrefixAnswers132AndBoundsLifetime) {
    auto c = config();
    c.home_prefixes[0].valid_until = clock.now() + seconds{100};
    BindingCache bc(c, auth);
    auto out = send(bc, bu(1, coa1, 150));
    EXPECT_EQ(answer(out).lifetime, 25);   // 100 s left of the prefix's valid lifetime
    clock.advance(seconds{98});
    EXPECT_EQ(answer(send(bc, bu(2, coa1))).status, BindingAckStatus::not_home_subnet);
}

TEST_F(CacheTest, LifetimeBoundedByConfiguration) {
    auto c = config();
    c.max_binding_lifetime = seconds{300};
    BindingCache bc(c, auth);
    auto out = send(bc, bu(1, coa1, 1000));
    EXPECT_EQ(answer(out).lifetime, 75);
    EXPECT_EQ(bc.find(hoa)->granted_lifetime_seconds, 300u);
}

TEST_F(CacheTest, SequenceNumberWindow135) {
    BindingCache bc(config(), auth);
    ASSERT_EQ(answer(send(bc, bu(100, coa1))).status, BindingAckStatus::accepted);
    // Equal and older numbers: 135 with the last accepted number.
    for (uint16_t seq : {uint16_t{100}, uint16_t{99}, uint16_t{100 + 32769}}) {
        auto out = send(bc, bu(seq, coa1));
        EXPECT_EQ(answer(out).status, BindingAckStatus::sequence_number_out_of_window) << seq;
        EXPECT_EQ(answer(out).sequence_number, 100) << seq;
        EXPECT_EQ(count_of<ArmTimer>(out), 0u);
    }
    EXPECT_EQ(answer(send(bc, bu(100 + 32768, coa1))).status, BindingAckStatus::accepted);
}

TEST_F(CacheTest, SequenceNumberWrapAround) {
    BindingCache bc(config(), auth);
    ASSERT_EQ(answer(send(bc, bu(65535, coa1))).status, BindingAckStatus::accepted);
    EXPECT_EQ(answer(send(bc, bu(0, coa1))).status, BindingAckStatus::accepted);
    EXPECT_EQ(answer(send(bc, bu(1, coa1))).status, BindingAckStatus::accepted);
    EXPECT_EQ(answer(send(bc, bu(65535, coa1))).status, BindingAckStatus::sequence_number_out_of_window);
}

TEST_F(CacheTest, AnyNumberAcceptedWithoutEntry) {
    BindingCache bc(config(), auth);
    EXPECT_EQ(answer(send(bc, bu(51234, coa1))).status, BindingAckStatus::accepted);
}

struct VerdictCase {
    AuthorizationVerdict verdict;
    BindingAckStatus status;
};
void PrintTo(const VerdictCase& c, std::ostream* os) { *os << static_cast<int>(c.status); }

class CacheVerdict : public CacheTest, public ::testing::WithParamInterface<VerdictCase> {};

TEST_P(CacheVerdict, MapsToStatus) {
    BindingCache bc(config(), auth);
    auth.verdict = GetParam().verdict;
    auto out = send(bc, bu(1, coa1));
    EXPECT_EQ(answer(out).status, GetParam().status);
    EXPECT_EQ(count_of<InstallBinding>(out), 0u);
    EXPECT_EQ(bc.size(), 0u);
    ASSERT_EQ(auth.asked.size(), 1u);
    EXPECT_EQ(auth.asked[0].identity, "CN=mn1");
    EXPECT_EQ(auth.asked[0].home_address, hoa);
}

INSTANTIATE_TEST_SUITE_P(
    Authorisation, CacheVerdict,
    ::testing::Values(
        VerdictCase{AuthorizationVerdict::not_home_agent_for_this_mobile_node,
                    BindingAckStatus::not_home_agent_for_this_mobile_node},
        VerdictCase{AuthorizationVerdict::administratively_prohibited,
                    BindingAckStatus::administratively_prohibited},
        VerdictCase{AuthorizationVerdict::mobile_router_operation_not_permitted,
                    BindingAckStatus::mobile_router_operation_not_permitted},
        VerdictCase{AuthorizationVerdict::not_authorized_for_prefix,
                    BindingAckStatus::not_authorized_for_prefix}));

TEST_F(CacheTest, InsufficientResources130) {
    auto c = config();
    c.max_bindings = 1;
    BindingCache bc(c, auth);
    send(bc, bu(1, coa1));
    auto r = bu(1, coa2);
    r.home_address_option = addr("2001:db8:1::200");
    EXPECT_EQ(answer(send(bc, r)).status, BindingAckStatus::insufficient_resources);
    // Refreshing the existing binding still works.
    EXPECT_EQ(answer(send(bc, bu(2, coa1))).status, BindingAckStatus::accepted);
}

TEST_F(CacheTest, InvalidCareOfAddress174) {
    BindingCache bc(config(), auth);
    for (const char* bad : {"fe80::1", "ff02::1", "::", "2001:db8:1::55"}) {
        auto r = bu(1, addr(bad));
        EXPECT_EQ(answer(send(bc, r)).status, BindingAckStatus::invalid_care_of_address) << bad;
    }
}

TEST_F(CacheTest, AlternateCareOfAddressWins) {
    BindingCache bc(config(), auth);
    auto r = bu(1, coa1);
    r.message.options.push_back(mh::AlternateCareOfAddress{coa2});
    auto out = send(bc, r);
    EXPECT_EQ(only<InstallBinding>(out).care_of_address, coa2);
}

TEST_F(CacheTest, MovementUpdatesAndMigrates) {
    BindingCache bc(config(), auth);
    auto first = bu(1, coa1);
    first.message.key_management_mobility_capability = true;
    send(bc, first);
    auto moved = bu(2, coa2);
    moved.message.key_management_mobility_capability = true;
    auto out = send(bc, moved);
    const auto update = only<UpdateBinding>(out);
    EXPECT_EQ(update.old_care_of_address, coa1);
    EXPECT_EQ(update.care_of_address, coa2);
    const auto migrate = only<Migrate>(out);
    EXPECT_EQ(migrate.old_care_of_address, coa1);
    EXPECT_EQ(migrate.new_care_of_address, coa2);
    EXPECT_EQ(migrate.home_agent_address, ha);
    EXPECT_TRUE(migrate.move_ike_sa);
    EXPECT_EQ(count_of<InstallBinding>(out), 0u);
    // A plain refresh changes nothing but the timer.
    auto refresh = send(bc, bu(3, coa2));
    EXPECT_EQ(count_of<UpdateBinding>(refresh), 0u);
    EXPECT_EQ(count_of<Migrate>(refresh), 0u);
    EXPECT_EQ(count_of<ArmTimer>(refresh), 1u);
}

TEST_F(CacheTest, KFlagDecision) {
    {
        BindingCache bc(config(), auth);
        auto r = bu(1, coa1);
        r.message.key_management_mobility_capability = true;
        EXPECT_TRUE(answer(send(bc, r)).key_management_mobility_capability);
        EXPECT_TRUE(bc.find(hoa)->key_management_mobility);
    }
    {
        BindingCache bc(config(), auth);   // not requested
        EXPECT_FALSE(answer(send(bc, bu(1, coa1))).key_management_mobility_capability);
    }
    {
        auto c = config();
        c.key_management_mobility = false;   // requested, not supported
        BindingCache bc(c, auth);
        auto r = bu(1, coa1);
        r.message.key_management_mobility_capability = true;
        EXPECT_FALSE(answer(send(bc, r)).key_management_mobility_capability);
        auto moved = bu(2, coa2);
        moved.message.key_management_mobility_capability = true;
        EXPECT_FALSE(only<Migrate>(send(bc, moved)).move_ike_sa);
    }
}

TEST_F(CacheTest, DeregistrationRemoves) {
    BindingCache bc(config(), auth);
    send(bc, bu(1, coa1));
    auto out = send(bc, bu(2, coa1, 0));
    EXPECT_EQ(only<RemoveBinding>(out).care_of_address, coa1);
    EXPECT_EQ(only<RemoveBinding>(out).home_agent_address, ha);
    EXPECT_EQ(only<CancelTimer>(out).key.kind, TimerKind::bc_lifetime);
    EXPECT_EQ(answer(out).status, BindingAckStatus::accepted);
    EXPECT_EQ(answer(out).lifetime, 0);
    EXPECT_EQ(bc.size(), 0u);
    EXPECT_EQ(bc.binding_count(), 0u);
}

TEST_F(CacheTest, DeregistrationFromHome) {
    BindingCache bc(config(), auth);
    send(bc, bu(1, coa1));
    ReceivedBindingUpdate r = bu(2, hoa, 0);
    r.home_address_option.reset();   // sent from the home address
    auto out = send(bc, r);
    const auto ba = only<SendBindingAcknowledgement>(out);
    EXPECT_EQ(ba.destination, hoa);
    EXPECT_FALSE(ba.type2_routing_header);
    EXPECT_EQ(ba.message.status, BindingAckStatus::accepted);
    EXPECT_EQ(bc.size(), 0u);
}

// Back home the BA waits for the kernel commit that removes the binding's
// state: sent before it, the route2 state would take it to the old
// care-of address with a type 2 routing header (seen in the kernel VM).
// A deregistration from a care-of address is answered at once, through
// that state. A failed removal restores the binding and answers 130.
TEST_F(CacheTest, DeregistrationFromHomeAnswersOnceTheStateIsGone) {
    BindingCache bc(config(), auth);
    send(bc, bu(1, coa1));
    ReceivedBindingUpdate r = bu(2, hoa, 0);
    r.home_address_option.reset();
    auto out = bc.handle(r, clock.now());
    EXPECT_EQ(count_of<SendBindingAcknowledgement>(out), 0u) << "the BA left before the state went";
    const auto commit = only<CommitKernelState>(out);
    EXPECT_EQ(bc.size(), 0u);
    out = bc.handle(KernelOutcome{commit.operation, true}, clock.now());
    const auto ba = only<SendBindingAcknowledgement>(out);
    EXPECT_EQ(ba.destination, hoa);
    EXPECT_FALSE(ba.type2_routing_header);
    EXPECT_EQ(ba.message.status, BindingAckStatus::accepted);

    send(bc, bu(3, coa1));
    ReceivedBindingUpdate again = bu(4, hoa, 0);
    again.home_address_option.reset();
    out = bc.handle(again, clock.now());
    out = bc.handle(KernelOutcome{only<CommitKernelState>(out).operation, false}, clock.now());
    EXPECT_EQ(answer(out).status, BindingAckStatus::insufficient_resources);
    ASSERT_NE(bc.find(hoa), nullptr) << "a failed removal lost the binding";
    EXPECT_EQ(bc.find(hoa)->bindings.front().care_of_address, coa1);

    // From a care-of address: answered at once (through the route2 state).
    out = bc.handle(bu(5, coa1, 0), clock.now());
    EXPECT_EQ(answer(out).status, BindingAckStatus::accepted);
}

TEST_F(CacheTest, DeregistrationFromHomeMovesKeyManagementEndpointWhenKGranted) {
    BindingCache bc(config(), auth);
    auto first = bu(1, coa1);
    first.message.key_management_mobility_capability = true;
    send(bc, first);
    ReceivedBindingUpdate r = bu(2, hoa, 0);
    r.home_address_option.reset();
    auto out = send(bc, r);
    const auto m = only<Migrate>(out);
    EXPECT_EQ(m.old_care_of_address, coa1);
    EXPECT_EQ(m.new_care_of_address, hoa);
    EXPECT_TRUE(m.move_ike_sa);
    // Without K nothing moves.
    send(bc, bu(3, coa1));
    ReceivedBindingUpdate again = bu(4, hoa, 0);
    again.home_address_option.reset();
    EXPECT_EQ(count_of<Migrate>(send(bc, again)), 0u);
}

TEST_F(CacheTest, DeregistrationWithoutBinding133) {
    BindingCache bc(config(), auth);
    EXPECT_EQ(answer(send(bc, bu(1, coa1, 0))).status, BindingAckStatus::not_home_agent_for_this_mobile_node);
}

TEST_F(CacheTest, ExpiryRemovesAndStaleTimerIsIgnored) {
    BindingCache bc(config(), auth);
    auto out = send(bc, bu(1, coa1, 25));   // 100 s
    const auto timer = only<ArmTimer>(out);
    EXPECT_EQ(timer.key.kind, TimerKind::bc_lifetime);
    clock.advance(seconds{50});
    send(bc, bu(2, coa1, 25));   // refreshed: now expires at 150 s
    clock.set(timer.at);
    EXPECT_TRUE(bc.handle(TimerExpired{timer.key}, clock.now()).empty());
    EXPECT_EQ(bc.size(), 1u);
    clock.advance(seconds{50});
    auto expired = bc.handle(TimerExpired{timer.key}, clock.now());
    EXPECT_EQ(only<RemoveBinding>(expired).care_of_address, coa1);
    EXPECT_EQ(only<Report>(expired).kind, ReportKind::binding_expired);
    EXPECT_EQ(bc.size(), 0u);
}

// ---- NEMO (RFC 3963 sec. 6) ----

class CacheNemoTest : public CacheTest {
protected:
    ReceivedBindingUpdate mr_bu(uint16_t seq, std::vector<const char*> prefixes) {
        auto r = bu(seq, coa1);
        r.message.mobile_router = true;
        for (const char* p : prefixes) {
            auto pf = prefix(p);
            r.message.options.push_back(mh::MobileNetworkPrefix{pf.length, std::get<Ipv6Address>(pf.address)});
        }
        return r;
    }
};

TEST_F(CacheNemoTest, ExplicitModeAccepted) {
    BindingCache bc(config(), auth);
    auto out = send(bc, mr_bu(1, {"2001:db8:100::/48", "2001:db8:200::/64"}));
    const auto ba = answer(out);
    EXPECT_EQ(ba.status, BindingAckStatus::accepted);
    EXPECT_TRUE(ba.mobile_router);
    EXPECT_TRUE(only<InstallBinding>(out).mobile_router);
    const auto routes = only<AddRoutes>(out);
    EXPECT_EQ(routes.care_of_address, coa1);
    ASSERT_EQ(routes.prefixes.size(), 2u);
    EXPECT_EQ(routes.prefixes[0], prefix("2001:db8:100::/48"));
    ASSERT_EQ(auth.asked.size(), 1u);
    EXPECT_TRUE(auth.asked[0].mobile_router);
    EXPECT_FALSE(auth.asked[0].implicit_mode);
    EXPECT_EQ(auth.asked[0].prefixes.size(), 2u);
    // Dropping a prefix in a refresh removes its route.
    auto refresh = send(bc, mr_bu(2, {"2001:db8:100::/48"}));
    EXPECT_EQ(only<RemoveRoutes>(refresh).prefixes, std::vector<net::Prefix>{prefix("2001:db8:200::/64")});
    EXPECT_EQ(count_of<AddRoutes>(refresh), 0u);
    // Deregistration removes the routes with the binding.
    auto dereg = mr_bu(3, {});
    dereg.message.lifetime = 0;
    auto gone = send(bc, dereg);
    EXPECT_EQ(only<RemoveRoutes>(gone).prefixes.size(), 1u);
}

TEST_F(CacheNemoTest, MobileRouterFlagChange139) {
    BindingCache bc(config(), auth);
    send(bc, bu(1, coa1));   // registered as a mobile node
    EXPECT_EQ(answer(send(bc, mr_bu(2, {"2001:db8:100::/48"}))).status,
              BindingAckStatus::registration_type_change_disallowed);
    EXPECT_FALSE(bc.find(hoa)->mobile_router);
}

TEST_F(CacheNemoTest, ImplicitModeUsesConfiguredPrefixes) {
    BindingCache bc(config(), auth);
    auth.configured = {prefix("2001:db8:300::/56")};
    auto out = send(bc, mr_bu(1, {}));
    EXPECT_EQ(answer(out).status, BindingAckStatus::accepted);
    EXPECT_EQ(only<AddRoutes>(out).prefixes, auth.configured);
    EXPECT_TRUE(auth.asked[0].implicit_mode);
}

TEST_F(CacheNemoTest, ImplicitModeWithoutPrefixes143) {
    BindingCache bc(config(), auth);
    auto out = send(bc, mr_bu(1, {}));
    EXPECT_EQ(answer(out).status, BindingAckStatus::forwarding_setup_failed);
    EXPECT_TRUE(answer(out).mobile_router);
    EXPECT_EQ(bc.size(), 0u);
}

TEST_F(CacheNemoTest, MobileRouterNotSupported140) {
    auto c = config();
    c.mobile_router_support = false;
    BindingCache bc(c, auth);
    auto out = send(bc, mr_bu(1, {"2001:db8:100::/48"}));
    EXPECT_EQ(answer(out).status, BindingAckStatus::mobile_router_operation_not_permitted);
    EXPECT_FALSE(answer(out).mobile_router);
}

TEST_F(CacheNemoTest, InvalidPrefix141) {
    BindingCache bc(config(), auth);
    for (const char* bad : {"fe80::/64", "ff00::/8", "2001:db8:1::/64", "2001:db8::/32"}) {
        EXPECT_EQ(answer(send(bc, mr_bu(1, {bad}))).status, BindingAckStatus::invalid_prefix) << bad;
    }
    auto r = mr_bu(1, {});
    r.message.options.push_back(mh::MobileNetworkPrefix{0, addr("2001:db8:100::")});
    EXPECT_EQ(answer(send(bc, r)).status, BindingAckStatus::invalid_prefix);
    r = mr_bu(1, {});
    r.message.options.push_back(mh::MobileNetworkPrefix{129, addr("2001:db8:100::")});
    EXPECT_EQ(answer(send(bc, r)).status, BindingAckStatus::invalid_prefix);
    EXPECT_TRUE(auth.asked.empty());
}

TEST_F(CacheNemoTest, PrefixOfAnotherMobileRouter142) {
    BindingCache bc(config(), auth);
    send(bc, mr_bu(1, {"2001:db8:100::/48"}));
    auto other = mr_bu(1, {"2001:db8:100::/48"});
    other.home_address_option = addr("2001:db8:1::200");
    EXPECT_EQ(answer(send(bc, other)).status, BindingAckStatus::not_authorized_for_prefix);
}

// ---- Multiple care-of addresses (RFC 5648) ----

TEST_F(CacheTest, BulkRegistration) {
    BindingCache bc(config(), auth);
    auto r = bu(1, coa1);
    r.message.options = {bid(1, coa1), bid(2, coa2)};
    auto out = send(bc, r);
    const auto installs = all_of<InstallBinding>(out);
    ASSERT_EQ(installs.size(), 2u);
    EXPECT_EQ(installs[0].binding_id, 1);
    EXPECT_EQ(installs[1].care_of_address, coa2);
    EXPECT_EQ(count_of<ArmTimer>(out), 2u);
    const auto ba = answer(out);
    EXPECT_EQ(ba.status, BindingAckStatus::accepted);
    EXPECT_EQ(mh::find_options<mh::BindingIdentifier>(ba.options).size(), 2u);
    EXPECT_EQ(bc.binding_count(), 2u);
    EXPECT_TRUE(bc.find(hoa)->multiple_care_of_addresses);
}

TEST_F(CacheTest, McoaStatusCodes) {
    {
        auto c = config();
        c.multiple_care_of_addresses = false;
        BindingCache bc(c, auth);
        auto r = bu(1, coa1);
        r.message.options = {bid(1)};
        EXPECT_EQ(answer(send(bc, r)).status, BindingAckStatus::mcoa_prohibited);
    }
    {
        auto c = config();
        c.bulk_registration = false;
        BindingCache bc(c, auth);
        auto r = bu(1, coa1);
        r.message.options = {bid(1, coa1), bid(2, coa2)};
        EXPECT_EQ(answer(send(bc, r)).status, BindingAckStatus::mcoa_bulk_registration_prohibited);
    }
    BindingCache bc(config(), auth);
    auto dup = bu(1, coa1);
    dup.message.options = {bid(1, coa1), bid(1, coa2)};
    EXPECT_EQ(answer(send(bc, dup)).status, BindingAckStatus::mcoa_malformed);
    auto missing = bu(1, coa1);
    missing.message.options = {bid(1, coa1), bid(2)};
    EXPECT_EQ(answer(send(bc, missing)).status, BindingAckStatus::mcoa_malformed);
    auto home_and_away = bu(1, coa1);
    auto h = bid(1);
    h.simultaneous_home_and_foreign = true;
    home_and_away.message.options = {h};
    EXPECT_EQ(answer(send(bc, home_and_away)).status,
              BindingAckStatus::mcoa_simultaneous_home_and_foreign_prohibited);
    // A binding without BID exists: a BID registration is refused.
    send(bc, bu(1, coa1));
    auto with_bid = bu(2, coa2);
    with_bid.message.options = {bid(5)};
    EXPECT_EQ(answer(send(bc, with_bid)).status, BindingAckStatus::mcoa_non_mcoa_binding_exists);
}

TEST_F(CacheTest, McoaDeregistrationPerBindingIdentifier) {
    BindingCache bc(config(), auth);
    auto r = bu(1, coa1);
    r.message.options = {bid(1, coa1), bid(2, coa2)};
    send(bc, r);
    auto unknown = bu(2, coa1, 0);
    unknown.message.options = {bid(9)};
    EXPECT_EQ(answer(send(bc, unknown)).status, BindingAckStatus::mcoa_unknown_coa);
    auto one = bu(3, coa1, 0);
    one.message.options = {bid(2)};
    auto out = send(bc, one);
    EXPECT_EQ(answer(out).status, BindingAckStatus::accepted);
    EXPECT_EQ(only<RemoveBinding>(out).binding_id, 2);
    EXPECT_EQ(bc.binding_count(), 1u);
    EXPECT_NE(bc.find(hoa)->binding(1), nullptr);
    auto mixed = bu(4, coa1, 0);
    mixed.message.options = {bid(1), bid(9)};
    auto out2 = send(bc, mixed);
    EXPECT_EQ(answer(out2).status, BindingAckStatus::mcoa_notcomplete);
    EXPECT_EQ(bc.size(), 0u);
}

TEST_F(CacheTest, McoaSequencePerBinding) {
    BindingCache bc(config(), auth);
    auto one = bu(10, coa1);
    one.message.options = {bid(1)};
    send(bc, one);
    auto two = bu(5, coa2);   // another binding: its own window
    two.message.options = {bid(2)};
    EXPECT_EQ(answer(send(bc, two)).status, BindingAckStatus::accepted);
    auto stale = bu(9, coa1);
    stale.message.options = {bid(1)};
    auto out = send(bc, stale);
    EXPECT_EQ(answer(out).status, BindingAckStatus::sequence_number_out_of_window);
    EXPECT_EQ(answer(out).sequence_number, 10);
}

TEST_F(CacheTest, BindingUpdateWithoutBidReplacesMcoaBindings) {
    BindingCache bc(config(), auth);
    auto r = bu(1, coa1);
    r.message.options = {bid(1, coa1), bid(2, coa2)};
    send(bc, r);
    auto out = send(bc, bu(2, coa2));
    EXPECT_EQ(count_of<RemoveBinding>(out), 2u);
    EXPECT_EQ(only<InstallBinding>(out).binding_id, 0);
    EXPECT_EQ(bc.binding_count(), 1u);
    EXPECT_FALSE(bc.find(hoa)->multiple_care_of_addresses);
}

TEST_F(CacheTest, BindingRefreshAdviceWhenConfigured) {
    auto c = config();
    c.binding_refresh_advice = seconds{120};
    BindingCache bc(c, auth);
    const auto ba = answer(send(bc, bu(1, coa1)));
    const auto* bra = mh::find_option<mh::BindingRefreshAdvice>(ba.options);
    ASSERT_NE(bra, nullptr);
    EXPECT_EQ(bra->refresh_interval, 30);
}


// ---- Outcome events: the BA waits for the kernel (issue: core-to-kernel contract) ----

namespace nemokey::mobility::binding {
namespace {

using namespace testing;
using mh::BindingAckStatus;

class CacheCommitTest : public CacheTest {};

TEST_F(CacheCommitTest, AcceptingBaIsHeldUntilTheKernelConfirms) {
    BindingCache bc(config(), auth);
    auto out = bc.handle(bu(1, coa1), clock.now());
    EXPECT_EQ(count_of<SendBindingAcknowledgement>(out), 0u);
    const auto commit = only<CommitKernelState>(out);
    EXPECT_EQ(commit.home_address, hoa);
    EXPECT_EQ(bc.pending_commits(), 1u);
    out = bc.handle(KernelOutcome{commit.operation, true}, clock.now());
    EXPECT_EQ(answer(out).status, BindingAckStatus::accepted);
    EXPECT_EQ(bc.pending_commits(), 0u);
}

TEST_F(CacheCommitTest, KernelFailureAnswers130AndRestoresNothing) {
    BindingCache bc(config(), auth);
    auto out = bc.handle(bu(1, coa1), clock.now());
    out = bc.handle(KernelOutcome{only<CommitKernelState>(out).operation, false}, clock.now());
    EXPECT_EQ(answer(out).status, BindingAckStatus::insufficient_resources);
    EXPECT_EQ(answer(out).lifetime, 0);
    EXPECT_EQ(bc.find(hoa), nullptr);
    EXPECT_EQ(bc.binding_count(), 0u);
    // What was installed goes again: one more commit to the restored (empty) state.
    EXPECT_EQ(count_of<CommitKernelState>(out), 1u);
    EXPECT_EQ(count_of<RemoveBinding>(out), 1u);
    EXPECT_EQ(only<Report>(out).kind, ReportKind::kernel_state_failed);
}

TEST_F(CacheCommitTest, KernelFailureOnHandoverRestoresTheOldCareOfAddress) {
    BindingCache bc(config(), auth);
    send(bc, bu(1, coa1));
    auto out = bc.handle(bu(2, coa2), clock.now());
    out = bc.handle(KernelOutcome{only<CommitKernelState>(out).operation, false}, clock.now());
    EXPECT_EQ(answer(out).status, BindingAckStatus::insufficient_resources);
    ASSERT_NE(bc.find(hoa), nullptr);
    EXPECT_EQ(bc.find(hoa)->bindings.at(0).care_of_address, coa1);
    const auto back = only<UpdateBinding>(out);
    EXPECT_EQ(back.care_of_address, coa1);
    // The lifetime timer of the restored binding is armed again.
    EXPECT_EQ(count_of<ArmTimer>(out), 1u);
}

TEST_F(CacheCommitTest, BindingUpdateDuringACommitIsDropped) {
    BindingCache bc(config(), auth);
    auto out = bc.handle(bu(1, coa1), clock.now());
    const auto commit = only<CommitKernelState>(out);
    auto again = bc.handle(bu(2, coa1), clock.now());
    EXPECT_EQ(count_of<DropMessage>(again), 1u);
    EXPECT_EQ(count_of<SendBindingAcknowledgement>(again), 0u);
    out = bc.handle(KernelOutcome{commit.operation, true}, clock.now());
    EXPECT_EQ(answer(out).sequence_number, 1);
}

TEST_F(CacheCommitTest, RefreshWithoutKernelChangeIsAnsweredAtOnce) {
    BindingCache bc(config(), auth);
    send(bc, bu(1, coa1));
    auto out = bc.handle(bu(2, coa1), clock.now());
    EXPECT_EQ(count_of<CommitKernelState>(out), 0u);
    EXPECT_EQ(answer(out).status, BindingAckStatus::accepted);
}

TEST_F(CacheCommitTest, MaxBindingsCountsBindingsNotHomeAddresses) {
    auto c = config();
    c.max_bindings = 1;
    BindingCache bc(c, auth);
    auto r = bu(1, coa1);
    r.message.options = {bid(1, coa1), bid(2, coa2), bid(3, addr("2001:db8:c::10"))};
    EXPECT_EQ(answer(send(bc, r)).status, BindingAckStatus::insufficient_resources);
    EXPECT_EQ(bc.binding_count(), 0u);
    r.message.options = {bid(1, coa1)};
    r.message.sequence_number = 2;
    EXPECT_EQ(answer(send(bc, r)).status, BindingAckStatus::accepted);
    r.message.options = {bid(2, coa2)};
    r.message.sequence_number = 3;
    EXPECT_EQ(answer(send(bc, r)).status, BindingAckStatus::insufficient_resources);
    // Moving the one binding is no new binding.
    r.message.options = {bid(1, coa2)};
    r.message.sequence_number = 4;
    EXPECT_EQ(answer(send(bc, r)).status, BindingAckStatus::accepted);
    EXPECT_EQ(bc.binding_count(), 1u);
}

TEST_F(CacheCommitTest, KStaysAsGrantedAtTheFirstRegistration) {
    BindingCache bc(config(), auth);
    auto first = bu(1, coa1);
    first.message.key_management_mobility_capability = true;
    EXPECT_TRUE(answer(send(bc, first)).key_management_mobility_capability);
    auto moved = bu(2, coa2);
    moved.message.key_management_mobility_capability = true;
    const auto out = send(bc, moved);
    EXPECT_TRUE(answer(out).key_management_mobility_capability);
    EXPECT_TRUE(only<Migrate>(out).move_ike_sa);
    EXPECT_TRUE(bc.find(hoa)->key_management_mobility);
}

TEST_F(CacheCommitTest, PrefixRoutesFollowTheBindingThatIsFirst) {
    BindingCache bc(config(), auth);
    auto r = bu(1, coa1);
    r.message.mobile_router = true;
    r.message.options = {bid(1, coa1), bid(2, coa2),
                         mh::MobileNetworkPrefix{48, addr("2001:db8:100::")}};
    auto out = send(bc, r);
    ASSERT_EQ(answer(out).status, BindingAckStatus::accepted);
    EXPECT_EQ(only<AddRoutes>(out).care_of_address, coa1);
    // The binding that carried the routes goes: they are re-pointed, not lost.
    auto dereg = bu(2, coa1, 0);
    dereg.message.mobile_router = true;
    dereg.message.options = {bid(1)};
    out = send(bc, dereg);
    EXPECT_EQ(count_of<RemoveRoutes>(out), 0u);
    EXPECT_EQ(only<AddRoutes>(out).care_of_address, coa2);
}

}  // namespace
}  // namespace nemokey::mobility::binding

// ---- RFC 5648 O flag ----

namespace nemokey::mobility::binding {
namespace {

using namespace testing;
using mh::BindingAckStatus;

class CacheOverwriteTest : public CacheTest {};

TEST_F(CacheOverwriteTest, WithoutOARegularBindingAnswers165) {
    BindingCache bc(config(), auth);
    send(bc, bu(1, coa1));
    auto r = bu(2, coa2);
    r.message.options = {bid(1, coa2)};
    EXPECT_EQ(answer(send(bc, r)).status, BindingAckStatus::mcoa_non_mcoa_binding_exists);
}

TEST_F(CacheOverwriteTest, WithOTheBindingsOfTheBuReplaceAllOthers) {
    BindingCache bc(config(), auth);
    send(bc, bu(1, coa1));   // a regular binding, e.g. from before the node rebooted
    auto r = bu(2, coa2);
    r.message.overwrite = true;
    r.message.options = {bid(1, coa2)};
    const auto out = send(bc, r);
    EXPECT_EQ(answer(out).status, BindingAckStatus::accepted);
    const auto* e = bc.find(hoa);
    ASSERT_NE(e, nullptr);
    ASSERT_EQ(e->bindings.size(), 1u);
    EXPECT_EQ(e->bindings[0].binding_id, 1);
    EXPECT_EQ(e->bindings[0].care_of_address, coa2);
    EXPECT_TRUE(e->multiple_care_of_addresses);
    EXPECT_EQ(bc.binding_count(), 1u);

    // Among MCoA bindings too: O keeps only the ones it names.
    auto add = bu(3, coa1);
    add.message.options = {bid(2, coa1)};
    ASSERT_EQ(answer(send(bc, add)).status, BindingAckStatus::accepted);
    ASSERT_EQ(bc.find(hoa)->bindings.size(), 2u);
    auto replace = bu(4, coa1);
    replace.message.overwrite = true;
    replace.message.options = {bid(2, coa1)};
    const auto replaced = send(bc, replace);
    EXPECT_EQ(answer(replaced).status, BindingAckStatus::accepted);
    ASSERT_EQ(bc.find(hoa)->bindings.size(), 1u);
    EXPECT_EQ(bc.find(hoa)->bindings[0].binding_id, 2);
    EXPECT_EQ(count_of<RemoveBinding>(replaced), 1u);
}

TEST_F(CacheOverwriteTest, OIsIgnoredOnDeregistration) {
    BindingCache bc(config(), auth);
    send(bc, bu(1, coa1));
    auto r = bu(2, coa1, 0);
    r.message.overwrite = true;
    r.message.options = {bid(1)};
    EXPECT_EQ(answer(send(bc, r)).status, BindingAckStatus::mcoa_non_mcoa_binding_exists);
}

}  // namespace
}  // namespace nemokey::mobility::binding

// ---- Binding Refresh Requests (RFC 6275 sec. 9.5.5, 9.1; RFC 5648 sec. 6.4) ----

class CacheRefreshRequestTest : public CacheTest {
protected:
    BindingCacheConfig brr_config(uint8_t percent = 90) {
        BindingCacheConfig c = config();
        c.binding_refresh_request_percent = percent;
        c.brr_retransmissions = 3;
        c.brr_initial_timeout = Duration{1500};
        c.brr_max_timeout = Duration{4000};
        return c;
    }
    TimerKey brr_key(uint16_t binding_id = 0) const {
        return TimerKey{TimerKind::bc_refresh_request, hoa, binding_id};
    }
    static std::optional<ArmTimer> armed(const Actions& out, const TimerKey& key) {
        std::optional<ArmTimer> found;
        for (const auto& t : all_of<ArmTimer>(out))
            if (t.key == key) found = t;
        return found;
    }
    static bool cancelled(const Actions& out, const TimerKey& key) {
        for (const auto& t : all_of<CancelTimer>(out))
            if (t.key == key) return true;
        return false;
    }
    Actions fire(BindingCache& bc, const TimerKey& key, TimePoint at) {
        clock.set(at);
        return settle(bc, bc.handle(TimerExpired{key}, clock.now()), clock.now());
    }
};

TEST_F(CacheRefreshRequestTest, NoneWithoutConfiguration) {
    BindingCache bc(config(), auth);
    auto out = send(bc, bu(1, coa1));
    EXPECT_FALSE(armed(out, brr_key()));
    EXPECT_EQ(bc.refresh_requests_armed(), 0u);
    // A timer that fires anyway sends nothing.
    EXPECT_TRUE(fire(bc, brr_key(), clock.now() + Duration{590000}).empty());
}

TEST_F(CacheRefreshRequestTest, SentToTheHomeAddressWhenTheLifetimeNearsExpiry) {
    BindingCache bc(brr_config(), auth);
    const TimePoint accepted = clock.now();
    auto out = send(bc, bu(1, coa1, 150));   // 600 s
    auto t = armed(out, brr_key());
    ASSERT_TRUE(t);
    EXPECT_EQ(t->at, accepted + Duration{540000});   // 90 % of 600 s
    EXPECT_EQ(bc.refresh_requests_armed(), 1u);

    auto sent = fire(bc, brr_key(), t->at);
    const auto brr = only<SendBindingRefreshRequest>(sent);
    EXPECT_EQ(brr.source, ha);
    EXPECT_EQ(brr.destination, hoa);   // sec. 9.5.5: always to the home address
    EXPECT_EQ(brr.care_of_address, coa1);
    EXPECT_EQ(brr.binding_id, 0);
    EXPECT_EQ(brr.attempt, 1u);
    EXPECT_TRUE(brr.message.options.empty());   // no BID without RFC 5648
    // Nothing else changes: the binding stays as it is.
    EXPECT_EQ(count_of<RemoveBinding>(sent) + count_of<CommitKernelState>(sent), 0u);
    EXPECT_EQ(bc.find(hoa)->bindings.size(), 1u);
}

TEST_F(CacheRefreshRequestTest, RetransmissionsAreBoundedAndBackOff) {
    BindingCache bc(brr_config(), auth);
    auto out = send(bc, bu(1, coa1, 150));
    TimePoint at = armed(out, brr_key())->at;
    std::vector<Duration> waits;
    unsigned sent = 0;
    for (int i = 0; i < 10; ++i) {
        auto step = fire(bc, brr_key(), at);
        const auto brrs = all_of<SendBindingRefreshRequest>(step);
        if (brrs.empty()) break;
        ++sent;
        EXPECT_EQ(brrs.front().attempt, sent);
        auto next = armed(step, brr_key());
        if (!next) break;
        waits.push_back(next->at - at);
        at = next->at;
    }
    // One BRR and three retransmissions; 1.5 s, 3 s, then capped at 4 s.
    EXPECT_EQ(sent, 4u);
    EXPECT_EQ(waits, (std::vector<Duration>{Duration{1500}, Duration{3000}, Duration{4000}}));
    EXPECT_EQ(bc.refresh_requests_armed(), 0u);
    // A late timer after the last one sends nothing more.
    EXPECT_EQ(count_of<SendBindingRefreshRequest>(fire(bc, brr_key(), at + Duration{5000})), 0u);
    EXPECT_NE(bc.find(hoa), nullptr);
}

TEST_F(CacheRefreshRequestTest, NoRetransmissionAfterTheBindingExpires) {
    BindingCache bc(brr_config(99), auth);
    const TimePoint accepted = clock.now();
    auto out = send(bc, bu(1, coa1, 4));   // 16 s: BRR at 15.84 s, 160 ms before expiry
    auto t = armed(out, brr_key());
    ASSERT_TRUE(t);
    EXPECT_EQ(t->at, accepted + Duration{15840});
    auto step = fire(bc, brr_key(), t->at);
    EXPECT_EQ(count_of<SendBindingRefreshRequest>(step), 1u);
    EXPECT_FALSE(armed(step, brr_key()));   // 1.5 s would be past the expiry
    EXPECT_EQ(bc.refresh_requests_armed(), 0u);
}

TEST_F(CacheRefreshRequestTest, ABindingUpdateStopsThemAndAnAcceptedOneArmsTheNext) {
    BindingCache bc(brr_config(), auth);
    auto out = send(bc, bu(1, coa1, 150));
    const TimePoint at = armed(out, brr_key())->at;
    auto step = fire(bc, brr_key(), at);
    ASSERT_EQ(count_of<SendBindingRefreshRequest>(step), 1u);
    ASSERT_TRUE(armed(step, brr_key()));   // a retransmission is due in 1.5 s

    clock.advance(Duration{200});
    auto refreshed = send(bc, bu(2, coa1, 150));
    EXPECT_TRUE(cancelled(refreshed, brr_key()));   // sec. 9.5.5: MUST stop
    auto next = armed(refreshed, brr_key());
    ASSERT_TRUE(next);
    EXPECT_EQ(next->at, clock.now() + Duration{540000});
    // The next one counts from 1 again.
    auto later = fire(bc, brr_key(), next->at);
    EXPECT_EQ(only<SendBindingRefreshRequest>(later).attempt, 1u);
}

TEST_F(CacheRefreshRequestTest, ARefusedBindingUpdateStopsThemToo) {
    BindingCache bc(brr_config(), auth);
    auto out = send(bc, bu(10, coa1, 150));
    const TimePoint at = armed(out, brr_key())->at;
    fire(bc, brr_key(), at);
    auto refused = send(bc, bu(9, coa1, 150));   // stale: 135
    EXPECT_EQ(answer(refused).status, BindingAckStatus::sequence_number_out_of_window);
    EXPECT_TRUE(cancelled(refused, brr_key()));
    EXPECT_FALSE(armed(refused, brr_key()));
    EXPECT_EQ(bc.refresh_requests_armed(), 0u);
    EXPECT_EQ(count_of<SendBindingRefreshRequest>(fire(bc, brr_key(), at + Duration{1500})), 0u);
}

TEST_F(CacheRefreshRequestTest, AnUnprotectedBindingUpdateDoesNotStopThem) {
    BindingCache bc(brr_config(), auth);
    auto out = send(bc, bu(1, coa1, 150));
    auto forged = bu(2, coa1, 150);
    forged.ipsec_protected = false;
    auto dropped = send(bc, forged);
    EXPECT_FALSE(cancelled(dropped, brr_key()));
    EXPECT_EQ(bc.refresh_requests_armed(), 1u);
}

TEST_F(CacheRefreshRequestTest, NoneForADeregisteredBinding) {
    BindingCache bc(brr_config(), auth);
    auto out = send(bc, bu(1, coa1, 150));
    const TimePoint at = armed(out, brr_key())->at;
    clock.advance(seconds{10});
    auto gone = send(bc, bu(2, coa1, 0));
    EXPECT_EQ(answer(gone).status, BindingAckStatus::accepted);
    EXPECT_TRUE(cancelled(gone, brr_key()));
    EXPECT_EQ(bc.refresh_requests_armed(), 0u);
    EXPECT_TRUE(fire(bc, brr_key(), at).empty());
}

TEST_F(CacheRefreshRequestTest, NoneForAnExpiredBinding) {
    BindingCache bc(brr_config(), auth);
    auto out = send(bc, bu(1, coa1, 150));
    TimePoint lifetime_end{};
    for (const auto& t : all_of<ArmTimer>(out))
        if (t.key.kind == TimerKind::bc_lifetime) lifetime_end = t.at;
    // The BRR timer is lost (say); the lifetime runs out first.
    auto expired = fire(bc, TimerKey{TimerKind::bc_lifetime, hoa, 0}, lifetime_end);
    EXPECT_EQ(only<Report>(expired).kind, ReportKind::binding_expired);
    EXPECT_TRUE(cancelled(expired, brr_key()));
    EXPECT_EQ(bc.refresh_requests_armed(), 0u);
    EXPECT_TRUE(fire(bc, brr_key(), lifetime_end + Duration{1}).empty());
}

TEST_F(CacheRefreshRequestTest, NoneWhileDuplicateAddressDetectionRuns) {
    BindingCacheConfig c = brr_config();
    c.duplicate_address_detection = true;
    BindingCache bc(c, auth);
    auto out = send(bc, bu(1, coa1, 150));
    ASSERT_EQ(count_of<PerformDuplicateAddressDetection>(out), 1u);
    EXPECT_FALSE(armed(out, brr_key()));
    EXPECT_EQ(bc.refresh_requests_armed(), 0u);
    EXPECT_TRUE(fire(bc, brr_key(), clock.now() + Duration{540000}).empty());
}

TEST_F(CacheRefreshRequestTest, AKernelFailureLeavesNoneArmed) {
    BindingCache bc(brr_config(), auth);
    auto first = bc.handle(bu(1, coa1, 150), clock.now());
    EXPECT_TRUE(armed(first, brr_key()));
    auto failed = settle(bc, first, clock.now(), false);
    EXPECT_EQ(only<SendBindingAcknowledgement>(failed).message.status, BindingAckStatus::insufficient_resources);
    EXPECT_EQ(bc.refresh_requests_armed(), 0u);
    EXPECT_TRUE(fire(bc, brr_key(), clock.now() + Duration{540000}).empty());
}

TEST_F(CacheRefreshRequestTest, McoaBindingsAreNamedAndStoppedOneByOne) {
    BindingCache bc(brr_config(), auth);
    auto r = bu(1, coa1, 150);
    r.message.options = {bid(1, coa1), bid(2, coa2)};
    auto out = send(bc, r);
    ASSERT_EQ(answer(out).status, BindingAckStatus::accepted);
    const TimePoint at = armed(out, brr_key(1))->at;
    ASSERT_TRUE(armed(out, brr_key(2)));

    auto one = fire(bc, brr_key(1), at);
    const auto brr = only<SendBindingRefreshRequest>(one);
    EXPECT_EQ(brr.care_of_address, coa1);
    ASSERT_EQ(brr.message.options.size(), 1u);   // RFC 5648 sec. 6.4
    EXPECT_EQ(std::get<mh::BindingIdentifier>(brr.message.options[0]).binding_id, 1);

    // A BU for binding 2 stops binding 2's BRRs, not binding 1's.
    auto r2 = bu(2, coa2, 150);
    r2.message.options = {bid(2, coa2)};
    auto refreshed = send(bc, r2);
    EXPECT_TRUE(cancelled(refreshed, brr_key(2)));
    EXPECT_FALSE(cancelled(refreshed, brr_key(1)));
    EXPECT_EQ(bc.refresh_requests_armed(), 2u);
}

}  // namespace
}  // namespace nemokey::mobility::binding
