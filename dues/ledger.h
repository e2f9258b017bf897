// Dues at the city hub (R9, docs/DESIGN.md "Dues"): the payment service's
// export of dues paid (dues/dues_file.h), imported by the hub's data
// administrator, kept as a ledger keyed by the keyed hash of the payer's ID
// number (vault/records.h IdNumberToken) so that the hub holds no ID number
// it did not already hold, and reported as coverage: the share of active
// members whose dues for a month are recorded, for the city, every region
// and every system, with the payers no active member matches (people who pay
// but are not entered yet).
//
// The ledger lives in the hub's local state (not replicated; backed up with
// the store): "dues/p/<YYYY-MM>/<token>/<hash of the reference>" ->
// v1::DuesPayment and "dues/k/<YYYY-MM>" -> the index key's check value the
// month was imported under. A payment's key is fixed by its reference, so
// importing a file twice, or after an interrupted import, changes nothing
// more than importing it once. A month imported under an earlier index key
// (after a rotation, docs/KEYS.md) no longer matches anyone: its coverage
// asks for the file again, and importing it replaces the month's old keys.
//
// Figures are computed when asked: one pass over the month's payments, a
// point read of the ID-number index per payer and of the member per match;
// denominators are the store's maintained counters.
//
// Thread-safe; imports run one at a time.
#ifndef UNIONSYNC_DUES_LEDGER_H_
#define UNIONSYNC_DUES_LEDGER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "monitor/monitor.h"
#include "store/store.h"
#include "unionsync/v1/monitor.pb.h"

namespace unionsync {

struct DuesOptions {
  v1::CampaignConfig campaign;  // For the regions', systems' names.
  bool hub = false;             // Dues are kept at the city hub only.
  size_t max_file_bytes = size_t{200} << 20;
  // Payments written per commit.
  size_t batch_rows = 10000;
};

class DuesLedger {
 public:
  // `store`, `clock` and `auth` are not owned and must outlive the ledger.
  DuesLedger(Store* store, const Clock* clock, Authenticator* auth,
             DuesOptions options);

  absl::StatusOr<v1::ImportDuesResponse> ImportDues(
      const RequestContext& ctx, const v1::ImportDuesRequest& req);
  absl::StatusOr<v1::GetDuesCoverageResponse> GetDuesCoverage(
      const RequestContext& ctx, const v1::GetDuesCoverageRequest& req);
  // Whether the caller may import (an upload checks this before it reads
  // the file).
  absl::Status CheckImport(const RequestContext& ctx);

 private:
  // The caller, who must belong to the hub's own organisation (and be its
  // data administrator when `write`).
  absl::StatusOr<Viewer> Check(const RequestContext& ctx,
                               absl::string_view action, bool write);
  // Deletes the payments of `period` kept under another index key.
  absl::Status DropStale(const std::string& period);

  Store* store_;
  const Clock* clock_;
  Authenticator* auth_;
  const DuesOptions options_;
  absl::Mutex import_mu_;
};

}  // namespace unionsync

#endif  // UNIONSYNC_DUES_LEDGER_H_
