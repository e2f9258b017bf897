// What a commit (or an apply) has read and written so far, overlaid on the
// database so later changes of the same batch see earlier ones; and the
// derived state (index entries, version stamps, cursors, subtree counters and
// progress aggregates) written into the batch once, by Finish. Internal to
// store/; one per commit, under the store's commit lock.
#ifndef UNIONSYNC_STORE_COMMIT_CONTEXT_H_
#define UNIONSYNC_STORE_COMMIT_CONTEXT_H_

#include <algorithm>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "store/keys.h"
#include "store/store_internal.h"

namespace unionsync::store_internal {

// The records a commit reads and writes, overlaid on the database so later
// writes in the same commit see earlier ones.
class CommitContext {
 public:
  CommitContext(const Store* store, rocksdb::DB* db, const Handles* cf,
                bool track_progress)
      : store_(store), db_(db), cf_(cf), track_progress_(track_progress) {}

  // Organisations read here are cached: every member of a batch asks for its
  // organisation and ancestors.
  absl::StatusOr<std::optional<v1::Org>> Org(const std::string& id) {
    if (auto it = orgs_.find(id); it != orgs_.end()) return it->second;
    auto r = store_->GetOrg(id);
    std::optional<v1::Org> found;
    if (!absl::IsNotFound(r.status())) {
      RETURN_IF_ERROR(r.status());
      found = *std::move(r);
    }
    orgs_[id] = found;
    return found;
  }
  // Cached, misses included: a new member is looked up by the scope check and
  // again when staged.
  absl::StatusOr<std::optional<v1::Member>> Member(const std::string& id) {
    if (auto it = members_.find(id); it != members_.end()) return it->second;
    auto r = store_->GetMember(id);
    std::optional<v1::Member> found;
    if (!absl::IsNotFound(r.status())) {
      RETURN_IF_ERROR(r.status());
      found = *std::move(r);
    }
    members_[id] = found;
    return found;
  }
  absl::StatusOr<std::optional<v1::Account>> Account(const std::string& name) {
    if (auto it = accounts_.find(name); it != accounts_.end()) {
      return it->second;
    }
    auto r = store_->GetAccount(name);
    if (absl::IsNotFound(r.status())) return std::optional<v1::Account>();
    RETURN_IF_ERROR(r.status());
    return std::optional<v1::Account>(*std::move(r));
  }
  absl::StatusOr<std::optional<std::string>> Get(
      rocksdb::ColumnFamilyHandle* cf,
      absl::btree_map<std::string, std::optional<std::string>>& overlay,
      const std::string& key) {
    if (auto it = overlay.find(key); it != overlay.end()) return it->second;
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf, Sl(key), &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    RETURN_IF_ERROR(FromRocks(s, "read"));
    return std::optional<std::string>(std::move(value));
  }
  // Suffixes of the index keys under `prefix`, as of this commit.
  absl::StatusOr<std::vector<std::string>> IndexSuffixes(
      const std::string& prefix) {
    ASSIGN_OR_RETURN(std::vector<std::string> stored,
                     ScanSuffixes(IndexIterator(), prefix, "",
                                  std::numeric_limits<size_t>::max()));
    absl::btree_set<std::string> out(stored.begin(), stored.end());
    for (auto it = index_.lower_bound(prefix);
         it != index_.end() && absl::StartsWith(it->first, prefix); ++it) {
      std::string suffix = it->first.substr(prefix.size());
      if (it->second.has_value()) {
        out.insert(std::move(suffix));
      } else {
        out.erase(suffix);
      }
    }
    return std::vector<std::string>(out.begin(), out.end());
  }
  // Member ids holding the ID-number token, as of this commit.
  absl::StatusOr<std::vector<std::string>> IdHolders(const std::string& token) {
    ASSIGN_OR_RETURN(std::optional<std::string> v,
                     Get(cf_->index, index_, keys::IdNumberKey(token)));
    return SplitHolders(v.value_or(""));
  }
  void SetIdHolders(const std::string& token,
                    const std::vector<std::string>& ids) {
    if (ids.empty()) {
      DeleteIndex(keys::IdNumberKey(token));
    } else {
      PutIndex(keys::IdNumberKey(token), absl::StrJoin(ids, ","));
    }
  }
  absl::StatusOr<std::optional<std::string>> Version(const std::string& key) {
    return Get(cf_->versions, versions_, key);
  }
  absl::StatusOr<uint64_t> Applied(const std::string& key) {
    ASSIGN_OR_RETURN(std::optional<std::string> v, Get(cf_->repl, repl_, key));
    return v.has_value() ? keys::DecodeBigEndian64(*v) : 0;
  }

  // One iterator for every index scan of the commit: the database does not
  // change while the commit lock is held, so its snapshot stays current.
  rocksdb::Iterator* IndexIterator() {
    if (index_it_ == nullptr) {
      index_it_.reset(db_->NewIterator(rocksdb::ReadOptions(), cf_->index));
    }
    return index_it_.get();
  }

  // True when `org` is `ancestor` or lies below it, as of this commit.
  absl::StatusOr<bool> InSubtree(const std::string& org,
                                 const std::string& ancestor) {
    std::string current = org;
    for (int depth = 0; depth < kMaxDepth; ++depth) {
      if (current == ancestor) return true;
      ASSIGN_OR_RETURN(std::optional<v1::Org> o, Org(current));
      if (!o.has_value() || o->parent_id().empty()) return false;
      current = o->parent_id();
    }
    return absl::DataLossError(
        absl::StrCat("parent chain of '", org, "' is too deep"));
  }

  void SetOrg(const v1::Org& o) { orgs_[o.id()] = o; }
  void SetMember(const v1::Member& m) { members_[m.id()] = m; }
  void SetAccount(const v1::Account& a) { accounts_[a.username()] = a; }
  void PutIndex(std::string key, std::string value) {
    index_[std::move(key)] = std::move(value);
  }
  void DeleteIndex(std::string key) { index_[std::move(key)] = std::nullopt; }
  void SetVersion(std::string key, std::string value) {
    versions_[std::move(key)] = std::move(value);
  }
  void SetRepl(std::string key, std::string value) {
    repl_[std::move(key)] = std::move(value);
  }

  void AddContribution(const std::string& org, const Contribution& c,
                       int sign) {
    deltas_[org].Add(c, sign);
  }
  void TouchActivation(const std::string& org) { activation_orgs_.insert(org); }

  // Progress bookkeeping of one record version entering (+1) or leaving (-1)
  // `org` on `day`.
  void AddDay(const std::string& org, const std::string& day,
              const Contribution& c, int sign, bool is_new) {
    v1::DayProgress& d = days_[{org, day}];
    d.set_orgs_net(d.orgs_net() + sign * c.orgs);
    d.set_grassroots_net(d.grassroots_net() + sign * c.grassroots);
    d.set_members_net(d.members_net() + sign * c.members);
    if (is_new) {
      d.set_grassroots_new(d.grassroots_new() + c.grassroots);
      d.set_members_new(d.members_new() + c.members);
    }
  }
  void NoteEntry(const std::string& org, int64_t ms) {
    int64_t& last = entries_[org];
    last = std::max(last, ms);
  }
  void NoteOrigin(const std::string& origin, int64_t ms) {
    int64_t& last = origins_[origin];
    last = std::max(last, ms);
  }

  // Whether `org` has a data administrator who has set their own password,
  // before (`overlay` false) or after this commit.
  absl::StatusOr<bool> Activated(const std::string& org, bool overlay);

  // Writes records' side effects into `batch`: index entries, version stamps,
  // replication state, and counters of every touched organisation and its
  // ancestors.
  absl::Status Finish(rocksdb::WriteBatch* batch);

 private:
  // Per-organisation progress (own members, activation, last entry), then the
  // region / system / "all" scopes and their days.
  // Days are kept per subtree too.
  absl::Status FinishProgress(
      const absl::btree_map<std::string, bool>& activation_changes,
      rocksdb::WriteBatch* batch);

  // "all", and the region and system of `org` when it has them.
  absl::StatusOr<std::vector<std::string>> ScopesOf(const std::string& org);

  const Store* store_;
  rocksdb::DB* const db_;
  const Handles* const cf_;
  const bool track_progress_;
  absl::btree_map<std::pair<std::string, std::string>, v1::DayProgress> days_;
  absl::flat_hash_map<std::string, int64_t> entries_;
  absl::btree_map<std::string, int64_t> origins_;
  absl::btree_map<std::string, std::optional<std::string>> no_overlay_;
  absl::flat_hash_map<std::string, std::optional<v1::Org>> orgs_;
  absl::flat_hash_map<std::string, std::optional<v1::Member>> members_;
  absl::flat_hash_map<std::string, std::optional<v1::Account>> accounts_;
  absl::btree_map<std::string, std::optional<std::string>> index_;
  absl::btree_map<std::string, std::optional<std::string>> versions_;
  absl::btree_map<std::string, std::optional<std::string>> repl_;
  absl::btree_map<std::string, Contribution> deltas_;
  absl::btree_set<std::string> activation_orgs_;
  std::unique_ptr<rocksdb::Iterator> index_it_;
};

}  // namespace unionsync::store_internal

#endif  // UNIONSYNC_STORE_COMMIT_CONTEXT_H_
