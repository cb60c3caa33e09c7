#include "mobility/kernel/reconcile.hpp"

namespace nemokey::mobility::kernel {

namespace {

// Installs for keys missing from `actual` or holding another value.
template <class Map, class Make>
void installs(const Map& desired, const Map& actual, std::vector<Operation>& out, Make make) {
    for (const auto& [key, want] : desired) {
        auto it = actual.find(key);
        if (it == actual.end() || !(it->second == want)) out.push_back(make(want));
    }
}

// Removals for keys of `actual` that `desired` lacks.
template <class Map, class Make>
void removals(const Map& desired, const Map& actual, std::vector<Operation>& out, Make make) {
    for (const auto& [key, have] : actual)
        if (!desired.contains(key)) out.push_back(make(key));
}

}  // namespace

std::vector<Operation> reconcile(const KernelObjects& desired, const KernelObjects& actual) {
    std::vector<Operation> out;
    const auto mode = InstallMode::replace;
    installs(desired.tunnels, actual.tunnels, out, [&](const Tunnel& t) { return InstallTunnel{t, mode}; });
    installs(desired.addresses, actual.addresses, out, [&](const Address& a) { return InstallAddress{a, mode}; });
    installs(desired.sas, actual.sas, out, [&](const Sa& s) { return InstallSa{s, mode}; });
    installs(desired.policies, actual.policies, out, [&](const Policy& p) { return InstallPolicy{p, mode}; });
    installs(desired.rules, actual.rules, out, [&](const Rule& r) { return InstallRule{r, mode}; });
    installs(desired.routes, actual.routes, out, [&](const Route& r) { return InstallRoute{r, mode}; });
    installs(desired.proxy_neighbours, actual.proxy_neighbours, out,
             [&](const ProxyNeighbour& n) { return InstallProxyNeighbour{n, mode}; });
    installs(desired.qdiscs, actual.qdiscs, out, [&](const ClsactQdisc& q) { return InstallQdisc{q, mode}; });
    // Filters that go are removed before filters come: the kernel refuses
    // two filters with the same keys in one priority (EEXIST), and a
    // filter may move to another handle (desired_state's collisions,
    // bindings sharing a care-of address). Both in the same datagram.
    removals(desired.tunnel_filters, actual.tunnel_filters, out,
             [](const TunnelFilterId& id) { return RemoveTunnelFilter{id, true}; });
    installs(desired.tunnel_filters, actual.tunnel_filters, out,
             [&](const TunnelFilter& f) { return InstallTunnelFilter{f, mode}; });

    // The qdisc after its filters (a filter of a removed qdisc is gone, and
    // its removal would be refused), before its device.
    removals(desired.qdiscs, actual.qdiscs, out, [](const std::string& d) { return RemoveQdisc{d, true}; });

    removals(desired.proxy_neighbours, actual.proxy_neighbours, out,
             [](const ProxyNeighbourId& id) { return RemoveProxyNeighbour{id, true}; });
    removals(desired.routes, actual.routes, out, [](const RouteId& id) { return RemoveRoute{id, true}; });
    removals(desired.rules, actual.rules, out, [](const RuleId& id) { return RemoveRule{id, true}; });
    removals(desired.policies, actual.policies, out, [](const PolicyId& id) { return RemovePolicy{id, true}; });
    // An SA whose kernel identity a desired SA takes (an ESP SA whose source
    // moved, same SPI) is replaced by that install; removing it afterwards
    // would remove the new one (kernel::same_state).
    for (const auto& [id, have] : actual.sas) {
        if (desired.sas.contains(id)) continue;
        bool replaced = false;
        for (const auto& [want, sa] : desired.sas) replaced = replaced || same_state(id, want);
        if (!replaced) out.push_back(RemoveSa{id, true});
    }
    removals(desired.addresses, actual.addresses, out, [](const AddressId& id) { return RemoveAddress{id, true}; });
    removals(desired.tunnels, actual.tunnels, out, [](const std::string& n) { return RemoveTunnel{n, true}; });
    return out;
}

std::vector<Operation> removal_of(const KernelObjects& installed) { return reconcile({}, installed); }

std::vector<OperationRequest> number(std::vector<Operation> operations, OperationId first_id) {
    std::vector<OperationRequest> out;
    out.reserve(operations.size());
    for (auto& op : operations) out.push_back(OperationRequest{first_id++, std::move(op)});
    return out;
}

}  // namespace nemokey::mobility::kernel
