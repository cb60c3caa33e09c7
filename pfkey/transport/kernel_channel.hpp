// Internal: the read side shared by the PF_KEY and XFRM netlink sockets.
//
// Nothing here blocks. The socket is non-blocking; drain() reads every
// datagram queued at that moment and hands each to the derived class.
// While the derived class wants input (a request waits for its answer, or
// an event handler listens) an async_wait(wait_read) is armed; otherwise it
// is cancelled, so io_context::run() returns once nothing is outstanding.
//
// Every arm is preceded by a drain in the same handler. Asio's epoll
// reactor is edge-triggered and an async_wait does not try a speculative
// read: data that became readable while no wait was armed raises no new
// edge, so it must be read before waiting again.
//
// Single-threaded: every call comes from the io_context's thread (or before
// it runs).
#pragma once

#include <boost/asio/generic/raw_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "pfkey/transport/transport_stats.hpp"

namespace nemokey::pfkey::detail {

// Events that answer no request: handed to the handler, or held until one
// is set, never dropped. The handler may replace itself while it runs.
template <class Event>
class EventDelivery {
public:
    using Handler = std::function<void(Event)>;

    void set(Handler h) { handler_ = std::move(h); }
    void clear() {
        handler_ = nullptr;
        held_.clear();
    }
    bool listening() const { return bool(handler_); }
    // `open`: the socket is not closed; `delivered` counts handed-over events.
    void deliver(Event ev, bool open, uint64_t& delivered) {
        if (!handler_) {
            held_.push_back(std::move(ev));
            return;
        }
        flush(open, delivered);
        call(std::move(ev), open, delivered);
    }
    void flush(bool open, uint64_t& delivered) {
        while (!held_.empty() && handler_ && open) {
            auto ev = std::move(held_.front());
            held_.pop_front();
            call(std::move(ev), open, delivered);
        }
    }

private:
    void call(Event ev, bool open, uint64_t& delivered) {
        if (!handler_ || !open) {
            held_.push_back(std::move(ev));
            return;
        }
        ++delivered;
        auto h = handler_;
        h(std::move(ev));
    }

    Handler handler_;
    std::deque<Event> held_;
};

// Derived provides:
//   void on_datagram(std::span<const uint8_t>)   one datagram, in arrival order
//   bool on_receive_error(boost::system::error_code)  true: keep reading
//   bool wants_input() const
template <class Derived>
class KernelChannel : public std::enable_shared_from_this<Derived> {
public:
    explicit KernelChannel(boost::asio::io_context& io) : io_(io), socket_(io), rxbuf_(kRxSize) {}

    const TransportStats& stats() const { return stats_; }

protected:
    static constexpr size_t kRxSize = 256 * 1024;

    // Reads, without blocking, everything the kernel has queued now.
    void drain() {
        while (!closed_) {
            boost::system::error_code ec;
            const size_t n = socket_.receive(boost::asio::buffer(rxbuf_), 0, ec);
            if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again) return;
            if (ec == boost::asio::error::interrupted) continue;
            if (ec) {
                if (!self().on_receive_error(ec)) return;
                continue;
            }
            ++stats_.datagrams_received;
            self().on_datagram(std::span<const uint8_t>(rxbuf_.data(), n));
        }
    }

    // Drain, then wait for more only if something wants it.
    void pump() {
        drain();
        update_wait();
    }

    void post_pump() {
        boost::asio::post(io_, [self = this->shared_from_this()] { self->pump(); });
    }

    void update_wait() {
        if (closed_) return;
        const bool want = self().wants_input();
        if (want && !waiting_) {
            waiting_ = true;
            const uint64_t gen = ++wait_gen_;
            socket_.async_wait(boost::asio::socket_base::wait_read,
                               [self = this->shared_from_this(), gen](const boost::system::error_code& ec) {
                                   self->on_readable(gen, ec);
                               });
        } else if (!want && waiting_) {
            waiting_ = false;
            ++wait_gen_;
            boost::system::error_code ignored;
            socket_.cancel(ignored);
        }
    }

    void close_socket() {
        if (closed_) return;
        closed_ = true;
        waiting_ = false;
        ++wait_gen_;
        boost::system::error_code ignored;
        socket_.close(ignored);
    }

    boost::asio::io_context& io_;
    boost::asio::generic::raw_protocol::socket socket_;
    TransportStats stats_;
    bool closed_ = false;

private:
    Derived& self() { return static_cast<Derived&>(*this); }

    void on_readable(uint64_t gen, const boost::system::error_code& ec) {
        if (gen != wait_gen_) return;  // cancelled (and perhaps armed again) since
        waiting_ = false;
        if (ec) {
            // A failed wait on an open socket would fail again at once: report it, stop reading.
            if (ec != boost::asio::error::operation_aborted && !closed_) self().on_receive_error(ec);
            return;
        }
        pump();
    }

    std::vector<uint8_t> rxbuf_;
    bool waiting_ = false;
    uint64_t wait_gen_ = 0;
};

}  // namespace nemokey::pfkey::detail
