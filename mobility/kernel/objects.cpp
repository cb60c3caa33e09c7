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

void KernelObjects::merge(const KernelObjects& o) {
    merge_map(tunnels, o.tunnels);
    merge_map(addresses, o.addresses);
    merge_map(sas, o.sas);
    merge_map(policies, o.policies);
    merge_map(rules, o.rules);
    merge_map(routes, o.routes);
    merge_map(proxy_neighbours, o.proxy_neighbours);
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
    return to_string(id.selector) + " dir " + direction_name(id.direction);
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

}  // namespace nemokey::mobility::kernel
