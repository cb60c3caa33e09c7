// certs/ library: issuing, verifying (time injected), revoking, the home
// agent's decision, and every bad-input case of issue 6.
#include "certs/authz/authorize.hpp"
#include "certs/authz/files.hpp"
#include "certs/ca/authority.hpp"
#include "tests/unit/certs/temp_dir.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sys/stat.h>

using namespace nemokey;
using namespace nemokey::certs;
using nemokey::certs::testing::TempDir;

namespace {

constexpr std::time_t kT0 = 1767225600;  // 2026-01-01T00:00:00Z
constexpr long long kDay = 86400;

net::Ipv6Address v6(const char* s) { return *net::Ipv6Address::parse(s); }
net::Prefix pfx(const char* s) { return *net::Prefix::parse(s); }

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

void spit(const std::string& path, const std::string& text, mode_t mode = 0644) {
    std::ofstream(path, std::ios::binary) << text;
    ::chmod(path.c_str(), mode);
}

unsigned file_mode(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
}

IssueOptions router(const std::string& id = "mr1.example.net") {
    IssueOptions o;
    o.node.role = Role::mobile_router;
    o.node.id = id;
    o.node.home_address = v6("2001:db8:1::10");
    o.node.prefixes = {pfx("2001:db8:100::/48")};
    return o;
}

IssueOptions mobile_node(const std::string& id, const char* hoa) {
    IssueOptions o;
    o.node.role = Role::mobile_node;
    o.node.id = id;
    o.node.home_address = v6(hoa);
    return o;
}

class CaTest : public ::testing::Test {
protected:
    void SetUp() override { ca_ = make_ca(dir_ / "ca", {}); }

    static std::unique_ptr<CertificateAuthority> make_ca(const std::string& path, InitOptions o) {
        auto ca = CertificateAuthority::init(path, o, kT0);
        EXPECT_TRUE(ca) << ca.error().text;
        return std::make_unique<CertificateAuthority>(ca.take());
    }

    Issued issue(const IssueOptions& o, std::time_t now = kT0) {
        auto r = ca_->issue(o, now);
        EXPECT_TRUE(r) << r.error().text;
        return r.take();
    }

    TrustStore trust(bool with_crl = true) {
        auto t = TrustStore::load({ca_->ca_cert_path()}, with_crl ? std::vector<std::string>{ca_->crl_path()}
                                                                 : std::vector<std::string>{});
        EXPECT_TRUE(t) << t.error().text;
        return t.take();
    }

    TempDir dir_;
    std::unique_ptr<CertificateAuthority> ca_;
};

// ---- issuing -------------------------------------------------------------

TEST_F(CaTest, MobileRouterCertificateCarriesIdentityHomeAddressAndPrefixes) {
    auto mr = issue(router());
    auto id = extract_identity(mr.certificate.get());
    ASSERT_TRUE(id) << id.error().text;
    EXPECT_EQ(id->role, Role::mobile_router);
    EXPECT_FALSE(id->is_ca);
    EXPECT_EQ(id->dns_names, std::vector<std::string>{"mr1.example.net"});
    EXPECT_TRUE(id->email_addresses.empty());
    ASSERT_EQ(id->ip_addresses.size(), 1u);
    EXPECT_EQ(id->ip_addresses[0], net::IpAddress{v6("2001:db8:1::10")});
    EXPECT_TRUE(id->has_address_blocks);
    EXPECT_TRUE(id->address_blocks_critical);
    ASSERT_EQ(id->address_blocks.size(), 2u);
    EXPECT_EQ(id->address_blocks[0].to_string(), "2001:db8:1::10/128");
    EXPECT_EQ(id->address_blocks[1].to_string(), "2001:db8:100::/48");
    EXPECT_EQ(id->serial, mr.serial);
    EXPECT_EQ(id->not_before, kT0 - 300);
    EXPECT_EQ(id->not_after, kT0 + 730 * kDay);
}

TEST_F(CaTest, OverlappingBlocksAreMergedIntoCanonicalForm) {
    auto o = router("inside.example.net");
    o.node.home_address = v6("2001:db8:100::1");  // inside its own prefix
    o.node.prefixes = {pfx("2001:db8:100::/48"), pfx("2001:db8:100:5::/64"), pfx("2001:db8:100::/48"),
                       pfx("2001:db8:300::/48")};
    auto mr = issue(o);
    auto id = extract_identity(mr.certificate.get());
    ASSERT_TRUE(id) << id.error().text;
    ASSERT_EQ(id->address_blocks.size(), 2u);
    EXPECT_EQ(id->address_blocks[0].to_string(), "2001:db8:100::/48");
    EXPECT_EQ(id->address_blocks[1].to_string(), "2001:db8:300::/48");
    EXPECT_TRUE(decide(trust(), mr.certificate.get(), {}, v6("2001:db8:100::1"), {pfx("2001:db8:300:1::/64")}, kT0)
                    .allowed());
}

TEST_F(CaTest, Rfc822IdentityBecomesEmailSubjectAltName) {
    auto mn = issue(mobile_node("alice@example.net", "2001:db8:1::11"));
    auto id = extract_identity(mn.certificate.get());
    ASSERT_TRUE(id);
    EXPECT_EQ(id->email_addresses, std::vector<std::string>{"alice@example.net"});
    EXPECT_TRUE(id->dns_names.empty());
    EXPECT_EQ(id->role, Role::mobile_node);
    ASSERT_EQ(id->address_blocks.size(), 1u);
    EXPECT_EQ(id->address_blocks[0].to_string(), "2001:db8:1::11/128");
}

TEST_F(CaTest, HomeAgentCertificateCarriesItsAddressAndRegistersNothing) {
    IssueOptions o;
    o.node.role = Role::home_agent;
    o.node.id = "ha.example.net";
    o.node.home_address = v6("2001:db8:1::1");
    auto ha = issue(o);
    auto id = extract_identity(ha.certificate.get());
    ASSERT_TRUE(id);
    EXPECT_EQ(id->role, Role::home_agent);
    ASSERT_EQ(id->address_blocks.size(), 1u);
    EXPECT_EQ(id->address_blocks[0].to_string(), "2001:db8:1::1/128");
    EXPECT_TRUE(trust().verify(ha.certificate.get(), {}, kT0).allowed());
    auto d = decide(trust(), ha.certificate.get(), {}, v6("2001:db8:1::1"), {}, kT0);
    EXPECT_EQ(d.reason, Reason::not_a_mobile_node) << d.text;
    // ::/0 for reverse tunnelling swallows the /128 (RFC 3779 canonical form).
    o.node.id = "ha2.example.net";
    o.node.prefixes = {pfx("::/0")};
    auto wide = issue(o);
    id = extract_identity(wide.certificate.get());
    ASSERT_TRUE(id);
    ASSERT_EQ(id->address_blocks.size(), 1u);
    EXPECT_EQ(id->address_blocks[0].to_string(), "::/0");
}

TEST_F(CaTest, CaCertificateDelegatesEverythingByDefault) {
    auto id = extract_identity(ca_->certificate());
    ASSERT_TRUE(id);
    EXPECT_TRUE(id->is_ca);
    ASSERT_EQ(id->address_blocks.size(), 2u);
    // RFC 3779 sec. 2.2.3.3: IPv4 (AFI 1) sorts before IPv6 (AFI 2).
    EXPECT_EQ(id->address_blocks[0].to_string(), "0.0.0.0/0");
    EXPECT_EQ(id->address_blocks[1].to_string(), "::/0");
    EXPECT_EQ(id->not_after, kT0 + 3650 * kDay);
}

TEST_F(CaTest, SerialsAreRandomPositiveAndDistinct) {
    auto a = issue(router("a.example.net"));
    auto b = issue(router("b.example.net"));
    EXPECT_NE(a.serial, b.serial);
    for (const auto& s : {a.serial, b.serial}) {
        EXPECT_EQ(s.size(), 32u) << s;  // 16 octets, top one non-zero
        EXPECT_LT(std::stoi(s.substr(0, 1), nullptr, 16), 8) << "not positive: " << s;
    }
    EXPECT_EQ(ca_->entries().size(), 2u);
}

TEST_F(CaTest, NodeFolderHasSwanctlLayoutAndKeyIsPrivate) {
    auto mr = issue(router());
    std::string out = dir_ / "node";
    ASSERT_TRUE(ca_->write_node(mr, out, "mr1.example.net"));
    EXPECT_EQ(file_mode(out + "/private/mr1.example.net.pem"), 0600u);
    EXPECT_EQ(file_mode(out + "/private") & 077, 0u);
    auto cert = load_certificate(out + "/x509/mr1.example.net.pem");
    ASSERT_TRUE(cert);
    auto key = load_private_key(out + "/private/mr1.example.net.pem");
    ASSERT_TRUE(key) << key.error().text;
    EXPECT_TRUE(check_key_matches(cert->get(), key->get(), "k"));
    EXPECT_EQ(slurp(out + "/x509ca/ca.pem"), slurp(ca_->ca_cert_path()));
    EXPECT_EQ(slurp(out + "/x509crl/ca.crl.pem"), slurp(ca_->crl_path()));
    EXPECT_NE(slurp(out + "/private/mr1.example.net.pem").find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
    // Never overwrite a key.
    auto again = ca_->write_node(mr, out, "mr1.example.net");
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, Errc::already_exists);
}

TEST_F(CaTest, OpeningAFolderWithoutCaSaysSo) {
    auto r = CertificateAuthority::open(dir_ / "nothing-here");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().text.find("not a mobcert CA folder"), std::string::npos) << r.error().text;
}

TEST_F(CaTest, NodeFolderOfAnotherCaIsNotClobbered) {
    auto other = make_ca(dir_ / "other", {});
    auto theirs = other->issue(router("theirs.example.net"), kT0);
    ASSERT_TRUE(theirs);
    std::string out = dir_ / "shared";
    ASSERT_TRUE(other->write_node(*theirs, out, "theirs"));
    const std::string before = slurp(out + "/x509ca/ca.pem");
    auto mine = issue(router("mine.example.net"));
    auto st = ca_->write_node(mine, out, "mine");
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, Errc::already_exists);
    EXPECT_NE(st.error().text.find("another CA's certificate"), std::string::npos) << st.error().text;
    EXPECT_EQ(slurp(out + "/x509ca/ca.pem"), before);
    EXPECT_FALSE(std::filesystem::exists(out + "/private/mine.pem"));
    // Same CA certificate but a foreign CRL: refused as well.
    std::filesystem::copy_file(ca_->ca_cert_path(), out + "/x509ca/ca.pem",
                               std::filesystem::copy_options::overwrite_existing);
    st = ca_->write_node(mine, out, "mine");
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().text.find("another CA's CRL"), std::string::npos) << st.error().text;
    // Our own CA and CRL already there (a second node of ours): fine.
    std::filesystem::copy_file(ca_->crl_path(), out + "/x509crl/ca.crl.pem",
                               std::filesystem::copy_options::overwrite_existing);
    EXPECT_TRUE(ca_->write_node(mine, out, "mine"));
}

TEST_F(CaTest, CaKeyAndIndexAreWrittenPrivate) {
    EXPECT_EQ(file_mode(ca_->dir() + "/ca.key.pem"), 0600u);
    EXPECT_EQ(file_mode(ca_->dir() + "/index.json"), 0600u);
    auto again = CertificateAuthority::init(ca_->dir(), {}, kT0);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, Errc::already_exists);
}

class KeyTypes : public ::testing::TestWithParam<std::string> {};

TEST_P(KeyTypes, CaAndNodeOfEveryKeyTypeVerify) {
    TempDir dir;
    InitOptions io;
    io.key_type = GetParam();
    auto ca = CertificateAuthority::init(dir / "ca", io, kT0);
    ASSERT_TRUE(ca) << ca.error().text;
    IssueOptions o = router();
    o.key_type = GetParam();
    auto mr = ca->issue(o, kT0);
    ASSERT_TRUE(mr) << mr.error().text;
    auto t = TrustStore::load({ca->ca_cert_path()}, {ca->crl_path()});
    ASSERT_TRUE(t);
    auto d = decide(*t, mr->certificate.get(), {}, v6("2001:db8:1::10"), {pfx("2001:db8:100:1::/64")}, kT0);
    EXPECT_TRUE(d.allowed()) << d.text;
    std::string name = ossl::key_type_name(X509_get0_pubkey(mr->certificate.get()));
    const std::string expected = GetParam() == "ec-p256" ? "ecdsa prime256v1" : GetParam() == "rsa3072" ? "rsa 3072" : "ed25519";
    EXPECT_EQ(name, expected);
    EXPECT_EQ(ossl::key_type_name(X509_get0_pubkey(ca->certificate())), expected);
}

INSTANTIATE_TEST_SUITE_P(All, KeyTypes, ::testing::Values("ec-p256", "rsa3072", "ed25519"));

// ---- verifying and deciding ----------------------------------------------

TEST_F(CaTest, DecideAllowsHomeAddressAndPrefixesInTheCertificate) {
    auto mr = issue(router());
    auto t = trust();
    auto d = decide(t, mr.certificate.get(), {}, v6("2001:db8:1::10"),
                    {pfx("2001:db8:100::/48"), pfx("2001:db8:100:ff::/64")}, kT0 + 10 * kDay);
    EXPECT_EQ(d.reason, Reason::allowed) << d.text;
    EXPECT_NE(d.text.find("mr1.example.net"), std::string::npos);
}

TEST_F(CaTest, HomeAddressNotInCertificateIsDenied) {
    auto mr = issue(router());
    auto d = decide(trust(), mr.certificate.get(), {}, v6("2001:db8:1::11"), {}, kT0);
    EXPECT_EQ(d.reason, Reason::home_address_not_in_certificate);
    EXPECT_NE(d.text.find("'2001:db8:1::11'"), std::string::npos) << d.text;
}

TEST_F(CaTest, PrefixNotInCertificateIsDenied) {
    auto mr = issue(router());
    auto t = trust();
    for (const char* p : {"2001:db8:200::/48", "2001:db8::/32" /* wider than delegated */, "2001:db8:1::/64"}) {
        auto d = decide(t, mr.certificate.get(), {}, v6("2001:db8:1::10"), {pfx("2001:db8:100::/48"), pfx(p)}, kT0);
        EXPECT_EQ(d.reason, Reason::prefix_not_in_certificate) << p;
        EXPECT_NE(d.text.find(std::string("'") + p + "'"), std::string::npos) << d.text;
    }
}

TEST_F(CaTest, MobileNodeCannotRegisterPrefixes) {
    auto mn = issue(mobile_node("mn1.example.net", "2001:db8:1::20"));
    auto d = decide(trust(), mn.certificate.get(), {}, v6("2001:db8:1::20"), {pfx("2001:db8:1::20/128")}, kT0);
    // A HoA/128 is in the blocks, so even this degenerate prefix is allowed...
    EXPECT_TRUE(d.allowed()) << d.text;
    d = decide(trust(), mn.certificate.get(), {}, v6("2001:db8:1::20"), {pfx("2001:db8:1::/64")}, kT0);
    EXPECT_EQ(d.reason, Reason::prefix_not_in_certificate);  // ...but no real prefix.
}

TEST_F(CaTest, ExpiredCertificateIsRejected) {
    IssueOptions o = router();
    o.node.validity = {kT0 - 400 * kDay, kT0 - kDay};
    auto mr = issue(o);
    auto d = trust().verify(mr.certificate.get(), {}, kT0);
    EXPECT_EQ(d.reason, Reason::certificate_expired) << d.text;
    EXPECT_NE(d.text.find("mr1.example.net"), std::string::npos);
    EXPECT_EQ(decide(trust(), mr.certificate.get(), {}, v6("2001:db8:1::10"), {}, kT0).reason,
              Reason::certificate_expired);
}

TEST_F(CaTest, NotYetValidCertificateIsRejected) {
    IssueOptions o = router();
    o.node.validity = {kT0 + kDay, kT0 + 400 * kDay};
    auto mr = issue(o);
    EXPECT_EQ(trust().verify(mr.certificate.get(), {}, kT0).reason, Reason::certificate_not_yet_valid);
    // The same certificate is fine once its time has come: the clock is injected.
    EXPECT_TRUE(trust().verify(mr.certificate.get(), {}, kT0 + 2 * kDay).allowed());
}

TEST_F(CaTest, InjectedClockDecidesExpiry) {
    auto mr = issue(router());  // valid kT0-300 .. kT0+730d
    auto t = trust(false);
    EXPECT_TRUE(t.verify(mr.certificate.get(), {}, kT0 + 729 * kDay).allowed());
    EXPECT_EQ(t.verify(mr.certificate.get(), {}, kT0 + 731 * kDay).reason, Reason::certificate_expired);
    EXPECT_EQ(t.verify(mr.certificate.get(), {}, kT0 - 3600).reason, Reason::certificate_not_yet_valid);
}

TEST_F(CaTest, CertificateOfAnotherCaIsRejected) {
    auto other = make_ca(dir_ / "other", {});
    auto foreign = other->issue(router(), kT0);
    ASSERT_TRUE(foreign);
    auto d = trust().verify(foreign->certificate.get(), {}, kT0);
    EXPECT_EQ(d.reason, Reason::untrusted_issuer) << d.text;
    // Same subject name, different key: a look-alike CA must not pass either.
    InitOptions same_name;
    same_name.common_name = "nemokey CA";
    auto lookalike = make_ca(dir_ / "lookalike", same_name);
    auto fake = lookalike->issue(router(), kT0);
    ASSERT_TRUE(fake);
    auto t = TrustStore::load({ca_->ca_cert_path()}, {});
    ASSERT_TRUE(t);
    EXPECT_EQ(t->verify(fake->certificate.get(), {}, kT0).reason, Reason::untrusted_issuer);
}

TEST_F(CaTest, EmptyTrustStoreTrustsNothing) {
    auto mr = issue(router());
    TrustStore empty;
    EXPECT_EQ(empty.verify(mr.certificate.get(), {}, kT0).reason, Reason::untrusted_issuer);
}

TEST_F(CaTest, RevokedCertificateIsRejectedOthersStillPass) {
    auto bad = issue(router("lost.example.net"));
    auto good = issue(router("kept.example.net"));
    auto r = ca_->revoke("lost.example.net", 1, kT0 + kDay);
    ASSERT_TRUE(r) << r.error().text;
    EXPECT_EQ(r->serial, bad.serial);
    auto t = trust();
    auto d = t.verify(bad.certificate.get(), {}, kT0 + 2 * kDay);
    EXPECT_EQ(d.reason, Reason::certificate_revoked) << d.text;
    EXPECT_TRUE(t.verify(good.certificate.get(), {}, kT0 + 2 * kDay).allowed());
    EXPECT_EQ(decide(t, bad.certificate.get(), {}, v6("2001:db8:1::10"), {}, kT0 + 2 * kDay).reason,
              Reason::certificate_revoked);
    // Without the CRL the revocation is invisible: revocation needs the CRL.
    EXPECT_TRUE(trust(false).verify(bad.certificate.get(), {}, kT0 + 2 * kDay).allowed());
}

TEST_F(CaTest, TrustFromTheSwanctlFolderTheIkeSideLoads) {
    auto mr = issue(router());
    std::string out = dir_ / "node";
    ASSERT_TRUE(ca_->write_node(mr, out, "mr"));
    auto t = TrustStore::load_swanctl_dir(out);
    ASSERT_TRUE(t) << t.error().text;
    EXPECT_EQ(t->ca_count(), 1u);
    EXPECT_EQ(t->crl_count(), 1u);
    EXPECT_TRUE(decide(*t, mr.certificate.get(), {}, v6("2001:db8:1::10"), {}, kT0).allowed());
    auto none = TrustStore::load_swanctl_dir(dir_ / "empty");
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code, Errc::io_error);
    std::filesystem::create_directories(dir_ / "empty/x509ca");
    none = TrustStore::load_swanctl_dir(dir_ / "empty");
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code, Errc::not_found);
}

TEST_F(CaTest, RevokeBySerialAndErrors) {
    auto mr = issue(router());
    auto missing = ca_->revoke("nobody.example.net", 0, kT0);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, Errc::not_found);
    auto r = ca_->revoke("0x" + mr.serial, 0, kT0);
    ASSERT_TRUE(r) << r.error().text;
    auto twice = ca_->revoke(mr.serial, 0, kT0);
    ASSERT_FALSE(twice);
    EXPECT_EQ(twice.error().code, Errc::already_exists);
}

TEST_F(CaTest, IndexSurvivesReopening) {
    auto a = issue(router("a.example.net"));
    auto b = issue(mobile_node("b@example.net", "2001:db8:1::b"));
    ASSERT_TRUE(ca_->revoke(b.serial, 4, kT0 + 5));
    const std::string d = ca_->dir();
    ca_.reset();  // releases the CA lock
    auto reopened = CertificateAuthority::open(d);
    ASSERT_TRUE(reopened) << reopened.error().text;
    ASSERT_EQ(reopened->entries().size(), 2u);
    EXPECT_EQ(reopened->entries()[0].serial, a.serial);
    EXPECT_FALSE(reopened->entries()[0].revoked);
    EXPECT_EQ(reopened->entries()[1].id, "b@example.net");
    EXPECT_TRUE(reopened->entries()[1].revoked);
    EXPECT_EQ(reopened->entries()[1].reason, 4);
    EXPECT_EQ(reopened->entries()[1].revoked_at, kT0 + 5);
    auto listed = CertificateAuthority::read_index(d);  // needs no lock
    ASSERT_TRUE(listed);
    EXPECT_EQ(listed->size(), 2u);
    // While one CertificateAuthority holds the folder, a second one cannot.
    auto second = CertificateAuthority::open(d);
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().text.find("in use"), std::string::npos) << second.error().text;
}

TEST_F(CaTest, StaleCrlIsRejected) {
    auto mr = issue(router());  // CRL from init: valid for 30 days from kT0
    auto t = trust();
    EXPECT_TRUE(t.verify(mr.certificate.get(), {}, kT0 + 29 * kDay).allowed());
    auto d = t.verify(mr.certificate.get(), {}, kT0 + 31 * kDay);
    EXPECT_EQ(d.reason, Reason::crl_unusable) << d.text;
    // A fresh CRL fixes it.
    ASSERT_TRUE(ca_->write_crl(kT0 + 30 * kDay, 30));
    EXPECT_TRUE(trust().verify(mr.certificate.get(), {}, kT0 + 31 * kDay).allowed());
}

TEST_F(CaTest, CrlFromAnotherCaIsNoSubstitute) {
    auto mr = issue(router());
    auto other = make_ca(dir_ / "other", {});
    auto t = TrustStore::load({ca_->ca_cert_path()}, {other->crl_path()});
    ASSERT_TRUE(t);
    EXPECT_EQ(t->verify(mr.certificate.get(), {}, kT0).reason, Reason::crl_unusable);
}

// ---- issuing refuses bad requests ----------------------------------------

TEST_F(CaTest, IssueRejectsBadRequests) {
    struct Case {
        const char* what;
        IssueOptions o;
    };
    std::vector<Case> cases;
    {
        auto o = mobile_node("mn.example.net", "2001:db8:1::1");
        o.node.prefixes = {pfx("2001:db8:5::/48")};
        cases.push_back({"prefix on a mobile node", o});
    }
    {
        auto o = router();
        o.node.home_address.reset();
        cases.push_back({"router without home address", o});
    }
    {
        IssueOptions o;
        o.node.role = Role::home_agent;
        o.node.id = "ha.example.net";
        cases.push_back({"home agent without its address", o});
    }
    {
        auto o = router("bad_name.example.net");
        cases.push_back({"underscore in FQDN", o});
    }
    {
        auto o = router("-lead.example.net");
        cases.push_back({"label starts with '-'", o});
    }
    {
        auto o = router("a@b@example.net");
        cases.push_back({"two '@'", o});
    }
    {
        auto o = router("../../etc");
        cases.push_back({"path in identity", o});
    }
    {
        auto o = router();
        o.node.prefixes = {pfx("2001:db8:100::1/48")};
        cases.push_back({"prefix with host bits", o});
    }
    {
        auto o = router();
        o.node.home_address = v6("fe80::1");
        cases.push_back({"link-local home address", o});
    }
    {
        auto o = router();
        o.node.validity = {kT0, kT0 - 1};
        cases.push_back({"validity backwards", o});
    }
    {
        auto o = router();
        o.key_type = "dsa1024";
        cases.push_back({"unknown key type", o});
    }
    for (const auto& c : cases) {
        auto r = ca_->issue(c.o, kT0);
        ASSERT_FALSE(r) << c.what;
        EXPECT_EQ(r.error().code, Errc::invalid_argument) << c.what << ": " << r.error().text;
        EXPECT_FALSE(r.error().text.empty());
    }
    EXPECT_TRUE(ca_->entries().empty()) << "a refused request left an index entry";
}

TEST(CaDelegation, RequestOutsideTheCasBlocksIsRefused) {
    TempDir dir;
    InitOptions io;
    io.delegated = {pfx("2001:db8::/32")};
    auto ca = CertificateAuthority::init(dir / "ca", io, kT0);
    ASSERT_TRUE(ca) << ca.error().text;
    auto in = ca->issue(router(), kT0);
    EXPECT_TRUE(in) << in.error().text;
    auto o = router("far.example.net");
    o.node.prefixes = {pfx("2001:db9::/48")};
    auto out = ca->issue(o, kT0);
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().code, Errc::invalid_argument);
    EXPECT_NE(out.error().text.find("'2001:db9::/48'"), std::string::npos) << out.error().text;
}

// A certificate whose blocks exceed its issuer's, built by hand (mobcert
// refuses to make one): RFC 3779 sec. 2.3 path validation must reject it.
TEST(CaDelegation, UnnestedResourcesFailPathValidation) {
    TempDir dir;
    InitOptions io;
    io.delegated = {pfx("2001:db8::/32")};
    auto ca = CertificateAuthority::init(dir / "ca", io, kT0);
    ASSERT_TRUE(ca);
    // A second CA certificate over the same key delegating everything lets
    // make_node_certificate's own coverage check pass.
    CaSpec wide;
    wide.validity = {kT0 - 10, kT0 + kDay};
    auto wide_ca = make_ca_certificate(wide, ca->key());
    ASSERT_TRUE(wide_ca);
    X509_set_issuer_name(wide_ca->get(), X509_get_subject_name(ca->certificate()));
    X509_set_subject_name(wide_ca->get(), X509_get_subject_name(ca->certificate()));
    NodeSpec n;
    n.role = Role::mobile_node;
    n.id = "x.example.net";
    n.home_address = v6("2001:db9::1");
    n.validity = {kT0 - 10, kT0 + kDay};
    auto key = ossl::generate_key("ec-p256");
    auto serial = random_serial();
    auto cert = make_node_certificate(n, key.get(), wide_ca->get(), ca->key(), serial->get());
    ASSERT_TRUE(cert) << cert.error().text;
    auto t = TrustStore::load({ca->ca_cert_path()}, {});
    ASSERT_TRUE(t);
    auto d = t->verify(cert->get(), {}, kT0);
    EXPECT_EQ(d.reason, Reason::resources_not_delegated) << d.text;
}

// ---- keys ----------------------------------------------------------------

TEST_F(CaTest, KeyNotMatchingCertificateIsDetected) {
    auto a = issue(router("a.example.net"));
    auto b = issue(router("b.example.net"));
    auto st = check_key_matches(a.certificate.get(), b.key.get(), "b.pem");
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, Errc::key_mismatch);
    EXPECT_NE(st.error().text.find("'b.pem'"), std::string::npos);
    EXPECT_TRUE(check_key_matches(a.certificate.get(), a.key.get(), "a.pem"));
    // A CA folder whose key was swapped is refused on open.
    std::string other = dir_ / "other";
    make_ca(other, {});
    const std::string d = ca_->dir();
    ca_.reset();
    std::filesystem::remove(d + "/ca.key.pem");
    std::filesystem::copy_file(other + "/ca.key.pem", d + "/ca.key.pem");
    auto opened = CertificateAuthority::open(d);
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().code, Errc::key_mismatch);
}

TEST_F(CaTest, PrivateKeyReadableByOthersIsRefused) {
    auto mr = issue(router());
    std::string out = dir_ / "node";
    ASSERT_TRUE(ca_->write_node(mr, out, "mr"));
    std::string key = out + "/private/mr.pem";
    for (mode_t mode : {0640, 0604, 0660, 0644, 0700 | 0010}) {
        ASSERT_EQ(::chmod(key.c_str(), mode), 0);
        auto k = load_private_key(key);
        ASSERT_FALSE(k) << std::oct << mode;
        EXPECT_EQ(k.error().code, Errc::key_readable_by_others);
        EXPECT_NE(k.error().text.find(key), std::string::npos) << k.error().text;
    }
    ASSERT_EQ(::chmod(key.c_str(), 0400), 0);
    EXPECT_TRUE(load_private_key(key));
    const std::string d = ca_->dir();
    ca_.reset();
    ASSERT_EQ(::chmod((d + "/ca.key.pem").c_str(), 0644), 0);
    auto opened = CertificateAuthority::open(d);
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().code, Errc::key_readable_by_others);
}

TEST(CaPassphrase, EncryptedCaKeyNeedsTheRightPassphrase) {
    TempDir dir;
    InitOptions io;
    io.passphrase = "correct horse";
    {
        auto ca = CertificateAuthority::init(dir / "ca", io, kT0);
        ASSERT_TRUE(ca) << ca.error().text;
    }
    EXPECT_NE(slurp(dir / "ca/ca.key.pem").find("ENCRYPTED"), std::string::npos);
    auto none = CertificateAuthority::open(dir / "ca");
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code, Errc::wrong_passphrase);
    auto wrong = CertificateAuthority::open(dir / "ca", "battery staple");
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().code, Errc::wrong_passphrase);
    auto right = CertificateAuthority::open(dir / "ca", "correct horse");
    ASSERT_TRUE(right) << right.error().text;
    EXPECT_TRUE(right->issue(router(), kT0));
}

// ---- unreadable and malformed PEM ----------------------------------------

TEST(Pem, MissingFileIsAnIoError) {
    auto c = load_certificate("/nonexistent/cert.pem");
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code, Errc::io_error);
    EXPECT_NE(c.error().text.find("'/nonexistent/cert.pem'"), std::string::npos);
    auto k = load_private_key("/nonexistent/key.pem");
    ASSERT_FALSE(k);
    EXPECT_EQ(k.error().code, Errc::io_error);
}

TEST_F(CaTest, MalformedPemIsReported) {
    auto mr = issue(router());
    std::string good = ossl::certificate_pem(mr.certificate.get());
    // Damage: flip a base64 character inside the body, truncate, or garbage.
    std::string flipped = good;
    flipped[good.find('\n') + 40] = flipped[good.find('\n') + 40] == 'A' ? 'B' : 'A';
    std::string broken_b64 = good;
    broken_b64[good.find('\n') + 10] = '*';
    const std::vector<std::pair<std::string, std::string>> inputs = {
        {"empty", ""},
        {"garbage", "hello, I am not a certificate\n"},
        {"truncated", good.substr(0, good.size() / 2)},
        {"no end line", good.substr(0, good.rfind("-----END"))},
        {"bad base64", broken_b64},
        {"key instead of certificate", ossl::private_key_pem(mr.key.get())},
    };
    for (const auto& [what, text] : inputs) {
        std::string path = dir_ / "in.pem";
        spit(path, text);
        auto c = load_certificate(path);
        ASSERT_FALSE(c) << what;
        EXPECT_EQ(c.error().code, Errc::malformed_pem) << what;
        EXPECT_NE(c.error().text.find(path), std::string::npos) << c.error().text;
        auto crl = load_crl(path);
        ASSERT_FALSE(crl) << what;
        EXPECT_EQ(crl.error().code, Errc::malformed_pem) << what;
    }
    // A flipped DER byte may still parse; if it does, the signature fails.
    auto parsed = parse_certificates(flipped, "flipped");
    if (parsed) {
        TrustStore t;
        t.add_ca(ossl::X509Ptr(X509_dup(ca_->certificate())));
        EXPECT_FALSE(t.verify(parsed->front().get(), {}, kT0).allowed());
    } else {
        EXPECT_EQ(parsed.error().code, Errc::malformed_pem);
    }
    for (const auto& [what, text] : std::vector<std::pair<std::string, std::string>>{
             {"garbage key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"},
             {"certificate instead of key", good},
             {"empty key", ""}}) {
        std::string path = dir_ / "key.pem";
        std::filesystem::remove(path);
        spit(path, text, 0600);
        auto k = load_private_key(path);
        ASSERT_FALSE(k) << what;
        EXPECT_EQ(k.error().code, Errc::malformed_pem) << what << ": " << k.error().text;
    }
    // TrustStore::load passes the same errors through.
    spit(dir_ / "bad-ca.pem", "junk");
    auto t = TrustStore::load({dir_ / "bad-ca.pem"}, {});
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().code, Errc::malformed_pem);
}

TEST_F(CaTest, DerCertificateAsInAnIkeCertPayload) {
    auto mr = issue(router());
    unsigned char* der = nullptr;
    int n = i2d_X509(mr.certificate.get(), &der);
    ASSERT_GT(n, 0);
    std::string bytes(reinterpret_cast<char*>(der), static_cast<size_t>(n));
    OPENSSL_free(der);
    auto cert = parse_certificate_der(bytes, "CERT payload");
    ASSERT_TRUE(cert) << cert.error().text;
    EXPECT_TRUE(decide(trust(), cert->get(), {}, v6("2001:db8:1::10"), {}, kT0).allowed());
    auto trailing = parse_certificate_der(bytes + "x", "CERT payload");
    ASSERT_FALSE(trailing);
    EXPECT_NE(trailing.error().text.find("1 bytes after"), std::string::npos) << trailing.error().text;
    for (size_t cut : {size_t{0}, size_t{1}, bytes.size() / 2, bytes.size() - 1}) {
        auto r = parse_certificate_der(bytes.substr(0, cut), "CERT payload");
        ASSERT_FALSE(r) << cut;
        EXPECT_EQ(r.error().code, Errc::malformed_pem);
    }
}

TEST_F(CaTest, ChainFileWithSeveralCertificatesLoadsAll) {
    auto a = issue(router("a.example.net"));
    std::string path = dir_ / "chain.pem";
    spit(path, ossl::certificate_pem(a.certificate.get()) + ossl::certificate_pem(ca_->certificate()));
    auto certs = load_certificates(path);
    ASSERT_TRUE(certs);
    EXPECT_EQ(certs->size(), 2u);
    // A key block between certificates is skipped, as in combined PEM files.
    spit(path, ossl::certificate_pem(a.certificate.get()) + ossl::private_key_pem(a.key.get()) +
                   ossl::certificate_pem(ca_->certificate()));
    certs = load_certificates(path);
    ASSERT_TRUE(certs) << certs.error().text;
    EXPECT_EQ(certs->size(), 2u);
    // A damaged second certificate is an error, not a shorter chain.
    std::string second = ossl::certificate_pem(ca_->certificate());
    second[second.find('\n') + 20] = '*';
    spit(path, ossl::certificate_pem(a.certificate.get()) + second);
    certs = load_certificates(path);
    ASSERT_FALSE(certs);
    EXPECT_EQ(certs.error().code, Errc::malformed_pem);
    EXPECT_NE(certs.error().text.find("certificate 2 does not decode"), std::string::npos) << certs.error().text;
}

// ---- authorize() on identities built by hand ------------------------------

TEST(Authorize, IpSubjectAltNameAloneAuthorisesOnlyTheHomeAddress) {
    CertificateIdentity id;
    id.dns_names = {"legacy.example.net"};
    id.ip_addresses = {v6("2001:db8:1::99")};
    EXPECT_TRUE(authorize(id, v6("2001:db8:1::99"), {}).allowed());
    EXPECT_EQ(authorize(id, v6("2001:db8:1::98"), {}).reason, Reason::home_address_not_in_certificate);
    EXPECT_EQ(authorize(id, v6("2001:db8:1::99"), {pfx("2001:db8:1::99/128")}).reason,
              Reason::prefix_not_in_certificate);
}

TEST(Authorize, NoAddressesAtAllSaysSo) {
    CertificateIdentity id;
    id.dns_names = {"bare.example.net"};
    auto d = authorize(id, v6("2001:db8::1"), {});
    EXPECT_EQ(d.reason, Reason::home_address_not_in_certificate);
    EXPECT_NE(d.text.find("no IP address delegation"), std::string::npos) << d.text;
}

TEST(Authorize, InheritIsRefused) {
    CertificateIdentity id;
    id.has_address_blocks = true;
    id.ipv6_inherit = true;
    EXPECT_EQ(authorize(id, v6("2001:db8::1"), {}).reason, Reason::address_blocks_inherit);
}

TEST(Authorize, RangesThatAreNotPrefixes) {
    CertificateIdentity id;
    id.has_address_blocks = true;
    id.address_blocks = {{v6("2001:db8::10"), v6("2001:db8::1f")}, {v6("2001:db8::100"), v6("2001:db8::1ff")}};
    EXPECT_EQ(id.address_blocks[0].to_string(), "2001:db8::10/124");
    AddressRange odd{v6("2001:db8::3"), v6("2001:db8::9")};
    EXPECT_EQ(odd.to_string(), "2001:db8::3-2001:db8::9");
    EXPECT_TRUE(authorize(id, v6("2001:db8::1f"), {pfx("2001:db8::100/120")}).allowed());
    EXPECT_EQ(authorize(id, v6("2001:db8::20"), {}).reason, Reason::home_address_not_in_certificate);
    // A prefix straddling the two ranges is in neither.
    EXPECT_EQ(authorize(id, v6("2001:db8::10"), {pfx("2001:db8::/119")}).reason, Reason::prefix_not_in_certificate);
    // IPv4 blocks never cover an IPv6 address.
    CertificateIdentity v4;
    v4.address_blocks = {{net::Ipv4Address{}, *net::Ipv4Address::parse("255.255.255.255")}};
    EXPECT_EQ(authorize(v4, v6("::ffff:1.2.3.4"), {}).reason, Reason::home_address_not_in_certificate);
}

TEST(Reasons, EveryReasonHasAName) {
    for (int r = 0; r <= static_cast<int>(Reason::not_a_mobile_node); ++r)
        EXPECT_NE(to_string(static_cast<Reason>(r)), "unknown") << r;
    for (int e = 0; e <= static_cast<int>(Errc::openssl_failure); ++e)
        EXPECT_NE(to_string(static_cast<Errc>(e)), "unknown") << e;
}

TEST(CrlReason, NamesRoundTrip) {
    for (int r : {0, 1, 2, 3, 4, 5, 6, 8, 9, 10}) EXPECT_EQ(parse_crl_reason(crl_reason_name(r)), r);
    EXPECT_FALSE(parse_crl_reason("stolen"));
}

}  // namespace
