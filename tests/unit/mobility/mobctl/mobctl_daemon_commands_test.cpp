// The mobctl binary against a ControlServer started here with a registry
// that plays mobilityd: what each command sends, its text and --json
// output, and its exit codes (0 ok, 1 error, 2 usage/unsupported, 3 empty,
// 4 unreachable, naming the socket and the errno text).
#include "tests/unit/mobility/adapters/control/server_harness.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <mutex>
#include <vector>

namespace nemokey::mobility::adapters {
namespace {

using namespace testing;
namespace ctl = mobility::control;
using nlohmann::json;

struct Outcome {
    int status = -1;  // exit code, or 128 + signal
    std::string out;
    std::string err;
};

extern "C" char** environ;

// Starts mobctl with `args` (and `env` added to the environment); stdout
// and stderr are pipes.
struct Child {
    pid_t pid = -1;
    int out = -1;
    int err = -1;
};

Child spawn(const std::vector<std::string>& args, const std::vector<std::string>& env) {
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) return {};
    std::vector<std::string> argv_s{MOBCTL_BIN};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_s;
    for (char** e = environ; *e; ++e)
        if (std::string_view(*e).substr(0, 25) != "NEMOKEY_MOBILITYD_SOCKET=") env_s.emplace_back(*e);
    env_s.insert(env_s.end(), env.begin(), env.end());
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(out[1], 1);
        ::dup2(err[1], 2);
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    return Child{pid, out[0], err[0]};
}

int wait_child(pid_t pid) {
    int st = 0;
    ::waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

Outcome mobctl(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
    Child c = spawn(args, env);
    Outcome r;
    if (c.pid < 0) return r;
    pollfd fds[2] = {{c.out, POLLIN, 0}, {c.err, POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0 && ::poll(fds, 2, 10000) > 0) {
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
            char buf[4096];
            const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
            if (n > 0) {
                (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
            } else {
                ::close(fds[i].fd);
                fds[i].fd = -1;
                --open_fds;
            }
        }
    }
    for (auto& f : fds)
        if (f.fd >= 0) ::close(f.fd);
    r.status = wait_child(c.pid);
    return r;
}

// A registry that plays mobilityd and records what it was asked.
struct FakeDaemon {
    std::mutex mutex;
    std::vector<ctl::Request> requests;
    std::string role = "home-agent";
    json bindings = json::array();
    ctl::ResultCode reload_result = ctl::ResultCode::ok;
    ctl::CommandRegistry registry;

    void record(std::string command, const json& args) {
        std::lock_guard lock(mutex);
        requests.push_back(ctl::Request{std::move(command), args});
    }

    FakeDaemon() {
        registry.add("status-get", "", [this](const json& a) {
            record("status-get", a);
            return ctl::Answer{ctl::ResultCode::ok, "running",
                               json{{"role", role}, {"pid", 4242}, {"uptime", 3725}, {"bindings", 2},
                                    {"config-file", "/etc/nemokey/mobilityd.conf"}}};
        });
        registry.add("binding-list", "", [this](const json& a) {
            record("binding-list", a);
            if (bindings.empty()) return ctl::Answer{ctl::ResultCode::empty, "no bindings", std::nullopt};
            return ctl::Answer{ctl::ResultCode::ok, std::to_string(bindings.size()) + " bindings",
                               json{{"role", role}, {"bindings", bindings}}};
        });
        registry.add("config-reload", "", [this](const json& a) {
            record("config-reload", a);
            if (reload_result != ctl::ResultCode::ok)
                return ctl::Answer{reload_result, "ha.conf:12:9: 'binding-lifetime' 300000 out of range (4..262140 s)",
                                   std::nullopt};
            return ctl::Answer{ctl::ResultCode::ok, "configuration reloaded: 1 change", json{{"changes", 1}}};
        });
        registry.add("movement-trigger", "", [this](const json& a) {
            record("movement-trigger", a);
            if (a.value("interface", "") != "wlan0")
                return ctl::Answer{ctl::ResultCode::error, "no access interface '" + a.value("interface", "") + "'",
                                   std::nullopt};
            return ctl::Answer{ctl::ResultCode::ok, a.value("event", "") + " on wlan0 noted", std::nullopt};
        });
        registry.add("config-get", "", [this](const json& a) {
            record("config-get", a);
            return ctl::Answer{ctl::ResultCode::ok, "configuration",
                               json{{"file", "/etc/nemokey/mobilityd.conf"}, {"text", "role = \"home-agent\"\n"}}};
        });
    }
    std::vector<ctl::Request> seen() {
        std::lock_guard lock(mutex);
        return requests;
    }
};

std::string sock(const ServerHarness& h) { return "--socket=" + h.path().string(); }

json binding_cache_rows() {
    return json::array({{{"home-address", "2001:db8:1::100"}, {"care-of-address", "2001:db8:a::5"},
                         {"binding-id", 1}, {"lifetime-remaining", 420}, {"flags", {"R", "K"}},
                         {"prefixes", {"2001:db8:100::/48"}}, {"sequence", 7}}});
}

TEST(MobctlDaemonCommands, StatusTextAndJson) {
    FakeDaemon d;
    ServerHarness h(d.registry);
    Outcome text = mobctl({"--socket", h.path().string(), "status"});
    EXPECT_EQ(text.status, 0) << text.err;
    EXPECT_EQ(text.out,
              "Role:           home-agent\n"
              "PID:            4242\n"
              "Uptime:         1h02m05s\n"
              "Configuration:  /etc/nemokey/mobilityd.conf\n"
              "Bindings:       2\n");
    Outcome j = mobctl({"--json", "status", sock(h)});
    EXPECT_EQ(j.status, 0) << j.err;
    EXPECT_EQ(json::parse(j.out)["uptime"], 3725);
    ASSERT_EQ(d.seen().size(), 2u);
    EXPECT_EQ(d.seen()[0].command, "status-get");
}

TEST(MobctlDaemonCommands, BindingCacheOnAHomeAgent) {
    FakeDaemon d;
    d.bindings = binding_cache_rows();
    ServerHarness h(d.registry);
    Outcome r = mobctl({sock(h), "binding"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out,
              "Binding cache (home-agent)\n"
              "Home address     Care-of address  BID  Lifetime  Flags  Prefixes           Seq\n"
              "2001:db8:1::100  2001:db8:a::5    1    7m00s     R,K    2001:db8:100::/48  7\n");
    Outcome j = mobctl({sock(h), "binding", "show", "-j"});
    EXPECT_EQ(j.status, 0) << j.err;
    EXPECT_EQ(json::parse(j.out), (json{{"role", "home-agent"}, {"bindings", binding_cache_rows()}}));
    EXPECT_EQ(d.seen().back().command, "binding-list");
}

TEST(MobctlDaemonCommands, BindingUpdateListOnAMobileRouter) {
    FakeDaemon d;
    d.role = "mobile-router";
    d.bindings = json::array({{{"home-address", "2001:db8:1::10"}, {"home-agent", "2001:db8:1::1"},
                               {"care-of-address", "2001:db8:a::10"}, {"binding-id", 2}, {"state", "bound"},
                               {"lifetime-remaining", 61}, {"k-granted", true}}});
    ServerHarness h(d.registry);
    Outcome r = mobctl({sock(h), "binding"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out,
              "Binding update list (mobile-router)\n"
              "Home address    Home agent     Care-of address  BID  State  Lifetime  K\n"
              "2001:db8:1::10  2001:db8:1::1  2001:db8:a::10   2    bound  1m01s     yes\n");
}

TEST(MobctlDaemonCommands, NoBindingsIsExitThree) {
    FakeDaemon d;
    ServerHarness h(d.registry);
    Outcome r = mobctl({sock(h), "binding"});
    EXPECT_EQ(r.status, 3);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "mobctl binding: no bindings\n");
}

TEST(MobctlDaemonCommands, Reload) {
    FakeDaemon d;
    ServerHarness h(d.registry);
    Outcome ok = mobctl({sock(h), "reload"});
    EXPECT_EQ(ok.status, 0) << ok.err;
    EXPECT_EQ(ok.out, "configuration reloaded: 1 change\n");
    Outcome j = mobctl({sock(h), "--json", "reload"});
    EXPECT_EQ(json::parse(j.out), (json{{"changes", 1}}));
    d.reload_result = ctl::ResultCode::error;
    Outcome bad = mobctl({sock(h), "reload"});
    EXPECT_EQ(bad.status, 1);
    EXPECT_EQ(bad.err, "mobctl reload: ha.conf:12:9: 'binding-lifetime' 300000 out of range (4..262140 s)\n");
    EXPECT_EQ(d.seen().back().command, "config-reload");
}

TEST(MobctlDaemonCommands, Trigger) {
    FakeDaemon d;
    ServerHarness h(d.registry);
    Outcome r = mobctl({sock(h), "trigger", "wlan0", "link-going-down"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "link-going-down on wlan0 noted\n");
    ASSERT_EQ(d.seen().size(), 1u);
    EXPECT_EQ(d.seen()[0].command, "movement-trigger");
    EXPECT_EQ(d.seen()[0].arguments, (json{{"interface", "wlan0"}, {"event", "link-going-down"}}));
    Outcome up = mobctl({sock(h), "trigger", "wlan0", "link-up"});
    EXPECT_EQ(up.status, 0) << up.err;
    Outcome unknown = mobctl({sock(h), "trigger", "eth9", "link-up"});
    EXPECT_EQ(unknown.status, 1);
    EXPECT_EQ(unknown.err, "mobctl trigger: no access interface 'eth9'\n");
    // Usage errors never reach the daemon.
    const size_t asked = d.seen().size();
    EXPECT_EQ(mobctl({sock(h), "trigger", "wlan0", "link-sideways"}).status, 2);
    EXPECT_EQ(mobctl({sock(h), "trigger", "wlan0"}).status, 2);
    EXPECT_EQ(mobctl({sock(h), "trigger", "wlan0", "link-up", "--verbose"}).status, 2);
    EXPECT_EQ(d.seen().size(), asked);
}

TEST(MobctlDaemonCommands, ConfigShowPrintsTheFile) {
    FakeDaemon d;
    ServerHarness h(d.registry);
    Outcome r = mobctl({sock(h), "config", "show"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "role = \"home-agent\"\n");
    Outcome j = mobctl({sock(h), "config", "show", "--json"});
    EXPECT_EQ(json::parse(j.out)["file"], "/etc/nemokey/mobilityd.conf");
    EXPECT_EQ(d.seen().back().command, "config-get");
}

TEST(MobctlDaemonCommands, UnsupportedCommandIsExitTwo) {
    FakeDaemon d;  // answers no counters-get
    ServerHarness h(d.registry);
    Outcome r = mobctl({sock(h), "counters"});
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.err, "mobctl counters: unsupported command 'counters-get'\n");
}

TEST(MobctlDaemonCommands, Counters) {
    ctl::CommandRegistry reg;
    reg.add("counters-get", "", [](const json&) {
        return ctl::Answer{ctl::ResultCode::ok, "counters",
                           json{{"mh", {{"bu-received", 10}, {"ba-sent", 9}}}, {"control", {{"accepted", 3}}}}};
    });
    ServerHarness h(reg);
    Outcome r = mobctl({sock(h), "counters"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "control:\n  accepted: 3\nmh:\n  ba-sent: 9\n  bu-received: 10\n");
    EXPECT_EQ(json::parse(mobctl({sock(h), "counters", "--json"}).out)["mh"]["ba-sent"], 9);
}

TEST(MobctlDaemonCommands, SocketFromTheEnvironment) {
    FakeDaemon d;
    ServerHarness h(d.registry);
    Outcome r = mobctl({"status"}, {"NEMOKEY_MOBILITYD_SOCKET=" + h.path().string()});
    EXPECT_EQ(r.status, 0) << r.err;
    // --socket wins over the environment.
    Outcome other = mobctl({"--socket", (h.folder() / "none.sock").string(), "status"},
                       {"NEMOKEY_MOBILITYD_SOCKET=" + h.path().string()});
    EXPECT_EQ(other.status, 4);
}

TEST(MobctlDaemonCommands, NoDaemonIsExitFour) {
    TempFolder folder;
    const std::string missing = (folder.path() / "mobilityd.sock").string();
    for (const char* command : {"status", "binding", "reload", "counters", "events"}) {
        Outcome r = mobctl({"--socket", missing, command});
        EXPECT_EQ(r.status, 4) << command;
        EXPECT_EQ(r.err, std::string("mobctl ") + command + ": cannot reach mobilityd at '" + missing +
                             "': No such file or directory\n");
    }
    // A stale socket file: nothing listens.
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, missing.c_str(), sizeof sa.sun_path - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa), 0);
    ::close(fd);
    Outcome r = mobctl({"--socket", missing, "status"});
    EXPECT_EQ(r.status, 4);
    EXPECT_NE(r.err.find("Connection refused"), std::string::npos) << r.err;
}

TEST(MobctlDaemonCommands, DaemonThatNeverAnswersIsExitFour) {
    // A listener that accepts nothing: mobctl gives up after its timeout.
    TempFolder folder;
    const std::string path = (folder.path() / "mobilityd.sock").string();
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa), 0);
    ASSERT_EQ(::listen(fd, 4), 0);
    const auto start = std::chrono::steady_clock::now();
    Outcome r = mobctl({"--socket", path, "status"});
    const auto took = std::chrono::steady_clock::now() - start;
    ::close(fd);
    EXPECT_EQ(r.status, 4);
    EXPECT_EQ(r.err, "mobctl status: no answer from mobilityd at '" + path + "': Connection timed out\n");
    EXPECT_GE(took, std::chrono::milliseconds(4500));
    EXPECT_LT(took, std::chrono::seconds(9));
}

TEST(MobctlDaemonCommands, UsageErrors) {
    FakeDaemon d;
    ServerHarness h(d.registry);
    EXPECT_EQ(mobctl({sock(h), "status", "extra"}).status, 2);
    EXPECT_EQ(mobctl({sock(h), "binding", "--bogus"}).status, 2);
    EXPECT_EQ(mobctl({"--socket"}).status, 2);
    EXPECT_EQ(mobctl({sock(h), "config", "frobnicate"}).status, 2);
    EXPECT_TRUE(d.seen().empty());
    Outcome help = mobctl({"help"});
    for (const char* c : {"status", "binding", "events", "reload", "trigger", "counters", "--socket"})
        EXPECT_NE(help.out.find(c), std::string::npos) << c;
}

// Reads lines from fd until `n` were read or 5 s passed.
std::vector<std::string> read_lines(int fd, size_t n) {
    std::vector<std::string> lines;
    std::string buffer;
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (lines.size() < n && std::chrono::steady_clock::now() < end) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        char buf[4096];
        const ssize_t got = ::read(fd, buf, sizeof buf);
        if (got <= 0) break;
        buffer.append(buf, static_cast<size_t>(got));
        for (size_t nl; (nl = buffer.find('\n')) != std::string::npos;) {
            lines.push_back(buffer.substr(0, nl));
            buffer.erase(0, nl + 1);
        }
    }
    return lines;
}

void events_case(bool as_json) {
    FakeDaemon d;
    ServerHarness h(d.registry);
    std::vector<std::string> args{sock(h), "events"};
    if (as_json) args.push_back("--json");
    Child c = spawn(args, {});
    ASSERT_GT(c.pid, 0);
    ASSERT_TRUE(h.wait_until([&] { return h.server().subscribers() == 1; }));
    const json first{{"time", "2024-01-01T00:00:00.000Z"}, {"kind", "binding-added"},
                     {"home-address", "2001:db8:1::100"}, {"lifetime", 420}};
    const json second{{"time", "2024-01-01T00:00:01.500Z"}, {"kind", "movement"}, {"interface", "wlan0"},
                      {"event", "link-going-down"}};
    h.on_loop([&] {
        h.server().publish(first);
        h.server().publish(second);
    });
    std::vector<std::string> lines = read_lines(c.out, 2);
    ::kill(c.pid, SIGINT);  // "until interrupted"
    EXPECT_EQ(wait_child(c.pid), 128 + SIGINT);
    ::close(c.out);
    ::close(c.err);
    ASSERT_EQ(lines.size(), 2u);
    if (as_json) {
        // The server stamps each event with CLOCK_MONOTONIC (one clock for
        // the daemons of every namespace), unless the publisher did.
        const double now_ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
        for (size_t i = 0; i < 2; ++i) {
            json got = json::parse(lines[i]);
            ASSERT_TRUE(got.contains("monotonic-ms") && got["monotonic-ms"].is_number()) << lines[i];
            EXPECT_LE(got["monotonic-ms"].get<double>(), now_ms);
            EXPECT_GT(got["monotonic-ms"].get<double>(), now_ms - 60000.0);
            got.erase("monotonic-ms");
            EXPECT_EQ(got, i == 0 ? first : second);
        }
    } else {
        EXPECT_EQ(lines[0], "2024-01-01T00:00:00.000Z binding-added home-address=2001:db8:1::100 lifetime=420");
        EXPECT_EQ(lines[1], "2024-01-01T00:00:01.500Z movement event=link-going-down interface=wlan0");
    }
    EXPECT_TRUE(h.wait_until([&] { return h.server().subscribers() == 0; }));
}

TEST(MobctlDaemonCommands, EventsAsText) { events_case(false); }
TEST(MobctlDaemonCommands, EventsAsJson) { events_case(true); }

TEST(MobctlDaemonCommands, EventsEndWhenTheDaemonCloses) {
    FakeDaemon d;
    ServerHarness h(d.registry);
    Child c = spawn({sock(h), "events"}, {});
    ASSERT_GT(c.pid, 0);
    ASSERT_TRUE(h.wait_until([&] { return h.server().subscribers() == 1; }));
    h.on_loop([&] { h.server().close(); });
    EXPECT_EQ(wait_child(c.pid), 1);
    std::string err;
    char buf[512];
    for (ssize_t n; (n = ::read(c.err, buf, sizeof buf)) > 0;) err.append(buf, static_cast<size_t>(n));
    ::close(c.out);
    ::close(c.err);
    EXPECT_EQ(err, "mobctl events: mobilityd at '" + h.path().string() + "' closed the connection\n");
}

}  // namespace
}  // namespace nemokey::mobility::adapters
