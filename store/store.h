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
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "unionsync/v1/model.pb.h"

namespace rocksdb {
class BackupEngine;
class DB;
class ColumnFamilyHandle;
class Env;
}  // namespace rocksdb

namespace unionsync {

class Store;
class Vault;
struct PreparedRecord;
namespace store_internal {
class CommitContext;
struct Handles;
}  // namespace store_internal

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
  // RocksDB environment; nullptr is the default (the file system). Simulations
  // pass an in-memory one (rocksdb::NewMemEnv), which must outlive the store.
  rocksdb::Env* env = nullptr;
  // Maintain the progress aggregates (per region, system and day, and per
  // organisation; see GetScopeCounters). Off only to measure their cost.
  bool track_progress = true;
  // Keys for personal data at rest (vault/vault.h); required. ID and phone
  // numbers are stored encrypted under its active data key and indexed by
  // keyed hash under its index key.
  std::shared_ptr<const Vault> vault;
  // Re-encrypt every record under the vault's active data key and rebuild
  // the ID-number index under its index key while opening (see
  // Store::Reseal). Needed after the index key changes; a store written
  // before encryption existed (schema 3), or one whose reseal was
  // interrupted, is resealed when opened whatever this says.
  bool reseal = false;
  // When a grassroots union counts as entered (SubtreeCounters.
  // grassroots_entered; min_members 0 means 1). A store last counted under
  // another rule, or before the count existed, is recounted while opening.
  v1::EnteredRule entered;
};

// Whether `org`, with its progress `p`, counts as entered under `rule`: an
// active grassroots union with a complete profile, an activated data
// administrator and at least max(min_members, ceil(workforce_share x
// employee_count)) active members of its own.
bool CountsAsEntered(const v1::Org& org, const v1::OrgProgress& p,
                     const v1::EnteredRule& rule);

// What Store::Reseal did.
struct ResealStats {
  uint64_t members = 0;        // Member records rewritten.
  uint64_t orgs = 0;           // Organisation records rewritten.
  uint64_t log_entries = 0;    // Change-log entries rewritten.
  uint64_t conflicts = 0;      // Conflict records rewritten.
  uint64_t index_entries = 0;  // ID-number index entries written.
  // Sealed values found under each data key before the reseal (0: in
  // plaintext, written before encryption existed).
  std::map<uint32_t, uint64_t> sealed_under;
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
  // PutOrg writes the registration part of an organisation, PutOrgProfile its
  // profile part (see v1::ChangeKind); the stored record merges both.
  void PutOrg(v1::Org org, Mode mode = Mode::kUpsert);
  void PutOrgProfile(v1::Org org);
  void PutMember(v1::Member member, Mode mode = Mode::kUpsert);
  void PutAccount(v1::Account account, Mode mode = Mode::kUpsert);
  // Reconciliation records (written by the hub).
  void PutConflict(v1::Conflict conflict);
  void PutWarning(v1::Warning warning);
  // Approved exports (written by the node hosting the request's organisation,
  // or, for an approval, the approver's organisation).
  void PutExportRequest(v1::ExportRequest request);
  void PutExportApproval(v1::ExportApproval approval);
  // Audit entries; the store fills in seq, time (if zero) and the hash chain.
  void Audit(v1::AuditEntry entry);
  // Local, non-replicated state (lockout counters and the like).
  void PutLocal(std::string key, std::string value);
  void DeleteLocal(std::string key);

  bool empty() const {
    return changes_.empty() && audit_.empty() && local_.empty();
  }

  // Does the per-record work that needs no lock ahead of Store::Commit, on
  // the calling thread: encrypting members' personal fields, serialising and
  // hashing them. A bulk writer prepares its next batch while the previous
  // one commits. Optional: Commit does whatever was not prepared, and records
  // added after Prepare are simply not prepared.
  absl::Status Prepare(const Store& store);

 private:
  friend class Store;
  // Appends a change of `kind` (its record is set by the caller).
  v1::Change* Add(v1::ChangeKind kind, Mode mode);
  std::vector<v1::Change> changes_;
  std::vector<Mode> modes_;  // Parallel to changes_.
  std::vector<v1::AuditEntry> audit_;
  std::vector<std::pair<std::string, std::optional<std::string>>> local_;
  // Parallel to changes_ (shorter or with nulls where not prepared).
  std::vector<std::shared_ptr<const PreparedRecord>> prepared_;
};

// What a Commit wrote.
struct CommitResult {
  std::vector<v1::Change>
      changes;  // With origin, origin_seq, log_pos, hlc filled.
  std::vector<uint64_t>
      audit_seqs;  // Sequence numbers of the audit entries written.
};

// Where a link's receiving side stands: the peer's store incarnation and the
// position in the peer's log up to which everything has been applied.
struct LinkCursor {
  std::string peer_incarnation;
  uint64_t pos = 0;
};

// A batch of changes received over a replication link.
struct ReplicatedBatch {
  enum class Source { kChild, kParent };
  Source source = Source::kChild;
  std::string peer;  // Node id of the child (from its certificate) or parent.
  // Checkpoint written in the same WriteBatch (ignored for repairs).
  std::string peer_incarnation;
  uint64_t last_pos = 0;
  std::vector<v1::Change> changes;
  // A repair snapshot: records are adopted when newer than the local version;
  // sequence numbers are not consulted and no checkpoint moves.
  bool repair = false;
};

struct ApplyResult {
  int applied = 0;
  int duplicates = 0;  // Already applied, or superseded by a newer version.
  int rejected = 0;    // Outside the peer's scope: security events, audited.
  int gaps = 0;        // Sequence jumps seen (tolerated, counted).
  std::vector<std::string> rejections;  // Reasons, for logs and tests.
};

struct AuditHead {
  uint64_t seq = 0;
  std::string hash;  // 32 bytes; 32 zero bytes when seq == 0.
};

// What Store::VerifyAudit found.
struct AuditVerification {
  bool intact = true;
  uint64_t entries = 0;       // Entries walked.
  uint64_t first_broken = 0;  // 0 when intact.
  std::string detail;         // What is wrong there.
  AuditHead head;             // The recorded head the walk was checked against.
};

// A search of the audit log (Store::SearchAudit). Empty or zero fields do not
// filter.
struct AuditQuery {
  std::string actor;   // Exactly this actor.
  std::string org_id;  // actor_org or target_org is this organisation.
  // actor_org or target_org lies in the subtree of this organisation (the
  // parent tier's view of everything done in or to its subtree).
  std::string subtree_of;
  std::string action;
  int64_t from_ms = 0;     // Inclusive.
  int64_t to_ms = 0;       // Exclusive.
  uint64_t after_seq = 0;  // Paging: only entries with seq > after_seq.
  size_t limit = 100;
  // Entries looked at per call at most; the page then ends early.
  size_t max_examined = 20'000;
};

struct AuditPage {
  std::vector<v1::AuditEntry> entries;  // In seq order.
  // Non-zero when more may match: pass it as after_seq for the next page.
  uint64_t resume_after = 0;
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
  const std::string& path() const { return path_; }
  const Vault& vault() const { return *vault_; }
  // Random id chosen when the store was created. A recreated or restored store
  // gets a new one, so replication never resumes from a checkpoint that
  // belonged to an earlier store.
  std::string incarnation() const;

  // Takes an online, consistent backup of the store into `engine` with
  // `app_metadata` (store/backup.h: BackupArchive does this); memtables are
  // flushed first. Returns the backup's id.
  absl::StatusOr<uint32_t> CreateBackup(rocksdb::BackupEngine* engine,
                                        const std::string& app_metadata);

  // Commits `writes` atomically and durably. `author` is the username recorded
  // on each change. Validation of the records themselves is the caller's job;
  // the store enforces only its own invariants (an organisation's parent exists
  // and never changes, a member's organisation exists, an active ID number
  // belongs to one member) and fails with FAILED_PRECONDITION or ALREADY_EXISTS
  // without writing anything.
  absl::StatusOr<CommitResult> Commit(const WriteSet& writes,
                                      absl::string_view author);

  // Applies changes received from a replication peer, with the peer's
  // checkpoint, in one durable WriteBatch. Every change is checked against the
  // peer's scope (docs/REPLICATION.md, "What a link accepts"); refused ones are
  // audited and counted, and the rest still apply, so one bad record never
  // stops replication. Changes already applied (same origin and incarnation,
  // sequence not above the last applied) are dropped: delivery is
  // at-least-once, the effect exactly-once.
  absl::StatusOr<ApplyResult> ApplyReplicated(ReplicatedBatch batch);

  // The checkpoint of the link with `peer` (empty when none).
  absl::StatusOr<LinkCursor> GetCursor(absl::string_view peer) const;
  // Highest sequence applied from (origin, incarnation); 0 when none.
  absl::StatusOr<uint64_t> AppliedSeq(absl::string_view origin,
                                      absl::string_view incarnation) const;
  // Starts a new incarnation, after a parent found this store older than what
  // it has already applied from it (restored from a backup): later changes get
  // sequences of the new incarnation and can never be mistaken for old ones.
  absl::Status StartNewIncarnation();
  // Every record anchored at `org_id` (the organisation's registration and
  // profile, its members, accounts and warnings) as changes carrying the origin
  // and HLC of the version held, with origin_seq 0: a repair snapshot.
  absl::StatusOr<std::vector<v1::Change>> OrgSnapshot(
      absl::string_view org_id) const;
  // Subtree digest of `org_id` minus those of its children: the digest of the
  // organisation's own records.
  absl::StatusOr<std::string> OwnDigest(absl::string_view org_id) const;

  // Point reads. NOT_FOUND when absent.
  absl::StatusOr<v1::Org> GetOrg(absl::string_view id) const;
  absl::StatusOr<v1::Member> GetMember(absl::string_view id) const;
  absl::StatusOr<v1::Account> GetAccount(absl::string_view username) const;
  // Ids of the active members holding `id_number` (more than one only where
  // replicas from different nodes disagree, for the hub to reconcile).
  absl::StatusOr<std::vector<std::string>> MembersWithIdNumber(
      absl::string_view id_number) const;
  // As above for the index token of an ID number (IdNumberToken), for
  // callers that keep only the token (the hub's dues ledger).
  absl::StatusOr<std::vector<std::string>> MembersWithIdToken(
      absl::string_view token) const;
  // Member ids in the whole ID-number index (a scan; for consistency
  // checks).
  absl::StatusOr<uint64_t> CountIdIndexEntries() const;
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
  // Log entries a parent may send down to children (registrations and
  // accounts written here or received from above), log_pos >= from, in order.
  absl::StatusOr<std::vector<v1::Change>> ReadDownLog(uint64_t from,
                                                      size_t limit) const;
  // Forgets the checkpoint of the link with `peer`: the next session resends
  // everything from the start (duplicates are dropped on apply).
  absl::Status ResetCursor(absl::string_view peer);
  // Adds a function called (outside the commit lock) after every successful
  // Commit and ApplyReplicated that wrote changes, so replication can send
  // what was just written and followers of the log can catch up. Listeners
  // must be quick and must not commit. Returns an id for
  // RemoveCommitListener.
  uint64_t AddCommitListener(std::function<void()> listener);
  // Removes a listener; when it returns, the listener is not running and will
  // not be called again.
  void RemoveCommitListener(uint64_t id);

  // Progress aggregates (maintained when StoreOptions::track_progress):
  // counters of a scope, "all" (every record held), "r:<region>" or
  // "y:<system>", all zero when unknown; their digest is unused.
  absl::StatusOr<v1::SubtreeCounters> GetScopeCounters(
      absl::string_view scope) const;
  // Scopes with counters, in key order, whose name starts with `prefix`.
  absl::StatusOr<std::vector<std::string>> ListScopes(
      absl::string_view prefix) const;
  // Daily figures of a scope ("all", "r:<region>", "y:<system>" or
  // "t:<org>", the subtree of an organisation) for days in [from, to]
  // ("YYYY-MM-DD", UTC+8; empty: unbounded), in date order; days without
  // changes are absent.
  absl::StatusOr<std::vector<std::pair<std::string, v1::DayProgress>>> ReadDays(
      absl::string_view scope, absl::string_view from,
      absl::string_view to) const;
  absl::StatusOr<v1::OrgProgress> GetOrgProgress(
      absl::string_view org_id) const;
  // Writer's time (ms) of the newest change held from each origin node.
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> OriginTimes()
      const;
  // Every organisation held, in id order, after `after`.
  absl::StatusOr<std::vector<v1::Org>> ScanOrgs(absl::string_view after,
                                                size_t limit) const;

  // Reconciliation records. NOT_FOUND when absent.
  absl::StatusOr<v1::Warning> GetWarning(absl::string_view id) const;
  absl::StatusOr<v1::Conflict> GetConflict(absl::string_view id) const;
  // Warnings whose id sorts after `after`, or conflicts likewise.
  absl::StatusOr<std::vector<v1::Warning>> ScanWarnings(absl::string_view after,
                                                        size_t limit) const;
  absl::StatusOr<std::vector<v1::Conflict>> ScanConflicts(
      absl::string_view after, size_t limit) const;
  // Ids of the warnings of one organisation.
  absl::StatusOr<std::vector<std::string>> WarningsOfOrg(
      absl::string_view org_id) const;
  // Approved exports. NOT_FOUND when absent.
  absl::StatusOr<v1::ExportRequest> GetExportRequest(
      absl::string_view id) const;
  // The decisions on one request, in level order.
  absl::StatusOr<std::vector<v1::ExportApproval>> ExportApprovals(
      absl::string_view request_id) const;
  // Ids of the export requests of one organisation.
  absl::StatusOr<std::vector<std::string>> ExportRequestsOfOrg(
      absl::string_view org_id) const;
  // Ids of the active organisations holding `credit_code`.
  // Ids of the organisations that run their own node (host_node == id), in
  // id order.
  absl::StatusOr<std::vector<std::string>> NodeOrgs() const;
  absl::StatusOr<std::vector<std::string>> OrgsWithCreditCode(
      absl::string_view credit_code) const;

  // The day ("YYYY-MM-DD", UTC+8) a time falls on.
  static std::string DayOf(int64_t unix_ms);

  // Audit entries with seq >= from, in order.
  absl::StatusOr<std::vector<v1::AuditEntry>> ReadAudit(uint64_t from,
                                                        size_t limit) const;

  // True when `org_id` is `ancestor_id` or lies below it.
  absl::StatusOr<bool> IsInSubtree(absl::string_view org_id,
                                   absl::string_view ancestor_id) const;

  // Local state.
  absl::StatusOr<std::optional<std::string>> GetLocal(
      absl::string_view key) const;
  // Up to `limit` local entries whose keys start with `prefix`, after the
  // key `prefix` + `after` (from the first when empty), in key order; keys
  // without the prefix.
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ScanLocal(
      absl::string_view prefix, absl::string_view after, size_t limit) const;

  // Position the next change-log entry will get; sequence the next local change
  // will get.
  uint64_t next_log_pos() const;
  // Bytes of the store's table files on disk (all column families; the
  // write-ahead log and memtables not counted). For /metrics.
  uint64_t TableBytes() const;
  uint64_t next_origin_seq() const;
  uint64_t own_last_seq() const { return next_origin_seq() - 1; }
  AuditHead audit_head() const;

  // Walks the whole audit chain and returns the seq of the first entry whose
  // hash or link is wrong, or nullopt when the chain is intact.
  absl::StatusOr<std::optional<uint64_t>> VerifyAuditChain() const;
  // The same walk with its details, against the head recorded at the moment
  // the walk starts (a consistent snapshot). The first broken entry is the one
  // whose contents no longer match its hash; when an entry matches its own
  // hash but the next entry links to another one, the entry was replaced with
  // a recomputed hash and is the one named; missing or extra entries name the
  // first missing (or extra) sequence.
  absl::StatusOr<AuditVerification> VerifyAudit() const;
  // Entries matching `query`, in seq order, through the index by actor or
  // organisation when one is given, else a scan of the log; a time range
  // starts (and ends) by binary search over entry times, which are in commit
  // order up to a minute of clock skew.
  absl::StatusOr<AuditPage> SearchAudit(const AuditQuery& query) const;

  // Re-encrypts every record that is in plaintext or sealed under a data key
  // other than the vault's active one (organisations, members, change-log
  // entries, conflicts), and rebuilds the ID-number index under the vault's
  // index key, in batches; crash-safe (a marker makes the next Open finish
  // it) and idempotent. Once it has run, data keys other than the active one
  // can be removed from the key file. Runs under the commit lock: commits
  // wait.
  absl::StatusOr<ResealStats> Reseal();
  // What the reseal done while opening found (empty when none ran).
  const ResealStats& open_reseal() const { return open_reseal_; }
  // The rule grassroots_entered is counted under.
  const v1::EnteredRule& entered_rule() const { return entered_rule_; }

  // Hash of one entry (SHA-256 over its deterministic serialisation with `hash`
  // cleared).
  static std::string AuditEntryHash(const v1::AuditEntry& entry);
  // The digest contribution of one record.
  static std::string RecordDigest(const v1::Change& change);

 private:
  Store() = default;
  absl::Status LoadMeta(const StoreOptions& options, bool created);
  // Refuses a key file lacking a data key records may be sealed under;
  // records the active key as in use.
  absl::Status CheckDataKeys(const std::string& path);
  // Indexes audit entries written before the search index existed (once).
  absl::Status IndexOldAudit();
  // Recounts grassroots_entered everywhere when the store was last counted
  // under another rule (store/entered.cc).
  absl::Status CountEntered();
  // The first seq in [1, head] whose entry's time is >= t (head + 1 when
  // none), assuming times are in seq order; conservative when an entry cannot
  // be read.
  uint64_t AuditSeqAtTime(int64_t t, uint64_t head, bool lower) const;

  template <typename T>
  absl::StatusOr<T> GetProto(rocksdb::ColumnFamilyHandle* cf,
                             absl::string_view key) const;

  // Stages one change (local or remote) into `batch`: merges organisation
  // parts, checks invariants, indexes, counters, version stamps and the log
  // entry. `change` has origin, sequence, incarnation and HLC set.
  // `unique_person` refuses a second active member with the same ID number
  // (local entry); replicated records are kept and reconciled at the hub.
  // `prepared`, when given, is WriteSet::Prepare's work for this change.
  absl::Status StageChange(store_internal::CommitContext& ctx,
                           v1::Change& change, bool must_create,
                           bool unique_person, uint64_t log_pos, void* batch,
                           const PreparedRecord* prepared = nullptr);

  std::string node_id_;
  std::string path_;
  std::string incarnation_ ABSL_GUARDED_BY(commit_mu_);
  bool sync_ = true;
  const Clock* clock_ = nullptr;
  std::unique_ptr<HybridClock> hlc_;
  std::unique_ptr<rocksdb::DB> db_;
  std::unique_ptr<store_internal::Handles> cf_;
  std::shared_ptr<const Vault> vault_;
  ResealStats open_reseal_;
  // Set by LoadMeta: the store must be resealed before use.
  bool needs_reseal_ = false;

  absl::StatusOr<CommitResult> CommitImpl(const WriteSet& writes,
                                          absl::string_view author);
  absl::StatusOr<ApplyResult> ApplyImpl(ReplicatedBatch& batch);
  void NotifyCommit();
  absl::Mutex listener_mu_;
  uint64_t next_listener_id_ ABSL_GUARDED_BY(listener_mu_) = 1;
  std::vector<std::pair<uint64_t, std::function<void()>>> listeners_
      ABSL_GUARDED_BY(listener_mu_);
  bool track_progress_ = true;
  v1::EnteredRule entered_rule_;  // Normalised by Open.

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
