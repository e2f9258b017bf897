// The gRPC edge of the Export API (node/exporter.h holds the logic): unary
// calls on the synchronous API; translation only.
#ifndef UNIONSYNC_NODE_EXPORT_SERVICE_H_
#define UNIONSYNC_NODE_EXPORT_SERVICE_H_

#include <memory>

namespace grpc {
class Service;
}  // namespace grpc

namespace unionsync {

class Exporter;

// A gRPC service for `exporter`, which must outlive it.
std::unique_ptr<grpc::Service> NewExportService(Exporter* exporter);

}  // namespace unionsync

#endif  // UNIONSYNC_NODE_EXPORT_SERVICE_H_
