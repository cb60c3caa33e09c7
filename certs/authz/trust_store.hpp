// The CA certificates and CRLs a home agent trusts, and chain verification
// with the time injected (so tests and the daemon decide the same way).
#pragma once

#include "certs/authz/error.hpp"
#include "certs/ossl/ossl.hpp"

#include <ctime>
#include <string>
#include <vector>

namespace nemokey::certs {

// Why a certificate is or is not acceptable. The first group comes from
// chain verification, the second from the home address / prefix check.
enum class Reason {
    allowed,
    certificate_expired,
    certificate_not_yet_valid,
    untrusted_issuer,         // no path to a trusted CA ("wrong CA"), or a bad signature
    certificate_revoked,
    crl_unusable,             // CRL missing for the issuer, expired, not yet valid or bad signature
    resources_not_delegated,  // RFC 3779 sec. 2.3: leaf blocks not inside the issuer's
    chain_invalid,            // any other path validation failure (the text has OpenSSL's reason)
    malformed_certificate,    // an extension we need does not decode
    home_address_not_in_certificate,
    prefix_not_in_certificate,
    address_blocks_inherit,  // RFC 3779 "inherit" on an end-entity certificate: refused
    not_a_mobile_node,       // a home-agent certificate (OU=home-agent) registering a binding
};
std::string_view to_string(Reason reason);

struct Decision {
    Reason reason = Reason::untrusted_issuer;
    std::string text;
    bool allowed() const { return reason == Reason::allowed; }
};

class TrustStore {
public:
    // Loads every certificate of every file as a trust anchor, and every CRL.
    static Result<TrustStore> load(const std::vector<std::string>& ca_files,
                                   const std::vector<std::string>& crl_files);
    // Every file of <dir>/x509ca/ and <dir>/x509crl/: the swanctl folder the
    // IKE side loads, so both judge with the same CA and CRL.
    static Result<TrustStore> load_swanctl_dir(const std::string& dir);
    void add_ca(ossl::X509Ptr ca) { cas_.push_back(std::move(ca)); }
    void add_crl(ossl::X509CrlPtr crl) { crls_.push_back(std::move(crl)); }
    size_t ca_count() const { return cas_.size(); }
    size_t crl_count() const { return crls_.size(); }

    // RFC 5280 sec. 6 path validation at time `now`: signatures, validity,
    // CA flags, RFC 3779 resource nesting, and, when any CRL is loaded,
    // revocation of the end-entity certificate (a CRL for its issuer is then
    // required). `untrusted` are intermediates the peer sent.
    Decision verify(X509* leaf, const std::vector<X509*>& untrusted, std::time_t now) const;

private:
    std::vector<ossl::X509Ptr> cas_;
    std::vector<ossl::X509CrlPtr> crls_;
};

}  // namespace nemokey::certs
