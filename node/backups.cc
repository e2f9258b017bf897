#include "node/backups.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "store/store.h"

namespace unionsync {
namespace {

constexpr absl::string_view kLog = "backup";

int64_t MillisOrZero(absl::Time t) {
  return t == absl::InfinitePast() || t == absl::InfiniteFuture()
             ? 0
             : absl::ToUnixMillis(t);
}

}  // namespace

absl::StatusOr<std::unique_ptr<NodeBackups>> NodeBackups::Start(
    Store* store, const NodeBackupOptions& options) {
  if (options.keep < 1) {
    return absl::InvalidArgumentError(
        "--backup_keep: keep at least one backup");
  }
  if (options.interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--backup_interval: a duration such as 24h, or 0 for no schedule");
  }
  if (options.interval > absl::ZeroDuration() &&
      options.interval < absl::Minutes(1)) {
    return absl::InvalidArgumentError(
        "--backup_interval: at least 1m (or 0 for no schedule)");
  }
  ASSIGN_OR_RETURN(std::unique_ptr<BackupArchive> archive,
                   BackupArchive::Open(options.archive));
  ASSIGN_OR_RETURN(std::vector<BackupInfo> listed, archive->List());
  for (const BackupInfo& b : listed) {
    if (!b.node_id.empty() && b.node_id != store->node_id()) {
      return absl::FailedPreconditionError(
          absl::StrCat("--backup_dir ", options.archive.dir,
                       " holds backups of node ", b.node_id, ", not of ",
                       store->node_id(), ": give each node its own"));
    }
  }
  std::unique_ptr<NodeBackups> backups(
      new NodeBackups(store, options, std::move(archive)));
  {
    absl::MutexLock lock(&backups->mu_);
    backups->listed_ = std::move(listed);
    if (options.interval > absl::ZeroDuration()) {
      backups->next_scheduled_ = backups->NextAfter(backups->listed_);
    }
  }
  LogInfo(kLog,
          absl::StrCat(
              "backups in ", options.archive.dir, ": ",
              backups->List().backups.size(), " held, keeping ", options.keep,
              options.interval > absl::ZeroDuration()
                  ? absl::StrCat(", one every ",
                                 absl::FormatDuration(options.interval))
                  : std::string(", no schedule")));
  if (options.interval > absl::ZeroDuration()) {
    backups->schedule_ =
        std::thread([b = backups.get()] { b->ScheduleLoop(); });
  }
  return backups;
}

NodeBackups::NodeBackups(Store* store, NodeBackupOptions options,
                         std::unique_ptr<BackupArchive> archive)
    : store_(store),
      options_(std::move(options)),
      archive_(std::move(archive)),
      started_(absl::Now()) {}

void NodeBackups::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  archive_->Cancel();
  if (schedule_.joinable()) schedule_.join();
}

// A Create running on an RPC thread returns once cancelled; the server has
// ended those calls before this goes.
NodeBackups::~NodeBackups() { Stop(); }

absl::Time NodeBackups::NextAfter(
    const std::vector<BackupInfo>& backups) const {
  const absl::Time earliest = started_ + options_.start_delay;
  if (backups.empty()) return std::max(earliest, absl::Now());
  const absl::Time due =
      absl::FromUnixMillis(backups.back().created_ms) + options_.interval;
  return std::max(due, earliest);
}

void NodeBackups::ScheduleLoop() {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      auto due = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || absl::Now() >= next_scheduled_;
      };
      while (!due()) {
        mu_.AwaitWithDeadline(
            absl::Condition(&stopping_),
            std::min(next_scheduled_, absl::Now() + absl::Seconds(1)));
      }
      if (stopping_) return;
    }
    absl::StatusOr<BackupInfo> made = Create("schedule");
    absl::MutexLock lock(&mu_);
    if (!made.ok()) {
      // Retried after a tenth of the interval (at least a minute): a full
      // disk or a busy moment should not wait a whole day.
      next_scheduled_ =
          absl::Now() + std::max(options_.interval / 10, absl::Minutes(1));
    } else {
      next_scheduled_ = NextAfter(listed_);
    }
  }
}

absl::StatusOr<BackupInfo> NodeBackups::Create(const std::string& trigger) {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      return absl::UnavailableError("the node is shutting down");
    }
    if (running_since_ != absl::InfinitePast()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "a backup is already running (started by ", running_trigger_, " at ",
          absl::FormatTime(running_since_, absl::UTCTimeZone()),
          "); try again when it is done"));
    }
    running_trigger_ = trigger;
    running_since_ = absl::Now();
  }
  LogInfo(kLog, absl::StrCat("backup started by ", trigger, " into ",
                             archive_->dir()));
  const absl::Time began = absl::Now();
  absl::StatusOr<BackupInfo> made = archive_->Create(*store_, trigger);
  absl::StatusOr<int> purged = 0;
  if (made.ok()) purged = archive_->Purge(options_.keep);
  absl::StatusOr<std::vector<BackupInfo>> listed = archive_->List();

  absl::MutexLock lock(&mu_);
  running_trigger_.clear();
  running_since_ = absl::InfinitePast();
  if (listed.ok()) listed_ = std::move(*listed);
  absl::Status failure = !made.ok() ? made.status() : purged.status();
  if (!failure.ok()) {
    ++failed_;
    last_error_ = failure.ToString();
    last_error_at_ = absl::Now();
    LogError(kLog, absl::StrCat("backup started by ", trigger,
                                " failed: ", last_error_));
    return failure;
  }
  ++created_;
  last_error_.clear();
  last_error_at_ = absl::InfinitePast();
  LogInfo(kLog, absl::StrCat("backup ", made->id, " done in ",
                             absl::FormatDuration(absl::Now() - began), ": ",
                             made->files, " files, ", made->size_bytes,
                             " bytes, log ", made->log_end, "; ", *purged,
                             " old backups deleted"));
  return made;
}

BackupListing NodeBackups::List() {
  absl::MutexLock lock(&mu_);
  BackupListing out;
  out.dir = archive_->dir();
  out.backups = listed_;
  out.running_trigger = running_trigger_;
  out.running_since_ms = MillisOrZero(running_since_);
  out.next_scheduled_ms = MillisOrZero(next_scheduled_);
  out.last_error = last_error_;
  out.last_error_ms = MillisOrZero(last_error_at_);
  return out;
}

absl::StatusOr<BackupInfo> NodeBackups::Verify(uint32_t id) {
  {
    absl::MutexLock lock(&mu_);
    if (running_since_ != absl::InfinitePast()) {
      return absl::UnavailableError(
          "a backup is running; verify when it is done");
    }
  }
  absl::StatusOr<BackupInfo> verified = archive_->Verify(id);
  if (verified.ok()) {
    LogInfo(kLog, absl::StrCat("backup ", id, " verified"));
  } else if (absl::IsDataLoss(verified.status())) {
    LogError(kLog, verified.status().message());
  }
  return verified;
}

std::string NodeBackups::MetricsText() {
  absl::MutexLock lock(&mu_);
  const BackupInfo* newest = listed_.empty() ? nullptr : &listed_.back();
  std::string out;
  absl::StrAppend(
      &out,
      "# HELP unionsync_backups Backups held in the backup directory.\n"
      "# TYPE unionsync_backups gauge\n"
      "unionsync_backups ",
      listed_.size(),
      "\n"
      "# HELP unionsync_backup_newest_timestamp_seconds When the newest "
      "backup was taken (0: none).\n"
      "# TYPE unionsync_backup_newest_timestamp_seconds gauge\n"
      "unionsync_backup_newest_timestamp_seconds ",
      newest != nullptr ? newest->created_ms / 1000 : 0,
      "\n"
      "# HELP unionsync_backup_newest_bytes Size of the newest backup.\n"
      "# TYPE unionsync_backup_newest_bytes gauge\n"
      "unionsync_backup_newest_bytes ",
      newest != nullptr ? newest->size_bytes : 0,
      "\n"
      "# HELP unionsync_backup_runs_total Backups attempted since start, by "
      "outcome.\n"
      "# TYPE unionsync_backup_runs_total counter\n"
      "unionsync_backup_runs_total{outcome=\"ok\"} ",
      created_, "\nunionsync_backup_runs_total{outcome=\"failed\"} ", failed_,
      "\n"
      "# HELP unionsync_backup_running 1 while a backup runs.\n"
      "# TYPE unionsync_backup_running gauge\n"
      "unionsync_backup_running ",
      running_since_ != absl::InfinitePast() ? 1 : 0, "\n");
  return out;
}

}  // namespace unionsync
