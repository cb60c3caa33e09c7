// What ikebridged knows of its IKE and CHILD SAs, per connection (that is,
// per home address), built from the bus events of the embedded charon.
// Pure: events in, changes out. A connection's SAs are "ready" when its
// IKE SA is up and every CHILD_SA the plan gives it is installed; only then
// may the mobile side send its BU (RFC 4877 sec. 4.3) and only then does
// the home agent learn which IKE identity holds the home address.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ikebridge/core/connections.hpp"

namespace nemokey::ikebridge {

// RFC 7296 sec. 3.1 exchange types.
inline constexpr int exchange_ike_sa_init = 34;
inline constexpr int exchange_ike_auth = 35;
inline constexpr int exchange_create_child_sa = 36;
inline constexpr int exchange_informational = 37;
std::string exchange_name(int exchange_type);   // "ike-sa-init", ... "other"

struct ConnectionState {
    const Connection* connection = nullptr;
    uint32_t ike_unique_id = 0;      // 0: no IKE SA up
    std::string peer_id;
    std::string local_host;
    std::string remote_host;
    struct Child {
        std::string name;
        uint32_t ike_unique_id = 0;
    };
    std::map<uint32_t, Child> children;   // CHILD_SA unique id -> child

    uint64_t ike_sa_established = 0; // IKE SAs that came up for this connection
    bool ready = false;
};

// A change of readiness to report to mobilityd.
struct ReadinessChange {
    std::string connection;
    net::Ipv6Address home_address;
    bool ready = false;
    std::string peer_id;
};

class KeyingState {
public:
    explicit KeyingState(const KeyingPlan& plan);

    std::optional<ReadinessChange> ike_up(const std::string& connection, uint32_t unique_id, std::string peer_id,
                                          std::string local_host, std::string remote_host);
    std::optional<ReadinessChange> ike_down(const std::string& connection, uint32_t unique_id);
    // RFC 7296 sec. 2.18: the IKE SA `new_id` replaced `old_id` and took its
    // CHILD_SAs over (readiness unchanged).
    std::optional<ReadinessChange> ike_rekeyed(const std::string& connection, uint32_t old_id, uint32_t new_id);
    std::optional<ReadinessChange> child_up(const std::string& connection, uint32_t ike_unique_id,
                                            uint32_t child_unique_id, const std::string& child);
    std::optional<ReadinessChange> child_down(const std::string& connection, uint32_t ike_unique_id,
                                              uint32_t child_unique_id);
    // True when the IKE SA is known and now at other addresses (several
    // kernel MIGRATEs of one handover report the same move).
    bool endpoints_moved(const std::string& connection, uint32_t unique_id, std::string local_host,
                         std::string remote_host);
    // Counts one IKE message (requests are the exchanges).
    void message(int exchange_type, bool incoming, bool request);

    const std::map<std::string, ConnectionState>& connections() const { return states_; }
    const ConnectionState* find(const std::string& connection) const;
    const ConnectionState* find_home_address(const net::Ipv6Address& home_address) const;
    // "ike-sa-init.sent", "ike-auth.received", ... requests only.
    const std::map<std::string, uint64_t>& exchanges() const { return exchanges_; }

private:
    std::optional<ReadinessChange> update(ConnectionState& s);

    std::map<std::string, ConnectionState> states_;
    std::map<std::string, uint64_t> exchanges_;
};

}  // namespace nemokey::ikebridge
