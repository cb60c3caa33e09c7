// kmmonitor's records: the same MIGRATE seen on PF_KEY and on netlink reads
// the same, keys are never printed, unknown bytes come out in hex, and
// capture lines round-trip.
#include <gtest/gtest.h>

#include "pfkey/kmmonitor/event_format.hpp"
#include "pfkey/xfrm/xfrm_message.hpp"
#include "tests/unit/pfkey/golden.hpp"

namespace nemokey::pfkey::kmmonitor {
namespace {

using pfkey::testing::hex;

Datagram dg(Source s, const char* h) {
    return Datagram{std::chrono::system_clock::from_time_t(1795472000) + std::chrono::milliseconds(42), s, hex(h)};
}

TEST(Kmmonitor, MigrateReadsTheSameOnBothInterfaces) {
    auto pf = describe(dg(Source::pfkey, pfkey::testing::kMigrateV6));
    auto nl = describe(dg(Source::xfrm, pfkey::testing::kXfrmMigrateV6));
    ASSERT_EQ(pf.size(), 1u);
    ASSERT_EQ(nl.size(), 1u);
    EXPECT_EQ(pf[0].category, Category::migrate);
    EXPECT_EQ(nl[0].category, Category::migrate);
    EXPECT_EQ(pf[0].json["type"], "SADB_X_MIGRATE");
    EXPECT_EQ(nl[0].json["type"], "XFRM_MSG_MIGRATE");
    EXPECT_EQ(pf[0].json["moves"], nl[0].json["moves"]);
    EXPECT_EQ(pf[0].json["kmaddress"], nl[0].json["kmaddress"]);
    EXPECT_EQ(pf[0].json["dir"], nl[0].json["dir"]);
    EXPECT_EQ(nl[0].json["moves"][0]["old"], "2001:db8:3::100->2001:db8::1");
    EXPECT_EQ(nl[0].json["moves"][0]["new"], "2001:db8:2::100->2001:db8::1");
    EXPECT_EQ(nl[0].json["kmaddress"]["local"], "2001:db8:2::100");
    const auto text = to_text(pf[0].json);
    // 1795472000 s + 42 ms after the epoch, in UTC, first on the line.
    EXPECT_EQ(text.rfind("2026-11-23T22:13:20.042Z pfkey SADB_X_MIGRATE satype=esp", 0), 0u) << text;
    EXPECT_NE(text.find("moves=[proto=esp mode=tunnel reqid=1 old=2001:db8:3::100->2001:db8::1 "
                        "new=2001:db8:2::100->2001:db8::1]"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("kmaddress=local=2001:db8:2::100 remote=2001:db8::1"), std::string::npos) << text;
    EXPECT_EQ(to_text(pf[0].json, false).rfind("pfkey SADB_X_MIGRATE", 0), 0u);
}

TEST(Kmmonitor, KeyMaterialIsNeverPrinted) {
    auto r = describe(dg(Source::pfkey, pfkey::testing::kAddV4));
    ASSERT_EQ(r.size(), 1u);
    const std::string all = r[0].json.dump() + to_text(r[0].json);
    EXPECT_EQ(all.find("000102030405"), std::string::npos);
    EXPECT_EQ(all.find("a0a1a2a3"), std::string::npos);
    EXPECT_EQ(r[0].json["auth_key_bits"], 160);
    EXPECT_EQ(r[0].json["encrypt_key_bits"], 128);
    EXPECT_EQ(r[0].json["spi"], "0x12345678");
    EXPECT_EQ(r[0].json["src_identity"], "mn.example");
    EXPECT_EQ(r[0].category, Category::sa);
}

TEST(Kmmonitor, UnknownAndUndecodableMessagesInHex) {
    auto bad = describe(dg(Source::xfrm, "01 02 03"));
    ASSERT_EQ(bad.size(), 1u);
    EXPECT_EQ(bad[0].json["type"], "unknown");
    EXPECT_EQ(bad[0].json["hex"], "010203");
    EXPECT_NE(bad[0].json["error"].get<std::string>().find("truncated nlmsghdr"), std::string::npos);
    // A well-framed message of a type the codec does not model.
    auto ae = describe(dg(Source::xfrm, "14 00 00 00  1e 00 00 00  01 00 00 00  00 00 00 00  de ad be ef"));
    ASSERT_EQ(ae.size(), 1u);
    EXPECT_EQ(ae[0].json["type"], "XFRM_MSG_NEWAE");
    EXPECT_EQ(ae[0].json["hex"], "deadbeef");
    EXPECT_EQ(ae[0].category, Category::other);
    auto pfbad = describe(dg(Source::pfkey, "02 18 00 03"));
    EXPECT_EQ(pfbad[0].json["hex"], "02180003");
}

TEST(Kmmonitor, CaptureLinesRoundTrip) {
    const auto d = dg(Source::xfrm, pfkey::testing::kXfrmErrorExtAck);
    const auto line = to_capture_line(d);
    std::string err;
    auto back = parse_capture_line(line, err);
    ASSERT_TRUE(back) << err;
    EXPECT_EQ(back->bytes, d.bytes);
    EXPECT_EQ(back->source, Source::xfrm);
    EXPECT_EQ(back->time, d.time);
    auto rec = describe(*back);
    EXPECT_EQ(rec[0].json["ext_ack"], "No such policy");
    EXPECT_EQ(rec[0].json["request"], "XFRM_MSG_MIGRATE");

    EXPECT_TRUE(parse_capture_line("pfkey 0218", err));  // time is optional
    EXPECT_FALSE(parse_capture_line("pfkey 021", err));
    EXPECT_EQ(err, "odd number of hex digits");
    EXPECT_FALSE(parse_capture_line("udp 0218", err));
    EXPECT_EQ(err, "unknown source 'udp' (pfkey or xfrm)");
    EXPECT_FALSE(parse_capture_line("yesterday xfrm 00", err));
    EXPECT_EQ(err, "bad timestamp 'yesterday'");
    EXPECT_FALSE(parse_capture_line("xfrm 0g", err));
}

TEST(Kmmonitor, Categories) {
    EXPECT_EQ(parse_category("migrate"), Category::migrate);
    EXPECT_EQ(parse_category("mapping"), Category::mapping);
    EXPECT_FALSE(parse_category("bogus"));
}

}  // namespace
}  // namespace nemokey::pfkey::kmmonitor
