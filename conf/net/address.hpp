// IP addresses and prefixes shared by every area: plain values, no I/O.
// Parsing and formatting follow inet_pton/inet_ntop (RFC 5952 text form).
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace nemokey::net {

struct Ipv6Address {
    std::array<uint8_t, 16> bytes{};

    static std::optional<Ipv6Address> parse(std::string_view text);
    std::string to_string() const;
    bool is_unspecified() const;
    bool is_link_local() const;  // fe80::/10
    bool is_multicast() const;   // ff00::/8
    auto operator<=>(const Ipv6Address&) const = default;
};

struct Ipv4Address {
    std::array<uint8_t, 4> bytes{};

    static std::optional<Ipv4Address> parse(std::string_view text);
    std::string to_string() const;
    uint32_t to_host_order() const;
    auto operator<=>(const Ipv4Address&) const = default;
};

// Either family; std::monostate is not allowed, an address always has one.
using IpAddress = std::variant<Ipv6Address, Ipv4Address>;

std::optional<IpAddress> parse_ip_address(std::string_view text);
std::string to_string(const IpAddress& address);
inline bool is_v6(const IpAddress& a) { return std::holds_alternative<Ipv6Address>(a); }

// An address with a prefix length; bits past the length are kept as given
// (a home address with its /64 is a valid Prefix value), normalized() clears them.
struct Prefix {
    IpAddress address{Ipv6Address{}};
    uint8_t length = 0;

    // "2001:db8::/64" or "192.0.2.0/24"; a bare address means a host prefix.
    static std::optional<Prefix> parse(std::string_view text);
    std::string to_string() const;
    uint8_t max_length() const { return is_v6(address) ? 128 : 32; }
    Prefix normalized() const;
    bool contains(const IpAddress& a) const;
    bool contains(const Prefix& p) const;
    bool overlaps(const Prefix& p) const;
    auto operator<=>(const Prefix&) const = default;
};

}  // namespace nemokey::net

// The one hash of an IPv6 address (binding cache, timers, indexes). Both
// 64-bit halves go through multiply-xorshift rounds, so addresses that differ
// only in the interface identifier (one /64 of home addresses) or only in
// the prefix spread over every output bit; two multiplications instead of
// FNV-1a's sixteen.
template <>
struct std::hash<nemokey::net::Ipv6Address> {
    size_t operator()(const nemokey::net::Ipv6Address& a) const noexcept {
        uint64_t hi, lo;
        std::memcpy(&hi, a.bytes.data(), 8);
        std::memcpy(&lo, a.bytes.data() + 8, 8);
        uint64_t h = hi ^ (lo * 0x9e3779b97f4a7c15ull);
        h ^= h >> 32;
        h *= 0xd6e8feb86659fd93ull;
        h ^= h >> 32;
        return static_cast<size_t>(h);
    }
};
