// The fixture of the multi-process cluster tests (cluster_test.cc,
// restore_test.cc): the city hub (430100), a tier-2 node d1 and a tier-3 node
// t1, each its own process on its own RocksDB directory, linked over mutual
// TLS on 127.0.0.1 through TCP proxies that the tests cut and heal:
//
//   hub 430100  <-proxy-  node d1      <-proxy-  node t1
//                         hosts d1-g1            hosts t1-g1
//
// The grassroots unions d1-g1 (on d1) and t1-g1 (on t1) enter members through
// their nodes' Admin API. After the processes are stopped, every data
// directory is opened with unionsync::Store and inspected.
//
// Every wait polls with a deadline; sleeps only pace the workload.
#ifndef UNIONSYNC_TESTS_CLUSTER_CLUSTER_FIXTURE_H_
#define UNIONSYNC_TESTS_CLUSTER_CLUSTER_FIXTURE_H_

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
#include "cluster/cluster.h"
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

// Distinct ID numbers across every test of the binary.
inline std::atomic<uint64_t> next_id_number{1'000'000};

namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;
using Stub = AdminClient::Stub;

constexpr char kHubBinary[] = UNIONSYNC_HUB_BINARY;
constexpr char kNodeBinary[] = UNIONSYNC_NODE_BINARY;
constexpr char kCertsScripts[] = UNIONSYNC_CERTS_DIR;
constexpr char kCity[] = "430100";
constexpr char kStrong[] = "Str0ng-Passw0rd!";

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
    t1_->spec().extra_args = t1_args_;
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
  std::vector<std::string> t1_args_;  // Extra flags of t1, set before start.
  TcpProxy d1_up_;                    // d1 -> hub
  TcpProxy t1_up_;                    // t1 -> d1
  std::unique_ptr<Session> city_, d1_admin_, gd1_, t1_admin_, gt1_;
  SynthGenerator gen_{11};
};

std::string* ClusterTest::certs_ = nullptr;

}  // namespace
}  // namespace unionsync::cluster

#endif  // UNIONSYNC_TESTS_CLUSTER_CLUSTER_FIXTURE_H_
