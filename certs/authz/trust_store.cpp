#include "certs/authz/trust_store.hpp"

#include "certs/authz/files.hpp"

#include <openssl/x509_vfy.h>

#include <algorithm>
#include <filesystem>

namespace nemokey::certs {

std::string_view to_string(Reason reason) {
    switch (reason) {
    case Reason::allowed: return "allowed";
    case Reason::certificate_expired: return "certificate-expired";
    case Reason::certificate_not_yet_valid: return "certificate-not-yet-valid";
    case Reason::untrusted_issuer: return "untrusted-issuer";
    case Reason::certificate_revoked: return "certificate-revoked";
    case Reason::crl_unusable: return "crl-unusable";
    case Reason::resources_not_delegated: return "resources-not-delegated";
    case Reason::chain_invalid: return "chain-invalid";
    case Reason::malformed_certificate: return "malformed-certificate";
    case Reason::home_address_not_in_certificate: return "home-address-not-in-certificate";
    case Reason::prefix_not_in_certificate: return "prefix-not-in-certificate";
    case Reason::address_blocks_inherit: return "address-blocks-inherit";
    case Reason::not_a_mobile_node: return "not-a-mobile-node";
    }
    return "unknown";
}

Result<TrustStore> TrustStore::load(const std::vector<std::string>& ca_files,
                                    const std::vector<std::string>& crl_files) {
    TrustStore store;
    for (const auto& f : ca_files) {
        auto certs = load_certificates(f);
        if (!certs) return certs.error();
        for (auto& c : *certs) store.add_ca(std::move(c));
    }
    for (const auto& f : crl_files) {
        auto crl = load_crl(f);
        if (!crl) return crl.error();
        store.add_crl(crl.take());
    }
    return store;
}

Result<TrustStore> TrustStore::load_swanctl_dir(const std::string& dir) {
    auto files_in = [](const std::string& sub, std::vector<std::string>& out) -> Status {
        std::error_code ec;
        std::filesystem::directory_iterator it(sub, ec), end;
        if (ec) return make_error(Errc::io_error, "cannot read folder '" + sub + "': " + ec.message());
        for (; it != end; it.increment(ec))
            if (it->is_regular_file()) out.push_back(it->path().string());
        std::sort(out.begin(), out.end());
        return Ok{};
    };
    std::vector<std::string> cas, crls;
    if (auto s = files_in(dir + "/x509ca", cas); !s) return s.error();
    if (cas.empty()) return make_error(Errc::not_found, "'" + dir + "/x509ca' holds no CA certificate");
    if (std::filesystem::exists(dir + "/x509crl"))
        if (auto s = files_in(dir + "/x509crl", crls); !s) return s.error();
    return load(cas, crls);
}

namespace {

Reason classify(int err) {
    switch (err) {
    case X509_V_OK: return Reason::allowed;
    case X509_V_ERR_CERT_HAS_EXPIRED: return Reason::certificate_expired;
    case X509_V_ERR_CERT_NOT_YET_VALID: return Reason::certificate_not_yet_valid;
    case X509_V_ERR_CERT_REVOKED: return Reason::certificate_revoked;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
    case X509_V_ERR_INVALID_CA:
        return Reason::untrusted_issuer;
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
    case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
        return Reason::crl_unusable;
    case X509_V_ERR_UNNESTED_RESOURCE: return Reason::resources_not_delegated;
    case X509_V_ERR_INVALID_EXTENSION:
    case X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION:
        return Reason::malformed_certificate;
    default: return Reason::chain_invalid;
    }
}

}  // namespace

Decision TrustStore::verify(X509* leaf, const std::vector<X509*>& untrusted, std::time_t now) const {
    std::string subject = ossl::name_text(X509_get_subject_name(leaf));
    auto fail = [&](std::string what) { return Decision{Reason::chain_invalid, ossl::failure(what)}; };
    ossl::clear_error_queue();
    ossl::X509StorePtr store(X509_STORE_new());
    if (!store) return fail("cannot create an X509_STORE");
    for (const auto& ca : cas_)
        if (X509_STORE_add_cert(store.get(), ca.get()) != 1) return fail("cannot add a CA certificate");
    for (const auto& crl : crls_)
        if (X509_STORE_add_crl(store.get(), crl.get()) != 1) return fail("cannot add a CRL");

    ossl::X509StackPtr chain(sk_X509_new_null());
    for (X509* c : untrusted) sk_X509_push(chain.get(), c);

    ossl::X509StoreCtxPtr ctx(X509_STORE_CTX_new());
    if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), leaf, chain.get()) != 1)
        return fail("cannot initialise certificate verification");
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
    // Injected clock: X509_VERIFY_PARAM_set_time also sets X509_V_FLAG_USE_CHECK_TIME.
    X509_VERIFY_PARAM_set_time(param, now);
    if (!crls_.empty()) X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_CRL_CHECK);

    int ok = X509_verify_cert(ctx.get());
    int err = X509_STORE_CTX_get_error(ctx.get());
    int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    ossl::clear_error_queue();
    if (ok == 1) return Decision{Reason::allowed, "certificate '" + subject + "' verified"};
    Reason r = classify(err);
    if (r == Reason::allowed) r = Reason::chain_invalid;
    std::string where = "certificate '" + subject + "'";
    if (depth != 0) where += " (its chain at depth " + std::to_string(depth) + ")";
    return Decision{r, where + ": " + X509_verify_cert_error_string(err)};
}

}  // namespace nemokey::certs
