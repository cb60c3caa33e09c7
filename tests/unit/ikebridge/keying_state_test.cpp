// Readiness per connection from charon's bus events: ready when the IKE SA
// and every configured CHILD_SA are up, whatever order the bus reports them
// in; rekeying and re-establishment keep or restore it; exchanges counted.
#include "ikebridge/core/keying_state.hpp"

#include <gtest/gtest.h>

namespace nemokey::ikebridge {
namespace {

KeyingPlan plan() {
    KeyingPlan p;
    p.role = conf::Role::mobile_router;
    Connection c;
    c.name = "home-agent";
    c.home_address = *net::Ipv6Address::parse("2001:db8:1::100");
    c.children = {ChildConnection{"signalling", conf::TrafficClass::signalling, "transport_proxy", 7, {}, {}},
                  ChildConnection{"payload", conf::TrafficClass::payload, "tunnel", 8, {}, {}}};
    p.connections.push_back(c);
    return p;
}

TEST(KeyingStateTest, ReadyOnlyWhenTheIkeSaAndEveryChildAreUp) {
    auto p = plan();
    KeyingState s(p);
    EXPECT_FALSE(s.ike_up("home-agent", 1, "fqdn:ha", "2001:db8:2::5", "2001:db8:1::1"));
    EXPECT_FALSE(s.child_up("home-agent", 1, 10, "signalling"));
    auto r = s.child_up("home-agent", 1, 11, "payload");
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->ready);
    EXPECT_EQ(r->peer_id, "fqdn:ha");
    EXPECT_EQ(r->home_address, p.connections[0].home_address);
    EXPECT_TRUE(s.find_home_address(p.connections[0].home_address)->ready);
}

TEST(KeyingStateTest, AChildReportedBeforeItsIkeSaCounts) {
    auto p = plan();
    KeyingState s(p);
    EXPECT_FALSE(s.child_up("home-agent", 1, 10, "signalling"));
    EXPECT_FALSE(s.ike_up("home-agent", 1, "fqdn:ha", "a", "b"));
    auto r = s.child_up("home-agent", 1, 11, "payload");
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->ready);
}

TEST(KeyingStateTest, RekeyedChildKeepsReadiness) {
    auto p = plan();
    KeyingState s(p);
    s.ike_up("home-agent", 1, "fqdn:ha", "a", "b");
    s.child_up("home-agent", 1, 10, "signalling");
    s.child_up("home-agent", 1, 11, "payload");
    EXPECT_FALSE(s.child_up("home-agent", 1, 12, "payload"));   // the new one
    EXPECT_FALSE(s.child_down("home-agent", 1, 11));             // the old one
    EXPECT_TRUE(s.find("home-agent")->ready);
    auto r = s.child_down("home-agent", 1, 12);
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->ready);
}

TEST(KeyingStateTest, ReestablishedIkeSaReplacesTheOldOne) {
    auto p = plan();
    KeyingState s(p);
    s.ike_up("home-agent", 1, "fqdn:ha", "a", "b");
    s.child_up("home-agent", 1, 10, "signalling");
    s.child_up("home-agent", 1, 11, "payload");
    // unique=replace: the new IKE SA comes up before the old one goes.
    auto r = s.ike_up("home-agent", 2, "fqdn:ha", "c", "b");
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->ready);   // its CHILD_SAs are not up yet
    EXPECT_FALSE(s.ike_down("home-agent", 1));   // the old one: ignored
    s.child_up("home-agent", 2, 20, "signalling");
    r = s.child_up("home-agent", 2, 21, "payload");
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->ready);
    EXPECT_EQ(s.find("home-agent")->local_host, "c");
    EXPECT_EQ(s.find("home-agent")->ike_sa_established, 2u);
    r = s.ike_down("home-agent", 2);
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->ready);
}

// An IKE rekey hands the CHILD_SAs to a new IKE SA without any down/up:
// readiness stays, and the new IKE SA's later events count.
TEST(KeyingStateTest, RekeyedIkeSaKeepsReadinessAndTakesOver) {
    auto p = plan();
    KeyingState s(p);
    s.ike_up("home-agent", 1, "fqdn:ha", "2001:db8:a1::5", "2001:db8:1::1");
    s.child_up("home-agent", 1, 10, "signalling");
    ASSERT_TRUE(s.child_up("home-agent", 1, 11, "payload"));
    EXPECT_FALSE(s.ike_rekeyed("home-agent", 7, 2)) << "not the current IKE SA: nothing";
    EXPECT_EQ(s.find("home-agent")->ike_unique_id, 1u);
    EXPECT_FALSE(s.ike_rekeyed("home-agent", 1, 2)) << "readiness unchanged";
    EXPECT_TRUE(s.find("home-agent")->ready);
    EXPECT_EQ(s.find("home-agent")->ike_unique_id, 2u);
    EXPECT_FALSE(s.ike_down("home-agent", 1)) << "the old IKE SA is history";
    EXPECT_TRUE(s.endpoints_moved("home-agent", 2, "2001:db8:a2::5", "2001:db8:1::1"));
    EXPECT_FALSE(s.child_up("home-agent", 2, 12, "payload")) << "a later CHILD_SA rekey under the new IKE SA";
    EXPECT_FALSE(s.child_down("home-agent", 2, 11));
    EXPECT_TRUE(s.find("home-agent")->ready);
    auto r = s.ike_down("home-agent", 2);
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->ready);
}

// One handover's kernel MIGRATEs (one per policy) all report the same move:
// it is news once; an IKE SA that is not the current one is none.
TEST(KeyingStateTest, EndpointMovesAreNewsOnce) {
    auto p = plan();
    KeyingState s(p);
    s.ike_up("home-agent", 1, "fqdn:ha", "2001:db8:a1::5", "2001:db8:1::1");
    EXPECT_FALSE(s.endpoints_moved("home-agent", 1, "2001:db8:a1::5", "2001:db8:1::1")) << "where it already is";
    EXPECT_TRUE(s.endpoints_moved("home-agent", 1, "2001:db8:a2::5", "2001:db8:1::1"));
    EXPECT_FALSE(s.endpoints_moved("home-agent", 1, "2001:db8:a2::5", "2001:db8:1::1"));
    EXPECT_EQ(s.find("home-agent")->local_host, "2001:db8:a2::5");
    EXPECT_FALSE(s.endpoints_moved("home-agent", 2, "2001:db8:a1::5", "2001:db8:1::1")) << "not its IKE SA";
    EXPECT_FALSE(s.endpoints_moved("other", 1, "2001:db8:a1::5", "2001:db8:1::1"));
}

TEST(KeyingStateTest, UnknownConnectionsChangeNothing) {
    auto p = plan();
    KeyingState s(p);
    EXPECT_FALSE(s.ike_up("other", 1, "x", "a", "b"));
    EXPECT_FALSE(s.child_up("other", 1, 1, "signalling"));
    EXPECT_EQ(s.find("other"), nullptr);
}

TEST(KeyingStateTest, CountsRequestsByExchangeAndDirection) {
    auto p = plan();
    KeyingState s(p);
    s.message(exchange_ike_sa_init, false, true);
    s.message(exchange_ike_sa_init, true, false);   // the response: not an exchange of its own
    s.message(exchange_ike_auth, false, true);
    s.message(exchange_informational, true, true);
    s.message(99, true, true);
    EXPECT_EQ(s.exchanges().at("ike-sa-init.sent"), 1u);
    EXPECT_EQ(s.exchanges().count("ike-sa-init.received"), 0u);
    EXPECT_EQ(s.exchanges().at("ike-auth.sent"), 1u);
    EXPECT_EQ(s.exchanges().at("informational.received"), 1u);
    EXPECT_EQ(s.exchanges().at("other.received"), 1u);
}

}  // namespace
}  // namespace nemokey::ikebridge
