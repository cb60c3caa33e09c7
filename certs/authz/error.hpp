// Errors as values for certs/: a code to branch on and one sentence to show.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "conf/net/result.hpp"

namespace nemokey::certs {

enum class Errc {
    io_error,                // a file could not be read or written
    already_exists,          // refusing to overwrite a key, certificate or CA
    malformed_pem,           // no PEM object of the expected kind, or bad DER inside
    malformed_extension,     // a certificate extension we rely on does not decode
    key_mismatch,            // private key does not belong to the certificate
    key_readable_by_others,  // private key file mode allows group/other access
    wrong_passphrase,        // encrypted key and no/wrong passphrase
    invalid_argument,        // caller input (id, address, dates, options)
    not_found,               // no such serial / id in the CA index
    openssl_failure,         // an OpenSSL call failed; text carries its error queue
};

std::string_view to_string(Errc code);

struct Error {
    Errc code;
    std::string text;
};

// A value or an Error (the shared template of conf/net/result.hpp).
template <class T>
using Result = net::Result<T, Error>;

using Ok = net::Ok;
using Status = Result<Ok>;

inline Error make_error(Errc code, std::string text) { return Error{code, std::move(text)}; }

}  // namespace nemokey::certs
