#include "mobility/adapters/control/control_server.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <deque>
#include <optional>
#include <set>
#include <vector>

namespace nemokey::mobility::adapters {

namespace asio = boost::asio;
namespace ctl = mobility::control;
using stream = asio::local::stream_protocol;
using boost::system::error_code;
using nlohmann::json;

namespace {

using Line = std::shared_ptr<const std::string>;

struct Connection {
    Connection(stream::socket s, asio::io_context& io) : socket(std::move(s)), timer(io) {}

    stream::socket socket;
    asio::steady_timer timer;
    std::string request;
    std::array<char, 4096> chunk{};
    bool closed = false;
    bool half_closed = false;  // the request ended with the client's shutdown(SHUT_WR)
    // Subscribers only.
    bool subscriber = false;
    std::deque<Line> queue;    // not yet written; the first `in_flight` are being written
    size_t in_flight = 0;
    size_t queued_bytes = 0;
};

using ConnectionPtr = std::shared_ptr<Connection>;

std::string now_rfc3339() {
    const auto now = std::chrono::system_clock::now();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[40];
    const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms));
    return buf;
}

std::string errno_text(int e) { return std::strerror(e); }

}  // namespace

struct ControlServer::Impl : std::enable_shared_from_this<Impl> {
    Impl(asio::io_context& io, std::filesystem::path path, const ctl::CommandRegistry& registry,
         ControlServerLimits limits)
        : io(io), path(std::move(path)), registry(registry), limits(limits), retry(io) {}

    asio::io_context& io;
    std::filesystem::path path;
    const ctl::CommandRegistry& registry;
    ControlServerLimits limits;
    std::optional<stream::acceptor> acceptor;
    asio::steady_timer retry;  // after an accept error
    std::set<ConnectionPtr> connections;
    ControlServerCounters counters;
    bool open = false;
    // The socket file open() bound, so close() never removes another one.
    dev_t bound_dev = 0;
    ino_t bound_ino = 0;

    std::string where() const { return "control socket '" + path.string() + "'"; }

    void remove_stale_socket() {
        struct stat st {};
        if (::lstat(path.c_str(), &st) != 0) {
            if (errno == ENOENT) return;
            throw ControlServerError(where() + ": cannot inspect it: " + errno_text(errno));
        }
        if (!S_ISSOCK(st.st_mode)) throw ControlServerError(where() + " exists and is not a socket; not replacing it");
        // Something listening answers a connect; a stale file refuses it.
        const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) throw ControlServerError(where() + ": socket() failed: " + errno_text(errno));
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        std::memcpy(sa.sun_path, path.c_str(), path.native().size());
        const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
        const int e = errno;
        ::close(fd);
        if (rc == 0 || e == EAGAIN || e == EINPROGRESS)
            throw ControlServerError(where() + " is in use: another daemon listens on it");
        if (e != ECONNREFUSED) throw ControlServerError(where() + ": cannot probe it: " + errno_text(e));
        if (::unlink(path.c_str()) != 0 && errno != ENOENT)
            throw ControlServerError(where() + ": cannot remove the stale socket: " + errno_text(errno));
    }

    void start() {
        if (open) return;
        if (path.native().empty() || path.native().size() >= sizeof(sockaddr_un{}.sun_path))
            throw ControlServerError(where() + ": path empty or longer than " +
                                     std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes");
        remove_stale_socket();
        stream::acceptor a(io);
        error_code ec;
        a.open(stream(), ec);
        if (ec) throw ControlServerError(where() + ": socket() failed: " + ec.message());
        a.bind(stream::endpoint(path.native()), ec);
        if (ec) throw ControlServerError(where() + ": bind failed: " + ec.message());
        // Before listen(): nobody can connect while the mode is still the umask's.
        struct stat st {};
        if (::chmod(path.c_str(), 0660) != 0 || ::lstat(path.c_str(), &st) != 0) {
            const int e = errno;
            ::unlink(path.c_str());
            throw ControlServerError(where() + ": chmod 0660 failed: " + errno_text(e));
        }
        a.listen(asio::socket_base::max_listen_connections, ec);
        if (ec) {
            ::unlink(path.c_str());
            throw ControlServerError(where() + ": listen failed: " + ec.message());
        }
        bound_dev = st.st_dev;
        bound_ino = st.st_ino;
        acceptor.emplace(std::move(a));
        open = true;
        accept();
    }

    void stop() {
        if (!open) return;
        open = false;
        error_code ig;
        acceptor->close(ig);
        acceptor.reset();
        retry.cancel();
        for (const ConnectionPtr& c : std::vector<ConnectionPtr>(connections.begin(), connections.end())) finish(c);
        struct stat st {};
        if (::lstat(path.c_str(), &st) == 0 && st.st_dev == bound_dev && st.st_ino == bound_ino)
            ::unlink(path.c_str());
    }

    void accept() {
        acceptor->async_accept([weak = weak_from_this()](error_code ec, stream::socket s) {
            auto self = weak.lock();
            if (!self || !self->open || ec == asio::error::operation_aborted) return;
            if (!ec) {
                self->admit(std::move(s));
                self->accept();
                return;
            }
            // EMFILE and the like: try again shortly rather than spin.
            ++self->counters.accept_errors;
            self->retry.expires_after(std::chrono::milliseconds(100));
            self->retry.async_wait([weak](error_code ec) {
                auto self = weak.lock();
                if (!ec && self && self->open) self->accept();
            });
        });
    }

    void admit(stream::socket s) {
        if (connections.size() >= limits.max_connections) {
            ++counters.rejected_busy;
            error_code ig;
            s.close(ig);
            return;
        }
        ++counters.accepted;
        auto c = std::make_shared<Connection>(std::move(s), io);
        connections.insert(c);
        c->timer.expires_after(limits.request_timeout);
        c->timer.async_wait([weak = weak_from_this(), c](error_code ec) {
            auto self = weak.lock();
            if (ec || !self || c->closed || c->subscriber) return;
            ++self->counters.timed_out;
            self->finish(c);
        });
        read_request(c);
    }

    void read_request(const ConnectionPtr& c) {
        c->socket.async_read_some(asio::buffer(c->chunk), [weak = weak_from_this(), c](error_code ec, size_t n) {
            auto self = weak.lock();
            if (!self || c->closed) return;
            if (ec == asio::error::eof) {  // the client's shutdown(SHUT_WR) ends the request
                c->half_closed = true;
                self->answer(c, std::move(c->request));
                return;
            }
            if (ec) {
                self->finish(c);
                return;
            }
            c->request.append(c->chunk.data(), n);
            if (auto newline = c->request.find('\n'); newline != std::string::npos) {
                c->request.resize(newline);
                self->answer(c, std::move(c->request));
            } else if (c->request.size() > ctl::max_request_bytes) {
                ++self->counters.bad_requests;
                self->reply_and_close(c, ctl::encode(ctl::Answer{ctl::ResultCode::error,
                                                                 "request is over the limit of " +
                                                                     std::to_string(ctl::max_request_bytes) + " bytes",
                                                                 std::nullopt}));
            } else {
                self->read_request(c);
            }
        });
    }

    void answer(const ConnectionPtr& c, std::string text) {
        c->request.clear();
        auto parsed = ctl::parse_request(text);
        if (auto* error = std::get_if<ctl::RequestError>(&parsed)) {
            ++counters.bad_requests;
            reply_and_close(c, ctl::encode(ctl::Answer{ctl::ResultCode::error, error->text, std::nullopt}));
            return;
        }
        const ctl::Request& request = std::get<ctl::Request>(parsed);
        if (request.command == events_subscribe_command) {
            subscribe(c);
            return;
        }
        ctl::Answer a = registry.dispatch(request);
        if (request.command == "list-commands" && a.arguments && (*a.arguments)["commands"].is_array())
            (*a.arguments)["commands"].push_back(
                {{"command", events_subscribe_command},
                 {"help", "keep the connection open and receive every event as one JSON object per line"}});
        reply_and_close(c, ctl::encode(a));
    }

    void reply_and_close(const ConnectionPtr& c, std::string answer) {
        auto out = std::make_shared<std::string>(std::move(answer) + '\n');
        asio::async_write(c->socket, asio::buffer(*out), [weak = weak_from_this(), c, out](error_code, size_t) {
            if (auto self = weak.lock()) self->finish(c);
        });
    }

    void subscribe(const ConnectionPtr& c) {
        ++counters.subscriptions;
        c->subscriber = true;
        c->timer.cancel();
        std::string().swap(c->request);
        enqueue(c, std::make_shared<const std::string>(
                       ctl::encode(ctl::Answer{ctl::ResultCode::ok, "subscribed to events", std::nullopt}) + '\n'));
        if (!c->half_closed) watch(c);
    }

    // A subscriber sends nothing more; its hang-up (EOF or an error) ends the
    // subscription. One that half-closed to end its request is seen gone at
    // the first event that cannot be written.
    void watch(const ConnectionPtr& c) {
        c->socket.async_read_some(asio::buffer(c->chunk), [weak = weak_from_this(), c](error_code ec, size_t) {
            auto self = weak.lock();
            if (!self || c->closed) return;
            if (ec) {
                self->finish(c);
                return;
            }
            self->watch(c);
        });
    }

    void enqueue(const ConnectionPtr& c, Line line) {
        if (c->closed) return;
        if (c->queued_bytes + line->size() > limits.max_subscriber_backlog) {
            ++counters.subscribers_dropped;
            finish(c);
            return;
        }
        c->queued_bytes += line->size();
        c->queue.push_back(std::move(line));
        if (c->in_flight == 0) write_queue(c);
    }

    void write_queue(const ConnectionPtr& c) {
        std::vector<asio::const_buffer> buffers;
        c->in_flight = std::min<size_t>(c->queue.size(), 64);
        for (size_t i = 0; i < c->in_flight; ++i) buffers.push_back(asio::buffer(*c->queue[i]));
        asio::async_write(c->socket, buffers, [weak = weak_from_this(), c](error_code ec, size_t) {
            auto self = weak.lock();
            if (!self || c->closed) return;
            if (ec) {
                self->finish(c);
                return;
            }
            for (; c->in_flight > 0; --c->in_flight) {
                c->queued_bytes -= c->queue.front()->size();
                c->queue.pop_front();
            }
            if (!c->queue.empty()) self->write_queue(c);
        });
    }

    void publish(const json& event) {
        if (!open) return;
        ++counters.events_published;
        json e = event;
        if (e.is_object() && !e.contains("time")) e["time"] = now_rfc3339();
        // CLOCK_MONOTONIC (one clock for every namespace of a kernel), so a
        // reader can line events of several daemons up with its own
        // measurements to the millisecond.
        if (e.is_object() && !e.contains("monotonic-ms"))
            e["monotonic-ms"] = std::chrono::duration<double, std::milli>(
                                    std::chrono::steady_clock::now().time_since_epoch()).count();
        auto line = std::make_shared<const std::string>(e.dump(-1, ' ', false, json::error_handler_t::replace) + '\n');
        std::vector<ConnectionPtr> subscribers;
        for (const ConnectionPtr& c : connections)
            if (c->subscriber) subscribers.push_back(c);
        for (const ConnectionPtr& c : subscribers) enqueue(c, line);
    }

    void finish(ConnectionPtr c) {
        if (c->closed) return;
        c->closed = true;
        error_code ig;
        c->timer.cancel();
        c->socket.shutdown(stream::socket::shutdown_both, ig);
        c->socket.close(ig);
        connections.erase(c);
    }
};

ControlServer::ControlServer(asio::io_context& io, std::filesystem::path socket_path,
                             const ctl::CommandRegistry& registry, ControlServerLimits limits)
    : impl_(std::make_shared<Impl>(io, std::move(socket_path), registry, limits)) {}

ControlServer::~ControlServer() { impl_->stop(); }

void ControlServer::open() { impl_->start(); }
void ControlServer::close() { impl_->stop(); }
bool ControlServer::is_open() const { return impl_->open; }
void ControlServer::publish(const json& event) { impl_->publish(event); }
ControlServerCounters ControlServer::counters() const { return impl_->counters; }
size_t ControlServer::connections() const { return impl_->connections.size(); }
size_t ControlServer::subscribers() const {
    size_t n = 0;
    for (const ConnectionPtr& c : impl_->connections) n += c->subscriber ? 1 : 0;
    return n;
}
const std::filesystem::path& ControlServer::socket_path() const { return impl_->path; }

}  // namespace nemokey::mobility::adapters
