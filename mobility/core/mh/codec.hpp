// Mobility Header codec: typed messages (messages.hpp) <-> wire octets.
// RFC 6275 sec. 6.1 (messages), 6.2 (options, alignment, padding), 9.2
// (receiver checks), RFC 3963 sec. 4.3, RFC 5648 sec. 4.3, RFC 6089 sec. 4,
// RFC 5555 sec. 3.1-3.2. Pure functions, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "mobility/core/mh/messages.hpp"
#include "mobility/core/mh/result.hpp"

namespace nemokey::mobility::mh {

// Addresses of the IPv6 pseudo-header (RFC 8200 sec. 8.1) for the MH
// checksum. RFC 6275 sec. 6.1.1: the source is the home address when a Home
// Address option is present, the destination the final one (after a type 2
// routing header): the caller picks them.
struct PseudoHeader {
    Ipv6Address source;
    Ipv6Address destination;
};

// One's-complement checksum of the pseudo-header (next header 135, length =
// mh.size()) followed by the MH octets as given (checksum field included).
// Over a message whose checksum field holds the right value it returns 0.
uint16_t mh_checksum(const PseudoHeader& pseudo, std::span<const uint8_t> mh);

// An option's alignment requirement xn+y (RFC 6275 sec. 6.2.1): its Type
// octet sits y octets past a multiple of x from the start of the MH.
struct Alignment {
    uint8_t x = 1;
    uint8_t y = 0;
};
Alignment alignment_of(const MobilityOption& option);

struct DecodeOptions {
    // With addresses the checksum is verified (RFC 6275 sec. 9.2);
    // without, it is read but not checked.
    std::optional<PseudoHeader> verify_checksum;
    // Reject options that break their alignment rule. RFC 6275 asks senders
    // to align; receivers that accept misaligned options interoperate better,
    // so this is off by default.
    bool strict_alignment = false;
};

struct DecodedMessage {
    MobilityHeader header;
    Message message;
    size_t skipped_unknown_options = 0;  // RFC 6275 sec. 6.2.1 (also kept in options)
    size_t ignored_trailing_octets = 0;  // after Header Len's length, RFC 8200 sec. 4.7
};

// Decodes the Mobility Header at the start of `data` (the rest of the IPv6
// packet after the headers before it). Its length is the one Header Len
// declares; the checksum is verified over that length. Octets after it are
// ignored (Payload Proto 59, RFC 8200 sec. 4.7) and counted in
// ignored_trailing_octets; a Header Len running past `data` is an error.
Result<DecodedMessage> decode(std::span<const uint8_t> data, const DecodeOptions& options = {});

// Only an options region; `base_offset` is the offset of its first octet
// from the start of the MH (for alignment and error offsets).
Result<MobilityOptions> decode_options(std::span<const uint8_t> region, size_t base_offset,
                                       bool strict_alignment = false);

struct EncodeOptions {
    // With addresses the checksum field is filled in; without, it stays 0
    // (e.g. when the kernel computes it, IPV6_CHECKSUM socket option).
    std::optional<PseudoHeader> checksum;
    uint8_t payload_proto = ip_proto_none;
};

// Encodes with the padding RFC 6275 sec. 6.2.1 asks for: Pad1/PadN before
// each option to meet its alignment, and after the last one to a multiple of
// 8 octets (sec. 6.1.1). Fails (kind unencodable) when a value does not fit.
Result<std::vector<uint8_t>> encode(const Message& message, const EncodeOptions& options = {});
// Same, into `out` (cleared first) so a caller can reuse its buffer.
Result<size_t> encode_into(const Message& message, std::vector<uint8_t>& out,
                           const EncodeOptions& options = {});

// The Binding Error a receiver sends for a decode error whose reaction is
// discard_send_binding_error (RFC 6275 sec. 9.2 / 9.3.3); home_address is
// the one from the packet's Home Address option, or unspecified without one.
std::optional<BindingError> binding_error_for(const DecodeError& error,
                                              const Ipv6Address& home_address = {});

// Minimum Header Len for an MH Type (RFC 6275 sec. 9.2: shorter is an error).
std::optional<uint8_t> minimum_header_len(uint8_t mh_type);

}  // namespace nemokey::mobility::mh
