// The store's reads: point reads, ordered scans, indexes, progress
// aggregates and the reconciliation and export records.
#include <limits>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "store/keys.h"
#include "store/rocks_status.h"
#include "store/store.h"
#include "store/store_internal.h"
#include "vault/records.h"
#include "vault/vault.h"

namespace unionsync {

using store_internal::kMaxDepth;
using store_internal::OpenStored;
using store_internal::ScanSuffixes;
using store_internal::Sl;
using store_internal::SplitHolders;
using store_internal::Sv;

absl::StatusOr<v1::Org> Store::GetOrg(absl::string_view id) const {
  auto r = GetProto<v1::Org>(cf_->orgs, id);
  if (absl::IsNotFound(r.status())) {
    return absl::NotFoundError(
        absl::StrCat("organisation '", id, "' not found"));
  }
  return r;
}

absl::StatusOr<v1::Member> Store::GetMember(absl::string_view id) const {
  auto r = GetProto<v1::Member>(cf_->members, id);
  if (absl::IsNotFound(r.status())) {
    return absl::NotFoundError(absl::StrCat("member '", id, "' not found"));
  }
  return r;
}

absl::StatusOr<v1::Account> Store::GetAccount(
    absl::string_view username) const {
  auto r = GetProto<v1::Account>(cf_->accounts, username);
  if (absl::IsNotFound(r.status())) {
    return absl::NotFoundError(
        absl::StrCat("account '", username, "' not found"));
  }
  return r;
}

absl::StatusOr<v1::SubtreeCounters> Store::GetCounters(
    absl::string_view org_id) const {
  auto r = GetProto<v1::SubtreeCounters>(cf_->counters, org_id);
  if (absl::IsNotFound(r.status())) return v1::SubtreeCounters();
  return r;
}

absl::StatusOr<std::vector<std::string>> Store::MembersWithIdNumber(
    absl::string_view id_number) const {
  return MembersWithIdToken(IdNumberToken(*vault_, id_number));
}

absl::StatusOr<std::vector<std::string>> Store::MembersWithIdToken(
    absl::string_view token) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_->index,
                               Sl(keys::IdNumberKey(token)), &value);
  if (s.IsNotFound()) return std::vector<std::string>();
  RETURN_IF_ERROR(FromRocks(s, "ID-number index"));
  return SplitHolders(value);
}

absl::StatusOr<uint64_t> Store::CountIdIndexEntries() const {
  uint64_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf_->index));
  for (it->Seek("n/"); it->Valid() && it->key().starts_with("n/"); it->Next()) {
    n += SplitHolders(Sv(it->value())).size();
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "ID-number index scan"));
  return n;
}

absl::StatusOr<v1::Member> Store::FindMemberByIdNumber(
    absl::string_view id_number) const {
  ASSIGN_OR_RETURN(std::vector<std::string> ids,
                   MembersWithIdNumber(id_number));
  for (const std::string& id : ids) {
    ASSIGN_OR_RETURN(v1::Member m, GetMember(id));
    if (m.status() == v1::MEMBER_ACTIVE && m.id_number() == id_number) {
      return m;
    }
  }
  return absl::NotFoundError("no active member with that ID number");
}

absl::StatusOr<std::vector<v1::Org>> Store::ListChildren(
    absl::string_view parent_id, absl::string_view after, size_t limit) const {
  ASSIGN_OR_RETURN(std::vector<std::string> ids,
                   ScanSuffixes(db_.get(), cf_->index,
                                keys::ChildPrefix(parent_id), after, limit));
  std::vector<v1::Org> out;
  out.reserve(ids.size());
  for (const auto& id : ids) {
    ASSIGN_OR_RETURN(v1::Org org, GetOrg(id));
    out.push_back(std::move(org));
  }
  return out;
}

absl::StatusOr<int64_t> Store::CountChildren(
    absl::string_view parent_id) const {
  ASSIGN_OR_RETURN(
      std::vector<std::string> ids,
      ScanSuffixes(db_.get(), cf_->index, keys::ChildPrefix(parent_id), "",
                   std::numeric_limits<size_t>::max()));
  return static_cast<int64_t>(ids.size());
}

absl::StatusOr<std::vector<v1::Member>> Store::ListMembers(
    absl::string_view org_id, absl::string_view after, size_t limit) const {
  ASSIGN_OR_RETURN(std::vector<std::string> ids,
                   ScanSuffixes(db_.get(), cf_->index,
                                keys::OrgMemberPrefix(org_id), after, limit));
  std::vector<v1::Member> out;
  out.reserve(ids.size());
  for (const auto& id : ids) {
    ASSIGN_OR_RETURN(v1::Member m, GetMember(id));
    out.push_back(std::move(m));
  }
  return out;
}

absl::StatusOr<std::vector<v1::Account>> Store::ListAccounts(
    absl::string_view org_id) const {
  ASSIGN_OR_RETURN(
      std::vector<std::string> names,
      ScanSuffixes(db_.get(), cf_->index, keys::OrgAccountPrefix(org_id), "",
                   std::numeric_limits<size_t>::max()));
  std::vector<v1::Account> out;
  for (const auto& n : names) {
    ASSIGN_OR_RETURN(v1::Account a, GetAccount(n));
    out.push_back(std::move(a));
  }
  return out;
}

absl::StatusOr<std::vector<v1::Change>> Store::ReadLog(uint64_t from,
                                                       size_t limit) const {
  std::vector<v1::Change> out;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf_->log));
  for (it->Seek(keys::BigEndian64(from)); it->Valid() && out.size() < limit;
       it->Next()) {
    v1::Change c;
    if (!c.ParseFromArray(it->value().data(),
                          static_cast<int>(it->value().size()))) {
      return absl::DataLossError(
          absl::StrCat("undecodable change at log position ",
                       keys::DecodeBigEndian64(Sv(it->key()))));
    }
    RETURN_IF_ERROR(OpenChange(*vault_, &c));
    out.push_back(std::move(c));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "log scan"));
  return out;
}

absl::StatusOr<std::vector<v1::Change>> Store::ReadDownLog(uint64_t from,
                                                           size_t limit) const {
  std::vector<v1::Change> out;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf_->index));
  const std::string prefix = keys::DownPrefix();
  for (it->Seek(Sl(keys::DownKey(from))); it->Valid() && out.size() < limit;
       it->Next()) {
    if (!it->key().starts_with(Sl(prefix))) break;
    const uint64_t pos =
        keys::DecodeBigEndian64(Sv(it->key()).substr(prefix.size()));
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_->log,
                                 Sl(keys::BigEndian64(pos)), &value);
    RETURN_IF_ERROR(FromRocks(s, absl::StrCat("log entry ", pos)));
    v1::Change c;
    if (!c.ParseFromString(value)) {
      return absl::DataLossError(
          absl::StrCat("undecodable change at log position ", pos));
    }
    RETURN_IF_ERROR(OpenChange(*vault_, &c));
    out.push_back(std::move(c));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "down index scan"));
  return out;
}

absl::Status Store::ResetCursor(absl::string_view peer) {
  absl::MutexLock lock(&commit_mu_);
  RETURN_IF_ERROR(sticky_error_);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Delete(wo, cf_->repl, Sl(keys::CursorKey(peer))),
                   "cursor reset");
}

absl::StatusOr<bool> Store::IsInSubtree(absl::string_view org_id,
                                        absl::string_view ancestor_id) const {
  std::string current(org_id);
  for (int depth = 0; depth < kMaxDepth; ++depth) {
    if (current == ancestor_id) return true;
    auto org = GetOrg(current);
    if (absl::IsNotFound(org.status())) return false;
    RETURN_IF_ERROR(org.status());
    if (org->parent_id().empty()) return false;
    current = org->parent_id();
  }
  return absl::DataLossError(
      absl::StrCat("parent chain of '", org_id, "' is too deep"));
}

absl::StatusOr<std::optional<std::string>> Store::GetLocal(
    absl::string_view key) const {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), cf_->local, Sl(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  RETURN_IF_ERROR(FromRocks(s, "local read"));
  return std::optional<std::string>(std::move(value));
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
Store::ScanLocal(absl::string_view prefix, absl::string_view after,
                 size_t limit) const {
  std::vector<std::pair<std::string, std::string>> out;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf_->local));
  const std::string start = absl::StrCat(prefix, after);
  for (it->Seek(Sl(start)); it->Valid() && out.size() < limit; it->Next()) {
    const absl::string_view key = Sv(it->key());
    if (!absl::StartsWith(key, prefix)) break;
    if (!after.empty() && key == start) continue;
    out.emplace_back(std::string(key.substr(prefix.size())),
                     std::string(Sv(it->value())));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "local scan"));
  return out;
}

std::string Store::DayOf(int64_t unix_ms) {
  static const absl::TimeZone kChina = absl::FixedTimeZone(8 * 3600);
  return absl::FormatCivilTime(
      absl::ToCivilDay(absl::FromUnixMillis(unix_ms), kChina));
}

absl::StatusOr<v1::SubtreeCounters> Store::GetScopeCounters(
    absl::string_view scope) const {
  auto r = GetProto<v1::SubtreeCounters>(cf_->progress, keys::ScopeKey(scope));
  if (absl::IsNotFound(r.status())) return v1::SubtreeCounters();
  return r;
}

absl::StatusOr<std::vector<std::string>> Store::ListScopes(
    absl::string_view prefix) const {
  std::vector<std::string> out;
  const std::string start = keys::ScopeKey(prefix);
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf_->progress));
  for (it->Seek(Sl(start)); it->Valid() && it->key().starts_with(Sl(start));
       it->Next()) {
    out.emplace_back(Sv(it->key()).substr(2));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "scope scan"));
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, v1::DayProgress>>>
Store::ReadDays(absl::string_view scope, absl::string_view from,
                absl::string_view to) const {
  std::vector<std::pair<std::string, v1::DayProgress>> out;
  const std::string prefix = keys::DayPrefix(scope);
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf_->progress));
  for (it->Seek(Sl(absl::StrCat(prefix, from)));
       it->Valid() && it->key().starts_with(Sl(prefix)); it->Next()) {
    std::string day(Sv(it->key()).substr(prefix.size()));
    if (!to.empty() && day > to) break;
    v1::DayProgress p;
    if (!p.ParseFromArray(it->value().data(),
                          static_cast<int>(it->value().size()))) {
      return absl::DataLossError(absl::StrCat("undecodable day ", day));
    }
    out.emplace_back(std::move(day), std::move(p));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "day scan"));
  return out;
}

absl::StatusOr<v1::OrgProgress> Store::GetOrgProgress(
    absl::string_view org_id) const {
  auto r =
      GetProto<v1::OrgProgress>(cf_->progress, keys::OrgProgressKey(org_id));
  if (absl::IsNotFound(r.status())) return v1::OrgProgress();
  return r;
}

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>>
Store::OriginTimes() const {
  std::vector<std::pair<std::string, int64_t>> out;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf_->progress));
  for (it->Seek("n/"); it->Valid() && it->key().starts_with("n/"); it->Next()) {
    out.emplace_back(
        std::string(Sv(it->key()).substr(2)),
        static_cast<int64_t>(keys::DecodeBigEndian64(Sv(it->value()))));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "origin scan"));
  return out;
}

absl::StatusOr<std::vector<v1::Org>> Store::ScanOrgs(absl::string_view after,
                                                     size_t limit) const {
  std::vector<v1::Org> out;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf_->orgs));
  for (it->Seek(Sl(after)); it->Valid() && out.size() < limit; it->Next()) {
    if (!after.empty() && Sv(it->key()) == after) continue;
    v1::Org o;
    if (!o.ParseFromArray(it->value().data(),
                          static_cast<int>(it->value().size()))) {
      return absl::DataLossError(
          absl::StrCat("undecodable organisation ", Sv(it->key())));
    }
    RETURN_IF_ERROR(OpenOrg(*vault_, &o));
    out.push_back(std::move(o));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "organisation scan"));
  return out;
}

absl::StatusOr<v1::Warning> Store::GetWarning(absl::string_view id) const {
  return GetProto<v1::Warning>(cf_->hub, keys::WarningKey(id));
}

absl::StatusOr<v1::Conflict> Store::GetConflict(absl::string_view id) const {
  return GetProto<v1::Conflict>(cf_->hub, keys::ConflictKey(id));
}

namespace {

template <typename T>
absl::StatusOr<std::vector<T>> ScanHub(const Vault& vault, rocksdb::DB* db,
                                       rocksdb::ColumnFamilyHandle* cf,
                                       const std::string& prefix,
                                       absl::string_view after, size_t limit) {
  std::vector<T> out;
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions(), cf));
  const std::string start = absl::StrCat(prefix, after);
  for (it->Seek(Sl(start));
       it->Valid() && it->key().starts_with(Sl(prefix)) && out.size() < limit;
       it->Next()) {
    if (!after.empty() && Sv(it->key()) == start) continue;
    T record;
    if (!record.ParseFromArray(it->value().data(),
                               static_cast<int>(it->value().size()))) {
      return absl::DataLossError(
          absl::StrCat("undecodable record ", Sv(it->key())));
    }
    RETURN_IF_ERROR(OpenStored(vault, &record));
    out.push_back(std::move(record));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "reconciliation scan"));
  return out;
}

}  // namespace

absl::StatusOr<std::vector<v1::Warning>> Store::ScanWarnings(
    absl::string_view after, size_t limit) const {
  return ScanHub<v1::Warning>(*vault_, db_.get(), cf_->hub, "w/", after, limit);
}

absl::StatusOr<std::vector<v1::Conflict>> Store::ScanConflicts(
    absl::string_view after, size_t limit) const {
  return ScanHub<v1::Conflict>(*vault_, db_.get(), cf_->hub, "x/", after,
                               limit);
}

absl::StatusOr<std::vector<std::string>> Store::WarningsOfOrg(
    absl::string_view org_id) const {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf_->index));
  return ScanSuffixes(it.get(), keys::OrgWarningPrefix(org_id), "",
                      std::numeric_limits<size_t>::max());
}

absl::StatusOr<v1::ExportRequest> Store::GetExportRequest(
    absl::string_view id) const {
  return GetProto<v1::ExportRequest>(cf_->hub, keys::ExportRequestKey(id));
}

absl::StatusOr<std::vector<v1::ExportApproval>> Store::ExportApprovals(
    absl::string_view request_id) const {
  return ScanHub<v1::ExportApproval>(*vault_, db_.get(), cf_->hub,
                                     keys::ExportApprovalPrefix(request_id), "",
                                     std::numeric_limits<size_t>::max());
}

absl::StatusOr<std::vector<std::string>> Store::ExportRequestsOfOrg(
    absl::string_view org_id) const {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf_->index));
  return ScanSuffixes(it.get(), keys::OrgExportPrefix(org_id), "",
                      std::numeric_limits<size_t>::max());
}

absl::StatusOr<std::vector<std::string>> Store::NodeOrgs() const {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf_->index));
  return ScanSuffixes(it.get(), "h/", "", std::numeric_limits<size_t>::max());
}

absl::StatusOr<std::vector<std::string>> Store::OrgsWithCreditCode(
    absl::string_view credit_code) const {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf_->index));
  return ScanSuffixes(it.get(), keys::CreditCodePrefix(credit_code), "",
                      std::numeric_limits<size_t>::max());
}

}  // namespace unionsync
