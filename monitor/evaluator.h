// The hub's warning rules (R7), evaluated against the campaign and a clock
// that tests set, so the 2019-2020 campaign can be replayed day by day:
//   - BEHIND_TARGET: the city, a region or a system is more than the
//     tolerance below its target trajectory (warned: the root, the region's
//     district or development-zone federation, the system's industry union);
//   - NO_NEW_ENTRIES: an active grassroots union registered for N days with
//     no member entered for N days, when it has no member at all or its
//     region, system or the city is behind (a union that entered its members
//     and stopped is done, not idle);
//   - BEHIND_TARGET also for an organisation more than the tolerance below the
//     target its parent set for it (SetChildTarget), at any tier (warned: the
//     organisation itself);
//   - INITIAL_PASSWORD_UNCHANGED: an active organisation registered for N days
//     whose data administrator has not replaced the initial password;
//   - PROFILE_INCOMPLETE: an active organisation registered for N days whose
//     profile is not complete (R3);
//   - ADMIN_NOT_TRAINED: no training recorded by the parent after N days (R6);
//   - NODE_NOT_SYNCED: a node from which nothing has arrived for N hours.
// Duplicate and invalid data come from the reconciler (monitor/reconciler.h).
// A warning open longer than the escalation delay is escalated to the parent
// organisation (conflict warnings too, through the reconciler's lock).
// Warnings are records written through Store::Commit: they keep their
// history, replicate down to the warned organisation's node and reach
// watchers from the log.
//
// Thread-safe.
#ifndef UNIONSYNC_MONITOR_EVALUATOR_H_
#define UNIONSYNC_MONITOR_EVALUATOR_H_

#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "monitor/reconciler.h"
#include "repl/link_core.h"
#include "store/store.h"
#include "unionsync/v1/monitor.pb.h"

namespace unionsync {

struct EvaluatorOptions {
  v1::CampaignConfig campaign;  // Rule defaults filled.
  // This node's replication links (direct children's last contact).
  std::function<std::vector<repl::LinkStats>()> link_status;
  Reconciler* reconciler = nullptr;  // For escalating conflict warnings.
  // Before this time (unix ms) no node warning is raised or cleared: the
  // heartbeats of nodes below direct children arrive with the children's
  // first probes after a start, and are not persisted.
  int64_t node_rules_from_ms = 0;
};

class WarningEvaluator {
 public:
  WarningEvaluator(Store* store, const Clock* clock, EvaluatorOptions options);
  ~WarningEvaluator();

  // Evaluates every `evaluate_every_seconds` and, at most every 2 s, after
  // commits.
  void Start();
  void Stop();

  // One evaluation at the clock's current time. Returns the number of
  // warning records written (raised, updated, cleared or escalated).
  absl::StatusOr<int> Evaluate();

  int64_t evaluations() const;

 private:
  void Run();

  Store* store_;
  const Clock* clock_;
  const EvaluatorOptions options_;
  mutable absl::Mutex mu_;  // One evaluation at a time.
  int64_t evaluations_ ABSL_GUARDED_BY(mu_) = 0;

  absl::Mutex wake_mu_;
  bool wake_ ABSL_GUARDED_BY(wake_mu_) = false;
  bool stop_ ABSL_GUARDED_BY(wake_mu_) = false;
  std::thread thread_;
  uint64_t listener_ = 0;  // Store commit listener, while started.
};

}  // namespace unionsync

#endif  // UNIONSYNC_MONITOR_EVALUATOR_H_
