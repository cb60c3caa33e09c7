#include "conf/parser.hpp"

#include "conf/defaults.hpp"

#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <system_error>

namespace nemokey::conf {

namespace fs = std::filesystem;
using net::Ipv4Address;
using net::Ipv6Address;
using net::Prefix;

std::string SourcePosition::to_string() const {
    if (line == 0) return file;
    return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string ConfigError::to_string() const { return where.to_string() + ": " + message; }

std::string_view to_string(IdentityType t) {
    switch (t) {
        case IdentityType::fqdn: return "fqdn";
        case IdentityType::rfc822_addr: return "rfc822";
        case IdentityType::der_asn1_dn: return "dn";
    }
    return "?";
}
std::string_view to_string(KeyingMethod m) { return m == KeyingMethod::ikev2 ? "ikev2" : "static"; }

std::vector<const Binding*> Model::bindings() const {
    std::vector<const Binding*> out;
    if (home_agent)
        for (const auto& b : home_agent->bindings) out.push_back(&b);
    if (self) out.push_back(&*self);
    return out;
}

namespace {

// Quotes configuration text for an error message; control bytes and
// non-ASCII are escaped, long values cut, so a message stays one line.
std::string quote_text(std::string_view s) {
    std::string out = "'";
    size_t n = 0;
    for (unsigned char c : s) {
        if (++n > 80) {
            out += "...";
            break;
        }
        if (c == '\'' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            static const char* hex = "0123456789abcdef";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out + "'";
}

// toml++ descriptions may quote the offending character raw (a newline,
// a control byte): escape them so an error stays one line.
std::string one_line(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if (c == '\n') {
            out += "\\n";
        } else if (c < 0x20 || c == 0x7f) {
            static const char* hex = "0123456789abcdef";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

std::string quote(const toml::node& n) {
    if (auto s = n.as_string()) return quote_text(s->get());
    if (auto i = n.as_integer()) return std::to_string(i->get());
    if (auto b = n.as_boolean()) return b->get() ? "true" : "false";
    if (auto f = n.as_floating_point()) {
        std::ostringstream o;
        o << f->get();
        return o.str();
    }
    if (n.is_array()) return "[...]";
    if (n.is_table()) return "{...}";
    return "a date/time";
}

std::string_view type_name(const toml::node& n) {
    switch (n.type()) {
        case toml::node_type::string: return "a string";
        case toml::node_type::integer: return "an integer";
        case toml::node_type::floating_point: return "a float";
        case toml::node_type::boolean: return "a boolean";
        case toml::node_type::array: return "an array";
        case toml::node_type::table: return "a table";
        default: return "a date/time";
    }
}

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// A domain name: labels of letters, digits and '-', 1..63 octets each,
// 253 in all (RFC 1035 sec. 2.3.4, RFC 1123 sec. 2.1).
bool is_domain_name(std::string_view s) {
    if (s.empty() || s.size() > 253) return false;
    size_t label = 0;
    char prev = '.';
    for (char c : s) {
        if (c == '.') {
            if (label == 0 || prev == '-') return false;
            label = 0;
        } else if (std::isalnum(static_cast<unsigned char>(c)) || (c == '-' && label > 0)) {
            if (++label > 63) return false;
        } else {
            return false;
        }
        prev = c;
    }
    return label > 0 && prev != '-';
}

// The identity a certificate binds: "CN=..,O=.." is a distinguished name,
// "user@domain" an RFC 822 subjectAltName, anything else an FQDN.
std::optional<Identity> parse_identity(std::string_view s) {
    if (s.find('=') != std::string_view::npos) {
        if (s.front() == '=' || s.size() > 1024) return std::nullopt;
        for (unsigned char c : s)
            if (c < 0x20 || c == 0x7f) return std::nullopt;
        return Identity{IdentityType::der_asn1_dn, std::string(s)};
    }
    if (auto at = s.find('@'); at != std::string_view::npos) {
        auto local = s.substr(0, at);
        auto domain = s.substr(at + 1);
        if (local.empty() || local.size() > 64 || !is_domain_name(domain)) return std::nullopt;
        for (unsigned char c : local)
            if (c <= 0x20 || c >= 0x7f || c == '@') return std::nullopt;
        return Identity{IdentityType::rfc822_addr, std::string(local) + "@" + lower(std::string(domain))};
    }
    if (!is_domain_name(s)) return std::nullopt;
    return Identity{IdentityType::fqdn, lower(std::string(s))};
}

class Reader {
public:
    Reader(std::string file, fs::path base_dir, ConfigErrors& errors)
        : file_(std::move(file)), base_dir_(std::move(base_dir)), errors_(errors) {}

    const std::string& file() const { return file_; }
    const fs::path& base_dir() const { return base_dir_; }

    SourcePosition pos(const toml::source_region& r) const { return {file_, r.begin.line, r.begin.column}; }
    SourcePosition pos(const toml::node& n) const { return pos(n.source()); }

    void error(const SourcePosition& where, std::string message) {
        errors_.push_back({where, std::move(message)});
    }
    void error(const toml::node& n, std::string message) { error(pos(n), std::move(message)); }

    // Unknown keys are errors, so a typo never passes silently.
    void check_keys(const toml::table& t, std::string_view scope,
                    std::initializer_list<std::string_view> allowed) {
        for (auto&& [k, v] : t) {
            if (std::find(allowed.begin(), allowed.end(), k.str()) != allowed.end()) continue;
            std::string list;
            for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
            error(pos(k.source()), "unknown key " + quote_text(k.str()) + " in " + std::string(scope) +
                                       " (expected one of: " + list + ")");
        }
    }

    void missing(const toml::table& t, std::string_view key, std::string_view scope,
                 std::string_view expected) {
        error(pos(t), "missing key '" + std::string(key) + "' in " + std::string(scope) + " (expected " +
                          std::string(expected) + ")");
    }

    const toml::table* table(const toml::table& t, std::string_view key) {
        const toml::node* n = t.get(key);
        if (!n) return nullptr;
        if (auto tab = n->as_table()) return tab;
        error(*n, "'" + std::string(key) + "' " + quote(*n) + " is " + std::string(type_name(*n)) +
                      " (expected a table [" + std::string(key) + "])");
        return nullptr;
    }

    std::optional<std::string> string(const toml::node& n, std::string_view key, std::string_view expected) {
        if (auto s = n.as_string()) return s->get();
        wrong_type(n, key, expected);
        return std::nullopt;
    }

    void wrong_type(const toml::node& n, std::string_view key, std::string_view expected) {
        error(n, "'" + std::string(key) + "' " + quote(n) + " is " + std::string(type_name(n)) + " (expected " +
                     std::string(expected) + ")");
    }

    std::optional<bool> boolean(const toml::node& n, std::string_view key) {
        if (auto b = n.as_boolean()) return b->get();
        wrong_type(n, key, "true or false");
        return std::nullopt;
    }

    std::optional<int64_t> integer(const toml::node& n, std::string_view key, int64_t min, int64_t max,
                                   std::string_view unit = "") {
        std::string range = std::to_string(min) + ".." + std::to_string(max) +
                            (unit.empty() ? "" : " " + std::string(unit));
        auto i = n.as_integer();
        if (!i) {
            wrong_type(n, key, "an integer " + range);
            return std::nullopt;
        }
        if (i->get() < min || i->get() > max) {
            error(n, "'" + std::string(key) + "' " + std::to_string(i->get()) + " out of range (expected " + range +
                         ")");
            return std::nullopt;
        }
        return i->get();
    }

    template <class E>
    std::optional<E> choice(const toml::node& n, std::string_view key,
                            std::initializer_list<std::pair<std::string_view, E>> options) {
        std::string list;
        for (auto& o : options) list += (list.empty() ? "" : " or ") + std::string("'") + std::string(o.first) + "'";
        auto s = string(n, key, list);
        if (!s) return std::nullopt;
        for (auto& o : options)
            if (*s == o.first) return o.second;
        error(n, "'" + std::string(key) + "' " + quote(n) + " is not a known value (expected " + list + ")");
        return std::nullopt;
    }

    // A unicast address a node can own (not ::, link-local or multicast).
    std::optional<Located<Ipv6Address>> ipv6(const toml::node& n, std::string_view key) {
        auto s = string(n, key, "an IPv6 address string");
        if (!s) return std::nullopt;
        auto a = Ipv6Address::parse(*s);
        if (!a) {
            error(n, "'" + std::string(key) + "' " + quote(n) + " is not an IPv6 address (expected e.g. 2001:db8::1)");
            return std::nullopt;
        }
        if (a->is_unspecified() || a->is_link_local() || a->is_multicast()) {
            error(n, "'" + std::string(key) + "' " + quote(n) +
                         " is not a global unicast address (expected no ::, fe80::/10 or ff00::/8 address)");
            return std::nullopt;
        }
        return Located<Ipv6Address>{*a, pos(n)};
    }

    std::optional<Located<Ipv4Address>> ipv4(const toml::node& n, std::string_view key) {
        auto s = string(n, key, "an IPv4 address string");
        if (!s) return std::nullopt;
        auto a = Ipv4Address::parse(*s);
        if (!a) {
            error(n, "'" + std::string(key) + "' " + quote(n) + " is not an IPv4 address (expected e.g. 192.0.2.1)");
            return std::nullopt;
        }
        if (a->bytes[0] == 0 || a->bytes[0] >= 224) {
            error(n, "'" + std::string(key) + "' " + quote(n) +
                         " is not a unicast address (expected no 0.0.0.0/8, multicast or reserved address)");
            return std::nullopt;
        }
        return Located<Ipv4Address>{*a, pos(n)};
    }

    std::optional<Located<Prefix>> prefix(const toml::node& n, std::string_view key, bool v6) {
        std::string_view family = v6 ? "IPv6" : "IPv4";
        std::string example = v6 ? "2001:db8:1:100::/64" : "198.51.100.0/24";
        auto s = string(n, key, "an " + std::string(family) + " prefix string");
        if (!s) return std::nullopt;
        auto p = s->find('/') == std::string::npos ? std::nullopt : Prefix::parse(*s);
        if (!p || net::is_v6(p->address) != v6) {
            error(n, "'" + std::string(key) + "' " + quote(n) + " is not an " + std::string(family) +
                         " prefix (expected e.g. " + example + ")");
            return std::nullopt;
        }
        if (p->length == 0) {
            error(n, "'" + std::string(key) + "' " + quote(n) + " is a default route (expected a prefix longer than /0)");
            return std::nullopt;
        }
        if (!(p->normalized() == *p)) {
            error(n, "'" + std::string(key) + "' " + quote(n) + " has bits set past /" + std::to_string(p->length) +
                         " (expected " + p->normalized().to_string() + ")");
            return std::nullopt;
        }
        return Located<Prefix>{*p, pos(n)};
    }

    template <class T, class F>
    std::vector<T> array(const toml::node& n, std::string_view key, std::string_view expected, F&& element) {
        std::vector<T> out;
        auto arr = n.as_array();
        if (!arr) {
            wrong_type(n, key, std::string("an array of ") + std::string(expected));
            return out;
        }
        for (const toml::node& e : *arr)
            if (auto v = element(e)) out.push_back(std::move(*v));
        return out;
    }

    std::optional<Located<Identity>> identity(const toml::node& n, std::string_view key) {
        auto s = string(n, key, "an identity string");
        if (!s) return std::nullopt;
        auto id = parse_identity(*s);
        if (!id) {
            error(n, "'" + std::string(key) + "' " + quote(n) +
                         " is not an FQDN, RFC 822 address or distinguished name (expected e.g. mr1.example.net, "
                         "mr1@example.net or CN=mr1,O=Example)");
            return std::nullopt;
        }
        return Located<Identity>{*id, pos(n)};
    }

    // A file the daemons will read later: it must be there and readable now,
    // so a typo is found by check-config rather than at the first handover.
    std::optional<FileRef> file_ref(const toml::node& n, std::string_view key) {
        auto s = string(n, key, "a file name");
        if (!s) return std::nullopt;
        if (s->empty() || s->find('\0') != std::string::npos) {
            error(n, "'" + std::string(key) + "' " + quote(n) + " is not a file name (expected a path)");
            return std::nullopt;
        }
        FileRef f{*s, base_dir_ / fs::path(*s)};
        std::error_code ec;
        auto st = fs::status(f.resolved, ec);
        std::string why;
        if (ec)
            why = ec.message();
        else if (!fs::is_regular_file(st))
            why = "not a regular file";
        else if (::access(f.resolved.c_str(), R_OK) != 0)
            why = std::error_code(errno, std::generic_category()).message();
        if (!why.empty()) {
            error(n, "'" + std::string(key) + "' " + quote(n) + " cannot be read (" + why +
                         "; expected a readable file, relative to the configuration file)");
            return std::nullopt;
        }
        return f;
    }

private:
    std::string file_;
    fs::path base_dir_;
    ConfigErrors& errors_;
};

void parse_timers(Reader& r, const toml::table& root, Timers& timers) {
    timers = defaults::timers;
    const toml::table* t = r.table(root, "timers");
    if (!t) return;
    r.check_keys(*t, "[timers]",
                 {"binding-lifetime", "retransmission-initial-ms", "retransmission-max-ms", "binding-refresh-request"});
    // Home agent only (a mobile node sends no BRR): percent of the granted
    // lifetime after which a binding gets a Binding Refresh Request, 0 = none
    // (RFC 6275 sec. 9.5.5).
    if (auto n = t->get("binding-refresh-request"))
        if (auto v = r.integer(*n, "binding-refresh-request", 0, defaults::binding_refresh_request_max_percent, "%"))
            timers.binding_refresh_request_percent = static_cast<uint32_t>(*v);
    if (auto n = t->get("binding-lifetime")) {
        if (auto v = r.integer(*n, "binding-lifetime", defaults::binding_lifetime_min_s,
                               defaults::binding_lifetime_max_s, "s")) {
            // The Lifetime field counts units of 4 seconds (RFC 6275 sec. 6.1.7).
            if (*v % 4 != 0)
                r.error(*n, "'binding-lifetime' " + std::to_string(*v) +
                                " is not a multiple of 4 s (expected e.g. " + std::to_string(*v / 4 * 4 + 4) +
                                "; the lifetime is sent in 4 s units, RFC 6275 sec. 6.1.7)");
            else
                timers.binding_lifetime_s = static_cast<uint32_t>(*v);
        }
    }
    const toml::node* max_node = t->get("retransmission-max-ms");
    if (auto n = t->get("retransmission-initial-ms"))
        if (auto v = r.integer(*n, "retransmission-initial-ms", defaults::retransmission_min_ms,
                               defaults::retransmission_max_limit_ms, "ms"))
            timers.retransmission_initial_ms = static_cast<uint32_t>(*v);
    if (max_node)
        if (auto v = r.integer(*max_node, "retransmission-max-ms", defaults::retransmission_min_ms,
                               defaults::retransmission_max_limit_ms, "ms"))
            timers.retransmission_max_ms = static_cast<uint32_t>(*v);
    if (timers.retransmission_max_ms < timers.retransmission_initial_ms) {
        const toml::node* at = max_node ? max_node : t->get("retransmission-initial-ms");
        r.error(at ? r.pos(*at) : r.pos(*t),
                "'retransmission-max-ms' " + std::to_string(timers.retransmission_max_ms) +
                    " is below 'retransmission-initial-ms' " + std::to_string(timers.retransmission_initial_ms) +
                    " (expected max >= initial; the timeout doubles up to the maximum, RFC 6275 sec. 11.8)");
    }
}

void parse_interfaces(Reader& r, const toml::table& root, Role role, std::vector<Interface>& out) {
    const toml::node* n = root.get("interface");
    if (!n) return;
    auto arr = n->as_array();
    if (!arr || !arr->is_array_of_tables()) {
        r.error(*n, "'interface' " + quote(*n) + " is " + std::string(type_name(*n)) +
                        " (expected [[interface]] tables)");
        return;
    }
    std::map<std::string, SourcePosition> names;
    std::map<uint16_t, SourcePosition> bids;
    for (const toml::node& e : *arr) {
        const toml::table& t = *e.as_table();
        r.check_keys(t, "[[interface]]", {"name", "preference", "binding-id"});
        Interface itf;
        itf.where = r.pos(t);
        itf.preference = defaults::interface_preference;
        if (auto nn = t.get("name")) {
            if (auto s = r.string(*nn, "name", "an interface name")) {
                // IFNAMSIZ is 16 with the terminating NUL (linux/if.h).
                bool ok = !s->empty() && s->size() < 16 && *s != "." && *s != "..";
                for (char c : *s)
                    if (c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c)) ||
                        !std::isprint(static_cast<unsigned char>(c)))
                        ok = false;
                if (!ok)
                    r.error(*nn, "'name' " + quote(*nn) +
                                     " is not an interface name (expected 1..15 characters, no '/', ':' or space)");
                else if (auto [it, fresh] = names.emplace(*s, r.pos(*nn)); !fresh)
                    r.error(*nn, "'name' " + quote(*nn) + " is already used at " + it->second.to_string() +
                                     " (expected each interface once)");
                else
                    itf.name = *s;
            }
        } else {
            r.missing(t, "name", "[[interface]]", "an interface name such as \"eth0\"");
        }
        if (auto pn = t.get("preference"))
            if (auto v = r.integer(*pn, "preference", 0, 255)) itf.preference = static_cast<uint8_t>(*v);
        if (auto bn = t.get("binding-id")) {
            if (role == Role::home_agent) {
                r.error(*bn, "'binding-id' " + quote(*bn) +
                                 " on a home agent (expected binding-id only on a mobile node or router, RFC 5648)");
            } else if (auto v = r.integer(*bn, "binding-id", 1, 65535)) {
                // One Binding Identifier per care-of address (RFC 5648 sec. 5).
                auto bid = static_cast<uint16_t>(*v);
                if (auto [it, fresh] = bids.emplace(bid, r.pos(*bn)); !fresh)
                    r.error(*bn, "'binding-id' " + std::to_string(bid) + " is already used at " +
                                     it->second.to_string() + " (expected a distinct binding-id per interface)");
                else
                    itf.binding_id = bid;
            }
        }
        out.push_back(std::move(itf));
    }
}

void parse_mobile_network(Reader& r, const toml::table& parent, Role role, MobileNetwork& mn) {
    mn.mode = defaults::prefix_mode;
    const toml::table* t = r.table(parent, "mobile-network");
    if (!t) {
        if (role == Role::mobile_router && !parent.get("mobile-network"))
            r.missing(parent, "mobile-network", "the top level", "a [mobile-network] table for a mobile router, RFC 3963");
        return;
    }
    if (role != Role::mobile_router) {
        r.error(r.pos(*t), "[mobile-network] given for role '" + std::string(to_string(role)) +
                               "' (expected it only for role 'mobile-router', RFC 3963)");
        return;
    }
    r.check_keys(*t, "[mobile-network]", {"mode", "prefixes", "ipv4-prefixes"});
    if (auto n = t->get("mode"))
        if (auto m = r.choice<PrefixMode>(*n, "mode", {{"explicit", PrefixMode::explicit_mode},
                                                         {"implicit", PrefixMode::implicit_mode}}))
            mn.mode = *m;
    if (auto n = t->get("prefixes"))
        mn.prefixes = r.array<Located<Prefix>>(*n, "prefixes", "IPv6 prefixes",
                                               [&](const toml::node& e) { return r.prefix(e, "prefixes", true); });
    if (auto n = t->get("ipv4-prefixes"))
        mn.ipv4_prefixes = r.array<Located<Prefix>>(
            *n, "ipv4-prefixes", "IPv4 prefixes", [&](const toml::node& e) { return r.prefix(e, "ipv4-prefixes", false); });
    // Explicit mode sends every prefix in a Mobile Network Prefix option
    // (RFC 3963 sec. 5.2), so it needs at least one.
    if (mn.mode == PrefixMode::explicit_mode && mn.prefixes.empty() && mn.ipv4_prefixes.empty() &&
        !t->get("prefixes") && !t->get("ipv4-prefixes"))
        r.missing(*t, "prefixes", "[mobile-network]", "at least one prefix in explicit mode, RFC 3963 sec. 5.2");
    // The prefixes of one router must not overlap one another.
    for (auto* list : {&mn.prefixes, &mn.ipv4_prefixes})
        for (size_t i = 0; i < list->size(); ++i)
            for (size_t j = 0; j < i; ++j)
                if ((*list)[i].value.overlaps((*list)[j].value))
                    r.error((*list)[i].where, "prefix '" + (*list)[i].value.to_string() + "' overlaps '" +
                                                  (*list)[j].value.to_string() + "' at " +
                                                  (*list)[j].where.to_string() + " (expected disjoint prefixes)");
}

enum class KeyingScope { mobile_main, home_agent_main, node_file };

void parse_static(Reader& r, const toml::table& t, StaticKeys& sk) {
    r.check_keys(t, "[keying.static]",
                 {"encryption", "integrity", "spi-to-home-agent", "spi-from-home-agent", "key-file"});
    // Algorithms the kernel offers for ESP (RFC 8221 sec. 5, 6); AEAD
    // ciphers take integrity "none".
    static const std::initializer_list<std::pair<std::string_view, std::string_view>> encryptions{
        {"aes128-cbc", "aes128-cbc"}, {"aes256-cbc", "aes256-cbc"},
        {"aes128-gcm16", "aes128-gcm16"}, {"aes256-gcm16", "aes256-gcm16"}};
    static const std::initializer_list<std::pair<std::string_view, std::string_view>> integrities{
        {"hmac-sha256-128", "hmac-sha256-128"}, {"hmac-sha512-256", "hmac-sha512-256"}, {"none", "none"}};
    if (auto n = t.get("encryption")) {
        if (auto v = r.choice<std::string_view>(*n, "encryption", encryptions)) sk.encryption = *v;
    } else {
        r.missing(t, "encryption", "[keying.static]", "'aes128-cbc', 'aes256-cbc', 'aes128-gcm16' or 'aes256-gcm16'");
    }
    if (auto n = t.get("integrity")) {
        if (auto v = r.choice<std::string_view>(*n, "integrity", integrities)) {
            sk.integrity = *v;
            bool aead = sk.encryption.find("gcm") != std::string::npos;
            if (!sk.encryption.empty() && aead != (sk.integrity == "none"))
                r.error(*n, "'integrity' " + quote(*n) + " does not fit encryption '" + sk.encryption +
                                (aead ? "' (expected 'none' with an AEAD cipher)"
                                      : "' (expected an HMAC with a CBC cipher)"));
        }
    } else {
        r.missing(t, "integrity", "[keying.static]", "'hmac-sha256-128', 'hmac-sha512-256' or 'none'");
    }
    // SPIs 1..255 are reserved (RFC 4303 sec. 2.1).
    for (auto [key, field] : {std::pair{"spi-to-home-agent", &sk.spi_to_home_agent},
                              std::pair{"spi-from-home-agent", &sk.spi_from_home_agent}}) {
        if (auto n = t.get(key)) {
            if (auto v = r.integer(*n, key, 256, 0xffffffffll)) *field = static_cast<uint32_t>(*v);
        } else {
            r.missing(t, key, "[keying.static]", "an SPI 256..4294967295");
        }
    }
    if (sk.spi_to_home_agent != 0 && sk.spi_to_home_agent == sk.spi_from_home_agent)
        r.error(r.pos(*t.get("spi-from-home-agent")),
                "'spi-from-home-agent' " + std::to_string(sk.spi_from_home_agent) +
                    " equals 'spi-to-home-agent' (expected a distinct SPI per direction)");
    if (auto n = t.get("key-file")) {
        if (auto f = r.file_ref(*n, "key-file")) sk.key_file = *f;
    } else {
        r.missing(t, "key-file", "[keying.static]", "the file holding both keys, hex");
    }
}

void parse_keying(Reader& r, const toml::table& parent, KeyingScope scope, Keying& k, bool& k_flag) {
    k.method = defaults::keying_method;
    k_flag = defaults::k_flag;
    const toml::table* t = r.table(parent, "keying");
    bool wants_credentials = scope != KeyingScope::node_file;
    // The home agent needs credentials only for IKEv2 nodes; that is
    // checked once the node files are read (parse_home_agent).
    bool require_credentials = scope == KeyingScope::mobile_main;
    if (!t) {
        if (require_credentials && !parent.get("keying"))
            r.missing(parent, "keying", "the top level", "a [keying] table with certificate, private-key, ca-certificate");
        return;
    }
    switch (scope) {
        case KeyingScope::mobile_main:
            r.check_keys(*t, "[keying]",
                         {"method", "k-flag", "certificate", "private-key", "ca-certificate", "static"});
            break;
        case KeyingScope::home_agent_main:
            r.check_keys(*t, "[keying]", {"certificate", "private-key", "ca-certificate"});
            break;
        case KeyingScope::node_file: r.check_keys(*t, "[keying]", {"method", "k-flag", "static"}); break;
    }
    if (scope != KeyingScope::home_agent_main) {
        if (auto n = t->get("method"))
            if (auto m = r.choice<KeyingMethod>(*n, "method", {{"ikev2", KeyingMethod::ikev2},
                                                                 {"static", KeyingMethod::static_keys}}))
                k.method = *m;
        if (auto n = t->get("k-flag"))
            if (auto b = r.boolean(*n, "k-flag")) k_flag = *b;
    }
    bool ikev2 = k.method == KeyingMethod::ikev2;
    if (wants_credentials) {
        for (auto [key, field] : {std::pair{"certificate", &k.certificate}, std::pair{"private-key", &k.private_key},
                                  std::pair{"ca-certificate", &k.ca_certificate}}) {
            const toml::node* n = t->get(key);
            if (n && !ikev2) {
                r.error(*n, std::string("'") + key + "' " + quote(*n) +
                                " given with method 'static' (expected no certificates for static keying)");
            } else if (n) {
                *field = r.file_ref(*n, key);
            } else if (ikev2 && require_credentials) {
                r.missing(*t, key, "[keying]", "a PEM file for IKEv2 authentication, RFC 4877 sec. 4.4");
            }
        }
    }
    const toml::node* sn = t->get("static");
    if (k.method == KeyingMethod::static_keys) {
        if (!sn) {
            r.missing(*t, "static", "[keying]", "a [keying.static] table for method 'static'");
        } else if (auto st = r.table(*t, "static")) {
            k.static_keys.emplace();
            parse_static(r, *st, *k.static_keys);
        }
    } else if (sn) {
        r.error(*sn, "[keying.static] given with method 'ikev2' (expected method = \"static\" to use it)");
    }
}

void parse_protection(Reader& r, const toml::table& parent, Protection& p) {
    p = defaults::protection;
    const toml::table* t = r.table(parent, "protection");
    if (!t) return;
    r.check_keys(*t, "[protection]", {"payload-tunnel", "home-test", "prefix-discovery"});
    for (auto [key, field] : {std::pair{"payload-tunnel", &p.payload_tunnel}, std::pair{"home-test", &p.home_test},
                              std::pair{"prefix-discovery", &p.prefix_discovery}})
        if (auto n = t->get(key))
            if (auto b = r.boolean(*n, key)) *field = *b;
}

// Manual keying protects the Binding Update / Acknowledgement exchange
// only: tunnel-mode SAs to a moving care-of address need IKEv2 here.
void check_static_scope(Reader& r, const toml::table& parent, const Binding& b) {
    if (b.keying.method != KeyingMethod::static_keys) return;
    const Protection& p = b.protection;
    if (!(p.payload_tunnel || p.home_test || p.prefix_discovery)) return;
    const toml::node* at = parent.get("protection");
    std::string what = p.payload_tunnel ? "payload-tunnel" : p.home_test ? "home-test" : "prefix-discovery";
    r.error(at ? r.pos(*at) : r.pos(*parent.get("keying")),
            "'" + what + "' true with method 'static' (expected method 'ikev2', or payload-tunnel, home-test and "
            "prefix-discovery false: static keys cover Binding Update/Acknowledgement only)");
}

std::optional<toml::table> load(std::string_view text, const std::string& name, ConfigErrors& errors) {
    try {
        return toml::parse(text, name);
    } catch (const toml::parse_error& e) {
        errors.push_back({{name, e.source().begin.line, e.source().begin.column},
                          one_line(e.description()) + " (expected TOML, https://toml.io/en/v1.0.0)"});
        return std::nullopt;
    }
}

std::optional<Role> parse_role(Reader& r, const toml::table& root, std::string_view scope) {
    const toml::node* n = root.get("role");
    if (!n) {
        r.missing(root, "role", scope, "'home-agent', 'mobile-node' or 'mobile-router'");
        return std::nullopt;
    }
    return r.choice<Role>(*n, "role", {{"home-agent", Role::home_agent},
                                       {"mobile-node", Role::mobile_node},
                                       {"mobile-router", Role::mobile_router}});
}

// Prefixes of a mobile router against its home link and home agent
// (the home link stays at the home agent; a prefix covering it or the HA
// would be tunnelled away from the home link).
void check_prefixes_against_home(Reader& r, const Binding& b, const std::vector<Located<Prefix>>& home_prefixes,
                                 const std::vector<Located<Ipv6Address>>& ha_addresses,
                                 bool ipv4_home_address_given) {
    for (const auto& p : b.mobile_network.prefixes) {
        for (const auto& ha : ha_addresses)
            if (p.value.contains(net::IpAddress{ha.value}))
                r.error(p.where, "prefix '" + p.value.to_string() + "' contains the home agent address " +
                                     ha.value.to_string() + " (expected a prefix apart from the home agent)");
        for (const auto& hp : home_prefixes)
            if (p.value.overlaps(hp.value))
                r.error(p.where, "prefix '" + p.value.to_string() + "' overlaps the home prefix " +
                                     hp.value.to_string() + " (expected a mobile network prefix apart from the home link)");
        if (p.value.contains(net::IpAddress{b.home_address.value}))
            r.error(p.where, "prefix '" + p.value.to_string() + "' contains the home address " +
                                 b.home_address.value.to_string() + " (expected the home address on the home link)");
    }
    // A bad ipv4-home-address has been reported already; do not add a second error for it.
    if (!b.mobile_network.ipv4_prefixes.empty() && !b.ipv4_home_address && !ipv4_home_address_given)
        r.error(b.mobile_network.ipv4_prefixes.front().where,
                "prefix '" + b.mobile_network.ipv4_prefixes.front().value.to_string() +
                    "' without an ipv4-home-address (expected an IPv4 home address with IPv4 prefixes, RFC 5555 sec. 3.1)");
}

// ---- mobile node / mobile router main file -------------------------------

void parse_mobile(Reader& r, const toml::table& root, Model& m) {
    r.check_keys(root, "the top level",
                 {"role", "identity", "interface", "home", "mobile-network", "timers", "keying", "protection"});
    parse_interfaces(r, root, m.role, m.interfaces);
    if (m.interfaces.empty() && !root.get("interface"))
        r.missing(root, "interface", "the top level", "at least one [[interface]] to attach to foreign links");
    parse_timers(r, root, m.timers);

    Binding self;
    self.role = m.role;
    self.source_file = fs::path(r.file()).filename().string();
    HomeConfig home;
    bool have_hoa = false;
    bool have_prefix = false;
    if (auto n = root.get("identity")) {
        if (auto id = r.identity(*n, "identity")) self.identity = *id;
    } else {
        r.missing(root, "identity", "the top level", "the identity of this node's certificate, e.g. mr1.example.net");
    }
    const toml::table* h = r.table(root, "home");
    if (!h && !root.get("home"))
        r.missing(root, "home", "the top level", "a [home] table with home-agent-addresses and home-address");
    if (h) {
        r.check_keys(*h, "[home]",
                     {"home-agent-addresses", "home-agent-identity", "home-prefix", "home-address",
                      "home-agent-ipv4-address", "ipv4-home-address"});
        if (auto n = h->get("home-agent-addresses")) {
            home.home_agent_addresses = r.array<Located<Ipv6Address>>(
                *n, "home-agent-addresses", "IPv6 addresses",
                [&](const toml::node& e) { return r.ipv6(e, "home-agent-addresses"); });
            if (n->is_array() && n->as_array()->empty())
                r.error(*n, "'home-agent-addresses' [] is empty (expected at least one home agent address)");
        } else {
            r.missing(*h, "home-agent-addresses", "[home]", "an array of IPv6 addresses");
        }
        if (auto n = h->get("home-agent-identity")) home.home_agent_identity = r.identity(*n, "home-agent-identity");
        if (auto n = h->get("home-prefix")) {
            if (auto p = r.prefix(*n, "home-prefix", true)) {
                home.home_prefix = *p;
                have_prefix = true;
            }
        } else {
            r.missing(*h, "home-prefix", "[home]", "the home link prefix, e.g. 2001:db8:1::/64");
        }
        if (auto n = h->get("home-address")) {
            if (auto a = r.ipv6(*n, "home-address")) {
                self.home_address = *a;
                have_hoa = true;
            }
        } else {
            r.missing(*h, "home-address", "[home]", "this node's IPv6 home address");
        }
        if (auto n = h->get("home-agent-ipv4-address")) home.home_agent_ipv4_address = r.ipv4(*n, "home-agent-ipv4-address");
        if (auto n = h->get("ipv4-home-address")) {
            self.ipv4_home_address = r.ipv4(*n, "ipv4-home-address");
            // DSMIPv6: the IPv4 home address is requested from an HA that
            // has an IPv4 address (RFC 5555 sec. 3.1).
            if (self.ipv4_home_address && !h->get("home-agent-ipv4-address"))
                r.error(*n, "'ipv4-home-address' " + quote(*n) +
                                " without 'home-agent-ipv4-address' (expected both for dual-stack, RFC 5555 sec. 3.1)");
        }
    }
    parse_mobile_network(r, root, m.role, self.mobile_network);
    parse_keying(r, root, KeyingScope::mobile_main, self.keying, self.k_flag);
    parse_protection(r, root, self.protection);
    check_static_scope(r, root, self);
    if (self.keying.method == KeyingMethod::ikev2 && h && !home.home_agent_identity && !h->get("home-agent-identity"))
        r.missing(*h, "home-agent-identity", "[home]", "the identity in the home agent's certificate for IKEv2");

    if (have_hoa && have_prefix) {
        // RFC 6275 sec. 3.1: a home address is an address on the home link.
        if (!home.home_prefix.value.contains(net::IpAddress{self.home_address.value}))
            r.error(self.home_address.where, "'home-address' '" + self.home_address.value.to_string() +
                                                 "' is not inside home-prefix " + home.home_prefix.value.to_string() +
                                                 " (expected an address of the home prefix)");
        for (const auto& ha : home.home_agent_addresses)
            if (ha.value == self.home_address.value)
                r.error(self.home_address.where, "'home-address' '" + self.home_address.value.to_string() +
                                                     "' is the home agent address (expected an address of its own)");
        check_prefixes_against_home(r, self, {home.home_prefix}, home.home_agent_addresses,
                                    h && h->get("ipv4-home-address"));
    }
    m.home = std::move(home);
    m.self = std::move(self);
}

// ---- home agent ------------------------------------------------------------

std::optional<Binding> parse_node_file(std::string_view text, const std::string& shown_name,
                                       const std::string& relative_name, const fs::path& base_dir,
                                       ConfigErrors& errors) {
    auto root = load(text, shown_name, errors);
    if (!root) return std::nullopt;
    size_t before = errors.size();
    Reader r(shown_name, base_dir, errors);
    r.check_keys(*root, "a node file",
                 {"identity", "role", "home-address", "ipv4-home-address", "mobile-network", "keying", "protection"});
    Binding b;
    b.source_file = relative_name;
    if (auto role = parse_role(r, *root, "a node file")) {
        if (*role == Role::home_agent)
            r.error(*root->get("role"), "'role' 'home-agent' in a node file (expected 'mobile-node' or 'mobile-router')");
        b.role = *role;
    }
    if (auto n = root->get("identity")) {
        if (auto id = r.identity(*n, "identity")) b.identity = *id;
    } else {
        r.missing(*root, "identity", "a node file", "the identity in the node's certificate, e.g. mr1.example.net");
    }
    if (auto n = root->get("home-address")) {
        if (auto a = r.ipv6(*n, "home-address")) b.home_address = *a;
    } else {
        r.missing(*root, "home-address", "a node file", "the node's IPv6 home address");
    }
    if (auto n = root->get("ipv4-home-address")) b.ipv4_home_address = r.ipv4(*n, "ipv4-home-address");
    parse_mobile_network(r, *root, b.role, b.mobile_network);
    parse_keying(r, *root, KeyingScope::node_file, b.keying, b.k_flag);
    parse_protection(r, *root, b.protection);
    check_static_scope(r, *root, b);
    if (errors.size() != before) return std::nullopt;
    return b;
}

void parse_home_agent(Reader& r, const toml::table& root, Model& m) {
    r.check_keys(root, "the top level", {"role", "interface", "home-agent", "timers", "keying", "benchmark"});
    parse_interfaces(r, root, m.role, m.interfaces);
    parse_timers(r, root, m.timers);
    HomeAgentConfig ha;
    const toml::table* t = r.table(root, "home-agent");
    if (!t) {
        if (!root.get("home-agent"))
            r.missing(root, "home-agent", "the top level", "a [home-agent] table with addresses and home-prefixes");
        return;
    }
    r.check_keys(*t, "[home-agent]", {"addresses", "ipv4-address", "home-prefixes", "identity", "nodes-dir"});
    if (auto n = t->get("addresses")) {
        ha.addresses = r.array<Located<Ipv6Address>>(*n, "addresses", "IPv6 addresses",
                                                     [&](const toml::node& e) { return r.ipv6(e, "addresses"); });
        if (n->is_array() && n->as_array()->empty())
            r.error(*n, "'addresses' [] is empty (expected at least one home agent address)");
    } else {
        r.missing(*t, "addresses", "[home-agent]", "an array of IPv6 home agent addresses");
    }
    if (auto n = t->get("ipv4-address")) ha.ipv4_address = r.ipv4(*n, "ipv4-address");
    if (auto n = t->get("home-prefixes")) {
        ha.home_prefixes = r.array<Located<Prefix>>(*n, "home-prefixes", "IPv6 prefixes",
                                                    [&](const toml::node& e) { return r.prefix(e, "home-prefixes", true); });
        if (n->is_array() && n->as_array()->empty())
            r.error(*n, "'home-prefixes' [] is empty (expected at least one served home prefix)");
    } else {
        r.missing(*t, "home-prefixes", "[home-agent]", "an array of served home prefixes, e.g. [\"2001:db8:1::/64\"]");
    }
    for (size_t i = 0; i < ha.home_prefixes.size(); ++i)
        for (size_t j = 0; j < i; ++j)
            if (ha.home_prefixes[i].value.overlaps(ha.home_prefixes[j].value))
                r.error(ha.home_prefixes[i].where, "home prefix '" + ha.home_prefixes[i].value.to_string() +
                                                       "' overlaps '" + ha.home_prefixes[j].value.to_string() +
                                                       "' (expected disjoint home prefixes)");
    for (const auto& a : ha.addresses) {
        bool on_link = std::any_of(ha.home_prefixes.begin(), ha.home_prefixes.end(),
                                   [&](const auto& p) { return p.value.contains(net::IpAddress{a.value}); });
        if (!on_link && !ha.home_prefixes.empty())
            r.error(a.where, "'addresses' '" + a.value.to_string() +
                                 "' is not inside any home prefix (expected the home agent on a home link)");
    }
    if (auto n = t->get("identity")) ha.identity = r.identity(*n, "identity");
    bool bad_dir = false;
    std::string dir_text = defaults::nodes_dir;
    const toml::node* dn = t->get("nodes-dir");
    if (dn) {
        if (auto s = r.string(*dn, "nodes-dir", "a folder name"))
            dir_text = *s;
        else
            bad_dir = true;
    }
    ha.nodes_dir = {dir_text, r.base_dir() / dir_text};
    bool unused_k_flag = false;  // the K flag is per node, in its node file
    parse_keying(r, root, KeyingScope::home_agent_main, ha.keying, unused_k_flag);
    if (const toml::table* b = r.table(root, "benchmark")) {
        r.check_keys(*b, "[benchmark]", {"unprotected-binding-updates"});
        if (auto n = b->get("unprotected-binding-updates"))
            if (auto v = r.boolean(*n, "unprotected-binding-updates"))
                ha.benchmark_unprotected_binding_updates = Located<bool>{*v, r.pos(*n)};
    }

    // Node files: one per mobile node or router, read in name order so the
    // model (and every error list) is the same on every run.
    std::vector<fs::path> files;
    std::error_code ec;
    if (!bad_dir) {
        if (!fs::is_directory(ha.nodes_dir.resolved, ec)) {
            SourcePosition where = dn ? r.pos(*dn) : r.pos(*t);
            r.error(where, "'nodes-dir' " + quote_text(dir_text) +
                               " is not a readable folder (expected a folder of node files, relative to the "
                               "configuration file)");
        } else {
            for (auto it = fs::directory_iterator(ha.nodes_dir.resolved, ec); !ec && it != fs::directory_iterator();
                 it.increment(ec))
                if (it->path().extension() == ".toml" && it->is_regular_file(ec)) files.push_back(it->path());
            std::sort(files.begin(), files.end());
        }
    }
    for (const auto& f : files) {
        std::string relative = (fs::path(dir_text) / f.filename()).string();
        std::string shown = (fs::path(r.file()).parent_path() / relative).string();
        std::ifstream in(f, std::ios::binary);
        std::string text((std::istreambuf_iterator<char>(in)), {});
        if (!in && !in.eof()) {
            r.error({shown, 0, 0}, "cannot be read (expected a readable node file)");
            continue;
        }
        ConfigErrors node_errors;
        auto b = parse_node_file(text, shown, relative, f.parent_path(), node_errors);
        for (auto& e : node_errors) r.error(e.where, e.message);
        if (b) ha.bindings.push_back(std::move(*b));
    }

    // Across node files: identities, home addresses and prefixes are each
    // bound to one node only.
    bool any_ikev2 = false;
    std::map<Identity, const Binding*, std::function<bool(const Identity&, const Identity&)>> ids(
        [](const Identity& a, const Identity& b) { return std::tie(a.type, a.value) < std::tie(b.type, b.value); });
    std::map<Ipv6Address, const Binding*> hoas;
    std::map<Ipv4Address, const Binding*> hoas4;
    for (size_t i = 0; i < ha.bindings.size(); ++i) {
        const Binding& b = ha.bindings[i];
        any_ikev2 |= b.keying.method == KeyingMethod::ikev2;
        if (auto [it, fresh] = ids.emplace(b.identity.value, &b); !fresh)
            r.error(b.identity.where, "'identity' " + quote_text(b.identity.value.value) + " is already bound in " +
                                          it->second->identity.where.to_string() + " (expected one file per identity)");
        if (auto [it, fresh] = hoas.emplace(b.home_address.value, &b); !fresh)
            r.error(b.home_address.where, "'home-address' '" + b.home_address.value.to_string() +
                                              "' is already the home address of " +
                                              quote_text(it->second->identity.value.value) + " at " +
                                              it->second->home_address.where.to_string() +
                                              " (expected one home address per node)");
        if (b.ipv4_home_address) {
            if (!ha.ipv4_address)
                r.error(b.ipv4_home_address->where, "'ipv4-home-address' '" + b.ipv4_home_address->value.to_string() +
                                                        "' but the home agent has no ipv4-address (expected "
                                                        "[home-agent] ipv4-address for dual-stack, RFC 5555 sec. 3.1)");
            if (auto [it, fresh] = hoas4.emplace(b.ipv4_home_address->value, &b); !fresh)
                r.error(b.ipv4_home_address->where,
                        "'ipv4-home-address' '" + b.ipv4_home_address->value.to_string() +
                            "' is already the IPv4 home address of " + quote_text(it->second->identity.value.value) +
                            " (expected one IPv4 home address per node)");
        }
        bool on_link = std::any_of(ha.home_prefixes.begin(), ha.home_prefixes.end(), [&](const auto& p) {
            return p.value.contains(net::IpAddress{b.home_address.value});
        });
        if (!on_link && !ha.home_prefixes.empty())
            r.error(b.home_address.where, "'home-address' '" + b.home_address.value.to_string() +
                                              "' is not inside any home prefix of the home agent (expected an "
                                              "address of home-prefixes)");
        for (const auto& a : ha.addresses)
            if (a.value == b.home_address.value)
                r.error(b.home_address.where, "'home-address' '" + b.home_address.value.to_string() +
                                                  "' is a home agent address (expected an address of its own)");
        check_prefixes_against_home(r, b, ha.home_prefixes, ha.addresses, b.ipv4_home_address.has_value());
        // Prefixes of different nodes must not overlap (RFC 3963 sec. 6.1.2, prefix table:
        // a prefix is forwarded to one mobile router only).
        for (size_t j = 0; j < i; ++j) {
            const Binding& o = ha.bindings[j];
            for (auto [mine, theirs] : {std::pair{&b.mobile_network.prefixes, &o.mobile_network.prefixes},
                                        std::pair{&b.mobile_network.ipv4_prefixes, &o.mobile_network.ipv4_prefixes}})
                for (const auto& p : *mine)
                    for (const auto& q : *theirs)
                        if (p.value.overlaps(q.value))
                            r.error(p.where, "prefix '" + p.value.to_string() + "' overlaps '" + q.value.to_string() +
                                                 "' of " + quote_text(o.identity.value.value) + " at " +
                                                 q.where.to_string() + " (expected prefixes of one node only)");
        }
    }
    if (any_ikev2) {
        if (!ha.identity && !t->get("identity"))
            r.missing(*t, "identity", "[home-agent]", "the identity in the home agent's certificate for IKEv2");
        const toml::node* kn = root.get("keying");
        if (!kn) {
            r.missing(root, "keying", "the top level",
                      "a [keying] table with certificate, private-key, ca-certificate for the IKEv2 nodes");
        } else if (const toml::table* kt = kn->as_table()) {
            for (const char* key : {"certificate", "private-key", "ca-certificate"})
                if (!kt->get(key))
                    r.missing(*kt, key, "[keying]", "a PEM file for IKEv2 authentication, RFC 4877 sec. 4.4");
        }
    }
    m.home_agent = std::move(ha);
}

ParseResult finish(Model m, ConfigErrors errors) {
    if (errors.empty()) return m;
    return errors;
}

}  // namespace

ParseResult parse_string(std::string_view text, const std::string& name, const fs::path& base_dir) {
    ConfigErrors errors;
    Model m;
    m.file = name;
    auto root = load(text, name, errors);
    if (!root) return finish(std::move(m), std::move(errors));
    Reader r(name, base_dir, errors);
    auto role = parse_role(r, *root, "the top level");
    if (!role) return finish(std::move(m), std::move(errors));
    m.role = *role;
    if (m.role == Role::home_agent)
        parse_home_agent(r, *root, m);
    else
        parse_mobile(r, *root, m);
    return finish(std::move(m), std::move(errors));
}

ParseResult parse_file(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::error_code ec;
    if (!in || fs::is_directory(file, ec)) {
        return ConfigErrors{{{file.string(), 0, 0}, "cannot be read (expected a readable configuration file)"}};
    }
    std::string text((std::istreambuf_iterator<char>(in)), {});
    fs::path base = file.parent_path();
    if (base.empty()) base = ".";
    return parse_string(text, file.string(), base);
}

}  // namespace nemokey::conf
