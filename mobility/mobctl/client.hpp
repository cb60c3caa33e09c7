// mobctl's side of the control channel: a blocking Unix-socket client with
// a time limit on connect, send and every read (mobctl is not the daemon,
// so blocking is fine; hanging is not). It speaks the envelope of
// mobility/daemon/control/envelope.hpp, one request per connection (Kea's
// command channel), and reads the live event stream line by line.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "mobility/daemon/control/envelope.hpp"

namespace nemokey::mobctl {

inline constexpr std::string_view default_mobilityd_socket = "/run/nemokey/mobilityd.sock";
inline constexpr std::string_view mobilityd_socket_env = "NEMOKEY_MOBILITYD_SOCKET";
inline constexpr std::string_view default_ikebridged_socket = "/run/nemokey/ikebridged.sock";
inline constexpr std::string_view ikebridged_socket_env = "NEMOKEY_IKEBRIDGED_SOCKET";
inline constexpr std::chrono::milliseconds client_timeout{5000};

// The daemon could not be reached or did not answer: one sentence naming
// the socket path and the errno text (mobctl exits 4).
struct Unreachable {
    std::string text;
};
// The daemon answered something that is not an envelope (mobctl exits 1).
struct BadAnswer {
    std::string text;
};

class ControlClient {
public:
    ControlClient(ControlClient&& other) noexcept;
    ControlClient& operator=(ControlClient&&) = delete;
    ~ControlClient();

    static std::variant<ControlClient, Unreachable> connect(const std::string& path,
                                                            std::chrono::milliseconds timeout = client_timeout);
    // Sends the request followed by '\n'.
    std::optional<Unreachable> send(const mobility::control::Request& request);
    // One line without its '\n'. A negative timeout waits for ever; EOF
    // before a whole line is an Unreachable ("closed the connection").
    std::variant<std::string, Unreachable> read_line(std::chrono::milliseconds timeout = client_timeout);

private:
    ControlClient(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
    int fd_ = -1;
    std::string path_;
    std::string buffer_;
};

// Connect, send, read the one answer.
std::variant<mobility::control::Answer, Unreachable, BadAnswer> ask(const std::string& path,
                                                                    const mobility::control::Request& request);

}  // namespace nemokey::mobctl
