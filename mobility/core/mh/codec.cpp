#include "mobility/core/mh/codec.hpp"

#include <string>

#include "mobility/core/mh/wire.hpp"

namespace nemokey::mobility::mh {

namespace {

using namespace wire;

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

DecodeError unencodable(std::string detail, uint32_t value = 0) {
    return decode_error(DecodeErrorKind::unencodable, 0, value, std::move(detail));
}

// Octets after the 6-octet common part, before the options, per MH Type
// (RFC 6275 sec. 6.1.2-6.1.9).
constexpr size_t fixed_octets[8] = {2, 10, 10, 18, 18, 6, 6, 18};
constexpr size_t common_octets = 6;

const char* option_name(uint8_t type) {
    switch (static_cast<MobilityOptionType>(type)) {
        case MobilityOptionType::pad1: return "Pad1";
        case MobilityOptionType::padn: return "PadN";
        case MobilityOptionType::binding_refresh_advice: return "Binding Refresh Advice";
        case MobilityOptionType::alternate_care_of_address: return "Alternate Care-of Address";
        case MobilityOptionType::nonce_indices: return "Nonce Indices";
        case MobilityOptionType::binding_authorization_data: return "Binding Authorization Data";
        case MobilityOptionType::mobile_network_prefix: return "Mobile Network Prefix";
        case MobilityOptionType::ipv4_home_address: return "IPv4 Home Address";
        case MobilityOptionType::ipv4_address_acknowledgement: return "IPv4 Address Acknowledgement";
        case MobilityOptionType::nat_detection: return "NAT Detection";
        case MobilityOptionType::ipv4_care_of_address: return "IPv4 Care-of Address";
        case MobilityOptionType::binding_identifier: return "Binding Identifier";
        case MobilityOptionType::flow_summary: return "Flow Summary";
        case MobilityOptionType::flow_identification: return "Flow Identification";
    }
    return "unknown";
}

std::string option_label(uint8_t type) {
    return std::string(option_name(type)) + " option (type " + std::to_string(type) + ")";
}

// Flow Identification sub-option types (RFC 6089 sec. 4.2.1).
constexpr uint8_t fid_sub_pad1 = 0;
constexpr uint8_t fid_sub_padn = 1;
constexpr uint8_t fid_sub_binding_reference = 2;
constexpr uint8_t fid_sub_traffic_selector = 3;

// Where the encoder places each option (its Type octet at xn+y); strict
// decoding checks the same rules.
Alignment placement(uint8_t type, size_t length) {
    switch (static_cast<MobilityOptionType>(type)) {
        case MobilityOptionType::binding_refresh_advice: return {2, 0};     // RFC 6275 sec. 6.2.4
        case MobilityOptionType::alternate_care_of_address: return {8, 6};  // sec. 6.2.5
        case MobilityOptionType::nonce_indices: return {2, 0};              // sec. 6.2.6
        case MobilityOptionType::binding_authorization_data: return {8, 2}; // sec. 6.2.7
        case MobilityOptionType::mobile_network_prefix: return {8, 4};      // RFC 3963 sec. 4.3
        // RFC 5648 sec. 4.3: 2n without a care-of address, 8n+2 with one
        // (IPv4 or IPv6), so the address starts on an 8-octet boundary.
        case MobilityOptionType::binding_identifier:
            return length == 8 || length == 20 ? Alignment{8, 2} : Alignment{2, 0};
        case MobilityOptionType::flow_summary: return {2, 0};               // RFC 6089 sec. 4.2.2
        case MobilityOptionType::flow_identification: return {2, 0};        // RFC 6089 sec. 4.2
        case MobilityOptionType::ipv4_home_address:                         // RFC 5555 sec. 3.1.1
        case MobilityOptionType::ipv4_address_acknowledgement:              // sec. 3.2.1
        case MobilityOptionType::nat_detection:                             // sec. 3.2.2
        case MobilityOptionType::ipv4_care_of_address: return {4, 0};       // sec. 3.1.2
        default: return {1, 0};
    }
}

bool is_known_type(uint8_t t) {
    switch (static_cast<MobilityOptionType>(t)) {
        case MobilityOptionType::binding_refresh_advice:
        case MobilityOptionType::alternate_care_of_address:
        case MobilityOptionType::nonce_indices:
        case MobilityOptionType::binding_authorization_data:
        case MobilityOptionType::mobile_network_prefix:
        case MobilityOptionType::binding_identifier:
        case MobilityOptionType::flow_summary:
        case MobilityOptionType::flow_identification:
        case MobilityOptionType::ipv4_home_address:
        case MobilityOptionType::ipv4_address_acknowledgement:
        case MobilityOptionType::nat_detection:
        case MobilityOptionType::ipv4_care_of_address: return true;
        default: return false;
    }
}

// ---------- option decoding ----------

struct OptionCursor {
    const uint8_t* data;  // option data (after Type and Length)
    uint8_t type;
    uint8_t length;
    size_t offset;        // of the Type octet, from the MH start
};

DecodeError bad_length(const OptionCursor& c, const char* expected) {
    return decode_error(DecodeErrorKind::bad_option_length, c.offset + 1, c.length,
                      option_label(c.type) + " has Option Length " + std::to_string(c.length) +
                          ", expected " + expected);
}

Result<FlowIdentification> decode_flow_identification(const OptionCursor& c) {
    if (c.length < 6) return bad_length(c, ">= 6");
    FlowIdentification f;
    f.flow_id = get16(c.data);
    f.flow_id_priority = get16(c.data + 2);
    f.status = static_cast<FlowBindingStatus>(c.data[5]);
    size_t i = 6;
    while (i < c.length) {
        const size_t at = c.offset + 2 + i;
        const uint8_t t = c.data[i];
        if (t == fid_sub_pad1) {
            ++i;
            continue;
        }
        if (i + 2 > c.length || i + 2 + c.data[i + 1] > c.length)
            return decode_error(DecodeErrorKind::option_overrun, at, t,
                              "Flow Identification sub-option type " + std::to_string(t) +
                                  " runs past the end of its option");
        const uint8_t len = c.data[i + 1];
        const uint8_t* d = c.data + i + 2;
        if (t == fid_sub_binding_reference) {
            if (len == 0 || len % 2 != 0)
                return decode_error(DecodeErrorKind::bad_option_length, at + 1, len,
                                  "Binding Reference sub-option length " + std::to_string(len) +
                                      " is not a non-zero multiple of 2");
            FlowBindingReference r;
            for (size_t k = 0; k < len; k += 2) r.binding_ids.push_back(get16(d + k));
            f.sub_options.emplace_back(std::move(r));
        } else if (t == fid_sub_traffic_selector) {
            if (len < 2)
                return decode_error(DecodeErrorKind::bad_option_length, at + 1, len,
                                  "Traffic Selector sub-option length " + std::to_string(len) +
                                      " is below 2");
            FlowTrafficSelector s;
            s.ts_format = d[0];
            s.traffic_selector.assign(d + 2, d + len);
            f.sub_options.emplace_back(std::move(s));
        } else if (t != fid_sub_padn) {
            f.sub_options.emplace_back(FlowUnknownSubOption{t, std::vector<uint8_t>(d, d + len)});
        }
        i += 2 + size_t{len};
    }
    return f;
}

Result<MobilityOption> decode_option(const OptionCursor& c) {
    const uint8_t* d = c.data;
    switch (static_cast<MobilityOptionType>(c.type)) {
        case MobilityOptionType::binding_refresh_advice:
            if (c.length != 2) return bad_length(c, "2");
            return MobilityOption{BindingRefreshAdvice{get16(d)}};
        case MobilityOptionType::alternate_care_of_address:
            if (c.length != 16) return bad_length(c, "16");
            return MobilityOption{AlternateCareOfAddress{get_v6(d)}};
        case MobilityOptionType::nonce_indices:
            if (c.length != 4) return bad_length(c, "4");
            return MobilityOption{NonceIndices{get16(d), get16(d + 2)}};
        case MobilityOptionType::binding_authorization_data:
            return MobilityOption{BindingAuthorizationData{std::vector<uint8_t>(d, d + c.length)}};
        case MobilityOptionType::mobile_network_prefix:
            if (c.length != 18) return bad_length(c, "18");
            // A Prefix Length over 128 is kept: RFC 3963 sec. 6.2 answers it
            // with BA status 141 (invalid prefix), a binding-cache decision.
            return MobilityOption{MobileNetworkPrefix{d[1], get_v6(d + 2)}};
        case MobilityOptionType::binding_identifier: {
            if (c.length != 4 && c.length != 8 && c.length != 20) return bad_length(c, "4, 8 or 20");
            BindingIdentifier b;
            b.binding_id = get16(d);
            b.status = static_cast<BindingAckStatus>(d[2]);
            b.simultaneous_home_and_foreign = (d[3] & 0x80) != 0;
            b.bid_priority = d[3] & 0x7f;
            if (c.length == 8) b.care_of_address = get_v4(d + 4);
            if (c.length == 20) b.care_of_address = get_v6(d + 4);
            return MobilityOption{std::move(b)};
        }
        case MobilityOptionType::flow_summary: {
            if (c.length == 0 || c.length % 2 != 0) return bad_length(c, "a non-zero multiple of 2");
            FlowSummary s;
            for (size_t k = 0; k < c.length; k += 2) s.flow_ids.push_back(get16(d + k));
            return MobilityOption{std::move(s)};
        }
        case MobilityOptionType::flow_identification: {
            auto f = decode_flow_identification(c);
            if (!f) return f.error();
            return MobilityOption{std::move(f).value()};
        }
        case MobilityOptionType::ipv4_home_address: {
            if (c.length != 6) return bad_length(c, "6");
            const uint16_t w = get16(d);
            return MobilityOption{Ipv4HomeAddress{static_cast<uint8_t>(w >> 10),
                                                  (w & 0x0200) != 0, get_v4(d + 2)}};
        }
        case MobilityOptionType::ipv4_address_acknowledgement:
            if (c.length != 6) return bad_length(c, "6");
            return MobilityOption{Ipv4AddressAcknowledgement{
                static_cast<Ipv4AddressAckStatus>(d[0]), static_cast<uint8_t>(d[1] >> 2),
                get_v4(d + 2)}};
        case MobilityOptionType::nat_detection:
            if (c.length != 6) return bad_length(c, "6");
            return MobilityOption{NatDetection{(d[0] & 0x80) != 0, get32(d + 2)}};
        case MobilityOptionType::ipv4_care_of_address:
            if (c.length != 6) return bad_length(c, "6");
            return MobilityOption{Ipv4CareOfAddress{get_v4(d + 2)}};
        default:
            // RFC 6275 sec. 6.2.1: unrecognised options are skipped by their
            // length; the value is kept for whoever wants to look.
            return MobilityOption{UnknownMobilityOption{c.type, std::vector<uint8_t>(d, d + c.length)}};
    }
}

Result<MobilityOptions> decode_options_impl(std::span<const uint8_t> r, size_t base, bool strict,
                                            size_t* unknown_count) {
    MobilityOptions out;
    size_t i = 0;
    bool seen_authorization_data = false;
    while (i < r.size()) {
        const uint8_t t = r[i];
        if (t == static_cast<uint8_t>(MobilityOptionType::pad1)) {
            ++i;
            continue;
        }
        if (i + 2 > r.size())
            return decode_error(DecodeErrorKind::option_overrun, base + i, t,
                              option_label(t) + " has no room for its Option Length octet");
        const uint8_t len = r[i + 1];
        if (i + 2 + len > r.size())
            return decode_error(DecodeErrorKind::option_overrun, base + i + 1, len,
                              option_label(t) + " with Option Length " + std::to_string(len) +
                                  " runs " + std::to_string(i + 2 + len - r.size()) +
                                  " octets past the end of the message");
        if (t != static_cast<uint8_t>(MobilityOptionType::padn)) {
            // RFC 6275 sec. 6.2.7: Binding Authorization Data is the last
            // option (the authenticator covers the message up to it).
            if (seen_authorization_data)
                return decode_error(DecodeErrorKind::option_after_authorization_data, base + i, t,
                                  option_label(t) + " follows the Binding Authorization Data option");
            if (strict && is_known_type(t)) {
                const Alignment a = placement(t, len);  // the RFC's rule, as the encoder applies it
                if (padding_for(base + i, a.x, a.y) != 0)
                    return decode_error(DecodeErrorKind::misaligned_option, base + i, t,
                                      option_label(t) + " at offset " + std::to_string(base + i) +
                                          " breaks its " + std::to_string(a.x) + "n+" +
                                          std::to_string(a.y) + " alignment");
            }
            auto o = decode_option(OptionCursor{r.data() + i + 2, t, len, base + i});
            if (!o) return o.error();
            if (unknown_count && std::holds_alternative<UnknownMobilityOption>(o.value()))
                ++*unknown_count;
            if (t == static_cast<uint8_t>(MobilityOptionType::binding_authorization_data))
                seen_authorization_data = true;
            out.push_back(std::move(o).value());
        }
        i += 2 + size_t{len};
    }
    return out;
}

// ---------- option encoding ----------

size_t sub_option_length(const FlowIdentificationSubOption& s) {
    return std::visit(Overloaded{[](const FlowBindingReference& r) { return r.binding_ids.size() * 2; },
                                 [](const FlowTrafficSelector& t) { return t.traffic_selector.size() + 2; },
                                 [](const FlowUnknownSubOption& u) { return u.data.size(); }},
                      s);
}

std::optional<DecodeError> check_sub_option(const FlowIdentificationSubOption& s) {
    const size_t len = sub_option_length(s);
    if (len > 255)
        return unencodable("Flow Identification sub-option of " + std::to_string(len) +
                               " octets exceeds 255",
                           static_cast<uint32_t>(len));
    if (const auto* u = std::get_if<FlowUnknownSubOption>(&s);
        u && u->type <= fid_sub_traffic_selector)
        return unencodable("Flow Identification unknown sub-option uses type " +
                               std::to_string(u->type) + ", which has its own meaning",
                           u->type);
    if (const auto* r = std::get_if<FlowBindingReference>(&s); r && r->binding_ids.empty())
        return unencodable("Binding Reference sub-option without a BID");
    return std::nullopt;
}

std::optional<DecodeError> encode_option(const MobilityOption& option, std::vector<uint8_t>& o) {
    using Err = std::optional<DecodeError>;
    auto header = [&o](MobilityOptionType t, size_t len) {
        put8(o, static_cast<uint8_t>(t));
        put8(o, static_cast<uint8_t>(len));
    };
    return std::visit(
        Overloaded{
            [&](const BindingRefreshAdvice& v) -> Err {
                header(MobilityOptionType::binding_refresh_advice, 2);
                put16(o, v.refresh_interval);
                return std::nullopt;
            },
            [&](const AlternateCareOfAddress& v) -> Err {
                header(MobilityOptionType::alternate_care_of_address, 16);
                put_v6(o, v.alternate_care_of_address);
                return std::nullopt;
            },
            [&](const NonceIndices& v) -> Err {
                header(MobilityOptionType::nonce_indices, 4);
                put16(o, v.home_nonce_index);
                put16(o, v.care_of_nonce_index);
                return std::nullopt;
            },
            [&](const BindingAuthorizationData& v) -> Err {
                if (v.authenticator.size() > 255)
                    return unencodable("Binding Authorization Data authenticator of " +
                                           std::to_string(v.authenticator.size()) +
                                           " octets exceeds 255",
                                       static_cast<uint32_t>(v.authenticator.size()));
                header(MobilityOptionType::binding_authorization_data, v.authenticator.size());
                o.insert(o.end(), v.authenticator.begin(), v.authenticator.end());
                return std::nullopt;
            },
            [&](const MobileNetworkPrefix& v) -> Err {
                if (v.prefix_length > 128)
                    return unencodable("Mobile Network Prefix length " +
                                           std::to_string(v.prefix_length) + " exceeds 128",
                                       v.prefix_length);
                header(MobilityOptionType::mobile_network_prefix, 18);
                put8(o, 0);
                put8(o, v.prefix_length);
                put_v6(o, v.prefix);
                return std::nullopt;
            },
            [&](const BindingIdentifier& v) -> Err {
                if (v.bid_priority > 0x7f)
                    return unencodable("Binding Identifier BID-PRI " +
                                           std::to_string(v.bid_priority) + " exceeds 127",
                                       v.bid_priority);
                size_t len = 4;
                if (v.care_of_address) len = net::is_v6(*v.care_of_address) ? 20 : 8;
                header(MobilityOptionType::binding_identifier, len);
                put16(o, v.binding_id);
                put8(o, static_cast<uint8_t>(v.status));
                put8(o, static_cast<uint8_t>((v.simultaneous_home_and_foreign ? 0x80 : 0) |
                                             v.bid_priority));
                if (v.care_of_address) {
                    if (const auto* a6 = std::get_if<Ipv6Address>(&*v.care_of_address)) put_v6(o, *a6);
                    else put_v4(o, std::get<Ipv4Address>(*v.care_of_address));
                }
                return std::nullopt;
            },
            [&](const FlowIdentification& v) -> Err {
                size_t len = 6;
                for (const auto& s : v.sub_options) {
                    if (auto e = check_sub_option(s)) return e;
                    len += 2 + sub_option_length(s);
                }
                if (len > 255)
                    return unencodable("Flow Identification option of " + std::to_string(len) +
                                           " octets exceeds 255",
                                       static_cast<uint32_t>(len));
                header(MobilityOptionType::flow_identification, len);
                put16(o, v.flow_id);
                put16(o, v.flow_id_priority);
                put8(o, 0);
                put8(o, static_cast<uint8_t>(v.status));
                for (const auto& s : v.sub_options) {
                    std::visit(Overloaded{
                                   [&](const FlowBindingReference& r) {
                                       put8(o, fid_sub_binding_reference);
                                       put8(o, static_cast<uint8_t>(r.binding_ids.size() * 2));
                                       for (uint16_t b : r.binding_ids) put16(o, b);
                                   },
                                   [&](const FlowTrafficSelector& t) {
                                       put8(o, fid_sub_traffic_selector);
                                       put8(o, static_cast<uint8_t>(t.traffic_selector.size() + 2));
                                       put8(o, t.ts_format);
                                       put8(o, 0);
                                       o.insert(o.end(), t.traffic_selector.begin(),
                                                t.traffic_selector.end());
                                   },
                                   [&](const FlowUnknownSubOption& u) {
                                       put8(o, u.type);
                                       put8(o, static_cast<uint8_t>(u.data.size()));
                                       o.insert(o.end(), u.data.begin(), u.data.end());
                                   },
                               },
                               s);
                }
                return std::nullopt;
            },
            [&](const FlowSummary& v) -> Err {
                if (v.flow_ids.empty() || v.flow_ids.size() > 127)
                    return unencodable("Flow Summary needs 1..127 flow identifiers, has " +
                                           std::to_string(v.flow_ids.size()),
                                       static_cast<uint32_t>(v.flow_ids.size()));
                header(MobilityOptionType::flow_summary, v.flow_ids.size() * 2);
                for (uint16_t f : v.flow_ids) put16(o, f);
                return std::nullopt;
            },
            [&](const Ipv4HomeAddress& v) -> Err {
                if (v.prefix_length > 63)
                    return unencodable("IPv4 Home Address Prefix-len " +
                                           std::to_string(v.prefix_length) + " exceeds 6 bits",
                                       v.prefix_length);
                header(MobilityOptionType::ipv4_home_address, 6);
                put16(o, static_cast<uint16_t>((v.prefix_length << 10) |
                                               (v.prefix_requested ? 0x0200 : 0)));
                put_v4(o, v.home_address);
                return std::nullopt;
            },
            [&](const Ipv4AddressAcknowledgement& v) -> Err {
                if (v.prefix_length > 63)
                    return unencodable("IPv4 Address Acknowledgement Pref-len " +
                                           std::to_string(v.prefix_length) + " exceeds 6 bits",
                                       v.prefix_length);
                header(MobilityOptionType::ipv4_address_acknowledgement, 6);
                put8(o, static_cast<uint8_t>(v.status));
                put8(o, static_cast<uint8_t>(v.prefix_length << 2));
                put_v4(o, v.home_address);
                return std::nullopt;
            },
            [&](const NatDetection& v) -> Err {
                header(MobilityOptionType::nat_detection, 6);
                put16(o, v.udp_encapsulation_required ? 0x8000 : 0);
                put32(o, v.refresh_time);
                return std::nullopt;
            },
            [&](const Ipv4CareOfAddress& v) -> Err {
                header(MobilityOptionType::ipv4_care_of_address, 6);
                put16(o, 0);
                put_v4(o, v.care_of_address);
                return std::nullopt;
            },
            [&](const UnknownMobilityOption& v) -> Err {
                if (v.type <= 1 || is_known_type(v.type))
                    return unencodable("unknown mobility option uses type " +
                                           std::to_string(v.type) + ", which has its own meaning",
                                       v.type);
                if (v.data.size() > 255)
                    return unencodable("mobility option type " + std::to_string(v.type) + " of " +
                                           std::to_string(v.data.size()) + " octets exceeds 255",
                                       static_cast<uint32_t>(v.data.size()));
                put8(o, v.type);
                put8(o, static_cast<uint8_t>(v.data.size()));
                o.insert(o.end(), v.data.begin(), v.data.end());
                return std::nullopt;
            },
        },
        option);
}

const MobilityOptions& options_of(const Message& m) {
    return std::visit([](const auto& v) -> const MobilityOptions& { return v.options; }, m);
}

void encode_fixed(const Message& m, std::vector<uint8_t>& o) {
    std::visit(Overloaded{
                   [&](const BindingRefreshRequest&) { put16(o, 0); },
                   [&](const HomeTestInit& v) {
                       put16(o, 0);
                       put64(o, v.home_init_cookie);
                   },
                   [&](const CareOfTestInit& v) {
                       put16(o, 0);
                       put64(o, v.care_of_init_cookie);
                   },
                   [&](const HomeTest& v) {
                       put16(o, v.home_nonce_index);
                       put64(o, v.home_init_cookie);
                       put64(o, v.home_keygen_token);
                   },
                   [&](const CareOfTest& v) {
                       put16(o, v.care_of_nonce_index);
                       put64(o, v.care_of_init_cookie);
                       put64(o, v.care_of_keygen_token);
                   },
                   [&](const BindingUpdate& v) {
                       put16(o, v.sequence_number);
                       uint16_t f = 0;
                       if (v.acknowledge) f |= 0x8000;
                       if (v.home_registration) f |= 0x4000;
                       if (v.link_local_address_compatibility) f |= 0x2000;
                       if (v.key_management_mobility_capability) f |= 0x1000;
                       if (v.map_registration) f |= 0x0800;
                       if (v.mobile_router) f |= 0x0400;
                       if (v.proxy_registration) f |= 0x0200;
                       if (v.force_udp_encapsulation) f |= 0x0100;
                       if (v.tlv_header_format) f |= 0x0080;
                       // One bit, two flags: B (RFC 6602) in a Proxy BU, O
                       // (RFC 5648 sec. 4.2) otherwise; check_fixed refused the mix.
                       if (v.proxy_registration ? v.bulk_binding_update : v.overwrite) f |= 0x0040;
                       put16(o, f);
                       put16(o, v.lifetime);
                   },
                   [&](const BindingAcknowledgement& v) {
                       put8(o, static_cast<uint8_t>(v.status));
                       uint8_t f = 0;
                       if (v.key_management_mobility_capability) f |= 0x80;
                       if (v.mobile_router) f |= 0x40;
                       if (v.proxy_registration) f |= 0x20;
                       if (v.tlv_header_format) f |= 0x10;
                       if (v.bulk_binding_update) f |= 0x08;
                       put8(o, f);
                       put16(o, v.sequence_number);
                       put16(o, v.lifetime);
                   },
                   [&](const BindingError& v) {
                       put8(o, static_cast<uint8_t>(v.status));
                       put8(o, 0);
                       put_v6(o, v.home_address);
                   },
               },
               m);
}

// Values of the fixed part that have no wire form.
std::optional<DecodeError> check_fixed(const Message& m) {
    const auto* bu = std::get_if<BindingUpdate>(&m);
    if (!bu) return std::nullopt;
    if (bu->bulk_binding_update && !bu->proxy_registration)
        return unencodable("BU flag B (RFC 6602) is defined only with P; without P bit 0x0040 "
                           "is O (RFC 5648 sec. 4.2)");
    if (bu->overwrite && bu->proxy_registration)
        return unencodable("BU flag O (RFC 5648 sec. 4.2) cannot be sent with P: bit 0x0040 "
                           "is then B (RFC 6602)");
    return std::nullopt;
}

Message decode_fixed(uint8_t type, const uint8_t* d, MobilityOptions&& opts) {
    switch (type) {
        case 0: return BindingRefreshRequest{std::move(opts)};
        case 1: return HomeTestInit{get64(d + 2), std::move(opts)};
        case 2: return CareOfTestInit{get64(d + 2), std::move(opts)};
        case 3: return HomeTest{get16(d), get64(d + 2), get64(d + 10), std::move(opts)};
        case 4: return CareOfTest{get16(d), get64(d + 2), get64(d + 10), std::move(opts)};
        case 5: {
            BindingUpdate b;
            b.sequence_number = get16(d);
            const uint16_t f = get16(d + 2);
            b.acknowledge = f & 0x8000;
            b.home_registration = f & 0x4000;
            b.link_local_address_compatibility = f & 0x2000;
            b.key_management_mobility_capability = f & 0x1000;
            b.map_registration = f & 0x0800;
            b.mobile_router = f & 0x0400;
            b.proxy_registration = f & 0x0200;
            b.force_udp_encapsulation = f & 0x0100;
            b.tlv_header_format = f & 0x0080;
            if (b.proxy_registration) b.bulk_binding_update = f & 0x0040;  // B, RFC 6602
            else b.overwrite = f & 0x0040;                                 // O, RFC 5648 sec. 4.2
            b.lifetime = get16(d + 4);
            b.options = std::move(opts);
            return b;
        }
        case 6: {
            BindingAcknowledgement a;
            a.status = static_cast<BindingAckStatus>(d[0]);
            const uint8_t f = d[1];
            a.key_management_mobility_capability = f & 0x80;
            a.mobile_router = f & 0x40;
            a.proxy_registration = f & 0x20;
            a.tlv_header_format = f & 0x10;
            a.bulk_binding_update = f & 0x08;
            a.sequence_number = get16(d + 2);
            a.lifetime = get16(d + 4);
            a.options = std::move(opts);
            return a;
        }
        default:
            return BindingError{static_cast<BindingErrorStatus>(d[0]), get_v6(d + 2), std::move(opts)};
    }
}

std::string hex16(uint16_t v) {
    static const char* digits = "0123456789abcdef";
    std::string s = "0x";
    for (int i = 3; i >= 0; --i) s += digits[(v >> (4 * i)) & 0xf];
    return s;
}

}  // namespace

const char* to_string(DecodeErrorKind k) {
    switch (k) {
        case DecodeErrorKind::truncated: return "truncated";
        case DecodeErrorKind::bad_payload_proto: return "bad payload proto";
        case DecodeErrorKind::bad_header_length: return "bad header length";
        case DecodeErrorKind::bad_checksum: return "bad checksum";
        case DecodeErrorKind::unrecognized_mh_type: return "unrecognized MH type";
        case DecodeErrorKind::option_overrun: return "option overrun";
        case DecodeErrorKind::bad_option_length: return "bad option length";
        case DecodeErrorKind::bad_option_value: return "bad option value";
        case DecodeErrorKind::misaligned_option: return "misaligned option";
        case DecodeErrorKind::option_after_authorization_data: return "option after authorization data";
        case DecodeErrorKind::bad_extension_header: return "bad extension header";
        case DecodeErrorKind::bad_udp_encapsulation: return "bad UDP encapsulation";
        case DecodeErrorKind::unencodable: return "unencodable";
        case DecodeErrorKind::bad_ipv6_header: return "bad IPv6 header";
    }
    return "unknown";
}

std::string DecodeError::message() const {
    return std::string(to_string(kind)) + " at offset " + std::to_string(offset) + " (value " +
           std::to_string(value) + "): " + detail;
}

uint16_t mh_checksum(const PseudoHeader& pseudo, std::span<const uint8_t> mh) {
    // RFC 8200 sec. 8.1: source, destination, 32-bit upper-layer length,
    // three zero octets and the next header (135, RFC 6275 sec. 6.1.1).
    uint64_t acc = sum16(pseudo.source.bytes);
    acc = sum16(pseudo.destination.bytes, acc);
    const auto len = static_cast<uint32_t>(mh.size());
    acc += (len >> 16) + (len & 0xffff);
    acc += ip_proto_mobility_header;
    acc = sum16(mh, acc);
    return static_cast<uint16_t>(~fold(acc));
}

Alignment alignment_of(const MobilityOption& option) {
    return std::visit(
        Overloaded{
            [](const BindingRefreshAdvice&) { return placement(2, 2); },
            [](const AlternateCareOfAddress&) { return placement(3, 16); },
            [](const NonceIndices&) { return placement(4, 4); },
            [](const BindingAuthorizationData&) { return placement(5, 12); },
            [](const MobileNetworkPrefix&) { return placement(6, 18); },
            [](const BindingIdentifier& b) {
                const size_t len = !b.care_of_address ? 4 : net::is_v6(*b.care_of_address) ? 20 : 8;
                return placement(35, len);
            },
            [](const FlowSummary&) { return placement(44, 2); },
            [](const FlowIdentification&) { return placement(45, 6); },
            [](const Ipv4HomeAddress&) { return placement(29, 6); },
            [](const Ipv4AddressAcknowledgement&) { return placement(30, 6); },
            [](const NatDetection&) { return placement(31, 6); },
            [](const Ipv4CareOfAddress&) { return placement(32, 6); },
            [](const UnknownMobilityOption&) { return Alignment{1, 0}; },
        },
        option);
}

std::optional<BindingError> binding_error_for(const DecodeError& error, const Ipv6Address& home_address) {
    if (error.reaction != ReceiverReaction::discard_send_binding_error) return std::nullopt;
    return BindingError{static_cast<BindingErrorStatus>(error.binding_error_status), home_address, {}};
}

std::optional<uint8_t> minimum_header_len(uint8_t mh_type) {
    if (mh_type > 7) return std::nullopt;
    // (6 + fixed part) rounded up to 8 octets, in 8-octet units past the first 8.
    return static_cast<uint8_t>((common_octets + fixed_octets[mh_type] + 7) / 8 - 1);
}

Result<MobilityOptions> decode_options(std::span<const uint8_t> region, size_t base_offset,
                                       bool strict_alignment) {
    return decode_options_impl(region, base_offset, strict_alignment, nullptr);
}

Result<DecodedMessage> decode(std::span<const uint8_t> data, const DecodeOptions& options) {
    if (data.size() < 8)
        return decode_error(DecodeErrorKind::truncated, data.size(), static_cast<uint32_t>(data.size()),
                          "Mobility Header of " + std::to_string(data.size()) +
                              " octets is shorter than its 8-octet minimum");
    MobilityHeader h;
    h.payload_proto = data[0];
    h.header_len = data[1];
    h.mh_type = data[2];
    h.reserved = data[3];
    h.checksum = get16(data.data() + 4);
    const size_t total = h.length_octets();
    if (total > data.size())
        return decode_error(DecodeErrorKind::bad_header_length, 1, h.header_len,
                          "Header Len " + std::to_string(h.header_len) + " means " +
                              std::to_string(total) + " octets but only " +
                              std::to_string(data.size()) + " are present");
    // The MH is what Header Len says (RFC 6275 sec. 6.1.1). Octets after it
    // follow a header whose Payload Proto is 59 (no next header): RFC 8200
    // sec. 4.7 says they are ignored. The checksum covers the MH only, the
    // pseudo-header length being "the total length of the Mobility Header".
    const auto mh = data.first(total);
    // RFC 6275 sec. 9.2: a checksum that does not verify -> silent discard.
    if (options.verify_checksum && mh_checksum(*options.verify_checksum, mh) != 0)
        return decode_error(DecodeErrorKind::bad_checksum, 4, h.checksum,
                          "checksum " + hex16(h.checksum) +
                              " does not verify over the IPv6 pseudo-header");
    // RFC 6275 sec. 9.2: unknown MH Type -> Binding Error status 2.
    if (h.mh_type > 7) {
        DecodeError e = decode_error(DecodeErrorKind::unrecognized_mh_type, 2, h.mh_type,
                                   "MH Type " + std::to_string(h.mh_type) + " is not recognized",
                                   ReceiverReaction::discard_send_binding_error);
        e.binding_error_status = static_cast<uint8_t>(BindingErrorStatus::unrecognized_mh_type_value);
        return e;
    }
    // RFC 6275 sec. 9.2: Payload Proto must be IPPROTO_NONE (59); otherwise
    // discard and send ICMP Parameter Problem code 0 pointing at it.
    if (h.payload_proto != ip_proto_none)
        return decode_error(DecodeErrorKind::bad_payload_proto, 0, h.payload_proto,
                          "Payload Proto " + std::to_string(h.payload_proto) +
                              " is not 59 (no next header)",
                          ReceiverReaction::discard_send_icmp_parameter_problem);
    // RFC 6275 sec. 9.2: Header Len below the type's minimum -> discard and
    // ICMP Parameter Problem code 0 pointing at Header Len.
    const uint8_t min_hl = *minimum_header_len(h.mh_type);
    if (h.header_len < min_hl)
        return decode_error(DecodeErrorKind::bad_header_length, 1, h.header_len,
                          "Header Len " + std::to_string(h.header_len) + " is below " +
                              std::to_string(min_hl) + ", the minimum for MH Type " +
                              std::to_string(h.mh_type),
                          ReceiverReaction::discard_send_icmp_parameter_problem);
    const size_t opt_start = common_octets + fixed_octets[h.mh_type];
    size_t unknown = 0;
    auto opts = decode_options_impl(mh.subspan(opt_start), opt_start, options.strict_alignment, &unknown);
    if (!opts) return opts.error();
    return DecodedMessage{h, decode_fixed(h.mh_type, mh.data() + common_octets, std::move(opts).value()),
                          unknown, data.size() - total};
}

Result<size_t> encode_into(const Message& message, std::vector<uint8_t>& o,
                           const EncodeOptions& options) {
    o.clear();
    o.reserve(64);
    put8(o, options.payload_proto);
    put8(o, 0);  // Header Len, set below
    put8(o, static_cast<uint8_t>(message.index()));
    put8(o, 0);
    put16(o, 0);  // Checksum, set below
    if (auto err = check_fixed(message)) return *err;
    encode_fixed(message, o);
    for (const auto& opt : options_of(message)) {
        const Alignment a = alignment_of(opt);
        put_padding(o, padding_for(o.size(), a.x, a.y));
        if (auto err = encode_option(opt, o)) return *err;
    }
    // RFC 6275 sec. 6.1.1: the MH is a multiple of 8 octets long.
    put_padding(o, padding_for(o.size(), 8, 0));
    if (o.size() > 2048)
        return unencodable("Mobility Header of " + std::to_string(o.size()) +
                               " octets exceeds 2048 (Header Len 255)",
                           static_cast<uint32_t>(o.size()));
    o[1] = static_cast<uint8_t>(o.size() / 8 - 1);
    if (options.checksum) set16(o, 4, mh_checksum(*options.checksum, o));
    return o.size();
}

Result<std::vector<uint8_t>> encode(const Message& message, const EncodeOptions& options) {
    std::vector<uint8_t> out;
    auto r = encode_into(message, out, options);
    if (!r) return r.error();
    return out;
}

}  // namespace nemokey::mobility::mh
