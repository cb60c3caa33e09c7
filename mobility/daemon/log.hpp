// mobilityd's log: one line per event on stderr (journald adds the time
// and the unit), each with a stable message ID so that operators and
// tests match IDs, never wording (Kea's message IDs, FRR's log references).
// The IDs are listed, with their meaning, in drafts-notes/mobilityd.md.
#pragma once

#include <string>
#include <string_view>

namespace nemokey::mobility::daemon {

enum class LogLevel { debug, info, warning, error };

// ID: upper case, "MOB_" then the subject, e.g. MOB_BINDING_REGISTERED.
void log(LogLevel level, std::string_view id, const std::string& text);
inline void log_info(std::string_view id, const std::string& text) { log(LogLevel::info, id, text); }
inline void log_warning(std::string_view id, const std::string& text) { log(LogLevel::warning, id, text); }
inline void log_error(std::string_view id, const std::string& text) { log(LogLevel::error, id, text); }
void set_debug(bool on);
bool debug_enabled();

}  // namespace nemokey::mobility::daemon
