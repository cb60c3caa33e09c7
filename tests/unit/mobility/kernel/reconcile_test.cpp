// Reconcile on its own (pure): only the difference, installs before
// removals, each half in dependency order.
#include "mobility/kernel/reconcile.hpp"

#include <gtest/gtest.h>

#include "mobility/kernel/marks.hpp"

namespace nemokey::mobility::kernel {
namespace {

Prefix p6(const char* t) { return *Prefix::parse(t); }

KernelObjects binding_state(const char* coa) {
    KernelObjects k;
    Tunnel t;
    t.name = "nkt0";
    t.local = IpAddress{*Ipv6Address::parse(coa)};
    t.remote = IpAddress{*Ipv6Address::parse("2001:db8:1::1")};
    k.tunnels.emplace(t.name, t);
    Route r;
    r.id = RouteId{200, p6("::/0"), 1024};
    r.device = "nkt0";
    r.protocol = marks::protocol;
    k.routes.emplace(r.id, r);
    Rule rule;
    rule.id = RuleId{marks::rule_priority_min, p6("2001:db8:1::100/128")};
    rule.table = 200;
    rule.protocol = marks::protocol;
    k.rules.emplace(rule.id, rule);
    return k;
}

TEST(Reconcile, EqualStatesNeedNothing) {
    EXPECT_TRUE(reconcile(binding_state("2001:db8:a::1"), binding_state("2001:db8:a::1")).empty());
}

TEST(Reconcile, FromNothingInstallsInDependencyOrder) {
    const auto ops = reconcile(binding_state("2001:db8:a::1"), {});
    ASSERT_EQ(ops.size(), 3u);
    EXPECT_TRUE(std::holds_alternative<InstallTunnel>(ops[0]));
    EXPECT_TRUE(std::holds_alternative<InstallRule>(ops[1]));
    EXPECT_TRUE(std::holds_alternative<InstallRoute>(ops[2]));
}

TEST(Reconcile, ToNothingRemovesInReverseOrder) {
    const auto ops = removal_of(binding_state("2001:db8:a::1"));
    ASSERT_EQ(ops.size(), 3u);
    EXPECT_TRUE(std::holds_alternative<RemoveRoute>(ops[0]));
    EXPECT_TRUE(std::holds_alternative<RemoveRule>(ops[1]));
    EXPECT_TRUE(std::holds_alternative<RemoveTunnel>(ops[2]));
    for (const auto& op : ops) {
        if (const auto* r = std::get_if<RemoveRoute>(&op)) {
            EXPECT_TRUE(r->if_present);
        }
        if (const auto* r = std::get_if<RemoveTunnel>(&op)) {
            EXPECT_TRUE(r->if_present);
        }
    }
}

TEST(Reconcile, ChangedObjectIsReplacedNotRemoved) {
    const auto ops = reconcile(binding_state("2001:db8:b::1"), binding_state("2001:db8:a::1"));
    ASSERT_EQ(ops.size(), 1u);
    const auto* t = std::get_if<InstallTunnel>(&ops[0]);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->mode, InstallMode::replace);
}

TEST(Reconcile, InstallsComeBeforeRemovals) {
    KernelObjects desired = binding_state("2001:db8:a::1");
    KernelObjects actual = desired;
    Route old;
    old.id = RouteId{254, p6("2001:db8:5::/64"), 1024};
    old.device = "nkt0";
    old.protocol = marks::protocol;
    actual.routes.emplace(old.id, old);
    Route added = old;
    added.id.destination = p6("2001:db8:6::/64");
    desired.routes.emplace(added.id, added);
    const auto ops = reconcile(desired, actual);
    ASSERT_EQ(ops.size(), 2u);
    EXPECT_TRUE(std::holds_alternative<InstallRoute>(ops[0]));
    EXPECT_TRUE(std::holds_alternative<RemoveRoute>(ops[1]));
}

TEST(Reconcile, AnEspSaWhoseSourceMovedIsReplacedNotRemoved) {
    // Same destination, SPI and protocol: the same kernel state (same_state),
    // so removing the old id after the install would remove the new SA.
    Sa sa;
    sa.id = SaId{*Ipv6Address::parse("2001:db8:a::1"), *Ipv6Address::parse("2001:db8:1::1"), SaProtocol::esp, 0x100};
    sa.owner_mark = marks::sa_owner_mark;
    Sa moved = sa;
    moved.id.source = *Ipv6Address::parse("2001:db8:b::1");
    KernelObjects actual, desired;
    actual.sas.emplace(sa.id, sa);
    desired.sas.emplace(moved.id, moved);
    auto ops = reconcile(desired, actual);
    ASSERT_EQ(ops.size(), 1u);
    EXPECT_TRUE(std::holds_alternative<InstallSa>(ops[0]));
    // Another SPI is another state: install, then remove the old one.
    desired.sas.clear();
    moved.id.spi = 0x101;
    desired.sas.emplace(moved.id, moved);
    ops = reconcile(desired, actual);
    ASSERT_EQ(ops.size(), 2u);
    EXPECT_TRUE(std::holds_alternative<RemoveSa>(ops[1]));
}

TEST(Marks, OwnedOnlyKeepsMarkedObjects) {
    KernelObjects k = binding_state("2001:db8:a::1");
    Route theirs;
    theirs.id = RouteId{254, p6("2001:db8:7::/64"), 1024};
    theirs.device = "eth0";
    theirs.protocol = 4;
    k.routes.emplace(theirs.id, theirs);
    Tunnel other;
    other.name = "ip6tnl1";
    k.tunnels.emplace(other.name, other);
    const auto owned = marks::owned_only(k);
    EXPECT_EQ(owned, binding_state("2001:db8:a::1"));
}

}  // namespace
}  // namespace nemokey::mobility::kernel
