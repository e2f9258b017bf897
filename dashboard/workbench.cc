#include "dashboard/workbench.h"

#include <httplib.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/log.h"
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
  for (const web_assets::WebAsset* a = web_assets::kWebAssets;
       a->name != nullptr; ++a) {
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
    LogError("web", absl::StrCat("backend error: ", status.ToString()));
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

// Checks what every call but the login must carry: a same-origin request, a
// session, and the CSRF header repeating its cookie.
absl::Status CheckCall(const httplib::Request& req, const RequestContext& ctx) {
  if (!SameOrigin(req)) {
    return absl::PermissionDeniedError("cross-site request refused");
  }
  if (ctx.token.empty()) return absl::UnauthenticatedError("not logged in");
  const std::string cookie = CookieValue(req, kCsrfCookie);
  if (cookie.empty() || req.get_header_value("X-CSRF-Token") != cookie) {
    return absl::PermissionDeniedError("missing or wrong CSRF token");
  }
  return absl::OkStatus();
}

// POST /api/v1/IngestService.Import: the options in the X-Upload-Options
// header (URL-encoded JSON), the file as the body. The session and scope are
// checked before the body is read; the body goes to the job as it arrives;
// the answer is NDJSON, one ImportProgress per line as the import runs, the
// last with the summary (or {"error": ...}).
void Upload(DashboardBackend* backend, const httplib::Request& req,
            httplib::Response& res, const httplib::ContentReader& reader) {
  RequestContext ctx{SessionToken(req), absl::StrCat("https:", req.remote_addr,
                                                     ":", req.remote_port)};
  if (absl::Status s = CheckCall(req, ctx); !s.ok()) return SetError(res, s);
  const std::string options = httplib::detail::decode_url(
      req.get_header_value("X-Upload-Options"), false);
  absl::StatusOr<std::unique_ptr<WebUpload>> began =
      backend->BeginUpload(ctx, req.matches[1].str(), options);
  if (!began.ok()) return SetError(res, began.status());
  std::shared_ptr<WebUpload> upload = *std::move(began);
  absl::Status appended;
  const bool read = reader([&](const char* data, size_t size) {
    appended = upload->Append(data, size);
    return appended.ok();
  });
  if (!appended.ok()) return SetError(res, appended);
  if (!read) {
    return SetError(res, absl::InvalidArgumentError("the upload broke off"));
  }
  res.status = 200;
  res.set_header("Cache-Control", "no-store");
  res.set_chunked_content_provider(
      "application/x-ndjson; charset=utf-8",
      [upload](size_t, httplib::DataSink& sink) {
        std::atomic<bool> cancelled{false};
        auto line = [&](const std::string& json) {
          if (cancelled.load()) return;
          const std::string out = json + "\n";
          if (!sink.is_writable() || !sink.write(out.data(), out.size())) {
            cancelled.store(true);  // The browser went away.
          }
        };
        absl::StatusOr<std::string> last = upload->Run(line, &cancelled);
        if (last.ok()) {
          line(*last);
        } else {
          line(absl::StrCat(
              "{\"error\":{\"code\":",
              JsonQuote(absl::StatusCodeToString(last.status().code())),
              ",\"text\":", JsonQuote(ClerkText(last.status())), "}}"));
        }
        sink.done();
        return true;
      });
}

void Call(DashboardBackend* backend, bool tls, const httplib::Request& req,
          const std::string& body_in, httplib::Response& res) {
  const std::string method = req.matches[1];
  RequestContext ctx{SessionToken(req), absl::StrCat("https:", req.remote_addr,
                                                     ":", req.remote_port)};
  const bool login = method == "AdminService.Login";
  // Templates hold no data and need no session (as over gRPC).
  const bool open = login || method == "IngestService.GetTemplate";
  if (!open) {
    if (absl::Status s = CheckCall(req, ctx); !s.ok()) return SetError(res, s);
  } else if (!SameOrigin(req)) {
    return SetError(res,
                    absl::PermissionDeniedError("cross-site request refused"));
  }
  if (login) ctx.token.clear();  // A login never rides on an older session.
  absl::StatusOr<std::string> out = backend->CallJson(ctx, method, body_in);
  if (!out.ok()) return SetError(res, out.status());
  std::string body = *std::move(out);
  if (login) {
    // The token goes into an HttpOnly cookie, never to the page's script.
    v1::LoginResponse resp;
    if (!google::protobuf::util::JsonStringToMessage(body, &resp).ok() ||
        resp.token().empty()) {
      return SetError(res, absl::InternalError("login answer unreadable"));
    }
    res.set_header("Set-Cookie", Cookie(kCookieName, resp.token(), true, tls));
    res.set_header("Set-Cookie",
                   Cookie(kCsrfCookie, RandomHex(16), false, tls));
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
  // Registered first: a handler with a content reader reads its own body.
  server.Post(kUploadPath,
              [backend](const httplib::Request& req, httplib::Response& res,
                        const httplib::ContentReader& reader) {
                Upload(backend, req, res, reader);
              });
  // The JSON calls read their body themselves too: past kMaxJsonBytes the
  // rest is read and dropped (never held), and the answer is 413.
  server.Post(
      R"(/api/v1/([A-Za-z]+Service\.[A-Za-z]+))",
      [backend, tls](const httplib::Request& req, httplib::Response& res,
                     const httplib::ContentReader& reader) {
        std::string body;
        bool too_large = false;
        reader([&](const char* data, size_t size) {
          if (body.size() + size > kMaxJsonBytes) too_large = true;
          if (!too_large) body.append(data, size);
          return true;
        });
        if (too_large) {
          SetError(res, absl::InvalidArgumentError(absl::StrCat(
                            "request body over ", kMaxJsonBytes, " bytes")));
          res.status = 413;
          return;
        }
        Call(backend, tls, req, body, res);
      });
}

}  // namespace unionsync
