// Errors as values for the pfkey area: every codec failure names the
// message, the extension (or netlink attribute), the byte offset and what
// was wrong, so a log line alone is enough to find the bad byte.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <variant>

namespace nemokey::pfkey {

struct CodecError {
    std::string message;    // e.g. "SADB_X_MIGRATE", "XFRM_MSG_MIGRATE"
    std::string extension;  // e.g. "SADB_X_EXT_KMADDRESS"; empty for the base header
    size_t offset = 0;      // byte offset from the start of the buffer
    std::string what;       // one sentence, quoting the bad value

    std::string to_string() const {
        std::string s = message.empty() ? std::string("message") : message;
        if (!extension.empty()) s += " " + extension;
        s += " at offset " + std::to_string(offset) + ": " + what;
        return s;
    }
};

// A small expected<T, E>: g++ 12 has no std::expected in C++20.
template <class T, class E = CodecError>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    Result(E error) : v_(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    const E& error() const { return std::get<1>(v_); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

private:
    std::variant<T, E> v_;
};

struct Ok {
    bool operator==(const Ok&) const = default;
};

}  // namespace nemokey::pfkey
