// What ikebridged hears of the K flag (RFC 4877 sec. 4.4): the XFRM
// MIGRATEs of its network namespace that carry KMADDRESS (mobilityd sends
// them on every handover with K in effect), as (reqid, local, remote), once
// per new pair of a reqid (one handover migrates several policies). charon
// re-targets the IKE SA on the same MIGRATE without a bus event; the shim
// confirms the move (nk_charon_watch_endpoints). Asynchronous (XFRM netlink
// on the io_context).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>

namespace boost::asio {
class io_context;
}
namespace nemokey::pfkey {
class XfrmSocket;
}

namespace nemokey::ikebridge::adapters {

struct KmAddressMigrate {
    uint32_t reqid = 0;
    int family = 0;                      // AF_INET6 or AF_INET
    std::array<unsigned char, 16> local{};   // network order; 4 bytes used for AF_INET
    std::array<unsigned char, 16> remote{};
};

class MigrateWatch {
public:
    using Handler = std::function<void(const KmAddressMigrate&)>;
    // Joins XFRMNLGRP_MIGRATE; the error text when the kernel refuses.
    MigrateWatch(boost::asio::io_context& io, Handler handler, std::string& error);
    ~MigrateWatch();
    MigrateWatch(const MigrateWatch&) = delete;
    MigrateWatch& operator=(const MigrateWatch&) = delete;
    bool open() const { return socket_ != nullptr; }

private:
    Handler handler_;
    std::unique_ptr<pfkey::XfrmSocket> socket_;
    std::map<uint32_t, std::pair<std::array<unsigned char, 16>, std::array<unsigned char, 16>>> last_;
};

}  // namespace nemokey::ikebridge::adapters
