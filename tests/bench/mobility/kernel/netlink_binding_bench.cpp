// One home-agent binding on the real kernel through the netlink backend:
// round trips and wall time to install it and to remove it. A binding is
// what a home agent keeps per mobile router (RFC 6275 sec. 10, RFC 3963):
// a host route for the home address over the external ip6tnl device with
// encap dst care-of address / src home agent, a proxy neighbour entry on
// the home link, and 4 ESP policies (BU in and BA out in transport mode,
// payload out and in in tunnel mode).
//
// Needs root in a namespace with lo up and a device NK_BENCH_LINK (default
// "ct0"); tests/kernel-vm/scenarios/kernel-contract.sh runs it in the VM.
//   netlink_binding_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "mobility/adapters/netlink/netlink_kernel.hpp"
#include "mobility/kernel/marks.hpp"
#include "mobility/kernel/reconcile.hpp"

namespace nemokey::mobility::kernel {
namespace {

using adapters::netlink::NetlinkKernel;
using Clock = std::chrono::steady_clock;

Ipv6Address a6(const char* t) { return *Ipv6Address::parse(t); }
Prefix p6(const char* t) { return *Prefix::parse(t); }

const char* const tunnel_name = "nkb-x0";

std::string home_link() {
    const char* l = std::getenv("NK_BENCH_LINK");
    return l && *l ? l : "ct0";
}

Policy policy(const char* from, const char* to, uint8_t proto, std::optional<uint8_t> type, PolicyDirection dir,
              SaMode mode, uint32_t reqid) {
    Policy p;
    p.id.selector = Selector{p6(from), p6(to), proto, type};
    p.id.direction = dir;
    p.priority = marks::policy_priority_min + (mode == SaMode::transport ? 10 : 100);
    PolicyTemplate t;
    t.protocol = SaProtocol::esp;
    t.mode = mode;
    t.reqid = reqid;
    if (mode == SaMode::tunnel) {
        const bool out = dir == PolicyDirection::out;
        t.source = IpAddress{a6(out ? "2001:db8:1::1" : "2001:db8:a::10")};
        t.destination = IpAddress{a6(out ? "2001:db8:a::10" : "2001:db8:1::1")};
    }
    p.templates.push_back(t);
    return p;
}

KernelObjects binding() {
    KernelObjects k;
    Route r;
    r.id = RouteId{254, p6("2001:db8:1::100/128"), 1024};
    r.device = tunnel_name;
    r.encap_destination = IpAddress{a6("2001:db8:a::10")};  // care-of address
    r.encap_source = IpAddress{a6("2001:db8:1::1")};        // home agent
    r.protocol = marks::protocol;
    k.routes.emplace(r.id, r);
    ProxyNeighbour n;
    n.id = ProxyNeighbourId{home_link(), a6("2001:db8:1::100")};
    n.protocol = marks::protocol;
    k.proxy_neighbours.emplace(n.id, n);
    for (const Policy& p :
         {policy("2001:db8:1::100/128", "2001:db8:1::1/128", 135, 5, PolicyDirection::in, SaMode::transport, 1),
          policy("2001:db8:1::1/128", "2001:db8:1::100/128", 135, 6, PolicyDirection::out, SaMode::transport, 1),
          policy("::/0", "2001:db8:1::100/128", 0, std::nullopt, PolicyDirection::out, SaMode::tunnel, 2),
          policy("2001:db8:1::100/128", "::/0", 0, std::nullopt, PolicyDirection::in, SaMode::tunnel, 2)})
        k.policies.emplace(p.id, p);
    return k;
}

class Bench {
public:
    Bench() {
        bool opened = false;
        NetlinkKernel::open(io_, [&](std::unique_ptr<NetlinkKernel> k, std::string error) {
            kernel_ = std::move(k);
            error_ = std::move(error);
            opened = true;
        });
        drive([&] { return opened; });
        if (!kernel_) return;
        Tunnel t;
        t.name = tunnel_name;
        t.kind = TunnelKind::ip6ip6_external;
        auto r = run({InstallTunnel{t, InstallMode::replace}}, BatchMode::continue_on_error);
        if (!r || !r->front().ok()) error_ = "external tunnel: " + (r ? r->front().detail : "no answer");
    }
    ~Bench() {
        if (kernel_) run({FlushOwned{}}, BatchMode::continue_on_error);
    }
    const std::string& error() const { return error_; }
    Kernel& kernel() { return *kernel_; }

    std::optional<std::vector<OperationResult>> run(std::vector<Operation> ops, BatchMode mode) {
        std::optional<std::vector<OperationResult>> out;
        kernel_->submit(number(std::move(ops), 1), mode, [&](std::vector<OperationResult> r) { out = std::move(r); });
        drive([&] { return out.has_value(); });
        return out;
    }

private:
    template <class Done>
    void drive(Done done) {
        const auto deadline = Clock::now() + std::chrono::seconds(20);
        while (!done() && Clock::now() < deadline) {
            if (io_.stopped()) io_.restart();
            io_.run_one_for(deadline - Clock::now());
        }
    }

    boost::asio::io_context io_;
    std::unique_ptr<NetlinkKernel> kernel_;
    std::string error_;
};

Bench& bench() {
    static Bench b;
    return b;
}

// Install then remove, each timed and its round trips counted.
void install_and_remove(benchmark::State& state, BatchMode mode) {
    Bench& b = bench();
    if (!b.error().empty()) {
        state.SkipWithError(b.error().c_str());
        return;
    }
    const KernelObjects k = binding();
    const auto install = reconcile(k, {});
    const auto removal = removal_of(k);
    double install_s = 0, remove_s = 0;
    uint64_t install_rt = 0, remove_rt = 0;
    for (auto _ : state) {
        double iteration_s = 0;
        for (int half = 0; half < 2; ++half) {
            const uint64_t rt = b.kernel().round_trips();
            const auto start = Clock::now();
            auto r = b.run(half == 0 ? install : removal, mode);
            const double s = std::chrono::duration<double>(Clock::now() - start).count();
            for (const auto& one : r.value_or(std::vector<OperationResult>{})) {
                if (!one.ok()) {
                    state.SkipWithError(("operation failed: " + one.detail).c_str());
                    return;
                }
            }
            if (!r) {
                state.SkipWithError("no completion");
                return;
            }
            iteration_s += s;
            (half == 0 ? install_s : remove_s) += s;
            (half == 0 ? install_rt : remove_rt) += b.kernel().round_trips() - rt;
        }
        state.SetIterationTime(iteration_s);
    }
    using benchmark::Counter;
    state.counters["ops"] = double(install.size());
    state.counters["install_rt"] = Counter(double(install_rt), Counter::kAvgIterations);
    state.counters["remove_rt"] = Counter(double(remove_rt), Counter::kAvgIterations);
    state.counters["install_us"] = Counter(install_s * 1e6, Counter::kAvgIterations);
    state.counters["remove_us"] = Counter(remove_s * 1e6, Counter::kAvgIterations);
}

void BM_HomeAgentBindingBatched(benchmark::State& state) { install_and_remove(state, BatchMode::continue_on_error); }
void BM_HomeAgentBindingOneByOne(benchmark::State& state) { install_and_remove(state, BatchMode::stop_on_error); }

BENCHMARK(BM_HomeAgentBindingBatched)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_HomeAgentBindingOneByOne)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace nemokey::mobility::kernel

BENCHMARK_MAIN();
