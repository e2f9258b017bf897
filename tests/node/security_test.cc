// Confidentiality rules of the Admin layer (docs/SECURITY.md), each written as
// the attack it stops: a curious clerk reading full ID numbers in bulk or
// probing whether a person is a member elsewhere, a parent adding a second
// pair of hands inside its child or acting as its leader, a reviewer reading
// contacts, weak passwords, and logins away from the account's own node.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "absl/strings/match.h"
#include "common/mask.h"
#include "node/exporter.h"
#include "node/node_server.h"
#include "unionsync/v1/export.pb.h"
#include "synth/synth.h"
#include "testing/node_fixture.h"
#include "testing/status_matchers.h"
#include "testing/store_checks.h"

namespace unionsync {
namespace {

using ::testing::HasSubstr;
using ::unionsync::testing::StatusIs;
using ::unionsync::testing::kCity;
using ::unionsync::testing::kNow;

class SecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("unionsync_security_test");
    ASSERT_NO_FATAL_FAILURE(
        testing::StartNode(testing::CityNodeOptions(dir_, &clock_), &node_));
    auto pw = testing::BootstrapCity(*node_);
    ASSERT_TRUE(pw.ok()) << pw.status();
    city_ = testing::Activate(*node_, "admin", *pw);
    // city -> d1 (district, hosted here) -> g1, g2 (grassroots, hosted here).
    d1_ = testing::CreateActiveChild(*node_, city_, kCity, "d1",
                                     v1::DISTRICT_FEDERATION, "d1admin",
                                     "430102");
    v1::CreateChildOrgRequest g1 = testing::ChildOrgRequest(
        "d1", "g1", v1::INDEPENDENT_GRASSROOTS, "g1admin", "");
    g1.set_leader_username("g1leader");
    auto made = admin().CreateChildOrg(Ctx(d1_), g1);
    ASSERT_TRUE(made.ok()) << made.status();
    g1_ = testing::Activate(*node_, "g1admin", made->initial_password());
    g1_leader_ = testing::Activate(*node_, "g1leader",
                                   made->leader_initial_password());
    g2_ = testing::CreateActiveChild(*node_, d1_, "d1", "g2",
                                     v1::JOINT_GRASSROOTS, "g2admin", "");
  }

  void TearDown() override {
    if (node_ != nullptr) {
      EXPECT_OK(testing::CheckStoreInvariants(node_->store(), kCity));
    }
    node_.reset();
    std::filesystem::remove_all(dir_);
  }

  Admin& admin() { return node_->admin(); }
  static CallContext Ctx(const std::string& token) {
    return CallContext{token, "test"};
  }
  v1::AuditEntry LastAudit() { return testing::LastAuditEntry(node_->store()); }

  v1::Member Enter(const std::string& token) {
    v1::AddMemberRequest req;
    *req.mutable_member() = gen_.Member("");
    auto added = admin().AddMember(Ctx(token), req);
    EXPECT_TRUE(added.ok()) << added.status();
    auto stored = node_->store().GetMember(added.ok() ? added->member().id() : "");
    return stored.ok() ? *stored : v1::Member();
  }

  std::string dir_;
  FakeClock clock_{kNow};
  std::unique_ptr<NodeServer> node_;
  SynthGenerator gen_{7};
  std::string city_, d1_, g1_, g1_leader_, g2_;
};

// --- Reads are masked; one full value is an explicit, audited action. -------

TEST_F(SecurityTest, EveryMemberReadIsMaskedByDefault) {
  v1::Member m = Enter(g1_);
  for (int i = 0; i < 4; ++i) Enter(g1_);
  v1::ListMembersRequest list;
  auto page = admin().ListMembers(Ctx(g1_), list);
  ASSERT_OK(page.status());
  ASSERT_EQ(page->members_size(), 5);
  for (const v1::Member& got : page->members()) {
    EXPECT_THAT(got.id_number(), HasSubstr("********")) << got.name();
    EXPECT_EQ(got.id_number().size(), 18u);
  }
  v1::GetMemberRequest get;
  get.set_member_id(m.id());
  auto one = admin().GetMember(Ctx(g1_), get);
  ASSERT_OK(one.status());
  EXPECT_EQ(one->member().id_number(), MaskIdNumber(m.id_number()));
  EXPECT_EQ(one->member().phone(), MaskPhone(m.phone()));
  EXPECT_FALSE(one->revealed());
  EXPECT_EQ(LastAudit().detail(), "masked");
}

TEST_F(SecurityTest, RevealingOneMemberNeedsAReasonAndIsAudited) {
  v1::Member m = Enter(g1_);
  v1::GetMemberRequest get;
  get.set_member_id(m.id());
  get.set_reveal_reason("ab");
  EXPECT_THAT(admin().GetMember(Ctx(g1_), get),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("reveal_reason")));
  get.set_reveal_reason("核对会员证补办");
  auto full = admin().GetMember(Ctx(g1_), get);
  ASSERT_OK(full.status());
  EXPECT_TRUE(full->revealed());
  EXPECT_EQ(full->member().id_number(), m.id_number());
  EXPECT_EQ(full->member().phone(), m.phone());
  const v1::AuditEntry e = LastAudit();
  EXPECT_EQ(e.action(), "GetMember");
  EXPECT_EQ(e.target(), "member/" + m.id());
  EXPECT_EQ(e.actor(), "g1admin");
  EXPECT_THAT(e.detail(), HasSubstr("asked for: 核对会员证补办"));
}

TEST_F(SecurityTest, NotYoursAndNobodyAnswerAlike) {
  v1::Member theirs = Enter(g2_);
  v1::GetMemberRequest by_number;
  by_number.set_id_number(theirs.id_number());
  auto a = admin().GetMember(Ctx(g1_), by_number);
  v1::GetMemberRequest nobody;
  nobody.set_id_number(gen_.Member("").id_number());
  auto b = admin().GetMember(Ctx(g1_), nobody);
  ASSERT_TRUE(absl::IsNotFound(a.status())) << a.status();
  ASSERT_TRUE(absl::IsNotFound(b.status())) << b.status();
  EXPECT_EQ(a.status().message(), b.status().message());
  // The audit log keeps the difference.
  v1::AuditEntry e = LastAudit();
  EXPECT_EQ(e.outcome(), v1::AUDIT_FAILED);
  v1::GetMemberRequest by_id;
  by_id.set_member_id(theirs.id());
  auto c = admin().GetMember(Ctx(g1_), by_id);
  EXPECT_TRUE(absl::IsNotFound(c.status()));
  EXPECT_EQ(c.status().message(), b.status().message());
  EXPECT_EQ(LastAudit().outcome(), v1::AUDIT_DENIED);
}

TEST_F(SecurityTest, AnEditFormSendingBackMaskedNumbersKeepsThem) {
  v1::Member m = Enter(g1_);
  v1::GetMemberRequest get;
  get.set_member_id(m.id());
  auto shown = admin().GetMember(Ctx(g1_), get);
  ASSERT_OK(shown.status());
  v1::UpdateMemberRequest update;
  *update.mutable_member() = shown->member();
  update.mutable_member()->set_workplace("长沙市芙蓉区文艺路街道办事处");
  auto updated = admin().UpdateMember(Ctx(g1_), update);
  ASSERT_OK(updated.status());
  auto stored = node_->store().GetMember(m.id());
  ASSERT_OK(stored.status());
  EXPECT_EQ(stored->id_number(), m.id_number());
  EXPECT_EQ(stored->phone(), m.phone());
  EXPECT_EQ(stored->workplace(), "长沙市芙蓉区文艺路街道办事处");
  EXPECT_EQ(updated->member().id_number(), MaskIdNumber(m.id_number()));
}

TEST_F(SecurityTest, ContactsAreForDataAdministratorsAndPhonesMasked) {
  v1::UpdateOrgProfileRequest profile;
  profile.set_org_id("g1");
  profile.mutable_profile()->mutable_chair()->set_name("张三");
  profile.mutable_profile()->mutable_chair()->set_phone("13812345678");
  ASSERT_OK(admin().UpdateOrgProfile(Ctx(g1_), profile).status());
  v1::GetOrgRequest get;
  get.set_org_id("g1");
  auto as_admin = admin().GetOrg(Ctx(g1_), get);
  ASSERT_OK(as_admin.status());
  EXPECT_EQ(as_admin->org().chair().name(), "张三");
  EXPECT_EQ(as_admin->org().chair().phone(), "138****5678");
  EXPECT_EQ(LastAudit().action(), "GetOrg");
  auto as_leader = admin().GetOrg(Ctx(g1_leader_), get);
  ASSERT_OK(as_leader.status());
  EXPECT_FALSE(as_leader->org().has_chair());
  v1::ListChildOrgsRequest children;
  children.set_parent_id("d1");
  auto listed = admin().ListChildOrgs(Ctx(d1_), children);
  ASSERT_OK(listed.status());
  for (const v1::Org& o : listed->orgs()) {
    EXPECT_FALSE(absl::StrContains(o.chair().phone(), "12345")) << o.id();
  }
  EXPECT_EQ(LastAudit().action(), "ListChildOrgs");
}

// --- Who may act for a unit. --------------------------------------------------

TEST_F(SecurityTest, AParentCannotAddASecondAdministratorOrLeaderToItsChild) {
  for (v1::Role role : {v1::DATA_ADMIN, v1::UNIT_LEADER}) {
    v1::CreateAccountRequest req;
    req.set_org_id("g1");
    req.set_username(role == v1::DATA_ADMIN ? "g1admin2" : "g1leader2");
    req.set_role(role);
    EXPECT_THAT(admin().CreateAccount(Ctx(d1_), req),
                StatusIs(absl::StatusCode::kPermissionDenied,
                         HasSubstr("already has an active")));
  }
  // Nor a reviewer inside it, nor may the grandparent make one.
  v1::CreateAccountRequest reviewer;
  reviewer.set_org_id("g1");
  reviewer.set_username("g1spy");
  reviewer.set_role(v1::REVIEWER);
  EXPECT_THAT(admin().CreateAccount(Ctx(d1_), reviewer),
              StatusIs(absl::StatusCode::kPermissionDenied));
  v1::CreateAccountRequest by_city;
  by_city.set_org_id("g1");
  by_city.set_username("g1admin3");
  by_city.set_role(v1::DATA_ADMIN);
  EXPECT_THAT(admin().CreateAccount(Ctx(city_), by_city),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("direct parent")));
}

TEST_F(SecurityTest, SuccessionDisablesTheLeaverThenCreatesTheSuccessor) {
  v1::DisableAccountRequest disable;
  disable.set_username("g1admin");
  disable.set_reason("调离岗位");
  ASSERT_OK(admin().DisableAccount(Ctx(d1_), disable).status());
  // The leaver's session ended at once.
  v1::ListMembersRequest list;
  EXPECT_THAT(admin().ListMembers(Ctx(g1_), list),
              StatusIs(absl::StatusCode::kUnauthenticated));
  v1::CreateAccountRequest successor;
  successor.set_org_id("g1");
  successor.set_username("g1admin_new");
  successor.set_role(v1::DATA_ADMIN);
  auto made = admin().CreateAccount(Ctx(d1_), successor);
  ASSERT_OK(made.status());
  EXPECT_EQ(made->account().created_by(), "d1admin");
  // Two active administrators never: the leaver cannot come back beside it.
  v1::EnableAccountRequest enable;
  enable.set_username("g1admin");
  EXPECT_THAT(admin().EnableAccount(Ctx(d1_), enable),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("one at a time")));
}

TEST_F(SecurityTest, TheUnitCannotMakeOrTakeOverItsOwnLeader) {
  v1::CreateAccountRequest leader;
  leader.set_org_id("g1");
  leader.set_username("g1puppet");
  leader.set_role(v1::UNIT_LEADER);
  EXPECT_THAT(admin().CreateAccount(Ctx(g1_), leader),
              StatusIs(absl::StatusCode::kPermissionDenied));
  v1::ResetPasswordRequest reset;
  reset.set_username("g1leader");
  EXPECT_THAT(admin().ResetPassword(Ctx(g1_), reset),
              StatusIs(absl::StatusCode::kPermissionDenied));
  // Reviewers of its own organisation are the unit's own to make.
  v1::CreateAccountRequest reviewer;
  reviewer.set_org_id("g1");
  reviewer.set_username("g1reviewer");
  reviewer.set_role(v1::REVIEWER);
  auto made = admin().CreateAccount(Ctx(g1_), reviewer);
  ASSERT_OK(made.status());
  EXPECT_EQ(made->account().created_by(), "g1admin");
}

TEST_F(SecurityTest, LeadersAndReviewersReadNoMemberRows) {
  Enter(g1_);
  v1::ListMembersRequest list;
  list.set_org_id("g1");
  EXPECT_THAT(admin().ListMembers(Ctx(g1_leader_), list),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("may not call ListMembers")));
  EXPECT_THAT(admin().ListMembers(Ctx(d1_), list),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

// --- Credentials. ---------------------------------------------------------------

TEST_F(SecurityTest, CommonAndUsernameDerivedPasswordsAreRefused) {
  for (const char* weak :
       {"Password123", "P@ssw0rd2024", "Qwerty12345!", "G1admin-2024!"}) {
    v1::ChangePasswordRequest req;
    req.set_old_password(testing::kStrong);
    req.set_new_password(weak);
    EXPECT_THAT(admin().ChangePassword(Ctx(g1_), req),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("new_password")))
        << weak;
    v1::CheckNewPasswordRequest check;
    check.set_new_password(weak);
    auto verdict = admin().CheckNewPassword(Ctx(g1_), check);
    ASSERT_OK(verdict.status());
    EXPECT_FALSE(verdict->acceptable()) << weak;
  }
  v1::CheckNewPasswordRequest good;
  good.set_new_password("Xq7#tLw9-Rv2");
  auto verdict = admin().CheckNewPassword(Ctx(g1_), good);
  ASSERT_OK(verdict.status());
  EXPECT_TRUE(verdict->acceptable()) << verdict->message();
}

TEST_F(SecurityTest, AnAccountLogsInOnlyAtTheNodeOfItsOwnUnion) {
  // A district that runs its own node: its administrator works there, never
  // here, so lockout and revocation have one place to hold.
  v1::CreateChildOrgRequest req = testing::ChildOrgRequest(
      kCity, "430103", v1::DISTRICT_FEDERATION, "tianxin_admin", "430103");
  req.mutable_org()->set_host_node("430103");
  auto made = admin().CreateChildOrg(Ctx(city_), req);
  ASSERT_OK(made.status());
  auto login = testing::Login(*node_, "tianxin_admin", made->initial_password());
  EXPECT_THAT(login, StatusIs(absl::StatusCode::kFailedPrecondition,
                              HasSubstr("430103")));
  // A wrong password says nothing about where the account lives.
  auto wrong = testing::Login(*node_, "tianxin_admin", "Wrong-pass-123");
  EXPECT_THAT(wrong, StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_FALSE(absl::StrContains(wrong.status().message(), "430103"));
}

// --- Exports. ---------------------------------------------------------------------

TEST_F(SecurityTest, AnExportOfASubtreeIsRefused) {
  v1::RequestExportRequest req;
  req.set_org_id("g1");
  req.set_include_subtree(true);
  req.set_purpose("年度统计");
  req.set_recipient("李四");
  req.add_fields(v1::EXPORT_GENDER);
  Exporter exporter(&node_->store(), &clock_, &admin());
  EXPECT_THAT(exporter.RequestExport(RequestContext{g1_, "test"}, req),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("per unit")));
}

}  // namespace
}  // namespace unionsync
