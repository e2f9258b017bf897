#include "store/store.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/org_rules.h"
#include "common/status_macros.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"
#include "store/keys.h"

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

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view context) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = absl::StrCat(context, ": ", s.ToString());
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain())
    return absl::UnavailableError(msg);
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    return absl::FailedPreconditionError(
        absl::StrCat(msg, " (is another process using this store?)"));
  }
  return absl::InternalError(msg);
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

// What one record adds to its organisation's subtree counters.
struct Contribution {
  int64_t orgs = 0;
  int64_t grassroots = 0;
  int64_t complete = 0;
  int64_t activated = 0;
  int64_t members = 0;
  int64_t migrant = 0;
  int64_t accounts = 0;
  std::string digest;  // XOR of record digests.

  void Add(const Contribution& o, int sign) {
    orgs += sign * o.orgs;
    grassroots += sign * o.grassroots;
    complete += sign * o.complete;
    activated += sign * o.activated;
    members += sign * o.members;
    migrant += sign * o.migrant;
    accounts += sign * o.accounts;
    if (!o.digest.empty())
      XorInto(&digest, o.digest);  // XOR is its own inverse.
  }
};

Contribution ContributionOf(const v1::Change& c) {
  Contribution out;
  out.digest = Store::RecordDigest(c);
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

// The organisation a record is counted under.
std::string AnchorOf(const v1::Change& c) {
  switch (c.record_case()) {
    case v1::Change::kOrg:
      return c.org().id();
    case v1::Change::kMember:
      return c.member().org_id();
    case v1::Change::kAccount:
      return c.account().org_id();
    default:
      return "";
  }
}

bool IsActivatingAdmin(const v1::Account& a) {
  return a.role() == v1::DATA_ADMIN && a.state() == v1::CREDENTIAL_ACTIVE;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// WriteSet

void WriteSet::PutOrg(v1::Org org, Mode mode) {
  modes_.push_back(mode);
  v1::Change c;
  c.set_kind(v1::PUT_ORG);
  *c.mutable_org() = std::move(org);
  changes_.push_back(std::move(c));
}

void WriteSet::PutMember(v1::Member member, Mode mode) {
  modes_.push_back(mode);
  v1::Change c;
  c.set_kind(v1::PUT_MEMBER);
  *c.mutable_member() = std::move(member);
  changes_.push_back(std::move(c));
}

void WriteSet::PutAccount(v1::Account account, Mode mode) {
  modes_.push_back(mode);
  v1::Change c;
  c.set_kind(v1::PUT_ACCOUNT);
  *c.mutable_account() = std::move(account);
  changes_.push_back(std::move(c));
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
  const bool exists = std::filesystem::exists(options.path + "/CURRENT", ec);
  if (!exists && !options.create_if_missing) {
    return absl::NotFoundError(absl::StrCat("no store at ", options.path));
  }
  if (!exists && std::filesystem::exists(options.path, ec) &&
      !std::filesystem::is_empty(options.path, ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat(options.path,
                     " exists, is not empty and is not a RocksDB database; "
                     "refusing to use it"));
  }

  rocksdb::Options db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = !exists;
  db_options.paranoid_checks = true;
  db_options.IncreaseParallelism(2);
  db_options.max_background_jobs = 2;
  rocksdb::ColumnFamilyOptions cf_options;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

  const std::vector<std::string> names = {rocksdb::kDefaultColumnFamilyName,
                                          keys::kOrgs,
                                          keys::kMembers,
                                          keys::kAccounts,
                                          keys::kLog,
                                          keys::kIndex,
                                          keys::kCounters,
                                          keys::kAudit,
                                          keys::kLocal};
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
  store->sync_ = options.sync;
  store->clock_ =
      options.clock != nullptr ? options.clock : SystemClock::Default();
  store->hlc_ = std::make_unique<HybridClock>(store->clock_);
  RETURN_IF_ERROR(store->LoadMeta(options, !exists));
  return store;
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
  if (!schema.has_value() || *schema != keys::kSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "store ", options.path, " has schema '", schema.value_or("<none>"),
        "', this binary reads schema '", keys::kSchemaVersion, "'"));
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

absl::StatusOr<v1::Member> Store::FindMemberByIdNumber(
    absl::string_view id_number) const {
  std::string member_id;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_->index,
                               keys::IdNumberKey(id_number), &member_id);
  if (s.IsNotFound())
    return absl::NotFoundError("no active member with that ID number");
  RETURN_IF_ERROR(FromRocks(s, "id number index"));
  return GetMember(member_id);
}

absl::StatusOr<v1::SubtreeCounters> Store::GetCounters(
    absl::string_view org_id) const {
  auto r = GetProto<v1::SubtreeCounters>(cf_->counters, org_id);
  if (absl::IsNotFound(r.status())) return v1::SubtreeCounters();
  return r;
}

namespace {

// Collects up to `limit` key suffixes under `prefix` that sort after `after`.
absl::StatusOr<std::vector<std::string>> ScanSuffixes(
    rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, const std::string& prefix,
    absl::string_view after, size_t limit) {
  std::vector<std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions(), cf));
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

}  // namespace

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
    out.push_back(std::move(c));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "log scan"));
  return out;
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
      return Sha256(absl::StrCat("o", Serialize(change.org())));
    case v1::Change::kMember:
      return Sha256(absl::StrCat("m", Serialize(change.member())));
    case v1::Change::kAccount:
      return Sha256(absl::StrCat("a", Serialize(change.account())));
    default:
      return std::string(kHashSize, '\0');
  }
}

absl::StatusOr<std::optional<uint64_t>> Store::VerifyAuditChain() const {
  std::string prev(kHashSize, '\0');
  uint64_t expected = 1;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf_->audit));
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++expected) {
    v1::AuditEntry e;
    if (!e.ParseFromArray(it->value().data(),
                          static_cast<int>(it->value().size())) ||
        keys::DecodeBigEndian64(Sv(it->key())) != expected ||
        e.seq() != expected || e.prev_hash() != prev ||
        AuditEntryHash(e) != e.hash()) {
      return std::optional<uint64_t>(expected);
    }
    prev = e.hash();
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "audit scan"));
  const AuditHead head = audit_head();
  if (head.seq != expected - 1 || head.hash != prev) {
    // The newest entries are missing or were replaced: point at the first one
    // the head covers that is not intact.
    return std::optional<uint64_t>(expected);
  }
  return std::optional<uint64_t>();
}

// ---------------------------------------------------------------------------------------------
// Commit

// The records a commit reads and writes, overlaid on the database so later
// writes in the same commit see earlier ones.
class Store::CommitContext {
 public:
  explicit CommitContext(const Store* store) : store_(store) {}

  absl::StatusOr<std::optional<v1::Org>> Org(const std::string& id) {
    if (auto it = orgs_.find(id); it != orgs_.end()) return it->second;
    auto r = store_->GetOrg(id);
    if (absl::IsNotFound(r.status())) return std::optional<v1::Org>();
    RETURN_IF_ERROR(r.status());
    return std::optional<v1::Org>(*std::move(r));
  }
  absl::StatusOr<std::optional<v1::Member>> Member(const std::string& id) {
    if (auto it = members_.find(id); it != members_.end()) return it->second;
    auto r = store_->GetMember(id);
    if (absl::IsNotFound(r.status())) return std::optional<v1::Member>();
    RETURN_IF_ERROR(r.status());
    return std::optional<v1::Member>(*std::move(r));
  }
  absl::StatusOr<std::optional<v1::Account>> Account(const std::string& name) {
    if (auto it = accounts_.find(name); it != accounts_.end())
      return it->second;
    auto r = store_->GetAccount(name);
    if (absl::IsNotFound(r.status())) return std::optional<v1::Account>();
    RETURN_IF_ERROR(r.status());
    return std::optional<v1::Account>(*std::move(r));
  }
  absl::StatusOr<std::optional<std::string>> Index(const std::string& key) {
    if (auto it = index_.find(key); it != index_.end()) return it->second;
    std::string value;
    rocksdb::Status s = store_->db_->Get(rocksdb::ReadOptions(),
                                         store_->cf_->index, key, &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    RETURN_IF_ERROR(FromRocks(s, "index read"));
    return std::optional<std::string>(std::move(value));
  }

  void SetOrg(const v1::Org& o) { orgs_[o.id()] = o; }
  void SetMember(const v1::Member& m) { members_[m.id()] = m; }
  void SetAccount(const v1::Account& a) { accounts_[a.username()] = a; }
  void PutIndex(std::string key, std::string value) {
    index_[std::move(key)] = std::move(value);
  }
  void DeleteIndex(std::string key) { index_[std::move(key)] = std::nullopt; }

  void AddContribution(const std::string& org, const Contribution& c,
                       int sign) {
    deltas_[org].Add(c, sign);
  }
  void TouchActivation(const std::string& org) { activation_orgs_.insert(org); }

  // Whether `org` has a data administrator who has set their own password,
  // before (`overlay` false) or after this commit.
  absl::StatusOr<bool> Activated(const std::string& org, bool overlay) {
    ASSIGN_OR_RETURN(std::vector<std::string> names,
                     ScanSuffixes(store_->db_.get(), store_->cf_->index,
                                  keys::OrgAccountPrefix(org), "",
                                  std::numeric_limits<size_t>::max()));
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
      if (a.has_value() && a->org_id() == org && IsActivatingAdmin(*a))
        return true;
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

  // Writes records' side effects into `batch`: index entries and counters of
  // every touched organisation and its ancestors.
  absl::Status Finish(rocksdb::WriteBatch* batch) {
    for (const auto& org : activation_orgs_) {
      ASSIGN_OR_RETURN(bool before, Activated(org, false));
      ASSIGN_OR_RETURN(bool after, Activated(org, true));
      if (before != after) deltas_[org].activated += after ? 1 : -1;
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
      std::string digest = c.digest();
      if (!delta.digest.empty()) XorInto(&digest, delta.digest);
      c.set_digest(digest);
      batch->Put(store_->cf_->counters, org, Serialize(c));
    }
    for (const auto& [key, value] : index_) {
      if (value.has_value()) {
        batch->Put(store_->cf_->index, key, *value);
      } else {
        batch->Delete(store_->cf_->index, key);
      }
    }
    return absl::OkStatus();
  }

 private:
  const Store* store_;
  absl::flat_hash_map<std::string, std::optional<v1::Org>> orgs_;
  absl::flat_hash_map<std::string, std::optional<v1::Member>> members_;
  absl::flat_hash_map<std::string, std::optional<v1::Account>> accounts_;
  absl::btree_map<std::string, std::optional<std::string>> index_;
  absl::btree_map<std::string, Contribution> deltas_;
  absl::btree_set<std::string> activation_orgs_;
};

absl::StatusOr<CommitResult> Store::Commit(const WriteSet& writes,
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
    const bool must_create = writes.modes_[i] == WriteSet::Mode::kCreate;
    std::optional<v1::Change>
        old;  // The previous version, wrapped the same way.
    switch (change.record_case()) {
      case v1::Change::kOrg: {
        const v1::Org& org = change.org();
        if (org.id().empty())
          return absl::InvalidArgumentError("organisation id is empty");
        ASSIGN_OR_RETURN(std::optional<v1::Org> prev, ctx.Org(org.id()));
        if (prev.has_value() && must_create) {
          return absl::AlreadyExistsError(
              absl::StrCat("organisation '", org.id(), "' already exists"));
        }
        if (prev.has_value()) {
          if (prev->parent_id() != org.parent_id()) {
            return absl::FailedPreconditionError(absl::StrCat(
                "organisation '", org.id(), "' cannot change its parent from '",
                prev->parent_id(), "' to '", org.parent_id(), "'"));
          }
          old.emplace();
          *old->mutable_org() = *prev;
        } else if (!org.parent_id().empty()) {
          ASSIGN_OR_RETURN(std::optional<v1::Org> parent,
                           ctx.Org(org.parent_id()));
          if (!parent.has_value()) {
            return absl::FailedPreconditionError(
                absl::StrCat("parent '", org.parent_id(), "' of organisation '",
                             org.id(), "' does not exist"));
          }
          ctx.PutIndex(keys::ChildKey(org.parent_id(), org.id()), "");
        }
        ctx.SetOrg(org);
        batch.Put(cf_->orgs, org.id(), Serialize(org));
        break;
      }
      case v1::Change::kMember: {
        const v1::Member& m = change.member();
        if (m.id().empty())
          return absl::InvalidArgumentError("member id is empty");
        ASSIGN_OR_RETURN(std::optional<v1::Org> org, ctx.Org(m.org_id()));
        if (!org.has_value()) {
          return absl::FailedPreconditionError(
              absl::StrCat("organisation '", m.org_id(), "' of member '",
                           m.id(), "' does not exist"));
        }
        ASSIGN_OR_RETURN(std::optional<v1::Member> prev, ctx.Member(m.id()));
        if (prev.has_value() && must_create) {
          return absl::AlreadyExistsError(
              absl::StrCat("member '", m.id(), "' already exists"));
        }
        if (prev.has_value()) {
          old.emplace();
          *old->mutable_member() = *prev;
          if (prev->status() == v1::MEMBER_ACTIVE) {
            ctx.DeleteIndex(keys::IdNumberKey(prev->id_number()));
          }
          if (prev->org_id() != m.org_id()) {
            ctx.DeleteIndex(keys::OrgMemberKey(prev->org_id(), m.id()));
          }
        }
        if (m.status() == v1::MEMBER_ACTIVE) {
          ASSIGN_OR_RETURN(std::optional<std::string> holder,
                           ctx.Index(keys::IdNumberKey(m.id_number())));
          if (holder.has_value() && *holder != m.id()) {
            return absl::AlreadyExistsError(absl::StrCat(
                "id_number: this person is already an active member (member '",
                *holder, "'); one person is a member of one union at a time"));
          }
          ctx.PutIndex(keys::IdNumberKey(m.id_number()), m.id());
        }
        ctx.PutIndex(keys::OrgMemberKey(m.org_id(), m.id()), "");
        ctx.SetMember(m);
        batch.Put(cf_->members, m.id(), Serialize(m));
        break;
      }
      case v1::Change::kAccount: {
        const v1::Account& a = change.account();
        if (a.username().empty())
          return absl::InvalidArgumentError("username is empty");
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
        if (prev.has_value()) {
          if (prev->org_id() != a.org_id()) {
            return absl::FailedPreconditionError(
                absl::StrCat("account '", a.username(), "' belongs to '",
                             prev->org_id(), "'"));
          }
          old.emplace();
          *old->mutable_account() = *prev;
        }
        ctx.PutIndex(keys::OrgAccountKey(a.org_id(), a.username()), "");
        ctx.TouchActivation(a.org_id());
        ctx.SetAccount(a);
        batch.Put(cf_->accounts, a.username(), Serialize(a));
        break;
      }
      default:
        return absl::InvalidArgumentError("change without a record");
    }
    if (old.has_value())
      ctx.AddContribution(AnchorOf(*old), ContributionOf(*old), -1);
    ctx.AddContribution(AnchorOf(change), ContributionOf(change), +1);

    change.set_origin(node_id_);
    change.set_origin_seq(seq++);
    change.set_log_pos(pos);
    change.set_hlc(last_hlc = hlc_->Now());
    change.set_author(std::string(author));
    batch.Put(cf_->log, keys::BigEndian64(pos++), Serialize(change));
    result.changes.push_back(std::move(change));
  }
  RETURN_IF_ERROR(ctx.Finish(&batch));

  AuditHead head = audit_head_;
  for (const v1::AuditEntry& in : writes.audit_) {
    v1::AuditEntry e = in;
    e.set_seq(head.seq + 1);
    if (e.time_ms() == 0) e.set_time_ms(clock_->NowMs());
    e.set_prev_hash(head.hash);
    e.set_hash(AuditEntryHash(e));
    batch.Put(cf_->audit, keys::BigEndian64(e.seq()), Serialize(e));
    head.seq = e.seq();
    head.hash = e.hash();
    result.audit_seqs.push_back(e.seq());
  }
  for (const auto& [key, value] : writes.local_) {
    if (value.has_value()) {
      batch.Put(cf_->local, key, *value);
    } else {
      batch.Delete(cf_->local, key);
    }
  }
  batch.Put(cf_->meta, keys::kMetaNextSeq, keys::BigEndian64(seq));
  batch.Put(cf_->meta, keys::kMetaNextLogPos, keys::BigEndian64(pos));
  batch.Put(cf_->meta, keys::kMetaAuditHead,
            keys::BigEndian64(head.seq) + head.hash);
  if (last_hlc != 0)
    batch.Put(cf_->meta, keys::kMetaHlc, keys::BigEndian64(last_hlc));

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

}  // namespace unionsync
