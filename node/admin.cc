#include "node/admin.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/crypto.h"
#include "common/org_rules.h"
#include "common/password_policy.h"
#include "common/status_macros.h"
#include "common/validation.h"
#include "node/admin_internal.h"
#include "node/policy.h"

namespace unionsync {
namespace admin_internal {

std::string OrgTarget(absl::string_view id) { return absl::StrCat("org/", id); }
std::string MemberTarget(absl::string_view id) {
  return absl::StrCat("member/", id);
}
std::string AccountTarget(absl::string_view u) {
  return absl::StrCat("account/", u);
}

v1::Account Redacted(v1::Account a) {
  a.clear_password_hash();
  return a;
}

absl::StatusOr<int> PageSize(int32_t requested) {
  if (requested == 0) return kDefaultPageSize;
  if (requested < 0 || requested > kMaxPageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: must be between 1 and ", kMaxPageSize,
                     ", got ", requested));
  }
  return requested;
}

absl::StatusOr<std::string> DecodePageToken(absl::string_view token) {
  if (token.empty()) return std::string();
  auto raw = Base64Decode(token);
  if (!raw.ok() || !ValidateIdentifier("page_token", *raw).ok()) {
    return absl::InvalidArgumentError(
        "page_token: not a token this server issued");
  }
  return *raw;
}

std::string LockoutKey(absl::string_view username) {
  return absl::StrCat("lockout/", username);
}

// The holder's own password changes add 1, so changes made on the holder's
// node that this node has not seen yet (say while the link was down) cannot
// outnumber the upper tier's decision and undo it when they arrive (R10.3).
int64_t AuthorityEpoch(int64_t epoch) {
  constexpr int64_t kStep = int64_t{1} << 20;
  return (epoch / kStep + 1) * kStep;
}

v1::Account NewAccount(const std::string& username, const std::string& org_id,
                       v1::Role role, const std::string& password_hash,
                       const std::string& author_org,
                       const std::string& display_name, int64_t now,
                       const std::string& creator) {
  v1::Account a;
  a.set_username(username);
  a.set_org_id(org_id);
  a.set_role(role);
  a.set_state(v1::CREDENTIAL_INITIAL);
  a.set_password_hash(password_hash);
  a.set_credential_epoch(1);
  a.set_credential_author_org(author_org);
  a.set_display_name(display_name);
  a.set_created_at_ms(now);
  a.set_updated_at_ms(now);
  a.set_created_by(creator);
  a.set_created_by_org(author_org);
  return a;
}

}  // namespace admin_internal

using namespace admin_internal;  // NOLINT: this layer's own helpers.

namespace {

struct Lockout {
  int failures = 0;
  int64_t locked_until_ms = 0;
};

Lockout ParseLockout(const std::optional<std::string>& raw) {
  Lockout l;
  if (!raw.has_value()) return l;
  std::pair<std::string, std::string> parts = absl::StrSplit(*raw, ':');
  if (!absl::SimpleAtoi(parts.first, &l.failures) ||
      !absl::SimpleAtoi(parts.second, &l.locked_until_ms)) {
    return Lockout();
  }
  return l;
}

}  // namespace

Admin::Admin(Store* store, const Clock* clock, AdminOptions options)
    : store_(store),
      clock_(clock),
      options_(options),
      sessions_(clock, options.sessions) {
  auto dummy = HashPassword("unionsync-dummy-password", options_.scrypt);
  if (dummy.ok()) dummy_hash_ = *dummy;
}

v1::AuditEntry Admin::AuditOf(const Caller& caller, absl::string_view action,
                              absl::string_view target,
                              v1::AuditOutcome outcome,
                              absl::string_view detail) const {
  v1::AuditEntry e;
  e.set_time_ms(clock_->NowMs());
  e.set_actor(caller.session.username);
  e.set_actor_org(caller.session.org_id);
  e.set_action(std::string(action));
  e.set_target(std::string(target));
  e.set_outcome(outcome);
  e.set_detail(std::string(detail.substr(0, 500)));
  e.set_peer(caller.peer);
  e.set_target_org(TargetOrgOf(target));
  return e;
}

std::string Admin::TargetOrgOf(absl::string_view target) const {
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(target, absl::MaxSplits('/', 1));
  if (parts.second.empty()) return "";
  if (parts.first == "org" || parts.first == "node") {
    return std::string(parts.second);
  }
  if (parts.first == "member") {
    auto m = store_->GetMember(parts.second);
    return m.ok() ? m->org_id() : "";
  }
  if (parts.first == "account") {
    auto a = store_->GetAccount(parts.second);
    return a.ok() ? a->org_id() : "";
  }
  return "";
}

absl::Status Admin::AuditOnly(v1::AuditEntry entry) {
  const std::string actor = entry.actor();
  WriteSet w;
  w.Audit(std::move(entry));
  return store_->Commit(w, actor).status();
}

absl::Status Admin::Deny(const Caller& caller, absl::string_view action,
                         absl::string_view target, absl::string_view reason) {
  RETURN_IF_ERROR(
      AuditOnly(AuditOf(caller, action, target, v1::AUDIT_DENIED, reason)));
  return absl::PermissionDeniedError(reason);
}

absl::Status Admin::Fail(const Caller& caller, absl::string_view action,
                         absl::string_view target, absl::Status status) {
  // Failing to audit is itself an error worth surfacing over the original one.
  RETURN_IF_ERROR(AuditOnly(
      AuditOf(caller, action, target, v1::AUDIT_FAILED, status.ToString())));
  return status;
}

absl::StatusOr<Admin::Caller> Admin::Authenticate(const CallContext& ctx,
                                                  absl::string_view action,
                                                  bool allow_must_change) {
  if (ctx.token.empty()) {
    return absl::UnauthenticatedError(
        "missing session: send 'authorization: Bearer <token>' from Login");
  }
  if (ctx.token.size() > 128)
    return absl::UnauthenticatedError("malformed session token");
  ASSIGN_OR_RETURN(Session session, sessions_.Lookup(ctx.token));
  auto account = store_->GetAccount(session.username);
  if (!account.ok() || account->state() == v1::CREDENTIAL_DISABLED ||
      account->credential_epoch() != session.credential_epoch) {
    sessions_.Revoke(ctx.token);
    return absl::UnauthenticatedError(
        "session ended: the account's credentials were changed, reset or "
        "disabled");
  }
  // Accounts log in and work only at the node hosting their organisation, so
  // lockout and revocation hold there and nowhere else can hand out their
  // data (docs/SECURITY.md); an organisation moved away ends its sessions.
  if (auto org = store_->GetOrg(account->org_id());
      !org.ok() || org->host_node() != store_->node_id()) {
    sessions_.Revoke(ctx.token);
    return absl::UnauthenticatedError(
        "session ended: the account's organisation is no longer served by "
        "this node");
  }
  Caller caller{std::move(session), ctx.token, ctx.peer};
  if (!RoleMay(action, caller.session.role)) {
    const ActionPolicy* policy = FindActionPolicy(action);
    return Deny(caller, action, "",
                policy == nullptr
                    ? absl::StrCat("no role may call ", action)
                    : absl::StrCat(RoleText(caller.session.role),
                                   " may not call ", action, " (allowed: ",
                                   RoleSetText(policy->roles), ")"));
  }
  if (caller.session.must_change_password && !allow_must_change) {
    return Deny(
        caller, action, "",
        "the initial password must be changed first (call ChangePassword)");
  }
  return caller;
}

absl::StatusOr<Viewer> Admin::Authenticate(const RequestContext& ctx,
                                           absl::string_view action) {
  ASSIGN_OR_RETURN(Caller caller,
                   Authenticate(CallContext{ctx.token, ctx.peer}, action));
  return Viewer{caller.session.username, caller.session.org_id,
                caller.session.role};
}

namespace {
// What the audit needs of a monitor caller.
Session SessionOf(const Viewer& viewer) {
  Session s;
  s.username = viewer.username;
  s.org_id = viewer.org_id;
  s.role = viewer.role;
  return s;
}
}  // namespace

absl::Status Admin::Deny(const Viewer& viewer, const RequestContext& ctx,
                         absl::string_view action, absl::string_view target,
                         absl::string_view reason) {
  return Deny(Caller{SessionOf(viewer), ctx.token, ctx.peer}, action, target,
              reason);
}

absl::Status Admin::AuditRead(const Viewer& viewer, const RequestContext& ctx,
                              absl::string_view action,
                              absl::string_view target) {
  return AuditOnly(AuditOf(Caller{SessionOf(viewer), ctx.token, ctx.peer},
                           action, target, v1::AUDIT_OK));
}

absl::Status Admin::RequireAdmin(const Caller& caller, absl::string_view action,
                                 absl::string_view target) {
  if (caller.session.role != v1::DATA_ADMIN) {
    return Deny(caller, action, target,
                "only the data administrator may do this");
  }
  return absl::OkStatus();
}

absl::Status Admin::RequireOwnOrgAdmin(const Caller& caller,
                                       absl::string_view action,
                                       const std::string& org_id,
                                       absl::string_view reason) {
  RETURN_IF_ERROR(RequireAdmin(caller, action, OrgTarget(org_id)));
  if (org_id != caller.session.org_id) {
    return Deny(caller, action, OrgTarget(org_id), reason);
  }
  return absl::OkStatus();
}

absl::Status Admin::RequireInSubtree(const Caller& caller,
                                     absl::string_view action,
                                     const std::string& org_id) {
  if (org_id.empty()) {
    return Fail(caller, action, "",
                absl::InvalidArgumentError("org_id: required"));
  }
  if (auto s = ValidateIdentifier("org_id", org_id); !s.ok()) {
    return Fail(caller, action, "", s);
  }
  ASSIGN_OR_RETURN(bool inside,
                   store_->IsInSubtree(org_id, caller.session.org_id));
  if (!inside) {
    return Deny(caller, action, OrgTarget(org_id),
                absl::StrCat("organisation '", org_id,
                             "' is outside your organisation's subtree"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Org> Admin::HostedOrg(const std::string& org_id) {
  ASSIGN_OR_RETURN(v1::Org org, store_->GetOrg(org_id));
  if (org.host_node() != store_->node_id()) {
    return absl::FailedPreconditionError(
        absl::StrCat("organisation '", org_id, "' is hosted on node '",
                     org.host_node(), "'; make this change there"));
  }
  return org;
}

absl::StatusOr<std::pair<std::string, std::string>>
Admin::NewInitialPassword() {
  ASSIGN_OR_RETURN(std::string password, GenerateInitialPassword());
  ASSIGN_OR_RETURN(std::string hash, HashPassword(password, options_.scrypt));
  return std::make_pair(std::move(password), std::move(hash));
}

// ---------------------------------------------------------------------------------------------
// Sessions

absl::StatusOr<v1::LoginResponse> Admin::Login(const CallContext& ctx,
                                               const v1::LoginRequest& req) {
  RETURN_IF_ERROR(ValidateUsername("username", req.username()));
  if (req.password().empty() || req.password().size() > kMaxPasswordBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("password: must be 1 to ", kMaxPasswordBytes, " bytes"));
  }
  Caller anonymous{Session{req.username(), "", v1::ROLE_UNSPECIFIED}, "",
                   ctx.peer};
  const int64_t now = clock_->NowMs();
  ASSIGN_OR_RETURN(std::optional<std::string> raw_lock,
                   store_->GetLocal(LockoutKey(req.username())));
  Lockout lock = ParseLockout(raw_lock);
  RETURN_IF_ERROR(FlushSuppressedAudit());
  if (lock.locked_until_ms > now) {
    if (login_audit_.Admit("Login", ctx.peer, now)) {
      RETURN_IF_ERROR(
          AuditOnly(AuditOf(anonymous, "Login", AccountTarget(req.username()),
                            v1::AUDIT_DENIED, "account locked")));
    }
    return absl::ResourceExhaustedError(absl::StrCat(
        "too many failed logins: the account is locked for another ",
        (lock.locked_until_ms - now + 59'999) / 60'000, " minute(s)"));
  }
  auto account = store_->GetAccount(req.username());
  bool ok = false;
  if (account.ok()) {
    ASSIGN_OR_RETURN(ok,
                     VerifyPassword(req.password(), account->password_hash()));
  } else {
    // Spend the same time as a real check so response time does not reveal
    // usernames.
    if (!dummy_hash_.empty()) (void)VerifyPassword(req.password(), dummy_hash_);
  }
  if (!ok) {
    WriteSet w;
    if (account.ok()) {
      lock.failures += 1;
      if (lock.failures >= options_.max_failed_logins) {
        lock.locked_until_ms = now + options_.lockout_ms;
        lock.failures = 0;
      }
      w.PutLocal(LockoutKey(req.username()),
                 absl::StrCat(lock.failures, ":", lock.locked_until_ms));
    }
    if (login_audit_.Admit("Login", ctx.peer, now)) {
      w.Audit(AuditOf(anonymous, "Login", AccountTarget(req.username()),
                      v1::AUDIT_DENIED, "wrong username or password"));
    }
    if (!w.empty()) RETURN_IF_ERROR(store_->Commit(w, req.username()).status());
    return absl::UnauthenticatedError("wrong username or password");
  }
  if (account->state() == v1::CREDENTIAL_DISABLED) {
    RETURN_IF_ERROR(
        AuditOnly(AuditOf(anonymous, "Login", AccountTarget(req.username()),
                          v1::AUDIT_DENIED, "account disabled")));
    return absl::PermissionDeniedError(
        "this account was disabled by the upper-tier union; ask it to "
        "re-enable or reset it");
  }
  // Only at the node hosting the account's organisation (said only after the
  // password was right, so it reveals nothing to a guesser).
  if (auto org = store_->GetOrg(account->org_id());
      !org.ok() || org->host_node() != store_->node_id()) {
    const std::string host = org.ok() ? org->host_node() : "";
    RETURN_IF_ERROR(AuditOnly(
        AuditOf(anonymous, "Login", AccountTarget(req.username()),
                v1::AUDIT_DENIED,
                absl::StrCat("organisation hosted on node ", host))));
    return absl::FailedPreconditionError(absl::StrCat(
        "this account works at the node of its own union ('", host,
        "'), not at this node ('", store_->node_id(), "'): log in there"));
  }
  ASSIGN_OR_RETURN(std::string token, sessions_.Create(*account));
  anonymous.session.org_id = account->org_id();
  WriteSet w;
  if (raw_lock.has_value()) w.DeleteLocal(LockoutKey(req.username()));
  w.Audit(
      AuditOf(anonymous, "Login", AccountTarget(req.username()), v1::AUDIT_OK));
  if (auto s = store_->Commit(w, req.username()).status(); !s.ok()) {
    sessions_.Revoke(token);
    return s;
  }
  ASSIGN_OR_RETURN(Session session, sessions_.Lookup(token));
  v1::LoginResponse resp;
  resp.set_token(token);
  resp.set_org_id(account->org_id());
  resp.set_role(account->role());
  resp.set_must_change_password(session.must_change_password);
  resp.set_expires_at_ms(session.expires_ms);
  return resp;
}

absl::Status Admin::FlushSuppressedAudit(bool everything) {
  std::vector<v1::AuditEntry> due =
      login_audit_.TakeDue(clock_->NowMs(), everything);
  if (due.empty()) return absl::OkStatus();
  WriteSet w;
  for (v1::AuditEntry& e : due) w.Audit(std::move(e));
  return store_->Commit(w, "system").status();
}

absl::StatusOr<v1::LogoutResponse> Admin::Logout(const CallContext& ctx) {
  ASSIGN_OR_RETURN(Caller caller,
                   Authenticate(ctx, "Logout", /*allow_must_change=*/true));
  sessions_.Revoke(caller.token);
  RETURN_IF_ERROR(AuditOnly(AuditOf(caller, "Logout", "", v1::AUDIT_OK)));
  return v1::LogoutResponse();
}

absl::StatusOr<v1::ChangePasswordResponse> Admin::ChangePassword(
    const CallContext& ctx, const v1::ChangePasswordRequest& req) {
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, "ChangePassword", true));
  const std::string target = AccountTarget(caller.session.username);
  if (req.old_password().size() > kMaxPasswordBytes) {
    return Fail(caller, "ChangePassword", target,
                absl::InvalidArgumentError("old_password: too long"));
  }
  if (auto s = ::unionsync::CheckNewPassword(req.new_password(),
                                             caller.session.username);
      !s.ok()) {
    return Fail(caller, "ChangePassword", target, s);
  }
  if (req.new_password() == req.old_password()) {
    return Fail(caller, "ChangePassword", target,
                absl::InvalidArgumentError(
                    "new_password: must differ from the old password"));
  }
  ASSIGN_OR_RETURN(v1::Account account,
                   store_->GetAccount(caller.session.username));
  ASSIGN_OR_RETURN(bool ok,
                   VerifyPassword(req.old_password(), account.password_hash()));
  if (!ok) {
    return Deny(caller, "ChangePassword", target, "old_password is wrong");
  }
  ASSIGN_OR_RETURN(std::string hash,
                   HashPassword(req.new_password(), options_.scrypt));
  account.set_password_hash(hash);
  account.set_state(v1::CREDENTIAL_ACTIVE);
  account.set_credential_epoch(account.credential_epoch() + 1);
  account.set_credential_author_org(account.org_id());
  account.set_updated_at_ms(clock_->NowMs());
  WriteSet w;
  w.PutAccount(account);
  w.Audit(AuditOf(caller, "ChangePassword", target, v1::AUDIT_OK));
  RETURN_IF_ERROR(store_->Commit(w, caller.session.username).status());
  sessions_.RevokeAccount(caller.session.username, caller.token);
  sessions_.MarkPasswordChanged(caller.token, account.credential_epoch());
  return v1::ChangePasswordResponse();
}

absl::StatusOr<v1::CheckNewPasswordResponse> Admin::CheckNewPassword(
    const CallContext& ctx, const v1::CheckNewPasswordRequest& req) {
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, "CheckNewPassword", true));
  std::vector<PasswordProblem> problems;
  RETURN_IF_ERROR(
      PasswordProblems(req.new_password(), caller.session.username, &problems));
  v1::CheckNewPasswordResponse resp;
  resp.set_acceptable(problems.empty());
  for (const PasswordProblem& p : problems) resp.add_problems(p.code);
  if (!problems.empty()) resp.set_message(problems.front().message);
  return resp;
}

absl::StatusOr<v1::WhoAmIResponse> Admin::WhoAmI(const CallContext& ctx) {
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, "WhoAmI", true));
  v1::WhoAmIResponse resp;
  resp.set_username(caller.session.username);
  resp.set_org_id(caller.session.org_id);
  resp.set_role(caller.session.role);
  resp.set_must_change_password(caller.session.must_change_password);
  resp.set_node_id(store_->node_id());
  resp.set_expires_at_ms(caller.session.expires_ms);
  return resp;
}

}  // namespace unionsync
