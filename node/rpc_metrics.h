// Latency of every call a node serves, by method, for /metrics: a gRPC server
// interceptor times each call from its start to its status, and RpcMetrics
// keeps a Prometheus histogram per method and a count per method and status
// code. Streams (replication links, imports) are timed as a whole. The
// workbench's JSON calls are kept by a second instance of family "web_call"
// (timed by the node's web backend around each call).
//
// Thread-safe.
#ifndef UNIONSYNC_NODE_RPC_METRICS_H_
#define UNIONSYNC_NODE_RPC_METRICS_H_

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/support/server_interceptor.h"

namespace unionsync {

class RpcMetrics {
 public:
  // `family` names the metrics: unionsync_<family>_duration_seconds and
  // unionsync_<family>s_total. `what` says what is timed, for their HELP.
  explicit RpcMetrics(std::string family = "rpc",
                      std::string what = "gRPC call");

  // Upper bounds of the histogram's buckets, in seconds (+Inf follows).
  static constexpr std::array<double, 12> kBuckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0};

  // `method` as gRPC names it ("/unionsync.v1.AdminService/Login").
  void Record(const std::string& method, int code, absl::Duration took);
  // unionsync_<family>_duration_seconds{method} histograms and
  // unionsync_<family>s_total{method,code}.
  std::string MetricsText();

  // An interceptor factory that records into this (which must outlive the
  // server).
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
  NewInterceptorFactory();

 private:
  struct Histogram {
    std::array<uint64_t, kBuckets.size() + 1> counts{};  // The last: +Inf.
    double sum = 0;
    uint64_t count = 0;
  };
  const std::string family_;
  const std::string what_;
  absl::Mutex mu_;
  std::map<std::string, Histogram> latency_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, int>, uint64_t> calls_ ABSL_GUARDED_BY(mu_);
};

}  // namespace unionsync

#endif  // UNIONSYNC_NODE_RPC_METRICS_H_
