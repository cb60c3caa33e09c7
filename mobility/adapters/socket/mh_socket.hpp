// The Mobility Header socket (RFC 6275 sec. 6.1): a raw IPv6 socket of
// protocol 135 on Boost.Asio. Thin: octets in and out, with the addresses
// the core needs; the MH codec (mobility/core/mh/) and the state machines
// decide everything.
//
// What the kernel does around it (drafts-notes/linux-mip6-xfrm.md):
//   - the MH checksum: Linux computes and verifies it for raw sockets of
//     protocol 135 (checksum offset 4), with the home address and the final
//     destination in the pseudo-header, as sec. 6.1.1 asks;
//   - the Home Address option and the type 2 routing header: XFRM
//     route-optimisation states add them on output and process them on
//     input (sec. 6.3, 6.4, 9.3.1), so a BU sent from the home address
//     leaves from the care-of address, and a received one shows the home
//     address as source and the care-of address in the Home Address option
//     of the IPV6_RECVDSTOPTS ancillary data;
//   - ESP: the IPsec policies decide which messages must be protected; a BU
//     that needed ESP and did not have it never reaches this socket.
// Sending never blocks: a full socket buffer drops the message (counted);
// the state machines retransmit.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "conf/net/address.hpp"

namespace boost::asio {
class io_context;
}

namespace nemokey::mobility::adapters {

struct ReceivedMobilityHeader {
    net::Ipv6Address source;        // the home address when a HAO was present
    net::Ipv6Address destination;   // ours (the home address after a type 2 routing header)
    // The address in the Home Address option as delivered: after the
    // kernel's swap it is the care-of address the packet came from.
    std::optional<net::Ipv6Address> home_address_option;
    std::optional<net::Ipv6Address> routing_header_address;   // type 2, after processing
    unsigned interface = 0;
    std::vector<uint8_t> message;   // the Mobility Header and what follows it
};

struct MhSocketCounters {
    uint64_t received = 0;
    uint64_t sent = 0;
    uint64_t send_failed = 0;       // EAGAIN, EHOSTUNREACH, ... (dropped, not retried here)
    uint64_t receive_errors = 0;
    uint64_t truncated = 0;         // larger than the receive buffer
};

class MhSocket {
public:
    using Handler = std::function<void(const ReceivedMobilityHeader&)>;

    // Opens the socket (needs CAP_NET_RAW); nullptr and why not.
    static std::unique_ptr<MhSocket> open(boost::asio::io_context& io, std::string& error);
    ~MhSocket();

    // Starts delivering received messages to `handler` from the io_context.
    void start(Handler handler);
    // Sends one Mobility Header (checksum field left for the kernel) from
    // `source` to `destination`; false (counted, errno text in `error`)
    // when the kernel refused it. `source` may be an address not (yet)
    // configured: the mobile node's home address before its first binding.
    bool send(const net::Ipv6Address& source, const net::Ipv6Address& destination,
              std::span<const uint8_t> message, std::string* error = nullptr);
    const MhSocketCounters& counters() const;

    struct Impl;

private:
    explicit MhSocket(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace nemokey::mobility::adapters
