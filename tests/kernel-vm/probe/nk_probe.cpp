// nk_probe: small kernel capability checks for kernel-VM scenarios.
//   nk_probe pfkey   opens a PF_KEY v2 socket in the current namespace, sends
//                    SADB_REGISTER for ESP and checks the kernel's answer
//                    (the supported-algorithm extensions).
//   nk_probe capture DEV FILE MS
//                    captures every frame on DEV for MS milliseconds into a
//                    pcap FILE (link type Ethernet) and prints the count; the
//                    passive observer of the topology uses it.
// Exit 0 when the check holds, 1 with a reason otherwise.
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/pfkeyv2.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

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

int capture(const char* dev, const char* file, long ms) {
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
        if (left <= 0) break;
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

}  // namespace

int main(int argc, char** argv) {
    std::string_view what = argc > 1 ? argv[1] : "";
    if (what == "pfkey") return probe_pfkey();
    if (what == "capture" && argc == 5) return capture(argv[2], argv[3], std::atol(argv[4]));
    std::fprintf(stderr, "usage: nk_probe pfkey | capture DEV FILE MS\n");
    return 2;
}
