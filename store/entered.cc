// Grassroots unions counted as entered (建成): the rule, and the recount when
// a store is opened under another rule than it was counted with (or was
// written before the count existed). Commits keep the count up to date
// (CommitContext::FinishProgress).
#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/log.h"
#include "common/org_rules.h"
#include "common/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "store/keys.h"
#include "store/rocks_status.h"
#include "store/store.h"
#include "store/store_internal.h"

namespace unionsync {

using store_internal::kMaxDepth;
using store_internal::Serialize;

bool CountsAsEntered(const v1::Org& org, const v1::OrgProgress& p,
                     const v1::EnteredRule& rule) {
  if (org.status() != v1::ORG_ACTIVE || !IsGrassroots(org.kind()) ||
      org.profile_completeness() < 100 || !p.activated()) {
    return false;
  }
  int64_t need = std::max<int64_t>(1, rule.min_members());
  if (rule.workforce_share() > 0 && org.employee_count() > 0) {
    need = std::max(need, static_cast<int64_t>(std::ceil(
                              rule.workforce_share() * org.employee_count())));
  }
  return p.own_members() >= need;
}

absl::Status Store::CountEntered() {
  if (!track_progress_) {
    // Not kept while untracked: the next tracked open recounts.
    return FromRocks(
        db_->Delete(rocksdb::WriteOptions(), cf_->meta, keys::kMetaEnteredRule),
        "forgetting the entered-count rule");
  }
  const std::string rule = absl::StrFormat(
      "min_members=%d;workforce_share=%.17g", entered_rule_.min_members(),
      entered_rule_.workforce_share());
  std::string counted;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_->meta,
                               keys::kMetaEnteredRule, &counted);
  if (s.ok() && counted == rule) return absl::OkStatus();
  if (!s.ok() && !s.IsNotFound()) {
    return FromRocks(s, "reading the entered-count rule");
  }

  // Which organisations count, and their sums per subtree (up to the first
  // organisation above what this store holds, as commits count them) and
  // per scope.
  std::vector<v1::Org> orgs;
  for (std::string after;;) {
    ASSIGN_OR_RETURN(std::vector<v1::Org> page, ScanOrgs(after, 4096));
    for (v1::Org& o : page) orgs.push_back(std::move(o));
    if (page.size() < 4096) break;
    after = orgs.back().id();
  }
  absl::flat_hash_map<std::string, std::string> parent_of;
  for (const v1::Org& o : orgs) parent_of[o.id()] = o.parent_id();
  std::map<std::string, int64_t> subtree, scopes;
  rocksdb::WriteBatch batch;
  int64_t entered = 0;
  for (const v1::Org& o : orgs) {
    ASSIGN_OR_RETURN(v1::OrgProgress p, GetOrgProgress(o.id()));
    const bool counts = CountsAsEntered(o, p, entered_rule_);
    if (p.entered() != counts) {
      p.set_entered(counts);
      batch.Put(cf_->progress, keys::OrgProgressKey(o.id()), Serialize(p));
    }
    if (!counts) continue;
    ++entered;
    std::string current = o.id();
    for (int depth = 0; !current.empty() && depth < kMaxDepth; ++depth) {
      ++subtree[current];
      auto it = parent_of.find(current);
      if (it == parent_of.end()) break;
      current = it->second;
    }
    ++scopes["all"];
    if (!o.region().empty()) ++scopes[absl::StrCat("r:", o.region())];
    if (!o.system().empty()) ++scopes[absl::StrCat("y:", o.system())];
  }

  // Every stored counter gets its recounted figure (zero when absent).
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf_->counters));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string id = it->key().ToString();
    v1::SubtreeCounters c;
    if (!c.ParseFromArray(it->value().data(),
                          static_cast<int>(it->value().size()))) {
      return absl::DataLossError(absl::StrCat("undecodable counters of ", id));
    }
    auto found = subtree.find(id);
    const int64_t want = found == subtree.end() ? 0 : found->second;
    if (found != subtree.end()) subtree.erase(found);
    if (c.grassroots_entered() == want) continue;
    c.set_grassroots_entered(want);
    batch.Put(cf_->counters, id, Serialize(c));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "scanning counters"));
  it.reset();
  for (const auto& [id, want] : subtree) {  // Not stored yet (never are).
    ASSIGN_OR_RETURN(v1::SubtreeCounters c, GetCounters(id));
    c.set_grassroots_entered(want);
    batch.Put(cf_->counters, id, Serialize(c));
  }
  ASSIGN_OR_RETURN(std::vector<std::string> held, ListScopes(""));
  for (const std::string& name : held) scopes[name];  // Zero unless counted.
  for (const auto& [name, want] : scopes) {
    ASSIGN_OR_RETURN(v1::SubtreeCounters c, GetScopeCounters(name));
    if (c.grassroots_entered() == want) continue;
    c.set_grassroots_entered(want);
    batch.Put(cf_->progress, keys::ScopeKey(name), Serialize(c));
  }
  batch.Put(cf_->meta, keys::kMetaEnteredRule, rule);
  rocksdb::WriteOptions wo;
  wo.sync = sync_;
  absl::MutexLock lock(&commit_mu_);
  RETURN_IF_ERROR(FromRocks(db_->Write(wo, &batch), "entered-count recount"));
  if (orgs.empty()) return absl::OkStatus();
  LogInfo("store", absl::StrCat("counted entered grassroots unions under ",
                                rule, ": ", entered, " of ", orgs.size(),
                                " organisations"));
  return absl::OkStatus();
}

}  // namespace unionsync
