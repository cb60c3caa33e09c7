// Restart on the real kernel (kernel VM): a home agent's binding cache is
// put into the kernel through the netlink backend and snapshotted; a NEW
// process restores the snapshot and reconciles. The scenario
// (tests/kernel-vm/scenarios/restart-reconcile.sh) checks that this takes
// zero kernel operations when nothing changed, only the difference after
// objects were lost behind our back, and that shutdown leaves nothing.
//
//   nk_restart_probe install  SNAPSHOT   registers 3 nodes (NEMO, MCoA), writes SNAPSHOT, exits
//                                        without cleaning up (as a crash would)
//   nk_restart_probe restore  SNAPSHOT   a new process: restore + reconcile, prints "operations N"
//   nk_restart_probe shutdown SNAPSHOT   restore + reconcile + remove everything
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "mobility/adapters/netlink/netlink_kernel.hpp"
#include "tests/unit/mobility/binding/allow_all_authorizer.hpp"
#include "mobility/core/binding/snapshot.hpp"
#include "mobility/core/dataplane/desired_state.hpp"
#include "mobility/core/dataplane/executor.hpp"
#include "tests/unit/mobility/dataplane/node_spd.hpp"

namespace {

using namespace nemokey;
using namespace nemokey::mobility;
using adapters::netlink::NetlinkKernel;

net::Ipv6Address a6(const char* t) { return *net::Ipv6Address::parse(t); }
net::Prefix p6(const char* t) { return *net::Prefix::parse(t); }

const net::Ipv6Address ha = a6("2001:db8:1::1");
const net::Ipv6Address hoas[] = {a6("2001:db8:1::100"), a6("2001:db8:1::200"), a6("2001:db8:1::300")};

binding::BindingCacheConfig cache_config() {
    binding::BindingCacheConfig c;
    c.home_prefixes = {binding::HomeLinkPrefix{p6("2001:db8:1::/64"), std::nullopt}};
    c.duplicate_address_detection = false;
    return c;
}

dataplane::HomeAgentDataPlane plane() {
    dataplane::HomeAgentDataPlane p;
    p.home_link_interface = "home0";
    for (uint32_t n = 0; n < 3; ++n) p.spd[hoas[n]] = mobility::dataplane::testing::node_spd(hoas[n], ha, 0x10000 + 16 * n, true);
    return p;
}

binding::ReceivedBindingUpdate bu(const net::Ipv6Address& hoa, const net::Ipv6Address& coa, uint16_t seq) {
    binding::ReceivedBindingUpdate r;
    r.source = coa;
    r.destination = ha;
    r.home_address_option = hoa;
    r.ipsec_protected = true;
    r.identity = "CN=node";
    r.message.sequence_number = seq;
    r.message.home_registration = true;
    r.message.lifetime = 1000;   // 4000 s: the bindings outlive the scenario
    return r;
}

int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch()).count();
}

binding::TimePoint mono() {
    return binding::TimePoint{std::chrono::duration_cast<binding::Duration>(
        std::chrono::steady_clock::now().time_since_epoch())};
}

struct Run {
    boost::asio::io_context io;
    std::unique_ptr<NetlinkKernel> kernel;
    binding::testing::AllowAllAuthorizer auth;
    binding::BindingCache cache{cache_config(), auth};
    dataplane::HomeAgentDataPlane data = plane();
    std::unique_ptr<dataplane::KernelExecutor> exec;

    bool open() {
        bool done = false;
        std::string error;
        NetlinkKernel::open(io, [&](std::unique_ptr<NetlinkKernel> k, std::string e) {
            kernel = std::move(k);
            error = std::move(e);
            done = true;
        });
        drive([&] { return done; });
        if (!kernel) {
            std::cerr << "restart_probe: netlink backend: " << error << "\n";
            return false;
        }
        exec = std::make_unique<dataplane::KernelExecutor>(
            *kernel, [this] { return dataplane::desired_state(cache, data); }, false);
        return true;
    }
    template <class F>
    void drive(F done) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (!done() && std::chrono::steady_clock::now() < deadline) {
            if (io.stopped()) io.restart();
            io.run_one_for(std::chrono::milliseconds(200));
        }
    }
    // Reconciles the kernel with the cache; returns the operations or -1.
    long start() {
        long ops = -1;
        bool done = false;
        exec->start([&](bool ok, size_t n) {
            ops = ok ? static_cast<long>(n) : -1;
            done = true;
        });
        drive([&] { return done; });
        return ops;
    }
    // One step of the cache and everything it leads to.
    bool step(binding::Actions actions) {
        bool all_ok = true;
        std::vector<binding::Actions> next{std::move(actions)};
        while (!next.empty()) {
            binding::Actions a = std::move(next.back());
            next.pop_back();
            size_t pending = 0;
            for (const auto& x : a)
                pending += std::holds_alternative<binding::CommitKernelState>(x) ||
                           (std::holds_alternative<binding::Migrate>(x) && std::get<binding::Migrate>(x).operation);
            exec->execute(a, [&](uint64_t op, bool ok) {
                all_ok = all_ok && ok;
                --pending;
                next.push_back(cache.handle(binding::KernelOutcome{op, ok}, mono()));
            });
            drive([&] { return pending == 0 && !exec->busy(); });
        }
        return all_ok;
    }
};

int install(const std::string& file) {
    Run run;
    if (!run.open()) return 1;
    if (run.start() < 0) return 1;
    bool ok = true;
    ok = ok && run.step(run.cache.handle(bu(hoas[0], a6("2001:db8:a::10"), 1), mono()));
    auto mcoa = bu(hoas[1], a6("2001:db8:a::20"), 1);
    mh::BindingIdentifier b1;
    b1.binding_id = 1;
    b1.care_of_address = net::IpAddress{a6("2001:db8:a::20")};
    mh::BindingIdentifier b2 = b1;
    b2.binding_id = 2;
    b2.care_of_address = net::IpAddress{a6("2001:db8:b::20")};
    mcoa.message.options = {b1, b2};
    ok = ok && run.step(run.cache.handle(mcoa, mono()));
    auto mr = bu(hoas[2], a6("2001:db8:b::30"), 1);
    mr.message.mobile_router = true;
    mr.message.options = {mh::MobileNetworkPrefix{56, a6("2001:db8:300::")}};
    ok = ok && run.step(run.cache.handle(mr, mono()));
    // A handover of the first node: MIGRATE and reconcile in one batch.
    ok = ok && run.step(run.cache.handle(bu(hoas[0], a6("2001:db8:b::10"), 2), mono()));
    if (!ok || run.cache.binding_count() != 4) {
        std::cerr << "restart_probe: registration failed (" << run.cache.binding_count() << " bindings)\n";
        return 1;
    }
    const auto snap = binding::take_snapshot(run.cache, binding::SnapshotTime{mono(), wall_ms()});
    const std::string tmp = file + ".tmp";
    std::ofstream(tmp) << binding::encode(snap);
    if (std::rename(tmp.c_str(), file.c_str()) != 0) return 1;
    std::cout << "installed bindings " << run.cache.binding_count() << " objects " << run.exec->installed().size()
              << " batches " << run.exec->stats().batches << " round-trips " << run.kernel->round_trips() << "\n";
    return 0;   // no cleanup: as if the daemon crashed
}

int restore(const std::string& file, bool then_shutdown) {
    std::stringstream text;
    text << std::ifstream(file).rdbuf();
    auto snap = binding::decode_binding_cache_snapshot(text.str());
    if (!snap) {
        std::cerr << "restart_probe: " << snap.error().to_string() << "\n";
        return 1;
    }
    Run run;
    if (!run.open()) return 1;
    auto restored = binding::restore(run.cache, *snap, binding::RestoreClock{mono(), wall_ms()});
    if (!restored) {
        std::cerr << "restart_probe: " << restored.error().to_string() << "\n";
        return 1;
    }
    const long ops = run.start();
    std::cout << "restored bindings " << run.cache.binding_count() << " operations " << ops << "\n";
    if (ops < 0) return 1;
    if (!then_shutdown) return 0;
    bool down = false, done = false;
    run.exec->shutdown([&](bool ok) {
        down = ok;
        done = true;
    });
    run.drive([&] { return done; });
    std::cout << "shutdown " << (down ? "ok" : "failed") << "\n";
    return down ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: nk_restart_probe install|restore|shutdown SNAPSHOT\n";
        return 2;
    }
    const std::string mode = argv[1];
    if (mode == "install") return install(argv[2]);
    if (mode == "restore") return restore(argv[2], false);
    if (mode == "shutdown") return restore(argv[2], true);
    std::cerr << "nk_restart_probe: unknown mode '" << mode << "'\n";
    return 2;
}
