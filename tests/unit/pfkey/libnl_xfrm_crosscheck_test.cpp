// Cross-check of the XFRM codec against an independent parser: libnl-xfrm-3's
// own objects (xfrmnl_sa_parse, xfrmnl_sp_parse) read the bytes we write.
#include <gtest/gtest.h>
#include <netlink/addr.h>
#include <netlink/xfrm/sa.h>
#include <netlink/xfrm/selector.h>
#include <netlink/xfrm/sp.h>
#include <netlink/xfrm/template.h>

#include "pfkey/xfrm/xfrm_build.hpp"
#include "tests/unit/pfkey/test_util.hpp"
#include "tests/unit/pfkey/xfrm_test_util.hpp"

namespace nemokey::pfkey::xfrm {
namespace {

using testing::ip;

std::string addr_text(nl_addr* a) {
    char buf[128];
    return a ? nl_addr2str(a, buf, sizeof buf) : "null";
}

// libnl parses in place: an aligned, writable copy.
struct Aligned {
    explicit Aligned(const Bytes& b) : words((b.size() + 7) / 8) { std::memcpy(words.data(), b.data(), b.size()); }
    nlmsghdr* hdr() { return reinterpret_cast<nlmsghdr*>(words.data()); }
    std::vector<uint64_t> words;
};

TEST(LibnlXfrmCrosscheck, EspStateReadsTheSame) {
    StateInfo s = testing::esp_tunnel_state(7);
    auto bytes = encode(XfrmMessage{XFRM_MSG_NEWSA, 0, 1, 0, s, {}});
    ASSERT_TRUE(bytes);
    Aligned a(*bytes);
    xfrmnl_sa* sa = nullptr;
    ASSERT_EQ(xfrmnl_sa_parse(a.hdr(), &sa), 0);
    EXPECT_EQ(addr_text(xfrmnl_sa_get_daddr(sa)), "2001:db8::1");
    EXPECT_EQ(uint32_t(xfrmnl_sa_get_spi(sa)), 0x1000u);
    EXPECT_EQ(xfrmnl_sa_get_proto(sa), IPPROTO_ESP);
    EXPECT_EQ(xfrmnl_sa_get_mode(sa), XFRM_MODE_TUNNEL);
    EXPECT_EQ(xfrmnl_sa_get_reqid(sa), 7);
    char name[128] = {};
    char key[128] = {};
    unsigned int key_len = 0;
    ASSERT_EQ(xfrmnl_sa_get_crypto_params(sa, name, &key_len, key), 0);
    EXPECT_STREQ(name, "cbc(aes)");
    EXPECT_EQ(key_len, 128u);
    EXPECT_EQ(uint8_t(key[0]), 0x22);
    xfrmnl_sa_put(sa);
}

TEST(LibnlXfrmCrosscheck, Route2StateCareOfAddress) {
    StateInfo s;
    s.info.sel = make_selector({ip("2001:db8::1"), 128}, {ip("2001:db8:1::100"), 128});
    s.info.id.daddr = to_xfrm_address(ip("2001:db8:1::100"));
    s.info.id.proto = IPPROTO_ROUTING;
    s.info.saddr = to_xfrm_address(ip("2001:db8::1"));
    s.info.family = AF_INET6;
    s.info.mode = XFRM_MODE_ROUTEOPTIMIZATION;
    s.info.lft = infinite_lifetime();
    s.coaddr = to_xfrm_address(ip("2001:db8:2::100"));
    auto bytes = encode(XfrmMessage{XFRM_MSG_NEWSA, 0, 1, 0, s, {}});
    ASSERT_TRUE(bytes);
    Aligned a(*bytes);
    xfrmnl_sa* sa = nullptr;
    ASSERT_EQ(xfrmnl_sa_parse(a.hdr(), &sa), 0);
    EXPECT_EQ(xfrmnl_sa_get_proto(sa), IPPROTO_ROUTING);
    EXPECT_EQ(xfrmnl_sa_get_mode(sa), XFRM_MODE_ROUTEOPTIMIZATION);
    EXPECT_EQ(addr_text(xfrmnl_sa_get_coaddr(sa)), "2001:db8:2::100");
    xfrmnl_sa_put(sa);
}

TEST(LibnlXfrmCrosscheck, PolicyWithTunnelTemplate) {
    PolicyInfo p;
    p.info.sel = make_selector({ip("2001:db8:1::100"), 128}, {ip("::"), 0});
    p.info.lft = infinite_lifetime();
    p.info.priority = 100;
    p.info.index = 42;
    p.info.dir = XFRM_POLICY_FWD;
    p.tmpls.push_back(make_tmpl(IPPROTO_ESP, XFRM_MODE_TUNNEL, 9, ip("2001:db8:3::100"), ip("2001:db8::1")));
    auto bytes = encode(XfrmMessage{XFRM_MSG_NEWPOLICY, 0, 1, 0, p, {}});
    ASSERT_TRUE(bytes);
    Aligned a(*bytes);
    xfrmnl_sp* sp = nullptr;
    ASSERT_EQ(xfrmnl_sp_parse(a.hdr(), &sp), 0);
    EXPECT_EQ(xfrmnl_sp_get_priority(sp), 100);
    EXPECT_EQ(xfrmnl_sp_get_index(sp), 42);
    EXPECT_EQ(xfrmnl_sp_get_dir(sp), XFRM_POLICY_FWD);
    EXPECT_EQ(addr_text(xfrmnl_sel_get_saddr(xfrmnl_sp_get_sel(sp))), "2001:db8:1::100");
    EXPECT_EQ(xfrmnl_sel_get_prefixlen_s(xfrmnl_sp_get_sel(sp)), 128);
    ASSERT_EQ(xfrmnl_sp_get_nusertemplates(sp), 1);
    auto* t = xfrmnl_sp_usertemplate_n(sp, 0);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(addr_text(xfrmnl_user_tmpl_get_saddr(t)), "2001:db8:3::100");
    EXPECT_EQ(addr_text(xfrmnl_user_tmpl_get_daddr(t)), "2001:db8::1");
    EXPECT_EQ(xfrmnl_user_tmpl_get_reqid(t), 9);
    EXPECT_EQ(xfrmnl_user_tmpl_get_mode(t), XFRM_MODE_TUNNEL);
    xfrmnl_sp_put(sp);
}

}  // namespace
}  // namespace nemokey::pfkey::xfrm
