#include "mobility/adapters/netlink/netlink_channel.hpp"

#include <sys/socket.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "mobility/adapters/netlink/rtnl_objects.hpp"

namespace nemokey::mobility::adapters::netlink {

namespace {

constexpr size_t receive_buffer = 256 * 1024;
// Room for the acks of a large batch and the bursts of notifications a
// home agent's own changes cause (SO_RCVBUFFORCE needs CAP_NET_ADMIN,
// which a daemon that changes the kernel has).
constexpr int socket_receive_buffer = 4 * 1024 * 1024;

boost::asio::generic::raw_protocol::endpoint kernel_endpoint() {
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    return {&sa, sizeof sa};
}

}  // namespace

NetlinkChannel::NetlinkChannel(boost::asio::io_context& io) : io_(io), socket_(io), buffer_(receive_buffer) {}

NetlinkChannel::~NetlinkChannel() {
    alive_.reset();
    boost::system::error_code ec;
    socket_.close(ec);
}

std::unique_ptr<NetlinkChannel> NetlinkChannel::open(boost::asio::io_context& io, int protocol,
                                                     const std::vector<uint32_t>& groups, int& error) {
    std::unique_ptr<NetlinkChannel> c(new NetlinkChannel(io));
    boost::system::error_code ec;
    c->socket_.open(boost::asio::generic::raw_protocol(AF_NETLINK, protocol), ec);
    if (ec) {
        error = ec.value();
        return nullptr;
    }
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    c->socket_.bind(boost::asio::generic::raw_protocol::endpoint(&sa, sizeof sa), ec);
    if (ec) {
        error = ec.value();
        return nullptr;
    }
    const int fd = c->socket_.native_handle();
    const int one = 1;
    // Extended acks carry the kernel's reason; capped acks do not echo the request.
    ::setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    ::setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &socket_receive_buffer, sizeof socket_receive_buffer) != 0)
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &socket_receive_buffer, sizeof socket_receive_buffer);
    sockaddr_nl bound{};
    socklen_t len = sizeof bound;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) != 0) {
        error = errno;
        return nullptr;
    }
    c->port_id_ = bound.nl_pid;
    c->seq_ = uint32_t(::time(nullptr));
    c->socket_.non_blocking(true, ec);
    for (uint32_t g : groups) {
        if (::setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof g) != 0) {
            error = errno;
            return nullptr;
        }
    }
    c->wait();
    return c;
}

void NetlinkChannel::on_unsolicited(MessageHandler handler, std::function<void()> overflow) {
    unsolicited_ = std::move(handler);
    overflow_ = std::move(overflow);
}

void NetlinkChannel::start(std::vector<Bytes> requests, bool dump, Done done) {
    auto x = std::make_shared<Exchange>();
    x->replies.resize(requests.size());
    x->outstanding = requests.size();
    x->dump = dump;
    x->done = std::move(done);
    if (requests.empty()) return finish(x);

    Bytes datagram;
    std::vector<uint32_t> seqs;
    for (size_t i = 0; i < requests.size(); ++i) {
        Bytes& r = requests[i];
        if (r.size() < NLMSG_HDRLEN) {
            x->replies[i].error = EINVAL;
            x->replies[i].detail = "request shorter than nlmsghdr";
            --x->outstanding;
            continue;
        }
        if (++seq_ == 0) ++seq_;  // notifications carry 0
        nlmsghdr h;
        std::memcpy(&h, r.data(), sizeof h);
        h.nlmsg_seq = seq_;
        h.nlmsg_pid = port_id_;
        std::memcpy(r.data(), &h, sizeof h);
        datagram.insert(datagram.end(), r.begin(), r.end());
        datagram.resize(NLMSG_ALIGN(datagram.size()), 0);
        pending_[seq_] = {x, i};
        seqs.push_back(seq_);
    }
    if (seqs.empty()) return finish(x);
    boost::system::error_code ec;
    socket_.send_to(boost::asio::buffer(datagram), kernel_endpoint(), 0, ec);
    ++sent_;
    if (!ec) {
        // The kernel handles a request datagram inside sendmsg: its answers
        // are queued already. Reading them now saves a turn of the event
        // loop per datagram (a handover's batch is on the critical path);
        // the completion is still posted (finish), never run in here.
        read_available();
        return;
    }
    for (uint32_t s : seqs) {
        auto& [ex, index] = pending_[s];
        ex->replies[index].error = ec.value();
        ex->replies[index].detail = "sendmsg: " + ec.message();
        pending_.erase(s);
    }
    x->outstanding = 0;
    finish(x);
}

void NetlinkChannel::finish(const std::shared_ptr<Exchange>& x) {
    // Never inside the caller: the completion runs from the io_context.
    boost::asio::post(io_, [alive = std::weak_ptr<bool>(alive_), done = std::move(x->done),
                            replies = std::move(x->replies)]() mutable {
        if (alive.lock()) done(std::move(replies));
    });
}

void NetlinkChannel::wait() {
    socket_.async_wait(boost::asio::socket_base::wait_read,
                       [this, alive = std::weak_ptr<bool>(alive_)](boost::system::error_code ec) {
                           if (!alive.lock() || ec) return;
                           read_available();
                           if (alive.lock()) wait();
                       });
}

void NetlinkChannel::drain() { read_available(); }

void NetlinkChannel::read_available() {
    const std::weak_ptr<bool> alive = alive_;
    const int fd = socket_.native_handle();
    for (;;) {
        sockaddr_nl from{};
        iovec iov{buffer_.data(), buffer_.size()};
        msghdr msg{};
        msg.msg_name = &from;
        msg.msg_namelen = sizeof from;
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        const ssize_t n = ::recvmsg(fd, &msg, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != ENOBUFS) return;  // EAGAIN: nothing more queued
            // The kernel dropped messages: answers to requests of ours may be
            // among them, so those fail rather than wait for ever.
            auto lost = std::move(pending_);
            pending_.clear();
            for (auto& [seq, entry] : lost) {
                auto& [x, index] = entry;
                x->replies[index].error = ENOBUFS;
                x->replies[index].detail = "answers lost: netlink receive buffer overflow";
                if (--x->outstanding == 0) finish(x);
            }
            if (overflow_) overflow_();
            if (!alive.lock()) return;
            continue;
        }
        if (from.nl_pid != 0) continue;  // only the kernel speaks to us
        int len = int(n);
        if (msg.msg_flags & MSG_TRUNC) len = int(buffer_.size());
        for (auto* h = reinterpret_cast<const nlmsghdr*>(buffer_.data()); NLMSG_OK(h, len);
             h = NLMSG_NEXT(h, len)) {
            handle(*h);
            if (!alive.lock()) return;
        }
    }
}

void NetlinkChannel::handle(const nlmsghdr& h) {
    auto it = pending_.find(h.nlmsg_seq);
    if (it == pending_.end() || h.nlmsg_pid != port_id_) {
        if (unsolicited_) unsolicited_(h);
        return;
    }
    auto [x, index] = it->second;
    Reply& r = x->replies[index];
    bool last = false;
    if (h.nlmsg_type == NLMSG_ERROR) {
        if (auto ack = ack_from(&h)) {
            r.error = -ack->error;
            r.detail = ack->message;
        } else {
            r.error = EBADMSG;
            r.detail = "truncated NLMSG_ERROR";
        }
        last = true;
    } else if (h.nlmsg_type == NLMSG_DONE) {
        if (!x->dump) return;
        int32_t error = 0;
        if (h.nlmsg_len >= NLMSG_HDRLEN + sizeof error) std::memcpy(&error, NLMSG_DATA(&h), sizeof error);
        if (error < 0) r.error = -error;
        last = true;
    } else {
        if (h.nlmsg_flags & NLM_F_DUMP_INTR) r.interrupted = true;
        const auto* p = reinterpret_cast<const uint8_t*>(&h);
        r.messages.emplace_back(p, p + h.nlmsg_len);
    }
    if (!last) return;
    pending_.erase(it);
    if (--x->outstanding == 0) finish(x);
}

}  // namespace nemokey::mobility::adapters::netlink
