// Every example configuration validates, its plan matches the golden file
// byte for byte, and mobctl check-config prints exactly that plan.
//
// To regenerate the golden files after an intended change of the plan:
//   NEMOKEY_UPDATE_GOLDEN=1 ctest --test-dir BUILD -R conf_examples
// then review the diff of tests/unit/conf/golden/ before committing.
#include "conf/parser.hpp"
#include "conf/plan.hpp"
#include "conf/plan_format.hpp"
#include "tests/unit/conf/test_files.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace nemokey::conf {
namespace {

namespace fs = std::filesystem;
using nemokey::conf::testing::ScratchDir;

struct Example {
    const char* main_file;  // under conf/examples/
    const char* golden;     // under tests/unit/conf/golden/
    Role role;
};
void PrintTo(const Example& e, std::ostream* os) { *os << e.main_file; }

const Example examples[] = {
    {"home-agent/ha.toml", "home-agent.json", Role::home_agent},
    {"mobile-node/mn.toml", "mobile-node.json", Role::mobile_node},
    {"mobile-router/mr.toml", "mobile-router.json", Role::mobile_router},
    {"testbed/ha/ha.toml", "testbed-ha.json", Role::home_agent},
    {"testbed/mr/mr.toml", "testbed-mr.json", Role::mobile_router},
};

std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

struct ToolRun {
    int status = -1;
    std::string out, err;
};

// Runs mobctl with ARGS (already shell-quoted), capturing both streams.
ToolRun mobctl(const std::string& args) {
    ScratchDir tmp;
    std::string cmd = std::string("'") + NEMOKEY_MOBCTL + "' " + args + " >'" + (tmp.path() / "out").string() +
                      "' 2>'" + (tmp.path() / "err").string() + "'";
    int rc = std::system(cmd.c_str());
    ToolRun r;
    r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    r.out = read(tmp.path() / "out");
    r.err = read(tmp.path() / "err");
    return r;
}

std::string example_path(const Example& e) { return (fs::path(NEMOKEY_EXAMPLES_DIR) / e.main_file).string(); }

class ExampleTest : public ::testing::TestWithParam<Example> {};

TEST_P(ExampleTest, ValidatesAndMatchesTheGoldenPlan) {
    const Example& e = GetParam();
    auto r = parse_file(example_path(e));
    ASSERT_TRUE(r.ok()) << r.error().front().to_string();
    EXPECT_EQ(r->role, e.role);
    std::string json = to_json(derive_plan(*r)).dump(2) + "\n";
    fs::path golden = fs::path(NEMOKEY_GOLDEN_DIR) / e.golden;
    if (std::getenv("NEMOKEY_UPDATE_GOLDEN")) std::ofstream(golden, std::ios::binary) << json;
    ASSERT_TRUE(fs::exists(golden)) << golden << " is missing; run with NEMOKEY_UPDATE_GOLDEN=1";
    EXPECT_EQ(json, read(golden)) << "plan of " << e.main_file << " differs from " << golden;
}

TEST_P(ExampleTest, MobctlCheckConfigJsonPrintsTheGoldenPlan) {
    const Example& e = GetParam();
    ToolRun r = mobctl("check-config '" + example_path(e) + "' --json");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(r.out, read(fs::path(NEMOKEY_GOLDEN_DIR) / e.golden));
}

TEST_P(ExampleTest, MobctlConfigCheckIsTheSameCommand) {
    const Example& e = GetParam();
    ToolRun r = mobctl("-j config check '" + example_path(e) + "'");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, read(fs::path(NEMOKEY_GOLDEN_DIR) / e.golden));
}

TEST_P(ExampleTest, MobctlCheckConfigTextShowsThePlan) {
    const Example& e = GetParam();
    ToolRun r = mobctl("check-config '" + example_path(e) + "'");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_THAT(r.out, ::testing::StartsWith(std::string("role: ") + std::string(to_string(e.role)) + "\n"));
    EXPECT_THAT(r.out, ::testing::HasSubstr("message: binding-update"));
    EXPECT_THAT(r.out, ::testing::HasSubstr("reqid: "));
}

std::string example_name(const ::testing::TestParamInfo<Example>& info) {
    std::string n = info.param.golden;
    n = n.substr(0, n.find('.'));
    for (auto& c : n)
        if (c == '-') c = '_';
    return n;
}

INSTANTIATE_TEST_SUITE_P(Examples, ExampleTest, ::testing::ValuesIn(examples), example_name);

// The testbed's two ends agree: the mobile router's own plan and the home
// agent's plan for it have the same selectors and request ids, mirrored.
TEST(Testbed, HomeAgentAndMobileRouterAgree) {
    auto ha = parse_file(fs::path(NEMOKEY_EXAMPLES_DIR) / "testbed/ha/ha.toml");
    auto mr = parse_file(fs::path(NEMOKEY_EXAMPLES_DIR) / "testbed/mr/mr.toml");
    ASSERT_TRUE(ha.ok() && mr.ok());
    Plan hp = derive_plan(*ha), mp = derive_plan(*mr);
    ASSERT_EQ(hp.nodes.size(), 1u);
    const NodePlan &h = hp.nodes[0], &m = mp.nodes[0];
    EXPECT_EQ(h.identity, m.identity);
    EXPECT_EQ(h.home_address.to_string(), "2001:db8:1::100");
    EXPECT_EQ(h.home_agent_address.to_string(), "2001:db8:1::1");
    ASSERT_EQ(h.spd.size(), m.spd.size());
    for (size_t i = 0; i < h.spd.size(); ++i) {
        EXPECT_EQ(h.spd[i].selector, m.spd[i].selector) << i;
        EXPECT_EQ(h.spd[i].reqid, m.spd[i].reqid) << i;
        EXPECT_NE(h.spd[i].direction, m.spd[i].direction) << i;
    }
    EXPECT_EQ(h.ike_peer->remote_identity, m.ike_peer->local_identity);
    EXPECT_EQ(h.ike_peer->local_identity, m.ike_peer->remote_identity);
    // The mobile network prefix is apart from the home link.
    EXPECT_EQ(mr->self->mobile_network.prefixes.at(0).value.to_string(), "2001:db8:1:100::/64");
    EXPECT_FALSE(mr->home->home_prefix.value.overlaps(mr->self->mobile_network.prefixes.at(0).value));
    // Two uplinks, registered at once (RFC 5648).
    ASSERT_EQ(mr->interfaces.size(), 2u);
    EXPECT_EQ(mr->interfaces[0].binding_id, 1);
    EXPECT_EQ(mr->interfaces[1].binding_id, 2);
}

// Two home agent addresses are valid, but only the first is used (no
// RFC 6275 sec. 11.7.1 fallback): check-config says so, in text and JSON,
// naming where the second one is.
TEST(Mobctl, CheckConfigWarnsThatOnlyTheFirstHomeAgentIsUsed) {
    ScratchDir dir;
    const fs::path from = fs::path(NEMOKEY_EXAMPLES_DIR) / "mobile-node";
    fs::copy(from, dir.path(), fs::copy_options::recursive);
    std::string text = read(dir.path() / "mn.toml");
    const std::string one = "home-agent-addresses = [\"2001:db8:1::1\"]";
    ASSERT_NE(text.find(one), std::string::npos);
    text.replace(text.find(one), one.size(), "home-agent-addresses = [\"2001:db8:1::1\", \"2001:db8:1::2\"]");
    const auto file = dir.write("mn.toml", text);
    ToolRun r = mobctl("check-config '" + file.string() + "'");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_THAT(r.err, ::testing::HasSubstr("warning: " + file.string() + ":"));
    EXPECT_THAT(r.err, ::testing::HasSubstr("only the first home agent address is used"));
    ToolRun j = mobctl("check-config '" + file.string() + "' --json");
    EXPECT_EQ(j.status, 0) << j.err;
    EXPECT_THAT(j.out, ::testing::HasSubstr("\"warnings\""));
    EXPECT_THAT(j.out, ::testing::HasSubstr("does not fall back"));
}

TEST(Mobctl, InvalidFileExitsOneWithFileLineColumn) {
    ScratchDir dir;
    auto file = dir.write("bad.toml", "role = \"mobile-node\"\nbinding-lifetime = 5\n");
    ToolRun r = mobctl("check-config '" + file.string() + "'");
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_THAT(r.err, ::testing::HasSubstr(file.string() + ":2:1: unknown key 'binding-lifetime' in the top level"));
    EXPECT_THAT(r.err, ::testing::HasSubstr(file.string() + ":1:1: missing key 'identity' in the top level"));
}

TEST(Mobctl, InvalidFileWithJsonListsErrors) {
    ScratchDir dir;
    auto file = dir.write("bad.toml", "role = \"robot\"\n");
    ToolRun r = mobctl("--json check-config '" + file.string() + "'");
    EXPECT_EQ(r.status, 1);
    EXPECT_THAT(r.out, ::testing::HasSubstr("\"line\": 1"));
    EXPECT_THAT(r.out, ::testing::HasSubstr("\"column\": 8"));
    EXPECT_THAT(r.out, ::testing::HasSubstr("'role' 'robot' is not a known value"));
}

TEST(Mobctl, UsageErrorsExitTwo) {
    EXPECT_EQ(mobctl("").status, 2);
    EXPECT_EQ(mobctl("no-such-command").status, 2);
    EXPECT_EQ(mobctl("check-config").status, 2);
    EXPECT_EQ(mobctl("check-config a.toml b.toml").status, 2);
    EXPECT_EQ(mobctl("check-config --frobnicate a.toml").status, 2);
    EXPECT_EQ(mobctl("--frobnicate").status, 2);
    EXPECT_EQ(mobctl("config").status, 2);
    EXPECT_EQ(mobctl("config frob a.toml").status, 2);
    ToolRun help = mobctl("help");
    EXPECT_EQ(help.status, 0);
    EXPECT_THAT(help.out, ::testing::HasSubstr("check-config FILE [--json]"));
}

TEST(Mobctl, MissingFileExitsOne) {
    ToolRun r = mobctl("check-config /nonexistent/nemokey.toml");
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.err, "/nonexistent/nemokey.toml: cannot be read (expected a readable configuration file)\n");
}

}  // namespace
}  // namespace nemokey::conf
