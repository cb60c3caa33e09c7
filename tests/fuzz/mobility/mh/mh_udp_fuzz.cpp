// Fuzz target: UDP-encapsulated MH packets, plain (RFC 5555 sec. 4.1) and
// behind the TLV header (RFC 5845 sec. 7.2). Whatever decodes must re-encode
// in the format it came in (a BU behind a TLV header excepted: the encoder
// refuses it) and decode to the same message and TLV header.
#include <cstdint>
#include <cstdlib>

#include "mobility/core/mh/packet.hpp"

using namespace nemokey::mobility::mh;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::span<const uint8_t> in(data, size);
    for (bool agreed : {false, true}) {
        auto d = decode_udp_payload(in, agreed);
        if (!d) {
            if (d.error().message().empty()) std::abort();
            continue;
        }
        if (d->tlv && !agreed) std::abort();  // a TLV header only when agreed
        const auto format = d->tlv ? UdpPayloadFormat::tlv_header : UdpPayloadFormat::ip_packet;
        auto again = encode_udp_payload(d->inner.packet, format);
        if (!again) continue;
        auto back = decode_udp_payload(*again, agreed);
        if (!back || !(back->inner.packet.message == d->inner.packet.message) ||
            back->tlv.has_value() != d->tlv.has_value() ||
            (back->tlv && back->tlv->next_header != d->tlv->next_header))
            std::abort();
    }
    auto h = decode_udp_tlv_header(in);
    if (h) {
        const auto bytes = encode_udp_tlv_header(*h);
        std::vector<uint8_t> again(bytes.begin(), bytes.end());
        again.insert(again.end(), in.begin() + udp_tlv_header_octets, in.end());
        auto back = decode_udp_tlv_header(again);
        if (!back || !(*back == *h)) std::abort();
    }
    return 0;
}
