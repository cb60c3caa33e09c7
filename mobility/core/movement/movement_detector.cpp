#include "mobility/core/movement/movement_detector.hpp"

#include <algorithm>
#include <tuple>
#include <type_traits>

namespace nemokey::mobility::movement {

bool MovementDetectorConfig::multiple_care_of_addresses() const {
    return std::any_of(interfaces.begin(), interfaces.end(),
                       [](const AccessInterface& i) { return i.binding_id.has_value(); });
}

std::optional<MovementInput> movement_input(const kernel::KernelEvent& event) {
    return std::visit(
        [](const auto& e) -> std::optional<MovementInput> {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, kernel::LinkChanged> ||
                          std::is_same_v<T, kernel::AddressChanged> ||
                          std::is_same_v<T, kernel::RouteChanged> ||
                          std::is_same_v<T, kernel::NeighbourChanged>)
                return MovementInput{e};
            else
                return std::nullopt;
        },
        event);
}

std::optional<binding::MobileNodeEvent> binding_event(const MovementOutput& output) {
    return std::visit(
        [](const auto& o) -> std::optional<binding::MobileNodeEvent> {
            using T = std::decay_t<decltype(o)>;
            if constexpr (std::is_same_v<T, binding::MovedToCareOfAddress> ||
                          std::is_same_v<T, binding::CareOfAddressesAvailable> ||
                          std::is_same_v<T, binding::CareOfAddressLost> ||
                          std::is_same_v<T, binding::ReturnedHome>)
                return binding::MobileNodeEvent{o};
            else
                return std::nullopt;
        },
        output);
}

const char* to_string(MovementReason r) {
    switch (r) {
        case MovementReason::link_removed: return "link-removed";
        case MovementReason::link_down: return "link-down";
        case MovementReason::carrier_lost: return "carrier-lost";
        case MovementReason::link_going_down: return "link-going-down";
        case MovementReason::address_removed: return "address-removed";
        case MovementReason::address_duplicate: return "address-duplicate";
        case MovementReason::address_tentative: return "address-tentative";
        case MovementReason::default_route_removed: return "default-route-removed";
        case MovementReason::default_router_unreachable: return "default-router-unreachable";
        case MovementReason::first_care_of_address: return "first-care-of-address";
        case MovementReason::care_of_address_available: return "care-of-address-available";
        case MovementReason::better_care_of_address: return "better-care-of-address";
        case MovementReason::address_deprecated: return "address-deprecated";
        case MovementReason::home_link_detected: return "home-link-detected";
    }
    return "?";
}

const char* to_string(DecisionKind k) {
    switch (k) {
        case DecisionKind::moved_to_care_of_address: return "moved-to-care-of-address";
        case DecisionKind::care_of_address_available: return "care-of-address-available";
        case DecisionKind::care_of_address_lost: return "care-of-address-lost";
        case DecisionKind::returned_home: return "returned-home";
        case DecisionKind::lost_without_alternative: return "lost-without-alternative";
    }
    return "?";
}

namespace {

// Addresses that can be a care-of address or the node's address on its
// home link: global scope (RFC 4291 sec. 2.4), i.e. not unspecified,
// loopback, link-local or multicast.
bool global_unicast(const Ipv6Address& a) {
    Ipv6Address loopback;
    loopback.bytes[15] = 1;
    return !a.is_unspecified() && !a.is_link_local() && !a.is_multicast() && a != loopback;
}

}  // namespace

GenericMovementDetector::GenericMovementDetector(MovementDetectorConfig config)
    : config_(std::move(config)), mcoa_(config_.multiple_care_of_addresses()) {
    for (const auto& i : config_.interfaces) interfaces_[i.name].config = i;
}

std::unique_ptr<MovementDetector> make_movement_detector(MovementDetectorConfig config) {
    return std::make_unique<GenericMovementDetector>(std::move(config));
}

MovementOutputs GenericMovementDetector::handle(const MovementInput& input, TimePoint now) {
    now_ = now;
    MovementOutputs out;
    std::visit([&](const auto& e) { on(e, out); }, input);
    for (auto& [name, s] : interfaces_)
        if (s.going_down_until && *s.going_down_until <= now_) s.going_down_until.reset();

    auto all = candidates();
    track_stability(all);
    left_home_.reset();
    select_primary(all, out);
    if (mcoa_ && !at_home_) select_per_interface(all, out);
    arm_timer(all, out);
    return out;
}

// ---- Inputs ----

GenericMovementDetector::InterfaceState* GenericMovementDetector::access_interface(
    const std::string& name) {
    auto it = interfaces_.find(name);
    return it == interfaces_.end() ? nullptr : &it->second;
}

void GenericMovementDetector::on(const kernel::LinkChanged& e, MovementOutputs&) {
    InterfaceState* s = access_interface(e.interface);
    if (!s) return;
    if (e.removed) {
        InterfaceState cleared;
        cleared.config = s->config;
        *s = std::move(cleared);
        return;
    }
    s->exists = true;
    s->up = e.up;
    s->carrier = e.carrier;
    // An interface set down loses its routes and neighbours (the kernel
    // flushes them, not always with a notification for each); they are
    // learnt again from the next Router Advertisement. Carrier loss keeps
    // them, as the kernel does.
    if (!e.up) {
        s->default_routes.clear();
        s->unreachable_routers.clear();
    }
    if (!e.up || !e.carrier) s->going_down_until.reset();
}

void GenericMovementDetector::on(const kernel::AddressChanged& e, MovementOutputs&) {
    InterfaceState* s = access_interface(e.interface);
    if (!s || !net::is_v6(e.address.address)) return;
    const auto& a = std::get<Ipv6Address>(e.address.address);
    if (!global_unicast(a)) return;
    // A home address the daemon configured (RFC 6275 sec. 11.3.1) says
    // nothing about the link.
    if (e.removed || e.home_address) {
        s->addresses.erase(a);
        return;
    }
    s->addresses[a] = AddressState{e.tentative, e.optimistic, e.deprecated, e.duplicate};
}

void GenericMovementDetector::on(const kernel::RouteChanged& e, MovementOutputs&) {
    InterfaceState* s = access_interface(e.device);
    if (!s) return;
    const auto& destination = e.id.destination;
    if (!net::is_v6(destination.address) || destination.length != 0) return;
    if (config_.default_route_table && e.id.table != *config_.default_route_table) return;
    std::optional<Ipv6Address> gateway;
    if (e.gateway) {
        if (!net::is_v6(*e.gateway)) return;
        gateway = std::get<Ipv6Address>(*e.gateway);
    }
    const DefaultRoute route{e.id.table, e.id.metric, gateway};
    if (e.removed) {
        s->default_routes.erase(route);
        return;
    }
    // A new default route means a Router Advertisement was just heard from
    // that router (RFC 4861 sec. 6.3.4): an earlier NUD failure is stale.
    if (s->default_routes.insert(route).second && gateway) s->unreachable_routers.erase(*gateway);
}

void GenericMovementDetector::on(const kernel::NeighbourChanged& e, MovementOutputs&) {
    InterfaceState* s = access_interface(e.interface);
    if (!s || !net::is_v6(e.address)) return;
    const auto& a = std::get<Ipv6Address>(e.address);
    // A removed entry says nothing about reachability: the kernel deletes
    // FAILED entries soon (RFC 4861 sec. 7.3.3), and the router stays
    // unreachable until it is confirmed again.
    if (e.removed) return;
    if (e.failed) {
        const bool gateway =
            std::any_of(s->default_routes.begin(), s->default_routes.end(),
                        [&](const DefaultRoute& r) { return r.gateway == a; });
        if (e.router || gateway) s->unreachable_routers.insert(a);
    } else if (e.reachable) {
        s->unreachable_routers.erase(a);
    }
}

void GenericMovementDetector::on(const LinkLayerTrigger& e, MovementOutputs& out) {
    InterfaceState* s = access_interface(e.interface);
    if (!s) return;
    if (e.event == LinkLayerEvent::link_going_down) {
        s->going_down_until = now_ + config_.link_going_down_lifetime;
        return;
    }
    s->going_down_until.reset();
    // RFC 6275 sec. 11.5.1: an L2 handover may or may not be an L3 one;
    // verify the default router before assuming either.
    VerifyDefaultRouter v{e.interface, {}};
    for (const auto& r : s->default_routes)
        if (r.gateway && std::find(v.routers.begin(), v.routers.end(), *r.gateway) == v.routers.end())
            v.routers.push_back(*r.gateway);
    out.push_back(std::move(v));
}

void GenericMovementDetector::on(const MovementTimerExpired&, MovementOutputs&) { armed_.reset(); }

// ---- Usable addresses ----

bool GenericMovementDetector::leaving(const InterfaceState& s) const {
    return s.going_down_until && now_ < *s.going_down_until;
}

bool GenericMovementDetector::is_home(const Ipv6Address& a) const {
    return std::any_of(config_.home_prefixes.begin(), config_.home_prefixes.end(),
                       [&](const net::Prefix& p) { return p.contains(net::IpAddress{a}); });
}

std::optional<MovementReason> GenericMovementDetector::why_unusable(
    const std::string& interface, const Ipv6Address& address) const {
    auto it = interfaces_.find(interface);
    if (it == interfaces_.end() || !it->second.exists) return MovementReason::link_removed;
    const InterfaceState& s = it->second;
    if (!s.up) return MovementReason::link_down;
    if (!s.carrier) return MovementReason::carrier_lost;
    auto a = s.addresses.find(address);
    if (a == s.addresses.end()) return MovementReason::address_removed;
    // RFC 4862 sec. 5.4.5; sec. 5.4 (tentative) with RFC 4429 sec. 3.3 (optimistic).
    if (a->second.duplicate) return MovementReason::address_duplicate;
    if (a->second.tentative && !a->second.optimistic) return MovementReason::address_tentative;
    if (s.default_routes.empty()) return MovementReason::default_route_removed;
    for (const auto& r : s.default_routes)
        if (!r.gateway || !s.unreachable_routers.contains(*r.gateway)) return std::nullopt;
    return MovementReason::default_router_unreachable;
}

std::vector<GenericMovementDetector::Candidate> GenericMovementDetector::candidates() const {
    std::vector<Candidate> out;
    for (const auto& [name, s] : interfaces_) {
        for (const auto& [address, state] : s.addresses) {
            if (why_unusable(name, address)) continue;
            const bool home = is_home(address);
            // RFC 5648: care-of addresses only on interfaces with a binding id.
            if (mcoa_ && !home && !s.config.binding_id) continue;
            out.push_back(Candidate{name, address, home, state.deprecated, leaving(s),
                                    s.config.preference, now_});
        }
    }
    return out;
}

void GenericMovementDetector::track_stability(std::vector<Candidate>& all) {
    std::map<std::pair<std::string, Ipv6Address>, Stability> next;
    for (auto& c : all) {
        auto key = std::make_pair(c.interface, c.address);
        auto it = stability_.find(key);
        Stability s{c.deprecated, c.leaving, now_};
        if (it != stability_.end() && it->second.deprecated == c.deprecated &&
            it->second.leaving == c.leaving)
            s = it->second;
        c.since = s.since;
        next.emplace(std::move(key), s);
    }
    stability_ = std::move(next);
}

bool GenericMovementDetector::settled(const Candidate& c) const {
    return c.since + config_.gain_settle <= now_;
}

bool GenericMovementDetector::better(const Candidate& a, const Candidate& b,
                                     const Candidate* current) const {
    auto is_current = [&](const Candidate& c) {
        return current && c.interface == current->interface && c.address == current->address;
    };
    auto rank = [&](const Candidate& c) {
        return std::make_tuple(!c.leaving, !c.deprecated, c.preference, c.home, is_current(c));
    };
    const auto ra = rank(a), rb = rank(b);
    if (ra != rb) return ra > rb;
    if (a.interface != b.interface) return a.interface < b.interface;
    return a.address < b.address;
}

uint16_t GenericMovementDetector::binding_id_of(const std::string& interface) const {
    auto it = interfaces_.find(interface);
    return it == interfaces_.end() ? 0 : it->second.config.binding_id.value_or(0);
}

// ---- Decisions ----

const GenericMovementDetector::Candidate* GenericMovementDetector::find(
    const std::vector<Candidate>& all, const std::string& interface, const Ipv6Address& address) {
    for (const auto& c : all)
        if (c.interface == interface && c.address == address) return &c;
    return nullptr;
}

void GenericMovementDetector::select_primary(const std::vector<Candidate>& all,
                                             MovementOutputs& out) {
    const Candidate* current = nullptr;
    if (primary_) {
        current = find(all, primary_->chosen.interface, primary_->chosen.address);
        if (current) {
            primary_->chosen = *current;
            primary_->lost_since.reset();
            primary_->lost_recorded = false;
        } else if (!primary_->lost_since) {
            primary_->lost_since = now_;
        }
    }

    if (current && !current->leaving) {
        // Working: leave it only for a better one that has settled.
        const Candidate* best = current;
        for (const auto& c : all)
            if (&c != current && settled(c) && better(c, *best, current)) best = &c;
        if (best == current) return;
        MovementReason reason = MovementReason::better_care_of_address;
        if (best->home) reason = MovementReason::home_link_detected;
        else if (current->deprecated && !best->deprecated) reason = MovementReason::address_deprecated;
        switch_primary(*best, reason, std::max(best->since, current->since), out);
        return;
    }
    if (current) {
        // A link-layer trigger says its link is going: make before break
        // onto any interface that is not going, settled or not.
        const Candidate* best = nullptr;
        for (const auto& c : all)
            if (!c.leaving && (!best || better(c, *best, nullptr))) best = &c;
        if (best) switch_primary(*best, MovementReason::link_going_down, current->since, out);
        return;
    }
    if (primary_ && now_ < *primary_->lost_since + config_.loss_hold_down) {
        // Stopped working, but may come back within the hold-down: treated
        // as working, with the rank it had.
        const Candidate* held = &primary_->chosen;
        const Candidate* best = held;
        for (const auto& c : all) {
            // Its link was going down as well: any link that is not going will do.
            if (held->leaving ? !c.leaving && (best == held || better(c, *best, nullptr))
                              : settled(c) && better(c, *best, held))
                best = &c;
        }
        if (best != held)
            switch_primary(*best, *why_unusable(held->interface, held->address),
                           *primary_->lost_since, out);
        return;
    }

    // No working care-of address: the best usable one at once.
    const Candidate* best = nullptr;
    for (const auto& c : all)
        if (!best || better(c, *best, nullptr)) best = &c;
    if (!primary_) {
        if (best)
            switch_primary(*best,
                           best->home ? MovementReason::home_link_detected
                                      : MovementReason::first_care_of_address,
                           best->since, out);
        return;
    }
    const MovementReason lost_reason =
        *why_unusable(primary_->chosen.interface, primary_->chosen.address);
    if (best) {
        if (!primary_->lost_recorded) {
            switch_primary(*best, lost_reason, *primary_->lost_since, out);
        } else {
            switch_primary(*best,
                           best->home ? MovementReason::home_link_detected
                                      : MovementReason::care_of_address_available,
                           std::max(best->since, *primary_->lost_since), out);
        }
        return;
    }
    if (primary_->lost_recorded) return;
    primary_->lost_recorded = true;
    // Under RFC 5648 the per-interface records say it, unless at home.
    if (mcoa_ && !at_home_) return;
    MovementDecision d;
    d.kind = DecisionKind::lost_without_alternative;
    d.reason = lost_reason;
    d.observed_at = *primary_->lost_since;
    d.decided_at = now_;
    d.previous_interface = primary_->chosen.interface;
    d.previous_care_of_address = primary_->chosen.address;
    out.push_back(std::move(d));
}

void GenericMovementDetector::switch_primary(const Candidate& to, MovementReason reason,
                                             TimePoint observed_at, MovementOutputs& out) {
    MovementDecision d;
    d.reason = reason;
    d.observed_at = observed_at;
    d.decided_at = now_;
    d.interface = to.interface;
    d.care_of_address = to.address;
    if (primary_) {
        d.previous_interface = primary_->chosen.interface;
        d.previous_care_of_address = primary_->chosen.address;
    }
    const bool was_home = at_home_;
    primary_ = Selection{to, std::nullopt, false};

    if (to.home) {
        // Another interface on the home link: nothing changes for the home agent.
        if (was_home) return;
        // RFC 6275 sec. 11.5.5: deregister every binding.
        at_home_ = true;
        reported_.clear();
        d.kind = DecisionKind::returned_home;
        out.push_back(std::move(d));
        out.push_back(binding::ReturnedHome{});
        return;
    }
    at_home_ = false;
    if (mcoa_) {
        // The per-interface selection that follows reports the care-of addresses.
        if (was_home) left_home_ = std::make_pair(reason, observed_at);
        return;
    }
    d.kind = DecisionKind::moved_to_care_of_address;
    out.push_back(std::move(d));
    out.push_back(binding::MovedToCareOfAddress{to.address, 0});
}

void GenericMovementDetector::select_per_interface(const std::vector<Candidate>& all,
                                                   MovementOutputs& out) {
    auto working = [&](const std::string& name, const Selection& s) {
        const Candidate* c = find(all, name, s.chosen.address);
        return c && !c->leaving;
    };
    bool any_working = false;
    for (const auto& [name, s] : reported_) any_working = any_working || working(name, s);
    const bool first = reported_.empty();

    binding::CareOfAddressesAvailable available;
    std::vector<MovementDecision> records;
    auto add_available = [&](const std::string& name, const Candidate& c, MovementReason reason,
                             TimePoint observed_at, const Selection* previous) {
        MovementDecision d;
        d.kind = DecisionKind::care_of_address_available;
        d.reason = reason;
        d.observed_at = observed_at;
        d.decided_at = now_;
        d.interface = name;
        d.care_of_address = c.address;
        d.binding_id = binding_id_of(name);
        if (previous) {
            d.previous_interface = name;
            d.previous_care_of_address = previous->chosen.address;
        }
        records.push_back(std::move(d));
        available.care_of_addresses.emplace_back(binding_id_of(name), c.address);
        reported_[name] = Selection{c, std::nullopt, false};
    };
    auto gain = [&](const std::string& name, const Candidate& c) {
        if (left_home_)
            add_available(name, c, left_home_->first, std::max(c.since, left_home_->second), nullptr);
        else
            add_available(name, c,
                          first ? MovementReason::first_care_of_address
                                : MovementReason::care_of_address_available,
                          c.since, nullptr);
    };
    std::vector<const Candidate*> last_resort;
    struct Pending {
        std::string interface;
        MovementReason reason;
        TimePoint observed_at;
        bool leaving;
        const Candidate* fallback;   // an address of the same interface going down
    };
    std::vector<Pending> pending;

    for (const auto& [name, s] : interfaces_) {
        if (!s.config.binding_id) continue;
        std::vector<const Candidate*> mine;
        for (const auto& c : all)
            if (c.interface == name && !c.home) mine.push_back(&c);
        auto rep = reported_.find(name);
        if (rep == reported_.end()) {
            // A new care-of address waits to settle only while another works.
            const Candidate* best = nullptr;
            for (const auto* c : mine)
                if (!best || better(*c, *best, nullptr)) best = c;
            if (!best || (any_working && !settled(*best))) continue;
            // An interface going down only when nothing else works (below).
            if (best->leaving) last_resort.push_back(best);
            else gain(name, *best);
            continue;
        }
        Selection& r = rep->second;
        const Candidate* current = nullptr;
        for (const auto* c : mine)
            if (c->address == r.chosen.address) current = c;
        if (current) {
            r.chosen = *current;
            r.lost_since.reset();
            r.lost_recorded = false;
        } else if (!r.lost_since) {
            r.lost_since = now_;
        }
        if (current && !current->leaving) {
            // Another address of the same link, e.g. after renumbering.
            const Candidate* best = current;
            for (const auto* c : mine)
                if (c != current && settled(*c) && better(*c, *best, current)) best = c;
            if (best != current) {
                const Selection previous = r;
                add_available(name, *best, MovementReason::address_deprecated,
                              std::max(best->since, current->since), &previous);
            }
        } else if (current) {
            pending.push_back({name, MovementReason::link_going_down, current->since, true, nullptr});
        } else if (now_ < *r.lost_since + config_.loss_hold_down) {
            // Held, with the rank it had: only a settled better one replaces it.
            const Candidate* best = &r.chosen;
            for (const auto* c : mine)
                if (settled(*c) && better(*c, *best, &r.chosen)) best = c;
            if (best != &r.chosen) {
                const Selection previous = r;
                add_available(name, *best, *why_unusable(name, previous.chosen.address),
                              *previous.lost_since, &previous);
            }
        } else {
            const MovementReason why = *why_unusable(name, r.chosen.address);
            const Candidate* best = nullptr;
            for (const auto* c : mine)
                if (!best || better(*c, *best, nullptr)) best = c;
            if (best && !best->leaving) {
                const Selection previous = r;
                add_available(name, *best, why, *previous.lost_since, &previous);
            } else {
                pending.push_back({name, why, *r.lost_since, false, best});
            }
        }
    }

    bool working_now = false;
    for (const auto& [name, s] : reported_) working_now = working_now || working(name, s);
    if (!working_now)
        for (const auto* c : last_resort) gain(c->interface, *c);

    std::vector<MovementOutput> losses;
    for (const auto& p : pending) {
        bool other_working = false;
        for (const auto& [name, s] : reported_)
            if (name != p.interface) other_working = other_working || working(name, s);
        Selection& r = reported_.at(p.interface);
        MovementDecision d;
        d.reason = p.reason;
        d.observed_at = p.observed_at;
        d.decided_at = now_;
        d.previous_interface = p.interface;
        d.previous_care_of_address = r.chosen.address;
        d.binding_id = binding_id_of(p.interface);
        if (other_working) {
            // RFC 5648 sec. 5.5: deregistered through a care-of address that works.
            d.kind = DecisionKind::care_of_address_lost;
            losses.push_back(std::move(d));
            losses.push_back(binding::CareOfAddressLost{binding_id_of(p.interface)});
            reported_.erase(p.interface);
        } else if (p.fallback) {
            const Selection previous = r;
            add_available(p.interface, *p.fallback, p.reason, p.observed_at, &previous);
        } else if (!p.leaving && !r.lost_recorded) {
            r.lost_recorded = true;
            d.kind = DecisionKind::lost_without_alternative;
            losses.push_back(std::move(d));
        }
    }

    for (auto& d : records) out.push_back(std::move(d));
    if (!available.care_of_addresses.empty()) out.push_back(std::move(available));
    for (auto& o : losses) out.push_back(std::move(o));
}

void GenericMovementDetector::arm_timer(const std::vector<Candidate>& all, MovementOutputs& out) {
    std::optional<TimePoint> next;
    auto consider = [&](TimePoint t) {
        if (t > now_ && (!next || t < *next)) next = t;
    };
    // Only a candidate waiting to settle before it replaces something.
    for (const auto& c : all) {
        bool waiting = false;
        if (primary_) {
            const Candidate& current = primary_->chosen;
            waiting = better(c, current, &current) &&
                      !(c.interface == current.interface && c.address == current.address);
        }
        if (mcoa_ && !at_home_ && !c.home) {
            auto r = reported_.find(c.interface);
            waiting = waiting || r == reported_.end() ||
                      (r->second.chosen.address != c.address &&
                       better(c, r->second.chosen, &r->second.chosen));
        }
        if (waiting) consider(c.since + config_.gain_settle);
    }
    if (primary_ && primary_->lost_since) consider(*primary_->lost_since + config_.loss_hold_down);
    for (const auto& [name, r] : reported_)
        if (r.lost_since) consider(*r.lost_since + config_.loss_hold_down);
    for (const auto& [name, s] : interfaces_)
        if (s.going_down_until) consider(*s.going_down_until);
    if (next == armed_) return;
    if (next) out.push_back(ArmMovementTimer{*next});
    else out.push_back(CancelMovementTimer{});
    armed_ = next;
}

// ---- Status ----

MovementStatus GenericMovementDetector::status() const {
    MovementStatus st;
    st.at_home = at_home_;
    if (primary_) {
        st.interface = primary_->chosen.interface;
        st.care_of_address = primary_->chosen.address;
    }
    for (const auto& [name, s] : interfaces_) {
        InterfaceStatus i;
        i.name = name;
        i.up = s.up;
        i.carrier = s.carrier;
        i.going_down = leaving(s);
        for (const auto& r : s.default_routes)
            if (r.gateway && !s.unreachable_routers.contains(*r.gateway) &&
                std::find(i.default_routers.begin(), i.default_routers.end(), *r.gateway) ==
                    i.default_routers.end())
                i.default_routers.push_back(*r.gateway);
        for (const auto& [address, state] : s.addresses)
            if (!why_unusable(name, address)) i.usable_addresses.push_back(address);
        if (auto r = reported_.find(name); r != reported_.end()) i.care_of_address = r->second.chosen.address;
        else if (!mcoa_ && primary_ && primary_->chosen.interface == name && !at_home_)
            i.care_of_address = primary_->chosen.address;
        st.interfaces.push_back(std::move(i));
    }
    return st;
}

}  // namespace nemokey::mobility::movement
