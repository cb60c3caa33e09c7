// SADB_X_MIGRATE (draft-sugimoto-mip6-pfkey-migrate sec. 4) with the
// optional SADB_X_EXT_KMADDRESS (draft-ebalard-mext-pfkey-enhanced-migrate
// sec. 3), as a typed value on top of PfkeyMessage.
//
// Layout (Linux af_key.c pfkey_send_migrate / pfkey_migrate):
//   sadb_msg, [SADB_X_EXT_KMADDRESS], SADB_EXT_ADDRESS_SRC and _DST (the
//   policy selector), SADB_X_EXT_POLICY whose IPsec requests come in
//   pairs: the old tunnel endpoints, then the new ones, per bundle entry.
#pragma once

#include <optional>
#include <vector>

#include "pfkey/codec/pfkey_message.hpp"

namespace nemokey::pfkey {

// One bundle entry: the SA template moves from old_* to new_* endpoints.
struct MigrateRequest {
    uint16_t proto = 0;  // IPPROTO_ESP, IPPROTO_AH, IPPROTO_COMP
    uint8_t mode = 0;    // IPSEC_MODE_*
    uint8_t level = 0;   // IPSEC_LEVEL_*
    uint32_t reqid = 0;
    net::IpAddress old_src{net::Ipv6Address{}};
    net::IpAddress old_dst{net::Ipv6Address{}};
    net::IpAddress new_src{net::Ipv6Address{}};
    net::IpAddress new_dst{net::Ipv6Address{}};
    bool operator==(const MigrateRequest&) const = default;
};

// The key manager's own endpoints (local then remote) after the move.
struct KmAddress {
    net::IpAddress local{net::Ipv6Address{}};
    net::IpAddress remote{net::Ipv6Address{}};
    uint32_t reserved = 0;
    bool operator==(const KmAddress&) const = default;
};

struct PfkeyMigrate {
    uint8_t satype = 0;  // sadb_msg_satype
    uint32_t seq = 0;
    uint32_t pid = 0;
    // Selector: source and destination prefixes, ports, upper-layer proto.
    net::Prefix src{};
    net::Prefix dst{};
    uint16_t sport = 0;
    uint16_t dport = 0;
    uint8_t ulproto = 255;     // IPSEC_ULPROTO_ANY
    uint8_t dir = 0;           // IPSEC_DIR_INBOUND / _OUTBOUND / _FWD
    uint16_t policy_type = 2;  // IPSEC_POLICY_IPSEC
    uint32_t policy_id = 0;
    uint32_t priority = 0;
    std::optional<KmAddress> kmaddress;
    std::vector<MigrateRequest> requests;
    bool operator==(const PfkeyMigrate&) const = default;
};

PfkeyMessage to_message(const PfkeyMigrate& m);
// Checks what Linux's pfkey_migrate checks (required extensions, one
// family for the selector, directions, pairs of requests with the same
// proto/mode/reqid) and reports the first violation.
Result<PfkeyMigrate> migrate_from_message(const PfkeyMessage& m);

inline Result<Bytes> encode(const PfkeyMigrate& m) { return encode(to_message(m)); }
Result<PfkeyMigrate> decode_migrate(std::span<const uint8_t> bytes);

}  // namespace nemokey::pfkey
