#include "node/policy.h"

#include <vector>

#include "absl/strings/str_join.h"

namespace unionsync {
namespace {

constexpr RoleSet kFigures = kDataAdmin | kReviewer | kLeader | kOperator;

// The table. Keep it in the order of the .proto files; docs/SECURITY.md shows
// it as a table.
constexpr ActionPolicy kPolicies[] = {
    // AdminService: sessions.
    {"Login", "AdminService/Login", kPublic, false,
     "any account, at the node hosting its organisation"},
    {"Logout", "AdminService/Logout", kAnyRole, false, "own session"},
    {"ChangePassword", "AdminService/ChangePassword", kAnyRole, false,
     "own password"},
    {"WhoAmI", "AdminService/WhoAmI", kAnyRole, false, "own session"},
    {"CheckNewPassword", "AdminService/CheckNewPassword", kAnyRole, false,
     "own candidate password"},
    // Organisations.
    {"CreateChildOrg", "AdminService/CreateChildOrg", kDataAdmin, false,
     "children of the caller's own organisation (R2)"},
    {"GetOrg", "AdminService/GetOrg", kAnyRole, false,
     "inside the caller's subtree; contacts for data administrators only, "
     "phones masked"},
    {"ListChildOrgs", "AdminService/ListChildOrgs", kAnyRole, false,
     "inside the caller's subtree; contacts as GetOrg"},
    {"UpdateOrgProfile", "AdminService/UpdateOrgProfile", kDataAdmin, false,
     "the caller's own organisation (R3)"},
    {"CorrectOrgRegistration", "AdminService/CorrectOrgRegistration",
     kDataAdmin, false,
     "direct children of the caller's own organisation, hosted on this node "
     "or running their own (R2)"},
    {"RecordTraining", "AdminService/RecordTraining", kDataAdmin, false,
     "direct children of the caller's own organisation, hosted on this node "
     "or running their own (R6)"},
    {"SetChildTarget", "AdminService/SetChildTarget", kDataAdmin, false,
     "direct children of the caller's own organisation; kept in its own "
     "profile (R8)"},
    {"DissolveOrg", "AdminService/DissolveOrg", kDataAdmin, false,
     "direct children of the caller's own organisation, hosted on this node, "
     "with no active children (R2)"},
    // Accounts.
    {"CreateAccount", "AdminService/CreateAccount", kDataAdmin, false,
     "administrator and leader of a direct child with none active; "
     "reviewers and operators of the own organisation"},
    {"ListAccounts", "AdminService/ListAccounts", kDataAdmin, false,
     "inside the caller's subtree"},
    {"DisableAccount", "AdminService/DisableAccount", kDataAdmin, false,
     "accounts below the caller's organisation, and its own reviewers and "
     "operators (R10.3)"},
    {"EnableAccount", "AdminService/EnableAccount", kDataAdmin, false,
     "as DisableAccount"},
    {"ResetPassword", "AdminService/ResetPassword", kDataAdmin, false,
     "as DisableAccount"},
    // Members.
    {"AddMember", "AdminService/AddMember", kDataAdmin, true,
     "the caller's own grassroots union (R4)"},
    {"UpdateMember", "AdminService/UpdateMember", kDataAdmin, true,
     "members of the caller's own union (R10.2)"},
    {"TransferMember", "AdminService/TransferMember", kDataAdmin, true,
     "members of the caller's own union"},
    {"RemoveMember", "AdminService/RemoveMember", kDataAdmin, true,
     "members of the caller's own union"},
    {"GetMember", "AdminService/GetMember", kDataAdmin, true,
     "members of the caller's own union; full values of one member with a "
     "reason"},
    {"ListMembers", "AdminService/ListMembers", kDataAdmin, true,
     "the caller's own union; always masked"},
    {"GetSubtreeSummary", "AdminService/GetSubtreeSummary", kFigures, false,
     "inside the caller's subtree (counts only)"},
    // Operators.
    {"GetReplicationStatus", "AdminService/GetReplicationStatus",
     kOperator | kDataAdmin, false, "the node's own organisation"},
    {"ForceResync", "AdminService/ForceResync", kOperator | kDataAdmin, false,
     "the node's own organisation"},
    {"VerifyAudit", "AdminService/VerifyAudit", kOperator | kDataAdmin, false,
     "the node's own organisation"},
    {"SearchAudit", "AdminService/SearchAudit",
     kOperator | kDataAdmin | kReviewer, false,
     "operators: the node's whole log; others: entries of organisations in "
     "their subtree"},
    {"CreateBackup", "AdminService/CreateBackup", kOperator | kDataAdmin, false,
     "the node's own organisation"},
    {"ListBackups", "AdminService/ListBackups", kOperator | kDataAdmin, false,
     "the node's own organisation"},
    {"VerifyBackup", "AdminService/VerifyBackup", kOperator | kDataAdmin, false,
     "the node's own organisation"},
    // ExportService.
    {"RequestExport", "ExportService/RequestExport", kDataAdmin, false,
     "the caller's own union, at its node"},
    {"ApproveExport", "ExportService/ApproveExport",
     kLeader | kDataAdmin | kReviewer, false,
     "leader: the own unit; data administrator or reviewer: a direct child "
     "(upper tier); never the requester nor an account it created"},
    {"ListExportRequests", "ExportService/ListExportRequests",
     kDataAdmin | kLeader | kReviewer, false,
     "the own unit, and direct children for the upper tier"},
    {"DownloadExport", "ExportService/DownloadExport", kDataAdmin, true,
     "the requester, once, after both approvals"},
    {"TraceExport", "ExportService/TraceExport", kDataAdmin | kReviewer, false,
     "requests of the caller's subtree"},
    // IngestService.
    {"GetTemplate", "IngestService/GetTemplate", kPublic, false,
     "anyone (no data inside)"},
    {"ImportMembers", "IngestService/Import", kDataAdmin, true,
     "the caller's own grassroots union"},
    {"ImportOrgs", "IngestService/Import", kDataAdmin, false,
     "children of the caller's own organisation"},
    // MonitorService.
    {"GetProgress", "MonitorService/GetProgress", kFigures, false,
     "inside the caller's subtree; regions and systems for the node's own "
     "organisation"},
    {"GetTimeSeries", "MonitorService/GetTimeSeries", kFigures, false,
     "as GetProgress"},
    {"ExportProgressCsv", "MonitorService/ExportProgressCsv", kFigures, false,
     "as GetProgress (figures only)"},
    {"ListWarnings", "MonitorService/ListWarnings", kFigures, false,
     "warnings of the caller's subtree"},
    {"WatchWarnings", "MonitorService/WatchWarnings", kFigures, false,
     "as ListWarnings"},
    {"ListConflicts", "MonitorService/ListConflicts", kDataAdmin, true,
     "the node's own organisation; numbers masked"},
    {"ResolveConflict", "MonitorService/ResolveConflict", kDataAdmin, false,
     "the hub's own organisation"},
    {"GetSyncFreshness", "MonitorService/GetSyncFreshness", kFigures, false,
     "inside the caller's subtree"},
    {"ImportDues", "MonitorService/ImportDues", kDataAdmin, true,
     "the hub's own organisation; ID numbers kept only as keyed hashes"},
    {"GetDuesCoverage", "MonitorService/GetDuesCoverage", kFigures, false,
     "the hub's own organisation (figures only)"},
    // Web endpoints that are not RPCs.
    {"Metrics", "GET /metrics", kOperator | kDataAdmin, false,
     "the node's own organisation; figures and node ids, no names"},
};

}  // namespace

absl::Span<const ActionPolicy> ActionPolicies() { return kPolicies; }

const ActionPolicy* FindActionPolicy(absl::string_view action) {
  for (const ActionPolicy& p : kPolicies) {
    if (p.action == action) return &p;
  }
  return nullptr;
}

bool RoleMay(absl::string_view action, v1::Role role) {
  const ActionPolicy* p = FindActionPolicy(action);
  if (p == nullptr) return false;
  if (p->roles & kPublic) return true;
  return role > 0 && role < 31 && (p->roles & RoleBit(role)) != 0;
}

absl::string_view RoleText(v1::Role role) {
  switch (role) {
    case v1::DATA_ADMIN:
      return "data administrator";
    case v1::REVIEWER:
      return "reviewer";
    case v1::UNIT_LEADER:
      return "unit leader";
    case v1::OPERATOR:
      return "operator";
    default:
      return "account without a role";
  }
}

std::string RoleSetText(RoleSet roles) {
  if (roles & kPublic) return "anyone";
  std::vector<absl::string_view> names;
  if (roles & kDataAdmin) names.push_back("data administrator");
  if (roles & kReviewer) names.push_back("reviewer");
  if (roles & kLeader) names.push_back("unit leader");
  if (roles & kOperator) names.push_back("operator");
  return absl::StrJoin(names, ", ");
}

}  // namespace unionsync
