// unionctl verbs of approved exports (ExportService, R10.1, R10.4, R11):
//   unionctl export request --org ORG --purpose TEXT --fields F,F...
//   --recipient NAME
//                           [--subtree] [--days N]
//   unionctl export approve REQUEST_ID [--reject] [--allow-fields F,F...]
//   [--note TEXT] unionctl export list [--org ORG] unionctl export download
//   REQUEST_ID -o FILE [--format csv|xlsx] unionctl export trace FILE |
//   --fingerprint FP
// The verb table (cli/parse.cc) lists their specs; the dispatcher
// (cli/unionctl.cc) hands them to RunExportVerb with a way to connect.
#ifndef UNIONSYNC_CLI_EXPORT_CMD_H_
#define UNIONSYNC_CLI_EXPORT_CMD_H_

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
class ChannelCredentials;
}  // namespace grpc

namespace unionsync::v1 {
class ExportStatus;
}  // namespace unionsync::v1

namespace unionsync::cli {

struct Io;

VerbSpec ExportRequestVerbSpec();
VerbSpec ExportApproveVerbSpec();
VerbSpec ExportListVerbSpec();
VerbSpec ExportDownloadVerbSpec();
VerbSpec ExportTraceVerbSpec();

// "id_number,phone,workplace" -> the fields (names as in the member template's
// English aliases: gender, ethnicity, id_number, phone, education, workplace,
// join_date, card_number, migrant_worker, dues_status).
absl::StatusOr<std::vector<int>> ParseExportFields(absl::string_view list);

std::string FormatExportStatuses(const std::vector<v1::ExportStatus>& list);
std::string FormatExportStatus(const v1::ExportStatus& status);

struct ExportConnection {
  std::shared_ptr<grpc::Channel> channel;
  std::string token;
  std::string server;  // For the download's own channel (large replies).
  std::shared_ptr<grpc::ChannelCredentials> creds;  // TLS or plaintext.
};
using ExportConnect = std::function<absl::StatusOr<ExportConnection>()>;

// Runs one `export ...` verb (cl.verb). Sets *usage_error for command-line
// errors and *rpc_error for failed calls, as the dispatcher reports them.
absl::Status RunExportVerb(const CommandLine& cl, const Io& io,
                           const ExportConnect& connect, bool* usage_error,
                           bool* rpc_error);

}  // namespace unionsync::cli

#endif  // UNIONSYNC_CLI_EXPORT_CMD_H_
