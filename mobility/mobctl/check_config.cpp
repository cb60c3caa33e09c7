// mobctl check-config FILE [--json]: parse, check and derive the security
// plan with no daemon running. Valid: the plan on stdout, exit 0. Invalid:
// one line per error on stderr (or {"errors": [...]} on stdout with
// --json), exit 1.
#include "conf/parser.hpp"
#include "conf/plan.hpp"
#include "conf/plan_format.hpp"
#include "mobility/mobctl/commands.hpp"

#include <cstdio>
#include <string>
#include <vector>

namespace nemokey::mobctl {

namespace {

// Invalid UTF-8 (a node file name, say) is replaced, never thrown.
std::string dump(const nlohmann::ordered_json& j) {
    return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

int check_config(GlobalOptions& options, std::span<const std::string_view> args) {
    std::string file;
    for (std::string_view a : args) {
        if (a == "--json" || a == "-j") {
            options.json = true;
        } else if (!a.empty() && a.front() == '-' && a != "-") {
            std::fprintf(stderr, "mobctl check-config: unknown option '%.*s'\n", static_cast<int>(a.size()), a.data());
            return exit_usage;
        } else if (file.empty()) {
            file = a;
        } else {
            std::fprintf(stderr, "mobctl check-config: one FILE only, got '%s' and '%.*s'\n", file.c_str(),
                         static_cast<int>(a.size()), a.data());
            return exit_usage;
        }
    }
    if (file.empty()) {
        std::fprintf(stderr, "mobctl check-config: missing FILE\nUsage: mobctl check-config FILE [--json]\n");
        return exit_usage;
    }
    auto result = conf::parse_file(file);
    if (!result.ok()) {
        if (options.json)
            std::printf("%s\n", dump(conf::to_json(result.error())).c_str());
        else
            for (const auto& e : result.error()) std::fprintf(stderr, "%s\n", e.to_string().c_str());
        return exit_failure;
    }
    auto plan = conf::to_json(conf::derive_plan(*result));
    std::vector<std::string> warnings;
    // Valid, but not for a real home agent.
    if (result->home_agent && result->home_agent->benchmark_unprotected_binding_updates &&
        result->home_agent->benchmark_unprotected_binding_updates->value)
        warnings.push_back(result->home_agent->benchmark_unprotected_binding_updates->where.to_string() +
                           ": '[benchmark] unprotected-binding-updates' true: with mobilityd --benchmark-unprotected-bus "
                           "Binding Updates are accepted without ESP (RFC 6275 sec. 5.1 requires it; load benchmarks "
                           "only)");
    // Valid, but a user would expect the RFC 6275 sec. 11.7.1 fallback.
    if (result->home && result->home->home_agent_addresses.size() > 1)
        warnings.push_back(result->home->home_agent_addresses[1].where.to_string() +
                           ": only the first home agent address is used: mobilityd does not fall back to the next "
                           "one when the first stops answering (RFC 6275 sec. 11.7.1 SHOULD; not implemented)");
    for (const auto& w : warnings)
        if (!options.json) std::fprintf(stderr, "warning: %s\n", w.c_str());
    if (options.json && !warnings.empty()) plan["warnings"] = warnings;
    if (options.json)
        std::printf("%s\n", dump(plan).c_str());
    else
        std::printf("%s", conf::to_text(plan).c_str());
    return exit_ok;
}

}  // namespace nemokey::mobctl
