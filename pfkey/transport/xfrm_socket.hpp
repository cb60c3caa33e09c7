// An XFRM netlink socket on Boost.Asio, fully asynchronous: requests with
// acks (kernel errors come back as TransportError with the extended-ack
// text), batches of requests in one datagram, dumps, and multicast events
// (XFRMNLGRP_MIGRATE, _ACQUIRE, _EXPIRE, _MAPPING, ...) through an event
// handler. Nothing blocks and nothing waits a fixed time.
//
// How answers are found (Linux net/netlink/af_netlink.c, xfrm_user.c):
// - Every request carries NLM_F_REQUEST | NLM_F_ACK, a fresh nlmsg_seq and
//   this socket's port id; its ack (NLMSG_ERROR, error 0 or -errno) and any
//   GET answer carry the same seq and port id.
// - netlink_unicast_kernel hands the datagram to xfrm_netlink_rcv inside
//   sendmsg, which runs netlink_rcv_skb over every nlmsghdr of the datagram
//   under xfrm_cfg_mutex, acking each (NLM_F_ACK) whatever the others
//   gave. So the acks of a batch come in its order and, like PF_KEY's
//   answers, are queued before sendmsg returns; the socket reads right
//   after each send and most requests complete there.
// - Events caused by a request carry its seq and port id too (xfrm_user.c
//   sets km_event.seq/portid from the request), so only GET-style
//   requests take non-ack messages as answers; everything else is an event.
// - A dump's answers carry its seq and NLM_F_MULTI and end with
//   NLMSG_DONE; the kernel runs one dump per socket at a time (EBUSY), so
//   dumps are sent one after another.
// - When the receive queue overflows, the kernel drops messages and the
//   next recvmsg fails with ENOBUFS: that is delivered to the event handler
//   as a socket error (events were lost: re-read the state). A request
//   whose ack was dropped fails by its timer (a steady_timer, not a wait).
//
// Events are never dropped by this class: those read while no event handler
// is set are held and delivered once one is set. Everything runs on one
// io_context thread; the class is not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "pfkey/transport/transport_error.hpp"
#include "pfkey/transport/transport_stats.hpp"
#include "pfkey/xfrm/xfrm_message.hpp"

namespace boost::asio {
class io_context;
}

namespace nemokey::pfkey {

// One netlink message that answers no request of this socket.
struct XfrmEvent {
    xfrm::Bytes bytes;                            // the message's own bytes (the whole
                                                  // datagram if it did not decode);
                                                  // empty for a socket error
    TransportResult<xfrm::XfrmMessage> message;  // decoded, or the codec or socket error
};

class XfrmSocket {
public:
    static constexpr std::chrono::milliseconds kDefaultTimeout{2000};

    // The kernel's answers to one request: the state for XFRM_MSG_GETSA,
    // the policy for XFRM_MSG_GETPOLICY, nothing for changes.
    using Answers = std::vector<xfrm::XfrmMessage>;
    using RequestHandler = std::function<void(TransportResult<Answers>)>;
    using BatchHandler = std::function<void(std::vector<TransportResult<Answers>>)>;
    using EventHandler = std::function<void(XfrmEvent)>;

    // Opens NETLINK_XFRM in the caller's network namespace and joins the
    // given XFRMNLGRP_* groups.
    static TransportResult<std::unique_ptr<XfrmSocket>> open(boost::asio::io_context& io,
                                                             const std::vector<uint32_t>& groups = {});
    // Outstanding handlers are then called with ECANCELED.
    ~XfrmSocket();
    XfrmSocket(const XfrmSocket&) = delete;
    XfrmSocket& operator=(const XfrmSocket&) = delete;

    TransportResult<Ok> subscribe(uint32_t group);

    // Receives every message that answers no request, held ones first.
    // While a handler is set the socket keeps reading (io_context::run()
    // does not return); an empty handler stops that.
    void set_event_handler(EventHandler handler);

    // Sends m with NLM_F_REQUEST | NLM_F_ACK and a fresh sequence number.
    void async_request(xfrm::XfrmMessage m, RequestHandler handler,
                       std::chrono::milliseconds timeout = kDefaultTimeout);
    // Several requests in one datagram (one sendmsg), each with its own
    // seq and NLM_F_ACK; `handler` gets one result per request, in order.
    // Dump requests cannot be batched (the kernel answers them after the
    // batch, without an ack).
    void async_request_batch(std::vector<xfrm::XfrmMessage> batch, BatchHandler handler,
                             std::chrono::milliseconds timeout = kDefaultTimeout);
    // NLM_F_DUMP of XFRM_MSG_GETSA or XFRM_MSG_GETPOLICY, until NLMSG_DONE.
    void async_dump(uint16_t type, RequestHandler handler,
                    std::chrono::milliseconds timeout = kDefaultTimeout);

    // A barrier: reads everything the kernel has queued for this socket by
    // now (answers complete, events are delivered or held), then calls
    // `handler`, from the io_context. Since the kernel queues a request's
    // answers and broadcasts before its sendmsg returns, draining a
    // listener after a request completed shows every event it caused.
    void async_drain(std::function<void()> handler);

    // Requests sent or queued whose handler has not run yet.
    size_t outstanding() const;
    const TransportStats& stats() const;
    uint32_t port_id() const;
    int native_handle() const;

private:
    class Impl;
    explicit XfrmSocket(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace nemokey::pfkey
