// Helpers shared by the binding state-machine tests.
#pragma once

#include <ostream>

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

#include "mobility/core/binding/actions.hpp"

namespace nemokey::mobility::binding::testing {

inline Ipv6Address addr(std::string_view text) {
    auto a = Ipv6Address::parse(text);
    EXPECT_TRUE(a.has_value()) << "bad test address '" << text << "'";
    return a.value_or(Ipv6Address{});
}

inline net::Prefix prefix(std::string_view text) {
    auto p = net::Prefix::parse(text);
    EXPECT_TRUE(p.has_value()) << "bad test prefix '" << text << "'";
    return p.value_or(net::Prefix{});
}

template <class T>
std::vector<T> all_of(const Actions& actions) {
    std::vector<T> out;
    for (const auto& a : actions)
        if (const T* p = std::get_if<T>(&a)) out.push_back(*p);
    return out;
}

template <class T>
size_t count_of(const Actions& actions) {
    return all_of<T>(actions).size();
}

// The only action of type T; fails the test when there is not exactly one.
template <class T>
T only(const Actions& actions) {
    auto v = all_of<T>(actions);
    EXPECT_EQ(v.size(), 1u) << "expected exactly one action of the type";
    return v.empty() ? T{} : v.front();
}

// Index of the first action of type T, or actions.size().
template <class T>
size_t index_of(const Actions& actions) {
    for (size_t i = 0; i < actions.size(); ++i)
        if (std::holds_alternative<T>(actions[i])) return i;
    return actions.size();
}

inline TimePoint at_ms(int64_t ms) { return TimePoint{Duration{ms}}; }

// Plays the daemon's part for kernel work: every CommitKernelState and every
// Migrate with an operation id gets its KernelOutcome (ok or not) at once,
// and what the state machine does next is appended to the actions.
template <class Machine>
Actions settle(Machine& m, Actions out, TimePoint now, bool ok = true) {
    for (size_t i = 0; i < out.size(); ++i) {
        uint64_t op = 0;
        if (const auto* c = std::get_if<CommitKernelState>(&out[i])) op = c->operation;
        if (const auto* g = std::get_if<Migrate>(&out[i])) op = g->operation;
        if (op == 0) continue;
        Actions next = m.handle(KernelOutcome{op, ok}, now);
        for (auto& a : next) out.push_back(std::move(a));
    }
    return out;
}

}  // namespace nemokey::mobility::binding::testing

// Parameterised tests print a status as its number, not as raw bytes.
namespace nemokey::mobility::mh {
inline void PrintTo(BindingAckStatus status, std::ostream* os) {
    *os << "status " << static_cast<int>(status);
}
}  // namespace nemokey::mobility::mh
