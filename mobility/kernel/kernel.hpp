// The narrow kernel interface the daemons stand on (style.md, "Core <->
// kernel"): the core decides, a backend executes, and outcomes come back as
// events. Two backends implement it and pass one contract suite
// (tests/unit/mobility/kernel/contract_cases.hpp): the netlink backend on
// the real kernel (mobility/adapters/netlink/), and the fake kernel for
// daemon-logic tests (mobility/kernel/fake/).
//
// Asynchronous by contract: submit() and dump_owned() return at once, and
// their completion runs later from the backend's event loop, never inside
// the call. Nothing blocks.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "mobility/kernel/objects.hpp"
#include "mobility/kernel/operations.hpp"

namespace nemokey::mobility::kernel {

// What the running kernel can do, probed from it (never guessed from a
// version string). The core tests flags, never backend names.
enum Feature : uint32_t {
    feature_esp = 1u << 0,               // ESP states install (esp6 + crypto)
    feature_mip6 = 1u << 1,              // route2 / hao states (CONFIG_IPV6_MIP6)
    feature_migrate = 1u << 2,           // XFRM_MSG_MIGRATE (CONFIG_XFRM_MIGRATE)
    feature_pfkey = 1u << 3,             // PF_KEY sockets (CONFIG_NET_KEY)
    feature_ip6_tunnel = 1u << 4,        // ip6tnl devices
    feature_lwtunnel_encap = 1u << 5,    // routes with encap ip6 over a collect_md tunnel
    feature_address_protocol = 1u << 6,  // IFA_PROTO kept and reported
    feature_neighbour_protocol = 1u << 7,// NDA_PROTOCOL kept on proxy entries
    feature_tunnel_filter = 1u << 8,     // clsact + flower with tunnel (enc) keys + gact
};
using Features = uint32_t;
std::string features_to_string(Features f);

// ---- events (strongSwan's kernel_listener_t; rtnetlink for the net side) ----

struct LinkChanged {
    std::string interface;
    uint32_t index = 0;
    bool up = false;
    bool carrier = false;
    bool removed = false;
    bool operator==(const LinkChanged&) const = default;
};
struct AddressChanged {
    std::string interface;
    Prefix address;
    bool tentative = false;
    bool optimistic = false;
    bool deprecated = false;
    bool duplicate = false;         // IFA_F_DADFAILED
    bool home_address = false;
    bool removed = false;
    bool operator==(const AddressChanged&) const = default;
};
struct RouteChanged {
    RouteId id;
    std::string device;
    std::optional<IpAddress> gateway;
    uint8_t protocol = 0;
    bool removed = false;
    bool operator==(const RouteChanged&) const = default;
};
struct NeighbourChanged {
    std::string interface;
    IpAddress address{Ipv6Address{}};
    bool router = false;
    bool reachable = false;         // NUD_REACHABLE / STALE / DELAY / PROBE / PERMANENT
    bool failed = false;            // NUD_FAILED / NUD_INCOMPLETE gave up
    bool removed = false;
    bool operator==(const NeighbourChanged&) const = default;
};
// XFRM_MSG_ACQUIRE / SADB_ACQUIRE: a packet hit a policy without SA.
struct Acquire {
    PolicyId policy;
    PolicyTemplate template_;
    bool operator==(const Acquire&) const = default;
};
struct SaExpired {
    SaId id;
    uint32_t reqid = 0;
    bool hard = false;
    bool operator==(const SaExpired&) const = default;
};
// A MIGRATE the kernel announced in our namespace (ours, or the key manager's).
struct MigrateSeen {
    MigrateSas migrate;
    bool operator==(const MigrateSeen&) const = default;
};
// NAT-T: the peer's address or port changed (XFRM_MSG_MAPPING).
struct Mapping {
    SaId id;
    IpAddress new_address{Ipv6Address{}};
    uint16_t new_port = 0;
    bool operator==(const Mapping&) const = default;
};

using KernelEvent = std::variant<LinkChanged, AddressChanged, RouteChanged, NeighbourChanged,
                                 Acquire, SaExpired, MigrateSeen, Mapping>;

class KernelListener {
public:
    virtual ~KernelListener() = default;
    virtual void on_kernel_event(const KernelEvent& event) = 0;
};

enum class BatchMode : uint8_t {
    continue_on_error,   // every operation is tried
    stop_on_error,       // after the first failure the rest are `skipped`
};

struct DumpResult {
    bool ok = true;
    std::string error;
    KernelObjects objects;          // only objects carrying our marks
};

class Kernel {
public:
    using Completion = std::function<void(std::vector<OperationResult>)>;
    using DumpCompletion = std::function<void(DumpResult)>;

    virtual ~Kernel() = default;

    virtual Features features() const = 0;
    // Executes the operations in order (a backend may send them to the
    // kernel as one batch) and calls `done` once with one result per
    // operation, in the same order.
    virtual void submit(std::vector<OperationRequest> operations, BatchMode mode,
                        Completion done) = 0;
    // Every object of ours (marks.hpp) the kernel holds now.
    virtual void dump_owned(DumpCompletion done) = 0;
    // Events of the namespace the backend runs in; nullptr stops them.
    virtual void set_listener(KernelListener* listener) = 0;
    // Kernel round trips made so far (sendmsg calls that carried requests):
    // the figure the handover benchmarks report.
    virtual uint64_t round_trips() const = 0;
};

}  // namespace nemokey::mobility::kernel
