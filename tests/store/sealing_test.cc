// Personal data at rest in the store (issue 5, item 6): ID and phone numbers
// are sealed in every column family, indexed by keyed hash, and survive data
// and index key rotation; stores written before sealing are migrated.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "rocksdb/db.h"
#include "store/keys.h"
#include "store/store.h"
#include "store/store_testing.h"
#include "testing/status_matchers.h"
#include "testing/store_checks.h"
#include "testing/test_vault.h"
#include "vault/records.h"
#include "vault/vault.h"

namespace unionsync {
namespace {

using ::testing::HasSubstr;
using ::unionsync::testing::CheckStoreInvariants;
using ::unionsync::testing::StatusIs;

constexpr char kIdNumber[] = "430102199003077719";
constexpr char kPhone[] = "13812345678";
constexpr char kChairPhone[] = "13987654321";

using ::unionsync::testing::MakeOrg;
using ::unionsync::testing::RawFiles;
using ::unionsync::testing::TempDir;

std::string Key(char c) { return std::string(Vault::kKeyBytes, c); }

std::shared_ptr<const Vault> MakeVault(
    const std::map<uint32_t, std::string>& data, uint32_t active,
    char index = 'i', uint32_t index_id = 1) {
  auto v =
      Vault::Parse(Vault::Format(index_id, Key(index), data, active), "test");
  EXPECT_TRUE(v.ok()) << v.status();
  return *v;
}

absl::StatusOr<std::unique_ptr<Store>> OpenWith(
    const std::string& path, std::shared_ptr<const Vault> vault,
    bool reseal = false) {
  StoreOptions o;
  o.path = path;
  o.node_id = "city";
  o.vault = std::move(vault);
  o.reseal = reseal;
  return Store::Open(o);
}

v1::Member MakeMember(const std::string& id, const std::string& org,
                      const std::string& id_number, const std::string& phone) {
  v1::Member m;
  m.set_id(id);
  m.set_org_id(org);
  m.set_name("测试人员");
  m.set_id_number(id_number);
  m.set_phone(phone);
  m.set_status(v1::MEMBER_ACTIVE);
  return m;
}

// city -> g1 with a chair's phone, member m1; a conflict naming m1.
absl::Status Populate(Store& store) {
  WriteSet w;
  w.PutOrg(MakeOrg("city", "", v1::CITY_FEDERATION, 1));
  v1::Org g1 = MakeOrg("g1", "city", v1::INDEPENDENT_GRASSROOTS, 2);
  w.PutOrg(g1);
  RETURN_IF_ERROR(store.Commit(w, "t").status());
  WriteSet profile;
  g1.mutable_chair()->set_name("主席");
  g1.mutable_chair()->set_phone(kChairPhone);
  profile.PutOrgProfile(g1);
  profile.PutMember(MakeMember("m1", "g1", kIdNumber, kPhone));
  RETURN_IF_ERROR(store.Commit(profile, "t").status());
  WriteSet c;
  v1::Conflict conflict;
  conflict.set_id("person/x");
  conflict.set_kind(v1::DUPLICATE_PERSON);
  conflict.set_state(v1::CONFLICT_OPEN);
  conflict.set_anchor_org("city");
  ASSIGN_OR_RETURN(v1::Member m1, store.GetMember("m1"));
  *conflict.add_sides()->mutable_member() = m1;
  c.PutConflict(conflict);
  return store.Commit(c, "t").status();
}

// Every key and value in every column family of the closed store at `path`,
// read with raw RocksDB (as someone who copied the files would).
std::string RawContents(const std::string& path) {
  rocksdb::Options options;
  std::vector<std::string> names;
  EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(options, path, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> d;
  for (auto& n : names) d.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> h;
  rocksdb::DB* db = nullptr;
  EXPECT_TRUE(rocksdb::DB::OpenForReadOnly(options, path, d, &h, &db).ok());
  std::string all;
  for (auto* cf : h) {
    std::unique_ptr<rocksdb::Iterator> it(
        db->NewIterator(rocksdb::ReadOptions(), cf));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      absl::StrAppend(&all, it->key().ToString(), "\n", it->value().ToString(),
                      "\n");
    }
  }
  for (auto* x : h) db->DestroyColumnFamilyHandle(x);
  delete db;
  return all;
}

// Rewrites the closed store at `path` with raw RocksDB.
void RawEdit(const std::string& path,
             const std::function<void(
                 rocksdb::DB*,
                 std::map<std::string, rocksdb::ColumnFamilyHandle*>&)>& edit) {
  rocksdb::Options options;
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(options, path, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> d;
  for (auto& n : names) d.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> h;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(options, path, d, &h, &db).ok());
  std::map<std::string, rocksdb::ColumnFamilyHandle*> cf;
  for (size_t i = 0; i < names.size(); ++i) cf[names[i]] = h[i];
  edit(db, cf);
  for (auto* x : h) db->DestroyColumnFamilyHandle(x);
  delete db;
}

TEST(SealingTest, NoPlaintextPersonalDataInAnyColumnFamilyOrFile) {
  TempDir dir;
  auto vault = testing::TestVault("city");
  {
    ASSERT_OK_AND_ASSIGN(auto store, OpenWith(dir.path(), vault));
    ASSERT_OK(Populate(*store));
    // Everything above the store sees plaintext.
    ASSERT_OK_AND_ASSIGN(v1::Member m, store->GetMember("m1"));
    EXPECT_EQ(m.id_number(), kIdNumber);
    EXPECT_EQ(m.phone(), kPhone);
    EXPECT_TRUE(m.sealed().empty());
    ASSERT_OK_AND_ASSIGN(v1::Org g1, store->GetOrg("g1"));
    EXPECT_EQ(g1.chair().phone(), kChairPhone);
    ASSERT_OK_AND_ASSIGN(auto log, store->ReadLog(1, 100));
    bool logged = false;
    for (const v1::Change& c : log) {
      if (c.has_member()) {
        EXPECT_EQ(c.member().id_number(), kIdNumber);
        EXPECT_TRUE(c.member().sealed().empty());
        logged = true;
      }
    }
    EXPECT_TRUE(logged);
    ASSERT_OK_AND_ASSIGN(v1::Conflict conflict, store->GetConflict("person/x"));
    EXPECT_EQ(conflict.sides(0).member().id_number(), kIdNumber);
    ASSERT_OK_AND_ASSIGN(v1::Member found,
                         store->FindMemberByIdNumber(kIdNumber));
    EXPECT_EQ(found.id(), "m1");
    EXPECT_OK(CheckStoreInvariants(*store, "city"));
  }
  const std::string raw = RawContents(dir.path());
  EXPECT_THAT(raw, HasSubstr("测试人员"));  // The check can see records.
  EXPECT_THAT(raw, ::testing::Not(HasSubstr(kIdNumber)));
  EXPECT_THAT(raw, ::testing::Not(HasSubstr(kPhone)));
  EXPECT_THAT(raw, ::testing::Not(HasSubstr(kChairPhone)));
  // The index key is the keyed hash.
  EXPECT_THAT(raw, HasSubstr(IdNumberToken(*vault, kIdNumber)));
  const std::string files = RawFiles(dir.path());
  EXPECT_THAT(files, ::testing::Not(HasSubstr(kIdNumber)));
  EXPECT_THAT(files, ::testing::Not(HasSubstr(kPhone)));
}

TEST(SealingTest, WrongKeysFailClearlyAndTamperingIsDetected) {
  TempDir dir;
  {
    ASSERT_OK_AND_ASSIGN(auto store,
                         OpenWith(dir.path(), MakeVault({{1, Key('a')}}, 1)));
    ASSERT_OK(Populate(*store));
    WriteSet w;
    w.PutMember(MakeMember("m2", "g1", "430102199003077727", "13800000001"));
    ASSERT_OK(store->Commit(w, "t").status());
  }
  // Another index key: refused at open, naming the way out.
  EXPECT_THAT(
      OpenWith(dir.path(), MakeVault({{1, Key('a')}}, 1, 'j')),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("--reseal")));
  // The data key is missing: refused at open, saying which.
  EXPECT_THAT(OpenWith(dir.path(), MakeVault({{2, Key('b')}}, 2)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("data key(s) 1,")));
  // Another node's key file (a different key under the same number): refused
  // at open, before anything could be written under the wrong key.
  EXPECT_THAT(OpenWith(dir.path(), MakeVault({{1, Key('b')}}, 1)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("is not the one this store's records")));
  // Swap the sealed fields of two members behind the store's back.
  RawEdit(dir.path(), [](rocksdb::DB* db, auto& cf) {
    std::string a, b;
    ASSERT_TRUE(db->Get({}, cf[keys::kMembers], "m1", &a).ok());
    ASSERT_TRUE(db->Get({}, cf[keys::kMembers], "m2", &b).ok());
    v1::Member ma, mb;
    ASSERT_TRUE(ma.ParseFromString(a));
    ASSERT_TRUE(mb.ParseFromString(b));
    ASSERT_FALSE(ma.sealed().empty());
    std::string sa = ma.sealed();
    ma.set_sealed(mb.sealed());
    mb.set_sealed(sa);
    ASSERT_TRUE(
        db->Put({}, cf[keys::kMembers], "m1", ma.SerializeAsString()).ok());
    ASSERT_TRUE(
        db->Put({}, cf[keys::kMembers], "m2", mb.SerializeAsString()).ok());
  });
  ASSERT_OK_AND_ASSIGN(auto store,
                       OpenWith(dir.path(), MakeVault({{1, Key('a')}}, 1)));
  EXPECT_THAT(store->GetMember("m1"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("member 'm1'")));
}

TEST(SealingTest, SealedFieldsAreNeverAcceptedFromWritersOrPeers) {
  TempDir dir;
  auto vault = testing::TestVault("city");
  ASSERT_OK_AND_ASSIGN(auto store, OpenWith(dir.path(), vault));
  ASSERT_OK(Populate(*store));
  v1::Member m = MakeMember("m9", "g1", "430102199003077735", "");
  m.set_sealed("anything");
  WriteSet w;
  w.PutMember(m);
  const uint64_t before = store->next_log_pos();
  EXPECT_THAT(store->Commit(w, "t"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("'sealed' field")));
  EXPECT_EQ(store->next_log_pos(), before);
  // Member ids are identifiers: a comma would split an index entry.
  WriteSet bad_id;
  bad_id.PutMember(MakeMember("x,y", "g1", "430102199003077735", ""));
  EXPECT_THAT(
      store->Commit(bad_id, "t"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("member id")));
  EXPECT_EQ(store->next_log_pos(), before);
}

TEST(SealingTest, DataKeyRotationWithoutDowntimeThenReseal) {
  TempDir dir;
  auto k1 = MakeVault({{1, Key('a')}}, 1);
  auto k12 = MakeVault({{1, Key('a')}, {2, Key('b')}}, 2);
  auto k2 = MakeVault({{2, Key('b')}}, 2);
  {
    ASSERT_OK_AND_ASSIGN(auto store, OpenWith(dir.path(), k1));
    ASSERT_OK(Populate(*store));
  }
  {
    // Step 1: a second data key becomes active. Old records still read; new
    // ones are sealed under key 2.
    ASSERT_OK_AND_ASSIGN(auto store, OpenWith(dir.path(), k12));
    ASSERT_OK_AND_ASSIGN(v1::Member m1, store->GetMember("m1"));
    EXPECT_EQ(m1.id_number(), kIdNumber);
    WriteSet w;
    w.PutMember(MakeMember("m2", "g1", "430102199003077727", "13800000001"));
    ASSERT_OK(store->Commit(w, "t").status());
  }
  RawEdit(dir.path(), [](rocksdb::DB* db, auto& cf) {
    std::string v;
    ASSERT_TRUE(db->Get({}, cf[keys::kMembers], "m2", &v).ok());
    v1::Member m;
    ASSERT_TRUE(m.ParseFromString(v));
    EXPECT_EQ(Vault::KeyOf(m.sealed()), 2u);
  });
  // Without the reseal, key 1 cannot be retired: the store refuses to open.
  EXPECT_THAT(OpenWith(dir.path(), k2),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("data key(s) 1,")));
  {
    // Step 2: reseal re-encrypts everything under key 2.
    ASSERT_OK_AND_ASSIGN(auto store, OpenWith(dir.path(), k12, true));
    const ResealStats& r = store->open_reseal();
    EXPECT_EQ(r.members, 1u);  // m1 (m2 is already under key 2).
    EXPECT_EQ(r.orgs, 1u);     // g1's chair phone.
    EXPECT_EQ(r.conflicts, 1u);
    EXPECT_GE(r.log_entries, 3u);  // g1's profile, m1, the conflict.
    EXPECT_EQ(r.index_entries, 2u);
    EXPECT_EQ(r.sealed_under.at(1), 2u);  // m1 and g1.
    EXPECT_EQ(r.sealed_under.at(2), 1u);  // m2.
    // A second reseal has nothing left to do.
    ASSERT_OK_AND_ASSIGN(ResealStats again, store->Reseal());
    EXPECT_EQ(again.members + again.orgs + again.conflicts + again.log_entries,
              0u);
  }
  // Step 3: key 1 is retired; everything reads.
  ASSERT_OK_AND_ASSIGN(auto store, OpenWith(dir.path(), k2));
  ASSERT_OK_AND_ASSIGN(v1::Member m1, store->GetMember("m1"));
  EXPECT_EQ(m1.phone(), kPhone);
  ASSERT_OK_AND_ASSIGN(v1::Org g1, store->GetOrg("g1"));
  EXPECT_EQ(g1.chair().phone(), kChairPhone);
  ASSERT_OK_AND_ASSIGN(v1::Conflict c, store->GetConflict("person/x"));
  EXPECT_EQ(c.sides(0).member().id_number(), kIdNumber);
  ASSERT_OK_AND_ASSIGN(auto log, store->ReadLog(1, 1000));
  EXPECT_FALSE(log.empty());
  ASSERT_OK_AND_ASSIGN(auto snapshot, store->OrgSnapshot("g1"));
  EXPECT_FALSE(snapshot.empty());
  EXPECT_OK(CheckStoreInvariants(*store, "city"));
}

TEST(SealingTest, IndexKeyRotationRebuildsTheIndex) {
  TempDir dir;
  {
    ASSERT_OK_AND_ASSIGN(auto store,
                         OpenWith(dir.path(), MakeVault({{1, Key('a')}}, 1)));
    ASSERT_OK(Populate(*store));
  }
  auto rotated = MakeVault({{1, Key('a')}}, 1, 'j', 2);
  ASSERT_OK_AND_ASSIGN(auto store, OpenWith(dir.path(), rotated, true));
  EXPECT_EQ(store->open_reseal().index_entries, 1u);
  ASSERT_OK_AND_ASSIGN(v1::Member found,
                       store->FindMemberByIdNumber(kIdNumber));
  EXPECT_EQ(found.id(), "m1");
  // The one-person-one-union rule still holds under the new index.
  WriteSet w;
  w.PutMember(MakeMember("m3", "g1", kIdNumber, ""));
  EXPECT_THAT(store->Commit(w, "t"),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_OK(CheckStoreInvariants(*store, "city"));
}

// A store written before sealing existed (schema 3: plaintext numbers, the
// index keyed by the number itself) is migrated when opened.
TEST(SealingTest, PlaintextStoreOfSchema3IsMigratedWhenOpened) {
  TempDir dir;
  auto vault = testing::TestVault("city");
  {
    ASSERT_OK_AND_ASSIGN(auto store, OpenWith(dir.path(), vault));
    ASSERT_OK(Populate(*store));
  }
  // Turn it back into what schema 3 wrote.
  RawEdit(dir.path(), [&](rocksdb::DB* db, auto& cf) {
    std::string v;
    ASSERT_TRUE(db->Get({}, cf[keys::kMembers], "m1", &v).ok());
    v1::Member m;
    ASSERT_TRUE(m.ParseFromString(v));
    ASSERT_OK(OpenMember(*vault, &m));
    ASSERT_TRUE(
        db->Put({}, cf[keys::kMembers], "m1", m.SerializeAsString()).ok());
    ASSERT_TRUE(db->Get({}, cf[keys::kOrgs], "g1", &v).ok());
    v1::Org o;
    ASSERT_TRUE(o.ParseFromString(v));
    ASSERT_OK(OpenOrg(*vault, &o));
    ASSERT_TRUE(db->Put({}, cf[keys::kOrgs], "g1", o.SerializeAsString()).ok());
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}, cf[keys::kLog]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      v1::Change c;
      ASSERT_TRUE(c.ParseFromString(it->value().ToString()));
      ASSERT_OK(OpenChange(*vault, &c));
      ASSERT_TRUE(
          db->Put({}, cf[keys::kLog], it->key(), c.SerializeAsString()).ok());
    }
    ASSERT_TRUE(
        db->Get({}, cf[keys::kHub], keys::ConflictKey("person/x"), &v).ok());
    v1::Conflict conflict;
    ASSERT_TRUE(conflict.ParseFromString(v));
    ASSERT_OK(OpenConflict(*vault, &conflict));
    ASSERT_TRUE(db->Put({}, cf[keys::kHub], keys::ConflictKey("person/x"),
                        conflict.SerializeAsString())
                    .ok());
    ASSERT_TRUE(db->DeleteRange({}, cf[keys::kIndex], "n/", "n0").ok());
    ASSERT_TRUE(
        db->Put({}, cf[keys::kIndex], absl::StrCat("n/", kIdNumber, "/m1"), "")
            .ok());
    ASSERT_TRUE(db->Put({}, cf["default"], keys::kMetaSchema, "3").ok());
    ASSERT_TRUE(db->Delete({}, cf["default"], keys::kMetaIndexKey).ok());
  });
  ASSERT_THAT(RawContents(dir.path()), HasSubstr(kIdNumber));
  {
    ASSERT_OK_AND_ASSIGN(auto store, OpenWith(dir.path(), vault));
    const ResealStats& r = store->open_reseal();
    EXPECT_EQ(r.sealed_under.at(0), 2u);  // m1 and g1 were in plaintext.
    EXPECT_EQ(r.members, 1u);
    EXPECT_EQ(r.conflicts, 1u);
    ASSERT_OK_AND_ASSIGN(v1::Member found,
                         store->FindMemberByIdNumber(kIdNumber));
    EXPECT_EQ(found.phone(), kPhone);
    EXPECT_OK(CheckStoreInvariants(*store, "city"));
  }
  EXPECT_THAT(RawContents(dir.path()), ::testing::Not(HasSubstr(kIdNumber)));
  // Compaction dropped the plaintext from the files, not just from the view.
  EXPECT_THAT(RawFiles(dir.path()), ::testing::Not(HasSubstr(kIdNumber)));
}

}  // namespace
}  // namespace unionsync
