// The field tables of the control channel's listings: ONE table per
// listing, used by mobilityd to build the JSON rows and by mobctl to render
// them as text, so the two cannot drift apart (iproute2's json_print habit,
// style.md 4.2; Kea's control channel answers the JSON, style.md 2.3). The
// JSON keys are kebab case and are exactly the fields' keys; lifetimes are
// integer seconds. A daemon may send more keys than a table names: text
// shows the table's fields, --json shows everything.
#pragma once

#include <array>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace nemokey::mobility::control {

enum class FieldFormat {
    plain,     // strings as they are, numbers in decimal, arrays joined by ','
    duration,  // integer seconds, shown as "45s", "7m00s", "2h05m00s", "3d04h00m00s"
    yes_no,    // booleans as "yes" / "no"
};

struct Field {
    std::string_view key;    // the JSON key (kebab case)
    std::string_view label;  // the column header / the text before ':'
    FieldFormat format;
};

// A home agent's binding cache (RFC 6275 sec. 9.1, RFC 3963 sec. 6.1 prefixes,
// RFC 5648 binding ids). flags: an array of the letters set ("R", "K", "MCoA"...).
inline constexpr std::array<Field, 7> binding_cache_fields{{
    {"home-address", "Home address", FieldFormat::plain},
    {"care-of-address", "Care-of address", FieldFormat::plain},
    {"binding-id", "BID", FieldFormat::plain},
    {"lifetime-remaining", "Lifetime", FieldFormat::duration},
    {"flags", "Flags", FieldFormat::plain},
    {"prefixes", "Prefixes", FieldFormat::plain},
    {"sequence", "Seq", FieldFormat::plain},
}};

// A mobile node's or mobile router's binding update list (RFC 6275 sec. 11.1).
inline constexpr std::array<Field, 7> binding_update_list_fields{{
    {"home-address", "Home address", FieldFormat::plain},
    {"home-agent", "Home agent", FieldFormat::plain},
    {"care-of-address", "Care-of address", FieldFormat::plain},
    {"binding-id", "BID", FieldFormat::plain},
    {"state", "State", FieldFormat::plain},
    {"lifetime-remaining", "Lifetime", FieldFormat::duration},
    {"k-granted", "K", FieldFormat::yes_no},
}};

// The daemon's status (answer of status-get).
inline constexpr std::array<Field, 7> status_fields{{
    {"role", "Role", FieldFormat::plain},
    {"pid", "PID", FieldFormat::plain},
    {"uptime", "Uptime", FieldFormat::duration},
    {"config-file", "Configuration", FieldFormat::plain},
    {"bindings", "Bindings", FieldFormat::plain},
    {"control-connections", "Control connections", FieldFormat::plain},
    {"event-subscribers", "Event subscribers", FieldFormat::plain},
}};

// One value as text, per the field's format; a missing value (null) is "-".
std::string render_value(const nlohmann::json& value, FieldFormat format);

// Rows (an array of objects) as aligned columns, the labels as header, two
// spaces between columns, no trailing blanks, one '\n' per line. A key a row
// lacks shows "-". Not an array: the header alone.
std::string render_table(const nlohmann::json& rows, std::span<const Field> fields);

// "Label:  value" lines with the values aligned, in the table's order; keys
// the object lacks are left out.
std::string render_object(const nlohmann::json& object, std::span<const Field> fields);

// Any JSON object as "key: value" lines, nested objects indented by two
// spaces (open-ended listings: counters, a configuration as JSON).
std::string render_tree(const nlohmann::json& value);

// One event of the live stream as one line: "TIME KIND key=value ..." with
// the other keys in order; values with blanks, quotes or '=' are JSON-quoted,
// nested values are compact JSON.
std::string render_event(const nlohmann::json& event);

}  // namespace nemokey::mobility::control
