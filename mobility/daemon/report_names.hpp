// Names of the state machines' reports: the counter suffix, the event kind
// on the control channel and the stable log ID (log.hpp).
#pragma once

#include <string_view>

#include "mobility/core/binding/actions.hpp"

namespace nemokey::mobility::daemon {

std::string_view to_string(binding::ReportKind kind);
std::string_view report_log_id(binding::ReportKind kind);

}  // namespace nemokey::mobility::daemon
