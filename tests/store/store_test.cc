#include "store/store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "rocksdb/db.h"
#include "store/keys.h"
#include "store/store_testing.h"
#include "synth/synth.h"
#include "testing/status_matchers.h"
#include "testing/store_checks.h"
#include "testing/test_vault.h"

namespace unionsync {
namespace {

using ::testing::HasSubstr;
using ::unionsync::testing::CheckStoreInvariants;
using ::unionsync::testing::IsOk;
using ::unionsync::testing::StatusIs;

using ::unionsync::testing::MakeOrg;
using ::unionsync::testing::OpenOrDie;
using ::unionsync::testing::TempDir;

v1::Account MakeAccount(const std::string& user, const std::string& org,
                        v1::Role role, v1::CredentialState state) {
  v1::Account a;
  a.set_username(user);
  a.set_org_id(org);
  a.set_role(role);
  a.set_state(state);
  return a;
}

// city -> d1 (district) -> g1, g2 (grassroots, tier 3)
absl::Status BuildTree(Store& store) {
  WriteSet w;
  w.PutOrg(MakeOrg("city", "", v1::CITY_FEDERATION, 1));
  w.PutOrg(MakeOrg("d1", "city", v1::DISTRICT_FEDERATION, 2));
  w.PutOrg(MakeOrg("g1", "d1", v1::INDEPENDENT_GRASSROOTS, 3));
  w.PutOrg(MakeOrg("g2", "d1", v1::JOINT_GRASSROOTS, 3));
  return store.Commit(w, "test").status();
}

TEST(StoreTest, CreatesAndReopensWithSameIncarnation) {
  TempDir dir;
  std::string incarnation;
  {
    auto store = OpenOrDie(dir.path());
    incarnation = store->incarnation();
    EXPECT_EQ(incarnation.size(), 32u);
    ASSERT_OK(BuildTree(*store));
  }
  auto store = OpenOrDie(dir.path());
  EXPECT_EQ(store->incarnation(), incarnation);
  EXPECT_EQ(store->next_origin_seq(), 5u);
  ASSERT_OK_AND_ASSIGN(v1::Org g1, store->GetOrg("g1"));
  EXPECT_EQ(g1.parent_id(), "d1");
}

// A clean close flushes the memtables: the next start has no write-ahead log
// to replay (bench/restart_bench measures what that saves).
TEST(StoreTest, ACleanCloseLeavesNoLogToReplay) {
  TempDir dir;
  auto log_bytes = [&] {
    uint64_t total = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
      if (e.path().extension() == ".log") total += e.file_size();
    }
    return total;
  };
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_OK(BuildTree(*store));
    // While open, the commits are in the log (that is what makes them
    // durable).
    EXPECT_GT(log_bytes(), 0u);
  }
  EXPECT_EQ(log_bytes(), 0u);
  auto store = OpenOrDie(dir.path());
  ASSERT_OK_AND_ASSIGN(v1::Org g1, store->GetOrg("g1"));
  EXPECT_EQ(g1.parent_id(), "d1");
}

TEST(StoreTest, RecreatedStoreGetsNewIncarnation) {
  TempDir dir;
  std::string first = OpenOrDie(dir.path())->incarnation();
  std::filesystem::remove_all(dir.path());
  EXPECT_NE(OpenOrDie(dir.path())->incarnation(), first);
}

TEST(StoreTest, RefusesStoreOfAnotherNode) {
  TempDir dir;
  OpenOrDie(dir.path(), "node-a");
  StoreOptions o;
  o.vault = testing::TestVault();
  o.path = dir.path();
  o.node_id = "node-b";
  EXPECT_THAT(Store::Open(o), StatusIs(absl::StatusCode::kFailedPrecondition,
                                       HasSubstr("belongs to node 'node-a'")));
}

TEST(StoreTest, RefusesDirectoryThatIsNotAStore) {
  TempDir dir;
  std::filesystem::create_directories(dir.path());
  std::ofstream(dir.path() + "/notes.txt") << "hello";
  StoreOptions o;
  o.vault = testing::TestVault();
  o.path = dir.path();
  o.node_id = "city";
  EXPECT_THAT(Store::Open(o), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(StoreTest, CorruptStoreFailsLoudly) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_OK(BuildTree(*store));
  }
  // Overwrite the MANIFEST with garbage.
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    if (e.path().filename().string().rfind("MANIFEST", 0) == 0) {
      std::ofstream(e.path(), std::ios::binary | std::ios::trunc)
          << std::string(4096, '\x5a');
    }
  }
  StoreOptions o;
  o.vault = testing::TestVault();
  o.path = dir.path();
  o.node_id = "city";
  auto r = Store::Open(o);
  EXPECT_FALSE(r.ok());
}

TEST(StoreTest, MissingStoreWithoutCreateIsNotFound) {
  TempDir dir;
  StoreOptions o;
  o.vault = testing::TestVault();
  o.path = dir.path();
  o.node_id = "city";
  o.create_if_missing = false;
  EXPECT_THAT(Store::Open(o), StatusIs(absl::StatusCode::kNotFound));
}

TEST(StoreTest, CountersFollowTreeMembersAndAccounts) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_OK(BuildTree(*store));
  SynthGenerator gen(7);
  WriteSet w;
  for (int i = 0; i < 5; ++i) {
    v1::Member m = gen.Member(i < 3 ? "g1" : "g2");
    m.set_id(absl::StrCat("m", i));
    m.set_status(v1::MEMBER_ACTIVE);
    m.set_migrant_worker(i == 0);
    w.PutMember(m);
  }
  w.PutAccount(
      MakeAccount("g1admin", "g1", v1::DATA_ADMIN, v1::CREDENTIAL_INITIAL));
  ASSERT_OK(store->Commit(w, "test").status());

  ASSERT_OK_AND_ASSIGN(auto city, store->GetCounters("city"));
  EXPECT_EQ(city.orgs(), 4);
  EXPECT_EQ(city.grassroots_orgs(), 2);
  EXPECT_EQ(city.members(), 5);
  EXPECT_EQ(city.migrant_members(), 1);
  EXPECT_EQ(city.accounts(), 1);
  EXPECT_EQ(city.activated_orgs(), 0);
  ASSERT_OK_AND_ASSIGN(auto g2, store->GetCounters("g2"));
  EXPECT_EQ(g2.members(), 2);

  // The administrator sets their own password: g1 becomes activated.
  WriteSet w2;
  w2.PutAccount(
      MakeAccount("g1admin", "g1", v1::DATA_ADMIN, v1::CREDENTIAL_ACTIVE));
  ASSERT_OK(store->Commit(w2, "g1admin").status());
  ASSERT_OK_AND_ASSIGN(city, store->GetCounters("city"));
  EXPECT_EQ(city.activated_orgs(), 1);
  EXPECT_OK(CheckStoreInvariants(*store, "city"));
}

TEST(StoreTest, TransferMovesCountersAndDigest) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_OK(BuildTree(*store));
  SynthGenerator gen(8);
  v1::Member m = gen.Member("g1");
  m.set_id("m1");
  m.set_status(v1::MEMBER_ACTIVE);
  WriteSet w;
  w.PutMember(m);
  ASSERT_OK(store->Commit(w, "t").status());
  ASSERT_OK_AND_ASSIGN(auto d1_before, store->GetCounters("d1"));

  m.set_org_id("g2");
  WriteSet w2;
  w2.PutMember(m);
  ASSERT_OK(store->Commit(w2, "t").status());
  ASSERT_OK_AND_ASSIGN(auto g1, store->GetCounters("g1"));
  ASSERT_OK_AND_ASSIGN(auto g2, store->GetCounters("g2"));
  EXPECT_EQ(g1.members(), 0);
  EXPECT_EQ(g2.members(), 1);
  ASSERT_OK_AND_ASSIGN(auto d1_after, store->GetCounters("d1"));
  EXPECT_EQ(d1_after.members(), 1);
  // The record itself did not change except its org, so the district digest
  // changed.
  EXPECT_NE(d1_before.digest(), d1_after.digest());
  EXPECT_OK(CheckStoreInvariants(*store, "city"));
}

TEST(StoreTest, OnePersonOneActiveMembership) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_OK(BuildTree(*store));
  SynthGenerator gen(9);
  v1::Member a = gen.Member("g1");
  a.set_id("a");
  a.set_status(v1::MEMBER_ACTIVE);
  v1::Member b = a;
  b.set_id("b");
  b.set_org_id("g2");
  WriteSet w;
  w.PutMember(a);
  ASSERT_OK(store->Commit(w, "t").status());
  WriteSet w2;
  w2.PutMember(b);
  const uint64_t log_before = store->next_log_pos();
  EXPECT_THAT(store->Commit(w2, "t"),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(store->next_log_pos(), log_before);
  EXPECT_THAT(store->GetMember("b"), StatusIs(absl::StatusCode::kNotFound));

  // After removal the person can join another union.
  a.set_status(v1::MEMBER_REMOVED);
  WriteSet w3;
  w3.PutMember(a);
  ASSERT_OK(store->Commit(w3, "t").status());
  ASSERT_OK(store->Commit(w2, "t").status());
  ASSERT_OK_AND_ASSIGN(v1::Member found,
                       store->FindMemberByIdNumber(a.id_number()));
  EXPECT_EQ(found.id(), "b");
  EXPECT_OK(CheckStoreInvariants(*store, "city"));
}

TEST(StoreTest, FailedCommitWritesNothing) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_OK(BuildTree(*store));
  WriteSet w;
  w.PutOrg(MakeOrg("g3", "d1", v1::JOINT_GRASSROOTS, 3));
  w.PutOrg(MakeOrg("x", "nowhere", v1::JOINT_GRASSROOTS, 3));
  v1::AuditEntry e;
  e.set_action("test");
  w.Audit(e);
  const AuditHead head = store->audit_head();
  EXPECT_THAT(
      store->Commit(w, "t"),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("'nowhere'")));
  EXPECT_THAT(store->GetOrg("g3"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(store->audit_head().seq, head.seq);
  ASSERT_OK_AND_ASSIGN(auto d1, store->GetCounters("d1"));
  EXPECT_EQ(d1.orgs(), 3);
}

TEST(StoreTest, ParentCannotChange) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_OK(BuildTree(*store));
  WriteSet w;
  w.PutOrg(MakeOrg("g1", "city", v1::INDEPENDENT_GRASSROOTS, 2));
  EXPECT_THAT(store->Commit(w, "t"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(StoreTest, ListingsPaginate) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_OK(BuildTree(*store));
  ASSERT_OK_AND_ASSIGN(auto first, store->ListChildren("d1", "", 1));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].id(), "g1");
  ASSERT_OK_AND_ASSIGN(auto second, store->ListChildren("d1", "g1", 10));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].id(), "g2");
  ASSERT_OK_AND_ASSIGN(int64_t n, store->CountChildren("d1"));
  EXPECT_EQ(n, 2);
  ASSERT_OK_AND_ASSIGN(bool in, store->IsInSubtree("g2", "city"));
  EXPECT_TRUE(in);
  ASSERT_OK_AND_ASSIGN(in, store->IsInSubtree("city", "g2"));
  EXPECT_FALSE(in);
}

TEST(StoreTest, AuditChainDetectsTamperingAtTheEntry) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.path());
    for (int i = 0; i < 10; ++i) {
      WriteSet w;
      v1::AuditEntry e;
      e.set_actor("alice");
      e.set_action(absl::StrCat("read-", i));
      w.Audit(e);
      ASSERT_OK(store->Commit(w, "alice").status());
    }
    ASSERT_OK_AND_ASSIGN(auto ok, store->VerifyAuditChain());
    EXPECT_FALSE(ok.has_value());
    ASSERT_OK_AND_ASSIGN(auto entries, store->ReadAudit(1, 100));
    ASSERT_EQ(entries.size(), 10u);
    EXPECT_EQ(entries[3].prev_hash(), entries[2].hash());
  }
  // Tamper with entry 6 behind the store's back, via raw RocksDB.
  {
    rocksdb::Options options;
    std::vector<std::string> names;
    ASSERT_TRUE(
        rocksdb::DB::ListColumnFamilies(options, dir.path(), &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> d;
    for (auto& n : names) d.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> h;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir.path(), d, &h, &db).ok());
    rocksdb::ColumnFamilyHandle* audit = nullptr;
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == "audit") audit = h[i];
    }
    std::string value;
    std::string key = keys::BigEndian64(6);
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), audit, key, &value).ok());
    v1::AuditEntry e;
    ASSERT_TRUE(e.ParseFromString(value));
    e.set_actor("mallory");
    ASSERT_TRUE(
        db->Put(rocksdb::WriteOptions(), audit, key, e.SerializeAsString())
            .ok());
    for (auto* x : h) db->DestroyColumnFamilyHandle(x);
    delete db;
  }
  auto store = OpenOrDie(dir.path());
  ASSERT_OK_AND_ASSIGN(auto broken, store->VerifyAuditChain());
  ASSERT_TRUE(broken.has_value());
  EXPECT_EQ(*broken, 6u);
}

TEST(StoreTest, RandomWorkloadKeepsInvariants) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    TempDir dir;
    StoreOptions o;
    o.vault = testing::TestVault();
    o.path = dir.path();
    o.node_id = "city";
    o.sync = false;  // Durability is tested by the crash test; this one checks
                     // bookkeeping.
    ASSERT_OK_AND_ASSIGN(auto store, Store::Open(o));
    ASSERT_OK(BuildTree(*store));
    std::mt19937_64 rng(seed);
    SynthGenerator gen(seed);
    std::vector<v1::Member> members;
    const std::vector<std::string> leaves = {"g1", "g2"};
    for (int step = 0; step < 300; ++step) {
      WriteSet w;
      const int op = rng() % 6;
      if (op <= 2 || members.empty()) {
        v1::Member m = gen.Member(leaves[rng() % 2]);
        m.set_id(absl::StrCat("m", step));
        m.set_status(v1::MEMBER_ACTIVE);
        m.set_migrant_worker(rng() % 3 == 0);
        w.PutMember(m);
        if (store->Commit(w, "t").ok()) members.push_back(m);
        continue;
      }
      v1::Member& m = members[rng() % members.size()];
      if (op == 3) {
        m.set_org_id(leaves[rng() % 2]);
      } else if (op == 4) {
        m.set_status(m.status() == v1::MEMBER_ACTIVE ? v1::MEMBER_REMOVED
                                                     : v1::MEMBER_ACTIVE);
      } else {
        m.set_migrant_worker(!m.migrant_worker());
      }
      w.PutMember(m);
      if (!store->Commit(w, "t").ok()) {
        ASSERT_OK_AND_ASSIGN(m, store->GetMember(m.id()));
      }
      if (step % 50 == 0) {
        WriteSet a;
        a.PutAccount(MakeAccount(
            absl::StrCat("u", step), leaves[rng() % 2], v1::DATA_ADMIN,
            rng() % 2 ? v1::CREDENTIAL_ACTIVE : v1::CREDENTIAL_DISABLED));
        ASSERT_OK(store->Commit(a, "t").status());
      }
    }
    ASSERT_OK(CheckStoreInvariants(*store, "city"));
  }
}

// A child process commits in a loop and is killed with SIGKILL at a random
// moment; the reopened store must hold every commit the child reported as
// acknowledged, and each commit whole.
TEST(StoreCrashTest, KillMidWriteLeavesAllOrNothing) {
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    TempDir dir;
    {
      auto store = OpenOrDie(dir.path());
      ASSERT_OK(BuildTree(*store));
    }
    int pipefd[2];
    ASSERT_EQ(pipe(pipefd), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(pipefd[0]);
      StoreOptions o;
      o.vault = testing::TestVault();
      o.path = dir.path();
      o.node_id = "city";
      auto store = Store::Open(o);
      if (!store.ok()) _exit(3);
      SynthGenerator gen(100 + round);
      for (int i = 0;; ++i) {
        WriteSet w;
        // Each commit: three members and an audit entry; all or nothing.
        for (int k = 0; k < 3; ++k) {
          v1::Member m = gen.Member(k == 1 ? "g2" : "g1");
          m.set_id(absl::StrCat("m", i, "-", k));
          m.set_status(v1::MEMBER_ACTIVE);
          w.PutMember(m);
        }
        v1::AuditEntry e;
        e.set_action(absl::StrCat("batch-", i));
        w.Audit(e);
        if (!(*store)->Commit(w, "child").ok())
          continue;  // Duplicate ID number: skip.
        uint32_t acked = static_cast<uint32_t>(i);
        if (write(pipefd[1], &acked, sizeof acked) != sizeof acked) _exit(4);
      }
    }
    close(pipefd[1]);
    // Kill it mid-stream: after its first acknowledged commit (however
    // long a loaded machine takes to get there), then some more.
    std::vector<uint32_t> acked;
    uint32_t v;
    if (read(pipefd[0], &v, sizeof v) == sizeof v) acked.push_back(v);
    usleep(100'000 + 150'000 * round);
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    while (read(pipefd[0], &v, sizeof v) == sizeof v) acked.push_back(v);
    close(pipefd[0]);
    ASSERT_FALSE(acked.empty()) << "child made no commit before it was killed";

    auto store = OpenOrDie(dir.path());
    for (uint32_t i : acked) {
      for (int k = 0; k < 3; ++k) {
        EXPECT_OK(store->GetMember(absl::StrCat("m", i, "-", k)).status());
      }
    }
    // Whatever was written after the last ack is whole or absent.
    const uint32_t next = acked.back() + 1;
    int present = 0;
    for (int k = 0; k < 3; ++k) {
      present += store->GetMember(absl::StrCat("m", next, "-", k)).ok() ? 1 : 0;
    }
    EXPECT_TRUE(present == 0 || present == 3) << present;
    EXPECT_OK(CheckStoreInvariants(*store, "city"));
  }
}

}  // namespace
}  // namespace unionsync
