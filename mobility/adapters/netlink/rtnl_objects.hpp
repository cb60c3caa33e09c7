// The contract's rtnetlink objects (tunnels, addresses, routes, rules,
// proxy neighbour entries) as rtnetlink messages built with libnl-3's
// nlmsg/nla helpers, and back from what the kernel sends (dumps, GET
// answers, multicast notifications). Pure, no I/O: the caller resolves
// interface names to indexes (the kernel's messages carry indexes only)
// and sets seq and pid when it sends.
//
// Linux facts these messages rely on:
// - RTM_NEWLINK on an existing device never replaces it (NLM_F_REPLACE is
//   EOPNOTSUPP); without NLM_F_EXCL it changes it in place (changelink);
// - IPv6 routes are replaced with NLM_F_REPLACE (same table, prefix and
//   metric); without it an equal prefix and metric would be appended as a
//   multipath sibling;
// - rules have no replace: RTM_NEWRULE always appends (NLM_F_EXCL refuses
//   an identical rule), so replace is delete + add;
// - a proxy neighbour entry is looked up or created: NLM_F_EXCL is ignored.
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mobility/kernel/kernel.hpp"

namespace nemokey::mobility::adapters::netlink {

using Bytes = std::vector<uint8_t>;
using InterfaceNames = std::map<int, std::string>;  // ifindex -> name

// ---- requests ----
// Every request carries NLM_F_REQUEST | NLM_F_ACK.

// RTM_NEWLINK ip6tnl. create: NLM_F_CREATE | NLM_F_EXCL; replace:
// NLM_F_CREATE (an existing ip6ip6 tunnel changes in place). An external
// tunnel is created up. A fixed-endpoint (ip6ip6) tunnel carries
// IP6_TNL_F_IGN_ENCAP_LIMIT ("encaplimit none") and is created down: the
// caller follows with tunnel_address_generation_none and link_up, in that
// order and in the same datagram. Linux 6.1 cannot do it in one message:
// rtnl_newlink_create ignores IFLA_AF_SPEC (its validate_linkmsg even
// refuses the AF_INET6 part, the new device having no inet6_dev yet), and
// do_setlink changes the flags before IFLA_AF_SPEC, so a device brought up
// in the same message would get its link-local address (and send router
// solicitations) first.
Bytes new_tunnel(const kernel::Tunnel& t, int link_index, kernel::InstallMode mode);
// RTM_SETLINK by name: IFLA_AF_SPEC/AF_INET6/IFLA_INET6_ADDR_GEN_MODE
// IN6_ADDR_GEN_MODE_NONE (iproute2's "addrgenmode none"): no link-local
// address, so no router solicitations through the tunnel.
Bytes tunnel_address_generation_none(const std::string& name);
Bytes link_up(const std::string& name);  // RTM_SETLINK by name, IFF_UP
Bytes delete_link(const std::string& name);  // RTM_DELLINK by IFLA_IFNAME
Bytes get_link(const std::string& name);     // RTM_GETLINK by IFLA_IFNAME

Bytes new_address(const kernel::Address& a, int ifindex, kernel::InstallMode mode);
Bytes delete_address(const kernel::AddressId& id, int ifindex);
Bytes get_address(const kernel::AddressId& id, int ifindex);

Bytes new_route(const kernel::Route& r, int oif, kernel::InstallMode mode);
// protocol 0 = any; else only a route of that protocol goes.
Bytes delete_route(const kernel::RouteId& id, uint8_t protocol = 0);

Bytes new_rule(const kernel::Rule& r);  // NLM_F_CREATE | NLM_F_EXCL
// The first rule with that priority and source (any source when none is
// given); protocol 0 = any.
Bytes delete_rule(const kernel::RuleId& id, uint8_t protocol = 0);

Bytes new_proxy_neighbour(const kernel::ProxyNeighbour& n, int ifindex, kernel::InstallMode mode);
Bytes delete_proxy_neighbour(const kernel::ProxyNeighbourId& id, int ifindex);
Bytes get_proxy_neighbour(const kernel::ProxyNeighbourId& id, int ifindex);

// ---- traffic control: the clsact qdisc and flower filters on its ingress ----
// A tunnel filter is a flower classifier at its priority (protocol ipv6
// with an inner source key, all without) holding one gact action; keys as
// in kernel::TunnelFilter. Messages by ifindex (tcmsg carries no name).

// RTM_NEWQDISC clsact (parent TC_H_CLSACT, handle ffff:). create:
// NLM_F_CREATE | NLM_F_EXCL; replace: NLM_F_CREATE (the existing clsact is
// kept: a change without options).
Bytes new_clsact(int ifindex, kernel::InstallMode mode);
// RTM_DELQDISC of the device's ingress/clsact qdisc (handle 0, no kind:
// see the source for why).
Bytes delete_clsact(int ifindex);
// RTM_NEWTFILTER flower. create: NLM_F_CREATE | NLM_F_EXCL; replace:
// NLM_F_CREATE | NLM_F_REPLACE (changes the filter of that handle in place).
Bytes new_tunnel_filter(const kernel::TunnelFilter& f, int ifindex, kernel::InstallMode mode);
// RTM_DELTFILTER by priority and handle, kind flower (any protocol).
Bytes delete_tunnel_filter(const kernel::TunnelFilterId& id, int ifindex);
// NLM_F_DUMP of RTM_GETTFILTER on the device's ingress.
Bytes dump_ingress_filters(int ifindex);

// NLM_F_DUMP of RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE, RTM_GETRULE
// (every family with AF_UNSPEC), or RTM_GETNEIGH (ndm_flags NTF_PROXY
// dumps the proxy entries), RTM_GETQDISC (every device).
Bytes dump_request(uint16_t type, uint8_t family, uint8_t neighbour_flags = 0);

// ---- kernel -> contract ----

struct LinkRecord {
    int index = 0;
    std::string name;
    uint32_t flags = 0;                 // IFF_*
    bool removed = false;               // RTM_DELLINK
    std::string kind;                   // IFLA_INFO_KIND
    std::optional<kernel::Tunnel> tunnel;  // an ip6tnl device
    int tunnel_link = 0;                // IFLA_IPTUN_LINK (tunnel->link is left empty)
};
std::optional<LinkRecord> link_from(const nlmsghdr* h);

struct AddressRecord {
    kernel::Address address;
    uint32_t flags = 0;                 // IFA_F_* (IFA_FLAGS, else ifa_flags)
    bool removed = false;
};
std::optional<AddressRecord> address_from(const nlmsghdr* h, const InterfaceNames& names);

struct RouteRecord {
    kernel::Route route;
    uint8_t type = 0;                   // RTN_*
    bool multipath = false;
    bool removed = false;
};
std::optional<RouteRecord> route_from(const nlmsghdr* h, const InterfaceNames& names);

std::optional<kernel::Rule> rule_from(const nlmsghdr* h);

struct NeighbourRecord {
    std::string interface;
    kernel::IpAddress address{kernel::Ipv6Address{}};
    uint8_t flags = 0;                  // NTF_*
    uint16_t state = 0;                 // NUD_*
    uint8_t protocol = 0;               // NDA_PROTOCOL
    bool removed = false;
};
std::optional<NeighbourRecord> neighbour_from(const nlmsghdr* h, const InterfaceNames& names);

// A clsact qdisc (RTM_NEWQDISC kind clsact on the ingress parent): its device.
std::optional<std::string> clsact_from(const nlmsghdr* h, const InterfaceNames& names);

// A flower filter of the ingress of a device as a TunnelFilter: nullopt for
// anything else (other classifiers, the per-priority messages without a
// handle, keys or actions the model has no field for).
std::optional<kernel::TunnelFilter> tunnel_filter_from(const nlmsghdr* h, const InterfaceNames& names);

// NLMSG_ERROR: -errno (0 = ack) and the extended-ack text, if any.
struct Ack {
    int error = 0;
    std::string message;
};
std::optional<Ack> ack_from(const nlmsghdr* h);

}  // namespace nemokey::mobility::adapters::netlink
