// The mobctl subcommand table (wg habit, style.md 3.1): name, handler and
// one-line help, which also builds the usage text.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace nemokey::mobctl {

// Exit codes shared by all tools (design.md, "CLI").
enum ExitCode : int {
    exit_ok = 0,
    exit_failure = 1,
    exit_usage = 2,
    exit_nothing_matched = 3,
    exit_daemon_unreachable = 4,
};

// Options given before the command; commands may accept them after too.
struct GlobalOptions {
    bool json = false;
    // mobilityd's control socket: --socket PATH, else $NEMOKEY_MOBILITYD_SOCKET,
    // else /run/nemokey/mobilityd.sock (client.hpp).
    std::string socket;
};

struct Command {
    std::string_view name;
    std::string_view synopsis;  // arguments, for the usage text
    std::string_view help;      // one line
    int (*run)(GlobalOptions& options, std::span<const std::string_view> args);
};

std::span<const Command> commands();

// Prints the usage text (to stderr when it answers a usage error).
void print_usage(bool to_stderr);

int check_config(GlobalOptions& options, std::span<const std::string_view> args);

// Clients of mobilityd's control socket (daemon_commands.cpp).
int status(GlobalOptions& options, std::span<const std::string_view> args);
int binding(GlobalOptions& options, std::span<const std::string_view> args);
int events(GlobalOptions& options, std::span<const std::string_view> args);
int reload(GlobalOptions& options, std::span<const std::string_view> args);
int trigger(GlobalOptions& options, std::span<const std::string_view> args);
int counters(GlobalOptions& options, std::span<const std::string_view> args);
int ike(GlobalOptions& options, std::span<const std::string_view> args);
int config_show(GlobalOptions& options, std::span<const std::string_view> args);

}  // namespace nemokey::mobctl
