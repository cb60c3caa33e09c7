#include "mobility/core/mh/packet.hpp"

#include <string>

#include "mobility/core/mh/wire.hpp"

namespace nemokey::mobility::mh {

namespace {

using namespace wire;

constexpr size_t ipv6_header_octets = 40;

bool is_loopback(const Ipv6Address& a) {
    for (size_t i = 0; i < 15; ++i)
        if (a.bytes[i] != 0) return false;
    return a.bytes[15] == 1;
}

}  // namespace

std::vector<uint8_t> encode_home_address_destination_options(uint8_t next_header,
                                                             const HomeAddressOption& hao) {
    std::vector<uint8_t> o;
    o.reserve(24);
    put8(o, next_header);
    put8(o, 2);          // Hdr Ext Len: 24 octets
    put_padding(o, 4);   // PadN so the option starts at 8n+6 (RFC 6275 sec. 6.3)
    put8(o, home_address_option_type);
    put8(o, 16);
    put_v6(o, hao.home_address);
    return o;
}

Result<DestinationOptions> decode_destination_options(std::span<const uint8_t> b, bool strict) {
    if (b.size() < 8)
        return decode_error(DecodeErrorKind::truncated, 0, static_cast<uint32_t>(b.size()),
                     "Destination Options header needs 8 octets, " + std::to_string(b.size()) + " left");
    DestinationOptions out;
    out.next_header = b[0];
    out.length = (size_t{b[1]} + 1) * 8;
    if (out.length > b.size())
        return decode_error(DecodeErrorKind::bad_extension_header, 1, b[1],
                     "Destination Options Hdr Ext Len " + std::to_string(b[1]) + " means " +
                         std::to_string(out.length) + " octets, " + std::to_string(b.size()) + " left");
    size_t i = 2;
    while (i < out.length) {
        const uint8_t t = b[i];
        if (t == 0) {  // Pad1
            ++i;
            continue;
        }
        if (i + 2 > out.length || i + 2 + b[i + 1] > out.length)
            return decode_error(DecodeErrorKind::option_overrun, i, t,
                         "destination option type " + std::to_string(t) +
                             " runs past the end of its header");
        const uint8_t len = b[i + 1];
        if (t == home_address_option_type) {
            if (len != 16)
                return decode_error(DecodeErrorKind::bad_option_length, i + 1, len,
                             "Home Address option has Option Length " + std::to_string(len) +
                                 ", expected 16");
            if (out.home_address)
                return decode_error(DecodeErrorKind::bad_extension_header, i, t,
                             "a second Home Address option in one packet");
            if (strict && i % 8 != 6)
                return decode_error(DecodeErrorKind::misaligned_option, i, t,
                             "Home Address option at offset " + std::to_string(i) +
                                 " breaks its 8n+6 alignment");
            const Ipv6Address a = get_v6(b.data() + i + 2);
            if (a.is_multicast() || a.is_link_local() || a.is_unspecified() || is_loopback(a))
                return decode_error(DecodeErrorKind::bad_option_value, i + 2, 0,
                             "Home Address " + a.to_string() + " is not a unicast routable address");
            out.home_address = HomeAddressOption{a};
        } else if (t != 1 && (t & 0xc0) != 0) {
            // RFC 8200 sec. 4.2: action bits 01/10/11 mean discard (10 and
            // 11 also ask for ICMP Parameter Problem code 2).
            return decode_error(DecodeErrorKind::bad_extension_header, i, t,
                         "unrecognized destination option type " + std::to_string(t) +
                             " whose action is to discard the packet",
                         (t & 0xc0) == 0x40 ? ReceiverReaction::silently_discard
                                            : ReceiverReaction::discard_send_icmp_parameter_problem);
        }
        i += 2 + size_t{len};
    }
    return out;
}

std::vector<uint8_t> encode_type2_routing_header(const Type2RoutingHeader& rh) {
    std::vector<uint8_t> o;
    o.reserve(24);
    put8(o, rh.next_header);
    put8(o, 2);  // Hdr Ext Len
    put8(o, routing_type_2);
    put8(o, rh.segments_left);
    put32(o, 0);
    put_v6(o, rh.home_address);
    return o;
}

Result<Type2RoutingHeader> decode_type2_routing_header(std::span<const uint8_t> b) {
    if (b.size() < 24)
        return decode_error(DecodeErrorKind::truncated, 0, static_cast<uint32_t>(b.size()),
                     "type 2 routing header needs 24 octets, " + std::to_string(b.size()) + " left");
    if (b[2] != routing_type_2)
        return decode_error(DecodeErrorKind::bad_extension_header, 2, b[2],
                     "Routing Type " + std::to_string(b[2]) + " is not 2",
                     ReceiverReaction::discard_send_icmp_parameter_problem);
    if (b[1] != 2)
        return decode_error(DecodeErrorKind::bad_extension_header, 1, b[1],
                     "type 2 routing header Hdr Ext Len " + std::to_string(b[1]) + " is not 2");
    if (b[3] > 1)
        return decode_error(DecodeErrorKind::bad_extension_header, 3, b[3],
                     "type 2 routing header Segments Left " + std::to_string(b[3]) + " exceeds 1");
    return Type2RoutingHeader{b[0], b[3], get_v6(b.data() + 8)};
}

PseudoHeader MhPacket::pseudo_header() const {
    return PseudoHeader{home_address ? home_address->home_address : source,
                        routing_header ? routing_header->home_address : destination};
}

Result<std::vector<uint8_t>> encode_packet(const MhPacket& p) {
    auto mh = encode(p.message, {p.pseudo_header()});
    if (!mh) return mh.error();
    std::vector<uint8_t> o;
    o.reserve(ipv6_header_octets + 48 + mh->size());
    const uint8_t first_next =
        p.routing_header ? ip_proto_routing
                         : p.home_address ? ip_proto_destination_options : ip_proto_mobility_header;
    put32(o, 0x60000000);  // version 6, traffic class 0, flow label 0
    put16(o, 0);           // Payload Length, set below
    put8(o, first_next);
    put8(o, p.hop_limit);
    put_v6(o, p.source);
    put_v6(o, p.destination);
    if (p.routing_header) {
        Type2RoutingHeader rh = *p.routing_header;
        rh.next_header = p.home_address ? ip_proto_destination_options : ip_proto_mobility_header;
        auto b = encode_type2_routing_header(rh);
        o.insert(o.end(), b.begin(), b.end());
    }
    if (p.home_address) {
        auto b = encode_home_address_destination_options(ip_proto_mobility_header, *p.home_address);
        o.insert(o.end(), b.begin(), b.end());
    }
    o.insert(o.end(), mh->begin(), mh->end());
    set16(o, 4, static_cast<uint16_t>(o.size() - ipv6_header_octets));
    return o;
}

Result<DecodedPacket> decode_packet(std::span<const uint8_t> b, bool strict) {
    if (b.size() < ipv6_header_octets)
        return decode_error(DecodeErrorKind::truncated, b.size(), static_cast<uint32_t>(b.size()),
                     "IPv6 packet of " + std::to_string(b.size()) + " octets is shorter than its header");
    if ((b[0] >> 4) != 6)
        return decode_error(DecodeErrorKind::bad_ipv6_header, 0, b[0] >> 4,
                     "IP version " + std::to_string(b[0] >> 4) + " is not 6");
    const size_t payload = get16(b.data() + 4);
    if (ipv6_header_octets + payload > b.size())
        return decode_error(DecodeErrorKind::bad_ipv6_header, 4, static_cast<uint32_t>(payload),
                     "Payload Length " + std::to_string(payload) + " runs past the " +
                         std::to_string(b.size()) + "-octet packet");
    const auto pkt = b.first(ipv6_header_octets + payload);
    DecodedPacket out;
    out.packet.hop_limit = b[7];
    out.packet.source = get_v6(b.data() + 8);
    out.packet.destination = get_v6(b.data() + 24);
    uint8_t next = b[6];
    size_t off = ipv6_header_octets;
    size_t next_field = 6;  // where the current Next Header value sits
    for (;;) {
        if (next == ip_proto_routing && !out.packet.routing_header && !out.packet.home_address) {
            auto rh = decode_type2_routing_header(pkt.subspan(off));
            if (!rh) {
                DecodeError e = rh.error();
                e.offset += off;
                return e;
            }
            out.packet.routing_header = rh.value();
            next_field = off;
            next = rh->next_header;
            off += 24;
        } else if (next == ip_proto_destination_options && !out.packet.home_address) {
            auto d = decode_destination_options(pkt.subspan(off), strict);
            if (!d) {
                DecodeError e = d.error();
                e.offset += off;
                return e;
            }
            if (!d->home_address)
                return decode_error(DecodeErrorKind::bad_extension_header, off, 0,
                             "Destination Options header before the MH carries no Home Address option");
            out.packet.home_address = d->home_address;
            next_field = off;
            next = d->next_header;
            off += d->length;
        } else if (next == ip_proto_mobility_header) {
            break;
        } else {
            return decode_error(DecodeErrorKind::bad_ipv6_header, next_field, next,
                         "Next Header " + std::to_string(next) + " at offset " + std::to_string(off) +
                             " is not a header expected before a Mobility Header");
        }
    }
    out.mh_offset = off;
    auto m = decode(pkt.subspan(off), {out.packet.pseudo_header(), strict});
    if (!m) {
        DecodeError e = m.error();
        e.offset += off;
        return e;
    }
    out.header = m->header;
    out.packet.message = std::move(m.value().message);
    return out;
}

std::array<uint8_t, udp_tlv_header_octets> encode_udp_tlv_header(const UdpTlvHeader& tlv) {
    // RFC 5845 sec. 7.2: Type 0 and Reserved 0 share the first octet.
    return {0, tlv.next_header, static_cast<uint8_t>(tlv.length >> 8), static_cast<uint8_t>(tlv.length)};
}

Result<UdpTlvHeader> decode_udp_tlv_header(std::span<const uint8_t> p) {
    if (p.size() < udp_tlv_header_octets)
        return decode_error(DecodeErrorKind::bad_udp_encapsulation, 0, static_cast<uint32_t>(p.size()),
                            "UDP payload of " + std::to_string(p.size()) +
                                " octets has no room for the 4-octet TLV header");
    if ((p[0] >> 4) != 0)
        return decode_error(DecodeErrorKind::bad_udp_encapsulation, 0, p[0] >> 4,
                            "TLV header Type " + std::to_string(p[0] >> 4) + " is not 0");
    // Reserved (low nibble of octet 0) is ignored (RFC 5845 sec. 7.2).
    UdpTlvHeader h{p[1], get16(p.data() + 2)};
    // RFC 5845 sec. 7.1: a Length that disagrees with the UDP length means discard.
    if (h.length != p.size() - udp_tlv_header_octets)
        return decode_error(DecodeErrorKind::bad_udp_encapsulation, 2, h.length,
                            "TLV header Length " + std::to_string(h.length) + " disagrees with the " +
                                std::to_string(p.size() - udp_tlv_header_octets) + " octets that follow");
    return h;
}

Result<std::vector<uint8_t>> encode_udp_payload(const MhPacket& packet, UdpPayloadFormat format) {
    if (format == UdpPayloadFormat::tlv_header && std::holds_alternative<BindingUpdate>(packet.message))
        return decode_error(DecodeErrorKind::unencodable, 0, static_cast<uint32_t>(MhType::binding_update),
                            "a Binding Update is always sent without the TLV header (RFC 5555 sec. 4.1)");
    auto inner = encode_packet(packet);
    if (!inner || format == UdpPayloadFormat::ip_packet) return inner;
    if (inner->size() > 0xffff)
        return decode_error(DecodeErrorKind::unencodable, 0, static_cast<uint32_t>(inner->size()),
                            "packet of " + std::to_string(inner->size()) +
                                " octets does not fit the 16-bit TLV header Length");
    std::vector<uint8_t> o;
    o.reserve(udp_tlv_header_octets + inner->size());
    const auto h = encode_udp_tlv_header({ip_proto_ipv6, static_cast<uint16_t>(inner->size())});
    o.insert(o.end(), h.begin(), h.end());
    o.insert(o.end(), inner->begin(), inner->end());
    return o;
}

Result<UdpEncapsulated> decode_udp_payload(std::span<const uint8_t> payload, bool tlv_header_agreed) {
    if (payload.empty())
        return decode_error(DecodeErrorKind::bad_udp_encapsulation, 0, 0, "empty UDP payload");
    UdpEncapsulated out;
    size_t off = 0;
    const unsigned first_nibble = payload[0] >> 4;
    if (first_nibble == 0) {  // RFC 5845 sec. 7.1: TLV header Type 0
        if (!tlv_header_agreed)
            return decode_error(DecodeErrorKind::bad_udp_encapsulation, 0, 0,
                                "UDP payload starts with a TLV header, but the TLV-header format (T flag) "
                                "was not agreed");
        auto h = decode_udp_tlv_header(payload);
        if (!h) return h.error();
        if (h->next_header != ip_proto_ipv6)
            return decode_error(DecodeErrorKind::bad_udp_encapsulation, 1, h->next_header,
                                "TLV header Next Header " + std::to_string(h->next_header) +
                                    " is not 41 (IPv6), so no Mobility Header follows");
        out.tlv = *h;
        off = udp_tlv_header_octets;
        if (payload.size() > off && (payload[off] >> 4) != 6)
            return decode_error(DecodeErrorKind::bad_udp_encapsulation, off, payload[off] >> 4,
                                "TLV header announces IPv6 but IP version " +
                                    std::to_string(payload[off] >> 4) + " follows");
    } else if (first_nibble == 4) {  // RFC 5555 sec. 4.1: an IPv4 packet
        return decode_error(DecodeErrorKind::bad_udp_encapsulation, 0, first_nibble,
                            "UDP payload is an IPv4 packet, which carries no Mobility Header");
    } else if (first_nibble != 6) {
        return decode_error(DecodeErrorKind::bad_udp_encapsulation, 0, first_nibble,
                            "UDP payload starts with " + std::to_string(first_nibble) +
                                ", neither an IP version (4, 6) nor a TLV header (0)");
    }
    auto p = decode_packet(payload.subspan(off));
    if (!p) {
        DecodeError e = p.error();
        e.offset += off;
        return e;
    }
    out.inner = std::move(p).value();
    return out;
}

}  // namespace nemokey::mobility::mh
