// mobilityd as a mobile node or mobile router (RFC 6275 sec. 11, RFC 3963
// sec. 5): rtnetlink events (replayed at start, then live) drive movement
// detection; its decisions drive the binding update list of the first
// configured home agent; BUs leave on the Mobility Header socket, BAs come
// back on it; kernel state (tunnel, home address, rules, SAs, policies)
// goes through the KernelExecutor, MIGRATE before the BU from a new
// care-of address. One line per handover gives the time of each step, the
// last one the first tunnelled packet at the new care-of address
// (adapters/socket/first_packet_watch.hpp): the line waits for it at most
// first_packet_wait after the registration.
#pragma once

#include <map>
#include <memory>
#include <optional>

#include <boost/asio/steady_timer.hpp>

#include "conf/model.hpp"
#include "mobility/core/binding/binding_update_list.hpp"
#include "mobility/core/dataplane/desired_state.hpp"
#include "mobility/core/dataplane/executor.hpp"
#include "mobility/adapters/socket/first_packet_watch.hpp"
#include "mobility/core/movement/movement_detector.hpp"
#include "mobility/daemon/runtime.hpp"
#include "mobility/daemon/timers.hpp"
#include "mobility/kernel/kernel.hpp"

namespace nemokey::mobility::daemon {

class MobileNode final : public Role, private kernel::KernelListener {
public:
    MobileNode(Runtime& runtime, conf::Model model);
    ~MobileNode() override;

    void start(std::function<void(bool ok)> done) override;
    void stop(std::function<void()> done) override;
    nlohmann::json status() const override;
    nlohmann::json bindings() const override;
    void on_keying_status(const nlohmann::json& status) override;
    void on_keying_event(const nlohmann::json& event) override;
    void on_keying_lost() override;

private:
    // Asks ikebridged for the SAs from the current care-of address (the
    // home address at home): ike-initiate, or ike-reestablish with K
    // cleared (RFC 4877 sec. 7.4). One request at a time.
    void request_security_associations(bool reestablish);
    void security_associations_ready();
    void on_kernel_event(const kernel::KernelEvent& event) override;
    void on_movement(const movement::MovementInput& input);
    void on_message(const adapters::ReceivedMobilityHeader& m);
    void run(binding::Actions actions);
    void send(const binding::SendBindingUpdate& s);
    void report(const binding::Report& r);

    // The steps of one handover (the timing line).
    struct Handover {
        uint64_t number = 0;
        std::optional<net::Ipv6Address> from;
        net::Ipv6Address to;
        std::string reason;
        binding::TimePoint detected{};
        binding::TimePoint decided{};
        std::optional<binding::TimePoint> migrated;
        std::optional<binding::TimePoint> bu_sent;
        std::optional<binding::TimePoint> ba_received;
        std::optional<binding::TimePoint> first_packet;   // tunnelled, at the new care-of address
        bool registered = false;
        std::string interface;   // of the new care-of address
    };
    void start_handover(const movement::MovementDecision& d);
    void watch_first_packet();
    void handover_registered();
    void finish_handover();
    static constexpr std::chrono::milliseconds first_packet_wait{1000};

    Runtime& rt_;
    conf::Model model_;
    binding::BindingUpdateList list_;
    std::unique_ptr<movement::MovementDetector> detector_;
    dataplane::MobileDataPlane plane_;
    std::unique_ptr<dataplane::KernelExecutor> executor_;
    TimerTable<binding::TimerKey> timers_;
    boost::asio::steady_timer movement_timer_;
    std::optional<Handover> handover_;
    uint64_t handovers_ = 0;
    std::unique_ptr<adapters::FirstPacketWatch> first_packet_watch_;
    boost::asio::steady_timer first_packet_timer_;
    // net.ipv6.conf.<access interface>.ignore_routes_with_linkdown as found.
    std::map<std::string, std::string> linkdown_before_;
    bool started_ = false;
    bool stopping_ = false;
    bool keying_request_pending_ = false;   // until sas-ready, a failure, or the channel lost
    bool keying_sas_ready_ = false;          // as ikebridged last said
};

}  // namespace nemokey::mobility::daemon
