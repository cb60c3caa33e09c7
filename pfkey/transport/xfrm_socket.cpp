#include "pfkey/transport/xfrm_socket.hpp"

#include <linux/netlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstring>
#include <ctime>
#include <deque>
#include <map>
#include <optional>

#include "pfkey/transport/kernel_channel.hpp"

namespace nemokey::pfkey {
namespace {

TransportError sock_error(const std::string& op, int err) {
    return TransportError{TransportError::Kind::socket, op, err, {}, {}, {}};
}
TransportError codec_error(const std::string& op, const CodecError& e) {
    return TransportError{TransportError::Kind::codec, op, 0, {}, {}, e.to_string()};
}

boost::asio::generic::raw_protocol::endpoint kernel_endpoint() {
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    return {&sa, sizeof sa};
}

bool expects_reply(uint16_t type) {
    return type == XFRM_MSG_GETSA || type == XFRM_MSG_GETPOLICY || type == XFRM_MSG_ALLOCSPI ||
           type == XFRM_MSG_GETAE || type == XFRM_MSG_GETSADINFO || type == XFRM_MSG_GETSPDINFO;
}

// The messages of a datagram, each with its own bytes (nlmsg_len long, the
// next one NLMSG_ALIGN further); `rest` is what does not frame.
struct Framed {
    std::vector<std::span<const uint8_t>> messages;
    std::span<const uint8_t> rest;
};
Framed frame(std::span<const uint8_t> b) {
    Framed f;
    size_t off = 0;
    while (b.size() - off >= NLMSG_HDRLEN) {
        nlmsghdr h;
        std::memcpy(&h, b.data() + off, sizeof h);
        if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > b.size() - off) break;
        f.messages.push_back(b.subspan(off, h.nlmsg_len));
        off += std::min<size_t>(NLMSG_ALIGN(h.nlmsg_len), b.size() - off);
    }
    f.rest = b.subspan(off);
    return f;
}

}  // namespace

class XfrmSocket::Impl : public detail::KernelChannel<Impl> {
public:
    struct Op {
        bool dump = false;
        uint16_t type = 0;
        uint32_t seq = 0;
        std::string name;
        std::chrono::milliseconds timeout{0};
        Answers answers;
        RequestHandler handler;
        bool done = false;
        std::unique_ptr<boost::asio::steady_timer> timer;
    };
    // One sendmsg: a request, a dump, or a batch.
    struct Send {
        std::vector<std::shared_ptr<Op>> ops;
        xfrm::Bytes bytes;
        bool dump = false;
    };

    explicit Impl(boost::asio::io_context& io) : KernelChannel(io) {}

    TransportResult<Ok> open(const std::vector<uint32_t>& groups) {
        boost::system::error_code ec;
        socket_.open(boost::asio::generic::raw_protocol(AF_NETLINK, NETLINK_XFRM), ec);
        if (ec) return sock_error("socket(AF_NETLINK, NETLINK_XFRM)", ec.value());
        sockaddr_nl sa{};
        sa.nl_family = AF_NETLINK;
        socket_.bind(boost::asio::generic::raw_protocol::endpoint(&sa, sizeof sa), ec);
        if (ec) return sock_error("bind(NETLINK_XFRM)", ec.value());
        const int fd = socket_.native_handle();
        const int one = 1;
        // Extended acks carry the kernel's reason text; capped acks keep them short.
        ::setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
        ::setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
        sockaddr_nl bound{};
        socklen_t len = sizeof bound;
        if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) != 0)
            return sock_error("getsockname(NETLINK_XFRM)", errno);
        port_id_ = bound.nl_pid;
        seq_ = uint32_t(::time(nullptr));
        socket_.non_blocking(true, ec);
        if (ec) return sock_error("non-blocking NETLINK_XFRM socket", ec.value());
        for (uint32_t g : groups) {
            auto r = subscribe(g);
            if (!r) return r.error();
        }
        return Ok{};
    }

    TransportResult<Ok> subscribe(uint32_t group) {
        if (::setsockopt(socket_.native_handle(), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) != 0)
            return sock_error("NETLINK_ADD_MEMBERSHIP group " + std::to_string(group), errno);
        return Ok{};
    }

    std::shared_ptr<Op> make_op(uint16_t type, RequestHandler h, std::chrono::milliseconds timeout, bool dump) {
        auto op = std::make_shared<Op>();
        op->dump = dump;
        op->type = type;
        op->seq = next_seq();
        op->name = xfrm::message_type_name(type) + (dump ? " dump" : "");
        op->timeout = timeout;
        op->handler = std::move(h);
        return op;
    }

    // Encodes m as request `op`; false (and op failed) if it cannot be written.
    bool append(Send& s, const std::shared_ptr<Op>& op, xfrm::XfrmMessage m) {
        m.flags |= NLM_F_REQUEST | NLM_F_ACK;
        m.seq = op->seq;
        m.pid = port_id_;
        if (expects_reply(m.type) && (m.flags & NLM_F_DUMP) == NLM_F_DUMP) {
            fail_later(op, TransportError{TransportError::Kind::invalid, op->name, 0, {}, {},
                                          "NLM_F_DUMP requests go through async_dump"});
            return false;
        }
        auto bytes = xfrm::encode(m);
        if (!bytes) {
            fail_later(op, codec_error(op->name, bytes.error()));
            return false;
        }
        s.bytes.insert(s.bytes.end(), bytes->begin(), bytes->end());
        s.bytes.resize(NLMSG_ALIGN(s.bytes.size()), 0);
        s.ops.push_back(op);
        return true;
    }

    void submit(Send s) {
        if (s.ops.empty()) return;
        if (closed_) {
            for (auto& op : s.ops) cancel(op);
            return;
        }
        queued_.push_back(std::move(s));
        post_kick();
    }

    Send dump_send(uint16_t type, RequestHandler h, std::chrono::milliseconds timeout) {
        // A dump request carries an empty fixed header of the GET type.
        Send s;
        s.dump = true;
        auto op = make_op(type, std::move(h), timeout, true);
        nlmsghdr hdr{NLMSG_HDRLEN, type, NLM_F_REQUEST | NLM_F_DUMP, op->seq, port_id_};
        s.bytes.resize(NLMSG_HDRLEN);
        std::memcpy(s.bytes.data(), &hdr, sizeof hdr);
        s.ops.push_back(std::move(op));
        return s;
    }

    void fail_later(const std::shared_ptr<Op>& op, TransportError e) {
        boost::asio::post(io_, [self = shared_from_this(), op, e] { self->finish(op, e); });
    }

    void defer(std::function<void()> f) { boost::asio::post(io_, std::move(f)); }

    void set_event_handler(EventHandler h) {
        events_.set(std::move(h));
        boost::asio::post(io_, [self = shared_from_this()] {
            self->flush_held();
            self->pump();
        });
    }

    void close() {
        events_.clear();
        close_socket();
        std::vector<std::shared_ptr<Op>> all;
        for (auto& s : queued_) all.insert(all.end(), s.ops.begin(), s.ops.end());
        for (auto& [seq, op] : sent_) all.push_back(op);
        queued_.clear();
        sent_.clear();
        for (auto& op : all) cancel(op);
    }

    void async_drain(std::function<void()> h) {
        boost::asio::post(io_, [self = shared_from_this(), h = std::move(h)] {
            self->pump();
            h();
        });
    }

    size_t outstanding() const {
        size_t n = sent_.size();
        for (const auto& s : queued_) n += s.ops.size();
        return n;
    }
    uint32_t port_id() const { return port_id_; }
    int native_handle() { return socket_.native_handle(); }

    // KernelChannel's hooks.
    bool wants_input() const { return !sent_.empty() || events_.listening(); }

    bool on_receive_error(boost::system::error_code ec) {
        auto e = sock_error("recv(NETLINK_XFRM)", ec.value());
        const bool overrun = ec == boost::asio::error::no_buffer_space;
        if (overrun) e.detail = "receive queue overrun: the kernel dropped messages";
        deliver_event(XfrmEvent{{}, e});
        return overrun;  // the queue still holds what was not dropped
    }

    void on_datagram(std::span<const uint8_t> b) {
        auto f = frame(b);
        for (auto m : f.messages) on_message(m);
        if (!f.rest.empty()) {
            // Not framed: decode() names the fault.
            auto d = xfrm::decode(f.rest);
            CodecError e = d ? CodecError{"", "", 0, "trailing bytes"} : d.error();
            deliver_event(XfrmEvent{xfrm::Bytes(f.rest.begin(), f.rest.end()), codec_error("receive(NETLINK_XFRM)", e)});
        }
    }

private:
    uint32_t next_seq() {
        if (++seq_ == 0) ++seq_;
        return seq_;
    }

    void on_message(std::span<const uint8_t> b) {
        nlmsghdr h;
        std::memcpy(&h, b.data(), sizeof h);
        auto decoded = xfrm::decode(b);
        std::optional<xfrm::XfrmMessage> m;
        if (decoded && decoded->size() == 1) m = std::move((*decoded)[0]);
        const bool ours = h.nlmsg_pid == port_id_;
        auto it = ours ? sent_.find(h.nlmsg_seq) : sent_.end();
        if (it != sent_.end()) {
            auto op = it->second;
            if (h.nlmsg_type == NLMSG_ERROR) {
                if (!m) return finish(op, codec_error(op->name, decoded ? CodecError{} : decoded.error()));
                const auto* e = std::get_if<xfrm::Error>(&m->body);
                if (!e) return finish(op, codec_error(op->name, CodecError{"NLMSG_ERROR", "", 0, "no nlmsgerr"}));
                if (e->error != 0)
                    return finish(op, TransportError{TransportError::Kind::kernel, op->name, -e->error, e->ext_ack,
                                                     e->ext_ack_offset, {}});
                if (!op->dump) return finish(op, std::move(op->answers));
                return;  // an ack inside a dump: nothing to do
            }
            if (op->dump && h.nlmsg_type == NLMSG_DONE) return finish(op, std::move(op->answers));
            if (op->dump || expects_reply(op->type)) {
                if (!m) return finish(op, codec_error(op->name, decoded ? CodecError{} : decoded.error()));
                op->answers.push_back(std::move(*m));
                return;
            }
            // An event this request caused: it carries the request's seq and port id.
        } else if (ours && (h.nlmsg_type == NLMSG_ERROR || h.nlmsg_type == NLMSG_DONE)) {
            return;  // the late answer of a request that timed out: no event
        }
        XfrmEvent ev{xfrm::Bytes(b.begin(), b.end()),
                     m ? TransportResult<xfrm::XfrmMessage>(std::move(*m))
                       : TransportResult<xfrm::XfrmMessage>(codec_error(
                             "receive(NETLINK_XFRM)", decoded ? CodecError{} : decoded.error()))};
        deliver_event(std::move(ev));
    }

    bool dumping() const {
        for (auto& [seq, op] : sent_)
            if (op->dump) return true;
        return false;
    }

    void post_kick() {
        if (kick_posted_) return;
        kick_posted_ = true;
        boost::asio::post(io_, [self = shared_from_this()] { self->kick(); });
    }

    // Sends what is queued, in order; a dump waits for the previous dump.
    void kick() {
        kick_posted_ = false;
        if (closed_) return;
        drain();  // what was queued before our sends comes first
        for (;;) {
            if (closed_) return;
            const bool busy = dumping();
            auto it = std::find_if(queued_.begin(), queued_.end(), [&](const Send& s) { return !(busy && s.dump); });
            if (it == queued_.end()) break;
            Send s = std::move(*it);
            queued_.erase(it);
            send(std::move(s));
        }
        update_wait();
    }

    void send(Send s) {
        const std::string op_name = s.ops.front()->name;
        boost::system::error_code ec;
        socket_.send_to(boost::asio::buffer(s.bytes), kernel_endpoint(), 0, ec);
        if (ec) {
            for (auto& op : s.ops) finish(op, sock_error(op->name, ec.value()));
            return;
        }
        ++stats_.datagrams_sent;
        for (auto& op : s.ops) sent_[op->seq] = op;
        // xfrm_netlink_rcv has run every message of the datagram: the acks are queued now.
        drain();
        for (auto& op : s.ops) {
            if (op->done) {
                ++stats_.answered_at_send;
                continue;
            }
            if (closed_) continue;
            op->timer = std::make_unique<boost::asio::steady_timer>(io_, op->timeout);
            op->timer->async_wait(
                [weak = weak_from_this(), wop = std::weak_ptr<Op>(op)](const boost::system::error_code& ec) {
                    auto self = weak.lock();
                    auto op = wop.lock();
                    if (ec || !self || !op || op->done) return;
                    ++self->stats_.timeouts;
                    self->finish(op, TransportError{TransportError::Kind::timeout, op->name, 0, {}, {}, {}});
                    self->pump();  // a wait is armed only right after a drain
                });
        }
    }

    // Every handler call goes through here, once per request.
    void finish(const std::shared_ptr<Op>& op, TransportResult<Answers> result) {
        if (op->done) return;
        op->done = true;
        auto it = sent_.find(op->seq);
        if (it != sent_.end() && it->second == op) sent_.erase(it);
        if (op->timer) op->timer->cancel();
        ++stats_.requests_completed;
        if (op->dump && !queued_.empty()) post_kick();  // a dump may have been waiting for this one
        op->handler(std::move(result));
    }

    void cancel(const std::shared_ptr<Op>& op) {
        auto e = sock_error(op->name, ECANCELED);
        e.detail = "socket closed";
        fail_later(op, e);
    }

    void deliver_event(XfrmEvent ev) { events_.deliver(std::move(ev), !closed_, stats_.events); }
    void flush_held() { events_.flush(!closed_, stats_.events); }

    uint32_t port_id_ = 0;
    uint32_t seq_ = 0;
    bool kick_posted_ = false;
    std::deque<Send> queued_;
    std::map<uint32_t, std::shared_ptr<Op>> sent_;
    detail::EventDelivery<XfrmEvent> events_;
};

XfrmSocket::XfrmSocket(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

XfrmSocket::~XfrmSocket() { impl_->close(); }

TransportResult<std::unique_ptr<XfrmSocket>> XfrmSocket::open(boost::asio::io_context& io,
                                                              const std::vector<uint32_t>& groups) {
    auto impl = std::make_shared<Impl>(io);
    auto r = impl->open(groups);
    if (!r) return r.error();
    return std::unique_ptr<XfrmSocket>(new XfrmSocket(std::move(impl)));
}

TransportResult<Ok> XfrmSocket::subscribe(uint32_t group) { return impl_->subscribe(group); }

void XfrmSocket::set_event_handler(EventHandler handler) { impl_->set_event_handler(std::move(handler)); }

void XfrmSocket::async_request(xfrm::XfrmMessage m, RequestHandler handler, std::chrono::milliseconds timeout) {
    Impl::Send s;
    auto op = impl_->make_op(m.type, std::move(handler), timeout, false);
    impl_->append(s, op, std::move(m));
    impl_->submit(std::move(s));
}

void XfrmSocket::async_request_batch(std::vector<xfrm::XfrmMessage> batch, BatchHandler handler,
                                     std::chrono::milliseconds timeout) {
    struct Gather {
        std::vector<std::optional<TransportResult<Answers>>> results;
        size_t left = 0;
        BatchHandler handler;
    };
    auto g = std::make_shared<Gather>();
    g->results.resize(batch.size());
    g->left = batch.size();
    g->handler = std::move(handler);
    if (batch.empty()) {
        // Nothing to send; still answered from the io_context.
        impl_->defer([g] { g->handler({}); });
        return;
    }
    Impl::Send s;
    for (size_t i = 0; i < batch.size(); ++i) {
        auto op = impl_->make_op(batch[i].type,
                                 [g, i](TransportResult<Answers> r) {
                                     g->results[i].emplace(std::move(r));
                                     if (--g->left > 0) return;
                                     std::vector<TransportResult<Answers>> out;
                                     out.reserve(g->results.size());
                                     for (auto& x : g->results) out.push_back(std::move(*x));
                                     g->handler(std::move(out));
                                 },
                                 timeout, false);
        impl_->append(s, op, std::move(batch[i]));
    }
    impl_->submit(std::move(s));
}

void XfrmSocket::async_dump(uint16_t type, RequestHandler handler, std::chrono::milliseconds timeout) {
    impl_->submit(impl_->dump_send(type, std::move(handler), timeout));
}

void XfrmSocket::async_drain(std::function<void()> handler) { impl_->async_drain(std::move(handler)); }

size_t XfrmSocket::outstanding() const { return impl_->outstanding(); }
const TransportStats& XfrmSocket::stats() const { return impl_->stats(); }
uint32_t XfrmSocket::port_id() const { return impl_->port_id(); }
int XfrmSocket::native_handle() const { return impl_->native_handle(); }

}  // namespace nemokey::pfkey
