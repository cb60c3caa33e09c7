// The home agent's check before a CHILD_SA is installed (RFC 4877 sec.
// 4.1, RFC 3963 sec. 6.1/6.2): the peer, authenticated by its certificate,
// may use the home address and mobile network prefixes its traffic
// selectors name. Two conditions, both required:
//   - every remote selector lies inside what the configuration gives this
//     node (its home address, its prefixes), and
//   - the certificate's RFC 3779 blocks / iPAddress SANs hold the home
//     address and every prefix (certs::authorize, the same rule mobcert
//     issues by).
// Pure: the certificate arrives as DER from charon's bus (the shim).
#pragma once

#include <string>
#include <vector>

#include "conf/net/address.hpp"
#include "ikebridge/core/connections.hpp"

namespace nemokey::ikebridge {

// One traffic selector's address range (inclusive), as the shim hands it.
struct SelectorRange {
    net::IpAddress from;
    net::IpAddress to;
};

// The prefix a range covers exactly, if it is one.
std::optional<net::Prefix> to_prefix(const SelectorRange& range);

struct AuthorizationDecision {
    bool allowed = false;
    std::string why;   // one sentence when refused
};

AuthorizationDecision authorize_child(const Connection& connection, const std::string& peer_id,
                                      std::string_view certificate_der, const std::vector<SelectorRange>& remote);

}  // namespace nemokey::ikebridge
