// The processes' log (spdlog, Debian's libspdlog-dev): one line per event on
// stderr, with the time (UTC, milliseconds), the level, the node id and the
// component, as text for people or as one JSON object per line for log
// collectors (--log_format=json):
//
//   2026-12-02T18:42:36.123Z warning 430102 replication: uplink to 430100 ended: ...
//   {"time":"2026-12-02T18:42:36.123Z","level":"warning","node":"430102",
//    "component":"replication","msg":"uplink to 430100 ended: ..."}
//
// No personal data is ever logged: messages name records by id (member ids,
// organisation ids, usernames), never by name, ID number or phone number
// (tests/cluster/workbench_story_test.cc greps a multi-process run's logs for
// every ID number and phone it entered). The one secret a process prints, the
// root's bootstrap password at its first start, goes to stdout, not the log.
//
// Thread-safe. Before InitLogging, lines go to stderr as text without a node.
#ifndef UNIONSYNC_COMMON_LOG_H_
#define UNIONSYNC_COMMON_LOG_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace unionsync {

struct LogOptions {
  std::string node_id;
  // "text" or "json".
  std::string format = "text";
  // "debug", "info", "warning" or "error": lines below it are dropped.
  std::string level = "info";
  // Where lines go (tests); nullptr: stderr.
  std::ostream* stream = nullptr;
};

// Sets up the process's log. INVALID_ARGUMENT for an unknown format or level
// (nothing changes then).
absl::Status InitLogging(const LogOptions& options);

void LogDebug(absl::string_view component, absl::string_view message);
void LogInfo(absl::string_view component, absl::string_view message);
void LogWarning(absl::string_view component, absl::string_view message);
void LogError(absl::string_view component, absl::string_view message);

}  // namespace unionsync

#endif  // UNIONSYNC_COMMON_LOG_H_
