// Replication over real gRPC streams: a hub NodeServer (the city, 430100) and
// a tier-2 NodeServer (d1) in one process on 127.0.0.1:0, with mutual TLS from
// a development CA made by certs/ and real RocksDB stores in temp dirs. The
// registration of d1 flows down from the hub, d1's grassroots union and members
// flow up; strangers are refused and audited; a restarted hub catches up.
// Waits poll with a deadline; nothing asserts on elapsed time.
#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/password.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "node/node_server.h"
#include "node/uplink.h"
#include "synth/synth.h"
#include "testing/audit_tamper.h"
#include "testing/shell.h"
#include "testing/status_matchers.h"
#include "testing/test_vault.h"
#include "tls/tls.h"
#include "unionsync/v1/admin.grpc.pb.h"
#include "unionsync/v1/replication.grpc.pb.h"

namespace unionsync {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;
using ::unionsync::testing::StatusIs;
using S = v1::AdminService::Stub;

constexpr char kCertsDir[] = UNIONSYNC_CERTS_DIR;
constexpr char kCity[] = "430100";
constexpr char kStrong[] = "Str0ng-Passw0rd!";

using ::unionsync::testing::ShellQuote;

// Polls `done` until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& done,
             std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

bool Same(const google::protobuf::Message& a,
          const google::protobuf::Message& b) {
  return MessageDifferencer::Equals(a, b);
}

std::string Describe(const std::vector<repl::LinkStats>& links) {
  std::string out;
  for (const repl::LinkStats& s : links) {
    absl::StrAppend(
        &out, "[", s.side == repl::Side::kChild ? "up" : "down", " ", s.peer,
        " state=", static_cast<int>(s.state), " sessions=", s.sessions,
        " acked=", s.acked, " log_end=", s.log_end,
        " applied_peer=", s.applied_peer_pos, " applied=", s.applied_changes,
        " rejected=", s.rejected_changes,
        " digest=", static_cast<int>(s.digest), "] ");
  }
  return out;
}

// grpc.health.v1.Health/Check of `service` at a node's Admin API port:
// "SERVING", "NOT_SERVING", or the call's error code.
std::string HealthOf(int port, const std::string& service) {
  grpc::GenericStub generic(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  // HealthCheckRequest{service = 1}, by hand: the Health service's generated
  // client is not in Debian's libgrpc++.
  std::string bytes = "\x0a";
  bytes.push_back(static_cast<char>(service.size()));
  bytes += service;
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1), response;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  std::promise<grpc::Status> done;
  generic.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                    &request, &response,
                    [&](grpc::Status st) { done.set_value(st); });
  const grpc::Status st = done.get_future().get();
  if (!st.ok()) return absl::StrCat("code ", st.error_code());
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return "undecodable";
  std::string out;
  for (const grpc::Slice& sl : slices) {
    out.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
  }
  // HealthCheckResponse{status = 1}: 1 SERVING, 2 NOT_SERVING.
  if (out == std::string("\x08\x01", 2)) return "SERVING";
  if (out == std::string("\x08\x02", 2)) return "NOT_SERVING";
  return "status bytes " + out;
}

// The Admin API of one node, through the generated stub.
class AdminClient {
 public:
  explicit AdminClient(int port)
      : stub_(v1::AdminService::NewStub(
            grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                grpc::InsecureChannelCredentials()))) {}

  template <typename Req, typename Resp>
  grpc::Status Call(grpc::Status (S::*method)(grpc::ClientContext*, const Req&,
                                              Resp*),
                    const std::string& token, const Req& req,
                    Resp* resp = nullptr) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(10));
    if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
    Resp local;
    return (stub_.get()->*method)(&ctx, req, resp != nullptr ? resp : &local);
  }

  // Logs in with an initial password and changes it; returns the token.
  std::string Activate(const std::string& user, const std::string& initial) {
    v1::LoginRequest login;
    login.set_username(user);
    login.set_password(initial);
    v1::LoginResponse session;
    grpc::Status s = Call(&S::Login, "", login, &session);
    EXPECT_TRUE(s.ok()) << user << ": " << s.error_message();
    EXPECT_TRUE(session.must_change_password());
    v1::ChangePasswordRequest change;
    change.set_old_password(initial);
    change.set_new_password(kStrong);
    s = Call(&S::ChangePassword, session.token(), change);
    EXPECT_TRUE(s.ok()) << user << ": " << s.error_message();
    return session.token();
  }

  grpc::Status CreateChild(const std::string& token, const std::string& parent,
                           const std::string& id, v1::OrgKind kind,
                           const std::string& host_node,
                           const std::string& admin,
                           v1::CreateChildOrgResponse* resp,
                           const std::string& region = "") {
    v1::CreateChildOrgRequest req;
    req.set_parent_id(parent);
    req.mutable_org()->set_id(id);
    req.mutable_org()->set_name(absl::StrCat("测试工会", id));
    req.mutable_org()->set_kind(kind);
    req.mutable_org()->set_region(region);
    req.mutable_org()->set_host_node(host_node);
    req.set_admin_username(admin);
    return Call(&S::CreateChildOrg, token, req, resp);
  }

 private:
  std::unique_ptr<S> stub_;
};

class ReplicationLinkTest : public ::testing::Test {
 protected:
  // One CA ("ca") issues the hub, d1 and "rogue" (not a registered child);
  // another CA ("other") issues a second "d1".
  static void SetUpTestSuite() {
    std::string tmpl = ::testing::TempDir() + "/replication_link_certs.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    certs_ = new std::string(tmpl);
    const std::string d = ShellQuote(*certs_);
    const std::string s = ShellQuote(kCertsDir);
    const std::string script = absl::StrCat(
        s, "/make-ca.sh ", d, "/ca && ", s, "/make-ca.sh ", d, "/other && ", s,
        "/make-node-cert.sh ", d, "/ca ", kCity, " && ", s,
        "/make-node-cert.sh ", d, "/ca d1 && ", s, "/make-node-cert.sh ", d,
        "/ca s1 && ", s, "/make-node-cert.sh ", d, "/ca rogue && ", s,
        "/make-node-cert.sh ", d, "/other d1");
    const std::string cmd =
        "bash -euo pipefail -c " + ShellQuote(script) + " 2>/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*certs_);
    delete certs_;
    certs_ = nullptr;
  }

  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/replication_link_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    s1_.reset();
    d1_.reset();
    hub_.reset();
    std::filesystem::remove_all(dir_);
  }

  static TlsFiles Tls(const std::string& ca, const std::string& org) {
    TlsFiles t;
    t.ca_pem_path = absl::StrCat(*certs_, "/", ca, "/ca.pem");
    t.cert_pem_path = absl::StrCat(*certs_, "/", ca, "/", org, ".pem");
    t.key_pem_path = absl::StrCat(*certs_, "/", ca, "/", org, ".key");
    return t;
  }

  NodeOptions HubOptions() const {
    NodeOptions o;
    o.node_id = kCity;
    o.vault = testing::TestVault(kCity);
    o.data_dir = dir_ + "/hub";
    o.listen = "127.0.0.1:0";
    o.insecure_plaintext = true;
    o.repl_listen = absl::StrCat("127.0.0.1:", hub_repl_port_);
    o.tls = Tls("ca", kCity);
    o.admin.scrypt = ScryptParams::ForTests();
    return o;
  }

  NodeOptions D1Options() const {
    NodeOptions o;
    o.node_id = "d1";
    o.vault = testing::TestVault("d1");
    o.data_dir = dir_ + "/d1";
    o.listen = "127.0.0.1:0";
    o.insecure_plaintext = true;
    o.tls = Tls("ca", "d1");
    o.parent_address = absl::StrCat("127.0.0.1:", hub_repl_port_);
    o.parent_id = kCity;
    o.admin.scrypt = ScryptParams::ForTests();
    // Compare digests soon after every change, so the test can wait for it.
    o.link.probe_interval_ms = 300;
    o.link.probe_retry_ms = 100;
    if (d1_listens_) o.repl_listen = "127.0.0.1:0";
    return o;
  }

  // A street node under d1 (d1 must listen: d1_listens_).
  NodeOptions S1Options() const {
    NodeOptions o = D1Options();
    o.node_id = "s1";
    o.vault = testing::TestVault("s1");
    o.data_dir = dir_ + "/s1";
    o.tls = Tls("ca", "s1");
    o.parent_address = absl::StrCat("127.0.0.1:", d1_->repl_port());
    o.parent_id = "d1";
    o.repl_listen.clear();
    return o;
  }

  // Starts (or restarts, on the same replication port and data) the hub.
  void StartHub() {
    auto hub = NodeServer::Start(HubOptions());
    ASSERT_TRUE(hub.ok()) << hub.status();
    hub_ = *std::move(hub);
    hub_repl_port_ = hub_->repl_port();
    hub_admin_ = std::make_unique<AdminClient>(hub_->port());
  }

  void StartD1() {
    auto d1 = NodeServer::Start(D1Options());
    ASSERT_TRUE(d1.ok()) << d1.status();
    d1_ = *std::move(d1);
    d1_admin_ = std::make_unique<AdminClient>(d1_->port());
  }

  // Hub with the city bootstrapped and its administrator activated; d1 with
  // an empty store and the hub as its parent.
  void StartBoth() {
    ASSERT_NO_FATAL_FAILURE(StartHub());
    v1::Org city;
    city.set_id(kCity);
    city.set_name("长沙市总工会");
    city.set_kind(v1::CITY_FEDERATION);
    city.set_tier(1);
    auto pw = hub_->admin().Bootstrap(city, "admin");
    ASSERT_TRUE(pw.ok()) << pw.status();
    city_token_ = hub_admin_->Activate("admin", *pw);
    ASSERT_NO_FATAL_FAILURE(StartD1());
  }

  // Registers d1 at the hub (running its own node) and waits until the
  // registration and d1's administrator arrive at d1.
  void RegisterD1() {
    v1::CreateChildOrgResponse created;
    grpc::Status s = hub_admin_->CreateChild(city_token_, kCity, "d1",
                                             v1::DISTRICT_FEDERATION, "d1",
                                             "d1admin", &created, "430102");
    ASSERT_TRUE(s.ok()) << s.error_message();
    d1_initial_ = created.initial_password();
    ASSERT_TRUE(WaitFor([&] {
      return d1_->store().GetOrg("d1").ok() &&
             d1_->store().GetAccount("d1admin").ok();
    })) << "d1 never received its registration: hub "
        << Describe(hub_->LinkStatus()) << " d1 "
        << Describe(d1_->LinkStatus());
    auto at_hub = hub_->store().GetOrg("d1");
    auto at_d1 = d1_->store().GetOrg("d1");
    ASSERT_OK(at_hub);
    ASSERT_OK(at_d1);
    EXPECT_TRUE(Same(*at_hub, *at_d1)) << at_hub->DebugString() << "\nvs\n"
                                       << at_d1->DebugString();
  }

  // At d1, through its Admin API: d1's administrator activates, registers
  // grassroots union g1 hosted on d1, whose administrator adds `n` members.
  void BuildD1Subtree(int n) {
    d1_token_ = d1_admin_->Activate("d1admin", d1_initial_);
    v1::CreateChildOrgResponse g1;
    grpc::Status s = d1_admin_->CreateChild(
        d1_token_, "d1", "g1", v1::INDEPENDENT_GRASSROOTS, "", "g1admin", &g1);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(g1.org().host_node(), "d1");
    g1_token_ = d1_admin_->Activate("g1admin", g1.initial_password());
    ASSERT_NO_FATAL_FAILURE(AddMembers(n));
  }

  void AddMembers(int n) {
    for (int i = 0; i < n; ++i) {
      v1::AddMemberRequest req;
      *req.mutable_member() = gen_.Member("");
      v1::AddMemberResponse added;
      grpc::Status s = d1_admin_->Call(&S::AddMember, g1_token_, req, &added);
      ASSERT_TRUE(s.ok()) << s.error_message();
      member_ids_.push_back(added.member().id());
    }
  }

  // True when the hub holds exactly d1's version of every member, of d1's and
  // g1's registrations and accounts, and the same subtree counters of d1
  // (digest included).
  bool HubMatchesD1() {
    for (const std::string& id : member_ids_) {
      auto a = hub_->store().GetMember(id);
      auto b = d1_->store().GetMember(id);
      if (!a.ok() || !b.ok() || !Same(*a, *b)) return false;
    }
    for (const char* org : {"d1", "g1"}) {
      auto a = hub_->store().GetOrg(org);
      auto b = d1_->store().GetOrg(org);
      if (!a.ok() || !b.ok() || !Same(*a, *b)) return false;
    }
    for (const char* user : {"d1admin", "g1admin"}) {
      auto a = hub_->store().GetAccount(user);
      auto b = d1_->store().GetAccount(user);
      if (!a.ok() || !b.ok() || !Same(*a, *b)) return false;
    }
    auto a = hub_->store().GetCounters("d1");
    auto b = d1_->store().GetCounters("d1");
    return a.ok() && b.ok() && Same(*a, *b);
  }

  std::string CountersOf(NodeServer& node) {
    auto c = node.store().GetCounters("d1");
    return c.ok() ? c->ShortDebugString() : c.status().ToString();
  }

  void ExpectHubMatchesD1() {
    EXPECT_TRUE(WaitFor([&] { return HubMatchesD1(); }))
        << "hub counters " << CountersOf(*hub_) << "\nd1 counters "
        << CountersOf(*d1_) << "\nhub " << Describe(hub_->LinkStatus())
        << "\nd1 " << Describe(d1_->LinkStatus());
  }

  static std::optional<repl::LinkStats> Link(NodeServer& node,
                                             const std::string& peer) {
    for (const repl::LinkStats& s : node.LinkStatus()) {
      if (s.peer == peer) return s;
    }
    return std::nullopt;
  }

  // Opens a Link stream to the hub with `tls`, sends a Hello and returns how
  // the stream ended.
  grpc::Status LinkAs(const TlsFiles& tls) {
    auto creds = MakeChannelCredentials(tls);
    EXPECT_OK(creds);
    if (!creds.ok()) return grpc::Status::CANCELLED;
    auto stub = v1::ReplicationService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", hub_repl_port_), *creds));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(20));
    auto stream = stub->Link(&ctx);
    v1::LinkMessage hello;
    hello.mutable_hello()->set_protocol_version(repl::kProtocolVersion);
    hello.mutable_hello()->set_node_id("intruder");
    hello.mutable_hello()->set_incarnation("0123456789abcdef");
    stream->Write(hello);
    v1::LinkMessage reply;
    while (stream->Read(&reply)) {
    }
    return stream->Finish();
  }

  // The hub's audit entries for refused links.
  std::vector<v1::AuditEntry> DeniedLinkAudits() {
    std::vector<v1::AuditEntry> out;
    auto entries = hub_->store().ReadAudit(1, 100000);
    EXPECT_OK(entries);
    if (!entries.ok()) return out;
    for (const v1::AuditEntry& e : *entries) {
      if (e.action() == "ReplicationLink") out.push_back(e);
    }
    return out;
  }

  static std::string* certs_;
  std::string dir_;
  int hub_repl_port_ = 0;
  std::unique_ptr<NodeServer> hub_;
  std::unique_ptr<NodeServer> d1_;
  std::unique_ptr<NodeServer> s1_;
  bool d1_listens_ = false;
  std::unique_ptr<AdminClient> hub_admin_;
  std::unique_ptr<AdminClient> d1_admin_;
  std::string city_token_, d1_initial_, d1_token_, g1_token_;
  std::vector<std::string> member_ids_;
  SynthGenerator gen_{7};
};

std::string* ReplicationLinkTest::certs_ = nullptr;

TEST_F(ReplicationLinkTest, RegistrationFlowsDownAndMembersFlowUp) {
  ASSERT_NO_FATAL_FAILURE(StartBoth());
  ASSERT_NO_FATAL_FAILURE(RegisterD1());
  ASSERT_NO_FATAL_FAILURE(BuildD1Subtree(5));
  ExpectHubMatchesD1();
  auto hub_counters = hub_->store().GetCounters("d1");
  ASSERT_OK(hub_counters);
  EXPECT_EQ(hub_counters->members(), 5);
  EXPECT_EQ(hub_counters->orgs(), 2);
  // The hub's own subtree counts them too.
  auto city = hub_->store().GetCounters(kCity);
  ASSERT_OK(city);
  EXPECT_EQ(city->members(), 5);

  // Both ends stream, and d1's digest comparison agrees.
  EXPECT_TRUE(WaitFor([&] {
    std::optional<repl::LinkStats> up = Link(*d1_, kCity);
    std::optional<repl::LinkStats> down = Link(*hub_, "d1");
    return up.has_value() && down.has_value() &&
           up->state == repl::LinkState::kStreaming &&
           down->state == repl::LinkState::kStreaming &&
           up->digest == repl::DigestState::kAgree &&
           down->digest == repl::DigestState::kAgree;
  })) << "hub "
      << Describe(hub_->LinkStatus()) << "\nd1 " << Describe(d1_->LinkStatus());
  std::optional<repl::LinkStats> up = Link(*d1_, kCity);
  ASSERT_TRUE(up.has_value());
  EXPECT_EQ(up->rejected_changes, 0u);
  std::optional<repl::LinkStats> down = Link(*hub_, "d1");
  ASSERT_TRUE(down.has_value());
  EXPECT_EQ(down->rejected_changes, 0u);
  EXPECT_GE(down->applied_changes, 5u + 2u);

  // What the Admin API reports (GetReplicationStatus).
  v1::GetReplicationStatusResponse status = hub_->ReplicationStatus();
  EXPECT_EQ(status.node_id(), kCity);
  ASSERT_EQ(status.links_size(), 1);
  EXPECT_EQ(status.links(0).peer(), "d1");
  EXPECT_EQ(status.links(0).direction(), "child");
  EXPECT_EQ(status.links(0).state(), "streaming");
  // The parent reports the comparison it made itself, not "unknown".
  EXPECT_EQ(status.links(0).digest(), "agree");
  status = d1_->ReplicationStatus();
  ASSERT_EQ(status.links_size(), 1);
  EXPECT_EQ(status.links(0).peer(), kCity);
  EXPECT_EQ(status.links(0).direction(), "parent");
  EXPECT_EQ(status.links(0).digest(), "agree");
  EXPECT_EQ(status.links(0).lag_positions(), 0u);

  // A forced resync reconnects and resends; nothing changes.
  const uint64_t sessions = down->sessions;
  ASSERT_OK(hub_->ForceResync("d1"));
  EXPECT_TRUE(WaitFor([&] {
    std::optional<repl::LinkStats> s = Link(*hub_, "d1");
    return s.has_value() && s->sessions > sessions &&
           s->state == repl::LinkState::kStreaming;
  })) << Describe(hub_->LinkStatus());
  ExpectHubMatchesD1();
  EXPECT_THAT(hub_->ForceResync("rogue"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(d1_->ForceResync("g1"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(ReplicationLinkTest, UnregisteredOrgIsRefusedAndAudited) {
  ASSERT_NO_FATAL_FAILURE(StartBoth());
  const int64_t denied_before = hub_->denied_links();
  grpc::Status s = LinkAs(Tls("ca", "rogue"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("'rogue' is not registered"));
  EXPECT_GT(hub_->denied_links(), denied_before);
  bool audited = false;
  for (const v1::AuditEntry& e : DeniedLinkAudits()) {
    if (e.actor() == "rogue") {
      audited = true;
      EXPECT_EQ(e.outcome(), v1::AUDIT_DENIED);
      EXPECT_THAT(e.detail(), HasSubstr("not registered"));
    }
  }
  EXPECT_TRUE(audited);
  EXPECT_FALSE(hub_->store().GetOrg("rogue").ok());

  // An organisation hosted on the hub (no node of its own) is refused too.
  v1::CreateChildOrgResponse created;
  ASSERT_TRUE(hub_admin_
                  ->CreateChild(city_token_, kCity, "rogue",
                                v1::DISTRICT_FEDERATION, "", "rogueadmin",
                                &created, "430103")
                  .ok());
  s = LinkAs(Tls("ca", "rogue"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("does not run its own node"));
}

TEST_F(ReplicationLinkTest, CertificateFromAnotherCaCannotConnect) {
  ASSERT_NO_FATAL_FAILURE(StartBoth());
  ASSERT_NO_FATAL_FAILURE(RegisterD1());
  const int64_t denied_before = hub_->denied_links();
  const size_t audits_before = DeniedLinkAudits().size();
  // Same organisation id, wrong CA: the TLS handshake fails before any call.
  grpc::Status s = LinkAs(Tls("other", "d1"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_EQ(hub_->denied_links(), denied_before);
  EXPECT_EQ(DeniedLinkAudits().size(), audits_before);

  // A d1 node with the other CA's certificate never gets anything either.
  NodeOptions o = D1Options();
  o.data_dir = dir_ + "/d1-other";
  o.tls = Tls("other", "d1");
  auto impostor = NodeServer::Start(o);
  ASSERT_OK(impostor);
  // Wait until it has tried a few times; it never gets past the handshake.
  EXPECT_TRUE(WaitFor([&] {
    std::optional<repl::LinkStats> up = Link(**impostor, kCity);
    return up.has_value() && up->sessions >= 3;
  })) << Describe((*impostor)->LinkStatus());
  std::optional<repl::LinkStats> up = Link(**impostor, kCity);
  ASSERT_TRUE(up.has_value());
  EXPECT_EQ(up->received_changes, 0u);
  EXPECT_FALSE((*impostor)->store().GetOrg("d1").ok());
  EXPECT_EQ(hub_->denied_links(), denied_before);
}

TEST_F(ReplicationLinkTest, RestartedHubCatchesUp) {
  ASSERT_NO_FATAL_FAILURE(StartBoth());
  ASSERT_NO_FATAL_FAILURE(RegisterD1());
  ASSERT_NO_FATAL_FAILURE(BuildD1Subtree(3));
  ExpectHubMatchesD1();

  // gRPC health: d1 serves, and its link to the parent streams.
  EXPECT_EQ(HealthOf(d1_->port(), ""), "SERVING");
  EXPECT_TRUE(WaitFor([&] {
    return HealthOf(d1_->port(), kParentHealthService) == "SERVING";
  })) << HealthOf(d1_->port(), kParentHealthService);
  // The hub has no parent: the service is unknown there (NOT_FOUND).
  EXPECT_EQ(HealthOf(hub_->port(), kParentHealthService), "code 5");

  // The hub goes away; d1 keeps serving its users.
  hub_.reset();
  EXPECT_TRUE(WaitFor([&] {
    return HealthOf(d1_->port(), kParentHealthService) == "NOT_SERVING";
  })) << HealthOf(d1_->port(), kParentHealthService);
  EXPECT_EQ(HealthOf(d1_->port(), ""), "SERVING");
  ASSERT_NO_FATAL_FAILURE(AddMembers(4));
  v1::UpdateMemberRequest update;
  auto first = d1_->store().GetMember(member_ids_[0]);
  ASSERT_OK(first);
  *update.mutable_member() = *first;
  update.mutable_member()->set_workplace("长沙某某机械有限公司");
  grpc::Status s = d1_admin_->Call(&S::UpdateMember, g1_token_, update);
  ASSERT_TRUE(s.ok()) << s.error_message();

  // Same data directory, same replication port.
  ASSERT_NO_FATAL_FAILURE(StartHub());
  ExpectHubMatchesD1();
  auto counters = hub_->store().GetCounters("d1");
  ASSERT_OK(counters);
  EXPECT_EQ(counters->members(), 7);
  auto updated = hub_->store().GetMember(member_ids_[0]);
  ASSERT_OK(updated);
  EXPECT_EQ(updated->workplace(), "长沙某某机械有限公司");
}

// The parent's lifecycle writes (a corrected registration, a dissolution
// with its members leaving and its accounts disabled) reach the hub like any
// other, with the hub down during the dissolution; counters and digests end
// equal on both sides.
TEST_F(ReplicationLinkTest, CorrectionsAndADissolutionReachTheHub) {
  ASSERT_NO_FATAL_FAILURE(StartBoth());
  ASSERT_NO_FATAL_FAILURE(RegisterD1());
  ASSERT_NO_FATAL_FAILURE(BuildD1Subtree(3));
  ExpectHubMatchesD1();

  // d1 runs its own node: the city corrects its name and records its
  // administrator's training at the hub, and both go down to d1's node.
  v1::CorrectOrgRegistrationRequest d1_name;
  d1_name.set_org_id("d1");
  d1_name.set_name("芙蓉区总工会（更正）");
  d1_name.set_reason("更正名称");
  grpc::Status own_node =
      hub_admin_->Call(&S::CorrectOrgRegistration, city_token_, d1_name);
  ASSERT_TRUE(own_node.ok()) << own_node.error_message();
  // Its kind is not corrected from here: its children and members are
  // entered at its node and the rules cannot be checked against them here.
  v1::CorrectOrgRegistrationRequest d1_kind;
  d1_kind.set_org_id("d1");
  d1_kind.set_kind(v1::DEV_ZONE_FEDERATION);
  d1_kind.set_reason("类别选错");
  own_node = hub_admin_->Call(&S::CorrectOrgRegistration, city_token_, d1_kind);
  EXPECT_EQ(own_node.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(own_node.error_message(), HasSubstr("runs its own node"));
  v1::RecordTrainingRequest train;
  train.set_org_id("d1");
  train.mutable_training()->set_trainee("周芳");
  train.mutable_training()->set_date("2026-11-20");
  train.mutable_training()->set_trainer("市总工会组织部");
  own_node = hub_admin_->Call(&S::RecordTraining, city_token_, train);
  ASSERT_TRUE(own_node.ok()) << own_node.error_message();
  ASSERT_TRUE(WaitFor([&] {
    auto d1 = d1_->store().GetOrg("d1");
    return d1.ok() && d1->name() == "芙蓉区总工会（更正）" &&
           d1->trainings_size() == 1;
  })) << d1_->store().GetOrg("d1")->ShortDebugString();
  ExpectHubMatchesD1();
  EXPECT_EQ(hub_->store().GetOrg("d1")->name(), "芙蓉区总工会（更正）");
  // It is not dissolved from the hub: its members live at its node.
  v1::DissolveOrgRequest dissolve_d1;
  dissolve_d1.set_org_id("d1");
  dissolve_d1.set_reason("撤销");
  own_node = hub_admin_->Call(&S::DissolveOrg, city_token_, dissolve_d1);
  EXPECT_EQ(own_node.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(own_node.error_message(), HasSubstr("runs its own node"));

  v1::CorrectOrgRegistrationRequest correct;
  correct.set_org_id("g1");
  correct.set_name("长沙市芙蓉区某机械厂工会");
  correct.set_kind(v1::JOINT_GRASSROOTS);
  correct.set_reason("登记时类别选错");
  grpc::Status s =
      d1_admin_->Call(&S::CorrectOrgRegistration, d1_token_, correct);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ExpectHubMatchesD1();
  EXPECT_EQ(hub_->store().GetOrg("g1")->name(), "长沙市芙蓉区某机械厂工会");
  EXPECT_EQ(hub_->store().GetOrg("g1")->kind(), v1::JOINT_GRASSROOTS);

  hub_.reset();
  v1::DissolveOrgRequest dissolve;
  dissolve.set_org_id("g1");
  dissolve.set_reason("企业注销");
  dissolve.set_members_leave(true);
  s = d1_admin_->Call(&S::DissolveOrg, d1_token_, dissolve);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_NO_FATAL_FAILURE(StartHub());
  ExpectHubMatchesD1();
  EXPECT_EQ(hub_->store().GetOrg("g1")->status(), v1::ORG_DISSOLVED);
  EXPECT_EQ(hub_->store().GetAccount("g1admin")->state(),
            v1::CREDENTIAL_DISABLED);
  auto counters = hub_->store().GetCounters("d1");
  ASSERT_OK(counters);
  EXPECT_EQ(counters->members(), 0);
  EXPECT_EQ(counters->grassroots_orgs(), 0);
  EXPECT_EQ(counters->orgs(), 1);  // d1 itself.
}

// Heartbeats: the hub hears from s1, two tiers down, through d1's probes
// while s1 makes no change at all; once s1 stops, the time stops moving.
TEST_F(ReplicationLinkTest, TheHubHearsFromAnIdleNodeTwoTiersDown) {
  d1_listens_ = true;
  ASSERT_NO_FATAL_FAILURE(StartBoth());
  ASSERT_NO_FATAL_FAILURE(RegisterD1());
  d1_token_ = d1_admin_->Activate("d1admin", d1_initial_);
  v1::CreateChildOrgResponse s1;
  grpc::Status s = d1_admin_->CreateChild(
      d1_token_, "d1", "s1", v1::TOWNSHIP_FEDERATION, "s1", "s1admin", &s1);
  ASSERT_TRUE(s.ok()) << s.error_message();
  auto started = NodeServer::Start(S1Options());
  ASSERT_TRUE(started.ok()) << started.status();
  s1_ = *std::move(started);
  ASSERT_TRUE(WaitFor([&] { return s1_->store().GetOrg("s1").ok(); }));

  // What the hub has heard of s1, through its link to d1 (0: nothing).
  auto heard = [&] {
    std::map<std::string, int64_t> seen;
    for (const repl::LinkStats& l : hub_->LinkStatus()) {
      repl::AddSeenBelow(l, &seen);
    }
    auto it = seen.find("s1");
    return it == seen.end() ? int64_t{0} : it->second;
  };
  ASSERT_TRUE(WaitFor([&] { return heard() > 0; }))
      << "hub " << Describe(hub_->LinkStatus()) << "\nd1 "
      << Describe(d1_->LinkStatus());
  // s1 writes nothing from here on; its heartbeats keep arriving.
  const int64_t first = heard();
  ASSERT_TRUE(WaitFor([&] { return heard() > first; }));
  auto origins = hub_->store().OriginTimes();
  ASSERT_OK(origins);
  for (const auto& [origin, ms] : *origins) {
    EXPECT_NE(origin, "s1");  // Not one change from s1.
  }

  s1_.reset();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const int64_t stopped = heard();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(heard(), stopped);
}

TEST_F(ReplicationLinkTest, ANewStreamOfTheChildReplacesTheOldOne) {
  ASSERT_NO_FATAL_FAILURE(StartBoth());
  ASSERT_NO_FATAL_FAILURE(RegisterD1());
  ASSERT_NO_FATAL_FAILURE(BuildD1Subtree(2));
  ExpectHubMatchesD1();
  const uint64_t sessions = Link(*d1_, kCity)->sessions;
  // A second stream with d1's certificate takes over; d1's own stream ends,
  // d1 reconnects and takes over in turn, which ends this one.
  grpc::Status s = LinkAs(Tls("ca", "d1"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("replaced"));
  // (Stats are published after each pass of d1's worker.)
  EXPECT_TRUE(WaitFor([&] { return Link(*d1_, kCity)->sessions > sessions; }));
  ASSERT_NO_FATAL_FAILURE(AddMembers(1));
  ExpectHubMatchesD1();
}

TEST_F(ReplicationLinkTest, ChildChecksWhichParentItReached) {
  ASSERT_NO_FATAL_FAILURE(StartBoth());
  d1_.reset();
  std::filesystem::remove_all(dir_ + "/d1");
  v1::CreateChildOrgResponse created;
  ASSERT_TRUE(hub_admin_
                  ->CreateChild(city_token_, kCity, "d1",
                                v1::DISTRICT_FEDERATION, "d1", "d1admin",
                                &created, "430102")
                  .ok());
  // d1 expects another parent: the hub's certificate names 430100, so d1
  // closes each session at the hub's first message and applies nothing.
  NodeOptions o = D1Options();
  o.parent_id = "430199";
  auto d1 = NodeServer::Start(o);
  ASSERT_OK(d1);
  EXPECT_TRUE(WaitFor([&] {
    std::optional<repl::LinkStats> up = Link(**d1, "430199");
    return up.has_value() && up->sessions >= 3;
  })) << Describe((*d1)->LinkStatus());
  std::optional<repl::LinkStats> up = Link(**d1, "430199");
  ASSERT_TRUE(up.has_value());
  EXPECT_NE(up->state, repl::LinkState::kStreaming);
  EXPECT_EQ(up->received_changes, 0u);
  EXPECT_FALSE((*d1)->store().GetOrg("d1").ok());
}

TEST_F(ReplicationLinkTest, RefusesToStartWithoutTlsOrWithAnotherCertificate) {
  NodeOptions o;
  o.node_id = "d1";
  o.vault = testing::TestVault("d1");
  o.data_dir = dir_ + "/x";
  o.listen = "127.0.0.1:0";
  o.insecure_plaintext = true;
  o.repl_listen = "127.0.0.1:0";
  EXPECT_THAT(NodeServer::Start(o),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("TLS")));
  o.repl_listen.clear();
  o.parent_address = "127.0.0.1:1";
  o.parent_id = kCity;
  EXPECT_THAT(NodeServer::Start(o),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("TLS")));
  o.parent_id.clear();
  o.tls = Tls("ca", "d1");
  EXPECT_THAT(NodeServer::Start(o), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("--parent_id")));
  o.parent_address.clear();
  o.repl_listen = "127.0.0.1:0";
  o.tls = Tls("ca", "rogue");
  EXPECT_THAT(NodeServer::Start(o),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("'rogue' but this node is 'd1'")));
  EXPECT_FALSE(std::filesystem::exists(o.data_dir));
}

// R10.3: when the parent disables or resets a child's data administrator,
// every session of that account ends: the account works only at the node
// hosting its organisation (the hub, which holds a replica, refuses its
// logins), and its sessions there end with the first call after the change
// arrives.
TEST_F(ReplicationLinkTest, DisableAndResetEndSessionsOnEveryNode) {
  ASSERT_NO_FATAL_FAILURE(StartBoth());
  ASSERT_NO_FATAL_FAILURE(RegisterD1());
  ASSERT_NO_FATAL_FAILURE(BuildD1Subtree(1));
  ExpectHubMatchesD1();  // d1admin's own password change is at the hub too.
  auto epoch_at = [](NodeServer& node) -> int64_t {
    auto a = node.store().GetAccount("d1admin");
    return a.ok() ? a->credential_epoch() : -1;
  };
  auto state_at = [](NodeServer& node) {
    auto a = node.store().GetAccount("d1admin");
    return a.ok() ? a->state() : v1::CREDENTIAL_STATE_UNSPECIFIED;
  };
  auto login = [](AdminClient& admin, const std::string& password) {
    v1::LoginRequest req;
    req.set_username("d1admin");
    req.set_password(password);
    v1::LoginResponse resp;
    grpc::Status s = admin.Call(&S::Login, "", req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.token();
  };
  auto alive = [](AdminClient& admin, const std::string& token) {
    return admin.Call(&S::WhoAmI, token, v1::WhoAmIRequest()).error_code();
  };
  auto refused_at_hub = [&](const std::string& password) {
    v1::LoginRequest req;
    req.set_username("d1admin");
    req.set_password(password);
    return hub_admin_->Call(&S::Login, "", req).error_code() ==
           grpc::StatusCode::FAILED_PRECONDITION;
  };
  // d1admin's session at its own node; the hub holds the account but refuses
  // to let it work there.
  const std::string at_d1 = d1_token_;
  ASSERT_EQ(alive(*d1_admin_, at_d1), grpc::StatusCode::OK);
  EXPECT_TRUE(refused_at_hub(kStrong));

  // 1. The city disables d1's administrator (it left the post).
  v1::DisableAccountRequest disable;
  disable.set_username("d1admin");
  disable.set_reason("离职");
  grpc::Status s = hub_admin_->Call(&S::DisableAccount, city_token_, disable);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const int64_t disabled_epoch = epoch_at(*hub_);
  ASSERT_TRUE(WaitFor([&] { return epoch_at(*d1_) == disabled_epoch; }))
      << Describe(d1_->LinkStatus());
  EXPECT_EQ(state_at(*d1_), v1::CREDENTIAL_DISABLED);
  EXPECT_EQ(alive(*d1_admin_, at_d1), grpc::StatusCode::UNAUTHENTICATED);
  {
    v1::LoginRequest req;
    req.set_username("d1admin");
    req.set_password(kStrong);
    EXPECT_EQ(d1_admin_->Call(&S::Login, "", req).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }

  // 2. Re-enabled: its holder logs in at d1 and must choose a new password.
  v1::EnableAccountRequest enable;
  enable.set_username("d1admin");
  s = hub_admin_->Call(&S::EnableAccount, city_token_, enable);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const int64_t enabled_epoch = epoch_at(*hub_);
  ASSERT_TRUE(WaitFor([&] { return epoch_at(*d1_) == enabled_epoch; }));
  std::string again = login(*d1_admin_, kStrong);
  v1::ChangePasswordRequest change;
  change.set_old_password(kStrong);
  change.set_new_password("An0ther-Passw0rd!");
  s = d1_admin_->Call(&S::ChangePassword, again, change);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(alive(*d1_admin_, again), grpc::StatusCode::OK);
  const int64_t changed_epoch = epoch_at(*d1_);
  ASSERT_TRUE(WaitFor([&] { return epoch_at(*hub_) == changed_epoch; }));
  EXPECT_TRUE(refused_at_hub("An0ther-Passw0rd!"));

  // 3. The city resets its password: every session ends again.
  v1::ResetPasswordRequest reset;
  reset.set_username("d1admin");
  v1::ResetPasswordResponse reset_resp;
  s = hub_admin_->Call(&S::ResetPassword, city_token_, reset, &reset_resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const int64_t reset_epoch = epoch_at(*hub_);
  ASSERT_TRUE(WaitFor([&] { return epoch_at(*d1_) == reset_epoch; }));
  EXPECT_EQ(alive(*d1_admin_, again), grpc::StatusCode::UNAUTHENTICATED);
  // The new initial password works at d1 and allows only a password change.
  v1::LoginResponse fresh;
  {
    v1::LoginRequest req;
    req.set_username("d1admin");
    req.set_password(reset_resp.initial_password());
    s = d1_admin_->Call(&S::Login, "", req, &fresh);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(fresh.must_change_password());
  }
  // g1's administrator (another account) was never affected.
  EXPECT_EQ(alive(*d1_admin_, g1_token_), grpc::StatusCode::OK);
}

// A departing administrator cannot keep the account by changing its password
// on its own node while the link to the parent is down: the parent's disable
// carries a higher credential epoch than any such changes (R10.3).
TEST_F(ReplicationLinkTest,
       ADisableWinsOverPasswordChangesTheParentHasNotSeen) {
  ASSERT_NO_FATAL_FAILURE(StartBoth());
  ASSERT_NO_FATAL_FAILURE(RegisterD1());
  ASSERT_NO_FATAL_FAILURE(BuildD1Subtree(1));
  ExpectHubMatchesD1();
  // The hub is unreachable; d1's administrator changes the password twice.
  hub_.reset();
  std::string password = kStrong;
  for (const char* next : {"Next-Passw0rd-1", "Next-Passw0rd-2"}) {
    v1::ChangePasswordRequest change;
    change.set_old_password(password);
    change.set_new_password(next);
    grpc::Status s = d1_admin_->Call(&S::ChangePassword, d1_token_, change);
    ASSERT_TRUE(s.ok()) << s.error_message();
    password = next;
  }
  // d1 goes down too; the city disables the account at the hub.
  d1_.reset();
  ASSERT_NO_FATAL_FAILURE(StartHub());
  v1::LoginRequest login;
  login.set_username("admin");
  login.set_password(kStrong);
  v1::LoginResponse city;
  ASSERT_TRUE(hub_admin_->Call(&S::Login, "", login, &city).ok());
  v1::DisableAccountRequest disable;
  disable.set_username("d1admin");
  grpc::Status s = hub_admin_->Call(&S::DisableAccount, city.token(), disable);
  ASSERT_TRUE(s.ok()) << s.error_message();
  // Both come back together: the account ends disabled on both nodes.
  ASSERT_NO_FATAL_FAILURE(StartD1());
  auto state = [](NodeServer& node) {
    auto a = node.store().GetAccount("d1admin");
    return a.ok() ? a->state() : v1::CREDENTIAL_STATE_UNSPECIFIED;
  };
  EXPECT_TRUE(WaitFor([&] {
    auto a = hub_->store().GetAccount("d1admin");
    auto b = d1_->store().GetAccount("d1admin");
    return a.ok() && b.ok() && Same(*a, *b);
  })) << Describe(d1_->LinkStatus());
  EXPECT_EQ(state(*hub_), v1::CREDENTIAL_DISABLED);
  EXPECT_EQ(state(*d1_), v1::CREDENTIAL_DISABLED);
  // The disabled version is the hub's whole record: the passwords set while
  // the link was down are gone with it.
  login.set_username("d1admin");
  login.set_password(password);
  EXPECT_EQ(d1_admin_->Call(&S::Login, "", login).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  login.set_password(kStrong);
  EXPECT_EQ(d1_admin_->Call(&S::Login, "", login).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

// The child's audit chain head travels up with replication: the hub records
// it, shows it in GetReplicationStatus, and raises an alarm (audited, a
// warning) when d1's audit log is rewritten while d1 is down.
TEST_F(ReplicationLinkTest, ParentChecksTheChildsAuditChainHead) {
  ASSERT_NO_FATAL_FAILURE(StartBoth());
  ASSERT_NO_FATAL_FAILURE(RegisterD1());
  ASSERT_NO_FATAL_FAILURE(BuildD1Subtree(2));
  ExpectHubMatchesD1();
  auto held_matches_head = [&] {
    std::optional<repl::LinkStats> down = Link(*hub_, "d1");
    const AuditHead head = d1_->store().audit_head();
    return down.has_value() && down->audit_seq == head.seq &&
           down->audit_hash == head.hash;
  };
  // Reports go out at most every 5 s (LinkConfig::audit_report_interval_ms).
  ASSERT_TRUE(WaitFor(held_matches_head)) << Describe(hub_->LinkStatus());
  v1::GetReplicationStatusResponse status = hub_->ReplicationStatus();
  ASSERT_EQ(status.links_size(), 1);
  EXPECT_EQ(status.links(0).audit_seq(), d1_->store().audit_head().seq);
  EXPECT_EQ(status.links(0).audit_alarms(), 0u);
  EXPECT_GT(status.links(0).audit_seen_ms(), 0);
  EXPECT_TRUE(WaitFor([&] {
    std::optional<repl::LinkStats> up = Link(*d1_, kCity);
    return up.has_value() && up->audit_seq == d1_->store().audit_head().seq;
  }));

  // Entry 2 of d1's log changed and the whole chain recomputed: d1's own
  // verification passes, the hub's check does not.
  d1_.reset();
  ASSERT_OK(testing::TamperAuditLog(
      dir_ + "/d1", nullptr,
      [](std::vector<v1::AuditEntry>& entries) {
        entries[1].set_detail("forged");
      },
      /*rechain=*/true));
  ASSERT_NO_FATAL_FAILURE(StartD1());
  ASSERT_OK_AND_ASSIGN(auto local, d1_->store().VerifyAuditChain());
  EXPECT_FALSE(local.has_value());
  ASSERT_TRUE(WaitFor([&] {
    std::optional<repl::LinkStats> down = Link(*hub_, "d1");
    return down.has_value() && down->audit_alarms == 1;
  })) << Describe(hub_->LinkStatus());
  status = hub_->ReplicationStatus();
  ASSERT_EQ(status.links_size(), 1);
  EXPECT_EQ(status.links(0).audit_alarms(), 1u);
  EXPECT_THAT(status.links(0).audit_alarm(), HasSubstr("rewritten"));
  auto warning = hub_->store().GetWarning("audit/d1");
  ASSERT_OK(warning);
  EXPECT_EQ(warning->kind(), v1::AUDIT_CHAIN_BROKEN);
  EXPECT_EQ(warning->severity(), v1::SEVERITY_SERIOUS);
  EXPECT_TRUE(warning->open());
  auto audit = hub_->store().ReadAudit(1, 100000);
  ASSERT_OK(audit);
  int alarms = 0;
  for (const v1::AuditEntry& e : *audit) {
    alarms += e.action() == "AuditChainAlarm" && e.target_org() == "d1";
  }
  EXPECT_EQ(alarms, 1);
  // From then on the rewritten chain is the one checked: no second alarm.
  ASSERT_TRUE(WaitFor(held_matches_head));
  EXPECT_EQ(Link(*hub_, "d1")->audit_alarms, 1u);
}

TEST(BackoffTest, FullJitterUnderADoublingCap) {
  Backoff b(200, 30'000, 1);
  int64_t cap = 200;
  for (int i = 0; i < 20; ++i) {
    const int64_t d = b.NextDelayMs();
    EXPECT_GE(d, 0);
    EXPECT_LE(d, cap);
    cap = std::min<int64_t>(cap * 2, 30'000);
  }
  b.Reset();
  EXPECT_LE(b.NextDelayMs(), 200);
}

}  // namespace
}  // namespace unionsync

namespace unionsync {
namespace {

// Full numbers at a child node wait until the parent holds the audit entry of
// the access: the uplink reports the head at once (not at its 5-second
// interval), so a reveal costs a round trip, and each of several in a row
// does too.
TEST_F(ReplicationLinkTest, ARevealWaitsForTheParentToHoldItsAuditEntry) {
  ASSERT_NO_FATAL_FAILURE(StartBoth());
  ASSERT_NO_FATAL_FAILURE(RegisterD1());
  ASSERT_NO_FATAL_FAILURE(BuildD1Subtree(1));
  for (int i = 0; i < 5; ++i) {
    v1::GetMemberRequest req;
    req.set_member_id(member_ids_.front());
    req.set_reveal_reason("核对会员身份");
    v1::GetMemberResponse resp;
    const auto t0 = std::chrono::steady_clock::now();
    grpc::Status s = d1_admin_->Call(&S::GetMember, g1_token_, req, &resp);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - t0)
                        .count();
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(resp.revealed());
    EXPECT_LT(ms, 2500) << "reveal " << i << " waited for the periodic report";
    const uint64_t seq = d1_->store().audit_head().seq;
    auto held = hub_->store().GetLocal("audithead/d1");
    ASSERT_TRUE(held.ok() && held->has_value());
    v1::AuditHeadState state;
    ASSERT_TRUE(state.ParseFromString(**held));
    EXPECT_GE(state.seq(), seq);
  }
}

}  // namespace
}  // namespace unionsync
