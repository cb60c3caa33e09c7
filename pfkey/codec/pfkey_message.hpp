// PF_KEY v2 messages (RFC 2367) as Linux speaks them, including the Linux
// extensions SADB_X_EXT_POLICY (with its IPsec requests), SA2, NAT-T,
// SEC_CTX, FILTER, and SADB_X_EXT_KMADDRESS of
// draft-ebalard-mext-pfkey-enhanced-migrate. Pure bytes <-> values, no I/O.
//
// Wire rules (RFC 2367 sec. 2.2, 2.3; Linux net/key/af_key.c):
// - every length (sadb_msg_len, sadb_ext_len) counts 64-bit words, except
//   sadb_x_ipsecrequest_len, which counts bytes;
// - integers are in host byte order, except the SPI and sockaddr ports;
// - extensions may come in any order; a known type may appear at most once;
//   types above SADB_EXT_MAX are skipped by Linux, and kept here as raw.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "conf/net/address.hpp"
#include "pfkey/codec/result.hpp"

namespace nemokey::pfkey {

using Bytes = std::vector<uint8_t>;

// A sockaddr_in or sockaddr_in6 inside an extension; the family follows
// the address. flowinfo/scope_id only exist for IPv6.
struct SockAddr {
    net::IpAddress address{net::Ipv6Address{}};
    uint16_t port = 0;  // host order here; network order on the wire
    uint32_t flowinfo = 0;
    uint32_t scope_id = 0;
    bool operator==(const SockAddr&) const = default;
};

// sadb_msg (RFC 2367 sec. 2.3.1)
struct SadbMsg {
    uint8_t version = 2;  // PF_KEY_V2
    uint8_t type = 0;     // SADB_*
    uint8_t errno_ = 0;   // sadb_msg_errno
    uint8_t satype = 0;   // SADB_SATYPE_*
    uint16_t reserved = 0;
    uint32_t seq = 0;
    uint32_t pid = 0;
    bool operator==(const SadbMsg&) const = default;
};

// SADB_EXT_SA (RFC 2367 sec. 2.3.2)
struct SadbSa {
    uint32_t spi = 0;  // host order here; network order on the wire
    uint8_t replay = 0;
    uint8_t state = 0;
    uint8_t auth = 0;
    uint8_t encrypt = 0;
    uint32_t flags = 0;
    bool operator==(const SadbSa&) const = default;
};

// SADB_EXT_LIFETIME_CURRENT / _HARD / _SOFT (RFC 2367 sec. 2.3.3)
struct SadbLifetime {
    uint16_t exttype = 0;
    uint32_t allocations = 0;
    uint64_t bytes = 0;
    uint64_t addtime = 0;
    uint64_t usetime = 0;
    bool operator==(const SadbLifetime&) const = default;
};

// SADB_EXT_ADDRESS_SRC / _DST / _PROXY and SADB_X_EXT_NAT_T_OA (sec. 2.3.4)
struct SadbAddress {
    uint16_t exttype = 0;
    uint8_t proto = 0;  // upper-layer protocol; IPSEC_ULPROTO_ANY = 255
    uint8_t prefixlen = 0;
    uint16_t reserved = 0;
    SockAddr addr;
    bool operator==(const SadbAddress&) const = default;
};

// SADB_EXT_KEY_AUTH / _ENCRYPT (sec. 2.3.5); key holds ceil(bits/8) bytes.
struct SadbKey {
    uint16_t exttype = 0;
    uint16_t bits = 0;
    uint16_t reserved = 0;
    Bytes key;
    bool operator==(const SadbKey&) const = default;
};

// SADB_EXT_IDENTITY_SRC / _DST (sec. 2.3.6); text is NUL-padded on the wire.
struct SadbIdent {
    uint16_t exttype = 0;
    uint16_t type = 0;
    uint16_t reserved = 0;
    uint64_t id = 0;
    std::string text;
    bool operator==(const SadbIdent&) const = default;
};

// SADB_EXT_PROPOSAL's sadb_comb (sec. 2.3.8)
struct SadbComb {
    uint8_t auth = 0;
    uint8_t encrypt = 0;
    uint16_t flags = 0;
    uint16_t auth_minbits = 0, auth_maxbits = 0;
    uint16_t encrypt_minbits = 0, encrypt_maxbits = 0;
    uint32_t reserved = 0;
    uint32_t soft_allocations = 0, hard_allocations = 0;
    uint64_t soft_bytes = 0, hard_bytes = 0;
    uint64_t soft_addtime = 0, hard_addtime = 0;
    uint64_t soft_usetime = 0, hard_usetime = 0;
    bool operator==(const SadbComb&) const = default;
};

struct SadbProp {
    uint8_t replay = 0;
    std::vector<SadbComb> combs;
    bool operator==(const SadbProp&) const = default;
};

// SADB_EXT_SUPPORTED_AUTH / _ENCRYPT (sec. 2.3.7)
struct SadbAlg {
    uint8_t id = 0;
    uint8_t ivlen = 0;
    uint16_t minbits = 0;
    uint16_t maxbits = 0;
    uint16_t reserved = 0;
    bool operator==(const SadbAlg&) const = default;
};

struct SadbSupported {
    uint16_t exttype = 0;
    std::vector<SadbAlg> algs;
    bool operator==(const SadbSupported&) const = default;
};

// SADB_EXT_SPIRANGE (sec. 2.3.9)
struct SadbSpirange {
    uint32_t min = 0;
    uint32_t max = 0;
    bool operator==(const SadbSpirange&) const = default;
};

// SADB_X_EXT_KMPRIVATE: a header only.
struct SadbXKmprivate {
    bool operator==(const SadbXKmprivate&) const = default;
};

// One sadb_x_ipsecrequest of SADB_X_EXT_POLICY. Tunnel endpoints (and,
// in SADB_X_MIGRATE, the old or new locators) follow as a sockaddr pair.
struct IpsecRequest {
    uint16_t proto = 0;  // IPPROTO_ESP, IPPROTO_AH, IPPROTO_COMP
    uint8_t mode = 0;    // IPSEC_MODE_*
    uint8_t level = 0;   // IPSEC_LEVEL_*
    uint32_t reqid = 0;
    std::optional<SockAddr> src;  // both set or both empty
    std::optional<SockAddr> dst;
    bool operator==(const IpsecRequest&) const = default;
};

// SADB_X_EXT_POLICY
struct SadbXPolicy {
    uint16_t type = 0;  // IPSEC_POLICY_*
    uint8_t dir = 0;    // IPSEC_DIR_*
    uint8_t reserved = 0;
    uint32_t id = 0;
    uint32_t priority = 0;
    std::vector<IpsecRequest> requests;
    bool operator==(const SadbXPolicy&) const = default;
};

// SADB_X_EXT_SA2
struct SadbXSa2 {
    uint8_t mode = 0;
    uint8_t reserved1 = 0;
    uint16_t reserved2 = 0;
    uint32_t sequence = 0;
    uint32_t reqid = 0;
    bool operator==(const SadbXSa2&) const = default;
};

// SADB_X_EXT_NAT_T_TYPE
struct SadbXNatTType {
    uint8_t type = 0;  // UDP_ENCAP_ESPINUDP = 2
    bool operator==(const SadbXNatTType&) const = default;
};

// SADB_X_EXT_NAT_T_SPORT / _DPORT
struct SadbXNatTPort {
    uint16_t exttype = 0;
    uint16_t port = 0;  // host order here; network order on the wire
    uint16_t reserved = 0;
    bool operator==(const SadbXNatTPort&) const = default;
};

// SADB_X_EXT_SEC_CTX
struct SadbXSecCtx {
    uint8_t doi = 0;
    uint8_t alg = 0;
    Bytes context;
    bool operator==(const SadbXSecCtx&) const = default;
};

// SADB_X_EXT_KMADDRESS (draft-ebalard-mext-pfkey-enhanced-migrate sec. 3):
// the addresses the key manager (IKE) uses, local then remote.
struct SadbXKmaddress {
    uint32_t reserved = 0;
    SockAddr local;
    SockAddr remote;
    bool operator==(const SadbXKmaddress&) const = default;
};

// SADB_X_EXT_FILTER (Linux: dump filter)
struct SadbXFilter {
    std::array<uint8_t, 16> saddr{};
    std::array<uint8_t, 16> daddr{};
    uint16_t family = 0;
    uint8_t splen = 0;
    uint8_t dplen = 0;
    bool operator==(const SadbXFilter&) const = default;
};

// SADB_EXT_SENSITIVITY (Linux ignores it) and extension types above
// SADB_EXT_MAX (Linux skips them): kept as the bytes after sadb_ext.
struct RawExtension {
    uint16_t exttype = 0;
    Bytes body;  // a multiple of 8 minus 4 bytes
    bool operator==(const RawExtension&) const = default;
};

using Extension = std::variant<SadbSa, SadbLifetime, SadbAddress, SadbKey, SadbIdent, SadbProp,
                               SadbSupported, SadbSpirange, SadbXKmprivate, SadbXPolicy, SadbXSa2,
                               SadbXNatTType, SadbXNatTPort, SadbXSecCtx, SadbXKmaddress,
                               SadbXFilter, RawExtension>;

// The extension type an Extension value is written with.
uint16_t extension_type(const Extension& e);

struct PfkeyMessage {
    SadbMsg header;
    std::vector<Extension> extensions;  // in wire order

    // The first extension of that SADB_EXT_* type, or nullptr.
    const Extension* find(uint16_t exttype) const;
    template <class T>
    const T* get(uint16_t exttype) const {
        const Extension* e = find(exttype);
        return e ? std::get_if<T>(e) : nullptr;
    }
    bool operator==(const PfkeyMessage&) const = default;
};

// Bytes out: lengths and padding are computed, never taken from the model.
Result<Bytes> encode(const PfkeyMessage& message);
// Bytes in: one whole message (sadb_msg_len must cover the buffer exactly).
Result<PfkeyMessage> decode(std::span<const uint8_t> bytes);

// Names for errors and for kmmonitor.
std::string message_type_name(uint8_t type);
std::string extension_type_name(uint16_t type);
std::string satype_name(uint8_t satype);

}  // namespace nemokey::pfkey
