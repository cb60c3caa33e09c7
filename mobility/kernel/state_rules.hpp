// Rules by which Linux changes more than the object an operation names,
// kept in one place for the fake kernel (which answers like the kernel) and
// the KernelExecutor (which keeps its record of the kernel without a dump).
//
// MIGRATE:
//   net/xfrm/xfrm_policy.c migrate_tmpl_match(): mode, protocol and reqid
//     (0 = any) agree; tunnel and BEET templates also have the old
//     addresses and get the new ones; transport templates match on the rest.
//   net/xfrm/xfrm_state.c xfrm_migrate_state_find(): per template the first
//     SA with the reqid (when given), mode, protocol and old addresses moves.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "mobility/kernel/objects.hpp"
#include "mobility/kernel/operations.hpp"

namespace nemokey::mobility::kernel {

// The number of policy templates that matched, or nullopt when the policy
// does not exist (ENOENT). With 0 matches (ENODATA) nothing is changed.
std::optional<size_t> apply_migrate(KernelObjects& state, const MigrateSas& m);

// Deleting a device takes its addresses, routes, proxy entries, qdisc and
// filters along (and a tunnel's own entry). Returns the addresses that went.
std::vector<Address> remove_device(KernelObjects& state, const std::string& name);

// Deleting a device's clsact qdisc takes its filters along.
void remove_qdisc(KernelObjects& state, const std::string& device);

}  // namespace nemokey::mobility::kernel
