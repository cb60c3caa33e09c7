// The first packet on the new path after a handover (the per-handover
// timing line, issue 11): an AF_PACKET socket (SOCK_DGRAM, ingress only:
// PACKET_IGNORE_OUTGOING) on the access interface of the new care-of
// address, with a classic BPF filter that passes only tunnelled packets to
// that address (outer IPv6 destination = the care-of address, next header
// IPv6 (41, the bidirectional tunnel of RFC 6275 sec. 11.3.1) or ESP (50,
// the tunnel-mode payload protection of RFC 3776), directly or after one
// Destination Options header: the Tunnel Encapsulation Limit option). The first one is
// reported once, with the kernel's receive time (SO_TIMESTAMPNS) on the
// steady clock; then the socket is closed. Nothing polls: Boost.Asio waits
// for the descriptor; the caller owns any timeout.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "conf/net/address.hpp"

namespace boost::asio {
class io_context;
}

namespace nemokey::mobility::adapters {

class FirstPacketWatch {
public:
    using Clock = std::chrono::steady_clock;
    using Seen = std::function<void(Clock::time_point received)>;

    // nullptr and why not (no CAP_NET_RAW, unknown interface). `seen` runs
    // at most once, on the loop; never after the watch is destroyed.
    static std::unique_ptr<FirstPacketWatch> open(boost::asio::io_context& io, const std::string& interface,
                                                  const net::Ipv6Address& care_of_address, Seen seen,
                                                  std::string& error);
    ~FirstPacketWatch();
    FirstPacketWatch(const FirstPacketWatch&) = delete;
    FirstPacketWatch& operator=(const FirstPacketWatch&) = delete;

    struct Impl;

private:
    explicit FirstPacketWatch(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace nemokey::mobility::adapters
