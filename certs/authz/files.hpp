// File access with the guarantees certificates and keys need: keys are
// created 0600 in one step (O_CREAT|O_EXCL, never chmod afterwards), keys
// readable by group or others are refused, nothing is silently overwritten.
#pragma once

#include "certs/authz/error.hpp"
#include "certs/ossl/ossl.hpp"

#include <string>
#include <sys/types.h>
#include <vector>

namespace nemokey::certs {

Result<std::string> read_file(const std::string& path);
// Reads a private key (or passphrase) file, refusing one whose mode grants
// any group or other permission.
Result<std::string> read_secret_file(const std::string& path);
// Creates `path` with `mode`; fails with already_exists if it is there.
Status write_new_file(const std::string& path, std::string_view contents, mode_t mode);
// Replaces `path` atomically (temporary file + rename), for the CA index and CRLs.
Status replace_file(const std::string& path, std::string_view contents, mode_t mode);
// mkdir -p with `mode` for the folders it creates.
Status make_directories(const std::string& path, mode_t mode);

// PEM loaders: errors name the file and quote OpenSSL's reason.
Result<std::vector<ossl::X509Ptr>> load_certificates(const std::string& path);
Result<ossl::X509Ptr> load_certificate(const std::string& path);
Result<ossl::X509CrlPtr> load_crl(const std::string& path);
// `passphrase` empty: the key must be unencrypted.
Result<ossl::Pkey> load_private_key(const std::string& path, std::string_view passphrase = {});

// Same loaders over text already in memory; `where` names it in errors.
Result<std::vector<ossl::X509Ptr>> parse_certificates(std::string_view pem, const std::string& where);
Result<ossl::X509CrlPtr> parse_crl(std::string_view pem, const std::string& where);
// One DER certificate, as IKEv2 CERT payloads carry it (RFC 7296 sec. 3.6,
// encoding 4); trailing bytes are an error.
Result<ossl::X509Ptr> parse_certificate_der(std::string_view der, const std::string& where);
Result<ossl::Pkey> parse_private_key(std::string_view pem, const std::string& where,
                                     std::string_view passphrase = {});

// key_mismatch unless `key` is the private half of `cert`'s public key.
Status check_key_matches(X509* cert, EVP_PKEY* key, const std::string& where);

}  // namespace nemokey::certs
