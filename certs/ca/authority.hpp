// A mobcert CA directory:
//   <ca-dir>/ca.key.pem          CA private key, 0600 (never in a swanctl folder)
//   <ca-dir>/index.json          issued certificates, revocations, CRL number (0600)
//   <ca-dir>/x509ca/ca.pem       CA certificate
//   <ca-dir>/x509crl/ca.crl.pem  current CRL
//   <ca-dir>/x509/<id>.<serial>.pem  copy of every issued certificate
// and node folders in the layout swanctl(8) loads as it is (relative to the
// swanctl.conf it is given, or $SWANCTL_DIR):
//   <out>/x509ca/ca.pem, <out>/x509/<id>.pem, <out>/private/<id>.pem (0600,
//   PKCS#8), <out>/x509crl/ca.crl.pem
#pragma once

#include "certs/authz/error.hpp"
#include "certs/ca/builder.hpp"

#include <ctime>
#include <utility>
#include <string>
#include <vector>

namespace nemokey::certs {

struct IndexEntry {
    std::string serial;  // hex, lower case
    std::string id;
    Role role = Role::mobile_node;
    long long not_before = 0;
    long long not_after = 0;
    bool revoked = false;
    long long revoked_at = 0;
    int reason = 0;
};

struct InitOptions {
    std::string common_name = "nemokey CA";
    std::string key_type = "ec-p256";
    long long validity_days = 3650;
    std::vector<net::Prefix> delegated;  // empty: ::/0 and 0.0.0.0/0
    long long crl_days = 30;
    std::string passphrase;  // encrypts ca.key.pem when not empty
};

struct IssueOptions {
    NodeSpec node;  // validity from validity_days unless node.validity.not_after is set
    std::string key_type = "ec-p256";
    long long validity_days = 730;
};

struct Issued {
    ossl::X509Ptr certificate;
    ossl::Pkey key;
    std::string serial;
};

class CertificateAuthority {
public:
    static Result<CertificateAuthority> init(const std::string& dir, const InitOptions& options, std::time_t now);
    // Loads the CA (key file mode checked, key matched to the certificate).
    static Result<CertificateAuthority> open(const std::string& dir, const std::string& passphrase = {});
    // The index alone (no key needed), for listing.
    static Result<std::vector<IndexEntry>> read_index(const std::string& dir);

    // Issues and records a node certificate with a fresh key.
    Result<Issued> issue(const IssueOptions& options, std::time_t now);
    // Writes the node's swanctl folder (see above); `name` names the files.
    Status write_node(const Issued& issued, const std::string& out_dir, const std::string& name) const;

    // Marks a serial (hex) or identity revoked and writes a fresh CRL.
    Result<IndexEntry> revoke(const std::string& serial_or_id, int reason, std::time_t now);
    // Signs a CRL valid from now for `days`, writes it to x509crl/ca.crl.pem.
    Result<ossl::X509CrlPtr> write_crl(std::time_t now, long long days);

    const std::string& dir() const { return dir_; }
    X509* certificate() const { return cert_.get(); }
    EVP_PKEY* key() const { return key_.get(); }
    const std::vector<IndexEntry>& entries() const { return entries_; }
    std::string ca_cert_path() const { return dir_ + "/x509ca/ca.pem"; }
    std::string crl_path() const { return dir_ + "/x509crl/ca.crl.pem"; }
    long long crl_days() const { return crl_days_; }

    // already_exists if the node folder already holds this name's key or
    // certificate, or a CA certificate / CRL of another CA under our file
    // names (e.g. an /etc/swanctl in use). Checked before issuing, so
    // nothing is half written.
    Status check_node_target(const std::string& out_dir, const std::string& name) const;

private:
    // An exclusive flock on <ca-dir>/.lock for the object's lifetime: two
    // mobcert runs on one CA would otherwise lose index entries or reuse a
    // CRL number.
    class Lock {
    public:
        Lock() = default;
        explicit Lock(int fd) : fd_(fd) {}
        Lock(Lock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
        Lock& operator=(Lock&& o) noexcept {
            std::swap(fd_, o.fd_);
            return *this;
        }
        ~Lock();

    private:
        int fd_ = -1;
    };
    static Result<Lock> lock(const std::string& dir);

    Status save_index() const;
    Status load_index();

    Lock lock_;
    std::string dir_;
    ossl::X509Ptr cert_;
    ossl::Pkey key_;
    std::vector<IndexEntry> entries_;
    long long crl_number_ = 0;
    long long crl_days_ = 30;
};

}  // namespace nemokey::certs
