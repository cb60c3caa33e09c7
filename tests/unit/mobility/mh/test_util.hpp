// Helpers shared by the MH codec tests.
#pragma once

#include <cctype>
#include <cstdint>
#include <string_view>
#include <vector>

#include "conf/net/address.hpp"

namespace mh_test {

// "3b 01 | 05" -> {0x3b, 0x01, 0x05}; anything but hex digits separates.
inline std::vector<uint8_t> hex(std::string_view s) {
    std::vector<uint8_t> out;
    int hi = -1;
    for (char c : s) {
        if (!std::isxdigit(static_cast<unsigned char>(c))) continue;
        const int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(c) - 'a' + 10;
        if (hi < 0) {
            hi = v;
        } else {
            out.push_back(static_cast<uint8_t>(hi * 16 + v));
            hi = -1;
        }
    }
    return out;
}

inline nemokey::net::Ipv6Address v6(std::string_view s) { return *nemokey::net::Ipv6Address::parse(s); }
inline nemokey::net::Ipv4Address v4(std::string_view s) { return *nemokey::net::Ipv4Address::parse(s); }

}  // namespace mh_test
