// An XFRM netlink socket on Boost.Asio: requests with acks (kernel errors
// come back as TransportError with the extended-ack text), dumps, and
// multicast events (XFRMNLGRP_MIGRATE, _ACQUIRE, _EXPIRE, _MAPPING, ...).
// Events that arrive while a request waits for its ack are queued, never lost.
#pragma once

#include <boost/asio/generic/raw_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "pfkey/transport/transport_error.hpp"
#include "pfkey/xfrm/xfrm_message.hpp"

namespace nemokey::pfkey {

class XfrmSocket {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::chrono::milliseconds kDefaultTimeout{2000};

    // Opens NETLINK_XFRM in the caller's network namespace and joins the
    // given XFRMNLGRP_* groups.
    static TransportResult<std::unique_ptr<XfrmSocket>> open(boost::asio::io_context& io,
                                                             const std::vector<uint32_t>& groups = {});

    TransportResult<Ok> subscribe(uint32_t group);

    // Sends m with NLM_F_REQUEST | NLM_F_ACK and a fresh sequence number;
    // returns the kernel's answers (the state for XFRM_MSG_GETSA, the policy
    // for XFRM_MSG_GETPOLICY; nothing for changes, whose events are queued
    // for receive()) once the ack arrives, or the kernel's error.
    TransportResult<std::vector<xfrm::XfrmMessage>> request(
        xfrm::XfrmMessage m, std::chrono::milliseconds timeout = kDefaultTimeout);
    // NLM_F_DUMP of XFRM_MSG_GETSA or XFRM_MSG_GETPOLICY, until NLMSG_DONE.
    TransportResult<std::vector<xfrm::XfrmMessage>> dump(
        uint16_t type, std::chrono::milliseconds timeout = kDefaultTimeout);

    // The next event (queued ones first).
    TransportResult<xfrm::XfrmMessage> receive(std::chrono::milliseconds timeout = kDefaultTimeout);
    // One raw datagram, for monitors and captures.
    TransportResult<xfrm::Bytes> receive_bytes(std::chrono::milliseconds timeout);
    void async_receive_bytes(std::function<void(TransportResult<xfrm::Bytes>)> handler);

    uint32_t port_id() const { return port_id_; }
    int native_handle() { return socket_.native_handle(); }

private:
    explicit XfrmSocket(boost::asio::io_context& io);
    TransportResult<Ok> send(const xfrm::Bytes& bytes, const std::string& op);

    boost::asio::generic::raw_protocol::socket socket_;
    uint32_t port_id_ = 0;
    uint32_t seq_ = 0;
    std::deque<xfrm::XfrmMessage> pending_;
    std::vector<uint8_t> rxbuf_;
};

}  // namespace nemokey::pfkey
