// XFRM fixtures shared by the pfkey tests.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>

#include "pfkey/xfrm/xfrm_build.hpp"
#include "pfkey/xfrm/xfrm_message.hpp"
#include "tests/unit/pfkey/test_util.hpp"

namespace nemokey::pfkey::testing {

// A tunnel-mode ESP state 2001:db8:3::100 -> 2001:db8::1, SPI 0x1000, for
// the home address 2001:db8:1::100, with hmac(sha256) and cbc(aes) keys.
inline xfrm::StateInfo esp_tunnel_state(uint32_t reqid) {
    using namespace xfrm;
    StateInfo s;
    s.info.sel = make_selector({ip("2001:db8:1::100"), 128}, {ip("::"), 0});
    s.info.id.daddr = to_xfrm_address(ip("2001:db8::1"));
    s.info.id.spi = htonl(0x1000);
    s.info.id.proto = IPPROTO_ESP;
    s.info.saddr = to_xfrm_address(ip("2001:db8:3::100"));
    s.info.family = AF_INET6;
    s.info.mode = XFRM_MODE_TUNNEL;
    s.info.reqid = reqid;
    s.info.lft = infinite_lifetime();
    s.auth_trunc = Algorithm{"hmac(sha256)", 256, 128, Bytes(32, 0x11)};
    s.crypt = Algorithm{"cbc(aes)", 128, 0, Bytes(16, 0x22)};
    return s;
}

}  // namespace nemokey::pfkey::testing
