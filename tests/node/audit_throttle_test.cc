// Failed logins and refused links are aggregated per source and interval:
// the audit log neither floods nor forgets (docs/SECURITY.md).
#include "node/audit_throttle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "node/node_server.h"
#include "testing/node_fixture.h"
#include "testing/status_matchers.h"

namespace unionsync {
namespace {

using ::testing::HasSubstr;

TEST(AuditThrottleTest, FirstFewOneByOneThenOneSummaryPerInterval) {
  AuditThrottle t(60'000, 3);
  int admitted = 0;
  for (int i = 0; i < 50; ++i) {
    admitted += t.Admit("Login", "ipv4:10.1.2.3:5000", 1'000 + i) ? 1 : 0;
  }
  EXPECT_EQ(admitted, 3);
  // Another source has its own budget.
  EXPECT_TRUE(t.Admit("Login", "ipv4:10.9.9.9:1", 2'000));
  EXPECT_TRUE(t.TakeDue(30'000).empty());  // The minute is not over.
  std::vector<v1::AuditEntry> due = t.TakeDue(61'000);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].action(), "Login");
  EXPECT_EQ(due[0].peer(), "10.1.2.3");
  EXPECT_EQ(due[0].outcome(), v1::AUDIT_DENIED);
  EXPECT_THAT(due[0].detail(), HasSubstr("47 more"));
  EXPECT_TRUE(t.TakeDue(200'000).empty());
  // A new interval starts with a fresh budget.
  EXPECT_TRUE(t.Admit("Login", "ipv4:10.1.2.3:5000", 300'000));
}

TEST(AuditThrottleTest, EverythingFlushesOpenIntervals) {
  AuditThrottle t(60'000, 1);
  t.Admit("ReplicationLink", "ipv6:[::1]:7", 0);
  EXPECT_FALSE(t.Admit("ReplicationLink", "ipv6:[::1]:8", 1));
  EXPECT_TRUE(t.TakeDue(2).empty());
  auto due = t.TakeDue(2, /*everything=*/true);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].peer(), "::1");
}

TEST(AuditThrottleTest, ALoginFloodIsCountedNotWrittenOneByOne) {
  const std::string dir = testing::MakeTempDir("unionsync_throttle_test");
  FakeClock clock(testing::kNow);
  std::unique_ptr<NodeServer> node;
  ASSERT_NO_FATAL_FAILURE(
      testing::StartNode(testing::CityNodeOptions(dir, &clock), &node));
  ASSERT_OK(testing::BootstrapCity(*node).status());
  const uint64_t before = node->store().audit_head().seq;
  for (int i = 0; i < 40; ++i) {
    v1::LoginRequest req;
    req.set_username(i % 2 == 0 ? "admin" : "nobody_here");
    req.set_password("Wrong-Passw0rd!");
    EXPECT_FALSE(node->admin()
                     .Login(CallContext{"", "ipv4:10.1.2.3:4000"}, req)
                     .ok());
  }
  const uint64_t during = node->store().audit_head().seq;
  EXPECT_LE(during - before, 5u);
  clock.AdvanceMs(120'000);
  ASSERT_OK(node->admin().FlushSuppressedAudit());
  auto entries = node->store().ReadAudit(during + 1, 10);
  ASSERT_OK(entries.status());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_THAT(entries->front().detail(), HasSubstr("35 more refused Login"));
  node.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace unionsync
