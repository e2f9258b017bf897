// The workbench (工作台) in a real headless Chromium against a real node, one
// story per test: the city opens a union and prints the handover slip, whose
// clerk logs in with it, is made to change the password, completes the
// profile and enters, edits and reveals members; a clerk imports 1,000 rows
// of which 3 are wrong, sees exactly those cells, fixes them and imports; an
// export is requested, approved by the unit's leader and the upper tier, and
// downloaded once; each role sees only its own menu, and a disabled account's
// open page is logged out on its next request. Screenshots of each page go to
// test-artifacts/ (and, refreshed by hand, docs/screenshots/).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/password.h"
#include "dashboard/webdriver.h"
#include "dashboard/workbench_page.h"
#include "dues/ledger.h"
#include "ingest/template.h"
#include "ingest/test_files.h"
#include "ingest/writer.h"
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
    o.backup = NodeBackupOptions{};
    o.backup->archive.dir = dir_ + "/backups";
    o.backup->interval = absl::ZeroDuration();
    Configure(&o);
    ASSERT_NO_FATAL_FAILURE(testing::StartNode(o, &node_));
    base_url_ = absl::StrCat("http://127.0.0.1:", node_->dashboard_port());
    auto pw = testing::BootstrapCity(*node_);
    ASSERT_OK(pw.status());
    city_ = testing::Activate(*node_, "admin", *pw);

    auto driver = ChromeDriver::Start(dir_);
    ASSERT_TRUE(driver.ok()) << driver.status();
    driver_ = *std::move(driver);
    BrowserOptions options;
    options.user_data_dir = dir_ + "/profile";
    // The clerks' old laptops (issue 11: 1366x768).
    options.width = 1366;
    options.height = 768;
    auto session = WebDriverSession::Create(driver_->port(), options);
    ASSERT_TRUE(session.ok()) << session.status();
    browser_ = *std::move(session);
    page_ = std::make_unique<testing::WorkbenchPage>(browser_.get(), base_url_);
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

  // Changes the node's options before it starts.
  virtual void Configure(NodeOptions* o) {}

  // A grassroots union under the city, with its data administrator (and
  // leader) activated with kStrong; returns the administrator's session.
  std::string ActiveUnion(const std::string& id, const std::string& admin,
                          const std::string& leader = "",
                          const std::string& parent = testing::kCity,
                          v1::OrgKind kind = v1::CITY_DIRECT_GRASSROOTS,
                          const std::string& parent_token = "",
                          const std::string& region = "",
                          const std::string& system = "") {
    v1::CreateChildOrgRequest req =
        testing::ChildOrgRequest(parent, id, kind, admin, region);
    req.mutable_org()->set_system(system);
    req.set_leader_username(leader);
    auto made = node_->admin().CreateChildOrg(
        CallContext{parent_token.empty() ? city_ : parent_token, ""}, req);
    EXPECT_OK(made.status());
    if (!made.ok()) return "";
    if (!leader.empty()) {
      testing::Activate(*node_, leader, made->leader_initial_password());
    }
    return testing::Activate(*node_, admin, made->initial_password());
  }

  // The page's steps (tests/dashboard/workbench_page.h).
  void Type(const std::string& css, const std::string& text) {
    page_->Type(css, text);
  }
  void Retype(const std::string& id, const std::string& text) {
    page_->Retype(id, text);
  }
  void Click(const std::string& css) { page_->Click(css); }
  // Clicks the button labelled `label` inside the element `container_id`.
  void ClickButton(const std::string& container_id, const std::string& label) {
    EXPECT_EQ(
        Eval(absl::StrCat("var b = Array.from(document.querySelectorAll('#",
                          container_id,
                          " button')).find(function (b) { return "
                          "b.textContent === '",
                          label,
                          "'; }); if (b) b.click(); "
                          "return b ? 'clicked' : 'none';")),
        "clicked")
        << label;
  }
  std::string Eval(const std::string& script) { return page_->Eval(script); }
  std::string TextOf(const std::string& id) { return page_->TextOf(id); }
  bool Visible(const std::string& id) { return page_->Visible(id); }
  void WaitFor(const std::string& condition, const std::string& what) {
    page_->WaitFor(condition, what);
  }
  void WaitText(const std::string& id, const std::string& text) {
    page_->WaitText(id, text);
  }
  void Screenshot(const std::string& name) { page_->Screenshot(name); }
  void LogIn(const std::string& user, const std::string& password,
             bool must_change = false) {
    page_->LogIn(user, password, must_change);
  }
  void LogOut() { page_->LogOut(); }
  void Go(const std::string& view) { page_->Go(view); }
  std::string Menu() { return page_->Menu(); }

  std::string dir_;
  std::unique_ptr<NodeServer> node_;
  std::string base_url_;
  std::string city_;  // The city's data administrator's session.
  std::unique_ptr<ChromeDriver> driver_;
  std::unique_ptr<WebDriverSession> browser_;
  std::unique_ptr<testing::WorkbenchPage> page_;
};

TEST_F(WorkbenchBrowserTest, TheCityOpensAUnionAndItsClerkStartsWork) {
  // The city's clerk registers a grassroots union with only the kinds allowed
  // under the city, and gets the handover slip.
  ASSERT_NO_FATAL_FAILURE(LogIn("admin", testing::kStrong));
  EXPECT_EQ(
      Menu(),
      "本单位,下级组织,模板与导入,数据导出,进度与预警,数据冲突,会费缴纳,审计,"
      "节点");
  ASSERT_NO_FATAL_FAILURE(Go("children"));
  ASSERT_NO_FATAL_FAILURE(Click("#child-add-open"));
  const std::string kinds = Eval(
      "return Array.from(document.querySelectorAll('#child-kind option'))"
      ".map(function (o) { return o.value; }).join(',');");
  EXPECT_EQ(kinds,
            "DEV_ZONE_FEDERATION,DISTRICT_FEDERATION,INDUSTRY_UNION,"
            "CITY_DIRECT_GRASSROOTS");
  // Registered with a typo (戒 for 械), corrected below.
  ASSERT_NO_FATAL_FAILURE(Type("#child-name", "长沙市测试机戒厂工会"));
  Eval(
      "document.getElementById('child-kind').value = "
      "'CITY_DIRECT_GRASSROOTS'; return '';");
  ASSERT_NO_FATAL_FAILURE(Type("#child-id", "430100.g1"));
  ASSERT_NO_FATAL_FAILURE(Type("#child-admin", "g1admin"));
  ASSERT_NO_FATAL_FAILURE(Type("#child-admin-name", "李梅"));
  // The system is chosen from the city's list, not typed.
  EXPECT_EQ(Eval("return document.querySelectorAll('#child-system option')"
                 ".length + '';"),
            "10");
  EXPECT_THAT(TextOf("child-system"),
              HasSubstr("机械冶金系统（manufacturing）"));
  Eval(
      "document.getElementById('child-system').value = 'manufacturing'; "
      "return '';");
  ASSERT_NO_FATAL_FAILURE(Click("#child-submit"));
  ASSERT_NO_FATAL_FAILURE(WaitText("slips", "开通通知单"));
  const std::string initial = Eval(
      "return document.querySelector('#slips .slip-password').textContent;");
  ASSERT_FALSE(initial.empty());
  EXPECT_THAT(TextOf("slips"), HasSubstr("g1admin"));
  EXPECT_THAT(TextOf("slips"), HasSubstr(base_url_ + "/wb"));
  ASSERT_NO_FATAL_FAILURE(Screenshot("workbench-slip.png"));
  ASSERT_NO_FATAL_FAILURE(WaitText("children-rows", "长沙市测试机戒厂工会"));
  EXPECT_EQ(node_->store().GetOrg("430100.g1")->system(), "manufacturing");
  // The city corrects the name it registered, with a reason (audited).
  ASSERT_NO_FATAL_FAILURE(ClickButton("children-rows", "更正登记"));
  ASSERT_NO_FATAL_FAILURE(Retype("correct-name", "长沙市测试机械厂工会"));
  ASSERT_NO_FATAL_FAILURE(Type("#correct-reason", "登记时名称录错"));
  ASSERT_NO_FATAL_FAILURE(Click("#correct-submit"));
  ASSERT_NO_FATAL_FAILURE(WaitText("children-rows", "长沙市测试机械厂工会"));
  EXPECT_EQ(node_->store().GetOrg("430100.g1")->name(), "长沙市测试机械厂工会");
  EXPECT_THAT(
      testing::LastAuditEntryOf(node_->store(), "CorrectOrgRegistration")
          .detail(),
      HasSubstr("name '长沙市测试机戒厂工会' -> '长沙市测试机械厂工会'; "
                "reason: 登记时名称录错"));
  // It records the training it gave the union's administrator (R6).
  EXPECT_THAT(TextOf("children-rows"), HasSubstr("未登记"));
  ASSERT_NO_FATAL_FAILURE(ClickButton("children-rows", "登记培训"));
  ASSERT_NO_FATAL_FAILURE(Type("#training-trainee", "李梅"));
  ASSERT_NO_FATAL_FAILURE(Retype("training-date", "2026-11-20"));
  ASSERT_NO_FATAL_FAILURE(Click("#training-submit"));
  ASSERT_NO_FATAL_FAILURE(WaitText("children-rows", "2026-11-20"));
  auto trained = node_->store().GetOrg("430100.g1");
  ASSERT_TRUE(trained.ok());
  ASSERT_EQ(trained->trainings_size(), 1);
  EXPECT_EQ(trained->trainings(0).trainer(), "长沙市总工会");
  // It sets the union's target: one union (itself) and 50 members; the
  // row shows the progress against it. A typed word is refused in Chinese.
  EXPECT_THAT(TextOf("children-rows"), HasSubstr("未设定"));
  ASSERT_NO_FATAL_FAILURE(ClickButton("children-rows", "设定目标"));
  ASSERT_NO_FATAL_FAILURE(Type("#target-grassroots", "1"));
  ASSERT_NO_FATAL_FAILURE(Type("#target-members", "五十"));
  ASSERT_NO_FATAL_FAILURE(Click("#target-submit"));
  ASSERT_NO_FATAL_FAILURE(WaitText("target-error", "请填写整数"));
  ASSERT_NO_FATAL_FAILURE(Retype("target-members", "50"));
  ASSERT_NO_FATAL_FAILURE(Click("#target-submit"));
  ASSERT_NO_FATAL_FAILURE(WaitText("children-rows", "0 / 50 人"));
  auto city = node_->store().GetOrg(node_->store().node_id());
  ASSERT_TRUE(city.ok());
  ASSERT_EQ(city->child_targets_size(), 1);
  EXPECT_EQ(city->child_targets(0).child_id(), "430100.g1");
  EXPECT_EQ(city->child_targets(0).expected_members(), 50);
  ASSERT_NO_FATAL_FAILURE(Screenshot("workbench-children.png"));
  ASSERT_NO_FATAL_FAILURE(LogOut());

  // The union's clerk logs in with the slip; a wrong password first.
  ASSERT_OK(browser_->Navigate(base_url_ + "/wb"));
  ASSERT_NO_FATAL_FAILURE(
      WaitFor("!document.getElementById('page-login').hidden", "login page"));
  ASSERT_NO_FATAL_FAILURE(Screenshot("workbench-login.png"));
  ASSERT_NO_FATAL_FAILURE(Retype("login-user", "g1admin"));
  // With the keyboard alone: Enter in the password field submits the form.
  ASSERT_NO_FATAL_FAILURE(
      Retype("login-password", "Wrong-Passw0rd!\xEE\x80\x87"));
  ASSERT_NO_FATAL_FAILURE(WaitText("login-error", "账号或密码不正确"));
  ASSERT_NO_FATAL_FAILURE(LogIn("g1admin", initial, /*must_change=*/true));

  // R3: the initial password must be changed before anything else.
  EXPECT_FALSE(Visible("page-app"));
  // The session cookie is not readable by the page; the CSRF one is.
  EXPECT_THAT(Eval("return document.cookie;"),
              ::testing::Not(HasSubstr("us_session")));
  EXPECT_THAT(Eval("return document.cookie;"), HasSubstr("us_csrf="));
  ASSERT_NO_FATAL_FAILURE(Type("#old-password", initial));
  ASSERT_NO_FATAL_FAILURE(Type("#new-password", "Password123"));
  ASSERT_NO_FATAL_FAILURE(WaitText("policy", "太常见"));
  ASSERT_NO_FATAL_FAILURE(Screenshot("workbench-password.png"));
  ASSERT_NO_FATAL_FAILURE(Retype("new-password", testing::kStrong));
  ASSERT_NO_FATAL_FAILURE(Type("#new-password2", testing::kStrong));
  ASSERT_NO_FATAL_FAILURE(WaitText("policy", "符合要求"));
  ASSERT_NO_FATAL_FAILURE(Click("#password-submit"));

  // 本单位: complete the profile (a wrong credit code is flagged as typed).
  ASSERT_NO_FATAL_FAILURE(
      WaitText("unit-registration", "长沙市测试机械厂工会"));
  EXPECT_EQ(Menu(), "本单位,会员,模板与导入,数据导出,进度与预警,审计");
  ASSERT_NO_FATAL_FAILURE(Type("#unit-credit", "91350100M000100Y44"));
  EXPECT_THAT(TextOf("unit-credit-error"), HasSubstr("校验位"));
  ASSERT_NO_FATAL_FAILURE(Retype("unit-credit", "91350100M000100Y43"));
  EXPECT_EQ(TextOf("unit-credit-error"), "");
  ASSERT_NO_FATAL_FAILURE(Type("#unit-founding", "2019-06-01"));
  ASSERT_NO_FATAL_FAILURE(Type("#unit-address", "长沙市芙蓉区五一大道1号"));
  ASSERT_NO_FATAL_FAILURE(Type("#unit-chair", "王建国"));
  ASSERT_NO_FATAL_FAILURE(Type("#unit-chair-phone", "13812345678"));
  ASSERT_NO_FATAL_FAILURE(Click("#unit-submit"));
  ASSERT_NO_FATAL_FAILURE(WaitText("unit-saved", "已保存"));
  auto org = node_->store().GetOrg("430100.g1");
  ASSERT_OK(org.status());
  EXPECT_EQ(org->credit_code(), "91350100M000100Y43");
  EXPECT_EQ(org->chair().phone(), "13812345678");
  // The page shows the chair's phone masked.
  ASSERT_NO_FATAL_FAILURE(WaitFor(
      "document.getElementById('unit-chair-phone').value === '138****5678'",
      "masked phone in the form"));
  ASSERT_NO_FATAL_FAILURE(Screenshot("workbench-unit.png"));

  // 会员: enter one member, see it masked, edit it, reveal it with a reason.
  ASSERT_NO_FATAL_FAILURE(Go("members"));
  ASSERT_NO_FATAL_FAILURE(Click("#member-add-open"));
  ASSERT_NO_FATAL_FAILURE(Type("#member-name", "张三"));
  ASSERT_NO_FATAL_FAILURE(Type("#member-id-number", "11010519491231002Y"));
  EXPECT_THAT(TextOf("member-id-number-error"), HasSubstr("应为18位"));
  ASSERT_NO_FATAL_FAILURE(Retype("member-id-number", "11010519491231002X"));
  EXPECT_EQ(TextOf("member-id-number-error"), "");
  ASSERT_NO_FATAL_FAILURE(Type("#member-phone", "13900001111"));
  ASSERT_NO_FATAL_FAILURE(Type("#member-workplace", "长沙市测试机械厂"));
  ASSERT_NO_FATAL_FAILURE(Click("#member-submit"));
  ASSERT_NO_FATAL_FAILURE(WaitText("member-rows", "张三"));
  EXPECT_THAT(TextOf("member-rows"), HasSubstr("110105********002X"));
  EXPECT_THAT(TextOf("member-rows"),
              ::testing::Not(HasSubstr("11010519491231002X")));
  ASSERT_NO_FATAL_FAILURE(Screenshot("workbench-members.png"));
  // Edit: the masked numbers go back unchanged and are kept.
  ASSERT_NO_FATAL_FAILURE(Click("#member-rows button"));
  ASSERT_NO_FATAL_FAILURE(Retype("member-workplace", "长沙市测试机械厂二车间"));
  ASSERT_NO_FATAL_FAILURE(Click("#member-submit"));
  ASSERT_NO_FATAL_FAILURE(WaitText("member-rows", "二车间"));
  auto listed = node_->store().ListMembers("430100.g1", "", 10);
  ASSERT_OK(listed.status());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id_number(), "11010519491231002X");
  EXPECT_EQ((*listed)[0].workplace(), "长沙市测试机械厂二车间");
  ASSERT_NO_FATAL_FAILURE(ClickButton("member-rows", "查看完整号码"));
  ASSERT_NO_FATAL_FAILURE(Type("#reveal-reason", "核对会员证补办"));
  ASSERT_NO_FATAL_FAILURE(Click("#reveal-submit"));
  ASSERT_NO_FATAL_FAILURE(WaitText("reveal-result", "11010519491231002X"));
  EXPECT_THAT(testing::LastAuditEntry(node_->store()).detail(),
              HasSubstr("核对会员证补办"));

  // A number whose region code (439999) no GB/T 2260 list has is refused
  // with the reason; the clerk checks the card, ticks the box and saves, and
  // the audit log says so.
  ASSERT_NO_FATAL_FAILURE(Click("#member-add-open"));
  ASSERT_NO_FATAL_FAILURE(Type("#member-name", "李四"));
  ASSERT_NO_FATAL_FAILURE(Type("#member-id-number", "439999199001010033"));
  EXPECT_EQ(TextOf("member-id-number-error"), "");
  ASSERT_NO_FATAL_FAILURE(Click("#member-submit"));
  ASSERT_NO_FATAL_FAILURE(
      WaitText("member-error", "前六位（地区码）439999不在国家行政区划代码表"));
  ASSERT_NO_FATAL_FAILURE(
      WaitFor("!document.getElementById('member-region-box').hidden",
              "the confirmation box"));
  ASSERT_NO_FATAL_FAILURE(Screenshot("workbench-member-region.png"));
  ASSERT_NO_FATAL_FAILURE(Click("#member-region-confirm"));
  ASSERT_NO_FATAL_FAILURE(Click("#member-submit"));
  ASSERT_NO_FATAL_FAILURE(WaitText("member-rows", "李四"));
  EXPECT_THAT(testing::LastAuditEntryOf(node_->store(), "AddMember").detail(),
              HasSubstr("region code 439999 is in no GB/T 2260 list; "
                        "confirmed by the clerk"));

  // A call without the CSRF header is refused, whatever the cookies say.
  const std::string forged = Eval(
      "var x = new XMLHttpRequest(); x.open('POST', "
      "'/api/v1/AdminService.ListMembers', false); x.setRequestHeader("
      "'Content-Type', 'application/json'); x.send('{}'); return "
      "String(x.status);");
  EXPECT_EQ(forged, "403");

  // 进度与预警 at this node, then 审计 of what was just done.
  ASSERT_NO_FATAL_FAILURE(Go("progress"));
  ASSERT_NO_FATAL_FAILURE(WaitText("progress-members", "2 人"));
  ASSERT_NO_FATAL_FAILURE(Go("audit"));
  ASSERT_NO_FATAL_FAILURE(WaitText("audit-rows", "GetMember"));
  ASSERT_NO_FATAL_FAILURE(LogOut());

  // The city sees the union's progress, and its own audit chain intact.
  ASSERT_NO_FATAL_FAILURE(LogIn("admin", testing::kStrong));
  ASSERT_NO_FATAL_FAILURE(Go("progress"));
  ASSERT_NO_FATAL_FAILURE(WaitText("progress-rows", "长沙市测试机械厂工会"));
  ASSERT_NO_FATAL_FAILURE(WaitText("progress-members", "2 人"));
  ASSERT_NO_FATAL_FAILURE(Screenshot("workbench-progress.png"));
  ASSERT_NO_FATAL_FAILURE(Go("audit"));
  ASSERT_NO_FATAL_FAILURE(Click("#audit-verify"));
  ASSERT_NO_FATAL_FAILURE(WaitText("audit-verify-result", "校验通过"));
  ASSERT_NO_FATAL_FAILURE(Screenshot("workbench-audit.png"));

  // The union closes: the city dissolves it, its two members leaving with
  // it. It stays in the list, marked 已撤销.
  ASSERT_NO_FATAL_FAILURE(Go("children"));
  ASSERT_NO_FATAL_FAILURE(WaitText("children-rows", "长沙市测试机械厂工会"));
  ASSERT_NO_FATAL_FAILURE(ClickButton("children-rows", "撤销"));
  ASSERT_NO_FATAL_FAILURE(Type("#dissolve-reason", "企业注销"));
  ASSERT_NO_FATAL_FAILURE(Click("#dissolve-submit"));
  ASSERT_NO_FATAL_FAILURE(WaitText("dissolve-error", "该组织尚有在册会员"));
  ASSERT_NO_FATAL_FAILURE(Click("#dissolve-members-leave"));
  ASSERT_NO_FATAL_FAILURE(Screenshot("workbench-dissolve.png"));
  ASSERT_NO_FATAL_FAILURE(Click("#dissolve-submit"));
  ASSERT_NO_FATAL_FAILURE(WaitText("alert", "2 名会员作减员处理"));
  ASSERT_NO_FATAL_FAILURE(WaitText("children-rows", "已撤销"));
  EXPECT_EQ(node_->store().GetOrg("430100.g1")->status(), v1::ORG_DISSOLVED);
}

TEST_F(WorkbenchBrowserTest, AClerkImportsAThousandRowsAndFixesThreeCells) {
  ASSERT_FALSE(ActiveUnion("430100.g1", "g1admin").empty());
  ASSERT_NO_FATAL_FAILURE(LogIn("g1admin", testing::kStrong));
  ASSERT_NO_FATAL_FAILURE(Go("import"));
  // The template comes from the same endpoint the download button calls.
  const std::string tmpl = Eval(
      "var x = new XMLHttpRequest(); x.open('POST', "
      "'/api/v1/IngestService.GetTemplate', false); x.setRequestHeader("
      "'Content-Type', 'application/json'); x.send('{\"kind\": "
      "\"TEMPLATE_MEMBER\"}'); var r = JSON.parse(x.responseText); return "
      "r.filename + ' ' + (r.content.length > 1000);");
  EXPECT_EQ(tmpl, "会员信息采集模板.xlsx true");

  std::vector<v1::Member> members = ingest::testing::Members(1000);
  const std::string bad_path = dir_ + "/会员-有错.csv";
  const std::string good_path = dir_ + "/会员.csv";
  ingest::testing::WriteBytes(
      bad_path, ingest::testing::MemberCsv(members, {9, 499, 997}));
  ingest::testing::WriteBytes(good_path,
                              ingest::testing::MemberCsv(members, {}));

  // The check shows exactly the three wrong cells, with their rows.
  ASSERT_NO_FATAL_FAILURE(Type("#import-file", bad_path));
  ASSERT_NO_FATAL_FAILURE(Click("#import-check"));
  ASSERT_NO_FATAL_FAILURE(WaitFor(
      "!document.getElementById('import-result').hidden", "dry run result"));
  EXPECT_EQ(Eval("return String(document.querySelectorAll('#import-errors "
                 "tr').length);"),
            "3");
  const std::string errors = Eval(
      "return Array.from(document.querySelectorAll('#import-errors tr')).map("
      "function (r) { return r.children[0].textContent + ':' + "
      "r.children[1].textContent; }).join(',');");
  EXPECT_EQ(errors, "11:公民身份号码,501:公民身份号码,999:公民身份号码");
  EXPECT_THAT(TextOf("import-errors"), HasSubstr("校验"));
  ASSERT_NO_FATAL_FAILURE(Screenshot("workbench-import-check.png"));
  EXPECT_EQ(node_->store().GetCounters("430100.g1")->members(), 0);

  // Fixed, the file imports; the progress bar ends full.
  Eval("document.getElementById('import-file').value = ''; return '';");
  ASSERT_NO_FATAL_FAILURE(Type("#import-file", good_path));
  ASSERT_NO_FATAL_FAILURE(Click("#import-run"));
  ASSERT_NO_FATAL_FAILURE(
      WaitFor("!document.getElementById('import-result').hidden && "
              "document.getElementById('import-message').className.indexOf("
              "'text-success') >= 0",
              "import done"));
  EXPECT_EQ(Eval("return document.getElementById('import-bar')"
                 ".getAttribute('aria-valuenow');"),
            "100");
  EXPECT_FALSE(Visible("import-errors-box"));
  ASSERT_NO_FATAL_FAILURE(Screenshot("workbench-import.png"));
  EXPECT_EQ(node_->store().GetCounters("430100.g1")->members(), 1000);
  ASSERT_NO_FATAL_FAILURE(Go("progress"));
  ASSERT_NO_FATAL_FAILURE(WaitText("progress-members", "1,000 人"));
}

TEST_F(WorkbenchBrowserTest, AnExportNeedsTheLeaderAndTheUpperTier) {
  const std::string g1 = ActiveUnion("430100.g1", "g1admin", "g1lead");
  ASSERT_FALSE(g1.empty());
  for (const v1::Member& m : ingest::testing::Members(5)) {
    v1::AddMemberRequest add;
    *add.mutable_member() = m;
    add.mutable_member()->set_org_id("430100.g1");
    add.mutable_member()->clear_id();
    ASSERT_OK(node_->admin().AddMember(CallContext{g1, ""}, add).status());
  }
  // The clerk asks.
  ASSERT_NO_FATAL_FAILURE(LogIn("g1admin", testing::kStrong));
  ASSERT_NO_FATAL_FAILURE(Go("export"));
  ASSERT_NO_FATAL_FAILURE(Type("#export-purpose", "发放会员慰问品"));
  ASSERT_NO_FATAL_FAILURE(Type("#export-recipient", "工会办公室"));
  ASSERT_NO_FATAL_FAILURE(Click("#export-field-EXPORT_WORKPLACE"));
  ASSERT_NO_FATAL_FAILURE(Click("#export-submit"));
  ASSERT_NO_FATAL_FAILURE(WaitText("export-rows", "待审批"));
  // Nobody approves their own request: no buttons for the requester.
  EXPECT_EQ(Eval("return String(document.querySelectorAll('#export-rows "
                 "button').length);"),
            "0");
  ASSERT_NO_FATAL_FAILURE(LogOut());

  // The unit's leader, then the city (the upper tier), approve.
  ASSERT_NO_FATAL_FAILURE(LogIn("g1lead", testing::kStrong));
  EXPECT_EQ(Menu(), "本单位,数据导出,进度与预警");
  ASSERT_NO_FATAL_FAILURE(Go("export"));
  ASSERT_NO_FATAL_FAILURE(WaitText("export-rows", "发放会员慰问品"));
  ASSERT_NO_FATAL_FAILURE(Screenshot("workbench-export-approve.png"));
  ASSERT_NO_FATAL_FAILURE(Click("#export-rows .btn-outline-success"));
  ASSERT_NO_FATAL_FAILURE(WaitText("export-rows", "单位负责人同意"));
  ASSERT_NO_FATAL_FAILURE(LogOut());
  ASSERT_NO_FATAL_FAILURE(LogIn("admin", testing::kStrong));
  ASSERT_NO_FATAL_FAILURE(Go("export"));
  ASSERT_NO_FATAL_FAILURE(WaitText("export-rows", "发放会员慰问品"));
  ASSERT_NO_FATAL_FAILURE(Click("#export-rows .btn-outline-success"));
  ASSERT_NO_FATAL_FAILURE(WaitText("export-rows", "已批准"));
  ASSERT_NO_FATAL_FAILURE(LogOut());

  // The requester downloads it, once.
  ASSERT_NO_FATAL_FAILURE(LogIn("g1admin", testing::kStrong));
  ASSERT_NO_FATAL_FAILURE(Go("export"));
  ASSERT_NO_FATAL_FAILURE(WaitText("export-rows", "已批准"));
  ASSERT_NO_FATAL_FAILURE(Click("#export-rows .btn-danger"));
  ASSERT_NO_FATAL_FAILURE(WaitText("alert", "已导出 5 名会员"));
  ASSERT_NO_FATAL_FAILURE(WaitText("export-rows", "已导出"));
  EXPECT_EQ(Eval("return String(document.querySelectorAll('#export-rows "
                 "button').length);"),
            "0");
}

TEST_F(WorkbenchBrowserTest, EachRoleSeesItsOwnMenuAndADisabledPageLogsOut) {
  // A reviewer of the city: figures, approvals, audit; no member rows.
  v1::CreateAccountRequest reviewer;
  reviewer.set_org_id(testing::kCity);
  reviewer.set_username("cityreview");
  reviewer.set_role(v1::REVIEWER);
  auto made = node_->admin().CreateAccount(CallContext{city_, ""}, reviewer);
  ASSERT_OK(made.status());
  testing::Activate(*node_, "cityreview", made->initial_password());
  ASSERT_NO_FATAL_FAILURE(LogIn("cityreview", testing::kStrong));
  EXPECT_EQ(Menu(), "本单位,下级组织,数据导出,进度与预警,会费缴纳,审计");
  EXPECT_FALSE(Visible("unit-form"));
  // The server refuses what the menu does not offer.
  const std::string members = Eval(
      "var x = new XMLHttpRequest(); x.open('POST', "
      "'/api/v1/AdminService.ListMembers', false); x.setRequestHeader("
      "'Content-Type', 'application/json'); x.setRequestHeader("
      "'X-CSRF-Token', document.cookie.match(/us_csrf=([0-9a-f]+)/)[1]); "
      "x.send('{}'); return String(x.status);");
  EXPECT_EQ(members, "403");

  // An operator of the city's node: the node and audit pages, figures; no
  // organisations' or members' data entry.
  ASSERT_NO_FATAL_FAILURE(LogOut());
  v1::CreateAccountRequest op;
  op.set_org_id(testing::kCity);
  op.set_username("cityops");
  op.set_role(v1::OPERATOR);
  auto op_made = node_->admin().CreateAccount(CallContext{city_, ""}, op);
  ASSERT_OK(op_made.status());
  testing::Activate(*node_, "cityops", op_made->initial_password());
  ASSERT_NO_FATAL_FAILURE(LogIn("cityops", testing::kStrong));
  EXPECT_EQ(Menu(), "本单位,进度与预警,会费缴纳,审计,节点");
  ASSERT_NO_FATAL_FAILURE(Go("node"));
  ASSERT_NO_FATAL_FAILURE(WaitText("node-summary", "430100"));
  // The node's backups: none yet, one taken now, then verified.
  ASSERT_NO_FATAL_FAILURE(WaitText("backup-summary", "共 0 份"));
  ASSERT_NO_FATAL_FAILURE(Click("#backup-now"));
  ASSERT_NO_FATAL_FAILURE(WaitText("backup-summary", "共 1 份"));
  EXPECT_THAT(TextOf("alert"), HasSubstr("已完成备份 1"));
  EXPECT_THAT(TextOf("backup-rows"), HasSubstr("cityops"));
  ASSERT_NO_FATAL_FAILURE(Click("#backup-rows button"));
  ASSERT_NO_FATAL_FAILURE(WaitText("alert", "备份 1 完好"));
  ASSERT_NO_FATAL_FAILURE(Screenshot("workbench-node-backups.png"));
  ASSERT_NO_FATAL_FAILURE(LogOut());
  ASSERT_NO_FATAL_FAILURE(LogIn("cityreview", testing::kStrong));

  // The city disables the reviewer; the open page goes to the login on its
  // next request, saying why.
  v1::DisableAccountRequest disable;
  disable.set_username("cityreview");
  disable.set_reason("调离岗位");
  ASSERT_OK(node_->admin().DisableAccount(CallContext{city_, ""}, disable));
  ASSERT_NO_FATAL_FAILURE(Go("progress"));
  ASSERT_NO_FATAL_FAILURE(
      WaitFor("!document.getElementById('page-login').hidden", "logged out"));
  EXPECT_THAT(TextOf("login-notice"), HasSubstr("已被停用"));
}

// The hub's monitoring, at the city: the progress page shows what the
// Monitor computes, by region, by system and by child with drill-down, with
// the trajectory chart; conflicts and node freshness have their pages.
class WorkbenchHubTest : public WorkbenchBrowserTest {
 protected:
  void Configure(NodeOptions* o) override {
    o->hub = true;
    v1::CampaignConfig& c = o->campaign;
    c.set_name("浏览器测试录入活动");
    c.set_start_date("2026-11-01");
    c.set_expected_grassroots(10);
    c.set_expected_members(60);
    v1::Milestone* m = c.add_milestones();
    m->set_date("2027-06-30");
    m->set_grassroots_fraction(1.0);
    m->set_members_fraction(1.0);
    for (auto [scope, label, g, n] :
         {std::tuple{"region:430102", "芙蓉区", 4, 24},
          std::tuple{"region:430103", "天心区", 3, 18},
          std::tuple{"system:education", "教育系统", 3, 18}}) {
      v1::AreaTarget* t = c.add_areas();
      t->set_scope(scope);
      t->set_label(label);
      t->set_expected_grassroots(g);
      t->set_expected_members(n);
    }
  }

  // city -> 芙蓉区 (2 grassroots, 5 + 3 members), 天心区 (1 grassroots, 4
  // members), 市教育工会 (system "education"; 1 grassroots, 2 members).
  void BuildTree() {
    const std::string furong =
        ActiveUnion("430102", "furong", "", testing::kCity,
                    v1::DISTRICT_FEDERATION, "", "430102");
    const std::string tianxin =
        ActiveUnion("430103", "tianxin", "", testing::kCity,
                    v1::DISTRICT_FEDERATION, "", "430103");
    const std::string edu =
        ActiveUnion("edu", "edu", "", testing::kCity, v1::INDUSTRY_UNION, "",
                    "", "education");
    uint64_t next = 0;
    for (auto [parent, token, id, members] :
         {std::tuple{"430102", furong, "430102.1", 5},
          std::tuple{"430102", furong, "430102.2", 3},
          std::tuple{"430103", tianxin, "430103.1", 4},
          std::tuple{"edu", edu, "edu.1", 2}}) {
      const std::string own =
          ActiveUnion(id, absl::StrCat("user", next), "", parent,
                      v1::INDEPENDENT_GRASSROOTS, token);
      ASSERT_FALSE(own.empty());
      for (v1::Member m : ingest::testing::Members(members, next)) {
        m.clear_id();
        m.set_org_id(id);
        v1::AddMemberRequest add;
        *add.mutable_member() = m;
        ASSERT_OK(node_->admin().AddMember(CallContext{own, ""}, add).status());
      }
      next += 100;
    }
  }

  v1::GetProgressResponse Expected(const std::string& view) {
    v1::GetProgressRequest req;
    req.set_view(view);
    auto resp = node_->monitor().GetProgress(RequestContext{city_, ""}, req);
    EXPECT_TRUE(resp.ok()) << view << ": " << resp.status();
    return resp.ok() ? *resp : v1::GetProgressResponse();
  }
  // Name | entered grassroots | state of every row of the progress table.
  std::string Rows() {
    return Eval(
        "return Array.from(document.querySelectorAll('#progress-rows tr'))"
        ".map(function (tr) { var c = tr.cells; return [c[0].textContent, "
        "c[1].textContent.split(' / ')[0], c[6].textContent].join('|'); })"
        ".join(',');");
  }
  // The table's rows once they are `expected`, or what they are after 15 s. A
  // count alone is not enough: two views may have the same number of rows,
  // and the old ones are still there until the new ones are drawn.
  std::string RowsOnce(const std::string& expected) {
    std::string rows;
    for (int i = 0; i < 150; ++i) {
      rows = Rows();
      if (rows == expected) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return rows;
  }
  std::string ExpectedRows(const v1::GetProgressResponse& r) {
    std::vector<std::string> rows;
    for (const v1::Progress& p : r.rows()) {
      rows.push_back(absl::StrCat(p.label(), "|", p.grassroots(), "|",
                                  p.behind() ? "落后" : "正常"));
    }
    return absl::StrJoin(rows, ",");
  }
};

TEST_F(WorkbenchHubTest, TheCitysProgressPageShowsWhatTheMonitorComputes) {
  ASSERT_NO_FATAL_FAILURE(BuildTree());
  ASSERT_NO_FATAL_FAILURE(LogIn("admin", testing::kStrong));
  EXPECT_EQ(
      Menu(),
      "本单位,下级组织,模板与导入,数据导出,进度与预警,数据冲突,会费缴纳,审计,"
      "节点");
  ASSERT_NO_FATAL_FAILURE(Go("progress"));
  const v1::Progress total = Expected("city").total();
  EXPECT_EQ(total.grassroots(), 4);
  EXPECT_EQ(total.members(), 14);
  ASSERT_NO_FATAL_FAILURE(WaitText("progress-members", "14 人"));
  // Registered / entered (建成: none has a complete profile here).
  EXPECT_EQ(total.entered_grassroots(), 0);
  EXPECT_EQ(TextOf("progress-grassroots"), "4 / 0 个");
  EXPECT_EQ(TextOf("progress-status"), total.behind() ? "落后" : "正常");
  EXPECT_THAT(TextOf("progress-campaign"), HasSubstr("浏览器测试录入活动"));
  // The trajectory is a Chart.js chart with actual and target lines.
  ASSERT_NO_FATAL_FAILURE(WaitFor(
      "typeof Chart !== 'undefined' && Chart.getChart('progress-chart') && "
      "Chart.getChart('progress-chart').data.datasets.length === 4",
      "the chart"));
  ASSERT_NO_FATAL_FAILURE(Screenshot("workbench-hub-progress.png"));

  // By child, then down into 芙蓉区 and back.
  const std::string children = ExpectedRows([&] {
    v1::GetProgressRequest req;
    req.set_view("children");
    auto r = node_->monitor().GetProgress(RequestContext{city_, ""}, req);
    EXPECT_OK(r.status());
    return r.ok() ? *r : v1::GetProgressResponse();
  }());
  ASSERT_NO_FATAL_FAILURE(WaitFor(
      absl::StrCat("document.querySelectorAll('#progress-rows tr').length === ",
                   3),
      "three children"));
  EXPECT_EQ(RowsOnce(children), children);
  ASSERT_NO_FATAL_FAILURE(ClickButton("progress-rows", "测试工会430102"));
  ASSERT_NO_FATAL_FAILURE(WaitText("progress-crumbs", "测试工会430102"));
  ASSERT_NO_FATAL_FAILURE(
      WaitFor("document.querySelectorAll('#progress-rows tr').length === 2",
              "芙蓉区's two unions"));
  EXPECT_THAT(TextOf("progress-rows"), HasSubstr("测试工会430102.1"));

  // By region and by system: the Monitor's rows, in order.
  for (const char* view : {"regions", "systems"}) {
    SCOPED_TRACE(view);
    ASSERT_NO_FATAL_FAILURE(Click(absl::StrCat("#progress-by-", view)));
    const std::string expected = ExpectedRows(Expected(view));
    ASSERT_FALSE(expected.empty());
    ASSERT_NO_FATAL_FAILURE(
        WaitFor(absl::StrCat("document.querySelectorAll('#progress-rows "
                             "tr').length === ",
                             Expected(view).rows_size()),
                "rows"));
    EXPECT_EQ(RowsOnce(expected), expected);
  }
  EXPECT_THAT(TextOf("progress-rows"), HasSubstr("教育系统"));

  // Conflicts and node freshness have their pages at the hub.
  ASSERT_NO_FATAL_FAILURE(Go("conflicts"));
  ASSERT_NO_FATAL_FAILURE(
      WaitFor("!document.getElementById('conflict-empty').hidden || "
              "document.getElementById('conflict-rows').children.length > 0",
              "conflicts"));
  ASSERT_NO_FATAL_FAILURE(Go("node"));
  ASSERT_NO_FATAL_FAILURE(WaitText("node-summary", "430100"));
}

// The payment service's file of dues paid, checked and imported at the hub
// (R9): a bad cell is shown with its row and nothing is written; the fixed
// file gives the coverage the ledger computes, by region and by system.
TEST_F(WorkbenchHubTest, TheCityImportsDuesAndSeesTheirCoverage) {
  ASSERT_NO_FATAL_FAILURE(BuildTree());
  ASSERT_NO_FATAL_FAILURE(LogIn("admin", testing::kStrong));
  ASSERT_NO_FATAL_FAILURE(Go("dues"));
  ASSERT_NO_FATAL_FAILURE(
      WaitFor("!document.getElementById('dues-none').hidden", "no dues yet"));
  // Three of 芙蓉区's members and one person nobody entered paid for March.
  const std::vector<v1::Member> furong = ingest::testing::Members(5, 0);
  const std::string stranger = ingest::testing::Members(1, 900)[0].id_number();
  auto file = [&](const std::string& third_amount) {
    return absl::StrCat("身份证号码,姓名,缴费月份,金额（元）,交易流水号\n",
                        furong[0].id_number(), ",甲,2020-03,10,R1\n",
                        furong[1].id_number(), ",乙,2020-03,", third_amount,
                        ",R2\n", furong[2].id_number(), ",丙,2020-03,10,R3\n",
                        stranger, ",丁,2020-03,5.5,R4\n");
  };
  const std::string bad_path = dir_ + "/缴费-有错.csv";
  const std::string good_path = dir_ + "/缴费.csv";
  ingest::testing::WriteBytes(bad_path, file("十元"));
  ingest::testing::WriteBytes(good_path, file("10"));

  ASSERT_NO_FATAL_FAILURE(Type("#dues-file", bad_path));
  ASSERT_NO_FATAL_FAILURE(Click("#dues-run"));
  ASSERT_NO_FATAL_FAILURE(WaitFor(
      "!document.getElementById('dues-errors-box').hidden", "the bad cell"));
  EXPECT_EQ(Eval("return Array.from(document.querySelectorAll('#dues-errors "
                 "tr')).map(function (r) { return r.children[0].textContent + "
                 "':' + r.children[1].textContent; }).join(',');"),
            "3:金额（元）");
  EXPECT_THAT(TextOf("dues-message"), HasSubstr("没有导入任何记录"));
  EXPECT_TRUE(Visible("dues-none"));

  Eval("document.getElementById('dues-file').value = ''; return '';");
  ASSERT_NO_FATAL_FAILURE(Type("#dues-file", good_path));
  ASSERT_NO_FATAL_FAILURE(Click("#dues-run"));
  ASSERT_NO_FATAL_FAILURE(WaitText("dues-paid", "14 / 3 人"));
  EXPECT_THAT(TextOf("dues-message"), HasSubstr("已导入4条缴费记录"));
  EXPECT_EQ(TextOf("dues-unmatched"), "1 人");
  EXPECT_EQ(TextOf("dues-amount"), "30.00");
  EXPECT_EQ(Eval("return document.getElementById('dues-period').value;"),
            "2020-03");
  // The tables are the ledger's rows (those with members or payers).
  auto expected = node_->dues().GetDuesCoverage(RequestContext{city_, ""}, {});
  ASSERT_OK(expected.status());
  for (auto [body, rows] : {std::pair{"dues-regions", &expected->regions()},
                            std::pair{"dues-systems", &expected->systems()}}) {
    std::vector<std::string> want;
    for (const v1::DuesCoverage& c : *rows) {
      if (c.members() == 0 && c.paid() == 0) continue;
      want.push_back(absl::StrCat(c.label(), "|", c.paid()));
    }
    EXPECT_EQ(Eval(absl::StrCat(
                  "return Array.from(document.querySelectorAll('#", body,
                  " tr')).map(function (r) { return r.children[0].textContent "
                  "+ '|' + r.children[2].textContent; }).join(',');")),
              absl::StrJoin(want, ","))
        << body;
  }
  EXPECT_THAT(TextOf("dues-regions"), HasSubstr("芙蓉区"));
  ASSERT_NO_FATAL_FAILURE(Screenshot("workbench-hub-dues.png"));
}

}  // namespace
}  // namespace unionsync
