// Service tests of the Monitor API on a real hub (RocksDB in a temp dir, gRPC
// on 127.0.0.1:0, the reconciler thread running): progress by region and
// system, scope refusals, conflicts found in what a child node sent (masked,
// refused to the wrong callers, resolved), the warning stream, the CSV report
// and the Prometheus text.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "monitor/campaign.h"
#include "monitor/monitor.h"
#include "monitor/reconciler.h"
#include "node/node_server.h"
#include "synth/synth.h"
#include "testing/node_fixture.h"
#include "testing/status_matchers.h"
#include "testing/store_checks.h"
#include "unionsync/v1/admin.grpc.pb.h"
#include "unionsync/v1/monitor.grpc.pb.h"

namespace unionsync {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using ::unionsync::testing::kCity;
using ::unionsync::testing::kNow;

class MonitorServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("unionsync_monitor_test");
    NodeOptions o = testing::CityNodeOptions(dir_, &clock_);
    o.hub = true;
    auto campaign = ParseCampaignText();
    ASSERT_TRUE(campaign.ok()) << campaign.status();
    o.campaign = *campaign;
    ASSERT_NO_FATAL_FAILURE(testing::StartNode(o, &node_));
    auto channel = testing::NodeChannel(node_->port());
    admin_ = v1::AdminService::NewStub(channel);
    monitor_ = v1::MonitorService::NewStub(channel);
    auto pw = testing::BootstrapCity(*node_);
    ASSERT_TRUE(pw.ok()) << pw.status();
    city_ = Activate("admin", *pw);
  }

  void TearDown() override {
    if (node_ != nullptr) {
      EXPECT_OK(testing::CheckStoreInvariants(node_->store(), kCity,
                                              /*replicated=*/true));
    }
    node_.reset();
    std::filesystem::remove_all(dir_);
  }

  static absl::StatusOr<v1::CampaignConfig> ParseCampaignText();

  template <typename S, typename Req, typename Resp>
  grpc::Status Call(S* stub,
                    grpc::Status (S::*method)(grpc::ClientContext*, const Req&,
                                              Resp*),
                    const std::string& token, const Req& req, Resp* resp) {
    return testing::CallRpc(stub, method, token, req, resp,
                            std::chrono::seconds(10));
  }

  std::string Activate(const std::string& user, const std::string& initial) {
    return testing::ActivateOverGrpc(admin_.get(), user, initial,
                                     std::chrono::seconds(10));
  }

  std::string CreateChild(const std::string& token, const std::string& parent,
                          const std::string& id, v1::OrgKind kind,
                          const std::string& region, const std::string& system,
                          bool own_node = false) {
    v1::CreateChildOrgRequest req = testing::ChildOrgRequest(
        parent, id, kind, absl::StrCat("u", id), region);
    req.mutable_org()->set_system(system);
    if (own_node) req.mutable_org()->set_host_node(id);
    v1::CreateChildOrgResponse resp;
    grpc::Status s = Call(admin_.get(), &v1::AdminService::Stub::CreateChildOrg,
                          token, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.initial_password();
  }

  v1::Member Member(const std::string& org, const std::string& id_number) {
    v1::Member m = gen_.Member(org);
    m.set_id_number(id_number);
    m.set_gender((id_number[16] - '0') % 2 == 1 ? v1::MALE : v1::FEMALE);
    return m;
  }

  // What node `node` (a child of the hub) would send: changes with its
  // origin, applied by the hub's store as the replication worker does.
  void FromChild(const std::string& node, std::vector<v1::Change> changes) {
    ReplicatedBatch b;
    b.peer = node;
    b.peer_incarnation = "inc";
    for (v1::Change& c : changes) {
      c.set_origin(node);
      c.set_origin_incarnation("inc");
      c.set_origin_seq(++child_seq_);
      c.set_hlc(HybridClock::Pack(clock_.NowMs(), child_seq_));
      c.set_author("child");
      b.changes.push_back(std::move(c));
    }
    b.last_pos = child_seq_;
    auto r = node_->store().ApplyReplicated(std::move(b));
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->rejected, 0) << r->rejections[0];
  }

  std::string dir_;
  FakeClock clock_{kNow};
  std::unique_ptr<NodeServer> node_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
  std::unique_ptr<v1::MonitorService::Stub> monitor_;
  std::string city_;
  SynthGenerator gen_{7};
  uint64_t child_seq_ = 0;
};

absl::StatusOr<v1::CampaignConfig> MonitorServiceTest::ParseCampaignText() {
  // Loaded the way --campaign loads a file.
  const std::string path = ::testing::TempDir() + "/monitor_campaign.textproto";
  FILE* f = fopen(path.c_str(), "w");
  fputs(R"pb(
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
            label: "芙蓉区"
            expected_grassroots: 4
            expected_members: 40
          }
          areas {
            scope: "system:education"
            label: "教育系统"
            expected_grassroots: 2
            expected_members: 20
          }
        )pb",
        f);
  fclose(f);
  return LoadCampaign(path);
}

TEST_F(MonitorServiceTest, ProgressByRegionSystemAndSubtreeWithScopes) {
  const std::string d1pw = CreateChild(city_, kCity, "430102",
                                       v1::DISTRICT_FEDERATION, "430102", "");
  const std::string d1 = Activate("u430102", d1pw);
  const std::string g1pw = CreateChild(
      d1, "430102", "430102.g1", v1::INDEPENDENT_GRASSROOTS, "", "education");
  const std::string g1 = Activate("u430102.g1", g1pw);
  CreateChild(d1, "430102", "430102.g2", v1::INDEPENDENT_GRASSROOTS, "", "");
  for (int i = 0; i < 3; ++i) {
    v1::AddMemberRequest req;
    *req.mutable_member() = Member("430102.g1", UniqueIdNumber(100 + i));
    v1::AddMemberResponse resp;
    ASSERT_TRUE(
        Call(admin_.get(), &v1::AdminService::Stub::AddMember, g1, req, &resp)
            .ok());
  }

  v1::GetProgressRequest req;
  req.set_view("regions");
  v1::GetProgressResponse resp;
  ASSERT_TRUE(Call(monitor_.get(), &v1::MonitorService::Stub::GetProgress,
                   city_, req, &resp)
                  .ok());
  EXPECT_EQ(resp.as_of_date(), "2026-11-27");
  EXPECT_EQ(resp.total().scope(), "city");
  EXPECT_EQ(resp.total().members(), 3);
  EXPECT_EQ(resp.total().grassroots(), 2);
  EXPECT_EQ(resp.total().expected_grassroots(), 10);
  ASSERT_EQ(resp.rows_size(), 1);
  const v1::Progress& region = resp.rows(0);
  EXPECT_EQ(region.scope(), "region:430102");
  EXPECT_EQ(region.label(), "芙蓉区");
  EXPECT_EQ(region.grassroots(), 2);
  EXPECT_EQ(region.members(), 3);
  EXPECT_EQ(region.with_members(), 1);
  EXPECT_EQ(region.new_members_today(), 3);
  EXPECT_EQ(region.expected_members(), 40);
  // 26 of 60 days towards 80% of 40 members: target 14 today, 3 entered.
  EXPECT_EQ(region.target_members_today(), 14);
  EXPECT_TRUE(region.behind());

  req.set_view("systems");
  ASSERT_TRUE(Call(monitor_.get(), &v1::MonitorService::Stub::GetProgress,
                   city_, req, &resp)
                  .ok());
  ASSERT_EQ(resp.rows_size(), 1);
  EXPECT_EQ(resp.rows(0).scope(), "system:education");
  EXPECT_EQ(resp.rows(0).label(), "教育系统");
  EXPECT_EQ(resp.rows(0).members(), 3);
  EXPECT_EQ(resp.rows(0).grassroots(), 1);

  // A district's administrator sees its subtree, not the city's regions.
  req.set_view("regions");
  grpc::Status s = Call(monitor_.get(), &v1::MonitorService::Stub::GetProgress,
                        d1, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  req.set_view("children");
  ASSERT_TRUE(Call(monitor_.get(), &v1::MonitorService::Stub::GetProgress, d1,
                   req, &resp)
                  .ok());
  EXPECT_EQ(resp.total().scope(), "org:430102");
  EXPECT_EQ(resp.total().members(), 3);
  EXPECT_EQ(resp.rows_size(), 2);
  // ... and nothing of another subtree; nothing at all without a session.
  req.set_org_id(kCity);
  s = Call(monitor_.get(), &v1::MonitorService::Stub::GetProgress, d1, req,
           &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  s = Call(monitor_.get(), &v1::MonitorService::Stub::GetProgress, "", req,
           &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  req.Clear();
  req.set_view("everything");
  s = Call(monitor_.get(), &v1::MonitorService::Stub::GetProgress, city_, req,
           &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // The time series ends at today's figures; the CSV report has them too.
  v1::GetTimeSeriesRequest ts;
  ts.set_scope("region:430102");
  v1::GetTimeSeriesResponse series;
  ASSERT_TRUE(Call(monitor_.get(), &v1::MonitorService::Stub::GetTimeSeries,
                   city_, ts, &series)
                  .ok());
  ASSERT_EQ(series.points_size(), 27);  // 2026-11-01 .. 2026-11-27
  EXPECT_EQ(series.points(26).members(), 3);
  EXPECT_EQ(series.points(26).target_members(), 14);
  EXPECT_EQ(series.points(0).members(), 0);
  v1::ExportProgressCsvRequest csv_req;
  v1::ExportProgressCsvResponse csv;
  ASSERT_TRUE(Call(monitor_.get(), &v1::MonitorService::Stub::ExportProgressCsv,
                   city_, csv_req, &csv)
                  .ok());
  EXPECT_EQ(csv.csv().substr(0, 3), "\xEF\xBB\xBF");
  EXPECT_THAT(csv.csv(), HasSubstr("region:430102,芙蓉区,4,2,50.0%"));
}

TEST_F(MonitorServiceTest, ConflictsAreFoundMaskedResolvedAndStreamed) {
  // 430102 runs its own node; one of its unions enters a person the city's
  // own union (on the hub) already has.
  CreateChild(city_, kCity, "430102", v1::DISTRICT_FEDERATION, "430102", "",
              /*own_node=*/true);
  const std::string gpw = CreateChild(city_, kCity, "430100.g1",
                                      v1::CITY_DIRECT_GRASSROOTS, "", "");
  const std::string g = Activate("u430100.g1", gpw);
  const std::string number = UniqueIdNumber(4242);
  v1::AddMemberRequest add;
  *add.mutable_member() = Member("430100.g1", number);
  v1::AddMemberResponse added;
  ASSERT_TRUE(
      Call(admin_.get(), &v1::AdminService::Stub::AddMember, g, add, &added)
          .ok());
  v1::Change reg;
  reg.set_kind(v1::PUT_ORG);
  v1::Org org;
  org.set_id("430102.g1");
  org.set_parent_id("430102");
  org.set_name("芙蓉区某公司工会");
  org.set_kind(v1::INDEPENDENT_GRASSROOTS);
  org.set_tier(3);
  org.set_region("430102");
  org.set_status(v1::ORG_ACTIVE);
  org.set_host_node("430102");
  org.set_created_at_ms(kNow);
  *reg.mutable_org() = org;
  v1::Change member;
  member.set_kind(v1::PUT_MEMBER);
  v1::Member copy = Member("430102.g1", number);
  copy.set_id("m-child-1");
  copy.set_status(v1::MEMBER_ACTIVE);
  *member.mutable_member() = copy;
  FromChild("430102", {reg, member});

  // The reconciler thread finds it.
  v1::ListConflictsRequest lreq;
  v1::ListConflictsResponse conflicts;
  for (int i = 0; i < 200 && conflicts.conflicts_size() == 0; ++i) {
    ASSERT_TRUE(Call(monitor_.get(), &v1::MonitorService::Stub::ListConflicts,
                     city_, lreq, &conflicts)
                    .ok());
    if (conflicts.conflicts_size() == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ASSERT_EQ(conflicts.conflicts_size(), 1);
  const v1::Conflict& c = conflicts.conflicts(0);
  EXPECT_EQ(c.kind(), v1::DUPLICATE_PERSON);
  EXPECT_EQ(c.state(), v1::CONFLICT_OPEN);
  EXPECT_EQ(c.id(),
            Reconciler::PersonConflictId(node_->store().vault(), number));
  ASSERT_EQ(c.sides_size(), 2);
  for (const v1::ConflictSide& side : c.sides()) {
    // Both sides kept, the numbers masked in what staff read.
    EXPECT_EQ(side.member().id_number().substr(0, 6), number.substr(0, 6));
    EXPECT_THAT(side.member().id_number(), HasSubstr("********"));
    EXPECT_THAT(c.detail(), Not(HasSubstr(number)));
  }
  // Personal data: not for a grassroots administrator.
  grpc::Status s =
      Call(monitor_.get(), &v1::MonitorService::Stub::ListConflicts, g, lreq,
           &conflicts);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  // Warnings for both unions; the city's union watches its own.
  v1::ListWarningsRequest wreq;
  v1::ListWarningsResponse warnings;
  ASSERT_TRUE(Call(monitor_.get(), &v1::MonitorService::Stub::ListWarnings,
                   city_, wreq, &warnings)
                  .ok());
  int conflict_warnings = 0;
  for (const v1::Warning& w : warnings.warnings()) {
    if (w.kind() == v1::DUPLICATE_DATA) ++conflict_warnings;
  }
  EXPECT_EQ(conflict_warnings, 2);
  ASSERT_TRUE(Call(monitor_.get(), &v1::MonitorService::Stub::ListWarnings, g,
                   wreq, &warnings)
                  .ok());
  ASSERT_EQ(warnings.warnings_size(), 1);
  EXPECT_EQ(warnings.warnings(0).org_id(), "430100.g1");

  absl::Mutex mu;
  std::vector<v1::WarningUpdate> updates;
  grpc::ClientContext watch_ctx;
  watch_ctx.AddMetadata("authorization", "Bearer " + g);
  v1::WatchWarningsRequest watch_req;
  std::thread watcher([&] {
    auto reader = monitor_->WatchWarnings(&watch_ctx, watch_req);
    v1::WarningUpdate u;
    while (reader->Read(&u)) {
      absl::MutexLock lock(&mu);
      updates.push_back(u);
    }
    reader->Finish();
  });
  auto wait_for = [&](size_t n) {
    absl::MutexLock lock(&mu);
    auto enough = [&]() { return updates.size() >= n; };
    mu.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(10));
    return updates.size();
  };
  ASSERT_EQ(wait_for(1), 1u);
  {
    absl::MutexLock lock(&mu);
    EXPECT_TRUE(updates[0].initial());
    EXPECT_TRUE(updates[0].warning().open());
  }

  // Resolution: only the hub's data administrator, with a note.
  v1::ResolveConflictRequest rreq;
  rreq.set_conflict_id(c.id());
  v1::ResolveConflictResponse resolved;
  s = Call(monitor_.get(), &v1::MonitorService::Stub::ResolveConflict, city_,
           rreq, &resolved);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  rreq.set_note("已核实：该同志已调入芙蓉区某公司，市直工会办理移除");
  s = Call(monitor_.get(), &v1::MonitorService::Stub::ResolveConflict, g, rreq,
           &resolved);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  const uint64_t log_before = node_->store().next_log_pos();
  ASSERT_TRUE(Call(monitor_.get(), &v1::MonitorService::Stub::ResolveConflict,
                   city_, rreq, &resolved)
                  .ok());
  EXPECT_EQ(resolved.conflict().state(), v1::CONFLICT_RESOLVED);
  EXPECT_EQ(resolved.conflict().resolved_by(), "admin");
  // The resolution is a record in the log (it replicates), with the cleared
  // warnings.
  EXPECT_GT(node_->store().next_log_pos(), log_before);
  s = Call(monitor_.get(), &v1::MonitorService::Stub::ResolveConflict, city_,
           rreq, &resolved);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  // The watcher saw its warning cleared.
  ASSERT_GE(wait_for(2), 2u);
  {
    absl::MutexLock lock(&mu);
    EXPECT_FALSE(updates.back().initial());
    EXPECT_FALSE(updates.back().warning().open());
    EXPECT_EQ(updates.back().warning().org_id(), "430100.g1");
  }
  watch_ctx.TryCancel();
  watcher.join();

  const std::string metrics = node_->monitor().MetricsText();
  EXPECT_THAT(metrics,
              HasSubstr("unionsync_conflicts{kind=\"DUPLICATE_PERSON\","
                        "state=\"CONFLICT_RESOLVED\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("unionsync_progress_members 2"));
}

}  // namespace
}  // namespace unionsync
