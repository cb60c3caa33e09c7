#include "mobility/daemon/home_agent.hpp"

#include <cstdio>

#include <chrono>
#include <filesystem>
#include <fstream>

#include <boost/asio/post.hpp>

#include "conf/parser.hpp"
#include "conf/reload.hpp"
#include "mobility/adapters/file/atomic_file.hpp"
#include "mobility/adapters/file/static_keys.hpp"
#include "mobility/core/binding/snapshot.hpp"
#include "mobility/core/mh/codec.hpp"
#include "mobility/daemon/log.hpp"
#include "mobility/daemon/report_names.hpp"

namespace nemokey::mobility::daemon {

namespace {

std::filesystem::path proxy_ndp_file(const std::string& interface) {
    return std::filesystem::path("/proc/sys/net/ipv6/conf") / interface / "proxy_ndp";
}

int64_t wall_clock_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

config::HomeAgentCoreConfig core_of(const conf::Model& model) {
    auto core = config::home_agent_core_config(model);
    return core ? *core : config::HomeAgentCoreConfig{};
}

}  // namespace

HomeAgent::HomeAgent(Runtime& runtime, conf::Model model)
    : rt_(runtime),
      model_(std::move(model)),
      core_(core_of(model_)),
      authorizer_(core_.nodes),
      cache_(core_.binding_cache, authorizer_),
      timers_(runtime.io, [this](const binding::TimerKey& k) {
          run(cache_.handle(binding::TimerExpired{k}, monotonic_now()));
          snapshot_soon();
      }),
      started_at_(monotonic_now()),
      unprotected_warning_(runtime.io) {
    rt_.commands.add("binding-list", "the binding cache", [this](const nlohmann::json&) {
        auto rows = bindings();
        return control::Answer{rows.empty() ? control::ResultCode::empty : control::ResultCode::ok,
                               std::to_string(rows.size()) + " bindings",
                               nlohmann::json{{"role", "home-agent"}, {"bindings", rows}}};
    });
    rt_.commands.add("config-reload", "re-read the configuration; bindings of unchanged nodes stay",
                     [this](const nlohmann::json&) { return reload(); });
}

HomeAgent::~HomeAgent() = default;

bool HomeAgent::load_data_plane(std::string& error) {
    dataplane::HomeAgentDataPlane plane;
    if (!model_.interfaces.empty()) plane.home_link_interface = model_.interfaces.front().name;
    if (model_.home_agent)
        for (const auto& a : model_.home_agent->addresses) plane.home_agent_addresses.push_back(a.value);
    const conf::Plan plan = conf::derive_plan(model_);
    for (const auto& node : plan.nodes) {
        plane.spd[node.home_address] = node.spd;
        if (node.static_sas.empty() || rt_.benchmark_unprotected_bus) continue;
        const conf::Binding* b = nullptr;
        for (const auto* candidate : model_.bindings())
            if (candidate->home_address.value == node.home_address) b = candidate;
        if (!b || !b->keying.static_keys) {
            error = "node " + node.source_file + ": static keys without a key file";
            return false;
        }
        auto sas = adapters::read_static_sas(b->keying.static_keys->key_file.resolved, node.static_sas, node.home_address);
        if (!sas.ok()) {
            error = sas.error().message;
            return false;
        }
        plane.static_sas[node.home_address] = std::move(*sas);
    }
    // RFC 6275 sec. 10.4.5 needs tc (clsact, flower with tunnel keys, gact).
    plane.unprotected_signalling = rt_.benchmark_unprotected_bus;
    plane.reverse_tunnel_check = (rt_.kernel.features() & kernel::feature_tunnel_filter) != 0;
    if (!plane.reverse_tunnel_check)
        log_error("MOB_REVERSE_TUNNEL_CHECK_UNAVAILABLE",
                  "the kernel lacks clsact/flower/gact: packets reverse-tunnelled from any source are forwarded");
    plane_ = std::move(plane);
    return true;
}

// Load benchmarks only: said at start and every unprotected_warning_every.
void HomeAgent::warn_unprotected() {
    log_error("MOB_BENCHMARK_UNPROTECTED",
              "BENCHMARK MODE: Binding Updates are accepted WITHOUT ESP (--benchmark-unprotected-bus); never run "
              "a home agent like this outside a load benchmark (RFC 6275 sec. 5.1)");
    unprotected_warning_.expires_after(unprotected_warning_every);
    unprotected_warning_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec && !stopping_) warn_unprotected();
    });
}

void HomeAgent::start(std::function<void(bool)> done) {
    std::string error;
    if (rt_.benchmark_unprotected_bus) warn_unprotected();
    if (!load_data_plane(error)) {
        log_error("MOB_KEYS_INVALID", error);
        done(false);
        return;
    }
    // RFC 6275 sec. 10.4.1: the home agent answers Neighbor Solicitations
    // for registered home addresses; the kernel does so for proxy entries
    // only where proxy_ndp is on (restored at stop).
    if (!plane_.home_link_interface.empty()) {
        const auto file = proxy_ndp_file(plane_.home_link_interface);
        try {
            proxy_ndp_before_ = adapters::read_file(file);
            std::ofstream(file) << "1\n";
        } catch (const adapters::FileError& e) {
            log_error("MOB_HOME_LINK_MISSING", plane_.home_link_interface + ": " + e.what());
            done(false);
            return;
        }
    }
    if (core_.binding_cache.duplicate_address_detection) {
        dad_ = adapters::DadProbe::open(rt_.io, plane_.home_link_interface, std::chrono::milliseconds(1000), error);
        if (!dad_) {
            log_error("MOB_DAD_UNAVAILABLE", error + "; first registrations are accepted without DAD");
            core_.binding_cache.duplicate_address_detection = false;
            cache_.reconfigure(core_.binding_cache);
        }
    }
    // A step reconciles only the home addresses it changes (one entry's
    // part), so its cost does not grow with the binding cache.
    executor_ = std::make_unique<dataplane::KernelExecutor>(
        rt_.kernel, [this] { return dataplane::desired_state(cache_, plane_); }, false,
        dataplane::home_agent_parts(cache_, plane_));
    const auto snapshot_file = rt_.state_dir / "binding-cache.json";
    binding::Actions restored;
    if (adapters::file_exists(snapshot_file)) {
        std::string text;
        try {
            text = adapters::read_file(snapshot_file);
        } catch (const adapters::FileError& e) {
            log_error("MOB_SNAPSHOT_UNREADABLE", snapshot_file.string() + ": " + e.what());
        }
        auto snap = binding::decode_binding_cache_snapshot(text);
        if (!snap.ok()) {
            log_error("MOB_SNAPSHOT_INVALID", snapshot_file.string() + ": " + snap.error().to_string() +
                                                   " (starting with an empty binding cache)");
            rt_.count("snapshot.invalid");
        } else {
            auto r = binding::restore(cache_, *snap, binding::RestoreClock{monotonic_now(), wall_clock_ms()});
            if (r.ok()) {
                restored = std::move(*r);
                log_info("MOB_SNAPSHOT_RESTORED", std::to_string(cache_.binding_count()) + " bindings of " +
                                                      std::to_string(cache_.size()) + " home addresses from " +
                                                      snapshot_file.string());
            } else {
                log_error("MOB_SNAPSHOT_INVALID", r.error().to_string());
            }
        }
    }
    writer_ = std::make_unique<adapters::BackgroundFileWriter>(snapshot_file);
    executor_->start([this, restored = std::move(restored), done = std::move(done)](bool ok, size_t operations) mutable {
        if (!ok) {
            log_error("MOB_KERNEL_RECONCILE_FAILED", "the kernel refused the home agent's state at start");
            done(false);
            return;
        }
        log_info("MOB_KERNEL_RECONCILED", std::to_string(operations) + " kernel operations at start");
        rt_.socket.start([this](const adapters::ReceivedMobilityHeader& m) { on_message(m); });
        run(std::move(restored));
        done(true);
    });
}

void HomeAgent::stop(std::function<void()> done) {
    stopping_ = true;
    unprotected_warning_.cancel();
    timers_.cancel_all();
    // The snapshot stays: a restart restores the bindings (their lifetimes
    // keep running on the wall clock meanwhile).
    if (writer_) writer_->flush();
    if (!executor_) {
        if (proxy_ndp_before_) std::ofstream(proxy_ndp_file(plane_.home_link_interface)) << *proxy_ndp_before_;
        done();
        return;
    }
    executor_->shutdown([this, done = std::move(done)](bool ok) {
        if (!ok) log_error("MOB_KERNEL_CLEANUP_FAILED", "some kernel state could not be removed");
        if (proxy_ndp_before_) std::ofstream(proxy_ndp_file(plane_.home_link_interface)) << *proxy_ndp_before_;
        done();
    });
}

void HomeAgent::on_message(const adapters::ReceivedMobilityHeader& m) {
    if (stopping_) return;
    auto decoded = mh::decode(m.message);
    if (!decoded.ok()) {
        rt_.count("drop.mh-malformed");
        rt_.count(malformed_counter(decoded.error()));
        log_warning("MOB_MH_MALFORMED", "from " + m.source.to_string() + ": " + decoded.error().message());
        if (auto be = binding_error_reply(decoded.error(), m)) send(*be);
        return;
    }
    const auto* bu = std::get_if<mh::BindingUpdate>(&decoded->message);
    if (!bu) {
        rt_.count("drop.mh-unexpected-type");
        log(LogLevel::debug, "MOB_MESSAGE_DROPPED",
            "MH type " + std::to_string(static_cast<int>(decoded->header.mh_type)) + " from " + m.source.to_string());
        return;
    }
    rt_.count("received.binding-update");
    bu_received_ = std::chrono::steady_clock::now();
    binding::ReceivedBindingUpdate r;
    r.destination = m.destination;
    if (m.home_address_option) {
        // After the kernel's swap the socket sees the home address as
        // source and the care-of address in the option (RFC 6275 sec. 9.3.1).
        r.source = *m.home_address_option;
        r.home_address_option = m.source;
    } else {
        r.source = m.source;
    }
    const net::Ipv6Address hoa = r.home_address_option.value_or(r.source);
    // The kernel's IPsec policy for a configured node's home address
    // requires ESP with that node's SA (conf/plan.hpp, signalling class):
    // a BU for it reached us only if protected. For other addresses there
    // is no such policy, so nothing says it was protected.
    if (const auto* node = authorizer_.find_home_address(hoa)) {
        r.ipsec_protected = true;
        r.identity = node->identity.value;
        if (node->dynamic_keying) {
            // The BU came through the SA of the CHILD_SA with this node's
            // reqid; ikebridged says which IKE identity proved itself for it.
            auto it = ike_identities_.find(hoa);
            if (it == ike_identities_.end()) {
                rt_.count("drop.bu-no-ike-identity");
                log(LogLevel::debug, "MOB_MESSAGE_DROPPED",
                    "BU for " + hoa.to_string() + ": ikebridged has not reported its IKE identity");
                return;
            }
            r.identity = it->second;
        }
    }
    r.message = *bu;
    run(cache_.handle(r, monotonic_now()));
    // A refresh that changes no kernel state (same care-of address) is
    // answered at once, without a commit: its new lifetime must reach the
    // snapshot too, or a restart would restore the old expiry and drop a
    // binding that is alive (seen with 20 s lifetimes in
    // kernel.mobilityd-lifecycle). One snapshot per socket drain.
    snapshot_soon();
}

void HomeAgent::on_keying_status(const nlohmann::json& status) {
    ike_identities_.clear();
    for (const auto& c : status.value("connections", nlohmann::json::array())) {
        auto hoa = net::Ipv6Address::parse(c.value("home-address", ""));
        if (!hoa || !c.value("ready", false) || !c.contains("ike-sa")) continue;
        ike_identities_[*hoa] = identity_value(c["ike-sa"].value("peer-id", ""));
    }
    log_info("MOB_KEYING_STATUS", std::to_string(ike_identities_.size()) + " home address(es) keyed");
}

void HomeAgent::on_keying_event(const nlohmann::json& event) {
    auto hoa = net::Ipv6Address::parse(event.value("home-address", ""));
    const std::string kind = event.value("event", "");
    if (kind == "authorization-refused") {
        rt_.count("keying.authorization-refused");
        log_warning("MOB_KEYING_REFUSED", event.value("connection", "") + ": " + event.value("reason", ""));
        return;
    }
    if (!hoa) return;
    if (kind == "sas-ready") {
        ike_identities_[*hoa] = identity_value(event.value("peer-id", ""));
        log_info("MOB_SAS_READY", hoa->to_string() + " held by " + ike_identities_[*hoa]);
    } else if (kind == "sas-down") {
        ike_identities_.erase(*hoa);
        rt_.count("keying.sas-down");
        log_info("MOB_SAS_DOWN", hoa->to_string());
    }
}

void HomeAgent::on_keying_lost() { ike_identities_.clear(); }

void HomeAgent::run(binding::Actions actions) {
    bool kernel_work = false;
    for (const auto& a : actions) {
        if (const auto* s = std::get_if<binding::SendBindingAcknowledgement>(&a)) {
            send(*s);
        } else if (const auto* brr = std::get_if<binding::SendBindingRefreshRequest>(&a)) {
            send(*brr);
        } else if (const auto* t = std::get_if<binding::ArmTimer>(&a)) {
            timers_.arm(t->key, t->at);
        } else if (const auto* c = std::get_if<binding::CancelTimer>(&a)) {
            timers_.cancel(c->key);
        } else if (std::holds_alternative<binding::CommitKernelState>(a) ||
                   std::holds_alternative<binding::Migrate>(a)) {
            kernel_work = true;
        } else if (const auto* r = std::get_if<binding::Report>(&a)) {
            report(*r);
        } else if (const auto* d = std::get_if<binding::DropMessage>(&a)) {
            rt_.count("drop." + std::string(d->reason));
            log(LogLevel::debug, "MOB_MESSAGE_DROPPED", std::string(d->reason));
        } else if (const auto* i = std::get_if<binding::InstallBinding>(&a)) {
            log_info("MOB_BINDING_INSTALL", i->home_address.to_string() + " via " + i->care_of_address.to_string());
        } else if (const auto* u = std::get_if<binding::UpdateBinding>(&a)) {
            log_info("MOB_BINDING_MOVE", u->home_address.to_string() + " " + u->old_care_of_address.to_string() +
                                             " -> " + u->care_of_address.to_string());
            moves_[u->home_address] = Move{u->old_care_of_address.to_string(), u->care_of_address.to_string(),
                                           bu_received_, std::nullopt, std::nullopt};
        } else if (const auto* x = std::get_if<binding::RemoveBinding>(&a)) {
            log_info("MOB_BINDING_REMOVE", x->home_address.to_string() + " via " + x->care_of_address.to_string());
        } else if (const auto* dad = std::get_if<binding::PerformDuplicateAddressDetection>(&a)) {
            detect_duplicate(*dad);
        }
    }
    if (!kernel_work) return;
    // The moves this step's batch carries: only its completion times them
    // (a batch already in flight completes first, for other moves).
    std::vector<net::Ipv6Address> timed;
    for (auto& [hoa, m] : moves_)
        if (!m.submitted) {
            m.submitted = std::chrono::steady_clock::now();
            timed.push_back(hoa);
        }
    executor_->execute(actions, [this, timed](uint64_t operation, bool ok) {
        if (!ok) {
            rt_.count("kernel.commit-failed");
            log_warning("MOB_KERNEL_FAILED", "the kernel refused: " + executor_->stats().last_failure);
        }
        for (const auto& hoa : timed)
            if (auto m = moves_.find(hoa); m != moves_.end() && !m->second.committed)
                m->second.committed = std::chrono::steady_clock::now();
        run(cache_.handle(binding::KernelOutcome{operation, ok}, monotonic_now()));
        snapshot_soon();
    });
}

// RFC 6275 sec. 10.3.1: the home address (and, with the L flag, the
// link-local address of the same interface identifier) must be unique on
// the home link before a first registration is accepted.
void HomeAgent::detect_duplicate(const binding::PerformDuplicateAddressDetection& d) {
    rt_.count("dad.started");
    auto pending = std::make_shared<int>(d.link_local_address ? 2 : 1);
    auto duplicate = std::make_shared<bool>(false);
    const net::Ipv6Address hoa = d.home_address;
    auto answer = [this, pending, duplicate, hoa](const net::Ipv6Address& target, bool dup) {
        if (dup) log_warning("MOB_DAD_DUPLICATE_FOUND", target.to_string() + " is in use on the home link");
        *duplicate = *duplicate || dup;
        if (--*pending > 0 || stopping_) return;
        rt_.count(*duplicate ? "dad.duplicate" : "dad.unique");
        run(cache_.handle(binding::DuplicateAddressDetectionResult{hoa, *duplicate}, monotonic_now()));
    };
    dad_->probe(d.home_address, answer);
    if (d.link_local_address) dad_->probe(*d.link_local_address, answer);
}

void HomeAgent::send(const binding::SendBindingAcknowledgement& s) {
    auto bytes = mh::encode(s.message);
    if (!bytes.ok()) {
        log_error("MOB_BA_UNENCODABLE", bytes.error().message());
        return;
    }
    // With a binding in place the kernel's route2 state adds the type 2
    // routing header (RFC 6275 sec. 6.4) when we send to the home address;
    // without one (a refused first registration) the BA goes straight to
    // the care-of address.
    net::Ipv6Address to = s.destination;
    if (s.type2_routing_header && cache_.find(*s.type2_routing_header)) to = *s.type2_routing_header;
    std::string error;
    if (!rt_.socket.send(s.source, to, *bytes, &error)) {
        rt_.count("send.binding-acknowledgement-failed");
        log_warning("MOB_BA_SEND_FAILED", "to " + to.to_string() + ": " + error);
        return;
    }
    rt_.count("sent.binding-acknowledgement");
    log(LogLevel::debug, "MOB_BA_SENT",
        "to " + to.to_string() + " status " + std::to_string(static_cast<int>(s.message.status)));
    if (s.type2_routing_header)
        if (auto m = moves_.find(*s.type2_routing_header); m != moves_.end()) {
            // The kernel switched the binding's route before this BA: the
            // times from the BU's arrival are the home agent's share of the
            // handover's disruption (the route goes first in the batch,
            // executor.cpp).
            auto since_bu = [&](std::optional<std::chrono::steady_clock::time_point> t) {
                if (!t) return std::string("-");
                const auto us =
                    std::chrono::duration_cast<std::chrono::microseconds>(*t - m->second.bu_received).count();
                char ms[32];
                std::snprintf(ms, sizeof ms, "%.1f", static_cast<double>(us) / 1000.0);
                return std::string(ms);
            };
            log_info("MOB_HA_HANDOVER", m->first.to_string() + " " + m->second.from + " -> " + m->second.to +
                                            " kernel-submitted-ms " + since_bu(m->second.submitted) +
                                            " kernel-done-ms " + since_bu(m->second.committed) + " ba-sent-ms " +
                                            since_bu(std::chrono::steady_clock::now()) + " status " +
                                            std::to_string(static_cast<int>(s.message.status)));
            moves_.erase(m);
        }
}

// RFC 6275 sec. 9.5.5: "always sent to the home address"; the binding's
// route2 state adds the type 2 routing header with the care-of address
// (sec. 6.4) and the signalling entry of the security plan protects it with
// the BA's SA (conf/plan.cpp). The core bounds and spaces retransmissions.
void HomeAgent::send(const binding::SendBindingRefreshRequest& s) {
    auto bytes = mh::encode(s.message);
    if (!bytes.ok()) {
        log_error("MOB_BRR_UNENCODABLE", bytes.error().message());
        return;
    }
    std::string error;
    if (!rt_.socket.send(s.source, s.destination, *bytes, &error)) {
        rt_.count("send.binding-refresh-request-failed");
        log_warning("MOB_BRR_SEND_FAILED", "to " + s.destination.to_string() + ": " + error);
        return;
    }
    rt_.count("sent.binding-refresh-request");
    if (s.attempt > 1) rt_.count("sent.binding-refresh-request-retransmission");
    log_info("MOB_BRR_SENT", "to " + s.destination.to_string() + " via " + s.care_of_address.to_string() +
                                 " binding-id " + std::to_string(s.binding_id) + " attempt " +
                                 std::to_string(s.attempt));
}

// RFC 6275 sec. 9.3.3: Binding Errors are rate-limited (at most 10 a second).
void HomeAgent::send(const BindingErrorReply& be) {
    if (!binding_error_limit_.allow(RateLimit::Clock::now())) {
        rt_.count("send.binding-error-rate-limited");
        return;
    }
    auto bytes = mh::encode(be.message);
    std::string error;
    if (!bytes.ok() || !rt_.socket.send(be.source, be.destination, *bytes, &error)) {
        rt_.count("send.binding-error-failed");
        log_warning("MOB_BE_SEND_FAILED", "to " + be.destination.to_string() + ": " + error);
        return;
    }
    rt_.count("sent.binding-error");
    log(LogLevel::debug, "MOB_BE_SENT",
        "to " + be.destination.to_string() + " status " + std::to_string(static_cast<int>(be.message.status)));
}

void HomeAgent::report(const binding::Report& r) {
    rt_.count("report." + std::string(to_string(r.kind)));
    std::string text = r.home_address.to_string();
    if (r.status) text += " status " + std::to_string(static_cast<int>(*r.status));
    if (const auto* e = cache_.find(r.home_address); e && !e->bindings.empty())
        text += " care-of " + e->bindings.front().care_of_address.to_string();
    log_info(report_log_id(r.kind), text);
    rt_.publish(nlohmann::json{{"kind", to_string(r.kind)}, {"home-address", r.home_address.to_string()},
                               {"binding-id", r.binding_id}});
}

// One snapshot for everything handled in one go (the outcomes of a batch,
// timers that fired together): encoded once they are all handled.
void HomeAgent::snapshot_soon() {
    if (snapshot_pending_) return;
    snapshot_pending_ = true;
    boost::asio::post(rt_.io, [this] {
        snapshot_pending_ = false;
        snapshot();
    });
}

void HomeAgent::snapshot() {
    if (!writer_ || stopping_) return;
    // The copy is taken here (3 ms at 10 000 bindings, natively); the
    // encoding (52 ms) runs on the writer's thread, off the event loop.
    writer_->write_encoded(
        [snapshot = binding::take_snapshot(cache_, binding::SnapshotTime{monotonic_now(), wall_clock_ms()})] {
            return binding::encode(snapshot);
        });
}

nlohmann::json HomeAgent::status() const {
    nlohmann::json s{{"role", "home-agent"},
                     {"bindings", cache_.binding_count()},
                     {"home-addresses", cache_.size()},
                     {"kernel-objects", executor_ ? executor_->installed().size() : 0}};
    if (rt_.benchmark_unprotected_bus) s["benchmark-unprotected-binding-updates"] = true;
    return s;
}

nlohmann::json HomeAgent::bindings() const {
    nlohmann::json rows = nlohmann::json::array();
    const auto now = monotonic_now();
    std::vector<net::Ipv6Address> order;
    for (const auto& [hoa, e] : cache_.entries()) order.push_back(hoa);
    std::sort(order.begin(), order.end());
    for (const auto& hoa : order) {
        const auto& e = *cache_.find(hoa);
        for (const auto& b : e.bindings) {
            std::string flags = std::string(e.mobile_router ? "R" : "") + (e.key_management_mobility ? "K" : "") +
                                (e.multiple_care_of_addresses ? "M" : "");
            nlohmann::json prefixes = nlohmann::json::array();
            for (const auto& p : e.mobile_network_prefixes) prefixes.push_back(p.to_string());
            rows.push_back({{"home-address", hoa.to_string()},
                            {"care-of-address", b.care_of_address.to_string()},
                            {"binding-id", b.binding_id},
                            {"lifetime-remaining",
                             std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::seconds>(b.expires_at - now).count())},
                            {"flags", flags},
                            {"prefixes", prefixes},
                            {"sequence", b.last_sequence}});
        }
    }
    return rows;
}

control::Answer HomeAgent::reload() {
    auto parsed = conf::parse_file(rt_.config_file);
    if (!parsed.ok()) {
        std::string text = "configuration not reloaded:";
        for (const auto& e : parsed.error()) text += " " + e.to_string();
        return {control::ResultCode::error, text, std::nullopt};
    }
    const conf::Model& next = *parsed;
    auto plan = config::plan_reconfiguration(model_, next, conf::diff(model_, next), cache_);
    if (!plan) return {control::ResultCode::error, "the new configuration is not a home agent's", std::nullopt};
    conf::Model previous = std::move(model_);
    model_ = next;
    std::string error;
    if (!load_data_plane(error)) {
        model_ = std::move(previous);
        return {control::ResultCode::error, "configuration not reloaded: " + error, std::nullopt};
    }
    if (!dad_) plan->config.binding_cache.duplicate_address_detection = false;
    auto actions = config::apply(*plan, cache_, authorizer_);
    for (const auto& removal : plan->removals)
        log_info("MOB_RELOAD_BINDING_REMOVED",
                 removal.home_address.to_string() + " (" + std::string(config::to_string(removal.reason)) + ")");
    const size_t removed = plan->removals.size();
    // Even with no binding removed the desired state changed (new nodes'
    // keys and policies): one commit reconciles it.
    actions.push_back(binding::CommitKernelState{0, {}});
    run(std::move(actions));
    snapshot();
    return {control::ResultCode::ok,
            "reloaded: " + std::to_string(plan->added.size()) + " nodes added, " +
                std::to_string(plan->removed.size()) + " removed, " + std::to_string(plan->changed.size()) +
                " changed, " + std::to_string(removed) + " bindings removed",
            std::nullopt};
}

}  // namespace nemokey::mobility::daemon
