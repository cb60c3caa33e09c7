// The control envelope: any bytes get an answer that parses as an answer
// (never a crash, never an exception), and every request that parses
// re-encodes to one that parses to the same request.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mobility/daemon/control/envelope.hpp"

using namespace nemokey::mobility::control;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    CommandRegistry registry;
    registry.add("status-get", "status", [](const nlohmann::json& args) {
        return Answer{ResultCode::ok, "ok", args};
    });
    const auto answer = parse_answer(registry.handle(text));
    if (!std::holds_alternative<Answer>(answer)) std::abort();
    const auto parsed = parse_request(text);
    if (const auto* r = std::get_if<Request>(&parsed)) {
        const auto again = parse_request(encode(*r));
        const auto* r2 = std::get_if<Request>(&again);
        if (!r2 || r2->command != r->command || r2->arguments != r->arguments) std::abort();
    }
    return 0;
}
