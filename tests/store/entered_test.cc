// Grassroots unions counted as entered (建成): kept by every commit that
// changes one of its conditions (profile, activation, members, status), in
// the subtree counters and the scopes, and recounted when a store is opened
// under another rule.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "store/store.h"
#include "store/store_testing.h"
#include "synth/synth.h"
#include "testing/status_matchers.h"
#include "testing/store_checks.h"
#include "testing/test_vault.h"

namespace unionsync {
namespace {

using ::unionsync::testing::CheckStoreInvariants;
using ::unionsync::testing::MakeOrg;
using ::unionsync::testing::TempDir;

class EnteredTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(1); }

  void Open(int min_members, double workforce_share = 0) {
    store_.reset();
    StoreOptions o;
    o.vault = testing::TestVault();
    o.path = dir_.path();
    o.node_id = "city";
    o.entered.set_min_members(min_members);
    o.entered.set_workforce_share(workforce_share);
    auto s = Store::Open(o);
    ASSERT_OK(s.status());
    store_ = *std::move(s);
  }

  void Commit(const WriteSet& w) {
    ASSERT_OK(store_->Commit(w, "test").status());
  }

  // Entered grassroots unions at g1, its district, the city and each scope
  // g1 counts in, which must all agree.
  int64_t Entered() {
    int64_t n = -1;
    for (const char* org : {"g1", "d1", "city"}) {
      auto c = store_->GetCounters(org);
      EXPECT_OK(c.status());
      if (n < 0) n = c->grassroots_entered();
      EXPECT_EQ(c->grassroots_entered(), n) << org;
    }
    for (const char* scope : {"all", "r:430102", "y:education"}) {
      auto c = store_->GetScopeCounters(scope);
      EXPECT_OK(c.status());
      EXPECT_EQ(c->grassroots_entered(), n) << scope;
    }
    EXPECT_OK(CheckStoreInvariants(*store_, "city"));
    return n;
  }

  v1::Member NewMember(int i) {
    v1::Member m = gen_.Member("g1");
    m.set_id(absl::StrCat("m", i));
    m.set_status(v1::MEMBER_ACTIVE);
    return m;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  SynthGenerator gen_{11};
};

TEST_F(EnteredTest, AUnionCountsOnceItsProfileAdministratorAndMembersAreIn) {
  WriteSet tree;
  tree.PutOrg(MakeOrg("city", "", v1::CITY_FEDERATION, 1));
  v1::Org d1 = MakeOrg("d1", "city", v1::DISTRICT_FEDERATION, 2);
  d1.set_region("430102");
  tree.PutOrg(d1);
  v1::Org g1 = MakeOrg("g1", "d1", v1::INDEPENDENT_GRASSROOTS, 3);
  g1.set_region("430102");
  g1.set_system("education");
  tree.PutOrg(g1);
  v1::Account admin;
  admin.set_username("g1admin");
  admin.set_org_id("g1");
  admin.set_role(v1::DATA_ADMIN);
  admin.set_state(v1::CREDENTIAL_INITIAL);
  tree.PutAccount(admin);
  Commit(tree);
  EXPECT_EQ(Entered(), 0);

  // A member, then the complete profile: not yet (initial password).
  WriteSet member;
  member.PutMember(NewMember(1));
  Commit(member);
  g1.set_profile_completeness(100);
  g1.set_employee_count(10);
  WriteSet profile;
  profile.PutOrgProfile(g1);
  Commit(profile);
  EXPECT_EQ(Entered(), 0);

  // The administrator changes the password: entered.
  admin.set_state(v1::CREDENTIAL_ACTIVE);
  WriteSet activate;
  activate.PutAccount(admin);
  Commit(activate);
  EXPECT_EQ(Entered(), 1);
  EXPECT_TRUE(store_->GetOrgProgress("g1")->entered());

  // Its only member leaves: no longer; a new one: again.
  v1::Member left = NewMember(1);
  left.set_status(v1::MEMBER_REMOVED);
  WriteSet leave;
  leave.PutMember(left);
  Commit(leave);
  EXPECT_EQ(Entered(), 0);
  WriteSet join;
  join.PutMember(NewMember(2));
  join.PutMember(NewMember(3));
  Commit(join);
  EXPECT_EQ(Entered(), 1);

  // Opened under a rule asking for half the 10 employees: recounted, not
  // entered with 2 members; back under the default: entered again.
  Open(1, 0.5);
  EXPECT_EQ(store_->entered_rule().workforce_share(), 0.5);
  EXPECT_EQ(Entered(), 0);
  EXPECT_FALSE(store_->GetOrgProgress("g1")->entered());
  // Three more members make five: counted by the commit under this rule.
  WriteSet more;
  for (int i = 4; i <= 6; ++i) more.PutMember(NewMember(i));
  Commit(more);
  EXPECT_EQ(Entered(), 1);
  Open(6);
  EXPECT_EQ(Entered(), 0);
  Open(1);
  EXPECT_EQ(Entered(), 1);

  // Dissolved: no longer counted.
  g1.set_status(v1::ORG_DISSOLVED);
  WriteSet dissolve;
  dissolve.PutOrg(g1);
  for (int i = 2; i <= 6; ++i) {
    v1::Member m = NewMember(i);
    m.set_status(v1::MEMBER_REMOVED);
    dissolve.PutMember(m);
  }
  Commit(dissolve);
  EXPECT_EQ(Entered(), 0);
}

}  // namespace
}  // namespace unionsync
