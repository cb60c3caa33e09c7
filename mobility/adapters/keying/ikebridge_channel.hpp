// mobilityd's end of the local channel to ikebridged (ikebridge/daemon/
// bridge.hpp): the control envelope on ikebridged's Unix socket. One
// long-lived connection carries the event stream ("events-subscribe":
// sas-ready / sas-down per home address); each command is a connection of
// its own, as on the control socket.
//
// Either daemon may restart: when the stream ends or cannot be opened, the
// channel says so (on_lost) and tries again after a back-off (0.2 s doubling
// to 5 s, an asio timer); once subscribed it asks for the whole state
// (status-get) before any event is handled, so nothing said while it was
// away is missed. Nothing blocks: every read, write and connect is async.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "mobility/daemon/control/envelope.hpp"

namespace boost::asio {
class io_context;
}

namespace nemokey::mobility::adapters {

class IkebridgeChannel {
public:
    struct Callbacks {
        std::function<void(const nlohmann::json& status)> on_status;   // after every (re)subscription
        std::function<void(const nlohmann::json& event)> on_event;
        std::function<void()> on_lost;                                 // the stream ended
    };

    IkebridgeChannel(boost::asio::io_context& io, std::string socket_path, Callbacks callbacks);
    ~IkebridgeChannel();
    IkebridgeChannel(const IkebridgeChannel&) = delete;
    IkebridgeChannel& operator=(const IkebridgeChannel&) = delete;

    void start();
    void stop();
    bool subscribed() const;

    // One command; `done` gets the answer, or nullopt when ikebridged could
    // not be reached or answered nothing parseable.
    void request(const std::string& command, nlohmann::json arguments,
                 std::function<void(std::optional<control::Answer>)> done);

    struct Counters {
        uint64_t connects = 0;
        uint64_t losses = 0;
        uint64_t events = 0;
        uint64_t bad_lines = 0;
        uint64_t requests_failed = 0;
    };
    Counters counters() const;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace nemokey::mobility::adapters
