// Kernel operations as values (FRR's dataplane contexts, strongSwan's
// kernel_ipsec_t / kernel_net_t calls): an operation id, what to do, and a
// typed result. Values can be logged, queued, batched and replayed; the
// core and the reconciler produce them, a backend (kernel.hpp) executes
// them.
//
// Semantics are the Linux kernel's, and the fake backend must match them
// (the contract suite checks both):
//   Install*  mode create: the object must not exist (exists otherwise);
//             mode replace: install or replace ("install-or-replace").
//   Remove*   not_found when absent, unless if_present (then ok).
//   MigrateSas  moves the templates of one policy and the SAs matching
//             them (RFC 2367 extension SADB_X_MIGRATE, XFRM_MSG_MIGRATE);
//             not_found when the policy does not exist; with a KMADDRESS
//             the key manager of the namespace hears where the IKE SA goes.
//   FlushOwned  removes every object carrying our marks, nothing else.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "mobility/kernel/objects.hpp"

namespace nemokey::mobility::kernel {

using OperationId = uint64_t;

enum class InstallMode : uint8_t { create, replace };

// XFRM_MSG_ALLOCSPI: a free SPI for an SA to be added; the result carries it.
struct AllocateSpi {
    IpAddress source{Ipv6Address{}};
    IpAddress destination{Ipv6Address{}};
    SaProtocol protocol = SaProtocol::esp;
    uint32_t reqid = 0;
    uint32_t min = 0x100;           // SPIs 1-255 are reserved (RFC 4303 sec. 2.1)
    uint32_t max = 0xffffffff;
    bool operator==(const AllocateSpi&) const = default;
};
struct InstallSa {
    Sa sa;
    InstallMode mode = InstallMode::replace;
    bool operator==(const InstallSa&) const = default;
};
struct RemoveSa {
    SaId id;
    bool if_present = true;
    bool operator==(const RemoveSa&) const = default;
};
struct InstallPolicy {
    Policy policy;
    InstallMode mode = InstallMode::replace;
    bool operator==(const InstallPolicy&) const = default;
};
struct RemovePolicy {
    PolicyId id;
    bool if_present = true;
    bool operator==(const RemovePolicy&) const = default;
};

// One template move: SAs and templates matching (protocol, mode, reqid,
// old_source, old_destination) get new_source, new_destination.
struct MigrateTemplate {
    SaProtocol protocol = SaProtocol::esp;
    SaMode mode = SaMode::tunnel;
    uint32_t reqid = 0;
    IpAddress old_source{Ipv6Address{}};
    IpAddress old_destination{Ipv6Address{}};
    IpAddress new_source{Ipv6Address{}};
    IpAddress new_destination{Ipv6Address{}};
    auto operator<=>(const MigrateTemplate&) const = default;
};
// draft-ebalard-mext-pfkey-enhanced-migrate: where the IKE SA moves to
// (local = our new address, remote = the peer's).
struct KmAddress {
    IpAddress local{Ipv6Address{}};
    IpAddress remote{Ipv6Address{}};
    auto operator<=>(const KmAddress&) const = default;
};
struct MigrateSas {
    PolicyId policy;
    std::vector<MigrateTemplate> templates;
    std::optional<KmAddress> kmaddress;
    bool operator==(const MigrateSas&) const = default;
};
struct FlushOwned {
    bool operator==(const FlushOwned&) const = default;
};

struct InstallAddress {
    Address address;
    InstallMode mode = InstallMode::replace;
    bool operator==(const InstallAddress&) const = default;
};
struct RemoveAddress {
    AddressId id;
    bool if_present = true;
    bool operator==(const RemoveAddress&) const = default;
};
struct InstallRoute {
    Route route;
    InstallMode mode = InstallMode::replace;
    bool operator==(const InstallRoute&) const = default;
};
struct RemoveRoute {
    RouteId id;
    bool if_present = true;
    bool operator==(const RemoveRoute&) const = default;
};
struct InstallRule {
    Rule rule;
    InstallMode mode = InstallMode::replace;
    bool operator==(const InstallRule&) const = default;
};
struct RemoveRule {
    RuleId id;
    bool if_present = true;
    bool operator==(const RemoveRule&) const = default;
};
struct InstallTunnel {
    Tunnel tunnel;
    InstallMode mode = InstallMode::replace;
    bool operator==(const InstallTunnel&) const = default;
};
struct RemoveTunnel {
    std::string name;
    bool if_present = true;
    bool operator==(const RemoveTunnel&) const = default;
};
struct InstallProxyNeighbour {
    ProxyNeighbour neighbour;
    InstallMode mode = InstallMode::replace;
    bool operator==(const InstallProxyNeighbour&) const = default;
};
struct RemoveProxyNeighbour {
    ProxyNeighbourId id;
    bool if_present = true;
    bool operator==(const RemoveProxyNeighbour&) const = default;
};

// The clsact qdisc of a device (objects.hpp): create is exists when the
// device has one, replace keeps it; removal takes the device's filters.
struct InstallQdisc {
    ClsactQdisc qdisc;
    InstallMode mode = InstallMode::replace;
    bool operator==(const InstallQdisc&) const = default;
};
struct RemoveQdisc {
    std::string device;
    bool if_present = true;
    bool operator==(const RemoveQdisc&) const = default;
};
// A filter on the ingress of its device's clsact qdisc: replace changes
// the keys and action of the filter with that identity in place.
struct InstallTunnelFilter {
    TunnelFilter filter;
    InstallMode mode = InstallMode::replace;
    bool operator==(const InstallTunnelFilter&) const = default;
};
struct RemoveTunnelFilter {
    TunnelFilterId id;
    bool if_present = true;
    bool operator==(const RemoveTunnelFilter&) const = default;
};

using Operation =
    std::variant<AllocateSpi, InstallSa, RemoveSa, InstallPolicy, RemovePolicy, MigrateSas,
                 FlushOwned, InstallAddress, RemoveAddress, InstallRoute, RemoveRoute, InstallRule,
                 RemoveRule, InstallTunnel, RemoveTunnel, InstallProxyNeighbour,
                 RemoveProxyNeighbour, InstallQdisc, RemoveQdisc, InstallTunnelFilter,
                 RemoveTunnelFilter>;

struct OperationRequest {
    OperationId id = 0;
    Operation operation;
    bool operator==(const OperationRequest&) const = default;
};

enum class OperationStatus : uint8_t {
    ok,
    exists,          // EEXIST
    not_found,       // ENOENT, ESRCH, ENODEV, EADDRNOTAVAIL
    not_supported,   // the kernel lacks the feature (EOPNOTSUPP, EAFNOSUPPORT, EPROTONOSUPPORT): a normal answer
    invalid,         // EINVAL and friends: the operation cannot be carried out as given
    failed,          // anything else (ENOMEM, ENOBUFS, EPERM, a transport failure)
    skipped,         // an earlier operation of a stop-on-error batch failed
};

struct OperationResult {
    OperationId id = 0;
    OperationStatus status = OperationStatus::ok;
    int error = 0;                  // errno, 0 when ok
    std::string detail;             // the kernel's extended ack, or the backend's reason
    std::optional<uint32_t> spi;    // AllocateSpi
    bool ok() const { return status == OperationStatus::ok; }
    bool operator==(const OperationResult&) const = default;
};

const char* to_string(OperationStatus s);
const char* operation_name(const Operation& op);
std::string describe(const Operation& op);
OperationStatus status_from_errno(int error);

}  // namespace nemokey::mobility::kernel
