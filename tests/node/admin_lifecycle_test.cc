// Service tests of the parent's lifecycle calls on its children (issue 14):
// corrections of a registration, dissolutions, trainings and targets, over a
// real node's gRPC API. Every refusal must write nothing but its audit entry.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/mask.h"
#include "common/validation.h"
#include "testing/status_matchers.h"
#include "tests/node/admin_service_fixture.h"
#include "unionsync/v1/monitor.grpc.pb.h"

namespace unionsync {
namespace {

using ::testing::HasSubstr;
using ::unionsync::testing::AdminServiceTest;
using ::unionsync::testing::kCity;
using ::unionsync::testing::Rpc;
using S = v1::AdminService::Stub;

TEST_F(AdminServiceTest, ParentCorrectsItsChildsRegistration) {
  BuildTree();
  v1::AddMemberResponse added;
  ASSERT_TRUE(AddMember(g1_, NewMember(), &added).status.ok());
  v1::CorrectOrgRegistrationRequest req;
  req.set_org_id("g1");
  req.set_name("长沙市芙蓉区更正后工会");
  req.set_kind(v1::JOINT_GRASSROOTS);
  req.set_reason("登记时名称录错");
  const uint64_t before = node_->store().next_log_pos();
  // Not the union itself, nor a sibling, nor the city above its parent (R2).
  for (const std::string* token : {&g1_, &g2_, &city_}) {
    EXPECT_EQ(Call(&S::CorrectOrgRegistration, *token, req).code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  // Bad input: a reason is required, a kind must fit tier and parent, a
  // grassroots union with members stays grassroots; nothing is written.
  v1::CorrectOrgRegistrationRequest bad = req;
  bad.clear_reason();
  EXPECT_THAT(Call(&S::CorrectOrgRegistration, d1_, bad).message(),
              HasSubstr("reason"));
  bad = req;
  bad.set_kind(v1::DISTRICT_FEDERATION);
  EXPECT_THAT(Call(&S::CorrectOrgRegistration, d1_, bad).message(),
              HasSubstr("cannot sit at tier 3"));
  bad.set_kind(v1::TOWNSHIP_FEDERATION);
  Rpc with_members = Call(&S::CorrectOrgRegistration, d1_, bad);
  EXPECT_EQ(with_members.code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(with_members.message(), HasSubstr("has 1 members"));
  bad = req;
  bad.set_name(node_->store().GetOrg("g1")->name());
  bad.set_kind(v1::INDEPENDENT_GRASSROOTS);
  EXPECT_THAT(Call(&S::CorrectOrgRegistration, d1_, bad).message(),
              HasSubstr("nothing to correct"));
  bad.set_kind(static_cast<v1::OrgKind>(99));
  EXPECT_EQ(Call(&S::CorrectOrgRegistration, d1_, bad).code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(
      Call(&S::CorrectOrgRegistration, d1_, v1::CorrectOrgRegistrationRequest())
          .code(),
      grpc::StatusCode::INVALID_ARGUMENT);
  // The refusals wrote nothing but their audit entries.
  EXPECT_EQ(node_->store().next_log_pos(), before);
  EXPECT_EQ(node_->store().GetOrg("g1")->kind(), v1::INDEPENDENT_GRASSROOTS);

  const v1::SubtreeCounters counted = Counters("d1");
  v1::CorrectOrgRegistrationResponse resp;
  ASSERT_TRUE(Call(&S::CorrectOrgRegistration, d1_, req, &resp).status.ok());
  EXPECT_EQ(resp.org().name(), "长沙市芙蓉区更正后工会");
  EXPECT_EQ(resp.org().kind(), v1::JOINT_GRASSROOTS);
  auto stored = node_->store().GetOrg("g1");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->name(), "长沙市芙蓉区更正后工会");
  EXPECT_EQ(stored->kind(), v1::JOINT_GRASSROOTS);
  EXPECT_EQ(stored->region(), "430102");  // Fixed at registration.
  EXPECT_EQ(LastAudit().action(), "CorrectOrgRegistration");
  EXPECT_THAT(LastAudit().detail(),
              HasSubstr("kind independent_grassroots -> joint_grassroots"));
  EXPECT_THAT(LastAudit().detail(), HasSubstr("reason: 登记时名称录错"));
  // Still one grassroots union with one member: counted once, not twice.
  const v1::SubtreeCounters now = Counters("d1");
  EXPECT_EQ(now.orgs(), counted.orgs());
  EXPECT_EQ(now.grassroots_orgs(), counted.grassroots_orgs());
  EXPECT_EQ(now.members(), counted.members());
  // The union's own profile call still refuses a name of its own.
  v1::UpdateOrgProfileRequest profile;
  profile.set_org_id("g1");
  profile.mutable_profile()->set_name("又一个名字");
  EXPECT_EQ(Call(&S::UpdateOrgProfile, g1_, profile).code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(AdminServiceTest, ParentDissolvesAChildAndItIsKeptInHistory) {
  BuildTree();
  v1::AddMemberResponse added;
  ASSERT_TRUE(AddMember(g1_, NewMember(), &added).status.ok());
  ASSERT_TRUE(AddMember(g1_, NewMember(), &added).status.ok());
  const v1::SubtreeCounters before = Counters("d1");
  const uint64_t pos = node_->store().next_log_pos();
  v1::DissolveOrgRequest req;
  req.set_org_id("g1");
  req.set_reason("企业注销");
  // Not the union itself, a sibling or the city (R2).
  for (const std::string* token : {&g1_, &g2_, &city_}) {
    EXPECT_EQ(Call(&S::DissolveOrg, *token, req).code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  // With members and no decision about them: refused, nothing written.
  Rpc with_members = Call(&S::DissolveOrg, d1_, req);
  EXPECT_EQ(with_members.code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(with_members.message(), HasSubstr("has 2 active members"));
  // A district with an active child: refused (bottom-up).
  v1::DissolveOrgRequest district = req;
  district.set_org_id("d1");
  Rpc parent_first = Call(&S::DissolveOrg, city_, district);
  EXPECT_EQ(parent_first.code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(parent_first.message(), HasSubstr("active child organisations"));
  v1::DissolveOrgRequest no_reason = req;
  no_reason.clear_reason();
  EXPECT_EQ(Call(&S::DissolveOrg, d1_, no_reason).code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(node_->store().next_log_pos(), pos);

  req.set_members_leave(true);
  v1::DissolveOrgResponse resp;
  ASSERT_TRUE(Call(&S::DissolveOrg, d1_, req, &resp).status.ok());
  EXPECT_EQ(resp.org().status(), v1::ORG_DISSOLVED);
  EXPECT_EQ(resp.members_left(), 2);
  EXPECT_EQ(resp.accounts_disabled(), 1);
  // Kept in history, not deleted; its members are kept as removed.
  auto kept = node_->store().GetOrg("g1");
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->status(), v1::ORG_DISSOLVED);
  auto members = node_->store().ListMembers("g1", "", 10);
  ASSERT_TRUE(members.ok());
  ASSERT_EQ(members->size(), 2u);
  for (const v1::Member& m : *members) {
    EXPECT_EQ(m.status(), v1::MEMBER_REMOVED);
  }
  EXPECT_THAT(LastAudit().detail(),
              HasSubstr("dissolved; 2 members marked as leaving; accounts "
                        "disabled: g1admin; reason: 企业注销"));
  // Its clerk's session ends at once; progress counts it no more.
  EXPECT_EQ(Call(&S::WhoAmI, g1_, v1::WhoAmIRequest()).code(),
            grpc::StatusCode::UNAUTHENTICATED);
  const v1::SubtreeCounters after = Counters("d1");
  EXPECT_EQ(after.orgs(), before.orgs() - 1);
  EXPECT_EQ(after.grassroots_orgs(), before.grassroots_orgs() - 1);
  EXPECT_EQ(after.members(), before.members() - 2);
  EXPECT_EQ(after.activated_orgs(), before.activated_orgs() - 1);
  EXPECT_EQ(after.orgs_with_members(), before.orgs_with_members() - 1);
  // Dissolved once: a second time, a correction or a new member is refused.
  // (A union with more records than one page is the next test.)
  EXPECT_EQ(Call(&S::DissolveOrg, d1_, req).code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  v1::CorrectOrgRegistrationRequest rename;
  rename.set_org_id("g1");
  rename.set_name("新名称工会");
  rename.set_reason("更正");
  EXPECT_EQ(Call(&S::CorrectOrgRegistration, d1_, rename).code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(AdminServiceTest, ParentRecordsATrainingOfItsChildsAdministrator) {
  BuildTree();
  v1::RecordTrainingRequest req;
  req.set_org_id("g1");
  req.mutable_training()->set_trainee("李梅");
  req.mutable_training()->set_date("2026-11-20");
  req.mutable_training()->set_trainer("芙蓉区总工会组织部");
  const uint64_t pos = node_->store().next_log_pos();
  // The union cannot vouch for its own training, nor can a sibling (R6).
  EXPECT_EQ(Call(&S::RecordTraining, g1_, req).code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Call(&S::RecordTraining, g2_, req).code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::RecordTrainingRequest bad = req;
  bad.mutable_training()->set_date("2030-01-01");
  EXPECT_THAT(Call(&S::RecordTraining, d1_, bad).message(),
              HasSubstr("not between 2000-01-01 and today"));
  bad = req;
  bad.mutable_training()->clear_trainee();
  EXPECT_THAT(Call(&S::RecordTraining, d1_, bad).message(),
              HasSubstr("training.trainee"));
  bad = req;
  bad.mutable_training()->set_date("2026-02-30");
  EXPECT_EQ(Call(&S::RecordTraining, d1_, bad).code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(node_->store().next_log_pos(), pos);

  v1::RecordTrainingResponse resp;
  ASSERT_TRUE(Call(&S::RecordTraining, d1_, req, &resp).status.ok());
  auto stored = node_->store().GetOrg("g1");
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->trainings_size(), 1);
  EXPECT_EQ(stored->trainings(0).trainee(), "李梅");
  EXPECT_EQ(stored->trainings(0).recorded_by(), "d1admin");
  EXPECT_THAT(LastAudit().detail(),
              HasSubstr("李梅 trained on 2026-11-20 by 芙蓉区总工会组织部"));
  // The union's own profile update keeps it, and cannot rewrite it.
  v1::UpdateOrgProfileRequest profile;
  profile.set_org_id("g1");
  profile.mutable_profile()->set_address("长沙市芙蓉区五一大道1号");
  ASSERT_TRUE(Call(&S::UpdateOrgProfile, g1_, profile).status.ok());
  EXPECT_EQ(node_->store().GetOrg("g1")->trainings_size(), 1);
  profile.mutable_profile()->add_trainings()->set_trainee("王五");
  EXPECT_THAT(Call(&S::UpdateOrgProfile, g1_, profile).message(),
              HasSubstr("profile.trainings"));
}

TEST_F(AdminServiceTest, AUnionWithManyMembersIsDissolvedWithAllOfThem) {
  BuildTree();
  // 2,500 members, more than two pages of the member scan.
  constexpr int kMembers = 2500;
  WriteSet w;
  for (int i = 0; i < kMembers; ++i) {
    v1::Member m = gen_.Member("g1");
    m.set_id(absl::StrCat("m", 10000 + i));
    m.set_org_id("g1");
    m.set_status(v1::MEMBER_ACTIVE);
    w.PutMember(m, WriteSet::Mode::kCreate);
  }
  ASSERT_OK(node_->store().Commit(w, "g1admin").status());
  ASSERT_EQ(Counters("g1").members(), kMembers);
  v1::DissolveOrgRequest req;
  req.set_org_id("g1");
  req.set_reason("企业注销");
  EXPECT_THAT(Call(&S::DissolveOrg, d1_, req).message(),
              HasSubstr("has 2500 active members"));
  req.set_members_leave(true);
  v1::DissolveOrgResponse resp;
  ASSERT_TRUE(Call(&S::DissolveOrg, d1_, req, &resp).status.ok());
  EXPECT_EQ(resp.members_left(), kMembers);
  EXPECT_EQ(Counters("g1").members(), 0);
  EXPECT_EQ(Counters("d1").members(), 0);
}

TEST_F(AdminServiceTest, AConfirmedRegionCodeCountsForThatCodeOnly) {
  BuildTree();
  auto id_with = [](const std::string& first17) {
    return first17 + IdNumberCheckChar(first17);
  };
  v1::Member m = NewMember();
  m.set_id_number(id_with("43999919900101003"));  // 439999: in no list.
  m.set_gender(v1::MALE);
  v1::AddMemberResponse added;
  Rpc refused = AddMember(g1_, m, &added);
  EXPECT_EQ(refused.code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(refused.message(), HasSubstr("confirmed_region_code"));
  m.set_confirmed_region_code("4399");
  EXPECT_THAT(AddMember(g1_, m, &added).message(),
              HasSubstr("confirmed_region_code: must be the 6 digits"));
  m.set_confirmed_region_code("439999");
  ASSERT_TRUE(AddMember(g1_, m, &added).status.ok());
  EXPECT_THAT(LastAudit().detail(),
              HasSubstr("region code 439999 is in no GB/T 2260 list; "
                        "confirmed by the clerk"));
  // Found by its number like any other.
  v1::GetMemberRequest get;
  get.set_id_number(m.id_number());
  v1::GetMemberResponse got;
  ASSERT_TRUE(Call(&S::GetMember, g1_, get, &got).status.ok());
  EXPECT_EQ(got.member().id(), added.member().id());
  // The confirmation sent back with a number of another unlisted code does
  // not confirm that code.
  v1::UpdateMemberRequest update;
  *update.mutable_member() = added.member();
  update.mutable_member()->set_id_number(id_with("43999819900101003"));
  Rpc other = Call(&S::UpdateMember, g1_, update);
  EXPECT_EQ(other.code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(other.message(), HasSubstr("region code 439998"));
}

// --- Accounts
// ---------------------------------------------------------------------------------
TEST_F(AdminServiceTest, ParentSetsTargetsForItsChildren) {
  BuildTree();
  v1::SetChildTargetRequest req;
  req.set_org_id("d1");
  req.set_expected_grassroots(120);
  req.set_expected_members(15000);
  const uint64_t pos = node_->store().next_log_pos();
  // Only the direct parent's administrator: not the district for itself,
  // nor the district for the city's other children, nor a grandparent.
  EXPECT_EQ(Call(&S::SetChildTarget, d1_, req).code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::SetChildTargetRequest grandchild = req;
  grandchild.set_org_id("g1");
  EXPECT_EQ(Call(&S::SetChildTarget, city_, grandchild).code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Call(&S::SetChildTarget, g1_, grandchild).code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Bad figures, and a grassroots union expected to hold other unions.
  v1::SetChildTargetRequest bad = req;
  bad.set_expected_members(-1);
  EXPECT_THAT(Call(&S::SetChildTarget, city_, bad).message(),
              HasSubstr("expected_members: must be between 0 and"));
  bad = req;
  bad.set_expected_grassroots(1'000'000'000);
  EXPECT_EQ(Call(&S::SetChildTarget, city_, bad).code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  bad = grandchild;
  EXPECT_THAT(Call(&S::SetChildTarget, d1_, bad).message(),
              HasSubstr("is a grassroots union itself"));
  // Removing a target that was never set.
  bad = req;
  bad.set_expected_grassroots(0);
  bad.set_expected_members(0);
  EXPECT_EQ(Call(&S::SetChildTarget, city_, bad).code(),
            grpc::StatusCode::NOT_FOUND);
  // A profile update cannot carry targets (they would be dropped).
  v1::UpdateOrgProfileRequest profile;
  profile.set_org_id("d1");
  profile.mutable_profile()->add_child_targets()->set_child_id("g1");
  EXPECT_THAT(Call(&S::UpdateOrgProfile, d1_, profile).message(),
              HasSubstr("profile.child_targets"));
  EXPECT_EQ(node_->store().next_log_pos(), pos);

  // The city sets the district's, the district its two unions'.
  v1::SetChildTargetResponse resp;
  ASSERT_TRUE(Call(&S::SetChildTarget, city_, req, &resp).status.ok());
  EXPECT_EQ(resp.target().set_by(), "admin");
  EXPECT_THAT(LastAudit().detail(),
              HasSubstr("expected 120 grassroots unions and 15000 members"));
  grandchild.set_expected_grassroots(1);
  grandchild.set_expected_members(80);
  ASSERT_TRUE(Call(&S::SetChildTarget, d1_, grandchild).status.ok());
  grandchild.set_org_id("g2");
  grandchild.set_expected_members(40);
  ASSERT_TRUE(Call(&S::SetChildTarget, d1_, grandchild).status.ok());
  // Changed again: one target per child, in child order.
  grandchild.set_expected_members(45);
  ASSERT_TRUE(Call(&S::SetChildTarget, d1_, grandchild).status.ok());
  auto district = node_->store().GetOrg("d1");
  ASSERT_OK(district.status());
  ASSERT_EQ(district->child_targets_size(), 2);
  EXPECT_EQ(district->child_targets(0).child_id(), "g1");
  EXPECT_EQ(district->child_targets(1).child_id(), "g2");
  EXPECT_EQ(district->child_targets(1).expected_members(), 45);
  EXPECT_EQ(district->child_targets(1).set_by(), "d1admin");
  ASSERT_EQ(node_->store().GetOrg(kCity)->child_targets_size(), 1);

  // Sent back as read, the targets are fine.
  *profile.mutable_profile()->mutable_child_targets() =
      district->child_targets();
  EXPECT_TRUE(Call(&S::UpdateOrgProfile, d1_, profile).status.ok());
  // Every store refuses two targets for one child, whoever writes them.
  {
    v1::Org twice = *district;
    *twice.add_child_targets() = twice.child_targets(0);
    WriteSet w;
    w.PutOrgProfile(twice);
    EXPECT_THAT(node_->store().Commit(w, "test").status().message(),
                HasSubstr("has two targets for 'g1'"));
  }
  // The district's own profile update keeps its targets.
  profile.mutable_profile()->clear_child_targets();
  profile.mutable_profile()->set_address("长沙市芙蓉区五一大道1号");
  ASSERT_TRUE(Call(&S::UpdateOrgProfile, d1_, profile).status.ok());
  EXPECT_EQ(node_->store().GetOrg("d1")->child_targets_size(), 2);

  // The union's progress is measured against its target: a member of 45 in
  // the district's view of its children.
  v1::GetProgressRequest progress;
  progress.set_view("children");
  progress.set_org_id("d1");
  auto monitor = v1::MonitorService::NewStub(channel_);
  v1::GetProgressResponse report;
  ASSERT_TRUE(::unionsync::testing::CallRpc(
                  monitor.get(), &v1::MonitorService::Stub::GetProgress, d1_,
                  progress, &report, std::chrono::seconds(10))
                  .ok());
  ASSERT_EQ(report.rows_size(), 2);
  EXPECT_EQ(report.rows(1).scope(), "org:g2");
  EXPECT_EQ(report.rows(1).expected_members(), 45);
  EXPECT_EQ(report.rows(1).expected_grassroots(), 1);

  // Removed: both zero.
  grandchild.set_expected_grassroots(0);
  grandchild.set_expected_members(0);
  ASSERT_TRUE(Call(&S::SetChildTarget, d1_, grandchild, &resp).status.ok());
  EXPECT_FALSE(resp.has_target());
  EXPECT_EQ(node_->store().GetOrg("d1")->child_targets_size(), 1);
  EXPECT_EQ(LastAudit().detail(), "target removed");
}

}  // namespace
}  // namespace unionsync
