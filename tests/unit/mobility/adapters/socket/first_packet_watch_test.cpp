// The first-packet watch on the loopback (needs CAP_NET_RAW): only a
// tunnelled packet (next header 41) to the watched address counts, once.
#include "mobility/adapters/socket/first_packet_watch.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace nemokey::mobility::adapters {
namespace {

// Sends `payload` to ::1 with the kernel's IPv6 header, next header `protocol`.
bool send_to_loopback(int protocol, size_t payload) {
    int fd = ::socket(AF_INET6, SOCK_RAW, protocol);
    if (fd < 0) return false;
    sockaddr_in6 to{};
    to.sin6_family = AF_INET6;
    to.sin6_addr = in6addr_loopback;
    std::vector<uint8_t> bytes(payload, 0);
    if (protocol == IPPROTO_IPV6) bytes[0] = 0x60;   // an inner IPv6 header
    if (protocol == IPPROTO_DSTOPTS) {
        // Next header 41, length 0 (8 octets): Tunnel Encapsulation Limit
        // (type 4, length 1, limit 0), PadN of 1 octet; then the inner header.
        const uint8_t option[8] = {IPPROTO_IPV6, 0, 4, 1, 0, 1, 1, 0};
        std::copy(std::begin(option), std::end(option), bytes.begin());
        bytes[8] = 0x60;
    }
    const bool ok = ::sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) ==
                    static_cast<ssize_t>(bytes.size());
    ::close(fd);
    return ok;
}

TEST(FirstPacketWatch, OnlyATunnelledPacketToTheCareOfAddressCountsAndOnlyOnce) {
    boost::asio::io_context io;
    std::string error;
    int seen = 0, other = 0;
    FirstPacketWatch::Clock::time_point at{};
    const auto before = FirstPacketWatch::Clock::now();
    auto watch = FirstPacketWatch::open(
        io, "lo", *net::Ipv6Address::parse("::1"),
        [&](FirstPacketWatch::Clock::time_point t) {
            ++seen;
            at = t;
        },
        error);
    if (!watch && error.find("Operation not permitted") != std::string::npos)
        GTEST_SKIP() << "needs CAP_NET_RAW: " << error;
    ASSERT_TRUE(watch) << error;
    auto elsewhere = FirstPacketWatch::open(
        io, "lo", *net::Ipv6Address::parse("2001:db8::1"), [&](FirstPacketWatch::Clock::time_point) { ++other; },
        error);
    ASSERT_TRUE(elsewhere) << error;
    // Not tunnelled: not seen.
    ASSERT_TRUE(send_to_loopback(IPPROTO_UDP, 8));
    boost::asio::steady_timer pause(io, std::chrono::milliseconds(200));
    pause.async_wait([&](const boost::system::error_code&) {
        EXPECT_EQ(seen, 0);
        ASSERT_TRUE(send_to_loopback(IPPROTO_IPV6, 40));
        ASSERT_TRUE(send_to_loopback(IPPROTO_IPV6, 40));
    });
    // The home agent's tunnel puts a Tunnel Encapsulation Limit option first.
    int dest_opts = 0;
    auto behind_option = FirstPacketWatch::open(
        io, "lo", *net::Ipv6Address::parse("::1"), [&](FirstPacketWatch::Clock::time_point) { ++dest_opts; },
        error);
    ASSERT_TRUE(behind_option) << error;
    boost::asio::steady_timer later(io, std::chrono::milliseconds(400));
    later.async_wait([&](const boost::system::error_code&) {
        ASSERT_TRUE(send_to_loopback(IPPROTO_DSTOPTS, 48));
    });
    io.run_for(std::chrono::seconds(1));
    EXPECT_EQ(seen, 1);
    EXPECT_EQ(other, 0);
    EXPECT_EQ(dest_opts, 1);
    EXPECT_GE(at, before);
    EXPECT_LE(at, FirstPacketWatch::Clock::now());
}

TEST(FirstPacketWatch, AnUnknownInterfaceIsAnErrorNotAThrow) {
    boost::asio::io_context io;
    std::string error;
    auto watch = FirstPacketWatch::open(io, "nk-nonexistent0", *net::Ipv6Address::parse("::1"),
                                        [](FirstPacketWatch::Clock::time_point) {}, error);
    EXPECT_FALSE(watch);
    EXPECT_NE(error.find("nk-nonexistent0"), std::string::npos);
}

}  // namespace
}  // namespace nemokey::mobility::adapters
