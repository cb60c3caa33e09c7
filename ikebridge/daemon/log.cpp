#include "ikebridge/daemon/log.hpp"

#include <cstdio>
#include <ctime>
#include <mutex>

namespace nemokey::ikebridge {
namespace {

std::mutex log_mutex;  // charon's threads log too

void write(const char* level, const char* id, const char* text) {
    std::lock_guard lock(log_mutex);
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    tm t{};
    gmtime_r(&ts.tv_sec, &t);
    std::fprintf(stderr, "%02d:%02d:%02d.%03ld ikebridged %s %s %s\n", t.tm_hour, t.tm_min, t.tm_sec,
                 ts.tv_nsec / 1000000, level, id, text);
    std::fflush(stderr);
}

}  // namespace

void log_info(const char* id, const std::string& text) { write("INFO", id, text.c_str()); }
void log_error(const char* id, const std::string& text) { write("ERROR", id, text.c_str()); }
void log_charon(const char* subsystem, int level, const char* text) {
    std::lock_guard lock(log_mutex);
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    tm t{};
    gmtime_r(&ts.tv_sec, &t);
    // The embedded charon test greps "ikebridged[SUBSYSTEM LEVEL]".
    std::fprintf(stderr, "%02d:%02d:%02d.%03ld ikebridged[%s%d] %s\n", t.tm_hour, t.tm_min, t.tm_sec,
                 ts.tv_nsec / 1000000, subsystem, level, text);
    std::fflush(stderr);
}

}  // namespace nemokey::ikebridge
