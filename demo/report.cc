// The demo's report: the text tables, the node table and the JSON form.
#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/crypto.h"
#include "common/org_rules.h"
#include "common/password_policy.h"
#include "common/status_macros.h"
#include "demo/driver.h"
#include "grpcpp/grpcpp.h"
#include "synth/synth.h"
#include "unionsync/v1/admin.grpc.pb.h"

namespace unionsync {
namespace {

// The first `bytes` bytes of a digest, in hex.
std::string DigestHex(const std::string& digest, size_t bytes) {
  return absl::BytesToHexString(
      absl::string_view(digest).substr(0, std::min(bytes, digest.size())));
}

// Counters of the city's own organisation: the city's subtree minus the
// subtrees of its children (which are disjoint).
v1::SubtreeCounters OwnCounters(const DemoReport& r) {
  v1::SubtreeCounters own = r.city.counters;
  for (const SummaryRow& u : r.units) {
    own.set_orgs(own.orgs() - u.counters.orgs());
    own.set_grassroots_orgs(own.grassroots_orgs() -
                            u.counters.grassroots_orgs());
    own.set_profile_complete(own.profile_complete() -
                             u.counters.profile_complete());
    own.set_activated_orgs(own.activated_orgs() - u.counters.activated_orgs());
    own.set_members(own.members() - u.counters.members());
    own.set_migrant_members(own.migrant_members() -
                            u.counters.migrant_members());
  }
  return own;
}

std::string Pad(absl::string_view s, int width, bool right) {
  const int pad = std::max(0, width - DisplayWidth(s));
  return right ? absl::StrCat(std::string(pad, ' '), s)
               : absl::StrCat(s, std::string(pad, ' '));
}

std::string Percent(int64_t part, int64_t whole) {
  if (whole == 0) return "—";
  return absl::StrFormat("%.1f%%", 100.0 * part / whole);
}

void AppendJsonString(std::string* out, absl::string_view s) {
  out->push_back('"');
  for (char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(out, "\\u%04x", static_cast<int>(c));
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

std::string JsonRow(const SummaryRow& row) {
  std::string out = "{\"org_id\": ";
  AppendJsonString(&out, row.org_id);
  out.append(", \"name\": ");
  AppendJsonString(&out, row.name);
  out.append(", \"kind\": ");
  AppendJsonString(&out, OrgKindCode(row.kind));
  const v1::SubtreeCounters& c = row.counters;
  absl::StrAppend(&out, ", \"direct_children\": ", row.direct_children,
                  ", \"orgs\": ", c.orgs(),
                  ", \"grassroots_orgs\": ", c.grassroots_orgs(),
                  ", \"profile_complete\": ", c.profile_complete(),
                  ", \"activated_orgs\": ", c.activated_orgs(),
                  ", \"members\": ", c.members(),
                  ", \"migrant_members\": ", c.migrant_members(),
                  ", \"accounts\": ", c.accounts(), "}");
  return out;
}

// A table: the first row is the header, then a rule, then the rest; column 0
// left-aligned, the others right-aligned unless `left` says so.
std::string RenderTable(const std::vector<std::vector<std::string>>& table,
                        const std::vector<bool>& left) {
  std::vector<int> widths(table[0].size(), 0);
  for (const auto& row : table) {
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], DisplayWidth(row[i]));
    }
  }
  int total_width = 2 * (static_cast<int>(widths.size()) - 1);
  for (int w : widths) total_width += w;
  std::string out;
  for (size_t r = 0; r < table.size(); ++r) {
    const std::vector<std::string>& row = table[r];
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) line.append("  ");
      const bool is_left = i == 0 || (i < left.size() && left[i]);
      line.append(Pad(row[i], i + 1 == row.size() && is_left ? 0 : widths[i],
                      !is_left));
    }
    absl::StrAppend(&out, line, "\n");
    if (r == 0) absl::StrAppend(&out, std::string(total_width, '-'), "\n");
  }
  return out;
}

std::string StateLabel(const std::string& state) {
  if (state == "idle") return "空闲";
  if (state == "handshaking") return "握手中";
  if (state == "streaming") return "传输中";
  if (state == "closed") return "已断开";
  return state;
}

std::string Ago(int64_t then_ms, int64_t now_ms) {
  if (then_ms <= 0) return "—";
  return absl::StrFormat("%.1f 秒前",
                         std::max<int64_t>(0, now_ms - then_ms) / 1000.0);
}

// The digest comparison is run by the child end of each link: the parent end
// reports "unknown".
std::string DigestLabel(const v1::LinkStatus& l, int64_t now_ms) {
  const std::string& d = l.digest();
  if (d == "unknown" && l.direction() == "child") return "—（由下级核对）";
  std::string label = d == "unknown"     ? "未核对"
                      : d == "checking"  ? "核对中"
                      : d == "agree"     ? "一致"
                      : d == "differ"    ? "不一致"
                      : d == "repairing" ? "修复中"
                                         : d;
  if (l.last_agree_ms() > 0) {
    absl::StrAppendFormat(&label, d == "agree" ? "（%s）" : "（上次一致 %s）",
                          Ago(l.last_agree_ms(), now_ms));
  }
  return label;
}

std::string JsonNode(const NodeRow& n) {
  std::string out = "{\"node_id\": ";
  AppendJsonString(&out, n.node_id);
  out.append(", \"name\": ");
  AppendJsonString(&out, n.name);
  absl::StrAppend(&out, ", \"tier\": ", n.tier, ", \"parent_node\": ");
  AppendJsonString(&out, n.parent_node);
  const v1::SubtreeCounters& c = n.counters;
  absl::StrAppend(&out, ", \"orgs\": ", c.orgs(),
                  ", \"grassroots_orgs\": ", c.grassroots_orgs(),
                  ", \"members\": ", c.members(), ", \"digest\": \"",
                  DigestHex(c.digest(), c.digest().size()), "\"");
  if (!n.parent_node.empty()) {
    absl::StrAppend(&out, ", \"parent_agrees\": ",
                    c.SerializeAsString() == n.at_parent.SerializeAsString()
                        ? "true"
                        : "false");
  }
  out.append(", \"links\": [");
  for (int i = 0; i < n.replication.links_size(); ++i) {
    const v1::LinkStatus& l = n.replication.links(i);
    if (i > 0) out.append(", ");
    out.append("{\"peer\": ");
    AppendJsonString(&out, l.peer());
    out.append(", \"direction\": ");
    AppendJsonString(&out, l.direction());
    out.append(", \"state\": ");
    AppendJsonString(&out, l.state());
    absl::StrAppend(&out, ", \"lag_positions\": ", l.lag_positions(),
                    ", \"lag_seconds\": ", l.lag_seconds(),
                    ", \"last_ack_ms\": ", l.last_ack_ms(), ", \"digest\": ");
    AppendJsonString(&out, l.digest());
    out.append("}");
  }
  out.append("]}");
  return out;
}

}  // namespace

int DisplayWidth(absl::string_view s) {
  int width = 0;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    uint32_t cp = c;
    size_t len = 1;
    if (c >= 0xF0 && c < 0xF8) {
      len = 4;
      cp = c & 0x07;
    } else if (c >= 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xC0) {
      len = 2;
      cp = c & 0x1F;
    }
    if (len > 1 && i + len <= s.size()) {
      for (size_t k = 1; k < len; ++k) {
        cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
      }
    } else {
      len = 1;  // Stray or truncated byte: one column.
      cp = c;
    }
    const bool wide =
        (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
        (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
        (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
        (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x20000 && cp <= 0x3FFFD);
    width += wide ? 2 : 1;
    i += len;
  }
  return width;
}

std::string FormatReport(const DemoReport& r) {
  const char* kHeaders[] = {"单位",   "组织数", "基层工会", "资料完整",
                            "已激活", "会员数", "农民工"};
  struct Line {
    std::string name;
    v1::SubtreeCounters c;
  };
  std::vector<Line> lines;
  for (const SummaryRow& u : r.units) lines.push_back({u.name, u.counters});
  lines.push_back({absl::StrCat(r.city.name, "（本级）"), OwnCounters(r)});
  const Line total{absl::StrCat("合计（", r.city.name, "）"), r.city.counters};

  auto cells = [](const Line& l) {
    return std::vector<std::string>{l.name,
                                    absl::StrCat(l.c.orgs()),
                                    absl::StrCat(l.c.grassroots_orgs()),
                                    absl::StrCat(l.c.profile_complete()),
                                    absl::StrCat(l.c.activated_orgs()),
                                    absl::StrCat(l.c.members()),
                                    absl::StrCat(l.c.migrant_members())};
  };
  std::vector<std::vector<std::string>> table;
  table.emplace_back(std::begin(kHeaders), std::end(kHeaders));
  for (const Line& l : lines) table.push_back(cells(l));
  table.push_back(cells(total));
  std::vector<int> widths(table[0].size(), 0);
  for (const auto& row : table) {
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], DisplayWidth(row[i]));
    }
  }
  int total_width = 0;
  for (int w : widths) total_width += w;
  total_width += 2 * (static_cast<int>(widths.size()) - 1);

  std::string out = absl::StrCat(r.city.name, " 工会组织与会员数据汇总\n");
  auto emit = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) out.append("  ");
      out.append(Pad(row[i], widths[i], /*right=*/i > 0));
    }
    out.push_back('\n');
  };
  const std::string rule(total_width, '-');
  emit(table[0]);
  absl::StrAppend(&out, rule, "\n");
  for (size_t i = 1; i + 1 < table.size(); ++i) emit(table[i]);
  absl::StrAppend(&out, rule, "\n");
  emit(table.back());

  const v1::SubtreeCounters& c = r.city.counters;
  absl::StrAppendFormat(&out, "资料完整率 %s，激活率 %s，农民工占会员 %s\n",
                        Percent(c.profile_complete(), c.orgs()),
                        Percent(c.activated_orgs(), c.orgs()),
                        Percent(c.migrant_members(), c.members()));
  absl::StrAppendFormat(
      &out,
      "本次新建组织 %d 个（基层工会 %d 个），未激活 %d 个，资料未完整 %d 个；"
      "新增会员 %d 人，身份证号重复跳过 %d 人，跨节点重复录入 %d "
      "人（由市总核对）\n",
      r.orgs_created, r.grassroots_created, r.orgs_never_activated,
      r.orgs_left_incomplete, r.members_added, r.duplicate_members,
      r.cross_node_duplicates);
  absl::StrAppendFormat(&out, "耗时 %.1f 秒，共调用 RPC %d 次\n",
                        absl::ToDoubleSeconds(r.elapsed), r.rpcs);
  return out;
}

std::string FormatNodes(const DemoReport& r) {
  if (r.nodes.empty()) return "";
  std::string out = absl::StrFormat(
      "节点与复制：%d 个节点（双向 TLS），最后一次写入后 %.1f 秒枢纽收齐\n",
      r.nodes.size(), absl::ToDoubleSeconds(r.replication_wait));
  std::vector<std::vector<std::string>> nodes = {
      {"节点", "组织数", "基层工会", "会员数", "摘要", "上级节点核对"}};
  for (const NodeRow& n : r.nodes) {
    const v1::SubtreeCounters& c = n.counters;
    std::string check = "—（枢纽）";
    if (!n.parent_node.empty()) {
      check = c.SerializeAsString() == n.at_parent.SerializeAsString()
                  ? absl::StrCat(n.parent_node, " 所见相同")
                  : absl::StrCat(n.parent_node, " 所见不同");
    }
    nodes.push_back({absl::StrCat(std::string(2 * (n.tier - 1), ' '), n.node_id,
                                  " ", n.name),
                     absl::StrCat(c.orgs()), absl::StrCat(c.grassroots_orgs()),
                     absl::StrCat(c.members()), DigestHex(c.digest(), 4),
                     check});
  }
  out.append(RenderTable(nodes, {true, false, false, false, true, true}));

  out.append("\n复制链路（各节点 GetReplicationStatus）\n");
  std::vector<std::vector<std::string>> links = {
      {"节点", "对端", "方向", "状态", "滞后", "最近确认", "摘要核对"}};
  for (const NodeRow& n : r.nodes) {
    for (const v1::LinkStatus& l : n.replication.links()) {
      links.push_back(
          {n.node_id, l.peer(), l.direction() == "parent" ? "上级" : "下级",
           StateLabel(l.state()),
           absl::StrFormat("%d 条 / %d 秒", l.lag_positions(), l.lag_seconds()),
           Ago(l.last_ack_ms(), n.read_at_ms), DigestLabel(l, n.read_at_ms)});
    }
  }
  out.append(RenderTable(links, {true, true, true, true, false, false, true}));
  out.append("\n");
  return out;
}

std::string FormatReportJson(const DemoReport& r) {
  std::string out = "{\n  \"city\": ";
  absl::StrAppend(&out, JsonRow(r.city), ",\n  \"units\": [");
  for (size_t i = 0; i < r.units.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "\n    " : ",\n    ", JsonRow(r.units[i]));
  }
  absl::StrAppend(&out, r.units.empty() ? "],\n" : "\n  ],\n");
  out.append("  \"nodes\": [");
  for (size_t i = 0; i < r.nodes.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "\n    " : ",\n    ", JsonNode(r.nodes[i]));
  }
  absl::StrAppend(&out, r.nodes.empty() ? "],\n" : "\n  ],\n");
  absl::StrAppendFormat(
      &out,
      "  \"run\": {\"orgs_created\": %d, \"grassroots_created\": %d, "
      "\"orgs_never_activated\": %d, \"orgs_left_incomplete\": %d, "
      "\"members_added\": %d, \"duplicate_members\": %d, \"rpcs\": %d, "
      "\"elapsed_seconds\": %.3f, \"replication_wait_seconds\": %.3f}\n}\n",
      r.orgs_created, r.grassroots_created, r.orgs_never_activated,
      r.orgs_left_incomplete, r.members_added, r.duplicate_members, r.rpcs,
      absl::ToDoubleSeconds(r.elapsed),
      absl::ToDoubleSeconds(r.replication_wait));
  return out;
}

}  // namespace unionsync
