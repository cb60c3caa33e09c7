// The configuration model (conf/model.hpp) mapped onto the configurations
// of the binding state machines, in this one place: the home agent's
// BindingCacheConfig and the per-node data its Authorizer answers from,
// and one BindingUpdateListConfig per home agent of a mobile node or
// router. Reload (conf/reload.hpp) becomes the set of bindings a home agent
// must remove; everything else stays. Pure: models in, values out.
//
// The table of which key feeds which field is in drafts-notes/core-config.md.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/model.hpp"
#include "conf/reload.hpp"
#include "mobility/core/binding/actions.hpp"
#include "mobility/core/binding/binding_cache.hpp"
#include "mobility/core/binding/binding_update_list.hpp"
#include "mobility/core/movement/movement_detector.hpp"

namespace nemokey::mobility::config {

using binding::Ipv6Address;

// One mobile node or router as the home agent authorises it (RFC 4877 sec.
// 4.3: the IKE identity owns the home address; RFC 3963 sec. 6: a mobile
// router is authorised for its prefixes).
struct NodeAuthorization {
    conf::Identity identity;       // the IKEv2 peer identity; its value is what the SA reports
    std::string source_file;       // the node file, for logs
    Ipv6Address home_address;
    bool mobile_router = false;    // role mobile-router: may register with the R flag
    std::vector<net::Prefix> mobile_network_prefixes;   // IPv6, normalized
    binding::PrefixMode prefix_mode = binding::PrefixMode::explicit_mode;
    // K may be granted: IKEv2 keying with k-flag on (RFC 6275 sec. 10.3.1,
    // RFC 4877 sec. 4.4); static keys have no IKE SA to move.
    bool key_management_mobility = false;
    bool dynamic_keying = false;   // IKEv2 keying

    bool operator==(const NodeAuthorization&) const = default;
};

struct HomeAgentCoreConfig {
    binding::BindingCacheConfig binding_cache;
    std::vector<NodeAuthorization> nodes;   // in the model's order (node file name)
};

// nullopt when the model is not a home agent's.
std::optional<HomeAgentCoreConfig> home_agent_core_config(const conf::Model& model);
NodeAuthorization node_authorization(const conf::Binding& node);

// One binding update list per home agent address, in the configured order
// (the daemon registers with the first and falls back to the next); empty
// when the model is not a mobile node's or router's.
std::vector<binding::BindingUpdateListConfig> mobile_node_core_config(const conf::Model& model);

// Movement detection (RFC 6275 sec. 11.5) of a mobile node or router: its
// access interfaces with preference and binding-id, and the home prefix
// (sec. 11.5.2); the hold-down and settle times keep their defaults.
// nullopt when the model is a home agent's.
std::optional<movement::MovementDetectorConfig> movement_detector_core_config(const conf::Model& model);

// The Authorizer of a home agent, answering from the configured nodes:
//   identity unknown: 133 if no node has the home address, 129 otherwise
//   identity bound to another home address: 129
//   R flag from a mobile node: 140
//   explicit prefixes not inside the node's prefixes: 142
//   implicit mode: the node's prefixes (none: the cache answers 143)
//   K: only for nodes whose keying allows it
// Identities are compared by value, as the key manager reports them.
class ConfiguredAuthorizer final : public binding::Authorizer {
public:
    explicit ConfiguredAuthorizer(std::vector<NodeAuthorization> nodes = {});
    binding::AuthorizationAnswer authorize(const binding::AuthorizationRequest& request) override;

    void set_nodes(std::vector<NodeAuthorization> nodes) { nodes_ = std::move(nodes); }
    const std::vector<NodeAuthorization>& nodes() const { return nodes_; }
    const NodeAuthorization* find_identity(std::string_view identity) const;
    const NodeAuthorization* find_home_address(const Ipv6Address& home_address) const;

private:
    std::vector<NodeAuthorization> nodes_;
};

// ---- Reload on the home agent ----

// Why a binding goes on reload.
enum class RemovalReason {
    node_removed,                     // its node file is gone
    binding_dropped,                  // identity, role or home address changed (conf::NodeChange::drop_binding)
    not_authorized,                   // the node no longer covers the entry's role or prefixes
    key_management_mobility_withdrawn,  // K granted, the keying or k-flag no longer allows it
    home_prefix_removed,              // the home address is off every home prefix
    home_agent_address_removed,       // the entry was registered with an address no longer ours
};
std::string_view to_string(RemovalReason r);

struct BindingRemoval {
    Ipv6Address home_address;
    RemovalReason reason = RemovalReason::node_removed;

    bool operator==(const BindingRemoval&) const = default;
};

struct HomeAgentReconfiguration {
    HomeAgentCoreConfig config;                  // the new configuration
    bool binding_cache_config_changed = false;   // lifetimes, home prefixes, capabilities
    std::vector<NodeAuthorization> added;        // authorisation added
    std::vector<NodeAuthorization> removed;      // authorisation withdrawn (as it was)
    std::vector<NodeAuthorization> changed;      // new authorisation of changed nodes
    std::vector<BindingRemoval> removals;        // bindings to remove, in home address order
};

// What a reload changes on a home agent whose cache is `cache`: bindings
// of removed nodes and of changed nodes no longer authorised go, and so do
// bindings off the new home prefixes or registered with a home agent
// address no longer configured; every other binding stays as it is. A node
// file that was only renamed (same identity and home address) keeps its
// binding. nullopt unless both models are a home agent's.
std::optional<HomeAgentReconfiguration> plan_reconfiguration(const conf::Model& old_model,
                                                             const conf::Model& new_model,
                                                             const conf::Difference& difference,
                                                             const binding::BindingCache& cache);

// Puts the plan in place: the authorizer answers from the new nodes, the
// cache takes the new configuration, and each removal's actions (RemoveRoutes,
// CancelTimer, RemoveBinding, CommitKernelState) come back in order.
binding::Actions apply(const HomeAgentReconfiguration& plan, binding::BindingCache& cache,
                       ConfiguredAuthorizer& authorizer);

}  // namespace nemokey::mobility::config
