// nk_probe: small kernel capability checks for kernel-VM scenarios.
//   nk_probe pfkey   opens a PF_KEY v2 socket in the current namespace, sends
//                    SADB_REGISTER for ESP and checks the kernel's answer
//                    (the supported-algorithm extensions).
//   nk_probe capture DEV FILE MS
//                    captures every frame on DEV for MS milliseconds (SIGTERM
//                    ends it early, the file complete) into a
//                    pcap FILE (link type Ethernet) and prints the count; the
//                    passive observer of the topology uses it.
//   nk_probe wait-coa DEV MS [PREFIX/LEN]
//                    waits up to MS milliseconds until DEV has a usable
//                    global IPv6 address (not tentative, or optimistic; not
//                    dadfailed), inside PREFIX/LEN if given. Listens to
//                    rtnetlink first, prints "wait-coa: listening on DEV",
//                    then reads the current links and addresses, then waits
//                    for events (and reads both again every 250 ms, in case
//                    events were lost).
//                    On success prints
//                      wait-coa: ADDR on DEV usable after T ms, carrier C ms, seen S ms
//                    T: from the start of waiting (or from carrier up, when
//                    the carrier came up while waiting: C is then the time it
//                    came up, else -1), S: when the address first appeared
//                    (tentative), -1 if it was there at the start.
// Exit 0 when the check holds, 1 with a reason otherwise.
#include <csignal>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/pfkeyv2.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

namespace {

int probe_pfkey() {
    int fd = socket(PF_KEY, SOCK_RAW, PF_KEY_V2);
    if (fd < 0) {
        std::printf("pfkey: socket(PF_KEY) failed: %s\n", std::strerror(errno));
        return 1;
    }
    sadb_msg msg{};
    msg.sadb_msg_version = PF_KEY_V2;
    msg.sadb_msg_type = SADB_REGISTER;
    msg.sadb_msg_satype = SADB_SATYPE_ESP;
    msg.sadb_msg_len = sizeof msg / 8;
    msg.sadb_msg_seq = 1;
    msg.sadb_msg_pid = static_cast<uint32_t>(getpid());
    if (send(fd, &msg, sizeof msg, 0) != static_cast<ssize_t>(sizeof msg)) {
        std::printf("pfkey: send SADB_REGISTER failed: %s\n", std::strerror(errno));
        close(fd);
        return 1;
    }
    alignas(8) unsigned char buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    close(fd);
    if (n < static_cast<ssize_t>(sizeof(sadb_msg))) {
        std::printf("pfkey: short or failed reply (%zd)\n", n);
        return 1;
    }
    sadb_msg reply;
    std::memcpy(&reply, buf, sizeof reply);
    if (reply.sadb_msg_type != SADB_REGISTER || reply.sadb_msg_errno != 0 ||
        size_t(reply.sadb_msg_len) * 8 != size_t(n)) {
        std::printf("pfkey: unexpected reply type %u errno %u len %u (read %zd)\n",
                    reply.sadb_msg_type, reply.sadb_msg_errno, reply.sadb_msg_len, n);
        return 1;
    }
    int auth = 0, encrypt = 0;
    for (size_t off = sizeof(sadb_msg); off + sizeof(sadb_ext) <= size_t(n);) {
        sadb_ext ext;
        std::memcpy(&ext, buf + off, sizeof ext);
        if (ext.sadb_ext_len == 0) break;
        if (ext.sadb_ext_type == SADB_EXT_SUPPORTED_AUTH) ++auth;
        if (ext.sadb_ext_type == SADB_EXT_SUPPORTED_ENCRYPT) ++encrypt;
        off += size_t(ext.sadb_ext_len) * 8;
    }
    if (auth != 1 || encrypt != 1) {
        std::printf("pfkey: SADB_REGISTER reply lacks supported-algorithm extensions\n");
        return 1;
    }
    std::printf("pfkey: registered for ESP, %zd-byte reply with auth and encrypt algorithms\n", n);
    return 0;
}

// pcap file format: global header, then a record header per frame.
struct PcapHeader {
    uint32_t magic = 0xa1b2c3d4;
    uint16_t major = 2, minor = 4;
    int32_t zone = 0;
    uint32_t sigfigs = 0, snaplen = 65535, linktype = 1;  // LINKTYPE_ETHERNET
};
struct PcapRecord {
    uint32_t sec, usec, caplen, len;
};

volatile sig_atomic_t capture_stop = 0;
extern "C" void on_capture_stop(int) { capture_stop = 1; }

// SIGTERM ends the capture early, with the file complete.
int capture(const char* dev, const char* file, long ms) {
    signal(SIGTERM, on_capture_stop);
    int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    if (fd < 0) {
        std::printf("capture: socket(AF_PACKET) failed: %s\n", std::strerror(errno));
        return 1;
    }
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = static_cast<int>(if_nametoindex(dev));
    if (sll.sll_ifindex == 0 || bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0) {
        std::printf("capture: cannot bind to '%s': %s\n", dev, std::strerror(errno));
        close(fd);
        return 1;
    }
    packet_mreq mr{};
    mr.mr_ifindex = sll.sll_ifindex;
    mr.mr_type = PACKET_MR_PROMISC;
    setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr);
    FILE* out = std::fopen(file, "wb");
    if (!out) {
        std::printf("capture: cannot write '%s': %s\n", file, std::strerror(errno));
        close(fd);
        return 1;
    }
    PcapHeader header;
    std::fwrite(&header, sizeof header, 1, out);
    std::fflush(out);
    // Tell the scenario we listen: it may start its traffic now.
    std::printf("capture: listening on %s\n", dev);
    std::fflush(stdout);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    unsigned char frame[65536];
    unsigned count = 0;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0 || capture_stop) break;
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
        ssize_t n = recv(fd, frame, sizeof frame, 0);
        if (n <= 0) continue;
        auto now = std::chrono::system_clock::now().time_since_epoch();
        auto usec = std::chrono::duration_cast<std::chrono::microseconds>(now).count();
        PcapRecord rec{static_cast<uint32_t>(usec / 1000000), static_cast<uint32_t>(usec % 1000000),
                       static_cast<uint32_t>(n), static_cast<uint32_t>(n)};
        std::fwrite(&rec, sizeof rec, 1, out);
        std::fwrite(frame, 1, static_cast<size_t>(n), out);
        ++count;
    }
    std::fclose(out);
    close(fd);
    std::printf("capture: %u frames on %s\n", count, dev);
    return 0;
}

// wait-coa: rtnetlink address and link events of one device.
bool in_prefix(const in6_addr& a, const in6_addr& prefix, int len) {
    for (int bit = 0; bit < len; ++bit) {
        const int byte = bit / 8, mask = 0x80 >> (bit % 8);
        if ((a.s6_addr[byte] & mask) != (prefix.s6_addr[byte] & mask)) return false;
    }
    return true;
}

// IFF_LOWER_UP (carrier) lives in <linux/if.h>, which clashes with <net/if.h>.
constexpr unsigned kIffLowerUp = 0x10000;

// Asks for a dump of the links (RTM_GETLINK) or IPv6 addresses (RTM_GETADDR).
bool request_dump(int fd, uint16_t type, uint32_t seq) {
    struct {
        nlmsghdr h;
        ifaddrmsg m;  // same size as the start of ifinfomsg for a dump request
        unsigned char pad[16];
    } req{};
    req.h.nlmsg_len = NLMSG_LENGTH(type == RTM_GETLINK ? sizeof(ifinfomsg) : sizeof(ifaddrmsg));
    req.h.nlmsg_type = type;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.h.nlmsg_seq = seq;
    req.m.ifa_family = type == RTM_GETLINK ? AF_UNSPEC : AF_INET6;
    return send(fd, &req, req.h.nlmsg_len, 0) == static_cast<ssize_t>(req.h.nlmsg_len);
}

int wait_coa(const char* dev, long ms, const char* prefix_arg) {
    using clock = std::chrono::steady_clock;
    const unsigned ifindex = if_nametoindex(dev);
    if (ifindex == 0) {
        std::printf("wait-coa: no device '%s'\n", dev);
        return 1;
    }
    in6_addr prefix{};
    int prefix_len = 0;
    if (prefix_arg) {
        const char* slash = std::strchr(prefix_arg, '/');
        std::string_view text(prefix_arg, slash ? size_t(slash - prefix_arg) : std::strlen(prefix_arg));
        char buf[INET6_ADDRSTRLEN] = {};
        if (!slash || text.size() >= sizeof buf) {
            std::printf("wait-coa: prefix '%s' is not ADDR/LEN\n", prefix_arg);
            return 2;
        }
        std::memcpy(buf, text.data(), text.size());
        prefix_len = std::atoi(slash + 1);
        if (inet_pton(AF_INET6, buf, &prefix) != 1 || prefix_len < 0 || prefix_len > 128) {
            std::printf("wait-coa: prefix '%s' is not ADDR/LEN\n", prefix_arg);
            return 2;
        }
    }
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    sockaddr_nl local{};
    local.nl_family = AF_NETLINK;
    local.nl_groups = RTMGRP_LINK | RTMGRP_IPV6_IFADDR;
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
        std::printf("wait-coa: rtnetlink socket failed: %s\n", std::strerror(errno));
        if (fd >= 0) close(fd);
        return 1;
    }
    std::printf("wait-coa: listening on %s\n", dev);
    std::fflush(stdout);
    const auto start = clock::now();
    auto since = [&](clock::time_point t) {
        return double(std::chrono::duration_cast<std::chrono::microseconds>(t - start).count()) / 1000.0;
    };
    // Events subscribed first, then the current state: the links (carrier),
    // then the addresses. An address counts only while the device has
    // carrier; when the carrier comes (back) the addresses are read again,
    // since the kernel may keep an address through a carrier loss without a
    // new event.
    // Events can be lost (ENOBUFS): every 250 ms the links and the
    // addresses are read again as well.
    uint32_t seq = 1;
    bool dump_running = request_dump(fd, RTM_GETLINK, seq);
    uint16_t dump_kind = RTM_GETLINK;
    bool links_known = false, redump = false, carrier = false, resync = false;
    auto next_resync = start + std::chrono::milliseconds(250);
    double carrier_ms = -1, seen_ms = -1;
    bool in_first_dump = true;
    if (!dump_running) {
        std::printf("wait-coa: link dump request failed: %s\n", std::strerror(errno));
        close(fd);
        return 1;
    }
    const auto deadline = start + std::chrono::milliseconds(ms);
    alignas(nlmsghdr) unsigned char buf[65536];
    for (;;) {
        const auto now = clock::now();
        if (now >= deadline) break;
        if (now >= next_resync) {
            resync = true;
            next_resync = now + std::chrono::milliseconds(250);
        }
        if (resync && !dump_running) {
            resync = false;
            dump_kind = RTM_GETLINK;
            dump_running = request_dump(fd, dump_kind, ++seq);
        }
        pollfd p{fd, POLLIN, 0};
        const auto until = std::min(deadline, next_resync);
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count() + 1;
        if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
        ssize_t got = recv(fd, buf, sizeof buf, 0);
        const auto at = clock::now();
        if (got < 0 && errno == ENOBUFS) {
            // Missed events: a dump in progress may be broken too.
            dump_running = false;
            resync = true;
            continue;
        }
        if (got <= 0) continue;
        int n = static_cast<int>(got);
        for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
                if (h->nlmsg_seq != seq || !dump_running) continue;
                dump_running = false;
                if (dump_kind == RTM_GETLINK) {
                    links_known = true;
                    redump = true;  // now the addresses
                } else {
                    in_first_dump = false;
                }
                continue;
            }
            if (h->nlmsg_type == RTM_NEWLINK) {
                auto* ifi = static_cast<ifinfomsg*>(NLMSG_DATA(h));
                if (unsigned(ifi->ifi_index) != ifindex) continue;
                const bool up = (ifi->ifi_flags & kIffLowerUp) != 0;
                if (up && !carrier) {
                    if (links_known) carrier_ms = since(at);
                    redump = links_known;
                }
                if (!up) carrier_ms = -1;
                carrier = up;
                continue;
            }
            if (h->nlmsg_type != RTM_NEWADDR || !links_known) continue;
            auto* ifa = static_cast<ifaddrmsg*>(NLMSG_DATA(h));
            if (ifa->ifa_family != AF_INET6 || ifa->ifa_index != ifindex ||
                ifa->ifa_scope != RT_SCOPE_UNIVERSE)
                continue;
            uint32_t flags = ifa->ifa_flags;
            const in6_addr* addr = nullptr;
            int len = static_cast<int>(IFA_PAYLOAD(h));
            for (auto* rta = IFA_RTA(ifa); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
                if (rta->rta_type == IFA_ADDRESS && RTA_PAYLOAD(rta) == sizeof(in6_addr))
                    addr = static_cast<const in6_addr*>(RTA_DATA(rta));
                if (rta->rta_type == IFA_FLAGS && RTA_PAYLOAD(rta) == sizeof(uint32_t))
                    std::memcpy(&flags, RTA_DATA(rta), sizeof flags);
            }
            if (!addr || (prefix_arg && !in_prefix(*addr, prefix, prefix_len))) continue;
            if (seen_ms < 0 && !in_first_dump) seen_ms = since(at);
            const bool usable = (!(flags & IFA_F_TENTATIVE) || (flags & IFA_F_OPTIMISTIC)) &&
                                !(flags & IFA_F_DADFAILED);
            if (!usable || !carrier) continue;
            char text[INET6_ADDRSTRLEN];
            inet_ntop(AF_INET6, addr, text, sizeof text);
            const double t = since(at);
            std::printf("wait-coa: %s on %s usable after %.1f ms, carrier %.1f ms, seen %.1f ms%s\n",
                        text, dev, carrier_ms >= 0 ? t - carrier_ms : t, carrier_ms, seen_ms,
                        (flags & IFA_F_OPTIMISTIC) ? " (optimistic)" : "");
            close(fd);
            return 0;
        }
        if (redump && !dump_running) {
            redump = false;
            dump_kind = RTM_GETADDR;
            dump_running = request_dump(fd, dump_kind, ++seq);
        }
    }
    close(fd);
    std::printf("wait-coa: no usable global address on %s within %ld ms\n", dev, ms);
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    std::string_view what = argc > 1 ? argv[1] : "";
    if (what == "pfkey") return probe_pfkey();
    if (what == "capture" && argc == 5) return capture(argv[2], argv[3], std::atol(argv[4]));
    if (what == "wait-coa" && (argc == 4 || argc == 5))
        return wait_coa(argv[2], std::atol(argv[3]), argc == 5 ? argv[4] : nullptr);
    std::fprintf(stderr, "usage: nk_probe pfkey | capture DEV FILE MS | wait-coa DEV MS [PREFIX/LEN]\n");
    return 2;
}
