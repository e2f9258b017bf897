#include "store/store.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <set>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/change_rules.h"
#include "common/crypto.h"
#include "common/log.h"
#include "common/org_rules.h"
#include "common/status_macros.h"
#include "common/validation.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/backup_engine.h"
#include "rocksdb/write_batch.h"
#include "store/backup.h"
#include "store/keys.h"
#include "store/rocks_status.h"
#include "vault/records.h"
#include "vault/vault.h"

namespace unionsync {
namespace {

// Depth guard for walks up the tree: four tiers today, a province adds one;
// anything deeper is a corrupt parent chain.
constexpr int kMaxDepth = 16;
constexpr size_t kHashSize = 32;

// Debian's Abseil keeps its own string_view, so convert explicitly.
rocksdb::Slice Sl(absl::string_view s) {
  return rocksdb::Slice(s.data(), s.size());
}
absl::string_view Sv(const rocksdb::Slice& s) {
  return absl::string_view(s.data(), s.size());
}

std::string Serialize(const google::protobuf::MessageLite& m) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  m.SerializeToCodedStream(&coded);
  coded.Trim();
  return out;
}

// Opens the sealed personal fields of a record read from the store (a no-op
// for records without any).
template <typename T>
absl::Status OpenStored(const Vault&, T*) {
  return absl::OkStatus();
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
template <typename T, typename Sealer>
absl::StatusOr<std::string> SerializeSealed(const Vault& vault, const T& in,
                                            Sealer seal) {
  T copy = in;
  RETURN_IF_ERROR(seal(vault, &copy));
  return Serialize(copy);
}

// SHA-256 over a one-letter record tag and the record's serialisation.
std::string DigestOfBytes(char tag, const std::string& bytes) {
  std::string buf;
  buf.reserve(bytes.size() + 1);
  buf.push_back(tag);
  buf.append(bytes);
  return Sha256(buf);
}

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
  std::string digest;        // XOR of record digests.

  bool CountsZero() const {
    return orgs == 0 && grassroots == 0 && complete == 0 && activated == 0 &&
           members == 0 && migrant == 0 && accounts == 0 && with_members == 0;
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
    if (!o.digest.empty())
      XorInto(&digest, o.digest);  // XOR is its own inverse.
  }
};

// The record's digest is computed from `bytes`, its deterministic
// serialisation, when the caller has it already.
Contribution ContributionOf(const v1::Change& c,
                            const std::string* bytes = nullptr,
                            const std::string* digest = nullptr) {
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

}  // namespace

// WriteSet::Prepare's work for one member change.
struct PreparedRecord {
  std::string plain;   // Serialisation of the plaintext record.
  std::string digest;  // Its digest contribution.
  std::string stored;  // Serialisation of the sealed record.
  std::string token;   // Index token of the ID number.
};

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

// ---------------------------------------------------------------------------------------------
// Store

struct Store::Handles {
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

Store::~Store() {
  if (db_ != nullptr && cf_ != nullptr) {
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

template <typename T>
absl::StatusOr<T> Store::GetProto(rocksdb::ColumnFamilyHandle* cf,
                                  absl::string_view key) const {
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
  RETURN_IF_ERROR(OpenStored(*vault_, &out));
  return out;
}

absl::StatusOr<v1::Org> Store::GetOrg(absl::string_view id) const {
  auto r = GetProto<v1::Org>(cf_->orgs, id);
  if (absl::IsNotFound(r.status())) {
    return absl::NotFoundError(
        absl::StrCat("organisation '", id, "' not found"));
  }
  return r;
}

absl::StatusOr<v1::Member> Store::GetMember(absl::string_view id) const {
  auto r = GetProto<v1::Member>(cf_->members, id);
  if (absl::IsNotFound(r.status())) {
    return absl::NotFoundError(absl::StrCat("member '", id, "' not found"));
  }
  return r;
}

absl::StatusOr<v1::Account> Store::GetAccount(
    absl::string_view username) const {
  auto r = GetProto<v1::Account>(cf_->accounts, username);
  if (absl::IsNotFound(r.status())) {
    return absl::NotFoundError(
        absl::StrCat("account '", username, "' not found"));
  }
  return r;
}

absl::StatusOr<v1::SubtreeCounters> Store::GetCounters(
    absl::string_view org_id) const {
  auto r = GetProto<v1::SubtreeCounters>(cf_->counters, org_id);
  if (absl::IsNotFound(r.status())) return v1::SubtreeCounters();
  return r;
}

namespace {

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

}  // namespace

absl::StatusOr<std::vector<std::string>> Store::MembersWithIdNumber(
    absl::string_view id_number) const {
  std::string value;
  rocksdb::Status s = db_->Get(
      rocksdb::ReadOptions(), cf_->index,
      Sl(keys::IdNumberKey(IdNumberToken(*vault_, id_number))), &value);
  if (s.IsNotFound()) return std::vector<std::string>();
  RETURN_IF_ERROR(FromRocks(s, "ID-number index"));
  return SplitHolders(value);
}

absl::StatusOr<uint64_t> Store::CountIdIndexEntries() const {
  uint64_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf_->index));
  for (it->Seek("n/"); it->Valid() && it->key().starts_with("n/"); it->Next()) {
    n += SplitHolders(Sv(it->value())).size();
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "ID-number index scan"));
  return n;
}

absl::StatusOr<v1::Member> Store::FindMemberByIdNumber(
    absl::string_view id_number) const {
  ASSIGN_OR_RETURN(std::vector<std::string> ids,
                   MembersWithIdNumber(id_number));
  for (const std::string& id : ids) {
    ASSIGN_OR_RETURN(v1::Member m, GetMember(id));
    if (m.status() == v1::MEMBER_ACTIVE && m.id_number() == id_number) {
      return m;
    }
  }
  return absl::NotFoundError("no active member with that ID number");
}

absl::StatusOr<std::vector<v1::Org>> Store::ListChildren(
    absl::string_view parent_id, absl::string_view after, size_t limit) const {
  ASSIGN_OR_RETURN(std::vector<std::string> ids,
                   ScanSuffixes(db_.get(), cf_->index,
                                keys::ChildPrefix(parent_id), after, limit));
  std::vector<v1::Org> out;
  out.reserve(ids.size());
  for (const auto& id : ids) {
    ASSIGN_OR_RETURN(v1::Org org, GetOrg(id));
    out.push_back(std::move(org));
  }
  return out;
}

absl::StatusOr<int64_t> Store::CountChildren(
    absl::string_view parent_id) const {
  ASSIGN_OR_RETURN(
      std::vector<std::string> ids,
      ScanSuffixes(db_.get(), cf_->index, keys::ChildPrefix(parent_id), "",
                   std::numeric_limits<size_t>::max()));
  return static_cast<int64_t>(ids.size());
}

absl::StatusOr<std::vector<v1::Member>> Store::ListMembers(
    absl::string_view org_id, absl::string_view after, size_t limit) const {
  ASSIGN_OR_RETURN(std::vector<std::string> ids,
                   ScanSuffixes(db_.get(), cf_->index,
                                keys::OrgMemberPrefix(org_id), after, limit));
  std::vector<v1::Member> out;
  out.reserve(ids.size());
  for (const auto& id : ids) {
    ASSIGN_OR_RETURN(v1::Member m, GetMember(id));
    out.push_back(std::move(m));
  }
  return out;
}

absl::StatusOr<std::vector<v1::Account>> Store::ListAccounts(
    absl::string_view org_id) const {
  ASSIGN_OR_RETURN(
      std::vector<std::string> names,
      ScanSuffixes(db_.get(), cf_->index, keys::OrgAccountPrefix(org_id), "",
                   std::numeric_limits<size_t>::max()));
  std::vector<v1::Account> out;
  for (const auto& n : names) {
    ASSIGN_OR_RETURN(v1::Account a, GetAccount(n));
    out.push_back(std::move(a));
  }
  return out;
}

absl::StatusOr<std::vector<v1::Change>> Store::ReadLog(uint64_t from,
                                                       size_t limit) const {
  std::vector<v1::Change> out;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf_->log));
  for (it->Seek(keys::BigEndian64(from)); it->Valid() && out.size() < limit;
       it->Next()) {
    v1::Change c;
    if (!c.ParseFromArray(it->value().data(),
                          static_cast<int>(it->value().size()))) {
      return absl::DataLossError(
          absl::StrCat("undecodable change at log position ",
                       keys::DecodeBigEndian64(Sv(it->key()))));
    }
    RETURN_IF_ERROR(OpenChange(*vault_, &c));
    out.push_back(std::move(c));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "log scan"));
  return out;
}

absl::StatusOr<std::vector<v1::Change>> Store::ReadDownLog(uint64_t from,
                                                           size_t limit) const {
  std::vector<v1::Change> out;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf_->index));
  const std::string prefix = keys::DownPrefix();
  for (it->Seek(Sl(keys::DownKey(from))); it->Valid() && out.size() < limit;
       it->Next()) {
    if (!it->key().starts_with(Sl(prefix))) break;
    const uint64_t pos =
        keys::DecodeBigEndian64(Sv(it->key()).substr(prefix.size()));
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_->log,
                                 Sl(keys::BigEndian64(pos)), &value);
    RETURN_IF_ERROR(FromRocks(s, absl::StrCat("log entry ", pos)));
    v1::Change c;
    if (!c.ParseFromString(value)) {
      return absl::DataLossError(
          absl::StrCat("undecodable change at log position ", pos));
    }
    RETURN_IF_ERROR(OpenChange(*vault_, &c));
    out.push_back(std::move(c));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "down index scan"));
  return out;
}

absl::Status Store::ResetCursor(absl::string_view peer) {
  absl::MutexLock lock(&commit_mu_);
  RETURN_IF_ERROR(sticky_error_);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Delete(wo, cf_->repl, Sl(keys::CursorKey(peer))),
                   "cursor reset");
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

absl::StatusOr<std::vector<v1::AuditEntry>> Store::ReadAudit(
    uint64_t from, size_t limit) const {
  std::vector<v1::AuditEntry> out;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf_->audit));
  for (it->Seek(keys::BigEndian64(from)); it->Valid() && out.size() < limit;
       it->Next()) {
    v1::AuditEntry e;
    if (!e.ParseFromArray(it->value().data(),
                          static_cast<int>(it->value().size()))) {
      return absl::DataLossError(
          absl::StrCat("undecodable audit entry at seq ",
                       keys::DecodeBigEndian64(Sv(it->key()))));
    }
    out.push_back(std::move(e));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "audit scan"));
  return out;
}

absl::StatusOr<bool> Store::IsInSubtree(absl::string_view org_id,
                                        absl::string_view ancestor_id) const {
  std::string current(org_id);
  for (int depth = 0; depth < kMaxDepth; ++depth) {
    if (current == ancestor_id) return true;
    auto org = GetOrg(current);
    if (absl::IsNotFound(org.status())) return false;
    RETURN_IF_ERROR(org.status());
    if (org->parent_id().empty()) return false;
    current = org->parent_id();
  }
  return absl::DataLossError(
      absl::StrCat("parent chain of '", org_id, "' is too deep"));
}

absl::StatusOr<std::optional<std::string>> Store::GetLocal(
    absl::string_view key) const {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), cf_->local, Sl(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  RETURN_IF_ERROR(FromRocks(s, "local read"));
  return std::optional<std::string>(std::move(value));
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

std::string Store::AuditEntryHash(const v1::AuditEntry& entry) {
  v1::AuditEntry copy = entry;
  copy.clear_hash();
  return Sha256(Serialize(copy));
}

std::string Store::RecordDigest(const v1::Change& change) {
  switch (change.record_case()) {
    case v1::Change::kOrg:
      return DigestOfBytes('o', Serialize(change.org()));
    case v1::Change::kMember:
      return DigestOfBytes('m', Serialize(change.member()));
    case v1::Change::kAccount:
      return DigestOfBytes('a', Serialize(change.account()));
    default:
      return std::string(kHashSize, '\0');
  }
}

absl::StatusOr<std::optional<uint64_t>> Store::VerifyAuditChain() const {
  ASSIGN_OR_RETURN(AuditVerification v, VerifyAudit());
  if (v.intact) return std::optional<uint64_t>();
  return std::optional<uint64_t>(v.first_broken);
}

absl::StatusOr<AuditVerification> Store::VerifyAudit() const {
  AuditVerification out;
  // The head and a snapshot taken together, so commits during the walk
  // neither add entries the head does not cover nor move the head.
  const rocksdb::Snapshot* snapshot = nullptr;
  {
    absl::MutexLock lock(&commit_mu_);
    out.head = audit_head_;
    snapshot = db_->GetSnapshot();
  }
  struct Release {
    rocksdb::DB* db;
    const rocksdb::Snapshot* s;
    ~Release() { db->ReleaseSnapshot(s); }
  } release{db_.get(), snapshot};
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot;
  auto broken = [&](uint64_t seq, std::string detail) {
    out.intact = false;
    out.first_broken = seq;
    out.detail = std::move(detail);
    return out;
  };
  std::string prev(kHashSize, '\0');
  uint64_t expected = 1;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_->audit));
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++expected) {
    const uint64_t key_seq = keys::DecodeBigEndian64(Sv(it->key()));
    if (it->key().size() != 8 || key_seq != expected) {
      return broken(
          expected,
          key_seq > expected
              ? absl::StrCat("entry ", expected,
                             " is missing (the next one is ", key_seq, ")")
              : absl::StrCat("an entry with a malformed key follows "
                             "entry ",
                             expected - 1));
    }
    v1::AuditEntry e;
    if (!e.ParseFromArray(it->value().data(),
                          static_cast<int>(it->value().size()))) {
      return broken(expected,
                    absl::StrCat("entry ", expected, " cannot be decoded"));
    }
    if (e.seq() != expected) {
      return broken(expected, absl::StrCat("entry ", expected,
                                           " carries sequence ", e.seq()));
    }
    if (AuditEntryHash(e) != e.hash()) {
      return broken(expected,
                    absl::StrCat("entry ", expected,
                                 " was changed after it was written: its "
                                 "contents do not match its hash"));
    }
    if (e.prev_hash() != prev) {
      // This entry is intact in itself, so the one before it (intact in
      // itself too) was replaced with a recomputed hash.
      return broken(
          expected - 1,
          absl::StrCat("entry ", expected - 1, " was replaced after entry ",
                       expected, " was written: entry ", expected,
                       " links to another hash"));
    }
    prev = e.hash();
    ++out.entries;
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "audit scan"));
  const uint64_t last = expected - 1;
  if (out.head.seq > last) {
    return broken(last + 1,
                  absl::StrCat("entries ", last + 1, " to ", out.head.seq,
                               " are missing: the recorded head is "
                               "at ",
                               out.head.seq));
  }
  if (out.head.seq < last) {
    return broken(out.head.seq + 1,
                  absl::StrCat("entries ", out.head.seq + 1, " to ", last,
                               " were added behind the store's back: the "
                               "recorded head is at ",
                               out.head.seq));
  }
  if (out.head.hash != prev) {
    return broken(last, absl::StrCat("entry ", last,
                                     " was replaced: its hash is not the "
                                     "recorded head's"));
  }
  return out;
}

uint64_t Store::AuditSeqAtTime(int64_t t, uint64_t head, bool lower) const {
  uint64_t lo = 1, hi = head + 1;  // Answer in [lo, hi].
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    auto e = GetProto<v1::AuditEntry>(cf_->audit, keys::BigEndian64(mid));
    if (!e.ok()) return lower ? 1 : head + 1;  // Conservative.
    if (e->time_ms() >= t) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

absl::StatusOr<AuditPage> Store::SearchAudit(const AuditQuery& q) const {
  // Entry times are taken before the commit lock, so neighbours can be out of
  // order by a little; a clock stepped back makes it more. Search this much
  // wider and filter exactly.
  constexpr int64_t kSkewMs = 60'000;
  AuditPage page;
  const uint64_t head = audit_head().seq;
  uint64_t first = q.after_seq + 1;
  if (q.from_ms > 0) {
    first = std::max(first, AuditSeqAtTime(q.from_ms - kSkewMs, head, true));
  }
  uint64_t last = head;  // Inclusive.
  if (q.to_ms > 0) {
    last = std::min(last, AuditSeqAtTime(q.to_ms + kSkewMs, head, false) - 1);
  }
  if (first > last || q.limit == 0) return page;

  // Candidates come from the actor index, the organisation index or the log.
  std::string prefix;
  if (!q.actor.empty()) {
    prefix = keys::AuditActorPrefix(q.actor);
  } else if (!q.org_id.empty()) {
    prefix = keys::AuditOrgPrefix(q.org_id);
  }
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(
      rocksdb::ReadOptions(), prefix.empty() ? cf_->audit : cf_->index));
  it->Seek(Sl(prefix + keys::BigEndian64(first)));
  size_t examined = 0;
  // Organisations already placed inside or outside `subtree_of`.
  absl::flat_hash_map<std::string, bool> in_subtree;
  for (; it->Valid(); it->Next()) {
    const absl::string_view key = Sv(it->key());
    if (!absl::StartsWith(key, prefix)) break;
    if (key.size() != prefix.size() + 8) continue;  // Not this actor's.
    const uint64_t seq = keys::DecodeBigEndian64(key.substr(prefix.size()));
    if (seq > last) break;
    if (examined >= q.max_examined) {
      page.resume_after = seq - 1;
      return page;
    }
    ++examined;
    v1::AuditEntry e;
    if (prefix.empty()) {
      if (!e.ParseFromArray(it->value().data(),
                            static_cast<int>(it->value().size()))) {
        return absl::DataLossError(
            absl::StrCat("undecodable audit entry at seq ", seq));
      }
    } else {
      auto got = GetProto<v1::AuditEntry>(cf_->audit, keys::BigEndian64(seq));
      if (absl::IsNotFound(got.status())) continue;  // VerifyAudit says why.
      RETURN_IF_ERROR(got.status());
      e = *std::move(got);
    }
    if (!q.actor.empty() && e.actor() != q.actor) continue;
    if (!q.org_id.empty() && e.actor_org() != q.org_id &&
        e.target_org() != q.org_id) {
      continue;
    }
    if (!q.action.empty() && e.action() != q.action) continue;
    if (q.from_ms > 0 && e.time_ms() < q.from_ms) continue;
    if (q.to_ms > 0 && e.time_ms() >= q.to_ms) continue;
    if (!q.subtree_of.empty()) {
      auto inside = [&](const std::string& org) -> absl::StatusOr<bool> {
        if (org.empty()) return false;
        auto it = in_subtree.find(org);
        if (it != in_subtree.end()) return it->second;
        ASSIGN_OR_RETURN(bool in, IsInSubtree(org, q.subtree_of));
        in_subtree.emplace(org, in);
        return in;
      };
      ASSIGN_OR_RETURN(bool actor_in, inside(e.actor_org()));
      ASSIGN_OR_RETURN(bool target_in, inside(e.target_org()));
      if (!actor_in && !target_in) continue;
    }
    page.entries.push_back(std::move(e));
    if (page.entries.size() >= q.limit) {
      if (seq < last) page.resume_after = seq;
      return page;
    }
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "audit search"));
  return page;
}

std::string Store::DayOf(int64_t unix_ms) {
  static const absl::TimeZone kChina = absl::FixedTimeZone(8 * 3600);
  return absl::FormatCivilTime(
      absl::ToCivilDay(absl::FromUnixMillis(unix_ms), kChina));
}

absl::StatusOr<v1::SubtreeCounters> Store::GetScopeCounters(
    absl::string_view scope) const {
  auto r = GetProto<v1::SubtreeCounters>(cf_->progress, keys::ScopeKey(scope));
  if (absl::IsNotFound(r.status())) return v1::SubtreeCounters();
  return r;
}

absl::StatusOr<std::vector<std::string>> Store::ListScopes(
    absl::string_view prefix) const {
  std::vector<std::string> out;
  const std::string start = keys::ScopeKey(prefix);
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf_->progress));
  for (it->Seek(Sl(start)); it->Valid() && it->key().starts_with(Sl(start));
       it->Next()) {
    out.emplace_back(Sv(it->key()).substr(2));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "scope scan"));
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, v1::DayProgress>>>
Store::ReadDays(absl::string_view scope, absl::string_view from,
                absl::string_view to) const {
  std::vector<std::pair<std::string, v1::DayProgress>> out;
  const std::string prefix = keys::DayPrefix(scope);
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf_->progress));
  for (it->Seek(Sl(absl::StrCat(prefix, from)));
       it->Valid() && it->key().starts_with(Sl(prefix)); it->Next()) {
    std::string day(Sv(it->key()).substr(prefix.size()));
    if (!to.empty() && day > to) break;
    v1::DayProgress p;
    if (!p.ParseFromArray(it->value().data(),
                          static_cast<int>(it->value().size()))) {
      return absl::DataLossError(absl::StrCat("undecodable day ", day));
    }
    out.emplace_back(std::move(day), std::move(p));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "day scan"));
  return out;
}

absl::StatusOr<v1::OrgProgress> Store::GetOrgProgress(
    absl::string_view org_id) const {
  auto r =
      GetProto<v1::OrgProgress>(cf_->progress, keys::OrgProgressKey(org_id));
  if (absl::IsNotFound(r.status())) return v1::OrgProgress();
  return r;
}

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>>
Store::OriginTimes() const {
  std::vector<std::pair<std::string, int64_t>> out;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf_->progress));
  for (it->Seek("n/"); it->Valid() && it->key().starts_with("n/"); it->Next()) {
    out.emplace_back(
        std::string(Sv(it->key()).substr(2)),
        static_cast<int64_t>(keys::DecodeBigEndian64(Sv(it->value()))));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "origin scan"));
  return out;
}

absl::StatusOr<std::vector<v1::Org>> Store::ScanOrgs(absl::string_view after,
                                                     size_t limit) const {
  std::vector<v1::Org> out;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf_->orgs));
  for (it->Seek(Sl(after)); it->Valid() && out.size() < limit; it->Next()) {
    if (!after.empty() && Sv(it->key()) == after) continue;
    v1::Org o;
    if (!o.ParseFromArray(it->value().data(),
                          static_cast<int>(it->value().size()))) {
      return absl::DataLossError(
          absl::StrCat("undecodable organisation ", Sv(it->key())));
    }
    RETURN_IF_ERROR(OpenOrg(*vault_, &o));
    out.push_back(std::move(o));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "organisation scan"));
  return out;
}

absl::StatusOr<v1::Warning> Store::GetWarning(absl::string_view id) const {
  return GetProto<v1::Warning>(cf_->hub, keys::WarningKey(id));
}

absl::StatusOr<v1::Conflict> Store::GetConflict(absl::string_view id) const {
  return GetProto<v1::Conflict>(cf_->hub, keys::ConflictKey(id));
}

namespace {

template <typename T>
absl::StatusOr<std::vector<T>> ScanHub(const Vault& vault, rocksdb::DB* db,
                                       rocksdb::ColumnFamilyHandle* cf,
                                       const std::string& prefix,
                                       absl::string_view after, size_t limit) {
  std::vector<T> out;
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions(), cf));
  const std::string start = absl::StrCat(prefix, after);
  for (it->Seek(Sl(start));
       it->Valid() && it->key().starts_with(Sl(prefix)) && out.size() < limit;
       it->Next()) {
    if (!after.empty() && Sv(it->key()) == start) continue;
    T record;
    if (!record.ParseFromArray(it->value().data(),
                               static_cast<int>(it->value().size()))) {
      return absl::DataLossError(
          absl::StrCat("undecodable record ", Sv(it->key())));
    }
    RETURN_IF_ERROR(OpenStored(vault, &record));
    out.push_back(std::move(record));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "reconciliation scan"));
  return out;
}

}  // namespace

absl::StatusOr<std::vector<v1::Warning>> Store::ScanWarnings(
    absl::string_view after, size_t limit) const {
  return ScanHub<v1::Warning>(*vault_, db_.get(), cf_->hub, "w/", after, limit);
}

absl::StatusOr<std::vector<v1::Conflict>> Store::ScanConflicts(
    absl::string_view after, size_t limit) const {
  return ScanHub<v1::Conflict>(*vault_, db_.get(), cf_->hub, "x/", after,
                               limit);
}

absl::StatusOr<std::vector<std::string>> Store::WarningsOfOrg(
    absl::string_view org_id) const {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf_->index));
  return ScanSuffixes(it.get(), keys::OrgWarningPrefix(org_id), "",
                      std::numeric_limits<size_t>::max());
}

absl::StatusOr<v1::ExportRequest> Store::GetExportRequest(
    absl::string_view id) const {
  return GetProto<v1::ExportRequest>(cf_->hub, keys::ExportRequestKey(id));
}

absl::StatusOr<std::vector<v1::ExportApproval>> Store::ExportApprovals(
    absl::string_view request_id) const {
  return ScanHub<v1::ExportApproval>(*vault_, db_.get(), cf_->hub,
                                     keys::ExportApprovalPrefix(request_id), "",
                                     std::numeric_limits<size_t>::max());
}

absl::StatusOr<std::vector<std::string>> Store::ExportRequestsOfOrg(
    absl::string_view org_id) const {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf_->index));
  return ScanSuffixes(it.get(), keys::OrgExportPrefix(org_id), "",
                      std::numeric_limits<size_t>::max());
}

absl::StatusOr<std::vector<std::string>> Store::NodeOrgs() const {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf_->index));
  return ScanSuffixes(it.get(), "h/", "", std::numeric_limits<size_t>::max());
}

absl::StatusOr<std::vector<std::string>> Store::OrgsWithCreditCode(
    absl::string_view credit_code) const {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf_->index));
  return ScanSuffixes(it.get(), keys::CreditCodePrefix(credit_code), "",
                      std::numeric_limits<size_t>::max());
}

// ---------------------------------------------------------------------------------------------
// Commit and apply

namespace {

// The registration part of an organisation (written by the node hosting its
// parent) and the profile part (written by the node hosting it).
void CopyRegistration(const v1::Org& from, v1::Org* to) {
  to->set_id(from.id());
  to->set_name(from.name());
  to->set_kind(from.kind());
  to->set_tier(from.tier());
  to->set_parent_id(from.parent_id());
  to->set_region(from.region());
  to->set_system(from.system());
  to->set_status(from.status());
  to->set_host_node(from.host_node());
  to->set_created_at_ms(from.created_at_ms());
}

void CopyProfile(const v1::Org& from, v1::Org* to) {
  to->set_credit_code(from.credit_code());
  if (from.has_chair()) {
    *to->mutable_chair() = from.chair();
  } else {
    to->clear_chair();
  }
  if (from.has_data_admin()) {
    *to->mutable_data_admin() = from.data_admin();
  } else {
    to->clear_data_admin();
  }
  if (from.has_contact()) {
    *to->mutable_contact() = from.contact();
  } else {
    to->clear_contact();
  }
  to->set_employee_count(from.employee_count());
  to->set_founding_date(from.founding_date());
  to->set_address(from.address());
  to->set_profile_completeness(from.profile_completeness());
  to->set_updated_at_ms(from.updated_at_ms());
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

// True when a change's record (or a side of its conflict) has a `sealed`
// field set: the at-rest form, never valid from a writer or a peer.
bool CarriesSealedFields(const v1::Change& c) {
  switch (c.record_case()) {
    case v1::Change::kMember:
      return !c.member().sealed().empty();
    case v1::Change::kOrg:
      return !c.org().sealed().empty();
    case v1::Change::kConflict:
      for (const v1::ConflictSide& side : c.conflict().sides()) {
        if (!side.member().sealed().empty() || !side.org().sealed().empty()) {
          return true;
        }
      }
      return false;
    default:
      return false;
  }
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

}  // namespace

// The records a commit reads and writes, overlaid on the database so later
// writes in the same commit see earlier ones.
class Store::CommitContext {
 public:
  explicit CommitContext(const Store* store) : store_(store) {}

  // Organisations read here are cached: every member of a batch asks for its
  // organisation and ancestors.
  absl::StatusOr<std::optional<v1::Org>> Org(const std::string& id) {
    if (auto it = orgs_.find(id); it != orgs_.end()) return it->second;
    auto r = store_->GetOrg(id);
    std::optional<v1::Org> found;
    if (!absl::IsNotFound(r.status())) {
      RETURN_IF_ERROR(r.status());
      found = *std::move(r);
    }
    orgs_[id] = found;
    return found;
  }
  // Cached, misses included: a new member is looked up by the scope check and
  // again when staged.
  absl::StatusOr<std::optional<v1::Member>> Member(const std::string& id) {
    if (auto it = members_.find(id); it != members_.end()) return it->second;
    auto r = store_->GetMember(id);
    std::optional<v1::Member> found;
    if (!absl::IsNotFound(r.status())) {
      RETURN_IF_ERROR(r.status());
      found = *std::move(r);
    }
    members_[id] = found;
    return found;
  }
  absl::StatusOr<std::optional<v1::Account>> Account(const std::string& name) {
    if (auto it = accounts_.find(name); it != accounts_.end()) {
      return it->second;
    }
    auto r = store_->GetAccount(name);
    if (absl::IsNotFound(r.status())) return std::optional<v1::Account>();
    RETURN_IF_ERROR(r.status());
    return std::optional<v1::Account>(*std::move(r));
  }
  absl::StatusOr<std::optional<std::string>> Get(
      rocksdb::ColumnFamilyHandle* cf,
      absl::btree_map<std::string, std::optional<std::string>>& overlay,
      const std::string& key) {
    if (auto it = overlay.find(key); it != overlay.end()) return it->second;
    std::string value;
    rocksdb::Status s =
        store_->db_->Get(rocksdb::ReadOptions(), cf, Sl(key), &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    RETURN_IF_ERROR(FromRocks(s, "read"));
    return std::optional<std::string>(std::move(value));
  }
  // Suffixes of the index keys under `prefix`, as of this commit.
  absl::StatusOr<std::vector<std::string>> IndexSuffixes(
      const std::string& prefix) {
    ASSIGN_OR_RETURN(std::vector<std::string> stored,
                     ScanSuffixes(IndexIterator(), prefix, "",
                                  std::numeric_limits<size_t>::max()));
    absl::btree_set<std::string> out(stored.begin(), stored.end());
    for (auto it = index_.lower_bound(prefix);
         it != index_.end() && absl::StartsWith(it->first, prefix); ++it) {
      std::string suffix = it->first.substr(prefix.size());
      if (it->second.has_value()) {
        out.insert(std::move(suffix));
      } else {
        out.erase(suffix);
      }
    }
    return std::vector<std::string>(out.begin(), out.end());
  }
  // Member ids holding the ID-number token, as of this commit.
  absl::StatusOr<std::vector<std::string>> IdHolders(const std::string& token) {
    ASSIGN_OR_RETURN(std::optional<std::string> v,
                     Get(store_->cf_->index, index_, keys::IdNumberKey(token)));
    return SplitHolders(v.value_or(""));
  }
  void SetIdHolders(const std::string& token,
                    const std::vector<std::string>& ids) {
    if (ids.empty()) {
      DeleteIndex(keys::IdNumberKey(token));
    } else {
      PutIndex(keys::IdNumberKey(token), absl::StrJoin(ids, ","));
    }
  }
  absl::StatusOr<std::optional<std::string>> Version(const std::string& key) {
    return Get(store_->cf_->versions, versions_, key);
  }
  absl::StatusOr<uint64_t> Applied(const std::string& key) {
    ASSIGN_OR_RETURN(std::optional<std::string> v,
                     Get(store_->cf_->repl, repl_, key));
    return v.has_value() ? keys::DecodeBigEndian64(*v) : 0;
  }

  // One iterator for every index scan of the commit: the database does not
  // change while the commit lock is held, so its snapshot stays current.
  rocksdb::Iterator* IndexIterator() {
    if (index_it_ == nullptr) {
      index_it_.reset(
          store_->db_->NewIterator(rocksdb::ReadOptions(), store_->cf_->index));
    }
    return index_it_.get();
  }

  // True when `org` is `ancestor` or lies below it, as of this commit.
  absl::StatusOr<bool> InSubtree(const std::string& org,
                                 const std::string& ancestor) {
    std::string current = org;
    for (int depth = 0; depth < kMaxDepth; ++depth) {
      if (current == ancestor) return true;
      ASSIGN_OR_RETURN(std::optional<v1::Org> o, Org(current));
      if (!o.has_value() || o->parent_id().empty()) return false;
      current = o->parent_id();
    }
    return absl::DataLossError(
        absl::StrCat("parent chain of '", org, "' is too deep"));
  }

  void SetOrg(const v1::Org& o) { orgs_[o.id()] = o; }
  void SetMember(const v1::Member& m) { members_[m.id()] = m; }
  void SetAccount(const v1::Account& a) { accounts_[a.username()] = a; }
  void PutIndex(std::string key, std::string value) {
    index_[std::move(key)] = std::move(value);
  }
  void DeleteIndex(std::string key) { index_[std::move(key)] = std::nullopt; }
  void SetVersion(std::string key, std::string value) {
    versions_[std::move(key)] = std::move(value);
  }
  void SetRepl(std::string key, std::string value) {
    repl_[std::move(key)] = std::move(value);
  }

  void AddContribution(const std::string& org, const Contribution& c,
                       int sign) {
    deltas_[org].Add(c, sign);
  }
  void TouchActivation(const std::string& org) { activation_orgs_.insert(org); }

  // Progress bookkeeping of one record version entering (+1) or leaving (-1)
  // `org` on `day`.
  void AddDay(const std::string& org, const std::string& day,
              const Contribution& c, int sign, bool is_new) {
    v1::DayProgress& d = days_[{org, day}];
    d.set_orgs_net(d.orgs_net() + sign * c.orgs);
    d.set_grassroots_net(d.grassroots_net() + sign * c.grassroots);
    d.set_members_net(d.members_net() + sign * c.members);
    if (is_new) {
      d.set_grassroots_new(d.grassroots_new() + c.grassroots);
      d.set_members_new(d.members_new() + c.members);
    }
  }
  void NoteEntry(const std::string& org, int64_t ms) {
    int64_t& last = entries_[org];
    last = std::max(last, ms);
  }
  void NoteOrigin(const std::string& origin, int64_t ms) {
    int64_t& last = origins_[origin];
    last = std::max(last, ms);
  }

  // Whether `org` has a data administrator who has set their own password,
  // before (`overlay` false) or after this commit.
  absl::StatusOr<bool> Activated(const std::string& org, bool overlay) {
    ASSIGN_OR_RETURN(std::vector<std::string> names,
                     ScanSuffixes(IndexIterator(), keys::OrgAccountPrefix(org),
                                  "", std::numeric_limits<size_t>::max()));
    absl::flat_hash_set<std::string> seen;
    for (const auto& n : names) {
      seen.insert(n);
      std::optional<v1::Account> a;
      if (overlay) {
        ASSIGN_OR_RETURN(a, Account(n));
      } else {
        auto r = store_->GetAccount(n);
        RETURN_IF_ERROR(r.status());
        a = *std::move(r);
      }
      if (a.has_value() && a->org_id() == org && IsActivatingAdmin(*a)) {
        return true;
      }
    }
    if (overlay) {
      for (const auto& [name, a] : accounts_) {
        if (!seen.contains(name) && a.has_value() && a->org_id() == org &&
            IsActivatingAdmin(*a)) {
          return true;
        }
      }
    }
    return false;
  }

  // Writes records' side effects into `batch`: index entries, version stamps,
  // replication state, and counters of every touched organisation and its
  // ancestors.
  absl::Status Finish(rocksdb::WriteBatch* batch) {
    absl::btree_map<std::string, bool> activation_changes;
    for (const auto& org : activation_orgs_) {
      ASSIGN_OR_RETURN(bool before, Activated(org, false));
      ASSIGN_OR_RETURN(bool after, Activated(org, true));
      if (before != after) {
        deltas_[org].activated += after ? 1 : -1;
        activation_changes[org] = after;
      }
    }
    if (store_->track_progress_) {
      RETURN_IF_ERROR(FinishProgress(activation_changes, batch));
    }
    absl::btree_map<std::string, Contribution> totals;
    for (const auto& [anchor, delta] : deltas_) {
      std::string current = anchor;
      for (int depth = 0; !current.empty(); ++depth) {
        if (depth >= kMaxDepth) {
          return absl::DataLossError(
              absl::StrCat("parent chain of '", anchor, "' is too deep"));
        }
        totals[current].Add(delta, 1);
        ASSIGN_OR_RETURN(std::optional<v1::Org> o, Org(current));
        if (!o.has_value()) break;  // Ancestors above what this store holds.
        current = o->parent_id();
      }
    }
    for (const auto& [org, delta] : totals) {
      ASSIGN_OR_RETURN(v1::SubtreeCounters c, store_->GetCounters(org));
      c.set_orgs(c.orgs() + delta.orgs);
      c.set_grassroots_orgs(c.grassroots_orgs() + delta.grassroots);
      c.set_profile_complete(c.profile_complete() + delta.complete);
      c.set_activated_orgs(c.activated_orgs() + delta.activated);
      c.set_members(c.members() + delta.members);
      c.set_migrant_members(c.migrant_members() + delta.migrant);
      c.set_accounts(c.accounts() + delta.accounts);
      c.set_orgs_with_members(c.orgs_with_members() + delta.with_members);
      std::string digest = c.digest();
      if (!delta.digest.empty()) XorInto(&digest, delta.digest);
      c.set_digest(digest);
      batch->Put(store_->cf_->counters, org, Serialize(c));
    }
    auto flush = [&](rocksdb::ColumnFamilyHandle* cf, const auto& overlay) {
      for (const auto& [key, value] : overlay) {
        if (value.has_value()) {
          batch->Put(cf, key, *value);
        } else {
          batch->Delete(cf, key);
        }
      }
    };
    flush(store_->cf_->index, index_);
    flush(store_->cf_->versions, versions_);
    flush(store_->cf_->repl, repl_);
    return absl::OkStatus();
  }

 private:
  // Per-organisation progress (own members, activation, last entry), then the
  // region / system / "all" scopes and their days.
  absl::Status FinishProgress(
      const absl::btree_map<std::string, bool>& activation_changes,
      rocksdb::WriteBatch* batch) {
    absl::btree_set<std::string> touched;
    for (const auto& [org, delta] : deltas_) {
      if (delta.members != 0) touched.insert(org);
    }
    for (const auto& [org, unused] : activation_changes) touched.insert(org);
    for (const auto& [org, unused] : entries_) touched.insert(org);
    for (const std::string& org : touched) {
      ASSIGN_OR_RETURN(v1::OrgProgress p, store_->GetOrgProgress(org));
      if (auto it = deltas_.find(org); it != deltas_.end()) {
        const int64_t before = p.own_members();
        p.set_own_members(before + it->second.members);
        if ((before > 0) != (p.own_members() > 0)) {
          it->second.with_members += p.own_members() > 0 ? 1 : -1;
        }
      }
      if (auto it = activation_changes.find(org);
          it != activation_changes.end()) {
        p.set_activated(it->second);
      }
      if (auto it = entries_.find(org); it != entries_.end()) {
        p.set_last_entry_ms(std::max(p.last_entry_ms(), it->second));
      }
      batch->Put(store_->cf_->progress, keys::OrgProgressKey(org),
                 Serialize(p));
    }
    absl::btree_map<std::string, Contribution> scopes;
    for (const auto& [org, delta] : deltas_) {
      if (delta.CountsZero()) continue;
      ASSIGN_OR_RETURN(std::vector<std::string> names, ScopesOf(org));
      for (const std::string& scope : names) scopes[scope].Add(delta, 1);
    }
    for (const auto& [scope, delta] : scopes) {
      if (delta.CountsZero()) continue;
      ASSIGN_OR_RETURN(v1::SubtreeCounters c, store_->GetScopeCounters(scope));
      c.set_orgs(c.orgs() + delta.orgs);
      c.set_grassroots_orgs(c.grassroots_orgs() + delta.grassroots);
      c.set_profile_complete(c.profile_complete() + delta.complete);
      c.set_activated_orgs(c.activated_orgs() + delta.activated);
      c.set_members(c.members() + delta.members);
      c.set_migrant_members(c.migrant_members() + delta.migrant);
      c.set_accounts(c.accounts() + delta.accounts);
      c.set_orgs_with_members(c.orgs_with_members() + delta.with_members);
      batch->Put(store_->cf_->progress, keys::ScopeKey(scope), Serialize(c));
    }
    absl::btree_map<std::pair<std::string, std::string>, v1::DayProgress>
        day_totals;
    for (const auto& [origin, ms] : origins_) {
      const std::string key = keys::OriginTimeKey(origin);
      ASSIGN_OR_RETURN(std::optional<std::string> stored,
                       Get(store_->cf_->progress, no_overlay_, key));
      if (stored.has_value() &&
          static_cast<int64_t>(keys::DecodeBigEndian64(*stored)) >= ms) {
        continue;
      }
      batch->Put(store_->cf_->progress, key, Sl(keys::BigEndian64(ms)));
    }
    for (const auto& [org_day, d] : days_) {
      ASSIGN_OR_RETURN(std::vector<std::string> names, ScopesOf(org_day.first));
      // Days are kept per subtree too.
      std::string current = org_day.first;
      for (int depth = 0; !current.empty() && depth < kMaxDepth; ++depth) {
        names.push_back(absl::StrCat("t:", current));
        ASSIGN_OR_RETURN(std::optional<v1::Org> o, Org(current));
        if (!o.has_value()) break;
        current = o->parent_id();
      }
      for (const std::string& scope : names) {
        v1::DayProgress& t = day_totals[{scope, org_day.second}];
        t.set_orgs_net(t.orgs_net() + d.orgs_net());
        t.set_grassroots_net(t.grassroots_net() + d.grassroots_net());
        t.set_members_net(t.members_net() + d.members_net());
        t.set_grassroots_new(t.grassroots_new() + d.grassroots_new());
        t.set_members_new(t.members_new() + d.members_new());
      }
    }
    for (const auto& [scope_day, d] : day_totals) {
      const std::string key = keys::DayKey(scope_day.first, scope_day.second);
      v1::DayProgress t;
      std::string value;
      rocksdb::Status s = store_->db_->Get(
          rocksdb::ReadOptions(), store_->cf_->progress, Sl(key), &value);
      if (!s.IsNotFound()) {
        RETURN_IF_ERROR(FromRocks(s, "day read"));
        if (!t.ParseFromString(value)) {
          return absl::DataLossError(absl::StrCat("undecodable ", key));
        }
      }
      t.set_orgs_net(t.orgs_net() + d.orgs_net());
      t.set_grassroots_net(t.grassroots_net() + d.grassroots_net());
      t.set_members_net(t.members_net() + d.members_net());
      t.set_grassroots_new(t.grassroots_new() + d.grassroots_new());
      t.set_members_new(t.members_new() + d.members_new());
      batch->Put(store_->cf_->progress, key, Serialize(t));
    }
    return absl::OkStatus();
  }

  // "all", and the region and system of `org` when it has them.
  absl::StatusOr<std::vector<std::string>> ScopesOf(const std::string& org) {
    std::vector<std::string> out = {"all"};
    ASSIGN_OR_RETURN(std::optional<v1::Org> o, Org(org));
    if (o.has_value()) {
      if (!o->region().empty()) out.push_back(absl::StrCat("r:", o->region()));
      if (!o->system().empty()) out.push_back(absl::StrCat("y:", o->system()));
    }
    return out;
  }

  const Store* store_;
  absl::btree_map<std::pair<std::string, std::string>, v1::DayProgress> days_;
  absl::flat_hash_map<std::string, int64_t> entries_;
  absl::btree_map<std::string, int64_t> origins_;
  absl::btree_map<std::string, std::optional<std::string>> no_overlay_;
  absl::flat_hash_map<std::string, std::optional<v1::Org>> orgs_;
  absl::flat_hash_map<std::string, std::optional<v1::Member>> members_;
  absl::flat_hash_map<std::string, std::optional<v1::Account>> accounts_;
  absl::btree_map<std::string, std::optional<std::string>> index_;
  absl::btree_map<std::string, std::optional<std::string>> versions_;
  absl::btree_map<std::string, std::optional<std::string>> repl_;
  absl::btree_map<std::string, Contribution> deltas_;
  absl::btree_set<std::string> activation_orgs_;
  std::unique_ptr<rocksdb::Iterator> index_it_;
};

absl::Status Store::StageChange(CommitContext& ctx, v1::Change& change,
                                bool must_create, bool unique_person,
                                uint64_t log_pos, void* raw_batch,
                                const PreparedRecord* prepared) {
  auto* batch = static_cast<rocksdb::WriteBatch*>(raw_batch);
  if (!KindMatchesRecord(change)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "change kind ", change.kind(), " does not match its record"));
  }
  if (CarriesSealedFields(change)) {
    return absl::InvalidArgumentError(absl::StrCat(
        RecordName(change),
        " carries a 'sealed' field, which exists only at rest and is never "
        "accepted from a writer or a peer"));
  }
  std::optional<v1::Change> old;  // The previous version, wrapped the same way.
  std::string bytes;   // The record's (plaintext) serialisation, for digests.
  std::string digest;  // Its digest contribution, when known already.
  // A member's stored (sealed) serialisation, reused for the log entry.
  std::string stored_member;
  // Every check comes before the first mutation of `ctx`, so a refused change
  // leaves the commit context as it was.
  switch (change.kind()) {
    case v1::PUT_ORG:
    case v1::PUT_ORG_PROFILE: {
      const v1::Org& in = change.org();
      if (in.id().empty()) {
        return absl::InvalidArgumentError("organisation id is empty");
      }
      ASSIGN_OR_RETURN(std::optional<v1::Org> prev, ctx.Org(in.id()));
      v1::Org merged;
      bool new_child = false;
      if (change.kind() == v1::PUT_ORG) {
        if (prev.has_value() && must_create) {
          return absl::AlreadyExistsError(
              absl::StrCat("organisation '", in.id(), "' already exists"));
        }
        if (prev.has_value() && prev->parent_id() != in.parent_id()) {
          return absl::FailedPreconditionError(absl::StrCat(
              "organisation '", in.id(), "' cannot change its parent from '",
              prev->parent_id(), "' to '", in.parent_id(), "'"));
        }
        // Progress is aggregated by region and system: both are fixed at
        // registration.
        if (prev.has_value() &&
            (prev->region() != in.region() || prev->system() != in.system())) {
          return absl::FailedPreconditionError(absl::StrCat(
              "organisation '", in.id(),
              "' cannot change its region or system after registration"));
        }
        if (!prev.has_value() && !in.parent_id().empty()) {
          ASSIGN_OR_RETURN(std::optional<v1::Org> parent,
                           ctx.Org(in.parent_id()));
          // A node's own organisation is registered by a parent this store
          // does not hold.
          if (!parent.has_value() && in.id() != node_id_) {
            return absl::FailedPreconditionError(
                absl::StrCat("parent '", in.parent_id(), "' of organisation '",
                             in.id(), "' does not exist"));
          }
          new_child = parent.has_value();
        }
        if (prev.has_value()) merged = *prev;
        CopyRegistration(in, &merged);
      } else {
        if (!prev.has_value()) {
          return absl::FailedPreconditionError(
              absl::StrCat("profile of unknown organisation '", in.id(), "'"));
        }
        merged = *prev;
        CopyProfile(in, &merged);
      }
      // Sealing can fail (an OpenSSL error): before any change to `ctx`.
      ASSIGN_OR_RETURN(std::string stored,
                       SerializeSealed(*vault_, merged, SealOrg));
      if (new_child) {
        ctx.PutIndex(keys::ChildKey(merged.parent_id(), merged.id()), "");
      }
      // Organisations that run their own node, for sync freshness.
      if (merged.host_node() == merged.id()) {
        ctx.PutIndex(keys::NodeOrgKey(merged.id()), "");
      } else if (prev.has_value() && prev->host_node() == prev->id()) {
        ctx.DeleteIndex(keys::NodeOrgKey(merged.id()));
      }
      auto coded = [](const v1::Org& o) {
        return o.status() == v1::ORG_ACTIVE && !o.credit_code().empty();
      };
      if (prev.has_value() && coded(*prev) &&
          (!coded(merged) || prev->credit_code() != merged.credit_code())) {
        ctx.DeleteIndex(keys::CreditCodeKey(prev->credit_code(), merged.id()));
      }
      if (coded(merged)) {
        ctx.PutIndex(keys::CreditCodeKey(merged.credit_code(), merged.id()),
                     "");
      }
      if (prev.has_value()) *(old.emplace().mutable_org()) = *prev;
      ctx.SetOrg(merged);
      bytes = Serialize(merged);
      batch->Put(cf_->orgs, merged.id(), stored);
      *change.mutable_org() = std::move(merged);
      break;
    }
    case v1::PUT_MEMBER: {
      const v1::Member& m = change.member();
      // Member ids are node-assigned identifiers; the ID-number index
      // separates them with commas.
      RETURN_IF_ERROR(ValidateIdentifier("member id", m.id()));
      const std::string token = prepared != nullptr
                                    ? prepared->token
                                    : IdNumberToken(*vault_, m.id_number());
      ASSIGN_OR_RETURN(std::optional<v1::Org> org, ctx.Org(m.org_id()));
      if (!org.has_value()) {
        return absl::FailedPreconditionError(
            absl::StrCat("organisation '", m.org_id(), "' of member '", m.id(),
                         "' does not exist"));
      }
      ASSIGN_OR_RETURN(std::optional<v1::Member> prev, ctx.Member(m.id()));
      if (prev.has_value() && must_create) {
        return absl::AlreadyExistsError(
            absl::StrCat("member '", m.id(), "' already exists"));
      }
      // Checked when a person becomes active here (new, back, or another ID
      // number). An active member keeps being editable when a duplicate
      // arrives later from another node: that is the hub's conflict to
      // reconcile, and editing may be how it is fixed.
      const bool already_active = prev.has_value() &&
                                  prev->status() == v1::MEMBER_ACTIVE &&
                                  prev->id_number() == m.id_number();
      // The index entries this change touches, read before any change.
      ASSIGN_OR_RETURN(std::vector<std::string> holders, ctx.IdHolders(token));
      const bool prev_active =
          prev.has_value() && prev->status() == v1::MEMBER_ACTIVE;
      const std::string prev_token =
          prev_active && prev->id_number() != m.id_number()
              ? IdNumberToken(*vault_, prev->id_number())
              : token;
      std::vector<std::string> prev_holders;
      if (prev_token != token) {
        ASSIGN_OR_RETURN(prev_holders, ctx.IdHolders(prev_token));
      }
      if (m.status() == v1::MEMBER_ACTIVE && unique_person && !already_active) {
        for (const std::string& holder : holders) {
          if (holder == m.id()) continue;
          return absl::AlreadyExistsError(absl::StrCat(
              "id_number: this person is already an active member (member '",
              holder, "'); one person is a member of one union at a time"));
        }
      }
      if (prepared != nullptr) {
        bytes = prepared->plain;
        digest = prepared->digest;
        stored_member = prepared->stored;
      } else {
        // Before any change to `ctx`: sealing can fail.
        bytes = Serialize(m);
        ASSIGN_OR_RETURN(stored_member,
                         SerializeSealed(*vault_, m, SealMember));
      }
      if (prev.has_value()) {
        *(old.emplace().mutable_member()) = *prev;
        if (prev->org_id() != m.org_id()) {
          ctx.DeleteIndex(keys::OrgMemberKey(prev->org_id(), m.id()));
        }
      }
      if (prev_active || m.status() == v1::MEMBER_ACTIVE) {
        auto drop = [&m](std::vector<std::string>& ids) {
          ids.erase(std::remove(ids.begin(), ids.end(), m.id()), ids.end());
        };
        if (prev_token != token) {
          drop(prev_holders);
          ctx.SetIdHolders(prev_token, prev_holders);
        }
        drop(holders);
        if (m.status() == v1::MEMBER_ACTIVE) holders.push_back(m.id());
        std::sort(holders.begin(), holders.end());
        ctx.SetIdHolders(token, holders);
      }
      ctx.PutIndex(keys::OrgMemberKey(m.org_id(), m.id()), "");
      ctx.SetMember(m);
      batch->Put(cf_->members, m.id(), stored_member);
      break;
    }
    case v1::PUT_ACCOUNT: {
      const v1::Account& a = change.account();
      if (a.username().empty()) {
        return absl::InvalidArgumentError("username is empty");
      }
      ASSIGN_OR_RETURN(std::optional<v1::Org> org, ctx.Org(a.org_id()));
      if (!org.has_value()) {
        return absl::FailedPreconditionError(
            absl::StrCat("organisation '", a.org_id(), "' of account '",
                         a.username(), "' does not exist"));
      }
      ASSIGN_OR_RETURN(std::optional<v1::Account> prev,
                       ctx.Account(a.username()));
      if (prev.has_value() && must_create) {
        return absl::AlreadyExistsError(
            absl::StrCat("username '", a.username(), "' is already taken"));
      }
      if (prev.has_value() && prev->org_id() != a.org_id()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "account '", a.username(), "' belongs to '", prev->org_id(), "'"));
      }
      if (prev.has_value()) *(old.emplace().mutable_account()) = *prev;
      ctx.PutIndex(keys::OrgAccountKey(a.org_id(), a.username()), "");
      ctx.TouchActivation(a.org_id());
      ctx.SetAccount(a);
      bytes = Serialize(a);
      batch->Put(cf_->accounts, a.username(), bytes);
      break;
    }
    // Records about an organisation, kept by the hub and export flows.
    case v1::PUT_CONFLICT:
    case v1::PUT_WARNING:
    case v1::PUT_EXPORT_REQUEST:
    case v1::PUT_EXPORT_APPROVAL: {
      const std::string anchor = AnchorOf(change);
      ASSIGN_OR_RETURN(std::optional<v1::Org> org, ctx.Org(anchor));
      if (!org.has_value()) {
        return absl::FailedPreconditionError(
            absl::StrCat(RecordName(change), " is about unknown organisation '",
                         anchor, "'"));
      }
      switch (change.kind()) {
        case v1::PUT_WARNING: {
          const v1::Warning& w = change.warning();
          ctx.PutIndex(keys::OrgWarningKey(w.org_id(), w.id()), "");
          bytes = Serialize(w);
          batch->Put(cf_->hub, keys::WarningKey(w.id()), bytes);
          break;
        }
        case v1::PUT_CONFLICT: {
          bytes = Serialize(change.conflict());
          ASSIGN_OR_RETURN(
              std::string stored,
              SerializeSealed(*vault_, change.conflict(), SealConflict));
          batch->Put(cf_->hub, keys::ConflictKey(change.conflict().id()),
                     stored);
          break;
        }
        case v1::PUT_EXPORT_REQUEST: {
          const v1::ExportRequest& r = change.export_request();
          ctx.PutIndex(keys::OrgExportKey(r.org_id(), r.id()), "");
          bytes = Serialize(r);
          batch->Put(cf_->hub, keys::ExportRequestKey(r.id()), bytes);
          break;
        }
        default: {
          const v1::ExportApproval& a = change.export_approval();
          bytes = Serialize(a);
          batch->Put(cf_->hub,
                     keys::ExportApprovalKey(a.request_id(), a.level()), bytes);
          break;
        }
      }
      break;
    }
    default:
      return absl::InvalidArgumentError("change without a known kind");
  }
  if (!IsAuxRecord(change)) {
    const Contribution after = ContributionOf(change, &bytes, &digest);
    const std::string anchor = AnchorOf(change);
    std::optional<Contribution> before;
    std::string before_anchor;
    if (old.has_value()) {
      before = ContributionOf(*old);
      before_anchor = AnchorOf(*old);
      ctx.AddContribution(before_anchor, *before, -1);
    }
    ctx.AddContribution(anchor, after, +1);
    if (track_progress_) {
      const int64_t ms = HybridClock::PhysicalMs(change.hlc());
      const std::string day = DayOf(ms);
      ctx.NoteOrigin(change.origin(), ms);
      if (before.has_value())
        ctx.AddDay(before_anchor, day, *before, -1, false);
      // New in this organisation: it was not counted here before.
      const bool was_here = before.has_value() && before_anchor == anchor;
      ctx.AddDay(anchor, day, after, +1, false);
      if (!was_here || before->members == 0 || before->grassroots == 0) {
        Contribution fresh;
        fresh.members =
            after.members > 0 && !(was_here && before->members > 0) ? 1 : 0;
        fresh.grassroots =
            after.grassroots > 0 && !(was_here && before->grassroots > 0) ? 1
                                                                          : 0;
        ctx.AddDay(anchor, day, fresh, 0, true);
      }
      if (change.kind() == v1::PUT_MEMBER) {
        ctx.NoteEntry(anchor, ms);
        if (before.has_value() && before_anchor != anchor) {
          ctx.NoteEntry(before_anchor, ms);
        }
      }
    }
  }
  ctx.SetVersion(VersionKey(change),
                 VersionValue(change.hlc(), change.origin()));
  change.set_log_pos(log_pos);
  if (change.has_member() && !stored_member.empty()) {
    // The member is sealed once: the log entry carries the same stored form.
    batch->Put(cf_->log, Sl(keys::BigEndian64(log_pos)),
               LogEntryWithMember(change, stored_member));
  } else {
    ASSIGN_OR_RETURN(std::string logged,
                     SerializeSealed(*vault_, change, SealChange));
    batch->Put(cf_->log, Sl(keys::BigEndian64(log_pos)), logged);
  }
  return absl::OkStatus();
}

namespace {

// The search index entries of one audit entry (keys.h).
void IndexAuditEntry(const v1::AuditEntry& e,
                     rocksdb::ColumnFamilyHandle* index,
                     rocksdb::WriteBatch* batch) {
  if (!e.actor().empty()) {
    batch->Put(index, Sl(keys::AuditActorKey(e.actor(), e.seq())), "");
  }
  if (!e.actor_org().empty()) {
    batch->Put(index, Sl(keys::AuditOrgKey(e.actor_org(), e.seq())), "");
  }
  if (!e.target_org().empty() && e.target_org() != e.actor_org()) {
    batch->Put(index, Sl(keys::AuditOrgKey(e.target_org(), e.seq())), "");
  }
}

// Appends the audit entries, chaining them from `head`, with their index
// entries.
void ChainAudit(const std::vector<v1::AuditEntry>& entries, const Clock* clock,
                AuditHead* head, rocksdb::WriteBatch* batch,
                rocksdb::ColumnFamilyHandle* cf,
                rocksdb::ColumnFamilyHandle* index,
                std::vector<uint64_t>* seqs) {
  for (const v1::AuditEntry& in : entries) {
    v1::AuditEntry e = in;
    e.set_seq(head->seq + 1);
    if (e.time_ms() == 0) e.set_time_ms(clock->NowMs());
    e.set_prev_hash(head->hash);
    e.set_hash(Store::AuditEntryHash(e));
    batch->Put(cf, Sl(keys::BigEndian64(e.seq())), Serialize(e));
    IndexAuditEntry(e, index, batch);
    head->seq = e.seq();
    head->hash = e.hash();
    if (seqs != nullptr) seqs->push_back(e.seq());
  }
}

}  // namespace

absl::Status Store::IndexOldAudit() {
  std::string marker;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_->meta,
                               keys::kMetaAuditIndexed, &marker);
  if (s.ok()) return absl::OkStatus();
  if (!s.IsNotFound()) return FromRocks(s, "reading the audit index marker");
  absl::MutexLock lock(&commit_mu_);
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf_->audit));
  rocksdb::WriteBatch batch;
  rocksdb::WriteOptions wo;
  wo.sync = sync_;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    v1::AuditEntry e;
    // Undecodable entries are VerifyAudit's to report.
    if (!e.ParseFromArray(it->value().data(),
                          static_cast<int>(it->value().size()))) {
      continue;
    }
    IndexAuditEntry(e, cf_->index, &batch);
    if (batch.Count() >= 30'000) {
      RETURN_IF_ERROR(FromRocks(db_->Write(wo, &batch), "audit index"));
      batch.Clear();
    }
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "audit scan"));
  batch.Put(cf_->meta, keys::kMetaAuditIndexed, "1");
  return FromRocks(db_->Write(wo, &batch), "audit index");
}

namespace {

// Writes `batch` once it is large, so a reseal of millions of records never
// holds them all in memory.
absl::Status FlushIfLarge(rocksdb::DB* db, rocksdb::WriteBatch* batch) {
  if (batch->Count() < 10'000) return absl::OkStatus();
  rocksdb::WriteOptions wo;
  RETURN_IF_ERROR(FromRocks(db->Write(wo, batch), "reseal"));
  batch->Clear();
  return absl::OkStatus();
}

// Calls `fn` with every record of type T under `prefix` in `cf`, as stored
// (sealed fields not opened).
template <typename T, typename Fn>
absl::Status ForEachStored(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                           const std::string& prefix, absl::string_view what,
                           Fn fn) {
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions(), cf));
  for (it->Seek(Sl(prefix)); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    T record;
    if (!record.ParseFromArray(it->value().data(),
                               static_cast<int>(it->value().size()))) {
      return absl::DataLossError(absl::StrCat(
          "reseal: undecodable ", what, " at key ", HexEncode(Sv(it->key()))));
    }
    RETURN_IF_ERROR(fn(it->key(), record));
  }
  return FromRocks(it->status(), absl::StrCat("reseal: ", what, " scan"));
}

// Counts the data key of a sealed value (0: plaintext personal data).
void CountSealed(absl::string_view sealed, bool has_plain,
                 std::map<uint32_t, uint64_t>* under) {
  if (!sealed.empty()) {
    ++(*under)[Vault::KeyOf(sealed)];
  } else if (has_plain) {
    ++(*under)[0];
  }
}

}  // namespace

absl::Status Store::CheckDataKeys(const std::string& path) {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), cf_->meta, keys::kMetaDataKeys, &value);
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "reading data keys");
  // "<number>:<check>" per key records may be sealed under.
  std::vector<std::string> in_use =
      absl::StrSplit(value, ',', absl::SkipEmpty());
  std::vector<std::string> missing;
  for (const std::string& entry : in_use) {
    const size_t colon = entry.find(':');
    uint32_t id = 0;
    if (colon == std::string::npos ||
        !absl::SimpleAtoi(entry.substr(0, colon), &id)) {
      return absl::DataLossError(
          absl::StrCat("store ", path, " has damaged metadata (data keys)"));
    }
    const std::string held = vault_->DataKeyCheck(id);
    if (held.empty()) {
      missing.push_back(absl::StrCat(id));
    } else if (held != entry) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the key file's data key ", id,
          " is not the one this store's records are sealed with (another "
          "node's key file, or an old one?); use this node's own key file "
          "(docs/KEYS.md)"));
    }
  }
  if (!missing.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "store ", path, " may hold records sealed under data key(s) ",
        absl::StrJoin(missing, ", "),
        ", which the key file does not hold; put them back (a data key is "
        "retired only after unionsync-node --reseal; docs/KEYS.md)"));
  }
  const std::string active = vault_->DataKeyCheck(vault_->active_key());
  if (std::find(in_use.begin(), in_use.end(), active) == in_use.end()) {
    in_use.push_back(active);
    rocksdb::WriteOptions wo;
    wo.sync = sync_;
    RETURN_IF_ERROR(FromRocks(db_->Put(wo, cf_->meta, keys::kMetaDataKeys,
                                       absl::StrJoin(in_use, ",")),
                              "recording data keys"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ResealStats> Store::Reseal() {
  absl::MutexLock lock(&commit_mu_);
  RETURN_IF_ERROR(sticky_error_);
  const Vault& vault = *vault_;
  ResealStats stats;
  rocksdb::WriteOptions durable;
  durable.sync = sync_;
  RETURN_IF_ERROR(FromRocks(
      db_->Put(durable, cf_->meta, keys::kMetaResealPending, "1"), "reseal"));
  rocksdb::WriteBatch batch;

  // Members, and the ID-number index rebuilt from them under the index key:
  // every "n/" key goes ('/' + 1 == '0'); one scratch key per active member
  // ("r/<token>/<member>", sorted by token) is grouped into "n/<token>"
  // afterwards, so the rebuild never holds the index in memory.
  RETURN_IF_ERROR(
      FromRocks(batch.DeleteRange(cf_->index, "n/", "n0"), "reseal index"));
  RETURN_IF_ERROR(
      FromRocks(batch.DeleteRange(cf_->index, "r/", "r0"), "reseal index"));
  RETURN_IF_ERROR(ForEachStored<v1::Member>(
      db_.get(), cf_->members, "", "member",
      [&](const rocksdb::Slice& key, v1::Member& m) -> absl::Status {
        CountSealed(m.sealed(), !m.id_number().empty() || !m.phone().empty(),
                    &stats.sealed_under);
        const bool rewrite = NeedsReseal(vault, m);
        RETURN_IF_ERROR(OpenMember(vault, &m));
        if (m.status() == v1::MEMBER_ACTIVE) {
          batch.Put(cf_->index,
                    Sl(keys::ResealIdKey(IdNumberToken(vault, m.id_number()),
                                         m.id())),
                    "");
          ++stats.index_entries;
        }
        if (!rewrite) return FlushIfLarge(db_.get(), &batch);
        ASSIGN_OR_RETURN(std::string stored,
                         SerializeSealed(vault, m, SealMember));
        batch.Put(cf_->members, key, stored);
        ++stats.members;
        return FlushIfLarge(db_.get(), &batch);
      }));
  RETURN_IF_ERROR(
      FromRocks(db_->Write(rocksdb::WriteOptions(), &batch), "reseal index"));
  batch.Clear();
  {
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), cf_->index));
    std::string token;
    std::vector<std::string> holders;
    auto emit = [&]() -> absl::Status {
      if (holders.empty()) return absl::OkStatus();
      batch.Put(cf_->index, Sl(keys::IdNumberKey(token)),
                Sl(absl::StrJoin(holders, ",")));
      holders.clear();
      return FlushIfLarge(db_.get(), &batch);
    };
    for (it->Seek("r/"); it->Valid() && it->key().starts_with("r/");
         it->Next()) {
      const absl::string_view rest = Sv(it->key()).substr(2);
      const size_t slash = rest.find('/');
      if (slash == absl::string_view::npos) continue;
      if (rest.substr(0, slash) != token) {
        RETURN_IF_ERROR(emit());
        token = std::string(rest.substr(0, slash));
      }
      holders.emplace_back(rest.substr(slash + 1));
    }
    RETURN_IF_ERROR(FromRocks(it->status(), "reseal: index scan"));
    RETURN_IF_ERROR(emit());
    RETURN_IF_ERROR(
        FromRocks(batch.DeleteRange(cf_->index, "r/", "r0"), "reseal index"));
  }
  RETURN_IF_ERROR(ForEachStored<v1::Org>(
      db_.get(), cf_->orgs, "", "organisation",
      [&](const rocksdb::Slice& key, v1::Org& o) -> absl::Status {
        CountSealed(o.sealed(),
                    !o.chair().phone().empty() ||
                        !o.data_admin().phone().empty() ||
                        !o.contact().phone().empty(),
                    &stats.sealed_under);
        if (!NeedsReseal(vault, o)) return absl::OkStatus();
        RETURN_IF_ERROR(OpenOrg(vault, &o));
        ASSIGN_OR_RETURN(std::string stored,
                         SerializeSealed(vault, o, SealOrg));
        batch.Put(cf_->orgs, key, stored);
        ++stats.orgs;
        return FlushIfLarge(db_.get(), &batch);
      }));
  // A conflict (in the hub column family or in a log entry) needs a reseal
  // when any side does.
  auto conflict_needs = [&vault](const v1::Conflict& c) {
    for (const v1::ConflictSide& side : c.sides()) {
      if ((side.has_member() && NeedsReseal(vault, side.member())) ||
          (side.has_org() && NeedsReseal(vault, side.org()))) {
        return true;
      }
    }
    return false;
  };
  RETURN_IF_ERROR(ForEachStored<v1::Conflict>(
      db_.get(), cf_->hub, keys::ConflictKey(""), "conflict",
      [&](const rocksdb::Slice& key, v1::Conflict& c) -> absl::Status {
        if (!conflict_needs(c)) return absl::OkStatus();
        RETURN_IF_ERROR(OpenConflict(vault, &c));
        ASSIGN_OR_RETURN(std::string stored,
                         SerializeSealed(vault, c, SealConflict));
        batch.Put(cf_->hub, key, stored);
        ++stats.conflicts;
        return FlushIfLarge(db_.get(), &batch);
      }));
  RETURN_IF_ERROR(ForEachStored<v1::Change>(
      db_.get(), cf_->log, "", "log entry",
      [&](const rocksdb::Slice& key, v1::Change& c) -> absl::Status {
        const bool rewrite =
            (c.has_member() && NeedsReseal(vault, c.member())) ||
            (c.has_org() && NeedsReseal(vault, c.org())) ||
            (c.has_conflict() && conflict_needs(c.conflict()));
        if (!rewrite) return absl::OkStatus();
        RETURN_IF_ERROR(OpenChange(vault, &c));
        ASSIGN_OR_RETURN(std::string stored,
                         SerializeSealed(vault, c, SealChange));
        batch.Put(cf_->log, key, stored);
        ++stats.log_entries;
        return FlushIfLarge(db_.get(), &batch);
      }));
  batch.Put(cf_->meta, keys::kMetaIndexKey, vault.IndexKeyCheck());
  batch.Put(cf_->meta, keys::kMetaDataKeys,
            vault.DataKeyCheck(vault.active_key()));
  batch.Put(cf_->meta, keys::kMetaSchema, keys::kSchemaVersion);
  RETURN_IF_ERROR(FromRocks(db_->Write(durable, &batch), "reseal"));
  // Compaction drops the old values from the files, so a retired key (or
  // the plaintext of a store written before sealing) no longer decrypts
  // anything on disk.
  rocksdb::CompactRangeOptions compact;
  compact.bottommost_level_compaction =
      rocksdb::BottommostLevelCompaction::kForce;
  for (rocksdb::ColumnFamilyHandle* cf :
       {cf_->members, cf_->orgs, cf_->hub, cf_->log, cf_->index}) {
    RETURN_IF_ERROR(FromRocks(db_->CompactRange(compact, cf, nullptr, nullptr),
                              "reseal compaction"));
  }
  // Only now: a crash before this point makes the next open run it again,
  // compaction included.
  RETURN_IF_ERROR(FromRocks(
      db_->Delete(durable, cf_->meta, keys::kMetaResealPending), "reseal"));

  needs_reseal_ = false;
  return stats;
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
  CommitContext ctx(this);
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

namespace {

// Why a change from a peer is outside what that link may carry, or "" when it
// is inside. See docs/REPLICATION.md, "What a link accepts".
class ScopeCheck {
 public:
  ScopeCheck(const ReplicatedBatch& batch, const std::string& self)
      : batch_(batch), self_(self) {}

  template <typename Ctx>
  absl::StatusOr<std::string> Why(Ctx& ctx, const v1::Change& c) {
    return batch_.source == ReplicatedBatch::Source::kChild
               ? FromChild(ctx, c)
               : FromParent(ctx, c);
  }

 private:
  template <typename Ctx>
  absl::StatusOr<std::string> FromChild(Ctx& ctx, const v1::Change& c) {
    const std::string& child = batch_.peer;
    ASSIGN_OR_RETURN(bool origin_inside, ctx.InSubtree(c.origin(), child));
    if (!origin_inside) {
      return absl::StrCat("origin '", c.origin(),
                          "' is outside the subtree of '", child, "'");
    }
    // The node that must have written a record part: the host of the anchor.
    auto host_of = [&](const std::string& org_id)
        -> absl::StatusOr<std::optional<std::string>> {
      ASSIGN_OR_RETURN(std::optional<v1::Org> org, ctx.Org(org_id));
      if (!org.has_value()) return std::optional<std::string>();
      return std::optional<std::string>(org->host_node());
    };
    switch (c.kind()) {
      case v1::PUT_ORG: {
        if (c.org().id() == child) {
          return std::string(
              "a child may not register itself; its registration comes from "
              "its parent");
        }
        ASSIGN_OR_RETURN(bool inside,
                         ctx.InSubtree(c.org().parent_id(), child));
        if (!inside) {
          return absl::StrCat("organisation '", c.org().id(),
                              "' is registered under '", c.org().parent_id(),
                              "', outside the subtree of '", child, "'");
        }
        ASSIGN_OR_RETURN(std::optional<std::string> host,
                         host_of(c.org().parent_id()));
        if (!batch_.repair && host.has_value() && *host != c.origin()) {
          return absl::StrCat("registration of '", c.org().id(),
                              "' must come from node '", *host, "', not '",
                              c.origin(), "'");
        }
        return std::string();
      }
      case v1::PUT_ORG_PROFILE:
      case v1::PUT_MEMBER: {
        const std::string& anchor =
            c.kind() == v1::PUT_MEMBER ? c.member().org_id() : c.org().id();
        ASSIGN_OR_RETURN(bool inside, ctx.InSubtree(anchor, child));
        if (!inside) {
          return absl::StrCat(RecordName(c), " belongs to '", anchor,
                              "', outside the subtree of '", child, "'");
        }
        if (c.kind() == v1::PUT_MEMBER) {
          ASSIGN_OR_RETURN(std::optional<v1::Member> prev,
                           ctx.Member(c.member().id()));
          if (prev.has_value()) {
            ASSIGN_OR_RETURN(bool was_inside,
                             ctx.InSubtree(prev->org_id(), child));
            if (!was_inside) {
              return absl::StrCat(RecordName(c), " belongs to '",
                                  prev->org_id(), "', outside the subtree of '",
                                  child, "'");
            }
          }
        }
        ASSIGN_OR_RETURN(std::optional<std::string> host, host_of(anchor));
        if (!batch_.repair && host.has_value() && *host != c.origin()) {
          return absl::StrCat(RecordName(c), " must come from node '", *host,
                              "', not '", c.origin(), "'");
        }
        return std::string();
      }
      case v1::PUT_ACCOUNT:
        return AccountFromChild(ctx, c, child);
      case v1::PUT_CONFLICT:
      case v1::PUT_WARNING: {
        // Warnings and conflicts have one author, the hub (the root, which
        // has no parent and so is never below anyone): a child node never
        // writes one. It may hand back the hub's own records in a repair
        // snapshot (a rebuilt parent gets them back), anchored in its
        // subtree.
        ASSIGN_OR_RETURN(std::optional<v1::Org> origin, ctx.Org(c.origin()));
        const bool from_hub = origin.has_value() && origin->parent_id().empty();
        ASSIGN_OR_RETURN(bool inside, ctx.InSubtree(AnchorOf(c), child));
        if (!batch_.repair || !from_hub || !inside) {
          return absl::StrCat(RecordName(c),
                              " is written only by the hub; a child node may "
                              "not send one");
        }
        return std::string();
      }
      case v1::PUT_EXPORT_REQUEST:
      case v1::PUT_EXPORT_APPROVAL: {
        // Requests and approvals about organisations of the child's subtree,
        // written by the node hosting the request's organisation (requests)
        // or the approver's organisation (approvals).
        const std::string anchor = AnchorOf(c);
        ASSIGN_OR_RETURN(bool inside, ctx.InSubtree(anchor, child));
        if (!inside) {
          return absl::StrCat(RecordName(c), " belongs to '", anchor,
                              "', outside the subtree of '", child, "'");
        }
        ASSIGN_OR_RETURN(std::optional<std::string> host,
                         host_of(c.kind() == v1::PUT_EXPORT_REQUEST
                                     ? anchor
                                     : c.export_approval().approver_org()));
        if (!batch_.repair && host.has_value() && *host != c.origin()) {
          return absl::StrCat(RecordName(c), " must come from node '", *host,
                              "', not '", c.origin(), "'");
        }
        return std::string();
      }
      default:
        return std::string("unknown change kind");
    }
  }

  template <typename Ctx>
  absl::StatusOr<std::string> FromParent(Ctx& ctx, const v1::Change& c) {
    if (!batch_.repair) {
      ASSIGN_OR_RETURN(bool own, ctx.InSubtree(c.origin(), self_));
      if (own) {
        return absl::StrCat("change of '", c.origin(),
                            "', a node of this subtree, came down from the "
                            "parent");
      }
    }
    std::string anchor;
    switch (c.kind()) {
      case v1::PUT_ORG:
        // This node's own registration, or one under an organisation of its
        // subtree (the parent chain never changes, so this also holds for
        // organisations this store has not seen yet, as in a repair).
        if (c.org().id() == self_) return std::string();
        anchor = c.org().parent_id();
        break;
      case v1::PUT_ACCOUNT:
        anchor = AnchorOf(c);
        break;
      case v1::PUT_WARNING: {
        // Only the hub writes warnings: the origin must be the root.
        anchor = AnchorOf(c);
        ASSIGN_OR_RETURN(std::optional<v1::Org> origin, ctx.Org(c.origin()));
        if (!batch_.repair && origin.has_value() &&
            !origin->parent_id().empty()) {
          return absl::StrCat(RecordName(c), " comes from node '", c.origin(),
                              "', which is not the hub; only the hub writes "
                              "warnings");
        }
        break;
      }
      case v1::PUT_CONFLICT:
        return std::string("conflicts stay with the hub that reconciles");
      case v1::PUT_EXPORT_APPROVAL: {
        // The upper tier's decision, written at the node hosting the
        // approver's organisation.
        anchor = AnchorOf(c);
        ASSIGN_OR_RETURN(std::optional<v1::Org> approver_org,
                         ctx.Org(c.export_approval().approver_org()));
        if (!batch_.repair && approver_org.has_value() &&
            approver_org->host_node() != c.origin()) {
          return absl::StrCat(RecordName(c), " must come from node '",
                              approver_org->host_node(), "', not '", c.origin(),
                              "'");
        }
        break;
      }
      case v1::PUT_EXPORT_REQUEST:
        if (!batch_.repair) {
          return std::string(
              "export requests are written by the node hosting the "
              "organisation, not above it");
        }
        anchor = AnchorOf(c);
        break;
      case v1::PUT_ORG_PROFILE:
      case v1::PUT_MEMBER:
        if (!batch_.repair) {
          return absl::StrCat(RecordName(c),
                              " is written inside this subtree, not above it");
        }
        anchor =
            c.kind() == v1::PUT_MEMBER ? c.member().org_id() : c.org().id();
        break;
      default:
        return std::string("unknown change kind");
    }
    ASSIGN_OR_RETURN(bool inside, ctx.InSubtree(anchor, self_));
    if (!inside) {
      return absl::StrCat(RecordName(c), " is outside the subtree of '", self_,
                          "'");
    }
    return std::string();
  }

  // An account from a child (docs/REPLICATION.md, "What a link accepts"):
  // its organisation lies in the child's subtree; whoever set its current
  // credential (credential_author_org) lies there too and is hosted by the
  // origin; a unit's data administrator and leader are created by its parent
  // only; the holder's own change (author = the account's organisation) is a
  // password change that can neither raise the upper tier's epoch block,
  // change the role nor lift a disable.
  template <typename Ctx>
  absl::StatusOr<std::string> AccountFromChild(Ctx& ctx, const v1::Change& c,
                                               const std::string& child) {
    const v1::Account& a = c.account();
    const std::string name = RecordName(c);
    ASSIGN_OR_RETURN(bool inside, ctx.InSubtree(a.org_id(), child));
    if (!inside) {
      return absl::StrCat(name, " belongs to '", a.org_id(),
                          "', outside the subtree of '", child, "'");
    }
    if (batch_.repair) return std::string();
    const std::string& author = a.credential_author_org();
    ASSIGN_OR_RETURN(bool author_inside, ctx.InSubtree(author, child));
    if (author.empty() || !author_inside) {
      return absl::StrCat(name, " claims the authority of '", author,
                          "', outside the subtree of '", child, "'");
    }
    ASSIGN_OR_RETURN(std::optional<v1::Org> author_org, ctx.Org(author));
    if (author_org.has_value() && author_org->host_node() != c.origin()) {
      return absl::StrCat(name, " set by '", author, "' must come from node '",
                          author_org->host_node(), "', not '", c.origin(), "'");
    }
    ASSIGN_OR_RETURN(std::optional<v1::Account> held,
                     ctx.Account(a.username()));
    if (author == a.org_id()) {
      const bool parent_made =
          a.role() == v1::DATA_ADMIN || a.role() == v1::UNIT_LEADER;
      if (!held.has_value() && parent_made) {
        return absl::StrCat(name, ": a unit's ", v1::Role_Name(a.role()),
                            " is created by its parent, not by the unit");
      }
      if (held.has_value()) {
        constexpr int64_t kBlock = int64_t{1} << 20;
        if (held->role() != a.role()) {
          return absl::StrCat(name, ": the role of an account never changes");
        }
        if (a.credential_epoch() / kBlock > held->credential_epoch() / kBlock) {
          return absl::StrCat(name,
                              ": the holder's own change may not raise "
                              "the epoch block of the upper tier's decisions");
        }
        if (held->state() == v1::CREDENTIAL_DISABLED &&
            a.credential_epoch() / kBlock ==
                held->credential_epoch() / kBlock &&
            a.state() != v1::CREDENTIAL_DISABLED) {
          return absl::StrCat(name,
                              ": a disabled account cannot be "
                              "re-enabled by its own organisation");
        }
      }
    } else {
      ASSIGN_OR_RETURN(bool below, ctx.InSubtree(a.org_id(), author));
      if (!below) {
        return absl::StrCat(name, ": '", author,
                            "' is not above the account's organisation");
      }
    }
    return std::string();
  }

  const ReplicatedBatch& batch_;
  const std::string& self_;
};

}  // namespace

absl::StatusOr<ApplyResult> Store::ApplyReplicated(ReplicatedBatch in) {
  absl::StatusOr<ApplyResult> result = ApplyImpl(in);
  if (result.ok() && result->applied > 0) NotifyCommit();
  return result;
}

absl::StatusOr<ApplyResult> Store::ApplyImpl(ReplicatedBatch& in) {
  absl::MutexLock lock(&commit_mu_);
  RETURN_IF_ERROR(sticky_error_);
  CommitContext ctx(this);
  rocksdb::WriteBatch batch;
  ApplyResult result;
  uint64_t pos = next_log_pos_;
  uint64_t last_hlc = 0;
  std::vector<v1::AuditEntry> audit;
  ScopeCheck scope(in, node_id_);

  auto reject = [&](const v1::Change& c, const std::string& why) {
    ++result.rejected;
    result.rejections.push_back(absl::StrCat(RecordName(c), ": ", why));
    v1::AuditEntry e;
    e.set_actor(in.peer);
    e.set_actor_org(in.peer);
    e.set_action(in.repair ? "ReplicationRepairReject" : "ReplicationReject");
    e.set_target(RecordName(c));
    e.set_outcome(v1::AUDIT_DENIED);
    e.set_detail(
        absl::StrCat("origin ", c.origin(), " seq ", c.origin_seq(), ": ", why)
            .substr(0, 500));
    audit.push_back(std::move(e));
  };

  for (v1::Change& c : in.changes) {
    if (!KindMatchesRecord(c) || c.origin().empty()) {
      reject(c, "malformed change");
      continue;
    }
    if (!in.repair && c.origin_seq() != 0) {
      // Dedup first: a re-sent change that was refused before is not a new
      // security event. (Sequence 0 marks a repaired version relayed from
      // below: it is adopted by version, like a repair.)
      const std::string applied_key =
          keys::AppliedKey(c.origin(), c.origin_incarnation());
      ASSIGN_OR_RETURN(uint64_t applied, ctx.Applied(applied_key));
      if (c.origin_seq() <= applied) {
        ++result.duplicates;
        continue;
      }
      if (c.origin_seq() > applied + 1) ++result.gaps;
      ctx.SetRepl(applied_key, keys::BigEndian64(c.origin_seq()));
    } else {
      c.set_origin_seq(0);
    }
    ASSIGN_OR_RETURN(std::string why, scope.Why(ctx, c));
    if (!why.empty()) {
      if (in.repair) {
        // A snapshot carries every record of the organisation, including
        // versions written on this side: not a security event.
        ++result.duplicates;
      } else {
        reject(c, why);
      }
      continue;
    }
    // Single writers make versions of one record part arrive in order; the
    // check matters for accounts (two writers) and after repairs.
    bool newer = true;
    if (c.kind() == v1::PUT_ACCOUNT) {
      ASSIGN_OR_RETURN(std::optional<v1::Account> stored,
                       ctx.Account(c.account().username()));
      if (stored.has_value()) {
        const v1::Account& a = c.account();
        if (a.credential_epoch() != stored->credential_epoch()) {
          newer = a.credential_epoch() > stored->credential_epoch();
        } else if (a.credential_author_org() !=
                   stored->credential_author_org()) {
          // Equal epochs: the tier nearer the root wins (docs/DESIGN.md).
          ASSIGN_OR_RETURN(bool incoming_above,
                           ctx.InSubtree(stored->credential_author_org(),
                                         a.credential_author_org()));
          ASSIGN_OR_RETURN(bool stored_above,
                           ctx.InSubtree(a.credential_author_org(),
                                         stored->credential_author_org()));
          newer = incoming_above ||
                  (!stored_above &&
                   a.credential_author_org() < stored->credential_author_org());
        } else {
          // Same epoch, same author: normally the same version, but a store
          // restored from an old copy can reuse an epoch for another
          // password. The version stamp decides, so both sides converge.
          ASSIGN_OR_RETURN(std::optional<std::string> version,
                           ctx.Version(VersionKey(c)));
          newer = !version.has_value() ||
                  VersionValue(c.hlc(), c.origin()) > *version;
        }
      }
    } else {
      ASSIGN_OR_RETURN(std::optional<std::string> version,
                       ctx.Version(VersionKey(c)));
      newer =
          !version.has_value() || VersionValue(c.hlc(), c.origin()) > *version;
    }
    if (!newer) {
      ++result.duplicates;
      continue;
    }
    // One person in two unions of different nodes is a conflict for the hub
    // to reconcile, not a reason to drop a record its writer holds.
    absl::Status staged =
        StageChange(ctx, c, false, /*unique_person=*/false, pos, &batch);
    if (!staged.ok()) {
      // The peer sent something this store cannot hold (say a member of an
      // organisation it never registered): refuse that change, keep going.
      reject(c, std::string(staged.message()));
      continue;
    }
    if (in.source == ReplicatedBatch::Source::kParent && GoesDown(c)) {
      ctx.PutIndex(keys::DownKey(pos), "");
    }
    last_hlc = std::max(last_hlc, c.hlc());
    ++pos;
    ++result.applied;
  }
  RETURN_IF_ERROR(ctx.Finish(&batch));
  if (!in.repair) {
    batch.Put(cf_->repl, Sl(keys::CursorKey(in.peer)),
              Sl(keys::BigEndian64(in.last_pos) + in.peer_incarnation));
  }
  AuditHead head = audit_head_;
  ChainAudit(audit, clock_, &head, &batch, cf_->audit, cf_->index, nullptr);
  batch.Put(cf_->meta, keys::kMetaNextLogPos, Sl(keys::BigEndian64(pos)));
  batch.Put(cf_->meta, keys::kMetaAuditHead,
            Sl(keys::BigEndian64(head.seq) + head.hash));
  uint64_t hlc_floor = 0;
  if (last_hlc != 0) {
    hlc_floor = hlc_->Update(last_hlc);
    batch.Put(cf_->meta, keys::kMetaHlc, Sl(keys::BigEndian64(hlc_floor)));
  }
  rocksdb::WriteOptions wo;
  wo.sync = sync_;
  rocksdb::Status s = db_->Write(wo, &batch);
  if (!s.ok()) {
    sticky_error_ = FromRocks(s, "apply");
    return sticky_error_;
  }
  next_log_pos_ = pos;
  audit_head_ = head;
  return result;
}

absl::StatusOr<LinkCursor> Store::GetCursor(absl::string_view peer) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_->repl,
                               Sl(keys::CursorKey(peer)), &value);
  if (s.IsNotFound()) return LinkCursor();
  RETURN_IF_ERROR(FromRocks(s, "cursor read"));
  if (value.size() < 8) {
    return absl::DataLossError(absl::StrCat("damaged cursor for ", peer));
  }
  LinkCursor c;
  c.pos = keys::DecodeBigEndian64(value.substr(0, 8));
  c.peer_incarnation = value.substr(8);
  return c;
}

absl::StatusOr<uint64_t> Store::AppliedSeq(
    absl::string_view origin, absl::string_view incarnation) const {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), cf_->repl,
               Sl(keys::AppliedKey(origin, incarnation)), &value);
  if (s.IsNotFound()) return uint64_t{0};
  RETURN_IF_ERROR(FromRocks(s, "applied read"));
  return keys::DecodeBigEndian64(value);
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

absl::StatusOr<std::vector<v1::Change>> Store::OrgSnapshot(
    absl::string_view org_id) const {
  std::vector<v1::Change> out;
  auto stamp = [&](v1::Change& c) -> absl::Status {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_->versions,
                                 Sl(VersionKey(c)), &value);
    if (s.IsNotFound()) return absl::OkStatus();  // Never written: skip.
    RETURN_IF_ERROR(FromRocks(s, "version read"));
    if (value.size() < 8) return absl::DataLossError("damaged version stamp");
    c.set_hlc(keys::DecodeBigEndian64(value.substr(0, 8)));
    c.set_origin(value.substr(8));
    c.set_origin_seq(0);
    out.push_back(c);
    return absl::OkStatus();
  };
  ASSIGN_OR_RETURN(v1::Org org, GetOrg(org_id));
  v1::Change reg;
  reg.set_kind(v1::PUT_ORG);
  *reg.mutable_org() = org;
  RETURN_IF_ERROR(stamp(reg));
  v1::Change profile = reg;
  profile.set_kind(v1::PUT_ORG_PROFILE);
  RETURN_IF_ERROR(stamp(profile));
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(std::vector<v1::Member> members,
                     ListMembers(org_id, after, 1024));
    for (auto& m : members) {
      after = m.id();
      v1::Change c;
      c.set_kind(v1::PUT_MEMBER);
      *c.mutable_member() = std::move(m);
      RETURN_IF_ERROR(stamp(c));
    }
    if (members.size() < 1024) break;
  }
  ASSIGN_OR_RETURN(std::vector<v1::Account> accounts, ListAccounts(org_id));
  for (auto& a : accounts) {
    v1::Change c;
    c.set_kind(v1::PUT_ACCOUNT);
    *c.mutable_account() = std::move(a);
    RETURN_IF_ERROR(stamp(c));
  }
  // Warnings are not in the digests, but a store rebuilt by repair must get
  // them back too.
  ASSIGN_OR_RETURN(std::vector<std::string> warnings, WarningsOfOrg(org_id));
  for (const std::string& id : warnings) {
    ASSIGN_OR_RETURN(v1::Warning w, GetWarning(id));
    v1::Change c;
    c.set_kind(v1::PUT_WARNING);
    *c.mutable_warning() = std::move(w);
    RETURN_IF_ERROR(stamp(c));
  }
  // So are export requests and their approvals (the record of who exported
  // what, R10.4).
  ASSIGN_OR_RETURN(std::vector<std::string> exports,
                   ExportRequestsOfOrg(org_id));
  for (const std::string& id : exports) {
    ASSIGN_OR_RETURN(v1::ExportRequest r, GetExportRequest(id));
    v1::Change c;
    c.set_kind(v1::PUT_EXPORT_REQUEST);
    *c.mutable_export_request() = std::move(r);
    RETURN_IF_ERROR(stamp(c));
    ASSIGN_OR_RETURN(std::vector<v1::ExportApproval> approvals,
                     ExportApprovals(id));
    for (auto& a : approvals) {
      v1::Change ca;
      ca.set_kind(v1::PUT_EXPORT_APPROVAL);
      *ca.mutable_export_approval() = std::move(a);
      RETURN_IF_ERROR(stamp(ca));
    }
  }
  return out;
}

absl::StatusOr<std::string> Store::OwnDigest(absl::string_view org_id) const {
  ASSIGN_OR_RETURN(v1::SubtreeCounters counters, GetCounters(org_id));
  std::string digest = counters.digest();
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(std::vector<v1::Org> children,
                     ListChildren(org_id, after, 1024));
    for (const auto& child : children) {
      after = child.id();
      ASSIGN_OR_RETURN(v1::SubtreeCounters c, GetCounters(child.id()));
      if (!c.digest().empty()) XorInto(&digest, c.digest());
    }
    if (children.size() < 1024) break;
  }
  return digest;
}

}  // namespace unionsync
