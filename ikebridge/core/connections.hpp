// The IKEv2 side of the security plan: the strongSwan connections that
// ikebridged loads into its embedded charon over vici, derived from the
// same conf:: model and plan as mobilityd's SPD entries (never written
// twice, design.md). Pure: no file is read, nothing is loaded.
//
// RFC 4877 sec. 4.2-4.4 as strongSwan expresses it:
//   signalling, prefix-discovery  ESP transport mode between home address
//       and home agent while IKE runs from the care-of address: swanctl's
//       mode = transport_proxy (the SA endpoints are the traffic selectors'
//       hosts, libcharon sa/child_sa.c get_proxy_addr).
//   home-test, payload            ESP tunnel mode between the IKE endpoints
//       (care-of address and home agent), moved by MIGRATE on a handover.
// Every CHILD_SA runs with policies = no and the plan's request id: the SPD
// entries (with the Linux MH-type convention and the MIPv6 sub policies)
// are mobilityd's, and the kernel pairs policy and SA by reqid.
// MOBIKE is off: the IKE SA follows the care-of address through MIGRATE
// with KMADDRESS (RFC 4877 sec. 4.4, the K flag), never through MOBIKE.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "conf/model.hpp"
#include "conf/plan.hpp"

namespace nemokey::ikebridge {

struct ChildConnection {
    std::string name;                // the traffic class: "signalling", "payload", ...
    conf::TrafficClass traffic_class = conf::TrafficClass::signalling;
    std::string mode;                // swanctl: "transport_proxy" or "tunnel"
    uint32_t reqid = 0;
    std::vector<std::string> local_ts;   // swanctl syntax, e.g. "2001:db8::1/128[135/1280-1535]"
    std::vector<std::string> remote_ts;

    bool operator==(const ChildConnection&) const = default;
};

struct Connection {
    std::string name;                // mobile side: "home-agent"; home agent: the node's identity
    bool initiator = false;          // the mobile node / router initiates (RFC 4877 sec. 4.1)
    // Mobile side: empty, filled with the current care-of address (or the
    // home address when at home) each time the IKE SA is initiated.
    std::vector<std::string> local_addrs;
    std::vector<std::string> remote_addrs;   // "%any" on the home agent
    std::string local_id;
    std::string remote_id;
    std::string certificate;         // own certificate, resolved path
    bool k_flag = true;              // RFC 4877 sec. 4.4 / RFC 6275 sec. 6.1.7
    net::Ipv6Address home_address;
    net::Ipv6Address home_agent_address;
    std::vector<net::Prefix> mobile_network_prefixes;
    std::vector<ChildConnection> children;

    bool operator==(const Connection&) const = default;
};

struct KeyingPlan {
    conf::Role role = conf::Role::mobile_node;
    std::string certificate;         // own certificate (resolved path)
    std::string private_key;
    std::string ca_certificate;
    std::vector<Connection> connections;   // the plan's node order
};

// Nodes under static keying get no connection. A model without IKEv2
// credentials where a node needs them is an error (one sentence).
struct KeyingPlanError {
    std::string text;
};
std::variant<KeyingPlan, KeyingPlanError> derive_keying_plan(const conf::Model& model, const conf::Plan& plan);

// swanctl traffic selector text for one plan selector (RFC 4301 sec.
// 4.4.1.1 encoding of MH and ICMPv6 types as port ranges).
std::string to_swanctl_ts(const conf::TrafficSelector& ts);

// A vici message (strongSwan's vici protocol: sections, key/values and
// lists, in order). Built here, sent by the vici adapter.
struct ViciItem;
struct ViciSection {
    std::string name;
    std::vector<ViciItem> items;
};
struct ViciItem {
    enum class Kind { value, list, section } kind = Kind::value;
    std::string key;
    std::string value;                   // Kind::value
    std::vector<std::string> list;       // Kind::list
    std::vector<ViciSection> section;    // Kind::section (exactly one)
};

// One key/value item (the builders of every request use it).
ViciItem vici_value(std::string key, std::string value);

// The body of a vici "load-conn" request for `connection`; `local_addrs`
// replaces the connection's own (the mobile side's care-of address).
ViciSection load_conn_message(const Connection& connection,
                              const std::vector<std::string>& local_addrs = {});
// The same plan as swanctl.conf text (ikebridged --print-config): what a
// user would write to get the same connections from swanctl.
std::string to_swanctl_conf(const KeyingPlan& plan);

}  // namespace nemokey::ikebridge
