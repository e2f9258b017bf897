#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/crypto.h"
#include "common/divisions.h"
#include "common/mask.h"
#include "common/org_rules.h"
#include "common/status_macros.h"
#include "common/validation.h"
#include "node/admin.h"
#include "node/admin_internal.h"

namespace unionsync {

using namespace admin_internal;  // NOLINT: this layer's own helpers.

namespace {

// The first registration field of `p` that is set and differs from `org`'s
// ("" when none): name, kind, tier, parent, region, system, status, host node
// or id.
std::string ChangedRegistrationField(const v1::Org& p, const v1::Org& org) {
  if (!p.id().empty() && p.id() != org.id()) return "id";
  if (!p.name().empty() && p.name() != org.name()) return "name";
  if (p.kind() != v1::ORG_KIND_UNSPECIFIED && p.kind() != org.kind())
    return "kind";
  if (p.tier() != 0 && p.tier() != org.tier()) return "tier";
  if (!p.parent_id().empty() && p.parent_id() != org.parent_id())
    return "parent_id";
  if (!p.region().empty() && p.region() != org.region()) return "region";
  if (!p.system().empty() && p.system() != org.system()) return "system";
  if (p.status() != v1::ORG_STATUS_UNSPECIFIED && p.status() != org.status())
    return "status";
  if (!p.host_node().empty() && p.host_node() != org.host_node())
    return "host_node";
  if (p.trainings_size() > 0) {
    bool same = p.trainings_size() == org.trainings_size();
    for (int i = 0; same && i < p.trainings_size(); ++i) {
      same = p.trainings(i).SerializeAsString() ==
             org.trainings(i).SerializeAsString();
    }
    if (!same) return "trainings";
  }
  return "";
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
  // An organisation lies in an area that exists today; an ID number may
  // carry an older code (common/validation.h), an organisation may not.
  const auto division = FindDivision(region);
  if (!division) {
    return absl::InvalidArgumentError(absl::StrCat(
        "region: ", region, " is not an administrative division code of ",
        DivisionSource()));
  }
  if (!division->current) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "region: %s (%s) is no longer a division; GB/T 2260 last listed it in "
        "%04d-%02d. Use today's code of the area",
        region, division->name, division->last_revision / 100,
        division->last_revision % 100));
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

}  // namespace

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
  const v1::Account account =
      NewAccount(admin, org.id(), v1::DATA_ADMIN, password.second, org.id(), "",
                 now, "system");
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
  if (auto s = CheckListedSystem(in.system()); !s.ok()) return fail(s);
  if (auto s = ValidateUsername("admin_username", req.admin_username());
      !s.ok())
    return fail(s);
  if (auto s = ValidateText("admin_display_name", req.admin_display_name(), 50,
                            false);
      !s.ok()) {
    return fail(s);
  }
  if (!req.leader_username().empty()) {
    if (auto s = ValidateUsername("leader_username", req.leader_username());
        !s.ok()) {
      return fail(s);
    }
    if (req.leader_username() == req.admin_username()) {
      return fail(absl::InvalidArgumentError(
          "leader_username: the leader and the data administrator are two "
          "people with two accounts"));
    }
  }
  if (auto s = ValidateText("leader_display_name", req.leader_display_name(),
                            50, false);
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
  const v1::Account account = NewAccount(
      req.admin_username(), org.id(), v1::DATA_ADMIN, password.second,
      parent->id(), req.admin_display_name(), now, caller.session.username);
  std::pair<std::string, std::string> leader_password;
  v1::Account leader;
  if (!req.leader_username().empty()) {
    ASSIGN_OR_RETURN(leader_password, NewInitialPassword());
    leader =
        NewAccount(req.leader_username(), org.id(), v1::UNIT_LEADER,
                   leader_password.second, parent->id(),
                   req.leader_display_name(), now, caller.session.username);
  }

  WriteSet w;
  w.PutOrg(org, WriteSet::Mode::kCreate);
  w.PutAccount(account, WriteSet::Mode::kCreate);
  if (!leader.username().empty()) {
    w.PutAccount(leader, WriteSet::Mode::kCreate);
  }
  w.Audit(AuditOf(caller, kAction, OrgTarget(org.id()), v1::AUDIT_OK,
                  absl::StrCat("admin account ", account.username(),
                               leader.username().empty()
                                   ? ""
                                   : absl::StrCat(", leader account ",
                                                  leader.username()))));
  if (auto s = store_->Commit(w, caller.session.username).status(); !s.ok())
    return fail(s);
  v1::CreateChildOrgResponse resp;
  *resp.mutable_org() = org;
  resp.set_admin_username(account.username());
  resp.set_initial_password(password.first);
  if (!leader.username().empty()) {
    resp.set_leader_username(leader.username());
    resp.set_leader_initial_password(leader_password.first);
  }
  return resp;
}

absl::StatusOr<v1::GetOrgResponse> Admin::GetOrg(const CallContext& ctx,
                                                 const v1::GetOrgRequest& req) {
  constexpr absl::string_view kAction = "GetOrg";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  RETURN_IF_ERROR(RequireInSubtree(caller, kAction, req.org_id()));
  v1::GetOrgResponse resp;
  ASSIGN_OR_RETURN(*resp.mutable_org(), store_->GetOrg(req.org_id()));
  for (int k = v1::OrgKind_MIN; k <= v1::OrgKind_MAX; ++k) {
    const auto kind = static_cast<v1::OrgKind>(k);
    if (kind != v1::ORG_KIND_UNSPECIFIED && v1::OrgKind_IsValid(k) &&
        CheckParentChild(resp.org(), kind).ok()) {
      resp.add_allowed_child_kinds(kind);
    }
  }
  for (const auto& [code, label] : options_.systems) {
    v1::Choice* c = resp.add_systems();
    c->set_code(code);
    c->set_label(label);
  }
  MaskOrgContacts(resp.mutable_org(), caller.session.role == v1::DATA_ADMIN);
  RETURN_IF_ERROR(AuditOnly(
      AuditOf(caller, kAction, OrgTarget(req.org_id()), v1::AUDIT_OK)));
  return resp;
}

absl::Status Admin::CheckListedSystem(absl::string_view system) const {
  if (system.empty() || options_.systems.empty()) return absl::OkStatus();
  std::vector<std::string> listed;
  for (const auto& [code, label] : options_.systems) {
    if (code == system) return absl::OkStatus();
    listed.push_back(absl::StrCat(code, " ", label));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("system: '", system,
                   "' is not one of the industry systems the city lists (",
                   absl::StrJoin(listed, ", "), ")"));
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
    v1::Org* org = resp.add_orgs();
    *org = std::move(orgs[i]);
    MaskOrgContacts(org, caller.session.role == v1::DATA_ADMIN);
  }
  if (static_cast<int>(orgs.size()) > *size) {
    resp.set_next_page_token(Base64Encode(resp.orgs(*size - 1).id()));
  }
  RETURN_IF_ERROR(AuditOnly(
      AuditOf(caller, kAction, OrgTarget(req.parent_id()), v1::AUDIT_OK,
              absl::StrCat(resp.orgs_size(), " organisations returned"))));
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
  const v1::Org& p = req.profile();
  absl::MutexLock lock(&profile_mu_);
  auto current = HostedOrg(req.org_id());
  if (!current.ok()) return fail(current.status());
  if (current->status() != v1::ORG_ACTIVE) {
    return fail(absl::FailedPreconditionError("the organisation is dissolved"));
  }
  v1::Org org = *current;
  // Targets are set with SetChildTarget; sent back as read they are fine, a
  // change here would be dropped, so it is refused.
  if (p.child_targets_size() > 0) {
    bool same = p.child_targets_size() == org.child_targets_size();
    for (int i = 0; same && i < p.child_targets_size(); ++i) {
      same = p.child_targets(i).SerializeAsString() ==
             org.child_targets(i).SerializeAsString();
    }
    if (!same) {
      return fail(absl::InvalidArgumentError(
          "profile.child_targets: a child's target is set with "
          "SetChildTarget"));
    }
  }
  // The registration is the parent tier's; a change to it sent here would be
  // dropped, so it is refused (a field sent back unchanged is fine).
  if (std::string field = ChangedRegistrationField(p, org); !field.empty()) {
    return fail(absl::InvalidArgumentError(absl::StrCat(
        "profile.", field,
        ": part of the organisation's registration, which the parent tier (",
        org.parent_id(),
        ") keeps; ask it to correct the registration. The profile holds the "
        "credit code, contacts, employee count, founding date and address")));
  }
  if (!p.credit_code().empty())
    org.set_credit_code(absl::AsciiStrToUpper(p.credit_code()));
  auto merge_contact = [](const v1::Contact& from, v1::Contact* to) {
    if (!from.name().empty()) to->set_name(from.name());
    // A masked phone sent back as it was read keeps the stored one.
    if (!from.phone().empty() && !IsMaskedPhoneOf(from.phone(), to->phone())) {
      to->set_phone(from.phone());
    }
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
  MaskOrgContacts(resp.mutable_org(), /*keep_names=*/true);
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

}  // namespace unionsync
