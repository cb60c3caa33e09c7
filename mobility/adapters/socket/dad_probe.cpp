#include "mobility/adapters/socket/dad_probe.hpp"

#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

namespace nemokey::mobility::adapters {

namespace asio = boost::asio;

struct DadProbe::Impl : std::enable_shared_from_this<Impl> {
    Impl(asio::io_context& io_context, unsigned index, std::chrono::milliseconds retrans)
        : io(io_context), descriptor(io_context), ifindex(index), retrans_timer(retrans) {}
    asio::io_context& io;
    asio::posix::stream_descriptor descriptor;
    unsigned ifindex;
    std::chrono::milliseconds retrans_timer;
    struct Probe {
        std::shared_ptr<asio::steady_timer> timer;
        std::vector<Result> results;
        bool duplicate = false;
    };
    std::map<net::Ipv6Address, Probe> probes;
    uint64_t sent = 0;
    std::vector<uint8_t> buffer = std::vector<uint8_t>(2048);

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
            ssize_t n = ::recv(descriptor.native_handle(), buffer.data(), buffer.size(), MSG_DONTWAIT);
            if (n < 0) return;
            // Neighbor Advertisement: type 136, target at octet 8 (RFC 4861 sec. 4.4).
            if (n < 24 || buffer[0] != ND_NEIGHBOR_ADVERT) continue;
            net::Ipv6Address target;
            std::memcpy(target.bytes.data(), buffer.data() + 8, 16);
            if (auto it = probes.find(target); it != probes.end()) it->second.duplicate = true;
        }
    }

    bool solicit(const net::Ipv6Address& target) {
        uint8_t ns[24] = {};
        ns[0] = ND_NEIGHBOR_SOLICIT;
        std::memcpy(ns + 8, target.bytes.data(), 16);
        sockaddr_in6 to{};
        to.sin6_family = AF_INET6;
        to.sin6_scope_id = ifindex;
        // Solicited-node multicast address ff02::1:ffXX:XXXX (RFC 4291 sec. 2.7.1).
        const uint8_t prefix[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff};
        std::memcpy(&to.sin6_addr, prefix, 13);
        std::memcpy(reinterpret_cast<uint8_t*>(&to.sin6_addr) + 13, target.bytes.data() + 13, 3);
        iovec iov{ns, sizeof ns};
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
        in6_pktinfo pi{};   // source :: (RFC 4862 sec. 5.4.2)
        pi.ipi6_ifindex = ifindex;
        std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
        if (::sendmsg(descriptor.native_handle(), &m, MSG_DONTWAIT) < 0) return false;
        ++sent;
        return true;
    }
};

DadProbe::DadProbe(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

DadProbe::~DadProbe() {
    for (auto& [t, p] : impl_->probes) p.timer->cancel();
    impl_->probes.clear();
    boost::system::error_code ec;
    impl_->descriptor.close(ec);
}

std::unique_ptr<DadProbe> DadProbe::open(asio::io_context& io, const std::string& interface,
                                         std::chrono::milliseconds retrans_timer, std::string& error) {
    const unsigned index = ::if_nametoindex(interface.c_str());
    if (index == 0) {
        error = "interface '" + interface + "': " + std::strerror(errno);
        return nullptr;
    }
    int fd = ::socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
    if (fd < 0) {
        error = std::string("socket(AF_INET6, SOCK_RAW, ICMPv6): ") + std::strerror(errno);
        return nullptr;
    }
    icmp6_filter filter;
    ICMP6_FILTER_SETBLOCKALL(&filter);
    ICMP6_FILTER_SETPASS(ND_NEIGHBOR_ADVERT, &filter);
    const int hops = 255;   // RFC 4861 sec. 7.1.1: receivers drop ND with another hop limit
    if (::setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter) != 0 ||
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops) != 0 ||
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof hops) != 0 ||
        ::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, interface.c_str(), socklen_t(interface.size())) != 0) {
        error = std::string("setsockopt on the ICMPv6 socket: ") + std::strerror(errno);
        ::close(fd);
        return nullptr;
    }
    auto impl = std::make_shared<Impl>(io, index, retrans_timer);
    impl->descriptor.assign(fd);
    impl->wait();
    return std::unique_ptr<DadProbe>(new DadProbe(impl));
}

void DadProbe::probe(const net::Ipv6Address& target, Result result) {
    auto& p = impl_->probes[target];
    p.results.push_back(std::move(result));
    if (p.timer) return;   // already running
    p.timer = std::make_shared<asio::steady_timer>(impl_->io, impl_->retrans_timer);
    impl_->solicit(target);   // a lost NS only makes DAD miss a duplicate, as in RFC 4862
    p.timer->async_wait([weak = std::weak_ptr<Impl>(impl_), target](const boost::system::error_code& ec) {
        auto self = weak.lock();
        if (!self || ec) return;
        self->drain();
        auto it = self->probes.find(target);
        if (it == self->probes.end()) return;
        auto done = std::move(it->second);
        self->probes.erase(it);
        for (auto& r : done.results) r(target, done.duplicate);
    });
}

size_t DadProbe::running() const { return impl_->probes.size(); }
uint64_t DadProbe::solicitations_sent() const { return impl_->sent; }

}  // namespace nemokey::mobility::adapters
