// Internals of the store shared by its source files (store.cc, reads.cc,
// audit_log.cc, commit_context.cc, stage.cc, apply.cc, reseal.cc): the
// column-family handles, encoding helpers, the digest contribution of a
// record, and helpers naming records. Not for use outside store/.
#ifndef UNIONSYNC_STORE_STORE_INTERNAL_H_
#define UNIONSYNC_STORE_STORE_INTERNAL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "google/protobuf/message_lite.h"
#include "rocksdb/db.h"
#include "store/rocks_status.h"
#include "store/store.h"
#include "vault/records.h"
#include "vault/vault.h"

namespace unionsync {

namespace store_internal {

// Depth guard for walks up the tree: four tiers today, a province adds one;
// anything deeper is a corrupt parent chain.
constexpr int kMaxDepth = 16;
constexpr size_t kHashSize = 32;

// Debian's Abseil keeps its own string_view, so convert explicitly.
inline rocksdb::Slice Sl(absl::string_view s) {
  return rocksdb::Slice(s.data(), s.size());
}
inline absl::string_view Sv(const rocksdb::Slice& s) {
  return absl::string_view(s.data(), s.size());
}

// Deterministic serialisation (digests and hashes depend on it).
std::string Serialize(const google::protobuf::MessageLite& m);

// Opens the sealed personal fields of a record read from the store (a no-op
// for records without any).
template <typename T>
absl::Status OpenStored(const Vault&, T*) {
  return absl::OkStatus();
}
absl::Status OpenStored(const Vault& vault, v1::Member* m);
absl::Status OpenStored(const Vault& vault, v1::Org* o);
absl::Status OpenStored(const Vault& vault, v1::Conflict* c);

// The member ids of an ID-number index value ("a,b").
std::vector<std::string> SplitHolders(absl::string_view value);

// The serialisation of `change` (a member change) with its member replaced by
// `stored_member`, the member's stored serialisation.
std::string LogEntryWithMember(v1::Change& change,
                               const std::string& stored_member);

// The stored form of a record: its personal fields sealed.
template <typename T, typename Sealer>
absl::StatusOr<std::string> SerializeSealed(const Vault& vault, const T& in,
                                            Sealer seal) {
  T copy = in;
  RETURN_IF_ERROR(seal(vault, &copy));
  return Serialize(copy);
}

// SHA-256 over a one-letter record tag and the record's serialisation.
std::string DigestOfBytes(char tag, const std::string& bytes);

// What one record adds to its organisation's subtree counters.
struct Contribution {
  int64_t orgs = 0;
  int64_t grassroots = 0;
  int64_t complete = 0;
  int64_t activated = 0;
  int64_t members = 0;
  int64_t migrant = 0;
  int64_t accounts = 0;
  int64_t with_members = 0;  // Set by the commit from own-member counts.
  int64_t entered = 0;       // Set by the commit (CountsAsEntered).
  std::string digest;        // XOR of record digests.

  bool CountsZero() const {
    return orgs == 0 && grassroots == 0 && complete == 0 && activated == 0 &&
           members == 0 && migrant == 0 && accounts == 0 && with_members == 0 &&
           entered == 0;
  }

  // Adds the counts to `c` and XORs the digest into its digest.
  void AddTo(v1::SubtreeCounters* c) const {
    c->set_orgs(c->orgs() + orgs);
    c->set_grassroots_orgs(c->grassroots_orgs() + grassroots);
    c->set_profile_complete(c->profile_complete() + complete);
    c->set_activated_orgs(c->activated_orgs() + activated);
    c->set_members(c->members() + members);
    c->set_migrant_members(c->migrant_members() + migrant);
    c->set_accounts(c->accounts() + accounts);
    c->set_orgs_with_members(c->orgs_with_members() + with_members);
    c->set_grassroots_entered(c->grassroots_entered() + entered);
    if (!digest.empty()) {
      std::string d = c->digest();
      XorInto(&d, digest);
      c->set_digest(d);
    }
  }

  void Add(const Contribution& o, int sign) {
    orgs += sign * o.orgs;
    grassroots += sign * o.grassroots;
    complete += sign * o.complete;
    activated += sign * o.activated;
    members += sign * o.members;
    migrant += sign * o.migrant;
    accounts += sign * o.accounts;
    with_members += sign * o.with_members;
    entered += sign * o.entered;
    if (!o.digest.empty())
      XorInto(&digest, o.digest);  // XOR is its own inverse.
  }
};

// What a record contributes to its organisation's counters; its digest is
// computed from `bytes`, its deterministic serialisation, when the caller has
// it already, or taken from `digest`.
Contribution ContributionOf(const v1::Change& c,
                            const std::string* bytes = nullptr,
                            const std::string* digest = nullptr);

// A data administrator who has set their own password.
bool IsActivatingAdmin(const v1::Account& a);

// Collects up to `limit` key suffixes under `prefix` that sort after `after`,
// with an iterator the caller may reuse.
absl::StatusOr<std::vector<std::string>> ScanSuffixes(rocksdb::Iterator* it,
                                                      const std::string& prefix,
                                                      absl::string_view after,
                                                      size_t limit);
absl::StatusOr<std::vector<std::string>> ScanSuffixes(
    rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, const std::string& prefix,
    absl::string_view after, size_t limit);

// The key of a record part's version stamp, and the stamp.
std::string VersionKey(const v1::Change& c);
std::string VersionValue(uint64_t hlc, absl::string_view origin);
// What a change is about, for audit entries and messages.
std::string RecordName(const v1::Change& c);
// Whether a change's kind matches the record it carries.
bool KindMatchesRecord(const v1::Change& c);

// Appends the audit entries to `batch`, chaining them from `head`, with their
// search index entries; `seqs` (optional) gets their sequence numbers.
void ChainAudit(const std::vector<v1::AuditEntry>& entries, const Clock* clock,
                AuditHead* head, rocksdb::WriteBatch* batch,
                rocksdb::ColumnFamilyHandle* cf,
                rocksdb::ColumnFamilyHandle* index,
                std::vector<uint64_t>* seqs);

// The store's column families (keys.h names them).
struct Handles {
  std::vector<rocksdb::ColumnFamilyHandle*> all;
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  rocksdb::ColumnFamilyHandle* orgs = nullptr;
  rocksdb::ColumnFamilyHandle* members = nullptr;
  rocksdb::ColumnFamilyHandle* accounts = nullptr;
  rocksdb::ColumnFamilyHandle* log = nullptr;
  rocksdb::ColumnFamilyHandle* index = nullptr;
  rocksdb::ColumnFamilyHandle* counters = nullptr;
  rocksdb::ColumnFamilyHandle* audit = nullptr;
  rocksdb::ColumnFamilyHandle* local = nullptr;
  rocksdb::ColumnFamilyHandle* repl = nullptr;
  rocksdb::ColumnFamilyHandle* versions = nullptr;
  rocksdb::ColumnFamilyHandle* progress = nullptr;
  rocksdb::ColumnFamilyHandle* hub = nullptr;
};

}  // namespace store_internal

// WriteSet::Prepare's work for one member change.
struct PreparedRecord {
  std::string plain;   // Serialisation of the plaintext record.
  std::string digest;  // Its digest contribution.
  std::string stored;  // Serialisation of the sealed record.
  std::string token;   // Index token of the ID number.
};

template <typename T>
absl::StatusOr<T> Store::GetProto(rocksdb::ColumnFamilyHandle* cf,
                                  absl::string_view key) const {
  using store_internal::Sl;
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf, Sl(key), &value);
  if (s.IsNotFound())
    return absl::NotFoundError(absl::StrCat("'", key, "' not found"));
  RETURN_IF_ERROR(FromRocks(s, "read"));
  T out;
  if (!out.ParseFromString(value)) {
    return absl::DataLossError(
        absl::StrCat("undecodable record at '", key, "'"));
  }
  RETURN_IF_ERROR(store_internal::OpenStored(*vault_, &out));
  return out;
}

}  // namespace unionsync

#endif  // UNIONSYNC_STORE_STORE_INTERNAL_H_
