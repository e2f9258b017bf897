#include "store/store.h"

#include <algorithm>
#include <filesystem>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/change_rules.h"
#include "common/crypto.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/backup_engine.h"
#include "rocksdb/write_batch.h"
#include "store/backup.h"
#include "store/commit_context.h"
#include "store/keys.h"
#include "store/rocks_status.h"
#include "store/store_internal.h"
#include "vault/records.h"
#include "vault/vault.h"

namespace unionsync {

using store_internal::ChainAudit;
using store_internal::CommitContext;
using store_internal::DigestOfBytes;
using store_internal::Handles;
using store_internal::kHashSize;
using store_internal::Serialize;
using store_internal::SerializeSealed;
using store_internal::Sl;

absl::Status WriteSet::Prepare(const Store& store) {
  prepared_.resize(changes_.size());
  for (size_t i = 0; i < changes_.size(); ++i) {
    const v1::Change& c = changes_[i];
    if (prepared_[i] != nullptr || !c.has_member()) continue;
    auto p = std::make_shared<PreparedRecord>();
    p->plain = Serialize(c.member());
    p->digest = DigestOfBytes('m', p->plain);
    ASSIGN_OR_RETURN(p->stored,
                     SerializeSealed(store.vault(), c.member(), SealMember));
    p->token = IdNumberToken(store.vault(), c.member().id_number());
    prepared_[i] = std::move(p);
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// WriteSet

v1::Change* WriteSet::Add(v1::ChangeKind kind, Mode mode) {
  modes_.push_back(mode);
  v1::Change& c = changes_.emplace_back();
  c.set_kind(kind);
  return &c;
}

void WriteSet::PutOrg(v1::Org org, Mode mode) {
  *Add(v1::PUT_ORG, mode)->mutable_org() = std::move(org);
}

void WriteSet::PutOrgProfile(v1::Org org) {
  *Add(v1::PUT_ORG_PROFILE, Mode::kUpsert)->mutable_org() = std::move(org);
}

void WriteSet::PutMember(v1::Member member, Mode mode) {
  *Add(v1::PUT_MEMBER, mode)->mutable_member() = std::move(member);
}

void WriteSet::PutAccount(v1::Account account, Mode mode) {
  *Add(v1::PUT_ACCOUNT, mode)->mutable_account() = std::move(account);
}

void WriteSet::PutConflict(v1::Conflict conflict) {
  *Add(v1::PUT_CONFLICT, Mode::kUpsert)->mutable_conflict() =
      std::move(conflict);
}

void WriteSet::PutWarning(v1::Warning warning) {
  *Add(v1::PUT_WARNING, Mode::kUpsert)->mutable_warning() = std::move(warning);
}

void WriteSet::PutExportRequest(v1::ExportRequest request) {
  *Add(v1::PUT_EXPORT_REQUEST, Mode::kUpsert)->mutable_export_request() =
      std::move(request);
}

void WriteSet::PutExportApproval(v1::ExportApproval approval) {
  *Add(v1::PUT_EXPORT_APPROVAL, Mode::kUpsert)->mutable_export_approval() =
      std::move(approval);
}

void WriteSet::Audit(v1::AuditEntry entry) {
  audit_.push_back(std::move(entry));
}

void WriteSet::PutLocal(std::string key, std::string value) {
  local_.emplace_back(std::move(key), std::move(value));
}

void WriteSet::DeleteLocal(std::string key) {
  local_.emplace_back(std::move(key), std::nullopt);
}

Store::~Store() {
  if (db_ != nullptr && cf_ != nullptr) {
    // A clean close flushes the memtables, so the next start has no
    // write-ahead log to replay and opens at once. Everything is durable
    // already (every commit synced its WAL): a failed flush loses nothing.
    rocksdb::FlushOptions flush;
    flush.allow_write_stall = true;
    rocksdb::Status s = db_->Flush(flush, cf_->all);
    if (!s.ok()) {
      LogWarning("store", absl::StrCat("flush on close of ", path_,
                                       " failed (the next start replays the "
                                       "write-ahead log): ",
                                       s.ToString()));
    }
    for (auto* h : cf_->all) db_->DestroyColumnFamilyHandle(h);
  }
  db_.reset();
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(
    const StoreOptions& options) {
  if (options.path.empty())
    return absl::InvalidArgumentError("store path is empty");
  if (options.node_id.empty())
    return absl::InvalidArgumentError("node id is empty");
  std::error_code ec;
  rocksdb::Env* env =
      options.env != nullptr ? options.env : rocksdb::Env::Default();
  const bool exists = env->FileExists(options.path + "/CURRENT").ok();
  if (!exists && !options.create_if_missing) {
    return absl::NotFoundError(absl::StrCat("no store at ", options.path));
  }
  if (!exists && options.env == nullptr &&
      std::filesystem::exists(options.path, ec) &&
      !std::filesystem::is_empty(options.path, ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat(options.path,
                     " exists, is not empty and is not a RocksDB database; "
                     "refusing to use it"));
  }

  if (options.vault == nullptr) {
    return absl::InvalidArgumentError(
        "StoreOptions.vault is required: personal data is stored encrypted "
        "(docs/KEYS.md)");
  }
  rocksdb::Options db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = !exists;
  db_options.paranoid_checks = true;
  if (options.env != nullptr) db_options.env = options.env;
  db_options.IncreaseParallelism(2);
  db_options.max_background_jobs = 2;
  // After a crash, RocksDB replays the write-ahead log still live. Small
  // column families (meta, counters, cursors) rarely fill a memtable and
  // would keep every log file alive, so a million members would mean a
  // gigabyte to replay; past this size the column families holding the
  // oldest log are flushed, which bounds the replay (docs/BENCHMARKS.md,
  // "Restart").
  db_options.max_total_wal_size = 64ull << 20;
  rocksdb::ColumnFamilyOptions cf_options;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // Most point reads during bulk writes are for keys not yet written (a new
  // member's previous version, its version stamp): a bloom filter over the
  // memtable answers those without walking the skip list.
  cf_options.memtable_whole_key_filtering = true;
  cf_options.memtable_prefix_bloom_size_ratio = 0.02;

  const std::vector<std::string> names = {rocksdb::kDefaultColumnFamilyName,
                                          keys::kOrgs,
                                          keys::kMembers,
                                          keys::kAccounts,
                                          keys::kLog,
                                          keys::kIndex,
                                          keys::kCounters,
                                          keys::kAudit,
                                          keys::kLocal,
                                          keys::kRepl,
                                          keys::kVersions,
                                          keys::kProgress,
                                          keys::kHub};
  if (exists) {
    std::vector<std::string> present;
    rocksdb::Status s =
        rocksdb::DB::ListColumnFamilies(db_options, options.path, &present);
    RETURN_IF_ERROR(FromRocks(
        s, absl::StrCat("listing column families of ", options.path)));
    for (const auto& n : names) {
      if (std::find(present.begin(), present.end(), n) == present.end()) {
        return absl::FailedPreconditionError(absl::StrCat(
            options.path, " is not a unionsync store (column family '", n,
            "' is missing)"));
      }
    }
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& n : names) descriptors.emplace_back(n, cf_options);

  auto store = std::unique_ptr<Store>(new Store());
  store->cf_ = std::make_unique<Handles>();
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, options.path, descriptors,
                                        &store->cf_->all, &raw);
  RETURN_IF_ERROR(FromRocks(s, absl::StrCat("opening store ", options.path)));
  store->db_.reset(raw);
  auto& h = *store->cf_;
  h.meta = h.all[0];
  h.orgs = h.all[1];
  h.members = h.all[2];
  h.accounts = h.all[3];
  h.log = h.all[4];
  h.index = h.all[5];
  h.counters = h.all[6];
  h.audit = h.all[7];
  h.local = h.all[8];
  h.repl = h.all[9];
  h.versions = h.all[10];
  h.progress = h.all[11];
  h.hub = h.all[12];
  store->track_progress_ = options.track_progress;
  store->entered_rule_ = options.entered;
  if (store->entered_rule_.min_members() < 1) {
    store->entered_rule_.set_min_members(1);
  }
  if (!(store->entered_rule_.workforce_share() > 0)) {  // NaN too.
    store->entered_rule_.set_workforce_share(0);
  }
  store->entered_rule_.set_workforce_share(
      std::min(1.0, store->entered_rule_.workforce_share()));
  // Not the store's business: which figure targets count.
  store->entered_rule_.clear_targets_count_entered();
  store->sync_ = options.sync;
  store->clock_ =
      options.clock != nullptr ? options.clock : SystemClock::Default();
  store->hlc_ = std::make_unique<HybridClock>(store->clock_);
  store->vault_ = options.vault;
  store->path_ = options.path;
  RETURN_IF_ERROR(store->LoadMeta(options, !exists));
  RETURN_IF_ERROR(store->IndexOldAudit());
  if (store->needs_reseal_ || options.reseal) {
    ASSIGN_OR_RETURN(store->open_reseal_, store->Reseal());
  }
  RETURN_IF_ERROR(store->CheckDataKeys(options.path));
  RETURN_IF_ERROR(store->CountEntered());
  // Restored from a backup (store/backup.h): a new incarnation, so that no
  // peer resumes from a position in the log as it was before.
  const std::string marker = options.path + "/" + kRestoredMarker;
  if (env->FileExists(marker).ok()) {
    const std::string before = store->incarnation();
    RETURN_IF_ERROR(store->StartNewIncarnation());
    RETURN_IF_ERROR(
        FromRocks(env->DeleteFile(marker), absl::StrCat("removing ", marker)));
    LogInfo("store", absl::StrCat("restored from a backup: incarnation ",
                                  before, " ends, ", store->incarnation(),
                                  " begins; peers resend from the start"));
  }
  return store;
}

uint64_t Store::TableBytes() const {
  uint64_t total = 0;
  for (rocksdb::ColumnFamilyHandle* cf : cf_->all) {
    uint64_t bytes = 0;
    if (db_->GetIntProperty(cf, "rocksdb.live-sst-files-size", &bytes)) {
      total += bytes;
    }
  }
  return total;
}

absl::StatusOr<uint32_t> Store::CreateBackup(rocksdb::BackupEngine* engine,
                                             const std::string& app_metadata) {
  rocksdb::CreateBackupOptions options;
  options.flush_before_backup = true;
  rocksdb::BackupID id = 0;
  RETURN_IF_ERROR(FromRocks(engine->CreateNewBackupWithMetadata(
                                options, db_.get(), app_metadata, &id),
                            absl::StrCat("backing up store ", path_)));
  return id;
}

absl::Status Store::LoadMeta(const StoreOptions& options, bool created) {
  auto get =
      [&](absl::string_view key) -> absl::StatusOr<std::optional<std::string>> {
    std::string value;
    rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), cf_->meta, Sl(key), &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    RETURN_IF_ERROR(FromRocks(s, absl::StrCat("reading ", key)));
    return std::optional<std::string>(std::move(value));
  };
  ASSIGN_OR_RETURN(std::optional<std::string> node_id, get(keys::kMetaNodeId));
  absl::MutexLock lock(&commit_mu_);
  if (!node_id.has_value()) {
    if (!created) {
      return absl::FailedPreconditionError(absl::StrCat(
          options.path, " is not a unionsync store (no node id recorded)"));
    }
    ASSIGN_OR_RETURN(std::string raw, RandomBytes(16));
    incarnation_ = HexEncode(raw);
    node_id_ = options.node_id;
    audit_head_.hash.assign(kHashSize, '\0');
    rocksdb::WriteBatch batch;
    batch.Put(cf_->meta, keys::kMetaNodeId, node_id_);
    batch.Put(cf_->meta, keys::kMetaIncarnation, incarnation_);
    batch.Put(cf_->meta, keys::kMetaSchema, keys::kSchemaVersion);
    batch.Put(cf_->meta, keys::kMetaNextSeq, keys::BigEndian64(1));
    batch.Put(cf_->meta, keys::kMetaNextLogPos, keys::BigEndian64(1));
    batch.Put(cf_->meta, keys::kMetaAuditHead,
              keys::BigEndian64(0) + audit_head_.hash);
    batch.Put(cf_->meta, keys::kMetaAuditIndexed, "1");
    batch.Put(cf_->meta, keys::kMetaIndexKey, vault_->IndexKeyCheck());
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return FromRocks(db_->Write(wo, &batch), "initialising store");
  }
  if (*node_id != options.node_id) {
    return absl::FailedPreconditionError(
        absl::StrCat("store ", options.path, " belongs to node '", *node_id,
                     "', not '", options.node_id, "'; refusing to open it"));
  }
  node_id_ = *node_id;
  ASSIGN_OR_RETURN(std::optional<std::string> schema, get(keys::kMetaSchema));
  if (!schema.has_value() || (*schema != keys::kSchemaVersion &&
                              *schema != keys::kSchemaBeforeSealing)) {
    int written = 0, ours = 0;
    if (schema.has_value() && absl::SimpleAtoi(*schema, &written) &&
        absl::SimpleAtoi(keys::kSchemaVersion, &ours) && written > ours) {
      return absl::FailedPreconditionError(absl::StrCat(
          "store ", options.path, " has on-disk format ", written,
          ", written by a newer unionsync; this binary reads formats ",
          keys::kSchemaBeforeSealing, " to ", ours,
          ". Install the newer release again: a store is never downgraded "
          "(to go back, restore a backup taken before the upgrade; "
          "docs/OPERATIONS.md, \"Upgrades\")"));
    }
    return absl::FailedPreconditionError(
        absl::StrCat("store ", options.path, " has on-disk format '",
                     schema.value_or("<none>"), "', this binary reads formats ",
                     keys::kSchemaBeforeSealing, " to ", keys::kSchemaVersion));
  }
  ASSIGN_OR_RETURN(std::optional<std::string> pending,
                   get(keys::kMetaResealPending));
  ASSIGN_OR_RETURN(std::optional<std::string> index_key,
                   get(keys::kMetaIndexKey));
  needs_reseal_ = *schema == keys::kSchemaBeforeSealing || pending.has_value();
  if (!needs_reseal_ && !options.reseal &&
      index_key.value_or("") != vault_->IndexKeyCheck()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "store ", options.path, " indexes ID numbers under index key '",
        index_key.value_or("<none>"), "', but the key file holds index key '",
        vault_->IndexKeyCheck(),
        "'; if the index key was rotated on purpose, run unionsync-node "
        "--reseal once (docs/KEYS.md), otherwise use the right key file"));
  }
  ASSIGN_OR_RETURN(std::optional<std::string> inc, get(keys::kMetaIncarnation));
  ASSIGN_OR_RETURN(std::optional<std::string> seq, get(keys::kMetaNextSeq));
  ASSIGN_OR_RETURN(std::optional<std::string> pos, get(keys::kMetaNextLogPos));
  ASSIGN_OR_RETURN(std::optional<std::string> head, get(keys::kMetaAuditHead));
  ASSIGN_OR_RETURN(std::optional<std::string> hlc, get(keys::kMetaHlc));
  if (!inc || !seq || seq->size() != 8 || !pos || pos->size() != 8 || !head ||
      head->size() != 8 + kHashSize) {
    return absl::DataLossError(
        absl::StrCat("store ", options.path, " has damaged metadata"));
  }
  incarnation_ = *inc;
  next_seq_ = keys::DecodeBigEndian64(*seq);
  next_log_pos_ = keys::DecodeBigEndian64(*pos);
  audit_head_.seq = keys::DecodeBigEndian64(head->substr(0, 8));
  audit_head_.hash = head->substr(8);
  if (hlc.has_value() && hlc->size() == 8)
    hlc_->Observe(keys::DecodeBigEndian64(*hlc));
  return absl::OkStatus();
}

uint64_t Store::AddCommitListener(std::function<void()> listener) {
  absl::MutexLock lock(&listener_mu_);
  const uint64_t id = next_listener_id_++;
  listeners_.emplace_back(id, std::move(listener));
  return id;
}

void Store::RemoveCommitListener(uint64_t id) {
  // The exclusive lock waits for calls in progress (they hold it shared).
  absl::MutexLock lock(&listener_mu_);
  listeners_.erase(
      std::remove_if(listeners_.begin(), listeners_.end(),
                     [id](const auto& l) { return l.first == id; }),
      listeners_.end());
}

void Store::NotifyCommit() {
  absl::ReaderMutexLock lock(&listener_mu_);
  for (const auto& [id, listener] : listeners_) {
    if (listener) listener();
  }
}

uint64_t Store::next_log_pos() const {
  absl::MutexLock lock(&commit_mu_);
  return next_log_pos_;
}

uint64_t Store::next_origin_seq() const {
  absl::MutexLock lock(&commit_mu_);
  return next_seq_;
}

AuditHead Store::audit_head() const {
  absl::MutexLock lock(&commit_mu_);
  return audit_head_;
}

absl::StatusOr<CommitResult> Store::Commit(const WriteSet& writes,
                                           absl::string_view author) {
  absl::StatusOr<CommitResult> result = CommitImpl(writes, author);
  if (result.ok() && !result->changes.empty()) NotifyCommit();
  return result;
}

absl::StatusOr<CommitResult> Store::CommitImpl(const WriteSet& writes,
                                               absl::string_view author) {
  absl::MutexLock lock(&commit_mu_);
  RETURN_IF_ERROR(sticky_error_);
  CommitContext ctx(this, db_.get(), cf_.get(), track_progress_);
  rocksdb::WriteBatch batch;
  CommitResult result;
  uint64_t seq = next_seq_;
  uint64_t pos = next_log_pos_;
  uint64_t last_hlc = 0;

  for (size_t i = 0; i < writes.changes_.size(); ++i) {
    v1::Change change = writes.changes_[i];
    change.set_origin(node_id_);
    change.set_origin_incarnation(incarnation_);
    change.set_origin_seq(seq);
    change.set_hlc(last_hlc = hlc_->Now());
    change.set_author(std::string(author));
    const PreparedRecord* prepared =
        i < writes.prepared_.size() ? writes.prepared_[i].get() : nullptr;
    RETURN_IF_ERROR(StageChange(ctx, change,
                                writes.modes_[i] == WriteSet::Mode::kCreate,
                                /*unique_person=*/true, pos, &batch, prepared));
    if (GoesDown(change)) ctx.PutIndex(keys::DownKey(pos), "");
    ++seq;
    ++pos;
    result.changes.push_back(std::move(change));
  }
  RETURN_IF_ERROR(ctx.Finish(&batch));

  AuditHead head = audit_head_;
  ChainAudit(writes.audit_, clock_, &head, &batch, cf_->audit, cf_->index,
             &result.audit_seqs);
  for (const auto& [key, value] : writes.local_) {
    if (value.has_value()) {
      batch.Put(cf_->local, key, *value);
    } else {
      batch.Delete(cf_->local, key);
    }
  }
  batch.Put(cf_->meta, keys::kMetaNextSeq, Sl(keys::BigEndian64(seq)));
  batch.Put(cf_->meta, keys::kMetaNextLogPos, Sl(keys::BigEndian64(pos)));
  batch.Put(cf_->meta, keys::kMetaAuditHead,
            Sl(keys::BigEndian64(head.seq) + head.hash));
  if (last_hlc != 0) {
    batch.Put(cf_->meta, keys::kMetaHlc, Sl(keys::BigEndian64(last_hlc)));
  }
  rocksdb::WriteOptions wo;
  wo.sync = sync_;
  rocksdb::Status s = db_->Write(wo, &batch);
  if (!s.ok()) {
    sticky_error_ = FromRocks(s, "commit");
    return sticky_error_;
  }
  next_seq_ = seq;
  next_log_pos_ = pos;
  audit_head_ = head;
  return result;
}

std::string Store::incarnation() const {
  absl::MutexLock lock(&commit_mu_);
  return incarnation_;
}

absl::Status Store::StartNewIncarnation() {
  absl::MutexLock lock(&commit_mu_);
  RETURN_IF_ERROR(sticky_error_);
  ASSIGN_OR_RETURN(std::string raw, RandomBytes(16));
  const std::string incarnation = HexEncode(raw);
  rocksdb::WriteBatch batch;
  batch.Put(cf_->meta, keys::kMetaIncarnation, incarnation);
  batch.Put(cf_->meta, keys::kMetaNextSeq, Sl(keys::BigEndian64(1)));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status s = db_->Write(wo, &batch);
  if (!s.ok()) {
    sticky_error_ = FromRocks(s, "new incarnation");
    return sticky_error_;
  }
  incarnation_ = incarnation;
  next_seq_ = 1;
  return absl::OkStatus();
}

}  // namespace unionsync
