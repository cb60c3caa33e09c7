#include "ikebridge/core/connections.hpp"

#include <map>
#include <sstream>

namespace nemokey::ikebridge {
namespace {

// swanctl / vici identities with their type spelled out, so "mr1" is never
// read as a key id and "a@b" never as an FQDN (RFC 7296 sec. 3.5).
std::string to_swanctl_id(const conf::Identity& id) {
    switch (id.type) {
        case conf::IdentityType::fqdn: return "fqdn:" + id.value;
        case conf::IdentityType::rfc822_addr: return "email:" + id.value;
        case conf::IdentityType::der_asn1_dn: return id.value;
    }
    return id.value;
}

std::string_view swanctl_mode(conf::IpsecMode mode) {
    // RFC 4877 sec. 4.2: transport mode SAs between home address and home
    // agent while IKE runs from the care-of address.
    return mode == conf::IpsecMode::transport ? "transport_proxy" : "tunnel";
}

const conf::Binding* binding_of(const conf::Model& model, const conf::NodePlan& node) {
    for (const conf::Binding* b : model.bindings())
        if (b->identity.value == node.identity) return b;
    return nullptr;
}

ViciItem list(std::string key, std::vector<std::string> l) {
    ViciItem i;
    i.kind = ViciItem::Kind::list;
    i.key = std::move(key);
    i.list = std::move(l);
    return i;
}
ViciItem section(ViciSection s) {
    ViciItem i;
    i.kind = ViciItem::Kind::section;
    i.key = s.name;
    i.section.push_back(std::move(s));
    return i;
}

void render(std::ostringstream& out, const ViciSection& s, int depth) {
    std::string indent(static_cast<size_t>(depth) * 4, ' ');
    out << indent << s.name << " {\n";
    for (const auto& i : s.items) {
        switch (i.kind) {
            case ViciItem::Kind::value: out << indent << "    " << i.key << " = " << i.value << "\n"; break;
            case ViciItem::Kind::list: {
                out << indent << "    " << i.key << " = ";
                for (size_t n = 0; n < i.list.size(); ++n) out << (n ? ", " : "") << i.list[n];
                out << "\n";
                break;
            }
            case ViciItem::Kind::section: render(out, i.section.front(), depth + 1); break;
        }
    }
    out << indent << "}\n";
}

}  // namespace

ViciItem vici_value(std::string key, std::string value) {
    ViciItem i;
    i.kind = ViciItem::Kind::value;
    i.key = std::move(key);
    i.value = std::move(value);
    return i;
}

std::string to_swanctl_ts(const conf::TrafficSelector& ts) {
    std::string s = ts.prefix.to_string();
    if (ts.protocol == conf::ip_proto_any) return s;
    s += "[" + std::to_string(ts.protocol);
    if (ts.start_port != 0 || ts.end_port != 0xffff) {
        s += "/" + std::to_string(ts.start_port);
        if (ts.end_port != ts.start_port) s += "-" + std::to_string(ts.end_port);
    }
    return s + "]";
}

std::variant<KeyingPlan, KeyingPlanError> derive_keying_plan(const conf::Model& model, const conf::Plan& plan) {
    KeyingPlan out;
    out.role = model.role;
    const bool on_ha = model.role == conf::Role::home_agent;
    const conf::Keying* own = on_ha ? (model.home_agent ? &model.home_agent->keying : nullptr)
                                    : (model.self ? &model.self->keying : nullptr);
    for (const auto& node : plan.nodes) {
        if (!node.ike_peer) continue;
        if (!own || !own->certificate || !own->private_key || !own->ca_certificate)
            return KeyingPlanError{"IKEv2 keying for " + node.identity.value +
                                   " needs certificate, private-key and ca-certificate in the " +
                                   (on_ha ? "home agent's" : "node's") + " [keying] section"};
        const conf::Binding* b = binding_of(model, node);
        const conf::IkePeer& peer = *node.ike_peer;
        Connection c;
        c.initiator = !on_ha;
        c.name = on_ha ? node.identity.value : "home-agent";
        if (on_ha) {
            c.local_addrs = {node.home_agent_address.to_string()};
            c.remote_addrs = {"%any"};
        } else {
            c.remote_addrs = {node.home_agent_address.to_string()};
        }
        c.local_id = to_swanctl_id(peer.local_identity);
        c.remote_id = to_swanctl_id(peer.remote_identity);
        c.certificate = own->certificate->resolved.string();
        c.k_flag = peer.k_flag;
        c.home_address = node.home_address;
        c.home_agent_address = node.home_agent_address;
        if (b)
            for (const auto& p : b->mobile_network.prefixes) c.mobile_network_prefixes.push_back(p.value);
        for (const auto& cs : peer.child_sas) {
            ChildConnection child;
            child.name = cs.name;
            child.traffic_class = cs.traffic_class;
            child.mode = std::string(swanctl_mode(cs.mode));
            child.reqid = cs.reqid;
            for (const auto& ts : cs.local_ts) child.local_ts.push_back(to_swanctl_ts(ts));
            for (const auto& ts : cs.remote_ts) child.remote_ts.push_back(to_swanctl_ts(ts));
            c.children.push_back(std::move(child));
        }
        out.connections.push_back(std::move(c));
    }
    if (own && own->certificate) out.certificate = own->certificate->resolved.string();
    if (own && own->private_key) out.private_key = own->private_key->resolved.string();
    if (own && own->ca_certificate) out.ca_certificate = own->ca_certificate->resolved.string();
    return out;
}

ViciSection load_conn_message(const Connection& c, const std::vector<std::string>& local_addrs) {
    ViciSection conn{c.name, {}};
    conn.items.push_back(vici_value("version", "2"));
    const auto& local = local_addrs.empty() ? c.local_addrs : local_addrs;
    if (!local.empty()) conn.items.push_back(list("local_addrs", local));
    conn.items.push_back(list("remote_addrs", c.remote_addrs));
    // The IKE SA moves with MIGRATE/KMADDRESS (RFC 4877 sec. 4.4), not MOBIKE.
    conn.items.push_back(vici_value("mobike", "no"));
    // A node re-establishing from a new care-of address replaces its old
    // IKE SA (RFC 4877 sec. 7.4, K cleared).
    if (!c.initiator) conn.items.push_back(vici_value("unique", "replace"));
    conn.items.push_back(vici_value("send_cert", "always"));
    conn.items.push_back(vici_value("dpd_delay", "30"));

    ViciSection local_auth{"local", {}};
    local_auth.items.push_back(vici_value("auth", "pubkey"));
    local_auth.items.push_back(vici_value("id", c.local_id));
    // No certs key: charon picks the certificate matching `id` from those
    // loaded with load-cert (own, CA) and the key by its public key.
    conn.items.push_back(section(std::move(local_auth)));

    ViciSection remote_auth{"remote", {}};
    remote_auth.items.push_back(vici_value("auth", "pubkey"));
    remote_auth.items.push_back(vici_value("id", c.remote_id));
    // The peer's certificate must be current (revocation plugin with the
    // CRLs loaded); a certificate without status is not accepted.
    remote_auth.items.push_back(vici_value("revocation", "ifuri"));
    conn.items.push_back(section(std::move(remote_auth)));

    ViciSection children{"children", {}};
    for (const auto& ch : c.children) {
        ViciSection child{ch.name, {}};
        child.items.push_back(vici_value("mode", ch.mode));
        child.items.push_back(vici_value("policies", "no"));
        child.items.push_back(vici_value("reqid", std::to_string(ch.reqid)));
        child.items.push_back(list("local_ts", ch.local_ts));
        child.items.push_back(list("remote_ts", ch.remote_ts));
        child.items.push_back(vici_value("start_action", "none"));
        child.items.push_back(vici_value("close_action", "none"));
        child.items.push_back(vici_value("dpd_action", "clear"));
        children.items.push_back(section(std::move(child)));
    }
    conn.items.push_back(section(std::move(children)));
    return conn;
}

std::string to_swanctl_conf(const KeyingPlan& plan) {
    std::ostringstream out;
    out << "# Derived by ikebridged from the mobility configuration; loaded over vici.\n";
    out << "# certificate " << plan.certificate << "\n# private key " << plan.private_key << "\n# CA "
        << plan.ca_certificate << "\n";
    ViciSection connections{"connections", {}};
    for (const auto& c : plan.connections) {
        auto s = load_conn_message(c, c.initiator ? std::vector<std::string>{"%care-of-address"}
                                                  : std::vector<std::string>{});
        connections.items.push_back(section(std::move(s)));
    }
    render(out, connections, 0);
    return out.str();
}

}  // namespace nemokey::ikebridge
