// Key files of RFC 3776 static keying (mobility/adapters/file/static_keys.hpp).
#include "mobility/adapters/file/static_keys.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "mobility/adapters/file/background_writer.hpp"
#include "mobility/adapters/file/atomic_file.hpp"

namespace nemokey::mobility::adapters {
namespace {

net::Ipv6Address a6(const char* t) { return *net::Ipv6Address::parse(t); }

std::vector<conf::StaticSa> plan(const std::string& encryption, const std::string& integrity) {
    conf::StaticSa up{conf::Direction::out, 0x2001, a6("2001:db8:1::100"), a6("2001:db8:1::1"), encryption, integrity,
                      "mn.keys", 0x10001};
    conf::StaticSa down{conf::Direction::in, 0x2002, a6("2001:db8:1::1"), a6("2001:db8:1::100"), encryption, integrity,
                        "mn.keys", 0x10002};
    return {up, down};
}

const char* gcm_file =
    "# comment\n"
    "to-home-agent   0x000102030405060708090a0b0c0d0e0f10111213\n"
    "\n"
    "from-home-agent 101112131415161718191a1b1c1d1e1f20212223  # trailing comment\n";

TEST(StaticKeys, GcmKeysBecomeTwoTransportSasBoundToTheHomeAddress) {
    auto sas = static_sas_from_text(gcm_file, plan("aes128-gcm16", "none"), a6("2001:db8:1::100"), "mn.keys");
    ASSERT_TRUE(sas.ok()) << sas.error().message;
    ASSERT_EQ(sas->size(), 2u);
    const auto& up = (*sas)[0];
    EXPECT_EQ(up.id.spi, 0x2001u);
    EXPECT_EQ(up.id.source, net::IpAddress{a6("2001:db8:1::100")});
    EXPECT_EQ(up.mode, kernel::SaMode::transport);
    EXPECT_EQ(up.reqid, 0x10001u);
    ASSERT_TRUE(up.aead);
    EXPECT_EQ(up.aead->name, "rfc4106(gcm(aes))");
    EXPECT_EQ(up.aead->key.size(), 20u);
    EXPECT_EQ(up.aead->key.front(), 0x00);
    EXPECT_EQ(up.aead->key.back(), 0x13);
    ASSERT_TRUE(up.selector);
    EXPECT_EQ(up.selector->protocol, 135);
    EXPECT_EQ(up.selector->source.length, 128);
    EXPECT_TRUE(up.owner_mark);
    EXPECT_EQ((*sas)[1].aead->key.front(), 0x10);
}

TEST(StaticKeys, TheHomeAgentsPlanGetsTheSameKeysPerDirection) {
    // The home agent's plan calls the SA from the home address "in".
    auto ha_plan = plan("aes128-gcm16", "none");
    ha_plan[0].direction = conf::Direction::in;
    ha_plan[1].direction = conf::Direction::out;
    auto sas = static_sas_from_text(gcm_file, ha_plan, a6("2001:db8:1::100"), "mn.keys");
    ASSERT_TRUE(sas.ok()) << sas.error().message;
    EXPECT_EQ((*sas)[0].id.spi, 0x2001u);
    EXPECT_EQ((*sas)[0].aead->key.front(), 0x00) << "HoA -> HA takes the to-home-agent key on both ends";
    EXPECT_EQ((*sas)[1].aead->key.front(), 0x10);
}

TEST(StaticKeys, CbcNeedsAnEncryptionAndAnHmacKey) {
    std::string k16(32, 'a'), k32(64, 'b');
    std::string text = "to-home-agent " + k16 + " " + k32 + "\nfrom-home-agent " + k16 + " " + k32 + "\n";
    auto sas = static_sas_from_text(text, plan("aes128-cbc", "hmac-sha256-128"), a6("2001:db8:1::100"), "mn.keys");
    ASSERT_TRUE(sas.ok()) << sas.error().message;
    ASSERT_TRUE((*sas)[0].encryption && (*sas)[0].integrity);
    EXPECT_EQ((*sas)[0].integrity->name, "hmac(sha256)");
    EXPECT_EQ((*sas)[0].integrity->icv_or_truncation_bits, 128u);
    auto one_key = static_sas_from_text("to-home-agent " + k16 + "\nfrom-home-agent " + k16 + "\n",
                                        plan("aes128-cbc", "hmac-sha256-128"), a6("2001:db8:1::100"), "mn.keys");
    ASSERT_FALSE(one_key.ok());
    EXPECT_NE(one_key.error().message.find("mn.keys:1"), std::string::npos) << one_key.error().message;
}

TEST(StaticKeys, BadFilesGetAMessageNamingFileAndLine) {
    struct Case {
        const char* text;
        const char* expected;
    } cases[] = {
        {"to-home-agent 0x0001\n", "mn.keys:1"},                                      // wrong length
        {"to-home-agent zz\n", "hex"},                                                // not hex
        {"to-home-agent 000\n", "hex"},                                               // odd digits
        {"sideways 00\n", "unknown direction 'sideways'"},
        {"to-home-agent 000102030405060708090a0b0c0d0e0f10111213\nto-home-agent 00\n", "given twice"},
        {"to-home-agent 000102030405060708090a0b0c0d0e0f10111213\n", "no 'from-home-agent' line"},
        {"to-home-agent\n", "expected one or two hex keys"},
        {"", "no 'to-home-agent' line"},
    };
    for (const auto& c : cases) {
        auto r = static_sas_from_text(c.text, plan("aes128-gcm16", "none"), a6("2001:db8:1::100"), "mn.keys");
        ASSERT_FALSE(r.ok()) << c.text;
        EXPECT_NE(r.error().message.find(c.expected), std::string::npos) << c.text << " -> " << r.error().message;
    }
}

TEST(StaticKeys, AKeyFileReadableByOthersIsRefused) {
    auto dir = std::filesystem::temp_directory_path() / ("nk-keys-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto file = dir / "mn.keys";
    std::ofstream(file) << gcm_file;
    ::chmod(file.c_str(), 0644);
    auto open = read_static_sas(file, plan("aes128-gcm16", "none"), a6("2001:db8:1::100"));
    ASSERT_FALSE(open.ok());
    EXPECT_NE(open.error().message.find("expected 600"), std::string::npos) << open.error().message;
    ::chmod(file.c_str(), 0600);
    auto closed = read_static_sas(file, plan("aes128-gcm16", "none"), a6("2001:db8:1::100"));
    EXPECT_TRUE(closed.ok());
    auto missing = read_static_sas(dir / "gone.keys", plan("aes128-gcm16", "none"), a6("2001:db8:1::100"));
    EXPECT_FALSE(missing.ok());
    std::filesystem::remove_all(dir);
}

TEST(BackgroundFileWriter, TheLatestContentReachesTheFile) {
    auto dir = std::filesystem::temp_directory_path() / ("nk-writer-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto file = dir / "snapshot.json";
    {
        BackgroundFileWriter writer(file);
        for (int i = 0; i < 100; ++i) writer.write("content " + std::to_string(i));
        writer.flush();
        EXPECT_EQ(read_file(file), "content 99");
        EXPECT_GE(writer.written(), 1u);
        EXPECT_LE(writer.written(), 100u);
        EXPECT_EQ(writer.failed(), 0u);
        writer.write("last");
    }   // the destructor writes what is queued
    EXPECT_EQ(read_file(file), "last");
    {
        BackgroundFileWriter writer(dir / "no-such-dir" / "x.json");
        writer.write("x");
        writer.flush();
        EXPECT_EQ(writer.failed(), 1u);
        EXPECT_FALSE(writer.last_error().empty());
    }
    std::filesystem::remove_all(dir);
}

// Encoding handed over as a function runs on the writer's thread, and a
// content superseded before its turn is never encoded.
TEST(BackgroundFileWriter, EncodingRunsOffTheCallersThread) {
    auto dir = std::filesystem::temp_directory_path() / ("nk-writer-enc-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto file = dir / "snapshot.json";
    const auto caller = std::this_thread::get_id();
    std::atomic<int> encoded{0};
    std::atomic<bool> on_caller{false};
    {
        BackgroundFileWriter writer(file);
        for (int i = 0; i < 50; ++i)
            writer.write_encoded([&, i] {
                ++encoded;
                if (std::this_thread::get_id() == caller) on_caller = true;
                return "snapshot " + std::to_string(i);
            });
        writer.flush();
        EXPECT_EQ(read_file(file), "snapshot 49");
        EXPECT_EQ(static_cast<uint64_t>(encoded.load()), writer.written()) << "a superseded content was encoded";
        writer.write_encoded([]() -> std::string { throw std::runtime_error("encoder failed"); });
        writer.flush();
        EXPECT_EQ(writer.failed(), 1u);
        EXPECT_EQ(writer.last_error(), "encoder failed");
        EXPECT_EQ(read_file(file), "snapshot 49") << "a failed encoding replaced the file";
    }
    EXPECT_FALSE(on_caller.load());
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace nemokey::mobility::adapters
