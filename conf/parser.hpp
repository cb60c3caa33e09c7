// Reads the configuration (TOML, read with toml++) into a Model, collecting
// every error found instead of stopping at the first one; nothing throws.
//
// Main file keys, by role (the examples in conf/examples/ show each one):
//   every role   role, [[interface]] (name, preference, binding-id), [timers]
//                (binding-lifetime, retransmission-initial-ms,
//                retransmission-max-ms; home agent: binding-refresh-request)
//   home-agent   [home-agent] (addresses, ipv4-address, home-prefixes,
//                identity, nodes-dir), [keying] (certificate, private-key,
//                ca-certificate); one file per mobile node or router in
//                nodes-dir (*.toml, relative to the main file)
//   mobile-node, mobile-router
//                identity, [home] (home-agent-addresses, home-agent-identity,
//                home-prefix, home-address, home-agent-ipv4-address,
//                ipv4-home-address), [mobile-network] (mode, prefixes,
//                ipv4-prefixes; mobile-router only), [keying] (method, k-flag,
//                certificate, private-key, ca-certificate, [keying.static]),
//                [protection] (payload-tunnel, home-test, prefix-discovery)
// Node file (home agent): identity, role, home-address, ipv4-home-address,
//   [mobile-network], [keying] (method, k-flag, [keying.static]), [protection];
//   file names in a node file are relative to the node file.
// [keying.static]: encryption, integrity, spi-to-home-agent,
//   spi-from-home-agent, key-file.
#pragma once

#include "conf/error.hpp"
#include "conf/model.hpp"
#include "conf/net/result.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace nemokey::conf {

// The model, or every error found (never empty). The shared template of
// conf/net/result.hpp: *r / r-> is the model, r.error() the errors.
using ParseResult = net::Result<Model, ConfigErrors>;

// Reads FILE and, for a home agent, every node file of its nodes-dir.
ParseResult parse_file(const std::filesystem::path& file);

// Parses TEXT as if read from a file called NAME; relative paths (nodes-dir,
// certificates, key files) resolve against BASE_DIR.
ParseResult parse_string(std::string_view text, const std::string& name,
                         const std::filesystem::path& base_dir);

}  // namespace nemokey::conf
