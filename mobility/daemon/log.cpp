#include "mobility/daemon/log.hpp"

#include <chrono>
#include <cstdio>

namespace nemokey::mobility::daemon {

namespace {
bool debug_on = false;
}

void set_debug(bool on) { debug_on = on; }
bool debug_enabled() { return debug_on; }

void log(LogLevel level, std::string_view id, const std::string& text) {
    if (level == LogLevel::debug && !debug_on) return;
    static const auto start = std::chrono::steady_clock::now();
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    const char* l = level == LogLevel::error ? "ERROR" : level == LogLevel::warning ? "WARN" : level == LogLevel::info ? "INFO" : "DEBUG";
    std::fprintf(stderr, "%lld.%03lld %s %.*s %s\n", static_cast<long long>(ms / 1000),
                 static_cast<long long>(ms % 1000), l, static_cast<int>(id.size()), id.data(), text.c_str());
    std::fflush(stderr);
}

}  // namespace nemokey::mobility::daemon
