// The workbench (工作台) in a real headless Chromium against a real node: a
// grassroots union's data administrator logs in with the initial password
// the parent handed out, is made to change it (a weak one is refused as they
// type), completes the union's profile, enters a member (the ID number checked
// as typed), sees it masked in the list, and reveals one member's full ID
// number with a reason. Screenshots of each page go to test-artifacts/ (and,
// refreshed by hand, docs/screenshots/).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/password.h"
#include "dashboard/webdriver.h"
#include "node/node_server.h"
#include "testing/node_fixture.h"
#include "testing/status_matchers.h"

namespace unionsync {
namespace {

using ::testing::HasSubstr;
using ::unionsync::testing::BrowserOptions;
using ::unionsync::testing::ChromeDriver;
using ::unionsync::testing::StatusIs;
using ::unionsync::testing::WebDriverSession;

class WorkbenchBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::Status installed = testing::CheckBrowserInstalled();
    ASSERT_TRUE(installed.ok()) << installed.message();
    dir_ = testing::MakeTempDir("unionsync-workbench-test");
    NodeOptions o = testing::CityNodeOptions(dir_);
    o.dashboard_listen = "127.0.0.1:0";
    ASSERT_NO_FATAL_FAILURE(testing::StartNode(o, &node_));
    base_url_ = absl::StrCat("http://127.0.0.1:", node_->dashboard_port());
    auto pw = testing::BootstrapCity(*node_);
    ASSERT_OK(pw.status());
    const std::string city = testing::Activate(*node_, "admin", *pw);
    // The city registers a grassroots union directly under it; the handover
    // slip carries this initial password.
    v1::CreateChildOrgRequest req = testing::ChildOrgRequest(
        testing::kCity, "430100.g1", v1::CITY_DIRECT_GRASSROOTS, "g1admin", "");
    req.mutable_org()->set_name("长沙市测试机械厂工会");
    auto made = node_->admin().CreateChildOrg(CallContext{city, ""}, req);
    ASSERT_OK(made.status());
    initial_ = made->initial_password();

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
    node_.reset();
    if (!HasFailure()) {
      std::filesystem::remove_all(dir_);
    } else {
      std::cerr << "workbench test files kept in " << dir_ << "\n";
    }
  }

  void Type(const std::string& css, const std::string& text) {
    auto e = browser_->FindElement(css);
    ASSERT_TRUE(e.ok()) << css << ": " << e.status();
    ASSERT_OK(browser_->SendKeys(*e, text));
  }
  void Click(const std::string& css) {
    auto e = browser_->FindElement(css);
    ASSERT_TRUE(e.ok()) << css << ": " << e.status();
    ASSERT_OK(browser_->Click(*e));
  }
  std::string Eval(const std::string& script) {
    auto v = browser_->Execute(script);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? v->string_value() : "";
  }
  std::string TextOf(const std::string& id) {
    return Eval(absl::StrCat("return document.getElementById('", id,
                             "').textContent;"));
  }
  void WaitFor(const std::string& condition, const std::string& what) {
    ASSERT_OK(browser_->WaitFor(absl::StrCat("return ", condition, ";"),
                                absl::Seconds(30)))
        << what << "; page says: "
        << Eval("return ['login','password','app'].map(function (p) { return "
                "p + '=' + !document.getElementById('page-' + p).hidden; })"
                ".join(' ') + ' | alert: ' + "
                "document.getElementById('alert').textContent + ' | member: ' + "
                "document.getElementById('member-error').textContent + ' | ' + "
                "document.body.innerText;");
  }
  void Screenshot(const std::string& name) {
    auto png = browser_->Screenshot();
    ASSERT_TRUE(png.ok()) << png.status();
    std::filesystem::create_directories(UNIONSYNC_TEST_ARTIFACTS_DIR);
    std::ofstream(absl::StrCat(UNIONSYNC_TEST_ARTIFACTS_DIR, "/", name),
                  std::ios::binary)
        << *png;
  }

  std::string dir_;
  std::unique_ptr<NodeServer> node_;
  std::string base_url_;
  std::string initial_;
  std::unique_ptr<ChromeDriver> driver_;
  std::unique_ptr<WebDriverSession> browser_;
};

TEST_F(WorkbenchBrowserTest, AGrassrootsClerkStartsWorkInTheBrowser) {
  ASSERT_OK(browser_->Navigate(base_url_ + "/wb"));
  ASSERT_NO_FATAL_FAILURE(
      WaitFor("!document.getElementById('page-login').hidden", "login page"));
  ASSERT_NO_FATAL_FAILURE(Screenshot("workbench-login.png"));
  // A wrong password first: the form says so and stays.
  ASSERT_NO_FATAL_FAILURE(Type("#login-user", "g1admin"));
  ASSERT_NO_FATAL_FAILURE(Type("#login-password", "Wrong-Passw0rd!"));
  ASSERT_NO_FATAL_FAILURE(Click("#login-submit"));
  ASSERT_NO_FATAL_FAILURE(WaitFor(
      "document.getElementById('login-error').textContent.length > 0",
      "login error"));
  EXPECT_THAT(TextOf("login-error"), HasSubstr("账号或密码不正确"));
  Eval("document.getElementById('login-password').value = ''; return '';");
  ASSERT_NO_FATAL_FAILURE(Type("#login-password", initial_));
  ASSERT_NO_FATAL_FAILURE(Click("#login-submit"));

  // R3: the initial password must be changed before anything else.
  ASSERT_NO_FATAL_FAILURE(WaitFor(
      "!document.getElementById('page-password').hidden", "password page"));
  EXPECT_TRUE(Eval("return String(document.getElementById('page-app')"
                   ".hidden);") == "true");
  // The session cookie is not readable by the page; the CSRF one is.
  EXPECT_THAT(Eval("return document.cookie;"), ::testing::Not(HasSubstr(
                                                   "us_session")));
  EXPECT_THAT(Eval("return document.cookie;"), HasSubstr("us_csrf="));
  ASSERT_NO_FATAL_FAILURE(Type("#old-password", initial_));
  ASSERT_NO_FATAL_FAILURE(Type("#new-password", "Password123"));
  ASSERT_NO_FATAL_FAILURE(WaitFor(
      "document.getElementById('policy').textContent.indexOf('太常见') >= 0",
      "the policy as typed"));
  ASSERT_NO_FATAL_FAILURE(Screenshot("workbench-password.png"));
  Eval("document.getElementById('new-password').value = ''; return '';");
  ASSERT_NO_FATAL_FAILURE(Type("#new-password", testing::kStrong));
  ASSERT_NO_FATAL_FAILURE(Type("#new-password2", testing::kStrong));
  ASSERT_NO_FATAL_FAILURE(WaitFor(
      "document.getElementById('policy').textContent.indexOf('符合要求') >= 0",
      "a good password accepted as typed"));
  ASSERT_NO_FATAL_FAILURE(Click("#password-submit"));

  // 本单位: complete the profile (a wrong credit code is flagged as typed).
  ASSERT_NO_FATAL_FAILURE(WaitFor(
      "!document.getElementById('view-unit').hidden && "
      "document.getElementById('unit-registration').textContent"
      ".indexOf('长沙市测试机械厂工会') >= 0",
      "the unit page"));
  ASSERT_NO_FATAL_FAILURE(Type("#unit-credit", "91350100M000100Y44"));
  EXPECT_THAT(TextOf("unit-credit-error"), HasSubstr("校验位"));
  Eval("document.getElementById('unit-credit').value = ''; return '';");
  ASSERT_NO_FATAL_FAILURE(Type("#unit-credit", "91350100M000100Y43"));
  EXPECT_EQ(TextOf("unit-credit-error"), "");
  ASSERT_NO_FATAL_FAILURE(Type("#unit-founding", "2019-06-01"));
  ASSERT_NO_FATAL_FAILURE(Type("#unit-address", "长沙市芙蓉区五一大道1号"));
  ASSERT_NO_FATAL_FAILURE(Type("#unit-chair", "王建国"));
  ASSERT_NO_FATAL_FAILURE(Type("#unit-chair-phone", "13812345678"));
  ASSERT_NO_FATAL_FAILURE(Click("#unit-submit"));
  ASSERT_NO_FATAL_FAILURE(
      WaitFor("document.getElementById('unit-saved').textContent.length > 0",
              "profile saved"));
  auto org = node_->store().GetOrg("430100.g1");
  ASSERT_OK(org.status());
  EXPECT_EQ(org->credit_code(), "91350100M000100Y43");
  EXPECT_EQ(org->chair().phone(), "13812345678");
  // The page shows the chair's phone masked.
  ASSERT_NO_FATAL_FAILURE(WaitFor(
      "document.getElementById('unit-chair-phone').value === '138****5678'",
      "masked phone in the form"));
  ASSERT_NO_FATAL_FAILURE(Screenshot("workbench-unit.png"));

  // 会员: enter one member, see it masked, reveal it with a reason.
  Eval("location.hash = '#members'; return '';");
  ASSERT_NO_FATAL_FAILURE(
      WaitFor("!document.getElementById('view-members').hidden", "members"));
  ASSERT_NO_FATAL_FAILURE(Click("#member-add-open"));
  ASSERT_NO_FATAL_FAILURE(Type("#member-name", "张三"));
  ASSERT_NO_FATAL_FAILURE(Type("#member-id-number", "11010519491231002Y"));
  EXPECT_THAT(TextOf("member-id-number-error"), HasSubstr("应为18位"));
  Eval("document.getElementById('member-id-number').value = ''; return '';");
  ASSERT_NO_FATAL_FAILURE(Type("#member-id-number", "11010519491231002X"));
  EXPECT_EQ(TextOf("member-id-number-error"), "");
  ASSERT_NO_FATAL_FAILURE(Type("#member-phone", "13900001111"));
  ASSERT_NO_FATAL_FAILURE(Type("#member-workplace", "长沙市测试机械厂"));
  ASSERT_NO_FATAL_FAILURE(Click("#member-submit"));
  ASSERT_NO_FATAL_FAILURE(WaitFor(
      "document.getElementById('member-rows').textContent.indexOf('张三') >= 0",
      "the new member in the list"));
  const std::string rows = TextOf("member-rows");
  EXPECT_THAT(rows, HasSubstr("110105********002X"));
  EXPECT_THAT(rows, ::testing::Not(HasSubstr("11010519491231002X")));
  ASSERT_NO_FATAL_FAILURE(Screenshot("workbench-members.png"));
  Eval("document.querySelector('#member-rows button').click(); return '';");
  ASSERT_NO_FATAL_FAILURE(Type("#reveal-reason", "核对会员证补办"));
  ASSERT_NO_FATAL_FAILURE(Click("#reveal-submit"));
  ASSERT_NO_FATAL_FAILURE(WaitFor(
      "document.getElementById('reveal-result').textContent"
      ".indexOf('11010519491231002X') >= 0",
      "the revealed number"));
  EXPECT_THAT(testing::LastAuditEntry(node_->store()).detail(),
              HasSubstr("核对会员证补办"));

  // A call without the CSRF header is refused, whatever the cookies say.
  const std::string forged = Eval(
      "var x = new XMLHttpRequest(); x.open('POST', "
      "'/api/v1/AdminService.ListMembers', false); x.setRequestHeader("
      "'Content-Type', 'application/json'); x.send('{}'); return "
      "String(x.status);");
  EXPECT_EQ(forged, "403");

  // 进度与预警 at this node, then logout.
  Eval("location.hash = '#progress'; return '';");
  ASSERT_NO_FATAL_FAILURE(WaitFor(
      "document.getElementById('progress-members').textContent.indexOf('1 "
      "人') >= 0",
      "progress figures"));
  ASSERT_NO_FATAL_FAILURE(Click("#logout"));
  ASSERT_NO_FATAL_FAILURE(
      WaitFor("!document.getElementById('page-login').hidden", "logged out"));
}

}  // namespace
}  // namespace unionsync
