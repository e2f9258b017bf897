// The shipped campaign (monitor/campaigns/changsha-2019-2020.textproto,
// embedded at build time): it parses, holds R8's dates and totals, and gives
// every region and system expected counts, so a region can be behind.
#include "monitor/campaign.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "absl/strings/match.h"
#include "common/divisions.h"
#include "testing/status_matchers.h"

namespace unionsync {
namespace {

using ::testing::HasSubstr;

TEST(ShippedCampaignTest, HoldsTheNoticesDatesAndTotals) {
  const v1::CampaignConfig c = DefaultCampaign();
  EXPECT_EQ(c.start_date(), "2019-09-01");
  EXPECT_EQ(c.expected_grassroots(), 20000);
  EXPECT_EQ(c.expected_members(), 2000000);
  ASSERT_EQ(c.milestones_size(), 2);
  EXPECT_EQ(c.milestones(0).date(), "2019-12-31");
  EXPECT_DOUBLE_EQ(c.milestones(0).grassroots_fraction(), 0.8);
  EXPECT_EQ(c.milestones(0).members(), 800000);
  EXPECT_EQ(c.milestones(1).date(), "2020-06-30");
  // The trajectory at the milestones (R8).
  EXPECT_EQ(TargetOn(c, nullptr, "2019-12-31").grassroots, 16000);
  EXPECT_EQ(TargetOn(c, nullptr, "2019-12-31").members, 800000);
  EXPECT_EQ(TargetOn(c, nullptr, "2020-06-30").members, 2000000);
  EXPECT_EQ(c.rules().profile_days(), 14);
  // Targets count entered unions (建成), as the notice means.
  EXPECT_TRUE(c.entered().targets_count_entered());
  EXPECT_EQ(c.entered().min_members(), 1);
  EXPECT_EQ(c.rules().training_days(), 30);
}

TEST(ShippedCampaignTest, EveryRegionAndSystemHasExpectedCounts) {
  const v1::CampaignConfig c = DefaultCampaign();
  int64_t region_grassroots = 0, region_members = 0;
  std::set<std::string> regions, systems;
  for (const v1::AreaTarget& a : c.areas()) {
    EXPECT_GT(a.expected_grassroots(), 0) << a.scope();
    EXPECT_GT(a.expected_members(), 0) << a.scope();
    EXPECT_FALSE(a.label().empty()) << a.scope();
    if (absl::StartsWith(a.scope(), "region:")) {
      regions.insert(a.scope());
      region_grassroots += a.expected_grassroots();
      region_members += a.expected_members();
      // A current GB/T 2260 code of Changsha (4301xx), named as the
      // standard names it.
      auto d = FindDivision(a.scope().substr(7));
      ASSERT_TRUE(d.has_value()) << a.scope();
      EXPECT_TRUE(d->current) << a.scope();
      EXPECT_EQ(d->name, a.label());
      EXPECT_TRUE(absl::StartsWith(a.scope(), "region:4301")) << a.scope();
    } else {
      systems.insert(a.scope());
    }
  }
  // The nine county-level divisions cover the city: their counts add up to
  // the city's.
  EXPECT_EQ(regions.size(), 9u);
  EXPECT_EQ(region_grassroots, c.expected_grassroots());
  EXPECT_EQ(region_members, c.expected_members());
  EXPECT_EQ(systems.size(), 9u);
  // A region's trajectory follows the city's milestones in proportion.
  const v1::AreaTarget* furong = FindArea(c, "region:430102");
  ASSERT_NE(furong, nullptr);
  EXPECT_EQ(TargetOn(c, furong, "2019-12-31").grassroots, 1600);
  EXPECT_EQ(TargetOn(c, furong, "2019-12-31").members, 80000);
}

TEST(ShippedCampaignTest, LabelsComeFromTheFileOrTheDivisionTable) {
  EXPECT_EQ(DefaultLabel("region:430102"), "芙蓉区");
  EXPECT_EQ(DefaultLabel("system:education"), "教育系统");
  // Not in the file: the GB/T 2260 name (望城县, abolished in 2011).
  EXPECT_EQ(DefaultLabel("region:430122"), "望城县");
  EXPECT_EQ(DefaultLabel("region:439999"), "");
  EXPECT_EQ(DefaultLabel("system:unknown"), "");
}

TEST(ShippedCampaignTest, TheFileIsTheTextOperatorsStartFrom) {
  const absl::string_view text = ShippedCampaignText();
  EXPECT_THAT(std::string(text), HasSubstr("FIGURES THE CITY EDITS"));
  ASSERT_OK_AND_ASSIGN(v1::CampaignConfig parsed, ParseCampaign(text));
  EXPECT_EQ(parsed.areas_size(), DefaultCampaign().areas_size());
  // A broken copy names the line at fault.
  std::string broken(text);
  broken += "\nareas { scope: \"region:43010\" }\n";
  auto bad = ParseCampaign(broken);
  EXPECT_THAT(bad.status().message(), HasSubstr("a region is a 6-digit"));
  broken = std::string(text);
  const size_t at = broken.find("workforce_share: 0 ");
  ASSERT_NE(at, std::string::npos);
  broken.replace(at, 19, "workforce_share: 1.5 ");
  EXPECT_THAT(ParseCampaign(broken).status().message(),
              HasSubstr("entered.workforce_share: must be between 0 and 1"));
}

}  // namespace
}  // namespace unionsync
