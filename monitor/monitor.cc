#include "monitor/monitor.h"

#include <algorithm>
#include <map>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/mask.h"
#include "common/status_macros.h"
#include "common/validation.h"
#include "monitor/campaign.h"
#include "monitor/progress.h"
#include "monitor/records.h"

namespace unionsync {
namespace {

constexpr int kDefaultPage = 100;
constexpr int kMaxPage = 1000;

absl::StatusOr<int> PageSize(int requested) {
  if (requested == 0) return kDefaultPage;
  if (requested < 1 || requested > kMaxPage) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: must be 1..", kMaxPage, ", got ", requested));
  }
  return requested;
}

// Conflicts show staff who is concerned, never whole ID or phone numbers.
void MaskConflict(v1::Conflict* c) {
  for (v1::ConflictSide& s : *c->mutable_sides()) {
    if (s.has_member()) {
      v1::Member* m = s.mutable_member();
      m->set_id_number(MaskIdNumber(m->id_number()));
      m->set_phone(MaskPhone(m->phone()));
    }
  }
}

// Prometheus label value escaping.
std::string Esc(absl::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

Monitor::Monitor(Store* store, const Clock* clock, Authenticator* auth,
                 MonitorOptions options)
    : store_(store), clock_(clock), auth_(auth), options_(std::move(options)) {
  followed_pos_ = store_->next_log_pos();
  listener_ = store_->AddCommitListener([this] { OnCommit(); });
}

Monitor::~Monitor() {
  store_->RemoveCommitListener(listener_);
  absl::MutexLock lock(&watch_mu_);
  watchers_.clear();
}

absl::StatusOr<Viewer> Monitor::Check(const RequestContext& ctx,
                                      absl::string_view action,
                                      const std::string& org_id) {
  ASSIGN_OR_RETURN(Viewer viewer, auth_->Authenticate(ctx, action));
  if (!org_id.empty() && org_id != viewer.org_id) {
    ASSIGN_OR_RETURN(bool inside, store_->IsInSubtree(org_id, viewer.org_id));
    if (!inside) {
      return auth_->Deny(viewer, ctx, action, absl::StrCat("org/", org_id),
                         "outside the caller's subtree");
    }
  }
  return viewer;
}

absl::StatusOr<v1::GetProgressResponse> Monitor::GetProgress(
    const RequestContext& ctx, const v1::GetProgressRequest& req) {
  ASSIGN_OR_RETURN(Viewer viewer, Check(ctx, "GetProgress", req.org_id()));
  return Report(viewer, req);
}

absl::StatusOr<v1::GetProgressResponse> Monitor::Report(
    const Viewer& viewer, const v1::GetProgressRequest& req) {
  const v1::CampaignConfig& campaign = options_.campaign;
  const int64_t now = clock_->NowMs();
  const std::string today = Store::DayOf(now);
  // The node's own organisation sees the node-wide aggregates (the city at
  // the hub); anyone else sees their own subtree.
  const bool node_wide = viewer.org_id == store_->node_id();
  v1::GetProgressResponse out;
  out.set_as_of_date(today);
  out.set_as_of_ms(now);
  out.set_campaign(campaign.name());
  *out.mutable_milestones() = campaign.milestones();
  ASSIGN_OR_RETURN(
      ScopeRef total_ref,
      ResolveScope(*store_, campaign,
                   node_wide ? "city" : absl::StrCat("org:", viewer.org_id)));
  ASSIGN_OR_RETURN(*out.mutable_total(),
                   ComputeProgress(*store_, campaign, total_ref, today));
  const std::string view = req.view().empty() ? "city" : req.view();
  if (view == "city") return out;
  if (view == "regions" || view == "systems") {
    if (!node_wide) {
      return absl::PermissionDeniedError(
          "progress by region and system is for the node's own organisation; "
          "use view \"children\"");
    }
    ASSIGN_OR_RETURN(
        std::vector<std::string> scopes,
        ListAreaScopes(*store_, campaign, /*regions=*/view == "regions"));
    for (const std::string& scope : scopes) {
      ASSIGN_OR_RETURN(ScopeRef ref, ResolveScope(*store_, campaign, scope));
      ASSIGN_OR_RETURN(*out.add_rows(),
                       ComputeProgress(*store_, campaign, ref, today));
    }
    return out;
  }
  if (view == "children") {
    const std::string parent =
        req.org_id().empty() ? viewer.org_id : req.org_id();
    for (std::string after;;) {
      ASSIGN_OR_RETURN(std::vector<v1::Org> children,
                       store_->ListChildren(parent, after, 1000));
      for (const v1::Org& child : children) {
        after = child.id();
        ASSIGN_OR_RETURN(
            ScopeRef ref,
            ResolveScope(*store_, campaign, absl::StrCat("org:", child.id())));
        ASSIGN_OR_RETURN(v1::Progress p,
                         ComputeProgress(*store_, campaign, ref, today));
        ASSIGN_OR_RETURN(std::vector<std::string> warnings,
                         store_->WarningsOfOrg(child.id()));
        int open = 0;
        for (const std::string& id : warnings) {
          auto w = store_->GetWarning(id);
          if (w.ok() && w->open()) ++open;
        }
        p.set_open_warnings(open);
        *out.add_rows() = std::move(p);
      }
      if (children.size() < 1000) break;
    }
    return out;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "view: '", view, "' is not city, regions, systems or children"));
}

absl::StatusOr<v1::GetTimeSeriesResponse> Monitor::GetTimeSeries(
    const RequestContext& ctx, const v1::GetTimeSeriesRequest& req) {
  ASSIGN_OR_RETURN(Viewer viewer, Check(ctx, "GetTimeSeries", ""));
  const bool node_wide = viewer.org_id == store_->node_id();
  std::string scope = req.scope().empty() ? "city" : req.scope();
  if (!node_wide) {
    // Only the caller's subtree or below.
    if (scope == "city") scope = absl::StrCat("org:", viewer.org_id);
    if (!absl::StartsWith(scope, "org:")) {
      return auth_->Deny(viewer, ctx, "GetTimeSeries", scope,
                         "regions and systems are for the node's own "
                         "organisation");
    }
  }
  if (absl::StartsWith(scope, "org:")) {
    const std::string org = scope.substr(4);
    ASSIGN_OR_RETURN(bool inside, store_->IsInSubtree(org, viewer.org_id));
    if (!inside) {
      return auth_->Deny(viewer, ctx, "GetTimeSeries", scope,
                         "outside the caller's subtree");
    }
  }
  const v1::CampaignConfig& campaign = options_.campaign;
  const std::string from =
      req.from_date().empty() ? campaign.start_date() : req.from_date();
  const std::string to =
      req.to_date().empty() ? Store::DayOf(clock_->NowMs()) : req.to_date();
  RETURN_IF_ERROR(ValidateDate("from_date", from));
  RETURN_IF_ERROR(ValidateDate("to_date", to));
  ASSIGN_OR_RETURN(ScopeRef ref, ResolveScope(*store_, campaign, scope));
  ASSIGN_OR_RETURN(std::vector<v1::TimePoint> points,
                   ComputeSeries(*store_, campaign, ref, from, to));
  v1::GetTimeSeriesResponse out;
  for (auto& p : points) *out.add_points() = std::move(p);
  return out;
}

absl::StatusOr<v1::ExportProgressCsvResponse> Monitor::ExportProgressCsv(
    const RequestContext& ctx, const v1::ExportProgressCsvRequest& req) {
  ASSIGN_OR_RETURN(Viewer viewer, Check(ctx, "ExportProgressCsv", ""));
  v1::GetProgressRequest preq;
  preq.set_view(
      req.view().empty()
          ? (viewer.org_id == store_->node_id() ? "regions" : "children")
          : req.view());
  ASSIGN_OR_RETURN(v1::GetProgressResponse report, Report(viewer, preq));
  v1::ExportProgressCsvResponse out;
  out.set_csv(ProgressCsv(report));
  out.set_filename(
      absl::StrCat("progress-", preq.view(), "-", report.as_of_date(), ".csv"));
  return out;
}

absl::StatusOr<bool> Monitor::Concerns(const v1::Warning& w,
                                       const std::string& org_id) {
  // The node's own organisation: everything this store holds is its subtree.
  if (org_id == store_->node_id()) return true;
  ASSIGN_OR_RETURN(bool inside, store_->IsInSubtree(w.org_id(), org_id));
  if (inside) return true;
  if (w.escalated_to().empty()) return false;
  return store_->IsInSubtree(w.escalated_to(), org_id);
}

absl::StatusOr<v1::ListWarningsResponse> Monitor::ListWarnings(
    const RequestContext& ctx, const v1::ListWarningsRequest& req) {
  ASSIGN_OR_RETURN(Viewer viewer, Check(ctx, "ListWarnings", req.org_id()));
  ASSIGN_OR_RETURN(int page, PageSize(req.page_size()));
  const std::string org = req.org_id().empty() ? viewer.org_id : req.org_id();
  v1::ListWarningsResponse out;
  std::string after = req.page_token();
  for (;;) {
    ASSIGN_OR_RETURN(std::vector<v1::Warning> batch,
                     store_->ScanWarnings(after, 2048));
    for (v1::Warning& w : batch) {
      after = w.id();
      if (!w.open() && !req.include_cleared()) continue;
      ASSIGN_OR_RETURN(bool concerns, Concerns(w, org));
      if (!concerns) continue;
      *out.add_warnings() = std::move(w);
      if (out.warnings_size() == page) {
        out.set_next_page_token(after);
        return out;
      }
    }
    if (batch.size() < 2048) break;
  }
  return out;
}

absl::StatusOr<uint64_t> Monitor::Watch(
    const RequestContext& ctx, const v1::WatchWarningsRequest& req,
    std::function<void(v1::WarningUpdate)> sink) {
  ASSIGN_OR_RETURN(Viewer viewer, Check(ctx, "WatchWarnings", req.org_id()));
  const std::string org = req.org_id().empty() ? viewer.org_id : req.org_id();
  // Register first, then send the snapshot: an update racing with the
  // snapshot is sent twice rather than lost (updates carry the full record).
  uint64_t id;
  {
    absl::MutexLock lock(&watch_mu_);
    id = next_watch_id_++;
    watchers_.push_back({id, Watcher{org, sink}});
  }
  for (std::string after;;) {
    ASSIGN_OR_RETURN(std::vector<v1::Warning> batch,
                     store_->ScanWarnings(after, 2048));
    for (v1::Warning& w : batch) {
      after = w.id();
      if (!w.open()) continue;
      ASSIGN_OR_RETURN(bool concerns, Concerns(w, org));
      if (!concerns) continue;
      v1::WarningUpdate u;
      *u.mutable_warning() = std::move(w);
      u.set_initial(true);
      sink(std::move(u));
    }
    if (batch.size() < 2048) break;
  }
  return id;
}

void Monitor::Unwatch(uint64_t id) {
  absl::MutexLock lock(&watch_mu_);
  watchers_.erase(std::remove_if(watchers_.begin(), watchers_.end(),
                                 [id](const auto& w) { return w.first == id; }),
                  watchers_.end());
}

void Monitor::OnCommit() {
  std::vector<std::pair<uint64_t, Watcher>> watchers;
  uint64_t from;
  {
    absl::MutexLock lock(&watch_mu_);
    const uint64_t end = store_->next_log_pos();
    if (watchers_.empty()) {
      followed_pos_ = end;
      return;
    }
    from = followed_pos_;
    followed_pos_ = end;
    watchers = watchers_;
  }
  // Reads outside the lock; the log is append-only.
  const uint64_t end = store_->next_log_pos();
  while (from < end) {
    auto changes = store_->ReadLog(from, 4096);
    if (!changes.ok() || changes->empty()) return;
    for (const v1::Change& c : *changes) {
      from = c.log_pos() + 1;
      if (c.kind() != v1::PUT_WARNING) continue;
      for (const auto& [id, w] : watchers) {
        auto concerns = Concerns(c.warning(), w.org_id);
        if (!concerns.ok() || !*concerns) continue;
        v1::WarningUpdate u;
        *u.mutable_warning() = c.warning();
        w.sink(std::move(u));
      }
    }
  }
}

absl::StatusOr<v1::ListConflictsResponse> Monitor::ListConflicts(
    const RequestContext& ctx, const v1::ListConflictsRequest& req) {
  ASSIGN_OR_RETURN(Viewer viewer, Check(ctx, "ListConflicts", ""));
  if (viewer.org_id != store_->node_id() || viewer.role != v1::DATA_ADMIN) {
    return auth_->Deny(viewer, ctx, "ListConflicts", "conflicts",
                       "conflicts hold personal data: only the data "
                       "administrator of the node's own organisation");
  }
  ASSIGN_OR_RETURN(int page, PageSize(req.page_size()));
  v1::ListConflictsResponse out;
  std::string after = req.page_token();
  for (;;) {
    ASSIGN_OR_RETURN(std::vector<v1::Conflict> batch,
                     store_->ScanConflicts(after, 2048));
    for (v1::Conflict& c : batch) {
      after = c.id();
      if (c.state() != v1::CONFLICT_OPEN && !req.include_closed()) continue;
      MaskConflict(&c);
      *out.add_conflicts() = std::move(c);
      if (out.conflicts_size() == page) {
        out.set_next_page_token(after);
        break;
      }
    }
    if (!out.next_page_token().empty() || batch.size() < 2048) break;
  }
  RETURN_IF_ERROR(
      auth_->AuditRead(viewer, ctx, "ListConflicts",
                       absl::StrCat("conflicts/", out.conflicts_size())));
  return out;
}

absl::StatusOr<v1::ResolveConflictResponse> Monitor::ResolveConflict(
    const RequestContext& ctx, const v1::ResolveConflictRequest& req) {
  ASSIGN_OR_RETURN(Viewer viewer, Check(ctx, "ResolveConflict", ""));
  if (options_.reconciler == nullptr) {
    return absl::FailedPreconditionError(
        "conflicts are resolved at the hub that reconciles them");
  }
  if (viewer.org_id != store_->node_id() || viewer.role != v1::DATA_ADMIN) {
    return auth_->Deny(viewer, ctx, "ResolveConflict",
                       absl::StrCat("conflict/", req.conflict_id()),
                       "only the hub's data administrator resolves conflicts");
  }
  if (req.conflict_id().empty() || req.conflict_id().size() > 200) {
    return absl::InvalidArgumentError(
        "conflict_id: required, at most 200 bytes");
  }
  RETURN_IF_ERROR(ValidateText("note", req.note(), 200, /*required=*/true));
  ASSIGN_OR_RETURN(v1::Conflict c,
                   options_.reconciler->Resolve(req.conflict_id(),
                                                viewer.username, req.note()));
  MaskConflict(&c);
  v1::ResolveConflictResponse out;
  *out.mutable_conflict() = std::move(c);
  return out;
}

absl::StatusOr<v1::GetSyncFreshnessResponse> Monitor::GetSyncFreshness(
    const RequestContext& ctx, const v1::GetSyncFreshnessRequest& req) {
  ASSIGN_OR_RETURN(Viewer viewer, Check(ctx, "GetSyncFreshness", ""));
  const int64_t now = clock_->NowMs();
  absl::btree_map<std::string, v1::NodeFreshness> nodes;
  ASSIGN_OR_RETURN(std::vector<std::string> node_orgs, store_->NodeOrgs());
  for (const std::string& id : node_orgs) {
    if (id == store_->node_id()) continue;
    ASSIGN_OR_RETURN(bool inside, store_->IsInSubtree(id, viewer.org_id));
    if (!inside) continue;
    ASSIGN_OR_RETURN(v1::Org o, store_->GetOrg(id));
    v1::NodeFreshness& n = nodes[id];
    n.set_node_id(id);
    n.set_org_name(o.name());
  }
  ASSIGN_OR_RETURN(auto origins, store_->OriginTimes());
  for (const auto& [origin, ms] : origins) {
    if (auto it = nodes.find(origin); it != nodes.end()) {
      it->second.set_last_change_ms(ms);
    }
  }
  if (options_.link_status) {
    std::map<std::string, int64_t> heard;  // Heartbeats (docs/REPLICATION.md).
    for (const repl::LinkStats& s : options_.link_status()) {
      repl::AddSeenBelow(s, &heard);
      if (s.side != repl::Side::kParent) continue;
      if (auto it = nodes.find(s.peer); it != nodes.end()) {
        it->second.set_connected(s.state == repl::LinkState::kStreaming);
      }
    }
    for (const auto& [node, ms] : heard) {
      if (auto it = nodes.find(node); it != nodes.end()) {
        it->second.set_last_contact_ms(ms);
      }
    }
  }
  v1::GetSyncFreshnessResponse out;
  for (auto& [id, n] : nodes) {
    const int64_t seen = std::max(n.last_change_ms(), n.last_contact_ms());
    n.set_stale_seconds(seen > 0 ? std::max<int64_t>(0, (now - seen) / 1000)
                                 : -1);
    *out.add_nodes() = std::move(n);
  }
  return out;
}

std::string Monitor::MetricsText() {
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help) {
    absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ",
                    type, "\n");
  };
  if (options_.link_status) {
    const std::vector<repl::LinkStats> links = options_.link_status();
    metric("unionsync_link_lag_positions", "gauge",
           "Log positions not yet acknowledged by the peer (sending side).");
    for (const auto& s : links) {
      const char* dir = s.side == repl::Side::kChild ? "up" : "down";
      absl::StrAppend(&out, "unionsync_link_lag_positions{peer=\"", Esc(s.peer),
                      "\",direction=\"", dir, "\"} ",
                      s.log_end > s.acked + 1 ? s.log_end - s.acked - 1 : 0,
                      "\n");
    }
    metric("unionsync_link_lag_seconds", "gauge",
           "Age of the oldest unacknowledged change (sending side).");
    const int64_t now = clock_->NowMs();
    for (const auto& s : links) {
      const char* dir = s.side == repl::Side::kChild ? "up" : "down";
      absl::StrAppend(
          &out, "unionsync_link_lag_seconds{peer=\"", Esc(s.peer),
          "\",direction=\"", dir, "\"} ",
          absl::StrFormat("%.3f", s.oldest_unacked_ms > 0
                                      ? (now - s.oldest_unacked_ms) / 1000.0
                                      : 0.0),
          "\n");
    }
    metric("unionsync_link_applied_changes_total", "counter",
           "Changes received on the link and applied (rate() is the apply "
           "rate).");
    for (const auto& s : links) {
      absl::StrAppend(&out, "unionsync_link_applied_changes_total{peer=\"",
                      Esc(s.peer), "\"} ", s.applied_changes, "\n");
    }
    metric("unionsync_link_rejected_changes_total", "counter",
           "Changes refused by the scope checks (security events).");
    for (const auto& s : links) {
      absl::StrAppend(&out, "unionsync_link_rejected_changes_total{peer=\"",
                      Esc(s.peer), "\"} ", s.rejected_changes, "\n");
    }
    metric("unionsync_link_up", "gauge", "1 when the link is streaming.");
    for (const auto& s : links) {
      absl::StrAppend(&out, "unionsync_link_up{peer=\"", Esc(s.peer), "\"} ",
                      s.state == repl::LinkState::kStreaming ? 1 : 0, "\n");
    }
  }
  metric("unionsync_log_end_position", "gauge", "Next change-log position.");
  absl::StrAppend(&out, "unionsync_log_end_position ", store_->next_log_pos(),
                  "\n");
  metric("unionsync_audit_chain_entries", "gauge",
         "Entries in the node's hash-chained audit log.");
  absl::StrAppend(&out, "unionsync_audit_chain_entries ",
                  store_->audit_head().seq, "\n");
  metric("unionsync_store_table_bytes", "gauge",
         "Bytes of the store's table files on disk.");
  absl::StrAppend(&out, "unionsync_store_table_bytes ", store_->TableBytes(),
                  "\n");
  // Conflicts and warnings (a scan of the reconciliation records; they are
  // few compared to members).
  absl::btree_map<std::pair<std::string, std::string>, int64_t> conflicts;
  for (std::string after;;) {
    auto batch = store_->ScanConflicts(after, 4096);
    if (!batch.ok()) break;
    for (const v1::Conflict& c : *batch) {
      after = c.id();
      ++conflicts[{v1::ConflictKind_Name(c.kind()),
                   v1::ConflictState_Name(c.state())}];
    }
    if (batch->size() < 4096) break;
  }
  metric("unionsync_conflicts", "gauge", "Conflicts by kind and state.");
  for (const auto& [k, n] : conflicts) {
    absl::StrAppend(&out, "unionsync_conflicts{kind=\"", k.first, "\",state=\"",
                    k.second, "\"} ", n, "\n");
  }
  absl::btree_map<std::string, int64_t> warnings;
  for (int k = v1::WarningKind_MIN + 1; k <= v1::WarningKind_MAX; ++k) {
    warnings[v1::WarningKind_Name(static_cast<v1::WarningKind>(k))] = 0;
  }
  for (std::string after;;) {
    auto batch = store_->ScanWarnings(after, 4096);
    if (!batch.ok()) break;
    for (const v1::Warning& w : *batch) {
      after = w.id();
      if (w.open()) ++warnings[v1::WarningKind_Name(w.kind())];
    }
    if (batch->size() < 4096) break;
  }
  metric("unionsync_warnings_open", "gauge", "Open warnings by kind.");
  for (const auto& [k, n] : warnings) {
    absl::StrAppend(&out, "unionsync_warnings_open{kind=\"", k, "\"} ", n,
                    "\n");
  }
  auto all = store_->GetScopeCounters("all");
  if (all.ok()) {
    metric("unionsync_progress_grassroots", "gauge",
           "Active grassroots organisations held.");
    absl::StrAppend(&out, "unionsync_progress_grassroots ",
                    all->grassroots_orgs(), "\n");
    metric("unionsync_progress_members", "gauge", "Active members held.");
    absl::StrAppend(&out, "unionsync_progress_members ", all->members(), "\n");
  }
  if (options_.reconciler != nullptr) {
    metric("unionsync_reconciler_examined_changes_total", "counter",
           "Changes examined by the reconciler.");
    absl::StrAppend(&out, "unionsync_reconciler_examined_changes_total ",
                    options_.reconciler->examined(), "\n");
  }
  return out;
}

}  // namespace unionsync
