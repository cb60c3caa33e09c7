// The small types every area shares from conf/net/: Result<T, E>, Role,
// PrefixMode and the hash of an IPv6 address.
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>

#include "conf/net/address.hpp"
#include "conf/net/prefix_mode.hpp"
#include "conf/net/result.hpp"
#include "conf/net/role.hpp"

using namespace nemokey::net;

namespace {

struct Failure {
    int code = 0;
};

Result<int, Failure> half(int v) {
    if (v % 2) return Failure{v};
    return v / 2;
}

}  // namespace

TEST(NetResult, ValueOrError) {
    auto r = half(8);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(static_cast<bool>(r));
    EXPECT_EQ(*r, 4);
    EXPECT_EQ(r.value(), 4);
    auto e = half(3);
    EXPECT_FALSE(e.ok());
    EXPECT_EQ(e.error().code, 3);
    EXPECT_THROW((void)e.value(), std::bad_variant_access);
}

TEST(NetResult, ClassValuesAndOk) {
    Result<std::string, Failure> s = std::string("x");
    EXPECT_EQ(s->size(), 1u);
    Result<Ok, Failure> done = Ok{};
    EXPECT_TRUE(done.ok());
    EXPECT_EQ(*done, Ok{});
}

TEST(NetResult, MoveOnlyValues) {
    Result<std::unique_ptr<int>, Failure> r = std::make_unique<int>(7);
    std::unique_ptr<int> p = r.take();
    EXPECT_EQ(*p, 7);
    auto make = []() -> Result<std::unique_ptr<int>, Failure> { return std::make_unique<int>(9); };
    std::unique_ptr<int> q = *make();
    EXPECT_EQ(*q, 9);
    q = make().value();
    EXPECT_EQ(*q, 9);
}

TEST(NetRole, ConfigAndCertificateText) {
    EXPECT_EQ(to_string(Role::home_agent), "home-agent");
    EXPECT_EQ(to_string(Role::mobile_node), "mobile-node");
    EXPECT_EQ(to_string(Role::mobile_router), "mobile-router");
    EXPECT_EQ(to_string(PrefixMode::explicit_mode), "explicit");
    EXPECT_EQ(to_string(PrefixMode::implicit_mode), "implicit");
}

TEST(NetIpv6AddressHash, SpreadsAddressesOfOnePrefixAndOneInterfaceId) {
    const std::hash<Ipv6Address> h;
    std::set<size_t> seen;
    std::set<size_t> low_bits;
    for (uint16_t i = 0; i < 1024; ++i) {
        Ipv6Address a = *Ipv6Address::parse("2001:db8:1::");
        a.bytes[14] = static_cast<uint8_t>(i >> 8);
        a.bytes[15] = static_cast<uint8_t>(i);
        seen.insert(h(a));
        low_bits.insert(h(a) & 0xff);
        Ipv6Address b = *Ipv6Address::parse("::100");
        b.bytes[6] = static_cast<uint8_t>(i >> 8);  // prefixes 2001:db8:N::/48 style
        b.bytes[7] = static_cast<uint8_t>(i);
        seen.insert(h(b));
    }
    EXPECT_EQ(seen.size(), 2048u);   // no collision among 2 x 1024 addresses
    EXPECT_GT(low_bits.size(), 200u);  // the low octet varies too (power-of-two tables)
}
