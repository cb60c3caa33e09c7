#include "pfkey/codec/pfkey_message.hpp"

#include <linux/ipsec.h>
#include <linux/pfkeyv2.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstring>

namespace nemokey::pfkey {
namespace {

constexpr size_t kMsgLen = 16;       // sizeof(struct sadb_msg)
constexpr size_t kSockaddrIn = 16;   // sizeof(struct sockaddr_in)
constexpr size_t kSockaddrIn6 = 28;  // sizeof(struct sockaddr_in6)

size_t align8(size_t n) { return (n + 7) & ~size_t{7}; }

// Minimum extension sizes, as Linux's sadb_ext_min_len table.
size_t min_len(uint16_t t) {
    switch (t) {
        case SADB_EXT_SA: return 16;
        case SADB_EXT_LIFETIME_CURRENT:
        case SADB_EXT_LIFETIME_HARD:
        case SADB_EXT_LIFETIME_SOFT: return 32;
        case SADB_EXT_IDENTITY_SRC:
        case SADB_EXT_IDENTITY_DST: return 16;
        case SADB_EXT_SENSITIVITY: return 16;
        case SADB_EXT_SPIRANGE: return 16;
        case SADB_X_EXT_POLICY: return 16;
        case SADB_X_EXT_SA2: return 16;
        case SADB_X_EXT_FILTER: return 40;
        default: return 8;  // addresses, keys, proposal, supported, NAT-T, ...
    }
}

// ---- writing ------------------------------------------------------------

class Writer {
public:
    size_t size() const { return b_.size(); }
    void u8(uint8_t v) { b_.push_back(v); }
    void u16(uint16_t v) { raw(&v, 2); }
    void u32(uint32_t v) { raw(&v, 4); }
    void u64(uint64_t v) { raw(&v, 8); }
    void be16(uint16_t v) { u8(uint8_t(v >> 8)), u8(uint8_t(v)); }
    void be32(uint32_t v) { be16(uint16_t(v >> 16)), be16(uint16_t(v)); }
    void raw(const void* p, size_t n) {
        auto* c = static_cast<const uint8_t*>(p);
        b_.insert(b_.end(), c, c + n);
    }
    void zeros(size_t n) { b_.insert(b_.end(), n, 0); }
    void pad8() { zeros(align8(b_.size()) - b_.size()); }
    void put16_at(size_t at, uint16_t v) { std::memcpy(&b_[at], &v, 2); }
    Bytes take() { return std::move(b_); }

private:
    Bytes b_;
};

void write_sockaddr(Writer& w, const SockAddr& a) {
    if (auto* v4 = std::get_if<net::Ipv4Address>(&a.address)) {
        w.u16(AF_INET);
        w.be16(a.port);
        w.raw(v4->bytes.data(), 4);
        w.zeros(8);  // sin_zero
    } else {
        const auto& v6 = std::get<net::Ipv6Address>(a.address);
        w.u16(AF_INET6);
        w.be16(a.port);
        w.be32(a.flowinfo);
        w.raw(v6.bytes.data(), 16);
        w.u32(a.scope_id);
    }
}

size_t sockaddr_len(const SockAddr& a) { return net::is_v6(a.address) ? kSockaddrIn6 : kSockaddrIn; }

// Linux sizes a sockaddr pair as PFKEY_ALIGN8(2 * socklen).
void write_sockaddr_pair(Writer& w, const SockAddr& a, const SockAddr& b) {
    const size_t start = w.size();
    write_sockaddr(w, a);
    write_sockaddr(w, b);
    w.zeros(align8(w.size() - start) - (w.size() - start));
}

struct EncodeState {
    Writer w;
    std::string msg_name;
};

Result<Ok> encode_extension(EncodeState& st, const Extension& ext) {
    Writer& w = st.w;
    const size_t start = w.size();
    const uint16_t type = extension_type(ext);
    auto fail = [&](std::string what) {
        return CodecError{st.msg_name, extension_type_name(type), start, std::move(what)};
    };
    w.u16(0);  // length, patched below
    w.u16(type);
    if (auto* sa = std::get_if<SadbSa>(&ext)) {
        w.be32(sa->spi);
        w.u8(sa->replay), w.u8(sa->state), w.u8(sa->auth), w.u8(sa->encrypt);
        w.u32(sa->flags);
    } else if (auto* lt = std::get_if<SadbLifetime>(&ext)) {
        w.u32(lt->allocations), w.u64(lt->bytes), w.u64(lt->addtime), w.u64(lt->usetime);
    } else if (auto* ad = std::get_if<SadbAddress>(&ext)) {
        const uint8_t max = net::is_v6(ad->addr.address) ? 128 : 32;
        if (ad->prefixlen > max)
            return fail("prefix length " + std::to_string(ad->prefixlen) + " exceeds " +
                        std::to_string(max));
        w.u8(ad->proto), w.u8(ad->prefixlen), w.u16(ad->reserved);
        write_sockaddr(w, ad->addr);
    } else if (auto* k = std::get_if<SadbKey>(&ext)) {
        if (k->key.size() != (k->bits + 7u) / 8u)
            return fail("key of " + std::to_string(k->key.size()) + " bytes does not match " +
                        std::to_string(k->bits) + " bits");
        w.u16(k->bits), w.u16(k->reserved);
        w.raw(k->key.data(), k->key.size());
    } else if (auto* id = std::get_if<SadbIdent>(&ext)) {
        w.u16(id->type), w.u16(id->reserved), w.u64(id->id);
        w.raw(id->text.data(), id->text.size());
        if (!id->text.empty()) w.u8(0);  // NUL-terminated (RFC 2367 sec. 2.3.6)
    } else if (auto* p = std::get_if<SadbProp>(&ext)) {
        w.u8(p->replay), w.zeros(3);
        for (const auto& c : p->combs) {
            w.u8(c.auth), w.u8(c.encrypt), w.u16(c.flags);
            w.u16(c.auth_minbits), w.u16(c.auth_maxbits);
            w.u16(c.encrypt_minbits), w.u16(c.encrypt_maxbits);
            w.u32(c.reserved), w.u32(c.soft_allocations), w.u32(c.hard_allocations);
            w.u64(c.soft_bytes), w.u64(c.hard_bytes), w.u64(c.soft_addtime);
            w.u64(c.hard_addtime), w.u64(c.soft_usetime), w.u64(c.hard_usetime);
        }
    } else if (auto* s = std::get_if<SadbSupported>(&ext)) {
        w.u32(0);
        for (const auto& a : s->algs) {
            w.u8(a.id), w.u8(a.ivlen), w.u16(a.minbits), w.u16(a.maxbits), w.u16(a.reserved);
        }
    } else if (auto* r = std::get_if<SadbSpirange>(&ext)) {
        w.u32(r->min), w.u32(r->max), w.u32(0);
    } else if (std::get_if<SadbXKmprivate>(&ext)) {
        w.u32(0);
    } else if (auto* pol = std::get_if<SadbXPolicy>(&ext)) {
        w.u16(pol->type), w.u8(pol->dir), w.u8(pol->reserved);
        w.u32(pol->id), w.u32(pol->priority);
        for (const auto& rq : pol->requests) {
            const size_t rq_start = w.size();
            if (rq.src.has_value() != rq.dst.has_value())
                return fail("ipsecrequest at offset " + std::to_string(rq_start) +
                            " has only one tunnel endpoint");
            if (rq.src && net::is_v6(rq.src->address) != net::is_v6(rq.dst->address))
                return fail("ipsecrequest at offset " + std::to_string(rq_start) +
                            " mixes address families");
            w.u16(0);  // sadb_x_ipsecrequest_len, in bytes
            w.u16(rq.proto), w.u8(rq.mode), w.u8(rq.level), w.u16(0);
            w.u32(rq.reqid), w.u32(0);
            if (rq.src) write_sockaddr_pair(w, *rq.src, *rq.dst);
            w.put16_at(rq_start, uint16_t(w.size() - rq_start));
        }
    } else if (auto* sa2 = std::get_if<SadbXSa2>(&ext)) {
        w.u8(sa2->mode), w.u8(sa2->reserved1), w.u16(sa2->reserved2);
        w.u32(sa2->sequence), w.u32(sa2->reqid);
    } else if (auto* nt = std::get_if<SadbXNatTType>(&ext)) {
        w.u8(nt->type), w.zeros(3);
    } else if (auto* np = std::get_if<SadbXNatTPort>(&ext)) {
        w.be16(np->port), w.u16(np->reserved);
    } else if (auto* sc = std::get_if<SadbXSecCtx>(&ext)) {
        if (sc->context.size() > 0xffff) return fail("security context longer than 65535 bytes");
        w.u8(sc->doi), w.u8(sc->alg), w.u16(uint16_t(sc->context.size()));
        w.raw(sc->context.data(), sc->context.size());
    } else if (auto* km = std::get_if<SadbXKmaddress>(&ext)) {
        if (net::is_v6(km->local.address) != net::is_v6(km->remote.address))
            return fail("local and remote addresses are of different families");
        w.u32(km->reserved);
        write_sockaddr_pair(w, km->local, km->remote);
    } else if (auto* f = std::get_if<SadbXFilter>(&ext)) {
        w.raw(f->saddr.data(), 16), w.raw(f->daddr.data(), 16);
        w.u16(f->family), w.u8(f->splen), w.u8(f->dplen);
    } else if (auto* raw = std::get_if<RawExtension>(&ext)) {
        if (raw->exttype == SADB_EXT_RESERVED) return fail("extension type 0 is reserved");
        if ((raw->body.size() + 4) % 8 != 0)
            return fail("raw body of " + std::to_string(raw->body.size()) +
                        " bytes is not 4 short of a multiple of 8");
        w.raw(raw->body.data(), raw->body.size());
    }
    w.pad8();
    const size_t len = w.size() - start;
    if (len / 8 > 0xffff) return fail("extension longer than 65535 64-bit words");
    w.put16_at(start, uint16_t(len / 8));
    return Ok{};
}

// ---- reading ------------------------------------------------------------

class Reader {
public:
    Reader(std::span<const uint8_t> b, size_t base) : b_(b), base_(base) {}
    size_t offset() const { return base_ + pos_; }
    size_t left() const { return b_.size() - pos_; }
    uint8_t u8() { return b_[pos_++]; }
    uint16_t u16() { return get<uint16_t>(); }
    uint32_t u32() { return get<uint32_t>(); }
    uint64_t u64() { return get<uint64_t>(); }
    uint16_t be16() {
        uint16_t v = uint16_t(b_[pos_] << 8 | b_[pos_ + 1]);
        pos_ += 2;
        return v;
    }
    uint32_t be32() {
        uint32_t hi = be16();
        return hi << 16 | be16();
    }
    void copy(void* p, size_t n) {
        std::memcpy(p, b_.data() + pos_, n);
        pos_ += n;
    }
    std::span<const uint8_t> take(size_t n) {
        auto s = b_.subspan(pos_, n);
        pos_ += n;
        return s;
    }
    void skip(size_t n) { pos_ += n; }
    std::span<const uint8_t> rest() const { return b_.subspan(pos_); }

private:
    template <class T>
    T get() {
        T v;
        std::memcpy(&v, b_.data() + pos_, sizeof v);
        pos_ += sizeof v;
        return v;
    }
    std::span<const uint8_t> b_;
    size_t base_;
    size_t pos_ = 0;
};

std::string family_name(uint16_t f) {
    if (f == AF_INET) return "AF_INET";
    if (f == AF_INET6) return "AF_INET6";
    return std::to_string(f);
}

// Reads one sockaddr (the family decides its size); on failure sets `why`.
std::optional<SockAddr> read_sockaddr(Reader& r, std::string& why) {
    if (r.left() < 2) {
        why = "sockaddr truncated: " + std::to_string(r.left()) + " bytes left";
        return std::nullopt;
    }
    uint16_t family;
    std::memcpy(&family, r.rest().data(), 2);
    SockAddr a;
    if (family == AF_INET) {
        if (r.left() < kSockaddrIn) {
            why = "sockaddr_in truncated: " + std::to_string(r.left()) + " of 16 bytes";
            return std::nullopt;
        }
        r.skip(2);
        a.port = r.be16();
        net::Ipv4Address v4;
        r.copy(v4.bytes.data(), 4);
        r.skip(8);
        a.address = v4;
    } else if (family == AF_INET6) {
        if (r.left() < kSockaddrIn6) {
            why = "sockaddr_in6 truncated: " + std::to_string(r.left()) + " of 28 bytes";
            return std::nullopt;
        }
        r.skip(2);
        a.port = r.be16();
        a.flowinfo = r.be32();
        net::Ipv6Address v6;
        r.copy(v6.bytes.data(), 16);
        a.scope_id = r.u32();
        a.address = v6;
    } else {
        why = "unsupported sockaddr family " + family_name(family);
        return std::nullopt;
    }
    return a;
}

// Reads a sockaddr pair of one family, as Linux's parse_sockaddr_pair.
bool read_sockaddr_pair(Reader& r, SockAddr& first, SockAddr& second, std::string& why) {
    auto a = read_sockaddr(r, why);
    if (!a) return false;
    auto b = read_sockaddr(r, why);
    if (!b) return false;
    if (net::is_v6(a->address) != net::is_v6(b->address)) {
        why = "address family mismatch in sockaddr pair: " +
              std::string(net::is_v6(a->address) ? "AF_INET6" : "AF_INET") + " then " +
              std::string(net::is_v6(b->address) ? "AF_INET6" : "AF_INET");
        return false;
    }
    first = *a;
    second = *b;
    return true;
}

Result<Extension> decode_extension(const std::string& msg_name, uint16_t type,
                                   std::span<const uint8_t> ext, size_t base) {
    Reader r(ext, base);
    auto fail = [&](size_t at, std::string what) {
        return CodecError{msg_name, extension_type_name(type), at, std::move(what)};
    };
    r.skip(4);  // sadb_ext_len, sadb_ext_type
    switch (type) {
        case SADB_EXT_SA: {
            SadbSa sa;
            sa.spi = r.be32();
            sa.replay = r.u8(), sa.state = r.u8(), sa.auth = r.u8(), sa.encrypt = r.u8();
            sa.flags = r.u32();
            return Extension{sa};
        }
        case SADB_EXT_LIFETIME_CURRENT:
        case SADB_EXT_LIFETIME_HARD:
        case SADB_EXT_LIFETIME_SOFT: {
            SadbLifetime lt;
            lt.exttype = type;
            lt.allocations = r.u32(), lt.bytes = r.u64(), lt.addtime = r.u64(), lt.usetime = r.u64();
            return Extension{lt};
        }
        case SADB_EXT_ADDRESS_SRC:
        case SADB_EXT_ADDRESS_DST:
        case SADB_EXT_ADDRESS_PROXY:
        case SADB_X_EXT_NAT_T_OA: {
            SadbAddress ad;
            ad.exttype = type;
            ad.proto = r.u8(), ad.prefixlen = r.u8(), ad.reserved = r.u16();
            const size_t sa_at = r.offset();
            std::string why;
            auto sa = read_sockaddr(r, why);
            if (!sa) return fail(sa_at, why);
            // Linux verify_address_len: the length must be exactly the
            // 8-byte-aligned header + sockaddr, and the prefix must fit.
            const size_t want = align8(8 + sockaddr_len(*sa));
            if (ext.size() != want)
                return fail(base, "length " + std::to_string(ext.size()) + " bytes, expected " +
                                      std::to_string(want) + " for this address family");
            const uint8_t max = net::is_v6(sa->address) ? 128 : 32;
            if (ad.prefixlen > max)
                return fail(base + 5, "prefix length " + std::to_string(ad.prefixlen) +
                                          " out of range (0.." + std::to_string(max) + ")");
            ad.addr = *sa;
            return Extension{ad};
        }
        case SADB_EXT_KEY_AUTH:
        case SADB_EXT_KEY_ENCRYPT: {
            SadbKey k;
            k.exttype = type;
            k.bits = r.u16(), k.reserved = r.u16();
            const size_t n = (k.bits + 7u) / 8u;
            if (n > r.left())  // Linux verify_key_len
                return fail(base + 4, "key of " + std::to_string(k.bits) + " bits needs " +
                                          std::to_string(n) + " bytes, only " +
                                          std::to_string(r.left()) + " present");
            auto key = r.take(n);
            k.key.assign(key.begin(), key.end());
            return Extension{k};
        }
        case SADB_EXT_IDENTITY_SRC:
        case SADB_EXT_IDENTITY_DST: {
            SadbIdent id;
            id.exttype = type;
            id.type = r.u16(), id.reserved = r.u16(), id.id = r.u64();
            auto rest = r.rest();
            size_t n = 0;
            while (n < rest.size() && rest[n] != 0) ++n;
            id.text.assign(rest.begin(), rest.begin() + long(n));
            return Extension{id};
        }
        case SADB_EXT_PROPOSAL: {
            SadbProp p;
            p.replay = r.u8();
            r.skip(3);
            if (r.left() % 72 != 0)
                return fail(r.offset(), std::to_string(r.left()) +
                                            " bytes of sadb_comb is not a multiple of 72");
            while (r.left() >= 72) {
                SadbComb c;
                c.auth = r.u8(), c.encrypt = r.u8(), c.flags = r.u16();
                c.auth_minbits = r.u16(), c.auth_maxbits = r.u16();
                c.encrypt_minbits = r.u16(), c.encrypt_maxbits = r.u16();
                c.reserved = r.u32(), c.soft_allocations = r.u32(), c.hard_allocations = r.u32();
                c.soft_bytes = r.u64(), c.hard_bytes = r.u64(), c.soft_addtime = r.u64();
                c.hard_addtime = r.u64(), c.soft_usetime = r.u64(), c.hard_usetime = r.u64();
                p.combs.push_back(c);
            }
            return Extension{p};
        }
        case SADB_EXT_SUPPORTED_AUTH:
        case SADB_EXT_SUPPORTED_ENCRYPT: {
            SadbSupported s;
            s.exttype = type;
            r.skip(4);
            while (r.left() >= 8) {
                SadbAlg a;
                a.id = r.u8(), a.ivlen = r.u8(), a.minbits = r.u16(), a.maxbits = r.u16();
                a.reserved = r.u16();
                s.algs.push_back(a);
            }
            return Extension{s};
        }
        case SADB_EXT_SPIRANGE: {
            SadbSpirange sr;
            sr.min = r.u32(), sr.max = r.u32();
            return Extension{sr};
        }
        case SADB_X_EXT_KMPRIVATE: return Extension{SadbXKmprivate{}};
        case SADB_X_EXT_POLICY: {
            SadbXPolicy pol;
            pol.type = r.u16(), pol.dir = r.u8(), pol.reserved = r.u8();
            pol.id = r.u32(), pol.priority = r.u32();
            // IPsec requests: lengths in bytes (Linux parse_ipsecrequests);
            // fewer than 16 trailing bytes are padding.
            while (r.left() >= 16) {
                const size_t rq_at = r.offset();
                uint16_t rq_len;
                std::memcpy(&rq_len, r.rest().data(), 2);
                if (rq_len < 16)
                    return fail(rq_at, "ipsecrequest length " + std::to_string(rq_len) +
                                           " bytes is shorter than its 16-byte header");
                if (rq_len > r.left())
                    return fail(rq_at, "ipsecrequest length " + std::to_string(rq_len) +
                                           " bytes overruns the policy (" +
                                           std::to_string(r.left()) + " left)");
                Reader q(r.take(rq_len), rq_at);
                q.skip(2);
                IpsecRequest rq;
                rq.proto = q.u16(), rq.mode = q.u8(), rq.level = q.u8();
                q.skip(2);
                rq.reqid = q.u32();
                q.skip(4);
                if (q.left() > 0) {
                    SockAddr s, d;
                    std::string why;
                    const size_t pair_at = q.offset();
                    if (!read_sockaddr_pair(q, s, d, why)) return fail(pair_at, why);
                    rq.src = s, rq.dst = d;
                }
                pol.requests.push_back(rq);
            }
            return Extension{pol};
        }
        case SADB_X_EXT_SA2: {
            SadbXSa2 s;
            s.mode = r.u8(), s.reserved1 = r.u8(), s.reserved2 = r.u16();
            s.sequence = r.u32(), s.reqid = r.u32();
            return Extension{s};
        }
        case SADB_X_EXT_NAT_T_TYPE: {
            SadbXNatTType t;
            t.type = r.u8();
            return Extension{t};
        }
        case SADB_X_EXT_NAT_T_SPORT:
        case SADB_X_EXT_NAT_T_DPORT: {
            SadbXNatTPort p;
            p.exttype = type;
            p.port = r.be16(), p.reserved = r.u16();
            return Extension{p};
        }
        case SADB_X_EXT_SEC_CTX: {
            SadbXSecCtx c;
            c.doi = r.u8(), c.alg = r.u8();
            const uint16_t n = r.u16();
            // Linux verify_sec_ctx_len: the length must be exactly the
            // aligned header + context.
            if (ext.size() != align8(8 + size_t{n}))
                return fail(base + 6, "context length " + std::to_string(n) +
                                          " does not match extension length " +
                                          std::to_string(ext.size()));
            auto b = r.take(n);
            c.context.assign(b.begin(), b.end());
            return Extension{c};
        }
        case SADB_X_EXT_KMADDRESS: {
            SadbXKmaddress k;
            k.reserved = r.u32();
            std::string why;
            const size_t at = r.offset();
            if (!read_sockaddr_pair(r, k.local, k.remote, why)) return fail(at, why);
            return Extension{k};
        }
        case SADB_X_EXT_FILTER: {
            SadbXFilter f;
            r.copy(f.saddr.data(), 16), r.copy(f.daddr.data(), 16);
            f.family = r.u16(), f.splen = r.u8(), f.dplen = r.u8();
            return Extension{f};
        }
        default: {
            RawExtension raw;
            raw.exttype = type;
            auto b = r.rest();
            raw.body.assign(b.begin(), b.end());
            return Extension{raw};
        }
    }
}

const char* family_of(const SadbAddress& a) { return net::is_v6(a.addr.address) ? "AF_INET6" : "AF_INET"; }

}  // namespace

uint16_t extension_type(const Extension& e) {
    struct V {
        uint16_t operator()(const SadbSa&) const { return SADB_EXT_SA; }
        uint16_t operator()(const SadbLifetime& x) const { return x.exttype; }
        uint16_t operator()(const SadbAddress& x) const { return x.exttype; }
        uint16_t operator()(const SadbKey& x) const { return x.exttype; }
        uint16_t operator()(const SadbIdent& x) const { return x.exttype; }
        uint16_t operator()(const SadbProp&) const { return SADB_EXT_PROPOSAL; }
        uint16_t operator()(const SadbSupported& x) const { return x.exttype; }
        uint16_t operator()(const SadbSpirange&) const { return SADB_EXT_SPIRANGE; }
        uint16_t operator()(const SadbXKmprivate&) const { return SADB_X_EXT_KMPRIVATE; }
        uint16_t operator()(const SadbXPolicy&) const { return SADB_X_EXT_POLICY; }
        uint16_t operator()(const SadbXSa2&) const { return SADB_X_EXT_SA2; }
        uint16_t operator()(const SadbXNatTType&) const { return SADB_X_EXT_NAT_T_TYPE; }
        uint16_t operator()(const SadbXNatTPort& x) const { return x.exttype; }
        uint16_t operator()(const SadbXSecCtx&) const { return SADB_X_EXT_SEC_CTX; }
        uint16_t operator()(const SadbXKmaddress&) const { return SADB_X_EXT_KMADDRESS; }
        uint16_t operator()(const SadbXFilter&) const { return SADB_X_EXT_FILTER; }
        uint16_t operator()(const RawExtension& x) const { return x.exttype; }
    };
    return std::visit(V{}, e);
}

const Extension* PfkeyMessage::find(uint16_t exttype) const {
    for (const auto& e : extensions)
        if (extension_type(e) == exttype) return &e;
    return nullptr;
}

Result<Bytes> encode(const PfkeyMessage& m) {
    EncodeState st;
    st.msg_name = message_type_name(m.header.type);
    Writer& w = st.w;
    w.u8(m.header.version), w.u8(m.header.type), w.u8(m.header.errno_), w.u8(m.header.satype);
    w.u16(0);  // sadb_msg_len, patched below
    w.u16(m.header.reserved);
    w.u32(m.header.seq), w.u32(m.header.pid);
    std::array<bool, SADB_EXT_MAX + 1> seen{};
    for (const auto& e : m.extensions) {
        const uint16_t t = extension_type(e);
        // The kernel refuses a repeated type (af_key.c parse_exthdrs).
        if (t >= 1 && t <= SADB_EXT_MAX) {
            if (seen[t])
                return CodecError{st.msg_name, extension_type_name(t), w.size(),
                                  "duplicate extension"};
            seen[t] = true;
        }
        auto r = encode_extension(st, e);
        if (!r) return r.error();
    }
    if (w.size() / 8 > 0xffff)
        return CodecError{st.msg_name, "", 0, "message longer than 65535 64-bit words"};
    w.put16_at(4, uint16_t(w.size() / 8));
    return w.take();
}

Result<PfkeyMessage> decode(std::span<const uint8_t> bytes) {
    if (bytes.size() < kMsgLen)
        return CodecError{"", "", 0,
                          "truncated: " + std::to_string(bytes.size()) +
                              " bytes, sadb_msg needs 16"};
    PfkeyMessage m;
    Reader r(bytes, 0);
    m.header.version = r.u8(), m.header.type = r.u8(), m.header.errno_ = r.u8();
    m.header.satype = r.u8();
    const uint16_t len_words = r.u16();
    m.header.reserved = r.u16();
    m.header.seq = r.u32(), m.header.pid = r.u32();
    const std::string name = message_type_name(m.header.type);
    // Linux pfkey_get_base_msg checks version, type and (on input only)
    // sadb_msg_reserved. Linux itself fills sadb_msg_reserved of the policy
    // messages it sends (SADB_X_SPDADD, _SPDDUMP, ...) with the policy's
    // reference count, so it is kept here, not refused.
    if (m.header.version != PF_KEY_V2)
        return CodecError{name, "", 0,
                          "sadb_msg_version " + std::to_string(m.header.version) +
                              ", expected 2 (PF_KEY_V2)"};
    if (m.header.type == SADB_RESERVED || m.header.type > SADB_MAX)
        return CodecError{name, "", 1,
                          "sadb_msg_type " + std::to_string(m.header.type) + " out of range (1.." +
                              std::to_string(SADB_MAX) + ")"};
    if (size_t{len_words} * 8 != bytes.size())
        return CodecError{name, "", 4,
                          "sadb_msg_len " + std::to_string(len_words) + " (" +
                              std::to_string(size_t{len_words} * 8) + " bytes) but " +
                              std::to_string(bytes.size()) + " bytes present"};
    std::array<size_t, SADB_EXT_MAX + 1> seen_at{};
    size_t off = kMsgLen;
    while (off < bytes.size()) {
        const size_t left = bytes.size() - off;
        if (left < 4)
            return CodecError{name, "", off,
                              "truncated extension header: " + std::to_string(left) +
                                  " bytes, sadb_ext needs 4"};
        uint16_t ext_words, type;
        std::memcpy(&ext_words, bytes.data() + off, 2);
        std::memcpy(&type, bytes.data() + off + 2, 2);
        const size_t ext_len = size_t{ext_words} * 8;
        const std::string ext_name = extension_type_name(type);
        if (ext_len == 0) return CodecError{name, ext_name, off, "zero length"};
        if (ext_len > left)
            return CodecError{name, ext_name, off,
                              "length " + std::to_string(ext_len) + " bytes overruns the message (" +
                                  std::to_string(left) + " left)"};
        if (type == SADB_EXT_RESERVED)
            return CodecError{name, ext_name, off + 2, "extension type 0 is reserved"};
        if (type <= SADB_EXT_MAX) {
            if (ext_len < min_len(type))
                return CodecError{name, ext_name, off,
                                  "length " + std::to_string(ext_len) + " bytes, at least " +
                                      std::to_string(min_len(type)) + " needed"};
            if (seen_at[type] != 0)
                return CodecError{name, ext_name, off,
                                  "duplicate extension (first at offset " +
                                      std::to_string(seen_at[type]) + ")"};
            seen_at[type] = off;
        }
        auto e = decode_extension(name, type, bytes.subspan(off, ext_len), off);
        if (!e) return e.error();
        m.extensions.push_back(std::move(e).value());
        off += ext_len;
    }
    // Source and destination must be of one family (af_key.c
    // present_and_same_family, applied by every handler that takes both).
    auto* src = m.get<SadbAddress>(SADB_EXT_ADDRESS_SRC);
    auto* dst = m.get<SadbAddress>(SADB_EXT_ADDRESS_DST);
    if (src && dst && net::is_v6(src->addr.address) != net::is_v6(dst->addr.address))
        return CodecError{name, "SADB_EXT_ADDRESS_DST", seen_at[SADB_EXT_ADDRESS_DST],
                          std::string("address family mismatch: source is ") + family_of(*src) +
                              ", destination is " + family_of(*dst)};
    return m;
}

std::string message_type_name(uint8_t type) {
    static const char* const names[] = {
        "SADB_RESERVED",    "SADB_GETSPI",       "SADB_UPDATE",       "SADB_ADD",
        "SADB_DELETE",      "SADB_GET",          "SADB_ACQUIRE",      "SADB_REGISTER",
        "SADB_EXPIRE",      "SADB_FLUSH",        "SADB_DUMP",         "SADB_X_PROMISC",
        "SADB_X_PCHANGE",   "SADB_X_SPDUPDATE",  "SADB_X_SPDADD",     "SADB_X_SPDDELETE",
        "SADB_X_SPDGET",    "SADB_X_SPDACQUIRE", "SADB_X_SPDDUMP",    "SADB_X_SPDFLUSH",
        "SADB_X_SPDSETIDX", "SADB_X_SPDEXPIRE",  "SADB_X_SPDDELETE2", "SADB_X_NAT_T_NEW_MAPPING",
        "SADB_X_MIGRATE"};
    if (type < std::size(names)) return names[type];
    return "SADB_TYPE_" + std::to_string(type);
}

std::string extension_type_name(uint16_t type) {
    static const char* const names[] = {
        "SADB_EXT_RESERVED",       "SADB_EXT_SA",
        "SADB_EXT_LIFETIME_CURRENT", "SADB_EXT_LIFETIME_HARD",
        "SADB_EXT_LIFETIME_SOFT",  "SADB_EXT_ADDRESS_SRC",
        "SADB_EXT_ADDRESS_DST",    "SADB_EXT_ADDRESS_PROXY",
        "SADB_EXT_KEY_AUTH",       "SADB_EXT_KEY_ENCRYPT",
        "SADB_EXT_IDENTITY_SRC",   "SADB_EXT_IDENTITY_DST",
        "SADB_EXT_SENSITIVITY",    "SADB_EXT_PROPOSAL",
        "SADB_EXT_SUPPORTED_AUTH", "SADB_EXT_SUPPORTED_ENCRYPT",
        "SADB_EXT_SPIRANGE",       "SADB_X_EXT_KMPRIVATE",
        "SADB_X_EXT_POLICY",       "SADB_X_EXT_SA2",
        "SADB_X_EXT_NAT_T_TYPE",   "SADB_X_EXT_NAT_T_SPORT",
        "SADB_X_EXT_NAT_T_DPORT",  "SADB_X_EXT_NAT_T_OA",
        "SADB_X_EXT_SEC_CTX",      "SADB_X_EXT_KMADDRESS",
        "SADB_X_EXT_FILTER"};
    if (type < std::size(names)) return names[type];
    return "extension type " + std::to_string(type);
}

std::string satype_name(uint8_t satype) {
    switch (satype) {
        case SADB_SATYPE_UNSPEC: return "unspec";
        case SADB_SATYPE_AH: return "ah";
        case SADB_SATYPE_ESP: return "esp";
        case SADB_SATYPE_RSVP: return "rsvp";
        case SADB_SATYPE_OSPFV2: return "ospfv2";
        case SADB_SATYPE_RIPV2: return "ripv2";
        case SADB_SATYPE_MIP: return "mip";
        case SADB_X_SATYPE_IPCOMP: return "ipcomp";
        default: return "satype " + std::to_string(satype);
    }
}

}  // namespace nemokey::pfkey
