#include "certs/authz/identity.hpp"

#include "certs/ossl/ossl.hpp"

#include <openssl/x509v3.h>

#include <cstring>
#include <ctime>

namespace nemokey::certs {

namespace {

using net::IpAddress;
using net::Ipv4Address;
using net::Ipv6Address;

// Big-endian byte access for either family.
std::vector<uint8_t> bytes_of(const IpAddress& a) {
    if (auto* v6 = std::get_if<Ipv6Address>(&a)) return {v6->bytes.begin(), v6->bytes.end()};
    const auto& v4 = std::get<Ipv4Address>(a);
    return {v4.bytes.begin(), v4.bytes.end()};
}

IpAddress from_bytes(const unsigned char* p, size_t n) {
    if (n == 4) {
        Ipv4Address a;
        std::memcpy(a.bytes.data(), p, 4);
        return a;
    }
    Ipv6Address a;
    std::memcpy(a.bytes.data(), p, 16);
    return a;
}

// Last address of a prefix: all host bits set.
IpAddress last_of(const net::Prefix& p) {
    auto b = bytes_of(p.address);
    for (size_t bit = p.length; bit < b.size() * 8; ++bit) b[bit / 8] |= static_cast<uint8_t>(0x80 >> (bit % 8));
    return from_bytes(b.data(), b.size());
}

bool less_equal(const IpAddress& a, const IpAddress& b) { return bytes_of(a) <= bytes_of(b); }

}  // namespace

std::string format_utc(long long t) {
    std::time_t tt = static_cast<std::time_t>(t);
    struct tm tm {};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

bool AddressRange::contains(const IpAddress& a) const {
    return a.index() == min.index() && less_equal(min, a) && less_equal(a, max);
}

bool AddressRange::contains(const net::Prefix& p) const {
    auto n = p.normalized();
    return contains(n.address) && contains(last_of(n));
}

std::string AddressRange::to_string() const {
    // A range is a prefix when, past the leading bits min and max share,
    // min has only zero bits and max only one bits.
    auto lo = bytes_of(min), hi = bytes_of(max);
    size_t bits = lo.size() * 8;
    size_t common = 0;
    while (common < bits) {
        uint8_t m = static_cast<uint8_t>(0x80 >> (common % 8));
        if ((lo[common / 8] & m) != (hi[common / 8] & m)) break;
        ++common;
    }
    bool prefix = true;
    for (size_t bit = common; bit < bits && prefix; ++bit) {
        uint8_t m = static_cast<uint8_t>(0x80 >> (bit % 8));
        if ((lo[bit / 8] & m) || !(hi[bit / 8] & m)) prefix = false;
    }
    if (prefix) return net::Prefix{min, static_cast<uint8_t>(common)}.to_string();
    return net::to_string(min) + "-" + net::to_string(max);
}

std::optional<Role> parse_role(std::string_view t) {
    if (t == "ha" || t == "home-agent") return Role::home_agent;
    if (t == "mn" || t == "mobile-node") return Role::mobile_node;
    if (t == "mr" || t == "mobile-router") return Role::mobile_router;
    return std::nullopt;
}

Result<CertificateIdentity> extract_identity(X509* cert) {
    CertificateIdentity id;
    id.subject = ossl::name_text(X509_get_subject_name(cert));
    id.issuer = ossl::name_text(X509_get_issuer_name(cert));
    id.serial = ossl::serial_hex(X509_get0_serialNumber(cert));
    if (!ossl::asn1_time_to_unix(X509_get0_notBefore(cert), id.not_before) ||
        !ossl::asn1_time_to_unix(X509_get0_notAfter(cert), id.not_after))
        return make_error(Errc::malformed_extension, "certificate '" + id.subject + "' has an invalid validity time");
    // X509_check_ca also caches the extensions; EXFLAG_INVALID flags undecodable ones.
    id.is_ca = X509_check_ca(cert) != 0;
    if (X509_get_extension_flags(cert) & EXFLAG_INVALID) {
        ossl::clear_error_queue();
        return make_error(Errc::malformed_extension,
                          "certificate '" + id.subject + "' has an extension that does not decode");
    }

    X509_NAME* subject = X509_get_subject_name(cert);
    int ou = X509_NAME_get_index_by_NID(subject, NID_organizationalUnitName, -1);
    if (ou >= 0) {
        ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, ou));
        id.role = parse_role(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                              static_cast<size_t>(ASN1_STRING_length(s))));
    }

    int crit = 0;
    ossl::GeneralNamesPtr names(
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, nullptr)));
    if (!names && crit != -1) {
        ossl::clear_error_queue();
        return make_error(Errc::malformed_extension, "certificate '" + id.subject + "': subjectAltName does not decode");
    }
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
        if (gn->type == GEN_DNS || gn->type == GEN_EMAIL) {
            const ASN1_IA5STRING* s = gn->d.ia5;
            std::string v(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                          static_cast<size_t>(ASN1_STRING_length(s)));
            (gn->type == GEN_DNS ? id.dns_names : id.email_addresses).push_back(std::move(v));
        } else if (gn->type == GEN_IPADD) {
            int n = ASN1_STRING_length(gn->d.ip);
            // RFC 5280 sec. 4.2.1.6: 4 octets for IPv4, 16 for IPv6.
            if (n != 4 && n != 16)
                return make_error(Errc::malformed_extension, "certificate '" + id.subject +
                                                                 "': subjectAltName iPAddress has " +
                                                                 std::to_string(n) + " octets");
            id.ip_addresses.push_back(from_bytes(ASN1_STRING_get0_data(gn->d.ip), static_cast<size_t>(n)));
        }
    }

    crit = 0;
    ossl::IpAddrBlocksPtr blocks(
        static_cast<IPAddrBlocks*>(X509_get_ext_d2i(cert, NID_sbgp_ipAddrBlock, &crit, nullptr)));
    if (!blocks && crit != -1) {
        ossl::clear_error_queue();
        return make_error(Errc::malformed_extension,
                          "certificate '" + id.subject + "': IP address delegation (RFC 3779) does not decode");
    }
    if (blocks) {
        id.has_address_blocks = true;
        id.address_blocks_critical = crit == 1;
        // RFC 3779 sec. 2.2.3.6: sorted, non-overlapping, adjacent ranges merged.
        if (!X509v3_addr_is_canonical(blocks.get()))
            return make_error(Errc::malformed_extension, "certificate '" + id.subject +
                                                             "': IP address delegation is not in canonical form "
                                                             "(RFC 3779 sec. 2.2.3.6)");
        for (int i = 0; i < sk_IPAddressFamily_num(blocks.get()); ++i) {
            IPAddressFamily* f = sk_IPAddressFamily_value(blocks.get(), i);
            unsigned afi = X509v3_addr_get_afi(f);
            if (afi != IANA_AFI_IPV4 && afi != IANA_AFI_IPV6) continue;  // other families: not ours
            if (f->ipAddressChoice->type == IPAddressChoice_inherit) {
                (afi == IANA_AFI_IPV6 ? id.ipv6_inherit : id.ipv4_inherit) = true;
                continue;
            }
            auto* list = f->ipAddressChoice->u.addressesOrRanges;
            for (int j = 0; j < sk_IPAddressOrRange_num(list); ++j) {
                unsigned char lo[16], hi[16];
                int n = X509v3_addr_get_range(sk_IPAddressOrRange_value(list, j), afi, lo, hi, sizeof lo);
                if (n != 4 && n != 16)
                    return make_error(Errc::malformed_extension, "certificate '" + id.subject +
                                                                     "': IP address delegation entry " +
                                                                     std::to_string(j) + " does not decode");
                id.address_blocks.push_back(
                    {from_bytes(lo, static_cast<size_t>(n)), from_bytes(hi, static_cast<size_t>(n))});
            }
        }
    }
    return id;
}

std::string describe(const CertificateIdentity& id) {
    std::string out;
    auto line = [&](std::string_view k, const std::string& v) {
        out += k;
        out.append(k.size() < 18 ? 18 - k.size() : 1, ' ');
        out += v;
        out += '\n';
    };
    line("subject:", id.subject);
    line("issuer:", id.issuer);
    line("serial:", id.serial);
    line("not-before:", format_utc(id.not_before));
    line("not-after:", format_utc(id.not_after));
    line("ca:", id.is_ca ? "yes" : "no");
    if (id.role) line("role:", std::string(to_string(*id.role)));
    for (const auto& d : id.dns_names) line("san-fqdn:", d);
    for (const auto& e : id.email_addresses) line("san-email:", e);
    for (const auto& a : id.ip_addresses) line("san-ip:", net::to_string(a));
    if (id.ipv6_inherit) line("addr-block:", "IPv6 inherit");
    if (id.ipv4_inherit) line("addr-block:", "IPv4 inherit");
    for (const auto& r : id.address_blocks) line("addr-block:", r.to_string());
    return out;
}

}  // namespace nemokey::certs
