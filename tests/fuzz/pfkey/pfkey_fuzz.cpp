// libFuzzer target: the PF_KEY v2 decoder and the typed SADB_X_MIGRATE view.
// Whatever decodes must re-encode and decode to the same value.
#include <cstdint>
#include <cstdlib>

#include "pfkey/codec/pfkey_migrate.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace nemokey::pfkey;
    std::span<const uint8_t> in(data, size);
    auto m = decode(in);
    if (!m) {
        if (m.error().what.empty()) std::abort();
        return 0;
    }
    auto bytes = encode(*m);
    if (!bytes) std::abort();
    auto again = decode(*bytes);
    if (!again || !(*again == *m)) std::abort();
    auto mig = migrate_from_message(*m);
    if (mig) {
        auto b2 = encode(*mig);
        if (!b2) std::abort();
        auto back = decode_migrate(*b2);
        if (!back || !(*back == *mig)) std::abort();
    }
    return 0;
}
