#include "node/rpc_metrics.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"

namespace unionsync {
namespace {

// Status codes by name, as Prometheus labels.
const char* CodeName(int code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  return code >= 0 && code < 17 ? kNames[code] : "UNKNOWN";
}

class LatencyInterceptor final : public grpc::experimental::Interceptor {
 public:
  LatencyInterceptor(RpcMetrics* metrics, std::string method)
      : metrics_(metrics), method_(std::move(method)), start_(absl::Now()) {}

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      metrics_->Record(method_, methods->GetSendStatus().error_code(),
                       absl::Now() - start_);
    }
    methods->Proceed();
  }

 private:
  RpcMetrics* metrics_;
  std::string method_;
  absl::Time start_;
};

class Factory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit Factory(RpcMetrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new LatencyInterceptor(metrics_, info->method());
  }

 private:
  RpcMetrics* metrics_;
};

}  // namespace

RpcMetrics::RpcMetrics(std::string family, std::string what)
    : family_(std::move(family)), what_(std::move(what)) {}

void RpcMetrics::Record(const std::string& method, int code,
                        absl::Duration took) {
  const double seconds = absl::ToDoubleSeconds(took);
  const size_t bucket =
      std::lower_bound(kBuckets.begin(), kBuckets.end(), seconds) -
      kBuckets.begin();
  absl::MutexLock lock(&mu_);
  Histogram& h = latency_[method];
  ++h.counts[bucket];
  h.sum += seconds;
  ++h.count;
  ++calls_[{method, code}];
}

std::string RpcMetrics::MetricsText() {
  const std::string duration =
      absl::StrCat("unionsync_", family_, "_duration_seconds");
  const std::string total = absl::StrCat("unionsync_", family_, "s_total");
  absl::MutexLock lock(&mu_);
  std::string out = absl::StrCat("# HELP ", duration, " Time from a ", what_,
                                 "'s start to its status, by method.\n# TYPE ",
                                 duration, " histogram\n");
  for (const auto& [method, h] : latency_) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= kBuckets.size(); ++i) {
      cumulative += h.counts[i];
      absl::StrAppend(
          &out, duration, "_bucket{method=\"", method, "\",le=\"",
          i < kBuckets.size() ? absl::StrFormat("%g", kBuckets[i]) : "+Inf",
          "\"} ", cumulative, "\n");
    }
    absl::StrAppend(&out, duration, "_sum{method=\"", method, "\"} ",
                    absl::StrFormat("%.6f", h.sum), "\n", duration,
                    "_count{method=\"", method, "\"} ", h.count, "\n");
  }
  absl::StrAppend(&out, "# HELP ", total, " ", what_,
                  "s served, by method and status code.\n# TYPE ", total,
                  " counter\n");
  for (const auto& [key, n] : calls_) {
    absl::StrAppend(&out, total, "{method=\"", key.first, "\",code=\"",
                    CodeName(key.second), "\"} ", n, "\n");
  }
  return out;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
RpcMetrics::NewInterceptorFactory() {
  return std::make_unique<Factory>(this);
}

}  // namespace unionsync
