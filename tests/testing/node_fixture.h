// Small pieces for tests that run a real node in-process (RocksDB in a temp
// dir, gRPC on 127.0.0.1:0): the node's options and start, the city's
// bootstrap, activating accounts (in-process or over gRPC), registering
// children, unary gRPC calls with a bearer token, and running unionctl against
// the node. Functions, not a base class: each test's fixture keeps its own
// members and picks what it needs.
#ifndef UNIONSYNC_TESTS_TESTING_NODE_FIXTURE_H_
#define UNIONSYNC_TESTS_TESTING_NODE_FIXTURE_H_

#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "cli/session.h"
#include "cli/unionctl.h"
#include "common/clock.h"
#include "common/password.h"
#include "grpcpp/grpcpp.h"
#include "node/node_server.h"
#include "testing/test_vault.h"
#include "unionsync/v1/admin.grpc.pb.h"
#include "unionsync/v1/admin.pb.h"

namespace unionsync::testing {

// The city's organisation and node id.
inline constexpr char kCity[] = "430100";
// What every activated account's password is changed to.
inline constexpr char kStrong[] = "Str0ng-Passw0rd!";
// 2026-11-27 10:00 China time.
inline constexpr int64_t kNow = 1795744800000;

// A new directory /tmp/`name`_XXXXXX. Aborts the test binary if it cannot be
// made.
inline std::string MakeTempDir(const std::string& name) {
  std::string tmpl = absl::StrCat("/tmp/", name, "_XXXXXX");
  if (mkdtemp(tmpl.data()) == nullptr) {
    perror("mkdtemp");
    abort();
  }
  return tmpl;
}

// Options of a node `node_id` with its test vault, its store in `data_dir`,
// gRPC on a free port of 127.0.0.1, fast scrypt and `clock` (the system clock
// when null).
inline NodeOptions TestNodeOptions(const std::string& node_id,
                                   const std::string& data_dir,
                                   const Clock* clock = nullptr) {
  NodeOptions o;
  o.node_id = node_id;
  o.vault = TestVault(node_id);
  o.data_dir = data_dir;
  o.listen = "127.0.0.1:0";
  // In-process tests talk plaintext on loopback; the TLS ports are tested on
  // their own (tests/node/tls_ports_test.cc, the cluster tests).
  o.insecure_plaintext = true;
  o.admin.scrypt = ScryptParams::ForTests();
  o.clock = clock;
  return o;
}

// The city's node, its store in `dir`/db.
inline NodeOptions CityNodeOptions(const std::string& dir,
                                   const Clock* clock = nullptr) {
  return TestNodeOptions(kCity, dir + "/db", clock);
}

// Starts a node with `o` into `node`; a fatal failure if it does not start
// (wrap in ASSERT_NO_FATAL_FAILURE).
inline void StartNode(const NodeOptions& o, std::unique_ptr<NodeServer>* node) {
  auto started = NodeServer::Start(o);
  ASSERT_TRUE(started.ok()) << started.status();
  *node = *std::move(started);
}

// Bootstraps the root organisation, the city 长沙市总工会 (kCity), with the
// administrator "admin"; returns its initial password.
inline absl::StatusOr<std::string> BootstrapCity(NodeServer& node) {
  v1::Org city;
  city.set_id(kCity);
  city.set_name("长沙市总工会");
  city.set_kind(v1::CITY_FEDERATION);
  city.set_tier(1);
  return node.admin().Bootstrap(city, "admin");
}

// A request registering child `id` (named 测试工会`id`) of `parent` with the
// administrator `admin`.
inline v1::CreateChildOrgRequest ChildOrgRequest(const std::string& parent,
                                                 const std::string& id,
                                                 v1::OrgKind kind,
                                                 const std::string& admin,
                                                 const std::string& region) {
  v1::CreateChildOrgRequest req;
  req.set_parent_id(parent);
  req.mutable_org()->set_id(id);
  req.mutable_org()->set_name(absl::StrCat("测试工会", id));
  req.mutable_org()->set_kind(kind);
  req.mutable_org()->set_region(region);
  req.set_admin_username(admin);
  return req;
}

// The newest audit entry of `store`.
inline v1::AuditEntry LastAuditEntry(Store& store) {
  const uint64_t seq = store.audit_head().seq;
  auto entries = store.ReadAudit(seq, 1);
  EXPECT_TRUE(entries.ok() && entries->size() == 1);
  return entries.ok() && !entries->empty() ? entries->front()
                                           : v1::AuditEntry();
}

// The newest audit entry of `store` for `action` (the page's reads that
// follow a write are audited too); empty if none of the last 200 is.
inline v1::AuditEntry LastAuditEntryOf(Store& store,
                                       const std::string& action) {
  const uint64_t head = store.audit_head().seq;
  const uint64_t from = head > 200 ? head - 199 : 1;
  auto entries = store.ReadAudit(from, 200);
  EXPECT_TRUE(entries.ok());
  v1::AuditEntry found;
  if (entries.ok()) {
    for (const v1::AuditEntry& e : *entries) {
      if (e.action() == action) found = e;
    }
  }
  return found;
}

// --- In-process calls (node.admin()) ----------------------------------------

// Logs `user` in with `password`.
inline absl::StatusOr<v1::LoginResponse> Login(NodeServer& node,
                                               const std::string& user,
                                               const std::string& password) {
  v1::LoginRequest login;
  login.set_username(user);
  login.set_password(password);
  return node.admin().Login(CallContext{}, login);
}

// Logs `user` in with the initial password and changes it to kStrong; returns
// the session token ("" after a fatal failure).
inline std::string Activate(NodeServer& node, const std::string& user,
                            const std::string& initial) {
  std::string token;
  [&] {
    auto session = Login(node, user, initial);
    ASSERT_TRUE(session.ok()) << user << ": " << session.status();
    v1::ChangePasswordRequest req;
    req.set_old_password(initial);
    req.set_new_password(kStrong);
    auto changed =
        node.admin().ChangePassword(CallContext{session->token(), ""}, req);
    ASSERT_TRUE(changed.ok()) << user << ": " << changed.status();
    token = session->token();
  }();
  return token;
}

// Registers child `id` of `parent` as the holder of `token` and activates its
// administrator `admin`; returns the administrator's token ("" after a fatal
// failure).
inline std::string CreateActiveChild(NodeServer& node, const std::string& token,
                                     const std::string& parent,
                                     const std::string& id, v1::OrgKind kind,
                                     const std::string& admin,
                                     const std::string& region) {
  std::string admin_token;
  [&] {
    auto resp = node.admin().CreateChildOrg(
        CallContext{token, ""},
        ChildOrgRequest(parent, id, kind, admin, region));
    ASSERT_TRUE(resp.ok()) << resp.status();
    admin_token = Activate(node, admin, resp->initial_password());
  }();
  return admin_token;
}

// --- gRPC --------------------------------------------------------------------

// A plain-text channel to 127.0.0.1:`port`; `max_receive_bytes` > 0 raises
// the limit of a received message.
inline std::shared_ptr<grpc::Channel> NodeChannel(int port,
                                                  int max_receive_bytes = 0) {
  grpc::ChannelArguments args;
  if (max_receive_bytes > 0) args.SetMaxReceiveMessageSize(max_receive_bytes);
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                   grpc::InsecureChannelCredentials(), args);
}

// The status of a gRPC call.
struct Rpc {
  grpc::Status status;
  std::string message() const { return status.error_message(); }
  grpc::StatusCode code() const { return status.error_code(); }
};

// Calls one unary RPC of `stub` with `token` (if any) as the bearer, within
// `timeout`. `resp` may be null.
template <typename Stub, typename Req, typename Resp>
grpc::Status CallRpc(Stub* stub,
                     grpc::Status (Stub::*method)(grpc::ClientContext*,
                                                  const Req&, Resp*),
                     const std::string& token, const Req& req, Resp* resp,
                     std::chrono::seconds timeout) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
  Resp local;
  return (stub->*method)(&ctx, req, resp != nullptr ? resp : &local);
}

// Activate() over gRPC: each call within `timeout`. `login`, if given,
// receives the response of the login with the initial password.
inline std::string ActivateOverGrpc(v1::AdminService::Stub* stub,
                                    const std::string& user,
                                    const std::string& initial,
                                    std::chrono::seconds timeout,
                                    v1::LoginResponse* login = nullptr) {
  std::string token;
  v1::LoginResponse local;
  if (login == nullptr) login = &local;
  [&] {
    v1::LoginRequest req;
    req.set_username(user);
    req.set_password(initial);
    grpc::Status s = CallRpc(stub, &v1::AdminService::Stub::Login,
                             std::string(), req, login, timeout);
    ASSERT_TRUE(s.ok()) << user << ": " << s.error_message();
    v1::ChangePasswordRequest change;
    change.set_old_password(initial);
    change.set_new_password(kStrong);
    v1::ChangePasswordResponse changed;
    s = CallRpc(stub, &v1::AdminService::Stub::ChangePassword, login->token(),
                change, &changed, timeout);
    ASSERT_TRUE(s.ok()) << user << ": " << s.error_message();
    token = login->token();
  }();
  return token;
}

// --- unionctl ----------------------------------------------------------------

// Writes unionctl's session file under `home` for the node on `port`.
inline absl::Status WriteSession(const std::string& home, int port,
                                 const std::string& user,
                                 const std::string& org,
                                 const std::string& token) {
  cli::Session s;
  s.server = absl::StrCat("127.0.0.1:", port);
  s.plaintext = true;
  s.token = token;
  s.username = user;
  s.org_id = org;
  return cli::WriteSessionFile(home + "/.unionsync/session", s);
}

struct UnionctlResult {
  int code;
  std::string out;
  std::string err;
};

// Runs unionctl in-process with `home` as $HOME, an empty stdin that is not a
// terminal, and no server or user in the environment.
inline UnionctlResult RunUnionctlAt(const std::string& home,
                                    const std::vector<std::string>& argv) {
  std::istringstream in;
  std::ostringstream out, err;
  cli::Io io{&in, &out, &err, false, nullptr, nullptr};
  cli::Environment env{"", "", home, "", /*insecure_plaintext=*/true};
  int code = cli::RunUnionctl(argv, env, io);
  return {code, out.str(), err.str()};
}

}  // namespace unionsync::testing

#endif  // UNIONSYNC_TESTS_TESTING_NODE_FIXTURE_H_
