// Multi-process cluster tests with the real binaries: the city hub (430100),
// a tier-2 node d1 and a tier-3 node t1, each its own process on its own
// RocksDB directory, linked over mutual TLS on 127.0.0.1 through TCP proxies
// that the tests cut and heal:
//
//   hub 430100  <-proxy-  node d1      <-proxy-  node t1
//                         hosts d1-g1            hosts t1-g1
//
// The grassroots unions d1-g1 (on d1) and t1-g1 (on t1) enter members through
// their nodes' Admin API. After the processes are stopped, every data
// directory is opened with unionsync::Store and inspected.
//
// Every wait polls with a deadline; sleeps only pace the workload. The chaos
// test prints its seed; replay one with UNIONSYNC_CLUSTER_SEED=<seed>.
#include "cluster/cluster_fixture.h"

namespace unionsync::cluster {
namespace {

// 1. The set test: leaves write unique members while nodes are killed with
// SIGKILL and restarted and links are cut and healed at random. Every
// acknowledged member reaches the hub exactly once and identical.
TEST_F(ClusterTest, AcknowledgedMembersSurviveKillsAndCuts) {
  uint64_t seed = std::random_device()();
  if (const char* env = std::getenv("UNIONSYNC_CLUSTER_SEED")) {
    ASSERT_TRUE(absl::SimpleAtoi(env, &seed)) << env;
  }
  std::cout << "[cluster] seed " << seed
            << " (replay with UNIONSYNC_CLUSTER_SEED=" << seed << ")"
            << std::endl;
  RecordProperty("seed", std::to_string(seed));
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  std::mt19937_64 rng(seed);

  Writer at_t1(t1_.get(), "gt1admin", seed + 1);
  Writer at_d1(d1_.get(), "gd1admin", seed + 2);
  std::atomic<bool> stop{false};
  constexpr int kMaxAttempts = 20'000;  // Per writer; a bound, not a goal.
  std::thread w1([&] { at_t1.Run(&stop, kMaxAttempts); });
  std::thread w2([&] { at_d1.Run(&stop, kMaxAttempts); });

  // Every kind of fault at least once, in a seeded order, plus random ones.
  enum Action { kKillT1, kKillD1, kKillHub, kCutT1, kCutD1, kWrite, kKinds };
  std::vector<int> schedule = {kKillT1, kKillD1, kKillHub, kCutT1, kCutD1};
  constexpr int kRounds = 20;
  while (schedule.size() < kRounds) schedule.push_back(rng() % kKinds);
  for (size_t i = schedule.size() - 1; i > 0; --i) {
    std::swap(schedule[i], schedule[rng() % (i + 1)]);
  }
  std::string actions;
  for (int action : schedule) {
    if (HasFatalFailure()) break;
    const auto down = std::chrono::milliseconds(100 + rng() % 700);
    switch (action) {
      case kKillT1:
        absl::StrAppend(&actions, " kill-t1");
        t1_->Kill9();
        std::this_thread::sleep_for(down);
        RestartT1();
        break;
      case kKillD1:
        absl::StrAppend(&actions, " kill-d1");
        d1_->Kill9();
        std::this_thread::sleep_for(down);
        RestartD1();
        break;
      case kKillHub:
        absl::StrAppend(&actions, " kill-hub");
        hub_->Kill9();
        std::this_thread::sleep_for(down);
        RestartHub();
        break;
      case kCutT1:
        absl::StrAppend(&actions, t1_up_.is_cut() ? " heal-t1" : " cut-t1");
        t1_up_.is_cut() ? t1_up_.Heal() : t1_up_.Cut();
        break;
      case kCutD1:
        absl::StrAppend(&actions, d1_up_.is_cut() ? " heal-d1" : " cut-d1");
        d1_up_.is_cut() ? d1_up_.Heal() : d1_up_.Cut();
        break;
      default:
        absl::StrAppend(&actions, " write");
        break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200 + rng() % 800));
  }
  t1_up_.Heal();
  d1_up_.Heal();
  stop = true;
  w1.join();
  w2.join();
  std::cout << "[cluster] rounds:" << actions << "\n[cluster] acknowledged "
            << at_t1.acked().size() << " at t1 (" << at_t1.failed()
            << " failed), " << at_d1.acked().size() << " at d1 ("
            << at_d1.failed() << " failed)" << std::endl;
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_GT(at_t1.acked().size(), 0u) << at_t1.last_error();
  EXPECT_GT(at_d1.acked().size(), 0u) << at_d1.last_error();

  ASSERT_NO_FATAL_FAILURE(AwaitConvergence(std::chrono::seconds(120)));
  InspectStores(at_t1.acked(), at_d1.acked());
}

// 2. d1 is down while t1 keeps accepting members (its Admin API does not wait
// for its parent); after d1 returns everything reaches the hub.
TEST_F(ClusterTest, SubtreeKeepsWritingWhileItsParentNodeIsDown) {
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  std::vector<v1::Member> acked_t1, acked_d1;
  grpc::Status s = AddMembers(*gt1_, 5, gen_, &acked_t1);
  ASSERT_TRUE(s.ok()) << ToString(s);
  s = AddMembers(*gd1_, 3, gen_, &acked_d1);
  ASSERT_TRUE(s.ok()) << ToString(s);
  ASSERT_NO_FATAL_FAILURE(AwaitConvergence(std::chrono::seconds(60)));

  EXPECT_EQ(StopNode(*d1_), 0) << d1_->LogTail();
  // t1 notices that its parent is gone and still serves its users.
  std::string state;
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto r = t1_admin_->ReplicationStatus();
        if (!r.ok() || r->links_size() != 1) return false;
        state = r->links(0).state();
        return state != "streaming";
      },
      std::chrono::seconds(30)))
      << "t1's uplink still " << state;
  s = AddMembers(*gt1_, 20, gen_, &acked_t1);
  ASSERT_TRUE(s.ok()) << "t1 refused a member while d1 was down: "
                      << ToString(s);
  auto at_hub = city_->Counters("t1");
  ASSERT_OK(at_hub);
  EXPECT_EQ(at_hub->members(), 5);

  ASSERT_NO_FATAL_FAILURE(RestartD1());
  ASSERT_NO_FATAL_FAILURE(AwaitConvergence(std::chrono::seconds(90)));
  at_hub = city_->Counters("t1");
  ASSERT_OK(at_hub);
  EXPECT_EQ(at_hub->members(), 25);
  InspectStores(acked_t1, acked_d1);
}

// 3a. A process with a valid certificate of the same CA for an organisation
// that is not a registered child is refused by the hub and audited.
TEST_F(ClusterTest, UnregisteredOrganisationIsRefusedAndAudited) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(/*with_t1=*/false));
  auto before = city_->ReplicationStatus();
  ASSERT_OK(before);

  std::unique_ptr<NodeProcess> rogue = NewNode(kNodeBinary, "rogue");
  rogue->spec().repl_port = false;
  rogue->spec().parent_address = hub_->repl_address();
  rogue->spec().parent_id = kCity;
  ASSERT_OK(rogue->Start());
  uint64_t refused = 0;
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto r = city_->ReplicationStatus();
        refused = r.ok() ? r->refused_streams() : 0;
        return refused > before->refused_streams();
      },
      std::chrono::seconds(30)))
      << "the hub never refused rogue; refused_streams " << refused << "\n"
      << rogue->LogTail();

  // What the refused peer is told.
  auto creds = MakeChannelCredentials(Tls("ca", "rogue"));
  ASSERT_OK(creds);
  grpc::Status s;
  {
    RawLink link(*creds, hub_->repl_address());
    link.Send(HelloAs("rogue", "00112233445566778899aabbccddeeff", 1));
    s = link.Finish();
  }
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << ToString(s);
  EXPECT_THAT(s.error_message(), HasSubstr("'rogue' is not registered"));

  EXPECT_EQ(rogue->Stop(), 0) << rogue->LogTail();
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> r, OpenStore(*rogue));
    EXPECT_FALSE(r->GetOrg("rogue").ok());
    auto log = r->ReadLog(1, 10);
    ASSERT_OK(log);
    EXPECT_EQ(log->size(), 0u);
  }
  StopAll();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> hub, OpenStore(*hub_));
  auto audit = hub->ReadAudit(1, 1'000'000);
  ASSERT_OK(audit);
  int denied = 0;
  for (const v1::AuditEntry& e : *audit) {
    if (e.action() == "ReplicationLink" && e.actor() == "rogue") {
      EXPECT_EQ(e.outcome(), v1::AUDIT_DENIED) << e.ShortDebugString();
      EXPECT_THAT(e.detail(), HasSubstr("not registered"));
      ++denied;
    }
  }
  EXPECT_GE(denied, 2) << "one audit entry per refused stream (the node's "
                          "and the raw client's)";
  EXPECT_FALSE(hub->GetOrg("rogue").ok());
  ASSERT_OK_AND_ASSIGN(auto broken, hub->VerifyAuditChain());
  EXPECT_FALSE(broken.has_value());
}

// 3b. A certificate from another CA never gets past the TLS handshake: not as
// a client trusting the right CA, not as a whole node of the other CA.
TEST_F(ClusterTest, CertificateFromAnotherCaCannotLink) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(/*with_t1=*/false));
  auto link_of_d1 = [&]() -> std::optional<v1::LinkStatus> {
    auto r = city_->ReplicationStatus();
    if (!r.ok()) return std::nullopt;
    for (const v1::LinkStatus& l : r->links()) {
      if (l.peer() == "d1") return l;
    }
    return std::nullopt;
  };
  std::optional<v1::LinkStatus> before;
  ASSERT_TRUE(WaitUntil(
      [&] {
        before = link_of_d1();
        return before.has_value() && before->state() == "streaming";
      },
      std::chrono::seconds(30)))
      << ReplicationReport();
  ASSERT_OK_AND_ASSIGN(v1::GetReplicationStatusResponse status_before,
                       city_->ReplicationStatus());
  const uint64_t refused_before = status_before.refused_streams();

  // d1's name, the right CA to trust, a certificate of the other CA.
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadFileOrEmpty(Tls("ca", "d1").ca_pem_path);
  ssl.pem_cert_chain = ReadFileOrEmpty(Tls("other", "d1").cert_pem_path);
  ssl.pem_private_key = ReadFileOrEmpty(Tls("other", "d1").key_pem_path);
  {
    RawLink link(grpc::SslCredentials(ssl), hub_->repl_address(),
                 std::chrono::seconds(10));
    link.Send(HelloAs("d1", "00112233445566778899aabbccddeeff", 1));
    grpc::Status s = link.Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << ToString(s);
  }

  // A whole d1 node of the other CA, on its own empty store.
  std::unique_ptr<NodeProcess> impostor = NewNode(kNodeBinary, "d1", "other");
  impostor->spec().dir = dir_ + "/impostor";
  impostor->spec().repl_port = false;
  impostor->spec().parent_address = hub_->repl_address();
  impostor->spec().parent_id = kCity;
  ASSERT_OK(impostor->Start());
  auto attempts = [&] {
    const std::string log = impostor->Log();
    int n = 0;
    for (size_t at = log.find("uplink to 430100 ended");
         at != std::string::npos;
         at = log.find("uplink to 430100 ended", at + 1)) {
      ++n;
    }
    return n;
  };
  EXPECT_TRUE(
      WaitUntil([&] { return attempts() >= 2; }, std::chrono::seconds(30)))
      << impostor->LogTail();
  EXPECT_EQ(impostor->Stop(), 0);
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> s, OpenStore(*impostor));
    EXPECT_FALSE(s->GetOrg("d1").ok());
    EXPECT_FALSE(s->GetAccount("d1admin").ok());
  }
  // The real d1's session was never replaced; nothing reached the service.
  std::optional<v1::LinkStatus> after = link_of_d1();
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->sessions(), before->sessions());
  EXPECT_EQ(after->state(), "streaming");
  ASSERT_OK_AND_ASSIGN(v1::GetReplicationStatusResponse status_after,
                       city_->ReplicationStatus());
  EXPECT_EQ(status_after.refused_streams(), refused_before);
}

// 3c. A certificate naming another organisation than --node_id stops the
// node (and the hub) at start-up with a clear message, before any store is
// created.
TEST_F(ClusterTest, CertificateOfAnotherOrganisationIsRefusedAtStartup) {
  for (const char* binary : {kNodeBinary, kHubBinary}) {
    const bool is_hub = binary == kHubBinary;
    std::unique_ptr<NodeProcess> node = NewNode(binary, "d1");
    node->spec().tls = Tls("ca", "rogue");
    node->spec().dir = dir_ + (is_hub ? "/mismatch-hub" : "/mismatch-node");
    if (!is_hub) {
      node->spec().repl_port = false;
      node->spec().parent_address = "127.0.0.1:1";
      node->spec().parent_id = kCity;
    }
    absl::Status s = node->Start(std::chrono::seconds(20));
    EXPECT_FALSE(s.ok()) << binary << " started with rogue's certificate";
    EXPECT_THAT(node->process().exit_code(), ::testing::Optional(1))
        << node->LogTail();
    EXPECT_THAT(node->Log(), HasSubstr("is for organisation 'rogue' but this "
                                       "node is 'd1'"));
    EXPECT_FALSE(std::filesystem::exists(node->data_dir())) << binary;
  }
}

// 3d. A child that sends records outside its subtree (here: a client with
// t1's real certificate, while t1 is stopped): d1 applies the legitimate
// change, refuses the other one as a security event (ReplicationReject audit
// entry, `rejected` in the Ack) and keeps the stream going.
TEST_F(ClusterTest, ChildRecordsOutsideItsSubtreeAreRejected) {
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  std::vector<v1::Member> acked_t1, acked_d1;
  grpc::Status s = AddMembers(*gt1_, 3, gen_, &acked_t1);
  ASSERT_TRUE(s.ok()) << ToString(s);
  s = AddMembers(*gd1_, 2, gen_, &acked_d1);
  ASSERT_TRUE(s.ok()) << ToString(s);
  ASSERT_NO_FATAL_FAILURE(AwaitConvergence(std::chrono::seconds(60)));
  EXPECT_EQ(StopNode(*t1_), 0);

  // Changes as t1 would log them, from a fresh incarnation.
  ASSERT_OK_AND_ASSIGN(std::string raw, RandomBytes(16));
  const std::string incarnation = absl::BytesToHexString(raw);
  const uint64_t hlc =
      static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::milliseconds>(
              std::chrono::system_clock::now().time_since_epoch())
              .count())
      << 16;
  auto member_change = [&](const std::string& org, uint64_t seq) {
    v1::Change c;
    c.set_origin("t1");
    c.set_origin_incarnation(incarnation);
    c.set_origin_seq(seq);
    c.set_log_pos(seq);
    c.set_hlc(hlc + seq);
    c.set_author("gt1admin");
    c.set_kind(v1::PUT_MEMBER);
    v1::Member* m = c.mutable_member();
    *m = SynthMember(gen_, next_id_number++);
    auto id = RandomBytes(12);
    m->set_id(absl::BytesToHexString(id.ok() ? *id : std::string(12, 'x')));
    m->set_org_id(org);
    m->set_status(v1::MEMBER_ACTIVE);
    m->set_created_at_ms(static_cast<int64_t>(hlc >> 16));
    m->set_updated_at_ms(static_cast<int64_t>(hlc >> 16));
    return c;
  };
  const v1::Change legit1 = member_change("t1-g1", 1);
  const v1::Change foreign = member_change("d1-g1", 2);  // d1's own union.
  const v1::Change legit2 = member_change("t1-g1", 3);

  auto creds = MakeChannelCredentials(Tls("ca", "t1"));
  ASSERT_OK(creds);
  auto link = std::make_unique<RawLink>(*creds, d1_->repl_address());
  ASSERT_TRUE(link->Send(HelloAs("t1", incarnation, 4)));
  auto hello =
      link->ReadUntil([](const v1::LinkMessage& m) { return m.has_hello(); });
  ASSERT_TRUE(hello.has_value())
      << "d1 did not answer the Hello: " << ToString(link->Finish());
  EXPECT_EQ(hello->hello().node_id(), "d1");

  v1::LinkMessage batch;
  batch.mutable_batch()->set_first_pos(1);
  batch.mutable_batch()->set_last_pos(2);
  *batch.mutable_batch()->add_changes() = legit1;
  *batch.mutable_batch()->add_changes() = foreign;
  ASSERT_TRUE(link->Send(batch));
  auto ack = link->ReadUntil([](const v1::LinkMessage& m) {
    return m.has_ack() && m.ack().pos() == 2;
  });
  ASSERT_TRUE(ack.has_value())
      << "no Ack for [1, 2]: " << ToString(link->Finish());
  EXPECT_EQ(ack->ack().applied(), 1);
  EXPECT_EQ(ack->ack().rejected(), 1);

  // The stream goes on.
  batch.mutable_batch()->set_first_pos(3);
  batch.mutable_batch()->set_last_pos(3);
  batch.mutable_batch()->clear_changes();
  *batch.mutable_batch()->add_changes() = legit2;
  ASSERT_TRUE(link->Send(batch));
  ack = link->ReadUntil([](const v1::LinkMessage& m) {
    return m.has_ack() && m.ack().pos() == 3;
  });
  ASSERT_TRUE(ack.has_value())
      << "no Ack for [3, 3]: " << ToString(link->Finish());
  EXPECT_EQ(ack->ack().applied(), 1);
  EXPECT_EQ(ack->ack().rejected(), 0);
  link->Cancel();
  link.reset();  // Its channel would hold up d1's shutdown.

  // The legitimate members travel on to the hub; d1's own union is untouched.
  std::string why;
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto hub_g = city_->Counters("t1-g1");
        auto d1_g = d1_admin_->Counters("t1-g1");
        auto hub_d1 = city_->Counters("d1");
        auto d1_d1 = d1_admin_->Counters("d1");
        why = absl::StrCat(Show(hub_g), " / ", Show(d1_g));
        return hub_g.ok() && d1_g.ok() && d1_g->members() == 5 && hub_d1.ok() &&
               d1_d1.ok() && Same(*hub_d1, *d1_d1);
      },
      std::chrono::seconds(30)))
      << why;
  auto gd1 = d1_admin_->Counters("d1-g1");
  ASSERT_OK(gd1);
  EXPECT_EQ(gd1->members(), 2);

  StopAll();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> hub, OpenStore(*hub_));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> d1, OpenStore(*d1_));
  for (Store* store : {d1.get(), hub.get()}) {
    EXPECT_OK(store->GetMember(legit1.member().id()));
    EXPECT_OK(store->GetMember(legit2.member().id()));
    EXPECT_FALSE(store->GetMember(foreign.member().id()).ok());
    auto holders = store->MembersWithIdNumber(foreign.member().id_number());
    EXPECT_TRUE(holders.ok() && holders->empty());
  }
  auto audit = d1->ReadAudit(1, 1'000'000);
  ASSERT_OK(audit);
  int rejects = 0;
  for (const v1::AuditEntry& e : *audit) {
    if (e.action() != "ReplicationReject") continue;
    ++rejects;
    EXPECT_EQ(e.actor(), "t1");
    EXPECT_EQ(e.outcome(), v1::AUDIT_DENIED);
    EXPECT_THAT(e.detail(), HasSubstr("origin t1 seq 2"));
  }
  EXPECT_EQ(rejects, 1);
  EXPECT_OK(testing::CheckStoreInvariants(*d1, "d1", true));
}

}  // namespace
}  // namespace unionsync::cluster

namespace unionsync::cluster {
namespace {

// docs/KEYS.md, "Rotating a data key", with the real scripts and binaries: a
// new data key while d1 keeps serving, `--reseal`, the old key retired; a
// node whose key file lacks a key its store needs refuses to start.
TEST_F(ClusterTest, DataKeyRotationFollowsTheOperatorProcedure) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(/*with_t1=*/false));
  std::vector<v1::Member> acked;
  grpc::Status s = AddMembers(*gd1_, 10, gen_, &acked);
  ASSERT_TRUE(s.ok()) << ToString(s);
  ASSERT_NO_FATAL_FAILURE(AwaitConvergence(std::chrono::seconds(60)));

  // d1's own copy of its key file, so the suite's files stay as they were.
  const std::string keys = dir_ + "/d1.keys";
  std::filesystem::copy_file(d1_->key_file(), keys);
  d1_->spec().key_file = keys;
  const std::string scripts = kCertsScripts;
  auto run = [](const std::string& cmd) {
    return std::system((cmd + " >/dev/null 2>&1").c_str());
  };

  // 1. A second data key, active; d1 restarts and writes under it.
  EXPECT_EQ(StopNode(*d1_), 0);
  ASSERT_EQ(run(scripts + "/rotate-data-key.sh " + ShellQuote(keys)), 0);
  ASSERT_NO_FATAL_FAILURE(RestartD1());
  d1_admin_ = std::make_unique<Session>(d1_.get(), "d1admin", kStrong);
  gd1_ = std::make_unique<Session>(d1_.get(), "gd1admin", kStrong);
  s = AddMembers(*gd1_, 5, gen_, &acked);
  ASSERT_TRUE(s.ok()) << ToString(s);
  ASSERT_NO_FATAL_FAILURE(AwaitConvergence(std::chrono::seconds(60)));
  EXPECT_EQ(StopNode(*d1_), 0);

  // Retiring key 1 now would strand the first ten members: refused.
  const std::string early = dir_ + "/d1-early.keys";
  std::filesystem::copy_file(keys, early);
  ASSERT_EQ(run(scripts + "/rotate-data-key.sh --retire " + ShellQuote(early)),
            0);
  {
    Process p;
    ASSERT_OK(p.Start(
        {kNodeBinary, "--node_id=d1", "--data_dir=" + d1_->data_dir(),
         "--key_file=" + early, "--listen=127.0.0.1:0", "--insecure_plaintext"},
        dir_ + "/early.log"));
    const std::optional<int> code = p.WaitExit(30s);
    ASSERT_TRUE(code.has_value()) << "d1 started without data key 1";
    EXPECT_NE(*code, 0);
    EXPECT_THAT(ReadFileOrEmpty(dir_ + "/early.log"),
                HasSubstr("data key(s) 1,"));
  }

  // 2. The reseal.
  {
    Process p;
    ASSERT_OK(
        p.Start({kNodeBinary, "--node_id=d1", "--data_dir=" + d1_->data_dir(),
                 "--key_file=" + keys, "--reseal"},
                dir_ + "/reseal.log"));
    const std::optional<int> code = p.WaitExit(60s);
    const std::string out = ReadFileOrEmpty(dir_ + "/reseal.log");
    ASSERT_EQ(code, std::optional<int>(0)) << out;
    EXPECT_THAT(out, HasSubstr("resealed under data key 2"));
    EXPECT_THAT(out, HasSubstr("key 1="));
    EXPECT_THAT(out, HasSubstr("key 2=5"));  // The five members after step 1.
  }

  // 3. Key 1 retired; d1 starts, serves and replicates everything.
  ASSERT_EQ(run(scripts + "/rotate-data-key.sh --retire " + ShellQuote(keys)),
            0);
  EXPECT_THAT(ReadFileOrEmpty(keys), ::testing::Not(HasSubstr("data 1 ")));
  ASSERT_NO_FATAL_FAILURE(RestartD1());
  gd1_ = std::make_unique<Session>(d1_.get(), "gd1admin", kStrong);
  s = AddMembers(*gd1_, 2, gen_, &acked);
  ASSERT_TRUE(s.ok()) << ToString(s);
  ASSERT_NO_FATAL_FAILURE(AwaitConvergence(std::chrono::seconds(60)));
  // Every acknowledged member, ID and phone numbers included, is the same at
  // d1 (opened with the new key file only) and at the hub.
  InspectStores({}, acked);
}

// A compromised child node (here: a client holding d1's real certificate,
// while d1 is stopped) tries to undo and forge the parent's decisions: it
// re-enables the administrator the hub disabled (claiming the hub's
// authority, then its own with a raised epoch, then within the disable's
// epoch block), creates a second data administrator of its own union, and
// sends a warning. The hub refuses each as a security event and applies the
// one legitimate member.
TEST_F(ClusterTest, ACompromisedChildCannotRewriteTheParentsDecisions) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(/*with_t1=*/false));
  v1::DisableAccountRequest disable;
  disable.set_username("d1admin");
  disable.set_reason("调离岗位");
  v1::DisableAccountResponse disabled;
  grpc::Status s = city_->Call(&Stub::DisableAccount, disable, &disabled);
  ASSERT_TRUE(s.ok()) << ToString(s);
  const int64_t disable_epoch = disabled.account().credential_epoch();
  {
    AdminClient client(d1_->admin_port(), d1_->ca());
    ASSERT_TRUE(WaitUntil(
        [&] {
          v1::LoginResponse resp;
          return client.Login("d1admin", kStrong, &resp).error_code() ==
                 grpc::StatusCode::PERMISSION_DENIED;
        },
        std::chrono::seconds(30)))
        << "the disable never reached d1";
  }
  EXPECT_EQ(StopNode(*d1_), 0);

  ASSERT_OK_AND_ASSIGN(std::string raw, RandomBytes(16));
  const std::string incarnation = absl::BytesToHexString(raw);
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count();
  ASSERT_OK_AND_ASSIGN(
      std::string hash,
      HashPassword("Forged-Passw0rd!", ScryptParams::ForTests()));
  uint64_t seq = 0;
  auto change = [&](v1::ChangeKind kind) {
    v1::Change c;
    c.set_origin("d1");
    c.set_origin_incarnation(incarnation);
    c.set_origin_seq(++seq);
    c.set_log_pos(seq);
    c.set_hlc((static_cast<uint64_t>(now_ms) << 16) + seq);
    c.set_author("d1admin");
    c.set_kind(kind);
    return c;
  };
  auto account = [&](const std::string& user, const std::string& author,
                     int64_t epoch) {
    v1::Change c = change(v1::PUT_ACCOUNT);
    v1::Account* a = c.mutable_account();
    a->set_username(user);
    a->set_org_id("d1");
    a->set_role(v1::DATA_ADMIN);
    a->set_state(v1::CREDENTIAL_ACTIVE);
    a->set_password_hash(hash);
    a->set_credential_epoch(epoch);
    a->set_credential_author_org(author);
    a->set_updated_at_ms(now_ms);
    return c;
  };
  std::vector<v1::Change> forged = {
      account("d1admin", kCity, int64_t{1} << 40),  // The hub's name.
      account("d1admin", "d1", int64_t{1} << 40),   // A raised block.
      account("d1admin", "d1", disable_epoch + 1),  // Over the disable.
      account("d1spy", "d1", 1),                    // A second admin.
  };
  {
    v1::Change w = change(v1::PUT_WARNING);
    v1::Warning* warning = w.mutable_warning();
    warning->set_id("audit/430100");
    warning->set_kind(v1::AUDIT_CHAIN_BROKEN);
    warning->set_severity(v1::SEVERITY_SERIOUS);
    warning->set_org_id("d1");
    warning->set_text("伪造的预警");
    warning->set_open(true);
    forged.push_back(w);
  }
  v1::Change legit = change(v1::PUT_MEMBER);
  {
    v1::Member* m = legit.mutable_member();
    *m = SynthMember(gen_, next_id_number++);
    ASSERT_OK_AND_ASSIGN(std::string id, RandomBytes(12));
    m->set_id(absl::BytesToHexString(id));
    m->set_org_id("d1-g1");
    m->set_status(v1::MEMBER_ACTIVE);
    m->set_created_at_ms(now_ms);
    m->set_updated_at_ms(now_ms);
  }

  auto creds = MakeChannelCredentials(Tls("ca", "d1"));
  ASSERT_OK(creds);
  auto link = std::make_unique<RawLink>(*creds, d1_up_.address());
  ASSERT_TRUE(link->Send(HelloAs("d1", incarnation, seq + 1)));
  ASSERT_TRUE(
      link->ReadUntil([](const v1::LinkMessage& m) { return m.has_hello(); })
          .has_value())
      << ToString(link->Finish());
  v1::LinkMessage batch;
  batch.mutable_batch()->set_first_pos(1);
  batch.mutable_batch()->set_last_pos(seq);
  for (const v1::Change& c : forged) *batch.mutable_batch()->add_changes() = c;
  *batch.mutable_batch()->add_changes() = legit;
  ASSERT_TRUE(link->Send(batch));
  auto ack = link->ReadUntil([&](const v1::LinkMessage& m) {
    return m.has_ack() && m.ack().pos() == seq;
  });
  ASSERT_TRUE(ack.has_value()) << ToString(link->Finish());
  EXPECT_EQ(ack->ack().applied(), 1);
  EXPECT_EQ(ack->ack().rejected(), static_cast<int>(forged.size()));
  link->Cancel();
  link.reset();

  StopAll();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> hub, OpenStore(*hub_));
  ASSERT_OK_AND_ASSIGN(v1::Account held, hub->GetAccount("d1admin"));
  EXPECT_EQ(held.state(), v1::CREDENTIAL_DISABLED);
  EXPECT_EQ(held.credential_epoch(), disable_epoch);
  EXPECT_FALSE(hub->GetAccount("d1spy").ok());
  EXPECT_FALSE(hub->GetWarning("audit/430100").ok());
  EXPECT_OK(hub->GetMember(legit.member().id()));
  auto audit = hub->ReadAudit(1, 1'000'000);
  ASSERT_OK(audit);
  std::vector<std::string> why;
  for (const v1::AuditEntry& e : *audit) {
    if (e.action() == "ReplicationReject" && e.actor() == "d1") {
      EXPECT_EQ(e.outcome(), v1::AUDIT_DENIED);
      why.push_back(e.detail());
    }
  }
  ASSERT_EQ(why.size(), forged.size());
  EXPECT_THAT(why[0], HasSubstr("authority of '430100'"));
  EXPECT_THAT(why[1], HasSubstr("epoch block"));
  EXPECT_THAT(why[2], HasSubstr("cannot be re-enabled"));
  EXPECT_THAT(why[3], HasSubstr("created by its parent"));
  EXPECT_THAT(why[4], HasSubstr("written only by the hub"));
}

// Full numbers leave a node only while its parent holds the audit entry of
// that access (fail closed, R10.3/R10.4): with the link to the hub cut, a
// grassroots administrator at d1 still works with masked data but gets no
// full ID number; once the link heals, the reveal works and the hub holds
// its entry. And the account works only at the node of its own union: the
// hub, which holds a replica of it, refuses its login.
TEST_F(ClusterTest, FullNumbersOnlyWhileTheParentHoldsTheAuditEntry) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(/*with_t1=*/false));
  std::vector<v1::Member> acked;
  grpc::Status s = AddMembers(*gd1_, 1, gen_, &acked);
  ASSERT_TRUE(s.ok()) << ToString(s);
  const v1::Member& m = acked.front();
  ASSERT_NO_FATAL_FAILURE(AwaitConvergence(std::chrono::seconds(60)));
  {
    AdminClient at_hub(hub_->admin_port(), hub_->ca());
    v1::LoginResponse resp;
    s = at_hub.Login("gd1admin", kStrong, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
        << ToString(s);
    EXPECT_THAT(s.error_message(), HasSubstr("'d1'"));
  }
  auto reveal = [&](v1::GetMemberResponse* resp) {
    v1::GetMemberRequest req;
    req.set_member_id(m.id());
    req.set_reveal_reason("核对会员身份");
    return gd1_->Call(&Stub::GetMember, req, resp);
  };
  v1::GetMemberResponse full;
  s = reveal(&full);
  ASSERT_TRUE(s.ok()) << ToString(s);
  EXPECT_TRUE(full.revealed());
  EXPECT_EQ(full.member().id_number(), m.id_number());

  d1_up_.Cut();
  v1::GetMemberRequest masked_req;
  masked_req.set_member_id(m.id());
  v1::GetMemberResponse masked;
  s = gd1_->Call(&Stub::GetMember, masked_req, &masked);
  ASSERT_TRUE(s.ok()) << ToString(s);
  EXPECT_NE(masked.member().id_number(), m.id_number());
  s = reveal(&full);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << ToString(s);
  EXPECT_THAT(s.error_message(), HasSubstr("parent"));

  d1_up_.Heal();
  std::string last;
  EXPECT_TRUE(WaitUntil(
      [&] {
        s = reveal(&full);
        last = ToString(s);
        return s.ok() && full.revealed();
      },
      // The uplink's reconnection backs off (up to 30 s) during the cut.
      std::chrono::seconds(150)))
      << last << "\n"
      << ReplicationReport();
  StopAll();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> d1, OpenStore(*d1_));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> hub, OpenStore(*hub_));
  // The refused reveal is in d1's log too: tried, audited, not answered.
  auto audit = d1->ReadAudit(1, 1'000'000);
  ASSERT_OK(audit);
  int reveals = 0, refused = 0;
  for (const v1::AuditEntry& e : *audit) {
    if (e.action() != "GetMember") continue;
    if (e.outcome() == v1::AUDIT_OK &&
        absl::StrContains(e.detail(), "asked for")) {
      ++reveals;
    }
    if (e.outcome() == v1::AUDIT_FAILED) ++refused;
  }
  // Before the cut, the refused ones (one while cut, maybe more while the
  // link came back), and the one after healing.
  EXPECT_GE(refused, 1);
  EXPECT_EQ(reveals, refused + 2);
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> head,
                       hub->GetLocal("audithead/d1"));  // repl::AuditHeadKey
  ASSERT_TRUE(head.has_value());
}

// A child running its own node gets its parent's lifecycle changes through
// kills (issue 14): d1 corrects t1's registered name, t1 is killed with
// SIGKILL at once; d1 records a training of t1's administrator and is killed
// too. After both restart, every tier holds the corrected registration with
// the training, the digests agree, and no change was refused.
TEST_F(ClusterTest, AChildNodeGetsItsParentsCorrectionsThroughKills) {
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  constexpr char kName[] = "某街道总工会（名称更正）";
  v1::CorrectOrgRegistrationRequest correct;
  correct.set_org_id("t1");
  correct.set_name(kName);
  correct.set_reason("登记时名称录错");
  grpc::Status s = d1_admin_->Call(&Stub::CorrectOrgRegistration, correct);
  ASSERT_TRUE(s.ok()) << ToString(s);
  t1_->Kill9();
  v1::RecordTrainingRequest train;
  train.set_org_id("t1");
  train.mutable_training()->set_trainee("周芳");
  train.mutable_training()->set_date("2020-01-15");
  train.mutable_training()->set_trainer("区总工会组织部");
  s = d1_admin_->Call(&Stub::RecordTraining, train);
  ASSERT_TRUE(s.ok()) << ToString(s);
  d1_->Kill9();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_NO_FATAL_FAILURE(RestartD1());
  ASSERT_NO_FATAL_FAILURE(RestartT1());
  ASSERT_NO_FATAL_FAILURE(AwaitConvergence(std::chrono::seconds(120)));
  // No member was written: the member checks hold trivially; the stores
  // are compared and checked by InspectStores.
  InspectStores({}, {});
  for (NodeProcess* node : {hub_.get(), d1_.get(), t1_.get()}) {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, OpenStore(*node));
    auto t1 = store->GetOrg("t1");
    ASSERT_OK(t1.status());
    EXPECT_EQ(t1->name(), kName) << node->id();
    ASSERT_EQ(t1->trainings_size(), 1) << node->id();
    EXPECT_EQ(t1->trainings(0).trainee(), "周芳");
  }
}

// An operator learns every flag from the binary itself (issue 15): --help
// lists the flags of node/serve_flags.cc with their meaning and exits 0.
TEST(BinaryHelpTest, HelpListsEveryFlagAndExitsZero) {
  for (const char* binary : {kNodeBinary, kHubBinary}) {
    SCOPED_TRACE(binary);
    const std::string log = ::testing::TempDir() + "/help.log";
    Process p;
    ASSERT_OK(p.Start({binary, "--help"}, log));
    const std::optional<int> code = p.WaitExit(30s);
    ASSERT_EQ(code, std::optional<int>(0));
    const std::string out = ReadFileOrEmpty(log);
    for (const char* flag :
         {"--key_file", "--insecure_plaintext", "--tls_cert", "--web_listen",
          "--parent_address", "--log_format"}) {
      EXPECT_THAT(out, HasSubstr(flag));
    }
    EXPECT_THAT(out, ::testing::Not(HasSubstr("No flags matched")));
  }
}

}  // namespace
}  // namespace unionsync::cluster
