// The control channel's envelope, shared by mobilityd, ikebridged and
// mobctl (style.md, after Kea's command interpreter):
//   request  {"command": "binding-get", "arguments": {...}}
//   answer   {"result": 0, "text": "...", "arguments": {...}}
// result: 0 ok, 1 error, 2 unsupported command, 3 empty (nothing matched).
// Commands are object-verb in kebab case. A registry dispatches requests to
// handlers and answers list-commands itself. Pure: text in, text out; the
// Unix socket lives in an adapter.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <variant>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace nemokey::mobility::control {

enum class ResultCode : int { ok = 0, error = 1, unsupported = 2, empty = 3 };

struct Request {
    std::string command;
    nlohmann::json arguments = nlohmann::json::object();
};

struct Answer {
    ResultCode result = ResultCode::ok;
    std::string text;
    std::optional<nlohmann::json> arguments;
};

// Requests larger than this are refused before parsing.
inline constexpr size_t max_request_bytes = 64 * 1024;

struct RequestError {
    std::string text;   // one sentence: what is wrong, quoting the bad token
};

// Parses one request; an error names what is wrong ("'command' missing",
// "'arguments' must be an object", ...).
std::variant<Request, RequestError> parse_request(std::string_view text);
std::string encode(const Request& request);
std::string encode(const Answer& answer);
// For clients (mobctl): the daemon's answer.
std::variant<Answer, RequestError> parse_answer(std::string_view text);

class CommandRegistry {
public:
    using Handler = std::function<Answer(const nlohmann::json& arguments)>;

    // Names must be kebab case (lower-case words joined by '-'); false when
    // the name is malformed or taken.
    bool add(std::string name, std::string help, Handler handler);
    // Parses, dispatches and encodes: bad requests get result 1, unknown
    // commands result 2; a handler that throws gets result 1, never a crash.
    std::string handle(std::string_view request_text) const;
    Answer dispatch(const Request& request) const;
    std::vector<std::string> commands() const;

private:
    struct Entry {
        std::string help;
        Handler handler;
    };
    std::map<std::string, Entry> handlers_;
};

bool is_kebab_case(std::string_view name);

}  // namespace nemokey::mobility::control
