#include "node/replication_service.h"

#include <utility>

#include "grpcpp/grpcpp.h"
#include "grpcpp/support/server_callback.h"
#include "node/admin_service.h"
#include "tls/tls.h"

namespace unionsync {
namespace {

// The server reactor of one child's Link stream. Every Start*/Finish call
// after construction comes from the LinkWorker's thread (through
// LinkTransport), and the worker is the only caller of Finish, so gRPC cannot
// run OnDone (which deletes the reactor) while the worker may still use it.
// Reactions only post events.
class ChildLinkReactor final
    : public grpc::ServerBidiReactor<v1::LinkMessage, v1::LinkMessage>,
      public LinkTransport {
 public:
  ChildLinkReactor(grpc::CallbackServerContext* ctx,
                   std::shared_ptr<LinkEventQueue> events)
      : events_(std::move(events)), id_(events_->NewStreamId()) {
    events_->ReactorStarted();
    LinkEvent e;
    e.kind = LinkEvent::Kind::kChildOpened;
    e.stream = id_;
    e.transport = this;
    std::shared_ptr<const grpc::AuthContext> auth = ctx->auth_context();
    e.peer_org = auth != nullptr
                     ? PeerOrgId(*auth)
                     : absl::UnauthenticatedError("no authentication context");
    e.peer_address = ctx->peer();
    // Authorisation reads the store and audits refusals with a synced write:
    // that is the worker's job, never a reaction's.
    if (!events_->Post(std::move(e))) {
      // The worker is gone and never saw this stream: finish it here.
      Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "the node is shutting down"));
    }
  }

  // LinkTransport (worker thread).
  void Read() override { StartRead(&read_); }
  void Write(v1::LinkMessage message) override {
    write_ = std::move(message);
    StartWrite(&write_);
  }
  void Close(const absl::Status& status) override {
    Finish(ToGrpcStatus(status));
  }

  // Reactions (gRPC threads): post and return.
  void OnReadDone(bool ok) override {
    LinkEvent e;
    e.kind = ok ? LinkEvent::Kind::kRead : LinkEvent::Kind::kReadFailed;
    e.stream = id_;
    if (ok) {
      e.message = std::move(read_);
      read_.Clear();
    }
    events_->Post(std::move(e));
  }
  void OnWriteDone(bool ok) override {
    LinkEvent e;
    e.kind = LinkEvent::Kind::kWriteDone;
    e.stream = id_;
    e.ok = ok;
    events_->Post(std::move(e));
  }
  void OnDone() override {
    LinkEvent e;
    e.kind = LinkEvent::Kind::kDone;
    e.stream = id_;
    events_->Post(std::move(e));
    std::shared_ptr<LinkEventQueue> events = std::move(events_);
    delete this;
    events->ReactorDone();
  }

 private:
  std::shared_ptr<LinkEventQueue> events_;
  const uint64_t id_;
  v1::LinkMessage read_;
  v1::LinkMessage write_;
};

}  // namespace

grpc::ServerBidiReactor<v1::LinkMessage, v1::LinkMessage>*
ReplicationService::Link(grpc::CallbackServerContext* ctx) {
  return new ChildLinkReactor(ctx, events_);
}

}  // namespace unionsync
