#include "certs/ca/builder.hpp"

#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <cstring>
#include <iterator>

namespace nemokey::certs {

namespace {

Error ssl_error(const std::string& what) { return make_error(Errc::openssl_failure, ossl::failure(what)); }

bool set_time(ASN1_TIME* field, long long t) { return ASN1_TIME_set(field, static_cast<time_t>(t)) != nullptr; }

// Extensions whose text form is clearest through the v3 config parser.
bool add_conf_ext(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
    ossl::X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
    return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

// RFC 3779 sec. 2.2.3: one IPAddressFamily per AFI, prefixes, canonical.
Result<ossl::IpAddrBlocksPtr> address_blocks(const std::vector<net::Prefix>& prefixes) {
    ossl::IpAddrBlocksPtr blocks(sk_IPAddressFamily_new_null());
    if (!blocks) return ssl_error("cannot allocate IP address blocks");
    // Canonical form has no overlaps (sec. 2.2.3.6) and OpenSSL's canonize
    // refuses them rather than merging, so drop every prefix that another
    // one contains (two prefixes either nest or are disjoint), e.g. a home
    // address inside a mobile network prefix, or anything under ::/0.
    std::vector<net::Prefix> kept;
    for (const auto& p : prefixes) {
        auto n = p.normalized();
        bool covered = false;
        for (const auto& other : prefixes) {
            auto o = other.normalized();
            if (o != n && o.contains(n)) covered = true;
        }
        for (const auto& k : kept) covered = covered || k == n;
        if (!covered) kept.push_back(n);
    }
    for (const auto& n : kept) {
        unsigned char bytes[16] = {};
        unsigned afi;
        if (auto* v6 = std::get_if<net::Ipv6Address>(&n.address)) {
            std::memcpy(bytes, v6->bytes.data(), 16);
            afi = IANA_AFI_IPV6;
        } else {
            std::memcpy(bytes, std::get<net::Ipv4Address>(n.address).bytes.data(), 4);
            afi = IANA_AFI_IPV4;
        }
        if (X509v3_addr_add_prefix(blocks.get(), afi, nullptr, bytes, n.length) != 1)
            return ssl_error("cannot add '" + n.to_string() + "' to the IP address blocks");
    }
    // Sorts and merges (sec. 2.2.3.6), e.g. a HoA inside one of the prefixes.
    if (X509v3_addr_canonize(blocks.get()) != 1) return ssl_error("cannot canonicalise the IP address blocks");
    return blocks;
}

bool valid_label_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; }

bool valid_dns_name(std::string_view s) {
    if (s.empty() || s.size() > 253) return false;
    size_t start = 0;
    while (true) {
        size_t dot = s.find('.', start);
        std::string_view label = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
        for (char c : label)
            if (!valid_label_char(c)) return false;
        if (dot == std::string_view::npos) return true;
        start = dot + 1;
    }
}

bool add_name_entry(X509_NAME* name, const char* field, const std::string& value) {
    return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(value.c_str()),
                                      -1, -1, 0) == 1;
}

}  // namespace

Result<ossl::Asn1IntegerPtr> random_serial() {
    unsigned char buf[16];
    ossl::clear_error_queue();
    do {
        if (RAND_bytes(buf, sizeof buf) != 1) return ssl_error("cannot draw a random serial number");
        buf[0] &= 0x7f;  // positive as a DER INTEGER
    } while (buf[0] == 0);  // keep all 16 octets significant
    ossl::BignumPtr bn(BN_bin2bn(buf, sizeof buf, nullptr));
    if (!bn) return ssl_error("cannot build the serial number");
    ossl::Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
    if (!serial) return ssl_error("cannot build the serial number");
    return serial;
}

Status check_identity(const std::string& id) {
    auto at = id.find('@');
    if (at == std::string::npos) {
        if (valid_dns_name(id)) return Ok{};
        return make_error(Errc::invalid_argument,
                          "identity '" + id + "' is neither an FQDN (letters, digits, '-', '.') nor an RFC 822 name");
    }
    std::string local = id.substr(0, at), domain = id.substr(at + 1);
    bool local_ok = !local.empty() && local.size() <= 64 && local[0] != '.';
    for (char c : local)
        if (c <= ' ' || c >= 127 || c == '@' || c == '<' || c == '>' || c == '"' || c == '\\' || c == '/')
            local_ok = false;
    if (local_ok && valid_dns_name(domain)) return Ok{};
    return make_error(Errc::invalid_argument, "identity '" + id + "' is not a valid RFC 822 name (local@domain)");
}

Result<ossl::X509Ptr> make_ca_certificate(const CaSpec& spec, EVP_PKEY* key) {
    ossl::clear_error_queue();
    if (spec.validity.not_after <= spec.validity.not_before)
        return make_error(Errc::invalid_argument, "CA validity ends before it starts");
    auto serial = random_serial();
    if (!serial) return serial.error();
    ossl::X509Ptr cert(X509_new());
    if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
        X509_set_serialNumber(cert.get(), serial->get()) != 1)
        return ssl_error("cannot start the CA certificate");
    X509_NAME* name = X509_get_subject_name(cert.get());
    if (!add_name_entry(name, "O", "nemokey") || !add_name_entry(name, "CN", spec.common_name))
        return make_error(Errc::invalid_argument, ossl::failure("CA name '" + spec.common_name + "' is not usable"));
    if (X509_set_issuer_name(cert.get(), name) != 1 ||
        !set_time(X509_getm_notBefore(cert.get()), spec.validity.not_before) ||
        !set_time(X509_getm_notAfter(cert.get()), spec.validity.not_after) || X509_set_pubkey(cert.get(), key) != 1)
        return ssl_error("cannot fill the CA certificate");

    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
    if (!add_conf_ext(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE") ||
        !add_conf_ext(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign") ||
        !add_conf_ext(cert.get(), &ctx, NID_subject_key_identifier, "hash") ||
        !add_conf_ext(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always"))
        return ssl_error("cannot add the CA extensions");
    std::vector<net::Prefix> delegated = spec.delegated;
    if (delegated.empty()) {
        delegated.push_back(net::Prefix{net::Ipv6Address{}, 0});
        delegated.push_back(net::Prefix{net::Ipv4Address{}, 0});
    }
    auto blocks = address_blocks(delegated);
    if (!blocks) return blocks.error();
    // RFC 3779 sec. 2.2.1: the extension SHOULD be critical.
    if (X509_add1_ext_i2d(cert.get(), NID_sbgp_ipAddrBlock, blocks->get(), 1, X509V3_ADD_DEFAULT) != 1)
        return ssl_error("cannot add the CA's IP address blocks");
    if (X509_sign(cert.get(), key, ossl::signing_digest(key)) <= 0) return ssl_error("cannot sign the CA certificate");
    return cert;
}

Result<ossl::X509Ptr> make_node_certificate(const NodeSpec& spec, EVP_PKEY* node_key, X509* ca_cert,
                                            EVP_PKEY* ca_key, const ASN1_INTEGER* serial) {
    ossl::clear_error_queue();
    if (auto st = check_identity(spec.id); !st) return st.error();
    if (spec.validity.not_after <= spec.validity.not_before)
        return make_error(Errc::invalid_argument, "validity of '" + spec.id + "' ends before it starts");
    // Every certificate carries an address block: under a CA that has one,
    // strongSwan's addrblock plugin (strict by default) rejects a subject
    // without (addrblock_validator.c), so a home agent gets its home agent
    // address as its "home address".
    if (!spec.home_address)
        return make_error(Errc::invalid_argument,
                          "a " + std::string(to_string(spec.role)) + " certificate needs " +
                              (spec.role == Role::home_agent ? "its home agent address" : "a home address") +
                              " (--home-address)");
    // Mobile network prefixes (RFC 3963) for a router; for a home agent the
    // blocks are the addresses it may stand for as IKE peer (e.g. ::/0 when
    // mobile nodes reverse-tunnel everything through it, RFC 4877 sec. 4.1).
    if (spec.role == Role::mobile_node && !spec.prefixes.empty())
        return make_error(Errc::invalid_argument,
                          "a mobile-node certificate carries no prefixes; mobile network prefixes (RFC 3963) "
                          "belong in a mobile-router certificate");
    if (spec.home_address &&
        (spec.home_address->is_unspecified() || spec.home_address->is_multicast() || spec.home_address->is_link_local()))
        return make_error(Errc::invalid_argument,
                          "home address '" + spec.home_address->to_string() + "' is not a global unicast address");
    for (const auto& p : spec.prefixes)
        if (p.normalized() != p)
            return make_error(Errc::invalid_argument, "prefix '" + p.to_string() +
                                                          "' has bits set past its length; did you mean '" +
                                                          p.normalized().to_string() + "'?");

    // The CA's blocks must cover the request, else every verifier rejects
    // the certificate (RFC 3779 sec. 2.3).
    auto ca_id = extract_identity(ca_cert);
    if (!ca_id) return ca_id.error();
    if (ca_id->has_address_blocks) {
        auto covered = [&](const auto& x) {
            for (const auto& r : ca_id->address_blocks)
                if (r.contains(x)) return true;
            return false;
        };
        if (spec.home_address && !covered(net::IpAddress{*spec.home_address}))
            return make_error(Errc::invalid_argument, "home address '" + spec.home_address->to_string() +
                                                          "' is outside the addresses the CA may delegate");
        for (const auto& p : spec.prefixes)
            if (!covered(p))
                return make_error(Errc::invalid_argument,
                                  "prefix '" + p.to_string() + "' is outside the addresses the CA may delegate");
    }

    ossl::X509Ptr cert(X509_new());
    if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1 || X509_set_serialNumber(cert.get(), const_cast<ASN1_INTEGER*>(serial)) != 1)  // copies
        return ssl_error("cannot start the certificate");
    X509_NAME* name = X509_get_subject_name(cert.get());
    if (!add_name_entry(name, "O", "nemokey") || !add_name_entry(name, "OU", std::string(to_string(spec.role))) ||
        !add_name_entry(name, "CN", spec.id))
        return make_error(Errc::invalid_argument,
                          ossl::failure("identity '" + spec.id + "' does not fit a subject name"));
    if (X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert)) != 1 ||
        !set_time(X509_getm_notBefore(cert.get()), spec.validity.not_before) ||
        !set_time(X509_getm_notAfter(cert.get()), spec.validity.not_after) ||
        X509_set_pubkey(cert.get(), node_key) != 1)
        return ssl_error("cannot fill the certificate");

    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, ca_cert, cert.get(), nullptr, nullptr, 0);
    if (!add_conf_ext(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE") ||
        !add_conf_ext(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature") ||
        !add_conf_ext(cert.get(), &ctx, NID_subject_key_identifier, "hash") ||
        !add_conf_ext(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always"))
        return ssl_error("cannot add the certificate extensions");

    // subjectAltName: the IKEv2 identity (RFC 4945 sec. 3.1: ID_FQDN and
    // ID_RFC822_ADDR match dNSName / rfc822Name), and the home address.
    ossl::GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
    auto push_name = [&](int type, ASN1_STRING* value) {
        GENERAL_NAME* gn = GENERAL_NAME_new();
        if (!gn || !value) {
            GENERAL_NAME_free(gn);
            ASN1_STRING_free(value);
            return false;
        }
        GENERAL_NAME_set0_value(gn, type, value);
        if (sk_GENERAL_NAME_push(names.get(), gn) <= 0) {
            GENERAL_NAME_free(gn);
            return false;
        }
        return true;
    };
    ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
    if (ia5) ASN1_STRING_set(ia5, spec.id.data(), static_cast<int>(spec.id.size()));
    bool ok = names && push_name(spec.id.find('@') != std::string::npos ? GEN_EMAIL : GEN_DNS, ia5);
    if (ok && spec.home_address) {
        ASN1_OCTET_STRING* ip = ASN1_OCTET_STRING_new();
        if (ip) ASN1_OCTET_STRING_set(ip, spec.home_address->bytes.data(), 16);
        ok = push_name(GEN_IPADD, ip);
    }
    if (!ok || X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1)
        return ssl_error("cannot add the subjectAltName");

    std::vector<net::Prefix> delegated;
    if (spec.home_address) delegated.push_back(net::Prefix{*spec.home_address, 128});
    delegated.insert(delegated.end(), spec.prefixes.begin(), spec.prefixes.end());
    if (!delegated.empty()) {
        auto blocks = address_blocks(delegated);
        if (!blocks) return blocks.error();
        if (X509_add1_ext_i2d(cert.get(), NID_sbgp_ipAddrBlock, blocks->get(), 1, X509V3_ADD_DEFAULT) != 1)
            return ssl_error("cannot add the IP address blocks");
    }
    if (X509_sign(cert.get(), ca_key, ossl::signing_digest(ca_key)) <= 0)
        return ssl_error("cannot sign the certificate");
    return cert;
}

Result<ossl::X509CrlPtr> make_crl(X509* ca_cert, EVP_PKEY* ca_key, const std::vector<RevokedEntry>& revoked,
                                  long long crl_number, const Validity& validity) {
    ossl::clear_error_queue();
    ossl::X509CrlPtr crl(X509_CRL_new());
    ossl::Asn1TimePtr last(ASN1_TIME_new()), next(ASN1_TIME_new());
    if (!crl || !last || !next || X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
        X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca_cert)) != 1 ||
        !set_time(last.get(), validity.not_before) || !set_time(next.get(), validity.not_after) ||
        X509_CRL_set1_lastUpdate(crl.get(), last.get()) != 1 || X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1)
        return ssl_error("cannot start the CRL");
    for (const auto& r : revoked) {
        ossl::X509RevokedPtr entry(X509_REVOKED_new());
        BIGNUM* raw = nullptr;
        if (!entry || BN_hex2bn(&raw, r.serial_hex.c_str()) == 0)
            return make_error(Errc::invalid_argument, "revoked serial '" + r.serial_hex + "' is not hexadecimal");
        ossl::BignumPtr bn(raw);
        ossl::Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
        ossl::Asn1TimePtr when(ASN1_TIME_new());
        if (!serial || !when || !set_time(when.get(), r.revoked_at) ||
            X509_REVOKED_set_serialNumber(entry.get(), serial.get()) != 1 ||
            X509_REVOKED_set_revocationDate(entry.get(), when.get()) != 1)
            return ssl_error("cannot build a CRL entry");
        if (r.reason != 0) {
            ASN1_ENUMERATED* code = ASN1_ENUMERATED_new();
            bool added = code && ASN1_ENUMERATED_set(code, r.reason) == 1 &&
                         X509_REVOKED_add1_ext_i2d(entry.get(), NID_crl_reason, code, 0, 0) == 1;
            ASN1_ENUMERATED_free(code);
            if (!added) return ssl_error("cannot add the CRL reason");
        }
        if (X509_CRL_add0_revoked(crl.get(), entry.get()) != 1) return ssl_error("cannot add a CRL entry");
        entry.release();
    }
    ossl::BignumPtr number(BN_new());
    ossl::Asn1IntegerPtr asn_number(number && BN_set_word(number.get(), static_cast<BN_ULONG>(crl_number))
                                        ? BN_to_ASN1_INTEGER(number.get(), nullptr)
                                        : nullptr);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, ca_cert, nullptr, nullptr, crl.get(), 0);
    ossl::X509ExtensionPtr aki(X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
    // RFC 5280 sec. 5.2.1 / 5.2.3: AKI and cRLNumber in every v2 CRL.
    if (!asn_number || !aki || X509_CRL_add_ext(crl.get(), aki.get(), -1) != 1 ||
        X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, asn_number.get(), 0, 0) != 1)
        return ssl_error("cannot add the CRL extensions");
    X509_CRL_sort(crl.get());
    if (X509_CRL_sign(crl.get(), ca_key, ossl::signing_digest(ca_key)) <= 0) return ssl_error("cannot sign the CRL");
    return crl;
}

namespace {
// RFC 5280 sec. 5.3.1 (7 is unused).
constexpr const char* kReasons[] = {"unspecified",        "keyCompromise", "CACompromise",
                                    "affiliationChanged", "superseded",    "cessationOfOperation",
                                    "certificateHold",    nullptr,         "removeFromCRL",
                                    "privilegeWithdrawn", "AACompromise"};
}  // namespace

std::optional<int> parse_crl_reason(std::string_view name) {
    for (int i = 0; i < static_cast<int>(std::size(kReasons)); ++i)
        if (kReasons[i] && name == kReasons[i]) return i;
    return std::nullopt;
}

std::string crl_reason_name(int reason) {
    if (reason >= 0 && reason < static_cast<int>(std::size(kReasons)) && kReasons[reason]) return kReasons[reason];
    return "reason-" + std::to_string(reason);
}

}  // namespace nemokey::certs
