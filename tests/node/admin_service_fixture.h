// The fixture of the Admin API's service tests: a real node (RocksDB in a
// temp dir) serving gRPC on 127.0.0.1:0, called through the generated stub,
// with the city bootstrapped and a small tree on demand.
#ifndef UNIONSYNC_TESTS_NODE_ADMIN_SERVICE_FIXTURE_H_
#define UNIONSYNC_TESTS_NODE_ADMIN_SERVICE_FIXTURE_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "node/node_server.h"
#include "synth/synth.h"
#include "testing/node_fixture.h"
#include "testing/status_matchers.h"
#include "testing/store_checks.h"
#include "unionsync/v1/admin.grpc.pb.h"

namespace unionsync::testing {

class AdminServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("unionsync_admin_test");
    ASSERT_NO_FATAL_FAILURE(StartNode(CityNodeOptions(dir_, &clock_), &node_));
    channel_ = NodeChannel(node_->port());
    stub_ = v1::AdminService::NewStub(channel_);
    auto pw = BootstrapCity(*node_);
    ASSERT_TRUE(pw.ok()) << pw.status();
    city_ = Activate("admin", *pw);
  }

  void TearDown() override {
    if (node_ != nullptr) {
      EXPECT_OK(CheckStoreInvariants(node_->store(), kCity));
    }
    node_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Calls one unary RPC with `token` as the bearer.
  template <typename Req, typename Resp>
  Rpc Call(grpc::Status (v1::AdminService::Stub::*method)(grpc::ClientContext*,
                                                          const Req&, Resp*),
           const std::string& token, const Req& req, Resp* resp = nullptr) {
    return Rpc{CallRpc(stub_.get(), method, token, req, resp,
                       std::chrono::seconds(10))};
  }

  Rpc Login(const std::string& user, const std::string& password,
            v1::LoginResponse* resp = nullptr) {
    v1::LoginRequest req;
    req.set_username(user);
    req.set_password(password);
    return Call(&v1::AdminService::Stub::Login, "", req, resp);
  }

  // Logs in with an initial password, changes it to kStrong, returns the
  // session token.
  std::string Activate(const std::string& user, const std::string& initial) {
    v1::LoginResponse login;
    std::string token = ActivateOverGrpc(stub_.get(), user, initial,
                                         std::chrono::seconds(10), &login);
    EXPECT_TRUE(login.must_change_password());
    return token;
  }

  // Registers a child of the caller's organisation and returns its response.
  Rpc CreateChild(const std::string& token, const std::string& parent,
                  const std::string& id, v1::OrgKind kind,
                  const std::string& admin,
                  v1::CreateChildOrgResponse* resp = nullptr,
                  const std::string& region = "") {
    return Call(&v1::AdminService::Stub::CreateChildOrg, token,
                ChildOrgRequest(parent, id, kind, admin, region), resp);
  }

  // city -> d1 (district 430102) -> g1, g2 (grassroots, tier 3). Tokens of each
  // admin.
  void BuildTree() {
    v1::CreateChildOrgResponse d1;
    ASSERT_TRUE(CreateChild(city_, kCity, "d1", v1::DISTRICT_FEDERATION,
                            "d1admin", &d1, "430102")
                    .status.ok());
    d1_ = Activate("d1admin", d1.initial_password());
    v1::CreateChildOrgResponse g;
    ASSERT_TRUE(
        CreateChild(d1_, "d1", "g1", v1::INDEPENDENT_GRASSROOTS, "g1admin", &g)
            .status.ok());
    g1_ = Activate("g1admin", g.initial_password());
    ASSERT_TRUE(
        CreateChild(d1_, "d1", "g2", v1::JOINT_GRASSROOTS, "g2admin", &g)
            .status.ok());
    g2_ = Activate("g2admin", g.initial_password());
  }

  v1::Member NewMember() {
    v1::Member m = gen_.Member("");
    return m;
  }

  Rpc AddMember(const std::string& token, const v1::Member& m,
                v1::AddMemberResponse* resp) {
    v1::AddMemberRequest req;
    *req.mutable_member() = m;
    return Call(&v1::AdminService::Stub::AddMember, token, req, resp);
  }

  v1::SubtreeCounters Counters(const std::string& org) {
    auto c = node_->store().GetCounters(org);
    EXPECT_TRUE(c.ok());
    return c.ok() ? *c : v1::SubtreeCounters();
  }

  // The newest audit entry.
  v1::AuditEntry LastAudit() { return LastAuditEntry(node_->store()); }

  std::string dir_;
  FakeClock clock_{kNow};
  std::unique_ptr<NodeServer> node_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::AdminService::Stub> stub_;
  SynthGenerator gen_{42};
  std::string city_, d1_, g1_, g2_;
};

}  // namespace unionsync::testing

#endif  // UNIONSYNC_TESTS_NODE_ADMIN_SERVICE_FIXTURE_H_
