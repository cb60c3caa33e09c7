// Fuzzes what the home agent and mobcert do with certificate bytes from
// outside: PEM (and raw DER) certificate parsing, identity and RFC 3779
// extraction, the authorisation decision, and CRL / key PEM parsing.
// Must never crash, leak or hang; errors are values.
#include "certs/authz/authorize.hpp"
#include "certs/authz/files.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

using namespace nemokey;
using namespace nemokey::certs;

namespace {

void exercise(X509* cert) {
    auto id = extract_identity(cert);
    if (!id) return;
    (void)describe(*id);
    for (const auto& r : id->address_blocks) (void)r.to_string();
    // One address / prefix inside the first block if there is one, so the
    // allow path runs too, and a fixed one that is usually outside.
    net::Ipv6Address hoa = *net::Ipv6Address::parse("2001:db8:1::10");
    std::vector<net::Prefix> prefixes{*net::Prefix::parse("2001:db8:100::/48")};
    (void)authorize(*id, hoa, prefixes);
    for (const auto& r : id->address_blocks)
        if (auto* v6 = std::get_if<net::Ipv6Address>(&r.min)) {
            (void)authorize(*id, *v6, {net::Prefix{*v6, 64}});
            break;
        }
    TrustStore empty;
    (void)empty.verify(cert, {}, 1767225600);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    if (auto certs = parse_certificates(text, "fuzz"))
        for (auto& c : *certs) exercise(c.get());
    if (auto der = parse_certificate_der(text, "fuzz")) exercise(der->get());
    (void)parse_crl(text, "fuzz");
    (void)parse_private_key(text, "fuzz");
    ossl::clear_error_queue();
    return 0;
}
