#include "mobility/daemon/capabilities.hpp"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace nemokey::mobility::daemon {

bool keep_only_network_capabilities(std::string& error) {
    for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
        if (cap == CAP_NET_ADMIN || cap == CAP_NET_RAW || cap == CAP_SETPCAP) continue;
        if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
            error = std::string("PR_CAPBSET_DROP: ") + std::strerror(errno);
            return false;
        }
    }
    __user_cap_header_struct header{};
    header.version = _LINUX_CAPABILITY_VERSION_3;
    header.pid = 0;
    __user_cap_data_struct data[2] = {};
    const uint32_t keep = (1u << CAP_NET_ADMIN) | (1u << CAP_NET_RAW);
    data[0].effective = data[0].permitted = keep;
    data[0].inheritable = 0;
    if (::syscall(SYS_capset, &header, data) != 0) {
        error = std::string("capset: ") + std::strerror(errno);
        return false;
    }
    // CAP_SETPCAP was needed for the drops above; it is gone from the
    // permitted set now, and from the bounding set last.
    ::prctl(PR_CAPBSET_DROP, CAP_SETPCAP, 0, 0, 0);
    return true;
}

}  // namespace nemokey::mobility::daemon
