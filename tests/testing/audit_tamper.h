// Tampering with a closed store's audit log behind its back, as someone with
// access to the files would: for tests of VerifyAudit, `unionctl audit verify`
// and the audit chain heads that travel with replication.
#ifndef UNIONSYNC_TESTS_TESTING_AUDIT_TAMPER_H_
#define UNIONSYNC_TESTS_TESTING_AUDIT_TAMPER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/write_batch.h"
#include "store/keys.h"
#include "store/store.h"
#include "unionsync/v1/model.pb.h"

namespace unionsync::testing {

// Opens the closed store at `path` (in `env`; nullptr: the file system) with
// raw RocksDB, hands every audit entry to `mutate` (which may change, remove
// or append entries) and writes the result back. With `rechain`, the forger
// knows the scheme: seqs, links and hashes are recomputed from the first entry
// on and the recorded head follows, so the log is consistent in itself; without
// it, changed entries are written as they are (their hashes no longer match).
inline absl::Status TamperAuditLog(
    const std::string& path, rocksdb::Env* env,
    const std::function<void(std::vector<v1::AuditEntry>&)>& mutate,
    bool rechain) {
  rocksdb::Options options;
  if (env != nullptr) options.env = env;
  std::vector<std::string> names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(options, path, &names);
  if (!s.ok()) return absl::InternalError(s.ToString());
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& n : names) {
    descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions());
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  s = rocksdb::DB::Open(options, path, descriptors, &handles, &raw);
  if (!s.ok()) return absl::InternalError(s.ToString());
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::ColumnFamilyHandle* audit = nullptr;
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == keys::kAudit) audit = handles[i];
    if (names[i] == rocksdb::kDefaultColumnFamilyName) meta = handles[i];
  }
  absl::Status result = [&]() -> absl::Status {
    std::vector<v1::AuditEntry> entries;
    std::unique_ptr<rocksdb::Iterator> it(
        db->NewIterator(rocksdb::ReadOptions(), audit));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      v1::AuditEntry e;
      if (!e.ParseFromArray(it->value().data(),
                            static_cast<int>(it->value().size()))) {
        return absl::DataLossError("undecodable audit entry");
      }
      entries.push_back(std::move(e));
    }
    const size_t before = entries.size();
    mutate(entries);
    rocksdb::WriteBatch batch;
    std::string prev(32, '\0');
    for (size_t i = 0; i < entries.size(); ++i) {
      v1::AuditEntry& e = entries[i];
      if (rechain) {
        e.set_seq(i + 1);
        e.set_prev_hash(prev);
        e.set_hash(Store::AuditEntryHash(e));
        prev = e.hash();
      }
      std::string value;
      e.SerializeToString(&value);
      batch.Put(audit, keys::BigEndian64(rechain ? i + 1 : e.seq()), value);
    }
    if (rechain) {
      for (size_t i = entries.size(); i < before; ++i) {
        batch.Delete(audit, keys::BigEndian64(i + 1));
      }
      batch.Put(meta, keys::kMetaAuditHead,
                keys::BigEndian64(entries.size()) + prev);
    }
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = db->Write(wo, &batch);
    if (!s.ok()) return absl::InternalError(s.ToString());
    return absl::OkStatus();
  }();
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  return result;
}

// Changes the detail of entry `seq` without fixing any hash.
inline absl::Status TamperAuditDetail(const std::string& path,
                                      rocksdb::Env* env, uint64_t seq,
                                      const std::string& detail) {
  return TamperAuditLog(
      path, env,
      [&](std::vector<v1::AuditEntry>& entries) {
        for (auto& e : entries) {
          if (e.seq() == seq) e.set_detail(detail);
        }
      },
      /*rechain=*/false);
}

}  // namespace unionsync::testing

#endif  // UNIONSYNC_TESTS_TESTING_AUDIT_TAMPER_H_
