// The workbench's page load as a browser makes it, over HTTP, for the
// benchmarks (docs/BENCHMARKS.md): log in through the JSON API, then the
// page, its assets (every embedded file, in parallel), the session check
// (WhoAmI), the organisation (GetOrg), and the progress page's calls in
// parallel (GetProgress of the children, GetTimeSeries, ListWarnings).
// "Shell" is the page and its assets (what the browser needs to paint the
// workbench); "figures" is the whole load until the numbers are there.
#ifndef UNIONSYNC_BENCH_WEB_LOAD_H_
#define UNIONSYNC_BENCH_WEB_LOAD_H_

#include <httplib.h>

#include <memory>
#include <string>
#include <vector>

namespace unionsync::bench {

struct Percentiles {
  int n = 0;
  double p50 = 0, p99 = 0, max = 0, mean = 0;
};
Percentiles Summarise(std::vector<double> v);
std::string Text(const Percentiles& p, int precision = 2);

// One request of the page: a GET of `path`, or a POST of `json` to it.
struct WebRequest {
  std::string path;
  std::string json;  // Empty: GET.
  bool post = false;
};

// A logged-in browser: its cookies and CSRF header.
struct WebSession {
  httplib::Headers headers;
  double login_ms = 0;
};

std::unique_ptr<httplib::Client> HttpClient(int port, bool keep_alive);
// Logs in (POST /api/v1/AdminService.Login); exits on failure.
WebSession WebLogIn(int port, const std::string& user,
                    const std::string& password);
// Sends `req`; returns the time taken in ms and the body's size. Exits
// unless the answer is 200.
std::pair<double, size_t> Fetch(httplib::Client& client, const WebRequest& req,
                                const httplib::Headers& headers);
std::pair<double, size_t> PostJson(httplib::Client& client,
                                   const std::string& method,
                                   const std::string& json,
                                   const httplib::Headers& headers);

// Measures `loads` page loads of the workbench's progress page by `user`
// of organisation `org_id` and prints them: each request alone, the load
// one request after the other, and as a browser makes it (6 connections).
void MeasureWorkbenchLoad(int port, const std::string& user,
                          const std::string& password,
                          const std::string& org_id, int loads);

}  // namespace unionsync::bench

#endif  // UNIONSYNC_BENCH_WEB_LOAD_H_
