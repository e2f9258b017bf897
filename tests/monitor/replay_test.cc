// Replays the 2019-2020 campaign day by day with a set clock: two districts,
// one on track and one behind, a union that enters nothing, a data
// administrator who keeps the initial password, a node that goes offline and
// one person entered in two unions. Checks that each warning is raised,
// escalated and cleared on the expected day, with its history, and that the
// progress figures match the entries made.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "monitor/campaign.h"
#include "monitor/evaluator.h"
#include "monitor/progress.h"
#include "monitor/reconciler.h"
#include "tests/monitor/hub_fixture.h"

namespace unionsync {
namespace {

using testing::ChinaMs;
using testing::HubFixture;

constexpr char kD1[] = "430102";  // On track.
constexpr char kD2[] = "430103";  // Behind.

v1::CampaignConfig Campaign() {
  auto c = ParseCampaign(R"pb(
    name: "测试运动"
    start_date: "2019-09-01"
    expected_grassroots: 10
    expected_members: 1000
    milestones { date: "2019-12-31" grassroots_fraction: 0.8 members: 800 }
    milestones { date: "2020-06-30" grassroots_fraction: 1 members_fraction: 1 }
    areas {
      scope: "region:430102"
      label: "芙蓉区"
      expected_grassroots: 5
      expected_members: 500
    }
    areas {
      scope: "region:430103"
      label: "天心区"
      expected_grassroots: 5
      expected_members: 500
    }
    rules {
      no_entry_days: 14
      initial_password_days: 7
      node_sync_hours: 24
      escalate_days: 7
      behind_tolerance: 0.05
    }
  )pb");
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

// The members target of one district at the end of `day` (the city's 800
// by 2019-12-31 scaled to 500 of 1000 expected, then all 500 by 2020-06-30),
// computed here independently of monitor/campaign.cc.
int64_t DistrictMembersTarget(const std::string& day) {
  const int64_t d = DayNumber(day);
  const int64_t start = DayNumber("2019-09-01"), m1 = DayNumber("2019-12-31"),
                m2 = DayNumber("2020-06-30");
  double t;
  if (d <= start) {
    t = 0;
  } else if (d <= m1) {
    t = 400.0 * (d - start) / (m1 - start);
  } else if (d <= m2) {
    t = 400.0 + 100.0 * (d - m1) / (m2 - m1);
  } else {
    t = 500;
  }
  return std::llround(t);
}

struct Event {
  std::string day;
  std::string what;
};

class CampaignReplayTest : public ::testing::Test {
 protected:
  CampaignReplayTest()
      : hub_(::testing::TempDir() + "/replay-hub"),
        reconciler_(&hub_.store(), &hub_.clock()) {
    EvaluatorOptions o;
    o.campaign = Campaign();
    o.reconciler = &reconciler_;
    evaluator_ =
        std::make_unique<WarningEvaluator>(&hub_.store(), &hub_.clock(), o);
  }

  // Evaluates at the end of the day's work and records every warning event.
  void EndOfDay(const std::string& day) {
    ASSERT_TRUE(reconciler_.CatchUp().ok());
    auto written = evaluator_->Evaluate();
    ASSERT_TRUE(written.ok()) << written.status();
    auto warnings = hub_.store().ScanWarnings("", 1 << 20);
    ASSERT_TRUE(warnings.ok());
    for (const v1::Warning& w : *warnings) {
      auto& seen = events_[w.id()];
      for (int i = static_cast<int>(seen.size()); i < w.history_size(); ++i) {
        seen.push_back(
            {Store::DayOf(w.history(i).time_ms()), w.history(i).what()});
      }
    }
  }

  std::vector<Event> EventsOf(const std::string& id) { return events_[id]; }
  std::string FirstDay(const std::string& id, const std::string& what,
                       const std::string& after = "") {
    for (const Event& e : events_[id]) {
      if (e.what == what && e.day > after) return e.day;
    }
    return "never";
  }

  HubFixture hub_;
  Reconciler reconciler_;
  std::unique_ptr<WarningEvaluator> evaluator_;
  std::map<std::string, std::vector<Event>> events_;
};

TEST_F(CampaignReplayTest, WarningsRiseEscalateAndClearOnTheRightDays) {
  const v1::CampaignConfig campaign = Campaign();
  std::map<std::string, int64_t> members = {{kD1, 0}, {kD2, 0}};
  std::vector<std::string> d1_unions, d2_unions;
  std::string duplicate_member;  // d2's copy of a d1 person.
  std::string duplicate_number;
  std::string d2_first_behind, d2_cleared_behind;
  bool d2_behind = false;
  std::string d1_last_send;

  for (int64_t n = DayNumber("2019-09-01"); n <= DayNumber("2020-07-31"); ++n) {
    const std::string day = DayString(n);
    hub_.clock().SetMs(ChinaMs(day, 10));
    if (day == "2019-09-01") {
      hub_.RegisterDistrict(kD1, "430102");
      hub_.RegisterDistrict(kD2, "430103");
    }
    if (day == "2019-09-02") {
      // d1's administrator changes the initial password at once.
      hub_.FromNode(
          kD1,
          {HubFixture::PutAccount(hub_.Account(std::string(kD1) + "admin", kD1,
                                               kD1, v1::CREDENTIAL_ACTIVE))});
    }
    if (day == "2019-09-05") {
      for (const char* d : {kD1, kD2}) {
        std::vector<v1::Change> changes;
        for (int i = 1; i <= 5; ++i) {
          const std::string id = absl::StrCat(d, ".g", i);
          changes.push_back(HubFixture::PutOrg(hub_.Org(
              id, d, v1::INDEPENDENT_GRASSROOTS, 3, d, d, "education")));
          changes.push_back(HubFixture::PutAccount(
              hub_.Account(id + "admin", id, d, v1::CREDENTIAL_ACTIVE)));
          (std::string(d) == kD1 ? d1_unions : d2_unions).push_back(id);
        }
        hub_.FromNode(d, std::move(changes));
      }
    }
    if (day == "2019-10-01") {
      // d2's administrator finally changes the initial password.
      hub_.FromNode(
          kD2,
          {HubFixture::PutAccount(hub_.Account(std::string(kD2) + "admin", kD2,
                                               kD2, v1::CREDENTIAL_ACTIVE))});
    }
    const bool d2_offline = day >= "2019-11-01" && day <= "2019-11-05";
    if (day >= "2019-09-05") {
      // d1: 4 members a day over its 5 unions, until it has 500.
      std::vector<v1::Change> d1;
      for (int i = 0; i < 4 && members[kD1] < 500; ++i) {
        d1.push_back(
            HubFixture::PutMember(hub_.NewMember(d1_unions[members[kD1] % 5])));
        ++members[kD1];
      }
      if (day == "2019-10-15") {
        v1::Member m = hub_.NewMember(d1_unions[0]);
        duplicate_number = m.id_number();
        d1.push_back(HubFixture::PutMember(m));
        ++members[kD1];
      }
      if (!d1.empty()) {
        hub_.FromNode(kD1, std::move(d1));
        d1_last_send = day;
      }
      // d2: 1 a day in its first 4 unions (the fifth enters nothing until
      // 2019-10-10), 12 a day from 2020, nothing while offline.
      std::vector<v1::Change> d2;
      const int pace = day >= "2020-01-01" ? 12 : 1;
      for (int i = 0; i < pace && members[kD2] < 500 && !d2_offline; ++i) {
        d2.push_back(
            HubFixture::PutMember(hub_.NewMember(d2_unions[members[kD2] % 4])));
        ++members[kD2];
      }
      if (day == "2019-10-10") {
        d2.push_back(HubFixture::PutMember(hub_.NewMember(d2_unions[4])));
        ++members[kD2];
      }
      if (day == "2019-10-16") {
        // The same person, entered by a union of the other district.
        v1::Member m = hub_.NewMember(d2_unions[1], duplicate_number);
        duplicate_member = m.id();
        d2.push_back(HubFixture::PutMember(m));
        ++members[kD2];
      }
      if (day == "2019-10-30") {
        // d2 removes its copy: the conflict clears.
        auto m = hub_.store().GetMember(duplicate_member);
        ASSERT_TRUE(m.ok());
        m->set_status(v1::MEMBER_REMOVED);
        d2.push_back(HubFixture::PutMember(*m));
        --members[kD2];
      }
      if (!d2.empty()) hub_.FromNode(kD2, std::move(d2));
    }
    EndOfDay(day);
    if (HasFatalFailure()) return;

    // The figures are what was entered.
    auto ref = ResolveScope(hub_.store(), campaign, "region:430103");
    ASSERT_TRUE(ref.ok());
    auto p = ComputeProgress(hub_.store(), campaign, *ref, day);
    ASSERT_TRUE(p.ok());
    ASSERT_EQ(p->members(), members[kD2]) << day;
    ASSERT_EQ(p->target_members_today(), DistrictMembersTarget(day)) << day;
    // Independently: is d2 behind today?
    const bool behind = day >= "2019-09-02" &&
                        members[kD2] < DistrictMembersTarget(day) - 0.05 * 500;
    if (behind && !d2_behind && d2_first_behind.empty()) d2_first_behind = day;
    if (!behind && d2_behind && d2_cleared_behind.empty()) {
      d2_cleared_behind = day;
    }
    d2_behind = behind;
  }

  // d2 falls behind its trajectory and catches up after the new year.
  ASSERT_NE(d2_first_behind, "");
  ASSERT_NE(d2_cleared_behind, "");
  const std::string behind_id = "rule/behind/region:430103/430103";
  EXPECT_EQ(FirstDay(behind_id, "raised"), d2_first_behind);
  EXPECT_EQ(FirstDay(behind_id, "escalated"),
            DayString(DayNumber(d2_first_behind) + 7));
  EXPECT_EQ(FirstDay(behind_id, "cleared"), d2_cleared_behind);
  auto behind = hub_.store().GetWarning(behind_id);
  ASSERT_TRUE(behind.ok());
  EXPECT_EQ(behind->kind(), v1::BEHIND_TARGET);
  EXPECT_EQ(behind->escalated_to(), "430100");
  EXPECT_NE(behind->history(0).text().find("天心区"), std::string::npos);
  // Its figures say when they were taken (the clock stood at 10:00 China
  // time on the day it was raised).
  EXPECT_NE(behind->history(0).text().find(
                absl::StrCat("（统计时间：", d2_first_behind, " 10:00）")),
            std::string::npos)
      << behind->history(0).text();
  // d1 is never behind.
  EXPECT_TRUE(EventsOf("rule/behind/region:430102/430102").empty());

  // The initial password of d2: 7 days after registration, escalated to the
  // city 7 days later, cleared the day it was changed.
  const std::string pw = "rule/password/430103";
  EXPECT_EQ(FirstDay(pw, "raised"), "2019-09-08");
  EXPECT_EQ(FirstDay(pw, "escalated"), "2019-09-15");
  EXPECT_EQ(FirstDay(pw, "cleared"), "2019-10-01");
  EXPECT_TRUE(EventsOf("rule/password/430102").empty());

  // The fifth union of d2: nothing entered 14 days after registration;
  // escalated to d2 a week later; cleared by its first member; raised again
  // 14 days after it.
  const std::string idle = "rule/idle/430103.g5";
  EXPECT_EQ(FirstDay(idle, "raised"), "2019-09-19");
  EXPECT_EQ(FirstDay(idle, "escalated"), "2019-09-26");
  EXPECT_EQ(FirstDay(idle, "cleared"), "2019-10-10");
  EXPECT_EQ(FirstDay(idle, "raised", "2019-10-10"), "2019-10-24");
  // With members entered, the union counts as idle only while its region
  // (or the city) is behind: the warning clears when both caught up.
  const std::string city_cleared =
      FirstDay("rule/behind/city/430100", "cleared");
  EXPECT_EQ(FirstDay(idle, "cleared", "2019-10-24"),
            std::max(d2_cleared_behind, city_cleared));
  auto idle_w = hub_.store().GetWarning(idle);
  ASSERT_TRUE(idle_w.ok());
  EXPECT_FALSE(idle_w->open());
  EXPECT_EQ(idle_w->escalated_to(), "430103");  // Kept with the history.

  // d2 offline from 2019-11-01: its newest change is from 2019-10-31 10:00,
  // 24 hours old at the evaluation of 2019-11-01; back on 2019-11-06.
  // Before that, each node was silent from its registration (2019-09-01
  // 09:00) to its first change: d2 until 2019-09-05; d1 sent on 2019-09-02
  // and then nothing until 2019-09-05.
  const std::string sync = "rule/sync/430103";
  EXPECT_EQ(FirstDay(sync, "raised"), "2019-09-02");
  EXPECT_EQ(FirstDay(sync, "cleared"), "2019-09-05");
  EXPECT_EQ(FirstDay(sync, "raised", "2019-09-05"), "2019-11-01");
  EXPECT_EQ(FirstDay(sync, "cleared", "2019-09-05"), "2019-11-06");
  EXPECT_EQ(FirstDay("rule/sync/430102", "raised"), "2019-09-03");
  EXPECT_EQ(FirstDay("rule/sync/430102", "cleared"), "2019-09-05");
  // d1 stops sending once its 500 members are in; with no live link to
  // count as contact in this replay, it is reported the next day.
  EXPECT_EQ(FirstDay("rule/sync/430102", "raised", "2019-09-05"),
            DayString(DayNumber(d1_last_send) + 1));

  // One person in two unions: a conflict on 2019-10-16 with both sides kept
  // and a warning to each union, escalated a week later, cleared when d2
  // removed its copy.
  const std::string conflict_id =
      Reconciler::PersonConflictId(hub_.store().vault(), duplicate_number);
  auto conflict = hub_.store().GetConflict(conflict_id);
  ASSERT_TRUE(conflict.ok());
  EXPECT_EQ(conflict->kind(), v1::DUPLICATE_PERSON);
  EXPECT_EQ(conflict->state(), v1::CONFLICT_CLEARED);
  EXPECT_EQ(conflict->sides_size(), 2);
  EXPECT_EQ(Store::DayOf(conflict->detected_at_ms()), "2019-10-16");
  for (const std::string& org : {d1_unions[0], d2_unions[1]}) {
    const std::string w = absl::StrCat("c/", conflict_id, "/", org);
    EXPECT_EQ(FirstDay(w, "raised"), "2019-10-16") << w;
    EXPECT_EQ(FirstDay(w, "escalated"), "2019-10-23") << w;
    EXPECT_EQ(FirstDay(w, "cleared"), "2019-10-30") << w;
    auto warning = hub_.store().GetWarning(w);
    ASSERT_TRUE(warning.ok());
    // Never the whole ID number in a text a clerk reads.
    EXPECT_EQ(warning->history(0).text().find(duplicate_number),
              std::string::npos);
  }

  // The city as a whole: behind in 2019 (5 members a day against 800 by the
  // end of the year), on track by the end of the campaign, when all 1,000
  // are in.
  auto city = ResolveScope(hub_.store(), campaign, "city");
  ASSERT_TRUE(city.ok());
  auto p = ComputeProgress(hub_.store(), campaign, *city, "2020-07-31");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->members(), 1000);
  EXPECT_EQ(p->grassroots(), 10);
  EXPECT_FALSE(p->behind());
  EXPECT_NE(FirstDay("rule/behind/city/430100", "raised"), "never");
  EXPECT_NE(FirstDay("rule/behind/city/430100", "cleared"), "never");
  // The time series ends at the figures and follows the trajectory.
  auto series =
      ComputeSeries(hub_.store(), campaign, *city, "2019-09-01", "2020-07-31");
  ASSERT_TRUE(series.ok());
  EXPECT_EQ(series->back().members(), 1000);
  EXPECT_EQ(series->back().target_members(), 1000);
  int64_t sum_new = 0;
  for (const auto& tp : *series) sum_new += tp.new_members();
  EXPECT_EQ(sum_new, 1001);  // Every entry, the removed duplicate included.
}

}  // namespace
}  // namespace unionsync
