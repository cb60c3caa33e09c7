// The kernel objects the daemons install, as plain values: IPsec SAs and
// policies (XFRM), and addresses, routes, rules, tunnels and proxy
// neighbour entries (rtnetlink). A KernelObjects value is a whole kernel
// state (desired, or actual as dumped), so two of them can be compared and
// reconciled (reconcile.hpp). No I/O here.
//
// Every object names the fields the kernel reports back in a dump, so a
// dump of what was installed compares equal to what was asked for.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "conf/net/address.hpp"

namespace nemokey::mobility::kernel {

using net::IpAddress;
using net::Ipv6Address;
using net::Prefix;

// ---- IPsec (XFRM) ----

// IPPROTO_* values, as XFRM uses them for the SA protocol.
enum class SaProtocol : uint8_t {
    esp = 50,            // RFC 4303
    route2 = 43,         // type 2 routing header state (IPPROTO_ROUTING, RFC 6275 sec. 6.4)
    home_address = 60,   // Home Address option state (IPPROTO_DSTOPTS, RFC 6275 sec. 6.3)
};

// XFRM_MODE_*: transport 0, tunnel 1, route optimisation 2 (the mode of
// route2 and hao states), BEET 4.
enum class SaMode : uint8_t { transport = 0, tunnel = 1, route_optimization = 2, beet = 4 };

enum class PolicyDirection : uint8_t { in = 0, out = 1, fwd = 2 };  // XFRM_POLICY_IN/OUT/FWD

// RFC 4301 sec. 4.4.1.1 selector as Linux keeps it. For the Mobility Header
// (protocol 135) Linux carries the MH type in the source port field; for
// ICMPv6 the type is the source port and the code the destination port.
struct Selector {
    Prefix source;
    Prefix destination;
    uint8_t protocol = 0;           // 0 = any
    std::optional<uint8_t> type;    // MH or ICMPv6 type
    auto operator<=>(const Selector&) const = default;
};

struct SaId {
    IpAddress source{Ipv6Address{}};
    IpAddress destination{Ipv6Address{}};
    SaProtocol protocol = SaProtocol::esp;
    uint32_t spi = 0;               // 0 for route2 / hao states
    auto operator<=>(const SaId&) const = default;
};

// The kernel's identity of an SA (net/xfrm/xfrm_state.c, verified in the
// kernel VM): an ESP state is found by destination, SPI and protocol,
// whatever its source; a route2 or hao state (no SPI) by destination,
// source and protocol. Two SaIds of the same state never coexist: adding
// the second is EEXIST, and removing either removes the one installed.
bool same_state(const SaId& a, const SaId& b);

struct SaAlgorithm {
    std::string name;               // kernel crypto name, "cbc(aes)", "hmac(sha256)", "rfc4106(gcm(aes))"
    std::vector<uint8_t> key;
    uint32_t icv_or_truncation_bits = 0;  // integrity truncation / AEAD ICV; 0 = the kernel's default
    auto operator<=>(const SaAlgorithm&) const = default;
};

struct Sa {
    SaId id;
    SaMode mode = SaMode::transport;
    uint32_t reqid = 0;
    std::optional<Selector> selector;         // kernel checks packets against it (transport mode)
    std::optional<SaAlgorithm> encryption;
    std::optional<SaAlgorithm> integrity;
    std::optional<SaAlgorithm> aead;
    std::optional<IpAddress> care_of_address; // route2 / hao states (XFRMA_COADDR)
    // XFRM_STATE_WILDRECV: a route2 / hao state with unspecified addresses
    // that xfrm6_input_addr may match for any address (the home agent's
    // Home Address option state of a first registration, RFC 6275 sec. 9.3.1).
    bool wildcard_receive = false;
    // The ownership mark (marks.hpp): set on every SA we install; SAs of
    // other key managers (charon's, an administrator's) have none.
    std::optional<uint32_t> owner_mark;
    auto operator<=>(const Sa&) const = default;
};

struct PolicyTemplate {
    SaProtocol protocol = SaProtocol::esp;
    SaMode mode = SaMode::transport;
    uint32_t reqid = 0;
    // Tunnel and route-optimisation modes: the outer addresses.
    std::optional<IpAddress> source;
    std::optional<IpAddress> destination;
    bool optional = false;          // "level use" rather than "required"
    auto operator<=>(const PolicyTemplate&) const = default;
};

// XFRM_POLICY_TYPE_MAIN / _SUB (CONFIG_XFRM_SUB_POLICY). The kernel keeps
// the two apart (a sub and a main policy may have the same selector) and
// applies both: the sub policy's templates join the main one's, sorted
// transport ESP first (xfrm_tmpl_sort). Mobile IPv6 keeps the
// route-optimisation templates (hao / route2) in sub policies that come and
// go with a binding, the ESP templates in main ones that do not
// (drafts-notes/linux-mip6-xfrm.md).
enum class PolicyType : uint8_t { main = 0, sub = 1 };

struct PolicyId {
    Selector selector;
    PolicyDirection direction = PolicyDirection::out;
    PolicyType type = PolicyType::main;
    auto operator<=>(const PolicyId&) const = default;
};

enum class PolicyAction : uint8_t { allow = 0, block = 1 };  // XFRM_POLICY_ALLOW / BLOCK

struct Policy {
    PolicyId id;
    uint32_t priority = 0;          // lower is matched first; also our ownership band (marks.hpp)
    PolicyAction action = PolicyAction::allow;
    std::vector<PolicyTemplate> templates;
    auto operator<=>(const Policy&) const = default;
};

// ---- Addresses, routes, rules, tunnels, neighbours (rtnetlink) ----

struct AddressId {
    std::string interface;
    Prefix address;                 // address and prefix length
    auto operator<=>(const AddressId&) const = default;
};

struct Address {
    AddressId id;
    bool home_address = false;      // IFA_F_HOMEADDRESS (RFC 6275 sec. 11.3.1 source selection)
    bool nodad = false;             // IFA_F_NODAD
    uint8_t protocol = 0;           // IFA_PROTO: our ownership mark
    auto operator<=>(const Address&) const = default;
};

struct RouteId {
    uint32_t table = 254;           // RT_TABLE_MAIN
    Prefix destination;
    uint32_t metric = 1024;
    auto operator<=>(const RouteId&) const = default;
};

struct Route {
    RouteId id;
    std::string device;
    std::optional<IpAddress> gateway;
    // Lightweight tunnel encapsulation (LWTUNNEL_ENCAP_IP6) over an external
    // (collect_md) ip6 tunnel device: outer destination and source.
    std::optional<IpAddress> encap_destination;
    std::optional<IpAddress> encap_source;
    std::optional<IpAddress> preferred_source;  // RTA_PREFSRC
    uint8_t protocol = 0;           // rtm_protocol: our ownership mark
    auto operator<=>(const Route&) const = default;
};

struct RuleId {
    uint32_t priority = 0;
    std::optional<Prefix> source;   // "from PREFIX"
    auto operator<=>(const RuleId&) const = default;
};

struct Rule {
    RuleId id;
    uint32_t table = 254;
    uint8_t protocol = 0;           // FRA_PROTOCOL: our ownership mark
    auto operator<=>(const Rule&) const = default;
};

enum class TunnelKind : uint8_t {
    ip6ip6,            // RFC 2473 tunnel with fixed endpoints (mobile node: care-of address to home agent)
    ip6ip6_external,   // collect_md: endpoints per route (home agent: one device for all bindings)
};

struct Tunnel {
    std::string name;               // our ownership mark: the name prefix
    TunnelKind kind = TunnelKind::ip6ip6;
    std::optional<IpAddress> local;
    std::optional<IpAddress> remote;
    std::string link;               // underlying device, empty = any
    auto operator<=>(const Tunnel&) const = default;
};

struct ProxyNeighbourId {
    std::string interface;
    Ipv6Address address;
    auto operator<=>(const ProxyNeighbourId&) const = default;
};

struct ProxyNeighbour {
    ProxyNeighbourId id;
    uint8_t protocol = 0;           // NDA_PROTOCOL: our ownership mark
    auto operator<=>(const ProxyNeighbour&) const = default;
};

// ---- Traffic control on a tunnel device (rtnetlink tc) ----

// The clsact qdisc (TC_H_CLSACT) of a device: the hook the device's
// ingress filters hang on. One per device, with no parameters, so the
// device names it. Its own object rather than implied by the first
// filter: removing it takes every filter of the device with it, a filter
// on a device without it is refused (EINVAL), and a dump sees it whether
// or not it holds filters, so "nothing stays behind" can be checked on it
// like on anything else.
struct ClsactQdisc {
    std::string device;             // our ownership mark: the device's (marks.hpp)
    auto operator<=>(const ClsactQdisc&) const = default;
};

// What a matching filter does with the packet: gact TC_ACT_OK / TC_ACT_SHOT.
enum class FilterAction : uint8_t { pass, drop };

// The kernel's identity of a filter: device (ingress of its clsact qdisc,
// chain 0), priority (tc "pref", one classifier instance per priority) and
// handle within that priority (0 is refused here: the kernel would pick one).
struct TunnelFilterId {
    std::string device;
    uint16_t priority = 0;
    uint32_t handle = 0;
    auto operator<=>(const TunnelFilterId&) const = default;
};

// A flower filter on the ingress of an external (collect_md) tunnel
// device: packets that come out of the tunnel decapsulated, with the outer
// header kept as tunnel metadata. RFC 6275 sec. 10.4.5 (RFC 3963 sec. 6):
// the home agent passes a packet only when its inner source belongs to a
// binding and its outer source is that binding's care-of address, and
// drops the rest (a filter with no keys). IPv6 only.
//   inner_source  TCA_FLOWER_KEY_IPV6_SRC + _MASK (protocol ipv6, eth type
//                 key ETH_P_IPV6); none: every packet (protocol all)
//   outer_source  TCA_FLOWER_KEY_ENC_IPV6_SRC, mask /128; none: any
// Filters of one priority share a protocol (so a filter with and one
// without inner_source cannot share a priority: EINVAL) and never have the
// same keys (EEXIST).
struct TunnelFilter {
    TunnelFilterId id;
    std::optional<Prefix> inner_source;
    std::optional<IpAddress> outer_source;
    FilterAction action = FilterAction::drop;
    auto operator<=>(const TunnelFilter&) const = default;
};

// A whole kernel state: every object keyed by its identity.
struct KernelObjects {
    std::map<std::string, Tunnel> tunnels;
    std::map<AddressId, Address> addresses;
    std::map<SaId, Sa> sas;
    std::map<PolicyId, Policy> policies;
    std::map<RuleId, Rule> rules;
    std::map<RouteId, Route> routes;
    std::map<ProxyNeighbourId, ProxyNeighbour> proxy_neighbours;
    std::map<std::string, ClsactQdisc> qdiscs;                 // by device
    std::map<TunnelFilterId, TunnelFilter> tunnel_filters;

    bool operator==(const KernelObjects&) const = default;
    size_t size() const {
        return tunnels.size() + addresses.size() + sas.size() + policies.size() + rules.size() +
               routes.size() + proxy_neighbours.size() + qdiscs.size() + tunnel_filters.size();
    }
    bool empty() const { return size() == 0; }
    // Adds every object of `other` (other's value wins on the same key).
    void merge(const KernelObjects& other);
};

std::string to_string(const Selector& s);
std::string to_string(const SaId& id);
std::string to_string(const PolicyId& id);
std::string to_string(const RouteId& id);
std::string to_string(const RuleId& id);
std::string to_string(const AddressId& id);
std::string to_string(const ProxyNeighbourId& id);
std::string to_string(const TunnelFilterId& id);
std::string to_string(const TunnelFilter& f);
// Every object with every field, one per line (test failures, logs).
std::string to_string(const KernelObjects& k);

}  // namespace nemokey::mobility::kernel
