#include "ikebridge/core/keying_state.hpp"

namespace nemokey::ikebridge {

std::string exchange_name(int t) {
    switch (t) {
        case exchange_ike_sa_init: return "ike-sa-init";
        case exchange_ike_auth: return "ike-auth";
        case exchange_create_child_sa: return "create-child-sa";
        case exchange_informational: return "informational";
        default: return "other";
    }
}

KeyingState::KeyingState(const KeyingPlan& plan) {
    for (const auto& c : plan.connections) states_[c.name].connection = &c;
}

const ConnectionState* KeyingState::find(const std::string& connection) const {
    auto it = states_.find(connection);
    return it == states_.end() ? nullptr : &it->second;
}

const ConnectionState* KeyingState::find_home_address(const net::Ipv6Address& hoa) const {
    for (const auto& [name, s] : states_)
        if (s.connection->home_address == hoa) return &s;
    return nullptr;
}

std::optional<ReadinessChange> KeyingState::update(ConnectionState& s) {
    bool ready = s.ike_unique_id != 0;
    if (ready) {
        for (const auto& child : s.connection->children) {
            bool up = false;
            for (const auto& [id, c] : s.children) up |= c.name == child.name && c.ike_unique_id == s.ike_unique_id;
            ready &= up;
        }
    }
    if (ready == s.ready) return std::nullopt;
    s.ready = ready;
    return ReadinessChange{s.connection->name, s.connection->home_address, ready, s.peer_id};
}

std::optional<ReadinessChange> KeyingState::ike_up(const std::string& connection, uint32_t unique_id,
                                                   std::string peer_id, std::string local_host,
                                                   std::string remote_host) {
    auto it = states_.find(connection);
    if (it == states_.end()) return std::nullopt;
    auto& s = it->second;
    // A newer IKE SA (re-establishment, unique=replace) takes over; the
    // CHILD_SAs of another IKE SA no longer count.
    std::erase_if(s.children, [&](const auto& c) { return c.second.ike_unique_id != unique_id; });
    s.ike_unique_id = unique_id;
    s.peer_id = std::move(peer_id);
    s.local_host = std::move(local_host);
    s.remote_host = std::move(remote_host);
    ++s.ike_sa_established;
    return update(s);
}

std::optional<ReadinessChange> KeyingState::ike_down(const std::string& connection, uint32_t unique_id) {
    auto it = states_.find(connection);
    if (it == states_.end() || it->second.ike_unique_id != unique_id) return std::nullopt;  // an older one
    auto& s = it->second;
    s.ike_unique_id = 0;
    std::erase_if(s.children, [&](const auto& c) { return c.second.ike_unique_id == unique_id; });
    return update(s);
}

std::optional<ReadinessChange> KeyingState::ike_rekeyed(const std::string& connection, uint32_t old_id,
                                                        uint32_t new_id) {
    auto it = states_.find(connection);
    if (it == states_.end() || it->second.ike_unique_id != old_id) return std::nullopt;   // not the current one
    auto& s = it->second;
    s.ike_unique_id = new_id;
    for (auto& [id, c] : s.children)
        if (c.ike_unique_id == old_id) c.ike_unique_id = new_id;
    return update(s);
}

std::optional<ReadinessChange> KeyingState::child_up(const std::string& connection, uint32_t ike_unique_id,
                                                     uint32_t child_unique_id, const std::string& child) {
    auto it = states_.find(connection);
    if (it == states_.end()) return std::nullopt;
    auto& s = it->second;
    // The first CHILD_SA may be reported before its IKE SA is (IKE_AUTH).
    s.children[child_unique_id] = ConnectionState::Child{child, ike_unique_id};
    return update(s);
}

std::optional<ReadinessChange> KeyingState::child_down(const std::string& connection, uint32_t ike_unique_id,
                                                       uint32_t child_unique_id) {
    auto it = states_.find(connection);
    if (it == states_.end()) return std::nullopt;
    auto& s = it->second;
    auto c = s.children.find(child_unique_id);
    if (c == s.children.end() || c->second.ike_unique_id != ike_unique_id) return std::nullopt;
    s.children.erase(c);
    return update(s);
}

bool KeyingState::endpoints_moved(const std::string& connection, uint32_t unique_id, std::string local_host,
                                  std::string remote_host) {
    auto it = states_.find(connection);
    if (it == states_.end() || it->second.ike_unique_id != unique_id) return false;
    if (it->second.local_host == local_host && it->second.remote_host == remote_host) return false;
    it->second.local_host = std::move(local_host);
    it->second.remote_host = std::move(remote_host);
    return true;
}

void KeyingState::message(int exchange_type, bool incoming, bool request) {
    if (!request) return;
    ++exchanges_[exchange_name(exchange_type) + (incoming ? ".received" : ".sent")];
}

}  // namespace nemokey::ikebridge
