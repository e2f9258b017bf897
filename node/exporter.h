// The Export API's domain logic (proto/unionsync/v1/export.proto): approved
// exports of member data (R10.1, R10.4, R11). Transport-free:
// node/export_service.cc is the gRPC edge.
//
// Rules (docs/DESIGN.md, "Approved exports"):
//   - Request: the data administrator of the unit itself, at the node hosting
//     it.
//   - Approve as leader: a UNIT_LEADER account of the same organisation, at
//     the unit's node; as upper tier: a data administrator of the unit's
//     parent organisation, at the node hosting the parent. Never the requester,
//     once per level, before the request expires.
//   - Download: the requester, at the unit's node, once both approved (and
//     neither rejected), before expiry, once. The request is marked downloaded
//     in the commit of the audit entry, before the bytes are returned. Fields
//     are the requested ones allowed by both approvals; ID and phone numbers
//     are masked unless both allow them.
//   - Trace: data administrators of the request's organisation or above it,
//     at the node that produced the file: the fingerprint read from the file
//     is checked against this node's key (HMAC-SHA256).
// Every refusal is audited (PERMISSION_DENIED as AUDIT_DENIED, other errors as
// AUDIT_FAILED) and so is every successful call but listing.
//
// Thread-safe.
#ifndef UNIONSYNC_NODE_EXPORTER_H_
#define UNIONSYNC_NODE_EXPORTER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "monitor/monitor.h"
#include "store/store.h"
#include "unionsync/v1/export.pb.h"

namespace unionsync {

struct ExporterOptions {
  int default_valid_days = 7;
  int max_valid_days = 30;
  // A download larger than this is refused (the reply is one message).
  size_t max_bytes = 64 << 20;
  // Members exported at most (a subtree export of a whole district is not
  // what this is for).
  size_t max_members = 200'000;
};

class Exporter {
 public:
  // `store`, `clock` and `auth` are not owned and must outlive the exporter.
  Exporter(Store* store, const Clock* clock, Authenticator* auth,
           ExporterOptions options = {});

  absl::StatusOr<v1::RequestExportResponse> RequestExport(
      const RequestContext& ctx, const v1::RequestExportRequest& req);
  absl::StatusOr<v1::ApproveExportResponse> ApproveExport(
      const RequestContext& ctx, const v1::ApproveExportRequest& req);
  absl::StatusOr<v1::ListExportRequestsResponse> ListExportRequests(
      const RequestContext& ctx, const v1::ListExportRequestsRequest& req);
  absl::StatusOr<v1::DownloadExportResponse> DownloadExport(
      const RequestContext& ctx, const v1::DownloadExportRequest& req);
  absl::StatusOr<v1::TraceExportResponse> TraceExport(
      const RequestContext& ctx, const v1::TraceExportRequest& req);

  // "EXP-<request id>-<recipient>-<32 hex: HMAC-SHA256 over request id,
  // recipient, requester and download time under `key`, truncated>".
  static std::string Fingerprint(absl::string_view key,
                                 const v1::ExportRequest& request,
                                 int64_t downloaded_at_ms);
  // The request id a fingerprint names, INVALID_ARGUMENT when malformed.
  static absl::StatusOr<std::string> RequestIdOf(absl::string_view fingerprint);

 private:
  // Writes an audit entry; returns `status` (OK: the entry's commit status).
  absl::Status Audit(const Viewer& viewer, const RequestContext& ctx,
                     absl::string_view action, absl::string_view target,
                     absl::string_view target_org, absl::Status status,
                     absl::string_view detail = "");
  v1::AuditEntry AuditOf(const Viewer& viewer, const RequestContext& ctx,
                         absl::string_view action, absl::string_view target,
                         absl::string_view target_org, v1::AuditOutcome outcome,
                         absl::string_view detail) const;
  absl::StatusOr<v1::ExportStatus> StatusOf(v1::ExportRequest request) const;
  // This node's fingerprint key, created on first use (local state).
  absl::StatusOr<std::string> NodeKey();
  bool HostedHere(const std::string& org_id) const;

  Store* store_;
  const Clock* clock_;
  Authenticator* auth_;
  const ExporterOptions options_;
  absl::Mutex key_mu_;
  std::string key_ ABSL_GUARDED_BY(key_mu_);
  // Serialises downloads: the once-only check and the commit that marks the
  // request downloaded.
  absl::Mutex download_mu_;
};

// What an approval approves: SHA-256 over the request's id, organisation,
// scope, requester, purpose, recipient, expiry and fields.
std::string RequestDigest(const v1::ExportRequest& request);

// The fields a download carries: `requested` ∩ every approval's allowed
// fields, sorted.
std::vector<v1::ExportField> EffectiveFields(
    const v1::ExportRequest& request,
    const std::vector<v1::ExportApproval>& approvals);

}  // namespace unionsync

#endif  // UNIONSYNC_NODE_EXPORTER_H_
