// The hub's web dashboard (R7, R8): one HTTP server that serves a login form,
// the progress page in Simplified Chinese (HTML, CSS and one vanilla JS file,
// all embedded in the binary; nothing from a CDN), a JSON API for the page, the
// progress CSV export and the Prometheus /metrics endpoint.
//
// Routes (see dashboard/dashboard.cc):
//   GET  /login, POST /login   form; sets the `us_session` cookie (HttpOnly,
//                              SameSite=Strict) holding the Admin session token
//   POST /logout               ends the session
//   GET  /                     the dashboard page (login required)
//   GET  /static/app.css, /static/app.js   assets (public: no data inside)
//   GET  /api/progress, /api/timeseries, /api/warnings, /api/conflicts,
//        /api/freshness        JSON of the Monitor API's responses (login
//                              required; 401 JSON without a session)
//   GET  /api/progress.csv     the progress report as a download
//   GET  /metrics              Prometheus text for operators (session cookie,
//                              Bearer token or HTTP Basic of an operator
//                              account): figures and node ids, no names.
//
// Conflict sides reach the browser without their personal fields (the page
// names organisations only); the page reads conflicts once a minute, not on
// every 10-second refresh, because the node audits every read of them.
//
// The server speaks HTTPS with the node's certificate (plain HTTP only when
// the node runs with --insecure_plaintext on loopback); the session cookie is
// Secure then. Request bodies over 8 KiB are refused (413).
//
// Every response carries Content-Security-Policy (default-src 'self', no
// inline script or style), X-Content-Type-Options: nosniff,
// X-Frame-Options: DENY and Referrer-Policy: same-origin; /api responses are
// Cache-Control: no-store.
//
// Thread-safety: Start, port and Stop may be called from any thread; the
// backend is called concurrently from up to `threads` server threads.
#ifndef UNIONSYNC_DASHBOARD_DASHBOARD_H_
#define UNIONSYNC_DASHBOARD_DASHBOARD_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "monitor/monitor.h"
#include "unionsync/v1/monitor.pb.h"

namespace unionsync {

// One upload of the workbench (a file to import): the session and the scope
// were checked when it began, before any byte was read.
class WebUpload {
 public:
  virtual ~WebUpload() = default;
  // Appends the next piece of the file (RESOURCE_EXHAUSTED past the limit).
  virtual absl::Status Append(const char* data, size_t size) = 0;
  // Ends the upload and runs it. `progress` gets each progress message as one
  // line of JSON; the result is the last message's JSON. Stops with CANCELLED
  // once *cancelled is true.
  virtual absl::StatusOr<std::string> Run(
      const std::function<void(const std::string& json)>& progress,
      const std::atomic<bool>* cancelled) = 0;
};

// What the dashboard needs from the node (implemented by the node: Admin for
// login, Monitor for figures). Called concurrently from the server's threads.
class DashboardBackend {
 public:
  virtual ~DashboardBackend() = default;

  // Opens a session; returns its token. UNAUTHENTICATED for bad credentials,
  // FAILED_PRECONDITION when the password is initial or reset and must be
  // changed first (the page says so: change it with `unionctl passwd`),
  // RESOURCE_EXHAUSTED when the account is locked out.
  virtual absl::StatusOr<std::string> Login(const std::string& username,
                                            const std::string& password,
                                            const std::string& peer) = 0;
  virtual void Logout(const std::string& token) = 0;

  virtual absl::StatusOr<v1::GetProgressResponse> GetProgress(
      const RequestContext& ctx, const v1::GetProgressRequest& req) = 0;
  virtual absl::StatusOr<v1::GetTimeSeriesResponse> GetTimeSeries(
      const RequestContext& ctx, const v1::GetTimeSeriesRequest& req) = 0;
  virtual absl::StatusOr<v1::ListWarningsResponse> ListWarnings(
      const RequestContext& ctx, const v1::ListWarningsRequest& req) = 0;
  virtual absl::StatusOr<v1::ListConflictsResponse> ListConflicts(
      const RequestContext& ctx, const v1::ListConflictsRequest& req) = 0;
  virtual absl::StatusOr<v1::GetSyncFreshnessResponse> GetSyncFreshness(
      const RequestContext& ctx, const v1::GetSyncFreshnessRequest& req) = 0;
  virtual absl::StatusOr<v1::ExportProgressCsvResponse> ExportProgressCsv(
      const RequestContext& ctx, const v1::ExportProgressCsvRequest& req) = 0;

  // Whether /metrics may be read: an operator's (or the node's own data
  // administrator's) session `session_token` (cookie), or the "Authorization"
  // header (Bearer <token> or Basic <user:password>). UNAUTHENTICATED (401)
  // or PERMISSION_DENIED (403) otherwise.
  virtual absl::Status AuthorizeMetrics(const std::string& authorization,
                                        const std::string& session_token,
                                        const std::string& peer) = 0;
  // Prometheus text exposition (version 0.0.4); figures and node ids only.
  virtual std::string MetricsText() = 0;

  // The workbench's JSON API (dashboard/workbench.h): calls `method`
  // ("AdminService.GetOrg") with the JSON request for the session in `ctx`;
  // the JSON response, or the call's status.
  virtual absl::StatusOr<std::string> CallJson(const RequestContext& ctx,
                                               const std::string& method,
                                               const std::string& json) = 0;
  // Begins the streaming call `method` ("IngestService.Import") with its JSON
  // options; NOT_FOUND for a method that takes no upload.
  virtual absl::StatusOr<std::unique_ptr<WebUpload>> BeginUpload(
      const RequestContext& ctx, const std::string& method,
      const std::string& options_json) = 0;
};

struct DashboardOptions {
  // "host:port" or "[v6-host]:port"; port 0 picks a free port (see port()).
  std::string listen = "127.0.0.1:0";
  int threads = 4;  // Server threads, 1..64.
  // HTTPS with the node's certificate and key (PEM); both empty: plain HTTP,
  // which the node allows only on loopback behind --insecure_plaintext.
  std::string tls_cert_pem_path;
  std::string tls_key_pem_path;
};

class Dashboard {
 public:
  // Binds `options.listen` and starts serving in the background. `backend` is
  // not owned and must outlive the dashboard. INVALID_ARGUMENT for a bad
  // address or thread count, UNAVAILABLE when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<Dashboard>> Start(
      DashboardOptions options, DashboardBackend* backend);

  Dashboard(const Dashboard&) = delete;
  Dashboard& operator=(const Dashboard&) = delete;
  // Stops the server (see Stop).
  ~Dashboard();

  // The bound port.
  int port() const;
  // Stops accepting connections and waits for the server thread. Idempotent.
  void Stop();

 private:
  struct Impl;
  explicit Dashboard(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace unionsync

#endif  // UNIONSYNC_DASHBOARD_DASHBOARD_H_
