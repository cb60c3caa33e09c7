#include "ikebridge/daemon/log.hpp"

#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

namespace nemokey::ikebridge {
namespace {

std::mutex log_mutex;  // charon's threads log too

// One line "HH:MM:SS.mmm ikebridged<tag> text" on stderr.
void write_line(const std::string& tag, const char* text) {
    std::lock_guard lock(log_mutex);
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    tm t{};
    gmtime_r(&ts.tv_sec, &t);
    std::fprintf(stderr, "%02d:%02d:%02d.%03ld ikebridged%s %s\n", t.tm_hour, t.tm_min, t.tm_sec,
                 ts.tv_nsec / 1000000, tag.c_str(), text);
    std::fflush(stderr);
}

}  // namespace

void log_info(const char* id, const std::string& text) { write_line(std::string(" INFO ") + id, text.c_str()); }
void log_error(const char* id, const std::string& text) { write_line(std::string(" ERROR ") + id, text.c_str()); }
// The embedded charon test greps "ikebridged[SUBSYSTEM LEVEL]".
void log_charon(const char* subsystem, int level, const char* text) {
    write_line("[" + std::string(subsystem) + std::to_string(level) + "]", text);
}

}  // namespace nemokey::ikebridge
