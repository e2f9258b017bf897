#include "node/sessions.h"

#include <gtest/gtest.h>

#include "testing/status_matchers.h"

namespace unionsync {
namespace {

using ::unionsync::testing::StatusIs;

v1::Account Account(const std::string& user, v1::CredentialState state,
                    int64_t epoch) {
  v1::Account a;
  a.set_username(user);
  a.set_org_id("org");
  a.set_role(v1::DATA_ADMIN);
  a.set_state(state);
  a.set_credential_epoch(epoch);
  return a;
}

TEST(SessionManagerTest, CreateLookupRevoke) {
  FakeClock clock(1'000'000);
  SessionManager sessions(&clock);
  ASSERT_OK_AND_ASSIGN(std::string token,
                       sessions.Create(Account("u", v1::CREDENTIAL_ACTIVE, 3)));
  EXPECT_EQ(token.size(), 64u);
  ASSERT_OK_AND_ASSIGN(Session s, sessions.Lookup(token));
  EXPECT_EQ(s.username, "u");
  EXPECT_EQ(s.credential_epoch, 3);
  EXPECT_FALSE(s.must_change_password);
  sessions.Revoke(token);
  EXPECT_THAT(sessions.Lookup(token),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST(SessionManagerTest, InitialAndResetMustChange) {
  FakeClock clock(0);
  SessionManager sessions(&clock);
  ASSERT_OK_AND_ASSIGN(
      std::string a, sessions.Create(Account("a", v1::CREDENTIAL_INITIAL, 1)));
  ASSERT_OK_AND_ASSIGN(std::string b,
                       sessions.Create(Account("b", v1::CREDENTIAL_RESET, 1)));
  ASSERT_OK_AND_ASSIGN(Session sa, sessions.Lookup(a));
  ASSERT_OK_AND_ASSIGN(Session sb, sessions.Lookup(b));
  EXPECT_TRUE(sa.must_change_password);
  EXPECT_TRUE(sb.must_change_password);
  sessions.MarkPasswordChanged(a, 2);
  ASSERT_OK_AND_ASSIGN(sa, sessions.Lookup(a));
  EXPECT_FALSE(sa.must_change_password);
  EXPECT_EQ(sa.credential_epoch, 2);
}

TEST(SessionManagerTest, IdleAndAbsoluteExpiry) {
  FakeClock clock(0);
  SessionOptions o;
  o.idle_timeout_ms = 1000;
  o.absolute_timeout_ms = 5000;
  SessionManager sessions(&clock, o);
  ASSERT_OK_AND_ASSIGN(std::string t,
                       sessions.Create(Account("u", v1::CREDENTIAL_ACTIVE, 1)));
  for (int i = 0; i < 4; ++i) {
    clock.AdvanceMs(900);  // Kept alive by use...
    EXPECT_TRUE(sessions.Lookup(t).ok());
  }
  clock.AdvanceMs(1500);  // ...but not past the absolute limit, nor idle.
  EXPECT_THAT(sessions.Lookup(t), StatusIs(absl::StatusCode::kUnauthenticated));
  ASSERT_OK_AND_ASSIGN(t,
                       sessions.Create(Account("u", v1::CREDENTIAL_ACTIVE, 1)));
  clock.AdvanceMs(1000);
  EXPECT_THAT(sessions.Lookup(t), StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST(SessionManagerTest, RevokeAccountKeepsOnlyTheNamedSession) {
  FakeClock clock(0);
  SessionManager sessions(&clock);
  ASSERT_OK_AND_ASSIGN(std::string a,
                       sessions.Create(Account("u", v1::CREDENTIAL_ACTIVE, 1)));
  ASSERT_OK_AND_ASSIGN(std::string b,
                       sessions.Create(Account("u", v1::CREDENTIAL_ACTIVE, 1)));
  ASSERT_OK_AND_ASSIGN(std::string c,
                       sessions.Create(Account("v", v1::CREDENTIAL_ACTIVE, 1)));
  sessions.RevokeAccount("u", a);
  EXPECT_TRUE(sessions.Lookup(a).ok());
  EXPECT_FALSE(sessions.Lookup(b).ok());
  EXPECT_TRUE(sessions.Lookup(c).ok());
  sessions.RevokeAccount("u");
  EXPECT_FALSE(sessions.Lookup(a).ok());
}

TEST(SessionManagerTest, BoundedNumberOfSessions) {
  FakeClock clock(0);
  SessionOptions o;
  o.max_sessions = 2;
  SessionManager sessions(&clock, o);
  EXPECT_TRUE(sessions.Create(Account("u", v1::CREDENTIAL_ACTIVE, 1)).ok());
  EXPECT_TRUE(sessions.Create(Account("u", v1::CREDENTIAL_ACTIVE, 1)).ok());
  EXPECT_THAT(sessions.Create(Account("u", v1::CREDENTIAL_ACTIVE, 1)),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

}  // namespace
}  // namespace unionsync
