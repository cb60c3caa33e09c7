// ikebridged: the IKEv2 side of nemokey, an embedded strongSwan charon.
// This first version starts charon with the stock plugins (vici included),
// reports charon's log and bus events on stderr, and stops cleanly on
// SIGTERM/SIGINT, removing its vici socket.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>

#include "ikebridge/shim/charon_shim.h"

namespace {

// The plugins ikebridged needs: kernel interface, sockets, crypto, X.509
// credentials with RFC 3779 address blocks (addrblock), and vici for swanctl.
constexpr const char* default_plugins =
    "kernel-netlink socket-default nonce random openssl pem pkcs1 pkcs8 x509 pubkey "
    "revocation constraints addrblock sha1 sha2 hmac kdf gcm aes drbg vici updown";

std::mutex log_mutex;

void log_line(const char* subsystem, int level, const char* text) {
    std::lock_guard lock(log_mutex);
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    tm t{};
    gmtime_r(&ts.tv_sec, &t);
    std::fprintf(stderr, "%02d:%02d:%02d.%03ld ikebridged[%s%d] %s\n", t.tm_hour, t.tm_min,
                 t.tm_sec, ts.tv_nsec / 1000000, subsystem, level, text);
    std::fflush(stderr);
}

extern "C" void on_charon_log(void*, const char* subsystem, int level, const char* line) {
    log_line(subsystem, level, line);
}

extern "C" void on_charon_event(void*, const nk_charon_event* e) {
    const char* what = "?";
    switch (e->kind) {
        case NK_CHARON_IKE_UP: what = "IKE_SA up"; break;
        case NK_CHARON_IKE_DOWN: what = "IKE_SA down"; break;
        case NK_CHARON_CHILD_UP: what = "CHILD_SA up"; break;
        case NK_CHARON_CHILD_DOWN: what = "CHILD_SA down"; break;
        case NK_CHARON_IKE_ENDPOINT_UPDATE: what = "IKE_SA endpoints updated"; break;
    }
    std::string line = std::string("event: ") + what + " " + e->ike_name + "[" +
                       std::to_string(e->ike_unique_id) + "]";
    if (e->child_name) line += std::string(" child ") + e->child_name;
    if (e->detail) line += std::string(" ") + e->detail;
    log_line("ike", 0, line.c_str());
}

int usage(int code) {
    std::fprintf(code ? stderr : stdout,
                 "usage: ikebridged [--vici-socket PATH] [--ike-port N] [--ike-port-nat-t N]\n"
                 "                  [--log-level -1..4] [--plugins 'LIST']\n"
                 "  --vici-socket  vici control socket (default /run/ikebridged.vici)\n"
                 "  --ike-port     IKE UDP port, 0 picks a free one (default 500)\n"
                 "  --log-level    charon log level for every subsystem (default 1)\n");
    return code;
}

bool parse_int(std::string_view text, int lo, int hi, int& out) {
    char* end = nullptr;
    std::string s(text);
    errno = 0;
    long v = std::strtol(s.c_str(), &end, 10);
    if (errno || end == s.c_str() || *end || v < lo || v > hi) return false;
    out = static_cast<int>(v);
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    std::string vici_socket = "/run/ikebridged.vici";
    std::string plugins = default_plugins;
    int ike_port = -1, ike_port_nat_t = -1, log_level = 1;

    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
        if (arg == "-h" || arg == "--help") return usage(0);
        const char* v = value();
        if (!v) {
            std::fprintf(stderr, "ikebridged: '%s' needs a value\n", argv[i]);
            return usage(2);
        }
        if (arg == "--vici-socket") {
            vici_socket = v;
        } else if (arg == "--plugins") {
            plugins = v;
        } else if (arg == "--ike-port") {
            if (!parse_int(v, 0, 65535, ike_port)) {
                std::fprintf(stderr, "ikebridged: --ike-port '%s' is not a port (0..65535)\n", v);
                return 2;
            }
        } else if (arg == "--ike-port-nat-t") {
            if (!parse_int(v, 0, 65535, ike_port_nat_t)) {
                std::fprintf(stderr, "ikebridged: --ike-port-nat-t '%s' is not a port (0..65535)\n", v);
                return 2;
            }
        } else if (arg == "--log-level") {
            if (!parse_int(v, -1, 4, log_level)) {
                std::fprintf(stderr, "ikebridged: --log-level '%s' is out of range (-1..4)\n", v);
                return 2;
            }
        } else {
            std::fprintf(stderr, "ikebridged: unknown option '%s'\n", argv[i - 1]);
            return usage(2);
        }
    }

    // Signals are taken synchronously with sigwait, as charon-systemd does;
    // they are blocked before charon starts its threads so every thread inherits the mask.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);

    std::string vici_uri = "unix://" + vici_socket;
    nk_charon_config config{};
    config.settings_namespace = "ikebridged";
    config.plugins = plugins.c_str();
    config.vici_uri = vici_uri.c_str();
    config.ike_port = ike_port;
    config.ike_port_nat_t = ike_port_nat_t;
    config.log_level = log_level;
    config.log = on_charon_log;
    config.event = on_charon_event;

    char err[256] = "";
    if (nk_charon_start(&config, err, sizeof err) != 0) {
        log_line("dmn", 0, (std::string("start failed: ") + err).c_str());
        return 1;
    }
    char loaded[1024] = "";
    int count = nk_charon_loaded_plugins(loaded, sizeof loaded);
    log_line("dmn", 0,
             ("started: " + std::to_string(count) + " plugins [" + loaded + "], vici " + vici_uri)
                 .c_str());

    int sig = 0;
    for (;;) {
        if (sigwait(&set, &sig) != 0) continue;
        if (sig == SIGHUP) {
            log_line("dmn", 0, "SIGHUP: nothing to reload yet");
            continue;
        }
        break;
    }
    log_line("dmn", 0, (std::string("signal ") + strsignal(sig) + ": shutting down").c_str());
    nk_charon_stop();
    // charon leaves its unix socket behind; a clean stop leaves nothing.
    std::error_code ec;
    std::filesystem::remove(vici_socket, ec);
    log_line("dmn", 0, "stopped");
    return 0;
}
