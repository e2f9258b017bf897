// Keeps a flood of refusals (failed logins, refused replication links) from
// flooding the audit log while still recording every one of them: per kind
// and source (the network peer's host), the first `per_interval` events of an
// interval are written one by one; the rest are counted and written as one
// summary entry ("37 more ... from 10.1.2.3 in 60 s") when the interval is
// over (TakeDue). Counting never stops: a lockout still counts every failure.
//
// Thread-safe.
#ifndef UNIONSYNC_NODE_AUDIT_THROTTLE_H_
#define UNIONSYNC_NODE_AUDIT_THROTTLE_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "unionsync/v1/model.pb.h"

namespace unionsync {

class AuditThrottle {
 public:
  explicit AuditThrottle(int64_t interval_ms = 60'000, int per_interval = 5)
      : interval_ms_(interval_ms), per_interval_(per_interval) {}

  // True when this event is to be audited on its own; false when it was
  // counted into its interval's summary.
  bool Admit(absl::string_view action, absl::string_view peer, int64_t now_ms);

  // Summary entries of the intervals that are over (all of them with
  // `everything`), with actor "system", outcome AUDIT_DENIED and the count in
  // the detail. The caller commits them.
  std::vector<v1::AuditEntry> TakeDue(int64_t now_ms, bool everything = false);

  // The host of a gRPC or HTTP peer ("ipv4:10.1.2.3:5555" -> "10.1.2.3").
  static std::string SourceOf(absl::string_view peer);

 private:
  struct Window {
    int64_t start_ms = 0;
    int admitted = 0;
    int64_t suppressed = 0;
  };
  const int64_t interval_ms_;
  const int per_interval_;
  absl::Mutex mu_;
  std::map<std::pair<std::string, std::string>, Window> windows_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace unionsync

#endif  // UNIONSYNC_NODE_AUDIT_THROTTLE_H_
