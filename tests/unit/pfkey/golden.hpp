// Golden PF_KEY vectors shared by the codec, translation and kmmonitor
// tests, written by hand from the layouts of RFC 2367 sec. 2.3,
// draft-sugimoto-mip6-pfkey-migrate sec. 4 and
// draft-ebalard-mext-pfkey-enhanced-migrate sec. 3.
#pragma once

#include <linux/ipsec.h>
#include <linux/pfkeyv2.h>
#include <netinet/in.h>

#include "pfkey/codec/pfkey_migrate.hpp"
#include "tests/unit/pfkey/test_util.hpp"

// sockaddr_in6 with port 0, flowinfo 0, scope 0.
#define SIN6(addr) "0a 00  00 00  00 00 00 00 " addr " 00 00 00 00"
#define HA "20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01"
#define HOA "20 01 0d b8 00 01 00 00 00 00 00 00 00 00 01 00"
#define NCOA "20 01 0d b8 00 02 00 00 00 00 00 00 00 00 01 00"
#define OCOA "20 01 0d b8 00 03 00 00 00 00 00 00 00 00 01 00"

namespace nemokey::pfkey::testing {

// SADB_X_MIGRATE, satype ESP, seq 7, pid 1000: KMADDRESS (new CoA -> HA),
// selector HoA/128 -> HA/128 any proto, outbound policy, one ESP tunnel
// request pair (old CoA -> HA, then new CoA -> HA), level unique, reqid 1.
inline const char* const kMigrateV6 =
    "02 18 00 03  28 00  00 00  07 00 00 00  e8 03 00 00"  // sadb_msg, 40 words
    // SADB_X_EXT_KMADDRESS: 8 words, reserved 0, local then remote
    "08 00 19 00  00 00 00 00" SIN6(NCOA) SIN6(HA)
    // SADB_EXT_ADDRESS_SRC: 5 words, proto 255, prefix 128, sockaddr + 4 pad
    "05 00 05 00  ff 80 00 00" SIN6(HOA) "00 00 00 00"
    // SADB_EXT_ADDRESS_DST
    "05 00 06 00  ff 80 00 00" SIN6(HA) "00 00 00 00"
    // SADB_X_EXT_POLICY: 20 words, type IPSEC (2), dir outbound (2), id 0, prio 0
    "14 00 12 00  02 00 02 00  00 00 00 00  00 00 00 00"
    // ipsecrequest, 72 bytes: proto 50, mode tunnel (2), level unique (3), reqid 1
    "48 00 32 00  02 03 00 00  01 00 00 00  00 00 00 00" SIN6(OCOA) SIN6(HA)
    "48 00 32 00  02 03 00 00  01 00 00 00  00 00 00 00" SIN6(NCOA) SIN6(HA);

inline PfkeyMigrate migrate_v6() {
    PfkeyMigrate m;
    m.satype = SADB_SATYPE_ESP;
    m.seq = 7;
    m.pid = 1000;
    m.src = net::Prefix{ip("2001:db8:1::100"), 128};
    m.dst = net::Prefix{ip("2001:db8::1"), 128};
    m.ulproto = IPSEC_ULPROTO_ANY;
    m.dir = IPSEC_DIR_OUTBOUND;
    m.kmaddress = KmAddress{ip("2001:db8:2::100"), ip("2001:db8::1"), 0};
    m.requests.push_back(MigrateRequest{IPPROTO_ESP, IPSEC_MODE_TUNNEL, IPSEC_LEVEL_UNIQUE, 1,
                                        ip("2001:db8:3::100"), ip("2001:db8::1"),
                                        ip("2001:db8:2::100"), ip("2001:db8::1")});
    return m;
}

// SADB_ADD with every SA-related extension Linux reads for an SA
// (af_key.c pfkey_msg2xfrm_state): SA, lifetimes, addresses, keys,
// identity, SA2, NAT-T type and ports, NAT-T original address.
inline const char* const kAddV4 =
    "02 03 00 03  21 00  00 00  01 00 00 00  2a 00 00 00"  // SADB_ADD esp, 33 words
    "02 00 01 00  12 34 56 78  20 01 03 0c  00 00 00 00"  // SA spi 0x12345678, replay 32,
                                                          // mature, auth sha1 (3), enc aes (12)
    "04 00 03 00  00 00 00 00  00 00 00 00 00 00 00 00"  // LIFETIME_HARD
    "10 0e 00 00 00 00 00 00  00 00 00 00 00 00 00 00"  // addtime 3600
    "03 00 05 00  ff 20 00 00  02 00 00 00 c0 00 02 01 00 00 00 00 00 00 00 00"
    "03 00 06 00  ff 20 00 00  02 00 00 00 c6 33 64 01 00 00 00 00 00 00 00 00"
    "04 00 08 00  a0 00 00 00"                           // KEY_AUTH 160 bits, 20 bytes + 4 pad
    "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 00 00 00 00"
    "03 00 09 00  80 00 00 00"                           // KEY_ENCRYPT 128 bits
    "a0 a1 a2 a3 a4 a5 a6 a7 a8 a9 aa ab ac ad ae af"
    "04 00 0a 00  02 00 00 00  00 00 00 00 00 00 00 00"  // IDENTITY_SRC fqdn (2)
    "6d 6e 2e 65 78 61 6d 70 6c 65 00 00 00 00 00 00"    // "mn.example" NUL pad
    "02 00 13 00  02 00 00 00  00 00 00 00  05 00 00 00"  // SA2 tunnel, reqid 5
    "01 00 14 00  02 00 00 00"                           // NAT_T_TYPE espinudp
    "01 00 15 00  11 94 00 00"                           // NAT_T_SPORT 4500
    "01 00 16 00  11 94 00 00"                           // NAT_T_DPORT 4500
    "03 00 17 00  00 20 00 00  02 00 00 00 0a 00 00 05 00 00 00 00 00 00 00 00";  // NAT_T_OA

}  // namespace nemokey::pfkey::testing

namespace nemokey::pfkey::testing {

// XFRM_MSG_MIGRATE carrying the same move as kMigrateV6 (xfrm_user.c
// build_migrate): nlmsghdr, xfrm_userpolicy_id (selector HoA/128 -> HA/128,
// any proto, dir XFRM_POLICY_OUT, index 0), XFRMA_MIGRATE with one
// xfrm_user_migrate (addresses daddr first), XFRMA_KMADDRESS.
inline const char* const kXfrmMigrateV6 =
    "cc 00 00 00  21 00  00 00  07 00 00 00  e8 03 00 00"  // nlmsghdr, 204 bytes
    HA HOA                                                 // selector daddr, saddr
    "00 00 00 00  00 00 00 00"                             // dport, mask, sport, mask
    "0a 00  80 80  00  00 00 00  00 00 00 00  00 00 00 00"  // family, plen d/s, proto, ifindex, user
    "00 00 00 00  01  00 00 00"                            // index 0, dir out, pad
    "50 00 11 00" HA OCOA HA NCOA                          // XFRMA_MIGRATE: old d/s, new d/s
    "32 01 00 00  01 00 00 00  0a 00 0a 00"                // esp, tunnel, reqid 1, families
    "2c 00 13 00" NCOA HA "00 00 00 00  0a 00  00 00";     // XFRMA_KMADDRESS local, remote

// NLMSG_ERROR, capped, with extended ack (ENOENT answering kXfrmMigrateV6).
inline const char* const kXfrmErrorExtAck =
    "40 00 00 00  02 00  00 03  07 00 00 00  00 00 00 00"
    "fe ff ff ff  cc 00 00 00  21 00  05 00  07 00 00 00  e8 03 00 00"
    "13 00 01 00  4e 6f 20 73 75 63 68 20 70 6f 6c 69 63 79 00 00"  // "No such policy"
    "08 00 02 00  10 00 00 00";                                    // offset 16

}  // namespace nemokey::pfkey::testing
