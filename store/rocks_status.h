// RocksDB's status as an absl::Status, for the store's own files.
#ifndef UNIONSYNC_STORE_ROCKS_STATUS_H_
#define UNIONSYNC_STORE_ROCKS_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "rocksdb/status.h"

namespace unionsync {

// OK for OK; otherwise `context` and RocksDB's message, with the code that
// says what happened: DATA_LOSS for corruption, NOT_FOUND, UNAVAILABLE for
// busy or timed out, FAILED_PRECONDITION for a store another process holds.
absl::Status FromRocks(const rocksdb::Status& s, absl::string_view context);

}  // namespace unionsync

#endif  // UNIONSYNC_STORE_ROCKS_STATUS_H_
