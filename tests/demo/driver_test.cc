#include "demo/driver.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/crypto.h"
#include "node/node_server.h"
#include "testing/status_matchers.h"
#include "testing/store_checks.h"

namespace unionsync {
namespace {

using ::testing::HasSubstr;
using ::unionsync::testing::StatusIs;

constexpr char kCity[] = "430100";

// A real node serving on a free loopback port, with a freshly bootstrapped
// city federation.
class TestNode {
 public:
  static std::unique_ptr<TestNode> Start() {
    auto t = std::unique_ptr<TestNode>(new TestNode());
    char tmpl[] = "/tmp/unionsync-demo-test-XXXXXX";
    const char* dir = mkdtemp(tmpl);
    EXPECT_NE(dir, nullptr);
    if (dir == nullptr) return nullptr;
    t->dir_ = dir;
    NodeOptions options;
    options.node_id = kCity;
    options.data_dir = t->dir_ + "/store";
    options.listen = "127.0.0.1:0";
    options.admin.scrypt = ScryptParams::ForTests();
    auto node = NodeServer::Start(options);
    EXPECT_TRUE(node.ok()) << node.status();
    if (!node.ok()) return nullptr;
    t->node_ = *std::move(node);
    v1::Org city;
    city.set_id(kCity);
    city.set_name("长沙市总工会");
    city.set_kind(v1::CITY_FEDERATION);
    city.set_tier(1);
    auto password = t->node_->admin().Bootstrap(city, "admin");
    EXPECT_TRUE(password.ok()) << password.status();
    if (!password.ok()) return nullptr;
    t->password_ = *password;
    return t;
  }

  ~TestNode() {
    if (node_ != nullptr) node_->Shutdown();
    node_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  NodeServer& node() { return *node_; }
  const std::string& initial_password() const { return password_; }

  // The small tree of the brief: 2 districts x 1 township x 2 grassroots, 1
  // industry union x 2 grassroots, 5 members each.
  DemoOptions SmallTree() const {
    DemoOptions o;
    o.target = absl::StrCat("127.0.0.1:", node_->port());
    o.admin_user = "admin";
    o.admin_password = password_;
    o.districts = 2;
    o.townships = 1;
    o.grassroots = 2;
    o.members = 5;
    o.industries = 1;
    return o;
  }

 private:
  TestNode() = default;
  std::string dir_;
  std::unique_ptr<NodeServer> node_;
  std::string password_;
};

// The counters without the digest (which covers timestamps and random ids).
std::string Counts(v1::SubtreeCounters c) {
  c.clear_digest();
  return c.ShortDebugString();
}

TEST(DisplayWidthTest, CountsWideCharactersTwice) {
  EXPECT_EQ(DisplayWidth(""), 0);
  EXPECT_EQ(DisplayWidth("abc 12"), 6);
  EXPECT_EQ(DisplayWidth("芙蓉区总工会"), 12);
  EXPECT_EQ(DisplayWidth("合计（x）"), 9);  // Full-width parentheses.
  EXPECT_EQ(DisplayWidth("\xff"), 1);       // A stray byte.
}

TEST(RunDemoTest, SmallTreeMatchesTheStoreCountersAndTheArithmetic) {
  auto t = TestNode::Start();
  ASSERT_NE(t, nullptr);
  DemoOptions options = t->SmallTree();
  // 6 grassroots unions: 20% is one never activated and one incomplete.
  options.inactive_percent = 20;
  options.incomplete_percent = 20;
  std::vector<std::string> progress;
  options.progress = [&](absl::string_view line) {
    progress.emplace_back(line);
  };
  std::string changed_to;
  options.admin_password_changed = [&](const std::string& p) {
    changed_to = p;
  };
  ASSERT_OK_AND_ASSIGN(DemoReport report, RunDemo(options));

  const int64_t districts = 2, townships = 1, grassroots = 2, members = 5,
                industries = 1;
  const int64_t tier2 = districts + industries;
  const int64_t grassroots_orgs =
      districts * townships * grassroots + industries * grassroots;  // 6
  const int64_t orgs =
      1 + districts + districts * townships + grassroots_orgs + industries;
  ASSERT_EQ(orgs, 12);
  EXPECT_EQ(report.orgs_created, orgs - 1);
  EXPECT_EQ(report.grassroots_created, grassroots_orgs);
  EXPECT_EQ(report.orgs_never_activated, 1);
  EXPECT_EQ(report.orgs_left_incomplete, 1);
  EXPECT_EQ(report.members_added + report.duplicate_members,
            (grassroots_orgs - 1) * members);

  // The report is what the store says, and what the arithmetic says.
  ASSERT_OK_AND_ASSIGN(v1::SubtreeCounters stored,
                       t->node().store().GetCounters(kCity));
  EXPECT_EQ(report.city.counters.SerializeAsString(),
            stored.SerializeAsString());
  const v1::SubtreeCounters& c = report.city.counters;
  EXPECT_EQ(c.orgs(), orgs);
  EXPECT_EQ(c.grassroots_orgs(), grassroots_orgs);
  EXPECT_EQ(c.activated_orgs(), orgs - 1);
  EXPECT_EQ(c.profile_complete(), orgs - 2);
  EXPECT_EQ(c.members(), report.members_added);
  EXPECT_EQ(c.accounts(), orgs);
  EXPECT_LE(c.migrant_members(), c.members());
  EXPECT_OK(testing::CheckStoreInvariants(t->node().store(), kCity));

  // One row per tier-2 organisation, in creation order, each matching the
  // store; together with the city itself they add up to the totals.
  EXPECT_EQ(report.city.org_id, kCity);
  EXPECT_EQ(report.city.name, "长沙市总工会");
  EXPECT_EQ(report.city.direct_children, tier2);
  ASSERT_EQ(report.units.size(), static_cast<size_t>(tier2));
  EXPECT_EQ(report.units[0].name, "芙蓉区总工会");
  EXPECT_EQ(report.units[1].name, "天心区总工会");
  EXPECT_EQ(report.units[2].name, "长沙市教育工会");
  EXPECT_EQ(report.units[0].kind, v1::DISTRICT_FEDERATION);
  EXPECT_EQ(report.units[2].kind, v1::INDUSTRY_UNION);
  int64_t sum_orgs = 1, sum_members = 0;
  for (const SummaryRow& u : report.units) {
    ASSERT_OK_AND_ASSIGN(v1::SubtreeCounters s,
                         t->node().store().GetCounters(u.org_id));
    EXPECT_EQ(u.counters.SerializeAsString(), s.SerializeAsString()) << u.name;
    sum_orgs += u.counters.orgs();
    sum_members += u.counters.members();
  }
  EXPECT_EQ(sum_orgs, c.orgs());
  EXPECT_EQ(sum_members, c.members());
  EXPECT_EQ(report.units[0].counters.orgs(), 1 + townships * (1 + grassroots));
  EXPECT_EQ(report.units[2].counters.orgs(), 1 + grassroots);

  // Every RPC counted: the city (Login, WhoAmI, ChangePassword, GetOrg,
  // UpdateOrgProfile, Logout); 5 per federation (CreateChildOrg, Login,
  // ChangePassword, UpdateOrgProfile, Logout); 5 + members per activated
  // grassroots union, 1 for the one never activated; then Login,
  // GetSubtreeSummary x (1 + tier2), ListChildOrgs and Logout.
  const int64_t federations = districts + districts * townships + industries;
  EXPECT_EQ(report.rpcs, 6 + 5 * federations +
                             (grassroots_orgs - 1) * (5 + members) + 1 +
                             (4 + tier2));

  // The new password works and is no longer initial.
  EXPECT_FALSE(report.admin_new_password.empty());
  EXPECT_EQ(changed_to, report.admin_new_password);
  EXPECT_OK(CheckPasswordPolicy(report.admin_new_password));
  v1::LoginRequest login;
  login.set_username("admin");
  login.set_password(report.admin_new_password);
  ASSERT_OK_AND_ASSIGN(v1::LoginResponse session,
                       t->node().admin().Login(CallContext(), login));
  EXPECT_FALSE(session.must_change_password());

  EXPECT_EQ(progress.size(), static_cast<size_t>(tier2));
  EXPECT_THAT(progress[0], HasSubstr("[1/3] 芙蓉区总工会"));

  // The table: headers, one row per unit, the city's own row and the totals,
  // all aligned to the same display width.
  const std::string table = FormatReport(report);
  for (const char* h :
       {"单位", "组织数", "基层工会", "资料完整", "已激活", "会员数", "农民工",
        "芙蓉区总工会", "长沙市教育工会", "长沙市总工会（本级）",
        "合计（长沙市总工会）", "耗时", "RPC"}) {
    EXPECT_THAT(table, HasSubstr(h));
  }
  EXPECT_THAT(table, HasSubstr(absl::StrCat("RPC ", report.rpcs, " 次")));
  std::vector<std::string> lines = absl::StrSplit(table, '\n');
  ASSERT_GE(lines.size(), 9u);
  // lines[0] title, [1] header, [2] rule, [3..5] units, [6] city itself,
  // [7] rule, [8] totals.
  const int width = DisplayWidth(lines[1]);
  for (int i = 2; i <= 8; ++i) {
    EXPECT_EQ(DisplayWidth(lines[i]), width) << lines[i];
  }
  EXPECT_THAT(lines[8], HasSubstr(absl::StrCat(" ", c.members(), "  ")));
  EXPECT_THAT(lines[6], ::testing::StartsWith("长沙市总工会（本级）"));

  const std::string json = FormatReportJson(report);
  EXPECT_THAT(json, HasSubstr(absl::StrCat("\"orgs\": ", orgs, ",")));
  EXPECT_THAT(json, HasSubstr("\"name\": \"长沙市教育工会\""));
  EXPECT_THAT(json, HasSubstr(absl::StrCat("\"rpcs\": ", report.rpcs)));
  EXPECT_THAT(json, ::testing::Not(HasSubstr(report.admin_new_password)));
}

TEST(RunDemoTest, DefaultSharesOnTheSmallTree) {
  auto t = TestNode::Start();
  ASSERT_NE(t, nullptr);
  // 6 grassroots unions: 5% rounds to none never activated, 10% to one
  // incomplete.
  ASSERT_OK_AND_ASSIGN(DemoReport report, RunDemo(t->SmallTree()));
  EXPECT_EQ(report.orgs_never_activated, 0);
  EXPECT_EQ(report.orgs_left_incomplete, 1);
  EXPECT_EQ(report.city.counters.activated_orgs(), 12);
  EXPECT_EQ(report.city.counters.profile_complete(), 11);
  EXPECT_EQ(report.city.counters.members() + report.duplicate_members, 30);
}

TEST(RunDemoTest, SameSeedSameTree) {
  auto a = TestNode::Start();
  auto b = TestNode::Start();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  DemoOptions options_a = a->SmallTree();
  DemoOptions options_b = b->SmallTree();
  options_a.seed = options_b.seed = 7;
  ASSERT_OK_AND_ASSIGN(DemoReport ra, RunDemo(options_a));
  ASSERT_OK_AND_ASSIGN(DemoReport rb, RunDemo(options_b));
  EXPECT_EQ(Counts(ra.city.counters), Counts(rb.city.counters));
  ASSERT_EQ(ra.units.size(), rb.units.size());
  for (size_t i = 0; i < ra.units.size(); ++i) {
    EXPECT_EQ(Counts(ra.units[i].counters), Counts(rb.units[i].counters));
  }
  // Grassroots names come from the seed too.
  auto names = [](NodeServer& n) {
    std::string out;
    auto children = n.store().ListChildren("430100.3", "", 100);
    EXPECT_TRUE(children.ok());
    if (children.ok()) {
      for (const auto& o : *children) absl::StrAppend(&out, o.name(), "|");
    }
    return out;
  };
  EXPECT_EQ(names(a->node()), names(b->node()));
  EXPECT_NE(names(a->node()), "");
}

TEST(RunDemoTest, WrongPasswordNamesTheStep) {
  auto t = TestNode::Start();
  ASSERT_NE(t, nullptr);
  DemoOptions options = t->SmallTree();
  options.admin_password = "NotThePassword1";
  EXPECT_THAT(RunDemo(options),
              StatusIs(absl::StatusCode::kUnauthenticated,
                       HasSubstr("Login as 'admin' for the city")));
}

TEST(RunDemoTest, SecondRunOnTheSameNodeFailsClearly) {
  auto t = TestNode::Start();
  ASSERT_NE(t, nullptr);
  DemoOptions options = t->SmallTree();
  options.members = 0;
  ASSERT_OK_AND_ASSIGN(DemoReport first, RunDemo(options));
  options.admin_password = first.admin_new_password;
  EXPECT_THAT(
      RunDemo(options),
      StatusIs(absl::StatusCode::kAlreadyExists,
               ::testing::AllOf(HasSubstr("CreateChildOrg of 芙蓉区总工会"),
                                HasSubstr("430100 (长沙市总工会)"),
                                HasSubstr("freshly bootstrapped"))));
}

TEST(RunDemoTest, UnreachableNodeIsUnavailable) {
  DemoOptions options;
  options.target = "127.0.0.1:1";
  options.admin_password = "whatever-it-is";
  options.rpc_deadline = absl::Seconds(2);
  EXPECT_THAT(RunDemo(options),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("is unionsync-node serving on 127.0.0.1:1")));
}

TEST(RunDemoTest, RejectsBadOptions) {
  DemoOptions options;
  options.target = "127.0.0.1:1";
  options.admin_password = "x";
  options.districts = 10;
  EXPECT_THAT(RunDemo(options), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr("districts")));
  options.districts = 1;
  options.admin_password.clear();
  EXPECT_THAT(RunDemo(options), StatusIs(absl::StatusCode::kInvalidArgument));
  options.admin_password = "x";
  options.admin_new_password = "short";
  EXPECT_THAT(RunDemo(options), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace unionsync
