#include "ikebridge/daemon/bridge.hpp"

#include "certs/authz/files.hpp"
#include "ikebridge/daemon/log.hpp"
#include "ikebridge/shim/charon_shim.h"

namespace nemokey::ikebridge {
namespace {

using mobility::control::Answer;
using mobility::control::ResultCode;

}  // namespace

Bridge::Bridge(boost::asio::io_context& io, const KeyingPlan& plan, adapters::ViciClient& vici,
               std::vector<std::string> crl_files, std::function<void(const nlohmann::json&)> publish)
    : io_(io), plan_(plan), vici_(vici), crl_files_(std::move(crl_files)), publish_(std::move(publish)),
      state_(plan) {}

void Bridge::load(std::function<void(bool, std::string)> done) {
    struct Step {
        std::string command;
        std::vector<ViciItem> items;
        std::string what;
    };
    auto steps = std::make_shared<std::vector<Step>>();
    auto file = [&](const std::string& path, const char* what) -> std::optional<std::string> {
        auto text = certs::read_file(path);
        if (!text) {
            done(false, std::string("cannot read ") + what + " " + path + ": " + text.error().text);
            return std::nullopt;
        }
        return std::move(*text);
    };
    if (plan_.connections.empty()) {
        done(true, {});
        return;
    }
    auto ca = file(plan_.ca_certificate, "CA certificate");
    if (!ca) return;
    auto cert = file(plan_.certificate, "certificate");
    if (!cert) return;
    auto key = file(plan_.private_key, "private key");
    if (!key) return;
    steps->push_back({"load-cert", adapters::load_cert_request("ca", *ca), "CA certificate " + plan_.ca_certificate});
    steps->push_back({"load-cert", adapters::load_cert_request("none", *cert), "certificate " + plan_.certificate});
    steps->push_back({"load-key", adapters::load_key_request(*key), "private key " + plan_.private_key});
    for (const auto& crl : crl_files_) {
        auto text = file(crl, "CRL");
        if (!text) return;
        steps->push_back({"load-cert", adapters::load_crl_request(*text), "CRL " + crl});
    }
    for (const auto& c : plan_.connections)
        steps->push_back({"load-conn", adapters::load_conn_request(load_conn_message(c)), "connection " + c.name});

    auto next = std::make_shared<std::function<void(size_t)>>();
    *next = [this, steps, next, done](size_t i) {
        if (i == steps->size()) {
            *next = nullptr;  // break the cycle
            done(true, {});
            return;
        }
        const Step& s = (*steps)[i];
        vici_.call(s.command, s.items, [this, steps, next, done, i](adapters::ViciReply r) {
            const Step& s = (*steps)[i];
            if (!r.ok) {
                count("vici.failed");
                *next = nullptr;
                done(false, s.command + " " + s.what + ": " + r.error);
                return;
            }
            log_info("IKE_LOADED", s.what);
            (*next)(i + 1);
        });
    };
    (*next)(0);
}

void Bridge::on_bus_event(const BusEvent& e) {
    std::optional<ReadinessChange> change;
    switch (e.kind) {
        case NK_CHARON_IKE_UP:
            count("ike-sa.up");
            log_info("IKE_SA_UP", e.ike_name + "[" + std::to_string(e.ike_unique_id) + "] " + e.local_host +
                                      " - " + e.remote_host + " peer " + e.peer_id);
            change = state_.ike_up(e.ike_name, e.ike_unique_id, e.peer_id, e.local_host, e.remote_host);
            break;
        case NK_CHARON_IKE_REKEY:
            count("ike-sa.rekeyed");
            log_info("IKE_SA_REKEYED", e.ike_name + "[" + std::to_string(e.ike_old_unique_id) + "] -> [" +
                                           std::to_string(e.ike_unique_id) + "]");
            change = state_.ike_rekeyed(e.ike_name, e.ike_old_unique_id, e.ike_unique_id);
            break;
        case NK_CHARON_IKE_DOWN:
            count("ike-sa.down");
            log_info("IKE_SA_DOWN", e.ike_name + "[" + std::to_string(e.ike_unique_id) + "]");
            change = state_.ike_down(e.ike_name, e.ike_unique_id);
            break;
        case NK_CHARON_CHILD_UP:
            count("child-sa.up");
            log_info("IKE_CHILD_SA_UP", e.ike_name + " " + e.child_name + " reqid " + std::to_string(e.child_reqid));
            change = state_.child_up(e.ike_name, e.ike_unique_id, e.child_unique_id, e.child_name);
            break;
        case NK_CHARON_CHILD_DOWN:
            count("child-sa.down");
            log_info("IKE_CHILD_SA_DOWN", e.ike_name + " " + e.child_name);
            change = state_.child_down(e.ike_name, e.ike_unique_id, e.child_unique_id);
            break;
        case NK_CHARON_IKE_ENDPOINT_UPDATE:
            if (!state_.endpoints_moved(e.ike_name, e.ike_unique_id, e.local_host, e.remote_host)) break;
            count("ike-sa.endpoints-moved");
            log_info("IKE_ENDPOINTS_MOVED", e.ike_name + " local " + e.local_host + " remote " + e.remote_host);
            publish_({{"event", "ike-endpoints-moved"},
                      {"connection", e.ike_name},
                      {"local", e.local_host},
                      {"remote", e.remote_host}});
            break;
        case NK_CHARON_MESSAGE:
            state_.message(e.exchange_type, e.incoming, e.request);
            break;
        default: break;
    }
    if (!change) return;
    log_info(change->ready ? "IKE_SAS_READY" : "IKE_SAS_DOWN",
             change->connection + " home address " + change->home_address.to_string());
    publish_({{"event", change->ready ? "sas-ready" : "sas-down"},
              {"connection", change->connection},
              {"home-address", change->home_address.to_string()},
              {"peer-id", change->peer_id}});
}

void Bridge::on_authorization_refused(const std::string& connection, const std::string& why) {
    count("authorization.refused");
    log_error("IKE_AUTHORIZATION_REFUSED", connection + ": " + why);
    publish_({{"event", "authorization-refused"}, {"connection", connection}, {"reason", why}});
}

void Bridge::initiate(const Connection& c, const std::string& coa, bool reestablish) {
    auto up = [this, &c, coa] {
        // The IKE SA leaves from the care-of address (RFC 4877 sec. 4.1):
        // the connection is reloaded with it as its local address.
        vici_.call("load-conn", adapters::load_conn_request(load_conn_message(c, {coa})),
                   [this, &c, coa](adapters::ViciReply r) {
                       if (!r.ok) {
                           count("vici.failed");
                           log_error("IKE_INITIATE_FAILED", c.name + " from " + coa + ": " + r.error);
                           return;
                       }
                       count("ike-sa.initiated");
                       log_info("IKE_INITIATE", c.name + " from " + coa);
                       for (const auto& child : c.children)
                           vici_.call("initiate", adapters::initiate_request(c.name, child.name),
                                      [this, &c, child = child.name](adapters::ViciReply r) {
                                          if (r.ok) return;
                                          count("vici.failed");
                                          log_error("IKE_INITIATE_FAILED", c.name + " " + child + ": " + r.error);
                                      });
                   });
    };
    const auto* s = state_.find(c.name);
    if (reestablish && s && s->ike_unique_id) {
        count("ike-sa.reestablished");
        vici_.call("terminate", adapters::terminate_request(c.name), [up](adapters::ViciReply) { up(); });
    } else {
        up();
    }
}

nlohmann::json Bridge::status() const {
    nlohmann::json conns = nlohmann::json::array();
    for (const auto& [name, s] : state_.connections()) {
        nlohmann::json children = nlohmann::json::array();
        for (const auto& [id, ch] : s.children)
            if (ch.ike_unique_id == s.ike_unique_id) children.push_back({{"name", ch.name}, {"unique-id", id}});
        nlohmann::json j = {{"connection", name},
                            {"home-address", s.connection->home_address.to_string()},
                            {"k-flag", s.connection->k_flag},
                            {"ready", s.ready},
                            {"ike-sa-established", s.ike_sa_established},
                            {"children", children}};
        if (s.ike_unique_id)
            j["ike-sa"] = {{"unique-id", s.ike_unique_id},
                           {"local", s.local_host},
                           {"remote", s.remote_host},
                           {"peer-id", s.peer_id}};
        conns.push_back(j);
    }
    return {{"role", std::string(conf::to_string(plan_.role))},
            // charon follows an XFRM MIGRATE that carries KMADDRESS
            // (kernel-netlink process_migrate -> migrate_job).
            {"can-move-ike-endpoints", true},
            {"connections", conns}};
}

nlohmann::json Bridge::counters() const {
    nlohmann::json c = nlohmann::json::object();
    for (const auto& [k, v] : counters_) c[k] = v;
    for (const auto& [k, v] : state_.exchanges()) c["exchange." + k] = v;
    return c;
}

void Bridge::register_commands(mobility::control::CommandRegistry& registry) {
    registry.add("status-get", "role, IKE SAs and CHILD_SAs per home address", [this](const nlohmann::json&) {
        return Answer{ResultCode::ok, "running", status()};
    });
    registry.add("counters-get", "IKE exchanges by type, SA events, refusals", [this](const nlohmann::json&) {
        return Answer{ResultCode::ok, "counters", counters()};
    });
    auto start = [this](const nlohmann::json& args, bool reestablish) -> Answer {
        if (plan_.role == conf::Role::home_agent)
            return Answer{ResultCode::error, "the home agent does not initiate (RFC 4877 sec. 4.1)", std::nullopt};
        if (!args.is_object() || !args.contains("care-of-address") || !args["care-of-address"].is_string())
            return Answer{ResultCode::error, "'care-of-address' (a string) is required", std::nullopt};
        auto coa = net::Ipv6Address::parse(args["care-of-address"].get<std::string>());
        if (!coa)
            return Answer{ResultCode::error,
                          "'" + args["care-of-address"].get<std::string>() + "' is not an IPv6 address", std::nullopt};
        if (plan_.connections.empty()) return Answer{ResultCode::empty, "no IKEv2 connection configured", std::nullopt};
        initiate(plan_.connections.front(), coa->to_string(), reestablish);
        return Answer{ResultCode::ok, reestablish ? "re-establishing" : "initiating", std::nullopt};
    };
    registry.add("ike-initiate", "mobile side: bring the SAs up from {care-of-address}",
                 [start](const nlohmann::json& a) { return start(a, false); });
    registry.add("ike-reestablish", "mobile side: close the IKE SA and set it up again from {care-of-address}",
                 [start](const nlohmann::json& a) { return start(a, true); });
}

}  // namespace nemokey::ikebridge
