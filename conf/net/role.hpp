// The role a node plays: home agent, mobile node (RFC 6275 sec. 3.2) or
// mobile router (RFC 3963 sec. 2). One definition for the configuration
// (conf::Role, the 'role' key) and the certificates (certs::Role, written by
// mobcert into the subject's OU); nemokey_net is the library both use.
#pragma once

#include <cstdint>
#include <string_view>

namespace nemokey::net {

enum class Role : uint8_t { home_agent, mobile_node, mobile_router };

// "home-agent", "mobile-node", "mobile-router": the config value and the OU text.
constexpr std::string_view to_string(Role role) {
    switch (role) {
        case Role::home_agent: return "home-agent";
        case Role::mobile_node: return "mobile-node";
        case Role::mobile_router: return "mobile-router";
    }
    return "?";
}

}  // namespace nemokey::net
