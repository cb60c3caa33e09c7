#include "ikebridge/core/authorization.hpp"

#include "certs/authz/authorize.hpp"
#include "certs/authz/files.hpp"
#include "certs/authz/identity.hpp"

namespace nemokey::ikebridge {
namespace {

template <size_t N>
std::optional<uint8_t> prefix_length(const std::array<uint8_t, N>& from, const std::array<uint8_t, N>& to) {
    // from..to is a prefix when, from some bit on, from has only zeros and
    // to only ones, and before it they agree.
    size_t bits = N * 8, len = bits;
    for (size_t i = 0; i < bits; ++i) {
        bool f = (from[i / 8] >> (7 - i % 8)) & 1, t = (to[i / 8] >> (7 - i % 8)) & 1;
        if (f != t) {
            len = i;
            break;
        }
    }
    for (size_t i = len; i < bits; ++i) {
        bool f = (from[i / 8] >> (7 - i % 8)) & 1, t = (to[i / 8] >> (7 - i % 8)) & 1;
        if (f || !t) return std::nullopt;
    }
    return static_cast<uint8_t>(len);
}

}  // namespace

std::optional<net::Prefix> to_prefix(const SelectorRange& r) {
    if (const auto* f6 = std::get_if<net::Ipv6Address>(&r.from)) {
        const auto* t6 = std::get_if<net::Ipv6Address>(&r.to);
        if (!t6) return std::nullopt;
        auto len = prefix_length(f6->bytes, t6->bytes);
        if (!len) return std::nullopt;
        return net::Prefix{r.from, *len};
    }
    const auto* f4 = std::get_if<net::Ipv4Address>(&r.from);
    const auto* t4 = std::get_if<net::Ipv4Address>(&r.to);
    if (!f4 || !t4) return std::nullopt;
    auto len = prefix_length(f4->bytes, t4->bytes);
    if (!len) return std::nullopt;
    return net::Prefix{r.from, *len};
}

AuthorizationDecision authorize_child(const Connection& c, const std::string& peer_id, std::string_view der,
                                      const std::vector<SelectorRange>& remote) {
    if (peer_id != c.remote_id)
        return {false, "peer " + peer_id + " is not " + c.remote_id + ", the identity configured for " + c.name};
    // What the configuration gives this node: its home address (host) and
    // the prefixes of its selectors (RFC 3963 sec. 5.5: the mobile network).
    std::vector<net::Prefix> configured;
    configured.push_back(net::Prefix{c.home_address, 128});
    for (const auto& p : c.mobile_network_prefixes) configured.push_back(p);
    for (const auto& child : c.children)
        for (const auto& ts : child.remote_ts) {
            auto text = ts.substr(0, ts.find('['));
            if (auto p = net::Prefix::parse(text)) configured.push_back(*p);
        }
    std::vector<net::Prefix> prefixes;
    for (const auto& r : remote) {
        auto p = to_prefix(r);
        if (!p) return {false, "a traffic selector of " + peer_id + " is not a prefix"};
        bool inside = false;
        for (const auto& allowed : configured) inside |= allowed.contains(*p);
        if (!inside) return {false, peer_id + " asked for " + p->to_string() + ", which is not configured for it"};
        bool host = p->length == p->max_length();
        if (!host && net::is_v6(p->address)) prefixes.push_back(*p);
        if (host && net::is_v6(p->address) && std::get<net::Ipv6Address>(p->address) != c.home_address)
            return {false, peer_id + " asked for " + p->to_string() + ", which is not its home address"};
    }
    if (der.empty()) return {false, peer_id + " authenticated without a certificate"};
    auto cert = certs::parse_certificate_der(der, "the certificate of " + peer_id);
    if (!cert) return {false, cert.error().text};
    auto identity = certs::extract_identity(cert->get());
    if (!identity) return {false, identity.error().text};
    // Prefixes the node may hold: the RFC 3779 check covers IPv6 prefixes
    // that are mobile network prefixes; the home address itself always.
    std::vector<net::Prefix> mnps;
    for (const auto& p : prefixes)
        for (const auto& m : c.mobile_network_prefixes)
            if (m.contains(p)) mnps.push_back(p);
    auto d = certs::authorize(*identity, c.home_address, mnps);
    if (!d.allowed()) return {false, "the certificate of " + peer_id + ": " + d.text};
    return {true, {}};
}

}  // namespace nemokey::ikebridge
