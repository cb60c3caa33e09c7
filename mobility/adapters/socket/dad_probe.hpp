// Duplicate Address Detection on the home link for a home address, as the
// home agent performs it before accepting a first registration (RFC 6275
// sec. 10.3.1, with the procedure of RFC 4862 sec. 5.4): a Neighbor
// Solicitation from the unspecified address to the solicited-node
// multicast address of the target, then RetransTimer (1 s, RFC 4861 sec.
// 10) of listening for a Neighbor Advertisement of that target. Raw ICMPv6
// socket on Boost.Asio; nothing waits: each probe has a timer.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "conf/net/address.hpp"

namespace boost::asio {
class io_context;
}

namespace nemokey::mobility::adapters {

class DadProbe {
public:
    // Called once per probe: whether another node defends the address.
    using Result = std::function<void(const net::Ipv6Address& target, bool duplicate)>;

    // nullptr and why not (no CAP_NET_RAW, unknown interface).
    static std::unique_ptr<DadProbe> open(boost::asio::io_context& io, const std::string& interface,
                                          std::chrono::milliseconds retrans_timer, std::string& error);
    ~DadProbe();

    // Starts DAD for `target` (a probe already running for it goes on).
    void probe(const net::Ipv6Address& target, Result result);
    size_t running() const;
    uint64_t solicitations_sent() const;

    struct Impl;

private:
    explicit DadProbe(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace nemokey::mobility::adapters
