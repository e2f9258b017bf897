#include "cli/parse.h"

#include <cmath>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "cli/args.h"
#include "cli/audit_cmd.h"
#include "cli/backup_cmd.h"
#include "cli/enums.h"
#include "cli/export_cmd.h"
#include "cli/ingest_cmd.h"
#include "common/status_macros.h"
#include "unionsync/v1/admin.pb.h"
#include "unionsync/v1/monitor.pb.h"

namespace unionsync::cli {
namespace {

constexpr char kGroups[][8] = {"org",   "account", "member", "import",
                               "audit", "export",  "backup"};
constexpr int kMaxPageSize = 1000;

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

struct ProfileField {
  const char* flag;  // Command-line flag (also accepted by --clear).
  const char* path;  // Field path sent in clear_fields.
  const char* value_name;
  const char* help;
};

constexpr ProfileField kProfileFields[] = {
    {"credit-code", "credit_code", "CODE",
     "Unified social credit code, 18 characters (统一社会信用代码)"},
    {"chair-name", "chair.name", "NAME", "Union chair (工会主席)"},
    {"chair-phone", "chair.phone", "NUMBER", "Union chair's mobile phone"},
    {"admin-name", "data_admin.name", "NAME",
     "Data administrator (信息管理员)"},
    {"admin-phone", "data_admin.phone", "NUMBER",
     "Data administrator's mobile phone"},
    {"admin-trained", "data_admin.trained_date", "YYYY-MM-DD",
     "Day the data administrator was trained"},
    {"contact-name", "contact.name", "NAME", "Contact person (联系人)"},
    {"contact-phone", "contact.phone", "NUMBER",
     "Contact person's mobile phone"},
    {"employees", "employee_count", "N", "Number of employees (职工人数)"},
    {"founded", "founding_date", "YYYY-MM-DD", "Founding date (成立日期)"},
    {"address", "address", "TEXT", "Address (地址)"},
};

// Whole sub-messages that --clear also accepts.
constexpr std::pair<const char*, const char*> kProfileGroups[] = {
    {"chair", "chair"},
    {"admin", "data_admin"},
    {"data_admin", "data_admin"},
    {"contact", "contact"},
};

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
       "Without --password-stdin the password is prompted for on the terminal "
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
       "case, upper case,\ndigits, symbols. Without --password-stdin both are "
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
       {"unionctl org create --parent furong --name 芙蓉区五里牌街道工会联合会 "
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
       "the name of a\nfield flag below without the dashes (e.g. chair-phone), "
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
       "  资料完整      profile complete: organisations whose profile is 100% "
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
       "organisation, a text for the\nclerk, and 已上报 when it was escalated "
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

absl::StatusOr<int32_t> ParseNumber(absl::string_view flag,
                                    absl::string_view value, int32_t min,
                                    int32_t max) {
  int64_t n = 0;
  if (!absl::SimpleAtoi(value, &n) || n < min || n > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad number for --", flag, ": \"", value, "\" (expected ",
                     min, "..", max, ")"));
  }
  return static_cast<int32_t>(n);
}

absl::Status CheckDate(absl::string_view flag, absl::string_view value) {
  if (!IsCivilDate(value)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bad date for --", flag, ": \"", value, "\" (expected YYYY-MM-DD)"));
  }
  return absl::OkStatus();
}

absl::Status CheckNotEmpty(absl::string_view flag, absl::string_view value) {
  if (value.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("flag --", flag, " must not be empty"));
  }
  return absl::OkStatus();
}

// Page size, page token and --all, shared by the list verbs.
template <typename Req>
absl::Status ApplyPaging(const ParsedArgs& a, Req* req, Paging* paging) {
  if (a.Has("page-size")) {
    ASSIGN_OR_RETURN(int32_t n, ParseNumber("page-size", a.Get("page-size"), 1,
                                            kMaxPageSize));
    req->set_page_size(n);
  }
  req->set_page_token(a.Get("page-token"));
  paging->all = a.Has("all");
  return absl::OkStatus();
}

// Sets one member field from its flag. Empty values clear optional fields.
absl::Status SetMemberField(absl::string_view flag, const std::string& value,
                            v1::Member* m) {
  if (flag == "org") {
    m->set_org_id(value);
  } else if (flag == "name") {
    RETURN_IF_ERROR(CheckNotEmpty(flag, value));
    m->set_name(value);
  } else if (flag == "id-number") {
    RETURN_IF_ERROR(CheckNotEmpty(flag, value));
    // GB 11643 writes the check character as upper-case X.
    m->set_id_number(absl::AsciiStrToUpper(absl::StripAsciiWhitespace(value)));
  } else if (flag == "gender") {
    ASSIGN_OR_RETURN(v1::Gender g, ParseGender(value));
    m->set_gender(g);
  } else if (flag == "ethnicity") {
    m->set_ethnicity(value);
  } else if (flag == "phone") {
    m->set_phone(value);
  } else if (flag == "education") {
    ASSIGN_OR_RETURN(v1::Education e, ParseEducation(value));
    m->set_education(e);
  } else if (flag == "workplace") {
    m->set_workplace(value);
  } else if (flag == "join-date") {
    if (!value.empty()) RETURN_IF_ERROR(CheckDate(flag, value));
    m->set_join_date(value);
  } else if (flag == "card") {
    m->set_card_number(value);
  } else if (flag == "migrant") {
    m->set_migrant_worker(true);
  } else if (flag == "no-migrant") {
    m->set_migrant_worker(false);
  } else if (flag == "dues") {
    ASSIGN_OR_RETURN(v1::DuesStatus d, ParseDuesStatus(value));
    m->set_dues_status(d);
  } else {
    return absl::InternalError(absl::StrCat("no member field for --", flag));
  }
  return absl::OkStatus();
}

// The (flag, value) pairs of the member flags given, in declaration order.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> MemberEdits(
    const VerbSpec& spec, const ParsedArgs& a) {
  if (a.Has("migrant") && a.Has("no-migrant")) {
    return absl::InvalidArgumentError(
        "--migrant and --no-migrant contradict each other");
  }
  std::vector<std::pair<std::string, std::string>> edits;
  v1::Member scratch;
  for (const FlagSpec& f : spec.flags) {
    if (!a.Has(f.name)) continue;
    std::string value = a.Get(f.name);
    RETURN_IF_ERROR(SetMemberField(f.name, value, &scratch));
    edits.emplace_back(f.name, std::move(value));
  }
  return edits;
}

absl::StatusOr<ParsedArgs> ParseFor(absl::string_view verb,
                                    const std::vector<std::string>& args) {
  return ParseVerbArgs(Spec(verb), args);
}

}  // namespace

bool IsCivilDate(absl::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  int y = 0, m = 0, d = 0;
  if (!absl::SimpleAtoi(s.substr(0, 4), &y) ||
      !absl::SimpleAtoi(s.substr(5, 2), &m) ||
      !absl::SimpleAtoi(s.substr(8, 2), &d)) {
    return false;
  }
  if (y < 1900 || m < 1 || m > 12 || d < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  int max_day = kDays[m - 1] + (m == 2 && leap ? 1 : 0);
  return d <= max_day;
}

std::vector<std::string> VerbNames() {
  std::vector<std::string> out;
  for (const VerbSpec& v : Verbs()) out.push_back(v.name);
  return out;
}

std::string HelpText(absl::string_view verb) {
  if (IsVerb(verb)) return VerbUsage(Spec(verb));
  if (IsGroup(verb)) {
    return absl::StrCat("Usage: unionctl [global options] ", verb,
                        " VERB [arguments] [options]\n\nVerbs:\n",
                        ListVerbs(verb), "\nRun `unionctl ", verb,
                        " VERB --help` for the arguments and an example.\n");
  }
  return absl::StrCat(
      "unionctl: command line of the unionsync Admin API "
      "(工会组织和会员实名制数据库).\n\n"
      "Usage: unionctl [global options] VERB [arguments] [options]\n\n"
      "Global options (before the verb):\n"
      "  --server HOST:PORT  Node to call (default: $UNIONSYNC_SERVER, else "
      "the server of the\n"
      "                      session, else ",
      kDefaultServer,
      ")\n"
      "  --session FILE      Session file (default: $UNIONSYNC_SESSION, else\n"
      "                      $HOME/.unionsync/session)\n"
      "  --ca FILE           CA certificate the node's TLS certificate is "
      "checked\n"
      "                      against (default: $UNIONSYNC_CA, else the "
      "session's)\n"
      "  --insecure_plaintext  Plaintext to a development node on loopback\n"
      "  --json              Machine-readable output: one JSON object per "
      "response;\n"
      "                      errors as {\"error\":{\"code\",\"message\"}} on "
      "stderr\n"
      "  --timeout SECONDS   Deadline of every call (default 10)\n"
      "  -h, --help          Show this help\n\n"
      "Verbs:\n",
      ListVerbs(""),
      "\nRun `unionctl VERB --help` (e.g. `unionctl org create --help`) for "
      "the arguments\nand an example of each verb.\n\n"
      "Exit status: 0 done; 1 the call failed (error: CODE: message); 2 bad "
      "command line.\n");
}

absl::StatusOr<CommandLine> ParseCommandLine(
    const std::vector<std::string>& argv, const Environment& env) {
  CommandLine cl;
  GlobalOptions& g = cl.global;
  if (!env.server.empty()) {
    g.server = env.server;
    g.server_explicit = true;
  }
  if (!env.ca.empty()) {
    g.ca = env.ca;
    g.ca_explicit = true;
  }
  g.insecure_plaintext = env.insecure_plaintext;
  if (!env.session.empty()) {
    g.session_path = env.session;
  } else if (!env.home.empty()) {
    g.session_path = absl::StrCat(env.home, "/.unionsync/session");
  }

  size_t i = 0;
  for (; i < argv.size(); ++i) {
    const std::string& word = argv[i];
    if (word == "--") {
      ++i;
      break;
    }
    if (word.empty() || word[0] != '-') break;
    if (word == "-h" || word == "--help") {
      cl.help = true;
      continue;
    }
    if (word == "--json") {
      g.json = true;
      continue;
    }
    if (word == "--insecure_plaintext") {
      g.insecure_plaintext = true;
      continue;
    }
    std::string name = word.substr(0, word.find('='));
    if (name != "--server" && name != "--session" && name != "--timeout" &&
        name != "--ca") {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown global option ", name, " (run `unionctl --help`)"));
    }
    std::string value;
    if (word.find('=') != std::string::npos) {
      value = word.substr(word.find('=') + 1);
    } else if (i + 1 < argv.size() && !absl::StartsWith(argv[i + 1], "--")) {
      value = argv[++i];
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("global option ", name, " needs a value"));
    }
    if (value.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("global option ", name, " must not be empty"));
    }
    if (name == "--server") {
      g.server = value;
      g.server_explicit = true;
    } else if (name == "--session") {
      g.session_path = value;
    } else if (name == "--ca") {
      g.ca = value;
      g.ca_explicit = true;
    } else {
      double t = 0;
      if (!absl::SimpleAtod(value, &t) || !std::isfinite(t) || t <= 0 ||
          t > 86400) {
        return absl::InvalidArgumentError(
            absl::StrCat("bad number for --timeout: \"", value,
                         "\" (expected seconds, more than 0)"));
      }
      g.timeout_seconds = t;
    }
  }

  if (i >= argv.size()) {
    if (cl.help) return cl;
    return absl::InvalidArgumentError(
        "missing verb (run `unionctl --help` for the list)");
  }
  std::string word = argv[i++];
  if (word == "help") {
    std::vector<std::string> rest(argv.begin() + i, argv.end());
    cl.verb = absl::StrJoin(rest, " ");
    cl.help = true;
    if (!cl.verb.empty() && !IsVerb(cl.verb) && !IsGroup(cl.verb)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown verb \"", cl.verb, "\" (run `unionctl --help`)"));
    }
    return cl;
  }
  if (IsGroup(word)) {
    if (i >= argv.size() || argv[i] == "--help" || argv[i] == "-h") {
      if (i >= argv.size() && !cl.help) {
        return absl::InvalidArgumentError(
            absl::StrCat("missing verb after `unionctl ", word, "`: one of ",
                         absl::StrJoin(SubVerbs(word), ", ")));
      }
      cl.verb = word;
      cl.help = true;
      return cl;
    }
    std::string verb = absl::StrCat(word, " ", argv[i++]);
    if (!IsVerb(verb)) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown verb `", verb, "`: `unionctl ", word,
                       "` takes one of ", absl::StrJoin(SubVerbs(word), ", ")));
    }
    cl.verb = std::move(verb);
  } else if (IsVerb(word)) {
    cl.verb = word;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown verb \"", word, "\" (run `unionctl --help` for the list)"));
  }
  cl.args.assign(argv.begin() + i, argv.end());
  cl.help = cl.help || WantsHelp(cl.args);
  return cl;
}

absl::StatusOr<LoginArgs> ParseLogin(const std::vector<std::string>& args) {
  ASSIGN_OR_RETURN(ParsedArgs a, ParseFor("login", args));
  LoginArgs out;
  out.username = a.Positional(0);
  out.password_stdin = a.Has("password-stdin");
  return out;
}

absl::Status ParseLogout(const std::vector<std::string>& args) {
  return ParseFor("logout", args).status();
}

absl::StatusOr<PasswdArgs> ParsePasswd(const std::vector<std::string>& args) {
  ASSIGN_OR_RETURN(ParsedArgs a, ParseFor("passwd", args));
  PasswdArgs out;
  out.password_stdin = a.Has("password-stdin");
  return out;
}

absl::Status ParseWhoAmI(const std::vector<std::string>& args) {
  return ParseFor("whoami", args).status();
}

absl::Status ParseOrgCreate(const std::vector<std::string>& args,
                            v1::CreateChildOrgRequest* req) {
  ASSIGN_OR_RETURN(ParsedArgs a, ParseFor("org create", args));
  for (const char* flag : {"parent", "name", "admin"}) {
    RETURN_IF_ERROR(CheckNotEmpty(flag, a.Get(flag)));
  }
  ASSIGN_OR_RETURN(v1::OrgKind kind, ParseOrgKind(a.Get("kind")));
  std::string region = a.Get("region");
  if (!region.empty() &&
      (region.size() != 6 ||
       !std::all_of(region.begin(), region.end(), [](char c) {
         return absl::ascii_isdigit(static_cast<unsigned char>(c));
       }))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bad region \"", region,
        "\": expected a 6-digit administrative division code such as "
        "430102"));
  }
  req->Clear();
  req->set_parent_id(a.Get("parent"));
  v1::Org* org = req->mutable_org();
  org->set_id(a.Get("id"));
  org->set_name(a.Get("name"));
  org->set_kind(kind);
  org->set_region(region);
  org->set_system(a.Get("system"));
  req->set_admin_username(a.Get("admin"));
  req->set_admin_display_name(a.Get("admin-name"));
  return absl::OkStatus();
}

absl::Status ParseOrgGet(const std::vector<std::string>& args,
                         v1::GetOrgRequest* req) {
  ASSIGN_OR_RETURN(ParsedArgs a, ParseFor("org get", args));
  req->Clear();
  req->set_org_id(a.Positional(0));
  return absl::OkStatus();
}

absl::Status ParseOrgChildren(const std::vector<std::string>& args,
                              v1::ListChildOrgsRequest* req, Paging* paging) {
  ASSIGN_OR_RETURN(ParsedArgs a, ParseFor("org children", args));
  req->Clear();
  req->set_parent_id(a.Positional(0));
  return ApplyPaging(a, req, paging);
}

absl::Status ParseOrgUpdate(const std::vector<std::string>& args,
                            v1::UpdateOrgProfileRequest* req) {
  ASSIGN_OR_RETURN(ParsedArgs a, ParseFor("org update", args));
  req->Clear();
  req->set_org_id(a.Positional(0));
  v1::Org* p = req->mutable_profile();
  std::vector<std::string> set_paths;
  for (const ProfileField& f : kProfileFields) {
    if (!a.Has(f.flag)) continue;
    std::string flag = f.flag;
    std::string value = a.Get(flag);
    if (value.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "flag --", flag, " is empty; to clear the field use --clear ", flag));
    }
    set_paths.push_back(f.path);
    if (flag == "credit-code") {
      p->set_credit_code(absl::AsciiStrToUpper(value));
    } else if (flag == "chair-name") {
      p->mutable_chair()->set_name(value);
    } else if (flag == "chair-phone") {
      p->mutable_chair()->set_phone(value);
    } else if (flag == "admin-name") {
      p->mutable_data_admin()->set_name(value);
    } else if (flag == "admin-phone") {
      p->mutable_data_admin()->set_phone(value);
    } else if (flag == "admin-trained") {
      RETURN_IF_ERROR(CheckDate(flag, value));
      p->mutable_data_admin()->set_trained_date(value);
    } else if (flag == "contact-name") {
      p->mutable_contact()->set_name(value);
    } else if (flag == "contact-phone") {
      p->mutable_contact()->set_phone(value);
    } else if (flag == "employees") {
      // 0 cannot be told from "unset" in proto3; --clear employees clears.
      ASSIGN_OR_RETURN(int32_t n, ParseNumber(flag, value, 1, 100000000));
      p->set_employee_count(n);
    } else if (flag == "founded") {
      RETURN_IF_ERROR(CheckDate(flag, value));
      p->set_founding_date(value);
    } else if (flag == "address") {
      p->set_address(value);
    }
  }
  std::set<std::string> cleared;
  for (const std::string& raw : a.GetAll("clear")) {
    std::string name = absl::AsciiStrToLower(raw);
    std::string path;
    for (const ProfileField& f : kProfileFields) {
      if (name == f.flag || name == f.path) path = f.path;
    }
    for (const auto& [group, group_path] : kProfileGroups) {
      if (name == group) path = group_path;
    }
    if (path.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad field for --clear: \"", raw, "\": expected one of ",
                       ClearFieldNames()));
    }
    for (const std::string& set : set_paths) {
      if (set == path || absl::StartsWith(set, absl::StrCat(path, "."))) {
        return absl::InvalidArgumentError(
            absl::StrCat("field ", raw, " is both set and cleared"));
      }
    }
    if (cleared.insert(path).second) req->add_clear_fields(path);
  }
  if (set_paths.empty() && cleared.empty()) {
    return absl::InvalidArgumentError(
        "nothing to update: give at least one field flag or --clear FIELD "
        "(see `unionctl org update --help`)");
  }
  return absl::OkStatus();
}

absl::Status ParseAccountCreate(const std::vector<std::string>& args,
                                v1::CreateAccountRequest* req) {
  ASSIGN_OR_RETURN(ParsedArgs a, ParseFor("account create", args));
  RETURN_IF_ERROR(CheckNotEmpty("org", a.Get("org")));
  RETURN_IF_ERROR(CheckNotEmpty("user", a.Get("user")));
  ASSIGN_OR_RETURN(v1::Role role, ParseRole(a.Get("role")));
  req->Clear();
  req->set_org_id(a.Get("org"));
  req->set_username(a.Get("user"));
  req->set_role(role);
  req->set_display_name(a.Get("name"));
  return absl::OkStatus();
}

absl::Status ParseAccountList(const std::vector<std::string>& args,
                              v1::ListAccountsRequest* req) {
  ASSIGN_OR_RETURN(ParsedArgs a, ParseFor("account list", args));
  req->Clear();
  req->set_org_id(a.Positional(0));
  return absl::OkStatus();
}

absl::Status ParseAccountDisable(const std::vector<std::string>& args,
                                 v1::DisableAccountRequest* req) {
  ASSIGN_OR_RETURN(ParsedArgs a, ParseFor("account disable", args));
  req->Clear();
  req->set_username(a.Positional(0));
  req->set_reason(a.Get("reason"));
  return absl::OkStatus();
}

absl::Status ParseAccountEnable(const std::vector<std::string>& args,
                                v1::EnableAccountRequest* req) {
  ASSIGN_OR_RETURN(ParsedArgs a, ParseFor("account enable", args));
  req->Clear();
  req->set_username(a.Positional(0));
  return absl::OkStatus();
}

absl::Status ParseAccountReset(const std::vector<std::string>& args,
                               v1::ResetPasswordRequest* req) {
  ASSIGN_OR_RETURN(ParsedArgs a, ParseFor("account reset", args));
  req->Clear();
  req->set_username(a.Positional(0));
  return absl::OkStatus();
}

absl::Status ParseMemberAdd(const std::vector<std::string>& args,
                            v1::AddMemberRequest* req) {
  const VerbSpec& spec = Spec("member add");
  ASSIGN_OR_RETURN(ParsedArgs a, ParseVerbArgs(spec, args));
  ASSIGN_OR_RETURN(auto edits, MemberEdits(spec, a));
  req->Clear();
  for (const auto& [flag, value] : edits) {
    RETURN_IF_ERROR(SetMemberField(flag, value, req->mutable_member()));
  }
  return absl::OkStatus();
}

absl::StatusOr<MemberUpdate> ParseMemberUpdate(
    const std::vector<std::string>& args) {
  const VerbSpec& spec = Spec("member update");
  ASSIGN_OR_RETURN(ParsedArgs a, ParseVerbArgs(spec, args));
  MemberUpdate out;
  out.member_id = a.Positional(0);
  ASSIGN_OR_RETURN(out.edits, MemberEdits(spec, a));
  if (out.edits.empty()) {
    return absl::InvalidArgumentError(
        "nothing to update: give at least one field flag (see `unionctl "
        "member update --help`)");
  }
  return out;
}

absl::Status ApplyMemberUpdate(const MemberUpdate& update, v1::Member* member) {
  for (const auto& [flag, value] : update.edits) {
    RETURN_IF_ERROR(SetMemberField(flag, value, member));
  }
  return absl::OkStatus();
}

absl::Status ParseMemberTransfer(const std::vector<std::string>& args,
                                 v1::TransferMemberRequest* req) {
  ASSIGN_OR_RETURN(ParsedArgs a, ParseFor("member transfer", args));
  RETURN_IF_ERROR(CheckNotEmpty("to", a.Get("to")));
  req->Clear();
  req->set_member_id(a.Positional(0));
  req->set_to_org_id(a.Get("to"));
  return absl::OkStatus();
}

absl::Status ParseMemberRemove(const std::vector<std::string>& args,
                               v1::RemoveMemberRequest* req) {
  ASSIGN_OR_RETURN(ParsedArgs a, ParseFor("member remove", args));
  req->Clear();
  req->set_member_id(a.Positional(0));
  req->set_reason(a.Get("reason"));
  return absl::OkStatus();
}

absl::Status ParseMemberGet(const std::vector<std::string>& args,
                            v1::GetMemberRequest* req) {
  ASSIGN_OR_RETURN(ParsedArgs a, ParseFor("member get", args));
  const bool by_id = !a.positional().empty();
  const bool by_number = a.Has("id-number");
  if (by_id == by_number) {
    return absl::InvalidArgumentError(
        "give exactly one of MEMBER_ID and --id-number");
  }
  req->Clear();
  if (by_id) {
    req->set_member_id(a.Positional(0));
  } else {
    RETURN_IF_ERROR(CheckNotEmpty("id-number", a.Get("id-number")));
    req->set_id_number(
        absl::AsciiStrToUpper(absl::StripAsciiWhitespace(a.Get("id-number"))));
  }
  return absl::OkStatus();
}

absl::Status ParseMemberList(const std::vector<std::string>& args,
                             v1::ListMembersRequest* req, Paging* paging) {
  ASSIGN_OR_RETURN(ParsedArgs a, ParseFor("member list", args));
  req->Clear();
  req->set_org_id(a.Positional(0));
  req->set_name_prefix(a.Get("name-prefix"));
  req->set_migrant_only(a.Has("migrant-only"));
  req->set_include_removed(a.Has("include-removed"));
  if (a.Has("dues")) {
    ASSIGN_OR_RETURN(v1::DuesStatus d, ParseDuesStatus(a.Get("dues")));
    req->set_dues_status(d);
  }
  return ApplyPaging(a, req, paging);
}

absl::Status ParseSummary(const std::vector<std::string>& args,
                          v1::GetSubtreeSummaryRequest* req) {
  ASSIGN_OR_RETURN(ParsedArgs a, ParseFor("summary", args));
  req->Clear();
  req->set_org_id(a.Positional(0));
  return absl::OkStatus();
}

absl::Status ParseLinks(const std::vector<std::string>& args,
                        v1::GetReplicationStatusRequest* req) {
  RETURN_IF_ERROR(ParseFor("links", args).status());
  req->Clear();
  return absl::OkStatus();
}

absl::Status ParseResync(const std::vector<std::string>& args,
                         v1::ForceResyncRequest* req) {
  ASSIGN_OR_RETURN(ParsedArgs a, ParseFor("resync", args));
  req->Clear();
  req->set_child_id(a.Positional(0));
  return absl::OkStatus();
}

absl::Status ParseProgress(const std::vector<std::string>& args,
                           v1::GetProgressRequest* req, std::string* csv) {
  ASSIGN_OR_RETURN(ParsedArgs a, ParseFor("progress", args));
  req->Clear();
  const std::string view = a.Get("view");
  if (!view.empty() && view != "city" && view != "regions" &&
      view != "systems" && view != "children") {
    return absl::InvalidArgumentError(
        "--view: one of city, regions, systems, children");
  }
  req->set_view(view);
  req->set_org_id(a.Get("org"));
  *csv = a.Get("csv");
  return absl::OkStatus();
}

absl::StatusOr<WarningsArgs> ParseWarnings(
    const std::vector<std::string>& args) {
  ASSIGN_OR_RETURN(ParsedArgs a, ParseFor("warnings", args));
  WarningsArgs out;
  out.org_id = a.Get("org");
  out.all = a.Has("all");
  out.watch = a.Has("watch");
  if (a.Has("max")) {
    if (!out.watch) return absl::InvalidArgumentError("--max needs --watch");
    if (!absl::SimpleAtoi(a.Get("max"), &out.max) || out.max < 1) {
      return absl::InvalidArgumentError("--max: a positive number");
    }
  }
  return out;
}

absl::Status ParseConflicts(const std::vector<std::string>& args,
                            v1::ListConflictsRequest* req) {
  ASSIGN_OR_RETURN(ParsedArgs a, ParseFor("conflicts", args));
  req->Clear();
  req->set_include_closed(a.Has("all"));
  req->set_page_size(1000);
  return absl::OkStatus();
}

absl::Status ParseResolve(const std::vector<std::string>& args,
                          v1::ResolveConflictRequest* req) {
  ASSIGN_OR_RETURN(ParsedArgs a, ParseFor("resolve", args));
  req->Clear();
  req->set_conflict_id(a.Positional(0));
  if (!a.Has("note") || a.Get("note").empty()) {
    return absl::InvalidArgumentError("--note: say what was done");
  }
  req->set_note(a.Get("note"));
  return absl::OkStatus();
}

absl::Status ParseFreshness(const std::vector<std::string>& args) {
  return ParseFor("freshness", args).status();
}

}  // namespace unionsync::cli
