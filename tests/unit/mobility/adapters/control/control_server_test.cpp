// The control socket on real Unix sockets: request/answer with both ways
// of ending a request, the socket file's life (mode, stale, live, close),
// the limits (size, malformed, time, number) and the event stream
// (order, a slow subscriber dropped without blocking the loop).
#include "tests/unit/mobility/adapters/control/server_harness.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <variant>

namespace nemokey::mobility::adapters {
namespace {

using namespace testing;
namespace ctl = mobility::control;
using nlohmann::json;

ctl::CommandRegistry registry() {
    ctl::CommandRegistry r;
    EXPECT_TRUE(r.add("status-get", "status", [](const json&) {
        return ctl::Answer{ctl::ResultCode::ok, "running", json{{"role", "home-agent"}, {"bindings", 2}}};
    }));
    EXPECT_TRUE(r.add("echo-get", "echo", [](const json& args) {
        return ctl::Answer{ctl::ResultCode::ok, "echo", args};
    }));
    return r;
}

ctl::Answer parse(const std::string& text) {
    auto a = ctl::parse_answer(text);
    EXPECT_TRUE(std::holds_alternative<ctl::Answer>(a)) << text;
    return std::holds_alternative<ctl::Answer>(a) ? std::get<ctl::Answer>(a) : ctl::Answer{ctl::ResultCode::error, "unparsable", std::nullopt};
}

// One connection: send `request` as is, optionally half-close, read to EOF.
ReadResult exchange(const std::filesystem::path& path, const std::string& request, bool shut_write) {
    const int fd = connect_to(path);
    EXPECT_GE(fd, 0) << std::strerror(errno);
    if (fd < 0) return {};
    EXPECT_TRUE(send_all(fd, request));
    if (shut_write) ::shutdown(fd, SHUT_WR);
    ReadResult r = read_all(fd);
    ::close(fd);
    return r;
}

// Binds a socket at path and closes it without unlinking: a stale file.
void make_stale_socket(const std::filesystem::path& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa), 0);
    ::close(fd);
}

TEST(ControlServer, RequestEndedByNewline) {
    auto reg = registry();
    ServerHarness h(reg);
    ReadResult r = exchange(h.path(), R"({"command": "status-get"})" "\n", false);
    EXPECT_EQ(r.end, ReadEnd::eof);  // the server closes after its answer
    ASSERT_FALSE(r.data.empty());
    EXPECT_EQ(r.data.back(), '\n');
    EXPECT_EQ(r.data.find('\n'), r.data.size() - 1);  // one line
    ctl::Answer a = parse(r.data);
    EXPECT_EQ(a.result, ctl::ResultCode::ok);
    EXPECT_EQ(a.text, "running");
    EXPECT_EQ(a.arguments, (json{{"role", "home-agent"}, {"bindings", 2}}));
    EXPECT_EQ(h.counters().accepted, 1u);
    EXPECT_TRUE(h.wait_until([&] { return h.server().connections() == 0; }));
}

TEST(ControlServer, RequestEndedByShutdown) {
    auto reg = registry();
    ServerHarness h(reg);
    ReadResult r = exchange(h.path(), R"({"command": "echo-get", "arguments": {"a": [1, 2]}})", true);
    EXPECT_EQ(r.end, ReadEnd::eof);
    ctl::Answer a = parse(r.data);
    EXPECT_EQ(a.result, ctl::ResultCode::ok);
    EXPECT_EQ(a.arguments, (json{{"a", {1, 2}}}));
}

TEST(ControlServer, RequestInManyPieces) {
    auto reg = registry();
    ServerHarness h(reg);
    const int fd = connect_to(h.path());
    ASSERT_GE(fd, 0);
    for (const char* piece : {"{\"comm", "and\": \"sta", "tus-get\"}", "\n"}) {
        ASSERT_TRUE(send_all(fd, piece));
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(parse(read_all(fd).data).result, ctl::ResultCode::ok);
    ::close(fd);
}

TEST(ControlServer, UnknownCommandAndListCommands) {
    auto reg = registry();
    ServerHarness h(reg);
    EXPECT_EQ(parse(exchange(h.path(), R"({"command": "nothing-get"})" "\n", false).data).result,
              ctl::ResultCode::unsupported);
    ctl::Answer a = parse(exchange(h.path(), R"({"command": "list-commands"})" "\n", false).data);
    ASSERT_TRUE(a.arguments);
    std::vector<std::string> names;
    for (const json& c : (*a.arguments)["commands"]) names.push_back(c["command"]);
    EXPECT_EQ(names, (std::vector<std::string>{"list-commands", "echo-get", "status-get", "events-subscribe"}));
    EXPECT_EQ(h.counters().bad_requests, 0u);
}

TEST(ControlServer, SocketModeIs0660) {
    auto reg = registry();
    ServerHarness h(reg);
    struct stat st {};
    ASSERT_EQ(::lstat(h.path().c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0660u);
}

TEST(ControlServer, StaleSocketFileIsReplaced) {
    auto reg = registry();
    ServerHarness h(reg, {}, false);
    make_stale_socket(h.path());
    ASSERT_TRUE(std::filesystem::exists(h.path()));
    EXPECT_NO_THROW(h.on_loop([&] { h.server().open(); }));
    EXPECT_EQ(parse(exchange(h.path(), R"({"command": "status-get"})" "\n", false).data).result,
              ctl::ResultCode::ok);
}

TEST(ControlServer, LiveSocketIsRefused) {
    auto reg = registry();
    ServerHarness first(reg);
    boost::asio::io_context io;
    ControlServer second(io, first.path(), reg);
    try {
        second.open();
        ADD_FAILURE() << "a second server opened a live socket";
    } catch (const ControlServerError& e) {
        EXPECT_NE(std::string(e.what()).find(first.path().string()), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("another daemon listens"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(second.is_open());
    // The first one still serves.
    EXPECT_EQ(parse(exchange(first.path(), R"({"command": "status-get"})" "\n", false).data).result,
              ctl::ResultCode::ok);
}

TEST(ControlServer, PathThatIsNotASocketIsKept) {
    auto reg = registry();
    ServerHarness h(reg, {}, false);
    std::ofstream(h.path()) << "not a socket\n";
    try {
        h.on_loop([&] { h.server().open(); });
        ADD_FAILURE() << "opened over a regular file";
    } catch (const ControlServerError& e) {
        EXPECT_NE(std::string(e.what()).find("not a socket"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(std::filesystem::is_regular_file(h.path()));
}

TEST(ControlServer, PathTooLongIsRefused) {
    auto reg = registry();
    boost::asio::io_context io;
    ControlServer s(io, "/tmp/" + std::string(200, 'x'), reg);
    EXPECT_THROW(s.open(), ControlServerError);
}

TEST(ControlServer, OversizeRequestGetsResultOneAndIsClosed) {
    auto reg = registry();
    ServerHarness h(reg);
    const int fd = connect_to(h.path());
    ASSERT_GE(fd, 0);
    send_all(fd, std::string(ctl::max_request_bytes + 100, 'x'));  // may fail once the server closed
    ReadResult line = read_line(fd);
    ASSERT_EQ(line.end, ReadEnd::line);
    ctl::Answer a = parse(line.data);
    EXPECT_EQ(a.result, ctl::ResultCode::error);
    EXPECT_NE(a.text.find("limit"), std::string::npos) << a.text;
    ReadResult rest = read_all(fd);  // closed: EOF, or a reset for the bytes it never read
    EXPECT_TRUE(rest.end == ReadEnd::eof || rest.end == ReadEnd::reset);
    EXPECT_TRUE(rest.data.empty());
    ::close(fd);
    EXPECT_EQ(h.counters().bad_requests, 1u);
}

TEST(ControlServer, MalformedRequestsGetResultOne) {
    auto reg = registry();
    ServerHarness h(reg);
    for (const char* bad : {"{not json\n", "[1, 2]\n", R"({"command": 5})" "\n", R"({"arguments": {}})" "\n",
                            R"({"command": "status-get", "extra": 1})" "\n", "\n"}) {
        ReadResult r = exchange(h.path(), bad, false);
        ctl::Answer a = parse(r.data);
        EXPECT_EQ(a.result, ctl::ResultCode::error) << bad;
        EXPECT_FALSE(a.text.empty());
        EXPECT_EQ(r.end, ReadEnd::eof);
    }
    EXPECT_EQ(h.counters().bad_requests, 6u);
}

TEST(ControlServer, SilentAndSlowClientsAreTimedOut) {
    auto reg = registry();
    ControlServerLimits limits;
    limits.request_timeout = std::chrono::milliseconds(200);
    ServerHarness h(reg, limits);
    const int silent = connect_to(h.path());
    const int slow = connect_to(h.path());
    ASSERT_GE(silent, 0);
    ASSERT_GE(slow, 0);
    ASSERT_TRUE(send_all(slow, "{\"command\": \"stat"));
    const auto start = std::chrono::steady_clock::now();
    ReadResult a = read_all(silent);
    ReadResult b = read_all(slow);
    EXPECT_EQ(a.end, ReadEnd::eof);
    EXPECT_EQ(b.end, ReadEnd::eof);
    EXPECT_TRUE(a.data.empty());
    EXPECT_TRUE(b.data.empty());
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
    ::close(silent);
    ::close(slow);
    EXPECT_EQ(h.counters().timed_out, 2u);
    EXPECT_EQ(h.on_loop([&] { return h.server().connections(); }), 0u);
}

TEST(ControlServer, ConnectionsOverTheLimitAreClosedAtOnce) {
    auto reg = registry();
    ControlServerLimits limits;
    limits.max_connections = 2;
    ServerHarness h(reg, limits);
    const int a = connect_to(h.path());
    const int b = connect_to(h.path());
    ASSERT_GE(a, 0);
    ASSERT_GE(b, 0);
    ASSERT_TRUE(h.wait_until([&] { return h.server().connections() == 2; }));
    const int c = connect_to(h.path());
    ASSERT_GE(c, 0);  // the kernel accepts; the server closes it
    ReadResult r = read_all(c);
    EXPECT_EQ(r.end, ReadEnd::eof);
    EXPECT_TRUE(r.data.empty());
    ::close(c);
    EXPECT_EQ(h.counters().rejected_busy, 1u);
    // The two held ones are served, and then there is room again.
    ASSERT_TRUE(send_all(a, R"({"command": "status-get"})" "\n"));
    EXPECT_EQ(parse(read_all(a).data).result, ctl::ResultCode::ok);
    ::close(a);
    ASSERT_TRUE(h.wait_until([&] { return h.server().connections() == 1; }));
    EXPECT_EQ(parse(exchange(h.path(), R"({"command": "status-get"})" "\n", false).data).result,
              ctl::ResultCode::ok);
    ::close(b);
    EXPECT_EQ(h.counters().accepted, 3u);
}

int subscribe(ServerHarness& h, bool shut_write = false) {
    const int fd = connect_to(h.path());
    EXPECT_GE(fd, 0);
    EXPECT_TRUE(send_all(fd, shut_write ? R"({"command": "events-subscribe"})"
                                        : R"({"command": "events-subscribe"})" "\n"));
    if (shut_write) ::shutdown(fd, SHUT_WR);
    ReadResult first = read_line(fd);
    EXPECT_EQ(first.end, ReadEnd::line);
    EXPECT_EQ(parse(first.data).result, ctl::ResultCode::ok);
    return fd;
}

TEST(ControlServer, SubscribersReceiveEventsInOrder) {
    auto reg = registry();
    ServerHarness h(reg);
    const int one = subscribe(h);
    const int two = subscribe(h, true);
    ASSERT_TRUE(h.wait_until([&] { return h.server().subscribers() == 2; }));
    h.on_loop([&] {
        for (int i = 0; i < 200; ++i) h.server().publish(json{{"kind", "test"}, {"n", i}});
        h.server().publish(json{{"kind", "stamped"}, {"time", "2024-01-01T00:00:00.000Z"}});
    });
    for (int fd : {one, two}) {
        for (int i = 0; i < 200; ++i) {
            ReadResult line = read_line(fd);
            ASSERT_EQ(line.end, ReadEnd::line) << i;
            json e = json::parse(line.data);
            EXPECT_EQ(e["n"], i);
            EXPECT_EQ(e["kind"], "test");
            ASSERT_TRUE(e["time"].is_string());  // added by publish
            EXPECT_EQ(e["time"].get<std::string>().size(), 24u) << e["time"];
        }
        EXPECT_EQ(json::parse(read_line(fd).data)["time"], "2024-01-01T00:00:00.000Z");
    }
    // Subscribers are not timed out, and a hang-up ends the subscription.
    EXPECT_EQ(h.counters().subscriptions, 2u);
    EXPECT_EQ(h.counters().events_published, 201u);
    ::close(one);
    EXPECT_TRUE(h.wait_until([&] { return h.server().subscribers() == 1; }));
    ::close(two);  // half-closed: seen gone at the next event
    h.on_loop([&] { h.server().publish(json{{"kind", "test"}}); });
    EXPECT_TRUE(h.wait_until([&] { return h.server().subscribers() == 0; }));
    EXPECT_EQ(h.counters().timed_out, 0u);
}

TEST(ControlServer, SlowSubscriberIsDroppedWithoutBlocking) {
    auto reg = registry();
    ControlServerLimits limits;
    limits.max_subscriber_backlog = 64 * 1024;
    ServerHarness h(reg, limits);
    const int slow = subscribe(h);
    ASSERT_TRUE(h.wait_until([&] { return h.server().subscribers() == 1; }));
    // About 2 MB of events while the subscriber reads nothing: the kernel's
    // socket buffer fills, then the backlog bound is passed.
    const std::string padding(180, 'p');
    const auto took = h.on_loop([&] {
        const auto start = std::chrono::steady_clock::now();
        for (int i = 0; i < 10000; ++i) h.server().publish(json{{"kind", "test"}, {"n", i}, {"pad", padding}});
        return std::chrono::steady_clock::now() - start;
    });
    EXPECT_LT(took, std::chrono::seconds(2));
    EXPECT_EQ(h.counters().subscribers_dropped, 1u);
    EXPECT_EQ(h.on_loop([&] { return h.server().subscribers(); }), 0u);
    // The loop still answers at once.
    EXPECT_EQ(parse(exchange(h.path(), R"({"command": "status-get"})" "\n", false).data).result,
              ctl::ResultCode::ok);
    // What the slow one got: whole lines in order, at most one cut short
    // (the write under way when it was dropped), then the end.
    int expected = 0;
    for (;;) {
        ReadResult line = read_line(slow);
        if (line.end != ReadEnd::line) {
            EXPECT_EQ(line.end, ReadEnd::eof);
            break;
        }
        EXPECT_EQ(json::parse(line.data)["n"], expected);
        ++expected;
    }
    EXPECT_GT(expected, 0);
    EXPECT_LT(expected, 10000);
    ::close(slow);
}

TEST(ControlServer, CloseRemovesTheFileAndEndsConnections) {
    auto reg = registry();
    ServerHarness h(reg);
    const int sub = subscribe(h);
    ASSERT_TRUE(h.wait_until([&] { return h.server().subscribers() == 1; }));
    h.on_loop([&] { h.server().close(); });
    EXPECT_FALSE(std::filesystem::exists(h.path()));
    EXPECT_EQ(read_all(sub).end, ReadEnd::eof);
    ::close(sub);
    EXPECT_LT(connect_to(h.path()), 0);
    // It opens again, and close() leaves a file that is not its socket alone.
    h.on_loop([&] { h.server().open(); });
    EXPECT_EQ(parse(exchange(h.path(), R"({"command": "status-get"})" "\n", false).data).result,
              ctl::ResultCode::ok);
    std::filesystem::remove(h.path());
    std::ofstream(h.path()) << "someone else's\n";
    h.on_loop([&] { h.server().close(); });
    EXPECT_TRUE(std::filesystem::is_regular_file(h.path()));
}

}  // namespace
}  // namespace nemokey::mobility::adapters
