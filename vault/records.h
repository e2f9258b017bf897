// Sealing the personal fields of records for storage (docs/KEYS.md).
//
// A stored Member holds its ID and phone numbers only inside `sealed`
// (AES-256-GCM, vault/vault.h), bound to the member id; a stored Org holds its
// contacts' phone numbers the same way, bound to the organisation id. Records
// inside changes and conflict sides are sealed likewise. Records are sealed
// just before they are written to the store and opened just after they are
// read, so everything above the store (replication included) sees plaintext
// and `sealed` never leaves the node.
#ifndef UNIONSYNC_VAULT_RECORDS_H_
#define UNIONSYNC_VAULT_RECORDS_H_

#include "absl/status/status.h"
#include "unionsync/v1/model.pb.h"
#include "vault/vault.h"

namespace unionsync {

// Each Seal* moves the personal fields into `sealed` (left empty when there
// are none). Each Open* moves them back and clears `sealed`; a record without
// `sealed` (written before encryption existed) is left as it is. Open*
// fails, changing nothing, when the key is missing or the value does not
// authenticate.
absl::Status SealMember(const Vault& vault, v1::Member* member);
absl::Status OpenMember(const Vault& vault, v1::Member* member);
absl::Status SealOrg(const Vault& vault, v1::Org* org);
absl::Status OpenOrg(const Vault& vault, v1::Org* org);
absl::Status SealConflict(const Vault& vault, v1::Conflict* conflict);
absl::Status OpenConflict(const Vault& vault, v1::Conflict* conflict);
// The record of a change, whatever its kind.
absl::Status SealChange(const Vault& vault, v1::Change* change);
absl::Status OpenChange(const Vault& vault, v1::Change* change);

// True when a record carries personal fields in plaintext or sealed under a
// data key other than the active one: what `--reseal` rewrites.
bool NeedsReseal(const Vault& vault, const v1::Member& member);
bool NeedsReseal(const Vault& vault, const v1::Org& org);

// The index token of an ID number (hex of Vault::IndexToken).
std::string IdNumberToken(const Vault& vault, absl::string_view id_number);

}  // namespace unionsync

#endif  // UNIONSYNC_VAULT_RECORDS_H_
