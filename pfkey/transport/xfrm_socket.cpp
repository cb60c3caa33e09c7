#include "pfkey/transport/xfrm_socket.hpp"

#include <linux/netlink.h>
#include <sys/socket.h>

#include <boost/asio/buffer.hpp>
#include <ctime>

#include "pfkey/transport/socket_util.hpp"

namespace nemokey::pfkey {
namespace {

constexpr size_t kRxSize = 256 * 1024;

TransportError sock_error(const std::string& op, int err) {
    return TransportError{TransportError::Kind::socket, op, err, {}, {}, {}};
}

boost::asio::generic::raw_protocol::endpoint kernel_endpoint() {
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    return {&sa, sizeof sa};
}

}  // namespace

XfrmSocket::XfrmSocket(boost::asio::io_context& io) : socket_(io), rxbuf_(kRxSize) {}

TransportResult<std::unique_ptr<XfrmSocket>> XfrmSocket::open(boost::asio::io_context& io,
                                                              const std::vector<uint32_t>& groups) {
    std::unique_ptr<XfrmSocket> s(new XfrmSocket(io));
    boost::system::error_code ec;
    s->socket_.open(boost::asio::generic::raw_protocol(AF_NETLINK, NETLINK_XFRM), ec);
    if (ec) return sock_error("socket(AF_NETLINK, NETLINK_XFRM)", ec.value());
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    s->socket_.bind(boost::asio::generic::raw_protocol::endpoint(&sa, sizeof sa), ec);
    if (ec) return sock_error("bind(NETLINK_XFRM)", ec.value());
    const int fd = s->socket_.native_handle();
    const int one = 1;
    // Extended acks carry the kernel's reason text; capped acks keep them short.
    ::setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    ::setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    sockaddr_nl bound{};
    socklen_t len = sizeof bound;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) != 0)
        return sock_error("getsockname(NETLINK_XFRM)", errno);
    s->port_id_ = bound.nl_pid;
    s->seq_ = uint32_t(::time(nullptr));
    s->socket_.non_blocking(true, ec);
    for (uint32_t g : groups) {
        auto r = s->subscribe(g);
        if (!r) return r.error();
    }
    return s;
}

TransportResult<Ok> XfrmSocket::subscribe(uint32_t group) {
    if (::setsockopt(socket_.native_handle(), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group,
                     sizeof group) != 0)
        return sock_error("NETLINK_ADD_MEMBERSHIP group " + std::to_string(group), errno);
    return Ok{};
}

TransportResult<Ok> XfrmSocket::send(const xfrm::Bytes& bytes, const std::string& op) {
    boost::system::error_code ec;
    socket_.send_to(boost::asio::buffer(bytes), kernel_endpoint(), 0, ec);
    if (ec) return sock_error(op, ec.value());
    return Ok{};
}

TransportResult<xfrm::Bytes> XfrmSocket::receive_bytes(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        const int w = detail::wait_readable(socket_.native_handle(), deadline);
        if (w < 0) return sock_error("poll(NETLINK_XFRM)", -w);
        if (w == 0) return TransportError{TransportError::Kind::timeout, "receive(NETLINK_XFRM)", 0, {}, {}, {}};
        boost::system::error_code ec;
        boost::asio::generic::raw_protocol::endpoint from;
        const size_t n = socket_.receive_from(boost::asio::buffer(rxbuf_), from, 0, ec);
        if (ec == boost::asio::error::would_block) continue;
        if (ec) return sock_error("recv(NETLINK_XFRM)", ec.value());
        return xfrm::Bytes(rxbuf_.begin(), rxbuf_.begin() + long(n));
    }
}

void XfrmSocket::async_receive_bytes(std::function<void(TransportResult<xfrm::Bytes>)> handler) {
    socket_.async_receive(boost::asio::buffer(rxbuf_),
                          [this, handler = std::move(handler)](boost::system::error_code ec, size_t n) {
                              if (ec) return handler(sock_error("recv(NETLINK_XFRM)", ec.value()));
                              handler(xfrm::Bytes(rxbuf_.begin(), rxbuf_.begin() + long(n)));
                          });
}

TransportResult<xfrm::XfrmMessage> XfrmSocket::receive(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (pending_.empty()) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        auto b = receive_bytes(std::max(left, std::chrono::milliseconds(0)));
        if (!b) return b.error();
        auto msgs = xfrm::decode(*b);
        if (!msgs)
            return TransportError{TransportError::Kind::codec, "receive(NETLINK_XFRM)", 0, {}, {},
                                  msgs.error().to_string()};
        for (auto& m : *msgs) pending_.push_back(std::move(m));
    }
    auto m = std::move(pending_.front());
    pending_.pop_front();
    return m;
}

TransportResult<std::vector<xfrm::XfrmMessage>> XfrmSocket::request(xfrm::XfrmMessage m,
                                                                    std::chrono::milliseconds timeout) {
    const std::string op = xfrm::message_type_name(m.type);
    const bool expects_reply = m.type == XFRM_MSG_GETSA || m.type == XFRM_MSG_GETPOLICY ||
                               m.type == XFRM_MSG_ALLOCSPI || m.type == XFRM_MSG_GETAE ||
                               m.type == XFRM_MSG_GETSADINFO || m.type == XFRM_MSG_GETSPDINFO;
    m.flags |= NLM_F_REQUEST | NLM_F_ACK;
    m.seq = ++seq_;
    m.pid = port_id_;
    auto bytes = xfrm::encode(m);
    if (!bytes)
        return TransportError{TransportError::Kind::codec, op, 0, {}, {}, bytes.error().to_string()};
    auto sent = send(*bytes, op);
    if (!sent) return sent.error();
    std::vector<xfrm::XfrmMessage> answers;
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        auto b = receive_bytes(std::max(left, std::chrono::milliseconds(0)));
        if (!b) {
            auto e = b.error();
            e.operation = op;
            return e;
        }
        auto msgs = xfrm::decode(*b);
        if (!msgs)
            return TransportError{TransportError::Kind::codec, op, 0, {}, {}, msgs.error().to_string()};
        bool done = false;
        std::optional<TransportError> failure;
        for (auto& r : *msgs) {
            // Events caused by this request carry its seq and port id too
            // (xfrm_user.c sets km_event.seq/portid from the request), so
            // only GET-style requests take non-ack messages as answers.
            const bool is_error = std::holds_alternative<xfrm::Error>(r.body);
            if (r.seq != m.seq || r.pid != port_id_ || (!is_error && !expects_reply)) {
                pending_.push_back(std::move(r));  // an event, or someone else's answer
                continue;
            }
            if (auto* e = std::get_if<xfrm::Error>(&r.body)) {
                done = true;
                if (e->error != 0)
                    failure = TransportError{TransportError::Kind::kernel, op, -e->error,
                                             e->ext_ack, e->ext_ack_offset, {}};
                continue;
            }
            answers.push_back(std::move(r));
        }
        if (failure) return *failure;
        if (done) return answers;
    }
}

TransportResult<std::vector<xfrm::XfrmMessage>> XfrmSocket::dump(uint16_t type,
                                                                 std::chrono::milliseconds timeout) {
    const std::string op = xfrm::message_type_name(type) + " dump";
    // A dump request carries an empty fixed header of the GET type.
    xfrm::XfrmMessage m;
    m.type = type;
    m.flags = NLM_F_REQUEST | NLM_F_DUMP;
    m.seq = ++seq_;
    m.pid = port_id_;
    xfrm::Bytes bytes(NLMSG_HDRLEN, 0);
    nlmsghdr h{NLMSG_HDRLEN, type, m.flags, m.seq, m.pid};
    std::memcpy(bytes.data(), &h, sizeof h);
    auto sent = send(bytes, op);
    if (!sent) return sent.error();
    std::vector<xfrm::XfrmMessage> answers;
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        auto b = receive_bytes(std::max(left, std::chrono::milliseconds(0)));
        if (!b) return b.error();
        auto msgs = xfrm::decode(*b);
        if (!msgs)
            return TransportError{TransportError::Kind::codec, op, 0, {}, {}, msgs.error().to_string()};
        for (auto& r : *msgs) {
            if (r.seq != m.seq) {
                pending_.push_back(std::move(r));
                continue;
            }
            if (std::holds_alternative<xfrm::Done>(r.body)) return answers;
            if (auto* e = std::get_if<xfrm::Error>(&r.body)) {
                if (e->error != 0)
                    return TransportError{TransportError::Kind::kernel, op, -e->error, e->ext_ack,
                                          e->ext_ack_offset, {}};
                continue;
            }
            answers.push_back(std::move(r));
        }
    }
}

}  // namespace nemokey::pfkey
