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
// (design.md, "CLI"); more config commands join when the daemons do.
int config(GlobalOptions& options, std::span<const std::string_view> args) {
    if (!args.empty() && args[0] == "check") return check_config(options, args.subspan(1));
    if (!args.empty() && args[0] == "help") {
        std::printf("Usage: mobctl config check FILE [--json]\n");
        return exit_ok;
    }
    std::string got = args.empty() ? "no command" : "'" + std::string(args[0]) + "'";
    std::fprintf(stderr, "mobctl config: %s (expected: check FILE [--json])\n", got.c_str());
    return exit_usage;
}

constexpr Command table[] = {
    {"check-config", "FILE [--json]",
     "validate a configuration without a daemon and print its security plan", check_config},
    {"config", "check FILE [--json]", "the same, as OBJECT COMMAND", config},
    {"help", "", "show this text", help},
};

}  // namespace

std::span<const Command> commands() { return table; }

void print_usage(bool to_stderr) {
    FILE* out = to_stderr ? stderr : stdout;
    std::fprintf(out, "Usage: mobctl [-j|--json] COMMAND [ARGS]\n\nCommands:\n");
    for (const Command& c : table) {
        std::string head = std::string(c.name) + (c.synopsis.empty() ? "" : " " + std::string(c.synopsis));
        std::fprintf(out, "  %-28s %.*s\n", head.c_str(), static_cast<int>(c.help.size()), c.help.data());
    }
    std::fprintf(out,
                 "\nExit codes: 0 ok, 1 failure (e.g. invalid configuration), 2 usage error,\n"
                 "3 nothing matched, 4 daemon unreachable.\n");
}

}  // namespace nemokey::mobctl
