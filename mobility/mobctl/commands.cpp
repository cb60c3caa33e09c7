#include "mobility/mobctl/commands.hpp"

#include <cstdio>
#include <string>

namespace nemokey::mobctl {

namespace {

int help(GlobalOptions&, std::span<const std::string_view>) {
    print_usage(false);
    return exit_ok;
}

constexpr Command table[] = {
    {"check-config", "FILE [--json]",
     "validate a configuration without a daemon and print its security plan", check_config},
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
