// The KernelExecutor on the fake kernel: one batch per step, MIGRATEs
// before the reconcile, KMADDRESS only with K, outcomes per operation id,
// steps serialised, a failed batch re-reads the kernel.
#include "mobility/core/dataplane/executor.hpp"

#include <gtest/gtest.h>

#include <cerrno>

#include "mobility/kernel/fake/fake_kernel.hpp"
#include "mobility/kernel/marks.hpp"
#include "mobility/kernel/reconcile.hpp"
#include "mobility/kernel/state_rules.hpp"

namespace nemokey::mobility::dataplane {
namespace {

using namespace kernel;

net::Ipv6Address a6(const char* t) { return *net::Ipv6Address::parse(t); }
Prefix p6(const char* t) { return *Prefix::parse(t); }

Policy tunnel_out(const char* coa, uint32_t reqid) {
    Policy p;
    p.id.selector = Selector{p6("2001:db8:1::100/128"), p6("::/0"), 0, std::nullopt};
    p.id.direction = PolicyDirection::out;
    p.priority = marks::policy_priority_min + 100;
    PolicyTemplate t;
    t.mode = SaMode::tunnel;
    t.reqid = reqid;
    t.source = IpAddress{a6(coa)};
    t.destination = IpAddress{a6("2001:db8:1::1")};
    p.templates.push_back(t);
    return p;
}

// An outbound transport-mode ESP policy for one MH type between two hosts
// (the mobile node's BU, the home agent's BA).
Policy signalling_out(const char* from, const char* to, uint8_t mh_type, uint32_t reqid) {
    Policy p;
    p.id.selector = Selector{Prefix{IpAddress{a6(from)}, 128}, Prefix{IpAddress{a6(to)}, 128}, 135, mh_type};
    p.id.direction = PolicyDirection::out;
    p.priority = marks::policy_priority_min + 10;
    PolicyTemplate t;
    t.reqid = reqid;
    p.templates.push_back(t);
    return p;
}

Policy bu_out() { return signalling_out("2001:db8:1::100", "2001:db8:1::1", 5, 0x10000); }

TEST(Migrations, TunnelTemplatesMoveAndCarryKmaddressOnlyWithK) {
    KernelObjects k;
    const Policy p = tunnel_out("2001:db8:a::10", 0x10001);
    k.policies.emplace(p.id, p);
    auto m = migrations_for(k, a6("2001:db8:a::10"), a6("2001:db8:b::10"), false, true);
    ASSERT_EQ(m.size(), 1u);
    EXPECT_FALSE(m[0].kmaddress);
    EXPECT_EQ(m[0].templates.at(0).new_source, IpAddress{a6("2001:db8:b::10")});
    EXPECT_EQ(m[0].templates.at(0).new_destination, IpAddress{a6("2001:db8:1::1")});
    m = migrations_for(k, a6("2001:db8:a::10"), a6("2001:db8:b::10"), true, true);
    ASSERT_TRUE(m.at(0).kmaddress);
    EXPECT_EQ(m[0].kmaddress->local, IpAddress{a6("2001:db8:b::10")});
    EXPECT_EQ(m[0].kmaddress->remote, IpAddress{a6("2001:db8:1::1")});
    // The home agent's view: local is the home agent address.
    m = migrations_for(k, a6("2001:db8:a::10"), a6("2001:db8:b::10"), true, false);
    EXPECT_EQ(m.at(0).kmaddress->local, IpAddress{a6("2001:db8:1::1")});
    EXPECT_EQ(m.at(0).kmaddress->remote, IpAddress{a6("2001:db8:b::10")});
}

// The home address's and the prefix's payload policies share one SA: one
// MIGRATE moves it, the other policy's template comes from the reconcile.
TEST(Migrations, PoliciesSharingAnSaGetOneMigrate) {
    KernelObjects k;
    const Policy hoa = tunnel_out("2001:db8:a::10", 0x10001);
    Policy mnp = hoa;
    mnp.id.selector = Selector{p6("2001:db8:1:100::/64"), p6("::/0"), 0, std::nullopt};
    Policy other = tunnel_out("2001:db8:a::10", 0x10002);   // another SA (reqid)
    other.id.selector = Selector{p6("2001:db8:1::100/128"), p6("2001:db8:9::/64"), 0, std::nullopt};
    for (const auto& p : {hoa, mnp, other}) k.policies.emplace(p.id, p);
    const auto m = migrations_for(k, a6("2001:db8:a::10"), a6("2001:db8:b::10"), true, true);
    ASSERT_EQ(m.size(), 2u);
    EXPECT_NE(m[0].templates.at(0).reqid, m[1].templates.at(0).reqid);
    for (const auto& x : m) EXPECT_TRUE(x.kmaddress);
    // What the MIGRATEs leave to the reconcile: the sibling's template.
    KernelObjects after = k;
    for (const auto& x : m) apply_migrate(after, x);
    KernelObjects desired = k;
    for (auto& [id, p] : desired.policies) p.templates.at(0).source = IpAddress{a6("2001:db8:b::10")};
    const auto ops = reconcile(desired, after);
    ASSERT_EQ(ops.size(), 1u);
    const auto* install = std::get_if<InstallPolicy>(&ops[0]);
    ASSERT_TRUE(install);
    EXPECT_EQ(install->mode, InstallMode::replace) << "in place: never a moment without the policy";
}

TEST(Migrations, WithoutTunnelPoliciesKmaddressRidesOnTheTransportPolicy) {
    KernelObjects k;
    const Policy p = bu_out();
    k.policies.emplace(p.id, p);
    EXPECT_TRUE(migrations_for(k, a6("2001:db8:a::10"), a6("2001:db8:b::10"), false, true).empty());
    const auto m = migrations_for(k, a6("2001:db8:a::10"), a6("2001:db8:b::10"), true, true);
    ASSERT_EQ(m.size(), 1u);
    EXPECT_EQ(m[0].policy, p.id);
    EXPECT_EQ(m[0].templates.at(0).mode, SaMode::transport);
    EXPECT_EQ(m[0].templates[0].old_source, m[0].templates[0].new_source) << "moves nothing";
    EXPECT_EQ(m[0].kmaddress->local, IpAddress{a6("2001:db8:b::10")});
}

// A home agent holds every node's BA policy: the KMADDRESS rides on the
// moving node's, found by its addresses, never on another node's (which
// would move that node's IKE SA).
TEST(Migrations, TheKmaddressRidesOnTheMovingNodesOwnPolicy) {
    KernelObjects k;
    const Policy first = signalling_out("2001:db8:1::1", "2001:db8:1::100", 6, 0x10000);
    const Policy second = signalling_out("2001:db8:1::1", "2001:db8:1::200", 6, 0x20000);
    k.policies.emplace(first.id, first);
    k.policies.emplace(second.id, second);
    ASSERT_EQ(policies_between(k, a6("2001:db8:1::200"), a6("2001:db8:1::1")).size(), 1u);
    const auto m = migrations_for(k, a6("2001:db8:a::20"), a6("2001:db8:b::20"), true, false,
                                  a6("2001:db8:1::200"), a6("2001:db8:1::1"));
    ASSERT_EQ(m.size(), 1u);
    EXPECT_EQ(m[0].policy, second.id);
    EXPECT_EQ(m[0].templates.at(0).reqid, 0x20000u);
    EXPECT_EQ(m[0].kmaddress->remote, IpAddress{a6("2001:db8:b::20")});
}

TEST(Executor, AStepIsOneBatchAndEveryOperationGetsItsOutcome) {
    FakeKernel fake({"lo"});
    KernelObjects desired;
    const Policy moved = tunnel_out("2001:db8:b::10", 0x10001);
    desired.policies.emplace(moved.id, moved);
    KernelExecutor exec(fake, [&] { return desired; }, true);
    // What was installed before the handover.
    ASSERT_TRUE(fake.foreign().policies.emplace(moved.id, tunnel_out("2001:db8:a::10", 0x10001)).second);
    bool started = false;
    exec.start([&](bool ok, size_t n) { started = ok && n == 1; });   // replaces it: desired wins
    while (!fake.idle()) fake.run();
    ASSERT_TRUE(started);

    // Handover back to a: a Migrate (operation 7) and a commit (8) in one step.
    desired.policies.clear();
    desired.policies.emplace(moved.id, tunnel_out("2001:db8:a::10", 0x10001));
    const uint64_t before = fake.round_trips();
    std::vector<std::pair<uint64_t, bool>> outcomes;
    exec.execute({binding::Migrate{a6("2001:db8:1::100"), a6("2001:db8:1::1"), a6("2001:db8:b::10"),
                                   a6("2001:db8:a::10"), false, 7},
                  binding::CommitKernelState{8, a6("2001:db8:1::100")}},
                 [&](uint64_t op, bool ok) { outcomes.emplace_back(op, ok); });
    while (!fake.idle()) fake.run();
    EXPECT_EQ(fake.round_trips() - before, 1u);
    EXPECT_EQ(outcomes, (std::vector<std::pair<uint64_t, bool>>{{7, true}, {8, true}}));
    EXPECT_EQ(marks::owned_only(fake.objects()), desired);
    EXPECT_EQ(exec.installed(), desired);
    // The MIGRATE did the move: the reconcile had nothing left to send.
    EXPECT_EQ(exec.stats().operations, 2u);
}

TEST(Executor, FailedBatchReportsFailureAndRereadsTheKernel) {
    FakeKernel fake({"lo"});
    KernelObjects desired;
    const Policy p = bu_out();
    desired.policies.emplace(p.id, p);
    KernelExecutor exec(fake, [&] { return desired; }, true);
    fake.fail_next([](const Operation&) { return true; }, ENOBUFS);
    std::vector<std::pair<uint64_t, bool>> outcomes;
    exec.execute({binding::CommitKernelState{1, a6("2001:db8:1::100")}},
                 [&](uint64_t op, bool ok) { outcomes.emplace_back(op, ok); });
    while (!fake.idle()) fake.run();
    EXPECT_EQ(outcomes, (std::vector<std::pair<uint64_t, bool>>{{1, false}}));
    EXPECT_EQ(exec.stats().resyncs, 1u);
    EXPECT_TRUE(exec.installed().empty());
    exec.execute({binding::CommitKernelState{2, a6("2001:db8:1::100")}},
                 [&](uint64_t op, bool ok) { outcomes.emplace_back(op, ok); });
    while (!fake.idle()) fake.run();
    EXPECT_EQ(outcomes.back(), (std::pair<uint64_t, bool>{2, true}));
    EXPECT_EQ(marks::owned_only(fake.objects()), desired);
}

// A burst (registrations at a home agent): the steps that waited behind a
// batch in flight go as one batch, and each operation gets its outcome.
TEST(Executor, StepsThatWaitedGoAsOneBatch) {
    FakeKernel fake({"lo"});
    KernelObjects desired;
    KernelExecutor exec(fake, [&] { return desired; }, false);
    std::vector<std::pair<uint64_t, bool>> outcomes;
    auto note = [&](uint64_t op, bool ok) { outcomes.emplace_back(op, ok); };
    desired.policies.emplace(bu_out().id, bu_out());
    exec.execute({binding::CommitKernelState{1, {}}}, note);
    ASSERT_TRUE(exec.busy());
    const Policy other = tunnel_out("2001:db8:b::10", 0x10001);
    desired.policies.emplace(other.id, other);
    for (uint64_t op = 2; op <= 5; ++op) exec.execute({binding::CommitKernelState{op, {}}}, note);
    while (!fake.idle()) fake.run();
    EXPECT_EQ(outcomes, (std::vector<std::pair<uint64_t, bool>>{{1, true}, {2, true}, {3, true}, {4, true}, {5, true}}));
    EXPECT_EQ(exec.stats().batches, 2u) << "the first, then the four that waited together";
    EXPECT_EQ(marks::owned_only(fake.objects()), desired);
}

// A failed merged batch: the first step is told, the others run again.
TEST(Executor, AFailedMergedBatchFailsTheFirstStepAndRetriesTheOthers) {
    FakeKernel fake({"lo"});
    KernelObjects desired;
    KernelExecutor exec(fake, [&] { return desired; }, false);
    std::vector<std::pair<uint64_t, bool>> outcomes;
    auto note = [&](uint64_t op, bool ok) { outcomes.emplace_back(op, ok); };
    desired.policies.emplace(bu_out().id, bu_out());
    const Policy other = tunnel_out("2001:db8:b::10", 0x10001);
    fake.fail_next([&](const Operation& op) {
        const auto* i = std::get_if<InstallPolicy>(&op);
        return i && i->policy.id == other.id;
    }, ENOBUFS);
    exec.execute({binding::CommitKernelState{1, {}}}, note);
    desired.policies.emplace(other.id, other);
    exec.execute({binding::CommitKernelState{2, {}}}, note);
    exec.execute({binding::CommitKernelState{3, {}}}, note);
    while (!fake.idle()) fake.run();
    EXPECT_EQ(outcomes, (std::vector<std::pair<uint64_t, bool>>{{1, true}, {2, false}, {3, true}}));
    EXPECT_EQ(marks::owned_only(fake.objects()), desired);
}

TEST(Executor, StepsAreSerialisedAndShutdownRemovesEverything) {
    FakeKernel fake({"lo"});
    KernelObjects desired;
    KernelExecutor exec(fake, [&] { return desired; }, false);
    std::vector<uint64_t> order;
    desired.policies.emplace(bu_out().id, bu_out());
    exec.execute({binding::CommitKernelState{1, {}}}, [&](uint64_t op, bool) { order.push_back(op); });
    EXPECT_TRUE(exec.busy());
    exec.execute({binding::CommitKernelState{2, {}}}, [&](uint64_t op, bool) { order.push_back(op); });
    while (!fake.idle()) fake.run();
    EXPECT_EQ(order, (std::vector<uint64_t>{1, 2}));
    bool down = false;
    exec.shutdown([&](bool ok) { down = ok; });
    while (!fake.idle()) fake.run();
    EXPECT_TRUE(down);
    EXPECT_TRUE(marks::owned_only(fake.objects()).empty());
}

}  // namespace
}  // namespace nemokey::mobility::dataplane

namespace nemokey::mobility::dataplane {
namespace {

using namespace kernel;

// One home address's part: a route to its care-of address.
Route route_to(const net::Ipv6Address& hoa, const char* coa) {
    Route r;
    r.id = RouteId{254, Prefix{IpAddress{hoa}, 128}, 1024};
    r.device = "lo";
    r.encap_destination = IpAddress{a6(coa)};
    r.protocol = marks::protocol;
    return r;
}

// With DesiredParts a step reconciles only the parts of the home addresses
// it names: the whole desired state is not asked for and another part that
// changed is left alone; a step without a home address (a reload) is whole.
TEST(Executor, WithPartsAStepReconcilesOnlyItsHomeAddresses) {
    FakeKernel fake({"lo"});
    std::map<net::Ipv6Address, KernelObjects> parts;
    const net::Ipv6Address one = a6("2001:db8:1::100");
    const net::Ipv6Address two = a6("2001:db8:1::200");
    auto set = [&](const net::Ipv6Address& hoa, const char* coa) {
        parts[hoa] = KernelObjects{};
        const Route r = route_to(hoa, coa);
        parts[hoa].routes.emplace(r.id, r);
    };
    set(one, "2001:db8:a::1");
    set(two, "2001:db8:a::2");
    size_t whole_asked = 0;
    auto whole = [&] {
        ++whole_asked;
        KernelObjects k;
        for (const auto& [hoa, p] : parts) k.merge(p);
        return k;
    };
    DesiredParts by_address{[&](const net::Ipv6Address& hoa) {
                                auto it = parts.find(hoa);
                                return it == parts.end() ? KernelObjects{} : it->second;
                            },
                            [&] {
                                std::vector<net::Ipv6Address> out;
                                for (const auto& [hoa, p] : parts) out.push_back(hoa);
                                return out;
                            }};
    KernelExecutor exec(fake, whole, false, by_address);
    bool started = false;
    exec.start([&](bool ok, size_t n) { started = ok && n == 2; });
    while (!fake.idle()) fake.run();
    ASSERT_TRUE(started);
    ASSERT_EQ(whole_asked, 1u);

    // Node two's part changes with no step naming it; node one moves.
    set(two, "2001:db8:b::2");
    set(one, "2001:db8:b::1");
    std::vector<std::pair<uint64_t, bool>> outcomes;
    auto note = [&](uint64_t op, bool ok) { outcomes.emplace_back(op, ok); };
    exec.execute({binding::CommitKernelState{1, one}}, note);
    while (!fake.idle()) fake.run();
    EXPECT_EQ(outcomes, (std::vector<std::pair<uint64_t, bool>>{{1, true}}));
    EXPECT_EQ(whole_asked, 1u) << "a scoped step computed the whole desired state";
    EXPECT_EQ(exec.stats().scoped_batches, 1u);
    EXPECT_EQ(exec.stats().operations, 3u) << "two at start, one for the move";
    EXPECT_EQ(fake.objects().routes.at(route_to(one, "").id), route_to(one, "2001:db8:b::1"));
    EXPECT_EQ(fake.objects().routes.at(route_to(two, "").id), route_to(two, "2001:db8:a::2"));

    // Node one's binding goes: its part is removed.
    parts.erase(one);
    exec.execute({binding::CommitKernelState{2, one}}, note);
    while (!fake.idle()) fake.run();
    EXPECT_FALSE(fake.objects().routes.contains(route_to(one, "").id));
    EXPECT_EQ(exec.stats().scoped_batches, 2u);

    // A reload's commit names no home address: the whole state, which
    // moves node two's route too.
    exec.execute({binding::CommitKernelState{3, {}}}, note);
    while (!fake.idle()) fake.run();
    EXPECT_EQ(whole_asked, 2u);
    EXPECT_EQ(exec.stats().scoped_batches, 2u);
    EXPECT_EQ(marks::owned_only(fake.objects()), whole());
}

// Scoped, a K handover at a home agent without tunnel-mode policies still
// carries its KMADDRESS, on the node's BA policy (part of no home
// address's part: it needs no binding).
TEST(Executor, WithPartsAKmaddressFindsTheNodesTransportPolicy) {
    FakeKernel fake({"lo"});
    const net::Ipv6Address hoa = a6("2001:db8:1::100");
    const net::Ipv6Address ha = a6("2001:db8:1::1");
    const Policy ba = signalling_out("2001:db8:1::1", "2001:db8:1::100", 6, 0x10000);
    KernelObjects global;
    global.policies.emplace(ba.id, ba);
    KernelObjects part;
    const Route r0 = route_to(hoa, "2001:db8:a::1");
    part.routes.emplace(r0.id, r0);
    auto whole = [&] {
        KernelObjects k = global;
        k.merge(part);
        return k;
    };
    DesiredParts by_address{[&](const net::Ipv6Address&) { return part; },
                            [&] { return std::vector<net::Ipv6Address>{hoa}; }};
    KernelExecutor exec(fake, whole, false, by_address);
    exec.start([](bool, size_t) {});
    while (!fake.idle()) fake.run();
    part.routes.clear();
    const Route r1 = route_to(hoa, "2001:db8:b::1");
    part.routes.emplace(r1.id, r1);
    std::vector<std::pair<uint64_t, bool>> outcomes;
    exec.execute({binding::Migrate{hoa, ha, a6("2001:db8:a::1"), a6("2001:db8:b::1"), true, 0},
                  binding::CommitKernelState{1, hoa}},
                 [&](uint64_t op, bool ok) { outcomes.emplace_back(op, ok); });
    while (!fake.idle()) fake.run();
    EXPECT_EQ(outcomes, (std::vector<std::pair<uint64_t, bool>>{{1, true}}));
    EXPECT_EQ(exec.stats().scoped_batches, 1u);
    EXPECT_EQ(exec.stats().operations, 2u + 2u) << "start: policy and route; step: the MIGRATE and the route";
    EXPECT_EQ(marks::owned_only(fake.objects()), whole());
}

// After a failed scoped batch the next step reconciles the whole state
// against the kernel as re-read.
TEST(Executor, WithPartsAFailureMakesTheNextStepWhole) {
    FakeKernel fake({"lo"});
    const net::Ipv6Address one = a6("2001:db8:1::100");
    KernelObjects part;
    auto whole = [&] { return part; };
    DesiredParts by_address{[&](const net::Ipv6Address&) { return part; },
                            [&] { return std::vector<net::Ipv6Address>{one}; }};
    KernelExecutor exec(fake, whole, false, by_address);
    exec.start([](bool, size_t) {});
    while (!fake.idle()) fake.run();
    const Route r = route_to(one, "2001:db8:a::1");
    part.routes.emplace(r.id, r);
    fake.fail_next([](const Operation&) { return true; }, ENOBUFS);
    std::vector<std::pair<uint64_t, bool>> outcomes;
    auto note = [&](uint64_t op, bool ok) { outcomes.emplace_back(op, ok); };
    exec.execute({binding::CommitKernelState{1, one}}, note);
    while (!fake.idle()) fake.run();
    EXPECT_EQ(exec.stats().scoped_batches, 1u);
    exec.execute({binding::CommitKernelState{2, one}}, note);
    while (!fake.idle()) fake.run();
    EXPECT_EQ(outcomes, (std::vector<std::pair<uint64_t, bool>>{{1, false}, {2, true}}));
    EXPECT_EQ(exec.stats().scoped_batches, 1u) << "the step after the failure was whole";
    EXPECT_EQ(marks::owned_only(fake.objects()), part);
}

// Forwards to a FakeKernel and keeps every batch as it was submitted.
class RecordingKernel final : public Kernel {
public:
    explicit RecordingKernel(FakeKernel& k) : k_(k) {}
    Features features() const override { return k_.features(); }
    void submit(std::vector<OperationRequest> ops, BatchMode mode, Completion done) override {
        std::vector<Operation> batch;
        for (const auto& r : ops) batch.push_back(r.operation);
        batches.push_back(std::move(batch));
        k_.submit(std::move(ops), mode, std::move(done));
    }
    void dump_owned(DumpCompletion done) override { k_.dump_owned(std::move(done)); }
    void set_listener(KernelListener* l) override { k_.set_listener(l); }
    uint64_t round_trips() const override { return k_.round_trips(); }
    std::vector<std::vector<Operation>> batches;

private:
    FakeKernel& k_;
};

// A handover's route to the new care-of address goes ahead of the MIGRATE
// and the states (the downstream waits for it); a route the move brings
// (a new mobile network prefix) waits for the policies, as at a first
// registration, and so does a route that changes its device.
TEST(Executor, TheRouteThatMovesABindingGoesFirst) {
    FakeKernel fake({"lo", "tnl0"});
    RecordingKernel kernel(fake);
    const net::Ipv6Address hoa = a6("2001:db8:1::100");
    KernelObjects desired;
    auto put = [&](const Route& r) { desired.routes.insert_or_assign(r.id, r); };
    const Policy before = tunnel_out("2001:db8:a::10", 0x10001);
    desired.policies.emplace(before.id, before);
    put(route_to(hoa, "2001:db8:a::10"));
    Route other = route_to(a6("2001:db8:1::200"), "2001:db8:a::20");
    put(other);
    KernelExecutor exec(kernel, [&] { return desired; }, true);
    bool started = false;
    exec.start([&](bool ok, size_t) { started = ok; });
    while (!fake.idle()) fake.run();
    ASSERT_TRUE(started);

    desired.policies.clear();
    const Policy after = tunnel_out("2001:db8:b::10", 0x10001);
    desired.policies.emplace(after.id, after);
    const Route moved = route_to(hoa, "2001:db8:b::10");
    put(moved);
    Route prefix = route_to(hoa, "2001:db8:b::10");
    prefix.id.destination = p6("2001:db8:100::/48");
    put(prefix);
    other.device = "tnl0";
    put(other);
    std::vector<std::pair<uint64_t, bool>> outcomes;
    exec.execute({binding::Migrate{hoa, a6("2001:db8:1::1"), a6("2001:db8:a::10"), a6("2001:db8:b::10"), false, 1},
                  binding::CommitKernelState{2, hoa}},
                 [&](uint64_t op, bool ok) { outcomes.emplace_back(op, ok); });
    while (!fake.idle()) fake.run();
    EXPECT_EQ(outcomes, (std::vector<std::pair<uint64_t, bool>>{{1, true}, {2, true}}));
    EXPECT_EQ(marks::owned_only(fake.objects()), desired);
    ASSERT_EQ(kernel.batches.size(), 2u);
    const auto& batch = kernel.batches.back();
    auto position = [&](auto match) {
        for (size_t i = 0; i < batch.size(); ++i)
            if (match(batch[i])) return i;
        ADD_FAILURE() << "not in the batch";
        return batch.size();
    };
    auto route_install = [](const Route& r) {
        return [r](const Operation& op) {
            const auto* i = std::get_if<InstallRoute>(&op);
            return i && i->route == r;
        };
    };
    const size_t migrate = position([](const Operation& op) { return std::holds_alternative<MigrateSas>(op); });
    EXPECT_EQ(position(route_install(moved)), 0u) << "the switch is the first operation";
    EXPECT_GT(position(route_install(prefix)), migrate) << "a new route waits for its policy";
    EXPECT_GT(position(route_install(other)), migrate) << "a route to another device is no switch";
}

}  // namespace
}  // namespace nemokey::mobility::dataplane
