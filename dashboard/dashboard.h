// The node's web server (R7, R8, R11): the workbench (工作台, the Chinese web
// application every role works in, dashboard/workbench.h) and the Prometheus
// /metrics endpoint, over HTTPS. The hub's monitoring is the workbench's
// 进度与预警 page at the city: one web front end.
//
// Routes (see dashboard/dashboard.cc and dashboard/workbench.cc):
//   GET  /                     302 to /wb
//   GET  /wb, /wb/static/...   the workbench's page and assets (public: no
//                              data inside; all embedded, nothing from a CDN)
//   POST /api/v1/...           the workbench's calls (JSON, session cookie and
//                              CSRF header)
//   GET  /metrics              Prometheus text for operators (session cookie,
//                              Bearer token or HTTP Basic of an operator
//                              account): figures and node ids, no names.
//
// The server speaks HTTPS with the node's certificate (plain HTTP only when
// the node runs with --insecure_plaintext on loopback); cookies are Secure
// then. Request bodies: an upload up to kMaxUploadBytes, a JSON call up to
// kMaxJsonBytes, anything else up to 1 MiB (413 beyond).
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

// What the web server needs from the node: the workbench's calls (the
// node's WebApi over Admin, Monitor, Exporter and Importer) and /metrics.
// Called concurrently from the server's threads.
class DashboardBackend {
 public:
  virtual ~DashboardBackend() = default;

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
