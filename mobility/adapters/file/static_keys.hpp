// Manual keys of RFC 3776 sec. 4.1 and 5.2.1 (static keying): the key file a
// node's [keying.static] names, read and turned into the two ESP transport
// SAs that protect its Binding Update and Binding Acknowledgement. The
// configuration model only names the file (keys are never logged, never
// part of a plan); this is the one place that reads it.
//
// Key file format (one line per direction, '#' starts a comment):
//   to-home-agent   HEX [HEX]
//   from-home-agent HEX [HEX]
// With an AEAD cipher (aes128-gcm16, aes256-gcm16) one hex string: the AES
// key followed by the 4-octet salt (RFC 4106 sec. 8.1). With a CBC cipher
// two: the encryption key, then the HMAC key. "0x" prefixes are allowed.
// The file must not be readable by group or others (mode 0600 or
// stricter), like any private key.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "conf/net/result.hpp"
#include "conf/plan.hpp"
#include "mobility/kernel/objects.hpp"

namespace nemokey::mobility::adapters {

struct StaticKeyError {
    std::string message;   // names the file and, where it applies, the line
};

// Pure: the key file's text -> the node's SAs. `static_sas` are the plan's
// two StaticSa (conf::NodePlan::static_sas); the one whose source is
// `home_address` takes the to-home-agent keys, whichever end reads the
// file (a StaticSa's direction is relative to the node that derived the
// plan). `file` is for messages.
net::Result<std::vector<kernel::Sa>, StaticKeyError> static_sas_from_text(
    std::string_view text, const std::vector<conf::StaticSa>& static_sas, const net::Ipv6Address& home_address,
    std::string_view file);

// Reads the file (checking its mode) and calls static_sas_from_text.
net::Result<std::vector<kernel::Sa>, StaticKeyError> read_static_sas(
    const std::filesystem::path& key_file, const std::vector<conf::StaticSa>& static_sas,
    const net::Ipv6Address& home_address);

}  // namespace nemokey::mobility::adapters
