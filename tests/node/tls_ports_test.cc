// Every port people use speaks TLS (docs/SECURITY.md): the Admin API with the
// node's certificate (a plaintext client gets nowhere), the dashboard over
// HTTPS with a Secure session cookie, /metrics only with an operator's
// credentials; plaintext only behind the development flag and only on
// loopback.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdio.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "httplib.h"
#include "node/node_server.h"
#include "testing/node_fixture.h"
#include "testing/shell.h"
#include "testing/status_matchers.h"
#include "tls/tls.h"
#include "unionsync/v1/admin.grpc.pb.h"

namespace unionsync {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::unionsync::testing::kCity;
using ::unionsync::testing::kStrong;
using ::unionsync::testing::StatusIs;

class TlsPortsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("unionsync_tls_ports_test");
    const std::string d = testing::ShellQuote(dir_ + "/certs");
    const std::string s = testing::ShellQuote(UNIONSYNC_CERTS_DIR);
    const std::string cmd = absl::StrCat(
        "bash -euo pipefail -c ",
        testing::ShellQuote(absl::StrCat(s, "/make-ca.sh ", d, " && ", s,
                                         "/make-node-cert.sh ", d, " ", kCity)),
        " 2>/dev/null");
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    tls_.ca_pem_path = dir_ + "/certs/ca.pem";
    tls_.cert_pem_path = absl::StrCat(dir_, "/certs/", kCity, ".pem");
    tls_.key_pem_path = absl::StrCat(dir_, "/certs/", kCity, ".key");
  }
  void TearDown() override {
    node_.reset();
    std::filesystem::remove_all(dir_);
  }

  NodeOptions TlsOptions() {
    NodeOptions o = testing::CityNodeOptions(dir_);
    o.insecure_plaintext = false;
    o.tls = tls_;
    o.dashboard_listen = "127.0.0.1:0";
    return o;
  }

  std::string dir_;
  TlsFiles tls_;
  std::unique_ptr<NodeServer> node_;
};

TEST_F(TlsPortsTest, TheAdminApiSpeaksTlsOnly) {
  ASSERT_NO_FATAL_FAILURE(testing::StartNode(TlsOptions(), &node_));
  auto pw = testing::BootstrapCity(*node_);
  ASSERT_OK(pw.status());
  ASSERT_OK_AND_ASSIGN(auto creds, MakeClientTlsCredentials(tls_.ca_pem_path));
  auto secure = v1::AdminService::NewStub(
      grpc::CreateChannel(absl::StrCat("localhost:", node_->port()), creds));
  v1::LoginRequest login;
  login.set_username("admin");
  login.set_password(*pw);
  v1::LoginResponse resp;
  grpc::Status s =
      testing::CallRpc(secure.get(), &v1::AdminService::Stub::Login, "", login,
                       &resp, std::chrono::seconds(10));
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(resp.must_change_password());
  // The same call in plaintext does not get through.
  auto plain = v1::AdminService::NewStub(testing::NodeChannel(node_->port()));
  s = testing::CallRpc(plain.get(), &v1::AdminService::Stub::Login, "", login,
                       &resp, std::chrono::seconds(5));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
}

TEST_F(TlsPortsTest, PlaintextOnlyBehindTheFlagAndOnLoopback) {
  NodeOptions o = testing::CityNodeOptions(dir_);
  o.insecure_plaintext = false;
  EXPECT_THAT(NodeServer::Start(o), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("serve TLS only")));
  o.insecure_plaintext = true;
  o.listen = "0.0.0.0:0";
  EXPECT_THAT(NodeServer::Start(o),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("only on a loopback address")));
  o.listen = "127.0.0.1:0";
  o.dashboard_listen = "0.0.0.0:0";
  EXPECT_THAT(NodeServer::Start(o), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("--web_listen")));
}

TEST_F(TlsPortsTest, ATakenPortIsAStartupErrorNotASharedPort) {
  ASSERT_NO_FATAL_FAILURE(testing::StartNode(TlsOptions(), &node_));
  NodeOptions second = TlsOptions();
  second.data_dir = dir_ + "/db2";
  second.listen = absl::StrCat("127.0.0.1:", node_->port());
  second.dashboard_listen = "";
  EXPECT_FALSE(NodeServer::Start(second).ok());
}

TEST_F(TlsPortsTest, ATakenReplicationPortOrStoreIsAStartupError) {
  NodeOptions first = TlsOptions();
  first.repl_listen = "127.0.0.1:0";
  first.dashboard_listen = "";
  ASSERT_NO_FATAL_FAILURE(testing::StartNode(first, &node_));
  ASSERT_NE(node_->repl_port(), 0);
  NodeOptions second = first;
  second.data_dir = dir_ + "/db2";
  second.listen = "127.0.0.1:0";
  second.repl_listen = absl::StrCat("127.0.0.1:", node_->repl_port());
  EXPECT_FALSE(NodeServer::Start(second).ok());
  // The same store: RocksDB's lock, and a message saying what it means.
  NodeOptions third = first;
  third.listen = "127.0.0.1:0";
  third.repl_listen = "127.0.0.1:0";
  EXPECT_THAT(NodeServer::Start(third),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("is another process using this store?")));
}

TEST_F(TlsPortsTest, TheDashboardIsHttpsWithSecureCookiesAndGuardedMetrics) {
  NodeOptions o = TlsOptions();
  o.backup = NodeBackupOptions{};
  o.backup->archive.dir = dir_ + "/backups";
  o.backup->interval = absl::ZeroDuration();
  ASSERT_NO_FATAL_FAILURE(testing::StartNode(o, &node_));
  auto pw = testing::BootstrapCity(*node_);
  ASSERT_OK(pw.status());
  const std::string admin_token = testing::Activate(*node_, "admin", *pw);
  // An operator and a reviewer of the city's own organisation.
  std::map<v1::Role, std::string> users = {{v1::OPERATOR, "city_operator"},
                                           {v1::REVIEWER, "city_reviewer"}};
  for (const auto& [role, user] : users) {
    v1::CreateAccountRequest req;
    req.set_org_id(kCity);
    req.set_username(user);
    req.set_role(role);
    auto made = node_->admin().CreateAccount(CallContext{admin_token, ""}, req);
    ASSERT_OK(made.status());
    testing::Activate(*node_, user, made->initial_password());
  }

  httplib::SSLClient client("localhost", node_->dashboard_port());
  client.set_ca_cert_path(tls_.ca_pem_path.c_str());
  client.enable_server_certificate_verification(true);
  auto page = client.Get("/wb");
  ASSERT_TRUE(page) << httplib::to_string(page.error());
  EXPECT_EQ(page->status, 200);
  httplib::Headers origin = {
      {"Origin", absl::StrCat("https://localhost:", node_->dashboard_port())}};
  auto login = client.Post(
      "/api/v1/AdminService.Login", origin,
      absl::StrCat("{\"username\":\"admin\",\"password\":\"", kStrong, "\"}"),
      "application/json");
  ASSERT_TRUE(login);
  EXPECT_EQ(login->status, 200) << login->body;
  const std::string cookie = login->get_header_value("Set-Cookie");
  EXPECT_THAT(cookie, HasSubstr("us_session="));
  EXPECT_THAT(cookie, HasSubstr("; Secure"));
  EXPECT_THAT(cookie, HasSubstr("HttpOnly"));
  EXPECT_THAT(cookie, HasSubstr("SameSite=Strict"));
  // A name that is no endpoint: refused, and no series of its own.
  httplib::Headers with_session = origin;
  {
    std::string cookies, csrf;
    auto [from, to] = login->headers.equal_range("Set-Cookie");
    for (auto it = from; it != to; ++it) {
      const std::string pair = it->second.substr(0, it->second.find(';'));
      absl::StrAppend(&cookies, cookies.empty() ? "" : "; ", pair);
      if (absl::StartsWith(pair, "us_csrf=")) csrf = pair.substr(8);
    }
    with_session.emplace("Cookie", cookies);
    with_session.emplace("X-CSRF-Token", csrf);
  }
  auto bogus = client.Post("/api/v1/AdminService.NoSuchCall", with_session,
                           "{}", "application/json");
  ASSERT_TRUE(bogus);
  EXPECT_EQ(bogus->status, 404);

  ASSERT_OK(
      node_->admin()
          .CreateBackup(CallContext{admin_token, ""}, v1::CreateBackupRequest())
          .status());
  // A call over gRPC, and one refused: both timed by method and code.
  {
    ASSERT_OK_AND_ASSIGN(auto creds,
                         MakeClientTlsCredentials(tls_.ca_pem_path));
    auto stub = v1::AdminService::NewStub(
        grpc::CreateChannel(absl::StrCat("localhost:", node_->port()), creds));
    v1::WhoAmIResponse who;
    EXPECT_TRUE(testing::CallRpc(stub.get(), &v1::AdminService::Stub::WhoAmI,
                                 admin_token, v1::WhoAmIRequest(), &who,
                                 std::chrono::seconds(10))
                    .ok());
    EXPECT_FALSE(testing::CallRpc(stub.get(), &v1::AdminService::Stub::WhoAmI,
                                  "no-such-token", v1::WhoAmIRequest(), &who,
                                  std::chrono::seconds(10))
                     .ok());
  }

  auto anonymous = client.Get("/metrics");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  auto basic = [&](const std::string& user, const std::string& password) {
    httplib::Headers h = {
        {"Authorization",
         "Basic " + absl::Base64Escape(absl::StrCat(user, ":", password))}};
    return client.Get("/metrics", h);
  };
  auto op = basic("city_operator", kStrong);
  ASSERT_TRUE(op);
  EXPECT_EQ(op->status, 200);
  EXPECT_THAT(op->body, HasSubstr("unionsync_"));
  // A real Prometheus text parser reads all of it
  // (python3-prometheus-client), the backups' families included.
  {
    const std::string scraped = dir_ + "/metrics.txt";
    std::ofstream(scraped) << op->body;
    const std::string cmd = absl::StrCat(
        "/usr/bin/python3 ",
        testing::ShellQuote(UNIONSYNC_TESTS_DIR "/node/parse_metrics.py"), " ",
        testing::ShellQuote(scraped), " ",
        testing::ShellQuote(UNIONSYNC_SOURCE_DIR
                            "/packaging/grafana/unionsync.json"),
        " 2>&1");
    FILE* pipe = popen(cmd.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string parsed;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) parsed.append(buf, n);
    ASSERT_EQ(pclose(pipe), 0) << parsed << "\n" << op->body;
    EXPECT_THAT(parsed, HasSubstr("unionsync_backups gauge 1"));
    EXPECT_THAT(parsed, HasSubstr("unionsync_backup_runs counter 2"));
    EXPECT_THAT(parsed, HasSubstr("unionsync_audit_chain_entries gauge 1"));
    // One method: its 13 buckets, sum and count.
    EXPECT_THAT(parsed,
                HasSubstr("unionsync_rpc_duration_seconds histogram 15"));
    EXPECT_THAT(parsed, HasSubstr("unionsync_rpcs counter 2"));
    EXPECT_THAT(op->body,
                HasSubstr("unionsync_rpcs_total{method=\"/unionsync.v1."
                          "AdminService/WhoAmI\",code=\"UNAUTHENTICATED\"} 1"));
    // The workbench's JSON calls, timed by endpoint: the login above.
    EXPECT_THAT(parsed,
                HasSubstr("unionsync_web_call_duration_seconds histogram 15"));
    EXPECT_THAT(op->body, HasSubstr("unionsync_web_calls_total{method=\"Admin"
                                    "Service.Login\",code=\"OK\"} 1"));
    EXPECT_THAT(op->body, Not(HasSubstr("NoSuchCall")));
    // The Grafana dashboard in the tree asks only for what nodes export.
    EXPECT_THAT(parsed, HasSubstr("metrics, all exported"));
  }
  // Scraped again: the session is reused, not a login per scrape.
  const uint64_t audit_before = node_->store().audit_head().seq;
  op = basic("city_operator", kStrong);
  ASSERT_TRUE(op);
  EXPECT_EQ(op->status, 200);
  EXPECT_LE(node_->store().audit_head().seq, audit_before + 0);
  auto reviewer = basic("city_reviewer", kStrong);
  ASSERT_TRUE(reviewer);
  EXPECT_EQ(reviewer->status, 403);
  auto wrong = basic("city_operator", "Wrong-Passw0rd!");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
}

}  // namespace
}  // namespace unionsync
