// Errors as values for the pfkey area: every codec failure names the
// message, the extension (or netlink attribute), the byte offset and what
// was wrong, so a log line alone is enough to find the bad byte.
#pragma once

#include <cstddef>
#include <string>
#include <utility>

#include "conf/net/result.hpp"

namespace nemokey::pfkey {

struct CodecError {
    std::string message;    // e.g. "SADB_X_MIGRATE", "XFRM_MSG_MIGRATE"
    std::string extension;  // e.g. "SADB_X_EXT_KMADDRESS"; empty for the base header
    size_t offset = 0;      // byte offset from the start of the buffer
    std::string what;       // one sentence, quoting the bad value

    std::string to_string() const {
        std::string s = message.empty() ? std::string("message") : message;
        if (!extension.empty()) s += " " + extension;
        s += " at offset " + std::to_string(offset) + ": " + what;
        return s;
    }
};

// A value or an error, CodecError unless named (the shared template of
// conf/net/result.hpp).
template <class T, class E = CodecError>
using Result = net::Result<T, E>;

using Ok = net::Ok;

}  // namespace nemokey::pfkey
