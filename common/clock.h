// Clocks. All time-dependent code takes a Clock so tests can set time (the
// 2019-2020 campaign must be replayable) and simulations can run on a fake
// clock.
#ifndef UNIONSYNC_COMMON_CLOCK_H_
#define UNIONSYNC_COMMON_CLOCK_H_

#include <atomic>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace unionsync {

// Wall-clock time source. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch.
  virtual int64_t NowMs() const = 0;
};

// The real system clock.
class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override;
  // A process-wide instance.
  static SystemClock* Default();
};

// A clock that only moves when told to. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now_ms) : now_ms_(now_ms) {}
  int64_t NowMs() const override { return now_ms_.load(); }
  void SetMs(int64_t now_ms) { now_ms_.store(now_ms); }
  void AdvanceMs(int64_t delta_ms) { now_ms_.fetch_add(delta_ms); }

 private:
  std::atomic<int64_t> now_ms_;
};

// Hybrid logical clock (Kulkarni et al.): timestamps that never go backwards,
// stay close to physical time, and order causally related events across nodes.
// Packed as (physical_ms << 16) | logical. Thread-safe.
class HybridClock {
 public:
  explicit HybridClock(const Clock* clock) : clock_(clock) {}

  // A timestamp for a local event.
  uint64_t Now();
  // Merges a timestamp received from a peer and returns one for the receive
  // event.
  uint64_t Update(uint64_t remote);
  // Never returns less than `floor` afterwards (used when reopening a store).
  void Observe(uint64_t floor);

  static int64_t PhysicalMs(uint64_t hlc) {
    return static_cast<int64_t>(hlc >> 16);
  }
  static uint64_t Pack(int64_t ms, uint16_t logical) {
    return (static_cast<uint64_t>(ms) << 16) | logical;
  }

 private:
  const Clock* clock_;
  absl::Mutex mu_;
  uint64_t last_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace unionsync

#endif  // UNIONSYNC_COMMON_CLOCK_H_
