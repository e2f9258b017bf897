// unionctl audit verify / audit search: parsing, help, and whole runs against
// a real node in-process (RocksDB in a temp dir), including a log tampered
// with behind the node's back.
#include "cli/audit_cmd.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "absl/strings/str_split.h"
#include "cli/parse.h"
#include "cli/unionctl.h"
#include "node/node_server.h"
#include "synth/synth.h"
#include "testing/audit_tamper.h"
#include "testing/node_fixture.h"
#include "testing/status_matchers.h"
#include "unionsync/v1/admin.pb.h"

namespace unionsync::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::unionsync::testing::StatusIs;
using Args = std::vector<std::string>;

using ::unionsync::testing::kCity;
using ::unionsync::testing::kNow;
using ::unionsync::testing::kStrong;

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
    dir_ = testing::MakeTempDir("unionsync_audit_cmd_test");
    ASSERT_NO_FATAL_FAILURE(StartNode());
    auto pw = testing::BootstrapCity(*node_);
    ASSERT_TRUE(pw.ok());
    city_token_ = testing::Activate(*node_, "admin", *pw);
    const std::string d1 = testing::CreateActiveChild(
        *node_, city_token_, kCity, "d1", v1::DISTRICT_FEDERATION, "d1admin",
        "430102");
    g1_token_ = testing::CreateActiveChild(
        *node_, d1, "d1", "g1", v1::INDEPENDENT_GRASSROOTS, "g1admin", "");
    UseSession("admin", kCity, city_token_);
  }

  void TearDown() override {
    node_.reset();
    std::filesystem::remove_all(dir_);
  }

  void StartNode() {
    ASSERT_NO_FATAL_FAILURE(
        testing::StartNode(testing::CityNodeOptions(dir_, &clock_), &node_));
  }

  void UseSession(const std::string& user, const std::string& org,
                  const std::string& token) {
    ASSERT_OK(
        testing::WriteSession(dir_ + "/home", node_->port(), user, org, token));
  }

  using Result = testing::UnionctlResult;
  Result Run(const Args& argv) {
    return testing::RunUnionctlAt(dir_ + "/home", argv);
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
  auto session = testing::Login(*node_, "admin", kStrong);
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
