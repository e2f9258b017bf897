// Names of the Admin API enums as unionctl spells them on the command line
// (lower-case enum names without prefixes, e.g. "district_federation") and as
// clerks read them (Chinese).
//
// This is a local table on purpose: the CLI must not depend on the node's
// organisation rules.
#ifndef UNIONSYNC_CLI_ENUMS_H_
#define UNIONSYNC_CLI_ENUMS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "unionsync/v1/model.pb.h"

namespace unionsync::cli {

// Parsers accept the names below case-insensitively, with '-' for '_'. Errors
// are InvalidArgument naming the accepted values.
absl::StatusOr<v1::OrgKind> ParseOrgKind(absl::string_view name);
absl::StatusOr<v1::Role> ParseRole(absl::string_view name);  // admin | viewer
absl::StatusOr<v1::Gender> ParseGender(absl::string_view name);
absl::StatusOr<v1::Education> ParseEducation(absl::string_view name);
absl::StatusOr<v1::DuesStatus> ParseDuesStatus(absl::string_view name);

// The command-line name ("district_federation"), or the number for unknown
// values.
std::string OrgKindName(v1::OrgKind kind);
std::string GenderName(v1::Gender gender);
std::string EducationName(v1::Education education);
std::string DuesStatusName(v1::DuesStatus dues);
std::string RoleName(v1::Role role);  // "admin" / "viewer"

// What clerks see: "区（县）市总工会", "男", ... ("" for unspecified or unknown
// values).
std::string OrgKindChinese(v1::OrgKind kind);
std::string GenderChinese(v1::Gender gender);
std::string EducationChinese(v1::Education education);
std::string DuesStatusChinese(v1::DuesStatus dues);
std::string RoleChinese(v1::Role role);
std::string OrgStatusLabel(v1::OrgStatus status);        // "active (正常)"
std::string MemberStatusLabel(v1::MemberStatus status);  // "active (在册)"
std::string CredentialStateLabel(v1::CredentialState state);  // "initial", ...

// One line per kind: "  district_federation      区（县）市总工会", for --help
// texts.
std::string OrgKindHelpTable();

}  // namespace unionsync::cli

#endif  // UNIONSYNC_CLI_ENUMS_H_
