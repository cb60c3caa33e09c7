// Reconcile: compare the desired kernel state (computed from the core's
// state, mobility/core/dataplane/) with the actual one (the kernel's
// objects carrying our marks) and emit only the difference, as
// install-or-replace and remove-if-present operations. Pure.
//
// Order: everything new or changed is installed before anything old is
// removed (make before break: a moving binding never has a moment without
// a route or a policy), and each half follows the dependencies between
// objects: devices, addresses, SAs, policies, rules, routes, proxy
// neighbour entries; removal runs the other way round.
#pragma once

#include <vector>

#include "mobility/kernel/objects.hpp"
#include "mobility/kernel/operations.hpp"

namespace nemokey::mobility::kernel {

std::vector<Operation> reconcile(const KernelObjects& desired, const KernelObjects& actual);

// Everything in `installed` removed, in dependency order (shutdown).
std::vector<Operation> removal_of(const KernelObjects& installed);

// Numbers the operations first_id, first_id + 1, ...
std::vector<OperationRequest> number(std::vector<Operation> operations, OperationId first_id);

}  // namespace nemokey::mobility::kernel
