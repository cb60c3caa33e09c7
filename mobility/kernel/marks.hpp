// Ownership marks: every kernel object nemokey installs carries one, so a
// restarted daemon finds exactly its own objects (and reconciles them) and
// never touches anyone else's: charon's SAs, an administrator's routes,
// the kernel's own addresses.
//
// | object          | mark                                              | why this field                                   |
// |-----------------|---------------------------------------------------|--------------------------------------------------|
// | XFRM SA         | XFRMA_SET_MARK = sa_owner_mark, mask 0            | an output mark with mask 0 changes no packet mark |
// | XFRM policy     | priority in [policy_priority_min, _max]           | policy marks would restrict matching              |
// | route           | rtm_protocol = protocol                           | iproute2's "proto", kept by the kernel            |
// | rule            | FRA_PROTOCOL = protocol, priority in the rule band |                                                  |
// | address         | IFA_PROTO = protocol                              | Linux >= 5.18                                     |
// | proxy neighbour | NDA_PROTOCOL = protocol                           |                                                   |
// | tunnel          | name starts with tunnel_name_prefix               | devices have no protocol field                    |
// | clsact qdisc    | on a device of ours (tunnel name prefix)          | qdiscs have no protocol field either              |
// | tunnel filter   | on a device of ours, priority in the filter band  | filters have none; a foreign filter on our device |
// |                 |                                                   | (another band) is left alone                      |
//
// MARK values are constants of the wire contract: changing one orphans the
// objects a running daemon installed. drafts-notes/kernel-contract.md.
#pragma once

#include <cstdint>
#include <string_view>

#include "mobility/kernel/objects.hpp"

namespace nemokey::mobility::kernel::marks {

// Unassigned in iproute2's rt_protos (0-18, 42, 99, 186-192 are taken).
inline constexpr uint8_t protocol = 167;
inline constexpr uint32_t sa_owner_mark = 0x4e4b0001;   // "NK", 1
inline constexpr uint32_t policy_priority_min = 0x004e0000;
inline constexpr uint32_t policy_priority_max = 0x004effff;
inline constexpr uint32_t rule_priority_min = 0x4e00;
inline constexpr uint32_t rule_priority_max = 0x4eff;
inline constexpr std::string_view tunnel_name_prefix = "nk";
// tc priorities ("pref", 16 bits) of our filters: the reverse-tunnel pass
// filters at the first, the catch-all drop at the last (lowest priority).
inline constexpr uint16_t filter_priority_min = 0x4e00;
inline constexpr uint16_t filter_priority_max = 0x4eff;

inline bool owned(const Sa& s) { return s.owner_mark == sa_owner_mark; }
inline bool owned(const Policy& p) {
    return p.priority >= policy_priority_min && p.priority <= policy_priority_max;
}
inline bool owned(const Route& r) { return r.protocol == protocol; }
inline bool owned(const Rule& r) {
    return r.protocol == protocol && r.id.priority >= rule_priority_min &&
           r.id.priority <= rule_priority_max;
}
inline bool owned(const Address& a) { return a.protocol == protocol; }
inline bool owned(const ProxyNeighbour& n) { return n.protocol == protocol; }
inline bool owned(const Tunnel& t) { return t.name.starts_with(tunnel_name_prefix); }
inline bool owned(const ClsactQdisc& q) { return q.device.starts_with(tunnel_name_prefix); }
inline bool owned(const TunnelFilter& f) {
    return f.id.device.starts_with(tunnel_name_prefix) && f.id.priority >= filter_priority_min &&
           f.id.priority <= filter_priority_max;
}

// The objects of `all` that carry our marks.
KernelObjects owned_only(const KernelObjects& all);

}  // namespace nemokey::mobility::kernel::marks
