// Defaults, one table per scope (Kea habit, style.md 2.5). A key that is
// absent from the file takes the value written here; the examples in
// conf/examples/ spell most of them out.
#pragma once

#include "conf/model.hpp"

namespace nemokey::conf::defaults {

// [timers], every role.
inline constexpr Timers timers{
    .binding_lifetime_s = 600,          // requested; 4..262140 in 4 s units (RFC 6275 sec. 6.1.7)
    .retransmission_initial_ms = 1500,  // InitialBindackTimeoutFirstReg (RFC 6275 sec. 13)
    .retransmission_max_ms = 32000,     // MAX_BINDACK_TIMEOUT (RFC 6275 sec. 12)
    // Home agent: BRR at 90 % of the granted lifetime, after the node's own
    // refresh (ours at 80 %, RFC 6275 sec. 11.7.1) is overdue (sec. 9.5.5).
    .binding_refresh_request_percent = 90,
};

// Limits the parser enforces on [timers].
inline constexpr uint32_t binding_lifetime_min_s = 4;
inline constexpr uint32_t binding_lifetime_max_s = 262140;  // 0xffff * 4 (RFC 6275 sec. 6.1.7)
inline constexpr uint32_t retransmission_min_ms = 100;
inline constexpr uint32_t retransmission_max_limit_ms = 600000;
inline constexpr uint32_t binding_refresh_request_max_percent = 99;   // 0 = no BRR

// [protection], mobile node / router main file and home agent node files.
inline constexpr Protection protection{
    .payload_tunnel = true,     // security first: no cleartext payload on foreign links
    .home_test = true,          // RFC 3776 sec. 4.1: SHOULD be used
    .prefix_discovery = false,  // only with ICMPv6 mobile prefix discovery enabled
};
inline constexpr bool k_flag = true;  // RFC 4877 sec. 4.4: IKE SA follows the CoA

// [mobile-network].
inline constexpr PrefixMode prefix_mode = PrefixMode::explicit_mode;

// [keying].
inline constexpr KeyingMethod keying_method = KeyingMethod::ikev2;

// [[interface]].
inline constexpr uint8_t interface_preference = 0;

// Home agent: folder of node files, relative to the main file.
inline constexpr const char* nodes_dir = "nodes.d";

}  // namespace nemokey::conf::defaults
