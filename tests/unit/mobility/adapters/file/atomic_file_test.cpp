// Atomic file replacement and whole-file reads (binding snapshots).
#include "mobility/adapters/file/atomic_file.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include "mobility/core/binding/snapshot.hpp"

namespace nemokey::mobility::adapters {
namespace {

namespace fs = std::filesystem;

class AtomicFileTest : public ::testing::Test {
protected:
    fs::path dir = fs::path(::testing::TempDir()) / ("nemokey-file-" + std::to_string(::getpid()));
    void SetUp() override {
        fs::remove_all(dir);
        fs::create_directories(dir);
    }
    void TearDown() override { fs::remove_all(dir); }
    size_t files() const {
        return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
    }
};

TEST_F(AtomicFileTest, WritesReplacesAndLeavesNoTemporaryFile) {
    const fs::path p = dir / "bindings.json";
    EXPECT_FALSE(file_exists(p));
    write_file_atomically(p, "first\n");
    EXPECT_TRUE(file_exists(p));
    EXPECT_EQ(read_file(p), "first\n");
    write_file_atomically(p, std::string(100000, 'x'));
    EXPECT_EQ(read_file(p), std::string(100000, 'x'));
    write_file_atomically(p, "");
    EXPECT_EQ(read_file(p), "");
    EXPECT_EQ(files(), 1u);
    struct stat st {};
    ASSERT_EQ(::stat(p.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);   // a snapshot names every node's addresses
    write_file_atomically(p, "shared\n", 0644);
    ASSERT_EQ(::stat(p.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST_F(AtomicFileTest, FailuresAreExceptionsNamingThePathAndTheSource) {
    try {
        write_file_atomically(dir / "missing" / "bindings.json", "x");
        FAIL() << "no exception";
    } catch (const FileError& e) {
        EXPECT_NE(std::string(e.what()).find("missing/bindings.json"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.where().file_name()).find("atomic_file.cpp"), std::string::npos);
    }
    EXPECT_THROW(read_file(dir / "absent.json"), FileError);
    EXPECT_EQ(files(), 0u);
}

TEST_F(AtomicFileTest, SnapshotThroughAFile) {
    using namespace binding;
    BindingCacheSnapshot s;
    s.taken_at = SnapshotTime{TimePoint{Duration{42}}, 1'790'000'000'000};
    BindingCacheEntry e;
    e.home_agent_address = *Ipv6Address::parse("2001:db8:1::1");
    e.bindings = {CareOfBinding{*Ipv6Address::parse("2001:db8:a::1"), TimePoint{Duration{60'042}}, 0, 5}};
    s.entries = {{*Ipv6Address::parse("2001:db8:1::10"), e}};
    const fs::path p = dir / "bindings.json";
    write_file_atomically(p, encode(s));
    auto back = decode_binding_cache_snapshot(read_file(p));
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_EQ(back.value(), s);
}

}  // namespace
}  // namespace nemokey::mobility::adapters
