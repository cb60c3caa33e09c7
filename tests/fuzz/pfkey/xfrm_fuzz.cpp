// libFuzzer target: the XFRM netlink decoder (one datagram of messages).
// Whatever decodes must re-encode and decode to the same value.
#include <cstdint>
#include <cstdlib>

#include "pfkey/xfrm/xfrm_message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace nemokey::pfkey;
    auto msgs = xfrm::decode(std::span<const uint8_t>(data, size));
    if (!msgs) {
        if (msgs.error().what.empty()) std::abort();
        return 0;
    }
    for (const auto& m : *msgs) {
        auto bytes = xfrm::encode(m);
        if (!bytes) std::abort();
        auto back = xfrm::decode(*bytes);
        if (!back || back->size() != 1 || !((*back)[0] == m)) std::abort();
    }
    return 0;
}
