// Binding update list of a mobile node or mobile router (RFC 6275 sec. 11.1,
// 11.7; RFC 3963 sec. 5; RFC 5648) for its registration with one home
// agent: one state machine per binding (per Binding Identifier under RFC
// 5648), driven by typed events, answering with actions. No I/O: time comes
// in with every event, timers go out as ArmTimer / CancelTimer actions.
//
// Entry states, after SHISA's registration FSM (home registration subset):
//
//   idle --movement--> waiting_for_ack --BA accepted--> bound
//   bound --refresh timer / BRR / movement--> waiting_for_ack_refresh --BA--> bound
//   waiting_for_ack_refresh --lifetime ran out--> waiting_for_ack
//   any --return home--> waiting_for_deregistration_ack --BA--> (entry removed)
//   waiting_* --retransmission timer--> same state, BU resent, timeout doubled
//
// "waiting_for_ack" means the home agent holds no binding as far as we know
// (first registration: InitialBindackTimeoutFirstReg, since the home agent
// runs DAD, RFC 6275 sec. 11.8); "waiting_for_ack_refresh" means it still
// holds one (INITIAL_BINDACK_TIMEOUT).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <optional>
#include <utility>
#include <variant>
#include <vector>

#include "conf/net/address.hpp"
#include "conf/net/prefix_mode.hpp"
#include "mobility/core/binding/actions.hpp"
#include "mobility/core/binding/time.hpp"
#include "mobility/core/mh/messages.hpp"

namespace nemokey::mobility::binding {

// RFC 3963 sec. 5.2: the mobile router either lists its prefixes in Mobile
// Network Prefix options (explicit) or lets the home agent use the prefixes
// configured for it (implicit). Shared with conf/ (conf/net/prefix_mode.hpp).
using net::PrefixMode;

struct BindingUpdateListConfig {
    Ipv6Address home_address;
    Ipv6Address home_agent_address;
    // Requested lifetime; sent rounded down to 4-second units, at most
    // 262140 s (RFC 6275 sec. 6.1.7). The daemon keeps it within the
    // remaining lifetimes of the home and care-of addresses (sec. 11.7.1).
    std::chrono::seconds requested_lifetime{600};
    bool mobile_router = false;                        // R flag, RFC 3963 sec. 5
    PrefixMode prefix_mode = PrefixMode::explicit_mode;
    std::vector<net::Prefix> mobile_network_prefixes;  // sent in explicit mode
    // K flag requested (RFC 6275 sec. 11.7.1): a capability input, "the key
    // manager can move the IKE SA endpoints"; off under static keying.
    bool key_management_mobility = false;
    // Dynamic keying (IKEv2, RFC 4877): BUs wait until the key manager
    // reported the SAs ready, and a handover without K in effect asks it to
    // re-establish the IKE SA from the new care-of address.
    bool dynamic_keying = false;
    bool link_local_address_compatibility = false;     // L flag
    bool multiple_care_of_addresses = false;           // RFC 5648: Binding Identifier options
    bool bulk_registration = false;                    // RFC 5648: several BIDs per BU
    Duration initial_bindack_timeout_first_reg = binding::initial_bindack_timeout_first_reg;
    Duration initial_bindack_timeout = binding::initial_bindack_timeout;
    Duration max_bindack_timeout = binding::max_bindack_timeout;
    // Refresh this far (percent) into the granted lifetime, or earlier when
    // the home agent's Binding Refresh Advice says so (RFC 6275 sec. 11.7.3).
    unsigned refresh_percent = 80;
    // Give up after this many retransmissions; 0 = keep retransmitting every
    // MAX_BINDACK_TIMEOUT (RFC 6275 sec. 11.8 allows either).
    unsigned max_retransmissions = 0;
    // The first BU carries the number after this one.
    uint16_t initial_sequence_number = 0;
    // At most this many BUs to the home agent within one second
    // (MAX_UPDATE_RATE, RFC 6275 sec. 11.8, 12); later ones wait. 0 = no limit.
    unsigned max_update_rate = 3;
};

enum class BulState : uint8_t {
    idle,
    waiting_for_ack,                  // registering; the home agent holds no binding
    waiting_for_ack_refresh,          // registering; the home agent holds one still
    bound,
    waiting_for_deregistration_ack,
};

const char* to_string(BulState s);

struct BulEntry {
    uint16_t binding_id = 0;          // 0 when RFC 5648 is not in use
    BulState state = BulState::idle;
    Ipv6Address care_of_address;      // being registered, or registered
    // The binding installed locally (tunnel to the home agent), if any.
    std::optional<Ipv6Address> installed_care_of_address;
    // The care-of address the kernel state (SAs, policies, Home Address
    // option states) was last committed or migrated for.
    std::optional<Ipv6Address> kernel_care_of_address;
    std::optional<uint32_t> transaction;        // the outstanding BU, if any
    std::optional<uint16_t> releases_binding_id;  // make-before-break (RFC 5648)
    std::chrono::seconds granted_lifetime{0};
    TimePoint expires_at{};
    TimePoint refresh_at{};
    // K in effect for this binding: requested and granted by the first
    // accepting BA of the registration; later BAs do not change it.
    bool key_management_mobility_granted = false;

    bool operator==(const BulEntry&) const = default;
};

// What a snapshot keeps of a binding update list (snapshot.hpp): the
// entries and the list-wide state learnt from the home agent. Outstanding
// BUs (transactions, held BUs, rate limit) and what this process committed
// to the kernel are not part of it: `transaction` and
// `kernel_care_of_address` are empty in every entry.
struct BindingUpdateListState {
    uint16_t sequence_number = 0;             // the largest one sent (RFC 6275 sec. 11.1)
    bool multiple_care_of_addresses = false;  // RFC 5648, after any fallback
    bool bulk_registration = false;
    PrefixMode prefix_mode = PrefixMode::explicit_mode;   // RFC 3963, after any fallback
    bool home_agent_unusable = false;                     // RFC 6275 sec. 11.7.3
    std::optional<mh::BindingAckStatus> final_status;
    // An accepting BA arrived (RFC 5648 sec. 5.9): the home agent holds
    // what the entries say, so no later BU sets the O flag.
    bool mcoa_bootstrapped = false;
    // A deregistration from the home address is outstanding (RFC 6275
    // sec. 11.5.5): the restored list sends it from there again.
    bool returning_home = false;
    std::vector<BulEntry> entries;            // in binding identifier order when taken

    bool operator==(const BindingUpdateListState&) const = default;
};

// ---- Events ----

// Movement: the binding `binding_id` (0 without RFC 5648) now uses this
// care-of address (RFC 6275 sec. 11.5.1, 11.7.1).
struct MovedToCareOfAddress {
    Ipv6Address care_of_address;
    uint16_t binding_id = 0;
};
// Several care-of addresses at once; with bulk registration they go in one BU
// (RFC 5648).
struct CareOfAddressesAvailable {
    std::vector<std::pair<uint16_t, Ipv6Address>> care_of_addresses;  // (binding id, address)
};
// Make-before-break (RFC 5648): register new_binding_id first; the
// old one is released only after the home agent acknowledged the new one.
struct CareOfAddressReplaced {
    uint16_t old_binding_id = 0;
    uint16_t new_binding_id = 0;
    Ipv6Address care_of_address;
};
// A care-of address went away: deregister its binding (RFC 5648).
struct CareOfAddressLost {
    uint16_t binding_id = 0;
};
// Back on the home link: deregister everything (RFC 6275 sec. 11.5.5).
struct ReturnedHome {};
struct BindingAcknowledgementReceived {
    Ipv6Address source;
    mh::BindingAcknowledgement message;
    bool ipsec_protected = false;     // ESP of the home registration SA (RFC 6275 sec. 11.7.3)
};
struct BindingRefreshRequestReceived {
    Ipv6Address source;
    mh::BindingRefreshRequest message;
};
struct BindingErrorReceived {
    Ipv6Address source;
    mh::BindingError message;
};
struct TimerExpired {
    TimerKey key;
};
// Dynamic keying: the key manager holds the SAs for our home address (after
// the first IKE_AUTH, or after a ReestablishIkeSa).
struct SecurityAssociationsReady {};

using MobileNodeEvent =
    std::variant<MovedToCareOfAddress, CareOfAddressesAvailable, CareOfAddressReplaced,
                 CareOfAddressLost, ReturnedHome, BindingAcknowledgementReceived,
                 BindingRefreshRequestReceived, BindingErrorReceived, TimerExpired,
                 KernelOutcome, SecurityAssociationsReady>;

class BindingUpdateList {
public:
    explicit BindingUpdateList(BindingUpdateListConfig config);

    Actions handle(const MobileNodeEvent& event, TimePoint now);

    const BulEntry* entry(uint16_t binding_id) const;
    const std::map<uint16_t, BulEntry>& entries() const { return entries_; }
    // Set once the home agent said no for good (RFC 6275 sec. 11.7.3: "record
    // ... that future Binding Updates SHOULD NOT be sent to this destination").
    bool home_agent_unusable() const { return unusable_; }
    std::optional<mh::BindingAckStatus> final_status() const { return final_status_; }
    // The largest Sequence Number sent (RFC 6275 sec. 11.1).
    uint16_t sequence_number() const { return sequence_; }
    bool multiple_care_of_addresses() const { return mcoa_; }
    bool bulk_registration() const { return bulk_; }
    PrefixMode prefix_mode() const { return prefix_mode_; }
    const BindingUpdateListConfig& config() const { return config_; }
    size_t outstanding_binding_updates() const { return transactions_.size(); }
    // BUs held until the kernel moved the SAs or the key manager is ready.
    size_t held_binding_updates() const;
    bool security_associations_ready() const { return sas_ready_; }
    // A deregistration from the home address is outstanding (RFC 6275
    // sec. 11.5.5): the node is on its home link, its care-of state goes.
    bool returning_home() const;

    // ---- Life cycle (binding_update_list_lifecycle.cpp) ----

    // The state a snapshot keeps.
    BindingUpdateListState state() const;
    // Replaces the list's state with `state` (a restored snapshot, times
    // already on this process's clock) and picks up where it was: bound
    // entries get their refresh and lifetime timers, an entry waiting for a
    // BA sends its BU again (a fresh transaction, the next sequence number),
    // a deregistration is sent again (from the home address when
    // returning_home), every installed binding gets a CommitKernelState so
    // the daemon reconciles the kernel. Under dynamic keying the list waits
    // for SecurityAssociationsReady, as a freshly started one does, and a
    // BU for a care-of address waits for its kernel state as after a
    // movement.
    Actions restore(BindingUpdateListState state, TimePoint now);
    // Shutdown: every entry removed (CancelTimer for its timers and its
    // outstanding BU, RemoveRoutes, RemoveBinding, CommitKernelState for an
    // installed binding); no BU is sent, the home agent's binding runs out
    // with its lifetime.
    Actions shutdown();

private:
    // One Binding Update and its retransmissions (RFC 6275 sec. 11.8).
    struct Transaction {
        uint32_t id = 0;
        std::vector<uint16_t> binding_ids;
        bool deregistration = false;
        bool from_home = false;           // sent from the home address, no BID options
        uint16_t first_sequence = 0;
        uint16_t last_sequence = 0;
        Duration timeout{0};              // wait after the latest transmission
        TimePoint first_sent_at{};
        TimePoint last_sent_at{};
        unsigned transmissions = 0;
        bool deferred = false;            // held back by the rate limit, not sent yet
        // Before the first transmission (RFC 4877 sec. 4.3, 7.4): the
        // MIGRATEs moving the SAs to the new care-of address, or the key
        // manager's SAs.
        std::vector<uint64_t> waiting_operations;
        bool waiting_for_security_associations = false;
        bool handover_prepared = false;
    };

    void on(const MovedToCareOfAddress& e, TimePoint now, Actions& out);
    void on(const CareOfAddressesAvailable& e, TimePoint now, Actions& out);
    void on(const CareOfAddressReplaced& e, TimePoint now, Actions& out);
    void on(const CareOfAddressLost& e, TimePoint now, Actions& out);
    void on(const ReturnedHome& e, TimePoint now, Actions& out);
    void on(const BindingAcknowledgementReceived& e, TimePoint now, Actions& out);
    void on(const BindingRefreshRequestReceived& e, TimePoint now, Actions& out);
    void on(const BindingErrorReceived& e, TimePoint now, Actions& out);
    void on(const TimerExpired& e, TimePoint now, Actions& out);
    void on(const KernelOutcome& e, TimePoint now, Actions& out);
    void on(const SecurityAssociationsReady& e, TimePoint now, Actions& out);
    // Sends the transaction's first BU, or holds it for a MIGRATE / the SAs.
    void begin(Transaction& t, TimePoint now, Actions& out);
    void commit_local_state(uint16_t binding_id, Actions& out);

    uint16_t key_of(uint16_t binding_id) const { return mcoa_ ? binding_id : 0; }
    bool prepare_registration(uint16_t binding_id, const Ipv6Address& coa, Actions& out);
    void register_entries(const std::vector<uint16_t>& ids, TimePoint now, Actions& out);
    void deregister_entries(const std::vector<uint16_t>& ids, bool from_home, TimePoint now,
                            Actions& out);
    uint32_t start_transaction(std::vector<uint16_t> ids, bool deregistration, bool from_home,
                               Duration timeout, TimePoint now, Actions& out);
    void transmit(Transaction& t, TimePoint now, Actions& out);
    void detach_from_transaction(BulEntry& e, Actions& out);
    void finish_transaction(uint32_t id, Actions& out);
    void apply_registration_status(BulEntry& e, const Transaction& t,
                                   const mh::BindingAcknowledgement& ba, mh::BindingAckStatus status,
                                   TimePoint now, Actions& out, std::vector<uint16_t>& reregister,
                                   std::vector<uint16_t>& release);
    void apply_deregistration_status(BulEntry& e, mh::BindingAckStatus status, bool from_home,
                                     Actions& out);
    void install(BulEntry& e, Actions& out);
    void uninstall(BulEntry& e, Actions& out);
    void remove_entry(uint16_t binding_id, Actions& out);
    void cancel_entry_timers(const BulEntry& e, Actions& out);
    void give_up(std::optional<mh::BindingAckStatus> status, Actions& out);
    void resynchronise(uint16_t sequence, TimePoint now, Actions& out);
    Duration first_timeout(const std::vector<uint16_t>& ids) const;
    TimerKey timer(TimerKind kind, uint32_t id) const {
        return TimerKey{kind, config_.home_address, id};
    }

    BindingUpdateListConfig config_;
    bool mcoa_;
    bool bulk_;
    PrefixMode prefix_mode_;
    uint16_t sequence_;
    uint32_t next_transaction_ = 1;
    bool unusable_ = false;
    std::optional<mh::BindingAckStatus> final_status_;
    std::map<uint16_t, BulEntry> entries_;
    std::map<uint32_t, Transaction> transactions_;
    std::deque<TimePoint> recent_sends_;   // for the rate limit
    bool sas_ready_ = true;
    bool mcoa_bootstrapped_ = false;   // an accepting BA arrived (RFC 5648 sec. 5.9)
    std::optional<uint32_t> bootstrap_transaction_;   // the BU that carries O
    uint64_t next_operation_ = 1;
    std::map<uint64_t, uint16_t> local_commits_;   // operation -> binding id
    std::set<uint16_t> kernel_retry_armed_;         // bindings whose commit is retried
    std::set<uint64_t> migrate_operations_;         // outstanding Migrate operation ids
};

// Lifetime in 4-second units as carried by BU/BA, rounded down and capped at
// 0xffff (RFC 6275 sec. 6.1.7).
uint16_t lifetime_units(std::chrono::seconds lifetime);

}  // namespace nemokey::mobility::binding
