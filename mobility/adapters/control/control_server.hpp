// mobilityd's control socket: the Unix stream socket server that carries
// the control channel's envelope (mobility/daemon/control/envelope.hpp),
// after Kea's command channel (style.md 2.3, 2.4: src/lib/config/
// command_mgr.h answers one {command, arguments} per connection on a Unix
// socket; the daemon's protocol code never sees the socket).
//
// It owns: the socket file (a stale one is replaced, a live one refused,
// mode 0660, removed on close), the connections (one request, one answer
// followed by '\n', then close; a request ends with a newline or with the
// client's shutdown(SHUT_WR)), their limits (size, time, number), and the
// live event stream: "events-subscribe", answered here and not by the
// registry, keeps the connection open and every publish()ed event is
// written to it as one JSON object per line.
//
// Nothing blocks the daemon's loop: all I/O is asynchronous; a client that
// is slow to send its request or read its answer is closed after the
// request timeout, one connection too many is closed at once, and a
// subscriber whose unwritten output passes the backlog bound is dropped.
// Each case is counted. Asio stays behind a pimpl (Kea's IOService habit,
// style.md 2.2); every member is called on the io_context's thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <source_location>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "mobility/daemon/control/envelope.hpp"

namespace boost::asio {
class io_context;
}

namespace nemokey::mobility::adapters {

// open() failed: one sentence naming the socket path and the reason.
class ControlServerError : public std::runtime_error {
public:
    ControlServerError(const std::string& what, std::source_location where = std::source_location::current())
        : std::runtime_error(what), where_(where) {}
    const std::source_location& where() const { return where_; }

private:
    std::source_location where_;
};

struct ControlServerLimits {
    size_t max_connections = 32;                       // open at once, subscribers included
    std::chrono::milliseconds request_timeout{5000};   // from accept to the answer written
    size_t max_subscriber_backlog = 1024 * 1024;       // unwritten bytes per subscriber
};

struct ControlServerCounters {
    uint64_t accepted = 0;             // connections served (the rejected ones not included)
    uint64_t rejected_busy = 0;        // closed at once: max_connections were open
    uint64_t timed_out = 0;            // no whole request, or answer unread, within request_timeout
    uint64_t bad_requests = 0;         // oversize, not JSON, not an envelope (answered with result 1)
    uint64_t subscriptions = 0;        // events-subscribe requests
    uint64_t subscribers_dropped = 0;  // backlog bound passed
    uint64_t events_published = 0;
    uint64_t accept_errors = 0;        // accept(2) failed (e.g. EMFILE); retried after 100 ms
};

class ControlServer {
public:
    // The command the server answers itself.
    static constexpr std::string_view events_subscribe_command = "events-subscribe";

    // `registry` must outlive the server. Nothing happens before open().
    ControlServer(boost::asio::io_context& io, std::filesystem::path socket_path,
                  const mobility::control::CommandRegistry& registry, ControlServerLimits limits = {});
    ~ControlServer();  // close()
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    // Binds and listens. An existing socket file on which nothing listens is
    // replaced; ControlServerError if a daemon listens on it, if the path is
    // not a socket (never removed), too long for sun_path, or bind, chmod
    // 0660 or listen fail.
    void open();
    // Closes the listener and every connection (subscribers included) and
    // removes the socket file if it is still the one open() bound.
    // Idempotent; the server can be opened again.
    void close();
    bool is_open() const;

    // Writes `event` (a JSON object; "time", RFC 3339 UTC, is added when it
    // has none) as one line to every subscriber. Never blocks.
    void publish(const nlohmann::json& event);

    ControlServerCounters counters() const;
    size_t connections() const;  // open now, subscribers included
    size_t subscribers() const;
    const std::filesystem::path& socket_path() const;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace nemokey::mobility::adapters
