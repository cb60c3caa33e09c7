#include "pfkey/codec/pfkey_migrate.hpp"

#include <linux/ipsec.h>
#include <linux/pfkeyv2.h>

#include <cstring>

namespace nemokey::pfkey {
namespace {

SockAddr sock(const net::IpAddress& a, uint16_t port = 0) {
    SockAddr s;
    s.address = a;
    s.port = port;
    return s;
}

const char* fam(const net::IpAddress& a) { return net::is_v6(a) ? "AF_INET6" : "AF_INET"; }

}  // namespace

PfkeyMessage to_message(const PfkeyMigrate& m) {
    PfkeyMessage msg;
    msg.header.type = SADB_X_MIGRATE;
    msg.header.satype = m.satype;
    msg.header.seq = m.seq;
    msg.header.pid = m.pid;
    if (m.kmaddress) {
        SadbXKmaddress k;
        k.reserved = m.kmaddress->reserved;
        k.local = sock(m.kmaddress->local);
        k.remote = sock(m.kmaddress->remote);
        msg.extensions.push_back(k);
    }
    SadbAddress src;
    src.exttype = SADB_EXT_ADDRESS_SRC;
    src.proto = m.ulproto;
    src.prefixlen = m.src.length;
    src.addr = sock(m.src.address, m.sport);
    msg.extensions.push_back(src);
    SadbAddress dst;
    dst.exttype = SADB_EXT_ADDRESS_DST;
    dst.proto = m.ulproto;
    dst.prefixlen = m.dst.length;
    dst.addr = sock(m.dst.address, m.dport);
    msg.extensions.push_back(dst);
    SadbXPolicy pol;
    pol.type = m.policy_type;
    pol.dir = m.dir;
    pol.id = m.policy_id;
    pol.priority = m.priority;
    for (const auto& r : m.requests) {
        pol.requests.push_back(
            IpsecRequest{r.proto, r.mode, r.level, r.reqid, sock(r.old_src), sock(r.old_dst)});
        pol.requests.push_back(
            IpsecRequest{r.proto, r.mode, r.level, r.reqid, sock(r.new_src), sock(r.new_dst)});
    }
    msg.extensions.push_back(pol);
    return msg;
}

Result<PfkeyMigrate> migrate_from_message(const PfkeyMessage& msg) {
    const std::string name = message_type_name(msg.header.type);
    auto fail = [&](const std::string& ext, std::string what) {
        // Offsets of extensions are not kept in the model: 0 = the message.
        return CodecError{name, ext, 0, std::move(what)};
    };
    if (msg.header.type != SADB_X_MIGRATE) return fail("", "not an SADB_X_MIGRATE message");
    auto* src = msg.get<SadbAddress>(SADB_EXT_ADDRESS_SRC);
    auto* dst = msg.get<SadbAddress>(SADB_EXT_ADDRESS_DST);
    auto* pol = msg.get<SadbXPolicy>(SADB_X_EXT_POLICY);
    auto* km = msg.get<SadbXKmaddress>(SADB_X_EXT_KMADDRESS);
    // draft-sugimoto-mip6-pfkey-migrate sec. 4.1: selector and policy are mandatory.
    if (!src) return fail("SADB_EXT_ADDRESS_SRC", "missing (required in SADB_X_MIGRATE)");
    if (!dst) return fail("SADB_EXT_ADDRESS_DST", "missing (required in SADB_X_MIGRATE)");
    if (!pol) return fail("SADB_X_EXT_POLICY", "missing (required in SADB_X_MIGRATE)");
    // Anything else would be dropped silently: refuse it, so the typed
    // value is always the whole message.
    for (const auto& e : msg.extensions) {
        const uint16_t t = extension_type(e);
        if (t != SADB_X_EXT_KMADDRESS && t != SADB_EXT_ADDRESS_SRC && t != SADB_EXT_ADDRESS_DST &&
            t != SADB_X_EXT_POLICY)
            return fail(extension_type_name(t),
                        "unexpected extension type " + std::to_string(t) + " in SADB_X_MIGRATE");
    }
    if (net::is_v6(src->addr.address) != net::is_v6(dst->addr.address))
        return fail("SADB_EXT_ADDRESS_DST", std::string("address family mismatch: source is ") +
                                                fam(src->addr.address) + ", destination is " +
                                                fam(dst->addr.address));
    if (src->proto != dst->proto)
        return fail("SADB_EXT_ADDRESS_DST", "upper-layer protocol " + std::to_string(dst->proto) +
                                                " differs from the source's " +
                                                std::to_string(src->proto));
    if (pol->dir == IPSEC_DIR_ANY || pol->dir >= IPSEC_DIR_MAX)
        return fail("SADB_X_EXT_POLICY", "direction " + std::to_string(pol->dir) +
                                             " is not inbound (1), outbound (2) or forward (3)");
    if (pol->requests.empty())
        return fail("SADB_X_EXT_POLICY", "no ipsecrequest (at least one old/new pair needed)");
    if (pol->requests.size() % 2 != 0)
        return fail("SADB_X_EXT_POLICY", std::to_string(pol->requests.size()) +
                                             " ipsecrequests: they must come in old/new pairs");
    PfkeyMigrate m;
    m.satype = msg.header.satype;
    m.seq = msg.header.seq;
    m.pid = msg.header.pid;
    m.src = net::Prefix{src->addr.address, src->prefixlen};
    m.dst = net::Prefix{dst->addr.address, dst->prefixlen};
    m.sport = src->addr.port;
    m.dport = dst->addr.port;
    m.ulproto = src->proto;
    m.dir = pol->dir;
    m.policy_type = pol->type;
    m.policy_id = pol->id;
    m.priority = pol->priority;
    if (km) m.kmaddress = KmAddress{km->local.address, km->remote.address, km->reserved};
    for (size_t i = 0; i < pol->requests.size(); i += 2) {
        const auto& o = pol->requests[i];
        const auto& n = pol->requests[i + 1];
        const std::string which = "ipsecrequest pair " + std::to_string(i / 2 + 1);
        if (!o.src || !n.src)
            return fail("SADB_X_EXT_POLICY", which + " lacks its endpoint addresses");
        // Linux ipsecrequests_to_migrate: one SA template, so one proto/mode/reqid.
        if (o.proto != n.proto || o.mode != n.mode || o.reqid != n.reqid)
            return fail("SADB_X_EXT_POLICY",
                        which + ": old and new differ in proto, mode or reqid (" +
                            std::to_string(o.proto) + "/" + std::to_string(o.mode) + "/" +
                            std::to_string(o.reqid) + " vs " + std::to_string(n.proto) + "/" +
                            std::to_string(n.mode) + "/" + std::to_string(n.reqid) + ")");
        if (o.level != n.level)
            return fail("SADB_X_EXT_POLICY", which + ": old level " + std::to_string(o.level) +
                                                 " differs from new level " +
                                                 std::to_string(n.level));
        m.requests.push_back(MigrateRequest{o.proto, o.mode, o.level, o.reqid, o.src->address,
                                            o.dst->address, n.src->address, n.dst->address});
    }
    return m;
}

Result<PfkeyMigrate> decode_migrate(std::span<const uint8_t> bytes) {
    auto msg = decode(bytes);
    if (!msg) return msg.error();
    auto m = migrate_from_message(*msg);
    if (m || m.error().extension.empty()) return m;
    // The model keeps no offsets: find the named extension in the bytes
    // (decode() has validated the framing walked here).
    CodecError e = m.error();
    for (size_t off = 16; off + 4 <= bytes.size();) {
        uint16_t words, type;
        std::memcpy(&words, bytes.data() + off, 2);
        std::memcpy(&type, bytes.data() + off + 2, 2);
        if (extension_type_name(type) == e.extension) {
            e.offset = off;
            break;
        }
        if (words == 0) break;
        off += size_t{words} * 8;
    }
    return e;
}

}  // namespace nemokey::pfkey
