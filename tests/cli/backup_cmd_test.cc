// unionctl backup create / list / verify / restore: parsing, help, and whole
// runs against a real node in-process (RocksDB in a temp dir), online through
// the Admin API and offline on the backup directory.
#include "cli/backup_cmd.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli/parse.h"
#include "cli/unionctl.h"
#include "node/node_server.h"
#include "synth/synth.h"
#include "testing/node_fixture.h"
#include "testing/status_matchers.h"
#include "unionsync/v1/admin.pb.h"

namespace unionsync::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::unionsync::testing::kCity;
using ::unionsync::testing::kNow;
using Args = std::vector<std::string>;

TEST(BackupParseTest, HelpAndVerbTable) {
  EXPECT_THAT(HelpText("backup"), HasSubstr("backup restore"));
  EXPECT_THAT(HelpText("backup restore"), HasSubstr("--data_dir DIR"));
  EXPECT_THAT(HelpText("backup verify"), HasSubstr("checksum"));
  EXPECT_THAT(HelpText(""), HasSubstr("backup create"));
}

class BackupRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("unionsync_backup_cmd_test");
    NodeOptions o = testing::CityNodeOptions(dir_, &clock_);
    NodeBackupOptions backup;
    backup.archive.dir = dir_ + "/backups";
    backup.interval = absl::ZeroDuration();
    backup.keep = 2;
    o.backup = backup;
    ASSERT_NO_FATAL_FAILURE(testing::StartNode(o, &node_));
    auto pw = testing::BootstrapCity(*node_);
    ASSERT_TRUE(pw.ok());
    city_token_ = testing::Activate(*node_, "admin", *pw);
    d1_token_ = testing::CreateActiveChild(*node_, city_token_, kCity, "d1",
                                           v1::DISTRICT_FEDERATION, "d1admin",
                                           "430102");
    ASSERT_OK(testing::WriteSession(dir_ + "/home", node_->port(), "admin",
                                    kCity, city_token_));
  }
  void TearDown() override {
    node_.reset();
    std::filesystem::remove_all(dir_);
  }
  testing::UnionctlResult Run(const Args& argv) {
    return testing::RunUnionctlAt(dir_ + "/home", argv);
  }

  std::string dir_;
  FakeClock clock_{kNow};
  std::unique_ptr<NodeServer> node_;
  std::string city_token_, d1_token_;
};

TEST_F(BackupRunTest, CreateListVerifyThenRestoreOffline) {
  auto r = Run({"backup", "list"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("no backups yet"));
  for (int i = 0; i < 3; ++i) {
    r = Run({"backup", "create"});
    ASSERT_EQ(r.code, kExitOk) << r.err;
    EXPECT_THAT(r.out, HasSubstr("took backup"));
    EXPECT_THAT(r.out, HasSubstr("by admin"));
  }
  // --backup_keep=2: the oldest is gone.
  r = Run({"--json", "backup", "list"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, Not(HasSubstr("\"backupId\":1,")));
  r = Run({"backup", "list"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("ID"));
  EXPECT_THAT(r.out, HasSubstr("admin"));
  EXPECT_THAT(r.out, Not(HasSubstr("next scheduled")));
  r = Run({"backup", "verify", "3"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("intact: backup 3"));
  r = Run({"backup", "verify", "1"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr("no backup 1"));
  r = Run({"backup", "verify", "x"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("a backup id"));

  // Offline, on the directory (the node keeps running: read-only).
  const std::string backups = dir_ + "/backups";
  r = Run({"backup", "list", "--backup_dir", backups});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr(backups));
  r = Run({"backup", "verify", "2", "--backup_dir", backups});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  r = Run({"backup", "restore", "--backup_dir", backups});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("--data_dir"));
  r = Run({"backup", "restore", "--backup_dir", backups, "--data_dir",
           dir_ + "/restored", "--backup_id", "2"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("restored backup 2"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/restored/CURRENT"));
  r = Run({"backup", "restore", "--backup_dir", backups, "--data_dir",
           dir_ + "/restored"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr("is not empty"));
  r = Run({"backup", "list", "--backup_dir", dir_ + "/nowhere"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr("no backup directory at"));
}

TEST_F(BackupRunTest, OnlyTheNodesOwnOrganisationOperatesBackups) {
  ASSERT_OK(testing::WriteSession(dir_ + "/home", node_->port(), "d1admin",
                                  "d1", d1_token_));
  auto r = Run({"backup", "create"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr("PERMISSION_DENIED"));
  r = Run({"backup", "list"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr("PERMISSION_DENIED"));
}

// What /metrics adds for backups (NodeDashboardBackend appends it), and the
// options a node refuses to start with.
TEST_F(BackupRunTest, BackupMetricsAndBadOptions) {
  NodeBackupOptions o;
  o.archive.dir = dir_ + "/other-backups";
  o.interval = absl::ZeroDuration();
  ASSERT_OK_AND_ASSIGN(auto backups, NodeBackups::Start(&node_->store(), o));
  EXPECT_THAT(backups->MetricsText(), HasSubstr("unionsync_backups 0\n"));
  ASSERT_OK(backups->Create("test").status());
  const std::string text = backups->MetricsText();
  EXPECT_THAT(text, HasSubstr("unionsync_backups 1\n"));
  EXPECT_THAT(text,
              HasSubstr("unionsync_backup_runs_total{outcome=\"ok\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("unionsync_backup_running 0\n"));
  EXPECT_THAT(text, HasSubstr("unionsync_backup_newest_timestamp_seconds 17"));
  o.keep = 0;
  EXPECT_THAT(NodeBackups::Start(&node_->store(), o),
              testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                HasSubstr("--backup_keep")));
  o.keep = 1;
  o.interval = absl::Seconds(5);
  EXPECT_THAT(NodeBackups::Start(&node_->store(), o),
              testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                HasSubstr("at least 1m")));
  // One directory, one node.
  o.interval = absl::ZeroDuration();
  StoreOptions other;
  other.path = dir_ + "/d9";
  other.node_id = "d9";
  other.vault = testing::TestVault();
  ASSERT_OK_AND_ASSIGN(auto d9, Store::Open(other));
  EXPECT_THAT(NodeBackups::Start(d9.get(), o),
              testing::StatusIs(absl::StatusCode::kFailedPrecondition,
                                HasSubstr("holds backups of node 430100")));
}

}  // namespace
}  // namespace unionsync::cli
