// Typed model of the Mobility Header (RFC 6275 sec. 6.1) and its mobility
// options (RFC 6275 sec. 6.2, RFC 3963, RFC 5648, RFC 6089, RFC 5555).
// Plain values, no I/O: codec.hpp turns them into bytes and back.
//
// Stability: other parts of mobility/core build on these names. Add fields
// and enumerators; do not rename or remove them.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <variant>
#include <vector>

#include "conf/net/address.hpp"

namespace nemokey::mobility::mh {

using net::Ipv4Address;
using net::Ipv6Address;

// IPv6 Next Header value of the Mobility Header (RFC 6275 sec. 6.1.1).
inline constexpr uint8_t ip_proto_mobility_header = 135;
// Payload Proto of every MH sent; RFC 6275 sec. 6.1.1: IPPROTO_NONE.
inline constexpr uint8_t ip_proto_none = 59;
// Lifetime fields of BU and BA count 4-second units (RFC 6275 sec. 6.1.7).
inline constexpr uint32_t lifetime_unit_seconds = 4;
// Binding Refresh Advice interval also counts 4-second units (sec. 6.2.4).
inline constexpr uint32_t refresh_interval_unit_seconds = 4;

// MH Type (RFC 6275 sec. 6.1.2-6.1.9; IANA "Mobility Header Types").
enum class MhType : uint8_t {
    binding_refresh_request = 0,
    home_test_init = 1,
    care_of_test_init = 2,
    home_test = 3,
    care_of_test = 4,
    binding_update = 5,
    binding_acknowledgement = 6,
    binding_error = 7,
};

// Binding Acknowledgement Status (RFC 6275 sec. 6.1.8 and the RFCs named).
// Values below 128 mean the BU was accepted. The wire octet may carry any
// value; unnamed ones are kept as-is (static_cast).
enum class BindingAckStatus : uint8_t {
    accepted = 0,                                   // RFC 6275
    accepted_prefix_discovery_necessary = 1,        // RFC 6275
    gre_key_option_not_required = 2,                // RFC 5845
    gre_tunneling_but_tlv_header_not_supported = 3, // RFC 5845
    mcoa_notcomplete = 4,                           // RFC 5648
    mcoa_returnhome_wo_ndp = 5,                     // RFC 5648
    pbu_accepted_tb_ignored_settingsmismatch = 6,   // RFC 6058
    reason_unspecified = 128,                       // RFC 6275
    administratively_prohibited = 129,              // RFC 6275
    insufficient_resources = 130,                   // RFC 6275
    home_registration_not_supported = 131,          // RFC 6275
    not_home_subnet = 132,                          // RFC 6275
    not_home_agent_for_this_mobile_node = 133,      // RFC 6275
    duplicate_address_detection_failed = 134,       // RFC 6275
    sequence_number_out_of_window = 135,            // RFC 6275
    expired_home_nonce_index = 136,                 // RFC 6275
    expired_care_of_nonce_index = 137,              // RFC 6275
    expired_nonces = 138,                           // RFC 6275
    registration_type_change_disallowed = 139,      // RFC 6275
    mobile_router_operation_not_permitted = 140,    // RFC 3963
    invalid_prefix = 141,                           // RFC 3963
    not_authorized_for_prefix = 142,                // RFC 3963
    forwarding_setup_failed = 143,                  // RFC 3963 (prefixes missing)
    mipv6_id_mismatch = 144,                        // RFC 4285
    mipv6_mesg_id_reqd = 145,                       // RFC 4285
    mipv6_auth_fail = 146,                          // RFC 4285
    permanent_home_keygen_token_unavailable = 147,  // RFC 4866
    cga_and_signature_verification_failed = 148,    // RFC 4866
    permanent_home_keygen_token_exists = 149,       // RFC 4866
    non_null_home_nonce_index_expected = 150,       // RFC 4866
    service_authorization_failed = 151,             // RFC 5149
    proxy_reg_not_enabled = 152,                    // RFC 5213
    not_lma_for_this_mobile_node = 153,             // RFC 5213
    mag_not_authorized_for_proxy_reg = 154,         // RFC 5213
    not_authorized_for_home_network_prefix = 155,   // RFC 5213
    timestamp_mismatch = 156,                       // RFC 5213
    timestamp_lower_than_prev_accepted = 157,       // RFC 5213
    missing_home_network_prefix_option = 158,       // RFC 5213
    bce_pbu_prefix_set_do_not_match = 159,          // RFC 5213
    missing_mn_identifier_option = 160,             // RFC 5213
    missing_handoff_indicator_option = 161,         // RFC 5213
    missing_access_tech_type_option = 162,          // RFC 5213
    gre_key_option_required = 163,                  // RFC 5845
    mcoa_malformed = 164,                           // RFC 5648
    mcoa_non_mcoa_binding_exists = 165,             // RFC 5648
    mcoa_prohibited = 166,                          // RFC 5648
    mcoa_unknown_coa = 167,                         // RFC 5648
    mcoa_bulk_registration_prohibited = 168,        // RFC 5648
    mcoa_simultaneous_home_and_foreign_prohibited = 169,  // RFC 5648
    not_authorized_for_ipv4_mobility_service = 170, // RFC 5844
    not_authorized_for_ipv4_home_address = 171,     // RFC 5844
    not_authorized_for_ipv6_mobility_service = 172, // RFC 5844
    multiple_ipv4_home_address_assignment_not_supported = 173,  // RFC 5844
    invalid_care_of_address = 174,                  // RFC 6275
    invalid_mobile_node_group_identifier = 175,     // RFC 6602
    reinit_sa_with_hac = 176,                       // RFC 6618
    not_authorized_for_delegated_mnp = 177,         // RFC 7148
    requested_dmnp_in_use = 178,                    // RFC 7148
};

// RFC 6275 sec. 6.1.8: values less than 128 indicate acceptance.
constexpr bool is_accepted(BindingAckStatus s) { return static_cast<uint8_t>(s) < 128; }

// Binding Error Status (RFC 6275 sec. 6.1.9).
enum class BindingErrorStatus : uint8_t {
    unknown_binding_for_home_address_destination_option = 1,
    unrecognized_mh_type_value = 2,
};

// IPv4 Address Acknowledgement Status (RFC 5555 sec. 3.2.1).
enum class Ipv4AddressAckStatus : uint8_t {
    success = 0,
    failure_reason_unspecified = 128,
    administratively_prohibited = 129,
    incorrect_ipv4_home_address = 130,
    invalid_ipv4_address = 131,
    dynamic_ipv4_home_address_assignment_not_available = 132,
    prefix_allocation_unauthorized = 133,
};

// Flow Identification Status (RFC 6089 sec. 4.2).
enum class FlowBindingStatus : uint8_t {
    flow_binding_successful = 0,
    administratively_prohibited = 128,
    flow_binding_rejected_reason_unspecified = 129,
    flow_identification_mobility_option_malformed = 130,
    bid_not_found = 131,
    fid_not_found = 132,
    traffic_selector_format_not_supported = 133,
};

// Mobility Option Type (IANA "Mobility Options").
enum class MobilityOptionType : uint8_t {
    pad1 = 0,                         // RFC 6275 sec. 6.2.2
    padn = 1,                         // RFC 6275 sec. 6.2.3
    binding_refresh_advice = 2,       // RFC 6275 sec. 6.2.4
    alternate_care_of_address = 3,    // RFC 6275 sec. 6.2.5
    nonce_indices = 4,                // RFC 6275 sec. 6.2.6
    binding_authorization_data = 5,   // RFC 6275 sec. 6.2.7
    mobile_network_prefix = 6,        // RFC 3963 sec. 4.3
    ipv4_home_address = 29,           // RFC 5555 sec. 3.1.1
    ipv4_address_acknowledgement = 30,// RFC 5555 sec. 3.2.1
    nat_detection = 31,               // RFC 5555 sec. 3.2.2
    ipv4_care_of_address = 32,        // RFC 5555 sec. 3.1.2
    binding_identifier = 35,          // RFC 5648 sec. 4.3
    flow_summary = 44,                // RFC 6089 sec. 4.2.2
    flow_identification = 45,         // RFC 6089 sec. 4.2
};

// ---- Mobility options (Pad1 and PadN are encoding detail, not modelled) ----

// RFC 6275 sec. 6.2.4. refresh_interval counts 4-second units.
struct BindingRefreshAdvice {
    uint16_t refresh_interval = 0;
    bool operator==(const BindingRefreshAdvice&) const = default;
};

// RFC 6275 sec. 6.2.5.
struct AlternateCareOfAddress {
    Ipv6Address alternate_care_of_address;
    bool operator==(const AlternateCareOfAddress&) const = default;
};

// RFC 6275 sec. 6.2.6.
struct NonceIndices {
    uint16_t home_nonce_index = 0;
    uint16_t care_of_nonce_index = 0;
    bool operator==(const NonceIndices&) const = default;
};

// RFC 6275 sec. 6.2.7. The authenticator of return routability is 96 bits
// (sec. 5.2.6), but the option length is the authenticator's length.
struct BindingAuthorizationData {
    std::vector<uint8_t> authenticator;
    bool operator==(const BindingAuthorizationData&) const = default;
};

// RFC 3963 sec. 4.3. The prefix field always carries 128 bits.
struct MobileNetworkPrefix {
    uint8_t prefix_length = 0;
    Ipv6Address prefix;
    net::Prefix as_prefix() const { return net::Prefix{prefix, prefix_length}; }
    bool operator==(const MobileNetworkPrefix&) const = default;
};

// RFC 5648 sec. 4.3 (and RFC 6089 sec. 4.1 for BID-PRI). The care-of
// address is absent, IPv4 or IPv6 (Option Length 4, 8 or 20).
struct BindingIdentifier {
    uint16_t binding_id = 0;
    BindingAckStatus status = BindingAckStatus::accepted;
    bool simultaneous_home_and_foreign = false;   // H flag
    uint8_t bid_priority = 0;                     // RFC 6089 sec. 4.1 BID-PRI, 7 bits; 0 under RFC 5648
    std::optional<net::IpAddress> care_of_address;
    bool operator==(const BindingIdentifier&) const = default;
};

// Sub-options of the Flow Identification option (RFC 6089 sec. 4.2.1).
struct FlowBindingReference {          // Binding Reference sub-option, sec. 4.2.1.3
    std::vector<uint16_t> binding_ids;
    bool operator==(const FlowBindingReference&) const = default;
};
struct FlowTrafficSelector {           // Traffic Selector sub-option, sec. 4.2.1.4
    uint8_t ts_format = 0;             // RFC 6088: 1 IPv4, 2 IPv6 binary selector
    std::vector<uint8_t> traffic_selector;
    bool operator==(const FlowTrafficSelector&) const = default;
};
struct FlowUnknownSubOption {          // kept so it can be re-encoded
    uint8_t type = 0;
    std::vector<uint8_t> data;
    bool operator==(const FlowUnknownSubOption&) const = default;
};
using FlowIdentificationSubOption =
    std::variant<FlowBindingReference, FlowTrafficSelector, FlowUnknownSubOption>;

// RFC 6089 sec. 4.2.
struct FlowIdentification {
    uint16_t flow_id = 0;
    uint16_t flow_id_priority = 0;
    FlowBindingStatus status = FlowBindingStatus::flow_binding_successful;
    std::vector<FlowIdentificationSubOption> sub_options;
    bool operator==(const FlowIdentification&) const = default;
};

// RFC 6089 sec. 4.2.2: one or more flow identifiers.
struct FlowSummary {
    std::vector<uint16_t> flow_ids;
    bool operator==(const FlowSummary&) const = default;
};

// RFC 5555 sec. 3.1.1. prefix_length is 6 bits; P asks for a mobile
// network prefix rather than a single address.
struct Ipv4HomeAddress {
    uint8_t prefix_length = 0;
    bool prefix_requested = false;     // P flag
    Ipv4Address home_address;
    bool operator==(const Ipv4HomeAddress&) const = default;
};

// RFC 5555 sec. 3.2.1. prefix_length is 6 bits.
struct Ipv4AddressAcknowledgement {
    Ipv4AddressAckStatus status = Ipv4AddressAckStatus::success;
    uint8_t prefix_length = 0;
    Ipv4Address home_address;
    bool operator==(const Ipv4AddressAcknowledgement&) const = default;
};

// RFC 5555 sec. 3.2.2. F: the mobile node must use UDP encapsulation even
// without a NAT. refresh_time in seconds; all ones = no keepalives needed.
struct NatDetection {
    bool udp_encapsulation_required = false;   // F flag
    uint32_t refresh_time = 0;
    bool operator==(const NatDetection&) const = default;
};

// RFC 5555 sec. 3.1.2.
struct Ipv4CareOfAddress {
    Ipv4Address care_of_address;
    bool operator==(const Ipv4CareOfAddress&) const = default;
};

// Any other option type. RFC 6275 sec. 6.2.1: the receiver skips options it
// does not understand; the decoder keeps them here so callers can see them.
struct UnknownMobilityOption {
    uint8_t type = 0;
    std::vector<uint8_t> data;
    bool operator==(const UnknownMobilityOption&) const = default;
};

using MobilityOption = std::variant<BindingRefreshAdvice, AlternateCareOfAddress, NonceIndices,
                                    BindingAuthorizationData, MobileNetworkPrefix,
                                    BindingIdentifier, FlowIdentification, FlowSummary,
                                    Ipv4HomeAddress, Ipv4AddressAcknowledgement, NatDetection,
                                    Ipv4CareOfAddress, UnknownMobilityOption>;
using MobilityOptions = std::vector<MobilityOption>;

// ---- Messages ----

// The common part of every MH (RFC 6275 sec. 6.1.1), as read from the wire.
struct MobilityHeader {
    uint8_t payload_proto = ip_proto_none;
    uint8_t header_len = 0;        // 8-octet units, not counting the first 8
    uint8_t mh_type = 0;
    uint8_t reserved = 0;
    uint16_t checksum = 0;
    size_t length_octets() const { return (size_t{header_len} + 1) * 8; }
    bool operator==(const MobilityHeader&) const = default;
};

// RFC 6275 sec. 6.1.2.
struct BindingRefreshRequest {
    MobilityOptions options;
    bool operator==(const BindingRefreshRequest&) const = default;
};

// RFC 6275 sec. 6.1.3. Cookies are opaque 64-bit values, network order on the wire.
struct HomeTestInit {
    uint64_t home_init_cookie = 0;
    MobilityOptions options;
    bool operator==(const HomeTestInit&) const = default;
};

// RFC 6275 sec. 6.1.4.
struct CareOfTestInit {
    uint64_t care_of_init_cookie = 0;
    MobilityOptions options;
    bool operator==(const CareOfTestInit&) const = default;
};

// RFC 6275 sec. 6.1.5.
struct HomeTest {
    uint16_t home_nonce_index = 0;
    uint64_t home_init_cookie = 0;
    uint64_t home_keygen_token = 0;
    MobilityOptions options;
    bool operator==(const HomeTest&) const = default;
};

// RFC 6275 sec. 6.1.6.
struct CareOfTest {
    uint16_t care_of_nonce_index = 0;
    uint64_t care_of_init_cookie = 0;
    uint64_t care_of_keygen_token = 0;
    MobilityOptions options;
    bool operator==(const CareOfTest&) const = default;
};

// RFC 6275 sec. 6.1.7, flags from the RFCs named. Bit 0x0040 of the flags
// field has two owners: RFC 5648 sec. 4.2 puts O there (after T), RFC 6602
// B in a Proxy BU. The codec reads it as B when P is set and as O
// otherwise; encoding B without P or O with P fails (unencodable).
struct BindingUpdate {
    uint16_t sequence_number = 0;
    bool acknowledge = false;                         // A  RFC 6275
    bool home_registration = false;                   // H  RFC 6275
    bool link_local_address_compatibility = false;    // L  RFC 6275
    bool key_management_mobility_capability = false;  // K  RFC 6275
    bool map_registration = false;                    // M  RFC 4140 / 5380 (HMIPv6)
    bool mobile_router = false;                       // R  RFC 3963
    bool proxy_registration = false;                  // P  RFC 5213
    bool force_udp_encapsulation = false;             // F  RFC 5555
    bool tlv_header_format = false;                   // T  RFC 5845
    bool bulk_binding_update = false;                 // B  RFC 6602, only with P
    // O  RFC 5648 sec. 4.2: replace all of the mobile node's bindings with
    // the ones this BU registers (used with Binding Identifier options).
    bool overwrite = false;
    uint16_t lifetime = 0;                            // 4-second units
    MobilityOptions options;

    std::chrono::seconds lifetime_seconds() const {
        return std::chrono::seconds{uint32_t{lifetime} * lifetime_unit_seconds};
    }
    bool operator==(const BindingUpdate&) const = default;
};

// RFC 6275 sec. 6.1.8, flags from the RFCs named.
struct BindingAcknowledgement {
    BindingAckStatus status = BindingAckStatus::accepted;
    bool key_management_mobility_capability = false;  // K  RFC 6275
    bool mobile_router = false;                       // R  RFC 3963
    bool proxy_registration = false;                  // P  RFC 5213
    bool tlv_header_format = false;                   // T  RFC 5845
    bool bulk_binding_update = false;                 // B  RFC 6602
    uint16_t sequence_number = 0;
    uint16_t lifetime = 0;                            // 4-second units
    MobilityOptions options;

    std::chrono::seconds lifetime_seconds() const {
        return std::chrono::seconds{uint32_t{lifetime} * lifetime_unit_seconds};
    }
    bool operator==(const BindingAcknowledgement&) const = default;
};

// RFC 6275 sec. 6.1.9.
struct BindingError {
    BindingErrorStatus status = BindingErrorStatus::unknown_binding_for_home_address_destination_option;
    Ipv6Address home_address;
    MobilityOptions options;
    bool operator==(const BindingError&) const = default;
};

// Variant order follows the MH Type numbers 0..7, so index() == MH Type.
using Message = std::variant<BindingRefreshRequest, HomeTestInit, CareOfTestInit, HomeTest,
                             CareOfTest, BindingUpdate, BindingAcknowledgement, BindingError>;

inline MhType mh_type_of(const Message& m) { return static_cast<MhType>(m.index()); }

// ---- IPv6 extension headers of Mobile IPv6 (RFC 6275 sec. 6.3, 6.4) ----

// Home Address destination option, option type 201 (RFC 6275 sec. 6.3).
inline constexpr uint8_t home_address_option_type = 201;
struct HomeAddressOption {
    Ipv6Address home_address;
    bool operator==(const HomeAddressOption&) const = default;
};

// Type 2 Routing Header (RFC 6275 sec. 6.4): one home address, Segments Left 1.
inline constexpr uint8_t routing_type_2 = 2;
struct Type2RoutingHeader {
    uint8_t next_header = ip_proto_mobility_header;
    uint8_t segments_left = 1;
    Ipv6Address home_address;
    bool operator==(const Type2RoutingHeader&) const = default;
};

// First option of the given type, or nullptr.
template <class T>
const T* find_option(const MobilityOptions& options) {
    for (const auto& o : options)
        if (const T* p = std::get_if<T>(&o)) return p;
    return nullptr;
}

// Every option of the given type (e.g. all Mobile Network Prefixes).
template <class T>
std::vector<const T*> find_options(const MobilityOptions& options) {
    std::vector<const T*> out;
    for (const auto& o : options)
        if (const T* p = std::get_if<T>(&o)) out.push_back(p);
    return out;
}

}  // namespace nemokey::mobility::mh
