#include "mobility/core/config/core_config.hpp"

#include <algorithm>
#include <chrono>
#include <map>

namespace nemokey::mobility::config {

namespace {

// IPv6 mobile network prefixes, normalized; the IPv4 ones (RFC 5555) are
// not the binding core's.
std::vector<net::Prefix> ipv6_prefixes(const std::vector<conf::Located<net::Prefix>>& prefixes) {
    std::vector<net::Prefix> out;
    for (const auto& p : prefixes)
        if (net::is_v6(p.value.address)) out.push_back(p.value.normalized());
    return out;
}

bool same(const binding::BindingCacheConfig& a, const binding::BindingCacheConfig& b) {
    auto same_prefixes = [](const auto& x, const auto& y) {
        return std::equal(x.begin(), x.end(), y.begin(), y.end(), [](const auto& p, const auto& q) {
            return p.prefix == q.prefix && p.valid_until == q.valid_until;
        });
    };
    return same_prefixes(a.home_prefixes, b.home_prefixes) && a.max_binding_lifetime == b.max_binding_lifetime &&
           a.mobile_router_support == b.mobile_router_support &&
           a.multiple_care_of_addresses == b.multiple_care_of_addresses &&
           a.bulk_registration == b.bulk_registration &&
           a.key_management_mobility == b.key_management_mobility &&
           a.duplicate_address_detection == b.duplicate_address_detection && a.max_bindings == b.max_bindings &&
           a.binding_refresh_advice == b.binding_refresh_advice &&
           a.binding_refresh_request_percent == b.binding_refresh_request_percent &&
           a.brr_retransmissions == b.brr_retransmissions && a.brr_initial_timeout == b.brr_initial_timeout &&
           a.brr_max_timeout == b.brr_max_timeout;
}

bool covers(const NodeAuthorization& node, const net::Prefix& p) {
    return std::any_of(node.mobile_network_prefixes.begin(), node.mobile_network_prefixes.end(),
                       [&](const net::Prefix& q) { return q.contains(p); });
}

const NodeAuthorization* by_home_address(const std::vector<NodeAuthorization>& nodes, const Ipv6Address& a) {
    for (const auto& n : nodes)
        if (n.home_address == a) return &n;
    return nullptr;
}

const NodeAuthorization* by_file(const std::vector<NodeAuthorization>& nodes, const std::string& file) {
    for (const auto& n : nodes)
        if (n.source_file == file) return &n;
    return nullptr;
}

// Whether an entry registered by `registered_by` may stay under `nodes`.
std::optional<RemovalReason> still_allowed(const binding::BindingCacheEntry& entry, const Ipv6Address& hoa,
                                           const NodeAuthorization& registered_by,
                                           const std::vector<NodeAuthorization>& nodes) {
    const NodeAuthorization* now = by_home_address(nodes, hoa);
    if (!now) return RemovalReason::node_removed;
    // RFC 4877 sec. 4.3: the binding belongs to the identity that made it.
    if (!(now->identity == registered_by.identity)) return RemovalReason::binding_dropped;
    // RFC 3963 sec. 6: role and prefixes as authorised now.
    if (entry.mobile_router && !now->mobile_router) return RemovalReason::not_authorized;
    for (const auto& p : entry.mobile_network_prefixes)
        if (!covers(*now, p)) return RemovalReason::not_authorized;
    if (entry.key_management_mobility && !now->key_management_mobility)
        return RemovalReason::key_management_mobility_withdrawn;
    return std::nullopt;
}

}  // namespace

// ---- Model -> core configurations ----

NodeAuthorization node_authorization(const conf::Binding& b) {
    NodeAuthorization n;
    n.identity = b.identity.value;
    n.source_file = b.source_file;
    n.home_address = b.home_address.value;
    n.mobile_router = b.role == conf::Role::mobile_router;
    n.mobile_network_prefixes = ipv6_prefixes(b.mobile_network.prefixes);
    n.prefix_mode = b.mobile_network.mode;
    n.dynamic_keying = b.keying.method == conf::KeyingMethod::ikev2;
    n.key_management_mobility = n.dynamic_keying && b.k_flag;
    return n;
}

std::optional<HomeAgentCoreConfig> home_agent_core_config(const conf::Model& model) {
    if (model.role != conf::Role::home_agent || !model.home_agent) return std::nullopt;
    const conf::HomeAgentConfig& ha = *model.home_agent;
    HomeAgentCoreConfig c;
    binding::BindingCacheConfig& bc = c.binding_cache;
    for (const auto& p : ha.home_prefixes)
        if (net::is_v6(p.value.address)) bc.home_prefixes.push_back({p.value.normalized(), std::nullopt});
    // [timers] binding-lifetime on a home agent: the largest lifetime granted
    // (RFC 6275 sec. 10.3.1).
    bc.max_binding_lifetime = std::chrono::seconds{model.timers.binding_lifetime_s};
    // RFC 3963 and RFC 5648 are always offered; the Authorizer decides per
    // node (R only for mobile routers).
    bc.mobile_router_support = true;
    bc.multiple_care_of_addresses = true;
    bc.bulk_registration = true;
    // K needs IKEv2 on the home agent; per node the Authorizer narrows it.
    bc.key_management_mobility = ha.keying.method == conf::KeyingMethod::ikev2;
    // Not in the configuration yet: the core's defaults.
    bc.duplicate_address_detection = true;
    bc.max_bindings = 0;
    bc.binding_refresh_advice = std::chrono::seconds{0};
    // RFC 6275 sec. 9.5.5: [timers] binding-refresh-request; retransmitted
    // with the BU back-off of [timers] (sec. 11.8: initial, doubling up to
    // the maximum), three times at most.
    bc.binding_refresh_request_percent = static_cast<uint8_t>(model.timers.binding_refresh_request_percent);
    bc.brr_retransmissions = 3;
    bc.brr_initial_timeout = std::chrono::milliseconds{model.timers.retransmission_initial_ms};
    bc.brr_max_timeout = std::chrono::milliseconds{model.timers.retransmission_max_ms};
    for (const auto& b : ha.bindings) c.nodes.push_back(node_authorization(b));
    return c;
}

std::vector<binding::BindingUpdateListConfig> mobile_node_core_config(const conf::Model& model) {
    if (model.role == conf::Role::home_agent || !model.home || !model.self) return {};
    const conf::Binding& self = *model.self;
    binding::BindingUpdateListConfig c;
    c.home_address = self.home_address.value;
    c.requested_lifetime = std::chrono::seconds{model.timers.binding_lifetime_s};
    c.mobile_router = model.role == conf::Role::mobile_router;
    c.prefix_mode = self.mobile_network.mode;
    c.mobile_network_prefixes = ipv6_prefixes(self.mobile_network.prefixes);
    c.dynamic_keying = self.keying.method == conf::KeyingMethod::ikev2;
    // RFC 6275 sec. 11.7.1: K only when the key manager can move the IKE SA.
    c.key_management_mobility = c.dynamic_keying && self.k_flag;
    // RFC 5648: an interface with a binding-id registers its own binding;
    // with two or more they go in one bulk BU.
    const auto with_bid = std::count_if(model.interfaces.begin(), model.interfaces.end(),
                                        [](const conf::Interface& i) { return i.binding_id.has_value(); });
    c.multiple_care_of_addresses = with_bid > 0;
    c.bulk_registration = with_bid > 1;
    // RFC 6275 sec. 13 InitialBindackTimeoutFirstReg and sec. 12
    // MAX_BINDACK_TIMEOUT; INITIAL_BINDACK_TIMEOUT stays the constant, kept
    // within the configured maximum.
    c.initial_bindack_timeout_first_reg = std::chrono::milliseconds{model.timers.retransmission_initial_ms};
    c.max_bindack_timeout = std::chrono::milliseconds{model.timers.retransmission_max_ms};
    c.initial_bindack_timeout = std::min(c.initial_bindack_timeout, c.max_bindack_timeout);
    std::vector<binding::BindingUpdateListConfig> out;
    for (const auto& ha : model.home->home_agent_addresses) {
        out.push_back(c);
        out.back().home_agent_address = ha.value;
    }
    return out;
}

std::optional<movement::MovementDetectorConfig> movement_detector_core_config(const conf::Model& model) {
    if (model.role == conf::Role::home_agent || !model.home) return std::nullopt;
    movement::MovementDetectorConfig c;
    for (const auto& i : model.interfaces) c.interfaces.push_back({i.name, i.preference, i.binding_id});
    // The home prefix is configured (bootstrapping it, RFC 5026, is not done).
    c.home_prefixes.push_back(model.home->home_prefix.value.normalized());
    return c;
}

// ---- Authorizer ----

ConfiguredAuthorizer::ConfiguredAuthorizer(std::vector<NodeAuthorization> nodes) : nodes_(std::move(nodes)) {}

const NodeAuthorization* ConfiguredAuthorizer::find_identity(std::string_view identity) const {
    for (const auto& n : nodes_)
        if (n.identity.value == identity) return &n;
    return nullptr;
}

const NodeAuthorization* ConfiguredAuthorizer::find_home_address(const Ipv6Address& home_address) const {
    return by_home_address(nodes_, home_address);
}

binding::AuthorizationAnswer ConfiguredAuthorizer::authorize(const binding::AuthorizationRequest& q) {
    using binding::AuthorizationVerdict;
    binding::AuthorizationAnswer a;
    const NodeAuthorization* node = find_identity(q.identity);
    if (!node) {
        // RFC 6275 sec. 10.3.1: 133 when we do not serve the home address at all.
        a.verdict = find_home_address(q.home_address) ? AuthorizationVerdict::administratively_prohibited
                                                      : AuthorizationVerdict::not_home_agent_for_this_mobile_node;
        return a;
    }
    // RFC 4877 sec. 4.3: the identity may register its own home address only.
    if (node->home_address != q.home_address) {
        a.verdict = AuthorizationVerdict::administratively_prohibited;
        return a;
    }
    if (q.mobile_router && !node->mobile_router) {
        a.verdict = AuthorizationVerdict::mobile_router_operation_not_permitted;   // RFC 3963 sec. 6
        return a;
    }
    if (q.mobile_router && !q.implicit_mode && q.prefixes) {
        for (const auto& p : *q.prefixes) {
            if (covers(*node, p)) continue;
            a.verdict = AuthorizationVerdict::not_authorized_for_prefix;   // RFC 3963 sec. 6
            return a;
        }
    }
    a.verdict = AuthorizationVerdict::authorized;
    if (q.mobile_router && q.implicit_mode) a.configured_prefixes = node->mobile_network_prefixes;
    a.key_management_mobility = node->key_management_mobility;
    return a;
}

// ---- Reload ----

std::string_view to_string(RemovalReason r) {
    switch (r) {
        case RemovalReason::node_removed: return "node-removed";
        case RemovalReason::binding_dropped: return "binding-dropped";
        case RemovalReason::not_authorized: return "not-authorized";
        case RemovalReason::key_management_mobility_withdrawn: return "key-management-mobility-withdrawn";
        case RemovalReason::home_prefix_removed: return "home-prefix-removed";
        case RemovalReason::home_agent_address_removed: return "home-agent-address-removed";
    }
    return "?";
}

std::optional<HomeAgentReconfiguration> plan_reconfiguration(const conf::Model& old_model,
                                                             const conf::Model& new_model,
                                                             const conf::Difference& d,
                                                             const binding::BindingCache& cache) {
    auto before = home_agent_core_config(old_model);
    auto after = home_agent_core_config(new_model);
    if (!before || !after) return std::nullopt;
    HomeAgentReconfiguration r;
    r.binding_cache_config_changed = !same(before->binding_cache, after->binding_cache);
    const auto& now_nodes = after->nodes;

    std::map<Ipv6Address, RemovalReason> removals;   // first reason wins; address order
    auto check = [&](const Ipv6Address& hoa, const NodeAuthorization& registered_by) {
        const binding::BindingCacheEntry* entry = cache.find(hoa);
        if (!entry) return;
        if (auto why = still_allowed(*entry, hoa, registered_by, now_nodes)) removals.try_emplace(hoa, *why);
    };
    for (const auto& ref : d.added)
        if (const auto* n = by_file(now_nodes, ref.source_file)) r.added.push_back(*n);
    for (const auto& ref : d.removed) {
        const auto* was = by_file(before->nodes, ref.source_file);
        if (!was) continue;
        r.removed.push_back(*was);
        check(was->home_address, *was);   // a renamed file keeps the binding
    }
    for (const auto& c : d.changed) {
        const auto* was = by_file(before->nodes, c.node.source_file);
        const auto* now = by_file(now_nodes, c.node.source_file);
        if (now) r.changed.push_back(*now);
        if (!was) continue;
        if (c.drop_binding && cache.find(was->home_address)) {
            removals.try_emplace(was->home_address, RemovalReason::binding_dropped);
            continue;
        }
        check(was->home_address, *was);
    }
    // Every binding against the new home link: prefixes, our addresses, a node at all.
    const auto& ha = *new_model.home_agent;
    for (const auto& [hoa, entry] : cache.entries()) {
        const bool on_link =
            std::any_of(after->binding_cache.home_prefixes.begin(), after->binding_cache.home_prefixes.end(),
                        [&](const binding::HomeLinkPrefix& h) { return h.prefix.contains(net::IpAddress{hoa}); });
        const bool ours = std::any_of(ha.addresses.begin(), ha.addresses.end(),
                                      [&](const auto& a) { return a.value == entry.home_agent_address; });
        if (!by_home_address(now_nodes, hoa)) removals.try_emplace(hoa, RemovalReason::node_removed);
        else if (!on_link) removals.try_emplace(hoa, RemovalReason::home_prefix_removed);
        else if (!ours) removals.try_emplace(hoa, RemovalReason::home_agent_address_removed);
    }
    for (const auto& [hoa, why] : removals) r.removals.push_back({hoa, why});
    r.config = std::move(*after);
    return r;
}

binding::Actions apply(const HomeAgentReconfiguration& plan, binding::BindingCache& cache,
                       ConfiguredAuthorizer& authorizer) {
    // New rules first, so nothing registers again under the old ones.
    authorizer.set_nodes(plan.config.nodes);
    cache.reconfigure(plan.config.binding_cache);
    binding::Actions out;
    for (const auto& removal : plan.removals) {
        binding::Actions removed = cache.remove_home_address(removal.home_address);
        for (auto& a : removed) out.push_back(std::move(a));
    }
    return out;
}

}  // namespace nemokey::mobility::config
