// The home agent's question (RFC 4877 sec. 4.1 / RFC 5026 sec. 5.1: the
// home agent must check that the IKE peer is authorised to use the home
// address, and for NEMO the mobile network prefixes, RFC 3963 sec. 6.1 / 6.2):
// may this verified certificate register this home address and these prefixes?
#pragma once

#include "certs/authz/identity.hpp"
#include "certs/authz/trust_store.hpp"
#include "conf/net/address.hpp"

#include <ctime>
#include <vector>

namespace nemokey::certs {

// Only the address part: the home address must lie in the certificate's
// RFC 3779 blocks or equal one of its iPAddress subjectAltNames; every
// prefix must lie wholly inside one RFC 3779 range (an IP SAN names one
// address, so it cannot authorise a prefix). A certificate mobcert marked
// as a home agent's (OU=home-agent) registers nothing.
Decision authorize(const CertificateIdentity& peer, const net::Ipv6Address& home_address,
                   const std::vector<net::Prefix>& prefixes);

// The whole check: chain verification at `now` against `trust`, then
// extraction, then authorize(). The first failing step gives the reason.
Decision decide(const TrustStore& trust, X509* peer, const std::vector<X509*>& chain,
                const net::Ipv6Address& home_address, const std::vector<net::Prefix>& prefixes, std::time_t now);

}  // namespace nemokey::certs
