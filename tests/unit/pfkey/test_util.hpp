// Helpers for the pfkey tests: hex vectors written by hand, addresses.
#pragma once

#include <cctype>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "conf/net/address.hpp"

namespace nemokey::pfkey::testing {

// "02 18 00 03 | 28 00" -> bytes; anything but hex digits separates.
inline std::vector<uint8_t> hex(std::string_view s) {
    std::vector<uint8_t> out;
    int hi = -1;
    for (char c : s) {
        if (!std::isxdigit(static_cast<unsigned char>(c))) {
            if (hi >= 0) throw std::invalid_argument("odd hex digit");
            continue;
        }
        int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (std::tolower(c) - 'a' + 10);
        if (hi < 0) {
            hi = v;
        } else {
            out.push_back(uint8_t(hi << 4 | v));
            hi = -1;
        }
    }
    if (hi >= 0) throw std::invalid_argument("odd hex digit count");
    return out;
}

inline net::IpAddress ip(std::string_view s) {
    auto a = net::parse_ip_address(s);
    if (!a) throw std::invalid_argument("bad address in test");
    return *a;
}

// A random address of one family, for generated (property) tests.
inline net::IpAddress random_ip(std::mt19937& rng, bool v6) {
    if (v6) {
        net::Ipv6Address a;
        for (auto& b : a.bytes) b = uint8_t(rng());
        return a;
    }
    net::Ipv4Address a;
    for (auto& b : a.bytes) b = uint8_t(rng());
    return a;
}

}  // namespace nemokey::pfkey::testing
