// The parent's lifecycle operations on a child's registration (R2): the
// correction of the name and kind it registered, within R1's kind rules, and
// the dissolution. Region, system and parent are fixed at registration
// (progress is aggregated by them; store/stage.cc). A child running its own
// node gets a corrected registration or a recorded training by the downward
// link, as it got its registration; it is not dissolved from here, since its
// members and accounts live at its node.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/mask.h"
#include "common/org_rules.h"
#include "common/status_macros.h"
#include "common/validation.h"
#include "node/admin.h"
#include "node/admin_internal.h"

namespace unionsync {

using namespace admin_internal;  // NOLINT: this layer's own helpers.
namespace {

// The kind rules a changed kind must still satisfy: its tier, its parent,
// its children, its members and the codes its kind needs (R1).
absl::Status CheckKindChange(const v1::Org& parent, const v1::Org& org,
                             v1::OrgKind kind,
                             const std::vector<v1::Org>& children,
                             int64_t own_members) {
  if (!KindAllowedAtTier(kind, org.tier())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "kind: ", OrgKindCode(kind), " cannot sit at tier ", org.tier()));
  }
  RETURN_IF_ERROR(CheckParentChild(parent, kind));
  v1::Org changed = org;
  changed.set_kind(kind);
  for (const v1::Org& child : children) {
    if (absl::Status s = CheckParentChild(changed, child.kind()); !s.ok()) {
      return absl::FailedPreconditionError(absl::StrCat("kind: child '",
                                                        child.id(),
                                                        "' could no longer sit "
                                                        "under it: ",
                                                        s.message()));
    }
  }
  if (IsGrassroots(org.kind()) && !IsGrassroots(kind) && own_members > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "kind: the union has ", own_members,
        " members, and only a grassroots union has members; transfer them "
        "first"));
  }
  if ((kind == v1::DISTRICT_FEDERATION || kind == v1::DEV_ZONE_FEDERATION) &&
      org.region().empty()) {
    return absl::InvalidArgumentError(
        "kind: a district or development-zone federation needs an area code, "
        "and this organisation was registered without one (R1.3)");
  }
  if (kind == v1::INDUSTRY_UNION && org.system().empty()) {
    return absl::InvalidArgumentError(
        "kind: an industry (system) union needs a system code, and this "
        "organisation was registered without one (R1.3)");
  }
  return absl::OkStatus();
}

// The active children of `org`, every page of them.
absl::StatusOr<std::vector<v1::Org>> ActiveChildren(const Store& store,
                                                    const std::string& org) {
  std::vector<v1::Org> active;
  for (std::string after;;) {
    ASSIGN_OR_RETURN(std::vector<v1::Org> page,
                     store.ListChildren(org, after, 1000));
    if (page.empty()) break;
    after = page.back().id();
    const bool last = page.size() < 1000;
    for (v1::Org& c : page) {
      if (c.status() == v1::ORG_ACTIVE) active.push_back(std::move(c));
    }
    if (last) break;
  }
  return active;
}

}  // namespace

absl::StatusOr<Admin::ChildAndParent> Admin::HostedChild(
    const Caller& caller, absl::string_view action, const std::string& org_id,
    bool own_node_ok) {
  const std::string target = OrgTarget(org_id);
  // Outside the caller's subtree: denied before anything says whether the
  // organisation exists.
  RETURN_IF_ERROR(RequireInSubtree(caller, action, org_id));
  auto org = store_->GetOrg(org_id);
  if (!org.ok()) return Fail(caller, action, target, org.status());
  RETURN_IF_ERROR(RequireOwnOrgAdmin(
      caller, action, org->parent_id(),
      "a registration is kept by the parent that registered it (R2): "
      "org_id must be a direct child of your own organisation"));
  if (org->status() != v1::ORG_ACTIVE) {
    return Fail(caller, action, target,
                absl::FailedPreconditionError("the organisation is dissolved"));
  }
  // A child running its own node gets its changed registration from here,
  // by the downward link; its members, hosted there, cannot be changed here.
  if (org->host_node() != store_->node_id() &&
      !(own_node_ok && org->host_node() == org->id())) {
    return Fail(
        caller, action, target,
        absl::FailedPreconditionError(
            own_node_ok
                ? absl::StrCat("'", org->id(), "' is hosted at node '",
                               org->host_node(), "', not here")
                : absl::StrCat("'", org->id(), "' runs its own node ('",
                               org->host_node(),
                               "'), which hosts its members and accounts: it "
                               "cannot be dissolved from the parent's node")));
  }
  auto parent = HostedOrg(org->parent_id());
  if (!parent.ok()) return Fail(caller, action, target, parent.status());
  return ChildAndParent{*std::move(org), *std::move(parent)};
}

absl::StatusOr<v1::CorrectOrgRegistrationResponse>
Admin::CorrectOrgRegistration(const CallContext& ctx,
                              const v1::CorrectOrgRegistrationRequest& req) {
  constexpr absl::string_view kAction = "CorrectOrgRegistration";
  constexpr bool kOwnNodeOk = true;
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  const std::string target = OrgTarget(req.org_id());
  auto fail = [&](absl::Status s) {
    return Fail(caller, kAction, target, std::move(s));
  };
  absl::MutexLock lock(&registration_mu_);
  ASSIGN_OR_RETURN(ChildAndParent both,
                   HostedChild(caller, kAction, req.org_id(), kOwnNodeOk));
  const v1::Org& org = both.child;
  if (auto s = ValidateText("reason", req.reason(), kMaxReasonChars, true);
      !s.ok())
    return fail(s);
  if (!req.name().empty()) {
    if (auto s = ValidateText("name", req.name(), 100, true); !s.ok())
      return fail(s);
  }
  if (!v1::OrgKind_IsValid(req.kind())) {
    return fail(absl::InvalidArgumentError(absl::StrCat(
        "kind: ", static_cast<int>(req.kind()), " is not a valid value")));
  }
  std::vector<std::string> what;
  v1::Org corrected = org;
  if (!req.name().empty() && req.name() != org.name()) {
    what.push_back(
        absl::StrCat("name '", org.name(), "' -> '", req.name(), "'"));
    corrected.set_name(req.name());
  }
  if (req.kind() != v1::ORG_KIND_UNSPECIFIED && req.kind() != org.kind()) {
    // Its children and members are entered at its own node and reach this
    // one later: the kind rules cannot be checked here against them.
    if (org.host_node() == org.id() && org.host_node() != store_->node_id()) {
      return fail(absl::FailedPreconditionError(absl::StrCat(
          "kind: '", org.id(),
          "' runs its own node, where its children and members are entered; "
          "its kind cannot be corrected from the parent's node (its name "
          "can)")));
    }
    auto children = ActiveChildren(*store_, org.id());
    if (!children.ok()) return fail(children.status());
    auto counters = store_->GetCounters(org.id());
    if (!counters.ok()) return fail(counters.status());
    if (auto s = CheckKindChange(both.parent, org, req.kind(), *children,
                                 counters->members());
        !s.ok()) {
      return fail(s);
    }
    what.push_back(absl::StrCat("kind ", OrgKindCode(org.kind()), " -> ",
                                OrgKindCode(req.kind())));
    corrected.set_kind(req.kind());
  }
  if (what.empty()) {
    return fail(absl::InvalidArgumentError(
        "nothing to correct: the name and kind are as registered"));
  }
  WriteSet w;
  w.PutOrg(corrected);
  w.Audit(AuditOf(
      caller, kAction, target, v1::AUDIT_OK,
      absl::StrCat(absl::StrJoin(what, "; "), "; reason: ", req.reason())));
  if (auto s = store_->Commit(w, caller.session.username).status(); !s.ok())
    return fail(s);
  v1::CorrectOrgRegistrationResponse resp;
  *resp.mutable_org() = std::move(corrected);
  MaskOrgContacts(resp.mutable_org(), /*keep_names=*/true);
  return resp;
}

absl::StatusOr<v1::DissolveOrgResponse> Admin::DissolveOrg(
    const CallContext& ctx, const v1::DissolveOrgRequest& req) {
  constexpr absl::string_view kAction = "DissolveOrg";
  constexpr bool kOwnNodeOk = false;
  // One commit holds every member who leaves; a larger union is dissolved
  // after its members are transferred or removed in smaller steps.
  constexpr size_t kMaxLeaving = 100'000;
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  const std::string target = OrgTarget(req.org_id());
  auto fail = [&](absl::Status s) {
    return Fail(caller, kAction, target, std::move(s));
  };
  absl::MutexLock lock(&registration_mu_);
  ASSIGN_OR_RETURN(ChildAndParent both,
                   HostedChild(caller, kAction, req.org_id(), kOwnNodeOk));
  v1::Org& org = both.child;
  if (auto s = ValidateText("reason", req.reason(), kMaxReasonChars, true);
      !s.ok()) {
    return fail(s);
  }
  // Bottom-up: a union with active children would leave them without a
  // parent.
  auto children = ActiveChildren(*store_, org.id());
  if (!children.ok()) return fail(children.status());
  std::vector<std::string> active_children;
  for (const v1::Org& c : *children) active_children.push_back(c.id());
  if (!active_children.empty()) {
    return fail(absl::FailedPreconditionError(absl::StrCat(
        "'", org.id(), "' has ", active_children.size(),
        " active child organisations (",
        absl::StrJoin(active_children.begin(),
                      active_children.begin() +
                          std::min<size_t>(active_children.size(), 5),
                      ", "),
        active_children.size() > 5 ? ", ..." : "",
        "); dissolve or move them first")));
  }
  std::vector<v1::Member> leaving;
  for (std::string after;;) {
    auto page = store_->ListMembers(org.id(), after, 1000);
    if (!page.ok()) return fail(page.status());
    if (page->empty()) break;
    after = page->back().id();  // Before the records are moved from.
    const bool last = page->size() < 1000;
    for (v1::Member& m : *page) {
      if (m.status() == v1::MEMBER_ACTIVE) leaving.push_back(std::move(m));
    }
    if (last) break;
    if (leaving.size() > kMaxLeaving) break;
  }
  if (!leaving.empty() && !req.members_leave()) {
    return fail(absl::FailedPreconditionError(absl::StrCat(
        "'", org.id(), "' has ", leaving.size(),
        " active members: transfer them to another union first, or mark "
        "them as leaving with the dissolution (members_leave)")));
  }
  if (leaving.size() > kMaxLeaving) {
    return fail(absl::FailedPreconditionError(absl::StrCat(
        "'", org.id(), "' has more than ", kMaxLeaving,
        " active members; remove or transfer some of them first")));
  }
  auto accounts = store_->ListAccounts(org.id());
  if (!accounts.ok()) return fail(accounts.status());

  const int64_t now = clock_->NowMs();
  WriteSet w;
  for (v1::Member& m : leaving) {
    m.set_status(v1::MEMBER_REMOVED);
    m.set_updated_at_ms(now);
    w.PutMember(m);
  }
  std::vector<std::string> disabled;
  for (v1::Account& a : *accounts) {
    if (a.state() == v1::CREDENTIAL_DISABLED) continue;
    a.set_state(v1::CREDENTIAL_DISABLED);
    a.set_credential_epoch(AuthorityEpoch(a.credential_epoch()));
    a.set_credential_author_org(caller.session.org_id);
    a.set_updated_at_ms(now);
    w.PutAccount(a);
    disabled.push_back(a.username());
  }
  org.set_status(v1::ORG_DISSOLVED);
  w.PutOrg(org);
  w.Audit(AuditOf(
      caller, kAction, target, v1::AUDIT_OK,
      absl::StrCat("dissolved; ", leaving.size(), " members marked as leaving",
                   disabled.empty() ? "" : "; accounts disabled: ",
                   absl::StrJoin(disabled, ", "), "; reason: ", req.reason())));
  if (auto s = store_->Commit(w, caller.session.username).status(); !s.ok())
    return fail(s);
  for (const std::string& username : disabled) {
    sessions_.RevokeAccount(username);
  }
  v1::DissolveOrgResponse resp;
  *resp.mutable_org() = std::move(org);
  MaskOrgContacts(resp.mutable_org(), /*keep_names=*/true);
  resp.set_members_left(static_cast<int32_t>(leaving.size()));
  resp.set_accounts_disabled(static_cast<int32_t>(disabled.size()));
  return resp;
}

absl::StatusOr<v1::RecordTrainingResponse> Admin::RecordTraining(
    const CallContext& ctx, const v1::RecordTrainingRequest& req) {
  constexpr absl::string_view kAction = "RecordTraining";
  constexpr bool kOwnNodeOk = true;
  constexpr int kMaxTrainings = 100;
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  const std::string target = OrgTarget(req.org_id());
  auto fail = [&](absl::Status s) {
    return Fail(caller, kAction, target, std::move(s));
  };
  absl::MutexLock lock(&registration_mu_);
  ASSIGN_OR_RETURN(ChildAndParent both,
                   HostedChild(caller, kAction, req.org_id(), kOwnNodeOk));
  v1::Org& org = both.child;
  const v1::Training& in = req.training();
  if (auto s = ValidateText("training.trainee", in.trainee(), 50, true);
      !s.ok()) {
    return fail(s);
  }
  if (auto s = ValidateText("training.trainer", in.trainer(), 100, true);
      !s.ok()) {
    return fail(s);
  }
  auto day = ParseDate("training.date", in.date());
  if (!day.ok()) return fail(day.status());
  const absl::CivilDay today = ChinaCivilDay(clock_->NowMs());
  if (*day > today || *day < absl::CivilDay(2000, 1, 1)) {
    return fail(absl::InvalidArgumentError(absl::StrCat(
        "training.date: ", in.date(), " is not between 2000-01-01 and today")));
  }
  if (org.trainings_size() >= kMaxTrainings) {
    return fail(absl::FailedPreconditionError(
        absl::StrCat("'", org.id(), "' already has ", kMaxTrainings,
                     " trainings recorded")));
  }
  v1::Training* t = org.add_trainings();
  t->set_trainee(in.trainee());
  t->set_date(in.date());
  t->set_trainer(in.trainer());
  t->set_recorded_by(caller.session.username);
  WriteSet w;
  w.PutOrg(org);
  w.Audit(AuditOf(caller, kAction, target, v1::AUDIT_OK,
                  absl::StrCat(in.trainee(), " trained on ", in.date(), " by ",
                               in.trainer())));
  if (auto s = store_->Commit(w, caller.session.username).status(); !s.ok())
    return fail(s);
  v1::RecordTrainingResponse resp;
  *resp.mutable_org() = std::move(org);
  MaskOrgContacts(resp.mutable_org(), /*keep_names=*/true);
  return resp;
}

}  // namespace unionsync
