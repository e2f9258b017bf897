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
#include "common/status_macros.h"
#include "common/validation.h"

namespace unionsync {
namespace {

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;
constexpr size_t kMaxReasonChars = 200;

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

// Page tokens are the last returned key, base64-encoded; they must decode to an
// identifier.
absl::StatusOr<std::string> DecodePageToken(absl::string_view token) {
  if (token.empty()) return std::string();
  auto raw = Base64Decode(token);
  if (!raw.ok() || !ValidateIdentifier("page_token", *raw).ok()) {
    return absl::InvalidArgumentError(
        "page_token: not a token this server issued");
  }
  return *raw;
}

absl::Status ValidateRegion(absl::string_view region) {
  if (region.empty()) return absl::OkStatus();
  if (region.size() != 6 ||
      !std::all_of(region.begin(), region.end(), absl::ascii_isdigit)) {
    return absl::InvalidArgumentError(
        absl::StrCat("region: must be a 6-digit administrative division code "
                     "such as 430102, got '",
                     region, "'"));
  }
  return absl::OkStatus();
}

absl::Status ValidateSystem(absl::string_view system) {
  if (system.empty()) return absl::OkStatus();
  const bool ok =
      system.size() <= 32 &&
      std::all_of(system.begin(), system.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || c == '_' || (c >= '0' && c <= '9');
      });
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "system: must be a lower-case code of at most 32 characters [a-z0-9_], "
        "such as 'education', got '",
        system.substr(0, 40), "'"));
  }
  return absl::OkStatus();
}

// Lockout state kept in the local column family:
// "<failures>:<locked_until_ms>".
std::string LockoutKey(absl::string_view username) {
  return absl::StrCat("lockout/", username);
}

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

// The profile fields an organisation sets itself, by the paths clear_fields
// uses.
constexpr absl::string_view kClearablePaths[] = {
    "credit_code",      "chair",
    "chair.name",       "chair.phone",
    "data_admin",       "data_admin.name",
    "data_admin.phone", "data_admin.trained_date",
    "contact",          "contact.name",
    "contact.phone",    "employee_count",
    "founding_date",    "address"};

// Clears the profile field at `path`; false when `path` is not a profile field.
bool ClearProfileField(absl::string_view path, v1::Org* org) {
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(path, '.');
  auto contact = [&](v1::Contact* c, bool has_trained_date) {
    if (parts.second.empty()) {
      c->Clear();
    } else if (parts.second == "name") {
      c->clear_name();
    } else if (parts.second == "phone") {
      c->clear_phone();
    } else if (parts.second == "trained_date" && has_trained_date) {
      c->clear_trained_date();
    } else {
      return false;
    }
    return true;
  };
  if (parts.first == "chair") return contact(org->mutable_chair(), false);
  if (parts.first == "data_admin")
    return contact(org->mutable_data_admin(), true);
  if (parts.first == "contact") return contact(org->mutable_contact(), false);
  if (!parts.second.empty()) return false;
  if (path == "credit_code") {
    org->clear_credit_code();
  } else if (path == "employee_count") {
    org->clear_employee_count();
  } else if (path == "founding_date") {
    org->clear_founding_date();
  } else if (path == "address") {
    org->clear_address();
  } else {
    return false;
  }
  return true;
}

// The credential epoch of a disable, enable or reset by the upper tier: the
// next multiple of 2^20, not just the next number. The holder's own password
// changes add 1, so changes made on the holder's node that this node has not
// seen yet (say while the link was down) cannot outnumber the upper tier's
// decision and undo it when they arrive (R10.3); the higher epoch wins
// everywhere (docs/DESIGN.md, "Ownership").
int64_t AuthorityEpoch(int64_t epoch) {
  constexpr int64_t kStep = int64_t{1} << 20;
  return (epoch / kStep + 1) * kStep;
}

// A new account with a parent-set initial password (R2): it must be changed
// before use (R3).
v1::Account NewAccount(const std::string& username, const std::string& org_id,
                       v1::Role role, const std::string& password_hash,
                       const std::string& author_org,
                       const std::string& display_name, int64_t now) {
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
  return a;
}

}  // namespace

struct Admin::Caller {
  Session session;
  std::string token;
  std::string peer;
};

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
  Caller caller{std::move(session), ctx.token, ctx.peer};
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
  if (lock.locked_until_ms > now) {
    RETURN_IF_ERROR(
        AuditOnly(AuditOf(anonymous, "Login", AccountTarget(req.username()),
                          v1::AUDIT_DENIED, "account locked")));
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
    w.Audit(AuditOf(anonymous, "Login", AccountTarget(req.username()),
                    v1::AUDIT_DENIED, "wrong username or password"));
    RETURN_IF_ERROR(store_->Commit(w, req.username()).status());
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
  if (auto s = CheckPasswordPolicy(req.new_password()); !s.ok()) {
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

// ---------------------------------------------------------------------------------------------
// Organisations

absl::StatusOr<std::string> Admin::Bootstrap(const v1::Org& in,
                                             const std::string& admin) {
  RETURN_IF_ERROR(ValidateIdentifier("org.id", in.id()));
  RETURN_IF_ERROR(ValidateText("org.name", in.name(), 100, true));
  RETURN_IF_ERROR(ValidateUsername("admin_username", admin));
  RETURN_IF_ERROR(ValidateRegion(in.region()));
  RETURN_IF_ERROR(ValidateSystem(in.system()));
  if (in.tier() < 1 || !KindAllowedAtTier(in.kind(), in.tier())) {
    return absl::InvalidArgumentError(
        absl::StrCat("org.kind: ", OrgKindCode(in.kind()),
                     " cannot sit at tier ", in.tier()));
  }
  if (store_->GetOrg(in.id()).ok()) {
    return absl::AlreadyExistsError(
        absl::StrCat("organisation '", in.id(), "' already exists"));
  }
  const int64_t now = clock_->NowMs();
  v1::Org org = in;
  org.clear_parent_id();
  org.set_status(v1::ORG_ACTIVE);
  org.set_host_node(store_->node_id());
  org.set_profile_completeness(ProfileCompleteness(org));
  org.set_created_at_ms(now);
  org.set_updated_at_ms(now);
  ASSIGN_OR_RETURN(auto password, NewInitialPassword());
  const v1::Account account = NewAccount(admin, org.id(), v1::DATA_ADMIN,
                                         password.second, org.id(), "", now);
  WriteSet w;
  w.PutOrg(org, WriteSet::Mode::kCreate);
  w.PutAccount(account, WriteSet::Mode::kCreate);
  v1::AuditEntry e;
  e.set_actor("system");
  e.set_action("Bootstrap");
  e.set_target(OrgTarget(org.id()));
  e.set_outcome(v1::AUDIT_OK);
  w.Audit(e);
  RETURN_IF_ERROR(store_->Commit(w, "system").status());
  return password.first;
}

absl::StatusOr<v1::CreateChildOrgResponse> Admin::CreateChildOrg(
    const CallContext& ctx, const v1::CreateChildOrgRequest& req) {
  constexpr absl::string_view kAction = "CreateChildOrg";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  const std::string target = OrgTarget(req.parent_id());
  RETURN_IF_ERROR(
      RequireOwnOrgAdmin(caller, kAction, req.parent_id(),
                         "organisations are registered by their direct parent: "
                         "parent_id must be your own "
                         "organisation (R2)"));
  auto fail = [&](absl::Status s) {
    return Fail(caller, kAction, target, std::move(s));
  };
  auto parent = HostedOrg(req.parent_id());
  if (!parent.ok()) return fail(parent.status());
  const v1::Org& in = req.org();
  if (!in.id().empty()) {
    if (auto s = ValidateIdentifier("org.id", in.id()); !s.ok()) return fail(s);
  }
  if (auto s = ValidateText("org.name", in.name(), 100, true); !s.ok())
    return fail(s);
  if (in.kind() == v1::ORG_KIND_UNSPECIFIED) {
    return fail(absl::InvalidArgumentError("org.kind: required"));
  }
  if (auto s = CheckParentChild(*parent, in.kind()); !s.ok()) return fail(s);
  if (auto s = ValidateRegion(in.region()); !s.ok()) return fail(s);
  if (auto s = ValidateSystem(in.system()); !s.ok()) return fail(s);
  if (auto s = ValidateUsername("admin_username", req.admin_username());
      !s.ok())
    return fail(s);
  if (auto s = ValidateText("admin_display_name", req.admin_display_name(), 50,
                            false);
      !s.ok()) {
    return fail(s);
  }
  if ((in.kind() == v1::DISTRICT_FEDERATION ||
       in.kind() == v1::DEV_ZONE_FEDERATION) &&
      in.region().empty()) {
    return fail(
        absl::InvalidArgumentError("org.region: a district or development-zone "
                                   "federation needs its area code (R1.3)"));
  }
  if (in.kind() == v1::INDUSTRY_UNION && in.system().empty()) {
    return fail(absl::InvalidArgumentError(
        "org.system: an industry (system) union needs its system code (R1.3)"));
  }

  v1::Org org;
  org.set_id(in.id());
  if (org.id().empty()) {
    ASSIGN_OR_RETURN(int64_t n, store_->CountChildren(parent->id()));
    for (int64_t k = n + 1;; ++k) {
      std::string id = absl::StrCat(parent->id(), ".", k);
      if (id.size() > 64) {
        return fail(absl::FailedPreconditionError(
            "cannot generate a child id within 64 characters; give org.id "
            "explicitly"));
      }
      if (absl::IsNotFound(store_->GetOrg(id).status())) {
        org.set_id(id);
        break;
      }
    }
  }
  if (!in.host_node().empty() && in.host_node() != org.id()) {
    return fail(
        absl::InvalidArgumentError("org.host_node: leave empty (hosted on this "
                                   "node) or set to the child's own id (the "
                                   "child runs its own node)"));
  }
  const int64_t now = clock_->NowMs();
  org.set_name(in.name());
  org.set_kind(in.kind());
  org.set_tier(parent->tier() + 1);
  org.set_parent_id(parent->id());
  org.set_region(in.region().empty() ? parent->region() : in.region());
  org.set_system(in.system().empty() ? parent->system() : in.system());
  org.set_status(v1::ORG_ACTIVE);
  org.set_host_node(in.host_node().empty() ? store_->node_id()
                                           : in.host_node());
  org.set_profile_completeness(0);
  org.set_created_at_ms(now);
  org.set_updated_at_ms(now);

  ASSIGN_OR_RETURN(auto password, NewInitialPassword());
  const v1::Account account =
      NewAccount(req.admin_username(), org.id(), v1::DATA_ADMIN,
                 password.second, parent->id(), req.admin_display_name(), now);

  WriteSet w;
  w.PutOrg(org, WriteSet::Mode::kCreate);
  w.PutAccount(account, WriteSet::Mode::kCreate);
  w.Audit(AuditOf(caller, kAction, OrgTarget(org.id()), v1::AUDIT_OK,
                  absl::StrCat("admin account ", account.username())));
  if (auto s = store_->Commit(w, caller.session.username).status(); !s.ok())
    return fail(s);
  v1::CreateChildOrgResponse resp;
  *resp.mutable_org() = org;
  resp.set_admin_username(account.username());
  resp.set_initial_password(password.first);
  return resp;
}

absl::StatusOr<v1::GetOrgResponse> Admin::GetOrg(const CallContext& ctx,
                                                 const v1::GetOrgRequest& req) {
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, "GetOrg"));
  RETURN_IF_ERROR(RequireInSubtree(caller, "GetOrg", req.org_id()));
  v1::GetOrgResponse resp;
  ASSIGN_OR_RETURN(*resp.mutable_org(), store_->GetOrg(req.org_id()));
  return resp;
}

absl::StatusOr<v1::ListChildOrgsResponse> Admin::ListChildOrgs(
    const CallContext& ctx, const v1::ListChildOrgsRequest& req) {
  constexpr absl::string_view kAction = "ListChildOrgs";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  RETURN_IF_ERROR(RequireInSubtree(caller, kAction, req.parent_id()));
  auto size = PageSize(req.page_size());
  if (!size.ok())
    return Fail(caller, kAction, OrgTarget(req.parent_id()), size.status());
  auto after = DecodePageToken(req.page_token());
  if (!after.ok())
    return Fail(caller, kAction, OrgTarget(req.parent_id()), after.status());
  ASSIGN_OR_RETURN(std::vector<v1::Org> orgs,
                   store_->ListChildren(req.parent_id(), *after, *size + 1));
  v1::ListChildOrgsResponse resp;
  for (int i = 0; i < static_cast<int>(orgs.size()) && i < *size; ++i) {
    *resp.add_orgs() = std::move(orgs[i]);
  }
  if (static_cast<int>(orgs.size()) > *size) {
    resp.set_next_page_token(Base64Encode(resp.orgs(*size - 1).id()));
  }
  return resp;
}

absl::StatusOr<v1::UpdateOrgProfileResponse> Admin::UpdateOrgProfile(
    const CallContext& ctx, const v1::UpdateOrgProfileRequest& req) {
  constexpr absl::string_view kAction = "UpdateOrgProfile";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  const std::string target = OrgTarget(req.org_id());
  RETURN_IF_ERROR(RequireOwnOrgAdmin(
      caller, kAction, req.org_id(),
      "an organisation's profile is completed by the organisation "
      "itself (R3)"));
  auto fail = [&](absl::Status s) {
    return Fail(caller, kAction, target, std::move(s));
  };
  auto current = HostedOrg(req.org_id());
  if (!current.ok()) return fail(current.status());
  if (current->status() != v1::ORG_ACTIVE) {
    return fail(absl::FailedPreconditionError("the organisation is dissolved"));
  }
  v1::Org org = *current;
  const v1::Org& p = req.profile();
  if (!p.credit_code().empty())
    org.set_credit_code(absl::AsciiStrToUpper(p.credit_code()));
  auto merge_contact = [](const v1::Contact& from, v1::Contact* to) {
    if (!from.name().empty()) to->set_name(from.name());
    if (!from.phone().empty()) to->set_phone(from.phone());
    if (!from.trained_date().empty()) to->set_trained_date(from.trained_date());
  };
  if (p.has_chair()) merge_contact(p.chair(), org.mutable_chair());
  if (p.has_data_admin())
    merge_contact(p.data_admin(), org.mutable_data_admin());
  if (p.has_contact()) merge_contact(p.contact(), org.mutable_contact());
  if (p.employee_count() != 0) org.set_employee_count(p.employee_count());
  if (!p.founding_date().empty()) org.set_founding_date(p.founding_date());
  if (!p.address().empty()) org.set_address(p.address());
  if (req.clear_fields_size() > static_cast<int>(std::size(kClearablePaths))) {
    return fail(absl::InvalidArgumentError("clear_fields: too many entries"));
  }
  for (const std::string& f : req.clear_fields()) {
    if (!ClearProfileField(f, &org)) {
      return fail(absl::InvalidArgumentError(
          absl::StrCat("clear_fields: unknown field '", f.substr(0, 40),
                       "'; allowed: ", absl::StrJoin(kClearablePaths, ", "))));
    }
  }
  if (auto s = ValidateOrgProfile(org); !s.ok()) return fail(s);
  org.set_profile_completeness(ProfileCompleteness(org));
  org.set_updated_at_ms(clock_->NowMs());
  WriteSet w;
  w.PutOrgProfile(org);
  w.Audit(AuditOf(caller, kAction, target, v1::AUDIT_OK));
  if (auto s = store_->Commit(w, caller.session.username).status(); !s.ok())
    return fail(s);
  v1::UpdateOrgProfileResponse resp;
  *resp.mutable_org() = std::move(org);
  return resp;
}

// ---------------------------------------------------------------------------------------------
// Accounts

absl::StatusOr<v1::CreateAccountResponse> Admin::CreateAccount(
    const CallContext& ctx, const v1::CreateAccountRequest& req) {
  constexpr absl::string_view kAction = "CreateAccount";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  const std::string target = AccountTarget(req.username());
  RETURN_IF_ERROR(RequireAdmin(caller, kAction, target));
  RETURN_IF_ERROR(RequireInSubtree(caller, kAction, req.org_id()));
  auto fail = [&](absl::Status s) {
    return Fail(caller, kAction, target, std::move(s));
  };
  if (auto s = ValidateUsername("username", req.username()); !s.ok())
    return fail(s);
  if (auto s = ValidateText("display_name", req.display_name(), 50, false);
      !s.ok()) {
    return fail(s);
  }
  if (req.role() != v1::DATA_ADMIN && req.role() != v1::VIEWER &&
      req.role() != v1::UNIT_LEADER) {
    return fail(absl::InvalidArgumentError(
        "role: must be DATA_ADMIN, VIEWER or UNIT_LEADER"));
  }
  if (req.org_id() == caller.session.org_id && req.role() == v1::DATA_ADMIN) {
    return Deny(caller, kAction, target,
                "another data administrator of your own organisation must be "
                "created by the "
                "upper-tier union (R10.2)");
  }
  auto org = HostedOrg(req.org_id());
  if (!org.ok()) return fail(org.status());
  ASSIGN_OR_RETURN(auto password, NewInitialPassword());
  const int64_t now = clock_->NowMs();
  const v1::Account account =
      NewAccount(req.username(), req.org_id(), req.role(), password.second,
                 caller.session.org_id, req.display_name(), now);
  WriteSet w;
  w.PutAccount(account, WriteSet::Mode::kCreate);
  w.Audit(AuditOf(caller, kAction, target, v1::AUDIT_OK));
  if (auto s = store_->Commit(w, caller.session.username).status(); !s.ok())
    return fail(s);
  v1::CreateAccountResponse resp;
  *resp.mutable_account() = Redacted(account);
  resp.set_initial_password(password.first);
  return resp;
}

absl::StatusOr<v1::ListAccountsResponse> Admin::ListAccounts(
    const CallContext& ctx, const v1::ListAccountsRequest& req) {
  constexpr absl::string_view kAction = "ListAccounts";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  RETURN_IF_ERROR(RequireAdmin(caller, kAction, OrgTarget(req.org_id())));
  RETURN_IF_ERROR(RequireInSubtree(caller, kAction, req.org_id()));
  ASSIGN_OR_RETURN(std::vector<v1::Account> accounts,
                   store_->ListAccounts(req.org_id()));
  v1::ListAccountsResponse resp;
  for (auto& a : accounts) *resp.add_accounts() = Redacted(std::move(a));
  return resp;
}

absl::StatusOr<v1::Account> Admin::ManageableAccount(
    const Caller& caller, absl::string_view action,
    const std::string& username) {
  const std::string target = AccountTarget(username);
  RETURN_IF_ERROR(RequireAdmin(caller, action, target));
  if (auto s = ValidateUsername("username", username); !s.ok()) {
    return Fail(caller, action, "", s);
  }
  if (username == caller.session.username) {
    return Deny(caller, action, target,
                "you cannot disable, enable or reset your own account; ask the "
                "upper-tier union");
  }
  auto account = store_->GetAccount(username);
  if (!account.ok()) return Fail(caller, action, target, account.status());
  ASSIGN_OR_RETURN(bool inside, store_->IsInSubtree(account->org_id(),
                                                    caller.session.org_id));
  const bool own_viewer =
      account->org_id() == caller.session.org_id &&
      (account->role() == v1::VIEWER || account->role() == v1::UNIT_LEADER);
  const bool descendant = inside && account->org_id() != caller.session.org_id;
  if (!own_viewer && !descendant) {
    return Deny(caller, action, target,
                "accounts are managed by the upper-tier union: this account is "
                "not below your "
                "organisation (R10.3)");
  }
  // The change must reach the node hosting the account's organisation: it is
  // written here when that is this node or a node below it (it travels down
  // with replication, which accepts accounts from above), never on a node
  // beside or below the host.
  auto org = store_->GetOrg(account->org_id());
  if (!org.ok()) return Fail(caller, action, target, org.status());
  if (org->host_node() != store_->node_id()) {
    ASSIGN_OR_RETURN(bool below, org->host_node().empty()
                                     ? false
                                     : store_->IsInSubtree(org->host_node(),
                                                           store_->node_id()));
    if (!below) {
      return Fail(caller, action, target,
                  absl::FailedPreconditionError(absl::StrCat(
                      "organisation '", org->id(), "' is hosted on node '",
                      org->host_node(), "'; make this change there")));
    }
  }
  return account;
}

absl::StatusOr<v1::DisableAccountResponse> Admin::DisableAccount(
    const CallContext& ctx, const v1::DisableAccountRequest& req) {
  constexpr absl::string_view kAction = "DisableAccount";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  if (auto s = ValidateText("reason", req.reason(), kMaxReasonChars, false);
      !s.ok()) {
    return Fail(caller, kAction, AccountTarget(req.username()), s);
  }
  ASSIGN_OR_RETURN(v1::Account account,
                   ManageableAccount(caller, kAction, req.username()));
  account.set_state(v1::CREDENTIAL_DISABLED);
  account.set_credential_epoch(AuthorityEpoch(account.credential_epoch()));
  account.set_credential_author_org(caller.session.org_id);
  account.set_updated_at_ms(clock_->NowMs());
  WriteSet w;
  w.PutAccount(account);
  w.Audit(AuditOf(caller, kAction, AccountTarget(account.username()),
                  v1::AUDIT_OK, req.reason()));
  RETURN_IF_ERROR(store_->Commit(w, caller.session.username).status());
  sessions_.RevokeAccount(account.username());
  v1::DisableAccountResponse resp;
  *resp.mutable_account() = Redacted(account);
  return resp;
}

absl::StatusOr<v1::EnableAccountResponse> Admin::EnableAccount(
    const CallContext& ctx, const v1::EnableAccountRequest& req) {
  constexpr absl::string_view kAction = "EnableAccount";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  ASSIGN_OR_RETURN(v1::Account account,
                   ManageableAccount(caller, kAction, req.username()));
  if (account.state() != v1::CREDENTIAL_DISABLED) {
    return Fail(caller, kAction, AccountTarget(account.username()),
                absl::FailedPreconditionError("the account is not disabled"));
  }
  // The holder logs in with the password they had and must choose a new one
  // before anything else: whoever had the account while it was disabled cannot
  // rely on an old credential.
  account.set_state(v1::CREDENTIAL_RESET);
  account.set_credential_epoch(AuthorityEpoch(account.credential_epoch()));
  account.set_updated_at_ms(clock_->NowMs());
  WriteSet w;
  w.PutAccount(account);
  w.Audit(AuditOf(caller, kAction, AccountTarget(account.username()),
                  v1::AUDIT_OK));
  RETURN_IF_ERROR(store_->Commit(w, caller.session.username).status());
  v1::EnableAccountResponse resp;
  *resp.mutable_account() = Redacted(account);
  return resp;
}

absl::StatusOr<v1::ResetPasswordResponse> Admin::ResetPassword(
    const CallContext& ctx, const v1::ResetPasswordRequest& req) {
  constexpr absl::string_view kAction = "ResetPassword";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  ASSIGN_OR_RETURN(v1::Account account,
                   ManageableAccount(caller, kAction, req.username()));
  ASSIGN_OR_RETURN(auto password, NewInitialPassword());
  account.set_password_hash(password.second);
  account.set_state(v1::CREDENTIAL_RESET);
  account.set_credential_epoch(AuthorityEpoch(account.credential_epoch()));
  account.set_credential_author_org(caller.session.org_id);
  account.set_updated_at_ms(clock_->NowMs());
  WriteSet w;
  w.PutAccount(account);
  w.DeleteLocal(LockoutKey(account.username()));
  w.Audit(AuditOf(caller, kAction, AccountTarget(account.username()),
                  v1::AUDIT_OK));
  RETURN_IF_ERROR(store_->Commit(w, caller.session.username).status());
  sessions_.RevokeAccount(account.username());
  v1::ResetPasswordResponse resp;
  *resp.mutable_account() = Redacted(account);
  resp.set_initial_password(password.first);
  return resp;
}

// ---------------------------------------------------------------------------------------------
// Members

absl::StatusOr<v1::Member> Admin::OwnMember(const Caller& caller,
                                            absl::string_view action,
                                            const std::string& member_id) {
  const std::string target = MemberTarget(member_id);
  RETURN_IF_ERROR(RequireAdmin(caller, action, target));
  if (auto s = ValidateIdentifier("member_id", member_id); !s.ok()) {
    return Fail(caller, action, "", s);
  }
  auto member = store_->GetMember(member_id);
  if (!member.ok()) return Fail(caller, action, target, member.status());
  if (member->org_id() != caller.session.org_id) {
    return Deny(caller, action, target,
                "member data is accessible only to the data administrator of "
                "the member's own "
                "union (R10.2)");
  }
  return member;
}

namespace {

// Copies the fields a data administrator edits and normalises them.
void CopyEditable(const v1::Member& from, v1::Member* to) {
  to->set_name(std::string(absl::StripAsciiWhitespace(from.name())));
  to->set_gender(from.gender());
  to->set_ethnicity(from.ethnicity());
  to->set_id_number(NormalizeIdNumber(from.id_number()));
  to->set_phone(std::string(absl::StripAsciiWhitespace(from.phone())));
  to->set_education(from.education());
  to->set_workplace(from.workplace());
  to->set_join_date(from.join_date());
  to->set_card_number(from.card_number());
  to->set_migrant_worker(from.migrant_worker());
  to->set_dues_status(from.dues_status());
}

}  // namespace

absl::StatusOr<v1::AddMemberResponse> Admin::AddMember(
    const CallContext& ctx, const v1::AddMemberRequest& req) {
  constexpr absl::string_view kAction = "AddMember";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  const std::string org_id = req.member().org_id().empty()
                                 ? caller.session.org_id
                                 : req.member().org_id();
  const std::string target = OrgTarget(org_id);
  RETURN_IF_ERROR(RequireOwnOrgAdmin(
      caller, kAction, org_id,
      "members are entered by the union of the unit where they work: "
      "org_id must be "
      "your own organisation (R4)"));
  auto fail = [&](absl::Status s) {
    return Fail(caller, kAction, target, std::move(s));
  };
  auto org = HostedOrg(org_id);
  if (!org.ok()) return fail(org.status());
  if (!IsGrassroots(org->kind()) || org->status() != v1::ORG_ACTIVE) {
    return fail(absl::FailedPreconditionError(absl::StrCat(
        "members belong to active grassroots unions; '", org_id, "' is a ",
        OrgKindCode(org->kind()),
        org->status() != v1::ORG_ACTIVE ? " that is dissolved" : "")));
  }
  v1::Member m;
  CopyEditable(req.member(), &m);
  if (auto s = ValidateMember(m, ChinaCivilDay(clock_->NowMs())); !s.ok())
    return fail(s);
  ASSIGN_OR_RETURN(std::string raw_id, RandomBytes(12));
  const int64_t now = clock_->NowMs();
  m.set_id(HexEncode(raw_id));
  m.set_org_id(org_id);
  m.set_status(v1::MEMBER_ACTIVE);
  m.set_created_at_ms(now);
  m.set_updated_at_ms(now);
  WriteSet w;
  w.PutMember(m, WriteSet::Mode::kCreate);
  w.Audit(AuditOf(caller, kAction, MemberTarget(m.id()), v1::AUDIT_OK));
  if (auto s = store_->Commit(w, caller.session.username).status(); !s.ok())
    return fail(s);
  v1::AddMemberResponse resp;
  *resp.mutable_member() = std::move(m);
  return resp;
}

absl::StatusOr<v1::UpdateMemberResponse> Admin::UpdateMember(
    const CallContext& ctx, const v1::UpdateMemberRequest& req) {
  constexpr absl::string_view kAction = "UpdateMember";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  ASSIGN_OR_RETURN(v1::Member m, OwnMember(caller, kAction, req.member().id()));
  const std::string target = MemberTarget(m.id());
  auto fail = [&](absl::Status s) {
    return Fail(caller, kAction, target, std::move(s));
  };
  if (m.status() != v1::MEMBER_ACTIVE) {
    return fail(absl::FailedPreconditionError("the member was removed"));
  }
  if (auto org = HostedOrg(m.org_id()); !org.ok()) return fail(org.status());
  CopyEditable(req.member(), &m);
  if (auto s = ValidateMember(m, ChinaCivilDay(clock_->NowMs())); !s.ok())
    return fail(s);
  m.set_updated_at_ms(clock_->NowMs());
  WriteSet w;
  w.PutMember(m);
  w.Audit(AuditOf(caller, kAction, target, v1::AUDIT_OK));
  if (auto s = store_->Commit(w, caller.session.username).status(); !s.ok())
    return fail(s);
  v1::UpdateMemberResponse resp;
  *resp.mutable_member() = std::move(m);
  return resp;
}

absl::StatusOr<v1::TransferMemberResponse> Admin::TransferMember(
    const CallContext& ctx, const v1::TransferMemberRequest& req) {
  constexpr absl::string_view kAction = "TransferMember";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  ASSIGN_OR_RETURN(v1::Member m, OwnMember(caller, kAction, req.member_id()));
  const std::string target = MemberTarget(m.id());
  auto fail = [&](absl::Status s) {
    return Fail(caller, kAction, target, std::move(s));
  };
  if (m.status() != v1::MEMBER_ACTIVE) {
    return fail(absl::FailedPreconditionError("the member was removed"));
  }
  if (auto s = ValidateIdentifier("to_org_id", req.to_org_id()); !s.ok())
    return fail(s);
  if (req.to_org_id() == m.org_id()) {
    return fail(absl::InvalidArgumentError(
        "to_org_id: the member is already in that union"));
  }
  auto to = HostedOrg(req.to_org_id());
  if (!to.ok()) return fail(to.status());
  if (!IsGrassroots(to->kind()) || to->status() != v1::ORG_ACTIVE) {
    return fail(absl::FailedPreconditionError(absl::StrCat(
        "to_org_id: '", to->id(), "' is not an active grassroots union")));
  }
  m.set_org_id(to->id());
  m.set_updated_at_ms(clock_->NowMs());
  WriteSet w;
  w.PutMember(m);
  w.Audit(AuditOf(caller, kAction, target, v1::AUDIT_OK,
                  absl::StrCat("to ", to->id())));
  if (auto s = store_->Commit(w, caller.session.username).status(); !s.ok())
    return fail(s);
  v1::TransferMemberResponse resp;
  *resp.mutable_member() = std::move(m);
  return resp;
}

absl::StatusOr<v1::RemoveMemberResponse> Admin::RemoveMember(
    const CallContext& ctx, const v1::RemoveMemberRequest& req) {
  constexpr absl::string_view kAction = "RemoveMember";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  ASSIGN_OR_RETURN(v1::Member m, OwnMember(caller, kAction, req.member_id()));
  const std::string target = MemberTarget(m.id());
  auto fail = [&](absl::Status s) {
    return Fail(caller, kAction, target, std::move(s));
  };
  if (auto s = ValidateText("reason", req.reason(), kMaxReasonChars, false);
      !s.ok()) {
    return fail(s);
  }
  if (m.status() != v1::MEMBER_ACTIVE) {
    return fail(
        absl::FailedPreconditionError("the member was already removed"));
  }
  if (auto org = HostedOrg(m.org_id()); !org.ok()) return fail(org.status());
  m.set_status(v1::MEMBER_REMOVED);
  m.set_updated_at_ms(clock_->NowMs());
  WriteSet w;
  w.PutMember(m);
  w.Audit(AuditOf(caller, kAction, target, v1::AUDIT_OK, req.reason()));
  if (auto s = store_->Commit(w, caller.session.username).status(); !s.ok())
    return fail(s);
  v1::RemoveMemberResponse resp;
  *resp.mutable_member() = std::move(m);
  return resp;
}

absl::StatusOr<v1::GetMemberResponse> Admin::GetMember(
    const CallContext& ctx, const v1::GetMemberRequest& req) {
  constexpr absl::string_view kAction = "GetMember";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  std::string member_id;
  switch (req.key_case()) {
    case v1::GetMemberRequest::kMemberId:
      member_id = req.member_id();
      break;
    case v1::GetMemberRequest::kIdNumber: {
      RETURN_IF_ERROR(RequireAdmin(caller, kAction, "member/by-id-number"));
      const std::string id_number = NormalizeIdNumber(req.id_number());
      if (auto s = ValidateIdNumber(id_number); !s.ok()) {
        return Fail(caller, kAction, "member/by-id-number", s);
      }
      auto found = store_->FindMemberByIdNumber(id_number);
      if (!found.ok())
        return Fail(caller, kAction, "member/by-id-number", found.status());
      member_id = found->id();
      break;
    }
    default:
      return Fail(caller, kAction, "",
                  absl::InvalidArgumentError("give member_id or id_number"));
  }
  ASSIGN_OR_RETURN(v1::Member m, OwnMember(caller, kAction, member_id));
  RETURN_IF_ERROR(
      AuditOnly(AuditOf(caller, kAction, MemberTarget(m.id()), v1::AUDIT_OK)));
  v1::GetMemberResponse resp;
  *resp.mutable_member() = std::move(m);
  return resp;
}

absl::StatusOr<v1::ListMembersResponse> Admin::ListMembers(
    const CallContext& ctx, const v1::ListMembersRequest& req) {
  constexpr absl::string_view kAction = "ListMembers";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  const std::string org_id =
      req.org_id().empty() ? caller.session.org_id : req.org_id();
  const std::string target = OrgTarget(org_id);
  RETURN_IF_ERROR(RequireOwnOrgAdmin(
      caller, kAction, org_id,
      "member lists are accessible only to the data administrator of "
      "the union itself "
      "(R10.2)"));
  auto fail = [&](absl::Status s) {
    return Fail(caller, kAction, target, std::move(s));
  };
  auto size = PageSize(req.page_size());
  if (!size.ok()) return fail(size.status());
  auto after = DecodePageToken(req.page_token());
  if (!after.ok()) return fail(after.status());
  if (auto s = ValidateText("name_prefix", req.name_prefix(), 50, false);
      !s.ok())
    return fail(s);
  if (!v1::DuesStatus_IsValid(req.dues_status())) {
    return fail(absl::InvalidArgumentError("dues_status: unknown value"));
  }
  v1::ListMembersResponse resp;
  std::string cursor = *after;
  // Filters may skip many records: scan in chunks, but never more than a
  // bounded amount of work per call; the token lets the client continue.
  constexpr size_t kChunk = 512;
  constexpr size_t kMaxScanned = 20000;
  size_t scanned = 0;
  bool exhausted = false;
  while (resp.members_size() < *size && scanned < kMaxScanned) {
    ASSIGN_OR_RETURN(std::vector<v1::Member> chunk,
                     store_->ListMembers(org_id, cursor, kChunk));
    if (chunk.empty()) {
      exhausted = true;
      break;
    }
    for (auto& m : chunk) {
      ++scanned;
      cursor = m.id();
      if (!req.include_removed() && m.status() != v1::MEMBER_ACTIVE) continue;
      if (req.migrant_only() && !m.migrant_worker()) continue;
      if (req.dues_status() != v1::DUES_STATUS_UNSPECIFIED &&
          m.dues_status() != req.dues_status()) {
        continue;
      }
      if (!req.name_prefix().empty() &&
          !absl::StartsWith(m.name(), req.name_prefix()))
        continue;
      *resp.add_members() = std::move(m);
      if (resp.members_size() == *size) break;
    }
    if (chunk.size() < kChunk && resp.members_size() < *size) {
      exhausted = true;
      break;
    }
  }
  if (!exhausted) {
    // There may be more: continue after the last record looked at.
    auto more = store_->ListMembers(org_id, cursor, 1);
    if (more.ok() && !more->empty())
      resp.set_next_page_token(Base64Encode(cursor));
  }
  RETURN_IF_ERROR(AuditOnly(
      AuditOf(caller, kAction, target, v1::AUDIT_OK,
              absl::StrCat(resp.members_size(), " members returned"))));
  return resp;
}

absl::StatusOr<v1::GetSubtreeSummaryResponse> Admin::GetSubtreeSummary(
    const CallContext& ctx, const v1::GetSubtreeSummaryRequest& req) {
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, "GetSubtreeSummary"));
  RETURN_IF_ERROR(RequireInSubtree(caller, "GetSubtreeSummary", req.org_id()));
  v1::GetSubtreeSummaryResponse resp;
  ASSIGN_OR_RETURN(*resp.mutable_org(), store_->GetOrg(req.org_id()));
  ASSIGN_OR_RETURN(*resp.mutable_counters(), store_->GetCounters(req.org_id()));
  ASSIGN_OR_RETURN(int64_t children, store_->CountChildren(req.org_id()));
  resp.set_direct_children(static_cast<int32_t>(children));
  return resp;
}

// ---------------------------------------------------------------------------------------------
// Operators

absl::Status Admin::RequireOperator(const Caller& caller,
                                    absl::string_view action,
                                    absl::string_view reason) {
  if (caller.session.role != v1::DATA_ADMIN ||
      caller.session.org_id != store_->node_id()) {
    return Deny(caller, action, absl::StrCat("node/", store_->node_id()),
                reason);
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::GetReplicationStatusResponse> Admin::GetReplicationStatus(
    const CallContext& ctx, const v1::GetReplicationStatusRequest&) {
  constexpr absl::string_view kAction = "GetReplicationStatus";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  RETURN_IF_ERROR(RequireOperator(caller, kAction));
  v1::GetReplicationStatusResponse resp;
  if (replication_ != nullptr) resp = replication_->ReplicationStatus();
  resp.set_node_id(store_->node_id());
  resp.set_incarnation(store_->incarnation());
  resp.set_log_end(store_->next_log_pos());
  return resp;
}

absl::StatusOr<v1::ForceResyncResponse> Admin::ForceResync(
    const CallContext& ctx, const v1::ForceResyncRequest& req) {
  constexpr absl::string_view kAction = "ForceResync";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  RETURN_IF_ERROR(RequireOperator(caller, kAction));
  const std::string target = absl::StrCat("node/", req.child_id());
  if (auto s = ValidateIdentifier("child_id", req.child_id()); !s.ok()) {
    return Fail(caller, kAction, target, s);
  }
  if (replication_ == nullptr) {
    return Fail(caller, kAction, target,
                absl::FailedPreconditionError(
                    "this node has no replication configured"));
  }
  if (auto s = replication_->ForceResync(req.child_id()); !s.ok()) {
    return Fail(caller, kAction, target, s);
  }
  RETURN_IF_ERROR(AuditOnly(AuditOf(caller, kAction, target, v1::AUDIT_OK)));
  return v1::ForceResyncResponse();
}

// ---------------------------------------------------------------------------------------------
// Audit log

absl::StatusOr<v1::VerifyAuditResponse> Admin::VerifyAudit(
    const CallContext& ctx, const v1::VerifyAuditRequest&) {
  constexpr absl::string_view kAction = "VerifyAudit";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  RETURN_IF_ERROR(RequireOperator(
      caller, kAction,
      "the node's audit log is verified by the data administrator of the "
      "node's own organisation"));
  const std::string target = absl::StrCat("node/", store_->node_id());
  absl::StatusOr<AuditVerification> v = store_->VerifyAudit();
  if (!v.ok()) return Fail(caller, kAction, target, v.status());
  v1::VerifyAuditResponse resp;
  resp.set_intact(v->intact);
  resp.set_entries(v->entries);
  resp.set_first_broken_seq(v->first_broken);
  resp.set_head_seq(v->head.seq);
  resp.set_head_hash(v->head.hash);
  resp.set_detail(v->detail);
  RETURN_IF_ERROR(AuditOnly(
      AuditOf(caller, kAction, target, v1::AUDIT_OK,
              v->intact ? absl::StrCat("intact: ", v->entries, " entries")
                        : absl::StrCat("broken at entry ", v->first_broken,
                                       ": ", v->detail))));
  return resp;
}

absl::StatusOr<v1::SearchAuditResponse> Admin::SearchAudit(
    const CallContext& ctx, const v1::SearchAuditRequest& req) {
  constexpr absl::string_view kAction = "SearchAudit";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  const std::string target = absl::StrCat("audit/", store_->node_id());
  RETURN_IF_ERROR(RequireAdmin(caller, kAction, target));
  auto fail = [&](absl::Status s) {
    return Fail(caller, kAction, target, std::move(s));
  };
  AuditQuery q;
  // Usernames, node and organisation ids and action names: short, and
  // never with '/' (the index key separator).
  for (const auto& [field, value] :
       {std::pair<const char*, const std::string*>{"actor", &req.actor()},
        {"org_id", &req.org_id()},
        {"action", &req.action()}}) {
    const bool ok =
        value->size() <= 64 &&
        std::all_of(value->begin(), value->end(), [](char c) {
          return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                 c == '.' || c == '-' || c == '_' || c == '@';
        });
    if (!ok) {
      return fail(absl::InvalidArgumentError(absl::StrCat(
          field, ": at most 64 letters, digits and '.', '-', '_', '@'")));
    }
  }
  if (req.from_ms() < 0 || req.to_ms() < 0 ||
      (req.to_ms() > 0 && req.to_ms() <= req.from_ms())) {
    return fail(absl::InvalidArgumentError(
        "from_ms / to_ms: times in ms since the epoch, from before to"));
  }
  auto size = PageSize(req.page_size());
  if (!size.ok()) return fail(size.status());
  auto token = DecodePageToken(req.page_token());
  if (!token.ok()) return fail(token.status());
  if (!token->empty() && !absl::SimpleAtoi(*token, &q.after_seq)) {
    return fail(absl::InvalidArgumentError(
        "page_token: not a token this server issued"));
  }
  q.actor = req.actor();
  q.org_id = req.org_id();
  q.action = req.action();
  q.from_ms = req.from_ms();
  q.to_ms = req.to_ms();
  q.limit = static_cast<size_t>(*size);
  const bool op = caller.session.org_id == store_->node_id();
  if (!op) {
    // Least access (R10.2, R11): one organisation of the caller's subtree at
    // a time, entries whose actor or target belongs to it.
    if (q.org_id.empty()) q.org_id = caller.session.org_id;
    RETURN_IF_ERROR(RequireInSubtree(caller, kAction, q.org_id));
  }
  absl::StatusOr<AuditPage> page = store_->SearchAudit(q);
  if (!page.ok()) return fail(page.status());
  v1::SearchAuditResponse resp;
  for (auto& e : page->entries) *resp.add_entries() = std::move(e);
  if (page->resume_after != 0) {
    resp.set_next_page_token(Base64Encode(absl::StrCat(page->resume_after)));
  }
  std::string filters;
  for (const auto& [name, value] :
       {std::pair<const char*, std::string>{"actor", q.actor},
        {"org", q.org_id},
        {"action", q.action},
        {"from_ms", q.from_ms > 0 ? absl::StrCat(q.from_ms) : ""},
        {"to_ms", q.to_ms > 0 ? absl::StrCat(q.to_ms) : ""},
        {"after", q.after_seq > 0 ? absl::StrCat(q.after_seq) : ""}}) {
    if (!value.empty()) absl::StrAppend(&filters, name, "=", value, " ");
  }
  v1::AuditEntry e =
      AuditOf(caller, kAction, target, v1::AUDIT_OK,
              absl::StrCat(filters, "-> ", resp.entries_size(), " entries"));
  e.set_target_org(q.org_id);
  RETURN_IF_ERROR(AuditOnly(std::move(e)));
  return resp;
}

}  // namespace unionsync
