// The audit log: the hash chain, its verification and its search.
#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"
#include "store/keys.h"
#include "store/rocks_status.h"
#include "store/store.h"
#include "store/store_internal.h"

namespace unionsync {

using store_internal::ChainAudit;
using store_internal::DigestOfBytes;
using store_internal::kHashSize;
using store_internal::Serialize;
using store_internal::Sl;
using store_internal::Sv;

absl::StatusOr<std::vector<v1::AuditEntry>> Store::ReadAudit(
    uint64_t from, size_t limit) const {
  std::vector<v1::AuditEntry> out;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf_->audit));
  for (it->Seek(keys::BigEndian64(from)); it->Valid() && out.size() < limit;
       it->Next()) {
    v1::AuditEntry e;
    if (!e.ParseFromArray(it->value().data(),
                          static_cast<int>(it->value().size()))) {
      return absl::DataLossError(
          absl::StrCat("undecodable audit entry at seq ",
                       keys::DecodeBigEndian64(Sv(it->key()))));
    }
    out.push_back(std::move(e));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "audit scan"));
  return out;
}

std::string Store::AuditEntryHash(const v1::AuditEntry& entry) {
  v1::AuditEntry copy = entry;
  copy.clear_hash();
  return Sha256(Serialize(copy));
}

std::string Store::RecordDigest(const v1::Change& change) {
  switch (change.record_case()) {
    case v1::Change::kOrg:
      return DigestOfBytes('o', Serialize(change.org()));
    case v1::Change::kMember:
      return DigestOfBytes('m', Serialize(change.member()));
    case v1::Change::kAccount:
      return DigestOfBytes('a', Serialize(change.account()));
    default:
      return std::string(kHashSize, '\0');
  }
}

absl::StatusOr<std::optional<uint64_t>> Store::VerifyAuditChain() const {
  ASSIGN_OR_RETURN(AuditVerification v, VerifyAudit());
  if (v.intact) return std::optional<uint64_t>();
  return std::optional<uint64_t>(v.first_broken);
}

absl::StatusOr<AuditVerification> Store::VerifyAudit() const {
  AuditVerification out;
  // The head and a snapshot taken together, so commits during the walk
  // neither add entries the head does not cover nor move the head.
  const rocksdb::Snapshot* snapshot = nullptr;
  {
    absl::MutexLock lock(&commit_mu_);
    out.head = audit_head_;
    snapshot = db_->GetSnapshot();
  }
  struct Release {
    rocksdb::DB* db;
    const rocksdb::Snapshot* s;
    ~Release() { db->ReleaseSnapshot(s); }
  } release{db_.get(), snapshot};
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot;
  auto broken = [&](uint64_t seq, std::string detail) {
    out.intact = false;
    out.first_broken = seq;
    out.detail = std::move(detail);
    return out;
  };
  std::string prev(kHashSize, '\0');
  uint64_t expected = 1;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_->audit));
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++expected) {
    const uint64_t key_seq = keys::DecodeBigEndian64(Sv(it->key()));
    if (it->key().size() != 8 || key_seq != expected) {
      return broken(
          expected,
          key_seq > expected
              ? absl::StrCat("entry ", expected,
                             " is missing (the next one is ", key_seq, ")")
              : absl::StrCat("an entry with a malformed key follows "
                             "entry ",
                             expected - 1));
    }
    v1::AuditEntry e;
    if (!e.ParseFromArray(it->value().data(),
                          static_cast<int>(it->value().size()))) {
      return broken(expected,
                    absl::StrCat("entry ", expected, " cannot be decoded"));
    }
    if (e.seq() != expected) {
      return broken(expected, absl::StrCat("entry ", expected,
                                           " carries sequence ", e.seq()));
    }
    if (AuditEntryHash(e) != e.hash()) {
      return broken(expected,
                    absl::StrCat("entry ", expected,
                                 " was changed after it was written: its "
                                 "contents do not match its hash"));
    }
    if (e.prev_hash() != prev) {
      // This entry is intact in itself, so the one before it (intact in
      // itself too) was replaced with a recomputed hash.
      return broken(
          expected - 1,
          absl::StrCat("entry ", expected - 1, " was replaced after entry ",
                       expected, " was written: entry ", expected,
                       " links to another hash"));
    }
    prev = e.hash();
    ++out.entries;
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "audit scan"));
  const uint64_t last = expected - 1;
  if (out.head.seq > last) {
    return broken(last + 1,
                  absl::StrCat("entries ", last + 1, " to ", out.head.seq,
                               " are missing: the recorded head is "
                               "at ",
                               out.head.seq));
  }
  if (out.head.seq < last) {
    return broken(out.head.seq + 1,
                  absl::StrCat("entries ", out.head.seq + 1, " to ", last,
                               " were added behind the store's back: the "
                               "recorded head is at ",
                               out.head.seq));
  }
  if (out.head.hash != prev) {
    return broken(last, absl::StrCat("entry ", last,
                                     " was replaced: its hash is not the "
                                     "recorded head's"));
  }
  return out;
}

uint64_t Store::AuditSeqAtTime(int64_t t, uint64_t head, bool lower) const {
  uint64_t lo = 1, hi = head + 1;  // Answer in [lo, hi].
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    auto e = GetProto<v1::AuditEntry>(cf_->audit, keys::BigEndian64(mid));
    if (!e.ok()) return lower ? 1 : head + 1;  // Conservative.
    if (e->time_ms() >= t) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

absl::StatusOr<AuditPage> Store::SearchAudit(const AuditQuery& q) const {
  // Entry times are taken before the commit lock, so neighbours can be out of
  // order by a little; a clock stepped back makes it more. Search this much
  // wider and filter exactly.
  constexpr int64_t kSkewMs = 60'000;
  AuditPage page;
  const uint64_t head = audit_head().seq;
  uint64_t first = q.after_seq + 1;
  if (q.from_ms > 0) {
    first = std::max(first, AuditSeqAtTime(q.from_ms - kSkewMs, head, true));
  }
  uint64_t last = head;  // Inclusive.
  if (q.to_ms > 0) {
    last = std::min(last, AuditSeqAtTime(q.to_ms + kSkewMs, head, false) - 1);
  }
  if (first > last || q.limit == 0) return page;

  // Candidates come from the actor index, the organisation index or the log.
  std::string prefix;
  if (!q.actor.empty()) {
    prefix = keys::AuditActorPrefix(q.actor);
  } else if (!q.org_id.empty()) {
    prefix = keys::AuditOrgPrefix(q.org_id);
  }
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(
      rocksdb::ReadOptions(), prefix.empty() ? cf_->audit : cf_->index));
  it->Seek(Sl(prefix + keys::BigEndian64(first)));
  size_t examined = 0;
  // Organisations already placed inside or outside `subtree_of`.
  absl::flat_hash_map<std::string, bool> in_subtree;
  for (; it->Valid(); it->Next()) {
    const absl::string_view key = Sv(it->key());
    if (!absl::StartsWith(key, prefix)) break;
    if (key.size() != prefix.size() + 8) continue;  // Not this actor's.
    const uint64_t seq = keys::DecodeBigEndian64(key.substr(prefix.size()));
    if (seq > last) break;
    if (examined >= q.max_examined) {
      page.resume_after = seq - 1;
      return page;
    }
    ++examined;
    v1::AuditEntry e;
    if (prefix.empty()) {
      if (!e.ParseFromArray(it->value().data(),
                            static_cast<int>(it->value().size()))) {
        return absl::DataLossError(
            absl::StrCat("undecodable audit entry at seq ", seq));
      }
    } else {
      auto got = GetProto<v1::AuditEntry>(cf_->audit, keys::BigEndian64(seq));
      if (absl::IsNotFound(got.status())) continue;  // VerifyAudit says why.
      RETURN_IF_ERROR(got.status());
      e = *std::move(got);
    }
    if (!q.actor.empty() && e.actor() != q.actor) continue;
    if (!q.org_id.empty() && e.actor_org() != q.org_id &&
        e.target_org() != q.org_id) {
      continue;
    }
    if (!q.action.empty() && e.action() != q.action) continue;
    if (q.from_ms > 0 && e.time_ms() < q.from_ms) continue;
    if (q.to_ms > 0 && e.time_ms() >= q.to_ms) continue;
    if (!q.subtree_of.empty()) {
      auto inside = [&](const std::string& org) -> absl::StatusOr<bool> {
        if (org.empty()) return false;
        auto it = in_subtree.find(org);
        if (it != in_subtree.end()) return it->second;
        ASSIGN_OR_RETURN(bool in, IsInSubtree(org, q.subtree_of));
        in_subtree.emplace(org, in);
        return in;
      };
      ASSIGN_OR_RETURN(bool actor_in, inside(e.actor_org()));
      ASSIGN_OR_RETURN(bool target_in, inside(e.target_org()));
      if (!actor_in && !target_in) continue;
    }
    page.entries.push_back(std::move(e));
    if (page.entries.size() >= q.limit) {
      if (seq < last) page.resume_after = seq;
      return page;
    }
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "audit search"));
  return page;
}

namespace {

// The search index entries of one audit entry (keys.h).
void IndexAuditEntry(const v1::AuditEntry& e,
                     rocksdb::ColumnFamilyHandle* index,
                     rocksdb::WriteBatch* batch) {
  if (!e.actor().empty()) {
    batch->Put(index, Sl(keys::AuditActorKey(e.actor(), e.seq())), "");
  }
  if (!e.actor_org().empty()) {
    batch->Put(index, Sl(keys::AuditOrgKey(e.actor_org(), e.seq())), "");
  }
  if (!e.target_org().empty() && e.target_org() != e.actor_org()) {
    batch->Put(index, Sl(keys::AuditOrgKey(e.target_org(), e.seq())), "");
  }
}

}  // namespace

namespace store_internal {

void ChainAudit(const std::vector<v1::AuditEntry>& entries, const Clock* clock,
                AuditHead* head, rocksdb::WriteBatch* batch,
                rocksdb::ColumnFamilyHandle* cf,
                rocksdb::ColumnFamilyHandle* index,
                std::vector<uint64_t>* seqs) {
  for (const v1::AuditEntry& in : entries) {
    v1::AuditEntry e = in;
    e.set_seq(head->seq + 1);
    if (e.time_ms() == 0) e.set_time_ms(clock->NowMs());
    e.set_prev_hash(head->hash);
    e.set_hash(Store::AuditEntryHash(e));
    batch->Put(cf, Sl(keys::BigEndian64(e.seq())), Serialize(e));
    IndexAuditEntry(e, index, batch);
    head->seq = e.seq();
    head->hash = e.hash();
    if (seqs != nullptr) seqs->push_back(e.seq());
  }
}

}  // namespace store_internal

absl::Status Store::IndexOldAudit() {
  std::string marker;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_->meta,
                               keys::kMetaAuditIndexed, &marker);
  if (s.ok()) return absl::OkStatus();
  if (!s.IsNotFound()) return FromRocks(s, "reading the audit index marker");
  absl::MutexLock lock(&commit_mu_);
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf_->audit));
  rocksdb::WriteBatch batch;
  rocksdb::WriteOptions wo;
  wo.sync = sync_;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    v1::AuditEntry e;
    // Undecodable entries are VerifyAudit's to report.
    if (!e.ParseFromArray(it->value().data(),
                          static_cast<int>(it->value().size()))) {
      continue;
    }
    IndexAuditEntry(e, cf_->index, &batch);
    if (batch.Count() >= 30'000) {
      RETURN_IF_ERROR(FromRocks(db_->Write(wo, &batch), "audit index"));
      batch.Clear();
    }
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "audit scan"));
  batch.Put(cf_->meta, keys::kMetaAuditIndexed, "1");
  return FromRocks(db_->Write(wo, &batch), "audit index");
}

}  // namespace unionsync
