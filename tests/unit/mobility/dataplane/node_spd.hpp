// A node's SPD entries for tests and benchmarks, as conf::derive_plan makes
// them: BU, BA and BRR in transport mode (with the Home Address option and the
// type 2 routing header, RFC 6275 sec. 6.3, 6.4), and the payload of the
// home address and of each mobile network prefix in tunnel mode between
// the care-of address and the home agent (RFC 4877 sec. 4, RFC 3963 sec. 5.5).
#pragma once

#include <vector>

#include "conf/plan.hpp"

namespace nemokey::mobility::dataplane::testing {

// reqid for BU/BA, reqid + 1 for the payload; `home_agent` picks the side.
inline std::vector<conf::SpdEntry> node_spd(const net::Ipv6Address& hoa, const net::Ipv6Address& ha, uint32_t reqid,
                                            bool home_agent, const std::vector<net::Prefix>& prefixes = {}) {
    std::vector<conf::SpdEntry> spd;
    const auto h = net::Prefix{net::IpAddress{hoa}, 128};
    const auto a = net::Prefix{net::IpAddress{ha}, 128};
    conf::SpdEntry bu;
    bu.direction = home_agent ? conf::Direction::in : conf::Direction::out;
    bu.selector = conf::Selector{h, a, conf::ip_proto_mh, conf::mh_binding_update};
    bu.mip6_header = conf::Mip6Header::home_address_option;
    bu.priority = 10;
    bu.reqid = reqid;
    spd.push_back(bu);
    conf::SpdEntry ba = bu;
    ba.direction = home_agent ? conf::Direction::out : conf::Direction::in;
    ba.selector = conf::Selector{a, h, conf::ip_proto_mh, conf::mh_binding_acknowledgement};
    ba.mip6_header = conf::Mip6Header::type2_routing_header;
    spd.push_back(ba);
    conf::SpdEntry brr = ba;   // the home agent's BRR on the BA's SA (RFC 6275 sec. 9.5.5)
    brr.selector.type = conf::mh_binding_refresh_request;
    spd.push_back(brr);
    const auto any = *net::Prefix::parse("::/0");
    const conf::Endpoint coa{true, {}};
    const conf::Endpoint ha_end{false, ha};
    std::vector<net::Prefix> sources{h};
    sources.insert(sources.end(), prefixes.begin(), prefixes.end());
    for (const auto& from : sources) {
        conf::SpdEntry up;   // from the node's side towards the home agent
        up.traffic_class = conf::TrafficClass::payload;
        up.mode = conf::IpsecMode::tunnel;
        up.priority = 100;
        up.reqid = reqid + 1;
        up.selector = conf::Selector{from, any, 0, std::nullopt};
        up.tunnel_source = coa;
        up.tunnel_destination = ha_end;
        conf::SpdEntry down = up;
        down.selector = conf::Selector{any, from, 0, std::nullopt};
        down.tunnel_source = ha_end;
        down.tunnel_destination = coa;
        up.direction = home_agent ? conf::Direction::in : conf::Direction::out;
        down.direction = home_agent ? conf::Direction::out : conf::Direction::in;
        spd.push_back(up);
        spd.push_back(down);
    }
    return spd;
}

}  // namespace nemokey::mobility::dataplane::testing
