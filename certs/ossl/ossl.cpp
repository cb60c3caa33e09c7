#include "certs/ossl/ossl.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

namespace nemokey::certs::ossl {

void free_x509_stack(STACK_OF(X509) * stack) { sk_X509_free(stack); }
void free_addr_blocks(IPAddrBlocks* blocks) { sk_IPAddressFamily_pop_free(blocks, IPAddressFamily_free); }

std::string error_queue_text() {
    std::string out;
    unsigned long code;
    const char *file = nullptr, *func = nullptr, *data = nullptr;
    int line = 0, flags = 0;
    while ((code = ERR_get_error_all(&file, &line, &func, &data, &flags)) != 0) {
        char buf[256];
        ERR_error_string_n(code, buf, sizeof buf);
        if (!out.empty()) out += "; ";
        // The reason text only; the library/function prefix is noise to users.
        const char* reason = ERR_reason_error_string(code);
        out += reason ? reason : buf;
        if (data && (flags & ERR_TXT_STRING) && *data) {
            out += " (";
            out += data;
            out += ")";
        }
    }
    return out;
}

void clear_error_queue() { ERR_clear_error(); }

std::string failure(std::string_view what) {
    std::string out(what);
    std::string queue = error_queue_text();
    if (!queue.empty()) out += ": " + queue;
    return out;
}

BioPtr memory_bio(std::string_view bytes) {
    return BioPtr(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
}

BioPtr output_bio() { return BioPtr(BIO_new(BIO_s_mem())); }

std::string bio_contents(BIO* bio) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

std::vector<X509Ptr> read_certificates_pem(std::string_view pem, bool* clean_end) {
    std::vector<X509Ptr> out;
    if (clean_end) *clean_end = false;
    auto bio = memory_bio(pem);
    if (!bio) return out;
    for (;;) {
        X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
        if (!cert) break;
        out.push_back(std::move(cert));
    }
    // Running off the end (no further BEGIN line) is the normal stop; any
    // other reason means a block that does not decode.
    unsigned long last = ERR_peek_last_error();
    if (ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE) {
        if (clean_end) *clean_end = true;
        if (!out.empty()) ERR_clear_error();
    }
    return out;
}

X509CrlPtr read_crl_pem(std::string_view pem) {
    auto bio = memory_bio(pem);
    if (!bio) return nullptr;
    return X509CrlPtr(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
}

namespace {
struct Passphrase {
    std::string_view text;
};
int passphrase_cb(char* buf, int size, int, void* u) {
    auto* p = static_cast<Passphrase*>(u);
    // An empty passphrase means "not encrypted": refuse, so an encrypted
    // key fails with a clear error instead of prompting on the terminal.
    if (!p || p->text.empty() || p->text.size() > static_cast<size_t>(size)) return -1;
    std::copy(p->text.begin(), p->text.end(), buf);
    return static_cast<int>(p->text.size());
}
}  // namespace

Pkey read_private_key_pem(std::string_view pem, std::string_view passphrase) {
    auto bio = memory_bio(pem);
    if (!bio) return nullptr;
    Passphrase p{passphrase};
    return Pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, passphrase_cb, &p));
}

std::string certificate_pem(X509* cert) {
    auto bio = output_bio();
    if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return {};
    return bio_contents(bio.get());
}

std::string crl_pem(X509_CRL* crl) {
    auto bio = output_bio();
    if (!bio || PEM_write_bio_X509_CRL(bio.get(), crl) != 1) return {};
    return bio_contents(bio.get());
}

std::string private_key_pem(EVP_PKEY* key, std::string_view passphrase) {
    auto bio = output_bio();
    if (!bio) return {};
    int ok;
    if (passphrase.empty()) {
        ok = PEM_write_bio_PKCS8PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
    } else {
        std::string pass(passphrase);
        ok = PEM_write_bio_PKCS8PrivateKey(bio.get(), key, EVP_aes_256_cbc(), pass.data(),
                                           static_cast<int>(pass.size()), nullptr, nullptr);
        OPENSSL_cleanse(pass.data(), pass.size());
    }
    return ok == 1 ? bio_contents(bio.get()) : std::string();
}

bool known_key_type(std::string_view t) { return t == "ec-p256" || t == "rsa3072" || t == "ed25519"; }

Pkey generate_key(std::string_view key_type) {
    if (key_type == "ec-p256") return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (key_type == "rsa3072") return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{3072}));
    if (key_type == "ed25519") return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    return nullptr;
}

const EVP_MD* signing_digest(EVP_PKEY* key) {
    int id = EVP_PKEY_get_base_id(key);
    if (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448) return nullptr;
    return EVP_sha256();
}

std::string key_type_name(EVP_PKEY* key) {
    switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_EC: {
        char group[64] = {};
        size_t len = 0;
        if (EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof group, &len) == 1)
            return std::string("ecdsa ") + group;
        return "ecdsa";
    }
    case EVP_PKEY_RSA: return "rsa " + std::to_string(EVP_PKEY_get_bits(key));
    case EVP_PKEY_ED25519: return "ed25519";
    case EVP_PKEY_ED448: return "ed448";
    default: return "unknown";
    }
}

bool asn1_time_to_unix(const ASN1_TIME* t, long long& out) {
    struct tm tm {};
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return false;
    out = static_cast<long long>(timegm(&tm));
    return true;
}

std::string asn1_time_text(const ASN1_TIME* t) {
    struct tm tm {};
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return "(invalid time)";
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string serial_hex(const ASN1_INTEGER* serial) {
    BignumPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
    if (!bn) return "?";
    char* hex = BN_bn2hex(bn.get());
    if (!hex) return "?";
    std::string out(hex);
    OPENSSL_free(hex);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string name_text(const X509_NAME* name) {
    auto bio = output_bio();
    if (!bio || !name) return {};
    X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
    return bio_contents(bio.get());
}

}  // namespace nemokey::certs::ossl
