// The contract's IPsec objects (mobility/kernel/objects.hpp) as XFRM
// netlink messages of the pfkey/xfrm codec, and back: requests for the
// operations, and objects and events from what the kernel sends. Pure, no
// I/O; the netlink backend (netlink_kernel.hpp) frames and sends them.
//
// Linux facts these conversions rely on (net/xfrm/xfrm_user.c):
// - an SA's ownership mark is an output mark with mask 0 (XFRMA_SET_MARK,
//   XFRMA_SET_MARK_MASK): it changes no packet and is dumped back as given;
// - a transport-mode SA given no selector gets one of its family with
//   zero prefixes, an SA of another mode keeps family 0: both mean "none";
// - MH and ICMPv6 selectors carry the type in the source port;
// - a template without addresses takes the policy's family;
// - a policy is one per selector, direction and type (XFRMA_POLICY_TYPE,
//   main when absent): requests name sub policies by it, dumps report it;
// - an SA's XFRM_STATE_WILDRECV is a flag of xfrm_usersa_info, dumped back.
#pragma once

#include <optional>
#include <vector>

#include "mobility/kernel/kernel.hpp"
#include "pfkey/xfrm/xfrm_message.hpp"

namespace nemokey::mobility::adapters::netlink {

namespace xfrm = pfkey::xfrm;

// ---- requests (type, flags and body; the sender sets seq and pid) ----

// XFRM_MSG_NEWSA: fails with EEXIST when an SA of the same kernel identity
// (kernel::same_state) exists.
xfrm::XfrmMessage new_sa(const kernel::Sa& sa);
// XFRM_MSG_DELSA by the kernel's identity (the source only for route2/hao).
// (Also for a wildcard-receive state: src ::, dst ::, proto hao.)
xfrm::XfrmMessage delete_sa(const kernel::SaId& id);
// XFRM_MSG_NEWPOLICY (exclusive) or XFRM_MSG_UPDPOLICY (install or replace).
xfrm::XfrmMessage new_policy(const kernel::Policy& policy, bool update);
xfrm::XfrmMessage delete_policy(const kernel::PolicyId& id);
// XFRM_MSG_MIGRATE with XFRMA_MIGRATE and, if given, XFRMA_KMADDRESS.
xfrm::XfrmMessage migrate(const kernel::MigrateSas& m);
// XFRM_MSG_ALLOCSPI (xfrm_userspi_info, which the codec keeps as a raw payload).
xfrm::XfrmMessage allocate_spi(const kernel::AllocateSpi& a);
// The SPI of the kernel's answer to XFRM_MSG_ALLOCSPI (an XFRM_MSG_NEWSA).
std::optional<uint32_t> allocated_spi(const xfrm::XfrmMessage& answer);

// ---- kernel -> contract ----

xfrm_selector to_xfrm(const kernel::Selector& s);
// nullopt for "no selector" (family 0, or nothing but zeros).
std::optional<kernel::Selector> sa_selector_from(const xfrm_selector& s);
std::optional<kernel::Selector> selector_from(const xfrm_selector& s);

// nullopt for states the contract cannot express: another protocol, a
// lookup mark (XFRMA_MARK), an interface id; those are never ours.
std::optional<kernel::Sa> sa_from(const xfrm::XfrmMessage& m);
// Main and sub policies (XFRMA_POLICY_TYPE, main when absent); nullopt for
// policies with a mark or an interface id.
std::optional<kernel::Policy> policy_from(const xfrm::XfrmMessage& m);

// Multicast events (XFRMNLGRP_MIGRATE, _ACQUIRE, _EXPIRE, _MAPPING).
std::optional<kernel::KernelEvent> event_from(const xfrm::XfrmMessage& m);

}  // namespace nemokey::mobility::adapters::netlink
