// Errors as values, one template for every area: a value or an error.
// g++ 12 has no std::expected in C++20, so this is a small stand-in with
// the same spelling where it matters (ok/bool, value, error, *, ->).
//
// Each area keeps its own error type and names the result after it:
//   mobility::mh::Result<T>  = net::Result<T, mh::DecodeError>
//   pfkey::Result<T, E>      = net::Result<T, E>, E defaulting to pfkey::CodecError
//   certs::Result<T>         = net::Result<T, certs::Error>
//   conf::ParseResult        = net::Result<conf::Model, conf::ConfigErrors>
// It lives beside the addresses because nemokey_net is the one library
// every area already uses.
#pragma once

#include <utility>
#include <variant>

namespace nemokey::net {

template <class T, class E>
class [[nodiscard]] Result {
public:
    using value_type = T;
    using error_type = E;

    // in_place_index keeps the two constructors apart even when T and E
    // convert to each other.
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    Result(E error) : v_(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    // Moves the value out (the result keeps a moved-from value).
    T take() { return std::move(std::get<0>(v_)); }
    const E& error() const { return std::get<1>(v_); }

    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

private:
    std::variant<T, E> v_;
};

// The value of a result that has nothing to return but success.
struct Ok {
    bool operator==(const Ok&) const = default;
};

}  // namespace nemokey::net
