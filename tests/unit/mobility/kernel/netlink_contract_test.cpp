// The kernel contract cases on the real kernel, through the netlink backend.
// Needs root in a network namespace with lo up and a dummy "ct0" (up):
// tests/kernel-vm/scenarios/kernel-contract.sh runs it in the kernel VM.
// Built like a unit test but not registered as one (the host kernel lacks
// ESP, MIP6 and ip6_tunnel).
#include <boost/asio/io_context.hpp>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "mobility/adapters/netlink/netlink_kernel.hpp"
#include "tests/unit/mobility/kernel/contract_cases.hpp"

namespace nemokey::mobility::kernel::contract {

namespace {

using adapters::netlink::NetlinkKernel;

// Bounds every wait on the kernel; the backend itself never waits.
constexpr std::chrono::seconds drive_limit{20};

// The output of a command (stdout and stderr), empty if it could not run.
std::string output_of(const std::string& command) {
    std::string out;
    FILE* f = ::popen((command + " 2>&1").c_str(), "r");
    if (!f) return out;
    std::array<char, 512> buffer;
    while (size_t n = std::fread(buffer.data(), 1, buffer.size(), f)) out.append(buffer.data(), n);
    ::pclose(f);
    return out;
}

class NetlinkBackend final : public ContractBackend {
public:
    NetlinkBackend() {
        bool opened = false;
        NetlinkKernel::open(io_, [&](std::unique_ptr<NetlinkKernel> k, std::string error) {
            kernel_ = std::move(k);
            error_ = std::move(error);
            opened = true;
        });
        drive_until([&] { return opened; });
        static bool printed = false;
        if (kernel_ && !printed) {
            std::fprintf(stderr, "netlink backend: features %s\n", features_to_string(kernel_->features()).c_str());
            printed = true;
        }
    }
    bool ok() const { return kernel_ != nullptr; }
    const std::string& error() const { return error_; }

    Kernel& kernel() override { return *kernel_; }
    void drive_until(const std::function<bool()>& done) override {
        const auto deadline = std::chrono::steady_clock::now() + drive_limit;
        while (!done()) {
            const auto now = std::chrono::steady_clock::now();
            if (now >= deadline) return;
            if (io_.stopped()) io_.restart();
            io_.run_one_for(deadline - now);
        }
    }
    // iproute2's view of a tunnel we installed: a fixed (ip6ip6) one has no
    // Tunnel Encapsulation Limit option ("encaplimit none"), no IPv6
    // address generation ("addrgenmode none") and so no link-local address.
    void check_tunnel(const Tunnel& t) override {
        const std::string link = output_of("ip -d link show dev " + t.name);
        const std::string addresses = output_of("ip -6 addr show dev " + t.name);
        std::fprintf(stderr, "tunnel %s as iproute2 shows it:\n%s%s", t.name.c_str(), link.c_str(),
                     addresses.c_str());
        if (t.kind != TunnelKind::ip6ip6) return;
        EXPECT_NE(link.find("encaplimit none"), std::string::npos) << link;
        EXPECT_NE(link.find("addrgenmode none"), std::string::npos) << link;
        EXPECT_EQ(addresses.find("inet6"), std::string::npos) << "an address the kernel generated:\n" << addresses;
    }
    // NK_CONTRACT_LINK names another device (e.g. "lo" for a quick run on a
    // host kernel without the dummy module).
    std::string link() const override {
        const char* other = std::getenv("NK_CONTRACT_LINK");
        return other && *other ? other : "ct0";
    }

private:
    boost::asio::io_context io_;
    std::unique_ptr<NetlinkKernel> kernel_;
    std::string error_;
};

// Beyond the shared cases: how the netlink backend keeps a batch's order
// (kernel.hpp: "in order"). Each run of one family is one datagram, so a
// route, a policy and the route's removal are three, in that order; the
// backend used to send every XFRM operation of a batch first, which let a
// policy go before the route that carried its traffic.
class NetlinkBatches : public KernelContract {};

TEST_F(NetlinkBatches, ABatchGoesInItsOrderOneDatagramPerRunOfAFamily) {
    const Route r = route("2001:db8:77::/64", link());
    const Policy p = mh_transport_policy("2001:db8:1::100", "2001:db8:1::1", 5, 0x1000e);
    const uint64_t before = kernel().round_trips();
    for (const auto& res : run({InstallRoute{r, InstallMode::create}, InstallPolicy{p, InstallMode::create},
                                RemoveRoute{r.id, false}}))
        EXPECT_TRUE(res.ok()) << res.detail;
    EXPECT_EQ(kernel().round_trips() - before, 3u);
    const KernelObjects after = dump();
    EXPECT_FALSE(after.routes.contains(r.id));
    EXPECT_TRUE(after.policies.contains(p.id));
}

}  // namespace

std::unique_ptr<ContractBackend> make_contract_backend() {
    auto b = std::make_unique<NetlinkBackend>();
    if (!b->ok()) {
        std::cerr << "netlink backend did not open: " << b->error() << "\n";
        return nullptr;
    }
    return b;
}

}  // namespace nemokey::mobility::kernel::contract
