// The hub's reconciliation (docs/DESIGN.md, "Reconciliation"): follows the
// store's change log from a durable checkpoint and turns what it finds into
// conflict records with every side kept and a warning to every organisation
// involved. Kinds: one person (ID number) active in two unions, one credit
// code on two active organisations, active members of a dissolved
// organisation, and records that fail validation at the hub.
//
// Replication never waits for it: it runs on its own thread after changes are
// applied, and writes its records (and its checkpoint, in the same batch)
// through Store::Commit, so they replicate like any record: conflicts up,
// warnings down to the warned organisations' nodes. A conflict is cleared when
// its condition goes away (one side removed, say); a person can resolve it
// through the API (Resolve), which is recorded and replicated too.
//
// Thread-safe.
#ifndef UNIONSYNC_MONITOR_RECONCILER_H_
#define UNIONSYNC_MONITOR_RECONCILER_H_

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "store/store.h"

namespace unionsync {

class Reconciler {
 public:
  // `store` and `clock` are not owned and must outlive the reconciler.
  Reconciler(Store* store, const Clock* clock);
  ~Reconciler();

  // Starts the follower thread (woken by every commit).
  void Start();
  void Stop();

  // Processes the log up to its current end. Returns how many changes were
  // examined. Called by the thread; tests call it directly.
  absl::StatusOr<int64_t> CatchUp();
  // Re-examines every open conflict (a member whose ID number was corrected
  // clears the conflict of the old number).
  absl::Status Sweep();

  // Records a person's resolution: state RESOLVED, who, when and the note;
  // the warnings it raised are cleared. NOT_FOUND for an unknown conflict,
  // FAILED_PRECONDITION when it is not open.
  absl::StatusOr<v1::Conflict> Resolve(const std::string& conflict_id,
                                       const std::string& username,
                                       const std::string& note);

  // Escalates the open conflict warnings raised at least `delay_ms` before
  // `now_ms` to the warned organisation's parent. Returns how many.
  absl::StatusOr<int> Escalate(int64_t now_ms, int64_t delay_ms);

  // Id of the conflict about one person: the keyed hash of the ID number
  // under the city-wide index key (vault/records.h), the same at every node,
  // so the number itself never appears in ids, logs or URLs and cannot be
  // recovered from them by trying every possible number.
  static std::string PersonConflictId(const Vault& vault,
                                      absl::string_view id_number);

  // Changes examined so far (for /metrics).
  int64_t examined() const;

 private:
  class Pass;
  void Run();

  Store* store_;
  const Clock* clock_;
  // Serialises passes and resolutions: both read-modify-write conflicts.
  mutable absl::Mutex mu_;
  int64_t examined_ ABSL_GUARDED_BY(mu_) = 0;

  absl::Mutex wake_mu_;
  bool wake_ ABSL_GUARDED_BY(wake_mu_) = false;
  bool stop_ ABSL_GUARDED_BY(wake_mu_) = false;
  std::thread thread_;
  uint64_t listener_ = 0;  // Store commit listener, while started.
};

}  // namespace unionsync

#endif  // UNIONSYNC_MONITOR_RECONCILER_H_
