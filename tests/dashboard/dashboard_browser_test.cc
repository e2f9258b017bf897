// The dashboard of a real in-process hub (NodeServer with `hub` and
// `dashboard_listen`, RocksDB in a temp dir, a campaign of its own, districts,
// an industry union, grassroots unions and members created through the Admin
// API) in a real headless Chromium (Debian's chromium and chromedriver, driven
// over the W3C WebDriver protocol): log in through the form, wait for the
// page's script to fill in the figures, compare them with what
// Monitor::GetProgress returns, and save a screenshot to
// UNIONSYNC_TEST_ARTIFACTS_DIR/dashboard.png.
//
// Missing Chromium is a failure, not a skip: `scripts/install-deps --test`
// installs it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/clock.h"
#include "common/password.h"
#include "dashboard/webdriver.h"
#include "monitor/monitor.h"
#include "node/node_server.h"
#include "synth/synth.h"
#include "testing/status_matchers.h"
#include "testing/test_vault.h"

#ifndef UNIONSYNC_TEST_ARTIFACTS_DIR
#error "UNIONSYNC_TEST_ARTIFACTS_DIR must name the screenshot directory"
#endif

namespace unionsync {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::unionsync::testing::BrowserOptions;
using ::unionsync::testing::ChromeDriver;
using ::unionsync::testing::WebDriverSession;

constexpr char kCity[] = "430100";
constexpr char kStrong[] = "Str0ng-Passw0rd!";
// 2026-11-27 10:00 China time: "today" for the hub and its campaign.
constexpr int64_t kNow = 1795744800000;

// The figure as the page prints it, without digit grouping.
std::string Digits(std::string text) {
  return absl::StrReplaceAll(text, {{",", ""}, {" ", ""}});
}

// A small campaign around kNow, so targets and ratios are not trivial.
v1::CampaignConfig TestCampaign() {
  v1::CampaignConfig c;
  c.set_name("浏览器测试录入活动");
  c.set_start_date("2026-11-01");
  c.set_expected_grassroots(10);
  c.set_expected_members(60);
  v1::Milestone* m = c.add_milestones();
  m->set_date("2026-12-31");
  m->set_grassroots_fraction(0.8);
  m->set_members(40);
  m = c.add_milestones();
  m->set_date("2027-06-30");
  m->set_grassroots_fraction(1.0);
  m->set_members_fraction(1.0);
  struct Area {
    const char* scope;
    const char* label;
    int grassroots;
    int members;
  };
  for (const Area& a : {Area{"region:430102", "芙蓉区", 4, 24},
                        Area{"region:430103", "天心区", 3, 18},
                        Area{"system:education", "教育系统", 3, 18}}) {
    v1::AreaTarget* t = c.add_areas();
    t->set_scope(a.scope);
    t->set_label(a.label);
    t->set_expected_grassroots(a.grassroots);
    t->set_expected_members(a.members);
  }
  return c;
}

class DashboardBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::Status installed = testing::CheckBrowserInstalled();
    ASSERT_TRUE(installed.ok()) << installed.message();

    char tmpl[] = "/tmp/unionsync-browser-test-XXXXXX";
    const char* dir = mkdtemp(tmpl);
    ASSERT_NE(dir, nullptr);
    dir_ = dir;

    // The real hub, serving its dashboard on a free loopback port.
    NodeOptions o;
    o.node_id = kCity;
    o.vault = testing::TestVault(kCity);
    o.data_dir = dir_ + "/hub";
    o.listen = "127.0.0.1:0";
    o.insecure_plaintext = true;
    o.admin.scrypt = ScryptParams::ForTests();
    o.clock = &clock_;
    o.hub = true;
    o.campaign = TestCampaign();
    o.dashboard_listen = "127.0.0.1:0";
    auto node = NodeServer::Start(o);
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = *std::move(node);
    ASSERT_GT(node_->dashboard_port(), 0);
    base_url_ = absl::StrCat("http://127.0.0.1:", node_->dashboard_port());

    v1::Org city;
    city.set_id(kCity);
    city.set_name("长沙市总工会");
    city.set_kind(v1::CITY_FEDERATION);
    city.set_tier(1);
    auto initial = node_->admin().Bootstrap(city, "admin");
    ASSERT_TRUE(initial.ok()) << initial.status();
    // The bootstrap administrator must change the initial password before
    // the dashboard lets them in.
    admin_token_ = Activate("admin", *initial);
    ASSERT_FALSE(admin_token_.empty());
    username_ = "admin";
    password_ = kStrong;
    ASSERT_NO_FATAL_FAILURE(BuildTree());

    auto driver = ChromeDriver::Start(dir_);
    ASSERT_TRUE(driver.ok()) << driver.status();
    driver_ = *std::move(driver);
    BrowserOptions options;
    options.user_data_dir = dir_ + "/profile";
    auto session = WebDriverSession::Create(driver_->port(), options);
    ASSERT_TRUE(session.ok()) << session.status();
    browser_ = *std::move(session);
  }

  void TearDown() override {
    browser_.reset();
    driver_.reset();
    if (node_ != nullptr) node_->Shutdown();
    node_.reset();
    if (!dir_.empty() && !HasFailure()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    } else if (!dir_.empty()) {
      std::cerr << "browser test files kept in " << dir_ << "\n";
    }
  }

  // Logs in with an initial password, changes it to kStrong and returns the
  // session token (Admin API, in process).
  std::string Activate(const std::string& user, const std::string& initial) {
    v1::LoginRequest login;
    login.set_username(user);
    login.set_password(initial);
    auto session = node_->admin().Login(CallContext{"", "browser-test"}, login);
    EXPECT_TRUE(session.ok()) << session.status();
    if (!session.ok()) return "";
    EXPECT_TRUE(session->must_change_password());
    v1::ChangePasswordRequest change;
    change.set_old_password(initial);
    change.set_new_password(kStrong);
    auto changed = node_->admin().ChangePassword(
        CallContext{session->token(), "browser-test"}, change);
    EXPECT_TRUE(changed.ok()) << changed.status();
    return session->token();
  }

  // Registers `id` under `parent` (by the parent's administrator `token`)
  // and returns the new administrator's session, password changed.
  std::string Register(const std::string& token, const std::string& parent,
                       const std::string& id, const std::string& name,
                       v1::OrgKind kind, const std::string& region,
                       const std::string& system) {
    v1::CreateChildOrgRequest req;
    req.set_parent_id(parent);
    req.mutable_org()->set_id(id);
    req.mutable_org()->set_name(name);
    req.mutable_org()->set_kind(kind);
    req.mutable_org()->set_region(region);
    req.mutable_org()->set_system(system);
    std::string admin =
        absl::StrCat("u", absl::StrReplaceAll(id, {{".", "-"}}));
    req.set_admin_username(admin);
    auto created =
        node_->admin().CreateChildOrg(CallContext{token, "browser-test"}, req);
    EXPECT_TRUE(created.ok()) << id << ": " << created.status();
    if (!created.ok()) return "";
    return Activate(admin, created->initial_password());
  }

  // A grassroots union with `members` members entered by its own
  // administrator and, when `complete`, a complete profile.
  void Grassroots(const std::string& token, const std::string& parent,
                  const std::string& id, v1::OrgKind kind, int members,
                  bool complete) {
    v1::Org profile = gen_.GrassrootsProfile();
    std::string own = Register(token, parent, id, profile.name(), kind, "", "");
    ASSERT_FALSE(own.empty());
    if (complete) {
      v1::UpdateOrgProfileRequest req;
      req.set_org_id(id);
      *req.mutable_profile() = profile;
      auto updated = node_->admin().UpdateOrgProfile(
          CallContext{own, "browser-test"}, req);
      EXPECT_TRUE(updated.ok()) << id << ": " << updated.status();
    }
    for (int i = 0; i < members; ++i) {
      v1::AddMemberRequest req;
      *req.mutable_member() = gen_.Member(id);
      auto added =
          node_->admin().AddMember(CallContext{own, "browser-test"}, req);
      ASSERT_TRUE(added.ok()) << id << ": " << added.status();
    }
  }

  // city -> 芙蓉区 (2 grassroots, 5 + 3 members), 天心区 (1 grassroots, 4
  // members), 市教育工会 (system "education"; 1 grassroots, 2 members).
  void BuildTree() {
    std::string furong = Register(admin_token_, kCity, "430102", "芙蓉区总工会",
                                  v1::DISTRICT_FEDERATION, "430102", "");
    std::string tianxin =
        Register(admin_token_, kCity, "430103", "天心区总工会",
                 v1::DISTRICT_FEDERATION, "430103", "");
    std::string education =
        Register(admin_token_, kCity, "edu", "长沙市教育工会",
                 v1::INDUSTRY_UNION, "", "education");
    ASSERT_FALSE(furong.empty() || tianxin.empty() || education.empty());
    ASSERT_NO_FATAL_FAILURE(Grassroots(furong, "430102", "430102.1",
                                       v1::INDEPENDENT_GRASSROOTS, 5, true));
    ASSERT_NO_FATAL_FAILURE(Grassroots(furong, "430102", "430102.2",
                                       v1::JOINT_GRASSROOTS, 3, false));
    ASSERT_NO_FATAL_FAILURE(Grassroots(tianxin, "430103", "430103.1",
                                       v1::INDEPENDENT_GRASSROOTS, 4, true));
    ASSERT_NO_FATAL_FAILURE(Grassroots(education, "edu", "edu.1",
                                       v1::INDEPENDENT_GRASSROOTS, 2, false));
  }

  // What the page must show: the hub's Monitor, asked by the same
  // administrator.
  v1::GetProgressResponse Expected(const std::string& view) {
    v1::GetProgressRequest req;
    req.set_view(view);
    auto resp = node_->monitor().GetProgress(
        RequestContext{admin_token_, "browser-test"}, req);
    EXPECT_TRUE(resp.ok()) << view << ": " << resp.status();
    return resp.ok() ? *resp : v1::GetProgressResponse();
  }

  std::string TextOf(const std::string& css) {
    auto element = browser_->FindElement(css);
    EXPECT_TRUE(element.ok()) << element.status();
    if (!element.ok()) return "";
    auto text = browser_->Text(*element);
    EXPECT_TRUE(text.ok()) << text.status();
    return text.ok() ? *text : "";
  }

  // Runs `script` and returns its string result.
  std::string Eval(const std::string& script) {
    auto v = browser_->Execute(script);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? v->string_value() : "";
  }

  void LogIn() {
    ASSERT_OK(browser_->Navigate(base_url_ + "/"));
    // Without a session the page sends the browser to the form.
    auto url = browser_->CurrentUrl();
    ASSERT_TRUE(url.ok()) << url.status();
    ASSERT_THAT(*url, EndsWith("/login"));
    auto user = browser_->FindElement("#username");
    ASSERT_TRUE(user.ok()) << user.status();
    ASSERT_OK(browser_->SendKeys(*user, username_));
    auto password = browser_->FindElement("#password");
    ASSERT_TRUE(password.ok()) << password.status();
    ASSERT_OK(browser_->SendKeys(*password, password_));
    auto button = browser_->FindElement("#login");
    ASSERT_TRUE(button.ok()) << button.status();
    ASSERT_OK(browser_->Click(*button));
    ASSERT_OK(browser_->WaitFor(
        "return document.body && document.body.getAttribute('data-state') "
        "=== 'ready';",
        absl::Seconds(60)))
        << "banner: "
        << Eval(
               "return document.getElementById('error') ? "
               "document.getElementById('error').textContent : "
               "document.body.innerText;");
    url = browser_->CurrentUrl();
    ASSERT_TRUE(url.ok()) << url.status();
    EXPECT_EQ(*url, base_url_ + "/");
  }

  // Name, entered grassroots and the state cell of every row of `table`.
  std::vector<std::string> Rows(const std::string& table) {
    std::string joined = Eval(absl::StrCat(
        "return Array.from(document.querySelectorAll('#", table,
        " tbody tr')).map(function (tr) { var c = tr.cells; return c.length < "
        "13 ? c[0].textContent : [c[0].textContent, c[1].textContent, "
        "c[12].textContent].join('|'); }).join('\\n');"));
    if (joined.empty()) return {};
    return absl::StrSplit(joined, '\n');
  }

  FakeClock clock_{kNow};
  SynthGenerator gen_{20261127};
  std::string dir_;
  std::unique_ptr<NodeServer> node_;
  std::string admin_token_;
  std::string base_url_;
  std::string username_;
  std::string password_;
  std::unique_ptr<ChromeDriver> driver_;
  std::unique_ptr<WebDriverSession> browser_;
};

TEST_F(DashboardBrowserTest, ShowsTheHubsFiguresAfterLogin) {
  ASSERT_NO_FATAL_FAILURE(LogIn());

  // City totals, as GetProgress returns them.
  const v1::Progress total = Expected("city").total();
  EXPECT_EQ(Digits(TextOf("#city-grassroots")),
            absl::StrCat(total.grassroots()));
  EXPECT_EQ(Digits(TextOf("#city-members")), absl::StrCat(total.members()));
  EXPECT_EQ(Digits(TextOf("#city-profile-complete")),
            absl::StrCat(total.profile_complete()));
  EXPECT_EQ(Digits(TextOf("#city-activated")), absl::StrCat(total.activated()));
  EXPECT_EQ(Digits(TextOf("#city-new-grassroots-today")),
            absl::StrCat(total.new_grassroots_today()));
  EXPECT_EQ(Digits(TextOf("#city-new-members-today")),
            absl::StrCat(total.new_members_today()));
  EXPECT_EQ(Digits(TextOf("#city-new-grassroots-week")),
            absl::StrCat(total.new_grassroots_week()));
  EXPECT_EQ(Digits(TextOf("#city-new-members-week")),
            absl::StrCat(total.new_members_week()));
  if (total.expected_grassroots() > 0) {
    EXPECT_EQ(Digits(TextOf("#city-expected-grassroots")),
              absl::StrCat(total.expected_grassroots()));
  }
  EXPECT_EQ(TextOf("#city-status"), total.behind() ? "落后" : "正常");

  // The tables by region and by system: one row per Progress row, in order,
  // with the 落后 marker where the backend says so.
  for (const char* view : {"regions", "systems"}) {
    SCOPED_TRACE(view);
    const v1::GetProgressResponse expected = Expected(view);
    std::vector<std::string> rows = Rows(view);
    if (expected.rows_size() == 0) {
      ASSERT_EQ(rows.size(), 1u);
      EXPECT_EQ(rows[0], "暂无数据");
      continue;
    }
    ASSERT_EQ(rows.size(), static_cast<size_t>(expected.rows_size()));
    for (int i = 0; i < expected.rows_size(); ++i) {
      const v1::Progress& p = expected.rows(i);
      std::vector<std::string> cells = absl::StrSplit(rows[i], '|');
      ASSERT_EQ(cells.size(), 3u) << rows[i];
      EXPECT_EQ(cells[0], p.label().empty() ? p.scope() : p.label());
      EXPECT_EQ(Digits(cells[1]), absl::StrCat(p.grassroots()));
      EXPECT_EQ(cells[2], p.behind() ? "落后" : "正常");
    }
  }

  // The chart: actual and target lines in both SVGs.
  EXPECT_EQ(Eval("return String(document.querySelectorAll("
                 "'#chart-grassroots polyline').length);"),
            "2");
  EXPECT_EQ(Eval("return String(document.querySelectorAll("
                 "'#chart-members polyline').length);"),
            "2");
  // Warnings, conflicts and nodes are there (or their empty-state row).
  for (const char* table : {"warnings", "conflicts", "nodes"}) {
    EXPECT_NE(Eval(absl::StrCat("return String(document.querySelectorAll('#",
                                table, " tbody tr').length);")),
              "0")
        << table;
  }
  // What the hub was given is really there (not only equal to itself).
  EXPECT_EQ(total.grassroots(), 4);
  EXPECT_EQ(total.members(), 14);
  EXPECT_THAT(TextOf("#regions"), HasSubstr("芙蓉区"));
  EXPECT_THAT(TextOf("#systems"), HasSubstr("教育系统"));

  // The screenshot: a real, non-trivial PNG of the whole first screen.
  auto png = browser_->Screenshot();
  ASSERT_TRUE(png.ok()) << png.status();
  int width = 0, height = 0;
  ASSERT_OK(testing::CheckPng(*png, &width, &height));
  EXPECT_GE(width, 1000);
  EXPECT_GE(height, 600);
  // A blank or unstyled page compresses to a few kilobytes.
  EXPECT_GT(png->size(), 40000u);
  std::filesystem::create_directories(UNIONSYNC_TEST_ARTIFACTS_DIR);
  std::string path =
      std::string(UNIONSYNC_TEST_ARTIFACTS_DIR) + "/dashboard.png";
  std::ofstream(path, std::ios::binary) << *png;
  std::cout << "screenshot: " << path << " (" << width << "x" << height << ", "
            << png->size() << " bytes)\n";

  // Logging out through the page's button returns to the form.
  auto logout = browser_->FindElement("#logout");
  ASSERT_TRUE(logout.ok()) << logout.status();
  ASSERT_OK(browser_->Click(*logout));
  ASSERT_OK(
      browser_->WaitFor("return location.pathname === '/login' && "
                        "!!document.getElementById('login-form');",
                        absl::Seconds(20)));
}

TEST_F(DashboardBrowserTest, WrongPasswordStaysOnTheForm) {
  ASSERT_OK(browser_->Navigate(base_url_ + "/login"));
  auto user = browser_->FindElement("#username");
  ASSERT_TRUE(user.ok()) << user.status();
  ASSERT_OK(browser_->SendKeys(*user, username_));
  auto password = browser_->FindElement("#password");
  ASSERT_TRUE(password.ok());
  ASSERT_OK(browser_->SendKeys(*password, "not-the-password"));
  auto button = browser_->FindElement("#login");
  ASSERT_TRUE(button.ok());
  ASSERT_OK(browser_->Click(*button));
  ASSERT_OK(browser_->WaitFor(
      "return !!document.getElementById('login-error');", absl::Seconds(20)));
  EXPECT_THAT(TextOf("#login-error"), HasSubstr("用户名或密码错误"));
}

}  // namespace
}  // namespace unionsync
