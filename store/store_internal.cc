#include "store/store_internal.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/crypto.h"
#include "common/org_rules.h"
#include "common/status_macros.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "store/keys.h"
#include "store/rocks_status.h"
#include "vault/records.h"
#include "vault/vault.h"

namespace unionsync::store_internal {

std::string Serialize(const google::protobuf::MessageLite& m) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  m.SerializeToCodedStream(&coded);
  coded.Trim();
  return out;
}

absl::Status OpenStored(const Vault& vault, v1::Member* m) {
  return OpenMember(vault, m);
}
absl::Status OpenStored(const Vault& vault, v1::Org* o) {
  return OpenOrg(vault, o);
}
absl::Status OpenStored(const Vault& vault, v1::Conflict* c) {
  return OpenConflict(vault, c);
}

// The member ids of an ID-number index value ("a,b").
std::vector<std::string> SplitHolders(absl::string_view value) {
  return absl::StrSplit(value, ',', absl::SkipEmpty());
}

// The serialisation of `change` (a member change) with its member replaced by
// `stored_member`, the member's stored serialisation: a message field may be
// written as its tag, length and bytes anywhere in the enclosing message.
std::string LogEntryWithMember(v1::Change& change,
                               const std::string& stored_member) {
  v1::Member* member = change.release_member();
  std::string out = Serialize(change);
  change.set_allocated_member(member);
  constexpr uint32_t kMemberTag =
      (v1::Change::kMemberFieldNumber << 3) | 2;  // Length-delimited.
  static_assert(kMemberTag < 128, "one-byte tag");
  out.push_back(static_cast<char>(kMemberTag));
  uint64_t n = stored_member.size();
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
  out.append(stored_member);
  return out;
}

// The stored form of a record: its personal fields sealed.

// SHA-256 over a one-letter record tag and the record's serialisation.
std::string DigestOfBytes(char tag, const std::string& bytes) {
  std::string buf;
  buf.reserve(bytes.size() + 1);
  buf.push_back(tag);
  buf.append(bytes);
  return Sha256(buf);
}

// The record's digest is computed from `bytes`, its deterministic
// serialisation, when the caller has it already.
Contribution ContributionOf(const v1::Change& c, const std::string* bytes,
                            const std::string* digest) {
  Contribution out;
  if (digest != nullptr && !digest->empty()) {
    out.digest = *digest;
  } else if (bytes != nullptr) {
    const char tag = c.record_case() == v1::Change::kOrg      ? 'o'
                     : c.record_case() == v1::Change::kMember ? 'm'
                                                              : 'a';
    out.digest = DigestOfBytes(tag, *bytes);
  } else {
    out.digest = Store::RecordDigest(c);
  }
  switch (c.record_case()) {
    case v1::Change::kOrg: {
      const v1::Org& o = c.org();
      if (o.status() == v1::ORG_ACTIVE) {
        out.orgs = 1;
        out.grassroots = IsGrassroots(o.kind()) ? 1 : 0;
        out.complete = o.profile_completeness() >= 100 ? 1 : 0;
      }
      break;
    }
    case v1::Change::kMember: {
      const v1::Member& m = c.member();
      if (m.status() == v1::MEMBER_ACTIVE) {
        out.members = 1;
        out.migrant = m.migrant_worker() ? 1 : 0;
      }
      break;
    }
    case v1::Change::kAccount:
      out.accounts = c.account().state() != v1::CREDENTIAL_DISABLED ? 1 : 0;
      break;
    default:
      break;
  }
  return out;
}

bool IsActivatingAdmin(const v1::Account& a) {
  return a.role() == v1::DATA_ADMIN && a.state() == v1::CREDENTIAL_ACTIVE;
}

// Collects up to `limit` key suffixes under `prefix` that sort after `after`,
// with an iterator the caller may reuse.
absl::StatusOr<std::vector<std::string>> ScanSuffixes(rocksdb::Iterator* it,
                                                      const std::string& prefix,
                                                      absl::string_view after,
                                                      size_t limit) {
  std::vector<std::string> out;
  const std::string start = absl::StrCat(prefix, after);
  for (it->Seek(start); it->Valid() && out.size() < limit; it->Next()) {
    rocksdb::Slice k = it->key();
    if (!k.starts_with(prefix)) break;
    if (!after.empty() && k == rocksdb::Slice(start)) continue;
    out.emplace_back(k.data() + prefix.size(), k.size() - prefix.size());
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "index scan"));
  return out;
}

absl::StatusOr<std::vector<std::string>> ScanSuffixes(
    rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, const std::string& prefix,
    absl::string_view after, size_t limit) {
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions(), cf));
  return ScanSuffixes(it.get(), prefix, after, limit);
}

std::string VersionKey(const v1::Change& c) {
  switch (c.kind()) {
    case v1::PUT_ORG:
      return keys::OrgVersionKey(c.org().id());
    case v1::PUT_ORG_PROFILE:
      return keys::ProfileVersionKey(c.org().id());
    case v1::PUT_MEMBER:
      return keys::MemberVersionKey(c.member().id());
    case v1::PUT_ACCOUNT:
      return keys::AccountVersionKey(c.account().username());
    case v1::PUT_CONFLICT:
      return keys::ConflictVersionKey(c.conflict().id());
    case v1::PUT_WARNING:
      return keys::WarningVersionKey(c.warning().id());
    case v1::PUT_EXPORT_REQUEST:
      return keys::ExportRequestKey(c.export_request().id());
    case v1::PUT_EXPORT_APPROVAL:
      return keys::ExportApprovalKey(c.export_approval().request_id(),
                                     c.export_approval().level());
    default:
      return "";
  }
}

std::string VersionValue(uint64_t hlc, absl::string_view origin) {
  return absl::StrCat(keys::BigEndian64(hlc), origin);
}

// What a change is about, for audit entries and messages.
std::string RecordName(const v1::Change& c) {
  switch (c.kind()) {
    case v1::PUT_ORG:
      return absl::StrCat("org/", c.org().id());
    case v1::PUT_ORG_PROFILE:
      return absl::StrCat("org-profile/", c.org().id());
    case v1::PUT_MEMBER:
      return absl::StrCat("member/", c.member().id());
    case v1::PUT_ACCOUNT:
      return absl::StrCat("account/", c.account().username());
    case v1::PUT_CONFLICT:
      return absl::StrCat("conflict/", c.conflict().id());
    case v1::PUT_WARNING:
      return absl::StrCat("warning/", c.warning().id());
    case v1::PUT_EXPORT_REQUEST:
      return absl::StrCat("export/", c.export_request().id());
    case v1::PUT_EXPORT_APPROVAL:
      return absl::StrCat("export-approval/", c.export_approval().request_id(),
                          "/", c.export_approval().level());
    default:
      return "unknown";
  }
}

bool KindMatchesRecord(const v1::Change& c) {
  switch (c.kind()) {
    case v1::PUT_ORG:
    case v1::PUT_ORG_PROFILE:
      return c.has_org();
    case v1::PUT_MEMBER:
      return c.has_member();
    case v1::PUT_ACCOUNT:
      return c.has_account();
    case v1::PUT_CONFLICT:
      return c.has_conflict() && !c.conflict().id().empty();
    case v1::PUT_WARNING:
      return c.has_warning() && !c.warning().id().empty();
    // Export ids are validated hex; keys must not gain a '/'.
    case v1::PUT_EXPORT_REQUEST:
      return c.has_export_request() && !c.export_request().id().empty() &&
             !absl::StrContains(c.export_request().id(), '/') &&
             !c.export_request().org_id().empty();
    case v1::PUT_EXPORT_APPROVAL:
      return c.has_export_approval() &&
             !c.export_approval().request_id().empty() &&
             !absl::StrContains(c.export_approval().request_id(), '/') &&
             !c.export_approval().org_id().empty() &&
             c.export_approval().level() != v1::APPROVAL_LEVEL_UNSPECIFIED;
    default:
      return false;
  }
}

}  // namespace unionsync::store_internal
