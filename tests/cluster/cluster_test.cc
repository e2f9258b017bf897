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
#include "cluster/cluster.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/password.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/security/credentials.h"
#include "store/store.h"
#include "synth/synth.h"
#include "testing/status_matchers.h"
#include "testing/store_checks.h"
#include "tls/tls.h"
#include "unionsync/v1/replication.grpc.pb.h"
#include "vault/vault.h"

namespace unionsync::cluster {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;
using Stub = AdminClient::Stub;

constexpr char kHubBinary[] = UNIONSYNC_HUB_BINARY;
constexpr char kNodeBinary[] = UNIONSYNC_NODE_BINARY;
constexpr char kCertsScripts[] = UNIONSYNC_CERTS_DIR;
constexpr char kCity[] = "430100";
constexpr char kStrong[] = "Str0ng-Passw0rd!";

// Distinct ID numbers across every test of the binary.
std::atomic<uint64_t> next_id_number{1'000'000};

bool Same(const google::protobuf::Message& a,
          const google::protobuf::Message& b) {
  return MessageDifferencer::Equals(a, b);
}

std::string Show(const v1::SubtreeCounters& c) {
  v1::SubtreeCounters copy = c;
  copy.clear_digest();
  return absl::StrCat(copy.ShortDebugString(), " digest ",
                      absl::BytesToHexString(c.digest()).substr(0, 16));
}

std::string Show(const absl::StatusOr<v1::SubtreeCounters>& c) {
  return c.ok() ? Show(*c) : c.status().ToString();
}

absl::StatusOr<std::unique_ptr<Store>> OpenStore(const NodeProcess& node) {
  absl::StatusOr<std::shared_ptr<const Vault>> vault =
      Vault::LoadFile(node.key_file());
  if (!vault.ok()) return vault.status();
  StoreOptions o;
  o.path = node.data_dir();
  o.node_id = node.id();
  o.vault = *std::move(vault);
  o.create_if_missing = false;
  return Store::Open(o);
}

// Adds members through `session`, one per call; each OK answer is recorded
// as acknowledged, any other ends the run with that status.
// The member the node acknowledged, with the numbers it was entered with (the
// reply carries them masked, as every read does).
v1::Member Acknowledged(const v1::AddMemberRequest& req,
                        const v1::AddMemberResponse& resp) {
  v1::Member m = resp.member();
  m.set_id_number(req.member().id_number());
  m.set_phone(req.member().phone());
  return m;
}

grpc::Status AddMembers(Session& session, int n, SynthGenerator& gen,
                        std::vector<v1::Member>* acked) {
  for (int i = 0; i < n; ++i) {
    v1::AddMemberRequest req;
    *req.mutable_member() = SynthMember(gen, next_id_number++);
    v1::AddMemberResponse resp;
    grpc::Status s = session.Call(&Stub::AddMember, req, &resp);
    if (!s.ok()) return s;
    acked->push_back(Acknowledged(req, resp));
  }
  return grpc::Status::OK;
}

// A writer thread of the chaos test: AddMember as fast as the node answers,
// following the node across restarts. Only OK answers are recorded.
class Writer {
 public:
  Writer(const NodeProcess* node, std::string user, uint64_t seed)
      : session_(node, std::move(user), kStrong), gen_(seed) {}

  void Run(const std::atomic<bool>* stop, int max_attempts) {
    for (int i = 0; i < max_attempts && !stop->load(); ++i) {
      v1::AddMemberRequest req;
      *req.mutable_member() = SynthMember(gen_, next_id_number++);
      v1::AddMemberResponse resp;
      grpc::Status s = session_.Call(&Stub::AddMember, req, &resp,
                                     std::chrono::milliseconds(3000));
      if (s.ok()) {
        acked_.push_back(Acknowledged(req, resp));
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      } else {
        ++failed_;
        last_error_ = ToString(s);
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
      }
    }
    session_.Disconnect();
  }

  const std::vector<v1::Member>& acked() const { return acked_; }
  int failed() const { return failed_; }
  const std::string& last_error() const { return last_error_; }

 private:
  Session session_;
  SynthGenerator gen_;
  std::vector<v1::Member> acked_;
  int failed_ = 0;
  std::string last_error_;
};

// A hand-driven Link stream (the child's end of the protocol), for the
// security tests. Batches the peer sends are acknowledged as they are read.
class RawLink {
 public:
  RawLink(const std::shared_ptr<grpc::ChannelCredentials>& creds,
          const std::string& address,
          std::chrono::seconds deadline = std::chrono::seconds(30))
      : stub_(v1::ReplicationService::NewStub(
            grpc::CreateChannel(address, creds))) {
    ctx_.set_deadline(std::chrono::system_clock::now() + deadline);
    stream_ = stub_->Link(&ctx_);
  }
  ~RawLink() {
    if (!finished_) Cancel();
  }

  bool Send(const v1::LinkMessage& m) { return stream_->Write(m); }

  // Reads until a message satisfies `want` (returned), the stream ends or
  // `max_messages` were read (nullopt).
  std::optional<v1::LinkMessage> ReadUntil(
      const std::function<bool(const v1::LinkMessage&)>& want,
      int max_messages = 1000) {
    v1::LinkMessage m;
    for (int i = 0; i < max_messages && stream_->Read(&m); ++i) {
      if (m.has_batch()) {
        v1::LinkMessage ack;
        ack.mutable_ack()->set_pos(m.batch().last_pos());
        ack.mutable_ack()->set_applied(m.batch().changes_size());
        stream_->Write(ack);
      }
      if (want(m)) return m;
    }
    return std::nullopt;
  }

  // Waits for the peer to end the stream.
  grpc::Status Finish() {
    v1::LinkMessage m;
    for (int i = 0; i < 10'000 && stream_->Read(&m); ++i) {
    }
    finished_ = true;
    return stream_->Finish();
  }

  grpc::Status Cancel() {
    ctx_.TryCancel();
    return Finish();
  }

 private:
  std::unique_ptr<v1::ReplicationService::Stub> stub_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::LinkMessage, v1::LinkMessage>>
      stream_;
  bool finished_ = false;
};

v1::LinkMessage HelloAs(const std::string& node_id,
                        const std::string& incarnation, uint64_t log_end) {
  v1::LinkMessage m;
  v1::Hello* h = m.mutable_hello();
  h->set_protocol_version(1);
  h->set_node_id(node_id);
  h->set_incarnation(incarnation);
  h->set_log_end(log_end);
  h->set_own_last_seq(log_end - 1);
  return m;
}

class ClusterTest : public ::testing::Test {
 protected:
  // One CA ("ca") for 430100, d1, t1 and rogue (not a registered child);
  // another ("other") for a second d1.
  static void SetUpTestSuite() {
    std::string tmpl = ::testing::TempDir() + "/cluster_certs.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    certs_ = new std::string(tmpl);
    ASSERT_OK(MakeCertificates(kCertsScripts, *certs_ + "/ca",
                               {kCity, "d1", "t1", "rogue"}));
    ASSERT_OK(MakeCertificates(kCertsScripts, *certs_ + "/other", {"d1"}));
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*certs_);
    delete certs_;
    certs_ = nullptr;
  }

  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/cluster_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    started_ = std::chrono::steady_clock::now();
  }

  void TearDown() override {
    for (NodeProcess* n : {t1_.get(), d1_.get(), hub_.get()}) {
      if (n != nullptr) n->Kill9();
    }
    t1_up_.Stop();
    d1_up_.Stop();
    const double secs = std::chrono::duration<double>(
                            std::chrono::steady_clock::now() - started_)
                            .count();
    std::cout << "[cluster] " << secs << " s" << std::endl;
    if (HasFailure() || std::getenv("UNIONSYNC_CLUSTER_KEEP") != nullptr) {
      std::cout << "[cluster] logs kept in " << dir_ << std::endl;
    } else {
      std::filesystem::remove_all(dir_);
    }
  }

  static TlsFiles Tls(const std::string& ca, const std::string& org) {
    return TlsOf(*certs_ + "/" + ca, org);
  }

  std::unique_ptr<NodeProcess> NewNode(const std::string& binary,
                                       const std::string& id,
                                       const std::string& ca = "ca") {
    NodeSpec spec;
    spec.binary = binary;
    spec.node_id = id;
    spec.dir = dir_ + "/" + id;
    spec.tls = Tls(ca, id);
    spec.key_file = KeyFileOf(*certs_ + "/" + ca, id);
    return std::make_unique<NodeProcess>(std::move(spec));
  }

  // Creates a child organisation through `parent` and returns its data
  // administrator's initial password.
  std::string CreateChild(Session& parent, const std::string& parent_id,
                          const std::string& id, v1::OrgKind kind,
                          const std::string& host_node,
                          const std::string& admin,
                          const std::string& region = "") {
    v1::CreateChildOrgRequest req;
    req.set_parent_id(parent_id);
    req.mutable_org()->set_id(id);
    req.mutable_org()->set_name(absl::StrCat("测试工会", id));
    req.mutable_org()->set_kind(kind);
    req.mutable_org()->set_region(region);
    req.mutable_org()->set_host_node(host_node);
    req.set_admin_username(admin);
    v1::CreateChildOrgResponse resp;
    grpc::Status s = parent.Call(&Stub::CreateChildOrg, req, &resp);
    EXPECT_TRUE(s.ok()) << "CreateChildOrg " << id << ": " << ToString(s);
    EXPECT_EQ(resp.org().host_node(),
              host_node.empty() ? parent_id : host_node);
    return resp.initial_password();
  }

  // Waits until `user`'s account has reached `node` (by replication), then
  // changes its initial password to kStrong.
  void ActivateWhenArrived(NodeProcess& node, const std::string& user,
                           const std::string& initial) {
    AdminClient client(node.admin_port(), node.ca());
    grpc::Status last;
    const bool arrived = WaitUntil(
        [&] {
          v1::LoginResponse resp;
          last = client.Login(user, initial, &resp);
          return last.ok();
        },
        std::chrono::seconds(40), std::chrono::milliseconds(100));
    ASSERT_TRUE(arrived) << user << " never arrived at " << node.id() << ": "
                         << ToString(last) << "\n"
                         << node.LogTail();
    grpc::Status s;
    client.Activate(user, initial, kStrong, &s);
    ASSERT_TRUE(s.ok()) << user << "@" << node.id() << ": " << ToString(s);
  }

  void StartHub() {
    hub_ = NewNode(kHubBinary, kCity);
    hub_->spec().bootstrap_name = "长沙市总工会";
    ASSERT_OK(hub_->Start());
    ASSERT_OK_AND_ASSIGN(std::string pw, BootstrapPassword(*hub_));
    AdminClient client(hub_->admin_port(), hub_->ca());
    grpc::Status s;
    client.Activate("admin", pw, kStrong, &s);
    ASSERT_TRUE(s.ok()) << ToString(s);
    city_ = std::make_unique<Session>(hub_.get(), "admin", kStrong);
  }

  // The hub, d1 (registered at the hub, then started behind a proxy) with its
  // grassroots union d1-g1, and with `with_t1` t1 (registered at d1, behind
  // a proxy to d1) with t1-g1. Every administrator is activated.
  void StartCluster(bool with_t1 = true) {
    ASSERT_NO_FATAL_FAILURE(StartHub());
    const std::string d1_pw =
        CreateChild(*city_, kCity, "d1", v1::DISTRICT_FEDERATION, "d1",
                    "d1admin", "430102");
    ASSERT_FALSE(d1_pw.empty());
    ASSERT_OK(d1_up_.Start(hub_->repl_port()));
    d1_ = NewNode(kNodeBinary, "d1");
    d1_->spec().parent_address = d1_up_.address();
    d1_->spec().parent_id = kCity;
    ASSERT_OK(d1_->Start());
    ASSERT_NO_FATAL_FAILURE(ActivateWhenArrived(*d1_, "d1admin", d1_pw));
    d1_admin_ = std::make_unique<Session>(d1_.get(), "d1admin", kStrong);
    const std::string g_pw = CreateChild(
        *d1_admin_, "d1", "d1-g1", v1::INDEPENDENT_GRASSROOTS, "", "gd1admin");
    ASSERT_NO_FATAL_FAILURE(ActivateWhenArrived(*d1_, "gd1admin", g_pw));
    gd1_ = std::make_unique<Session>(d1_.get(), "gd1admin", kStrong);
    if (!with_t1) return;

    const std::string t1_pw = CreateChild(
        *d1_admin_, "d1", "t1", v1::TOWNSHIP_FEDERATION, "t1", "t1admin");
    ASSERT_OK(t1_up_.Start(d1_->repl_port()));
    t1_ = NewNode(kNodeBinary, "t1");
    t1_->spec().repl_port = false;  // A leaf node: no children.
    t1_->spec().parent_address = t1_up_.address();
    t1_->spec().parent_id = "d1";
    ASSERT_OK(t1_->Start());
    ASSERT_NO_FATAL_FAILURE(ActivateWhenArrived(*t1_, "t1admin", t1_pw));
    t1_admin_ = std::make_unique<Session>(t1_.get(), "t1admin", kStrong);
    const std::string gt_pw = CreateChild(
        *t1_admin_, "t1", "t1-g1", v1::INDEPENDENT_GRASSROOTS, "", "gt1admin");
    ASSERT_NO_FATAL_FAILURE(ActivateWhenArrived(*t1_, "gt1admin", gt_pw));
    gt1_ = std::make_unique<Session>(t1_.get(), "gt1admin", kStrong);
  }

  // Restarts on the same data directory; the proxy in front of the node's
  // replication port follows it to its new port.
  void RestartHub() {
    ASSERT_OK(hub_->Start());
    d1_up_.SetTarget(hub_->repl_port());
  }
  void RestartD1() {
    ASSERT_OK(d1_->Start());
    if (t1_ != nullptr) t1_up_.SetTarget(d1_->repl_port());
  }
  void RestartT1() { ASSERT_OK(t1_->Start()); }

  // True when every tier holds the same counters (digest included) for d1's
  // and t1's subtrees; `why` says what differs.
  bool Converged(std::string* why) {
    struct Pair {
      const char* what;
      Session* a;
      Session* b;
      std::string org;
    };
    std::vector<Pair> pairs = {
        {"hub/d1 vs d1/d1", city_.get(), d1_admin_.get(), "d1"}};
    if (t1_ != nullptr) {
      pairs.push_back({"hub/t1 vs t1/t1", city_.get(), t1_admin_.get(), "t1"});
      pairs.push_back(
          {"d1/t1 vs t1/t1", d1_admin_.get(), t1_admin_.get(), "t1"});
    }
    why->clear();
    for (const Pair& p : pairs) {
      auto a = p.a->Counters(p.org);
      auto b = p.b->Counters(p.org);
      if (!a.ok() || !b.ok() || !Same(*a, *b)) {
        absl::StrAppend(why, p.what, ": ", Show(a), " vs ", Show(b), "\n");
      }
    }
    return why->empty();
  }

  std::string ReplicationReport() {
    std::string out;
    for (Session* s : {city_.get(), d1_admin_.get(), t1_admin_.get()}) {
      if (s == nullptr) continue;
      auto r = s->ReplicationStatus();
      absl::StrAppend(&out, s->user(), ": ",
                      r.ok() ? r->ShortDebugString() : r.status().ToString(),
                      "\n");
    }
    return out;
  }

  void AwaitConvergence(std::chrono::seconds timeout) {
    std::string why;
    const auto start = std::chrono::steady_clock::now();
    const bool converged = WaitUntil([&] { return Converged(&why); }, timeout,
                                     std::chrono::milliseconds(200));
    std::cout << "[cluster] convergence "
              << (converged ? "after " : "NOT reached in ")
              << std::chrono::duration<double>(
                     std::chrono::steady_clock::now() - start)
                     .count()
              << " s" << std::endl;
    ASSERT_TRUE(converged) << why << ReplicationReport() << "--- d1 log\n"
                           << d1_->LogTail() << "\n--- hub log\n"
                           << hub_->LogTail();
  }

  // Stops `node` with SIGTERM. The test's Admin channels are closed first: a
  // node whose Admin server still has a client connection takes its whole 5 s
  // shutdown deadline to exit.
  std::optional<int> StopNode(NodeProcess& node) {
    for (Session* s : {city_.get(), d1_admin_.get(), gd1_.get(),
                       t1_admin_.get(), gt1_.get()}) {
      if (s != nullptr) s->Disconnect();
    }
    return node.Stop();
  }

  // Stops every process (each must exit cleanly on SIGTERM).
  void StopAll() {
    for (NodeProcess* n : {t1_.get(), d1_.get(), hub_.get()}) {
      if (n == nullptr) continue;
      if (!n->Running()) {
        if (n->stopped_by_harness()) continue;
        ADD_FAILURE() << n->id() << " is not running (exit code "
                      << n->process().exit_code().value_or(-1) << "):\n"
                      << n->LogTail();
        continue;
      }
      std::optional<int> code = StopNode(*n);
      EXPECT_EQ(code, 0) << n->id() << " did not shut down cleanly:\n"
                         << n->LogTail();
    }
  }

  // Stops everything and inspects the stores: every acknowledged member is at
  // its writer, at d1 (for t1's) and at the hub, identical and exactly once;
  // no change was logged twice; counters and digests agree between tiers;
  // every store passes its brute-force invariant check.
  void InspectStores(const std::vector<v1::Member>& acked_t1,
                     const std::vector<v1::Member>& acked_d1) {
    StopAll();
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> hub, OpenStore(*hub_));
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> d1, OpenStore(*d1_));
    std::unique_ptr<Store> t1;
    if (t1_ != nullptr) {
      ASSERT_OK_AND_ASSIGN(t1, OpenStore(*t1_));
    }
    struct Check {
      const std::vector<v1::Member>* acked;
      std::vector<std::pair<const char*, Store*>> holders;  // Writer first.
    };
    std::vector<Check> checks = {
        {&acked_d1, {{"d1", d1.get()}, {"hub", hub.get()}}}};
    if (t1 != nullptr) {
      checks.push_back(
          {&acked_t1,
           {{"t1", t1.get()}, {"d1", d1.get()}, {"hub", hub.get()}}});
    }
    int missing = 0, differing = 0, not_once = 0;
    std::string examples;
    auto example = [&](const std::string& e) {
      if (missing + differing + not_once <= 5) absl::StrAppend(&examples, e);
    };
    for (const Check& c : checks) {
      for (const v1::Member& m : *c.acked) {
        auto at_writer = c.holders[0].second->GetMember(m.id());
        for (const auto& [name, store] : c.holders) {
          auto got = store->GetMember(m.id());
          if (!got.ok()) {
            ++missing;
            example(absl::StrCat("member ", m.id(), " (", m.org_id(),
                                 ") missing at ", name, ": ",
                                 got.status().ToString(), "\n"));
            continue;
          }
          // Identical to what the writer acknowledged and holds.
          if (!Same(*got, m) || (at_writer.ok() && !Same(*got, *at_writer))) {
            ++differing;
            example(absl::StrCat("member ", m.id(), " at ", name, " is ",
                                 got->ShortDebugString(), "; acknowledged ",
                                 m.ShortDebugString(), "\n"));
          }
        }
        auto holders = hub->MembersWithIdNumber(m.id_number());
        if (!holders.ok() || holders->size() != 1 || (*holders)[0] != m.id()) {
          ++not_once;
          example(absl::StrCat("ID number of ", m.id(),
                               " is not held exactly once at the hub\n"));
        }
      }
    }
    EXPECT_EQ(missing + differing + not_once, 0)
        << missing << " missing, " << differing << " differing, " << not_once
        << " not exactly once; e.g.\n"
        << examples;

    // No (origin, incarnation, seq > 0) twice in any log.
    for (const auto& [name, store] :
         std::vector<std::pair<const char*, Store*>>{
             {"hub", hub.get()}, {"d1", d1.get()}, {"t1", t1.get()}}) {
      if (store == nullptr) continue;
      auto log = store->ReadLog(1, size_t{1} << 30);
      ASSERT_OK(log);
      std::set<std::tuple<std::string, std::string, uint64_t>> seen;
      int twice = 0;
      std::string first;
      for (const v1::Change& c : *log) {
        if (c.origin_seq() == 0) continue;
        if (!seen.emplace(c.origin(), c.origin_incarnation(), c.origin_seq())
                 .second) {
          if (twice++ == 0) first = c.ShortDebugString().substr(0, 300);
        }
      }
      EXPECT_EQ(twice, 0) << name << " logged " << twice
                          << " changes twice, first: " << first;
    }

    // Counters (digest included) agree between the tiers.
    auto counters = [](Store* s, const char* org) {
      auto c = s->GetCounters(org);
      return c.ok() ? *c : v1::SubtreeCounters();
    };
    EXPECT_TRUE(Same(counters(hub.get(), "d1"), counters(d1.get(), "d1")))
        << "hub " << Show(counters(hub.get(), "d1")) << "\nd1  "
        << Show(counters(d1.get(), "d1"));
    if (t1 != nullptr) {
      EXPECT_TRUE(Same(counters(hub.get(), "t1"), counters(t1.get(), "t1")))
          << "hub " << Show(counters(hub.get(), "t1")) << "\nt1  "
          << Show(counters(t1.get(), "t1"));
      EXPECT_TRUE(Same(counters(d1.get(), "t1"), counters(t1.get(), "t1")))
          << "d1 " << Show(counters(d1.get(), "t1")) << "\nt1 "
          << Show(counters(t1.get(), "t1"));
      EXPECT_GE(counters(hub.get(), "t1").members(),
                static_cast<int64_t>(acked_t1.size()));
    }
    EXPECT_GE(counters(hub.get(), "d1").members(),
              static_cast<int64_t>(acked_d1.size() + acked_t1.size()));

    // An honest workload is never refused as a security event.
    for (const auto& [name, store] :
         std::vector<std::pair<const char*, Store*>>{{"hub", hub.get()},
                                                     {"d1", d1.get()}}) {
      auto audit = store->ReadAudit(1, size_t{1} << 30);
      ASSERT_OK(audit);
      int rejects = 0;
      std::string first;
      for (const v1::AuditEntry& e : *audit) {
        if (e.action().rfind("ReplicationReject", 0) != 0 &&
            e.action() != "ReplicationRepairReject") {
          continue;
        }
        if (rejects++ == 0) first = e.ShortDebugString();
      }
      EXPECT_EQ(rejects, 0)
          << name << " refused replicated changes, first: " << first;
    }

    EXPECT_OK(testing::CheckStoreInvariants(*hub, kCity, true));
    EXPECT_OK(testing::CheckStoreInvariants(*d1, "d1", true));
    if (t1 != nullptr) {
      EXPECT_OK(testing::CheckStoreInvariants(*t1, "t1", true));
    }
  }

  static std::string* certs_;
  std::string dir_;
  std::chrono::steady_clock::time_point started_;
  std::unique_ptr<NodeProcess> hub_, d1_, t1_;
  TcpProxy d1_up_;  // d1 -> hub
  TcpProxy t1_up_;  // t1 -> d1
  std::unique_ptr<Session> city_, d1_admin_, gd1_, t1_admin_, gt1_;
  SynthGenerator gen_{11};
};

std::string* ClusterTest::certs_ = nullptr;

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

// 4. t1's store is wiped and t1 restarts on an empty directory (same node id,
// new incarnation): it gets its registration and its whole subtree back from
// d1, nothing is lost at d1 or the hub, and new members at t1 reach the hub.
TEST_F(ClusterTest, WipedChildStoreIsRestoredFromItsParent) {
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

// 5. t1 is restored from a copy of its store taken before its administrator
// changed the password, and runs cut off from d1 for a while; there the same
// administrator changes the password again. The two versions of the account
// have the same credential epoch and the same author organisation. After the
// link heals (the restored store is detected as stale and starts a new
// incarnation), every tier must hold one and the same version: counters and
// digests agree.
TEST_F(ClusterTest, ChildRestoredFromABackupConvergesWithItsParent) {
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

  // The backup.
  EXPECT_EQ(StopNode(*t1_), 0);
  const std::string backup = dir_ + "/t1-backup";
  std::filesystem::copy(t1_->data_dir(), backup,
                        std::filesystem::copy_options::recursive);
  ASSERT_NO_FATAL_FAILURE(RestartT1());
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

  // Restore the backup and run t1 cut off from d1.
  EXPECT_EQ(StopNode(*t1_), 0);
  std::filesystem::remove_all(t1_->data_dir());
  std::filesystem::copy(backup, t1_->data_dir(),
                        std::filesystem::copy_options::recursive);
  t1_up_.Cut();
  ASSERT_NO_FATAL_FAILURE(RestartT1());
  s = change_password(kStrong, "Third-Passw0rd!!");
  ASSERT_TRUE(s.ok()) << "the restored t1 holds the backup's password: "
                      << ToString(s);
  t1_up_.Heal();

  // PRODUCT BUG (found by this test; see the messages): the two versions have
  // equal (credential_epoch, credential_author_org), which
  // Store::ApplyImpl (store/store.cc, the PUT_ACCOUNT version check: "Same
  // epoch, same author: the same version") takes for one version, so neither
  // side ever adopts the other's and the digests never agree. And
  // LinkCore::Applied (repl/link_core.cc, the repair branch on the child
  // side) probes again at once after every applied repair snapshot,
  // overriding the back-off OnVerdict sets after kMaxRepairRounds, so the
  // unresolvable difference is probed and repaired in a hot loop.
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
