// A tiny W3C WebDriver client for browser tests: starts Debian's chromedriver
// as a child process on a free loopback port and drives a headless Chromium
// session over the WebDriver HTTP protocol (JSON through
// google.protobuf.Value, HTTP through cpp-httplib).
#ifndef UNIONSYNC_TESTS_DASHBOARD_WEBDRIVER_H_
#define UNIONSYNC_TESTS_DASHBOARD_WEBDRIVER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"

namespace httplib {
class Client;
}

namespace unionsync::testing {

inline constexpr char kChromium[] = "/usr/bin/chromium";
inline constexpr char kChromeDriver[] = "/usr/bin/chromedriver";

// FAILED_PRECONDITION naming `scripts/install-deps --test` when Chromium or
// chromedriver is missing.
absl::Status CheckBrowserInstalled();

// A chromedriver process (in its own process group, so Chromium goes with
// it) listening on 127.0.0.1.
class ChromeDriver {
 public:
  // `work_dir` receives chromedriver.log and serves as HOME for the browser.
  static absl::StatusOr<std::unique_ptr<ChromeDriver>> Start(
      const std::string& work_dir);
  ~ChromeDriver();
  int port() const { return port_; }

 private:
  ChromeDriver() = default;
  pid_t pid_ = -1;
  int port_ = 0;
};

struct BrowserOptions {
  std::string user_data_dir;
  int width = 1400;
  int height = 1000;
  // Server certificates to accept although no CA the browser knows signed
  // them: base64 SHA-256 of their SubjectPublicKeyInfo (SpkiHash), e.g. the
  // test CA's node certificates.
  std::vector<std::string> trusted_spki;
};

// The base64 SHA-256 of the public key of the PEM certificate at `path`, as
// Chromium's --ignore-certificate-errors-spki-list wants it.
absl::StatusOr<std::string> SpkiHash(const std::string& path);

// One WebDriver session of headless Chromium. Element references are the
// WebDriver element ids.
class WebDriverSession {
 public:
  static absl::StatusOr<std::unique_ptr<WebDriverSession>> Create(
      int driver_port, const BrowserOptions& options);
  // Deletes the session (Chromium quits).
  ~WebDriverSession();

  absl::Status Navigate(const std::string& url);
  absl::StatusOr<std::string> CurrentUrl();
  absl::StatusOr<std::string> FindElement(const std::string& css);
  absl::StatusOr<std::string> Text(const std::string& element);
  absl::Status SendKeys(const std::string& element, const std::string& text);
  absl::Status Click(const std::string& element);
  // Runs `script` (a function body; `return` gives the result) in the page.
  absl::StatusOr<google::protobuf::Value> Execute(const std::string& script);
  // Polls `script` until it returns true.
  absl::Status WaitFor(const std::string& script, absl::Duration timeout);
  // A PNG of the viewport.
  absl::StatusOr<std::string> Screenshot();

 private:
  WebDriverSession();
  // Calls the endpoint and returns the response's "value".
  absl::StatusOr<google::protobuf::Value> Call(
      const std::string& method, const std::string& path,
      const google::protobuf::Struct* body);

  std::unique_ptr<httplib::Client> client_;
  std::string session_;
};

// Checks the PNG signature, the IHDR chunk and that the image data inflates
// to exactly the size its header promises; returns width and height.
absl::Status CheckPng(const std::string& png, int* width, int* height);

}  // namespace unionsync::testing

#endif  // UNIONSYNC_TESTS_DASHBOARD_WEBDRIVER_H_
