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
#include "node/admin_internal.h"
#include "node/policy.h"

namespace unionsync {

using namespace admin_internal;  // NOLINT: this layer's own helpers.

// ---------------------------------------------------------------------------------------------
// Accounts

absl::Status Admin::HostedHereOrBelow(const v1::Org& org) const {
  // A change to an account must reach the node hosting its organisation: it
  // is written here when that is this node or a node below it (it travels
  // down with replication, which accepts accounts from above), never on a
  // node beside or below the host.
  if (org.host_node() == store_->node_id()) return absl::OkStatus();
  ASSIGN_OR_RETURN(bool below,
                   org.host_node().empty()
                       ? false
                       : store_->IsInSubtree(org.host_node(), store_->node_id()));
  if (!below) {
    return absl::FailedPreconditionError(absl::StrCat(
        "organisation '", org.id(), "' is hosted on node '", org.host_node(),
        "'; make this change there"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::CreateAccountResponse> Admin::CreateAccount(
    const CallContext& ctx, const v1::CreateAccountRequest& req) {
  constexpr absl::string_view kAction = "CreateAccount";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  const std::string target = AccountTarget(req.username());
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
  if (!v1::Role_IsValid(req.role()) || req.role() == v1::ROLE_UNSPECIFIED) {
    return fail(absl::InvalidArgumentError(
        "role: must be DATA_ADMIN, REVIEWER, UNIT_LEADER or OPERATOR"));
  }
  auto org = store_->GetOrg(req.org_id());
  if (!org.ok()) return fail(org.status());
  // Who may act for a unit (R2, R10.2, R11): the parent creates a unit's
  // data administrator and leader, and only while the unit has none active
  // (the successor after the leaver was disabled), so a parent can never add
  // a second pair of hands inside its child; the unit itself creates its
  // reviewers and, where it runs a node, operators.
  const bool parent_made = req.role() == v1::DATA_ADMIN ||
                           req.role() == v1::UNIT_LEADER;
  if (parent_made) {
    if (org->parent_id() != caller.session.org_id) {
      return Deny(caller, kAction, target,
                  absl::StrCat("the ", RoleText(req.role()), " of '",
                               org->id(),
                               "' is created by its direct parent "
                               "organisation only (R2)"));
    }
    ASSIGN_OR_RETURN(std::vector<v1::Account> existing,
                     store_->ListAccounts(org->id()));
    for (const v1::Account& a : existing) {
      if (a.role() == req.role() && a.state() != v1::CREDENTIAL_DISABLED) {
        return Deny(caller, kAction, target,
                    absl::StrCat("'", org->id(), "' already has an active ",
                                 RoleText(req.role()), " ('", a.username(),
                                 "'): disable the leaver's account first, "
                                 "then create the successor's (R10.3)"));
      }
    }
  } else {
    if (org->id() != caller.session.org_id) {
      return Deny(caller, kAction, target,
                  absl::StrCat(RoleText(req.role()),
                               " accounts are created by the organisation's "
                               "own data administrator"));
    }
    if (req.role() == v1::OPERATOR && org->host_node() != org->id()) {
      return fail(absl::FailedPreconditionError(
          "operators are for an organisation that runs its own node"));
    }
  }
  if (org->status() != v1::ORG_ACTIVE) {
    return fail(absl::FailedPreconditionError(
        absl::StrCat("'", org->id(), "' is dissolved")));
  }
  if (auto s = HostedHereOrBelow(*org); !s.ok()) return fail(s);
  ASSIGN_OR_RETURN(auto password, NewInitialPassword());
  const int64_t now = clock_->NowMs();
  const v1::Account account = NewAccount(
      req.username(), req.org_id(), req.role(), password.second,
      caller.session.org_id, req.display_name(), now, caller.session.username);
  WriteSet w;
  w.PutAccount(account, WriteSet::Mode::kCreate);
  w.Audit(AuditOf(caller, kAction, target, v1::AUDIT_OK,
                  absl::StrCat("role ", RoleText(req.role()))));
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
  // The unit's own reviewers and operators are the unit's; its leader is the
  // parent's to manage, so an export's requester can never take over (or
  // reset) the account that approves it.
  const bool own_staff =
      account->org_id() == caller.session.org_id &&
      (account->role() == v1::REVIEWER || account->role() == v1::OPERATOR);
  const bool descendant = inside && account->org_id() != caller.session.org_id;
  if (!own_staff && !descendant) {
    return Deny(caller, action, target,
                "accounts are managed by the upper-tier union: this account is "
                "not below your "
                "organisation (R10.3)");
  }
  auto org = store_->GetOrg(account->org_id());
  if (!org.ok()) return Fail(caller, action, target, org.status());
  if (auto s = HostedHereOrBelow(*org); !s.ok()) {
    return Fail(caller, action, target, s);
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
  if (account.role() == v1::DATA_ADMIN || account.role() == v1::UNIT_LEADER) {
    ASSIGN_OR_RETURN(std::vector<v1::Account> peers,
                     store_->ListAccounts(account.org_id()));
    for (const v1::Account& a : peers) {
      if (a.username() != account.username() && a.role() == account.role() &&
          a.state() != v1::CREDENTIAL_DISABLED) {
        return Fail(caller, kAction, AccountTarget(account.username()),
                    absl::FailedPreconditionError(absl::StrCat(
                        "'", account.org_id(), "' already has an active ",
                        RoleText(account.role()), " ('", a.username(),
                        "'); one at a time")));
      }
    }
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


}  // namespace unionsync
