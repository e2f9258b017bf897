#include "cli/format.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <ctime>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/args.h"
#include "cli/enums.h"
#include "common/mask.h"
#include "unionsync/v1/admin.pb.h"

namespace unionsync::cli {
namespace {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

// "key:   value" lines with the values aligned; empty values print as "-".
std::string FormatKeyValues(const KeyValues& rows) {
  int width = 0;
  for (const auto& [key, value] : rows) {
    width = std::max(width, DisplayWidth(key) + 1);
  }
  std::string out;
  for (const auto& [key, value] : rows) {
    absl::StrAppend(&out, PadRight(absl::StrCat(key, ":"), width), "  ",
                    value.empty() ? "-" : value, "\n");
  }
  return out;
}

// "name (中文)", or just one of them when the other is empty.
std::string WithChinese(absl::string_view name, absl::string_view chinese) {
  if (chinese.empty()) return std::string(name);
  return absl::StrCat(name, " (", chinese, ")");
}

std::string FormatContact(const v1::Contact& c) {
  std::vector<std::string> parts;
  if (!c.name().empty()) parts.push_back(c.name());
  if (!c.phone().empty()) parts.push_back(c.phone());
  if (!c.trained_date().empty()) {
    parts.push_back(absl::StrCat("(trained ", c.trained_date(), ")"));
  }
  return absl::StrJoin(parts, " ");
}

std::string Percent(int64_t part, int64_t whole) {
  if (whole <= 0) return "";
  return absl::StrFormat(
      "%.1f%%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
}

std::string Plural(size_t n, absl::string_view one, absl::string_view many) {
  return absl::StrCat(n, " ", n == 1 ? one : many, "\n");
}

std::string YesNo(bool b) { return b ? "yes (是)" : "no (否)"; }

}  // namespace

std::string JsonQuote(absl::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out += ch;
        }
    }
  }
  out += "\"";
  return out;
}

std::string FormatJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string out;
  auto status =
      google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!status.ok()) {
    return FormatErrorJson(absl::InternalError(absl::StrCat(
        "cannot print the response as JSON: ", status.ToString())));
  }
  return out + "\n";
}

std::string FormatErrorJson(const absl::Status& status) {
  return absl::StrCat("{\"error\":{\"code\":",
                      JsonQuote(absl::StatusCodeToString(status.code())),
                      ",\"message\":", JsonQuote(status.message()), "}}\n");
}

std::string FormatError(const absl::Status& status, bool with_code) {
  if (with_code) {
    return absl::StrCat("error: ", absl::StatusCodeToString(status.code()),
                        ": ", status.message(), "\n");
  }
  return absl::StrCat("error: ", status.message(), "\n");
}

std::string FormatTable(const std::vector<std::vector<std::string>>& rows,
                        const std::vector<int>& right) {
  std::vector<int> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t c = 0; c < row.size(); ++c) {
      widths[c] = std::max(widths[c], DisplayWidth(row[c]));
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      const bool is_right = std::find(right.begin(), right.end(),
                                      static_cast<int>(c)) != right.end();
      if (c > 0) line += "  ";
      line +=
          is_right ? PadLeft(row[c], widths[c]) : PadRight(row[c], widths[c]);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

std::string FormatTimeMs(int64_t ms) {
  if (ms == 0) return "-";
  std::time_t seconds =
      static_cast<std::time_t>(ms / 1000 - (ms % 1000 < 0 ? 1 : 0)) + 8 * 3600;
  std::tm tm{};
  if (gmtime_r(&seconds, &tm) == nullptr) return absl::StrCat(ms, " ms");
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string FormatLogin(const v1::LoginResponse& response,
                        absl::string_view username, absl::string_view server) {
  std::string out = FormatKeyValues({
      {"logged in as", std::string(username)},
      {"organisation", response.org_id()},
      {"role",
       WithChinese(RoleName(response.role()), RoleChinese(response.role()))},
      {"server", std::string(server)},
      {"session expires", FormatTimeMs(response.expires_at_ms())},
      {"must change password", response.must_change_password() ? "yes" : "no"},
  });
  if (response.must_change_password()) {
    absl::StrAppend(&out,
                    "\nYour password is an initial or reset password: change "
                    "it now with `unionctl passwd`.\nUntil then the session "
                    "can only change the password or log out.\n");
  }
  return out;
}

std::string FormatWhoAmI(const v1::WhoAmIResponse& response,
                         absl::string_view server) {
  return FormatKeyValues({
      {"username", response.username()},
      {"organisation", response.org_id()},
      {"role",
       WithChinese(RoleName(response.role()), RoleChinese(response.role()))},
      {"node", response.node_id()},
      {"server", std::string(server)},
      {"session expires", FormatTimeMs(response.expires_at_ms())},
      {"must change password",
       response.must_change_password() ? "yes: run `unionctl passwd`" : "no"},
  });
}

std::string FormatOrg(const v1::Org& org) {
  return FormatKeyValues({
      {"id", org.id()},
      {"name", org.name()},
      {"kind",
       WithChinese(OrgKindName(org.kind()), OrgKindChinese(org.kind()))},
      {"tier", org.tier() == 0 ? "" : absl::StrCat(org.tier())},
      {"parent", org.parent_id()},
      {"region", org.region()},
      {"system", org.system()},
      {"status", OrgStatusLabel(org.status())},
      {"credit code", org.credit_code()},
      {"chair", FormatContact(org.chair())},
      {"data administrator", FormatContact(org.data_admin())},
      {"contact", FormatContact(org.contact())},
      {"employees",
       org.employee_count() == 0 ? "" : absl::StrCat(org.employee_count())},
      {"founded", org.founding_date()},
      {"address", org.address()},
      {"profile complete", absl::StrCat(org.profile_completeness(), "%")},
      {"host node", org.host_node()},
      {"created", FormatTimeMs(org.created_at_ms())},
      {"updated", FormatTimeMs(org.updated_at_ms())},
  });
}

std::string FormatOrgTable(const std::vector<v1::Org>& orgs) {
  if (orgs.empty()) return "no organisations\n";
  std::vector<std::vector<std::string>> rows = {
      {"ID", "KIND", "TIER", "STATUS", "PROFILE", "NAME"}};
  for (const v1::Org& o : orgs) {
    std::string kind = OrgKindChinese(o.kind());
    rows.push_back({o.id(), kind.empty() ? OrgKindName(o.kind()) : kind,
                    absl::StrCat(o.tier()),
                    o.status() == v1::ORG_DISSOLVED ? "dissolved" : "active",
                    absl::StrCat(o.profile_completeness(), "%"), o.name()});
  }
  return absl::StrCat(FormatTable(rows, {2, 4}),
                      Plural(orgs.size(), "organisation", "organisations"));
}

std::string FormatCreatedOrg(const v1::CreateChildOrgResponse& response) {
  const v1::Org& org = response.org();
  return absl::StrCat(
      FormatKeyValues({
          {"created organisation", org.id()},
          {"name", org.name()},
          {"kind",
           WithChinese(OrgKindName(org.kind()), OrgKindChinese(org.kind()))},
          {"parent", org.parent_id()},
          {"data administrator", response.admin_username()},
          {"initial password", response.initial_password()},
      }),
      "\nWARNING: the initial password is shown only this once and cannot be "
      "shown again.\nHand it to the data administrator securely; it must be "
      "changed at the first login.\n");
}

std::string FormatAccount(const v1::Account& account) {
  return FormatKeyValues({
      {"username", account.username()},
      {"organisation", account.org_id()},
      {"role",
       WithChinese(RoleName(account.role()), RoleChinese(account.role()))},
      {"state", CredentialStateLabel(account.state())},
      {"display name", account.display_name()},
      {"updated", FormatTimeMs(account.updated_at_ms())},
  });
}

std::string FormatAccountTable(const std::vector<v1::Account>& accounts) {
  if (accounts.empty()) return "no accounts\n";
  std::vector<std::vector<std::string>> rows = {
      {"USERNAME", "ROLE", "STATE", "UPDATED", "DISPLAY NAME"}};
  for (const v1::Account& a : accounts) {
    rows.push_back({a.username(), RoleName(a.role()),
                    CredentialStateLabel(a.state()),
                    FormatTimeMs(a.updated_at_ms()), a.display_name()});
  }
  return absl::StrCat(FormatTable(rows),
                      Plural(accounts.size(), "account", "accounts"));
}

std::string FormatIssuedPassword(const v1::Account& account,
                                 absl::string_view initial_password) {
  return absl::StrCat(
      FormatAccount(account),
      FormatKeyValues({{"initial password", std::string(initial_password)}}),
      "\nWARNING: the initial password is shown only this once and cannot be "
      "shown again.\nHand it over securely; it must be changed at the first "
      "login.\n");
}

std::string FormatMember(const v1::Member& m) {
  return FormatKeyValues({
      {"id", m.id()},
      {"organisation", m.org_id()},
      {"name", m.name()},
      {"gender",
       WithChinese(GenderName(m.gender()), GenderChinese(m.gender()))},
      {"id number", m.id_number()},
      {"ethnicity", m.ethnicity()},
      {"phone", m.phone()},
      {"education", m.education() == v1::EDUCATION_UNSPECIFIED
                        ? ""
                        : WithChinese(EducationName(m.education()),
                                      EducationChinese(m.education()))},
      {"workplace", m.workplace()},
      {"joined", m.join_date()},
      {"card number", m.card_number()},
      {"migrant worker", YesNo(m.migrant_worker())},
      {"dues", m.dues_status() == v1::DUES_STATUS_UNSPECIFIED
                   ? ""
                   : WithChinese(DuesStatusName(m.dues_status()),
                                 DuesStatusChinese(m.dues_status()))},
      {"status", MemberStatusLabel(m.status())},
      {"created", FormatTimeMs(m.created_at_ms())},
      {"updated", FormatTimeMs(m.updated_at_ms())},
  });
}

std::string FormatMemberTable(const std::vector<v1::Member>& members) {
  if (members.empty()) return "no members\n";
  std::vector<std::vector<std::string>> rows = {
      {"ID", "NAME", "GENDER", "ID NUMBER", "DUES", "MIGRANT", "STATUS"}};
  for (const v1::Member& m : members) {
    std::string dues = DuesStatusChinese(m.dues_status());
    rows.push_back({m.id(), m.name(), GenderChinese(m.gender()),
                    MaskIdNumber(m.id_number()), dues.empty() ? "-" : dues,
                    m.migrant_worker() ? "是" : "否",
                    m.status() == v1::MEMBER_REMOVED ? "已移除" : "在册"});
  }
  return absl::StrCat(FormatTable(rows),
                      Plural(members.size(), "member", "members"));
}

std::string FormatSummary(const v1::GetSubtreeSummaryResponse& response) {
  const v1::SubtreeCounters& c = response.counters();
  const v1::Org& org = response.org();
  std::vector<std::vector<std::string>> rows = {
      {"组织数", absl::StrCat(c.orgs()), ""},
      {"基层工会数", absl::StrCat(c.grassroots_orgs()), ""},
      {"资料完整", absl::StrCat(c.profile_complete()),
       Percent(c.profile_complete(), c.orgs())},
      {"已激活", absl::StrCat(c.activated_orgs()),
       Percent(c.activated_orgs(), c.orgs())},
      {"会员数", absl::StrCat(c.members()), ""},
      {"农民工会员", absl::StrCat(c.migrant_members()),
       Percent(c.migrant_members(), c.members())},
      {"账号数", absl::StrCat(c.accounts()), ""},
      {"直属下级组织", absl::StrCat(response.direct_children()), ""},
  };
  std::string title = org.name().empty()
                          ? org.id()
                          : absl::StrCat(org.name(), " (", org.id(), ")");
  return absl::StrCat(title, " 及下属组织汇总\n", FormatTable(rows, {1, 2}));
}

std::string FormatDuration(int64_t seconds) {
  if (seconds < 0) seconds = 0;
  if (seconds < 60) return absl::StrCat(seconds, "s");
  if (seconds < 3600) {
    return absl::StrFormat("%dm%02ds", seconds / 60, seconds % 60);
  }
  if (seconds < 86400) {
    return absl::StrFormat("%dh%02dm", seconds / 3600, seconds % 3600 / 60);
  }
  return absl::StrFormat("%dd%02dh", seconds / 86400, seconds % 86400 / 3600);
}

namespace {

// "12s ago", or "-" for a time that never happened (0).
std::string Ago(int64_t ms, int64_t now_ms) {
  if (ms == 0) return "-";
  return absl::StrCat(FormatDuration((now_ms - ms) / 1000), " ago");
}

// 上级 (the parent: this node's uplink) or 下级 (a child node).
std::string DirectionLabel(absl::string_view direction) {
  if (direction == "parent") return "上级";
  if (direction == "child") return "下级";
  return direction.empty() ? "-" : std::string(direction);
}

}  // namespace

std::string FormatLinks(const v1::GetReplicationStatusResponse& r,
                        int64_t now_ms) {
  std::string out = FormatKeyValues({
      {"node", r.node_id()},
      {"incarnation", r.incarnation()},
      {"log end", absl::StrCat(r.log_end())},
      {"refused streams", absl::StrCat(r.refused_streams())},
  });
  if (r.links().empty()) {
    absl::StrAppend(&out,
                    "\nno replication links: this node has no parent and no "
                    "child node has connected\n");
    return out;
  }
  std::vector<std::vector<std::string>> rows = {
      {"PEER", "DIR", "STATE", "LAG POS", "LAG", "LAST ACK", "INFLIGHT",
       "APPLIED/DUP/REJ", "DIGEST", "LAST AGREE", "REPAIRS", "SESSIONS"}};
  std::vector<std::string> rejecting, differing;
  std::string alarms;
  for (const v1::LinkStatus& l : r.links()) {
    const bool lagging = l.lag_positions() > 0 || l.inflight_batches() > 0;
    rows.push_back({
        l.peer(),
        DirectionLabel(l.direction()),
        l.state(),
        absl::StrCat(l.lag_positions()),
        lagging ? FormatDuration(l.lag_seconds()) : "0s",
        Ago(l.last_ack_ms(), now_ms),
        absl::StrCat(l.inflight_batches()),
        absl::StrCat(l.applied_changes(), "/", l.duplicate_changes(), "/",
                     l.rejected_changes()),
        l.digest(),
        Ago(l.last_agree_ms(), now_ms),
        absl::StrCat(l.repairs()),
        absl::StrCat(l.sessions()),
    });
    if (l.rejected_changes() > 0) rejecting.push_back(l.peer());
    if (l.audit_alarms() > 0) {
      absl::StrAppend(&alarms, "ALARM: ", l.peer(),
                      ": its audit log went back or was ", "rewritten (",
                      l.audit_alarms(), " time(s), last ",
                      Ago(l.audit_alarm_ms(), now_ms), "): ", l.audit_alarm(),
                      "; check it with `unionctl audit verify` at that node\n");
    }
    if (l.digest() == "differ" || l.digest() == "repairing") {
      differing.push_back(l.peer());
    }
  }
  absl::StrAppend(&out, "\n", FormatTable(rows, {3, 4, 6, 7, 10, 11}));
  absl::StrAppend(&out, alarms);
  if (!rejecting.empty()) {
    absl::StrAppend(&out, "note: ", absl::StrJoin(rejecting, ", "),
                    ": changes rejected as outside the peer's scope (each one "
                    "is audited: ReplicationReject)\n");
  }
  if (!differing.empty()) {
    absl::StrAppend(&out, "note: ", absl::StrJoin(differing, ", "),
                    ": digests differ; a repair runs on its own (`unionctl "
                    "resync CHILD_ID` resends a child's log)\n");
  }
  return out;
}

std::string FormatMorePages(absl::string_view next_page_token) {
  return absl::StrCat("more results: rerun with --all, or with --page-token ",
                      next_page_token, "\n");
}

}  // namespace unionsync::cli
