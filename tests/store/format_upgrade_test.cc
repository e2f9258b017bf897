// Upgrades of the on-disk format against stored fixtures written by earlier
// releases themselves (tests/store/fixtures/README.md), not by today's code:
// the migration keeps every record, counter, digest, sequence and audit entry,
// and a store from a newer release is refused with a clear message, unchanged.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/text_format.h"
#include "rocksdb/db.h"
#include "store/keys.h"
#include "store/store.h"
#include "store/store_testing.h"
#include "testing/shell.h"
#include "testing/status_matchers.h"
#include "testing/store_checks.h"
#include "testing/test_vault.h"

namespace unionsync {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::unionsync::testing::RawFiles;
using ::unionsync::testing::StatusIs;
using ::unionsync::testing::TempDir;

constexpr char kFixtures[] = UNIONSYNC_TESTS_DIR "/store/fixtures";

// What the old release printed when it wrote the fixture.
struct Expected {
  struct Person {
    std::string id, id_number, phone;
  };
  std::vector<Person> members;
  v1::SubtreeCounters counters;
  std::string digest_hex, incarnation;
  uint64_t next_origin_seq = 0, next_log_pos = 0, audit_head = 0;
};

Expected ReadExpected(const std::string& path) {
  Expected e;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f = absl::StrSplit(line, ' ');
    if (f[0] == "member" && f.size() == 4) {
      e.members.push_back({f[1], f[2], f[3]});
    } else if (f[0] == "counters") {
      const std::string text = line.substr(line.find(' ', 9) + 1);
      EXPECT_TRUE(
          google::protobuf::TextFormat::ParseFromString(text, &e.counters))
          << text;
    } else if (f[0] == "digest") {
      e.digest_hex = f[2];
    } else if (f[0] == "incarnation") {
      e.incarnation = f[1];
    } else if (f[0] == "next_origin_seq") {
      e.next_origin_seq = std::stoull(f[1]);
    } else if (f[0] == "next_log_pos") {
      e.next_log_pos = std::stoull(f[1]);
    } else if (f[0] == "audit_head") {
      e.audit_head = std::stoull(f[1]);
    }
  }
  return e;
}

// Unpacks the fixture into `dir`; the store's path.
std::string Unpack(const TempDir& dir) {
  const auto [rc, out] = ::unionsync::testing::RunShell(
      absl::StrCat("tar -xzf ", kFixtures, "/schema3_store.tar.gz -C ",
                   ::unionsync::testing::ShellQuote(dir.path("")), " 2>&1"));
  EXPECT_EQ(rc, 0) << out;
  return dir.path("d1");
}

// The store at `path` opened with raw RocksDB, every column family.
class RawDb {
 public:
  RawDb(const std::string& path, bool read_only) {
    std::vector<std::string> names;
    EXPECT_TRUE(
        rocksdb::DB::ListColumnFamilies(rocksdb::Options(), path, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> d;
    for (auto& n : names) d.emplace_back(n, rocksdb::ColumnFamilyOptions());
    const rocksdb::Status s =
        read_only ? rocksdb::DB::OpenForReadOnly(rocksdb::Options(), path, d,
                                                 &cfs_, &db_)
                  : rocksdb::DB::Open(rocksdb::Options(), path, d, &cfs_, &db_);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  ~RawDb() {
    for (auto* cf : cfs_) db_->DestroyColumnFamilyHandle(cf);
    delete db_;
  }
  rocksdb::DB* db() { return db_; }
  // Every key and value of every column family.
  std::string Contents() {
    std::string all;
    for (auto* cf : cfs_) {
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator({}, cf));
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        absl::StrAppend(&all, cf->GetName(), "|", it->key().ToString(), "=",
                        it->value().ToString(), "\n");
      }
    }
    return all;
  }

 private:
  rocksdb::DB* db_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs_;
};

absl::StatusOr<std::unique_ptr<Store>> OpenD1(const std::string& path) {
  StoreOptions o;
  o.path = path;
  o.node_id = "d1";
  o.vault = testing::TestVault("d1");
  return Store::Open(o);
}

TEST(FormatUpgradeTest, Schema3StoreOfTheOldReleaseIsMigratedWithNothingLost) {
  const Expected want =
      ReadExpected(absl::StrCat(kFixtures, "/schema3_store.expected"));
  ASSERT_EQ(want.members.size(), 50u);
  TempDir dir;
  const std::string path = Unpack(dir);
  // The old release wrote the numbers in plaintext.
  ASSERT_THAT(RawFiles(path), HasSubstr(want.members[0].id_number));

  {
    ASSERT_OK_AND_ASSIGN(auto store, OpenD1(path));
    const ResealStats& r = store->open_reseal();
    EXPECT_EQ(r.members, 50u);
    // In plaintext: the 50 members (the organisations hold no numbers).
    EXPECT_EQ(r.sealed_under.at(0), 50u);
    EXPECT_EQ(r.index_entries, 49u);  // The removed member not indexed.
    // Replication resumes where it was: same store, same sequences.
    EXPECT_EQ(store->incarnation(), want.incarnation);
    EXPECT_EQ(store->next_origin_seq(), want.next_origin_seq);
    EXPECT_EQ(store->next_log_pos(), want.next_log_pos);
    EXPECT_EQ(store->audit_head().seq, want.audit_head);
    ASSERT_OK_AND_ASSIGN(AuditVerification audit, store->VerifyAudit());
    EXPECT_TRUE(audit.intact) << audit.detail;
    // Counters and the digest the parent compares are what the old release
    // computed: the parent sees no difference.
    ASSERT_OK_AND_ASSIGN(v1::SubtreeCounters counters,
                         store->GetCounters("d1"));
    EXPECT_EQ(counters.members(), want.counters.members());
    EXPECT_EQ(counters.orgs(), want.counters.orgs());
    EXPECT_EQ(counters.grassroots_orgs(), want.counters.grassroots_orgs());
    EXPECT_EQ(counters.accounts(), want.counters.accounts());
    EXPECT_EQ(absl::BytesToHexString(counters.digest()), want.digest_hex);
    for (const auto& p : want.members) {
      ASSERT_OK_AND_ASSIGN(v1::Member m, store->GetMember(p.id));
      EXPECT_EQ(m.id_number(), p.id_number);
      EXPECT_EQ(m.phone(), p.phone);
      if (m.status() == v1::MEMBER_ACTIVE) {
        ASSERT_OK_AND_ASSIGN(v1::Member found,
                             store->FindMemberByIdNumber(p.id_number));
        EXPECT_EQ(found.id(), p.id);
      } else {
        EXPECT_THAT(store->FindMemberByIdNumber(p.id_number),
                    StatusIs(absl::StatusCode::kNotFound));
      }
    }
    ASSERT_OK_AND_ASSIGN(v1::Org g1, store->GetOrg("g1"));
    EXPECT_EQ(g1.credit_code(), "91430104MA4L0000X0");
    ASSERT_OK_AND_ASSIGN(v1::Account admin, store->GetAccount("g1_admin"));
    EXPECT_EQ(admin.state(), v1::CREDENTIAL_INITIAL);
    EXPECT_OK(testing::CheckStoreInvariants(*store, "d1"));

    // And the migrated store takes new writes.
    WriteSet w;
    v1::Member m;
    m.set_id("g1-new");
    m.set_org_id("g1");
    m.set_name("升级后会员");
    m.set_id_number(want.members[49].id_number);  // The removed one's number.
    m.set_status(v1::MEMBER_ACTIVE);
    w.PutMember(m);
    ASSERT_OK(store->Commit(w, "g1_admin").status());
  }
  // Reopened: the migration is not run twice, and nothing is in plaintext.
  ASSERT_OK_AND_ASSIGN(auto store, OpenD1(path));
  EXPECT_TRUE(store->open_reseal().sealed_under.empty());
  ASSERT_OK_AND_ASSIGN(v1::SubtreeCounters counters, store->GetCounters("d1"));
  EXPECT_EQ(counters.members(), want.counters.members() + 1);
  EXPECT_EQ(store->next_origin_seq(), want.next_origin_seq + 1);
  store.reset();
  const std::string files = RawFiles(path);
  for (const auto& p : want.members) {
    EXPECT_THAT(files, Not(HasSubstr(p.id_number))) << p.id;
    EXPECT_THAT(files, Not(HasSubstr(p.phone))) << p.id;
  }
}

TEST(FormatUpgradeTest, StoreOfANewerReleaseIsRefusedAndLeftAlone) {
  TempDir dir;
  const std::string path = Unpack(dir);
  {  // Migrated, then marked as a future format with raw RocksDB.
    ASSERT_OK_AND_ASSIGN(auto store, OpenD1(path));
  }
  {
    RawDb raw(path, /*read_only=*/false);
    ASSERT_NE(raw.db(), nullptr);
    ASSERT_TRUE(raw.db()->Put({}, keys::kMetaSchema, "7").ok());
  }
  const std::string before = RawDb(path, true).Contents();
  ASSERT_THAT(before, HasSubstr("meta/schema=7"));
  EXPECT_THAT(OpenD1(path),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("on-disk format 7"),
                             HasSubstr("written by a newer unionsync"),
                             HasSubstr("reads formats 3 to 4"))));
  EXPECT_TRUE(RawDb(path, true).Contents() == before)
      << "the refused store was changed";
}

}  // namespace
}  // namespace unionsync
