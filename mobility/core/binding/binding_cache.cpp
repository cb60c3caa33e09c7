#include "mobility/core/binding/binding_cache.hpp"

#include <algorithm>

#include "mobility/core/binding/sequence.hpp"

namespace nemokey::mobility::binding {

using mh::BindingAckStatus;

namespace {

bool usable_unicast(const Ipv6Address& a) {
    static const Ipv6Address loopback = [] {
        Ipv6Address l;
        l.bytes[15] = 1;
        return l;
    }();
    return !a.is_unspecified() && !a.is_multicast() && !a.is_link_local() && a != loopback;
}

Ipv6Address link_local_of(const Ipv6Address& home_address) {
    // RFC 6275 sec. 10.3.1: the link-local address with the home address's
    // interface identifier (fe80::/64 + last 64 bits).
    Ipv6Address ll;
    ll.bytes[0] = 0xfe;
    ll.bytes[1] = 0x80;
    std::copy(home_address.bytes.begin() + 8, home_address.bytes.end(), ll.bytes.begin() + 8);
    return ll;
}

}  // namespace

const CareOfBinding* BindingCacheEntry::binding(uint16_t binding_id) const {
    for (const auto& b : bindings)
        if (b.binding_id == binding_id) return &b;
    return nullptr;
}

BindingCache::BindingCache(BindingCacheConfig config, Authorizer& authorizer)
    : config_(std::move(config)), authorizer_(authorizer) {}

Actions BindingCache::handle(const HomeAgentEvent& event, TimePoint now) {
    Actions out;
    handle(event, now, out);
    return out;
}

void BindingCache::handle(const HomeAgentEvent& event, TimePoint now, Actions& out) {
    std::visit([&](const auto& e) { on(e, now, out); }, event);
}

std::optional<Ipv6Address> BindingCache::commit_of(uint64_t operation) const {
    auto it = commits_.find(operation);
    if (it == commits_.end()) return std::nullopt;
    return it->second.home_address;
}

uint64_t BindingCache::commit(const Ipv6Address& home_address,
                              std::optional<SendBindingAcknowledgement> held,
                              std::optional<BindingCacheEntry> previous, Actions& out) {
    const uint64_t op = next_operation_++;
    if (held) committing_[home_address] = op;
    commits_.emplace(op, PendingCommit{home_address, std::move(held), std::move(previous)});
    out.push_back(CommitKernelState{op, home_address});
    return op;
}

const BindingCacheEntry* BindingCache::find(const Ipv6Address& home_address) const {
    auto it = cache_.find(home_address);
    return it == cache_.end() ? nullptr : &it->second;
}

const HomeLinkPrefix* BindingCache::home_link_of(const Ipv6Address& a) const {
    for (const auto& h : config_.home_prefixes)
        if (h.prefix.contains(net::IpAddress{a})) return &h;
    return nullptr;
}

void BindingCache::reply(const ReceivedBindingUpdate& r, const Ipv6Address& home_address,
                         BindingAckStatus status, uint16_t sequence, Actions& out,
                         mh::MobilityOptions options) {
    SendBindingAcknowledgement send;
    send.source = r.destination;
    // RFC 6275 sec. 9.5.4: to the BU's source; a type 2 routing header
    // carries the home address unless the node is at home.
    send.destination = r.source;
    if (r.source != home_address) send.type2_routing_header = home_address;
    send.message.status = status;
    send.message.sequence_number = sequence;
    // RFC 3963 sec. 6: R set when the home agent supports mobile routers
    // and the BU asked for it.
    send.message.mobile_router = r.message.mobile_router && config_.mobile_router_support;
    send.message.options = std::move(options);
    out.push_back(std::move(send));
}

void BindingCache::on(const ReceivedBindingUpdate& r, TimePoint now, Actions& out) {
    process(r, now, false, out);
}

void BindingCache::process(const ReceivedBindingUpdate& r, TimePoint now, bool dad_done,
                           Actions& out) {
    const mh::BindingUpdate& bu = r.message;
    const Ipv6Address hoa = r.home_address_option.value_or(r.source);

    // RFC 6275 sec. 9.5.1 / 10.3.1: a home registration must come under
    // IPsec; anything else is silently discarded.
    if (!r.ipsec_protected) {
        out.push_back(DropMessage{"binding update without IPsec protection"});
        return;
    }
    // RFC 6275 sec. 9.5.5: a BU from the node stops the Binding Refresh
    // Requests (whatever its fate; an accepted one arms the next). With
    // BID options only those of the bindings it names (RFC 5648 sec. 6.4).
    if (auto e = cache_.find(hoa); e != cache_.end()) {
        const auto named = mh::find_options<mh::BindingIdentifier>(bu.options);
        for (const auto& b : e->second.bindings) {
            bool touched = named.empty();
            for (const auto* o : named) touched = touched || o->binding_id == b.binding_id;
            if (touched) stop_refresh_requests(hoa, b.binding_id, out);
        }
    }
    if (committing_.contains(hoa)) {
        // The previous BU's kernel state is being put in place; its BA answers
        // the retransmission too (same sequence range at the mobile node).
        out.push_back(DropMessage{"binding update while the home address's kernel state is committed"});
        return;
    }
    auto it = cache_.find(hoa);
    if (!bu.home_registration) {
        // RFC 6275 sec. 9.5.1: a correspondent registration for a home
        // registration entry changes its type.
        if (it != cache_.end()) {
            reply(r, hoa, BindingAckStatus::registration_type_change_disallowed, bu.sequence_number, out);
        } else {
            // No return routability here, so no Binding Authorization Data
            // can be verified (RFC 6275 sec. 9.5.1: discard).
            out.push_back(DropMessage{"correspondent registration not supported"});
        }
        return;
    }
    // RFC 6275 sec. 10.3.1: the home address must be on-link for our home prefixes.
    const HomeLinkPrefix* home_link = home_link_of(hoa);
    if (!home_link || !usable_unicast(hoa)) {
        reply(r, hoa, BindingAckStatus::not_home_subnet, bu.sequence_number, out);
        return;
    }

    // Care-of address: the Alternate Care-of Address option wins over the
    // source address (RFC 6275 sec. 9.5.1, 6.2.5).
    Ipv6Address coa = r.source;
    if (const auto* alt = mh::find_option<mh::AlternateCareOfAddress>(bu.options))
        coa = alt->alternate_care_of_address;

    // ---- RFC 5648 Binding Identifier options ----
    const auto bids = mh::find_options<mh::BindingIdentifier>(bu.options);
    const bool deregistration = bu.lifetime == 0 || (coa == hoa && bids.empty());
    if (!bids.empty()) {
        if (!config_.multiple_care_of_addresses) {
            reply(r, hoa, BindingAckStatus::mcoa_prohibited, bu.sequence_number, out);
            return;
        }
        if (bids.size() > 1 && !config_.bulk_registration) {
            reply(r, hoa, BindingAckStatus::mcoa_bulk_registration_prohibited, bu.sequence_number, out);
            return;
        }
        for (size_t i = 0; i < bids.size(); ++i) {
            const auto* b = bids[i];
            bool malformed = false;
            for (size_t j = 0; j < i; ++j) malformed = malformed || bids[j]->binding_id == b->binding_id;
            // RFC 5648: a bulk registration names each care-of address.
            if (bids.size() > 1 && !deregistration && !b->care_of_address) malformed = true;
            if (b->care_of_address && !net::is_v6(*b->care_of_address)) malformed = true;  // RFC 5555 not here
            if (malformed) {
                reply(r, hoa, BindingAckStatus::mcoa_malformed, bu.sequence_number, out);
                return;
            }
            if (b->simultaneous_home_and_foreign) {
                // RFC 5648: being at home and away at once needs
                // home-link support this home agent does not offer.
                reply(r, hoa, BindingAckStatus::mcoa_simultaneous_home_and_foreign_prohibited,
                      bu.sequence_number, out);
                return;
            }
        }
        // RFC 5648 sec. 6.2: a regular binding without BID is in the way
        // unless the O flag asks to replace every binding (sec. 5.9
        // bootstrapping); O is ignored for a deregistration.
        if (it != cache_.end() && !it->second.multiple_care_of_addresses &&
            (deregistration || !bu.overwrite)) {
            reply(r, hoa, BindingAckStatus::mcoa_non_mcoa_binding_exists, bu.sequence_number, out);
            return;
        }
    }

    // A home registration turning into a mobile router registration or back
    // changes what was authorised and what is forwarded: refused as a
    // registration type change (RFC 6275 sec. 9.5.1 status 139, applied to
    // the R flag of RFC 3963 as well, as UMIP does).
    if (it != cache_.end() && it->second.mobile_router != bu.mobile_router) {
        reply(r, hoa, BindingAckStatus::registration_type_change_disallowed, bu.sequence_number, out);
        return;
    }

    // ---- RFC 6275 sec. 9.5.1: Sequence Number, modulo 2^16 ----
    if (it != cache_.end()) {
        for (const auto& b : it->second.bindings) {
            bool touched = bids.empty();
            for (const auto* o : bids) touched = touched || o->binding_id == b.binding_id;
            if (touched && !sequence_greater(bu.sequence_number, b.last_sequence)) {
                reply(r, hoa, BindingAckStatus::sequence_number_out_of_window, b.last_sequence, out);
                return;
            }
        }
    }

    // ---- Deregistration (RFC 6275 sec. 10.3.2, RFC 5648) ----
    if (deregistration) {
        if (it == cache_.end()) {
            pending_.erase(hoa);
            reply(r, hoa, BindingAckStatus::not_home_agent_for_this_mobile_node, bu.sequence_number, out);
            return;
        }
        BindingCacheEntry& entry = it->second;
        if (bids.empty()) {
            if (coa == hoa && entry.key_management_mobility) {
                // RFC 6275 sec. 11.7.1: with K granted the key management
                // endpoint follows the mobile node home.
                for (const auto& b : entry.bindings)
                    out.push_back(Migrate{hoa, r.destination, b.care_of_address, hoa, true});
            }
            if (coa == hoa) {
                // RFC 6275 sec. 10.3.2, 11.5.5: the node is back on its home
                // link and its BA goes there, to the home address. Sent
                // before the commit, the kernel's route2 state would still
                // add a type 2 routing header and send it to the old
                // care-of address; so it waits for the state to go, like an
                // accepting BA waits for its state to be installed.
                const BindingCacheEntry previous = entry;
                Actions ba;
                reply(r, hoa, BindingAckStatus::accepted, bu.sequence_number, ba);
                erase_entry(hoa, out);
                commit(hoa, std::get<SendBindingAcknowledgement>(std::move(ba.back())), previous, out);
                return;
            }
            erase_entry(hoa, out);
            commit(hoa, std::nullopt, std::nullopt, out);
            reply(r, hoa, BindingAckStatus::accepted, bu.sequence_number, out);
            return;
        }
        mh::MobilityOptions options;
        size_t failed = 0;
        for (const auto* o : bids) {
            mh::BindingIdentifier answer;
            answer.binding_id = o->binding_id;
            size_t index = entry.bindings.size();
            for (size_t i = 0; i < entry.bindings.size(); ++i)
                if (entry.bindings[i].binding_id == o->binding_id) index = i;
            if (index == entry.bindings.size()) {
                answer.status = BindingAckStatus::mcoa_unknown_coa;
                ++failed;
            } else {
                remove_binding(hoa, entry, index, out);
            }
            options.push_back(answer);
        }
        if (entry.bindings.empty()) erase_entry(hoa, out);
        if (failed != bids.size()) commit(hoa, std::nullopt, std::nullopt, out);
        const BindingAckStatus status = failed == 0 ? BindingAckStatus::accepted
                                        : failed == bids.size() ? BindingAckStatus::mcoa_unknown_coa
                                                                : BindingAckStatus::mcoa_notcomplete;
        reply(r, hoa, status, bu.sequence_number, out, std::move(options));
        return;
    }

    // ---- Registration ----
    // Care-of addresses to bind, one per binding identifier.
    struct Target {
        uint16_t binding_id;
        Ipv6Address care_of_address;
    };
    std::vector<Target> targets;
    if (bids.empty()) {
        targets.push_back({0, coa});
    } else {
        for (const auto* o : bids)
            targets.push_back({o->binding_id, o->care_of_address
                                                  ? std::get<Ipv6Address>(*o->care_of_address)
                                                  : coa});
    }
    for (const auto& t : targets) {
        // A care-of address must be a routable unicast address off the home
        // link (RFC 6275 sec. 9.5.1, status 174 of sec. 6.1.8).
        if (!usable_unicast(t.care_of_address) || home_link_of(t.care_of_address)) {
            reply(r, hoa, BindingAckStatus::invalid_care_of_address, bu.sequence_number, out);
            return;
        }
    }

    // ---- RFC 3963 sec. 6: mobile router ----
    std::vector<net::Prefix> prefixes;
    if (bu.mobile_router) {
        if (!config_.mobile_router_support) {
            reply(r, hoa, BindingAckStatus::mobile_router_operation_not_permitted, bu.sequence_number, out);
            return;
        }
        for (const auto* p : mh::find_options<mh::MobileNetworkPrefix>(bu.options)) {
            const net::Prefix prefix = net::Prefix{p->prefix, p->prefix_length};
            bool invalid = p->prefix_length == 0 || p->prefix_length > 128;
            if (!invalid) {
                const auto n = prefix.normalized();
                const auto& a = std::get<Ipv6Address>(n.address);
                // RFC 3963 sec. 6: a prefix that cannot be a mobile
                // network (link-local, multicast, the home link itself).
                invalid = a.is_link_local() || a.is_multicast() || a.is_unspecified() ||
                          n.contains(net::IpAddress{hoa});
                for (const auto& h : config_.home_prefixes) invalid = invalid || h.prefix.overlaps(n);
                if (!invalid) prefixes.push_back(n);
            }
            if (invalid) {
                reply(r, hoa, BindingAckStatus::invalid_prefix, bu.sequence_number, out);
                return;
            }
        }
    }
    const bool implicit_mode = bu.mobile_router && prefixes.empty();

    // ---- Authorisation: asked, never assumed ----
    AuthorizationAnswer answer = authorizer_.authorize(
        AuthorizationRequest{r.identity, hoa, bu.mobile_router, &prefixes, implicit_mode});
    switch (answer.verdict) {
        case AuthorizationVerdict::authorized: break;
        case AuthorizationVerdict::not_home_agent_for_this_mobile_node:
            reply(r, hoa, BindingAckStatus::not_home_agent_for_this_mobile_node, bu.sequence_number, out);
            return;
        case AuthorizationVerdict::administratively_prohibited:
            reply(r, hoa, BindingAckStatus::administratively_prohibited, bu.sequence_number, out);
            return;
        case AuthorizationVerdict::mobile_router_operation_not_permitted:
            reply(r, hoa, BindingAckStatus::mobile_router_operation_not_permitted, bu.sequence_number, out);
            return;
        case AuthorizationVerdict::not_authorized_for_prefix:
            reply(r, hoa, BindingAckStatus::not_authorized_for_prefix, bu.sequence_number, out);
            return;
    }
    if (implicit_mode) {
        // RFC 3963 sec. 6: implicit mode uses the configured prefixes;
        // none known means forwarding cannot be set up.
        for (const auto& p : answer.configured_prefixes) prefixes.push_back(p.normalized());
        if (prefixes.empty()) {
            reply(r, hoa, BindingAckStatus::forwarding_setup_failed, bu.sequence_number, out);
            return;
        }
    }
    for (const auto& p : prefixes) {
        // One prefix, one mobile router (RFC 3963 sec. 6).
        auto owner = prefix_owners_.find(p);
        if (owner != prefix_owners_.end() && owner->second != hoa) {
            reply(r, hoa, BindingAckStatus::not_authorized_for_prefix, bu.sequence_number, out);
            return;
        }
    }

    const bool first_registration = it == cache_.end();
    if (config_.max_bindings != 0) {
        // max_bindings counts care-of bindings, not home addresses: what
        // this home address holds after the BU replaces what it holds now.
        size_t before = 0;
        size_t after = 0;
        if (!first_registration) {
            const auto& held = it->second.bindings;
            before = held.size();
            for (const auto& b : held) {
                const bool replaced_by_plain_bu =
                    (bids.empty() && b.binding_id != 0) || (!bids.empty() && bu.overwrite);
                bool retargeted = false;
                for (const auto& t : targets) retargeted = retargeted || t.binding_id == b.binding_id;
                if (!replaced_by_plain_bu && !retargeted) ++after;
            }
        }
        after += targets.size();
        if (binding_count_ - before + after > config_.max_bindings) {
            reply(r, hoa, BindingAckStatus::insufficient_resources, bu.sequence_number, out);
            return;
        }
    }

    // ---- Lifetime (RFC 6275 sec. 10.3.1) ----
    std::chrono::seconds granted = std::min(bu.lifetime_seconds(), config_.max_binding_lifetime);
    if (home_link->valid_until) {
        const auto remaining =
            std::chrono::floor<std::chrono::seconds>(*home_link->valid_until - now);
        if (remaining < std::chrono::seconds{mh::lifetime_unit_seconds}) {
            // The home prefix is (about to be) invalid: not a home subnet any more.
            reply(r, hoa, BindingAckStatus::not_home_subnet, bu.sequence_number, out);
            return;
        }
        granted = std::min(granted, remaining);
    }
    const uint16_t granted_units = lifetime_units(granted);
    granted = std::chrono::seconds{uint32_t{granted_units} * mh::lifetime_unit_seconds};

    // ---- DAD before a first registration (RFC 6275 sec. 10.3.1) ----
    if (first_registration && config_.duplicate_address_detection && !dad_done) {
        auto [p, inserted] = pending_.insert_or_assign(hoa, r);
        (void)p;
        if (inserted) {
            std::optional<Ipv6Address> ll;
            if (bu.link_local_address_compatibility) ll = link_local_of(hoa);
            out.push_back(PerformDuplicateAddressDetection{hoa, ll});
        }
        return;
    }

    // ---- Accept ----
    // K is granted once per binding, at its first registration, and stays as
    // granted across refreshes and handovers: the key manager's ability to
    // move the IKE SA does not change from one BU to the next (RFC 6275
    // sec. 10.3.1, RFC 4877 sec. 4.4).
    const bool k_granted = first_registration
                               ? bu.key_management_mobility_capability && config_.key_management_mobility &&
                                     answer.key_management_mobility
                               : it->second.key_management_mobility;
    std::optional<BindingCacheEntry> previous;
    if (!first_registration) previous = it->second;
    const size_t kernel_mark = out.size();
    BindingCacheEntry& entry = first_registration ? cache_[hoa] : it->second;
    if (!first_registration && bids.empty() && entry.multiple_care_of_addresses) {
        // RFC 5648: a BU without BID replaces all bindings.
        for (size_t i = entry.bindings.size(); i-- > 0;)
            if (entry.bindings[i].binding_id != 0) remove_binding(hoa, entry, i, out);
    }
    if (!first_registration && !bids.empty() && bu.overwrite) {
        // RFC 5648 sec. 6.2: with O set the bindings of this BU replace all
        // existing ones: those it does not name go.
        for (size_t i = entry.bindings.size(); i-- > 0;) {
            bool named = false;
            for (const auto& t : targets) named = named || t.binding_id == entry.bindings[i].binding_id;
            if (!named) remove_binding(hoa, entry, i, out);
        }
    }
    entry.multiple_care_of_addresses = !bids.empty();
    entry.home_agent_address = r.destination;
    entry.mobile_router = bu.mobile_router;
    entry.key_management_mobility = k_granted;
    entry.granted_lifetime_seconds = static_cast<uint32_t>(granted.count());
    const Duration granted_ms = std::chrono::duration_cast<Duration>(granted);
    const Ipv6Address& ha = r.destination;

    for (const auto& t : targets) {
        CareOfBinding* b = nullptr;
        for (auto& existing : entry.bindings)
            if (existing.binding_id == t.binding_id) b = &existing;
        if (!b) {
            entry.bindings.push_back(CareOfBinding{t.care_of_address, {}, t.binding_id, 0});
            b = &entry.bindings.back();
            ++binding_count_;
            out.push_back(InstallBinding{hoa, t.care_of_address, ha, t.binding_id,
                                         bu.mobile_router, granted});
        } else if (b->care_of_address != t.care_of_address) {
            const Ipv6Address old = b->care_of_address;
            b->care_of_address = t.care_of_address;
            out.push_back(UpdateBinding{hoa, old, t.care_of_address, ha, t.binding_id,
                                        bu.mobile_router, granted});
            // The IPsec SAs (and with K the IKE SA) follow the care-of address.
            out.push_back(Migrate{hoa, ha, old, t.care_of_address, k_granted});
        }
        b->last_sequence = bu.sequence_number;
        b->expires_at = now + granted_ms;
        out.push_back(ArmTimer{TimerKey{TimerKind::bc_lifetime, hoa, t.binding_id}, b->expires_at});
        arm_refresh_request(hoa, *b, entry.granted_lifetime_seconds, out);
    }

    // Mobile network prefixes: routes through the tunnel (RFC 3963 sec. 6).
    std::vector<net::Prefix> removed;
    std::vector<net::Prefix> added;
    for (const auto& p : entry.mobile_network_prefixes)
        if (std::find(prefixes.begin(), prefixes.end(), p) == prefixes.end()) removed.push_back(p);
    for (const auto& p : prefixes)
        if (std::find(entry.mobile_network_prefixes.begin(), entry.mobile_network_prefixes.end(), p) ==
            entry.mobile_network_prefixes.end())
            added.push_back(p);
    const Ipv6Address route_via = entry.bindings.front().care_of_address;
    if (!removed.empty()) {
        for (const auto& p : removed) prefix_owners_.erase(p);
        out.push_back(RemoveRoutes{hoa, route_via, removed});
    }
    if (!added.empty()) {
        for (const auto& p : added) prefix_owners_[p] = hoa;
        out.push_back(AddRoutes{hoa, route_via, added});
    }
    entry.mobile_network_prefixes = std::move(prefixes);

    mh::MobilityOptions options;
    if (config_.binding_refresh_advice.count() > 0 && config_.binding_refresh_advice < granted) {
        options.push_back(mh::BindingRefreshAdvice{static_cast<uint16_t>(
            config_.binding_refresh_advice.count() / mh::refresh_interval_unit_seconds)});
    }
    for (const auto& t : targets) {
        if (t.binding_id == 0 && bids.empty()) break;
        mh::BindingIdentifier answer;
        answer.binding_id = t.binding_id;   // RFC 5648: each BID answered
        options.push_back(answer);
    }
    bool kernel_changed = false;
    for (size_t i = kernel_mark; i < out.size(); ++i) {
        const auto& a = out[i];
        kernel_changed = kernel_changed || std::holds_alternative<InstallBinding>(a) ||
                         std::holds_alternative<UpdateBinding>(a) ||
                         std::holds_alternative<RemoveBinding>(a) ||
                         std::holds_alternative<AddRoutes>(a) || std::holds_alternative<RemoveRoutes>(a) ||
                         std::holds_alternative<Migrate>(a);
    }
    reply(r, hoa, BindingAckStatus::accepted, bu.sequence_number, out, std::move(options));
    auto& ba = std::get<SendBindingAcknowledgement>(out.back()).message;
    ba.lifetime = granted_units;
    // RFC 6275 sec. 10.3.1: K set when the home agent supports key
    // management mobility and the BU asked for it.
    ba.key_management_mobility_capability = k_granted && bu.key_management_mobility_capability;
    if (kernel_changed) {
        // The BA goes out only once the kernel holds the binding's state.
        SendBindingAcknowledgement held = std::get<SendBindingAcknowledgement>(std::move(out.back()));
        out.pop_back();
        commit(hoa, std::move(held), std::move(previous), out);
    }
}

void BindingCache::on(const KernelOutcome& e, TimePoint, Actions& out) {
    auto it = commits_.find(e.operation);
    if (it == commits_.end()) return;
    PendingCommit c = std::move(it->second);
    commits_.erase(it);
    const Ipv6Address hoa = c.home_address;
    if (c.held) {
        auto held = committing_.find(hoa);
        if (held != committing_.end() && held->second == e.operation) committing_.erase(held);
    }
    if (e.ok) {
        if (c.held) out.push_back(std::move(*c.held));
        return;
    }
    out.push_back(Report{ReportKind::kernel_state_failed, hoa, 0,
                         c.held ? std::optional{BindingAckStatus::insufficient_resources} : std::nullopt});
    // A failed removal has nothing to restore: the next commit of the home
    // address (or the daemon's reconcile) removes what is left.
    if (!c.held) return;
    // Restore the entry as it was before the BU; the kernel follows with a
    // new commit, so nothing stays half-installed.
    // Say what changes back (the same actions as any change), then change it.
    const BindingCacheEntry empty;
    auto cur = cache_.find(hoa);
    const BindingCacheEntry& now_entry = cur != cache_.end() ? cur->second : empty;
    const BindingCacheEntry& then_entry = c.previous ? *c.previous : empty;
    for (const auto& b : now_entry.bindings) {
        const CareOfBinding* before = then_entry.binding(b.binding_id);
        if (!before) {
            out.push_back(RemoveBinding{hoa, b.care_of_address, now_entry.home_agent_address, b.binding_id});
        } else if (before->care_of_address != b.care_of_address) {
            out.push_back(UpdateBinding{hoa, b.care_of_address, before->care_of_address,
                                        then_entry.home_agent_address, b.binding_id,
                                        then_entry.mobile_router,
                                        std::chrono::seconds{then_entry.granted_lifetime_seconds}});
        }
    }
    for (const auto& b : then_entry.bindings) {
        if (now_entry.binding(b.binding_id)) continue;
        out.push_back(InstallBinding{hoa, b.care_of_address, then_entry.home_agent_address, b.binding_id,
                                     then_entry.mobile_router,
                                     std::chrono::seconds{then_entry.granted_lifetime_seconds}});
    }
    auto missing_from = [](const std::vector<net::Prefix>& a, const std::vector<net::Prefix>& b) {
        std::vector<net::Prefix> out;
        for (const auto& p : a)
            if (std::find(b.begin(), b.end(), p) == b.end()) out.push_back(p);
        return out;
    };
    if (auto gone = missing_from(now_entry.mobile_network_prefixes, then_entry.mobile_network_prefixes);
        !gone.empty() && !now_entry.bindings.empty())
        out.push_back(RemoveRoutes{hoa, now_entry.bindings.front().care_of_address, gone});
    if (auto back = missing_from(then_entry.mobile_network_prefixes, now_entry.mobile_network_prefixes);
        !back.empty() && !then_entry.bindings.empty())
        out.push_back(AddRoutes{hoa, then_entry.bindings.front().care_of_address, back});
    if (cur != cache_.end()) {
        // The refused BU stopped the previous lifetime's BRRs (RFC 6275
        // sec. 9.5.5) and the BA 130 asks the node to register again: the
        // accepted lifetime's BRRs go, none are armed for the old one.
        for (const auto& b : cur->second.bindings) {
            out.push_back(CancelTimer{TimerKey{TimerKind::bc_lifetime, hoa, b.binding_id}});
            stop_refresh_requests(hoa, b.binding_id, out);
        }
        for (const auto& p : cur->second.mobile_network_prefixes) prefix_owners_.erase(p);
        binding_count_ -= cur->second.bindings.size();
        cache_.erase(cur);
    }
    if (c.previous) {
        for (const auto& b : c.previous->bindings)
            out.push_back(ArmTimer{TimerKey{TimerKind::bc_lifetime, hoa, b.binding_id}, b.expires_at});
        for (const auto& p : c.previous->mobile_network_prefixes) prefix_owners_[p] = hoa;
        binding_count_ += c.previous->bindings.size();
        cache_.emplace(hoa, std::move(*c.previous));
    }
    commit(hoa, std::nullopt, std::nullopt, out);
    // RFC 6275 sec. 6.1.8 status 130: the home agent could not hold the binding.
    SendBindingAcknowledgement ba = std::move(*c.held);
    ba.message.status = BindingAckStatus::insufficient_resources;
    ba.message.lifetime = 0;
    ba.message.key_management_mobility_capability = false;
    ba.message.options.clear();
    out.push_back(std::move(ba));
}

void BindingCache::remove_binding(const Ipv6Address& home_address, BindingCacheEntry& entry,
                                  size_t index, Actions& out) {
    const CareOfBinding b = entry.bindings[index];
    entry.bindings.erase(entry.bindings.begin() + static_cast<std::ptrdiff_t>(index));
    --binding_count_;
    out.push_back(CancelTimer{TimerKey{TimerKind::bc_lifetime, home_address, b.binding_id}});
    stop_refresh_requests(home_address, b.binding_id, out);
    if (entry.bindings.empty() && !entry.mobile_network_prefixes.empty()) {
        for (const auto& p : entry.mobile_network_prefixes) prefix_owners_.erase(p);
        out.push_back(RemoveRoutes{home_address, b.care_of_address, entry.mobile_network_prefixes});
        entry.mobile_network_prefixes.clear();
    } else if (index == 0 && !entry.mobile_network_prefixes.empty()) {
        // The prefix routes went through this binding (the first one owns
        // them): re-point them at the binding that is first now.
        out.push_back(AddRoutes{home_address, entry.bindings.front().care_of_address,
                                entry.mobile_network_prefixes});
    }
    out.push_back(RemoveBinding{home_address, b.care_of_address, entry.home_agent_address, b.binding_id});
}

void BindingCache::erase_entry(const Ipv6Address& home_address, Actions& out) {
    auto it = cache_.find(home_address);
    if (it == cache_.end()) return;
    while (!it->second.bindings.empty())
        remove_binding(home_address, it->second, it->second.bindings.size() - 1, out);
    cache_.erase(it);
}

void BindingCache::on(const DuplicateAddressDetectionResult& e, TimePoint now, Actions& out) {
    auto it = pending_.find(e.home_address);
    if (it == pending_.end()) return;
    ReceivedBindingUpdate r = std::move(it->second);
    pending_.erase(it);
    if (e.duplicate) {
        out.push_back(Report{ReportKind::duplicate_address_detected, e.home_address, 0,
                             BindingAckStatus::duplicate_address_detection_failed});
        reply(r, e.home_address, BindingAckStatus::duplicate_address_detection_failed,
              r.message.sequence_number, out);
        return;
    }
    process(r, now, true, out);
}

void BindingCache::arm_refresh_request(const Ipv6Address& home_address, const CareOfBinding& b,
                                       uint32_t granted_lifetime_seconds, Actions& out) {
    const unsigned percent = config_.binding_refresh_request_percent;
    if (percent == 0 || percent >= 100 || granted_lifetime_seconds == 0) return;
    // RFC 6275 sec. 9.1, 9.5.5: "when the lifetime of this entry nears
    // expiration": after `percent` of the granted lifetime, i.e. once the
    // node's own refresh (RFC 6275 sec. 11.7.1; ours at 80 %) is overdue.
    const Duration lifetime = std::chrono::duration_cast<Duration>(std::chrono::seconds{granted_lifetime_seconds});
    const Duration lead = lifetime * (100 - percent) / 100;
    const TimerKey key{TimerKind::bc_refresh_request, home_address, b.binding_id};
    refresh_requests_[key] = 0;
    out.push_back(ArmTimer{key, b.expires_at - lead});
}

void BindingCache::stop_refresh_requests(const Ipv6Address& home_address, uint16_t binding_id, Actions& out) {
    const TimerKey key{TimerKind::bc_refresh_request, home_address, binding_id};
    if (refresh_requests_.erase(key) == 0) return;
    out.push_back(CancelTimer{key});
}

void BindingCache::on_refresh_request_timer(const TimerKey& key, TimePoint now, Actions& out) {
    auto armed = refresh_requests_.find(key);
    if (armed == refresh_requests_.end()) return;   // stopped since
    auto it = cache_.find(key.home_address);
    const CareOfBinding* b = it == cache_.end() ? nullptr : it->second.binding(static_cast<uint16_t>(key.id));
    // Never for a binding that is gone, expiring or being committed (its
    // BU is being answered).
    if (!b || now >= b->expires_at || committing_.contains(key.home_address)) {
        refresh_requests_.erase(armed);
        return;
    }
    const unsigned sent = ++armed->second;
    SendBindingRefreshRequest brr;
    brr.source = it->second.home_agent_address;
    brr.destination = key.home_address;   // RFC 6275 sec. 9.5.5: always to the home address
    brr.care_of_address = b->care_of_address;
    brr.binding_id = b->binding_id;
    brr.attempt = sent;
    if (it->second.multiple_care_of_addresses) {
        // RFC 5648 sec. 6.4: a binding registered with a BID is named.
        mh::BindingIdentifier bid;
        bid.binding_id = b->binding_id;
        brr.message.options.push_back(bid);
    }
    out.push_back(std::move(brr));
    // RFC 6275 sec. 9.5.5: retransmissions MAY follow, rate-limited: a
    // bounded number, the wait doubling (as for BUs, sec. 11.8), and none
    // that would leave after the binding expired.
    if (sent > config_.brr_retransmissions) {
        refresh_requests_.erase(armed);
        return;
    }
    Duration wait = config_.brr_initial_timeout;
    for (unsigned i = 1; i < sent && wait < config_.brr_max_timeout; ++i) wait *= 2;
    wait = std::min(wait, Duration{config_.brr_max_timeout});
    if (wait <= Duration{0} || now + wait >= b->expires_at) {
        refresh_requests_.erase(armed);
        return;
    }
    out.push_back(ArmTimer{key, now + wait});
}

void BindingCache::on(const TimerExpired& e, TimePoint now, Actions& out) {
    if (e.key.kind == TimerKind::bc_refresh_request) {
        on_refresh_request_timer(e.key, now, out);
        return;
    }
    if (e.key.kind != TimerKind::bc_lifetime) return;
    auto it = cache_.find(e.key.home_address);
    if (it == cache_.end()) return;
    auto& bindings = it->second.bindings;
    for (size_t i = 0; i < bindings.size(); ++i) {
        if (bindings[i].binding_id != e.key.id) continue;
        if (now < bindings[i].expires_at) return;   // refreshed since
        out.push_back(Report{ReportKind::binding_expired, e.key.home_address, bindings[i].binding_id,
                             std::nullopt});
        remove_binding(e.key.home_address, it->second, i, out);
        if (bindings.empty()) cache_.erase(it);
        commit(e.key.home_address, std::nullopt, std::nullopt, out);
        return;
    }
}

}  // namespace nemokey::mobility::binding
