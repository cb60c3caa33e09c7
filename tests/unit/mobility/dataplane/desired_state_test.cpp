// The desired kernel state of one binding, object by object.
#include "mobility/core/dataplane/desired_state.hpp"
#include "tests/unit/mobility/binding/allow_all_authorizer.hpp"

#include <gtest/gtest.h>

#include "mobility/kernel/marks.hpp"
#include "tests/unit/mobility/binding/test_support.hpp"

namespace nemokey::mobility::dataplane {
namespace {

using namespace kernel;
using binding::testing::addr;
using binding::testing::prefix;
using binding::testing::settle;

conf::SpdEntry payload_out_to_coa(const net::Ipv6Address& hoa, const net::Ipv6Address& ha) {
    conf::SpdEntry e;
    e.traffic_class = conf::TrafficClass::payload;
    e.direction = conf::Direction::out;
    e.mode = conf::IpsecMode::tunnel;
    e.selector = conf::Selector{*net::Prefix::parse("::/0"), net::Prefix{net::IpAddress{hoa}, 128}, 0, std::nullopt};
    e.tunnel_source = conf::Endpoint{false, ha};
    e.tunnel_destination = conf::Endpoint{true, {}};
    e.priority = 100;
    e.reqid = 0x10001;
    return e;
}

binding::ReceivedBindingUpdate bu(uint16_t seq, const net::Ipv6Address& coa) {
    binding::ReceivedBindingUpdate r;
    r.source = coa;
    r.destination = addr("2001:db8:1::1");
    r.home_address_option = addr("2001:db8:1::100");
    r.ipsec_protected = true;
    r.message.sequence_number = seq;
    r.message.home_registration = true;
    r.message.lifetime = 100;
    return r;
}

TEST(DesiredState, HomeAgentBindingIsARouteAProxyEntryAndPolicies) {
    binding::testing::AllowAllAuthorizer auth;
    binding::BindingCacheConfig c;
    c.home_prefixes = {binding::HomeLinkPrefix{prefix("2001:db8:1::/64"), std::nullopt}};
    c.duplicate_address_detection = false;
    binding::BindingCache bc(c, auth);
    const auto hoa = addr("2001:db8:1::100");
    const auto ha = addr("2001:db8:1::1");
    const auto coa = addr("2001:db8:a::10");
    HomeAgentDataPlane plane;
    plane.home_link_interface = "home0";
    plane.spd[hoa] = {payload_out_to_coa(hoa, ha)};
    // No binding: only the shared tunnel device.
    auto k = desired_state(bc, plane);
    EXPECT_EQ(k.size(), 1u);
    EXPECT_EQ(k.tunnels.at("nk-ha0").kind, TunnelKind::ip6ip6_external);

    settle(bc, bc.handle(bu(1, coa), binding::TimePoint{}), binding::TimePoint{});
    k = desired_state(bc, plane);
    ASSERT_EQ(k.routes.size(), 1u);
    const Route& r = k.routes.begin()->second;
    EXPECT_EQ(r.id.destination, prefix("2001:db8:1::100/128"));
    EXPECT_EQ(r.encap_destination, IpAddress{coa});
    EXPECT_EQ(r.encap_source, IpAddress{ha});
    EXPECT_EQ(r.protocol, marks::protocol);
    ASSERT_EQ(k.proxy_neighbours.size(), 1u);
    EXPECT_EQ(k.proxy_neighbours.begin()->first, (ProxyNeighbourId{"home0", hoa}));
    ASSERT_EQ(k.policies.size(), 1u);
    const Policy& p = k.policies.begin()->second;
    EXPECT_TRUE(marks::owned(p));
    EXPECT_EQ(p.templates.at(0).destination, IpAddress{coa}) << "care-of address filled in";
    EXPECT_EQ(marks::owned_only(k), k) << "every desired object carries our mark";
}

TEST(DesiredState, MobileNodeAwayHasTunnelHomeAddressRuleAndRoute) {
    binding::BindingUpdateListConfig c;
    c.home_address = addr("2001:db8:1::100");
    c.home_agent_address = addr("2001:db8:1::1");
    binding::BindingUpdateList bul(c);
    MobileDataPlane plane;
    conf::SpdEntry bu_entry;
    bu_entry.selector = conf::Selector{net::Prefix{net::IpAddress{c.home_address}, 128},
                                       net::Prefix{net::IpAddress{c.home_agent_address}, 128}, 135, 5};
    bu_entry.reqid = 0x10002;
    plane.spd = {bu_entry};
    // At home, before any movement: the BU/BA policy is already there.
    auto k = desired_state(bul, plane);
    EXPECT_EQ(k.policies.size(), 1u);
    EXPECT_TRUE(k.tunnels.empty());

    const auto coa = addr("2001:db8:a::10");
    auto out = settle(bul, bul.handle(binding::MovedToCareOfAddress{coa, 0}, binding::TimePoint{}),
                      binding::TimePoint{});
    mh::BindingAcknowledgement ba;
    ba.sequence_number = binding::testing::only<binding::SendBindingUpdate>(out).message.sequence_number;
    ba.lifetime = 100;
    settle(bul, bul.handle(binding::BindingAcknowledgementReceived{c.home_agent_address, ba, true},
                           binding::TimePoint{}), binding::TimePoint{});
    k = desired_state(bul, plane);
    ASSERT_EQ(k.tunnels.size(), 1u);
    EXPECT_EQ(k.tunnels.begin()->second.local, IpAddress{coa});
    ASSERT_EQ(k.addresses.size(), 1u);
    EXPECT_TRUE(k.addresses.begin()->second.home_address);
    EXPECT_TRUE(k.addresses.begin()->second.nodad);
    ASSERT_EQ(k.rules.size(), 1u);
    EXPECT_EQ(k.rules.begin()->first.source, prefix("2001:db8:1::100/128"));
    ASSERT_EQ(k.routes.size(), 1u);
    EXPECT_EQ(k.routes.begin()->second.device, "nk-mn0");
    EXPECT_EQ(marks::owned_only(k), k);
}

}  // namespace
}  // namespace nemokey::mobility::dataplane
