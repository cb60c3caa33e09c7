// ikebridged's daemon half: the keying plan loaded into the embedded charon
// over vici, charon's bus events folded into the keying state, and the
// local channel to mobilityd (the control envelope on a Unix socket):
//   status-get        role, "can-move-ike-endpoints", per connection the IKE
//                     SA (addresses, peer identity), CHILD_SAs, readiness
//   counters-get      IKE exchanges by type and direction, refusals
//   ike-initiate      mobile side: {"care-of-address"}: (re)load the
//                     connection from that address and bring up every CHILD_SA
//   ike-reestablish   the same after closing the IKE SA (K cleared, RFC 4877
//                     sec. 7.4)
//   events-subscribe  "sas-ready" / "sas-down" per home address with the
//                     peer identity, "authorization-refused"
// Everything runs on the io_context's thread; charon's threads only post.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "ikebridge/adapters/vici/vici_client.hpp"
#include "ikebridge/core/keying_state.hpp"
#include "mobility/daemon/control/envelope.hpp"

namespace boost::asio {
class io_context;
}

namespace nemokey::ikebridge {

// One bus event, copied off charon's thread.
struct BusEvent {
    int kind = 0;   // nk_charon_event_kind
    std::string ike_name;
    uint32_t ike_unique_id = 0;
    uint32_t ike_old_unique_id = 0;   // IKE_REKEY
    std::string child_name;
    uint32_t child_reqid = 0;
    uint32_t child_unique_id = 0;
    std::string peer_id;
    std::string local_host;
    std::string remote_host;
    int exchange_type = 0;
    bool incoming = false;
    bool request = false;
};

class Bridge {
public:
    Bridge(boost::asio::io_context& io, const KeyingPlan& plan, adapters::ViciClient& vici,
           std::vector<std::string> crl_files, std::function<void(const nlohmann::json&)> publish);

    // Loads credentials and connections; `done(ok)` once charon has them all.
    void load(std::function<void(bool ok, std::string error)> done);
    void on_bus_event(const BusEvent& event);
    void on_authorization_refused(const std::string& connection, const std::string& why);
    void register_commands(mobility::control::CommandRegistry& registry);
    nlohmann::json status() const;
    nlohmann::json counters() const;

private:
    void initiate(const Connection& c, const std::string& care_of_address, bool reestablish);
    void count(const std::string& name) { ++counters_[name]; }

    boost::asio::io_context& io_;
    const KeyingPlan& plan_;
    adapters::ViciClient& vici_;
    std::vector<std::string> crl_files_;
    std::function<void(const nlohmann::json&)> publish_;
    KeyingState state_;
    std::map<std::string, uint64_t> counters_;
};

}  // namespace nemokey::ikebridge
