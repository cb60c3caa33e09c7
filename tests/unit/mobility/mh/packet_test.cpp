// Home Address destination option, type 2 routing header, whole IPv6
// packets with an MH, and RFC 5555 UDP encapsulation.
#include <gtest/gtest.h>

#include "mobility/core/mh/packet.hpp"
#include "tests/unit/mobility/mh/test_util.hpp"

using namespace nemokey::mobility::mh;
using mh_test::hex;
using mh_test::v6;

namespace {

MhPacket bu_from_care_of_address() {
    MhPacket p;
    p.source = v6("2001:db8:ff::10");        // care-of address
    p.destination = v6("2001:db8:1::1");     // home agent
    p.home_address = HomeAddressOption{v6("2001:db8:1::100")};
    BindingUpdate bu;
    bu.sequence_number = 42;
    bu.acknowledge = bu.home_registration = true;
    bu.lifetime = 100;
    p.message = bu;
    return p;
}

MhPacket ba_to_care_of_address() {
    MhPacket p;
    p.source = v6("2001:db8:1::1");
    p.destination = v6("2001:db8:ff::10");
    p.routing_header = Type2RoutingHeader{0, 1, v6("2001:db8:1::100")};
    BindingAcknowledgement ba;
    ba.sequence_number = 42;
    ba.lifetime = 100;
    p.message = ba;
    return p;
}

}  // namespace

TEST(MhHomeAddressOption, GoldenDestinationOptionsHeader) {
    // RFC 6275 sec. 6.3: option type 201, length 16, at 8n+6 -> PadN(4) first.
    EXPECT_EQ(encode_home_address_destination_options(135, {v6("2001:db8:1::100")}),
              hex("87 02 | 01 02 0000 | c9 10 20010db8000100000000000000000100"));
    auto d = decode_destination_options(hex("87 02 | 01 02 0000 | c9 10 20010db8000100000000000000000100"), true);
    ASSERT_TRUE(d.ok()) << d.error().message();
    EXPECT_EQ(d->next_header, 135);
    EXPECT_EQ(d->length, 24u);
    EXPECT_EQ(d->home_address->home_address, v6("2001:db8:1::100"));
}

TEST(MhHomeAddressOption, Malformed) {
    // Wrong option length.
    auto e = decode_destination_options(hex("87 02 | 01 02 0000 | c9 0f 20010db80001000000000000000001 00"));
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.error().kind, DecodeErrorKind::bad_option_length);
    EXPECT_EQ(e.error().offset, 7u);
    // Misaligned (8n+2) only in strict mode.
    const auto mis = hex("87 02 | c9 10 20010db8000100000000000000000100 | 01 02 0000");
    EXPECT_TRUE(decode_destination_options(mis).ok());
    EXPECT_EQ(decode_destination_options(mis, true).error().kind, DecodeErrorKind::misaligned_option);
    // Multicast home address.
    e = decode_destination_options(hex("87 02 | 01 02 0000 | c9 10 ff020000000000000000000000000001"));
    EXPECT_EQ(e.error().kind, DecodeErrorKind::bad_option_value);
    // Unknown option with action "discard + ICMP" (10xxxxxx).
    e = decode_destination_options(hex("87 00 | 80 02 0000 | 00 00"));
    EXPECT_EQ(e.error().kind, DecodeErrorKind::bad_extension_header);
    EXPECT_EQ(e.error().reaction, ReceiverReaction::discard_send_icmp_parameter_problem);
    // Unknown option with action "skip" (00xxxxxx) is skipped.
    EXPECT_TRUE(decode_destination_options(hex("87 00 | 1e 02 0000 | 00 00")).ok());
    // Header longer than the data.
    EXPECT_EQ(decode_destination_options(hex("87 05 | 01 04 0000 0000")).error().kind,
              DecodeErrorKind::bad_extension_header);
}

TEST(MhType2RoutingHeader, GoldenAndMalformed) {
    const auto golden = hex("87 02 02 01 | 00000000 | 20010db8000100000000000000000100");
    EXPECT_EQ(encode_type2_routing_header({135, 1, v6("2001:db8:1::100")}), golden);
    auto rh = decode_type2_routing_header(golden);
    ASSERT_TRUE(rh.ok());
    EXPECT_EQ(rh->home_address, v6("2001:db8:1::100"));
    EXPECT_EQ(rh->segments_left, 1);
    auto bad = golden;
    bad[1] = 3;
    EXPECT_EQ(decode_type2_routing_header(bad).error().offset, 1u);
    bad = golden;
    bad[2] = 0;
    EXPECT_EQ(decode_type2_routing_header(bad).error().offset, 2u);
    bad = golden;
    bad[3] = 2;
    EXPECT_EQ(decode_type2_routing_header(bad).error().offset, 3u);
    EXPECT_EQ(decode_type2_routing_header(hex("87 02 02 01")).error().kind, DecodeErrorKind::truncated);
}

TEST(MhPacket, BindingUpdateWithHomeAddressOption) {
    const auto p = bu_from_care_of_address();
    auto bytes = encode_packet(p);
    ASSERT_TRUE(bytes.ok());
    // IPv6 header: Next Header 60 (Destination Options), payload 24 + 16.
    EXPECT_EQ(bytes->size(), 40u + 24 + 16);
    EXPECT_EQ((*bytes)[6], 60);
    EXPECT_EQ((*bytes)[40], 135);
    auto d = decode_packet(*bytes, true);
    ASSERT_TRUE(d.ok()) << d.error().message();
    EXPECT_EQ(d->mh_offset, 64u);
    EXPECT_EQ(d->packet.message, p.message);
    EXPECT_EQ(d->packet.home_address, p.home_address);
    // The checksum covers the home address, not the care-of address
    // (RFC 6275 sec. 6.1.1).
    std::span<const uint8_t> mh(bytes->data() + 64, 16);
    EXPECT_EQ(mh_checksum(PseudoHeader{p.home_address->home_address, p.destination}, mh), 0);
    EXPECT_NE(mh_checksum(PseudoHeader{p.source, p.destination}, mh), 0);
}

TEST(MhPacket, BindingAckWithType2RoutingHeader) {
    const auto p = ba_to_care_of_address();
    auto bytes = encode_packet(p);
    ASSERT_TRUE(bytes.ok());
    EXPECT_EQ((*bytes)[6], 43);
    EXPECT_EQ((*bytes)[40], 135);
    auto d = decode_packet(*bytes);
    ASSERT_TRUE(d.ok()) << d.error().message();
    EXPECT_EQ(d->packet.message, p.message);
    EXPECT_EQ(d->packet.routing_header->home_address, v6("2001:db8:1::100"));
    std::span<const uint8_t> mh(bytes->data() + 64, 16);
    EXPECT_EQ(mh_checksum(PseudoHeader{p.source, v6("2001:db8:1::100")}, mh), 0);
}

TEST(MhPacket, OctetsAfterTheMobilityHeaderAreIgnored) {
    // RFC 8200 sec. 4.7: Payload Length may cover octets after the MH
    // (Payload Proto 59); they are ignored and the checksum, verified here
    // over the pseudo-header, covers Header Len's 16 octets only.
    const auto p = bu_from_care_of_address();
    auto bytes = encode_packet(p).value();
    bytes.insert(bytes.end(), {0xca, 0xfe, 0xba, 0xbe, 0x01});
    bytes[5] += 5;  // Payload Length 40 -> 45
    auto d = decode_packet(bytes, true);
    ASSERT_TRUE(d.ok()) << d.error().message();
    EXPECT_EQ(d->packet.message, p.message);
    EXPECT_EQ(d->header.header_len, 1);
    // Header Len past the Payload Length is still an error.
    bytes = encode_packet(p).value();
    bytes[64 + 1] = 2;
    EXPECT_EQ(decode_packet(bytes).error().kind, DecodeErrorKind::bad_header_length);
    EXPECT_EQ(decode_packet(bytes).error().offset, 65u);
}

TEST(MhPacket, ErrorsCountFromTheIpv6Header) {
    auto bytes = encode_packet(bu_from_care_of_address()).value();
    bytes[64 + 2] = 99;  // unknown MH Type
    auto e = decode_packet(bytes);
    ASSERT_FALSE(e.ok());
    // The checksum no longer verifies: silent discard comes first.
    EXPECT_EQ(e.error().kind, DecodeErrorKind::bad_checksum);
    EXPECT_EQ(e.error().offset, 64u + 4);
    // With a payload proto error and a fixed checksum the pointer is 64.
    auto p = bu_from_care_of_address();
    bytes = encode_packet(p).value();
    bytes[64] = 17;
    std::vector<uint8_t> mh(bytes.begin() + 64, bytes.end());
    mh[4] = mh[5] = 0;
    const uint16_t c = mh_checksum(p.pseudo_header(), mh);
    bytes[68] = static_cast<uint8_t>(c >> 8);
    bytes[69] = static_cast<uint8_t>(c);
    e = decode_packet(bytes);
    EXPECT_EQ(e.error().kind, DecodeErrorKind::bad_payload_proto);
    EXPECT_EQ(e.error().offset, 64u);
    // Not IPv6, short, wrong Payload Length, other upper layer.
    auto v4 = bytes;
    v4[0] = 0x45;
    EXPECT_EQ(decode_packet(v4).error().kind, DecodeErrorKind::bad_ipv6_header);
    EXPECT_EQ(decode_packet(std::span(bytes).first(39)).error().kind, DecodeErrorKind::truncated);
    auto longer = bytes;
    longer[5] += 8;
    EXPECT_EQ(decode_packet(longer).error().offset, 4u);
    auto udp = bytes;
    udp[40] = 17;  // DOH's next header: UDP
    EXPECT_EQ(decode_packet(udp).error().kind, DecodeErrorKind::bad_ipv6_header);
    EXPECT_EQ(decode_packet(udp).error().offset, 40u);
}

TEST(MhUdpEncapsulation, PlainFormatIsTheIpPacketItself) {
    // RFC 5555 sec. 4.1: UDP header, then the IP packet; nothing between.
    const auto p = bu_from_care_of_address();
    auto plain = encode_udp_payload(p);
    ASSERT_TRUE(plain.ok()) << plain.error().message();
    EXPECT_EQ(plain.value(), encode_packet(p).value());
    EXPECT_EQ((*plain)[0] >> 4, 6);  // the receiver reads the IP version nibble
    EXPECT_EQ(encode_udp_payload(p, UdpPayloadFormat::ip_packet).value(), plain.value());
    for (bool agreed : {false, true}) {
        auto d = decode_udp_payload(*plain, agreed);
        ASSERT_TRUE(d.ok()) << d.error().message();
        EXPECT_FALSE(d->tlv.has_value());
        EXPECT_EQ(d->inner.packet.message, p.message);
        EXPECT_EQ(d->inner.mh_offset, 64u);
    }
}

TEST(MhUdpEncapsulation, GoldenTlvHeader) {
    // RFC 5845 sec. 7.2, Figure 6: Type (4 bits) = 0, Reserved (4 bits),
    // Next Header (8 bits), Length (16 bits) of the octets after the header.
    auto bytes = [](const UdpTlvHeader& h) {
        const auto a = encode_udp_tlv_header(h);
        return std::vector<uint8_t>(a.begin(), a.end());
    };
    EXPECT_EQ(bytes({41, 0x0050}), hex("00 29 0050"));
    EXPECT_EQ(bytes({47, 0x1234}), hex("00 2f 1234"));  // a GRE payload (RFC 5845 Figure 5)
    // Reserved is ignored on receipt; Next Header is reported as read.
    auto h = decode_udp_tlv_header(hex("0f 29 0004 | 60000000"));
    ASSERT_TRUE(h.ok()) << h.error().message();
    EXPECT_EQ(*h, (UdpTlvHeader{41, 4}));
    h = decode_udp_tlv_header(hex("00 2f 0002 | 0000"));
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(h->next_header, 47);
    // Type nibble not 0.
    EXPECT_EQ(decode_udp_tlv_header(hex("10 29 0004 | 60000000")).error().offset, 0u);
    // RFC 5845 sec. 7.1: Length disagreeing with the UDP length -> discard.
    auto e = decode_udp_tlv_header(hex("00 29 0005 | 60000000"));
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.error().kind, DecodeErrorKind::bad_udp_encapsulation);
    EXPECT_EQ(e.error().offset, 2u);
    EXPECT_EQ(e.error().value, 5u);
    EXPECT_EQ(decode_udp_tlv_header(hex("00 29 00")).error().kind, DecodeErrorKind::bad_udp_encapsulation);
}

TEST(MhUdpEncapsulation, TlvHeaderFormat) {
    const auto p = ba_to_care_of_address();
    const auto packet = encode_packet(p).value();
    auto tlv = encode_udp_payload(p, UdpPayloadFormat::tlv_header);
    ASSERT_TRUE(tlv.ok()) << tlv.error().message();
    ASSERT_EQ(tlv->size(), packet.size() + 4);
    // 00 | 29 (IPv6) | Length = the packet's size (80 octets: 40 + RH2 24 + MH 16).
    EXPECT_EQ(std::vector<uint8_t>(tlv->begin(), tlv->begin() + 4), hex("00 29 0050"));
    EXPECT_EQ(std::vector<uint8_t>(tlv->begin() + 4, tlv->end()), packet);
    auto d = decode_udp_payload(*tlv, true);
    ASSERT_TRUE(d.ok()) << d.error().message();
    ASSERT_TRUE(d->tlv.has_value());
    EXPECT_EQ(*d->tlv, (UdpTlvHeader{41, 80}));
    EXPECT_EQ(d->inner.packet.message, p.message);
    // Not agreed (T flag): a TLV header is refused.
    auto e = decode_udp_payload(*tlv, false);
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.error().kind, DecodeErrorKind::bad_udp_encapsulation);
    EXPECT_EQ(e.error().offset, 0u);

    // RFC 5555 sec. 4.1: the BU always goes without the TLV header ...
    auto bu = encode_udp_payload(bu_from_care_of_address(), UdpPayloadFormat::tlv_header);
    ASSERT_FALSE(bu.ok());
    EXPECT_EQ(bu.error().kind, DecodeErrorKind::unencodable);
    // ... but one received behind a TLV header is still read when agreed.
    auto bu_packet = encode_packet(bu_from_care_of_address()).value();
    auto with_tlv = hex("00 29 0050");  // 40 + Destination Options 24 + MH 16
    with_tlv.insert(with_tlv.end(), bu_packet.begin(), bu_packet.end());
    ASSERT_EQ(bu_packet.size(), 0x50u);
    d = decode_udp_payload(with_tlv, true);
    ASSERT_TRUE(d.ok()) << d.error().message();
    EXPECT_EQ(d->inner.packet.message, bu_from_care_of_address().message);
}

TEST(MhUdpEncapsulation, Malformed) {
    const auto tlv = encode_udp_payload(ba_to_care_of_address(), UdpPayloadFormat::tlv_header).value();
    auto kind_offset = [](std::span<const uint8_t> b, bool agreed) {
        auto r = decode_udp_payload(b, agreed);
        EXPECT_FALSE(r.ok());
        return r.ok() ? std::pair{DecodeErrorKind::truncated, size_t{9999}}
                      : std::pair{r.error().kind, r.error().offset};
    };
    const auto udp = DecodeErrorKind::bad_udp_encapsulation;
    EXPECT_EQ(kind_offset({}, true), std::pair(udp, size_t{0}));
    EXPECT_EQ(kind_offset(hex("00 29"), true), std::pair(udp, size_t{0}));  // short TLV header
    // An IPv4 packet (RFC 5555 sec. 4.1 allows one, but it carries no MH).
    EXPECT_EQ(kind_offset(hex("45 00 0014 0000 0000 4011 0000 c0000201 c0000202"), true),
              std::pair(udp, size_t{0}));
    // First nibble neither 0, 4 nor 6.
    auto bad = tlv;
    bad[0] = 0x90;
    EXPECT_EQ(kind_offset(bad, true), std::pair(udp, size_t{0}));
    // TLV Length off by one.
    bad = tlv;
    bad[3] ^= 1;
    EXPECT_EQ(kind_offset(bad, true), std::pair(udp, size_t{2}));
    // TLV Next Header 47 (GRE): no MH follows.
    bad = tlv;
    bad[1] = 47;
    EXPECT_EQ(kind_offset(bad, true), std::pair(udp, size_t{1}));
    // Next Header 41 but an IPv4 version nibble after it.
    bad = tlv;
    bad[4] = 0x45;
    EXPECT_EQ(kind_offset(bad, true), std::pair(udp, size_t{4}));
    // An error inside the packet counts from the start of the UDP payload.
    bad = tlv;
    bad[4 + 64 + 2] = 99;  // MH Type; the checksum no longer verifies
    EXPECT_EQ(kind_offset(bad, true), std::pair(DecodeErrorKind::bad_checksum, size_t{4 + 64 + 4}));
}
