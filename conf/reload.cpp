#include "conf/reload.hpp"

#include "conf/plan.hpp"

#include <map>

namespace nemokey::conf {

std::string_view to_string(Aspect a) {
    switch (a) {
        case Aspect::identity: return "identity";
        case Aspect::role: return "role";
        case Aspect::home_address: return "home-address";
        case Aspect::ipv4_home_address: return "ipv4-home-address";
        case Aspect::mobile_network_prefixes: return "mobile-network-prefixes";
        case Aspect::prefix_mode: return "prefix-mode";
        case Aspect::keying: return "keying";
        case Aspect::protection: return "protection";
        case Aspect::k_flag: return "k-flag";
        case Aspect::security_plan: return "security-plan";
    }
    return "?";
}

namespace {

std::vector<std::string> global_changes(const Model& a, const Model& b) {
    std::vector<std::string> out;
    auto note = [&](bool differs, const char* key) {
        if (differs) out.emplace_back(key);
    };
    note(a.role != b.role, "role");
    note(a.interfaces != b.interfaces, "interfaces");
    note(a.timers != b.timers, "timers");
    if (a.home_agent && b.home_agent) {
        const auto &x = *a.home_agent, &y = *b.home_agent;
        note(x.addresses != y.addresses, "home-agent.addresses");
        note(x.ipv4_address != y.ipv4_address, "home-agent.ipv4-address");
        note(x.home_prefixes != y.home_prefixes, "home-agent.home-prefixes");
        note(x.identity != y.identity, "home-agent.identity");
        note(!(x.nodes_dir == y.nodes_dir), "home-agent.nodes-dir");
        note(!(x.keying == y.keying), "keying");
    }
    if (a.home && b.home) {
        const auto &x = *a.home, &y = *b.home;
        note(x.home_agent_addresses != y.home_agent_addresses, "home.home-agent-addresses");
        note(x.home_agent_identity != y.home_agent_identity, "home.home-agent-identity");
        note(!(x.home_prefix == y.home_prefix), "home.home-prefix");
        note(x.home_agent_ipv4_address != y.home_agent_ipv4_address, "home.home-agent-ipv4-address");
    }
    return out;
}

std::vector<Aspect> aspects_of(const Binding& a, const Binding& b) {
    std::vector<Aspect> out;
    if (a.identity != b.identity) out.push_back(Aspect::identity);
    if (a.role != b.role) out.push_back(Aspect::role);
    if (a.home_address != b.home_address) out.push_back(Aspect::home_address);
    if (a.ipv4_home_address != b.ipv4_home_address) out.push_back(Aspect::ipv4_home_address);
    if (a.mobile_network.prefixes != b.mobile_network.prefixes ||
        a.mobile_network.ipv4_prefixes != b.mobile_network.ipv4_prefixes)
        out.push_back(Aspect::mobile_network_prefixes);
    if (a.mobile_network.mode != b.mobile_network.mode) out.push_back(Aspect::prefix_mode);
    if (!(a.keying == b.keying)) out.push_back(Aspect::keying);
    if (a.protection != b.protection) out.push_back(Aspect::protection);
    if (a.k_flag != b.k_flag) out.push_back(Aspect::k_flag);
    return out;
}

}  // namespace

Difference diff(const Model& old_model, const Model& new_model) {
    Difference d;
    d.global = global_changes(old_model, new_model);
    // The plans show what the bindings' fields alone do not: a new HA
    // address or credential, or a request id moved by a collision.
    Plan old_plan = derive_plan(old_model);
    Plan new_plan = derive_plan(new_model);
    std::map<std::string, std::pair<const Binding*, const NodePlan*>> before, after;
    auto index = [](const Model& m, const Plan& p, auto& out) {
        auto bs = m.bindings();
        // On a mobile node or router there is one binding, the node itself,
        // whatever its file is called.
        for (size_t i = 0; i < bs.size(); ++i)
            out[m.home_agent ? bs[i]->source_file : std::string("self")] = {bs[i], &p.nodes[i]};
    };
    index(old_model, old_plan, before);
    index(new_model, new_plan, after);
    for (const auto& [key, now] : after) {
        NodeRef ref{now.first->source_file, now.first->identity.value};
        auto it = before.find(key);
        if (it == before.end()) {
            d.added.push_back(ref);
            continue;
        }
        auto aspects = aspects_of(*it->second.first, *now.first);
        if (aspects.empty() && !(*it->second.second == *now.second)) aspects.push_back(Aspect::security_plan);
        if (aspects.empty()) {
            d.unchanged.push_back(ref);
            continue;
        }
        NodeChange c{ref, aspects, false};
        for (Aspect a : aspects)
            if (a == Aspect::identity || a == Aspect::role || a == Aspect::home_address) c.drop_binding = true;
        d.changed.push_back(std::move(c));
    }
    for (const auto& [key, then] : before)
        if (!after.count(key)) d.removed.push_back({then.first->source_file, then.first->identity.value});
    return d;
}

nlohmann::ordered_json to_json(const Difference& d) {
    using nlohmann::ordered_json;
    auto ref = [](const NodeRef& r) {
        return ordered_json{{"file", r.source_file}, {"identity", r.identity.value}};
    };
    auto refs = [&](const std::vector<NodeRef>& v) {
        ordered_json a = ordered_json::array();
        for (const auto& r : v) a.push_back(ref(r));
        return a;
    };
    ordered_json changed = ordered_json::array();
    for (const auto& c : d.changed) {
        ordered_json j = ref(c.node);
        ordered_json aspects = ordered_json::array();
        for (Aspect a : c.aspects) aspects.push_back(to_string(a));
        j["aspects"] = std::move(aspects);
        j["drop-binding"] = c.drop_binding;
        changed.push_back(std::move(j));
    }
    return ordered_json{{"global", d.global},
                        {"added", refs(d.added)},
                        {"removed", refs(d.removed)},
                        {"changed", std::move(changed)},
                        {"unchanged", refs(d.unchanged)}};
}

}  // namespace nemokey::conf
