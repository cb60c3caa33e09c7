#include "mobility/core/dataplane/desired_state.hpp"

#include <algorithm>
#include <tuple>

#include "mobility/kernel/marks.hpp"

namespace nemokey::mobility::dataplane {

using namespace kernel;
using net::Ipv6Address;

namespace {

Prefix host(const Ipv6Address& a) { return Prefix{IpAddress{a}, 128}; }

IpAddress resolve(const conf::Endpoint& e, const Ipv6Address& coa) {
    return IpAddress{e.care_of_address ? coa : e.address};
}

PolicyDirection direction_of(conf::Direction d) {
    return d == conf::Direction::out ? PolicyDirection::out : PolicyDirection::in;
}

void add_policy(KernelObjects& k, const Policy& p) { k.policies.insert_or_assign(p.id, p); }

void add_route(KernelObjects& k, const Route& r) { k.routes.insert_or_assign(r.id, r); }

Sa ro_state(SaProtocol protocol, const Ipv6Address& src, const Ipv6Address& dst, const Ipv6Address& coa) {
    Sa s;
    s.id = SaId{IpAddress{src}, IpAddress{dst}, protocol, 0};
    s.mode = SaMode::route_optimization;
    s.care_of_address = IpAddress{coa};
    s.owner_mark = marks::sa_owner_mark;
    return s;
}

PolicyTemplate ro_template(SaProtocol protocol) {
    PolicyTemplate t;
    t.protocol = protocol;
    t.mode = SaMode::route_optimization;
    t.optional = true;   // "level use": absent state, no header (drafts-notes/linux-mip6-xfrm.md)
    return t;
}

bool needs_care_of_address(const conf::SpdEntry& e) {
    return (e.tunnel_source && e.tunnel_source->care_of_address) ||
           (e.tunnel_destination && e.tunnel_destination->care_of_address);
}

// A main policy of an SPD entry (ESP only). Inbound MH policies carry no MH
// type selector: Linux 6.1's decode_session6 reads the type at a wrong
// offset unless exactly one extension header precedes the MH (note F3).
Policy main_policy(const conf::SpdEntry& e, const Ipv6Address& coa) {
    Policy p = to_policy(e, coa);
    if (e.direction == conf::Direction::in && e.selector.protocol == conf::ip_proto_mh) p.id.selector.type.reset();
    return p;
}

// The main policies (and fwd copies of inbound tunnel-mode ones) of the
// entries that do, or do not, need a care-of address.
void add_main_policies(KernelObjects& k, const std::vector<conf::SpdEntry>& spd, const Ipv6Address& coa,
                       bool with_care_of_address) {
    for (const auto& e : spd) {
        if (needs_care_of_address(e) != with_care_of_address) continue;
        Policy p = main_policy(e, coa);
        add_policy(k, p);
        if (e.mode == conf::IpsecMode::tunnel && e.direction == conf::Direction::in) {
            // Linux checks forwarded packets against fwd policies: traffic of
            // a mobile network crosses the home agent or the mobile router.
            Policy fwd = p;
            fwd.id.direction = PolicyDirection::fwd;
            add_policy(k, fwd);
        }
    }
}

// A sub policy with one optional route-optimisation template.
Policy ro_policy(const Selector& selector, PolicyDirection direction, SaProtocol protocol, uint32_t priority) {
    Policy p;
    p.id.selector = selector;
    p.id.direction = direction;
    p.id.type = PolicyType::sub;
    p.priority = priority;
    p.templates.push_back(ro_template(protocol));
    return p;
}

Prefix any_prefix() { return Prefix{IpAddress{Ipv6Address{}}, 0}; }

// An inbound tunnel-mode entry for every protocol (the payload class, RFC
// 4877 sec. 4.2 / RFC 3963 sec. 5.5) that covers the home address.
bool has_payload_tunnel(const std::vector<conf::SpdEntry>& spd) {
    return std::any_of(spd.begin(), spd.end(), [](const conf::SpdEntry& e) {
        return e.mode == conf::IpsecMode::tunnel && e.direction == conf::Direction::in &&
               e.selector.protocol == conf::ip_proto_any;
    });
}

// A main policy with no template: the packet passes as it is (RFC 4301
// sec. 4.4.1 BYPASS).
Policy bypass_policy(const Selector& selector, PolicyDirection direction) {
    Policy p;
    p.id.selector = selector;
    p.id.direction = direction;
    p.priority = marks::policy_priority_min;
    return p;
}

// Linux checks the inbound policy of the still encrypted ESP of the
// signalling once the Home Address option or type 2 routing header has put
// the home address in its header (note F1). Without a policy of its own
// that packet would meet the payload entry (any protocol, ESP tunnel mode)
// and be dropped as XfrmInTmplMismatch before it is decrypted; this entry
// lets it reach ESP, whose result the signalling entry checks as before.
Policy esp_before_decryption(const Ipv6Address& from, const Ipv6Address& to) {
    return bypass_policy(Selector{host(from), host(to), 50, std::nullopt}, PolicyDirection::in);
}

// RFC 6275 sec. 6.3 / 6.4 around the signalling of one node with the
// care-of address `coa`: the states, and the sub policies of the SPD
// entries that carry a Home Address option or a type 2 routing header.
void add_route_optimisation(KernelObjects& k, const std::vector<conf::SpdEntry>& spd, const Ipv6Address& hoa,
                            const Ipv6Address& ha, const Ipv6Address& coa, bool local_is_home_agent) {
    // The Home Address option travels from the mobile node to the home
    // agent, the type 2 routing header the other way.
    k.sas.insert_or_assign(SaId{IpAddress{hoa}, IpAddress{ha}, SaProtocol::home_address, 0},
                           ro_state(SaProtocol::home_address, hoa, ha, coa));
    k.sas.insert_or_assign(SaId{IpAddress{ha}, IpAddress{hoa}, SaProtocol::route2, 0},
                           ro_state(SaProtocol::route2, ha, hoa, coa));
    for (const auto& e : spd) {
        if (e.mip6_header == conf::Mip6Header::none) continue;
        const bool outbound = e.direction == conf::Direction::out;
        // The home agent's inbound HAO is covered by its always-present
        // wildcard policies (a first BU comes before any binding).
        if (local_is_home_agent && !outbound) continue;
        const uint32_t priority = std::min(marks::policy_priority_min + e.priority, marks::policy_priority_max);
        Selector sel{e.selector.source, e.selector.destination, e.selector.protocol, e.selector.type};
        if (!outbound && sel.protocol == conf::ip_proto_mh) sel.type.reset();   // note F3
        const SaProtocol protocol = e.mip6_header == conf::Mip6Header::home_address_option ? SaProtocol::home_address
                                                                                           : SaProtocol::route2;
        add_policy(k, ro_policy(sel, outbound ? PolicyDirection::out : PolicyDirection::in, protocol, priority));
        if (!outbound) {
            // ESP after a type 2 routing header: xfrm_interface checks the
            // policy of the still encrypted packet (note F1).
            Selector esp{sel.source, sel.destination, 50, std::nullopt};
            add_policy(k, ro_policy(esp, PolicyDirection::in, protocol, priority));
        }
    }
}

// The home agent's objects that exist whatever the bindings (per address).
void add_home_agent_signalling(KernelObjects& k, const Ipv6Address& ha, bool unprotected) {
    Sa wildcard;
    wildcard.id = SaId{IpAddress{Ipv6Address{}}, IpAddress{Ipv6Address{}}, SaProtocol::home_address, 0};
    wildcard.mode = SaMode::route_optimization;
    wildcard.care_of_address = IpAddress{Ipv6Address{}};
    wildcard.wildcard_receive = true;
    wildcard.owner_mark = marks::sa_owner_mark;
    k.sas.insert_or_assign(wildcard.id, wildcard);
    const Prefix to_ha{IpAddress{ha}, 128};
    const uint32_t priority = marks::policy_priority_min;
    add_policy(k, ro_policy(Selector{any_prefix(), to_ha, conf::ip_proto_mh, std::nullopt}, PolicyDirection::in,
                            SaProtocol::home_address, priority));
    add_policy(k, ro_policy(Selector{any_prefix(), to_ha, 50, std::nullopt}, PolicyDirection::in,
                            SaProtocol::home_address, priority));
    if (unprotected) return;   // benchmarks only (HomeAgentDataPlane)
    // Every MH to the home agent that no node's policy (with its ESP SA)
    // takes is refused by the kernel (RFC 6275 sec. 10.3.1: BUs must be
    // protected; RFC 3776 sec. 4.1).
    Policy block;
    block.id.selector = Selector{any_prefix(), to_ha, conf::ip_proto_mh, std::nullopt};
    block.id.direction = PolicyDirection::in;
    block.priority = marks::policy_priority_max;
    block.action = PolicyAction::block;
    add_policy(k, block);
}

// RFC 6275 sec. 10.4.5: the handle a filter would like, stable for as long
// as the binding lives (its inner source and binding id; a handover changes
// only the outer source, so the filter is replaced in place). FNV-1a, fixed
// here: the handles are part of what a restarted daemon finds in the kernel.
uint32_t preferred_filter_handle(const Prefix& inner, uint16_t binding_id) {
    uint32_t h = 2166136261u;
    auto mix = [&](uint8_t b) { h = (h ^ b) * 16777619u; };
    for (uint8_t b : std::get<Ipv6Address>(inner.address).bytes) mix(b);
    mix(inner.length);
    mix(uint8_t(binding_id >> 8));
    mix(uint8_t(binding_id));
    return h == 0 ? 1 : h;
}

// One pass filter per binding of the entry (home address, that binding's
// care-of address) and one per mobile network prefix with the care-of
// address of the binding that owns the routes (RFC 3963 sec. 6). Their
// handles are the preferred ones; desired_state() settles collisions.
void add_reverse_tunnel_filters(KernelObjects& k, const Ipv6Address& hoa, const binding::BindingCacheEntry& e,
                                const std::string& device) {
    auto add = [&](const Prefix& inner, uint16_t binding_id, const Ipv6Address& coa) {
        TunnelFilter f;
        f.id = TunnelFilterId{device, marks::filter_priority_min, preferred_filter_handle(inner, binding_id)};
        f.inner_source = inner;
        f.outer_source = IpAddress{coa};
        f.action = FilterAction::pass;
        // Two bindings (RFC 5648) at one care-of address: one filter (the
        // kernel refuses equal keys in one priority).
        for (const auto& [id, other] : k.tunnel_filters)
            if (other.inner_source == f.inner_source && other.outer_source == f.outer_source) return;
        while (k.tunnel_filters.contains(f.id)) f.id.handle = f.id.handle == 0xffffffffu ? 1 : f.id.handle + 1;
        k.tunnel_filters.emplace(f.id, f);
    };
    for (const auto& b : e.bindings) add(host(hoa), b.binding_id, b.care_of_address);
    for (const auto& p : e.mobile_network_prefixes) add(p.normalized(), 0, e.bindings.front().care_of_address);
}

// Two filters that would like the same handle: in order of (handle, inner
// source, outer source), each later one takes the next free handle. A pure
// function of the set, so a restart finds the same handles; a filter moves
// only when a colliding one comes or goes (rare: 32-bit hashes).
std::map<TunnelFilterId, TunnelFilter> settle_filter_handles(const std::map<TunnelFilterId, TunnelFilter>& wanted,
                                                             const std::vector<TunnelFilter>& extra) {
    std::map<TunnelFilterId, TunnelFilter> out = wanted;
    for (TunnelFilter f : extra) {
        while (out.contains(f.id)) f.id.handle = f.id.handle == 0xffffffffu ? 1 : f.id.handle + 1;
        out.emplace(f.id, f);
    }
    return out;
}

}  // namespace

Policy to_policy(const conf::SpdEntry& e, const Ipv6Address& coa) {
    Policy p;
    p.id.selector = Selector{e.selector.source, e.selector.destination, e.selector.protocol, e.selector.type};
    p.id.direction = direction_of(e.direction);
    p.priority = std::min(marks::policy_priority_min + e.priority, marks::policy_priority_max);
    PolicyTemplate t;
    t.protocol = SaProtocol::esp;
    t.reqid = e.reqid;
    if (e.mode == conf::IpsecMode::tunnel) {
        t.mode = SaMode::tunnel;
        if (e.tunnel_source) t.source = resolve(*e.tunnel_source, coa);
        if (e.tunnel_destination) t.destination = resolve(*e.tunnel_destination, coa);
    } else {
        t.mode = SaMode::transport;
    }
    p.templates.push_back(t);
    return p;
}

KernelObjects desired_state_of(const binding::BindingCache& cache, const Ipv6Address& hoa,
                               const HomeAgentDataPlane& plane) {
    KernelObjects k;
    const binding::BindingCacheEntry* e = cache.find(hoa);
    if (!e || e->bindings.empty()) return k;
    // The first binding owns the routes (RFC 5648 leaves the choice to the
    // home agent without flow bindings; RFC 6089 is not implemented).
    const Ipv6Address& coa = e->bindings.front().care_of_address;
    const Ipv6Address& ha = e->home_agent_address;
    auto encap_route = [&](const Prefix& destination) {
        Route r;
        r.id = RouteId{plane.route_table, destination.normalized(), 1024};
        r.device = plane.tunnel_device;
        r.encap_destination = IpAddress{coa};
        r.encap_source = IpAddress{ha};
        r.protocol = marks::protocol;
        return r;
    };
    add_route(k, encap_route(host(hoa)));   // RFC 6275 sec. 10.4.1
    for (const auto& p : e->mobile_network_prefixes) add_route(k, encap_route(p));   // RFC 3963 sec. 6
    if (plane.reverse_tunnel_check) add_reverse_tunnel_filters(k, hoa, *e, plane.tunnel_device);
    if (!plane.home_link_interface.empty()) {
        ProxyNeighbour n;
        n.id = ProxyNeighbourId{plane.home_link_interface, hoa};
        n.protocol = marks::protocol;
        k.proxy_neighbours.emplace(n.id, n);
    }
    if (auto s = plane.spd.find(hoa); s != plane.spd.end()) {
        if (!plane.unprotected_signalling) add_main_policies(k, s->second, coa, true);
        add_route_optimisation(k, s->second, hoa, ha, coa, true);
        if (!plane.unprotected_signalling && has_payload_tunnel(s->second))
            add_policy(k, esp_before_decryption(hoa, ha));
    }
    return k;
}

KernelObjects desired_state(const binding::BindingCache& cache, const HomeAgentDataPlane& plane) {
    KernelObjects k;
    Tunnel t;
    t.name = plane.tunnel_device;
    t.kind = TunnelKind::ip6ip6_external;
    k.tunnels.emplace(t.name, t);
    // RFC 6275 sec. 10.4.5: what comes out of the tunnel passes only through
    // a binding's filter; everything else meets the catch-all drop.
    if (plane.reverse_tunnel_check) {
        k.qdiscs.emplace(t.name, ClsactQdisc{t.name});
        TunnelFilter drop;
        drop.id = TunnelFilterId{t.name, marks::filter_priority_max, 1};
        drop.action = FilterAction::drop;
        k.tunnel_filters.emplace(drop.id, drop);
    }
    for (const auto& ha : plane.home_agent_addresses)
        add_home_agent_signalling(k, ha, plane.unprotected_signalling);
    // Every configured node: its SAs and the policies that need no binding.
    if (!plane.unprotected_signalling) {
        for (const auto& [hoa, spd] : plane.spd) add_main_policies(k, spd, Ipv6Address{}, false);
        for (const auto& [hoa, sas] : plane.static_sas)
            for (const auto& sa : sas) k.sas.insert_or_assign(sa.id, sa);
    }
    // The entries' pass filters, their handle collisions settled across
    // all entries (a handle is unique per priority of the device).
    std::vector<TunnelFilter> pass;
    for (const auto& [hoa, entry] : cache.entries()) {
        KernelObjects one = desired_state_of(cache, hoa, plane);
        for (auto& [id, f] : one.tunnel_filters) pass.push_back(f);
        one.tunnel_filters.clear();
        k.merge(one);
    }
    std::sort(pass.begin(), pass.end(), [](const TunnelFilter& a, const TunnelFilter& b) {
        return std::tie(a.id, a.inner_source, a.outer_source) < std::tie(b.id, b.inner_source, b.outer_source);
    });
    k.tunnel_filters = settle_filter_handles(k.tunnel_filters, pass);
    return k;
}

KernelObjects desired_state(const binding::BindingUpdateList& list, const MobileDataPlane& plane) {
    KernelObjects k;
    const auto& config = list.config();
    const Ipv6Address& hoa = config.home_address;
    const Ipv6Address& ha = config.home_agent_address;
    // The care-of address the SAs are at (or move to, by MIGRATE before the
    // BU), and the one the tunnel is installed for.
    Ipv6Address signalling_coa;
    std::optional<Ipv6Address> installed;
    // Back home (RFC 6275 sec. 11.5.5) nothing of the care-of address stays:
    // the deregistration leaves from the home address without a Home
    // Address option, and the BA arrives without a routing header.
    for (const auto& [id, e] : list.entries()) {
        if (e.state == binding::BulState::idle || list.returning_home()) continue;
        if (signalling_coa == Ipv6Address{} && e.care_of_address != hoa) signalling_coa = e.care_of_address;
        if (!installed && e.installed_care_of_address) installed = e.installed_care_of_address;
    }
    add_main_policies(k, plane.spd, signalling_coa, false);
    for (const auto& sa : plane.static_sas) k.sas.insert_or_assign(sa.id, sa);
    if (signalling_coa == Ipv6Address{}) return k;
    add_main_policies(k, plane.spd, signalling_coa, true);
    add_route_optimisation(k, plane.spd, hoa, ha, signalling_coa, false);
    if (has_payload_tunnel(plane.spd)) {
        add_policy(k, esp_before_decryption(ha, hoa));
        // The mobile link's own traffic (neighbour discovery, the router's
        // address in the prefix) stays on the link: the payload entries of
        // a prefix would otherwise send it to the home agent.
        if (config.mobile_router)
            for (const auto& p : plane.mobile_network_prefixes)
                for (auto d : {PolicyDirection::out, PolicyDirection::in})
                    add_policy(k, bypass_policy(Selector{p.normalized(), p.normalized(), conf::ip_proto_any, std::nullopt}, d));
    }

    // The tunnel stays at the care-of address the home agent has
    // registered until the BA for the new one arrives: the home agent
    // sends there meanwhile, and a link-layer-assisted handover (the old
    // link still up) loses nothing (RFC 6275 sec. 11.5.1).
    Tunnel t;
    t.name = plane.tunnel_device;
    t.kind = TunnelKind::ip6ip6;
    t.local = IpAddress{installed ? *installed : signalling_coa};
    t.remote = IpAddress{ha};
    k.tunnels.emplace(t.name, t);
    // The home agent moves its route to the new care-of address when it
    // accepts the BU, before its BA leaves: a tunnel with no local address
    // (Linux: per-packet capability) takes what arrives from the home agent
    // at any of our addresses that the tunnel above does not, so nothing
    // sent there meanwhile is lost. Nothing is routed into it.
    Tunnel receive;
    receive.name = plane.receive_tunnel_device;
    receive.kind = TunnelKind::ip6ip6;
    receive.remote = IpAddress{ha};
    k.tunnels.emplace(receive.name, receive);
    Address a;
    a.id = AddressId{plane.tunnel_device, host(hoa)};
    a.home_address = true;   // RFC 6275 sec. 11.3.1 source selection; no DAD away from home
    a.nodad = true;
    a.protocol = marks::protocol;
    k.addresses.emplace(a.id, a);
    if (!installed) return k;
    Route r;
    r.id = RouteId{plane.route_table, Prefix{IpAddress{Ipv6Address{}}, 0}, 1024};
    r.device = plane.tunnel_device;
    r.protocol = marks::protocol;
    add_route(k, r);
    uint32_t priority = plane.rule_priority;
    auto add_rule = [&](const Prefix& from) {
        Rule rule;
        rule.id = RuleId{priority++, from.normalized()};
        rule.table = plane.route_table;
        rule.protocol = marks::protocol;
        k.rules.emplace(rule.id, rule);
    };
    add_rule(host(hoa));
    if (config.mobile_router)
        for (const auto& p : plane.mobile_network_prefixes) add_rule(p);   // RFC 3963 sec. 5.5
    return k;
}

}  // namespace nemokey::mobility::dataplane
