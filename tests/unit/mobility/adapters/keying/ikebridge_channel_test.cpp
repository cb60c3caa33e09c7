// mobilityd's channel to ikebridged against a real ControlServer (the
// server ikebridged runs) on a Unix socket: the state first, then events
// in order; commands on their own connections; ikebridged going away is
// noticed and, once it is back, the channel resubscribes and gets the
// state again without anybody's help. Nothing here sleeps: the loop runs
// until a condition holds or a deadline passes.
#include "mobility/adapters/keying/ikebridge_channel.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <filesystem>
#include <vector>

#include "mobility/adapters/control/control_server.hpp"

namespace nemokey::mobility::adapters {
namespace {

namespace ctl = mobility::control;
using nlohmann::json;

struct IkebridgeChannelTest : ::testing::Test {
    boost::asio::io_context io;
    std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                ("nk-channel-" + std::to_string(::getpid()) + "-" +
                                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::path path = dir / "ikebridged.sock";
    ctl::CommandRegistry registry;
    int status_requests = 0;
    json last_initiate;
    std::vector<json> statuses, events;
    int lost = 0;

    void SetUp() override {
        std::filesystem::create_directories(dir);
        registry.add("status-get", "state", [this](const json&) {
            ++status_requests;
            return ctl::Answer{ctl::ResultCode::ok, "running",
                               json{{"can-move-ike-endpoints", true}, {"generation", status_requests}}};
        });
        registry.add("ike-initiate", "initiate", [this](const json& a) {
            last_initiate = a;
            return ctl::Answer{ctl::ResultCode::ok, "initiating", std::nullopt};
        });
    }
    void TearDown() override { std::filesystem::remove_all(dir); }

    IkebridgeChannel::Callbacks callbacks() {
        return {[this](const json& s) { statuses.push_back(s); }, [this](const json& e) { events.push_back(e); },
                [this] { ++lost; }};
    }
    // Runs the loop until `done` or 5 s.
    template <class F>
    bool run_until(F done) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (!done() && std::chrono::steady_clock::now() < deadline) {
            io.restart();
            io.run_for(std::chrono::milliseconds(20));
        }
        return done();
    }
};

TEST_F(IkebridgeChannelTest, StateFirstThenEventsInOrder) {
    ControlServer server(io, path, registry);
    server.open();
    IkebridgeChannel channel(io, path.string(), callbacks());
    channel.start();
    ASSERT_TRUE(run_until([&] { return !statuses.empty(); }));
    EXPECT_TRUE(channel.subscribed());
    EXPECT_EQ(statuses[0]["generation"], 1);
    server.publish(json{{"event", "sas-ready"}, {"home-address", "2001:db8:1::100"}});
    server.publish(json{{"event", "sas-down"}, {"home-address", "2001:db8:1::100"}});
    ASSERT_TRUE(run_until([&] { return events.size() == 2; }));
    EXPECT_EQ(events[0]["event"], "sas-ready");
    EXPECT_EQ(events[1]["event"], "sas-down");
    EXPECT_EQ(channel.counters().events, 2u);
}

TEST_F(IkebridgeChannelTest, CommandsGetTheirAnswers) {
    ControlServer server(io, path, registry);
    server.open();
    IkebridgeChannel channel(io, path.string(), callbacks());
    std::optional<ctl::Answer> answer;
    bool done = false;
    channel.request("ike-initiate", json{{"care-of-address", "2001:db8:2::5"}}, [&](std::optional<ctl::Answer> a) {
        answer = a;
        done = true;
    });
    ASSERT_TRUE(run_until([&] { return done; }));
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->result, ctl::ResultCode::ok);
    EXPECT_EQ(last_initiate["care-of-address"], "2001:db8:2::5");
    done = false;
    channel.request("no-such-command", json::object(), [&](std::optional<ctl::Answer> a) {
        answer = a;
        done = true;
    });
    ASSERT_TRUE(run_until([&] { return done; }));
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->result, ctl::ResultCode::unsupported);
}

TEST_F(IkebridgeChannelTest, UnreachableIkebridgedIsAnAnswerNotAHang) {
    IkebridgeChannel channel(io, path.string(), callbacks());
    bool done = false;
    std::optional<ctl::Answer> answer{ctl::Answer{}};
    channel.request("status-get", json::object(), [&](std::optional<ctl::Answer> a) {
        answer = a;
        done = true;
    });
    ASSERT_TRUE(run_until([&] { return done; }));
    EXPECT_FALSE(answer);
    EXPECT_EQ(channel.counters().requests_failed, 1u);
}

TEST_F(IkebridgeChannelTest, IkebridgedRestartIsNoticedAndRecovered) {
    IkebridgeChannel channel(io, path.string(), callbacks());
    channel.start();   // before ikebridged runs: retried with back-off
    auto server = std::make_unique<ControlServer>(io, path, registry);
    server->open();
    ASSERT_TRUE(run_until([&] { return statuses.size() == 1; }));
    server->close();   // ikebridged stops
    ASSERT_TRUE(run_until([&] { return lost == 1; }));
    EXPECT_FALSE(channel.subscribed());
    server = std::make_unique<ControlServer>(io, path, registry);
    server->open();    // and is back
    ASSERT_TRUE(run_until([&] { return statuses.size() == 2; }));
    EXPECT_TRUE(channel.subscribed());
    EXPECT_EQ(statuses[1]["generation"], 2);   // asked again, not remembered
    EXPECT_EQ(channel.counters().connects, 2u);
    EXPECT_EQ(channel.counters().losses, 1u);
}

}  // namespace
}  // namespace nemokey::mobility::adapters
