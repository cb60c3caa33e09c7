#include "pfkey/translate/policy_translate.hpp"

#include <arpa/inet.h>
#include <linux/ipsec.h>
#include <linux/pfkeyv2.h>
#include <netinet/in.h>

#include "pfkey/translate/migrate_translate.hpp"

namespace nemokey::pfkey {
namespace {

CodecError to_xfrm_error(const std::string& msg, std::string field, std::string what) {
    return CodecError{msg, std::move(field), 0, "cannot be said in XFRM_MSG_NEWPOLICY: " + std::move(what)};
}
CodecError to_pfkey_error(const std::string& msg, std::string field, std::string what) {
    return CodecError{msg, std::move(field), 0, "cannot be said in SADB_X_SPDADD: " + std::move(what)};
}

// af_key.c _KEY2X / _X2KEY: PF_KEY's 0 is XFRM's "infinite".
uint64_t key2x(uint64_t v) { return v ? v : XFRM_INF; }
uint64_t x2key(uint64_t v) { return v == XFRM_INF ? 0 : v; }

SockAddr sock(const net::IpAddress& a, uint16_t port = 0) {
    SockAddr s;
    s.address = a;
    s.port = port;
    return s;
}

bool all_zero(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    for (size_t i = 0; i < n; ++i)
        if (b[i]) return false;
    return true;
}

}  // namespace

Result<xfrm::XfrmMessage> policy_to_xfrm(const PfkeyMessage& m) {
    using namespace xfrm;
    const std::string name = message_type_name(m.header.type);
    if (m.header.type != SADB_X_SPDADD && m.header.type != SADB_X_SPDUPDATE)
        return to_xfrm_error(name, "", "not SADB_X_SPDADD or SADB_X_SPDUPDATE");
    if (m.header.satype != SADB_SATYPE_UNSPEC || m.header.errno_ != 0)
        return to_xfrm_error(name, "sadb_msg", "satype or errno set");
    auto* src = m.get<SadbAddress>(SADB_EXT_ADDRESS_SRC);
    auto* dst = m.get<SadbAddress>(SADB_EXT_ADDRESS_DST);
    auto* pol = m.get<SadbXPolicy>(SADB_X_EXT_POLICY);
    if (!src || !dst || !pol) return to_xfrm_error(name, "", "selector addresses and policy are required");
    auto* hard = m.get<SadbLifetime>(SADB_EXT_LIFETIME_HARD);
    auto* soft = m.get<SadbLifetime>(SADB_EXT_LIFETIME_SOFT);
    auto* cur = m.get<SadbLifetime>(SADB_EXT_LIFETIME_CURRENT);
    for (const auto& e : m.extensions) {
        const uint16_t t = extension_type(e);
        if (t != SADB_EXT_ADDRESS_SRC && t != SADB_EXT_ADDRESS_DST && t != SADB_X_EXT_POLICY &&
            t != SADB_EXT_LIFETIME_HARD && t != SADB_EXT_LIFETIME_SOFT && t != SADB_EXT_LIFETIME_CURRENT)
            return to_xfrm_error(name, extension_type_name(t), "extension present");
    }
    if (net::is_v6(src->addr.address) != net::is_v6(dst->addr.address))
        return to_xfrm_error(name, "SADB_EXT_ADDRESS_DST", "selector mixes address families");
    if (src->proto != dst->proto)
        return to_xfrm_error(name, "SADB_EXT_ADDRESS_DST", "source and destination protocols differ");
    if (pol->dir < IPSEC_DIR_INBOUND || pol->dir > IPSEC_DIR_FWD)
        return to_xfrm_error(name, "SADB_X_EXT_POLICY", "direction " + std::to_string(pol->dir));
    if (pol->reserved) return to_xfrm_error(name, "SADB_X_EXT_POLICY", "reserved field set");

    PolicyInfo p;
    auto& info = p.info;
    info.sel = zeroed<xfrm_selector>();
    info.sel.family = family_of(src->addr.address);
    info.sel.saddr = to_xfrm_address(src->addr.address);
    info.sel.daddr = to_xfrm_address(dst->addr.address);
    info.sel.prefixlen_s = src->prefixlen;
    info.sel.prefixlen_d = dst->prefixlen;
    info.sel.proto = src->proto == IPSEC_ULPROTO_ANY ? 0 : src->proto;
    info.sel.sport = htons(src->addr.port);
    info.sel.sport_mask = src->addr.port ? 0xffff : 0;
    info.sel.dport = htons(dst->addr.port);
    info.sel.dport_mask = dst->addr.port ? 0xffff : 0;
    info.dir = uint8_t(pol->dir - 1);
    info.index = pol->id;
    info.priority = pol->priority;
    // Lifetimes: allocations are packets; PF_KEY's 0 is XFRM's infinite.
    const SadbLifetime none{};
    const SadbLifetime& h = hard ? *hard : none;
    const SadbLifetime& s = soft ? *soft : none;
    for (const SadbLifetime* l : {&h, &s})
        if (l->bytes == XFRM_INF)
            return to_xfrm_error(name, "SADB_EXT_LIFETIME_HARD", "byte limit 2^64-1 (reads as 0 back)");
    info.lft.hard_byte_limit = key2x(h.bytes);
    info.lft.soft_byte_limit = key2x(s.bytes);
    info.lft.hard_packet_limit = key2x(h.allocations);
    info.lft.soft_packet_limit = key2x(s.allocations);
    info.lft.hard_add_expires_seconds = h.addtime;
    info.lft.soft_add_expires_seconds = s.addtime;
    info.lft.hard_use_expires_seconds = h.usetime;
    info.lft.soft_use_expires_seconds = s.usetime;
    if (cur) {
        info.curlft.bytes = cur->bytes;
        info.curlft.packets = cur->allocations;
        info.curlft.add_time = cur->addtime;
        info.curlft.use_time = cur->usetime;
    }
    // af_key.c: DISCARD blocks; NONE and IPSEC allow, IPSEC with templates.
    switch (pol->type) {
        case IPSEC_POLICY_DISCARD: info.action = XFRM_POLICY_BLOCK; break;
        case IPSEC_POLICY_NONE:
        case IPSEC_POLICY_IPSEC: info.action = XFRM_POLICY_ALLOW; break;
        default: return to_xfrm_error(name, "SADB_X_EXT_POLICY", "policy type " + std::to_string(pol->type));
    }
    if ((pol->type == IPSEC_POLICY_IPSEC) == pol->requests.empty())
        return to_xfrm_error(name, "SADB_X_EXT_POLICY",
                             pol->type == IPSEC_POLICY_IPSEC ? "IPSEC policy without requests (reads as NONE)"
                                                             : "requests on a policy that is not IPSEC");
    for (size_t i = 0; i < pol->requests.size(); ++i) {
        const auto& r = pol->requests[i];
        const std::string which = "request " + std::to_string(i + 1) + ": ";
        auto t = zeroed<xfrm_user_tmpl>();
        if (r.proto > 0xff) return to_xfrm_error(name, "SADB_X_EXT_POLICY", which + "proto above 255");
        t.id.proto = uint8_t(r.proto);
        auto mode = xfrm_mode_from_pfkey(r.mode);
        if (!mode) return to_xfrm_error(name, "SADB_X_EXT_POLICY", which + "mode " + std::to_string(r.mode));
        t.mode = *mode;
        // af_key.c parse_ipsecrequest: use -> optional; unique -> reqid.
        switch (r.level) {
            case IPSEC_LEVEL_USE:
            case IPSEC_LEVEL_REQUIRE:
                if (r.reqid)
                    return to_xfrm_error(name, "SADB_X_EXT_POLICY", which + "reqid without level unique");
                t.optional = r.level == IPSEC_LEVEL_USE;
                break;
            case IPSEC_LEVEL_UNIQUE:
                if (!r.reqid)
                    return to_xfrm_error(name, "SADB_X_EXT_POLICY", which + "level unique without reqid");
                t.reqid = r.reqid;
                break;
            default:
                return to_xfrm_error(name, "SADB_X_EXT_POLICY", which + "level " + std::to_string(r.level));
        }
        const bool tunnel = t.mode == XFRM_MODE_TUNNEL || t.mode == XFRM_MODE_BEET;
        if (tunnel != r.src.has_value())
            return to_xfrm_error(name, "SADB_X_EXT_POLICY",
                                 which + (tunnel ? "tunnel without endpoints" : "endpoints outside tunnel mode"));
        if (r.src) {
            if (r.src->port || r.dst->port || r.src->flowinfo || r.src->scope_id || r.dst->flowinfo ||
                r.dst->scope_id)
                return to_xfrm_error(name, "SADB_X_EXT_POLICY", which + "endpoint port/flowinfo/scope set");
            t.saddr = to_xfrm_address(r.src->address);
            t.id.daddr = to_xfrm_address(r.dst->address);
            t.family = family_of(r.src->address);
        } else {
            t.family = info.sel.family;
        }
        t.aalgos = t.ealgos = t.calgos = ~0u;
        p.tmpls.push_back(t);
    }
    if (src->addr.flowinfo || src->addr.scope_id || dst->addr.flowinfo || dst->addr.scope_id ||
        src->reserved || dst->reserved)
        return to_xfrm_error(name, "SADB_EXT_ADDRESS_SRC", "flowinfo, scope or reserved set");
    xfrm::XfrmMessage x;
    x.type = m.header.type == SADB_X_SPDADD ? XFRM_MSG_NEWPOLICY : XFRM_MSG_UPDPOLICY;
    x.seq = m.header.seq;
    x.pid = m.header.pid;
    x.body = std::move(p);
    return x;
}

Result<PfkeyMessage> policy_to_pfkey(const xfrm::XfrmMessage& x) {
    using namespace xfrm;
    const std::string name = message_type_name(x.type);
    const auto* p = std::get_if<PolicyInfo>(&x.body);
    if (!p || (x.type != XFRM_MSG_NEWPOLICY && x.type != XFRM_MSG_UPDPOLICY))
        return to_pfkey_error(name, "", "not XFRM_MSG_NEWPOLICY or XFRM_MSG_UPDPOLICY");
    if (!x.other_attributes.empty())
        return to_pfkey_error(name, attribute_name(x.other_attributes[0].type), "attribute present");
    if (p->mark || p->if_id) return to_pfkey_error(name, "XFRMA_MARK", "mark or if_id set");
    if (p->policy_type && *p->policy_type != XFRM_POLICY_TYPE_MAIN)
        return to_pfkey_error(name, "XFRMA_POLICY_TYPE", "sub policy");
    const auto& info = p->info;
    const auto& sel = info.sel;
    auto s = to_ip(sel.family, sel.saddr), d = to_ip(sel.family, sel.daddr);
    if (!s || !d) return to_pfkey_error(name, "xfrm_selector", "family " + std::to_string(sel.family));
    if (sel.ifindex || sel.user) return to_pfkey_error(name, "xfrm_selector", "ifindex or user set");
    if (sel.proto == IPSEC_ULPROTO_ANY) return to_pfkey_error(name, "xfrm_selector", "proto 255");
    if (sel.sport_mask != (sel.sport ? 0xffff : 0) || sel.dport_mask != (sel.dport ? 0xffff : 0))
        return to_pfkey_error(name, "xfrm_selector", "a port mask other than all-or-nothing");
    if (info.dir > XFRM_POLICY_FWD) return to_pfkey_error(name, "xfrm_userpolicy_info", "direction");
    if (info.flags || info.share) return to_pfkey_error(name, "xfrm_userpolicy_info", "flags or share set");
    const auto& l = info.lft;
    for (uint64_t v : {l.hard_byte_limit, l.soft_byte_limit, l.hard_packet_limit, l.soft_packet_limit})
        if (v == 0) return to_pfkey_error(name, "xfrm_lifetime_cfg", "a limit of 0 (PF_KEY's 0 is infinite)");
    for (uint64_t v : {l.hard_packet_limit, l.soft_packet_limit})
        if (v != XFRM_INF && v > 0xffffffffu)
            return to_pfkey_error(name, "xfrm_lifetime_cfg", "packet limit above 2^32-1");

    PfkeyMessage m;
    m.header.type = x.type == XFRM_MSG_NEWPOLICY ? SADB_X_SPDADD : SADB_X_SPDUPDATE;
    m.header.seq = x.seq;
    m.header.pid = x.pid;
    const uint8_t ulproto = sel.proto == 0 ? IPSEC_ULPROTO_ANY : sel.proto;
    m.extensions.push_back(SadbAddress{SADB_EXT_ADDRESS_SRC, ulproto, sel.prefixlen_s, 0, sock(*s, ntohs(sel.sport))});
    m.extensions.push_back(SadbAddress{SADB_EXT_ADDRESS_DST, ulproto, sel.prefixlen_d, 0, sock(*d, ntohs(sel.dport))});
    m.extensions.push_back(SadbLifetime{SADB_EXT_LIFETIME_HARD, uint32_t(x2key(l.hard_packet_limit)),
                                        x2key(l.hard_byte_limit), l.hard_add_expires_seconds,
                                        l.hard_use_expires_seconds});
    m.extensions.push_back(SadbLifetime{SADB_EXT_LIFETIME_SOFT, uint32_t(x2key(l.soft_packet_limit)),
                                        x2key(l.soft_byte_limit), l.soft_add_expires_seconds,
                                        l.soft_use_expires_seconds});
    if (info.curlft.packets > 0xffffffffu)
        return to_pfkey_error(name, "xfrm_lifetime_cur", "packet count above 2^32-1");
    m.extensions.push_back(SadbLifetime{SADB_EXT_LIFETIME_CURRENT, uint32_t(info.curlft.packets),
                                        info.curlft.bytes, info.curlft.add_time, info.curlft.use_time});
    SadbXPolicy pol;
    pol.dir = uint8_t(info.dir + 1);
    pol.id = info.index;
    pol.priority = info.priority;
    if (info.action == XFRM_POLICY_BLOCK) {
        if (!p->tmpls.empty()) return to_pfkey_error(name, "XFRMA_TMPL", "templates on a blocking policy");
        pol.type = IPSEC_POLICY_DISCARD;
    } else if (info.action == XFRM_POLICY_ALLOW) {
        pol.type = p->tmpls.empty() ? IPSEC_POLICY_NONE : IPSEC_POLICY_IPSEC;
    } else {
        return to_pfkey_error(name, "xfrm_userpolicy_info", "action " + std::to_string(info.action));
    }
    for (size_t i = 0; i < p->tmpls.size(); ++i) {
        const auto& t = p->tmpls[i];
        const std::string which = "template " + std::to_string(i + 1) + ": ";
        auto mode = pfkey_mode_from_xfrm(t.mode);
        if (!mode) return to_pfkey_error(name, "XFRMA_TMPL", which + "mode " + std::to_string(t.mode));
        if (t.aalgos != ~0u || t.ealgos != ~0u || t.calgos != ~0u || t.share || t.id.spi)
            return to_pfkey_error(name, "XFRMA_TMPL", which + "algorithm masks, share or spi set");
        if (t.optional && t.reqid)
            return to_pfkey_error(name, "XFRMA_TMPL", which + "optional with a reqid");
        if (t.optional > 1) return to_pfkey_error(name, "XFRMA_TMPL", which + "optional not 0/1");
        IpsecRequest r;
        r.proto = t.id.proto;
        r.mode = *mode;
        r.level = t.optional ? IPSEC_LEVEL_USE : t.reqid ? IPSEC_LEVEL_UNIQUE : IPSEC_LEVEL_REQUIRE;
        r.reqid = t.reqid;
        const bool tunnel = t.mode == XFRM_MODE_TUNNEL || t.mode == XFRM_MODE_BEET;
        if (tunnel) {
            auto ts = to_ip(t.family, t.saddr), td = to_ip(t.family, t.id.daddr);
            if (!ts || !td) return to_pfkey_error(name, "XFRMA_TMPL", which + "endpoint family");
            r.src = sock(*ts);
            r.dst = sock(*td);
        } else if (t.family != sel.family || !all_zero(&t.saddr, sizeof t.saddr) ||
                   !all_zero(&t.id.daddr, sizeof t.id.daddr)) {
            return to_pfkey_error(name, "XFRMA_TMPL", which + "endpoints outside tunnel mode");
        }
        pol.requests.push_back(r);
    }
    m.extensions.push_back(pol);
    return m;
}

}  // namespace nemokey::pfkey
