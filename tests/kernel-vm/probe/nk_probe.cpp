// nk_probe: small kernel capability checks for kernel-VM scenarios.
//   nk_probe pfkey   opens a PF_KEY v2 socket in the current namespace, sends
//                    SADB_REGISTER for ESP and checks the kernel's answer
//                    (the supported-algorithm extensions).
// Exit 0 when the check holds, 1 with a reason otherwise.
#include <linux/pfkeyv2.h>
#include <sys/socket.h>
#include <unistd.h>

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

}  // namespace

int main(int argc, char** argv) {
    std::string_view what = argc > 1 ? argv[1] : "";
    if (what == "pfkey") return probe_pfkey();
    std::fprintf(stderr, "usage: nk_probe pfkey\n");
    return 2;
}
