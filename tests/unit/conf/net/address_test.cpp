#include "conf/net/address.hpp"

#include <gtest/gtest.h>

using namespace nemokey::net;

TEST(Ipv6Address, ParseAndFormatRoundTrip) {
    auto a = Ipv6Address::parse("2001:DB8:0:0:1::1");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->to_string(), "2001:db8::1:0:0:1");
    EXPECT_FALSE(Ipv6Address::parse("2001:db8::1::1"));
    EXPECT_FALSE(Ipv6Address::parse("192.0.2.1"));
    EXPECT_TRUE(Ipv6Address::parse("fe80::1")->is_link_local());
    EXPECT_TRUE(Ipv6Address::parse("::")->is_unspecified());
}

TEST(Ipv4Address, ParseAndFormat) {
    auto a = Ipv4Address::parse("192.0.2.33");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->to_string(), "192.0.2.33");
    EXPECT_EQ(a->to_host_order(), 0xc0000221u);
    EXPECT_FALSE(Ipv4Address::parse("192.0.2"));
    EXPECT_FALSE(Ipv4Address::parse("192.0.2.256"));
}

TEST(Prefix, ParseRejectsBadLengths) {
    EXPECT_FALSE(Prefix::parse("2001:db8::/129"));
    EXPECT_FALSE(Prefix::parse("192.0.2.0/33"));
    EXPECT_FALSE(Prefix::parse("2001:db8::/"));
    EXPECT_FALSE(Prefix::parse("2001:db8::/6x"));
    auto host = Prefix::parse("2001:db8::5");
    ASSERT_TRUE(host);
    EXPECT_EQ(host->length, 128);
}

TEST(Prefix, ContainsAndOverlaps) {
    auto home = *Prefix::parse("2001:db8:1::/64");
    EXPECT_TRUE(home.contains(*parse_ip_address("2001:db8:1::99")));
    EXPECT_FALSE(home.contains(*parse_ip_address("2001:db8:2::99")));
    EXPECT_FALSE(home.contains(*parse_ip_address("192.0.2.1")));
    auto p57 = *Prefix::parse("2001:db8:1:80::/57");
    EXPECT_TRUE(p57.contains(*parse_ip_address("2001:db8:1:ff::1")));
    EXPECT_FALSE(p57.contains(*parse_ip_address("2001:db8:1:7f::1")));
    EXPECT_TRUE(home.overlaps(*Prefix::parse("2001:db8::/32")));
    EXPECT_FALSE(home.overlaps(*Prefix::parse("2001:db8:1:1::/64")));
    EXPECT_EQ(Prefix::parse("2001:db8:1::77/60")->normalized().to_string(), "2001:db8:1::/60");
    EXPECT_EQ(Prefix::parse("198.51.100.77/25")->normalized().to_string(), "198.51.100.0/25");
}
