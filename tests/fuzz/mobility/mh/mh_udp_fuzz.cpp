// Fuzz target: RFC 5555 UDP payload (plain and with the TLV header).
#include <cstdint>
#include <cstdlib>

#include "mobility/core/mh/packet.hpp"

using namespace nemokey::mobility::mh;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::span<const uint8_t> in(data, size);
    for (bool tlv : {false, true}) {
        auto d = decode_udp_payload(in, tlv);
        if (!d) continue;
        auto again = encode_udp_payload(d->inner.packet, d->tlv);
        if (!again) continue;
        auto back = decode_udp_payload(*again, tlv);
        if (!back || !(back->inner.packet.message == d->inner.packet.message)) std::abort();
    }
    return 0;
}
