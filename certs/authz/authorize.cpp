#include "certs/authz/authorize.hpp"

#include <algorithm>

namespace nemokey::certs {

namespace {

std::string peer_name(const CertificateIdentity& p) {
    if (!p.dns_names.empty()) return p.dns_names.front();
    if (!p.email_addresses.empty()) return p.email_addresses.front();
    return p.subject;
}

}  // namespace

Decision authorize(const CertificateIdentity& peer, const net::Ipv6Address& home_address,
                   const std::vector<net::Prefix>& prefixes) {
    const std::string who = "certificate of '" + peer_name(peer) + "'";
    // RFC 3779 sec. 2.2.3.5 lets a certificate inherit its issuer's blocks;
    // for an end entity that would authorise whatever the CA holds, so it is
    // refused rather than resolved.
    if (peer.ipv6_inherit || peer.ipv4_inherit)
        return {Reason::address_blocks_inherit, who + " uses RFC 3779 'inherit' instead of listing its addresses"};

    // A home agent's blocks say which addresses it may stand for as IKE
    // peer, not which it may register as a mobile node.
    if (peer.role == Role::home_agent)
        return {Reason::not_a_mobile_node, who + " is a home-agent certificate, not a mobile node's or router's"};

    net::IpAddress hoa{home_address};
    bool hoa_ok = std::any_of(peer.address_blocks.begin(), peer.address_blocks.end(),
                              [&](const AddressRange& r) { return r.contains(hoa); }) ||
                  std::find(peer.ip_addresses.begin(), peer.ip_addresses.end(), hoa) != peer.ip_addresses.end();
    if (!hoa_ok)
        return {Reason::home_address_not_in_certificate,
                "home address '" + home_address.to_string() + "' is not in the " + who +
                    (peer.has_address_blocks || !peer.ip_addresses.empty()
                         ? ""
                         : " (it has no IP address delegation and no IP subjectAltName)")};
    for (const auto& p : prefixes) {
        bool ok = std::any_of(peer.address_blocks.begin(), peer.address_blocks.end(),
                              [&](const AddressRange& r) { return r.contains(p); });
        if (!ok)
            return {Reason::prefix_not_in_certificate,
                    "mobile network prefix '" + p.to_string() + "' is not in the " + who};
    }
    std::string text = "home address '" + home_address.to_string() + "'";
    if (!prefixes.empty()) text += " and " + std::to_string(prefixes.size()) + " prefix(es)";
    return {Reason::allowed, text + " authorised by the " + who};
}

Decision decide(const TrustStore& trust, X509* peer, const std::vector<X509*>& chain,
                const net::Ipv6Address& home_address, const std::vector<net::Prefix>& prefixes, std::time_t now) {
    Decision v = trust.verify(peer, chain, now);
    if (!v.allowed()) return v;
    auto id = extract_identity(peer);
    if (!id) return {Reason::malformed_certificate, id.error().text};
    return authorize(*id, home_address, prefixes);
}

}  // namespace nemokey::certs
