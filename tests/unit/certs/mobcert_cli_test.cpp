// The mobcert tool end to end, with the openssl binary as an independent
// oracle for the chains, CRLs, keys and RFC 3779 blocks it writes.
#include "tests/unit/certs/temp_dir.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <iterator>
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
    // Issuing the same identity into the same folder again is refused up
    // front: no new key, no new index entry.
    std::string key_before;
    {
        std::ifstream in(node("mr1.example.net") + "/private/mr1.example.net.pem");
        key_before.assign(std::istreambuf_iterator<char>(in), {});
    }
    r = run(mobcert("issue --role mr --id mr1.example.net --home-address 2001:db8:1::10"));
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_NE(r.output.find("refusing to overwrite"), std::string::npos) << r.output;
    std::ifstream in(node("mr1.example.net") + "/private/mr1.example.net.pem");
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), key_before);
    r = run(mobcert("show"));
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
}


Run openssl_verify(const std::string& ca_file, const std::string& crl_file, const std::string& cert) {
    std::string cmd = std::string(OPENSSL_BIN) + " verify -CAfile " + q(ca_file);
    if (!crl_file.empty()) cmd += " -crl_check -CRLfile " + q(crl_file);
    return run(cmd + " " + q(cert));
}

TEST_F(Mobcert, OpensslVerifyAcceptsEveryRoleAndKeyType) {
    ASSERT_EQ(run(mobcert("issue --role ha --id ha.example.net --home-address 2001:db8:1::1 --key-type rsa3072")).status, 0);
    ASSERT_EQ(run(mobcert("issue --role mn --id alice@example.net --home-address 2001:db8:1::11 --key-type ed25519")).status, 0);
    ASSERT_EQ(run(mobcert("issue --role mr --id mr1.example.net --home-address 2001:db8:1::10 --prefix 2001:db8:100::/48 "
                          "--prefix 2001:db8:200::/56")).status, 0);
    for (const char* id : {"ha.example.net", "alice@example.net", "mr1.example.net"}) {
        auto r = openssl_verify(ca() + "/x509ca/ca.pem", ca() + "/x509crl/ca.crl.pem", cert(id));
        EXPECT_EQ(r.status, 0) << id << ": " << r.output;
        EXPECT_NE(r.output.find(": OK"), std::string::npos) << r.output;
        // The node folder's own copies of CA and CRL work the same.
        r = openssl_verify(node(id) + "/x509ca/ca.pem", node(id) + "/x509crl/ca.crl.pem", cert(id));
        EXPECT_EQ(r.status, 0) << id << ": " << r.output;
    }
}

TEST_F(Mobcert, RevokedCertificateFailsOpensslVerifyWithTheCrl) {
    ASSERT_EQ(run(mobcert("issue --role mn --id lost.example.net --home-address 2001:db8:1::20")).status, 0);
    ASSERT_EQ(run(mobcert("issue --role mn --id kept.example.net --home-address 2001:db8:1::21")).status, 0);
    auto r = run(mobcert("revoke lost.example.net --reason keyCompromise"));
    ASSERT_EQ(r.status, 0) << r.output;
    r = openssl_verify(ca() + "/x509ca/ca.pem", ca() + "/x509crl/ca.crl.pem", cert("lost.example.net"));
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("certificate revoked"), std::string::npos) << r.output;
    r = openssl_verify(ca() + "/x509ca/ca.pem", ca() + "/x509crl/ca.crl.pem", cert("kept.example.net"));
    EXPECT_EQ(r.status, 0) << r.output;
    // The CRL names the serial with its reason.
    r = run(std::string(OPENSSL_BIN) + " crl -noout -text -in " + q(ca() + "/x509crl/ca.crl.pem"));
    EXPECT_NE(r.output.find("Key Compromise"), std::string::npos) << r.output;
    // mobcert agrees, and says why.
    r = run(mobcert("verify " + q(cert("lost.example.net"))));
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_NE(r.output.find("certificate-revoked"), std::string::npos) << r.output;
    // A node folder issued before the revocation still holds the old CRL;
    // `crl --out` refreshes it.
    ASSERT_EQ(run(mobcert("crl --out " + q(node("kept.example.net")))).status, 0);
    r = openssl_verify(ca() + "/x509ca/ca.pem", node("kept.example.net") + "/x509crl/ca.crl.pem", cert("lost.example.net"));
    EXPECT_NE(r.output.find("certificate revoked"), std::string::npos) << r.output;
}

TEST_F(Mobcert, OpensslTextShowsTheRfc3779Blocks) {
    ASSERT_EQ(run(mobcert("issue --role mr --id mr1.example.net --home-address 2001:db8:1::10 --prefix 2001:db8:100::/48")).status, 0);
    auto r = run(std::string(OPENSSL_BIN) + " x509 -noout -text -in " + q(cert("mr1.example.net")));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("sbgp-ipAddrBlock: critical"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("IPv6:"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("2001:db8:1:0:0:0:0:10/128"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("2001:db8:100::/48"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("DNS:mr1.example.net"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("IP Address:2001:DB8:1:0:0:0:0:10"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("OU = mobile-router"), std::string::npos) << r.output;
    // The CA delegates IPv4 and IPv6 by default.
    r = run(std::string(OPENSSL_BIN) + " x509 -noout -text -in " + q(ca() + "/x509ca/ca.pem"));
    EXPECT_NE(r.output.find("IPv4:"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("IPv6:"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("CA:TRUE"), std::string::npos) << r.output;
}

TEST_F(Mobcert, OpensslReadsThePrivateKeyAndItMatches) {
    for (const char* kt : {"ec-p256", "ed25519"}) {
        std::string id = std::string(kt) + ".example.net";
        ASSERT_EQ(run(mobcert("issue --role mn --id " + id + " --home-address 2001:db8:1::30 --key-type " + kt)).status, 0);
        std::string key = node(id) + "/private/" + id + ".pem";
        auto from_key = run(std::string(OPENSSL_BIN) + " pkey -pubout -in " + q(key));
        ASSERT_EQ(from_key.status, 0) << from_key.output;
        auto from_cert = run(std::string(OPENSSL_BIN) + " x509 -noout -pubkey -in " + q(cert(id)));
        ASSERT_EQ(from_cert.status, 0) << from_cert.output;
        EXPECT_EQ(from_key.output, from_cert.output) << kt;
    }
}

TEST_F(Mobcert, VerifyDecidesLikeTheHomeAgent) {
    ASSERT_EQ(run(mobcert("issue --role mr --id mr1.example.net --home-address 2001:db8:1::10 --prefix 2001:db8:100::/48")).status, 0);
    std::string n = q(node("mr1.example.net"));
    auto r = run(mobcert("verify " + n + " --home-address 2001:db8:1::10 --prefix 2001:db8:100:7::/64"));
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("private key matches"), std::string::npos) << r.output;
    r = run(mobcert("verify " + n + " --home-address 2001:db8:1::99"));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("home-address-not-in-certificate"), std::string::npos) << r.output;
    r = run(mobcert("verify " + n + " --home-address 2001:db8:1::10 --prefix 2001:db8:300::/48"));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("prefix-not-in-certificate"), std::string::npos) << r.output;
    r = run(mobcert("verify " + n + " --no-crl --at 2100-01-01"));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("certificate-expired"), std::string::npos) << r.output;
    r = run(mobcert("verify " + n + " --no-crl --at 2000-01-01"));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("certificate-not-yet-valid"), std::string::npos) << r.output;
    // OpenSSL checks revocation before validity: then the CRL is the problem.
    r = run(mobcert("verify " + n + " --at 2000-01-01"));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("crl-unusable"), std::string::npos) << r.output;
}

TEST_F(Mobcert, ChosenValidityMakesExpiredCertificatesBothToolsReject) {
    auto r = run(mobcert("issue --role mn --id old.example.net --home-address 2001:db8:1::40 "
                         "--not-before 2020-01-01 --not-after 2021-01-01"));
    ASSERT_EQ(r.status, 0) << r.output;
    r = run(mobcert("verify " + q(cert("old.example.net"))));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("certificate-expired"), std::string::npos) << r.output;
    r = openssl_verify(ca() + "/x509ca/ca.pem", "", cert("old.example.net"));
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.output.find("certificate has expired"), std::string::npos) << r.output;
    r = run(mobcert("issue --role mn --id new.example.net --home-address 2001:db8:1::41 "
                    "--not-before 2099-01-01 --not-after 2100-01-01"));
    ASSERT_EQ(r.status, 0) << r.output;
    r = run(mobcert("verify " + q(cert("new.example.net"))));
    EXPECT_NE(r.output.find("certificate-not-yet-valid"), std::string::npos) << r.output;
    r = openssl_verify(ca() + "/x509ca/ca.pem", "", cert("new.example.net"));
    EXPECT_NE(r.output.find("certificate is not yet valid"), std::string::npos) << r.output;
}

TEST_F(Mobcert, WrongCaKeyMismatchKeyModeAndMalformedPem) {
    ASSERT_EQ(run(mobcert("issue --role mn --id a.example.net --home-address 2001:db8:1::50")).status, 0);
    ASSERT_EQ(run(mobcert("issue --role mn --id b.example.net --home-address 2001:db8:1::51")).status, 0);
    std::string other = dir_ / "other";
    ASSERT_EQ(run(std::string(MOBCERT_BIN) + " init-ca --ca-dir " + q(other)).status, 0);
    auto r = run(mobcert("verify " + q(cert("a.example.net")) + " --ca " + q(other + "/x509ca/ca.pem")));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("untrusted-issuer"), std::string::npos) << r.output;
    EXPECT_NE(openssl_verify(other + "/x509ca/ca.pem", "", cert("a.example.net")).status, 0);

    r = run(mobcert("verify " + q(cert("a.example.net")) + " --key " + q(node("b.example.net") + "/private/b.example.net.pem")));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("does not match"), std::string::npos) << r.output;

    std::string key = node("a.example.net") + "/private/a.example.net.pem";
    ASSERT_EQ(::chmod(key.c_str(), 0644), 0);
    r = run(mobcert("verify " + q(node("a.example.net"))));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("accessible by group or others (mode 0644)"), std::string::npos) << r.output;

    std::string junk = dir_ / "junk.pem";
    std::ofstream(junk) << "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n";
    r = run(mobcert("verify " + q(junk)));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("no readable PEM certificate"), std::string::npos) << r.output;
    r = run(mobcert("show " + q(junk)));
    EXPECT_EQ(r.status, 1);
    r = run(mobcert("verify " + q(dir_ / "missing.pem")));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("No such file"), std::string::npos) << r.output;
}

TEST_F(Mobcert, UsageErrorsExitTwoAndQuoteTheValue) {
    struct Case {
        std::string args;
        std::string says;
    };
    for (const auto& c : std::vector<Case>{
             {"frobnicate", "unknown command 'frobnicate'"},
             {"issue --id x.example.net", "--role"},
             {"issue --role xx --id x.example.net", "'xx'"},
             {"issue --role mn --id x.example.net --home-address 10.0.0.1", "'10.0.0.1'"},
             {"issue --role mr --id x.example.net --home-address 2001:db8::1 --prefix 2001:db8::", "'2001:db8::'"},
             {"issue --role mn --id x.example.net --bogus 1", "'--bogus'"},
             {"issue --role mn --id x.example.net --days 0", "'0'"},
             {"issue --role mn --id x.example.net --not-before 2020-13-45 --not-after 2021-01-01", "'2020-13-45'"},
             {"revoke", "SERIAL"},
             {"revoke x --reason stolen", "'stolen'"},
         }) {
        auto r = run(mobcert(c.args));
        EXPECT_EQ(r.status, 2) << c.args << ": " << r.output;
        EXPECT_NE(r.output.find(c.says), std::string::npos) << c.args << ": " << r.output;
    }
    // Refused requests are failures (1), not usage errors.
    auto r = run(mobcert("issue --role mn --id x.example.net --home-address 2001:db8::1 --prefix 2001:db8:5::/48"));
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_NE(r.output.find("mobile-router"), std::string::npos) << r.output;
    // Nothing matched: 3.
    r = run(mobcert("revoke nobody.example.net"));
    EXPECT_EQ(r.status, 3) << r.output;
}

TEST(MobcertPassphrase, FromStdinOrAPrivateFileNeverArgv) {
    TempDir dir;
    std::string ca = dir / "ca";
    std::string m = std::string(MOBCERT_BIN);
    auto r = run("echo 's3cret phrase' | " + m + " init-ca --ca-dir " + q(ca) + " --passphrase-file -");
    ASSERT_EQ(r.status, 0) << r.output;
    r = run(m + " issue --ca-dir " + q(ca) + " --role mn --id a.example.net --home-address 2001:db8::a");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("encrypted"), std::string::npos) << r.output;
    r = run("echo 'wrong' | " + m + " issue --ca-dir " + q(ca) +
            " --role mn --id a.example.net --home-address 2001:db8::a --passphrase-file -");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("wrong passphrase"), std::string::npos) << r.output;
    std::string pass = dir / "pass";
    std::ofstream(pass) << "s3cret phrase\n";
    ASSERT_EQ(::chmod(pass.c_str(), 0644), 0);
    r = run(m + " issue --ca-dir " + q(ca) + " --role mn --id a.example.net --home-address 2001:db8::a --passphrase-file " + q(pass));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("mode 0644"), std::string::npos) << r.output;
    ASSERT_EQ(::chmod(pass.c_str(), 0600), 0);
    r = run(m + " issue --ca-dir " + q(ca) + " --role mn --id a.example.net --home-address 2001:db8::a --passphrase-file " + q(pass));
    EXPECT_EQ(r.status, 0) << r.output;
    // No option accepts the passphrase itself.
    r = run(m + " issue --ca-dir " + q(ca) + " --passphrase 's3cret phrase'");
    EXPECT_EQ(r.status, 2);
}

TEST_F(Mobcert, ShowPrintsCertificateAndIndex) {
    ASSERT_EQ(run(mobcert("issue --role mr --id mr1.example.net --home-address 2001:db8:1::10 --prefix 2001:db8:100::/48")).status, 0);
    ASSERT_EQ(run(mobcert("issue --role mn --id gone.example.net --home-address 2001:db8:1::12")).status, 0);
    ASSERT_EQ(run(mobcert("revoke gone.example.net")).status, 0);
    auto r = run(mobcert("show " + q(cert("mr1.example.net"))));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("role:             mobile-router"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("addr-block:       2001:db8:100::/48"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("key:              ecdsa prime256v1"), std::string::npos) << r.output;
    r = run(mobcert("show"));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("\tmobile-router\tmr1.example.net\t"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("\tmobile-node\tgone.example.net\t"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("\trevoked\n"), std::string::npos) << r.output;
}


// A certificate made by the openssl binary, not by mobcert, with an RFC 3779
// range that is not a prefix and an "inherit" family: mobcert reads both,
// and the home agent's decision refuses "inherit".
TEST(MobcertForeign, RangesAndInheritFromAnotherIssuer) {
    TempDir dir;
    std::string pem = dir / "foreign.pem";
    auto r = run(std::string(OPENSSL_BIN) +
                 " req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj /CN=foreign"
                 " -days 1 -addext 'sbgp-ipAddrBlock=critical,IPv6:2001:db8::3-2001:db8::9,IPv4:inherit'"
                 " -addext 'subjectAltName=IP:2001:db8::5,email:x@example.net' -out " + q(pem));
    ASSERT_EQ(r.status, 0) << r.output;
    r = run(std::string(MOBCERT_BIN) + " show " + q(pem));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("addr-block:       IPv4 inherit"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("addr-block:       2001:db8::3-2001:db8::9"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("san-email:        x@example.net"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("san-ip:           2001:db8::5"), std::string::npos) << r.output;
    // RFC 3779 sec. 2.3: a trust anchor cannot inherit, so path validation fails first.
    r = run(std::string(MOBCERT_BIN) + " verify " + q(pem) + " --ca " + q(pem) + " --home-address 2001:db8::5");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("resources-not-delegated"), std::string::npos) << r.output;
}

}  // namespace
