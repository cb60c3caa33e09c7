// mobilityd as a home agent (RFC 6275 sec. 10, RFC 3963 sec. 6): Binding
// Updates from the Mobility Header socket drive the binding cache; its
// actions become Binding Acknowledgements on the socket, timers on the
// loop and kernel state through the KernelExecutor (one batch per step);
// the cache is snapshotted as it changes, and restored at start, so a
// restart (even after kill -9) keeps every binding.
#pragma once

#include <chrono>
#include <memory>
#include <optional>

#include "conf/model.hpp"
#include "conf/plan.hpp"
#include "mobility/adapters/file/background_writer.hpp"
#include "mobility/adapters/socket/dad_probe.hpp"
#include "mobility/core/binding/binding_cache.hpp"
#include "mobility/core/config/core_config.hpp"
#include "mobility/core/dataplane/desired_state.hpp"
#include "mobility/core/dataplane/executor.hpp"
#include "mobility/daemon/bad_input.hpp"
#include "mobility/daemon/runtime.hpp"
#include "mobility/daemon/timers.hpp"

namespace nemokey::mobility::daemon {

class HomeAgent final : public Role {
public:
    HomeAgent(Runtime& runtime, conf::Model model);
    ~HomeAgent() override;

    void start(std::function<void(bool ok)> done) override;
    void stop(std::function<void()> done) override;
    nlohmann::json status() const override;
    nlohmann::json bindings() const override;

    void on_keying_status(const nlohmann::json& status) override;
    void on_keying_event(const nlohmann::json& event) override;
    void on_keying_lost() override;

private:
    void on_message(const adapters::ReceivedMobilityHeader& m);
    void run(binding::Actions actions);
    void send(const binding::SendBindingAcknowledgement& s);
    void send(const binding::SendBindingRefreshRequest& s);
    void send(const BindingErrorReply& be);
    void detect_duplicate(const binding::PerformDuplicateAddressDetection& d);
    void report(const binding::Report& r);
    void snapshot();
    void snapshot_soon();
    bool load_data_plane(std::string& error);
    void warn_unprotected();
    control::Answer reload();

    Runtime& rt_;
    conf::Model model_;
    config::HomeAgentCoreConfig core_;
    config::ConfiguredAuthorizer authorizer_;
    // IKEv2 keying: which authenticated IKE identity holds the SAs of a
    // home address, as ikebridged reports it (RFC 4877 sec. 4.1); the
    // binding cache authorises that identity, not one read from the address.
    std::map<net::Ipv6Address, std::string> ike_identities_;
    // A binding moving to a new care-of address, from its BU's arrival to
    // its BA: the home agent's part of a handover, logged as one line
    // (MOB_HA_HANDOVER) for the disruption benchmark: when its kernel batch
    // was submitted and done, and (at the line) when the BA left.
    struct Move {
        std::string from, to;
        std::chrono::steady_clock::time_point bu_received;
        std::optional<std::chrono::steady_clock::time_point> submitted, committed;
    };
    std::map<net::Ipv6Address, Move> moves_;
    std::chrono::steady_clock::time_point bu_received_;
    binding::BindingCache cache_;
    dataplane::HomeAgentDataPlane plane_;
    std::unique_ptr<dataplane::KernelExecutor> executor_;
    TimerTable<binding::TimerKey> timers_;
    std::unique_ptr<adapters::BackgroundFileWriter> writer_;
    std::unique_ptr<adapters::DadProbe> dad_;
    binding::TimePoint started_at_;
    // net.ipv6.conf.<home link>.proxy_ndp as found, restored at stop.
    std::optional<std::string> proxy_ndp_before_;
    bool stopping_ = false;
    bool snapshot_pending_ = false;
    RateLimit binding_error_limit_{10, 10};
    // Repeats MOB_BENCHMARK_UNPROTECTED while BUs are taken without ESP.
    boost::asio::steady_timer unprotected_warning_;
    static constexpr std::chrono::seconds unprotected_warning_every{10};
};

}  // namespace nemokey::mobility::daemon
