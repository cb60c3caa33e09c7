// A ControlServer on a real Unix socket in a private temporary folder, its
// io_context run by a thread of its own, so test code can be an ordinary
// blocking client (or run the mobctl binary). Server calls go through
// on_loop(), which runs them on the loop's thread and waits. Also the raw
// blocking client the server tests use.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "mobility/adapters/control/control_server.hpp"

namespace nemokey::mobility::adapters::testing {

class TempFolder {
public:
    TempFolder() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "nemokey-ctl-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~TempFolder() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempFolder(const TempFolder&) = delete;
    TempFolder& operator=(const TempFolder&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

class ServerHarness {
public:
    // Opens the server at <temp>/mobilityd.sock unless `open` is false.
    explicit ServerHarness(const mobility::control::CommandRegistry& registry, ControlServerLimits limits = {},
                           bool open = true)
        : path_(folder_.path() / "mobilityd.sock"),
          server_(io_, path_, registry, limits),
          thread_([this] { io_.run(); }) {
        if (!open) return;
        try {
            on_loop([this] { server_.open(); });
        } catch (...) {
            guard_.reset();
            io_.stop();
            thread_.join();
            throw;
        }
    }
    ~ServerHarness() {
        try {
            on_loop([this] { server_.close(); });
        } catch (...) {
        }
        guard_.reset();
        io_.stop();
        thread_.join();
    }
    ServerHarness(const ServerHarness&) = delete;
    ServerHarness& operator=(const ServerHarness&) = delete;

    // Runs f on the loop's thread and returns what it returns (or rethrows).
    template <class F>
    auto on_loop(F f) -> decltype(f()) {
        std::packaged_task<decltype(f())()> task(std::move(f));
        auto result = task.get_future();
        boost::asio::post(io_, [&task] { task(); });
        return result.get();
    }

    // Polls pred on the loop until it holds or `limit` passed.
    template <class Pred>
    bool wait_until(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
        const auto end = std::chrono::steady_clock::now() + limit;
        while (!on_loop(pred)) {
            if (std::chrono::steady_clock::now() > end) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return true;
    }

    ControlServer& server() { return server_; }
    ControlServerCounters counters() { return on_loop([this] { return server_.counters(); }); }
    const std::filesystem::path& path() const { return path_; }
    const std::filesystem::path& folder() const { return folder_.path(); }

private:
    TempFolder folder_;
    std::filesystem::path path_;
    boost::asio::io_context io_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_{io_.get_executor()};
    ControlServer server_;
    std::thread thread_;
};

// A blocking client socket with a receive timeout; -1 and errno set when
// the connection fails.
inline int connect_to(const std::filesystem::path& path, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
        const int e = errno;
        ::close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

inline bool send_all(int fd, const std::string& data) {
    size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n <= 0) return false;
        done += static_cast<size_t>(n);
    }
    return true;
}

// How a read ended.
enum class ReadEnd { eof, reset, timeout, line };

struct ReadResult {
    std::string data;
    ReadEnd end = ReadEnd::eof;
};

// Reads until EOF, an error or the receive timeout.
inline ReadResult read_all(int fd) {
    ReadResult r;
    char buf[8192];
    for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n > 0) {
            r.data.append(buf, static_cast<size_t>(n));
            continue;
        }
        if (n == 0) r.end = ReadEnd::eof;
        else if (errno == EAGAIN || errno == EWOULDBLOCK) r.end = ReadEnd::timeout;
        else if (errno == EINTR) continue;
        else r.end = ReadEnd::reset;
        return r;
    }
}

// Reads one line (without '\n'), byte by byte so nothing after it is taken.
inline ReadResult read_line(int fd) {
    ReadResult r;
    char c;
    for (;;) {
        const ssize_t n = ::recv(fd, &c, 1, 0);
        if (n == 1) {
            if (c == '\n') {
                r.end = ReadEnd::line;
                return r;
            }
            r.data += c;
            continue;
        }
        if (n == 0) r.end = ReadEnd::eof;
        else if (errno == EAGAIN || errno == EWOULDBLOCK) r.end = ReadEnd::timeout;
        else if (errno == EINTR) continue;
        else r.end = ReadEnd::reset;
        return r;
    }
}

}  // namespace nemokey::mobility::adapters::testing
