// Movement detection of a mobile node or mobile router (RFC 6275 sec.
// 11.5), as its own module behind a small interface so that it can be
// replaced (SHISA kept it in a separate program, babymdd, for this reason).
//
// Pure: kernel events (links, addresses with their DAD flags, default
// routes, neighbour state of the default routers), link-layer triggers and
// its own timer come in with the time; the binding update list's movement
// events (binding_update_list.hpp), a record of every decision and timer
// values go out. No I/O, no clock.
//
// A care-of address is usable when (RFC 6275 sec. 11.5.1, 11.5.3):
//   - its interface is a configured access interface that is up and has
//     carrier;
//   - it is a global address (not link-local, multicast, loopback or
//     unspecified), not one the daemon configured as a home address
//     (IFA_F_HOMEADDRESS, sec. 11.3.1), not a duplicate (RFC 4862 sec.
//     5.4.5) and not tentative, unless it is optimistic (RFC 4429 sec.
//     3.3: "available for use on the interface immediately");
//   - its interface has a default route whose router is not known to be
//     unreachable (RFC 4861 sec. 7.3: Neighbor Unreachability Detection
//     failed; RFC 6275 sec. 11.5.1).
// An address inside a home prefix that is usable in this sense means the
// node is on its home link (sec. 11.5.2, 11.5.5) and is never a care-of
// address.
//
// Choice among usable addresses, best first: not on an interface a
// link-layer trigger says is going down; not deprecated (RFC 4862 sec.
// 5.5.4); higher interface preference; the home link; the address in use
// (no handover without need, sec. 11.5.1); then interface name and
// address, so the choice is deterministic.
//
// Flapping: leaving a care-of address that still works for a better one
// waits until the better one has been stable for `gain_settle`; a care-of
// address that stops working is left after `loss_hold_down` (default 0:
// at once) for the best usable one, settled or not. Without a working
// care-of address a new one is taken at once. The last care-of address is
// never given up without a replacement: its binding stays until something
// replaces it (a `lost_without_alternative` record, no binding event).
//
// Multiple care-of addresses (RFC 5648; some interface has a binding id):
// every interface with a binding id has its own care-of address, reported
// as CareOfAddressesAvailable (one event for all interfaces that change at
// the same time, so bulk registration can carry them in one BU) and
// CareOfAddressLost; interfaces without a binding id serve only to detect
// the home link. On the home link every binding is deregistered
// (ReturnedHome); simultaneous home and foreign attachment (RFC 5648 sec.
// 5.6) is not used.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "conf/net/address.hpp"
#include "mobility/core/binding/binding_update_list.hpp"
#include "mobility/core/binding/time.hpp"
#include "mobility/kernel/kernel.hpp"

namespace nemokey::mobility::movement {

using binding::Duration;
using binding::TimePoint;
using net::Ipv6Address;

// ---- Configuration ----

// An access interface (conf::Interface): a higher preference is chosen
// first; binding_id is the RFC 5648 Binding Identifier of its care-of address.
struct AccessInterface {
    std::string name;
    uint8_t preference = 0;
    std::optional<uint16_t> binding_id;
    bool operator==(const AccessInterface&) const = default;
};

struct MovementDetectorConfig {
    std::vector<AccessInterface> interfaces;
    // Prefixes of the home link (RFC 6275 sec. 11.5.2).
    std::vector<net::Prefix> home_prefixes;
    // How long a care-of address that stopped working is kept before moving
    // away from it (a carrier blip shorter than this causes no handover).
    Duration loss_hold_down{0};
    // How long a better care-of address must stay usable before the node
    // leaves one that still works.
    Duration gain_settle{500};
    // How long a "link going down" trigger counts when the link stays up.
    Duration link_going_down_lifetime{5000};
    // Default routes are read from this routing table (RT_TABLE_MAIN, where
    // the kernel puts the routes learnt from Router Advertisements);
    // nullopt: from every table.
    std::optional<uint32_t> default_route_table = 254;

    bool multiple_care_of_addresses() const;
};

// From the configuration model: mobility/core/config/core_config.hpp
// (movement_detector_core_config).

// ---- Inputs ----

// A hint from the link layer or its driver (RFC 6275 sec. 11.5.1: "notification
// that an L2 handover has occurred"; IEEE 802.21 Link_Going_Down / Link_Up).
enum class LinkLayerEvent : uint8_t {
    link_going_down,   // the interface is about to lose its link: leave it if another one works
    link_up,           // the interface (re)attached: its default router should be verified
};

struct LinkLayerTrigger {
    std::string interface;
    LinkLayerEvent event = LinkLayerEvent::link_up;
};

// The timer of the last ArmMovementTimer ran out.
struct MovementTimerExpired {};

using MovementInput = std::variant<kernel::LinkChanged, kernel::AddressChanged, kernel::RouteChanged,
                                   kernel::NeighbourChanged, LinkLayerTrigger, MovementTimerExpired>;

// The kernel events movement detection reads; nullopt for the others.
std::optional<MovementInput> movement_input(const kernel::KernelEvent& event);

// ---- Outputs ----

enum class MovementReason : uint8_t {
    // The current care-of address (or home link) stopped working:
    link_removed,
    link_down,
    carrier_lost,
    link_going_down,                 // link-layer trigger
    address_removed,
    address_duplicate,               // IFA_F_DADFAILED
    address_tentative,               // DAD runs again (e.g. after the carrier came back)
    default_route_removed,
    default_router_unreachable,      // Neighbor Unreachability Detection failed
    // A better one is there:
    first_care_of_address,           // there was none
    care_of_address_available,       // the previous one had stopped working
    better_care_of_address,          // higher interface preference
    address_deprecated,              // the current one is deprecated, a preferred one exists
    home_link_detected,              // RFC 6275 sec. 11.5.2
};

const char* to_string(MovementReason r);

enum class DecisionKind : uint8_t {
    moved_to_care_of_address,        // MovedToCareOfAddress follows
    care_of_address_available,       // part of the CareOfAddressesAvailable that follows
    care_of_address_lost,            // CareOfAddressLost follows
    returned_home,                   // ReturnedHome follows
    lost_without_alternative,        // no binding event: nothing to move to
};

const char* to_string(DecisionKind k);

// Why the detector decided what it did, for the daemon's per-handover
// timing line: `observed_at` is when the input that made the decision
// necessary arrived ("movement detected"), `decided_at` when it was taken
// (later by the hold-down or settle time).
struct MovementDecision {
    DecisionKind kind = DecisionKind::moved_to_care_of_address;
    MovementReason reason = MovementReason::first_care_of_address;
    TimePoint observed_at{};
    TimePoint decided_at{};
    std::string interface;                            // empty when there is none
    std::optional<Ipv6Address> care_of_address;       // the home-prefix address when home
    std::string previous_interface;
    std::optional<Ipv6Address> previous_care_of_address;
    uint16_t binding_id = 0;                          // RFC 5648; 0 without it
    bool operator==(const MovementDecision&) const = default;
};

// The detector has one timer; arming it again replaces the earlier time.
struct ArmMovementTimer {
    TimePoint at;
    bool operator==(const ArmMovementTimer&) const = default;
};
struct CancelMovementTimer {
    bool operator==(const CancelMovementTimer&) const = default;
};

// After a link-layer "link up" (RFC 6275 sec. 11.5.1): check that the
// default routers are still bidirectionally reachable (unicast Neighbor
// Solicitation); with none known, solicit routers (RFC 4861 sec. 6.3.7).
// The answer comes back as NeighbourChanged / RouteChanged. Optional: a
// daemon that cannot do it loses only speed.
struct VerifyDefaultRouter {
    std::string interface;
    std::vector<Ipv6Address> routers;
    bool operator==(const VerifyDefaultRouter&) const = default;
};

using MovementOutput =
    std::variant<binding::MovedToCareOfAddress, binding::CareOfAddressesAvailable,
                 binding::CareOfAddressLost, binding::ReturnedHome, MovementDecision,
                 ArmMovementTimer, CancelMovementTimer, VerifyDefaultRouter>;
using MovementOutputs = std::vector<MovementOutput>;

// The binding update list's event in an output, if it is one.
std::optional<binding::MobileNodeEvent> binding_event(const MovementOutput& output);

// ---- Status (mobctl) ----

struct InterfaceStatus {
    std::string name;
    bool up = false;
    bool carrier = false;
    bool going_down = false;
    std::vector<Ipv6Address> default_routers;         // usable ones (gateway of a default route)
    std::vector<Ipv6Address> usable_addresses;
    std::optional<Ipv6Address> care_of_address;       // the one reported for this interface
};

struct MovementStatus {
    bool at_home = false;
    std::string interface;                            // of the primary care-of address
    std::optional<Ipv6Address> care_of_address;       // or of the home-link address
    std::vector<InterfaceStatus> interfaces;
};

// ---- The interface ----

class MovementDetector {
public:
    virtual ~MovementDetector() = default;
    virtual MovementOutputs handle(const MovementInput& input, TimePoint now) = 0;
    virtual MovementStatus status() const = 0;
};

// RFC 6275 sec. 11.5.1 "generic movement detection" on the kernel's view
// (Router Discovery and NUD run in the kernel; this reads their results).
class GenericMovementDetector final : public MovementDetector {
public:
    explicit GenericMovementDetector(MovementDetectorConfig config);

    MovementOutputs handle(const MovementInput& input, TimePoint now) override;
    MovementStatus status() const override;

private:
    struct DefaultRoute {
        uint32_t table = 0;
        uint32_t metric = 0;
        std::optional<Ipv6Address> gateway;
        auto operator<=>(const DefaultRoute&) const = default;
    };
    struct AddressState {
        bool tentative = false;
        bool optimistic = false;
        bool deprecated = false;
        bool duplicate = false;
    };
    struct InterfaceState {
        AccessInterface config;
        bool exists = false;
        bool up = false;
        bool carrier = false;
        std::map<Ipv6Address, AddressState> addresses;
        std::set<DefaultRoute> default_routes;
        std::set<Ipv6Address> unreachable_routers;   // NUD failed, not reachable since
        std::optional<TimePoint> going_down_until;
    };
    // A usable address and what ranks it.
    struct Candidate {
        std::string interface;
        Ipv6Address address;
        bool home = false;
        bool deprecated = false;
        bool leaving = false;
        uint8_t preference = 0;
        TimePoint since{};     // usable with these flags since
    };
    // What the detector last told (the primary choice, or one interface's
    // care-of address under RFC 5648).
    struct Selection {
        Candidate chosen;
        std::optional<TimePoint> lost_since;   // stopped working at
        bool lost_recorded = false;
    };
    struct Stability {
        bool deprecated = false;
        bool leaving = false;
        TimePoint since{};
    };

    void on(const kernel::LinkChanged& e, MovementOutputs& out);
    void on(const kernel::AddressChanged& e, MovementOutputs& out);
    void on(const kernel::RouteChanged& e, MovementOutputs& out);
    void on(const kernel::NeighbourChanged& e, MovementOutputs& out);
    void on(const LinkLayerTrigger& e, MovementOutputs& out);
    void on(const MovementTimerExpired& e, MovementOutputs& out);

    InterfaceState* access_interface(const std::string& name);
    bool leaving(const InterfaceState& s) const;
    bool is_home(const Ipv6Address& a) const;
    // Why this address cannot be used; nullopt when it can.
    std::optional<MovementReason> why_unusable(const std::string& interface,
                                               const Ipv6Address& address) const;
    std::vector<Candidate> candidates() const;
    void track_stability(std::vector<Candidate>& all);
    static const Candidate* find(const std::vector<Candidate>& all, const std::string& interface,
                                 const Ipv6Address& address);
    bool settled(const Candidate& c) const;
    // Is a better than b? `current` wins ties of rank.
    bool better(const Candidate& a, const Candidate& b, const Candidate* current) const;
    void refresh(Selection& s) const;

    void select_primary(const std::vector<Candidate>& all, MovementOutputs& out);
    void switch_primary(const Candidate& to, MovementReason reason, TimePoint observed_at,
                        MovementOutputs& out);
    void select_per_interface(const std::vector<Candidate>& all, MovementOutputs& out);
    void arm_timer(const std::vector<Candidate>& all, MovementOutputs& out);
    uint16_t binding_id_of(const std::string& interface) const;

    MovementDetectorConfig config_;
    bool mcoa_;
    TimePoint now_{};
    std::map<std::string, InterfaceState> interfaces_;
    std::map<std::pair<std::string, Ipv6Address>, Stability> stability_;
    std::optional<Selection> primary_;
    bool at_home_ = false;
    // RFC 5648: the care-of address reported per interface.
    std::map<std::string, Selection> reported_;
    // Set by select_primary when the node left its home link in this step.
    std::optional<std::pair<MovementReason, TimePoint>> left_home_;
    std::optional<TimePoint> armed_;
};

std::unique_ptr<MovementDetector> make_movement_detector(MovementDetectorConfig config);

}  // namespace nemokey::mobility::movement
