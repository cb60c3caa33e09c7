#include "mobility/daemon/control/fields.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace nemokey::mobility::control {

using nlohmann::json;

namespace {

std::string compact(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string duration(int64_t s) {
    if (s < 0) return std::to_string(s) + "s";
    const int64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
    char buf[64];
    if (d > 0)
        std::snprintf(buf, sizeof buf, "%lldd%02lldh%02lldm%02llds", static_cast<long long>(d),
                      static_cast<long long>(h), static_cast<long long>(m), static_cast<long long>(sec));
    else if (h > 0)
        std::snprintf(buf, sizeof buf, "%lldh%02lldm%02llds", static_cast<long long>(h), static_cast<long long>(m),
                      static_cast<long long>(sec));
    else if (m > 0)
        std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(m), static_cast<long long>(sec));
    else
        std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(sec));
    return buf;
}

std::string padded(const std::string& s, size_t width) {
    return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

void trim_right(std::string& line) {
    while (!line.empty() && line.back() == ' ') line.pop_back();
}

}  // namespace

std::string render_value(const json& value, FieldFormat format) {
    if (value.is_null()) return "-";
    if (format == FieldFormat::duration && value.is_number_integer()) return duration(value.get<int64_t>());
    if (format == FieldFormat::yes_no && value.is_boolean()) return value.get<bool>() ? "yes" : "no";
    if (value.is_string()) return value.get<std::string>();
    if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
    if (value.is_array()) {
        if (value.empty()) return "-";
        std::string out;
        for (const json& v : value) {
            if (!out.empty()) out += ',';
            out += render_value(v, FieldFormat::plain);
        }
        return out;
    }
    return compact(value);
}

std::string render_table(const json& rows, std::span<const Field> fields) {
    std::vector<std::vector<std::string>> cells;
    std::vector<std::string> header;
    for (const Field& f : fields) header.emplace_back(f.label);
    cells.push_back(std::move(header));
    if (rows.is_array()) {
        for (const json& row : rows) {
            std::vector<std::string> line;
            for (const Field& f : fields) {
                auto it = row.is_object() ? row.find(std::string(f.key)) : row.end();
                line.push_back(row.is_object() && it != row.end() ? render_value(*it, f.format) : "-");
            }
            cells.push_back(std::move(line));
        }
    }
    std::vector<size_t> width(fields.size(), 0);
    for (const auto& line : cells)
        for (size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], line[i].size());
    std::string out;
    for (const auto& line : cells) {
        std::string text;
        for (size_t i = 0; i < line.size(); ++i) text += padded(line[i], i + 1 < line.size() ? width[i] + 2 : 0);
        trim_right(text);
        out += text + '\n';
    }
    return out;
}

std::string render_object(const json& object, std::span<const Field> fields) {
    if (!object.is_object()) return {};
    size_t width = 0;
    for (const Field& f : fields)
        if (object.contains(std::string(f.key))) width = std::max(width, f.label.size() + 1);
    std::string out;
    for (const Field& f : fields) {
        auto it = object.find(std::string(f.key));
        if (it == object.end()) continue;
        std::string line = padded(std::string(f.label) + ":", width + 2) + render_value(*it, f.format);
        trim_right(line);
        out += line + '\n';
    }
    return out;
}

namespace {

void tree(const json& value, int depth, std::string& out) {
    const std::string indent(static_cast<size_t>(depth) * 2, ' ');
    for (auto it = value.begin(); it != value.end(); ++it) {
        if (it->is_object() && !it->empty()) {
            out += indent + it.key() + ":\n";
            tree(*it, depth + 1, out);
        } else {
            std::string line = indent + it.key() + ": " + render_value(*it, FieldFormat::plain);
            trim_right(line);
            out += line + '\n';
        }
    }
}

bool needs_quotes(const std::string& s) {
    if (s.empty()) return true;
    return std::any_of(s.begin(), s.end(), [](char c) {
        return c == ' ' || c == '\t' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
    });
}

}  // namespace

std::string render_tree(const json& value) {
    if (!value.is_object()) return render_value(value, FieldFormat::plain) + '\n';
    std::string out;
    tree(value, 0, out);
    return out;
}

std::string render_event(const json& event) {
    if (!event.is_object()) return compact(event);
    auto text_of = [&](const char* key) {
        auto it = event.find(key);
        return it == event.end() ? std::string("-") : render_value(*it, FieldFormat::plain);
    };
    std::string out = text_of("time") + " " + text_of("kind");
    for (auto it = event.begin(); it != event.end(); ++it) {
        // monotonic-ms lines events up for programs; people read "time".
        if (it.key() == "time" || it.key() == "kind" || it.key() == "monotonic-ms") continue;
        std::string v;
        if (it->is_string()) {
            v = it->get<std::string>();
            if (needs_quotes(v)) v = compact(*it);
        } else {
            v = compact(*it);
        }
        out += " " + it.key() + "=" + v;
    }
    return out;
}

}  // namespace nemokey::mobility::control
