#include "mobility/mobctl/client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace nemokey::mobctl {

namespace ctl = mobility::control;

namespace {

std::string at(const std::string& path) { return "mobilityd at '" + path + "'"; }

int poll_ms(std::chrono::milliseconds timeout) {
    return timeout.count() < 0 ? -1 : static_cast<int>(timeout.count());
}

// Waits for `events` on fd; 0 when ready, else the errno (ETIMEDOUT on timeout).
int wait_for(int fd, short events, std::chrono::milliseconds timeout) {
    pollfd p{fd, events, 0};
    for (;;) {
        const int rc = ::poll(&p, 1, poll_ms(timeout));
        if (rc > 0) return 0;
        if (rc == 0) return ETIMEDOUT;
        if (errno != EINTR) return errno;
    }
}

}  // namespace

ControlClient::ControlClient(ControlClient&& other) noexcept
    : fd_(other.fd_), path_(std::move(other.path_)), buffer_(std::move(other.buffer_)) {
    other.fd_ = -1;
}

ControlClient::~ControlClient() {
    if (fd_ >= 0) ::close(fd_);
}

std::variant<ControlClient, Unreachable> ControlClient::connect(const std::string& path,
                                                                std::chrono::milliseconds timeout) {
    sockaddr_un sa{};
    if (path.empty() || path.size() >= sizeof sa.sun_path)
        return Unreachable{"cannot reach " + at(path) + ": path empty or longer than " +
                           std::to_string(sizeof sa.sun_path - 1) + " bytes"};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path.data(), path.size());
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return Unreachable{"cannot reach " + at(path) + ": socket: " + std::strerror(errno)};
    ControlClient client(fd, path);
    // A Unix socket whose listen backlog is full refuses with EAGAIN (there
    // is no connection in progress to wait for): try again until the timeout.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN || std::chrono::steady_clock::now() >= deadline)
            return Unreachable{"cannot reach " + at(path) + ": " + std::strerror(errno)};
        ::usleep(10000);
    }
    return client;
}

std::optional<Unreachable> ControlClient::send(const ctl::Request& request) {
    const std::string text = ctl::encode(request) + '\n';
    size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::send(fd_, text.data() + done, text.size() - done, MSG_NOSIGNAL);
        if (n >= 0) {
            done += static_cast<size_t>(n);
        } else if (errno == EAGAIN) {
            if (int e = wait_for(fd_, POLLOUT, client_timeout); e != 0)
                return Unreachable{"cannot send to " + at(path_) + ": " + std::strerror(e)};
        } else if (errno != EINTR) {
            return Unreachable{"cannot send to " + at(path_) + ": " + std::strerror(errno)};
        }
    }
    return std::nullopt;
}

std::variant<std::string, Unreachable> ControlClient::read_line(std::chrono::milliseconds timeout) {
    for (;;) {
        if (auto newline = buffer_.find('\n'); newline != std::string::npos) {
            std::string line = buffer_.substr(0, newline);
            buffer_.erase(0, newline + 1);
            return line;
        }
        char chunk[16384];
        const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n > 0) {
            buffer_.append(chunk, static_cast<size_t>(n));
        } else if (n == 0) {
            return Unreachable{at(path_) + " closed the connection" +
                               (buffer_.empty() ? std::string() : " in the middle of a line")};
        } else if (errno == EAGAIN) {
            if (int e = wait_for(fd_, POLLIN, timeout); e != 0)
                return Unreachable{"no answer from " + at(path_) + ": " + std::strerror(e)};
        } else if (errno != EINTR) {
            return Unreachable{"cannot read from " + at(path_) + ": " + std::strerror(errno)};
        }
    }
}

std::variant<ctl::Answer, Unreachable, BadAnswer> ask(const std::string& path, const ctl::Request& request) {
    auto connected = ControlClient::connect(path);
    if (auto* u = std::get_if<Unreachable>(&connected)) return *u;
    ControlClient& client = std::get<ControlClient>(connected);
    if (auto u = client.send(request)) return *u;
    auto line = client.read_line();
    if (auto* u = std::get_if<Unreachable>(&line)) return *u;
    auto answer = ctl::parse_answer(std::get<std::string>(line));
    if (auto* e = std::get_if<ctl::RequestError>(&answer)) return BadAnswer{e->text};
    return std::get<ctl::Answer>(answer);
}

}  // namespace nemokey::mobctl
