// Output of unionctl: human-readable aligned text, JSON, and error lines. Pure
// functions.
#ifndef UNIONSYNC_CLI_FORMAT_H_
#define UNIONSYNC_CLI_FORMAT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace unionsync::v1 {
class Account;
class CreateChildOrgResponse;
class GetReplicationStatusResponse;
class GetProgressResponse;
class GetSubtreeSummaryResponse;
class GetSyncFreshnessResponse;
class ListConflictsResponse;
class Warning;
class LoginResponse;
class Member;
class Org;
class WhoAmIResponse;
}  // namespace unionsync::v1

namespace unionsync::cli {

// One JSON object on one line (MessageToJsonString with
// preserve_proto_field_names; fields with default values are printed too, so
// the keys of a response type are always the same).
std::string FormatJson(const google::protobuf::Message& message);

// {"error":{"code":"PERMISSION_DENIED","message":"..."}} and a newline.
std::string FormatErrorJson(const absl::Status& status);
// "error: PERMISSION_DENIED: message" (with_code) or "error: message", and a
// newline.
std::string FormatError(const absl::Status& status, bool with_code);

// A JSON string literal (quotes included) for UTF-8 `s`.
std::string JsonQuote(absl::string_view s);

// Rows of cells as aligned columns (two spaces apart, no trailing blanks);
// cells are padded by display width, so Chinese text lines up. `right` lists
// columns aligned to the right.
std::string FormatTable(const std::vector<std::vector<std::string>>& rows,
                        const std::vector<int>& right = {});

// "2019-12-31 18:00:00" in China Standard Time (UTC+8), or "-" for 0.
std::string FormatTimeMs(int64_t ms);

std::string FormatLogin(const v1::LoginResponse& response,
                        absl::string_view username, absl::string_view server);
std::string FormatWhoAmI(const v1::WhoAmIResponse& response,
                         absl::string_view server);
std::string FormatOrg(const v1::Org& org);
std::string FormatOrgTable(const std::vector<v1::Org>& orgs);
std::string FormatCreatedOrg(const v1::CreateChildOrgResponse& response);
std::string FormatAccount(const v1::Account& account);
std::string FormatAccountTable(const std::vector<v1::Account>& accounts);
// An account with a freshly issued initial password (create, reset): shown
// once.
std::string FormatIssuedPassword(const v1::Account& account,
                                 absl::string_view initial_password);
std::string FormatMember(const v1::Member& member);
std::string FormatMemberTable(const std::vector<v1::Member>& members);
std::string FormatSummary(const v1::GetSubtreeSummaryResponse& response);

// A duration in whole seconds, two units at most: "0s", "45s", "12m05s",
// "3h07m", "2d04h". Negative durations print as "0s".
std::string FormatDuration(int64_t seconds);
// `unionctl links`: the node's id, incarnation, log end and refused streams,
// then one row per replication link, with ages relative to `now_ms`.
std::string FormatLinks(const v1::GetReplicationStatusResponse& response,
                        int64_t now_ms);

// The line printed after a page when more pages exist and --all was not given.
std::string FormatMorePages(absl::string_view next_page_token);

// The monitor verbs (cli/monitor_format.cc).
std::string FormatProgress(const v1::GetProgressResponse& response);
std::string FormatWarnings(const std::vector<v1::Warning>& warnings);
// One warning update of `warnings --watch`.
std::string FormatWarningLine(const v1::Warning& warning);
std::string FormatConflicts(const v1::ListConflictsResponse& response);
std::string FormatFreshness(const v1::GetSyncFreshnessResponse& response);

}  // namespace unionsync::cli

#endif  // UNIONSYNC_CLI_FORMAT_H_
