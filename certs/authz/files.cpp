#include "certs/authz/files.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <random>
#include <sys/stat.h>
#include <unistd.h>

namespace nemokey::certs {

std::string_view to_string(Errc code) {
    switch (code) {
    case Errc::io_error: return "io-error";
    case Errc::already_exists: return "already-exists";
    case Errc::malformed_pem: return "malformed-pem";
    case Errc::malformed_extension: return "malformed-extension";
    case Errc::key_mismatch: return "key-mismatch";
    case Errc::key_readable_by_others: return "key-readable-by-others";
    case Errc::wrong_passphrase: return "wrong-passphrase";
    case Errc::invalid_argument: return "invalid-argument";
    case Errc::not_found: return "not-found";
    case Errc::openssl_failure: return "openssl-failure";
    }
    return "unknown";
}

namespace {

Error os_error(const std::string& what, const std::string& path, int err) {
    return make_error(Errc::io_error, what + " '" + path + "': " + std::strerror(err));
}

struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

Result<std::string> read_fd(int fd, const std::string& path) {
    std::string out;
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return os_error("cannot read", path, errno);
        }
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
        // Certificates, CRLs and keys are small; a huge file is a mistake.
        if (out.size() > (16u << 20))
            return make_error(Errc::io_error, "'" + path + "' is larger than 16 MiB, not a PEM file");
    }
    return out;
}

Status write_all(int fd, std::string_view data, const std::string& path) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return os_error("cannot write", path, errno);
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
    if (::fsync(fd) != 0) return os_error("cannot sync", path, errno);
    return Ok{};
}

}  // namespace

Result<std::string> read_file(const std::string& path) {
    Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (f.fd < 0) return os_error("cannot open", path, errno);
    return read_fd(f.fd, path);
}

Result<std::string> read_secret_file(const std::string& path) {
    Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)};
    if (f.fd < 0) return os_error("cannot open", path, errno);
    struct stat st {};
    if (::fstat(f.fd, &st) != 0) return os_error("cannot stat", path, errno);
    if (!S_ISREG(st.st_mode)) return make_error(Errc::io_error, "secret file '" + path + "' is not a regular file");
    // Checked on the open descriptor, so the file we read is the one we checked.
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        return make_error(Errc::key_readable_by_others,
                          "private key '" + path + "' is accessible by group or others (mode " + mode +
                              "); it must be 0600 or stricter");
    }
    return read_fd(f.fd, path);
}

Status write_new_file(const std::string& path, std::string_view contents, mode_t mode) {
    Fd f{::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)};
    if (f.fd < 0) {
        if (errno == EEXIST)
            return make_error(Errc::already_exists, "refusing to overwrite existing file '" + path + "'");
        return os_error("cannot create", path, errno);
    }
    auto st = write_all(f.fd, contents, path);
    if (!st) {
        ::unlink(path.c_str());
        return st;
    }
    return Ok{};
}

Status replace_file(const std::string& path, std::string_view contents, mode_t mode) {
    std::random_device rd;
    std::string tmp = path + ".tmp." + std::to_string(rd());
    auto st = write_new_file(tmp, contents, mode);
    if (!st) return st;
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        return os_error("cannot rename into", path, err);
    }
    return Ok{};
}

Status make_directories(const std::string& path, mode_t mode) {
    std::filesystem::path p(path);
    std::filesystem::path cur;
    for (const auto& part : p) {
        cur /= part;
        if (cur.empty() || cur == "/") continue;
        if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST) return os_error("cannot create folder", cur, errno);
        struct stat st {};
        if (::stat(cur.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
            return make_error(Errc::io_error, "'" + cur.string() + "' exists and is not a folder");
    }
    return Ok{};
}

Result<std::vector<ossl::X509Ptr>> parse_certificates(std::string_view pem, const std::string& where) {
    ossl::clear_error_queue();
    bool clean_end = false;
    auto certs = ossl::read_certificates_pem(pem, &clean_end);
    if (certs.empty())
        return make_error(Errc::malformed_pem, ossl::failure("'" + where + "' holds no readable PEM certificate"));
    // A damaged certificate after good ones must not be dropped silently.
    if (!clean_end)
        return make_error(Errc::malformed_pem, ossl::failure("'" + where + "': certificate " +
                                                             std::to_string(certs.size() + 1) + " does not decode"));
    return certs;
}

Result<ossl::X509Ptr> parse_certificate_der(std::string_view der, const std::string& where) {
    ossl::clear_error_queue();
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    const auto* end = p + der.size();
    ossl::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (!cert) return make_error(Errc::malformed_pem, ossl::failure("'" + where + "' is not a DER certificate"));
    if (p != end)
        return make_error(Errc::malformed_pem, "'" + where + "' has " + std::to_string(end - p) +
                                                   " bytes after the DER certificate");
    return cert;
}

Result<ossl::X509CrlPtr> parse_crl(std::string_view pem, const std::string& where) {
    ossl::clear_error_queue();
    auto crl = ossl::read_crl_pem(pem);
    if (!crl) return make_error(Errc::malformed_pem, ossl::failure("'" + where + "' holds no readable PEM CRL"));
    return crl;
}

Result<ossl::Pkey> parse_private_key(std::string_view pem, const std::string& where, std::string_view passphrase) {
    ossl::clear_error_queue();
    auto key = ossl::read_private_key_pem(pem, passphrase);
    if (key) return key;
    bool encrypted = pem.find("ENCRYPTED") != std::string_view::npos;
    if (encrypted) {
        ossl::clear_error_queue();
        return make_error(Errc::wrong_passphrase,
                          passphrase.empty() ? "private key '" + where + "' is encrypted and no passphrase was given"
                                             : "cannot decrypt private key '" + where + "': wrong passphrase");
    }
    return make_error(Errc::malformed_pem, ossl::failure("'" + where + "' holds no readable PEM private key"));
}

Result<std::vector<ossl::X509Ptr>> load_certificates(const std::string& path) {
    auto text = read_file(path);
    if (!text) return text.error();
    return parse_certificates(*text, path);
}

Result<ossl::X509Ptr> load_certificate(const std::string& path) {
    auto certs = load_certificates(path);
    if (!certs) return certs.error();
    return std::move(certs->front());
}

Result<ossl::X509CrlPtr> load_crl(const std::string& path) {
    auto text = read_file(path);
    if (!text) return text.error();
    return parse_crl(*text, path);
}

Result<ossl::Pkey> load_private_key(const std::string& path, std::string_view passphrase) {
    auto text = read_secret_file(path);
    if (!text) return text.error();
    auto key = parse_private_key(*text, path, passphrase);
    OPENSSL_cleanse(text->data(), text->size());
    return key;
}

Status check_key_matches(X509* cert, EVP_PKEY* key, const std::string& where) {
    EVP_PKEY* pub = X509_get0_pubkey(cert);
    if (!pub || EVP_PKEY_eq(pub, key) != 1) {
        ossl::clear_error_queue();
        return make_error(Errc::key_mismatch,
                          "private key '" + where + "' does not match the certificate's public key");
    }
    return Ok{};
}

}  // namespace nemokey::certs
