// The raw Mobility Header socket on the loopback (needs CAP_NET_RAW; the
// Home Address option and the type 2 routing header are XFRM's and are
// tested in the kernel VM: scenarios mip6-signalling, mobilityd-handover).
#include "mobility/adapters/socket/mh_socket.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "mobility/core/mh/codec.hpp"

namespace nemokey::mobility::adapters {
namespace {

TEST(MhSocket, ABindingUpdateCrossesTheLoopbackWithTheKernelsChecksum) {
    boost::asio::io_context io;
    std::string error;
    auto a = MhSocket::open(io, error);
    if (!a && error.find("Operation not permitted") != std::string::npos)
        GTEST_SKIP() << "needs CAP_NET_RAW: " << error;
    ASSERT_TRUE(a) << error;
    auto b = MhSocket::open(io, error);
    ASSERT_TRUE(b) << error;
    std::vector<ReceivedMobilityHeader> got;
    b->start([&](const ReceivedMobilityHeader& m) {
        got.push_back(m);
        io.stop();
    });
    mh::BindingUpdate bu;
    bu.sequence_number = 4711;
    bu.home_registration = true;
    bu.lifetime = 150;
    auto bytes = mh::encode(bu);
    ASSERT_TRUE(bytes.ok());
    const auto lo = *net::Ipv6Address::parse("::1");
    ASSERT_TRUE(a->send(lo, lo, *bytes, &error)) << error;
    io.run_for(std::chrono::seconds(5));
    ASSERT_FALSE(got.empty()) << "nothing received";
    // Both sockets see the message (raw sockets of one protocol); b's copy:
    EXPECT_EQ(got[0].source, lo);
    EXPECT_EQ(got[0].destination, lo);
    EXPECT_FALSE(got[0].home_address_option);
    // The kernel filled in the checksum (RFC 6275 sec. 6.1.1): it verifies.
    auto decoded = mh::decode(got[0].message, mh::DecodeOptions{mh::PseudoHeader{lo, lo}, false});
    ASSERT_TRUE(decoded.ok()) << decoded.error().message();
    ASSERT_TRUE(std::holds_alternative<mh::BindingUpdate>(decoded->message));
    EXPECT_EQ(std::get<mh::BindingUpdate>(decoded->message).sequence_number, 4711);
    EXPECT_EQ(a->counters().sent, 1u);
    EXPECT_EQ(b->counters().received, 1u);
}

TEST(MhSocket, ASendTheKernelRefusesIsCountedNotThrown) {
    boost::asio::io_context io;
    std::string error;
    auto a = MhSocket::open(io, error);
    if (!a && error.find("Operation not permitted") != std::string::npos)
        GTEST_SKIP() << "needs CAP_NET_RAW: " << error;
    ASSERT_TRUE(a) << error;
    std::vector<uint8_t> msg(16, 0);
    // A multicast source is never acceptable.
    EXPECT_FALSE(a->send(*net::Ipv6Address::parse("ff02::1"), *net::Ipv6Address::parse("::1"), msg, &error));
    EXPECT_FALSE(error.empty());
    EXPECT_EQ(a->counters().send_failed, 1u);
}

}  // namespace
}  // namespace nemokey::mobility::adapters
