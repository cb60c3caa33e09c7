// mobctl's commands that ask mobilityd over its control socket. Each sends
// one envelope request and renders the answer's arguments: as JSON with
// --json, else as text from the field tables the daemon builds its JSON
// from (mobility/daemon/control/fields.hpp). The daemon's result is the
// exit code (0 ok, 1 error, 2 unsupported, 3 empty); 4 when it cannot be
// reached.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "mobility/daemon/control/fields.hpp"
#include "mobility/mobctl/client.hpp"
#include "mobility/mobctl/commands.hpp"

namespace nemokey::mobctl {

namespace ctl = mobility::control;
using nlohmann::json;

namespace {

std::string pretty(const json& j) { return j.dump(2, ' ', false, json::error_handler_t::replace); }

void print_text(const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    if (!text.empty() && text.back() != '\n') std::fputc('\n', stdout);
}

// Takes the options a command accepts after its name (--json, --socket)
// and leaves the other words in `words`; false (after a message) on an
// unknown option.
bool take_options(std::string_view command, GlobalOptions& options, std::span<const std::string_view> args,
                  std::vector<std::string_view>& words) {
    for (size_t i = 0; i < args.size(); ++i) {
        std::string_view a = args[i];
        if (a == "-j" || a == "--json") {
            options.json = true;
        } else if (a == "--socket") {
            if (i + 1 == args.size()) {
                std::fprintf(stderr, "mobctl %.*s: '%.*s' needs a PATH\n", static_cast<int>(command.size()),
                             command.data(), static_cast<int>(a.size()), a.data());
                return false;
            }
            options.socket = std::string(args[++i]);
        } else if (a.starts_with("--socket=")) {
            options.socket = std::string(a.substr(9));
        } else if (a.size() > 1 && a.front() == '-') {
            std::fprintf(stderr, "mobctl %.*s: unknown option '%.*s'\n", static_cast<int>(command.size()),
                         command.data(), static_cast<int>(a.size()), a.data());
            return false;
        } else {
            words.push_back(a);
        }
    }
    return true;
}

bool no_words(std::string_view command, const std::vector<std::string_view>& words) {
    if (words.empty()) return true;
    std::fprintf(stderr, "mobctl %.*s: unexpected argument '%.*s'\n", static_cast<int>(command.size()),
                 command.data(), static_cast<int>(words[0].size()), words[0].data());
    return false;
}

int exit_code(ctl::ResultCode r) {
    switch (r) {
        case ctl::ResultCode::ok: return exit_ok;
        case ctl::ResultCode::error: return exit_failure;
        case ctl::ResultCode::unsupported: return exit_usage;
        case ctl::ResultCode::empty: return exit_nothing_matched;
    }
    return exit_failure;
}

// Asks; on success returns the answer with result 0 in `out`, else prints
// why and returns the exit code in `code`.
bool ask_daemon(std::string_view command, const GlobalOptions& options, const ctl::Request& request,
                ctl::Answer& out, int& code) {
    auto got = ask(options.socket, request);
    if (auto* u = std::get_if<Unreachable>(&got)) {
        std::fprintf(stderr, "mobctl %.*s: %s\n", static_cast<int>(command.size()), command.data(), u->text.c_str());
        code = exit_daemon_unreachable;
        return false;
    }
    if (auto* b = std::get_if<BadAnswer>(&got)) {
        std::fprintf(stderr, "mobctl %.*s: bad answer from mobilityd: %s\n", static_cast<int>(command.size()),
                     command.data(), b->text.c_str());
        code = exit_failure;
        return false;
    }
    out = std::get<ctl::Answer>(std::move(got));
    if (out.result != ctl::ResultCode::ok) {
        std::fprintf(stderr, "mobctl %.*s: %s\n", static_cast<int>(command.size()), command.data(),
                     out.text.empty() ? "mobilityd answered without a reason" : out.text.c_str());
        code = exit_code(out.result);
        return false;
    }
    code = exit_ok;
    return true;
}

json arguments_of(const ctl::Answer& a) { return a.arguments ? *a.arguments : json::object(); }

// The commands whose text is the daemon's sentence (reload, trigger).
int simple(std::string_view command, GlobalOptions& options, const ctl::Request& request) {
    ctl::Answer a;
    int code = exit_ok;
    if (!ask_daemon(command, options, request, a, code)) return code;
    if (options.json)
        std::printf("%s\n", pretty(arguments_of(a)).c_str());
    else
        print_text(a.text);
    return exit_ok;
}

}  // namespace

int status(GlobalOptions& options, std::span<const std::string_view> args) {
    std::vector<std::string_view> words;
    if (!take_options("status", options, args, words) || !no_words("status", words)) return exit_usage;
    ctl::Answer a;
    int code = exit_ok;
    if (!ask_daemon("status", options, ctl::Request{"status-get", json::object()}, a, code)) return code;
    const json args_json = arguments_of(a);
    if (options.json)
        std::printf("%s\n", pretty(args_json).c_str());
    else
        print_text(ctl::render_object(args_json, ctl::status_fields));
    return exit_ok;
}

int binding(GlobalOptions& options, std::span<const std::string_view> args) {
    std::vector<std::string_view> words;
    if (!take_options("binding", options, args, words)) return exit_usage;
    if (!words.empty() && words[0] == "show") words.erase(words.begin());
    if (!no_words("binding", words)) return exit_usage;
    ctl::Answer a;
    int code = exit_ok;
    if (!ask_daemon("binding", options, ctl::Request{"binding-list", json::object()}, a, code)) return code;
    const json args_json = arguments_of(a);
    if (options.json) {
        std::printf("%s\n", pretty(args_json).c_str());
        return exit_ok;
    }
    const auto role = args_json.find("role");
    const auto rows = args_json.find("bindings");
    if (role == args_json.end() || !role->is_string() || rows == args_json.end() || !rows->is_array()) {
        std::fprintf(stderr, "mobctl binding: bad answer from mobilityd: expected 'role' and a 'bindings' list\n");
        return exit_failure;
    }
    if (*role == "home-agent") {
        std::printf("Binding cache (home-agent)\n");
        print_text(ctl::render_table(*rows, ctl::binding_cache_fields));
    } else {
        std::printf("Binding update list (%s)\n", role->get<std::string>().c_str());
        print_text(ctl::render_table(*rows, ctl::binding_update_list_fields));
    }
    return exit_ok;
}

int events(GlobalOptions& options, std::span<const std::string_view> args) {
    std::vector<std::string_view> words;
    if (!take_options("events", options, args, words) || !no_words("events", words)) return exit_usage;
    auto connected = ControlClient::connect(options.socket);
    if (auto* u = std::get_if<Unreachable>(&connected)) {
        std::fprintf(stderr, "mobctl events: %s\n", u->text.c_str());
        return exit_daemon_unreachable;
    }
    ControlClient& client = std::get<ControlClient>(connected);
    if (auto u = client.send(ctl::Request{"events-subscribe", json::object()})) {
        std::fprintf(stderr, "mobctl events: %s\n", u->text.c_str());
        return exit_daemon_unreachable;
    }
    auto first = client.read_line();
    if (auto* u = std::get_if<Unreachable>(&first)) {
        std::fprintf(stderr, "mobctl events: %s\n", u->text.c_str());
        return exit_daemon_unreachable;
    }
    auto answer = ctl::parse_answer(std::get<std::string>(first));
    if (auto* e = std::get_if<ctl::RequestError>(&answer)) {
        std::fprintf(stderr, "mobctl events: bad answer from mobilityd: %s\n", e->text.c_str());
        return exit_failure;
    }
    const ctl::Answer& a = std::get<ctl::Answer>(answer);
    if (a.result != ctl::ResultCode::ok) {
        std::fprintf(stderr, "mobctl events: %s\n", a.text.c_str());
        return exit_code(a.result);
    }
    // One event per line, flushed at once (ip monitor), until interrupted.
    for (;;) {
        auto line = client.read_line(std::chrono::milliseconds(-1));
        if (auto* u = std::get_if<Unreachable>(&line)) {
            std::fprintf(stderr, "mobctl events: %s\n", u->text.c_str());
            return exit_failure;
        }
        const std::string& text = std::get<std::string>(line);
        if (options.json) {
            std::printf("%s\n", text.c_str());
        } else {
            json event = json::parse(text, nullptr, false);
            std::printf("%s\n", event.is_discarded() ? text.c_str() : ctl::render_event(event).c_str());
        }
        std::fflush(stdout);
    }
}

int reload(GlobalOptions& options, std::span<const std::string_view> args) {
    std::vector<std::string_view> words;
    if (!take_options("reload", options, args, words) || !no_words("reload", words)) return exit_usage;
    return simple("reload", options, ctl::Request{"config-reload", json::object()});
}

int trigger(GlobalOptions& options, std::span<const std::string_view> args) {
    std::vector<std::string_view> words;
    if (!take_options("trigger", options, args, words)) return exit_usage;
    if (words.size() != 2 || (words[1] != "link-going-down" && words[1] != "link-up")) {
        std::fprintf(stderr, "Usage: mobctl trigger INTERFACE link-going-down|link-up\n");
        return exit_usage;
    }
    json arguments{{"interface", std::string(words[0])}, {"event", std::string(words[1])}};
    return simple("trigger", options, ctl::Request{"movement-trigger", std::move(arguments)});
}

int counters(GlobalOptions& options, std::span<const std::string_view> args) {
    std::vector<std::string_view> words;
    if (!take_options("counters", options, args, words) || !no_words("counters", words)) return exit_usage;
    ctl::Answer a;
    int code = exit_ok;
    if (!ask_daemon("counters", options, ctl::Request{"counters-get", json::object()}, a, code)) return code;
    const json args_json = arguments_of(a);
    if (options.json)
        std::printf("%s\n", pretty(args_json).c_str());
    else
        print_text(ctl::render_tree(args_json));
    return exit_ok;
}

int config_show(GlobalOptions& options, std::span<const std::string_view> args) {
    std::vector<std::string_view> words;
    if (!take_options("config show", options, args, words) || !no_words("config show", words)) return exit_usage;
    ctl::Answer a;
    int code = exit_ok;
    if (!ask_daemon("config show", options, ctl::Request{"config-get", json::object()}, a, code)) return code;
    const json args_json = arguments_of(a);
    if (options.json) {
        std::printf("%s\n", pretty(args_json).c_str());
        return exit_ok;
    }
    // The file as the daemon loaded it, so the output passes check-config.
    if (auto text = args_json.find("text"); text != args_json.end() && text->is_string())
        print_text(text->get<std::string>());
    else if (auto config = args_json.find("config"); config != args_json.end())
        std::printf("%s\n", pretty(*config).c_str());
    else
        print_text(ctl::render_tree(args_json));
    return exit_ok;
}

// "mobctl ike status|counters": ikebridged's channel (its IKE and CHILD
// SAs per home address, IKE exchanges by type), same envelope.
int ike(GlobalOptions& options, std::span<const std::string_view> args) {
    const char* env = std::getenv(std::string(ikebridged_socket_env).c_str());
    GlobalOptions ike_options = options;
    ike_options.socket = env && *env ? env : std::string(default_ikebridged_socket);
    std::vector<std::string_view> rest;
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--ike-socket") {
            if (i + 1 >= args.size()) {
                std::fprintf(stderr, "mobctl ike: '--ike-socket' needs a PATH\n");
                return exit_usage;
            }
            ike_options.socket = std::string(args[++i]);
        } else if (args[i].starts_with("--ike-socket=")) {
            ike_options.socket = std::string(args[i].substr(13));
        } else {
            rest.push_back(args[i]);
        }
    }
    std::vector<std::string_view> words;
    GlobalOptions ignored_socket = ike_options;
    if (!take_options("ike", ignored_socket, rest, words)) return exit_usage;
    ike_options.json = ignored_socket.json;
    const std::string_view what = words.empty() ? "status" : words[0];
    if (words.size() > 1 || (what != "status" && what != "counters")) {
        std::fprintf(stderr, "mobctl ike: expected 'status' or 'counters'\n");
        return exit_usage;
    }
    ctl::Answer a;
    int code = exit_ok;
    const std::string command = what == "status" ? "status-get" : "counters-get";
    if (!ask_daemon("ike", ike_options, ctl::Request{command, json::object()}, a, code)) return code;
    const json args_json = arguments_of(a);
    if (ike_options.json)
        std::printf("%s\n", pretty(args_json).c_str());
    else
        print_text(ctl::render_tree(args_json));
    return exit_ok;
}

}  // namespace nemokey::mobctl
