// Re-encryption of a store under the vault's active keys (Store::Reseal)
// and the check that the key file holds every key records are sealed under.
#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"
#include "store/keys.h"
#include "store/rocks_status.h"
#include "store/store.h"
#include "store/store_internal.h"
#include "vault/records.h"
#include "vault/vault.h"

namespace unionsync {

using store_internal::SerializeSealed;
using store_internal::Sl;
using store_internal::Sv;

namespace {

// Writes `batch` once it is large, so a reseal of millions of records never
// holds them all in memory.
absl::Status FlushIfLarge(rocksdb::DB* db, rocksdb::WriteBatch* batch) {
  if (batch->Count() < 10'000) return absl::OkStatus();
  rocksdb::WriteOptions wo;
  RETURN_IF_ERROR(FromRocks(db->Write(wo, batch), "reseal"));
  batch->Clear();
  return absl::OkStatus();
}

// Calls `fn` with every record of type T under `prefix` in `cf`, as stored
// (sealed fields not opened).
template <typename T, typename Fn>
absl::Status ForEachStored(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                           const std::string& prefix, absl::string_view what,
                           Fn fn) {
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions(), cf));
  for (it->Seek(Sl(prefix)); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    T record;
    if (!record.ParseFromArray(it->value().data(),
                               static_cast<int>(it->value().size()))) {
      return absl::DataLossError(absl::StrCat(
          "reseal: undecodable ", what, " at key ", HexEncode(Sv(it->key()))));
    }
    RETURN_IF_ERROR(fn(it->key(), record));
  }
  return FromRocks(it->status(), absl::StrCat("reseal: ", what, " scan"));
}

// Counts the data key of a sealed value (0: plaintext personal data).
void CountSealed(absl::string_view sealed, bool has_plain,
                 std::map<uint32_t, uint64_t>* under) {
  if (!sealed.empty()) {
    ++(*under)[Vault::KeyOf(sealed)];
  } else if (has_plain) {
    ++(*under)[0];
  }
}

}  // namespace

absl::Status Store::CheckDataKeys(const std::string& path) {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), cf_->meta, keys::kMetaDataKeys, &value);
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "reading data keys");
  // "<number>:<check>" per key records may be sealed under.
  std::vector<std::string> in_use =
      absl::StrSplit(value, ',', absl::SkipEmpty());
  std::vector<std::string> missing;
  for (const std::string& entry : in_use) {
    const size_t colon = entry.find(':');
    uint32_t id = 0;
    if (colon == std::string::npos ||
        !absl::SimpleAtoi(entry.substr(0, colon), &id)) {
      return absl::DataLossError(
          absl::StrCat("store ", path, " has damaged metadata (data keys)"));
    }
    const std::string held = vault_->DataKeyCheck(id);
    if (held.empty()) {
      missing.push_back(absl::StrCat(id));
    } else if (held != entry) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the key file's data key ", id,
          " is not the one this store's records are sealed with (another "
          "node's key file, or an old one?); use this node's own key file "
          "(docs/KEYS.md)"));
    }
  }
  if (!missing.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "store ", path, " may hold records sealed under data key(s) ",
        absl::StrJoin(missing, ", "),
        ", which the key file does not hold; put them back (a data key is "
        "retired only after unionsync-node --reseal; docs/KEYS.md)"));
  }
  const std::string active = vault_->DataKeyCheck(vault_->active_key());
  if (std::find(in_use.begin(), in_use.end(), active) == in_use.end()) {
    in_use.push_back(active);
    rocksdb::WriteOptions wo;
    wo.sync = sync_;
    RETURN_IF_ERROR(FromRocks(db_->Put(wo, cf_->meta, keys::kMetaDataKeys,
                                       absl::StrJoin(in_use, ",")),
                              "recording data keys"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ResealStats> Store::Reseal() {
  absl::MutexLock lock(&commit_mu_);
  RETURN_IF_ERROR(sticky_error_);
  const Vault& vault = *vault_;
  ResealStats stats;
  rocksdb::WriteOptions durable;
  durable.sync = sync_;
  RETURN_IF_ERROR(FromRocks(
      db_->Put(durable, cf_->meta, keys::kMetaResealPending, "1"), "reseal"));
  rocksdb::WriteBatch batch;

  // Members, and the ID-number index rebuilt from them under the index key:
  // every "n/" key goes ('/' + 1 == '0'); one scratch key per active member
  // ("r/<token>/<member>", sorted by token) is grouped into "n/<token>"
  // afterwards, so the rebuild never holds the index in memory.
  RETURN_IF_ERROR(
      FromRocks(batch.DeleteRange(cf_->index, "n/", "n0"), "reseal index"));
  RETURN_IF_ERROR(
      FromRocks(batch.DeleteRange(cf_->index, "r/", "r0"), "reseal index"));
  RETURN_IF_ERROR(ForEachStored<v1::Member>(
      db_.get(), cf_->members, "", "member",
      [&](const rocksdb::Slice& key, v1::Member& m) -> absl::Status {
        CountSealed(m.sealed(), !m.id_number().empty() || !m.phone().empty(),
                    &stats.sealed_under);
        const bool rewrite = NeedsReseal(vault, m);
        RETURN_IF_ERROR(OpenMember(vault, &m));
        if (m.status() == v1::MEMBER_ACTIVE) {
          batch.Put(cf_->index,
                    Sl(keys::ResealIdKey(IdNumberToken(vault, m.id_number()),
                                         m.id())),
                    "");
          ++stats.index_entries;
        }
        if (!rewrite) return FlushIfLarge(db_.get(), &batch);
        ASSIGN_OR_RETURN(std::string stored,
                         SerializeSealed(vault, m, SealMember));
        batch.Put(cf_->members, key, stored);
        ++stats.members;
        return FlushIfLarge(db_.get(), &batch);
      }));
  RETURN_IF_ERROR(
      FromRocks(db_->Write(rocksdb::WriteOptions(), &batch), "reseal index"));
  batch.Clear();
  {
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), cf_->index));
    std::string token;
    std::vector<std::string> holders;
    auto emit = [&]() -> absl::Status {
      if (holders.empty()) return absl::OkStatus();
      batch.Put(cf_->index, Sl(keys::IdNumberKey(token)),
                Sl(absl::StrJoin(holders, ",")));
      holders.clear();
      return FlushIfLarge(db_.get(), &batch);
    };
    for (it->Seek("r/"); it->Valid() && it->key().starts_with("r/");
         it->Next()) {
      const absl::string_view rest = Sv(it->key()).substr(2);
      const size_t slash = rest.find('/');
      if (slash == absl::string_view::npos) continue;
      if (rest.substr(0, slash) != token) {
        RETURN_IF_ERROR(emit());
        token = std::string(rest.substr(0, slash));
      }
      holders.emplace_back(rest.substr(slash + 1));
    }
    RETURN_IF_ERROR(FromRocks(it->status(), "reseal: index scan"));
    RETURN_IF_ERROR(emit());
    RETURN_IF_ERROR(
        FromRocks(batch.DeleteRange(cf_->index, "r/", "r0"), "reseal index"));
  }
  RETURN_IF_ERROR(ForEachStored<v1::Org>(
      db_.get(), cf_->orgs, "", "organisation",
      [&](const rocksdb::Slice& key, v1::Org& o) -> absl::Status {
        CountSealed(o.sealed(),
                    !o.chair().phone().empty() ||
                        !o.data_admin().phone().empty() ||
                        !o.contact().phone().empty(),
                    &stats.sealed_under);
        if (!NeedsReseal(vault, o)) return absl::OkStatus();
        RETURN_IF_ERROR(OpenOrg(vault, &o));
        ASSIGN_OR_RETURN(std::string stored,
                         SerializeSealed(vault, o, SealOrg));
        batch.Put(cf_->orgs, key, stored);
        ++stats.orgs;
        return FlushIfLarge(db_.get(), &batch);
      }));
  // A conflict (in the hub column family or in a log entry) needs a reseal
  // when any side does.
  auto conflict_needs = [&vault](const v1::Conflict& c) {
    for (const v1::ConflictSide& side : c.sides()) {
      if ((side.has_member() && NeedsReseal(vault, side.member())) ||
          (side.has_org() && NeedsReseal(vault, side.org()))) {
        return true;
      }
    }
    return false;
  };
  RETURN_IF_ERROR(ForEachStored<v1::Conflict>(
      db_.get(), cf_->hub, keys::ConflictKey(""), "conflict",
      [&](const rocksdb::Slice& key, v1::Conflict& c) -> absl::Status {
        if (!conflict_needs(c)) return absl::OkStatus();
        RETURN_IF_ERROR(OpenConflict(vault, &c));
        ASSIGN_OR_RETURN(std::string stored,
                         SerializeSealed(vault, c, SealConflict));
        batch.Put(cf_->hub, key, stored);
        ++stats.conflicts;
        return FlushIfLarge(db_.get(), &batch);
      }));
  RETURN_IF_ERROR(ForEachStored<v1::Change>(
      db_.get(), cf_->log, "", "log entry",
      [&](const rocksdb::Slice& key, v1::Change& c) -> absl::Status {
        const bool rewrite =
            (c.has_member() && NeedsReseal(vault, c.member())) ||
            (c.has_org() && NeedsReseal(vault, c.org())) ||
            (c.has_conflict() && conflict_needs(c.conflict()));
        if (!rewrite) return absl::OkStatus();
        RETURN_IF_ERROR(OpenChange(vault, &c));
        ASSIGN_OR_RETURN(std::string stored,
                         SerializeSealed(vault, c, SealChange));
        batch.Put(cf_->log, key, stored);
        ++stats.log_entries;
        return FlushIfLarge(db_.get(), &batch);
      }));
  batch.Put(cf_->meta, keys::kMetaIndexKey, vault.IndexKeyCheck());
  batch.Put(cf_->meta, keys::kMetaDataKeys,
            vault.DataKeyCheck(vault.active_key()));
  batch.Put(cf_->meta, keys::kMetaSchema, keys::kSchemaVersion);
  RETURN_IF_ERROR(FromRocks(db_->Write(durable, &batch), "reseal"));
  // Compaction drops the old values from the files, so a retired key (or
  // the plaintext of a store written before sealing) no longer decrypts
  // anything on disk.
  rocksdb::CompactRangeOptions compact;
  compact.bottommost_level_compaction =
      rocksdb::BottommostLevelCompaction::kForce;
  for (rocksdb::ColumnFamilyHandle* cf :
       {cf_->members, cf_->orgs, cf_->hub, cf_->log, cf_->index}) {
    RETURN_IF_ERROR(FromRocks(db_->CompactRange(compact, cf, nullptr, nullptr),
                              "reseal compaction"));
  }
  // Only now: a crash before this point makes the next open run it again,
  // compaction included.
  RETURN_IF_ERROR(FromRocks(
      db_->Delete(durable, cf_->meta, keys::kMetaResealPending), "reseal"));

  needs_reseal_ = false;
  return stats;
}

}  // namespace unionsync
