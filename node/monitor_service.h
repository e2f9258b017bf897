// The gRPC edge of the Monitor API (monitor/monitor.h holds the logic).
// Unary calls use the synchronous API; WatchWarnings, a long-lived server
// stream, uses the callback API with one write in flight and a bounded queue.
#ifndef UNIONSYNC_NODE_MONITOR_SERVICE_H_
#define UNIONSYNC_NODE_MONITOR_SERVICE_H_

#include <memory>

namespace grpc {
class Service;
}  // namespace grpc

namespace unionsync {

class DuesLedger;
class Monitor;

// A gRPC service for `monitor` and `dues`, which must outlive it.
std::unique_ptr<grpc::Service> NewMonitorService(Monitor* monitor,
                                                 DuesLedger* dues);

}  // namespace unionsync

#endif  // UNIONSYNC_NODE_MONITOR_SERVICE_H_
