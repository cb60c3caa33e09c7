// ikebridged's own log lines, stable IDs (IKE_*), the format of mobilityd's
// (mobility/daemon/log.hpp) so one grep reads both daemons.
#pragma once

#include <string>

namespace nemokey::ikebridge {

void log_info(const char* id, const std::string& text);
void log_error(const char* id, const std::string& text);
// Charon's own lines (subsystem, level) through the same writer.
void log_charon(const char* subsystem, int level, const char* text);

}  // namespace nemokey::ikebridge
