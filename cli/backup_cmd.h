// unionctl verbs of the node's backups (docs/OPERATIONS.md, "Backups"):
//   unionctl backup create                      (AdminService CreateBackup)
//   unionctl backup list [--backup_dir DIR]     (ListBackups, or offline)
//   unionctl backup verify ID [--backup_dir DIR] (VerifyBackup, or offline)
//   unionctl backup restore --backup_dir DIR --data_dir DIR [--backup_id ID]
// create, and list and verify without --backup_dir, ask the running node.
// With --backup_dir they read the directory directly (a node that is down,
// a copy on another machine), as restore always does: restore is offline,
// for a stopped node, into a directory that does not exist or is empty.
#ifndef UNIONSYNC_CLI_BACKUP_CMD_H_
#define UNIONSYNC_CLI_BACKUP_CMD_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cli/args.h"
#include "cli/parse.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace unionsync::v1 {
class ListBackupsResponse;
class BackupInfo;
}  // namespace unionsync::v1

namespace unionsync::cli {

struct Io;

VerbSpec BackupCreateVerbSpec();
VerbSpec BackupListVerbSpec();
VerbSpec BackupVerifyVerbSpec();
VerbSpec BackupRestoreVerbSpec();

std::string FormatBackupList(const v1::ListBackupsResponse& response);
std::string FormatBackup(absl::string_view what, const v1::BackupInfo& backup);

struct BackupConnection {
  std::shared_ptr<grpc::Channel> channel;
  std::string token;
};
using BackupConnect = std::function<absl::StatusOr<BackupConnection>()>;

// Runs `backup create|list|verify|restore` (cl.verb). Sets *usage_error for
// command-line errors and *rpc_error for failed calls. A damaged backup is
// reported as DATA_LOSS (exit 1).
absl::Status RunBackupVerb(const CommandLine& cl, const Io& io,
                           const BackupConnect& connect, bool* usage_error,
                           bool* rpc_error);

}  // namespace unionsync::cli

#endif  // UNIONSYNC_CLI_BACKUP_CMD_H_
