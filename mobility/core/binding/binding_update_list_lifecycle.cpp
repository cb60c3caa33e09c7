// Binding update list life cycle: the state a snapshot keeps, restore, and
// shutdown. Kept apart from the signalling in binding_update_list.cpp.
#include "mobility/core/binding/binding_update_list.hpp"

namespace nemokey::mobility::binding {

BindingUpdateListState BindingUpdateList::state() const {
    BindingUpdateListState s;
    s.sequence_number = sequence_;
    s.multiple_care_of_addresses = mcoa_;
    s.bulk_registration = bulk_;
    s.prefix_mode = prefix_mode_;
    s.home_agent_unusable = unusable_;
    s.final_status = final_status_;
    s.mcoa_bootstrapped = mcoa_bootstrapped_;
    for (const auto& [id, t] : transactions_)
        if (t.from_home && !t.binding_ids.empty()) s.returning_home = true;
    s.entries.reserve(entries_.size());
    for (const auto& [id, e] : entries_) {
        s.entries.push_back(e);
        s.entries.back().transaction.reset();
        s.entries.back().kernel_care_of_address.reset();
    }
    return s;
}

Actions BindingUpdateList::restore(BindingUpdateListState state, TimePoint now) {
    Actions out;
    transactions_.clear();
    recent_sends_.clear();
    local_commits_.clear();
    kernel_retry_armed_.clear();
    sequence_ = state.sequence_number;
    mcoa_ = state.multiple_care_of_addresses;
    bulk_ = state.bulk_registration;
    prefix_mode_ = state.prefix_mode;
    unusable_ = state.home_agent_unusable;
    final_status_ = state.final_status;
    // Known bindings need no O flag to clear stale ones (RFC 5648 sec. 5.9);
    // before the first accepting BA the first BU sets it, as at a start.
    mcoa_bootstrapped_ = state.mcoa_bootstrapped;
    bootstrap_transaction_.reset();
    // The key manager reports its SAs to the new process as to a fresh one.
    sas_ready_ = !config_.dynamic_keying;
    entries_.clear();
    for (auto& e : state.entries) {
        // Nothing is known of the kernel of the new process until the
        // commits below (and before each BU) put the state in place.
        e.transaction.reset();
        e.kernel_care_of_address.reset();
        const uint16_t id = e.binding_id;
        entries_.insert_or_assign(id, std::move(e));
    }

    std::vector<uint16_t> registering;
    std::vector<uint16_t> deregistering;
    for (auto& [id, e] : entries_) {
        // The local tunnel may or may not have survived: reconcile it.
        if (e.installed_care_of_address) commit_local_state(id, out);
        switch (e.state) {
            case BulState::idle:
                break;
            case BulState::bound:
                out.push_back(ArmTimer{timer(TimerKind::bul_refresh, id), e.refresh_at});
                out.push_back(ArmTimer{timer(TimerKind::bul_lifetime, id), e.expires_at});
                break;
            case BulState::waiting_for_ack_refresh:
                // The home agent holds the binding until it runs out; the
                // refresh BU goes again (RFC 6275 sec. 11.8).
                out.push_back(ArmTimer{timer(TimerKind::bul_lifetime, id), e.expires_at});
                registering.push_back(id);
                break;
            case BulState::waiting_for_ack:
                registering.push_back(id);
                break;
            case BulState::waiting_for_deregistration_ack:
                deregistering.push_back(id);
                break;
        }
    }
    if (unusable_) return out;
    if (!registering.empty()) {
        if (bulk_) {
            register_entries(registering, now, out);
        } else {
            for (uint16_t id : registering) register_entries({id}, now, out);
        }
    }
    if (!deregistering.empty()) deregister_entries(deregistering, state.returning_home, now, out);
    return out;
}

Actions BindingUpdateList::shutdown() {
    Actions out;
    std::vector<uint16_t> ids;
    for (const auto& [id, e] : entries_) ids.push_back(id);
    for (uint16_t id : ids) remove_entry(id, out);
    std::vector<uint32_t> open;
    for (const auto& [id, t] : transactions_) open.push_back(id);
    for (uint32_t id : open) finish_transaction(id, out);
    return out;
}

bool BindingUpdateList::returning_home() const {
    for (const auto& [id, t] : transactions_)
        if (t.from_home && !t.binding_ids.empty()) return true;
    return false;
}

}  // namespace nemokey::mobility::binding
