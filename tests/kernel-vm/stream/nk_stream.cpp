// nk_stream: a paced UDP probe stream for handover scenarios.
//
//   nk_stream send --to ADDR --port P [--rate PPS] [--duration-ms D]
//                  [--from ADDR] [--size BYTES]
//       sends rate*D/1000 UDP datagrams to ADDR:P, one every 1/rate s, paced
//       on absolute CLOCK_MONOTONIC deadlines (clock_nanosleep). Each carries
//       a stream id, its sequence number, the planned packet count and its
//       send time (CLOCK_MONOTONIC ns; one clock for every namespace of a
//       kernel). Send errors (no route during a handover) are counted, the
//       stream goes on.
//   nk_stream receive --port P [--expect-ms D] [--linger-ms L] [--count N]
//                     [--bind ADDR] [--gap-ms G] [--json] [--trace FILE]
//       prints "receive: listening on port P" once the socket is bound, then
//       receives for at most D ms (default 10000) after that line, or until
//       the stream's last packet has arrived and L ms (default 200) passed
//       without another packet. Then prints one "key value" line each:
//         received, expected (-1: unknown, nothing came and no --count),
//         lost (sequence numbers never received, the tail included; -1 when
//         expected is unknown), duplicates, reordered (arrived after a higher
//         sequence number), longest_gap_ms (longest time between two
//         consecutive arrivals: the disruption), first_after_gap_ms and
//         first_after_gap_seq (arrival, CLOCK_MONOTONIC ms, and sequence
//         number of the first packet after that gap: the first on the new
//         path), first_ms, last_ms, delay_avg_ms, delay_max_ms (one-way),
//         foreign (datagrams of another stream or not ours);
//       with --gap-ms G, every gap between consecutive arrivals longer than
//       G ms as a line "gap AT_MS LENGTH_MS LOST" (AT_MS: CLOCK_MONOTONIC
//       arrival of the packet after it; LOST: sequence numbers skipped),
//       one per handover of a long run ("gaps" in --json: [[at, length, lost]]);
//       with --json the same keys as one JSON object on one line;
//       with --trace FILE, one line "ARRIVAL_MS SEQ" per datagram of the
//       stream (CLOCK_MONOTONIC ms), for plots of the stream over time.
//       SIGTERM or SIGINT ends the reception early, with the figures so far.
// Both exit 0 when they ran (the scenario judges the figures), 2 on bad
// usage, 1 when a socket cannot be set up.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr uint32_t kMagic = 0x4e4b5354;  // "NKST"

// Wire format, network byte order: magic, stream id, sequence, count (u32
// each), send time (u64 ns). Padded with zeros to --size.
struct Packet {
    uint32_t stream = 0;
    uint32_t seq = 0;
    uint32_t count = 0;
    uint64_t sent_ns = 0;
};
constexpr size_t kHeaderSize = 24;

void put32(unsigned char* p, uint32_t v) {
    for (int i = 3; i >= 0; --i, v >>= 8) p[i] = static_cast<unsigned char>(v & 0xff);
}
void put64(unsigned char* p, uint64_t v) {
    for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<unsigned char>(v & 0xff);
}
uint32_t get32(const unsigned char* p) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | p[i];
    return v;
}
uint64_t get64(const unsigned char* p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
    return v;
}

uint64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}
double ms(uint64_t ns) { return double(ns) / 1e6; }

volatile sig_atomic_t stop_requested = 0;
void request_stop(int) { stop_requested = 1; }

// ADDR (numeric, IPv6 or IPv4) and PORT as a socket address.
bool parse_addr(const std::string& addr, unsigned port, sockaddr_storage& out, socklen_t& len) {
    addrinfo hints{};
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* res = nullptr;
    std::string service = std::to_string(port);
    if (getaddrinfo(addr.c_str(), service.c_str(), &hints, &res) != 0 || res == nullptr) return false;
    std::memcpy(&out, res->ai_addr, res->ai_addrlen);
    len = res->ai_addrlen;
    freeaddrinfo(res);
    return true;
}

struct Options {
    std::string to, from, bind, trace;
    unsigned port = 0;
    unsigned rate = 200;
    long duration_ms = 1000;
    long expect_ms = 10000;
    long linger_ms = 200;
    long count = -1;
    long gap_ms = 0;   // 0: no per-gap lines
    size_t size = 64;
    bool json = false;
};

bool parse_long(const char* s, long min, long max, long& out) {
    char* end = nullptr;
    errno = 0;
    long v = std::strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) return false;
    out = v;
    return true;
}

// Parses argv[2..]; prints what is wrong and returns false on bad usage.
bool parse_options(int argc, char** argv, Options& o) {
    for (int i = 2; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--json") { o.json = true; continue; }
        if (i + 1 >= argc) {
            std::fprintf(stderr, "nk_stream: option '%s' needs a value (or is unknown)\n", argv[i]);
            return false;
        }
        const char* v = argv[++i];
        long n = 0;
        bool ok = true;
        if (a == "--to") o.to = v;
        else if (a == "--from") o.from = v;
        else if (a == "--bind") o.bind = v;
        else if (a == "--trace") o.trace = v;
        else if (a == "--port") { ok = parse_long(v, 1, 65535, n); o.port = unsigned(n); }
        else if (a == "--rate") { ok = parse_long(v, 1, 100000, n); o.rate = unsigned(n); }
        else if (a == "--duration-ms") ok = parse_long(v, 1, 3600000, o.duration_ms);
        else if (a == "--expect-ms") ok = parse_long(v, 1, 3600000, o.expect_ms);
        else if (a == "--linger-ms") ok = parse_long(v, 0, 3600000, o.linger_ms);
        else if (a == "--gap-ms") ok = parse_long(v, 1, 3600000, o.gap_ms);
        else if (a == "--count") ok = parse_long(v, 0, 100000000, o.count);
        else if (a == "--size") { ok = parse_long(v, long(kHeaderSize), 65000, n); o.size = size_t(n); }
        else {
            std::fprintf(stderr, "nk_stream: unknown option '%s'\n", argv[i - 1]);
            return false;
        }
        if (!ok) {
            std::fprintf(stderr, "nk_stream: bad value '%s' for %s\n", v, argv[i - 1]);
            return false;
        }
    }
    if (o.port == 0) {
        std::fprintf(stderr, "nk_stream: --port is required\n");
        return false;
    }
    return true;
}

int run_send(const Options& o) {
    if (o.to.empty()) {
        std::fprintf(stderr, "nk_stream: send needs --to ADDR\n");
        return 2;
    }
    sockaddr_storage dst{};
    socklen_t dst_len = 0;
    if (!parse_addr(o.to, o.port, dst, dst_len)) {
        std::fprintf(stderr, "nk_stream: '%s' is not a numeric address\n", o.to.c_str());
        return 2;
    }
    int fd = socket(dst.ss_family, SOCK_DGRAM, 0);
    if (fd < 0) {
        std::printf("send: socket failed: %s\n", std::strerror(errno));
        return 1;
    }
    if (!o.from.empty()) {
        sockaddr_storage src{};
        socklen_t src_len = 0;
        if (!parse_addr(o.from, 0, src, src_len) || src.ss_family != dst.ss_family) {
            std::fprintf(stderr, "nk_stream: --from '%s' is not an address of the --to family\n",
                         o.from.c_str());
            close(fd);
            return 2;
        }
        // The source may be a care-of address that is not (yet) configured.
        int one = 1;
        if (src.ss_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof one);
        else
            setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
        if (bind(fd, reinterpret_cast<sockaddr*>(&src), src_len) != 0) {
            std::printf("send: bind to %s failed: %s\n", o.from.c_str(), std::strerror(errno));
            close(fd);
            return 1;
        }
    }
    const uint64_t total64 = uint64_t(o.rate) * uint64_t(o.duration_ms) / 1000u;
    const uint32_t total = total64 == 0 ? 1 : uint32_t(total64);
    const uint64_t period_ns = 1000000000u / o.rate;
    std::random_device rd;
    const uint32_t stream = rd();
    std::vector<unsigned char> buf(o.size, 0);
    put32(buf.data(), kMagic);
    put32(buf.data() + 4, stream);
    put32(buf.data() + 12, total);
    unsigned sent = 0, errors = 0;
    int last_errno = 0;
    const uint64_t start = now_ns();
    for (uint32_t seq = 0; seq < total; ++seq) {
        const uint64_t due = start + uint64_t(seq) * period_ns;
        timespec ts{time_t(due / 1000000000u), long(due % 1000000000u)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
        }
        put32(buf.data() + 8, seq);
        put64(buf.data() + 16, now_ns());
        if (sendto(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&dst), dst_len) ==
            static_cast<ssize_t>(buf.size())) {
            ++sent;
        } else {
            ++errors;
            last_errno = errno;
        }
    }
    const uint64_t end = now_ns();
    close(fd);
    std::printf("send: %u of %u packets to %s port %u in %.1f ms (rate %u/s, start %.3f ms monotonic), "
                "%u send errors%s%s\n",
                sent, total, o.to.c_str(), o.port, ms(end - start), o.rate, ms(start), errors,
                errors ? ", last: " : "", errors ? std::strerror(last_errno) : "");
    return 0;
}

struct Result {
    uint64_t received = 0, duplicates = 0, reordered = 0, foreign = 0;
    long expected = -1;
    long lost = -1;
    uint64_t first_ns = 0, last_ns = 0;
    uint64_t longest_gap_ns = 0;
    uint64_t after_gap_ns = 0;  // arrival of the first packet after the longest gap
    uint32_t after_gap_seq = 0;
    uint64_t delay_sum_ns = 0, delay_max_ns = 0;
    struct Gap {
        uint64_t at_ns, length_ns;
        long lost;
    };
    std::vector<Gap> gaps;   // those longer than --gap-ms
};

void print_result(const Result& r, bool json) {
    const double avg_delay = r.received ? ms(r.delay_sum_ns / r.received) : 0.0;
    if (json) {
        std::printf("{\"received\":%llu,\"expected\":%ld,\"lost\":%ld,\"duplicates\":%llu,"
                    "\"reordered\":%llu,\"longest_gap_ms\":%.3f,\"first_after_gap_ms\":%.3f,"
                    "\"first_after_gap_seq\":%u,\"first_ms\":%.3f,\"last_ms\":%.3f,"
                    "\"delay_avg_ms\":%.3f,\"delay_max_ms\":%.3f,\"foreign\":%llu,\"gaps\":[",
                    (unsigned long long)r.received, r.expected, r.lost,
                    (unsigned long long)r.duplicates, (unsigned long long)r.reordered,
                    ms(r.longest_gap_ns), ms(r.after_gap_ns), r.after_gap_seq, ms(r.first_ns),
                    ms(r.last_ns), avg_delay, ms(r.delay_max_ns), (unsigned long long)r.foreign);
        for (size_t i = 0; i < r.gaps.size(); ++i)
            std::printf("%s[%.3f,%.3f,%ld]", i ? "," : "", ms(r.gaps[i].at_ns), ms(r.gaps[i].length_ns), r.gaps[i].lost);
        std::printf("]}\n");
        return;
    }
    std::printf("received %llu\n", (unsigned long long)r.received);
    std::printf("expected %ld\n", r.expected);
    std::printf("lost %ld\n", r.lost);
    std::printf("duplicates %llu\n", (unsigned long long)r.duplicates);
    std::printf("reordered %llu\n", (unsigned long long)r.reordered);
    std::printf("longest_gap_ms %.3f\n", ms(r.longest_gap_ns));
    std::printf("first_after_gap_ms %.3f\n", ms(r.after_gap_ns));
    std::printf("first_after_gap_seq %u\n", r.after_gap_seq);
    std::printf("first_ms %.3f\n", ms(r.first_ns));
    std::printf("last_ms %.3f\n", ms(r.last_ns));
    std::printf("delay_avg_ms %.3f\n", avg_delay);
    std::printf("delay_max_ms %.3f\n", ms(r.delay_max_ns));
    std::printf("foreign %llu\n", (unsigned long long)r.foreign);
    for (const auto& g : r.gaps) std::printf("gap %.3f %.3f %ld\n", ms(g.at_ns), ms(g.length_ns), g.lost);
}

int run_receive(const Options& o) {
    sockaddr_storage addr{};
    socklen_t len = 0;
    if (!parse_addr(o.bind.empty() ? "::" : o.bind, o.port, addr, len)) {
        std::fprintf(stderr, "nk_stream: --bind '%s' is not a numeric address\n", o.bind.c_str());
        return 2;
    }
    int fd = socket(addr.ss_family, SOCK_DGRAM, 0);
    if (fd < 0) {
        std::printf("receive: socket failed: %s\n", std::strerror(errno));
        return 1;
    }
    int zero = 0, one = 1;
    if (addr.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int rcvbuf = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
        std::printf("receive: bind to port %u failed: %s\n", o.port, std::strerror(errno));
        close(fd);
        return 1;
    }
    // No SA_RESTART: the signal interrupts poll() and ends the loop.
    struct sigaction sa {};
    sa.sa_handler = request_stop;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    FILE* trace = nullptr;
    if (!o.trace.empty() && !(trace = std::fopen(o.trace.c_str(), "w"))) {
        std::printf("receive: cannot write %s: %s\n", o.trace.c_str(), std::strerror(errno));
        close(fd);
        return 1;
    }
    std::printf("receive: listening on port %u\n", o.port);
    std::fflush(stdout);

    Result r;
    r.expected = o.count;
    std::vector<bool> seen;
    bool locked = false;
    uint32_t stream = 0;
    uint32_t max_seq = 0;
    bool got_last = false;
    const uint64_t deadline = now_ns() + uint64_t(o.expect_ms) * 1000000u;
    std::vector<unsigned char> buf(65536);
    for (;;) {
        const uint64_t now = now_ns();
        if (now >= deadline || stop_requested) break;
        uint64_t wait_ns = deadline - now;
        if (got_last) {
            const uint64_t linger_end = r.last_ns + uint64_t(o.linger_ms) * 1000000u;
            if (now >= linger_end) break;
            wait_ns = std::min(wait_ns, linger_end - now);
        }
        pollfd p{fd, POLLIN, 0};
        const int rc = poll(&p, 1, int((wait_ns + 999999u) / 1000000u));
        if (rc < 0 && errno != EINTR) {
            std::printf("receive: poll failed: %s\n", std::strerror(errno));
            break;
        }
        if (rc <= 0) continue;
        const ssize_t n = recv(fd, buf.data(), buf.size(), 0);
        const uint64_t at = now_ns();
        if (n < static_cast<ssize_t>(kHeaderSize) || get32(buf.data()) != kMagic) {
            ++r.foreign;
            continue;
        }
        Packet pk{get32(buf.data() + 4), get32(buf.data() + 8), get32(buf.data() + 12),
                  get64(buf.data() + 16)};
        if (!locked) {
            locked = true;
            stream = pk.stream;
            if (r.expected < 0) r.expected = long(pk.count);
            seen.assign(size_t(std::max<long>(r.expected, long(pk.count))), false);
        } else if (pk.stream != stream) {
            ++r.foreign;
            continue;
        }
        if (pk.seq >= seen.size()) seen.resize(size_t(pk.seq) + 1, false);
        if (seen[pk.seq]) {
            ++r.duplicates;
            continue;
        }
        seen[pk.seq] = true;
        if (trace) std::fprintf(trace, "%.3f %u\n", ms(at), pk.seq);
        if (r.received > 0) {
            if (pk.seq < max_seq) ++r.reordered;
            const uint64_t gap = at - r.last_ns;
            if (o.gap_ms > 0 && gap > uint64_t(o.gap_ms) * 1000000)
                r.gaps.push_back({at, gap, pk.seq > max_seq ? long(pk.seq - max_seq - 1) : 0});
            if (gap > r.longest_gap_ns) {
                r.longest_gap_ns = gap;
                r.after_gap_ns = at;
                r.after_gap_seq = pk.seq;
            }
        } else {
            r.first_ns = at;
            r.after_gap_ns = at;
            r.after_gap_seq = pk.seq;
        }
        if (r.received == 0 || pk.seq > max_seq) max_seq = pk.seq;
        ++r.received;
        r.last_ns = at;
        const uint64_t delay = at > pk.sent_ns ? at - pk.sent_ns : 0;
        r.delay_sum_ns += delay;
        r.delay_max_ns = std::max(r.delay_max_ns, delay);
        if (pk.count > 0 && pk.seq + 1 == pk.count) got_last = true;
    }
    close(fd);
    if (trace) std::fclose(trace);
    if (r.expected >= 0) {
        // Every sequence number below the expected count that never came,
        // including the tail after the last packet received.
        long missing = 0;
        for (long i = 0; i < r.expected; ++i)
            if (size_t(i) >= seen.size() || !seen[size_t(i)]) ++missing;
        r.lost = missing;
    }
    print_result(r, o.json);
    return 0;
}

void usage() {
    std::fprintf(stderr,
                 "usage: nk_stream send --to ADDR --port P [--rate PPS] [--duration-ms D] "
                 "[--from ADDR] [--size BYTES]\n"
                 "       nk_stream receive --port P [--expect-ms D] [--linger-ms L] [--count N] "
                 "[--bind ADDR] [--gap-ms G] [--json] [--trace FILE]\n");
}

}  // namespace

int main(int argc, char** argv) {
    std::string_view what = argc > 1 ? argv[1] : "";
    if (what != "send" && what != "receive") {
        usage();
        return 2;
    }
    Options o;
    if (!parse_options(argc, argv, o)) {
        usage();
        return 2;
    }
    return what == "send" ? run_send(o) : run_receive(o);
}
