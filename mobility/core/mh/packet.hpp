// A Mobility Header inside an IPv6 packet, with the two extension headers
// of Mobile IPv6: the Home Address destination option (RFC 6275 sec. 6.3)
// and the type 2 routing header (sec. 6.4). Also the UDP encapsulation of
// such a packet (RFC 5555 sec. 4.1, with the TLV header of RFC 5845 sec.
// 7.2). Pure functions, no I/O.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "mobility/core/mh/codec.hpp"
#include "mobility/core/mh/messages.hpp"
#include "mobility/core/mh/result.hpp"

namespace nemokey::mobility::mh {

inline constexpr uint8_t ip_proto_routing = 43;              // RFC 8200 sec. 4.4
inline constexpr uint8_t ip_proto_destination_options = 60;  // RFC 8200 sec. 4.6
inline constexpr uint16_t dsmipv6_udp_port = 4191;           // RFC 5555 sec. 2.3.2.2 ("dsmipv6")

// ---- the two extension headers on their own ----

// Destination Options header holding one Home Address option, padded so the
// option sits at 8n+6 (RFC 6275 sec. 6.3): 24 octets.
std::vector<uint8_t> encode_home_address_destination_options(uint8_t next_header,
                                                             const HomeAddressOption& hao);

struct DestinationOptions {
    uint8_t next_header = 0;
    size_t length = 0;  // octets of the whole header
    std::optional<HomeAddressOption> home_address;
};
// RFC 8200 sec. 4.2: unknown options whose type's top two bits are 00 are
// skipped; others make the packet be discarded (error). RFC 6275 sec. 6.3:
// Option Length of the Home Address option is 16, at most one per packet;
// the home address is not multicast, link-local, loopback or unspecified.
Result<DestinationOptions> decode_destination_options(std::span<const uint8_t> bytes,
                                                      bool strict_alignment = false);

// Type 2 routing header (RFC 6275 sec. 6.4): 24 octets.
std::vector<uint8_t> encode_type2_routing_header(const Type2RoutingHeader& rh);
// Rejects Hdr Ext Len != 2, Routing Type != 2 and Segments Left > 1
// (RFC 6275 sec. 6.4: one address, so Segments Left is 1 or 0 after it).
Result<Type2RoutingHeader> decode_type2_routing_header(std::span<const uint8_t> bytes);

// ---- a whole IPv6 packet carrying a Mobility Header ----

struct MhPacket {
    Ipv6Address source;       // IPv6 Source Address (the care-of address when a HAO is present)
    Ipv6Address destination;  // IPv6 Destination Address
    uint8_t hop_limit = 64;
    std::optional<HomeAddressOption> home_address;     // Destination Options header
    std::optional<Type2RoutingHeader> routing_header;  // its next_header is set by the encoder
    Message message;

    // RFC 6275 sec. 6.1.1: the checksum's pseudo-header uses the home
    // address from a HAO as source and the final destination (the home
    // address in a type 2 routing header) as destination.
    PseudoHeader pseudo_header() const;
};

// IPv6 header, then [type 2 routing header], [Destination Options with HAO]
// (RFC 6275 sec. 6.3: the HAO comes after the routing header), then the MH
// with its checksum filled in.
Result<std::vector<uint8_t>> encode_packet(const MhPacket& packet);

struct DecodedPacket {
    MhPacket packet;
    MobilityHeader header;
    size_t mh_offset = 0;  // where the MH starts in the packet (for ICMP pointers)
};
// Walks the IPv6 header and the headers before the MH; verifies the MH
// checksum with the pseudo-header RFC 6275 sec. 6.1.1 prescribes. Error
// offsets count from the start of the IPv6 header (so they are the ICMP
// Parameter Problem Pointer).
Result<DecodedPacket> decode_packet(std::span<const uint8_t> bytes, bool strict_alignment = false);

// ---- UDP encapsulation: RFC 5555 sec. 4.1, RFC 5845 sec. 7 ----
//
// RFC 5555 sec. 4.1: behind an IPv4 NAT the IPv6 packet with the MH rides
// in UDP (port 4191), the IP packet right after the UDP header; the receiver
// reads the IP version nibble to tell IPv4 from IPv6. The BU is always sent
// this way. RFC 5845 sec. 7.1-7.2: when the T flag was agreed in BU/BA, a
// 4-octet TLV header may sit between the UDP header and the payload; its
// Type nibble is always 0, so the first nibble of the UDP payload tells the
// three apart: 4 = IPv4 packet, 6 = IPv6 packet, 0 = TLV header.

inline constexpr uint8_t ip_proto_ipv6 = 41;  // IANA protocol number of an IPv6 header
inline constexpr size_t udp_tlv_header_octets = 4;

// RFC 5845 sec. 7.2, Figure 6:
//   Type (4 bits, always 0) | Reserved (4 bits) | Next Header (8) | Length (16)
// Length counts the octets after the TLV header. Reserved is sent as zero
// and ignored on receipt, so it is not modelled.
struct UdpTlvHeader {
    uint8_t next_header = ip_proto_ipv6;  // e.g. 41 IPv6, 4 IPv4, 47 GRE
    uint16_t length = 0;
    bool operator==(const UdpTlvHeader&) const = default;
};

std::array<uint8_t, udp_tlv_header_octets> encode_udp_tlv_header(const UdpTlvHeader& tlv);
// Reads the TLV header at the start of a UDP payload. Rejects a Type other
// than 0 and, RFC 5845 sec. 7.1, a Length that disagrees with the octets
// that follow it (the receiver MUST discard such a packet).
Result<UdpTlvHeader> decode_udp_tlv_header(std::span<const uint8_t> udp_payload);

enum class UdpPayloadFormat : uint8_t {
    ip_packet,   // RFC 5555 sec. 4.1: UDP header, then the IP packet
    tlv_header,  // RFC 5845 sec. 7.1: UDP header, TLV header (Next Header 41), then the IP packet
};

struct UdpEncapsulated {
    std::optional<UdpTlvHeader> tlv;  // set when the payload began with a TLV header
    DecodedPacket inner;
};

// The UDP payload carrying the IPv6 packet with the MH. A Binding Update
// is refused in the TLV format (RFC 5555 sec. 4.1: the BU MUST be sent in
// the plain format), as unencodable.
Result<std::vector<uint8_t>> encode_udp_payload(const MhPacket& packet,
                                                UdpPayloadFormat format = UdpPayloadFormat::ip_packet);
// Tells the formats apart by the first nibble. A TLV header is accepted only
// when `tlv_header_agreed` (T flag set in both BU and BA, RFC 5845 sec. 7.2);
// the plain format is always accepted, since the BU never uses the TLV
// header. An IPv4 packet, a TLV header whose Next Header is not 41, or any
// other first nibble is bad_udp_encapsulation. Error offsets count from the
// start of the UDP payload.
Result<UdpEncapsulated> decode_udp_payload(std::span<const uint8_t> payload, bool tlv_header_agreed);

}  // namespace nemokey::mobility::mh
