// Binding cache life cycle: restore from a snapshot, removal of a home
// address on reload, shutdown. Kept apart from the BU processing in
// binding_cache.cpp.
#include <algorithm>

#include "mobility/core/binding/binding_cache.hpp"

namespace nemokey::mobility::binding {

Actions BindingCache::restore(std::vector<std::pair<Ipv6Address, BindingCacheEntry>> entries) {
    cache_.clear();
    prefix_owners_.clear();
    pending_.clear();
    commits_.clear();
    committing_.clear();
    refresh_requests_.clear();
    binding_count_ = 0;
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    cache_.reserve(entries.size());
    Actions out;
    for (auto& [hoa, entry] : entries) {
        for (const auto& b : entry.bindings) {
            out.push_back(ArmTimer{TimerKey{TimerKind::bc_lifetime, hoa, b.binding_id}, b.expires_at});
            // RFC 6275 sec. 9.5.5: the BRR point of the restored lifetime
            // (already past: the timer fires at once and the BRR goes if
            // the binding is still valid); the count starts again.
            arm_refresh_request(hoa, b, entry.granted_lifetime_seconds, out);
        }
        for (const auto& p : entry.mobile_network_prefixes) prefix_owners_[p] = hoa;
        binding_count_ += entry.bindings.size();
        cache_.insert_or_assign(hoa, std::move(entry));
        // The kernel may still hold the state (daemon restart) or not (host
        // restart): the daemon reconciles either way.
        commit(hoa, std::nullopt, std::nullopt, out);
    }
    return out;
}

Actions BindingCache::remove_home_address(const Ipv6Address& home_address) {
    Actions out;
    pending_.erase(home_address);
    // A BA held for a commit of this home address would acknowledge a
    // binding that is gone, and a failed commit would bring the old entry
    // back: the commit stays (its outcome is awaited) without either.
    for (auto& [op, c] : commits_) {
        if (c.home_address != home_address) continue;
        c.held.reset();
        c.previous.reset();
    }
    committing_.erase(home_address);
    if (!cache_.contains(home_address)) return out;
    erase_entry(home_address, out);
    commit(home_address, std::nullopt, std::nullopt, out);
    return out;
}

Actions BindingCache::shutdown() {
    std::vector<Ipv6Address> home_addresses;
    home_addresses.reserve(cache_.size() + pending_.size());
    for (const auto& [hoa, entry] : cache_) home_addresses.push_back(hoa);
    for (const auto& [hoa, r] : pending_) home_addresses.push_back(hoa);
    for (const auto& [hoa, op] : committing_) home_addresses.push_back(hoa);
    std::sort(home_addresses.begin(), home_addresses.end());
    home_addresses.erase(std::unique(home_addresses.begin(), home_addresses.end()), home_addresses.end());
    Actions out;
    for (const auto& hoa : home_addresses) {
        Actions removed = remove_home_address(hoa);
        for (auto& a : removed) out.push_back(std::move(a));
    }
    return out;
}

}  // namespace nemokey::mobility::binding
