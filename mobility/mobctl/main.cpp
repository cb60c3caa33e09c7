// mobctl [OPTIONS] COMMAND [ARGS]: see commands.cpp for the table.
#include "mobility/mobctl/client.hpp"
#include "mobility/mobctl/commands.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

int main(int argc, char** argv) {
    using namespace nemokey::mobctl;
    GlobalOptions options;
    const char* env_socket = std::getenv(std::string(mobilityd_socket_env).c_str());
    options.socket = env_socket && *env_socket ? env_socket : std::string(default_mobilityd_socket);
    int i = 1;
    for (; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "-j" || a == "--json") {
            options.json = true;
        } else if (a == "--socket") {
            if (++i == argc) {
                std::fprintf(stderr, "mobctl: '--socket' needs a PATH\n");
                return exit_usage;
            }
            options.socket = argv[i];
        } else if (a.starts_with("--socket=")) {
            options.socket = std::string(a.substr(9));
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
