// The state machines' timers (ArmTimer / CancelTimer actions) on the
// daemon's Boost.Asio loop: one steady_timer per armed key, re-arming
// replaces, a fired timer calls back with its key. Nothing polls.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "mobility/core/binding/time.hpp"

namespace nemokey::mobility::daemon {

// "now" on the clock the state machines run on (monotonic, milliseconds).
inline binding::TimePoint monotonic_now() {
    return std::chrono::time_point_cast<binding::Duration>(std::chrono::steady_clock::now());
}

template <class Key, class Hash = std::hash<Key>>
class TimerTable {
public:
    using Fired = std::function<void(const Key&)>;
    TimerTable(boost::asio::io_context& io, Fired fired) : io_(io), fired_(std::move(fired)) {}

    void arm(const Key& key, binding::TimePoint at) {
        auto& slot = timers_[key];
        if (slot) slot->cancel();
        slot = std::make_shared<boost::asio::steady_timer>(io_, at);
        std::weak_ptr<boost::asio::steady_timer> weak = slot;
        slot->async_wait([this, key, weak](const boost::system::error_code& ec) {
            if (ec) return;
            auto it = timers_.find(key);
            if (it == timers_.end() || it->second != weak.lock()) return;   // replaced meanwhile
            timers_.erase(it);
            fired_(key);
        });
    }
    void cancel(const Key& key) {
        auto it = timers_.find(key);
        if (it == timers_.end()) return;
        it->second->cancel();
        timers_.erase(it);
    }
    void cancel_all() {
        for (auto& [k, t] : timers_) t->cancel();
        timers_.clear();
    }
    size_t size() const { return timers_.size(); }

private:
    boost::asio::io_context& io_;
    Fired fired_;
    std::unordered_map<Key, std::shared_ptr<boost::asio::steady_timer>, Hash> timers_;
};

}  // namespace nemokey::mobility::daemon
