// Fuzz target: IPv6 packet with Home Address option / type 2 routing
// header / Mobility Header. Decoded packets must re-encode to the same.
#include <cstdint>
#include <cstdlib>

#include "mobility/core/mh/packet.hpp"

using namespace nemokey::mobility::mh;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::span<const uint8_t> in(data, size);
    for (bool strict : {false, true}) {
        auto d = decode_packet(in, strict);
        if (!d) continue;
        auto again = encode_packet(d->packet);
        if (!again) continue;
        auto back = decode_packet(*again, true);
        if (!back) std::abort();
        const auto& a = back->packet;
        const auto& b = d->packet;
        if (!(a.message == b.message) || a.home_address != b.home_address || a.source != b.source ||
            a.destination != b.destination || a.routing_header.has_value() != b.routing_header.has_value() ||
            (a.routing_header && a.routing_header->home_address != b.routing_header->home_address))
            std::abort();
    }
    return 0;
}
