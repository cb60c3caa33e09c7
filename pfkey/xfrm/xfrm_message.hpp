// XFRM netlink messages (linux/xfrm.h, net/xfrm/xfrm_user.c) for key
// management: MIGRATE with XFRMA_MIGRATE + XFRMA_KMADDRESS, policies and
// states (new / update / delete / get / flush, including route2 and hao
// states with XFRMA_COADDR, and ESP states with their algorithms), and the
// kernel's events (ACQUIRE, EXPIRE, POLEXPIRE, MAPPING) and acks.
// Framing and attributes go through libnl-3 (nl_msg, nlmsg_*, nla_*).
// Pure bytes <-> values, no I/O.
//
// The fixed headers are the kernel's own structs, used verbatim (so every
// field keeps its linux/xfrm.h name); the attributes are typed members.
#pragma once

#include <linux/netlink.h>
#include <linux/xfrm.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "conf/net/address.hpp"
#include "pfkey/codec/result.hpp"

// Byte-wise equality for the kernel structs used as model fields (they are
// copied to and from the wire whole, padding included).
#define NEMOKEY_XFRM_BYTE_EQ(T) \
    inline bool operator==(const T& a, const T& b) { return std::memcmp(&a, &b, sizeof(T)) == 0; }
NEMOKEY_XFRM_BYTE_EQ(xfrm_selector)
NEMOKEY_XFRM_BYTE_EQ(xfrm_userpolicy_id)
NEMOKEY_XFRM_BYTE_EQ(xfrm_userpolicy_info)
NEMOKEY_XFRM_BYTE_EQ(xfrm_user_tmpl)
NEMOKEY_XFRM_BYTE_EQ(xfrm_user_migrate)
NEMOKEY_XFRM_BYTE_EQ(xfrm_user_kmaddress)
NEMOKEY_XFRM_BYTE_EQ(xfrm_usersa_info)
NEMOKEY_XFRM_BYTE_EQ(xfrm_usersa_id)
NEMOKEY_XFRM_BYTE_EQ(xfrm_usersa_flush)
NEMOKEY_XFRM_BYTE_EQ(xfrm_user_acquire)
NEMOKEY_XFRM_BYTE_EQ(xfrm_user_expire)
NEMOKEY_XFRM_BYTE_EQ(xfrm_user_polexpire)
NEMOKEY_XFRM_BYTE_EQ(xfrm_user_mapping)
NEMOKEY_XFRM_BYTE_EQ(xfrm_encap_tmpl)
NEMOKEY_XFRM_BYTE_EQ(xfrm_mark)
NEMOKEY_XFRM_BYTE_EQ(xfrm_address_t)
#undef NEMOKEY_XFRM_BYTE_EQ

namespace nemokey::pfkey::xfrm {

using Bytes = std::vector<uint8_t>;

// A value-initialised kernel struct with its padding zeroed as well.
template <class T>
T zeroed() {
    T t;
    std::memset(&t, 0, sizeof t);
    return t;
}

xfrm_address_t to_xfrm_address(const net::IpAddress& a);
uint16_t family_of(const net::IpAddress& a);
// nullopt unless family is AF_INET or AF_INET6.
std::optional<net::IpAddress> to_ip(uint16_t family, const xfrm_address_t& a);

// xfrm_algo / xfrm_algo_auth / xfrm_algo_aead: name, key length in bits,
// and the truncation or ICV length where the attribute has one.
struct Algorithm {
    std::string name;
    uint32_t key_bits = 0;
    uint32_t trunc_or_icv_bits = 0;  // XFRMA_ALG_AUTH_TRUNC, XFRMA_ALG_AEAD only
    Bytes key;                       // ceil(key_bits / 8) bytes
    bool operator==(const Algorithm&) const = default;
};

// An attribute the typed body does not model, re-emitted as it came.
struct RawAttribute {
    uint16_t type = 0;
    Bytes payload;
    bool operator==(const RawAttribute&) const = default;
};

// XFRM_MSG_MIGRATE: xfrm_userpolicy_id + XFRMA_MIGRATE (1..XFRM_MAX_DEPTH
// xfrm_user_migrate) + optional XFRMA_KMADDRESS + optional XFRMA_POLICY_TYPE.
struct Migrate {
    xfrm_userpolicy_id id = zeroed<xfrm_userpolicy_id>();
    std::vector<xfrm_user_migrate> migrate;
    std::optional<xfrm_user_kmaddress> kmaddress;
    std::optional<uint8_t> policy_type;  // XFRM_POLICY_TYPE_MAIN / _SUB
    bool operator==(const Migrate&) const = default;
};

// XFRM_MSG_NEWPOLICY / UPDPOLICY (and GETPOLICY answers, POLICY events).
struct PolicyInfo {
    xfrm_userpolicy_info info = zeroed<xfrm_userpolicy_info>();
    std::vector<xfrm_user_tmpl> tmpls;  // XFRMA_TMPL
    std::optional<uint8_t> policy_type;
    std::optional<xfrm_mark> mark;
    std::optional<uint32_t> if_id;
    bool operator==(const PolicyInfo&) const = default;
};

// XFRM_MSG_DELPOLICY / GETPOLICY requests (DELPOLICY events carry the
// deleted policy as XFRMA_POLICY, kept raw).
struct PolicyId {
    xfrm_userpolicy_id id = zeroed<xfrm_userpolicy_id>();
    std::optional<uint8_t> policy_type;
    std::optional<xfrm_mark> mark;
    std::optional<uint32_t> if_id;
    bool operator==(const PolicyId&) const = default;
};

// XFRM_MSG_FLUSHPOLICY: no fixed header.
struct PolicyFlush {
    std::optional<uint8_t> policy_type;
    bool operator==(const PolicyFlush&) const = default;
};

// XFRM_MSG_NEWSA / UPDSA (and GETSA answers, SA events). A route2 or hao
// state (IPPROTO_ROUTING / IPPROTO_DSTOPTS, mode
// XFRM_MODE_ROUTEOPTIMIZATION) carries its care-of address in coaddr.
struct StateInfo {
    xfrm_usersa_info info = zeroed<xfrm_usersa_info>();
    std::optional<Algorithm> auth;        // XFRMA_ALG_AUTH
    std::optional<Algorithm> auth_trunc;  // XFRMA_ALG_AUTH_TRUNC
    std::optional<Algorithm> crypt;       // XFRMA_ALG_CRYPT
    std::optional<Algorithm> aead;        // XFRMA_ALG_AEAD
    std::optional<Algorithm> comp;        // XFRMA_ALG_COMP
    std::optional<xfrm_encap_tmpl> encap;
    std::optional<xfrm_address_t> coaddr;
    std::optional<xfrm_mark> mark;
    std::optional<uint32_t> if_id;
    std::optional<uint32_t> extra_flags;
    bool operator==(const StateInfo&) const = default;
};

// XFRM_MSG_DELSA / GETSA requests.
struct StateId {
    xfrm_usersa_id id = zeroed<xfrm_usersa_id>();
    std::optional<xfrm_address_t> srcaddr;  // XFRMA_SRCADDR
    std::optional<xfrm_mark> mark;
    bool operator==(const StateId&) const = default;
};

// XFRM_MSG_FLUSHSA
struct StateFlush {
    xfrm_usersa_flush flush = zeroed<xfrm_usersa_flush>();
    bool operator==(const StateFlush&) const = default;
};

// XFRM_MSG_ACQUIRE event
struct Acquire {
    xfrm_user_acquire acquire = zeroed<xfrm_user_acquire>();
    std::vector<xfrm_user_tmpl> tmpls;
    bool operator==(const Acquire&) const = default;
};

// XFRM_MSG_EXPIRE event
struct Expire {
    xfrm_user_expire expire = zeroed<xfrm_user_expire>();
    bool operator==(const Expire&) const = default;
};

// XFRM_MSG_POLEXPIRE event
struct PolExpire {
    xfrm_user_polexpire expire = zeroed<xfrm_user_polexpire>();
    bool operator==(const PolExpire&) const = default;
};

// XFRM_MSG_MAPPING event (NAT-T port change)
struct Mapping {
    xfrm_user_mapping mapping = zeroed<xfrm_user_mapping>();
    bool operator==(const Mapping&) const = default;
};

// NLMSG_ERROR: error 0 is an ack. Extended ack (NETLINK_EXT_ACK) text and
// offset come from NLMSGERR_ATTR_MSG / NLMSGERR_ATTR_OFFS.
struct Error {
    int32_t error = 0;  // -errno
    nlmsghdr request{};  // header of the request it answers
    std::string ext_ack;
    std::optional<uint32_t> ext_ack_offset;
    bool operator==(const Error& o) const {
        return error == o.error && std::memcmp(&request, &o.request, sizeof request) == 0 &&
               ext_ack == o.ext_ack && ext_ack_offset == o.ext_ack_offset;
    }
};

// NLMSG_DONE (end of a dump)
struct Done {
    bool operator==(const Done&) const = default;
};

// Any other message type: the payload as it came (kmmonitor prints it in hex).
struct Unknown {
    Bytes payload;
    bool operator==(const Unknown&) const = default;
};

using Body = std::variant<Migrate, PolicyInfo, PolicyId, PolicyFlush, StateInfo, StateId,
                          StateFlush, Acquire, Expire, PolExpire, Mapping, Error, Done, Unknown>;

struct XfrmMessage {
    uint16_t type = 0;   // XFRM_MSG_* or NLMSG_ERROR / NLMSG_DONE
    uint16_t flags = 0;  // NLM_F_*
    uint32_t seq = 0;
    uint32_t pid = 0;
    Body body;
    std::vector<RawAttribute> other_attributes;  // attributes the body does not model
    bool operator==(const XfrmMessage&) const = default;
};

// One netlink message out (nlmsg_len covers it, attributes 4-byte aligned).
// Fails for values that cannot be written (e.g. a Body that does not fit
// the type, an algorithm key whose length does not match key_bits).
Result<Bytes> encode(const XfrmMessage& m);
// One or more netlink messages in (a datagram as the kernel sends it).
Result<std::vector<XfrmMessage>> decode(std::span<const uint8_t> bytes);

std::string message_type_name(uint16_t type);
std::string attribute_name(uint16_t type);

}  // namespace nemokey::pfkey::xfrm
