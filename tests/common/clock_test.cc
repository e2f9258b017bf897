#include "common/clock.h"

#include <gtest/gtest.h>

namespace unionsync {
namespace {

TEST(HybridClockTest, MonotonicWhenWallClockStandsStill) {
  FakeClock wall(1'000);
  HybridClock hlc(&wall);
  uint64_t a = hlc.Now();
  uint64_t b = hlc.Now();
  EXPECT_LT(a, b);
  EXPECT_EQ(HybridClock::PhysicalMs(a), 1'000);
  EXPECT_EQ(HybridClock::PhysicalMs(b), 1'000);
}

TEST(HybridClockTest, MonotonicWhenWallClockStepsBack) {
  FakeClock wall(5'000);
  HybridClock hlc(&wall);
  uint64_t a = hlc.Now();
  wall.SetMs(1'000);
  EXPECT_GT(hlc.Now(), a);
}

TEST(HybridClockTest, FollowsPhysicalTime) {
  FakeClock wall(1'000);
  HybridClock hlc(&wall);
  hlc.Now();
  wall.SetMs(2'000);
  EXPECT_EQ(hlc.Now(), HybridClock::Pack(2'000, 0));
}

TEST(HybridClockTest, UpdateOrdersAfterRemote) {
  FakeClock wall(1'000);
  HybridClock hlc(&wall);
  const uint64_t remote = HybridClock::Pack(9'000, 7);
  uint64_t received = hlc.Update(remote);
  EXPECT_GT(received, remote);
  EXPECT_GT(hlc.Now(), received);
}

TEST(HybridClockTest, ObserveSetsFloor) {
  FakeClock wall(1'000);
  HybridClock hlc(&wall);
  hlc.Observe(HybridClock::Pack(3'000, 2));
  EXPECT_GT(hlc.Now(), HybridClock::Pack(3'000, 2));
}

}  // namespace
}  // namespace unionsync
