#include "mobility/adapters/netlink/xfrm_objects.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "mobility/kernel/marks.hpp"
#include "pfkey/xfrm/xfrm_build.hpp"

namespace nemokey::mobility::adapters::netlink {

namespace {

using kernel::IpAddress;

constexpr uint8_t ipproto_mh = 135;

xfrm::Bytes u32_bytes(uint32_t v) {
    xfrm::Bytes b(4);
    std::memcpy(b.data(), &v, 4);
    return b;
}

std::optional<uint32_t> u32_attribute(const std::vector<xfrm::RawAttribute>& attrs, uint16_t type) {
    for (const auto& a : attrs)
        if (a.type == type && a.payload.size() >= 4) {
            uint32_t v;
            std::memcpy(&v, a.payload.data(), 4);
            return v;
        }
    return std::nullopt;
}

bool is_zero(const xfrm_address_t& a) {
    static const xfrm_address_t zero{};
    return std::memcmp(&a, &zero, sizeof a) == 0;
}

std::optional<IpAddress> address_or_none(uint16_t family, const xfrm_address_t& a) {
    if (is_zero(a)) return std::nullopt;
    return xfrm::to_ip(family, a);
}

xfrm::Algorithm algorithm(const kernel::SaAlgorithm& a) {
    return xfrm::Algorithm{a.name, uint32_t(a.key.size() * 8), a.icv_or_truncation_bits, a.key};
}

kernel::SaAlgorithm algorithm_from(const xfrm::Algorithm& a, bool with_bits) {
    return kernel::SaAlgorithm{a.name, a.key, with_bits ? a.trunc_or_icv_bits : 0};
}

std::optional<kernel::SaProtocol> sa_protocol(uint8_t p) {
    switch (p) {
        case IPPROTO_ESP: return kernel::SaProtocol::esp;
        case IPPROTO_ROUTING: return kernel::SaProtocol::route2;
        case IPPROTO_DSTOPTS: return kernel::SaProtocol::home_address;
        default: return std::nullopt;
    }
}

std::optional<kernel::SaMode> sa_mode(uint8_t m) {
    switch (m) {
        case XFRM_MODE_TRANSPORT: return kernel::SaMode::transport;
        case XFRM_MODE_TUNNEL: return kernel::SaMode::tunnel;
        case XFRM_MODE_ROUTEOPTIMIZATION: return kernel::SaMode::route_optimization;
        case XFRM_MODE_BEET: return kernel::SaMode::beet;
        default: return std::nullopt;
    }
}

std::optional<kernel::PolicyDirection> direction(uint8_t d) {
    switch (d) {
        case XFRM_POLICY_IN: return kernel::PolicyDirection::in;
        case XFRM_POLICY_OUT: return kernel::PolicyDirection::out;
        case XFRM_POLICY_FWD: return kernel::PolicyDirection::fwd;
        default: return std::nullopt;
    }
}

uint16_t selector_family(const kernel::Selector& s) { return xfrm::family_of(s.destination.address); }

xfrm_userpolicy_id policy_id(const kernel::PolicyId& id) {
    auto p = xfrm::zeroed<xfrm_userpolicy_id>();
    p.sel = to_xfrm(id.selector);
    p.dir = uint8_t(id.direction);
    return p;
}

// XFRMA_POLICY_TYPE: written for sub policies only (without it the kernel
// takes XFRM_POLICY_TYPE_MAIN, copy_from_user_policy_type).
std::optional<uint8_t> policy_type_attribute(kernel::PolicyType t) {
    if (t == kernel::PolicyType::main) return std::nullopt;
    return uint8_t(XFRM_POLICY_TYPE_SUB);
}

// nullopt for a type the contract does not know (XFRM_POLICY_TYPE_ANY is
// never reported for a policy).
std::optional<kernel::PolicyType> policy_type_from(std::optional<uint8_t> t) {
    switch (t.value_or(XFRM_POLICY_TYPE_MAIN)) {
        case XFRM_POLICY_TYPE_MAIN: return kernel::PolicyType::main;
        case XFRM_POLICY_TYPE_SUB: return kernel::PolicyType::sub;
        default: return std::nullopt;
    }
}

// XFRMA_POLICY_TYPE of a message whose body does not model it (ACQUIRE):
// xfrm_userpolicy_type, whose first octet is the type.
std::optional<uint8_t> raw_policy_type(const std::vector<xfrm::RawAttribute>& attrs) {
    for (const auto& a : attrs)
        if (a.type == XFRMA_POLICY_TYPE && !a.payload.empty()) return a.payload.front();
    return std::nullopt;
}

std::optional<kernel::PolicyId> policy_id_from(const xfrm_selector& sel, uint8_t dir,
                                               std::optional<uint8_t> type) {
    auto s = selector_from(sel);
    auto d = direction(dir);
    auto t = policy_type_from(type);
    if (!s || !d || !t) return std::nullopt;
    return kernel::PolicyId{*s, *d, *t};
}

std::optional<kernel::PolicyTemplate> template_from(const xfrm_user_tmpl& t) {
    auto proto = sa_protocol(t.id.proto);
    auto mode = sa_mode(t.mode);
    if (!proto || !mode) return std::nullopt;
    kernel::PolicyTemplate out;
    out.protocol = *proto;
    out.mode = *mode;
    out.reqid = t.reqid;
    out.source = address_or_none(t.family, t.saddr);
    out.destination = address_or_none(t.family, t.id.daddr);
    out.optional = t.optional != 0;
    return out;
}

xfrm::XfrmMessage request(uint16_t type, xfrm::Body body) {
    xfrm::XfrmMessage m;
    m.type = type;
    m.flags = NLM_F_REQUEST | NLM_F_ACK;
    m.body = std::move(body);
    return m;
}

}  // namespace

xfrm_selector to_xfrm(const kernel::Selector& s) {
    auto x = xfrm::make_selector(s.source, s.destination, s.protocol);
    if (s.type) {
        x.sport = htons(*s.type);
        x.sport_mask = 0xffff;
    }
    return x;
}

std::optional<kernel::Selector> selector_from(const xfrm_selector& x) {
    auto src = xfrm::to_ip(x.family, x.saddr);
    auto dst = xfrm::to_ip(x.family, x.daddr);
    if (!src || !dst) return std::nullopt;
    kernel::Selector s;
    s.source = kernel::Prefix{*src, x.prefixlen_s};
    s.destination = kernel::Prefix{*dst, x.prefixlen_d};
    s.protocol = x.proto;
    if (x.sport_mask != 0) s.type = uint8_t(ntohs(x.sport));
    return s;
}

std::optional<kernel::Selector> sa_selector_from(const xfrm_selector& x) {
    auto none = xfrm::zeroed<xfrm_selector>();
    none.family = x.family;
    none.ifindex = x.ifindex;
    none.user = x.user;
    if (x.family == AF_UNSPEC || x == none) return std::nullopt;
    return selector_from(x);
}

xfrm::XfrmMessage new_sa(const kernel::Sa& sa) {
    xfrm::StateInfo b;
    auto& i = b.info;
    if (sa.selector) i.sel = to_xfrm(*sa.selector);
    i.id.daddr = xfrm::to_xfrm_address(sa.id.destination);
    i.id.spi = htonl(sa.id.spi);
    i.id.proto = uint8_t(sa.id.protocol);
    i.saddr = xfrm::to_xfrm_address(sa.id.source);
    i.family = xfrm::family_of(sa.id.destination);
    i.mode = uint8_t(sa.mode);
    i.reqid = sa.reqid;
    i.lft = xfrm::infinite_lifetime();
    i.replay_window = sa.id.protocol == kernel::SaProtocol::esp ? 32 : 0;
    if (sa.aead) b.aead = algorithm(*sa.aead);
    if (sa.encryption) b.crypt = algorithm(*sa.encryption);
    if (sa.integrity) {
        if (sa.integrity->icv_or_truncation_bits != 0)
            b.auth_trunc = algorithm(*sa.integrity);
        else
            b.auth = algorithm(*sa.integrity);
    }
    if (sa.care_of_address) b.coaddr = xfrm::to_xfrm_address(*sa.care_of_address);
    if (sa.wildcard_receive) i.flags |= XFRM_STATE_WILDRECV;
    auto m = request(XFRM_MSG_NEWSA, std::move(b));
    if (sa.owner_mark) {
        m.other_attributes.push_back({XFRMA_SET_MARK, u32_bytes(*sa.owner_mark)});
        m.other_attributes.push_back({XFRMA_SET_MARK_MASK, u32_bytes(0)});
    }
    return m;
}

xfrm::XfrmMessage delete_sa(const kernel::SaId& id) {
    xfrm::StateId b;
    b.id.daddr = xfrm::to_xfrm_address(id.destination);
    b.id.spi = htonl(id.spi);
    b.id.family = xfrm::family_of(id.destination);
    b.id.proto = uint8_t(id.protocol);
    b.srcaddr = xfrm::to_xfrm_address(id.source);
    return request(XFRM_MSG_DELSA, std::move(b));
}

xfrm::XfrmMessage new_policy(const kernel::Policy& p, bool update) {
    xfrm::PolicyInfo b;
    auto& i = b.info;
    i.sel = to_xfrm(p.id.selector);
    i.lft = xfrm::infinite_lifetime();
    i.priority = p.priority;
    i.dir = uint8_t(p.id.direction);
    i.action = uint8_t(p.action);
    for (const auto& t : p.templates) {
        auto u = xfrm::zeroed<xfrm_user_tmpl>();
        u.id.proto = uint8_t(t.protocol);
        u.family = t.destination   ? xfrm::family_of(*t.destination)
                   : t.source      ? xfrm::family_of(*t.source)
                                   : selector_family(p.id.selector);
        if (t.destination) u.id.daddr = xfrm::to_xfrm_address(*t.destination);
        if (t.source) u.saddr = xfrm::to_xfrm_address(*t.source);
        u.reqid = t.reqid;
        u.mode = uint8_t(t.mode);
        u.optional = t.optional ? 1 : 0;
        u.aalgos = u.ealgos = u.calgos = ~0u;
        b.tmpls.push_back(u);
    }
    b.policy_type = policy_type_attribute(p.id.type);
    return request(update ? XFRM_MSG_UPDPOLICY : XFRM_MSG_NEWPOLICY, std::move(b));
}

xfrm::XfrmMessage delete_policy(const kernel::PolicyId& id) {
    xfrm::PolicyId b;
    b.id = policy_id(id);
    b.policy_type = policy_type_attribute(id.type);
    return request(XFRM_MSG_DELPOLICY, std::move(b));
}

xfrm::XfrmMessage migrate(const kernel::MigrateSas& m) {
    xfrm::Migrate b;
    b.id = policy_id(m.policy);
    // xfrm_do_migrate finds the policy by selector, direction and type.
    b.policy_type = policy_type_attribute(m.policy.type);
    for (const auto& t : m.templates)
        b.migrate.push_back(xfrm::make_migrate(uint8_t(t.protocol), uint8_t(t.mode), t.reqid, t.old_source,
                                               t.old_destination, t.new_source, t.new_destination));
    if (m.kmaddress) b.kmaddress = xfrm::make_kmaddress(m.kmaddress->local, m.kmaddress->remote);
    return request(XFRM_MSG_MIGRATE, std::move(b));
}

xfrm::XfrmMessage allocate_spi(const kernel::AllocateSpi& a) {
    auto u = xfrm::zeroed<xfrm_userspi_info>();
    u.info.id.daddr = xfrm::to_xfrm_address(a.destination);
    u.info.id.proto = uint8_t(a.protocol);
    u.info.saddr = xfrm::to_xfrm_address(a.source);
    u.info.family = xfrm::family_of(a.destination);
    u.info.reqid = a.reqid;
    u.min = a.min;
    u.max = a.max;
    const auto* p = reinterpret_cast<const uint8_t*>(&u);
    return request(XFRM_MSG_ALLOCSPI, xfrm::Unknown{xfrm::Bytes(p, p + sizeof u)});
}

std::optional<uint32_t> allocated_spi(const xfrm::XfrmMessage& answer) {
    const auto* s = std::get_if<xfrm::StateInfo>(&answer.body);
    if (answer.type != XFRM_MSG_NEWSA || !s) return std::nullopt;
    return ntohl(s->info.id.spi);
}

std::optional<kernel::Sa> sa_from(const xfrm::XfrmMessage& m) {
    const auto* b = std::get_if<xfrm::StateInfo>(&m.body);
    if (!b || b->mark || b->if_id) return std::nullopt;
    const auto& i = b->info;
    auto proto = sa_protocol(i.id.proto);
    auto mode = sa_mode(i.mode);
    auto src = xfrm::to_ip(i.family, i.saddr);
    auto dst = xfrm::to_ip(i.family, i.id.daddr);
    if (!proto || !mode || !src || !dst) return std::nullopt;
    kernel::Sa sa;
    sa.id = kernel::SaId{*src, *dst, *proto, ntohl(i.id.spi)};
    sa.mode = *mode;
    sa.reqid = i.reqid;
    sa.selector = sa_selector_from(i.sel);
    if (b->aead) sa.aead = algorithm_from(*b->aead, true);
    if (b->crypt) sa.encryption = algorithm_from(*b->crypt, false);
    // The kernel reports an authentication algorithm twice: with its
    // truncation (XFRMA_ALG_AUTH_TRUNC) and without (XFRMA_ALG_AUTH).
    if (b->auth_trunc)
        sa.integrity = algorithm_from(*b->auth_trunc, true);
    else if (b->auth)
        sa.integrity = algorithm_from(*b->auth, false);
    if (b->coaddr) sa.care_of_address = xfrm::to_ip(i.family, *b->coaddr);
    // Only the flag the contract models: the kernel reports the others we
    // never set as they are (e.g. XFRM_STATE_NOECN of another owner's SA).
    sa.wildcard_receive = (i.flags & XFRM_STATE_WILDRECV) != 0;
    const auto mark = u32_attribute(m.other_attributes, XFRMA_SET_MARK);
    const auto mask = u32_attribute(m.other_attributes, XFRMA_SET_MARK_MASK);
    if (mark && mask.value_or(0xffffffff) == 0) sa.owner_mark = *mark;
    return sa;
}

std::optional<kernel::Policy> policy_from(const xfrm::XfrmMessage& m) {
    const auto* b = std::get_if<xfrm::PolicyInfo>(&m.body);
    if (!b || b->mark || b->if_id) return std::nullopt;
    auto id = policy_id_from(b->info.sel, b->info.dir, b->policy_type);
    if (!id) return std::nullopt;
    kernel::Policy p;
    p.id = *id;
    p.priority = b->info.priority;
    p.action = b->info.action == XFRM_POLICY_BLOCK ? kernel::PolicyAction::block : kernel::PolicyAction::allow;
    for (const auto& t : b->tmpls) {
        auto pt = template_from(t);
        if (!pt) return std::nullopt;
        p.templates.push_back(*pt);
    }
    return p;
}

std::optional<kernel::KernelEvent> event_from(const xfrm::XfrmMessage& m) {
    if (const auto* b = std::get_if<xfrm::Migrate>(&m.body)) {
        auto id = policy_id_from(b->id.sel, b->id.dir, b->policy_type);
        if (!id) return std::nullopt;
        kernel::MigrateSas out;
        out.policy = *id;
        for (const auto& u : b->migrate) {
            auto proto = sa_protocol(u.proto);
            auto mode = sa_mode(u.mode);
            auto os = xfrm::to_ip(u.old_family, u.old_saddr), od = xfrm::to_ip(u.old_family, u.old_daddr);
            auto ns = xfrm::to_ip(u.new_family, u.new_saddr), nd = xfrm::to_ip(u.new_family, u.new_daddr);
            if (!proto || !mode || !os || !od || !ns || !nd) return std::nullopt;
            out.templates.push_back(kernel::MigrateTemplate{*proto, *mode, u.reqid, *os, *od, *ns, *nd});
        }
        if (b->kmaddress) {
            auto l = xfrm::to_ip(b->kmaddress->family, b->kmaddress->local);
            auto r = xfrm::to_ip(b->kmaddress->family, b->kmaddress->remote);
            if (l && r) out.kmaddress = kernel::KmAddress{*l, *r};
        }
        return kernel::MigrateSeen{std::move(out)};
    }
    if (const auto* b = std::get_if<xfrm::Acquire>(&m.body)) {
        const auto& a = b->acquire;
        auto id = policy_id_from(a.policy.sel, a.policy.dir, raw_policy_type(m.other_attributes));
        if (!id) return std::nullopt;
        kernel::Acquire out;
        out.policy = *id;
        std::optional<kernel::PolicyTemplate> t;
        if (!b->tmpls.empty()) t = template_from(b->tmpls.front());
        if (!t) {
            auto proto = sa_protocol(a.id.proto);
            if (!proto) return std::nullopt;
            t = kernel::PolicyTemplate{};
            t->protocol = *proto;
            t->source = address_or_none(a.policy.sel.family, a.saddr);
            t->destination = address_or_none(a.policy.sel.family, a.id.daddr);
        }
        out.template_ = *t;
        return out;
    }
    if (const auto* b = std::get_if<xfrm::Expire>(&m.body)) {
        const auto& i = b->expire.state;
        auto proto = sa_protocol(i.id.proto);
        auto src = xfrm::to_ip(i.family, i.saddr);
        auto dst = xfrm::to_ip(i.family, i.id.daddr);
        if (!proto || !src || !dst) return std::nullopt;
        return kernel::SaExpired{kernel::SaId{*src, *dst, *proto, ntohl(i.id.spi)}, i.reqid,
                                 b->expire.hard != 0};
    }
    if (const auto* b = std::get_if<xfrm::Mapping>(&m.body)) {
        const auto& u = b->mapping;
        auto proto = sa_protocol(u.id.proto);
        auto old_src = xfrm::to_ip(u.id.family, u.old_saddr);
        auto new_src = xfrm::to_ip(u.id.family, u.new_saddr);
        auto dst = xfrm::to_ip(u.id.family, u.id.daddr);
        if (!proto || !old_src || !new_src || !dst) return std::nullopt;
        return kernel::Mapping{kernel::SaId{*old_src, *dst, *proto, ntohl(u.id.spi)}, *new_src,
                               ntohs(u.new_sport)};
    }
    return std::nullopt;
}

}  // namespace nemokey::mobility::adapters::netlink
