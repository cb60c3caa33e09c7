// The desired kernel state of the core: from the binding cache (home agent)
// or the binding update list (mobile node / router) and the data-plane
// settings, every kernel object the bindings need, as kernel::KernelObjects.
// The daemon reconciles it with what the kernel holds (mobility/kernel/
// reconcile.hpp) on every CommitKernelState, after a restart, and at
// shutdown (desired = nothing). Pure.
//
// Home agent, per home address (RFC 6275 sec. 10.4.1, RFC 3963 sec. 6):
//   one external (collect_md) ip6 tunnel device for all bindings; a route
//   for the home address and one per mobile network prefix with encap ip6
//   to the care-of address of the binding that owns them (the first one
//   under MCoA); a proxy neighbour entry on the home link; the SPD entries
//   of the node's security plan with the care-of address filled in (tunnel
//   mode also as fwd, for forwarded traffic), and route2 / hao states for
//   the BA's type 2 routing header and the BU's Home Address option.
// Mobile node / router, while away (RFC 6275 sec. 11.3.1, RFC 3963 sec. 5):
//   an ip6ip6 tunnel from the care-of address to the home agent; the home
//   address on it (home-address flag, no DAD); rules sending traffic from
//   the home address and the mobile network prefixes to a table whose
//   default route is the tunnel; the SPD entries with the care-of address;
//   hao / route2 states for BU and BA. The signalling SPD entries (BU/BA,
//   transport mode between home address and home agent) are there from the
//   start: the first BU needs them.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "conf/plan.hpp"
#include "mobility/core/binding/binding_cache.hpp"
#include "mobility/core/binding/binding_update_list.hpp"
#include "mobility/kernel/objects.hpp"

namespace nemokey::mobility::dataplane {

struct HomeAgentDataPlane {
    std::string home_link_interface;
    std::string tunnel_device = "nk-ha0";
    uint32_t route_table = 254;
    // Per home address: the node's SPD entries (conf::derive_plan) and, under
    // static keying, its complete SAs (keys read by the daemon).
    std::map<net::Ipv6Address, std::vector<conf::SpdEntry>> spd;
    std::map<net::Ipv6Address, std::vector<kernel::Sa>> static_sas;
};

struct MobileDataPlane {
    std::string tunnel_device = "nk-mn0";
    uint32_t route_table = 200;
    uint32_t rule_priority = 0x4e00;   // within marks::rule_priority_min..max
    std::vector<net::Prefix> mobile_network_prefixes;   // source rules (mobile router)
    std::vector<conf::SpdEntry> spd;
    std::vector<kernel::Sa> static_sas;
};

kernel::KernelObjects desired_state(const binding::BindingCache& cache, const HomeAgentDataPlane& plane);
// One home address's part (empty when the cache has no entry for it).
kernel::KernelObjects desired_state_of(const binding::BindingCache& cache, const net::Ipv6Address& home_address,
                                       const HomeAgentDataPlane& plane);
kernel::KernelObjects desired_state(const binding::BindingUpdateList& list, const MobileDataPlane& plane);

// The kernel policy of one SPD entry, the care-of address filled in.
kernel::Policy to_policy(const conf::SpdEntry& entry, const net::Ipv6Address& care_of_address);

}  // namespace nemokey::mobility::dataplane
