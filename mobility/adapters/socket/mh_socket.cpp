#include "mobility/adapters/socket/mh_socket.hpp"

#include <netinet/in.h>
#include <netinet/ip6.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78
#endif

namespace nemokey::mobility::adapters {

namespace asio = boost::asio;

namespace {

constexpr int ip_proto_mh = 135;
constexpr uint8_t option_home_address = 201;   // RFC 6275 sec. 6.3

net::Ipv6Address from(const in6_addr& a) {
    std::array<uint8_t, 16> b{};
    std::memcpy(b.data(), &a, 16);
    return net::Ipv6Address{b};
}

in6_addr to_in6(const net::Ipv6Address& a) {
    in6_addr out{};
    std::memcpy(&out, a.bytes.data(), 16);
    return out;
}

// The Home Address option in a Destination Options header, if there is one.
std::optional<net::Ipv6Address> home_address_in(const uint8_t* p, size_t len) {
    if (len < 2) return std::nullopt;
    size_t total = (size_t(p[1]) + 1) * 8;
    if (total > len) return std::nullopt;
    for (size_t i = 2; i < total;) {
        uint8_t type = p[i];
        if (type == 0) {   // Pad1
            ++i;
            continue;
        }
        if (i + 2 > total) break;
        uint8_t olen = p[i + 1];
        if (i + 2 + olen > total) break;
        if (type == option_home_address && olen == 16) {
            in6_addr a;
            std::memcpy(&a, p + i + 2, 16);
            return from(a);
        }
        i += 2 + olen;
    }
    return std::nullopt;
}

}  // namespace

struct MhSocket::Impl : std::enable_shared_from_this<Impl> {
    explicit Impl(asio::io_context& io) : descriptor(io) {}
    asio::posix::stream_descriptor descriptor;
    Handler handler;
    MhSocketCounters counters;
    std::vector<uint8_t> buffer = std::vector<uint8_t>(65536);
    std::vector<uint8_t> control = std::vector<uint8_t>(1024);

    void wait() {
        descriptor.async_wait(asio::posix::stream_descriptor::wait_read,
                              [weak = weak_from_this()](const boost::system::error_code& ec) {
                                  auto self = weak.lock();
                                  if (!self || ec) return;
                                  self->drain();
                                  self->wait();
                              });
    }

    void drain() {
        for (;;) {
            sockaddr_in6 from_address{};
            iovec iov{buffer.data(), buffer.size()};
            msghdr m{};
            m.msg_name = &from_address;
            m.msg_namelen = sizeof from_address;
            m.msg_iov = &iov;
            m.msg_iovlen = 1;
            m.msg_control = control.data();
            m.msg_controllen = control.size();
            ssize_t n = ::recvmsg(descriptor.native_handle(), &m, MSG_DONTWAIT);
            if (n < 0) {
                if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ++counters.receive_errors;
                return;
            }
            if (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
                ++counters.truncated;
                continue;
            }
            ReceivedMobilityHeader r;
            r.source = from(from_address.sin6_addr);
            for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
                if (c->cmsg_level != IPPROTO_IPV6) continue;
                const auto* data = CMSG_DATA(c);
                const size_t len = c->cmsg_len - CMSG_LEN(0);
                if (c->cmsg_type == IPV6_PKTINFO && len >= sizeof(in6_pktinfo)) {
                    in6_pktinfo pi;
                    std::memcpy(&pi, data, sizeof pi);
                    r.destination = from(pi.ipi6_addr);
                    r.interface = pi.ipi6_ifindex;
                } else if (c->cmsg_type == IPV6_DSTOPTS) {
                    if (auto h = home_address_in(data, len)) r.home_address_option = h;
                } else if (c->cmsg_type == IPV6_RTHDR && len >= 24 && data[2] == 2) {
                    in6_addr a;
                    std::memcpy(&a, data + 8, 16);
                    r.routing_header_address = from(a);
                }
            }
            r.message.assign(buffer.begin(), buffer.begin() + n);
            ++counters.received;
            if (handler) handler(r);
        }
    }
};

MhSocket::MhSocket(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

MhSocket::~MhSocket() {
    impl_->handler = nullptr;
    boost::system::error_code ec;
    impl_->descriptor.close(ec);
}

std::unique_ptr<MhSocket> MhSocket::open(asio::io_context& io, std::string& error) {
    int fd = ::socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, ip_proto_mh);
    if (fd < 0) {
        error = std::string("socket(AF_INET6, SOCK_RAW, 135): ") + std::strerror(errno);
        return nullptr;
    }
    const int on = 1;
    for (int option : {IPV6_RECVPKTINFO, IPV6_RECVDSTOPTS, IPV6_RECVRTHDR, IPV6_FREEBIND}) {
        if (::setsockopt(fd, IPPROTO_IPV6, option, &on, sizeof on) != 0) {
            error = std::string("setsockopt(IPPROTO_IPV6, ") + std::to_string(option) + "): " + std::strerror(errno);
            ::close(fd);
            return nullptr;
        }
    }
    // RFC 6275 sec. 6.1.1: the checksum at offset 4, computed on output and
    // verified on input by the kernel (Linux sets this itself for protocol
    // 135 when built with Mobile IPv6; set it for kernels without).
    const int checksum_offset = 4;
    if (::setsockopt(fd, IPPROTO_IPV6, IPV6_CHECKSUM, &checksum_offset, sizeof checksum_offset) != 0) {
        error = std::string("setsockopt(IPV6_CHECKSUM): ") + std::strerror(errno);
        ::close(fd);
        return nullptr;
    }
    auto impl = std::make_shared<Impl>(io);
    impl->descriptor.assign(fd);
    return std::unique_ptr<MhSocket>(new MhSocket(impl));
}

void MhSocket::start(Handler handler) {
    impl_->handler = std::move(handler);
    impl_->wait();
}

bool MhSocket::send(const net::Ipv6Address& source, const net::Ipv6Address& destination,
                    std::span<const uint8_t> message, std::string* error) {
    sockaddr_in6 to{};
    to.sin6_family = AF_INET6;
    to.sin6_addr = to_in6(destination);
    iovec iov{const_cast<uint8_t*>(message.data()), message.size()};
    alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof(in6_pktinfo))] = {};
    msghdr m{};
    m.msg_name = &to;
    m.msg_namelen = sizeof to;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
    in6_pktinfo pi{};
    pi.ipi6_addr = to_in6(source);
    std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
    ssize_t n = ::sendmsg(impl_->descriptor.native_handle(), &m, MSG_DONTWAIT);
    if (n < 0) {
        ++impl_->counters.send_failed;
        if (error) *error = std::strerror(errno);
        return false;
    }
    ++impl_->counters.sent;
    return true;
}

const MhSocketCounters& MhSocket::counters() const { return impl_->counters; }

}  // namespace nemokey::mobility::adapters
