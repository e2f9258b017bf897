// The hub's dues ledger (dues/ledger.h) on a real hub node: a file imported
// all or nothing, twice without effect, coverage by region and system that
// follows current membership, payers not entered counted apart, scope and
// audit, no ID number kept, and a month kept under an earlier index key.
#include "dues/ledger.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "ingest/test_files.h"
#include "node/node_server.h"
#include "testing/node_fixture.h"
#include "testing/status_matchers.h"
#include "unionsync/v1/monitor.grpc.pb.h"

namespace unionsync {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::unionsync::testing::kCity;
using ::unionsync::testing::StatusIs;

class DuesLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("unionsync_dues_test");
    NodeOptions o = testing::CityNodeOptions(dir_, &clock_);
    o.hub = true;
    ASSERT_NO_FATAL_FAILURE(testing::StartNode(o, &node_));
    auto pw = testing::BootstrapCity(*node_);
    ASSERT_OK(pw.status());
    city_ = testing::Activate(*node_, "admin", *pw);
    // 芙蓉区 education: 5 members; 天心区 health: 3 members.
    furong_ = Union("g1", "430102", "education", 5, 0);
    tianxin_ = Union("g2", "430103", "health", 3, 100);
  }

  void TearDown() override {
    node_.reset();
    std::filesystem::remove_all(dir_);
  }

  // A grassroots union under the city with `n` members whose ID numbers are
  // UniqueIdNumber(first..); returns its administrator's session.
  std::string Union(const std::string& id, const std::string& region,
                    const std::string& system, int n, uint64_t first) {
    v1::CreateChildOrgRequest req =
        testing::ChildOrgRequest(kCity, id, v1::CITY_DIRECT_GRASSROOTS,
                                 absl::StrCat(id, "admin"), region);
    req.mutable_org()->set_system(system);
    auto made = node_->admin().CreateChildOrg(CallContext{city_, ""}, req);
    EXPECT_OK(made.status());
    if (!made.ok()) return "";
    const std::string token = testing::Activate(
        *node_, absl::StrCat(id, "admin"), made->initial_password());
    for (v1::Member m : ingest::testing::Members(n, first)) {
      m.clear_id();
      m.set_org_id(id);
      v1::AddMemberRequest add;
      *add.mutable_member() = m;
      auto added = node_->admin().AddMember(CallContext{token, ""}, add);
      EXPECT_OK(added.status());
      ids_.push_back(m.id_number());
      if (added.ok()) members_.push_back(added->member().id());
    }
    return token;
  }

  absl::StatusOr<v1::ImportDuesResponse> Import(const std::string& csv,
                                                bool dry_run = false,
                                                const std::string& token = "") {
    v1::ImportDuesRequest req;
    req.set_filename("缴费.csv");
    req.set_content(csv);
    req.set_dry_run(dry_run);
    return node_->dues().ImportDues(
        RequestContext{token.empty() ? city_ : token, "test"}, req);
  }
  absl::StatusOr<v1::GetDuesCoverageResponse> Coverage(
      const std::string& period = "", const std::string& token = "") {
    v1::GetDuesCoverageRequest req;
    req.set_period(period);
    return node_->dues().GetDuesCoverage(
        RequestContext{token.empty() ? city_ : token, "test"}, req);
  }
  // "label paid/members amount" of each row.
  static std::vector<std::string> Rows(
      const google::protobuf::RepeatedPtrField<v1::DuesCoverage>& rows) {
    std::vector<std::string> out;
    for (const v1::DuesCoverage& c : rows) {
      if (c.members() == 0 && c.paid() == 0) continue;
      out.push_back(absl::StrCat(c.label(), " ", c.paid(), "/", c.members(),
                                 " ", c.amount_fen()));
    }
    return out;
  }

  // March: three of 芙蓉区's members (one paying twice), one of 天心区's and
  // two people nobody entered; April: one.
  std::string MarchAndApril() {
    return absl::StrCat(
        "身份证号码,缴费月份,金额（元）,交易流水号,姓名\n", ids_[0],
        ",2020-03,10.00,R1,甲\n", ids_[1], ",2020-03,10,R2,乙\n", ids_[1],
        ",2020-03,2.5,R3,乙\n", ids_[2], ",2020-03,10,R4,丙\n", ids_[5],
        ",2020-03,20,R5,丁\n", ingest::testing::Members(1, 900)[0].id_number(),
        ",2020-03,7,R6,戊\n", ingest::testing::Members(1, 901)[0].id_number(),
        ",2020-03,8,R7,己\n", ids_[0], ",2020-04,10,R8,甲\n");
  }

  FakeClock clock_{testing::kNow};
  std::string dir_;
  std::unique_ptr<NodeServer> node_;
  std::string city_, furong_, tianxin_;
  std::vector<std::string> ids_;      // ID numbers, in order of entry.
  std::vector<std::string> members_;  // Member ids, in the same order.
};

TEST_F(DuesLedgerTest, CoverageByRegionAndSystemFollowsTheMembership) {
  // Nothing imported yet: no month, no figures, no error.
  auto empty = Coverage();
  ASSERT_OK(empty.status());
  EXPECT_TRUE(empty->periods().empty());

  // A dry run checks and writes nothing.
  auto dry = Import(MarchAndApril(), /*dry_run=*/true);
  ASSERT_OK(dry.status());
  EXPECT_TRUE(dry->ok());
  EXPECT_FALSE(dry->written());
  EXPECT_EQ(dry->rows(), 8);
  EXPECT_THAT(dry->message(), HasSubstr("检查通过"));
  EXPECT_TRUE(Coverage()->periods().empty());

  auto done = Import(MarchAndApril());
  ASSERT_OK(done.status());
  EXPECT_TRUE(done->written());
  EXPECT_THAT(done->periods(), ElementsAre("2020-03", "2020-04"));
  EXPECT_EQ(done->amount_fen(),
            1000 + 1000 + 250 + 1000 + 2000 + 700 + 800 + 1000);

  // The newest month by default; March asked for.
  auto april = Coverage();
  ASSERT_OK(april.status());
  EXPECT_EQ(april->period(), "2020-04");
  EXPECT_THAT(april->periods(), ElementsAre("2020-04", "2020-03"));
  EXPECT_EQ(april->total().paid(), 1);
  auto march = Coverage("2020-03");
  ASSERT_OK(march.status());
  EXPECT_EQ(march->total().members(), 8);
  EXPECT_EQ(march->total().paid(), 4);
  EXPECT_DOUBLE_EQ(march->total().ratio(), 0.5);
  EXPECT_EQ(march->total().amount_fen(), 1000 + 1250 + 1000 + 2000);
  EXPECT_EQ(march->payers(), 6);
  EXPECT_EQ(march->unmatched_payers(), 2);
  EXPECT_EQ(march->unmatched_amount_fen(), 1500);
  EXPECT_THAT(Rows(march->regions()),
              ElementsAre("芙蓉区 3/5 3250", "天心区 1/3 2000"));
  EXPECT_THAT(Rows(march->systems()),
              ElementsAre("教育系统 3/5 3250", "卫生健康系统 1/3 2000"));

  // The same file again changes nothing.
  ASSERT_OK(Import(MarchAndApril()).status());
  auto again = Coverage("2020-03");
  ASSERT_OK(again.status());
  EXPECT_EQ(again->total().paid(), 4);
  EXPECT_EQ(again->total().amount_fen(), march->total().amount_fen());
  EXPECT_EQ(again->payers(), 6);

  // A member who leaves no longer counts, and is not a stranger either:
  // figures are those of today's membership.
  v1::RemoveMemberRequest remove;
  remove.set_member_id(members_[0]);
  remove.set_reason("调离");
  ASSERT_OK(
      node_->admin().RemoveMember(CallContext{furong_, ""}, remove).status());
  auto after = Coverage("2020-03");
  ASSERT_OK(after.status());
  EXPECT_EQ(after->total().members(), 7);
  EXPECT_EQ(after->total().paid(), 3);
  EXPECT_EQ(after->unmatched_payers(), 3);
  EXPECT_THAT(Rows(after->regions()),
              ElementsAre("芙蓉区 2/4 2250", "天心区 1/3 2000"));

  EXPECT_THAT(Coverage("2020-05"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(Coverage("2020-5"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(DuesLedgerTest, AFileWithABadRowWritesNothingAndNamesTheCells) {
  const std::string csv = absl::StrCat(
      "身份证号码,缴费月份,金额（元）,交易流水号\n", ids_[0],
      ",2020-03,10,R1\n", ids_[1], ",2020-03,十元,R2\n", "4301,2020-03,5,R3\n");
  auto r = Import(csv);
  ASSERT_OK(r.status());
  EXPECT_FALSE(r->ok());
  EXPECT_FALSE(r->written());
  EXPECT_EQ(r->total_errors(), 2);
  ASSERT_EQ(r->errors_size(), 2);
  EXPECT_EQ(r->errors(0).row(), 3);
  EXPECT_EQ(r->errors(0).column(), "金额（元）");
  EXPECT_EQ(r->errors(1).row(), 4);
  EXPECT_THAT(r->errors(1).reason(), HasSubstr("应为18位"));
  EXPECT_THAT(r->message(), HasSubstr("没有导入任何记录"));
  EXPECT_TRUE(Coverage()->periods().empty());
  auto none = node_->store().ScanLocal("dues/", "", 10);
  ASSERT_OK(none.status());
  EXPECT_TRUE(none->empty());
  const v1::AuditEntry audit =
      testing::LastAuditEntryOf(node_->store(), "ImportDues");
  EXPECT_EQ(audit.outcome(), v1::AUDIT_FAILED);
  EXPECT_THAT(audit.detail(), HasSubstr("errors 2"));

  EXPECT_THAT(Import("姓名,金额\n甲,1\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("缺少“身份证号码”")));
}

TEST_F(DuesLedgerTest, TheHubKeepsNoIdNumberAndAuditsTheImport) {
  ASSERT_OK(Import(MarchAndApril()).status());
  auto kept = node_->store().ScanLocal("dues/", "", 1000);
  ASSERT_OK(kept.status());
  EXPECT_EQ(kept->size(), 8u + 2u);  // Payments and the two months.
  const std::vector<std::string> payers = {
      ids_[0], ids_[1], ids_[2], ids_[5],
      ingest::testing::Members(1, 900)[0].id_number()};
  for (const auto& [key, value] : *kept) {
    for (const std::string& id : payers) {
      EXPECT_THAT(key, Not(HasSubstr(id)));
      EXPECT_THAT(value, Not(HasSubstr(id)));
      EXPECT_THAT(key, Not(HasSubstr(id.substr(0, 14))));
    }
  }
  const v1::AuditEntry audit =
      testing::LastAuditEntryOf(node_->store(), "ImportDues");
  EXPECT_EQ(audit.outcome(), v1::AUDIT_OK);
  EXPECT_EQ(audit.actor(), "admin");
  EXPECT_THAT(audit.detail(), HasSubstr("rows 8"));
  EXPECT_THAT(audit.detail(), HasSubstr("months 2020-03,2020-04"));
  for (const std::string& id : payers) {
    EXPECT_THAT(audit.detail(), Not(HasSubstr(id)));
  }
}

TEST_F(DuesLedgerTest, OnlyTheHubsOwnOrganisationSeesAndItsAdminImports) {
  ASSERT_OK(Import(MarchAndApril()).status());
  // A grassroots union's administrator at the hub: refused, and audited.
  EXPECT_THAT(Coverage("", furong_),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(Import(MarchAndApril(), false, furong_),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(testing::LastAuditEntry(node_->store()).outcome(),
            v1::AUDIT_DENIED);
  EXPECT_THAT(Coverage("", "not-a-session"),
              StatusIs(absl::StatusCode::kUnauthenticated));

  // A node that is not the hub keeps no dues.
  DuesLedger district(&node_->store(), &clock_, &node_->admin(), DuesOptions{});
  EXPECT_THAT(district.GetDuesCoverage(RequestContext{city_, ""}, {}),
              StatusIs(absl::StatusCode::kFailedPrecondition));

  // Over gRPC, as an operator's script would call it.
  auto stub = v1::MonitorService::NewStub(testing::NodeChannel(node_->port()));
  v1::GetDuesCoverageRequest req;
  req.set_period("2020-03");
  v1::GetDuesCoverageResponse resp;
  ASSERT_TRUE(testing::CallRpc(stub.get(),
                               &v1::MonitorService::Stub::GetDuesCoverage,
                               city_, req, &resp, std::chrono::seconds(10))
                  .ok());
  EXPECT_EQ(resp.total().paid(), 4);
}

TEST_F(DuesLedgerTest, AMonthKeptUnderAnEarlierIndexKeyAsksForItsFileAgain) {
  // What a store holds after the index key was rotated (docs/KEYS.md): the
  // month's check value is another key's, its payments hash under it.
  WriteSet w;
  w.PutLocal("dues/k/2020-03", "0123456789abcdef");
  w.PutLocal(absl::StrCat("dues/p/2020-03/", std::string(64, 'a'), "/0"), "");
  ASSERT_OK(node_->store().Commit(w, "test").status());
  EXPECT_THAT(Coverage("2020-03"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("import the month's file again")));
  ASSERT_OK(Import(MarchAndApril()).status());
  auto march = Coverage("2020-03");
  ASSERT_OK(march.status());
  EXPECT_EQ(march->payers(), 6);  // The old key's payment is gone.
  EXPECT_EQ(march->total().paid(), 4);
}

}  // namespace
}  // namespace unionsync
