// Bulk import of members and organisations from the unified templates (R5),
// and the templates themselves: the domain logic of the Ingest API
// (proto/unionsync/v1/ingest.proto). Transport-free, like node/admin.h:
// node/ingest_service.cc only moves bytes and messages.
//
// Scope (the rules of Admin::AddMember and Admin::CreateChildOrg):
//   - members: only the data administrator of the target grassroots union
//     itself (R4, R10.2); the union is hosted on this node and active;
//   - organisations: children of the caller's own organisation (R2), which is
//     hosted here; registered as CreateChildOrg registers them (tier, region
//     and system inherited, CheckParentChild, host_node empty or the child's
//     own id). Administrator accounts are not created by an import: the parent
//     creates them with CreateAccount (unionctl account create), which hands
//     out the initial password.
// Refusals are PERMISSION_DENIED and audited; every import (refused, failed,
// dry run or done) writes exactly one audit entry with its counts.
//
// What a row does (idempotent by ID number / organisation id):
//   - members: an ID number not held by an active member creates a member
//     (id generated like AddMember); one held by an active member of the same
//     union with identical fields changes nothing ("unchanged"); with other
//     fields it updates that member (every template field is taken from the
//     row: an empty optional cell clears the field, as the row is the record);
//     one held by an active member of another union is a row error (one
//     person, one union: transfer first).
//   - organisations: a new id registers the child (and writes the profile
//     columns when it is hosted here; a child hosted on its own node fills in
//     its profile itself, so non-empty profile cells are a row error there);
//     an existing child with the same registration is unchanged (its profile
//     is the organisation's own, R3, and is not overwritten); an existing id
//     with another registration or another parent is a row error.
//
// Modes: ALL_OR_NOTHING validates the whole file (every cell, and every row
// against the store) in a first pass that keeps nothing but the mapper's
// duplicate check (about 24 bytes a row), then commits in a second pass;
// VALID_ROWS_ONLY commits valid rows in one pass. Writes go in WriteSets of
// `batch_rows` rows. A concurrent edit between the two passes (someone adds
// the same person elsewhere) can still fail a row of the second pass: the
// import then stops at that batch and says how much was written; running it
// again completes it (idempotent).
//
// Memory is flat in the file size: the upload is spooled to a file under
// `spool_dir`, read streaming (ingest/table.h), and written in batches.
//
// Thread-safe; a job is used by one thread at a time.
#ifndef UNIONSYNC_NODE_IMPORTER_H_
#define UNIONSYNC_NODE_IMPORTER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "monitor/monitor.h"
#include "store/store.h"
#include "unionsync/v1/ingest.pb.h"

namespace unionsync {

struct ImporterOptions {
  // Where uploads are spooled (created if missing; leftovers of a crash are
  // removed at start, as they hold personal data).
  std::string spool_dir;
  int64_t max_upload_bytes = int64_t{200} << 20;
  // Rows per WriteSet.
  int batch_rows = 1000;
  // Imports running at once on this node; more are RESOURCE_EXHAUSTED.
  int max_concurrent = 2;
  // Progress is reported at most this often (and at phase changes).
  int64_t progress_interval_ms = 200;
  // Errors returned as messages, and in the error report CSV.
  int max_listed_errors = 100;
  int max_report_errors = 10000;
  // The industry systems an organisation row may name (AdminOptions::systems:
  // code, Chinese name); empty: any well-formed code.
  std::vector<std::pair<std::string, std::string>> systems;
};

using ImportProgressFn = std::function<void(const v1::ImportProgress&)>;

// One authorised import: its spooled upload and a slot among the
// max_concurrent. Destroying it removes the spool file and frees the slot.
class ImportJob {
 public:
  virtual ~ImportJob() = default;
  // Appends a piece of the file. RESOURCE_EXHAUSTED beyond max_upload_bytes
  // (audited).
  virtual absl::Status Append(absl::string_view chunk) = 0;
  virtual int64_t bytes_received() const = 0;
  // Ends the upload and runs the import; `progress` (may be empty) is called
  // on this thread. Stops early with CANCELLED when *cancelled becomes true.
  // A file that cannot be read is INVALID_ARGUMENT (Chinese message), nothing
  // written; row errors are in the summary.
  virtual absl::StatusOr<v1::ImportSummary> Run(
      const ImportProgressFn& progress, const std::atomic<bool>* cancelled) = 0;
};

class Importer {
 public:
  // `store`, `clock` and `auth` are not owned and must outlive the importer.
  Importer(Store* store, const Clock* clock, Authenticator* auth,
           ImporterOptions options);
  ~Importer();

  // Creates the spool directory and removes leftovers. Call once.
  absl::Status Init();

  // The blank template. No session needed: it holds no data.
  absl::StatusOr<v1::GetTemplateResponse> GetTemplate(
      const v1::GetTemplateRequest& req);

  // Checks the session, the options and the scope (refusals audited) and
  // opens the spool file.
  absl::StatusOr<std::unique_ptr<ImportJob>> Begin(
      const RequestContext& ctx, const v1::ImportOptions& options);

  // Begin, copy the file at `path`, Run: for tests and tools.
  absl::StatusOr<v1::ImportSummary> ImportFile(
      const RequestContext& ctx, const v1::ImportOptions& options,
      const std::string& path, const ImportProgressFn& progress = nullptr);

 private:
  class Job;
  friend class Job;
  void Release(const std::string& key);

  Store* store_;
  const Clock* clock_;
  Authenticator* auth_;
  const ImporterOptions options_;
  absl::Mutex mu_;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  // Targets being imported into ("m/<org>", "o/<parent>"): one at a time.
  std::set<std::string> busy_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> next_spool_{1};
};

}  // namespace unionsync

#endif  // UNIONSYNC_NODE_IMPORTER_H_
