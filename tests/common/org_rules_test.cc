#include "common/org_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "testing/status_matchers.h"
#include "unionsync/v1/model.pb.h"

namespace unionsync {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::unionsync::testing::IsOk;
using ::unionsync::testing::StatusIs;
using v1::OrgKind;

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;
const absl::CivilDay kToday(2020, 6, 30);

const std::vector<OrgKind>& AllKinds() {
  static const auto* kinds = new std::vector<OrgKind>{
      v1::CITY_FEDERATION,        v1::DEV_ZONE_FEDERATION,
      v1::DISTRICT_FEDERATION,    v1::INDUSTRY_UNION,
      v1::CITY_DIRECT_GRASSROOTS, v1::TOWNSHIP_FEDERATION,
      v1::PARK_FEDERATION,        v1::JOINT_GRASSROOTS,
      v1::INDEPENDENT_GRASSROOTS, v1::VILLAGE_JOINT};
  return *kinds;
}

// The lowest tier each kind may sit at, used to build a consistent parent.
int TierOf(OrgKind kind) {
  for (int tier = kMinTier; tier <= kMaxTier; ++tier) {
    if (KindAllowedAtTier(kind, tier)) return tier;
  }
  return 0;
}

v1::Org MakeOrg(OrgKind kind, int tier) {
  v1::Org org;
  org.set_id(absl::StrCat("cs.", OrgKindCode(kind), ".", tier));
  org.set_kind(kind);
  org.set_tier(tier);
  org.set_status(v1::ORG_ACTIVE);
  return org;
}

// ---- Names ----

TEST(OrgKindNamesTest, ChineseNamesMatchModelProto) {
  EXPECT_EQ(OrgKindChineseName(v1::CITY_FEDERATION), "市总工会");
  EXPECT_EQ(OrgKindChineseName(v1::DEV_ZONE_FEDERATION), "开发区总工会");
  EXPECT_EQ(OrgKindChineseName(v1::DISTRICT_FEDERATION), "区（县）市总工会");
  EXPECT_EQ(OrgKindChineseName(v1::INDUSTRY_UNION), "市产业（系统）工会");
  EXPECT_EQ(OrgKindChineseName(v1::CITY_DIRECT_GRASSROOTS), "市总直属基层工会");
  EXPECT_EQ(OrgKindChineseName(v1::TOWNSHIP_FEDERATION),
            "乡镇（街道）工会联合会");
  EXPECT_EQ(OrgKindChineseName(v1::PARK_FEDERATION),
            "县（区）属省级以上开发区（产业园区）工会联合会");
  EXPECT_EQ(OrgKindChineseName(v1::JOINT_GRASSROOTS), "基层联合工会");
  EXPECT_EQ(OrgKindChineseName(v1::INDEPENDENT_GRASSROOTS), "基层法人独立工会");
  EXPECT_EQ(OrgKindChineseName(v1::VILLAGE_JOINT), "村（社区）联合工会");
  EXPECT_EQ(OrgKindChineseName(v1::ORG_KIND_UNSPECIFIED), "未指定");
  EXPECT_EQ(OrgKindChineseName(static_cast<OrgKind>(42)), "");
}

TEST(OrgKindNamesTest, CodesAreLowerCaseEnumNames) {
  for (OrgKind kind : AllKinds()) {
    std::string name = v1::OrgKind_Name(kind);
    for (char& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_EQ(OrgKindCode(kind), name);
  }
  EXPECT_EQ(OrgKindCode(v1::ORG_KIND_UNSPECIFIED), "org_kind_unspecified");
  EXPECT_EQ(OrgKindCode(static_cast<OrgKind>(42)), "");
  EXPECT_EQ(OrgKindLabel(v1::DISTRICT_FEDERATION),
            "district_federation (区（县）市总工会)");
  EXPECT_EQ(OrgKindLabel(static_cast<OrgKind>(42)), "org kind 42");
}

TEST(ParseOrgKindTest, RoundTripsCodesAndChineseNames) {
  for (OrgKind kind : AllKinds()) {
    EXPECT_THAT(ParseOrgKind(OrgKindCode(kind)), IsOk());
    EXPECT_EQ(ParseOrgKind(OrgKindCode(kind)).value(), kind);
    EXPECT_EQ(ParseOrgKind(OrgKindChineseName(kind)).value(), kind);
    EXPECT_EQ(ParseOrgKind(v1::OrgKind_Name(kind)).value(),
              kind);  // Upper case.
  }
}

TEST(ParseOrgKindTest, ToleratesSpreadsheetVariants) {
  EXPECT_EQ(ParseOrgKind("  district_federation\t").value(),
            v1::DISTRICT_FEDERATION);
  EXPECT_EQ(ParseOrgKind("区(县)市总工会").value(), v1::DISTRICT_FEDERATION);
  EXPECT_EQ(ParseOrgKind("村(社区)联合工会 ").value(), v1::VILLAGE_JOINT);
}

TEST(ParseOrgKindTest, RefusesUnknown) {
  EXPECT_THAT(ParseOrgKind(""),
              StatusIs(kInvalid, HasSubstr("kind: is required")));
  EXPECT_THAT(ParseOrgKind("org_kind_unspecified"),
              StatusIs(kInvalid, HasSubstr("not a known organisation kind")));
  EXPECT_THAT(ParseOrgKind("未指定"), StatusIs(kInvalid));
  EXPECT_THAT(ParseOrgKind("district"), StatusIs(kInvalid));
  EXPECT_THAT(ParseOrgKind("总工会"), StatusIs(kInvalid));
}

// ---- Tiers and grassroots ----

TEST(KindAllowedAtTierTest, MatchesTheR1Table) {
  const std::set<std::pair<OrgKind, int>> allowed = {
      {v1::CITY_FEDERATION, 1},        {v1::DEV_ZONE_FEDERATION, 2},
      {v1::DISTRICT_FEDERATION, 2},    {v1::INDUSTRY_UNION, 2},
      {v1::CITY_DIRECT_GRASSROOTS, 2}, {v1::TOWNSHIP_FEDERATION, 3},
      {v1::PARK_FEDERATION, 3},        {v1::JOINT_GRASSROOTS, 3},
      {v1::JOINT_GRASSROOTS, 4},       {v1::INDEPENDENT_GRASSROOTS, 3},
      {v1::INDEPENDENT_GRASSROOTS, 4}, {v1::VILLAGE_JOINT, 4},
  };
  for (OrgKind kind : AllKinds()) {
    for (int tier = -1; tier <= 6; ++tier) {
      EXPECT_EQ(KindAllowedAtTier(kind, tier), allowed.count({kind, tier}) == 1)
          << OrgKindCode(kind) << " at tier " << tier;
    }
  }
  EXPECT_FALSE(KindAllowedAtTier(v1::ORG_KIND_UNSPECIFIED, 1));
  EXPECT_FALSE(KindAllowedAtTier(static_cast<OrgKind>(42), 2));
}

TEST(IsGrassrootsTest, OnlyTheLeafKinds) {
  const std::set<OrgKind> grassroots = {
      v1::CITY_DIRECT_GRASSROOTS, v1::JOINT_GRASSROOTS,
      v1::INDEPENDENT_GRASSROOTS, v1::VILLAGE_JOINT};
  for (OrgKind kind : AllKinds()) {
    EXPECT_EQ(IsGrassroots(kind), grassroots.count(kind) == 1)
        << OrgKindCode(kind);
  }
  EXPECT_FALSE(IsGrassroots(v1::ORG_KIND_UNSPECIFIED));
}

// ---- Parent / child ----

// The affiliation table of R1.1, written out independently of the
// implementation.
const std::set<std::pair<OrgKind, OrgKind>>& AllowedPairs() {
  static const auto* pairs = new std::set<std::pair<OrgKind, OrgKind>>{
      {v1::CITY_FEDERATION, v1::DEV_ZONE_FEDERATION},
      {v1::CITY_FEDERATION, v1::DISTRICT_FEDERATION},
      {v1::CITY_FEDERATION, v1::INDUSTRY_UNION},
      {v1::CITY_FEDERATION, v1::CITY_DIRECT_GRASSROOTS},
      {v1::DISTRICT_FEDERATION, v1::TOWNSHIP_FEDERATION},
      {v1::DISTRICT_FEDERATION, v1::PARK_FEDERATION},
      {v1::DISTRICT_FEDERATION, v1::JOINT_GRASSROOTS},
      {v1::DISTRICT_FEDERATION, v1::INDEPENDENT_GRASSROOTS},
      {v1::DEV_ZONE_FEDERATION, v1::PARK_FEDERATION},
      {v1::DEV_ZONE_FEDERATION, v1::JOINT_GRASSROOTS},
      {v1::DEV_ZONE_FEDERATION, v1::INDEPENDENT_GRASSROOTS},
      {v1::INDUSTRY_UNION, v1::JOINT_GRASSROOTS},
      {v1::INDUSTRY_UNION, v1::INDEPENDENT_GRASSROOTS},
      {v1::TOWNSHIP_FEDERATION, v1::VILLAGE_JOINT},
      {v1::TOWNSHIP_FEDERATION, v1::JOINT_GRASSROOTS},
      {v1::TOWNSHIP_FEDERATION, v1::INDEPENDENT_GRASSROOTS},
      {v1::PARK_FEDERATION, v1::JOINT_GRASSROOTS},
      {v1::PARK_FEDERATION, v1::INDEPENDENT_GRASSROOTS},
  };
  return *pairs;
}

TEST(CheckParentChildTest, WholeTable) {
  int allowed_count = 0;
  for (OrgKind parent_kind : AllKinds()) {
    // Every tier the parent kind may sit at (grassroots kinds may sit at 3 and
    // 4).
    for (int tier = kMinTier; tier <= kMaxTier; ++tier) {
      if (!KindAllowedAtTier(parent_kind, tier)) continue;
      const v1::Org parent = MakeOrg(parent_kind, tier);
      for (OrgKind child_kind : AllKinds()) {
        const absl::Status s = CheckParentChild(parent, child_kind);
        if (AllowedPairs().count({parent_kind, child_kind}) == 1) {
          EXPECT_OK(s) << OrgKindCode(child_kind) << " under "
                       << OrgKindCode(parent_kind);
          ++allowed_count;
        } else {
          EXPECT_THAT(s, StatusIs(kInvalid))
              << OrgKindCode(child_kind) << " under "
              << OrgKindCode(parent_kind);
        }
      }
    }
  }
  EXPECT_EQ(allowed_count, 18);
}

TEST(CheckParentChildTest, RefusedPairMessageNamesBothKinds) {
  const v1::Org industry = MakeOrg(v1::INDUSTRY_UNION, 2);
  EXPECT_THAT(
      CheckParentChild(industry, v1::TOWNSHIP_FEDERATION),
      StatusIs(
          kInvalid,
          AllOf(
              HasSubstr("township_federation (乡镇（街道）工会联合会)"),
              HasSubstr("industry_union (市产业（系统）工会)"),
              HasSubstr(
                  "allowed there: joint_grassroots, independent_grassroots"))));
  // A village joint union only sits under a township federation.
  EXPECT_THAT(
      CheckParentChild(MakeOrg(v1::DISTRICT_FEDERATION, 2), v1::VILLAGE_JOINT),
      StatusIs(
          kInvalid,
          HasSubstr(
              "village_joint (村（社区）联合工会) is not allowed at tier 3")));
  // A park federation sits under a district or a development zone, not under
  // the city.
  EXPECT_THAT(
      CheckParentChild(MakeOrg(v1::CITY_FEDERATION, 1), v1::PARK_FEDERATION),
      StatusIs(kInvalid, HasSubstr("not allowed at tier 2")));
  // A township federation is not under a development zone.
  EXPECT_THAT(CheckParentChild(MakeOrg(v1::DEV_ZONE_FEDERATION, 2),
                               v1::TOWNSHIP_FEDERATION),
              StatusIs(kInvalid, HasSubstr("cannot be created under")));
  // The root is never a child.
  EXPECT_THAT(
      CheckParentChild(MakeOrg(v1::CITY_FEDERATION, 1), v1::CITY_FEDERATION),
      StatusIs(kInvalid));
}

TEST(CheckParentChildTest, GrassrootsAreLeaves) {
  for (OrgKind kind : {v1::CITY_DIRECT_GRASSROOTS, v1::JOINT_GRASSROOTS,
                       v1::INDEPENDENT_GRASSROOTS}) {
    EXPECT_THAT(
        CheckParentChild(MakeOrg(kind, TierOf(kind)), v1::JOINT_GRASSROOTS),
        StatusIs(kInvalid, HasSubstr("grassroots union is a leaf")));
  }
}

TEST(CheckParentChildTest, NoFifthTier) {
  // A tier-4 grassroots parent: refused as a leaf before the tier is even
  // considered.
  EXPECT_THAT(CheckParentChild(MakeOrg(v1::INDEPENDENT_GRASSROOTS, 4),
                               v1::JOINT_GRASSROOTS),
              StatusIs(kInvalid));
  EXPECT_THAT(CheckParentChild(MakeOrg(v1::VILLAGE_JOINT, 4),
                               v1::INDEPENDENT_GRASSROOTS),
              StatusIs(kInvalid));
}

TEST(CheckParentChildTest, DissolvedOrInactiveParent) {
  v1::Org parent = MakeOrg(v1::DISTRICT_FEDERATION, 2);
  parent.set_status(v1::ORG_DISSOLVED);
  EXPECT_THAT(CheckParentChild(parent, v1::JOINT_GRASSROOTS),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("dissolved (已撤销)")));
  parent.set_status(v1::ORG_STATUS_UNSPECIFIED);
  EXPECT_THAT(
      CheckParentChild(parent, v1::JOINT_GRASSROOTS),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not active")));
}

TEST(CheckParentChildTest, BadKindsAndInconsistentParent) {
  const v1::Org city = MakeOrg(v1::CITY_FEDERATION, 1);
  EXPECT_THAT(CheckParentChild(city, v1::ORG_KIND_UNSPECIFIED),
              StatusIs(kInvalid, HasSubstr("kind: is required")));
  EXPECT_THAT(
      CheckParentChild(city, static_cast<OrgKind>(42)),
      StatusIs(kInvalid, HasSubstr("42 is not a known organisation kind")));
  // A district federation recorded at tier 3 is corrupt: refuse rather than
  // derive tier 4.
  EXPECT_THAT(CheckParentChild(MakeOrg(v1::DISTRICT_FEDERATION, 3),
                               v1::JOINT_GRASSROOTS),
              StatusIs(kInvalid, HasSubstr("is inconsistent")));
  EXPECT_THAT(CheckParentChild(MakeOrg(v1::ORG_KIND_UNSPECIFIED, 1),
                               v1::DISTRICT_FEDERATION),
              StatusIs(kInvalid));
}

// ---- Profile completeness and validity ----

v1::Org CompleteProfile() {
  v1::Org org = MakeOrg(v1::INDEPENDENT_GRASSROOTS, 3);
  org.set_credit_code("91350100M000100Y43");  // Published GB 32100 sample.
  org.mutable_chair()->set_name("张伟");
  org.mutable_chair()->set_phone("13800138000");
  org.mutable_data_admin()->set_name("李娜");
  org.mutable_data_admin()->set_phone("13912345678");
  org.mutable_data_admin()->set_trained_date("2019-06-01");
  org.mutable_contact()->set_name("王芳");
  org.mutable_contact()->set_phone("15074800000");
  org.set_employee_count(120);
  org.set_founding_date("2005-03-15");
  org.set_address("湖南省长沙市芙蓉区五一大道1号");
  return org;
}

TEST(ProfileCompletenessTest, CountsTenFields) {
  v1::Org org = CompleteProfile();
  EXPECT_EQ(ProfileCompleteness(org), 100);
  EXPECT_TRUE(IsProfileComplete(org));

  EXPECT_EQ(ProfileCompleteness(MakeOrg(v1::INDEPENDENT_GRASSROOTS, 3)), 0);

  // Clearing one field at a time drops exactly 10 points each.
  int expected = 100;
  const std::vector<void (*)(v1::Org*)> clear = {
      [](v1::Org* o) { o->clear_credit_code(); },
      [](v1::Org* o) { o->mutable_chair()->clear_name(); },
      [](v1::Org* o) { o->mutable_chair()->clear_phone(); },
      [](v1::Org* o) { o->mutable_data_admin()->clear_name(); },
      [](v1::Org* o) { o->mutable_data_admin()->clear_phone(); },
      [](v1::Org* o) { o->mutable_contact()->clear_name(); },
      [](v1::Org* o) { o->mutable_contact()->clear_phone(); },
      [](v1::Org* o) { o->set_employee_count(0); },
      [](v1::Org* o) { o->clear_founding_date(); },
      [](v1::Org* o) { o->clear_address(); },
  };
  for (auto* f : clear) {
    f(&org);
    expected -= 10;
    EXPECT_EQ(ProfileCompleteness(org), expected);
    EXPECT_FALSE(IsProfileComplete(org));
  }
  EXPECT_EQ(expected, 0);
}

TEST(ProfileCompletenessTest, BlankAndNegativeCountAsMissing) {
  v1::Org org = CompleteProfile();
  org.set_address("   ");
  EXPECT_EQ(ProfileCompleteness(org), 90);
  org.set_employee_count(-5);
  EXPECT_EQ(ProfileCompleteness(org), 80);
  // Trained date is not one of the ten.
  org = CompleteProfile();
  org.mutable_data_admin()->clear_trained_date();
  EXPECT_EQ(ProfileCompleteness(org), 100);
}

TEST(ValidateOrgProfileTest, AcceptsCompleteAndEmptyProfiles) {
  EXPECT_OK(ValidateOrgProfile(CompleteProfile()));
  EXPECT_OK(ValidateOrgProfile(MakeOrg(v1::INDEPENDENT_GRASSROOTS, 3)));
  v1::Org org = CompleteProfile();
  org.set_employee_count(10'000'000);
  EXPECT_OK(ValidateOrgProfile(org));
}

TEST(ValidateOrgProfileTest, NamesTheBadField) {
  struct Case {
    void (*mutate)(v1::Org*);
    const char* message;
  };
  const Case cases[] = {
      {[](v1::Org* o) { o->set_credit_code("91350100M000100Y44"); },
       "credit_code: check character is '4', expected '3'"},
      {[](v1::Org* o) { o->mutable_chair()->set_phone("12345"); },
       "chair.phone: "},
      {[](v1::Org* o) { o->mutable_data_admin()->set_phone("2380013800x"); },
       "data_admin.phone: "},
      {[](v1::Org* o) { o->mutable_contact()->set_phone("23800138000"); },
       "contact.phone: "},
      {[](v1::Org* o) { o->mutable_chair()->set_name(std::string(101, 'a')); },
       "chair.name: is 101 characters long"},
      {[](v1::Org* o) { o->mutable_contact()->set_name("王\n芳"); },
       "contact.name: "},
      {[](v1::Org* o) {
         o->mutable_data_admin()->set_trained_date("2019-02-29");
       },
       "data_admin.trained_date: day 29 does not exist"},
      {[](v1::Org* o) { o->set_founding_date("2005/03/15"); },
       "founding_date: must be a date"},
      {[](v1::Org* o) { o->set_address(std::string(201, 'a')); },
       "address: is 201 characters"},
      {[](v1::Org* o) { o->set_employee_count(-1); },
       "employee_count: -1 is out of range"},
      {[](v1::Org* o) { o->set_employee_count(10'000'001); },
       "employee_count: 10000001"},
  };
  for (const Case& c : cases) {
    v1::Org org = CompleteProfile();
    c.mutate(&org);
    EXPECT_THAT(ValidateOrgProfile(org),
                StatusIs(kInvalid, HasSubstr(c.message)))
        << c.message;
  }
}

// ---- Members ----

v1::Member ValidMember() {
  v1::Member m;
  m.set_org_id("cs.furong.1");
  m.set_name("张伟");
  m.set_gender(v1::FEMALE);
  m.set_id_number("11010519491231002X");  // GB 11643's example: female.
  m.set_ethnicity("汉族");
  m.set_phone("13800138000");
  m.set_education(v1::BACHELOR);
  m.set_workplace("长沙市芙蓉区华兴机械制造有限公司");
  m.set_join_date("2019-06-01");
  m.set_card_number("CS430102-00000001");
  m.set_dues_status(v1::DUES_PAID);
  m.set_status(v1::MEMBER_ACTIVE);
  return m;
}

TEST(ValidateMemberTest, AcceptsValidMember) {
  EXPECT_OK(ValidateMember(ValidMember(), kToday));
  EXPECT_OK(ValidateMember(ValidMember()));
  // Optional fields may be empty.
  v1::Member m = ValidMember();
  m.clear_phone();
  m.clear_ethnicity();
  m.clear_workplace();
  m.clear_join_date();
  m.clear_card_number();
  m.clear_education();
  m.clear_dues_status();
  EXPECT_OK(ValidateMember(m, kToday));
  // A male ID number with gender MALE.
  m.set_id_number("360426199101010071");
  m.set_gender(v1::MALE);
  EXPECT_OK(ValidateMember(m, kToday));
}

TEST(ValidateMemberTest, NamesTheBadField) {
  struct Case {
    void (*mutate)(v1::Member*);
    const char* message;
  };
  const Case cases[] = {
      {[](v1::Member* m) { m->clear_name(); }, "name: is required"},
      {[](v1::Member* m) { m->set_name(std::string(51, 'a')); },
       "name: is 51 characters long"},
      {[](v1::Member* m) { m->clear_id_number(); }, "id_number: is required"},
      {[](v1::Member* m) { m->set_id_number("110105194912310021"); },
       "id_number: check character is '1', expected 'X'"},
      {[](v1::Member* m) { m->set_id_number("11010519491231002x"); },
       "upper-case 'X'"},
      {[](v1::Member* m) { m->set_id_number("430102202007010011"); },
       "is after today"},
      {[](v1::Member* m) { m->clear_gender(); }, "gender: is required"},
      {[](v1::Member* m) { m->set_gender(v1::MALE); },
       "gender: MALE does not match id_number, whose 17th digit is even "
       "(female)"},
      {[](v1::Member* m) { m->set_gender(static_cast<v1::Gender>(7)); },
       "gender: 7 is not a valid value"},
      {[](v1::Member* m) { m->set_phone("1380013800"); },
       "phone: a mobile number has 11 digits"},
      {[](v1::Member* m) { m->set_ethnicity(std::string(21, 'a')); },
       "ethnicity: is 21"},
      {[](v1::Member* m) { m->set_workplace(std::string(101, 'a')); },
       "workplace: is 101"},
      {[](v1::Member* m) { m->set_join_date("2019-02-30"); },
       "join_date: day 30"},
      {[](v1::Member* m) { m->set_card_number(std::string(33, '1')); },
       "card_number: must be at most 32 characters, got 33"},
      {[](v1::Member* m) { m->set_card_number("CS 001"); },
       "card_number: character 3"},
      {[](v1::Member* m) { m->set_card_number("会员001"); },
       "card_number: character 1"},
      {[](v1::Member* m) { m->set_education(static_cast<v1::Education>(8)); },
       "education: 8 is not a valid value"},
      {[](v1::Member* m) {
         m->set_dues_status(static_cast<v1::DuesStatus>(-1));
       },
       "dues_status: -1"},
      {[](v1::Member* m) { m->set_status(static_cast<v1::MemberStatus>(3)); },
       "status: 3"},
  };
  for (const Case& c : cases) {
    v1::Member m = ValidMember();
    c.mutate(&m);
    EXPECT_THAT(ValidateMember(m, kToday),
                StatusIs(kInvalid, HasSubstr(c.message)))
        << c.message;
  }
}

TEST(ValidateMemberTest, CardNumberAtLimit) {
  v1::Member m = ValidMember();
  m.set_card_number(std::string(32, 'a'));
  EXPECT_OK(ValidateMember(m, kToday));
}

}  // namespace
}  // namespace unionsync
