// Golden vectors (built by hand from the RFC layouts), round trips and every
// malformed-input class of the Mobility Header codec.
#include <gtest/gtest.h>

#include "mobility/core/mh/codec.hpp"
#include "tests/unit/mobility/mh/test_util.hpp"

using namespace nemokey::mobility::mh;
using mh_test::hex;
using mh_test::v4;
using mh_test::v6;

namespace {

const PseudoHeader kPseudo{v6("2001:db8:1::100"), v6("2001:db8:1::1")};

std::vector<uint8_t> enc(const Message& m, EncodeOptions o = {}) {
    auto r = encode(m, o);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
    return r.ok() ? r.value() : std::vector<uint8_t>{};
}

DecodedMessage dec(const std::vector<uint8_t>& b, DecodeOptions o = {}) {
    auto r = decode(b, o);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
    return r.ok() ? r.value() : DecodedMessage{};
}

DecodeError dec_err(const std::vector<uint8_t>& b, DecodeOptions o = {}) {
    auto r = decode(b, o);
    EXPECT_FALSE(r.ok());
    return r.ok() ? DecodeError{} : r.error();
}

void expect_round_trip(const Message& m) {
    auto bytes = enc(m, {kPseudo});
    ASSERT_EQ(bytes.size() % 8, 0u);
    ASSERT_EQ(bytes[1], bytes.size() / 8 - 1);
    auto d = dec(bytes, {kPseudo});
    EXPECT_EQ(d.message, m);
    EXPECT_EQ(mh_checksum(kPseudo, bytes), 0);
}

}  // namespace

// ---------- golden vectors ----------

TEST(MhGolden, BindingUpdateFlagsAndPadN) {
    BindingUpdate bu;
    bu.sequence_number = 0x1234;
    bu.acknowledge = bu.home_registration = bu.key_management_mobility_capability = true;
    bu.mobile_router = true;
    bu.lifetime = 150;
    // RFC 6275 sec. 6.1.7: 12 octets of message, PadN(2) to 16; A H K R = 0xd400.
    EXPECT_EQ(enc(bu), hex("3b 01 05 00 0000 | 1234 d400 0096 | 01 02 0000"));
    // Checksum computed independently (Python) over the RFC 8200 pseudo-header.
    EXPECT_EQ(enc(bu, {kPseudo}), hex("3b 01 05 00 7b25 | 1234 d400 0096 | 01 02 0000"));
    EXPECT_EQ(bu.lifetime_seconds().count(), 600);
}

TEST(MhGolden, EveryBindingUpdateFlagBit) {
    const std::pair<bool BindingUpdate::*, uint16_t> flags[] = {
        {&BindingUpdate::acknowledge, 0x8000},
        {&BindingUpdate::home_registration, 0x4000},
        {&BindingUpdate::link_local_address_compatibility, 0x2000},
        {&BindingUpdate::key_management_mobility_capability, 0x1000},
        {&BindingUpdate::map_registration, 0x0800},
        {&BindingUpdate::mobile_router, 0x0400},
        {&BindingUpdate::proxy_registration, 0x0200},
        {&BindingUpdate::force_udp_encapsulation, 0x0100},
        {&BindingUpdate::tlv_header_format, 0x0080},
        {&BindingUpdate::overwrite, 0x0040},  // O, RFC 5648 sec. 4.2 (B needs P, below)
    };
    for (auto [member, mask] : flags) {
        BindingUpdate bu;
        bu.*member = true;
        auto b = enc(bu);
        EXPECT_EQ((b[8] << 8) | b[9], mask);
        EXPECT_EQ(std::get<BindingUpdate>(dec(b).message), bu);
    }
}

TEST(MhGolden, OverwriteFlagAndBulkFlagShareABit) {
    // RFC 5648 sec. 4.2, Figure 4: |A|H|L|K|M|R|P|F|T|O| Reserved (6) |.
    // A home registration BU with O, sequence 7, lifetime 100, one BID.
    BindingUpdate bu;
    bu.sequence_number = 7;
    bu.acknowledge = bu.home_registration = bu.overwrite = true;
    bu.lifetime = 100;
    bu.options = {BindingIdentifier{1, BindingAckStatus::accepted, false, 0, std::nullopt}};
    const auto golden = hex("3b 02 05 00 0000 | 0007 c040 0064 | 23 04 0001 00 00 | 01 04 00000000");
    EXPECT_EQ(enc(bu), golden);
    const auto d = dec(golden);
    const auto& back = std::get<BindingUpdate>(d.message);
    EXPECT_TRUE(back.overwrite);
    EXPECT_FALSE(back.bulk_binding_update);
    EXPECT_EQ(back, bu);
    // With P the same bit is RFC 6602's B.
    const auto dp = dec(hex("3b 01 05 00 0000 | 0007 0240 0064 | 01 02 0000"));
    const auto& proxy = std::get<BindingUpdate>(dp.message);
    EXPECT_TRUE(proxy.proxy_registration);
    EXPECT_TRUE(proxy.bulk_binding_update);
    EXPECT_FALSE(proxy.overwrite);
    BindingUpdate pb;
    pb.proxy_registration = pb.bulk_binding_update = true;
    EXPECT_EQ((enc(pb)[8] << 8) | enc(pb)[9], 0x0240);
    // The two mixes that have no wire form.
    BindingUpdate b_without_p;
    b_without_p.bulk_binding_update = true;
    EXPECT_EQ(encode(b_without_p).error().kind, DecodeErrorKind::unencodable);
    BindingUpdate o_with_p;
    o_with_p.overwrite = o_with_p.proxy_registration = true;
    EXPECT_EQ(encode(o_with_p).error().kind, DecodeErrorKind::unencodable);
}

TEST(MhGolden, EveryBindingAckFlagBit) {
    const std::pair<bool BindingAcknowledgement::*, uint8_t> flags[] = {
        {&BindingAcknowledgement::key_management_mobility_capability, 0x80},
        {&BindingAcknowledgement::mobile_router, 0x40},
        {&BindingAcknowledgement::proxy_registration, 0x20},
        {&BindingAcknowledgement::tlv_header_format, 0x10},
        {&BindingAcknowledgement::bulk_binding_update, 0x08},
    };
    for (auto [member, mask] : flags) {
        BindingAcknowledgement ba;
        ba.*member = true;
        auto b = enc(ba);
        EXPECT_EQ(b[7], mask);
        EXPECT_EQ(std::get<BindingAcknowledgement>(dec(b).message), ba);
    }
}

TEST(MhGolden, BindingAckWithRefreshAdvice) {
    BindingAcknowledgement ba;
    ba.status = BindingAckStatus::sequence_number_out_of_window;
    ba.key_management_mobility_capability = true;
    ba.sequence_number = 7;
    ba.options.push_back(BindingRefreshAdvice{15});
    // Status 135 = 0x87; BRA (2n) at offset 12 needs no padding, ends at 16.
    EXPECT_EQ(enc(ba), hex("3b 01 06 00 0000 | 87 80 0007 0000 | 02 02 000f"));
    EXPECT_FALSE(is_accepted(ba.status));
    EXPECT_TRUE(is_accepted(BindingAckStatus::accepted_prefix_discovery_necessary));
}

TEST(MhGolden, MobileNetworkPrefixIs8nPlus4) {
    BindingUpdate bu;
    bu.sequence_number = 1;
    bu.mobile_router = true;
    bu.options.push_back(MobileNetworkPrefix{64, v6("2001:db8:1:2::")});
    // RFC 3963 sec. 4.3: 8n+4; offset 12 already fits, the option ends at 32.
    const auto b = enc(bu);
    EXPECT_EQ(b, hex("3b 03 05 00 0000 | 0001 0400 0000 |"
                     "06 12 00 40 20010db8000100020000000000000000"));
    const auto d = std::get<BindingUpdate>(dec(b).message);
    ASSERT_NE(find_option<MobileNetworkPrefix>(d.options), nullptr);
    EXPECT_EQ(find_option<MobileNetworkPrefix>(d.options)->as_prefix().to_string(), "2001:db8:1:2::/64");
}

TEST(MhGolden, AlternateCareOfAddressIs8nPlus6) {
    BindingUpdate bu;
    bu.options.push_back(AlternateCareOfAddress{v6("2001:db8:ff::1")});
    // 8n+6: PadN(2) at 12, option at 14, ends at 32.
    EXPECT_EQ(enc(bu), hex("3b 03 05 00 0000 | 0000 0000 0000 | 01 00 |"
                           "03 10 20010db800ff00000000000000000001"));
}

TEST(MhGolden, NonceIndicesThenAuthorizationData) {
    BindingUpdate bu;
    bu.sequence_number = 9;
    bu.acknowledge = true;
    bu.lifetime = 105;
    bu.options.push_back(NonceIndices{0x0102, 0x0304});
    bu.options.push_back(BindingAuthorizationData{hex("a0a1a2a3a4a5a6a7a8a9aaab")});
    // Nonce Indices (2n) at 12 -> 18 = 8*2+2, so BAD (8n+2) follows directly.
    EXPECT_EQ(enc(bu), hex("3b 03 05 00 0000 | 0009 8000 0069 | 04 04 0102 0304 |"
                           "05 0c a0a1a2a3a4a5a6a7a8a9aaab"));
}

TEST(MhGolden, Pad1WhenOneOctetIsMissing) {
    BindingUpdate bu;
    // NAT Detection (4n) at 12 -> 20; BRA (2n) -> 24; an unknown option with
    // one data octet -> 27; the next BRA needs 2n: Pad1, BRA at 28 -> 32.
    bu.options.push_back(NatDetection{true, 0x01020304});
    bu.options.push_back(BindingRefreshAdvice{1});
    bu.options.push_back(UnknownMobilityOption{200, {0xee}});
    bu.options.push_back(BindingRefreshAdvice{2});
    EXPECT_EQ(enc(bu), hex("3b 03 05 00 0000 | 0000 0000 0000 | 1f 06 8000 01020304 |"
                           "02 02 0001 | c8 01 ee | 00 | 02 02 0002"));
}

TEST(MhGolden, BindingIdentifierAndDsmip6Options) {
    BindingUpdate bu;
    bu.force_udp_encapsulation = true;
    bu.options.push_back(Ipv4HomeAddress{24, true, v4("192.0.2.10")});
    bu.options.push_back(Ipv4CareOfAddress{v4("198.51.100.7")});
    BindingIdentifier bid;
    bid.binding_id = 3;
    bid.simultaneous_home_and_foreign = true;
    bid.bid_priority = 5;
    bid.care_of_address = v6("2001:db8:aa::2");
    bu.options.push_back(bid);
    // IPv4 HoA (4n) at 12: Prefix-len 24 << 10 | P = 0x6200; IPv4 CoA (4n)
    // at 20 -> 28; BID with an IPv6 CoA at 8n+2: PadN(6), BID at 34 -> 56.
    EXPECT_EQ(enc(bu), hex("3b 06 05 00 0000 | 0000 0100 0000 |"
                           "1d 06 6200 c000020a | 20 06 0000 c6336407 | 01 04 00000000 |"
                           "23 14 0003 00 85 20010db800aa00000000000000000002"));
}

TEST(MhGolden, BindingIdentifierAlignment) {
    // RFC 5648 sec. 4.3: 2n without a care-of address, 8n+2 with one, IPv4
    // or IPv6 alike. IPv4 CoA: options start at 12, PadN(6) to 18, BID
    // (length 8) to 28, PadN(4) to 32.
    BindingUpdate bu;
    bu.options.push_back(BindingIdentifier{2, BindingAckStatus::accepted, false, 0,
                                           nemokey::net::IpAddress{v4("198.51.100.9")}});
    EXPECT_EQ(enc(bu), hex("3b 03 05 00 0000 | 0000 0000 0000 | 01 04 00000000 |"
                           "23 08 0002 00 00 c6336409 | 01 02 0000"));
    EXPECT_EQ(alignment_of(bu.options[0]).x, 8);
    EXPECT_EQ(alignment_of(bu.options[0]).y, 2);
    // No CoA: 2n, so the option follows the fixed part at 12 directly.
    bu.options = {BindingIdentifier{7, BindingAckStatus::accepted, true, 0, std::nullopt}};
    EXPECT_EQ(enc(bu), hex("3b 02 05 00 0000 | 0000 0000 0000 | 23 04 0007 00 80 | 01 04 00000000"));
}

TEST(MhGolden, BindingErrorAndTestMessages) {
    EXPECT_EQ(enc(BindingError{BindingErrorStatus::unrecognized_mh_type_value, v6("2001:db8::5"), {}}),
              hex("3b 02 07 00 0000 | 02 00 20010db8000000000000000000000005"));
    EXPECT_EQ(enc(BindingRefreshRequest{}), hex("3b 00 00 00 0000 0000"));
    EXPECT_EQ(enc(HomeTestInit{0x1122334455667788ull, {}}), hex("3b 01 01 00 0000 0000 1122334455667788"));
    EXPECT_EQ(enc(CareOfTestInit{0x8877665544332211ull, {}}), hex("3b 01 02 00 0000 0000 8877665544332211"));
    EXPECT_EQ(enc(HomeTest{0xabcd, 1, 2, {}}), hex("3b 02 03 00 0000 abcd 0000000000000001 0000000000000002"));
    EXPECT_EQ(enc(CareOfTest{0x0102, 3, 4, {}}), hex("3b 02 04 00 0000 0102 0000000000000003 0000000000000004"));
}

TEST(MhGolden, FlowOptions) {
    BindingUpdate bu;
    bu.options.push_back(FlowSummary{{1, 2}});
    FlowIdentification fid;
    fid.flow_id = 1;
    fid.flow_id_priority = 10;
    fid.status = FlowBindingStatus::bid_not_found;
    fid.sub_options.push_back(FlowBindingReference{{4, 5}});
    fid.sub_options.push_back(FlowTrafficSelector{2, hex("aabb")});
    bu.options.push_back(fid);
    // Flow Summary (44) at 12 -> 18; Flow Identification (45, 2n) at 18:
    // 6 + Binding Reference (2+4) + Traffic Selector (2+4) = 18 -> 38; PadN(2).
    EXPECT_EQ(enc(bu), hex("3b 04 05 00 0000 | 0000 0000 0000 | 2c 04 0001 0002 |"
                           "2d 12 0001 000a 00 83 | 02 04 0004 0005 | 03 04 02 00 aabb | 01 00"));
}

TEST(MhGolden, DecodesForeignPaddingChoices) {
    // Another sender may pad with a run of Pad1s instead of PadN.
    auto d = dec(hex("3b 01 05 00 0000 | 0005 8000 0010 | 00 00 00 00"));
    const auto& bu = std::get<BindingUpdate>(d.message);
    EXPECT_EQ(bu.sequence_number, 5);
    EXPECT_TRUE(bu.acknowledge);
    EXPECT_TRUE(bu.options.empty());
}

// ---------- round trips ----------

TEST(MhRoundTrip, EveryMessageAndOption) {
    using nemokey::net::IpAddress;
    const MobilityOptions all = {
        BindingRefreshAdvice{300},
        AlternateCareOfAddress{v6("2001:db8::a")},
        NonceIndices{1, 2},
        MobileNetworkPrefix{48, v6("2001:db8:100::")},
        MobileNetworkPrefix{56, v6("2001:db8:200::")},
        BindingIdentifier{1, BindingAckStatus::mcoa_notcomplete, false, 0, std::nullopt},
        BindingIdentifier{2, BindingAckStatus::accepted, true, 127, IpAddress{v4("192.0.2.1")}},
        BindingIdentifier{3, BindingAckStatus::mcoa_unknown_coa, false, 1, IpAddress{v6("2001:db8::3")}},
        FlowSummary{{7}},
        FlowIdentification{9, 1, FlowBindingStatus::flow_binding_successful,
                           {FlowUnknownSubOption{77, {1, 2, 3}}, FlowBindingReference{{1}}}},
        Ipv4HomeAddress{32, false, v4("192.0.2.99")},
        Ipv4AddressAcknowledgement{Ipv4AddressAckStatus::prefix_allocation_unauthorized, 30, v4("192.0.2.98")},
        NatDetection{false, 0xffffffff},
        Ipv4CareOfAddress{v4("203.0.113.5")},
        UnknownMobilityOption{99, {}},
        BindingAuthorizationData{std::vector<uint8_t>(12, 0x5a)},
    };
    BindingUpdate bu;
    bu.sequence_number = 65535;
    bu.lifetime = 65535;
    bu.home_registration = true;
    bu.options = all;
    expect_round_trip(bu);
    BindingAcknowledgement ba;
    ba.status = BindingAckStatus::forwarding_setup_failed;
    ba.sequence_number = 1;
    ba.options = all;
    expect_round_trip(ba);
    expect_round_trip(BindingRefreshRequest{all});
    expect_round_trip(HomeTestInit{~0ull, all});
    expect_round_trip(CareOfTestInit{1, all});
    expect_round_trip(HomeTest{0xffff, 2, 3, all});
    expect_round_trip(CareOfTest{1, 4, 5, all});
    expect_round_trip(BindingError{BindingErrorStatus::unknown_binding_for_home_address_destination_option,
                                   v6("2001:db8::77"), all});
    // Every option also alone in each message type.
    for (const auto& o : all) {
        BindingUpdate one;
        one.options = {o};
        expect_round_trip(one);
        expect_round_trip(BindingRefreshRequest{{o}});
        expect_round_trip(HomeTest{1, 2, 3, {o}});
    }
}

TEST(MhRoundTrip, EncoderMeetsEveryAlignmentRule) {
    using nemokey::net::IpAddress;
    const MobilityOptions pool = {
        BindingRefreshAdvice{1}, AlternateCareOfAddress{}, NonceIndices{}, MobileNetworkPrefix{64, {}},
        NatDetection{}, UnknownMobilityOption{200, {1}},
        BindingIdentifier{1, {}, false, 0, IpAddress{v6("::1")}},
        BindingIdentifier{1, {}, false, 0, IpAddress{v4("1.2.3.4")}}, Ipv4CareOfAddress{},
        FlowSummary{{1, 2, 3}}, Ipv4HomeAddress{}, Ipv4AddressAcknowledgement{}};
    for (size_t rot = 0; rot < pool.size(); ++rot) {
        BindingUpdate bu;
        for (size_t i = 0; i < pool.size(); ++i) bu.options.push_back(pool[(i + rot) % pool.size()]);
        auto b = enc(bu);
        auto d = decode(b, {std::nullopt, /*strict_alignment=*/true});
        ASSERT_TRUE(d.ok()) << d.error().message();
        EXPECT_EQ(std::get<BindingUpdate>(d->message), bu);
        // Check each placement directly: walk the options and test xn+y.
        size_t i = 12;
        size_t k = 0;
        while (i < b.size()) {
            if (b[i] == 0) { ++i; continue; }
            if (b[i] != 1) {
                const Alignment a = alignment_of(bu.options[k++]);
                EXPECT_EQ(i % a.x, a.y) << "option type " << int(b[i]) << " at " << i;
            }
            i += 2 + b[i + 1];
        }
        EXPECT_EQ(k, bu.options.size());
    }
}

// ---------- malformed input ----------

TEST(MhMalformed, TooShort) {
    auto e = dec_err(hex("3b 00 00 00 00"));
    EXPECT_EQ(e.kind, DecodeErrorKind::truncated);
    EXPECT_EQ(e.reaction, ReceiverReaction::silently_discard);
    EXPECT_EQ(dec_err({}).kind, DecodeErrorKind::truncated);
}

TEST(MhMalformed, HeaderLenDisagreesWithPacket) {
    auto b = enc(BindingUpdate{});
    b[1] = 2;  // claims 24 octets, 16 present
    auto e = dec_err(b);
    EXPECT_EQ(e.kind, DecodeErrorKind::bad_header_length);
    EXPECT_EQ(e.offset, 1u);
    EXPECT_EQ(e.value, 2u);
    EXPECT_NE(e.message().find("Header Len 2"), std::string::npos) << e.message();
}

TEST(MhDecode, OctetsAfterHeaderLenAreIgnored) {
    // RFC 8200 sec. 4.7: octets after a header whose next header is 59 (the
    // MH's Payload Proto) are ignored. The MH is the 16 octets Header Len 1
    // declares, and the checksum covers those 16 only (RFC 6275 sec. 6.1.1).
    BindingUpdate bu;
    bu.sequence_number = 0x1234;
    bu.acknowledge = bu.home_registration = bu.key_management_mobility_capability = true;
    bu.mobile_router = true;
    bu.lifetime = 150;
    for (const char* trailing : {"de ad be ef 01 02 03 04", "ff ff ff", "00"}) {
        auto b = hex("3b 01 05 00 7b25 | 1234 d400 0096 | 01 02 0000");  // MhGolden.BindingUpdateFlagsAndPadN
        const auto extra = hex(trailing);
        b.insert(b.end(), extra.begin(), extra.end());
        auto d = decode(b, {kPseudo});
        ASSERT_TRUE(d.ok()) << trailing << ": " << d.error().message();
        EXPECT_EQ(d->header.header_len, 1);
        EXPECT_EQ(d->ignored_trailing_octets, extra.size());
        EXPECT_EQ(std::get<BindingUpdate>(d->message), bu);
        ASSERT_TRUE(decode(b, {kPseudo, true}).ok());
    }
    auto exact = dec(hex("3b 01 05 00 7b25 | 1234 d400 0096 | 01 02 0000"), {kPseudo});
    EXPECT_EQ(exact.ignored_trailing_octets, 0u);
    // A corrupted octet inside the MH still fails the checksum; one in the
    // ignored tail does not.
    auto b = hex("3b 01 05 00 7b25 | 1234 d400 0097 | 01 02 0000 | 0000");
    EXPECT_EQ(dec_err(b, {kPseudo}).kind, DecodeErrorKind::bad_checksum);
}

TEST(MhMalformed, HeaderLenBelowTypeMinimumAsksForIcmp) {
    // A BU in 8 octets: RFC 6275 sec. 9.2 -> ICMP Parameter Problem at Header Len.
    auto e = dec_err(hex("3b 00 05 00 0000 0001"));
    EXPECT_EQ(e.kind, DecodeErrorKind::bad_header_length);
    EXPECT_EQ(e.reaction, ReceiverReaction::discard_send_icmp_parameter_problem);
    EXPECT_EQ(e.offset, 1u);
    EXPECT_EQ(dec_err(hex("3b 01 03 00 0000 0000 0000000000000000")).kind, DecodeErrorKind::bad_header_length);
    EXPECT_EQ(dec_err(hex("3b 01 07 00 0000 0100 0000000000000000")).kind, DecodeErrorKind::bad_header_length);
    EXPECT_EQ(dec_err(hex("3b 00 01 00 0000 0000")).kind, DecodeErrorKind::bad_header_length);
    EXPECT_EQ(dec_err(hex("3b 00 06 00 0000 0000")).kind, DecodeErrorKind::bad_header_length);
    for (uint8_t t = 0; t < 8; ++t) EXPECT_TRUE(minimum_header_len(t).has_value());
    EXPECT_EQ(*minimum_header_len(0), 0);
    EXPECT_EQ(*minimum_header_len(5), 1);
    EXPECT_EQ(*minimum_header_len(7), 2);
}

TEST(MhMalformed, BadChecksumIsSilentlyDiscarded) {
    auto b = enc(BindingUpdate{}, {kPseudo});
    b[10] ^= 0x01;
    auto e = dec_err(b, {kPseudo});
    EXPECT_EQ(e.kind, DecodeErrorKind::bad_checksum);
    EXPECT_EQ(e.offset, 4u);
    EXPECT_EQ(e.reaction, ReceiverReaction::silently_discard);
    const auto good = enc(BindingUpdate{}, {kPseudo});
    EXPECT_EQ(dec_err(good, {PseudoHeader{v6("2001:db8:1::101"), kPseudo.destination}}).kind,
              DecodeErrorKind::bad_checksum);
    EXPECT_TRUE(decode(b).ok());  // not verified without addresses
}

TEST(MhMalformed, PayloadProtoOtherThan59) {
    auto e = dec_err(enc(BindingUpdate{}, {std::nullopt, 6}));
    EXPECT_EQ(e.kind, DecodeErrorKind::bad_payload_proto);
    EXPECT_EQ(e.offset, 0u);
    EXPECT_EQ(e.value, 6u);
    EXPECT_EQ(e.reaction, ReceiverReaction::discard_send_icmp_parameter_problem);
}

TEST(MhMalformed, UnknownMhTypeAsksForBindingErrorStatus2) {
    for (uint8_t t : {8, 16, 255}) {
        auto b = hex("3b 00 00 00 0000 0000");
        b[2] = t;
        auto e = dec_err(b);
        EXPECT_EQ(e.kind, DecodeErrorKind::unrecognized_mh_type);
        EXPECT_EQ(e.reaction, ReceiverReaction::discard_send_binding_error);
        EXPECT_EQ(e.binding_error_status, 2);
        EXPECT_EQ(e.value, t);
        EXPECT_EQ(e.offset, 2u);
    }
}

TEST(MhMalformed, BindingErrorReplyOnlyWhereTheRfcAsksForOne) {
    auto b = hex("3b 00 10 00 0000 0000");  // MH Type 16
    auto reply = binding_error_for(dec_err(b), v6("2001:db8:1::100"));
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->status, BindingErrorStatus::unrecognized_mh_type_value);
    EXPECT_EQ(reply->home_address, v6("2001:db8:1::100"));
    EXPECT_EQ(enc(*reply), hex("3b 02 07 00 0000 | 02 00 20010db8000100000000000000000100"));
    EXPECT_FALSE(binding_error_for(dec_err(hex("3b 00 05 00 0000 0001"))).has_value());
}

TEST(MhMalformed, OptionOverrun) {
    auto e = dec_err(hex("3b 01 05 00 0000 | 0000 0000 0000 | 02 0a 0000"));
    EXPECT_EQ(e.kind, DecodeErrorKind::option_overrun);
    EXPECT_EQ(e.offset, 13u);
    EXPECT_EQ(e.value, 10u);
    EXPECT_NE(e.message().find("Binding Refresh Advice"), std::string::npos) << e.message();
    e = dec_err(hex("3b 01 05 00 0000 | 0000 0000 0000 | 00 00 00 02"));  // no room for Length
    EXPECT_EQ(e.kind, DecodeErrorKind::option_overrun);
    EXPECT_EQ(e.offset, 15u);
    EXPECT_EQ(dec_err(hex("3b 01 05 00 0000 | 0000 0000 0000 | 01 03 0000")).kind,  // PadN
              DecodeErrorKind::option_overrun);
}

TEST(MhMalformed, KnownOptionWithWrongLength) {
    const char* cases[] = {
        "3b 01 05 00 0000 | 0000 0000 0000 | 02 01 00 00",  // BRA len 1
        "3b 01 05 00 0000 | 0000 0000 0000 | 04 02 0000",   // Nonce Indices len 2
        "3b 01 05 00 0000 | 0000 0000 0000 | 03 02 0000",   // ACoA len 2
        "3b 01 05 00 0000 | 0000 0000 0000 | 06 02 0000",   // MNP len 2
        "3b 01 05 00 0000 | 0000 0000 0000 | 23 02 0000",   // BID len 2
        "3b 01 05 00 0000 | 0000 0000 0000 | 1f 02 0000",   // NAT Detection len 2
        "3b 01 05 00 0000 | 0000 0000 0000 | 1d 02 0000",   // IPv4 HoA len 2
        "3b 01 05 00 0000 | 0000 0000 0000 | 1e 02 0000",   // IPv4 Ack len 2
        "3b 01 05 00 0000 | 0000 0000 0000 | 20 02 0000",   // IPv4 CoA len 2
        "3b 01 05 00 0000 | 0000 0000 0000 | 2c 01 00 00",  // Flow Summary odd
        "3b 01 05 00 0000 | 0000 0000 0000 | 2d 02 0000",   // Flow Identification short
    };
    for (const char* c : cases) {
        auto e = dec_err(hex(c));
        EXPECT_EQ(e.kind, DecodeErrorKind::bad_option_length) << c;
        EXPECT_EQ(e.offset, 13u) << c;
        EXPECT_NE(e.message().find("Option Length"), std::string::npos) << e.message();
    }
}

TEST(MhMalformed, FlowSubOptionErrors) {
    // Binding Reference claims 5 octets, 2 remain in the option.
    auto e = dec_err(hex("3b 02 05 00 0000 | 0000 0000 0000 | 2d 08 0001 0001 00 00 02 05 | 00 00"));
    EXPECT_EQ(e.kind, DecodeErrorKind::option_overrun);
    EXPECT_EQ(e.offset, 20u);
    // Binding Reference of odd length.
    e = dec_err(hex("3b 02 05 00 0000 | 0000 0000 0000 | 2d 09 0001 0001 00 00 02 01 aa | 00"));
    EXPECT_EQ(e.kind, DecodeErrorKind::bad_option_length);
    EXPECT_EQ(e.offset, 21u);
}

TEST(MhMalformed, OptionAfterAuthorizationData) {
    BindingUpdate bu;
    bu.options.push_back(BindingAuthorizationData{std::vector<uint8_t>(12, 1)});
    bu.options.push_back(BindingRefreshAdvice{1});
    auto e = dec_err(enc(bu));
    EXPECT_EQ(e.kind, DecodeErrorKind::option_after_authorization_data);
    EXPECT_EQ(e.value, 2u);
}

TEST(MhMalformed, MisalignedOnlyInStrictMode) {
    // ACoA at offset 12 (needs 8n+6): accepted by default, rejected strictly.
    auto b = hex("3b 03 05 00 0000 | 0000 0000 0000 | 03 10 20010db8000000000000000000000001 | 01 00");
    ASSERT_TRUE(decode(b).ok());
    auto e = dec_err(b, {std::nullopt, true});
    EXPECT_EQ(e.kind, DecodeErrorKind::misaligned_option);
    EXPECT_EQ(e.offset, 12u);
    EXPECT_NE(e.message().find("8n+6"), std::string::npos) << e.message();
}

TEST(MhMalformed, BindingIdentifierAlignmentInStrictMode) {
    // RFC 5648 sec. 4.3. A BID with an IPv4 CoA at 4n+2 (offset 14): fine
    // by default, misaligned strictly (needs 8n+2).
    auto b = hex("3b 03 05 00 0000 | 0000 0000 0000 | 01 00 | 23 08 0002 00 00 c6336409 | 01 06 000000000000");
    ASSERT_TRUE(decode(b).ok());
    auto e = dec_err(b, {std::nullopt, true});
    EXPECT_EQ(e.kind, DecodeErrorKind::misaligned_option);
    EXPECT_EQ(e.offset, 14u);
    EXPECT_NE(e.message().find("8n+2"), std::string::npos) << e.message();
    // The same BID at 8n+2 (offset 18) passes.
    EXPECT_TRUE(decode(hex("3b 03 05 00 0000 | 0000 0000 0000 | 01 04 00000000 |"
                           "23 08 0002 00 00 c6336409 | 01 02 0000"),
                       {std::nullopt, true})
                    .ok());
    // An IPv6 CoA at 2n but not 8n+2 (offset 12).
    b = hex("3b 04 05 00 0000 | 0000 0000 0000 | 23 14 0003 00 00 20010db800aa00000000000000000002 | 01 04 00000000");
    ASSERT_TRUE(decode(b).ok());
    EXPECT_EQ(dec_err(b, {std::nullopt, true}).offset, 12u);
    // Without a CoA only 2n is asked: offset 13 (after a Pad1) breaks it.
    b = hex("3b 02 05 00 0000 | 0000 0000 0000 | 00 | 23 04 0007 00 00 | 00 00 00 00 00");
    ASSERT_TRUE(decode(b).ok());
    e = dec_err(b, {std::nullopt, true});
    EXPECT_EQ(e.offset, 13u);
    EXPECT_NE(e.message().find("2n+0"), std::string::npos) << e.message();
}

TEST(MhMalformed, UnknownOptionsAreSkippedAndCounted) {
    auto d = dec(hex("3b 02 05 00 0000 | 0000 0000 0000 | 99 00 | 02 02 0004 | 01 04 00000000"));
    EXPECT_EQ(d.skipped_unknown_options, 1u);
    const auto& bu = std::get<BindingUpdate>(d.message);
    ASSERT_EQ(bu.options.size(), 2u);
    EXPECT_EQ(std::get<UnknownMobilityOption>(bu.options[0]).type, 0x99);
    EXPECT_EQ(find_option<BindingRefreshAdvice>(bu.options)->refresh_interval, 4);
}

TEST(MhEncode, RejectsValuesThatDoNotFit) {
    BindingUpdate bu;
    bu.options = {MobileNetworkPrefix{129, {}}};
    EXPECT_EQ(encode(bu).error().kind, DecodeErrorKind::unencodable);
    bu.options = {BindingIdentifier{1, {}, false, 128, std::nullopt}};
    EXPECT_FALSE(encode(bu).ok());
    bu.options = {Ipv4HomeAddress{64, false, {}}};
    EXPECT_FALSE(encode(bu).ok());
    bu.options = {Ipv4AddressAcknowledgement{{}, 64, {}}};
    EXPECT_FALSE(encode(bu).ok());
    bu.options = {FlowSummary{}};
    EXPECT_FALSE(encode(bu).ok());
    bu.options = {UnknownMobilityOption{1, {}}};
    EXPECT_FALSE(encode(bu).ok());
    bu.options = {UnknownMobilityOption{6, {}}};
    EXPECT_FALSE(encode(bu).ok());
    bu.options = {BindingAuthorizationData{std::vector<uint8_t>(256, 0)}};
    EXPECT_FALSE(encode(bu).ok());
    bu.options = {FlowIdentification{1, 1, {}, {FlowBindingReference{}}}};
    EXPECT_FALSE(encode(bu).ok());
    bu.options.assign(120, AlternateCareOfAddress{});  // > 2048 octets
    EXPECT_FALSE(encode(bu).ok());
}

TEST(MhChecksum, MatchesIndependentComputation) {
    auto b = hex("3b 01 05 00 0000 1234 d400 0096 01 02 0000");
    EXPECT_EQ(mh_checksum(kPseudo, b), 0x7b25);
    b[4] = 0x7b;
    b[5] = 0x25;
    EXPECT_EQ(mh_checksum(kPseudo, b), 0);
}
