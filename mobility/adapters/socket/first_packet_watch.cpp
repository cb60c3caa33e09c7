#include "mobility/adapters/socket/first_packet_watch.hpp"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

namespace nemokey::mobility::adapters {

namespace asio = boost::asio;

namespace {

// Passes an IPv6 packet (offsets from the network header: SOCK_DGRAM) whose
// next header is 41 or 50, directly or after one Destination Options header
// (the Tunnel Encapsulation Limit option of RFC 2473 sec. 4.1.1, which the
// home agent's external tunnel adds: drafts-notes/kernel-contract.md), and
// whose destination is `coa`.
std::vector<sock_filter> tunnel_to(const net::Ipv6Address& coa) {
    std::vector<sock_filter> f;
    constexpr uint8_t destination = 7;   // index of the first address load
    constexpr uint8_t reject = 16;       // index of "ret 0"
    auto at = [&] { return static_cast<uint8_t>(f.size()); };
    auto to = [&](uint8_t target) { return static_cast<uint8_t>(target - at() - 1); };
    f.push_back(BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 6));                                   // 0: next header
    f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_IPV6, to(destination), 0));   // 1
    f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_ESP, to(destination), 0));    // 2
    f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_DSTOPTS, 0, to(reject)));     // 3
    f.push_back(BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 40));                                  // 4: its next header
    f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_IPV6, to(destination), 0));   // 5
    f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_ESP, 0, to(reject)));         // 6
    for (int word = 0; word < 4; ++word) {                                                // 7..14
        const uint8_t* b = coa.bytes.data() + 4 * word;
        const uint32_t k = uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 | b[3];
        f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<uint32_t>(24 + 4 * word)));
        f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, k, 0, to(reject)));
    }
    f.push_back(BPF_STMT(BPF_RET | BPF_K, 64));                                           // 15: pass
    f.push_back(BPF_STMT(BPF_RET | BPF_K, 0));                                            // 16: reject
    return f;
}

int64_t ns_of(const timespec& t) { return int64_t(t.tv_sec) * 1'000'000'000 + t.tv_nsec; }

}  // namespace

struct FirstPacketWatch::Impl : std::enable_shared_from_this<Impl> {
    Impl(asio::io_context& io, Seen s) : descriptor(io), seen(std::move(s)) {}
    asio::posix::stream_descriptor descriptor;
    Seen seen;

    void wait() {
        descriptor.async_wait(asio::posix::stream_descriptor::wait_read,
                              [weak = weak_from_this()](const boost::system::error_code& ec) {
                                  auto self = weak.lock();
                                  if (!self || ec || !self->seen) return;
                                  if (!self->read()) self->wait();
                              });
    }

    // True once the first packet was taken (and reported).
    bool read() {
        std::array<uint8_t, 64> buffer;
        alignas(cmsghdr) std::array<uint8_t, CMSG_SPACE(sizeof(timespec))> control{};
        iovec iov{buffer.data(), buffer.size()};
        msghdr m{};
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        m.msg_control = control.data();
        m.msg_controllen = control.size();
        if (::recvmsg(descriptor.native_handle(), &m, MSG_DONTWAIT | MSG_TRUNC) < 0) return false;
        auto received = Clock::now();
        for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
            // The kernel's receive time is on the real-time clock: move it
            // onto the steady clock by its age.
            timespec at{}, now{};
            std::memcpy(&at, CMSG_DATA(c), sizeof at);
            ::clock_gettime(CLOCK_REALTIME, &now);
            const int64_t age = ns_of(now) - ns_of(at);
            if (age > 0) received -= std::chrono::nanoseconds(age);
        }
        boost::system::error_code ec;
        descriptor.close(ec);
        auto report = std::move(seen);
        seen = nullptr;
        report(received);
        return true;
    }
};

FirstPacketWatch::FirstPacketWatch(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

FirstPacketWatch::~FirstPacketWatch() {
    impl_->seen = nullptr;
    boost::system::error_code ec;
    impl_->descriptor.close(ec);
}

std::unique_ptr<FirstPacketWatch> FirstPacketWatch::open(asio::io_context& io, const std::string& interface,
                                                         const net::Ipv6Address& care_of_address, Seen seen,
                                                         std::string& error) {
    const unsigned index = ::if_nametoindex(interface.c_str());
    if (index == 0) {
        error = "interface '" + interface + "': " + std::strerror(errno);
        return nullptr;
    }
    // Protocol 0: nothing arrives before the filter is attached and bind()
    // names the protocol.
    int fd = ::socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = std::string("socket(AF_PACKET, SOCK_DGRAM): ") + std::strerror(errno);
        return nullptr;
    }
    auto filter = tunnel_to(care_of_address);
    sock_fprog program{static_cast<unsigned short>(filter.size()), filter.data()};
    const int on = 1;
    sockaddr_ll address{};
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(ETH_P_IPV6);
    address.sll_ifindex = static_cast<int>(index);
    if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) != 0 ||
        ::setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &on, sizeof on) != 0 ||
        ::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) != 0 ||
        ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        error = "AF_PACKET socket on '" + interface + "': " + std::strerror(errno);
        ::close(fd);
        return nullptr;
    }
    auto impl = std::make_shared<Impl>(io, std::move(seen));
    impl->descriptor.assign(fd);
    impl->wait();
    return std::unique_ptr<FirstPacketWatch>(new FirstPacketWatch(impl));
}

}  // namespace nemokey::mobility::adapters
