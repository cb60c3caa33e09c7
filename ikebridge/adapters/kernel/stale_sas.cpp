#include "ikebridge/adapters/kernel/stale_sas.hpp"

#include <linux/xfrm.h>
#include <netinet/in.h>

#include <memory>
#include <vector>

#include "pfkey/transport/xfrm_socket.hpp"

namespace nemokey::ikebridge::adapters {

void sweep_stale_sas(boost::asio::io_context& io, std::set<uint32_t> reqids, std::function<void(SweepResult)> done) {
    if (reqids.empty()) return done({true, 0, {}});
    auto opened = pfkey::XfrmSocket::open(io);
    if (!opened) return done({false, 0, "XFRM netlink: " + opened.error().operation + " failed"});
    std::shared_ptr<pfkey::XfrmSocket> socket = std::move(*opened);
    socket->async_dump(XFRM_MSG_GETSA, [socket, reqids = std::move(reqids), done](auto answers) {
        if (!answers) return done({false, 0, "dumping the SAs failed: " + answers.error().operation});
        std::vector<pfkey::xfrm::XfrmMessage> deletes;
        for (const auto& m : *answers) {
            const auto* s = std::get_if<pfkey::xfrm::StateInfo>(&m.body);
            if (!s || s->mark || !reqids.count(s->info.reqid) || s->info.id.proto != IPPROTO_ESP) continue;
            pfkey::xfrm::StateId id;
            id.id.daddr = s->info.id.daddr;
            id.id.spi = s->info.id.spi;
            id.id.proto = s->info.id.proto;
            id.id.family = s->info.family;
            pfkey::xfrm::XfrmMessage del;
            del.type = XFRM_MSG_DELSA;
            del.body = id;
            deletes.push_back(std::move(del));
        }
        if (deletes.empty()) return done({true, 0, {}});
        const size_t n = deletes.size();
        socket->async_request_batch(std::move(deletes), [socket, n, done](auto results) {
            size_t ok = 0;
            for (const auto& r : results) ok += r ? 1 : 0;
            done({ok == n, ok, ok == n ? std::string() : "some stale SAs could not be deleted"});
        });
    });
}

}  // namespace nemokey::ikebridge::adapters
