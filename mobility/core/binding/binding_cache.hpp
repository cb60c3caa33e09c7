// Binding cache of a home agent (RFC 6275 sec. 9.5.1, 10.3; RFC 3963 sec. 6;
// RFC 5648): accepts or rejects Binding Updates for home registration
// with the RFCs' exact status codes and answers with actions (send this BA,
// install / update / remove this binding, these routes, this MIGRATE, run
// DAD, arm this timer). No I/O; time comes in with every event.
//
// Authorisation is asked, never assumed: an Authorizer says whether the
// identity that protected the BU (its IKE / IPsec peer) may register this home
// address, as a mobile router, with these prefixes.
//
// Order of the checks on a received BU (first failing one answers):
//   not IPsec-protected -> silently discarded          (RFC 6275 sec. 9.5.1, 10.3.1)
//   H clear: existing entry -> 139, else discarded      (sec. 9.5.1; no return routability here)
//   home address off the home prefixes -> 132           (sec. 10.3.1)
//   BID options: MCoA off 166, bulk off 168, malformed 164, H flag 169,
//                non-MCoA binding exists 165           (RFC 5648)
//   R flag differs from the entry -> 139
//   Sequence Number not greater (mod 2^16) -> 135 with the last accepted number (sec. 9.5.1)
//   deregistration (lifetime 0 or care-of = home): no entry 133, unknown BID 167 (sec. 10.3.2)
//   care-of address not a routable unicast off the home link -> 174
//   R flag: no mobile router support 140, bad prefix 141 (RFC 3963 sec. 6)
//   Authorizer: 133 / 129 / 140 / 142; implicit mode without prefixes 143;
//   prefix held by another mobile router 142; cache full 130; home prefix expired 132
//   first registration: DAD requested, answered later (134 on a duplicate)
//   accepted: lifetime = min(requested, configured maximum, home prefix lifetime)
//   accepted with kernel changes: CommitKernelState, the BA held until its
//     KernelOutcome; a failure restores the entry as it was and answers 130
//     (insufficient resources); BUs for the home address meanwhile are dropped
//
// Binding Refresh Requests (RFC 6275 sec. 9.5.5): a home registration is in
// active use as long as it exists (the home agent intercepts and tunnels for
// the home address, sec. 10.4.1; the kernel forwards, so no per-packet usage
// is seen here, sec. 9.1). When the configured share of its granted lifetime
// has passed, the binding gets a BRR, retransmitted with back-off a bounded
// number of times before its expiry; any IPsec-protected BU for the home
// address stops them (sec. 9.5.5: MUST stop), an accepted one arms the next.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "conf/net/address.hpp"
#include "mobility/core/binding/actions.hpp"
#include "mobility/core/binding/binding_update_list.hpp"
#include "mobility/core/binding/time.hpp"
#include "mobility/core/mh/messages.hpp"

namespace nemokey::mobility::binding {

// A prefix of the home link this home agent serves; valid_until is the end
// of its valid lifetime, if it has one (RFC 6275 sec. 10.3.1 bounds the
// granted lifetime by it).
struct HomeLinkPrefix {
    net::Prefix prefix;
    std::optional<TimePoint> valid_until;
};

struct BindingCacheConfig {
    std::vector<HomeLinkPrefix> home_prefixes;
    std::chrono::seconds max_binding_lifetime{max_lifetime_on_wire};
    bool mobile_router_support = true;             // RFC 3963
    bool multiple_care_of_addresses = true;        // RFC 5648
    bool bulk_registration = true;                 // RFC 5648 (bulk)
    bool key_management_mobility = true;           // K flag capability, RFC 6275 sec. 10.3.1
    bool duplicate_address_detection = true;       // RFC 6275 sec. 10.3.1, first registration
    size_t max_bindings = 0;                       // 0 = no limit; beyond it: 130
    std::chrono::seconds binding_refresh_advice{0};  // 0 = none sent (RFC 6275 sec. 6.2.4)
    // Binding Refresh Requests (RFC 6275 sec. 9.5.5, 9.1): once this share
    // of the granted lifetime has passed without a BU (percent, 0 = none),
    // a BRR, retransmitted up to brr_retransmissions times, the wait doubling
    // from brr_initial_timeout up to brr_max_timeout (the rate limitation
    // of sec. 9.5.5) and never past the binding's expiry.
    uint8_t binding_refresh_request_percent = 0;
    unsigned brr_retransmissions = 3;
    std::chrono::milliseconds brr_initial_timeout{1500};
    std::chrono::milliseconds brr_max_timeout{32000};
};

// ---- Authorisation (RFC 4877 sec. 4.3: the identity must own the home address) ----

struct AuthorizationRequest {
    std::string_view identity;
    Ipv6Address home_address;
    bool mobile_router = false;
    // Explicit mode: the prefixes listed in the BU. Implicit mode: empty,
    // and the answer says which prefixes are configured for the identity.
    const std::vector<net::Prefix>* prefixes = nullptr;
    bool implicit_mode = false;
};

enum class AuthorizationVerdict : uint8_t {
    authorized,
    not_home_agent_for_this_mobile_node,     // 133: we do not serve this node
    administratively_prohibited,             // 129: identity may not use this home address
    mobile_router_operation_not_permitted,   // 140 (RFC 3963 sec. 6)
    not_authorized_for_prefix,               // 142 (RFC 3963 sec. 6)
};

struct AuthorizationAnswer {
    AuthorizationVerdict verdict = AuthorizationVerdict::administratively_prohibited;
    std::vector<net::Prefix> configured_prefixes;   // implicit mode (RFC 3963 sec. 6)
    // Whether this node may be granted K (its keying can move the IKE SA,
    // RFC 6275 sec. 10.3.1, RFC 4877 sec. 4.4); the cache's own capability
    // (BindingCacheConfig) must allow it too.
    bool key_management_mobility = true;
};

class Authorizer {
public:
    virtual ~Authorizer() = default;
    virtual AuthorizationAnswer authorize(const AuthorizationRequest& request) = 0;
};

// ---- Events ----

// A Binding Update as the socket layer delivers it.
struct ReceivedBindingUpdate {
    Ipv6Address source;                              // IPv6 source (care-of address)
    Ipv6Address destination;                         // our address it was sent to
    std::optional<Ipv6Address> home_address_option;  // absent when sent from home
    bool ipsec_protected = false;                    // ESP of a home registration SA
    std::string identity;                            // peer identity of that SA
    mh::BindingUpdate message;
};

// Answer to a PerformDuplicateAddressDetection action.
struct DuplicateAddressDetectionResult {
    Ipv6Address home_address;
    bool duplicate = false;
};

using HomeAgentEvent =
    std::variant<ReceivedBindingUpdate, DuplicateAddressDetectionResult, TimerExpired, KernelOutcome>;

// ---- Entries ----

// One care-of address of a home address (one per Binding Identifier under RFC 5648).
struct CareOfBinding {
    Ipv6Address care_of_address;
    TimePoint expires_at{};
    uint16_t binding_id = 0;        // 0 = registered without a BID option
    uint16_t last_sequence = 0;     // RFC 6275 sec. 9.5.1

    bool operator==(const CareOfBinding&) const = default;
};

struct BindingCacheEntry {
    std::vector<CareOfBinding> bindings;
    std::vector<net::Prefix> mobile_network_prefixes;   // RFC 3963
    Ipv6Address home_agent_address;                      // the address the BU was sent to
    uint32_t granted_lifetime_seconds = 0;
    bool mobile_router = false;
    bool key_management_mobility = false;                // K granted
    bool multiple_care_of_addresses = false;             // registered with BID options

    const CareOfBinding* binding(uint16_t binding_id) const;
    bool operator==(const BindingCacheEntry&) const = default;
};

// The shared hash (conf/net/address.hpp); this was its first home.
using Ipv6AddressHash = std::hash<Ipv6Address>;

class BindingCache {
public:
    BindingCache(BindingCacheConfig config, Authorizer& authorizer);

    Actions handle(const HomeAgentEvent& event, TimePoint now);
    // Same, appending to `out` (lets a busy daemon reuse one vector).
    void handle(const HomeAgentEvent& event, TimePoint now, Actions& out);

    const BindingCacheEntry* find(const Ipv6Address& home_address) const;
    size_t size() const { return cache_.size(); }           // home addresses
    size_t binding_count() const { return binding_count_; }  // care-of bindings
    size_t pending_dad() const { return pending_.size(); }
    // Commits whose KernelOutcome has not arrived yet.
    size_t pending_commits() const { return commits_.size(); }
    // Bindings with a Binding Refresh Request timer armed (RFC 6275 sec. 9.5.5).
    size_t refresh_requests_armed() const { return refresh_requests_.size(); }
    // Every entry (for the desired kernel state, snapshots and status).
    const auto& entries() const { return cache_; }
    // The home address whose commit `operation` is, if it is pending.
    std::optional<Ipv6Address> commit_of(uint64_t operation) const;
    void reserve(size_t home_addresses) { cache_.reserve(home_addresses); }
    const BindingCacheConfig& config() const { return config_; }
    // Which home address registered each mobile network prefix (RFC 3963 sec. 6).
    const std::map<net::Prefix, Ipv6Address>& prefix_owners() const { return prefix_owners_; }

    // ---- Life cycle (binding_cache_lifecycle.cpp) ----

    // Replaces the whole content with `entries` (a restored snapshot,
    // snapshot.hpp; expiry times already on this process's clock). Pending
    // DAD and kernel commits are dropped: their BUs were not answered, so
    // the nodes retransmit. Returns, in home address order, one ArmTimer
    // (bc_lifetime, and bc_refresh_request when Binding Refresh Requests
    // are configured) per binding and one CommitKernelState per home address,
    // so the daemon reconciles the kernel with the restored state. The
    // entries must be consistent (unique home addresses, one owner per
    // prefix), as check_snapshot() guarantees.
    Actions restore(std::vector<std::pair<Ipv6Address, BindingCacheEntry>> entries);
    // Removes every binding of `home_address` (reload: the node is gone or
    // no longer authorised): RemoveRoutes, CancelTimer, RemoveBinding, then
    // CommitKernelState. A first registration waiting for DAD is forgotten
    // and a BA held for a kernel commit is not sent (the node's
    // retransmission meets the new authorisation). Nothing without an entry.
    Actions remove_home_address(const Ipv6Address& home_address);
    // Shutdown: remove_home_address() for every home address, in address
    // order, so the daemon takes down everything it installed.
    Actions shutdown();
    // Reload: the new configuration applies from the next BU; bindings
    // keep the lifetime already granted (remove the ones no longer allowed
    // with remove_home_address()).
    void reconfigure(BindingCacheConfig config) { config_ = std::move(config); }

private:
    void on(const ReceivedBindingUpdate& e, TimePoint now, Actions& out);
    void on(const DuplicateAddressDetectionResult& e, TimePoint now, Actions& out);
    void on(const TimerExpired& e, TimePoint now, Actions& out);
    void on(const KernelOutcome& e, TimePoint now, Actions& out);
    uint64_t commit(const Ipv6Address& home_address, std::optional<SendBindingAcknowledgement> held,
                    std::optional<BindingCacheEntry> previous, Actions& out);
    void process(const ReceivedBindingUpdate& r, TimePoint now, bool dad_done, Actions& out);
    void reply(const ReceivedBindingUpdate& r, const Ipv6Address& home_address,
               mh::BindingAckStatus status, uint16_t sequence, Actions& out,
               mh::MobilityOptions options = {});
    void remove_binding(const Ipv6Address& home_address, BindingCacheEntry& entry, size_t index,
                        Actions& out);
    void erase_entry(const Ipv6Address& home_address, Actions& out);
    // Binding Refresh Requests of one binding (RFC 6275 sec. 9.5.5).
    void arm_refresh_request(const Ipv6Address& home_address, const CareOfBinding& b,
                             uint32_t granted_lifetime_seconds, Actions& out);
    void stop_refresh_requests(const Ipv6Address& home_address, uint16_t binding_id, Actions& out);
    void on_refresh_request_timer(const TimerKey& key, TimePoint now, Actions& out);
    const HomeLinkPrefix* home_link_of(const Ipv6Address& a) const;

    BindingCacheConfig config_;
    Authorizer& authorizer_;
    std::unordered_map<Ipv6Address, BindingCacheEntry, Ipv6AddressHash> cache_;
    // Which home address registered each mobile network prefix (normalized).
    std::map<net::Prefix, Ipv6Address> prefix_owners_;
    // First registrations waiting for DAD (RFC 6275 sec. 10.3.1); the latest BU of each.
    std::unordered_map<Ipv6Address, ReceivedBindingUpdate, Ipv6AddressHash> pending_;
    size_t binding_count_ = 0;
    // Kernel commits in flight (CommitKernelState -> KernelOutcome).
    struct PendingCommit {
        Ipv6Address home_address;
        std::optional<SendBindingAcknowledgement> held;   // the accepting BA, sent on success
        std::optional<BindingCacheEntry> previous;        // the entry before the BU (none: new)
    };
    std::unordered_map<uint64_t, PendingCommit> commits_;
    // Home addresses with a held BA (one commit each at a time).
    std::unordered_map<Ipv6Address, uint64_t, Ipv6AddressHash> committing_;
    uint64_t next_operation_ = 1;
    // Bindings whose bc_refresh_request timer is armed, with the number of
    // BRRs sent for their current lifetime (RFC 6275 sec. 9.5.5).
    std::unordered_map<TimerKey, unsigned> refresh_requests_;
};

}  // namespace nemokey::mobility::binding
