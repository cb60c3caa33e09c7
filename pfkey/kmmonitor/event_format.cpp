#include "pfkey/kmmonitor/event_format.hpp"

#include <arpa/inet.h>
#include <linux/ipsec.h>
#include <linux/pfkeyv2.h>

#include <cstdio>
#include <ctime>

#include "pfkey/codec/pfkey_migrate.hpp"
#include "pfkey/xfrm/xfrm_message.hpp"

namespace nemokey::pfkey::kmmonitor {
namespace {

using json = nlohmann::ordered_json;

std::string proto_name(unsigned p) {
    switch (p) {
        case IPPROTO_ESP: return "esp";
        case IPPROTO_AH: return "ah";
        case IPPROTO_COMP: return "comp";
        case IPPROTO_ROUTING: return "route2";
        case IPPROTO_DSTOPTS: return "hao";
        case IPPROTO_TCP: return "tcp";
        case IPPROTO_UDP: return "udp";
        case IPPROTO_ICMPV6: return "ipv6-icmp";
        case 135: return "mobility-header";
        case 0: return "any";
        case IPSEC_ULPROTO_ANY: return "any";
        default: return std::to_string(p);
    }
}

std::string spi_text(uint32_t spi) {
    char b[16];
    std::snprintf(b, sizeof b, "0x%08x", spi);
    return b;
}

std::string errno_text(int e) {
    if (e == 0) return "0";
    return std::string(std::strerror(e)) + " (" + std::to_string(e) + ")";
}

// ---- PF_KEY -------------------------------------------------------------

std::string pfkey_mode(unsigned m) {
    switch (m) {
        case IPSEC_MODE_ANY: return "any";
        case IPSEC_MODE_TRANSPORT: return "transport";
        case IPSEC_MODE_TUNNEL: return "tunnel";
        case IPSEC_MODE_BEET: return "beet";
        default: return std::to_string(m);
    }
}
std::string pfkey_dir(unsigned d) {
    switch (d) {
        case IPSEC_DIR_ANY: return "any";
        case IPSEC_DIR_INBOUND: return "in";
        case IPSEC_DIR_OUTBOUND: return "out";
        case IPSEC_DIR_FWD: return "fwd";
        default: return std::to_string(d);
    }
}
std::string pfkey_level(unsigned l) {
    switch (l) {
        case IPSEC_LEVEL_DEFAULT: return "default";
        case IPSEC_LEVEL_USE: return "use";
        case IPSEC_LEVEL_REQUIRE: return "require";
        case IPSEC_LEVEL_UNIQUE: return "unique";
        default: return std::to_string(l);
    }
}
std::string policy_type_name(unsigned t) {
    switch (t) {
        case IPSEC_POLICY_DISCARD: return "discard";
        case IPSEC_POLICY_NONE: return "none";
        case IPSEC_POLICY_IPSEC: return "ipsec";
        case IPSEC_POLICY_ENTRUST: return "entrust";
        case IPSEC_POLICY_BYPASS: return "bypass";
        default: return std::to_string(t);
    }
}

std::string sockaddr_text(const SockAddr& a) { return net::to_string(a.address); }

std::string endpoints(const net::IpAddress& s, const net::IpAddress& d) {
    return net::to_string(s) + "->" + net::to_string(d);
}

Category pfkey_category(uint8_t type) {
    switch (type) {
        case SADB_ACQUIRE:
        case SADB_X_SPDACQUIRE: return Category::acquire;
        case SADB_EXPIRE:
        case SADB_X_SPDEXPIRE: return Category::expire;
        case SADB_GETSPI:
        case SADB_UPDATE:
        case SADB_ADD:
        case SADB_DELETE:
        case SADB_GET:
        case SADB_FLUSH:
        case SADB_DUMP: return Category::sa;
        case SADB_X_SPDUPDATE:
        case SADB_X_SPDADD:
        case SADB_X_SPDDELETE:
        case SADB_X_SPDGET:
        case SADB_X_SPDDUMP:
        case SADB_X_SPDFLUSH:
        case SADB_X_SPDSETIDX:
        case SADB_X_SPDDELETE2: return Category::policy;
        case SADB_X_MIGRATE: return Category::migrate;
        case SADB_X_NAT_T_NEW_MAPPING: return Category::mapping;
        default: return Category::other;
    }
}

void pfkey_fields(const PfkeyMessage& m, json& j) {
    j["satype"] = satype_name(m.header.satype);
    j["seq"] = m.header.seq;
    j["pid"] = m.header.pid;
    if (m.header.errno_) j["errno"] = errno_text(m.header.errno_);
    // A well-formed MIGRATE reads best as moves (old -> new per bundle entry).
    std::optional<PfkeyMigrate> mig;
    if (m.header.type == SADB_X_MIGRATE) {
        auto r = migrate_from_message(m);
        if (r) mig = std::move(r).value();
    }
    for (const auto& e : m.extensions) {
        const uint16_t t = extension_type(e);
        if (auto* sa = std::get_if<SadbSa>(&e)) {
            j["spi"] = spi_text(sa->spi);
            j["state"] = sa->state;
            j["auth"] = sa->auth;
            j["encrypt"] = sa->encrypt;
            j["replay"] = sa->replay;
        } else if (auto* lt = std::get_if<SadbLifetime>(&e)) {
            const char* name = t == SADB_EXT_LIFETIME_CURRENT ? "lifetime_current"
                               : t == SADB_EXT_LIFETIME_HARD  ? "lifetime_hard"
                                                              : "lifetime_soft";
            j[name] = json{{"allocations", lt->allocations}, {"bytes", lt->bytes},
                           {"addtime", lt->addtime}, {"usetime", lt->usetime}};
        } else if (auto* ad = std::get_if<SadbAddress>(&e)) {
            const char* name = t == SADB_EXT_ADDRESS_SRC   ? "src"
                               : t == SADB_EXT_ADDRESS_DST ? "dst"
                               : t == SADB_EXT_ADDRESS_PROXY ? "proxy"
                                                             : "natt_oa";
            j[name] = sockaddr_text(ad->addr) + "/" + std::to_string(ad->prefixlen);
            if (ad->addr.port) j[std::string(name) + "_port"] = ad->addr.port;
            if (t == SADB_EXT_ADDRESS_SRC) j["ulproto"] = proto_name(ad->proto);
        } else if (auto* k = std::get_if<SadbKey>(&e)) {
            // Key material is never printed: only its size.
            j[t == SADB_EXT_KEY_AUTH ? "auth_key_bits" : "encrypt_key_bits"] = k->bits;
        } else if (auto* id = std::get_if<SadbIdent>(&e)) {
            j[t == SADB_EXT_IDENTITY_SRC ? "src_identity" : "dst_identity"] = id->text;
        } else if (auto* p = std::get_if<SadbProp>(&e)) {
            j["proposals"] = p->combs.size();
        } else if (auto* s = std::get_if<SadbSupported>(&e)) {
            json algs = json::array();
            for (const auto& a : s->algs) algs.push_back(a.id);
            j[t == SADB_EXT_SUPPORTED_AUTH ? "supported_auth" : "supported_encrypt"] = algs;
        } else if (auto* r = std::get_if<SadbSpirange>(&e)) {
            j["spirange"] = spi_text(r->min) + "-" + spi_text(r->max);
        } else if (auto* pol = std::get_if<SadbXPolicy>(&e)) {
            j["dir"] = pfkey_dir(pol->dir);
            j["policy"] = policy_type_name(pol->type);
            j["policy_id"] = pol->id;
            if (pol->priority) j["priority"] = pol->priority;
            if (mig) {
                json moves = json::array();
                for (const auto& r : mig->requests)
                    moves.push_back(json{{"proto", proto_name(r.proto)}, {"mode", pfkey_mode(r.mode)},
                                         {"reqid", r.reqid}, {"old", endpoints(r.old_src, r.old_dst)},
                                         {"new", endpoints(r.new_src, r.new_dst)}});
                j["moves"] = moves;
            } else {
                json reqs = json::array();
                for (const auto& r : pol->requests) {
                    json q{{"proto", proto_name(r.proto)}, {"mode", pfkey_mode(r.mode)},
                           {"level", pfkey_level(r.level)}, {"reqid", r.reqid}};
                    if (r.src) q["tunnel"] = endpoints(r.src->address, r.dst->address);
                    reqs.push_back(q);
                }
                j["requests"] = reqs;
            }
        } else if (auto* sa2 = std::get_if<SadbXSa2>(&e)) {
            j["mode"] = pfkey_mode(sa2->mode);
            j["reqid"] = sa2->reqid;
        } else if (auto* nt = std::get_if<SadbXNatTType>(&e)) {
            j["natt_type"] = nt->type;
        } else if (auto* np = std::get_if<SadbXNatTPort>(&e)) {
            j[t == SADB_X_EXT_NAT_T_SPORT ? "natt_sport" : "natt_dport"] = np->port;
        } else if (auto* sc = std::get_if<SadbXSecCtx>(&e)) {
            j["sec_ctx"] = std::string(sc->context.begin(), sc->context.end());
        } else if (auto* km = std::get_if<SadbXKmaddress>(&e)) {
            j["kmaddress"] = json{{"local", sockaddr_text(km->local)}, {"remote", sockaddr_text(km->remote)}};
        } else if (std::get_if<SadbXKmprivate>(&e)) {
            j["kmprivate"] = true;
        } else if (auto* f = std::get_if<SadbXFilter>(&e)) {
            j["filter_family"] = f->family;
        } else if (auto* raw = std::get_if<RawExtension>(&e)) {
            j["ext_" + std::to_string(raw->exttype)] = to_hex(raw->body);
        }
    }
}

// ---- XFRM ---------------------------------------------------------------

std::string xfrm_mode(unsigned m) {
    switch (m) {
        case XFRM_MODE_TRANSPORT: return "transport";
        case XFRM_MODE_TUNNEL: return "tunnel";
        case XFRM_MODE_ROUTEOPTIMIZATION: return "ro";
        case XFRM_MODE_IN_TRIGGER: return "in_trigger";
        case XFRM_MODE_BEET: return "beet";
        default: return std::to_string(m);
    }
}
std::string xfrm_dir(unsigned d) {
    switch (d) {
        case XFRM_POLICY_IN: return "in";
        case XFRM_POLICY_OUT: return "out";
        case XFRM_POLICY_FWD: return "fwd";
        default: return std::to_string(d);
    }
}
std::string addr(uint16_t family, const xfrm_address_t& a) {
    auto ip = xfrm::to_ip(family, a);
    return ip ? net::to_string(*ip) : "family" + std::to_string(family);
}
std::string selector(const xfrm_selector& s) {
    std::string t = addr(s.family, s.saddr) + "/" + std::to_string(s.prefixlen_s);
    if (s.sport_mask) t += ":" + std::to_string(ntohs(s.sport));
    t += "->" + addr(s.family, s.daddr) + "/" + std::to_string(s.prefixlen_d);
    if (s.dport_mask) t += ":" + std::to_string(ntohs(s.dport));
    return t;
}
json tmpl_json(const xfrm_user_tmpl& t) {
    return json{{"proto", proto_name(t.id.proto)}, {"mode", xfrm_mode(t.mode)}, {"reqid", t.reqid},
                {"tunnel", addr(t.family, t.saddr) + "->" + addr(t.family, t.id.daddr)}};
}
json tmpls_json(const std::vector<xfrm_user_tmpl>& ts) {
    json a = json::array();
    for (const auto& t : ts) a.push_back(tmpl_json(t));
    return a;
}
void state_fields(const xfrm_usersa_info& s, json& j) {
    j["src"] = addr(s.family, s.saddr);
    j["dst"] = addr(s.family, s.id.daddr);
    j["proto"] = proto_name(s.id.proto);
    j["spi"] = spi_text(ntohl(s.id.spi));
    j["mode"] = xfrm_mode(s.mode);
    j["reqid"] = s.reqid;
    if (s.sel.family) j["sel"] = selector(s.sel);
}

Category xfrm_category(uint16_t type) {
    switch (type) {
        case XFRM_MSG_ACQUIRE: return Category::acquire;
        case XFRM_MSG_EXPIRE:
        case XFRM_MSG_POLEXPIRE: return Category::expire;
        case XFRM_MSG_NEWSA:
        case XFRM_MSG_UPDSA:
        case XFRM_MSG_DELSA:
        case XFRM_MSG_GETSA:
        case XFRM_MSG_FLUSHSA: return Category::sa;
        case XFRM_MSG_NEWPOLICY:
        case XFRM_MSG_UPDPOLICY:
        case XFRM_MSG_DELPOLICY:
        case XFRM_MSG_GETPOLICY:
        case XFRM_MSG_FLUSHPOLICY: return Category::policy;
        case XFRM_MSG_MIGRATE: return Category::migrate;
        case XFRM_MSG_MAPPING: return Category::mapping;
        default: return Category::other;
    }
}

void xfrm_fields(const xfrm::XfrmMessage& m, json& j) {
    using namespace xfrm;
    j["seq"] = m.seq;
    j["pid"] = m.pid;
    std::visit(
        [&](const auto& b) {
            using T = std::decay_t<decltype(b)>;
            if constexpr (std::is_same_v<T, Migrate>) {
                j["sel"] = selector(b.id.sel);
                j["ulproto"] = proto_name(b.id.sel.proto);
                j["dir"] = xfrm_dir(b.id.dir);
                j["index"] = b.id.index;
                json moves = json::array();
                for (const auto& um : b.migrate)
                    moves.push_back(json{{"proto", proto_name(um.proto)}, {"mode", xfrm_mode(um.mode)},
                                         {"reqid", um.reqid},
                                         {"old", addr(um.old_family, um.old_saddr) + "->" + addr(um.old_family, um.old_daddr)},
                                         {"new", addr(um.new_family, um.new_saddr) + "->" + addr(um.new_family, um.new_daddr)}});
                j["moves"] = moves;
                if (b.kmaddress)
                    j["kmaddress"] = json{{"local", addr(b.kmaddress->family, b.kmaddress->local)},
                                          {"remote", addr(b.kmaddress->family, b.kmaddress->remote)}};
                if (b.policy_type) j["policy_type"] = *b.policy_type;
            } else if constexpr (std::is_same_v<T, PolicyInfo>) {
                j["sel"] = selector(b.info.sel);
                j["ulproto"] = proto_name(b.info.sel.proto);
                j["dir"] = xfrm_dir(b.info.dir);
                j["action"] = b.info.action == XFRM_POLICY_ALLOW ? "allow" : "block";
                j["priority"] = b.info.priority;
                j["index"] = b.info.index;
                j["tmpls"] = tmpls_json(b.tmpls);
            } else if constexpr (std::is_same_v<T, PolicyId>) {
                j["sel"] = selector(b.id.sel);
                j["dir"] = xfrm_dir(b.id.dir);
                j["index"] = b.id.index;
            } else if constexpr (std::is_same_v<T, PolicyFlush>) {
                if (b.policy_type) j["policy_type"] = *b.policy_type;
            } else if constexpr (std::is_same_v<T, StateInfo>) {
                state_fields(b.info, j);
                if (b.coaddr) j["coa"] = addr(b.info.family, *b.coaddr);
                // Algorithm names only: keys are never printed.
                if (b.aead) j["aead"] = b.aead->name;
                if (b.crypt) j["enc"] = b.crypt->name;
                if (b.auth_trunc) j["auth"] = b.auth_trunc->name;
                if (b.auth) j["auth"] = b.auth->name;
                if (b.comp) j["comp"] = b.comp->name;
                if (b.encap) j["encap_ports"] = std::to_string(ntohs(b.encap->encap_sport)) + "->" +
                                                std::to_string(ntohs(b.encap->encap_dport));
            } else if constexpr (std::is_same_v<T, StateId>) {
                j["dst"] = addr(b.id.family, b.id.daddr);
                if (b.srcaddr) j["src"] = addr(b.id.family, *b.srcaddr);
                j["proto"] = proto_name(b.id.proto);
                j["spi"] = spi_text(ntohl(b.id.spi));
            } else if constexpr (std::is_same_v<T, StateFlush>) {
                j["proto"] = proto_name(b.flush.proto);
            } else if constexpr (std::is_same_v<T, Acquire>) {
                j["src"] = addr(b.acquire.sel.family ? b.acquire.sel.family : b.acquire.policy.sel.family, b.acquire.saddr);
                j["dst"] = addr(b.acquire.sel.family ? b.acquire.sel.family : b.acquire.policy.sel.family, b.acquire.id.daddr);
                j["proto"] = proto_name(b.acquire.id.proto);
                j["sel"] = selector(b.acquire.sel);
                j["acquire_seq"] = b.acquire.seq;
                j["tmpls"] = tmpls_json(b.tmpls);
            } else if constexpr (std::is_same_v<T, Expire>) {
                state_fields(b.expire.state, j);
                j["hard"] = bool(b.expire.hard);
            } else if constexpr (std::is_same_v<T, PolExpire>) {
                j["sel"] = selector(b.expire.pol.sel);
                j["dir"] = xfrm_dir(b.expire.pol.dir);
                j["hard"] = bool(b.expire.hard);
            } else if constexpr (std::is_same_v<T, Mapping>) {
                const auto fam = b.mapping.id.family;
                j["proto"] = proto_name(b.mapping.id.proto);
                j["spi"] = spi_text(ntohl(b.mapping.id.spi));
                j["reqid"] = b.mapping.reqid;
                j["old"] = addr(fam, b.mapping.old_saddr) + ":" + std::to_string(ntohs(b.mapping.old_sport));
                j["new"] = addr(fam, b.mapping.new_saddr) + ":" + std::to_string(ntohs(b.mapping.new_sport));
            } else if constexpr (std::is_same_v<T, Error>) {
                j["error"] = b.error == 0 ? std::string("ack") : errno_text(-b.error);
                j["request"] = message_type_name(b.request.nlmsg_type);
                if (!b.ext_ack.empty()) j["ext_ack"] = b.ext_ack;
            } else if constexpr (std::is_same_v<T, Done>) {
            } else if constexpr (std::is_same_v<T, Unknown>) {
                j["hex"] = to_hex(b.payload);
            }
        },
        m.body);
    for (const auto& a : m.other_attributes) j[attribute_name(a.type)] = to_hex(a.payload);
}

json base(const Datagram& d, const std::string& type) {
    json j;
    j["time"] = format_time(d.time);
    j["source"] = d.source == Source::pfkey ? "pfkey" : "xfrm";
    j["type"] = type;
    return j;
}

// Text values: objects as "k=v k=v", arrays in brackets, strings bare.
std::string value_text(const json& v) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_array()) {
        std::string s = "[";
        for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + value_text(v[i]);
        return s + "]";
    }
    if (v.is_object()) {
        std::string s;
        for (auto it = v.begin(); it != v.end(); ++it)
            s += (s.empty() ? "" : " ") + it.key() + "=" + value_text(it.value());
        return s;
    }
    return v.dump();
}

}  // namespace

std::vector<Record> describe(const Datagram& d) {
    std::vector<Record> out;
    if (d.source == Source::pfkey) {
        auto m = decode(d.bytes);
        if (!m) {
            json j = base(d, "unknown");
            j["error"] = m.error().to_string();
            j["hex"] = to_hex(d.bytes);
            out.push_back({Category::other, j});
            return out;
        }
        json j = base(d, message_type_name(m->header.type));
        pfkey_fields(*m, j);
        out.push_back({pfkey_category(m->header.type), j});
        return out;
    }
    auto msgs = xfrm::decode(d.bytes);
    if (!msgs) {
        json j = base(d, "unknown");
        j["error"] = msgs.error().to_string();
        j["hex"] = to_hex(d.bytes);
        out.push_back({Category::other, j});
        return out;
    }
    for (const auto& m : *msgs) {
        json j = base(d, xfrm::message_type_name(m.type));
        xfrm_fields(m, j);
        out.push_back({xfrm_category(m.type), j});
    }
    return out;
}

std::string to_text(const json& record, bool with_time) {
    std::string s;
    for (auto it = record.begin(); it != record.end(); ++it) {
        if (it.key() == "time") {
            if (with_time) s += value_text(it.value());
            continue;
        }
        if (!s.empty()) s += ' ';
        if (it.key() == "source" || it.key() == "type")
            s += value_text(it.value());
        else
            s += it.key() + "=" + value_text(it.value());
    }
    return s;
}

std::optional<Category> parse_category(const std::string& n) {
    for (Category c : {Category::acquire, Category::expire, Category::sa, Category::policy,
                       Category::migrate, Category::mapping})
        if (n == category_name(c)) return c;
    return std::nullopt;
}

const char* category_name(Category c) {
    switch (c) {
        case Category::acquire: return "acquire";
        case Category::expire: return "expire";
        case Category::sa: return "sa";
        case Category::policy: return "policy";
        case Category::migrate: return "migrate";
        case Category::mapping: return "mapping";
        case Category::other: return "other";
    }
    return "other";
}

std::string format_time(std::chrono::system_clock::time_point t) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    const std::time_t secs = std::time_t(ms / 1000);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char b[96];
    std::snprintf(b, sizeof b, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, int(ms % 1000));
    return b;
}

std::optional<std::chrono::system_clock::time_point> parse_time(const std::string& s) {
    std::tm tm{};
    int msec = 0;
    if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                    &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &msec) != 7)
        return std::nullopt;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    const std::time_t secs = ::timegm(&tm);
    return std::chrono::system_clock::from_time_t(secs) + std::chrono::milliseconds(msec);
}

std::string to_hex(const std::vector<uint8_t>& bytes) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    s.reserve(bytes.size() * 2);
    for (uint8_t b : bytes) s += digits[b >> 4], s += digits[b & 15];
    return s;
}

std::string to_capture_line(const Datagram& d) {
    return format_time(d.time) + " " + (d.source == Source::pfkey ? "pfkey" : "xfrm") + " " +
           to_hex(d.bytes);
}

std::optional<Datagram> parse_capture_line(const std::string& line, std::string& error) {
    std::vector<std::string> words;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        size_t j = i;
        while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
        if (j > i) words.push_back(line.substr(i, j - i));
        i = j;
    }
    Datagram d;
    d.time = std::chrono::system_clock::now();
    size_t w = 0;
    if (words.size() == 3) {
        auto t = parse_time(words[0]);
        if (!t) {
            error = "bad timestamp '" + words[0] + "'";
            return std::nullopt;
        }
        d.time = *t;
        w = 1;
    } else if (words.size() != 2) {
        error = "expected '[TIME ]pfkey|xfrm HEX', got " + std::to_string(words.size()) + " words";
        return std::nullopt;
    }
    if (words[w] == "pfkey") {
        d.source = Source::pfkey;
    } else if (words[w] == "xfrm") {
        d.source = Source::xfrm;
    } else {
        error = "unknown source '" + words[w] + "' (pfkey or xfrm)";
        return std::nullopt;
    }
    const std::string& hex = words[w + 1];
    if (hex.size() % 2 != 0) {
        error = "odd number of hex digits";
        return std::nullopt;
    }
    for (size_t k = 0; k < hex.size(); k += 2) {
        auto nib = [](char c) -> int {
            if (c >= '0' && c <= '9') return c - '0';
            if (c >= 'a' && c <= 'f') return c - 'a' + 10;
            if (c >= 'A' && c <= 'F') return c - 'A' + 10;
            return -1;
        };
        const int hi = nib(hex[k]), lo = nib(hex[k + 1]);
        if (hi < 0 || lo < 0) {
            error = "bad hex digit at column " + std::to_string(k + 1) + " of the data";
            return std::nullopt;
        }
        d.bytes.push_back(uint8_t(hi << 4 | lo));
    }
    return d;
}

}  // namespace nemokey::pfkey::kmmonitor
