// conf::Model -> binding configurations, the configured Authorizer, and
// reload plans of a home agent (mobility/core/config/core_config.hpp).
#include "mobility/core/config/core_config.hpp"

#include <gtest/gtest.h>

#include "conf/parser.hpp"
#include "conf/reload.hpp"
#include "tests/unit/conf/test_files.hpp"
#include "tests/unit/mobility/binding/test_support.hpp"

namespace nemokey::mobility::config {
namespace {

using namespace binding::testing;
using binding::AuthorizationRequest;
using binding::AuthorizationVerdict;
using conf::testing::replace;
using conf::testing::ScratchDir;
using mh::BindingAckStatus;
using std::chrono::milliseconds;
using std::chrono::seconds;

conf::Model example(const std::string& main_file) {
    auto r = conf::parse_file(std::filesystem::path(NEMOKEY_EXAMPLES_DIR) / main_file);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().front().to_string());
    return r ? *r : conf::Model{};
}

// ---- Home agent ----

TEST(HomeAgentCoreConfig, ExampleHomeAgent) {
    const auto c = home_agent_core_config(example("home-agent/ha.toml"));
    ASSERT_TRUE(c);
    const auto& bc = c->binding_cache;
    ASSERT_EQ(bc.home_prefixes.size(), 1u);
    EXPECT_EQ(bc.home_prefixes[0].prefix, prefix("2001:db8:1::/64"));
    EXPECT_FALSE(bc.home_prefixes[0].valid_until);
    EXPECT_EQ(bc.max_binding_lifetime, seconds{3600});   // [timers] binding-lifetime
    EXPECT_TRUE(bc.key_management_mobility);              // the home agent keys with IKEv2
    EXPECT_TRUE(bc.mobile_router_support);
    EXPECT_TRUE(bc.multiple_care_of_addresses);
    EXPECT_TRUE(bc.bulk_registration);
    EXPECT_TRUE(bc.duplicate_address_detection);
    EXPECT_EQ(bc.max_bindings, 0u);

    ASSERT_EQ(c->nodes.size(), 3u);
    const NodeAuthorization& mn1 = c->nodes[0];
    EXPECT_EQ(mn1.identity.value, "mn1.example.net");
    EXPECT_EQ(mn1.source_file, "nodes.d/mn1.toml");
    EXPECT_EQ(mn1.home_address, addr("2001:db8:1::10"));
    EXPECT_FALSE(mn1.mobile_router);
    EXPECT_TRUE(mn1.key_management_mobility);   // ikev2, k-flag = true
    EXPECT_TRUE(mn1.dynamic_keying);
    const NodeAuthorization& mn2 = c->nodes[1];
    EXPECT_EQ(mn2.identity.value, "mn2@example.net");
    EXPECT_EQ(mn2.identity.type, conf::IdentityType::rfc822_addr);
    EXPECT_FALSE(mn2.key_management_mobility);   // static keys: no IKE SA to move
    EXPECT_FALSE(mn2.dynamic_keying);
    const NodeAuthorization& mr1 = c->nodes[2];
    EXPECT_TRUE(mr1.mobile_router);
    EXPECT_EQ(mr1.prefix_mode, binding::PrefixMode::explicit_mode);
    // The IPv4 prefix (RFC 5555) is not the binding core's.
    EXPECT_EQ(mr1.mobile_network_prefixes,
              (std::vector<net::Prefix>{prefix("2001:db8:1:100::/64"), prefix("2001:db8:1:101::/64")}));
    EXPECT_TRUE(mr1.key_management_mobility);   // k-flag defaults to true

    EXPECT_FALSE(home_agent_core_config(example("mobile-node/mn.toml")));
}

TEST(HomeAgentCoreConfig, TestbedHomeAgent) {
    const auto c = home_agent_core_config(example("testbed/ha/ha.toml"));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->binding_cache.max_binding_lifetime, seconds{600});
    ASSERT_EQ(c->nodes.size(), 1u);
    EXPECT_TRUE(c->nodes[0].mobile_router);
}

// ---- Mobile node / mobile router ----

TEST(MobileNodeCoreConfig, ExampleMobileNodeWithTwoInterfaces) {
    const auto lists = mobile_node_core_config(example("mobile-node/mn.toml"));
    ASSERT_EQ(lists.size(), 1u);
    const auto& c = lists[0];
    EXPECT_EQ(c.home_address, addr("2001:db8:1::10"));
    EXPECT_EQ(c.home_agent_address, addr("2001:db8:1::1"));
    EXPECT_EQ(c.requested_lifetime, seconds{600});
    EXPECT_FALSE(c.mobile_router);
    EXPECT_TRUE(c.key_management_mobility);
    EXPECT_TRUE(c.dynamic_keying);
    // Two interfaces with binding-id 1 and 2: RFC 5648, in one bulk BU.
    EXPECT_TRUE(c.multiple_care_of_addresses);
    EXPECT_TRUE(c.bulk_registration);
    EXPECT_EQ(c.initial_bindack_timeout_first_reg, milliseconds{1500});
    EXPECT_EQ(c.initial_bindack_timeout, milliseconds{1000});
    EXPECT_EQ(c.max_bindack_timeout, milliseconds{32000});
    EXPECT_TRUE(mobile_node_core_config(example("home-agent/ha.toml")).empty());
}

TEST(MobileNodeCoreConfig, MovementDetection) {
    const auto mn = movement_detector_core_config(example("mobile-node/mn.toml"));
    ASSERT_TRUE(mn);
    EXPECT_EQ(mn->interfaces, (std::vector<movement::AccessInterface>{{"wlan0", 20, 1}, {"wwan0", 10, 2}}));
    EXPECT_EQ(mn->home_prefixes, std::vector{prefix("2001:db8:1::/64")});
    EXPECT_TRUE(mn->multiple_care_of_addresses());
    EXPECT_EQ(mn->gain_settle, milliseconds{500});
    EXPECT_EQ(mn->loss_hold_down, milliseconds{0});
    const auto mr = movement_detector_core_config(example("mobile-router/mr.toml"));
    ASSERT_TRUE(mr);
    EXPECT_EQ(mr->interfaces, (std::vector<movement::AccessInterface>{{"eth1", 10, std::nullopt}}));
    EXPECT_FALSE(mr->multiple_care_of_addresses());
    EXPECT_FALSE(movement_detector_core_config(example("home-agent/ha.toml")));
}

TEST(MobileNodeCoreConfig, ExampleMobileRouter) {
    const auto lists = mobile_node_core_config(example("mobile-router/mr.toml"));
    ASSERT_EQ(lists.size(), 1u);
    const auto& c = lists[0];
    EXPECT_TRUE(c.mobile_router);
    EXPECT_EQ(c.prefix_mode, binding::PrefixMode::explicit_mode);
    EXPECT_EQ(c.mobile_network_prefixes,
              (std::vector<net::Prefix>{prefix("2001:db8:1:100::/64"), prefix("2001:db8:1:101::/64")}));
    EXPECT_FALSE(c.multiple_care_of_addresses);   // no binding-id on its interface
    EXPECT_FALSE(c.bulk_registration);
    EXPECT_TRUE(c.key_management_mobility);
}

const std::string mobile_node_text = R"(role = "mobile-node"
identity = "mn1.example.net"
[[interface]]
name = "wlan0"
binding-id = 7
[home]
home-agent-addresses = ["2001:db8:1::1", "2001:db8:1::2"]
home-agent-identity = "ha.example.net"
home-prefix = "2001:db8:1::/64"
home-address = "2001:db8:1::10"
[timers]
binding-lifetime = 120
retransmission-initial-ms = 500
retransmission-max-ms = 800
[keying]
method = "ikev2"
k-flag = false
certificate = "mn.pem"
private-key = "mn.key"
ca-certificate = "ca.pem"
)";

conf::Model parse_text(ScratchDir& dir, const std::string& text) {
    for (const char* f : {"mn.pem", "mn.key", "ca.pem", "ha.pem", "ha.key", "mn.keys"}) dir.write(f, "x\n");
    auto r = conf::parse_file(dir.write("main.toml", text));
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().front().to_string());
    return r ? *r : conf::Model{};
}

TEST(MobileNodeCoreConfig, OneListPerHomeAgentAndEveryTimer) {
    ScratchDir dir;
    const auto lists = mobile_node_core_config(parse_text(dir, mobile_node_text));
    ASSERT_EQ(lists.size(), 2u);
    EXPECT_EQ(lists[0].home_agent_address, addr("2001:db8:1::1"));
    EXPECT_EQ(lists[1].home_agent_address, addr("2001:db8:1::2"));
    for (const auto& c : lists) {
        EXPECT_EQ(c.requested_lifetime, seconds{120});
        EXPECT_FALSE(c.key_management_mobility);   // k-flag = false
        EXPECT_TRUE(c.dynamic_keying);
        EXPECT_TRUE(c.multiple_care_of_addresses);   // one binding-id: MCoA without bulk
        EXPECT_FALSE(c.bulk_registration);
        EXPECT_EQ(c.initial_bindack_timeout_first_reg, milliseconds{500});
        EXPECT_EQ(c.max_bindack_timeout, milliseconds{800});
        EXPECT_EQ(c.initial_bindack_timeout, milliseconds{800});   // kept within the maximum
    }
}

TEST(MobileNodeCoreConfig, StaticKeysNeitherKNorDynamicKeying) {
    ScratchDir dir;
    std::string text = replace(mobile_node_text, R"(method = "ikev2"
k-flag = false
certificate = "mn.pem"
private-key = "mn.key"
ca-certificate = "ca.pem"
)", R"(method = "static"
[keying.static]
encryption = "aes128-gcm16"
integrity = "none"
spi-to-home-agent = 0x2001
spi-from-home-agent = 0x2002
key-file = "mn.keys"
[protection]
payload-tunnel = false
home-test = false
)");
    const auto lists = mobile_node_core_config(parse_text(dir, text));
    ASSERT_FALSE(lists.empty());
    EXPECT_FALSE(lists[0].key_management_mobility);
    EXPECT_FALSE(lists[0].dynamic_keying);
}

// ---- Authorizer ----

class AuthorizerTest : public ::testing::Test {
protected:
    ConfiguredAuthorizer auth{home_agent_core_config(example("home-agent/ha.toml"))->nodes};

    binding::AuthorizationAnswer ask(std::string_view identity, std::string_view hoa, bool r = false,
                                     std::vector<net::Prefix> prefixes = {}, bool implicit = false) {
        return auth.authorize(AuthorizationRequest{identity, addr(hoa), r, &prefixes, implicit});
    }
};

TEST_F(AuthorizerTest, Verdicts) {
    auto ok = ask("mn1.example.net", "2001:db8:1::10");
    EXPECT_EQ(ok.verdict, AuthorizationVerdict::authorized);
    EXPECT_TRUE(ok.key_management_mobility);
    EXPECT_FALSE(ask("mn2@example.net", "2001:db8:1::20").key_management_mobility);
    // Someone else's home address, or an unknown identity for it: 129.
    EXPECT_EQ(ask("mn1.example.net", "2001:db8:1::20").verdict, AuthorizationVerdict::administratively_prohibited);
    EXPECT_EQ(ask("stranger.example.net", "2001:db8:1::10").verdict,
              AuthorizationVerdict::administratively_prohibited);
    // A home address nobody has: 133.
    EXPECT_EQ(ask("stranger.example.net", "2001:db8:1::99").verdict,
              AuthorizationVerdict::not_home_agent_for_this_mobile_node);
    // R from a mobile node: 140.
    EXPECT_EQ(ask("mn1.example.net", "2001:db8:1::10", true).verdict,
              AuthorizationVerdict::mobile_router_operation_not_permitted);
    // Explicit prefixes: inside the configured ones, or 142.
    EXPECT_EQ(ask("mr1.example.net", "2001:db8:1::100", true, {prefix("2001:db8:1:100::/64")}).verdict,
              AuthorizationVerdict::authorized);
    EXPECT_EQ(ask("mr1.example.net", "2001:db8:1::100", true, {prefix("2001:db8:1:101:8000::/65")}).verdict,
              AuthorizationVerdict::authorized);
    EXPECT_EQ(ask("mr1.example.net", "2001:db8:1::100", true,
                  {prefix("2001:db8:1:100::/64"), prefix("2001:db8:1:102::/64")})
                  .verdict,
              AuthorizationVerdict::not_authorized_for_prefix);
    EXPECT_EQ(ask("mr1.example.net", "2001:db8:1::100", true, {prefix("2001:db8:1:100::/63")}).verdict,
              AuthorizationVerdict::not_authorized_for_prefix);
    // Implicit mode: the configured prefixes.
    auto implicit = ask("mr1.example.net", "2001:db8:1::100", true, {}, true);
    EXPECT_EQ(implicit.verdict, AuthorizationVerdict::authorized);
    EXPECT_EQ(implicit.configured_prefixes.size(), 2u);
    // A mobile router registering without R is a mobile node: no prefixes.
    auto plain = ask("mr1.example.net", "2001:db8:1::100");
    EXPECT_EQ(plain.verdict, AuthorizationVerdict::authorized);
    EXPECT_TRUE(plain.configured_prefixes.empty());
}

// The cache configured from the example home agent, with this authorizer.
class ConfiguredCacheTest : public AuthorizerTest {
protected:
    binding::BindingCache cache{home_agent_core_config(example("home-agent/ha.toml"))->binding_cache, auth};
    binding::VirtualClock clock{at_ms(1000)};

    binding::ReceivedBindingUpdate bu(std::string identity, std::string_view hoa, uint16_t seq,
                                      std::string_view coa = "2001:db8:a::1") {
        binding::ReceivedBindingUpdate r;
        r.source = addr(coa);
        r.destination = addr("2001:db8:1::1");
        r.home_address_option = addr(hoa);
        r.ipsec_protected = true;
        r.identity = std::move(identity);
        r.message.sequence_number = seq;
        r.message.acknowledge = true;
        r.message.home_registration = true;
        r.message.lifetime = 0xffff;
        r.message.key_management_mobility_capability = true;
        return r;
    }

    // Sends the BU, answers DAD (no duplicate) and every kernel commit.
    mh::BindingAcknowledgement send(const binding::ReceivedBindingUpdate& r) {
        binding::Actions out = settle(cache, cache.handle(r, clock.now()), clock.now());
        for (const auto& d : all_of<binding::PerformDuplicateAddressDetection>(out)) {
            auto more = settle(cache, cache.handle(binding::DuplicateAddressDetectionResult{d.home_address, false},
                                                   clock.now()),
                               clock.now());
            out.insert(out.end(), more.begin(), more.end());
        }
        return only<binding::SendBindingAcknowledgement>(out).message;
    }
};

TEST_F(ConfiguredCacheTest, KGrantedPerNodeAndLifetimeBoundedByConfiguration) {
    auto mn1 = send(bu("mn1.example.net", "2001:db8:1::10", 1));
    EXPECT_EQ(mn1.status, BindingAckStatus::accepted);
    EXPECT_TRUE(mn1.key_management_mobility_capability);
    EXPECT_EQ(mn1.lifetime, 3600 / 4);   // at most [timers] binding-lifetime
    EXPECT_TRUE(cache.find(addr("2001:db8:1::10"))->key_management_mobility);
    // Static keys: K refused even when asked for (RFC 6275 sec. 10.3.1).
    auto mn2 = send(bu("mn2@example.net", "2001:db8:1::20", 1, "2001:db8:b::1"));
    EXPECT_EQ(mn2.status, BindingAckStatus::accepted);
    EXPECT_FALSE(mn2.key_management_mobility_capability);
    EXPECT_FALSE(cache.find(addr("2001:db8:1::20"))->key_management_mobility);
    // Implicit mode for the mobile router: its configured prefixes get routes.
    auto r = bu("mr1.example.net", "2001:db8:1::100", 1, "2001:db8:c::1");
    r.message.mobile_router = true;
    EXPECT_EQ(send(r).status, BindingAckStatus::accepted);
    EXPECT_EQ(cache.find(addr("2001:db8:1::100"))->mobile_network_prefixes.size(), 2u);
    // An identity that is not bound: 133 for an unknown home address.
    EXPECT_EQ(send(bu("stranger", "2001:db8:1::99", 1)).status, BindingAckStatus::not_home_agent_for_this_mobile_node);
}

// ---- Reload ----

const std::string home_agent_text = R"(role = "home-agent"
[home-agent]
addresses = ["2001:db8:1::1"]
home-prefixes = ["2001:db8:1::/64"]
identity = "ha.example.net"
[timers]
binding-lifetime = 3600
[keying]
certificate = "ha.pem"
private-key = "ha.key"
ca-certificate = "ca.pem"
)";

std::string node(std::string_view name, std::string_view hoa, std::string_view extra = "") {
    return "identity = \"" + std::string(name) + ".example.net\"\nrole = \"mobile-node\"\nhome-address = \"" +
           std::string(hoa) + "\"\n" + std::string(extra);
}

std::string router(std::string_view name, std::string_view hoa, std::string_view prefixes) {
    return "identity = \"" + std::string(name) + ".example.net\"\nrole = \"mobile-router\"\nhome-address = \"" +
           std::string(hoa) + "\"\n[mobile-network]\nprefixes = " + std::string(prefixes) + "\n";
}

class ReloadTest : public ::testing::Test {
protected:
    ScratchDir dir_;
    binding::VirtualClock clock{at_ms(1000)};

    conf::Model tree(const std::vector<std::pair<std::string, std::string>>& nodes,
                     const std::string& main = home_agent_text) {
        for (const char* f : {"ha.pem", "ha.key", "ca.pem"}) dir_.write(f, "x\n");
        std::filesystem::remove_all(dir_.path() / "nodes.d");
        std::filesystem::create_directories(dir_.path() / "nodes.d");
        for (const auto& [name, text] : nodes) dir_.write("nodes.d/" + name, text);
        auto r = conf::parse_file(dir_.write("ha.toml", main));
        EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().front().to_string());
        return r ? *r : conf::Model{};
    }

    // Registers every node of the model with the cache (as its own identity).
    void register_all(binding::BindingCache& cache, const conf::Model& model) {
        uint16_t n = 0;
        for (const auto* b : model.bindings()) {
            binding::ReceivedBindingUpdate r;
            Ipv6Address coa = addr("2001:db8:a::1");
            coa.bytes[15] = static_cast<uint8_t>(++n);
            r.source = coa;
            r.destination = addr("2001:db8:1::1");
            r.home_address_option = b->home_address.value;
            r.ipsec_protected = true;
            r.identity = b->identity.value.value;
            r.message.sequence_number = 1;
            r.message.acknowledge = true;
            r.message.home_registration = true;
            r.message.lifetime = 150;
            r.message.key_management_mobility_capability = true;
            r.message.mobile_router = b->role == conf::Role::mobile_router;
            auto out = settle(cache, cache.handle(r, clock.now()), clock.now());
            auto ba = only<binding::SendBindingAcknowledgement>(out);
            ASSERT_EQ(ba.message.status, BindingAckStatus::accepted) << b->source_file;
        }
    }

    static binding::BindingCacheConfig no_dad(binding::BindingCacheConfig c) {
        c.duplicate_address_detection = false;
        return c;
    }
};

TEST_F(ReloadTest, RemovesOnlyWhatIsNoLongerAuthorised) {
    const std::string mr = router("mr1", "2001:db8:1::100", R"(["2001:db8:1:100::/64", "2001:db8:1:101::/64"])");
    conf::Model before = tree({{"mn1.toml", node("mn1", "2001:db8:1::10")},
                               {"mn2.toml", node("mn2", "2001:db8:1::20")},
                               {"mn3.toml", node("mn3", "2001:db8:1::30")},
                               {"mn5.toml", node("mn5", "2001:db8:1::50")},
                               {"mr1.toml", mr}});
    auto config = *home_agent_core_config(before);
    ConfiguredAuthorizer auth(config.nodes);
    binding::BindingCache cache(no_dad(config.binding_cache), auth);
    register_all(cache, before);
    ASSERT_EQ(cache.size(), 5u);
    const auto mn3_entry = *cache.find(addr("2001:db8:1::30"));
    const auto mn5_entry = *cache.find(addr("2001:db8:1::50"));

    conf::Model after = tree({
        // k-flag off: mn1 was granted K, its binding goes.
        {"mn1.toml", node("mn1", "2001:db8:1::10", "[keying]\nk-flag = false\n")},
        // mn2 removed; mn3 changed in protection only: its binding stays.
        {"mn3.toml", node("mn3", "2001:db8:1::30", "[protection]\nhome-test = false\n")},
        {"mn4.toml", node("mn4", "2001:db8:1::40")},
        // mn5's file renamed: same identity and home address, binding stays.
        {"mn5-renamed.toml", node("mn5", "2001:db8:1::50")},
        // mr1 loses 2001:db8:1:101::/64, which its binding holds.
        {"mr1.toml", router("mr1", "2001:db8:1::100", R"(["2001:db8:1:100::/64"])")},
    });
    const conf::Difference d = conf::diff(before, after);
    auto plan = plan_reconfiguration(before, after, d, cache);
    ASSERT_TRUE(plan);
    EXPECT_FALSE(plan->binding_cache_config_changed);
    ASSERT_EQ(plan->added.size(), 2u);   // mn4 and the renamed mn5
    EXPECT_EQ(plan->added[0].identity.value, "mn4.example.net");
    ASSERT_EQ(plan->removed.size(), 2u);
    EXPECT_EQ(plan->removed[0].identity.value, "mn2.example.net");
    EXPECT_EQ(plan->changed.size(), 3u);
    EXPECT_EQ(plan->removals, (std::vector<BindingRemoval>{
                                  {addr("2001:db8:1::10"), RemovalReason::key_management_mobility_withdrawn},
                                  {addr("2001:db8:1::20"), RemovalReason::node_removed},
                                  {addr("2001:db8:1::100"), RemovalReason::not_authorized},
                              }));

    auto out = apply(*plan, cache, auth);
    EXPECT_EQ(count_of<binding::RemoveBinding>(out), 3u);
    EXPECT_EQ(count_of<binding::CommitKernelState>(out), 3u);
    EXPECT_EQ(only<binding::RemoveRoutes>(out).prefixes.size(), 2u);
    EXPECT_EQ(cache.size(), 2u);
    EXPECT_EQ(*cache.find(addr("2001:db8:1::30")), mn3_entry);
    EXPECT_EQ(*cache.find(addr("2001:db8:1::50")), mn5_entry);
    EXPECT_EQ(auth.nodes().size(), 5u);
    EXPECT_TRUE(auth.find_identity("mn4.example.net"));
    EXPECT_FALSE(auth.find_identity("mn2.example.net"));
    EXPECT_EQ(std::string(to_string(plan->removals[0].reason)), "key-management-mobility-withdrawn");

    // mn2 comes back: no node has its home address now (133); mn1 again: no K.
    binding::ReceivedBindingUpdate r;
    r.source = addr("2001:db8:a::9");
    r.destination = addr("2001:db8:1::1");
    r.home_address_option = addr("2001:db8:1::20");
    r.ipsec_protected = true;
    r.identity = "mn2.example.net";
    r.message.sequence_number = 2;
    r.message.home_registration = true;
    r.message.lifetime = 150;
    r.message.key_management_mobility_capability = true;
    auto refused = settle(cache, cache.handle(r, clock.now()), clock.now());
    EXPECT_EQ(only<binding::SendBindingAcknowledgement>(refused).message.status,
              BindingAckStatus::not_home_agent_for_this_mobile_node);
    r.home_address_option = addr("2001:db8:1::10");
    r.identity = "mn1.example.net";
    // The reloaded cache has DAD on, as configured (RFC 6275 sec. 10.3.1).
    auto again = settle(cache, cache.handle(r, clock.now()), clock.now());
    EXPECT_EQ(only<binding::PerformDuplicateAddressDetection>(again).home_address, addr("2001:db8:1::10"));
    again = settle(cache, cache.handle(binding::DuplicateAddressDetectionResult{addr("2001:db8:1::10"), false},
                                       clock.now()),
                   clock.now());
    const auto ba = only<binding::SendBindingAcknowledgement>(again).message;
    EXPECT_EQ(ba.status, BindingAckStatus::accepted);
    EXPECT_FALSE(ba.key_management_mobility_capability);
}

TEST_F(ReloadTest, IdentityOrHomeAddressChangeDropsTheBinding) {
    conf::Model before = tree({{"a.toml", node("mn1", "2001:db8:1::10")}, {"b.toml", node("mn2", "2001:db8:1::20")},
                               {"c.toml", node("mn3", "2001:db8:1::30")}});
    auto config = *home_agent_core_config(before);
    ConfiguredAuthorizer auth(config.nodes);
    binding::BindingCache cache(no_dad(config.binding_cache), auth);
    register_all(cache, before);
    conf::Model after = tree({{"a.toml", node("mn9", "2001:db8:1::10")},     // new identity
                              {"b.toml", node("mn2", "2001:db8:1::21")},     // new home address
                              {"c.toml", node("mn3", "2001:db8:1::30")}});
    const conf::Difference d = conf::diff(before, after);
    ASSERT_EQ(d.changed.size(), 2u);
    auto plan = plan_reconfiguration(before, after, d, cache);
    ASSERT_TRUE(plan);
    EXPECT_EQ(plan->removals, (std::vector<BindingRemoval>{
                                  {addr("2001:db8:1::10"), RemovalReason::binding_dropped},
                                  {addr("2001:db8:1::20"), RemovalReason::binding_dropped},
                              }));
    apply(*plan, cache, auth);
    EXPECT_EQ(cache.size(), 1u);
    EXPECT_TRUE(cache.find(addr("2001:db8:1::30")));
}

TEST_F(ReloadTest, GlobalChangesReachTheCacheAndItsBindings) {
    const std::string main2 = replace(replace(home_agent_text, R"(addresses = ["2001:db8:1::1"])",
                                              R"(addresses = ["2001:db8:1::2"])"),
                                      "binding-lifetime = 3600", "binding-lifetime = 600");
    conf::Model before = tree({{"mn1.toml", node("mn1", "2001:db8:1::10")}});
    auto config = *home_agent_core_config(before);
    ConfiguredAuthorizer auth(config.nodes);
    binding::BindingCache cache(no_dad(config.binding_cache), auth);
    register_all(cache, before);
    conf::Model after = tree({{"mn1.toml", node("mn1", "2001:db8:1::10")}}, main2);
    const conf::Difference d = conf::diff(before, after);
    auto plan = plan_reconfiguration(before, after, d, cache);
    ASSERT_TRUE(plan);
    EXPECT_TRUE(plan->binding_cache_config_changed);
    // Registered with 2001:db8:1::1, no longer ours.
    EXPECT_EQ(plan->removals, (std::vector<BindingRemoval>{
                                  {addr("2001:db8:1::10"), RemovalReason::home_agent_address_removed}}));
    apply(*plan, cache, auth);
    EXPECT_EQ(cache.size(), 0u);
    EXPECT_EQ(cache.config().max_binding_lifetime, seconds{600});
}

TEST_F(ReloadTest, NothingChangedNothingRemoved) {
    conf::Model before = tree({{"mn1.toml", node("mn1", "2001:db8:1::10")},
                               {"mr1.toml", router("mr1", "2001:db8:1::100", R"(["2001:db8:1:100::/64"])")}});
    auto config = *home_agent_core_config(before);
    ConfiguredAuthorizer auth(config.nodes);
    binding::BindingCache cache(no_dad(config.binding_cache), auth);
    register_all(cache, before);
    auto plan = plan_reconfiguration(before, before, conf::diff(before, before), cache);
    ASSERT_TRUE(plan);
    EXPECT_TRUE(plan->removals.empty());
    EXPECT_TRUE(apply(*plan, cache, auth).empty());
    EXPECT_EQ(cache.size(), 2u);
    // Not a home agent on either side: no plan.
    ScratchDir dir;
    conf::Model mn = parse_text(dir, mobile_node_text);
    EXPECT_FALSE(plan_reconfiguration(before, mn, conf::Difference{}, cache));
}

}  // namespace
}  // namespace nemokey::mobility::config
