// What a certificate says about its holder: the identities IKEv2 matches
// (subjectAltName FQDN / RFC 822 name / IP), the mobcert role, and the
// RFC 3779 IP address delegation (home address + mobile network prefixes).
#pragma once

#include "certs/authz/error.hpp"
#include "conf/net/address.hpp"
#include "conf/net/role.hpp"

#include <openssl/x509.h>

#include <optional>
#include <string>
#include <vector>

namespace nemokey::certs {

// One entry of an RFC 3779 IPAddressChoice, as the inclusive range it covers
// (RFC 3779 sec. 2.2.3.7 - 2.2.3.9: a prefix or a min..max range).
struct AddressRange {
    net::IpAddress min;
    net::IpAddress max;

    bool contains(const net::IpAddress& a) const;
    bool contains(const net::Prefix& p) const;
    // "2001:db8::/48" when the range is a prefix, else "min-max".
    std::string to_string() const;
    bool operator==(const AddressRange&) const = default;
};

// mobcert puts the role in the subject's organizationalUnitName
// (conf/net/role.hpp, shared with conf/; to_string gives the OU text).
using net::Role;
using net::to_string;
std::optional<Role> parse_role(std::string_view text);  // "ha"/"home-agent", "mn"/..., "mr"/...

struct CertificateIdentity {
    std::string subject;  // RFC 2253
    std::string issuer;
    std::string serial;   // hex
    long long not_before = 0;  // Unix seconds
    long long not_after = 0;
    bool is_ca = false;
    std::optional<Role> role;
    std::vector<std::string> dns_names;        // subjectAltName dNSName
    std::vector<std::string> email_addresses;  // subjectAltName rfc822Name
    std::vector<net::IpAddress> ip_addresses;  // subjectAltName iPAddress
    // RFC 3779 sbgp-ipAddrBlock: present or not, per-family "inherit", ranges.
    bool has_address_blocks = false;
    bool address_blocks_critical = false;
    bool ipv6_inherit = false;
    bool ipv4_inherit = false;
    std::vector<AddressRange> address_blocks;
};

// Reads the fields above; malformed_extension if a subjectAltName or the
// address blocks extension is present but does not decode or is not in the
// canonical form RFC 3779 sec. 2.2.3.6 requires.
Result<CertificateIdentity> extract_identity(X509* cert);

// Unix seconds as "YYYY-MM-DDTHH:MM:SSZ".
std::string format_utc(long long unix_seconds);

// Multi-line human summary, used by `mobcert show`.
std::string describe(const CertificateIdentity& id);

}  // namespace nemokey::certs
