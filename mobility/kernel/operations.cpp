#include "mobility/kernel/operations.hpp"

#include <cerrno>

#include "mobility/kernel/kernel.hpp"

namespace nemokey::mobility::kernel {

const char* to_string(OperationStatus s) {
    switch (s) {
        case OperationStatus::ok: return "ok";
        case OperationStatus::exists: return "exists";
        case OperationStatus::not_found: return "not-found";
        case OperationStatus::not_supported: return "not-supported";
        case OperationStatus::invalid: return "invalid";
        case OperationStatus::failed: return "failed";
        case OperationStatus::skipped: return "skipped";
    }
    return "?";
}

namespace {
struct Namer {
    const char* operator()(const AllocateSpi&) const { return "allocate-spi"; }
    const char* operator()(const InstallSa&) const { return "install-sa"; }
    const char* operator()(const RemoveSa&) const { return "remove-sa"; }
    const char* operator()(const InstallPolicy&) const { return "install-policy"; }
    const char* operator()(const RemovePolicy&) const { return "remove-policy"; }
    const char* operator()(const MigrateSas&) const { return "migrate"; }
    const char* operator()(const FlushOwned&) const { return "flush-owned"; }
    const char* operator()(const InstallAddress&) const { return "install-address"; }
    const char* operator()(const RemoveAddress&) const { return "remove-address"; }
    const char* operator()(const InstallRoute&) const { return "install-route"; }
    const char* operator()(const RemoveRoute&) const { return "remove-route"; }
    const char* operator()(const InstallRule&) const { return "install-rule"; }
    const char* operator()(const RemoveRule&) const { return "remove-rule"; }
    const char* operator()(const InstallTunnel&) const { return "install-tunnel"; }
    const char* operator()(const RemoveTunnel&) const { return "remove-tunnel"; }
    const char* operator()(const InstallProxyNeighbour&) const { return "install-proxy-neighbour"; }
    const char* operator()(const RemoveProxyNeighbour&) const { return "remove-proxy-neighbour"; }
    const char* operator()(const InstallQdisc&) const { return "install-qdisc"; }
    const char* operator()(const RemoveQdisc&) const { return "remove-qdisc"; }
    const char* operator()(const InstallTunnelFilter&) const { return "install-tunnel-filter"; }
    const char* operator()(const RemoveTunnelFilter&) const { return "remove-tunnel-filter"; }
};

struct Describer {
    std::string operator()(const AllocateSpi& o) const {
        return net::to_string(o.source) + " -> " + net::to_string(o.destination) + " reqid " +
               std::to_string(o.reqid);
    }
    std::string operator()(const InstallSa& o) const { return to_string(o.sa.id) + " reqid " + std::to_string(o.sa.reqid); }
    std::string operator()(const RemoveSa& o) const { return to_string(o.id); }
    std::string operator()(const InstallPolicy& o) const { return to_string(o.policy.id); }
    std::string operator()(const RemovePolicy& o) const { return to_string(o.id); }
    std::string operator()(const MigrateSas& o) const {
        std::string s = to_string(o.policy);
        for (const auto& t : o.templates)
            s += " [" + net::to_string(t.old_source) + "," + net::to_string(t.old_destination) +
                 " => " + net::to_string(t.new_source) + "," + net::to_string(t.new_destination) +
                 " reqid " + std::to_string(t.reqid) + "]";
        if (o.kmaddress)
            s += " kmaddress " + net::to_string(o.kmaddress->local) + " " + net::to_string(o.kmaddress->remote);
        return s;
    }
    std::string operator()(const FlushOwned&) const { return "every object with our marks"; }
    std::string operator()(const InstallAddress& o) const { return to_string(o.address.id); }
    std::string operator()(const RemoveAddress& o) const { return to_string(o.id); }
    std::string operator()(const InstallRoute& o) const { return to_string(o.route.id) + " dev " + o.route.device; }
    std::string operator()(const RemoveRoute& o) const { return to_string(o.id); }
    std::string operator()(const InstallRule& o) const { return to_string(o.rule.id); }
    std::string operator()(const RemoveRule& o) const { return to_string(o.id); }
    std::string operator()(const InstallTunnel& o) const { return o.tunnel.name; }
    std::string operator()(const RemoveTunnel& o) const { return o.name; }
    std::string operator()(const InstallProxyNeighbour& o) const { return to_string(o.neighbour.id); }
    std::string operator()(const RemoveProxyNeighbour& o) const { return to_string(o.id); }
    std::string operator()(const InstallQdisc& o) const { return "clsact dev " + o.qdisc.device; }
    std::string operator()(const RemoveQdisc& o) const { return "clsact dev " + o.device; }
    std::string operator()(const InstallTunnelFilter& o) const { return to_string(o.filter); }
    std::string operator()(const RemoveTunnelFilter& o) const { return to_string(o.id); }
};
}  // namespace

const char* operation_name(const Operation& op) { return std::visit(Namer{}, op); }

std::string describe(const Operation& op) {
    return std::string(operation_name(op)) + " " + std::visit(Describer{}, op);
}

OperationStatus status_from_errno(int error) {
    switch (error) {
        case 0: return OperationStatus::ok;
        case EEXIST: return OperationStatus::exists;
        case ENOENT:
        case ESRCH:
        case ENODEV:
        case EADDRNOTAVAIL: return OperationStatus::not_found;
        case EOPNOTSUPP:
        case EAFNOSUPPORT:
        case EPROTONOSUPPORT:
        case ENOPROTOOPT:
        case ENOSYS: return OperationStatus::not_supported;
        case EINVAL:
        case ERANGE: return OperationStatus::invalid;
        default: return OperationStatus::failed;
    }
}

std::string features_to_string(Features f) {
    static const std::pair<Feature, const char*> names[] = {
        {feature_esp, "esp"},
        {feature_mip6, "mip6"},
        {feature_migrate, "migrate"},
        {feature_pfkey, "pfkey"},
        {feature_ip6_tunnel, "ip6-tunnel"},
        {feature_lwtunnel_encap, "lwtunnel-encap"},
        {feature_address_protocol, "address-protocol"},
        {feature_neighbour_protocol, "neighbour-protocol"},
        {feature_tunnel_filter, "tunnel-filter"},
    };
    std::string out;
    for (const auto& [bit, name] : names) {
        if (!(f & bit)) continue;
        if (!out.empty()) out += ",";
        out += name;
    }
    return out.empty() ? "none" : out;
}

}  // namespace nemokey::mobility::kernel
