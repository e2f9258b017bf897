#include "node/node_server.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/impl/codegen/service_type.h"
#include "node/admin_service.h"

namespace unionsync {

absl::StatusOr<std::unique_ptr<NodeServer>> NodeServer::Start(
    const NodeOptions& options) {
  auto node = std::unique_ptr<NodeServer>(new NodeServer());
  const Clock* clock =
      options.clock != nullptr ? options.clock : SystemClock::Default();
  StoreOptions store_options;
  store_options.path = options.data_dir;
  store_options.node_id = options.node_id;
  store_options.clock = clock;
  ASSIGN_OR_RETURN(node->store_, Store::Open(store_options));
  node->admin_ =
      std::make_unique<Admin>(node->store_.get(), clock, options.admin);
  node->admin_service_ = NewAdminService(node->admin_.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // The Admin API is served in plain text on the configured address (loopback
  // by default); node-to-node links use mutual TLS (docs/DESIGN.md,
  // "Security").
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(),
                           &node->port_);
  builder.SetMaxReceiveMessageSize(options.max_request_bytes);
  builder.RegisterService(node->admin_service_.get());
  node->server_ = builder.BuildAndStart();
  if (node->server_ == nullptr || node->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen));
  }
  return node;
}

NodeServer::NodeServer() = default;
NodeServer::~NodeServer() { Shutdown(); }

void NodeServer::Wait() {
  if (server_ != nullptr) server_->Wait();
}

void NodeServer::Shutdown() {
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(5));
  }
}

}  // namespace unionsync
