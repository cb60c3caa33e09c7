// Reload difference: nodes added, removed, changed (with what changed and
// whether the binding must go), and every other node left unchanged.
#include "conf/parser.hpp"
#include "conf/reload.hpp"
#include "tests/unit/conf/test_files.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace nemokey::conf {
namespace {

using nemokey::conf::testing::replace;
using nemokey::conf::testing::ScratchDir;
using ::testing::ElementsAre;

const std::string home_agent = R"(role = "home-agent"
[home-agent]
addresses = ["2001:db8:1::1", "2001:db8:2::1"]
home-prefixes = ["2001:db8:1::/64", "2001:db8:2::/64"]
identity = "ha.example.net"
[keying]
certificate = "ha.pem"
private-key = "ha.key"
ca-certificate = "ca.pem"
)";

const std::string mn1 = "identity = \"mn1.example.net\"\nrole = \"mobile-node\"\nhome-address = \"2001:db8:1::10\"\n";
const std::string mn2 = "identity = \"mn2.example.net\"\nrole = \"mobile-node\"\nhome-address = \"2001:db8:1::20\"\n";
const std::string mr1 = R"(identity = "mr1.example.net"
role = "mobile-router"
home-address = "2001:db8:1::100"
[mobile-network]
prefixes = ["2001:db8:1:100::/64"]
)";

class ReloadTest : public ::testing::Test {
protected:
    // The home agent tree with the given node files, replacing the previous
    // ones in the same folder (as an operator edits it before a reload).
    Model tree(const std::vector<std::pair<std::string, std::string>>& nodes, const std::string& main = home_agent) {
        for (const char* f : {"ha.pem", "ha.key", "ca.pem"}) dir_.write(f, "x\n");
        std::filesystem::remove_all(dir_.path() / "nodes.d");
        std::filesystem::create_directories(dir_.path() / "nodes.d");
        for (const auto& [name, text] : nodes) dir_.write("nodes.d/" + name, text);
        auto r = parse_file(dir_.write("ha.toml", main));
        EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().front().to_string());
        return r ? *r : Model{};
    }
    ScratchDir dir_;
};

std::vector<std::string> files(const std::vector<NodeRef>& refs) {
    std::vector<std::string> out;
    for (const auto& r : refs) out.push_back(r.source_file);
    return out;
}

TEST_F(ReloadTest, SameConfigurationIsEmptyDifference) {
    Model a = tree({{"mn1.toml", mn1}, {"mr1.toml", mr1}});
    Model b = tree({{"mn1.toml", "# comment moves lines\n\n" + mn1}, {"mr1.toml", mr1}});
    Difference d = diff(a, b);
    EXPECT_TRUE(d.empty());
    EXPECT_THAT(files(d.unchanged), ElementsAre("nodes.d/mn1.toml", "nodes.d/mr1.toml"));
}

TEST_F(ReloadTest, AddedRemovedChangedAndAnUnrelatedNodeUnchanged) {
    Model before = tree({{"mn1.toml", mn1}, {"mn2.toml", mn2}, {"mr1.toml", mr1}});
    std::string mr1_more = replace(mr1, "[\"2001:db8:1:100::/64\"]", "[\"2001:db8:1:100::/64\", \"2001:db8:1:101::/64\"]");
    std::string mn3 = replace(replace(mn1, "mn1.", "mn3."), "::10\"", "::30\"");
    Model after = tree({{"mn1.toml", mn1}, {"mr1.toml", mr1_more}, {"mn3.toml", mn3}});
    Difference d = diff(before, after);
    EXPECT_TRUE(d.global.empty());
    EXPECT_THAT(files(d.added), ElementsAre("nodes.d/mn3.toml"));
    EXPECT_EQ(d.added[0].identity.value, "mn3.example.net");
    EXPECT_THAT(files(d.removed), ElementsAre("nodes.d/mn2.toml"));
    ASSERT_EQ(d.changed.size(), 1u);
    EXPECT_EQ(d.changed[0].node.source_file, "nodes.d/mr1.toml");
    EXPECT_THAT(d.changed[0].aspects, ElementsAre(Aspect::mobile_network_prefixes));
    EXPECT_FALSE(d.changed[0].drop_binding);  // routes and policies only; the binding stays
    EXPECT_THAT(files(d.unchanged), ElementsAre("nodes.d/mn1.toml"));
}

TEST_F(ReloadTest, DifferenceAsJson) {
    Model before = tree({{"mn1.toml", mn1}, {"mn2.toml", mn2}});
    Model after = tree({{"mn1.toml", replace(mn1, "::10\"", "::11\"")}, {"mr1.toml", mr1}});
    EXPECT_EQ(to_json(diff(before, after)).dump(),
              R"({"global":[],"added":[{"file":"nodes.d/mr1.toml","identity":"mr1.example.net"}],)"
              R"("removed":[{"file":"nodes.d/mn2.toml","identity":"mn2.example.net"}],)"
              R"("changed":[{"file":"nodes.d/mn1.toml","identity":"mn1.example.net","aspects":["home-address"],)"
              R"("drop-binding":true}],"unchanged":[]})");
}

TEST_F(ReloadTest, HomeAddressChangeDropsTheBinding) {
    Model before = tree({{"mn1.toml", mn1}, {"mn2.toml", mn2}});
    Model after = tree({{"mn1.toml", replace(mn1, "::10\"", "::11\"")}, {"mn2.toml", mn2}});
    Difference d = diff(before, after);
    ASSERT_EQ(d.changed.size(), 1u);
    EXPECT_THAT(d.changed[0].aspects, ElementsAre(Aspect::home_address));
    EXPECT_TRUE(d.changed[0].drop_binding);
    EXPECT_THAT(files(d.unchanged), ElementsAre("nodes.d/mn2.toml"));
}

TEST_F(ReloadTest, IdentityKeyingAndProtectionAspects) {
    Model before = tree({{"mn1.toml", mn1}, {"mr1.toml", mr1}});
    std::string mn1_new = replace(mn1, "mn1.example.net", "mn1.example.org") +
                          "[keying]\nk-flag = false\n[protection]\nprefix-discovery = true\n";
    Model after = tree({{"mn1.toml", mn1_new}, {"mr1.toml", mr1}});
    Difference d = diff(before, after);
    ASSERT_EQ(d.changed.size(), 1u);
    EXPECT_EQ(d.changed[0].node.identity.value, "mn1.example.org");
    EXPECT_THAT(d.changed[0].aspects, ElementsAre(Aspect::identity, Aspect::protection, Aspect::k_flag));
    EXPECT_TRUE(d.changed[0].drop_binding);
    EXPECT_THAT(files(d.unchanged), ElementsAre("nodes.d/mr1.toml"));
}

TEST_F(ReloadTest, HomeAgentAddressChangeTouchesOnlyNodesOnThatLink) {
    Model before = tree({{"mn1.toml", mn1}, {"mn9.toml", replace(replace(mn2, "mn2.", "mn9."), "1::20", "2::20")}});
    std::string main = replace(home_agent, "\"2001:db8:1::1\"", "\"2001:db8:1::2\"");
    Model after =
        tree({{"mn1.toml", mn1}, {"mn9.toml", replace(replace(mn2, "mn2.", "mn9."), "1::20", "2::20")}}, main);
    Difference d = diff(before, after);
    EXPECT_THAT(d.global, ElementsAre("home-agent.addresses"));
    ASSERT_EQ(d.changed.size(), 1u);
    EXPECT_EQ(d.changed[0].node.source_file, "nodes.d/mn1.toml");
    EXPECT_THAT(d.changed[0].aspects, ElementsAre(Aspect::security_plan));
    EXPECT_FALSE(d.changed[0].drop_binding);
    EXPECT_THAT(files(d.unchanged), ElementsAre("nodes.d/mn9.toml"));
}

TEST_F(ReloadTest, TimersAreGlobal) {
    Model before = tree({{"mn1.toml", mn1}});
    Model after = tree({{"mn1.toml", mn1}}, home_agent + "[timers]\nbinding-lifetime = 1200\n");
    Difference d = diff(before, after);
    EXPECT_THAT(d.global, ElementsAre("timers"));
    EXPECT_TRUE(d.changed.empty());
    EXPECT_FALSE(d.empty());
}

}  // namespace
}  // namespace nemokey::conf
