// What the home agent does with a Mobility Header it cannot accept (RFC 6275
// sec. 9.2 / 9.3.3), apart from the socket: the counter named after the
// decode error, and the Binding Error to send (status 2 for an unrecognized
// MH Type), rate-limited as sec. 9.3.3 asks.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "mobility/adapters/socket/mh_socket.hpp"
#include "mobility/core/mh/codec.hpp"

namespace nemokey::mobility::daemon {

// "drop.mh-malformed.<kind>", e.g. drop.mh-malformed.bad-option-length.
std::string malformed_counter(const mh::DecodeError& error);

struct BindingErrorReply {
    net::Ipv6Address source;        // our address the message came to
    net::Ipv6Address destination;   // the offending packet's IPv6 source
    mh::BindingError message;
};

// RFC 6275 sec. 9.3.3: sent to the Source Address of the offending packet,
// which for a packet with a Home Address option is the care-of address
// (the socket reports it in the option after the kernel's swap); the Home
// Address field carries the home address from that option, else it is
// unspecified. Nothing for errors that are silently discarded.
std::optional<BindingErrorReply> binding_error_reply(const mh::DecodeError& error,
                                                     const adapters::ReceivedMobilityHeader& m);

// A token bucket: `per_second` messages on average, `burst` at once.
class RateLimit {
public:
    using Clock = std::chrono::steady_clock;
    RateLimit(double per_second, double burst) : rate_(per_second), burst_(burst), tokens_(burst) {}
    bool allow(Clock::time_point now);

private:
    double rate_, burst_, tokens_;
    std::optional<Clock::time_point> last_;
};

}  // namespace nemokey::mobility::daemon
