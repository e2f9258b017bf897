#include "cli/verbs.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/audit_cmd.h"
#include "cli/backup_cmd.h"
#include "cli/enums.h"
#include "cli/export_cmd.h"
#include "cli/ingest_cmd.h"

namespace unionsync::cli {
namespace {

constexpr char kGroups[][8] = {"org",   "account", "member", "import",
                               "audit", "export",  "backup"};

FlagSpec Value(std::string name, std::string value_name, std::string help,
               bool required = false) {
  return FlagSpec{std::move(name), FlagType::kValue, std::move(value_name),
                  std::move(help), required};
}
FlagSpec Required(std::string name, std::string value_name, std::string help) {
  return Value(std::move(name), std::move(value_name), std::move(help), true);
}
FlagSpec Bool(std::string name, std::string help) {
  return FlagSpec{std::move(name), FlagType::kBool, "", std::move(help), false};
}
FlagSpec Repeated(std::string name, std::string value_name, std::string help) {
  return FlagSpec{std::move(name), FlagType::kRepeated, std::move(value_name),
                  std::move(help), false};
}

std::vector<FlagSpec> PagingFlags(std::string what) {
  return {
      Value("page-size", "N",
            absl::StrCat(what, " per page, 1..", kMaxPageSize,
                         " (server default 100)")),
      Value("page-token", "TOKEN",
            "Continue from a page token printed earlier"),
      Bool("all", "Fetch every page, following the page tokens"),
  };
}

// The member fields shared by `member add` and `member update`, in the order
// they are applied.
std::vector<FlagSpec> MemberFlags(bool add) {
  std::vector<FlagSpec> flags;
  if (add) {
    flags.push_back(Value("org", "ID",
                          "Grassroots union of the member (default: your own "
                          "organisation)"));
  }
  flags.push_back(Value("name", "NAME", "Full name (姓名)", add));
  flags.push_back(Value("id-number", "X",
                        "Citizen ID number, 18 characters (身份证号)", add));
  flags.push_back(Value("gender", "male|female", "Gender (性别)", add));
  flags.push_back(Value("ethnicity", "NAME", "Ethnic group, e.g. 汉族 (民族)"));
  flags.push_back(Value("phone", "NUMBER", "Mobile phone (手机号)"));
  flags.push_back(Value("education", "LEVEL",
                        "primary|junior_high|senior_high|junior_college|"
                        "bachelor|master|doctorate (学历)"));
  flags.push_back(Value("workplace", "TEXT", "Workplace (工作单位)"));
  flags.push_back(
      Value("join-date", "YYYY-MM-DD", "Date of joining (入会日期)"));
  flags.push_back(Value("card", "NUMBER", "Membership card number (会员证号)"));
  flags.push_back(Bool("migrant", "Migrant worker (农民工)"));
  if (!add) flags.push_back(Bool("no-migrant", "Not a migrant worker"));
  flags.push_back(Value("dues", "paid|unpaid|exempt", "Dues status (会费)"));
  return flags;
}

std::vector<FlagSpec> OrgUpdateFlags() {
  std::vector<FlagSpec> flags;
  for (const ProfileField& f : kProfileFields) {
    flags.push_back(Value(f.flag, f.value_name, f.help));
  }
  flags.push_back(
      Repeated("clear", "FIELD",
               "Clear a field: a flag name above, or chair, admin, contact"));
  return flags;
}

}  // namespace

std::string ClearFieldNames() {
  std::vector<std::string> names;
  for (const ProfileField& f : kProfileFields) names.push_back(f.flag);
  for (const auto& [name, path] : kProfileGroups) {
    if (absl::string_view(name) != "data_admin") names.push_back(name);
  }
  return absl::StrJoin(names, ", ");
}

const std::vector<VerbSpec>& Verbs() {
  static const std::vector<VerbSpec>* verbs = new std::vector<VerbSpec>{
      {"login",
       "Log in and save the session token in the session file.",
       {{"USER", "Your account name"}},
       {Bool("password-stdin",
             "Read the password from the first line of standard input")},
       "Without --password-stdin the password is prompted for on the "
       "terminal "
       "(not echoed).\nAn initial or reset password must be changed before "
       "anything else: run `unionctl passwd`.",
       {"unionctl --server 10.1.2.3:7400 login furong_admin",
        "printf '%s\\n' \"$PW\" | unionctl login furong_admin "
        "--password-stdin"}},
      {"logout",
       "End the session on the server and delete the session file.",
       {},
       {},
       "",
       {"unionctl logout"}},
      {"passwd",
       "Change your own password (ends your other sessions).",
       {},
       {Bool("password-stdin",
             "Read the old and the new password from two lines of standard "
             "input")},
       "A password has at least 10 characters with at least three of: lower "
       "case, upper case,\ndigits, symbols. Without --password-stdin both "
       "are "
       "prompted for (the new one twice).",
       {"unionctl passwd"}},
      {"whoami",
       "Show who the session belongs to and what it may do.",
       {},
       {},
       "",
       {"unionctl whoami"}},
      {"org create",
       "Register a child organisation and create its data administrator "
       "account (R2).",
       {},
       {Required("parent", "ID",
                 "Parent organisation id: yours or one below it"),
        Required("name", "NAME", "Full registered name (Chinese)"),
        Required("kind", "KIND", "Kind of organisation, see the list above"),
        Value("id", "ID",
              "Organisation id [a-z0-9.-]{1,64} (default: generated from the "
              "parent id)"),
        Value("region", "CODE",
              "6-digit administrative division code (default: the parent's)"),
        Value("system", "CODE",
              "Industry system, e.g. education (default: the parent's)"),
        Required("admin", "USER", "Account name of its data administrator"),
        Value("admin-name", "NAME", "Display name of that account")},
       absl::StrCat("Prints the new organisation's id, the administrator "
                    "account and its initial password.\nThe initial password "
                    "is shown only once: hand it over securely.\n\nKinds:\n",
                    OrgKindHelpTable()),
       {"unionctl org create --parent furong --name "
        "芙蓉区五里牌街道工会联合会 "
        "--kind township_federation --id furong.wlp --admin wlp_admin "
        "--admin-name 王芳"}},
      {"org get",
       "Show an organisation: registration and profile.",
       {{"ID", "Organisation id"}},
       {},
       "",
       {"unionctl org get furong"}},
      {"org children",
       "List the child organisations of an organisation.",
       {{"ID", "Parent organisation id"}},
       PagingFlags("Organisations"),
       "",
       {"unionctl org children furong --all"}},
      {"org update",
       "Complete or correct your organisation's profile (R3).",
       {{"ID", "Organisation id (your own)"}},
       OrgUpdateFlags(),
       "Only the fields given are changed. --clear FIELD empties a field; "
       "FIELD is "
       "the name of a\nfield flag below without the dashes (e.g. "
       "chair-phone), "
       "or a whole contact: chair, admin,\ncontact.",
       {"unionctl org update furong.wlp --chair-name 李明 --chair-phone "
        "13807310000 --employees 350",
        "unionctl org update furong.wlp --clear contact"}},
      {"account create",
       "Create an account: the administrator or leader of a direct child "
       "(when it has none active), or a reviewer or operator of your own "
       "organisation.",
       {},
       {Required("org", "ID", "Organisation of the account"),
        Required("user", "NAME", "Account name [a-z0-9_.-]{3,64}"),
        Required("role", "admin|reviewer|leader|operator",
                 "admin: data administrator (信息管理员); reviewer: progress, "
                 "warnings and upper-tier approvals, no member rows "
                 "(审核查看员); leader: the unit's responsible leader, who "
                 "approves exports (单位负责人); operator: links, resync, "
                 "audit verification, metrics (运维管理员)"),
        Value("name", "DISPLAY", "Display name")},
       "Prints the initial password once; it must be changed at first login.",
       {"unionctl account create --org furong --user furong_view --role "
        "reviewer --name 张伟"}},
      {"account list",
       "List the accounts of an organisation.",
       {{"ORG", "Organisation id"}},
       {},
       "",
       {"unionctl account list furong.wlp"}},
      {"account disable",
       "Disable an account of an organisation below yours (R10.3).",
       {{"USER", "Account name"}},
       {Value("reason", "TEXT", "Why, for the audit log")},
       "",
       {"unionctl account disable wlp_admin --reason 'left the post'"}},
      {"account enable",
       "Enable a disabled account again.",
       {{"USER", "Account name"}},
       {},
       "",
       {"unionctl account enable wlp_admin"}},
      {"account reset",
       "Reset the password of an account below yours; prints the new initial "
       "password once.",
       {{"USER", "Account name"}},
       {},
       "",
       {"unionctl account reset wlp_admin"}},
      {"member add",
       "Enter a member of your grassroots union (R4).",
       {},
       MemberFlags(true),
       "Prints the member as stored, with the id the node gave it.",
       {"unionctl member add --name 张三 --id-number 43010219900101123X "
        "--gender male --phone 13800000000 --dues paid --migrant"}},
      {"member update",
       "Correct a member's data: only the fields given change.",
       {{"MEMBER_ID", "Member id"}},
       MemberFlags(false),
       "Fetches the member, overwrites the fields given and saves it. Use "
       "`member transfer`\nto move a member to another union.",
       {"unionctl member update m-000123 --phone 13900000000 --dues exempt"}},
      {"member transfer",
       "Move a member to another grassroots union on this node.",
       {{"MEMBER_ID", "Member id"}},
       {Required("to", "ORG", "Receiving grassroots union")},
       "",
       {"unionctl member transfer m-000123 --to furong.wlp.abc"}},
      {"member remove",
       "Remove a member (kept as a tombstone for replication and audit).",
       {{"MEMBER_ID", "Member id"}},
       {Value("reason", "TEXT", "Why, for the audit log")},
       "",
       {"unionctl member remove m-000123 --reason 退休"}},
      {"member get",
       "Show one member, by member id or by citizen ID number.",
       {{"MEMBER_ID", "Member id", /*optional=*/true}},
       {Value("id-number", "X", "Look up by citizen ID number instead")},
       "Give exactly one of MEMBER_ID and --id-number. Every read of member "
       "data is audited.",
       {"unionctl member get m-000123",
        "unionctl member get --id-number 43010219900101123X"}},
      {"member list",
       "List the members of a grassroots union.",
       {{"ORG", "Organisation id"}},
       [] {
         std::vector<FlagSpec> flags = {
             Value("name-prefix", "TEXT", "Only names starting with TEXT"),
             Bool("migrant-only", "Only migrant workers"),
             Value("dues", "paid|unpaid|exempt", "Only this dues status"),
             Bool("include-removed", "Also list removed members"),
         };
         for (FlagSpec& f : PagingFlags("Members")) flags.push_back(f);
         return flags;
       }(),
       "ID numbers are masked in the list; `member get` shows them in full.",
       {"unionctl member list furong.wlp.abc --migrant-only --all"}},
      TemplateVerbSpec(),
      ImportMembersVerbSpec(),
      ImportOrgsVerbSpec(),
      {"summary",
       "Counts for an organisation and everything below it.",
       {{"ORG", "Organisation id"}},
       {},
       "Rows (Chinese label: meaning):\n"
       "  组织数        organisations: active organisations, this one "
       "included\n"
       "  基层工会数    grassroots unions: active grassroots organisations\n"
       "  资料完整      profile complete: organisations whose profile is "
       "100% "
       "complete\n"
       "  已激活        activated: organisations whose data administrator "
       "changed the initial password\n"
       "  会员数        members: active members\n"
       "  农民工会员    migrant members: active members who are migrant "
       "workers\n"
       "  账号数        accounts: accounts not disabled\n"
       "  直属下级组织  direct children: organisations directly below this "
       "one\n"
       "Percentages are of 组织数 (organisations) or of 会员数 (members).",
       {"unionctl summary furong"}},
      {"links",
       "Show this node's replication links: lag, acknowledgements, digests.",
       {},
       {},
       "One row per link. Only the data administrator of the node's own "
       "organisation may ask.\n"
       "Above the table: the node id, its store incarnation, the end of its "
       "change log and the\nnumber of replication streams it refused "
       "(unknown or unauthorised certificates).\n\n"
       "Columns:\n"
       "  PEER             the node at the other end\n"
       "  DIR              上级: the parent node (this node's uplink);\n"
       "                   下级: a child node that replicates to this one\n"
       "  STATE            idle, handshaking, streaming or closed\n"
       "  LAG POS          positions of this node's log not yet acknowledged "
       "by the peer (not\n"
       "                   every position crosses the link)\n"
       "  LAG              age of the oldest change not yet acknowledged\n"
       "  LAST ACK         time since the peer last acknowledged a batch\n"
       "  INFLIGHT         batches sent and not yet acknowledged\n"
       "  APPLIED/DUP/REJ  changes received from the peer: applied, dropped "
       "as duplicates,\n"
       "                   rejected as outside its scope (each rejection is "
       "audited)\n"
       "  DIGEST           subtree digest comparison: unknown, checking, "
       "agree, differ, repairing\n"
       "  LAST AGREE       time since the digests last agreed\n"
       "  REPAIRS          repair rounds run\n"
       "  SESSIONS         streams opened on this link\n"
       "Times are ages (\"12s\", \"5m03s\"); - means never. --json prints "
       "the response with\nabsolute times in milliseconds since the epoch.",
       {"unionctl links", "unionctl --json links"}},
      {"resync",
       "Make a child node resend everything and compare (forced "
       "resynchronisation).",
       {{"CHILD_ID",
         "Organisation id of the child node (a 下级 row of "
         "`unionctl links`)"}},
       {},
       "Forgets this node's checkpoint for the child and restarts its link: "
       "the child resends\nits whole log from the start and the digests are "
       "compared again. Duplicates are dropped\non apply, so nothing is "
       "applied twice, but a large subtree takes a while: follow it\nwith "
       "`unionctl links`. Only the data administrator of the node's own "
       "organisation may ask.",
       {"unionctl resync 430102"}},
      AuditVerifyVerbSpec(),
      AuditSearchVerbSpec(),
      BackupCreateVerbSpec(),
      BackupListVerbSpec(),
      BackupVerifyVerbSpec(),
      BackupRestoreVerbSpec(),
      ExportRequestVerbSpec(),
      ExportApproveVerbSpec(),
      ExportListVerbSpec(),
      ExportDownloadVerbSpec(),
      ExportTraceVerbSpec(),
      {"progress",
       "Entry progress against the campaign: the city (or your subtree), by "
       "region, by system, or by child organisation.",
       {},
       {Value("view", "city|regions|systems|children",
              "What to list (default regions at the node's own "
              "organisation, else children)"),
        Value("org", "ORG", "For --view children: whose children"),
        Value("csv", "FILE", "Also write the report as CSV (UTF-8, Excel)")},
       "Columns (Chinese label: meaning):\n"
       "  基层工会 已录入/预计  grassroots unions entered / expected\n"
       "  今日目标              grassroots target for today on the "
       "trajectory\n"
       "  会员 已录入/预计      members entered / expected\n"
       "  会员今日目标          members target for today\n"
       "  资料完整 已激活 有会员  organisations with a complete profile, "
       "whose initial\n"
       "                        password was changed, with at least one "
       "member\n"
       "  今日/本周新增         new members today / in the last 7 days\n"
       "  状态                  落后 when behind the target trajectory\n"
       "Regions and systems are for the data administrator of the node's own "
       "organisation.",
       {"unionctl progress", "unionctl progress --view systems",
        "unionctl progress --view children --org 430102 --csv report.csv"}},
      {"warnings",
       "Warnings of your subtree (progress behind, no entries, initial "
       "passwords, sync, duplicates).",
       {},
       {Value("org", "ORG", "Subtree root (default your organisation)"),
        Bool("all", "Also list cleared warnings"),
        Bool("watch",
             "Keep running and print each warning as it is raised, "
             "updated, escalated or cleared"),
        Value("max", "N", "With --watch: stop after N updates")},
       "Each warning has a severity (提示/预警/严重), the warned "
       "organisation, a text for the\nclerk, and 已上报 when it was "
       "escalated "
       "to the parent tier.",
       {"unionctl warnings", "unionctl warnings --watch"}},
      {"conflicts",
       "Reconciliation conflicts found by the hub (one person in two unions, "
       "duplicate credit codes, ...).",
       {},
       {Bool("all", "Also list resolved and cleared conflicts")},
       "Only the data administrator of the node's own organisation; ID and "
       "phone numbers are masked.",
       {"unionctl conflicts"}},
      {"resolve",
       "Record how a conflict was resolved (at the hub).",
       {{"CONFLICT_ID", "Id from `unionctl conflicts`"}},
       {Value("note", "TEXT",
              "What was done (required, up to 200 "
              "characters)")},
       "The resolution is a replicated record; the warnings the conflict "
       "raised are cleared.",
       {"unionctl resolve person/0a1b... --note \"已核实，转出单位已移除\""}},
      {"freshness",
       "When each node of your subtree last delivered changes.",
       {},
       {},
       "STALE is the time since the newest change held from the node or the "
       "last message on\nits link (direct children).",
       {"unionctl freshness"}},
  };
  return *verbs;
}

const VerbSpec& Spec(absl::string_view name) {
  for (const VerbSpec& v : Verbs()) {
    if (v.name == name) return v;
  }
  // Only reached through a programming error in this file.
  static const VerbSpec* unknown = new VerbSpec{"?", "?", {}, {}, "", {}};
  return *unknown;
}

bool IsGroup(absl::string_view word) {
  for (const char* g : kGroups) {
    if (word == g) return true;
  }
  return false;
}

bool IsVerb(absl::string_view name) {
  for (const VerbSpec& v : Verbs()) {
    if (v.name == name) return true;
  }
  return false;
}

std::vector<std::string> SubVerbs(absl::string_view group) {
  std::vector<std::string> out;
  std::string prefix = absl::StrCat(group, " ");
  for (const VerbSpec& v : Verbs()) {
    if (absl::StartsWith(v.name, prefix)) {
      out.push_back(v.name.substr(prefix.size()));
    }
  }
  return out;
}

std::string ListVerbs(absl::string_view group) {
  std::vector<const VerbSpec*> specs;
  int width = 0;
  for (const VerbSpec& v : Verbs()) {
    if (group.empty() || absl::StartsWith(v.name, absl::StrCat(group, " "))) {
      specs.push_back(&v);
      width = std::max(width, DisplayWidth(v.name));
    }
  }
  std::string out;
  for (const VerbSpec* v : specs) {
    absl::StrAppend(&out, "  ", PadRight(v->name, width), "  ", v->summary,
                    "\n");
  }
  return out;
}

}  // namespace unionsync::cli
