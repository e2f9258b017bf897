// The hub after a rotation of the city-wide index key (docs/KEYS.md): its
// duplicate-person conflicts were raised under ids made with the old key; the
// reconciler's sweep clears them and raises them again under the new ids.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "common/crypto.h"
#include "monitor/hub_fixture.h"
#include "monitor/reconciler.h"
#include "testing/status_matchers.h"
#include "vault/vault.h"

namespace unionsync {
namespace {

using testing::HubFixture;

TEST(IndexKeyRotationTest, PersonConflictsAreRaisedAgainUnderTheirNewIds) {
  HubFixture hub(::testing::TempDir() + "/rekey-hub");
  hub.RegisterDistrict("430102", "430102");
  hub.RegisterDistrict("430103", "430103");
  v1::Org g1 = hub.Org("430102.1", "430102", v1::INDEPENDENT_GRASSROOTS, 3,
                       "430102", "430102");
  v1::Org g2 = hub.Org("430103.1", "430103", v1::INDEPENDENT_GRASSROOTS, 3,
                       "430103", "430103");
  hub.FromNode("430102", {HubFixture::PutOrg(g1)});
  hub.FromNode("430103", {HubFixture::PutOrg(g2)});
  v1::Member a = hub.NewMember("430102.1");
  v1::Member b = hub.NewMember("430103.1", a.id_number());
  hub.FromNode("430102", {HubFixture::PutMember(a)});
  hub.FromNode("430103", {HubFixture::PutMember(b)});
  const std::string old_id =
      Reconciler::PersonConflictId(hub.store().vault(), a.id_number());
  {
    Reconciler reconciler(&hub.store(), &hub.clock());
    ASSERT_OK(reconciler.CatchUp().status());
    ASSERT_OK_AND_ASSIGN(v1::Conflict c, hub.store().GetConflict(old_id));
    EXPECT_EQ(c.state(), v1::CONFLICT_OPEN);
  }

  // A new index key (number 2), same data key; the hub is resealed.
  auto rotated = Vault::Parse(
      Vault::Format(2, Sha256("a new city-wide index key"),
                    {{1, Sha256("unionsync test data key/430100")}}, 1),
      "rotated");
  ASSERT_OK(rotated.status());
  ASSERT_OK(hub.Reopen(*rotated, /*reseal=*/true));
  const std::string new_id =
      Reconciler::PersonConflictId(hub.store().vault(), a.id_number());
  ASSERT_NE(new_id, old_id);
  // The rebuilt index still finds both holders.
  ASSERT_OK_AND_ASSIGN(auto holders,
                       hub.store().MembersWithIdNumber(a.id_number()));
  EXPECT_EQ(holders.size(), 2u);

  hub.clock().AdvanceMs(60'000);
  Reconciler reconciler(&hub.store(), &hub.clock());
  ASSERT_OK(reconciler.Sweep());
  ASSERT_OK_AND_ASSIGN(v1::Conflict old_c, hub.store().GetConflict(old_id));
  EXPECT_EQ(old_c.state(), v1::CONFLICT_CLEARED);
  ASSERT_OK_AND_ASSIGN(v1::Conflict new_c, hub.store().GetConflict(new_id));
  EXPECT_EQ(new_c.state(), v1::CONFLICT_OPEN);
  EXPECT_EQ(new_c.sides_size(), 2);
  // Each union is warned under the new conflict, and the old warnings closed.
  std::map<std::string, bool> open;
  ASSERT_OK_AND_ASSIGN(auto warnings, hub.store().ScanWarnings("", 1000));
  for (const v1::Warning& w : warnings) {
    if (w.kind() == v1::DUPLICATE_DATA) open[w.id()] = w.open();
  }
  for (const std::string& org : {g1.id(), g2.id()}) {
    const std::string old_w = absl::StrCat("c/", old_id, "/", org);
    const std::string new_w = absl::StrCat("c/", new_id, "/", org);
    ASSERT_EQ(open.count(old_w), 1u) << old_w;
    ASSERT_EQ(open.count(new_w), 1u) << new_w;
    EXPECT_FALSE(open[old_w]);
    EXPECT_TRUE(open[new_w]);
  }
  // A second sweep changes nothing.
  ASSERT_OK(reconciler.Sweep());
  ASSERT_OK_AND_ASSIGN(v1::Conflict again, hub.store().GetConflict(new_id));
  EXPECT_EQ(again.state(), v1::CONFLICT_OPEN);
}

}  // namespace
}  // namespace unionsync
