#include "pfkey/transport/pfkey_socket.hpp"

#include <linux/pfkeyv2.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
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

// One sequence number space for every PF_KEY socket of the process: they
// all answer to the same sadb_msg_pid. 0 is what the kernel's own messages
// carry, so it is never used.
uint32_t next_seq() {
    static std::atomic<uint32_t> seq{uint32_t(::time(nullptr))};
    uint32_t s;
    do {
        s = ++seq;
    } while (s == 0);
    return s;
}

// The fixed sadb_msg header (RFC 2367 sec. 2.3.1), read even when the
// rest of the message does not decode, so an answer is still recognised.
struct Header {
    uint8_t type = 0;
    uint8_t errno_ = 0;
    uint32_t seq = 0;
    uint32_t pid = 0;
};
std::optional<Header> read_header(std::span<const uint8_t> b) {
    if (b.size() < sizeof(sadb_msg)) return std::nullopt;
    sadb_msg h;
    std::memcpy(&h, b.data(), sizeof h);
    return Header{h.sadb_msg_type, h.sadb_msg_errno, h.sadb_msg_seq, h.sadb_msg_pid};
}

// Whether `m`, a SADB_X_MIGRATE the kernel broadcast, announces the
// migration `sent`. The kernel's copy is lossy (upper-layer protocol, ports,
// level, policy id and priority are rewritten: drafts-notes/pfkey-migrate.md),
// so only what it keeps is compared.
bool announces(const PfkeyMigrate& sent, const PfkeyMessage& m) {
    auto got = migrate_from_message(m);
    if (!got) return false;
    if (got->dir != sent.dir || got->src.address != sent.src.address || got->src.length != sent.src.length ||
        got->dst.address != sent.dst.address || got->dst.length != sent.dst.length ||
        got->requests.size() != sent.requests.size())
        return false;
    for (size_t i = 0; i < sent.requests.size(); ++i) {
        const auto& a = sent.requests[i];
        const auto& b = got->requests[i];
        if (a.proto != b.proto || a.mode != b.mode || a.reqid != b.reqid || a.old_src != b.old_src ||
            a.old_dst != b.old_dst || a.new_src != b.new_src || a.new_dst != b.new_dst)
            return false;
    }
    if (sent.kmaddress.has_value() != got->kmaddress.has_value()) return false;
    return !sent.kmaddress ||
           (sent.kmaddress->local == got->kmaddress->local && sent.kmaddress->remote == got->kmaddress->remote);
}

}  // namespace

class PfkeySocket::Impl : public detail::KernelChannel<Impl> {
public:
    struct Op {
        enum class Kind { request, dump, migrate };
        Kind kind = Kind::request;
        PfkeyMessage message;  // seq and pid set
        Bytes bytes;           // as sent
        std::optional<PfkeyMigrate> migrate;
        std::chrono::milliseconds timeout{0};
        ReplyHandler on_reply;
        DumpHandler on_dump;
        MigrateHandler on_migrate;
        std::vector<PfkeyMessage> dumped;
        bool expect_echo = false;  // sent while promiscuous: our own copy comes first
        bool announced = false;
        bool done = false;
        std::unique_ptr<boost::asio::steady_timer> timer;

        uint32_t seq() const { return message.header.seq; }
        uint8_t type() const { return message.header.type; }
        std::string name() const { return message_type_name(message.header.type); }
    };

    explicit Impl(boost::asio::io_context& io) : KernelChannel(io), pid_(uint32_t(::getpid())) {}

    TransportResult<Ok> open() {
        boost::system::error_code ec;
        socket_.open(boost::asio::generic::raw_protocol(PF_KEY, PF_KEY_V2), ec);
        if (ec) return sock_error("socket(PF_KEY, SOCK_RAW, PF_KEY_V2)", ec.value());
        socket_.non_blocking(true, ec);
        if (ec) return sock_error("non-blocking PF_KEY socket", ec.value());
        return Ok{};
    }

    void submit(std::shared_ptr<Op> op) {
        op->message.header.pid = pid_;
        op->message.header.seq = next_seq();
        if (closed_) return cancel(op);
        auto bytes = encode(op->message);
        if (!bytes) {
            auto e = codec_error(op->name(), bytes.error());
            boost::asio::post(io_, [self = shared_from_this(), op, e] { self->finish(op, e); });
            return;
        }
        op->bytes = std::move(bytes).value();
        queued_.push_back(std::move(op));
        post_kick();
    }

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
        std::vector<std::shared_ptr<Op>> all(queued_.begin(), queued_.end());
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

    size_t outstanding() const { return queued_.size() + sent_.size(); }
    uint32_t pid() const { return pid_; }
    int native_handle() { return socket_.native_handle(); }

    // KernelChannel's hooks.
    bool wants_input() const { return !sent_.empty() || events_.listening(); }

    bool on_receive_error(boost::system::error_code ec) {
        deliver_event(PfkeyEvent{{}, sock_error("recv(PF_KEY)", ec.value())});
        return false;
    }

    void on_datagram(std::span<const uint8_t> b) {
        const auto h = read_header(b);
        if (h) {
            for (auto& [seq, op] : sent_) {
                if (op->expect_echo && std::equal(b.begin(), b.end(), op->bytes.begin(), op->bytes.end())) {
                    op->expect_echo = false;  // a promiscuous socket's copy of its own request
                    return deliver_event(PfkeyEvent{Bytes(b.begin(), b.end()), op->message});
                }
            }
            if (answer(*h, b)) return;
        }
        auto m = decode(b);
        PfkeyEvent ev{Bytes(b.begin(), b.end()),
                      m ? TransportResult<PfkeyMessage>(std::move(m).value())
                        : TransportResult<PfkeyMessage>(codec_error("receive(PF_KEY)", m.error()))};
        if (ev.message && h && h->type == SADB_X_MIGRATE && h->seq == 0 && h->pid == 0) {
            for (auto& [seq, op] : sent_)
                if (op->kind == Op::Kind::migrate && !op->announced && announces(*op->migrate, *ev.message)) {
                    op->announced = true;
                    break;
                }
        }
        deliver_event(std::move(ev));
    }

private:
    // True if the datagram was an answer to one of our requests.
    bool answer(const Header& h, std::span<const uint8_t> b) {
        if (h.pid != pid_) return false;
        if (h.seq != 0) {
            // Matched on seq and pid: seq is unique in the process. The type
            // is not compared for plain requests (a reply's type follows the
            // kernel event it reports, not always the request's).
            auto it = sent_.find(h.seq);
            if (it != sent_.end()) {
                auto op = it->second;
                switch (op->kind) {
                    case Op::Kind::request:
                        if (h.errno_) {
                            finish(op, TransportError{TransportError::Kind::kernel, op->name(), h.errno_, {}, {}, {}});
                        } else {
                            auto m = decode(b);
                            if (m)
                                finish(op, std::move(m).value());
                            else
                                finish(op, codec_error(op->name(), m.error()));
                        }
                        return true;
                    case Op::Kind::migrate:
                        // pfkey_error's reply; a copy without errno is no answer.
                        if (!h.errno_ || h.type != SADB_X_MIGRATE) return false;
                        finish(op, TransportError{TransportError::Kind::kernel, op->name(), h.errno_, {}, {}, {}});
                        return true;
                    case Op::Kind::dump:
                        if (h.errno_ && h.type == op->type()) {
                            // ENOENT: nothing to dump.
                            if (h.errno_ == ENOENT) finish(op, std::move(op->dumped));
                            else finish(op, TransportError{TransportError::Kind::kernel, op->name(), h.errno_, {}, {}, {}});
                            return true;
                        }
                        break;  // a dump answer whose counter equals our seq: below
                }
            }
        }
        // Dump answers: our pid, the dump's type, seq counting up, 0 last.
        auto dump = active_dump();
        if (!dump || dump->type() != h.type || h.errno_) return false;
        auto m = decode(b);
        if (!m) {
            finish(dump, codec_error(dump->name(), m.error()));
            return true;
        }
        dump->dumped.push_back(std::move(m).value());
        if (h.seq == 0) finish(dump, std::move(dump->dumped));
        return true;
    }

    std::shared_ptr<Op> active_dump() const {
        for (auto& [seq, op] : sent_)
            if (op->kind == Op::Kind::dump) return op;
        return nullptr;
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
            const bool dumping = active_dump() != nullptr;
            auto it = std::find_if(queued_.begin(), queued_.end(),
                                   [&](const auto& op) { return !(dumping && op->kind == Op::Kind::dump); });
            if (it == queued_.end()) break;
            auto op = *it;
            queued_.erase(it);
            send(op);
        }
        update_wait();
    }

    void send(const std::shared_ptr<Op>& op) {
        op->expect_echo = promisc_;
        // PF_KEY sockets are unbound and unconnected: a plain send.
        const ssize_t n = ::send(socket_.native_handle(), op->bytes.data(), op->bytes.size(), MSG_DONTWAIT);
        if (n < 0) return finish(op, sock_error(op->name(), errno));
        ++stats_.datagrams_sent;
        sent_[op->seq()] = op;
        // pfkey_sendmsg has run the request to its end: its answer is queued now.
        drain();
        if (op->done) {
            ++stats_.answered_at_send;
            return;
        }
        if (op->kind == Op::Kind::migrate) {
            // No error reply: success is silence (af_key.c pfkey_migrate).
            ++stats_.answered_at_send;
            return finish(op, MigrateAnswer{op->announced});
        }
        op->timer = std::make_unique<boost::asio::steady_timer>(io_, op->timeout);
        op->timer->async_wait([weak = weak_from_this(), wop = std::weak_ptr<Op>(op)](const boost::system::error_code& ec) {
            auto self = weak.lock();
            auto op = wop.lock();
            if (ec || !self || !op || op->done) return;
            ++self->stats_.timeouts;
            self->finish(op, TransportError{TransportError::Kind::timeout, op->name(), 0, {}, {}, {}});
            self->pump();  // a wait is armed only right after a drain
        });
    }

    // Every handler call goes through here, once per request.
    template <class R>
    void finish(const std::shared_ptr<Op>& op, R result) {
        if (op->done) return;
        op->done = true;
        sent_.erase(op->seq());
        if (op->timer) op->timer->cancel();
        ++stats_.requests_completed;
        if (!queued_.empty()) post_kick();  // a dump may have been waiting for this one
        if constexpr (std::is_same_v<R, TransportError>) {
            if (op->on_reply) op->on_reply(result);
            if (op->on_dump) op->on_dump(result);
            if (op->on_migrate) op->on_migrate(result);
        } else if constexpr (std::is_same_v<R, PfkeyMessage>) {
            if (op->type() == SADB_X_PROMISC) promisc_ = op->message.header.satype != 0;
            op->on_reply(std::move(result));
        } else if constexpr (std::is_same_v<R, std::vector<PfkeyMessage>>) {
            op->on_dump(std::move(result));
        } else {
            op->on_migrate(std::move(result));
        }
    }

    void cancel(const std::shared_ptr<Op>& op) {
        auto e = sock_error(op->name(), ECANCELED);
        e.detail = "socket closed";
        boost::asio::post(io_, [self = shared_from_this(), op, e] { self->finish(op, e); });
    }

    void deliver_event(PfkeyEvent ev) { events_.deliver(std::move(ev), !closed_, stats_.events); }
    void flush_held() { events_.flush(!closed_, stats_.events); }

    uint32_t pid_;
    bool promisc_ = false;
    bool kick_posted_ = false;
    std::deque<std::shared_ptr<Op>> queued_;
    std::map<uint32_t, std::shared_ptr<Op>> sent_;
    detail::EventDelivery<PfkeyEvent> events_;
};

PfkeySocket::PfkeySocket(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

PfkeySocket::~PfkeySocket() { impl_->close(); }

TransportResult<std::unique_ptr<PfkeySocket>> PfkeySocket::open(boost::asio::io_context& io) {
    auto impl = std::make_shared<Impl>(io);
    auto r = impl->open();
    if (!r) return r.error();
    return std::unique_ptr<PfkeySocket>(new PfkeySocket(std::move(impl)));
}

void PfkeySocket::set_event_handler(EventHandler handler) { impl_->set_event_handler(std::move(handler)); }

void PfkeySocket::async_request(PfkeyMessage m, ReplyHandler handler, std::chrono::milliseconds timeout) {
    auto op = std::make_shared<Impl::Op>();
    op->message = std::move(m);
    op->on_reply = std::move(handler);
    op->timeout = timeout;
    impl_->submit(std::move(op));
}

void PfkeySocket::async_register(uint8_t satype, ReplyHandler handler, std::chrono::milliseconds timeout) {
    PfkeyMessage m;
    m.header.type = SADB_REGISTER;
    m.header.satype = satype;
    async_request(std::move(m), std::move(handler), timeout);
}

void PfkeySocket::async_dump(uint8_t type, uint8_t satype, DumpHandler handler, std::chrono::milliseconds timeout) {
    auto op = std::make_shared<Impl::Op>();
    op->kind = Impl::Op::Kind::dump;
    op->message.header.type = type;
    op->message.header.satype = satype;
    op->on_dump = std::move(handler);
    op->timeout = timeout;
    impl_->submit(std::move(op));
}

void PfkeySocket::async_migrate(PfkeyMigrate m, MigrateHandler handler) {
    auto op = std::make_shared<Impl::Op>();
    op->kind = Impl::Op::Kind::migrate;
    op->message = to_message(m);
    op->migrate = std::move(m);
    op->on_migrate = std::move(handler);
    impl_->submit(std::move(op));
}

void PfkeySocket::async_drain(std::function<void()> handler) { impl_->async_drain(std::move(handler)); }

size_t PfkeySocket::outstanding() const { return impl_->outstanding(); }
const TransportStats& PfkeySocket::stats() const { return impl_->stats(); }
uint32_t PfkeySocket::pid() const { return impl_->pid(); }
int PfkeySocket::native_handle() const { return impl_->native_handle(); }

}  // namespace nemokey::pfkey
