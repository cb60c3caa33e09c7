// The plan as JSON and as readable text. The text is rendered from the same
// JSON document, so the two forms cannot drift apart (iproute2 habit,
// style.md 4.2). JSON keys are kebab-case like the configuration keys.
#pragma once

#include "conf/error.hpp"
#include "conf/plan.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace nemokey::conf {

nlohmann::ordered_json to_json(const Plan& plan);
nlohmann::ordered_json to_json(const ConfigErrors& errors);

// Indented "key: value" lines; arrays of objects become "- " items.
std::string to_text(const nlohmann::ordered_json& document);

}  // namespace nemokey::conf
