#include "mobility/daemon/mobile_node.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>

#include "conf/plan.hpp"
#include "mobility/adapters/file/atomic_file.hpp"
#include "mobility/adapters/file/static_keys.hpp"
#include "mobility/core/config/core_config.hpp"
#include "mobility/core/mh/codec.hpp"
#include "mobility/daemon/log.hpp"
#include "mobility/daemon/report_names.hpp"

namespace nemokey::mobility::daemon {

namespace {

binding::BindingUpdateListConfig list_config(const conf::Model& model) {
    auto lists = config::mobile_node_core_config(model);
    // The first home agent; falling back to the next one is not done yet
    // (drafts-notes/mobilityd.md).
    return lists.empty() ? binding::BindingUpdateListConfig{} : lists.front();
}

long long ms_between(binding::TimePoint a, binding::TimePoint b) { return (b - a).count(); }

}  // namespace

MobileNode::MobileNode(Runtime& runtime, conf::Model model)
    : rt_(runtime),
      model_(std::move(model)),
      list_(list_config(model_)),
      detector_(movement::make_movement_detector(
          config::movement_detector_core_config(model_).value_or(movement::MovementDetectorConfig{}))),
      timers_(runtime.io, [this](const binding::TimerKey& k) { run(list_.handle(binding::TimerExpired{k}, monotonic_now())); }),
      movement_timer_(runtime.io),
      first_packet_timer_(runtime.io) {
    rt_.commands.add("binding-list", "the binding update list", [this](const nlohmann::json&) {
        auto rows = bindings();
        return control::Answer{rows.empty() ? control::ResultCode::empty : control::ResultCode::ok,
                               std::to_string(rows.size()) + " bindings",
                               nlohmann::json{{"role", std::string(conf::to_string(model_.role))}, {"bindings", rows}}};
    });
    rt_.commands.add("movement-trigger", "a link-layer hint: {interface, event: link-going-down|link-up}",
                     [this](const nlohmann::json& a) {
                         movement::LinkLayerTrigger t;
                         if (!a.contains("interface") || !a["interface"].is_string())
                             return control::Answer{control::ResultCode::error, "'interface' missing", std::nullopt};
                         t.interface = a["interface"].get<std::string>();
                         const std::string event = a.value("event", "");
                         if (event == "link-going-down")
                             t.event = movement::LinkLayerEvent::link_going_down;
                         else if (event == "link-up")
                             t.event = movement::LinkLayerEvent::link_up;
                         else
                             return control::Answer{control::ResultCode::error,
                                                    "'event' must be 'link-going-down' or 'link-up'", std::nullopt};
                         rt_.count("trigger." + event);
                         on_movement(t);
                         return control::Answer{control::ResultCode::ok, "trigger " + event + " on " + t.interface,
                                                std::nullopt};
                     });
}

MobileNode::~MobileNode() { rt_.kernel.set_listener(nullptr); }

void MobileNode::start(std::function<void(bool)> done) {
    const conf::Plan plan = conf::derive_plan(model_);
    if (plan.nodes.empty() || !model_.self) {
        log_error("MOB_CONFIG_INVALID", "no node in the configuration");
        done(false);
        return;
    }
    const auto& node = plan.nodes.front();
    plane_.spd = node.spd;
    for (const auto& p : model_.self->mobile_network.prefixes) plane_.mobile_network_prefixes.push_back(p.value);
    if (!node.static_sas.empty()) {
        if (!model_.self->keying.static_keys) {
            log_error("MOB_KEYS_INVALID", "static keys without a key file");
            done(false);
            return;
        }
        auto sas = adapters::read_static_sas(model_.self->keying.static_keys->key_file.resolved, node.static_sas,
                                          node.home_address);
        if (!sas.ok()) {
            log_error("MOB_KEYS_INVALID", sas.error().message);
            done(false);
            return;
        }
        plane_.static_sas = std::move(*sas);
    }
    // A link that lost its carrier is left by movement detection (RFC 6275
    // sec. 11.5.1); the kernel must stop using its routes too, or a BU from
    // the new care-of address leaves by the dead link's default route.
    for (const auto& i : model_.interfaces) {
        const auto file = std::filesystem::path("/proc/sys/net/ipv6/conf") / i.name / "ignore_routes_with_linkdown";
        try {
            linkdown_before_[i.name] = adapters::read_file(file);
            std::ofstream(file) << "1\n";
        } catch (const adapters::FileError& e) {
            log_warning("MOB_ACCESS_INTERFACE_MISSING", i.name + ": " + e.what());
        }
    }
    executor_ = std::make_unique<dataplane::KernelExecutor>(
        rt_.kernel, [this] { return dataplane::desired_state(list_, plane_); }, true);
    executor_->start([this, done = std::move(done)](bool ok, size_t operations) mutable {
        if (!ok) {
            log_error("MOB_KERNEL_RECONCILE_FAILED", "the kernel refused the mobile node's state at start");
            done(false);
            return;
        }
        log_info("MOB_KERNEL_RECONCILED", std::to_string(operations) + " kernel operations at start");
        rt_.socket.start([this](const adapters::ReceivedMobilityHeader& m) { on_message(m); });
        rt_.kernel.set_listener(this);
        // Movement detection starts from the links and addresses there are.
        rt_.kernel.replay_net_state([this, done = std::move(done)](bool replayed) {
            if (!replayed) log_warning("MOB_NET_STATE_UNREAD", "links and addresses could not be read at start");
            started_ = true;
            done(true);
        });
    });
}

void MobileNode::stop(std::function<void()> done) {
    stopping_ = true;
    if (handover_) finish_handover();
    rt_.kernel.set_listener(nullptr);
    movement_timer_.cancel();
    timers_.cancel_all();
    // RFC 6275 leaves the home agent's binding to run out with its
    // lifetime; the local state goes now.
    auto restore = [this] {
        for (const auto& [name, value] : linkdown_before_)
            std::ofstream(std::filesystem::path("/proc/sys/net/ipv6/conf") / name / "ignore_routes_with_linkdown") << value;
    };
    if (!executor_) {
        restore();
        done();
        return;
    }
    executor_->shutdown([restore, done = std::move(done)](bool ok) {
        if (!ok) log_error("MOB_KERNEL_CLEANUP_FAILED", "some kernel state could not be removed");
        restore();
        done();
    });
}

void MobileNode::on_kernel_event(const kernel::KernelEvent& event) {
    if (stopping_) return;
    if (auto input = movement::movement_input(event)) on_movement(*input);
}

void MobileNode::on_movement(const movement::MovementInput& input) {
    const auto now = monotonic_now();
    auto outputs = detector_->handle(input, now);
    for (auto& o : outputs) {
        if (const auto* d = std::get_if<movement::MovementDecision>(&o)) {
            log_info("MOB_MOVEMENT", std::string(movement::to_string(d->kind)) + " (" + movement::to_string(d->reason) +
                                         ") " + (d->previous_care_of_address ? d->previous_care_of_address->to_string() : "-") +
                                         " -> " + (d->care_of_address ? d->care_of_address->to_string() : "-") + " on " +
                                         (d->interface.empty() ? "-" : d->interface));
            if (d->care_of_address && d->kind != movement::DecisionKind::lost_without_alternative)
                start_handover(*d);
            rt_.publish(nlohmann::json{{"kind", "movement"},
                                       {"decision", movement::to_string(d->kind)},
                                       {"reason", movement::to_string(d->reason)},
                                       {"interface", d->interface},
                                       {"care-of-address", d->care_of_address ? d->care_of_address->to_string() : ""}});
        } else if (const auto* t = std::get_if<movement::ArmMovementTimer>(&o)) {
            movement_timer_.expires_at(t->at);
            movement_timer_.async_wait([this](const boost::system::error_code& ec) {
                if (!ec && !stopping_) on_movement(movement::MovementTimerExpired{});
            });
        } else if (std::holds_alternative<movement::CancelMovementTimer>(o)) {
            movement_timer_.cancel();
        } else if (std::holds_alternative<movement::VerifyDefaultRouter>(o)) {
            rt_.count("movement.verify-default-router-skipped");
        } else if (auto e = movement::binding_event(o)) {
            run(list_.handle(*e, now));
        }
    }
}

void MobileNode::on_message(const adapters::ReceivedMobilityHeader& m) {
    if (stopping_) return;
    auto decoded = mh::decode(m.message);
    if (!decoded.ok()) {
        rt_.count("drop.mh-malformed");
        log_warning("MOB_MH_MALFORMED", "from " + m.source.to_string() + ": " + decoded.error().message());
        return;
    }
    const auto now = monotonic_now();
    if (const auto* ba = std::get_if<mh::BindingAcknowledgement>(&decoded->message)) {
        rt_.count("received.binding-acknowledgement");
        // The kernel's policy requires ESP for a BA from our home agent to
        // our home address (conf/plan.hpp): one that reached us from there
        // was protected.
        const bool protected_ = m.source == list_.config().home_agent_address &&
                                m.destination == list_.config().home_address;
        if (handover_ && !handover_->ba_received) handover_->ba_received = now;
        run(list_.handle(binding::BindingAcknowledgementReceived{m.source, *ba, protected_}, now));
    } else if (const auto* brr = std::get_if<mh::BindingRefreshRequest>(&decoded->message)) {
        rt_.count("received.binding-refresh-request");
        run(list_.handle(binding::BindingRefreshRequestReceived{m.source, *brr}, now));
    } else if (const auto* be = std::get_if<mh::BindingError>(&decoded->message)) {
        rt_.count("received.binding-error");
        run(list_.handle(binding::BindingErrorReceived{m.source, *be}, now));
    } else {
        rt_.count("drop.mh-unexpected-type");
    }
}

void MobileNode::run(binding::Actions actions) {
    bool kernel_work = false;
    for (const auto& a : actions) {
        if (const auto* s = std::get_if<binding::SendBindingUpdate>(&a)) {
            send(*s);
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
        } else if (std::holds_alternative<binding::ReestablishIkeSa>(a)) {
            // K not in effect: the IKE SA cannot follow the care-of
            // address (RFC 4877 sec. 7.4); the BU waits for the new SAs.
            request_security_associations(true);
        }
    }
    if (!kernel_work) return;
    executor_->execute(actions, [this](uint64_t operation, bool ok) {
        if (!ok) {
            rt_.count("kernel.commit-failed");
            log_warning("MOB_KERNEL_FAILED", "the kernel refused: " + executor_->stats().last_failure);
        }
        if (handover_ && !handover_->migrated) handover_->migrated = monotonic_now();
        run(list_.handle(binding::KernelOutcome{operation, ok}, monotonic_now()));
    });
}

void MobileNode::send(const binding::SendBindingUpdate& s) {
    auto bytes = mh::encode(s.message);
    if (!bytes.ok()) {
        log_error("MOB_BU_UNENCODABLE", bytes.error().message());
        return;
    }
    // Sent from the home address: the kernel's hao state turns it into a
    // packet from the care-of address with a Home Address option (RFC
    // 6275 sec. 6.3, 11.7.1); from home it leaves as it is.
    const net::Ipv6Address from = s.home_address_option.value_or(s.source);
    if (handover_ && !handover_->bu_sent && !first_packet_watch_) watch_first_packet();
    // "BU sent" is when the kernel gets it: on a namespace topology the
    // sendmsg may return only after the softirq has carried the packet and
    // others far on, later than the answer it causes.
    const auto handed_over = monotonic_now();
    std::string error;
    if (!rt_.socket.send(from, s.destination, *bytes, &error)) {
        rt_.count("send.binding-update-failed");
        log_warning("MOB_BU_SEND_FAILED", "to " + s.destination.to_string() + ": " + error);
        return;
    }
    rt_.count("sent.binding-update");
    if (handover_ && !handover_->bu_sent) handover_->bu_sent = handed_over;
    log(LogLevel::debug, "MOB_BU_SENT", "seq " + std::to_string(s.message.sequence_number) + " lifetime " +
                                            std::to_string(s.message.lifetime));
}

void MobileNode::report(const binding::Report& r) {
    rt_.count("report." + std::string(to_string(r.kind)));
    std::string text = r.home_address.to_string();
    if (r.status) text += " status " + std::to_string(static_cast<int>(*r.status));
    log_info(report_log_id(r.kind), text);
    // A BU waits for the SAs (RFC 4877 sec. 4.3): ask ikebridged for them.
    if (r.kind == binding::ReportKind::waiting_for_security_associations && !keying_sas_ready_)
        request_security_associations(false);
    rt_.publish(nlohmann::json{{"kind", to_string(r.kind)}, {"home-address", r.home_address.to_string()},
                               {"binding-id", r.binding_id}});
    if (r.kind == binding::ReportKind::registered && handover_) handover_registered();
}

void MobileNode::start_handover(const movement::MovementDecision& d) {
    if (handover_) finish_handover();
    handover_ = Handover{++handovers_, d.previous_care_of_address, *d.care_of_address, movement::to_string(d.reason),
                         d.observed_at, d.decided_at, {}, {}, {}, {}, false, d.interface};
}

// The first packet through the tunnel at the new care-of address (the home
// agent sends there once it accepted the BU). The watch opens just before
// the handover's first BU, not at the movement: its socket calls would
// otherwise delay the MIGRATE, and no tunnelled packet reaches the new
// care-of address before the home agent has that BU.
void MobileNode::watch_first_packet() {
    if (!handover_ || handover_->interface.empty()) return;
    std::string error;
    first_packet_watch_ = adapters::FirstPacketWatch::open(
        rt_.io, handover_->interface, handover_->to,
        [this, number = handover_->number](adapters::FirstPacketWatch::Clock::time_point at) {
            if (!handover_ || handover_->number != number || handover_->first_packet) return;
            handover_->first_packet = std::chrono::time_point_cast<binding::Duration>(at);
            if (handover_->registered) finish_handover();
        },
        error);
    if (!first_packet_watch_) {
        rt_.count("handover.first-packet-watch-failed");
        log(LogLevel::debug, "MOB_FIRST_PACKET_WATCH_FAILED", error);
    }
}

void MobileNode::handover_registered() {
    handover_->registered = true;
    if (handover_->first_packet || !first_packet_watch_) {
        finish_handover();
        return;
    }
    // The line waits for the first packet on the new path, not forever.
    first_packet_timer_.expires_after(first_packet_wait);
    first_packet_timer_.async_wait([this, number = handover_->number](const boost::system::error_code& ec) {
        if (!ec && handover_ && handover_->number == number) finish_handover();
    });
}

void MobileNode::finish_handover() {
    const Handover h = *handover_;
    handover_.reset();
    first_packet_watch_.reset();
    first_packet_timer_.cancel();
    auto step = [&](const std::optional<binding::TimePoint>& t) {
        return t ? std::to_string(ms_between(h.detected, *t)) : std::string("-");
    };
    // One line per handover (the timing line): times in ms since
    // the movement was detected; first-packet "none" when no tunnelled
    // packet reached the new care-of address in time.
    log_info("MOB_HANDOVER", (h.from ? h.from->to_string() : std::string("-")) + " -> " + h.to.to_string() +
                                 " reason " + h.reason + " detected 0 decided " +
                                 std::to_string(ms_between(h.detected, h.decided)) + " migrate-done " + step(h.migrated) +
                                 " bu-sent " + step(h.bu_sent) + " ba-received " + step(h.ba_received) +
                                 " first-packet " + (h.first_packet ? step(h.first_packet) : std::string("none")));
    auto ms_or_none = [&](const std::optional<binding::TimePoint>& t) {
        return t ? nlohmann::json(ms_between(h.detected, *t)) : nlohmann::json(-1);
    };
    rt_.publish(nlohmann::json{{"kind", "handover"},
                               {"from", h.from ? h.from->to_string() : ""},
                               {"to", h.to.to_string()},
                               {"reason", h.reason},
                               {"detected-monotonic-ms",
                                std::chrono::duration<double, std::milli>(h.detected.time_since_epoch()).count()},
                               {"decided-ms", ms_between(h.detected, h.decided)},
                               {"migrate-done-ms", ms_or_none(h.migrated)},
                               {"bu-sent-ms", ms_or_none(h.bu_sent)},
                               {"ba-received-ms", h.ba_received ? ms_between(h.detected, *h.ba_received) : -1},
                               {"first-packet-ms", h.first_packet ? ms_between(h.detected, *h.first_packet) : -1}});
}

void MobileNode::request_security_associations(bool reestablish) {
    if (!rt_.keying || stopping_) return;
    if (keying_request_pending_ && !reestablish) return;
    if (!rt_.keying->subscribed()) return;   // asked again once the channel is up (on_keying_status)
    const auto m = detector_->status();
    const net::Ipv6Address from =
        m.at_home || !m.care_of_address ? list_.config().home_address : *m.care_of_address;
    keying_request_pending_ = true;
    if (reestablish) keying_sas_ready_ = false;
    const std::string command = reestablish ? "ike-reestablish" : "ike-initiate";
    rt_.count("keying." + command);
    log_info("MOB_KEYING_REQUEST", command + " from " + from.to_string());
    rt_.keying->request(command, nlohmann::json{{"care-of-address", from.to_string()}},
                        [this, command](std::optional<control::Answer> a) {
                            if (a && a->result == control::ResultCode::ok) return;
                            keying_request_pending_ = false;
                            rt_.count("keying.request-failed");
                            log_warning("MOB_KEYING_REQUEST_FAILED",
                                        command + ": " + (a ? a->text : std::string("ikebridged unreachable")));
                        });
}

void MobileNode::security_associations_ready() {
    keying_request_pending_ = false;
    keying_sas_ready_ = true;
    log_info("MOB_SAS_READY", list_.config().home_address.to_string());
    run(list_.handle(binding::SecurityAssociationsReady{}, monotonic_now()));
}

void MobileNode::on_keying_status(const nlohmann::json& status) {
    if (stopping_) return;
    const std::string hoa = list_.config().home_address.to_string();
    for (const auto& c : status.value("connections", nlohmann::json::array())) {
        if (c.value("home-address", "") != hoa) continue;
        if (c.value("ready", false)) return security_associations_ready();
    }
    // Not (or no longer) keyed: a restarted ikebridged holds no SA.
    keying_sas_ready_ = false;
    keying_request_pending_ = false;
    if (list_.held_binding_updates() > 0 || !list_.entries().empty()) request_security_associations(false);
}

void MobileNode::on_keying_event(const nlohmann::json& event) {
    if (stopping_ || event.value("home-address", "") != list_.config().home_address.to_string()) return;
    const std::string kind = event.value("event", "");
    if (kind == "sas-ready") {
        security_associations_ready();
    } else if (kind == "sas-down") {
        rt_.count("keying.sas-down");
        log_warning("MOB_SAS_DOWN", list_.config().home_address.to_string());
        keying_sas_ready_ = false;
        // Lost outside a re-establishment we asked for (the home agent went
        // away, a CHILD_SA expired): bring them up again.
        if (!keying_request_pending_) request_security_associations(false);
    }
}

void MobileNode::on_keying_lost() {
    keying_request_pending_ = false;
    keying_sas_ready_ = false;
}

nlohmann::json MobileNode::status() const {
    auto m = detector_->status();
    return nlohmann::json{{"role", std::string(conf::to_string(model_.role))},
                          {"bindings", list_.entries().size()},
                          {"at-home", m.at_home},
                          {"care-of-address", m.care_of_address ? m.care_of_address->to_string() : ""},
                          {"interface", m.interface},
                          {"kernel-objects", executor_ ? executor_->installed().size() : 0},
                          {"keying", rt_.keying ? (keying_sas_ready_ ? "ready" : (rt_.keying->subscribed() ? "waiting" : "ikebridged unreachable"))
                                                : "static"}};
}

nlohmann::json MobileNode::bindings() const {
    nlohmann::json rows = nlohmann::json::array();
    const auto now = monotonic_now();
    for (const auto& [id, e] : list_.entries()) {
        rows.push_back({{"home-address", list_.config().home_address.to_string()},
                        {"home-agent", list_.config().home_agent_address.to_string()},
                        {"care-of-address", e.care_of_address.to_string()},
                        {"binding-id", e.binding_id},
                        {"state", binding::to_string(e.state)},
                        {"lifetime-remaining",
                         e.state == binding::BulState::bound
                             ? std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::seconds>(e.expires_at - now).count())
                             : 0},
                        {"k-granted", e.key_management_mobility_granted}});
    }
    return rows;
}

}  // namespace nemokey::mobility::daemon
