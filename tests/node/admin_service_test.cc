// Service tests of the Admin API: a real node (RocksDB in a temp dir) serving
// gRPC on 127.0.0.1:0, called through the generated stub. Covers the scope
// rules of R2-R4, R10, R11 and bad input of every RPC; every refusal must write
// nothing but its audit entry.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <set>

#include "common/mask.h"
#include "common/validation.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "node/node_server.h"
#include "synth/synth.h"
#include "testing/audit_tamper.h"
#include "testing/node_fixture.h"
#include "testing/status_matchers.h"
#include "testing/store_checks.h"
#include "tests/node/admin_service_fixture.h"
#include "unionsync/v1/admin.grpc.pb.h"

namespace unionsync {
namespace {

using ::testing::HasSubstr;

using ::unionsync::testing::kCity;
using ::unionsync::testing::kNow;
using ::unionsync::testing::kStrong;
using ::unionsync::testing::Rpc;

using ::unionsync::testing::AdminServiceTest;
using S = v1::AdminService::Stub;

TEST_F(AdminServiceTest, HealthCheckServes) {
  grpc::GenericStub generic(channel_);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::Slice empty("", 0);
  grpc::ByteBuffer request(
      &empty, 1);  // An empty HealthCheckRequest: the whole server.
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  generic.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                    &request, &response,
                    [&](grpc::Status s) { done.set_value(s); });
  grpc::Status s = done.get_future().get();
  ASSERT_TRUE(s.ok()) << s.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (auto& sl : slices) bytes += std::string(sl.begin(), sl.end());
  EXPECT_EQ(bytes, std::string("\x08\x01"));  // status: SERVING
}

// --- Sessions
// ---------------------------------------------------------------------------------

TEST_F(AdminServiceTest, LoginRejectsWrongPasswordAndUnknownUserAlike) {
  Rpc wrong = Login("admin", "not-the-password");
  Rpc unknown = Login("nobody", "not-the-password");
  EXPECT_EQ(wrong.code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(unknown.code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(wrong.message(), unknown.message());
  EXPECT_EQ(LastAudit().outcome(), v1::AUDIT_DENIED);
}

TEST_F(AdminServiceTest, LoginRejectsMalformedInput) {
  EXPECT_EQ(Login("A B", "x").code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Login(std::string(65, 'a'), "x").code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Login("admin", "").code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Login("admin", std::string(129, 'x')).code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(AdminServiceTest, RepeatedFailuresLockTheAccount) {
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Login("admin", "wrong-password").code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  Rpc locked = Login("admin", kStrong);
  EXPECT_EQ(locked.code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(locked.message(), HasSubstr("locked"));
  clock_.AdvanceMs(16 * 60 * 1000);
  EXPECT_TRUE(Login("admin", kStrong).status.ok());
}

TEST_F(AdminServiceTest, InitialPasswordMustBeChangedFirst) {
  v1::CreateChildOrgResponse d1;
  ASSERT_TRUE(CreateChild(city_, kCity, "d1", v1::DISTRICT_FEDERATION,
                          "d1admin", &d1, "430102")
                  .status.ok());
  EXPECT_EQ(d1.initial_password().size(), 14u);
  v1::LoginResponse login;
  ASSERT_TRUE(Login("d1admin", d1.initial_password(), &login).status.ok());
  EXPECT_TRUE(login.must_change_password());
  v1::GetOrgRequest get;
  get.set_org_id("d1");
  Rpc r = Call(&S::GetOrg, login.token(), get);
  EXPECT_EQ(r.code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(r.message(), HasSubstr("initial password"));
  v1::WhoAmIResponse who;
  ASSERT_TRUE(
      Call(&S::WhoAmI, login.token(), v1::WhoAmIRequest(), &who).status.ok());
  EXPECT_TRUE(who.must_change_password());
  EXPECT_EQ(who.org_id(), "d1");

  v1::ChangePasswordRequest change;
  change.set_old_password(d1.initial_password());
  change.set_new_password("short");
  EXPECT_EQ(Call(&S::ChangePassword, login.token(), change).code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  change.set_old_password("wrong-old-password");
  change.set_new_password(kStrong);
  EXPECT_EQ(Call(&S::ChangePassword, login.token(), change).code(),
            grpc::StatusCode::PERMISSION_DENIED);
  change.set_old_password(d1.initial_password());
  ASSERT_TRUE(Call(&S::ChangePassword, login.token(), change).status.ok());
  EXPECT_TRUE(Call(&S::GetOrg, login.token(), get).status.ok());
  EXPECT_EQ(Counters(kCity).activated_orgs(), 2);
  // The initial password no longer works.
  EXPECT_EQ(Login("d1admin", d1.initial_password()).code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AdminServiceTest, MissingOrBadTokenIsUnauthenticated) {
  v1::GetOrgRequest get;
  get.set_org_id(kCity);
  EXPECT_EQ(Call(&S::GetOrg, "", get).code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Call(&S::GetOrg, "deadbeef", get).code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Call(&S::GetOrg, std::string(4096, 'a'), get).code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AdminServiceTest, SessionsExpireWhenIdle) {
  v1::GetOrgRequest get;
  get.set_org_id(kCity);
  EXPECT_TRUE(Call(&S::GetOrg, city_, get).status.ok());
  clock_.AdvanceMs(31 * 60 * 1000);
  EXPECT_EQ(Call(&S::GetOrg, city_, get).code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AdminServiceTest, LogoutEndsTheSession) {
  EXPECT_TRUE(Call(&S::Logout, city_, v1::LogoutRequest()).status.ok());
  EXPECT_EQ(Call(&S::WhoAmI, city_, v1::WhoAmIRequest()).code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

// --- Organisations
// ----------------------------------------------------------------------------

TEST_F(AdminServiceTest, ParentRegistersChildWithAccount) {
  BuildTree();
  v1::GetSubtreeSummaryRequest req;
  req.set_org_id(kCity);
  v1::GetSubtreeSummaryResponse summary;
  ASSERT_TRUE(Call(&S::GetSubtreeSummary, city_, req, &summary).status.ok());
  EXPECT_EQ(summary.counters().orgs(), 4);
  EXPECT_EQ(summary.counters().grassroots_orgs(), 2);
  EXPECT_EQ(summary.counters().activated_orgs(), 4);
  EXPECT_EQ(summary.direct_children(), 1);
  v1::GetOrgRequest get;
  get.set_org_id("g1");
  v1::GetOrgResponse g1;
  ASSERT_TRUE(Call(&S::GetOrg, city_, get, &g1).status.ok());
  EXPECT_EQ(g1.org().tier(), 3);
  EXPECT_EQ(g1.org().region(), "430102");  // Inherited from the district.
  EXPECT_EQ(g1.org().host_node(), kCity);
}

TEST_F(AdminServiceTest, GeneratedChildIdsFollowTheParent) {
  v1::CreateChildOrgResponse resp;
  ASSERT_TRUE(
      CreateChild(city_, kCity, "", v1::INDUSTRY_UNION, "edu", &resp).code() ==
      grpc::StatusCode::INVALID_ARGUMENT);  // Industry union without a system.
  v1::CreateChildOrgRequest req;
  req.set_parent_id(kCity);
  req.mutable_org()->set_name("长沙市教育工会");
  req.mutable_org()->set_kind(v1::INDUSTRY_UNION);
  req.mutable_org()->set_system("education");
  req.set_admin_username("edu");
  ASSERT_TRUE(Call(&S::CreateChildOrg, city_, req, &resp).status.ok());
  EXPECT_EQ(resp.org().id(), "430100.1");
  EXPECT_EQ(resp.org().system(), "education");
}

TEST_F(AdminServiceTest, CreateChildOrgRejectsBadInputWithoutWriting) {
  const uint64_t log_before = node_->store().next_log_pos();
  struct Case {
    std::string id, name, admin, region;
    v1::OrgKind kind;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {"t1", "乡镇", "t1admin", "", v1::TOWNSHIP_FEDERATION,
       "tier"},  // Wrong tier for city.
      {"d9", "", "d9admin", "430102", v1::DISTRICT_FEDERATION, "org.name"},
      {"d9", std::string(101 * 3, 'a'), "d9admin", "430102",
       v1::DISTRICT_FEDERATION, "org.name"},
      {"D9!", "区总工会", "d9admin", "430102", v1::DISTRICT_FEDERATION,
       "org.id"},
      {"d9", "区总工会", "A", "430102", v1::DISTRICT_FEDERATION,
       "admin_username"},
      {"d9", "区总工会", "d9admin", "", v1::DISTRICT_FEDERATION, "org.region"},
      {"d9", "区总工会", "d9admin", "4301", v1::DISTRICT_FEDERATION, "region"},
      {"d9", "区总工会", "d9admin", "430102", v1::ORG_KIND_UNSPECIFIED,
       "org.kind"},
      {"d9", "区总工会", "d9admin", "430102", static_cast<v1::OrgKind>(99),
       "kind"},
  };
  for (const Case& c : cases) {
    v1::CreateChildOrgRequest req;
    req.set_parent_id(kCity);
    req.mutable_org()->set_id(c.id);
    req.mutable_org()->set_name(c.name);
    req.mutable_org()->set_kind(c.kind);
    req.mutable_org()->set_region(c.region);
    req.set_admin_username(c.admin);
    Rpc r = Call(&S::CreateChildOrg, city_, req);
    EXPECT_EQ(r.code(), grpc::StatusCode::INVALID_ARGUMENT)
        << c.expect << ": " << r.message();
    EXPECT_THAT(r.message(), HasSubstr(c.expect));
  }
  // A system the city does not list (a typo would make a new industry).
  v1::CreateChildOrgRequest typo;
  typo.set_parent_id(kCity);
  typo.mutable_org()->set_id("i9");
  typo.mutable_org()->set_name("长沙市教育工会");
  typo.mutable_org()->set_kind(v1::INDUSTRY_UNION);
  typo.mutable_org()->set_system("educaton");
  typo.set_admin_username("i9admin");
  Rpc r = Call(&S::CreateChildOrg, city_, typo);
  EXPECT_EQ(r.code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(r.message(),
              HasSubstr("'educaton' is not one of the industry systems the "
                        "city lists (education 教育系统, health 卫生健康系统"));
  EXPECT_EQ(node_->store().next_log_pos(), log_before);
  EXPECT_EQ(Counters(kCity).orgs(), 1);
  // The list the workbench offers: the campaign's systems, with names.
  v1::GetOrgRequest get;
  get.set_org_id(kCity);
  v1::GetOrgResponse org;
  ASSERT_TRUE(Call(&S::GetOrg, city_, get, &org).status.ok());
  ASSERT_EQ(org.systems_size(), 9);
  EXPECT_EQ(org.systems(0).code(), "education");
  EXPECT_EQ(org.systems(0).label(), "教育系统");
  typo.mutable_org()->set_system("education");
  EXPECT_TRUE(Call(&S::CreateChildOrg, city_, typo).status.ok());
}

TEST_F(AdminServiceTest, DuplicateAdminUsernameWritesNothing) {
  BuildTree();
  Rpc r = CreateChild(city_, kCity, "d2", v1::DISTRICT_FEDERATION, "d1admin",
                      nullptr, "430103");
  EXPECT_EQ(r.code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(node_->store().GetOrg("d2"),
              testing::StatusIs(absl::StatusCode::kNotFound));
  r = CreateChild(city_, kCity, "d1", v1::DISTRICT_FEDERATION, "other", nullptr,
                  "430103");
  EXPECT_EQ(r.code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(node_->store().GetAccount("other"),
              testing::StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(AdminServiceTest, OnlyTheDirectParentRegistersChildren) {
  BuildTree();
  // The city may not register a grassroots union under the district.
  Rpc r = CreateChild(city_, "d1", "g9", v1::INDEPENDENT_GRASSROOTS, "g9admin");
  EXPECT_EQ(r.code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(LastAudit().outcome(), v1::AUDIT_DENIED);
  EXPECT_EQ(LastAudit().actor(), "admin");
  // A grassroots union has no children at all.
  r = CreateChild(g1_, "g1", "g9", v1::INDEPENDENT_GRASSROOTS, "g9admin");
  EXPECT_EQ(r.code(), grpc::StatusCode::INVALID_ARGUMENT);
  // A viewer may not register anything.
  v1::CreateAccountRequest acc;
  acc.set_org_id("d1");
  acc.set_username("d1viewer");
  acc.set_role(v1::REVIEWER);
  v1::CreateAccountResponse viewer;
  ASSERT_TRUE(Call(&S::CreateAccount, d1_, acc, &viewer).status.ok());
  std::string viewer_token = Activate("d1viewer", viewer.initial_password());
  r = CreateChild(viewer_token, "d1", "g9", v1::INDEPENDENT_GRASSROOTS,
                  "g9admin");
  EXPECT_EQ(r.code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(AdminServiceTest, ReadsStayInsideTheSubtree) {
  BuildTree();
  v1::GetOrgRequest get;
  get.set_org_id(kCity);
  EXPECT_EQ(Call(&S::GetOrg, d1_, get).code(),
            grpc::StatusCode::PERMISSION_DENIED);
  get.set_org_id("g2");
  EXPECT_EQ(Call(&S::GetOrg, g1_, get).code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(Call(&S::GetOrg, d1_, get).status.ok());
  get.set_org_id("no-such-org");
  EXPECT_EQ(Call(&S::GetOrg, city_, get).code(),
            grpc::StatusCode::PERMISSION_DENIED);
  get.set_org_id("");
  EXPECT_EQ(Call(&S::GetOrg, city_, get).code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::GetSubtreeSummaryRequest sum;
  sum.set_org_id(kCity);
  EXPECT_EQ(Call(&S::GetSubtreeSummary, g1_, sum).code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::ListChildOrgsRequest list;
  list.set_parent_id(kCity);
  EXPECT_EQ(Call(&S::ListChildOrgs, d1_, list).code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(AdminServiceTest, ListChildOrgsPaginates) {
  BuildTree();
  v1::ListChildOrgsRequest req;
  req.set_parent_id("d1");
  req.set_page_size(1);
  v1::ListChildOrgsResponse page;
  ASSERT_TRUE(Call(&S::ListChildOrgs, d1_, req, &page).status.ok());
  ASSERT_EQ(page.orgs_size(), 1);
  EXPECT_EQ(page.orgs(0).id(), "g1");
  ASSERT_FALSE(page.next_page_token().empty());
  req.set_page_token(page.next_page_token());
  ASSERT_TRUE(Call(&S::ListChildOrgs, d1_, req, &page).status.ok());
  ASSERT_EQ(page.orgs_size(), 1);
  EXPECT_EQ(page.orgs(0).id(), "g2");
  EXPECT_TRUE(page.next_page_token().empty());
  req.set_page_token("%%%not-base64");
  EXPECT_EQ(Call(&S::ListChildOrgs, d1_, req).code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  req.set_page_token("");
  req.set_page_size(-1);
  EXPECT_EQ(Call(&S::ListChildOrgs, d1_, req).code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  req.set_page_size(1001);
  EXPECT_EQ(Call(&S::ListChildOrgs, d1_, req).code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(AdminServiceTest, OrganisationCompletesItsOwnProfile) {
  BuildTree();
  v1::UpdateOrgProfileRequest req;
  req.set_org_id("g1");
  *req.mutable_profile() = gen_.GrassrootsProfile();
  // A name is the registration's, kept by the parent: a different one is
  // refused with a reason, never answered OK and dropped; nothing is written.
  {
    const uint64_t pos = node_->store().next_log_pos();
    Rpc renamed = Call(&S::UpdateOrgProfile, g1_, req);
    EXPECT_EQ(renamed.code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(renamed.message(), HasSubstr("profile.name"));
    EXPECT_THAT(renamed.message(), HasSubstr("parent tier (d1)"));
    EXPECT_EQ(node_->store().next_log_pos(), pos);
    v1::UpdateOrgProfileRequest kind = req;
    kind.mutable_profile()->clear_name();
    kind.mutable_profile()->set_kind(v1::JOINT_GRASSROOTS);
    EXPECT_THAT(Call(&S::UpdateOrgProfile, g1_, kind).message(),
                HasSubstr("profile.kind"));
  }
  // Sent back as registered, the name is fine.
  req.mutable_profile()->set_name(node_->store().GetOrg("g1")->name());
  // The parent may not do it for the child (R3).
  EXPECT_EQ(Call(&S::UpdateOrgProfile, d1_, req).code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::UpdateOrgProfileResponse resp;
  ASSERT_TRUE(Call(&S::UpdateOrgProfile, g1_, req, &resp).status.ok());
  EXPECT_EQ(resp.org().profile_completeness(), 100);
  EXPECT_EQ(resp.org().kind(),
            v1::INDEPENDENT_GRASSROOTS);  // Registration untouched.
  EXPECT_EQ(Counters("d1").profile_complete(), 1);

  // Bad values are refused and change nothing.
  v1::UpdateOrgProfileRequest bad;
  bad.set_org_id("g1");
  bad.mutable_profile()->set_credit_code(
      "91350100M000100Y44");  // Wrong check character.
  Rpc r = Call(&S::UpdateOrgProfile, g1_, bad);
  EXPECT_EQ(r.code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(r.message(), HasSubstr("credit_code"));
  bad.clear_profile();
  bad.mutable_profile()->mutable_chair()->set_phone("12345");
  EXPECT_EQ(Call(&S::UpdateOrgProfile, g1_, bad).code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  bad.clear_profile();
  bad.mutable_profile()->set_founding_date("2019-02-30");
  EXPECT_EQ(Call(&S::UpdateOrgProfile, g1_, bad).code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  bad.clear_profile();
  bad.add_clear_fields("name");
  EXPECT_EQ(Call(&S::UpdateOrgProfile, g1_, bad).code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  bad.clear_clear_fields();
  bad.add_clear_fields("chair.trained_date");
  EXPECT_EQ(Call(&S::UpdateOrgProfile, g1_, bad).code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  auto stored = node_->store().GetOrg("g1");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->credit_code(), req.profile().credit_code());

  // Clearing a field lowers completeness and the counter follows.
  v1::UpdateOrgProfileRequest clear;
  clear.set_org_id("g1");
  clear.add_clear_fields("address");
  clear.add_clear_fields("chair.phone");
  ASSERT_TRUE(Call(&S::UpdateOrgProfile, g1_, clear, &resp).status.ok());
  EXPECT_EQ(resp.org().profile_completeness(), 80);
  EXPECT_FALSE(resp.org().chair().name().empty());
  EXPECT_EQ(Counters("d1").profile_complete(), 0);
}

TEST_F(AdminServiceTest, ParentDisablesChildAdminAndSessionsEndAtOnce) {
  BuildTree();
  v1::DisableAccountRequest req;
  req.set_username("g1admin");
  req.set_reason("信息管理员调离岗位");
  // A sibling or the child itself may not.
  EXPECT_EQ(Call(&S::DisableAccount, g2_, req).code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Call(&S::DisableAccount, g1_, req).code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::DisableAccountResponse resp;
  ASSERT_TRUE(Call(&S::DisableAccount, d1_, req, &resp).status.ok());
  EXPECT_EQ(resp.account().state(), v1::CREDENTIAL_DISABLED);
  EXPECT_TRUE(resp.account().password_hash().empty());
  EXPECT_EQ(Call(&S::WhoAmI, g1_, v1::WhoAmIRequest()).code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Login("g1admin", kStrong).code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Counters("d1").activated_orgs(), 2);  // d1, g2

  // Enabling puts the account in "must change password" state.
  v1::EnableAccountRequest en;
  en.set_username("g1admin");
  v1::EnableAccountResponse enabled;
  ASSERT_TRUE(Call(&S::EnableAccount, city_, en, &enabled)
                  .status.ok());  // Any ancestor.
  EXPECT_EQ(enabled.account().state(), v1::CREDENTIAL_RESET);
  v1::LoginResponse login;
  ASSERT_TRUE(Login("g1admin", kStrong, &login).status.ok());
  EXPECT_TRUE(login.must_change_password());
  EXPECT_EQ(Call(&S::EnableAccount, city_, en).code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(AdminServiceTest, ResetGivesNewInitialPassword) {
  BuildTree();
  v1::ResetPasswordRequest req;
  req.set_username("g2admin");
  v1::ResetPasswordResponse resp;
  ASSERT_TRUE(Call(&S::ResetPassword, d1_, req, &resp).status.ok());
  EXPECT_EQ(Call(&S::WhoAmI, g2_, v1::WhoAmIRequest()).code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Login("g2admin", kStrong).code(),
            grpc::StatusCode::UNAUTHENTICATED);
  v1::LoginResponse login;
  ASSERT_TRUE(Login("g2admin", resp.initial_password(), &login).status.ok());
  EXPECT_TRUE(login.must_change_password());
  // Nobody resets their own account, and nobody above their station.
  req.set_username("d1admin");
  EXPECT_EQ(Call(&S::ResetPassword, d1_, req).code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Call(&S::ResetPassword, g1_, req).code(),
            grpc::StatusCode::PERMISSION_DENIED);
  req.set_username("no-such-user");
  EXPECT_EQ(Call(&S::ResetPassword, city_, req).code(),
            grpc::StatusCode::NOT_FOUND);
  req.set_username("BAD NAME");
  EXPECT_EQ(Call(&S::ResetPassword, city_, req).code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(AdminServiceTest, AccountCreationRules) {
  BuildTree();
  v1::CreateAccountRequest req;
  req.set_org_id("d1");
  req.set_username("d1second");
  req.set_role(v1::DATA_ADMIN);
  // A unit's data administrator is created by its parent, and only while it
  // has none active (the successor of a disabled leaver).
  EXPECT_EQ(Call(&S::CreateAccount, d1_, req).code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Call(&S::CreateAccount, city_, req).code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::DisableAccountRequest leave;
  leave.set_username("d1admin");
  ASSERT_TRUE(Call(&S::DisableAccount, city_, leave).status.ok());
  EXPECT_TRUE(Call(&S::CreateAccount, city_, req).status.ok());
  req.set_username("d1third");
  EXPECT_EQ(Call(&S::CreateAccount, city_, req).code(),
            grpc::StatusCode::PERMISSION_DENIED);
  req.set_username("d1second");
  req.set_role(v1::UNIT_LEADER);
  EXPECT_EQ(Call(&S::CreateAccount, city_, req).code(),
            grpc::StatusCode::ALREADY_EXISTS);
  req.set_role(v1::DATA_ADMIN);
  req.set_org_id(kCity);
  req.set_username("cityviewer");
  req.set_role(v1::REVIEWER);
  EXPECT_EQ(Call(&S::CreateAccount, g1_, req).code(),
            grpc::StatusCode::PERMISSION_DENIED);
  req.set_role(static_cast<v1::Role>(7));
  EXPECT_EQ(Call(&S::CreateAccount, city_, req).code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::ListAccountsRequest list;
  list.set_org_id("d1");
  v1::ListAccountsResponse accounts;
  ASSERT_TRUE(Call(&S::ListAccounts, city_, list, &accounts).status.ok());
  ASSERT_EQ(accounts.accounts_size(), 2);
  for (const auto& a : accounts.accounts())
    EXPECT_TRUE(a.password_hash().empty());
  EXPECT_EQ(Call(&S::ListAccounts, g1_, list).code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

// --- Members
// ----------------------------------------------------------------------------------

TEST_F(AdminServiceTest, GrassrootsAdminEntersAndManagesMembers) {
  BuildTree();
  v1::Member m = NewMember();
  v1::AddMemberResponse added;
  ASSERT_TRUE(AddMember(g1_, m, &added).status.ok());
  EXPECT_EQ(added.member().org_id(), "g1");
  EXPECT_EQ(added.member().status(), v1::MEMBER_ACTIVE);
  EXPECT_EQ(Counters(kCity).members(), 1);

  // Read by id and by ID number; both audited.
  v1::GetMemberRequest get;
  get.set_id_number(m.id_number());
  v1::GetMemberResponse got;
  ASSERT_TRUE(Call(&S::GetMember, g1_, get, &got).status.ok());
  EXPECT_EQ(got.member().id(), added.member().id());
  EXPECT_EQ(LastAudit().action(), "GetMember");
  EXPECT_EQ(LastAudit().target(), "member/" + added.member().id());
  EXPECT_EQ(LastAudit().outcome(), v1::AUDIT_OK);

  // Update.
  v1::UpdateMemberRequest upd;
  *upd.mutable_member() = added.member();
  upd.mutable_member()->set_workplace("长沙某某机械有限公司");
  upd.mutable_member()->set_org_id(
      "g2");  // Ignored: org changes only by transfer.
  v1::UpdateMemberResponse updated;
  ASSERT_TRUE(Call(&S::UpdateMember, g1_, upd, &updated).status.ok());
  EXPECT_EQ(updated.member().workplace(), "长沙某某机械有限公司");
  EXPECT_EQ(updated.member().org_id(), "g1");

  // Transfer to the sibling union, then remove.
  v1::TransferMemberRequest tr;
  tr.set_member_id(added.member().id());
  tr.set_to_org_id("d1");
  EXPECT_EQ(Call(&S::TransferMember, g1_, tr).code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  tr.set_to_org_id("g2");
  ASSERT_TRUE(Call(&S::TransferMember, g1_, tr).status.ok());
  EXPECT_EQ(Counters("g1").members(), 0);
  EXPECT_EQ(Counters("g2").members(), 1);
  // Now it is g2's member: g1 can no longer touch it.
  EXPECT_EQ(Call(&S::TransferMember, g1_, tr).code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::RemoveMemberRequest rm;
  rm.set_member_id(added.member().id());
  rm.set_reason("调出");
  ASSERT_TRUE(Call(&S::RemoveMember, g2_, rm).status.ok());
  EXPECT_EQ(Counters(kCity).members(), 0);
  EXPECT_EQ(Call(&S::RemoveMember, g2_, rm).code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  // The person may now join again.
  ASSERT_TRUE(AddMember(g1_, m, &added).status.ok());
}

TEST_F(AdminServiceTest, MemberDataIsOnlyForTheUnionsOwnAdministrator) {
  BuildTree();
  v1::AddMemberResponse added;
  ASSERT_TRUE(AddMember(g1_, NewMember(), &added).status.ok());
  v1::GetMemberRequest get;
  get.set_member_id(added.member().id());
  // Not the parent, not the city, not a sibling (R10.2); answered like a
  // member that does not exist, audited as a refusal.
  for (const std::string* token : {&d1_, &city_, &g2_}) {
    Rpc r = Call(&S::GetMember, *token, get);
    EXPECT_EQ(r.code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(LastAudit().outcome(), v1::AUDIT_DENIED);
    EXPECT_EQ(LastAudit().target(), "member/" + added.member().id());
  }
  v1::ListMembersRequest list;
  list.set_org_id("g1");
  EXPECT_EQ(Call(&S::ListMembers, d1_, list).code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Entering members for another union is refused too (R4).
  v1::Member other = NewMember();
  other.set_org_id("g2");
  EXPECT_EQ(AddMember(g1_, other, nullptr).code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // A district federation has no members of its own.
  EXPECT_EQ(AddMember(d1_, NewMember(), nullptr).code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  // Viewers see no personal data.
  v1::CreateAccountRequest acc;
  acc.set_org_id("g1");
  acc.set_username("g1viewer");
  acc.set_role(v1::REVIEWER);
  v1::CreateAccountResponse viewer;
  ASSERT_TRUE(Call(&S::CreateAccount, g1_, acc, &viewer).status.ok());
  std::string v = Activate("g1viewer", viewer.initial_password());
  EXPECT_EQ(Call(&S::GetMember, v, get).code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::GetSubtreeSummaryRequest sum;
  sum.set_org_id("g1");
  EXPECT_TRUE(Call(&S::GetSubtreeSummary, v, sum).status.ok());
}

TEST_F(AdminServiceTest, AddMemberRejectsBadInputWithoutWriting) {
  BuildTree();
  v1::Member base = NewMember();
  ASSERT_TRUE(AddMember(g1_, base, nullptr).status.ok());
  const uint64_t log_before = node_->store().next_log_pos();
  struct Case {
    std::string what;
    std::function<void(v1::Member*)> mutate;
    grpc::StatusCode code;
  };
  const std::vector<Case> cases = {
      {"id_number",
       [](v1::Member* m) { m->set_id_number("430102199001011234"); },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"id_number", [](v1::Member* m) { m->set_id_number("4301021990"); },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"name", [](v1::Member* m) { m->set_name(""); },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"name", [](v1::Member* m) { m->set_name(std::string(51 * 3, 'x')); },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"phone", [](v1::Member* m) { m->set_phone("0731-1234567"); },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"join_date", [](v1::Member* m) { m->set_join_date("2019/01/01"); },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"gender",
       [](v1::Member* m) {
         m->set_gender(m->gender() == v1::MALE ? v1::FEMALE : v1::MALE);
       },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"education",
       [](v1::Member* m) { m->set_education(static_cast<v1::Education>(42)); },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"id_number", [](v1::Member*) {},
       grpc::StatusCode::ALREADY_EXISTS},  // Same person.
  };
  for (const Case& c : cases) {
    v1::Member m = base;
    c.mutate(&m);
    Rpc r = AddMember(g1_, m, nullptr);
    EXPECT_EQ(r.code(), c.code) << c.what << ": " << r.message();
    EXPECT_THAT(r.message(), HasSubstr(c.what));
  }
  // The same person in another union of this node is refused as well.
  EXPECT_EQ(AddMember(g2_, base, nullptr).code(),
            grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(node_->store().next_log_pos(), log_before);
  EXPECT_EQ(Counters(kCity).members(), 1);
}

TEST_F(AdminServiceTest, ListMembersPaginatesAndFilters) {
  BuildTree();
  int migrants = 0;
  for (int i = 0; i < 7; ++i) {
    v1::Member m = NewMember();
    m.set_migrant_worker(i % 3 == 0);
    migrants += m.migrant_worker() ? 1 : 0;
    ASSERT_TRUE(AddMember(g1_, m, nullptr).status.ok());
  }
  v1::ListMembersRequest req;
  req.set_page_size(3);
  std::set<std::string> seen;
  for (int page = 0; page < 5; ++page) {
    v1::ListMembersResponse resp;
    ASSERT_TRUE(Call(&S::ListMembers, g1_, req, &resp).status.ok());
    for (const auto& m : resp.members()) seen.insert(m.id());
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  EXPECT_EQ(seen.size(), 7u);
  v1::ListMembersRequest filtered;
  filtered.set_migrant_only(true);
  v1::ListMembersResponse resp;
  ASSERT_TRUE(Call(&S::ListMembers, g1_, filtered, &resp).status.ok());
  EXPECT_EQ(resp.members_size(), migrants);
  EXPECT_TRUE(resp.next_page_token().empty());
  filtered.set_page_size(100000);
  EXPECT_EQ(Call(&S::ListMembers, g1_, filtered).code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  filtered.set_page_size(0);
  filtered.set_page_token("bm90IGEgdG9rZW4h");  // base64 of "not a token!"
  EXPECT_EQ(Call(&S::ListMembers, g1_, filtered).code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(AdminServiceTest, OversizedRequestIsRefused) {
  BuildTree();
  v1::Member m = NewMember();
  m.set_workplace(std::string(2 << 20, 'x'));
  EXPECT_EQ(AddMember(g1_, m, nullptr).code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  m.set_workplace(
      std::string(300, 'x'));  // Under the message limit, over the field limit.
  Rpc r = AddMember(g1_, m, nullptr);
  EXPECT_EQ(r.code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(r.message(), HasSubstr("workplace"));
  EXPECT_EQ(Counters(kCity).members(), 0);
}

TEST_F(AdminServiceTest, EveryCallLeavesAnIntactAuditChain) {
  BuildTree();
  v1::AddMemberResponse added;
  ASSERT_TRUE(AddMember(g1_, NewMember(), &added).status.ok());
  v1::GetOrgRequest get;
  get.set_org_id(kCity);
  Call(&S::GetOrg, g1_, get);  // Denied.
  auto entries = node_->store().ReadAudit(1, 1000);
  ASSERT_TRUE(entries.ok());
  int logins = 0, denied = 0, adds = 0;
  for (const auto& e : *entries) {
    logins += e.action() == "Login" && e.outcome() == v1::AUDIT_OK;
    denied += e.outcome() == v1::AUDIT_DENIED;
    adds += e.action() == "AddMember";
  }
  EXPECT_EQ(logins, 4);
  EXPECT_EQ(denied, 1);
  EXPECT_EQ(adds, 1);
  auto broken = node_->store().VerifyAuditChain();
  ASSERT_TRUE(broken.ok());
  EXPECT_FALSE(broken->has_value());
}

TEST_F(AdminServiceTest, ReplicationOperationsAreForTheNodesOwnAdministrator) {
  BuildTree();
  v1::GetReplicationStatusResponse status;
  ASSERT_TRUE(Call(&S::GetReplicationStatus, city_,
                   v1::GetReplicationStatusRequest(), &status)
                  .status.ok());
  EXPECT_EQ(status.node_id(), kCity);
  EXPECT_EQ(status.incarnation(), node_->store().incarnation());
  EXPECT_EQ(status.links_size(), 0);  // No replication configured here.
  // Administrators of organisations hosted on this node are not its operators.
  EXPECT_EQ(
      Call(&S::GetReplicationStatus, d1_, v1::GetReplicationStatusRequest())
          .code(),
      grpc::StatusCode::PERMISSION_DENIED);
  v1::ForceResyncRequest resync;
  resync.set_child_id("d1");
  EXPECT_EQ(Call(&S::ForceResync, g1_, resync).code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Call(&S::ForceResync, city_, resync).code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  resync.set_child_id("../etc");
  EXPECT_EQ(Call(&S::ForceResync, city_, resync).code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(AdminServiceTest, DataSurvivesRestart) {
  BuildTree();
  v1::AddMemberResponse added;
  ASSERT_TRUE(AddMember(g1_, NewMember(), &added).status.ok());
  const std::string incarnation = node_->store().incarnation();
  stub_.reset();
  channel_.reset();
  node_.reset();
  ASSERT_NO_FATAL_FAILURE(
      testing::StartNode(testing::CityNodeOptions(dir_, &clock_), &node_));
  EXPECT_EQ(node_->store().incarnation(), incarnation);
  ASSERT_OK_AND_ASSIGN(v1::Member m,
                       node_->store().GetMember(added.member().id()));
  EXPECT_EQ(MaskIdNumber(m.id_number()), added.member().id_number());
  EXPECT_EQ(Counters(kCity).members(), 1);
}

// --- The audit log (R10.4): verification and search -------------------------

// Stops the node and starts it again on the same store (sessions are lost).
void RestartNode(const std::string& dir, FakeClock* clock,
                 std::unique_ptr<NodeServer>* node,
                 std::shared_ptr<grpc::Channel>* channel,
                 std::unique_ptr<v1::AdminService::Stub>* stub,
                 const std::function<void()>& while_down = nullptr) {
  stub->reset();
  channel->reset();
  node->reset();
  if (while_down) while_down();
  ASSERT_NO_FATAL_FAILURE(
      testing::StartNode(testing::CityNodeOptions(dir, clock), node));
  *channel = testing::NodeChannel((*node)->port());
  *stub = v1::AdminService::NewStub(*channel);
}

TEST_F(AdminServiceTest, VerifyAuditPointsAtTheTamperedEntry) {
  BuildTree();
  v1::AddMemberResponse added;
  ASSERT_TRUE(AddMember(g1_, NewMember(), &added).status.ok());
  v1::VerifyAuditResponse v;
  ASSERT_TRUE(
      Call(&S::VerifyAudit, city_, v1::VerifyAuditRequest(), &v).status.ok());
  EXPECT_TRUE(v.intact());
  EXPECT_EQ(v.first_broken_seq(), 0u);
  EXPECT_EQ(v.entries(), v.head_seq());
  EXPECT_GT(v.entries(), 5u);
  EXPECT_EQ(v.head_hash().size(), 32u);
  // The verification is audited.
  EXPECT_EQ(LastAudit().action(), "VerifyAudit");
  EXPECT_THAT(LastAudit().detail(), HasSubstr("intact"));

  // Someone with access to the files changes entry 5 while the node is down.
  auto entry5 = node_->store().ReadAudit(5, 1);
  ASSERT_TRUE(entry5.ok() && entry5->size() == 1);
  const std::string original = (*entry5)[0].detail();
  RestartNode(dir_, &clock_, &node_, &channel_, &stub_, [&] {
    ASSERT_OK(
        testing::TamperAuditDetail(dir_ + "/db", nullptr, 5, "nothing to see"));
  });
  v1::LoginResponse login;
  ASSERT_TRUE(Login("admin", kStrong, &login).status.ok());
  ASSERT_TRUE(Call(&S::VerifyAudit, login.token(), v1::VerifyAuditRequest(), &v)
                  .status.ok());
  EXPECT_FALSE(v.intact());
  EXPECT_EQ(v.first_broken_seq(), 5u);
  EXPECT_EQ(v.entries(), 4u);
  EXPECT_THAT(v.detail(), HasSubstr("entry 5 was changed"));
  EXPECT_THAT(LastAudit().detail(), HasSubstr("broken at entry 5"));

  // Put it back (for the invariant check of TearDown): the chain is whole.
  RestartNode(dir_, &clock_, &node_, &channel_, &stub_, [&] {
    ASSERT_OK(testing::TamperAuditDetail(dir_ + "/db", nullptr, 5, original));
  });
  ASSERT_TRUE(Login("admin", kStrong, &login).status.ok());
  ASSERT_TRUE(Call(&S::VerifyAudit, login.token(), v1::VerifyAuditRequest(), &v)
                  .status.ok());
  EXPECT_TRUE(v.intact());
}

TEST_F(AdminServiceTest, VerifyAuditNamesAnEntryReplacedWithItsOwnHash) {
  BuildTree();
  // Entry 3 replaced with its own hash recomputed (not the chain after it):
  // entry 3 is named, not entry 4 whose link no longer matches.
  auto entry3 = node_->store().ReadAudit(3, 1);
  ASSERT_TRUE(entry3.ok() && entry3->size() == 1);
  const v1::AuditEntry original = (*entry3)[0];
  RestartNode(dir_, &clock_, &node_, &channel_, &stub_, [&] {
    ASSERT_OK(testing::TamperAuditLog(
        dir_ + "/db", nullptr,
        [](std::vector<v1::AuditEntry>& entries) {
          entries[2].set_actor("mallory");
          entries[2].set_hash(Store::AuditEntryHash(entries[2]));
        },
        /*rechain=*/false));
  });
  ASSERT_OK_AND_ASSIGN(AuditVerification v, node_->store().VerifyAudit());
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.first_broken, 3u);
  EXPECT_THAT(v.detail, HasSubstr("entry 3 was replaced"));
  RestartNode(dir_, &clock_, &node_, &channel_, &stub_, [&] {
    ASSERT_OK(testing::TamperAuditLog(
        dir_ + "/db", nullptr,
        [&](std::vector<v1::AuditEntry>& entries) { entries[2] = original; },
        /*rechain=*/false));
  });
  ASSERT_OK_AND_ASSIGN(v, node_->store().VerifyAudit());
  EXPECT_TRUE(v.intact) << v.detail;
}

TEST_F(AdminServiceTest, VerifyAuditIsForTheNodesOwnAdministrator) {
  BuildTree();
  EXPECT_EQ(Call(&S::VerifyAudit, d1_, v1::VerifyAuditRequest()).code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::AuditEntry e = LastAudit();
  EXPECT_EQ(e.action(), "VerifyAudit");
  EXPECT_EQ(e.actor(), "d1admin");
  EXPECT_EQ(e.outcome(), v1::AUDIT_DENIED);
}

TEST_F(AdminServiceTest, SearchAuditByPersonOrganisationAndTimeWithPages) {
  BuildTree();
  // g1's administrator adds three members, five minutes apart (sessions stay
  // within their 30 idle minutes), and reads one.
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    clock_.SetMs(kNow + (i + 1) * 300'000);
    v1::AddMemberResponse added;
    ASSERT_TRUE(AddMember(g1_, NewMember(), &added).status.ok());
    ids.push_back(added.member().id());
  }
  clock_.SetMs(kNow + 4 * 300'000);
  v1::GetMemberRequest get;
  get.set_member_id(ids[0]);
  ASSERT_TRUE(Call(&S::GetMember, g1_, get).status.ok());
  // g2's administrator tries to read it: refused, audited about g1.
  EXPECT_EQ(Call(&S::GetMember, g2_, get).code(), grpc::StatusCode::NOT_FOUND);

  // By person, two per page.
  v1::SearchAuditRequest req;
  req.set_actor("g1admin");
  req.set_page_size(2);
  std::vector<v1::AuditEntry> found;
  std::string token;
  int pages = 0;
  do {
    req.set_page_token(token);
    v1::SearchAuditResponse resp;
    Rpc r = Call(&S::SearchAudit, city_, req, &resp);
    ASSERT_TRUE(r.status.ok()) << r.message();
    EXPECT_LE(resp.entries_size(), 2);
    found.insert(found.end(), resp.entries().begin(), resp.entries().end());
    token = resp.next_page_token();
    ASSERT_LT(++pages, 20);
  } while (!token.empty());
  // Login, ChangePassword, three AddMember, one GetMember.
  ASSERT_EQ(found.size(), 6u);
  for (size_t i = 0; i < found.size(); ++i) {
    EXPECT_EQ(found[i].actor(), "g1admin");
    if (i > 0) EXPECT_GT(found[i].seq(), found[i - 1].seq());
  }
  EXPECT_EQ(found[5].action(), "GetMember");
  EXPECT_EQ(found[5].target_org(), "g1");
  // The search itself is audited, with its filters.
  EXPECT_EQ(LastAudit().action(), "SearchAudit");
  EXPECT_THAT(LastAudit().detail(), HasSubstr("actor=g1admin"));

  // By organisation: what g1's people did and what was done to g1 (the
  // refused read by g2's administrator included).
  req.Clear();
  req.set_org_id("g1");
  v1::SearchAuditResponse by_org;
  ASSERT_TRUE(Call(&S::SearchAudit, city_, req, &by_org).status.ok());
  int refused = 0, own = 0;
  for (const auto& e : by_org.entries()) {
    EXPECT_TRUE(e.actor_org() == "g1" || e.target_org() == "g1")
        << e.ShortDebugString();
    refused += e.actor() == "g2admin" && e.outcome() == v1::AUDIT_DENIED;
    own += e.actor() == "g1admin";
  }
  EXPECT_EQ(refused, 1);
  EXPECT_EQ(own, 6);

  // By time: the second and third additions only.
  req.Clear();
  req.set_action("AddMember");
  req.set_from_ms(kNow + 2 * 300'000);
  req.set_to_ms(kNow + 3 * 300'000 + 1);
  v1::SearchAuditResponse by_time;
  Rpc timed = Call(&S::SearchAudit, city_, req, &by_time);
  ASSERT_TRUE(timed.status.ok()) << timed.message();
  ASSERT_EQ(by_time.entries_size(), 2);
  EXPECT_EQ(by_time.entries(0).time_ms(), kNow + 2 * 300'000);
  EXPECT_EQ(by_time.entries(1).time_ms(), kNow + 3 * 300'000);

  // Bad input is refused and audited.
  req.Clear();
  req.set_from_ms(kNow);
  req.set_to_ms(kNow - 1);
  EXPECT_EQ(Call(&S::SearchAudit, city_, req).code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  req.Clear();
  req.set_page_token("not-a-token");
  EXPECT_EQ(Call(&S::SearchAudit, city_, req).code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(LastAudit().outcome(), v1::AUDIT_FAILED);
}

TEST_F(AdminServiceTest, SearchAuditOfALowerOrganisationStaysInItsSubtree) {
  BuildTree();
  v1::AddMemberResponse added;
  ASSERT_TRUE(AddMember(g1_, NewMember(), &added).status.ok());
  // g1's administrator: its own organisation by default, nothing else.
  v1::SearchAuditResponse resp;
  ASSERT_TRUE(
      Call(&S::SearchAudit, g1_, v1::SearchAuditRequest(), &resp).status.ok());
  ASSERT_GT(resp.entries_size(), 0);
  for (const auto& e : resp.entries()) {
    EXPECT_TRUE(e.actor_org() == "g1" || e.target_org() == "g1")
        << e.ShortDebugString();
  }
  v1::SearchAuditRequest req;
  req.set_org_id("d1");
  EXPECT_EQ(Call(&S::SearchAudit, g1_, req).code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(LastAudit().action(), "SearchAudit");
  EXPECT_EQ(LastAudit().outcome(), v1::AUDIT_DENIED);
  // An actor filter does not widen it: g2's administrator's entries are not
  // about g1.
  req.Clear();
  req.set_actor("g2admin");
  ASSERT_TRUE(Call(&S::SearchAudit, g1_, req, &resp).status.ok());
  EXPECT_EQ(resp.entries_size(), 0);
  // d1's administrator may search g1 (its subtree).
  req.Clear();
  req.set_org_id("g1");
  ASSERT_TRUE(Call(&S::SearchAudit, d1_, req, &resp).status.ok());
  int adds = 0;
  for (const auto& e : resp.entries()) adds += e.action() == "AddMember";
  EXPECT_EQ(adds, 1);
  // Reviewers search their subtree too (audit entries hold no personal data),
  // never beyond it.
  v1::CreateAccountRequest viewer;
  viewer.set_org_id("d1");
  viewer.set_username("d1viewer");
  viewer.set_role(v1::REVIEWER);
  v1::CreateAccountResponse created;
  ASSERT_TRUE(Call(&S::CreateAccount, d1_, viewer, &created).status.ok());
  const std::string viewer_token =
      Activate("d1viewer", created.initial_password());
  EXPECT_TRUE(Call(&S::SearchAudit, viewer_token, v1::SearchAuditRequest())
                  .status.ok());
  EXPECT_EQ(LastAudit().outcome(), v1::AUDIT_OK);
  req.Clear();
  req.set_org_id(kCity);
  EXPECT_EQ(Call(&S::SearchAudit, viewer_token, req).code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(LastAudit().outcome(), v1::AUDIT_DENIED);
  // The parent tier's whole-subtree view: d1's administrator sees what was
  // done in and to g1 and g2 at once.
  req.Clear();
  req.set_subtree(true);
  req.set_page_size(1000);
  ASSERT_TRUE(Call(&S::SearchAudit, d1_, req, &resp).status.ok());
  std::set<std::string> orgs;
  for (const auto& e : resp.entries()) {
    orgs.insert(e.actor_org());
    EXPECT_NE(e.actor_org(), "") << e.ShortDebugString();
  }
  EXPECT_TRUE(orgs.count("g1") && orgs.count("g2")) << resp.entries_size();
}

}  // namespace
}  // namespace unionsync
