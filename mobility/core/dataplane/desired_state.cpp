#include "mobility/core/dataplane/desired_state.hpp"

#include <algorithm>

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

// SPD entries plus the route-optimisation states of RFC 6275 sec. 6.3/6.4
// that the kernel adds around them. `local_is_home_agent`: which end we are.
void add_security(KernelObjects& k, const std::vector<conf::SpdEntry>& spd, const Ipv6Address& hoa,
                  const Ipv6Address& ha, const Ipv6Address& coa, bool local_is_home_agent) {
    for (const auto& e : spd) {
        const bool needs_coa = (e.tunnel_source && e.tunnel_source->care_of_address) ||
                               (e.tunnel_destination && e.tunnel_destination->care_of_address) ||
                               e.mip6_header != conf::Mip6Header::none;
        if (needs_coa && coa == Ipv6Address{}) continue;   // no care-of address yet
        Policy p = to_policy(e, coa);
        if (e.mip6_header != conf::Mip6Header::none) {
            PolicyTemplate ro;
            ro.mode = SaMode::route_optimization;
            ro.optional = true;
            if (e.mip6_header == conf::Mip6Header::home_address_option) {
                ro.protocol = SaProtocol::home_address;
                // The Home Address option travels from the mobile node to the home agent.
                k.sas.emplace(SaId{IpAddress{hoa}, IpAddress{ha}, SaProtocol::home_address, 0},
                              ro_state(SaProtocol::home_address, hoa, ha, coa));
            } else {
                ro.protocol = SaProtocol::route2;
                k.sas.emplace(SaId{IpAddress{ha}, IpAddress{hoa}, SaProtocol::route2, 0},
                              ro_state(SaProtocol::route2, ha, hoa, coa));
            }
            ro.source = IpAddress{local_is_home_agent == (e.direction == conf::Direction::out) ? ha : hoa};
            ro.destination = IpAddress{coa};
            p.templates.push_back(ro);
        }
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
    if (!plane.home_link_interface.empty()) {
        ProxyNeighbour n;
        n.id = ProxyNeighbourId{plane.home_link_interface, hoa};
        n.protocol = marks::protocol;
        k.proxy_neighbours.emplace(n.id, n);
    }
    if (auto s = plane.spd.find(hoa); s != plane.spd.end()) add_security(k, s->second, hoa, ha, coa, true);
    if (auto s = plane.static_sas.find(hoa); s != plane.static_sas.end())
        for (const auto& sa : s->second) k.sas.insert_or_assign(sa.id, sa);
    return k;
}

KernelObjects desired_state(const binding::BindingCache& cache, const HomeAgentDataPlane& plane) {
    KernelObjects k;
    Tunnel t;
    t.name = plane.tunnel_device;
    t.kind = TunnelKind::ip6ip6_external;
    k.tunnels.emplace(t.name, t);
    for (const auto& [hoa, entry] : cache.entries()) k.merge(desired_state_of(cache, hoa, plane));
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
    for (const auto& [id, e] : list.entries()) {
        if (e.state == binding::BulState::idle) continue;
        if (signalling_coa == Ipv6Address{} && e.care_of_address != hoa) signalling_coa = e.care_of_address;
        if (!installed && e.installed_care_of_address) installed = e.installed_care_of_address;
    }
    add_security(k, plane.spd, hoa, ha, signalling_coa, false);
    for (const auto& sa : plane.static_sas) k.sas.insert_or_assign(sa.id, sa);
    if (!installed) return k;

    Tunnel t;
    t.name = plane.tunnel_device;
    t.kind = TunnelKind::ip6ip6;
    t.local = IpAddress{*installed};
    t.remote = IpAddress{ha};
    k.tunnels.emplace(t.name, t);
    Address a;
    a.id = AddressId{plane.tunnel_device, host(hoa)};
    a.home_address = true;   // RFC 6275 sec. 11.3.1 source selection; no DAD away from home
    a.nodad = true;
    a.protocol = marks::protocol;
    k.addresses.emplace(a.id, a);
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
