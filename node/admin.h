// The Admin API's domain logic: authentication, the scope rules of R10/R11,
// validation, and the WriteSets each operation commits. Transport-free:
// node/admin_service.cc only translates gRPC to these calls and absl::Status to
// grpc::Status.
//
// Scope rules (docs/DESIGN.md, "Who may do what"):
//   - Every call but Login needs a live session; a session whose password is
//   initial or reset
//     may only ChangePassword, Logout and WhoAmI (R3).
//   - Organisations: read inside the caller's subtree; register children of the
//   caller's own
//     organisation (R2); update only the caller's own profile (R3). Data
//     administrators only for writes.
//   - Accounts: a data administrator creates viewers of its own organisation
//   and accounts of
//     descendants, and disables / enables / resets accounts of descendants and
//     its own viewers (R10.3), never its own account.
//   - Members: only the data administrator of the member's own organisation
//   reads or writes
//     them (R4, R10.2).
// Every refusal is PERMISSION_DENIED and audited; every member read is audited
// (R10.4).
//
// Thread-safe.
#ifndef UNIONSYNC_NODE_ADMIN_H_
#define UNIONSYNC_NODE_ADMIN_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/password.h"
#include "monitor/monitor.h"
#include "node/audit_throttle.h"
#include "node/sessions.h"
#include "store/store.h"
#include "unionsync/v1/admin.pb.h"

namespace unionsync {

class NodeBackups;

// What the Admin layer asks of the node's replication (implemented by
// NodeServer).
class ReplicationControl {
 public:
  virtual ~ReplicationControl() = default;
  virtual v1::GetReplicationStatusResponse ReplicationStatus() = 0;
  virtual absl::Status ForceResync(const std::string& child_id) = 0;
  // Waits until the parent node holds this node's audit chain up to
  // `audit_seq` (the uplink reports the head and the parent acknowledges
  // it). OK at once for a node without a parent; UNAVAILABLE when the parent
  // cannot confirm within a few seconds (link down, parent unreachable).
  virtual absl::Status ConfirmAuditHeld(uint64_t audit_seq) = 0;
};

// Who is calling: the bearer token from the request metadata and the network
// peer.
struct CallContext {
  std::string token;
  std::string peer;
};

struct AdminOptions {
  ScryptParams scrypt;
  int max_failed_logins = 5;
  int64_t lockout_ms = 15 * 60 * 1000;
  SessionOptions sessions;
  // The industry systems a child may be given (code, Chinese name): the
  // campaign's system areas. Empty: any well-formed code.
  std::vector<std::pair<std::string, std::string>> systems;
};

class Admin final : public Authenticator {
 public:
  Admin(Store* store, const Clock* clock, AdminOptions options = {});

  // Authenticator, for the Monitor API and the dashboard: the session checks
  // and audit of the Admin API.
  absl::StatusOr<Viewer> Authenticate(const RequestContext& ctx,
                                      absl::string_view action) override;
  absl::Status Deny(const Viewer& viewer, const RequestContext& ctx,
                    absl::string_view action, absl::string_view target,
                    absl::string_view reason) override;
  absl::Status AuditRead(const Viewer& viewer, const RequestContext& ctx,
                         absl::string_view action,
                         absl::string_view target) override;

  absl::StatusOr<v1::LoginResponse> Login(const CallContext& ctx,
                                          const v1::LoginRequest& req);
  absl::StatusOr<v1::LogoutResponse> Logout(const CallContext& ctx);
  absl::StatusOr<v1::ChangePasswordResponse> ChangePassword(
      const CallContext& ctx, const v1::ChangePasswordRequest& req);
  absl::StatusOr<v1::WhoAmIResponse> WhoAmI(const CallContext& ctx);
  absl::StatusOr<v1::CheckNewPasswordResponse> CheckNewPassword(
      const CallContext& ctx, const v1::CheckNewPasswordRequest& req);

  absl::StatusOr<v1::CreateChildOrgResponse> CreateChildOrg(
      const CallContext& ctx, const v1::CreateChildOrgRequest& req);
  absl::StatusOr<v1::GetOrgResponse> GetOrg(const CallContext& ctx,
                                            const v1::GetOrgRequest& req);
  absl::StatusOr<v1::ListChildOrgsResponse> ListChildOrgs(
      const CallContext& ctx, const v1::ListChildOrgsRequest& req);
  absl::StatusOr<v1::UpdateOrgProfileResponse> UpdateOrgProfile(
      const CallContext& ctx, const v1::UpdateOrgProfileRequest& req);
  absl::StatusOr<v1::CorrectOrgRegistrationResponse> CorrectOrgRegistration(
      const CallContext& ctx, const v1::CorrectOrgRegistrationRequest& req);
  absl::StatusOr<v1::DissolveOrgResponse> DissolveOrg(
      const CallContext& ctx, const v1::DissolveOrgRequest& req);
  absl::StatusOr<v1::RecordTrainingResponse> RecordTraining(
      const CallContext& ctx, const v1::RecordTrainingRequest& req);
  absl::StatusOr<v1::SetChildTargetResponse> SetChildTarget(
      const CallContext& ctx, const v1::SetChildTargetRequest& req);

  absl::StatusOr<v1::CreateAccountResponse> CreateAccount(
      const CallContext& ctx, const v1::CreateAccountRequest& req);
  absl::StatusOr<v1::ListAccountsResponse> ListAccounts(
      const CallContext& ctx, const v1::ListAccountsRequest& req);
  absl::StatusOr<v1::DisableAccountResponse> DisableAccount(
      const CallContext& ctx, const v1::DisableAccountRequest& req);
  absl::StatusOr<v1::EnableAccountResponse> EnableAccount(
      const CallContext& ctx, const v1::EnableAccountRequest& req);
  absl::StatusOr<v1::ResetPasswordResponse> ResetPassword(
      const CallContext& ctx, const v1::ResetPasswordRequest& req);

  absl::StatusOr<v1::AddMemberResponse> AddMember(
      const CallContext& ctx, const v1::AddMemberRequest& req);
  absl::StatusOr<v1::UpdateMemberResponse> UpdateMember(
      const CallContext& ctx, const v1::UpdateMemberRequest& req);
  absl::StatusOr<v1::TransferMemberResponse> TransferMember(
      const CallContext& ctx, const v1::TransferMemberRequest& req);
  absl::StatusOr<v1::RemoveMemberResponse> RemoveMember(
      const CallContext& ctx, const v1::RemoveMemberRequest& req);
  absl::StatusOr<v1::GetMemberResponse> GetMember(
      const CallContext& ctx, const v1::GetMemberRequest& req);
  absl::StatusOr<v1::ListMembersResponse> ListMembers(
      const CallContext& ctx, const v1::ListMembersRequest& req);

  absl::StatusOr<v1::GetSubtreeSummaryResponse> GetSubtreeSummary(
      const CallContext& ctx, const v1::GetSubtreeSummaryRequest& req);

  // Operators: the data administrator of the node's own organisation.
  absl::StatusOr<v1::GetReplicationStatusResponse> GetReplicationStatus(
      const CallContext& ctx, const v1::GetReplicationStatusRequest& req);
  absl::StatusOr<v1::ForceResyncResponse> ForceResync(
      const CallContext& ctx, const v1::ForceResyncRequest& req);

  // The node's audit log (R10.4): verification for operators; search for
  // operators (everything) and for data administrators of organisations held
  // here (entries whose actor or target organisation is one organisation of
  // their subtree, their own by default). Both are audited.
  absl::StatusOr<v1::VerifyAuditResponse> VerifyAudit(
      const CallContext& ctx, const v1::VerifyAuditRequest& req);
  absl::StatusOr<v1::SearchAuditResponse> SearchAudit(
      const CallContext& ctx, const v1::SearchAuditRequest& req);
  // The node's backups (node/admin_backup.cc), for operators. FAILED_
  // PRECONDITION when the node has no backup directory.
  absl::StatusOr<v1::CreateBackupResponse> CreateBackup(
      const CallContext& ctx, const v1::CreateBackupRequest& req);
  absl::StatusOr<v1::ListBackupsResponse> ListBackups(
      const CallContext& ctx, const v1::ListBackupsRequest& req);
  absl::StatusOr<v1::VerifyBackupResponse> VerifyBackup(
      const CallContext& ctx, const v1::VerifyBackupRequest& req);
  // Not owned; may be null (no backup directory).
  void SetBackups(NodeBackups* backups) { backups_ = backups; }

  // Not owned; may be null (no replication configured).
  void SetReplicationControl(ReplicationControl* control) {
    replication_ = control;
  }

  // Creates the node's own root organisation and its first data administrator
  // when the store is empty (first start of a node with no parent, e.g. the
  // city hub). Returns the initial password, or ALREADY_EXISTS when the
  // organisation is there.
  absl::StatusOr<std::string> Bootstrap(const v1::Org& org,
                                        const std::string& admin_username);

  SessionManager& sessions() { return sessions_; }

  // Writes the summaries of failed logins that were counted rather than
  // audited one by one (node/audit_throttle.h): those of intervals that are
  // over, or all with `everything` (at shutdown). Called periodically.
  absl::Status FlushSuppressedAudit(bool everything = false);

 private:
  struct Caller;
  absl::StatusOr<Caller> Authenticate(const CallContext& ctx,
                                      absl::string_view action,
                                      bool allow_must_change = false);
  // Audits a refusal and returns PERMISSION_DENIED with `reason`.
  absl::Status Deny(const Caller& caller, absl::string_view action,
                    absl::string_view target, absl::string_view reason);
  // Audits a failed request (bad input or state) and returns `status`
  // unchanged.
  absl::Status Fail(const Caller& caller, absl::string_view action,
                    absl::string_view target, absl::Status status);
  absl::Status RequireAdmin(const Caller& caller, absl::string_view action,
                            absl::string_view target);
  // PERMISSION_DENIED (audited, with `reason`) unless the caller is the data
  // administrator of `org_id` itself.
  absl::Status RequireOwnOrgAdmin(const Caller& caller,
                                  absl::string_view action,
                                  const std::string& org_id,
                                  absl::string_view reason);
  // PERMISSION_DENIED (audited) unless `org_id` is the caller's organisation or
  // lies below it.
  absl::Status RequireInSubtree(const Caller& caller, absl::string_view action,
                                const std::string& org_id);
  // The caller's member, or PERMISSION_DENIED (audited) when it belongs to
  // another union.
  absl::StatusOr<v1::Member> OwnMember(const Caller& caller,
                                       absl::string_view action,
                                       const std::string& member_id);
  absl::StatusOr<v1::Org> HostedOrg(const std::string& org_id);
  // OK for "" and for a system of options_.systems (any, when empty);
  // INVALID_ARGUMENT listing them otherwise.
  absl::Status CheckListedSystem(absl::string_view system) const;
  // For the parent's lifecycle operations (node/admin_registration.cc): the
  // active child `org_id` of the caller's own organisation and that parent.
  // A child running its own node is refused unless `own_node_ok` (a change
  // of its registration alone goes down to its node). Denials and failures
  // are audited under `action`.
  struct ChildAndParent {
    v1::Org child;
    v1::Org parent;
  };
  absl::StatusOr<ChildAndParent> HostedChild(const Caller& caller,
                                             absl::string_view action,
                                             const std::string& org_id,
                                             bool own_node_ok);
  // OK when `org` is hosted on this node or on a node below it (a change
  // written here reaches its host); FAILED_PRECONDITION naming the host
  // otherwise.
  absl::Status HostedHereOrBelow(const v1::Org& org) const;
  v1::AuditEntry AuditOf(const Caller& caller, absl::string_view action,
                         absl::string_view target, v1::AuditOutcome outcome,
                         absl::string_view detail = "") const;
  absl::Status AuditOnly(v1::AuditEntry entry);
  // A fresh initial password and its hash.
  absl::StatusOr<std::pair<std::string, std::string>> NewInitialPassword();
  absl::Status RequireOperator(
      const Caller& caller, absl::string_view action,
      absl::string_view reason =
          "replication is operated by the operators and the data administrator of the node's "
          "own organisation");
  // The organisation an audit target ("org/…", "member/…", "account/…",
  // "node/…") belongs to, "" when unknown.
  std::string TargetOrgOf(absl::string_view target) const;
  absl::StatusOr<v1::Account> ManageableAccount(const Caller& caller,
                                                absl::string_view action,
                                                const std::string& username);

  Store* store_;
  const Clock* clock_;
  const AdminOptions options_;
  SessionManager sessions_;
  // Serialises the parent's read-modify-writes of a child's registration
  // (node/admin_registration.cc), so that two of them never lose one another.
  absl::Mutex registration_mu_;
  // Serialises the read-modify-writes of an organisation's own profile
  // (UpdateOrgProfile, SetChildTarget).
  absl::Mutex profile_mu_;
  // Verified against when the account is unknown (equal timing).
  std::string dummy_hash_;
  ReplicationControl* replication_ = nullptr;  // Not owned; may be null.
  NodeBackups* backups_ = nullptr;             // Not owned; may be null.
  // Failed logins per source: the first few a minute are audited one by one,
  // the rest summarised.
  AuditThrottle login_audit_;
};

}  // namespace unionsync

#endif  // UNIONSYNC_NODE_ADMIN_H_
