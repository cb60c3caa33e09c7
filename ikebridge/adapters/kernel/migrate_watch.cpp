#include "ikebridge/adapters/kernel/migrate_watch.hpp"

#include <linux/xfrm.h>
#include <netinet/in.h>

#include <cstring>

#include "pfkey/transport/xfrm_socket.hpp"

namespace nemokey::ikebridge::adapters {

MigrateWatch::MigrateWatch(boost::asio::io_context& io, Handler handler, std::string& error)
    : handler_(std::move(handler)) {
    auto opened = pfkey::XfrmSocket::open(io, {XFRMNLGRP_MIGRATE});
    if (!opened) {
        error = "XFRM netlink (migrate group): " + opened.error().operation + " failed";
        return;
    }
    socket_ = std::move(*opened);
    socket_->set_event_handler([this](pfkey::XfrmEvent e) {
        if (!e.message) return;   // a socket error (overflow): the next MIGRATE is read as usual
        const auto* m = std::get_if<pfkey::xfrm::Migrate>(&e.message->body);
        // Without KMADDRESS charon ignores the MIGRATE too (no IKE move).
        if (!m || !m->kmaddress || m->migrate.empty()) return;
        const auto& k = *m->kmaddress;
        KmAddressMigrate out;
        out.reqid = m->migrate.front().reqid;
        out.family = k.family;
        if (out.family != AF_INET6 && out.family != AF_INET) return;
        std::memcpy(out.local.data(), &k.local, out.local.size());
        std::memcpy(out.remote.data(), &k.remote, out.remote.size());
        auto pair = std::make_pair(out.local, out.remote);
        auto it = last_.find(out.reqid);
        if (it != last_.end() && it->second == pair) return;
        last_[out.reqid] = pair;
        handler_(out);
    });
}

MigrateWatch::~MigrateWatch() {
    if (socket_) socket_->set_event_handler({});
}

}  // namespace nemokey::ikebridge::adapters
