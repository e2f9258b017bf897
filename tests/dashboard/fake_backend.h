// An in-test DashboardBackend for the web server's HTTP layer: one account
// ("staff", any password) whose login hands out tokens; every other call
// echoes its method for a live session, or fails as told (FailWith).
#ifndef UNIONSYNC_TESTS_DASHBOARD_FAKE_BACKEND_H_
#define UNIONSYNC_TESTS_DASHBOARD_FAKE_BACKEND_H_

#include <map>
#include <memory>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "dashboard/dashboard.h"

namespace unionsync::testing {

class FakeBackend : public DashboardBackend {
 public:
  static constexpr char kMetrics[] =
      "# HELP unionsync_members Active members.\n"
      "# TYPE unionsync_members gauge\n"
      "unionsync_members{scope=\"city\"} 123456\n";

  // Sessions it handed out may read metrics (the node's real rule, an
  // operator of its own organisation, is tested in tests/node).
  absl::Status AuthorizeMetrics(const std::string& authorization,
                                const std::string& session_token,
                                const std::string& peer) override;
  std::string MetricsText() override { return kMetrics; }
  // AdminService.Login opens a session; anything else echoes the method.
  absl::StatusOr<std::string> CallJson(const RequestContext& ctx,
                                       const std::string& method,
                                       const std::string& json) override;
  // Uploads: counts the bytes (at most 4096) and reports them as progress,
  // then a summary; the options must be {"dryRun":true}.
  absl::StatusOr<std::unique_ptr<WebUpload>> BeginUpload(
      const RequestContext& ctx, const std::string& method,
      const std::string& options_json) override;

  // The next calls of `method` fail with `status` (OK: succeed again).
  void FailWith(const std::string& method, absl::Status status);
  std::string last_peer();

 private:
  absl::Status Check(const RequestContext& ctx)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::set<std::string> tokens_ ABSL_GUARDED_BY(mu_);
  int next_token_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<std::string, absl::Status> failures_ ABSL_GUARDED_BY(mu_);
  std::string last_peer_ ABSL_GUARDED_BY(mu_);
};

}  // namespace unionsync::testing

#endif  // UNIONSYNC_TESTS_DASHBOARD_FAKE_BACKEND_H_
