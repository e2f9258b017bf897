#include "dashboard/dashboard.h"

#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "dashboard/assets.h"
#include "dashboard/http_internal.h"
#include "dashboard/workbench.h"
#include "google/protobuf/util/json_util.h"

namespace unionsync {
namespace {

using namespace dashboard_internal;  // NOLINT: this folder's helpers.

// Form posts are small; the workbench's JSON calls carry at most a member or
// a profile (the Admin API takes up to 1 MiB).
constexpr size_t kMaxBodyBytes = 1 << 20;
constexpr size_t kMaxUsernameBytes = 64;
constexpr size_t kMaxPasswordBytes = 1024;

constexpr char kHtml[] = "text/html; charset=utf-8";
constexpr char kJson[] = "application/json; charset=utf-8";
constexpr char kCsp[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

// ---------------------------------------------------------------------------
// Small text helpers.

std::string HtmlEscape(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes one application/x-www-form-urlencoded component ('+' is a space).
std::string FormDecode(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 &&
               HexValue(s[i + 2]) >= 0) {
      out.push_back(
          static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// The fields of a form-encoded body (the first value of each name wins).
std::vector<std::pair<std::string, std::string>> ParseForm(
    absl::string_view body) {
  std::vector<std::pair<std::string, std::string>> fields;
  for (absl::string_view part : absl::StrSplit(body, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(part, absl::MaxSplits('=', 1));
    fields.emplace_back(FormDecode(kv.first), FormDecode(kv.second));
  }
  return fields;
}

std::string FormValue(
    const std::vector<std::pair<std::string, std::string>>& fields,
    absl::string_view name) {
  for (const auto& [k, v] : fields) {
    if (k == name) return v;
  }
  return "";
}

std::string Peer(const httplib::Request& req) {
  return absl::StrCat("http:", req.remote_addr, ":", req.remote_port);
}

RequestContext ContextOf(const httplib::Request& req) {
  return RequestContext{SessionToken(req), Peer(req)};
}

void SetJsonError(httplib::Response& res, int http_status,
                  absl::string_view message) {
  res.status = http_status;
  res.set_content(absl::StrCat("{\"error\":", JsonQuote(message), "}\n"),
                  kJson);
}

// Maps a backend error to its HTTP status and a JSON body. Internal errors
// are logged here and answered with a generic message (their text may name
// files or hosts).
void SetStatusError(httplib::Response& res, const absl::Status& status) {
  int http = HttpStatusOf(status.code());
  if (http == 500) {
    std::fprintf(stderr, "dashboard: backend error: %s\n",
                 status.ToString().c_str());
    SetJsonError(res, 500, "服务器内部错误，请稍后再试");
    return;
  }
  if (status.code() == absl::StatusCode::kUnauthenticated) {
    SetJsonError(res, 401,
                 absl::StrCat("未登录或会话已过期，请重新登录（",
                              status.message(), "）"));
    return;
  }
  SetJsonError(res, http, status.message());
}

void SetJsonMessage(httplib::Response& res,
                    const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  auto status =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    std::fprintf(stderr, "dashboard: JSON encoding failed: %s\n",
                 status.ToString().c_str());
    SetJsonError(res, 500, "服务器内部错误，请稍后再试");
    return;
  }
  res.status = 200;
  json.push_back('\n');
  res.set_content(json, kJson);
}

template <typename Resp>
void Reply(httplib::Response& res, const absl::StatusOr<Resp>& result) {
  if (!result.ok()) {
    SetStatusError(res, result.status());
    return;
  }
  SetJsonMessage(res, *result);
}

// Parses an optional non-negative integer query parameter.
bool IntParam(const httplib::Request& req, const char* name, int32_t* out,
              httplib::Response& res) {
  if (!req.has_param(name)) return true;
  std::string v = req.get_param_value(name);
  if (v.empty()) return true;
  if (!absl::SimpleAtoi(v, out) || *out < 0) {
    SetJsonError(res, 400, absl::StrCat("参数 ", name, " 必须是非负整数"));
    return false;
  }
  return true;
}

bool BoolParam(const httplib::Request& req, const char* name) {
  std::string v = absl::AsciiStrToLower(req.get_param_value(name));
  return v == "1" || v == "true" || v == "yes" || v == "on";
}

// The personal fields of conflict sides are dropped before they reach the
// browser: the page shows which organisations are involved, never the
// people's records (data minimisation, R10.2). Staff who must resolve a
// conflict read it through the Monitor API, where the read is audited.
void StripPersonalData(v1::ListConflictsResponse* resp) {
  for (v1::Conflict& c : *resp->mutable_conflicts()) {
    for (v1::ConflictSide& side : *c.mutable_sides()) {
      if (side.has_member()) {
        const v1::Member& m = side.member();
        v1::Member kept;
        kept.set_id(m.id());
        kept.set_org_id(m.org_id());
        kept.set_status(m.status());
        *side.mutable_member() = std::move(kept);
      }
      if (side.has_org()) {
        v1::Org* org = side.mutable_org();
        org->clear_chair();
        org->clear_data_admin();
        org->clear_contact();
        org->clear_address();
      }
    }
  }
}

// The download name: an ASCII fallback and the UTF-8 name (RFC 6266/5987).
std::string ContentDisposition(const std::string& filename) {
  std::string name = filename.empty() ? "progress.csv" : filename;
  std::string ascii;
  std::string encoded;
  for (unsigned char c : name) {
    bool plain = absl::ascii_isalnum(c) || c == '.' || c == '-' || c == '_';
    ascii.push_back(plain ? static_cast<char>(c) : '_');
    if (plain) {
      encoded.push_back(static_cast<char>(c));
    } else {
      encoded += absl::StrFormat("%%%02X", c);
    }
  }
  return absl::StrCat("attachment; filename=\"", ascii, "\"; filename*=UTF-8''",
                      encoded);
}

std::string LoginPage(absl::string_view error, absl::string_view username) {
  std::string error_html;
  if (!error.empty()) {
    error_html = absl::StrCat(
        "<p id=\"login-error\" class=\"login-error\" role=\"alert\">",
        HtmlEscape(error), "</p>\n");
  }
  return absl::StrCat(dashboard_assets::kLoginHtmlHead, error_html,
                      dashboard_assets::kLoginHtmlFormStart,
                      HtmlEscape(username),
                      dashboard_assets::kLoginHtmlFormEnd);
}

void RedirectTo(httplib::Response& res, const char* location, int status) {
  res.status = status;
  res.set_header("Location", location);
  res.set_content("", "text/plain; charset=utf-8");
}

void ClearCookie(httplib::Response& res) {
  res.set_header("Set-Cookie",
                 absl::StrCat(kCookieName,
                              "=; HttpOnly; SameSite=Strict; Path=/; "
                              "Max-Age=0"));
}

}  // namespace

struct Dashboard::Impl {
  DashboardBackend* backend = nullptr;
  // An httplib::SSLServer when the node's certificate is given.
  std::unique_ptr<httplib::Server> server;
  bool tls = false;  // Cookies are Secure.
  std::thread thread;
  std::atomic<bool> finished{false};  // listen_after_bind returned.
  int port = 0;

  void InstallRoutes();

  void GetLogin(const httplib::Request& req, httplib::Response& res);
  void PostLogin(const httplib::Request& req, httplib::Response& res);
  void PostLogout(const httplib::Request& req, httplib::Response& res);
  void GetIndex(const httplib::Request& req, httplib::Response& res);
  // Runs `handler` when the request carries a session cookie; 401 otherwise.
  void Api(const httplib::Request& req, httplib::Response& res,
           const std::function<void(const RequestContext&)>& handler);
};

void Dashboard::Impl::InstallRoutes() {
  // httplib has one body limit for every route: the upload's. The workbench's
  // calls read their bodies with their own limits (workbench.cc); any other
  // request with a larger (or unannounced) body is refused here, before its
  // body is read.
  server->set_payload_max_length(kMaxUploadBytes);
  server->set_pre_routing_handler([](const httplib::Request& req,
                                     httplib::Response& res) {
    if (req.method == "POST" && absl::StartsWith(req.path, "/api/v1/")) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    const bool chunked = req.get_header_value("Transfer-Encoding") == "chunked";
    uint64_t length = 0;
    if (!chunked &&
        (!req.has_header("Content-Length") ||
         (absl::SimpleAtoi(req.get_header_value("Content-Length"), &length) &&
          length <= kMaxBodyBytes))) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    res.status = 413;
    res.set_header("Connection", "close");  // The body stays unread.
    return httplib::Server::HandlerResponse::Handled;
  });
  InstallWorkbench(*server, backend, tls);

  server->Get("/login", [this](const httplib::Request& req,
                               httplib::Response& res) { GetLogin(req, res); });
  server->Post("/login",
               [this](const httplib::Request& req, httplib::Response& res) {
                 PostLogin(req, res);
               });
  server->Post("/logout",
               [this](const httplib::Request& req, httplib::Response& res) {
                 PostLogout(req, res);
               });
  server->Get("/", [this](const httplib::Request& req, httplib::Response& res) {
    GetIndex(req, res);
  });
  server->Get(
      "/static/app.css", [](const httplib::Request&, httplib::Response& res) {
        res.set_header("Cache-Control", "no-cache");
        res.set_content(dashboard_assets::kAppCss, "text/css; charset=utf-8");
      });
  server->Get("/static/app.js", [](const httplib::Request&,
                                   httplib::Response& res) {
    res.set_header("Cache-Control", "no-cache");
    res.set_content(dashboard_assets::kAppJs, "text/javascript; charset=utf-8");
  });
  server->Get("/metrics", [this](const httplib::Request& req,
                                 httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    absl::Status allowed =
        backend->AuthorizeMetrics(req.get_header_value("Authorization"),
                                  SessionToken(req), req.remote_addr);
    if (!allowed.ok()) {
      res.status = absl::IsPermissionDenied(allowed) ? 403 : 401;
      res.set_header("WWW-Authenticate", "Basic realm=\"unionsync metrics\"");
      res.set_content(absl::StrCat(allowed.message(), "\n"),
                      "text/plain; charset=utf-8");
      return;
    }
    res.set_content(backend->MetricsText(),
                    "text/plain; version=0.0.4; charset=utf-8");
  });

  server->Get("/api/progress", [this](const httplib::Request& req,
                                      httplib::Response& res) {
    Api(req, res, [&](const RequestContext& ctx) {
      v1::GetProgressRequest r;
      std::string view = req.get_param_value("view");
      if (!view.empty() && view != "city" && view != "regions" &&
          view != "systems" && view != "children") {
        SetJsonError(res, 400,
                     "参数 view 必须是 city、regions、systems 或 children");
        return;
      }
      r.set_view(view.empty() ? "city" : view);
      r.set_org_id(req.get_param_value("org_id"));
      Reply(res, backend->GetProgress(ctx, r));
    });
  });
  server->Get("/api/progress.csv", [this](const httplib::Request& req,
                                          httplib::Response& res) {
    Api(req, res, [&](const RequestContext& ctx) {
      v1::ExportProgressCsvRequest r;
      std::string view = req.get_param_value("view");
      if (!view.empty() && view != "city" && view != "regions" &&
          view != "systems" && view != "children") {
        SetJsonError(res, 400,
                     "参数 view 必须是 city、regions、systems 或 children");
        return;
      }
      r.set_view(view.empty() ? "regions" : view);
      absl::StatusOr<v1::ExportProgressCsvResponse> csv =
          backend->ExportProgressCsv(ctx, r);
      if (!csv.ok()) {
        SetStatusError(res, csv.status());
        return;
      }
      res.set_header("Content-Disposition",
                     ContentDisposition(csv->filename()));
      res.set_content(csv->csv(), "text/csv; charset=utf-8");
    });
  });
  server->Get("/api/timeseries",
              [this](const httplib::Request& req, httplib::Response& res) {
                Api(req, res, [&](const RequestContext& ctx) {
                  v1::GetTimeSeriesRequest r;
                  std::string scope = req.get_param_value("scope");
                  r.set_scope(scope.empty() ? "city" : scope);
                  r.set_from_date(req.get_param_value("from"));
                  r.set_to_date(req.get_param_value("to"));
                  Reply(res, backend->GetTimeSeries(ctx, r));
                });
              });
  server->Get("/api/warnings",
              [this](const httplib::Request& req, httplib::Response& res) {
                Api(req, res, [&](const RequestContext& ctx) {
                  v1::ListWarningsRequest r;
                  int32_t page_size = 0;
                  if (!IntParam(req, "page_size", &page_size, res)) return;
                  r.set_org_id(req.get_param_value("org_id"));
                  r.set_include_cleared(BoolParam(req, "include_cleared"));
                  r.set_page_size(page_size);
                  r.set_page_token(req.get_param_value("page_token"));
                  Reply(res, backend->ListWarnings(ctx, r));
                });
              });
  server->Get("/api/conflicts",
              [this](const httplib::Request& req, httplib::Response& res) {
                Api(req, res, [&](const RequestContext& ctx) {
                  v1::ListConflictsRequest r;
                  int32_t page_size = 0;
                  if (!IntParam(req, "page_size", &page_size, res)) return;
                  r.set_include_closed(BoolParam(req, "include_closed"));
                  r.set_page_size(page_size);
                  r.set_page_token(req.get_param_value("page_token"));
                  absl::StatusOr<v1::ListConflictsResponse> resp =
                      backend->ListConflicts(ctx, r);
                  if (resp.ok()) StripPersonalData(&*resp);
                  Reply(res, resp);
                });
              });
  server->Get("/api/freshness", [this](const httplib::Request& req,
                                       httplib::Response& res) {
    Api(req, res, [&](const RequestContext& ctx) {
      Reply(res, backend->GetSyncFreshness(ctx, v1::GetSyncFreshnessRequest()));
    });
  });

  // Errors without a body of their own (404, 405, 413, ...): JSON under /api,
  // a short page elsewhere.
  server->set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty())
          return httplib::Server::HandlerResponse::Unhandled;
        std::string message;
        switch (res.status) {
          case 404:
            message = "页面不存在";
            break;
          case 405:
            message = "不支持该请求方法";
            break;
          case 413:
            message = "请求内容过大";
            break;
          default:
            message = absl::StrCat("请求失败（HTTP ", res.status, "）");
        }
        if (absl::StartsWith(req.path, "/api/")) {
          res.set_content(
              absl::StrCat("{\"error\":", JsonQuote(message), "}\n"), kJson);
        } else {
          res.set_content(absl::StrCat(message, "\n"),
                          "text/plain; charset=utf-8");
        }
        return httplib::Server::HandlerResponse::Handled;
      }));
  server->set_exception_handler([](const httplib::Request& req,
                                   httplib::Response& res,
                                   std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    std::fprintf(stderr, "dashboard: %s %s: %s\n", req.method.c_str(),
                 req.path.c_str(), what.c_str());
    SetJsonError(res, 500, "服务器内部错误，请稍后再试");
  });
  // Security headers on every response, errors included.
  server->set_post_routing_handler(
      [](const httplib::Request& req, httplib::Response& res) {
        res.set_header("Content-Security-Policy", kCsp);
        res.set_header("X-Content-Type-Options", "nosniff");
        res.set_header("X-Frame-Options", "DENY");
        // Not "no-referrer": with it Chromium sends "Origin: null" on form
        // posts, which SameOrigin() must refuse.
        res.set_header("Referrer-Policy", "same-origin");
        if (absl::StartsWith(req.path, "/api/") &&
            !res.has_header("Cache-Control")) {
          res.set_header("Cache-Control", "no-store");
        }
      });
}

void Dashboard::Impl::GetLogin(const httplib::Request& req,
                               httplib::Response& res) {
  res.set_header("Cache-Control", "no-store");
  res.set_content(LoginPage("", ""), kHtml);
}

void Dashboard::Impl::PostLogin(const httplib::Request& req,
                                httplib::Response& res) {
  res.set_header("Cache-Control", "no-store");
  if (!SameOrigin(req)) {
    res.status = 403;
    res.set_content(LoginPage("请求来源不符，请从登录页面重新登录。", ""),
                    kHtml);
    return;
  }
  if (!absl::StartsWithIgnoreCase(req.get_header_value("Content-Type"),
                                  "application/x-www-form-urlencoded")) {
    res.status = 400;
    res.set_content(LoginPage("请通过登录页面提交用户名和密码。", ""), kHtml);
    return;
  }
  // The body only: credentials in the query string would end up in logs.
  auto form = ParseForm(req.body);
  std::string username =
      std::string(absl::StripAsciiWhitespace(FormValue(form, "username")));
  std::string password = FormValue(form, "password");
  if (username.empty() || password.empty() ||
      username.size() > kMaxUsernameBytes ||
      password.size() > kMaxPasswordBytes) {
    res.status = 400;
    res.set_content(
        LoginPage("请输入用户名和密码。",
                  username.size() <= kMaxUsernameBytes ? username : ""),
        kHtml);
    return;
  }
  absl::StatusOr<std::string> token =
      backend->Login(username, password, Peer(req));
  if (token.ok() && !IsCookieSafe(*token)) {
    std::fprintf(stderr, "dashboard: session token not usable as a cookie\n");
    backend->Logout(*token);
    token = absl::InternalError("session token not usable as a cookie");
  }
  if (!token.ok()) {
    std::string message;
    switch (token.status().code()) {
      case absl::StatusCode::kUnauthenticated:
        res.status = 401;
        message = "用户名或密码错误，请重新输入。";
        break;
      case absl::StatusCode::kFailedPrecondition:
        res.status = 403;
        message =
            "该账号的密码是初始密码或已被重置，必须先修改密码：请使用命令 "
            "unionctl passwd 修改密码后再登录。";
        break;
      case absl::StatusCode::kResourceExhausted:
        res.status = 429;
        message = "登录失败次数过多，账号已被暂时锁定，请稍后再试。";
        break;
      case absl::StatusCode::kPermissionDenied:
        res.status = 403;
        message = "该账号不能登录（可能已被停用），请联系上级工会。";
        break;
      case absl::StatusCode::kInvalidArgument:
        res.status = 400;
        message = "用户名或密码格式不正确，请重新输入。";
        break;
      default:
        std::fprintf(stderr, "dashboard: login failed: %s\n",
                     token.status().ToString().c_str());
        res.status = 500;
        message = "暂时无法登录，请稍后再试。";
    }
    res.set_content(LoginPage(message, username), kHtml);
    return;
  }
  res.set_header("Set-Cookie",
                 absl::StrCat(kCookieName, "=", *token,
                              "; HttpOnly; SameSite=Strict; Path=/",
                              tls ? "; Secure" : ""));
  RedirectTo(res, "/", 303);
}

void Dashboard::Impl::PostLogout(const httplib::Request& req,
                                 httplib::Response& res) {
  if (!SameOrigin(req)) {
    res.status = 403;
    res.set_content("请求来源不符\n", "text/plain; charset=utf-8");
    return;
  }
  std::string token = SessionToken(req);
  if (!token.empty()) backend->Logout(token);
  ClearCookie(res);
  RedirectTo(res, "/login", 303);
}

void Dashboard::Impl::GetIndex(const httplib::Request& req,
                               httplib::Response& res) {
  RequestContext ctx = ContextOf(req);
  if (ctx.token.empty()) {
    RedirectTo(res, "/login", 302);
    return;
  }
  // Checks the session with the cheapest figure query: an expired or revoked
  // session goes back to the login form instead of an empty page.
  v1::GetProgressRequest probe;
  probe.set_view("city");
  absl::StatusOr<v1::GetProgressResponse> check =
      backend->GetProgress(ctx, probe);
  if (!check.ok() &&
      check.status().code() == absl::StatusCode::kUnauthenticated) {
    ClearCookie(res);
    RedirectTo(res, "/login", 302);
    return;
  }
  res.set_header("Cache-Control", "no-store");
  res.set_content(dashboard_assets::kIndexHtml, kHtml);
}

void Dashboard::Impl::Api(
    const httplib::Request& req, httplib::Response& res,
    const std::function<void(const RequestContext&)>& handler) {
  RequestContext ctx = ContextOf(req);
  if (ctx.token.empty()) {
    SetJsonError(res, 401, "未登录或会话已过期，请重新登录");
    return;
  }
  handler(ctx);
}

// ---------------------------------------------------------------------------

namespace {

// Splits "host:port" / "[v6]:port".
absl::Status ParseListen(const std::string& listen, std::string* host,
                         int* port) {
  absl::string_view s = listen;
  absl::string_view port_text;
  if (absl::ConsumePrefix(&s, "[")) {
    size_t close = s.find(']');
    if (close == absl::string_view::npos || close + 1 >= s.size() ||
        s[close + 1] != ':') {
      return absl::InvalidArgumentError(absl::StrCat(
          "dashboard listen address \"", listen, "\": expected [host]:port"));
    }
    *host = std::string(s.substr(0, close));
    port_text = s.substr(close + 2);
  } else {
    size_t colon = s.rfind(':');
    if (colon == absl::string_view::npos || s.find(':') != colon) {
      return absl::InvalidArgumentError(absl::StrCat(
          "dashboard listen address \"", listen, "\": expected host:port"));
    }
    *host = std::string(s.substr(0, colon));
    port_text = s.substr(colon + 1);
  }
  if (host->empty() || !absl::SimpleAtoi(port_text, port) || *port < 0 ||
      *port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dashboard listen address \"", listen, "\": bad host or port"));
  }
  return absl::OkStatus();
}

}  // namespace

Dashboard::Dashboard(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Dashboard::~Dashboard() { Stop(); }

int Dashboard::port() const { return impl_->port; }

absl::StatusOr<std::unique_ptr<Dashboard>> Dashboard::Start(
    DashboardOptions options, DashboardBackend* backend) {
  if (backend == nullptr) {
    return absl::InvalidArgumentError("dashboard: no backend");
  }
  if (options.threads < 1 || options.threads > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("dashboard threads must be 1..64, got ", options.threads));
  }
  std::string host;
  int port = 0;
  absl::Status parsed = ParseListen(options.listen, &host, &port);
  if (!parsed.ok()) return parsed;

  auto impl = std::make_unique<Impl>();
  impl->backend = backend;
  if (!options.tls_cert_pem_path.empty()) {
    auto ssl = std::make_unique<httplib::SSLServer>(
        options.tls_cert_pem_path.c_str(), options.tls_key_pem_path.c_str());
    if (!ssl->is_valid()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "dashboard: cannot use the certificate ", options.tls_cert_pem_path,
          " and key ", options.tls_key_pem_path));
    }
    impl->server = std::move(ssl);
    impl->tls = true;
  } else {
    impl->server = std::make_unique<httplib::Server>();
  }
  const size_t threads = static_cast<size_t>(options.threads);
  impl->server->new_task_queue = [threads] {
    return new httplib::ThreadPool(threads);
  };
  impl->InstallRoutes();
  // A worker thread stays with a kept-alive connection until it idles out, so
  // a browser holding more connections than there are threads would leave
  // requests waiting seconds (measured: 5 s page loads, bench/hub_bench.cc).
  // One request per connection, and no Nagle delay on the replies.
  impl->server->set_keep_alive_max_count(1);
  impl->server->set_tcp_nodelay(true);
  // httplib's default also sets SO_REUSEPORT, which would let a second
  // server bind the same port and silently share its connections.
  impl->server->set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  if (port == 0) {
    port = impl->server->bind_to_any_port(host);
    if (port < 0) {
      return absl::UnavailableError(
          absl::StrCat("dashboard: cannot bind ", options.listen));
    }
  } else if (!impl->server->bind_to_port(host, port)) {
    return absl::UnavailableError(
        absl::StrCat("dashboard: cannot bind ", options.listen));
  }
  impl->port = port;
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] {
    raw->server->listen_after_bind();
    raw->finished = true;
  });
  // Stop() only interrupts a server that is running: wait for the accept
  // loop (or its failure) so a Stop right after Start cannot be lost.
  while (!impl->server->is_running() && !impl->finished) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (impl->finished) {
    impl->thread.join();
    return absl::InternalError("dashboard: the server stopped at start");
  }
  return std::unique_ptr<Dashboard>(new Dashboard(std::move(impl)));
}

void Dashboard::Stop() {
  if (impl_ == nullptr || !impl_->thread.joinable()) return;
  impl_->server->stop();
  impl_->thread.join();
}

}  // namespace unionsync
