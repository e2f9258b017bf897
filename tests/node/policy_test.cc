// The role x RPC table (node/policy.h), generated from the services' own
// descriptors: every RPC of the Admin, Monitor, Export and Ingest APIs has a
// policy, every policy names a real RPC, and every role is tried against
// every unary RPC over gRPC (an empty request: the role gate answers before
// any handler looks at it) and against every action in process.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "node/node_server.h"
#include "node/policy.h"
#include "testing/node_fixture.h"
#include "unionsync/v1/admin.grpc.pb.h"
#include "unionsync/v1/export.grpc.pb.h"
#include "unionsync/v1/ingest.grpc.pb.h"
#include "unionsync/v1/monitor.grpc.pb.h"

namespace unionsync {
namespace {

using ::unionsync::testing::kCity;

// The services people call (replication is mutual TLS between nodes, not a
// role matter).
std::vector<const google::protobuf::ServiceDescriptor*> PeopleServices() {
  return {v1::LoginRequest::descriptor()->file()->FindServiceByName(
              "AdminService"),
          v1::GetProgressRequest::descriptor()->file()->FindServiceByName(
              "MonitorService"),
          v1::RequestExportRequest::descriptor()->file()->FindServiceByName(
              "ExportService"),
          v1::GetTemplateRequest::descriptor()->file()->FindServiceByName(
              "IngestService")};
}

TEST(PolicyTableTest, EveryRpcHasAPolicyAndEveryPolicyARealEndpoint) {
  std::set<std::string> rpcs;
  for (const auto* service : PeopleServices()) {
    ASSERT_NE(service, nullptr);
    for (int i = 0; i < service->method_count(); ++i) {
      rpcs.insert(absl::StrCat(service->name(), "/",
                               service->method(i)->name()));
    }
  }
  std::set<std::string> covered;
  std::set<std::string> actions;
  for (const ActionPolicy& p : ActionPolicies()) {
    EXPECT_TRUE(actions.insert(std::string(p.action)).second)
        << "duplicate action " << p.action;
    EXPECT_NE(p.roles, 0u) << p.action;
    EXPECT_FALSE(p.scope.empty()) << p.action;
    if (absl::StartsWith(p.endpoint, "GET ") ||
        absl::StartsWith(p.endpoint, "POST ")) {
      continue;  // A web route.
    }
    EXPECT_EQ(rpcs.count(std::string(p.endpoint)), 1u)
        << p.action << " names " << p.endpoint << ", which is no RPC";
    covered.insert(std::string(p.endpoint));
  }
  for (const std::string& rpc : rpcs) {
    EXPECT_EQ(covered.count(rpc), 1u) << rpc << " has no policy";
  }
  EXPECT_EQ(FindActionPolicy("NoSuchAction"), nullptr);
  EXPECT_FALSE(RoleMay("NoSuchAction", v1::DATA_ADMIN));
}

class RoleGateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("unionsync_policy_test");
    ASSERT_NO_FATAL_FAILURE(
        testing::StartNode(testing::CityNodeOptions(dir_), &node_));
    auto pw = testing::BootstrapCity(*node_);
    ASSERT_TRUE(pw.ok()) << pw.status();
    tokens_[v1::DATA_ADMIN] = testing::Activate(*node_, "admin", *pw);
    const std::string& admin = tokens_[v1::DATA_ADMIN];
    for (auto [role, user] : {std::pair{v1::REVIEWER, "city_reviewer"},
                              std::pair{v1::OPERATOR, "city_operator"}}) {
      v1::CreateAccountRequest req;
      req.set_org_id(kCity);
      req.set_username(user);
      req.set_role(role);
      auto made = node_->admin().CreateAccount(CallContext{admin, ""}, req);
      ASSERT_TRUE(made.ok()) << made.status();
      tokens_[role] =
          testing::Activate(*node_, user, made->initial_password());
    }
    // A leader is made by the parent, with the unit.
    v1::CreateChildOrgRequest child = testing::ChildOrgRequest(
        kCity, "430102", v1::DISTRICT_FEDERATION, "furong_admin", "430102");
    child.set_leader_username("furong_leader");
    auto made = node_->admin().CreateChildOrg(CallContext{admin, ""}, child);
    ASSERT_TRUE(made.ok()) << made.status();
    tokens_[v1::UNIT_LEADER] = testing::Activate(
        *node_, "furong_leader", made->leader_initial_password());
  }

  void TearDown() override {
    node_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string dir_;
  std::unique_ptr<NodeServer> node_;
  std::map<v1::Role, std::string> tokens_;
};

TEST_F(RoleGateTest, EveryRoleAgainstEveryActionInProcess) {
  ASSERT_EQ(tokens_.size(), 4u);
  for (const ActionPolicy& p : ActionPolicies()) {
    for (const auto& [role, token] : tokens_) {
      auto viewer =
          node_->admin().Authenticate(RequestContext{token, "test"}, p.action);
      const bool allowed = (p.roles & kPublic) || (p.roles & RoleBit(role));
      EXPECT_EQ(viewer.ok(), allowed)
          << RoleText(role) << " x " << p.action << ": " << viewer.status();
      if (!allowed) {
        EXPECT_TRUE(absl::IsPermissionDenied(viewer.status()));
      }
    }
  }
}

TEST_F(RoleGateTest, EveryRoleAgainstEveryUnaryRpcOverGrpc) {
  auto channel = testing::NodeChannel(node_->port());
  grpc::GenericStub generic(channel);
  int tried = 0;
  for (const auto* service : PeopleServices()) {
    for (int i = 0; i < service->method_count(); ++i) {
      const auto* method = service->method(i);
      if (method->client_streaming() || method->server_streaming()) continue;
      const std::string rpc = absl::StrCat(service->name(), "/", method->name());
      const ActionPolicy* policy = nullptr;
      for (const ActionPolicy& p : ActionPolicies()) {
        if (p.endpoint == rpc) policy = &p;
      }
      ASSERT_NE(policy, nullptr) << rpc;
      if (policy->roles & kPublic) continue;  // No session involved.
      if (method->name() == "Logout") continue;  // Would end the sessions.
      for (const auto& [role, token] : tokens_) {
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
        ctx.AddMetadata("authorization", "Bearer " + token);
        grpc::Slice empty("", 0);
        grpc::ByteBuffer request(&empty, 1);
        grpc::ByteBuffer response;
        std::promise<grpc::Status> done;
        generic.UnaryCall(&ctx,
                          absl::StrCat("/", service->full_name(), "/",
                                       method->name()),
                          grpc::StubOptions(), &request, &response,
                          [&](grpc::Status s) { done.set_value(s); });
        const grpc::Status s = done.get_future().get();
        ++tried;
        const bool gated = s.error_code() == grpc::PERMISSION_DENIED &&
                           absl::StrContains(s.error_message(), "may not call");
        const bool allowed = (policy->roles & RoleBit(role)) != 0;
        EXPECT_EQ(gated, !allowed)
            << RoleText(role) << " x " << rpc << ": " << s.error_code() << " "
            << s.error_message();
      }
    }
  }
  EXPECT_GT(tried, 100);
}

// Bytes that are not UTF-8 in a text field: INVALID_ARGUMENT with a message,
// and nothing written (not even an audit entry: no handler ran).
TEST_F(RoleGateTest, UndecodableRequestsAreInvalidArgumentAndChangeNothing) {
  auto channel = testing::NodeChannel(node_->port());
  grpc::GenericStub generic(channel);
  const uint64_t log_before = node_->store().next_log_pos();
  const uint64_t audit_before = node_->store().audit_head().seq;
  // CreateChildOrgRequest{parent_id: "430100", org: {name: "\xff\xfe"}}.
  v1::CreateChildOrgRequest req = testing::ChildOrgRequest(
      kCity, "430104", v1::DISTRICT_FEDERATION, "yuelu_admin", "430104");
  req.mutable_org()->set_name("PLACEHOLDER");
  std::string bytes = req.SerializeAsString();
  const size_t at = bytes.find("PLACEHOLDER");
  ASSERT_NE(at, std::string::npos);
  bytes.replace(at, 11, "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5");
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  ctx.AddMetadata("authorization", "Bearer " + tokens_[v1::DATA_ADMIN]);
  std::promise<grpc::Status> done;
  generic.UnaryCall(&ctx, "/unionsync.v1.AdminService/CreateChildOrg",
                    grpc::StubOptions(), &request, &response,
                    [&](grpc::Status s) { done.set_value(s); });
  const grpc::Status s = done.get_future().get();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << s.error_message();
  EXPECT_THAT(s.error_message(), ::testing::HasSubstr("UTF-8"));
  EXPECT_EQ(node_->store().next_log_pos(), log_before);
  EXPECT_EQ(node_->store().audit_head().seq, audit_before);
  EXPECT_FALSE(node_->store().GetOrg("430104").ok());
}

}  // namespace
}  // namespace unionsync
