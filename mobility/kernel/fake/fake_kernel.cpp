#include "mobility/kernel/fake/fake_kernel.hpp"

#include <algorithm>
#include <cerrno>

#include "mobility/kernel/marks.hpp"
#include "mobility/kernel/state_rules.hpp"

namespace nemokey::mobility::kernel {

namespace {

constexpr size_t xfrm_max_depth = 6;  // XFRM_MAX_DEPTH

template <class Map, class Key, class Value>
int install(Map& map, const Key& key, const Value& value, InstallMode mode) {
    auto it = map.find(key);
    if (it != map.end() && mode == InstallMode::create) return EEXIST;
    map.insert_or_assign(key, value);
    return 0;
}

template <class Map, class Key>
int remove(Map& map, const Key& key, bool if_present, int missing_errno) {
    if (map.erase(key) == 0) return if_present ? 0 : missing_errno;
    return 0;
}

}  // namespace

FakeKernel::FakeKernel(std::vector<std::string> links, Features features)
    : links_(std::move(links)), features_(features) {}

void FakeKernel::fail_next(std::function<bool(const Operation&)> match, int error) {
    injected_.push_back({std::move(match), error});
}

std::map<SaId, Sa>::iterator FakeKernel::sa_state(const SaId& id) {
    return std::find_if(objects_.sas.begin(), objects_.sas.end(),
                        [&](const auto& kv) { return same_state(kv.first, id); });
}

std::vector<SaId>::iterator FakeKernel::larval_state(const SaId& id) {
    return std::find_if(larval_.begin(), larval_.end(), [&](const SaId& l) { return same_state(l, id); });
}

bool FakeKernel::device_exists(const std::string& name) const {
    return std::find(links_.begin(), links_.end(), name) != links_.end() ||
           objects_.tunnels.contains(name);
}

void FakeKernel::remove_device(const std::string& name) {
    const bool tunnel = objects_.tunnels.contains(name);
    for (const auto& a : kernel::remove_device(objects_, name)) announce_address(a, true);
    if (tunnel) announce(LinkChanged{name, 0, false, false, true});
}

void FakeKernel::announce(KernelEvent event) {
    if (!listener_) return;
    queue_.push_back([this, event = std::move(event)] {
        if (listener_) listener_->on_kernel_event(event);
    });
}

void FakeKernel::announce_address(const Address& a, bool removed) {
    // A nodad address is never tentative.
    announce(AddressChanged{a.id.interface, a.id.address, !a.nodad && !removed, false, false, false, a.home_address,
                            removed});
}

std::map<AddressId, Address>::iterator FakeKernel::address_of(const AddressId& id) {
    if (!net::is_v6(id.address.address)) return objects_.addresses.find(id);
    return std::find_if(objects_.addresses.begin(), objects_.addresses.end(), [&](const auto& kv) {
        return kv.first.interface == id.interface && kv.first.address.address == id.address.address;
    });
}

void FakeKernel::submit(std::vector<OperationRequest> operations, BatchMode mode, Completion done) {
    ++round_trips_;
    std::vector<OperationResult> results;
    results.reserve(operations.size());
    bool stopped = false;
    for (const auto& request : operations) {
        if (stopped) {
            results.push_back(OperationResult{request.id, OperationStatus::skipped, 0,
                                              "an earlier operation of the batch failed", {}});
            continue;
        }
        results.push_back(execute(request));
        if (!results.back().ok() && mode == BatchMode::stop_on_error) stopped = true;
    }
    queue_.push_back([done = std::move(done), results = std::move(results)]() mutable {
        done(std::move(results));
    });
}

void FakeKernel::dump_owned(DumpCompletion done) {
    ++round_trips_;
    DumpResult r;
    r.objects = marks::owned_only(objects_);
    queue_.push_back([done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
}

size_t FakeKernel::run() {
    size_t n = 0;
    while (!queue_.empty()) {
        auto f = std::move(queue_.front());
        queue_.pop_front();
        f();
        ++n;
    }
    return n;
}

OperationResult FakeKernel::execute(const OperationRequest& request) {
    ++executed_;
    OperationResult result;
    result.id = request.id;
    int error = fail_all_;
    for (auto it = injected_.begin(); error == 0 && it != injected_.end(); ++it) {
        if (it->match(request.operation)) {
            error = it->error;
            injected_.erase(it);
            break;
        }
    }
    if (error != 0) {
        result.detail = "injected failure";
    } else {
        error = apply(request.operation, result);
    }
    result.error = error;
    result.status = status_from_errno(error);
    return result;
}

int FakeKernel::apply(const Operation& op, OperationResult& result) {
    if (const auto* o = std::get_if<AllocateSpi>(&op)) {
        if (o->min > o->max) return EINVAL;
        for (uint64_t spi = o->min; spi <= o->max; ++spi) {
            SaId id{o->source, o->destination, o->protocol, static_cast<uint32_t>(spi)};
            if (sa_state(id) != objects_.sas.end() || larval_state(id) != larval_.end()) continue;
            // net/xfrm/xfrm_user.c xfrm_alloc_userspi(): a larval state holds the SPI.
            larval_.push_back(id);
            result.spi = static_cast<uint32_t>(spi);
            return 0;
        }
        return ENOENT;
    }
    if (const auto* o = std::get_if<InstallSa>(&op)) {
        const Sa& s = o->sa;
        if (s.id.protocol == SaProtocol::esp) {
            if (!(features_ & feature_esp)) return EPROTONOSUPPORT;
            if (!s.aead && !s.encryption) return EINVAL;
            if (s.id.spi == 0) return EINVAL;
        } else {
            if (!(features_ & feature_mip6)) return EPROTONOSUPPORT;
            if (s.mode != SaMode::route_optimization || !s.care_of_address) return EINVAL;
        }
        // The kernel's identity, not the SaId: an SA of the same state (or a
        // larval one) is in the way of create and is replaced by replace.
        auto existing = sa_state(s.id);
        auto larval = larval_state(s.id);
        if (o->mode == InstallMode::create && (existing != objects_.sas.end() || larval != larval_.end()))
            return EEXIST;
        if (existing != objects_.sas.end()) objects_.sas.erase(existing);
        if (larval != larval_.end()) larval_.erase(larval);
        objects_.sas.insert_or_assign(s.id, s);
        return 0;
    }
    if (const auto* o = std::get_if<RemoveSa>(&op)) {
        if (auto it = sa_state(o->id); it != objects_.sas.end()) {
            objects_.sas.erase(it);
            return 0;
        }
        if (auto it = larval_state(o->id); it != larval_.end()) {
            larval_.erase(it);
            return 0;
        }
        return o->if_present ? 0 : ESRCH;
    }
    if (const auto* o = std::get_if<InstallPolicy>(&op)) {
        if (o->policy.templates.size() > xfrm_max_depth) return EINVAL;
        return install(objects_.policies, o->policy.id, o->policy, o->mode);
    }
    if (const auto* o = std::get_if<RemovePolicy>(&op))
        return remove(objects_.policies, o->id, o->if_present, ENOENT);
    if (const auto* o = std::get_if<MigrateSas>(&op)) {
        if (!(features_ & feature_migrate)) return ENOPROTOOPT;
        if (o->templates.empty() || o->templates.size() > xfrm_max_depth) return EINVAL;
        const auto matched = apply_migrate(objects_, *o);
        if (!matched) return ENOENT;
        if (*matched == 0) {
            result.detail = "no template of the policy matched";
            return ENODATA;
        }
        announce(MigrateSeen{*o});
        return 0;
    }
    if (std::holds_alternative<FlushOwned>(op)) {
        const KernelObjects owned = marks::owned_only(objects_);
        for (const auto& [name, t] : owned.tunnels) remove_device(name);
        std::erase_if(objects_.addresses, [&](const auto& kv) {
            if (!marks::owned(kv.second)) return false;
            announce_address(kv.second, true);
            return true;
        });
        std::erase_if(objects_.sas, [](const auto& kv) { return marks::owned(kv.second); });
        std::erase_if(objects_.policies, [](const auto& kv) { return marks::owned(kv.second); });
        std::erase_if(objects_.rules, [](const auto& kv) { return marks::owned(kv.second); });
        std::erase_if(objects_.routes, [](const auto& kv) { return marks::owned(kv.second); });
        std::erase_if(objects_.proxy_neighbours, [](const auto& kv) { return marks::owned(kv.second); });
        std::erase_if(objects_.tunnel_filters, [](const auto& kv) { return marks::owned(kv.second); });
        for (const auto& [device, q] : owned.qdiscs) kernel::remove_qdisc(objects_, device);
        return 0;
    }
    if (const auto* o = std::get_if<InstallAddress>(&op)) {
        if (!device_exists(o->address.id.interface)) return ENODEV;
        // net/ipv6/addrconf.c inet6_rtm_newaddr(): an IPv6 address is found
        // by interface and address, whatever the length; replace changes its
        // flags and protocol and keeps its length (inet6_addr_modify()).
        auto it = address_of(o->address.id);
        if (it == objects_.addresses.end()) {
            objects_.addresses.emplace(o->address.id, o->address);
            announce_address(o->address, false);
            return 0;
        }
        if (o->mode == InstallMode::create) return EEXIST;
        Address changed = o->address;
        changed.id = it->first;
        it->second = changed;
        announce_address(changed, false);
        return 0;
    }
    if (const auto* o = std::get_if<RemoveAddress>(&op)) {
        auto it = objects_.addresses.find(o->id);
        if (it == objects_.addresses.end()) return o->if_present ? 0 : EADDRNOTAVAIL;
        announce_address(it->second, true);
        objects_.addresses.erase(it);
        return 0;
    }
    if (const auto* o = std::get_if<InstallRoute>(&op)) {
        if (!device_exists(o->route.device)) return ENODEV;
        if ((o->route.encap_destination || o->route.encap_source) && !(features_ & feature_lwtunnel_encap))
            return EOPNOTSUPP;
        return install(objects_.routes, o->route.id, o->route, o->mode);
    }
    if (const auto* o = std::get_if<RemoveRoute>(&op)) return remove(objects_.routes, o->id, o->if_present, ESRCH);
    if (const auto* o = std::get_if<InstallRule>(&op)) return install(objects_.rules, o->rule.id, o->rule, o->mode);
    if (const auto* o = std::get_if<RemoveRule>(&op)) return remove(objects_.rules, o->id, o->if_present, ENOENT);
    if (const auto* o = std::get_if<InstallTunnel>(&op)) {
        const Tunnel& t = o->tunnel;
        if (!(features_ & feature_ip6_tunnel)) return EOPNOTSUPP;
        if (t.name.empty() || t.name.size() > 15) return EINVAL;  // IFNAMSIZ - 1
        if (std::find(links_.begin(), links_.end(), t.name) != links_.end()) return EEXIST;
        const bool external = t.kind == TunnelKind::ip6ip6_external;
        if (external && (t.local || t.remote)) return EINVAL;
        auto existing = objects_.tunnels.find(t.name);
        if (existing != objects_.tunnels.end()) {
            if (o->mode == InstallMode::create) return EEXIST;
            // net/ipv6/ip6_tunnel.c ip6_tnl_changelink(): an external
            // (collect_md) tunnel cannot be changed, nor made.
            if (external || existing->second.kind == TunnelKind::ip6ip6_external) return EINVAL;
        }
        // ip6_tnl_newlink()/_changelink(): one external tunnel per namespace,
        // and a pair of endpoints (with the underlying link) belongs to one tunnel.
        for (const auto& [name, other] : objects_.tunnels) {
            if (name == t.name || other.kind != t.kind) continue;
            if (external) return EEXIST;
            if (other.local == t.local && other.remote == t.remote && other.link == t.link) return EEXIST;
        }
        objects_.tunnels.insert_or_assign(t.name, t);
        if (existing == objects_.tunnels.end()) announce(LinkChanged{t.name, 0, true, true, false});
        return 0;
    }
    if (const auto* o = std::get_if<RemoveTunnel>(&op)) {
        if (!objects_.tunnels.contains(o->name)) return o->if_present ? 0 : ENODEV;
        remove_device(o->name);
        return 0;
    }
    if (const auto* o = std::get_if<InstallProxyNeighbour>(&op)) {
        if (!device_exists(o->neighbour.id.interface)) return ENODEV;
        // net/core/neighbour.c neigh_add(): a proxy entry is looked up or
        // created, never refused as existing.
        objects_.proxy_neighbours.insert_or_assign(o->neighbour.id, o->neighbour);
        return 0;
    }
    if (const auto* o = std::get_if<RemoveProxyNeighbour>(&op))
        return remove(objects_.proxy_neighbours, o->id, o->if_present, ENOENT);
    if (const auto* o = std::get_if<InstallQdisc>(&op)) {
        if (!(features_ & feature_tunnel_filter)) return EOPNOTSUPP;
        if (!device_exists(o->qdisc.device)) return ENODEV;
        // net/sched/sch_api.c tc_modify_qdisc(): NLM_F_EXCL on the existing
        // clsact is EEXIST; without, a change with no options is a no-op.
        return install(objects_.qdiscs, o->qdisc.device, o->qdisc, o->mode);
    }
    if (const auto* o = std::get_if<RemoveQdisc>(&op)) {
        if (!device_exists(o->device)) return o->if_present ? 0 : ENODEV;
        if (!objects_.qdiscs.contains(o->device)) return o->if_present ? 0 : ENOENT;
        kernel::remove_qdisc(objects_, o->device);
        return 0;
    }
    if (const auto* o = std::get_if<InstallTunnelFilter>(&op)) {
        const TunnelFilter& f = o->filter;
        if (!(features_ & feature_tunnel_filter)) return EOPNOTSUPP;
        if ((f.inner_source && !net::is_v6(f.inner_source->address)) || (f.outer_source && !net::is_v6(*f.outer_source)))
            return EAFNOSUPPORT;
        if (f.id.handle == 0 || f.id.priority == 0) return EINVAL;
        if (!device_exists(f.id.device)) return ENODEV;
        // net/sched/cls_api.c tc_new_tfilter(): no clsact, no ingress block.
        if (!objects_.qdiscs.contains(f.id.device)) return EINVAL;
        for (const auto& [id, other] : objects_.tunnel_filters) {
            if (id.device != f.id.device || id.priority != f.id.priority || id == f.id) continue;
            // tcf_chain_tp_find(): one protocol per priority.
            if (other.inner_source.has_value() != f.inner_source.has_value()) return EINVAL;
            // cls_flower.c fl_ht_insert_unique(): keys are unique per priority.
            if (other.inner_source == f.inner_source && other.outer_source == f.outer_source) return EEXIST;
        }
        return install(objects_.tunnel_filters, f.id, f, o->mode);
    }
    if (const auto* o = std::get_if<RemoveTunnelFilter>(&op)) {
        if (!device_exists(o->id.device)) return o->if_present ? 0 : ENODEV;
        if (!objects_.qdiscs.contains(o->id.device)) return o->if_present ? 0 : EINVAL;
        return remove(objects_.tunnel_filters, o->id, o->if_present, ENOENT);
    }
    return EOPNOTSUPP;
}

}  // namespace nemokey::mobility::kernel
