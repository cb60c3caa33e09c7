// The kernel contract: one suite of cases that every Kernel backend must
// pass with the same names. The fake kernel runs it in the unit tests
// (fake_contract_test.cpp); the netlink backend runs it on Debian's kernel in
// the kernel VM (tests/kernel-vm/scenarios/kernel-contract.sh). A case that
// the real kernel answers differently from the fake fails one of the two.
//
// A backend provides make_contract_backend(): the kernel, a way to drive
// its event loop until every completion has run, and one existing
// interface to put addresses, routes and proxy entries on.
#pragma once

#include <gtest/gtest.h>

#include <cerrno>
#include <functional>
#include <ostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mobility/kernel/kernel.hpp"
#include "mobility/kernel/marks.hpp"
#include "mobility/kernel/reconcile.hpp"

namespace nemokey::mobility::kernel {
// gtest prints kernel states field by field, not as bytes.
inline void PrintTo(const KernelObjects& k, std::ostream* os) { *os << "\n" << to_string(k); }
}  // namespace nemokey::mobility::kernel

namespace nemokey::mobility::kernel::contract {

class ContractBackend {
public:
    virtual ~ContractBackend() = default;
    virtual Kernel& kernel() = 0;
    // Runs the backend's event loop until `done()` holds (bounded by the backend).
    virtual void drive_until(const std::function<bool()>& done) = 0;
    // An interface that exists for the whole case (not one of ours).
    virtual std::string link() const = 0;
    // Called with a tunnel the case installed: properties the model does
    // not describe but the backend always sets (the netlink backend: an
    // ip6ip6 tunnel without the Tunnel Encapsulation Limit option and
    // without IPv6 address generation, seen through iproute2).
    virtual void check_tunnel(const Tunnel&) {}
};

std::unique_ptr<ContractBackend> make_contract_backend();

inline Ipv6Address a6(const char* text) { return *Ipv6Address::parse(text); }
inline Prefix p6(const char* text) { return *Prefix::parse(text); }

class KernelContract : public ::testing::Test, public KernelListener {
protected:
    void SetUp() override {
        backend_ = make_contract_backend();
        ASSERT_TRUE(backend_);
        kernel().set_listener(this);
    }
    void TearDown() override {
        if (!backend_) return;
        kernel().set_listener(nullptr);
        // Leave nothing of ours, nor the foreign objects a case made.
        run({FlushOwned{}});
        std::vector<Operation> cleanup;
        for (const auto& op : foreign_cleanup_) cleanup.push_back(op);
        if (!cleanup.empty()) run(cleanup);
        EXPECT_TRUE(dump().empty()) << "objects of ours left behind";
    }

    Kernel& kernel() { return backend_->kernel(); }
    std::string link() const { return backend_->link(); }

    void on_kernel_event(const KernelEvent& e) override { events_.push_back(e); }

    std::vector<OperationResult> run(std::vector<Operation> ops,
                                     BatchMode mode = BatchMode::continue_on_error) {
        std::optional<std::vector<OperationResult>> out;
        const size_t n = ops.size();
        kernel().submit(number(std::move(ops), next_id_), mode,
                        [&](std::vector<OperationResult> r) { out = std::move(r); });
        next_id_ += n;
        EXPECT_FALSE(out.has_value()) << "completion ran inside submit()";
        backend_->drive_until([&] { return out.has_value(); });
        EXPECT_TRUE(out.has_value()) << "no completion";
        if (!out) return {};
        EXPECT_EQ(out->size(), n);
        return *out;
    }
    OperationResult run1(Operation op) {
        auto r = run({std::move(op)});
        return r.empty() ? OperationResult{0, OperationStatus::failed, 0, "no result", {}} : r.front();
    }
    KernelObjects dump() {
        std::optional<DumpResult> out;
        kernel().dump_owned([&](DumpResult r) { out = std::move(r); });
        EXPECT_FALSE(out.has_value()) << "completion ran inside dump_owned()";
        backend_->drive_until([&] { return out.has_value(); });
        EXPECT_TRUE(out && out->ok) << (out ? out->error : "no dump");
        return out ? out->objects : KernelObjects{};
    }
    void drive_events(size_t at_least) {
        backend_->drive_until([&] { return events_.size() >= at_least; });
    }
    // Drives the backend until an event satisfies `match`; false if none came.
    bool heard(const std::function<bool(const KernelEvent&)>& match) {
        auto any = [&] {
            for (const auto& e : events_)
                if (match(e)) return true;
            return false;
        };
        backend_->drive_until(any);
        return any();
    }
    void foreign_installed(Operation removal) { foreign_cleanup_.push_back(std::move(removal)); }

    // ---- objects used by the cases ----
    static SaAlgorithm aes_gcm(uint8_t fill) {
        return SaAlgorithm{"rfc4106(gcm(aes))", std::vector<uint8_t>(20, fill), 128};
    }
    static Sa esp_tunnel_sa(const char* src, const char* dst, uint32_t spi, uint32_t reqid) {
        Sa s;
        s.id = SaId{a6(src), a6(dst), SaProtocol::esp, spi};
        s.mode = SaMode::tunnel;
        s.reqid = reqid;
        s.aead = aes_gcm(0x11);
        s.owner_mark = marks::sa_owner_mark;
        return s;
    }
    static Policy tunnel_policy(const char* from, const char* to, const char* outer_src,
                                const char* outer_dst, uint32_t reqid,
                                PolicyDirection dir = PolicyDirection::out) {
        Policy p;
        p.id.selector = Selector{p6(from), p6(to), 0, std::nullopt};
        p.id.direction = dir;
        p.priority = marks::policy_priority_min + 100;
        PolicyTemplate t;
        t.protocol = SaProtocol::esp;
        t.mode = SaMode::tunnel;
        t.reqid = reqid;
        t.source = IpAddress{a6(outer_src)};
        t.destination = IpAddress{a6(outer_dst)};
        p.templates.push_back(t);
        return p;
    }
    static Policy mh_transport_policy(const char* hoa, const char* ha, uint8_t mh_type, uint32_t reqid) {
        Policy p;
        p.id.selector = Selector{p6(hoa), p6(ha), 135, mh_type};
        p.id.direction = PolicyDirection::out;
        p.priority = marks::policy_priority_min + 10;
        PolicyTemplate t;
        t.protocol = SaProtocol::esp;
        t.mode = SaMode::transport;
        t.reqid = reqid;
        p.templates.push_back(t);
        return p;
    }
    // "tmpl proto hao mode ro level use": optional, no addresses.
    static PolicyTemplate home_address_template() {
        PolicyTemplate t;
        t.protocol = SaProtocol::home_address;
        t.mode = SaMode::route_optimization;
        t.optional = true;
        return t;
    }
    Address address(const char* prefix, bool home_address = false) const {
        Address a;
        a.id = AddressId{link(), p6(prefix)};
        a.home_address = home_address;
        a.nodad = true;
        a.protocol = marks::protocol;
        return a;
    }
    Route route(const char* dst, const std::string& dev, uint32_t table = 254) const {
        Route r;
        r.id = RouteId{table, p6(dst), 1024};
        r.device = dev;
        r.protocol = marks::protocol;
        return r;
    }
    static Tunnel external_tunnel(const char* name) {
        Tunnel t;
        t.name = name;
        t.kind = TunnelKind::ip6ip6_external;
        return t;
    }
    // RFC 6275 sec. 10.4.5 on the home agent's tunnel: pass from `inner`
    // with the outer source `outer`, or (no inner) drop everything.
    static TunnelFilter pass_filter(const std::string& dev, uint32_t handle, const char* inner, const char* outer) {
        TunnelFilter f;
        f.id = TunnelFilterId{dev, marks::filter_priority_min, handle};
        f.inner_source = p6(inner);
        f.outer_source = IpAddress{a6(outer)};
        f.action = FilterAction::pass;
        return f;
    }
    static TunnelFilter catch_all(const std::string& dev) {
        TunnelFilter f;
        f.id = TunnelFilterId{dev, marks::filter_priority_max, 1};
        f.action = FilterAction::drop;
        return f;
    }
    static Tunnel tunnel(const char* name, const char* local, const char* remote) {
        Tunnel t;
        t.name = name;
        t.kind = TunnelKind::ip6ip6;
        t.local = IpAddress{a6(local)};
        t.remote = IpAddress{a6(remote)};
        return t;
    }

    std::unique_ptr<ContractBackend> backend_;
    std::vector<KernelEvent> events_;
    std::vector<Operation> foreign_cleanup_;
    OperationId next_id_ = 1;
};

// ---- SAs ----

TEST_F(KernelContract, SaInstalledTwiceWithCreateIsExists) {
    const Sa sa = esp_tunnel_sa("2001:db8:a::10", "2001:db8:1::1", 0x1001, 0x10001);
    EXPECT_EQ(run1(InstallSa{sa, InstallMode::create}).status, OperationStatus::ok);
    const auto again = run1(InstallSa{sa, InstallMode::create});
    EXPECT_EQ(again.status, OperationStatus::exists);
    EXPECT_EQ(again.error, EEXIST);
    const auto d = dump();
    ASSERT_EQ(d.sas.size(), 1u);
    EXPECT_EQ(d.sas.begin()->second, sa);
}

TEST_F(KernelContract, SaReplaceInstallsOrReplaces) {
    Sa sa = esp_tunnel_sa("2001:db8:a::10", "2001:db8:1::1", 0x1002, 0x10001);
    EXPECT_TRUE(run1(InstallSa{sa, InstallMode::replace}).ok());
    sa.aead = aes_gcm(0x22);
    EXPECT_TRUE(run1(InstallSa{sa, InstallMode::replace}).ok());
    const auto d = dump();
    ASSERT_EQ(d.sas.size(), 1u);
    EXPECT_EQ(d.sas.begin()->second.aead, sa.aead);
}

TEST_F(KernelContract, SaRemovedWhenAbsentIsNotFoundUnlessIfPresent) {
    const SaId id{a6("2001:db8:a::10"), a6("2001:db8:1::1"), SaProtocol::esp, 0x1003};
    EXPECT_EQ(run1(RemoveSa{id, false}).status, OperationStatus::not_found);
    EXPECT_TRUE(run1(RemoveSa{id, true}).ok());
}

TEST_F(KernelContract, EspSaWithoutAlgorithmIsInvalid) {
    Sa sa = esp_tunnel_sa("2001:db8:a::10", "2001:db8:1::1", 0x1004, 0x10001);
    sa.aead.reset();
    const auto r = run1(InstallSa{sa, InstallMode::create});
    EXPECT_EQ(r.status, OperationStatus::invalid);
    EXPECT_TRUE(dump().sas.empty());
}

TEST_F(KernelContract, Route2StateKeepsItsCareOfAddress) {
    Sa sa;
    sa.id = SaId{a6("2001:db8:1::1"), a6("2001:db8:1::100"), SaProtocol::route2, 0};
    sa.mode = SaMode::route_optimization;
    sa.reqid = 0x10002;
    sa.care_of_address = IpAddress{a6("2001:db8:a::10")};
    sa.owner_mark = marks::sa_owner_mark;
    ASSERT_TRUE(run1(InstallSa{sa, InstallMode::create}).ok());
    const auto d = dump();
    ASSERT_EQ(d.sas.size(), 1u);
    EXPECT_EQ(d.sas.begin()->second, sa);
}

TEST_F(KernelContract, WildcardReceiveHomeAddressStateDumpsBackAndIsRemoved) {
    // The home agent's Home Address option state for a first registration:
    // src ::, dst ::, coa ::, XFRM_STATE_WILDRECV. It is another state than
    // an exact one (destination, source and protocol).
    Sa wild;
    wild.id = SaId{a6("::"), a6("::"), SaProtocol::home_address, 0};
    wild.mode = SaMode::route_optimization;
    wild.care_of_address = IpAddress{a6("::")};
    wild.wildcard_receive = true;
    wild.owner_mark = marks::sa_owner_mark;
    Sa exact = wild;
    exact.id = SaId{a6("2001:db8:1::100"), a6("2001:db8:1::1"), SaProtocol::home_address, 0};
    exact.care_of_address = IpAddress{a6("2001:db8:a::10")};
    exact.wildcard_receive = false;
    const auto r = run1(InstallSa{wild, InstallMode::create});
    ASSERT_TRUE(r.ok()) << r.detail;
    ASSERT_TRUE(run1(InstallSa{exact, InstallMode::create}).ok());
    EXPECT_EQ(run1(InstallSa{wild, InstallMode::create}).status, OperationStatus::exists);
    auto d = dump();
    ASSERT_EQ(d.sas.size(), 2u);
    ASSERT_TRUE(d.sas.contains(wild.id));
    EXPECT_TRUE(d.sas.at(wild.id).wildcard_receive);
    EXPECT_EQ(d.sas.at(wild.id), wild);
    EXPECT_EQ(d.sas.at(exact.id), exact);
    ASSERT_TRUE(run1(RemoveSa{wild.id, false}).ok());
    d = dump();
    ASSERT_EQ(d.sas.size(), 1u);
    EXPECT_EQ(d.sas.begin()->second, exact);
    EXPECT_EQ(run1(RemoveSa{wild.id, false}).status, OperationStatus::not_found);
}

TEST_F(KernelContract, AllocatedSpiLiesInTheRange) {
    const auto r = run1(AllocateSpi{a6("2001:db8:1::1"), a6("2001:db8:a::10"), SaProtocol::esp, 0x10003,
                                    0x2000, 0x2fff});
    ASSERT_TRUE(r.ok()) << r.detail;
    ASSERT_TRUE(r.spi.has_value());
    foreign_installed(RemoveSa{SaId{a6("2001:db8:1::1"), a6("2001:db8:a::10"), SaProtocol::esp, *r.spi}, true});
    EXPECT_GE(*r.spi, 0x2000u);
    EXPECT_LE(*r.spi, 0x2fffu);
}

TEST_F(KernelContract, AllocatedSpiIsTakenUntilAnSaIsInstalledOverIt) {
    // XFRM_MSG_ALLOCSPI leaves a larval state holding the SPI: adding an SA
    // with it is EEXIST, replacing (strongSwan's UPDSA) installs it.
    const auto r = run1(AllocateSpi{a6("2001:db8:1::1"), a6("2001:db8:a::10"), SaProtocol::esp, 0x10011, 0x3000,
                                    0x3fff});
    ASSERT_TRUE(r.ok() && r.spi) << r.detail;
    const Sa sa = esp_tunnel_sa("2001:db8:1::1", "2001:db8:a::10", *r.spi, 0x10011);
    foreign_installed(RemoveSa{sa.id, true});
    EXPECT_EQ(run1(InstallSa{sa, InstallMode::create}).status, OperationStatus::exists);
    const auto again = run1(AllocateSpi{a6("2001:db8:1::1"), a6("2001:db8:a::10"), SaProtocol::esp, 0x10011,
                                        0x3000, 0x3fff});
    ASSERT_TRUE(again.ok() && again.spi) << again.detail;
    foreign_installed(RemoveSa{SaId{sa.id.source, sa.id.destination, SaProtocol::esp, *again.spi}, true});
    EXPECT_NE(*again.spi, *r.spi) << "a taken SPI is not handed out twice";
    EXPECT_TRUE(run1(InstallSa{sa, InstallMode::replace}).ok());
    const auto d = dump();
    ASSERT_EQ(d.sas.size(), 1u);
    EXPECT_EQ(d.sas.begin()->second, sa);
}

TEST_F(KernelContract, EspSaIdentityIsDestinationSpiAndProtocol) {
    // The source plays no part (kernel::same_state): an SA whose care-of
    // address moved but kept its SPI is the same state.
    const Sa old_sa = esp_tunnel_sa("2001:db8:a::10", "2001:db8:1::1", 0x1010, 0x10010);
    Sa moved = old_sa;
    moved.id.source = IpAddress{a6("2001:db8:b::10")};
    ASSERT_TRUE(run1(InstallSa{old_sa, InstallMode::create}).ok());
    EXPECT_EQ(run1(InstallSa{moved, InstallMode::create}).status, OperationStatus::exists);
    ASSERT_TRUE(run1(InstallSa{moved, InstallMode::replace}).ok());
    auto d = dump();
    ASSERT_EQ(d.sas.size(), 1u);
    EXPECT_EQ(d.sas.begin()->second, moved);
    EXPECT_TRUE(run1(RemoveSa{old_sa.id, false}).ok()) << "the old id names the state now installed";
    EXPECT_TRUE(dump().sas.empty());
}

// ---- policies ----

TEST_F(KernelContract, PolicyInstalledTwiceWithCreateIsExists) {
    const Policy p = mh_transport_policy("2001:db8:1::100", "2001:db8:1::1", 5, 0x10004);
    EXPECT_TRUE(run1(InstallPolicy{p, InstallMode::create}).ok());
    EXPECT_EQ(run1(InstallPolicy{p, InstallMode::create}).status, OperationStatus::exists);
    const auto d = dump();
    ASSERT_EQ(d.policies.size(), 1u);
    EXPECT_EQ(d.policies.begin()->second, p);
}

TEST_F(KernelContract, PolicyReplaceChangesTemplates) {
    Policy p = tunnel_policy("2001:db8:1::100/128", "::/0", "2001:db8:a::10", "2001:db8:1::1", 0x10005);
    ASSERT_TRUE(run1(InstallPolicy{p, InstallMode::replace}).ok());
    p.templates[0].reqid = 0x10006;
    ASSERT_TRUE(run1(InstallPolicy{p, InstallMode::replace}).ok());
    const auto d = dump();
    ASSERT_EQ(d.policies.size(), 1u);
    EXPECT_EQ(d.policies.begin()->second.templates.at(0).reqid, 0x10006u);
}

TEST_F(KernelContract, PolicyIdentityIsSelectorAndDirectionNotPriority) {
    const Policy p = mh_transport_policy("2001:db8:1::100", "2001:db8:1::1", 5, 0x10012);
    ASSERT_TRUE(run1(InstallPolicy{p, InstallMode::create}).ok());
    Policy q = p;
    q.priority += 1;
    EXPECT_EQ(run1(InstallPolicy{q, InstallMode::create}).status, OperationStatus::exists);
    ASSERT_TRUE(run1(InstallPolicy{q, InstallMode::replace}).ok());
    auto d = dump();
    ASSERT_EQ(d.policies.size(), 1u);
    EXPECT_EQ(d.policies.begin()->second, q);
    Policy in = p;
    in.id.direction = PolicyDirection::in;
    ASSERT_TRUE(run1(InstallPolicy{in, InstallMode::create}).ok());
    EXPECT_EQ(dump().policies.size(), 2u);
}

TEST_F(KernelContract, SubAndMainPolicyOfOneSelectorAndDirectionAreTwoPolicies) {
    // The kernel keys policies by type as well (XFRM_POLICY_TYPE_MAIN / _SUB):
    // the route-optimisation templates of a binding live in a sub policy
    // next to the main ESP policy of the same selector.
    const Policy main = mh_transport_policy("2001:db8:1::100", "2001:db8:1::1", 5, 0x10013);
    Policy sub = main;
    sub.id.type = PolicyType::sub;
    sub.templates = {home_address_template()};
    ASSERT_TRUE(run1(InstallPolicy{main, InstallMode::create}).ok());
    const auto r = run1(InstallPolicy{sub, InstallMode::create});
    ASSERT_TRUE(r.ok()) << r.detail;
    EXPECT_EQ(run1(InstallPolicy{sub, InstallMode::create}).status, OperationStatus::exists);
    auto d = dump();
    ASSERT_EQ(d.policies.size(), 2u);
    ASSERT_TRUE(d.policies.contains(main.id) && d.policies.contains(sub.id));
    EXPECT_EQ(d.policies.at(main.id), main);
    EXPECT_EQ(d.policies.at(sub.id), sub);
    EXPECT_EQ(d.policies.at(sub.id).id.type, PolicyType::sub);
    // Each goes on its own.
    ASSERT_TRUE(run1(RemovePolicy{sub.id, false}).ok());
    d = dump();
    ASSERT_EQ(d.policies.size(), 1u);
    EXPECT_EQ(d.policies.begin()->second, main);
    EXPECT_EQ(run1(RemovePolicy{sub.id, false}).status, OperationStatus::not_found);
    ASSERT_TRUE(run1(InstallPolicy{sub, InstallMode::replace}).ok());
    ASSERT_TRUE(run1(RemovePolicy{main.id, false}).ok());
    d = dump();
    ASSERT_EQ(d.policies.size(), 1u);
    EXPECT_EQ(d.policies.begin()->second, sub);
    // A flush takes sub policies of ours too.
    ASSERT_TRUE(run1(InstallPolicy{main, InstallMode::create}).ok());
    EXPECT_TRUE(run1(FlushOwned{}).ok());
    EXPECT_TRUE(dump().empty());
}

TEST_F(KernelContract, SubPolicyForEspWithAnOptionalHomeAddressTemplateDumpsBackEqual) {
    // The home agent's inbound "proto esp" sub policy (the note's F1).
    Policy p;
    p.id.selector = Selector{p6("::/0"), p6("2001:db8:1::1/128"), 50, std::nullopt};
    p.id.direction = PolicyDirection::in;
    p.id.type = PolicyType::sub;
    p.priority = marks::policy_priority_min + 100;
    p.templates = {home_address_template()};
    const auto r = run1(InstallPolicy{p, InstallMode::create});
    ASSERT_TRUE(r.ok()) << r.detail;
    const auto d = dump();
    ASSERT_EQ(d.policies.size(), 1u);
    EXPECT_EQ(d.policies.begin()->second, p);
    EXPECT_TRUE(run1(RemovePolicy{p.id, false}).ok());
    EXPECT_TRUE(dump().empty());
}

TEST_F(KernelContract, PolicyRemovedWhenAbsentIsNotFound) {
    const Policy p = mh_transport_policy("2001:db8:1::100", "2001:db8:1::1", 6, 0x10004);
    EXPECT_EQ(run1(RemovePolicy{p.id, false}).status, OperationStatus::not_found);
    EXPECT_TRUE(run1(RemovePolicy{p.id, true}).ok());
}

// ---- MIGRATE ----

TEST_F(KernelContract, MigrateMovesPolicyTemplateAndSaAndIsAnnounced) {
    const Policy p = tunnel_policy("2001:db8:1::100/128", "::/0", "2001:db8:a::10", "2001:db8:1::1", 0x10007);
    const Sa sa = esp_tunnel_sa("2001:db8:a::10", "2001:db8:1::1", 0x1005, 0x10007);
    ASSERT_TRUE(run1(InstallPolicy{p, InstallMode::create}).ok());
    ASSERT_TRUE(run1(InstallSa{sa, InstallMode::create}).ok());
    MigrateSas m;
    m.policy = p.id;
    m.templates.push_back(MigrateTemplate{SaProtocol::esp, SaMode::tunnel, 0x10007, a6("2001:db8:a::10"),
                                          a6("2001:db8:1::1"), a6("2001:db8:b::10"), a6("2001:db8:1::1")});
    m.kmaddress = KmAddress{a6("2001:db8:b::10"), a6("2001:db8:1::1")};
    const auto r = run1(m);
    ASSERT_TRUE(r.ok()) << r.detail;
    const auto d = dump();
    ASSERT_EQ(d.policies.size(), 1u);
    EXPECT_EQ(d.policies.begin()->second.templates.at(0).source, IpAddress{a6("2001:db8:b::10")});
    ASSERT_EQ(d.sas.size(), 1u);
    EXPECT_EQ(d.sas.begin()->first.source, IpAddress{a6("2001:db8:b::10")});
    EXPECT_EQ(d.sas.begin()->second.aead, sa.aead);
    EXPECT_EQ(d.sas.begin()->second.owner_mark, sa.owner_mark) << "the ownership mark survives a MIGRATE";
    drive_events(1);
    bool heard = false;
    for (const auto& e : events_)
        if (const auto* seen = std::get_if<MigrateSeen>(&e))
            heard = heard || (seen->migrate.kmaddress == m.kmaddress &&
                              seen->migrate.templates.size() == 1 &&
                              seen->migrate.templates[0].new_source == m.templates[0].new_source);
    EXPECT_TRUE(heard) << "the MIGRATE with its KMADDRESS was announced in the namespace";
}

TEST_F(KernelContract, MigrateOfMissingPolicyIsNotFoundAndChangesNothing) {
    const Sa sa = esp_tunnel_sa("2001:db8:a::10", "2001:db8:1::1", 0x1006, 0x10008);
    ASSERT_TRUE(run1(InstallSa{sa, InstallMode::create}).ok());
    MigrateSas m;
    m.policy.selector = Selector{p6("2001:db8:1::100/128"), p6("::/0"), 0, std::nullopt};
    m.templates.push_back(MigrateTemplate{SaProtocol::esp, SaMode::tunnel, 0x10008, a6("2001:db8:a::10"),
                                          a6("2001:db8:1::1"), a6("2001:db8:b::10"), a6("2001:db8:1::1")});
    EXPECT_EQ(run1(m).status, OperationStatus::not_found);
    const auto d = dump();
    ASSERT_EQ(d.sas.size(), 1u);
    EXPECT_EQ(d.sas.begin()->second, sa);
}

TEST_F(KernelContract, MigrateMatchingNoTemplateFailsAndChangesNothing) {
    const Policy p = tunnel_policy("2001:db8:1::100/128", "::/0", "2001:db8:a::10", "2001:db8:1::1", 0x10009);
    ASSERT_TRUE(run1(InstallPolicy{p, InstallMode::create}).ok());
    MigrateSas m;
    m.policy = p.id;
    // Old endpoints that the template does not have.
    m.templates.push_back(MigrateTemplate{SaProtocol::esp, SaMode::tunnel, 0x10009, a6("2001:db8:c::10"),
                                          a6("2001:db8:1::1"), a6("2001:db8:b::10"), a6("2001:db8:1::1")});
    const auto r = run1(m);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.error, ENODATA);
    EXPECT_EQ(dump().policies.begin()->second, p);
}

// ---- ownership ----

TEST_F(KernelContract, FlushAndDumpSeeOnlyOurObjects) {
    // Another owner's SA (no mark) and policy (priority outside our band).
    Sa theirs = esp_tunnel_sa("2001:db8:c::1", "2001:db8:c::2", 0x2001, 7);
    theirs.owner_mark.reset();
    Policy their_policy = tunnel_policy("2001:db8:c::/64", "2001:db8:d::/64", "2001:db8:c::1", "2001:db8:c::2", 7);
    their_policy.priority = 1000;
    Route their_route = route("2001:db8:e::/64", link());
    their_route.protocol = 4;  // RTPROT_STATIC
    ASSERT_TRUE(run1(InstallSa{theirs, InstallMode::create}).ok());
    foreign_installed(RemoveSa{theirs.id, true});
    ASSERT_TRUE(run1(InstallPolicy{their_policy, InstallMode::create}).ok());
    foreign_installed(RemovePolicy{their_policy.id, true});
    ASSERT_TRUE(run1(InstallRoute{their_route, InstallMode::create}).ok());
    foreign_installed(RemoveRoute{their_route.id, true});

    const Sa ours = esp_tunnel_sa("2001:db8:a::10", "2001:db8:1::1", 0x1007, 0x1000a);
    const Policy our_policy = mh_transport_policy("2001:db8:1::100", "2001:db8:1::1", 5, 0x1000a);
    ASSERT_TRUE(run1(InstallSa{ours, InstallMode::create}).ok());
    ASSERT_TRUE(run1(InstallPolicy{our_policy, InstallMode::create}).ok());
    ASSERT_TRUE(run1(InstallRoute{route("2001:db8:f::/64", link()), InstallMode::create}).ok());

    auto d = dump();
    EXPECT_EQ(d.sas.size(), 1u);
    EXPECT_EQ(d.policies.size(), 1u);
    EXPECT_EQ(d.routes.size(), 1u);
    EXPECT_TRUE(run1(FlushOwned{}).ok());
    EXPECT_TRUE(dump().empty());
    // Theirs are still there: removing them (not if_present) succeeds.
    EXPECT_TRUE(run1(RemoveSa{theirs.id, false}).ok());
    EXPECT_TRUE(run1(RemovePolicy{their_policy.id, false}).ok());
    EXPECT_TRUE(run1(RemoveRoute{their_route.id, false}).ok());
}

TEST_F(KernelContract, DumpAndFlushIgnoreOtherOwnersAddressesRulesAndProxyEntries) {
    Address their_address = address("2001:db8:1::200/128");
    their_address.protocol = 0;
    Rule their_rule;
    their_rule.id = RuleId{marks::rule_priority_min + 2, p6("2001:db8:1::200/128")};
    their_rule.table = 200;
    their_rule.protocol = 4;  // RTPROT_STATIC, in our priority band
    ProxyNeighbour their_entry;
    their_entry.id = ProxyNeighbourId{link(), a6("2001:db8:1::200")};
    Sa their_sa = esp_tunnel_sa("2001:db8:c::1", "2001:db8:c::2", 0x2002, 8);
    their_sa.owner_mark = 0x1234;  // someone else's output mark
    ASSERT_TRUE(run1(InstallAddress{their_address, InstallMode::create}).ok());
    foreign_installed(RemoveAddress{their_address.id, true});
    ASSERT_TRUE(run1(InstallRule{their_rule, InstallMode::create}).ok());
    foreign_installed(RemoveRule{their_rule.id, true});
    ASSERT_TRUE(run1(InstallProxyNeighbour{their_entry, InstallMode::create}).ok());
    foreign_installed(RemoveProxyNeighbour{their_entry.id, true});
    ASSERT_TRUE(run1(InstallSa{their_sa, InstallMode::create}).ok());
    foreign_installed(RemoveSa{their_sa.id, true});
    EXPECT_TRUE(dump().empty()) << to_string(dump());
    EXPECT_TRUE(run1(FlushOwned{}).ok());
    EXPECT_TRUE(run1(RemoveAddress{their_address.id, false}).ok());
    EXPECT_TRUE(run1(RemoveRule{their_rule.id, false}).ok());
    EXPECT_TRUE(run1(RemoveProxyNeighbour{their_entry.id, false}).ok());
    EXPECT_TRUE(run1(RemoveSa{their_sa.id, false}).ok());
}

TEST_F(KernelContract, TheKernelHasEveryFeatureTheCasesUse) {
    const Features used = feature_esp | feature_mip6 | feature_migrate | feature_ip6_tunnel |
                          feature_lwtunnel_encap | feature_address_protocol | feature_neighbour_protocol |
                          feature_tunnel_filter;
    EXPECT_EQ(kernel().features() & used, used) << features_to_string(kernel().features());
}

// ---- the reverse-tunnel check: clsact and flower filters on a tunnel ----

TEST_F(KernelContract, TunnelFiltersOnAnExternalTunnelDumpBackEqual) {
    const Tunnel t = external_tunnel("nkc-x3");
    ASSERT_TRUE(run1(InstallTunnel{t, InstallMode::create}).ok());
    ASSERT_TRUE(run1(InstallQdisc{ClsactQdisc{t.name}, InstallMode::create}).ok());
    const TunnelFilter home = pass_filter(t.name, 0x1234, "2001:db8:1::100/128", "2001:db8:a::10");
    const TunnelFilter prefix = pass_filter(t.name, 0x1235, "2001:db8:5::/64", "2001:db8:a::10");
    const TunnelFilter drop = catch_all(t.name);
    for (const auto& f : {home, prefix, drop}) {
        const auto r = run1(InstallTunnelFilter{f, InstallMode::create});
        ASSERT_TRUE(r.ok()) << to_string(f) << ": " << r.detail;
    }
    KernelObjects want;
    want.tunnels.emplace(t.name, t);
    want.qdiscs.emplace(t.name, ClsactQdisc{t.name});
    for (const auto& f : {home, prefix, drop}) want.tunnel_filters.emplace(f.id, f);
    EXPECT_EQ(dump(), want);
    ASSERT_TRUE(run1(RemoveTunnelFilter{prefix.id, false}).ok());
    EXPECT_EQ(run1(RemoveTunnelFilter{prefix.id, false}).status, OperationStatus::not_found);
    EXPECT_TRUE(run1(RemoveTunnelFilter{prefix.id, true}).ok());
    // A priority that holds no filter: not found either.
    TunnelFilterId elsewhere = home.id;
    elsewhere.priority = marks::filter_priority_min + 1;
    EXPECT_EQ(run1(RemoveTunnelFilter{elsewhere, false}).status, OperationStatus::not_found);
    EXPECT_EQ(dump().tunnel_filters.size(), 2u);
}

TEST_F(KernelContract, TunnelFilterIdentityIsDevicePriorityAndHandleAndKeysAreUniquePerPriority) {
    const Tunnel t = external_tunnel("nkc-x4");
    ASSERT_TRUE(run1(InstallTunnel{t, InstallMode::create}).ok());
    ASSERT_TRUE(run1(InstallQdisc{ClsactQdisc{t.name}, InstallMode::create}).ok());
    const TunnelFilter f = pass_filter(t.name, 7, "2001:db8:1::100/128", "2001:db8:a::10");
    ASSERT_TRUE(run1(InstallTunnelFilter{f, InstallMode::create}).ok());
    TunnelFilter other_keys = pass_filter(t.name, 7, "2001:db8:1::101/128", "2001:db8:a::10");
    EXPECT_EQ(run1(InstallTunnelFilter{other_keys, InstallMode::create}).status, OperationStatus::exists);
    TunnelFilter same_keys = f;
    same_keys.id.handle = 8;
    EXPECT_EQ(run1(InstallTunnelFilter{same_keys, InstallMode::create}).status, OperationStatus::exists);
    EXPECT_EQ(run1(InstallTunnelFilter{same_keys, InstallMode::replace}).status, OperationStatus::exists);
    // One protocol per priority: a filter without an inner source (protocol
    // all) cannot join the ipv6 ones.
    TunnelFilter keyless = catch_all(t.name);
    keyless.id.priority = f.id.priority;
    keyless.id.handle = 9;
    EXPECT_EQ(run1(InstallTunnelFilter{keyless, InstallMode::create}).status, OperationStatus::invalid);
    // Handle 0 would let the kernel choose: refused.
    TunnelFilter no_handle = other_keys;
    no_handle.id.handle = 0;
    EXPECT_EQ(run1(InstallTunnelFilter{no_handle, InstallMode::create}).status, OperationStatus::invalid);
    const auto d = dump();
    ASSERT_EQ(d.tunnel_filters.size(), 1u);
    EXPECT_EQ(d.tunnel_filters.begin()->second, f);
}

TEST_F(KernelContract, TunnelFilterReplaceMovesItsOuterSourceInPlace) {
    const Tunnel t = external_tunnel("nkc-x5");
    ASSERT_TRUE(run1(InstallTunnel{t, InstallMode::create}).ok());
    ASSERT_TRUE(run1(InstallQdisc{ClsactQdisc{t.name}, InstallMode::replace}).ok());
    const TunnelFilter before = pass_filter(t.name, 0x4e4b, "2001:db8:1::100/128", "2001:db8:a::10");
    ASSERT_TRUE(run1(InstallTunnelFilter{before, InstallMode::replace}).ok());
    // A handover: the binding's care-of address changes.
    const TunnelFilter after = pass_filter(t.name, 0x4e4b, "2001:db8:1::100/128", "2001:db8:b::10");
    const auto r = run1(InstallTunnelFilter{after, InstallMode::replace});
    ASSERT_TRUE(r.ok()) << r.detail;
    auto d = dump();
    ASSERT_EQ(d.tunnel_filters.size(), 1u);
    EXPECT_EQ(d.tunnel_filters.begin()->second, after);
    // The action changes in place too.
    TunnelFilter dropping = after;
    dropping.action = FilterAction::drop;
    ASSERT_TRUE(run1(InstallTunnelFilter{dropping, InstallMode::replace}).ok());
    d = dump();
    ASSERT_EQ(d.tunnel_filters.size(), 1u);
    EXPECT_EQ(d.tunnel_filters.begin()->second, dropping);
}

TEST_F(KernelContract, ClsactInstalledTwiceWithCreateIsExistsAndItsRemovalTakesItsFilters) {
    const Tunnel t = external_tunnel("nkc-x6");
    ASSERT_TRUE(run1(InstallTunnel{t, InstallMode::create}).ok());
    const ClsactQdisc q{t.name};
    EXPECT_EQ(run1(RemoveQdisc{t.name, false}).status, OperationStatus::not_found);
    // No clsact, no ingress to hang a filter on.
    EXPECT_EQ(run1(InstallTunnelFilter{catch_all(t.name), InstallMode::create}).status, OperationStatus::invalid);
    ASSERT_TRUE(run1(InstallQdisc{q, InstallMode::create}).ok());
    EXPECT_EQ(run1(InstallQdisc{q, InstallMode::create}).status, OperationStatus::exists);
    EXPECT_TRUE(run1(InstallQdisc{q, InstallMode::replace}).ok());
    ASSERT_TRUE(run1(InstallTunnelFilter{catch_all(t.name), InstallMode::create}).ok());
    ASSERT_TRUE(run1(RemoveQdisc{t.name, false}).ok());
    auto d = dump();
    EXPECT_TRUE(d.qdiscs.empty());
    EXPECT_TRUE(d.tunnel_filters.empty()) << to_string(d);
    // Gone with its qdisc: if_present says so; without, the kernel refuses.
    EXPECT_TRUE(run1(RemoveTunnelFilter{catch_all(t.name).id, true}).ok());
    EXPECT_EQ(run1(RemoveTunnelFilter{catch_all(t.name).id, false}).status, OperationStatus::invalid);
    EXPECT_EQ(run1(RemoveQdisc{t.name, false}).status, OperationStatus::not_found);
    EXPECT_TRUE(run1(RemoveQdisc{t.name, true}).ok());
    // A device that had one and lost it takes a new one.
    ASSERT_TRUE(run1(InstallQdisc{q, InstallMode::create}).ok());
    EXPECT_EQ(dump().qdiscs.size(), 1u);
}

TEST_F(KernelContract, RemovingATunnelTakesItsQdiscAndFilters) {
    const Tunnel t = external_tunnel("nkc-x7");
    ASSERT_TRUE(run1(InstallTunnel{t, InstallMode::create}).ok());
    ASSERT_TRUE(run1(InstallQdisc{ClsactQdisc{t.name}, InstallMode::create}).ok());
    ASSERT_TRUE(run1(InstallTunnelFilter{pass_filter(t.name, 3, "2001:db8:1::100/128", "2001:db8:a::10"),
                                         InstallMode::create})
                    .ok());
    ASSERT_TRUE(run1(InstallTunnelFilter{catch_all(t.name), InstallMode::create}).ok());
    ASSERT_TRUE(run1(RemoveTunnel{t.name, false}).ok());
    EXPECT_TRUE(dump().empty()) << to_string(dump());
    EXPECT_TRUE(run1(RemoveTunnelFilter{catch_all(t.name).id, true}).ok());
    EXPECT_TRUE(run1(RemoveQdisc{t.name, true}).ok());
    EXPECT_EQ(run1(RemoveQdisc{t.name, false}).status, OperationStatus::not_found);
    EXPECT_EQ(run1(InstallQdisc{ClsactQdisc{t.name}, InstallMode::create}).status, OperationStatus::not_found);
    EXPECT_EQ(run1(InstallTunnelFilter{catch_all(t.name), InstallMode::create}).status, OperationStatus::not_found);
}

TEST_F(KernelContract, ReconcileInstallsTheQdiscBeforeItsFiltersAndRemovesThemAfter) {
    KernelObjects desired;
    const Tunnel t = external_tunnel("nkc-x8");
    desired.tunnels.emplace(t.name, t);
    desired.qdiscs.emplace(t.name, ClsactQdisc{t.name});
    for (const auto& f : {pass_filter(t.name, 11, "2001:db8:1::100/128", "2001:db8:a::10"),
                          pass_filter(t.name, 12, "2001:db8:5::/64", "2001:db8:a::10"), catch_all(t.name)})
        desired.tunnel_filters.emplace(f.id, f);
    for (const auto& r : run(reconcile(desired, dump()))) EXPECT_TRUE(r.ok()) << r.detail;
    EXPECT_EQ(dump(), desired);
    EXPECT_TRUE(reconcile(desired, dump()).empty());
    // The binding moves: one filter replaced, nothing else.
    KernelObjects moved = desired;
    auto home = pass_filter(t.name, 11, "2001:db8:1::100/128", "2001:db8:b::10");
    moved.tunnel_filters.insert_or_assign(home.id, home);
    auto ops = reconcile(moved, dump());
    EXPECT_EQ(ops.size(), 1u);
    for (const auto& r : run(ops)) EXPECT_TRUE(r.ok()) << r.detail;
    EXPECT_EQ(dump(), moved);
    // Everything goes, in an order the kernel accepts.
    for (const auto& r : run(removal_of(dump()), BatchMode::stop_on_error)) EXPECT_TRUE(r.ok()) << r.detail;
    EXPECT_TRUE(dump().empty());
}

// ---- addresses, routes, rules, tunnels, proxy entries ----

TEST_F(KernelContract, HomeAddressKeepsItsFlagAndMark) {
    const Address a = address("2001:db8:1::100/64", true);
    ASSERT_TRUE(run1(InstallAddress{a, InstallMode::create}).ok());
    EXPECT_EQ(run1(InstallAddress{a, InstallMode::create}).status, OperationStatus::exists);
    const auto d = dump();
    ASSERT_EQ(d.addresses.size(), 1u);
    EXPECT_EQ(d.addresses.begin()->second, a);
    EXPECT_TRUE(run1(RemoveAddress{a.id, false}).ok());
    EXPECT_EQ(run1(RemoveAddress{a.id, false}).status, OperationStatus::not_found);
}

TEST_F(KernelContract, AddressReplaceChangesItsFlagsAndKeepsItsMark) {
    Address a = address("2001:db8:1::100/64", false);
    ASSERT_TRUE(run1(InstallAddress{a, InstallMode::create}).ok());
    a.home_address = true;
    ASSERT_TRUE(run1(InstallAddress{a, InstallMode::replace}).ok());
    const auto d = dump();
    ASSERT_EQ(d.addresses.size(), 1u);
    EXPECT_EQ(d.addresses.begin()->second, a);
}

TEST_F(KernelContract, AddressesAreAnnounced) {
    const Address a = address("2001:db8:1::101/64", true);
    auto announced = [&](bool removed) {
        return [&a, removed](const KernelEvent& e) {
            const auto* c = std::get_if<AddressChanged>(&e);
            return c && c->interface == a.id.interface && c->address == a.id.address && c->home_address &&
                   !c->tentative && c->removed == removed;
        };
    };
    ASSERT_TRUE(run1(InstallAddress{a, InstallMode::create}).ok());
    EXPECT_TRUE(heard(announced(false)));
    ASSERT_TRUE(run1(RemoveAddress{a.id, false}).ok());
    EXPECT_TRUE(heard(announced(true)));
}

TEST_F(KernelContract, AnIpv6AddressIsOneOnItsInterfaceWhateverItsLength) {
    // IPv6 finds an address by interface and address; removal also needs the length.
    const Address a64 = address("2001:db8:1::100/64");
    const Address a128 = address("2001:db8:1::100/128");
    ASSERT_TRUE(run1(InstallAddress{a64, InstallMode::create}).ok());
    EXPECT_EQ(run1(InstallAddress{a128, InstallMode::create}).status, OperationStatus::exists);
    EXPECT_EQ(run1(RemoveAddress{a128.id, false}).status, OperationStatus::not_found);
    // Replace changes flags and protocol, not the length.
    EXPECT_TRUE(run1(InstallAddress{a128, InstallMode::replace}).ok());
    const auto d = dump();
    ASSERT_EQ(d.addresses.size(), 1u);
    EXPECT_EQ(d.addresses.begin()->second, a64);
}

TEST_F(KernelContract, RouteOnMissingDeviceIsNotFound) {
    EXPECT_EQ(run1(InstallRoute{route("2001:db8:f::/64", "nk-missing0"), InstallMode::create}).status,
              OperationStatus::not_found);
}

TEST_F(KernelContract, RouteInstalledTwiceWithCreateIsExists) {
    const Route r = route("2001:db8:f::/64", link(), 200);
    ASSERT_TRUE(run1(InstallRoute{r, InstallMode::create}).ok());
    EXPECT_EQ(run1(InstallRoute{r, InstallMode::create}).status, OperationStatus::exists);
    EXPECT_TRUE(run1(InstallRoute{r, InstallMode::replace}).ok());
    const auto d = dump();
    ASSERT_EQ(d.routes.size(), 1u);
    EXPECT_EQ(d.routes.begin()->second, r);
    EXPECT_TRUE(run1(RemoveRoute{r.id, false}).ok());
    EXPECT_EQ(run1(RemoveRoute{r.id, false}).status, OperationStatus::not_found);
}

TEST_F(KernelContract, RuleInstalledTwiceWithCreateIsExists) {
    Rule rule;
    rule.id = RuleId{marks::rule_priority_min + 1, p6("2001:db8:1::100/128")};
    rule.table = 200;
    rule.protocol = marks::protocol;
    ASSERT_TRUE(run1(InstallRule{rule, InstallMode::create}).ok());
    EXPECT_EQ(run1(InstallRule{rule, InstallMode::create}).status, OperationStatus::exists);
    const auto d = dump();
    ASSERT_EQ(d.rules.size(), 1u);
    EXPECT_EQ(d.rules.begin()->second, rule);
    EXPECT_TRUE(run1(RemoveRule{rule.id, false}).ok());
    EXPECT_EQ(run1(RemoveRule{rule.id, false}).status, OperationStatus::not_found);
}

TEST_F(KernelContract, RemovingATunnelTakesItsRoutesAndAddresses) {
    const Tunnel t = tunnel("nkc-t0", "2001:db8:a::10", "2001:db8:1::1");
    ASSERT_TRUE(run1(InstallTunnel{t, InstallMode::create}).ok());
    EXPECT_EQ(run1(InstallTunnel{t, InstallMode::create}).status, OperationStatus::exists);
    Address a = address("2001:db8:1::100/128", true);
    a.id.interface = t.name;
    ASSERT_TRUE(run1(InstallAddress{a, InstallMode::create}).ok());
    ASSERT_TRUE(run1(InstallRoute{route("::/0", t.name, 200), InstallMode::create}).ok());
    auto d = dump();
    EXPECT_EQ(d.tunnels.size(), 1u);
    EXPECT_EQ(d.tunnels.begin()->second, t);
    EXPECT_EQ(d.routes.size(), 1u);
    EXPECT_EQ(d.addresses.size(), 1u);
    ASSERT_TRUE(run1(RemoveTunnel{t.name, false}).ok());
    EXPECT_TRUE(dump().empty());
    EXPECT_EQ(run1(RemoveTunnel{t.name, false}).status, OperationStatus::not_found);
}

TEST_F(KernelContract, ExternalTunnelCarriesEncapRoutes) {
    Tunnel t;
    t.name = "nkc-x0";
    t.kind = TunnelKind::ip6ip6_external;
    ASSERT_TRUE(run1(InstallTunnel{t, InstallMode::create}).ok());
    Route r = route("2001:db8:1::100/128", t.name);
    r.encap_destination = IpAddress{a6("2001:db8:a::10")};
    r.encap_source = IpAddress{a6("2001:db8:1::1")};
    const auto res = run1(InstallRoute{r, InstallMode::create});
    ASSERT_TRUE(res.ok()) << res.detail;
    const auto d = dump();
    ASSERT_EQ(d.routes.size(), 1u);
    EXPECT_EQ(d.routes.begin()->second, r);
    EXPECT_EQ(d.tunnels.begin()->second, t);
    backend_->check_tunnel(t);
}

TEST_F(KernelContract, TunnelReplaceMovesItsEndpointsAndKeepsItsRoutes) {
    const Tunnel t = tunnel("nkc-t2", "2001:db8:a::10", "2001:db8:1::1");
    ASSERT_TRUE(run1(InstallTunnel{t, InstallMode::create}).ok());
    ASSERT_TRUE(run1(InstallRoute{route("::/0", t.name, 202), InstallMode::create}).ok());
    const Tunnel moved = tunnel("nkc-t2", "2001:db8:b::10", "2001:db8:1::1");
    const auto r = run1(InstallTunnel{moved, InstallMode::replace});
    ASSERT_TRUE(r.ok()) << r.detail;
    const auto d = dump();
    ASSERT_EQ(d.tunnels.size(), 1u);
    EXPECT_EQ(d.tunnels.begin()->second, moved);
    EXPECT_EQ(d.routes.size(), 1u);
    backend_->check_tunnel(moved);
}

TEST_F(KernelContract, TunnelEndpointsBelongToOneTunnel) {
    ASSERT_TRUE(run1(InstallTunnel{tunnel("nkc-t3", "2001:db8:a::10", "2001:db8:1::1"), InstallMode::create}).ok());
    EXPECT_EQ(run1(InstallTunnel{tunnel("nkc-t4", "2001:db8:a::10", "2001:db8:1::1"), InstallMode::create}).status,
              OperationStatus::exists);
    EXPECT_EQ(dump().tunnels.size(), 1u);
}

TEST_F(KernelContract, OneExternalTunnelPerNamespaceAndItCannotBeChanged) {
    Tunnel x;
    x.name = "nkc-x1";
    x.kind = TunnelKind::ip6ip6_external;
    ASSERT_TRUE(run1(InstallTunnel{x, InstallMode::create}).ok());
    Tunnel y = x;
    y.name = "nkc-x2";
    EXPECT_EQ(run1(InstallTunnel{y, InstallMode::create}).status, OperationStatus::exists);
    EXPECT_EQ(run1(InstallTunnel{x, InstallMode::replace}).status, OperationStatus::invalid);
    const auto d = dump();
    ASSERT_EQ(d.tunnels.size(), 1u);
    EXPECT_EQ(d.tunnels.begin()->second, x);
}

TEST_F(KernelContract, TunnelsAreAnnouncedAsLinks) {
    const Tunnel t = tunnel("nkc-t5", "2001:db8:a::10", "2001:db8:1::1");
    ASSERT_TRUE(run1(InstallTunnel{t, InstallMode::create}).ok());
    EXPECT_TRUE(heard([&](const KernelEvent& e) {
        const auto* l = std::get_if<LinkChanged>(&e);
        return l && l->interface == t.name && l->up && !l->removed;
    }));
    backend_->check_tunnel(t);
    ASSERT_TRUE(run1(RemoveTunnel{t.name, false}).ok());
    EXPECT_TRUE(heard([&](const KernelEvent& e) {
        const auto* l = std::get_if<LinkChanged>(&e);
        return l && l->interface == t.name && l->removed;
    }));
}

TEST_F(KernelContract, ProxyNeighbourAddIsIdempotentRemoveIsNot) {
    ProxyNeighbour n;
    n.id = ProxyNeighbourId{link(), a6("2001:db8:1::100")};
    n.protocol = marks::protocol;
    EXPECT_TRUE(run1(InstallProxyNeighbour{n, InstallMode::create}).ok());
    // The kernel looks a proxy entry up or creates it: never "exists".
    EXPECT_TRUE(run1(InstallProxyNeighbour{n, InstallMode::create}).ok());
    const auto d = dump();
    ASSERT_EQ(d.proxy_neighbours.size(), 1u);
    EXPECT_EQ(d.proxy_neighbours.begin()->second, n);
    EXPECT_TRUE(run1(RemoveProxyNeighbour{n.id, false}).ok());
    EXPECT_EQ(run1(RemoveProxyNeighbour{n.id, false}).status, OperationStatus::not_found);
}

// ---- batches and reconcile ----

TEST_F(KernelContract, StopOnErrorSkipsTheRestOfTheBatch) {
    const Sa sa = esp_tunnel_sa("2001:db8:a::10", "2001:db8:1::1", 0x1008, 0x1000b);
    const Policy p = mh_transport_policy("2001:db8:1::100", "2001:db8:1::1", 5, 0x1000b);
    const auto r = run({InstallSa{sa, InstallMode::create}, RemovePolicy{p.id, false},
                        InstallPolicy{p, InstallMode::create}},
                       BatchMode::stop_on_error);
    ASSERT_EQ(r.size(), 3u);
    EXPECT_TRUE(r[0].ok());
    EXPECT_EQ(r[1].status, OperationStatus::not_found);
    EXPECT_EQ(r[2].status, OperationStatus::skipped);
    const auto d = dump();
    EXPECT_EQ(d.sas.size(), 1u);
    EXPECT_TRUE(d.policies.empty());
}

TEST_F(KernelContract, ResultsComeBackInOrderWithTheirIds) {
    const Policy p1 = mh_transport_policy("2001:db8:1::100", "2001:db8:1::1", 5, 0x1000c);
    const Policy p2 = mh_transport_policy("2001:db8:1::100", "2001:db8:1::1", 6, 0x1000c);
    const OperationId first = next_id_;
    const auto r = run({InstallPolicy{p1, InstallMode::create}, InstallPolicy{p2, InstallMode::create},
                        InstallPolicy{p1, InstallMode::create}});
    ASSERT_EQ(r.size(), 3u);
    for (size_t i = 0; i < r.size(); ++i) EXPECT_EQ(r[i].id, first + i);
    EXPECT_TRUE(r[0].ok());
    EXPECT_TRUE(r[1].ok());
    EXPECT_EQ(r[2].status, OperationStatus::exists);
}

TEST_F(KernelContract, ReconcileConvergesAndThenHasNothingToDo) {
    KernelObjects desired;
    const Sa sa = esp_tunnel_sa("2001:db8:a::10", "2001:db8:1::1", 0x1009, 0x1000d);
    const Policy p = tunnel_policy("2001:db8:1::100/128", "::/0", "2001:db8:a::10", "2001:db8:1::1", 0x1000d);
    const Tunnel t = tunnel("nkc-t1", "2001:db8:a::10", "2001:db8:1::1");
    desired.sas.emplace(sa.id, sa);
    desired.policies.emplace(p.id, p);
    desired.tunnels.emplace(t.name, t);
    const Route r = route("::/0", t.name, 201);
    desired.routes.emplace(r.id, r);
    auto ops = reconcile(desired, dump());
    EXPECT_EQ(ops.size(), 4u);
    for (const auto& res : run(ops)) EXPECT_TRUE(res.ok()) << res.detail;
    EXPECT_EQ(dump(), desired);
    EXPECT_TRUE(reconcile(desired, dump()).empty());
    // A change of care-of address: only the difference is sent.
    KernelObjects moved = desired;
    Sa sa2 = sa;
    sa2.id.source = IpAddress{a6("2001:db8:b::10")};
    moved.sas.clear();
    moved.sas.emplace(sa2.id, sa2);
    ops = reconcile(moved, dump());
    // Only the install: the old SA is the same kernel state (same_state),
    // replaced by it; removing it afterwards would remove the new one.
    EXPECT_EQ(ops.size(), 1u);
    for (const auto& res : run(ops)) EXPECT_TRUE(res.ok()) << res.detail;
    EXPECT_EQ(dump(), moved);
}

TEST_F(KernelContract, ABatchIsOneRoundTrip) {
    const uint64_t before = kernel().round_trips();
    std::vector<Operation> ops;
    for (uint8_t type = 1; type <= 8; ++type)
        ops.push_back(InstallPolicy{mh_transport_policy("2001:db8:1::100", "2001:db8:1::1", type, 0x1000e),
                                    InstallMode::create});
    for (const auto& r : run(ops)) EXPECT_TRUE(r.ok()) << r.detail;
    EXPECT_EQ(kernel().round_trips() - before, 1u);
}

}  // namespace nemokey::mobility::kernel::contract
