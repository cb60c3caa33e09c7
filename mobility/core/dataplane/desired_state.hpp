// The desired kernel state of the core: from the binding cache (home agent)
// or the binding update list (mobile node / router) and the data-plane
// settings, every kernel object the bindings need, as kernel::KernelObjects.
// The daemon reconciles it with what the kernel holds (mobility/kernel/
// reconcile.hpp) on every CommitKernelState, after a restart, and at
// shutdown (desired = nothing). Pure.
//
// The IPsec and route-optimisation part follows the configuration proven
// on Linux 6.1 (drafts-notes/linux-mip6-xfrm.md): ESP templates in main
// policies that exist as long as the node is configured, the Home Address
// option and type 2 routing header templates (hao / route2, optional) in
// sub policies and states that exist while a care-of address is in use.
//
// Home agent, always (per home agent address): a wildcard-receive hao state
//   (a first registration's BU carries a HAO no state knows yet, RFC 6275
//   sec. 9.3.1), sub inbound policies for MH and ESP with the optional hao
//   template (ESP: xfrm_interface checks policy before decrypting), and a
//   block policy for every other MH to the home agent (a BU without its
//   node's ESP SA never reaches the socket). With unprotected_signalling
//   (benchmarks only) no block policy, no ESP policy and no SA at all.
// Home agent, per configured node: its static SAs and the main policies of
//   its SPD entries that need no care-of address (inbound without an MH
//   type selector: Linux 6.1 reads the type at a wrong offset, note F3).
// Home agent, per home address with a binding (RFC 6275 sec. 10.4.1, RFC
//   3963 sec. 6): one external (collect_md) ip6 tunnel device for all
//   bindings; a route for the home address and one per mobile network
//   prefix with encap ip6 to the care-of address of the binding that owns
//   them (the first one under MCoA); a proxy neighbour entry on the home
//   link; route2 and hao states with the care-of address and the sub
//   policy adding the type 2 routing header to the BA; the tunnel-mode SPD
//   entries with the care-of address (inbound also as fwd); the
//   reverse-tunnel check (RFC 6275 sec. 10.4.5, RFC 3963 sec. 6): per
//   binding a filter on the tunnel's ingress passing packets from the home
//   address whose outer source is that binding's care-of address, and one
//   per mobile network prefix with the owning binding's care-of address.
// Home agent, always: the tunnel device with a clsact qdisc and, at the
//   lowest filter priority, a filter dropping everything else that comes
//   out of it (unregistered inner sources, wrong outer sources).
// Mobile node / router, always: static SAs and the main policies of the
//   SPD entries that need no care-of address (BU/BA, RFC 6275 sec. 5.1).
// Mobile node / router, while registering or registered from a care-of
//   address (RFC 6275 sec. 11.3.1, RFC 3963 sec. 5): hao and route2 states
//   and their sub policies (BU out, BA and ESP in); an ip6ip6 tunnel from
//   the care-of address to the home agent holding the home address
//   (home-address flag, no DAD: the kernel accepts a type 2 routing header
//   only for a home address, and the first BU leaves from it); a second,
//   receive-only ip6ip6 tunnel from the home agent to any local address
//   (what the home agent sends to the new care-of address before the BA
//   arrives); the tunnel-mode SPD entries with the care-of address.
// Mobile node / router, once a binding is installed: rules sending traffic
//   from the home address and the mobile network prefixes to a table whose
//   default route is the tunnel.
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
    // The home agent's own addresses: the always-present signalling
    // objects are per address (none without).
    std::vector<net::Ipv6Address> home_agent_addresses;
    std::string tunnel_device = "nk-ha0";
    uint32_t route_table = 254;
    // The reverse-tunnel check's qdisc and filters (kernel feature
    // tunnel-filter); without, the tunnel forwards what any source sends.
    bool reverse_tunnel_check = true;
    // Per home address: the node's SPD entries (conf::derive_plan) and, under
    // static keying, its complete SAs (keys read by the daemon).
    std::map<net::Ipv6Address, std::vector<conf::SpdEntry>> spd;
    std::map<net::Ipv6Address, std::vector<kernel::Sa>> static_sas;
    // Load benchmarks only ([benchmark] unprotected-binding-updates with
    // mobilityd --benchmark-unprotected-bus): no ESP main policies, SAs or
    // block policy, so BUs arrive without ESP (RFC 6275 sec. 5.1 requires
    // it); the route-optimisation states and sub policies stay.
    bool unprotected_signalling = false;
};

struct MobileDataPlane {
    std::string tunnel_device = "nk-mn0";
    // Receive only, local address any: packets the home agent tunnels to a
    // care-of address the tunnel above is not at (yet), see desired_state.
    std::string receive_tunnel_device = "nk-mn1";
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
