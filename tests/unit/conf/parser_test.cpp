// The parser: every field read, every error reported with file:line:col
// and its exact message, defaults applied, several errors collected.
#include "conf/defaults.hpp"
#include "conf/parser.hpp"
#include "tests/unit/conf/test_files.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace nemokey::conf {
namespace {

using nemokey::conf::testing::pos;
using nemokey::conf::testing::replace;
using nemokey::conf::testing::ScratchDir;

const std::string mobile_router = R"(role = "mobile-router"
identity = "mr1.example.net"

[[interface]]
name = "eth1"
preference = 10
binding-id = 1

[[interface]]
name = "wwan0"
binding-id = 2

[home]
home-agent-addresses = ["2001:db8:1::1", "2001:db8:1::2"]
home-agent-identity = "ha.example.net"
home-prefix = "2001:db8:1::/64"
home-address = "2001:db8:1::100"
home-agent-ipv4-address = "192.0.2.1"
ipv4-home-address = "192.0.2.100"

[mobile-network]
mode = "implicit"
prefixes = ["2001:db8:1:100::/64", "2001:db8:1:200::/56"]
ipv4-prefixes = ["203.0.113.0/24"]

[timers]
binding-lifetime = 1200
retransmission-initial-ms = 1000
retransmission-max-ms = 16000

[keying]
method = "ikev2"
k-flag = false
certificate = "mr.pem"
private-key = "mr.key"
ca-certificate = "ca.pem"

[protection]
payload-tunnel = false
home-test = false
prefix-discovery = true
)";

class ParserTest : public ::testing::Test {
protected:
    ParserTest() {
        for (const char* f : {"mr.pem", "mr.key", "ca.pem", "ha.pem", "ha.key", "mn.keys"})
            dir_.write(f, "placeholder\n");
    }

    ParseResult parse(const std::string& text) { return parse_string(text, "mr.toml", dir_.path()); }

    // The single error TEXT yields, as "FILE:LINE:COL: message".
    std::string only_error(const std::string& text) {
        auto r = parse(text);
        if (r.ok()) {
            ADD_FAILURE() << "expected one error, the text parsed";
            return "";
        }
        EXPECT_EQ(r.error().size(), 1u) << (r.error().size() > 1 ? r.error()[1].to_string() : "");
        return r.error().empty() ? "" : r.error().front().to_string();
    }

    ScratchDir dir_;
};

TEST_F(ParserTest, ReadsEveryFieldOfAMobileRouter) {
    auto r = parse(mobile_router);
    ASSERT_TRUE(r.ok()) << r.error().front().to_string();
    const Model& m = *r;
    EXPECT_EQ(m.role, Role::mobile_router);
    ASSERT_EQ(m.interfaces.size(), 2u);
    EXPECT_EQ(m.interfaces[0].name, "eth1");
    EXPECT_EQ(m.interfaces[0].preference, 10);
    EXPECT_EQ(m.interfaces[0].binding_id, 1);
    EXPECT_EQ(m.interfaces[1].name, "wwan0");
    EXPECT_EQ(m.interfaces[1].preference, defaults::interface_preference);
    EXPECT_EQ(m.interfaces[1].binding_id, 2);
    EXPECT_EQ(m.timers.binding_lifetime_s, 1200u);
    EXPECT_EQ(m.timers.retransmission_initial_ms, 1000u);
    EXPECT_EQ(m.timers.retransmission_max_ms, 16000u);
    ASSERT_TRUE(m.home);
    ASSERT_EQ(m.home->home_agent_addresses.size(), 2u);
    EXPECT_EQ(m.home->home_agent_addresses[1].value.to_string(), "2001:db8:1::2");
    EXPECT_EQ(m.home->home_agent_identity->value.value, "ha.example.net");
    EXPECT_EQ(m.home->home_prefix.value.to_string(), "2001:db8:1::/64");
    EXPECT_EQ(m.home->home_agent_ipv4_address->value.to_string(), "192.0.2.1");
    ASSERT_TRUE(m.self);
    const Binding& b = *m.self;
    EXPECT_EQ(b.identity.value.type, IdentityType::fqdn);
    EXPECT_EQ(b.identity.value.value, "mr1.example.net");
    EXPECT_EQ(b.identity.where.to_string(), "mr.toml:" + pos(mobile_router, "\"mr1.example.net\""));
    EXPECT_EQ(b.home_address.value.to_string(), "2001:db8:1::100");
    EXPECT_EQ(b.ipv4_home_address->value.to_string(), "192.0.2.100");
    EXPECT_EQ(b.mobile_network.mode, PrefixMode::implicit_mode);
    ASSERT_EQ(b.mobile_network.prefixes.size(), 2u);
    EXPECT_EQ(b.mobile_network.prefixes[1].value.to_string(), "2001:db8:1:200::/56");
    ASSERT_EQ(b.mobile_network.ipv4_prefixes.size(), 1u);
    EXPECT_EQ(b.mobile_network.ipv4_prefixes[0].value.to_string(), "203.0.113.0/24");
    EXPECT_EQ(b.keying.method, KeyingMethod::ikev2);
    EXPECT_FALSE(b.k_flag);
    EXPECT_EQ(b.keying.certificate->as_written, "mr.pem");
    EXPECT_EQ(b.keying.certificate->resolved, dir_.path() / "mr.pem");
    EXPECT_EQ(b.keying.private_key->as_written, "mr.key");
    EXPECT_EQ(b.keying.ca_certificate->as_written, "ca.pem");
    EXPECT_FALSE(b.protection.payload_tunnel);
    EXPECT_FALSE(b.protection.home_test);
    EXPECT_TRUE(b.protection.prefix_discovery);
}

TEST_F(ParserTest, AbsentKeysTakeTheDefaultsTable) {
    std::string text = R"(role = "mobile-node"
identity = "mn1@Example.NET"
[[interface]]
name = "eth0"
[home]
home-agent-addresses = ["2001:db8:1::1"]
home-agent-identity = "CN=ha, O=Example"
home-prefix = "2001:db8:1::/64"
home-address = "2001:db8:1::10"
[keying]
certificate = "mr.pem"
private-key = "mr.key"
ca-certificate = "ca.pem"
)";
    auto r = parse(text);
    ASSERT_TRUE(r.ok()) << r.error().front().to_string();
    EXPECT_EQ(r->timers, defaults::timers);
    EXPECT_EQ(r->self->protection, defaults::protection);
    EXPECT_EQ(r->self->k_flag, defaults::k_flag);
    EXPECT_EQ(r->self->keying.method, defaults::keying_method);
    EXPECT_TRUE(r->self->mobile_network.prefixes.empty());
    // RFC 822 identity: domain part lower-cased; DN kept as written.
    EXPECT_EQ(r->self->identity.value.type, IdentityType::rfc822_addr);
    EXPECT_EQ(r->self->identity.value.value, "mn1@example.net");
    EXPECT_EQ(r->home->home_agent_identity->value.type, IdentityType::der_asn1_dn);
    EXPECT_EQ(r->home->home_agent_identity->value.value, "CN=ha, O=Example");
}

TEST_F(ParserTest, TomlSyntaxErrorNamesLineAndColumn) {
    std::string text = replace(mobile_router, "binding-lifetime = 1200", "binding-lifetime = = 1200");
    std::string e = only_error(text);
    EXPECT_THAT(e, ::testing::StartsWith("mr.toml:" + pos(text, "= 1200") + ": ")) << e;
    EXPECT_THAT(e, ::testing::EndsWith("(expected TOML, https://toml.io/en/v1.0.0)"));
}

TEST_F(ParserTest, TomlErrorQuotingANewlineStaysOneLine) {
    auto r = parse("role = \"mobile-node\"\nbinding-lifetime = n\n");
    ASSERT_EQ(r.error().size(), 1u);
    std::string e = r.error()[0].to_string();
    EXPECT_THAT(e, ::testing::StartsWith("mr.toml:2:"));
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
    EXPECT_THAT(e, ::testing::HasSubstr("\\n"));
}

TEST_F(ParserTest, UnknownKeyIsAnError) {
    std::string text = replace(mobile_router, "home-address =", "home-adress =");
    auto r = parse(text);
    ASSERT_EQ(r.error().size(), 2u);
    EXPECT_EQ(r.error()[1].to_string(), "mr.toml:" + pos(text, "[home]") +
                                           ": missing key 'home-address' in [home] (expected this node's IPv6 home "
                                           "address)");
    EXPECT_EQ(r.error()[0].to_string(),
              "mr.toml:" + pos(text, "home-adress") +
                  ": unknown key 'home-adress' in [home] (expected one of: home-agent-addresses, home-agent-identity, "
                  "home-prefix, home-address, home-agent-ipv4-address, ipv4-home-address)");
}

TEST_F(ParserTest, UnknownTopLevelKeyAndMissingKeyAreBothReported) {
    std::string text = replace(mobile_router, "identity = \"mr1.example.net\"", "identiti = \"mr1.example.net\"");
    auto r = parse(text);
    ASSERT_EQ(r.error().size(), 2u);
    EXPECT_EQ(r.error()[0].to_string(),
              "mr.toml:" + pos(text, "identiti") +
                  ": unknown key 'identiti' in the top level (expected one of: role, identity, interface, "
                  "home, mobile-network, timers, keying, protection)");
    EXPECT_THAT(r.error()[1].to_string(),
                ::testing::HasSubstr("missing key 'identity' in the top level (expected the identity of this node's "
                                     "certificate, e.g. mr1.example.net)"));
}

TEST_F(ParserTest, MissingRole) {
    std::string text = replace(mobile_router, "role = \"mobile-router\"", "");
    EXPECT_THAT(only_error(text), ::testing::EndsWith(
                                      "missing key 'role' in the top level (expected 'home-agent', 'mobile-node' or "
                                      "'mobile-router')"));
}

TEST_F(ParserTest, UnknownRoleValue) {
    std::string text = replace(mobile_router, "\"mobile-router\"", "\"router\"");
    EXPECT_EQ(only_error(text), "mr.toml:1:8: 'role' 'router' is not a known value (expected 'home-agent' or "
                                "'mobile-node' or 'mobile-router')");
}

TEST_F(ParserTest, BindingLifetimeOutOfRange) {
    std::string text = replace(mobile_router, "binding-lifetime = 1200", "binding-lifetime = 300000");
    EXPECT_EQ(only_error(text), "mr.toml:" + pos(text, "300000") +
                                    ": 'binding-lifetime' 300000 out of range (expected 4..262140 s)");
}

TEST_F(ParserTest, BindingLifetimeInFourSecondUnits) {
    std::string text = replace(mobile_router, "binding-lifetime = 1200", "binding-lifetime = 1201");
    EXPECT_EQ(only_error(text),
              "mr.toml:" + pos(text, "1201") +
                  ": 'binding-lifetime' 1201 is not a multiple of 4 s (expected e.g. 1204; the lifetime is sent in "
                  "4 s units, RFC 6275 sec. 6.1.7)");
}

TEST_F(ParserTest, BindingLifetimeLimitsAccepted) {
    for (const char* v : {"4", "262140"}) {
        auto r = parse(replace(mobile_router, "binding-lifetime = 1200", std::string("binding-lifetime = ") + v));
        ASSERT_TRUE(r.ok()) << v << ": " << r.error().front().to_string();
        EXPECT_EQ(r->timers.binding_lifetime_s, std::stoul(v));
    }
}

TEST_F(ParserTest, RetransmissionMaximumBelowInitial) {
    std::string text = replace(mobile_router, "retransmission-max-ms = 16000", "retransmission-max-ms = 500");
    EXPECT_EQ(only_error(text),
              "mr.toml:" + pos(text, "500") +
                  ": 'retransmission-max-ms' 500 is below 'retransmission-initial-ms' 1000 (expected max >= initial; "
                  "the timeout doubles up to the maximum, RFC 6275 sec. 11.8)");
}

// RFC 6275 sec. 9.5.5: the home agent's Binding Refresh Request point.
TEST_F(ParserTest, BindingRefreshRequestPercent) {
    auto absent = parse(mobile_router);
    ASSERT_TRUE(absent.ok());
    EXPECT_EQ(absent->timers.binding_refresh_request_percent, 90u);   // the default
    for (const char* v : {"0", "50", "99"}) {
        auto r = parse(replace(mobile_router, "binding-lifetime = 1200",
                               std::string("binding-lifetime = 1200\nbinding-refresh-request = ") + v));
        ASSERT_TRUE(r.ok()) << v << ": " << r.error().front().to_string();
        EXPECT_EQ(r->timers.binding_refresh_request_percent, std::stoul(v));
    }
    std::string text = replace(mobile_router, "binding-lifetime = 1200",
                               "binding-lifetime = 1200\nbinding-refresh-request = 250");
    ASSERT_EQ(text.find("250"), text.rfind("250"));
    EXPECT_EQ(only_error(text), "mr.toml:" + pos(text, "250") +
                                    ": 'binding-refresh-request' 250 out of range (expected 0..99 %)");
}

TEST_F(ParserTest, WrongTypeQuotesTheValue) {
    std::string text = replace(mobile_router, "binding-lifetime = 1200", "binding-lifetime = \"1200\"");
    EXPECT_EQ(only_error(text), "mr.toml:" + pos(text, "\"1200\"") +
                                    ": 'binding-lifetime' '1200' is a string (expected an integer 4..262140 s)");
}

TEST_F(ParserTest, BadIpv6Address) {
    std::string text = replace(mobile_router, "\"2001:db8:1::100\"", "\"2001:db8:1::zz\"");
    EXPECT_EQ(only_error(text), "mr.toml:" + pos(text, "\"2001:db8:1::zz\"") +
                                    ": 'home-address' '2001:db8:1::zz' is not an IPv6 address (expected e.g. "
                                    "2001:db8::1)");
}

TEST_F(ParserTest, LinkLocalHomeAgentAddress) {
    std::string text = replace(mobile_router, "\"2001:db8:1::2\"", "\"fe80::1\"");
    EXPECT_EQ(only_error(text), "mr.toml:" + pos(text, "\"fe80::1\"") +
                                    ": 'home-agent-addresses' 'fe80::1' is not a global unicast address (expected "
                                    "no ::, fe80::/10 or ff00::/8 address)");
}

TEST_F(ParserTest, HomeAddressOutsideHomePrefix) {
    std::string text = replace(mobile_router, "\"2001:db8:1::100\"", "\"2001:db8:2::100\"");
    EXPECT_EQ(only_error(text), "mr.toml:" + pos(text, "\"2001:db8:2::100\"") +
                                    ": 'home-address' '2001:db8:2::100' is not inside home-prefix 2001:db8:1::/64 "
                                    "(expected an address of the home prefix)");
}

TEST_F(ParserTest, HomeAddressEqualToHomeAgent) {
    std::string text = replace(mobile_router, "home-address = \"2001:db8:1::100\"", "home-address = \"2001:db8:1::2\"");
    EXPECT_EQ(only_error(text), "mr.toml:" + pos(text, "\"2001:db8:1::2\"", "home-address") +
                                    ": 'home-address' '2001:db8:1::2' is the home agent address (expected an "
                                    "address of its own)");
}

TEST_F(ParserTest, PrefixWithHostBits) {
    std::string text = replace(mobile_router, "\"2001:db8:1:100::/64\"", "\"2001:db8:1:100::1/64\"");
    EXPECT_EQ(only_error(text), "mr.toml:" + pos(text, "\"2001:db8:1:100::1/64\"") +
                                    ": 'prefixes' '2001:db8:1:100::1/64' has bits set past /64 (expected "
                                    "2001:db8:1:100::/64)");
}

TEST_F(ParserTest, PrefixOfWrongFamily) {
    std::string text = replace(mobile_router, "\"203.0.113.0/24\"", "\"2001:db8:5::/64\"");
    EXPECT_EQ(only_error(text), "mr.toml:" + pos(text, "\"2001:db8:5::/64\"") +
                                    ": 'ipv4-prefixes' '2001:db8:5::/64' is not an IPv4 prefix (expected e.g. "
                                    "198.51.100.0/24)");
}

TEST_F(ParserTest, MobileRouterPrefixContainingTheHomeAgent) {
    std::string text = replace(mobile_router, "\"2001:db8:1:200::/56\"", "\"2001:db8::/32\"");
    auto r = parse(text);
    ASSERT_FALSE(r.ok());
    std::string at = "mr.toml:" + pos(text, "\"2001:db8::/32\"");
    // Contains both HA addresses, overlaps the home link, contains the home
    // address and overlaps the router's other prefix: each one reported.
    std::vector<std::string> got;
    for (const auto& e : r.error()) got.push_back(e.to_string());
    EXPECT_THAT(got, ::testing::Contains(at + ": prefix '2001:db8::/32' contains the home agent address 2001:db8:1::1 "
                                              "(expected a prefix apart from the home agent)"));
    EXPECT_THAT(got, ::testing::Contains(at + ": prefix '2001:db8::/32' overlaps the home prefix 2001:db8:1::/64 "
                                              "(expected a mobile network prefix apart from the home link)"));
    EXPECT_THAT(got, ::testing::Contains(at + ": prefix '2001:db8::/32' contains the home address 2001:db8:1::100 "
                                              "(expected the home address on the home link)"));
    EXPECT_THAT(got, ::testing::Contains(at + ": prefix '2001:db8::/32' overlaps '2001:db8:1:100::/64' at mr.toml:" +
                                         pos(text, "\"2001:db8:1:100::/64\"") + " (expected disjoint prefixes)"));
}

TEST_F(ParserTest, MobileNetworkOnlyForMobileRouters) {
    std::string text = replace(mobile_router, "role = \"mobile-router\"", "role = \"mobile-node\"");
    EXPECT_EQ(only_error(text), "mr.toml:" + pos(text, "[mobile-network]") +
                                    ": [mobile-network] given for role 'mobile-node' (expected it only for role "
                                    "'mobile-router', RFC 3963)");
}

TEST_F(ParserTest, ExplicitModeNeedsPrefixes) {
    std::string text = R"(role = "mobile-router"
identity = "mr1.example.net"
[[interface]]
name = "eth0"
[home]
home-agent-addresses = ["2001:db8:1::1"]
home-agent-identity = "ha.example.net"
home-prefix = "2001:db8:1::/64"
home-address = "2001:db8:1::100"
[mobile-network]
mode = "explicit"
[keying]
certificate = "mr.pem"
private-key = "mr.key"
ca-certificate = "ca.pem"
)";
    EXPECT_EQ(only_error(text), "mr.toml:" + pos(text, "[mobile-network]") +
                                    ": missing key 'prefixes' in [mobile-network] (expected at least one prefix in "
                                    "explicit mode, RFC 3963 sec. 5.2)");
}

TEST_F(ParserTest, MissingCertificateFile) {
    std::string text = replace(mobile_router, "\"mr.pem\"", "\"certs/nothere.pem\"");
    EXPECT_EQ(only_error(text), "mr.toml:" + pos(text, "\"certs/nothere.pem\"") +
                                    ": 'certificate' 'certs/nothere.pem' cannot be read (No such file or directory; "
                                    "expected a readable file, relative to the configuration file)");
}

TEST_F(ParserTest, CertificateThatIsAFolder) {
    std::filesystem::create_directories(dir_.path() / "adir");
    std::string text = replace(mobile_router, "\"ca.pem\"", "\"adir\"");
    EXPECT_EQ(only_error(text), "mr.toml:" + pos(text, "\"adir\"") +
                                    ": 'ca-certificate' 'adir' cannot be read (not a regular file; expected a "
                                    "readable file, relative to the configuration file)");
}

TEST_F(ParserTest, MissingCredentialForIkev2) {
    std::string text = replace(mobile_router, "private-key = \"mr.key\"\n", "");
    EXPECT_EQ(only_error(text), "mr.toml:" + pos(text, "[keying]") +
                                    ": missing key 'private-key' in [keying] (expected a PEM file for IKEv2 "
                                    "authentication, RFC 4877 sec. 4.4)");
}

TEST_F(ParserTest, DuplicateInterfaceNameAndBindingId) {
    std::string text = replace(mobile_router, "name = \"wwan0\"\nbinding-id = 2", "name = \"eth1\"\nbinding-id = 1");
    auto r = parse(text);
    ASSERT_EQ(r.error().size(), 2u);
    EXPECT_EQ(r.error()[0].to_string(), "mr.toml:" + pos(text, "\"eth1\"", "binding-id = 1") +
                                           ": 'name' 'eth1' is already used at mr.toml:" + pos(text, "\"eth1\"") +
                                           " (expected each interface once)");
    EXPECT_EQ(r.error()[1].to_string(), "mr.toml:" + pos(text, "1", "name = \"eth1\"\nbinding-id = ") +
                                           ": 'binding-id' 1 is already used at mr.toml:" +
                                           pos(text, "1", "binding-id = ") +
                                           " (expected a distinct binding-id per interface)");
}

TEST_F(ParserTest, BadInterfaceName) {
    std::string text = replace(mobile_router, "\"wwan0\"", "\"a/b\"");
    EXPECT_EQ(only_error(text), "mr.toml:" + pos(text, "\"a/b\"") +
                                    ": 'name' 'a/b' is not an interface name (expected 1..15 characters, no '/', "
                                    "':' or space)");
}

TEST_F(ParserTest, BadIdentity) {
    std::string text = replace(mobile_router, "\"mr1.example.net\"", "\"mr 1\"");
    EXPECT_EQ(only_error(text), "mr.toml:" + pos(text, "\"mr 1\"") +
                                    ": 'identity' 'mr 1' is not an FQDN, RFC 822 address or distinguished name "
                                    "(expected e.g. mr1.example.net, mr1@example.net or CN=mr1,O=Example)");
}

TEST_F(ParserTest, ControlBytesAreEscapedInMessages) {
    std::string text = replace(mobile_router, "\"mr1.example.net\"", "\"mr\\u0001\"");
    EXPECT_THAT(only_error(text), ::testing::HasSubstr("'identity' 'mr\\x01' is not an FQDN"));
}

TEST_F(ParserTest, Ipv4HomeAddressNeedsHomeAgentIpv4Address) {
    std::string text = replace(mobile_router, "home-agent-ipv4-address = \"192.0.2.1\"\n", "");
    EXPECT_EQ(only_error(text), "mr.toml:" + pos(text, "\"192.0.2.100\"") +
                                    ": 'ipv4-home-address' '192.0.2.100' without 'home-agent-ipv4-address' (expected "
                                    "both for dual-stack, RFC 5555 sec. 3.1)");
}

TEST_F(ParserTest, BadKeyingMethod) {
    std::string text = replace(mobile_router, "method = \"ikev2\"", "method = \"psk\"");
    EXPECT_EQ(only_error(text), "mr.toml:" + pos(text, "\"psk\"") +
                                    ": 'method' 'psk' is not a known value (expected 'ikev2' or 'static')");
}

const std::string static_node = R"(role = "mobile-node"
identity = "mn1.example.net"
[[interface]]
name = "eth0"
[home]
home-agent-addresses = ["2001:db8:1::1"]
home-prefix = "2001:db8:1::/64"
home-address = "2001:db8:1::10"
[keying]
method = "static"
[keying.static]
encryption = "aes128-cbc"
integrity = "hmac-sha256-128"
spi-to-home-agent = 0x1001
spi-from-home-agent = 0x1002
key-file = "mn.keys"
[protection]
payload-tunnel = false
home-test = false
)";

TEST_F(ParserTest, StaticKeying) {
    auto r = parse(static_node);
    ASSERT_TRUE(r.ok()) << r.error().front().to_string();
    const auto& k = r->self->keying;
    EXPECT_EQ(k.method, KeyingMethod::static_keys);
    ASSERT_TRUE(k.static_keys);
    EXPECT_EQ(k.static_keys->encryption, "aes128-cbc");
    EXPECT_EQ(k.static_keys->integrity, "hmac-sha256-128");
    EXPECT_EQ(k.static_keys->spi_to_home_agent, 0x1001u);
    EXPECT_EQ(k.static_keys->spi_from_home_agent, 0x1002u);
    EXPECT_EQ(k.static_keys->key_file.as_written, "mn.keys");
    EXPECT_FALSE(k.certificate);
}

TEST_F(ParserTest, StaticKeyingCoversSignallingOnly) {
    std::string text = replace(static_node, "payload-tunnel = false", "payload-tunnel = true");
    EXPECT_EQ(only_error(text), "mr.toml:" + pos(text, "[protection]") +
                                    ": 'payload-tunnel' true with method 'static' (expected method 'ikev2', or "
                                    "payload-tunnel, home-test and prefix-discovery false: static keys cover Binding "
                                    "Update/Acknowledgement only)");
}

TEST_F(ParserTest, StaticSpiInReservedRange) {
    std::string text = replace(static_node, "0x1001", "255");
    EXPECT_EQ(only_error(text), "mr.toml:" + pos(text, "255") +
                                    ": 'spi-to-home-agent' 255 out of range (expected 256..4294967295)");
}

TEST_F(ParserTest, StaticSpisMustDiffer) {
    std::string text = replace(static_node, "0x1002", "0x1001");
    EXPECT_EQ(only_error(text), "mr.toml:" + pos(text, "0x1001", "spi-from") +
                                    ": 'spi-from-home-agent' 4097 equals 'spi-to-home-agent' (expected a distinct "
                                    "SPI per direction)");
}

TEST_F(ParserTest, StaticAeadNeedsNoIntegrity) {
    std::string text = replace(static_node, "\"aes128-cbc\"", "\"aes128-gcm16\"");
    EXPECT_EQ(only_error(text), "mr.toml:" + pos(text, "\"hmac-sha256-128\"") +
                                    ": 'integrity' 'hmac-sha256-128' does not fit encryption 'aes128-gcm16' (expected "
                                    "'none' with an AEAD cipher)");
}

TEST_F(ParserTest, CertificatesWithStaticKeyingAreRejected) {
    std::string text = replace(static_node, "[keying.static]", "certificate = \"mr.pem\"\n[keying.static]");
    EXPECT_EQ(only_error(text), "mr.toml:" + pos(text, "\"mr.pem\"") +
                                    ": 'certificate' 'mr.pem' given with method 'static' (expected no certificates "
                                    "for static keying)");
}

TEST_F(ParserTest, ReadsAFileAndResolvesPathsAgainstItsFolder) {
    dir_.write("sub/mr.pem", "x");
    dir_.write("sub/mr.key", "x");
    dir_.write("sub/ca.pem", "x");
    auto file = dir_.write("sub/mr.toml", mobile_router);
    auto r = parse_file(file);
    ASSERT_TRUE(r.ok()) << r.error().front().to_string();
    EXPECT_EQ(r->self->keying.certificate->resolved, dir_.path() / "sub" / "mr.pem");
    EXPECT_EQ(r->file, file.string());
}

TEST_F(ParserTest, UnreadableMainFile) {
    auto r = parse_file(dir_.path() / "absent.toml");
    ASSERT_EQ(r.error().size(), 1u);
    EXPECT_EQ(r.error()[0].to_string(),
              (dir_.path() / "absent.toml").string() + ": cannot be read (expected a readable configuration file)");
}

// Every remaining error of the main file, table-driven: the edits to a
// valid file, where the error must point, and the message.
struct ErrorCase {
    const char* name;
    std::vector<std::pair<std::string, std::string>> edits;  // replace first .first by .second
    std::string at;                                          // text at the error position
    std::string after;                                       // search for `at` after this text
    std::string message;
};
void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

class MainFileErrors : public ParserTest, public ::testing::WithParamInterface<ErrorCase> {};

TEST_P(MainFileErrors, ReportsOneErrorWithPosition) {
    const ErrorCase& c = GetParam();
    std::string base = std::string(c.name).rfind("static", 0) == 0 ? static_node : mobile_router;
    std::string text = base;
    for (const auto& [from, to] : c.edits) text = replace(text, from, to);
    EXPECT_EQ(only_error(text), "mr.toml:" + pos(text, c.at, c.after) + ": " + c.message);
}

const ErrorCase main_file_errors[] = {
    {"table_of_wrong_type",
     {{"[timers]\nbinding-lifetime = 1200\nretransmission-initial-ms = 1000\nretransmission-max-ms = 16000\n", ""},
      {"identity = \"mr1.example.net\"\n", "identity = \"mr1.example.net\"\ntimers = 5\n"}},
     "5",
     "timers = ",
     "'timers' 5 is an integer (expected a table [timers])"},
    {"address_of_wrong_type",
     {{"home-address = \"2001:db8:1::100\"", "home-address = 5"}},
     "5",
     "home-address = ",
     "'home-address' 5 is an integer (expected an IPv6 address string)"},
    {"boolean_of_wrong_type",
     {{"k-flag = false", "k-flag = 1"}},
     "1",
     "k-flag = ",
     "'k-flag' 1 is an integer (expected true or false)"},
    {"bad_ipv4_address",
     {{"\"192.0.2.100\"", "\"192.0.2.300\""}},
     "\"192.0.2.300\"",
     "",
     "'ipv4-home-address' '192.0.2.300' is not an IPv4 address (expected e.g. 192.0.2.1)"},
    {"multicast_ipv4_address",
     {{"\"192.0.2.1\"", "\"224.0.0.1\""}},
     "\"224.0.0.1\"",
     "",
     "'home-agent-ipv4-address' '224.0.0.1' is not a unicast address (expected no 0.0.0.0/8, multicast or reserved "
     "address)"},
    {"default_route_prefix",
     {{"\"203.0.113.0/24\"", "\"0.0.0.0/0\""}},
     "\"0.0.0.0/0\"",
     "",
     "'ipv4-prefixes' '0.0.0.0/0' is a default route (expected a prefix longer than /0)"},
    {"string_instead_of_array",
     {{"prefixes = [\"2001:db8:1:100::/64\", \"2001:db8:1:200::/56\"]", "prefixes = \"2001:db8:1:100::/64\""}},
     "\"2001:db8:1:100::/64\"",
     "",
     "'prefixes' '2001:db8:1:100::/64' is a string (expected an array of IPv6 prefixes)"},
    {"empty_file_name",
     {{"\"ca.pem\"", "\"\""}},
     "\"\"",
     "ca-certificate = ",
     "'ca-certificate' '' is not a file name (expected a path)"},
    {"interface_not_tables",
     {{"[[interface]]\nname = \"eth1\"\npreference = 10\nbinding-id = 1\n\n[[interface]]\nname = \"wwan0\"\nbinding-id = 2\n",
       ""},
      {"identity = \"mr1.example.net\"\n", "identity = \"mr1.example.net\"\ninterface = \"eth0\"\n"}},
     "\"eth0\"",
     "",
     "'interface' 'eth0' is a string (expected [[interface]] tables)"},
    {"interface_without_name",
     {{"name = \"wwan0\"\n", ""}},
     "[[interface]]",
     "binding-id = 1",
     "missing key 'name' in [[interface]] (expected an interface name such as \"eth0\")"},
    {"mobile_router_without_mobile_network",
     {{"[mobile-network]\nmode = \"implicit\"\nprefixes = [\"2001:db8:1:100::/64\", \"2001:db8:1:200::/56\"]\n"
       "ipv4-prefixes = [\"203.0.113.0/24\"]\n",
       ""}},
     "role",
     "",
     "missing key 'mobile-network' in the top level (expected a [mobile-network] table for a mobile router, RFC 3963)"},
    {"ipv4_prefix_without_ipv4_home_address",
     {{"ipv4-home-address = \"192.0.2.100\"\n", ""}},
     "\"203.0.113.0/24\"",
     "",
     "prefix '203.0.113.0/24' without an ipv4-home-address (expected an IPv4 home address with IPv4 prefixes, RFC "
     "5555 sec. 3.1)"},
    {"missing_home",
     {{"[home]\nhome-agent-addresses = [\"2001:db8:1::1\", \"2001:db8:1::2\"]\nhome-agent-identity = \"ha.example.net\"\n"
       "home-prefix = \"2001:db8:1::/64\"\nhome-address = \"2001:db8:1::100\"\nhome-agent-ipv4-address = "
       "\"192.0.2.1\"\nipv4-home-address = \"192.0.2.100\"\n",
       ""}},
     "role",
     "",
     "missing key 'home' in the top level (expected a [home] table with home-agent-addresses and home-address)"},
    {"empty_home_agent_addresses",
     {{"[\"2001:db8:1::1\", \"2001:db8:1::2\"]", "[]"}},
     "[]",
     "",
     "'home-agent-addresses' [] is empty (expected at least one home agent address)"},
    {"missing_home_agent_addresses",
     {{"home-agent-addresses = [\"2001:db8:1::1\", \"2001:db8:1::2\"]\n", ""}},
     "[home]",
     "",
     "missing key 'home-agent-addresses' in [home] (expected an array of IPv6 addresses)"},
    {"missing_home_prefix",
     {{"home-prefix = \"2001:db8:1::/64\"\n", ""}},
     "[home]",
     "",
     "missing key 'home-prefix' in [home] (expected the home link prefix, e.g. 2001:db8:1::/64)"},
    {"missing_home_agent_identity",
     {{"home-agent-identity = \"ha.example.net\"\n", ""}},
     "[home]",
     "",
     "missing key 'home-agent-identity' in [home] (expected the identity in the home agent's certificate for IKEv2)"},
    {"keying_static_with_ikev2",
     {{"[protection]", "[keying.static]\nencryption = \"aes128-cbc\"\n[protection]"}},
     "[keying.static]",
     "",
     "[keying.static] given with method 'ikev2' (expected method = \"static\" to use it)"},
    {"static_without_table",
     {{"[keying.static]\nencryption = \"aes128-cbc\"\nintegrity = \"hmac-sha256-128\"\nspi-to-home-agent = "
       "0x1001\nspi-from-home-agent = 0x1002\nkey-file = \"mn.keys\"\n",
       ""}},
     "[keying]",
     "",
     "missing key 'static' in [keying] (expected a [keying.static] table for method 'static')"},
    {"static_without_encryption",
     {{"encryption = \"aes128-cbc\"\n", ""}},
     "[keying.static]",
     "",
     "missing key 'encryption' in [keying.static] (expected 'aes128-cbc', 'aes256-cbc', 'aes128-gcm16' or "
     "'aes256-gcm16')"},
    {"static_without_key_file",
     {{"key-file = \"mn.keys\"\n", ""}},
     "[keying.static]",
     "",
     "missing key 'key-file' in [keying.static] (expected the file holding both keys, hex)"},
    {"static_missing_key_file",
     {{"\"mn.keys\"", "\"gone.keys\""}},
     "\"gone.keys\"",
     "",
     "'key-file' 'gone.keys' cannot be read (No such file or directory; expected a readable file, relative to the "
     "configuration file)"},
    {"static_unknown_algorithm",
     {{"\"aes128-cbc\"", "\"des-cbc\""}},
     "\"des-cbc\"",
     "",
     "'encryption' 'des-cbc' is not a known value (expected 'aes128-cbc' or 'aes256-cbc' or 'aes128-gcm16' or "
     "'aes256-gcm16')"},
};

INSTANTIATE_TEST_SUITE_P(Errors, MainFileErrors, ::testing::ValuesIn(main_file_errors),
                         [](const ::testing::TestParamInfo<ErrorCase>& i) { return std::string(i.param.name); });

// ---- home agent -----------------------------------------------------------

const std::string home_agent = R"(role = "home-agent"
[[interface]]
name = "eth0"
[home-agent]
addresses = ["2001:db8:1::1"]
ipv4-address = "192.0.2.1"
home-prefixes = ["2001:db8:1::/64"]
identity = "ha.example.net"
nodes-dir = "nodes.d"
[keying]
certificate = "ha.pem"
private-key = "ha.key"
ca-certificate = "ca.pem"
)";

const std::string node_mr1 = R"(identity = "mr1.example.net"
role = "mobile-router"
home-address = "2001:db8:1::100"
[mobile-network]
prefixes = ["2001:db8:1:100::/64"]
)";

const std::string node_mn1 = R"(identity = "mn1.example.net"
role = "mobile-node"
home-address = "2001:db8:1::10"
)";

class HomeAgentTest : public ParserTest {
protected:
    ParseResult parse_ha(const std::string& text = home_agent) {
        return parse_file(dir_.write("ha.toml", text));
    }
    std::string node_path(const std::string& name) { return (dir_.path() / "nodes.d" / name).string(); }
};

TEST_F(HomeAgentTest, ReadsNodeFilesInNameOrder) {
    dir_.write("nodes.d/b-mr1.toml", node_mr1);
    dir_.write("nodes.d/a-mn1.toml", node_mn1);
    dir_.write("nodes.d/README", "not a node file");
    auto r = parse_ha();
    ASSERT_TRUE(r.ok()) << r.error().front().to_string();
    const auto& ha = *r->home_agent;
    EXPECT_EQ(ha.addresses.front().value.to_string(), "2001:db8:1::1");
    EXPECT_EQ(ha.ipv4_address->value.to_string(), "192.0.2.1");
    EXPECT_EQ(ha.identity->value.value, "ha.example.net");
    EXPECT_EQ(ha.nodes_dir.as_written, "nodes.d");
    ASSERT_EQ(ha.bindings.size(), 2u);
    EXPECT_EQ(ha.bindings[0].source_file, "nodes.d/a-mn1.toml");
    EXPECT_EQ(ha.bindings[0].role, Role::mobile_node);
    EXPECT_EQ(ha.bindings[1].identity.value.value, "mr1.example.net");
    EXPECT_EQ(ha.bindings[1].mobile_network.prefixes.at(0).value.to_string(), "2001:db8:1:100::/64");
    EXPECT_EQ(r->bindings().size(), 2u);
}

TEST_F(HomeAgentTest, CredentialsNeededOnlyForIkev2Nodes) {
    std::string no_keying = home_agent.substr(0, home_agent.find("[keying]"));
    std::string mn2 = R"(identity = "mn2.example.net"
role = "mobile-node"
home-address = "2001:db8:1::20"
[keying]
method = "static"
[keying.static]
encryption = "aes128-cbc"
integrity = "hmac-sha256-128"
spi-to-home-agent = 4097
spi-from-home-agent = 4098
key-file = "../mn.keys"
[protection]
payload-tunnel = false
home-test = false
)";
    dir_.write("nodes.d/mn2.toml", mn2);
    auto r = parse_ha(no_keying);
    ASSERT_TRUE(r.ok()) << r.error().front().to_string();
    EXPECT_FALSE(r->home_agent->keying.certificate);

    dir_.write("nodes.d/mn1.toml", node_mn1);
    r = parse_ha(no_keying);
    ASSERT_EQ(r.error().size(), 1u);
    EXPECT_EQ(r.error()[0].to_string(), (dir_.path() / "ha.toml").string() +
                                           ":1:1: missing key 'keying' in the top level (expected a [keying] table "
                                           "with certificate, private-key, ca-certificate for the IKEv2 nodes)");
    r = parse_ha(replace(home_agent, "private-key = \"ha.key\"\n", ""));
    ASSERT_EQ(r.error().size(), 1u);
    EXPECT_THAT(r.error()[0].to_string(), ::testing::HasSubstr("missing key 'private-key' in [keying]"));
}

// Load benchmarks only: the consent mobilityd --benchmark-unprotected-bus
// needs; absent by default, a boolean with its position, unknown keys refused.
TEST_F(HomeAgentTest, BenchmarkUnprotectedBindingUpdatesIsAnExplicitBoolean) {
    std::filesystem::create_directories(dir_.path() / "nodes.d");
    auto r = parse_ha();
    ASSERT_TRUE(r.ok()) << r.error().front().to_string();
    EXPECT_FALSE(r->home_agent->benchmark_unprotected_binding_updates);
    const std::string bench = home_agent + "[benchmark]\nunprotected-binding-updates = true\n";
    r = parse_ha(bench);
    ASSERT_TRUE(r.ok()) << r.error().front().to_string();
    ASSERT_TRUE(r->home_agent->benchmark_unprotected_binding_updates);
    EXPECT_TRUE(r->home_agent->benchmark_unprotected_binding_updates->value);
    EXPECT_EQ(r->home_agent->benchmark_unprotected_binding_updates->where.to_string(),
              (dir_.path() / "ha.toml").string() + ":" + pos(bench, "true"));
    r = parse_ha(home_agent + "[benchmark]\nunprotected-binding-updates = \"yes\"\n");
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(r.error()[0].to_string(), ::testing::HasSubstr("'unprotected-binding-updates'"));
    r = parse_ha(home_agent + "[benchmark]\nunprotected-bus = true\n");
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(r.error()[0].to_string(), ::testing::HasSubstr("unknown key 'unprotected-bus' in [benchmark]"));
}

TEST_F(HomeAgentTest, EmptyNodesFolderIsValid) {
    std::filesystem::create_directories(dir_.path() / "nodes.d");
    auto r = parse_ha();
    ASSERT_TRUE(r.ok()) << r.error().front().to_string();
    EXPECT_TRUE(r->home_agent->bindings.empty());
}

TEST_F(HomeAgentTest, MissingNodesFolder) {
    auto r = parse_ha();
    ASSERT_EQ(r.error().size(), 1u);
    EXPECT_EQ(r.error()[0].to_string(), (dir_.path() / "ha.toml").string() + ":" + pos(home_agent, "\"nodes.d\"") +
                                           ": 'nodes-dir' 'nodes.d' is not a readable folder (expected a folder of "
                                           "node files, relative to the configuration file)");
}

TEST_F(HomeAgentTest, DuplicateIdentityAcrossNodeFiles) {
    dir_.write("nodes.d/a.toml", node_mr1);
    std::string other = replace(replace(node_mn1, "mn1.example.net", "MR1.example.net"), "::10", "::11");
    dir_.write("nodes.d/b.toml", other);
    auto r = parse_ha();
    ASSERT_EQ(r.error().size(), 1u);
    EXPECT_EQ(r.error()[0].to_string(), node_path("b.toml") + ":1:12: 'identity' 'mr1.example.net' is already bound in " +
                                           node_path("a.toml") + ":1:12 (expected one file per identity)");
}

TEST_F(HomeAgentTest, DuplicateHomeAddressAcrossNodeFiles) {
    dir_.write("nodes.d/a.toml", node_mn1);
    dir_.write("nodes.d/b.toml", replace(node_mn1, "mn1.", "mn2."));
    auto r = parse_ha();
    ASSERT_EQ(r.error().size(), 1u);
    EXPECT_EQ(r.error()[0].to_string(), node_path("b.toml") + ":" + pos(node_mn1, "\"2001") +
                                           ": 'home-address' '2001:db8:1::10' is already the home address of "
                                           "'mn1.example.net' at " +
                                           node_path("a.toml") + ":" + pos(node_mn1, "\"2001") +
                                           " (expected one home address per node)");
}

TEST_F(HomeAgentTest, OverlappingPrefixesOfDifferentNodes) {
    dir_.write("nodes.d/a.toml", node_mr1);
    std::string mr2 = replace(replace(replace(node_mr1, "mr1.", "mr2."), "::100\"", "::200\""),
                              "\"2001:db8:1:100::/64\"", "\"2001:db8:1:100::/56\"");
    dir_.write("nodes.d/b.toml", mr2);
    auto r = parse_ha();
    ASSERT_EQ(r.error().size(), 1u);
    EXPECT_EQ(r.error()[0].to_string(), node_path("b.toml") + ":" + pos(mr2, "\"2001:db8:1:100::/56\"") +
                                           ": prefix '2001:db8:1:100::/56' overlaps '2001:db8:1:100::/64' of "
                                           "'mr1.example.net' at " +
                                           node_path("a.toml") + ":" + pos(node_mr1, "\"2001:db8:1:100::/64\"") +
                                           " (expected prefixes of one node only)");
}

TEST_F(HomeAgentTest, NodeHomeAddressOutsideHomePrefixes) {
    std::string mn = replace(node_mn1, "2001:db8:1::10", "2001:db8:9::10");
    dir_.write("nodes.d/a.toml", mn);
    auto r = parse_ha();
    ASSERT_EQ(r.error().size(), 1u);
    EXPECT_EQ(r.error()[0].to_string(), node_path("a.toml") + ":" + pos(mn, "\"2001") +
                                           ": 'home-address' '2001:db8:9::10' is not inside any home prefix of the "
                                           "home agent (expected an address of home-prefixes)");
}

TEST_F(HomeAgentTest, NodeFileErrorsNameTheNodeFile) {
    std::string bad = node_mn1 + "colour = \"blue\"\n";
    dir_.write("nodes.d/a.toml", bad);
    dir_.write("nodes.d/b.toml", "identity = \n");
    auto r = parse_ha();
    ASSERT_EQ(r.error().size(), 2u);
    EXPECT_EQ(r.error()[0].to_string(), node_path("a.toml") + ":" + pos(bad, "colour") +
                                           ": unknown key 'colour' in a node file (expected one of: identity, role, "
                                           "home-address, ipv4-home-address, mobile-network, keying, protection)");
    EXPECT_THAT(r.error()[1].to_string(), ::testing::StartsWith(node_path("b.toml") + ":1:"));
}

TEST_F(HomeAgentTest, HomeAgentRoleInNodeFile) {
    std::string bad = replace(node_mn1, "\"mobile-node\"", "\"home-agent\"");
    dir_.write("nodes.d/a.toml", bad);
    auto r = parse_ha();
    ASSERT_EQ(r.error().size(), 1u);
    EXPECT_EQ(r.error()[0].to_string(), node_path("a.toml") + ":" + pos(bad, "\"home-agent\"") +
                                           ": 'role' 'home-agent' in a node file (expected 'mobile-node' or "
                                           "'mobile-router')");
}

TEST_F(HomeAgentTest, NodeIpv4HomeAddressNeedsHomeAgentIpv4) {
    std::string mn = node_mn1 + "ipv4-home-address = \"192.0.2.10\"\n";
    dir_.write("nodes.d/a.toml", mn);
    auto r = parse_ha(replace(home_agent, "ipv4-address = \"192.0.2.1\"\n", ""));
    ASSERT_EQ(r.error().size(), 1u);
    EXPECT_EQ(r.error()[0].to_string(), node_path("a.toml") + ":" + pos(mn, "\"192.0.2.10\"") +
                                           ": 'ipv4-home-address' '192.0.2.10' but the home agent has no ipv4-address "
                                           "(expected [home-agent] ipv4-address for dual-stack, RFC 5555 sec. 3.1)");
}

TEST_F(HomeAgentTest, HomeAgentAddressOutsideHomePrefixes) {
    std::filesystem::create_directories(dir_.path() / "nodes.d");
    std::string text = replace(home_agent, "\"2001:db8:1::1\"", "\"2001:db8:2::1\"");
    auto r = parse_ha(text);
    ASSERT_EQ(r.error().size(), 1u);
    EXPECT_EQ(r.error()[0].to_string(), (dir_.path() / "ha.toml").string() + ":" + pos(text, "\"2001:db8:2::1\"") +
                                           ": 'addresses' '2001:db8:2::1' is not inside any home prefix (expected the "
                                           "home agent on a home link)");
}

TEST_F(HomeAgentTest, BindingIdOnHomeAgentIsRejected) {
    std::filesystem::create_directories(dir_.path() / "nodes.d");
    std::string text = replace(home_agent, "name = \"eth0\"", "name = \"eth0\"\nbinding-id = 3");
    auto r = parse_ha(text);
    ASSERT_EQ(r.error().size(), 1u);
    EXPECT_EQ(r.error()[0].to_string(), (dir_.path() / "ha.toml").string() + ":" + pos(text, "3\n") +
                                           ": 'binding-id' 3 on a home agent (expected binding-id only on a mobile "
                                           "node or router, RFC 5648)");
}

TEST_F(HomeAgentTest, MainFileErrors) {
    std::filesystem::create_directories(dir_.path() / "nodes.d");
    std::string file = (dir_.path() / "ha.toml").string();
    struct Case {
        std::string from, to, at, message;
    };
    const Case cases[] = {
        {home_agent.substr(home_agent.find("[[interface]]")), "", "role",
         "missing key 'home-agent' in the top level (expected a [home-agent] table with addresses and home-prefixes)"},
        {"[\"2001:db8:1::1\"]", "[]", "[]", "'addresses' [] is empty (expected at least one home agent address)"},
        {"home-prefixes = [\"2001:db8:1::/64\"]\n", "", "[home-agent]",
         "missing key 'home-prefixes' in [home-agent] (expected an array of served home prefixes, e.g. "
         "[\"2001:db8:1::/64\"])"},
        {"[\"2001:db8:1::/64\"]", "[\"2001:db8:1::/64\", \"2001:db8:1::/48\"]", "\"2001:db8:1::/48\"",
         "home prefix '2001:db8:1::/48' overlaps '2001:db8:1::/64' (expected disjoint home prefixes)"},
        {"\"nodes.d\"", "5", "5\n", "'nodes-dir' 5 is an integer (expected a folder name)"},
    };
    for (const Case& c : cases) {
        std::string text = replace(home_agent, c.from, c.to);
        auto r = parse_ha(text);
        ASSERT_EQ(r.error().size(), 1u) << c.message << "\n" << (r.error().empty() ? "" : r.error().back().to_string());
        EXPECT_EQ(r.error()[0].to_string(), file + ":" + pos(text, c.at) + ": " + c.message);
    }
}

TEST_F(HomeAgentTest, NodeFileCrossChecks) {
    std::string mn1_v4 = node_mn1 + "ipv4-home-address = \"192.0.2.10\"\n";
    std::string mn2_v4 = replace(replace(mn1_v4, "mn1.", "mn2."), "::10\"", "::20\"");
    dir_.write("nodes.d/a.toml", mn1_v4);
    dir_.write("nodes.d/b.toml", mn2_v4);
    auto r = parse_ha();
    ASSERT_EQ(r.error().size(), 1u);
    EXPECT_EQ(r.error()[0].to_string(), node_path("b.toml") + ":" + pos(mn2_v4, "\"192.0.2.10\"") +
                                           ": 'ipv4-home-address' '192.0.2.10' is already the IPv4 home address of "
                                           "'mn1.example.net' (expected one IPv4 home address per node)");

    std::filesystem::remove(dir_.path() / "nodes.d/b.toml");
    std::string at_ha = replace(replace(node_mn1, "mn1.", "mn3."), "::10\"", "::1\"");
    dir_.write("nodes.d/b.toml", at_ha);
    r = parse_ha();
    ASSERT_EQ(r.error().size(), 1u);
    EXPECT_EQ(r.error()[0].to_string(), node_path("b.toml") + ":" + pos(at_ha, "\"2001") +
                                           ": 'home-address' '2001:db8:1::1' is a home agent address (expected an "
                                           "address of its own)");

    std::filesystem::remove(dir_.path() / "nodes.d/b.toml");
    std::string no_identity = replace(home_agent, "identity = \"ha.example.net\"\n", "");
    r = parse_ha(no_identity);
    ASSERT_EQ(r.error().size(), 1u);
    EXPECT_EQ(r.error()[0].to_string(), (dir_.path() / "ha.toml").string() + ":" + pos(no_identity, "[home-agent]") +
                                           ": missing key 'identity' in [home-agent] (expected the identity in the "
                                           "home agent's certificate for IKEv2)");
}

}  // namespace
}  // namespace nemokey::conf
