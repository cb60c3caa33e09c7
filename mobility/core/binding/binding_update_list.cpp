#include "mobility/core/binding/binding_update_list.hpp"

#include <algorithm>

#include "mobility/core/binding/sequence.hpp"

namespace nemokey::mobility::binding {

using mh::BindingAckStatus;

const char* to_string(BulState s) {
    switch (s) {
        case BulState::idle: return "idle";
        case BulState::waiting_for_ack: return "waiting-for-ack";
        case BulState::waiting_for_ack_refresh: return "waiting-for-ack-refresh";
        case BulState::bound: return "bound";
        case BulState::waiting_for_deregistration_ack: return "waiting-for-deregistration-ack";
    }
    return "?";
}

uint16_t lifetime_units(std::chrono::seconds lifetime) {
    if (lifetime.count() <= 0) return 0;
    const auto units = static_cast<uint64_t>(lifetime.count()) / mh::lifetime_unit_seconds;
    return static_cast<uint16_t>(std::min<uint64_t>(units, 0xffff));
}

BindingUpdateList::BindingUpdateList(BindingUpdateListConfig config)
    : config_(std::move(config)),
      mcoa_(config_.multiple_care_of_addresses),
      bulk_(config_.multiple_care_of_addresses && config_.bulk_registration),
      prefix_mode_(config_.prefix_mode),
      sequence_(config_.initial_sequence_number),
      sas_ready_(!config_.dynamic_keying) {}

const BulEntry* BindingUpdateList::entry(uint16_t binding_id) const {
    auto it = entries_.find(binding_id);
    return it == entries_.end() ? nullptr : &it->second;
}

Actions BindingUpdateList::handle(const MobileNodeEvent& event, TimePoint now) {
    Actions out;
    std::visit([&](const auto& e) { on(e, now, out); }, event);
    return out;
}

// ---- Movement ----

// Puts entry `binding_id` into a waiting state for `coa`; false when nothing
// has to be sent (already registered or registering there).
bool BindingUpdateList::prepare_registration(uint16_t binding_id, const Ipv6Address& coa,
                                             Actions& out) {
    auto [it, created] = entries_.try_emplace(binding_id);
    BulEntry& e = it->second;
    if (created) e.binding_id = binding_id;
    const bool same = e.care_of_address == coa;
    if (!created && same &&
        (e.state == BulState::bound || e.state == BulState::waiting_for_ack ||
         e.state == BulState::waiting_for_ack_refresh))
        return false;
    detach_from_transaction(e, out);
    e.care_of_address = coa;
    // RFC 6275 sec. 11.8: the home agent still holding a binding decides
    // which initial timeout applies; a bound entry or one still refreshing
    // has one there.
    const bool home_agent_has_binding =
        e.state == BulState::bound || e.state == BulState::waiting_for_ack_refresh;
    e.state = home_agent_has_binding ? BulState::waiting_for_ack_refresh : BulState::waiting_for_ack;
    return true;
}

void BindingUpdateList::on(const MovedToCareOfAddress& ev, TimePoint now, Actions& out) {
    if (unusable_) {
        out.push_back(Report{ReportKind::home_agent_unusable, config_.home_address,
                             ev.binding_id, final_status_});
        return;
    }
    const uint16_t id = key_of(ev.binding_id);
    if (prepare_registration(id, ev.care_of_address, out)) register_entries({id}, now, out);
}

void BindingUpdateList::on(const CareOfAddressesAvailable& ev, TimePoint now, Actions& out) {
    if (unusable_) {
        out.push_back(Report{ReportKind::home_agent_unusable, config_.home_address, 0,
                             final_status_});
        return;
    }
    std::vector<uint16_t> ids;
    for (const auto& [bid, coa] : ev.care_of_addresses) {
        const uint16_t id = key_of(bid);
        if (std::find(ids.begin(), ids.end(), id) != ids.end()) continue;
        if (prepare_registration(id, coa, out)) ids.push_back(id);
    }
    if (ids.empty()) return;
    if (bulk_) {
        register_entries(ids, now, out);
    } else {
        for (uint16_t id : ids) register_entries({id}, now, out);
    }
}

void BindingUpdateList::on(const CareOfAddressReplaced& ev, TimePoint now, Actions& out) {
    if (!mcoa_ || ev.old_binding_id == ev.new_binding_id || !entries_.contains(ev.old_binding_id)) {
        // Without RFC 5648 there is one binding: a plain movement.
        on(MovedToCareOfAddress{ev.care_of_address, ev.new_binding_id}, now, out);
        return;
    }
    if (unusable_) return;
    if (prepare_registration(ev.new_binding_id, ev.care_of_address, out)) {
        // RFC 5648: the old binding stays until the new one is acknowledged.
        entries_[ev.new_binding_id].releases_binding_id = ev.old_binding_id;
        register_entries({ev.new_binding_id}, now, out);
    }
}

void BindingUpdateList::on(const CareOfAddressLost& ev, TimePoint now, Actions& out) {
    // Without RFC 5648 the one binding stays until the next movement replaces
    // it: there is no other care-of address to deregister from.
    if (!mcoa_ || unusable_) return;
    auto it = entries_.find(ev.binding_id);
    if (it == entries_.end()) return;
    if (it->second.state == BulState::waiting_for_deregistration_ack) return;
    deregister_entries({ev.binding_id}, false, now, out);
}

void BindingUpdateList::on(const ReturnedHome&, TimePoint now, Actions& out) {
    if (unusable_) return;
    std::vector<uint16_t> ids;
    std::vector<uint16_t> idle;
    for (auto& [id, e] : entries_) {
        if (e.state == BulState::idle) idle.push_back(id);
        else ids.push_back(id);
    }
    for (uint16_t id : idle) remove_entry(id, out);
    if (ids.empty()) return;
    // RFC 6275 sec. 11.5.5: one BU from the home address, lifetime zero,
    // care-of address = home address. RFC 5648: without Binding
    // Identifier options it removes every binding of the home address.
    deregister_entries(ids, true, now, out);
}

// ---- Transactions ----

Duration BindingUpdateList::first_timeout(const std::vector<uint16_t>& ids) const {
    // RFC 6275 sec. 11.8: InitialBindackTimeoutFirstReg when the home agent
    // has no binding yet (it will run DAD first), otherwise INITIAL_BINDACK_TIMEOUT.
    for (uint16_t id : ids) {
        auto it = entries_.find(id);
        if (it != entries_.end() && it->second.state == BulState::waiting_for_ack)
            return config_.initial_bindack_timeout_first_reg;
    }
    return config_.initial_bindack_timeout;
}

void BindingUpdateList::register_entries(const std::vector<uint16_t>& ids, TimePoint now,
                                         Actions& out) {
    start_transaction(ids, false, false, first_timeout(ids), now, out);
}

void BindingUpdateList::deregister_entries(const std::vector<uint16_t>& ids, bool from_home,
                                           TimePoint now, Actions& out) {
    for (uint16_t id : ids) {
        BulEntry& e = entries_.at(id);
        detach_from_transaction(e, out);
        cancel_entry_timers(e, out);
        e.state = BulState::waiting_for_deregistration_ack;
    }
    if (from_home || bulk_) {
        start_transaction(ids, true, from_home, config_.initial_bindack_timeout, now, out);
    } else {
        for (uint16_t id : ids)
            start_transaction({id}, true, false, config_.initial_bindack_timeout, now, out);
    }
}

uint32_t BindingUpdateList::start_transaction(std::vector<uint16_t> ids, bool deregistration,
                                              bool from_home, Duration timeout, TimePoint now,
                                              Actions& out) {
    const uint32_t id = next_transaction_++;
    Transaction& t = transactions_[id];
    t.id = id;
    t.binding_ids = std::move(ids);
    t.deregistration = deregistration;
    t.from_home = from_home;
    t.timeout = timeout;
    for (uint16_t bid : t.binding_ids) entries_.at(bid).transaction = id;
    begin(t, now, out);
    return id;
}

size_t BindingUpdateList::held_binding_updates() const {
    size_t n = 0;
    for (const auto& [id, t] : transactions_)
        n += (!t.waiting_operations.empty() || t.waiting_for_security_associations) ? 1 : 0;
    return n;
}

void BindingUpdateList::begin(Transaction& t, TimePoint now, Actions& out) {
    if (!t.waiting_operations.empty()) return;
    if (config_.dynamic_keying && !sas_ready_) {
        if (!t.waiting_for_security_associations)
            out.push_back(Report{ReportKind::waiting_for_security_associations, config_.home_address,
                                 t.binding_ids.front(), std::nullopt});
        t.waiting_for_security_associations = true;
        return;
    }
    t.waiting_for_security_associations = false;
    if (t.from_home && !t.handover_prepared) {
        // RFC 6275 sec. 11.5.5: back home, the BU leaves from the home
        // address without a Home Address option; the care-of state (whose
        // hao state would add one) is taken down first.
        t.handover_prepared = true;
        for (uint16_t bid : t.binding_ids) entries_.at(bid).kernel_care_of_address.reset();
        const uint64_t op = next_operation_++;
        t.waiting_operations.push_back(op);
        out.push_back(CommitKernelState{op, config_.home_address});
        return;
    }
    if (!t.deregistration && !t.handover_prepared) {
        // RFC 4877 sec. 4.3, 7.4: on a handover the tunnel-mode SAs (and with
        // K the IKE SA) move to the new care-of address before the BU leaves
        // from it; the BU waits for the kernel's confirmation.
        t.handover_prepared = true;
        for (uint16_t bid : t.binding_ids) {
            BulEntry& e = entries_.at(bid);
            if (!e.installed_care_of_address || *e.installed_care_of_address == e.care_of_address)
                continue;
            const bool k = config_.key_management_mobility && e.key_management_mobility_granted;
            if (config_.dynamic_keying && !k) {
                // Without K the IKE SA cannot follow: re-establish it from the
                // new care-of address and wait for it.
                sas_ready_ = false;
                t.waiting_for_security_associations = true;
                out.push_back(ReestablishIkeSa{config_.home_address, config_.home_agent_address,
                                               e.care_of_address});
                continue;
            }
            // The daemon executes the MIGRATEs and the rest of the kernel
            // state for the new care-of address together.
            e.kernel_care_of_address = e.care_of_address;
            const uint64_t op = next_operation_++;
            t.waiting_operations.push_back(op);
            migrate_operations_.insert(op);
            out.push_back(Migrate{config_.home_address, config_.home_agent_address,
                                  *e.installed_care_of_address, e.care_of_address, k, op});
        }
        if (!t.waiting_operations.empty() || t.waiting_for_security_associations) return;
    }
    if (!t.deregistration && !t.from_home) {
        // The BU needs the kernel state of its care-of address (Home Address
        // option state, policies) before it leaves: a first registration,
        // or SAs the key manager rebuilt. A refresh needs nothing.
        bool new_care_of_address = false;
        for (uint16_t bid : t.binding_ids) {
            BulEntry& e = entries_.at(bid);
            new_care_of_address = new_care_of_address || e.kernel_care_of_address != e.care_of_address;
            e.kernel_care_of_address = e.care_of_address;
        }
        if (new_care_of_address) {
            const uint64_t op = next_operation_++;
            t.waiting_operations.push_back(op);
            out.push_back(CommitKernelState{op, config_.home_address});
            return;
        }
    }
    transmit(t, now, out);
}

void BindingUpdateList::on(const KernelOutcome& ev, TimePoint now, Actions& out) {
    for (auto& [id, t] : transactions_) {
        auto w = std::find(t.waiting_operations.begin(), t.waiting_operations.end(), ev.operation);
        if (w == t.waiting_operations.end()) continue;
        t.waiting_operations.erase(w);
        const bool was_migrate = migrate_operations_.erase(ev.operation) > 0;
        if (!ev.ok && !was_migrate) {
            // The BU's own state failed: it goes anyway (retransmissions and
            // the commit after the BA try again).
            out.push_back(Report{ReportKind::kernel_state_failed, config_.home_address,
                                 t.binding_ids.front(), std::nullopt});
        } else if (!ev.ok) {
            out.push_back(Report{ReportKind::migrate_failed, config_.home_address,
                                 t.binding_ids.front(), std::nullopt});
            if (config_.dynamic_keying) {
                // The SAs stayed behind: the key manager builds new ones
                // from the new care-of address.
                sas_ready_ = false;
                t.waiting_for_security_associations = true;
                out.push_back(ReestablishIkeSa{config_.home_address, config_.home_agent_address,
                                               entries_.at(t.binding_ids.front()).care_of_address});
            }
            // Static keying: BU/BA use transport-mode SAs that need no move;
            // the registration goes ahead and the commit after the BA puts
            // the rest in place.
        }
        if (t.waiting_operations.empty() && !t.waiting_for_security_associations) begin(t, now, out);
        return;
    }
    auto c = local_commits_.find(ev.operation);
    if (c == local_commits_.end()) return;
    const uint16_t bid = c->second;
    local_commits_.erase(c);
    if (ev.ok) return;
    out.push_back(Report{ReportKind::kernel_state_failed, config_.home_address, bid, std::nullopt});
    if (entries_.contains(bid)) {
        kernel_retry_armed_.insert(bid);
        out.push_back(ArmTimer{timer(TimerKind::bul_kernel_retry, bid), now + config_.initial_bindack_timeout});
    }
}

void BindingUpdateList::on(const SecurityAssociationsReady&, TimePoint now, Actions& out) {
    sas_ready_ = true;
    std::vector<uint32_t> ready;
    for (auto& [id, t] : transactions_)
        if (t.waiting_for_security_associations) ready.push_back(id);
    for (uint32_t id : ready) {
        auto it = transactions_.find(id);
        if (it == transactions_.end()) continue;
        Transaction& t = it->second;
        t.waiting_for_security_associations = false;
        // SAs built from the current care-of address need no MIGRATE; the
        // rest of the kernel state for it is committed before the BU.
        t.handover_prepared = true;
        begin(t, now, out);
    }
}

void BindingUpdateList::commit_local_state(uint16_t binding_id, Actions& out) {
    if (auto e = entries_.find(binding_id); e != entries_.end())
        e->second.kernel_care_of_address = e->second.care_of_address;
    const uint64_t op = next_operation_++;
    local_commits_[op] = binding_id;
    out.push_back(CommitKernelState{op, config_.home_address});
}

void BindingUpdateList::transmit(Transaction& t, TimePoint now, Actions& out) {
    if (config_.max_update_rate != 0) {
        // RFC 6275 sec. 11.8: no more than MAX_UPDATE_RATE BUs per second;
        // a BU over the limit goes out when the window allows it.
        const Duration window = std::chrono::seconds{1};
        while (!recent_sends_.empty() && recent_sends_.front() + window <= now)
            recent_sends_.pop_front();
        if (recent_sends_.size() >= config_.max_update_rate) {
            t.deferred = true;
            out.push_back(ArmTimer{timer(TimerKind::bul_retransmission, t.id),
                                   recent_sends_.front() + window});
            return;
        }
        recent_sends_.push_back(now);
    }
    t.deferred = false;
    // RFC 6275 sec. 11.8: every retransmission carries a greater Sequence Number.
    sequence_ = sequence_next(sequence_);
    if (t.transmissions == 0) {
        t.first_sequence = sequence_;
        t.first_sent_at = now;
    }
    t.last_sequence = sequence_;
    t.last_sent_at = now;
    ++t.transmissions;

    mh::BindingUpdate bu;
    bu.sequence_number = sequence_;
    bu.acknowledge = true;            // RFC 6275 sec. 11.7.1: A and H set for home registration
    bu.home_registration = true;
    bu.link_local_address_compatibility = config_.link_local_address_compatibility;
    bu.key_management_mobility_capability = config_.key_management_mobility;
    bu.mobile_router = config_.mobile_router;   // RFC 3963 sec. 5
    bu.lifetime = t.deregistration ? 0 : lifetime_units(config_.requested_lifetime);

    const BulEntry& first = entries_.at(t.binding_ids.front());
    Ipv6Address source = first.care_of_address;
    if (t.from_home) {
        source = config_.home_address;
    } else if (t.deregistration) {
        // The care-of address being released may be gone; send from a bound one.
        for (const auto& [id, e] : entries_)
            if (e.state == BulState::bound) { source = e.care_of_address; break; }
    }

    if (!t.deregistration && config_.mobile_router &&
        prefix_mode_ == PrefixMode::explicit_mode) {
        // RFC 3963 sec. 5: explicit mode, one option per prefix.
        for (const auto& p : config_.mobile_network_prefixes) {
            if (!net::is_v6(p.address)) continue;
            bu.options.push_back(mh::MobileNetworkPrefix{
                p.length, std::get<Ipv6Address>(p.normalized().address)});
        }
    }
    if (mcoa_ && !t.from_home) {
        // RFC 5648: one Binding Identifier option per binding;
        // in a bulk registration each carries its care-of address.
        const bool bulk = t.binding_ids.size() > 1;
        // RFC 5648 sec. 5.9: until the home agent acknowledged bindings of
        // ours, it may hold stale ones from before a restart: the first
        // registering BU (and its retransmissions) sets O to replace them;
        // later ones add to it.
        if (!t.deregistration && !mcoa_bootstrapped_ && !bootstrap_transaction_) bootstrap_transaction_ = t.id;
        bu.overwrite = !t.deregistration && !mcoa_bootstrapped_ && bootstrap_transaction_ == t.id;
        for (uint16_t id : t.binding_ids) {
            mh::BindingIdentifier bid;
            bid.binding_id = id;
            if (bulk) bid.care_of_address = net::IpAddress{entries_.at(id).care_of_address};
            bu.options.push_back(bid);
        }
    } else if (!t.from_home && !t.deregistration) {
        // RFC 6275 sec. 11.7.1: the care-of address in an Alternate Care-of
        // Address option, so that ESP protects it.
        bu.options.push_back(mh::AlternateCareOfAddress{first.care_of_address});
    }

    SendBindingUpdate send;
    send.source = source;
    send.destination = config_.home_agent_address;
    if (!t.from_home) send.home_address_option = config_.home_address;
    send.message = std::move(bu);
    out.push_back(std::move(send));
    out.push_back(ArmTimer{timer(TimerKind::bul_retransmission, t.id), now + t.timeout});
}

void BindingUpdateList::detach_from_transaction(BulEntry& e, Actions& out) {
    if (!e.transaction) return;
    auto it = transactions_.find(*e.transaction);
    e.transaction.reset();
    if (it == transactions_.end()) return;
    auto& ids = it->second.binding_ids;
    ids.erase(std::remove(ids.begin(), ids.end(), e.binding_id), ids.end());
    if (ids.empty()) finish_transaction(it->first, out);
}

void BindingUpdateList::finish_transaction(uint32_t id, Actions& out) {
    auto it = transactions_.find(id);
    if (it == transactions_.end()) return;
    for (uint16_t bid : it->second.binding_ids) {
        auto e = entries_.find(bid);
        if (e != entries_.end() && e->second.transaction == id) e->second.transaction.reset();
    }
    for (uint64_t op : it->second.waiting_operations) migrate_operations_.erase(op);
    transactions_.erase(it);
    out.push_back(CancelTimer{timer(TimerKind::bul_retransmission, id)});
}

// ---- Local binding state ----

void BindingUpdateList::install(BulEntry& e, Actions& out) {
    const auto lifetime = e.granted_lifetime;
    if (!e.installed_care_of_address) {
        out.push_back(InstallBinding{config_.home_address, e.care_of_address,
                                     config_.home_agent_address, e.binding_id,
                                     config_.mobile_router, lifetime});
        // RFC 3963 sec. 5: one route per prefix, whatever the number of
        // bindings (RFC 5648): only the first installed binding adds them.
        bool routed = false;
        for (const auto& [id, other] : entries_) routed = routed || (&other != &e && other.installed_care_of_address);
        if (config_.mobile_router && !config_.mobile_network_prefixes.empty() && !routed)
            out.push_back(AddRoutes{config_.home_address, e.care_of_address,
                                    config_.mobile_network_prefixes});
    } else {
        const Ipv6Address old = *e.installed_care_of_address;
        out.push_back(UpdateBinding{config_.home_address, old, e.care_of_address,
                                    config_.home_agent_address, e.binding_id,
                                    config_.mobile_router, lifetime});
        // The SAs moved before the BU left (begin()).
    }
    const bool changed = e.installed_care_of_address != e.care_of_address;
    e.installed_care_of_address = e.care_of_address;
    if (changed) commit_local_state(e.binding_id, out);
}

void BindingUpdateList::uninstall(BulEntry& e, Actions& out) {
    if (!e.installed_care_of_address) return;
    if (config_.mobile_router && !config_.mobile_network_prefixes.empty()) {
        // The routes stay while another binding is installed (re-pointed at it).
        const BulEntry* next = nullptr;
        for (const auto& [id, other] : entries_)
            if (&other != &e && other.installed_care_of_address && !next) next = &other;
        if (next)
            out.push_back(AddRoutes{config_.home_address, *next->installed_care_of_address,
                                    config_.mobile_network_prefixes});
        else
            out.push_back(RemoveRoutes{config_.home_address, *e.installed_care_of_address,
                                       config_.mobile_network_prefixes});
    }
    out.push_back(RemoveBinding{config_.home_address, *e.installed_care_of_address,
                                config_.home_agent_address, e.binding_id});
    e.installed_care_of_address.reset();
    commit_local_state(e.binding_id, out);
}

void BindingUpdateList::cancel_entry_timers(const BulEntry& e, Actions& out) {
    if (e.state != BulState::bound && e.state != BulState::waiting_for_ack_refresh) return;
    out.push_back(CancelTimer{timer(TimerKind::bul_refresh, e.binding_id)});
    out.push_back(CancelTimer{timer(TimerKind::bul_lifetime, e.binding_id)});
}

void BindingUpdateList::remove_entry(uint16_t binding_id, Actions& out) {
    auto it = entries_.find(binding_id);
    if (it == entries_.end()) return;
    detach_from_transaction(it->second, out);
    cancel_entry_timers(it->second, out);
    uninstall(it->second, out);
    if (kernel_retry_armed_.erase(binding_id))
        out.push_back(CancelTimer{timer(TimerKind::bul_kernel_retry, binding_id)});
    const bool had_state = it->second.state != BulState::idle;
    entries_.erase(it);
    // Its care-of address no longer needs route-optimisation states or policies.
    if (had_state) commit_local_state(binding_id, out);
}

void BindingUpdateList::give_up(std::optional<BindingAckStatus> status, Actions& out) {
    unusable_ = true;
    final_status_ = status;
    out.push_back(Report{ReportKind::home_agent_unusable, config_.home_address, 0, status});
    std::vector<uint16_t> ids;
    for (const auto& [id, e] : entries_) ids.push_back(id);
    for (uint16_t id : ids) remove_entry(id, out);
    std::vector<uint32_t> open;
    for (const auto& [id, t] : transactions_) open.push_back(id);
    for (uint32_t id : open) finish_transaction(id, out);
}

// ---- Binding Acknowledgement (RFC 6275 sec. 11.7.3) ----

void BindingUpdateList::resynchronise(uint16_t sequence, TimePoint now, Actions& out) {
    // RFC 6275 sec. 11.7.3: status 135 carries the home agent's last accepted
    // number; continue from it and send the BU again at once.
    sequence_ = sequence;
    for (auto& [id, t] : transactions_)
        if (t.waiting_operations.empty() && !t.waiting_for_security_associations) transmit(t, now, out);
}

void BindingUpdateList::on(const BindingAcknowledgementReceived& ev, TimePoint now,
                           Actions& out) {
    const auto& ba = ev.message;
    if (!ev.ipsec_protected) {
        // RFC 6275 sec. 11.7.3 (and sec. 5.1): a BA from the home agent
        // must come under IPsec; anything else is silently discarded.
        out.push_back(DropMessage{"binding acknowledgement without IPsec protection"});
        return;
    }
    if (ev.source != config_.home_agent_address) {
        out.push_back(DropMessage{"binding acknowledgement not from the home agent"});
        return;
    }
    if (ba.status == BindingAckStatus::sequence_number_out_of_window) {
        if (transactions_.empty()) {
            out.push_back(DropMessage{"binding acknowledgement without outstanding binding update"});
            return;
        }
        out.push_back(Report{ReportKind::registration_rejected, config_.home_address, 0, ba.status});
        resynchronise(ba.sequence_number, now, out);
        return;
    }
    Transaction* match = nullptr;
    for (auto& [id, t] : transactions_) {
        if (t.transmissions == 0) continue;   // not sent yet
        if (sequence_in_range(ba.sequence_number, t.first_sequence, t.last_sequence)) {
            match = &t;
            break;
        }
    }
    if (!match) {
        // RFC 6275 sec. 11.7.3: the Sequence Number must match the BU sent.
        out.push_back(DropMessage{"binding acknowledgement matches no outstanding binding update"});
        return;
    }
    const Transaction t = *match;   // copy: the handlers below change transactions_
    const auto bid_options = mh::find_options<mh::BindingIdentifier>(ba.options);

    // Statuses for which the binding update is simply sent again later, with
    // the back-off of RFC 6275 sec. 11.8: the home agent may recover.
    auto transient = [](BindingAckStatus s) {
        return s == BindingAckStatus::reason_unspecified ||
               s == BindingAckStatus::insufficient_resources;
    };
    auto status_for = [&](uint16_t bid) {
        for (const auto* o : bid_options)
            if (o->binding_id == bid) return o->status;
        // RFC 5648: without a BID option the BA's status applies to
        // every binding of the BU; a "not complete" summary without one is no answer.
        if (ba.status == BindingAckStatus::mcoa_notcomplete) return BindingAckStatus::reason_unspecified;
        return ba.status;
    };

    bool all_transient = !t.deregistration;
    for (uint16_t bid : t.binding_ids)
        if (!transient(status_for(bid))) all_transient = false;
    if (all_transient) {
        // Keep the transaction: its retransmission timer sends the BU again.
        out.push_back(Report{ReportKind::registration_rejected, config_.home_address,
                             t.binding_ids.front(), status_for(t.binding_ids.front())});
        return;
    }

    finish_transaction(t.id, out);
    std::vector<uint16_t> reregister;
    std::vector<uint16_t> release;
    for (uint16_t bid : t.binding_ids) {
        if (unusable_) break;
        auto it = entries_.find(bid);
        if (it == entries_.end()) continue;
        if (t.deregistration) {
            apply_deregistration_status(it->second, status_for(bid), t.from_home, out);
        } else {
            apply_registration_status(it->second, t, ba, status_for(bid), now, out, reregister,
                                      release);
        }
    }
    if (unusable_) return;
    // Make-before-break (RFC 5648): the new binding is acknowledged,
    // now the old one goes.
    std::vector<uint16_t> to_release;
    for (uint16_t old : release)
        if (entries_.contains(old) &&
            entries_.at(old).state != BulState::waiting_for_deregistration_ack)
            to_release.push_back(old);
    if (!to_release.empty()) deregister_entries(to_release, false, now, out);
    std::vector<uint16_t> again;
    for (uint16_t bid : reregister)
        if (entries_.contains(bid)) again.push_back(bid);
    if (!again.empty()) {
        if (bulk_) {
            register_entries(again, now, out);
        } else {
            for (uint16_t bid : again) register_entries({bid}, now, out);
        }
    }
}

void BindingUpdateList::apply_registration_status(BulEntry& e, const Transaction& t,
                                                  const mh::BindingAcknowledgement& ba,
                                                  BindingAckStatus status, TimePoint,
                                                  Actions& out,
                                                  std::vector<uint16_t>& reregister,
                                                  std::vector<uint16_t>& release) {
    const auto& hoa = config_.home_address;
    if (mh::is_accepted(status)) {
        if (config_.mobile_router && !ba.mobile_router) {
            // RFC 3963 sec. 5: a BA without R means the home agent does not
            // support mobile routers; do not forward for the mobile network.
            out.push_back(Report{ReportKind::mobile_router_not_supported, hoa, e.binding_id, status});
            give_up(status, out);
            return;
        }
        if (ba.lifetime == 0) {
            // Accepted with nothing granted: no binding exists.
            cancel_entry_timers(e, out);
            e.state = BulState::idle;
            uninstall(e, out);
            out.push_back(Report{ReportKind::deregistered, hoa, e.binding_id, status});
            return;
        }
        cancel_entry_timers(e, out);
        // RFC 6275 sec. 11.7.3: the granted lifetime counts from the moment
        // the acknowledged BU was sent.
        const TimePoint sent = ba.sequence_number == t.last_sequence ? t.last_sent_at : t.first_sent_at;
        e.granted_lifetime = ba.lifetime_seconds();
        const bool k = config_.key_management_mobility && ba.key_management_mobility_capability;
        if (!e.installed_care_of_address) {
            // First registration: K is decided here for the binding's life.
            e.key_management_mobility_granted = k;
        } else if (k != e.key_management_mobility_granted) {
            out.push_back(Report{ReportKind::key_management_mobility_changed, hoa, e.binding_id, status});
        }
        e.state = BulState::bound;
        mcoa_bootstrapped_ = true;
        const Duration granted = std::chrono::duration_cast<Duration>(e.granted_lifetime);
        e.expires_at = sent + granted;
        Duration refresh = granted * static_cast<int64_t>(config_.refresh_percent) / 100;
        if (const auto* bra = mh::find_option<mh::BindingRefreshAdvice>(ba.options)) {
            // RFC 6275 sec. 11.7.3: refresh no later than the advised interval.
            const Duration advised = std::chrono::seconds{
                uint32_t{bra->refresh_interval} * mh::refresh_interval_unit_seconds};
            if (advised > Duration{0} && advised < refresh) refresh = advised;
        }
        e.refresh_at = sent + refresh;
        install(e, out);
        out.push_back(ArmTimer{timer(TimerKind::bul_refresh, e.binding_id), e.refresh_at});
        out.push_back(ArmTimer{timer(TimerKind::bul_lifetime, e.binding_id), e.expires_at});
        out.push_back(Report{ReportKind::registered, hoa, e.binding_id, status});
        if (status == BindingAckStatus::accepted_prefix_discovery_necessary)
            out.push_back(Report{ReportKind::prefix_discovery_necessary, hoa, e.binding_id, status});
        if (e.releases_binding_id) {
            const uint16_t old = *e.releases_binding_id;
            e.releases_binding_id.reset();
            auto o = entries_.find(old);
            if (o != entries_.end() && o->second.installed_care_of_address) {
                // The SAs follow to the new care-of address before the old
                // binding is released.
                out.push_back(Migrate{hoa, config_.home_agent_address,
                                      *o->second.installed_care_of_address, e.care_of_address,
                                      e.key_management_mobility_granted});
            }
            release.push_back(old);
        }
        return;
    }

    out.push_back(Report{ReportKind::registration_rejected, hoa, e.binding_id, status});
    switch (status) {
        case BindingAckStatus::reason_unspecified:
        case BindingAckStatus::insufficient_resources:
        case BindingAckStatus::sequence_number_out_of_window:
            // Per-binding transient answer inside a bulk BA: try again.
            reregister.push_back(e.binding_id);
            return;
        case BindingAckStatus::forwarding_setup_failed:
            // RFC 3963 sec. 6: in implicit mode the home agent found no
            // prefixes for us; list them explicitly if we know them.
            if (prefix_mode_ == PrefixMode::implicit_mode &&
                !config_.mobile_network_prefixes.empty()) {
                prefix_mode_ = PrefixMode::explicit_mode;
                reregister.push_back(e.binding_id);
                return;
            }
            break;
        case BindingAckStatus::mcoa_bulk_registration_prohibited:
            // RFC 5648: register the bindings one by one instead.
            if (bulk_) {
                bulk_ = false;
                out.push_back(Report{ReportKind::mcoa_fallback, hoa, e.binding_id, status});
            }
            reregister.push_back(e.binding_id);
            return;
        case BindingAckStatus::mcoa_prohibited:
        case BindingAckStatus::mcoa_non_mcoa_binding_exists: {
            // RFC 5648: the home agent will not keep several
            // bindings; continue with this one alone, without BID options.
            if (!mcoa_) break;
            out.push_back(Report{ReportKind::mcoa_fallback, hoa, e.binding_id, status});
            const uint16_t keep = e.binding_id;
            std::vector<uint16_t> others;
            for (const auto& [id, other] : entries_)
                if (id != keep) others.push_back(id);
            for (uint16_t id : others) remove_entry(id, out);
            mcoa_ = false;
            bulk_ = false;
            BulEntry moved = entries_.at(keep);
            entries_.erase(keep);
            moved.binding_id = 0;
            moved.releases_binding_id.reset();
            if (moved.state == BulState::waiting_for_ack_refresh ||
                moved.state == BulState::bound) {
                // Timers were armed under the old id.
                out.push_back(CancelTimer{timer(TimerKind::bul_refresh, keep)});
                out.push_back(CancelTimer{timer(TimerKind::bul_lifetime, keep)});
            }
            if (kernel_retry_armed_.erase(keep))
                out.push_back(CancelTimer{timer(TimerKind::bul_kernel_retry, keep)});
            moved.state = BulState::waiting_for_ack;
            entries_[0] = moved;
            reregister.clear();
            reregister.push_back(0);
            return;
        }
        case BindingAckStatus::mcoa_malformed:
        case BindingAckStatus::mcoa_unknown_coa:
        case BindingAckStatus::mcoa_simultaneous_home_and_foreign_prohibited:
        case BindingAckStatus::invalid_care_of_address:
            // Concerns this binding only (RFC 5648, RFC 6275 sec. 11.7.3).
            remove_entry(e.binding_id, out);
            return;
        default:
            break;
    }
    // RFC 6275 sec. 11.7.3 (and RFC 3963 sec. 5 for 140-143): nothing to
    // correct automatically; send no further BUs to this home agent.
    give_up(status, out);
}

void BindingUpdateList::apply_deregistration_status(BulEntry& e, BindingAckStatus status,
                                                    bool from_home, Actions& out) {
    const uint16_t id = e.binding_id;
    // RFC 6275 sec. 10.3.2: 133 answers a deregistration for which the home
    // agent holds no binding; RFC 5648: 167 for an unknown BID.
    // Either way the binding is gone, as asked.
    const bool gone = mh::is_accepted(status) ||
                      status == BindingAckStatus::not_home_agent_for_this_mobile_node ||
                      status == BindingAckStatus::mcoa_unknown_coa;
    out.push_back(Report{gone ? ReportKind::deregistered : ReportKind::registration_rejected,
                         config_.home_address, id, status});
    if (from_home && e.installed_care_of_address && e.key_management_mobility_granted) {
        // RFC 6275 sec. 11.7.1: with K granted the key management endpoint
        // follows the mobile node; back home that is the home address.
        out.push_back(Migrate{config_.home_address, config_.home_agent_address,
                              *e.installed_care_of_address, config_.home_address, true});
    }
    remove_entry(id, out);
}

// ---- Binding Refresh Request (RFC 6275 sec. 11.7.4) ----

void BindingUpdateList::on(const BindingRefreshRequestReceived& ev, TimePoint now, Actions& out) {
    if (ev.source != config_.home_agent_address) {
        out.push_back(DropMessage{"binding refresh request not from the home agent"});
        return;
    }
    const auto bid_options = mh::find_options<mh::BindingIdentifier>(ev.message.options);
    std::vector<uint16_t> ids;
    for (auto& [id, e] : entries_) {
        if (e.state != BulState::bound) continue;   // a BU is already outstanding otherwise
        if (!bid_options.empty()) {
            // RFC 5648: BID options name the bindings to refresh.
            bool named = false;
            for (const auto* o : bid_options) named = named || o->binding_id == id;
            if (!named) continue;
        }
        // The binding stays valid while the refresh is outstanding: only the
        // refresh timer goes, the lifetime timer stays.
        out.push_back(CancelTimer{timer(TimerKind::bul_refresh, id)});
        e.state = BulState::waiting_for_ack_refresh;
        ids.push_back(id);
    }
    if (ids.empty()) return;
    if (bulk_) {
        register_entries(ids, now, out);
    } else {
        for (uint16_t id : ids) register_entries({id}, now, out);
    }
}

// ---- Binding Error (RFC 6275 sec. 11.3.6) ----

void BindingUpdateList::on(const BindingErrorReceived& ev, TimePoint now, Actions& out) {
    if (ev.source != config_.home_agent_address ||
        ev.message.home_address != config_.home_address) {
        out.push_back(DropMessage{"binding error not from the home agent for this home address"});
        return;
    }
    if (entries_.empty()) {
        // RFC 6275 sec. 11.3.6: ignored without a binding update list entry.
        out.push_back(DropMessage{"binding error without binding update list entry"});
        return;
    }
    if (ev.message.status == mh::BindingErrorStatus::unrecognized_mh_type_value) {
        // RFC 6275 sec. 11.3.6: the home agent does not understand our MH
        // type: it cannot serve us.
        give_up(std::nullopt, out);
        return;
    }
    // Status 1: the home agent holds no binding for our home address (it may
    // have rebooted): register again, as a first registration.
    std::vector<uint16_t> ids;
    for (auto& [id, e] : entries_) {
        if (e.state != BulState::bound && e.state != BulState::waiting_for_ack_refresh) continue;
        detach_from_transaction(e, out);
        cancel_entry_timers(e, out);
        e.state = BulState::waiting_for_ack;
        ids.push_back(id);
    }
    if (ids.empty()) return;
    if (bulk_) {
        register_entries(ids, now, out);
    } else {
        for (uint16_t id : ids) register_entries({id}, now, out);
    }
}

// ---- Timers ----

void BindingUpdateList::on(const TimerExpired& ev, TimePoint now, Actions& out) {
    if (ev.key.home_address != config_.home_address) return;
    switch (ev.key.kind) {
        case TimerKind::bul_retransmission: {
            auto it = transactions_.find(ev.key.id);
            if (it == transactions_.end()) return;
            Transaction& t = it->second;
            if (t.deferred) {
                transmit(t, now, out);
                return;
            }
            if (config_.max_retransmissions != 0 && t.transmissions > config_.max_retransmissions) {
                out.push_back(Report{ReportKind::retransmissions_exhausted, config_.home_address,
                                     t.binding_ids.front(), std::nullopt});
                const std::vector<uint16_t> ids = t.binding_ids;
                const bool dereg = t.deregistration;
                finish_transaction(t.id, out);
                for (uint16_t id : ids) {
                    auto e = entries_.find(id);
                    if (e == entries_.end()) continue;
                    if (dereg || e->second.state == BulState::waiting_for_ack) {
                        remove_entry(id, out);
                    } else {
                        // The old binding lives until its lifetime runs out.
                        e->second.care_of_address = e->second.installed_care_of_address
                                                        .value_or(e->second.care_of_address);
                        e->second.state = BulState::bound;
                    }
                }
                return;
            }
            // RFC 6275 sec. 11.8: exponential back-off up to MAX_BINDACK_TIMEOUT.
            t.timeout = std::min(t.timeout * 2, config_.max_bindack_timeout);
            transmit(t, now, out);
            return;
        }
        case TimerKind::bul_refresh: {
            auto it = entries_.find(static_cast<uint16_t>(ev.key.id));
            if (it == entries_.end() || it->second.state != BulState::bound) return;
            it->second.state = BulState::waiting_for_ack_refresh;
            register_entries({it->first}, now, out);
            return;
        }
        case TimerKind::bul_lifetime: {
            auto it = entries_.find(static_cast<uint16_t>(ev.key.id));
            if (it == entries_.end()) return;
            BulEntry& e = it->second;
            if (e.state != BulState::bound && e.state != BulState::waiting_for_ack_refresh) return;
            if (now < e.expires_at) return;
            // RFC 6275 sec. 11.1: the binding is gone with its lifetime.
            out.push_back(Report{ReportKind::binding_lost, config_.home_address, e.binding_id,
                                 std::nullopt});
            out.push_back(CancelTimer{timer(TimerKind::bul_refresh, e.binding_id)});
            uninstall(e, out);
            const bool was_waiting = e.state == BulState::waiting_for_ack_refresh;
            e.state = BulState::waiting_for_ack;
            if (!was_waiting) register_entries({e.binding_id}, now, out);
            return;
        }
        case TimerKind::bul_kernel_retry: {
            const auto bid = static_cast<uint16_t>(ev.key.id);
            kernel_retry_armed_.erase(bid);
            if (entries_.contains(bid)) commit_local_state(bid, out);
            return;
        }
        case TimerKind::bc_lifetime:
        case TimerKind::bc_refresh_request:
            return;
    }
}

}  // namespace nemokey::mobility::binding
