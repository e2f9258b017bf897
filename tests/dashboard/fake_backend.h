// An in-test DashboardBackend that returns fixed protos: one account
// ("staff" / kGoodPassword), tokens it hands out, and switches to make any call
// fail. Records the last request of each kind for assertions.
#ifndef UNIONSYNC_TESTS_DASHBOARD_FAKE_BACKEND_H_
#define UNIONSYNC_TESTS_DASHBOARD_FAKE_BACKEND_H_

#include <map>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "dashboard/dashboard.h"

namespace unionsync::testing {

inline constexpr char kGoodUser[] = "staff";
inline constexpr char kGoodPassword[] = "Str0ng-Passw0rd!";
// Logs in with FAILED_PRECONDITION (initial password unchanged).
inline constexpr char kInitialUser[] = "fresh";
// Logs in with RESOURCE_EXHAUSTED (locked out).
inline constexpr char kLockedUser[] = "locked";

class FakeBackend : public DashboardBackend {
 public:
  FakeBackend();

  absl::StatusOr<std::string> Login(const std::string& username,
                                    const std::string& password,
                                    const std::string& peer) override;
  void Logout(const std::string& token) override;
  absl::StatusOr<v1::GetProgressResponse> GetProgress(
      const RequestContext& ctx, const v1::GetProgressRequest& req) override;
  absl::StatusOr<v1::GetTimeSeriesResponse> GetTimeSeries(
      const RequestContext& ctx, const v1::GetTimeSeriesRequest& req) override;
  absl::StatusOr<v1::ListWarningsResponse> ListWarnings(
      const RequestContext& ctx, const v1::ListWarningsRequest& req) override;
  absl::StatusOr<v1::ListConflictsResponse> ListConflicts(
      const RequestContext& ctx, const v1::ListConflictsRequest& req) override;
  absl::StatusOr<v1::GetSyncFreshnessResponse> GetSyncFreshness(
      const RequestContext& ctx,
      const v1::GetSyncFreshnessRequest& req) override;
  absl::StatusOr<v1::ExportProgressCsvResponse> ExportProgressCsv(
      const RequestContext& ctx,
      const v1::ExportProgressCsvRequest& req) override;
  // Sessions it handed out may read metrics (the node's real rule, an
  // operator of its own organisation, is tested in tests/node).
  absl::Status AuthorizeMetrics(const std::string& authorization,
                                const std::string& session_token,
                                const std::string& peer) override;
  std::string MetricsText() override;
  // The workbench's JSON API: echoes the method for a live session.
  absl::StatusOr<std::string> CallJson(const RequestContext& ctx,
                                       const std::string& method,
                                       const std::string& json) override;
  // Uploads: counts the bytes and reports them as progress, then a summary.
  absl::StatusOr<std::unique_ptr<WebUpload>> BeginUpload(
      const RequestContext& ctx, const std::string& method,
      const std::string& options_json) override;

  // The fixed answers.
  v1::GetProgressResponse Progress(const std::string& view) const;
  v1::GetTimeSeriesResponse TimeSeries() const;
  v1::ListWarningsResponse Warnings() const;
  v1::ListConflictsResponse Conflicts() const;
  v1::GetSyncFreshnessResponse Freshness() const;
  static constexpr char kCsv[] =
      "\xEF\xBB\xBF区域,已录入基层工会,预计\r\n芙蓉区,812,1000\r\n";
  static constexpr char kCsvFilename[] = "进度报表-2026-11-27.csv";
  static constexpr char kMetrics[] =
      "# HELP unionsync_members Active members.\n"
      "# TYPE unionsync_members gauge\n"
      "unionsync_members{scope=\"city\"} 123456\n";

  // Every call named `method` ("GetProgress", ...) fails with `status` from
  // now on (OK to clear).
  void FailWith(const std::string& method, absl::Status status);
  // Ends every session (as a node restart would).
  void RevokeAll();

  int logins() const;
  int logouts() const;
  std::string last_peer() const;
  v1::GetProgressRequest last_progress() const;
  v1::GetTimeSeriesRequest last_timeseries() const;
  v1::ListWarningsRequest last_warnings() const;
  v1::ListConflictsRequest last_conflicts() const;
  v1::ExportProgressCsvRequest last_csv() const;

 private:
  absl::Status Check(const std::string& method, const RequestContext& ctx);

  mutable absl::Mutex mu_;
  int next_token_ ABSL_GUARDED_BY(mu_) = 1;
  std::set<std::string> tokens_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Status> failures_ ABSL_GUARDED_BY(mu_);
  int logins_ ABSL_GUARDED_BY(mu_) = 0;
  int logouts_ ABSL_GUARDED_BY(mu_) = 0;
  std::string last_peer_ ABSL_GUARDED_BY(mu_);
  v1::GetProgressRequest last_progress_ ABSL_GUARDED_BY(mu_);
  v1::GetTimeSeriesRequest last_timeseries_ ABSL_GUARDED_BY(mu_);
  v1::ListWarningsRequest last_warnings_ ABSL_GUARDED_BY(mu_);
  v1::ListConflictsRequest last_conflicts_ ABSL_GUARDED_BY(mu_);
  v1::ExportProgressCsvRequest last_csv_ ABSL_GUARDED_BY(mu_);
};

}  // namespace unionsync::testing

#endif  // UNIONSYNC_TESTS_DASHBOARD_FAKE_BACKEND_H_
