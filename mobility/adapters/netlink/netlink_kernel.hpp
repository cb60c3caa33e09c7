// The kernel contract (mobility/kernel/kernel.hpp) on the running Linux
// kernel: XFRM netlink for SAs, policies and MIGRATE (through the
// pfkey/xfrm codec), rtnetlink for tunnels, addresses, routes, rules and
// proxy neighbour entries (libnl-3's message helpers). It passes the same
// contract cases as the fake (tests/unit/mobility/kernel/contract_cases.hpp,
// run in the kernel VM by tests/kernel-vm/scenarios/kernel-contract.sh).
//
// Asynchronous on Boost.Asio: open(), submit() and dump_owned() return at
// once and complete later from the io_context; nothing blocks or polls.
//
// Round trips. A batch (continue_on_error) sends its XFRM requests in one
// datagram and its rtnetlink requests in another (each request NLM_F_ACK,
// acks matched by sequence number); each sendmsg counts in round_trips().
// An rtnetlink request naming a device that an earlier request of the
// batch creates or deletes starts a new datagram (the kernel's messages
// carry interface indexes, known only once the device exists).
// stop_on_error sends one operation per datagram: the kernel goes on after
// a failed message of a datagram, so stopping has to be done here.
// FlushOwned and dump_owned() dump (one request per table) before acting.
//
// How each operation maps (drafts-notes/kernel-contract.md has the facts):
//   InstallSa       create: XFRM_MSG_NEWSA; replace: DELSA + NEWSA in one
//                   datagram (UPDSA keeps the old keys and source)
//   InstallPolicy   create: NEWPOLICY; replace: UPDPOLICY
//   MigrateSas      XFRM_MSG_MIGRATE (+ XFRMA_KMADDRESS)
//   InstallTunnel   RTM_NEWLINK ip6tnl (external: IFLA_IPTUN_COLLECT_METADATA),
//                   created up; replace changes an ip6ip6 tunnel in place
//   InstallRoute    RTM_NEWROUTE, NLM_F_REPLACE for replace; encap as
//                   RTA_ENCAP_TYPE LWTUNNEL_ENCAP_IP6 + RTA_ENCAP
//   InstallRule     create: RTM_NEWRULE NLM_F_EXCL; replace: DELRULE + NEWRULE
//   InstallAddress  RTM_NEWADDR with IFA_FLAGS and IFA_PROTO
//   InstallProxyNeighbour  RTM_NEWNEIGH NTF_PROXY with NDA_PROTOCOL
//   Remove*         the matching DEL message; not-found is ok with if_present
//
// Events: XFRMNLGRP_MIGRATE/ACQUIRE/EXPIRE/MAPPING and RTNLGRP_LINK,
// IPV6_IFADDR, IPV6_ROUTE, NEIGH, delivered from the io_context.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "mobility/kernel/kernel.hpp"

namespace boost::asio {
class io_context;
}

namespace nemokey::mobility::adapters::netlink {

class NetlinkKernel final : public kernel::Kernel {
public:
    // The kernel, or nullptr and why not (no rtnetlink socket).
    using OpenCompletion = std::function<void(std::unique_ptr<NetlinkKernel>, std::string error)>;

    // Opens the sockets in the caller's network namespace, learns the
    // interfaces and probes the features (throw-away objects, removed in
    // the same datagram), then completes from `io`.
    static void open(boost::asio::io_context& io, OpenCompletion done);
    // Completions of work still queued are dropped.
    ~NetlinkKernel() override;

    kernel::Features features() const override;
    void submit(std::vector<kernel::OperationRequest> operations, kernel::BatchMode mode,
                Completion done) override;
    void dump_owned(DumpCompletion done) override;
    void set_listener(kernel::KernelListener* listener) override;
    uint64_t round_trips() const override;

    // Delivers the namespace's current links, IPv6 addresses, IPv6 routes
    // and IPv6 neighbours to the listener as the events the kernel would
    // have sent when they appeared (a daemon's movement detection starts
    // from the present, not from the next change); `done(ok)` after the
    // last one. Every object, not only ours.
    void replay_net_state(std::function<void(bool ok)> done);

    struct Impl;

private:
    explicit NetlinkKernel(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;  // shared with the work in flight
};

}  // namespace nemokey::mobility::adapters::netlink
