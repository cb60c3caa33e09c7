// A Mobility Header inside an IPv6 packet, with the two extension headers
// of Mobile IPv6: the Home Address destination option (RFC 6275 sec. 6.3)
// and the type 2 routing header (sec. 6.4). Also RFC 5555 UDP encapsulation
// of such a packet. Pure functions, no I/O.
#pragma once

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
inline constexpr uint16_t dsmipv6_udp_port = 4191;           // RFC 5555 (IANA "dsmipv6")

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

// ---- RFC 5555 UDP encapsulation ----

// The optional TLV header in front of the encapsulated packet, used when
// the T flag (TLV-header format) was agreed in BU/BA. Layout as read by us:
// Type (8), Length (16, octets after this header), Reserved (8); see
// drafts-notes/rfc5555.md (UNCONFIRMED against the RFC text).
struct UdpTlvHeader {
    uint8_t type = 0;
};
inline constexpr uint8_t udp_tlv_type_ip_packet = 1;  // UNCONFIRMED, see the note

struct UdpEncapsulated {
    std::optional<UdpTlvHeader> tlv;
    DecodedPacket inner;
};

// UDP payload = [TLV header] + IPv6 packet with the MH (RFC 5555: behind an
// IPv4 NAT the IPv6 BU is carried in UDP over IPv4 to port 4191).
Result<std::vector<uint8_t>> encode_udp_payload(const MhPacket& packet,
                                                std::optional<UdpTlvHeader> tlv = std::nullopt);
Result<UdpEncapsulated> decode_udp_payload(std::span<const uint8_t> payload, bool tlv_header_format);

}  // namespace nemokey::mobility::mh
