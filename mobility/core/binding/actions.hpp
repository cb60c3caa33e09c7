// What the binding state machines ask the daemon to do. They perform no I/O:
// every decision comes back as a list of these values, in the order the
// daemon should execute them.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "conf/net/address.hpp"
#include "mobility/core/binding/time.hpp"
#include "mobility/core/mh/messages.hpp"

namespace nemokey::mobility::binding {

using net::Ipv6Address;

// ---- Timers ----

enum class TimerKind : uint8_t {
    bul_retransmission,   // id = transaction (one BU and its retransmissions)
    bul_refresh,          // id = binding identifier
    bul_lifetime,         // id = binding identifier
    bc_lifetime,          // id = binding identifier
    bul_kernel_retry,     // id = binding identifier: commit the local state again
    bc_refresh_request,   // id = binding identifier: send (or resend) a Binding Refresh Request
};

// Names one timer. ArmTimer with a key that is already armed replaces it.
struct TimerKey {
    TimerKind kind = TimerKind::bul_retransmission;
    Ipv6Address home_address;
    uint32_t id = 0;
    bool operator==(const TimerKey&) const = default;
};

struct ArmTimer {
    TimerKey key;
    TimePoint at;
    bool operator==(const ArmTimer&) const = default;
};

struct CancelTimer {
    TimerKey key;
    bool operator==(const CancelTimer&) const = default;
};

// ---- Messages to send ----

// A Binding Update to the home agent. With home_address_option the packet
// carries a Home Address destination option (RFC 6275 sec. 6.3, 11.7.1);
// without it the mobile node is at home and sends from its home address
// (sec. 11.5.5).
struct SendBindingUpdate {
    Ipv6Address source;
    Ipv6Address destination;
    std::optional<Ipv6Address> home_address_option;
    mh::BindingUpdate message;
    bool operator==(const SendBindingUpdate&) const = default;
};

// A Binding Acknowledgement. With type2_routing_header the packet carries a
// type 2 routing header holding the home address (RFC 6275 sec. 6.1.8, 9.5.4).
struct SendBindingAcknowledgement {
    Ipv6Address source;
    Ipv6Address destination;
    std::optional<Ipv6Address> type2_routing_header;
    mh::BindingAcknowledgement message;
    bool operator==(const SendBindingAcknowledgement&) const = default;
};

// A Binding Refresh Request from the home agent (RFC 6275 sec. 6.1.2,
// 9.5.5): always to the home address; the kernel's route2 state of the
// binding adds the type 2 routing header with the care-of address, and the
// signalling entry of the security plan protects it with ESP like a BA
// (RFC 3776 sec. 5.2.1, conf/plan.cpp). A binding registered with a Binding
// Identifier is named by a BID option (RFC 5648 sec. 6.4). `attempt` counts
// from 1 (the first BRR of this lifetime) for logs.
struct SendBindingRefreshRequest {
    Ipv6Address source;          // the home agent address the binding was registered with
    Ipv6Address destination;     // the home address
    Ipv6Address care_of_address; // the binding's, for the type 2 routing header
    uint16_t binding_id = 0;
    unsigned attempt = 1;
    mh::BindingRefreshRequest message;
    bool operator==(const SendBindingRefreshRequest&) const = default;
};

// ---- Forwarding state ----
// On the home agent a binding means: tunnel to the care-of address, proxy
// neighbour entry for the home address (RFC 6275 sec. 10.4.1). On the mobile
// node: tunnel from the care-of address to the home agent (sec. 11.3.1).

struct InstallBinding {
    Ipv6Address home_address;
    Ipv6Address care_of_address;
    Ipv6Address home_agent_address;
    uint16_t binding_id = 0;          // 0 = no Binding Identifier (RFC 5648 not in use)
    bool mobile_router = false;       // RFC 3963: forward for the mobile network too
    std::chrono::seconds lifetime{0};
    bool operator==(const InstallBinding&) const = default;
};

// The care-of address or the lifetime of an installed binding changed.
struct UpdateBinding {
    Ipv6Address home_address;
    Ipv6Address old_care_of_address;
    Ipv6Address care_of_address;
    Ipv6Address home_agent_address;
    uint16_t binding_id = 0;
    bool mobile_router = false;
    std::chrono::seconds lifetime{0};
    bool operator==(const UpdateBinding&) const = default;
};

struct RemoveBinding {
    Ipv6Address home_address;
    Ipv6Address care_of_address;
    Ipv6Address home_agent_address;
    uint16_t binding_id = 0;
    bool operator==(const RemoveBinding&) const = default;
};

// Routes for mobile network prefixes through the tunnel of a binding
// (RFC 3963 sec. 6 home agent; sec. 5 mobile router, where the route is
// the reverse tunnel for traffic sourced from the prefixes).
struct AddRoutes {
    Ipv6Address home_address;
    Ipv6Address care_of_address;
    std::vector<net::Prefix> prefixes;
    bool operator==(const AddRoutes&) const = default;
};

struct RemoveRoutes {
    Ipv6Address home_address;
    Ipv6Address care_of_address;
    std::vector<net::Prefix> prefixes;
    bool operator==(const RemoveRoutes&) const = default;
};

// For the key-management bridge: move the IPsec SAs (and, when the K flag
// was granted, the IKE SA, RFC 6275 sec. 11.7.1 / RFC 4877 sec. 4.3) from the
// old care-of address to the new one.
//
// With `operation` set the state machine waits for its KernelOutcome: on the
// mobile node the BU from the new care-of address leaves only once the
// kernel moved the SAs (RFC 4877 sec. 4.3, 7.4). Operation 0: nothing waits.
struct Migrate {
    Ipv6Address home_address;
    Ipv6Address home_agent_address;
    Ipv6Address old_care_of_address;
    Ipv6Address new_care_of_address;
    bool move_ike_sa = false;
    uint64_t operation = 0;
    bool operator==(const Migrate&) const = default;
};

// The kernel state of this home address changed in the core: the daemon
// computes the desired state (mobility/core/dataplane/), reconciles it with
// what is installed and feeds back a KernelOutcome with this operation id.
// InstallBinding, UpdateBinding, RemoveBinding, AddRoutes, RemoveRoutes say
// what changed (logs, counters); this action is what the daemon executes.
// Where a Binding Acknowledgement depends on the outcome, it is held until
// the outcome arrives (RFC 6275 sec. 10.3.1: accept only what is in place).
struct CommitKernelState {
    uint64_t operation = 0;
    Ipv6Address home_address;
    bool operator==(const CommitKernelState&) const = default;
};

// Dynamic keying with the K flag not in effect (not requested, or not
// granted by the home agent): the IKE SA cannot follow the care-of address,
// so the key manager re-establishes it from the new one; the binding waits
// for SecurityAssociationsReady (RFC 4877 sec. 4.3, 7.4).
struct ReestablishIkeSa {
    Ipv6Address home_address;
    Ipv6Address home_agent_address;
    Ipv6Address care_of_address;
    bool operator==(const ReestablishIkeSa&) const = default;
};

// RFC 6275 sec. 10.3.1: before accepting a first registration the home agent
// performs Duplicate Address Detection on the home link for the home address
// (and the link-local address of the same interface identifier when the L
// flag is set). The answer comes back as a DuplicateAddressDetectionResult
// event.
struct PerformDuplicateAddressDetection {
    Ipv6Address home_address;
    std::optional<Ipv6Address> link_local_address;
    bool operator==(const PerformDuplicateAddressDetection&) const = default;
};

// ---- Notifications (for logs, counters and status; nothing to execute) ----

enum class ReportKind : uint8_t {
    registered,                       // a binding is acknowledged
    deregistered,                     // a binding is gone, as asked
    registration_rejected,            // a BA with status >= 128 (status set)
    binding_lost,                     // lifetime ran out before a refresh was acknowledged
    home_agent_unusable,              // RFC 6275 sec. 11.7.3: send no further BUs to it
    prefix_discovery_necessary,       // BA status 1 (RFC 6275 sec. 11.7.3)
    mobile_router_not_supported,      // BA without R flag (RFC 3963 sec. 5)
    retransmissions_exhausted,        // the configured retransmission limit was reached
    mcoa_fallback,                    // RFC 5648: the home agent refused MCoA or bulk; retrying without
    binding_expired,                  // binding cache entry lifetime ran out (home agent)
    duplicate_address_detected,       // DAD failed for a first registration
    kernel_state_failed,              // the kernel refused the binding's state (home agent: BA 130)
    migrate_failed,                   // the SAs did not move before the BU (mobile node)
    key_management_mobility_changed,  // a BA's K differs from the one granted first; the first stays
    waiting_for_security_associations,// dynamic keying: the BU waits for the key manager
};

struct Report {
    ReportKind kind = ReportKind::registered;
    Ipv6Address home_address;
    uint16_t binding_id = 0;
    std::optional<mh::BindingAckStatus> status;
    bool operator==(const Report&) const = default;
};

// A received message was silently discarded, as the RFC asks; `reason` is a
// static string for the log and a counter name.
struct DropMessage {
    std::string_view reason;
    bool operator==(const DropMessage&) const = default;
};

using Action = std::variant<SendBindingUpdate, SendBindingAcknowledgement, SendBindingRefreshRequest, InstallBinding,
                            UpdateBinding, RemoveBinding, AddRoutes, RemoveRoutes, Migrate,
                            CommitKernelState, ReestablishIkeSa, PerformDuplicateAddressDetection,
                            ArmTimer, CancelTimer, Report, DropMessage>;

// ---- Events shared by both state machines ----

// The outcome of a CommitKernelState or of a Migrate with an operation id.
struct KernelOutcome {
    uint64_t operation = 0;
    bool ok = true;
};
using Actions = std::vector<Action>;

}  // namespace nemokey::mobility::binding

template <>
struct std::hash<nemokey::mobility::binding::TimerKey> {
    size_t operator()(const nemokey::mobility::binding::TimerKey& k) const noexcept {
        return std::hash<nemokey::net::Ipv6Address>{}(k.home_address) ^
               (static_cast<size_t>(k.id) * 0x9e3779b97f4a7c15ull) ^ static_cast<size_t>(k.kind);
    }
};
