// Errors as values for the Mobility Header codec: a decode error says what
// failed, where (octet offset from the start of the Mobility Header) and
// which reaction RFC 6275 sec. 9.2 asks of the receiver.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "conf/net/result.hpp"

namespace nemokey::mobility::mh {

enum class DecodeErrorKind : uint8_t {
    truncated,                 // fewer octets than the header or a field needs
    bad_payload_proto,         // Payload Proto != 59 (RFC 6275 sec. 9.2)
    bad_header_length,         // Header Len too small for the MH Type, or past the data
    bad_checksum,              // RFC 6275 sec. 6.1.1 / 9.2
    unrecognized_mh_type,      // RFC 6275 sec. 9.2: answer with Binding Error status 2
    option_overrun,            // option Type/Length runs past the end of the message
    bad_option_length,         // known option with a length its RFC does not allow
    bad_option_value,          // a field value its RFC does not allow
    misaligned_option,         // only with DecodeOptions::strict_alignment
    option_after_authorization_data,  // RFC 6275 sec. 6.2.7: BAD must be last
    bad_extension_header,      // Home Address option / type 2 routing header
    bad_udp_encapsulation,     // RFC 5555 UDP payload
    unencodable,               // encoder: a value does not fit its wire field
    bad_ipv6_header,           // packet-level decoding: not an IPv6 packet with an MH
};

const char* to_string(DecodeErrorKind k);

// What the receiver does with the packet (RFC 6275 sec. 9.2).
enum class ReceiverReaction : uint8_t {
    silently_discard,
    // Discard and send ICMPv6 Parameter Problem code 0; `offset` is the
    // offending field counted from the start of the Mobility Header (the
    // caller adds the length of the headers before it for the Pointer).
    discard_send_icmp_parameter_problem,
    // Discard and send a Binding Error with binding_error_status
    // (RFC 6275 sec. 9.3.3).
    discard_send_binding_error,
};

struct DecodeError {
    DecodeErrorKind kind = DecodeErrorKind::truncated;
    size_t offset = 0;          // octet offset of the offending field
    uint32_t value = 0;         // the quoted wire value (type, length, checksum...)
    ReceiverReaction reaction = ReceiverReaction::silently_discard;
    uint8_t binding_error_status = 0;  // with discard_send_binding_error
    std::string detail;         // one sentence for logs

    std::string message() const;  // "<kind> at offset N (value V): detail"
};

inline DecodeError decode_error(DecodeErrorKind kind, size_t offset, uint32_t value,
                                std::string detail,
                                ReceiverReaction reaction = ReceiverReaction::silently_discard) {
    DecodeError e;
    e.kind = kind;
    e.offset = offset;
    e.value = value;
    e.reaction = reaction;
    e.detail = std::move(detail);
    return e;
}

// A value or a DecodeError (the shared template of conf/net/result.hpp).
template <class T>
using Result = net::Result<T, DecodeError>;

}  // namespace nemokey::mobility::mh
