// mobctl [OPTIONS] COMMAND [ARGS]: see commands.cpp for the table.
#include "mobility/mobctl/commands.hpp"

#include <cstdio>
#include <string_view>
#include <vector>

int main(int argc, char** argv) {
    using namespace nemokey::mobctl;
    GlobalOptions options;
    int i = 1;
    for (; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "-j" || a == "--json") {
            options.json = true;
        } else if (a == "-h" || a == "--help") {
            print_usage(false);
            return exit_ok;
        } else if (!a.empty() && a.front() == '-') {
            std::fprintf(stderr, "mobctl: unknown option '%s'\n", argv[i]);
            print_usage(true);
            return exit_usage;
        } else {
            break;
        }
    }
    if (i == argc) {
        print_usage(true);
        return exit_usage;
    }
    std::string_view name = argv[i];
    std::vector<std::string_view> args(argv + i + 1, argv + argc);
    for (const Command& c : commands())
        if (c.name == name) return c.run(options, args);
    std::fprintf(stderr, "mobctl: unknown command '%s'\n", argv[i]);
    print_usage(true);
    return exit_usage;
}
