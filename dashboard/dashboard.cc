#include "dashboard/dashboard.h"

#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "common/log.h"
#include "dashboard/http_internal.h"
#include "dashboard/workbench.h"

namespace unionsync {
namespace {

using namespace dashboard_internal;  // NOLINT: this folder's helpers.

// Requests other than the workbench's calls carry no body worth reading.
constexpr size_t kMaxBodyBytes = 1 << 20;

constexpr char kJson[] = "application/json; charset=utf-8";
constexpr char kCsp[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

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
  // One web front end: the address people remember leads to the workbench.
  server->Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.status = 302;
    res.set_header("Location", "/wb");
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
          // The shape of the workbench's errors (dashboard/workbench.h).
          res.set_content(
              absl::StrCat("{\"error\":{\"code\":\"HTTP_", res.status,
                           "\",\"text\":", JsonQuote(message), "}}\n"),
              kJson);
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
    LogError("web", absl::StrCat(req.method, " ", req.path, ": ", what));
    res.status = 500;
    res.set_content(
        "{\"error\":{\"code\":\"INTERNAL\",\"text\":"
        "\"服务器内部错误，请稍后再试\"}}\n",
        kJson);
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

namespace {

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
