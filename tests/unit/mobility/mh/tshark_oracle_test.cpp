// An independent decoder agrees with ours: every MH message kind and every
// option we encode is written to a pcap, decoded by Wireshark's dissector
// (tshark -T json), and checked for malformed / expert-error fields and for
// the same field values.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mobility/core/mh/packet.hpp"
#include "tests/unit/mobility/mh/pcap_writer.hpp"
#include "tests/unit/mobility/mh/test_util.hpp"

using namespace nemokey::mobility::mh;
using mh_test::v4;
using mh_test::v6;
using nemokey::net::IpAddress;

namespace {

// All leaf values of a packet's dissection tree, by field name.
using Fields = std::multimap<std::string, std::string>;

void collect(const nlohmann::json& j, const std::string& key, Fields& out) {
    if (j.is_object()) {
        for (auto it = j.begin(); it != j.end(); ++it) collect(it.value(), it.key(), out);
        if (!key.empty()) out.emplace(key, "<object>");
    } else if (j.is_array()) {
        for (const auto& e : j) collect(e, key, out);
    } else if (j.is_string()) {
        out.emplace(key, j.get<std::string>());
    } else {
        out.emplace(key, j.dump());
    }
}

std::string run(const std::string& cmd) {
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return out;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    pclose(p);
    return out;
}

struct Case {
    std::string name;
    MhPacket packet;
    // Field values Wireshark must show (each expected value must appear
    // among the values of that field).
    std::vector<std::pair<std::string, std::string>> expect;
};

std::string hex64(uint64_t v) {
    char b[32];
    std::snprintf(b, sizeof b, "0x%016llx", static_cast<unsigned long long>(v));
    return b;
}

std::vector<Case> cases() {
    const auto ha = v6("2001:db8:1::1");
    const auto hoa = v6("2001:db8:1::100");
    const auto coa = v6("2001:db8:ff::10");
    std::vector<Case> cs;
    auto base = [&](Message m) {
        MhPacket p;
        p.source = coa;
        p.destination = ha;
        p.message = std::move(m);
        return p;
    };

    {  // BU with every flag, HAO, and the RFC 6275 options
        BindingUpdate bu;
        bu.sequence_number = 4660;
        bu.acknowledge = bu.home_registration = bu.link_local_address_compatibility = true;
        bu.key_management_mobility_capability = bu.map_registration = bu.mobile_router = true;
        bu.proxy_registration = bu.force_udp_encapsulation = bu.tlv_header_format = true;
        bu.bulk_binding_update = true;
        bu.lifetime = 150;
        bu.options = {AlternateCareOfAddress{v6("2001:db8:ee::1")}, NonceIndices{258, 772},
                      BindingAuthorizationData{std::vector<uint8_t>{0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6,
                                                                    0xa7, 0xa8, 0xa9, 0xaa, 0xab}}};
        auto p = base(bu);
        p.home_address = HomeAddressOption{hoa};
        cs.push_back({"bu-all-flags", p,
                      {{"mip6.mhtype", "5"}, {"mip6.bu.seqnr", "4660"}, {"mip6.bu.lifetime", "150"},
                       {"mip6.bu.a_flag", "1"}, {"mip6.bu.h_flag", "1"}, {"mip6.bu.l_flag", "1"},
                       {"mip6.bu.k_flag", "1"}, {"mip6.bu.m_flag", "1"}, {"mip6.nemo.bu.r_flag", "1"},
                       {"mip6.bu.p_flag", "1"}, {"mip6.bu.f_flag", "1"}, {"mip6.bu.t_flag", "1"},
                       {"mip6.bu.b_flag", "1"}, {"mip6.acoa.acoa", "2001:db8:ee::1"},
                       {"mip6.ni.hni", "258"}, {"mip6.ni.cni", "772"},
                       {"mip6.bad.auth", "a0:a1:a2:a3:a4:a5:a6:a7:a8:a9:aa:ab"},
                       {"ipv6.opt.mipv6.home_address", "2001:db8:1::100"}}});
    }
    {  // BU of a mobile router: NEMO prefixes, no flag but R
        BindingUpdate bu;
        bu.sequence_number = 1;
        bu.mobile_router = true;
        bu.home_registration = true;
        bu.lifetime = 65535;
        bu.options = {MobileNetworkPrefix{64, v6("2001:db8:100:1::")},
                      MobileNetworkPrefix{48, v6("2001:db8:200::")}};
        auto p = base(bu);
        p.home_address = HomeAddressOption{hoa};
        cs.push_back({"bu-nemo", p,
                      {{"mip6.bu.seqnr", "1"}, {"mip6.bu.lifetime", "65535"}, {"mip6.bu.a_flag", "0"},
                       {"mip6.nemo.bu.r_flag", "1"}, {"mip6.nemo.mnp.pfl", "64"},
                       {"mip6.nemo.mnp.mnp", "2001:db8:100:1::"}, {"mip6.nemo.mnp.pfl", "48"},
                       {"mip6.nemo.mnp.mnp", "2001:db8:200::"}}});
    }
    {  // BU with MCoA Binding Identifiers and DSMIPv6 options
        BindingUpdate bu;
        bu.sequence_number = 77;
        bu.force_udp_encapsulation = true;
        bu.lifetime = 10;
        bu.options = {BindingIdentifier{3, BindingAckStatus::accepted, true, 0, IpAddress{v6("2001:db8:aa::2")}},
                      BindingIdentifier{4, BindingAckStatus::accepted, false, 0, IpAddress{v4("198.51.100.9")}},
                      BindingIdentifier{5, BindingAckStatus::accepted, false, 0, std::nullopt},
                      Ipv4HomeAddress{24, true, v4("192.0.2.10")},
                      Ipv4CareOfAddress{v4("198.51.100.7")}};
        cs.push_back({"bu-mcoa-dsmip6", base(bu),
                      {{"mip6.bi.bid", "3"}, {"mip6.bi.bid", "4"}, {"mip6.bi.bid", "5"},
                       {"mip6.bi.h_flag", "1"}, {"mip6.bi.coa_ipv6", "2001:db8:aa::2"},
                       {"mip6.bi.coa_ipv4", "198.51.100.9"}, {"mip6.ipv4ha.preflen", "24"},
                       {"mip6.ipv4ha.p_flag", "1"}, {"mip6.ipv4ha.ha", "192.0.2.10"},
                       {"mip6.ipv4coa.addr", "198.51.100.7"}}});
    }
    {  // BA with every flag, status 135 and Binding Refresh Advice, via RH2
        BindingAcknowledgement ba;
        ba.status = BindingAckStatus::sequence_number_out_of_window;
        ba.key_management_mobility_capability = ba.mobile_router = ba.proxy_registration = true;
        ba.tlv_header_format = ba.bulk_binding_update = true;
        ba.sequence_number = 4661;
        ba.lifetime = 75;
        ba.options = {BindingRefreshAdvice{60}};
        MhPacket p;
        p.source = ha;
        p.destination = coa;
        p.routing_header = Type2RoutingHeader{0, 1, hoa};
        p.message = ba;
        cs.push_back({"ba-135", p,
                      {{"mip6.mhtype", "6"}, {"mip6.ba.status", "135"}, {"mip6.ba.seqnr", "4661"},
                       {"mip6.ba.lifetime", "75"}, {"mip6.ba.k_flag", "1"}, {"mip6.nemo.ba.r_flag", "1"},
                       {"mip6.ba.p_flag", "1"}, {"mip6.ba.t_flag", "1"}, {"mip6.ba.b_flag", "1"},
                       {"mip6.bra.interval", "60"}, {"ipv6.routing.type", "2"},
                       {"ipv6.routing.mipv6.home_address", "2001:db8:1::100"}}});
    }
    {  // BA of NEMO rejection and DSMIPv6 answers
        BindingAcknowledgement ba;
        ba.status = BindingAckStatus::not_authorized_for_prefix;
        ba.sequence_number = 2;
        ba.options = {Ipv4AddressAcknowledgement{Ipv4AddressAckStatus::success, 24, v4("192.0.2.10")},
                      NatDetection{true, 110},
                      BindingIdentifier{3, BindingAckStatus::mcoa_unknown_coa, false, 0, std::nullopt}};
        cs.push_back({"ba-142-dsmip6", base(ba),
                      {{"mip6.ba.status", "142"}, {"mip6.ba.k_flag", "0"}, {"mip6.natd.f_flag", "1"},
                       {"mip6.natd.refresh_t", "110"}, {"mip6.bi.status", "167"}, {"mip6.ipv4aa.sts", "0"},
                       // Wireshark files the Ack's Pref-len and address under ipv4ha.
                       {"mip6.ipv4ha.preflen", "24"}, {"mip6.ipv4ha.ha", "192.0.2.10"}}});
    }
    {  // Flow bindings (RFC 6089): Wireshark 4.0 has no dissector for options
       // 44/45 (it prints "not dissected yet" and a fixed Length 4 for 45),
       // so it can only confirm the framing: it walks past both options by
       // their Length octets and lands on our trailing PadN (length 0).
        BindingUpdate bu;
        bu.sequence_number = 8;
        bu.options = {FlowSummary{{1, 2}},
                      FlowIdentification{1, 10, FlowBindingStatus::flow_binding_successful,
                                         {FlowBindingReference{{4, 5}}, FlowTrafficSelector{2, {0xaa, 0xbb}}}}};
        cs.push_back({"bu-flow", base(bu),
                      {{"mip6.mobility_opt", "44"}, {"mip6.mobility_opt.len", "4"},
                       {"mip6.mobility_opt", "45"},
                       {"mip6.mobility_opt.len", "0"}, {"mip6.bu.seqnr", "8"}}});
    }
    {  // BE status 2
        cs.push_back({"be-2", base(BindingError{BindingErrorStatus::unrecognized_mh_type_value, hoa, {}}),
                      {{"mip6.mhtype", "7"}, {"mip6.be.status", "2"}, {"mip6.be.haddr", "2001:db8:1::100"}}});
        cs.push_back({"be-1", base(BindingError{
                                  BindingErrorStatus::unknown_binding_for_home_address_destination_option, hoa, {}}),
                      {{"mip6.be.status", "1"}}});
    }
    cs.push_back({"brr", base(BindingRefreshRequest{}), {{"mip6.mhtype", "0"}, {"mip6.hlen", "0"}}});
    cs.push_back({"hoti", base(HomeTestInit{0x0102030405060708ull, {}}),
                  {{"mip6.mhtype", "1"}, {"mip6.hoti.cookie", hex64(0x0102030405060708ull)}}});
    cs.push_back({"coti", base(CareOfTestInit{0x1112131415161718ull, {}}),
                  {{"mip6.mhtype", "2"}, {"mip6.coti.cookie", hex64(0x1112131415161718ull)}}});
    cs.push_back({"hot", base(HomeTest{513, 0x2122232425262728ull, 0x3132333435363738ull, {}}),
                  {{"mip6.mhtype", "3"}, {"mip6.hot.nindex", "513"},
                   {"mip6.hot.cookie", hex64(0x2122232425262728ull)},
                   {"mip6.hot.token", hex64(0x3132333435363738ull)}}});
    cs.push_back({"cot", base(CareOfTest{514, 0x4142434445464748ull, 0x5152535455565758ull, {}}),
                  {{"mip6.mhtype", "4"}, {"mip6.cot.nindex", "514"},
                   {"mip6.cot.cookie", hex64(0x4142434445464748ull)},
                   // Wireshark 4.0 files the Care-of Keygen Token under mip6.hot.token.
                   {"mip6.hot.token", hex64(0x5152535455565758ull)}}});
    return cs;
}

bool tshark_available() { return std::filesystem::exists("/usr/bin/tshark"); }

}  // namespace

TEST(MhTsharkOracle, WiresharkAgreesOnEveryMessageKind) {
    ASSERT_TRUE(tshark_available()) << "tshark (Debian package tshark) is required for this test";
    const auto dir = std::filesystem::temp_directory_path() / ("mh_oracle_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    const auto pcap = (dir / "mh.pcap").string();
    const auto all = cases();
    {
        mh_test::PcapWriter w(pcap, 101);  // LINKTYPE_RAW: IPv6 packets as they are
        ASSERT_TRUE(w.ok());
        for (const auto& c : all) {
            auto b = encode_packet(c.packet);
            ASSERT_TRUE(b.ok()) << c.name << ": " << b.error().message();
            w.write(*b);
        }
    }
    const std::string json =
        run("tshark -r " + pcap + " -T json -V --no-duplicate-keys 2>/dev/null");
    auto parsed = nlohmann::json::parse(json, nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << json.substr(0, 2000);
    ASSERT_EQ(parsed.size(), all.size());
    for (size_t i = 0; i < all.size(); ++i) {
        const auto& c = all[i];
        Fields f;
        collect(parsed[i]["_source"]["layers"], "", f);
        EXPECT_EQ(f.count("_ws.malformed"), 0u) << c.name << " is malformed for Wireshark";
        for (auto [it, end] = f.equal_range("_ws.expert.severity"); it != end; ++it)
            EXPECT_LT(std::stoul(it->second), 6291456u)  // below PI_WARN (0x00600000)
                << c.name << ": expert info " << it->second;
        EXPECT_EQ(f.count("mip6.bogus_header_length"), 0u) << c.name;
        EXPECT_EQ(f.count("mip6.opt.len.invalid"), 0u) << c.name;
        for (const auto& [field, value] : c.expect) {
            bool found = false;
            for (auto [it, end] = f.equal_range(field); it != end; ++it) found |= it->second == value;
            std::string seen;
            for (auto [it, end] = f.equal_range(field); it != end; ++it) seen += " '" + it->second + "'";
            EXPECT_TRUE(found) << c.name << ": " << field << " should be " << value << ", tshark shows" << seen;
        }
    }
    std::filesystem::remove_all(dir);
}

TEST(MhTsharkOracle, UdpEncapsulatedBindingUpdate) {
    // RFC 5555: the BU rides in UDP over IPv4 to port 4191. Wireshark has no
    // dissector bound to that port; "-d udp.port==4191,ipv6" asks it to read
    // the payload as an IPv6 packet, which is what the plain format carries.
    ASSERT_TRUE(tshark_available());
    MhPacket p;
    p.source = v6("2001:db8:ff::10");
    p.destination = v6("2001:db8:1::1");
    p.home_address = HomeAddressOption{v6("2001:db8:1::100")};
    BindingUpdate bu;
    bu.sequence_number = 999;
    bu.force_udp_encapsulation = true;
    bu.home_registration = true;
    bu.lifetime = 30;
    bu.options = {Ipv4CareOfAddress{v4("198.51.100.7")}};
    p.message = bu;
    auto payload = encode_udp_payload(p);
    ASSERT_TRUE(payload.ok());
    // IPv4 header (checksum filled below) + UDP header (checksum 0 is valid over IPv4).
    std::vector<uint8_t> f = {0x45, 0, 0, 0, 0, 1, 0, 0, 64, 17, 0, 0, 198, 51, 100, 7, 192, 0, 2, 1};
    const size_t total = 20 + 8 + payload->size();
    f[2] = static_cast<uint8_t>(total >> 8);
    f[3] = static_cast<uint8_t>(total);
    uint32_t sum = 0;
    for (size_t i = 0; i < 20; i += 2) sum += (f[i] << 8) | f[i + 1];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    f[10] = static_cast<uint8_t>(~sum >> 8);
    f[11] = static_cast<uint8_t>(~sum);
    const size_t udp_len = 8 + payload->size();
    for (uint8_t x : {0x10, 0x5f, 0x10, 0x5f, static_cast<int>(udp_len >> 8), static_cast<int>(udp_len & 0xff), 0, 0})
        f.push_back(x);
    f.insert(f.end(), payload->begin(), payload->end());
    const auto dir = std::filesystem::temp_directory_path() / ("mh_oracle_udp_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    const auto pcap = (dir / "udp.pcap").string();
    {
        mh_test::PcapWriter w(pcap, 101);
        w.write(f);
    }
    auto parsed = nlohmann::json::parse(
        run("tshark -r " + pcap + " -d udp.port==4191,ipv6 -T json -V --no-duplicate-keys 2>/dev/null"),
        nullptr, false);
    ASSERT_FALSE(parsed.is_discarded());
    ASSERT_EQ(parsed.size(), 1u);
    Fields fields;
    collect(parsed[0]["_source"]["layers"], "", fields);
    EXPECT_EQ(fields.count("_ws.malformed"), 0u);
    auto has = [&](const std::string& k, const std::string& v) {
        for (auto [it, end] = fields.equal_range(k); it != end; ++it)
            if (it->second == v) return true;
        return false;
    };
    EXPECT_TRUE(has("udp.dstport", "4191"));
    EXPECT_TRUE(has("mip6.bu.seqnr", "999"));
    EXPECT_TRUE(has("mip6.bu.f_flag", "1"));
    EXPECT_TRUE(has("mip6.ipv4coa.addr", "198.51.100.7"));
    std::filesystem::remove_all(dir);
}

TEST(MhTsharkOracle, WiresharkAlsoFlagsWhatWeReject) {
    // Malformed MHs that our decoder rejects: Wireshark must flag them too
    // (malformed packet or an expert warning/error), so the two decoders
    // agree on rejection, not only on acceptance.
    ASSERT_TRUE(tshark_available());
    struct Bad {
        const char* name;
        std::vector<uint8_t> mh;
    };
    const std::vector<Bad> bad = {
        // BRA claims 10 octets, 2 remain.
        {"option-overrun", mh_test::hex("3b 01 05 00 0000 | 0000 0000 0000 | 02 0a 0000")},
        // Header Len says 24 octets, 16 present.
        {"header-len-past-end", mh_test::hex("3b 02 05 00 0000 | 0000 0000 0000 | 01 02 0000")},
        // Alternate CoA with length 2.
        {"acoa-bad-length", mh_test::hex("3b 01 05 00 0000 | 0000 0000 0000 | 03 02 0000")},
    };
    const auto dir = std::filesystem::temp_directory_path() / ("mh_oracle_bad_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    const auto pcap = (dir / "bad.pcap").string();
    {
        mh_test::PcapWriter w(pcap, 101);
        for (const auto& b : bad) {
            EXPECT_FALSE(decode(b.mh).ok()) << b.name;
            std::vector<uint8_t> f = {0x60, 0, 0, 0, static_cast<uint8_t>(b.mh.size() >> 8),
                                      static_cast<uint8_t>(b.mh.size()), 135, 64};
            const auto a = v6("2001:db8::1").bytes;
            f.insert(f.end(), a.begin(), a.end());
            f.insert(f.end(), a.begin(), a.end());
            f.insert(f.end(), b.mh.begin(), b.mh.end());
            w.write(f);
        }
    }
    auto parsed = nlohmann::json::parse(
        run("tshark -r " + pcap + " -T json -V --no-duplicate-keys 2>/dev/null"), nullptr, false);
    ASSERT_FALSE(parsed.is_discarded());
    ASSERT_EQ(parsed.size(), bad.size());
    for (size_t i = 0; i < bad.size(); ++i) {
        Fields f;
        collect(parsed[i]["_source"]["layers"], "", f);
        bool flagged = f.count("_ws.malformed") > 0 || f.count("mip6.bogus_header_length") > 0 ||
                       f.count("mip6.opt.len.invalid") > 0;
        for (auto [it, end] = f.equal_range("_ws.expert.severity"); it != end; ++it)
            flagged |= std::stoul(it->second) >= 6291456u;
        EXPECT_TRUE(flagged) << bad[i].name << ": Wireshark accepted what we reject";
    }
    std::filesystem::remove_all(dir);
}
