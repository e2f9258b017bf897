// Admin API: the node's backups (node/backups.h), for its operators.
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "node/admin.h"
#include "node/admin_internal.h"
#include "node/backups.h"

namespace unionsync {

using namespace admin_internal;  // NOLINT: this layer's own helpers.

namespace {

constexpr absl::string_view kBackupReason =
    "backups are taken and checked by the node's operators and the data "
    "administrator of its own organisation";

absl::Status NoBackupDir() {
  return absl::FailedPreconditionError(
      "this node has no backup directory: start it with --backup_dir "
      "(docs/OPERATIONS.md, \"Backups\")");
}

}  // namespace

absl::StatusOr<v1::CreateBackupResponse> Admin::CreateBackup(
    const CallContext& ctx, const v1::CreateBackupRequest&) {
  constexpr absl::string_view kAction = "CreateBackup";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  RETURN_IF_ERROR(RequireOperator(caller, kAction, kBackupReason));
  const std::string target = absl::StrCat("node/", store_->node_id());
  if (backups_ == nullptr) return Fail(caller, kAction, target, NoBackupDir());
  absl::StatusOr<BackupInfo> made = backups_->Create(caller.session.username);
  if (!made.ok()) return Fail(caller, kAction, target, made.status());
  RETURN_IF_ERROR(AuditOnly(
      AuditOf(caller, kAction, target, v1::AUDIT_OK,
              absl::StrCat("backup ", made->id, ": ", made->files, " files, ",
                           made->size_bytes, " bytes, log ", made->log_end))));
  v1::CreateBackupResponse resp;
  ToProto(*made, resp.mutable_backup());
  return resp;
}

absl::StatusOr<v1::ListBackupsResponse> Admin::ListBackups(
    const CallContext& ctx, const v1::ListBackupsRequest&) {
  constexpr absl::string_view kAction = "ListBackups";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  RETURN_IF_ERROR(RequireOperator(caller, kAction, kBackupReason));
  if (backups_ == nullptr) {
    return Fail(caller, kAction, absl::StrCat("node/", store_->node_id()),
                NoBackupDir());
  }
  const BackupListing listing = backups_->List();
  v1::ListBackupsResponse resp;
  resp.set_backup_dir(listing.dir);
  for (const BackupInfo& b : listing.backups) ToProto(b, resp.add_backups());
  resp.set_running_trigger(listing.running_trigger);
  resp.set_running_since_ms(listing.running_since_ms);
  resp.set_next_scheduled_ms(listing.next_scheduled_ms);
  resp.set_last_error(listing.last_error);
  resp.set_last_error_ms(listing.last_error_ms);
  return resp;
}

absl::StatusOr<v1::VerifyBackupResponse> Admin::VerifyBackup(
    const CallContext& ctx, const v1::VerifyBackupRequest& req) {
  constexpr absl::string_view kAction = "VerifyBackup";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  RETURN_IF_ERROR(RequireOperator(caller, kAction, kBackupReason));
  const std::string target = absl::StrCat("backup/", req.backup_id());
  if (backups_ == nullptr) return Fail(caller, kAction, target, NoBackupDir());
  if (req.backup_id() == 0) {
    return Fail(caller, kAction, target,
                absl::InvalidArgumentError(
                    "backup_id: a backup's id from ListBackups"));
  }
  absl::StatusOr<BackupInfo> verified = backups_->Verify(req.backup_id());
  if (!verified.ok()) return Fail(caller, kAction, target, verified.status());
  RETURN_IF_ERROR(
      AuditOnly(AuditOf(caller, kAction, target, v1::AUDIT_OK, "intact")));
  v1::VerifyBackupResponse resp;
  ToProto(*verified, resp.mutable_backup());
  return resp;
}

}  // namespace unionsync
