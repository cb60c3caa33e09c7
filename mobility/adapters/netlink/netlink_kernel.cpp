#include "mobility/adapters/netlink/netlink_kernel.hpp"

// glibc's net/if.h first: linux/if.h then adds only what glibc lacks (IFF_LOWER_UP).
#include <net/if.h>
#include <linux/if.h>
#include <linux/neighbour.h>
#include <linux/pfkeyv2.h>
#include <linux/rtnetlink.h>
#include <linux/xfrm.h>
#include <sys/socket.h>
#include <unistd.h>

#include <utility>  // boost/asio/awaitable.hpp (1.74) uses std::exchange without it

// g++ 12 takes asio 1.74's coroutine frames (its own operator new/delete
// pair, recycling allocator) for a mismatched new/delete: a false positive.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <deque>
#include <set>

#include "mobility/adapters/netlink/netlink_channel.hpp"
#include "mobility/adapters/netlink/rtnl_objects.hpp"
#include "mobility/adapters/netlink/xfrm_objects.hpp"
#include "mobility/kernel/marks.hpp"

namespace nemokey::mobility::adapters::netlink {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using kernel::BatchMode;
using kernel::DumpResult;
using kernel::Features;
using kernel::InstallMode;
using kernel::KernelEvent;
using kernel::KernelObjects;
using kernel::Operation;
using kernel::OperationRequest;
using kernel::OperationResult;
using kernel::OperationStatus;

namespace {

// A datagram carries at most this many requests, so their acks fit the
// receive buffer; a larger batch takes several round trips.
constexpr size_t max_requests_per_datagram = 256;
constexpr int dump_attempts = 4;  // a dump interrupted by changes (NLM_F_DUMP_INTR) is redone

// The probes' throw-away objects: a ULA prefix ("NK") no one routes, and
// for XFRM a lookup mark no packet carries, so they match nothing.
const kernel::Ipv6Address probe_a = *kernel::Ipv6Address::parse("fd4e:6b00::1");
const kernel::Ipv6Address probe_b = *kernel::Ipv6Address::parse("fd4e:6b00::2");
const kernel::Ipv6Address probe_c = *kernel::Ipv6Address::parse("fd4e:6b00::4e4b");
constexpr uint32_t probe_mark = 0x4e4bffff;
constexpr uint32_t probe_table = 0x4e4b;

bool not_found(int error) { return kernel::status_from_errno(error) == OperationStatus::not_found; }

// The requests of one operation, sent together in one datagram.
struct Plan {
    size_t op = 0;                      // index of its result
    std::vector<Bytes> messages;
    std::vector<bool> tolerate_missing; // e.g. the DELSA before a replacing NEWSA
    bool if_present = false;            // not-found is ok
    bool wants_spi = false;             // AllocateSpi
    bool invalid_is_absent = false;     // RemoveTunnelFilter if_present: EINVAL = no qdisc
    int error = 0;                      // failed before anything was sent
    std::string detail;

    void add(Bytes m, bool tolerate = false) {
        messages.push_back(std::move(m));
        tolerate_missing.push_back(tolerate);
    }
    void fail(int e, std::string why) {
        error = e;
        detail = std::move(why);
    }
};

void add_xfrm(Plan& p, const xfrm::XfrmMessage& m, bool tolerate = false) {
    auto bytes = xfrm::encode(m);
    if (!bytes) return p.fail(EINVAL, bytes.error().to_string());
    p.add(std::move(bytes).value(), tolerate);
}

bool is_xfrm(const Operation& op) {
    return std::holds_alternative<kernel::AllocateSpi>(op) || std::holds_alternative<kernel::InstallSa>(op) ||
           std::holds_alternative<kernel::RemoveSa>(op) || std::holds_alternative<kernel::InstallPolicy>(op) ||
           std::holds_alternative<kernel::RemovePolicy>(op) || std::holds_alternative<kernel::MigrateSas>(op);
}

// Interfaces an rtnetlink operation names (resolved to indexes before sending).
std::vector<std::string> interfaces_named(const Operation& op) {
    if (const auto* o = std::get_if<kernel::InstallAddress>(&op)) return {o->address.id.interface};
    if (const auto* o = std::get_if<kernel::RemoveAddress>(&op)) return {o->id.interface};
    if (const auto* o = std::get_if<kernel::InstallRoute>(&op)) return {o->route.device};
    if (const auto* o = std::get_if<kernel::InstallProxyNeighbour>(&op)) return {o->neighbour.id.interface};
    if (const auto* o = std::get_if<kernel::RemoveProxyNeighbour>(&op)) return {o->id.interface};
    if (const auto* o = std::get_if<kernel::InstallQdisc>(&op)) return {o->qdisc.device};
    if (const auto* o = std::get_if<kernel::RemoveQdisc>(&op)) return {o->device};
    if (const auto* o = std::get_if<kernel::InstallTunnelFilter>(&op)) return {o->filter.id.device};
    if (const auto* o = std::get_if<kernel::RemoveTunnelFilter>(&op)) return {o->id.device};
    if (const auto* o = std::get_if<kernel::InstallTunnel>(&op)) {
        // Its own name too: whether a fixed tunnel exists decides its messages (plan_rtnl).
        std::vector<std::string> names{o->tunnel.name};
        if (!o->tunnel.link.empty()) names.push_back(o->tunnel.link);
        return names;
    }
    return {};
}

// The device an operation creates or deletes.
std::optional<std::string> device_changed(const Operation& op) {
    if (const auto* o = std::get_if<kernel::InstallTunnel>(&op)) return o->tunnel.name;
    if (const auto* o = std::get_if<kernel::RemoveTunnel>(&op)) return o->name;
    return std::nullopt;
}

OperationResult failed_result(kernel::OperationId id, int error, std::string detail) {
    OperationResult r;
    r.id = id;
    r.error = error;
    r.status = kernel::status_from_errno(error);
    r.detail = std::move(detail);
    return r;
}

}  // namespace

struct NetlinkKernel::Impl : std::enable_shared_from_this<Impl> {
    explicit Impl(asio::io_context& io_context) : io(io_context) {}

    asio::io_context& io;
    std::unique_ptr<NetlinkChannel> xfrm_requests;   // nullptr without XFRM netlink
    std::unique_ptr<NetlinkChannel> rtnl_requests;
    std::unique_ptr<NetlinkChannel> xfrm_events;
    std::unique_ptr<NetlinkChannel> rtnl_events;
    Features features = 0;
    kernel::KernelListener* listener = nullptr;
    bool closed = false;

    // Interface names <-> indexes, kept by RTNLGRP_LINK and link dumps.
    std::map<std::string, int> index_of;
    InterfaceNames name_of;
    std::map<std::string, std::string> kind_of;
    bool links_stale = true;

    std::deque<std::function<awaitable<void>()>> jobs;
    bool running = false;

    // ---- jobs: one at a time, in order, always from the io_context ----

    void enqueue(std::function<awaitable<void>()> job) {
        jobs.push_back(std::move(job));
        if (running) return;
        running = true;
        asio::post(io, [weak = weak_from_this()] {
            auto self = weak.lock();
            if (!self || self->closed) return;
            asio::co_spawn(self->io, run_jobs(self), [](std::exception_ptr e) {
                if (e) std::rethrow_exception(e);
            });
        });
    }

    static awaitable<void> run_jobs(std::shared_ptr<Impl> self) {
        while (!self->closed && !self->jobs.empty()) {
            auto job = std::move(self->jobs.front());
            self->jobs.pop_front();
            co_await job();
        }
        self->running = false;
    }

    void close() {
        closed = true;
        listener = nullptr;
        jobs.clear();
        // Dropping the channels drops the suspended work waiting on them.
        xfrm_requests.reset();
        rtnl_requests.reset();
        xfrm_events.reset();
        rtnl_events.reset();
    }

    uint64_t round_trips() const {
        uint64_t n = 0;
        for (const auto* c : {xfrm_requests.get(), rtnl_requests.get()})
            if (c) n += c->datagrams_sent();
        return n;
    }

    // ---- sockets ----

    static awaitable<NetlinkChannel::Replies> transact(NetlinkChannel* c, std::vector<Bytes> requests) {
        if (!c) {
            NetlinkChannel::Replies r(requests.size());
            for (auto& one : r) {
                one.error = EPROTONOSUPPORT;
                one.detail = "no XFRM netlink socket (xfrm_user missing)";
            }
            co_return r;
        }
        co_return co_await c->async_transact(std::move(requests), use_awaitable);
    }

    static awaitable<NetlinkChannel::Reply> dump(NetlinkChannel* c, const Bytes& request) {
        if (!c) co_return NetlinkChannel::Reply{EPROTONOSUPPORT, "no netlink socket", {}, false};
        for (int attempt = 1;; ++attempt) {
            auto r = co_await c->async_dump(request, use_awaitable);
            if (r.front().interrupted && attempt < dump_attempts) continue;
            co_return std::move(r.front());
        }
    }

    // Sends the plans (each whole in one datagram) and writes their results.
    awaitable<void> send_plans(NetlinkChannel* c, std::vector<Plan>& plans, std::vector<OperationResult>& results) {
        size_t p = 0;
        while (p < plans.size()) {
            std::vector<Bytes> requests;
            std::vector<size_t> owner;
            size_t q = p;
            for (; q < plans.size(); ++q) {
                Plan& plan = plans[q];
                if (plan.error) continue;
                if (!requests.empty() && requests.size() + plan.messages.size() > max_requests_per_datagram) break;
                for (auto& m : plan.messages) {
                    requests.push_back(std::move(m));
                    owner.push_back(q);
                }
            }
            NetlinkChannel::Replies replies;
            if (!requests.empty()) replies = co_await transact(c, std::move(requests));
            for (size_t k = p; k < q; ++k) {
                std::vector<const NetlinkChannel::Reply*> mine;
                for (size_t i = 0; i < owner.size(); ++i)
                    if (owner[i] == k) mine.push_back(&replies[i]);
                conclude(plans[k], mine, results[plans[k].op]);
            }
            p = q;
        }
    }

    static void conclude(const Plan& plan, const std::vector<const NetlinkChannel::Reply*>& replies,
                         OperationResult& r) {
        r.error = plan.error;
        r.detail = plan.detail;
        for (size_t i = 0; r.error == 0 && i < replies.size(); ++i) {
            const auto& one = *replies[i];
            if (one.error == 0) continue;
            if (plan.tolerate_missing[i] && not_found(one.error)) continue;
            r.error = one.error;
            r.detail = one.detail;
        }
        if (r.error != 0 && plan.if_present && (not_found(r.error) || (plan.invalid_is_absent && r.error == EINVAL))) {
            r.error = 0;
            r.detail.clear();
        }
        if (r.error == 0 && plan.wants_spi) {
            for (const auto& m : replies.empty() ? std::vector<Bytes>{} : replies.back()->messages) {
                auto decoded = xfrm::decode(m);
                if (decoded && !decoded->empty()) r.spi = allocated_spi(decoded->front());
            }
            if (!r.spi) {
                r.error = EBADMSG;
                r.detail = "XFRM_MSG_ALLOCSPI answered without a state";
            }
        }
        r.status = kernel::status_from_errno(r.error);
    }

    // ---- interfaces ----

    void apply_link(const LinkRecord& l) {
        std::string kind = l.kind;
        if (auto it = name_of.find(l.index); it != name_of.end()) {
            if (kind.empty() && it->second == l.name) kind = kind_of[l.name];
            index_of.erase(it->second);
            kind_of.erase(it->second);
            name_of.erase(it);
        }
        if (l.removed) return;
        if (auto it = index_of.find(l.name); it != index_of.end()) name_of.erase(it->second);
        index_of[l.name] = l.index;
        name_of[l.index] = l.name;
        kind_of[l.name] = kind;
    }

    std::optional<int> index(const std::string& name) const {
        auto it = index_of.find(name);
        if (it == index_of.end()) return std::nullopt;
        return it->second;
    }

    // Every link, the interface table rebuilt from it.
    awaitable<std::optional<std::vector<LinkRecord>>> dump_links() {
        if (rtnl_events) rtnl_events->drain();
        auto reply = co_await dump(rtnl_requests.get(), dump_request(RTM_GETLINK, AF_UNSPEC));
        if (reply.error) co_return std::nullopt;
        std::vector<LinkRecord> links;
        index_of.clear();
        name_of.clear();
        kind_of.clear();
        for (const auto& m : reply.messages) {
            auto l = link_from(reinterpret_cast<const nlmsghdr*>(m.data()));
            if (!l) continue;
            apply_link(*l);
            links.push_back(std::move(*l));
        }
        links_stale = false;
        co_return links;
    }

    // Before naming interfaces: every link change the kernel announced so
    // far applied (a request's notifications precede its ack).
    awaitable<void> refresh_links() {
        if (rtnl_events) rtnl_events->drain();
        if (links_stale || !rtnl_events) co_await dump_links();
    }

    // ---- events ----

    void deliver(const KernelEvent& e) {
        if (listener && !closed) listener->on_kernel_event(e);
    }

    void on_rtnl_event(const nlmsghdr& h) {
        switch (h.nlmsg_type) {
            case RTM_NEWLINK:
            case RTM_DELLINK: {
                auto l = link_from(&h);
                if (!l) return;
                apply_link(*l);
                deliver(kernel::LinkChanged{l->name, uint32_t(l->index), (l->flags & IFF_UP) != 0,
                                            (l->flags & IFF_LOWER_UP) != 0, l->removed});
                return;
            }
            case RTM_NEWADDR:
            case RTM_DELADDR: {
                auto a = address_from(&h, name_of);
                if (!a) return;
                deliver(kernel::AddressChanged{a->address.id.interface, a->address.id.address,
                                               (a->flags & IFA_F_TENTATIVE) != 0, (a->flags & IFA_F_OPTIMISTIC) != 0,
                                               (a->flags & IFA_F_DEPRECATED) != 0, (a->flags & IFA_F_DADFAILED) != 0,
                                               (a->flags & IFA_F_HOMEADDRESS) != 0, a->removed});
                return;
            }
            case RTM_NEWROUTE:
            case RTM_DELROUTE: {
                auto r = route_from(&h, name_of);
                if (!r) return;
                deliver(kernel::RouteChanged{r->route.id, r->route.device, r->route.gateway, r->route.protocol,
                                             r->removed});
                return;
            }
            case RTM_NEWNEIGH:
            case RTM_DELNEIGH: {
                auto n = neighbour_from(&h, name_of);
                if (!n || (n->flags & NTF_PROXY)) return;
                constexpr uint16_t reachable = NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT;
                deliver(kernel::NeighbourChanged{n->interface, n->address, (n->flags & NTF_ROUTER) != 0,
                                                 (n->state & reachable) != 0, (n->state & NUD_FAILED) != 0,
                                                 n->removed});
                return;
            }
            default: return;
        }
    }

    void on_xfrm_event(const nlmsghdr& h) {
        auto decoded = xfrm::decode({reinterpret_cast<const uint8_t*>(&h), h.nlmsg_len});
        if (!decoded) return;
        for (const auto& m : *decoded)
            if (auto e = event_from(m)) deliver(*e);
    }

    // ---- operations ----

    Plan plan_xfrm(size_t index, const Operation& op) const {
        Plan p;
        p.op = index;
        if (const auto* o = std::get_if<kernel::AllocateSpi>(&op)) {
            add_xfrm(p, allocate_spi(*o));
            p.wants_spi = true;
        } else if (const auto* o = std::get_if<kernel::InstallSa>(&op)) {
            // XFRM_MSG_UPDSA would keep the old keys, source and mark:
            // a replaced SA is deleted and added in one datagram.
            if (o->mode == InstallMode::replace) add_xfrm(p, delete_sa(o->sa.id), true);
            add_xfrm(p, new_sa(o->sa));
        } else if (const auto* o = std::get_if<kernel::RemoveSa>(&op)) {
            add_xfrm(p, delete_sa(o->id));
            p.if_present = o->if_present;
        } else if (const auto* o = std::get_if<kernel::InstallPolicy>(&op)) {
            add_xfrm(p, new_policy(o->policy, o->mode == InstallMode::replace));
        } else if (const auto* o = std::get_if<kernel::RemovePolicy>(&op)) {
            add_xfrm(p, delete_policy(o->id));
            p.if_present = o->if_present;
        } else if (const auto* o = std::get_if<kernel::MigrateSas>(&op)) {
            add_xfrm(p, migrate(*o));
        }
        return p;
    }

    Plan plan_rtnl(size_t index, const Operation& op) const {
        Plan p;
        p.op = index;
        auto interface = [&](const std::string& name) -> int {
            if (name.empty()) {
                p.fail(EINVAL, "no interface named");
                return 0;
            }
            auto i = this->index(name);
            if (!i) p.fail(ENODEV, "no interface '" + name + "'");
            return i.value_or(0);
        };
        try {
            if (const auto* o = std::get_if<kernel::InstallAddress>(&op)) {
                const int i = interface(o->address.id.interface);
                if (!p.error) p.add(new_address(o->address, i, o->mode));
            } else if (const auto* o = std::get_if<kernel::RemoveAddress>(&op)) {
                p.if_present = o->if_present;
                const int i = interface(o->id.interface);
                if (!p.error) p.add(delete_address(o->id, i));
                else if (p.if_present && p.error == ENODEV) p.fail(0, {});
            } else if (const auto* o = std::get_if<kernel::InstallRoute>(&op)) {
                const int i = interface(o->route.device);
                if (!p.error) p.add(new_route(o->route, i, o->mode));
            } else if (const auto* o = std::get_if<kernel::RemoveRoute>(&op)) {
                p.if_present = o->if_present;
                p.add(delete_route(o->id));
            } else if (const auto* o = std::get_if<kernel::InstallRule>(&op)) {
                // Rules have no replace: the old one goes in the same datagram.
                if (o->mode == InstallMode::replace) p.add(delete_rule(o->rule.id), true);
                p.add(new_rule(o->rule));
            } else if (const auto* o = std::get_if<kernel::RemoveRule>(&op)) {
                p.if_present = o->if_present;
                p.add(delete_rule(o->id));
            } else if (const auto* o = std::get_if<kernel::InstallTunnel>(&op)) {
                const auto& t = o->tunnel;
                if (t.name.empty() || t.name.size() >= IFNAMSIZ)
                    p.fail(EINVAL, "tunnel name '" + t.name + "' not 1-15 characters");
                else if (t.kind == kernel::TunnelKind::ip6ip6_external && (t.local || t.remote))
                    p.fail(EINVAL, "an external (collect_md) tunnel takes its endpoints from routes");
                const int link = t.link.empty() || p.error ? 0 : interface(t.link);
                if (!p.error) p.add(new_tunnel(t, link, o->mode));
                // A fixed tunnel: no address generation, then up (new_tunnel).
                // Not when create meets a device of that name: the kernel
                // answers EEXIST and the others would change that device.
                if (!p.error && t.kind == kernel::TunnelKind::ip6ip6 &&
                    !(o->mode == InstallMode::create && this->index(t.name))) {
                    p.add(tunnel_address_generation_none(t.name));
                    p.add(link_up(t.name));
                }
            } else if (const auto* o = std::get_if<kernel::RemoveTunnel>(&op)) {
                p.if_present = o->if_present;
                auto kind = kind_of.find(o->name);
                if (kind != kind_of.end() && kind->second != "ip6tnl")
                    p.fail(p.if_present ? 0 : ENODEV, p.if_present ? "" : "'" + o->name + "' is not a tunnel");
                else
                    p.add(delete_link(o->name));
            } else if (const auto* o = std::get_if<kernel::InstallProxyNeighbour>(&op)) {
                const int i = interface(o->neighbour.id.interface);
                if (!p.error) p.add(new_proxy_neighbour(o->neighbour, i, o->mode));
            } else if (const auto* o = std::get_if<kernel::RemoveProxyNeighbour>(&op)) {
                p.if_present = o->if_present;
                const int i = interface(o->id.interface);
                if (!p.error) p.add(delete_proxy_neighbour(o->id, i));
                else if (p.if_present && p.error == ENODEV) p.fail(0, {});
            } else if (const auto* o = std::get_if<kernel::InstallQdisc>(&op)) {
                const int i = interface(o->qdisc.device);
                if (!p.error) p.add(new_clsact(i, o->mode));
            } else if (const auto* o = std::get_if<kernel::RemoveQdisc>(&op)) {
                p.if_present = o->if_present;
                const int i = interface(o->device);
                if (!p.error) p.add(delete_clsact(i));
                else if (p.if_present && p.error == ENODEV) p.fail(0, {});
            } else if (const auto* o = std::get_if<kernel::InstallTunnelFilter>(&op)) {
                const auto& f = o->filter;
                if ((f.inner_source && !net::is_v6(f.inner_source->address)) ||
                    (f.outer_source && !net::is_v6(*f.outer_source)))
                    p.fail(EAFNOSUPPORT, "tunnel filters match IPv6 only");
                else if (f.id.handle == 0 || f.id.priority == 0)
                    p.fail(EINVAL, "a tunnel filter needs a priority and a handle");
                const int i = p.error ? 0 : interface(f.id.device);
                if (!p.error) p.add(new_tunnel_filter(f, i, o->mode));
            } else if (const auto* o = std::get_if<kernel::RemoveTunnelFilter>(&op)) {
                p.if_present = o->if_present;
                const int i = interface(o->id.device);
                if (!p.error) {
                    p.add(delete_tunnel_filter(o->id, i));
                    // The kernel refuses a filter removal under a missing
                    // clsact with EINVAL: with if_present that is "absent".
                    p.invalid_is_absent = p.if_present;
                } else if (p.if_present && p.error == ENODEV) {
                    p.fail(0, {});
                }
            } else {
                p.fail(EOPNOTSUPP, "not an rtnetlink operation");
            }
        } catch (const std::exception& e) {
            p.fail(EINVAL, e.what());
        }
        return p;
    }

    // Operations without FlushOwned, in their order (the contract,
    // kernel.hpp): each run of XFRM ones in one datagram, each run of
    // rtnetlink ones in as few as the devices they name allow. The order
    // matters: a route must not reach its traffic before the policy that
    // protects it, nor outlive it (reconcile.cpp), and a route that moves
    // a binding goes ahead of the rest (executor.cpp).
    awaitable<void> run_segment(const std::vector<OperationRequest>& ops, const std::vector<size_t>& indexes,
                                std::vector<OperationResult>& results) {
        size_t r = 0;
        while (r < indexes.size()) {
            const bool xfrm = is_xfrm(ops[indexes[r]].operation);
            std::vector<size_t> run;
            for (; r < indexes.size() && is_xfrm(ops[indexes[r]].operation) == xfrm; ++r) run.push_back(indexes[r]);
            if (xfrm) {
                std::vector<Plan> plans;
                for (size_t i : run) plans.push_back(plan_xfrm(i, ops[i].operation));
                co_await send_plans(xfrm_requests.get(), plans, results);
                continue;
            }
            size_t k = 0;
            while (k < run.size()) {
                co_await refresh_links();
                std::set<std::string> changed;
                std::vector<Plan> phase;
                for (; k < run.size(); ++k) {
                    const Operation& op = ops[run[k]].operation;
                    bool names_changed = false;
                    for (const auto& n : interfaces_named(op)) names_changed = names_changed || changed.contains(n);
                    if (names_changed) break;  // its index is known only after this datagram
                    phase.push_back(plan_rtnl(run[k], op));
                    if (auto d = device_changed(op)) changed.insert(*d);
                }
                co_await send_plans(rtnl_requests.get(), phase, results);
            }
        }
    }

    awaitable<void> run_batch(std::vector<OperationRequest> ops, BatchMode mode, Completion done) {
        std::vector<OperationResult> results(ops.size());
        for (size_t i = 0; i < ops.size(); ++i) results[i].id = ops[i].id;
        bool stopped = false;
        std::vector<size_t> segment;
        for (size_t i = 0; i < ops.size(); ++i) {
            if (stopped) {
                results[i].status = OperationStatus::skipped;
                results[i].detail = "an earlier operation of the batch failed";
                continue;
            }
            if (std::holds_alternative<kernel::FlushOwned>(ops[i].operation)) {
                if (!segment.empty()) co_await run_segment(ops, segment, results);
                segment.clear();
                results[i] = co_await flush_owned(ops[i].id);
            } else {
                segment.push_back(i);
                if (mode == BatchMode::continue_on_error) continue;
                // The kernel goes on after a failed message of a datagram:
                // stopping at the first failure means one operation at a time.
                co_await run_segment(ops, segment, results);
                segment.clear();
            }
            if (mode == BatchMode::stop_on_error && !results[i].ok()) stopped = true;
        }
        if (!segment.empty()) co_await run_segment(ops, segment, results);
        if (!closed) done(std::move(results));
    }

    // ---- dumps ----

    awaitable<DumpResult> dump_objects() {
        DumpResult out;
        auto failed = [&](const std::string& what, const NetlinkChannel::Reply& r) {
            out.ok = false;
            out.error = what + ": " + std::strerror(r.error) + (r.detail.empty() ? "" : " (" + r.detail + ")");
        };
        KernelObjects all;
        if (xfrm_requests) {
            for (uint16_t type : {uint16_t(XFRM_MSG_GETSA), uint16_t(XFRM_MSG_GETPOLICY)}) {
                xfrm::XfrmMessage m;
                m.type = type;
                m.flags = NLM_F_REQUEST | NLM_F_DUMP;
                Bytes request(NLMSG_HDRLEN, 0);
                nlmsghdr h{NLMSG_HDRLEN, type, m.flags, 0, 0};
                std::memcpy(request.data(), &h, sizeof h);
                auto r = co_await dump(xfrm_requests.get(), request);
                if (r.error) {
                    failed(xfrm::message_type_name(type) + " dump", r);
                    co_return out;
                }
                for (const auto& bytes : r.messages) {
                    auto decoded = xfrm::decode(bytes);
                    if (!decoded) continue;
                    for (const auto& msg : *decoded) {
                        if (auto sa = sa_from(msg)) all.sas.insert_or_assign(sa->id, *sa);
                        if (auto p = policy_from(msg)) all.policies.insert_or_assign(p->id, *p);
                    }
                }
            }
        }
        auto links = co_await dump_links();
        if (!links) {
            out.ok = false;
            out.error = "RTM_GETLINK dump failed";
            co_return out;
        }
        for (const auto& l : *links) {
            if (!l.tunnel) continue;
            kernel::Tunnel t = *l.tunnel;
            if (l.tunnel_link != 0) t.link = name_of.contains(l.tunnel_link) ? name_of.at(l.tunnel_link) : "";
            all.tunnels.insert_or_assign(t.name, t);
        }
        struct Table {
            uint16_t type;
            uint8_t family;
            uint8_t flags;
            const char* name;
        };
        for (const Table& t : {Table{RTM_GETADDR, AF_UNSPEC, 0, "RTM_GETADDR"}, Table{RTM_GETROUTE, AF_UNSPEC, 0, "RTM_GETROUTE"},
                               Table{RTM_GETRULE, AF_UNSPEC, 0, "RTM_GETRULE"},
                               Table{RTM_GETNEIGH, AF_INET6, NTF_PROXY, "RTM_GETNEIGH"}}) {
            auto r = co_await dump(rtnl_requests.get(), dump_request(t.type, t.family, t.flags));
            if (r.error) {
                failed(std::string(t.name) + " dump", r);
                co_return out;
            }
            for (const auto& bytes : r.messages) {
                const auto* h = reinterpret_cast<const nlmsghdr*>(bytes.data());
                if (auto a = address_from(h, name_of)) all.addresses.insert_or_assign(a->address.id, a->address);
                if (auto route = route_from(h, name_of); route && route->type == RTN_UNICAST && !route->multipath)
                    all.routes.insert_or_assign(route->route.id, route->route);
                if (auto rule = rule_from(h)) all.rules.insert_or_assign(rule->id, *rule);
                if (auto n = neighbour_from(h, name_of); n && (n->flags & NTF_PROXY) && net::is_v6(n->address)) {
                    kernel::ProxyNeighbour pn;
                    pn.id = kernel::ProxyNeighbourId{n->interface, std::get<kernel::Ipv6Address>(n->address)};
                    pn.protocol = n->protocol;
                    all.proxy_neighbours.insert_or_assign(pn.id, pn);
                }
            }
        }
        // The clsact qdiscs, then the ingress filters of each device of ours
        // that has one (a filter dump names one device).
        {
            auto r = co_await dump(rtnl_requests.get(), dump_request(RTM_GETQDISC, AF_UNSPEC));
            if (r.error) {
                failed("RTM_GETQDISC dump", r);
                co_return out;
            }
            for (const auto& bytes : r.messages)
                if (auto device = clsact_from(reinterpret_cast<const nlmsghdr*>(bytes.data()), name_of))
                    all.qdiscs.insert_or_assign(*device, kernel::ClsactQdisc{*device});
        }
        for (const auto& [device, q] : all.qdiscs) {
            if (!kernel::marks::owned(q)) continue;
            auto i = index(device);
            if (!i) continue;
            auto r = co_await dump(rtnl_requests.get(), dump_ingress_filters(*i));
            if (r.error) {
                failed("RTM_GETTFILTER dump of " + device, r);
                co_return out;
            }
            for (const auto& bytes : r.messages)
                if (auto f = tunnel_filter_from(reinterpret_cast<const nlmsghdr*>(bytes.data()), name_of))
                    all.tunnel_filters.insert_or_assign(f->id, *f);
        }
        out.objects = kernel::marks::owned_only(all);
        co_return out;
    }

    awaitable<void> run_replay(std::function<void(bool)> done) {
        auto links = co_await dump_links();
        bool ok = links.has_value();
        if (links)
            for (const auto& l : *links)
                deliver(kernel::LinkChanged{l.name, uint32_t(l.index), (l.flags & IFF_UP) != 0,
                                            (l.flags & IFF_LOWER_UP) != 0, false});
        for (uint16_t type : {uint16_t(RTM_GETADDR), uint16_t(RTM_GETROUTE), uint16_t(RTM_GETNEIGH)}) {
            if (!ok || closed) break;
            auto r = co_await dump(rtnl_requests.get(), dump_request(type, AF_INET6));
            if (r.error) {
                ok = false;
                break;
            }
            for (const auto& bytes : r.messages) on_rtnl_event(*reinterpret_cast<const nlmsghdr*>(bytes.data()));
        }
        if (!closed) done(ok);
    }

    awaitable<void> run_dump(DumpCompletion done) {
        auto d = co_await dump_objects();
        if (!closed) done(std::move(d));
    }

    // Every object of ours removed, nothing else (dump first, then remove).
    awaitable<OperationResult> flush_owned(kernel::OperationId id) {
        auto d = co_await dump_objects();
        if (!d.ok) co_return failed_result(id, EIO, d.error);
        const auto& o = d.objects;
        std::vector<Operation> xfrm_ops, rtnl_ops;
        for (const auto& [k, v] : o.policies) xfrm_ops.push_back(kernel::RemovePolicy{k, true});
        for (const auto& [k, v] : o.sas) xfrm_ops.push_back(kernel::RemoveSa{k, true});
        for (const auto& [k, v] : o.proxy_neighbours) rtnl_ops.push_back(kernel::RemoveProxyNeighbour{k, true});
        for (const auto& [k, v] : o.tunnel_filters) rtnl_ops.push_back(kernel::RemoveTunnelFilter{k, true});
        for (const auto& [k, v] : o.qdiscs) rtnl_ops.push_back(kernel::RemoveQdisc{k, true});
        for (const auto& [k, v] : o.addresses) rtnl_ops.push_back(kernel::RemoveAddress{k, true});
        for (const auto& [k, v] : o.tunnels) rtnl_ops.push_back(kernel::RemoveTunnel{k, true});
        std::vector<Plan> xfrm_plans, rtnl_plans;
        for (size_t i = 0; i < xfrm_ops.size(); ++i) xfrm_plans.push_back(plan_xfrm(i, xfrm_ops[i]));
        size_t n = xfrm_ops.size();
        // Only routes and rules of our protocol go (their ids might be shared).
        for (const auto& [k, v] : o.routes) {
            Plan p;
            p.op = n++;
            p.if_present = true;
            p.add(delete_route(k, kernel::marks::protocol));
            rtnl_plans.push_back(std::move(p));
        }
        for (const auto& [k, v] : o.rules) {
            Plan p;
            p.op = n++;
            p.if_present = true;
            p.add(delete_rule(k, kernel::marks::protocol));
            rtnl_plans.push_back(std::move(p));
        }
        for (size_t i = 0; i < rtnl_ops.size(); ++i) rtnl_plans.push_back(plan_rtnl(n++, rtnl_ops[i]));
        std::vector<OperationResult> results(n);
        co_await send_plans(xfrm_requests.get(), xfrm_plans, results);
        co_await send_plans(rtnl_requests.get(), rtnl_plans, results);
        for (const auto& r : results)
            if (!r.ok()) co_return failed_result(id, r.error, "removing an object of ours: " + r.detail);
        OperationResult ok;
        ok.id = id;
        co_return ok;
    }

    // ---- features ----

    awaitable<void> probe() {
        co_await dump_links();
        Features f = 0;
        const uint32_t salt = rtnl_requests->port_id() & 0xffff;
        if (xfrm_requests) {
            // ESP and route2 states, each deleted in the same datagram, and
            // a MIGRATE of a policy that does not exist (ENOENT when the
            // kernel has MIGRATE, ENOPROTOOPT when not).
            const xfrm_mark mark{probe_mark, 0xffffffff};
            xfrm::StateInfo esp;
            esp.info.id.daddr = xfrm::to_xfrm_address(probe_b);
            esp.info.id.spi = htonl(0x4e4b0000u | salt);
            esp.info.id.proto = IPPROTO_ESP;
            esp.info.saddr = xfrm::to_xfrm_address(probe_a);
            esp.info.family = AF_INET6;
            esp.info.mode = XFRM_MODE_TUNNEL;
            esp.info.lft.soft_byte_limit = esp.info.lft.hard_byte_limit = XFRM_INF;
            esp.info.lft.soft_packet_limit = esp.info.lft.hard_packet_limit = XFRM_INF;
            esp.aead = xfrm::Algorithm{"rfc4106(gcm(aes))", 160, 128, xfrm::Bytes(20, 0x4e)};
            esp.mark = mark;
            xfrm::StateInfo ro = esp;
            ro.aead.reset();
            ro.info.id.spi = 0;
            ro.info.id.proto = IPPROTO_ROUTING;
            ro.info.mode = XFRM_MODE_ROUTEOPTIMIZATION;
            ro.coaddr = xfrm::to_xfrm_address(probe_c);
            auto del = [&](const xfrm::StateInfo& s) {
                xfrm::StateId id;
                id.id.daddr = s.info.id.daddr;
                id.id.spi = s.info.id.spi;
                id.id.family = AF_INET6;
                id.id.proto = s.info.id.proto;
                id.srcaddr = s.info.saddr;
                id.mark = mark;
                xfrm::XfrmMessage m{XFRM_MSG_DELSA, NLM_F_REQUEST | NLM_F_ACK, 0, 0, id, {}};
                return m;
            };
            kernel::MigrateSas m;
            m.policy.selector = kernel::Selector{{probe_a, 128}, {probe_b, 128}, 0, std::nullopt};
            m.templates.push_back(kernel::MigrateTemplate{kernel::SaProtocol::esp, kernel::SaMode::tunnel, 0, probe_a,
                                                          probe_b, probe_c, probe_b});
            std::vector<xfrm::XfrmMessage> msgs = {
                {XFRM_MSG_NEWSA, NLM_F_REQUEST | NLM_F_ACK, 0, 0, esp, {}}, del(esp),
                {XFRM_MSG_NEWSA, NLM_F_REQUEST | NLM_F_ACK, 0, 0, ro, {}}, del(ro), migrate(m)};
            std::vector<Bytes> requests;
            for (const auto& msg : msgs) {
                auto b = xfrm::encode(msg);
                if (b) requests.push_back(std::move(b).value());
            }
            if (requests.size() == msgs.size()) {
                auto r = co_await transact(xfrm_requests.get(), std::move(requests));
                if (r[0].error == 0) f |= kernel::feature_esp;
                if (r[2].error == 0) f |= kernel::feature_mip6;
                if (r[4].error == ENOENT) f |= kernel::feature_migrate;
            }
        }
        if (auto lo = index("lo")) {
            // An ip6tnl device, an encap route, an address and a proxy entry
            // with their protocol, each read back and deleted in the same datagram.
            kernel::Tunnel t;
            t.name = "nk-probe" + std::to_string(salt);
            t.local = kernel::IpAddress{probe_a};
            t.remote = kernel::IpAddress{probe_b};
            kernel::Route route;
            route.id = kernel::RouteId{probe_table, {probe_b, 128}, 1024};
            route.device = "lo";
            route.encap_destination = kernel::IpAddress{probe_b};
            route.encap_source = kernel::IpAddress{probe_a};
            route.protocol = kernel::marks::protocol;
            kernel::Address a;
            a.id = kernel::AddressId{"lo", {probe_c, 128}};
            a.nodad = true;
            a.protocol = kernel::marks::protocol;
            kernel::ProxyNeighbour n;
            n.id = kernel::ProxyNeighbourId{"lo", probe_c};
            n.protocol = kernel::marks::protocol;
            // The tunnel stays until the tc probe below has used it.
            std::vector<Bytes> requests = {
                new_tunnel(t, 0, InstallMode::create), get_link(t.name),
                new_route(route, *lo, InstallMode::create), delete_route(route.id, route.protocol),
                new_address(a, *lo, InstallMode::create), get_address(a.id, *lo), delete_address(a.id, *lo),
                new_proxy_neighbour(n, *lo, InstallMode::create), get_proxy_neighbour(n.id, *lo),
                delete_proxy_neighbour(n.id, *lo)};
            auto r = co_await transact(rtnl_requests.get(), std::move(requests));
            if (r[0].error == 0 || r[0].error == EEXIST) f |= kernel::feature_ip6_tunnel;
            if (r[2].error == 0 || r[2].error == EEXIST) f |= kernel::feature_lwtunnel_encap;
            for (const auto& m : r[5].messages)
                if (auto got = address_from(reinterpret_cast<const nlmsghdr*>(m.data()), name_of);
                    got && got->address.protocol == kernel::marks::protocol)
                    f |= kernel::feature_address_protocol;
            for (const auto& m : r[8].messages)
                if (auto got = neighbour_from(reinterpret_cast<const nlmsghdr*>(m.data()), name_of);
                    got && got->protocol == kernel::marks::protocol)
                    f |= kernel::feature_neighbour_protocol;
            // The reverse-tunnel check: a clsact qdisc on the throw-away
            // tunnel and a flower filter with inner and tunnel (enc) keys
            // and a gact action; the device's deletion takes them.
            if (r[0].error == 0) {
                co_await dump_links();
                if (auto i = index(t.name)) {
                    kernel::TunnelFilter filter;
                    filter.id = kernel::TunnelFilterId{t.name, kernel::marks::filter_priority_min, 1};
                    filter.inner_source = kernel::Prefix{probe_c, 128};
                    filter.outer_source = kernel::IpAddress{probe_a};
                    filter.action = kernel::FilterAction::pass;
                    std::vector<Bytes> tc_requests;
                    tc_requests.push_back(new_clsact(*i, InstallMode::create));
                    tc_requests.push_back(new_tunnel_filter(filter, *i, InstallMode::create));
                    auto tc = co_await transact(rtnl_requests.get(), std::move(tc_requests));
                    if (tc[0].error == 0 && tc[1].error == 0) f |= kernel::feature_tunnel_filter;
                }
            }
            if (r[0].error == 0) {
                std::vector<Bytes> removal;
                removal.push_back(delete_link(t.name));
                co_await transact(rtnl_requests.get(), std::move(removal));
            }
        }
        const int pfkey = ::socket(PF_KEY, SOCK_RAW | SOCK_CLOEXEC, PF_KEY_V2);
        if (pfkey >= 0) {
            ::close(pfkey);
            f |= kernel::feature_pfkey;
        }
        features = f;
    }
};

// ---- NetlinkKernel ----

NetlinkKernel::NetlinkKernel(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

NetlinkKernel::~NetlinkKernel() { impl_->close(); }

void NetlinkKernel::open(asio::io_context& io, OpenCompletion done) {
    auto impl = std::make_shared<Impl>(io);
    int error = 0;
    impl->rtnl_requests = NetlinkChannel::open(io, NETLINK_ROUTE, {}, error);
    if (impl->rtnl_requests)
        impl->rtnl_events = NetlinkChannel::open(
            io, NETLINK_ROUTE, {RTNLGRP_LINK, RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV6_ROUTE, RTNLGRP_NEIGH}, error);
    if (!impl->rtnl_requests || !impl->rtnl_events) {
        asio::post(io, [done = std::move(done), error] {
            done(nullptr, std::string("rtnetlink socket: ") + std::strerror(error));
        });
        return;
    }
    int xfrm_error = 0;
    impl->xfrm_requests = NetlinkChannel::open(io, NETLINK_XFRM, {}, xfrm_error);
    impl->xfrm_events = NetlinkChannel::open(
        io, NETLINK_XFRM, {XFRMNLGRP_MIGRATE, XFRMNLGRP_ACQUIRE, XFRMNLGRP_EXPIRE, XFRMNLGRP_MAPPING}, xfrm_error);
    std::weak_ptr<Impl> weak = impl;
    impl->rtnl_events->on_unsolicited(
        [weak](const nlmsghdr& h) {
            if (auto self = weak.lock()) self->on_rtnl_event(h);
        },
        [weak] {
            if (auto self = weak.lock()) self->links_stale = true;
        });
    if (impl->xfrm_events)
        impl->xfrm_events->on_unsolicited(
            [weak](const nlmsghdr& h) {
                if (auto self = weak.lock()) self->on_xfrm_event(h);
            },
            {});
    impl->enqueue([impl, done = std::move(done)]() -> awaitable<void> {
        co_await impl->probe();
        done(std::unique_ptr<NetlinkKernel>(new NetlinkKernel(impl)), {});
    });
}

kernel::Features NetlinkKernel::features() const { return impl_->features; }

void NetlinkKernel::submit(std::vector<OperationRequest> operations, BatchMode mode, Completion done) {
    impl_->enqueue([self = impl_, operations = std::move(operations), mode, done = std::move(done)] {
        return self->run_batch(operations, mode, done);
    });
}

void NetlinkKernel::dump_owned(DumpCompletion done) {
    impl_->enqueue([self = impl_, done = std::move(done)] { return self->run_dump(done); });
}

void NetlinkKernel::set_listener(kernel::KernelListener* listener) { impl_->listener = listener; }

void NetlinkKernel::replay_net_state(std::function<void(bool)> done) {
    impl_->enqueue([self = impl_, done = std::move(done)] { return self->run_replay(done); });
}

uint64_t NetlinkKernel::round_trips() const { return impl_->round_trips(); }

}  // namespace nemokey::mobility::adapters::netlink
