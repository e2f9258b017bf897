// The node's backups: its backup directory (store/backup.h), a schedule, and
// what operators ask for through the Admin API (unionctl backup create, list,
// verify). One backup runs at a time; a second request while one runs is
// refused with a message saying who started the running one and when.
//
// Thread-safe.
#ifndef UNIONSYNC_NODE_BACKUPS_H_
#define UNIONSYNC_NODE_BACKUPS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "store/backup.h"

namespace unionsync {

class Store;

struct NodeBackupOptions {
  BackupArchiveOptions archive;
  // A scheduled backup this long after the newest one (the first one shortly
  // after start when there is none). Zero: no schedule.
  absl::Duration interval = absl::Hours(24);
  // Backups kept after each scheduled or requested one; older ones go.
  int keep = 7;
  // How long after start the first scheduled backup may run at the earliest.
  absl::Duration start_delay = absl::Seconds(10);
};

// What operators see of the backup directory.
struct BackupListing {
  std::string dir;
  std::vector<BackupInfo> backups;  // Oldest first.
  // A backup in progress: who started it and when (0: none runs).
  std::string running_trigger;
  int64_t running_since_ms = 0;
  int64_t next_scheduled_ms = 0;  // 0: no schedule.
  // The last failure, if the last backup failed.
  std::string last_error;
  int64_t last_error_ms = 0;
};

class NodeBackups {
 public:
  // Opens the backup directory (cleaning up after a backup cut off by a
  // crash) and starts the schedule. `store` is not owned and outlives this.
  static absl::StatusOr<std::unique_ptr<NodeBackups>> Start(
      Store* store, const NodeBackupOptions& options);
  // Stops the schedule; a backup in progress is cancelled (nothing of it is
  // listed) and later requests are refused. Idempotent.
  void Stop();
  ~NodeBackups();
  NodeBackups(const NodeBackups&) = delete;
  NodeBackups& operator=(const NodeBackups&) = delete;

  // Takes a backup now, then deletes all but the newest `keep`. `trigger` is
  // who asked. FAILED_PRECONDITION while another backup runs.
  absl::StatusOr<BackupInfo> Create(const std::string& trigger);
  // Answers at once, also while a backup runs.
  BackupListing List();
  // Checks every file of backup `id` against its checksum. UNAVAILABLE while
  // a backup runs (the two would queue behind each other).
  absl::StatusOr<BackupInfo> Verify(uint32_t id);

  // Prometheus text: backups held, the newest one's time and size, the last
  // failure's time, whether one runs.
  std::string MetricsText();

 private:
  NodeBackups(Store* store, NodeBackupOptions options,
              std::unique_ptr<BackupArchive> archive);
  void ScheduleLoop();
  // Next scheduled time after the newest backup (or now when none).
  absl::Time NextAfter(const std::vector<BackupInfo>& backups) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Store* const store_;
  const NodeBackupOptions options_;
  const std::unique_ptr<BackupArchive> archive_;
  const absl::Time started_;

  absl::Mutex mu_;
  std::vector<BackupInfo> listed_ ABSL_GUARDED_BY(mu_);
  std::string running_trigger_ ABSL_GUARDED_BY(mu_);
  absl::Time running_since_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time next_scheduled_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  std::string last_error_ ABSL_GUARDED_BY(mu_);
  absl::Time last_error_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  uint64_t created_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t failed_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread schedule_;
};

}  // namespace unionsync

#endif  // UNIONSYNC_NODE_BACKUPS_H_
