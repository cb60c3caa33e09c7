// Least privilege at start: of root's capabilities mobilityd keeps only
// CAP_NET_ADMIN (XFRM, routes, tunnels) and CAP_NET_RAW (the Mobility
// Header socket), in every set, and drops the rest from the bounding set
// so no child or exec regains them.
#pragma once

#include <string>

namespace nemokey::mobility::daemon {

// false and why not when the kernel refused.
bool keep_only_network_capabilities(std::string& error);

}  // namespace nemokey::mobility::daemon
