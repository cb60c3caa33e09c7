#include "mobility/adapters/netlink/rtnl_objects.hpp"

// glibc's net/if.h before any linux/if.h (linux/if_tunnel.h includes it).
#include <net/if.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/if_tunnel.h>
#include <linux/ip6_tunnel.h>
#include <linux/lwtunnel.h>
#include <linux/neighbour.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_gact.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>

namespace nemokey::mobility::adapters::netlink {

namespace {

using kernel::InstallMode;
using kernel::IpAddress;

constexpr uint16_t request_flags = NLM_F_REQUEST | NLM_F_ACK;

uint16_t install_flags(InstallMode mode) {
    return request_flags | NLM_F_CREATE | (mode == InstallMode::create ? NLM_F_EXCL : NLM_F_REPLACE);
}

uint8_t family_of(const IpAddress& a) { return net::is_v6(a) ? AF_INET6 : AF_INET; }

// One rtnetlink message on libnl's nl_msg: the fixed header, then attributes.
class Builder {
public:
    template <class Header>
    Builder(uint16_t type, uint16_t flags, const Header& header) : msg_(nlmsg_alloc(), nlmsg_free) {
        if (!msg_) throw std::bad_alloc();
        nlmsghdr* h = nlmsg_put(msg_.get(), 0, 0, type, int(sizeof header), flags);
        if (!h) throw std::bad_alloc();
        std::memcpy(nlmsg_data(h), &header, sizeof header);
    }
    void put(uint16_t type, const void* data, size_t len) {
        if (nla_put(msg_.get(), type, int(len), data) < 0)
            throw std::length_error("rtnetlink message too large");
    }
    void put(uint16_t type, const IpAddress& a) {
        if (const auto* v6 = std::get_if<net::Ipv6Address>(&a))
            put(type, v6->bytes.data(), v6->bytes.size());
        else
            put(type, std::get<net::Ipv4Address>(a).bytes.data(), 4);
    }
    template <class T>
    void put_value(uint16_t type, T v) {
        put(type, &v, sizeof v);
    }
    void put_string(uint16_t type, const std::string& s) { put(type, s.c_str(), s.size() + 1); }
    void put_flag(uint16_t type) { put(type, nullptr, 0); }
    nlattr* nest(uint16_t type) {
        nlattr* a = nla_nest_start(msg_.get(), type);
        if (!a) throw std::length_error("rtnetlink message too large");
        return a;
    }
    void end(nlattr* a) { nla_nest_end(msg_.get(), a); }
    Bytes bytes() const {
        const nlmsghdr* h = nlmsg_hdr(msg_.get());
        const auto* p = reinterpret_cast<const uint8_t*>(h);
        return Bytes(p, p + h->nlmsg_len);
    }

private:
    std::unique_ptr<nl_msg, decltype(&nlmsg_free)> msg_;
};

template <class Header>
Header zero() {
    Header h;
    std::memset(&h, 0, sizeof h);
    return h;
}

// Attributes of a message after its fixed header; nullptr where absent.
template <int Max>
struct Attributes {
    std::array<nlattr*, Max + 1> tb{};
    bool ok = false;
    nlattr* operator[](int type) const { return tb[size_t(type)]; }
};

template <int Max, class Header>
Attributes<Max> parse(const nlmsghdr* h) {
    Attributes<Max> a;
    if (h->nlmsg_len < NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(Header))) return a;
    a.ok = nlmsg_parse(const_cast<nlmsghdr*>(h), int(sizeof(Header)), a.tb.data(), Max, nullptr) == 0;
    return a;
}

template <int Max>
Attributes<Max> parse_nested(const nlattr* n) {
    Attributes<Max> a;
    a.ok = nla_parse_nested(a.tb.data(), Max, const_cast<nlattr*>(n), nullptr) == 0;
    return a;
}

template <class Header>
const Header* header(const nlmsghdr* h) {
    if (h->nlmsg_len < NLMSG_HDRLEN + sizeof(Header)) return nullptr;
    return static_cast<const Header*>(nlmsg_data(const_cast<nlmsghdr*>(h)));
}

std::optional<IpAddress> ip_from(const nlattr* a) {
    if (!a) return std::nullopt;
    if (nla_len(a) == 16) {
        net::Ipv6Address v6;
        std::memcpy(v6.bytes.data(), nla_data(a), 16);
        return v6;
    }
    if (nla_len(a) == 4) {
        net::Ipv4Address v4;
        std::memcpy(v4.bytes.data(), nla_data(a), 4);
        return v4;
    }
    return std::nullopt;
}

bool is_unspecified(const IpAddress& a) {
    if (const auto* v6 = std::get_if<net::Ipv6Address>(&a)) return v6->is_unspecified();
    return std::get<net::Ipv4Address>(a).to_host_order() == 0;
}

std::optional<IpAddress> specified(std::optional<IpAddress> a) {
    if (a && is_unspecified(*a)) return std::nullopt;
    return a;
}

IpAddress any_of(uint8_t family) {
    if (family == AF_INET) return net::Ipv4Address{};
    return net::Ipv6Address{};
}

uint32_t u32(const nlattr* a, uint32_t otherwise = 0) { return a ? nla_get_u32(const_cast<nlattr*>(a)) : otherwise; }
uint8_t u8(const nlattr* a, uint8_t otherwise = 0) { return a ? nla_get_u8(const_cast<nlattr*>(a)) : otherwise; }

std::optional<std::string> name_of(const InterfaceNames& names, int index) {
    auto it = names.find(index);
    if (it == names.end()) return std::nullopt;
    return it->second;
}

ndmsg neighbour_header(int ifindex) {
    auto n = zero<ndmsg>();
    n.ndm_family = AF_INET6;
    n.ndm_ifindex = ifindex;
    n.ndm_flags = NTF_PROXY;
    return n;
}

rtmsg route_header(const kernel::RouteId& id) {
    auto r = zero<rtmsg>();
    r.rtm_family = family_of(id.destination.address);
    r.rtm_dst_len = id.destination.length;
    r.rtm_table = id.table < 256 ? uint8_t(id.table) : uint8_t(RT_TABLE_UNSPEC);
    return r;
}

void put_route_id(Builder& b, const kernel::RouteId& id) {
    b.put(RTA_DST, id.destination.address);
    b.put_value<uint32_t>(RTA_TABLE, id.table);
    b.put_value<uint32_t>(RTA_PRIORITY, id.metric);
}

fib_rule_hdr rule_header(const kernel::RuleId& id) {
    auto f = zero<fib_rule_hdr>();
    f.family = id.source ? family_of(id.source->address) : AF_INET6;
    f.src_len = id.source ? id.source->length : 0;
    return f;
}

void put_rule_id(Builder& b, const kernel::RuleId& id) {
    b.put_value<uint32_t>(FRA_PRIORITY, id.priority);
    if (id.source) b.put(FRA_SRC, id.source->address);
}

ifaddrmsg address_header(const kernel::AddressId& id, int ifindex) {
    auto a = zero<ifaddrmsg>();
    a.ifa_family = family_of(id.address.address);
    a.ifa_prefixlen = id.address.length;
    a.ifa_index = uint32_t(ifindex);
    return a;
}

// tc: the ingress of the clsact qdisc (tc's "ingress" parent).
constexpr uint32_t clsact_handle = TC_H_MAKE(TC_H_CLSACT, 0);
constexpr uint32_t ingress_parent = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS);

tcmsg tc_header(int ifindex, uint32_t parent, uint32_t handle) {
    auto t = zero<tcmsg>();
    t.tcm_family = AF_UNSPEC;
    t.tcm_ifindex = ifindex;
    t.tcm_parent = parent;
    t.tcm_handle = handle;
    return t;
}

uint16_t filter_protocol(const kernel::TunnelFilter& f) { return f.inner_source ? ETH_P_IPV6 : ETH_P_ALL; }

std::array<uint8_t, 16> v6_mask(unsigned length) {
    std::array<uint8_t, 16> m{};
    for (unsigned i = 0; i < 16; ++i) {
        const unsigned bits = length > i * 8 ? std::min(8u, length - i * 8) : 0;
        m[i] = uint8_t(bits == 0 ? 0 : 0xff << (8 - bits));
    }
    return m;
}

// The prefix length of a contiguous mask, or nullopt.
std::optional<uint8_t> v6_length(const nlattr* mask) {
    if (!mask || nla_len(mask) != 16) return std::nullopt;
    const auto* m = static_cast<const uint8_t*>(nla_data(const_cast<nlattr*>(mask)));
    unsigned length = 0;
    bool ended = false;
    for (int i = 0; i < 16; ++i)
        for (int b = 7; b >= 0; --b) {
            const bool set = (m[i] >> b) & 1;
            if (set && ended) return std::nullopt;
            if (set) ++length;
            else ended = true;
        }
    return uint8_t(length);
}

}  // namespace

// ---- requests ----

Bytes new_tunnel(const kernel::Tunnel& t, int link_index, InstallMode mode) {
    const bool fixed = t.kind == kernel::TunnelKind::ip6ip6;
    auto i = zero<ifinfomsg>();
    i.ifi_family = AF_UNSPEC;
    // A fixed-endpoint tunnel stays down (as created, or as it is) until
    // its address generation is off: see tunnel_address_generation_none.
    i.ifi_flags = fixed ? 0 : IFF_UP;
    i.ifi_change = fixed ? 0 : IFF_UP;
    // No NLM_F_REPLACE: on an existing device it is EOPNOTSUPP.
    const uint16_t flags = request_flags | NLM_F_CREATE | (mode == InstallMode::create ? NLM_F_EXCL : 0);
    Builder b(RTM_NEWLINK, flags, i);
    b.put_string(IFLA_IFNAME, t.name);
    nlattr* info = b.nest(IFLA_LINKINFO);
    b.put_string(IFLA_INFO_KIND, "ip6tnl");
    nlattr* data = b.nest(IFLA_INFO_DATA);
    b.put_value<uint8_t>(IFLA_IPTUN_PROTO, IPPROTO_IPV6);
    if (t.kind == kernel::TunnelKind::ip6ip6_external) b.put_flag(IFLA_IPTUN_COLLECT_METADATA);
    if (t.local) b.put(IFLA_IPTUN_LOCAL, *t.local);
    if (t.remote) b.put(IFLA_IPTUN_REMOTE, *t.remote);
    if (link_index > 0) b.put_value<uint32_t>(IFLA_IPTUN_LINK, uint32_t(link_index));
    // No Tunnel Encapsulation Limit option (RFC 2473 sec. 4.1.1) on what a
    // fixed tunnel sends: iproute2's "encaplimit none".
    if (fixed) b.put_value<uint32_t>(IFLA_IPTUN_FLAGS, IP6_TNL_F_IGN_ENCAP_LIMIT);
    b.end(data);
    b.end(info);
    return b.bytes();
}

Bytes tunnel_address_generation_none(const std::string& name) {
    auto i = zero<ifinfomsg>();
    i.ifi_family = AF_UNSPEC;
    Builder b(RTM_SETLINK, request_flags, i);
    b.put_string(IFLA_IFNAME, name);
    nlattr* spec = b.nest(IFLA_AF_SPEC);
    nlattr* inet6 = b.nest(AF_INET6);
    b.put_value<uint8_t>(IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
    b.end(inet6);
    b.end(spec);
    return b.bytes();
}

Bytes link_up(const std::string& name) {
    auto i = zero<ifinfomsg>();
    i.ifi_family = AF_UNSPEC;
    i.ifi_flags = IFF_UP;
    i.ifi_change = IFF_UP;
    Builder b(RTM_SETLINK, request_flags, i);
    b.put_string(IFLA_IFNAME, name);
    return b.bytes();
}

Bytes delete_link(const std::string& name) {
    auto i = zero<ifinfomsg>();
    Builder b(RTM_DELLINK, request_flags, i);
    b.put_string(IFLA_IFNAME, name);
    return b.bytes();
}

Bytes get_link(const std::string& name) {
    auto i = zero<ifinfomsg>();
    Builder b(RTM_GETLINK, request_flags, i);
    b.put_string(IFLA_IFNAME, name);
    return b.bytes();
}

Bytes new_address(const kernel::Address& a, int ifindex, InstallMode mode) {
    auto h = address_header(a.id, ifindex);
    uint32_t flags = 0;
    if (a.home_address) flags |= IFA_F_HOMEADDRESS;
    if (a.nodad) flags |= IFA_F_NODAD;
    h.ifa_flags = uint8_t(flags);
    Builder b(RTM_NEWADDR, install_flags(mode), h);
    b.put(IFA_LOCAL, a.id.address.address);
    b.put(IFA_ADDRESS, a.id.address.address);
    b.put_value<uint32_t>(IFA_FLAGS, flags);
    if (a.protocol != 0) b.put_value<uint8_t>(IFA_PROTO, a.protocol);
    return b.bytes();
}

Bytes delete_address(const kernel::AddressId& id, int ifindex) {
    Builder b(RTM_DELADDR, request_flags, address_header(id, ifindex));
    b.put(IFA_LOCAL, id.address.address);
    b.put(IFA_ADDRESS, id.address.address);
    return b.bytes();
}

Bytes get_address(const kernel::AddressId& id, int ifindex) {
    Builder b(RTM_GETADDR, request_flags, address_header(id, ifindex));
    b.put(IFA_ADDRESS, id.address.address);
    return b.bytes();
}

Bytes new_route(const kernel::Route& r, int oif, InstallMode mode) {
    auto h = route_header(r.id);
    h.rtm_protocol = r.protocol;
    h.rtm_scope = RT_SCOPE_UNIVERSE;
    h.rtm_type = RTN_UNICAST;
    Builder b(RTM_NEWROUTE, install_flags(mode), h);
    put_route_id(b, r.id);
    b.put_value<uint32_t>(RTA_OIF, uint32_t(oif));
    if (r.gateway) b.put(RTA_GATEWAY, *r.gateway);
    if (r.preferred_source) b.put(RTA_PREFSRC, *r.preferred_source);
    if (r.encap_destination || r.encap_source) {
        const bool v6 = net::is_v6(r.encap_destination ? *r.encap_destination : *r.encap_source);
        b.put_value<uint16_t>(RTA_ENCAP_TYPE, v6 ? LWTUNNEL_ENCAP_IP6 : LWTUNNEL_ENCAP_IP);
        nlattr* encap = b.nest(RTA_ENCAP);
        const uint16_t dst = v6 ? uint16_t(LWTUNNEL_IP6_DST) : uint16_t(LWTUNNEL_IP_DST);
        const uint16_t src = v6 ? uint16_t(LWTUNNEL_IP6_SRC) : uint16_t(LWTUNNEL_IP_SRC);
        if (r.encap_destination) b.put(dst, *r.encap_destination);
        if (r.encap_source) b.put(src, *r.encap_source);
        b.end(encap);
    }
    return b.bytes();
}

Bytes delete_route(const kernel::RouteId& id, uint8_t protocol) {
    auto h = route_header(id);
    h.rtm_scope = RT_SCOPE_NOWHERE;
    h.rtm_protocol = protocol;
    Builder b(RTM_DELROUTE, request_flags, h);
    put_route_id(b, id);
    return b.bytes();
}

Bytes new_rule(const kernel::Rule& r) {
    auto h = rule_header(r.id);
    h.table = r.table < 256 ? uint8_t(r.table) : uint8_t(RT_TABLE_UNSPEC);
    h.action = FR_ACT_TO_TBL;
    Builder b(RTM_NEWRULE, request_flags | NLM_F_CREATE | NLM_F_EXCL, h);
    put_rule_id(b, r.id);
    b.put_value<uint32_t>(FRA_TABLE, r.table);
    if (r.protocol != 0) b.put_value<uint8_t>(FRA_PROTOCOL, r.protocol);
    return b.bytes();
}

Bytes delete_rule(const kernel::RuleId& id, uint8_t protocol) {
    Builder b(RTM_DELRULE, request_flags, rule_header(id));
    put_rule_id(b, id);
    if (protocol != 0) b.put_value<uint8_t>(FRA_PROTOCOL, protocol);
    return b.bytes();
}

Bytes new_proxy_neighbour(const kernel::ProxyNeighbour& n, int ifindex, InstallMode mode) {
    auto h = neighbour_header(ifindex);
    h.ndm_state = NUD_PERMANENT;
    Builder b(RTM_NEWNEIGH, request_flags | NLM_F_CREATE | (mode == InstallMode::create ? NLM_F_EXCL : NLM_F_REPLACE), h);
    b.put(NDA_DST, IpAddress{n.id.address});
    if (n.protocol != 0) b.put_value<uint8_t>(NDA_PROTOCOL, n.protocol);
    return b.bytes();
}

Bytes delete_proxy_neighbour(const kernel::ProxyNeighbourId& id, int ifindex) {
    Builder b(RTM_DELNEIGH, request_flags, neighbour_header(ifindex));
    b.put(NDA_DST, IpAddress{id.address});
    return b.bytes();
}

Bytes get_proxy_neighbour(const kernel::ProxyNeighbourId& id, int ifindex) {
    Builder b(RTM_GETNEIGH, request_flags, neighbour_header(ifindex));
    b.put(NDA_DST, IpAddress{id.address});
    return b.bytes();
}

Bytes new_clsact(int ifindex, InstallMode mode) {
    const uint16_t flags = request_flags | NLM_F_CREATE | (mode == InstallMode::create ? NLM_F_EXCL : 0);
    Builder b(RTM_NEWQDISC, flags, tc_header(ifindex, TC_H_CLSACT, clsact_handle));
    b.put_string(TCA_KIND, "clsact");
    return b.bytes();
}

Bytes delete_clsact(int ifindex) {
    // net/sched/sch_api.c tc_get_qdisc(): with a handle, a device whose
    // clsact went (its ingress queue keeps the noop qdisc, handle 0) answers
    // EINVAL, and a kind is compared before the handle (noop != clsact:
    // EINVAL). Without either, a missing qdisc is ENOENT.
    Builder b(RTM_DELQDISC, request_flags, tc_header(ifindex, TC_H_CLSACT, 0));
    return b.bytes();
}

Bytes new_tunnel_filter(const kernel::TunnelFilter& f, int ifindex, InstallMode mode) {
    auto t = tc_header(ifindex, ingress_parent, f.id.handle);
    t.tcm_info = TC_H_MAKE(uint32_t(f.id.priority) << 16, htons(filter_protocol(f)));
    Builder b(RTM_NEWTFILTER, install_flags(mode), t);
    b.put_string(TCA_KIND, "flower");
    nlattr* options = b.nest(TCA_OPTIONS);
    if (f.inner_source) {
        b.put_value<uint16_t>(TCA_FLOWER_KEY_ETH_TYPE, htons(ETH_P_IPV6));
        const auto& a = std::get<net::Ipv6Address>(f.inner_source->address);
        auto mask = v6_mask(f.inner_source->length);
        std::array<uint8_t, 16> key{};
        for (size_t i = 0; i < 16; ++i) key[i] = a.bytes[i] & mask[i];
        b.put(TCA_FLOWER_KEY_IPV6_SRC, key.data(), key.size());
        b.put(TCA_FLOWER_KEY_IPV6_SRC_MASK, mask.data(), mask.size());
    }
    if (f.outer_source) {
        const auto mask = v6_mask(128);
        b.put(TCA_FLOWER_KEY_ENC_IPV6_SRC, *f.outer_source);
        b.put(TCA_FLOWER_KEY_ENC_IPV6_SRC_MASK, mask.data(), mask.size());
    }
    nlattr* actions = b.nest(TCA_FLOWER_ACT);
    nlattr* first = b.nest(1);
    b.put_string(TCA_ACT_KIND, "gact");
    nlattr* gact_options = b.nest(TCA_ACT_OPTIONS);
    tc_gact parms{};
    parms.action = f.action == kernel::FilterAction::pass ? TC_ACT_OK : TC_ACT_SHOT;
    b.put(TCA_GACT_PARMS, &parms, sizeof parms);
    b.end(gact_options);
    b.end(first);
    b.end(actions);
    b.end(options);
    return b.bytes();
}

Bytes delete_tunnel_filter(const kernel::TunnelFilterId& id, int ifindex) {
    auto t = tc_header(ifindex, ingress_parent, id.handle);
    t.tcm_info = TC_H_MAKE(uint32_t(id.priority) << 16, 0);   // protocol 0: any
    Builder b(RTM_DELTFILTER, request_flags, t);
    b.put_string(TCA_KIND, "flower");   // never another classifier's filter
    return b.bytes();
}

Bytes dump_ingress_filters(int ifindex) {
    return Builder(RTM_GETTFILTER, NLM_F_REQUEST | NLM_F_DUMP, tc_header(ifindex, ingress_parent, 0)).bytes();
}

Bytes dump_request(uint16_t type, uint8_t family, uint8_t neighbour_flags) {
    const uint16_t flags = NLM_F_REQUEST | NLM_F_DUMP;
    switch (type) {
        case RTM_GETLINK: {
            auto i = zero<ifinfomsg>();
            i.ifi_family = family;
            return Builder(type, flags, i).bytes();
        }
        case RTM_GETADDR: {
            auto a = zero<ifaddrmsg>();
            a.ifa_family = family;
            return Builder(type, flags, a).bytes();
        }
        case RTM_GETROUTE: {
            auto r = zero<rtmsg>();
            r.rtm_family = family;
            return Builder(type, flags, r).bytes();
        }
        case RTM_GETRULE: {
            auto f = zero<fib_rule_hdr>();
            f.family = family;
            return Builder(type, flags, f).bytes();
        }
        case RTM_GETNEIGH: {
            auto n = zero<ndmsg>();
            n.ndm_family = family;
            n.ndm_flags = neighbour_flags;
            return Builder(type, flags, n).bytes();
        }
        case RTM_GETQDISC: {
            auto t = zero<tcmsg>();
            t.tcm_family = family;
            return Builder(type, flags, t).bytes();
        }
        default: throw std::invalid_argument("dump_request: not a dumpable rtnetlink type");
    }
}

// ---- kernel -> contract ----

std::optional<LinkRecord> link_from(const nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK) return std::nullopt;
    const auto* i = header<ifinfomsg>(h);
    auto a = parse<IFLA_MAX, ifinfomsg>(h);
    if (!i || !a.ok || !a[IFLA_IFNAME]) return std::nullopt;
    LinkRecord r;
    r.index = i->ifi_index;
    r.flags = i->ifi_flags;
    r.removed = h->nlmsg_type == RTM_DELLINK;
    r.name = nla_get_string(a[IFLA_IFNAME]);
    if (!a[IFLA_LINKINFO]) return r;
    auto info = parse_nested<IFLA_INFO_MAX>(a[IFLA_LINKINFO]);
    if (!info.ok || !info[IFLA_INFO_KIND]) return r;
    r.kind = nla_get_string(info[IFLA_INFO_KIND]);
    if (r.kind != "ip6tnl" || !info[IFLA_INFO_DATA]) return r;
    auto d = parse_nested<IFLA_IPTUN_MAX>(info[IFLA_INFO_DATA]);
    if (!d.ok) return r;
    kernel::Tunnel t;
    t.name = r.name;
    t.kind = d[IFLA_IPTUN_COLLECT_METADATA] ? kernel::TunnelKind::ip6ip6_external : kernel::TunnelKind::ip6ip6;
    t.local = specified(ip_from(d[IFLA_IPTUN_LOCAL]));
    t.remote = specified(ip_from(d[IFLA_IPTUN_REMOTE]));
    r.tunnel_link = int(u32(d[IFLA_IPTUN_LINK]));
    r.tunnel = t;
    return r;
}

std::optional<AddressRecord> address_from(const nlmsghdr* h, const InterfaceNames& names) {
    if (h->nlmsg_type != RTM_NEWADDR && h->nlmsg_type != RTM_DELADDR) return std::nullopt;
    const auto* i = header<ifaddrmsg>(h);
    auto a = parse<IFA_MAX, ifaddrmsg>(h);
    if (!i || !a.ok) return std::nullopt;
    auto address = ip_from(a[IFA_LOCAL] ? a[IFA_LOCAL] : a[IFA_ADDRESS]);
    auto name = name_of(names, int(i->ifa_index));
    if (!address || !name) return std::nullopt;
    AddressRecord r;
    r.flags = a[IFA_FLAGS] ? u32(a[IFA_FLAGS]) : i->ifa_flags;
    r.removed = h->nlmsg_type == RTM_DELADDR;
    r.address.id = kernel::AddressId{*name, kernel::Prefix{*address, i->ifa_prefixlen}};
    r.address.home_address = r.flags & IFA_F_HOMEADDRESS;
    r.address.nodad = r.flags & IFA_F_NODAD;
    r.address.protocol = u8(a[IFA_PROTO]);
    return r;
}

std::optional<RouteRecord> route_from(const nlmsghdr* h, const InterfaceNames& names) {
    if (h->nlmsg_type != RTM_NEWROUTE && h->nlmsg_type != RTM_DELROUTE) return std::nullopt;
    const auto* m = header<rtmsg>(h);
    if (!m || (m->rtm_family != AF_INET && m->rtm_family != AF_INET6)) return std::nullopt;
    auto a = parse<RTA_MAX, rtmsg>(h);
    if (!a.ok) return std::nullopt;
    RouteRecord r;
    r.type = m->rtm_type;
    r.multipath = a[RTA_MULTIPATH] != nullptr;
    r.removed = h->nlmsg_type == RTM_DELROUTE;
    auto& route = r.route;
    route.id.table = u32(a[RTA_TABLE], m->rtm_table);
    route.id.destination = kernel::Prefix{ip_from(a[RTA_DST]).value_or(any_of(m->rtm_family)), m->rtm_dst_len};
    route.id.metric = u32(a[RTA_PRIORITY]);
    if (a[RTA_OIF]) {
        auto name = name_of(names, int(u32(a[RTA_OIF])));
        if (!name) return std::nullopt;
        route.device = *name;
    }
    route.gateway = ip_from(a[RTA_GATEWAY]);
    route.preferred_source = ip_from(a[RTA_PREFSRC]);
    route.protocol = m->rtm_protocol;
    if (a[RTA_ENCAP] && a[RTA_ENCAP_TYPE]) {
        const uint16_t type = nla_get_u16(a[RTA_ENCAP_TYPE]);
        if (type == LWTUNNEL_ENCAP_IP6) {
            auto e = parse_nested<LWTUNNEL_IP6_MAX>(a[RTA_ENCAP]);
            if (e.ok) {
                route.encap_destination = specified(ip_from(e[LWTUNNEL_IP6_DST]));
                route.encap_source = specified(ip_from(e[LWTUNNEL_IP6_SRC]));
            }
        } else if (type == LWTUNNEL_ENCAP_IP) {
            auto e = parse_nested<LWTUNNEL_IP_MAX>(a[RTA_ENCAP]);
            if (e.ok) {
                route.encap_destination = specified(ip_from(e[LWTUNNEL_IP_DST]));
                route.encap_source = specified(ip_from(e[LWTUNNEL_IP_SRC]));
            }
        }
    }
    return r;
}

std::optional<kernel::Rule> rule_from(const nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWRULE) return std::nullopt;
    const auto* f = header<fib_rule_hdr>(h);
    auto a = parse<FRA_MAX, fib_rule_hdr>(h);
    if (!f || !a.ok || f->action != FR_ACT_TO_TBL || f->dst_len != 0) return std::nullopt;
    kernel::Rule r;
    r.id.priority = u32(a[FRA_PRIORITY]);
    if (f->src_len > 0) {
        auto src = ip_from(a[FRA_SRC]);
        if (!src) return std::nullopt;
        r.id.source = kernel::Prefix{*src, f->src_len};
    }
    r.table = u32(a[FRA_TABLE], f->table);
    r.protocol = u8(a[FRA_PROTOCOL]);
    return r;
}

std::optional<NeighbourRecord> neighbour_from(const nlmsghdr* h, const InterfaceNames& names) {
    if (h->nlmsg_type != RTM_NEWNEIGH && h->nlmsg_type != RTM_DELNEIGH) return std::nullopt;
    const auto* n = header<ndmsg>(h);
    auto a = parse<NDA_MAX, ndmsg>(h);
    if (!n || !a.ok) return std::nullopt;
    auto address = ip_from(a[NDA_DST]);
    auto name = name_of(names, n->ndm_ifindex);
    if (!address || !name) return std::nullopt;
    NeighbourRecord r;
    r.interface = *name;
    r.address = *address;
    r.flags = n->ndm_flags;
    r.state = n->ndm_state;
    r.protocol = u8(a[NDA_PROTOCOL]);
    r.removed = h->nlmsg_type == RTM_DELNEIGH;
    return r;
}

std::optional<std::string> clsact_from(const nlmsghdr* h, const InterfaceNames& names) {
    if (h->nlmsg_type != RTM_NEWQDISC) return std::nullopt;
    const auto* t = header<tcmsg>(h);
    auto a = parse<TCA_MAX, tcmsg>(h);
    if (!t || !a.ok || !a[TCA_KIND] || t->tcm_parent != TC_H_CLSACT) return std::nullopt;
    if (std::string(nla_get_string(a[TCA_KIND])) != "clsact") return std::nullopt;
    return name_of(names, t->tcm_ifindex);
}

std::optional<kernel::TunnelFilter> tunnel_filter_from(const nlmsghdr* h, const InterfaceNames& names) {
    if (h->nlmsg_type != RTM_NEWTFILTER) return std::nullopt;
    const auto* t = header<tcmsg>(h);
    auto a = parse<TCA_MAX, tcmsg>(h);
    if (!t || !a.ok || !a[TCA_KIND] || !a[TCA_OPTIONS] || t->tcm_handle == 0 || t->tcm_parent != ingress_parent)
        return std::nullopt;
    if (std::string(nla_get_string(a[TCA_KIND])) != "flower") return std::nullopt;
    if (a[TCA_CHAIN] && u32(a[TCA_CHAIN]) != 0) return std::nullopt;
    auto device = name_of(names, t->tcm_ifindex);
    if (!device) return std::nullopt;
    kernel::TunnelFilter f;
    f.id = kernel::TunnelFilterId{*device, uint16_t(TC_H_MAJ(t->tcm_info) >> 16), t->tcm_handle};
    auto o = parse_nested<TCA_FLOWER_MAX>(a[TCA_OPTIONS]);
    if (!o.ok) return std::nullopt;
    // Keys the model has: inner IPv6 source, outer IPv6 source (/128).
    for (int type = 1; type <= TCA_FLOWER_MAX; ++type) {
        if (!o[type]) continue;
        switch (type) {
            case TCA_FLOWER_KEY_ETH_TYPE:
            case TCA_FLOWER_KEY_IPV6_SRC:
            case TCA_FLOWER_KEY_IPV6_SRC_MASK:
            case TCA_FLOWER_KEY_ENC_IPV6_SRC:
            case TCA_FLOWER_KEY_ENC_IPV6_SRC_MASK:
            case TCA_FLOWER_ACT:
            case TCA_FLOWER_FLAGS:
            case TCA_FLOWER_IN_HW_COUNT:
                continue;
            default: return std::nullopt;
        }
    }
    if (o[TCA_FLOWER_KEY_IPV6_SRC]) {
        if (!o[TCA_FLOWER_KEY_ETH_TYPE] || nla_get_u16(o[TCA_FLOWER_KEY_ETH_TYPE]) != htons(ETH_P_IPV6))
            return std::nullopt;
        auto length = v6_length(o[TCA_FLOWER_KEY_IPV6_SRC_MASK]);
        auto src = ip_from(o[TCA_FLOWER_KEY_IPV6_SRC]);
        if (!length || !src) return std::nullopt;
        f.inner_source = kernel::Prefix{*src, *length};
    } else if (o[TCA_FLOWER_KEY_ETH_TYPE]) {
        return std::nullopt;
    }
    if (o[TCA_FLOWER_KEY_ENC_IPV6_SRC]) {
        auto length = v6_length(o[TCA_FLOWER_KEY_ENC_IPV6_SRC_MASK]);
        if (!length || *length != 128) return std::nullopt;
        f.outer_source = ip_from(o[TCA_FLOWER_KEY_ENC_IPV6_SRC]);
    }
    // Exactly one action, gact pass or drop.
    if (!o[TCA_FLOWER_ACT]) return std::nullopt;
    auto acts = parse_nested<TCA_ACT_MAX_PRIO>(o[TCA_FLOWER_ACT]);
    if (!acts.ok || !acts[1]) return std::nullopt;
    for (int i = 2; i <= TCA_ACT_MAX_PRIO; ++i)
        if (acts[i]) return std::nullopt;
    auto act = parse_nested<TCA_ACT_MAX>(acts[1]);
    if (!act.ok || !act[TCA_ACT_KIND] || std::string(nla_get_string(act[TCA_ACT_KIND])) != "gact" ||
        !act[TCA_ACT_OPTIONS])
        return std::nullopt;
    auto g = parse_nested<TCA_GACT_MAX>(act[TCA_ACT_OPTIONS]);
    if (!g.ok || !g[TCA_GACT_PARMS] || nla_len(g[TCA_GACT_PARMS]) < int(sizeof(tc_gact)) || g[TCA_GACT_PROB])
        return std::nullopt;
    tc_gact parms;
    std::memcpy(&parms, nla_data(g[TCA_GACT_PARMS]), sizeof parms);
    if (parms.action == TC_ACT_OK) f.action = kernel::FilterAction::pass;
    else if (parms.action == TC_ACT_SHOT) f.action = kernel::FilterAction::drop;
    else return std::nullopt;
    return f;
}

std::optional<Ack> ack_from(const nlmsghdr* h) {
    if (h->nlmsg_type != NLMSG_ERROR) return std::nullopt;
    const auto* e = header<nlmsgerr>(h);
    if (!e) return std::nullopt;
    Ack ack{e->error, {}};
    if (!(h->nlmsg_flags & NLM_F_ACK_TLVS)) return ack;
    // Capped acks carry only the request's header; the TLVs follow.
    size_t offset = sizeof(nlmsgerr);
    if (!(h->nlmsg_flags & NLM_F_CAPPED) && e->msg.nlmsg_len >= NLMSG_HDRLEN)
        offset += e->msg.nlmsg_len - NLMSG_HDRLEN;
    offset = NLMSG_ALIGN(offset);
    const size_t payload = h->nlmsg_len - NLMSG_HDRLEN;
    if (offset >= payload) return ack;
    std::array<nlattr*, NLMSGERR_ATTR_MAX + 1> tb{};
    auto* head = reinterpret_cast<nlattr*>(static_cast<uint8_t*>(nlmsg_data(const_cast<nlmsghdr*>(h))) + offset);
    if (nla_parse(tb.data(), NLMSGERR_ATTR_MAX, head, int(payload - offset), nullptr) == 0 &&
        tb[NLMSGERR_ATTR_MSG])
        ack.message = nla_get_string(tb[NLMSGERR_ATTR_MSG]);
    return ack;
}

}  // namespace nemokey::mobility::adapters::netlink
