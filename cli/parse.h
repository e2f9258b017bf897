// Command-line parsing for unionctl: global options, verb selection, and one
// pure function per verb turning its arguments into the Admin API request it
// sends. Nothing here does I/O.
//
// Usage errors are InvalidArgument with a message for the user (unionctl exits
// 2 on them).
#ifndef UNIONSYNC_CLI_PARSE_H_
#define UNIONSYNC_CLI_PARSE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// The generated request types are only declared here, to keep protobuf headers
// out of this header; include "unionsync/v1/admin.pb.h" to use them.
namespace unionsync::v1 {
class AddMemberRequest;
class CreateAccountRequest;
class CreateChildOrgRequest;
class DisableAccountRequest;
class EnableAccountRequest;
class ForceResyncRequest;
class GetMemberRequest;
class GetOrgRequest;
class GetReplicationStatusRequest;
class GetProgressRequest;
class GetSubtreeSummaryRequest;
class ListConflictsRequest;
class ResolveConflictRequest;
class ListAccountsRequest;
class ListChildOrgsRequest;
class ListMembersRequest;
class Member;
class RemoveMemberRequest;
class ResetPasswordRequest;
class TransferMemberRequest;
class UpdateOrgProfileRequest;
}  // namespace unionsync::v1

namespace unionsync::cli {

inline constexpr char kDefaultServer[] = "127.0.0.1:7400";
inline constexpr double kDefaultTimeoutSeconds = 10;

// The environment variables unionctl reads ("" when unset).
struct Environment {
  std::string server;   // $UNIONSYNC_SERVER
  std::string session;  // $UNIONSYNC_SESSION
  std::string home;     // $HOME
  std::string ca;       // $UNIONSYNC_CA
  bool insecure_plaintext = false;  // $UNIONSYNC_INSECURE_PLAINTEXT=1
};

struct GlobalOptions {
  // --server, else $UNIONSYNC_SERVER, else kDefaultServer.
  std::string server = kDefaultServer;
  // True when the server came from --server or $UNIONSYNC_SERVER. Otherwise
  // calls made with a session go to the server that issued it.
  bool server_explicit = false;
  // --session, else $UNIONSYNC_SESSION, else $HOME/.unionsync/session.
  std::string session_path;
  // --ca FILE, else $UNIONSYNC_CA, else the session's: the CA certificate
  // the node's TLS certificate is checked against.
  std::string ca;
  bool ca_explicit = false;
  // --insecure_plaintext (or $UNIONSYNC_INSECURE_PLAINTEXT=1): talk plaintext
  // to a development node on loopback.
  bool insecure_plaintext = false;
  bool json = false;
  double timeout_seconds =
      kDefaultTimeoutSeconds;  // Deadline of every unary call.
};

struct CommandLine {
  GlobalOptions global;
  // "login", "org create", ...; a group ("org") or "" when only help was asked
  // for.
  std::string verb;
  std::vector<std::string> args;  // The words after the verb.
  bool help = false;              // Print HelpText(verb) and exit 0.
};

// Parses the whole command line (without the program name).
absl::StatusOr<CommandLine> ParseCommandLine(
    const std::vector<std::string>& argv, const Environment& env);

// --help text of a verb, of a group ("org": its verbs), or of unionctl itself
// ("").
std::string HelpText(absl::string_view verb);

// All verbs, in the order they are listed in the help.
std::vector<std::string> VerbNames();

// --- One parser per verb; `args` are the words after the verb. ---

struct LoginArgs {
  std::string username;
  bool password_stdin = false;
};
absl::StatusOr<LoginArgs> ParseLogin(const std::vector<std::string>& args);
absl::Status ParseLogout(const std::vector<std::string>& args);
struct PasswdArgs {
  bool password_stdin = false;
};
absl::StatusOr<PasswdArgs> ParsePasswd(const std::vector<std::string>& args);
absl::Status ParseWhoAmI(const std::vector<std::string>& args);

// For list verbs: follow next_page_token to the end (--all).
struct Paging {
  bool all = false;
};

absl::Status ParseOrgCreate(const std::vector<std::string>& args,
                            v1::CreateChildOrgRequest* req);
absl::Status ParseOrgGet(const std::vector<std::string>& args,
                         v1::GetOrgRequest* req);
absl::Status ParseOrgChildren(const std::vector<std::string>& args,
                              v1::ListChildOrgsRequest* req, Paging* paging);
absl::Status ParseOrgUpdate(const std::vector<std::string>& args,
                            v1::UpdateOrgProfileRequest* req);

absl::Status ParseAccountCreate(const std::vector<std::string>& args,
                                v1::CreateAccountRequest* req);
absl::Status ParseAccountList(const std::vector<std::string>& args,
                              v1::ListAccountsRequest* req);
absl::Status ParseAccountDisable(const std::vector<std::string>& args,
                                 v1::DisableAccountRequest* req);
absl::Status ParseAccountEnable(const std::vector<std::string>& args,
                                v1::EnableAccountRequest* req);
absl::Status ParseAccountReset(const std::vector<std::string>& args,
                               v1::ResetPasswordRequest* req);

absl::Status ParseMemberAdd(const std::vector<std::string>& args,
                            v1::AddMemberRequest* req);
// `member update` fetches the member, overwrites the fields given, and sends it
// back.
struct MemberUpdate {
  std::string member_id;
  // (flag, value) in the order of the member flags, e.g. {"phone",
  // "13800000000"},
  // {"migrant", "true"}; all validated at parse time.
  std::vector<std::pair<std::string, std::string>> edits;
};
absl::StatusOr<MemberUpdate> ParseMemberUpdate(
    const std::vector<std::string>& args);
// Overwrites the fields named in `update` on `member`.
absl::Status ApplyMemberUpdate(const MemberUpdate& update, v1::Member* member);
absl::Status ParseMemberTransfer(const std::vector<std::string>& args,
                                 v1::TransferMemberRequest* req);
absl::Status ParseMemberRemove(const std::vector<std::string>& args,
                               v1::RemoveMemberRequest* req);
absl::Status ParseMemberGet(const std::vector<std::string>& args,
                            v1::GetMemberRequest* req);
absl::Status ParseMemberList(const std::vector<std::string>& args,
                             v1::ListMembersRequest* req, Paging* paging);

absl::Status ParseSummary(const std::vector<std::string>& args,
                          v1::GetSubtreeSummaryRequest* req);

// Operators: replication links and forced resynchronisation of a child node.
absl::Status ParseLinks(const std::vector<std::string>& args,
                        v1::GetReplicationStatusRequest* req);
absl::Status ParseResync(const std::vector<std::string>& args,
                         v1::ForceResyncRequest* req);

// Exposed for tests: "YYYY-MM-DD" naming a real calendar day.
bool IsCivilDate(absl::string_view s);

// Monitor verbs.
absl::Status ParseProgress(const std::vector<std::string>& args,
                           v1::GetProgressRequest* req, std::string* csv);
struct WarningsArgs {
  std::string org_id;
  bool all = false;
  bool watch = false;
  int max = 0;  // With watch: stop after this many updates (0: never).
};
absl::StatusOr<WarningsArgs> ParseWarnings(
    const std::vector<std::string>& args);
absl::Status ParseConflicts(const std::vector<std::string>& args,
                            v1::ListConflictsRequest* req);
absl::Status ParseResolve(const std::vector<std::string>& args,
                          v1::ResolveConflictRequest* req);
absl::Status ParseFreshness(const std::vector<std::string>& args);

}  // namespace unionsync::cli

#endif  // UNIONSYNC_CLI_PARSE_H_
