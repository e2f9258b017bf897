#include "cli/enums.h"

#include <algorithm>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "cli/args.h"

namespace unionsync::cli {
namespace {

template <typename E>
struct EnumName {
  E value;
  const char* name;     // Command-line spelling.
  const char* chinese;  // What clerks see.
};

constexpr EnumName<v1::OrgKind> kKinds[] = {
    {v1::CITY_FEDERATION, "city_federation", "市总工会"},
    {v1::DEV_ZONE_FEDERATION, "dev_zone_federation", "开发区总工会"},
    {v1::DISTRICT_FEDERATION, "district_federation", "区（县）市总工会"},
    {v1::INDUSTRY_UNION, "industry_union", "市产业（系统）工会"},
    {v1::CITY_DIRECT_GRASSROOTS, "city_direct_grassroots", "市总直属基层工会"},
    {v1::TOWNSHIP_FEDERATION, "township_federation", "乡镇（街道）工会联合会"},
    {v1::PARK_FEDERATION, "park_federation",
     "县（区）属省级以上开发区（产业园区）工会联合会"},
    {v1::JOINT_GRASSROOTS, "joint_grassroots", "基层联合工会"},
    {v1::INDEPENDENT_GRASSROOTS, "independent_grassroots", "基层法人独立工会"},
    {v1::VILLAGE_JOINT, "village_joint", "村（社区）联合工会"},
};

constexpr EnumName<v1::Role> kRoles[] = {
    {v1::DATA_ADMIN, "admin", "信息管理员"},
    {v1::REVIEWER, "reviewer", "审核查看员"},
    {v1::UNIT_LEADER, "leader", "单位负责人"},
    {v1::OPERATOR, "operator", "运维管理员"},
};

constexpr EnumName<v1::Gender> kGenders[] = {
    {v1::MALE, "male", "男"},
    {v1::FEMALE, "female", "女"},
};

constexpr EnumName<v1::Education> kEducations[] = {
    {v1::PRIMARY_SCHOOL, "primary", "小学"},
    {v1::JUNIOR_HIGH, "junior_high", "初中"},
    {v1::SENIOR_HIGH, "senior_high", "高中/中专/技校"},
    {v1::JUNIOR_COLLEGE, "junior_college", "大专"},
    {v1::BACHELOR, "bachelor", "本科"},
    {v1::MASTER, "master", "硕士研究生"},
    {v1::DOCTORATE, "doctorate", "博士研究生"},
};

constexpr EnumName<v1::DuesStatus> kDues[] = {
    {v1::DUES_PAID, "paid", "已缴纳"},
    {v1::DUES_UNPAID, "unpaid", "未缴纳"},
    {v1::DUES_EXEMPT, "exempt", "免缴"},
};

constexpr EnumName<v1::OrgStatus> kOrgStatuses[] = {
    {v1::ORG_ACTIVE, "active", "正常"},
    {v1::ORG_DISSOLVED, "dissolved", "已撤销"},
};

constexpr EnumName<v1::MemberStatus> kMemberStatuses[] = {
    {v1::MEMBER_ACTIVE, "active", "在册"},
    {v1::MEMBER_REMOVED, "removed", "已移除"},
};

constexpr EnumName<v1::CredentialState> kCredentialStates[] = {
    {v1::CREDENTIAL_INITIAL, "initial", "初始密码"},
    {v1::CREDENTIAL_ACTIVE, "active", "正常"},
    {v1::CREDENTIAL_RESET, "reset", "已重置"},
    {v1::CREDENTIAL_DISABLED, "disabled", "已停用"},
};

template <typename E, size_t N>
absl::StatusOr<E> Parse(const EnumName<E> (&table)[N], absl::string_view what,
                        absl::string_view input) {
  std::string key = absl::AsciiStrToLower(
      absl::StrReplaceAll(absl::StripAsciiWhitespace(input), {{"-", "_"}}));
  std::vector<std::string> names;
  for (const EnumName<E>& e : table) {
    if (key == e.name) return e.value;
    names.push_back(e.name);
  }
  return absl::InvalidArgumentError(absl::StrCat("bad ", what, " \"", input,
                                                 "\": expected one of ",
                                                 absl::StrJoin(names, ", ")));
}

template <typename E, size_t N>
const EnumName<E>* Find(const EnumName<E> (&table)[N], E value) {
  for (const EnumName<E>& e : table) {
    if (e.value == value) return &e;
  }
  return nullptr;
}

template <typename E, size_t N>
std::string NameOf(const EnumName<E> (&table)[N], E value) {
  const EnumName<E>* e = Find(table, value);
  if (e != nullptr) return e->name;
  if (static_cast<int>(value) == 0) return "unspecified";
  return absl::StrCat("unknown(", static_cast<int>(value), ")");
}

template <typename E, size_t N>
std::string ChineseOf(const EnumName<E> (&table)[N], E value) {
  const EnumName<E>* e = Find(table, value);
  return e != nullptr ? e->chinese : "";
}

template <typename E, size_t N>
std::string Label(const EnumName<E> (&table)[N], E value) {
  const EnumName<E>* e = Find(table, value);
  if (e == nullptr) return NameOf(table, value);
  return absl::StrCat(e->name, " (", e->chinese, ")");
}

}  // namespace

absl::StatusOr<v1::OrgKind> ParseOrgKind(absl::string_view name) {
  return Parse(kKinds, "organisation kind", name);
}
absl::StatusOr<v1::Role> ParseRole(absl::string_view name) {
  return Parse(kRoles, "role", name);
}
absl::StatusOr<v1::Gender> ParseGender(absl::string_view name) {
  return Parse(kGenders, "gender", name);
}
absl::StatusOr<v1::Education> ParseEducation(absl::string_view name) {
  return Parse(kEducations, "education", name);
}
absl::StatusOr<v1::DuesStatus> ParseDuesStatus(absl::string_view name) {
  return Parse(kDues, "dues status", name);
}

std::string OrgKindName(v1::OrgKind kind) { return NameOf(kKinds, kind); }
std::string GenderName(v1::Gender gender) { return NameOf(kGenders, gender); }
std::string EducationName(v1::Education education) {
  return NameOf(kEducations, education);
}
std::string DuesStatusName(v1::DuesStatus dues) { return NameOf(kDues, dues); }
std::string RoleName(v1::Role role) { return NameOf(kRoles, role); }

std::string OrgKindChinese(v1::OrgKind kind) { return ChineseOf(kKinds, kind); }
std::string GenderChinese(v1::Gender gender) {
  return ChineseOf(kGenders, gender);
}
std::string EducationChinese(v1::Education education) {
  return ChineseOf(kEducations, education);
}
std::string DuesStatusChinese(v1::DuesStatus dues) {
  return ChineseOf(kDues, dues);
}
std::string RoleChinese(v1::Role role) { return ChineseOf(kRoles, role); }

std::string OrgStatusLabel(v1::OrgStatus status) {
  return Label(kOrgStatuses, status);
}
std::string MemberStatusLabel(v1::MemberStatus status) {
  return Label(kMemberStatuses, status);
}
std::string CredentialStateLabel(v1::CredentialState state) {
  return Label(kCredentialStates, state);
}

std::string OrgKindHelpTable() {
  int width = 0;
  for (const auto& k : kKinds) width = std::max(width, DisplayWidth(k.name));
  std::string out;
  for (const auto& k : kKinds) {
    absl::StrAppend(&out, "  ", PadRight(k.name, width), "  ", k.chinese, "\n");
  }
  return out;
}

}  // namespace unionsync::cli
