// Building and signing certificates and CRLs in memory: no files, time and
// validity given by the caller, so tests can make expired or
// not-yet-valid certificates on purpose.
#pragma once

#include "certs/authz/error.hpp"
#include "certs/authz/identity.hpp"
#include "certs/ossl/ossl.hpp"
#include "conf/net/address.hpp"

#include <optional>
#include <string>
#include <vector>

namespace nemokey::certs {

struct Validity {
    long long not_before = 0;  // Unix seconds
    long long not_after = 0;
};

struct CaSpec {
    std::string common_name = "nemokey CA";
    // Addresses the CA may delegate. RFC 3779 sec. 2.3 path validation
    // (done by OpenSSL and by strongSwan's addrblock plugin) refuses an end
    // entity whose blocks are not inside its issuer's, so the CA carries
    // blocks too; default ::/0 and 0.0.0.0/0.
    std::vector<net::Prefix> delegated;
    Validity validity;
};

struct NodeSpec {
    Role role = Role::mobile_node;
    std::string id;  // FQDN, or an RFC 822 name (contains '@')
    // Home address; for a home agent its home agent address. Required.
    std::optional<net::Ipv6Address> home_address;
    // Mobile router: its mobile network prefixes (RFC 3963). Home agent: the
    // address space it may stand for as remote traffic selector (for
    // strongSwan's addrblock narrowing on the mobile node). Mobile node: none.
    std::vector<net::Prefix> prefixes;
    Validity validity;
};

// Random positive serial of 127 bits (RFC 5280 sec. 4.1.2.2: positive,
// at most 20 octets; unpredictable serials also blunt chosen-prefix attacks).
Result<ossl::Asn1IntegerPtr> random_serial();

// Checks an identity: a DNS name of letters, digits, '-' and '.', or
// local@domain; invalid_argument naming the value otherwise.
Status check_identity(const std::string& id);

Result<ossl::X509Ptr> make_ca_certificate(const CaSpec& spec, EVP_PKEY* key);
Result<ossl::X509Ptr> make_node_certificate(const NodeSpec& spec, EVP_PKEY* node_key, X509* ca_cert,
                                            EVP_PKEY* ca_key, const ASN1_INTEGER* serial);

struct RevokedEntry {
    std::string serial_hex;
    long long revoked_at = 0;
    int reason = 0;  // RFC 5280 sec. 5.3.1 CRLReason; 0 = unspecified (then omitted)
};

Result<ossl::X509CrlPtr> make_crl(X509* ca_cert, EVP_PKEY* ca_key, const std::vector<RevokedEntry>& revoked,
                                  long long crl_number, const Validity& validity);

// CRLReason names as openssl uses them ("keyCompromise"), and back.
std::optional<int> parse_crl_reason(std::string_view name);
std::string crl_reason_name(int reason);

}  // namespace nemokey::certs
