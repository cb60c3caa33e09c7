// Time as the binding state machines see it: injected, never read from the
// system. The daemon passes a monotonic "now" with every event; tests pass a
// virtual clock's value.
#pragma once

#include <chrono>
#include <cstdint>

namespace nemokey::mobility::binding {

using Duration = std::chrono::milliseconds;
// Monotonic time; only differences matter, the epoch is whatever the caller uses.
using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;

// Where the daemon reads "now" from; the state machines themselves take a
// TimePoint argument and never call this.
class Clock {
public:
    virtual ~Clock() = default;
    virtual TimePoint now() const = 0;
};

// A clock that moves only when told to (tests, replays, simulations).
class VirtualClock final : public Clock {
public:
    explicit VirtualClock(TimePoint start = TimePoint{}) : now_(start) {}
    TimePoint now() const override { return now_; }
    void advance(Duration d) { now_ += d; }
    void set(TimePoint t) { now_ = t; }

private:
    TimePoint now_;
};

// Protocol constants (RFC 6275 sec. 12) and the default of sec. 13.
inline constexpr Duration initial_bindack_timeout{1000};             // INITIAL_BINDACK_TIMEOUT
inline constexpr Duration max_bindack_timeout{32000};                // MAX_BINDACK_TIMEOUT
inline constexpr Duration initial_bindack_timeout_first_reg{1500};   // InitialBindackTimeoutFirstReg
// Largest lifetime a BU or BA can carry: 0xffff units of 4 s (RFC 6275 sec. 6.1.7).
inline constexpr std::chrono::seconds max_lifetime_on_wire{262140};

}  // namespace nemokey::mobility::binding
