// kmmonitor's decoding of one captured datagram (PF_KEY or XFRM netlink)
// into records: each field is produced once as JSON, and the text line is
// rendered from that JSON, so the two outputs cannot drift apart
// (iproute2's json_print habit). Key material is never printed.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace nemokey::pfkey::kmmonitor {

enum class Source { pfkey, xfrm };

// Event classes the command line selects (kmmonitor [all | acquire | ...]).
enum class Category { acquire, expire, sa, policy, migrate, mapping, other };

struct Datagram {
    std::chrono::system_clock::time_point time;
    Source source = Source::xfrm;
    std::vector<uint8_t> bytes;
};

struct Record {
    Category category = Category::other;
    nlohmann::ordered_json json;  // "time", "source", "type", then the fields
};

// One record per message of the datagram; an undecodable datagram gives
// one record of type "unknown" with the error and the bytes in hex.
std::vector<Record> describe(const Datagram& d);

// "2026-11-23T22:10:00.123Z xfrm XFRM_MSG_MIGRATE sel=... moves=[...]"
std::string to_text(const nlohmann::ordered_json& record, bool with_time = true);

std::optional<Category> parse_category(const std::string& name);
const char* category_name(Category c);

// Capture files: one datagram per line, "[TIME ]pfkey|xfrm HEX". Shared by
// --capture/--replay, the kernel-VM tests and the fuzz corpora.
std::string to_capture_line(const Datagram& d);
// nullopt and `error` set on a malformed line.
std::optional<Datagram> parse_capture_line(const std::string& line, std::string& error);

std::string format_time(std::chrono::system_clock::time_point t);
std::optional<std::chrono::system_clock::time_point> parse_time(const std::string& s);
std::string to_hex(const std::vector<uint8_t>& bytes);

}  // namespace nemokey::pfkey::kmmonitor
