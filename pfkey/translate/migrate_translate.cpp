#include "pfkey/translate/migrate_translate.hpp"

#include <arpa/inet.h>
#include <linux/ipsec.h>
#include <linux/pfkeyv2.h>
#include <netinet/in.h>

namespace nemokey::pfkey {
namespace {

constexpr const char* kPf = "SADB_X_MIGRATE";
constexpr const char* kNl = "XFRM_MSG_MIGRATE";

CodecError to_xfrm_error(std::string field, std::string what) {
    return CodecError{kPf, std::move(field), 0, "cannot be said in XFRM_MSG_MIGRATE: " + std::move(what)};
}
CodecError to_pfkey_error(std::string field, std::string what) {
    return CodecError{kNl, std::move(field), 0, "cannot be said in SADB_X_MIGRATE: " + std::move(what)};
}

uint8_t expected_level(uint32_t reqid) {
    // af_key.c pfkey_send_migrate: a reqid makes the template unique.
    return reqid ? IPSEC_LEVEL_UNIQUE : IPSEC_LEVEL_REQUIRE;
}

// An address of `family`, refusing bytes past the family's length (they
// would be lost on the way through a sockaddr).
std::optional<net::IpAddress> exact_ip(uint16_t family, const xfrm_address_t& a) {
    auto ip = xfrm::to_ip(family, a);
    if (!ip) return std::nullopt;
    if (family == AF_INET) {
        const auto* b = reinterpret_cast<const uint8_t*>(&a);
        for (size_t i = 4; i < sizeof a; ++i)
            if (b[i] != 0) return std::nullopt;
    }
    return ip;
}

std::string fam_text(uint16_t f) { return f == AF_INET ? "AF_INET" : f == AF_INET6 ? "AF_INET6" : std::to_string(f); }

}  // namespace

uint8_t satype_from_proto(uint8_t proto) {
    switch (proto) {
        case IPPROTO_AH: return SADB_SATYPE_AH;
        case IPPROTO_ESP: return SADB_SATYPE_ESP;
        case IPPROTO_COMP: return SADB_X_SATYPE_IPCOMP;
        default: return 0;
    }
}

std::optional<uint8_t> xfrm_mode_from_pfkey(uint8_t mode) {
    switch (mode) {
        case IPSEC_MODE_TRANSPORT: return XFRM_MODE_TRANSPORT;
        case IPSEC_MODE_TUNNEL: return XFRM_MODE_TUNNEL;
        case IPSEC_MODE_BEET: return XFRM_MODE_BEET;
        default: return std::nullopt;  // IPSEC_MODE_ANY: af_key.c reads it as transport
    }
}

std::optional<uint8_t> pfkey_mode_from_xfrm(uint8_t mode) {
    switch (mode) {
        case XFRM_MODE_TRANSPORT: return IPSEC_MODE_TRANSPORT;
        case XFRM_MODE_TUNNEL: return IPSEC_MODE_TUNNEL;
        case XFRM_MODE_BEET: return IPSEC_MODE_BEET;
        default: return std::nullopt;  // route optimisation, in-trigger: no PF_KEY mode
    }
}

Result<xfrm::XfrmMessage> to_xfrm(const PfkeyMigrate& p) {
    using namespace xfrm;
    const bool v6 = net::is_v6(p.src.address);
    if (v6 != net::is_v6(p.dst.address))
        return to_xfrm_error("SADB_EXT_ADDRESS_DST", "selector mixes address families");
    if (p.src.length > p.src.max_length() || p.dst.length > p.dst.max_length())
        return to_xfrm_error("SADB_EXT_ADDRESS_SRC", "prefix length out of range");
    if (p.dir < IPSEC_DIR_INBOUND || p.dir > IPSEC_DIR_FWD)
        return to_xfrm_error("SADB_X_EXT_POLICY", "direction " + std::to_string(p.dir));
    if (p.policy_type != IPSEC_POLICY_IPSEC)
        return to_xfrm_error("SADB_X_EXT_POLICY", "policy type " + std::to_string(p.policy_type) +
                                                      " (only IPSEC_POLICY_IPSEC)");
    if (p.priority != 0)
        return to_xfrm_error("SADB_X_EXT_POLICY",
                             "priority " + std::to_string(p.priority) +
                                 " (xfrm_userpolicy_id has no priority)");
    if (p.requests.empty() || p.requests.size() > 6)
        return to_xfrm_error("SADB_X_EXT_POLICY",
                             std::to_string(p.requests.size()) + " request pairs (1..6)");
    if (p.satype != satype_from_proto(uint8_t(p.requests[0].proto)))
        return to_xfrm_error("sadb_msg_satype", "satype " + std::to_string(p.satype) +
                                                    " does not follow the first request's proto " +
                                                    std::to_string(p.requests[0].proto));
    Migrate b;
    b.id.sel = zeroed<xfrm_selector>();
    b.id.sel.family = family_of(p.src.address);
    b.id.sel.saddr = to_xfrm_address(p.src.address);
    b.id.sel.daddr = to_xfrm_address(p.dst.address);
    b.id.sel.prefixlen_s = p.src.length;
    b.id.sel.prefixlen_d = p.dst.length;
    // af_key.c pfkey_migrate reads IPSEC_ULPROTO_ANY as 0, and Linux's own
    // SADB_X_MIGRATE notifications write the selector's 0 as is: both are
    // "any". The way back writes 255, the RFC 2367 value.
    b.id.sel.proto = p.ulproto == IPSEC_ULPROTO_ANY ? 0 : p.ulproto;
    b.id.sel.sport = htons(p.sport);
    b.id.sel.sport_mask = p.sport ? 0xffff : 0;
    b.id.sel.dport = htons(p.dport);
    b.id.sel.dport_mask = p.dport ? 0xffff : 0;
    b.id.index = p.policy_id;
    b.id.dir = uint8_t(p.dir - 1);  // IPSEC_DIR_INBOUND (1) -> XFRM_POLICY_IN (0)
    for (size_t i = 0; i < p.requests.size(); ++i) {
        const auto& r = p.requests[i];
        const std::string which = "request pair " + std::to_string(i + 1) + ": ";
        if (r.proto > 0xff) return to_xfrm_error("SADB_X_EXT_POLICY", which + "proto above 255");
        auto mode = xfrm_mode_from_pfkey(r.mode);
        if (!mode) return to_xfrm_error("SADB_X_EXT_POLICY", which + "mode " + std::to_string(r.mode));
        if (r.level != expected_level(r.reqid))
            return to_xfrm_error("SADB_X_EXT_POLICY",
                                 which + "level " + std::to_string(r.level) + " with reqid " +
                                     std::to_string(r.reqid) + " (XFRM implies " +
                                     std::to_string(expected_level(r.reqid)) + ")");
        if (net::is_v6(r.old_src) != net::is_v6(r.old_dst) ||
            net::is_v6(r.new_src) != net::is_v6(r.new_dst))
            return to_xfrm_error("SADB_X_EXT_POLICY", which + "an endpoint pair mixes families");
        auto um = zeroed<xfrm_user_migrate>();
        um.old_saddr = to_xfrm_address(r.old_src);
        um.old_daddr = to_xfrm_address(r.old_dst);
        um.new_saddr = to_xfrm_address(r.new_src);
        um.new_daddr = to_xfrm_address(r.new_dst);
        um.old_family = family_of(r.old_src);
        um.new_family = family_of(r.new_src);
        um.proto = uint8_t(r.proto);
        um.mode = *mode;
        um.reqid = r.reqid;
        b.migrate.push_back(um);
    }
    if (p.kmaddress) {
        if (net::is_v6(p.kmaddress->local) != net::is_v6(p.kmaddress->remote))
            return to_xfrm_error("SADB_X_EXT_KMADDRESS", "local and remote of different families");
        auto k = zeroed<xfrm_user_kmaddress>();
        k.local = to_xfrm_address(p.kmaddress->local);
        k.remote = to_xfrm_address(p.kmaddress->remote);
        k.reserved = p.kmaddress->reserved;
        k.family = family_of(p.kmaddress->local);
        b.kmaddress = k;
    }
    XfrmMessage m;
    m.type = XFRM_MSG_MIGRATE;
    m.seq = p.seq;
    m.pid = p.pid;
    m.body = std::move(b);
    return m;
}

Result<PfkeyMigrate> to_pfkey(const xfrm::XfrmMessage& m) {
    using namespace xfrm;
    const auto* b = std::get_if<Migrate>(&m.body);
    if (m.type != XFRM_MSG_MIGRATE || !b) return to_pfkey_error("", "not an XFRM_MSG_MIGRATE");
    if (!m.other_attributes.empty())
        return to_pfkey_error(attribute_name(m.other_attributes[0].type), "attribute present");
    if (b->policy_type && *b->policy_type != XFRM_POLICY_TYPE_MAIN)
        return to_pfkey_error("XFRMA_POLICY_TYPE",
                              "policy type " + std::to_string(*b->policy_type) +
                                  " (af_key.c relays XFRM_POLICY_TYPE_MAIN only)");
    const auto& sel = b->id.sel;
    auto src = exact_ip(sel.family, sel.saddr);
    auto dst = exact_ip(sel.family, sel.daddr);
    if (!src || !dst)
        return to_pfkey_error("xfrm_selector", "family " + fam_text(sel.family) +
                                                   " (or address bytes past its length)");
    const uint8_t max = sel.family == AF_INET ? 32 : 128;
    if (sel.prefixlen_s > max || sel.prefixlen_d > max)
        return to_pfkey_error("xfrm_selector", "prefix length out of range");
    if (sel.ifindex != 0 || sel.user != 0)
        return to_pfkey_error("xfrm_selector", "ifindex or user set");
    if (sel.proto == IPSEC_ULPROTO_ANY)
        return to_pfkey_error("xfrm_selector", "proto 255 (PF_KEY reads 255 as any, i.e. 0)");
    if (sel.sport_mask != (sel.sport ? 0xffff : 0) || sel.dport_mask != (sel.dport ? 0xffff : 0))
        return to_pfkey_error("xfrm_selector", "a port mask other than all-or-nothing");
    if (b->id.dir > XFRM_POLICY_FWD)
        return to_pfkey_error("xfrm_userpolicy_id", "direction " + std::to_string(b->id.dir));
    if (b->migrate.empty() || b->migrate.size() > 6)
        return to_pfkey_error("XFRMA_MIGRATE", std::to_string(b->migrate.size()) + " entries (1..6)");
    PfkeyMigrate p;
    p.seq = m.seq;
    p.pid = m.pid;
    p.src = net::Prefix{*src, sel.prefixlen_s};
    p.dst = net::Prefix{*dst, sel.prefixlen_d};
    p.sport = ntohs(sel.sport);
    p.dport = ntohs(sel.dport);
    p.ulproto = sel.proto == 0 ? IPSEC_ULPROTO_ANY : sel.proto;
    p.dir = uint8_t(b->id.dir + 1);
    p.policy_type = IPSEC_POLICY_IPSEC;
    p.policy_id = b->id.index;
    p.satype = satype_from_proto(b->migrate[0].proto);
    for (size_t i = 0; i < b->migrate.size(); ++i) {
        const auto& um = b->migrate[i];
        const std::string which = "entry " + std::to_string(i + 1) + ": ";
        auto mode = pfkey_mode_from_xfrm(um.mode);
        if (!mode) return to_pfkey_error("XFRMA_MIGRATE", which + "mode " + std::to_string(um.mode));
        if (um.reserved != 0) return to_pfkey_error("XFRMA_MIGRATE", which + "reserved field set");
        auto os = exact_ip(um.old_family, um.old_saddr), od = exact_ip(um.old_family, um.old_daddr);
        auto ns = exact_ip(um.new_family, um.new_saddr), nd = exact_ip(um.new_family, um.new_daddr);
        if (!os || !od || !ns || !nd)
            return to_pfkey_error("XFRMA_MIGRATE", which + "families " + fam_text(um.old_family) +
                                                       "/" + fam_text(um.new_family));
        p.requests.push_back(MigrateRequest{um.proto, *mode, expected_level(um.reqid), um.reqid,
                                            *os, *od, *ns, *nd});
    }
    if (b->kmaddress) {
        const auto& k = *b->kmaddress;
        auto l = exact_ip(k.family, k.local), r = exact_ip(k.family, k.remote);
        if (!l || !r) return to_pfkey_error("XFRMA_KMADDRESS", "family " + fam_text(k.family));
        p.kmaddress = KmAddress{*l, *r, k.reserved};
    }
    return p;
}

}  // namespace nemokey::pfkey
