#include "mobility/mobctl/commands.hpp"

#include <cstdio>
#include <string>

namespace nemokey::mobctl {

namespace {

int help(GlobalOptions&, std::span<const std::string_view>) {
    print_usage(false);
    return exit_ok;
}

// "mobctl config check FILE": the OBJECT COMMAND form of check-config
// (design.md, "CLI"); "mobctl config show": the running daemon's.
int config(GlobalOptions& options, std::span<const std::string_view> args) {
    if (!args.empty() && args[0] == "check") return check_config(options, args.subspan(1));
    if (!args.empty() && args[0] == "show") return config_show(options, args.subspan(1));
    if (!args.empty() && args[0] == "help") {
        std::printf("Usage: mobctl config check FILE [--json]\n       mobctl config show [--json]\n");
        return exit_ok;
    }
    std::string got = args.empty() ? "no command" : "'" + std::string(args[0]) + "'";
    std::fprintf(stderr, "mobctl config: %s (expected: check FILE [--json] | show [--json])\n", got.c_str());
    return exit_usage;
}

constexpr Command table[] = {
    {"check-config", "FILE [--json]",
     "validate a configuration without a daemon and print its security plan", check_config},
    {"config", "check FILE | show", "check FILE as above; show: the configuration mobilityd runs", config},
    {"status", "", "mobilityd's role, uptime and bindings", status},
    {"binding", "[show]", "the binding cache (home agent) or binding update list (mobile node/router)", binding},
    {"events", "", "mobilityd's events as they happen, one per line, until interrupted", events},
    {"reload", "", "make mobilityd reload its configuration (refused whole if invalid)", reload},
    {"trigger", "INTERFACE link-going-down|link-up", "a link-layer trigger for movement detection", trigger},
    {"counters", "", "mobilityd's counters", counters},
    {"ike", "status|counters [--ike-socket PATH]", "ikebridged's IKE/CHILD SAs per home address, or its counters", ike},
    {"help", "", "show this text", help},
};

}  // namespace

std::span<const Command> commands() { return table; }

void print_usage(bool to_stderr) {
    FILE* out = to_stderr ? stderr : stdout;
    std::fprintf(out, "Usage: mobctl [-j|--json] [--socket PATH] COMMAND [ARGS]\n\nCommands:\n");
    for (const Command& c : table) {
        std::string head = std::string(c.name) + (c.synopsis.empty() ? "" : " " + std::string(c.synopsis));
        std::fprintf(out, "  %-28s %.*s\n", head.c_str(), static_cast<int>(c.help.size()), c.help.data());
    }
    std::fprintf(out,
                 "\n--socket PATH: mobilityd's control socket (default $NEMOKEY_MOBILITYD_SOCKET,\n"
                 "else /run/nemokey/mobilityd.sock). --ike-socket PATH: ikebridged's (default\n"
                 "$NEMOKEY_IKEBRIDGED_SOCKET, else /run/nemokey/ikebridged.sock). --json: the answer as JSON.\n"
                 "\nExit codes: 0 ok, 1 failure (e.g. invalid configuration), 2 usage error,\n"
                 "3 nothing matched, 4 daemon unreachable.\n");
}

}  // namespace nemokey::mobctl
