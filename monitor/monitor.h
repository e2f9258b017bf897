// The Monitor API's domain logic (proto/unionsync/v1/monitor.proto): progress
// by region, system and subtree against the campaign's milestones, the time
// series, warnings and conflicts, sync freshness, and Prometheus metrics.
// Transport-free: monitor/monitor_service.cc is the gRPC edge and
// dashboard/ the web page; both call this class.
//
// Figures come from the aggregates the store maintains in the same WriteBatch
// as every change (Store::GetScopeCounters, Store::ReadDays), so a query
// reads a few hundred keys and never scans members.
//
// Thread-safe.
#ifndef UNIONSYNC_MONITOR_MONITOR_H_
#define UNIONSYNC_MONITOR_MONITOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
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

// Who is calling, as the node's session layer (node/admin.h) knows it.
struct Viewer {
  std::string username;
  std::string org_id;
  v1::Role role = v1::ROLE_UNSPECIFIED;
};

struct RequestContext {
  std::string token;  // Bearer token from AdminService.Login.
  std::string peer;   // Network peer, for the audit log.
};

// Implemented by the node's Admin layer: checks the session (a session whose
// initial password is unchanged is refused) and audits refusals.
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  virtual absl::StatusOr<Viewer> Authenticate(const RequestContext& ctx,
                                              absl::string_view action) = 0;
  // Audits a refusal by this layer and returns PERMISSION_DENIED.
  virtual absl::Status Deny(const Viewer& viewer, const RequestContext& ctx,
                            absl::string_view action, absl::string_view target,
                            absl::string_view reason) = 0;
  // Audits a successful read of personal data (conflicts hold member records).
  virtual absl::Status AuditRead(const Viewer& viewer,
                                 const RequestContext& ctx,
                                 absl::string_view action,
                                 absl::string_view target) = 0;
};

struct MonitorOptions {
  v1::CampaignConfig campaign;  // Defaults filled (see monitor/campaign.h).
  // Replication links of this node (for freshness and /metrics); may be empty.
  std::function<std::vector<repl::LinkStats>()> link_status;
  // The hub's reconciler (conflicts are resolved through it); null on other
  // nodes. Not owned.
  Reconciler* reconciler = nullptr;
};

class Monitor {
 public:
  // `store`, `clock` and `auth` are not owned and must outlive the monitor.
  Monitor(Store* store, const Clock* clock, Authenticator* auth,
          MonitorOptions options);
  ~Monitor();

  absl::StatusOr<v1::GetProgressResponse> GetProgress(
      const RequestContext& ctx, const v1::GetProgressRequest& req);
  absl::StatusOr<v1::GetTimeSeriesResponse> GetTimeSeries(
      const RequestContext& ctx, const v1::GetTimeSeriesRequest& req);
  absl::StatusOr<v1::ExportProgressCsvResponse> ExportProgressCsv(
      const RequestContext& ctx, const v1::ExportProgressCsvRequest& req);
  absl::StatusOr<v1::ListWarningsResponse> ListWarnings(
      const RequestContext& ctx, const v1::ListWarningsRequest& req);
  absl::StatusOr<v1::ListConflictsResponse> ListConflicts(
      const RequestContext& ctx, const v1::ListConflictsRequest& req);
  absl::StatusOr<v1::ResolveConflictResponse> ResolveConflict(
      const RequestContext& ctx, const v1::ResolveConflictRequest& req);
  absl::StatusOr<v1::GetSyncFreshnessResponse> GetSyncFreshness(
      const RequestContext& ctx, const v1::GetSyncFreshnessRequest& req);

  // WatchWarnings: checks the caller and the subtree, then calls `sink` with
  // the subtree's open warnings (initial = true) and afterwards with every
  // change of a warning in the subtree, on the thread that committed it (the
  // sink must not block). Returns a subscription id for Unwatch.
  absl::StatusOr<uint64_t> Watch(const RequestContext& ctx,
                                 const v1::WatchWarningsRequest& req,
                                 std::function<void(v1::WarningUpdate)> sink);
  void Unwatch(uint64_t id);

  // Prometheus text exposition (version 0.0.4): replication lag per link,
  // apply rate, conflicts by state, open warnings by kind, progress totals.
  // Figures only, no personal data.
  std::string MetricsText();

 private:
  struct Watcher {
    std::string org_id;
    std::function<void(v1::WarningUpdate)> sink;
  };
  // Follows the store's log and hands warning changes to watchers.
  void OnCommit();
  // The caller's session and, for `org_id` (empty: the caller's own), a check
  // that it lies in the caller's subtree. PERMISSION_DENIED is audited.
  absl::StatusOr<Viewer> Check(const RequestContext& ctx,
                               absl::string_view action,
                               const std::string& org_id);
  absl::StatusOr<v1::GetProgressResponse> Report(
      const Viewer& viewer, const v1::GetProgressRequest& req);
  // Whether the warning concerns the subtree of `org_id` (warned or escalated
  // to an organisation in it).
  absl::StatusOr<bool> Concerns(const v1::Warning& w,
                                const std::string& org_id);

  Store* store_;
  const Clock* clock_;
  Authenticator* auth_;
  const MonitorOptions options_;

  absl::Mutex watch_mu_;
  uint64_t next_watch_id_ ABSL_GUARDED_BY(watch_mu_) = 1;
  std::vector<std::pair<uint64_t, Watcher>> watchers_
      ABSL_GUARDED_BY(watch_mu_);
  uint64_t followed_pos_ ABSL_GUARDED_BY(watch_mu_) = 0;
  uint64_t listener_ = 0;
};

}  // namespace unionsync

#endif  // UNIONSYNC_MONITOR_MONITOR_H_
