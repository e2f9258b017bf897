#include "monitor/progress.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "monitor/campaign.h"

namespace unionsync {
namespace {

double Ratio(int64_t part, int64_t whole) {
  return whole > 0 ? static_cast<double>(part) / static_cast<double>(whole)
                   : 0.0;
}

// CSV field: quoted when it holds a comma, quote or line break.
std::string CsvField(absl::string_view v) {
  if (v.find_first_of(",\"\r\n") == absl::string_view::npos) {
    return std::string(v);
  }
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace

const v1::ChildTarget* FindChildTarget(const v1::Org& parent,
                                       absl::string_view child_id) {
  // A record from a peer is not trusted to be in order: a plain scan (a
  // parent has hundreds of children at most).
  for (const v1::ChildTarget& t : parent.child_targets()) {
    if (t.child_id() == child_id) return &t;
  }
  return nullptr;
}

absl::StatusOr<ScopeRef> ResolveScope(const Store& store,
                                      const v1::CampaignConfig& config,
                                      absl::string_view scope) {
  ScopeRef ref;
  ref.scope = std::string(scope);
  if (scope.empty() || scope == "city") {
    ref.scope = "city";
    ref.store_scope = "all";
    ref.city = true;
    auto root = store.GetOrg(store.node_id());
    ref.label = root.ok() ? root->name() : "全市";
    return ref;
  }
  if (absl::StartsWith(scope, "region:") ||
      absl::StartsWith(scope, "system:")) {
    const bool region = absl::StartsWith(scope, "region:");
    const absl::string_view value = scope.substr(7);
    if (value.empty() || value.size() > 64) {
      return absl::InvalidArgumentError(
          absl::StrCat("scope: malformed '", scope, "'"));
    }
    ref.store_scope = absl::StrCat(region ? "r:" : "y:", value);
    if (const v1::AreaTarget* a = FindArea(config, scope)) ref.area = *a;
    ref.label = ref.area.has_value() && !ref.area->label().empty()
                    ? ref.area->label()
                    : DefaultLabel(scope);
    if (ref.label.empty()) ref.label = std::string(value);
    return ref;
  }
  if (absl::StartsWith(scope, "org:")) {
    const std::string id(scope.substr(4));
    auto org = store.GetOrg(id);
    if (absl::IsNotFound(org.status())) {
      return absl::NotFoundError(absl::StrCat("no organisation '", id, "'"));
    }
    RETURN_IF_ERROR(org.status());
    ref.store_scope = absl::StrCat("t:", id);
    ref.label = org->name();
    if (org->parent_id().empty()) {
      ref.city = true;
      return ref;
    }
    // The parent's own target for it, when the parent set one (and this
    // node holds the parent: not at a node whose own organisation it is).
    auto parent = store.GetOrg(org->parent_id());
    if (parent.ok()) {
      if (const v1::ChildTarget* t = FindChildTarget(*parent, id)) {
        v1::AreaTarget& a = ref.area.emplace();
        a.set_scope(std::string(scope));
        a.set_label(org->name());
        a.set_expected_grassroots(t->expected_grassroots());
        a.set_expected_members(t->expected_members());
        ref.parent_target = true;
        return ref;
      }
    } else if (!absl::IsNotFound(parent.status())) {
      return parent.status();
    }
    const v1::AreaTarget* area = nullptr;
    if (org->tier() == 2 && !org->region().empty() &&
        (org->kind() == v1::DISTRICT_FEDERATION ||
         org->kind() == v1::DEV_ZONE_FEDERATION)) {
      area = FindArea(config, absl::StrCat("region:", org->region()));
    } else if (org->tier() == 2 && org->kind() == v1::INDUSTRY_UNION) {
      area = FindArea(config, absl::StrCat("system:", org->system()));
    }
    if (area != nullptr) ref.area = *area;
    return ref;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("scope: '", scope,
                   "' is not city, region:<code>, system:<name> or org:<id>"));
}

absl::StatusOr<std::vector<std::string>> ListAreaScopes(
    const Store& store, const v1::CampaignConfig& config, bool regions) {
  const std::string api = regions ? "region:" : "system:";
  std::vector<std::string> scopes;
  for (const v1::AreaTarget& a : config.areas()) {
    if (absl::StartsWith(a.scope(), api)) scopes.push_back(a.scope());
  }
  ASSIGN_OR_RETURN(std::vector<std::string> held,
                   store.ListScopes(regions ? "r:" : "y:"));
  for (const std::string& s : held) {
    std::string scope = absl::StrCat(api, s.substr(2));
    if (std::find(scopes.begin(), scopes.end(), scope) == scopes.end()) {
      scopes.push_back(std::move(scope));
    }
  }
  return scopes;
}

absl::StatusOr<v1::Progress> ComputeProgress(const Store& store,
                                             const v1::CampaignConfig& config,
                                             const ScopeRef& ref,
                                             absl::string_view today) {
  v1::SubtreeCounters c;
  if (absl::StartsWith(ref.store_scope, "t:")) {
    ASSIGN_OR_RETURN(c, store.GetCounters(ref.store_scope.substr(2)));
  } else {
    ASSIGN_OR_RETURN(c, store.GetScopeCounters(ref.store_scope));
  }
  v1::Progress p;
  p.set_scope(ref.scope);
  p.set_label(ref.label);
  const v1::AreaTarget* area = ref.city ? nullptr : ref.area_or_null();
  if (ref.city) {
    p.set_expected_grassroots(config.expected_grassroots());
    p.set_expected_members(config.expected_members());
  } else if (area != nullptr) {
    p.set_expected_grassroots(area->expected_grassroots());
    p.set_expected_members(area->expected_members());
  }
  p.set_orgs(c.orgs());
  p.set_grassroots(c.grassroots_orgs());
  p.set_profile_complete(c.profile_complete());
  p.set_activated(c.activated_orgs());
  p.set_with_members(c.orgs_with_members());
  p.set_entered_grassroots(c.grassroots_entered());
  // What the grassroots target is about: registered unions, or (the notice's
  // meaning) unions counted as entered.
  const bool entered_only = config.entered().targets_count_entered();
  p.set_targets_count_entered(entered_only);
  const int64_t counted =
      entered_only ? p.entered_grassroots() : p.grassroots();
  p.set_members(c.members());
  const int64_t today_n = DayNumber(today);
  ASSIGN_OR_RETURN(auto days, store.ReadDays(ref.store_scope,
                                             DayString(today_n - 6), today));
  for (const auto& [day, d] : days) {
    p.set_new_grassroots_week(p.new_grassroots_week() + d.grassroots_new());
    p.set_new_members_week(p.new_members_week() + d.members_new());
    if (day == today) {
      p.set_new_grassroots_today(d.grassroots_new());
      p.set_new_members_today(d.members_new());
    }
  }
  if (ref.city || area != nullptr) {
    const Target t = TargetOn(config, area, today);
    p.set_target_grassroots_today(t.grassroots);
    p.set_target_members_today(t.members);
  }
  p.set_grassroots_ratio(Ratio(counted, p.expected_grassroots()));
  p.set_members_ratio(Ratio(p.members(), p.expected_members()));
  const double tolerance = config.rules().behind_tolerance();
  const bool behind_g =
      p.target_grassroots_today() > 0 &&
      counted < p.target_grassroots_today() -
                    tolerance * static_cast<double>(p.expected_grassroots());
  const bool behind_m =
      p.target_members_today() > 0 &&
      p.members() < p.target_members_today() -
                        tolerance * static_cast<double>(p.expected_members());
  p.set_behind(behind_g || behind_m);
  return p;
}

absl::StatusOr<std::vector<v1::TimePoint>> ComputeSeries(
    const Store& store, const v1::CampaignConfig& config, const ScopeRef& ref,
    absl::string_view from, absl::string_view to) {
  const int64_t from_n = DayNumber(from);
  const int64_t to_n = DayNumber(to);
  if (from_n == 0 || to_n == 0 || to_n < from_n) {
    return absl::InvalidArgumentError(
        absl::StrCat("from_date / to_date: need two dates in order, got '",
                     from, "' and '", to, "'"));
  }
  if (to_n - from_n > 3660) {
    return absl::InvalidArgumentError("a time series spans at most 10 years");
  }
  ASSIGN_OR_RETURN(auto days, store.ReadDays(ref.store_scope, "", to));
  const v1::AreaTarget* area = ref.city ? nullptr : ref.area_or_null();
  std::vector<v1::TimePoint> out;
  int64_t g = 0, m = 0;
  size_t i = 0;
  // Everything before `from` is the starting level.
  for (; i < days.size() && DayNumber(days[i].first) < from_n; ++i) {
    g += days[i].second.grassroots_net();
    m += days[i].second.members_net();
  }
  for (int64_t d = from_n; d <= to_n; ++d) {
    const std::string day = DayString(d);
    v1::TimePoint tp;
    tp.set_date(day);
    if (i < days.size() && days[i].first == day) {
      g += days[i].second.grassroots_net();
      m += days[i].second.members_net();
      tp.set_new_grassroots(days[i].second.grassroots_new());
      tp.set_new_members(days[i].second.members_new());
      ++i;
    }
    tp.set_grassroots(g);
    tp.set_members(m);
    if (ref.city || area != nullptr) {
      const Target t = TargetOn(config, area, day);
      tp.set_target_grassroots(t.grassroots);
      tp.set_target_members(t.members);
    }
    out.push_back(std::move(tp));
  }
  return out;
}

std::string ProgressCsv(const v1::GetProgressResponse& report) {
  std::string out = "\xEF\xBB\xBF";  // BOM
  absl::StrAppend(&out,
                  "范围,名称,预计基层工会数,已登记基层工会数,完成率,今日目标,"
                  "资料完整,已激活,有会员的组织,预计会员数,已录入会员数,"
                  "会员录入率,今日会员目标,今日新增组织,今日新增会员,"
                  "本周新增组织,本周新增会员,是否落后,未处理预警,"
                  "已建成基层工会数\r\n");
  auto row = [&](const v1::Progress& p) {
    absl::StrAppend(
        &out, CsvField(p.scope()), ",", CsvField(p.label()), ",",
        p.expected_grassroots(), ",", p.grassroots(), ",",
        absl::StrFormat("%.1f%%", 100 * p.grassroots_ratio()), ",",
        p.target_grassroots_today(), ",", p.profile_complete(), ",",
        p.activated(), ",", p.with_members(), ",", p.expected_members(), ",",
        p.members(), ",", absl::StrFormat("%.1f%%", 100 * p.members_ratio()),
        ",", p.target_members_today(), ",", p.new_grassroots_today(), ",",
        p.new_members_today(), ",", p.new_grassroots_week(), ",",
        p.new_members_week(), ",", p.behind() ? "是" : "否", ",",
        p.open_warnings(), ",", p.entered_grassroots(), "\r\n");
  };
  row(report.total());
  for (const v1::Progress& p : report.rows()) row(p);
  return out;
}

}  // namespace unionsync
