// Counters of one kernel socket (PF_KEY or XFRM netlink), for status
// output and for tests that check how requests were answered.
#pragma once

#include <cstdint>

namespace nemokey::pfkey {

struct TransportStats {
    uint64_t datagrams_sent = 0;      // sendmsg calls that succeeded (a batch is one)
    uint64_t datagrams_received = 0;  // recvmsg calls that returned data
    uint64_t requests_completed = 0;  // completion handlers called, whatever the result
    // Requests whose answer was already queued when the read right after
    // their send ran: Linux answers inside sendmsg (see pfkey_socket.hpp).
    uint64_t answered_at_send = 0;
    uint64_t timeouts = 0;            // requests failed by their timer
    uint64_t events = 0;              // calls of the event handler
};

}  // namespace nemokey::pfkey
