// A PF_KEY v2 socket (RFC 2367 sec. 2, socket(PF_KEY, SOCK_RAW, PF_KEY_V2))
// on Boost.Asio, fully asynchronous: requests, dumps and SADB_X_MIGRATE
// complete through handlers run by the io_context, several may be
// outstanding, and the kernel's other messages (ACQUIRE, EXPIRE, MIGRATE
// announcements, other sockets' SA and policy changes) go to the event
// handler. Nothing waits: no call blocks, no fixed delay.
//
// How answers are found (Linux net/key/af_key.c, read for 6.1):
// - pfkey_sendmsg runs the request to its end before it returns
//   (pfkey_process under xfrm_cfg_mutex); the reply, an error reply
//   (pfkey_error: the request's header with sadb_msg_errno set), or the
//   broadcasts the request causes are queued on the receiving sockets
//   before sendmsg returns. So right after each send this socket reads what
//   is queued (non-blocking) and most answers are found there.
// - A reply carries the request's sadb_msg_seq and sadb_msg_pid, and is
//   matched on those (its type follows the kernel event it reports).
//   sadb_msg_pid is the process id, the same for every PF_KEY socket of the
//   process, so sequence numbers are unique per process, never 0 (the
//   kernel's own messages have seq 0).
// - Dump answers carry the dump's type and our pid with seq 1, 2, ...; the
//   last has seq 0 (RFC 2367 sec. 3.1.11). Linux runs one dump per socket
//   at a time (EBUSY otherwise), so dumps are sent one after another.
// - SADB_X_MIGRATE answers a failure only; success is silence, plus the
//   announcement pfkey_send_migrate broadcasts (BROADCAST_ALL, seq 0, pid
//   0) to every PF_KEY socket of the namespace, this one included, from
//   inside xfrm_migrate. Both are queued before sendmsg returns, so the
//   read right after the send decides at once: an error reply is the
//   failure, else success. `announced` tells whether the announcement of
//   this very migration was among what was read. It is missing when the
//   kernel routed it elsewhere (before Debian's 6.1.176 a MIGRATE issued in
//   a namespace was announced in init_net only) or when the receive queue
//   was full; a full queue would have dropped an error reply as well, and
//   PF_KEY reports no overrun, so announced=false means "not confirmed".
// - A promiscuous socket (SADB_X_PROMISC) also gets a copy of each request
//   it sends, before the answer; that copy is skipped as an answer and
//   delivered as an event.
// Other requests get a timer (a steady_timer; on expiry the handler gets a
// timeout error), a safety net for answers that never come.
//
// Events are never dropped by this class: those read while no event
// handler is set are held and delivered once one is set. Everything runs
// on one io_context thread; the class is not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "pfkey/codec/pfkey_migrate.hpp"
#include "pfkey/transport/transport_error.hpp"
#include "pfkey/transport/transport_stats.hpp"

namespace boost::asio {
class io_context;
}

namespace nemokey::pfkey {

// A message the kernel sent that answers no request of this socket.
struct PfkeyEvent {
    Bytes datagram;                         // as received; empty for a socket error
    TransportResult<PfkeyMessage> message;  // decoded, or the codec or socket error
};

struct MigrateAnswer {
    // The kernel's own SADB_X_MIGRATE for this migration reached this
    // socket (it is also delivered to the event handler).
    bool announced = false;
};

class PfkeySocket {
public:
    static constexpr std::chrono::milliseconds kDefaultTimeout{2000};

    using ReplyHandler = std::function<void(TransportResult<PfkeyMessage>)>;
    using DumpHandler = std::function<void(TransportResult<std::vector<PfkeyMessage>>)>;
    using MigrateHandler = std::function<void(TransportResult<MigrateAnswer>)>;
    using EventHandler = std::function<void(PfkeyEvent)>;

    // Fails with errno EAFNOSUPPORT on kernels without CONFIG_NET_KEY.
    static TransportResult<std::unique_ptr<PfkeySocket>> open(boost::asio::io_context& io);
    // Outstanding handlers are then called with ECANCELED.
    ~PfkeySocket();
    PfkeySocket(const PfkeySocket&) = delete;
    PfkeySocket& operator=(const PfkeySocket&) = delete;

    // Receives every message that answers no request, held ones first.
    // While a handler is set the socket keeps reading (io_context::run()
    // does not return); an empty handler stops that.
    void set_event_handler(EventHandler handler);

    // Sends m (sadb_msg_pid and seq are set here) and calls `handler` with
    // the kernel's reply of the same seq and pid; a reply with
    // sadb_msg_errno set is a kernel TransportError.
    void async_request(PfkeyMessage m, ReplyHandler handler,
                       std::chrono::milliseconds timeout = kDefaultTimeout);
    // SADB_REGISTER for an SA type (RFC 2367 sec. 2.3.5 / 3.1.2): afterwards
    // this socket receives ACQUIRE and EXPIRE for it.
    void async_register(uint8_t satype, ReplyHandler handler,
                        std::chrono::milliseconds timeout = kDefaultTimeout);
    // SADB_DUMP or SADB_X_SPDDUMP: every answer until the one with seq 0
    // (ENOENT, an empty table, is an empty list).
    void async_dump(uint8_t type, uint8_t satype, DumpHandler handler,
                    std::chrono::milliseconds timeout = kDefaultTimeout);
    // SADB_X_MIGRATE (draft-sugimoto-mip6-pfkey-migrate sec. 4), decided by
    // the read right after the send; no timer.
    void async_migrate(PfkeyMigrate m, MigrateHandler handler);

    // A barrier: reads everything the kernel has queued for this socket by
    // now (answers complete, events are delivered or held), then calls
    // `handler`, from the io_context. Since the kernel queues a request's
    // answers and broadcasts before its sendmsg returns, draining a
    // listener after a request completed shows every event it caused.
    void async_drain(std::function<void()> handler);

    // Requests sent or queued whose handler has not run yet.
    size_t outstanding() const;
    const TransportStats& stats() const;
    uint32_t pid() const;
    int native_handle() const;

private:
    class Impl;
    explicit PfkeySocket(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace nemokey::pfkey
