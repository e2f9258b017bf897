// Restoring a node: from its parent (a wiped store) and from its backups
// (unionctl backup, RocksDB's BackupEngine), with the cluster of
// cluster_fixture.h.
#include "cluster/cluster_fixture.h"
#include "testing/shell.h"

namespace unionsync::cluster {
namespace {

constexpr char kUnionctl[] = UNIONSYNC_UNIONCTL_BINARY;

// The cluster fixture under its own suite name (gtest wants one fixture
// class per suite, and each file has its own copy of ClusterTest).
class RestoreTest : public ClusterTest {};

// Runs unionctl with `args`; its exit code and what it printed.
std::pair<int, std::string> RunUnionctl(const std::vector<std::string>& args) {
  std::string cmd = testing::ShellQuote(kUnionctl);
  for (const std::string& a : args) {
    absl::StrAppend(&cmd, " ", testing::ShellQuote(a));
  }
  return testing::RunShell(cmd);
}

// 4. t1's store is wiped and t1 restarts on an empty directory (same node id,
// new incarnation): it gets its registration and its whole subtree back from
// d1, nothing is lost at d1 or the hub, and new members at t1 reach the hub.
TEST_F(RestoreTest, WipedChildStoreIsRestoredFromItsParent) {
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  std::vector<v1::Member> acked_t1, acked_d1;
  grpc::Status s = AddMembers(*gt1_, 15, gen_, &acked_t1);
  ASSERT_TRUE(s.ok()) << ToString(s);
  s = AddMembers(*gd1_, 5, gen_, &acked_d1);
  ASSERT_TRUE(s.ok()) << ToString(s);
  ASSERT_NO_FATAL_FAILURE(AwaitConvergence(std::chrono::seconds(60)));
  ASSERT_OK_AND_ASSIGN(v1::SubtreeCounters before, city_->Counters("t1"));

  auto link_of_t1 = [&]() -> std::optional<v1::LinkStatus> {
    auto r = d1_admin_->ReplicationStatus();
    if (!r.ok()) return std::nullopt;
    for (const v1::LinkStatus& l : r->links()) {
      if (l.peer() == "t1") return l;
    }
    return std::nullopt;
  };
  const std::optional<v1::LinkStatus> before_link = link_of_t1();
  ASSERT_TRUE(before_link.has_value()) << ReplicationReport();

  EXPECT_EQ(StopNode(*t1_), 0);
  std::filesystem::remove_all(t1_->data_dir());
  ASSERT_NO_FATAL_FAILURE(RestartT1());
  // Until the repair, the new t1 holds only what flows down by itself: the
  // registration and t1admin's account with its *initial* password. Failed
  // logins there would lock the account (5 failures), so wait on d1's side
  // for a new session and a repair snapshot before logging in at t1.
  std::optional<v1::LinkStatus> link;
  EXPECT_TRUE(WaitUntil(
      [&] {
        link = link_of_t1();
        return link.has_value() && link->state() == "streaming" &&
               link->sessions() > before_link->sessions() &&
               link->repairs() > before_link->repairs();
      },
      std::chrono::seconds(60), std::chrono::milliseconds(200)))
      << "d1 sent t1 no repair: "
      << (link.has_value() ? link->ShortDebugString() : "no link") << "\n"
      << t1_->LogTail();
  // The changed password comes back with the repair: at most 4 attempts.
  grpc::Status login;
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::seconds(1));
    AdminClient client(t1_->admin_port(), t1_->ca());
    v1::LoginResponse resp;
    login = client.Login("t1admin", kStrong, &resp);
    if (login.ok()) break;
  }
  ASSERT_TRUE(login.ok()) << "t1admin's changed password was not restored: "
                          << ToString(login) << "\n"
                          << ReplicationReport();
  ASSERT_NO_FATAL_FAILURE(AwaitConvergence(std::chrono::seconds(60)));
  ASSERT_OK_AND_ASSIGN(v1::SubtreeCounters after, city_->Counters("t1"));
  EXPECT_TRUE(Same(before, after)) << Show(before) << "\n" << Show(after);

  s = AddMembers(*gt1_, 5, gen_, &acked_t1);
  ASSERT_TRUE(s.ok()) << ToString(s);
  ASSERT_NO_FATAL_FAILURE(AwaitConvergence(std::chrono::seconds(60)));
  ASSERT_OK_AND_ASSIGN(v1::SubtreeCounters last, city_->Counters("t1"));
  EXPECT_EQ(last.members(), 20);
  InspectStores(acked_t1, acked_d1);
}

// 5. t1 is restored from a backup of its store taken before its administrator
// changed the password, and runs cut off from d1 for a while; there the same
// administrator changes the password again. The two versions of the account
// have the same credential epoch and the same author organisation. After the
// link heals (the restored store is detected as stale and starts a new
// incarnation), every tier must hold one and the same version: counters and
// digests agree.
TEST_F(RestoreTest, ChildRestoredFromABackupConvergesWithItsParent) {
  const std::string backups = dir_ + "/t1-backups";
  t1_args_ = {"--backup_dir=" + backups, "--backup_interval=0"};
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  std::vector<v1::Member> acked_t1, acked_d1;
  grpc::Status s = AddMembers(*gt1_, 3, gen_, &acked_t1);
  ASSERT_TRUE(s.ok()) << ToString(s);
  // A viewer of t1 observes t1's counters, so the checks below never log in
  // as t1admin, whose password changes.
  v1::CreateAccountRequest viewer;
  viewer.set_org_id("t1");
  viewer.set_username("t1viewer");
  viewer.set_role(v1::REVIEWER);
  v1::CreateAccountResponse created;
  s = t1_admin_->Call(&Stub::CreateAccount, viewer, &created);
  ASSERT_TRUE(s.ok()) << ToString(s);
  ASSERT_NO_FATAL_FAILURE(
      ActivateWhenArrived(*t1_, "t1viewer", created.initial_password()));
  t1_admin_ = std::make_unique<Session>(t1_.get(), "t1viewer", kStrong);
  ASSERT_NO_FATAL_FAILURE(AwaitConvergence(std::chrono::seconds(60)));

  // The backup, taken while t1 serves (the call `unionctl backup create`
  // makes).
  {
    AdminClient op(t1_->admin_port(), t1_->ca());
    v1::LoginResponse login;
    s = op.Login("t1admin", kStrong, &login);
    ASSERT_TRUE(s.ok()) << ToString(s);
    v1::CreateBackupResponse made;
    s = op.Call(&Stub::CreateBackup, login.token(), v1::CreateBackupRequest(),
                &made, std::chrono::seconds(60));
    ASSERT_TRUE(s.ok()) << ToString(s);
    EXPECT_EQ(made.backup().backup_id(), 1u);
    EXPECT_EQ(made.backup().trigger(), "t1admin");
    EXPECT_EQ(made.backup().node_id(), "t1");
  }
  auto change_password = [&](const std::string& from, const std::string& to) {
    AdminClient client(t1_->admin_port(), t1_->ca());
    v1::LoginResponse login;
    grpc::Status st = client.Login("t1admin", from, &login);
    if (!st.ok()) return st;
    v1::ChangePasswordRequest req;
    req.set_old_password(from);
    req.set_new_password(to);
    return client.Call(&Stub::ChangePassword, login.token(), req);
  };
  s = change_password(kStrong, "Second-Passw0rd!");
  ASSERT_TRUE(s.ok()) << ToString(s);
  ASSERT_NO_FATAL_FAILURE(AwaitConvergence(std::chrono::seconds(60)));

  // Restore the backup into a fresh data directory (the disk was replaced)
  // with unionctl, and run t1 cut off from d1.
  EXPECT_EQ(StopNode(*t1_), 0);
  std::filesystem::remove_all(t1_->data_dir());
  auto [rc, out] = RunUnionctl({"backup", "list", "--backup_dir", backups});
  ASSERT_EQ(rc, 0) << out;
  EXPECT_THAT(out, HasSubstr("t1admin"));
  std::tie(rc, out) = RunUnionctl({"backup", "restore", "--backup_dir", backups,
                                   "--data_dir", t1_->data_dir()});
  ASSERT_EQ(rc, 0) << out;
  EXPECT_THAT(out, HasSubstr("restored backup 1"));
  t1_up_.Cut();
  ASSERT_NO_FATAL_FAILURE(RestartT1());
  s = change_password(kStrong, "Third-Passw0rd!!");
  ASSERT_TRUE(s.ok()) << "the restored t1 holds the backup's password: "
                      << ToString(s);
  t1_up_.Heal();

  // The two versions have equal (credential_epoch, credential_author_org);
  // the version stamp decides (Store::ApplyImpl, the PUT_ACCOUNT check), so
  // both sides converge on one, and the repair rounds back off once they
  // have run (LinkCore) instead of looping.
  std::string why;
  const bool converged =
      WaitUntil([&] { return Converged(&why); }, std::chrono::seconds(20),
                std::chrono::milliseconds(200));
  EXPECT_TRUE(converged)
      << "t1 and its parent never agree after t1 was restored from a backup "
         "and its administrator changed the password at the same credential "
         "epoch as the version d1 holds (Store::ApplyImpl treats equal "
         "epoch + equal author org as the same version):\n"
      << why;
  // Repairs settle: at most a few rounds, then the probe interval (60 s).
  auto repairs = [&]() -> uint64_t {
    auto r = d1_admin_->ReplicationStatus();
    if (!r.ok()) return 0;
    for (const v1::LinkStatus& l : r->links()) {
      if (l.peer() == "t1") return l.repairs();
    }
    return 0;
  };
  const uint64_t repairs_before = repairs();
  std::this_thread::sleep_for(std::chrono::seconds(3));  // A sampling window.
  const uint64_t repairs_after = repairs();
  EXPECT_LE(repairs_after - repairs_before, 4u)
      << "d1 sent t1 " << repairs_after - repairs_before
      << " repair snapshots in 3 s (" << repairs_after
      << " in all): LinkCore::Applied re-probes at once after every applied "
         "repair, so a difference that repair cannot resolve loops without "
         "back-off";

  StopAll();
  // One version of t1admin's account everywhere.
  for (const auto& [a, b] : std::vector<std::pair<NodeProcess*, NodeProcess*>>{
           {t1_.get(), d1_.get()}, {d1_.get(), hub_.get()}}) {
    v1::Account at_a, at_b;
    {
      ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, OpenStore(*a));
      ASSERT_OK_AND_ASSIGN(at_a, store->GetAccount("t1admin"));
    }
    {
      ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, OpenStore(*b));
      ASSERT_OK_AND_ASSIGN(at_b, store->GetAccount("t1admin"));
    }
    EXPECT_TRUE(Same(at_a, at_b))
        << "t1admin differs: " << a->id() << " holds epoch "
        << at_a.credential_epoch() << " by " << at_a.credential_author_org()
        << " updated " << at_a.updated_at_ms() << ", " << b->id()
        << " holds epoch " << at_b.credential_epoch() << " by "
        << at_b.credential_author_org() << " updated " << at_b.updated_at_ms();
  }
  if (converged) InspectStores(acked_t1, acked_d1);
}

// 6. Backups while t1 serves, on a schedule and on request, and a kill -9 in
// the middle of one: the backups taken before stay listed and intact, nothing
// of the cut-off one is listed or left on disk after the restart, the next
// backup works, and /metrics says how many there are.
TEST_F(RestoreTest, ANodeKilledDuringABackupKeepsItsEarlierBackups) {
  const std::string backups = dir_ + "/t1-backups";
  // Slow enough (64 KiB/s) that the kill lands inside the second backup.
  t1_args_ = {"--backup_dir=" + backups, "--backup_interval=1h",
              "--backup_keep=3", "--backup_rate_limit_kib=64"};
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  auto op_token = [&]() -> std::string {
    AdminClient op(t1_->admin_port(), t1_->ca());
    v1::LoginResponse login;
    grpc::Status st = op.Login("t1admin", kStrong, &login);
    EXPECT_TRUE(st.ok()) << ToString(st);
    return login.token();
  };
  auto list = [&](const std::string& token) {
    AdminClient op(t1_->admin_port(), t1_->ca());
    v1::ListBackupsResponse listed;
    grpc::Status st =
        op.Call(&Stub::ListBackups, token, v1::ListBackupsRequest(), &listed);
    EXPECT_TRUE(st.ok()) << ToString(st);
    return listed;
  };
  std::string token = op_token();
  // The first scheduled backup comes shortly after the start.
  v1::ListBackupsResponse listed;
  ASSERT_TRUE(WaitUntil(
      [&] {
        listed = list(token);
        return listed.backups_size() == 1 && listed.running_since_ms() == 0;
      },
      std::chrono::seconds(60)))
      << listed.DebugString();
  EXPECT_EQ(listed.backups(0).trigger(), "schedule");
  EXPECT_GT(listed.next_scheduled_ms(), listed.backups(0).created_ms());

  // A bigger store, and a backup that is killed halfway.
  std::vector<v1::Member> acked;
  grpc::Status s = AddMembers(*gt1_, 400, gen_, &acked);
  ASSERT_TRUE(s.ok()) << ToString(s);
  std::thread backup([&] {
    AdminClient op(t1_->admin_port(), t1_->ca());
    v1::CreateBackupResponse made;
    grpc::Status st =
        op.Call(&Stub::CreateBackup, token, v1::CreateBackupRequest(), &made,
                std::chrono::seconds(120));
    EXPECT_FALSE(st.ok()) << "the backup ended before the kill: "
                          << made.DebugString();
  });
  // Files of a backup that is not complete: its own in private/<id>/ and
  // table files as shared_checksum/.<name>.tmp, until meta/<id> is written.
  auto cut_off_files = [&] {
    namespace fs = std::filesystem;
    std::error_code ec;
    for (const auto& e :
         fs::directory_iterator(backups + "/shared_checksum", ec)) {
      if (e.path().extension() == ".tmp") return true;
    }
    for (const auto& e : fs::directory_iterator(backups + "/private", ec)) {
      if (!fs::exists(backups + "/meta/" + e.path().filename().string())) {
        return true;
      }
    }
    return false;
  };
  const bool started = WaitUntil(cut_off_files, std::chrono::seconds(30),
                                 std::chrono::milliseconds(20));
  t1_->Kill9();
  backup.join();
  ASSERT_TRUE(started) << "the requested backup never began";

  ASSERT_NO_FATAL_FAILURE(RestartT1());
  token = op_token();
  listed = list(token);
  ASSERT_EQ(listed.backups_size(), 1) << listed.DebugString();
  EXPECT_EQ(listed.backups(0).trigger(), "schedule");
  EXPECT_FALSE(cut_off_files())
      << "the cut-off backup's files are still in " << backups;
  AdminClient op(t1_->admin_port(), t1_->ca());
  v1::VerifyBackupRequest verify;
  verify.set_backup_id(listed.backups(0).backup_id());
  s = op.Call(&Stub::VerifyBackup, token, verify);
  EXPECT_TRUE(s.ok()) << ToString(s);
  v1::CreateBackupResponse made;
  s = op.Call(&Stub::CreateBackup, token, v1::CreateBackupRequest(), &made,
              std::chrono::seconds(120));
  ASSERT_TRUE(s.ok()) << ToString(s);
  verify.set_backup_id(made.backup().backup_id());
  s = op.Call(&Stub::VerifyBackup, token, verify);
  EXPECT_TRUE(s.ok()) << ToString(s);
  EXPECT_EQ(list(token).backups_size(), 2);

  // Someone else's organisation may not take or read backups.
  v1::LoginResponse grassroots;
  ASSERT_TRUE(op.Login("gt1admin", kStrong, &grassroots).ok());
  s = op.Call(&Stub::ListBackups, grassroots.token(), v1::ListBackupsRequest());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << ToString(s);

  // Restored, the newest backup holds every member acknowledged before it.
  EXPECT_EQ(StopNode(*t1_), 0);
  const std::string restored = dir_ + "/t1-restored";
  auto [rc, out] = RunUnionctl(
      {"backup", "restore", "--backup_dir", backups, "--data_dir", restored});
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = RunUnionctl(
      {"backup", "restore", "--backup_dir", backups, "--data_dir", restored});
  EXPECT_EQ(rc, 1) << out;
  EXPECT_THAT(out, HasSubstr("is not empty"));
  StoreOptions so;
  so.path = restored;
  so.node_id = "t1";
  so.create_if_missing = false;
  auto vault = Vault::LoadFile(t1_->key_file());
  ASSERT_OK(vault);
  so.vault = *std::move(vault);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, Store::Open(so));
  for (const v1::Member& m : acked) {
    EXPECT_OK(store->GetMember(m.id())) << m.id();
  }
}

}  // namespace
}  // namespace unionsync::cluster
