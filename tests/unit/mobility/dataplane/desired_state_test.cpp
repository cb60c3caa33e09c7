// The desired kernel state of one binding, object by object.
#include "mobility/core/dataplane/desired_state.hpp"
#include "tests/unit/mobility/binding/allow_all_authorizer.hpp"

#include <gtest/gtest.h>

#include "mobility/kernel/marks.hpp"
#include "mobility/kernel/reconcile.hpp"
#include "tests/unit/mobility/binding/test_support.hpp"
#include "tests/unit/mobility/dataplane/node_spd.hpp"

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
    // No binding: only the shared tunnel device, its clsact qdisc and the
    // catch-all drop (RFC 6275 sec. 10.4.5: nothing comes out of the tunnel).
    auto k = desired_state(bc, plane);
    EXPECT_EQ(k.size(), 3u);
    EXPECT_EQ(k.tunnels.at("nk-ha0").kind, TunnelKind::ip6ip6_external);
    EXPECT_TRUE(k.qdiscs.contains("nk-ha0"));
    ASSERT_EQ(k.tunnel_filters.size(), 1u);
    EXPECT_EQ(k.tunnel_filters.begin()->second.action, FilterAction::drop);
    EXPECT_FALSE(k.tunnel_filters.begin()->second.inner_source);

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

// RFC 6275 sec. 10.4.5, RFC 3963 sec. 6: what comes out of the tunnel
// passes when its inner source is the home address (or in a registered
// prefix) and its outer source is the binding's care-of address.
TEST(DesiredState, HomeAgentReverseTunnelCheckFollowsTheBinding) {
    binding::testing::AllowAllAuthorizer auth{{prefix("2001:db8:300::/56")}};
    binding::BindingCacheConfig c;
    c.home_prefixes = {binding::HomeLinkPrefix{prefix("2001:db8:1::/64"), std::nullopt}};
    c.duplicate_address_detection = false;
    binding::BindingCache bc(c, auth);
    const auto hoa = addr("2001:db8:1::100");
    const auto coa = addr("2001:db8:a::10");
    HomeAgentDataPlane plane;
    auto r = bu(1, coa);
    r.message.mobile_router = true;
    r.message.options.push_back(mh::MobileNetworkPrefix{56, addr("2001:db8:300::")});
    settle(bc, bc.handle(r, binding::TimePoint{}), binding::TimePoint{});
    auto k = desired_state(bc, plane);
    ASSERT_EQ(k.tunnel_filters.size(), 3u) << to_string(k);
    std::map<Prefix, TunnelFilter> pass;
    for (const auto& [id, f] : k.tunnel_filters) {
        EXPECT_EQ(id.device, "nk-ha0");
        EXPECT_TRUE(marks::owned(f));
        if (f.action == FilterAction::drop) {
            EXPECT_EQ(id.priority, marks::filter_priority_max) << "the catch-all comes last";
            continue;
        }
        EXPECT_EQ(id.priority, marks::filter_priority_min);
        EXPECT_EQ(f.outer_source, IpAddress{coa});
        pass.emplace(*f.inner_source, f);
    }
    ASSERT_TRUE(pass.contains(prefix("2001:db8:1::100/128")));
    ASSERT_TRUE(pass.contains(prefix("2001:db8:300::/56")));
    const auto before = pass.at(prefix("2001:db8:1::100/128")).id;

    // A handover: the same filters (same handles), the new care-of address.
    const auto coa2 = addr("2001:db8:b::10");
    auto moved = bu(2, coa2);
    moved.message.mobile_router = true;
    moved.message.options.push_back(mh::MobileNetworkPrefix{56, addr("2001:db8:300::")});
    settle(bc, bc.handle(moved, binding::TimePoint{}), binding::TimePoint{});
    const auto k2 = desired_state(bc, plane);
    ASSERT_TRUE(k2.tunnel_filters.contains(before));
    EXPECT_EQ(k2.tunnel_filters.at(before).outer_source, IpAddress{coa2});
    EXPECT_EQ(reconcile(k2, k).size(), 4u) << "two routes and two filters moved, nothing else";
    (void)hoa;
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
    ASSERT_EQ(k.tunnels.size(), 2u);
    EXPECT_EQ(k.tunnels.at("nk-mn0").local, IpAddress{coa});
    // The receive-only tunnel: from the home agent to any local address.
    EXPECT_FALSE(k.tunnels.at("nk-mn1").local);
    EXPECT_EQ(k.tunnels.at("nk-mn1").remote, IpAddress{c.home_agent_address});
    ASSERT_EQ(k.addresses.size(), 1u);
    EXPECT_TRUE(k.addresses.begin()->second.home_address);
    EXPECT_TRUE(k.addresses.begin()->second.nodad);
    ASSERT_EQ(k.rules.size(), 1u);
    EXPECT_EQ(k.rules.begin()->first.source, prefix("2001:db8:1::100/128"));
    ASSERT_EQ(k.routes.size(), 1u);
    EXPECT_EQ(k.routes.begin()->second.device, "nk-mn0");
    EXPECT_EQ(marks::owned_only(k), k);
}


// drafts-notes/linux-mip6-xfrm.md: the configuration proven on Linux 6.1.
TEST(DesiredState, HomeAgentSignallingIsInPlaceBeforeAnyBinding) {
    binding::testing::AllowAllAuthorizer auth;
    binding::BindingCacheConfig c;
    c.home_prefixes = {binding::HomeLinkPrefix{prefix("2001:db8:1::/64"), std::nullopt}};
    c.duplicate_address_detection = false;
    binding::BindingCache bc(c, auth);
    const auto hoa = addr("2001:db8:1::100");
    const auto ha = addr("2001:db8:1::1");
    HomeAgentDataPlane plane;
    plane.home_agent_addresses = {ha};
    plane.spd[hoa] = testing::node_spd(hoa, ha, 0x10000, true);
    Sa esp;
    esp.id = SaId{IpAddress{hoa}, IpAddress{ha}, SaProtocol::esp, 0x2001};
    esp.owner_mark = marks::sa_owner_mark;
    plane.static_sas[hoa] = {esp};
    const auto k = desired_state(bc, plane);
    // The wildcard Home Address option state (note F2).
    const SaId wildcard{IpAddress{net::Ipv6Address{}}, IpAddress{net::Ipv6Address{}}, SaProtocol::home_address, 0};
    ASSERT_TRUE(k.sas.contains(wildcard));
    EXPECT_TRUE(k.sas.at(wildcard).wildcard_receive);
    EXPECT_TRUE(k.sas.contains(esp.id)) << "a node's static SAs exist before its first BU";
    const Prefix any = prefix("::/0"), to_ha = prefix("2001:db8:1::1/128"), h = prefix("2001:db8:1::100/128");
    // Sub policies for MH and ESP with the optional hao template (note F1).
    for (uint8_t proto : {uint8_t(135), uint8_t(50)}) {
        const PolicyId id{Selector{any, to_ha, proto, std::nullopt}, PolicyDirection::in, PolicyType::sub};
        ASSERT_TRUE(k.policies.contains(id)) << int(proto);
        const auto& t = k.policies.at(id).templates;
        ASSERT_EQ(t.size(), 1u);
        EXPECT_EQ(t[0].protocol, SaProtocol::home_address);
        EXPECT_TRUE(t[0].optional);
    }
    const PolicyId block{Selector{any, to_ha, 135, std::nullopt}, PolicyDirection::in, PolicyType::main};
    ASSERT_TRUE(k.policies.contains(block));
    EXPECT_EQ(k.policies.at(block).action, PolicyAction::block);
    // The node's BU policy: inbound, no MH type selector (note F3), ESP only.
    const PolicyId bu_in{Selector{h, to_ha, 135, std::nullopt}, PolicyDirection::in, PolicyType::main};
    ASSERT_TRUE(k.policies.contains(bu_in));
    ASSERT_EQ(k.policies.at(bu_in).templates.size(), 1u);
    EXPECT_EQ(k.policies.at(bu_in).templates[0].protocol, SaProtocol::esp);
    EXPECT_LT(k.policies.at(bu_in).priority, k.policies.at(block).priority) << "the node's policy wins over the block";
    const PolicyId ba{Selector{to_ha, h, 135, uint8_t(6)}, PolicyDirection::out, PolicyType::main};
    EXPECT_TRUE(k.policies.contains(ba)) << "outbound keeps its type selector";
    EXPECT_TRUE(k.routes.empty());
    EXPECT_EQ(marks::owned_only(k), k);

    // A binding adds the route2 / hao states with the care-of address and the
    // sub policy adding the type 2 routing header to the BA.
    const auto coa = addr("2001:db8:a::10");
    settle(bc, bc.handle(bu(1, coa), binding::TimePoint{}), binding::TimePoint{});
    const auto b = desired_state(bc, plane);
    const SaId route2{IpAddress{ha}, IpAddress{hoa}, SaProtocol::route2, 0};
    ASSERT_TRUE(b.sas.contains(route2));
    EXPECT_EQ(b.sas.at(route2).care_of_address, IpAddress{coa});
    EXPECT_TRUE(b.sas.contains(SaId{IpAddress{hoa}, IpAddress{ha}, SaProtocol::home_address, 0}));
    const PolicyId ba_rh{Selector{to_ha, h, 135, uint8_t(6)}, PolicyDirection::out, PolicyType::sub};
    ASSERT_TRUE(b.policies.contains(ba_rh));
    EXPECT_EQ(b.policies.at(ba_rh).templates.at(0).protocol, SaProtocol::route2);
    EXPECT_TRUE(b.policies.at(ba_rh).templates.at(0).optional);
    EXPECT_EQ(marks::owned_only(b), b);
}

// Load benchmarks only (mobilityd --benchmark-unprotected-bus): no block
// policy, no ESP policy and no SA; the route-optimisation part stays, so a
// BU with a Home Address option still reaches the socket and the BA still
// leaves with a type 2 routing header.
TEST(DesiredState, HomeAgentUnprotectedSignallingForBenchmarksKeepsOnlyRouteOptimisation) {
    binding::testing::AllowAllAuthorizer auth;
    binding::BindingCacheConfig c;
    c.home_prefixes = {binding::HomeLinkPrefix{prefix("2001:db8:1::/64"), std::nullopt}};
    c.duplicate_address_detection = false;
    binding::BindingCache bc(c, auth);
    const auto hoa = addr("2001:db8:1::100");
    const auto ha = addr("2001:db8:1::1");
    HomeAgentDataPlane plane;
    plane.home_agent_addresses = {ha};
    plane.spd[hoa] = testing::node_spd(hoa, ha, 0x10000, true);
    Sa esp;
    esp.id = SaId{IpAddress{hoa}, IpAddress{ha}, SaProtocol::esp, 0x2001};
    esp.owner_mark = marks::sa_owner_mark;
    plane.static_sas[hoa] = {esp};
    plane.unprotected_signalling = true;
    const auto coa = addr("2001:db8:a::10");
    settle(bc, bc.handle(bu(1, coa), binding::TimePoint{}), binding::TimePoint{});
    const auto k = desired_state(bc, plane);
    for (const auto& [id, p] : k.policies) {
        EXPECT_NE(p.action, PolicyAction::block);
        EXPECT_EQ(id.type, PolicyType::sub) << "no main policy";
        for (const auto& t : p.templates) EXPECT_NE(t.protocol, SaProtocol::esp);
    }
    for (const auto& [id, sa] : k.sas) EXPECT_NE(id.protocol, SaProtocol::esp);
    const Prefix to_ha = prefix("2001:db8:1::1/128"), h = prefix("2001:db8:1::100/128");
    EXPECT_TRUE(k.policies.contains(PolicyId{Selector{to_ha, h, 135, uint8_t(6)}, PolicyDirection::out, PolicyType::sub}))
        << "the BA still gets its type 2 routing header";
    EXPECT_TRUE(k.sas.contains(SaId{IpAddress{ha}, IpAddress{hoa}, SaProtocol::route2, 0}));
    EXPECT_EQ(k.routes.size(), 1u);
    EXPECT_EQ(k.proxy_neighbours.size(), 0u) << "no home link interface in this plane";
}

TEST(DesiredState, MobileNodeHasItsHomeAddressAndRouteOptimisationWhileRegistering) {
    binding::BindingUpdateListConfig c;
    c.home_address = addr("2001:db8:1::100");
    c.home_agent_address = addr("2001:db8:1::1");
    binding::BindingUpdateList bul(c);
    MobileDataPlane plane;
    plane.spd = testing::node_spd(c.home_address, c.home_agent_address, 0x10000, false);
    const auto coa = addr("2001:db8:a::10");
    settle(bul, bul.handle(binding::MovedToCareOfAddress{coa, 0}, binding::TimePoint{}), binding::TimePoint{});
    ASSERT_EQ(bul.entries().begin()->second.state, binding::BulState::waiting_for_ack);
    const auto k = desired_state(bul, plane);
    // RFC 6275 sec. 9.3.1 / 6.4: the BA's type 2 routing header is accepted
    // only for a home address, so it is there before the first BA.
    ASSERT_EQ(k.addresses.size(), 1u);
    EXPECT_TRUE(k.addresses.begin()->second.home_address);
    ASSERT_EQ(k.tunnels.size(), 2u);
    EXPECT_EQ(k.tunnels.at("nk-mn0").local, IpAddress{coa});
    // The receive-only tunnel: from the home agent to any local address.
    EXPECT_FALSE(k.tunnels.at("nk-mn1").local);
    EXPECT_EQ(k.tunnels.at("nk-mn1").remote, IpAddress{c.home_agent_address});
    EXPECT_TRUE(k.rules.empty()) << "no traffic is steered into the tunnel before the binding";
    EXPECT_TRUE(k.routes.empty());
    const Prefix h = prefix("2001:db8:1::100/128"), a = prefix("2001:db8:1::1/128");
    const PolicyId bu_hao{Selector{h, a, 135, uint8_t(5)}, PolicyDirection::out, PolicyType::sub};
    ASSERT_TRUE(k.policies.contains(bu_hao));
    EXPECT_EQ(k.policies.at(bu_hao).templates.at(0).protocol, SaProtocol::home_address);
    EXPECT_TRUE(k.policies.contains(PolicyId{Selector{a, h, 135, std::nullopt}, PolicyDirection::in, PolicyType::sub}));
    EXPECT_TRUE(k.policies.contains(PolicyId{Selector{a, h, 50, std::nullopt}, PolicyDirection::in, PolicyType::sub}));
    const SaId hao{IpAddress{c.home_address}, IpAddress{c.home_agent_address}, SaProtocol::home_address, 0};
    ASSERT_TRUE(k.sas.contains(hao));
    EXPECT_EQ(k.sas.at(hao).care_of_address, IpAddress{coa});
    EXPECT_FALSE(k.sas.at(hao).wildcard_receive);
    EXPECT_EQ(marks::owned_only(k), k);
}

// With payload protection (any protocol, ESP tunnel mode) the still
// encrypted signalling ESP must not meet the payload entry on either side
// (drafts-notes/linux-mip6-xfrm.md F6), and a mobile router's own mobile
// link stays on the link.
TEST(DesiredState, PayloadProtectionLetsSignallingEspAndTheMobileLinkThrough) {
    const auto hoa = addr("2001:db8:1::100");
    const auto ha = addr("2001:db8:1::1");
    const auto coa = addr("2001:db8:a::10");
    const Prefix mnp = prefix("2001:db8:1:100::/64");
    const Prefix h = prefix("2001:db8:1::100/128"), a = prefix("2001:db8:1::1/128");

    binding::testing::AllowAllAuthorizer auth;
    binding::BindingCacheConfig c;
    c.home_prefixes = {binding::HomeLinkPrefix{prefix("2001:db8:1::/64"), std::nullopt}};
    c.duplicate_address_detection = false;
    binding::BindingCache bc(c, auth);
    HomeAgentDataPlane plane;
    plane.home_agent_addresses = {ha};
    plane.spd[hoa] = testing::node_spd(hoa, ha, 0x10000, true, {mnp});
    const PolicyId ha_esp{Selector{h, a, 50, std::nullopt}, PolicyDirection::in, PolicyType::main};
    EXPECT_FALSE(desired_state(bc, plane).policies.contains(ha_esp)) << "no binding, no payload entries";
    settle(bc, bc.handle(bu(1, coa), binding::TimePoint{}), binding::TimePoint{});
    auto k = desired_state(bc, plane);
    ASSERT_TRUE(k.policies.contains(ha_esp));
    const Policy& p = k.policies.at(ha_esp);
    EXPECT_EQ(p.action, PolicyAction::allow);
    EXPECT_TRUE(p.templates.empty());
    // It must win over the payload entry that takes the same packet.
    const PolicyId payload_in{Selector{h, prefix("::/0"), 0, std::nullopt}, PolicyDirection::in, PolicyType::main};
    ASSERT_TRUE(k.policies.contains(payload_in));
    EXPECT_LT(p.priority, k.policies.at(payload_in).priority);
    plane.spd[hoa] = testing::node_spd(hoa, ha, 0x10000, true);
    plane.spd[hoa].resize(2);   // BU and BA only
    EXPECT_FALSE(desired_state(bc, plane).policies.contains(ha_esp)) << "only with payload protection";

    binding::BindingUpdateListConfig mc;
    mc.home_address = hoa;
    mc.home_agent_address = ha;
    mc.mobile_router = true;
    binding::BindingUpdateList bul(mc);
    MobileDataPlane mplane;
    mplane.mobile_network_prefixes = {mnp};
    mplane.spd = testing::node_spd(hoa, ha, 0x10000, false, {mnp});
    settle(bul, bul.handle(binding::MovedToCareOfAddress{coa, 0}, binding::TimePoint{}), binding::TimePoint{});
    k = desired_state(bul, mplane);
    const PolicyId mr_esp{Selector{a, h, 50, std::nullopt}, PolicyDirection::in, PolicyType::main};
    ASSERT_TRUE(k.policies.contains(mr_esp));
    EXPECT_TRUE(k.policies.at(mr_esp).templates.empty());
    const PolicyId down{Selector{prefix("::/0"), h, 0, std::nullopt}, PolicyDirection::in, PolicyType::main};
    ASSERT_TRUE(k.policies.contains(down));
    EXPECT_LT(k.policies.at(mr_esp).priority, k.policies.at(down).priority);
    for (auto d : {PolicyDirection::out, PolicyDirection::in}) {
        const PolicyId link{Selector{mnp, mnp, 0, std::nullopt}, d, PolicyType::main};
        ASSERT_TRUE(k.policies.contains(link));
        EXPECT_TRUE(k.policies.at(link).templates.empty());
        const PolicyId payload{d == PolicyDirection::out ? Selector{mnp, prefix("::/0"), 0, std::nullopt}
                                                         : Selector{prefix("::/0"), mnp, 0, std::nullopt},
                               d, PolicyType::main};
        ASSERT_TRUE(k.policies.contains(payload));
        EXPECT_LT(k.policies.at(link).priority, k.policies.at(payload).priority);
    }
    EXPECT_EQ(marks::owned_only(k), k);
}

}  // namespace
}  // namespace nemokey::mobility::dataplane
