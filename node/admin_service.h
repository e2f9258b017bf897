// The gRPC edge of the Admin API: translates requests to Admin calls and
// absl::Status to grpc::Status in one place. No business logic here (see
// node/admin.h).
#ifndef UNIONSYNC_NODE_ADMIN_SERVICE_H_
#define UNIONSYNC_NODE_ADMIN_SERVICE_H_

#include <memory>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace grpc {
class Service;
class ServerContextBase;
}  // namespace grpc

namespace unionsync {

class Admin;

// The one mapping from domain errors to gRPC errors.
grpc::Status ToGrpcStatus(const absl::Status& status);

// The session token ("authorization: Bearer <token>") and peer of a call.
struct CallContext;
CallContext ContextOf(const grpc::ServerContextBase* ctx);

// A gRPC service for `admin`, which must outlive it.
std::unique_ptr<grpc::Service> NewAdminService(Admin* admin);

}  // namespace unionsync

#endif  // UNIONSYNC_NODE_ADMIN_SERVICE_H_
