#include "certs/ca/authority.hpp"

#include "certs/authz/files.hpp"

#include <nlohmann/json.hpp>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nemokey::certs {

namespace {

constexpr long long kDay = 86400;
// Certificates start five minutes in the past, for peers whose clocks lag.
constexpr long long kBackdate = 300;

std::string index_path(const std::string& dir) { return dir + "/index.json"; }
std::string key_path(const std::string& dir) { return dir + "/ca.key.pem"; }

// File names come from identities (check_identity limits their characters);
// this refuses anything that could leave the folder.
bool safe_file_name(const std::string& n) {
    return !n.empty() && n != "." && n != ".." && n.find('/') == std::string::npos && n[0] != '.';
}

Result<ossl::Pkey> new_key(const std::string& type, const char* what) {
    if (!ossl::known_key_type(type))
        return make_error(Errc::invalid_argument, "unknown key type '" + type + "' (ec-p256, rsa3072, ed25519)");
    ossl::clear_error_queue();
    auto key = ossl::generate_key(type);
    if (!key) return make_error(Errc::openssl_failure, ossl::failure(std::string("cannot generate the ") + what));
    return key;
}

}  // namespace

CertificateAuthority::Lock::~Lock() {
    if (fd_ >= 0) ::close(fd_);  // releases the flock
}

Result<CertificateAuthority::Lock> CertificateAuthority::lock(const std::string& dir) {
    std::string path = dir + "/.lock";
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return make_error(Errc::io_error, "cannot open '" + path + "': " + std::strerror(errno));
    Lock held(fd);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0)
        return make_error(Errc::io_error, "CA '" + dir + "' is in use by another mobcert (lock '" + path + "')");
    return held;
}

Status CertificateAuthority::check_node_target(const std::string& out, const std::string& name) const {
    for (const std::string& f : {out + "/private/" + name + ".pem", out + "/x509/" + name + ".pem"}) {
        struct stat st {};
        if (::lstat(f.c_str(), &st) == 0)
            return make_error(Errc::already_exists, "refusing to overwrite existing file '" + f + "'");
    }
    struct stat st {};
    std::string ca_file = out + "/x509ca/ca.pem";
    if (::lstat(ca_file.c_str(), &st) == 0) {
        auto theirs = load_certificate(ca_file);
        if (!theirs || X509_cmp(theirs->get(), cert_.get()) != 0)
            return make_error(Errc::already_exists,
                              "'" + ca_file + "' holds another CA's certificate; refusing to replace it");
    }
    std::string crl_file = out + "/x509crl/ca.crl.pem";
    if (::lstat(crl_file.c_str(), &st) == 0) {
        auto theirs = load_crl(crl_file);
        ossl::clear_error_queue();
        if (!theirs || X509_CRL_verify(theirs->get(), X509_get0_pubkey(cert_.get())) != 1) {
            ossl::clear_error_queue();
            return make_error(Errc::already_exists,
                              "'" + crl_file + "' holds another CA's CRL; refusing to replace it");
        }
    }
    return Ok{};
}

Result<CertificateAuthority> CertificateAuthority::init(const std::string& dir, const InitOptions& o, std::time_t now) {
    if (o.validity_days <= 0 || o.crl_days <= 0)
        return make_error(Errc::invalid_argument, "validity and CRL days must be positive");
    struct stat st {};
    if (::stat(index_path(dir).c_str(), &st) == 0)
        return make_error(Errc::already_exists, "'" + dir + "' already holds a CA (index.json exists)");
    for (const char* sub : {"", "/x509ca", "/x509crl", "/x509"})
        if (auto s = make_directories(dir + sub, 0700); !s) return s.error();
    auto held = lock(dir);
    if (!held) return held.error();
    if (::stat(index_path(dir).c_str(), &st) == 0)  // lost a race with another init
        return make_error(Errc::already_exists, "'" + dir + "' already holds a CA (index.json exists)");

    auto key = new_key(o.key_type, "CA key");
    if (!key) return key.error();
    CaSpec spec;
    spec.common_name = o.common_name;
    spec.delegated = o.delegated;
    spec.validity = {static_cast<long long>(now) - kBackdate, static_cast<long long>(now) + o.validity_days * kDay};
    auto cert = make_ca_certificate(spec, key->get());
    if (!cert) return cert.error();

    std::string key_pem = ossl::private_key_pem(key->get(), o.passphrase);
    if (key_pem.empty()) return make_error(Errc::openssl_failure, ossl::failure("cannot encode the CA key"));
    auto wrote = write_new_file(key_path(dir), key_pem, 0600);
    OPENSSL_cleanse(key_pem.data(), key_pem.size());
    if (!wrote) return wrote.error();

    CertificateAuthority ca;
    ca.lock_ = held.take();
    ca.dir_ = dir;
    ca.cert_ = cert.take();
    ca.key_ = key.take();
    ca.crl_days_ = o.crl_days;
    if (auto s = write_new_file(ca.ca_cert_path(), ossl::certificate_pem(ca.cert_.get()), 0644); !s) return s.error();
    if (auto s = ca.save_index(); !s) return s.error();
    auto crl = ca.write_crl(now, o.crl_days);
    if (!crl) return crl.error();
    return ca;
}

Result<CertificateAuthority> CertificateAuthority::open(const std::string& dir, const std::string& passphrase) {
    CertificateAuthority ca;
    ca.dir_ = dir;
    struct stat st {};
    if (::stat(index_path(dir).c_str(), &st) != 0)
        return make_error(Errc::io_error, "'" + dir + "' is not a mobcert CA folder (no index.json); run init-ca");
    auto held = lock(dir);
    if (!held) return held.error();
    ca.lock_ = held.take();
    auto cert = load_certificate(ca.ca_cert_path());
    if (!cert) return cert.error();
    auto key = load_private_key(key_path(dir), passphrase);
    if (!key) return key.error();
    if (auto s = check_key_matches(cert->get(), key->get(), key_path(dir)); !s) return s.error();
    ca.cert_ = cert.take();
    ca.key_ = key.take();
    if (auto s = ca.load_index(); !s) return s.error();
    return ca;
}

Result<std::vector<IndexEntry>> CertificateAuthority::read_index(const std::string& dir) {
    CertificateAuthority ca;
    ca.dir_ = dir;
    if (auto s = ca.load_index(); !s) return s.error();
    return std::move(ca.entries_);
}

Status CertificateAuthority::save_index() const {
    nlohmann::json j;
    j["version"] = 1;
    j["crl-number"] = crl_number_;
    j["crl-days"] = crl_days_;
    auto& list = j["certificates"] = nlohmann::json::array();
    for (const auto& e : entries_) {
        nlohmann::json c{{"serial", e.serial},        {"id", e.id},
                         {"role", to_string(e.role)}, {"not-before", e.not_before},
                         {"not-after", e.not_after},  {"status", e.revoked ? "revoked" : "valid"}};
        if (e.revoked) {
            c["revoked-at"] = e.revoked_at;
            c["reason"] = crl_reason_name(e.reason);
        }
        list.push_back(std::move(c));
    }
    return replace_file(index_path(dir_), j.dump(2) + "\n", 0600);
}

Status CertificateAuthority::load_index() {
    auto text = read_file(index_path(dir_));
    if (!text) return text.error();
    auto bad = [&](const std::string& why) {
        return make_error(Errc::invalid_argument, "CA index '" + index_path(dir_) + "': " + why);
    };
    nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return bad("not valid JSON");
    try {
        crl_number_ = j.at("crl-number").get<long long>();
        crl_days_ = j.value("crl-days", 30LL);
        entries_.clear();
        for (const auto& c : j.at("certificates")) {
            IndexEntry e;
            e.serial = c.at("serial").get<std::string>();
            e.id = c.at("id").get<std::string>();
            auto role = parse_role(c.at("role").get<std::string>());
            if (!role) return bad("unknown role '" + c.at("role").get<std::string>() + "'");
            e.role = *role;
            e.not_before = c.at("not-before").get<long long>();
            e.not_after = c.at("not-after").get<long long>();
            e.revoked = c.at("status").get<std::string>() == "revoked";
            if (e.revoked) {
                e.revoked_at = c.at("revoked-at").get<long long>();
                e.reason = parse_crl_reason(c.value("reason", std::string("unspecified"))).value_or(0);
            }
            entries_.push_back(std::move(e));
        }
    } catch (const nlohmann::json::exception& ex) {
        return bad(ex.what());
    }
    return Ok{};
}

Result<Issued> CertificateAuthority::issue(const IssueOptions& o, std::time_t now) {
    NodeSpec node = o.node;
    if (node.validity.not_after == 0) {
        if (o.validity_days <= 0) return make_error(Errc::invalid_argument, "validity days must be positive");
        node.validity = {static_cast<long long>(now) - kBackdate, static_cast<long long>(now) + o.validity_days * kDay};
    }
    if (auto s = check_identity(node.id); !s) return s.error();
    if (!safe_file_name(node.id))
        return make_error(Errc::invalid_argument, "identity '" + node.id + "' is not usable as a file name");
    auto key = new_key(o.key_type, "node key");
    if (!key) return key.error();
    ossl::Asn1IntegerPtr serial;
    std::string serial_hex;
    for (int attempt = 0;; ++attempt) {
        auto s = random_serial();
        if (!s) return s.error();
        serial_hex = ossl::serial_hex(s->get());
        bool used = false;
        for (const auto& e : entries_) used = used || e.serial == serial_hex;
        if (!used) {
            serial = s.take();
            break;
        }
        if (attempt > 8) return make_error(Errc::openssl_failure, "random serials keep colliding; is the RNG broken?");
    }
    auto cert = make_node_certificate(node, key->get(), cert_.get(), key_.get(), serial.get());
    if (!cert) return cert.error();
    // The CA keeps a copy of every certificate it signed, named by serial.
    std::string copy = dir_ + "/x509/" + node.id + "." + serial_hex + ".pem";
    if (auto s = write_new_file(copy, ossl::certificate_pem(cert->get()), 0644); !s) return s.error();
    entries_.push_back({serial_hex, node.id, node.role, node.validity.not_before, node.validity.not_after, false, 0, 0});
    if (auto s = save_index(); !s) return s.error();
    return Issued{cert.take(), key.take(), serial_hex};
}

Status CertificateAuthority::write_node(const Issued& issued, const std::string& out, const std::string& name) const {
    if (!safe_file_name(name)) return make_error(Errc::invalid_argument, "'" + name + "' is not usable as a file name");
    if (auto s = check_node_target(out, name); !s) return s;
    for (const char* sub : {"", "/x509ca", "/x509", "/x509crl"})
        if (auto s = make_directories(out + sub, 0755); !s) return s.error();
    if (auto s = make_directories(out + "/private", 0700); !s) return s.error();
    std::string key_pem = ossl::private_key_pem(issued.key.get());
    if (key_pem.empty()) return make_error(Errc::openssl_failure, ossl::failure("cannot encode the node key"));
    auto wrote = write_new_file(out + "/private/" + name + ".pem", key_pem, 0600);
    OPENSSL_cleanse(key_pem.data(), key_pem.size());
    if (!wrote) return wrote.error();
    if (auto s = write_new_file(out + "/x509/" + name + ".pem", ossl::certificate_pem(issued.certificate.get()), 0644);
        !s)
        return s.error();
    // CA certificate and CRL are shared by every node: refresh them.
    if (auto s = replace_file(out + "/x509ca/ca.pem", ossl::certificate_pem(cert_.get()), 0644); !s) return s.error();
    auto crl = read_file(crl_path());
    if (!crl) return crl.error();
    return replace_file(out + "/x509crl/ca.crl.pem", *crl, 0644);
}

Result<IndexEntry> CertificateAuthority::revoke(const std::string& which, int reason, std::time_t now) {
    std::string serial = which;
    if (serial.size() > 2 && serial[0] == '0' && (serial[1] == 'x' || serial[1] == 'X')) serial = serial.substr(2);
    for (char& c : serial) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::vector<IndexEntry*> valid;
    bool any = false;
    for (auto& e : entries_)
        if (e.serial == serial || e.id == which) {
            any = true;
            if (!e.revoked) valid.push_back(&e);
        }
    if (!any) return make_error(Errc::not_found, "no certificate with serial or identity '" + which + "' in this CA");
    if (valid.empty()) return make_error(Errc::already_exists, "certificate '" + which + "' is already revoked");
    // An identity may have been re-issued; then the serial must choose.
    if (valid.size() > 1)
        return make_error(Errc::invalid_argument, "identity '" + which + "' has " + std::to_string(valid.size()) +
                                                      " valid certificates; revoke by serial");
    valid.front()->revoked = true;
    valid.front()->revoked_at = static_cast<long long>(now);
    valid.front()->reason = reason;
    IndexEntry result = *valid.front();
    if (auto s = save_index(); !s) return s.error();
    auto crl = write_crl(now, crl_days_);
    if (!crl) return crl.error();
    return result;
}

Result<ossl::X509CrlPtr> CertificateAuthority::write_crl(std::time_t now, long long days) {
    if (days <= 0) return make_error(Errc::invalid_argument, "CRL validity days must be positive");
    std::vector<RevokedEntry> revoked;
    for (const auto& e : entries_)
        if (e.revoked) revoked.push_back({e.serial, e.revoked_at, e.reason});
    // RFC 5280 sec. 5.2.3: cRLNumber increases with every CRL.
    ++crl_number_;
    crl_days_ = days;
    auto crl = make_crl(cert_.get(), key_.get(), revoked, crl_number_,
                        {static_cast<long long>(now) - kBackdate, static_cast<long long>(now) + days * kDay});
    if (!crl) return crl.error();
    if (auto s = save_index(); !s) return s.error();
    if (auto s = replace_file(crl_path(), ossl::crl_pem(crl->get()), 0644); !s) return s.error();
    return crl;
}

}  // namespace nemokey::certs
