// What both roles of mobilityd share: the loop, the kernel, the Mobility
// Header socket, the control registry and the event stream, counters by
// name. A role (home_agent.hpp, mobile_node.hpp) drives its state machine
// with real events and executes its actions through these.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "conf/model.hpp"
#include "mobility/adapters/keying/ikebridge_channel.hpp"
#include "mobility/adapters/netlink/netlink_kernel.hpp"
#include "mobility/adapters/socket/mh_socket.hpp"
#include "mobility/daemon/control/envelope.hpp"

namespace nemokey::mobility::daemon {

struct Runtime {
    boost::asio::io_context& io;
    adapters::netlink::NetlinkKernel& kernel;
    adapters::MhSocket& socket;
    control::CommandRegistry& commands;
    std::function<void(const nlohmann::json&)> publish;   // to `mobctl events`
    std::filesystem::path config_file;
    std::filesystem::path state_dir;                       // snapshots
    std::map<std::string, uint64_t> counters;              // by name, e.g. "drop.bu-unprotected"
    // The channel to ikebridged under IKEv2 keying (RFC 4877), else null.
    adapters::IkebridgeChannel* keying = nullptr;
    // Load benchmarks only: --benchmark-unprotected-bus with [benchmark]
    // unprotected-binding-updates = true (main.cpp checks both).
    bool benchmark_unprotected_bus = false;

    void count(const std::string& name, uint64_t n = 1) { counters[name] += n; }
};

class Role {
public:
    virtual ~Role() = default;
    // Reads keys, restores a snapshot, reconciles the kernel; `done(ok)`.
    virtual void start(std::function<void(bool ok)> done) = 0;
    // Clean stop: removes everything installed; `done()` once the kernel is as found.
    virtual void stop(std::function<void()> done) = 0;
    virtual nlohmann::json status() const = 0;
    virtual nlohmann::json bindings() const = 0;
    // From ikebridged (IKEv2 keying): its whole state after every
    // (re)connection, then its events; the channel lost.
    virtual void on_keying_status(const nlohmann::json&) {}
    virtual void on_keying_event(const nlohmann::json&) {}
    virtual void on_keying_lost() {}
};

// "fqdn:mr1.example.net" (ikebridged's peer identity) -> "mr1.example.net",
// the configuration's identity value.
inline std::string identity_value(const std::string& peer_id) {
    for (const char* prefix : {"fqdn:", "email:"})
        if (peer_id.rfind(prefix, 0) == 0) return peer_id.substr(std::char_traits<char>::length(prefix));
    return peer_id;
}

}  // namespace nemokey::mobility::daemon
