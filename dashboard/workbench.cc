#include "dashboard/workbench.h"

#include <httplib.h>

#include <cstdio>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "dashboard/dashboard.h"
#include "dashboard/http_internal.h"
#include "dashboard/web_assets.h"
#include "google/protobuf/util/json_util.h"
#include "openssl/rand.h"
#include "unionsync/v1/admin.pb.h"

namespace unionsync {
namespace {

using namespace dashboard_internal;  // NOLINT: this folder's helpers.

constexpr char kCsrfCookie[] = "us_csrf";
constexpr char kJson[] = "application/json; charset=utf-8";

const web_assets::WebAsset* FindAsset(absl::string_view name) {
  for (const web_assets::WebAsset* a = web_assets::kWebAssets; a->name != nullptr;
       ++a) {
    if (name == a->name) return a;
  }
  return nullptr;
}

const char* ContentType(absl::string_view name) {
  if (absl::EndsWith(name, ".html")) return "text/html; charset=utf-8";
  if (absl::EndsWith(name, ".js")) return "text/javascript; charset=utf-8";
  if (absl::EndsWith(name, ".css")) return "text/css; charset=utf-8";
  return "application/octet-stream";
}

void ServeAsset(httplib::Response& res, absl::string_view name) {
  const web_assets::WebAsset* asset = FindAsset(name);
  if (asset == nullptr) {
    res.status = 404;
    res.set_content("not found\n", "text/plain; charset=utf-8");
    return;
  }
  res.set_header("Cache-Control", "no-cache");
  res.set_content(reinterpret_cast<const char*>(asset->bytes), asset->size,
                  ContentType(name));
}

void SetError(httplib::Response& res, const absl::Status& status) {
  int http = HttpStatusOf(status.code());
  std::string message(status.message());
  if (http == 500) {
    std::fprintf(stderr, "workbench: backend error: %s\n",
                 status.ToString().c_str());
    message = "internal error";
  }
  res.status = http;
  res.set_content(
      absl::StrCat("{\"error\":{\"code\":",
                   JsonQuote(absl::StatusCodeToString(status.code())),
                   ",\"message\":", JsonQuote(message),
                   ",\"text\":", JsonQuote(ClerkText(status)), "}}\n"),
      kJson);
}

std::string RandomHex(size_t bytes) {
  unsigned char raw[32];
  if (bytes > sizeof(raw) || RAND_bytes(raw, static_cast<int>(bytes)) != 1) {
    return "";
  }
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes; ++i) {
    out.push_back(kHex[raw[i] >> 4]);
    out.push_back(kHex[raw[i] & 15]);
  }
  return out;
}

std::string Cookie(absl::string_view name, absl::string_view value,
                   bool http_only, bool tls, bool clear = false) {
  return absl::StrCat(name, "=", value, "; Path=/; SameSite=Strict",
                      http_only ? "; HttpOnly" : "", tls ? "; Secure" : "",
                      clear ? "; Max-Age=0" : "");
}

void Call(DashboardBackend* backend, bool tls, const httplib::Request& req,
          httplib::Response& res) {
  const std::string method = req.matches[1];
  RequestContext ctx{SessionToken(req),
                     absl::StrCat("https:", req.remote_addr, ":",
                                  req.remote_port)};
  if (!SameOrigin(req)) {
    return SetError(res, absl::PermissionDeniedError(
                             "cross-site request refused"));
  }
  const bool login = method == "AdminService.Login";
  if (!login) {
    // Double submit: the header must repeat the CSRF cookie.
    const std::string cookie = CookieValue(req, kCsrfCookie);
    if (ctx.token.empty()) {
      return SetError(res, absl::UnauthenticatedError("not logged in"));
    }
    if (cookie.empty() || req.get_header_value("X-CSRF-Token") != cookie) {
      return SetError(res, absl::PermissionDeniedError(
                               "missing or wrong CSRF token"));
    }
  } else {
    ctx.token.clear();  // A login never rides on an older session.
  }
  absl::StatusOr<std::string> out = backend->CallJson(ctx, method, req.body);
  if (!out.ok()) return SetError(res, out.status());
  std::string body = *std::move(out);
  if (login) {
    // The token goes into an HttpOnly cookie, never to the page's script.
    v1::LoginResponse resp;
    if (!google::protobuf::util::JsonStringToMessage(body, &resp).ok() ||
        resp.token().empty()) {
      return SetError(res, absl::InternalError("login answer unreadable"));
    }
    res.set_header("Set-Cookie",
                   Cookie(kCookieName, resp.token(), true, tls));
    res.set_header("Set-Cookie", Cookie(kCsrfCookie, RandomHex(16), false, tls));
    resp.clear_token();
    google::protobuf::util::JsonPrintOptions options;
    options.always_print_primitive_fields = true;
    body.clear();
    (void)google::protobuf::util::MessageToJsonString(resp, &body, options);
  } else if (method == "AdminService.Logout") {
    res.set_header("Set-Cookie", Cookie(kCookieName, "", true, tls, true));
    res.set_header("Set-Cookie", Cookie(kCsrfCookie, "", false, tls, true));
  }
  res.status = 200;
  res.set_content(body, kJson);
}

}  // namespace

std::string ClerkText(const absl::Status& status) {
  absl::string_view detail = status.message();
  std::string what;
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      what = "填写的内容有误，请按提示修改";
      break;
    case absl::StatusCode::kUnauthenticated:
      what = "未登录或登录已过期，请重新登录";
      break;
    case absl::StatusCode::kPermissionDenied:
      what = "您的账号无权进行此操作";
      break;
    case absl::StatusCode::kNotFound:
      what = "没有找到相应的记录";
      break;
    case absl::StatusCode::kAlreadyExists:
      what = "该记录已经存在";
      break;
    case absl::StatusCode::kFailedPrecondition:
      what = "当前状态下不能进行此操作";
      break;
    case absl::StatusCode::kResourceExhausted:
      what = "尝试次数过多，请稍后再试";
      break;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      what = "暂时无法完成，请稍后再试";
      break;
    default:
      return "服务器内部错误，请稍后再试或联系上级工会";
  }
  if (detail.empty()) return what;
  return absl::StrCat(what, "（", detail, "）");
}

void InstallWorkbench(httplib::Server& server, DashboardBackend* backend,
                      bool tls) {
  auto page = [](const httplib::Request&, httplib::Response& res) {
    ServeAsset(res, "workbench.html");
  };
  server.Get("/wb", page);
  server.Get("/wb/", page);
  server.Get(R"(/wb/static/([A-Za-z0-9_.-]+))",
             [](const httplib::Request& req, httplib::Response& res) {
               ServeAsset(res, req.matches[1].str());
             });
  server.Post(R"(/api/v1/([A-Za-z]+Service\.[A-Za-z]+))",
              [backend, tls](const httplib::Request& req,
                             httplib::Response& res) {
                Call(backend, tls, req, res);
              });
}

}  // namespace unionsync
