// Bytes -> parse_string -> (if valid) plan -> JSON and text. Nothing may
// crash or throw; a rejected input must come with at least one error.
#include "conf/parser.hpp"
#include "conf/plan.hpp"
#include "conf/plan_format.hpp"

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string_view>

namespace {

namespace fs = std::filesystem;

// A folder holding the files the seeds name (c.pem, k.pem, ca.pem, s.keys,
// nodes.d/), so valid inputs reach the plan.
const fs::path& scratch() {
    static const fs::path dir = [] {
        fs::path d = fs::temp_directory_path() / ("nemokey-conf-fuzz-" + std::to_string(::getpid()));
        fs::create_directories(d / "nodes.d");
        for (const char* f : {"c.pem", "k.pem", "ca.pem", "s.keys"}) std::ofstream(d / f) << "x\n";
        return d;
    }();
    return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto result = nemokey::conf::parse_string(text, "fuzz.toml", scratch());
    if (!result.ok()) {
        if (result.error().empty()) std::abort();  // a failure names at least one error
        for (const auto& e : result.error())
            if (e.to_string().find('\n') != std::string::npos) std::abort();  // one line per error
    } else {
        auto plan = nemokey::conf::derive_plan(*result);
        auto json = nemokey::conf::to_json(plan);
        (void)json.dump();
        (void)nemokey::conf::to_text(json);
    }
    return 0;
}
