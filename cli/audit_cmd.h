// unionctl verbs of the node's audit log (AdminService VerifyAudit and
// SearchAudit, R10.4):
//   unionctl audit verify
//   unionctl audit search [--actor U] [--org O] [--since TIME] [--until TIME]
//                         [--action A] [--limit N]
// The verb table (cli/parse.cc) lists their specs; the dispatcher
// (cli/unionctl.cc) hands them to RunAuditVerb with a way to connect.
#ifndef UNIONSYNC_CLI_AUDIT_CMD_H_
#define UNIONSYNC_CLI_AUDIT_CMD_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cli/args.h"
#include "cli/parse.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace unionsync::v1 {
class AuditEntry;
class SearchAuditRequest;
class VerifyAuditResponse;
}  // namespace unionsync::v1

namespace unionsync::cli {

struct Io;

VerbSpec AuditVerifyVerbSpec();
VerbSpec AuditSearchVerbSpec();

// A time on the command line: RFC 3339 ("2026-11-27T10:00:00+08:00", "...Z")
// or a day "YYYY-MM-DD" in China Standard Time (UTC+8), which means its
// start, or with `end_of_day` the start of the next day. Milliseconds since
// the epoch.
absl::StatusOr<int64_t> ParseAuditTime(absl::string_view text, bool end_of_day);

struct AuditSearchArgs {
  int limit = 100;  // Entries to print at most (pages are followed).
};
absl::StatusOr<AuditSearchArgs> ParseAuditSearch(
    const std::vector<std::string>& args, v1::SearchAuditRequest* req);

std::string FormatAuditVerify(const v1::VerifyAuditResponse& response);
std::string FormatAuditEntries(const std::vector<v1::AuditEntry>& entries);

// What a verb needs of the dispatcher: a channel to the node and the session
// token.
struct AuditConnection {
  std::shared_ptr<grpc::Channel> channel;
  std::string token;
};
using AuditConnect = std::function<absl::StatusOr<AuditConnection>()>;

// Runs `audit verify` or `audit search` (cl.verb). Sets *usage_error for
// command-line errors and *rpc_error for failed calls, as the dispatcher
// reports them. A broken chain is printed and then reported as DATA_LOSS
// (exit 1).
absl::Status RunAuditVerb(const CommandLine& cl, const Io& io,
                          const AuditConnect& connect, bool* usage_error,
                          bool* rpc_error);

}  // namespace unionsync::cli

#endif  // UNIONSYNC_CLI_AUDIT_CMD_H_
