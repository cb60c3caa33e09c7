// Movement detection (RFC 6275 sec. 11.5) with a virtual clock: kernel
// events in the order the kernel sends them, the binding update list's
// movement events and the decision records out.
#include "mobility/core/movement/movement_detector.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <random>
#include <string_view>
#include <tuple>

namespace nemokey::mobility::movement {
namespace {

using std::chrono::milliseconds;

Ipv6Address addr(std::string_view text) {
    auto a = Ipv6Address::parse(text);
    EXPECT_TRUE(a.has_value()) << "bad test address '" << text << "'";
    return a.value_or(Ipv6Address{});
}

net::Prefix prefix(std::string_view text) {
    auto p = net::Prefix::parse(text);
    EXPECT_TRUE(p.has_value()) << "bad test prefix '" << text << "'";
    return p.value_or(net::Prefix{});
}

template <class T>
std::vector<T> all_of(const MovementOutputs& out) {
    std::vector<T> v;
    for (const auto& o : out)
        if (const T* p = std::get_if<T>(&o)) v.push_back(*p);
    return v;
}

// Address flags as the kernel reports them (IFA_F_*).
struct Flags {
    bool tentative = false;
    bool optimistic = false;
    bool deprecated = false;
    bool duplicate = false;
    bool home_address = false;
};

// Plays the kernel and the daemon's timer: every input at the harness's
// "now", the detector's timer fired when time passes its deadline.
class Harness {
public:
    explicit Harness(MovementDetectorConfig config) : detector_(std::move(config)) {}

    GenericMovementDetector& detector() { return detector_; }
    TimePoint now() const { return now_; }
    std::optional<TimePoint> armed() const { return armed_; }

    MovementOutputs feed(const MovementInput& input) {
        auto out = detector_.handle(input, now_);
        for (const auto& o : out) {
            if (auto* a = std::get_if<ArmMovementTimer>(&o)) {
                EXPECT_GT(a->at, now_) << "a timer in the past";
                armed_ = a->at;
            }
            if (std::holds_alternative<CancelMovementTimer>(o)) armed_.reset();
        }
        log_.insert(log_.end(), out.begin(), out.end());
        return out;
    }

    // Moves time on, firing the timer on the way; returns what it caused.
    MovementOutputs advance(milliseconds d) {
        const TimePoint until = now_ + d;
        MovementOutputs all;
        while (armed_ && *armed_ <= until) {
            now_ = *armed_;
            armed_.reset();
            auto out = feed(MovementTimerExpired{});
            all.insert(all.end(), out.begin(), out.end());
        }
        now_ = until;
        return all;
    }

    MovementOutputs link(const std::string& name, bool up, bool carrier = true) {
        return feed(kernel::LinkChanged{name, 0, up, up && carrier, false});
    }
    MovementOutputs link_removed(const std::string& name) {
        return feed(kernel::LinkChanged{name, 0, false, false, true});
    }
    MovementOutputs address(const std::string& name, std::string_view a, Flags f = {},
                            bool removed = false) {
        net::Prefix p{addr(a), 64};
        return feed(kernel::AddressChanged{name, p, f.tentative, f.optimistic, f.deprecated,
                                           f.duplicate, f.home_address, removed});
    }
    MovementOutputs default_route(const std::string& name, std::optional<std::string_view> gateway,
                                  bool removed = false, uint32_t table = 254) {
        kernel::RouteChanged r;
        r.id.table = table;
        r.id.destination = prefix("::/0");
        r.device = name;
        if (gateway) r.gateway = net::IpAddress{addr(*gateway)};
        r.protocol = 9;   // RTPROT_RA
        r.removed = removed;
        return feed(r);
    }
    MovementOutputs neighbour(const std::string& name, std::string_view a, bool reachable,
                              bool failed, bool removed = false) {
        return feed(kernel::NeighbourChanged{name, net::IpAddress{addr(a)}, true, reachable, failed,
                                             removed});
    }
    MovementOutputs hint(const std::string& name, LinkLayerEvent e) {
        return feed(LinkLayerTrigger{name, e});
    }

    // An interface up with a default router and one valid address.
    MovementOutputs attach(const std::string& name, std::string_view a,
                           std::string_view router = "fe80::1") {
        MovementOutputs all;
        for (auto out : {link(name, true), default_route(name, router), address(name, a)})
            all.insert(all.end(), out.begin(), out.end());
        return all;
    }

    const MovementOutputs& log() const { return log_; }

private:
    GenericMovementDetector detector_;
    TimePoint now_{milliseconds{1000}};
    std::optional<TimePoint> armed_;
    MovementOutputs log_;
};

MovementDetectorConfig two_interfaces(bool mcoa = false) {
    MovementDetectorConfig c;
    c.interfaces = {{"eth0", 20, mcoa ? std::optional<uint16_t>(1) : std::nullopt},
                    {"wlan0", 10, mcoa ? std::optional<uint16_t>(2) : std::nullopt}};
    c.home_prefixes = {prefix("2001:db8:1::/64")};
    return c;
}

std::vector<Ipv6Address> moves(const MovementOutputs& out) {
    std::vector<Ipv6Address> v;
    for (const auto& m : all_of<binding::MovedToCareOfAddress>(out)) {
        EXPECT_EQ(m.binding_id, 0) << "no binding id without RFC 5648";
        v.push_back(m.care_of_address);
    }
    return v;
}

MovementDecision only_decision(const MovementOutputs& out) {
    auto d = all_of<MovementDecision>(out);
    EXPECT_EQ(d.size(), 1u) << "expected exactly one decision";
    return d.empty() ? MovementDecision{} : d.front();
}

const Ipv6Address eth_coa = addr("2001:db8:a::2");
const Ipv6Address wlan_coa = addr("2001:db8:b::2");

// ---- First care-of address ----

TEST(MovementDetector, FirstCareOfAddressFromSlaacWhenDadCompletes) {
    Harness h(two_interfaces());
    EXPECT_TRUE(moves(h.link("eth0", true)).empty());
    EXPECT_TRUE(moves(h.default_route("eth0", "fe80::1")).empty());
    // RFC 4862 sec. 5.4: a tentative address is not used.
    EXPECT_TRUE(h.address("eth0", "2001:db8:a::2", {.tentative = true}).empty());
    h.advance(milliseconds{1000});
    const TimePoint valid_at = h.now();
    auto out = h.address("eth0", "2001:db8:a::2");
    EXPECT_EQ(moves(out), std::vector{eth_coa});
    auto d = only_decision(out);
    EXPECT_EQ(d.kind, DecisionKind::moved_to_care_of_address);
    EXPECT_EQ(d.reason, MovementReason::first_care_of_address);
    EXPECT_EQ(d.observed_at, valid_at);
    EXPECT_EQ(d.decided_at, valid_at);
    EXPECT_EQ(d.interface, "eth0");
    EXPECT_FALSE(d.previous_care_of_address);
    // The decision record comes before the binding event.
    ASSERT_EQ(out.size(), 2u);
    EXPECT_TRUE(std::holds_alternative<MovementDecision>(out[0]));
    EXPECT_TRUE(std::holds_alternative<binding::MovedToCareOfAddress>(out[1]));
    EXPECT_EQ(h.detector().status().care_of_address, eth_coa);
    // The same address reported again (a lifetime update) is no movement.
    EXPECT_TRUE(h.address("eth0", "2001:db8:a::2").empty());
}

TEST(MovementDetector, AddressBeforeRouterWaitsForTheDefaultRoute) {
    Harness h(two_interfaces());
    h.link("eth0", true);
    EXPECT_TRUE(moves(h.address("eth0", "2001:db8:a::2")).empty());
    // Link-local and multicast addresses are never care-of addresses.
    EXPECT_TRUE(h.address("eth0", "fe80::2").empty());
    EXPECT_EQ(moves(h.default_route("eth0", "fe80::1")), std::vector{eth_coa});
}

TEST(MovementDetector, OptimisticAddressIsUsableAtOnce) {
    Harness h(two_interfaces());
    h.link("eth0", true);
    h.default_route("eth0", "fe80::1");
    // RFC 4429 sec. 3.3: Linux reports IFA_F_TENTATIVE | IFA_F_OPTIMISTIC.
    EXPECT_EQ(moves(h.address("eth0", "2001:db8:a::2", {.tentative = true, .optimistic = true})),
              std::vector{eth_coa});
    // DAD completing changes nothing.
    EXPECT_TRUE(moves(h.address("eth0", "2001:db8:a::2")).empty());
}

TEST(MovementDetector, DadFailureIsIgnored) {
    Harness h(two_interfaces());
    h.link("eth0", true);
    h.default_route("eth0", "fe80::1");
    h.address("eth0", "2001:db8:a::2", {.tentative = true, .optimistic = true});
    // An optimistic address found duplicate: given up (RFC 4429 sec. 3.3,
    // RFC 4862 sec. 5.4.5). Here it was the only one.
    auto out = h.address("eth0", "2001:db8:a::2", {.tentative = true, .duplicate = true});
    EXPECT_TRUE(moves(out).empty());
    EXPECT_EQ(only_decision(out).kind, DecisionKind::lost_without_alternative);
    EXPECT_EQ(only_decision(out).reason, MovementReason::address_duplicate);
    // A duplicate address alone never becomes a care-of address.
    Harness g(two_interfaces());
    g.link("eth0", true);
    g.default_route("eth0", "fe80::1");
    EXPECT_TRUE(g.address("eth0", "2001:db8:a::3", {.tentative = true, .duplicate = true}).empty());
    // The next address (e.g. a new interface identifier) is used.
    EXPECT_EQ(moves(g.address("eth0", "2001:db8:a::2")), std::vector{eth_coa});
}

// ---- Loss of the care-of address or its router ----

TEST(MovementDetector, RouterLostByNudMovesToTheOtherInterface) {
    Harness h(two_interfaces());
    h.attach("eth0", "2001:db8:a::2");
    h.attach("wlan0", "2001:db8:b::2", "fe80::99");
    ASSERT_EQ(moves(h.log()), std::vector{eth_coa});
    h.advance(milliseconds{2000});
    // RFC 6275 sec. 11.5.1: NUD says the default router is gone.
    const TimePoint failed_at = h.now();
    auto out = h.neighbour("eth0", "fe80::1", false, true);
    EXPECT_EQ(moves(out), std::vector{wlan_coa});
    auto d = only_decision(out);
    EXPECT_EQ(d.reason, MovementReason::default_router_unreachable);
    EXPECT_EQ(d.observed_at, failed_at);
    EXPECT_EQ(d.previous_interface, "eth0");
    EXPECT_EQ(d.previous_care_of_address, eth_coa);
    // The kernel soon deletes the FAILED entry: the router stays unreachable.
    EXPECT_TRUE(moves(h.neighbour("eth0", "fe80::1", false, false, true)).empty());
    h.advance(milliseconds{5000});
    EXPECT_TRUE(moves(h.log()).size() == 2);
    // A Router Advertisement from it again (neighbour STALE): back to the
    // preferred interface once it has been usable for the settle time.
    EXPECT_TRUE(moves(h.neighbour("eth0", "fe80::1", true, false)).empty());
    auto later = h.advance(milliseconds{500});
    EXPECT_EQ(moves(later), std::vector{eth_coa});
    EXPECT_EQ(only_decision(later).reason, MovementReason::better_care_of_address);
}

TEST(MovementDetector, AnotherReachableRouterKeepsTheInterface) {
    Harness h(two_interfaces());
    h.attach("eth0", "2001:db8:a::2");
    h.default_route("eth0", "fe80::2");
    h.attach("wlan0", "2001:db8:b::2", "fe80::99");
    EXPECT_TRUE(moves(h.neighbour("eth0", "fe80::1", false, true)).empty());
    EXPECT_EQ(moves(h.neighbour("eth0", "fe80::2", false, true)), std::vector{wlan_coa});
}

TEST(MovementDetector, DefaultRouteRemovedIsMovement) {
    Harness h(two_interfaces());
    h.attach("eth0", "2001:db8:a::2");
    h.attach("wlan0", "2001:db8:b::2", "fe80::99");
    // Routes of another table are not default routes of the access link.
    EXPECT_TRUE(moves(h.default_route("eth0", "fe80::1", true, 100)).empty());
    auto out = h.default_route("eth0", "fe80::1", true);
    EXPECT_EQ(moves(out), std::vector{wlan_coa});
    EXPECT_EQ(only_decision(out).reason, MovementReason::default_route_removed);
}

TEST(MovementDetector, LinkDownCarrierLossAndRemoval) {
    struct Case {
        const char* name;
        std::function<MovementOutputs(Harness&)> lose;
        MovementReason reason;
    };
    const Case cases[] = {
        {"down", [](Harness& h) { return h.link("eth0", false); }, MovementReason::link_down},
        {"carrier", [](Harness& h) { return h.link("eth0", true, false); }, MovementReason::carrier_lost},
        {"removed", [](Harness& h) { return h.link_removed("eth0"); }, MovementReason::link_removed},
        {"address", [](Harness& h) { return h.address("eth0", "2001:db8:a::2", {}, true); },
         MovementReason::address_removed},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        Harness h(two_interfaces());
        h.attach("eth0", "2001:db8:a::2");
        h.attach("wlan0", "2001:db8:b::2", "fe80::99");
        auto out = c.lose(h);
        EXPECT_EQ(moves(out), std::vector{wlan_coa});
        EXPECT_EQ(only_decision(out).reason, c.reason);
    }
}

TEST(MovementDetector, LastCareOfAddressIsKeptUntilAnotherWorks) {
    Harness h(two_interfaces());
    h.attach("eth0", "2001:db8:a::2");
    auto out = h.link("eth0", false);
    EXPECT_TRUE(moves(out).empty());
    EXPECT_EQ(only_decision(out).kind, DecisionKind::lost_without_alternative);
    EXPECT_EQ(only_decision(out).reason, MovementReason::link_down);
    // Said once.
    EXPECT_TRUE(h.link("eth0", false).empty());
    // The same link again, same address: the binding is still right.
    h.link("eth0", true);
    EXPECT_TRUE(h.default_route("eth0", "fe80::1").empty());
    EXPECT_TRUE(moves(h.log()).size() == 1);
    // Down again, and another link comes: moved at once (nothing works).
    h.link("eth0", false);
    h.advance(milliseconds{3000});
    const TimePoint wlan_at = h.now();
    auto moved = h.attach("wlan0", "2001:db8:b::2", "fe80::99");
    EXPECT_EQ(moves(moved), std::vector{wlan_coa});
    auto d = only_decision(moved);
    EXPECT_EQ(d.reason, MovementReason::care_of_address_available);
    EXPECT_EQ(d.observed_at, wlan_at);
}

// ---- Preference ----

TEST(MovementDetector, HigherPreferenceFirst) {
    MovementDetectorConfig c = two_interfaces();
    c.interfaces.push_back({"wwan0", 30, std::nullopt});
    c.interfaces.push_back({"usb0", 10, std::nullopt});
    Harness h(c);
    // The least preferred comes first and is used at once (nothing else works).
    EXPECT_EQ(moves(h.attach("wlan0", "2001:db8:b::2")), std::vector{wlan_coa});
    // A better one appears: used once it has settled (500 ms by default).
    EXPECT_TRUE(moves(h.attach("eth0", "2001:db8:a::2")).empty());
    EXPECT_EQ(h.armed(), h.now() + milliseconds{500});
    EXPECT_TRUE(moves(h.advance(milliseconds{499})).empty());
    auto out = h.advance(milliseconds{1});
    EXPECT_EQ(moves(out), std::vector{eth_coa});
    EXPECT_EQ(only_decision(out).reason, MovementReason::better_care_of_address);
    EXPECT_EQ(only_decision(out).observed_at, h.now() - milliseconds{500});
    EXPECT_EQ(only_decision(out).decided_at, h.now());
    // A lower preference never takes over.
    h.attach("usb0", "2001:db8:c::2");
    EXPECT_TRUE(moves(h.advance(milliseconds{5000})).empty());
    // The best.
    h.attach("wwan0", "2001:db8:d::2");
    EXPECT_EQ(moves(h.advance(milliseconds{500})), std::vector{addr("2001:db8:d::2")});
    EXPECT_EQ(h.armed(), std::nullopt);
}

TEST(MovementDetector, EqualPreferenceChoosesDeterministicallyAndStays) {
    MovementDetectorConfig c;
    c.interfaces = {{"b0", 5, {}}, {"a0", 5, {}}};
    Harness h(c);
    h.link("a0", true);
    h.link("b0", true);
    h.default_route("a0", "fe80::1");
    h.default_route("b0", "fe80::1");
    h.address("b0", "2001:db8:b::9");
    EXPECT_EQ(moves(h.log()), std::vector{addr("2001:db8:b::9")});
    // a0 would win a fresh choice by name, but the address in use stays.
    h.address("a0", "2001:db8:a::9");
    EXPECT_TRUE(moves(h.advance(milliseconds{10000})).empty());
    // Fresh choice (nothing works): by name.
    Harness g(c);
    g.link("a0", true);
    g.link("b0", true);
    g.address("b0", "2001:db8:b::9");
    g.address("a0", "2001:db8:a::9");
    g.address("a0", "2001:db8:a::1");
    g.default_route("b0", "fe80::1");
    EXPECT_EQ(moves(g.log()), std::vector{addr("2001:db8:b::9")});
    g.link("b0", false);
    g.default_route("a0", "fe80::1");
    EXPECT_EQ(moves(g.log()).back(), addr("2001:db8:a::1"));
}

TEST(MovementDetector, DeprecatedAddressNotChosenWhenAPreferredOneExists) {
    Harness h(two_interfaces());
    h.link("eth0", true);
    h.address("eth0", "2001:db8:a::1", {.deprecated = true});
    h.address("eth0", "2001:db8:a::2");
    h.default_route("eth0", "fe80::1");
    EXPECT_EQ(moves(h.log()), std::vector{eth_coa});
    // RFC 4862 sec. 5.5.4 over interface preference: a preferred address on
    // the less preferred interface beats a deprecated one.
    Harness g(two_interfaces());
    g.attach("wlan0", "2001:db8:b::2", "fe80::99");
    g.link("eth0", true);
    g.default_route("eth0", "fe80::1");
    g.address("eth0", "2001:db8:a::1", {.deprecated = true});
    EXPECT_TRUE(moves(g.advance(milliseconds{5000})).empty());
    // Renumbering: the current address becomes deprecated, a new one is
    // there: moved at once (the new one has been usable long enough).
    h.address("eth0", "2001:db8:a::3");
    h.advance(milliseconds{1000});
    const TimePoint deprecated_at = h.now();
    auto out = h.address("eth0", "2001:db8:a::2", {.deprecated = true});
    ASSERT_EQ(moves(out), std::vector{addr("2001:db8:a::3")});
    EXPECT_EQ(only_decision(out).reason, MovementReason::address_deprecated);
    EXPECT_EQ(only_decision(out).observed_at, deprecated_at);
    // Only deprecated addresses left: still better than none.
    Harness k(two_interfaces());
    k.link("eth0", true);
    k.default_route("eth0", "fe80::1");
    EXPECT_EQ(moves(k.address("eth0", "2001:db8:a::1", {.deprecated = true})),
              std::vector{addr("2001:db8:a::1")});
}

// ---- Home ----

TEST(MovementDetector, ReturningHomeAndLeavingAgain) {
    Harness h(two_interfaces());
    h.attach("eth0", "2001:db8:a::2");
    h.attach("wlan0", "2001:db8:b::2", "fe80::99");
    h.link("eth0", false);
    h.address("eth0", "2001:db8:a::2", {}, true);   // as the kernel does on admin down
    ASSERT_EQ(moves(h.log()), (std::vector{eth_coa, wlan_coa}));
    // eth0 on the home link (RFC 6275 sec. 11.5.2: the home prefix on-link,
    // an address formed from it).
    h.link("eth0", true);
    h.default_route("eth0", "fe80::1");
    EXPECT_TRUE(h.address("eth0", "2001:db8:1::2", {.tentative = true}).empty());
    const TimePoint home_at = h.now();
    EXPECT_TRUE(all_of<binding::ReturnedHome>(h.address("eth0", "2001:db8:1::2")).empty());
    auto out = h.advance(milliseconds{500});
    EXPECT_EQ(all_of<binding::ReturnedHome>(out).size(), 1u);
    EXPECT_TRUE(moves(out).empty());
    auto d = only_decision(out);
    EXPECT_EQ(d.kind, DecisionKind::returned_home);
    EXPECT_EQ(d.reason, MovementReason::home_link_detected);
    EXPECT_EQ(d.observed_at, home_at);
    EXPECT_EQ(d.care_of_address, addr("2001:db8:1::2"));
    EXPECT_TRUE(h.detector().status().at_home);
    // The daemon then puts the home address on the interface, flagged: no event.
    EXPECT_TRUE(h.address("eth0", "2001:db8:1::100", {.home_address = true}).empty());
    // Leaving the home link: a movement like any other.
    auto away = h.link("eth0", true, false);
    EXPECT_EQ(moves(away), std::vector{wlan_coa});
    EXPECT_EQ(only_decision(away).reason, MovementReason::carrier_lost);
    EXPECT_FALSE(h.detector().status().at_home);
}

TEST(MovementDetector, HomeLinkAtBootIsReturnedHomeAtOnce) {
    Harness h(two_interfaces());
    auto out = h.attach("wlan0", "2001:db8:1::7", "fe80::99");
    EXPECT_EQ(all_of<binding::ReturnedHome>(out).size(), 1u);
    EXPECT_EQ(only_decision(out).reason, MovementReason::home_link_detected);
    // A foreign link on the preferred interface: the node leaves home.
    h.attach("eth0", "2001:db8:a::2");
    EXPECT_EQ(moves(h.advance(milliseconds{500})), std::vector{eth_coa});
}

TEST(MovementDetector, HomeAddressFlaggedIsNotEvidenceOfTheHomeLink) {
    Harness h(two_interfaces());
    h.link("eth0", true);
    h.default_route("eth0", "fe80::1");
    EXPECT_TRUE(h.address("eth0", "2001:db8:1::100", {.home_address = true}).empty());
    EXPECT_FALSE(h.detector().status().at_home);
}

// ---- Link-layer triggers ----

TEST(MovementDetector, LinkGoingDownMovesBeforeTheLinkBreaks) {
    Harness h(two_interfaces());
    h.attach("eth0", "2001:db8:a::2");
    h.attach("wlan0", "2001:db8:b::2", "fe80::99");
    auto out = h.hint("eth0", LinkLayerEvent::link_going_down);
    EXPECT_EQ(moves(out), std::vector{wlan_coa});
    EXPECT_EQ(only_decision(out).reason, MovementReason::link_going_down);
    // The link did not go after all: the trigger runs out (5 s), and eth0
    // is taken back once settled.
    EXPECT_TRUE(moves(h.advance(milliseconds{4999})).empty());
    EXPECT_TRUE(moves(h.advance(milliseconds{500})).empty());
    EXPECT_EQ(moves(h.advance(milliseconds{1})), std::vector{eth_coa});
}

TEST(MovementDetector, LinkGoingDownWithoutAlternativeStays) {
    Harness h(two_interfaces());
    h.attach("eth0", "2001:db8:a::2");
    EXPECT_TRUE(moves(h.hint("eth0", LinkLayerEvent::link_going_down)).empty());
    // A second interface now: taken at once, eth0 is going.
    EXPECT_EQ(moves(h.attach("wlan0", "2001:db8:b::2", "fe80::99")), std::vector{wlan_coa});
}

TEST(MovementDetector, LinkUpAsksToVerifyTheDefaultRouter) {
    Harness h(two_interfaces());
    h.attach("eth0", "2001:db8:a::2");
    h.default_route("eth0", "fe80::2");
    h.hint("wlan0", LinkLayerEvent::link_going_down);
    auto out = h.hint("eth0", LinkLayerEvent::link_up);
    const VerifyDefaultRouter both{"eth0", {addr("fe80::1"), addr("fe80::2")}};
    EXPECT_EQ(all_of<VerifyDefaultRouter>(out), std::vector{both});
    EXPECT_TRUE(moves(out).empty());
    // No router known: solicit.
    const VerifyDefaultRouter none{"wlan0", {}};
    EXPECT_EQ(all_of<VerifyDefaultRouter>(h.hint("wlan0", LinkLayerEvent::link_up)), std::vector{none});
    // The probe fails: NUD reports it, and that is movement.
    h.attach("wlan0", "2001:db8:b::2", "fe80::99");
    h.neighbour("eth0", "fe80::1", false, true);
    EXPECT_EQ(moves(h.neighbour("eth0", "fe80::2", false, true)), std::vector{wlan_coa});
    // Triggers for interfaces that are not access interfaces are ignored.
    EXPECT_TRUE(h.hint("lo", LinkLayerEvent::link_up).empty());
}

// ---- Flapping ----

TEST(MovementDetector, FlappingPreferredLinkCausesNoStorm) {
    Harness h(two_interfaces());
    h.attach("eth0", "2001:db8:a::2");
    h.attach("wlan0", "2001:db8:b::2", "fe80::99");
    // eth0's carrier flaps every 100 ms for 3 s.
    for (int i = 0; i < 15; ++i) {
        h.link("eth0", true, false);
        h.advance(milliseconds{100});
        h.link("eth0", true, true);
        h.advance(milliseconds{100});
    }
    // One move away at the first loss; none back while it flaps.
    EXPECT_EQ(moves(h.log()), (std::vector{eth_coa, wlan_coa}));
    // Stable again: back after the settle time.
    h.advance(milliseconds{400});
    EXPECT_EQ(moves(h.log()), (std::vector{eth_coa, wlan_coa, eth_coa}));
    EXPECT_EQ(h.armed(), std::nullopt);
}

TEST(MovementDetector, LossHoldDownRidesOutACarrierBlip) {
    MovementDetectorConfig c = two_interfaces();
    c.loss_hold_down = milliseconds{300};
    Harness h(c);
    h.attach("eth0", "2001:db8:a::2");
    h.attach("wlan0", "2001:db8:b::2", "fe80::99");
    EXPECT_TRUE(moves(h.link("eth0", true, false)).empty());
    EXPECT_EQ(h.armed(), h.now() + milliseconds{300});
    h.advance(milliseconds{200});
    h.link("eth0", true, true);
    EXPECT_TRUE(moves(h.advance(milliseconds{1000})).empty());
    // A loss that lasts: moved when the hold-down ends, observed at the loss.
    const TimePoint lost_at = h.now();
    h.link("eth0", false);
    auto out = h.advance(milliseconds{300});
    EXPECT_EQ(moves(out), std::vector{wlan_coa});
    EXPECT_EQ(only_decision(out).observed_at, lost_at);
    EXPECT_EQ(only_decision(out).decided_at, lost_at + milliseconds{300});
    EXPECT_EQ(only_decision(out).reason, MovementReason::link_down);
}

// ---- Multiple care-of addresses (RFC 5648) ----

TEST(MovementDetector, McoaReportsEachInterface) {
    Harness h(two_interfaces(true));
    auto first = h.attach("eth0", "2001:db8:a::2");
    auto a = all_of<binding::CareOfAddressesAvailable>(first);
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0].care_of_addresses, (std::vector<std::pair<uint16_t, Ipv6Address>>{{1, eth_coa}}));
    EXPECT_TRUE(moves(first).empty());
    EXPECT_EQ(only_decision(first).binding_id, 1);
    EXPECT_EQ(only_decision(first).reason, MovementReason::first_care_of_address);
    // The second waits to settle (one works already).
    EXPECT_TRUE(all_of<binding::CareOfAddressesAvailable>(h.attach("wlan0", "2001:db8:b::2")).empty());
    auto second = all_of<binding::CareOfAddressesAvailable>(h.advance(milliseconds{500}));
    ASSERT_EQ(second.size(), 1u);
    EXPECT_EQ(second[0].care_of_addresses,
              (std::vector<std::pair<uint16_t, Ipv6Address>>{{2, wlan_coa}}));
    // eth0 lost: deregistered, through wlan0.
    auto lost = h.link("eth0", false);
    auto l = all_of<binding::CareOfAddressLost>(lost);
    ASSERT_EQ(l.size(), 1u);
    EXPECT_EQ(l[0].binding_id, 1);
    EXPECT_EQ(only_decision(lost).kind, DecisionKind::care_of_address_lost);
    EXPECT_EQ(only_decision(lost).reason, MovementReason::link_down);
    // The last one is never deregistered: nothing else carries the BU.
    auto last = h.neighbour("wlan0", "fe80::1", false, true);
    EXPECT_TRUE(all_of<binding::CareOfAddressLost>(last).empty());
    EXPECT_EQ(only_decision(last).kind, DecisionKind::lost_without_alternative);
    // eth0 back: at once (nothing works), then wlan0's binding goes.
    h.link("eth0", true);
    h.default_route("eth0", "fe80::1");
    auto back = h.log();
    auto avail = all_of<binding::CareOfAddressesAvailable>(back);
    EXPECT_EQ(avail.back().care_of_addresses,
              (std::vector<std::pair<uint16_t, Ipv6Address>>{{1, eth_coa}}));
    EXPECT_EQ(all_of<binding::CareOfAddressLost>(back).back().binding_id, 2);
    EXPECT_EQ(h.detector().status().interfaces.size(), 2u);
}

TEST(McoaMovementDetector, InterfacesChangingTogetherGoInOneEvent) {
    MovementDetectorConfig c = two_interfaces(true);
    c.gain_settle = milliseconds{0};
    Harness h(c);
    h.link("eth0", true);
    h.link("wlan0", true);
    h.address("eth0", "2001:db8:a::2");
    h.address("wlan0", "2001:db8:b::2");
    // One after the other (one kernel event each): two events.
    h.default_route("eth0", "fe80::1");
    h.default_route("wlan0", "fe80::1");
    EXPECT_EQ(all_of<binding::CareOfAddressesAvailable>(h.log()).size(), 2u);
    // Renumbering on eth0: a new address for binding 1, same event type.
    h.address("eth0", "2001:db8:a::3");
    auto out = h.address("eth0", "2001:db8:a::2", {.deprecated = true});
    auto a = all_of<binding::CareOfAddressesAvailable>(out);
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0].care_of_addresses,
              (std::vector<std::pair<uint16_t, Ipv6Address>>{{1, addr("2001:db8:a::3")}}));
    EXPECT_EQ(only_decision(out).previous_care_of_address, eth_coa);
    // Returning home deregisters everything; leaving reports both at once.
    h.link("eth0", false);
    h.link("eth0", true);
    h.default_route("eth0", "fe80::1");
    auto home = h.address("eth0", "2001:db8:1::2");
    EXPECT_EQ(all_of<binding::ReturnedHome>(home).size(), 1u);
    EXPECT_TRUE(h.detector().status().at_home);
    auto away = h.address("eth0", "2001:db8:1::2", {}, true);
    auto both = all_of<binding::CareOfAddressesAvailable>(away);
    ASSERT_EQ(both.size(), 1u);
    EXPECT_EQ(both[0].care_of_addresses,
              (std::vector<std::pair<uint16_t, Ipv6Address>>{{1, addr("2001:db8:a::3")},
                                                            {2, wlan_coa}}));
    EXPECT_EQ(all_of<MovementDecision>(away).size(), 2u);
    EXPECT_EQ(all_of<MovementDecision>(away)[0].reason, MovementReason::address_removed);
}

TEST(McoaMovementDetector, InterfaceWithoutBindingIdCarriesNoCareOfAddress) {
    MovementDetectorConfig c = two_interfaces(true);
    c.interfaces.push_back({"usb0", 50, std::nullopt});
    Harness h(c);
    EXPECT_TRUE(h.attach("usb0", "2001:db8:c::2").empty());
    // ... but it can find the home link.
    EXPECT_EQ(all_of<binding::ReturnedHome>(h.address("usb0", "2001:db8:1::2")).size(), 1u);
}

TEST(McoaMovementDetector, LinkGoingDownDeregistersWhenAnotherWorks) {
    MovementDetectorConfig c = two_interfaces(true);
    c.gain_settle = milliseconds{0};
    Harness h(c);
    h.attach("eth0", "2001:db8:a::2");
    EXPECT_TRUE(all_of<binding::CareOfAddressLost>(h.hint("eth0", LinkLayerEvent::link_going_down)).empty());
    h.attach("wlan0", "2001:db8:b::2");
    auto l = all_of<binding::CareOfAddressLost>(h.log());
    ASSERT_EQ(l.size(), 1u);
    EXPECT_EQ(l[0].binding_id, 1);
}

// ---- Plumbing ----

TEST(MovementDetector, KernelEventsAndBindingEvents) {
    EXPECT_TRUE(movement_input(kernel::KernelEvent{kernel::LinkChanged{"eth0", 2, true, true, false}}));
    EXPECT_FALSE(movement_input(kernel::KernelEvent{kernel::SaExpired{}}));
    EXPECT_TRUE(binding_event(MovementOutput{binding::ReturnedHome{}}));
    EXPECT_FALSE(binding_event(MovementOutput{ArmMovementTimer{}}));
    // Through the factory, behind the interface.
    auto d = make_movement_detector(two_interfaces());
    TimePoint t{};
    d->handle(kernel::LinkChanged{"eth0", 2, true, true, false}, t);
    d->handle(kernel::RouteChanged{kernel::RouteId{254, prefix("::/0"), 1024}, "eth0",
                                   net::IpAddress{addr("fe80::1")}, 9, false},
              t);
    auto out = d->handle(
        kernel::AddressChanged{"eth0", prefix("2001:db8:a::2/64"), false, false, false, false, false, false},
        t);
    std::vector<binding::MobileNodeEvent> events;
    for (const auto& o : out)
        if (auto e = binding_event(o)) events.push_back(*e);
    ASSERT_EQ(events.size(), 1u);
    // It drives the binding update list as it is.
    binding::BindingUpdateListConfig bc;
    bc.home_address = addr("2001:db8:1::100");
    bc.home_agent_address = addr("2001:db8:1::1");
    binding::BindingUpdateList bul(bc);
    auto actions = bul.handle(events[0], t);
    EXPECT_FALSE(actions.empty());
    ASSERT_NE(bul.entry(0), nullptr);
    EXPECT_EQ(bul.entry(0)->care_of_address, eth_coa);
    EXPECT_STREQ(to_string(MovementReason::default_router_unreachable), "default-router-unreachable");
    EXPECT_STREQ(to_string(DecisionKind::returned_home), "returned-home");
}

// ---- Randomized property test ----

std::string describe(const MovementInput& in) {
    if (auto* e = std::get_if<kernel::LinkChanged>(&in))
        return "link " + e->interface + (e->removed ? " removed" : "") + (e->up ? " up" : " down") +
               (e->carrier ? " carrier" : "");
    if (auto* e = std::get_if<kernel::AddressChanged>(&in))
        return "address " + e->interface + " " + net::to_string(e->address.address) +
               (e->tentative ? " tentative" : "") + (e->optimistic ? " optimistic" : "") +
               (e->deprecated ? " deprecated" : "") + (e->duplicate ? " duplicate" : "") +
               (e->home_address ? " home" : "") + (e->removed ? " removed" : "");
    if (auto* e = std::get_if<kernel::RouteChanged>(&in))
        return "route " + e->device + " table " + std::to_string(e->id.table) + " metric " +
               std::to_string(e->id.metric) + " via " + (e->gateway ? net::to_string(*e->gateway) : "-") +
               (e->removed ? " removed" : "");
    if (auto* e = std::get_if<kernel::NeighbourChanged>(&in))
        return "neighbour " + e->interface + " " + net::to_string(e->address) + (e->router ? " router" : "") +
               (e->reachable ? " reachable" : "") + (e->failed ? " failed" : "") + (e->removed ? " removed" : "");
    if (auto* e = std::get_if<LinkLayerTrigger>(&in))
        return "trigger " + e->interface +
               (e->event == LinkLayerEvent::link_going_down ? " going-down" : " link-up");
    return "timer";
}

std::string describe(const MovementOutput& out) {
    if (auto* o = std::get_if<binding::MovedToCareOfAddress>(&out))
        return "Moved " + o->care_of_address.to_string();
    if (auto* o = std::get_if<binding::CareOfAddressesAvailable>(&out)) {
        std::string s = "Available";
        for (const auto& [bid, a] : o->care_of_addresses) s += " " + std::to_string(bid) + "=" + a.to_string();
        return s;
    }
    if (auto* o = std::get_if<binding::CareOfAddressLost>(&out)) return "Lost " + std::to_string(o->binding_id);
    if (std::holds_alternative<binding::ReturnedHome>(out)) return "ReturnedHome";
    if (auto* o = std::get_if<MovementDecision>(&out))
        return std::string("record ") + to_string(o->kind) + " " + to_string(o->reason) + " " + o->interface;
    if (auto* o = std::get_if<ArmMovementTimer>(&out))
        return "arm " + std::to_string(o->at.time_since_epoch().count());
    if (std::holds_alternative<CancelMovementTimer>(out)) return "cancel";
    return "verify";
}

// The rules of usability restated plainly (header comment of
// movement_detector.hpp), fed the same inputs as the detector.
class Oracle {
public:
    explicit Oracle(const MovementDetectorConfig& c) : config_(c) {
        for (const auto& i : c.interfaces) interfaces_[i.name].config = i;
    }

    void apply(const MovementInput& input, TimePoint now) {
        if (auto* e = std::get_if<kernel::LinkChanged>(&input)) {
            auto* s = find(e->interface);
            if (!s) return;
            if (e->removed) {
                *s = Interface{s->config, {}, {}, {}, {}, {}, {}, {}};
                return;
            }
            s->exists = true;
            s->up = e->up;
            s->carrier = e->carrier;
            if (!e->up) {
                s->routers.clear();
                s->failed.clear();
            }
            if (!e->up || !e->carrier) s->going_until.reset();
        } else if (auto* e = std::get_if<kernel::AddressChanged>(&input)) {
            auto* s = find(e->interface);
            const auto a = std::get<Ipv6Address>(e->address.address);
            if (!s || a.is_link_local()) return;
            if (e->removed || e->home_address) s->addresses.erase(a);
            else s->addresses[a] = Flags{e->tentative, e->optimistic, e->deprecated, e->duplicate, false};
        } else if (auto* e = std::get_if<kernel::RouteChanged>(&input)) {
            auto* s = find(e->device);
            if (!s || e->id.table != 254) return;
            std::optional<Ipv6Address> gw;
            if (e->gateway) gw = std::get<Ipv6Address>(*e->gateway);
            auto key = std::make_tuple(e->id.metric, gw);
            if (e->removed) {
                s->routers.erase(key);
            } else if (s->routers.insert(key).second && gw) {
                s->failed.erase(*gw);
            }
        } else if (auto* e = std::get_if<kernel::NeighbourChanged>(&input)) {
            auto* s = find(e->interface);
            if (!s || e->removed) return;
            const auto a = std::get<Ipv6Address>(e->address);
            bool gateway = false;
            for (const auto& r : s->routers) gateway = gateway || std::get<1>(r) == a;
            if (e->failed && (e->router || gateway)) s->failed.insert(a);
            else if (!e->failed && e->reachable) s->failed.erase(a);
        } else if (auto* e = std::get_if<LinkLayerTrigger>(&input)) {
            auto* s = find(e->interface);
            if (!s) return;
            if (e->event == LinkLayerEvent::link_going_down) s->going_until = now + config_.link_going_down_lifetime;
            else s->going_until.reset();
        }
    }

    bool usable(const std::string& name, const Ipv6Address& a) const {
        auto it = interfaces_.find(name);
        if (it == interfaces_.end()) return false;
        const Interface& s = it->second;
        if (!s.exists || !s.up || !s.carrier) return false;
        auto f = s.addresses.find(a);
        if (f == s.addresses.end() || f->second.duplicate) return false;
        if (f->second.tentative && !f->second.optimistic) return false;
        for (const auto& r : s.routers)
            if (!std::get<1>(r) || !s.failed.contains(*std::get<1>(r))) return true;
        return false;
    }
    bool leaving(const std::string& name, TimePoint now) const {
        auto& s = interfaces_.at(name);
        return s.going_until && now < *s.going_until;
    }
    bool home(const Ipv6Address& a) const { return config_.home_prefixes[0].contains(net::IpAddress{a}); }

    struct Candidate {
        std::string interface;
        Ipv6Address address;
        std::tuple<bool, bool, uint8_t, bool> rank;
    };
    // Usable addresses that may be chosen (RFC 5648: foreign ones only on
    // interfaces with a binding id).
    std::vector<Candidate> candidates(TimePoint now) const {
        const bool mcoa = config_.multiple_care_of_addresses();
        std::vector<Candidate> v;
        for (const auto& [name, s] : interfaces_)
            for (const auto& [a, f] : s.addresses) {
                if (!usable(name, a)) continue;
                if (mcoa && !home(a) && !s.config.binding_id) continue;
                v.push_back({name, a, {!leaving(name, now), !f.deprecated, s.config.preference, home(a)}});
            }
        return v;
    }
    std::tuple<bool, bool, uint8_t, bool> rank(const std::string& name, const Ipv6Address& a,
                                               TimePoint now) const {
        auto& s = interfaces_.at(name);
        return {!leaving(name, now), !s.addresses.at(a).deprecated, s.config.preference, home(a)};
    }
    std::string interface_of(uint16_t bid) const {
        for (const auto& [name, s] : interfaces_)
            if (s.config.binding_id == bid) return name;
        return {};
    }

private:
    struct Interface {
        AccessInterface config;
        bool exists = false, up = false, carrier = false;
        std::map<Ipv6Address, Flags> addresses;
        std::set<std::tuple<uint32_t, std::optional<Ipv6Address>>> routers;
        std::set<Ipv6Address> failed;
        std::optional<TimePoint> going_until;
    };
    Interface* find(const std::string& name) {
        auto it = interfaces_.find(name);
        return it == interfaces_.end() ? nullptr : &it->second;
    }
    MovementDetectorConfig config_;
    std::map<std::string, Interface> interfaces_;
};

class MovementProperty : public ::testing::TestWithParam<unsigned> {};

TEST_P(MovementProperty, ChosenCareOfAddressIsAlwaysUsable) {
    std::mt19937 rng(GetParam());
    auto pick = [&](unsigned n) { return rng() % n; };
    auto chance = [&](unsigned percent) { return pick(100) < percent; };

    const bool mcoa = chance(50);
    MovementDetectorConfig c;
    c.interfaces = {{"eth0", 20, mcoa ? std::optional<uint16_t>(1) : std::nullopt},
                    {"wlan0", 10, mcoa ? std::optional<uint16_t>(2) : std::nullopt},
                    {"wwan0", 10, mcoa && chance(50) ? std::optional<uint16_t>(3) : std::nullopt}};
    c.home_prefixes = {prefix("2001:db8:1::/64")};
    const Duration settles[] = {Duration{0}, Duration{200}, Duration{500}};
    c.gain_settle = settles[pick(3)];
    c.loss_hold_down = chance(30) ? Duration{300} : Duration{0};
    c.link_going_down_lifetime = Duration{1000};
    const std::string names[] = {"eth0", "wlan0", "wwan0"};
    const char* pools[3][4] = {{"2001:db8:a::1", "2001:db8:a::2", "2001:db8:1::11", "fe80::11"},
                               {"2001:db8:b::1", "2001:db8:b::2", "2001:db8:1::12", "fe80::12"},
                               {"2001:db8:c::1", "2001:db8:c::2", "2001:db8:1::13", "fe80::13"}};
    const char* routers[] = {"fe80::1", "fe80::2"};

    GenericMovementDetector d(c);
    Oracle o(c);
    TimePoint now{milliseconds{1000}};
    std::optional<TimePoint> armed;
    // What the binding update list was told.
    std::optional<Ipv6Address> told_coa;       // single registration
    bool told_home = false;
    std::map<uint16_t, Ipv6Address> told;      // RFC 5648: per binding id
    // Since when the chosen one has been unusable (per the oracle).
    std::optional<std::pair<std::string, Ipv6Address>> watched;
    std::optional<TimePoint> unusable_since;
    std::map<uint16_t, std::pair<Ipv6Address, TimePoint>> bid_unusable_since;
    size_t binding_events = 0;

    auto working_binding = [&](uint16_t bid) {
        auto it = told.find(bid);
        if (it == told.end()) return false;
        const auto name = o.interface_of(bid);
        return o.usable(name, it->second) && !o.leaving(name, now);
    };

    std::deque<std::string> history;   // the last steps, printed with a failure
    auto feed = [&](const MovementInput& in) {
        o.apply(in, now);
        const auto out = d.handle(in, now);
        std::string line = std::to_string(now.time_since_epoch().count()) + " " + describe(in) + " ->";
        for (const auto& x : out) line += " [" + describe(x) + "]";
        if (const auto st = d.status(); st.care_of_address)
            line += " (" + st.interface + " " + st.care_of_address->to_string() + (st.at_home ? " home)" : ")");
        history.push_back(std::move(line));
        if (history.size() > 40) history.pop_front();
        SCOPED_TRACE([&] {
            std::string h = "recent steps:";
            for (const auto& l : history) h += "\n  " + l;
            return h;
        }());
        for (size_t i = 0; i < out.size(); ++i) {
            const auto& x = out[i];
            if (auto* a = std::get_if<ArmMovementTimer>(&x)) {
                ASSERT_GT(a->at, now);
                armed = a->at;
            }
            if (std::holds_alternative<CancelMovementTimer>(x)) armed.reset();
            if (binding_event(x)) {
                ++binding_events;
                ASSERT_GT(i, 0u);
                ASSERT_TRUE(std::holds_alternative<MovementDecision>(out[i - 1]))
                    << "every binding event has its record";
            }
            if (auto* m = std::get_if<binding::MovedToCareOfAddress>(&x)) {
                ASSERT_FALSE(mcoa);
                ASSERT_EQ(m->binding_id, 0);
                bool ok = false;
                for (const auto& n : names) ok = ok || o.usable(n, m->care_of_address);
                ASSERT_TRUE(ok) << "moved to an unusable care-of address " << m->care_of_address.to_string();
                ASSERT_FALSE(o.home(m->care_of_address));
                ASSERT_FALSE(!told_home && told_coa == m->care_of_address) << "a movement to where it is";
                told_coa = m->care_of_address;
                told_home = false;
            }
            if (std::holds_alternative<binding::ReturnedHome>(x)) {
                ASSERT_FALSE(told_home) << "returned home twice";
                bool ok = false;
                for (const auto& cand : o.candidates(now)) ok = ok || o.home(cand.address);
                ASSERT_TRUE(ok) << "returned home without a usable home-link address";
                told_home = true;
                told.clear();
            }
            if (auto* a = std::get_if<binding::CareOfAddressesAvailable>(&x)) {
                ASSERT_TRUE(mcoa);
                ASSERT_FALSE(a->care_of_addresses.empty());
                for (const auto& [bid, coa] : a->care_of_addresses) {
                    const auto name = o.interface_of(bid);
                    ASSERT_FALSE(name.empty()) << "unknown binding id " << bid;
                    ASSERT_TRUE(o.usable(name, coa)) << "unusable " << coa.to_string() << " on " << name;
                    ASSERT_FALSE(o.home(coa));
                    ASSERT_NE(told[bid], coa) << "reported again";
                    told[bid] = coa;
                }
                told_home = false;
            }
            if (auto* l = std::get_if<binding::CareOfAddressLost>(&x)) {
                ASSERT_TRUE(told.contains(l->binding_id));
                told.erase(l->binding_id);
                bool other = false;
                for (const auto& [bid, coa] : told) other = other || working_binding(bid);
                ASSERT_TRUE(other) << "the last binding was deregistered";
            }
        }

        // Per step: the chosen care-of address is usable, unless nothing is
        // or the hold-down has not run out.
        const auto st = d.status();
        const auto candidates = o.candidates(now);
        if (!mcoa) {
            ASSERT_EQ(st.at_home, told_home);
            if (!told_home) {
                ASSERT_EQ(st.care_of_address, told_coa);
            }
            if (!st.care_of_address) {
                ASSERT_TRUE(candidates.empty()) << "a usable address and none chosen";
                return;
            }
            auto key = std::make_pair(st.interface, *st.care_of_address);
            if (watched != key) unusable_since.reset();
            watched = key;
            if (o.usable(st.interface, *st.care_of_address)) {
                unusable_since.reset();
                if (o.leaving(st.interface, now)) {
                    for (const auto& cand : candidates)
                        ASSERT_TRUE(o.leaving(cand.interface, now))
                            << "stays on a link going down while " << cand.interface << " works";
                }
            } else {
                if (!unusable_since) unusable_since = now;
                if (now >= *unusable_since + c.loss_hold_down) {
                    ASSERT_TRUE(candidates.empty())
                        << "kept unusable " << st.care_of_address->to_string() << " on " << st.interface;
                }
            }
            return;
        }
        ASSERT_EQ(st.at_home, told_home);
        if (st.at_home) {
            ASSERT_TRUE(told.empty());
            return;
        }
        bool any_working = false;
        for (const auto& [bid, coa] : told) any_working = any_working || working_binding(bid);
        for (const auto& [bid, coa] : told) {
            const auto name = o.interface_of(bid);
            if (o.usable(name, coa)) {
                bid_unusable_since.erase(bid);
                if (o.leaving(name, now)) {
                    bool other = false;
                    for (const auto& [b2, c2] : told) other = other || (b2 != bid && working_binding(b2));
                    ASSERT_FALSE(other) << name << " is going down and another binding works";
                }
                continue;
            }
            auto& since = bid_unusable_since[bid];
            if (since.first != coa || since.second == TimePoint{}) since = {coa, now};
            if (now < since.second + c.loss_hold_down) continue;
            for (const auto& cand : candidates)
                ASSERT_FALSE(cand.interface == name && !o.home(cand.address))
                    << "binding " << bid << " kept on an unusable address while "
                    << cand.address.to_string() << " works on " << name;
            bool other = false;
            for (const auto& [b2, c2] : told) other = other || (b2 != bid && working_binding(b2));
            ASSERT_FALSE(other) << "binding " << bid << " not deregistered";
        }
        if (!any_working) {
            // (An interface with a binding follows the rules above.)
            for (const auto& cand : candidates) {
                const auto& bid = c.interfaces[cand.interface == "eth0" ? 0 : cand.interface == "wlan0" ? 1 : 2].binding_id;
                if (bid && told.contains(*bid)) continue;
                ASSERT_TRUE(o.home(cand.address) || o.leaving(cand.interface, now))
                    << "nothing registered works, yet " << cand.address.to_string() << " does";
            }
        }
    };
    auto advance = [&](milliseconds step) {
        const TimePoint until = now + step;
        while (armed && *armed <= until) {
            now = *armed;
            armed.reset();
            feed(MovementTimerExpired{});
            if (::testing::Test::HasFatalFailure()) return;
        }
        now = until;
    };

    for (int step = 0; step < 400 && !::testing::Test::HasFatalFailure(); ++step) {
        const unsigned i = pick(3);
        const std::string& name = chance(3) ? std::string("lo") : names[i];
        switch (pick(7)) {
            case 0: {
                const bool up = chance(85);
                if (chance(3)) feed(kernel::LinkChanged{name, 0, false, false, true});
                else feed(kernel::LinkChanged{name, 0, up, up && chance(85), false});
                break;
            }
            case 1:
            case 2: {
                const char* a = pools[i][pick(4)];
                feed(kernel::AddressChanged{name, net::Prefix{addr(a), 64}, chance(25), chance(20), chance(15),
                                            chance(7), chance(5), chance(15)});
                break;
            }
            case 3: {
                kernel::RouteChanged r;
                r.id.table = chance(85) ? 254 : 100;
                r.id.destination = prefix("::/0");
                r.id.metric = chance(80) ? 1024 : 100;
                r.device = name;
                if (!chance(10)) r.gateway = net::IpAddress{addr(routers[pick(2)])};
                r.removed = chance(25);
                feed(r);
                break;
            }
            case 4: {
                const bool failed = chance(25);
                feed(kernel::NeighbourChanged{name, net::IpAddress{addr(routers[pick(2)])}, chance(80),
                                              !failed && chance(80), failed, chance(20)});
                break;
            }
            case 5:
                feed(LinkLayerTrigger{name, chance(40) ? LinkLayerEvent::link_going_down
                                                       : LinkLayerEvent::link_up});
                break;
            default: advance(milliseconds{pick(700)}); break;
        }
    }
    if (::testing::Test::HasFatalFailure()) return;

    RecordProperty("binding_events", std::to_string(binding_events));
    // Quiet: after every timer ran, the choice is the best there is.
    for (int n = 0; n < 100 && armed; ++n) advance(*armed - now);
    ASSERT_FALSE(armed);
    const auto st = d.status();
    const auto candidates = o.candidates(now);
    if (candidates.empty()) return;
    auto best = candidates.front().rank;
    for (const auto& cand : candidates) best = std::max(best, cand.rank);
    if (!mcoa) {
        ASSERT_TRUE(st.care_of_address);
        ASSERT_TRUE(o.usable(st.interface, *st.care_of_address));
        EXPECT_EQ(o.rank(st.interface, *st.care_of_address, now), best);
        return;
    }
    ASSERT_EQ(st.at_home, std::get<3>(best));
    if (st.at_home) return;
    for (const auto& i : c.interfaces) {
        if (!i.binding_id) continue;
        std::optional<std::tuple<bool, bool, uint8_t, bool>> mine;
        for (const auto& cand : candidates)
            if (cand.interface == i.name && !o.home(cand.address)) mine = std::max(mine.value_or(cand.rank), cand.rank);
        if (!mine) continue;
        ASSERT_TRUE(told.contains(*i.binding_id)) << i.name << " has a usable address and no binding";
        ASSERT_TRUE(o.usable(i.name, told[*i.binding_id]));
        EXPECT_EQ(o.rank(i.name, told[*i.binding_id], now), *mine);
    }
}

INSTANTIATE_TEST_SUITE_P(Seeds, MovementProperty, ::testing::Range(1u, 301u));

}  // namespace
}  // namespace nemokey::mobility::movement
