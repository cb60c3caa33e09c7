// Fuzz target: Destination Options header (Home Address option) and type 2
// routing header decoders.
#include <cstdint>
#include <cstdlib>

#include "mobility/core/mh/packet.hpp"

using namespace nemokey::mobility::mh;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::span<const uint8_t> in(data, size);
    for (bool strict : {false, true}) {
        auto d = decode_destination_options(in, strict);
        if (d && d->home_address) {
            auto again = encode_home_address_destination_options(d->next_header, *d->home_address);
            auto back = decode_destination_options(again, true);
            if (!back || back->home_address != d->home_address) std::abort();
        }
    }
    auto rh = decode_type2_routing_header(in);
    if (rh) {
        auto back = decode_type2_routing_header(encode_type2_routing_header(*rh));
        if (!back || !(*back == *rh)) std::abort();
    }
    return 0;
}
