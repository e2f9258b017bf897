#include "vault/records.h"

#include <openssl/crypto.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"

namespace unionsync {
namespace {

// The record identity each sealed value is bound to: a value copied into
// another record does not open.
std::string MemberAad(const v1::Member& m) {
  return absl::StrCat("unionsync/v1/Member/", m.id());
}
std::string OrgAad(const v1::Org& o) {
  return absl::StrCat("unionsync/v1/Org/", o.id());
}

absl::Status SealFields(const Vault& vault, v1::SealedFields& fields,
                        const std::string& aad, std::string* sealed) {
  std::string plain;
  fields.SerializeToString(&plain);
  absl::StatusOr<std::string> out = vault.Seal(plain, aad);
  OPENSSL_cleanse(plain.data(), plain.size());
  if (!out.ok()) return out.status();
  *sealed = *std::move(out);
  return absl::OkStatus();
}

absl::Status OpenFields(const Vault& vault, const std::string& sealed,
                        const std::string& aad, absl::string_view what,
                        v1::SealedFields* fields) {
  absl::StatusOr<std::string> plain = vault.Open(sealed, aad);
  if (!plain.ok()) {
    return absl::Status(plain.status().code(),
                        absl::StrCat(what, ": ", plain.status().message()));
  }
  const bool parsed = fields->ParseFromString(*plain);
  OPENSSL_cleanse(plain->data(), plain->size());
  if (!parsed) {
    return absl::DataLossError(
        absl::StrCat(what, ": the sealed fields do not decode"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status SealMember(const Vault& vault, v1::Member* member) {
  if (!member->sealed().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "member '", member->id(), "' already carries sealed fields"));
  }
  if (member->id_number().empty() && member->phone().empty()) {
    return absl::OkStatus();
  }
  v1::SealedFields fields;
  fields.set_id_number(member->id_number());
  fields.set_phone(member->phone());
  std::string sealed;
  absl::Status s = SealFields(vault, fields, MemberAad(*member), &sealed);
  if (!s.ok()) return s;
  member->clear_id_number();
  member->clear_phone();
  member->set_sealed(std::move(sealed));
  return absl::OkStatus();
}

absl::Status OpenMember(const Vault& vault, v1::Member* member) {
  if (member->sealed().empty()) return absl::OkStatus();
  v1::SealedFields fields;
  absl::Status s =
      OpenFields(vault, member->sealed(), MemberAad(*member),
                 absl::StrCat("member '", member->id(), "'"), &fields);
  if (!s.ok()) return s;
  member->set_id_number(fields.id_number());
  member->set_phone(fields.phone());
  member->clear_sealed();
  return absl::OkStatus();
}

absl::Status SealOrg(const Vault& vault, v1::Org* org) {
  if (!org->sealed().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "organisation '", org->id(), "' already carries sealed fields"));
  }
  if (org->chair().phone().empty() && org->data_admin().phone().empty() &&
      org->contact().phone().empty()) {
    return absl::OkStatus();
  }
  v1::SealedFields fields;
  fields.set_chair_phone(org->chair().phone());
  fields.set_data_admin_phone(org->data_admin().phone());
  fields.set_contact_phone(org->contact().phone());
  std::string sealed;
  absl::Status s = SealFields(vault, fields, OrgAad(*org), &sealed);
  if (!s.ok()) return s;
  if (org->has_chair()) org->mutable_chair()->clear_phone();
  if (org->has_data_admin()) org->mutable_data_admin()->clear_phone();
  if (org->has_contact()) org->mutable_contact()->clear_phone();
  org->set_sealed(std::move(sealed));
  return absl::OkStatus();
}

absl::Status OpenOrg(const Vault& vault, v1::Org* org) {
  if (org->sealed().empty()) return absl::OkStatus();
  v1::SealedFields fields;
  absl::Status s =
      OpenFields(vault, org->sealed(), OrgAad(*org),
                 absl::StrCat("organisation '", org->id(), "'"), &fields);
  if (!s.ok()) return s;
  // A contact present only for its phone was present when sealed.
  if (!fields.chair_phone().empty()) {
    org->mutable_chair()->set_phone(fields.chair_phone());
  }
  if (!fields.data_admin_phone().empty()) {
    org->mutable_data_admin()->set_phone(fields.data_admin_phone());
  }
  if (!fields.contact_phone().empty()) {
    org->mutable_contact()->set_phone(fields.contact_phone());
  }
  org->clear_sealed();
  return absl::OkStatus();
}

absl::Status SealConflict(const Vault& vault, v1::Conflict* conflict) {
  for (v1::ConflictSide& side : *conflict->mutable_sides()) {
    absl::Status s = absl::OkStatus();
    if (side.has_member()) s = SealMember(vault, side.mutable_member());
    if (side.has_org()) s = SealOrg(vault, side.mutable_org());
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status OpenConflict(const Vault& vault, v1::Conflict* conflict) {
  for (v1::ConflictSide& side : *conflict->mutable_sides()) {
    absl::Status s = absl::OkStatus();
    if (side.has_member()) s = OpenMember(vault, side.mutable_member());
    if (side.has_org()) s = OpenOrg(vault, side.mutable_org());
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status SealChange(const Vault& vault, v1::Change* change) {
  switch (change->record_case()) {
    case v1::Change::kMember:
      return SealMember(vault, change->mutable_member());
    case v1::Change::kOrg:
      return SealOrg(vault, change->mutable_org());
    case v1::Change::kConflict:
      return SealConflict(vault, change->mutable_conflict());
    default:
      return absl::OkStatus();
  }
}

absl::Status OpenChange(const Vault& vault, v1::Change* change) {
  switch (change->record_case()) {
    case v1::Change::kMember:
      return OpenMember(vault, change->mutable_member());
    case v1::Change::kOrg:
      return OpenOrg(vault, change->mutable_org());
    case v1::Change::kConflict:
      return OpenConflict(vault, change->mutable_conflict());
    default:
      return absl::OkStatus();
  }
}

bool NeedsReseal(const Vault& vault, const v1::Member& member) {
  if (!member.sealed().empty()) {
    return Vault::KeyOf(member.sealed()) != vault.active_key();
  }
  return !member.id_number().empty() || !member.phone().empty();
}

bool NeedsReseal(const Vault& vault, const v1::Org& org) {
  if (!org.sealed().empty()) {
    return Vault::KeyOf(org.sealed()) != vault.active_key();
  }
  return !org.chair().phone().empty() || !org.data_admin().phone().empty() ||
         !org.contact().phone().empty();
}

std::string IdNumberToken(const Vault& vault, absl::string_view id_number) {
  return HexEncode(vault.IndexToken("id_number", id_number));
}

}  // namespace unionsync
