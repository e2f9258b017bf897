// unionctl progress / warnings / conflicts / resolve / freshness: parsing and
// whole runs against a real hub in-process (RocksDB in a temp dir, the
// reconciler and rule evaluator running).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cli/parse.h"
#include "cli/unionctl.h"
#include "monitor/campaign.h"
#include "monitor/evaluator.h"
#include "node/node_server.h"
#include "synth/synth.h"
#include "testing/node_fixture.h"
#include "testing/status_matchers.h"
#include "unionsync/v1/admin.pb.h"
#include "unionsync/v1/monitor.pb.h"

namespace unionsync::cli {
namespace {

using ::testing::HasSubstr;
using ::unionsync::testing::StatusIs;
using Args = std::vector<std::string>;

using ::unionsync::testing::kCity;
using ::unionsync::testing::kNow;
using ::unionsync::testing::kStrong;

TEST(MonitorParseTest, Flags) {
  v1::GetProgressRequest req;
  std::string csv;
  ASSERT_OK(ParseProgress({"--view", "systems", "--csv", "r.csv"}, &req, &csv));
  EXPECT_EQ(req.view(), "systems");
  EXPECT_EQ(csv, "r.csv");
  EXPECT_THAT(
      ParseProgress({"--view", "all"}, &req, &csv),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--view")));
  ASSERT_OK_AND_ASSIGN(WarningsArgs w,
                       ParseWarnings({"--watch", "--max", "3"}));
  EXPECT_TRUE(w.watch);
  EXPECT_EQ(w.max, 3);
  EXPECT_FALSE(ParseWarnings({"--max", "3"}).ok());
  v1::ResolveConflictRequest r;
  EXPECT_THAT(
      ParseResolve({"person/ab"}, &r),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--note")));
  ASSERT_OK(ParseResolve({"person/ab", "--note", "已处理"}, &r));
  EXPECT_EQ(r.conflict_id(), "person/ab");
  EXPECT_THAT(HelpText("progress"), HasSubstr("落后"));
}

class MonitorRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("unionsync_monitor_cmd_test");
    NodeOptions o = testing::CityNodeOptions(dir_, &clock_);
    o.hub = true;
    auto campaign = ParseCampaign(R"pb(
      name: "测试运动"
      start_date: "2026-11-01"
      expected_grassroots: 10
      expected_members: 100
      milestones {
        date: "2026-12-31"
        grassroots_fraction: 0.8
        members_fraction: 0.8
      }
      areas {
        scope: "region:430102"
        expected_grassroots: 4
        expected_members: 40
      }
    )pb");
    ASSERT_OK(campaign.status());
    o.campaign = *campaign;
    ASSERT_NO_FATAL_FAILURE(testing::StartNode(o, &node_));
    auto pw = testing::BootstrapCity(*node_);
    ASSERT_TRUE(pw.ok());
    city_token_ = testing::Activate(*node_, "admin", *pw);
    UseSession(city_token_);
  }

  void UseSession(const std::string& token) {
    ASSERT_OK(testing::WriteSession(dir_ + "/home", node_->port(), "admin",
                                    kCity, token));
  }

  // A new session (after the clock moved past the old one's lifetime).
  void LoginAgain() {
    auto session = testing::Login(*node_, "admin", kStrong);
    ASSERT_OK(session.status());
    UseSession(session->token());
  }

  void TearDown() override {
    node_.reset();
    std::filesystem::remove_all(dir_);
  }

  using Result = testing::UnionctlResult;
  Result Run(const Args& argv) {
    return testing::RunUnionctlAt(dir_ + "/home", argv);
  }

  std::string dir_;
  FakeClock clock_{kNow};
  std::unique_ptr<NodeServer> node_;
  std::string city_token_;
};

TEST_F(MonitorRunTest, ProgressWarningsAndFreshness) {
  v1::CreateChildOrgRequest req;
  req.set_parent_id(kCity);
  req.mutable_org()->set_id("430102");
  req.mutable_org()->set_name("芙蓉区总工会");
  req.mutable_org()->set_kind(v1::DISTRICT_FEDERATION);
  req.mutable_org()->set_region("430102");
  req.mutable_org()->set_host_node("430102");
  req.set_admin_username("furong");
  ASSERT_OK(node_->admin().CreateChildOrg(CallContext{city_token_, ""}, req));

  Result r = Run({"progress"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("测试运动"));
  EXPECT_THAT(r.out, HasSubstr("芙蓉区"));  // The default label of 430102.
  EXPECT_THAT(r.out, HasSubstr("0/4"));
  EXPECT_THAT(r.out, HasSubstr("落后"));
  const std::string csv = dir_ + "/report.csv";
  r = Run({"--json", "progress", "--view", "systems", "--csv", csv});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"scope\":\"city\""));
  std::ifstream in(csv);
  std::stringstream content;
  content << in.rdbuf();
  EXPECT_THAT(content.str(), HasSubstr("范围,名称"));

  // The rule evaluator: behind target right away; the district's node has
  // not synced for 24 hours after a day.
  clock_.SetMs(kNow + 25 * 3600 * 1000LL);
  ASSERT_OK(node_->evaluator()->Evaluate().status());
  LoginAgain();
  r = Run({"warnings"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("录入进度落后于计划"));
  EXPECT_THAT(r.out, HasSubstr("小时没有向上级同步数据"));
  r = Run({"warnings", "--watch", "--max", "2"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2);
  r = Run({"freshness"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("芙蓉区总工会"));
  EXPECT_THAT(r.out, HasSubstr("从未同步"));
  r = Run({"conflicts"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("没有冲突"));
  r = Run({"resolve", "person/none", "--note", "x"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr("NOT_FOUND"));
}

}  // namespace
}  // namespace unionsync::cli
