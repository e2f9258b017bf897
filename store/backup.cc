#include "store/backup.h"

#include <rocksdb/env.h>
#include <rocksdb/utilities/backup_engine.h>

#include <filesystem>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "store/keys.h"
#include "store/rocks_status.h"
#include "store/store.h"
#include "unionsync/v1/admin.pb.h"

namespace unionsync {
namespace {

namespace fs = std::filesystem;

// The metadata kept with each backup: "key=value" lines.
std::string EncodeMetadata(const BackupInfo& info) {
  std::string out;
  for (const auto& [key, value] :
       {std::pair<const char*, std::string>{"node_id", info.node_id},
        {"incarnation", info.incarnation},
        {"log_end", absl::StrCat(info.log_end)},
        {"schema", info.schema},
        {"trigger", info.trigger},
        {"created_ms", absl::StrCat(info.created_ms)}}) {
    absl::StrAppend(&out, key, "=", absl::StrReplaceAll(value, {{"\n", " "}}),
                    "\n");
  }
  return out;
}

BackupInfo Decode(const rocksdb::BackupInfo& raw) {
  BackupInfo info;
  info.id = raw.backup_id;
  info.created_ms = raw.timestamp * 1000;
  info.size_bytes = raw.size;
  info.files = raw.number_files;
  for (absl::string_view line :
       absl::StrSplit(raw.app_metadata, '\n', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv =
        absl::StrSplit(line, absl::MaxSplits('=', 1));
    const std::string& v = kv.second;
    if (kv.first == "node_id") info.node_id = v;
    if (kv.first == "incarnation") info.incarnation = v;
    if (kv.first == "schema") info.schema = v;
    if (kv.first == "trigger") info.trigger = v;
    if (kv.first == "log_end" && !absl::SimpleAtoi(v, &info.log_end)) {
      info.log_end = 0;
    }
    int64_t ms = 0;
    if (kv.first == "created_ms" && absl::SimpleAtoi(v, &ms)) {
      info.created_ms = ms;
    }
  }
  return info;
}

// `a` is `b` or lies inside it (both made absolute and normal).
bool Inside(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  const fs::path na = fs::weakly_canonical(fs::absolute(a, ec), ec);
  const fs::path nb = fs::weakly_canonical(fs::absolute(b, ec), ec);
  auto ia = na.begin();
  for (auto ib = nb.begin(); ib != nb.end(); ++ib, ++ia) {
    if (ib->empty()) continue;  // A trailing separator.
    if (ia == na.end() || *ia != *ib) return false;
  }
  return true;
}

}  // namespace

void ToProto(const BackupInfo& info, v1::BackupInfo* out) {
  out->set_backup_id(info.id);
  out->set_created_ms(info.created_ms);
  out->set_size_bytes(info.size_bytes);
  out->set_files(info.files);
  out->set_node_id(info.node_id);
  out->set_incarnation(info.incarnation);
  out->set_log_end(info.log_end);
  out->set_schema(info.schema);
  out->set_trigger(info.trigger);
}

BackupArchive::BackupArchive(
    std::string dir, std::unique_ptr<rocksdb::BackupEngine> engine,
    std::unique_ptr<rocksdb::BackupEngineReadOnly> read_only)
    : dir_(std::move(dir)),
      engine_(std::move(engine)),
      read_only_(std::move(read_only)),
      reader_(
          engine_ != nullptr
              ? static_cast<rocksdb::BackupEngineReadOnlyBase*>(engine_.get())
              : read_only_.get()) {}

BackupArchive::~BackupArchive() = default;

absl::StatusOr<std::unique_ptr<BackupArchive>> BackupArchive::Open(
    const BackupArchiveOptions& options) {
  if (options.dir.empty()) {
    return absl::InvalidArgumentError("backup directory is empty");
  }
  std::error_code ec;
  if (options.read_only) {
    if (!fs::is_directory(options.dir, ec)) {
      return absl::NotFoundError(
          absl::StrCat("no backup directory at ", options.dir));
    }
  } else {
    fs::create_directories(options.dir, ec);
    if (ec) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot create backup directory ", options.dir, ": ", ec.message()));
    }
  }
  rocksdb::BackupEngineOptions engine_options(options.dir);
  engine_options.sync = true;
  engine_options.share_table_files = true;
  engine_options.share_files_with_checksum = true;
  engine_options.backup_rate_limit = options.rate_limit_bytes;
  if (options.read_only) {
    rocksdb::BackupEngineReadOnly* engine = nullptr;
    RETURN_IF_ERROR(
        FromRocks(rocksdb::BackupEngineReadOnly::Open(
                      engine_options, rocksdb::Env::Default(), &engine),
                  absl::StrCat("opening backup directory ", options.dir)));
    return std::unique_ptr<BackupArchive>(new BackupArchive(
        options.dir, nullptr,
        std::unique_ptr<rocksdb::BackupEngineReadOnly>(engine)));
  }
  rocksdb::BackupEngine* engine = nullptr;
  RETURN_IF_ERROR(
      FromRocks(rocksdb::BackupEngine::Open(engine_options,
                                            rocksdb::Env::Default(), &engine),
                absl::StrCat("opening backup directory ", options.dir)));
  std::unique_ptr<rocksdb::BackupEngine> owned(engine);
  // Files of a backup cut off by a crash (kill -9, power loss) go now, not
  // at the next backup: the directory's size says what it holds.
  RETURN_IF_ERROR(
      FromRocks(owned->GarbageCollect(), "cleaning up the backup directory"));
  return std::unique_ptr<BackupArchive>(
      new BackupArchive(options.dir, std::move(owned), nullptr));
}

absl::StatusOr<BackupInfo> BackupArchive::Create(Store& store,
                                                 const std::string& trigger) {
  if (engine_ == nullptr) {
    return absl::FailedPreconditionError(
        "the backup directory was opened read-only");
  }
  if (Inside(dir_, store.path()) || Inside(store.path(), dir_)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the backup directory ", dir_, " and the store ",
                     store.path(), " must not contain one another"));
  }
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(std::vector<BackupInfo> existing, ListLocked());
  for (const BackupInfo& b : existing) {
    if (!b.node_id.empty() && b.node_id != store.node_id()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the backup directory ", dir_, " holds backups of node ", b.node_id,
          ", not of ", store.node_id(), ": give each node its own"));
    }
  }
  BackupInfo info;
  info.node_id = store.node_id();
  info.incarnation = store.incarnation();
  info.log_end = store.next_log_pos();
  info.schema = keys::kSchemaVersion;
  info.trigger = trigger;
  info.created_ms = absl::ToUnixMillis(absl::Now());
  ASSIGN_OR_RETURN(uint32_t id,
                   store.CreateBackup(engine_.get(), EncodeMetadata(info)));
  return Find(id);
}

absl::StatusOr<std::vector<BackupInfo>> BackupArchive::List() {
  absl::MutexLock lock(&mu_);
  return ListLocked();
}

absl::StatusOr<std::vector<BackupInfo>> BackupArchive::ListLocked() {
  std::vector<rocksdb::BackupInfo> raw;
  reader_->GetBackupInfo(&raw);
  std::vector<BackupInfo> out;
  out.reserve(raw.size());
  for (const rocksdb::BackupInfo& r : raw) out.push_back(Decode(r));
  return out;
}

absl::StatusOr<BackupInfo> BackupArchive::Find(uint32_t id) {
  rocksdb::BackupInfo raw;
  rocksdb::Status s = reader_->GetBackupInfo(id, &raw);
  if (s.IsNotFound()) {
    return absl::NotFoundError(absl::StrCat("no backup ", id, " in ", dir_,
                                            " (unionctl backup list)"));
  }
  RETURN_IF_ERROR(FromRocks(s, absl::StrCat("reading backup ", id)));
  return Decode(raw);
}

absl::StatusOr<BackupInfo> BackupArchive::Verify(uint32_t id) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(BackupInfo info, Find(id));
  rocksdb::Status s = reader_->VerifyBackup(id, /*verify_with_checksum=*/true);
  if (!s.ok()) {
    return absl::DataLossError(absl::StrCat("backup ", id, " in ", dir_,
                                            " is damaged: ", s.ToString()));
  }
  return info;
}

absl::StatusOr<int> BackupArchive::Purge(int keep) {
  if (keep < 1) {
    return absl::InvalidArgumentError("keep at least one backup");
  }
  if (engine_ == nullptr) {
    return absl::FailedPreconditionError(
        "the backup directory was opened read-only");
  }
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(std::vector<BackupInfo> before, ListLocked());
  RETURN_IF_ERROR(
      FromRocks(engine_->PurgeOldBackups(keep), "deleting old backups"));
  return before.size() > static_cast<size_t>(keep)
             ? static_cast<int>(before.size() - keep)
             : 0;
}

absl::StatusOr<BackupInfo> BackupArchive::Restore(uint32_t id,
                                                  const std::string& data_dir) {
  if (data_dir.empty()) {
    return absl::InvalidArgumentError("the data directory is empty");
  }
  std::error_code ec;
  if (fs::exists(data_dir, ec) && !fs::is_empty(data_dir, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(
        data_dir,
        " is not empty: restore into a new directory (a node's store is "
        "never overwritten)"));
  }
  if (Inside(dir_, data_dir) || Inside(data_dir, dir_)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the backup directory ", dir_, " and the data directory ",
                     data_dir, " must not contain one another"));
  }
  absl::MutexLock lock(&mu_);
  if (id == 0) {
    ASSIGN_OR_RETURN(std::vector<BackupInfo> all, ListLocked());
    if (all.empty()) {
      return absl::NotFoundError(absl::StrCat("no backups in ", dir_));
    }
    id = all.back().id;
  }
  ASSIGN_OR_RETURN(BackupInfo info, Find(id));
  rocksdb::Status s = reader_->VerifyBackup(id, /*verify_with_checksum=*/true);
  if (!s.ok()) {
    return absl::DataLossError(
        absl::StrCat("backup ", id, " in ", dir_,
                     " is damaged, not restored: ", s.ToString()));
  }
  fs::create_directories(data_dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot create data directory ", data_dir, ": ", ec.message()));
  }
  s = reader_->RestoreDBFromBackup(rocksdb::RestoreOptions(), id, data_dir,
                                   data_dir);
  if (!s.ok()) {
    // Leave no half-restored store that a node could later open.
    fs::remove_all(data_dir, ec);
    return FromRocks(s,
                     absl::StrCat("restoring backup ", id, " into ", data_dir));
  }
  // The marker that makes the store start a new incarnation when opened
  // (store.h: Store::Open). Written last and synced: a restore cut off
  // before it leaves a store that keeps its incarnation, which the parent's
  // check at the handshake still catches.
  std::unique_ptr<rocksdb::WritableFile> marker;
  const std::string marker_path = data_dir + "/" + kRestoredMarker;
  rocksdb::Env* env = rocksdb::Env::Default();
  s = env->NewWritableFile(marker_path, &marker, rocksdb::EnvOptions());
  if (s.ok()) s = marker->Append(absl::StrCat("backup ", id, "\n"));
  if (s.ok()) s = marker->Sync();
  if (s.ok()) s = marker->Close();
  RETURN_IF_ERROR(FromRocks(s, absl::StrCat("writing ", marker_path)));
  return info;
}

void BackupArchive::Cancel() {
  if (engine_ != nullptr) engine_->StopBackup();
}

}  // namespace unionsync
