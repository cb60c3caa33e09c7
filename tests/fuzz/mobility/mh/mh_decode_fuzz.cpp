// Fuzz target: Mobility Header decoder. Any input must give a value or a
// DecodeError, never a crash; whatever decodes must survive
// encode -> decode unchanged.
#include <cstdint>
#include <cstdlib>

#include "mobility/core/mh/codec.hpp"

using namespace nemokey::mobility::mh;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::span<const uint8_t> in(data, size);
    for (bool strict : {false, true}) {
        auto d = decode(in, {std::nullopt, strict});
        if (!d) {
            if (d.error().message().empty()) std::abort();
            continue;
        }
        auto again = encode(d->message);
        if (!again) continue;  // e.g. MNP length > 128 is decoded but not encodable
        auto back = decode(*again, {std::nullopt, true});
        if (!back || !(back->message == d->message)) std::abort();
    }
    return 0;
}
