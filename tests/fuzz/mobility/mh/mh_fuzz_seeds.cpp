// Writes the seed corpus of the MH fuzz targets: real encoded messages of
// every kind. Usage: mh_fuzz_seeds <corpus dir> (holding mh/ packet/ udp/ ext/).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "mobility/core/mh/packet.hpp"

using namespace nemokey::mobility::mh;
using nemokey::net::IpAddress;

namespace {

Ipv6Address v6(const char* s) { return *Ipv6Address::parse(s); }
Ipv4Address v4(const char* s) { return *Ipv4Address::parse(s); }

void write(const std::filesystem::path& p, const std::vector<uint8_t>& b) {
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()),
                                              static_cast<std::streamsize>(b.size()));
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
        return 2;
    }
    const std::filesystem::path dir = argv[1];
    for (const char* sub : {"mh", "packet", "udp", "ext"}) std::filesystem::create_directories(dir / sub);

    BindingUpdate bu;
    bu.sequence_number = 4660;
    bu.acknowledge = bu.home_registration = bu.key_management_mobility_capability = true;
    bu.lifetime = 150;
    BindingUpdate nemo = bu;
    nemo.mobile_router = true;
    nemo.options = {MobileNetworkPrefix{64, v6("2001:db8:100:1::")}, MobileNetworkPrefix{48, v6("2001:db8:200::")}};
    BindingUpdate ro = bu;
    ro.home_registration = false;
    ro.options = {AlternateCareOfAddress{v6("2001:db8:ee::1")}, NonceIndices{1, 2},
                  BindingAuthorizationData{std::vector<uint8_t>(12, 0xa5)}};
    BindingUpdate mcoa = bu;
    mcoa.overwrite = true;  // RFC 5648 sec. 4.2
    mcoa.force_udp_encapsulation = true;
    mcoa.options = {BindingIdentifier{1, BindingAckStatus::accepted, true, 3, IpAddress{v6("2001:db8:aa::2")}},
                    BindingIdentifier{2, BindingAckStatus::accepted, false, 0, IpAddress{v4("198.51.100.9")}},
                    BindingIdentifier{3, BindingAckStatus::accepted, false, 0, std::nullopt},
                    Ipv4HomeAddress{24, true, v4("192.0.2.10")}, Ipv4CareOfAddress{v4("198.51.100.7")},
                    FlowSummary{{1, 2}},
                    FlowIdentification{1, 10, FlowBindingStatus::flow_binding_successful,
                                       {FlowBindingReference{{1, 2}}, FlowTrafficSelector{2, {0xaa, 0xbb}}}},
                    UnknownMobilityOption{200, {1, 2, 3}}};
    BindingAcknowledgement ba;
    ba.status = BindingAckStatus::sequence_number_out_of_window;
    ba.key_management_mobility_capability = true;
    ba.sequence_number = 4661;
    ba.lifetime = 75;
    ba.options = {BindingRefreshAdvice{60}};
    BindingAcknowledgement ba_dsmip = ba;
    ba_dsmip.status = BindingAckStatus::accepted;
    ba_dsmip.options = {Ipv4AddressAcknowledgement{Ipv4AddressAckStatus::success, 24, v4("192.0.2.10")},
                        NatDetection{true, 110}};
    const std::vector<std::pair<std::string, Message>> messages = {
        {"bu", bu}, {"bu-nemo", nemo}, {"bu-ro", ro}, {"bu-mcoa", mcoa}, {"ba-135", ba},
        {"ba-dsmip6", ba_dsmip},
        {"be", BindingError{BindingErrorStatus::unrecognized_mh_type_value, v6("2001:db8:1::100"), {}}},
        {"brr", BindingRefreshRequest{}},
        {"hoti", HomeTestInit{0x0102030405060708ull, {}}},
        {"coti", CareOfTestInit{0x1112131415161718ull, {}}},
        {"hot", HomeTest{513, 1, 2, {}}},
        {"cot", CareOfTest{514, 3, 4, {}}},
    };
    for (const auto& [name, m] : messages) {
        write(dir / "mh" / (name + ".bin"), encode(m).value());
        MhPacket p;
        p.source = v6("2001:db8:ff::10");
        p.destination = v6("2001:db8:1::1");
        p.message = m;
        if (name.rfind("bu", 0) == 0) p.home_address = HomeAddressOption{v6("2001:db8:1::100")};
        if (name.rfind("ba", 0) == 0) p.routing_header = Type2RoutingHeader{0, 1, v6("2001:db8:1::100")};
        write(dir / "packet" / (name + ".bin"), encode_packet(p).value());
        if (name.rfind("b", 0) == 0) {
            write(dir / "udp" / (name + ".bin"), encode_udp_payload(p).value());
            // RFC 5845 sec. 7.2 TLV header; the encoder refuses it for a BU
            // (RFC 5555 sec. 4.1), so that seed is put together by hand.
            std::vector<uint8_t> tlv;
            if (std::holds_alternative<BindingUpdate>(m)) {
                const auto packet = encode_packet(p).value();
                const auto h = encode_udp_tlv_header({ip_proto_ipv6, static_cast<uint16_t>(packet.size())});
                tlv.assign(h.begin(), h.end());
                tlv.insert(tlv.end(), packet.begin(), packet.end());
            } else {
                tlv = encode_udp_payload(p, UdpPayloadFormat::tlv_header).value();
            }
            write(dir / "udp" / (name + "-tlv.bin"), tlv);
        }
    }
    // RFC 8200 sec. 4.7: octets after the MH (Payload Proto 59) are ignored.
    auto trailing = encode(bu).value();
    trailing.insert(trailing.end(), {0xde, 0xad, 0xbe});
    write(dir / "mh" / "bu-trailing.bin", trailing);
    // What else a UDP tunnel carries: a GRE packet behind a TLV header
    // (RFC 5845 Figure 5) and a bare IPv4 packet (RFC 5555 sec. 4.1).
    const auto gre = encode_udp_tlv_header({47, 4});
    std::vector<uint8_t> tlv_gre(gre.begin(), gre.end());
    tlv_gre.insert(tlv_gre.end(), {0x00, 0x00, 0x86, 0xdd});
    write(dir / "udp" / "tlv-gre.bin", tlv_gre);
    write(dir / "udp" / "ipv4.bin", {0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2});
    write(dir / "ext" / "hao.bin", encode_home_address_destination_options(135, {v6("2001:db8:1::100")}));
    write(dir / "ext" / "rh2.bin", encode_type2_routing_header({135, 1, v6("2001:db8:1::100")}));
    std::printf("seeds written to %s\n", dir.c_str());
    return 0;
}
