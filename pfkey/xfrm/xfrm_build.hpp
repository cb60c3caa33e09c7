// Small constructors for the kernel structs of xfrm_message.hpp, so callers
// write addresses and prefixes instead of filling unions by hand.
#pragma once

#include <netinet/in.h>

#include "pfkey/xfrm/xfrm_message.hpp"

namespace nemokey::pfkey::xfrm {

// Selector on source and destination prefixes (one family) and an
// upper-layer protocol (0 = any).
inline xfrm_selector make_selector(const net::Prefix& src, const net::Prefix& dst,
                                   uint8_t proto = 0) {
    auto s = zeroed<xfrm_selector>();
    s.family = family_of(src.address);
    s.saddr = to_xfrm_address(src.address);
    s.daddr = to_xfrm_address(dst.address);
    s.prefixlen_s = src.length;
    s.prefixlen_d = dst.length;
    s.proto = proto;
    return s;
}

// A tunnel-mode (or other mode) template from src to dst.
inline xfrm_user_tmpl make_tmpl(uint8_t proto, uint8_t mode, uint32_t reqid,
                                const net::IpAddress& src, const net::IpAddress& dst) {
    auto t = zeroed<xfrm_user_tmpl>();
    t.id.proto = proto;
    t.id.daddr = to_xfrm_address(dst);
    t.family = family_of(dst);
    t.saddr = to_xfrm_address(src);
    t.reqid = reqid;
    t.mode = mode;
    t.aalgos = t.ealgos = t.calgos = ~0u;
    return t;
}

inline xfrm_lifetime_cfg infinite_lifetime() {
    auto l = zeroed<xfrm_lifetime_cfg>();
    l.soft_byte_limit = l.hard_byte_limit = XFRM_INF;
    l.soft_packet_limit = l.hard_packet_limit = XFRM_INF;
    return l;
}

inline xfrm_user_migrate make_migrate(uint8_t proto, uint8_t mode, uint32_t reqid,
                                      const net::IpAddress& old_src, const net::IpAddress& old_dst,
                                      const net::IpAddress& new_src, const net::IpAddress& new_dst) {
    auto m = zeroed<xfrm_user_migrate>();
    m.old_saddr = to_xfrm_address(old_src);
    m.old_daddr = to_xfrm_address(old_dst);
    m.new_saddr = to_xfrm_address(new_src);
    m.new_daddr = to_xfrm_address(new_dst);
    m.proto = proto;
    m.mode = mode;
    m.reqid = reqid;
    m.old_family = family_of(old_src);
    m.new_family = family_of(new_src);
    return m;
}

inline xfrm_user_kmaddress make_kmaddress(const net::IpAddress& local, const net::IpAddress& remote,
                                          uint32_t reserved = 0) {
    auto k = zeroed<xfrm_user_kmaddress>();
    k.local = to_xfrm_address(local);
    k.remote = to_xfrm_address(remote);
    k.reserved = reserved;
    k.family = family_of(local);
    return k;
}

}  // namespace nemokey::pfkey::xfrm
