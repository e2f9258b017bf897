// A request gRPC cannot decode (a proto3 string field holding bytes that are
// not UTF-8, a truncated or malformed message) never reaches a handler; gRPC
// answers it with INTERNAL and an empty message. This server interceptor turns
// that answer into INVALID_ARGUMENT with a message saying what is wrong, so a
// client learns to fix its input (docs/SECURITY.md). Nothing is written: no
// handler ran.
#ifndef UNIONSYNC_NODE_DECODE_ERRORS_H_
#define UNIONSYNC_NODE_DECODE_ERRORS_H_

#include <memory>

#include "grpcpp/support/server_interceptor.h"

namespace unionsync {

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewDecodeErrorInterceptorFactory();

}  // namespace unionsync

#endif  // UNIONSYNC_NODE_DECODE_ERRORS_H_
