// Internal helpers of the MH codec: big-endian reads and writes, padding,
// the Internet checksum.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "conf/net/address.hpp"

namespace nemokey::mobility::mh::wire {

inline uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t get32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
inline uint64_t get64(const uint8_t* p) { return (uint64_t{get32(p)} << 32) | get32(p + 4); }
inline net::Ipv6Address get_v6(const uint8_t* p) {
    net::Ipv6Address a;
    for (size_t i = 0; i < 16; ++i) a.bytes[i] = p[i];
    return a;
}
inline net::Ipv4Address get_v4(const uint8_t* p) {
    net::Ipv4Address a;
    for (size_t i = 0; i < 4; ++i) a.bytes[i] = p[i];
    return a;
}

inline void put8(std::vector<uint8_t>& o, uint8_t v) { o.push_back(v); }
inline void put16(std::vector<uint8_t>& o, uint16_t v) {
    o.push_back(static_cast<uint8_t>(v >> 8));
    o.push_back(static_cast<uint8_t>(v));
}
inline void put32(std::vector<uint8_t>& o, uint32_t v) {
    put16(o, static_cast<uint16_t>(v >> 16));
    put16(o, static_cast<uint16_t>(v));
}
inline void put64(std::vector<uint8_t>& o, uint64_t v) {
    put32(o, static_cast<uint32_t>(v >> 32));
    put32(o, static_cast<uint32_t>(v));
}
inline void put_v6(std::vector<uint8_t>& o, const net::Ipv6Address& a) {
    o.insert(o.end(), a.bytes.begin(), a.bytes.end());
}
inline void put_v4(std::vector<uint8_t>& o, const net::Ipv4Address& a) {
    o.insert(o.end(), a.bytes.begin(), a.bytes.end());
}
inline void set16(std::vector<uint8_t>& o, size_t at, uint16_t v) {
    o[at] = static_cast<uint8_t>(v >> 8);
    o[at + 1] = static_cast<uint8_t>(v);
}

// Pad1 / PadN of n octets (RFC 6275 sec. 6.2.2-6.2.3; RFC 8200 sec. 4.2
// uses the same two forms, with the same numbers, in Destination Options).
inline void put_padding(std::vector<uint8_t>& o, size_t n) {
    if (n == 0) return;
    if (n == 1) {
        o.push_back(0);
        return;
    }
    o.push_back(1);
    o.push_back(static_cast<uint8_t>(n - 2));
    o.insert(o.end(), n - 2, 0);
}

// Octets to add at `offset` to reach x*n + y.
inline size_t padding_for(size_t offset, uint8_t x, uint8_t y) {
    if (x <= 1) return 0;
    return (size_t{y} + x - offset % x) % x;
}

// One's-complement 16-bit sum, not yet folded.
inline uint64_t sum16(std::span<const uint8_t> d, uint64_t acc = 0) {
    size_t i = 0;
    for (; i + 1 < d.size(); i += 2) acc += static_cast<uint32_t>((d[i] << 8) | d[i + 1]);
    if (i < d.size()) acc += static_cast<uint32_t>(d[i] << 8);
    return acc;
}
inline uint16_t fold(uint64_t acc) {
    while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
    return static_cast<uint16_t>(acc);
}

}  // namespace nemokey::mobility::mh::wire
