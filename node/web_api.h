// The workbench's JSON API: one endpoint per unary RPC of the Admin, Monitor,
// Export and Ingest services ("AdminService.GetOrg", ...), the request and
// response mapped with protobuf's JSON mapping, each calling the same domain
// object the gRPC edge calls (Admin, Monitor, Exporter, Importer). The one
// streaming call the workbench needs, IngestService.Import, is an upload
// (BeginUpload): its options as JSON, then the file's bytes, then
// ImportProgress messages as JSON lines; MonitorService.ImportDues is an
// upload too (its request's content is the body), answered in one line. So
// authorisation, validation, masking and audit are implemented once and tested
// once; the web layer holds no rule of its own (ARCHITECTURE.md, "Web
// workbench").
//
// Thread-safe (the domain objects are).
#ifndef UNIONSYNC_NODE_WEB_API_H_
#define UNIONSYNC_NODE_WEB_API_H_

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "dashboard/dashboard.h"
#include "dues/ledger.h"
#include "monitor/monitor.h"
#include "node/admin.h"
#include "node/exporter.h"
#include "node/importer.h"

namespace unionsync {

class WebApi {
 public:
  // Not owned; must outlive the API.
  WebApi(Admin* admin, Monitor* monitor, Exporter* exporter, Importer* importer,
         DuesLedger* dues);

  // Calls `method` ("Service.Method") with the JSON request `json` (an empty
  // body is an empty request) for the session in `ctx`; the JSON response.
  // NOT_FOUND for a method that is not an endpoint, INVALID_ARGUMENT for JSON
  // that does not map onto the request (unknown fields included), otherwise
  // the call's own status.
  absl::StatusOr<std::string> Call(const RequestContext& ctx,
                                   const std::string& method,
                                   const std::string& json) const;

  // "IngestService.Import" with its ImportOptions as JSON, or
  // "MonitorService.ImportDues" with its ImportDuesRequest (without content):
  // checks the session and the scope before the file is sent.
  absl::StatusOr<std::unique_ptr<WebUpload>> BeginUpload(
      const RequestContext& ctx, const std::string& method,
      const std::string& options_json) const;

  // Whether `method` is an endpoint.
  bool Has(const std::string& method) const;

 private:
  using Handler = std::function<absl::StatusOr<std::string>(
      const RequestContext&, const std::string&)>;
  std::map<std::string, Handler> handlers_;
  Importer* importer_;
  DuesLedger* dues_;
};

}  // namespace unionsync

#endif  // UNIONSYNC_NODE_WEB_API_H_
