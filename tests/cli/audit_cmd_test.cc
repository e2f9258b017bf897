// unionctl audit verify / audit search: parsing, help, and whole runs against
// a real node in-process (RocksDB in a temp dir), including a log tampered
// with behind the node's back.
#include "cli/audit_cmd.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/parse.h"
#include "cli/session.h"
#include "cli/unionctl.h"
#include "common/password.h"
#include "node/node_server.h"
#include "synth/synth.h"
#include "testing/audit_tamper.h"
#include "testing/status_matchers.h"
#include "testing/test_vault.h"
#include "unionsync/v1/admin.pb.h"

namespace unionsync::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::unionsync::testing::StatusIs;
using Args = std::vector<std::string>;

constexpr char kCity[] = "430100";
constexpr char kStrong[] = "Str0ng-Passw0rd!";
// 2026-11-27 10:00 China time.
constexpr int64_t kNow = 1795744800000;

TEST(AuditParseTest, Times) {
  ASSERT_OK_AND_ASSIGN(int64_t t, ParseAuditTime("2026-11-27", false));
  EXPECT_EQ(t, kNow - 10 * 3600 * 1000);
  ASSERT_OK_AND_ASSIGN(t, ParseAuditTime("2026-11-27", true));
  EXPECT_EQ(t, kNow + 14 * 3600 * 1000);
  ASSERT_OK_AND_ASSIGN(t, ParseAuditTime("2026-11-27T10:00:00+08:00", false));
  EXPECT_EQ(t, kNow);
  ASSERT_OK_AND_ASSIGN(t, ParseAuditTime("2026-11-27T02:00:00Z", true));
  EXPECT_EQ(t, kNow);
  EXPECT_THAT(
      ParseAuditTime("27.11.2026", false),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("RFC 3339")));
  EXPECT_FALSE(ParseAuditTime("2026-02-30", false).ok());
}

TEST(AuditParseTest, Search) {
  v1::SearchAuditRequest req;
  ASSERT_OK_AND_ASSIGN(
      AuditSearchArgs a,
      ParseAuditSearch(
          {"--actor", "g1admin", "--org", "g1", "--since", "2026-11-27",
           "--until", "2026-11-27", "--action", "GetMember", "--limit", "5"},
          &req));
  EXPECT_EQ(req.actor(), "g1admin");
  EXPECT_EQ(req.org_id(), "g1");
  EXPECT_EQ(req.action(), "GetMember");
  EXPECT_EQ(req.from_ms(), kNow - 10 * 3600 * 1000);
  EXPECT_EQ(req.to_ms(), kNow + 14 * 3600 * 1000);
  EXPECT_EQ(a.limit, 5);
  ASSERT_OK_AND_ASSIGN(a, ParseAuditSearch({}, &req));
  EXPECT_EQ(a.limit, 100);
  EXPECT_EQ(req.actor(), "");
  EXPECT_THAT(ParseAuditSearch(
                  {"--since", "2026-11-28", "--until", "2026-11-27"}, &req),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--until must be after --since")));
  EXPECT_THAT(ParseAuditSearch({"--limit", "0"}, &req),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseAuditSearch({"--actor="}, &req),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      ParseAuditSearch({"--person", "x"}, &req),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--person")));
}

TEST(AuditParseTest, HelpAndVerbTable) {
  EXPECT_THAT(HelpText("audit"), HasSubstr("audit verify"));
  EXPECT_THAT(HelpText("audit"), HasSubstr("audit search"));
  EXPECT_THAT(HelpText("audit search"), HasSubstr("--since TIME"));
  EXPECT_THAT(HelpText("audit verify"), HasSubstr("first broken entry"));
  EXPECT_THAT(HelpText(""), HasSubstr("audit search"));
  ASSERT_OK_AND_ASSIGN(CommandLine cl,
                       ParseCommandLine({"audit", "verify"}, {"", "", "/h"}));
  EXPECT_EQ(cl.verb, "audit verify");
}

class AuditRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/unionsync_audit_cmd_test_XXXXXX";
    dir_ = mkdtemp(tmpl);
    ASSERT_NO_FATAL_FAILURE(StartNode());
    v1::Org city;
    city.set_id(kCity);
    city.set_name("长沙市总工会");
    city.set_kind(v1::CITY_FEDERATION);
    city.set_tier(1);
    auto pw = node_->admin().Bootstrap(city, "admin");
    ASSERT_TRUE(pw.ok());
    city_token_ = Activate("admin", *pw);
    const std::string d1 = Child(city_token_, kCity, "d1",
                                 v1::DISTRICT_FEDERATION, "d1admin", "430102");
    g1_token_ =
        Child(d1, "d1", "g1", v1::INDEPENDENT_GRASSROOTS, "g1admin", "");
    UseSession("admin", kCity, city_token_);
  }

  void TearDown() override {
    node_.reset();
    std::filesystem::remove_all(dir_);
  }

  void StartNode() {
    NodeOptions o;
    o.node_id = kCity;
    o.vault = testing::TestVault(kCity);
    o.data_dir = dir_ + "/db";
    o.listen = "127.0.0.1:0";
    o.admin.scrypt = ScryptParams::ForTests();
    o.clock = &clock_;
    auto node = NodeServer::Start(o);
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = *std::move(node);
  }

  void UseSession(const std::string& user, const std::string& org,
                  const std::string& token) {
    Session s;
    s.server = absl::StrCat("127.0.0.1:", node_->port());
    s.token = token;
    s.username = user;
    s.org_id = org;
    ASSERT_OK(WriteSessionFile(dir_ + "/home/.unionsync/session", s));
  }

  std::string Activate(const std::string& user, const std::string& initial) {
    v1::LoginRequest login;
    login.set_username(user);
    login.set_password(initial);
    auto session = node_->admin().Login(CallContext{}, login);
    EXPECT_TRUE(session.ok());
    v1::ChangePasswordRequest req;
    req.set_old_password(initial);
    req.set_new_password(kStrong);
    EXPECT_TRUE(node_->admin()
                    .ChangePassword(CallContext{session->token(), ""}, req)
                    .ok());
    return session->token();
  }

  std::string Child(const std::string& token, const std::string& parent,
                    const std::string& id, v1::OrgKind kind,
                    const std::string& admin, const std::string& region) {
    v1::CreateChildOrgRequest req;
    req.set_parent_id(parent);
    req.mutable_org()->set_id(id);
    req.mutable_org()->set_name(absl::StrCat("测试工会", id));
    req.mutable_org()->set_kind(kind);
    req.mutable_org()->set_region(region);
    req.set_admin_username(admin);
    auto resp = node_->admin().CreateChildOrg(CallContext{token, ""}, req);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return Activate(admin, resp->initial_password());
  }

  struct Result {
    int code;
    std::string out;
    std::string err;
  };
  Result Run(const Args& argv) {
    std::istringstream in;
    std::ostringstream out, err;
    Io io{&in, &out, &err, false, nullptr, nullptr};
    Environment env{"", "", dir_ + "/home"};
    int code = RunUnionctl(argv, env, io);
    return {code, out.str(), err.str()};
  }

  std::string dir_;
  FakeClock clock_{kNow};
  std::unique_ptr<NodeServer> node_;
  std::string city_token_, g1_token_;
};

TEST_F(AuditRunTest, VerifyIntactThenPointsAtTheTamperedEntry) {
  Result r = Run({"audit", "verify"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("audit log intact: "));
  r = Run({"--json", "audit", "verify"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"intact\":true"));

  // Entry 4 changed in RocksDB while the node is down.
  node_.reset();
  ASSERT_OK(testing::TamperAuditDetail(dir_ + "/db", nullptr, 4, "edited"));
  ASSERT_NO_FATAL_FAILURE(StartNode());
  v1::LoginRequest login;
  login.set_username("admin");
  login.set_password(kStrong);
  auto session = node_->admin().Login(CallContext{}, login);
  ASSERT_OK(session);
  UseSession("admin", kCity, session->token());
  r = Run({"audit", "verify"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.out, HasSubstr("audit log BROKEN at entry 4: entry 4 was "
                               "changed after it was written"));
  EXPECT_THAT(r.out, HasSubstr("3 entries before it are intact"));
  EXPECT_THAT(r.err, HasSubstr("broken at entry 4"));
  r = Run({"--json", "audit", "verify"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.out, HasSubstr("\"first_broken_seq\":\"4\""));
  EXPECT_THAT(r.out, HasSubstr("\"intact\":false"));
}

TEST_F(AuditRunTest, SearchByPersonOrganisationAndTime) {
  SynthGenerator gen(3);
  for (int i = 0; i < 3; ++i) {
    clock_.SetMs(kNow + (i + 1) * 300'000);  // 10:05, 10:10, 10:15.
    v1::AddMemberRequest add;
    *add.mutable_member() = gen.Member("");
    ASSERT_OK(node_->admin().AddMember(CallContext{g1_token_, ""}, add));
  }
  Result r = Run({"audit", "search", "--actor", "g1admin"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  // Login, ChangePassword and three AddMember: a header and five rows.
  std::vector<std::string> lines =
      absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 6u) << r.out;
  EXPECT_THAT(lines[0], HasSubstr("SEQ"));
  EXPECT_THAT(lines[5], HasSubstr("AddMember"));
  EXPECT_THAT(lines[5], HasSubstr("2026-11-27 10:15:00"));

  // Pages are followed up to --limit.
  r = Run({"audit", "search", "--actor", "g1admin", "--limit", "2"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_THAT(lines[3], HasSubstr("more entries may match"));

  r = Run({"audit", "search", "--org", "g1", "--action", "AddMember", "--since",
           "2026-11-27T10:07:30+08:00", "--until",
           "2026-11-27T10:17:00+08:00"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, Not(HasSubstr("10:05:00")));
  EXPECT_THAT(r.out, HasSubstr("10:10:00"));
  EXPECT_THAT(r.out, HasSubstr("10:15:00"));

  r = Run({"--json", "audit", "search", "--action", "Nothing"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"entries\":[]"));
  r = Run({"audit", "search", "--action", "Nothing"});
  EXPECT_THAT(r.out, HasSubstr("no audit entries match"));

  // g1's administrator sees only entries about g1; asking about d1 is
  // refused (and audited).
  UseSession("g1admin", "g1", g1_token_);
  r = Run({"audit", "search", "--org", "d1"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr("PERMISSION_DENIED"));
  r = Run({"audit", "verify"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr("PERMISSION_DENIED"));
  r = Run({"audit", "search", "--since", "2026-11-27"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  // d1's registration of g1 is about g1; d1's and the city's own logins are
  // not.
  EXPECT_THAT(r.out, HasSubstr("org/g1"));
  EXPECT_THAT(r.out, Not(HasSubstr("account/d1admin")));
  EXPECT_THAT(r.out, Not(HasSubstr("account/admin")));
  // Usage errors exit 2 before any call.
  r = Run({"audit", "search", "--since", "yesterday"});
  EXPECT_EQ(r.code, kExitUsage);
}

}  // namespace
}  // namespace unionsync::cli
