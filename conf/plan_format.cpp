#include "conf/plan_format.hpp"

#include <cstdio>

namespace nemokey::conf {

using nlohmann::ordered_json;

namespace {

ordered_json identity_json(const Identity& id) {
    return ordered_json{{"type", to_string(id.type)}, {"value", id.value}};
}

ordered_json ts_json(const TrafficSelector& ts) {
    ordered_json j{{"prefix", ts.prefix.to_string()}, {"protocol", ts.protocol}};
    if (ts.protocol != ip_proto_any || ts.start_port != 0 || ts.end_port != 0xffff) {
        j["ports"] = std::to_string(ts.start_port) + "-" + std::to_string(ts.end_port);
        // The type the port range stands for (RFC 4301 sec. 4.4.1.1).
        if ((ts.start_port & 0xff) == 0 && ts.end_port == (ts.start_port | 0xff)) j["type"] = ts.start_port >> 8;
    }
    return j;
}

std::string hex32(uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", v);
    return buf;
}

}  // namespace

ordered_json to_json(const Plan& plan) {
    ordered_json nodes = ordered_json::array();
    for (const NodePlan& n : plan.nodes) {
        ordered_json spd = ordered_json::array();
        for (const SpdEntry& e : n.spd) {
            ordered_json s{{"class", to_string(e.traffic_class)},
                           {"message", e.message},
                           {"direction", to_string(e.direction)},
                           {"mode", to_string(e.mode)},
                           {"source", e.selector.source.to_string()},
                           {"destination", e.selector.destination.to_string()},
                           {"protocol", e.selector.protocol}};
            if (e.selector.type) s["type"] = *e.selector.type;
            if (e.tunnel_source) {
                s["tunnel-source"] = to_string(*e.tunnel_source);
                s["tunnel-destination"] = to_string(*e.tunnel_destination);
            }
            if (e.mip6_header != Mip6Header::none) s["mip6-header"] = to_string(e.mip6_header);
            s["priority"] = e.priority;
            s["reqid"] = e.reqid;
            spd.push_back(std::move(s));
        }
        ordered_json node{{"identity", identity_json(n.identity)},
                          {"role", to_string(n.role)},
                          {"file", n.source_file},
                          {"home-address", n.home_address.to_string()},
                          {"home-agent-address", n.home_agent_address.to_string()},
                          {"spd", std::move(spd)}};
        if (n.ike_peer) {
            const IkePeer& p = *n.ike_peer;
            ordered_json children = ordered_json::array();
            for (const ChildSa& c : p.child_sas) {
                ordered_json local = ordered_json::array(), remote = ordered_json::array();
                for (const auto& ts : c.local_ts) local.push_back(ts_json(ts));
                for (const auto& ts : c.remote_ts) remote.push_back(ts_json(ts));
                children.push_back(ordered_json{{"name", c.name},
                                                {"mode", to_string(c.mode)},
                                                {"local-ts", std::move(local)},
                                                {"remote-ts", std::move(remote)},
                                                {"reqid", c.reqid}});
            }
            ordered_json peer{{"local-identity", identity_json(p.local_identity)},
                              {"remote-identity", identity_json(p.remote_identity)},
                              {"local-address", to_string(p.local_address)},
                              {"remote-address", to_string(p.remote_address)}};
            if (p.certificate) peer["certificate"] = *p.certificate;
            if (p.private_key) peer["private-key"] = *p.private_key;
            if (p.ca_certificate) peer["ca-certificate"] = *p.ca_certificate;
            peer["k-flag"] = p.k_flag;
            peer["child-sas"] = std::move(children);
            node["ike-peer"] = std::move(peer);
        }
        if (!n.static_sas.empty()) {
            ordered_json sas = ordered_json::array();
            for (const StaticSa& s : n.static_sas)
                sas.push_back(ordered_json{{"direction", to_string(s.direction)},
                                           {"spi", hex32(s.spi)},
                                           {"source", s.source.to_string()},
                                           {"destination", s.destination.to_string()},
                                           {"encryption", s.encryption},
                                           {"integrity", s.integrity},
                                           {"key-file", s.key_file},
                                           {"reqid", s.reqid}});
            node["static-sas"] = std::move(sas);
        }
        nodes.push_back(std::move(node));
    }
    return ordered_json{{"role", to_string(plan.role)}, {"nodes", std::move(nodes)}};
}

ordered_json to_json(const ConfigErrors& errors) {
    ordered_json list = ordered_json::array();
    for (const ConfigError& e : errors)
        list.push_back(ordered_json{{"file", e.where.file},
                                    {"line", e.where.line},
                                    {"column", e.where.column},
                                    {"message", e.message},
                                    {"text", e.to_string()}});
    return ordered_json{{"errors", std::move(list)}};
}

namespace {

std::string scalar(const ordered_json& v) {
    if (v.is_string()) return v.get<std::string>();
    return v.dump();
}

bool all_scalars(const ordered_json& arr) {
    for (const auto& e : arr)
        if (e.is_structured()) return false;
    return true;
}

void render(const ordered_json& obj, int indent, std::string& out);

void render_value(const std::string& key, const ordered_json& v, int indent, std::string& out) {
    std::string pad(indent, ' ');
    if (v.is_object()) {
        // Small flat objects such as identities stay on one line.
        bool flat = v.size() <= 2 && all_scalars(v);
        if (flat) {
            std::string line;
            for (auto it = v.begin(); it != v.end(); ++it) line += (line.empty() ? "" : " ") + scalar(it.value());
            out += pad + key + ": " + line + "\n";
        } else {
            out += pad + key + ":\n";
            render(v, indent + 2, out);
        }
    } else if (v.is_array()) {
        if (all_scalars(v)) {
            std::string line;
            for (const auto& e : v) line += (line.empty() ? "" : ", ") + scalar(e);
            out += pad + key + ": " + (line.empty() ? "(none)" : line) + "\n";
        } else {
            out += pad + key + ":\n";
            for (const auto& e : v) {
                std::string item;
                render(e, indent + 4, item);
                // "- " takes the place of the first line's indentation.
                item.replace(indent + 2, 2, "- ");
                out += item;
            }
        }
    } else {
        out += pad + key + ": " + scalar(v) + "\n";
    }
}

void render(const ordered_json& obj, int indent, std::string& out) {
    for (auto it = obj.begin(); it != obj.end(); ++it) render_value(it.key(), it.value(), indent, out);
}

}  // namespace

std::string to_text(const ordered_json& document) {
    std::string out;
    if (document.is_object()) render(document, 0, out);
    return out;
}

}  // namespace nemokey::conf
