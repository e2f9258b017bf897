#include "monitor/evaluator.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <optional>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "common/org_rules.h"
#include "common/status_macros.h"
#include "monitor/campaign.h"
#include "monitor/progress.h"
#include "monitor/records.h"

namespace unionsync {
namespace {

// A rule warning about one organisation (or node) `org`, keyed
// "rule/<rule>/<org>", into `desired`.
void AddRule(absl::btree_map<std::string, WarningSpec>* desired,
             absl::string_view rule, const std::string& org,
             v1::WarningKind kind, v1::Severity severity, std::string text) {
  WarningSpec spec;
  spec.id = absl::StrCat("rule/", rule, "/", org);
  spec.kind = kind;
  spec.severity = severity;
  spec.org_id = org;
  spec.subject = org;
  spec.text = std::move(text);
  (*desired)[spec.id] = std::move(spec);
}

// A BEHIND_TARGET warning about `scope` at `org`, keyed
// "rule/behind/<scope>/<org>": serious when more than twice the tolerance
// behind.
void AddBehind(absl::btree_map<std::string, WarningSpec>* desired,
               const std::string& scope, const std::string& org,
               const v1::Progress& p, const v1::WarningRules& rules,
               absl::string_view lead, absl::string_view ask) {
  auto gap = [](int64_t target, int64_t have, int64_t expected) {
    return expected > 0 ? static_cast<double>(target - have) / expected : 0.0;
  };
  const int64_t counted =
      p.targets_count_entered() ? p.entered_grassroots() : p.grassroots();
  const double worst = std::max(
      gap(p.target_grassroots_today(), counted, p.expected_grassroots()),
      gap(p.target_members_today(), p.members(), p.expected_members()));
  WarningSpec spec;
  spec.id = absl::StrCat("rule/behind/", scope, "/", org);
  spec.kind = v1::BEHIND_TARGET;
  spec.severity = worst > 2 * rules.behind_tolerance() ? v1::SEVERITY_SERIOUS
                                                       : v1::SEVERITY_WARNING;
  spec.org_id = org;
  spec.subject = scope;
  const std::string have =
      p.targets_count_entered()
          ? absl::StrCat("基层工会已建成", p.entered_grassroots(), "个（已登记",
                         p.grassroots(), "个）")
          : absl::StrCat("基层工会已录入", p.grassroots(), "个");
  spec.text =
      absl::StrCat(p.label(), lead, have, "，按计划截至今日应达到",
                   p.target_grassroots_today(), "个（预计共",
                   p.expected_grassroots(), "个）；会员已录入", p.members(),
                   "人，按计划应达到", p.target_members_today(), "人。", ask);
  (*desired)[spec.id] = std::move(spec);
}

constexpr char kAuthor[] = "system:warnings";
constexpr int64_t kDayMs = 24 * 3600 * 1000LL;
constexpr int64_t kHourMs = 3600 * 1000LL;

bool IsRuleWarning(const v1::Warning& w) {
  return absl::StartsWith(w.id(), "rule/");
}

}  // namespace

WarningEvaluator::WarningEvaluator(Store* store, const Clock* clock,
                                   EvaluatorOptions options)
    : store_(store), clock_(clock), options_(std::move(options)) {}

WarningEvaluator::~WarningEvaluator() { Stop(); }

void WarningEvaluator::Start() {
  listener_ = store_->AddCommitListener([this] {
    absl::MutexLock lock(&wake_mu_);
    wake_ = true;
  });
  thread_ = std::thread([this] { Run(); });
}

void WarningEvaluator::Stop() {
  if (listener_ != 0) {
    store_->RemoveCommitListener(listener_);
    listener_ = 0;
  }
  {
    absl::MutexLock lock(&wake_mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void WarningEvaluator::Run() {
  const absl::Duration period =
      absl::Seconds(options_.campaign.rules().evaluate_every_seconds());
  absl::Time next = absl::Now();
  for (;;) {
    {
      absl::MutexLock lock(&wake_mu_);
      auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(wake_mu_) {
        return stop_;
      };
      // At most one evaluation per 2 s after commits; one per period anyway.
      wake_mu_.AwaitWithDeadline(
          absl::Condition(&stopping),
          std::min(next, absl::Now() + absl::Seconds(2)));
      if (stop_) return;
      if (!wake_ && absl::Now() < next) continue;
      wake_ = false;
    }
    next = absl::Now() + period;
    auto written = Evaluate();
    if (!written.ok()) {
      LogError("warnings", absl::StrCat("evaluation failed: ",
                                        written.status().ToString()));
    }
  }
}

int64_t WarningEvaluator::evaluations() const {
  absl::MutexLock lock(&mu_);
  return evaluations_;
}

absl::StatusOr<int> WarningEvaluator::Evaluate() {
  absl::MutexLock lock(&mu_);
  ++evaluations_;
  const v1::CampaignConfig& campaign = options_.campaign;
  const v1::WarningRules& rules = campaign.rules();
  const int64_t now = clock_->NowMs();
  const std::string today = Store::DayOf(now);
  const std::string root = store_->node_id();

  absl::btree_map<std::string, WarningSpec> desired;

  // Organisations, their progress and hosts.
  std::vector<v1::Org> orgs;
  absl::flat_hash_map<std::string, size_t> index;
  for (std::string after;;) {
    ASSIGN_OR_RETURN(std::vector<v1::Org> batch, store_->ScanOrgs(after, 4096));
    for (v1::Org& o : batch) {
      after = o.id();
      index[o.id()] = orgs.size();
      orgs.push_back(std::move(o));
    }
    if (batch.size() < 4096) break;
  }
  auto name_of = [&](const std::string& id) -> std::string {
    auto it = index.find(id);
    return it == index.end() ? id : orgs[it->second].name();
  };

  // 1. Behind the trajectory: the city, regions and systems.
  std::vector<std::string> scopes = {"city"};
  for (const v1::AreaTarget& a : campaign.areas()) scopes.push_back(a.scope());
  for (const auto& [prefix, api] :
       {std::pair<const char*, const char*>{"r:", "region:"},
        {"y:", "system:"}}) {
    ASSIGN_OR_RETURN(std::vector<std::string> held, store_->ListScopes(prefix));
    for (const std::string& s : held) {
      std::string scope = absl::StrCat(api, s.substr(2));
      if (std::find(scopes.begin(), scopes.end(), scope) == scopes.end()) {
        scopes.push_back(std::move(scope));
      }
    }
  }
  absl::flat_hash_set<std::string> behind_scopes;
  for (const std::string& scope : scopes) {
    ASSIGN_OR_RETURN(ScopeRef ref, ResolveScope(*store_, campaign, scope));
    ASSIGN_OR_RETURN(v1::Progress p,
                     ComputeProgress(*store_, campaign, ref, today));
    if (!p.behind()) continue;
    behind_scopes.insert(scope);
    // Who answers for the scope.
    std::vector<std::string> warned;
    if (absl::StartsWith(scope, "region:") ||
        absl::StartsWith(scope, "system:")) {
      const bool region = absl::StartsWith(scope, "region:");
      const std::string value = scope.substr(7);
      for (const v1::Org& o : orgs) {
        if (o.tier() != 2 || o.status() != v1::ORG_ACTIVE) continue;
        if (region && o.region() == value &&
            (o.kind() == v1::DISTRICT_FEDERATION ||
             o.kind() == v1::DEV_ZONE_FEDERATION)) {
          warned.push_back(o.id());
        } else if (!region && o.system() == value &&
                   o.kind() == v1::INDUSTRY_UNION) {
          warned.push_back(o.id());
        }
      }
    }
    // The root answers for the city and for areas without an organisation
    // (once it is registered).
    if (warned.empty() && index.contains(root)) warned.push_back(root);
    for (const std::string& org : warned) {
      AddBehind(&desired, scope, org, p, rules, "录入进度落后于计划：",
                "请督促下级工会加快采集录入。");
    }
  }

  // 1b. Behind the targets parents set for their children (SetChildTarget),
  // at every tier: the child is warned, and the warning escalates to the
  // parent like any other.
  for (const v1::Org& parent : orgs) {
    for (const v1::ChildTarget& t : parent.child_targets()) {
      auto it = index.find(t.child_id());
      if (it == index.end()) continue;
      const v1::Org& child = orgs[it->second];
      if (child.parent_id() != parent.id() ||
          child.status() != v1::ORG_ACTIVE) {
        continue;
      }
      const std::string scope = absl::StrCat("org:", child.id());
      ASSIGN_OR_RETURN(ScopeRef ref, ResolveScope(*store_, campaign, scope));
      ASSIGN_OR_RETURN(v1::Progress p,
                       ComputeProgress(*store_, campaign, ref, today));
      if (!p.behind()) continue;
      AddBehind(
          &desired, scope, child.id(), p, rules,
          absl::StrCat("录入进度落后于「", parent.name(), "」设定的目标："),
          child.tier() < 4 && !IsGrassroots(child.kind())
              ? "请督促下级工会加快采集录入。"
              : "请加快会员采集录入。");
    }
  }

  // 2. Organisations: initial passwords and entries.
  for (const v1::Org& o : orgs) {
    if (o.status() != v1::ORG_ACTIVE || o.id() == root ||
        o.created_at_ms() <= 0) {
      continue;
    }
    const int64_t age_days = (now - o.created_at_ms()) / kDayMs;
    ASSIGN_OR_RETURN(v1::OrgProgress p, store_->GetOrgProgress(o.id()));
    if (!p.activated() && age_days >= rules.initial_password_days()) {
      AddRule(&desired, "password", o.id(), v1::INITIAL_PASSWORD_UNCHANGED,
              v1::SEVERITY_WARNING,
              absl::StrCat("「", o.name(), "」的账号和初始密码已下发", age_days,
                           "天，信息管理员仍未修改初始密码。请尽快登录并修改"
                           "密码，妥善保管。"));
    }
    // R6: the parent trains the administrator and records it (for a child
    // running its own node too: the record goes down to it).
    if (o.trainings_size() == 0 && age_days >= rules.training_days()) {
      AddRule(
          &desired, "training", o.id(), v1::ADMIN_NOT_TRAINED,
          v1::SEVERITY_NOTICE,
          absl::StrCat(
              "「", o.name(), "」登记已", age_days,
              "天，上级工会尚未登记对其信息管理员的培训。请上级工会组织培训，"
              "并在“下级组织”中登记培训情况。"));
    }
    // R3: the organisation completes its own profile.
    if (o.profile_completeness() < 100 && age_days >= rules.profile_days()) {
      AddRule(
          &desired, "profile", o.id(), v1::PROFILE_INCOMPLETE,
          v1::SEVERITY_NOTICE,
          absl::StrCat("「", o.name(), "」登记已", age_days,
                       "天，组织资料仍不完整（完整度", o.profile_completeness(),
                       "%）。请信息管理员在“本单位信息”中补全信用代码、"
                       "负责人、职工人数等资料。"));
    }
    // A union that has entered its members and stopped is not idle unless
    // its region, system or the city is behind the trajectory; one with no
    // member at all is.
    const bool area_behind =
        behind_scopes.contains("city") ||
        (!o.region().empty() &&
         behind_scopes.contains(absl::StrCat("region:", o.region()))) ||
        (!o.system().empty() &&
         behind_scopes.contains(absl::StrCat("system:", o.system())));
    if (IsGrassroots(o.kind()) && age_days >= rules.no_entry_days() &&
        (p.own_members() == 0 || area_behind)) {
      const int64_t idle_days =
          p.last_entry_ms() > 0 ? (now - p.last_entry_ms()) / kDayMs : age_days;
      if (idle_days >= rules.no_entry_days()) {
        AddRule(
            &desired, "idle", o.id(), v1::NO_NEW_ENTRIES, v1::SEVERITY_NOTICE,
            p.last_entry_ms() > 0
                ? absl::StrCat("「", o.name(), "」已", idle_days,
                               "天没有录入或更新会员信息，请按要求做好会员采集"
                               "录入。")
                : absl::StrCat("「", o.name(), "」登记已", age_days,
                               "天，仍未录入任何会员，请按要求采集录入。"));
      }
    }
  }

  // 3. Nodes: the newest change held from each, or the last time it was
  // heard from (heartbeats).
  const bool node_rules = now >= options_.node_rules_from_ms;
  absl::flat_hash_map<std::string, int64_t> last_seen;
  ASSIGN_OR_RETURN(auto origins, store_->OriginTimes());
  for (const auto& [origin, ms] : origins) last_seen[origin] = ms;
  if (options_.link_status) {
    // Heartbeats: direct children's links, and what they relay of the nodes
    // below them, so an idle node is not taken for a silent one.
    std::map<std::string, int64_t> heard;
    for (const repl::LinkStats& s : options_.link_status()) {
      repl::AddSeenBelow(s, &heard);
    }
    for (const auto& [node, ms] : heard) {
      int64_t& seen = last_seen[node];
      seen = std::max(seen, ms);
    }
  }
  absl::flat_hash_map<std::string, int64_t> nodes;  // node -> registered at
  for (const v1::Org& o : orgs) {
    if (o.host_node().empty() || o.host_node() == root ||
        o.status() != v1::ORG_ACTIVE) {
      continue;
    }
    if (o.id() == o.host_node()) nodes[o.host_node()] = o.created_at_ms();
  }
  for (const auto& [node, registered] : nodes) {
    if (!node_rules) break;
    const int64_t seen = std::max(last_seen[node], registered);
    const int64_t hours = (now - seen) / kHourMs;
    if (hours < rules.node_sync_hours()) continue;
    AddRule(&desired, "sync", node, v1::NODE_NOT_SYNCED,
            hours >= 3 * rules.node_sync_hours() ? v1::SEVERITY_SERIOUS
                                                 : v1::SEVERITY_WARNING,
            absl::StrCat("「", name_of(node), "」的节点已", hours,
                         "小时没有向上级同步数据，请检查服务器和网络是否正常"
                         "运行。"));
  }

  // A rule warning keeps its text while it stays open at one severity (no
  // write per evaluation while counts move), so the text says plainly when
  // its figures were taken; the progress pages show the current ones.
  const std::string taken =
      absl::StrCat("（统计时间：",
                   absl::FormatTime("%Y-%m-%d %H:%M", absl::FromUnixMillis(now),
                                    absl::FixedTimeZone(8 * 3600)),
                   "）");
  for (auto& [id, spec] : desired) {
    spec.update_text = false;
    spec.text += taken;
  }

  // 4. Raise, update, clear and escalate the rule warnings.
  WriteSet ws;
  int written = 0;
  auto parent_of = [&](const std::string& id) -> std::string {
    auto it = index.find(id);
    return it == index.end() ? "" : orgs[it->second].parent_id();
  };
  const int64_t escalate_ms = rules.escalate_days() * kDayMs;
  auto put = [&](v1::Warning w) {
    if (w.open() && w.escalated_to().empty() &&
        now - w.raised_at_ms() >= escalate_ms) {
      if (auto e = EscalateWarning(w, parent_of(w.org_id()), now)) w = *e;
    }
    ws.PutWarning(std::move(w));
    ++written;
  };
  absl::btree_map<std::string, v1::Warning> existing;
  for (std::string after;;) {
    ASSIGN_OR_RETURN(std::vector<v1::Warning> batch,
                     store_->ScanWarnings(after, 4096));
    for (v1::Warning& w : batch) {
      after = w.id();
      if (IsRuleWarning(w)) existing[w.id()] = std::move(w);
    }
    if (batch.size() < 4096) break;
  }
  for (const auto& [id, w] : existing) {
    if (desired.contains(id)) continue;
    if (!node_rules && w.kind() == v1::NODE_NOT_SYNCED) continue;
    if (auto cleared = ClearWarning(w, now)) put(*cleared);
  }
  for (const auto& [id, spec] : desired) {
    std::optional<v1::Warning> old;
    if (auto it = existing.find(id); it != existing.end()) old = it->second;
    if (auto raised = RaiseWarning(old, spec, now)) {
      put(*raised);
    } else if (old.has_value() && old->escalated_to().empty() &&
               now - old->raised_at_ms() >= escalate_ms) {
      if (auto e = EscalateWarning(*old, parent_of(old->org_id()), now)) {
        ws.PutWarning(*e);
        ++written;
      }
    }
  }
  if (!ws.empty()) RETURN_IF_ERROR(store_->Commit(ws, kAuthor).status());
  if (options_.reconciler != nullptr) {
    ASSIGN_OR_RETURN(int escalated,
                     options_.reconciler->Escalate(now, escalate_ms));
    written += escalated;
  }
  return written;
}

}  // namespace unionsync
