// The connections ikebridged derives from the mobility configuration: one
// per node on the home agent, one to the home agent on the mobile side,
// CHILD_SAs with the plan's reqids and traffic classes.
#include "ikebridge/core/connections.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "conf/parser.hpp"

namespace nemokey::ikebridge {
namespace {

const std::filesystem::path examples = NEMOKEY_SOURCE_DIR "/conf/examples";

KeyingPlan keying_of(const std::filesystem::path& file) {
    auto model = conf::parse_file(file);
    EXPECT_TRUE(model.ok()) << file;
    auto plan = conf::derive_plan(*model);
    auto k = derive_keying_plan(*model, plan);
    EXPECT_TRUE(std::holds_alternative<KeyingPlan>(k)) << std::get<KeyingPlanError>(k).text;
    return std::get<KeyingPlan>(k);
}

const ViciItem* find(const ViciSection& s, std::string_view key) {
    for (const auto& i : s.items)
        if (i.key == key) return &i;
    return nullptr;
}

TEST(TrafficSelectorText, MobilityHeaderTypeIsThePortRangeOfRfc4301) {
    conf::TrafficSelector ts{*net::Prefix::parse("2001:db8::1/128"), conf::ip_proto_mh, 5 << 8, (5 << 8) | 0xff};
    EXPECT_EQ(to_swanctl_ts(ts), "2001:db8::1/128[135/1280-1535]");
    conf::TrafficSelector any{*net::Prefix::parse("::/0"), conf::ip_proto_any, 0, 0xffff};
    EXPECT_EQ(to_swanctl_ts(any), "::/0");
    conf::TrafficSelector proto_only{*net::Prefix::parse("::/0"), conf::ip_proto_icmpv6, 0, 0xffff};
    EXPECT_EQ(to_swanctl_ts(proto_only), "::/0[58]");
}

TEST(KeyingPlanTest, MobileRouterHasOneConnectionToItsHomeAgent) {
    auto k = keying_of(examples / "mobile-router/mr.toml");
    ASSERT_EQ(k.connections.size(), 1u);
    const Connection& c = k.connections[0];
    EXPECT_TRUE(c.initiator);
    EXPECT_EQ(c.name, "home-agent");
    EXPECT_TRUE(c.local_addrs.empty());  // the care-of address, at initiation
    EXPECT_EQ(c.remote_addrs, std::vector<std::string>{"2001:db8:1::1"});
    EXPECT_EQ(c.local_id, "fqdn:mr1.example.net");
    EXPECT_EQ(c.remote_id, "fqdn:ha.example.net");
    ASSERT_EQ(c.children.size(), 2u);  // signalling + payload (home-test off for NEMO)
    EXPECT_EQ(c.children[0].name, "signalling");
    EXPECT_EQ(c.children[0].mode, "transport_proxy");
    EXPECT_EQ(c.children[0].local_ts, std::vector<std::string>{"2001:db8:1::100/128[135/1280-1535]"});
    // BA (MH type 6) and the home agent's BRR (type 0) on one SA (RFC 6275 sec. 9.5.5).
    EXPECT_EQ(c.children[0].remote_ts,
              (std::vector<std::string>{"2001:db8:1::1/128[135/1536-1791]", "2001:db8:1::1/128[135/0-255]"}));
    EXPECT_EQ(c.children[1].name, "payload");
    EXPECT_EQ(c.children[1].mode, "tunnel");
    // The home address and both mobile network prefixes (RFC 3963 sec. 5.5),
    // With the IPv4 home address and IPv4 prefix (DSMIPv6, RFC 5555): 5.
    EXPECT_EQ(c.children[1].local_ts.size(), 5u);
    EXPECT_NE(std::find(c.children[1].remote_ts.begin(), c.children[1].remote_ts.end(), "::/0"),
              c.children[1].remote_ts.end());
    EXPECT_EQ(c.mobile_network_prefixes.size(), 2u);
}

TEST(KeyingPlanTest, HomeAgentHasOneConnectionPerIkeNodeWithThePlansReqids) {
    auto model = conf::parse_file(examples / "home-agent/ha.toml");
    ASSERT_TRUE(model.ok());
    auto plan = conf::derive_plan(*model);
    auto k = std::get<KeyingPlan>(derive_keying_plan(*model, plan));
    size_t ike_nodes = 0;
    for (const auto& n : plan.nodes) ike_nodes += n.ike_peer ? 1 : 0;
    ASSERT_EQ(k.connections.size(), ike_nodes);
    ASSERT_LT(k.connections.size(), plan.nodes.size());  // mn2 uses static keys
    for (const auto& c : k.connections) {
        EXPECT_FALSE(c.initiator);
        EXPECT_EQ(c.remote_addrs, std::vector<std::string>{"%any"});
        EXPECT_EQ(c.local_id, "fqdn:ha.example.net");
        const auto node = std::find_if(plan.nodes.begin(), plan.nodes.end(),
                                       [&](const conf::NodePlan& n) { return n.identity.value == c.name; });
        ASSERT_NE(node, plan.nodes.end());
        ASSERT_EQ(c.children.size(), node->ike_peer->child_sas.size());
        for (size_t i = 0; i < c.children.size(); ++i) {
            EXPECT_EQ(c.children[i].reqid, node->ike_peer->child_sas[i].reqid);
            // Every SPD entry of this class carries the same reqid.
            for (const auto& e : node->spd) {
                if (e.traffic_class == c.children[i].traffic_class) {
                    EXPECT_EQ(e.reqid, c.children[i].reqid);
                }
            }
        }
    }
}

TEST(LoadConnMessage, ChildrenInstallNoPoliciesAndMobikeIsOff) {
    auto k = keying_of(examples / "mobile-router/mr.toml");
    auto m = load_conn_message(k.connections[0], {"2001:db8:2::5"});
    EXPECT_EQ(m.name, "home-agent");
    ASSERT_NE(find(m, "local_addrs"), nullptr);
    EXPECT_EQ(find(m, "local_addrs")->list, std::vector<std::string>{"2001:db8:2::5"});
    EXPECT_EQ(find(m, "mobike")->value, "no");
    const auto* children = find(m, "children");
    ASSERT_NE(children, nullptr);
    ASSERT_EQ(children->section.front().items.size(), 2u);
    for (const auto& child : children->section.front().items) {
        const auto& s = child.section.front();
        EXPECT_EQ(find(s, "policies")->value, "no") << s.name;
        EXPECT_EQ(find(s, "start_action")->value, "none") << s.name;
        EXPECT_NE(find(s, "reqid")->value, "0") << s.name;
    }
}

TEST(SwanctlConf, PrintsEveryConnectionAndChild) {
    auto k = keying_of(examples / "mobile-router/mr.toml");
    std::string text = to_swanctl_conf(k);
    EXPECT_NE(text.find("home-agent {"), std::string::npos);
    EXPECT_NE(text.find("mode = transport_proxy"), std::string::npos);
    EXPECT_NE(text.find("local_addrs = %care-of-address"), std::string::npos);
    EXPECT_NE(text.find("remote_ts = 2001:db8:1::1/128[135/1536-1791]"), std::string::npos);
}

TEST(KeyingPlanTest, MissingCredentialsAreOneSentence) {
    auto model = conf::parse_file(examples / "mobile-router/mr.toml");
    ASSERT_TRUE(model.ok());
    auto m = *model;
    m.self->keying.private_key.reset();
    auto k = derive_keying_plan(m, conf::derive_plan(m));
    ASSERT_TRUE(std::holds_alternative<KeyingPlanError>(k));
    EXPECT_NE(std::get<KeyingPlanError>(k).text.find("private-key"), std::string::npos);
}

}  // namespace
}  // namespace nemokey::ikebridge
