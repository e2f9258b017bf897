// The dashboard's HTTP layer against an in-test backend that returns fixed
// protos: routing, login and cookies, sessions, error mapping, limits,
// security headers and the JSON shape, through a real HTTP client.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "dashboard/dashboard.h"
#include "dashboard/fake_backend.h"
#include "dashboard/workbench.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "testing/status_matchers.h"

namespace unionsync {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using ::unionsync::testing::FakeBackend;
using ::unionsync::testing::StatusIs;

constexpr char kFormType[] = "application/x-www-form-urlencoded";

std::string Form(const std::string& user, const std::string& password) {
  return absl::StrCat("username=", user, "&password=", password);
}

// The raw bytes of a GET response (HTTP/1.0, so the server closes).
std::string RawGet(int port, const std::string& path,
                   const std::string& token) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  std::string request =
      absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\nCookie: ",
                   "us_session=", token, "\r\n\r\n");
  EXPECT_EQ(send(fd, request.data(), request.size(), 0),
            static_cast<ssize_t>(request.size()));
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) out.append(buf, n);
  close(fd);
  return out;
}

class DashboardHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dashboard = Dashboard::Start(DashboardOptions(), &backend_);
    ASSERT_TRUE(dashboard.ok()) << dashboard.status();
    dashboard_ = *std::move(dashboard);
    ASSERT_GT(dashboard_->port(), 0);
    client_ =
        std::make_unique<httplib::Client>("127.0.0.1", dashboard_->port());
    client_->set_connection_timeout(5);
    client_->set_read_timeout(10);
  }

  void TearDown() override { dashboard_.reset(); }

  httplib::Result Get(const std::string& path, const std::string& token = "") {
    httplib::Headers h;
    if (!token.empty()) h.emplace("Cookie", "us_session=" + token);
    return client_->Get(path.c_str(), h);
  }

  httplib::Result Post(const std::string& path, const std::string& body,
                       const std::string& token = "", httplib::Headers h = {}) {
    if (!token.empty()) h.emplace("Cookie", "us_session=" + token);
    return client_->Post(path.c_str(), h, body, kFormType);
  }

  // Logs in through the form and returns the cookie's token.
  std::string LogIn() {
    auto res = Post("/login", Form(testing::kGoodUser, "Str0ng-Passw0rd%21"));
    EXPECT_TRUE(res);
    if (!res) return "";
    EXPECT_EQ(res->status, 303);
    std::string cookie = res->get_header_value("Set-Cookie");
    std::string prefix = "us_session=";
    EXPECT_THAT(cookie, StartsWith(prefix));
    std::string token = cookie.substr(prefix.size());
    return token.substr(0, token.find(';'));
  }

  template <typename Message>
  Message ParseJson(const std::string& body) {
    Message m;
    auto s = google::protobuf::util::JsonStringToMessage(body, &m);
    EXPECT_TRUE(s.ok()) << s.ToString() << "\n" << body;
    return m;
  }

  FakeBackend backend_;
  std::unique_ptr<Dashboard> dashboard_;
  std::unique_ptr<httplib::Client> client_;
};

void ExpectSecurityHeaders(const httplib::Response& res) {
  EXPECT_THAT(res.get_header_value("Content-Security-Policy"),
              HasSubstr("default-src 'self'"));
  EXPECT_THAT(res.get_header_value("Content-Security-Policy"),
              Not(HasSubstr("unsafe-inline")));
  EXPECT_EQ(res.get_header_value("X-Content-Type-Options"), "nosniff");
}

TEST_F(DashboardHttpTest, LoginPageIsAChineseFormServedLocally) {
  auto res = Get("/login");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->get_header_value("Content-Type"), StartsWith("text/html"));
  EXPECT_THAT(
      res->body,
      AllOf(HasSubstr("用户名"), HasSubstr("密码"), HasSubstr("登录"),
            HasSubstr("lang=\"zh-CN\""), HasSubstr("action=\"/login\""),
            HasSubstr("method=\"post\""), HasSubstr("/static/app.css")));
  EXPECT_THAT(res->body, Not(HasSubstr("http://")));
  EXPECT_THAT(res->body, Not(HasSubstr("https://")));
  EXPECT_THAT(res->body, Not(HasSubstr("<script>")));
  ExpectSecurityHeaders(*res);
}

TEST_F(DashboardHttpTest, PagesWithoutSessionRedirectToLogin) {
  auto res = Get("/");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 302);
  EXPECT_EQ(res->get_header_value("Location"), "/login");
  // A cookie the backend does not know is no session either.
  res = Get("/", "tok-unknown");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 302);
  EXPECT_EQ(res->get_header_value("Location"), "/login");
  EXPECT_THAT(res->get_header_value("Set-Cookie"), HasSubstr("Max-Age=0"));
}

TEST_F(DashboardHttpTest, ApiWithoutSessionIs401Json) {
  for (const char* path : {"/api/progress", "/api/progress?view=regions",
                           "/api/timeseries", "/api/warnings", "/api/conflicts",
                           "/api/freshness", "/api/progress.csv"}) {
    SCOPED_TRACE(path);
    auto res = Get(path);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401);
    EXPECT_THAT(res->get_header_value("Content-Type"),
                StartsWith("application/json"));
    EXPECT_THAT(res->body, HasSubstr("\"error\":"));
    EXPECT_EQ(res->get_header_value("Cache-Control"), "no-store");
    res = Get(path, "tok-unknown");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401);
    EXPECT_THAT(res->body, HasSubstr("\"error\":"));
  }
}

TEST_F(DashboardHttpTest, LoginSetsSessionCookieAndRedirectsToDashboard) {
  auto res = Post("/login", Form("staff", "Str0ng-Passw0rd%21"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 303);
  EXPECT_EQ(res->get_header_value("Location"), "/");
  std::string cookie = res->get_header_value("Set-Cookie");
  EXPECT_THAT(cookie, StartsWith("us_session=tok"));
  EXPECT_THAT(cookie, HasSubstr("; HttpOnly"));
  EXPECT_THAT(cookie, HasSubstr("; SameSite=Strict"));
  EXPECT_THAT(cookie, HasSubstr("; Path=/"));
  EXPECT_THAT(backend_.last_peer(), StartsWith("http:127.0.0.1:"));

  std::string token = cookie.substr(11, cookie.find(';') - 11);
  res = Get("/", token);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->get_header_value("Content-Type"), StartsWith("text/html"));
  EXPECT_EQ(res->get_header_value("Cache-Control"), "no-store");
  ExpectSecurityHeaders(*res);
  for (const char* id :
       {"city-grassroots", "city-expected-grassroots", "city-members",
        "city-profile-complete", "city-activated", "city-new-grassroots-today",
        "city-new-members-today", "city-new-grassroots-week",
        "city-new-members-week", "regions", "systems", "warnings", "conflicts",
        "nodes", "chart-grassroots", "chart-members"}) {
    EXPECT_THAT(res->body, HasSubstr(absl::StrCat("id=\"", id, "\""))) << id;
  }
  EXPECT_THAT(
      res->body,
      AllOf(HasSubstr("已录入基层工会"), HasSubstr("会员人数"),
            HasSubstr("资料完整"), HasSubstr("已激活"), HasSubstr("今日新增"),
            HasSubstr("本周新增"), HasSubstr("按区域"), HasSubstr("按系统"),
            HasSubstr("严重程度"), HasSubstr("发生时间"),
            HasSubstr("已上报上级"), HasSubstr("最近同步")));
  // Only local resources, and no inline script or style (CSP).
  EXPECT_THAT(res->body, HasSubstr("<script src=\"/static/app.js\""));
  EXPECT_THAT(res->body, Not(HasSubstr("<script>")));
  EXPECT_THAT(res->body, Not(HasSubstr("style=")));
  EXPECT_THAT(res->body, Not(HasSubstr("https://")));
}

TEST_F(DashboardHttpTest, WrongPasswordShowsTheFormAgainWith401) {
  auto res = Post("/login", Form("staff", "wrong"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_FALSE(res->has_header("Set-Cookie"));
  EXPECT_THAT(res->body, HasSubstr("用户名或密码错误"));
  EXPECT_THAT(res->body, HasSubstr("id=\"login-form\""));
  EXPECT_THAT(res->body, HasSubstr("value=\"staff\""));
  // The echoed username is escaped.
  res = Post("/login", Form("%3Cscript%3Ex%22", "wrong"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_THAT(res->body, HasSubstr("value=\"&lt;script&gt;x&quot;\""));
  EXPECT_THAT(res->body, Not(HasSubstr("<script>x")));
}

TEST_F(DashboardHttpTest, InitialPasswordMustBeChangedWithUnionctl) {
  auto res = Post("/login", Form(testing::kInitialUser, "Initial-123"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  EXPECT_FALSE(res->has_header("Set-Cookie"));
  EXPECT_THAT(res->body, HasSubstr("unionctl passwd"));
  EXPECT_THAT(res->body, HasSubstr("修改密码"));
}

TEST_F(DashboardHttpTest, LockedOutAccountIs429) {
  auto res = Post("/login", Form(testing::kLockedUser, "whatever"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 429);
  EXPECT_THAT(res->body, HasSubstr("锁定"));
}

TEST_F(DashboardHttpTest, LoginRefusesMissingFieldsQueryStringAndOtherTypes) {
  auto res = Post("/login", "username=staff");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  // Credentials in the URL are not read.
  res = client_->Post("/login?username=staff&password=Str0ng-Passw0rd%21", "",
                      kFormType);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  res = client_->Post("/login", "{\"username\":\"staff\"}", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(backend_.logins(), 0);
}

// Forms are limited to 8 KiB (cpp-httplib's limit for form bodies); the
// workbench's JSON calls to 1 MiB (WorkbenchHttpTest).
TEST_F(DashboardHttpTest, FormBodyOver8KiBIsRefused) {
  std::string body = Form("staff", std::string(9000, 'a'));
  auto res = Post("/login", body);
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 413);
  EXPECT_EQ(backend_.logins(), 0);
  ExpectSecurityHeaders(*res);
  // Just under the limit is read (and refused for its content).
  res = Post("/login", absl::StrCat(Form("staff", "wrong"),
                                    "&pad=", std::string(8000, 'a')));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(backend_.logins(), 1);
}

TEST_F(DashboardHttpTest, CrossSiteFormPostIsRefused) {
  auto res = Post("/login", Form("staff", "Str0ng-Passw0rd%21"), "",
                  {{"Origin", "http://evil.example"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  EXPECT_FALSE(res->has_header("Set-Cookie"));
  EXPECT_EQ(backend_.logins(), 0);
  res = Post("/login", Form("staff", "Str0ng-Passw0rd%21"), "",
             {{"Origin", "null"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  EXPECT_EQ(backend_.logins(), 0);
  // The page's own origin is fine (and the page's Referrer-Policy lets
  // browsers send it: "no-referrer" would make it "null").
  EXPECT_EQ(Get("/login")->get_header_value("Referrer-Policy"), "same-origin");
  res =
      Post("/login", Form("staff", "Str0ng-Passw0rd%21"), "",
           {{"Origin", absl::StrCat("http://127.0.0.1:", dashboard_->port())}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 303);
}

TEST_F(DashboardHttpTest, LogoutEndsTheSession) {
  std::string token = LogIn();
  ASSERT_FALSE(token.empty());
  auto res = Get("/api/progress", token);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);

  res = Post("/logout", "", token);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 303);
  EXPECT_EQ(res->get_header_value("Location"), "/login");
  EXPECT_THAT(res->get_header_value("Set-Cookie"),
              AllOf(StartsWith("us_session=;"), HasSubstr("Max-Age=0")));
  EXPECT_EQ(backend_.logouts(), 1);

  res = Get("/api/progress", token);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  res = Get("/", token);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 302);
}

TEST_F(DashboardHttpTest, ExpiredSessionGoesBackToLogin) {
  std::string token = LogIn();
  backend_.RevokeAll();
  auto res = Get("/", token);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 302);
  EXPECT_EQ(res->get_header_value("Location"), "/login");
  res = Get("/api/warnings", token);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_THAT(res->body, HasSubstr("重新登录"));
}

TEST_F(DashboardHttpTest, ProgressJsonKeepsProtoFieldNamesAndZeros) {
  std::string token = LogIn();
  auto res = Get("/api/progress?view=regions", token);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->get_header_value("Content-Type"),
              StartsWith("application/json"));
  EXPECT_EQ(res->get_header_value("Cache-Control"), "no-store");
  ExpectSecurityHeaders(*res);
  EXPECT_EQ(backend_.last_progress().view(), "regions");
  EXPECT_THAT(
      res->body,
      AllOf(HasSubstr("\"expected_grassroots\":"),
            HasSubstr("\"new_members_today\":"),
            HasSubstr("\"as_of_date\":\"2026-11-27\""),
            HasSubstr("\"open_warnings\":0"), HasSubstr("\"behind\":false"),
            HasSubstr("\"behind\":true"), HasSubstr("芙蓉区")));
  auto parsed = ParseJson<v1::GetProgressResponse>(res->body);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      parsed, backend_.Progress("regions")))
      << parsed.DebugString();

  res = Get("/api/progress", token);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(backend_.last_progress().view(), "city");
  res = Get("/api/progress?view=children&org_id=d1", token);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(backend_.last_progress().view(), "children");
  EXPECT_EQ(backend_.last_progress().org_id(), "d1");
  res = Get("/api/progress?view=everything", token);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_THAT(res->body, HasSubstr("\"error\":"));
}

TEST_F(DashboardHttpTest, TimeSeriesWarningsAndFreshness) {
  std::string token = LogIn();
  auto res = Get("/api/timeseries", token);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(backend_.last_timeseries().scope(), "city");
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      ParseJson<v1::GetTimeSeriesResponse>(res->body), backend_.TimeSeries()));
  EXPECT_THAT(res->body, HasSubstr("\"target_grassroots\":"));
  res = Get("/api/timeseries?scope=region:430102&from=2026-11-01&to=2026-11-27",
            token);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(backend_.last_timeseries().scope(), "region:430102");
  EXPECT_EQ(backend_.last_timeseries().from_date(), "2026-11-01");
  EXPECT_EQ(backend_.last_timeseries().to_date(), "2026-11-27");

  res = Get("/api/warnings?include_cleared=true&page_size=50&org_id=d1", token);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_TRUE(backend_.last_warnings().include_cleared());
  EXPECT_EQ(backend_.last_warnings().page_size(), 50);
  EXPECT_EQ(backend_.last_warnings().org_id(), "d1");
  EXPECT_THAT(res->body, AllOf(HasSubstr("\"severity\":\"SEVERITY_SERIOUS\""),
                               HasSubstr("\"escalated_to\":\"430100\""),
                               HasSubstr("\"escalated_to\":\"\"")));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      ParseJson<v1::ListWarningsResponse>(res->body), backend_.Warnings()));
  res = Get("/api/warnings?page_size=abc", token);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);

  res = Get("/api/freshness", token);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      ParseJson<v1::GetSyncFreshnessResponse>(res->body),
      backend_.Freshness()));
  EXPECT_THAT(res->body, HasSubstr("\"connected\":false"));
}

TEST_F(DashboardHttpTest, ConflictsReachTheBrowserWithoutPersonalData) {
  std::string token = LogIn();
  auto res = Get("/api/conflicts?include_closed=1", token);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_TRUE(backend_.last_conflicts().include_closed());
  EXPECT_THAT(res->body,
              AllOf(HasSubstr("DUPLICATE_PERSON/k1"), HasSubstr("m-g1"),
                    HasSubstr("某某公司工会"), HasSubstr("尾号 123X")));
  for (const char* personal : {"43010219800101123X", "张三", "13800000000",
                               "李四", "13900000000", "某路 1 号"}) {
    EXPECT_THAT(res->body, Not(HasSubstr(personal))) << personal;
  }
  auto parsed = ParseJson<v1::ListConflictsResponse>(res->body);
  ASSERT_EQ(parsed.conflicts_size(), 1);
  ASSERT_EQ(parsed.conflicts(0).sides_size(), 3);
  EXPECT_EQ(parsed.conflicts(0).sides(0).member().org_id(), "g1");
  EXPECT_EQ(parsed.conflicts(0).sides(0).member().status(), v1::MEMBER_ACTIVE);
}

TEST_F(DashboardHttpTest, CsvExportIsAUtf8Download) {
  std::string token = LogIn();
  auto res = Get("/api/progress.csv", token);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(backend_.last_csv().view(), "regions");
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/csv; charset=utf-8");
  EXPECT_EQ(res->get_header_value("Cache-Control"), "no-store");
  // httplib's client percent-decodes header values: read the raw response.
  std::string raw = RawGet(dashboard_->port(), "/api/progress.csv", token);
  std::string disposition;
  for (absl::string_view line : absl::StrSplit(raw, "\r\n")) {
    if (absl::ConsumePrefix(&line, "Content-Disposition: ")) {
      disposition = std::string(line);
    }
  }
  EXPECT_THAT(disposition, StartsWith("attachment; filename=\""));
  EXPECT_THAT(disposition, HasSubstr("-2026-11-27.csv\""));
  // "进度报表" percent-encoded as UTF-8.
  EXPECT_THAT(disposition,
              HasSubstr("filename*=UTF-8''%E8%BF%9B%E5%BA%A6%E6%8A%A5%E8%A1%A8"
                        "-2026-11-27.csv"));
  EXPECT_EQ(res->body, FakeBackend::kCsv);
  res = Get("/api/progress.csv?view=systems", token);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(backend_.last_csv().view(), "systems");
}

TEST_F(DashboardHttpTest, BackendErrorsMapToHttpStatus) {
  std::string token = LogIn();
  struct Case {
    absl::Status status;
    int http;
  };
  for (const Case& c : std::vector<Case>{
           {absl::UnauthenticatedError("session expired"), 401},
           {absl::PermissionDeniedError("not in your subtree"), 403},
           {absl::InvalidArgumentError("bad scope"), 400},
           {absl::NotFoundError("no such organisation"), 404},
           {absl::FailedPreconditionError("not the hub"), 412},
           {absl::InternalError("rocksdb: /var/secret/path"), 500},
       }) {
    SCOPED_TRACE(c.status.ToString());
    backend_.FailWith("ListWarnings", c.status);
    auto res = Get("/api/warnings", token);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, c.http);
    EXPECT_THAT(res->get_header_value("Content-Type"),
                StartsWith("application/json"));
    EXPECT_THAT(res->body, StartsWith("{\"error\":\""));
    if (c.http == 500) {
      EXPECT_THAT(res->body, Not(HasSubstr("rocksdb")));
    } else {
      EXPECT_THAT(res->body, HasSubstr(std::string(c.status.message())));
    }
  }
  backend_.FailWith("ListWarnings", absl::OkStatus());
  backend_.FailWith("ExportProgressCsv", absl::PermissionDeniedError("no"));
  auto res = Get("/api/progress.csv", token);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  EXPECT_FALSE(res->has_header("Content-Disposition"));
  // A failing figure query does not hide the page (only a dead session does).
  backend_.FailWith("GetProgress", absl::PermissionDeniedError("no"));
  res = Get("/", token);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

TEST_F(DashboardHttpTest, MetricsNeedAnOperatorCredential) {
  auto refused = Get("/metrics");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  EXPECT_EQ(refused->get_header_value("WWW-Authenticate"),
            "Basic realm=\"unionsync metrics\"");
  EXPECT_FALSE(absl::StrContains(refused->body, FakeBackend::kMetrics));
  auto res = Get("/metrics", LogIn());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->get_header_value("Content-Type"),
              StartsWith("text/plain; version=0.0.4"));
  EXPECT_EQ(res->body, FakeBackend::kMetrics);
  ExpectSecurityHeaders(*res);
}

TEST_F(DashboardHttpTest, StaticAssetsArePublicAndTyped) {
  auto res = Get("/static/app.js");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->get_header_value("Content-Type"),
              StartsWith("text/javascript"));
  EXPECT_THAT(res->body, AllOf(HasSubstr("setInterval"), HasSubstr("10000"),
                               HasSubstr("/api/progress?view=regions"),
                               HasSubstr("/api/timeseries?scope=city")));
  EXPECT_THAT(res->body, Not(HasSubstr("innerHTML")));
  EXPECT_THAT(res->body, Not(HasSubstr("https://")));
  ExpectSecurityHeaders(*res);
  res = Get("/static/app.css");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->get_header_value("Content-Type"), StartsWith("text/css"));
  EXPECT_THAT(res->body, Not(HasSubstr("@import")));
  EXPECT_THAT(res->body, Not(HasSubstr("url(")));
}

TEST_F(DashboardHttpTest, UnknownPathsAre404) {
  auto res = Get("/nope");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  ExpectSecurityHeaders(*res);
  res = Get("/api/nope", LogIn());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_THAT(res->body, StartsWith("{\"error\":"));
  EXPECT_EQ(res->get_header_value("Cache-Control"), "no-store");
  res = Get("/static/../dashboard.cc");
  ASSERT_TRUE(res);
  EXPECT_NE(res->status, 200);
}

TEST_F(DashboardHttpTest, ConcurrentRequests) {
  std::string token = LogIn();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      httplib::Client c("127.0.0.1", dashboard_->port());
      httplib::Headers h{{"Cookie", "us_session=" + token}};
      for (int i = 0; i < 15; ++i) {
        auto res =
            c.Get(i % 2 ? "/api/progress?view=systems" : "/api/warnings", h);
        if (res && res->status == 200) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 6 * 15);
}

TEST(DashboardStartTest, RefusesBadOptionsAndBusyPorts) {
  FakeBackend backend;
  DashboardOptions o;
  o.listen = "no-port";
  EXPECT_THAT(Dashboard::Start(o, &backend),
              StatusIs(absl::StatusCode::kInvalidArgument));
  o.listen = "127.0.0.1:99999";
  EXPECT_THAT(Dashboard::Start(o, &backend),
              StatusIs(absl::StatusCode::kInvalidArgument));
  o.listen = "127.0.0.1:0";
  o.threads = 0;
  EXPECT_THAT(Dashboard::Start(o, &backend),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Dashboard::Start(DashboardOptions(), nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument));

  auto first = Dashboard::Start(DashboardOptions(), &backend);
  ASSERT_TRUE(first.ok()) << first.status();
  o = DashboardOptions();
  o.listen = absl::StrCat("127.0.0.1:", (*first)->port());
  EXPECT_THAT(Dashboard::Start(o, &backend),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST(DashboardStartTest, StopIsIdempotentAndClosesThePort) {
  FakeBackend backend;
  auto d = Dashboard::Start(DashboardOptions(), &backend);
  ASSERT_TRUE(d.ok()) << d.status();
  int port = (*d)->port();
  httplib::Client c("127.0.0.1", port);
  auto res = c.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  (*d)->Stop();
  (*d)->Stop();
  httplib::Client after("127.0.0.1", port);
  after.set_connection_timeout(2);
  EXPECT_FALSE(after.Get("/metrics"));
  // Start then Stop at once does not hang.
  for (int i = 0; i < 5; ++i) {
    auto quick = Dashboard::Start(DashboardOptions(), &backend);
    ASSERT_TRUE(quick.ok());
    (*quick)->Stop();
  }
}

}  // namespace
}  // namespace unionsync

namespace unionsync {
namespace {

// --- The workbench (dashboard/workbench.h)
// ------------------------------------

class WorkbenchHttpTest : public DashboardHttpTest {
 protected:
  httplib::Result Api(const std::string& method, const std::string& json,
                      const std::string& cookies, const std::string& csrf) {
    httplib::Headers h;
    if (!cookies.empty()) h.emplace("Cookie", cookies);
    if (!csrf.empty()) h.emplace("X-CSRF-Token", csrf);
    return client_->Post(("/api/v1/" + method).c_str(), h, json,
                         "application/json");
  }
  static std::string CookieOf(const httplib::Response& res,
                              const std::string& name) {
    for (size_t i = 0; i < res.get_header_value_count("Set-Cookie"); ++i) {
      std::string c = res.get_header_value("Set-Cookie", i);
      if (absl::StartsWith(c, name + "=")) {
        return c.substr(name.size() + 1, c.find(';') - name.size() - 1);
      }
    }
    return "";
  }
};

TEST_F(WorkbenchHttpTest, PageAndAssetsAreServedLocallyUnderTheCsp) {
  for (const char* path :
       {"/wb", "/wb/static/wb-core.js", "/wb/static/wb-session.js",
        "/wb/static/wb-members.js", "/wb/static/workbench.css",
        "/wb/static/bootstrap.min.css", "/wb/static/chart.min.js"}) {
    auto res = Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 200) << path;
    EXPECT_GT(res->body.size(), 100u) << path;
    ExpectSecurityHeaders(*res);
  }
  auto page = Get("/wb");
  EXPECT_THAT(page->body, HasSubstr("工作台"));
  EXPECT_THAT(page->body, Not(HasSubstr("http://")));
  EXPECT_THAT(page->body, Not(HasSubstr("<script>")));
  EXPECT_EQ(Get("/wb/static/nothing.js")->status, 404);
}

TEST_F(WorkbenchHttpTest, LoginSetsAnHttpOnlySessionAndACsrfCookie) {
  auto login = Api("AdminService.Login",
                   "{\"username\":\"staff\",\"password\":\"x\"}", "", "");
  ASSERT_TRUE(login);
  ASSERT_EQ(login->status, 200) << login->body;
  const std::string token = CookieOf(*login, "us_session");
  const std::string csrf = CookieOf(*login, "us_csrf");
  ASSERT_FALSE(token.empty());
  ASSERT_EQ(csrf.size(), 32u);
  // The token is never in the body the page's script reads.
  EXPECT_THAT(login->body, Not(HasSubstr(token)));
  bool http_only = false;
  for (size_t i = 0; i < login->get_header_value_count("Set-Cookie"); ++i) {
    std::string c = login->get_header_value("Set-Cookie", i);
    if (absl::StartsWith(c, "us_session=")) {
      http_only = absl::StrContains(c, "HttpOnly") &&
                  absl::StrContains(c, "SameSite=Strict");
    }
  }
  EXPECT_TRUE(http_only);
  const std::string cookies =
      absl::StrCat("us_session=", token, "; us_csrf=", csrf);
  // With the header: through to the backend.
  auto ok = Api("AdminService.WhoAmI", "{}", cookies, csrf);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_THAT(ok->body, HasSubstr("AdminService.WhoAmI"));
  // Without it, or with another value: refused before the backend.
  for (const std::string& bad : {std::string(), std::string("0123")}) {
    auto refused = Api("AdminService.WhoAmI", "{}", cookies, bad);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 403);
    EXPECT_THAT(refused->body, HasSubstr("CSRF"));
    EXPECT_THAT(refused->body, HasSubstr("\"text\":"));
  }
  // A body over 1 MiB is refused before anything reads it.
  auto huge =
      Api("AdminService.WhoAmI",
          absl::StrCat("{\"x\":\"", std::string((1 << 20) + 1, 'a'), "\"}"),
          cookies, csrf);
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->status, 413);
  // No session at all.
  auto anonymous = Api("AdminService.WhoAmI", "{}", "", "");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  // A cross-site call, cookies and header included.
  httplib::Headers h = {{"Cookie", cookies},
                        {"X-CSRF-Token", csrf},
                        {"Origin", "http://evil.example"}};
  auto cross =
      client_->Post("/api/v1/AdminService.WhoAmI", h, "{}", "application/json");
  ASSERT_TRUE(cross);
  EXPECT_EQ(cross->status, 403);
  // Logout clears both cookies.
  auto out = Api("AdminService.Logout", "{}", cookies, csrf);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->status, 200);
  EXPECT_EQ(CookieOf(*out, "us_session"), "");
}

TEST_F(WorkbenchHttpTest, AnUploadStreamsItsProgressAsJsonLines) {
  auto login = Api("AdminService.Login",
                   "{\"username\":\"staff\",\"password\":\"x\"}", "", "");
  ASSERT_TRUE(login);
  const std::string csrf = CookieOf(*login, "us_csrf");
  const std::string cookies = absl::StrCat(
      "us_session=", CookieOf(*login, "us_session"), "; us_csrf=", csrf);
  auto upload = [&](const std::string& body, const std::string& token) {
    httplib::Headers h = {{"Cookie", cookies},
                          {"X-Upload-Options", "%7B%22dryRun%22%3Atrue%7D"}};
    if (!token.empty()) h.emplace("X-CSRF-Token", token);
    return client_->Post("/api/v1/IngestService.Import", h, body,
                         "application/octet-stream");
  };
  // The options arrive decoded; each progress message is one line, the
  // summary last.
  auto ok = upload(std::string(3000, 'x'), csrf);
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->status, 200) << ok->body;
  EXPECT_THAT(ok->get_header_value("Content-Type"),
              HasSubstr("application/x-ndjson"));
  std::vector<std::string> lines =
      absl::StrSplit(ok->body, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << ok->body;
  EXPECT_THAT(lines[0], HasSubstr("\"bytesReceived\":\"3000\""));
  EXPECT_THAT(lines[1], HasSubstr("\"message\":\"3000 bytes\""));
  // Past the backend's limit: its error, as JSON with the clerk's text.
  auto big = upload(std::string(5000, 'x'), csrf);
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 429);
  EXPECT_THAT(big->body, HasSubstr("\"text\":"));
  // Without the CSRF header: refused before the backend sees a byte.
  auto forged = upload("x", "");
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->status, 403);
}

TEST(ClerkTextTest, EveryErrorBecomesAChineseSentence) {
  EXPECT_EQ(ClerkText(absl::InvalidArgumentError("id_number: check digit")),
            "填写的内容有误，请按提示修改（id_number: check digit）");
  EXPECT_THAT(ClerkText(absl::PermissionDeniedError("")), HasSubstr("无权"));
  EXPECT_THAT(ClerkText(absl::InternalError("disk /var/lib/x")),
              Not(HasSubstr("/var/lib")));
}

}  // namespace
}  // namespace unionsync
