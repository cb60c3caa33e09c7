// Executes the core's kernel work on a Kernel backend, one batch per step,
// the way mobilityd does (FRR's dataplane queue, strongSwan's kernel
// interface): the Migrate and CommitKernelState actions of one step of a
// state machine become ONE submit (MIGRATEs first, then the reconcile of
// the desired state with what we installed), and every operation id of the
// step gets its KernelOutcome through `outcome`. Only a route that moves a
// binding to its new care-of address goes ahead of the MIGRATEs (the
// handover's downstream waits for it; executor.cpp says why that is safe).
//
// It keeps a record of what it installed, so a step costs one kernel round
// trip and no dump; after a failed batch it re-reads the kernel (one dump)
// so the next step reconciles from the truth. Steps are serialised: steps
// submitted while a batch is in flight wait, and then go together as ONE
// batch against the newest desired state (a burst of registrations costs
// one desired state, one reconcile and one kernel round trip, not one per
// step); if that batch fails, the first step is told so and the others run
// again against the kernel as it was re-read.
//
// With DesiredParts (the home agent) a step whose kernel work names its
// home addresses reconciles only those addresses' parts of the desired
// state, against what we installed for them: a handover costs the same at
// 1 and at 10 000 bindings (the whole state cost 24 ms per handover at
// 1 000 bindings, natively; tests/bench ha_step_bench). A step without a
// home address (a reload), start() and the step after a failure reconcile
// the whole state, which also re-splits it into parts.
//
// start() after a restart reads what is ours and reconciles: zero
// operations when the kernel already holds the desired state, only the
// difference otherwise. shutdown() removes everything we installed.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "mobility/core/binding/actions.hpp"
#include "mobility/core/dataplane/desired_state.hpp"
#include "mobility/kernel/kernel.hpp"

namespace nemokey::mobility::dataplane {

// The MIGRATEs that move our tunnel-mode policies (and the SAs matching
// their templates) from old_coa to new_coa (RFC 4877 sec. 4.3). With
// move_ike_sa each carries a KMADDRESS, so the key manager moves the IKE SA
// too (draft-ebalard-mext-pfkey-enhanced-migrate); when no tunnel-mode
// policy exists, one MIGRATE of a transport-mode ESP policy that changes no
// address carries the KMADDRESS alone: the node's own, between
// `home_address` and `home_agent_address` (a home agent holds every
// node's; unspecified addresses: any). `local` is our end of the IKE SA
// after the move (the new care-of address on the mobile node, the home
// agent address on the home agent).
std::vector<kernel::MigrateSas> migrations_for(const kernel::KernelObjects& installed,
                                               const net::Ipv6Address& old_coa,
                                               const net::Ipv6Address& new_coa, bool move_ike_sa,
                                               bool local_is_care_of_address,
                                               const net::Ipv6Address& home_address = {},
                                               const net::Ipv6Address& home_agent_address = {});

// The policies between a home address and a home agent address (either
// way), by range of the ordered map, not by scan.
std::vector<const kernel::Policy*> policies_between(const kernel::KernelObjects& installed,
                                                    const net::Ipv6Address& a, const net::Ipv6Address& b);

struct ExecutorStats {
    uint64_t steps = 0;
    uint64_t batches = 0;          // submits
    uint64_t operations = 0;
    uint64_t failed_batches = 0;
    uint64_t resyncs = 0;          // dumps after a failure or at start
    uint64_t scoped_batches = 0;   // batches that reconciled only their home addresses' parts
    // The operations of the last failed batch that the kernel refused, with
    // its answer ("migrate ...: No such file or directory (2)"), for the log.
    std::string last_failure;
};

// The desired state split by home address: `of` gives one address's part
// (desired_state_of), `home_addresses` every address that may have one.
// The whole desired state must be the parts plus objects no step changes
// (devices, the nodes' SAs and binding-independent policies), the parts
// disjoint. Pass filters are the exception the executor handles: their
// handles are settled against everything installed (see run_scoped).
struct DesiredParts {
    std::function<kernel::KernelObjects(const net::Ipv6Address&)> of;
    std::function<std::vector<net::Ipv6Address>()> home_addresses;
};

// A home agent's parts: one per binding cache entry (desired_state_of).
// `cache` and `plane` must outlive the executor that holds them.
DesiredParts home_agent_parts(const binding::BindingCache& cache, const HomeAgentDataPlane& plane);

class KernelExecutor {
public:
    using DesiredState = std::function<kernel::KernelObjects()>;
    using Outcome = std::function<void(uint64_t operation, bool ok)>;

    // `local_is_care_of_address`: true on a mobile node or router.
    KernelExecutor(kernel::Kernel& kernel, DesiredState desired, bool local_is_care_of_address,
                   DesiredParts parts = {});

    // Reads our objects and reconciles them with the desired state; `done`
    // gets whether it worked and how many operations it took.
    void start(std::function<void(bool ok, size_t operations)> done);
    // The kernel work among `actions` (Migrate, CommitKernelState), as one batch.
    void execute(const binding::Actions& actions, Outcome outcome);
    // Removes everything of ours (desired = nothing); `done(ok)`.
    void shutdown(std::function<void(bool ok)> done);

    const kernel::KernelObjects& installed() const { return installed_; }
    const ExecutorStats& stats() const { return stats_; }
    bool busy() const { return in_flight_; }

private:
    struct Step {
        std::vector<binding::Migrate> migrates;
        std::vector<uint64_t> operations;
        Outcome outcome;
        bool shutdown = false;
        std::function<void(bool)> shutdown_done;
        std::set<net::Ipv6Address> home_addresses;   // what the step changes
        bool whole = false;                          // a step without a home address
    };
    void pump();
    void run(std::vector<Step> steps);
    // The operations of a batch that changes only `scope`'s parts; fills
    // `next` with those parts as they will be.
    std::vector<kernel::Operation> scoped_operations(const std::vector<Step>& steps,
                                                     const std::set<net::Ipv6Address>& scope,
                                                     std::map<net::Ipv6Address, kernel::KernelObjects>& next) const;
    // `next_parts`: the parts after the batch (all of them when `whole`).
    void submit(std::vector<kernel::Operation> ops, std::vector<Step> steps,
                std::optional<std::map<net::Ipv6Address, kernel::KernelObjects>> next_parts, bool whole);
    // The whole desired state split into parts (empty without DesiredParts).
    std::map<net::Ipv6Address, kernel::KernelObjects> split(const kernel::KernelObjects& desired) const;
    void finish(Step step, bool ok);

    kernel::Kernel& kernel_;
    DesiredState desired_;
    bool local_is_care_of_address_;
    DesiredParts desired_parts_;
    // Per home address: the part as installed (ids as the kernel holds
    // them); valid after a whole reconcile that worked.
    std::map<net::Ipv6Address, kernel::KernelObjects> parts_;
    bool parts_valid_ = false;
    kernel::KernelObjects installed_;
    std::deque<Step> queue_;
    bool in_flight_ = false;
    kernel::OperationId next_id_ = 1;
    ExecutorStats stats_;
};

}  // namespace nemokey::mobility::dataplane
