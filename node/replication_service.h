// The parent side of replication: the gRPC edge of ReplicationService.Link.
// Each stream gets a small server reactor that only moves messages between
// gRPC and the node's LinkWorker (node/link_worker.h), which authorises the
// child (AuthorizeChildLink), owns the replication core and applies to the
// store. Nothing here blocks or decides anything: the reactor reads the peer's
// organisation id from its client certificate (PeerOrgId) and posts it.
//
// Serve it only on a port with mutual-TLS credentials (MakeServerCredentials):
// without a verified client certificate every link is refused.
//
// Thread-safety: thread-safe (the service is stateless; reactors post to the
// worker's thread-safe event queue).
#ifndef UNIONSYNC_NODE_REPLICATION_SERVICE_H_
#define UNIONSYNC_NODE_REPLICATION_SERVICE_H_

#include <memory>

#include "node/link_worker.h"
#include "unionsync/v1/replication.grpc.pb.h"

namespace unionsync {

class ReplicationService final
    : public v1::ReplicationService::CallbackService {
 public:
  explicit ReplicationService(std::shared_ptr<LinkEventQueue> events)
      : events_(std::move(events)) {}

  grpc::ServerBidiReactor<v1::LinkMessage, v1::LinkMessage>* Link(
      grpc::CallbackServerContext* ctx) override;

 private:
  const std::shared_ptr<LinkEventQueue> events_;
};

}  // namespace unionsync

#endif  // UNIONSYNC_NODE_REPLICATION_SERVICE_H_
