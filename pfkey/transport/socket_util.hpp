// Internal: readiness with a deadline for the Asio sockets' synchronous calls.
#pragma once

#include <poll.h>

#include <cerrno>
#include <chrono>

namespace nemokey::pfkey::detail {

// 1 readable, 0 timed out, -errno on failure.
inline int wait_readable(int fd, std::chrono::steady_clock::time_point deadline) {
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() < 0) return 0;
        pollfd p{fd, POLLIN, 0};
        const int r = ::poll(&p, 1, int(left.count()));
        if (r > 0) return 1;
        if (r == 0) return 0;
        if (errno != EINTR) return -errno;
    }
}

}  // namespace nemokey::pfkey::detail
