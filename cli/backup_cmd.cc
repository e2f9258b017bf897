#include "cli/backup_cmd.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cmath>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/format.h"
#include "cli/unionctl.h"
#include "common/status_macros.h"
#include "store/backup.h"
#include "unionsync/v1/admin.grpc.pb.h"
#include "unionsync/v1/admin.pb.h"

namespace unionsync::cli {
namespace {

absl::Status FromGrpc(const grpc::Status& s) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      s.error_message());
}

FlagSpec DirFlag(bool required, std::string help) {
  return FlagSpec{"backup_dir", FlagType::kValue, "DIR", std::move(help),
                  required};
}

std::string Bytes(uint64_t n) {
  if (n < 1024) return absl::StrCat(n, " B");
  if (n < (1u << 20)) return absl::StrFormat("%.1f KiB", n / 1024.0);
  if (n < (1u << 30)) return absl::StrFormat("%.1f MiB", n / 1048576.0);
  return absl::StrFormat("%.2f GiB", n / 1073741824.0);
}

absl::StatusOr<uint32_t> ParseId(const std::string& text, const char* what) {
  uint32_t id = 0;
  if (!absl::SimpleAtoi(text, &id) || id == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": a backup id, a number from `unionctl backup list`"));
  }
  return id;
}

absl::StatusOr<std::unique_ptr<BackupArchive>> OpenOffline(
    const std::string& dir) {
  BackupArchiveOptions options;
  options.dir = dir;
  options.read_only = true;
  return BackupArchive::Open(options);
}

}  // namespace

VerbSpec BackupCreateVerbSpec() {
  return VerbSpec{
      "backup create",
      "Take a backup of this node's store now, while it serves.",
      {},
      {},
      "The node copies a consistent image of its store into its backup "
      "directory\n(unionsync-node --backup_dir) and then deletes all but "
      "the newest --backup_keep\nbackups. Files shared with earlier backups "
      "are not copied again. One backup runs at\na time. The key file is "
      "not in the backup: keep a copy of it apart (docs/KEYS.md).\nOnly the "
      "node's operators and the data administrator of its own organisation "
      "may ask.",
      {"unionctl backup create"}};
}

VerbSpec BackupListVerbSpec() {
  return VerbSpec{
      "backup list",
      "List the node's backups, and the schedule and last failure.",
      {},
      {DirFlag(false,
               "Read this backup directory directly instead of asking the "
               "node (a node that is down)")},
      "Columns: ID, when it was taken (UTC+8), size, files, the node's log "
      "position it holds\n(at least), who asked for it (\"schedule\" or a "
      "username).",
      {"unionctl backup list",
       "unionctl backup list --backup_dir /var/backups/unionsync/430102"}};
}

VerbSpec BackupVerifyVerbSpec() {
  return VerbSpec{
      "backup verify",
      "Re-read every file of a backup and check it against its checksum.",
      {{"ID", "The backup's id (`unionctl backup list`)"}},
      {DirFlag(false,
               "Read this backup directory directly instead of asking the "
               "node")},
      "A damaged backup is named with the file that is wrong; the exit "
      "status is then 1.",
      {"unionctl backup verify 3",
       "unionctl backup verify 3 --backup_dir /var/backups/unionsync/430102"}};
}

VerbSpec BackupRestoreVerbSpec() {
  return VerbSpec{
      "backup restore",
      "Restore a backup into a new data directory (the node stopped).",
      {},
      {DirFlag(true, "The backup directory"),
       FlagSpec{"data_dir", FlagType::kValue, "DIR",
                "Where the store goes: a directory that does not exist or is "
                "empty",
                true},
       FlagSpec{"backup_id", FlagType::kValue, "ID",
                "Which backup (default: the newest)", false}},
      "Works on the files, not through a node: stop the node first, restore "
      "into a new\ndirectory, then start the node with --data_dir set to it "
      "and its usual key file.\nThe backup is verified before anything is "
      "written. When the node reconnects, its\nparent notices the store went "
      "back in time; the node starts a new incarnation and\nwhat was written "
      "after the backup comes back from the parent (docs/OPERATIONS.md).",
      {"unionctl backup restore --backup_dir /var/backups/unionsync/430102 "
       "--data_dir /var/lib/unionsync/430102.restored"}};
}

std::string FormatBackup(absl::string_view what, const v1::BackupInfo& b) {
  return absl::StrCat(what, " ", b.backup_id(), ": taken ",
                      FormatTimeMs(b.created_ms()), " by ", b.trigger(), ", ",
                      b.files(), " files, ", Bytes(b.size_bytes()), ", node ",
                      b.node_id(), " log ", b.log_end(), "\n");
}

std::string FormatBackupList(const v1::ListBackupsResponse& r) {
  std::string out = absl::StrCat("backup directory ", r.backup_dir(), "\n");
  if (r.backups().empty()) {
    absl::StrAppend(&out, "no backups yet\n");
  } else {
    std::vector<std::vector<std::string>> rows = {
        {"ID", "TAKEN", "SIZE", "FILES", "LOG", "BY"}};
    for (const v1::BackupInfo& b : r.backups()) {
      rows.push_back({absl::StrCat(b.backup_id()), FormatTimeMs(b.created_ms()),
                      Bytes(b.size_bytes()), absl::StrCat(b.files()),
                      absl::StrCat(b.log_end()),
                      b.trigger().empty() ? "-" : b.trigger()});
    }
    absl::StrAppend(&out, FormatTable(rows, {0, 2, 3, 4}));
  }
  if (r.running_since_ms() > 0) {
    absl::StrAppend(&out, "a backup is running: started by ",
                    r.running_trigger(), " at ",
                    FormatTimeMs(r.running_since_ms()), "\n");
  }
  if (r.next_scheduled_ms() > 0) {
    absl::StrAppend(&out, "next scheduled backup: ",
                    FormatTimeMs(r.next_scheduled_ms()), "\n");
  }
  if (!r.last_error().empty()) {
    absl::StrAppend(&out, "LAST BACKUP FAILED at ",
                    FormatTimeMs(r.last_error_ms()), ": ", r.last_error(),
                    "\n");
  }
  return out;
}

absl::Status RunBackupVerb(const CommandLine& cl, const Io& io,
                           const BackupConnect& connect, bool* usage_error,
                           bool* rpc_error) {
  const VerbSpec spec = cl.verb == "backup create"   ? BackupCreateVerbSpec()
                        : cl.verb == "backup list"   ? BackupListVerbSpec()
                        : cl.verb == "backup verify" ? BackupVerifyVerbSpec()
                                                     : BackupRestoreVerbSpec();
  absl::StatusOr<ParsedArgs> args = ParseVerbArgs(spec, cl.args);
  absl::StatusOr<uint32_t> id = uint32_t{0};
  if (args.ok() && cl.verb == "backup verify") {
    id = ParseId(args->Positional(0), "ID");
  }
  if (args.ok() && args->Has("backup_id")) {
    id = ParseId(args->Get("backup_id"), "--backup_id");
  }
  for (const absl::Status& s : {args.status(), id.status()}) {
    if (!s.ok()) {
      *usage_error = true;
      return s;
    }
  }
  std::ostream& out = *io.out;
  auto emit = [&](const google::protobuf::Message& m, std::string text) {
    out << (cl.global.json ? FormatJson(m) : text);
  };
  const std::string dir = args->Get("backup_dir");

  // Offline: the directory itself.
  if (!dir.empty()) {
    ASSIGN_OR_RETURN(std::unique_ptr<BackupArchive> archive, OpenOffline(dir));
    if (cl.verb == "backup list") {
      ASSIGN_OR_RETURN(std::vector<BackupInfo> listed, archive->List());
      v1::ListBackupsResponse resp;
      resp.set_backup_dir(dir);
      for (const BackupInfo& b : listed) ToProto(b, resp.add_backups());
      emit(resp, FormatBackupList(resp));
      return absl::OkStatus();
    }
    const bool restore = cl.verb == "backup restore";
    absl::StatusOr<BackupInfo> done =
        restore ? archive->Restore(*id, args->Get("data_dir"))
                : archive->Verify(*id);
    if (!done.ok()) return done.status();
    v1::VerifyBackupResponse resp;
    ToProto(*done, resp.mutable_backup());
    emit(resp,
         restore ? absl::StrCat(FormatBackup("restored backup", resp.backup()),
                                "into ", args->Get("data_dir"),
                                "; start the node with --data_dir=",
                                args->Get("data_dir"), "\n")
                 : FormatBackup("intact: backup", resp.backup()));
    return absl::OkStatus();
  }

  // Online: ask the node.
  ASSIGN_OR_RETURN(BackupConnection conn, connect());
  auto call = [&](auto method, const auto& req, auto* resp) -> absl::Status {
    auto stub = v1::AdminService::NewStub(conn.channel);
    grpc::ClientContext ctx;
    // A backup of a large store takes a while: no shorter than 10 minutes.
    const double seconds = cl.verb == "backup list"
                               ? cl.global.timeout_seconds
                               : std::max(600.0, cl.global.timeout_seconds);
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::milliseconds(
                         static_cast<int64_t>(std::llround(seconds * 1000))));
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", conn.token));
    grpc::Status s = ((*stub).*method)(&ctx, req, resp);
    *rpc_error = !s.ok();
    return s.ok() ? absl::OkStatus() : FromGrpc(s);
  };
  if (cl.verb == "backup create") {
    v1::CreateBackupResponse resp;
    RETURN_IF_ERROR(call(&v1::AdminService::Stub::CreateBackup,
                         v1::CreateBackupRequest(), &resp));
    emit(resp, FormatBackup("took backup", resp.backup()));
    return absl::OkStatus();
  }
  if (cl.verb == "backup list") {
    v1::ListBackupsResponse resp;
    RETURN_IF_ERROR(call(&v1::AdminService::Stub::ListBackups,
                         v1::ListBackupsRequest(), &resp));
    emit(resp, FormatBackupList(resp));
    return absl::OkStatus();
  }
  v1::VerifyBackupRequest req;
  req.set_backup_id(*id);
  v1::VerifyBackupResponse resp;
  RETURN_IF_ERROR(call(&v1::AdminService::Stub::VerifyBackup, req, &resp));
  emit(resp, FormatBackup("intact: backup", resp.backup()));
  return absl::OkStatus();
}

}  // namespace unionsync::cli
