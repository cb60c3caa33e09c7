#include "mobility/kernel/objects.hpp"

#include "mobility/kernel/marks.hpp"

namespace nemokey::mobility::kernel {

namespace {

template <class Map>
void merge_map(Map& into, const Map& from) {
    for (const auto& [k, v] : from) into.insert_or_assign(k, v);
}

template <class Map>
Map owned_of(const Map& all) {
    Map out;
    for (const auto& [k, v] : all)
        if (marks::owned(v)) out.emplace(k, v);
    return out;
}

const char* protocol_name(SaProtocol p) {
    switch (p) {
        case SaProtocol::esp: return "esp";
        case SaProtocol::route2: return "route2";
        case SaProtocol::home_address: return "hao";
    }
    return "?";
}

const char* direction_name(PolicyDirection d) {
    switch (d) {
        case PolicyDirection::in: return "in";
        case PolicyDirection::out: return "out";
        case PolicyDirection::fwd: return "fwd";
    }
    return "?";
}

}  // namespace

bool same_state(const SaId& a, const SaId& b) {
    if (a.protocol != b.protocol || a.destination != b.destination) return false;
    if (a.protocol == SaProtocol::esp) return a.spi == b.spi;
    return a.source == b.source;
}

void KernelObjects::merge(const KernelObjects& o) {
    merge_map(tunnels, o.tunnels);
    merge_map(addresses, o.addresses);
    merge_map(sas, o.sas);
    merge_map(policies, o.policies);
    merge_map(rules, o.rules);
    merge_map(routes, o.routes);
    merge_map(proxy_neighbours, o.proxy_neighbours);
    merge_map(qdiscs, o.qdiscs);
    merge_map(tunnel_filters, o.tunnel_filters);
}

KernelObjects marks::owned_only(const KernelObjects& all) {
    KernelObjects out;
    out.tunnels = owned_of(all.tunnels);
    out.addresses = owned_of(all.addresses);
    out.sas = owned_of(all.sas);
    out.policies = owned_of(all.policies);
    out.rules = owned_of(all.rules);
    out.routes = owned_of(all.routes);
    out.proxy_neighbours = owned_of(all.proxy_neighbours);
    out.qdiscs = owned_of(all.qdiscs);
    out.tunnel_filters = owned_of(all.tunnel_filters);
    return out;
}

std::string to_string(const Selector& s) {
    std::string out = "src " + s.source.to_string() + " dst " + s.destination.to_string();
    if (s.protocol != 0) out += " proto " + std::to_string(s.protocol);
    if (s.type) out += " type " + std::to_string(*s.type);
    return out;
}

std::string to_string(const SaId& id) {
    return std::string(protocol_name(id.protocol)) + " " + net::to_string(id.source) + " -> " +
           net::to_string(id.destination) + " spi " + std::to_string(id.spi);
}

std::string to_string(const PolicyId& id) {
    return to_string(id.selector) + " dir " + direction_name(id.direction) +
           (id.type == PolicyType::sub ? " ptype sub" : "");
}

std::string to_string(const RouteId& id) {
    return id.destination.to_string() + " table " + std::to_string(id.table) + " metric " +
           std::to_string(id.metric);
}

std::string to_string(const RuleId& id) {
    return "pref " + std::to_string(id.priority) +
           (id.source ? " from " + id.source->to_string() : std::string{});
}

std::string to_string(const AddressId& id) { return id.address.to_string() + " dev " + id.interface; }

std::string to_string(const ProxyNeighbourId& id) {
    return "proxy " + id.address.to_string() + " dev " + id.interface;
}

std::string to_string(const TunnelFilterId& id) {
    return "filter dev " + id.device + " ingress pref " + std::to_string(id.priority) + " handle " +
           std::to_string(id.handle);
}

std::string to_string(const TunnelFilter& f) {
    return to_string(f.id) + (f.inner_source ? " src " + f.inner_source->to_string() : std::string(" any")) +
           (f.outer_source ? " enc-src " + net::to_string(*f.outer_source) : std::string{}) +
           (f.action == FilterAction::pass ? " pass" : " drop");
}

namespace {

std::string opt(const char* name, const std::optional<IpAddress>& a) {
    return a ? std::string(" ") + name + " " + net::to_string(*a) : std::string{};
}

std::string algorithm(const char* name, const std::optional<SaAlgorithm>& a) {
    if (!a) return {};
    std::string key;
    for (uint8_t b : a->key) {
        static const char hex[] = "0123456789abcdef";
        key += hex[b >> 4];
        key += hex[b & 15];
    }
    return std::string(" ") + name + " " + a->name + " 0x" + key + " " + std::to_string(a->icv_or_truncation_bits);
}

}  // namespace

std::string to_string(const KernelObjects& k) {
    std::string out;
    for (const auto& [n, t] : k.tunnels)
        out += "tunnel " + n + (t.kind == TunnelKind::ip6ip6_external ? " external" : " ip6ip6") +
               opt("local", t.local) + opt("remote", t.remote) + (t.link.empty() ? "" : " link " + t.link) + "\n";
    for (const auto& [id, a] : k.addresses)
        out += "address " + to_string(id) + (a.home_address ? " home" : "") + (a.nodad ? " nodad" : "") +
               " proto " + std::to_string(a.protocol) + "\n";
    for (const auto& [id, s] : k.sas) {
        out += "sa " + to_string(id) + " mode " + std::to_string(int(s.mode)) + " reqid " + std::to_string(s.reqid);
        if (s.selector) out += " sel " + to_string(*s.selector);
        out += algorithm("aead", s.aead) + algorithm("enc", s.encryption) + algorithm("auth", s.integrity) +
               opt("coa", s.care_of_address);
        if (s.wildcard_receive) out += " wildrecv";
        if (s.owner_mark) out += " mark " + std::to_string(*s.owner_mark);
        out += "\n";
    }
    for (const auto& [id, p] : k.policies) {
        out += "policy " + to_string(id) + " priority " + std::to_string(p.priority) +
               (p.action == PolicyAction::block ? " block" : "");
        for (const auto& t : p.templates)
            out += " [" + std::string(protocol_name(t.protocol)) + " mode " + std::to_string(int(t.mode)) + " reqid " +
                   std::to_string(t.reqid) + opt("src", t.source) + opt("dst", t.destination) +
                   (t.optional ? " optional" : "") + "]";
        out += "\n";
    }
    for (const auto& [id, r] : k.rules)
        out += "rule " + to_string(id) + " table " + std::to_string(r.table) + " proto " + std::to_string(r.protocol) + "\n";
    for (const auto& [id, r] : k.routes)
        out += "route " + to_string(id) + " dev " + r.device + opt("via", r.gateway) + opt("encap-dst", r.encap_destination) +
               opt("encap-src", r.encap_source) + opt("src", r.preferred_source) + " proto " +
               std::to_string(r.protocol) + "\n";
    for (const auto& [id, n] : k.proxy_neighbours)
        out += to_string(id) + " proto " + std::to_string(n.protocol) + "\n";
    for (const auto& [dev, q] : k.qdiscs) out += "qdisc clsact dev " + dev + "\n";
    for (const auto& [id, f] : k.tunnel_filters) out += to_string(f) + "\n";
    return out.empty() ? "(nothing)\n" : out;
}

}  // namespace nemokey::mobility::kernel
