#include "mobility/adapters/file/static_keys.hpp"

#include <sys/stat.h>

#include <cctype>
#include <map>
#include <optional>
#include <sstream>

#include "mobility/adapters/file/atomic_file.hpp"
#include "mobility/kernel/marks.hpp"

namespace nemokey::mobility::adapters {

namespace {

using Bytes = std::vector<uint8_t>;

std::optional<Bytes> parse_hex(std::string_view s) {
    if (s.starts_with("0x") || s.starts_with("0X")) s.remove_prefix(2);
    if (s.empty() || s.size() % 2) return std::nullopt;
    Bytes out;
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    for (size_t i = 0; i < s.size(); i += 2) {
        int hi = nibble(s[i]), lo = nibble(s[i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out.push_back(static_cast<uint8_t>(hi << 4 | lo));
    }
    return out;
}

struct Cipher {
    const char* kernel_name;
    size_t key_octets;   // with the salt for AEAD
    bool aead;
};

std::optional<Cipher> cipher(std::string_view name) {
    if (name == "aes128-gcm16") return Cipher{"rfc4106(gcm(aes))", 16 + 4, true};
    if (name == "aes256-gcm16") return Cipher{"rfc4106(gcm(aes))", 32 + 4, true};
    if (name == "aes128-cbc") return Cipher{"cbc(aes)", 16, false};
    if (name == "aes256-cbc") return Cipher{"cbc(aes)", 32, false};
    return std::nullopt;
}

struct Integrity {
    const char* kernel_name;
    size_t key_octets;
    uint32_t truncation_bits;
};

std::optional<Integrity> integrity(std::string_view name) {
    if (name == "hmac-sha256-128") return Integrity{"hmac(sha256)", 32, 128};
    if (name == "hmac-sha512-256") return Integrity{"hmac(sha512)", 64, 256};
    return std::nullopt;
}

}  // namespace

net::Result<std::vector<kernel::Sa>, StaticKeyError> static_sas_from_text(
    std::string_view text, const std::vector<conf::StaticSa>& static_sas, const net::Ipv6Address& home_address,
    std::string_view file) {
    auto fail = [&](size_t line, const std::string& what) {
        return StaticKeyError{std::string(file) + (line ? ":" + std::to_string(line) : "") + ": " + what};
    };
    std::map<std::string, std::pair<size_t, std::vector<Bytes>>> lines;
    std::istringstream in{std::string(text)};
    std::string raw;
    size_t number = 0;
    while (std::getline(in, raw)) {
        ++number;
        if (auto hash = raw.find('#'); hash != std::string::npos) raw.erase(hash);
        std::istringstream words(raw);
        std::string key;
        if (!(words >> key)) continue;
        if (key != "to-home-agent" && key != "from-home-agent")
            return fail(number, "unknown direction '" + key + "' (expected 'to-home-agent' or 'from-home-agent')");
        if (lines.contains(key)) return fail(number, "'" + key + "' given twice");
        std::vector<Bytes> keys;
        std::string word;
        while (words >> word) {
            auto b = parse_hex(word);
            if (!b) return fail(number, "'" + key + "': a key is not an even number of hex digits");
            keys.push_back(std::move(*b));
        }
        if (keys.empty() || keys.size() > 2) return fail(number, "'" + key + "': expected one or two hex keys");
        lines[key] = {number, std::move(keys)};
    }
    std::vector<kernel::Sa> out;
    for (const auto& s : static_sas) {
        const std::string direction = s.source == home_address ? "to-home-agent" : "from-home-agent";
        auto it = lines.find(direction);
        if (it == lines.end()) return fail(0, "no '" + direction + "' line");
        const auto& [line, keys] = it->second;
        auto c = cipher(s.encryption);
        if (!c) return fail(line, "encryption '" + s.encryption + "' is not supported");
        kernel::Sa sa;
        sa.id = kernel::SaId{net::IpAddress{s.source}, net::IpAddress{s.destination}, kernel::SaProtocol::esp, s.spi};
        sa.mode = kernel::SaMode::transport;
        sa.reqid = s.reqid;
        // Only the Mobility Header of this home address (RFC 3776 sec. 5.2.1):
        // the kernel refuses packets of other addresses through this SA.
        sa.selector = kernel::Selector{kernel::Prefix{net::IpAddress{s.source}, 128},
                                       kernel::Prefix{net::IpAddress{s.destination}, 128}, conf::ip_proto_mh,
                                       std::nullopt};
        sa.owner_mark = kernel::marks::sa_owner_mark;
        if (c->aead) {
            if (keys.size() != 1 || keys[0].size() != c->key_octets)
                return fail(line, "'" + direction + "': " + s.encryption + " needs one key of " +
                                      std::to_string(c->key_octets) + " octets (key and salt)");
            sa.aead = kernel::SaAlgorithm{c->kernel_name, keys[0], 128};
        } else {
            auto i = integrity(s.integrity);
            if (!i) return fail(line, "integrity '" + s.integrity + "' is not supported");
            if (keys.size() != 2 || keys[0].size() != c->key_octets || keys[1].size() != i->key_octets)
                return fail(line, "'" + direction + "': " + s.encryption + " with " + s.integrity + " needs keys of " +
                                      std::to_string(c->key_octets) + " and " + std::to_string(i->key_octets) +
                                      " octets");
            sa.encryption = kernel::SaAlgorithm{c->kernel_name, keys[0], 0};
            sa.integrity = kernel::SaAlgorithm{i->kernel_name, keys[1], i->truncation_bits};
        }
        out.push_back(std::move(sa));
    }
    return out;
}

net::Result<std::vector<kernel::Sa>, StaticKeyError> read_static_sas(
    const std::filesystem::path& key_file, const std::vector<conf::StaticSa>& static_sas,
    const net::Ipv6Address& home_address) {
    struct stat st {};
    if (::stat(key_file.c_str(), &st) != 0)
        return StaticKeyError{key_file.string() + ": cannot be read"};
    if (st.st_mode & 077)
        return StaticKeyError{key_file.string() + ": readable by group or others (mode " +
                              std::to_string((st.st_mode >> 6) & 7) + std::to_string((st.st_mode >> 3) & 7) +
                              std::to_string(st.st_mode & 7) + "; expected 600 or stricter)"};
    std::string text;
    try {
        text = read_file(key_file);
    } catch (const FileError& e) {
        return StaticKeyError{key_file.string() + ": " + e.what()};
    }
    return static_sas_from_text(text, static_sas, home_address, key_file.string());
}

}  // namespace nemokey::mobility::adapters
