// The configuration model shared by mobilityd and ikebridged: one
// configuration drives both daemons (design.md, "Principles").
//
// A model is built only by the parser (conf/parser.hpp) and is then valid:
// every semantic check has passed. Values that a later check may need to
// point at keep the position they were written at (Located<T>); positions
// never take part in comparisons, so moving a line is not a change.
#pragma once

#include "conf/error.hpp"
#include "conf/net/address.hpp"
#include "conf/net/prefix_mode.hpp"
#include "conf/net/role.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace nemokey::conf {

template <class T>
struct Located {
    T value{};
    SourcePosition where;

    friend bool operator==(const Located& a, const Located& b) { return a.value == b.value; }
};

using net::Role;  // conf/net/role.hpp, shared with certs/

// The IKEv2 identification types a certificate binds (RFC 7296 sec. 3.5):
// an FQDN or RFC 822 subjectAltName, or the subject distinguished name.
enum class IdentityType { fqdn, rfc822_addr, der_asn1_dn };

struct Identity {
    IdentityType type = IdentityType::fqdn;
    std::string value;

    bool operator==(const Identity&) const = default;
};

// A file named by the configuration: the text as written (printed in plans,
// so they do not depend on where the tree is checked out) and the path
// resolved against the folder of the file that named it.
struct FileRef {
    std::string as_written;
    std::filesystem::path resolved;

    bool operator==(const FileRef& o) const { return as_written == o.as_written && resolved == o.resolved; }
};

// An access interface of a mobile node or router, or the home link of a
// home agent. A higher preference is tried first; binding-id is the Binding
// Identifier of multiple care-of address registration (RFC 5648 sec. 6.1).
struct Interface {
    std::string name;
    uint8_t preference = 0;
    std::optional<uint16_t> binding_id;
    SourcePosition where;

    bool operator==(const Interface& o) const {
        return name == o.name && preference == o.preference && binding_id == o.binding_id;
    }
};

// RFC 3963 sec. 5.2: explicit mode carries the prefixes in Mobile
// Network Prefix options of the BU; implicit mode leaves them to the HA's
// configuration. conf/net/prefix_mode.hpp, shared with mobility/core/binding/.
using net::PrefixMode;

struct MobileNetwork {
    PrefixMode mode = PrefixMode::explicit_mode;
    std::vector<Located<net::Prefix>> prefixes;       // IPv6 mobile network prefixes
    std::vector<Located<net::Prefix>> ipv4_prefixes;  // DSMIPv6, RFC 5555 sec. 3.1.1

    bool operator==(const MobileNetwork&) const = default;
};

struct Timers {
    // Requested (mobile node/router) or largest granted (home agent) binding
    // lifetime in seconds; the wire field counts 4 s units (RFC 6275 sec. 6.1.7).
    uint32_t binding_lifetime_s = 0;
    // BU retransmission: InitialBindackTimeoutFirstReg and MAX_BINDACK_TIMEOUT
    // (RFC 6275 sec. 11.7.1, 12, 13), in milliseconds.
    uint32_t retransmission_initial_ms = 0;
    uint32_t retransmission_max_ms = 0;
    // Home agent: the share of a granted lifetime (percent) after which the
    // binding gets a Binding Refresh Request, 0 = none (RFC 6275 sec. 9.5.5).
    uint32_t binding_refresh_request_percent = 0;

    bool operator==(const Timers&) const = default;
};

enum class KeyingMethod { ikev2, static_keys };

// Manual keying (RFC 3776 sec. 4.1, 5.2.1): one SA each way for the Binding
// Update / Acknowledgement exchange; keys stay in the key file, only its
// name is part of the model (key material is never logged).
struct StaticKeys {
    std::string encryption;
    std::string integrity;
    uint32_t spi_to_home_agent = 0;
    uint32_t spi_from_home_agent = 0;
    FileRef key_file;

    bool operator==(const StaticKeys&) const = default;
};

struct Keying {
    KeyingMethod method = KeyingMethod::ikev2;
    // Own credentials (mobile node/router main file, home agent main file).
    std::optional<FileRef> certificate;
    std::optional<FileRef> private_key;
    std::optional<FileRef> ca_certificate;
    std::optional<StaticKeys> static_keys;

    bool operator==(const Keying&) const = default;
};

// Signalling (BU/BA) is always protected (RFC 6275 sec. 5.1); the rest is
// optional (RFC 3776 sec. 4.1). payload_tunnel: ESP tunnel mode for all
// traffic of the home address and mobile network prefixes (RFC 4877 sec.
// 4.2, RFC 3963 sec. 5.5); home_test: HoTI/HoT in ESP tunnel mode;
// prefix_discovery: ICMPv6 Mobile Prefix Solicitation/Advertisement in
// ESP transport mode.
struct Protection {
    bool payload_tunnel = true;
    bool home_test = true;
    bool prefix_discovery = false;

    bool operator==(const Protection&) const = default;
};

// One mobile node or mobile router: its certificate identity bound to its
// home address and prefixes. On the home agent one per file of nodes-dir;
// on a mobile node or router, the node itself.
struct Binding {
    Located<Identity> identity;
    Role role = Role::mobile_node;
    Located<net::Ipv6Address> home_address;
    std::optional<Located<net::Ipv4Address>> ipv4_home_address;  // RFC 5555 sec. 3.1.1
    MobileNetwork mobile_network;
    Keying keying;
    Protection protection;
    // Key Management Mobility Capability (RFC 6275 sec. 6.1.7, 11.7.1; RFC 4877 sec. 4.4).
    bool k_flag = true;
    // The file this binding was read from, relative to the main file's folder.
    std::string source_file;
};

struct HomeAgentConfig {
    std::vector<Located<net::Ipv6Address>> addresses;
    std::optional<Located<net::Ipv4Address>> ipv4_address;  // RFC 5555 sec. 3.1
    std::vector<Located<net::Prefix>> home_prefixes;
    std::optional<Located<Identity>> identity;
    Keying keying;
    FileRef nodes_dir;
    std::vector<Binding> bindings;  // sorted by source_file
    // [benchmark] unprotected-binding-updates: for load benchmarks only
    // (tests/bench/mobility/registrations): BUs are accepted without ESP.
    // mobilityd runs so only when also started with
    // --benchmark-unprotected-bus, and says so loudly; mobctl check-config
    // warns. RFC 6275 sec. 5.1 requires the protection.
    std::optional<Located<bool>> benchmark_unprotected_binding_updates;
};

// A mobile node's or router's view of its home network.
struct HomeConfig {
    std::vector<Located<net::Ipv6Address>> home_agent_addresses;
    std::optional<Located<Identity>> home_agent_identity;
    Located<net::Prefix> home_prefix;
    std::optional<Located<net::Ipv4Address>> home_agent_ipv4_address;  // RFC 5555 sec. 3.1
};

struct Model {
    std::string file;  // the main file as given
    Role role = Role::mobile_node;
    std::vector<Interface> interfaces;
    Timers timers;
    std::optional<HomeAgentConfig> home_agent;  // role == home_agent
    std::optional<HomeConfig> home;             // role != home_agent
    std::optional<Binding> self;                // role != home_agent

    // The bindings this node takes part in: every node file on a home
    // agent, the node itself otherwise.
    std::vector<const Binding*> bindings() const;
};

using net::to_string;  // Role, PrefixMode (and the address types)
std::string_view to_string(IdentityType t);
std::string_view to_string(KeyingMethod m);

}  // namespace nemokey::conf
