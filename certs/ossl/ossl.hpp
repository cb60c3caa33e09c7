// Thin RAII layer over the OpenSSL 3 objects mobcert and the home agent's
// certificate checks use. Nothing here knows about Mobile IPv6: owning
// pointers, the error queue as text, and PEM helpers.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace nemokey::certs::ossl {

template <auto Free>
struct Deleter {
    template <class T>
    void operator()(T* p) const noexcept { Free(p); }
};

using Pkey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, Deleter<X509_CRL_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;
using X509RevokedPtr = std::unique_ptr<X509_REVOKED, Deleter<X509_REVOKED_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, Deleter<X509_NAME_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, Deleter<ASN1_INTEGER_free>>;
using Asn1TimePtr = std::unique_ptr<ASN1_TIME, Deleter<ASN1_TIME_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES_free>>;
void free_x509_stack(STACK_OF(X509) * stack);  // frees the stack, not the certificates
using X509StackPtr = std::unique_ptr<STACK_OF(X509), Deleter<free_x509_stack>>;
void free_addr_blocks(IPAddrBlocks* blocks);
using IpAddrBlocksPtr = std::unique_ptr<IPAddrBlocks, Deleter<free_addr_blocks>>;

// Drains OpenSSL's thread-local error queue into one line ("a; b; c"),
// empty when the queue held nothing. Call it right after a failed call.
std::string error_queue_text();
// Empties the queue without reading it (before a call whose errors we report).
void clear_error_queue();

// `what` plus the queue text, e.g. "signing the certificate: ...".
std::string failure(std::string_view what);

// Memory BIO over a byte string (read only) and one to collect output.
BioPtr memory_bio(std::string_view bytes);
BioPtr output_bio();
std::string bio_contents(BIO* bio);

// Certificate, CRL, key <-> PEM text. The readers return null/empty on
// malformed input and leave the reason in the error queue.
// `clean_end` (optional) tells whether reading stopped at the end of the
// PEM blocks rather than at a block that does not decode.
std::vector<X509Ptr> read_certificates_pem(std::string_view pem, bool* clean_end = nullptr);
X509CrlPtr read_crl_pem(std::string_view pem);
// `passphrase` empty: the key must not be encrypted (never prompts).
Pkey read_private_key_pem(std::string_view pem, std::string_view passphrase = {});
std::string certificate_pem(X509* cert);
std::string crl_pem(X509_CRL* crl);
// PKCS#8 PEM ("BEGIN PRIVATE KEY"), encrypted with AES-256-CBC when a
// passphrase is given; every key type has the same form, which strongSwan's
// private/ folder and the openssl tools both read.
std::string private_key_pem(EVP_PKEY* key, std::string_view passphrase = {});

// Fresh keys: "ec-p256" (prime256v1), "rsa3072", "ed25519"; null if unknown.
Pkey generate_key(std::string_view key_type);
bool known_key_type(std::string_view key_type);
// The digest to sign with: SHA-256 for EC/RSA, none (null) for Ed25519,
// which signs the message itself (RFC 8410 sec. 6).
const EVP_MD* signing_digest(EVP_PKEY* key);
std::string key_type_name(EVP_PKEY* key);

// ASN.1 helpers.
std::string asn1_time_text(const ASN1_TIME* t);   // "2026-11-23T21:00:00Z"
bool asn1_time_to_unix(const ASN1_TIME* t, long long& out);
std::string serial_hex(const ASN1_INTEGER* serial);  // lower case, no 0x
std::string name_text(const X509_NAME* name);       // RFC 2253 one line

}  // namespace nemokey::certs::ossl
