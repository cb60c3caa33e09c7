#include "mobility/core/binding/snapshot.hpp"

#include <algorithm>
#include <initializer_list>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

namespace nemokey::mobility::binding {

namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

constexpr std::string_view kind_binding_cache = "binding-cache";
constexpr std::string_view kind_binding_update_list = "binding-update-list";

// An expiry lies at most one maximal lifetime ahead (RFC 6275 sec. 6.1.7);
// one that passed may lie far back (a stale time of an idle entry).
constexpr int64_t max_lifetime_s = max_lifetime_on_wire.count();
constexpr int64_t max_remaining_ms = max_lifetime_s * 1000;
constexpr int64_t min_remaining_ms = -snapshot_max_integer;

// ---- Errors ----

// Decoding stops at the first error; the exception never leaves this file.
struct Failure {
    SnapshotError error;
};

[[noreturn]] void fail(std::string field, std::string message) {
    throw Failure{SnapshotError{std::move(field), std::move(message)}};
}

std::string shortened(std::string s) {
    constexpr size_t limit = 48;
    if (s.size() > limit) s = s.substr(0, limit) + "...";
    return s;
}

// The value as an error message quotes it.
std::string describe(const json& j) {
    switch (j.type()) {
        case json::value_t::object: return "an object";
        case json::value_t::array: return "an array";
        case json::value_t::null: return "null";
        default: return shortened(j.dump(-1, ' ', false, json::error_handler_t::replace));
    }
}

std::string quote(std::string_view field) { return "'" + shortened(std::string(field)) + "'"; }

std::string at(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string at(const std::string& path, size_t index) {
    return path + "[" + std::to_string(index) + "]";
}

std::string range(int64_t min, int64_t max) {
    return "(" + std::to_string(min) + ".." + std::to_string(max) + ")";
}

// ---- Reading typed fields ----

const json& object(const json& j, const std::string& path) {
    if (!j.is_object()) {
        if (path.empty()) fail(path, "the snapshot is " + describe(j) + ", not a JSON object");
        fail(path, quote(path) + " is " + describe(j) + ", not an object");
    }
    return j;
}

const json& array(const json& j, const std::string& path) {
    if (!j.is_array()) fail(path, quote(path) + " is " + describe(j) + ", not an array");
    return j;
}

void only_keys(const json& obj, const std::string& path, std::initializer_list<std::string_view> keys) {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
        if (std::find(keys.begin(), keys.end(), it.key()) != keys.end()) continue;
        fail(at(path, it.key()), "unknown key " + quote(at(path, it.key())) + " (version " +
                                     std::to_string(snapshot_version) + " has no such field)");
    }
}

const json& member(const json& obj, const std::string& path, std::string_view key) {
    auto it = obj.find(std::string(key));
    if (it == obj.end()) fail(at(path, key), quote(at(path, key)) + " is missing");
    return *it;
}

// Absent and null both mean "none".
const json* optional_member(const json& obj, std::string_view key) {
    auto it = obj.find(std::string(key));
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
}

int64_t integer(const json& j, const std::string& path, int64_t min, int64_t max) {
    int64_t v = 0;
    if (j.is_number_unsigned()) {
        const uint64_t u = j.get<uint64_t>();
        if (u > static_cast<uint64_t>(max))
            fail(path, quote(path) + " " + std::to_string(u) + " out of range " + range(min, max));
        v = static_cast<int64_t>(u);
    } else if (j.is_number_integer()) {
        v = j.get<int64_t>();
    } else {
        fail(path, quote(path) + " is " + describe(j) + ", not an integer");
    }
    if (v < min || v > max) fail(path, quote(path) + " " + std::to_string(v) + " out of range " + range(min, max));
    return v;
}

bool boolean(const json& j, const std::string& path) {
    if (!j.is_boolean()) fail(path, quote(path) + " is " + describe(j) + ", not true or false");
    return j.get<bool>();
}

const std::string& string_value(const json& j, const std::string& path) {
    if (!j.is_string()) fail(path, quote(path) + " is " + describe(j) + ", not a string");
    return j.get_ref<const std::string&>();
}

Ipv6Address address(const json& j, const std::string& path) {
    auto a = Ipv6Address::parse(string_value(j, path));
    if (!a) fail(path, quote(path) + " " + describe(j) + " is not an IPv6 address");
    return *a;
}

net::Prefix prefix(const json& j, const std::string& path) {
    auto p = net::Prefix::parse(string_value(j, path));
    if (!p || !net::is_v6(p->address)) fail(path, quote(path) + " " + describe(j) + " is not an IPv6 prefix");
    return *p;
}

// Named fields read from an object: member(key) gives the value and its path.
struct Fields {
    const json& obj;
    std::string path;

    Fields(const json& j, std::string p, std::initializer_list<std::string_view> keys)
        : obj(object(j, p)), path(std::move(p)) {
        only_keys(obj, path, keys);
    }
    std::string field(std::string_view key) const { return at(path, key); }
    const json& operator[](std::string_view key) const { return member(obj, path, key); }
    int64_t integer(std::string_view key, int64_t min, int64_t max) const {
        return binding::integer((*this)[key], field(key), min, max);
    }
    bool boolean(std::string_view key) const { return binding::boolean((*this)[key], field(key)); }
    Ipv6Address address(std::string_view key) const { return binding::address((*this)[key], field(key)); }
    std::optional<Ipv6Address> optional_address(std::string_view key) const {
        const json* j = optional_member(obj, key);
        if (!j) return std::nullopt;
        return binding::address(*j, field(key));
    }
    std::optional<int64_t> optional_integer(std::string_view key, int64_t min, int64_t max) const {
        const json* j = optional_member(obj, key);
        if (!j) return std::nullopt;
        return binding::integer(*j, field(key), min, max);
    }
    const json& array(std::string_view key) const { return binding::array((*this)[key], field(key)); }
};

SnapshotTime read_time(const json& j, const std::string& path) {
    Fields f(j, path, {"monotonic-ms", "wall-clock-ms"});
    SnapshotTime t;
    t.monotonic = TimePoint{Duration{f.integer("monotonic-ms", -snapshot_max_integer, snapshot_max_integer)}};
    t.wall_clock_ms = f.integer("wall-clock-ms", 0, snapshot_max_integer);
    return t;
}

// A time of the snapshot, read as a duration from the moment it was taken.
TimePoint read_expiry(const Fields& f, std::string_view key, const SnapshotTime& taken) {
    return taken.monotonic + Duration{f.integer(key, min_remaining_ms, max_remaining_ms)};
}

constexpr BulState bul_states[] = {BulState::idle, BulState::waiting_for_ack,
                                   BulState::waiting_for_ack_refresh, BulState::bound,
                                   BulState::waiting_for_deregistration_ack};

// The header shared by both kinds; returns the kind.
std::string_view read_header(const json& doc) {
    object(doc, "");
    const std::string& format = string_value(member(doc, "", "format"), "format");
    if (format != snapshot_format)
        fail("format", "'format' " + describe(doc["format"]) + " is not \"" + std::string(snapshot_format) + "\"");
    const int64_t version = integer(member(doc, "", "version"), "version", 0, snapshot_max_integer);
    if (version != snapshot_version)
        fail("version", "'version' " + std::to_string(version) + " is not supported (this build reads version " +
                            std::to_string(snapshot_version) + ")");
    const std::string& kind = string_value(member(doc, "", "kind"), "kind");
    if (kind == kind_binding_cache) return kind_binding_cache;
    if (kind == kind_binding_update_list) return kind_binding_update_list;
    fail("kind", "'kind' " + describe(doc["kind"]) + " is neither \"binding-cache\" nor \"binding-update-list\"");
}

BindingCacheSnapshot read_binding_cache(const json& doc) {
    Fields top(doc, "", {"format", "version", "kind", "taken-at", "entries"});
    BindingCacheSnapshot s;
    s.taken_at = read_time(top["taken-at"], "taken-at");
    const json& entries = top.array("entries");
    for (size_t i = 0; i < entries.size(); ++i) {
        Fields f(entries[i], at("entries", i),
                 {"home-address", "home-agent-address", "mobile-router", "key-management-mobility",
                  "multiple-care-of-addresses", "granted-lifetime", "mobile-network-prefixes", "bindings"});
        const Ipv6Address hoa = f.address("home-address");
        BindingCacheEntry e;
        e.home_agent_address = f.address("home-agent-address");
        e.mobile_router = f.boolean("mobile-router");
        e.key_management_mobility = f.boolean("key-management-mobility");
        e.multiple_care_of_addresses = f.boolean("multiple-care-of-addresses");
        e.granted_lifetime_seconds = static_cast<uint32_t>(f.integer("granted-lifetime", 0, max_lifetime_s));
        const json& prefixes = f.array("mobile-network-prefixes");
        for (size_t k = 0; k < prefixes.size(); ++k)
            e.mobile_network_prefixes.push_back(prefix(prefixes[k], at(f.field("mobile-network-prefixes"), k)));
        const json& bindings = f.array("bindings");
        for (size_t k = 0; k < bindings.size(); ++k) {
            Fields b(bindings[k], at(f.field("bindings"), k),
                     {"binding-id", "care-of-address", "last-sequence", "expires-in-ms"});
            CareOfBinding c;
            c.binding_id = static_cast<uint16_t>(b.integer("binding-id", 0, 0xffff));
            c.care_of_address = b.address("care-of-address");
            c.last_sequence = static_cast<uint16_t>(b.integer("last-sequence", 0, 0xffff));
            c.expires_at = read_expiry(b, "expires-in-ms", s.taken_at);
            e.bindings.push_back(c);
        }
        s.entries.emplace_back(hoa, std::move(e));
    }
    return s;
}

BindingUpdateListSnapshot read_binding_update_list(const json& doc) {
    Fields top(doc, "",
               {"format", "version", "kind", "taken-at", "home-address", "home-agent-address",
                "sequence-number", "multiple-care-of-addresses", "bulk-registration", "prefix-mode",
                "home-agent-unusable", "final-status", "mcoa-bootstrapped", "returning-home", "entries"});
    BindingUpdateListSnapshot s;
    s.taken_at = read_time(top["taken-at"], "taken-at");
    s.home_address = top.address("home-address");
    s.home_agent_address = top.address("home-agent-address");
    BindingUpdateListState& st = s.state;
    st.sequence_number = static_cast<uint16_t>(top.integer("sequence-number", 0, 0xffff));
    st.multiple_care_of_addresses = top.boolean("multiple-care-of-addresses");
    st.bulk_registration = top.boolean("bulk-registration");
    const std::string& mode = string_value(top["prefix-mode"], "prefix-mode");
    if (mode == "implicit") st.prefix_mode = PrefixMode::implicit_mode;
    else if (mode == "explicit") st.prefix_mode = PrefixMode::explicit_mode;
    else fail("prefix-mode", "'prefix-mode' " + describe(top["prefix-mode"]) + " is neither \"implicit\" nor \"explicit\"");
    st.home_agent_unusable = top.boolean("home-agent-unusable");
    if (auto status = top.optional_integer("final-status", 0, 255))
        st.final_status = static_cast<mh::BindingAckStatus>(*status);
    st.mcoa_bootstrapped = top.boolean("mcoa-bootstrapped");
    st.returning_home = top.boolean("returning-home");
    const json& entries = top.array("entries");
    for (size_t i = 0; i < entries.size(); ++i) {
        Fields f(entries[i], at("entries", i),
                 {"binding-id", "state", "care-of-address", "installed-care-of-address",
                  "releases-binding-id", "granted-lifetime", "expires-in-ms", "refresh-in-ms",
                  "key-management-mobility"});
        BulEntry e;
        e.binding_id = static_cast<uint16_t>(f.integer("binding-id", 0, 0xffff));
        const std::string& state = string_value(f["state"], f.field("state"));
        bool known = false;
        for (BulState candidate : bul_states) {
            if (state != to_string(candidate)) continue;
            e.state = candidate;
            known = true;
        }
        if (!known)
            fail(f.field("state"), quote(f.field("state")) + " " + describe(f["state"]) +
                                       " is not a state (idle, waiting-for-ack, waiting-for-ack-refresh, "
                                       "bound, waiting-for-deregistration-ack)");
        e.care_of_address = f.address("care-of-address");
        e.installed_care_of_address = f.optional_address("installed-care-of-address");
        if (auto r = f.optional_integer("releases-binding-id", 0, 0xffff))
            e.releases_binding_id = static_cast<uint16_t>(*r);
        e.granted_lifetime = std::chrono::seconds{f.integer("granted-lifetime", 0, max_lifetime_s)};
        e.expires_at = read_expiry(f, "expires-in-ms", s.taken_at);
        e.refresh_at = read_expiry(f, "refresh-in-ms", s.taken_at);
        e.key_management_mobility_granted = f.boolean("key-management-mobility");
        st.entries.push_back(std::move(e));
    }
    return s;
}

template <class Read>
auto decode_with(std::string_view text, Read read) -> decltype(read(std::declval<const json&>())) {
    try {
        json doc;
        try {
            doc = json::parse(text.begin(), text.end());
        } catch (const json::exception& e) {
            return SnapshotError{"", std::string("not valid JSON (") + e.what() + ")"};
        }
        return read(doc);
    } catch (const Failure& f) {
        return f.error;
    } catch (const json::exception& e) {
        // Not expected (every access checks the type first); still a value.
        return SnapshotError{"", std::string("unreadable snapshot (") + e.what() + ")"};
    }
}

// ---- Consistency (on values) ----

std::optional<SnapshotError> error(std::string field, std::string message) {
    return SnapshotError{std::move(field), std::move(message)};
}

std::optional<SnapshotError> check_time(const SnapshotTime& t) {
    const int64_t m = t.monotonic.time_since_epoch().count();
    if (m < -snapshot_max_integer || m > snapshot_max_integer)
        return error("taken-at.monotonic-ms", "'taken-at.monotonic-ms' " + std::to_string(m) + " out of range " +
                                                  range(-snapshot_max_integer, snapshot_max_integer));
    if (t.wall_clock_ms < 0 || t.wall_clock_ms > snapshot_max_integer)
        return error("taken-at.wall-clock-ms", "'taken-at.wall-clock-ms' " + std::to_string(t.wall_clock_ms) +
                                                   " out of range " + range(0, snapshot_max_integer));
    return std::nullopt;
}

std::optional<SnapshotError> check_expiry(TimePoint t, const SnapshotTime& taken, const std::string& field) {
    int64_t remaining = 0;
    if (__builtin_sub_overflow(t.time_since_epoch().count(), taken.monotonic.time_since_epoch().count(),
                               &remaining))
        return error(field, quote(field) + " out of range " + range(min_remaining_ms, max_remaining_ms));
    if (remaining < min_remaining_ms || remaining > max_remaining_ms)
        return error(field, quote(field) + " " + std::to_string(remaining) + " out of range " +
                                range(min_remaining_ms, max_remaining_ms));
    return std::nullopt;
}

bool unusable_address(const Ipv6Address& a) { return a.is_unspecified() || a.is_multicast(); }

std::optional<SnapshotError> check_address(const Ipv6Address& a, const std::string& field) {
    if (unusable_address(a))
        return error(field, quote(field) + " \"" + a.to_string() + "\" is not a unicast address");
    return std::nullopt;
}

int64_t remaining_ms(TimePoint t, const SnapshotTime& taken) { return (t - taken.monotonic).count(); }

// ---- Writing ----

ordered_json header(std::string_view kind, const SnapshotTime& t) {
    ordered_json j;
    j["format"] = snapshot_format;
    j["version"] = snapshot_version;
    j["kind"] = kind;
    j["taken-at"] = ordered_json{{"monotonic-ms", t.monotonic.time_since_epoch().count()},
                                 {"wall-clock-ms", t.wall_clock_ms}};
    return j;
}

}  // namespace

TimePoint rebase(TimePoint t, const SnapshotTime& taken, const RestoreClock& clock) {
    const Duration remaining = t - taken.monotonic;
    // Downtime on the wall clock; a clock set back counts as none, so no
    // binding outlives what it was granted by more than that step.
    const Duration down{std::max<int64_t>(0, clock.wall_clock_ms - taken.wall_clock_ms)};
    return clock.now + remaining - down;
}

// ---- Binding cache ----

BindingCacheSnapshot take_snapshot(const BindingCache& cache, const SnapshotTime& now) {
    BindingCacheSnapshot s;
    s.taken_at = now;
    s.entries.reserve(cache.size());
    for (const auto& [hoa, entry] : cache.entries()) s.entries.emplace_back(hoa, entry);
    std::sort(s.entries.begin(), s.entries.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    return s;
}

std::string encode(const BindingCacheSnapshot& s) {
    ordered_json doc = header(kind_binding_cache, s.taken_at);
    ordered_json entries = ordered_json::array();
    for (const auto& [hoa, e] : s.entries) {
        ordered_json prefixes = ordered_json::array();
        for (const auto& p : e.mobile_network_prefixes) prefixes.push_back(p.to_string());
        ordered_json bindings = ordered_json::array();
        for (const auto& b : e.bindings)
            bindings.push_back(ordered_json{{"binding-id", b.binding_id},
                                            {"care-of-address", b.care_of_address.to_string()},
                                            {"last-sequence", b.last_sequence},
                                            {"expires-in-ms", remaining_ms(b.expires_at, s.taken_at)}});
        entries.push_back(ordered_json{{"home-address", hoa.to_string()},
                                       {"home-agent-address", e.home_agent_address.to_string()},
                                       {"mobile-router", e.mobile_router},
                                       {"key-management-mobility", e.key_management_mobility},
                                       {"multiple-care-of-addresses", e.multiple_care_of_addresses},
                                       {"granted-lifetime", e.granted_lifetime_seconds},
                                       {"mobile-network-prefixes", std::move(prefixes)},
                                       {"bindings", std::move(bindings)}});
    }
    doc["entries"] = std::move(entries);
    return doc.dump(2) + "\n";
}

std::optional<SnapshotError> check_snapshot(const BindingCacheSnapshot& s) {
    if (auto e = check_time(s.taken_at)) return e;
    std::set<Ipv6Address> home_addresses;
    std::set<net::Prefix> owned;
    for (size_t i = 0; i < s.entries.size(); ++i) {
        const auto& [hoa, e] = s.entries[i];
        const std::string path = at("entries", i);
        if (auto err = check_address(hoa, at(path, "home-address"))) return err;
        if (!home_addresses.insert(hoa).second)
            return error(at(path, "home-address"), quote(at(path, "home-address")) + " \"" + hoa.to_string() +
                                                       "\" appears twice (one entry per home address)");
        if (auto err = check_address(e.home_agent_address, at(path, "home-agent-address"))) return err;
        if (e.granted_lifetime_seconds > max_lifetime_s)
            return error(at(path, "granted-lifetime"),
                         quote(at(path, "granted-lifetime")) + " " + std::to_string(e.granted_lifetime_seconds) +
                             " out of range " + range(0, max_lifetime_s));
        if (e.bindings.empty())
            return error(at(path, "bindings"), quote(at(path, "bindings")) + " is empty (an entry holds at least one binding)");
        if (!e.multiple_care_of_addresses && (e.bindings.size() != 1 || e.bindings.front().binding_id != 0))
            return error(at(path, "bindings"),
                         quote(at(path, "bindings")) +
                             " must be one binding with binding-id 0 when multiple-care-of-addresses is false");
        std::set<uint16_t> ids;
        for (size_t k = 0; k < e.bindings.size(); ++k) {
            const CareOfBinding& b = e.bindings[k];
            const std::string bpath = at(at(path, "bindings"), k);
            if (!ids.insert(b.binding_id).second)
                return error(at(bpath, "binding-id"), quote(at(bpath, "binding-id")) + " " +
                                                          std::to_string(b.binding_id) + " appears twice in the entry");
            if (auto err = check_address(b.care_of_address, at(bpath, "care-of-address"))) return err;
            if (auto err = check_expiry(b.expires_at, s.taken_at, at(bpath, "expires-in-ms"))) return err;
        }
        if (!e.mobile_router && !e.mobile_network_prefixes.empty())
            return error(at(path, "mobile-network-prefixes"),
                         quote(at(path, "mobile-network-prefixes")) + " must be empty when mobile-router is false");
        for (size_t k = 0; k < e.mobile_network_prefixes.size(); ++k) {
            const net::Prefix& p = e.mobile_network_prefixes[k];
            const std::string ppath = at(at(path, "mobile-network-prefixes"), k);
            if (!net::is_v6(p.address) || p.length == 0 || p.length > 128)
                return error(ppath, quote(ppath) + " \"" + p.to_string() + "\" is not an IPv6 prefix of length 1..128");
            if (!(p.normalized() == p))
                return error(ppath, quote(ppath) + " \"" + p.to_string() + "\" has bits set past its length");
            // RFC 3963 sec. 6: one prefix, one mobile router.
            if (!owned.insert(p).second)
                return error(ppath, quote(ppath) + " \"" + p.to_string() + "\" appears twice (one owner per prefix)");
        }
    }
    return std::nullopt;
}

SnapshotResult<BindingCacheSnapshot> decode_binding_cache_snapshot(std::string_view text) {
    return decode_with(text, [](const json& doc) -> SnapshotResult<BindingCacheSnapshot> {
        if (read_header(doc) != kind_binding_cache)
            fail("kind", "'kind' " + describe(doc["kind"]) + " is not \"binding-cache\"");
        BindingCacheSnapshot s = read_binding_cache(doc);
        if (auto e = check_snapshot(s)) return *e;
        return s;
    });
}

SnapshotResult<Actions> restore(BindingCache& cache, const BindingCacheSnapshot& s, const RestoreClock& clock) {
    if (auto e = check_snapshot(s)) return *e;
    std::vector<std::pair<Ipv6Address, BindingCacheEntry>> entries = s.entries;
    for (auto& [hoa, e] : entries)
        for (auto& b : e.bindings) b.expires_at = rebase(b.expires_at, s.taken_at, clock);
    return cache.restore(std::move(entries));
}

// ---- Binding update list ----

BindingUpdateListSnapshot take_snapshot(const BindingUpdateList& list, const SnapshotTime& now) {
    BindingUpdateListSnapshot s;
    s.taken_at = now;
    s.home_address = list.config().home_address;
    s.home_agent_address = list.config().home_agent_address;
    s.state = list.state();
    return s;
}

std::string encode(const BindingUpdateListSnapshot& s) {
    const BindingUpdateListState& st = s.state;
    ordered_json doc = header(kind_binding_update_list, s.taken_at);
    doc["home-address"] = s.home_address.to_string();
    doc["home-agent-address"] = s.home_agent_address.to_string();
    doc["sequence-number"] = st.sequence_number;
    doc["multiple-care-of-addresses"] = st.multiple_care_of_addresses;
    doc["bulk-registration"] = st.bulk_registration;
    doc["prefix-mode"] = net::to_string(st.prefix_mode);
    doc["home-agent-unusable"] = st.home_agent_unusable;
    if (st.final_status) doc["final-status"] = static_cast<unsigned>(*st.final_status);
    doc["mcoa-bootstrapped"] = st.mcoa_bootstrapped;
    doc["returning-home"] = st.returning_home;
    ordered_json entries = ordered_json::array();
    for (const auto& e : st.entries) {
        ordered_json j;
        j["binding-id"] = e.binding_id;
        j["state"] = to_string(e.state);
        j["care-of-address"] = e.care_of_address.to_string();
        if (e.installed_care_of_address) j["installed-care-of-address"] = e.installed_care_of_address->to_string();
        if (e.releases_binding_id) j["releases-binding-id"] = *e.releases_binding_id;
        j["granted-lifetime"] = e.granted_lifetime.count();
        j["expires-in-ms"] = remaining_ms(e.expires_at, s.taken_at);
        j["refresh-in-ms"] = remaining_ms(e.refresh_at, s.taken_at);
        j["key-management-mobility"] = e.key_management_mobility_granted;
        entries.push_back(std::move(j));
    }
    doc["entries"] = std::move(entries);
    return doc.dump(2) + "\n";
}

std::optional<SnapshotError> check_snapshot(const BindingUpdateListSnapshot& s) {
    const BindingUpdateListState& st = s.state;
    if (auto e = check_time(s.taken_at)) return e;
    if (auto e = check_address(s.home_address, "home-address")) return e;
    if (auto e = check_address(s.home_agent_address, "home-agent-address")) return e;
    if (st.bulk_registration && !st.multiple_care_of_addresses)
        return error("bulk-registration", "'bulk-registration' is true but 'multiple-care-of-addresses' is false "
                                          "(bulk registration is part of RFC 5648)");
    if (st.final_status && !st.home_agent_unusable)
        return error("final-status", "'final-status' is set but 'home-agent-unusable' is false");
    if (st.home_agent_unusable && !st.entries.empty())
        return error("entries", "'entries' must be empty when 'home-agent-unusable' is true");
    bool deregistering = false;
    std::set<uint16_t> ids;
    for (size_t i = 0; i < st.entries.size(); ++i) {
        const BulEntry& e = st.entries[i];
        const std::string path = at("entries", i);
        if (!ids.insert(e.binding_id).second)
            return error(at(path, "binding-id"), quote(at(path, "binding-id")) + " " + std::to_string(e.binding_id) +
                                                     " appears twice (one entry per binding identifier)");
        if (!st.multiple_care_of_addresses && e.binding_id != 0)
            return error(at(path, "binding-id"), quote(at(path, "binding-id")) + " " + std::to_string(e.binding_id) +
                                                     " must be 0 when 'multiple-care-of-addresses' is false");
        if (e.transaction || e.kernel_care_of_address)
            return error(path, quote(path) + " holds an outstanding binding update or kernel state of a process "
                                             "(not part of a snapshot)");
        if (e.granted_lifetime.count() < 0 || e.granted_lifetime.count() > max_lifetime_s)
            return error(at(path, "granted-lifetime"), quote(at(path, "granted-lifetime")) + " " +
                                                           std::to_string(e.granted_lifetime.count()) +
                                                           " out of range " + range(0, max_lifetime_s));
        if (auto err = check_expiry(e.expires_at, s.taken_at, at(path, "expires-in-ms"))) return err;
        if (auto err = check_expiry(e.refresh_at, s.taken_at, at(path, "refresh-in-ms"))) return err;
        deregistering = deregistering || e.state == BulState::waiting_for_deregistration_ack;
    }
    if (st.returning_home && !deregistering)
        return error("returning-home",
                     "'returning-home' is true but no entry is in state waiting-for-deregistration-ack");
    return std::nullopt;
}

SnapshotResult<BindingUpdateListSnapshot> decode_binding_update_list_snapshot(std::string_view text) {
    return decode_with(text, [](const json& doc) -> SnapshotResult<BindingUpdateListSnapshot> {
        if (read_header(doc) != kind_binding_update_list)
            fail("kind", "'kind' " + describe(doc["kind"]) + " is not \"binding-update-list\"");
        BindingUpdateListSnapshot s = read_binding_update_list(doc);
        if (auto e = check_snapshot(s)) return *e;
        return s;
    });
}

SnapshotResult<Actions> restore(BindingUpdateList& list, const BindingUpdateListSnapshot& s,
                                const RestoreClock& clock) {
    if (auto e = check_snapshot(s)) return *e;
    const BindingUpdateListConfig& c = list.config();
    if (s.home_address != c.home_address)
        return SnapshotError{"home-address", "'home-address' \"" + s.home_address.to_string() +
                                                 "\" is not the configured home address " +
                                                 c.home_address.to_string()};
    if (s.home_agent_address != c.home_agent_address)
        return SnapshotError{"home-agent-address", "'home-agent-address' \"" + s.home_agent_address.to_string() +
                                                       "\" is not the configured home agent " +
                                                       c.home_agent_address.to_string()};
    if (s.state.multiple_care_of_addresses && !c.multiple_care_of_addresses)
        return SnapshotError{"multiple-care-of-addresses",
                             "'multiple-care-of-addresses' is true in the snapshot but off in the configuration"};
    BindingUpdateListState state = s.state;
    state.bulk_registration = state.bulk_registration && c.multiple_care_of_addresses && c.bulk_registration;
    if (c.prefix_mode == PrefixMode::explicit_mode) state.prefix_mode = PrefixMode::explicit_mode;
    for (auto& e : state.entries) {
        e.expires_at = rebase(e.expires_at, s.taken_at, clock);
        e.refresh_at = rebase(e.refresh_at, s.taken_at, clock);
    }
    return list.restore(std::move(state), clock.now);
}

// ---- Either kind ----

SnapshotResult<AnySnapshot> decode_snapshot(std::string_view text) {
    return decode_with(text, [](const json& doc) -> SnapshotResult<AnySnapshot> {
        if (read_header(doc) == kind_binding_cache) {
            BindingCacheSnapshot s = read_binding_cache(doc);
            if (auto e = check_snapshot(s)) return *e;
            return AnySnapshot{std::move(s)};
        }
        BindingUpdateListSnapshot s = read_binding_update_list(doc);
        if (auto e = check_snapshot(s)) return *e;
        return AnySnapshot{std::move(s)};
    });
}

}  // namespace nemokey::mobility::binding
