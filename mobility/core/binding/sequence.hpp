// Sequence Number arithmetic (RFC 6275 sec. 9.5.1): a free-running 16-bit
// counter compared modulo 2^16.
#pragma once

#include <cstdint>

namespace nemokey::mobility::binding {

// RFC 6275 sec. 9.5.1: a received number is "less than or equal" to the last
// one if it lies in the range of the last one and the 32767 values before it.
// So `candidate` is greater exactly when (candidate - last) mod 2^16 is in
// 1..32768.
constexpr bool sequence_greater(uint16_t candidate, uint16_t last) {
    const uint16_t d = static_cast<uint16_t>(candidate - last);
    return d >= 1 && d <= 32768;
}

constexpr bool sequence_less_or_equal(uint16_t candidate, uint16_t last) {
    return !sequence_greater(candidate, last);
}

// The next number after `n`, wrapping from 65535 to 0.
constexpr uint16_t sequence_next(uint16_t n) { return static_cast<uint16_t>(n + 1); }

// Whether `n` lies in the modular range [first, last] (first sent .. last sent
// of one Binding Update and its retransmissions).
constexpr bool sequence_in_range(uint16_t n, uint16_t first, uint16_t last) {
    return static_cast<uint16_t>(n - first) <= static_cast<uint16_t>(last - first);
}

}  // namespace nemokey::mobility::binding
