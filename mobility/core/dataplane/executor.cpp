#include "mobility/core/dataplane/executor.hpp"

#include <algorithm>

#include "mobility/kernel/state_rules.hpp"
#include "mobility/kernel/reconcile.hpp"

namespace nemokey::mobility::dataplane {

using namespace kernel;

std::vector<const Policy*> policies_between(const KernelObjects& installed, const net::Ipv6Address& a,
                                           const net::Ipv6Address& b) {
    std::vector<const Policy*> out;
    auto host = [](const net::Ipv6Address& x) { return Prefix{IpAddress{x}, 128}; };
    for (const auto& [from, to] : {std::pair{host(a), host(b)}, std::pair{host(b), host(a)}}) {
        // PolicyId orders by selector first (source, destination, ...).
        for (auto it = installed.policies.lower_bound(PolicyId{Selector{from, to, 0, std::nullopt}, {}, {}});
             it != installed.policies.end() && it->first.selector.source == from &&
             it->first.selector.destination == to;
             ++it)
            out.push_back(&it->second);
    }
    return out;
}

std::vector<MigrateSas> migrations_for(const KernelObjects& installed, const net::Ipv6Address& old_coa_v6,
                                       const net::Ipv6Address& new_coa_v6, bool move_ike_sa,
                                       bool local_is_care_of_address, const net::Ipv6Address& home_address,
                                       const net::Ipv6Address& home_agent_address) {
    std::vector<MigrateSas> out;
    const IpAddress old_coa{old_coa_v6};
    const IpAddress new_coa{new_coa_v6};
    std::optional<IpAddress> peer;   // the other end of the IKE SA
    // One MIGRATE per SA. Policies that share a tunnel-mode SA (the home
    // address's and a prefix's payload) get their templates from the
    // reconcile (an in-place policy update) instead: a second MIGRATE finds
    // the SA gone from the old addresses, and a packet sent on it in that
    // instant leaves a larval ACQUIRE state there that the MIGRATE tries to
    // clone and fails on (ENODATA; seen in the testbed, twice in 20
    // handovers, each costing an IKE re-establishment).
    std::vector<std::tuple<uint32_t, IpAddress, IpAddress>> moved;   // (reqid, old source, old destination)
    for (const auto& [id, p] : installed.policies) {
        MigrateSas m;
        m.policy = id;
        bool new_sa = false;
        for (const auto& t : p.templates) {
            if (t.mode != SaMode::tunnel || !t.source || !t.destination) continue;
            if (*t.source != old_coa && *t.destination != old_coa) continue;
            const bool outbound_sa = *t.source == old_coa;
            m.templates.push_back(outbound_sa ? MigrateTemplate{t.protocol, t.mode, t.reqid, old_coa, *t.destination,
                                                                new_coa, *t.destination}
                                              : MigrateTemplate{t.protocol, t.mode, t.reqid, *t.source, old_coa,
                                                                *t.source, new_coa});
            peer = outbound_sa ? *t.destination : *t.source;
            const auto key = std::make_tuple(t.reqid, *t.source, *t.destination);
            if (std::find(moved.begin(), moved.end(), key) == moved.end()) {
                moved.push_back(key);
                new_sa = true;
            }
        }
        if (new_sa) out.push_back(std::move(m));
    }
    if (!move_ike_sa) return out;
    auto kmaddress = [&](const IpAddress& other) {
        return local_is_care_of_address ? KmAddress{new_coa, other} : KmAddress{other, new_coa};
    };
    if (!out.empty() && peer) {
        for (auto& m : out) m.kmaddress = kmaddress(*peer);
        return out;
    }
    // No tunnel-mode SA to move: tell the key manager through a MIGRATE of
    // the node's BU/BA transport policy that moves nothing (another node's
    // would move that node's IKE SA).
    std::vector<const Policy*> candidates;
    if (home_address != net::Ipv6Address{} && home_agent_address != net::Ipv6Address{})
        candidates = policies_between(installed, home_address, home_agent_address);
    else
        for (const auto& [id, p] : installed.policies) candidates.push_back(&p);
    for (const Policy* candidate : candidates) {
        const PolicyId& id = candidate->id;
        const Policy& p = *candidate;
        if (p.templates.empty() || p.templates.front().mode != SaMode::transport ||
            p.templates.front().protocol != SaProtocol::esp || id.direction != PolicyDirection::out)
            continue;
        const IpAddress src = id.selector.source.address;
        const IpAddress dst = id.selector.destination.address;
        MigrateSas m;
        m.policy = id;
        m.templates.push_back(MigrateTemplate{SaProtocol::esp, SaMode::transport, p.templates.front().reqid,
                                              src, dst, src, dst});
        // The home agent end: the selector's destination on the mobile
        // node, its source on the home agent.
        m.kmaddress = kmaddress(local_is_care_of_address ? dst : src);
        out.push_back(std::move(m));
        break;
    }
    return out;
}

namespace {

// Removes from our record the SA the kernel knows as `id` (same_state).
// A route2/hao state is found by its (source, destination, protocol), a
// range of the map: no scan, so a home agent's step does not grow with its
// bindings. An ESP state's identity ignores its source: a scan, for the
// static SAs that only start and reload install.
void erase_same_state(std::map<SaId, Sa>& sas, const SaId& id) {
    if (id.protocol == SaProtocol::esp) {
        std::erase_if(sas, [&](const auto& kv) { return same_state(kv.first, id); });
        return;
    }
    auto it = sas.lower_bound(SaId{id.source, id.destination, id.protocol, 0});
    while (it != sas.end() && it->first.source == id.source && it->first.destination == id.destination &&
           it->first.protocol == id.protocol)
        it = sas.erase(it);
}

// Our record after a successful operation.
void record_success(KernelObjects& k, const Operation& op) {
    std::visit(
        [&](const auto& o) {
            using T = std::decay_t<decltype(o)>;
            // The kernel's identities (kernel::same_state; an address once
            // per interface whatever its length): one record entry each.
            if constexpr (std::is_same_v<T, InstallSa>) {
                erase_same_state(k.sas, o.sa.id);
                k.sas.insert_or_assign(o.sa.id, o.sa);
            } else if constexpr (std::is_same_v<T, RemoveSa>)
                erase_same_state(k.sas, o.id);
            else if constexpr (std::is_same_v<T, InstallPolicy>) k.policies.insert_or_assign(o.policy.id, o.policy);
            else if constexpr (std::is_same_v<T, RemovePolicy>) k.policies.erase(o.id);
            else if constexpr (std::is_same_v<T, MigrateSas>) kernel::apply_migrate(k, o);
            else if constexpr (std::is_same_v<T, FlushOwned>) k = KernelObjects{};
            else if constexpr (std::is_same_v<T, InstallAddress>) {
                std::erase_if(k.addresses, [&](const auto& kv) {
                    return kv.first.interface == o.address.id.interface &&
                           kv.first.address.address == o.address.id.address.address;
                });
                k.addresses.insert_or_assign(o.address.id, o.address);
            }
            else if constexpr (std::is_same_v<T, RemoveAddress>) k.addresses.erase(o.id);
            else if constexpr (std::is_same_v<T, InstallRoute>) k.routes.insert_or_assign(o.route.id, o.route);
            else if constexpr (std::is_same_v<T, RemoveRoute>) k.routes.erase(o.id);
            else if constexpr (std::is_same_v<T, InstallRule>) k.rules.insert_or_assign(o.rule.id, o.rule);
            else if constexpr (std::is_same_v<T, RemoveRule>) k.rules.erase(o.id);
            else if constexpr (std::is_same_v<T, InstallTunnel>) k.tunnels.insert_or_assign(o.tunnel.name, o.tunnel);
            else if constexpr (std::is_same_v<T, RemoveTunnel>)
                kernel::remove_device(k, o.name);
            else if constexpr (std::is_same_v<T, InstallProxyNeighbour>)
                k.proxy_neighbours.insert_or_assign(o.neighbour.id, o.neighbour);
            else if constexpr (std::is_same_v<T, RemoveProxyNeighbour>) k.proxy_neighbours.erase(o.id);
            else if constexpr (std::is_same_v<T, InstallQdisc>) k.qdiscs.insert_or_assign(o.qdisc.device, o.qdisc);
            else if constexpr (std::is_same_v<T, RemoveQdisc>) kernel::remove_qdisc(k, o.device);
            else if constexpr (std::is_same_v<T, InstallTunnelFilter>)
                k.tunnel_filters.insert_or_assign(o.filter.id, o.filter);
            else if constexpr (std::is_same_v<T, RemoveTunnelFilter>) k.tunnel_filters.erase(o.id);
        },
        op);
}

}  // namespace

DesiredParts home_agent_parts(const binding::BindingCache& cache, const HomeAgentDataPlane& plane) {
    return DesiredParts{[&cache, &plane](const net::Ipv6Address& hoa) { return desired_state_of(cache, hoa, plane); },
                        [&cache] {
                            std::vector<net::Ipv6Address> out;
                            out.reserve(cache.size());
                            for (const auto& [hoa, entry] : cache.entries()) out.push_back(hoa);
                            return out;
                        }};
}

KernelExecutor::KernelExecutor(Kernel& kernel, DesiredState desired, bool local_is_care_of_address,
                               DesiredParts parts)
    : kernel_(kernel), desired_(std::move(desired)), local_is_care_of_address_(local_is_care_of_address),
      desired_parts_(std::move(parts)) {}

namespace {

// The objects of `ids` that `installed` holds, with the installed values.
KernelObjects installed_of(const KernelObjects& installed, const KernelObjects& ids) {
    KernelObjects out;
    auto take = [](const auto& from, const auto& wanted, auto& into) {
        for (const auto& kv : wanted)
            if (auto it = from.find(kv.first); it != from.end()) into.insert(*it);
    };
    take(installed.tunnels, ids.tunnels, out.tunnels);
    take(installed.addresses, ids.addresses, out.addresses);
    take(installed.sas, ids.sas, out.sas);
    take(installed.policies, ids.policies, out.policies);
    take(installed.rules, ids.rules, out.rules);
    take(installed.routes, ids.routes, out.routes);
    take(installed.proxy_neighbours, ids.proxy_neighbours, out.proxy_neighbours);
    take(installed.qdiscs, ids.qdiscs, out.qdiscs);
    take(installed.tunnel_filters, ids.tunnel_filters, out.tunnel_filters);
    return out;
}

using FilterKey = std::pair<std::optional<Prefix>, std::optional<IpAddress>>;
FilterKey key_of(const TunnelFilter& f) { return {f.inner_source, f.outer_source}; }

// A route that only points its encapsulation somewhere else (same device,
// gateway and source as the installed one) moves a binding to its new
// care-of address (RFC 6275 sec. 10.4.1, RFC 3963 sec. 6): it goes first,
// ahead of the MIGRATEs and the states, because every packet that waits
// for it is a packet of the handover's disruption. It opens no plaintext
// window: the traffic it carries is the traffic it carried before, and
// the selectors of the policies that protect it never name a care-of
// address (desired_state.cpp: only templates do), so they hold already;
// an ESP tunnel-mode SA still on the old care-of address sends to the old
// one until its MIGRATE, a moment later. Nothing it needs comes in the
// batch: its device and its source are those of the installed route.
bool switches_a_route(const Operation& op, const KernelObjects& installed) {
    const auto* r = std::get_if<InstallRoute>(&op);
    if (!r) return false;
    auto it = installed.routes.find(r->route.id);
    if (it == installed.routes.end()) return false;
    const Route& was = it->second;
    return was.device == r->route.device && was.gateway == r->route.gateway &&
           was.preferred_source == r->route.preferred_source && was.encap_destination && r->route.encap_destination;
}

}  // namespace

std::map<net::Ipv6Address, KernelObjects> KernelExecutor::split(const KernelObjects& desired) const {
    std::map<net::Ipv6Address, KernelObjects> parts;
    if (!desired_parts_.of || !desired_parts_.home_addresses) return parts;
    // The whole state settled the pass filters' handles across all parts:
    // each part takes its filters as settled there.
    std::map<FilterKey, TunnelFilterId> settled;
    for (const auto& [id, f] : desired.tunnel_filters) settled.emplace(key_of(f), id);
    for (const auto& hoa : desired_parts_.home_addresses()) {
        KernelObjects part = desired_parts_.of(hoa);
        std::map<TunnelFilterId, TunnelFilter> filters;
        for (auto [id, f] : part.tunnel_filters) {
            if (auto s = settled.find(key_of(f)); s != settled.end()) f.id = s->second;
            filters.emplace(f.id, f);
        }
        part.tunnel_filters = std::move(filters);
        if (!part.empty()) parts.emplace(hoa, std::move(part));
    }
    return parts;
}

void KernelExecutor::start(std::function<void(bool, size_t)> done) {
    ++stats_.resyncs;
    in_flight_ = true;
    parts_valid_ = false;
    kernel_.dump_owned([this, done = std::move(done)](DumpResult r) {
        if (!r.ok) {
            in_flight_ = false;
            done(false, 0);
            pump();
            return;
        }
        installed_ = std::move(r.objects);
        const KernelObjects desired = desired_();
        auto ops = reconcile(desired, installed_);
        auto parts = split(desired);
        const size_t n = ops.size();
        if (ops.empty()) {
            parts_ = std::move(parts);
            parts_valid_ = true;
            in_flight_ = false;
            done(true, 0);
            pump();
            return;
        }
        ++stats_.batches;
        stats_.operations += n;
        auto requests = number(std::move(ops), next_id_);
        next_id_ += n;
        auto copy = requests;
        kernel_.submit(std::move(requests), BatchMode::continue_on_error,
                       [this, copy = std::move(copy), done = std::move(done),
                        parts = std::move(parts)](std::vector<OperationResult> results) mutable {
                           bool ok = results.size() == copy.size();
                           for (size_t i = 0; i < results.size() && i < copy.size(); ++i) {
                               if (results[i].ok()) record_success(installed_, copy[i].operation);
                               else ok = false;
                           }
                           if (ok) {
                               parts_ = std::move(parts);
                               parts_valid_ = true;
                           } else {
                               ++stats_.failed_batches;
                           }
                           in_flight_ = false;
                           done(ok, copy.size());
                           pump();
                       });
    });
}

void KernelExecutor::execute(const binding::Actions& actions, Outcome outcome) {
    Step step;
    auto scope = [&](const net::Ipv6Address& hoa) {
        if (hoa == net::Ipv6Address{}) step.whole = true;
        else step.home_addresses.insert(hoa);
    };
    for (const auto& a : actions) {
        if (const auto* m = std::get_if<binding::Migrate>(&a)) {
            step.migrates.push_back(*m);
            if (m->operation != 0) step.operations.push_back(m->operation);
            scope(m->home_address);
        }
        if (const auto* c = std::get_if<binding::CommitKernelState>(&a)) {
            step.operations.push_back(c->operation);
            scope(c->home_address);
        }
    }
    if (step.migrates.empty() && step.operations.empty()) return;
    ++stats_.steps;
    step.outcome = std::move(outcome);
    queue_.push_back(std::move(step));
    pump();
}

void KernelExecutor::shutdown(std::function<void(bool)> done) {
    Step step;
    step.shutdown = true;
    step.shutdown_done = std::move(done);
    queue_.push_back(std::move(step));
    pump();
}

void KernelExecutor::pump() {
    if (in_flight_ || queue_.empty()) return;
    std::vector<Step> steps;
    steps.push_back(std::move(queue_.front()));
    queue_.pop_front();
    // Everything that waited goes together (a shutdown runs alone).
    while (!steps.front().shutdown && !queue_.empty() && !queue_.front().shutdown) {
        steps.push_back(std::move(queue_.front()));
        queue_.pop_front();
    }
    run(std::move(steps));
}

std::vector<Operation> KernelExecutor::scoped_operations(const std::vector<Step>& steps,
                                                         const std::set<net::Ipv6Address>& scope,
                                                         std::map<net::Ipv6Address, KernelObjects>& next) const {
    // What we installed for these addresses, and what the MIGRATEs make of it.
    KernelObjects view;
    for (const auto& hoa : scope)
        if (auto p = parts_.find(hoa); p != parts_.end()) view.merge(installed_of(installed_, p->second));
    std::vector<Operation> ops;
    for (const auto& step : steps)
        for (const auto& m : step.migrates) {
            // A KMADDRESS without a tunnel-mode SA rides on the node's
            // transport policy, which belongs to no part: look at it too.
            KernelObjects seen = view;
            for (const Policy* p : policies_between(installed_, m.home_address, m.home_agent_address))
                seen.policies.emplace(p->id, *p);
            for (auto& mig : migrations_for(seen, m.old_care_of_address, m.new_care_of_address, m.move_ike_sa,
                                            local_is_care_of_address_, m.home_address, m.home_agent_address)) {
                kernel::apply_migrate(view, mig);
                ops.push_back(std::move(mig));
            }
        }
    KernelObjects wanted;
    for (const auto& hoa : scope) {
        KernelObjects part = desired_parts_.of(hoa);
        // A pass filter takes its preferred handle unless a filter of
        // another part holds it; then the next free one. The whole state
        // settles such collisions in a fixed order instead, so after a
        // restart a colliding filter may move (installed before the old one
        // goes; 32-bit hashes make it rare).
        std::map<TunnelFilterId, TunnelFilter> filters;
        for (auto [id, f] : part.tunnel_filters) {
            auto taken = [&](const TunnelFilterId& candidate) {
                if (filters.contains(candidate) || wanted.tunnel_filters.contains(candidate)) return true;
                return installed_.tunnel_filters.contains(candidate) && !view.tunnel_filters.contains(candidate);
            };
            while (taken(f.id)) f.id.handle = f.id.handle == 0xffffffffu ? 1 : f.id.handle + 1;
            filters.emplace(f.id, f);
        }
        part.tunnel_filters = std::move(filters);
        wanted.merge(part);
        next.emplace(hoa, std::move(part));
    }
    for (auto& op : reconcile(wanted, view)) ops.push_back(std::move(op));
    return ops;
}

void KernelExecutor::run(std::vector<Step> steps) {
    const bool shutdown = steps.front().shutdown;
    bool scoped = desired_parts_.of && parts_valid_ && !shutdown;
    std::set<net::Ipv6Address> scope;
    for (const auto& step : steps) {
        scoped = scoped && !step.whole;
        scope.insert(step.home_addresses.begin(), step.home_addresses.end());
    }
    if (scoped) {
        std::map<net::Ipv6Address, KernelObjects> next;
        auto ops = scoped_operations(steps, scope, next);
        submit(std::move(ops), std::move(steps), std::move(next), false);
        return;
    }
    std::vector<Operation> ops;
    KernelObjects expected = installed_;
    for (const auto& step : steps) {
        for (const auto& m : step.migrates) {
            for (auto& mig : migrations_for(expected, m.old_care_of_address, m.new_care_of_address, m.move_ike_sa,
                                            local_is_care_of_address_, m.home_address, m.home_agent_address)) {
                kernel::apply_migrate(expected, mig);
                ops.push_back(std::move(mig));
            }
        }
    }
    // The reconcile runs against the state the MIGRATEs leave behind, so
    // it sends only what they do not already do.
    if (shutdown) {
        parts_.clear();
        parts_valid_ = false;
        for (auto& op : reconcile(KernelObjects{}, expected)) ops.push_back(std::move(op));
        submit(std::move(ops), std::move(steps), std::nullopt, false);
        return;
    }
    const KernelObjects desired = desired_();
    for (auto& op : reconcile(desired, expected)) ops.push_back(std::move(op));
    submit(std::move(ops), std::move(steps), split(desired), true);
}

void KernelExecutor::submit(std::vector<Operation> ops, std::vector<Step> steps,
                            std::optional<std::map<net::Ipv6Address, KernelObjects>> next_parts, bool whole) {
    // What the parts become once the batch worked: all of them after a
    // whole reconcile, the scope's after a scoped one.
    const bool scoped = next_parts && !whole;
    auto settle_parts = [this, next_parts = std::move(next_parts), whole]() mutable {
        if (!next_parts) return;
        if (whole) {
            parts_ = std::move(*next_parts);
            parts_valid_ = desired_parts_.of != nullptr;
            return;
        }
        for (auto& [hoa, part] : *next_parts) {
            if (part.empty()) parts_.erase(hoa);
            else parts_.insert_or_assign(hoa, std::move(part));
        }
    };
    if (ops.empty()) {
        settle_parts();
        for (auto& step : steps) finish(std::move(step), true);
        pump();
        return;
    }
    std::stable_partition(ops.begin(), ops.end(), [&](const Operation& op) { return switches_a_route(op, installed_); });
    in_flight_ = true;
    ++stats_.batches;
    if (scoped) ++stats_.scoped_batches;
    stats_.operations += ops.size();
    auto requests = number(std::move(ops), next_id_);
    next_id_ += requests.size();
    auto copy = requests;
    kernel_.submit(std::move(requests), BatchMode::continue_on_error,
                   [this, copy = std::move(copy), steps = std::move(steps),
                    settle_parts = std::move(settle_parts)](std::vector<OperationResult> results) mutable {
                       bool ok = results.size() == copy.size();
                       std::string failures;
                       for (size_t i = 0; i < results.size() && i < copy.size(); ++i) {
                           if (results[i].ok()) {
                               record_success(installed_, copy[i].operation);
                               continue;
                           }
                           ok = false;
                           if (!failures.empty()) failures += "; ";
                           failures += describe(copy[i].operation) + ": " +
                                       (results[i].detail.empty() ? std::string(to_string(results[i].status))
                                                                  : results[i].detail) +
                                       (results[i].error ? " (errno " + std::to_string(results[i].error) + ")" : "");
                       }
                       if (!ok) stats_.last_failure = failures.empty() ? "the batch was cut short" : failures;
                       if (ok) {
                           settle_parts();
                           in_flight_ = false;
                           for (auto& step : steps) finish(std::move(step), true);
                           pump();
                           return;
                       }
                       // Something failed: read the truth; the first step
                       // failed, the others run again from it, against the
                       // whole desired state.
                       parts_valid_ = false;
                       ++stats_.failed_batches;
                       ++stats_.resyncs;
                       kernel_.dump_owned([this, steps = std::move(steps)](DumpResult r) mutable {
                           if (r.ok) installed_ = std::move(r.objects);
                           in_flight_ = false;
                           for (size_t i = steps.size(); i-- > 1;) queue_.push_front(std::move(steps[i]));
                           finish(std::move(steps.front()), false);
                           pump();
                       });
                   });
}

void KernelExecutor::finish(Step step, bool ok) {
    if (step.shutdown) {
        if (step.shutdown_done) step.shutdown_done(ok);
        return;
    }
    for (uint64_t op : step.operations)
        if (step.outcome) step.outcome(op, ok);
}

}  // namespace nemokey::mobility::dataplane
