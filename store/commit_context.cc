#include "store/commit_context.h"

namespace unionsync::store_internal {

absl::StatusOr<bool> CommitContext::Activated(const std::string& org,
                                              bool overlay) {
  ASSIGN_OR_RETURN(std::vector<std::string> names,
                   ScanSuffixes(IndexIterator(), keys::OrgAccountPrefix(org),
                                "", std::numeric_limits<size_t>::max()));
  absl::flat_hash_set<std::string> seen;
  for (const auto& n : names) {
    seen.insert(n);
    std::optional<v1::Account> a;
    if (overlay) {
      ASSIGN_OR_RETURN(a, Account(n));
    } else {
      auto r = store_->GetAccount(n);
      RETURN_IF_ERROR(r.status());
      a = *std::move(r);
    }
    if (a.has_value() && a->org_id() == org && IsActivatingAdmin(*a)) {
      return true;
    }
  }
  if (overlay) {
    for (const auto& [name, a] : accounts_) {
      if (!seen.contains(name) && a.has_value() && a->org_id() == org &&
          IsActivatingAdmin(*a)) {
        return true;
      }
    }
  }
  return false;
}

absl::Status CommitContext::Finish(rocksdb::WriteBatch* batch) {
  absl::btree_map<std::string, bool> activation_changes;
  for (const auto& org : activation_orgs_) {
    ASSIGN_OR_RETURN(bool before, Activated(org, false));
    ASSIGN_OR_RETURN(bool after, Activated(org, true));
    if (before != after) {
      deltas_[org].activated += after ? 1 : -1;
      activation_changes[org] = after;
    }
  }
  if (track_progress_) {
    RETURN_IF_ERROR(FinishProgress(activation_changes, batch));
  }
  absl::btree_map<std::string, Contribution> totals;
  for (const auto& [anchor, delta] : deltas_) {
    std::string current = anchor;
    for (int depth = 0; !current.empty(); ++depth) {
      if (depth >= kMaxDepth) {
        return absl::DataLossError(
            absl::StrCat("parent chain of '", anchor, "' is too deep"));
      }
      totals[current].Add(delta, 1);
      ASSIGN_OR_RETURN(std::optional<v1::Org> o, Org(current));
      if (!o.has_value()) break;  // Ancestors above what this store holds.
      current = o->parent_id();
    }
  }
  for (const auto& [org, delta] : totals) {
    ASSIGN_OR_RETURN(v1::SubtreeCounters c, store_->GetCounters(org));
    delta.AddTo(&c);
    batch->Put(cf_->counters, org, Serialize(c));
  }
  auto flush = [&](rocksdb::ColumnFamilyHandle* cf, const auto& overlay) {
    for (const auto& [key, value] : overlay) {
      if (value.has_value()) {
        batch->Put(cf, key, *value);
      } else {
        batch->Delete(cf, key);
      }
    }
  };
  flush(cf_->index, index_);
  flush(cf_->versions, versions_);
  flush(cf_->repl, repl_);
  return absl::OkStatus();
}

absl::Status CommitContext::FinishProgress(
    const absl::btree_map<std::string, bool>& activation_changes,
    rocksdb::WriteBatch* batch) {
  // Every organisation a record of this commit is anchored at: its own
  // figures, and whether it now counts as entered (its record, members or
  // activation may have changed).
  absl::btree_set<std::string> touched;
  for (const auto& [org, unused] : deltas_) touched.insert(org);
  for (const auto& [org, unused] : activation_changes) touched.insert(org);
  for (const auto& [org, unused] : entries_) touched.insert(org);
  for (const std::string& org : touched) {
    ASSIGN_OR_RETURN(v1::OrgProgress p, store_->GetOrgProgress(org));
    bool dirty = false;
    if (auto it = deltas_.find(org);
        it != deltas_.end() && it->second.members) {
      const int64_t before = p.own_members();
      p.set_own_members(before + it->second.members);
      if ((before > 0) != (p.own_members() > 0)) {
        it->second.with_members += p.own_members() > 0 ? 1 : -1;
      }
      dirty = true;
    }
    if (auto it = activation_changes.find(org);
        it != activation_changes.end()) {
      p.set_activated(it->second);
      dirty = true;
    }
    if (auto it = entries_.find(org); it != entries_.end()) {
      p.set_last_entry_ms(std::max(p.last_entry_ms(), it->second));
      dirty = true;
    }
    ASSIGN_OR_RETURN(std::optional<v1::Org> o, Org(org));
    const bool entered =
        o.has_value() && CountsAsEntered(*o, p, store_->entered_rule());
    if (entered != p.entered()) {
      deltas_[org].entered += entered ? 1 : -1;
      p.set_entered(entered);
      dirty = true;
    }
    if (dirty) {
      batch->Put(cf_->progress, keys::OrgProgressKey(org), Serialize(p));
    }
  }
  absl::btree_map<std::string, Contribution> scopes;
  for (const auto& [org, delta] : deltas_) {
    if (delta.CountsZero()) continue;
    ASSIGN_OR_RETURN(std::vector<std::string> names, ScopesOf(org));
    for (const std::string& scope : names) scopes[scope].Add(delta, 1);
  }
  for (const auto& [scope, delta] : scopes) {
    if (delta.CountsZero()) continue;
    ASSIGN_OR_RETURN(v1::SubtreeCounters c, store_->GetScopeCounters(scope));
    Contribution counts = delta;
    counts.digest.clear();  // A scope's digest is unused and stays empty.
    counts.AddTo(&c);
    batch->Put(cf_->progress, keys::ScopeKey(scope), Serialize(c));
  }
  absl::btree_map<std::pair<std::string, std::string>, v1::DayProgress>
      day_totals;
  for (const auto& [origin, ms] : origins_) {
    const std::string key = keys::OriginTimeKey(origin);
    ASSIGN_OR_RETURN(std::optional<std::string> stored,
                     Get(cf_->progress, no_overlay_, key));
    if (stored.has_value() &&
        static_cast<int64_t>(keys::DecodeBigEndian64(*stored)) >= ms) {
      continue;
    }
    batch->Put(cf_->progress, key, Sl(keys::BigEndian64(ms)));
  }
  for (const auto& [org_day, d] : days_) {
    ASSIGN_OR_RETURN(std::vector<std::string> names, ScopesOf(org_day.first));
    // Days are kept per subtree too.
    std::string current = org_day.first;
    for (int depth = 0; !current.empty() && depth < kMaxDepth; ++depth) {
      names.push_back(absl::StrCat("t:", current));
      ASSIGN_OR_RETURN(std::optional<v1::Org> o, Org(current));
      if (!o.has_value()) break;
      current = o->parent_id();
    }
    for (const std::string& scope : names) {
      v1::DayProgress& t = day_totals[{scope, org_day.second}];
      t.set_orgs_net(t.orgs_net() + d.orgs_net());
      t.set_grassroots_net(t.grassroots_net() + d.grassroots_net());
      t.set_members_net(t.members_net() + d.members_net());
      t.set_grassroots_new(t.grassroots_new() + d.grassroots_new());
      t.set_members_new(t.members_new() + d.members_new());
    }
  }
  for (const auto& [scope_day, d] : day_totals) {
    const std::string key = keys::DayKey(scope_day.first, scope_day.second);
    v1::DayProgress t;
    std::string value;
    rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), cf_->progress, Sl(key), &value);
    if (!s.IsNotFound()) {
      RETURN_IF_ERROR(FromRocks(s, "day read"));
      if (!t.ParseFromString(value)) {
        return absl::DataLossError(absl::StrCat("undecodable ", key));
      }
    }
    t.set_orgs_net(t.orgs_net() + d.orgs_net());
    t.set_grassroots_net(t.grassroots_net() + d.grassroots_net());
    t.set_members_net(t.members_net() + d.members_net());
    t.set_grassroots_new(t.grassroots_new() + d.grassroots_new());
    t.set_members_new(t.members_new() + d.members_new());
    batch->Put(cf_->progress, key, Serialize(t));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> CommitContext::ScopesOf(
    const std::string& org) {
  std::vector<std::string> out = {"all"};
  ASSIGN_OR_RETURN(std::optional<v1::Org> o, Org(org));
  if (o.has_value()) {
    if (!o->region().empty()) out.push_back(absl::StrCat("r:", o->region()));
    if (!o->system().empty()) out.push_back(absl::StrCat("y:", o->system()));
  }
  return out;
}

}  // namespace unionsync::store_internal
