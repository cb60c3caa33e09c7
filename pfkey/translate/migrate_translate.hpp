// Translation between the two forms of MIGRATE the Linux kernel relays:
// PF_KEY SADB_X_MIGRATE (+ SADB_X_EXT_KMADDRESS) and XFRM_MSG_MIGRATE
// (+ XFRMA_MIGRATE, XFRMA_KMADDRESS). The mapping follows af_key.c
// (pfkey_migrate on input, pfkey_send_migrate on output).
//
// Lossless both ways: where one form can say something the other cannot
// (e.g. a PF_KEY policy priority, an XFRM sub-policy, a selector port
// mask other than all-or-nothing), translation fails with an error naming
// the field instead of dropping it. Netlink flags are framing, not
// content: to_xfrm leaves them 0. Two spellings of one meaning are
// normalised: PF_KEY upper-layer protocol 0 (as Linux's own SADB_X_MIGRATE
// notifications write "any") becomes 255 on the way back, and an explicit
// XFRMA_POLICY_TYPE of XFRM_POLICY_TYPE_MAIN becomes an absent one.
#pragma once

#include "pfkey/codec/pfkey_migrate.hpp"
#include "pfkey/xfrm/xfrm_message.hpp"

namespace nemokey::pfkey {

Result<xfrm::XfrmMessage> to_xfrm(const PfkeyMigrate& m);
Result<PfkeyMigrate> to_pfkey(const xfrm::XfrmMessage& m);

// af_key.c's mappings, exposed for tests and kmmonitor.
uint8_t satype_from_proto(uint8_t proto);  // 0 if none
std::optional<uint8_t> xfrm_mode_from_pfkey(uint8_t mode);
std::optional<uint8_t> pfkey_mode_from_xfrm(uint8_t mode);

}  // namespace nemokey::pfkey
