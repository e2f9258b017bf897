// A running node: its store, the Admin layer and the gRPC server that exposes
// them with health checking and server reflection. Replication attaches here in
// a later step.
#ifndef UNIONSYNC_NODE_NODE_SERVER_H_
#define UNIONSYNC_NODE_NODE_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "node/admin.h"
#include "store/store.h"

namespace grpc {
class Server;
class Service;
}  // namespace grpc

namespace unionsync {

struct NodeOptions {
  std::string node_id;
  std::string data_dir;
  std::string listen = "127.0.0.1:7400";  // Port 0 picks a free port.
  AdminOptions admin;
  const Clock* clock = nullptr;  // Defaults to the system clock.
  // Largest request accepted, in bytes; larger ones fail with
  // RESOURCE_EXHAUSTED.
  int max_request_bytes = 1 << 20;
};

class NodeServer {
 public:
  // Opens the store and starts serving.
  static absl::StatusOr<std::unique_ptr<NodeServer>> Start(
      const NodeOptions& options);
  ~NodeServer();

  int port() const { return port_; }
  Store& store() { return *store_; }
  Admin& admin() { return *admin_; }
  // Blocks until Shutdown.
  void Wait();
  void Shutdown();

 private:
  NodeServer();
  int port_ = 0;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Admin> admin_;
  std::unique_ptr<grpc::Service> admin_service_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace unionsync

#endif  // UNIONSYNC_NODE_NODE_SERVER_H_
