#include "bench/web_load.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "dashboard/web_assets.h"

namespace unionsync::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

double Ms(SteadyClock::time_point since) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - since)
      .count();
}

[[noreturn]] void Die(const std::string& what, const std::string& why) {
  std::fprintf(stderr, "%s: %s\n", what.c_str(), why.c_str());
  std::exit(1);
}

std::string CookieOf(const httplib::Response& res, const std::string& name) {
  for (size_t i = 0; i < res.get_header_value_count("Set-Cookie"); ++i) {
    std::string c = res.get_header_value("Set-Cookie", i);
    if (absl::StartsWith(c, name + "=")) {
      return c.substr(name.size() + 1, c.find(';') - name.size() - 1);
    }
  }
  return "";
}

WebRequest Call(const std::string& method, std::string json) {
  return {absl::StrCat("/api/v1/", method), std::move(json), true};
}

// The page's requests in waves: each wave starts when the one before is done,
// its requests in parallel.
std::vector<std::vector<WebRequest>> Waves(const std::string& org_id) {
  std::vector<WebRequest> assets;
  for (const web_assets::WebAsset* a = web_assets::kWebAssets;
       a->name != nullptr; ++a) {
    if (!absl::EndsWith(a->name, ".html")) {
      assets.push_back({absl::StrCat("/wb/static/", a->name), "", false});
    }
  }
  const std::string org = absl::StrCat("{\"orgId\":\"", org_id, "\"}");
  return {
      {{"/wb", "", false}},
      assets,
      {Call("AdminService.WhoAmI", "{}")},
      {Call("AdminService.GetOrg", org)},
      {Call("MonitorService.GetProgress",
            absl::StrCat("{\"view\":\"children\",\"orgId\":\"", org_id, "\"}")),
       Call("MonitorService.GetTimeSeries", "{\"scope\":\"city\"}"),
       Call("MonitorService.ListWarnings", org)}};
}

// One page load over `clients` (a browser's connections to the host): each
// wave spread over the connections, a connection taking the next request when
// its last one is done. Returns the time to the end of wave `shell_waves` and
// to the end.
std::pair<double, double> BrowserLoad(
    std::vector<std::unique_ptr<httplib::Client>>& clients,
    const std::vector<std::vector<WebRequest>>& waves,
    const httplib::Headers& headers, size_t shell_waves) {
  const auto t = SteadyClock::now();
  double shell = 0;
  for (size_t w = 0; w < waves.size(); ++w) {
    const std::vector<WebRequest>& wave = waves[w];
    std::atomic<size_t> next{0};
    std::vector<std::thread> threads;
    for (size_t c = 0; c < std::min(clients.size(), wave.size()); ++c) {
      threads.emplace_back([&, c] {
        for (size_t i; (i = next.fetch_add(1)) < wave.size();) {
          Fetch(*clients[c], wave[i], headers);
        }
      });
    }
    for (auto& th : threads) th.join();
    if (w + 1 == shell_waves) shell = Ms(t);
  }
  return {shell, Ms(t)};
}

}  // namespace

Percentiles Summarise(std::vector<double> v) {
  Percentiles p;
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  p.n = static_cast<int>(v.size());
  p.p50 = v[(v.size() - 1) / 2];
  p.p99 = v[static_cast<size_t>(std::ceil(0.99 * v.size())) - 1];
  p.max = v.back();
  double sum = 0;
  for (double x : v) sum += x;
  p.mean = sum / v.size();
  return p;
}

std::string Text(const Percentiles& p, int precision) {
  return absl::StrFormat("p50 %.*f ms, p99 %.*f ms, max %.*f ms (n=%d)",
                         precision, p.p50, precision, p.p99, precision, p.max,
                         p.n);
}

std::unique_ptr<httplib::Client> HttpClient(int port, bool keep_alive) {
  auto c = std::make_unique<httplib::Client>("127.0.0.1", port);
  c->set_keep_alive(keep_alive);
  c->set_read_timeout(600);
  c->set_write_timeout(600);
  return c;
}

WebSession WebLogIn(int port, const std::string& user,
                    const std::string& password) {
  auto client = HttpClient(port, false);
  const auto t = SteadyClock::now();
  auto res = client->Post("/api/v1/AdminService.Login",
                          absl::StrCat("{\"username\":\"", user,
                                       "\",\"password\":\"", password, "\"}"),
                          "application/json");
  WebSession s;
  s.login_ms = Ms(t);
  if (!res || res->status != 200) {
    Die("POST /api/v1/AdminService.Login",
        absl::StrCat("status ", res ? res->status : -1));
  }
  const std::string csrf = CookieOf(*res, "us_csrf");
  s.headers = {
      {"Cookie", absl::StrCat("us_session=", CookieOf(*res, "us_session"),
                              "; us_csrf=", csrf)},
      {"X-CSRF-Token", csrf}};
  return s;
}

std::pair<double, size_t> Fetch(httplib::Client& client, const WebRequest& req,
                                const httplib::Headers& headers) {
  const auto t = SteadyClock::now();
  auto r = req.post ? client.Post(req.path.c_str(), headers, req.json,
                                  "application/json")
                    : client.Get(req.path.c_str(), headers);
  const double ms = Ms(t);
  if (!r || r->status != 200) {
    Die(absl::StrCat(req.post ? "POST " : "GET ", req.path),
        absl::StrCat("status ", r ? r->status : -1, " ", r ? r->body : ""));
  }
  return {ms, r->body.size()};
}

std::pair<double, size_t> PostJson(httplib::Client& client,
                                   const std::string& method,
                                   const std::string& json,
                                   const httplib::Headers& headers) {
  return Fetch(client, Call(method, json), headers);
}

void MeasureWorkbenchLoad(int port, const std::string& user,
                          const std::string& password,
                          const std::string& org_id, int loads) {
  const WebSession session = WebLogIn(port, user, password);
  std::printf(
      "workbench login (POST AdminService.Login, scrypt verify): "
      "%.1f ms\n",
      session.login_ms);
  const auto waves = Waves(org_id);
  size_t requests = 0;
  for (const auto& w : waves) requests += w.size();

  // (a) Each request alone on a new connection.
  auto single = HttpClient(port, false);
  std::map<std::string, std::vector<double>> ms;
  std::map<std::string, size_t> bytes;
  std::vector<double> sequential;
  for (int i = 0; i < loads; ++i) {
    const auto t = SteadyClock::now();
    for (const auto& w : waves) {
      for (const WebRequest& r : w) {
        auto [took, size] = Fetch(*single, r, session.headers);
        ms[r.path].push_back(took);
        bytes[r.path] = size;
      }
    }
    sequential.push_back(Ms(t));
  }
  for (const auto& [path, v] : ms) {
    std::printf("workbench %-48s %8zu bytes: %s\n", path.c_str(), bytes[path],
                Text(Summarise(v)).c_str());
  }
  std::printf(
      "workbench progress page, %zu requests one after the other, a "
      "new connection each: %s\n",
      requests, Text(Summarise(sequential)).c_str());

  // (b) As a browser loads it: 6 connections, a new one per request (the
  // server closes after each, dashboard/dashboard.cc).
  std::vector<std::unique_ptr<httplib::Client>> clients;
  for (int c = 0; c < 6; ++c) clients.push_back(HttpClient(port, false));
  BrowserLoad(clients, waves, session.headers, 2);  // Warm.
  std::vector<double> shell, figures;
  for (int i = 0; i < loads; ++i) {
    auto [s, f] = BrowserLoad(clients, waves, session.headers, 2);
    shell.push_back(s);
    figures.push_back(f);
  }
  std::printf(
      "workbench as a browser loads it (6 connections), page and "
      "assets (first paint): %s\n",
      Text(Summarise(shell)).c_str());
  std::printf(
      "workbench as a browser loads it (6 connections), until the "
      "progress figures are there: %s\n",
      Text(Summarise(figures)).c_str());
  std::fflush(stdout);
}

}  // namespace unionsync::bench
