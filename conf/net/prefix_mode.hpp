// How a mobile router tells its home agent which mobile network prefixes
// it serves (RFC 3963 sec. 5.2): in Mobile Network Prefix options of the BU
// (explicit) or not at all, the home agent using its own configuration
// (implicit). One definition for the configuration (conf::PrefixMode, key
// 'mode' of [mobile-network]) and the binding update list
// (mobility::binding::PrefixMode).
#pragma once

#include <cstdint>
#include <string_view>

namespace nemokey::net {

enum class PrefixMode : uint8_t { implicit_mode, explicit_mode };

// "explicit" / "implicit": the config value.
constexpr std::string_view to_string(PrefixMode mode) {
    return mode == PrefixMode::explicit_mode ? "explicit" : "implicit";
}

}  // namespace nemokey::net
