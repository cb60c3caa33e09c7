#include "conf/plan.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace nemokey::conf {

using net::Ipv4Address;
using net::Ipv6Address;
using net::Prefix;

std::string_view to_string(TrafficClass c) {
    switch (c) {
        case TrafficClass::signalling: return "signalling";
        case TrafficClass::prefix_discovery: return "prefix-discovery";
        case TrafficClass::home_test: return "home-test";
        case TrafficClass::payload: return "payload";
    }
    return "?";
}
std::string_view to_string(Direction d) { return d == Direction::out ? "out" : "in"; }
std::string_view to_string(IpsecMode m) { return m == IpsecMode::transport ? "transport" : "tunnel"; }
std::string_view to_string(Mip6Header h) {
    switch (h) {
        case Mip6Header::none: return "none";
        case Mip6Header::home_address_option: return "home-address-option";
        case Mip6Header::type2_routing_header: return "type-2-routing-header";
    }
    return "?";
}
std::string to_string(const Endpoint& e) { return e.care_of_address ? "care-of-address" : e.address.to_string(); }

uint32_t derive_reqid(const Identity& identity, TrafficClass traffic_class, uint32_t attempt) {
    // FNV-1a (64 bit) over a versioned, NUL-separated key: stable across
    // builds and platforms, unlike std::hash.
    uint64_t h = 14695981039346656037ull;
    auto mix = [&](std::string_view s) {
        for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
        h = (h ^ 0) * 1099511628211ull;
    };
    mix("nemokey-reqid-v1");
    mix(to_string(identity.type));
    mix(identity.value);
    mix(to_string(traffic_class));
    mix(std::to_string(attempt));
    h ^= h >> 32;
    return reqid_min + static_cast<uint32_t>(h % (uint64_t{reqid_max} - reqid_min + 1));
}

namespace {

constexpr uint32_t priority_of(TrafficClass c) {
    // Signalling before the tunnel entries whose selectors also cover it
    // (RFC 4301 sec. 4.4.1: the SPD is ordered, first match wins).
    switch (c) {
        case TrafficClass::signalling: return 1000;
        case TrafficClass::prefix_discovery: return 1100;
        case TrafficClass::home_test: return 1200;
        case TrafficClass::payload: return 2000;
    }
    return 3000;
}

Prefix host(const Ipv6Address& a) { return Prefix{net::IpAddress{a}, 128}; }
Prefix host(const Ipv4Address& a) { return Prefix{net::IpAddress{a}, 32}; }
Prefix any6() { return Prefix{net::IpAddress{Ipv6Address{}}, 0}; }
Prefix any4() { return Prefix{net::IpAddress{Ipv4Address{}}, 0}; }
Prefix any_of_family(const Prefix& p) { return net::is_v6(p.address) ? any6() : any4(); }

TrafficSelector ts_type(const Prefix& p, uint8_t protocol, uint8_t type) {
    // RFC 4301 sec. 4.4.1.1: the MH/ICMP type in the high octet of the port.
    return TrafficSelector{p, protocol, static_cast<uint16_t>(type << 8), static_cast<uint16_t>(type << 8 | 0xff)};
}
TrafficSelector ts_any(const Prefix& p) { return TrafficSelector{p, ip_proto_any, 0, 0xffff}; }

const Ipv6Address& home_agent_address_for(const Model& m, const Binding& b) {
    if (m.home) return m.home->home_agent_addresses.front().value;
    const auto& ha = *m.home_agent;
    // The HA address on the same home link as the home address.
    for (const auto& p : ha.home_prefixes)
        if (p.value.contains(net::IpAddress{b.home_address.value}))
            for (const auto& a : ha.addresses)
                if (p.value.contains(net::IpAddress{a.value})) return a.value;
    return ha.addresses.front().value;
}

// Everything the payload tunnel carries for one node: its home addresses
// and mobile network prefixes (RFC 3963 sec. 5.5, RFC 5555 sec. 3.3).
std::vector<Prefix> own_prefixes(const Binding& b) {
    std::vector<Prefix> out{host(b.home_address.value)};
    for (const auto& p : b.mobile_network.prefixes) out.push_back(p.value);
    if (b.ipv4_home_address) out.push_back(host(b.ipv4_home_address->value));
    for (const auto& p : b.mobile_network.ipv4_prefixes) out.push_back(p.value);
    return out;
}

std::vector<TrafficClass> classes_of(const Binding& b) {
    std::vector<TrafficClass> out{TrafficClass::signalling};
    if (b.protection.prefix_discovery) out.push_back(TrafficClass::prefix_discovery);
    if (b.protection.home_test) out.push_back(TrafficClass::home_test);
    if (b.protection.payload_tunnel) out.push_back(TrafficClass::payload);
    return out;
}

class NodeBuilder {
public:
    NodeBuilder(bool on_home_agent, const Binding& b, const Ipv6Address& ha)
        : on_ha_(on_home_agent), b_(b), hoa_(b.home_address.value), ha_(ha) {}

    // A message the mobile node sends is outbound there and inbound at the HA.
    Direction from_mobile() const { return on_ha_ ? Direction::in : Direction::out; }
    Direction to_mobile() const { return on_ha_ ? Direction::out : Direction::in; }

    Endpoint coa() const { return Endpoint{true, {}}; }
    Endpoint ha() const { return Endpoint{false, ha_}; }

    void add(std::vector<SpdEntry>& spd, TrafficClass c, uint32_t reqid) const {
        auto entry = [&](std::string message, Direction d, IpsecMode mode, Selector sel, Mip6Header hdr) {
            SpdEntry e;
            e.traffic_class = c;
            e.message = std::move(message);
            e.direction = d;
            e.mode = mode;
            e.selector = std::move(sel);
            e.mip6_header = hdr;
            e.priority = priority_of(c);
            e.reqid = reqid;
            if (mode == IpsecMode::tunnel) {
                // Outer header: care-of address <-> home agent address.
                bool up = (d == from_mobile());
                e.tunnel_source = up ? coa() : ha();
                e.tunnel_destination = up ? ha() : coa();
            }
            spd.push_back(std::move(e));
        };
        switch (c) {
            case TrafficClass::signalling:
                // BU carries a Home Address option, BA a type 2 routing
                // header; the selectors see the home address (RFC 3776 sec. 4.3).
                entry("binding-update", from_mobile(), IpsecMode::transport,
                      {host(hoa_), host(ha_), ip_proto_mh, mh_binding_update}, Mip6Header::home_address_option);
                entry("binding-acknowledgement", to_mobile(), IpsecMode::transport,
                      {host(ha_), host(hoa_), ip_proto_mh, mh_binding_acknowledgement},
                      Mip6Header::type2_routing_header);
                // The home agent's Binding Refresh Request (RFC 6275 sec.
                // 9.5.5) goes to the home address like a BA and under the
                // same SA: RFC 3776 sec. 5.2.1 protects every MH between
                // home agent and home address (proto = MH, no type), and
                // the mobile node's inbound entry, which carries no MH type
                // on Linux (drafts-notes/linux-mip6-xfrm.md F3), requires
                // ESP for every MH from the home agent, so an unprotected
                // BRR would be dropped. RFC 4877 sec. 6.1 lists BU/BA only,
                // as examples; MH type selectors (RFC 4301 sec. 4.4.1.1)
                // let the BRR be named beside the BA.
                entry("binding-refresh-request", to_mobile(), IpsecMode::transport,
                      {host(ha_), host(hoa_), ip_proto_mh, mh_binding_refresh_request},
                      Mip6Header::type2_routing_header);
                break;
            case TrafficClass::prefix_discovery:
                entry("mobile-prefix-solicitation", from_mobile(), IpsecMode::transport,
                      {host(hoa_), host(ha_), ip_proto_icmpv6, icmpv6_mobile_prefix_solicitation},
                      Mip6Header::home_address_option);
                entry("mobile-prefix-advertisement", to_mobile(), IpsecMode::transport,
                      {host(ha_), host(hoa_), ip_proto_icmpv6, icmpv6_mobile_prefix_advertisement},
                      Mip6Header::type2_routing_header);
                break;
            case TrafficClass::home_test:
                entry("home-test-init", from_mobile(), IpsecMode::tunnel,
                      {host(hoa_), any6(), ip_proto_mh, mh_home_test_init}, Mip6Header::none);
                entry("home-test", to_mobile(), IpsecMode::tunnel, {any6(), host(hoa_), ip_proto_mh, mh_home_test},
                      Mip6Header::none);
                break;
            case TrafficClass::payload:
                for (const auto& p : own_prefixes(b_)) {
                    entry("payload", from_mobile(), IpsecMode::tunnel, {p, any_of_family(p), ip_proto_any, {}},
                          Mip6Header::none);
                    entry("payload", to_mobile(), IpsecMode::tunnel, {any_of_family(p), p, ip_proto_any, {}},
                          Mip6Header::none);
                }
                break;
        }
    }

    ChildSa child(TrafficClass c, uint32_t reqid) const {
        // Traffic selectors from this end's point of view: on the mobile
        // node "local" is the home address side.
        std::vector<TrafficSelector> mobile, home;
        IpsecMode mode = IpsecMode::transport;
        switch (c) {
            case TrafficClass::signalling:
                mobile = {ts_type(host(hoa_), ip_proto_mh, mh_binding_update)};
                // The BRR travels on the BA's SA (RFC 6275 sec. 9.5.5,
                // RFC 3776 sec. 5.2.1): the home agent's side names both.
                home = {ts_type(host(ha_), ip_proto_mh, mh_binding_acknowledgement),
                        ts_type(host(ha_), ip_proto_mh, mh_binding_refresh_request)};
                break;
            case TrafficClass::prefix_discovery:
                mobile = {ts_type(host(hoa_), ip_proto_icmpv6, icmpv6_mobile_prefix_solicitation)};
                home = {ts_type(host(ha_), ip_proto_icmpv6, icmpv6_mobile_prefix_advertisement)};
                break;
            case TrafficClass::home_test:
                mode = IpsecMode::tunnel;
                mobile = {ts_type(host(hoa_), ip_proto_mh, mh_home_test_init)};
                home = {ts_type(any6(), ip_proto_mh, mh_home_test)};
                break;
            case TrafficClass::payload: {
                mode = IpsecMode::tunnel;
                bool v4 = false;
                for (const auto& p : own_prefixes(b_)) {
                    mobile.push_back(ts_any(p));
                    v4 |= !net::is_v6(p.address);
                }
                home.push_back(ts_any(any6()));
                if (v4) home.push_back(ts_any(any4()));
                break;
            }
        }
        ChildSa sa;
        sa.name = std::string(to_string(c));
        sa.traffic_class = c;
        sa.mode = mode;
        sa.local_ts = on_ha_ ? home : mobile;
        sa.remote_ts = on_ha_ ? mobile : home;
        sa.reqid = reqid;
        return sa;
    }

private:
    bool on_ha_;
    const Binding& b_;
    Ipv6Address hoa_;
    Ipv6Address ha_;
};

std::optional<std::string> written(const std::optional<FileRef>& f) {
    if (!f) return std::nullopt;
    return f->as_written;
}

}  // namespace

Plan derive_plan(const Model& model, ReqidFunction reqid_fn) {
    Plan plan;
    plan.role = model.role;
    const bool on_ha = model.role == Role::home_agent;
    auto bindings = model.bindings();

    // Request ids: every (identity, class) of the plan, in a fixed order, so
    // a collision is always resolved the same way (the later key moves on).
    using Key = std::tuple<IdentityType, std::string, TrafficClass>;
    std::vector<Key> keys;
    for (const Binding* b : bindings)
        for (TrafficClass c : classes_of(*b)) keys.emplace_back(b->identity.value.type, b->identity.value.value, c);
    std::sort(keys.begin(), keys.end());
    std::map<Key, uint32_t> reqids;
    std::set<uint32_t> used;
    for (const Key& k : keys) {
        Identity id{std::get<0>(k), std::get<1>(k)};
        uint32_t attempt = 0;
        uint32_t r = reqid_fn(id, std::get<2>(k), attempt);
        // 0 means "no reqid" to the kernel; never hand it out.
        while (r == 0 || used.count(r)) r = reqid_fn(id, std::get<2>(k), ++attempt);
        used.insert(r);
        reqids[k] = r;
    }

    for (const Binding* b : bindings) {
        NodePlan np;
        np.identity = b->identity.value;
        np.role = b->role;
        np.source_file = b->source_file;
        np.home_address = b->home_address.value;
        np.home_agent_address = home_agent_address_for(model, *b);
        NodeBuilder nb(on_ha, *b, np.home_agent_address);
        auto reqid_of = [&](TrafficClass c) {
            return reqids.at(Key{b->identity.value.type, b->identity.value.value, c});
        };
        for (TrafficClass c : classes_of(*b)) nb.add(np.spd, c, reqid_of(c));

        if (b->keying.method == KeyingMethod::ikev2) {
            IkePeer peer;
            const Keying& own = on_ha ? model.home_agent->keying : b->keying;
            if (on_ha) {
                peer.local_identity = model.home_agent->identity ? model.home_agent->identity->value : Identity{};
                peer.remote_identity = b->identity.value;
                peer.local_address = nb.ha();
                peer.remote_address = nb.coa();
            } else {
                peer.local_identity = b->identity.value;
                peer.remote_identity =
                    model.home->home_agent_identity ? model.home->home_agent_identity->value : Identity{};
                peer.local_address = nb.coa();
                peer.remote_address = nb.ha();
            }
            peer.certificate = written(own.certificate);
            peer.private_key = written(own.private_key);
            peer.ca_certificate = written(own.ca_certificate);
            peer.k_flag = b->k_flag;
            for (TrafficClass c : classes_of(*b)) peer.child_sas.push_back(nb.child(c, reqid_of(c)));
            np.ike_peer = std::move(peer);
        } else if (b->keying.static_keys) {
            const StaticKeys& sk = *b->keying.static_keys;
            uint32_t reqid = reqid_of(TrafficClass::signalling);
            StaticSa up{nb.from_mobile(), sk.spi_to_home_agent, np.home_address, np.home_agent_address,
                        sk.encryption,    sk.integrity,         sk.key_file.as_written, reqid};
            StaticSa down{nb.to_mobile(), sk.spi_from_home_agent, np.home_agent_address, np.home_address,
                          sk.encryption,  sk.integrity,           sk.key_file.as_written, reqid};
            // Outbound first, as the SPD lists them.
            if (on_ha) std::swap(up, down);
            np.static_sas = {up, down};
        }
        plan.nodes.push_back(std::move(np));
    }
    return plan;
}

}  // namespace nemokey::conf
