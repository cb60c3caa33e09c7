// The security plan: what both daemons need, derived from the model by a
// pure function, so the IPsec policies of mobilityd and the CHILD_SAs of
// ikebridged are never written twice.
//
// Per binding (every node file on a home agent, the node itself on a mobile
// node or router), following RFC 3776 sec. 4.2 as updated by RFC 4877 sec.
// 4.2 (the table is in drafts-notes/rfc4877-policy.md):
//   signalling        BU and BA, ESP transport mode between home address and
//                     home agent address, Mobility Header type selectors;
//                     always present (RFC 6275 sec. 5.1)
//   prefix-discovery  ICMPv6 Mobile Prefix Solicitation/Advertisement, ESP
//                     transport mode (optional)
//   home-test         HoTI and HoT, ESP tunnel mode between care-of address
//                     and home agent (optional)
//   payload           everything from/to the home address and the mobile
//                     network prefixes, ESP tunnel mode (optional; RFC 3963
//                     sec. 5.5 for the prefixes)
// Each traffic class is one SA pair: its SPD entries (one per direction)
// and its CHILD_SA share one request id (reqid).
#pragma once

#include "conf/model.hpp"
#include "conf/net/address.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nemokey::conf {

enum class TrafficClass { signalling, prefix_discovery, home_test, payload };
enum class Direction { out, in };
enum class IpsecMode { transport, tunnel };

// Upper-layer protocol numbers used as selectors.
inline constexpr uint8_t ip_proto_any = 0;
inline constexpr uint8_t ip_proto_icmpv6 = 58;
inline constexpr uint8_t ip_proto_mh = 135;  // RFC 6275 sec. 6.1.1

// MH types (RFC 6275 sec. 6.1.2-6.1.8) and ICMPv6 types (sec. 6.7, 6.8).
inline constexpr uint8_t mh_binding_refresh_request = 0;
inline constexpr uint8_t mh_home_test_init = 1;
inline constexpr uint8_t mh_home_test = 3;
inline constexpr uint8_t mh_binding_update = 5;
inline constexpr uint8_t mh_binding_acknowledgement = 6;
inline constexpr uint8_t icmpv6_mobile_prefix_solicitation = 146;
inline constexpr uint8_t icmpv6_mobile_prefix_advertisement = 147;

// A tunnel endpoint: a fixed address, or the mobile node's current care-of
// address, which is not known from the configuration; the daemons fill it
// in and move it with MIGRATE on every handover.
struct Endpoint {
    bool care_of_address = false;
    net::Ipv6Address address;  // when !care_of_address

    bool operator==(const Endpoint&) const = default;
};

// RFC 4301 sec. 4.4.1.1 selectors; the MH or ICMPv6 type, when set, is the
// type of the message this entry carries.
struct Selector {
    net::Prefix source;
    net::Prefix destination;
    uint8_t protocol = ip_proto_any;
    std::optional<uint8_t> type;

    bool operator==(const Selector&) const = default;
};

// Which Mobile IPv6 extension header the kernel adds or removes around ESP
// for this entry (RFC 6275 sec. 6.3, 6.4; RFC 3776 sec. 4.3).
enum class Mip6Header { none, home_address_option, type2_routing_header };

struct SpdEntry {
    TrafficClass traffic_class = TrafficClass::signalling;
    std::string message;  // "binding-update", "home-test-init", "payload", ...
    Direction direction = Direction::out;
    IpsecMode mode = IpsecMode::transport;
    Selector selector;
    std::optional<Endpoint> tunnel_source;  // tunnel mode only
    std::optional<Endpoint> tunnel_destination;
    Mip6Header mip6_header = Mip6Header::none;
    uint32_t priority = 0;  // lower is matched first
    uint32_t reqid = 0;

    bool operator==(const SpdEntry&) const = default;
};

// An IKEv2 traffic selector (RFC 7296 sec. 3.13.1). For the Mobility
// Header the type sits in the most significant octet of the port
// (RFC 4301 sec. 4.4.1.1), so one type is the range type*256..type*256+255.
struct TrafficSelector {
    net::Prefix prefix;
    uint8_t protocol = ip_proto_any;
    uint16_t start_port = 0;
    uint16_t end_port = 0xffff;

    bool operator==(const TrafficSelector&) const = default;
};

struct ChildSa {
    std::string name;  // "<class>", unique within the peer
    TrafficClass traffic_class = TrafficClass::signalling;
    IpsecMode mode = IpsecMode::transport;
    std::vector<TrafficSelector> local_ts;
    std::vector<TrafficSelector> remote_ts;
    uint32_t reqid = 0;

    bool operator==(const ChildSa&) const = default;
};

struct IkePeer {
    Identity local_identity;
    Identity remote_identity;
    Endpoint local_address;   // the HA address, or the care-of address
    Endpoint remote_address;
    std::optional<std::string> certificate;  // as written in the configuration
    std::optional<std::string> private_key;
    std::optional<std::string> ca_certificate;
    bool k_flag = true;  // RFC 4877 sec. 4.4: IKE SA follows the care-of address
    std::vector<ChildSa> child_sas;

    bool operator==(const IkePeer&) const = default;
};

// Manual keying (RFC 3776 sec. 5.2.1): the two BU/BA SAs. The key file is
// named, never read here.
struct StaticSa {
    Direction direction = Direction::out;
    uint32_t spi = 0;
    net::Ipv6Address source;
    net::Ipv6Address destination;
    std::string encryption;
    std::string integrity;
    std::string key_file;
    uint32_t reqid = 0;

    bool operator==(const StaticSa&) const = default;
};

struct NodePlan {
    Identity identity;
    Role role = Role::mobile_node;
    std::string source_file;
    net::Ipv6Address home_address;
    net::Ipv6Address home_agent_address;
    std::vector<SpdEntry> spd;
    std::optional<IkePeer> ike_peer;  // keying ikev2
    std::vector<StaticSa> static_sas;  // keying static

    bool operator==(const NodePlan&) const = default;
};

struct Plan {
    Role role = Role::mobile_node;
    std::vector<NodePlan> nodes;  // in the model's binding order
};

// Request ids are derived from the binding identity and traffic class,
// never from a counter, so both ends and every restart agree. They lie in
// [reqid_min, reqid_max], clear of small ids that IKE daemons hand out
// themselves. attempt > 0 is used only to leave a collision.
inline constexpr uint32_t reqid_min = 0x10000;
inline constexpr uint32_t reqid_max = 0x7fffffff;
uint32_t derive_reqid(const Identity& identity, TrafficClass traffic_class, uint32_t attempt = 0);
using ReqidFunction = uint32_t (*)(const Identity&, TrafficClass, uint32_t attempt);

// Pure: the same model gives the same plan, byte for byte. Request ids are
// unique within the plan: the (identity, class) keys are taken in sorted
// order and a key whose id is taken tries attempt 1, 2, ... (the function
// is a parameter only so tests can force collisions).
Plan derive_plan(const Model& model, ReqidFunction reqid = derive_reqid);

std::string_view to_string(TrafficClass c);
std::string_view to_string(Direction d);
std::string_view to_string(IpsecMode m);
std::string_view to_string(Mip6Header h);
std::string to_string(const Endpoint& e);

}  // namespace nemokey::conf
