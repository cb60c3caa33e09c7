// nk_bu_load: a Binding Update load generator for the home agent benchmark
// (tests/bench/mobility/registrations/ha-registrations.sh; needs a home
// agent run with --benchmark-unprotected-bus: the BUs carry no ESP).
//
//   nk_bu_load config DIR COUNT HOA-BASE
//       writes COUNT node files DIR/nodes.d/bench-NNNNN.toml (mobile nodes,
//       home address HOA-BASE + i, static keying with distinct SPIs and the
//       shared key file DIR/keys/bench.keys, written 0600) for the home
//       agent's nodes-dir.
//   nk_bu_load run --ha ADDR --interface IF --count N --hoa-base ADDR
//                  --coa-base ADDR [--window W] [--lifetime-s S]
//                  [--retransmit-ms R] [--max-ms M] [--json]
//       registers N home addresses (HOA-BASE + i) from N care-of addresses
//       (COA-BASE + i): a BU (A and H set, sequence 1, then +1 per
//       retransmission) from each care-of address with a Home Address
//       option (RFC 6275 sec. 6.3, 11.7.1), sent through an IPPROTO_RAW
//       socket, at most W (default 1000) unanswered at a time; unanswered
//       after R ms (default 3000) it is sent again. BAs are read from an
//       AF_PACKET socket on IF (the route to COA-BASE's prefix ends there)
//       and decoded with their type 2 routing header (RFC 6275 sec. 6.4).
//       Stops when every home address has an answer or after M ms (default
//       600000). Prints "key value" lines (or one JSON object): sent,
//       retransmitted, accepted, rejected, foreign, elapsed_ms,
//       registrations_per_s (accepted / elapsed), ms_to_1000, ms_to_10000
//       (-1: not reached), peak_per_s (best 1 s window) and, every 1000
//       accepted, "progress N MS".
// Exit 0 when it ran (the scenario judges the figures), 2 on bad usage, 1
// when a socket cannot be set up.
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "conf/net/address.hpp"
#include "mobility/core/mh/packet.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using nemokey::net::Ipv6Address;
namespace mh = nemokey::mobility::mh;

Ipv6Address plus(Ipv6Address a, uint32_t n) {
    uint64_t low = 0;
    for (int i = 8; i < 16; ++i) low = low << 8 | a.bytes[i];
    low += n;
    for (int i = 15; i >= 8; --i, low >>= 8) a.bytes[i] = uint8_t(low);
    return a;
}

// Index of `a` counted from `base` (the low 64 bits), or -1.
int64_t index_of(const Ipv6Address& a, const Ipv6Address& base) {
    if (!std::equal(a.bytes.begin(), a.bytes.begin() + 8, base.bytes.begin())) return -1;
    uint64_t x = 0, b = 0;
    for (int i = 8; i < 16; ++i) {
        x = x << 8 | a.bytes[i];
        b = b << 8 | base.bytes[i];
    }
    return x >= b ? int64_t(x - b) : -1;
}

int usage() {
    std::fprintf(stderr,
                 "usage: nk_bu_load config DIR COUNT HOA-BASE\n"
                 "       nk_bu_load run --ha ADDR --interface IF --count N --hoa-base ADDR --coa-base ADDR\n"
                 "                      [--window W] [--lifetime-s S] [--retransmit-ms R] [--max-ms M] [--json]\n");
    return 2;
}

int write_config(const std::string& dir, uint32_t count, const Ipv6Address& hoa_base) {
    namespace fs = std::filesystem;
    fs::create_directories(fs::path(dir) / "nodes.d");
    fs::create_directories(fs::path(dir) / "keys");
    const auto keys = fs::path(dir) / "keys" / "bench.keys";
    std::ofstream(keys) << "to-home-agent   0x000102030405060708090a0b0c0d0e0f10111213\n"
                           "from-home-agent 0x101112131415161718191a1b1c1d1e1f20212223\n";
    ::chmod(keys.c_str(), 0600);
    for (uint32_t i = 0; i < count; ++i) {
        char name[64];
        std::snprintf(name, sizeof name, "bench-%05u.toml", i);
        std::ofstream f(fs::path(dir) / "nodes.d" / name);
        f << "identity = \"bench-" << i << ".testbed.example\"\n"
          << "role = \"mobile-node\"\n"
          << "home-address = \"" << plus(hoa_base, i).to_string() << "\"\n"
          << "[keying]\nmethod = \"static\"\n[keying.static]\nencryption = \"aes128-gcm16\"\nintegrity = \"none\"\n"
          << "spi-to-home-agent = " << (0x100000 + i) << "\nspi-from-home-agent = " << (0x200000 + i) << "\n"
          << "key-file = \"../keys/bench.keys\"\n"
          << "[protection]\npayload-tunnel = false\nhome-test = false\n";
        if (!f) {
            std::fprintf(stderr, "nk_bu_load: cannot write %s\n", name);
            return 1;
        }
    }
    std::printf("config %u node files in %s/nodes.d\n", count, dir.c_str());
    return 0;
}

struct Node {
    uint16_t sequence = 0;
    Clock::time_point sent{};
    bool answered = false;
    bool queued = false;
};

int run(int argc, char** argv) {
    std::string interface;
    std::optional<Ipv6Address> ha, hoa_base, coa_base;
    uint32_t count = 0, window = 1000, lifetime_s = 600, retransmit_ms = 3000, max_ms = 600000;
    bool json = false;
    for (int i = 2; i < argc; ++i) {
        std::string_view a = argv[i];
        auto value = [&]() -> std::string_view { return i + 1 < argc ? std::string_view(argv[++i]) : ""; };
        auto number = [&](uint32_t& out) { out = uint32_t(std::strtoul(std::string(value()).c_str(), nullptr, 10)); };
        if (a == "--ha") ha = Ipv6Address::parse(value());
        else if (a == "--interface") interface = value();
        else if (a == "--count") number(count);
        else if (a == "--hoa-base") hoa_base = Ipv6Address::parse(value());
        else if (a == "--coa-base") coa_base = Ipv6Address::parse(value());
        else if (a == "--window") number(window);
        else if (a == "--lifetime-s") number(lifetime_s);
        else if (a == "--retransmit-ms") number(retransmit_ms);
        else if (a == "--max-ms") number(max_ms);
        else if (a == "--json") json = true;
        else return usage();
    }
    if (!ha || !hoa_base || !coa_base || interface.empty() || count == 0 || window == 0) return usage();
    const unsigned ifindex = ::if_nametoindex(interface.c_str());
    if (ifindex == 0) {
        std::fprintf(stderr, "nk_bu_load: interface '%s': %s\n", interface.c_str(), std::strerror(errno));
        return 1;
    }
    int tx = ::socket(AF_INET6, SOCK_RAW, IPPROTO_RAW);   // IPv6 header included
    int rx = ::socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK, htons(ETH_P_IPV6));
    if (tx < 0 || rx < 0) {
        std::fprintf(stderr, "nk_bu_load: sockets: %s\n", std::strerror(errno));
        return 1;
    }
    sockaddr_ll ll{};
    ll.sll_family = AF_PACKET;
    ll.sll_protocol = htons(ETH_P_IPV6);
    ll.sll_ifindex = int(ifindex);
    const int on = 1, big = 8 << 20;
    if (::bind(rx, reinterpret_cast<sockaddr*>(&ll), sizeof ll) != 0 ||
        ::setsockopt(rx, SOL_PACKET, PACKET_IGNORE_OUTGOING, &on, sizeof on) != 0) {
        std::fprintf(stderr, "nk_bu_load: AF_PACKET on %s: %s\n", interface.c_str(), std::strerror(errno));
        return 1;
    }
    ::setsockopt(rx, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    ::setsockopt(tx, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big);

    std::vector<Node> nodes(count);
    std::deque<uint32_t> todo;   // first sends, then retransmissions
    for (uint32_t i = 0; i < count; ++i) todo.push_back(i);
    uint64_t sent = 0, retransmitted = 0, accepted = 0, rejected = 0, foreign = 0, send_failed = 0;
    std::map<int, uint64_t> statuses;
    std::vector<int64_t> accept_ms;   // arrival of each accepted BA, ms since the start
    uint32_t outstanding = 0;
    const auto start = Clock::now();
    auto ms_since = [&](Clock::time_point t) { return std::chrono::duration_cast<std::chrono::milliseconds>(t - start).count(); };
    std::deque<uint32_t> in_flight;   // send order, for retransmission
    std::vector<uint8_t> buffer(2048);

    auto send_bu = [&](uint32_t i) {
        Node& n = nodes[i];
        ++n.sequence;
        mh::MhPacket p;
        p.source = plus(*coa_base, i);
        p.destination = *ha;
        p.home_address = mh::HomeAddressOption{plus(*hoa_base, i)};
        mh::BindingUpdate bu;
        bu.sequence_number = n.sequence;
        bu.acknowledge = true;
        bu.home_registration = true;
        bu.lifetime = uint16_t(lifetime_s / 4);
        p.message = bu;
        auto bytes = mh::encode_packet(p);
        if (!bytes.ok()) return;
        sockaddr_in6 to{};
        to.sin6_family = AF_INET6;
        std::memcpy(&to.sin6_addr, ha->bytes.data(), 16);
        if (::sendto(tx, bytes->data(), bytes->size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) {
            ++send_failed;
            return;
        }
        n.sent = Clock::now();
        if (n.sequence > 1) ++retransmitted;
        ++sent;
    };

    bool progress_printed_for[64] = {};
    while (accepted + rejected < count) {
        const auto now = Clock::now();
        if (ms_since(now) > int64_t(max_ms)) break;
        // Retransmit what waited too long.
        while (!in_flight.empty()) {
            uint32_t i = in_flight.front();
            if (nodes[i].answered) {
                in_flight.pop_front();
                continue;
            }
            if (now - nodes[i].sent < std::chrono::milliseconds(retransmit_ms)) break;
            in_flight.pop_front();
            send_bu(i);
            in_flight.push_back(i);
        }
        while (outstanding < window && !todo.empty()) {
            uint32_t i = todo.front();
            todo.pop_front();
            send_bu(i);
            ++outstanding;
            in_flight.push_back(i);
        }
        pollfd p{rx, POLLIN, 0};
        ::poll(&p, 1, 20);
        for (;;) {
            ssize_t got = ::recv(rx, buffer.data(), buffer.size(), MSG_DONTWAIT);
            if (got < 0) break;
            auto decoded = mh::decode_packet(std::span<const uint8_t>(buffer.data(), size_t(got)));
            if (!decoded.ok()) continue;
            const auto* ba = std::get_if<mh::BindingAcknowledgement>(&decoded->packet.message);
            if (!ba || !decoded->packet.routing_header) {
                ++foreign;
                continue;
            }
            const int64_t i = index_of(decoded->packet.routing_header->home_address, *hoa_base);
            if (i < 0 || i >= int64_t(count) || nodes[size_t(i)].answered) {
                ++foreign;
                continue;
            }
            Node& n = nodes[size_t(i)];
            if (ba->sequence_number != n.sequence) continue;   // an answer to an earlier send
            n.answered = true;
            --outstanding;
            statuses[int(ba->status)]++;
            if (mh::is_accepted(ba->status)) {
                ++accepted;
                accept_ms.push_back(ms_since(Clock::now()));
                if (accepted % 1000 == 0 && accepted / 1000 < 64 && !progress_printed_for[accepted / 1000]) {
                    progress_printed_for[accepted / 1000] = true;
                    if (!json) std::printf("progress %lu %ld\n", (unsigned long)accepted, (long)accept_ms.back());
                    std::fflush(stdout);
                }
            } else {
                ++rejected;
            }
        }
    }
    const int64_t elapsed = accept_ms.empty() ? ms_since(Clock::now()) : accept_ms.back();
    auto ms_to = [&](size_t k) { return accept_ms.size() >= k ? accept_ms[k - 1] : int64_t(-1); };
    // The best one-second window of accepted registrations.
    size_t peak = 0;
    for (size_t a = 0, b = 0; b < accept_ms.size(); ++b) {
        while (accept_ms[b] - accept_ms[a] >= 1000) ++a;
        peak = std::max(peak, b - a + 1);
    }
    const double rate = elapsed > 0 ? double(accepted) * 1000.0 / double(elapsed) : 0.0;
    std::string status_text;
    for (auto [s, n] : statuses) status_text += (status_text.empty() ? "" : ",") + std::to_string(s) + ":" + std::to_string(n);
    if (json) {
        std::printf("{\"sent\":%lu,\"retransmitted\":%lu,\"send_failed\":%lu,\"accepted\":%lu,\"rejected\":%lu,"
                    "\"foreign\":%lu,\"elapsed_ms\":%ld,\"registrations_per_s\":%.1f,\"ms_to_1000\":%ld,"
                    "\"ms_to_10000\":%ld,\"peak_per_s\":%zu,\"statuses\":\"%s\"}\n",
                    (unsigned long)sent, (unsigned long)retransmitted, (unsigned long)send_failed,
                    (unsigned long)accepted, (unsigned long)rejected, (unsigned long)foreign, (long)elapsed, rate,
                    (long)ms_to(1000), (long)ms_to(10000), peak, status_text.c_str());
    } else {
        std::printf("sent %lu\nretransmitted %lu\nsend_failed %lu\naccepted %lu\nrejected %lu\nforeign %lu\n"
                    "elapsed_ms %ld\nregistrations_per_s %.1f\nms_to_1000 %ld\nms_to_10000 %ld\npeak_per_s %zu\n"
                    "statuses %s\n",
                    (unsigned long)sent, (unsigned long)retransmitted, (unsigned long)send_failed,
                    (unsigned long)accepted, (unsigned long)rejected, (unsigned long)foreign, (long)elapsed, rate,
                    (long)ms_to(1000), (long)ms_to(10000), peak, status_text.empty() ? "-" : status_text.c_str());
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage();
    std::string_view command = argv[1];
    if (command == "config") {
        if (argc != 5) return usage();
        auto base = Ipv6Address::parse(argv[4]);
        if (!base) return usage();
        return write_config(argv[2], uint32_t(std::strtoul(argv[3], nullptr, 10)), *base);
    }
    if (command == "run") return run(argc, argv);
    return usage();
}
