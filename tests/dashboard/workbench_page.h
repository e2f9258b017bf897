// The workbench (工作台) as a test drives it in headless Chromium: typing,
// clicking, waiting for text, logging in and out, switching views, taking
// screenshots. Shared by the in-process browser tests (tests/dashboard) and
// the multi-process story (tests/cluster). A failed step is a gtest failure
// (use with ASSERT_NO_FATAL_FAILURE).
#ifndef UNIONSYNC_TESTS_DASHBOARD_WORKBENCH_PAGE_H_
#define UNIONSYNC_TESTS_DASHBOARD_WORKBENCH_PAGE_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "dashboard/webdriver.h"
#include "testing/status_matchers.h"

#ifndef UNIONSYNC_TEST_ARTIFACTS_DIR
#error "UNIONSYNC_TEST_ARTIFACTS_DIR must name the screenshot directory"
#endif

namespace unionsync::testing {

class WorkbenchPage {
 public:
  // `browser` is not owned. `base_url` is the node's web server, e.g.
  // "https://127.0.0.1:8443".
  WorkbenchPage(WebDriverSession* browser, std::string base_url)
      : browser_(browser), base_url_(std::move(base_url)) {}
  const std::string& base_url() const { return base_url_; }
  void set_base_url(std::string url) { base_url_ = std::move(url); }

  void Type(const std::string& css, const std::string& text) {
    auto e = browser_->FindElement(css);
    ASSERT_TRUE(e.ok()) << css << ": " << e.status();
    ASSERT_OK(browser_->SendKeys(*e, text));
  }
  void Retype(const std::string& id, const std::string& text) {
    Eval(absl::StrCat("document.getElementById('", id,
                      "').value = ''; return '';"));
    ASSERT_NO_FATAL_FAILURE(Type("#" + id, text));
  }
  // Clicks the element, first scrolled to the middle of the window (at
  // 1366x768 chromedriver's own scrolling can leave it at the window's edge,
  // where the click does not land on it). Bootstrap's reboot makes scrolling
  // smooth, so the scroll is made instant: a click during the animation
  // lands on whatever passes under the point.
  void Click(const std::string& css) {
    auto e = browser_->FindElement(css);
    ASSERT_TRUE(e.ok()) << css << ": " << e.status();
    Eval(absl::StrCat("document.querySelector(", Quoted(css),
                      ").scrollIntoView({block: 'center', behavior: "
                      "'instant'}); return '';"));
    // A layout still settling (a table filling in above) can move the
    // element between the scroll and the click; a few tries ride that out,
    // an element that stays covered still fails.
    absl::Status clicked;
    for (int attempt = 0; attempt < 5; ++attempt) {
      clicked = browser_->Click(*e);
      if (clicked.ok() ||
          !absl::StrContains(clicked.message(), "click intercepted")) {
        break;
      }
      absl::SleepFor(absl::Milliseconds(200));
      Eval(absl::StrCat("document.querySelector(", Quoted(css),
                        ").scrollIntoView({block: 'center', behavior: "
                        "'instant'}); return '';"));
    }
    ASSERT_OK(clicked);
  }
  // `s` as a JavaScript string literal (no quotes or backslashes inside).
  static std::string Quoted(const std::string& s) {
    EXPECT_EQ(s.find_first_of("'\\"), std::string::npos) << s;
    return absl::StrCat("'", s, "'");
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
  bool Visible(const std::string& id) {
    return Eval(absl::StrCat("return String(!document.getElementById('", id,
                             "').hidden);")) == "true";
  }
  void WaitFor(const std::string& condition, const std::string& what) {
    ASSERT_OK(browser_->WaitFor(absl::StrCat("return ", condition, ";"),
                                absl::Seconds(30)))
        << what << "; page says: "
        << Eval(
               "return ['login','password','app'].map(function (p) { return "
               "p + '=' + !document.getElementById('page-' + p).hidden; })"
               ".join(' ') + ' | alert: ' + "
               "document.getElementById('alert').textContent + ' | ' + "
               "document.body.innerText;");
  }
  void WaitText(const std::string& id, const std::string& text) {
    ASSERT_NO_FATAL_FAILURE(
        WaitFor(absl::StrCat("document.getElementById('", id,
                             "').textContent.indexOf(", "'", text, "') >= 0"),
                absl::StrCat("'", text, "' in #", id)));
  }
  void Screenshot(const std::string& name) {
    auto png = browser_->Screenshot();
    ASSERT_TRUE(png.ok()) << png.status();
    std::filesystem::create_directories(UNIONSYNC_TEST_ARTIFACTS_DIR);
    std::ofstream(absl::StrCat(UNIONSYNC_TEST_ARTIFACTS_DIR, "/", name),
                  std::ios::binary)
        << *png;
  }

  // Opens the workbench and logs in; waits for the app (or, with
  // `must_change`, the password page).
  void LogIn(const std::string& user, const std::string& password,
             bool must_change = false) {
    ASSERT_OK(browser_->Navigate(base_url_ + "/wb"));
    ASSERT_NO_FATAL_FAILURE(
        WaitFor("!document.getElementById('page-login').hidden", "login page"));
    ASSERT_NO_FATAL_FAILURE(Retype("login-user", user));
    ASSERT_NO_FATAL_FAILURE(Retype("login-password", password));
    ASSERT_NO_FATAL_FAILURE(Click("#login-submit"));
    ASSERT_NO_FATAL_FAILURE(
        WaitFor(absl::StrCat("!document.getElementById('",
                             must_change ? "page-password" : "page-app",
                             "').hidden && document.getElementById('menu')"
                             ".children.length + ",
                             must_change ? "1" : "0", " > 0"),
                absl::StrCat(user, " logged in")));
  }
  void LogOut() {
    Eval("window.scrollTo(0, 0); return '';");
    ASSERT_NO_FATAL_FAILURE(Click("#logout"));
    ASSERT_NO_FATAL_FAILURE(
        WaitFor("!document.getElementById('page-login').hidden", "logged out"));
  }
  void Go(const std::string& view) {
    Eval(absl::StrCat("location.hash = '#", view, "'; return '';"));
    ASSERT_NO_FATAL_FAILURE(WaitFor(
        absl::StrCat("!document.getElementById('view-", view, "').hidden"),
        view));
  }
  std::string Menu() {
    return Eval(
        "return Array.from(document.querySelectorAll('#menu a')).map("
        "function (a) { return a.textContent; }).join(',');");
  }

  // On the forced password page: changes `initial` to `strong`, watching the
  // policy accept it as typed; waits for the app.
  void ChangeInitialPassword(const std::string& initial,
                             const std::string& strong) {
    ASSERT_NO_FATAL_FAILURE(Retype("old-password", initial));
    ASSERT_NO_FATAL_FAILURE(Retype("new-password", strong));
    ASSERT_NO_FATAL_FAILURE(Retype("new-password2", strong));
    ASSERT_NO_FATAL_FAILURE(WaitText("policy", "符合要求"));
    ASSERT_NO_FATAL_FAILURE(Click("#password-submit"));
    ASSERT_NO_FATAL_FAILURE(
        WaitFor("!document.getElementById('page-app').hidden && "
                "document.getElementById('menu').children.length > 0",
                "the app after the password change"));
  }
  // The initial password on the last handover slip shown.
  std::string SlipPassword() {
    return Eval(
        "var p = document.querySelectorAll('#slips .slip-password'); "
        "return p.length ? p[p.length - 1].textContent : '';");
  }

 private:
  WebDriverSession* browser_;
  std::string base_url_;
};

}  // namespace unionsync::testing

#endif  // UNIONSYNC_TESTS_DASHBOARD_WORKBENCH_PAGE_H_
