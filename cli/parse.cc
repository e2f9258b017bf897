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
#include "cli/verbs.h"
#include "common/status_macros.h"
#include "unionsync/v1/admin.pb.h"
#include "unionsync/v1/monitor.pb.h"

namespace unionsync::cli {
namespace {

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
