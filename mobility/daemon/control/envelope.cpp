#include "mobility/daemon/control/envelope.hpp"

#include <exception>

namespace nemokey::mobility::control {

using nlohmann::json;

namespace {

std::string quote_token(std::string_view s, size_t max = 40) {
    std::string out(s.substr(0, max));
    if (s.size() > max) out += "...";
    return "'" + out + "'";
}

}  // namespace

bool is_kebab_case(std::string_view name) {
    if (name.empty() || name.front() == '-' || name.back() == '-') return false;
    char previous = 0;
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
        if (!ok || (c == '-' && previous == '-')) return false;
        previous = c;
    }
    return true;
}

std::variant<Request, RequestError> parse_request(std::string_view text) {
    if (text.size() > max_request_bytes)
        return RequestError{"request of " + std::to_string(text.size()) + " bytes is over the limit of " +
                            std::to_string(max_request_bytes)};
    json j = json::parse(text.begin(), text.end(), nullptr, false);
    if (j.is_discarded()) return RequestError{"request is not JSON: " + quote_token(text)};
    if (!j.is_object()) return RequestError{"request must be a JSON object, not " + std::string(j.type_name())};
    Request r;
    for (auto it = j.begin(); it != j.end(); ++it) {
        if (it.key() == "command") {
            if (!it->is_string()) return RequestError{"'command' must be a string"};
            r.command = it->get<std::string>();
        } else if (it.key() == "arguments") {
            if (!it->is_object()) return RequestError{"'arguments' must be an object"};
            r.arguments = *it;
        } else {
            return RequestError{"unknown key " + quote_token(it.key()) + " (expected 'command', 'arguments')"};
        }
    }
    if (r.command.empty()) return RequestError{"'command' missing"};
    return r;
}

std::string encode(const Request& request) {
    json j{{"command", request.command}};
    if (!request.arguments.empty()) j["arguments"] = request.arguments;
    return j.dump();
}

std::string encode(const Answer& answer) {
    json j{{"result", static_cast<int>(answer.result)}, {"text", answer.text}};
    if (answer.arguments) j["arguments"] = *answer.arguments;
    // Replacement characters keep a stray byte in a handler's text from
    // turning the answer into an exception.
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::variant<Answer, RequestError> parse_answer(std::string_view text) {
    json j = json::parse(text.begin(), text.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) return RequestError{"answer is not a JSON object: " + quote_token(text)};
    Answer a;
    const auto result = j.find("result");
    if (result == j.end() || !result->is_number_integer()) return RequestError{"answer has no integer 'result'"};
    const int code = result->get<int>();
    if (code < 0 || code > 3) return RequestError{"answer 'result' " + std::to_string(code) + " out of range (0..3)"};
    a.result = static_cast<ResultCode>(code);
    if (auto t = j.find("text"); t != j.end() && t->is_string()) a.text = t->get<std::string>();
    if (auto args = j.find("arguments"); args != j.end()) a.arguments = *args;
    return a;
}

bool CommandRegistry::add(std::string name, std::string help, Handler handler) {
    if (!is_kebab_case(name) || name == "list-commands" || handlers_.contains(name) || !handler) return false;
    handlers_.emplace(std::move(name), Entry{std::move(help), std::move(handler)});
    return true;
}

std::vector<std::string> CommandRegistry::commands() const {
    std::vector<std::string> out{"list-commands"};
    for (const auto& [name, e] : handlers_) out.push_back(name);
    return out;
}

Answer CommandRegistry::dispatch(const Request& request) const {
    if (request.command == "list-commands") {
        json list = json::array();
        list.push_back({{"command", "list-commands"}, {"help", "the commands this daemon answers"}});
        for (const auto& [name, e] : handlers_) list.push_back({{"command", name}, {"help", e.help}});
        return Answer{ResultCode::ok, std::to_string(list.size()) + " commands", json{{"commands", list}}};
    }
    auto it = handlers_.find(request.command);
    if (it == handlers_.end())
        return Answer{ResultCode::unsupported, "unsupported command " + quote_token(request.command), std::nullopt};
    try {
        return it->second.handler(request.arguments);
    } catch (const std::exception& e) {
        return Answer{ResultCode::error, request.command + " failed: " + e.what(), std::nullopt};
    }
}

std::string CommandRegistry::handle(std::string_view request_text) const {
    auto parsed = parse_request(request_text);
    if (auto* error = std::get_if<RequestError>(&parsed))
        return encode(Answer{ResultCode::error, error->text, std::nullopt});
    return encode(dispatch(std::get<Request>(parsed)));
}

}  // namespace nemokey::mobility::control
