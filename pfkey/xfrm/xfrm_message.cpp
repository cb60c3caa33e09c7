#include "pfkey/xfrm/xfrm_message.hpp"

#include <netinet/in.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <sys/socket.h>

#include <algorithm>
#include <memory>

namespace nemokey::pfkey::xfrm {
namespace {

constexpr size_t kMaxDepth = 6;  // XFRM_MAX_DEPTH (include/net/xfrm.h, not in uapi)
constexpr size_t kAlgoHdr = sizeof(xfrm_algo);  // 68: name[64] + key_len
constexpr size_t kAlgoAuthHdr = sizeof(xfrm_algo_auth);  // 72: + trunc_len
constexpr size_t kAlgoAeadHdr = sizeof(xfrm_algo_aead);  // 72: + icv_len

// The fixed header after nlmsghdr, per message type (xfrm_user.c xfrm_msg_min).
size_t fixed_size(uint16_t type) {
    switch (type) {
        case XFRM_MSG_MIGRATE:
        case XFRM_MSG_DELPOLICY:
        case XFRM_MSG_GETPOLICY: return sizeof(xfrm_userpolicy_id);
        case XFRM_MSG_NEWPOLICY:
        case XFRM_MSG_UPDPOLICY: return sizeof(xfrm_userpolicy_info);
        case XFRM_MSG_FLUSHPOLICY: return 0;
        case XFRM_MSG_NEWSA:
        case XFRM_MSG_UPDSA: return sizeof(xfrm_usersa_info);
        case XFRM_MSG_DELSA:
        case XFRM_MSG_GETSA: return sizeof(xfrm_usersa_id);
        case XFRM_MSG_FLUSHSA: return sizeof(xfrm_usersa_flush);
        case XFRM_MSG_ACQUIRE: return sizeof(xfrm_user_acquire);
        case XFRM_MSG_EXPIRE: return sizeof(xfrm_user_expire);
        case XFRM_MSG_POLEXPIRE: return sizeof(xfrm_user_polexpire);
        case XFRM_MSG_MAPPING: return sizeof(xfrm_user_mapping);
        case NLMSG_ERROR: return sizeof(nlmsgerr);
        default: return 0;
    }
}

const char* fixed_name(uint16_t type) {
    switch (type) {
        case XFRM_MSG_MIGRATE:
        case XFRM_MSG_DELPOLICY:
        case XFRM_MSG_GETPOLICY: return "xfrm_userpolicy_id";
        case XFRM_MSG_NEWPOLICY:
        case XFRM_MSG_UPDPOLICY: return "xfrm_userpolicy_info";
        case XFRM_MSG_NEWSA:
        case XFRM_MSG_UPDSA: return "xfrm_usersa_info";
        case XFRM_MSG_DELSA:
        case XFRM_MSG_GETSA: return "xfrm_usersa_id";
        case XFRM_MSG_FLUSHSA: return "xfrm_usersa_flush";
        case XFRM_MSG_ACQUIRE: return "xfrm_user_acquire";
        case XFRM_MSG_EXPIRE: return "xfrm_user_expire";
        case XFRM_MSG_POLEXPIRE: return "xfrm_user_polexpire";
        case XFRM_MSG_MAPPING: return "xfrm_user_mapping";
        case NLMSG_ERROR: return "nlmsgerr";
        default: return "payload";
    }
}

// Minimum payload of the attributes this codec models (xfrm_user.c xfrma_policy).
size_t attr_min(uint16_t type) {
    switch (type) {
        case XFRMA_ALG_AUTH:
        case XFRMA_ALG_CRYPT:
        case XFRMA_ALG_COMP: return kAlgoHdr;
        case XFRMA_ALG_AUTH_TRUNC: return kAlgoAuthHdr;
        case XFRMA_ALG_AEAD: return kAlgoAeadHdr;
        case XFRMA_ENCAP: return sizeof(xfrm_encap_tmpl);
        case XFRMA_TMPL: return 0;  // a list; checked as a multiple
        case XFRMA_SRCADDR:
        case XFRMA_COADDR: return sizeof(xfrm_address_t);
        case XFRMA_POLICY_TYPE: return sizeof(xfrm_userpolicy_type);
        case XFRMA_MIGRATE: return sizeof(xfrm_user_migrate);
        case XFRMA_KMADDRESS: return sizeof(xfrm_user_kmaddress);
        case XFRMA_MARK: return sizeof(xfrm_mark);
        case XFRMA_IF_ID:
        case XFRMA_SA_EXTRA_FLAGS: return sizeof(uint32_t);
        default: return 0;
    }
}

using MsgPtr = std::unique_ptr<nl_msg, decltype(&nlmsg_free)>;

struct Out {
    nl_msg* msg;
    std::string name;
};

Result<Ok> put(Out& o, uint16_t type, const void* data, size_t len) {
    if (len > 0xffff - NLA_HDRLEN)
        return CodecError{o.name, attribute_name(type), 0,
                          "attribute of " + std::to_string(len) + " bytes does not fit nla_len"};
    if (nla_put(o.msg, type, int(len), data) < 0)
        return CodecError{o.name, attribute_name(type), 0, "nla_put failed (message too large)"};
    return Ok{};
}

template <class T>
Result<Ok> put(Out& o, uint16_t type, const T& v) {
    return put(o, type, &v, sizeof v);
}

Result<Ok> put_algorithm(Out& o, uint16_t type, const Algorithm& a) {
    if (a.name.size() >= 64)
        return CodecError{o.name, attribute_name(type), 0,
                          "algorithm name '" + a.name + "' longer than 63 characters"};
    if (a.key.size() != (a.key_bits + 7) / 8)
        return CodecError{o.name, attribute_name(type), 0,
                          "key of " + std::to_string(a.key.size()) + " bytes does not match " +
                              std::to_string(a.key_bits) + " bits"};
    const size_t hdr = type == XFRMA_ALG_AUTH_TRUNC ? kAlgoAuthHdr
                       : type == XFRMA_ALG_AEAD     ? kAlgoAeadHdr
                                                    : kAlgoHdr;
    Bytes b(hdr + a.key.size(), 0);
    std::memcpy(b.data(), a.name.data(), a.name.size());
    std::memcpy(b.data() + 64, &a.key_bits, 4);
    if (hdr > kAlgoHdr) std::memcpy(b.data() + 68, &a.trunc_or_icv_bits, 4);
    if (!a.key.empty()) std::memcpy(b.data() + hdr, a.key.data(), a.key.size());
    return put(o, type, b.data(), b.size());
}

template <class T>
Result<Ok> put_opt(Out& o, uint16_t type, const std::optional<T>& v) {
    if (!v) return Ok{};
    return put(o, type, *v);
}

Result<Ok> put_policy_type(Out& o, const std::optional<uint8_t>& t) {
    if (!t) return Ok{};
    auto upt = zeroed<xfrm_userpolicy_type>();
    upt.type = *t;
    return put(o, XFRMA_POLICY_TYPE, upt);
}

Result<Ok> put_tmpls(Out& o, uint16_t type, const std::vector<xfrm_user_tmpl>& t) {
    if (t.empty()) return Ok{};
    return put(o, type, t.data(), t.size() * sizeof(xfrm_user_tmpl));
}

#define TRY(expr)                     \
    do {                              \
        auto r_ = (expr);             \
        if (!r_) return r_.error();   \
    } while (0)

Result<Ok> encode_body(Out& o, const XfrmMessage& m) {
    auto append = [&](const void* p, size_t n) -> Result<Ok> {
        if (nlmsg_append(o.msg, const_cast<void*>(p), n, NLMSG_ALIGNTO) < 0)
            return CodecError{o.name, "", 16, "nlmsg_append failed"};
        return Ok{};
    };
    auto mismatch = [&](const char* body) {
        return CodecError{o.name, "", 0, std::string("body ") + body + " does not fit this type"};
    };
    const uint16_t t = m.type;
    if (auto* b = std::get_if<Migrate>(&m.body)) {
        if (t != XFRM_MSG_MIGRATE) return mismatch("Migrate");
        if (b->migrate.empty() || b->migrate.size() > kMaxDepth)
            return CodecError{o.name, "XFRMA_MIGRATE", 0,
                              std::to_string(b->migrate.size()) +
                                  " xfrm_user_migrate entries, 1..6 allowed (XFRM_MAX_DEPTH)"};
        TRY(append(&b->id, sizeof b->id));
        TRY(put(o, XFRMA_MIGRATE, b->migrate.data(), b->migrate.size() * sizeof(xfrm_user_migrate)));
        TRY(put_opt(o, XFRMA_KMADDRESS, b->kmaddress));
        TRY(put_policy_type(o, b->policy_type));
    } else if (auto* b = std::get_if<PolicyInfo>(&m.body)) {
        if (t != XFRM_MSG_NEWPOLICY && t != XFRM_MSG_UPDPOLICY) return mismatch("PolicyInfo");
        TRY(append(&b->info, sizeof b->info));
        TRY(put_tmpls(o, XFRMA_TMPL, b->tmpls));
        TRY(put_policy_type(o, b->policy_type));
        TRY(put_opt(o, XFRMA_MARK, b->mark));
        TRY(put_opt(o, XFRMA_IF_ID, b->if_id));
    } else if (auto* b = std::get_if<PolicyId>(&m.body)) {
        if (t != XFRM_MSG_DELPOLICY && t != XFRM_MSG_GETPOLICY) return mismatch("PolicyId");
        TRY(append(&b->id, sizeof b->id));
        TRY(put_policy_type(o, b->policy_type));
        TRY(put_opt(o, XFRMA_MARK, b->mark));
        TRY(put_opt(o, XFRMA_IF_ID, b->if_id));
    } else if (auto* b = std::get_if<PolicyFlush>(&m.body)) {
        if (t != XFRM_MSG_FLUSHPOLICY) return mismatch("PolicyFlush");
        TRY(put_policy_type(o, b->policy_type));
    } else if (auto* b = std::get_if<StateInfo>(&m.body)) {
        if (t != XFRM_MSG_NEWSA && t != XFRM_MSG_UPDSA) return mismatch("StateInfo");
        TRY(append(&b->info, sizeof b->info));
        if (b->auth) TRY(put_algorithm(o, XFRMA_ALG_AUTH, *b->auth));
        if (b->auth_trunc) TRY(put_algorithm(o, XFRMA_ALG_AUTH_TRUNC, *b->auth_trunc));
        if (b->crypt) TRY(put_algorithm(o, XFRMA_ALG_CRYPT, *b->crypt));
        if (b->aead) TRY(put_algorithm(o, XFRMA_ALG_AEAD, *b->aead));
        if (b->comp) TRY(put_algorithm(o, XFRMA_ALG_COMP, *b->comp));
        TRY(put_opt(o, XFRMA_ENCAP, b->encap));
        TRY(put_opt(o, XFRMA_COADDR, b->coaddr));
        TRY(put_opt(o, XFRMA_MARK, b->mark));
        TRY(put_opt(o, XFRMA_IF_ID, b->if_id));
        TRY(put_opt(o, XFRMA_SA_EXTRA_FLAGS, b->extra_flags));
    } else if (auto* b = std::get_if<StateId>(&m.body)) {
        if (t != XFRM_MSG_DELSA && t != XFRM_MSG_GETSA) return mismatch("StateId");
        TRY(append(&b->id, sizeof b->id));
        TRY(put_opt(o, XFRMA_SRCADDR, b->srcaddr));
        TRY(put_opt(o, XFRMA_MARK, b->mark));
    } else if (auto* b = std::get_if<StateFlush>(&m.body)) {
        if (t != XFRM_MSG_FLUSHSA) return mismatch("StateFlush");
        TRY(append(&b->flush, sizeof b->flush));
    } else if (auto* b = std::get_if<Acquire>(&m.body)) {
        if (t != XFRM_MSG_ACQUIRE) return mismatch("Acquire");
        TRY(append(&b->acquire, sizeof b->acquire));
        TRY(put_tmpls(o, XFRMA_TMPL, b->tmpls));
    } else if (auto* b = std::get_if<Expire>(&m.body)) {
        if (t != XFRM_MSG_EXPIRE) return mismatch("Expire");
        TRY(append(&b->expire, sizeof b->expire));
    } else if (auto* b = std::get_if<PolExpire>(&m.body)) {
        if (t != XFRM_MSG_POLEXPIRE) return mismatch("PolExpire");
        TRY(append(&b->expire, sizeof b->expire));
    } else if (auto* b = std::get_if<Mapping>(&m.body)) {
        if (t != XFRM_MSG_MAPPING) return mismatch("Mapping");
        TRY(append(&b->mapping, sizeof b->mapping));
    } else if (auto* b = std::get_if<Error>(&m.body)) {
        if (t != NLMSG_ERROR) return mismatch("Error");
        nlmsgerr e{};
        e.error = b->error;
        e.msg = b->request;
        TRY(append(&e, sizeof e));
        if (m.flags & NLM_F_ACK_TLVS) {
            // Uncapped errors echo the request payload before the TLVs; the
            // model does not keep it, so zeros of the same length stand in.
            if (!(m.flags & NLM_F_CAPPED) && b->request.nlmsg_len > NLMSG_HDRLEN) {
                const size_t n = b->request.nlmsg_len - NLMSG_HDRLEN;
                if (n > (size_t{1} << 20))
                    return CodecError{o.name, "", 20, "echoed request too long to re-create"};
                Bytes zeros(n, 0);
                TRY(append(zeros.data(), zeros.size()));
            }
            if (!b->ext_ack.empty()) TRY(put(o, NLMSGERR_ATTR_MSG, b->ext_ack.c_str(), b->ext_ack.size() + 1));
            TRY(put_opt(o, NLMSGERR_ATTR_OFFS, b->ext_ack_offset));
        } else if (!b->ext_ack.empty() || b->ext_ack_offset) {
            return CodecError{o.name, "", 0, "extended ack needs NLM_F_ACK_TLVS in flags"};
        }
    } else if (std::get_if<Done>(&m.body)) {
        if (t != NLMSG_DONE) return mismatch("Done");
        int32_t zero = 0;
        TRY(append(&zero, sizeof zero));
    } else if (auto* b = std::get_if<Unknown>(&m.body)) {
        if (fixed_size(t) != 0 || t == XFRM_MSG_FLUSHPOLICY || t == NLMSG_DONE)
            return mismatch("Unknown");
        // Unpadded, so nlmsg_len keeps the payload's exact length.
        if (!b->payload.empty() &&
            nlmsg_append(o.msg, const_cast<uint8_t*>(b->payload.data()), b->payload.size(), 0) < 0)
            return CodecError{o.name, "", 16, "nlmsg_append failed"};
    }
    for (const auto& a : m.other_attributes) {
        if (std::holds_alternative<Unknown>(m.body))
            return CodecError{o.name, attribute_name(a.type), 0,
                              "attributes of an unknown message belong in its payload"};
        TRY(put(o, a.type, a.payload.data(), a.payload.size()));
    }
    return Ok{};
}

// ---- decoding -----------------------------------------------------------

struct In {
    std::string name;
    const uint8_t* base;
    size_t offset(const void* p) const { return size_t(static_cast<const uint8_t*>(p) - base); }
};

Result<Algorithm> get_algorithm(const In& in, const nlattr* nla, uint16_t type) {
    const size_t hdr = type == XFRMA_ALG_AUTH_TRUNC ? kAlgoAuthHdr
                       : type == XFRMA_ALG_AEAD     ? kAlgoAeadHdr
                                                    : kAlgoHdr;
    const auto* p = static_cast<const uint8_t*>(nla_data(nla));
    const size_t len = size_t(nla_len(nla));
    Algorithm a;
    size_t n = 0;
    while (n < 64 && p[n] != 0) ++n;
    a.name.assign(reinterpret_cast<const char*>(p), n);
    std::memcpy(&a.key_bits, p + 64, 4);
    if (hdr > kAlgoHdr) std::memcpy(&a.trunc_or_icv_bits, p + 68, 4);
    const size_t key_len = (size_t{a.key_bits} + 7) / 8;
    // xfrm_user.c verify_one_alg: the key must fit in the attribute.
    if (key_len > len - hdr)
        return CodecError{in.name, attribute_name(type), in.offset(nla),
                          "key of " + std::to_string(a.key_bits) + " bits needs " +
                              std::to_string(key_len) + " bytes, only " +
                              std::to_string(len - hdr) + " present"};
    a.key.assign(p + hdr, p + hdr + key_len);
    return a;
}

template <class T>
Result<std::vector<T>> get_array(const In& in, const nlattr* nla, uint16_t type, const char* what) {
    const size_t len = size_t(nla_len(nla));
    if (len == 0 || len % sizeof(T) != 0)
        return CodecError{in.name, attribute_name(type), in.offset(nla),
                          std::to_string(len) + " bytes is not a whole number of " + what + " (" +
                              std::to_string(sizeof(T)) + " bytes each)"};
    std::vector<T> v(len / sizeof(T));
    std::memcpy(v.data(), nla_data(nla), len);
    return v;
}

template <class T>
T get_struct(const nlattr* nla) {
    T v = zeroed<T>();
    std::memcpy(&v, nla_data(nla), sizeof v);
    return v;
}

Result<XfrmMessage> decode_one(const uint8_t* base, const nlmsghdr* h) {
    XfrmMessage m;
    m.type = h->nlmsg_type;
    m.flags = h->nlmsg_flags;
    m.seq = h->nlmsg_seq;
    m.pid = h->nlmsg_pid;
    In in{message_type_name(m.type), base};
    const size_t msg_off = in.offset(h);
    const size_t fixed = fixed_size(m.type);
    const size_t datalen = size_t(nlmsg_datalen(h));
    if (datalen < fixed)
        return CodecError{in.name, "", msg_off + NLMSG_HDRLEN,
                          "payload of " + std::to_string(datalen) + " bytes, " +
                              fixed_name(m.type) + " needs " + std::to_string(fixed)};
    const auto* data = static_cast<const uint8_t*>(nlmsg_data(h));

    // Message types this codec does not model keep their payload whole.
    switch (m.type) {
        case XFRM_MSG_MIGRATE:
        case XFRM_MSG_NEWPOLICY:
        case XFRM_MSG_UPDPOLICY:
        case XFRM_MSG_DELPOLICY:
        case XFRM_MSG_GETPOLICY:
        case XFRM_MSG_FLUSHPOLICY:
        case XFRM_MSG_NEWSA:
        case XFRM_MSG_UPDSA:
        case XFRM_MSG_DELSA:
        case XFRM_MSG_GETSA:
        case XFRM_MSG_FLUSHSA:
        case XFRM_MSG_ACQUIRE:
        case XFRM_MSG_EXPIRE:
        case XFRM_MSG_POLEXPIRE:
        case XFRM_MSG_MAPPING:
        case NLMSG_ERROR: break;
        case NLMSG_DONE: m.body = Done{}; return m;
        default: m.body = Unknown{Bytes(data, data + datalen)}; return m;
    }

    // The fixed header, then attributes from NLMSG_ALIGN(fixed) on. An
    // uncapped error echoes the request before its TLVs.
    size_t attr_start = fixed;
    if (m.type == NLMSG_ERROR) {
        Error e;
        nlmsgerr ne;
        std::memcpy(&ne, data, sizeof ne);
        e.error = ne.error;
        e.request = ne.msg;
        m.body = e;
        if (!(m.flags & NLM_F_ACK_TLVS)) return m;  // the rest is the echoed request
        if (!(m.flags & NLM_F_CAPPED)) {
            if (ne.msg.nlmsg_len < NLMSG_HDRLEN ||
                fixed + (ne.msg.nlmsg_len - NLMSG_HDRLEN) > datalen)
                return CodecError{in.name, "", msg_off + NLMSG_HDRLEN + 4,
                                  "echoed request length " + std::to_string(ne.msg.nlmsg_len) +
                                      " does not fit the error's " + std::to_string(datalen) +
                                      " bytes"};
            attr_start += ne.msg.nlmsg_len - NLMSG_HDRLEN;
        }
    } else if (fixed > 0) {
        // copied below per body
    }
    const size_t aligned = NLMSG_ALIGN(attr_start);
    const int attr_len = aligned >= datalen ? 0 : int(datalen - aligned);
    const auto* head = reinterpret_cast<const nlattr*>(data + aligned);

    std::vector<std::pair<uint16_t, const nlattr*>> attrs;
    const nlattr* nla;
    int rem;
    nla_for_each_attr(nla, head, attr_len, rem) {
        const uint16_t at = uint16_t(nla_type(nla));
        if (m.type != NLMSG_ERROR) {
            const size_t min = attr_min(at);
            if (size_t(nla_len(nla)) < min)
                return CodecError{in.name, attribute_name(at), in.offset(nla),
                                  "payload of " + std::to_string(nla_len(nla)) +
                                      " bytes, at least " + std::to_string(min) + " needed"};
        }
        attrs.emplace_back(at, nla);
    }
    if (rem > 0) {
        const auto* bad = reinterpret_cast<const uint8_t*>(nla);
        uint16_t bad_len = 0;
        if (rem >= 2) std::memcpy(&bad_len, bad, 2);
        return CodecError{in.name, "", in.offset(bad),
                          rem < int(NLA_HDRLEN)
                              ? "trailing " + std::to_string(rem) + " bytes, shorter than an nlattr"
                              : "attribute length " + std::to_string(bad_len) + " invalid (" +
                                    std::to_string(rem) + " bytes left)"};
    }

    auto other = [&](uint16_t at, const nlattr* a) {
        const auto* p = static_cast<const uint8_t*>(nla_data(a));
        m.other_attributes.push_back(RawAttribute{at, Bytes(p, p + nla_len(a))});
    };
    auto policy_type = [](const nlattr* a) { return get_struct<xfrm_userpolicy_type>(a).type; };

    switch (m.type) {
        case XFRM_MSG_MIGRATE: {
            Migrate b;
            std::memcpy(&b.id, data, sizeof b.id);
            for (auto [at, a] : attrs) {
                if (at == XFRMA_MIGRATE) {
                    auto v = get_array<xfrm_user_migrate>(in, a, at, "xfrm_user_migrate");
                    if (!v) return v.error();
                    if (v->size() > kMaxDepth)
                        return CodecError{in.name, "XFRMA_MIGRATE", in.offset(a),
                                          std::to_string(v->size()) +
                                              " entries, at most 6 (XFRM_MAX_DEPTH)"};
                    b.migrate = std::move(v).value();
                } else if (at == XFRMA_KMADDRESS) {
                    b.kmaddress = get_struct<xfrm_user_kmaddress>(a);
                } else if (at == XFRMA_POLICY_TYPE) {
                    b.policy_type = policy_type(a);
                } else {
                    other(at, a);
                }
            }
            // xfrm_user.c copy_from_user_migrate: XFRMA_MIGRATE is required.
            if (b.migrate.empty())
                return CodecError{in.name, "XFRMA_MIGRATE", msg_off, "missing (required)"};
            m.body = std::move(b);
            break;
        }
        case XFRM_MSG_NEWPOLICY:
        case XFRM_MSG_UPDPOLICY: {
            PolicyInfo b;
            std::memcpy(&b.info, data, sizeof b.info);
            for (auto [at, a] : attrs) {
                if (at == XFRMA_TMPL) {
                    auto v = get_array<xfrm_user_tmpl>(in, a, at, "xfrm_user_tmpl");
                    if (!v) return v.error();
                    b.tmpls = std::move(v).value();
                } else if (at == XFRMA_POLICY_TYPE) {
                    b.policy_type = policy_type(a);
                } else if (at == XFRMA_MARK) {
                    b.mark = get_struct<xfrm_mark>(a);
                } else if (at == XFRMA_IF_ID) {
                    b.if_id = get_struct<uint32_t>(a);
                } else {
                    other(at, a);
                }
            }
            m.body = std::move(b);
            break;
        }
        case XFRM_MSG_DELPOLICY:
        case XFRM_MSG_GETPOLICY: {
            PolicyId b;
            std::memcpy(&b.id, data, sizeof b.id);
            for (auto [at, a] : attrs) {
                if (at == XFRMA_POLICY_TYPE) b.policy_type = policy_type(a);
                else if (at == XFRMA_MARK) b.mark = get_struct<xfrm_mark>(a);
                else if (at == XFRMA_IF_ID) b.if_id = get_struct<uint32_t>(a);
                else other(at, a);
            }
            m.body = std::move(b);
            break;
        }
        case XFRM_MSG_FLUSHPOLICY: {
            PolicyFlush b;
            for (auto [at, a] : attrs) {
                if (at == XFRMA_POLICY_TYPE) b.policy_type = policy_type(a);
                else other(at, a);
            }
            m.body = b;
            break;
        }
        case XFRM_MSG_NEWSA:
        case XFRM_MSG_UPDSA: {
            StateInfo b;
            std::memcpy(&b.info, data, sizeof b.info);
            for (auto [at, a] : attrs) {
                std::optional<Algorithm>* alg = nullptr;
                switch (at) {
                    case XFRMA_ALG_AUTH: alg = &b.auth; break;
                    case XFRMA_ALG_AUTH_TRUNC: alg = &b.auth_trunc; break;
                    case XFRMA_ALG_CRYPT: alg = &b.crypt; break;
                    case XFRMA_ALG_AEAD: alg = &b.aead; break;
                    case XFRMA_ALG_COMP: alg = &b.comp; break;
                    default: break;
                }
                if (alg) {
                    auto r = get_algorithm(in, a, at);
                    if (!r) return r.error();
                    *alg = std::move(r).value();
                } else if (at == XFRMA_ENCAP) {
                    b.encap = get_struct<xfrm_encap_tmpl>(a);
                } else if (at == XFRMA_COADDR) {
                    b.coaddr = get_struct<xfrm_address_t>(a);
                } else if (at == XFRMA_MARK) {
                    b.mark = get_struct<xfrm_mark>(a);
                } else if (at == XFRMA_IF_ID) {
                    b.if_id = get_struct<uint32_t>(a);
                } else if (at == XFRMA_SA_EXTRA_FLAGS) {
                    b.extra_flags = get_struct<uint32_t>(a);
                } else {
                    other(at, a);
                }
            }
            m.body = std::move(b);
            break;
        }
        case XFRM_MSG_DELSA:
        case XFRM_MSG_GETSA: {
            StateId b;
            std::memcpy(&b.id, data, sizeof b.id);
            for (auto [at, a] : attrs) {
                if (at == XFRMA_SRCADDR) b.srcaddr = get_struct<xfrm_address_t>(a);
                else if (at == XFRMA_MARK) b.mark = get_struct<xfrm_mark>(a);
                else other(at, a);
            }
            m.body = std::move(b);
            break;
        }
        case XFRM_MSG_FLUSHSA: {
            StateFlush b;
            std::memcpy(&b.flush, data, sizeof b.flush);
            for (auto [at, a] : attrs) other(at, a);
            m.body = b;
            break;
        }
        case XFRM_MSG_ACQUIRE: {
            Acquire b;
            std::memcpy(&b.acquire, data, sizeof b.acquire);
            for (auto [at, a] : attrs) {
                if (at == XFRMA_TMPL) {
                    auto v = get_array<xfrm_user_tmpl>(in, a, at, "xfrm_user_tmpl");
                    if (!v) return v.error();
                    b.tmpls = std::move(v).value();
                } else {
                    other(at, a);
                }
            }
            m.body = std::move(b);
            break;
        }
        case XFRM_MSG_EXPIRE: {
            Expire b;
            std::memcpy(&b.expire, data, sizeof b.expire);
            for (auto [at, a] : attrs) other(at, a);
            m.body = b;
            break;
        }
        case XFRM_MSG_POLEXPIRE: {
            PolExpire b;
            std::memcpy(&b.expire, data, sizeof b.expire);
            for (auto [at, a] : attrs) other(at, a);
            m.body = b;
            break;
        }
        case XFRM_MSG_MAPPING: {
            Mapping b;
            std::memcpy(&b.mapping, data, sizeof b.mapping);
            for (auto [at, a] : attrs) other(at, a);
            m.body = b;
            break;
        }
        case NLMSG_ERROR: {
            auto& e = std::get<Error>(m.body);
            for (auto [at, a] : attrs) {
                if (at == NLMSGERR_ATTR_MSG) {
                    const auto* p = static_cast<const char*>(nla_data(a));
                    size_t n = 0;
                    while (n < size_t(nla_len(a)) && p[n] != 0) ++n;
                    e.ext_ack.assign(p, n);
                } else if (at == NLMSGERR_ATTR_OFFS && nla_len(a) >= 4) {
                    e.ext_ack_offset = nla_get_u32(const_cast<nlattr*>(a));
                }
                // Other ack TLVs (cookie, policy) are not kept.
            }
            break;
        }
        default: break;
    }
    return m;
}

}  // namespace

xfrm_address_t to_xfrm_address(const net::IpAddress& a) {
    auto x = zeroed<xfrm_address_t>();
    if (auto* v4 = std::get_if<net::Ipv4Address>(&a))
        std::memcpy(&x.a4, v4->bytes.data(), 4);
    else
        std::memcpy(&x.a6, std::get<net::Ipv6Address>(a).bytes.data(), 16);
    return x;
}

uint16_t family_of(const net::IpAddress& a) { return net::is_v6(a) ? AF_INET6 : AF_INET; }

std::optional<net::IpAddress> to_ip(uint16_t family, const xfrm_address_t& a) {
    if (family == AF_INET) {
        net::Ipv4Address v4;
        std::memcpy(v4.bytes.data(), &a.a4, 4);
        return v4;
    }
    if (family == AF_INET6) {
        net::Ipv6Address v6;
        std::memcpy(v6.bytes.data(), &a.a6, 16);
        return v6;
    }
    return std::nullopt;
}

Result<Bytes> encode(const XfrmMessage& m) {
    size_t hint = 4096;
    if (auto* u = std::get_if<Unknown>(&m.body)) hint += u->payload.size();
    if (auto* e = std::get_if<Error>(&m.body)) {
        hint += e->ext_ack.size();
        // Only an uncapped ack with TLVs re-creates the echoed request (at most 1 MiB).
        if ((m.flags & NLM_F_ACK_TLVS) && !(m.flags & NLM_F_CAPPED))
            hint += std::min<size_t>(e->request.nlmsg_len, (size_t{1} << 20) + 16);
    }
    for (const auto& a : m.other_attributes) hint += a.payload.size() + 8;
    if (auto* p = std::get_if<PolicyInfo>(&m.body)) hint += p->tmpls.size() * sizeof(xfrm_user_tmpl);
    if (auto* p = std::get_if<Acquire>(&m.body)) hint += p->tmpls.size() * sizeof(xfrm_user_tmpl);
    MsgPtr msg(nlmsg_alloc_size(hint), nlmsg_free);
    Out o{msg.get(), message_type_name(m.type)};
    if (!msg) return CodecError{o.name, "", 0, "nlmsg_alloc failed"};
    if (!nlmsg_put(msg.get(), m.pid, m.seq, m.type, 0, m.flags))
        return CodecError{o.name, "", 0, "nlmsg_put failed"};
    auto r = encode_body(o, m);
    if (!r) return r.error();
    const nlmsghdr* h = nlmsg_hdr(msg.get());
    const auto* p = reinterpret_cast<const uint8_t*>(h);
    return Bytes(p, p + h->nlmsg_len);
}

Result<std::vector<XfrmMessage>> decode(std::span<const uint8_t> bytes) {
    // libnl reads headers in place: give it an aligned copy.
    std::vector<uint64_t> aligned((bytes.size() + 7) / 8 + 1, 0);
    if (!bytes.empty()) std::memcpy(aligned.data(), bytes.data(), bytes.size());
    const auto* base = reinterpret_cast<const uint8_t*>(aligned.data());
    std::vector<XfrmMessage> out;
    int remaining = int(bytes.size());
    if (bytes.size() > size_t(1) << 30) return CodecError{"", "", 0, "datagram too large"};
    auto* h = reinterpret_cast<nlmsghdr*>(aligned.data());
    if (remaining == 0) return CodecError{"", "", 0, "empty datagram"};
    while (nlmsg_ok(h, remaining)) {
        auto m = decode_one(base, h);
        if (!m) return m.error();
        out.push_back(std::move(m).value());
        h = nlmsg_next(h, &remaining);
    }
    if (remaining > 0) {
        const size_t off = size_t(reinterpret_cast<const uint8_t*>(h) - base);
        if (size_t(remaining) < NLMSG_HDRLEN)
            return CodecError{"", "", off,
                              "truncated nlmsghdr: " + std::to_string(remaining) +
                                  " bytes, 16 needed"};
        return CodecError{message_type_name(h->nlmsg_type), "", off,
                          "nlmsg_len " + std::to_string(h->nlmsg_len) +
                              (h->nlmsg_len < NLMSG_HDRLEN ? " is shorter than nlmsghdr"
                                                           : " overruns the datagram (" +
                                                                 std::to_string(remaining) +
                                                                 " bytes left)")};
    }
    return out;
}

std::string message_type_name(uint16_t type) {
    switch (type) {
        case NLMSG_NOOP: return "NLMSG_NOOP";
        case NLMSG_ERROR: return "NLMSG_ERROR";
        case NLMSG_DONE: return "NLMSG_DONE";
        case XFRM_MSG_NEWSA: return "XFRM_MSG_NEWSA";
        case XFRM_MSG_DELSA: return "XFRM_MSG_DELSA";
        case XFRM_MSG_GETSA: return "XFRM_MSG_GETSA";
        case XFRM_MSG_NEWPOLICY: return "XFRM_MSG_NEWPOLICY";
        case XFRM_MSG_DELPOLICY: return "XFRM_MSG_DELPOLICY";
        case XFRM_MSG_GETPOLICY: return "XFRM_MSG_GETPOLICY";
        case XFRM_MSG_ALLOCSPI: return "XFRM_MSG_ALLOCSPI";
        case XFRM_MSG_ACQUIRE: return "XFRM_MSG_ACQUIRE";
        case XFRM_MSG_EXPIRE: return "XFRM_MSG_EXPIRE";
        case XFRM_MSG_UPDPOLICY: return "XFRM_MSG_UPDPOLICY";
        case XFRM_MSG_UPDSA: return "XFRM_MSG_UPDSA";
        case XFRM_MSG_POLEXPIRE: return "XFRM_MSG_POLEXPIRE";
        case XFRM_MSG_FLUSHSA: return "XFRM_MSG_FLUSHSA";
        case XFRM_MSG_FLUSHPOLICY: return "XFRM_MSG_FLUSHPOLICY";
        case XFRM_MSG_NEWAE: return "XFRM_MSG_NEWAE";
        case XFRM_MSG_GETAE: return "XFRM_MSG_GETAE";
        case XFRM_MSG_REPORT: return "XFRM_MSG_REPORT";
        case XFRM_MSG_MIGRATE: return "XFRM_MSG_MIGRATE";
        case XFRM_MSG_NEWSADINFO: return "XFRM_MSG_NEWSADINFO";
        case XFRM_MSG_GETSADINFO: return "XFRM_MSG_GETSADINFO";
        case XFRM_MSG_NEWSPDINFO: return "XFRM_MSG_NEWSPDINFO";
        case XFRM_MSG_GETSPDINFO: return "XFRM_MSG_GETSPDINFO";
        case XFRM_MSG_MAPPING: return "XFRM_MSG_MAPPING";
        default: return "netlink type " + std::to_string(type);
    }
}

std::string attribute_name(uint16_t type) {
    static const char* const names[] = {
        "XFRMA_UNSPEC",        "XFRMA_ALG_AUTH",      "XFRMA_ALG_CRYPT",
        "XFRMA_ALG_COMP",      "XFRMA_ENCAP",         "XFRMA_TMPL",
        "XFRMA_SA",            "XFRMA_POLICY",        "XFRMA_SEC_CTX",
        "XFRMA_LTIME_VAL",     "XFRMA_REPLAY_VAL",    "XFRMA_REPLAY_THRESH",
        "XFRMA_ETIMER_THRESH", "XFRMA_SRCADDR",       "XFRMA_COADDR",
        "XFRMA_LASTUSED",      "XFRMA_POLICY_TYPE",   "XFRMA_MIGRATE",
        "XFRMA_ALG_AEAD",      "XFRMA_KMADDRESS",     "XFRMA_ALG_AUTH_TRUNC",
        "XFRMA_MARK",          "XFRMA_TFCPAD",        "XFRMA_REPLAY_ESN_VAL",
        "XFRMA_SA_EXTRA_FLAGS", "XFRMA_PROTO",        "XFRMA_ADDRESS_FILTER",
        "XFRMA_PAD",           "XFRMA_OFFLOAD_DEV",   "XFRMA_SET_MARK",
        "XFRMA_SET_MARK_MASK", "XFRMA_IF_ID",         "XFRMA_MTIMER_THRESH"};
    if (type < std::size(names)) return names[type];
    return "attribute type " + std::to_string(type);
}

}  // namespace nemokey::pfkey::xfrm
