#include "store/rocks_status.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace unionsync {

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view context) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = absl::StrCat(context, ": ", s.ToString());
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain())
    return absl::UnavailableError(msg);
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    return absl::FailedPreconditionError(
        absl::StrCat(msg, " (is another process using this store?)"));
  }
  return absl::InternalError(msg);
}

}  // namespace unionsync
