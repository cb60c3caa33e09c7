// The daemon's kernel loop in miniature, for tests: it executes a core's
// CommitKernelState by reconciling the desired state with what the (fake)
// kernel holds, and a Migrate with an operation id by MIGRATEs of the
// tunnel-mode policies; it feeds the outcomes back, as mobilityd does.
#pragma once

#include <deque>

#include "mobility/core/dataplane/desired_state.hpp"
#include "mobility/kernel/fake/fake_kernel.hpp"
#include "mobility/kernel/reconcile.hpp"

namespace nemokey::mobility::dataplane::testing {

using namespace kernel;

// Runs `ops` on `k` as one batch and waits for the answer.
inline std::vector<OperationResult> execute(FakeKernel& k, std::vector<Operation> ops, OperationId& next_id,
                                            BatchMode mode = BatchMode::stop_on_error) {
    std::vector<OperationResult> results;
    const size_t n = ops.size();
    k.submit(number(std::move(ops), next_id), mode, [&](std::vector<OperationResult> r) { results = std::move(r); });
    next_id += n;
    k.run();
    return results;
}

inline KernelObjects installed(FakeKernel& k) {
    KernelObjects out;
    k.dump_owned([&](DumpResult r) { out = std::move(r.objects); });
    k.run();
    return out;
}

inline bool all_ok(const std::vector<OperationResult>& r) {
    return std::all_of(r.begin(), r.end(), [](const OperationResult& x) { return x.ok(); });
}

// MIGRATEs for every tunnel-mode policy whose template has the old care-of address.
inline std::vector<Operation> migrates_for(const KernelObjects& have, const binding::Migrate& m) {
    std::vector<Operation> ops;
    const IpAddress old_coa{m.old_care_of_address};
    for (const auto& [id, p] : have.policies) {
        MigrateSas op;
        op.policy = id;
        for (const auto& t : p.templates) {
            if (t.mode != SaMode::tunnel) continue;
            if (t.source == old_coa)
                op.templates.push_back(MigrateTemplate{t.protocol, t.mode, t.reqid, old_coa, *t.destination,
                                                       IpAddress{m.new_care_of_address}, *t.destination});
            else if (t.destination == old_coa)
                op.templates.push_back(MigrateTemplate{t.protocol, t.mode, t.reqid, *t.source, old_coa,
                                                       *t.source, IpAddress{m.new_care_of_address}});
        }
        if (!op.templates.empty()) ops.push_back(op);
    }
    return ops;
}

}  // namespace nemokey::mobility::dataplane::testing
