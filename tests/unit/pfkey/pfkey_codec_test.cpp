// PF_KEY v2 codec: golden vectors written by hand from RFC 2367 sec. 2.3,
// draft-sugimoto-mip6-pfkey-migrate sec. 4 and
// draft-ebalard-mext-pfkey-enhanced-migrate sec. 3 (Linux byte order:
// host order for lengths and counters, network order for SPI and ports).
#include <gtest/gtest.h>
#include <linux/ipsec.h>
#include <linux/pfkeyv2.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "pfkey/codec/pfkey_migrate.hpp"
#include "tests/unit/pfkey/golden.hpp"
#include "tests/unit/pfkey/test_util.hpp"

namespace nemokey::pfkey {
namespace {

using testing::hex;
using testing::ip;
using testing::kAddV4;
using testing::kMigrateV6;

PfkeyMigrate migrate_v6() { return testing::migrate_v6(); }

TEST(PfkeyMigrate, EncodesGoldenVector) {
    auto bytes = encode(migrate_v6());
    ASSERT_TRUE(bytes) << bytes.error().to_string();
    EXPECT_EQ(*bytes, hex(kMigrateV6));
}

TEST(PfkeyMigrate, DecodesGoldenVector) {
    auto m = decode_migrate(hex(kMigrateV6));
    ASSERT_TRUE(m) << m.error().to_string();
    EXPECT_EQ(*m, migrate_v6());
}

TEST(PfkeyMigrate, KmaddressIsOptional) {
    auto m = migrate_v6();
    m.kmaddress.reset();
    auto bytes = encode(m);
    ASSERT_TRUE(bytes);
    EXPECT_EQ(bytes->size(), hex(kMigrateV6).size() - 64);
    auto back = decode_migrate(*bytes);
    ASSERT_TRUE(back);
    EXPECT_FALSE(back->kmaddress);
    EXPECT_EQ(*back, m);
}

TEST(PfkeyMigrate, ExtensionsInAnyOrder) {
    // Linux's parse_exthdrs indexes extensions by type, whatever their
    // order (RFC 2367 sec. 2.3 only recommends one): so does the decoder,
    // and the message keeps the order it came in.
    auto msg = to_message(migrate_v6());
    std::reverse(msg.extensions.begin(), msg.extensions.end());
    auto bytes = encode(msg);
    ASSERT_TRUE(bytes);
    EXPECT_NE(*bytes, hex(kMigrateV6));
    auto back = decode(*bytes);
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_EQ(*back, msg);
    EXPECT_EQ(extension_type(back->extensions.front()), SADB_X_EXT_POLICY);
    auto typed = migrate_from_message(*back);
    ASSERT_TRUE(typed) << typed.error().to_string();
    EXPECT_EQ(*typed, migrate_v6());
}

TEST(PfkeyMigrate, Ipv4GoldenVector) {
    // IPv4 sockaddr pairs are 32 bytes; the address extensions 3 words.
    const auto golden = hex(
        "02 18 00 03  1b 00  00 00  00 00 00 00  00 00 00 00"  // 27 words
        "05 00 19 00  2a 00 00 00"                             // KMADDRESS, reserved 42
        "02 00 00 00 c0 00 02 0a 00 00 00 00 00 00 00 00"      // 192.0.2.10
        "02 00 00 00 c6 33 64 01 00 00 00 00 00 00 00 00"      // 198.51.100.1
        "03 00 05 00  06 18 00 00  02 00 04 d2 0a 00 00 00 00 00 00 00 00 00 00 00"
        "03 00 06 00  06 10 00 00  02 00 00 50 0a 01 00 00 00 00 00 00 00 00 00 00"
        "0e 00 12 00  02 00 03 00  05 00 00 00  00 00 00 00"  // policy fwd, id 5
        "30 00 32 00  01 02 00 00  00 00 00 00  00 00 00 00"  // transport, require
        "02 00 00 00 c0 00 02 01 00 00 00 00 00 00 00 00"
        "02 00 00 00 c6 33 64 01 00 00 00 00 00 00 00 00"
        "30 00 32 00  01 02 00 00  00 00 00 00  00 00 00 00"
        "02 00 00 00 c0 00 02 0a 00 00 00 00 00 00 00 00"
        "02 00 00 00 c6 33 64 01 00 00 00 00 00 00 00 00");
    PfkeyMigrate m;
    m.satype = SADB_SATYPE_ESP;
    m.src = net::Prefix{ip("10.0.0.0"), 24};
    m.dst = net::Prefix{ip("10.1.0.0"), 16};
    m.sport = 1234;
    m.dport = 80;
    m.ulproto = IPPROTO_TCP;
    m.dir = IPSEC_DIR_FWD;
    m.policy_id = 5;
    m.kmaddress = KmAddress{ip("192.0.2.10"), ip("198.51.100.1"), 42};
    m.requests.push_back(MigrateRequest{IPPROTO_ESP, IPSEC_MODE_TRANSPORT, IPSEC_LEVEL_REQUIRE, 0,
                                        ip("192.0.2.1"), ip("198.51.100.1"), ip("192.0.2.10"),
                                        ip("198.51.100.1")});
    auto bytes = encode(m);
    ASSERT_TRUE(bytes) << bytes.error().to_string();
    EXPECT_EQ(*bytes, golden);
    auto back = decode_migrate(golden);
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_EQ(*back, m);
}

PfkeyMessage add_v4() {
    PfkeyMessage m;
    m.header.type = SADB_ADD;
    m.header.satype = SADB_SATYPE_ESP;
    m.header.seq = 1;
    m.header.pid = 42;
    m.extensions.push_back(SadbSa{0x12345678, 32, SADB_SASTATE_MATURE, SADB_AALG_SHA1HMAC,
                                  SADB_X_EALG_AESCBC, 0});
    m.extensions.push_back(SadbLifetime{SADB_EXT_LIFETIME_HARD, 0, 0, 3600, 0});
    m.extensions.push_back(SadbAddress{SADB_EXT_ADDRESS_SRC, 255, 32, 0, {ip("192.0.2.1")}});
    m.extensions.push_back(SadbAddress{SADB_EXT_ADDRESS_DST, 255, 32, 0, {ip("198.51.100.1")}});
    SadbKey auth{SADB_EXT_KEY_AUTH, 160, 0, {}};
    for (int i = 0; i < 20; ++i) auth.key.push_back(uint8_t(i));
    m.extensions.push_back(auth);
    SadbKey enc{SADB_EXT_KEY_ENCRYPT, 128, 0, {}};
    for (int i = 0; i < 16; ++i) enc.key.push_back(uint8_t(0xa0 + i));
    m.extensions.push_back(enc);
    m.extensions.push_back(SadbIdent{SADB_EXT_IDENTITY_SRC, SADB_IDENTTYPE_FQDN, 0, 0, "mn.example"});
    m.extensions.push_back(SadbXSa2{IPSEC_MODE_TUNNEL, 0, 0, 0, 5});
    m.extensions.push_back(SadbXNatTType{2});
    m.extensions.push_back(SadbXNatTPort{SADB_X_EXT_NAT_T_SPORT, 4500, 0});
    m.extensions.push_back(SadbXNatTPort{SADB_X_EXT_NAT_T_DPORT, 4500, 0});
    m.extensions.push_back(SadbAddress{SADB_X_EXT_NAT_T_OA, 0, 32, 0, {ip("10.0.0.5")}});
    return m;
}

TEST(PfkeyMessage, AddGoldenVector) {
    auto bytes = encode(add_v4());
    ASSERT_TRUE(bytes) << bytes.error().to_string();
    EXPECT_EQ(*bytes, hex(kAddV4));
    auto back = decode(hex(kAddV4));
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_EQ(*back, add_v4());
    EXPECT_EQ(back->get<SadbSa>(SADB_EXT_SA)->spi, 0x12345678u);
}

TEST(PfkeyMessage, SpdaddWithTunnelRequestGoldenVector) {
    // SADB_X_SPDADD: selector, policy with one tunnel request.
    const auto golden = hex(
        "02 0e 00 00  17 00  00 00  00 00 00 00  00 00 00 00"
        "05 00 05 00  87 80 00 00" SIN6(HOA) "00 00 00 00"  // proto 135 (MH)
        "05 00 06 00  87 00 00 00  0a 00 00 00 00 00 00 00"
        "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  00 00 00 00  00 00 00 00"
        "0b 00 12 00  02 00 02 00  00 00 00 00  64 00 00 00"  // out, priority 100
        "48 00 32 00  02 02 00 00  00 00 00 00  00 00 00 00" SIN6(OCOA) SIN6(HA));
    PfkeyMessage m;
    m.header.type = SADB_X_SPDADD;
    m.extensions.push_back(SadbAddress{SADB_EXT_ADDRESS_SRC, 135, 128, 0, {ip("2001:db8:1::100")}});
    m.extensions.push_back(SadbAddress{SADB_EXT_ADDRESS_DST, 135, 0, 0, {ip("::")}});
    SadbXPolicy pol{IPSEC_POLICY_IPSEC, IPSEC_DIR_OUTBOUND, 0, 0, 100, {}};
    SockAddr s, d;
    s.address = ip("2001:db8:3::100");
    d.address = ip("2001:db8::1");
    pol.requests.push_back(IpsecRequest{IPPROTO_ESP, IPSEC_MODE_TUNNEL, IPSEC_LEVEL_REQUIRE, 0, s, d});
    m.extensions.push_back(pol);
    auto bytes = encode(m);
    ASSERT_TRUE(bytes) << bytes.error().to_string();
    EXPECT_EQ(*bytes, golden);
    auto back = decode(golden);
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_EQ(*back, m);
}

TEST(PfkeyMessage, RegisterReplyWithSupportedAndAcquireWithProposal) {
    PfkeyMessage reg;
    reg.header.type = SADB_REGISTER;
    reg.header.satype = SADB_SATYPE_ESP;
    reg.extensions.push_back(
        SadbSupported{SADB_EXT_SUPPORTED_AUTH, {{SADB_AALG_SHA1HMAC, 0, 160, 160, 0}}});
    reg.extensions.push_back(SadbSupported{SADB_EXT_SUPPORTED_ENCRYPT,
                                           {{SADB_X_EALG_AESCBC, 8, 128, 256, 0},
                                            {SADB_EALG_NULL, 0, 0, 0, 0}}});
    auto bytes = encode(reg);
    ASSERT_TRUE(bytes);
    // sadb_msg 16 + (8 + 8) + (8 + 16)
    ASSERT_EQ(bytes->size(), 56u);
    EXPECT_EQ((*bytes)[4], 7);  // sadb_msg_len in words
    auto back = decode(*bytes);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, reg);

    PfkeyMessage acq;
    acq.header.type = SADB_ACQUIRE;
    acq.header.satype = SADB_SATYPE_ESP;
    acq.extensions.push_back(SadbAddress{SADB_EXT_ADDRESS_SRC, 0, 32, 0, {ip("192.0.2.1")}});
    acq.extensions.push_back(SadbAddress{SADB_EXT_ADDRESS_DST, 0, 32, 0, {ip("192.0.2.2")}});
    acq.extensions.push_back(SadbXPolicy{IPSEC_POLICY_IPSEC, IPSEC_DIR_OUTBOUND, 0, 9, 0, {}});
    SadbComb c;
    c.auth = SADB_AALG_SHA1HMAC;
    c.encrypt = SADB_X_EALG_AESCBC;
    c.hard_addtime = 86400;
    acq.extensions.push_back(SadbProp{32, {c, c}});
    acq.extensions.push_back(SadbSpirange{0x100, 0x200});
    acq.extensions.push_back(SadbXSecCtx{1, 1, {'s', 'y', 's', 't', 'e', 'm', '_', 'u'}});
    acq.extensions.push_back(SadbXKmprivate{});
    acq.extensions.push_back(SadbXFilter{{1}, {2}, AF_INET, 8, 16});
    acq.extensions.push_back(SadbLifetime{SADB_EXT_LIFETIME_CURRENT, 1, 2, 3, 4});
    acq.extensions.push_back(RawExtension{SADB_EXT_SENSITIVITY, Bytes(12, 0x55)});
    auto b2 = encode(acq);
    ASSERT_TRUE(b2) << b2.error().to_string();
    auto back2 = decode(*b2);
    ASSERT_TRUE(back2) << back2.error().to_string();
    EXPECT_EQ(*back2, acq);
}

// ---- malformed input ----------------------------------------------------

void expect_error(const std::vector<uint8_t>& bytes, const std::string& ext, size_t offset,
                  const std::string& fragment) {
    auto r = decode(bytes);
    ASSERT_FALSE(r) << "decoded unexpectedly";
    EXPECT_EQ(r.error().extension, ext) << r.error().to_string();
    EXPECT_EQ(r.error().offset, offset) << r.error().to_string();
    EXPECT_NE(r.error().to_string().find(fragment), std::string::npos) << r.error().to_string();
}

std::vector<uint8_t> golden() { return hex(kMigrateV6); }

void set16(std::vector<uint8_t>& b, size_t at, uint16_t v) { std::memcpy(&b[at], &v, 2); }

TEST(PfkeyMalformed, EveryTruncationIsAnError) {
    const auto g = golden();
    for (size_t n = 0; n < g.size(); ++n) {
        std::vector<uint8_t> b(g.begin(), g.begin() + long(n));
        auto r = decode(b);
        EXPECT_FALSE(r) << "prefix of " << n << " bytes decoded";
        // Also with sadb_msg_len fixed up to the truncated size, so the
        // extension walk (not the length check) has to catch it.
        if (n >= 16 && n % 8 == 0) {
            set16(b, 4, uint16_t(n / 8));
            auto r2 = decode_migrate(b);
            EXPECT_FALSE(r2) << "fixed-up prefix of " << n << " bytes decoded";
        }
    }
}

TEST(PfkeyMalformed, HeaderChecks) {
    auto b = golden();
    b[0] = 1;
    expect_error(b, "", 0, "sadb_msg_version 1");
    b = golden();
    b[1] = 0;
    expect_error(b, "", 1, "sadb_msg_type 0 out of range");
    b[1] = 25;
    expect_error(b, "", 1, "sadb_msg_type 25");
    b = golden();
    set16(b, 6, 3);  // Linux's policy messages carry a refcount here: kept
    auto kept = decode(b);
    ASSERT_TRUE(kept) << kept.error().to_string();
    EXPECT_EQ(kept->header.reserved, 3);
    EXPECT_EQ(*encode(*kept), b);
    b = golden();
    set16(b, 4, 41);  // overlong: claims one word more than present
    expect_error(b, "", 4, "sadb_msg_len 41 (328 bytes) but 320 bytes present");
    b = golden();
    b.resize(b.size() + 8);
    expect_error(b, "", 4, "but 328 bytes present");
}

TEST(PfkeyMalformed, ExtensionFraming) {
    auto b = golden();
    set16(b, 16, 0);  // KMADDRESS with zero length
    expect_error(b, "SADB_X_EXT_KMADDRESS", 16, "zero length");
    b = golden();
    set16(b, 16, 60);  // overruns the message
    expect_error(b, "SADB_X_EXT_KMADDRESS", 16, "overruns the message (304 left)");
    b = golden();
    set16(b, 18, 0);  // reserved extension type
    expect_error(b, "SADB_EXT_RESERVED", 18, "reserved");
    b = golden();
    set16(b, 80 + 2, SADB_EXT_ADDRESS_DST);  // SRC retyped as DST: duplicate
    expect_error(b, "SADB_EXT_ADDRESS_DST", 120, "duplicate extension (first at offset 80)");
    b = golden();
    set16(b, 160, 1);  // policy shorter than its 16-byte minimum
    expect_error(b, "SADB_X_EXT_POLICY", 160, "at least 16 needed");
}

TEST(PfkeyMalformed, AddressChecks) {
    auto b = golden();
    b[80 + 5] = 129;  // prefix length out of range
    expect_error(b, "SADB_EXT_ADDRESS_SRC", 85, "prefix length 129 out of range (0..128)");
    b = golden();
    b[88] = 7;  // sockaddr family not INET/INET6
    expect_error(b, "SADB_EXT_ADDRESS_SRC", 88, "unsupported sockaddr family 7");
    b = golden();
    b[128] = 2;  // destination claims AF_INET inside an IPv6-sized extension
    expect_error(b, "SADB_EXT_ADDRESS_DST", 120, "length 40 bytes, expected 24");
}

TEST(PfkeyMalformed, FamilyMismatchBetweenSourceAndDestination) {
    PfkeyMessage m;
    m.header.type = SADB_X_SPDADD;
    m.extensions.push_back(SadbAddress{SADB_EXT_ADDRESS_SRC, 255, 128, 0, {ip("2001:db8::1")}});
    m.extensions.push_back(SadbAddress{SADB_EXT_ADDRESS_DST, 255, 32, 0, {ip("192.0.2.1")}});
    auto bytes = encode(m);
    ASSERT_TRUE(bytes);
    expect_error(*bytes, "SADB_EXT_ADDRESS_DST", 56, "source is AF_INET6, destination is AF_INET");
}

TEST(PfkeyMalformed, KmaddressAndRequestChecks) {
    auto b = golden();
    b[24 + 28] = 2;  // remote sockaddr says AF_INET: pair family mismatch
    expect_error(b, "SADB_X_EXT_KMADDRESS", 24, "address family mismatch in sockaddr pair");
    b = golden();
    set16(b, 176, 8);  // ipsecrequest shorter than its header
    expect_error(b, "SADB_X_EXT_POLICY", 176, "ipsecrequest length 8 bytes is shorter");
    b = golden();
    set16(b, 176, 200);  // ipsecrequest overruns the policy
    expect_error(b, "SADB_X_EXT_POLICY", 176, "overruns the policy (144 left)");
    b = golden();
    b[176 + 16 + 28] = 99;  // second sockaddr of the old pair: bad family
    expect_error(b, "SADB_X_EXT_POLICY", 176 + 16, "unsupported sockaddr family 99");
}

TEST(PfkeyMalformed, KeyLongerThanExtension) {
    auto b = hex(kAddV4);
    // KEY_ENCRYPT is at 16+16+32+24+24+32 = 144; claim 256 bits in 16 bytes.
    set16(b, 144 + 4, 256);
    expect_error(b, "SADB_EXT_KEY_ENCRYPT", 148, "key of 256 bits needs 32 bytes, only 16 present");
}

TEST(PfkeyMalformed, UnknownExtensionKeptButRejectedByMigrate) {
    // Linux skips extension types above SADB_EXT_MAX; the generic decoder
    // keeps them raw, the typed MIGRATE refuses what it cannot represent.
    auto b = golden();
    auto extra = hex("01 00 28 00 de ad be ef");
    b.insert(b.end(), extra.begin(), extra.end());
    set16(b, 4, uint16_t(b.size() / 8));
    auto r = decode(b);
    ASSERT_TRUE(r) << r.error().to_string();
    auto* raw = r->get<RawExtension>(40);
    ASSERT_NE(raw, nullptr);
    EXPECT_EQ(raw->body, hex("de ad be ef"));
    auto again = encode(*r);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, b);
    auto m = migrate_from_message(*r);
    ASSERT_FALSE(m);
    EXPECT_NE(m.error().what.find("unexpected extension type 40"), std::string::npos)
        << m.error().to_string();
}

TEST(PfkeyMalformed, MigrateErrorsFromBytesCarryTheExtensionOffset) {
    auto b = golden();
    b[160 + 6] = 7;  // SADB_X_EXT_POLICY direction 7
    auto r = decode_migrate(b);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().extension, "SADB_X_EXT_POLICY");
    EXPECT_EQ(r.error().offset, 160u);
    EXPECT_EQ(r.error().to_string(),
              "SADB_X_MIGRATE SADB_X_EXT_POLICY at offset 160: direction 7 is not inbound (1), "
              "outbound (2) or forward (3)");
}

TEST(PfkeyMalformed, MigrateSemanticChecks) {
    auto base = *decode(golden());
    {
        auto m = base;
        std::erase_if(m.extensions,
                      [](const Extension& e) { return extension_type(e) == SADB_X_EXT_POLICY; });
        auto r = migrate_from_message(m);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().extension, "SADB_X_EXT_POLICY");
        EXPECT_NE(r.error().what.find("missing"), std::string::npos);
    }
    {
        auto m = base;
        for (auto& e : m.extensions)
            if (auto* p = std::get_if<SadbXPolicy>(&e)) p->dir = 4;
        auto r = migrate_from_message(m);
        ASSERT_FALSE(r);
        EXPECT_NE(r.error().what.find("direction 4"), std::string::npos);
    }
    {
        auto m = base;
        for (auto& e : m.extensions)
            if (auto* p = std::get_if<SadbXPolicy>(&e)) p->requests.pop_back();
        auto r = migrate_from_message(m);
        ASSERT_FALSE(r);
        EXPECT_NE(r.error().what.find("old/new pairs"), std::string::npos);
    }
    {
        auto m = base;
        for (auto& e : m.extensions)
            if (auto* p = std::get_if<SadbXPolicy>(&e)) p->requests[1].reqid = 2;
        auto r = migrate_from_message(m);
        ASSERT_FALSE(r);
        EXPECT_NE(r.error().what.find("ipsecrequest pair 1"), std::string::npos);
    }
}

TEST(PfkeyEncode, RefusesWhatCannotBeWritten) {
    PfkeyMessage m;
    m.header.type = SADB_ADD;
    m.extensions.push_back(SadbAddress{SADB_EXT_ADDRESS_SRC, 0, 33, 0, {ip("192.0.2.1")}});
    auto r = encode(m);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().extension, "SADB_EXT_ADDRESS_SRC");
    EXPECT_NE(r.error().what.find("prefix length 33"), std::string::npos);

    m.extensions = {SadbKey{SADB_EXT_KEY_AUTH, 128, 0, Bytes(15)}};
    r = encode(m);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().what.find("15 bytes does not match 128 bits"), std::string::npos);

    m.extensions = {SadbSa{}, SadbSa{}};
    r = encode(m);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what, "duplicate extension");

    SadbXKmaddress k;
    k.local.address = ip("192.0.2.1");
    k.remote.address = ip("2001:db8::1");
    m.extensions = {k};
    r = encode(m);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().what.find("different families"), std::string::npos);
}

TEST(PfkeyMalformed, RandomByteFlipsNeverCrash) {
    // Whatever decodes must re-encode to a message that decodes the same.
    std::mt19937 rng(5);
    for (const char* g : {kMigrateV6, kAddV4}) {
        const auto base = hex(g);
        for (int i = 0; i < 20000; ++i) {
            auto b = base;
            const int flips = 1 + int(rng() % 4);
            for (int f = 0; f < flips; ++f) b[rng() % b.size()] = uint8_t(rng());
            auto r = decode(b);
            if (r) {
                auto again = encode(*r);
                ASSERT_TRUE(again) << again.error().to_string();
                auto back = decode(*again);
                ASSERT_TRUE(back);
                EXPECT_EQ(*back, *r);
                (void)decode_migrate(b);
            } else {
                EXPECT_FALSE(r.error().what.empty());
            }
        }
    }
}

}  // namespace
}  // namespace nemokey::pfkey
