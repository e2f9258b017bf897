#include "dashboard/fake_backend.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace unionsync::testing {
namespace {

class CountingUpload final : public WebUpload {
 public:
  absl::Status Append(const char*, size_t size) override {
    bytes_ += size;
    if (bytes_ > 4096) return absl::ResourceExhaustedError("file too large");
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> Run(
      const std::function<void(const std::string&)>& progress,
      const std::atomic<bool>*) override {
    progress(absl::StrCat(
        "{\"phase\":\"IMPORT_VALIDATING\",\"counts\":{\"bytesReceived\":\"",
        bytes_, "\"}}"));
    return absl::StrCat(
        "{\"phase\":\"IMPORT_DONE\",\"summary\":{\"ok\":true,\"message\":\"",
        bytes_, " bytes\"}}");
  }

 private:
  size_t bytes_ = 0;
};

}  // namespace

absl::Status FakeBackend::AuthorizeMetrics(const std::string& authorization,
                                           const std::string& session_token,
                                           const std::string& peer) {
  absl::MutexLock lock(&mu_);
  std::string token = session_token;
  if (authorization.rfind("Bearer ", 0) == 0) token = authorization.substr(7);
  if (tokens_.count(token) == 0) {
    return absl::UnauthenticatedError("metrics are for operators");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> FakeBackend::CallJson(const RequestContext& ctx,
                                                  const std::string& method,
                                                  const std::string& json) {
  absl::MutexLock lock(&mu_);
  if (method == "AdminService.Login") {
    std::string token = absl::StrCat("tok", next_token_++);
    tokens_.insert(token);
    return absl::StrCat("{\"token\":\"", token, "\",\"orgId\":\"c\"}");
  }
  auto it = failures_.find(method);
  if (it != failures_.end()) return it->second;
  if (absl::Status s = Check(ctx); !s.ok()) return s;
  if (method == "AdminService.Logout") tokens_.erase(ctx.token);
  return absl::StrCat("{\"method\":\"", method, "\"}");
}

absl::StatusOr<std::unique_ptr<WebUpload>> FakeBackend::BeginUpload(
    const RequestContext& ctx, const std::string& method,
    const std::string& options_json) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Check(ctx); !s.ok()) return s;
  if (options_json != "{\"dryRun\":true}") {
    return absl::InvalidArgumentError("unexpected options " + options_json);
  }
  return std::make_unique<CountingUpload>();
}

void FakeBackend::FailWith(const std::string& method, absl::Status status) {
  absl::MutexLock lock(&mu_);
  if (status.ok()) {
    failures_.erase(method);
  } else {
    failures_[method] = std::move(status);
  }
}

std::string FakeBackend::last_peer() {
  absl::MutexLock lock(&mu_);
  return last_peer_;
}

absl::Status FakeBackend::Check(const RequestContext& ctx) {
  if (tokens_.count(ctx.token) == 0) {
    return absl::UnauthenticatedError("no such session");
  }
  last_peer_ = ctx.peer;
  return absl::OkStatus();
}

}  // namespace unionsync::testing
