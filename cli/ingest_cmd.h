// unionctl verbs of the Ingest API (proto/unionsync/v1/ingest.proto):
//   unionctl template member|org [--format xlsx|csv] [--encoding ...] [-o FILE]
//   unionctl import members FILE [--org ORG] [--dry-run] [--valid-rows-only]
//                                [--encoding ...] [--format ...] [--errors F]
//   unionctl import orgs FILE [...]
// The verb table (cli/parse.cc) lists their specs; the dispatcher
// (cli/unionctl.cc) hands them to RunIngestVerb with a way to connect.
#ifndef UNIONSYNC_CLI_INGEST_CMD_H_
#define UNIONSYNC_CLI_INGEST_CMD_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cli/args.h"
#include "cli/parse.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace unionsync::v1 {
class GetTemplateRequest;
class ImportOptions;
class ImportSummary;
}  // namespace unionsync::v1

namespace unionsync::cli {

struct Io;

VerbSpec TemplateVerbSpec();
VerbSpec ImportMembersVerbSpec();
VerbSpec ImportOrgsVerbSpec();

// Parsers (pure; InvalidArgument for the user on bad input).
struct TemplateArgs {
  std::string output;  // "" = the server's suggested file name.
};
absl::StatusOr<TemplateArgs> ParseTemplate(const std::vector<std::string>& args,
                                           v1::GetTemplateRequest* req);
struct ImportArgs {
  std::string file;
  std::string errors_file;  // "" = none.
};
// `orgs` selects `import orgs`; otherwise `import members`.
absl::StatusOr<ImportArgs> ParseImport(const std::vector<std::string>& args,
                                       bool orgs, v1::ImportOptions* options);

// The human report of an import (no progress lines).
std::string FormatImportSummary(const v1::ImportSummary& summary);

// What a verb needs of the dispatcher: a channel to the node and the session
// token ("" when none).
struct IngestConnection {
  std::shared_ptr<grpc::Channel> channel;
  std::string token;
};
using IngestConnect =
    std::function<absl::StatusOr<IngestConnection>(bool with_session)>;

// Runs `template`, `import members` or `import orgs` (cl.verb). Sets
// *usage_error for command-line errors and *rpc_error for failed calls, as
// the dispatcher reports them.
absl::Status RunIngestVerb(const CommandLine& cl, const Io& io,
                           const IngestConnect& connect, bool* usage_error,
                           bool* rpc_error);

}  // namespace unionsync::cli

#endif  // UNIONSYNC_CLI_INGEST_CMD_H_
