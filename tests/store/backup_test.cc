#include "store/backup.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "store/store.h"
#include "store/store_testing.h"
#include "synth/synth.h"
#include "testing/status_matchers.h"
#include "testing/test_vault.h"

namespace unionsync {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::unionsync::testing::MakeOrg;
using ::unionsync::testing::OpenOrDie;
using ::unionsync::testing::StatusIs;
using ::unionsync::testing::TempDir;

std::unique_ptr<BackupArchive> ArchiveOrDie(const std::string& dir,
                                            uint64_t rate_limit = 0,
                                            bool read_only = false) {
  BackupArchiveOptions o;
  o.dir = dir;
  o.rate_limit_bytes = rate_limit;
  o.read_only = read_only;
  auto a = BackupArchive::Open(o);
  EXPECT_TRUE(a.ok()) << a.status();
  return a.ok() ? *std::move(a) : nullptr;
}

absl::Status BuildTree(Store& store) {
  WriteSet w;
  w.PutOrg(MakeOrg("city", "", v1::CITY_FEDERATION, 1));
  w.PutOrg(MakeOrg("d1", "city", v1::DISTRICT_FEDERATION, 2));
  w.PutOrg(MakeOrg("g1", "d1", v1::INDEPENDENT_GRASSROOTS, 3));
  return store.Commit(w, "test").status();
}

// Members m<from> .. m<to - 1> of g1, committed in batches of 500.
absl::Status AddMembers(Store& store, int from, int to) {
  SynthGenerator gen(from + 1);
  for (int start = from; start < to; start += 500) {
    WriteSet w;
    for (int i = start; i < std::min(to, start + 500); ++i) {
      v1::Member m = gen.Member("g1");
      m.set_id(absl::StrCat("m", i));
      m.set_status(v1::MEMBER_ACTIVE);
      w.PutMember(m);
    }
    auto done = store.Commit(w, "test");
    if (!done.ok()) return done.status();
  }
  return absl::OkStatus();
}

int64_t MembersOf(Store& store) {
  auto c = store.GetCounters("city");
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? c->members() : -1;
}

TEST(BackupTest, ABackupTakenWhileServingRestoresThatMoment) {
  TempDir dir;
  auto store = OpenOrDie(dir.path("store"));
  ASSERT_OK(BuildTree(*store));
  ASSERT_OK(AddMembers(*store, 0, 50));
  auto archive = ArchiveOrDie(dir.path("backups"));
  ASSERT_OK_AND_ASSIGN(BackupInfo first, archive->Create(*store, "op1"));
  ASSERT_OK(AddMembers(*store, 50, 120));
  ASSERT_OK_AND_ASSIGN(BackupInfo second, archive->Create(*store, "schedule"));

  ASSERT_OK_AND_ASSIGN(std::vector<BackupInfo> listed, archive->List());
  ASSERT_THAT(listed, SizeIs(2));
  EXPECT_EQ(listed[0].id, first.id);
  EXPECT_EQ(listed[1].id, second.id);
  EXPECT_EQ(listed[0].node_id, "city");
  EXPECT_EQ(listed[0].incarnation, store->incarnation());
  EXPECT_EQ(listed[0].trigger, "op1");
  EXPECT_EQ(listed[1].trigger, "schedule");
  EXPECT_EQ(listed[1].schema, "4");
  EXPECT_LT(listed[0].log_end, listed[1].log_end);
  EXPECT_GT(listed[1].size_bytes, 0u);
  EXPECT_GT(listed[1].files, 0u);
  EXPECT_GT(listed[1].created_ms, 1'700'000'000'000);

  // Restore the first into a fresh directory: the store as it was then.
  ASSERT_OK_AND_ASSIGN(BackupInfo restored,
                       archive->Restore(first.id, dir.path("restored1")));
  EXPECT_EQ(restored.id, first.id);
  {
    auto old = OpenOrDie(dir.path("restored1"));
    ASSERT_NE(old, nullptr);
    EXPECT_EQ(MembersOf(*old), 50);
    // A new incarnation, once: peers never resume from the old log.
    EXPECT_NE(old->incarnation(), store->incarnation());
    EXPECT_FALSE(fs::exists(dir.path("restored1/RESTORED_FROM_BACKUP")));
    EXPECT_EQ(old->next_log_pos(), first.log_end);
    EXPECT_THAT(old->GetMember("m49"), StatusIs(absl::StatusCode::kOk));
    EXPECT_THAT(old->GetMember("m50"), StatusIs(absl::StatusCode::kNotFound));
  }
  // Id 0 is the newest.
  {
    std::string incarnation = OpenOrDie(dir.path("restored1"))->incarnation();
    EXPECT_EQ(OpenOrDie(dir.path("restored1"))->incarnation(), incarnation);
  }
  ASSERT_OK_AND_ASSIGN(restored, archive->Restore(0, dir.path("restored2")));
  EXPECT_EQ(restored.id, second.id);
  auto newest = OpenOrDie(dir.path("restored2"));
  ASSERT_NE(newest, nullptr);
  EXPECT_EQ(MembersOf(*newest), 120);
}

TEST(BackupTest, RestoreNeverWritesIntoAStoreThatIsThere) {
  TempDir dir;
  auto store = OpenOrDie(dir.path("store"));
  ASSERT_OK(BuildTree(*store));
  auto archive = ArchiveOrDie(dir.path("backups"));
  ASSERT_OK(archive->Create(*store, "op").status());
  fs::create_directories(dir.path("busy"));
  std::ofstream(dir.path("busy/CURRENT")) << "MANIFEST-000001\n";
  EXPECT_THAT(archive->Restore(0, dir.path("busy")),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("is not empty")));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path("busy")),
                          fs::directory_iterator()),
            1);
  EXPECT_THAT(archive->Restore(0, store->path()),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(archive->Restore(0, dir.path("backups/inside")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("must not contain one another")));
  EXPECT_THAT(archive->Restore(0, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(BackupTest, UnknownBackupsAndBadArgumentsAreNamed) {
  TempDir dir;
  auto store = OpenOrDie(dir.path("store"));
  ASSERT_OK(BuildTree(*store));
  auto archive = ArchiveOrDie(dir.path("backups"));
  EXPECT_THAT(archive->Restore(0, dir.path("r")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no backups")));
  ASSERT_OK(archive->Create(*store, "op").status());
  EXPECT_THAT(archive->Verify(7),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no backup 7")));
  EXPECT_THAT(archive->Restore(7, dir.path("r")),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_FALSE(fs::exists(dir.path("r")));
  EXPECT_THAT(archive->Purge(0), StatusIs(absl::StatusCode::kInvalidArgument));
  // The store's own directory (or one inside it) is no place for backups.
  auto inside = ArchiveOrDie(dir.path("store/backups"));
  EXPECT_THAT(inside->Create(*store, "op"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("must not contain one another")));
  BackupArchiveOptions none;
  EXPECT_THAT(BackupArchive::Open(none),
              StatusIs(absl::StatusCode::kInvalidArgument));
  none.dir = dir.path("missing");
  none.read_only = true;
  EXPECT_THAT(BackupArchive::Open(none), StatusIs(absl::StatusCode::kNotFound));
}

TEST(BackupTest, OneDirectoryHoldsOneNodesBackups) {
  TempDir dir;
  auto city = OpenOrDie(dir.path("city"), "city");
  ASSERT_OK(BuildTree(*city));
  auto archive = ArchiveOrDie(dir.path("backups"));
  ASSERT_OK(archive->Create(*city, "op").status());
  auto other = OpenOrDie(dir.path("other"), "d1");
  EXPECT_THAT(archive->Create(*other, "op"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("holds backups of node city")));
  ASSERT_OK_AND_ASSIGN(auto listed, archive->List());
  EXPECT_THAT(listed, SizeIs(1));
}

TEST(BackupTest, PurgeKeepsTheNewest) {
  TempDir dir;
  auto store = OpenOrDie(dir.path("store"));
  ASSERT_OK(BuildTree(*store));
  auto archive = ArchiveOrDie(dir.path("backups"));
  for (int i = 0; i < 4; ++i) {
    ASSERT_OK(AddMembers(*store, i * 10, i * 10 + 10));
    ASSERT_OK(archive->Create(*store, "op").status());
  }
  ASSERT_OK_AND_ASSIGN(int purged, archive->Purge(2));
  EXPECT_EQ(purged, 2);
  ASSERT_OK_AND_ASSIGN(auto listed, archive->List());
  ASSERT_THAT(listed, SizeIs(2));
  EXPECT_EQ(listed[0].id, 3u);
  EXPECT_EQ(listed[1].id, 4u);
  ASSERT_OK(archive->Verify(3).status());
  ASSERT_OK(archive->Restore(3, dir.path("r")).status());
  EXPECT_EQ(MembersOf(*OpenOrDie(dir.path("r"))), 30);
}

// Flips bytes in the middle of the largest file of the backup directory.
void DamageLargestFile(const std::string& backup_dir) {
  fs::path largest;
  uintmax_t size = 0;
  for (const auto& e : fs::recursive_directory_iterator(backup_dir)) {
    if (e.is_regular_file() && e.file_size() > size) {
      size = e.file_size();
      largest = e.path();
    }
  }
  ASSERT_GT(size, 64u);
  std::fstream f(largest, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(size / 2));
  f.write("\xde\xad\xbe\xef", 4);
}

TEST(BackupTest, ADamagedBackupIsFoundAndNeverRestored) {
  TempDir dir;
  auto store = OpenOrDie(dir.path("store"));
  ASSERT_OK(BuildTree(*store));
  ASSERT_OK(AddMembers(*store, 0, 300));
  auto archive = ArchiveOrDie(dir.path("backups"));
  ASSERT_OK_AND_ASSIGN(BackupInfo b, archive->Create(*store, "op"));
  ASSERT_OK(archive->Verify(b.id).status());
  ASSERT_NO_FATAL_FAILURE(DamageLargestFile(dir.path("backups")));
  // A fresh engine, as after a restart (the one that wrote it remembers the
  // checksums, a new one reads them from the backup's metadata).
  archive = ArchiveOrDie(dir.path("backups"));
  EXPECT_THAT(archive->Verify(b.id),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("is damaged")));
  EXPECT_THAT(archive->Restore(b.id, dir.path("r")),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("not restored")));
  EXPECT_FALSE(fs::exists(dir.path("r")));
}

// Files of a backup that is not complete: BackupEngine writes a backup's own
// files into private/<id>/ and its table files as shared_checksum/.<name>.tmp
// until the metadata file meta/<id> makes it a backup.
bool CutOffFiles(const std::string& backup_dir) {
  std::error_code ec;
  for (const auto& e :
       fs::directory_iterator(backup_dir + "/shared_checksum", ec)) {
    if (e.path().extension() == ".tmp") return true;
  }
  for (const auto& e : fs::directory_iterator(backup_dir + "/private", ec)) {
    if (!fs::exists(backup_dir + "/meta/" + e.path().filename().string())) {
      return true;
    }
  }
  return false;
}

// A backup cut off in the middle (here by Cancel, slowed down by the rate
// limit so that it is still running; tests/cluster/restore_test.cc does it
// with kill -9 of a node): the backups taken before stay listed and intact,
// nothing of the cut-off one is listed or left, and the next backup works.
TEST(BackupTest, ABackupCutOffLeavesTheEarlierOnesAndNothingElse) {
  TempDir dir;
  auto store = OpenOrDie(dir.path("store"));
  ASSERT_OK(BuildTree(*store));
  ASSERT_OK(AddMembers(*store, 0, 200));
  ASSERT_OK(
      ArchiveOrDie(dir.path("backups"))->Create(*store, "before").status());
  ASSERT_OK(AddMembers(*store, 200, 4000));
  auto cut_off_files = [&] { return CutOffFiles(dir.path("backups")); };
  {
    auto slow = ArchiveOrDie(dir.path("backups"), 16 << 10);
    absl::StatusOr<BackupInfo> cut_off;
    std::thread backup([&] { cut_off = slow->Create(*store, "cut off"); });
    bool started = false;
    for (int i = 0; i < 1000 && !started; ++i) {
      started = cut_off_files();
      if (!started) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    slow->Cancel();
    backup.join();
    ASSERT_TRUE(started) << "the backup never began";
    EXPECT_FALSE(cut_off.ok()) << "the backup ended before it was cut off";
  }

  auto archive = ArchiveOrDie(dir.path("backups"));
  ASSERT_OK_AND_ASSIGN(auto listed, archive->List());
  ASSERT_THAT(listed, SizeIs(1));
  EXPECT_EQ(listed[0].trigger, "before");
  ASSERT_OK(archive->Verify(listed[0].id).status());
  EXPECT_FALSE(cut_off_files()) << "the cut-off backup's files are still there";
  ASSERT_OK_AND_ASSIGN(BackupInfo next, archive->Create(*store, "after"));
  ASSERT_OK(archive->Verify(next.id).status());
  ASSERT_OK(archive->Restore(next.id, dir.path("r")).status());
  EXPECT_EQ(MembersOf(*OpenOrDie(dir.path("r"))), 4000);
}

TEST(BackupTest, AReadOnlyArchiveListsVerifiesAndRestoresOnly) {
  TempDir dir;
  auto store = OpenOrDie(dir.path("store"));
  ASSERT_OK(BuildTree(*store));
  ASSERT_OK(AddMembers(*store, 0, 20));
  ASSERT_OK(ArchiveOrDie(dir.path("backups"))->Create(*store, "op").status());
  auto ro = ArchiveOrDie(dir.path("backups"), 0, /*read_only=*/true);
  ASSERT_OK_AND_ASSIGN(auto listed, ro->List());
  ASSERT_THAT(listed, SizeIs(1));
  ASSERT_OK(ro->Verify(listed[0].id).status());
  EXPECT_THAT(ro->Create(*store, "op"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(ro->Purge(1), StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_OK(ro->Restore(0, dir.path("r")).status());
  EXPECT_EQ(MembersOf(*OpenOrDie(dir.path("r"))), 20);
}

}  // namespace
}  // namespace unionsync
