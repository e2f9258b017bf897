// Rules of the hub's evaluator added with the lifecycle work (issue 14):
// heartbeats (a node two tiers down that makes no change but is heard from
// through its parent's link is not "not synced"; one that falls silent is,
// after node_sync_hours), trainings (R6), incomplete profiles (R3) and the
// targets parents set for their children (R8 at every tier).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "monitor/campaign.h"
#include "monitor/evaluator.h"
#include "monitor/progress.h"
#include "repl/link_core.h"
#include "store/store.h"
#include "testing/status_matchers.h"
#include "tests/monitor/hub_fixture.h"

namespace unionsync {
namespace {

using ::testing::HasSubstr;
using testing::HubFixture;

constexpr int64_t kHourMs = 3'600'000;
constexpr char kDistrict[] = "430102";
constexpr char kStreet[] = "430102.s1";

class HeartbeatTest : public ::testing::Test {
 protected:
  // One store per test: ctest runs the tests of this file side by side.
  HeartbeatTest()
      : hub_(absl::StrCat(
            ::testing::TempDir(), "/rules-hub-",
            ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    hub_.RegisterDistrict(kDistrict, "430102");
    // The district registers a street that runs its own node.
    hub_.FromNode(kDistrict, {HubFixture::PutOrg(hub_.Org(
                                 kStreet, kDistrict, v1::TOWNSHIP_FEDERATION, 3,
                                 kStreet, "430102"))});
  }

  // An evaluator that sees the hub's link to the district as `link`.
  std::unique_ptr<WarningEvaluator> Evaluator(int64_t node_rules_from_ms = 0) {
    EvaluatorOptions o;
    o.campaign = DefaultCampaign();
    o.link_status = [this] { return std::vector<repl::LinkStats>{link_}; };
    o.node_rules_from_ms = node_rules_from_ms;
    FillRuleDefaults(o.campaign.mutable_rules());
    return std::make_unique<WarningEvaluator>(&hub_.store(), &hub_.clock(), o);
  }

  // The district's link heard now; the street as the district last heard it.
  void Heard(int64_t street_ms) {
    link_.side = repl::Side::kParent;
    link_.peer = kDistrict;
    link_.state = repl::LinkState::kStreaming;
    link_.last_heard_ms = hub_.clock().NowMs();
    link_.descendants_seen[kStreet] = street_ms;
  }

  bool Open(const std::string& id) {
    auto w = hub_.store().GetWarning(id);
    return w.ok() && w->open();
  }

  HubFixture hub_;
  repl::LinkStats link_;
};

TEST_F(HeartbeatTest, AnIdleNodeHeardThroughItsParentIsNotWarnedAbout) {
  const std::string street = absl::StrCat("rule/sync/", kStreet);
  auto evaluator = Evaluator();
  // Two days with no change from either node, but heartbeats all along.
  hub_.clock().AdvanceMs(48 * kHourMs);
  Heard(hub_.clock().NowMs() - 60'000);
  ASSERT_OK(evaluator->Evaluate().status());
  EXPECT_FALSE(Open(street));
  EXPECT_FALSE(Open(absl::StrCat("rule/sync/", kDistrict)));

  // The street falls silent while its district is still heard from.
  const int64_t last = hub_.clock().NowMs();
  Heard(last);
  hub_.clock().AdvanceMs(30 * kHourMs);
  Heard(last);
  ASSERT_OK(evaluator->Evaluate().status());
  ASSERT_TRUE(Open(street));
  EXPECT_THAT(hub_.store().GetWarning(street)->text(),
              HasSubstr("的节点已30小时没有向上级同步数据"));
  EXPECT_FALSE(Open(absl::StrCat("rule/sync/", kDistrict)));

  // After a restart, before the heartbeats from below are back, the warning
  // is neither cleared nor raised again; then it clears once heard.
  Heard(hub_.clock().NowMs());
  auto restarted = Evaluator(hub_.clock().NowMs() + 120'000);
  ASSERT_OK(restarted->Evaluate().status());
  EXPECT_TRUE(Open(street));
  hub_.clock().AdvanceMs(121'000);
  Heard(hub_.clock().NowMs());
  ASSERT_OK(restarted->Evaluate().status());
  EXPECT_FALSE(Open(street));
}

TEST_F(HeartbeatTest, AnOrganisationWithoutATrainingIsWarnedAbout) {
  // A union hosted at the district's node, registered by the district.
  constexpr char kUnion[] = "430102.g1";
  hub_.FromNode(kDistrict, {HubFixture::PutOrg(hub_.Org(
                               kUnion, kDistrict, v1::INDEPENDENT_GRASSROOTS, 3,
                               kDistrict, "430102"))});
  const std::string id = absl::StrCat("rule/training/", kUnion);
  auto evaluator = Evaluator();
  hub_.clock().AdvanceMs(29 * 24 * kHourMs);
  ASSERT_OK(evaluator->Evaluate().status());
  EXPECT_FALSE(Open(id));  // training_days is 30 by default.
  hub_.clock().AdvanceMs(24 * kHourMs);
  ASSERT_OK(evaluator->Evaluate().status());
  ASSERT_TRUE(Open(id));
  EXPECT_EQ(hub_.store().GetWarning(id)->kind(), v1::ADMIN_NOT_TRAINED);
  EXPECT_THAT(hub_.store().GetWarning(id)->text(),
              HasSubstr("登记已30天，上级工会尚未登记对其信息管理员的培训"));
  // A district running its own node is warned about too: the city records
  // its trainings at the hub, and they go down to the district's node.
  EXPECT_TRUE(Open(absl::StrCat("rule/training/", kDistrict)));
  // The district records the union administrator's training: cleared.
  auto union_org = hub_.store().GetOrg(kUnion);
  ASSERT_OK(union_org.status());
  v1::Training* t = union_org->add_trainings();
  t->set_trainee("张敏");
  t->set_date("2019-10-01");
  t->set_trainer("芙蓉区总工会");
  hub_.FromNode(kDistrict, {HubFixture::PutOrg(*union_org)});
  ASSERT_OK(evaluator->Evaluate().status());
  EXPECT_FALSE(Open(id));
}

TEST_F(HeartbeatTest, AnIncompleteProfileIsWarnedAboutUntilCompleted) {
  constexpr char kUnion[] = "430102.g1";
  v1::Org g = hub_.Org(kUnion, kDistrict, v1::INDEPENDENT_GRASSROOTS, 3,
                       kDistrict, "430102");
  g.set_profile_completeness(60);
  // Registered, then its profile (the part its own node writes).
  v1::Change profile;
  profile.set_kind(v1::PUT_ORG_PROFILE);
  *profile.mutable_org() = g;
  hub_.FromNode(kDistrict, {HubFixture::PutOrg(g), profile});
  const std::string id = absl::StrCat("rule/profile/", kUnion);
  auto evaluator = Evaluator();
  hub_.clock().AdvanceMs(13 * 24 * kHourMs);
  ASSERT_OK(evaluator->Evaluate().status());
  EXPECT_FALSE(Open(id));  // profile_days is 14 by default.
  hub_.clock().AdvanceMs(24 * kHourMs);
  ASSERT_OK(evaluator->Evaluate().status());
  ASSERT_TRUE(Open(id));
  EXPECT_EQ(hub_.store().GetWarning(id)->kind(), v1::PROFILE_INCOMPLETE);
  EXPECT_THAT(hub_.store().GetWarning(id)->text(),
              HasSubstr("登记已14天，组织资料仍不完整（完整度60%）"));
  // The union completes it at its node: cleared.
  *profile.mutable_org() = *hub_.store().GetOrg(kUnion);
  profile.mutable_org()->set_profile_completeness(100);
  hub_.FromNode(kDistrict, {profile});
  ASSERT_OK(evaluator->Evaluate().status());
  EXPECT_FALSE(Open(id));
}

TEST_F(HeartbeatTest, AChildBehindItsParentsTargetIsWarnedAtAnyTier) {
  // The street (tier 3, its own node) is expected by its district to enter
  // 4 grassroots unions and 200 members by the campaign's end; it has one
  // union with 10 members.
  constexpr char kUnion[] = "430102.s1.g1";
  hub_.FromNode(
      kStreet,
      {HubFixture::PutOrg(hub_.Org(kUnion, kStreet, v1::INDEPENDENT_GRASSROOTS,
                                   4, kStreet, "430102"))});
  std::vector<v1::Change> members;
  for (int i = 0; i < 10; ++i) {
    members.push_back(HubFixture::PutMember(hub_.NewMember(kUnion)));
  }
  hub_.FromNode(kStreet, members);
  auto district = hub_.store().GetOrg(kDistrict);
  ASSERT_OK(district.status());
  v1::ChildTarget* t = district->add_child_targets();
  t->set_child_id(kStreet);
  t->set_expected_grassroots(4);
  t->set_expected_members(200);
  v1::Change profile;
  profile.set_kind(v1::PUT_ORG_PROFILE);
  *profile.mutable_org() = *district;
  hub_.FromNode(kDistrict, {profile});

  // Its progress is measured against that target, by the trajectory of the
  // campaign's milestones: all of it after 2020-06-30.
  const v1::CampaignConfig campaign = DefaultCampaign();
  ASSERT_OK_AND_ASSIGN(
      ScopeRef ref,
      ResolveScope(hub_.store(), campaign, absl::StrCat("org:", kStreet)));
  EXPECT_TRUE(ref.parent_target);
  ASSERT_OK_AND_ASSIGN(v1::Progress p, ComputeProgress(hub_.store(), campaign,
                                                       ref, "2020-07-01"));
  EXPECT_EQ(p.expected_grassroots(), 4);
  EXPECT_EQ(p.target_grassroots_today(), 4);
  EXPECT_EQ(p.target_members_today(), 200);
  EXPECT_EQ(p.grassroots(), 1);
  EXPECT_EQ(p.entered_grassroots(), 0);
  EXPECT_TRUE(p.targets_count_entered());
  EXPECT_EQ(p.members(), 10);
  EXPECT_TRUE(p.behind());

  const std::string id =
      absl::StrCat("rule/behind/org:", kStreet, "/", kStreet);
  hub_.clock().SetMs(testing::ChinaMs("2020-07-01"));
  Heard(hub_.clock().NowMs());
  auto evaluator = Evaluator();
  ASSERT_OK(evaluator->Evaluate().status());
  ASSERT_TRUE(Open(id));
  auto w = hub_.store().GetWarning(id);
  EXPECT_EQ(w->kind(), v1::BEHIND_TARGET);
  EXPECT_EQ(w->org_id(), kStreet);
  EXPECT_EQ(w->severity(), v1::SEVERITY_SERIOUS);
  EXPECT_THAT(w->text(),
              HasSubstr("录入进度落后于「测试工会430102」设定的目标"));
  // The shipped campaign counts entered unions (profile complete, password
  // changed, members entered): this one is registered, not entered.
  EXPECT_THAT(w->text(), HasSubstr("基层工会已建成0个（已登记1个），按计划截至"
                                   "今日应达到4个"));

  // The district lowers the target to what the street has: cleared.
  t->set_expected_grassroots(0);
  t->set_expected_members(10);
  *profile.mutable_org() = *district;
  hub_.FromNode(kDistrict, {profile});
  ASSERT_OK(evaluator->Evaluate().status());
  EXPECT_FALSE(Open(id));
}

}  // namespace
}  // namespace unionsync
