// A parent's targets for its direct children (R8 at every tier): what the
// city expects of a district, a district of a street. They are kept in the
// parent's own profile, which the parent's node hosts, so they reach the hub
// with the parent's record. They apply at the parent's node and the hub, for
// children running their own node too (warnings go down to those); a parent's
// profile does not go down, so the child's own node measures its own total
// against the campaign.
#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/org_rules.h"
#include "common/status_macros.h"
#include "node/admin.h"
#include "node/admin_internal.h"

namespace unionsync {

using namespace admin_internal;  // NOLINT: this layer's own helpers.

absl::StatusOr<v1::SetChildTargetResponse> Admin::SetChildTarget(
    const CallContext& ctx, const v1::SetChildTargetRequest& req) {
  constexpr absl::string_view kAction = "SetChildTarget";
  // About the size of Changsha's member count many times over; a typo of a
  // few zeros is refused rather than shown as a 0.0% rate for a year.
  constexpr int64_t kMaxExpected = 100'000'000;
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  const std::string target = OrgTarget(req.org_id());
  auto fail = [&](absl::Status s) {
    return Fail(caller, kAction, target, std::move(s));
  };
  RETURN_IF_ERROR(RequireInSubtree(caller, kAction, req.org_id()));
  auto child = store_->GetOrg(req.org_id());
  if (!child.ok()) return fail(child.status());
  RETURN_IF_ERROR(RequireOwnOrgAdmin(
      caller, kAction, child->parent_id(),
      "a target is set by the parent for its own direct children: org_id "
      "must be a direct child of your own organisation"));
  const bool remove =
      req.expected_grassroots() == 0 && req.expected_members() == 0;
  // A dissolved child's target can still be removed.
  if (child->status() != v1::ORG_ACTIVE && !remove) {
    return fail(absl::FailedPreconditionError("the organisation is dissolved"));
  }
  for (const auto& [field, value] :
       {std::pair<const char*, int64_t>{"expected_grassroots",
                                        req.expected_grassroots()},
        {"expected_members", req.expected_members()}}) {
    if (value < 0 || value > kMaxExpected) {
      return fail(absl::InvalidArgumentError(absl::StrCat(
          field, ": must be between 0 and ", kMaxExpected, ", got ", value)));
    }
  }
  if (IsGrassroots(child->kind()) && req.expected_grassroots() > 1) {
    return fail(absl::InvalidArgumentError(absl::StrCat(
        "expected_grassroots: '", child->id(),
        "' is a grassroots union itself and has no unions below it; "
        "expected at most 1, got ",
        req.expected_grassroots())));
  }
  // The parent's profile is read, changed and written back: one writer of
  // it at a time (UpdateOrgProfile takes the same lock).
  absl::MutexLock lock(&profile_mu_);
  auto parent = HostedOrg(child->parent_id());
  if (!parent.ok()) return fail(parent.status());
  auto* targets = parent->mutable_child_targets();
  auto it = std::find_if(
      targets->begin(), targets->end(),
      [&](const v1::ChildTarget& t) { return t.child_id() == child->id(); });
  v1::SetChildTargetResponse resp;
  std::string detail;
  if (remove) {
    if (it == targets->end()) {
      return fail(absl::NotFoundError(absl::StrCat(
          "no target is set for '", child->id(), "'; nothing to remove")));
    }
    targets->erase(it);
    detail = "target removed";
  } else {
    if (it == targets->end()) {
      v1::ChildTarget* added = targets->Add();
      added->set_child_id(child->id());
      // Kept in child id order, so a reader can search it.
      std::sort(targets->begin(), targets->end(),
                [](const v1::ChildTarget& a, const v1::ChildTarget& b) {
                  return a.child_id() < b.child_id();
                });
      it = std::find_if(targets->begin(), targets->end(),
                        [&](const v1::ChildTarget& t) {
                          return t.child_id() == child->id();
                        });
    }
    it->set_expected_grassroots(req.expected_grassroots());
    it->set_expected_members(req.expected_members());
    it->set_set_by(caller.session.username);
    it->set_set_at_ms(clock_->NowMs());
    *resp.mutable_target() = *it;
    detail = absl::StrCat("expected ", req.expected_grassroots(),
                          " grassroots unions and ", req.expected_members(),
                          " members");
  }
  WriteSet w;
  w.PutOrgProfile(*parent);
  w.Audit(AuditOf(caller, kAction, target, v1::AUDIT_OK, detail));
  if (auto s = store_->Commit(w, caller.session.username).status(); !s.ok())
    return fail(s);
  return resp;
}

}  // namespace unionsync
