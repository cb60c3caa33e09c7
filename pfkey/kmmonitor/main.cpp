// kmmonitor: every key-management event seen on PF_KEY and on XFRM netlink,
// one line per event (or one JSON object per line with -j), flushed as it
// comes; unknown messages are printed in hex. The way `ip xfrm monitor`
// and `setkey -x` work, together.
#include <linux/pfkeyv2.h>
#include <linux/xfrm.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <set>
#include <string>

#include "pfkey/kmmonitor/event_format.hpp"
#include "pfkey/transport/pfkey_socket.hpp"
#include "pfkey/transport/xfrm_socket.hpp"

namespace {

using namespace nemokey::pfkey;
using namespace nemokey::pfkey::kmmonitor;

constexpr int kExitOk = 0, kExitKernel = 1, kExitUsage = 2;

const char* const kUsage =
    "usage: kmmonitor [OPTIONS] [all | acquire | expire | sa | policy | migrate | mapping]...\n"
    "Prints key-management events from PF_KEY and XFRM netlink, one per line.\n"
    "  -j, --json          one JSON object per line\n"
    "  -t, --timestamp     prefix text lines with the UTC time (the default)\n"
    "  -T, --no-timestamp  leave the time out of text lines\n"
    "      --replay FILE   decode a capture file ('-' for stdin) instead of the kernel\n"
    "      --capture FILE  append every datagram seen to FILE (the --replay format)\n"
    "      --count N       exit after N printed events\n"
    "      --timeout S     exit after S seconds (default: run until interrupted)\n"
    "      --promisc       PF_KEY promiscuous mode: every PF_KEY message of the namespace\n"
    "      --no-pfkey      do not open PF_KEY\n"
    "      --no-xfrm       do not open XFRM netlink\n"
    "      --ready-fd N    write 'ready' to file descriptor N once listening, then close it\n"
    "  -h, --help          this text\n"
    "Capture lines read '[TIME ]pfkey|xfrm HEX'. Exit: 0 ok, 1 kernel failure, 2 usage.\n";

struct Options {
    bool json = false;
    bool timestamps = true;
    std::string replay;
    std::string capture;
    long count = 0;
    long timeout_s = 0;
    bool promisc = false;
    bool pfkey = true;
    bool xfrm = true;
    int ready_fd = -1;
    std::set<Category> categories;  // empty = all
};

class Printer {
public:
    explicit Printer(const Options& o) : o_(o) {
        if (!o.capture.empty()) capture_.open(o.capture, std::ios::app);
    }
    bool capture_ok() const { return o_.capture.empty() || capture_.good(); }

    // Returns false once --count events have been printed.
    bool handle(const Datagram& d) {
        if (capture_.is_open()) capture_ << to_capture_line(d) << '\n' << std::flush;
        for (const auto& r : describe(d)) {
            const bool wanted = o_.categories.empty() || o_.categories.count(r.category) != 0;
            if (!wanted) continue;
            const std::string line = o_.json ? r.json.dump() : to_text(r.json, o_.timestamps);
            std::fwrite(line.data(), 1, line.size(), stdout);
            std::fputc('\n', stdout);
            std::fflush(stdout);
            if (o_.count > 0 && ++printed_ >= o_.count) return false;
        }
        return true;
    }

private:
    const Options& o_;
    std::ofstream capture_;
    long printed_ = 0;
};

int replay(const Options& o, Printer& p) {
    std::ifstream file;
    std::istream* in = &std::cin;
    if (o.replay != "-") {
        file.open(o.replay);
        if (!file) {
            std::fprintf(stderr, "kmmonitor: cannot read '%s': %s\n", o.replay.c_str(), std::strerror(errno));
            return kExitUsage;
        }
        in = &file;
    }
    std::string line;
    size_t lineno = 0;
    while (std::getline(*in, line)) {
        ++lineno;
        if (line.empty() || line[0] == '#') continue;
        std::string error;
        auto d = parse_capture_line(line, error);
        if (!d) {
            std::fprintf(stderr, "kmmonitor: %s:%zu: %s\n", o.replay.c_str(), lineno, error.c_str());
            return kExitUsage;
        }
        if (!p.handle(*d)) break;
    }
    return kExitOk;
}

// A socket error from a monitored socket: an overrun (ENOBUFS) means the
// kernel dropped events, which is said and survived; anything else ends
// the run as a kernel failure.
bool report_socket_error(const TransportError& e, int& failures, boost::asio::io_context& io) {
    std::fprintf(stderr, "kmmonitor: %s\n", e.to_string().c_str());
    if (e.errno_value == ENOBUFS) return true;
    ++failures;
    io.stop();
    return false;
}

int live(const Options& o, Printer& p) {
    boost::asio::io_context io;
    std::unique_ptr<PfkeySocket> pf;
    std::unique_ptr<XfrmSocket> nl;
    int failures = 0;
    // --ready-fd: written once the netlink groups are joined and the PF_KEY
    // registrations are answered.
    int setup_left = 0;
    auto ready = [&o] {
        if (o.ready_fd < 0) return;
        (void)!::write(o.ready_fd, "ready\n", 6);
        ::close(o.ready_fd);
    };
    auto setup_done = [&] {
        if (--setup_left == 0) ready();
    };
    bool done = false;  // --count reached: the rest of a drained batch is not printed
    auto print = [&](Source source, std::vector<uint8_t> bytes) {
        if (done) return;
        if (!p.handle(Datagram{std::chrono::system_clock::now(), source, std::move(bytes)})) {
            done = true;
            io.stop();
        }
    };
    if (o.xfrm) {
        auto s = XfrmSocket::open(io, {XFRMNLGRP_ACQUIRE, XFRMNLGRP_EXPIRE, XFRMNLGRP_SA,
                                       XFRMNLGRP_POLICY, XFRMNLGRP_MIGRATE, XFRMNLGRP_MAPPING,
                                       XFRMNLGRP_REPORT});
        if (s) {
            nl = std::move(s).value();
            nl->set_event_handler([&](XfrmEvent ev) {
                if (ev.bytes.empty()) {
                    report_socket_error(ev.message.error(), failures, io);
                    return;
                }
                print(Source::xfrm, std::move(ev.bytes));
            });
        } else {
            std::fprintf(stderr, "kmmonitor: XFRM netlink unavailable: %s\n", s.error().to_string().c_str());
        }
    }
    if (o.pfkey) {
        auto s = PfkeySocket::open(io);
        if (s) {
            pf = std::move(s).value();
            // Messages that arrive while registering are events like any
            // other: the socket hands them to this handler, in order.
            pf->set_event_handler([&](PfkeyEvent ev) {
                if (ev.datagram.empty()) {
                    report_socket_error(ev.message.error(), failures, io);
                    return;
                }
                print(Source::pfkey, std::move(ev.datagram));
            });
            // Registered sockets get ACQUIRE and EXPIRE (RFC 2367 sec. 3.1.2);
            // SA, policy and MIGRATE messages reach every PF_KEY socket.
            for (uint8_t satype : {SADB_SATYPE_ESP, SADB_SATYPE_AH, SADB_X_SATYPE_IPCOMP}) {
                ++setup_left;
                pf->async_register(satype, [satype, &setup_done](TransportResult<PfkeyMessage> r) {
                    setup_done();
                    if (!r)
                        std::fprintf(stderr, "kmmonitor: SADB_REGISTER %s: %s\n", satype_name(satype).c_str(),
                                     r.error().to_string().c_str());
                });
            }
            if (o.promisc) {
                PfkeyMessage m;
                m.header.type = SADB_X_PROMISC;
                m.header.satype = 1;
                ++setup_left;
                pf->async_request(m, [&setup_done](TransportResult<PfkeyMessage> r) {
                    setup_done();
                    if (!r) std::fprintf(stderr, "kmmonitor: SADB_X_PROMISC: %s\n", r.error().to_string().c_str());
                });
            }
        } else {
            std::fprintf(stderr, "kmmonitor: PF_KEY unavailable: %s\n", s.error().to_string().c_str());
        }
    }
    if (!pf && !nl) return kExitKernel;
    if (setup_left == 0) ready();
    // On SIGINT/SIGTERM: print what the kernel has already queued, then stop.
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](auto ec, int) {
        if (ec) return;
        auto stop = [&io] { io.stop(); };
        if (nl && pf)
            nl->async_drain([&, stop] { pf->async_drain(stop); });
        else if (nl)
            nl->async_drain(stop);
        else
            pf->async_drain(stop);
    });
    boost::asio::steady_timer timer(io);
    if (o.timeout_s > 0) {
        timer.expires_after(std::chrono::seconds(o.timeout_s));
        timer.async_wait([&io](auto ec) {
            if (!ec) io.stop();
        });
    }
    io.run();
    return failures ? kExitKernel : kExitOk;
}

bool parse_long(const char* s, long& out) {
    char* end = nullptr;
    errno = 0;
    out = std::strtol(s, &end, 10);
    return errno == 0 && end && *end == 0 && out >= 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&](const char* name) -> const char* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "kmmonitor: %s needs a value\n%s", name, kUsage);
                std::exit(kExitUsage);
            }
            return argv[++i];
        };
        if (a == "-j" || a == "--json") {
            o.json = true;
        } else if (a == "-t" || a == "--timestamp") {
            o.timestamps = true;
        } else if (a == "-T" || a == "--no-timestamp") {
            o.timestamps = false;
        } else if (a == "--replay") {
            o.replay = value("--replay");
        } else if (a == "--capture") {
            o.capture = value("--capture");
        } else if (a == "--count" || a == "--timeout") {
            const char* v = value(a.c_str());
            long n;
            if (!parse_long(v, n)) {
                std::fprintf(stderr, "kmmonitor: %s '%s' is not a non-negative number\n", a.c_str(), v);
                return kExitUsage;
            }
            (a == "--count" ? o.count : o.timeout_s) = n;
        } else if (a == "--promisc") {
            o.promisc = true;
        } else if (a == "--no-pfkey") {
            o.pfkey = false;
        } else if (a == "--ready-fd") {
            const char* v = value("--ready-fd");
            long n;
            if (!parse_long(v, n) || n > 1 << 20) {
                std::fprintf(stderr, "kmmonitor: --ready-fd '%s' is not a file descriptor\n", v);
                return kExitUsage;
            }
            o.ready_fd = int(n);
        } else if (a == "--no-xfrm") {
            o.xfrm = false;
        } else if (a == "-h" || a == "--help" || a == "help") {
            std::fputs(kUsage, stdout);
            return kExitOk;
        } else if (a == "all") {
            o.categories.clear();
        } else if (auto c = parse_category(a)) {
            o.categories.insert(*c);
        } else {
            std::fprintf(stderr, "kmmonitor: unknown argument '%s'\n%s", a.c_str(), kUsage);
            return kExitUsage;
        }
    }
    Printer p(o);
    if (!p.capture_ok()) {
        std::fprintf(stderr, "kmmonitor: cannot write '%s': %s\n", o.capture.c_str(), std::strerror(errno));
        return kExitUsage;
    }
    return o.replay.empty() ? live(o, p) : replay(o, p);
}
