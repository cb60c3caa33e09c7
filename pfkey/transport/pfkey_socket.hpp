// A PF_KEY v2 socket (RFC 2367 sec. 2, socket(PF_KEY, SOCK_RAW,
// PF_KEY_V2)) on Boost.Asio: register, send, request/reply, dump, and the
// kernel's broadcasts (ACQUIRE, EXPIRE, MIGRATE, ...). Messages that
// arrive while a request waits for its reply are queued, never lost.
#pragma once

#include <boost/asio/generic/raw_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "pfkey/codec/pfkey_migrate.hpp"
#include "pfkey/transport/transport_error.hpp"

namespace nemokey::pfkey {

class PfkeySocket {
public:
    static constexpr std::chrono::milliseconds kDefaultTimeout{2000};

    // Fails with errno EAFNOSUPPORT on kernels without CONFIG_NET_KEY.
    static TransportResult<std::unique_ptr<PfkeySocket>> open(boost::asio::io_context& io);

    // Sends as is (sadb_msg_pid defaults to this process, seq to a fresh one).
    TransportResult<Ok> send(PfkeyMessage m);
    // Sends and waits for the kernel's reply of the same type, seq and pid;
    // a reply with sadb_msg_errno set becomes a kernel TransportError.
    TransportResult<PfkeyMessage> request(PfkeyMessage m,
                                          std::chrono::milliseconds timeout = kDefaultTimeout);
    // SADB_REGISTER for an SA type (RFC 2367 sec. 2.3.5 / 3.1.2): afterwards
    // this socket receives ACQUIRE and EXPIRE for it.
    TransportResult<PfkeyMessage> register_satype(uint8_t satype);
    // SADB_DUMP or SADB_X_SPDDUMP: every answer until the one with seq 0.
    TransportResult<std::vector<PfkeyMessage>> dump(uint8_t type, uint8_t satype,
                                                    std::chrono::milliseconds timeout = kDefaultTimeout);
    // SADB_X_MIGRATE. Linux answers only a failure (sadb_msg_errno set, the
    // request's seq and pid); success is silence, plus the broadcast of the
    // MIGRATE it performed (seq 0), which is queued for receive() like any
    // other message. So this waits `timeout` for an error, then returns Ok.
    TransportResult<Ok> migrate(PfkeyMigrate m,
                                std::chrono::milliseconds timeout = std::chrono::milliseconds(300));

    TransportResult<PfkeyMessage> receive(std::chrono::milliseconds timeout = kDefaultTimeout);
    TransportResult<Bytes> receive_bytes(std::chrono::milliseconds timeout);
    void async_receive_bytes(std::function<void(TransportResult<Bytes>)> handler);

    int native_handle() { return socket_.native_handle(); }

private:
    explicit PfkeySocket(boost::asio::io_context& io);
    TransportResult<PfkeyMessage> wait_for(uint8_t type, uint32_t seq, uint32_t pid,
                                           std::chrono::milliseconds timeout);

    boost::asio::generic::raw_protocol::socket socket_;
    uint32_t seq_ = 0;
    uint32_t pid_ = 0;
    std::deque<PfkeyMessage> pending_;
    std::vector<uint8_t> rxbuf_;
};

}  // namespace nemokey::pfkey
