// One netlink socket on Boost.Asio (a generic raw_protocol socket, as
// pfkey/transport has, owned here): several requests in one datagram
// (one sendmsg), answers matched to them by sequence number; dumps; and
// unsolicited messages (multicast notifications) handed to a callback.
// Nothing blocks: completions run later from the io_context, never inside
// the call that started them. Internal to the netlink backend.
#pragma once

#include <linux/netlink.h>

#include <boost/asio/async_result.hpp>
#include <boost/asio/generic/raw_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace nemokey::mobility::adapters::netlink {

using Bytes = std::vector<uint8_t>;

class NetlinkChannel {
public:
    // What came back for one request: its ack (error 0) or error with the
    // extended-ack text, and the other messages of its sequence number (a
    // GET's answer, a dump's records).
    struct Reply {
        int error = 0;              // errno (positive), 0 when acked
        std::string detail;         // NLMSGERR_ATTR_MSG, or the local reason
        std::vector<Bytes> messages;
        bool interrupted = false;   // a dump record had NLM_F_DUMP_INTR
    };
    using Replies = std::vector<Reply>;
    using MessageHandler = std::function<void(const nlmsghdr&)>;

    // Opens NETLINK_<protocol> in the caller's namespace and joins `groups`
    // (extended and capped acks on); nullptr and `error` (errno) on failure.
    static std::unique_ptr<NetlinkChannel> open(boost::asio::io_context& io, int protocol,
                                                const std::vector<uint32_t>& groups, int& error);
    ~NetlinkChannel();

    // Sends `requests` (whole netlink messages, NLM_F_ACK set) in one
    // datagram, each with a fresh sequence number, and completes with one
    // Reply per request once every ack is in.
    template <class Token>
    auto async_transact(std::vector<Bytes> requests, Token&& token) {
        return boost::asio::async_initiate<Token, void(Replies)>(
            [this](auto handler, std::vector<Bytes> requests) {
                auto h = std::make_shared<decltype(handler)>(std::move(handler));
                start(std::move(requests), false, [h](Replies r) { (*h)(std::move(r)); });
            },
            token, std::move(requests));
    }
    // Sends one NLM_F_DUMP request; completes at NLMSG_DONE with the records.
    template <class Token>
    auto async_dump(Bytes request, Token&& token) {
        return boost::asio::async_initiate<Token, void(Replies)>(
            [this](auto handler, Bytes request) {
                auto h = std::make_shared<decltype(handler)>(std::move(handler));
                std::vector<Bytes> one;
                one.push_back(std::move(request));
                start(std::move(one), true, [h](Replies r) { (*h)(std::move(r)); });
            },
            token, std::move(request));
    }

    // Messages that answer no request of ours (notifications); `overflow`
    // runs when the kernel dropped some (ENOBUFS on receive).
    void on_unsolicited(MessageHandler handler, std::function<void()> overflow);
    // Reads and handles every datagram queued now, without waiting.
    void drain();

    uint64_t datagrams_sent() const { return sent_; }
    uint32_t port_id() const { return port_id_; }

private:
    using Done = std::function<void(Replies)>;
    struct Exchange {
        Replies replies;
        size_t outstanding = 0;
        bool dump = false;
        Done done;
    };

    explicit NetlinkChannel(boost::asio::io_context& io);
    void start(std::vector<Bytes> requests, bool dump, Done done);
    void finish(const std::shared_ptr<Exchange>& x);
    void wait();
    void read_available();
    void handle(const nlmsghdr& h);

    boost::asio::io_context& io_;
    boost::asio::generic::raw_protocol::socket socket_;
    uint32_t port_id_ = 0;
    uint32_t seq_ = 0;
    uint64_t sent_ = 0;
    std::map<uint32_t, std::pair<std::shared_ptr<Exchange>, size_t>> pending_;  // seq -> exchange, index
    MessageHandler unsolicited_;
    std::function<void()> overflow_;
    std::vector<uint8_t> buffer_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace nemokey::mobility::adapters::netlink
