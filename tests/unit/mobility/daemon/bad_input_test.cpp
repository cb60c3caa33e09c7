// The home agent's answer to Mobility Headers it cannot accept: the counter
// per decode error, the Binding Error of RFC 6275 sec. 9.3.3 and its rate
// limit.
#include <gtest/gtest.h>

#include "mobility/daemon/bad_input.hpp"
#include "tests/unit/mobility/mh/test_util.hpp"

using namespace nemokey::mobility;
namespace net = nemokey::net;
using mh_test::hex;
using mh_test::v6;

namespace {

mh::DecodeError error_of(const std::vector<uint8_t>& bytes) {
    auto r = mh::decode(bytes);
    EXPECT_FALSE(r.ok());
    return r.error();
}

adapters::ReceivedMobilityHeader received(std::optional<net::Ipv6Address> hao) {
    adapters::ReceivedMobilityHeader m;
    m.source = v6("2001:db8:1::201");   // after the kernel's swap: the home address
    m.destination = v6("2001:db8:1::1");
    m.home_address_option = hao;        // ... and the care-of address in the option
    return m;
}

TEST(BadInput, UnknownMhTypeWithHaoGetsBindingErrorStatus2AtTheCareOfAddress) {
    const auto e = error_of(hex("3b 01 c8 00 0000 0000 00000000 00000000"));
    EXPECT_EQ(daemon::malformed_counter(e), "drop.mh-malformed.unrecognized-mh-type");
    auto be = daemon::binding_error_reply(e, received(v6("2001:db8:a1::1")));
    ASSERT_TRUE(be.has_value());
    EXPECT_EQ(be->destination, v6("2001:db8:a1::1"));
    EXPECT_EQ(be->source, v6("2001:db8:1::1"));
    EXPECT_EQ(be->message.status, mh::BindingErrorStatus{2});
    EXPECT_EQ(be->message.home_address, v6("2001:db8:1::201"));
}

TEST(BadInput, UnknownMhTypeWithoutHaoGoesToTheSourceWithUnspecifiedHomeAddress) {
    auto be = daemon::binding_error_reply(error_of(hex("3b 01 c8 00 0000 0000 00000000 00000000")), received({}));
    ASSERT_TRUE(be.has_value());
    EXPECT_EQ(be->destination, v6("2001:db8:1::201"));
    EXPECT_EQ(be->message.home_address, net::Ipv6Address{});
}

TEST(BadInput, BadOptionLengthIsCountedAndSilentlyDiscarded) {
    // BU with a Mobile Network Prefix option of length 17 (RFC 3963: 18).
    const auto e = error_of(hex("3b 03 05 00 0000 000a c400 0096 0611 0040 20010db8000102010000000000000000"));
    EXPECT_EQ(daemon::malformed_counter(e), "drop.mh-malformed.bad-option-length");
    EXPECT_FALSE(daemon::binding_error_reply(e, received(v6("2001:db8:a1::1"))).has_value());
}

TEST(BadInput, RateLimitAllowsTheBurstThenTheRate) {
    daemon::RateLimit limit(10, 3);
    const auto t0 = daemon::RateLimit::Clock::time_point{} + std::chrono::seconds(100);
    EXPECT_TRUE(limit.allow(t0));
    EXPECT_TRUE(limit.allow(t0));
    EXPECT_TRUE(limit.allow(t0));
    EXPECT_FALSE(limit.allow(t0));
    EXPECT_FALSE(limit.allow(t0 + std::chrono::milliseconds(50)));
    EXPECT_TRUE(limit.allow(t0 + std::chrono::milliseconds(150)));
    EXPECT_FALSE(limit.allow(t0 + std::chrono::milliseconds(150)));
    EXPECT_TRUE(limit.allow(t0 + std::chrono::seconds(10)));
}

}  // namespace
