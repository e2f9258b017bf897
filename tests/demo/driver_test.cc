#include "demo/driver.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/crypto.h"
#include "node/node_server.h"
#include "testing/shell.h"
#include "testing/status_matchers.h"
#include "testing/store_checks.h"
#include "testing/test_vault.h"

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
    options.vault = testing::TestVault(kCity);
    options.data_dir = t->dir_ + "/store";
    options.listen = "127.0.0.1:0";
    options.insecure_plaintext = true;
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

using ::unionsync::testing::ShellQuote;

// The multi-node topology of scripts/demo at small scale, in one process: the
// hub (430100), 芙蓉区's node (430102) with the hub as parent, and 文艺路街道's
// node (430102.1) with 430102 as parent; mutual TLS with a development CA made
// by certs/*.sh; real stores in a temp dir. The nodes start with empty stores.
class TestTree {
 public:
  static constexpr char kDistrict[] = "430102";
  static constexpr char kTownship[] = "430102.1";

  static std::unique_ptr<TestTree> Start() {
    auto t = std::unique_ptr<TestTree>(new TestTree());
    std::string tmpl = ::testing::TempDir() + "/unionsync-demo-tree.XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp";
      return nullptr;
    }
    t->dir_ = tmpl;
    const std::string certs = ShellQuote(t->dir_ + "/certs");
    const std::string bin = ShellQuote(UNIONSYNC_CERTS_DIR);
    std::string script = absl::StrCat(bin, "/make-ca.sh ", certs);
    for (const char* id : {kCity, kDistrict, kTownship}) {
      absl::StrAppend(&script, " && ", bin, "/make-node-cert.sh ", certs, " ",
                      id);
    }
    const std::string cmd =
        "bash -euo pipefail -c " + ShellQuote(script) + " 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) {
      ADD_FAILURE() << cmd;
      return nullptr;
    }

    auto hub = t->StartNode(kCity, "", "", /*children=*/true);
    if (hub == nullptr) return nullptr;
    t->hub_ = std::move(hub);
    v1::Org city;
    city.set_id(kCity);
    city.set_name("长沙市总工会");
    city.set_kind(v1::CITY_FEDERATION);
    city.set_tier(1);
    auto password = t->hub_->admin().Bootstrap(city, "admin");
    EXPECT_TRUE(password.ok()) << password.status();
    if (!password.ok()) return nullptr;
    t->password_ = *password;
    t->district_ = t->StartNode(kDistrict, kCity, t->Repl(*t->hub_), true);
    if (t->district_ == nullptr) return nullptr;
    t->township_ =
        t->StartNode(kTownship, kDistrict, t->Repl(*t->district_), false);
    if (t->township_ == nullptr) return nullptr;
    return t;
  }

  ~TestTree() {
    for (auto* node : {&township_, &district_, &hub_}) {
      if (*node != nullptr) (*node)->Shutdown();
      node->reset();
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  NodeServer& hub() { return *hub_; }
  NodeServer& district() { return *district_; }
  NodeServer& township() { return *township_; }

  // 2 districts (芙蓉区 runs a node, 天心区 is hosted on the hub) x 2 townships
  // (文艺路街道 runs a node, 朝阳街街道 is hosted on 芙蓉区's) x 2 grassroots,
  // one industry union x 2 grassroots, 3 members each.
  DemoOptions SmallTree() const {
    DemoOptions o;
    o.target = Admin(*hub_);
    o.admin_user = "admin";
    o.admin_password = password_;
    o.nodes[kDistrict] = Admin(*district_);
    o.nodes[kTownship] = Admin(*township_);
    o.districts = 2;
    o.townships = 2;
    o.grassroots = 2;
    o.members = 3;
    o.industries = 1;
    o.replication_deadline = absl::Seconds(60);
    return o;
  }

 private:
  TestTree() = default;
  static std::string Admin(NodeServer& n) {
    return absl::StrCat("127.0.0.1:", n.port());
  }
  static std::string Repl(NodeServer& n) {
    return absl::StrCat("127.0.0.1:", n.repl_port());
  }

  std::unique_ptr<NodeServer> StartNode(const std::string& id,
                                        const std::string& parent_id,
                                        const std::string& parent_address,
                                        bool children) {
    NodeOptions o;
    o.node_id = id;
    o.vault = testing::TestVault(id);
    o.data_dir = absl::StrCat(dir_, "/", id);
    o.listen = "127.0.0.1:0";
    o.insecure_plaintext = true;
    if (children) o.repl_listen = "127.0.0.1:0";
    o.tls.ca_pem_path = dir_ + "/certs/ca.pem";
    o.tls.cert_pem_path = absl::StrCat(dir_, "/certs/", id, ".pem");
    o.tls.key_pem_path = absl::StrCat(dir_, "/certs/", id, ".key");
    o.parent_id = parent_id;
    o.parent_address = parent_address;
    o.admin.scrypt = ScryptParams::ForTests();
    auto node = NodeServer::Start(o);
    EXPECT_TRUE(node.ok()) << id << ": " << node.status();
    if (!node.ok()) return nullptr;
    return *std::move(node);
  }

  std::string dir_;
  std::string password_;
  std::unique_ptr<NodeServer> hub_, district_, township_;
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

TEST(MultiNodeDemoTest, HubHoldsExactlyWhatTheLeavesEntered) {
  auto t = TestTree::Start();
  ASSERT_NE(t, nullptr);
  DemoOptions options = t->SmallTree();
  options.inactive_percent = 10;    // 10 grassroots unions: one never activated
  options.incomplete_percent = 10;  // and one incomplete.
  std::vector<std::string> progress;
  options.progress = [&](absl::string_view line) {
    progress.emplace_back(line);
  };
  ASSERT_OK_AND_ASSIGN(DemoReport report, RunDemo(options));

  // 1 city + 2 districts + 4 townships + 8 grassroots + 1 industry + 2.
  const int64_t orgs = 18;
  EXPECT_EQ(report.orgs_created, orgs - 1);
  EXPECT_EQ(report.grassroots_created, 10);
  EXPECT_EQ(report.orgs_never_activated, 1);
  EXPECT_EQ(report.orgs_left_incomplete, 1);
  const v1::SubtreeCounters& c = report.city.counters;
  EXPECT_EQ(c.orgs(), orgs);
  EXPECT_EQ(c.grassroots_orgs(), 10);
  EXPECT_EQ(c.activated_orgs(), orgs - 1);
  EXPECT_EQ(c.profile_complete(), orgs - 2);
  EXPECT_EQ(c.accounts(), orgs);
  EXPECT_EQ(c.members(), report.members_added);
  EXPECT_EQ(report.members_added + report.duplicate_members, 9 * 3);

  // Where each organisation lives, as the hub records it.
  NodeServer& hub = t->hub();
  auto host = [&](const std::string& id) {
    auto org = hub.store().GetOrg(id);
    return org.ok() ? org->host_node() : org.status().ToString();
  };
  EXPECT_EQ(host("430102"), "430102");
  EXPECT_EQ(host("430102.1"), "430102.1");
  EXPECT_EQ(host("430102.2"), "430102");
  EXPECT_EQ(host("430103"), kCity);
  EXPECT_EQ(host("430103.1"), kCity);

  // The hub holds exactly what the leaves entered: every grassroots union of
  // the tier-3 node, its members and accounts, byte for byte, and the same
  // subtree counters and digests at every tier.
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Org> leaves,
                       t->township().store().ListChildren("430102.1", "", 100));
  ASSERT_EQ(leaves.size(), 2u);
  int64_t leaf_members = 0;
  for (const v1::Org& leaf : leaves) {
    EXPECT_EQ(leaf.host_node(), "430102.1");
    ASSERT_OK_AND_ASSIGN(v1::Org at_hub, hub.store().GetOrg(leaf.id()));
    EXPECT_EQ(at_hub.SerializeAsString(), leaf.SerializeAsString());
    ASSERT_OK_AND_ASSIGN(std::vector<v1::Member> members,
                         t->township().store().ListMembers(leaf.id(), "", 100));
    for (const v1::Member& m : members) {
      ASSERT_OK_AND_ASSIGN(v1::Member copy, hub.store().GetMember(m.id()));
      EXPECT_EQ(copy.SerializeAsString(), m.SerializeAsString());
      ++leaf_members;
    }
    ASSERT_OK_AND_ASSIGN(std::vector<v1::Account> accounts,
                         t->township().store().ListAccounts(leaf.id()));
    for (const v1::Account& a : accounts) {
      ASSERT_OK_AND_ASSIGN(v1::Account copy,
                           hub.store().GetAccount(a.username()));
      EXPECT_EQ(copy.SerializeAsString(), a.SerializeAsString());
    }
  }
  EXPECT_GT(leaf_members, 0);
  auto counters = [](NodeServer& n, const std::string& id) {
    auto c = n.store().GetCounters(id);
    return c.ok() ? c->SerializeAsString() : c.status().ToString();
  };
  EXPECT_EQ(counters(hub, "430102.1"), counters(t->township(), "430102.1"));
  EXPECT_EQ(counters(t->district(), "430102.1"),
            counters(t->township(), "430102.1"));
  EXPECT_EQ(counters(hub, "430102"), counters(t->district(), "430102"));
  // Down the tree only what concerns each node: 天心区 never reaches 芙蓉区.
  EXPECT_TRUE(
      absl::IsNotFound(t->district().store().GetOrg("430103").status()));
  EXPECT_OK(testing::CheckStoreInvariants(hub.store(), kCity, true));
  EXPECT_OK(
      testing::CheckStoreInvariants(t->district().store(), "430102", true));
  EXPECT_OK(
      testing::CheckStoreInvariants(t->township().store(), "430102.1", true));

  // The report: the hub, then the nodes by tier, each reading the same as its
  // parent node, with each node's replication links.
  ASSERT_EQ(report.nodes.size(), 3u);
  EXPECT_EQ(report.nodes[0].node_id, kCity);
  EXPECT_EQ(report.nodes[0].counters.SerializeAsString(),
            c.SerializeAsString());
  EXPECT_EQ(report.nodes[1].node_id, "430102");
  EXPECT_EQ(report.nodes[1].name, "芙蓉区总工会");
  EXPECT_EQ(report.nodes[1].parent_node, kCity);
  EXPECT_EQ(report.nodes[2].node_id, "430102.1");
  EXPECT_EQ(report.nodes[2].name, "文艺路街道工会联合会");
  EXPECT_EQ(report.nodes[2].parent_node, "430102");
  for (size_t i = 1; i < report.nodes.size(); ++i) {
    const NodeRow& n = report.nodes[i];
    EXPECT_EQ(n.counters.SerializeAsString(), n.at_parent.SerializeAsString())
        << n.node_id;
    EXPECT_EQ(n.counters.SerializeAsString(), counters(hub, n.node_id))
        << n.node_id;
  }
  auto peers = [](const NodeRow& n) {
    std::vector<std::string> out;
    for (const v1::LinkStatus& l : n.replication.links()) {
      out.push_back(absl::StrCat(l.direction(), ":", l.peer()));
    }
    return out;
  };
  EXPECT_THAT(peers(report.nodes[0]), ::testing::ElementsAre("child:430102"));
  EXPECT_THAT(peers(report.nodes[1]), ::testing::UnorderedElementsAre(
                                          "child:430102.1", "parent:430100"));
  EXPECT_THAT(peers(report.nodes[2]), ::testing::ElementsAre("parent:430102"));
  EXPECT_THAT(progress, ::testing::Contains(HasSubstr("节点 430102.1")));

  const std::string nodes = FormatNodes(report);
  for (const char* h :
       {"节点", "组织数", "基层工会", "会员数", "摘要",
        "430102.1 文艺路街道工会联合会", "430100 所见相同", "430102 所见相同",
        "对端", "最近确认", "上级", "下级"}) {
    EXPECT_THAT(nodes, HasSubstr(h));
  }
  EXPECT_THAT(nodes, ::testing::Not(HasSubstr("所见不同")));
  // The units: districts by region code, then the industry union.
  ASSERT_EQ(report.units.size(), 3u);
  EXPECT_EQ(report.units[0].org_id, "430102");
  EXPECT_EQ(report.units[1].org_id, "430103");
  EXPECT_EQ(report.units[2].name, "长沙市教育工会");
  EXPECT_THAT(FormatReportJson(report), HasSubstr("\"node_id\": \"430102.1\""));
  EXPECT_EQ(FormatNodes(DemoReport()), "");
}

TEST(MultiNodeDemoTest, NodeThatNeverGetsItsRegistrationTimesOut) {
  auto t = TestTree::Start();
  ASSERT_NE(t, nullptr);
  DemoOptions options = t->SmallTree();
  options.members = 0;
  // 天心区 is said to run a node, but nothing serves there.
  options.nodes["430103"] = "127.0.0.1:1";
  options.replication_deadline = absl::Seconds(2);
  options.rpc_deadline = absl::Seconds(1);
  EXPECT_THAT(RunDemo(options),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       ::testing::AllOf(HasSubstr("node 430103 at 127.0.0.1:1"),
                                        HasSubstr("--parent_address"))));
}

TEST(MultiNodeDemoTest, RejectsNodesOutsideTheTree) {
  DemoOptions options;
  options.target = "127.0.0.1:1";
  options.admin_password = "x";
  options.districts = 2;
  options.townships = 1;
  options.nodes["430104"] = "127.0.0.1:2";  // The third district.
  EXPECT_THAT(RunDemo(options), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr("nodes: '430104'")));
  options.nodes = {{"430102.2", "127.0.0.1:2"}};  // Only one township.
  EXPECT_THAT(RunDemo(options), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr("nodes: '430102.2'")));
  options.nodes = {{"430102.1", ""}};
  EXPECT_THAT(RunDemo(options), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr("no Admin API address")));
}

}  // namespace
}  // namespace unionsync
