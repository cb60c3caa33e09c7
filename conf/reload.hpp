// Reload: the exact difference between the running and the new
// configuration, so a home agent touches only the bindings that changed
// and keeps every other binding, SA and tunnel as it is. A bad new
// configuration never gets here: the parser refuses it whole and the old
// one stays (design.md, "Logging and errors").
#pragma once

#include "conf/model.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace nemokey::conf {

// What about a binding changed.
enum class Aspect {
    identity,
    role,
    home_address,
    ipv4_home_address,
    mobile_network_prefixes,  // IPv6 or IPv4 prefixes
    prefix_mode,
    keying,
    protection,
    k_flag,
    security_plan,  // the derived SPD/CHILD_SAs differ for another reason (HA address, HA credentials, reqid)
};

struct NodeRef {
    std::string source_file;  // the key: node files are matched by name
    Identity identity;

    bool operator==(const NodeRef&) const = default;
};

struct NodeChange {
    NodeRef node;  // identity as in the new configuration
    std::vector<Aspect> aspects;
    // The binding cache entry is keyed by home address and bound to the
    // identity and role (RFC 6275 sec. 10.3.1, RFC 3963 sec. 6.1): if one of
    // them changed the old binding is removed and the node registers anew;
    // otherwise the binding stays and only its policies, SAs, routes and
    // prefixes are updated.
    bool drop_binding = false;
};

struct Difference {
    // Keys of the main file that changed ("home-agent.addresses", "timers",
    // "interfaces", ...); node changes they cause are listed per node too.
    std::vector<std::string> global;
    std::vector<NodeRef> added;
    std::vector<NodeRef> removed;
    std::vector<NodeChange> changed;
    std::vector<NodeRef> unchanged;

    bool empty() const { return global.empty() && added.empty() && removed.empty() && changed.empty(); }
};

// Pure: compares two valid models of the same node (any role).
Difference diff(const Model& old_model, const Model& new_model);

std::string_view to_string(Aspect a);

// {"global": [...], "added": [...], "removed": [...], "changed": [{file,
// identity, aspects, drop-binding}], "unchanged": [...]}, for the
// config-reload answer of the control channel.
nlohmann::ordered_json to_json(const Difference& d);

}  // namespace nemokey::conf
