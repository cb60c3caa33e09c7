// The mobcert tool end to end, with the openssl binary as an independent
// oracle for the chains, CRLs, keys and RFC 3779 blocks it writes.
#include "tests/unit/certs/temp_dir.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>

using nemokey::certs::testing::TempDir;

namespace {

struct Run {
    int status = -1;
    std::string output;  // stdout and stderr together
};

// Runs a shell command line; arguments here are fixed test data, quoted.
Run run(const std::string& cmd) {
    Run r;
    FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
    if (!p) return r;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
    int st = ::pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

std::string q(const std::string& s) { return "'" + s + "'"; }

class Mobcert : public ::testing::Test {
protected:
    std::string mobcert(const std::string& args) { return std::string(MOBCERT_BIN) + " " + args + " --ca-dir " + q(ca()); }
    std::string ca() const { return dir_ / "ca"; }
    std::string node(const std::string& id) const { return ca() + "/nodes/" + id; }
    std::string cert(const std::string& id) const { return node(id) + "/x509/" + id + ".pem"; }

    void SetUp() override {
        auto r = run(mobcert("init-ca --name 'Test CA'"));
        ASSERT_EQ(r.status, 0) << r.output;
    }

    TempDir dir_;
};

TEST_F(Mobcert, IssueWritesSwanctlLayout) {
    auto r = run(mobcert("issue --role mr --id mr1.example.net --home-address 2001:db8:1::10 --prefix 2001:db8:100::/48"));
    ASSERT_EQ(r.status, 0) << r.output;
    for (const char* f : {"/x509/mr1.example.net.pem", "/x509ca/ca.pem", "/x509crl/ca.crl.pem",
                          "/private/mr1.example.net.pem"}) {
        struct stat st {};
        ASSERT_EQ(::stat((node("mr1.example.net") + f).c_str(), &st), 0) << f;
    }
    struct stat st {};
    ASSERT_EQ(::stat((node("mr1.example.net") + "/private/mr1.example.net.pem").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
}

}  // namespace
