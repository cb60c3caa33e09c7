#include "pfkey/transport/pfkey_socket.hpp"

#include <linux/pfkeyv2.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <ctime>

#include "pfkey/transport/socket_util.hpp"

namespace nemokey::pfkey {
namespace {

constexpr size_t kRxSize = 256 * 1024;
using Clock = std::chrono::steady_clock;

TransportError sock_error(const std::string& op, int err) {
    return TransportError{TransportError::Kind::socket, op, err, {}, {}, {}};
}

std::chrono::milliseconds left_until(Clock::time_point deadline) {
    return std::max(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()),
                    std::chrono::milliseconds(0));
}

}  // namespace

PfkeySocket::PfkeySocket(boost::asio::io_context& io) : socket_(io), rxbuf_(kRxSize) {}

TransportResult<std::unique_ptr<PfkeySocket>> PfkeySocket::open(boost::asio::io_context& io) {
    std::unique_ptr<PfkeySocket> s(new PfkeySocket(io));
    boost::system::error_code ec;
    s->socket_.open(boost::asio::generic::raw_protocol(PF_KEY, PF_KEY_V2), ec);
    if (ec) return sock_error("socket(PF_KEY, SOCK_RAW, PF_KEY_V2)", ec.value());
    s->socket_.non_blocking(true, ec);
    s->pid_ = uint32_t(::getpid());
    s->seq_ = uint32_t(::time(nullptr));
    return s;
}

TransportResult<Ok> PfkeySocket::send(PfkeyMessage m) {
    const std::string op = message_type_name(m.header.type);
    if (m.header.pid == 0) m.header.pid = pid_;
    if (m.header.seq == 0) m.header.seq = ++seq_;
    auto bytes = encode(m);
    if (!bytes) return TransportError{TransportError::Kind::codec, op, 0, {}, {}, bytes.error().to_string()};
    // PF_KEY sockets are unbound and unconnected: a plain send.
    const ssize_t n = ::send(socket_.native_handle(), bytes->data(), bytes->size(), 0);
    if (n < 0) return sock_error(op, errno);
    return Ok{};
}

TransportResult<Bytes> PfkeySocket::receive_bytes(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        const int w = detail::wait_readable(socket_.native_handle(), deadline);
        if (w < 0) return sock_error("poll(PF_KEY)", -w);
        if (w == 0) return TransportError{TransportError::Kind::timeout, "receive(PF_KEY)", 0, {}, {}, {}};
        boost::system::error_code ec;
        const size_t n = socket_.receive(boost::asio::buffer(rxbuf_), 0, ec);
        if (ec == boost::asio::error::would_block) continue;
        if (ec) return sock_error("recv(PF_KEY)", ec.value());
        return Bytes(rxbuf_.begin(), rxbuf_.begin() + long(n));
    }
}

void PfkeySocket::async_receive_bytes(std::function<void(TransportResult<Bytes>)> handler) {
    socket_.async_receive(boost::asio::buffer(rxbuf_),
                          [this, handler = std::move(handler)](boost::system::error_code ec, size_t n) {
                              if (ec) return handler(sock_error("recv(PF_KEY)", ec.value()));
                              handler(Bytes(rxbuf_.begin(), rxbuf_.begin() + long(n)));
                          });
}

TransportResult<PfkeyMessage> PfkeySocket::receive(std::chrono::milliseconds timeout) {
    if (!pending_.empty()) {
        auto m = std::move(pending_.front());
        pending_.pop_front();
        return m;
    }
    auto b = receive_bytes(timeout);
    if (!b) return b.error();
    auto m = decode(*b);
    if (!m) return TransportError{TransportError::Kind::codec, "receive(PF_KEY)", 0, {}, {}, m.error().to_string()};
    return std::move(m).value();
}

TransportResult<PfkeyMessage> PfkeySocket::wait_for(uint8_t type, uint32_t seq, uint32_t pid,
                                                    std::chrono::milliseconds timeout) {
    const std::string op = message_type_name(type);
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        auto b = receive_bytes(left_until(deadline));
        if (!b) {
            auto e = b.error();
            e.operation = op;
            return e;
        }
        auto m = decode(*b);
        if (!m) return TransportError{TransportError::Kind::codec, op, 0, {}, {}, m.error().to_string()};
        if (m->header.type == type && m->header.seq == seq && m->header.pid == pid) {
            // RFC 2367 sec. 1.8: the reply carries the error in sadb_msg_errno.
            if (m->header.errno_ != 0)
                return TransportError{TransportError::Kind::kernel, op, m->header.errno_, {}, {}, {}};
            return std::move(m).value();
        }
        pending_.push_back(std::move(m).value());
    }
}

TransportResult<PfkeyMessage> PfkeySocket::request(PfkeyMessage m, std::chrono::milliseconds timeout) {
    m.header.pid = pid_;
    m.header.seq = ++seq_;
    auto s = send(m);
    if (!s) return s.error();
    return wait_for(m.header.type, m.header.seq, m.header.pid, timeout);
}

TransportResult<PfkeyMessage> PfkeySocket::register_satype(uint8_t satype) {
    PfkeyMessage m;
    m.header.type = SADB_REGISTER;
    m.header.satype = satype;
    return request(m);
}

TransportResult<std::vector<PfkeyMessage>> PfkeySocket::dump(uint8_t type, uint8_t satype,
                                                             std::chrono::milliseconds timeout) {
    PfkeyMessage m;
    m.header.type = type;
    m.header.satype = satype;
    m.header.pid = pid_;
    m.header.seq = ++seq_;
    auto s = send(m);
    if (!s) return s.error();
    std::vector<PfkeyMessage> out;
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        auto b = receive_bytes(left_until(deadline));
        if (!b) return b.error();
        auto r = decode(*b);
        if (!r) return TransportError{TransportError::Kind::codec, message_type_name(type), 0, {}, {}, r.error().to_string()};
        if (r->header.type != type || r->header.pid != pid_) {
            pending_.push_back(std::move(r).value());
            continue;
        }
        if (r->header.errno_ != 0) {
            // ENOENT: nothing to dump.
            if (r->header.errno_ == ENOENT) return out;
            return TransportError{TransportError::Kind::kernel, message_type_name(type), r->header.errno_, {}, {}, {}};
        }
        // RFC 2367 sec. 3.1.11: the last message of a dump has seq 0.
        const bool last = r->header.seq == 0;
        out.push_back(std::move(r).value());
        if (last) return out;
    }
}

TransportResult<Ok> PfkeySocket::migrate(PfkeyMigrate mig, std::chrono::milliseconds timeout) {
    mig.pid = pid_;
    mig.seq = ++seq_;
    auto s = send(to_message(mig));
    if (!s) return s.error();
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        auto b = receive_bytes(left_until(deadline));
        if (!b) {
            if (b.error().kind == TransportError::Kind::timeout) return Ok{};
            return b.error();
        }
        auto r = decode(*b);
        if (!r) continue;  // not ours: an answer to us always decodes (it is our header)
        if (r->header.type == SADB_X_MIGRATE && r->header.seq == mig.seq && r->header.pid == pid_) {
            if (r->header.errno_ != 0)
                return TransportError{TransportError::Kind::kernel, "SADB_X_MIGRATE", r->header.errno_, {}, {}, {}};
            return Ok{};
        }
        pending_.push_back(std::move(r).value());
    }
}

}  // namespace nemokey::pfkey
