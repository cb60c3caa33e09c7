// Typed errors of the kernel transports: a socket failure, a kernel
// refusal (errno plus the extended-ack text netlink may carry), a codec
// error on what the kernel sent, a timeout, or a request refused before
// it was sent.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "pfkey/codec/result.hpp"

namespace nemokey::pfkey {

struct TransportError {
    enum class Kind { socket, kernel, codec, timeout, invalid };
    Kind kind = Kind::socket;
    std::string operation;  // e.g. "XFRM_MSG_MIGRATE", "socket(AF_KEY)"
    int errno_value = 0;    // positive errno for socket and kernel errors
    std::string ext_ack;    // NLMSGERR_ATTR_MSG, if the kernel sent one
    std::optional<uint32_t> ext_ack_offset;
    std::string detail;     // codec error text, or context

    std::string to_string() const {
        std::string s = operation + ": ";
        switch (kind) {
            case Kind::socket: s += "socket error: "; break;
            case Kind::kernel: s += "kernel refused: "; break;
            case Kind::codec: s += "undecodable kernel message: "; break;
            case Kind::timeout: s += "timed out"; break;
            case Kind::invalid: s += "invalid request: "; break;
        }
        if (errno_value) s += std::strerror(errno_value) + std::string(" (errno ") + std::to_string(errno_value) + ")";
        if (!ext_ack.empty()) s += ": " + ext_ack;
        if (ext_ack_offset) s += " (at offset " + std::to_string(*ext_ack_offset) + ")";
        if (!detail.empty()) s += (errno_value ? ": " : "") + detail;
        return s;
    }
};

template <class T>
using TransportResult = Result<T, TransportError>;

}  // namespace nemokey::pfkey
