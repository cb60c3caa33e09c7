// MIGRATE translation PF_KEY <-> XFRM: the golden pair, property tests
// over generated messages (both directions, through the byte codecs),
// and every case one form cannot express.
#include <gtest/gtest.h>

#include <random>

#include "pfkey/translate/migrate_translate.hpp"
#include "pfkey/xfrm/xfrm_build.hpp"
#include "tests/unit/pfkey/golden.hpp"

namespace nemokey::pfkey {
namespace {

using testing::hex;
using testing::ip;
using testing::random_ip;

TEST(Translate, GoldenPfkeyBecomesGoldenXfrm) {
    auto p = decode_migrate(hex(testing::kMigrateV6));
    ASSERT_TRUE(p) << p.error().to_string();
    auto x = to_xfrm(*p);
    ASSERT_TRUE(x) << x.error().to_string();
    auto bytes = xfrm::encode(*x);
    ASSERT_TRUE(bytes);
    EXPECT_EQ(*bytes, hex(testing::kXfrmMigrateV6));
    auto back = to_pfkey(*x);
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_EQ(*back, *p);
}

PfkeyMigrate random_pfkey(std::mt19937& rng) {
    static const uint8_t ulprotos[] = {255, 6, 17, 58, 135};
    static const uint16_t protos[] = {IPPROTO_ESP, IPPROTO_AH, IPPROTO_COMP};
    PfkeyMigrate m;
    const bool v6 = rng() % 2;
    m.src = net::Prefix{random_ip(rng, v6), uint8_t(rng() % (v6 ? 129 : 33))};
    m.dst = net::Prefix{random_ip(rng, v6), uint8_t(rng() % (v6 ? 129 : 33))};
    m.sport = rng() % 3 ? 0 : uint16_t(rng());
    m.dport = rng() % 3 ? 0 : uint16_t(rng());
    m.ulproto = ulprotos[rng() % 5];
    m.dir = uint8_t(1 + rng() % 3);
    m.policy_id = rng() % 2 ? 0 : uint32_t(rng());
    m.seq = uint32_t(rng());
    m.pid = uint32_t(rng());
    if (rng() % 4) {
        const bool kv6 = rng() % 2;
        m.kmaddress = KmAddress{random_ip(rng, kv6), random_ip(rng, kv6), rng() % 4 ? 0 : uint32_t(rng())};
    }
    const size_t n = 1 + rng() % 6;
    for (size_t i = 0; i < n; ++i) {
        MigrateRequest r;
        r.proto = protos[rng() % 3];
        r.mode = uint8_t(1 + rng() % 3);
        r.reqid = rng() % 3 ? uint32_t(rng() % 0x4000) : 0;
        r.level = r.reqid ? IPSEC_LEVEL_UNIQUE : IPSEC_LEVEL_REQUIRE;
        const bool ov6 = rng() % 2, nv6 = rng() % 2;  // a move may change family
        r.old_src = random_ip(rng, ov6);
        r.old_dst = random_ip(rng, ov6);
        r.new_src = random_ip(rng, nv6);
        r.new_dst = random_ip(rng, nv6);
        m.requests.push_back(r);
    }
    m.satype = satype_from_proto(uint8_t(m.requests[0].proto));
    return m;
}

TEST(TranslateProperty, PfkeyToXfrmToPfkeyThroughBytes) {
    std::mt19937 rng(2026);
    for (int i = 0; i < 3000; ++i) {
        const auto p = random_pfkey(rng);
        auto pb = encode(p);
        ASSERT_TRUE(pb) << pb.error().to_string();
        auto p1 = decode_migrate(*pb);
        ASSERT_TRUE(p1) << p1.error().to_string();
        ASSERT_EQ(*p1, p);
        auto x = to_xfrm(*p1);
        ASSERT_TRUE(x) << x.error().to_string();
        auto xb = xfrm::encode(*x);
        ASSERT_TRUE(xb) << xb.error().to_string();
        auto x1 = xfrm::decode(*xb);
        ASSERT_TRUE(x1) << x1.error().to_string();
        ASSERT_EQ(x1->size(), 1u);
        auto p2 = to_pfkey((*x1)[0]);
        ASSERT_TRUE(p2) << p2.error().to_string();
        ASSERT_EQ(*p2, p) << "iteration " << i;
        auto pb2 = encode(*p2);
        ASSERT_TRUE(pb2);
        EXPECT_EQ(*pb2, *pb);  // byte-identical after the trip
    }
}

xfrm::XfrmMessage random_xfrm(std::mt19937& rng) {
    using namespace xfrm;
    static const uint8_t protos[] = {IPPROTO_ESP, IPPROTO_AH, IPPROTO_COMP};
    static const uint8_t modes[] = {XFRM_MODE_TRANSPORT, XFRM_MODE_TUNNEL, XFRM_MODE_BEET};
    static const uint8_t ulprotos[] = {0, 6, 17, 58, 135};
    const bool v6 = rng() % 2;
    Migrate b;
    b.id.sel = make_selector({random_ip(rng, v6), uint8_t(rng() % (v6 ? 129 : 33))},
                             {random_ip(rng, v6), uint8_t(rng() % (v6 ? 129 : 33))},
                             ulprotos[rng() % 5]);
    if (rng() % 3 == 0) b.id.sel.sport = uint16_t(rng() | 1), b.id.sel.sport_mask = 0xffff;
    if (rng() % 3 == 0) b.id.sel.dport = uint16_t(rng() | 1), b.id.sel.dport_mask = 0xffff;
    b.id.dir = uint8_t(rng() % 3);
    b.id.index = rng() % 2 ? 0 : uint32_t(rng());
    const size_t n = 1 + rng() % 6;
    for (size_t i = 0; i < n; ++i) {
        const bool ov6 = rng() % 2, nv6 = rng() % 2;
        b.migrate.push_back(make_migrate(protos[rng() % 3], modes[rng() % 3],
                                         rng() % 2 ? uint32_t(rng()) : 0, random_ip(rng, ov6),
                                         random_ip(rng, ov6), random_ip(rng, nv6), random_ip(rng, nv6)));
    }
    if (rng() % 4) {
        const bool kv6 = rng() % 2;
        b.kmaddress = make_kmaddress(random_ip(rng, kv6), random_ip(rng, kv6), rng() % 4 ? 0 : uint32_t(rng()));
    }
    XfrmMessage m;
    m.type = XFRM_MSG_MIGRATE;
    m.seq = uint32_t(rng());
    m.pid = uint32_t(rng());
    m.body = b;
    return m;
}

TEST(TranslateProperty, XfrmToPfkeyToXfrmThroughBytes) {
    std::mt19937 rng(4877);
    for (int i = 0; i < 3000; ++i) {
        const auto x = random_xfrm(rng);
        auto xb = xfrm::encode(x);
        ASSERT_TRUE(xb);
        auto x1 = xfrm::decode(*xb);
        ASSERT_TRUE(x1);
        auto p = to_pfkey((*x1)[0]);
        ASSERT_TRUE(p) << p.error().to_string();
        auto pb = encode(*p);
        ASSERT_TRUE(pb) << pb.error().to_string();
        auto p1 = decode_migrate(*pb);
        ASSERT_TRUE(p1) << p1.error().to_string();
        auto x2 = to_xfrm(*p1);
        ASSERT_TRUE(x2) << x2.error().to_string();
        ASSERT_EQ(*x2, x) << "iteration " << i;
        auto xb2 = xfrm::encode(*x2);
        ASSERT_TRUE(xb2);
        EXPECT_EQ(*xb2, *xb);
    }
}

TEST(Translate, RefusesWhatTheOtherFormCannotSay) {
    auto base = testing::migrate_v6();
    auto expect_refused = [](Result<xfrm::XfrmMessage> r, const std::string& field,
                             const std::string& fragment) {
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().extension, field) << r.error().to_string();
        EXPECT_NE(r.error().what.find(fragment), std::string::npos) << r.error().to_string();
    };
    auto p = base;
    p.priority = 7;
    expect_refused(to_xfrm(p), "SADB_X_EXT_POLICY", "priority 7");
    // Linux's own SADB_X_MIGRATE writes "any" as 0: the same as 255.
    p = base;
    p.ulproto = 0;
    auto zero = to_xfrm(p);
    ASSERT_TRUE(zero) << zero.error().to_string();
    EXPECT_EQ(*zero, *to_xfrm(base));
    p = base;
    p.requests[0].level = IPSEC_LEVEL_USE;
    expect_refused(to_xfrm(p), "SADB_X_EXT_POLICY", "level 1 with reqid 1");
    p = base;
    p.requests[0].mode = IPSEC_MODE_ANY;
    expect_refused(to_xfrm(p), "SADB_X_EXT_POLICY", "mode 0");
    p = base;
    p.satype = SADB_SATYPE_AH;
    expect_refused(to_xfrm(p), "sadb_msg_satype", "satype 2");
    p = base;
    p.dir = IPSEC_DIR_ANY;
    expect_refused(to_xfrm(p), "SADB_X_EXT_POLICY", "direction 0");

    auto x = *to_xfrm(base);
    auto expect_refused_x = [](Result<PfkeyMigrate> r, const std::string& field,
                               const std::string& fragment) {
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().extension, field) << r.error().to_string();
        EXPECT_NE(r.error().what.find(fragment), std::string::npos) << r.error().to_string();
    };
    auto y = x;
    std::get<xfrm::Migrate>(y.body).policy_type = XFRM_POLICY_TYPE_SUB;
    expect_refused_x(to_pfkey(y), "XFRMA_POLICY_TYPE", "policy type 1");
    y = x;
    std::get<xfrm::Migrate>(y.body).migrate[0].mode = XFRM_MODE_ROUTEOPTIMIZATION;
    expect_refused_x(to_pfkey(y), "XFRMA_MIGRATE", "entry 1: mode 2");
    y = x;
    std::get<xfrm::Migrate>(y.body).id.sel.sport = htons(80);
    std::get<xfrm::Migrate>(y.body).id.sel.sport_mask = 0xff00;
    expect_refused_x(to_pfkey(y), "xfrm_selector", "port mask");
    y = x;
    std::get<xfrm::Migrate>(y.body).id.sel.ifindex = 3;
    expect_refused_x(to_pfkey(y), "xfrm_selector", "ifindex");
    y = x;
    y.other_attributes.push_back({XFRMA_ENCAP, xfrm::Bytes(24)});
    expect_refused_x(to_pfkey(y), "XFRMA_ENCAP", "attribute present");
    y = x;
    std::get<xfrm::Migrate>(y.body).kmaddress->family = 99;
    expect_refused_x(to_pfkey(y), "XFRMA_KMADDRESS", "family 99");
    // MAIN is the same as absent: accepted.
    y = x;
    std::get<xfrm::Migrate>(y.body).policy_type = XFRM_POLICY_TYPE_MAIN;
    EXPECT_TRUE(to_pfkey(y));
}

}  // namespace
}  // namespace nemokey::pfkey
