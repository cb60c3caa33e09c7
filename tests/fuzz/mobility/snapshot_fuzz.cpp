// Binding snapshots (mobility/core/binding/snapshot.hpp) on arbitrary bytes.
// Whatever decodes must
//   - encode and decode to an equal value, and encode to the same text again;
//   - restore (at the moment it was taken) into a state machine whose own
//     snapshot equals it, with the actions the restore promises;
//   - shut down to an empty machine.
// Anything else aborts, including a failed round trip: nothing is skipped.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mobility/core/binding/snapshot.hpp"

namespace {

using namespace nemokey::mobility::binding;

[[noreturn]] void die(const char* what, const std::string& detail = {}) {
    std::fprintf(stderr, "snapshot_fuzz: %s\n%s\n", what, detail.c_str());
    std::abort();
}

class AllowAll : public Authorizer {
public:
    AuthorizationAnswer authorize(const AuthorizationRequest&) override {
        AuthorizationAnswer a;
        a.verdict = AuthorizationVerdict::authorized;
        return a;
    }
};

template <class T>
size_t count_of(const Actions& actions) {
    return static_cast<size_t>(
        std::count_if(actions.begin(), actions.end(), [](const Action& a) { return std::holds_alternative<T>(a); }));
}

void check(const BindingCacheSnapshot& s) {
    const std::string text = encode(s);
    auto again = decode_binding_cache_snapshot(text);
    if (!again) die("an encoded binding cache snapshot does not decode", again.error().to_string() + "\n" + text);
    if (!(again.value() == s)) die("binding cache snapshot changed in the round trip", text);
    if (encode(again.value()) != text) die("binding cache snapshot encodes differently the second time", text);

    AllowAll auth;
    BindingCache cache(BindingCacheConfig{}, auth);
    auto restored = restore(cache, s, RestoreClock{s.taken_at.monotonic, s.taken_at.wall_clock_ms});
    if (!restored) die("a decoded binding cache snapshot does not restore", restored.error().to_string());
    size_t bindings = 0;
    size_t prefixes = 0;
    for (const auto& [hoa, e] : s.entries) {
        bindings += e.bindings.size();
        prefixes += e.mobile_network_prefixes.size();
    }
    if (cache.size() != s.entries.size() || cache.binding_count() != bindings ||
        cache.prefix_owners().size() != prefixes)
        die("restored binding cache has other counts", text);
    if (count_of<ArmTimer>(restored.value()) != bindings ||
        count_of<CommitKernelState>(restored.value()) != s.entries.size() ||
        restored.value().size() != bindings + s.entries.size())
        die("restoring a binding cache asked for other actions", text);
    BindingCacheSnapshot sorted = s;
    std::sort(sorted.entries.begin(), sorted.entries.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    if (!(take_snapshot(cache, s.taken_at) == sorted)) die("restored binding cache differs from its snapshot", text);

    Actions down = cache.shutdown();
    if (cache.size() != 0 || cache.binding_count() != 0 || !cache.prefix_owners().empty())
        die("binding cache not empty after shutdown", text);
    if (count_of<RemoveBinding>(down) != bindings) die("shutdown removed another number of bindings", text);
}

void check(const BindingUpdateListSnapshot& s) {
    const std::string text = encode(s);
    auto again = decode_binding_update_list_snapshot(text);
    if (!again) die("an encoded binding update list snapshot does not decode", again.error().to_string() + "\n" + text);
    if (!(again.value() == s)) die("binding update list snapshot changed in the round trip", text);
    if (encode(again.value()) != text) die("binding update list snapshot encodes differently the second time", text);

    BindingUpdateListConfig config;
    config.home_address = s.home_address;
    config.home_agent_address = s.home_agent_address;
    config.multiple_care_of_addresses = s.state.multiple_care_of_addresses;
    config.bulk_registration = true;
    config.prefix_mode = PrefixMode::implicit_mode;   // the snapshot's mode stays
    config.max_update_rate = 0;
    BindingUpdateList list(config);
    auto restored = restore(list, s, RestoreClock{s.taken_at.monotonic, s.taken_at.wall_clock_ms});
    if (!restored) die("a decoded binding update list snapshot does not restore", restored.error().to_string());
    BindingUpdateListState state = list.state();
    // Every BU sent on restore took the next sequence number.
    const auto sent = static_cast<uint16_t>(count_of<SendBindingUpdate>(restored.value()));
    if (state.sequence_number != static_cast<uint16_t>(s.state.sequence_number + sent))
        die("restored binding update list numbers its BUs wrongly", text);
    state.sequence_number = s.state.sequence_number;
    BindingUpdateListState sorted = s.state;   // a file may list the entries in any order
    std::sort(sorted.entries.begin(), sorted.entries.end(),
              [](const BulEntry& a, const BulEntry& b) { return a.binding_id < b.binding_id; });
    if (!(state == sorted)) die("restored binding update list differs from its snapshot", text);

    list.shutdown();
    if (!list.entries().empty() || list.outstanding_binding_updates() != 0)
        die("binding update list not empty after shutdown", text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto decoded = decode_snapshot(text);
    if (!decoded) {
        if (decoded.error().message.empty()) die("an error without a message");
        return 0;
    }
    std::visit([](const auto& s) { check(s); }, decoded.value());
    return 0;
}
