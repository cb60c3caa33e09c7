#include "mobility/kernel/state_rules.hpp"

namespace nemokey::mobility::kernel {

namespace {

bool template_matches(const MigrateTemplate& m, const PolicyTemplate& t) {
    if (t.mode != m.mode || t.protocol != m.protocol) return false;
    if (m.reqid != 0 && t.reqid != m.reqid) return false;
    switch (t.mode) {
        case SaMode::tunnel:
        case SaMode::beet:
            return t.destination == m.old_destination && t.source == m.old_source;
        case SaMode::transport: return true;
        default: return false;
    }
}

bool sa_matches(const MigrateTemplate& m, const Sa& s) {
    if (m.reqid != 0 && s.reqid != m.reqid) return false;
    return s.mode == m.mode && s.id.protocol == m.protocol && s.id.destination == m.old_destination &&
           s.id.source == m.old_source;
}

}  // namespace

std::optional<size_t> apply_migrate(KernelObjects& state, const MigrateSas& m) {
    auto it = state.policies.find(m.policy);
    if (it == state.policies.end()) return std::nullopt;
    // One pass, in place, as xfrm_policy_migrate() does; a template changes
    // only when it matches, so with no match nothing has changed.
    size_t matched = 0;
    for (auto& t : it->second.templates) {
        for (const auto& mt : m.templates) {
            if (!template_matches(mt, t)) continue;
            ++matched;
            if (t.mode != SaMode::tunnel && t.mode != SaMode::beet) continue;
            t.source = mt.new_source;
            t.destination = mt.new_destination;
        }
    }
    if (matched == 0) return 0;
    for (const auto& mt : m.templates) {
        // Only SAs at the old addresses can match: their range of the map
        // (ordered by source, destination, protocol), not every SA.
        for (auto s = state.sas.lower_bound(SaId{mt.old_source, mt.old_destination, mt.protocol, 0});
             s != state.sas.end() && s->first.source == mt.old_source &&
             s->first.destination == mt.old_destination && s->first.protocol == mt.protocol;
             ++s) {
            if (!sa_matches(mt, s->second)) continue;
            Sa moved = s->second;
            moved.id.source = mt.new_source;
            moved.id.destination = mt.new_destination;
            state.sas.erase(s);
            state.sas.insert_or_assign(moved.id, moved);
            break;
        }
    }
    return matched;
}

std::vector<Address> remove_device(KernelObjects& state, const std::string& name) {
    std::vector<Address> gone;
    std::erase_if(state.addresses, [&](const auto& kv) {
        if (kv.first.interface != name) return false;
        gone.push_back(kv.second);
        return true;
    });
    std::erase_if(state.routes, [&](const auto& kv) { return kv.second.device == name; });
    std::erase_if(state.proxy_neighbours, [&](const auto& kv) { return kv.first.interface == name; });
    remove_qdisc(state, name);
    state.tunnels.erase(name);
    return gone;
}

void remove_qdisc(KernelObjects& state, const std::string& device) {
    std::erase_if(state.tunnel_filters, [&](const auto& kv) { return kv.first.device == device; });
    state.qdiscs.erase(device);
}

}  // namespace nemokey::mobility::kernel
