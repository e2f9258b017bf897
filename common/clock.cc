#include "common/clock.h"

#include <algorithm>
#include <chrono>

namespace unionsync {

int64_t SystemClock::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

SystemClock* SystemClock::Default() {
  static SystemClock* clock = new SystemClock();
  return clock;
}

uint64_t HybridClock::Now() {
  const uint64_t physical = Pack(clock_->NowMs(), 0);
  absl::MutexLock lock(&mu_);
  // When the wall clock is behind the last timestamp (a step back, or many
  // events in one millisecond), the logical part carries the order; it
  // overflows into the physical part, which is still monotonic.
  last_ = std::max(physical, last_ + 1);
  return last_;
}

uint64_t HybridClock::Update(uint64_t remote) {
  const uint64_t physical = Pack(clock_->NowMs(), 0);
  absl::MutexLock lock(&mu_);
  last_ = std::max({physical, last_ + 1, remote + 1});
  return last_;
}

void HybridClock::Observe(uint64_t floor) {
  absl::MutexLock lock(&mu_);
  last_ = std::max(last_, floor);
}

}  // namespace unionsync
