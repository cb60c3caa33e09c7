// Driving the asynchronous kernel sockets from sequential test code: run
// the io_context until a handler has run, with an asio timer as the only
// limit (no sleeps, no polling loops). Shared by the host tests and the
// kernel-VM driver.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>

namespace nemokey::pfkey::testing {

// Runs io's handlers until done() holds or `limit` has passed on a
// steady_timer. Returns done().
template <class Done>
bool run_until(boost::asio::io_context& io, Done done,
               std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    io.restart();
    auto expired = std::make_shared<bool>(false);
    auto finished = std::make_shared<bool>(false);
    boost::asio::steady_timer timer(io, limit);
    timer.async_wait([expired, finished](const boost::system::error_code& ec) {
        if (!ec) *expired = true;
        *finished = true;
    });
    while (!done() && !*expired && io.run_one()) {
    }
    timer.cancel();
    // The timer's handler holds no reference to this frame; let it finish
    // so the io_context holds no work of ours.
    while (!*finished && io.run_one()) {
    }
    return done();
}

// Starts an asynchronous operation whose handler takes a T, runs io until
// that handler ran; nullopt if it did not within `limit`.
template <class T, class Start>
std::optional<T> await(boost::asio::io_context& io, Start start,
                       std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    auto out = std::make_shared<std::optional<T>>();
    start([out](T v) { out->emplace(std::move(v)); });
    run_until(io, [&] { return out->has_value(); }, limit);
    return std::move(*out);
}

// A socket's async_drain as a blocking step for tests: everything the
// kernel has queued for it by now is delivered. True if the barrier ran.
template <class Socket>
bool drained(boost::asio::io_context& io, Socket& s,
             std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    auto done = std::make_shared<bool>(false);
    s.async_drain([done] { *done = true; });
    return run_until(io, [&] { return *done; }, limit);
}

}  // namespace nemokey::pfkey::testing
