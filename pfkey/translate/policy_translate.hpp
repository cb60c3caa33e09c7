// Translation of IPsec policies between PF_KEY (SADB_X_SPDADD /
// SADB_X_SPDUPDATE: selector addresses, SADB_X_EXT_POLICY with IPsec
// requests, lifetimes) and XFRM netlink (XFRM_MSG_NEWPOLICY / UPDPOLICY:
// xfrm_userpolicy_info + XFRMA_TMPL), with af_key.c's mappings
// (pfkey_spdadd on input, pfkey_xfrm_policy2msg on output).
//
// Lossless on the form Linux writes: all three lifetime extensions
// present (policy_to_pfkey always writes them; a PF_KEY policy without
// them means "no limits" and comes back with them). Anything one side
// cannot say is refused with the field named: an explicit XFRM limit of
// 0 (PF_KEY's 0 means infinite), policy flags, marks, template algorithm
// masks other than "all", IPSEC_LEVEL_DEFAULT, a reqid without
// IPSEC_LEVEL_UNIQUE, ENTRUST/BYPASS policies. sadb_msg_reserved (Linux
// puts the policy's refcount there) is bookkeeping and written as 0.
#pragma once

#include "pfkey/codec/pfkey_message.hpp"
#include "pfkey/xfrm/xfrm_message.hpp"

namespace nemokey::pfkey {

Result<xfrm::XfrmMessage> policy_to_xfrm(const PfkeyMessage& m);
Result<PfkeyMessage> policy_to_pfkey(const xfrm::XfrmMessage& m);

}  // namespace nemokey::pfkey
