// The web server's HTTP layer (dashboard/dashboard.h, dashboard/workbench.h)
// against an in-test backend: routing, the workbench's sessions, cookies and
// CSRF, uploads, error mapping, body limits, security headers and /metrics,
// through a real HTTP client.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "dashboard/dashboard.h"
#include "dashboard/fake_backend.h"
#include "dashboard/workbench.h"
#include "testing/status_matchers.h"

namespace unionsync {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using ::unionsync::testing::FakeBackend;
using ::unionsync::testing::StatusIs;

void ExpectSecurityHeaders(const httplib::Response& res) {
  EXPECT_THAT(res.get_header_value("Content-Security-Policy"),
              HasSubstr("default-src 'self'"));
  EXPECT_THAT(res.get_header_value("Content-Security-Policy"),
              Not(HasSubstr("unsafe-inline")));
  EXPECT_EQ(res.get_header_value("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(res.get_header_value("X-Frame-Options"), "DENY");
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
  // Logs in through the JSON API; the cookies to send and the CSRF value.
  std::pair<std::string, std::string> LogIn() {
    auto login = Api("AdminService.Login",
                     "{\"username\":\"staff\",\"password\":\"x\"}", "", "");
    EXPECT_TRUE(login);
    if (!login) return {};
    const std::string csrf = CookieOf(*login, "us_csrf");
    return {absl::StrCat("us_session=", CookieOf(*login, "us_session"),
                         "; us_csrf=", csrf),
            csrf};
  }

  FakeBackend backend_;
  std::unique_ptr<Dashboard> dashboard_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(DashboardHttpTest, TheRootLeadsToTheWorkbench) {
  auto res = Get("/");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 302);
  EXPECT_EQ(res->get_header_value("Location"), "/wb");
  ExpectSecurityHeaders(*res);
  // The old dashboard's routes are gone.
  for (const char* path : {"/login", "/static/app.js", "/api/progress"}) {
    auto old = Get(path);
    ASSERT_TRUE(old);
    EXPECT_EQ(old->status, 404) << path;
  }
}

TEST_F(DashboardHttpTest, MetricsNeedAnOperatorCredential) {
  auto refused = Get("/metrics");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  EXPECT_EQ(refused->get_header_value("WWW-Authenticate"),
            "Basic realm=\"unionsync metrics\"");
  EXPECT_FALSE(absl::StrContains(refused->body, FakeBackend::kMetrics));
  auto [cookies, csrf] = LogIn();
  httplib::Headers h = {{"Cookie", cookies}};
  auto res = client_->Get("/metrics", h);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->get_header_value("Content-Type"),
              StartsWith("text/plain; version=0.0.4"));
  EXPECT_EQ(res->body, FakeBackend::kMetrics);
  ExpectSecurityHeaders(*res);
}

TEST_F(DashboardHttpTest, BackendErrorsMapToHttpStatusAndAClerksSentence) {
  auto [cookies, csrf] = LogIn();
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
           {absl::ResourceExhaustedError("locked"), 429},
           {absl::InternalError("rocksdb: /var/secret/path"), 500},
       }) {
    SCOPED_TRACE(c.status.ToString());
    backend_.FailWith("MonitorService.ListWarnings", c.status);
    auto res = Api("MonitorService.ListWarnings", "{}", cookies, csrf);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, c.http);
    EXPECT_THAT(res->get_header_value("Content-Type"),
                StartsWith("application/json"));
    EXPECT_EQ(res->get_header_value("Cache-Control"), "no-store");
    EXPECT_THAT(res->body, StartsWith("{\"error\":{\"code\":"));
    EXPECT_THAT(res->body, HasSubstr("\"text\":"));
    if (c.http == 500) {
      EXPECT_THAT(res->body, Not(HasSubstr("rocksdb")));
    } else {
      EXPECT_THAT(res->body, HasSubstr(std::string(c.status.message())));
    }
  }
}

TEST_F(DashboardHttpTest, UnknownPathsAre404AndBodiesAreBounded) {
  auto res = Get("/nope");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  ExpectSecurityHeaders(*res);
  res = Get("/api/nope");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_THAT(res->body, StartsWith("{\"error\":{\"code\":\"HTTP_404\""));
  EXPECT_EQ(res->get_header_value("Cache-Control"), "no-store");
  res = Get("/wb/static/../dashboard.cc");
  ASSERT_TRUE(res);
  EXPECT_NE(res->status, 200);
  // A body where none belongs is refused before it is read.
  httplib::Client raw("127.0.0.1", dashboard_->port());
  auto big =
      raw.Post("/metrics", std::string((1 << 20) + 1, 'a'), "text/plain");
  if (big) EXPECT_EQ(big->status, 413);
}

TEST_F(DashboardHttpTest, ConcurrentRequests) {
  auto [cookies, csrf] = LogIn();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, cookies = cookies, csrf = csrf] {
      httplib::Client c("127.0.0.1", dashboard_->port());
      httplib::Headers h{{"Cookie", cookies}, {"X-CSRF-Token", csrf}};
      for (int i = 0; i < 15; ++i) {
        auto res = c.Post(i % 2 ? "/api/v1/MonitorService.GetProgress"
                                : "/api/v1/MonitorService.ListWarnings",
                          h, "{}", "application/json");
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

// --- The workbench (dashboard/workbench.h)
// ------------------------------------

using WorkbenchHttpTest = DashboardHttpTest;

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
