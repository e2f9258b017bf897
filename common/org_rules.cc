#include "common/org_rules.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "common/validation.h"
#include "unionsync/v1/model.pb.h"

namespace unionsync {
namespace {

using v1::OrgKind;

// One row of the R1 tier table. The Chinese names are the ones in model.proto
// and must stay byte-identical to them: they are what users type in the
// template (R5).
struct KindInfo {
  OrgKind kind;
  absl::string_view code;
  absl::string_view chinese;
  int min_tier;
  int max_tier;
  bool grassroots;
};

constexpr KindInfo kKinds[] = {
    {v1::CITY_FEDERATION, "city_federation", "市总工会", 1, 1, false},
    {v1::DEV_ZONE_FEDERATION, "dev_zone_federation", "开发区总工会", 2, 2,
     false},
    {v1::DISTRICT_FEDERATION, "district_federation", "区（县）市总工会", 2, 2,
     false},
    {v1::INDUSTRY_UNION, "industry_union", "市产业（系统）工会", 2, 2, false},
    {v1::CITY_DIRECT_GRASSROOTS, "city_direct_grassroots", "市总直属基层工会",
     2, 2, true},
    {v1::TOWNSHIP_FEDERATION, "township_federation", "乡镇（街道）工会联合会",
     3, 3, false},
    {v1::PARK_FEDERATION, "park_federation",
     "县（区）属省级以上开发区（产业园区）工会联合会", 3, 3, false},
    {v1::JOINT_GRASSROOTS, "joint_grassroots", "基层联合工会", 3, 4, true},
    {v1::INDEPENDENT_GRASSROOTS, "independent_grassroots", "基层法人独立工会",
     3, 4, true},
    {v1::VILLAGE_JOINT, "village_joint", "村（社区）联合工会", 4, 4, true},
};

const KindInfo* FindKind(OrgKind kind) {
  for (const KindInfo& info : kKinds) {
    if (info.kind == kind) return &info;
  }
  return nullptr;
}

// The affiliation table of R1.1: the kinds that may be created directly under
// `parent`.
std::vector<OrgKind> AllowedChildren(OrgKind parent) {
  switch (parent) {
    case v1::CITY_FEDERATION:
      return {v1::DEV_ZONE_FEDERATION, v1::DISTRICT_FEDERATION,
              v1::INDUSTRY_UNION, v1::CITY_DIRECT_GRASSROOTS};
    case v1::DISTRICT_FEDERATION:
      return {v1::TOWNSHIP_FEDERATION, v1::PARK_FEDERATION,
              v1::JOINT_GRASSROOTS, v1::INDEPENDENT_GRASSROOTS};
    case v1::DEV_ZONE_FEDERATION:
      return {v1::PARK_FEDERATION, v1::JOINT_GRASSROOTS,
              v1::INDEPENDENT_GRASSROOTS};
    case v1::INDUSTRY_UNION:
      return {v1::JOINT_GRASSROOTS, v1::INDEPENDENT_GRASSROOTS};
    case v1::TOWNSHIP_FEDERATION:
      return {v1::VILLAGE_JOINT, v1::JOINT_GRASSROOTS,
              v1::INDEPENDENT_GRASSROOTS};
    case v1::PARK_FEDERATION:
      return {v1::JOINT_GRASSROOTS, v1::INDEPENDENT_GRASSROOTS};
    default:
      return {};
  }
}

bool IsBlank(absl::string_view s) {
  return absl::StripAsciiWhitespace(s).empty();
}

// Names quoted in messages are ids the caller chose, never personal data.
std::string ParentLabel(const v1::Org& parent) {
  return absl::StrCat("parent '", parent.id(), "' (",
                      OrgKindLabel(parent.kind()), ")");
}

absl::Status ValidateContact(absl::string_view prefix, const v1::Contact& c) {
  if (!c.name().empty()) {
    RETURN_IF_ERROR(
        ValidateText(absl::StrCat(prefix, ".name"), c.name(), 100, false));
  }
  if (!c.phone().empty()) {
    RETURN_IF_ERROR(ValidateMobile(absl::StrCat(prefix, ".phone"), c.phone()));
  }
  if (!c.trained_date().empty()) {
    RETURN_IF_ERROR(
        ValidateDate(absl::StrCat(prefix, ".trained_date"), c.trained_date()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::string_view OrgKindChineseName(OrgKind kind) {
  if (kind == v1::ORG_KIND_UNSPECIFIED) return "未指定";
  const KindInfo* info = FindKind(kind);
  return info == nullptr ? "" : info->chinese;
}

absl::string_view OrgKindCode(OrgKind kind) {
  if (kind == v1::ORG_KIND_UNSPECIFIED) return "org_kind_unspecified";
  const KindInfo* info = FindKind(kind);
  return info == nullptr ? "" : info->code;
}

std::string OrgKindLabel(OrgKind kind) {
  if (kind != v1::ORG_KIND_UNSPECIFIED && FindKind(kind) == nullptr) {
    return absl::StrCat("org kind ", static_cast<int>(kind));
  }
  return absl::StrCat(OrgKindCode(kind), " (", OrgKindChineseName(kind), ")");
}

absl::StatusOr<OrgKind> ParseOrgKind(absl::string_view code_or_chinese_name) {
  const absl::string_view s = absl::StripAsciiWhitespace(code_or_chinese_name);
  const std::string chinese =
      absl::StrReplaceAll(s, {{"(", "（"}, {")", "）"}});
  for (const KindInfo& info : kKinds) {
    if (absl::EqualsIgnoreCase(s, info.code) || chinese == info.chinese)
      return info.kind;
  }
  if (s.empty()) return absl::InvalidArgumentError("kind: is required");
  return absl::InvalidArgumentError(
      "kind: not a known organisation kind; use a code such as "
      "district_federation or a "
      "Chinese name such as 区（县）市总工会");
}

bool KindAllowedAtTier(OrgKind kind, int tier) {
  const KindInfo* info = FindKind(kind);
  return info != nullptr && tier >= info->min_tier && tier <= info->max_tier;
}

bool IsGrassroots(OrgKind kind) {
  const KindInfo* info = FindKind(kind);
  return info != nullptr && info->grassroots;
}

absl::Status CheckParentChild(const v1::Org& parent, OrgKind child_kind) {
  // State of the parent first: a dissolved parent refuses every child, whatever
  // its kind.
  if (parent.status() != v1::ORG_ACTIVE) {
    return absl::FailedPreconditionError(
        absl::StrCat(ParentLabel(parent), " is ",
                     parent.status() == v1::ORG_DISSOLVED ? "dissolved (已撤销)"
                                                          : "not active",
                     "; no child organisation can be created under it"));
  }
  if (child_kind == v1::ORG_KIND_UNSPECIFIED) {
    return absl::InvalidArgumentError("kind: is required");
  }
  if (FindKind(child_kind) == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("kind: ", static_cast<int>(child_kind),
                     " is not a known organisation kind"));
  }
  const std::string child_label = OrgKindLabel(child_kind);
  if (!KindAllowedAtTier(parent.kind(), parent.tier())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "parent_id: ", ParentLabel(parent),
        " is inconsistent: its kind is not allowed at tier ", parent.tier()));
  }
  if (IsGrassroots(parent.kind())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "kind: cannot create ", child_label, " under ", ParentLabel(parent),
        ": a grassroots union is a leaf and has no child organisations"));
  }
  const int child_tier = parent.tier() + 1;
  if (child_tier > kMaxTier) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tier: cannot create ", child_label, " under ", ParentLabel(parent),
        ": tier ", child_tier, " is below the lowest tier ", kMaxTier));
  }
  if (!KindAllowedAtTier(child_kind, child_tier)) {
    return absl::InvalidArgumentError(
        absl::StrCat("kind: ", child_label, " is not allowed at tier ",
                     child_tier, " (under ", ParentLabel(parent), ")"));
  }
  const std::vector<OrgKind> allowed = AllowedChildren(parent.kind());
  for (OrgKind k : allowed) {
    if (k == child_kind) return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "kind: ", child_label, " cannot be created under ", ParentLabel(parent),
      "; allowed there: ",
      absl::StrJoin(allowed, ", ", [](std::string* out, OrgKind k) {
        absl::StrAppend(out, OrgKindCode(k));
      })));
}

int ProfileCompleteness(const v1::Org& org) {
  const bool present[] = {
      !IsBlank(org.credit_code()),        !IsBlank(org.chair().name()),
      !IsBlank(org.chair().phone()),      !IsBlank(org.data_admin().name()),
      !IsBlank(org.data_admin().phone()), !IsBlank(org.contact().name()),
      !IsBlank(org.contact().phone()),    org.employee_count() > 0,
      !IsBlank(org.founding_date()),      !IsBlank(org.address()),
  };
  int filled = 0;
  for (bool p : present) filled += p ? 1 : 0;
  return filled * 100 / static_cast<int>(sizeof(present) / sizeof(present[0]));
}

bool IsProfileComplete(const v1::Org& org) {
  return ProfileCompleteness(org) == 100;
}

absl::Status ValidateOrgProfile(const v1::Org& org) {
  if (!org.credit_code().empty())
    RETURN_IF_ERROR(ValidateCreditCode(org.credit_code()));
  RETURN_IF_ERROR(ValidateContact("chair", org.chair()));
  RETURN_IF_ERROR(ValidateContact("data_admin", org.data_admin()));
  RETURN_IF_ERROR(ValidateContact("contact", org.contact()));
  constexpr int kMaxEmployees = 10'000'000;
  if (org.employee_count() < 0 || org.employee_count() > kMaxEmployees) {
    return absl::InvalidArgumentError(
        absl::StrCat("employee_count: ", org.employee_count(),
                     " is out of range 0..", kMaxEmployees));
  }
  if (!org.founding_date().empty()) {
    RETURN_IF_ERROR(ValidateDate("founding_date", org.founding_date()));
  }
  if (!org.address().empty()) {
    RETURN_IF_ERROR(ValidateText("address", org.address(), 200, false));
  }
  return absl::OkStatus();
}

bool RegionConfirmed(const v1::Member& m) {
  return !m.confirmed_region_code().empty() &&
         absl::StartsWith(m.id_number(), m.confirmed_region_code());
}

absl::Status ValidateMember(const v1::Member& m, absl::CivilDay today) {
  RETURN_IF_ERROR(ValidateText("name", m.name(), 50, true));
  if (const std::string& c = m.confirmed_region_code();
      !c.empty() && (c.size() != 6 ||
                     !std::all_of(c.begin(), c.end(), absl::ascii_isdigit))) {
    return absl::InvalidArgumentError(
        "confirmed_region_code: must be the 6 digits of the region code "
        "confirmed, or empty");
  }
  ASSIGN_OR_RETURN(
      const IdNumberInfo id,
      ParseIdNumber(m.id_number(), today,
                    RegionConfirmed(m) ? RegionCheck::kConfirmedUnlisted
                                       : RegionCheck::kListed));
  if (m.gender() == v1::GENDER_UNSPECIFIED) {
    return absl::InvalidArgumentError("gender: is required");
  }
  if (!v1::Gender_IsValid(m.gender())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "gender: ", static_cast<int>(m.gender()), " is not a valid value"));
  }
  if ((m.gender() == v1::MALE) != id.male) {
    return absl::InvalidArgumentError(
        absl::StrCat("gender: ", v1::Gender_Name(m.gender()),
                     " does not match id_number, whose 17th digit is ",
                     id.male ? "odd (male)" : "even (female)"));
  }
  if (!m.phone().empty()) RETURN_IF_ERROR(ValidateMobile("phone", m.phone()));
  RETURN_IF_ERROR(ValidateText("ethnicity", m.ethnicity(), 20, false));
  RETURN_IF_ERROR(ValidateText("workplace", m.workplace(), 100, false));
  if (!m.join_date().empty())
    RETURN_IF_ERROR(ValidateDate("join_date", m.join_date()));
  // Characters before length, so that a number typed in full-width digits gets
  // the useful message.
  for (size_t i = 0; i < m.card_number().size(); ++i) {
    const char c = m.card_number()[i];
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') {
      return absl::InvalidArgumentError(
          absl::StrCat("card_number: character ", i + 1,
                       " is not allowed; use A-Z, a-z, 0-9 and '-'"));
    }
  }
  if (m.card_number().size() > 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("card_number: must be at most 32 characters, got ",
                     m.card_number().size()));
  }
  if (!v1::Education_IsValid(m.education())) {
    return absl::InvalidArgumentError(
        absl::StrCat("education: ", static_cast<int>(m.education()),
                     " is not a valid value"));
  }
  if (!v1::DuesStatus_IsValid(m.dues_status())) {
    return absl::InvalidArgumentError(
        absl::StrCat("dues_status: ", static_cast<int>(m.dues_status()),
                     " is not a valid value"));
  }
  if (!v1::MemberStatus_IsValid(m.status())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "status: ", static_cast<int>(m.status()), " is not a valid value"));
  }
  return absl::OkStatus();
}

absl::Status ValidateMember(const v1::Member& m) {
  return ValidateMember(m, ChinaToday());
}

}  // namespace unionsync
