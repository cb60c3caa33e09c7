// An in-memory kernel for daemon-logic tests: it keeps KernelObjects and
// answers every operation as the Linux kernel does (EEXIST, ENOENT,
// ENODATA for a MIGRATE that moves no template, a removed device taking its
// addresses, routes and proxy entries with it, an ESP SA found by
// destination and SPI whatever its source, an allocated SPI held by a
// larval state, an IPv6 address found whatever its length, one external
// tunnel per namespace, a filter only under its device's clsact qdisc, a
// removed qdisc taking its filters, ...) and announces MIGRATEs, tunnel links and addresses
// as the kernel does. Time plays no part (larval states never expire). It earns its place only
// by passing the same contract cases as the netlink backend on the real
// kernel (tests/unit/mobility/kernel/contract_cases.hpp).
//
// Like a real backend it completes later, never inside submit(): operations
// take effect at once (the kernel processes a request inside sendmsg) and
// completions are queued until run().
#pragma once

#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "mobility/kernel/kernel.hpp"

namespace nemokey::mobility::kernel {

class FakeKernel final : public Kernel {
public:
    static constexpr Features all_features =
        feature_esp | feature_mip6 | feature_migrate | feature_pfkey | feature_ip6_tunnel |
        feature_lwtunnel_encap | feature_address_protocol | feature_neighbour_protocol |
        feature_tunnel_filter;

    explicit FakeKernel(std::vector<std::string> links = {"lo"}, Features features = all_features);

    Features features() const override { return features_; }
    void submit(std::vector<OperationRequest> operations, BatchMode mode, Completion done) override;
    void dump_owned(DumpCompletion done) override;
    void set_listener(KernelListener* listener) override { listener_ = listener; }
    uint64_t round_trips() const override { return round_trips_; }

    // ---- for tests ----
    // Delivers queued completions and events (in order); returns how many.
    size_t run();
    bool idle() const { return queue_.empty(); }
    // Everything the kernel holds: ours and other owners' objects.
    const KernelObjects& objects() const { return objects_; }
    // Another owner's object (an administrator's route, charon's SA).
    KernelObjects& foreign() { return objects_; }
    void add_link(const std::string& name) { links_.push_back(name); }
    // The next operation `match` accepts fails with `error` and changes nothing.
    void fail_next(std::function<bool(const Operation&)> match, int error);
    // Every operation fails with `error` until cleared (0).
    void fail_all(int error) { fail_all_ = error; }
    uint64_t operations_executed() const { return executed_; }

private:
    OperationResult execute(const OperationRequest& request);
    int apply(const Operation& op, OperationResult& result);
    bool device_exists(const std::string& name) const;
    std::map<SaId, Sa>::iterator sa_state(const SaId& id);         // by the kernel's identity
    std::vector<SaId>::iterator larval_state(const SaId& id);
    void remove_device(const std::string& name);
    void announce(KernelEvent event);  // queued like a completion
    void announce_address(const Address& a, bool removed);
    std::map<AddressId, Address>::iterator address_of(const AddressId& id);  // by the kernel's identity

    std::vector<std::string> links_;
    Features features_;
    KernelObjects objects_;
    // SPIs taken by AllocateSpi (the kernel's larval states): in the way of
    // an SA of the same identity until one is installed over them or removed.
    std::vector<SaId> larval_;
    KernelListener* listener_ = nullptr;
    std::deque<std::function<void()>> queue_;
    struct Injected {
        std::function<bool(const Operation&)> match;
        int error;
    };
    std::vector<Injected> injected_;
    int fail_all_ = 0;
    uint64_t round_trips_ = 0;
    uint64_t executed_ = 0;
};

}  // namespace nemokey::mobility::kernel
