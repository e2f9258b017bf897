// The workbench (工作台): the Chinese web application union staff work in,
// served by the same HTTPS server as the dashboard.
//
// Routes:
//   GET  /wb, /wb/           the single page (dashboard/web/workbench.html)
//   GET  /wb/static/NAME     its script and style, and Bootstrap from Debian
//   POST /api/v1/IngestService.Import   an upload: options in the header
//                            X-Upload-Options (URL-encoded JSON), the file as
//                            the body (up to kMaxUploadBytes), NDJSON progress
//                            back (DashboardBackend::BeginUpload)
//   POST /api/v1/SVC.METHOD  one JSON endpoint per unary RPC
//                            (DashboardBackend::CallJson; protobuf's JSON
//                            mapping), e.g. /api/v1/AdminService.GetOrg
//
// Sessions: AdminService.Login sets the session token in the `us_session`
// cookie (HttpOnly, SameSite=Strict, Secure over HTTPS) and never returns it
// to the page, and sets `us_csrf`, a random value the page reads and sends
// back in the X-CSRF-Token header of every other call (double submit: a
// request forged from another site can send the cookies but not the header).
// Logout clears both. Errors come back as
//   {"error": {"code": "INVALID_ARGUMENT", "message": "...", "text": "中文"}}
// with the HTTP status of the code; `text` is what a clerk reads
// (ClerkText), the one place an error becomes Chinese.
#ifndef UNIONSYNC_DASHBOARD_WORKBENCH_H_
#define UNIONSYNC_DASHBOARD_WORKBENCH_H_

#include <string>

#include "absl/status/status.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace unionsync {

class DashboardBackend;

inline constexpr char kUploadPath[] =
    R"(/api/v1/(IngestService\.Import|MonitorService\.ImportDues))";
// The largest upload (the Ingest API's limit is 200 MiB; the importer says
// so first, with its own message).
inline constexpr size_t kMaxUploadBytes = (size_t{200} << 20) + (1 << 20);
// The largest JSON request.
inline constexpr size_t kMaxJsonBytes = size_t{1} << 20;

// Adds the routes above to `server`. `backend` is not owned. `tls`: cookies
// are Secure.
void InstallWorkbench(httplib::Server& server, DashboardBackend* backend,
                      bool tls);

// What a clerk reads for `status`: a Chinese sentence saying what to do,
// with the detail in brackets when it names a field.
std::string ClerkText(const absl::Status& status);

}  // namespace unionsync

#endif  // UNIONSYNC_DASHBOARD_WORKBENCH_H_
