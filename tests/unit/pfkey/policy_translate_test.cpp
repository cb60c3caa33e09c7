// Policy translation PF_KEY <-> XFRM: property tests over generated
// policies, refusals, and the kernel's own two forms of the same events
// (captured from Debian's 6.1 kernel in the kernel VM by kmmonitor) read
// into each other.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <random>

#include "pfkey/translate/migrate_translate.hpp"
#include "pfkey/translate/policy_translate.hpp"
#include "pfkey/xfrm/xfrm_build.hpp"
#include "tests/unit/pfkey/golden.hpp"

namespace nemokey::pfkey {
namespace {

using testing::ip;
using testing::random_ip;

PfkeyMessage random_spd(std::mt19937& rng) {
    static const uint8_t ulprotos[] = {255, 6, 17, 58, 135};
    static const uint16_t protos[] = {IPPROTO_ESP, IPPROTO_AH, IPPROTO_COMP};
    PfkeyMessage m;
    m.header.type = rng() % 2 ? SADB_X_SPDADD : SADB_X_SPDUPDATE;
    m.header.seq = uint32_t(rng());
    m.header.pid = uint32_t(rng());
    const bool v6 = rng() % 2;
    const uint8_t ul = ulprotos[rng() % 5];
    SockAddr s, d;
    s.address = random_ip(rng, v6);
    d.address = random_ip(rng, v6);
    s.port = rng() % 3 ? 0 : uint16_t(rng());
    d.port = rng() % 3 ? 0 : uint16_t(rng());
    m.extensions.push_back(SadbAddress{SADB_EXT_ADDRESS_SRC, ul, uint8_t(rng() % (v6 ? 129 : 33)), 0, s});
    m.extensions.push_back(SadbAddress{SADB_EXT_ADDRESS_DST, ul, uint8_t(rng() % (v6 ? 129 : 33)), 0, d});
    auto lt = [&](uint16_t t) {
        return SadbLifetime{t, rng() % 2 ? 0u : uint32_t(rng()), rng() % 2 ? 0u : uint64_t(rng()),
                            rng() % 2 ? 0u : uint64_t(rng()), rng() % 2 ? 0u : uint64_t(rng())};
    };
    m.extensions.push_back(lt(SADB_EXT_LIFETIME_HARD));
    m.extensions.push_back(lt(SADB_EXT_LIFETIME_SOFT));
    m.extensions.push_back(lt(SADB_EXT_LIFETIME_CURRENT));
    SadbXPolicy pol;
    pol.type = std::array<uint16_t, 3>{IPSEC_POLICY_DISCARD, IPSEC_POLICY_NONE, IPSEC_POLICY_IPSEC}[rng() % 3];
    pol.dir = uint8_t(1 + rng() % 3);
    pol.id = uint32_t(rng());
    pol.priority = uint32_t(rng());
    if (pol.type == IPSEC_POLICY_IPSEC) {
        const size_t n = 1 + rng() % 4;
        for (size_t i = 0; i < n; ++i) {
            IpsecRequest r;
            r.proto = protos[rng() % 3];
            r.mode = uint8_t(1 + rng() % 3);
            r.level = uint8_t(1 + rng() % 3);
            r.reqid = r.level == IPSEC_LEVEL_UNIQUE ? 1 + uint32_t(rng() % 0x3fff) : 0;
            if (r.mode != IPSEC_MODE_TRANSPORT) {
                const bool tv6 = rng() % 2;
                SockAddr a, b;
                a.address = random_ip(rng, tv6);
                b.address = random_ip(rng, tv6);
                r.src = a;
                r.dst = b;
            }
            pol.requests.push_back(r);
        }
    }
    m.extensions.push_back(pol);
    return m;
}

TEST(PolicyTranslateProperty, PfkeyToXfrmToPfkeyThroughBytes) {
    std::mt19937 rng(3775);
    for (int i = 0; i < 3000; ++i) {
        const auto p = random_spd(rng);
        auto pb = encode(p);
        ASSERT_TRUE(pb) << pb.error().to_string();
        auto p1 = decode(*pb);
        ASSERT_TRUE(p1) << p1.error().to_string();
        auto x = policy_to_xfrm(*p1);
        ASSERT_TRUE(x) << x.error().to_string();
        auto xb = xfrm::encode(*x);
        ASSERT_TRUE(xb);
        auto x1 = xfrm::decode(*xb);
        ASSERT_TRUE(x1) << x1.error().to_string();
        auto p2 = policy_to_pfkey((*x1)[0]);
        ASSERT_TRUE(p2) << p2.error().to_string();
        ASSERT_EQ(*p2, p) << "iteration " << i;
        EXPECT_EQ(*encode(*p2), *pb);
        // ... and the XFRM side survives the way back as well.
        auto x2 = policy_to_xfrm(*p2);
        ASSERT_TRUE(x2);
        EXPECT_EQ(*x2, (*x1)[0]);
    }
}

TEST(PolicyTranslate, RefusesWhatTheOtherSideCannotSay) {
    std::mt19937 rng(1);
    PfkeyMessage p;
    do p = random_spd(rng);
    while (!std::get<SadbXPolicy>(p.extensions.back()).requests.size());
    auto& pol = std::get<SadbXPolicy>(p.extensions.back());
    auto q = p;
    std::get<SadbXPolicy>(q.extensions.back()).requests[0].level = IPSEC_LEVEL_DEFAULT;
    auto r = policy_to_xfrm(q);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().what.find("level 0"), std::string::npos) << r.error().to_string();
    q = p;
    std::get<SadbXPolicy>(q.extensions.back()).type = IPSEC_POLICY_BYPASS;
    EXPECT_FALSE(policy_to_xfrm(q));
    q = p;
    std::get<SadbXPolicy>(q.extensions.back()).requests.clear();
    r = policy_to_xfrm(q);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().what.find("reads as NONE"), std::string::npos);
    q = p;
    q.extensions.push_back(SadbXSecCtx{1, 1, {'x'}});
    r = policy_to_xfrm(q);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().extension, "SADB_X_EXT_SEC_CTX");
    (void)pol;

    auto x = *policy_to_xfrm(p);
    auto y = x;
    std::get<xfrm::PolicyInfo>(y.body).info.lft.hard_byte_limit = 0;
    auto b = policy_to_pfkey(y);
    ASSERT_FALSE(b);
    EXPECT_NE(b.error().what.find("a limit of 0"), std::string::npos);
    y = x;
    std::get<xfrm::PolicyInfo>(y.body).info.flags = XFRM_POLICY_LOCALOK;
    EXPECT_FALSE(policy_to_pfkey(y));
    y = x;
    std::get<xfrm::PolicyInfo>(y.body).mark = xfrm_mark{1, 1};
    EXPECT_FALSE(policy_to_pfkey(y));
    y = x;
    std::get<xfrm::PolicyInfo>(y.body).tmpls.at(0).ealgos = 0x10;
    b = policy_to_pfkey(y);
    ASSERT_FALSE(b);
    EXPECT_NE(b.error().what.find("algorithm masks"), std::string::npos);
}

// The messages Linux itself sent on both interfaces for the same events
// (tests/fuzz/pfkey/corpus/*/kernel-6.1-NN.bin, captured by kmmonitor in
// the kernel VM): our translation of one must equal the other.
std::vector<uint8_t> corpus(const std::string& name) {
    std::ifstream in(std::string(PFKEY_CORPUS_DIR) + "/" + name, std::ios::binary);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), {});
}

TEST(KernelAgreement, PolicyAddSeenOnBothInterfaces) {
    auto pf = decode(corpus("pfkey/kernel-6.1-01.bin"));
    auto nl = xfrm::decode(corpus("xfrm/kernel-6.1-01.bin"));
    ASSERT_TRUE(pf) << pf.error().to_string();
    ASSERT_TRUE(nl) << nl.error().to_string();
    ASSERT_EQ(pf->header.type, SADB_X_SPDADD);
    ASSERT_EQ((*nl)[0].type, XFRM_MSG_NEWPOLICY);
    auto x = policy_to_xfrm(*pf);
    ASSERT_TRUE(x) << x.error().to_string();
    auto event = (*nl)[0];
    // The netlink event names the (main) policy type; PF_KEY has no field for it.
    auto& pi = std::get<xfrm::PolicyInfo>(event.body);
    ASSERT_EQ(pi.policy_type.value_or(XFRM_POLICY_TYPE_MAIN), XFRM_POLICY_TYPE_MAIN);
    pi.policy_type.reset();
    EXPECT_EQ(*x, event);
    auto back = policy_to_pfkey((*nl)[0]);
    ASSERT_TRUE(back) << back.error().to_string();
    auto expect = *pf;
    expect.header.reserved = 0;  // Linux's refcount, not content
    EXPECT_EQ(*back, expect);
}

TEST(KernelAgreement, MigrateSeenOnBothInterfaces) {
    for (const char* n : {"kernel-6.1-03.bin", "kernel-6.1-04.bin"}) {
        auto pf = decode_migrate(corpus(std::string("pfkey/") + n));
        auto nl = xfrm::decode(corpus(std::string("xfrm/") + n));
        ASSERT_TRUE(pf) << pf.error().to_string();
        ASSERT_TRUE(nl) << nl.error().to_string();
        auto x = to_xfrm(*pf);
        ASSERT_TRUE(x) << x.error().to_string();
        auto event = (*nl)[0];
        std::get<xfrm::Migrate>(event.body).policy_type.reset();
        EXPECT_EQ(*x, event) << n;
        auto back = to_pfkey((*nl)[0]);
        ASSERT_TRUE(back) << back.error().to_string();
        auto expect = *pf;
        expect.ulproto = IPSEC_ULPROTO_ANY;  // Linux writes "any" as 0 in SADB_X_MIGRATE
        EXPECT_EQ(*back, expect) << n;
    }
}

}  // namespace
}  // namespace nemokey::pfkey
