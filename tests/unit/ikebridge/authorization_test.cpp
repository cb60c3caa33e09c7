// The home agent's CHILD_SA check: configured selectors only, and the
// certificate's RFC 3779 blocks must hold the home address and prefixes.
// Certificates come from the certs/ CA builder (real OpenSSL certificates).
#include "ikebridge/core/authorization.hpp"

#include <gtest/gtest.h>

#include <openssl/x509.h>

#include "certs/ca/builder.hpp"

namespace nemokey::ikebridge {
namespace {

net::IpAddress a6(const char* t) { return net::IpAddress{*net::Ipv6Address::parse(t)}; }

Connection mr1() {
    Connection c;
    c.name = "mr1.example.net";
    c.remote_id = "fqdn:mr1.example.net";
    c.home_address = *net::Ipv6Address::parse("2001:db8:1::100");
    c.mobile_network_prefixes = {*net::Prefix::parse("2001:db8:1:100::/64")};
    c.children = {ChildConnection{"payload", conf::TrafficClass::payload, "tunnel", 8,
                                  {"::/0"}, {"2001:db8:1::100/128", "2001:db8:1:100::/64"}}};
    return c;
}

TEST(SelectorPrefix, RangesThatArePrefixes) {
    EXPECT_EQ(to_prefix({a6("2001:db8::1"), a6("2001:db8::1")})->to_string(), "2001:db8::1/128");
    EXPECT_EQ(to_prefix({a6("2001:db8:1:100::"), a6("2001:db8:1:100:ffff:ffff:ffff:ffff")})->to_string(),
              "2001:db8:1:100::/64");
    EXPECT_EQ(to_prefix({a6("::"), a6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")})->to_string(), "::/0");
    EXPECT_FALSE(to_prefix({a6("2001:db8::1"), a6("2001:db8::2")}));
    EXPECT_FALSE(to_prefix({a6("2001:db8::2"), a6("2001:db8::1")}));
}

TEST(AuthorizeChild, RefusesAnotherIdentity) {
    auto d = authorize_child(mr1(), "fqdn:mr2.example.net", "x", {{a6("2001:db8:1::100"), a6("2001:db8:1::100")}});
    EXPECT_FALSE(d.allowed);
    EXPECT_NE(d.why.find("mr2"), std::string::npos);
}

TEST(AuthorizeChild, RefusesAnotherNodesHomeAddress) {
    auto d = authorize_child(mr1(), "fqdn:mr1.example.net", "x", {{a6("2001:db8:1::200"), a6("2001:db8:1::200")}});
    EXPECT_FALSE(d.allowed);
    EXPECT_NE(d.why.find("2001:db8:1::200"), std::string::npos);
}

TEST(AuthorizeChild, RefusesAnUnconfiguredPrefix) {
    auto d = authorize_child(mr1(), "fqdn:mr1.example.net", "x",
                             {{a6("2001:db8:1:200::"), a6("2001:db8:1:200:ffff:ffff:ffff:ffff")}});
    EXPECT_FALSE(d.allowed);
}

TEST(AuthorizeChild, RefusesWithoutCertificateOrWithGarbage) {
    std::vector<SelectorRange> hoa{{a6("2001:db8:1::100"), a6("2001:db8:1::100")}};
    EXPECT_FALSE(authorize_child(mr1(), "fqdn:mr1.example.net", "", hoa).allowed);
    auto d = authorize_child(mr1(), "fqdn:mr1.example.net", "not a certificate", hoa);
    EXPECT_FALSE(d.allowed);
    EXPECT_FALSE(d.why.empty());
}

// A real certificate from the CA builder, as DER.
std::string certificate_der(const char* id, const char* hoa, std::vector<net::Prefix> prefixes) {
    auto ca_key = certs::ossl::generate_key("ec-p256");
    certs::CaSpec ca_spec;
    ca_spec.validity = {0, 4102444800};
    auto ca = certs::make_ca_certificate(ca_spec, ca_key.get());
    EXPECT_TRUE(ca.ok());
    auto key = certs::ossl::generate_key("ec-p256");
    certs::NodeSpec spec;
    spec.role = certs::Role::mobile_router;
    spec.id = id;
    spec.home_address = *net::Ipv6Address::parse(hoa);
    spec.prefixes = std::move(prefixes);
    spec.validity = {0, 4102444800};
    auto serial = certs::random_serial();
    auto cert = certs::make_node_certificate(spec, key.get(), ca->get(), ca_key.get(), serial->get());
    EXPECT_TRUE(cert.ok());
    unsigned char* der = nullptr;
    int len = i2d_X509(cert->get(), &der);
    std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
    return out;
}

TEST(AuthorizeChild, AllowsWhatTheCertificateHolds) {
    auto der = certificate_der("mr1.example.net", "2001:db8:1::100", {*net::Prefix::parse("2001:db8:1:100::/64")});
    auto d = authorize_child(mr1(), "fqdn:mr1.example.net", der,
                             {{a6("2001:db8:1::100"), a6("2001:db8:1::100")},
                              {a6("2001:db8:1:100::"), a6("2001:db8:1:100:ffff:ffff:ffff:ffff")}});
    EXPECT_TRUE(d.allowed) << d.why;
}

// A valid certificate whose blocks do not hold the configured home address
// (issued for another node's address): refused, although the configuration
// and the selectors agree.
TEST(AuthorizeChild, RefusesACertificateForAnotherHomeAddress) {
    auto der = certificate_der("mr1.example.net", "2001:db8:1::200", {*net::Prefix::parse("2001:db8:1:100::/64")});
    auto d = authorize_child(mr1(), "fqdn:mr1.example.net", der, {{a6("2001:db8:1::100"), a6("2001:db8:1::100")}});
    EXPECT_FALSE(d.allowed);
    EXPECT_NE(d.why.find("certificate"), std::string::npos) << d.why;
}

TEST(AuthorizeChild, RefusesACertificateWithoutThePrefix) {
    auto der = certificate_der("mr1.example.net", "2001:db8:1::100", {});
    auto d = authorize_child(mr1(), "fqdn:mr1.example.net", der,
                             {{a6("2001:db8:1:100::"), a6("2001:db8:1:100:ffff:ffff:ffff:ffff")}});
    EXPECT_FALSE(d.allowed);
}

}  // namespace
}  // namespace nemokey::ikebridge
