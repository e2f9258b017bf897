#include "synth/synth.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <unordered_set>

#include "absl/strings/match.h"
#include "absl/time/civil_time.h"
#include "common/org_rules.h"
#include "common/validation.h"
#include "testing/status_matchers.h"
#include "unionsync/v1/model.pb.h"

namespace unionsync {
namespace {

using ::testing::StartsWith;

constexpr int kSamples = 10000;
// The last day the synthetic data may refer to; keeps the tests independent of
// the real date.
const absl::CivilDay kToday(2020, 6, 30);

bool IsChangshaRegion(absl::string_view code) {
  for (const ChangshaRegion& r : ChangshaRegions()) {
    if (code == r.code) return true;
  }
  return false;
}

TEST(ChangshaRegionsTest, TheNineDivisions) {
  const auto regions = ChangshaRegions();
  ASSERT_EQ(regions.size(), 9u);
  const std::pair<const char*, const char*> expected[] = {
      {"430102", "芙蓉区"}, {"430103", "天心区"}, {"430104", "岳麓区"},
      {"430105", "开福区"}, {"430111", "雨花区"}, {"430112", "望城区"},
      {"430121", "长沙县"}, {"430181", "浏阳市"}, {"430182", "宁乡市"}};
  for (size_t i = 0; i < regions.size(); ++i) {
    EXPECT_STREQ(regions[i].code, expected[i].first);
    EXPECT_STREQ(regions[i].name, expected[i].second);
  }
}

TEST(IndustrySystemsTest, CodesAndNames) {
  const auto systems = IndustrySystems();
  ASSERT_EQ(systems.size(), 9u);
  std::set<std::string> codes;
  for (const IndustrySystem& s : systems) {
    codes.insert(s.code);
    EXPECT_OK(ValidateText("system", s.name, 20, true));
  }
  EXPECT_EQ(codes,
            (std::set<std::string>{"education", "health", "transport",
                                   "finance", "construction", "manufacturing",
                                   "commerce", "energy", "public_service"}));
  EXPECT_STREQ(systems[0].name, "教育");
  EXPECT_STREQ(systems[1].name, "卫生健康");
  EXPECT_STREQ(systems[5].name, "机械冶金");
  EXPECT_STREQ(systems[8].name, "机关事业");
}

TEST(SynthGeneratorTest, IdNumbersAreValid) {
  SynthGenerator gen(1);
  int male = 0;
  for (int i = 0; i < kSamples; ++i) {
    const std::string id = gen.IdNumber();
    ASSERT_OK_AND_ASSIGN(IdNumberInfo info, ParseIdNumber(id, kToday));
    EXPECT_TRUE(IsChangshaRegion(info.region_code)) << id;
    EXPECT_GE(info.birth_date, absl::CivilDay(1960, 1, 1)) << id;
    EXPECT_LE(info.birth_date, absl::CivilDay(2003, 12, 31)) << id;
    male += info.male ? 1 : 0;
  }
  // Both sexes, roughly half each.
  EXPECT_GT(male, kSamples * 45 / 100);
  EXPECT_LT(male, kSamples * 55 / 100);
}

TEST(SynthGeneratorTest, IdNumberForRegionHonoursRegionAndSex) {
  SynthGenerator gen(2);
  for (int i = 0; i < 1000; ++i) {
    const bool male = i % 2 == 0;
    const std::string id = gen.IdNumberForRegion("430104", male);
    ASSERT_OK_AND_ASSIGN(IdNumberInfo info, ParseIdNumber(id, kToday));
    EXPECT_EQ(info.region_code, "430104");
    EXPECT_EQ(info.male, male);
  }
  EXPECT_EQ(gen.IdNumberForRegion("4301", true), "");
  EXPECT_EQ(gen.IdNumberForRegion("43010a", true), "");
}

TEST(SynthGeneratorTest, CreditCodesAreValid) {
  SynthGenerator gen(3);
  int ma_style = 0;
  for (int i = 0; i < kSamples; ++i) {
    const std::string code = gen.CreditCode();
    EXPECT_OK(ValidateCreditCode(code)) << code;
    EXPECT_THAT(code, StartsWith("9143010"));
    // The embedded organisation code carries a valid GB 11714 check character
    // too.
    EXPECT_EQ(code[16], OrganizationCodeCheckChar(code.substr(8, 8))) << code;
    ma_style += absl::StartsWith(code.substr(8), "MA4") ? 1 : 0;
  }
  EXPECT_GT(ma_style, 0);
  EXPECT_LT(ma_style, kSamples);
}

TEST(SynthGeneratorTest, MobilesAreValid) {
  SynthGenerator gen(4);
  for (int i = 0; i < kSamples; ++i) {
    const std::string phone = gen.Mobile();
    EXPECT_OK(ValidateMobile(phone)) << phone;
  }
}

TEST(SynthGeneratorTest, NamesAreValidText) {
  SynthGenerator gen(5);
  for (int i = 0; i < 1000; ++i) {
    const std::string name = gen.PersonName();
    EXPECT_OK(ValidateText("name", name, 50, true));
    EXPECT_GE(Utf8Length(name), 2u);
    EXPECT_LE(Utf8Length(name), 4u);
    const std::string company = gen.CompanyName("岳麓区");
    EXPECT_THAT(company, StartsWith("长沙市岳麓区"));
    EXPECT_OK(ValidateText("workplace", company, 100, true));
  }
  EXPECT_THAT(gen.CompanyName(""), StartsWith("长沙"));
}

TEST(SynthGeneratorTest, MembersAreValid) {
  SynthGenerator gen(6);
  for (int i = 0; i < kSamples; ++i) {
    const v1::Member m = gen.Member("cs.furong.7");
    ASSERT_OK(ValidateMember(m, kToday)) << m.ShortDebugString();
    EXPECT_EQ(m.org_id(), "cs.furong.7");
    EXPECT_NE(m.education(), v1::EDUCATION_UNSPECIFIED);
    EXPECT_NE(m.dues_status(), v1::DUES_STATUS_UNSPECIFIED);
    EXPECT_EQ(m.status(), v1::MEMBER_ACTIVE);
    EXPECT_FALSE(m.ethnicity().empty());
    EXPECT_FALSE(m.workplace().empty());
    EXPECT_FALSE(m.card_number().empty());
    EXPECT_FALSE(m.phone().empty());
    // Joined at 16 or later, by the end of 2019.
    ASSERT_OK_AND_ASSIGN(IdNumberInfo id, ParseIdNumber(m.id_number(), kToday));
    ASSERT_OK_AND_ASSIGN(absl::CivilDay join,
                         ParseDate("join_date", m.join_date()));
    EXPECT_GE(join.year() - id.birth_date.year(), 16) << m.ShortDebugString();
    EXPECT_LE(join, absl::CivilDay(2019, 12, 31));
  }
}

TEST(SynthGeneratorTest, GrassrootsProfilesAreCompleteAndValid) {
  SynthGenerator gen(7);
  for (int i = 0; i < 1000; ++i) {
    const v1::Org org = gen.GrassrootsProfile();
    EXPECT_OK(ValidateOrgProfile(org)) << org.ShortDebugString();
    EXPECT_EQ(ProfileCompleteness(org), 100) << org.ShortDebugString();
    EXPECT_OK(ValidateText("name", org.name(), 100, true));
    EXPECT_FALSE(org.data_admin().trained_date().empty());
  }
}

TEST(SynthGeneratorTest, DeterministicBySeed) {
  SynthGenerator a(42), b(42), c(43);
  std::string sa, sb, sc;
  for (int i = 0; i < 100; ++i) {
    sa += a.IdNumber() + a.CreditCode() + a.Mobile() + a.PersonName() +
          a.Member("x").SerializeAsString() +
          a.GrassrootsProfile().SerializeAsString();
    sb += b.IdNumber() + b.CreditCode() + b.Mobile() + b.PersonName() +
          b.Member("x").SerializeAsString() +
          b.GrassrootsProfile().SerializeAsString();
    sc += c.IdNumber() + c.CreditCode() + c.Mobile() + c.PersonName() +
          c.Member("x").SerializeAsString() +
          c.GrassrootsProfile().SerializeAsString();
  }
  EXPECT_EQ(sa, sb);
  EXPECT_NE(sa, sc);
}

TEST(SynthGeneratorTest, GoldenOutputForSeed) {
  // Pins the stream across platforms and standard libraries: only the output of
  // std::mt19937_64, which the C++ standard fixes, feeds the generator. The
  // check characters were recomputed independently (ID 3, credit code K with
  // organisation code check 4). Update deliberately if the generator changes.
  SynthGenerator gen(2019);
  EXPECT_EQ(gen.IdNumber(), "430102196610086653");
  EXPECT_EQ(gen.CreditCode(), "91430103077299354K");
  EXPECT_EQ(gen.Mobile(), "16243690120");
  EXPECT_EQ(gen.PersonName(), "李文");
  EXPECT_EQ(gen.CompanyName("芙蓉区"), "长沙市芙蓉区长兴物流有限公司");
  EXPECT_EQ(UniqueIdNumber(0), "430121196310030008");
  EXPECT_EQ(UniqueIdNumber(1), "430111197002033524");
  EXPECT_EQ(UniqueIdNumber(1999999), "430111199709277169");
}

TEST(SynthGeneratorTest, UniformIsInRange) {
  SynthGenerator gen(8);
  EXPECT_EQ(gen.Uniform(0), 0u);
  EXPECT_EQ(gen.Uniform(1), 0u);
  std::set<uint64_t> seen;
  for (int i = 0; i < 1000; ++i) {
    const uint64_t v = gen.Uniform(7);
    ASSERT_LT(v, 7u);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 7u);
}

TEST(UniqueIdNumberTest, CapacityMatchesBirthRange) {
  EXPECT_EQ(absl::CivilDay(2003, 12, 31) - absl::CivilDay(1960, 1, 1) + 1,
            16071);
  EXPECT_EQ(kUniqueIdNumberCapacity, 144639000u);
}

TEST(UniqueIdNumberTest, DistinctAndValid) {
  constexpr uint64_t kCount = 200000;
  std::unordered_set<std::string> seen;
  seen.reserve(kCount);
  std::set<std::string> regions;
  for (uint64_t n = 0; n < kCount; ++n) {
    std::string id = UniqueIdNumber(n);
    ASSERT_OK(ValidateIdNumber(id, kToday)) << n;
    regions.insert(id.substr(0, 6));
    ASSERT_TRUE(seen.insert(std::move(id)).second) << "duplicate at n=" << n;
  }
  // Consecutive n spread over every region.
  EXPECT_EQ(regions.size(), 9u);
}

TEST(UniqueIdNumberTest, EdgesOfCapacity) {
  EXPECT_OK(
      ValidateIdNumber(UniqueIdNumber(kUniqueIdNumberCapacity - 1), kToday));
  EXPECT_NE(UniqueIdNumber(kUniqueIdNumberCapacity - 1), UniqueIdNumber(0));
  EXPECT_EQ(UniqueIdNumber(kUniqueIdNumberCapacity), "");
  EXPECT_EQ(UniqueIdNumber(~uint64_t{0}), "");
  // Deterministic.
  EXPECT_EQ(UniqueIdNumber(123456), UniqueIdNumber(123456));
}

}  // namespace
}  // namespace unionsync
