// The parent's correction of a child's registration (R2): the name and the
// kind it registered, within R1's kind rules. Region, system and parent are
// fixed at registration (progress is aggregated by them; store/stage.cc).
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

}  // namespace

absl::StatusOr<v1::CorrectOrgRegistrationResponse>
Admin::CorrectOrgRegistration(const CallContext& ctx,
                              const v1::CorrectOrgRegistrationRequest& req) {
  constexpr absl::string_view kAction = "CorrectOrgRegistration";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  const std::string target = OrgTarget(req.org_id());
  auto fail = [&](absl::Status s) {
    return Fail(caller, kAction, target, std::move(s));
  };
  // Outside the caller's subtree: denied before anything says whether the
  // organisation exists.
  RETURN_IF_ERROR(RequireInSubtree(caller, kAction, req.org_id()));
  auto org = store_->GetOrg(req.org_id());
  if (!org.ok()) return fail(org.status());
  RETURN_IF_ERROR(RequireOwnOrgAdmin(
      caller, kAction, org->parent_id(),
      "a registration is corrected by the parent that registered it (R2): "
      "org_id must be a direct child of your own organisation"));
  if (org->status() != v1::ORG_ACTIVE) {
    return fail(absl::FailedPreconditionError("the organisation is dissolved"));
  }
  if (org->host_node() != store_->node_id()) {
    return fail(absl::FailedPreconditionError(absl::StrCat(
        "'", org->id(), "' runs its own node ('", org->host_node(),
        "'); its registration cannot be corrected from the parent's node "
        "yet")));
  }
  auto parent = HostedOrg(org->parent_id());
  if (!parent.ok()) return fail(parent.status());
  if (auto s = ValidateText("reason", req.reason(), 200, true); !s.ok())
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
  v1::Org corrected = *org;
  if (!req.name().empty() && req.name() != org->name()) {
    what.push_back(
        absl::StrCat("name '", org->name(), "' -> '", req.name(), "'"));
    corrected.set_name(req.name());
  }
  if (req.kind() != v1::ORG_KIND_UNSPECIFIED && req.kind() != org->kind()) {
    auto children = store_->ListChildren(org->id(), "", 1000);
    if (!children.ok()) return fail(children.status());
    auto counters = store_->GetCounters(org->id());
    if (!counters.ok()) return fail(counters.status());
    if (auto s = CheckKindChange(*parent, *org, req.kind(), *children,
                                 counters->members());
        !s.ok()) {
      return fail(s);
    }
    what.push_back(absl::StrCat("kind ", OrgKindCode(org->kind()), " -> ",
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

}  // namespace unionsync
