// ikebridged's start-up sweep: the IPsec SAs a previous ikebridged left in
// the kernel when it was killed (charon removes its SAs on a clean stop,
// not on kill -9). They are recognised by the plan's request ids, which
// belong to ikebridged's CHILD_SAs alone (conf/plan.hpp: derived per
// identity and traffic class, in a range no IKE daemon hands out), and by
// carrying no mark (mobilityd marks what it installs, mobility/kernel/
// marks.hpp). Deleting them before charon starts means a crash leaks
// nothing, and the SAs of the new IKE SA are the only ones with those
// reqids. Asynchronous (XFRM netlink on the io_context).
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>

namespace boost::asio {
class io_context;
}

namespace nemokey::ikebridge::adapters {

struct SweepResult {
    bool ok = false;
    size_t deleted = 0;
    std::string error;
};

void sweep_stale_sas(boost::asio::io_context& io, std::set<uint32_t> reqids, std::function<void(SweepResult)> done);

}  // namespace nemokey::ikebridge::adapters
