#include "dashboard/webdriver.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"
#include "openssl/pem.h"
#include "openssl/sha.h"
#include "openssl/x509.h"

namespace unionsync::testing {
namespace {

constexpr char kElementKey[] = "element-6066-11e4-a52e-4f735466cecf";

bool Executable(const char* path) { return access(path, X_OK) == 0; }

absl::StatusOr<int> FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError(strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return absl::InternalError(strerror(errno));
  }
  close(fd);
  return ntohs(addr.sin_port);
}

std::string ToJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::MessageToJsonString(m, &out);
  return out;
}

google::protobuf::Value StringValue(const std::string& s) {
  google::protobuf::Value v;
  v.set_string_value(s);
  return v;
}

google::protobuf::Value NumberValue(double d) {
  google::protobuf::Value v;
  v.set_number_value(d);
  return v;
}

uint32_t Be32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) |
         (uint32_t(uint8_t(s[at + 1])) << 16) |
         (uint32_t(uint8_t(s[at + 2])) << 8) | uint32_t(uint8_t(s[at + 3]));
}

}  // namespace

absl::Status CheckBrowserInstalled() {
  std::vector<std::string> missing;
  if (!Executable(kChromium)) missing.push_back(kChromium);
  if (!Executable(kChromeDriver)) missing.push_back(kChromeDriver);
  if (missing.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "the browser test needs Debian's Chromium and chromedriver (missing: ",
      absl::StrJoin(missing, ", "),
      "); install them with `sudo scripts/install-deps --test` (packages "
      "chromium chromium-driver fonts-noto-cjk)"));
}

// ---------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<ChromeDriver>> ChromeDriver::Start(
    const std::string& work_dir) {
  absl::Status installed = CheckBrowserInstalled();
  if (!installed.ok()) return installed;
  absl::StatusOr<int> port = FreePort();
  if (!port.ok()) return port.status();
  std::string log = work_dir + "/chromedriver.log";
  std::string port_flag = absl::StrCat("--port=", *port);
  std::string log_flag = absl::StrCat("--log-path=", log);
  std::string home = absl::StrCat("HOME=", work_dir);
  std::string xdg_config =
      absl::StrCat("XDG_CONFIG_HOME=", work_dir, "/config");
  std::string xdg_cache = absl::StrCat("XDG_CACHE_HOME=", work_dir, "/cache");

  // Everything the child needs is prepared before fork (the test process
  // has threads; the child only calls async-signal-safe functions).
  std::vector<std::string> env_strings = {home, xdg_config, xdg_cache};
  for (char** e = environ; *e != nullptr; ++e) {
    absl::string_view kv = *e;
    if (absl::StartsWith(kv, "HOME=") ||
        absl::StartsWith(kv, "XDG_CONFIG_HOME=") ||
        absl::StartsWith(kv, "XDG_CACHE_HOME=")) {
      continue;
    }
    env_strings.emplace_back(kv);
  }
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  char* argv[] = {const_cast<char*>(kChromeDriver), port_flag.data(),
                  log_flag.data(), nullptr};

  pid_t pid = fork();
  if (pid < 0) return absl::InternalError(strerror(errno));
  if (pid == 0) {
    // Child: own process group so the browser it starts can be ended with it.
    setpgid(0, 0);
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
      close(fd);
    }
    execve(kChromeDriver, argv, envp.data());
    _exit(127);
  }
  setpgid(pid, pid);
  auto driver = std::unique_ptr<ChromeDriver>(new ChromeDriver());
  driver->pid_ = pid;
  driver->port_ = *port;

  httplib::Client client("127.0.0.1", *port);
  client.set_connection_timeout(1);
  client.set_read_timeout(5);
  for (int i = 0; i < 300; ++i) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      driver->pid_ = -1;
      return absl::InternalError(
          absl::StrCat("chromedriver exited at start; see ", log));
    }
    auto res = client.Get("/status");
    if (res && res->status == 200 &&
        res->body.find("\"ready\":true") != std::string::npos) {
      return driver;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("chromedriver did not become ready; see ", log));
}

ChromeDriver::~ChromeDriver() {
  if (pid_ <= 0) return;
  kill(-pid_, SIGTERM);
  for (int i = 0; i < 50; ++i) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      // Whatever the driver left behind in its group (browser processes).
      kill(-pid_, SIGKILL);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  kill(-pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

// ---------------------------------------------------------------------------

WebDriverSession::WebDriverSession() = default;

absl::StatusOr<google::protobuf::Value> WebDriverSession::Call(
    const std::string& method, const std::string& path,
    const google::protobuf::Struct* body) {
  std::string full =
      session_.empty() ? path : absl::StrCat("/session/", session_, path);
  httplib::Result res =
      method == "GET" ? client_->Get(full.c_str())
      : method == "DELETE"
          ? client_->Delete(full.c_str())
          : client_->Post(full.c_str(), body != nullptr ? ToJson(*body) : "{}",
                          "application/json; charset=utf-8");
  if (!res) {
    return absl::UnavailableError(
        absl::StrCat("WebDriver ", method, " ", full, ": ",
                     httplib::to_string(res.error())));
  }
  google::protobuf::Struct reply;
  auto parsed = google::protobuf::util::JsonStringToMessage(res->body, &reply);
  if (!parsed.ok()) {
    return absl::InternalError(absl::StrCat("WebDriver ", method, " ", full,
                                            ": not JSON: ", res->body));
  }
  google::protobuf::Value value = reply.fields().count("value")
                                      ? reply.fields().at("value")
                                      : google::protobuf::Value();
  if (res->status != 200) {
    std::string error = "?";
    std::string message;
    if (value.has_struct_value()) {
      const auto& f = value.struct_value().fields();
      if (f.count("error")) error = f.at("error").string_value();
      if (f.count("message")) message = f.at("message").string_value();
    }
    return absl::InternalError(absl::StrCat("WebDriver ", method, " ", full,
                                            ": HTTP ", res->status, " ", error,
                                            ": ", message));
  }
  return value;
}

absl::StatusOr<std::string> SpkiHash(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return absl::NotFoundError("cannot open " + path);
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (cert == nullptr)
    return absl::InvalidArgumentError("no certificate in " + path);
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(X509_get0_pubkey(cert), &der);
  X509_free(cert);
  if (len <= 0) return absl::InternalError("cannot encode the public key");
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(der, static_cast<size_t>(len), digest);
  OPENSSL_free(der);
  return absl::Base64Escape(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

absl::StatusOr<std::unique_ptr<WebDriverSession>> WebDriverSession::Create(
    int driver_port, const BrowserOptions& options) {
  auto s = std::unique_ptr<WebDriverSession>(new WebDriverSession());
  s->client_ = std::make_unique<httplib::Client>("127.0.0.1", driver_port);
  s->client_->set_connection_timeout(5);
  s->client_->set_read_timeout(120);

  google::protobuf::Struct chrome;
  (*chrome.mutable_fields())["binary"] = StringValue(kChromium);
  auto* args = (*chrome.mutable_fields())["args"].mutable_list_value();
  for (const std::string& a : std::vector<std::string>{
           "--headless=new", "--no-sandbox", "--disable-gpu",
           "--disable-dev-shm-usage",
           absl::StrCat("--user-data-dir=", options.user_data_dir),
           absl::StrCat("--window-size=", options.width, ",", options.height),
           "--lang=zh-CN", "--no-first-run", "--no-default-browser-check",
           "--disable-extensions", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--hide-scrollbars",
           "--force-device-scale-factor=1"}) {
    *args->add_values() = StringValue(a);
  }
  if (!options.trusted_spki.empty()) {
    *args->add_values() =
        StringValue(absl::StrCat("--ignore-certificate-errors-spki-list=",
                                 absl::StrJoin(options.trusted_spki, ",")));
  }
  google::protobuf::Struct always;
  *(*always.mutable_fields())["goog:chromeOptions"].mutable_struct_value() =
      chrome;
  google::protobuf::Struct caps;
  *(*caps.mutable_fields())["alwaysMatch"].mutable_struct_value() = always;
  google::protobuf::Struct body;
  *(*body.mutable_fields())["capabilities"].mutable_struct_value() = caps;

  absl::StatusOr<google::protobuf::Value> created =
      s->Call("POST", "/session", &body);
  if (!created.ok()) return created.status();
  const auto& fields = created->struct_value().fields();
  if (!fields.count("sessionId")) {
    return absl::InternalError("WebDriver: no sessionId in the new session");
  }
  s->session_ = fields.at("sessionId").string_value();

  google::protobuf::Struct rect;
  (*rect.mutable_fields())["width"] = NumberValue(options.width);
  (*rect.mutable_fields())["height"] = NumberValue(options.height);
  absl::StatusOr<google::protobuf::Value> sized =
      s->Call("POST", "/window/rect", &rect);
  if (!sized.ok()) return sized.status();
  return s;
}

WebDriverSession::~WebDriverSession() {
  if (!session_.empty()) {
    (void)Call("DELETE", "", nullptr);
  }
}

absl::Status WebDriverSession::Navigate(const std::string& url) {
  google::protobuf::Struct body;
  (*body.mutable_fields())["url"] = StringValue(url);
  return Call("POST", "/url", &body).status();
}

absl::StatusOr<std::string> WebDriverSession::CurrentUrl() {
  absl::StatusOr<google::protobuf::Value> v = Call("GET", "/url", nullptr);
  if (!v.ok()) return v.status();
  return v->string_value();
}

absl::StatusOr<std::string> WebDriverSession::FindElement(
    const std::string& css) {
  google::protobuf::Struct body;
  (*body.mutable_fields())["using"] = StringValue("css selector");
  (*body.mutable_fields())["value"] = StringValue(css);
  absl::StatusOr<google::protobuf::Value> v = Call("POST", "/element", &body);
  if (!v.ok()) return v.status();
  const auto& f = v->struct_value().fields();
  if (!f.count(kElementKey)) {
    return absl::NotFoundError(absl::StrCat("no element reference for ", css));
  }
  return f.at(kElementKey).string_value();
}

absl::StatusOr<std::string> WebDriverSession::Text(const std::string& element) {
  absl::StatusOr<google::protobuf::Value> v =
      Call("GET", absl::StrCat("/element/", element, "/text"), nullptr);
  if (!v.ok()) return v.status();
  return v->string_value();
}

absl::Status WebDriverSession::SendKeys(const std::string& element,
                                        const std::string& text) {
  google::protobuf::Struct body;
  (*body.mutable_fields())["text"] = StringValue(text);
  return Call("POST", absl::StrCat("/element/", element, "/value"), &body)
      .status();
}

absl::Status WebDriverSession::Click(const std::string& element) {
  google::protobuf::Struct body;
  return Call("POST", absl::StrCat("/element/", element, "/click"), &body)
      .status();
}

absl::StatusOr<google::protobuf::Value> WebDriverSession::Execute(
    const std::string& script) {
  google::protobuf::Struct body;
  (*body.mutable_fields())["script"] = StringValue(script);
  (*body.mutable_fields())["args"].mutable_list_value();
  return Call("POST", "/execute/sync", &body);
}

absl::Status WebDriverSession::WaitFor(const std::string& script,
                                       absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  absl::Status last = absl::OkStatus();
  while (absl::Now() < deadline) {
    absl::StatusOr<google::protobuf::Value> v = Execute(script);
    if (v.ok() && v->bool_value()) return absl::OkStatus();
    if (!v.ok()) last = v.status();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "timed out waiting for: ", script, last.ok() ? "" : " (last error: ",
      last.ok() ? "" : last.ToString(), last.ok() ? "" : ")"));
}

absl::StatusOr<std::string> WebDriverSession::Screenshot() {
  absl::StatusOr<google::protobuf::Value> v =
      Call("GET", "/screenshot", nullptr);
  if (!v.ok()) return v.status();
  std::string png;
  if (!absl::Base64Unescape(v->string_value(), &png)) {
    return absl::InternalError("screenshot is not base64");
  }
  return png;
}

// ---------------------------------------------------------------------------

absl::Status CheckPng(const std::string& png, int* width, int* height) {
  static const char kSignature[] = "\x89PNG\r\n\x1a\n";
  if (png.size() < 8 + 25 || png.compare(0, 8, kSignature, 8) != 0) {
    return absl::InvalidArgumentError("not a PNG (signature)");
  }
  size_t at = 8;
  std::string idat;
  bool seen_ihdr = false, seen_iend = false;
  uint32_t w = 0, h = 0;
  int depth = 0, color = 0, interlace = 0;
  while (at + 12 <= png.size()) {
    uint32_t len = Be32(png, at);
    if (at + 12 + len > png.size()) {
      return absl::InvalidArgumentError("PNG chunk runs past the end");
    }
    std::string type = png.substr(at + 4, 4);
    uint32_t crc =
        crc32(0L, reinterpret_cast<const Bytef*>(png.data() + at + 4), 4 + len);
    if (crc != Be32(png, at + 8 + len)) {
      return absl::InvalidArgumentError(
          absl::StrCat("PNG chunk ", type, ": bad CRC"));
    }
    if (type == "IHDR") {
      if (len != 13) return absl::InvalidArgumentError("bad IHDR");
      w = Be32(png, at + 8);
      h = Be32(png, at + 12);
      depth = uint8_t(png[at + 16]);
      color = uint8_t(png[at + 17]);
      interlace = uint8_t(png[at + 20]);
      seen_ihdr = true;
    } else if (type == "IDAT") {
      idat.append(png, at + 8, len);
    } else if (type == "IEND") {
      seen_iend = true;
      break;
    }
    at += 12 + len;
  }
  if (!seen_ihdr || !seen_iend || idat.empty()) {
    return absl::InvalidArgumentError("PNG lacks IHDR, IDAT or IEND");
  }
  int channels = color == 6 ? 4 : color == 2 ? 3 : color == 4 ? 2 : 1;
  if (depth != 8 || interlace != 0 || w == 0 || h == 0) {
    return absl::InvalidArgumentError("unexpected PNG format");
  }
  uLongf expected = uLongf(h) * (1 + uLongf(w) * channels);
  std::string raw(expected + 1, '\0');
  uLongf raw_len = raw.size();
  int rc = uncompress(reinterpret_cast<Bytef*>(raw.data()), &raw_len,
                      reinterpret_cast<const Bytef*>(idat.data()), idat.size());
  if (rc != Z_OK || raw_len != expected) {
    return absl::InvalidArgumentError(
        absl::StrCat("PNG image data does not inflate to ", expected,
                     " bytes (zlib ", rc, ", got ", raw_len, ")"));
  }
  *width = static_cast<int>(w);
  *height = static_cast<int>(h);
  return absl::OkStatus();
}

}  // namespace unionsync::testing
