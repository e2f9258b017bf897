// Online backups of a node's store, with RocksDB's BackupEngine.
//
// A backup directory holds any number of backups of one node's store. Table
// files are shared between backups (each backup copies only the files that
// are new since the one before) and every file carries a checksum, so a
// backup can be verified long after it was taken. A backup is consistent: it
// is the store as of one moment (BackupEngine stops file deletions, flushes
// and copies the live files and the write-ahead log), taken while the node
// serves. A backup cut off by a crash is never listed; its files are removed
// when the directory is next opened for writing (the node's start).
//
// The backup holds the store only. The node's key file (docs/KEYS.md) is
// backed up apart from it: a backup without its key file is unreadable, and a
// key file must not travel with the data it protects.
//
// Restore is offline: into a directory that does not exist or is empty, for
// a node that is stopped. A restored store starts a new incarnation when it
// is first opened (a marker file left by Restore says so), so neither its
// parent nor its children mistake its log for the one they already hold:
// both sides resend from the start, duplicates are dropped, and the digest
// comparison brings back what was written after the backup
// (docs/REPLICATION.md, "Identity and order").
#ifndef UNIONSYNC_STORE_BACKUP_H_
#define UNIONSYNC_STORE_BACKUP_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace rocksdb {
class BackupEngine;
class BackupEngineReadOnly;
class BackupEngineReadOnlyBase;
}  // namespace rocksdb

namespace unionsync {
namespace v1 {
class BackupInfo;
}  // namespace v1

class Store;

// One backup as listed.
struct BackupInfo {
  uint32_t id = 0;          // BackupEngine's id, 1, 2, ... in order taken.
  int64_t created_ms = 0;   // When it was taken.
  uint64_t size_bytes = 0;  // Files of this backup (shared ones included).
  uint32_t files = 0;
  // What the store said when the backup began.
  std::string node_id;
  std::string incarnation;
  uint64_t log_end = 0;  // Next log position: the backup holds at least this.
  std::string schema;    // On-disk schema version of the store.
  std::string trigger;   // Who asked: "schedule", or a username.
};

// As the Admin API sends it (unionsync/v1/admin.proto).
void ToProto(const BackupInfo& info, v1::BackupInfo* out);

// Left in a data directory by BackupArchive::Restore; Store::Open starts a
// new incarnation and removes it.
inline constexpr char kRestoredMarker[] = "RESTORED_FROM_BACKUP";

struct BackupArchiveOptions {
  std::string dir;  // Created when missing. Never inside the store's own.
  // Bytes per second written while backing up; 0 is no limit. A limit keeps
  // a backup from crowding out the node's own writes on a slow disk.
  uint64_t rate_limit_bytes = 0;
  // Open for listing, verifying and restoring only (unionctl's offline
  // restore, which must not clean up after a running node's backup).
  bool read_only = false;
};

// A backup directory. Thread-safe: one operation at a time.
class BackupArchive {
 public:
  static absl::StatusOr<std::unique_ptr<BackupArchive>> Open(
      const BackupArchiveOptions& options);
  ~BackupArchive();
  BackupArchive(const BackupArchive&) = delete;
  BackupArchive& operator=(const BackupArchive&) = delete;

  const std::string& dir() const { return dir_; }

  // Takes a backup of `store` (which stays open and serving) and returns it
  // as listed. `trigger` is recorded with it. A store from another node than
  // the archive's earlier backups is refused: one directory, one node.
  absl::StatusOr<BackupInfo> Create(Store& store, const std::string& trigger);

  // Every complete backup, oldest first.
  absl::StatusOr<std::vector<BackupInfo>> List();

  // Re-reads every file of backup `id` and checks its size and checksum.
  // NotFound for an unknown id; DataLoss naming what is wrong otherwise.
  absl::StatusOr<BackupInfo> Verify(uint32_t id);

  // Deletes all but the newest `keep` backups (at least 1). Returns how many
  // it deleted.
  absl::StatusOr<int> Purge(int keep);

  // Restores backup `id` (0: the newest) into `data_dir`, which must not
  // exist or be empty. The backup is verified first; nothing is written
  // into `data_dir` when it is damaged.
  absl::StatusOr<BackupInfo> Restore(uint32_t id, const std::string& data_dir);

  // Asks a running Create to stop (it returns an error and leaves nothing
  // listed). Returns at once.
  void Cancel();

 private:
  BackupArchive(std::string dir, std::unique_ptr<rocksdb::BackupEngine> engine,
                std::unique_ptr<rocksdb::BackupEngineReadOnly> read_only);
  absl::StatusOr<std::vector<BackupInfo>> ListLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<BackupInfo> Find(uint32_t id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string dir_;
  absl::Mutex mu_;
  // Exactly one of the two is set. Cancel() reaches `engine_` without mu_
  // (a Create holds it); both live as long as the archive.
  const std::unique_ptr<rocksdb::BackupEngine> engine_;
  const std::unique_ptr<rocksdb::BackupEngineReadOnly> read_only_;
  // The one that is set, for reading.
  rocksdb::BackupEngineReadOnlyBase* const reader_;
};

}  // namespace unionsync

#endif  // UNIONSYNC_STORE_BACKUP_H_
