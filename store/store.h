// The node's durable store: one RocksDB database holding the records of the
// subtree this node knows about, its change log, secondary indexes, subtree
// counters, the audit chain and local (non-replicated) state. See
// docs/DESIGN.md, "Store key layout".
//
// Every mutation is one WriteBatch written with sync=true: the records, one
// change-log entry per record, index updates, counter and digest updates for
// the record's organisation and all its ancestors, and the audit entries. A
// crash leaves all of it or none of it; Commit returns only after the batch is
// durable.
//
// Thread-safety: all methods are thread-safe. Commits are serialised by an
// internal mutex (they read-modify-write counters and assign dense sequence
// numbers); reads run concurrently.
#ifndef UNIONSYNC_STORE_STORE_H_
#define UNIONSYNC_STORE_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "unionsync/v1/model.pb.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace unionsync {

struct StoreOptions {
  std::string path;
  // The node this store belongs to. Opening a store written by another node
  // fails.
  std::string node_id;
  // Create an empty store when none exists at `path`.
  bool create_if_missing = true;
  // Sync every commit to disk before it returns (turn off only in benchmarks
  // that say so).
  bool sync = true;
  const Clock* clock = nullptr;  // Defaults to the system clock.
};

// A set of record writes and audit entries committed atomically by
// Store::Commit.
class WriteSet {
 public:
  // kCreate makes the commit fail with ALREADY_EXISTS (writing nothing) when
  // the record exists; checked under the commit lock, so two concurrent
  // creations of one id cannot both succeed.
  enum class Mode { kUpsert, kCreate };

  // Records to write. The store fills in origin, sequence, log position and
  // HLC.
  void PutOrg(v1::Org org, Mode mode = Mode::kUpsert);
  void PutMember(v1::Member member, Mode mode = Mode::kUpsert);
  void PutAccount(v1::Account account, Mode mode = Mode::kUpsert);
  // Audit entries; the store fills in seq, time (if zero) and the hash chain.
  void Audit(v1::AuditEntry entry);
  // Local, non-replicated state (lockout counters and the like).
  void PutLocal(std::string key, std::string value);
  void DeleteLocal(std::string key);

  bool empty() const {
    return changes_.empty() && audit_.empty() && local_.empty();
  }

 private:
  friend class Store;
  std::vector<v1::Change> changes_;
  std::vector<Mode> modes_;  // Parallel to changes_.
  std::vector<v1::AuditEntry> audit_;
  std::vector<std::pair<std::string, std::optional<std::string>>> local_;
};

// What a Commit wrote.
struct CommitResult {
  std::vector<v1::Change>
      changes;  // With origin, origin_seq, log_pos, hlc filled.
  std::vector<uint64_t>
      audit_seqs;  // Sequence numbers of the audit entries written.
};

struct AuditHead {
  uint64_t seq = 0;
  std::string hash;  // 32 bytes; 32 zero bytes when seq == 0.
};

class Store {
 public:
  // Opens (or creates) the store at options.path. Fails with
  // FAILED_PRECONDITION when the store belongs to a different node or is not a
  // unionsync store, and with DATA_LOSS when RocksDB reports corruption.
  static absl::StatusOr<std::unique_ptr<Store>> Open(
      const StoreOptions& options);
  ~Store();

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& node_id() const { return node_id_; }
  // Random id chosen when the store was created. A recreated or restored store
  // gets a new one, so replication never resumes from a checkpoint that
  // belonged to an earlier store.
  const std::string& incarnation() const { return incarnation_; }

  // Commits `writes` atomically and durably. `author` is the username recorded
  // on each change. Validation of the records themselves is the caller's job;
  // the store enforces only its own invariants (an organisation's parent exists
  // and never changes, a member's organisation exists, an active ID number
  // belongs to one member) and fails with FAILED_PRECONDITION or ALREADY_EXISTS
  // without writing anything.
  absl::StatusOr<CommitResult> Commit(const WriteSet& writes,
                                      absl::string_view author);

  // Point reads. NOT_FOUND when absent.
  absl::StatusOr<v1::Org> GetOrg(absl::string_view id) const;
  absl::StatusOr<v1::Member> GetMember(absl::string_view id) const;
  absl::StatusOr<v1::Account> GetAccount(absl::string_view username) const;
  // The active member holding `id_number`, NOT_FOUND when none.
  absl::StatusOr<v1::Member> FindMemberByIdNumber(
      absl::string_view id_number) const;
  // Counters of an organisation's subtree (all zero for an unknown
  // organisation).
  absl::StatusOr<v1::SubtreeCounters> GetCounters(
      absl::string_view org_id) const;

  // Ordered scans. Each returns up to `limit` items whose key sorts after
  // `after` (empty: from the start).
  absl::StatusOr<std::vector<v1::Org>> ListChildren(absl::string_view parent_id,
                                                    absl::string_view after,
                                                    size_t limit) const;
  absl::StatusOr<int64_t> CountChildren(absl::string_view parent_id) const;
  // Members of one organisation in member-id order, removed ones included.
  absl::StatusOr<std::vector<v1::Member>> ListMembers(absl::string_view org_id,
                                                      absl::string_view after,
                                                      size_t limit) const;
  absl::StatusOr<std::vector<v1::Account>> ListAccounts(
      absl::string_view org_id) const;
  // Change-log entries with log_pos >= from, in order.
  absl::StatusOr<std::vector<v1::Change>> ReadLog(uint64_t from,
                                                  size_t limit) const;
  // Audit entries with seq >= from, in order.
  absl::StatusOr<std::vector<v1::AuditEntry>> ReadAudit(uint64_t from,
                                                        size_t limit) const;

  // True when `org_id` is `ancestor_id` or lies below it.
  absl::StatusOr<bool> IsInSubtree(absl::string_view org_id,
                                   absl::string_view ancestor_id) const;

  // Local state.
  absl::StatusOr<std::optional<std::string>> GetLocal(
      absl::string_view key) const;

  // Position the next change-log entry will get; sequence the next local change
  // will get.
  uint64_t next_log_pos() const;
  uint64_t next_origin_seq() const;
  AuditHead audit_head() const;

  // Walks the whole audit chain and returns the seq of the first entry whose
  // hash or link is wrong, or nullopt when the chain is intact.
  absl::StatusOr<std::optional<uint64_t>> VerifyAuditChain() const;

  // Hash of one entry (SHA-256 over its deterministic serialisation with `hash`
  // cleared).
  static std::string AuditEntryHash(const v1::AuditEntry& entry);
  // The digest contribution of one record.
  static std::string RecordDigest(const v1::Change& change);

 private:
  struct Handles;
  class CommitContext;

  Store() = default;
  absl::Status LoadMeta(const StoreOptions& options, bool created);

  template <typename T>
  absl::StatusOr<T> GetProto(rocksdb::ColumnFamilyHandle* cf,
                             absl::string_view key) const;

  std::string node_id_;
  std::string incarnation_;
  bool sync_ = true;
  const Clock* clock_ = nullptr;
  std::unique_ptr<HybridClock> hlc_;
  std::unique_ptr<rocksdb::DB> db_;
  std::unique_ptr<Handles> cf_;

  mutable absl::Mutex commit_mu_;
  // Mirrors of the meta keys, advanced only after a successful commit.
  uint64_t next_seq_ ABSL_GUARDED_BY(commit_mu_) = 1;
  uint64_t next_log_pos_ ABSL_GUARDED_BY(commit_mu_) = 1;
  AuditHead audit_head_ ABSL_GUARDED_BY(commit_mu_);
  // A failed write makes the store read-only until reopened: after an I/O error
  // we cannot know what is on disk, and continuing could hand out a sequence
  // number twice (leveldb does the same with a failed sync).
  absl::Status sticky_error_ ABSL_GUARDED_BY(commit_mu_);
};

}  // namespace unionsync

#endif  // UNIONSYNC_STORE_STORE_H_
