// The derived security plan: RFC 3776/4877 SPD entries, CHILD_SAs and
// request ids, for both ends of a binding.
#include "conf/parser.hpp"
#include "conf/plan.hpp"
#include "conf/plan_format.hpp"
#include "tests/unit/conf/test_files.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

namespace nemokey::conf {
namespace {

using nemokey::conf::testing::replace;
using nemokey::conf::testing::ScratchDir;

const std::string mobile_router = R"(role = "mobile-router"
identity = "mr1.example.net"
[[interface]]
name = "eth1"
[home]
home-agent-addresses = ["2001:db8:1::1"]
home-agent-identity = "ha.example.net"
home-prefix = "2001:db8:1::/64"
home-address = "2001:db8:1::100"
home-agent-ipv4-address = "192.0.2.1"
ipv4-home-address = "192.0.2.100"
[mobile-network]
prefixes = ["2001:db8:1:100::/64"]
[keying]
certificate = "mr.pem"
private-key = "mr.key"
ca-certificate = "ca.pem"
[protection]
payload-tunnel = true
home-test = true
prefix-discovery = true
)";

const std::string home_agent = R"(role = "home-agent"
[home-agent]
addresses = ["2001:db8:1::1"]
ipv4-address = "192.0.2.1"
home-prefixes = ["2001:db8:1::/64"]
identity = "ha.example.net"
[keying]
certificate = "ha.pem"
private-key = "ha.key"
ca-certificate = "ca.pem"
)";

const std::string node_mr1 = R"(identity = "mr1.example.net"
role = "mobile-router"
home-address = "2001:db8:1::100"
ipv4-home-address = "192.0.2.100"
[mobile-network]
prefixes = ["2001:db8:1:100::/64"]
[protection]
prefix-discovery = true
)";

class PlanTest : public ::testing::Test {
protected:
    PlanTest() {
        for (const char* f : {"mr.pem", "mr.key", "ca.pem", "ha.pem", "ha.key", "mn.keys"}) dir_.write(f, "x\n");
    }
    Model model(const std::string& text) {
        auto r = parse_string(text, "mr.toml", dir_.path());
        EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().front().to_string());
        return r ? *r : Model{};
    }
    Model ha_model(const std::vector<std::pair<std::string, std::string>>& nodes) {
        for (const auto& [name, text] : nodes) dir_.write("nodes.d/" + name, text);
        std::filesystem::create_directories(dir_.path() / "nodes.d");
        auto r = parse_file(dir_.write("ha.toml", home_agent));
        EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().front().to_string());
        return r ? *r : Model{};
    }
    ScratchDir dir_;
};

const SpdEntry* find(const NodePlan& n, std::string_view message, Direction d, std::string_view source = {}) {
    for (const auto& e : n.spd)
        if (e.message == message && e.direction == d && (source.empty() || e.selector.source.to_string() == source))
            return &e;
    return nullptr;
}

TEST_F(PlanTest, MobileRouterSignallingIsTransportModeWithMhTypes) {
    Plan p = derive_plan(model(mobile_router));
    ASSERT_EQ(p.nodes.size(), 1u);
    const NodePlan& n = p.nodes[0];
    EXPECT_EQ(n.home_address.to_string(), "2001:db8:1::100");
    EXPECT_EQ(n.home_agent_address.to_string(), "2001:db8:1::1");

    const SpdEntry* bu = find(n, "binding-update", Direction::out);
    ASSERT_NE(bu, nullptr);
    EXPECT_EQ(bu->mode, IpsecMode::transport);
    EXPECT_EQ(bu->selector.source.to_string(), "2001:db8:1::100/128");
    EXPECT_EQ(bu->selector.destination.to_string(), "2001:db8:1::1/128");
    EXPECT_EQ(bu->selector.protocol, 135);
    EXPECT_EQ(bu->selector.type, mh_binding_update);
    EXPECT_EQ(bu->mip6_header, Mip6Header::home_address_option);
    EXPECT_FALSE(bu->tunnel_source);

    const SpdEntry* ba = find(n, "binding-acknowledgement", Direction::in);
    ASSERT_NE(ba, nullptr);
    EXPECT_EQ(ba->selector.source.to_string(), "2001:db8:1::1/128");
    EXPECT_EQ(ba->selector.destination.to_string(), "2001:db8:1::100/128");
    EXPECT_EQ(ba->selector.type, mh_binding_acknowledgement);
    EXPECT_EQ(ba->mip6_header, Mip6Header::type2_routing_header);
    // The home agent's Binding Refresh Request: like the BA, to the home
    // address with a type 2 routing header, on the same SA (RFC 6275 sec.
    // 9.5.5, RFC 3776 sec. 5.2.1).
    const SpdEntry* brr = find(n, "binding-refresh-request", Direction::in);
    ASSERT_NE(brr, nullptr);
    EXPECT_EQ(brr->selector.source, ba->selector.source);
    EXPECT_EQ(brr->selector.destination, ba->selector.destination);
    EXPECT_EQ(brr->selector.protocol, 135);
    EXPECT_EQ(brr->selector.type, mh_binding_refresh_request);
    EXPECT_EQ(brr->mode, IpsecMode::transport);
    EXPECT_EQ(brr->mip6_header, Mip6Header::type2_routing_header);
    EXPECT_EQ(brr->reqid, ba->reqid);
    // One SA pair, one reqid.
    EXPECT_EQ(bu->reqid, ba->reqid);
    EXPECT_GE(bu->reqid, reqid_min);
    EXPECT_LE(bu->reqid, reqid_max);
}

TEST_F(PlanTest, TunnelEntriesUseTheCareOfAddressPlaceholder) {
    Plan p = derive_plan(model(mobile_router));
    const NodePlan& n = p.nodes[0];
    const SpdEntry* hoti = find(n, "home-test-init", Direction::out);
    ASSERT_NE(hoti, nullptr);
    EXPECT_EQ(hoti->mode, IpsecMode::tunnel);
    EXPECT_EQ(hoti->selector.destination.to_string(), "::/0");
    EXPECT_EQ(hoti->selector.type, mh_home_test_init);
    ASSERT_TRUE(hoti->tunnel_source && hoti->tunnel_destination);
    EXPECT_TRUE(hoti->tunnel_source->care_of_address);
    EXPECT_EQ(to_string(*hoti->tunnel_destination), "2001:db8:1::1");
    const SpdEntry* hot = find(n, "home-test", Direction::in);
    ASSERT_NE(hot, nullptr);
    EXPECT_EQ(to_string(*hot->tunnel_source), "2001:db8:1::1");
    EXPECT_EQ(to_string(*hot->tunnel_destination), "care-of-address");
    EXPECT_EQ(hot->selector.type, mh_home_test);
}

TEST_F(PlanTest, PayloadCoversHomeAddressPrefixesAndIpv4) {
    Plan p = derive_plan(model(mobile_router));
    const NodePlan& n = p.nodes[0];
    for (const char* src : {"2001:db8:1::100/128", "2001:db8:1:100::/64", "192.0.2.100/32"}) {
        const SpdEntry* out = find(n, "payload", Direction::out, src);
        ASSERT_NE(out, nullptr) << src;
        EXPECT_EQ(out->mode, IpsecMode::tunnel);
        EXPECT_EQ(out->selector.protocol, ip_proto_any);
        EXPECT_FALSE(out->selector.type);
        EXPECT_EQ(out->selector.destination.to_string(), std::string(src).find('.') != std::string::npos
                                                             ? "0.0.0.0/0"
                                                             : "::/0");
    }
    // Signalling is matched before the payload tunnel that also covers it.
    const SpdEntry* bu = find(n, "binding-update", Direction::out);
    const SpdEntry* pay = find(n, "payload", Direction::out);
    EXPECT_LT(bu->priority, pay->priority);
    EXPECT_NE(bu->reqid, pay->reqid);
}

TEST_F(PlanTest, ChildSaTrafficSelectorsCarryTheMhTypeInThePort) {
    Plan p = derive_plan(model(mobile_router));
    ASSERT_TRUE(p.nodes[0].ike_peer);
    const IkePeer& peer = *p.nodes[0].ike_peer;
    EXPECT_EQ(peer.local_identity.value, "mr1.example.net");
    EXPECT_EQ(peer.remote_identity.value, "ha.example.net");
    EXPECT_TRUE(peer.local_address.care_of_address);
    EXPECT_EQ(to_string(peer.remote_address), "2001:db8:1::1");
    EXPECT_EQ(peer.certificate, "mr.pem");
    EXPECT_TRUE(peer.k_flag);
    ASSERT_EQ(peer.child_sas.size(), 4u);
    const ChildSa& sig = peer.child_sas[0];
    EXPECT_EQ(sig.name, "signalling");
    EXPECT_EQ(sig.mode, IpsecMode::transport);
    ASSERT_EQ(sig.local_ts.size(), 1u);
    EXPECT_EQ(sig.local_ts[0].prefix.to_string(), "2001:db8:1::100/128");
    EXPECT_EQ(sig.local_ts[0].protocol, 135);
    EXPECT_EQ(sig.local_ts[0].start_port, 5 * 256);
    EXPECT_EQ(sig.local_ts[0].end_port, 5 * 256 + 255);
    EXPECT_EQ(sig.remote_ts[0].start_port, 6 * 256);
    EXPECT_EQ(sig.reqid, find(p.nodes[0], "binding-update", Direction::out)->reqid);
    const ChildSa& pd = peer.child_sas[1];
    EXPECT_EQ(pd.name, "prefix-discovery");
    EXPECT_EQ(pd.local_ts[0].protocol, 58);
    EXPECT_EQ(pd.local_ts[0].start_port, 146 * 256);
    const ChildSa& pay = peer.child_sas[3];
    EXPECT_EQ(pay.name, "payload");
    EXPECT_EQ(pay.mode, IpsecMode::tunnel);
    EXPECT_EQ(pay.local_ts.size(), 3u);
    ASSERT_EQ(pay.remote_ts.size(), 2u);
    EXPECT_EQ(pay.remote_ts[1].prefix.to_string(), "0.0.0.0/0");
}

TEST_F(PlanTest, OnlySignallingWhenNothingElseIsProtected) {
    std::string text = replace(replace(replace(mobile_router, "payload-tunnel = true", "payload-tunnel = false"),
                                       "home-test = true", "home-test = false"),
                               "prefix-discovery = true", "prefix-discovery = false");
    Plan p = derive_plan(model(text));
    ASSERT_EQ(p.nodes[0].spd.size(), 3u);   // BU, BA, BRR
    EXPECT_EQ(p.nodes[0].ike_peer->child_sas.size(), 1u);
}

TEST_F(PlanTest, HomeAgentMirrorsTheMobileRouterWithTheSameReqids) {
    Plan mr = derive_plan(model(mobile_router));
    Plan ha = derive_plan(ha_model({{"mr1.toml", replace(node_mr1, "[protection]", "[protection]\nhome-test = true")}}));
    ASSERT_EQ(ha.nodes.size(), 1u);
    const NodePlan &m = mr.nodes[0], &h = ha.nodes[0];
    ASSERT_EQ(m.spd.size(), h.spd.size());
    for (size_t i = 0; i < m.spd.size(); ++i) {
        EXPECT_EQ(m.spd[i].message, h.spd[i].message);
        EXPECT_EQ(m.spd[i].selector, h.spd[i].selector) << i;
        EXPECT_NE(m.spd[i].direction, h.spd[i].direction) << i;
        EXPECT_EQ(m.spd[i].tunnel_source, h.spd[i].tunnel_source) << i;
        EXPECT_EQ(m.spd[i].reqid, h.spd[i].reqid) << i;
    }
    const IkePeer& peer = *h.ike_peer;
    EXPECT_EQ(peer.local_identity.value, "ha.example.net");
    EXPECT_EQ(peer.remote_identity.value, "mr1.example.net");
    EXPECT_TRUE(peer.remote_address.care_of_address);
    EXPECT_EQ(peer.certificate, "ha.pem");
    EXPECT_EQ(peer.child_sas[0].local_ts, m.ike_peer->child_sas[0].remote_ts);
    EXPECT_EQ(peer.child_sas[0].remote_ts, m.ike_peer->child_sas[0].local_ts);
}

TEST_F(PlanTest, StaticKeyingGivesTwoManualSas) {
    std::string mn2 = R"(identity = "mn2.example.net"
role = "mobile-node"
home-address = "2001:db8:1::20"
[keying]
method = "static"
[keying.static]
encryption = "aes256-gcm16"
integrity = "none"
spi-to-home-agent = 0x2001
spi-from-home-agent = 0x2002
key-file = "../mn.keys"
[protection]
payload-tunnel = false
home-test = false
)";
    Plan p = derive_plan(ha_model({{"mn2.toml", mn2}}));
    const NodePlan& n = p.nodes[0];
    EXPECT_FALSE(n.ike_peer);
    ASSERT_EQ(n.static_sas.size(), 2u);
    EXPECT_EQ(n.static_sas[0].direction, Direction::out);
    EXPECT_EQ(n.static_sas[0].spi, 0x2002u);
    EXPECT_EQ(n.static_sas[0].source.to_string(), "2001:db8:1::1");
    EXPECT_EQ(n.static_sas[1].direction, Direction::in);
    EXPECT_EQ(n.static_sas[1].spi, 0x2001u);
    EXPECT_EQ(n.static_sas[1].key_file, "../mn.keys");
    EXPECT_EQ(n.static_sas[0].reqid, n.spd[0].reqid);
}

TEST(Reqid, DerivedFromIdentityAndClassOnly) {
    Identity a{IdentityType::fqdn, "mr1.example.net"}, b{IdentityType::fqdn, "mr2.example.net"};
    EXPECT_EQ(derive_reqid(a, TrafficClass::signalling), derive_reqid(a, TrafficClass::signalling));
    EXPECT_NE(derive_reqid(a, TrafficClass::signalling), derive_reqid(b, TrafficClass::signalling));
    EXPECT_NE(derive_reqid(a, TrafficClass::signalling), derive_reqid(a, TrafficClass::payload));
    EXPECT_NE(derive_reqid(a, TrafficClass::signalling, 0), derive_reqid(a, TrafficClass::signalling, 1));
    // Same text, other identity type: another identity.
    EXPECT_NE(derive_reqid(Identity{IdentityType::der_asn1_dn, "x=1"}, TrafficClass::payload),
              derive_reqid(Identity{IdentityType::fqdn, "x=1"}, TrafficClass::payload));
    for (uint32_t i = 0; i < 1000; ++i) {
        uint32_t r = derive_reqid(Identity{IdentityType::fqdn, "n" + std::to_string(i)}, TrafficClass::home_test);
        EXPECT_GE(r, reqid_min);
        EXPECT_LE(r, reqid_max);
    }
}

// Every key collides on its first attempts; the plan must still give
// distinct, nonzero ids, the same ones whatever the order of node files.
uint32_t colliding(const Identity&, TrafficClass, uint32_t attempt) { return attempt < 2 ? 0 : reqid_min + attempt; }

TEST_F(PlanTest, ReqidCollisionsAreResolvedDeterministically) {
    std::string mn1 = "identity = \"mn1.example.net\"\nrole = \"mobile-node\"\nhome-address = \"2001:db8:1::10\"\n";
    std::string mn2 = "identity = \"mn2.example.net\"\nrole = \"mobile-node\"\nhome-address = \"2001:db8:1::20\"\n";
    Model m = ha_model({{"a.toml", mn1}, {"b.toml", mn2}, {"c.toml", node_mr1}});
    Plan p1 = derive_plan(m, colliding);
    std::set<uint32_t> ids;
    size_t sa_pairs = 0;
    for (const auto& n : p1.nodes) {
        std::set<uint32_t> mine;
        for (const auto& e : n.spd) mine.insert(e.reqid);
        sa_pairs += mine.size();
        ids.insert(mine.begin(), mine.end());
    }
    EXPECT_EQ(ids.size(), sa_pairs);
    EXPECT_EQ(ids.count(0), 0u);
    // The node files in the other order (the same bindings, renamed).
    ScratchDir other;
    for (const char* f : {"ha.pem", "ha.key", "ca.pem"}) other.write(f, "x\n");
    other.write("nodes.d/a.toml", node_mr1);
    other.write("nodes.d/b.toml", mn2);
    other.write("nodes.d/c.toml", mn1);
    auto r = parse_file(other.write("ha.toml", home_agent));
    ASSERT_TRUE(r.ok()) << r.error().front().to_string();
    Plan p2 = derive_plan(*r, colliding);
    auto reqid_of = [](const Plan& p, std::string_view identity, std::string_view message) {
        for (const auto& n : p.nodes)
            for (const auto& e : n.spd)
                if (n.identity.value == identity && e.message == message) return e.reqid;
        return 0u;
    };
    for (const char* id : {"mn1.example.net", "mn2.example.net", "mr1.example.net"})
        for (const char* msg : {"binding-update", "payload"}) EXPECT_EQ(reqid_of(p1, id, msg), reqid_of(p2, id, msg));
    // And a second derivation is identical.
    Plan p3 = derive_plan(m, colliding);
    EXPECT_EQ(p1.nodes, p3.nodes);
}

TEST(PlanFormat, TextIsRenderedFromTheJson) {
    nlohmann::ordered_json j = nlohmann::ordered_json::parse(
        R"({"role":"home-agent","nodes":[{"identity":{"type":"fqdn","value":"mn1.example.net"},)"
        R"("spd":[{"reqid":7,"ok":true},{"reqid":8}],"ports":[1,2],"none":[]}]})");
    EXPECT_EQ(to_text(j),
              "role: home-agent\n"
              "nodes:\n"
              "  - identity: fqdn mn1.example.net\n"
              "    spd:\n"
              "      - reqid: 7\n"
              "        ok: true\n"
              "      - reqid: 8\n"
              "    ports: 1, 2\n"
              "    none: (none)\n");
}

TEST_F(PlanTest, JsonNamesEveryField) {
    auto j = to_json(derive_plan(model(mobile_router)));
    const auto& bu = j["nodes"][0]["spd"][0];
    EXPECT_EQ(bu["class"], "signalling");
    EXPECT_EQ(bu["message"], "binding-update");
    EXPECT_EQ(bu["direction"], "out");
    EXPECT_EQ(bu["mode"], "transport");
    EXPECT_EQ(bu["protocol"], 135);
    EXPECT_EQ(bu["type"], 5);
    EXPECT_EQ(bu["mip6-header"], "home-address-option");
    EXPECT_FALSE(bu.contains("tunnel-source"));
    const auto& payload = j["nodes"][0]["spd"].back();
    EXPECT_EQ(payload["tunnel-source"], "2001:db8:1::1");
    EXPECT_EQ(payload["tunnel-destination"], "care-of-address");
    EXPECT_FALSE(payload.contains("type"));
    const auto& ts = j["nodes"][0]["ike-peer"]["child-sas"][0]["local-ts"][0];
    EXPECT_EQ(ts["ports"], "1280-1535");
    EXPECT_EQ(ts["type"], 5);
    EXPECT_EQ(j["nodes"][0]["ike-peer"]["k-flag"], true);
}

}  // namespace
}  // namespace nemokey::conf
