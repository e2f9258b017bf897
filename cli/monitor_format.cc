// Text output of the monitor verbs (progress, warnings, conflicts,
// freshness). Staff read these tables: labels in Chinese.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/format.h"
#include "common/labels.h"
#include "unionsync/v1/monitor.pb.h"

namespace unionsync::cli {
namespace {

std::string Pct(double ratio) { return absl::StrFormat("%.1f%%", 100 * ratio); }

std::string OfExpected(int64_t value, int64_t expected) {
  return expected > 0 ? absl::StrCat(value, "/", expected)
                      : absl::StrCat(value, "/-");
}

std::vector<std::string> ProgressRow(const v1::Progress& p) {
  // The grassroots figure the target counts: entered (建成) unions when the
  // campaign says so, as the ratio and the status do.
  const int64_t grassroots =
      p.targets_count_entered() ? p.entered_grassroots() : p.grassroots();
  return {p.label().empty() ? p.scope() : p.label(),
          OfExpected(grassroots, p.expected_grassroots()),
          p.expected_grassroots() > 0 ? Pct(p.grassroots_ratio()) : "-",
          p.target_grassroots_today() > 0
              ? absl::StrCat(p.target_grassroots_today())
              : "-",
          OfExpected(p.members(), p.expected_members()),
          p.expected_members() > 0 ? Pct(p.members_ratio()) : "-",
          p.target_members_today() > 0 ? absl::StrCat(p.target_members_today())
                                       : "-",
          absl::StrCat(p.profile_complete()),
          absl::StrCat(p.activated()),
          absl::StrCat(p.with_members()),
          absl::StrCat(p.new_members_today(), "/", p.new_members_week()),
          p.behind() ? "落后" : "正常"};
}

}  // namespace

std::string FormatProgress(const v1::GetProgressResponse& r) {
  std::string out = absl::StrCat(r.campaign(), "  截至 ", r.as_of_date(), "\n");
  for (const v1::Milestone& m : r.milestones()) {
    absl::StrAppend(&out, "目标 ", m.date(), "：基层工会 ",
                    Pct(m.grassroots_fraction()), "，会员 ",
                    m.members() > 0 ? absl::StrCat(m.members(), " 人")
                                    : Pct(m.members_fraction()),
                    "\n");
  }
  std::vector<std::vector<std::string>> rows = {
      {"范围", "基层工会 计入/预计", "录入率", "今日目标", "会员 已录入/预计",
       "会员录入率", "会员今日目标", "资料完整", "已激活", "有会员",
       "今日/本周新增", "状态"}};
  rows.push_back(ProgressRow(r.total()));
  for (const v1::Progress& p : r.rows()) rows.push_back(ProgressRow(p));
  absl::StrAppend(&out, "\n",
                  FormatTable(rows, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  return out;
}

std::string FormatWarningLine(const v1::Warning& w) {
  return absl::StrCat(
      FormatTimeMs(w.open() ? w.raised_at_ms() : w.cleared_at_ms()), "  ",
      w.open() ? "" : "[已解除] ", SeverityName(w.severity()), "  ", w.org_id(),
      "  ", w.text(),
      w.escalated_to().empty()
          ? ""
          : absl::StrCat("（已上报 ", w.escalated_to(), "）"),
      "\n");
}

std::string FormatWarnings(const std::vector<v1::Warning>& warnings) {
  if (warnings.empty()) return "没有预警。\n";
  std::vector<std::vector<std::string>> rows = {
      {"发生时间", "程度", "组织", "状态", "已上报", "内容"}};
  for (const v1::Warning& w : warnings) {
    rows.push_back({FormatTimeMs(w.raised_at_ms()), SeverityName(w.severity()),
                    w.org_id(), w.open() ? "未解除" : "已解除",
                    w.escalated_to().empty() ? "-" : w.escalated_to(),
                    w.text()});
  }
  return FormatTable(rows);
}

std::string FormatConflicts(const v1::ListConflictsResponse& r) {
  if (r.conflicts().empty()) return "没有冲突。\n";
  std::string out;
  for (const v1::Conflict& c : r.conflicts()) {
    absl::StrAppend(&out, c.id(), "  ", ConflictKindName(c.kind()), "  ",
                    ConflictStateName(c.state()), "  发现于 ",
                    FormatTimeMs(c.detected_at_ms()), "\n  ", c.detail(), "\n");
    for (const v1::ConflictSide& s : c.sides()) {
      absl::StrAppend(&out, "  - ", s.org_id(), " (节点 ", s.node(), ")");
      if (s.has_member()) {
        absl::StrAppend(&out, " 会员 ", s.member().id(), " ", s.member().name(),
                        " ", s.member().id_number());
      } else if (s.has_org()) {
        absl::StrAppend(&out, " ", s.org().name());
      }
      absl::StrAppend(&out, "\n");
    }
    if (c.state() == v1::CONFLICT_RESOLVED) {
      absl::StrAppend(&out, "  处理：", c.resolved_by(), " ",
                      FormatTimeMs(c.resolved_at_ms()), " ",
                      c.resolution_note(), "\n");
    }
  }
  return out;
}

std::string FormatFreshness(const v1::GetSyncFreshnessResponse& r) {
  if (r.nodes().empty()) return "没有下级节点。\n";
  std::vector<std::vector<std::string>> rows = {
      {"节点", "组织", "最近变更", "最近联系", "连接", "STALE"}};
  for (const v1::NodeFreshness& n : r.nodes()) {
    rows.push_back(
        {n.node_id(), n.org_name(), FormatTimeMs(n.last_change_ms()),
         FormatTimeMs(n.last_contact_ms()), n.connected() ? "是" : "否",
         n.stale_seconds() < 0 ? "从未同步"
                               : absl::StrCat(n.stale_seconds(), "s")});
  }
  return FormatTable(rows, {5});
}

}  // namespace unionsync::cli
